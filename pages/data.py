"""Data: browse 3D MNIST digits by class, switch datasets, preview noise and rotation, lift a 2D image."""

import numpy as np
import streamlit as st

from genlab import paths
from genlab.app import catalogue, files, frame, state
from genlab.data import rotate
from genlab.viz import mesh_file, projection_grid, voxel_figure

frame.require_frame()

st.title("Data")
choice = state.dataset_choice()
try:
    dataset = state.load_dataset(choice)
except (ValueError, FileNotFoundError, OSError) as error:
    st.error(f"The dataset could not be loaded: {error}")
    st.session_state.pop("dataset_choice", None)   # fall back to the default next time
    st.stop()

info = dataset.describe()
st.caption(f"Loaded: **{catalogue.dataset_title(choice)}** · {info['n_train']:,} train / "
           f"{info['n_test']:,} test digits · fingerprint `{info['fingerprint']}`")

# Keyed tabs with on_change="rerun" run only the open tab's code (tab.open): a slider press never
# redraws the other tabs' figures.
browse, corrupt, lift, switch = st.tabs(["Browse", "Noise & rotation", "Lift a 2D image", "Switch dataset"],
                                        key="data_tab", on_change="rerun")


@st.cache_data(show_spinner=False, max_entries=64)
def class_gallery(key: str, _grids: np.ndarray) -> np.ndarray:
    """Returns the front-view gallery image of up to 24 grids (cached per dataset, split and digit: key)."""
    return projection_grid(_grids[:24], columns=6, scale=5)


def pick_digit() -> tuple[np.ndarray, str, np.ndarray, str]:
    """Draws the split / digit / index widgets that Browse and Noise & rotation share (one choice for
    both tabs); returns the chosen grid (16, 16, 16), its caption, all the grids of that class in
    that split (N, 16, 16, 16) and a cache key naming them."""
    digit = st.segmented_control("Digit", list(range(10)), default=0, key="data_digit") or 0
    left, right = st.columns([1, 3])
    split = left.radio("Split", ["train", "test"], key="data_split", horizontal=True)
    X, y = (dataset.X_train, dataset.y_train) if split == "train" else (dataset.X_test, dataset.y_test)
    indices = state.class_indices(f"{info['fingerprint']}-{split}", y)[digit]
    if len(indices) == 0:
        st.warning(f"The {split} split has no digit {digit}.")
        st.stop()
    # One slider per split and class, so each remembers its place and never exceeds its class.
    number = right.slider(f"Which {digit} ({len(indices):,} in {split})", 0, len(indices) - 1, 0,
                          key=f"data_index_{split}_{digit}")
    key = f"{info['fingerprint']}-{split}-{digit}"
    return X[indices[number]], f"{split} #{indices[number]} (digit {digit})", X[indices], key


if browse.open:
    with browse:
        @st.fragment
        def browse_view():
            grid, caption, same_class, key = pick_digit()
            threshold, surface = state.view_controls("browse")
            view, gallery = st.columns([3, 2])
            view.plotly_chart(voxel_figure(grid, threshold, surface, title=caption), key="browse_figure")
            view.download_button("Download STL (3D print)", lambda: mesh_file(grid, threshold, "stl"),
                                 file_name=f"3dmnist-{caption.split(' (')[0].replace(' #', '-')}.stl",
                                 mime="model/stl", key="browse_stl", on_click="ignore",
                                 disabled=not (grid >= threshold).any())
            gallery.image(class_gallery(key, same_class),
                          caption=f"The first {min(24, len(same_class))} of this class (front view)")

        browse_view()

if corrupt.open:
    with corrupt:
        @st.fragment
        def corruption_view():
            from genlab.data import NOISE_VARIANCE, add_gaussian_noise

            grid, _, _, _ = pick_digit()
            left, middle, right = st.columns(3)
            variance = left.slider("Noise variance", 0.0, 0.3, NOISE_VARIANCE, 0.01, key="noise_variance",
                                   help=f"genlab's noisy-data experiments use {NOISE_VARIANCE}")
            degrees = middle.slider("Random rotation up to (degrees)", 0, 180, 30, 5, key="rotate_deg")
            seed = right.number_input("Seed", 0, 10_000, 0, key="corrupt_seed")
            threshold, surface = state.view_controls("corrupt")
            noisy = add_gaussian_noise(grid[None], variance=variance, seed=int(seed))[0]
            rotated = rotate.rotate_grid(grid, degrees, seed=int(seed))
            a, b, c = st.columns(3)
            a.plotly_chart(voxel_figure(grid, threshold, surface, height=340, title="original"), key="c_orig")
            b.plotly_chart(voxel_figure(noisy, threshold, surface, height=340,
                                        title=f"Gaussian noise, variance {variance:.2f}"), key="c_noisy")
            c.plotly_chart(voxel_figure(rotated, threshold, surface, height=340,
                                        title=f"rotated up to ±{degrees}°"), key="c_rot")

        corruption_view()

