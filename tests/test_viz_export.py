"""3D-printable export: binary STL and OBJ files of the voxel surface (genlab.viz.mesh_file)."""

import struct
from collections import Counter

import numpy as np
import pytest

from genlab.viz import mesh_file, voxel_mesh


def read_stl(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parses a binary STL: returns normals (T, 3) and corners (T, 3, 3)."""
    (count,) = struct.unpack("<I", data[80:84])
    assert len(data) == 84 + 50 * count, "size does not match the triangle count"
    records = np.frombuffer(data[84:], dtype=np.dtype([("n", "<f4", 3), ("v", "<f4", (3, 3)), ("a", "<u2")]))
    return records["n"], records["v"]


def read_obj(data: bytes) -> tuple[np.ndarray, np.ndarray]:
    """Parses an OBJ: returns vertices (V, 3) and 0-based faces (T, 3)."""
    lines = data.decode().splitlines()
    vertices = np.array([[float(v) for v in line.split()[1:]] for line in lines if line.startswith("v ")])
    faces = np.array([[int(i) for i in line.split()[1:]] for line in lines if line.startswith("f ")]) - 1
    return vertices, faces


def grid_with(*voxels):
    grid = np.zeros((16, 16, 16), np.float32)
    for voxel in voxels:
        grid[voxel] = 1.0
    return grid


def signed_volume(vertices, faces) -> float:
    a, b, c = (vertices[faces[:, n]] for n in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6)


def assert_closed(faces) -> None:
    """Every directed edge is walked once in each direction: a closed, consistently wound surface."""
    edges = Counter()
    for a, b, c in faces:
        for u, v in ((a, b), (b, c), (c, a)):
            edges[(u, v)] += 1
    assert all(edges[(v, u)] == n for (u, v), n in edges.items())


def digit_grid():
    grid = np.zeros((16, 16, 16), np.float32)
    grid[12:15, 5:11, 3:13] = 0.9
    for row in range(12):
        grid[row, 5:11, 4 + row * 8 // 12: 7 + row * 8 // 12] = 0.7
    return grid


def test_single_voxel_is_a_closed_unit_cube_in_millimetres():
    vertices, faces = read_obj(mesh_file(grid_with((3, 4, 5)), format="obj", voxel_mm=2.0))
    assert vertices.shape == (8, 3) and faces.shape == (12, 3)
    assert_closed(faces)
    # File axes: x <- array axis 2, y <- axis 1, z (up) <- axis 0; 2 mm per voxel.
    assert vertices.min(axis=0).tolist() == [10, 8, 6] and vertices.max(axis=0).tolist() == [12, 10, 8]
    assert signed_volume(vertices, faces) == pytest.approx(8.0)   # positive: normals point outwards


def test_stl_parses_with_the_stated_triangle_count_and_outward_unit_normals():
    grid = digit_grid()
    data = mesh_file(grid, threshold=0.5, format="stl")
    normals, corners = read_stl(data)
    assert len(normals) == len(voxel_mesh(grid, 0.5).triangles)
    assert np.all(np.isfinite(normals)) and np.allclose(np.linalg.norm(normals, axis=1), 1.0)
    computed = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    assert np.all(np.einsum("ij,ij->i", computed, normals) > 0)      # normals agree with the winding
    volume = np.einsum("ij,ij->i", corners[:, 0], np.cross(corners[:, 1], corners[:, 2])).sum() / 6
    assert volume == pytest.approx(float((grid >= 0.5).sum()))      # one cubic mm per voxel


def test_obj_faces_index_existing_vertices_and_the_surface_is_closed():
    grid = digit_grid()
    grid[0, 0, 0] = grid[1, 1, 0] = 1.0     # two voxels touching along an edge only
    vertices, faces = read_obj(mesh_file(grid, threshold=0.5, format="obj"))
    assert faces.min() >= 0 and faces.max() < len(vertices)
    assert len(np.unique(vertices, axis=0)) == len(vertices)            # shared, not repeated
    assert_closed(faces)
    assert signed_volume(vertices, faces) == pytest.approx(float((grid >= 0.5).sum()))


def test_empty_grid_and_unknown_format_are_refused_with_a_reason():
    with pytest.raises(ValueError, match="no voxel reaches the threshold"):
        mesh_file(np.zeros((16, 16, 16)))
    with pytest.raises(ValueError, match="'ply'"):
        mesh_file(grid_with((1, 1, 1)), format="ply")
    with pytest.raises(ValueError, match="positive"):
        mesh_file(grid_with((1, 1, 1)), voxel_mm=0)
