"""genlab.viz: the 3D voxel viewer (Plotly Mesh3d) and 2D projections for galleries.

Names are imported on first use (PEP 562), so a page that needs only 2D pictures (Home's digits)
does not wait for plotly.graph_objects, scipy and scikit-image (~0.4 s).
"""

import importlib

_MODULES = {
    "export": ("MESH_FORMATS", "mesh_file"),
    "figures": ("VIEW_THRESHOLD", "loss_figure", "voxel_animation", "voxel_figure"),
    "images": ("png_bytes", "projection_grid", "projection_image"),
    "mesh": ("Mesh", "surface_mesh", "voxel_mesh", "weld"),
}
_WHERE = {name: module for module, names in _MODULES.items() for name in names}
__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'genlab.viz' has no attribute {name!r}")
    return getattr(importlib.import_module(f"genlab.viz.{_WHERE[name]}"), name)
