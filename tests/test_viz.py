"""The 3D voxel viewer: culled meshes, marching-cubes surfaces, figures and projections."""

import numpy as np
import pytest

from genlab.viz import (
    loss_figure,
    projection_grid,
    projection_image,
    surface_mesh,
    voxel_animation,
    voxel_figure,
    voxel_mesh,
)


def n_faces(mesh):
    """Each square face of a voxel mesh is two triangles."""
    return len(mesh.triangles) // 2


def grid_with(*voxels, value=1.0):
    grid = np.zeros((16, 16, 16), np.float32)
    for voxel in voxels:
        grid[voxel] = value
    return grid


def test_one_voxel_has_six_faces_forming_its_unit_cube():
    mesh = voxel_mesh(grid_with((3, 4, 5)))
    assert n_faces(mesh) == 6
    assert mesh.vertices.shape == (24, 3)
    assert mesh.vertices.min(axis=0).tolist() == [3, 4, 5]
    assert mesh.vertices.max(axis=0).tolist() == [4, 5, 6]


@pytest.mark.parametrize("second", [(3, 4, 6), (3, 5, 5), (2, 4, 5)])
def test_two_adjacent_voxels_share_no_face(second):
    assert n_faces(voxel_mesh(grid_with((3, 4, 5), second))) == 10


def test_diagonal_voxels_keep_all_faces():
    assert n_faces(voxel_mesh(grid_with((3, 4, 5), (4, 5, 6)))) == 12


def test_full_grid_shows_only_its_outer_skin():
    mesh = voxel_mesh(np.ones((16, 16, 16)))
    assert n_faces(mesh) == 6 * 16 * 16
    assert mesh.triangles.max() == len(mesh.vertices) - 1


def test_solid_block_culls_interior_faces():
    grid = np.zeros((16, 16, 16))
    grid[2:5, 2:5, 2:5] = 1.0
    assert n_faces(voxel_mesh(grid)) == 6 * 9


def test_empty_grid_gives_empty_mesh():
    mesh = voxel_mesh(np.zeros((16, 16, 16)))
    assert mesh.is_empty and mesh.vertices.shape == (0, 3)


def test_threshold_decides_occupancy_and_colours_carry_values():
    grid = grid_with((1, 1, 1), value=0.3)
    grid[8, 8, 8] = 0.9
    assert n_faces(voxel_mesh(grid, threshold=0.5)) == 6
    assert n_faces(voxel_mesh(grid, threshold=0.2)) == 12
    values = voxel_mesh(grid, threshold=0.2).values
    np.testing.assert_allclose(np.unique(values), [0.3, 0.9], rtol=1e-6)


def test_triangle_winding_points_outwards():
    mesh = voxel_mesh(grid_with((3, 4, 5)))
    centre = np.array([3.5, 4.5, 5.5])
    a, b, c = (mesh.vertices[mesh.triangles[:, n]] for n in range(3))
    normals = np.cross(b - a, c - a)
    outwards = (a + b + c) / 3 - centre
    assert np.all(np.einsum("ij,ij->i", normals, outwards) > 0)


def test_rejects_non_3d_input():
    with pytest.raises(ValueError, match="3D voxel grid"):
        voxel_mesh(np.zeros((16, 16)))


