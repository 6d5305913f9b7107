"""Home: what genlab is, which dataset is loaded and which checkpoints are available."""

import pandas as pd
import streamlit as st

from genlab import appstate

appstate.require_frame()

st.title("genlab")
st.markdown(
    "An interactive lab for **generative models of 3D voxel digits**: autoencoders (AE), "
    "variational autoencoders (VAE) and GANs, each on four backbones (fully convolutional, "
    "CNN+MLP, LSTM, GRU), trained on **3D MNIST** (16×16×16 voxel digits) as in *A Comparison of "
    "Deep Learning Architectures for the 3D Generation Data* (Bonfim et al., 2022)."
)

cols = st.columns(4)
cols[0].page_link("pages/data.py", label="**Data** · browse digits in 3D", icon=":material/view_in_ar:")
cols[1].page_link("pages/train.py", label="**Train** · a model, live", icon=":material/model_training:")
cols[2].page_link("pages/explore.py", label="**Latent explorer** · sliders", icon=":material/tune:")
cols[3].page_link("pages/compare.py", label="**Compare** · models vs the paper", icon=":material/leaderboard:")

st.subheader("Dataset")
choice = appstate.dataset_choice()
try:
    dataset = appstate.load_dataset(choice)
except (ValueError, FileNotFoundError, OSError) as error:
    st.error(f"The dataset could not be loaded: {error}")
else:
    info = dataset.describe()
    st.markdown(f"**{appstate.dataset_title(choice)}** · {info['n_train']:,} training and "
                f"{info['n_test']:,} test digits · fingerprint `{info['fingerprint']}`")
    if choice["source"] == "synthetic":
        st.info("This is genlab's offline dataset: procedural handwriting-like digits, built in "
                "seconds with no download. Build one from MNIST or load a Kaggle file on the Data page.")

st.subheader("Checkpoints")
checkpoints = appstate.list_checkpoints()
if not checkpoints:
    st.info("No checkpoints yet: shipped weights are missing and nothing has been trained. "
            "Train one on the Train page.")
else:
    st.dataframe(pd.DataFrame(appstate.checkpoint_rows(checkpoints)), hide_index=True, width="stretch",
                 height=35 * (len(checkpoints) + 1) + 3,   # every row, no inner scrolling
                 column_config={
                     "validation loss": st.column_config.NumberColumn(
                         format="%.4f", help="The best validation value of the loss the trainer stops early "
                         "on: reconstruction BCE for an AE or a GAN (through its inverse and mapper), BCE + β·KL for a VAE. "
                         "Compare it within one kind only; test BCE compares all."),
                     "test BCE": st.column_config.NumberColumn(format="%.4f"),
                     "test MSE": st.column_config.NumberColumn(format="%.4f")})
    shipped = sum(c["origin"] == "shipped" for c in checkpoints)
    st.caption(f"{shipped} shipped, {len(checkpoints) - shipped} trained here "
               f"(saved in `{appstate.runs_dir()}`).")
