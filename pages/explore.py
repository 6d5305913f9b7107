"""Latent explorer: move latent coordinates of any checkpoint and watch the decoded digit change."""

import hashlib
import json
from pathlib import Path

import numpy as np
import streamlit as st

from genlab import names
from genlab.app import catalogue, explore, files, frame, state
from genlab.app.live_view import live_voxel_view
from genlab.models.density import DIGIT_SPREAD
from genlab.viz import mesh_file, projection_grid, projection_image, voxel_animation
from genlab.viz.live import Sweep, slider_sweep

frame.require_frame()

TOP_SLIDERS = 8          # the most influential dimensions, shown first
DIRECTIONS = 8           # principal directions offered as sliders
REFERENCE_DIGITS = 256   # test digits encoded for slider ranges, principal directions and AE sampling
MAX_SIDE_BY_SIDE = 4
SLIDER_MODES = ["coordinates", "principal directions"]   # what the latent sliders move; the first is the default
COORDINATE_STEP, DIRECTION_STEP, DIRECTION_REACH = 0.05, 0.1, 3.0   # slider stops; directions in std devs

st.title("Latent explorer")


# -- checkpoint ------------------------------------------------------------------------------
def use_upload(flag: bool) -> None:
    st.session_state.explore_use_upload = flag


checkpoints = catalogue.list_checkpoints()
labels = {catalogue.checkpoint_label(c): c for c in checkpoints}
left, right = st.columns([3, 2])
picked = left.selectbox("Checkpoint", list(labels), key="explore_checkpoint",
                        placeholder="No checkpoint available yet", on_change=use_upload, args=(False,),
                        help="Shipped weights and the runs trained on the Train page.")
with right.popover("Upload a checkpoint"):
    uploaded = st.file_uploader("genlab checkpoint (.safetensors)", type=["safetensors"],
                                key="checkpoint_upload", on_change=use_upload, args=(True,))


def load_upload(upload):
    """Returns (path, model) of an uploaded checkpoint, or None after an error naming the user's file."""
    if upload.size > files.MAX_CHECKPOINT_BYTES:
        st.error(f"{upload.name} is {upload.size / 2**20:.0f} MB; checkpoints up to "
                 f"{files.MAX_CHECKPOINT_BYTES // 2**20} MB are accepted.")
        return None
    saved = files.save_upload(upload.name, upload.getvalue())
    try:
        return str(saved), state.load_model(saved)
    except (ValueError, FileNotFoundError, OSError) as error:
        message = str(error).replace(str(saved), upload.name).replace(saved.name, upload.name)
        st.error(f"This checkpoint cannot be used: {message}")   # the user's file name, not the server's path
        return None


# A bad upload never locks the page: the picked checkpoint is shown instead, and picking
# another one takes over from the upload (uploading again hands the view back to the upload).
loaded = None
if uploaded is not None and st.session_state.get("explore_use_upload", True):
    loaded = load_upload(uploaded)
if loaded is None:
    if picked is None:
        st.info("No checkpoint yet: train one on the Train page (or upload a genlab checkpoint).")
        st.stop()
    try:
        loaded = labels[picked]["path"], state.load_model(labels[picked]["path"])
    except (ValueError, FileNotFoundError, OSError) as error:
        st.error(f"This checkpoint cannot be used: {error}")
        st.stop()
path, model = loaded

try:
    dataset = state.current_dataset()
except (ValueError, FileNotFoundError, OSError) as error:
    st.error(f"The dataset could not be loaded: {error}")
    st.stop()


def cache_key(checkpoint: str) -> str:
    """Names a checkpoint file as it is now (path, modification time) and the dataset: the key of what the
    explorer computes from them, in this session (slider values) and for every session (cached latents)."""
    try:
        stamp = Path(checkpoint).stat().st_mtime_ns
    except OSError:
        stamp = 0
    return hashlib.sha1(f"{checkpoint}:{stamp}:{dataset.fingerprint}".encode()).hexdigest()[:10]


