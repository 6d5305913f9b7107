"""Plotly figures: the 3D voxel view, its animation, and training loss curves.

Screen axes: array axis 0 points up, axis 2 to the right and axis 1 into the screen, so a
3D MNIST digit stands upright, facing the fixed camera. Axes ranges and camera never
change between figures, so frames and slider steps can be compared by eye.
"""

import numpy as np
import plotly.graph_objects as go

from genlab.viz.look import CAMERA, COLORSCALE, ONE_COLOUR
from genlab.viz.mesh import Mesh, surface_mesh, voxel_mesh

# The threshold the app's views start on. 3D MNIST voxels are soft (point counts scaled to
# [0, 1], many occupied voxels below one half), so 0.5 would hide much of every digit.
VIEW_THRESHOLD = 0.25
# Screen (x, y, z) <- array axes (2, 1, 0).
SCREEN_AXES = [2, 1, 0]


def _mesh_trace(mesh: Mesh, surface: bool, showscale: bool, one_colour: bool = False) -> go.Mesh3d:
    screen = mesh.vertices[:, SCREEN_AXES]
    colour = (dict(color=ONE_COLOUR, showscale=False) if one_colour else
              dict(intensity=mesh.values, intensitymode="vertex", colorscale=COLORSCALE, cmin=0.0, cmax=1.0,
                   showscale=showscale, colorbar=dict(title="value", thickness=12, len=0.6)))
    return go.Mesh3d(
        x=screen[:, 0], y=screen[:, 1], z=screen[:, 2],
        i=mesh.triangles[:, 0], j=mesh.triangles[:, 1], k=mesh.triangles[:, 2],
        **colour,
        flatshading=not surface,
        lighting=dict(ambient=0.55, diffuse=0.8, specular=0.15, roughness=0.6),
        lightposition=dict(x=-100, y=-200, z=300),
        hoverinfo="skip",
    )


def _scene(size: int) -> dict:
    axis = dict(range=[0, size], showbackground=True, backgroundcolor="rgb(245,246,250)",
                gridcolor="rgb(220,220,230)", showticklabels=False, title="")
    return dict(
        xaxis=axis, yaxis=axis, zaxis=axis,
        aspectmode="cube", camera=CAMERA,
        dragmode="orbit",
    )


def mesh_for(grid, threshold: float = 0.5, surface: bool = False) -> Mesh:
    """Returns the mesh drawn for `grid`: culled voxel cubes, or the marching-cubes surface."""
    return surface_mesh(grid, threshold) if surface else voxel_mesh(grid, threshold)


