"""3D-printable files of voxel grids: binary STL and Wavefront OBJ, in millimetres.

The surface is the culled voxel mesh (genlab.viz.mesh.voxel_mesh) with coincident corners
welded, so it is closed (every edge is walked once in each direction) and its triangles
face outwards. A few lines of numpy do this exactly for a union of cubes, so genlab needs
no mesh library for it.
"""

import numpy as np

from genlab.viz.figures import SCREEN_AXES
from genlab.viz.mesh import voxel_mesh, weld

MESH_FORMATS = ("stl", "obj")
# File axes are the 3D view's screen axes (z up), so a slicer stands the digit upright. That
# axis map is a mirror, so the triangles' winding is reversed to keep them facing outwards.
_STL_TRIANGLE = np.dtype([("normal", "<f4", 3), ("corners", "<f4", (3, 3)), ("attribute", "<u2")])


def printable_surface(grid, threshold: float = 0.5, voxel_mm: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Returns (vertices float32 (V, 3) in mm, triangles int32 (T, 3)): the closed surface of the
    voxels at or above `threshold`, z up, wound counter-clockwise seen from outside."""
    if not voxel_mm > 0:
        raise ValueError(f"voxel_mm must be a positive size in millimetres, not {voxel_mm}")
    vertices, triangles = weld(voxel_mesh(grid, threshold))
    if len(triangles) == 0:
        raise ValueError(f"no voxel reaches the threshold {threshold:.2f}: there is no shape to export")
    vertices = vertices[:, SCREEN_AXES] * np.float32(voxel_mm)
    return vertices.astype(np.float32), triangles[:, ::-1].astype(np.int32)


def mesh_file(grid, threshold: float = 0.5, format: str = "stl", voxel_mm: float = 1.0) -> bytes:
    """Returns the surface of the voxels at or above `threshold` as a binary STL or an OBJ file.

    grid: (D, H, W) values in [0, 1]. format: "stl" (binary, with unit face normals) or "obj"
    (text, shared vertices, 1-based faces). Each voxel is a cube of voxel_mm millimetres.
    ValueError when no voxel reaches the threshold or the format is unknown.
    """
    if format not in MESH_FORMATS:
        raise ValueError(f"mesh format must be one of {MESH_FORMATS}, not {format!r}")
    vertices, triangles = printable_surface(grid, threshold, voxel_mm)
    if format == "obj":
        lines = ["# genlab voxel surface, millimetres, z up"]
        lines += [f"v {x:g} {y:g} {z:g}" for x, y, z in vertices]
        lines += [f"f {a} {b} {c}" for a, b, c in triangles + 1]
        return ("\n".join(lines) + "\n").encode()
    corners = vertices[triangles]                                    # (T, 3, 3)
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    records = np.zeros(len(triangles), dtype=_STL_TRIANGLE)
    records["normal"], records["corners"] = normals, corners
    header = b"genlab voxel surface, millimetres, z up".ljust(80, b" ")
    return header + np.uint32(len(records)).tobytes() + records.tobytes()