if lift.open:
    with lift:
        st.markdown("Upload a photo or drawing of a single digit (PNG, JPEG, …), with some paper around it: "
                    "genlab lifts it to 3D with the same procedure that built 3D MNIST.")
        upload = st.file_uploader("Digit image", type=files.IMAGE_TYPES, key="lift_upload",
                                  max_upload_size=files.MAX_IMAGE_BYTES // 2**20)
        if upload is not None:
            try:
                grid = files.lift_upload(upload.name, upload.getvalue())
            except ValueError as error:
                st.error(str(error))
            else:
                threshold, surface = state.view_controls("lift")
                left, right = st.columns([1, 2])
                # The decoded 8-bit picture, not the file: st.image cannot show every mode (16-bit, CMYK...).
                left.image(files.read_image_upload(upload.name, upload.getvalue()), caption=upload.name,
                           width=220)
                right.plotly_chart(voxel_figure(grid, threshold, surface, title="lifted to 3D"),
                                   key="lift_figure")


def switch_to(new_choice: dict) -> None:
    """Loads a dataset (with the build's progress bar the first time) and makes it this session's."""
    try:
        state.load_dataset(new_choice)
    except (ValueError, FileNotFoundError, OSError) as error:
        st.error(f"Could not load that dataset: {error}")
        return
    st.session_state.dataset_choice = new_choice
    st.rerun()


if switch.open:
    with switch:
        st.markdown("Every page uses the dataset chosen here (per browser session). Built datasets "
                    "are cached on disk, so switching back is instant.")
        embedded, synthetic, mnist, kaggle = st.tabs(["Real MNIST (built in)", "Procedural digits",
                                                      "MNIST folder", "Kaggle .h5 file"])
        with embedded:
            st.write("22,000 MNIST training digits shipped with genlab (CC BY-SA 3.0), voxelized to 3D: "
                     "21,000 to train on (also once more, randomly rotated) and 1,000 held out to test.")
            if st.button("Use the built-in MNIST digits", key="use_embedded"):
                switch_to({"source": "mnist", "params": {}})
        with synthetic:
            st.write("Procedural handwriting-like digits: no download, built in seconds.")
            if st.button("Use procedural digits", key="use_synthetic"):
                switch_to({"source": "synthetic", "params": {}})
        with mnist:
            folder = st.text_input("Folder of MNIST IDX files (train-* and t10k-*)",
                                   str(paths.mnist_dir() or ""), key="mnist_folder")
            if st.button("Build from MNIST", key="use_mnist"):
                try:
                    files.check_data_path(folder)  # before looking inside: say nothing of other folders
                except ValueError as error:
                    st.error(f"Could not load that dataset: {error}")
                else:
                    if not catalogue.mnist_available(folder):
                        st.error(f"No MNIST IDX files of both splits (train-images-idx3-ubyte and "
                                 f"t10k-images-idx3-ubyte, .gz or not) in {folder or 'that folder'}")
                    else:
                        switch_to({"source": "mnist", "params": {"mnist_dir": folder}})
        with kaggle:
            st.write("Upload `full_dataset_vectors.h5` (or a `*_point_clouds.h5` file) from the "
                     "Kaggle 3D MNIST dataset.")
            h5 = st.file_uploader("Kaggle file", type=["h5", "hdf5"], key="kaggle_upload")
            if h5 is not None and st.button("Use this file", key="use_kaggle"):
                path = files.save_upload(h5.name, h5.getvalue())
                switch_to({"source": "kaggle", "params": {"path": str(path)}, "name": h5.name})
            on_disk = st.text_input("…or its path on this machine", key="kaggle_path",
                                    placeholder="/data/3dmnist/full_dataset_vectors.h5")
            if on_disk and st.button("Use this path", key="use_kaggle_path"):
                switch_to({"source": "kaggle", "params": {"path": on_disk}, "name": on_disk})