def voxel_figure(grid, threshold: float = 0.5, surface: bool = False, height: int = 420,
                 title: str | None = None, one_colour: bool = False) -> go.Figure:
    """Returns a Plotly figure (one Mesh3d) of the voxels of `grid` at or above `threshold`.

    grid: (16, 16, 16) values in [0, 1], coloured by value on a fixed 0..1 scale.
    surface=True draws a smooth marching-cubes surface instead of cubes; one_colour=True paints
    every voxel alike instead of by value. The camera and the
    axes are fixed (and `uirevision` keeps a user's rotation across updates).
    """
    grid = np.asarray(grid, dtype=np.float32)
    mesh = mesh_for(grid, threshold, surface)
    layout = dict(
        scene=_scene(max(grid.shape)),
        height=height,
        margin=dict(l=0, r=0, t=30 if title else 0, b=0),
        uirevision="voxels",
    )
    if title:
        layout["title"] = dict(text=title, x=0.02, y=0.98)
    if mesh.is_empty:
        layout["annotations"] = [dict(text=f"no voxel reaches the threshold {threshold:.2f}",
                                      showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")]
    # Layout given at construction: update_layout() is slower (it walks every key path).
    return go.Figure(data=[_mesh_trace(mesh, surface, showscale=True, one_colour=one_colour)], layout=layout)


def voxel_animation(grids, threshold: float = 0.5, surface: bool = False, labels=None,
                    height: int = 420, frame_ms: int = 250, one_colour: bool = False) -> go.Figure:
    """Returns one Plotly figure that plays `grids` as frames, with Play/Pause and a slider.

    grids: (T, 16, 16, 16). One figure (one WebGL context) for the whole sequence.
    labels: T frame names for the slider (default 0..T-1).
    """
    grids = np.asarray(grids, dtype=np.float32)
    labels = [str(i) for i in range(len(grids))] if labels is None else [str(x) for x in labels]
    meshes = [mesh_for(g, threshold, surface) for g in grids]
    traces = [_mesh_trace(mesh, surface, showscale=False, one_colour=one_colour) for mesh in meshes]
    play = dict(frame=dict(duration=frame_ms, redraw=True), fromcurrent=True, transition=dict(duration=0))
    layout = dict(
        scene={**_scene(grids.shape[-1]), "domain": dict(x=[0, 1], y=[0.16, 1])},  # room for controls
        height=height,
        margin=dict(l=0, r=0, t=0, b=0),
        uirevision="voxels",
        updatemenus=[dict(
            type="buttons", direction="left", x=0.0, y=0.0, xanchor="left", yanchor="bottom",
            buttons=[
                dict(label="▶ Play", method="animate", args=[None, play]),
                dict(label="❚❚ Pause", method="animate",
                     args=[[None], dict(frame=dict(duration=0, redraw=False), mode="immediate")]),
            ],
        )],
        sliders=[dict(
            x=0.25, len=0.75, y=0.0, yanchor="bottom", currentvalue=dict(prefix="frame "),
            steps=[dict(label=name, method="animate",
                        args=[[name], dict(frame=dict(duration=0, redraw=True), mode="immediate")])
                   for name in labels],
        )],
    )
    if all(mesh.is_empty for mesh in meshes):
        layout["annotations"] = [dict(text=f"no voxel reaches the threshold {threshold:.2f} in any frame",
                                      showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")]
    frames = [go.Frame(data=[t], name=name) for t, name in zip(traces, labels)]
    return go.Figure(data=[traces[0]], layout=layout, frames=frames)


def loss_figure(history: list[dict], height: int = 320, max_points: int = 2000) -> go.Figure:
    """Returns a Plotly line chart of training losses against the step.

    history: one dict per logged step with "step" (global step), "losses" (name -> value)
    and optionally "val_loss". A loss term equal to the total at every step is not drawn twice.
    A VAE's KL term, on another scale than the reconstruction loss, gets its own axis (right).
    Long runs are thinned to about max_points steps per line (validation points all kept).
    """
    validation_entries = [e for e in history if e.get("val_loss") is not None]
    history = history[::max(1, -(-len(history) // max_points))]
    traces = []
    names = sorted({name for entry in history for name in entry["losses"]})
    for name in names:
        entries = [e for e in history if name in e["losses"]]
        if name != "loss" and all(e["losses"][name] == e["losses"].get("loss") for e in entries):
            continue  # a term that is the whole loss (an AE's "recon") would hide under it
        traces.append(go.Scatter(x=[e["step"] for e in entries], y=[e["losses"][name] for e in entries],
                                 mode="lines", name=name, yaxis="y2" if name == "kl" else "y"))
    validation = [(e["step"], e["val_loss"]) for e in validation_entries]
    if validation:
        traces.append(go.Scatter(x=[p[0] for p in validation], y=[p[1] for p in validation],
                                 mode="lines+markers", name="validation"))
    layout = dict(height=height, margin=dict(l=10, r=10, t=10, b=10), xaxis_title="step",
                  yaxis_title="loss", legend=dict(orientation="h"), uirevision="losses")
    if any(trace.yaxis == "y2" for trace in traces):
        layout["yaxis2"] = dict(title="KL", overlaying="y", side="right", showgrid=False)
    return go.Figure(data=traces, layout=layout)
