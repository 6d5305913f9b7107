"""What a visitor can send the app: 16-bit images, files that fail, paths outside the data folder."""

import io

import numpy as np
import pytest
from PIL import Image
from test_app import SMALL_DATASET, assert_clean, open_data_tab, open_page

from genlab.app import files, state
from genlab.models import build_model, save_model


def sixteen_bit_digit() -> bytes:
    digit = np.zeros((120, 90), np.uint16)
    digit[10:110, 38:52] = 60_000  # a "1", 16-bit
    buffer = io.BytesIO()
    Image.fromarray(digit).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_data_page_lifts_and_shows_a_16_bit_image():
    at = open_page("pages/data.py")
    open_data_tab(at, "Lift a 2D image")
    assert at.file_uploader(key="lift_upload").proto.max_upload_size_mb == files.MAX_IMAGE_BYTES // 2**20
    at.file_uploader(key="lift_upload").set_value(("digit16.png", sixteen_bit_digit(), "image/png")).run()
    assert_clean(at)
    assert not at.error
    assert "digit16.png" in [image.proto.imgs[0].caption for image in at.get("image")]


@pytest.fixture
def data_folder(tmp_path, monkeypatch):
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("GENLAB_APP_DATA_DIR", str(folder))
    return folder


def test_paths_outside_the_data_folder_are_refused_in_the_same_words_whether_they_exist_or_not(
        data_folder, tmp_path):
    (tmp_path / "private.h5").write_bytes(b"server secrets")
    (data_folder / "link.h5").symlink_to(tmp_path / "private.h5")
    messages = []
    for typed in (tmp_path / "private.h5", tmp_path / "absent.h5", data_folder / ".." / "private.h5",
                  data_folder / "link.h5"):
        with pytest.raises(ValueError) as caught:
            state.load_dataset({"source": "kaggle", "params": {"path": str(typed)}})
        messages.append(str(caught.value).replace(str(typed), "PATH"))
    assert len(set(messages)) == 1 and "is outside the data folder this app reads" in messages[0]
    with pytest.raises(ValueError, match="outside the data folder"):
        state.load_dataset({"source": "mnist", "params": {"mnist_dir": "/etc"}})
    inside = data_folder / "vectors.h5"
    inside.write_bytes(b"not hdf5")
    with pytest.raises(ValueError, match="vectors.h5: not a readable HDF5 file"):
        state.load_dataset({"source": "kaggle", "params": {"path": str(inside)}})


def test_the_data_page_refuses_a_server_path_without_saying_whether_it_exists(data_folder, tmp_path):
    at = open_page("pages/data.py")
    open_data_tab(at, "Switch dataset")
    errors = []
    for typed in ("/etc/passwd", "/etc/no-such-file"):
        at.text_input(key="kaggle_path").set_value(typed).run()
        at.button(key="use_kaggle_path").click().run()
        assert_clean(at)
        errors.append(at.error[-1].value.replace(typed, "PATH"))
    assert errors[0] == errors[1] and "outside the data folder" in errors[0]
    assert at.session_state["dataset_choice"] == SMALL_DATASET


def test_a_rejected_upload_is_deleted_and_named_as_the_user_named_it():
    path = files.save_upload("my vectors.h5", b"\x89HDF garbage")
    with pytest.raises(ValueError) as caught:
        state.load_dataset({"source": "kaggle", "params": {"path": str(path)}, "name": "my vectors.h5"})
    assert str(caught.value).startswith("my_vectors.h5: not a readable HDF5 file")
    assert str(files.uploads_dir()) not in str(caught.value)
    assert not path.exists()


def test_a_rejected_checkpoint_upload_is_deleted_and_named_as_the_user_named_it(tmp_path):
    good = save_model(build_model("ae", "fcn", latent_dim=4), tmp_path / "good.safetensors")
    path = files.save_upload("mine.safetensors", good.read_bytes()[:-100])
    with pytest.raises(ValueError) as caught:
        state.load_model(path)
    assert "mine.safetensors is not a readable safetensors checkpoint" in str(caught.value)
    assert str(files.uploads_dir()) not in str(caught.value)
    assert not path.exists()
    kept = files.save_upload("good.safetensors", good.read_bytes())
    assert state.load_model(kept).kind == "ae" and kept.exists()
