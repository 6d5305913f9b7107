"""genlab.viz: the 3D voxel viewer (Plotly Mesh3d) and 2D projections for galleries."""

from genlab.viz.export import MESH_FORMATS, mesh_file
from genlab.viz.figures import VIEW_THRESHOLD, loss_figure, voxel_animation, voxel_figure
from genlab.viz.images import png_bytes, projection_grid, projection_image
from genlab.viz.mesh import Mesh, surface_mesh, voxel_mesh, weld

__all__ = [
    "Mesh", "voxel_mesh", "surface_mesh", "weld", "mesh_file", "MESH_FORMATS",
    "VIEW_THRESHOLD", "voxel_figure", "voxel_animation", "loss_figure",
    "projection_image", "projection_grid", "png_bytes",
]
