"""Latent explorer: move latent coordinates of any checkpoint and watch the decoded digit change."""

import hashlib
import json

import numpy as np
import streamlit as st

from genlab import appstate, explore
from genlab.models.kinds import LATENT_SOURCES
from genlab.viz import VIEW_THRESHOLD, projection_grid, projection_image, voxel_animation, voxel_figure

appstate.require_frame()

TOP_SLIDERS = 8          # the most influential dimensions, shown first
REFERENCE_DIGITS = 512   # test digits encoded for slider ranges and AE sampling

st.title("Latent explorer")

# -- checkpoint ------------------------------------------------------------------------------
checkpoints = appstate.list_checkpoints()
labels = {appstate.checkpoint_label(c): c for c in checkpoints}
left, right = st.columns([3, 2])
picked = left.selectbox("Checkpoint", list(labels), key="explore_checkpoint",
                        placeholder="No checkpoint available yet",
                        help="Shipped weights and the runs trained on the Train page.")
with right.popover("Upload a checkpoint"):
    uploaded = st.file_uploader("genlab checkpoint (.safetensors)", type=["safetensors"],
                                key="checkpoint_upload")
if uploaded is not None:
    if uploaded.size > appstate.MAX_CHECKPOINT_BYTES:
        st.error(f"{uploaded.name} is {uploaded.size / 2**20:.0f} MB; checkpoints up to "
                 f"{appstate.MAX_CHECKPOINT_BYTES // 2**20} MB are accepted.")
        st.stop()
    path = str(appstate.save_upload(uploaded.name, uploaded.getvalue()))
elif picked is None:
    st.info("No checkpoint yet: train one on the Train page (or upload a genlab checkpoint).")
    st.stop()
else:
    path = labels[picked]["path"]

try:
    model = appstate.load_model(path)
except (ValueError, FileNotFoundError, OSError) as error:
    st.error(f"This checkpoint cannot be used: {error}")
    st.stop()

try:
    dataset = appstate.current_dataset()
except (ValueError, FileNotFoundError, OSError) as error:
    st.error(f"The dataset could not be loaded: {error}")
    st.stop()

model_key = hashlib.sha1(f"{path}:{dataset.fingerprint}".encode()).hexdigest()[:10]
trained_on = (getattr(model, "metadata", {}).get("dataset") or {}).get("source")
st.caption(f"{model.kind.upper()} on {appstate.backbone_title(model.backbone)} · {model.latent_dim} latent "
           f"dimensions · trained on {trained_on or 'unknown data'} · digits below from "
           f"{appstate.dataset_title(appstate.dataset_choice())}")


reference = appstate.reference_latents(model_key, model, dataset.X_test[:REFERENCE_DIGITS])
low, high = explore.slider_ranges(reference)
slider_keys = [f"z_{model_key}_{i}" for i in range(model.latent_dim)]


def move_sliders(z: np.ndarray) -> None:
    """Puts the latent sliders at z (latent_dim,)."""
    for key, value in zip(slider_keys, z):
        st.session_state[key] = round(float(value), 2)


def set_start(z: np.ndarray, description: str, grid=None) -> None:
    """Makes z this model's starting latent: sliders jump to it; dimensions re-ranked around it."""
    z = np.clip(np.asarray(z, dtype=np.float32), low, high)
    st.session_state[f"start_{model_key}"] = {"z": z, "what": description, "grid": grid}
    st.session_state[f"order_{model_key}"] = explore.rank_dimensions(model, z)
    move_sliders(z)


def test_digit(digit: int, number: int) -> tuple[np.ndarray, int]:
    """Returns the number-th test digit of a class and its index in the test split."""
    indices = appstate.class_indices(f"{dataset.fingerprint}-test", dataset.y_test)[digit]
    index = int(indices[min(number, len(indices) - 1)]) if len(indices) else 0
    return dataset.X_test[index], index


def sampling_controls(key: str) -> tuple[str, int | None, str]:
    """Shows where samples come from (prior, second stage or per-digit density) and which digit; returns (source, digit, words)."""
    sources = model.latent_sources()
    a, b = st.columns([3, 2])
    source = a.radio("Draw latents from", sources, format_func=LATENT_SOURCES.get, horizontal=True,
                     key=f"{key}_source_{model_key}",
                     help="A VAE or GAN is trained to decode its N(0, I) prior. A VAE's second stage (a small "
                          "VAE fitted to the codes of the training digits) and the per-digit Gaussians (fitted to "
                          "those codes too) land where the decoder was trained; the Gaussians can be asked for a "
                          "digit. An AE has no prior.")
    digit = None
    if source == "density":
        choice = b.selectbox("Digit", ["any", *range(10)], key=f"{key}_digit_{model_key}")
        digit = None if choice == "any" else int(choice)
    words = LATENT_SOURCES[source] + ("" if digit is None else f", digit {digit}")
    return source, digit, words


