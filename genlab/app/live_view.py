"""The app's live 3D voxel view: a Streamlit component that keeps one Plotly div across reruns (see genlab.viz.live).

    live_voxel_view(grid, key="explore")   # a page's 3D view
    prepare()                              # every page (app.py): readies the browser for the first view

The first 3D view a browser draws waits for plotly.js to be read (about 1.2 s in headless
Chromium on the 2-core machine), for a WebGL scene to be made (0.7-1 s) and for Streamlit's
widget code that the explorer's page needs (each file 0.2-0.7 s while the server is busy with
that page). `prepare` does all three while the user reads another page, once the browser is idle
(or at once, when a view needs the scene first): the scene is made in the view's own layout and
style, and the first view takes it over and only draws its mesh. This module imports no numpy or
genlab.viz at load, so the frame can call `prepare` on every page without slowing the first one.
"""

import functools
from pathlib import Path
from typing import TYPE_CHECKING

import streamlit as st

from genlab import paths

if TYPE_CHECKING:
    from genlab.viz.live import Sweep

SCRIPT = Path(__file__).with_name("live_view.js")  # the view's browser script (tests run its mesher under node)
_JS = SCRIPT.read_text()
_CSS = """
.genlab-live { position: relative; width: 100%; }
.genlab-live .genlab-front { position: absolute; left: 6px; top: 6px; z-index: 5; font: 13px sans-serif;
  padding: 3px 10px; border: 1px solid #c8c8d0; border-radius: 6px; background: #fff; cursor: pointer; }
.genlab-live .genlab-front:hover { background: #eef0f6; }
.genlab-live .genlab-note { position: absolute; left: 0; right: 0; top: 45%; text-align: center;
  font: 14px sans-serif; color: #555; pointer-events: none; }
"""
VIEW_HEIGHT = 460       # pixels: the explorer's view, and the prepared scene it takes over
# Streamlit's widget code (one file each, with what it imports) that the browser fetches the first time
# a page shows such a widget: while the server is busy with that page, each took 0.2-0.7 s to arrive.
WIDGET_CHUNKS = ("Button", "ButtonGroup", "Checkbox", "DownloadButton", "FileUploader", "ImageList",
                 "Multiselect", "NumberInput", "Radio", "Selectbox", "Slider", "TextArea")
_component = None


def _view_component():
    global _component
    if _component is None:
        _component = st.components.v2.component("genlab_live_voxels", html="", css=_CSS, js=_JS,
                                                isolate_styles=False)
    return _component


def _mount(key: str, data: dict, height):
    """Mounts the view with `data`, sent as a one-element list: Streamlit looks for dataframes among a
    dict's values, and that check imports pandas (about 0.8 s of a shared core) on the first call."""
    return _view_component()(key=key, data=[data], height=height)


def _plotly_url() -> str:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base + '/' if base else ''}app/static/{paths.PLOTLY_JS.name}"


@functools.cache
def _widget_chunks() -> list[str]:
    """Returns the file names of the installed Streamlit's WIDGET_CHUNKS (those it has)."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    return sorted(path.name for name in WIDGET_CHUNKS for path in folder.glob(f"{name}.*.js"))


def prepare() -> None:
    """Readies the browser for the 3D view once it is idle (Streamlit's widget code and plotly.js read,
    a scene made in the view's style); draws nothing."""
    with st.sidebar:
        _mount("genlab_live_prepare", {"prepare": True, "plotly_url": _plotly_url(), "chunks": _widget_chunks(),
                                       **_style(VIEW_HEIGHT, surface=False)}, height="content")


def _style(height: int, surface: bool) -> dict:
    """Returns the view's Plotly layout and mesh trace settings (data and colours aside)."""
    from genlab.viz.look import CAMERA, COLORSCALE, ONE_COLOUR

    axis = dict(range=[0, 16], showbackground=True, backgroundcolor="rgb(245,246,250)",
                gridcolor="rgb(220,220,230)", showticklabels=False, title=dict(text=""))
    layout = dict(height=height, margin=dict(l=0, r=0, t=0, b=0), uirevision="voxels",
                  scene=dict(xaxis=axis, yaxis=axis, zaxis=axis, aspectmode="cube", dragmode="orbit",
                             camera=CAMERA),
                  showlegend=False)
    trace = dict(colorscale=COLORSCALE, cmin=0.0, cmax=1.0, color=ONE_COLOUR, flatshading=not surface,
                 lighting=dict(ambient=0.55, diffuse=0.8, specular=0.15, roughness=0.6),
                 lightposition=dict(x=-100, y=-200, z=300), hoverinfo="skip",
                 colorbar=dict(title=dict(text="value"), thickness=12, len=0.6))
    return {"layout": layout, "trace": trace}


def live_voxel_view(grid, threshold: float = 0.5, surface: bool = False, one_colour: bool = False,
                    *, key: str, height: int = VIEW_HEIGHT, sweep: "Sweep | None" = None):
    """Draws `grid` in a live 3D view (one per `key`); a new grid on the next rerun updates it in place.

    Must run inside a Streamlit script. The view's camera is remembered per `key` in the
    browser, so views sharing a key (one per page) keep the user's angle. With a `sweep` (cubes
    only), moves of the swept slider are drawn in the browser before the server answers.
    """
    from genlab.viz.live import LEVELS, live_payload, sweep_payload
    from genlab.viz.look import FRONT_CAMERA

    data = {
        "view": live_payload(grid, threshold, surface, one_colour),
        "sweep": sweep_payload(sweep) if sweep is not None and not surface else None,
        "levels": LEVELS,
        "plotly_url": _plotly_url(),
        "camera_key": key,
        "front_camera": FRONT_CAMERA,
        **_style(height, surface),
    }
    return _mount(key, data, height)
