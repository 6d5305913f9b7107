"""Home: what genlab is, which dataset is loaded and which checkpoints are available."""

import json

import streamlit as st

from genlab.app import catalogue, files, frame, state, warmup

frame.require_frame()

st.title("genlab")
st.markdown(
    "An interactive lab for **generative models of 3D voxel digits**: autoencoders (AE), "
    "variational autoencoders (VAE) and GANs, each on four backbones (fully convolutional, "
    "CNN+MLP, LSTM, GRU), trained on **3D MNIST** (16×16×16 voxel digits) as in *A Comparison of "
    "Deep Learning Architectures for the 3D Generation Data* (Bonfim et al., 2022). "
    "Under *Tools*, the **Clock reader** tells the time from a photo of an analogue clock."
)

LINKS = [("pages/data.py", "Data", ":material/view_in_ar:", "digits in 3D"),
         ("pages/train.py", "Train", ":material/model_training:", "a model, live"),
         ("pages/explore.py", "Latent explorer", ":material/tune:", "sliders over a latent code"),
         ("pages/compare.py", "Compare", ":material/leaderboard:", "the twelve vs the paper"),
         ("pages/clock.py", "Clock reader", ":material/schedule:", "the time from a photo")]
columns = st.columns(3) + st.columns(3)   # two rows: wide enough for every name at 1,000 px
for column, (page, title, icon, what) in zip(columns, LINKS):
    column.page_link(page, label=f"**{title}**", icon=icon, help=what)

st.subheader("Dataset")
choice = state.dataset_choice()
st.markdown(f"**{catalogue.dataset_title(choice)}**")
try:
    preview = state.digit_preview(json.dumps(choice, sort_keys=True))
except (ValueError, FileNotFoundError, OSError) as error:
    preview = None
    st.error(f"The dataset's digits could not be read: {error}")
if preview is not None:
    st.image(preview, caption="Real MNIST digits 0–9 of the test split, voxelized to 16×16×16 (seen from the front)")

status = st.container()   # filled last: the page is drawn before the dataset load starts

st.subheader("Checkpoints")
checkpoints = catalogue.list_checkpoints()
if not checkpoints:
    st.info("No checkpoints yet: shipped weights are missing and nothing has been trained. "
            "Train one on the Train page.")
else:
    # An HTML table, not st.dataframe: that would import pandas before Home's first element.
    st.markdown(catalogue.html_table(catalogue.checkpoint_rows(checkpoints), catalogue.COLUMN_HELP),
                unsafe_allow_html=True)
    shipped = sum(c["origin"] == "shipped" for c in checkpoints)
    st.caption(f"{shipped} shipped, {len(checkpoints) - shipped} trained here (saved in "
               f"`{files.runs_dir()}`). {catalogue.earlier_split_note(checkpoints)}")


def dataset_status() -> None:
    """Says what the dataset holds once loaded, or why it could not be."""
    if build.error is not None:
        st.error(f"The dataset could not be loaded: {build.error}")
    else:
        info = build.dataset.describe()
        st.markdown(f"{info['n_train']:,} training and {info['n_test']:,} test digits · fingerprint "
                    f"`{info['fingerprint']}`")


@st.fragment(run_every=1.0)
def build_progress() -> None:
    """Shows how far the one-time build is; redraws the page once it is done."""
    if build.finished:
        st.rerun()
    elif build.building:
        st.progress(build.fraction, text=build.describe())
    else:
        st.caption("Loading the 3D grids from the disk cache…")


# Loads it in the background for the other pages, once the browser has had time to draw this one.
build = state.dataset_build(choice, delay=warmup.AFTER_FIRST_PAGE)
with status:
    if build.finished:
        dataset_status()
    else:
        build_progress()
