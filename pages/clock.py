"""Clock reader: upload a photo of an analogue clock, get the time (or train a reader)."""

import io
import math
from pathlib import Path

import streamlit as st

from genlab import paths
from genlab.app import clock_mark, files, frame, jobs, state
from genlab.clock import read as clock_read
from genlab.clock import synth, train
from genlab.clock.models import for_reading
from genlab.clock.preprocess import open_photo

frame.require_frame()

READERS_DIR = paths.cache_dir() / "clock" / "readers"
N_EXAMPLES = 4
TOP_K = 3
PHONE_WIDTH = 640  # px: Streamlit stacks columns in a narrower window

st.title("Clock reader")
st.caption("Upload a photo of an analogue clock (JPEG, PNG, WebP, TIFF...; an iPhone's HEIC as JPEG, please; "
           "phone photos are turned upright from their EXIF orientation). genlab finds the dial, reads the hands "
           "and tells the time, and says so when it is not sure.")


@st.cache_data
def example_clocks() -> tuple:
    """Returns (images (N_EXAMPLES, 150, 150) uint8, labels (N_EXAMPLES, 2)): clocks never seen in training."""
    return synth.make_clocks(N_EXAMPLES, seed=2024)


@st.cache_resource
def load_reader(path: str, modified: float):
    """Returns the reader at path, for reading (models.for_reading; cached per file version: modified is its mtime)."""
    return for_reading(train.load_reader(path))


def reader_files() -> dict:
    """Returns {label: path} of the shipped reader and the readers trained on this server."""
    found = {}
    if clock_read.WEIGHTS_PATH.is_file():
        found["Shipped reader"] = clock_read.WEIGHTS_PATH
    for path in sorted(READERS_DIR.glob("*.safetensors"), reverse=True):
        found[f"Trained here: {path.stem}"] = path
    return found


def set_source(source) -> None:
    st.session_state.clock_source = source