if f"start_{model_key}" not in st.session_state:
    grid, index = test_digit(0, 0)
    set_start(explore.encode(model, grid), f"test digit #{index} (a 0), encoded", grid)

# -- where to start ----------------------------------------------------------------------------
with st.expander("Start from…", expanded=False):
    source = st.radio("Start from", ["A dataset digit", "A random sample", "An uploaded image",
                                     "A copied latent"],
                      horizontal=True, label_visibility="collapsed", key="start_source")
    if source == "A dataset digit":
        a, b, c = st.columns([2, 2, 1])
        digit = a.selectbox("Digit", range(10), key="start_digit")
        number = b.number_input("Which one (test split)", 0, 10_000, 0, key="start_number")
        if c.button("Start here", key="start_dataset"):
            grid, index = test_digit(digit, number)
            set_start(explore.encode(model, grid), f"test digit #{index} (a {digit}), encoded", grid)
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
        image = st.file_uploader("Digit image", type=appstate.IMAGE_TYPES,
                                 key="start_upload")
        if image is not None and st.button("Start here", key="start_image"):
            try:
                grid = appstate.lift_upload(image.name, image.getvalue())
            except ValueError as error:
                st.error(str(error))
            else:
                set_start(explore.encode(model, grid), f"{image.name}, lifted and encoded", grid)

start = st.session_state[f"start_{model_key}"]
order = st.session_state[f"order_{model_key}"]


# -- sliders and the 3D view --------------------------------------------------------------------
def reset_sliders() -> None:
    move_sliders(start["z"])


@st.fragment
def latent_view():
    controls, view = st.columns([2, 3])
    with controls:
        st.markdown(f"**Start:** {start['what']}")
        st.caption("Most influential dimensions first (ranked by how much the decoded voxels change).")

        def slider(i: int, where) -> None:
            where.slider(f"z[{i}]", float(low[i]), float(high[i]), step=0.05, key=slider_keys[i])

        top, rest = order[:TOP_SLIDERS], order[TOP_SLIDERS:]
        columns = st.columns(2)
        for n, i in enumerate(top):
            slider(int(i), columns[n % 2])
        if len(rest):
            with st.expander(f"The other {len(rest)} dimensions"):
                columns = st.columns(2)
                for n, i in enumerate(rest):
                    slider(int(i), columns[n % 2])
        a, b = st.columns(2)
        a.button("Reset", on_click=reset_sliders, key="reset_latent", width="stretch")
        show_copy = b.toggle("Copy this latent", key="copy_latent")
    z = np.array([st.session_state[key] for key in slider_keys], dtype=np.float32)
    with view:
        threshold, surface = appstate.view_controls("explore")
        grid = explore.decode(model, z)
        st.plotly_chart(voxel_figure(grid, threshold, surface, height=460), key="latent_figure")
        if start["grid"] is not None:
            st.image(np.concatenate([projection_image(start["grid"], scale=5),
                                     np.full((80, 8, 3), 255, np.uint8),
                                     projection_image(grid, scale=5)], axis=1),
                     caption="front view: the start digit · the decoded latent")
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
    (grid_a, _), (grid_b, _) = test_digit(digit_a, int(example)), test_digit(digit_b, int(example))
    z_a, z_b = explore.encode(model, np.stack([grid_a, grid_b]))
    frames = explore.decode(model, explore.interpolate_latents(z_a, z_b, steps, mode))  # one batch
    st.image(projection_grid(frames, columns=steps, scale=4),
             caption=f"{mode} path from a {digit_a} to a {digit_b}, {steps} frames (front view)")
    labels = [f"{t:.2f}" for t in np.linspace(0, 1, steps)]
    st.plotly_chart(voxel_animation(frames, threshold=VIEW_THRESHOLD, labels=labels, height=420),
                    key="interp_animation")


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
    grids = explore.decode(model, explore.sample_latents(model, 16, int(seed), reference, source, digit))
    st.image(projection_grid(grids, columns=8, scale=5), caption=f"16 samples from {where}, seed {seed}")


samples_view()