def test_surface_of_empty_grid_is_empty_and_full_grid_is_closed_box():
    assert surface_mesh(np.zeros((16, 16, 16))).is_empty
    full = surface_mesh(np.ones((16, 16, 16)))
    assert not full.is_empty
    np.testing.assert_allclose(full.vertices.min(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(full.vertices.max(axis=0), 16.0, atol=1e-5)


def test_surface_encloses_a_block_where_the_cubes_are():
    grid = np.zeros((16, 16, 16))
    grid[4:8, 4:8, 4:8] = 1.0
    mesh = surface_mesh(grid)
    cubes = voxel_mesh(grid)
    np.testing.assert_allclose(mesh.vertices.min(axis=0), cubes.vertices.min(axis=0), atol=1e-5)
    np.testing.assert_allclose(mesh.vertices.max(axis=0), cubes.vertices.max(axis=0), atol=1e-5)
    assert mesh.values.min() >= 0.0 and mesh.values.max() <= 1.0


def test_surface_threshold_at_the_grid_maximum_still_draws():
    assert not surface_mesh(grid_with((5, 5, 5), value=0.7), threshold=0.7).is_empty
    assert surface_mesh(grid_with((5, 5, 5), value=0.7), threshold=0.8).is_empty


def test_voxel_figure_has_fixed_axes_and_values_on_a_fixed_scale():
    grid = grid_with((3, 4, 5), value=0.8)
    figure = voxel_figure(grid)
    (mesh,) = figure.data
    assert mesh.type == "mesh3d" and len(mesh.i) == 12
    assert (mesh.cmin, mesh.cmax) == (0.0, 1.0)
    assert np.allclose(mesh.intensity, 0.8)
    for axis in ("xaxis", "yaxis", "zaxis"):
        assert list(figure.layout.scene[axis].range) == [0, 16]
    # Array axis 0 is drawn upwards (screen z), axis 2 to the right (screen x).
    assert (min(mesh.z), max(mesh.z)) == (3, 4) and (min(mesh.x), max(mesh.x)) == (5, 6)
    assert figure.layout.scene.camera == voxel_figure(np.ones((16, 16, 16))).layout.scene.camera


def test_voxel_figure_of_empty_grid_says_so():
    figure = voxel_figure(np.zeros((16, 16, 16)), threshold=0.5)
    assert "no voxel" in figure.layout.annotations[0].text
    assert voxel_figure(np.ones((16, 16, 16)), surface=True).data[0].type == "mesh3d"


def test_animation_has_one_frame_per_grid():
    grids = np.stack([grid_with((i, i, i)) for i in range(5)])
    figure = voxel_animation(grids, labels=[f"t={i}" for i in range(5)])
    assert len(figure.frames) == 5
    assert [frame.name for frame in figure.frames] == [f"t={i}" for i in range(5)]
    assert len(figure.layout.sliders[0].steps) == 5
    assert not figure.layout.annotations
    empty = voxel_animation(np.zeros((3, 16, 16, 16)))
    assert "no voxel" in empty.layout.annotations[0].text


def test_projection_image_is_upright_scaled_rgb():
    grid = np.zeros((16, 16, 16), np.float32)
    grid[15, 7, 0] = 1.0      # top of the digit, left edge
    image = projection_image(grid, scale=2)
    assert image.shape == (32, 32, 3) and image.dtype == np.uint8
    background = image[-1, -1]
    assert not np.array_equal(image[0, 0], background)   # drawn at the top left
    assert np.array_equal(image[31, 31], background)
    assert (image != background).any(axis=2).sum() == 4  # one voxel -> one 2x2 block


def test_projection_grid_tiles_rows():
    grids = np.ones((5, 16, 16, 16), np.float32)
    image = projection_grid(grids, columns=3, scale=1, gap=2)
    assert image.shape == (16 * 2 + 2, 16 * 3 + 2 * 2, 3)
    assert np.all(image[-16:, -16:] == 255)   # the missing sixth tile is white


def test_loss_figure_draws_one_line_per_loss():
    history = [{"step": s, "losses": {"loss": 1.0 / (s + 1), "kl": 0.1}, "val_loss": None}
               for s in range(4)]
    history[-1]["val_loss"] = 0.3
    figure = loss_figure(history)
    assert sorted(trace.name for trace in figure.data) == ["kl", "loss", "validation"]
    assert list(figure.data[1].x) == [0, 1, 2, 3]


def test_loss_figure_gives_the_vaes_kl_its_own_axis():
    history = [{"step": i, "losses": {"loss": 0.3, "recon": 0.2, "kl": 40.0 + i}} for i in range(1, 4)]
    figure = loss_figure(history)
    axes = {trace.name: trace.yaxis for trace in figure.data}
    assert axes == {"kl": "y2", "loss": "y", "recon": "y"}
    assert figure.layout.yaxis2.title.text == "KL" and figure.layout.yaxis2.overlaying == "y"
    assert "yaxis2" not in loss_figure([{"step": 1, "losses": {"loss": 0.3}}]).to_plotly_json()["layout"]


def test_loss_figure_skips_a_term_equal_to_the_total():
    history = [{"step": s, "losses": {"loss": 1.0 / (s + 1), "recon": 1.0 / (s + 1)}} for s in range(3)]
    assert [trace.name for trace in loss_figure(history).data] == ["loss"]


def test_loss_figure_thins_long_runs_but_keeps_validation_points():
    history = [{"step": s, "losses": {"loss": 1.0}, "val_loss": 0.5 if s % 1000 == 999 else None}
               for s in range(10_000)]
    figure = loss_figure(history, max_points=500)
    loss, validation = figure.data
    assert len(loss.x) == 500 and loss.x[0] == 0 and loss.x[1] == 20
    assert list(validation.x) == [999 + 1000 * n for n in range(10)]