# -- input ------------------------------------------------------------------------------------
readers = reader_files()
left, right = st.columns([2, 3], gap="large")
with left:
    upload = st.file_uploader("Photo of a clock", type=files.IMAGE_TYPES,
                              max_upload_size=files.MAX_IMAGE_BYTES // 2**20)
    reader_label = st.selectbox("Reader", list(readers) or ["(none yet)"], disabled=not readers)
with right:
    st.write("Or try a synthetic clock (never seen in training):")
    # On a phone Streamlit stacks columns, and four examples a screen wide each pushed the reading three
    # screens below the uploader: there the examples stay side by side, small.
    st.html(f"<style>@media (max-width: {PHONE_WIDTH}px) {{"
            ".st-key-clock_examples [data-testid='stHorizontalBlock'] {flex-wrap: nowrap !important; gap: 0.4rem}"
            ".st-key-clock_examples [data-testid='stColumn'] {min-width: 0 !important; width: auto !important;"
            " flex: 1 1 0 !important}}}</style>")
    with st.container(key="clock_examples"):
        for i, (column, image) in enumerate(zip(st.columns(N_EXAMPLES), example_clocks()[0])):
            column.image(image, width="stretch")
            column.button("Try", key=f"clock_example_{i}", on_click=set_source, args=(f"example:{i}",),
                          width="stretch")

if upload is not None and upload.file_id != st.session_state.get("clock_upload_id"):
    st.session_state.clock_upload_id = upload.file_id  # a new upload replaces the example
    st.session_state.clock_source = "upload"
source = st.session_state.get("clock_source")
if source == "upload" and upload is None:
    source = None
if source != st.session_state.get("clock_marked_for"):  # a new photo: forget the old mark
    st.session_state.clock_mark = False
    st.session_state.clock_marked_for = source
    st.session_state.pop("clock_box_applied", None)
image, name, too_big = None, None, None
if source == "upload":
    data = upload.getvalue()
    try:
        files.check_image_size(upload.name, data)
        image, name = io.BytesIO(data), upload.name
        image.name = upload.name
    except ValueError as error:
        too_big = f"{error}."
elif source and source.startswith("example:"):
    index = int(source.split(":")[1])
    images, labels = example_clocks()
    image = images[index]
    name = f"example clock {index + 1} (shows {clock_read.format_time(*labels[index])})"


def marked_box(photo) -> tuple | None:
    """Draws the "mark the clock" controls (the photo to drag a box on, and three sliders that refine the box);
    returns the marked square (left, top, side) in the photo's original pixels, or None."""
    marking = st.toggle("Mark the clock myself", key="clock_mark",
                        help="Read only the square you mark: for photos where the clock is small, "
                             "off-centre, or where the reader found the wrong thing.")
    if not marking:
        return None
    zoom = clock_mark.shown_zoom(photo.image, photo.scale)
    chart_key = f"clock_mark_box:{st.session_state.get('clock_marked_for')}"  # a new photo, a fresh box
    drawn = (st.session_state.get(chart_key) or {}).get("selection", {}).get("box") or []
    if drawn and drawn[-1] != st.session_state.get("clock_box_applied"):  # a box just drawn moves the sliders
        st.session_state.clock_box_applied = drawn[-1]
        mark = clock_mark.mark_from_box(drawn[-1], zoom, photo.size)
        for key, value in zip(("clock_mark_x", "clock_mark_y", "clock_mark_size"), mark):
            st.session_state[key] = value
    st.caption("Drag a box around the clock on the photo; the sliders below refine it.")
    chart = st.container()
    a, b, c = st.columns(3)
    x = a.slider("Clock centre, across (%)", 0, 100, 50, key="clock_mark_x")
    y = b.slider("Clock centre, down (%)", 0, 100, 50, key="clock_mark_y")
    size = c.slider("Clock size (% of the short side)", *clock_mark.SIZE_RANGE, 60, key="clock_mark_size")
    square = clock_mark.square_from_mark(x, y, size, photo.size)
    chart.plotly_chart(clock_mark.photo_figure(photo.image, photo.scale, square), key=chart_key,
                       on_select="rerun", selection_mode="box", config={"displayModeBar": False})
    st.caption("genlab reads only the square marked in yellow.")
    return square


def show_reading(reading, reader, name: str, box) -> None:
    """Draws a reading: the time (or, when unsure, the candidates), the dial found and what the reader saw."""
    time_column, a, b = st.columns([1.5, 1.2, 1])
    others = [alt for alt in reading.alternatives[1:] if alt.probability >= 0.01]  # "0%" says nothing
    if reading.sure:
        time_column.markdown(f"<div class='clock-time' style='font-size:5.5rem;font-weight:700;line-height:1.1;"
                             f"white-space:nowrap'>{reading.text}</div>", unsafe_allow_html=True)
        time_column.markdown(f"**{name}** · confidence **{clock_read.percent(reading.confidence)}** "
                             f"(probability within ±{clock_read.WINDOW} min)")
        if others:
            time_column.caption("alternatives: " + ", ".join(f"{alt.text} ({clock_read.percent(alt.probability)})"
                                                             for alt in others))
    else:
        time_column.markdown(
            f"<div class='clock-time unsure' style='font-size:3.2rem;font-weight:700;line-height:1.1;color:#9a6700;"
            f"white-space:nowrap'>{reading.text}?</div>",
            unsafe_allow_html=True,
        )
        candidates = " · ".join(f"**{alt.text}** {clock_read.percent(alt.probability)}"
                                for alt in [reading.alternatives[0], *others])
        time_column.warning(f"Not sure about {name}: {candidates}. "
                            + ("Check the ring on the photo: if it is not on the clock's dial, turn on "
                               "**Mark the clock myself** above and genlab reads only that part."
                               if box is None else "Try marking the clock more tightly, or a sharper photo."))
    found = ("the dial the reader located (yellow ring)" if reading.dial is not None
             else "no dial located: hands drawn from the crop's centre")
    a.image(clock_read.draw_reading(reading), caption=f"Read hands (red hour, blue minute) on {found}",
            width="stretch")
    seen = "What the reader sees" + (", turned face-on" if reading.shape is not None else "")  # shape: dial found
    if abs(reading.turn) >= math.radians(2):  # an aligned reader found the dial turned in the photo
        seen += f" and upright (it was turned {math.degrees(reading.turn):+.0f}°)"
    b.image(clock_read.face_on(reading), caption=seen + (" (in your marked square)" if box is not None else ""),
            width="stretch")
    metrics = reader.config.metrics
    if metrics:
        st.caption(f"This reader ({reader.config.head} head) on {metrics.get('n', '?')} held-out synthetic "
                   f"clocks: hour right {metrics['hour_accuracy']:.1%}, median error "
                   f"{metrics['median_error']:.1f} min, mean {metrics['mean_error']:.1f} min. "
                   "On real photos it is less sure; see the README's figures.")


# -- reading -----------------------------------------------------------------------------------
with st.container(border=True):
    if too_big:
        st.error(too_big)
    elif not readers:
        st.info("No reader is available yet: train one below (or run `python -m genlab clock train`).")
    elif image is None:
        st.info("Upload a photo or press **Try** under an example clock.")
    else:
        path = readers[reader_label]
        try:
            reader = load_reader(str(path), Path(path).stat().st_mtime)
            photo = open_photo(image)
            box = marked_box(photo)
            result = st.empty()
            result.caption(f"Reading {name}…")  # the previous reading goes at once, not when this one is done
            reading = clock_read.read_clock(photo, reader=reader, top_k=TOP_K, box=box)
        except (ValueError, FileNotFoundError, OSError) as error:
            st.error(f"Could not read {name}: {error}")
        else:
            with result.container():
                show_reading(reading, reader, name, box)

# -- training ----------------------------------------------------------------------------------
st.divider()
st.subheader("Train a reader")
owner = state.owner_id()


with st.form("clock_train_form"):
    a, b, c, d = st.columns(4)
    head = a.selectbox("Head", ["polar", "hands", "multi", "classes720", "sincos", "regression", "classes24"],
                       help="polar learns in a few hundred steps; hands (the shipped kind) and the study's "
                            "heads need thousands (see README)")
    n_clocks = b.number_input("Synthetic clocks", 200, 50_000, 2000, step=500)
    steps = c.number_input("Training steps (batch 64)", 10, 20_000, 300, step=100)
    use_gamma = d.toggle("Gamma enhancement", value=False)
    submitted = st.form_submit_button("Start training", type="primary")
if submitted:
    try:
        jobs.start_job(owner, f"clock reader ({head})",
                       train.training_work(head, int(n_clocks), int(steps), train.GAMMA if use_gamma else None,
                                           READERS_DIR))
    except (jobs.JobError, ValueError) as error:
        st.error(str(error))


def show_training(job) -> None:
    """Draws a clock-training job: its progress, Cancel while it runs, and how it ended."""
    state = job.snapshot()
    last = state["log"][-1] if state["log"] else {}
    text = f"{state['label']}: {last.get('phase', 'starting')} · {state['fraction']:.0%}"
    if "loss" in last:
        text += f" · loss {last['loss']:.3f}"
    st.progress(state["fraction"], text=text)
    if state["status"] == jobs.RUNNING and st.button("Cancel training"):
        job.cancel()
    elif state["status"] == jobs.DONE and state["result"]:
        m = state["result"]["metrics"]
        st.success(f"Saved {Path(state['result']['path']).name}: hour right {m['hour_accuracy']:.0%}, median "
                   f"error {m['median_error']:.0f} min on 200 synthetic clocks. Pick it under **Reader** above.")
    elif state["status"] in (jobs.FAILED, jobs.CANCELLED):
        st.warning(f"Training {state['status']}: {state['error'] or 'stopped'}")


latest = next((job for job in jobs.jobs_for(owner) if job.label.startswith("clock reader")), None)
if latest is not None and latest.running:
    # Polled every second only while it runs: an idle page has nothing to redraw every second
    @st.fragment(run_every=1.0)
    def live_training() -> None:
        show_training(latest)
        if not latest.running:
            st.rerun()  # redraw the whole page once: the new reader joins the list, polling stops

    live_training()
elif latest is not None:
    show_training(latest)
