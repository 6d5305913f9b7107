"""genlab.viz: the 3D voxel viewer (Plotly Mesh3d) and 2D projections for galleries."""

from genlab.viz.figures import VIEW_THRESHOLD, loss_figure, voxel_animation, voxel_figure
from genlab.viz.images import png_bytes, projection_grid, projection_image
from genlab.viz.mesh import Mesh, surface_mesh, voxel_mesh

__all__ = [
    "Mesh", "voxel_mesh", "surface_mesh",
    "VIEW_THRESHOLD", "voxel_figure", "voxel_animation", "loss_figure",
    "projection_image", "projection_grid", "png_bytes",
]