model_key = cache_key(path)
trained_on = (getattr(model, "metadata", {}).get("dataset") or {}).get("source")
st.caption(f"{names.kind_title(model.kind)} on {names.backbone_title(model.backbone)} · {model.latent_dim} latent "
           f"dimensions · trained on {trained_on or 'unknown data'} · digits below from "
           f"{catalogue.dataset_title(state.dataset_choice())}"
           + (f" · uploaded as {uploaded.name}" if path != labels.get(picked, {}).get("path") else ""))


def latent_geometry(key: str, model) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Returns (reference codes, slider low, slider high, principal directions, their std) of a model."""
    codes = state.reference_latents(key, model, dataset.X_test[:REFERENCE_DIGITS])
    low, high = explore.slider_ranges(codes)
    directions = explore.principal_directions(model, codes, k=min(DIRECTIONS, model.latent_dim))
    return codes, low, high, directions, explore.direction_scales(codes, directions)


reference, low, high, directions, scales = latent_geometry(model_key, model)
slider_keys = [f"z_{model_key}_{i}" for i in range(model.latent_dim)]
# Direction sliders are in standard deviations, so one set serves every model (and side by side).
direction_keys = [f"pc_{i}" for i in range(DIRECTIONS)]


# Slider values also live under plain keys: Streamlit forgets a widget's value while it is not
# drawn, and only one set of sliders (coordinates or directions) is drawn at a time.
saved_coordinates, saved_steps = f"coordinates_{model_key}", "direction_steps"


def move_sliders(z: np.ndarray) -> None:
    """Puts the latent sliders at z (latent_dim,) and the direction sliders at 0."""
    st.session_state[saved_coordinates] = np.round(np.asarray(z, np.float32), 2)
    st.session_state[saved_steps] = np.zeros(DIRECTIONS, np.float32)
    for key, value in zip(slider_keys, st.session_state[saved_coordinates]):
        st.session_state[key] = float(value)
    for key in direction_keys:
        st.session_state[key] = 0.0


def slider_values(keys: list[str], saved: str) -> tuple[np.ndarray, list[int]]:
    """Returns (the values (float32) of sliders `keys`, from the widgets when drawn, else as last saved,
    the indices of the sliders that moved since the last run)."""
    values = np.array([st.session_state.get(key, st.session_state[saved][n]) for n, key in enumerate(keys)],
                      np.float32)
    moved = np.flatnonzero(values != st.session_state[saved][:len(keys)]).tolist()
    st.session_state[saved][:len(keys)] = values
    return values, moved


def restore_sliders(keys: list[str], saved: str) -> None:
    """Gives the sliders that were not drawn in the last run the values they had when last drawn: Streamlit
    forgets a widget's value while it is not drawn, and a browser may then bring back an older one."""
    drawn = st.session_state.get("sliders_drawn", set())
    for n, key in enumerate(keys):
        if key not in drawn or key not in st.session_state:
            st.session_state[key] = float(st.session_state[saved][n])


def set_start(z: np.ndarray, description: str, grid=None) -> None:
    """Makes z this model's starting latent: sliders jump to it; dimensions re-ranked around it."""
    z = np.clip(np.asarray(z, dtype=np.float32), low, high)
    st.session_state[f"start_{model_key}"] = {"z": z, "what": description, "grid": grid}
    digest = hashlib.sha1(z.tobytes()).hexdigest()[:16]
    st.session_state[f"order_{model_key}"] = state.computed(f"{model_key}:ranked:{digest}",
                                                            lambda: explore.rank_dimensions(model, z))
    move_sliders(z)


def test_digit(digit: int, number: int) -> tuple[np.ndarray, int]:
    """Returns the number-th test digit of a class and its index in the test split."""
    indices = state.class_indices(f"{dataset.fingerprint}-test", dataset.y_test)[digit]
    index = int(indices[min(number, len(indices) - 1)]) if len(indices) else 0
    return dataset.X_test[index], index


def nearest_training_digit(grid: np.ndarray) -> tuple[int, float]:
    """Returns (index, mean squared difference) of the training digit nearest to grid (once per server
    for each grid: every visitor's first view shows the same digit)."""
    digest = hashlib.sha1(np.ascontiguousarray(grid, np.float32).tobytes()).hexdigest()
    index, distance = state.computed(f"{dataset.fingerprint}:nearest:{digest}", lambda: np.array(
        [value[0] for value in explore.nearest_training(grid, dataset)], np.float64))
    return int(index), float(distance)


def encoded_test_digit(index: int) -> np.ndarray:
    """Returns the latent (latent_dim,) of test digit #index (computed once per server)."""
    return state.computed(f"{model_key}:encoded:{index}", lambda: explore.encode(model, dataset.X_test[index]))


def sampling_controls(key: str) -> tuple[str, int | None, str]:
    """Shows where samples come from (prior, second stage or per-digit density) and which digit;
    returns (source, digit, words)."""
    sources = model.latent_sources()
    a, b = st.columns([3, 2])
    source = a.radio("Draw latents from", sources, format_func=names.LATENT_SOURCES.get, horizontal=True,
                     key=f"{key}_source_{model_key}",
                     help="A VAE or GAN is trained to decode its N(0, I) prior. A VAE's second stage (a small "
                          "VAE fitted to the codes of the training digits) and the per-digit code mixture or Gaussians "
                          "(fitted to those codes too) land where the decoder was trained; the per-digit ones can "
                          "be asked for a digit. The refined mixture favours the parts of each digit whose "
                          "decoded samples the encoder recognises as that digit again. An AE has no prior.")
    digit = None
    if source in names.DIGIT_SOURCES:
        choice = b.selectbox("Digit", ["any", *range(10)], key=f"{key}_digit_{model_key}",
                             help=f"A chosen digit is drawn nearer the centres of its styles (spread {DIGIT_SPREAD} "
                                  "of the fitted one) and, from the refined mixture, more from the styles the encoder "
                                  "recognises as that digit again, so that it reads clearly; *any* draws at the full "
                                  "spread.")
        digit = None if choice == "any" else int(choice)
    words = names.LATENT_SOURCES[source] + ("" if digit is None else f", digit {digit} at spread {DIGIT_SPREAD:g}")
    return source, digit, words


if f"start_{model_key}" not in st.session_state:
    grid, index = test_digit(0, 0)
    set_start(encoded_test_digit(index), f"test digit #{index} (a 0), encoded", grid)

# -- where to start ----------------------------------------------------------------------------
def start_controls() -> None:
    """Draws the ways to pick a new start (a dataset digit, a sample, an image, a pasted latent)."""
    source = st.radio("Start from", ["A dataset digit", "A random sample", "An uploaded image",
                                     "A copied latent"],
                      horizontal=True, label_visibility="collapsed", key="start_source")
    if source == "A dataset digit":
        a, b, c = st.columns([2, 2, 1])
        digit = a.selectbox("Digit", range(10), key="start_digit")
        number = b.number_input("Which one (test split)", 0, 10_000, 0, key="start_number")
        if c.button("Start here", key="start_dataset"):
            grid, index = test_digit(digit, number)
            set_start(encoded_test_digit(index), f"test digit #{index} (a {digit}), encoded", grid)
    elif source == "A random sample":
        a, b = st.columns([4, 1])
        seed = a.number_input("Seed", 0, 1_000_000, 0, key="start_seed")
        latent_source, digit, where = sampling_controls("start")
        if b.button("Start here", key="start_random"):
            z = explore.sample_latents(model, 1, int(seed), reference, latent_source, digit)[0]
            set_start(z, f"random sample (seed {seed}) from {where}")
    elif source == "A copied latent":
        text = st.text_area(f"A JSON list of {model.latent_dim} numbers (from “Copy this latent”)",
                            key="start_pasted")
        if st.button("Start here", key="start_latent"):
            try:
                set_start(explore.parse_latent(text, model.latent_dim), "a pasted latent")
            except ValueError as error:
                st.error(str(error))
    else:
        image = st.file_uploader("Digit image", type=files.IMAGE_TYPES, key="start_upload",
                                 max_upload_size=files.MAX_IMAGE_BYTES // 2**20)
        if image is not None and st.button("Start here", key="start_image"):
            try:
                grid = files.lift_upload(image.name, image.getvalue())
            except ValueError as error:
                st.error(str(error))
            else:
                set_start(explore.encode(model, grid), f"{image.name}, lifted and encoded", grid)


# A closed expander's widgets are still sent and drawn by the browser: these are drawn only while open.
start_box = st.expander("Start from…", key="start_open", on_change="rerun")
if start_box.open:
    with start_box:
        start_controls()

start = st.session_state[f"start_{model_key}"]
order = st.session_state[f"order_{model_key}"]

# -- how digits are drawn (shared by every view below) -------------------------------------------
threshold, surface = state.view_controls("explore")
one_colour = st.toggle("One colour", key="explore_one_colour",
                       help="Paint every voxel alike (the shape alone) instead of colouring by value")
# Shown where the model has an output curve; elsewhere (and for side-by-side models without one) grids are as decoded.
curve = st.toggle(
    "Output curve", value=True, key="explore_curve",
    help="On: grids as the model shows its samples, its decoded voxel values mapped onto the values real "
         "digits have (fitted on training digits). Off: the decoder's own voxel probabilities, with their haze.",
) if model.output_curve is not None else True
shown_key = f"{model_key}:{'curve' if curve else 'decoded'}"  # what the grids computed below depend on


# -- sliders and the 3D view --------------------------------------------------------------------
def reset_sliders() -> None:
    move_sliders(start["z"])


def thumbnails(*grids) -> np.ndarray:
    """Returns front-view projections of grids (16, 16, 16) side by side, separated by white gaps."""
    gap = np.full((16 * 6, 10, 3), 255, np.uint8)
    parts = [projection_image(grid, scale=6) for grid in grids]
    return np.concatenate([part for pair in zip(parts, [gap] * len(parts)) for part in pair][:-1], axis=1)


def coordinate_label(i: int) -> str:
    return f"z[{i}]"


def direction_label(n: int) -> str:
    return f"PC{n + 1} (σ = {scales[n]:.3g})"


def decode_with_sweep(mode: str, coordinates, steps, moved: list[int]) -> tuple[np.ndarray, Sweep]:
    """Returns (the grid at the sliders' values, a Sweep of the last moved slider of this mode).

    The sweep's grids are decoded in one batch with the current one, so the browser can draw the
    next moves of that slider before the server answers them (long drags as previews).
    """
    directions_mode = mode == "principal directions"
    values = steps if directions_mode else coordinates
    labels = [direction_label(n) if directions_mode else coordinate_label(n) for n in range(len(values))]
    swept_key = f"swept_{model_key}_{mode}"
    if len(moved) == 1:              # a reset or a new start moves many: keep the slider the user last moved
        st.session_state[swept_key] = moved[0]
    swept = st.session_state.get(swept_key, 0 if directions_mode else int(order[0]))
    if directions_mode:
        bounds, step = (-DIRECTION_REACH, DIRECTION_REACH), DIRECTION_STEP
    else:
        bounds, step = (float(low[swept]), float(high[swept])), COORDINATE_STEP

    def decode_at(positions: np.ndarray) -> np.ndarray:
        batch = np.repeat(values[None], len(positions), axis=0)
        batch[:, swept] = positions
        if directions_mode:
            return explore.decode(model, explore.move_along(coordinates, directions, scales, batch), curve)
        return explore.decode(model, explore.move_along(batch, directions, scales, steps), curve)

    others = {label: float(value) for n, (label, value) in enumerate(zip(labels, values)) if n != swept}
    # Grids decoded for earlier steps of this slider stay valid while nothing else changed, for every session.
    fixed = np.concatenate([np.delete(values, swept), coordinates if directions_mode else steps]).astype(np.float32)
    context = f"{shown_key}:{mode}:{swept}:{hashlib.sha1(fixed.tobytes()).hexdigest()}"
    return slider_sweep(labels[swept], float(values[swept]), *bounds, step, others, decode_at,
                        state.sweep_cache(context))


@st.fragment
def latent_view():
    controls, view = st.columns([2, 3])
    # The figure is computed from the sliders' values as they stand (session state) and drawn
    # before the sliders: its message then leaves first, and the browser draws it sooner.
    mode = st.session_state.get("slider_mode") or SLIDER_MODES[0]
    if mode == "principal directions":
        restore_sliders(direction_keys[:len(directions)], saved_steps)
    else:
        restore_sliders(slider_keys, saved_coordinates)
    coordinates, moved_coordinates = slider_values(slider_keys, saved_coordinates)
    steps, moved_steps = slider_values(direction_keys[:len(directions)], saved_steps)
    z = explore.move_along(coordinates, directions, scales, steps)
    if surface:                      # a smooth surface is built on the server: no sweep to send
        grid, sweep = explore.decode(model, z, curve), None
    else:
        moved = moved_steps if mode == "principal directions" else moved_coordinates
        grid, sweep = decode_with_sweep(mode, coordinates, steps, moved)
    with view:
        live_voxel_view(grid, threshold, surface, one_colour, key="explore_live", sweep=sweep)
    with controls:
        st.markdown(f"**Start:** {start['what']}")
        st.segmented_control("Sliders move", SLIDER_MODES, default=SLIDER_MODES[0], key="slider_mode",
                             help="Coordinates: one latent dimension each, most influential first. "
                                  "Principal directions: the axes along which encoded test digits "
                                  "spread most (PCA), in standard deviations of that spread.")
        drawn = set()
        if mode == "principal directions":
            st.caption(f"Along the {len(directions)} principal directions of {len(reference)} encoded test "
                       "digits, largest spread first; 1 = one standard deviation.")
            columns = st.columns(2)
            for n in range(len(directions)):
                columns[n % 2].slider(direction_label(n), -DIRECTION_REACH, DIRECTION_REACH,
                                      step=DIRECTION_STEP, key=direction_keys[n])
                drawn.add(direction_keys[n])
        else:
            st.caption("Most influential dimensions first (ranked by how much the decoded voxels change).")

            def slider(i: int, where) -> None:
                where.slider(coordinate_label(i), float(low[i]), float(high[i]), step=COORDINATE_STEP,
                             key=slider_keys[i])
                drawn.add(slider_keys[i])

            top, rest = order[:TOP_SLIDERS], order[TOP_SLIDERS:]
            columns = st.columns(2)
            for n, i in enumerate(top):
                slider(int(i), columns[n % 2])
            others = st.expander(f"The other {len(rest)} dimensions", key="other_dimensions_open",
                                 on_change="rerun") if len(rest) else None
            if others is not None and others.open:    # drawn only while open, as "Start from…"
                with others:
                    columns = st.columns(2)
                    for n, i in enumerate(rest):
                        slider(int(i), columns[n % 2])
        st.session_state.sliders_drawn = drawn
        a, b = st.columns(2)
        a.button("Reset", on_click=reset_sliders, key="reset_latent", width="stretch")
        show_copy = b.toggle("Copy this latent", key="copy_latent")
    with view:
        index, distance = nearest_training_digit(grid)
        pictures = [grid, dataset.X_train[index]] if start["grid"] is None else [start["grid"], grid,
                                                                                  dataset.X_train[index]]
        words = "the decoded latent · " if start["grid"] is None else "the start digit · the decoded latent · "
        st.image(thumbnails(*pictures),
                 caption=f"front view: {words}its nearest training digit (#{index}, a {dataset.y_train[index]}, "
                         f"mean squared difference {distance:.4f})")
        name = f"genlab-{Path(path).stem}-latent"
        a, b = st.columns(2)
        a.download_button("Download STL (3D print)", lambda: mesh_file(grid, threshold, "stl"),
                          file_name=f"{name}.stl", mime="model/stl", key="download_stl", width="stretch",
                          on_click="ignore", disabled=not (grid >= threshold).any(),
                          help="The voxels above the threshold as a closed surface, 1 mm per voxel")
        b.download_button("Download OBJ", lambda: mesh_file(grid, threshold, "obj"),
                          file_name=f"{name}.obj", mime="model/obj", key="download_obj", width="stretch",
                          on_click="ignore", disabled=not (grid >= threshold).any())
    if show_copy:
        st.code(json.dumps([round(float(v), 3) for v in z]), language="json")


latent_view()

# -- interpolation ------------------------------------------------------------------------------
st.subheader("Interpolation")


@st.fragment
def interpolation_view():
    a, b, c, d, e = st.columns([2, 2, 2, 3, 3])
    digit_a = a.selectbox("From digit", range(10), index=1, key="interp_a")
    digit_b = b.selectbox("To digit", range(10), index=7, key="interp_b")
    example = c.number_input("Example", 0, 100, 0, key="interp_example",
                             help="Which test digit of each class: 0 is the first")
    mode = d.radio("Path", explore.INTERPOLATION_MODES, horizontal=True, key="interp_mode")
    steps = e.slider("Frames", 3, 16, 8, key="interp_steps")
    (_, index_a), (_, index_b) = test_digit(digit_a, int(example)), test_digit(digit_b, int(example))
    walk = explore.interpolate_latents(encoded_test_digit(index_a), encoded_test_digit(index_b), steps, mode)
    frames = state.computed(f"{shown_key}:path:{index_a}:{index_b}:{steps}:{mode}",
                            lambda: explore.decode(model, walk, curve))      # one batch
    st.image(projection_grid(frames, columns=min(steps, 8), scale=7),
             caption=f"{mode} path from a {digit_a} to a {digit_b}, {steps} frames (front view)")
    # Opt-in: a second 3D scene (and Streamlit's own plotly.js) would double what a first visit or a
    # model switch waits for in the browser.
    if st.toggle("Play the path in 3D", key="interp_3d",
                 help="An animated 3D view of the frames above (play, pause, drag the frame slider)"):
        labels = [f"{t:.2f}" for t in np.linspace(0, 1, steps)]
        st.plotly_chart(voxel_animation(frames, threshold, surface, labels=labels, height=420,
                                        one_colour=one_colour), key="interp_animation")


interpolation_view()

# -- random samples -------------------------------------------------------------------------------
st.subheader("Random samples")


@st.fragment
def samples_view():
    def next_seed() -> None:
        st.session_state.samples_seed += 1

    st.session_state.setdefault("samples_seed", 0)
    a, b = st.columns([4, 1])
    seed = a.number_input("Seed", 0, 1_000_000, key="samples_seed")
    b.button("New samples", on_click=next_seed, key="new_samples")
    source, digit, where = sampling_controls("samples")
    if model.kind == "ae" and model.code_density is None:
        where = "a Gaussian fitted to encoded test digits (this AE has no fitted code density)"
    grids = state.computed(f"{shown_key}:samples:{int(seed)}:{source}:{digit}", lambda: explore.decode(
        model, explore.sample_latents(model, 16, int(seed), reference, source, digit), curve))
    st.image(projection_grid(grids, columns=8, scale=8), caption=f"16 samples from {where}, seed {seed}")


samples_view()

# -- several models on the same walk -------------------------------------------------------------
st.subheader("Side by side")
WALKS = ["the same start digit", "the same interpolation", "the same per-digit request"]


@st.fragment
def side_by_side_view():
    usable = [label for label, entry in labels.items() if "error" not in entry]
    chosen = st.multiselect(f"Checkpoints (2 to {MAX_SIDE_BY_SIDE})", usable, max_selections=MAX_SIDE_BY_SIDE,
                            key="side_models", placeholder="Pick two to four checkpoints")
    if len(chosen) < 2:
        st.caption("Pick two to four checkpoints to see each take the same walk, one row per model.")
        return
    walk = st.segmented_control("Walk", WALKS, default=WALKS[0], key="side_walk") or WALKS[0]
    a, b, c = st.columns(3)
    if walk == WALKS[0]:
        digit = a.selectbox("Start digit", range(10), key="side_digit")
        example = b.number_input("Example", 0, 100, 0, key="side_example")
        c.caption("Each model encodes this test digit, then moves the same number of standard "
                  "deviations along its own principal directions (the PC sliders below).")
        columns = st.columns(4)
        steps = np.array([columns[n].slider(f"PC{n + 1}", -3.0, 3.0, 0.0, 0.1, key=f"side_pc_{n}")
                          for n in range(4)], np.float32)
    elif walk == WALKS[1]:
        digit_a = a.selectbox("From digit", range(10), index=1, key="side_from")
        digit_b = b.selectbox("To digit", range(10), index=7, key="side_to")
        frames = c.slider("Frames", 3, 10, 6, key="side_frames")
        mode = st.radio("Path", explore.INTERPOLATION_MODES, horizontal=True, key="side_mode")
    else:
        digit = a.selectbox("Digit", range(10), index=3, key="side_request")
        seed = b.number_input("Seed", 0, 1_000_000, 0, key="side_seed")
        c.caption("Models with per-digit Gaussians draw this digit; the others cannot be asked for one.")
    for label in chosen:
        entry = labels[label]
        try:
            other = state.load_model(entry["path"])
        except (ValueError, FileNotFoundError, OSError) as error:
            st.error(f"{entry['name']}: {error}")
            continue
        key = cache_key(entry["path"])
        codes, _, _, other_directions, other_scales = latent_geometry(key, other)
        title, row = st.columns([1, 5])
        title.markdown(f"**{entry['name']}**  \n"
                       f"{names.kind_title(other.kind)} · {names.backbone_title(other.backbone)}")
        if walk == WALKS[0]:
            start_grid, _ = test_digit(digit, int(example))
            k = min(len(steps), len(other_directions))
            z = explore.move_along(explore.encode(other, start_grid), other_directions[:k], other_scales[:k],
                                   steps[:k])
            grid = explore.decode(other, z, curve)
            (index,), (distance,) = explore.nearest_training(grid, dataset)
            row.image(thumbnails(start_grid, grid, dataset.X_train[index]),
                      caption=f"start · decoded · nearest training digit (a {dataset.y_train[index]}, "
                              f"distance {distance:.4f})")
        elif walk == WALKS[1]:
            (grid_a, _), (grid_b, _) = test_digit(digit_a, 0), test_digit(digit_b, 0)
            z_a, z_b = explore.encode(other, np.stack([grid_a, grid_b]))
            path_grids = explore.decode(other, explore.interpolate_latents(z_a, z_b, frames, mode), curve)
            row.image(projection_grid(path_grids, columns=frames, scale=6))
        elif digit_sources := [s for s in names.DIGIT_SOURCES if s in other.latent_sources()]:
            grids = explore.decode(other, explore.sample_latents(other, 8, int(seed), codes, digit_sources[0], digit),
                                   curve)
            row.image(projection_grid(grids, columns=8, scale=6))
        else:
            row.info(f"This {names.kind_title(other.kind)} has no per-digit code density, "
                     f"so it cannot be asked for a {digit}.")


side_by_side_view()
