"""Hostile or unlucky input files: HDF5 that lies about its size or points elsewhere, 16-bit images, pickles."""

import io
import struct
import time

import h5py
import numpy as np
import pytest
import torch
from PIL import Image
from test_data_kaggle import make_vectors, small_vectors, write_point_clouds

from genlab.data import DataError, kaggle, load_dataset
from genlab.data.kaggle import read_vectors, write_vectors
from genlab.models import load_model, save_model


# -- HDF5 that claims more than it holds ------------------------------------------------------------
def huge_claim(path, rows=10**7):
    """Writes a small Kaggle-layout file whose X_train claims rows x 4096 float32 (chunked, compressed, empty)."""
    with h5py.File(path, "w") as file:
        file.create_dataset("X_train", shape=(rows, 4096), dtype="f4", chunks=(1, 4096), compression="gzip")
        file.create_dataset("y_train", shape=(rows,), dtype="i8", chunks=(4096,), compression="gzip")
        file["X_test"] = np.zeros((1, 4096), np.float32)
        file["y_test"] = np.zeros(1, np.int64)
    return path


def test_a_file_claiming_a_huge_shape_is_refused_before_reading(tmp_path):
    path = huge_claim(tmp_path / "liar.h5")
    assert path.stat().st_size < 1_000_000
    started = time.perf_counter()
    with pytest.raises(DataError, match=r"liar\.h5: 10,000,001 digits would take 152\.7 GiB.*GENLAB_MAX_DATA_BYTES"):
        load_dataset("kaggle", path=path)
    assert time.perf_counter() - started < 2


def test_the_size_budget_is_configurable(tmp_path, monkeypatch):
    path, X, _ = small_vectors(tmp_path)  # 8 digits: 131 KB as float32
    monkeypatch.setenv("GENLAB_MAX_DATA_BYTES", "100000")
    with pytest.raises(DataError, match="over the 0.0 GiB limit"):
        read_vectors(path)
    monkeypatch.setenv("GENLAB_MAX_DATA_BYTES", "200000")
    np.testing.assert_array_equal(read_vectors(path)[0], X[:6])
    with pytest.raises(DataError, match="over the"):
        read_vectors(path, max_bytes=1000)


def test_vectors_are_read_in_chunks_with_the_same_result(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(11, 16, 16, 16)).astype(np.float32)
    y = rng.integers(0, 10, 11)
    write_vectors(tmp_path / "v.h5", X[:7], y[:7], X[7:], y[7:])
    reads = []
    original = h5py.Dataset.__getitem__

    def counting(self, key):
        reads.append(key)
        return original(self, key)

    monkeypatch.setattr(kaggle, "CHUNK_ROWS", 3)
    monkeypatch.setattr(h5py.Dataset, "__getitem__", counting)
    X_train, y_train, X_test, y_test = read_vectors(tmp_path / "v.h5")
    np.testing.assert_array_equal(X_train, X[:7])
    np.testing.assert_array_equal(X_test, X[7:])
    assert y_train.tolist() == y[:7].tolist() and y_test.tolist() == y[7:].tolist()
    assert reads == [slice(0, 3), slice(3, 6), slice(6, 9)] * 2 + [slice(0, 3), slice(3, 6)] * 2  # 7 + 4 rows


def test_a_non_numeric_dataset_is_refused_before_reading(tmp_path):
    path = make_vectors(tmp_path / "strings.h5", X_train=np.array([[b"a"] * 4096] * 3))
    with pytest.raises(DataError, match=r"X_train must be numeric \(N, 4096\), got \|S1"):
        load_dataset("kaggle", path=path)


def test_a_point_cloud_sample_claiming_too_many_points_is_refused(tmp_path):
    path = tmp_path / "clouds.h5"
    write_point_clouds(path, [np.zeros((5, 3))], [1])
    with h5py.File(path, "a") as file:
        group = file.create_group("1")
        group.create_dataset("points", shape=(10**9, 3), dtype="f8", chunks=(1000, 3), compression="gzip")
        group.attrs["label"] = 2
    with pytest.raises(DataError, match="sample '1' claims 1,000,000,000 points"):
        load_dataset("kaggle", path=path)


# -- HDF5 that reads other files --------------------------------------------------------------------
SECRET = np.full((2, 4096), 0.5, np.float32)


def secret_file(tmp_path):
    """A file the server holds that a visitor must not read through an upload."""
    path = tmp_path / "secret.bin"
    path.write_bytes(SECRET.tobytes())
    return path


def test_external_storage_is_refused(tmp_path):
    secret = secret_file(tmp_path)
    path = tmp_path / "upload.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("X_train", shape=(2, 4096), dtype="f4", external=[(str(secret), 0, h5py.h5f.UNLIMITED)])
        file["y_train"] = np.zeros(2, np.int64)
        file["X_test"] = np.zeros((1, 4096), np.float32)
        file["y_test"] = np.zeros(1, np.int64)
    with h5py.File(path) as file:  # what the old reader returned: another file's bytes
        np.testing.assert_array_equal(file["X_train"][()], SECRET)
    with pytest.raises(DataError, match="X_train' keeps its data outside the file \\(external storage\\)"):
        load_dataset("kaggle", path=path)


def test_a_virtual_dataset_is_refused(tmp_path):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as file:
        file["data"] = SECRET
    layout = h5py.VirtualLayout(shape=(2, 4096), dtype="f4")
    layout[:] = h5py.VirtualSource(str(other), "data", shape=(2, 4096))
    path = tmp_path / "upload.h5"
    with h5py.File(path, "w") as file:
        file.create_virtual_dataset("X_train", layout)
        file["y_train"] = np.zeros(2, np.int64)
        file["X_test"] = np.zeros((1, 4096), np.float32)
        file["y_test"] = np.zeros(1, np.int64)
    with pytest.raises(DataError, match=r"X_train' keeps its data outside the file \(virtual dataset\)"):
        load_dataset("kaggle", path=path)


@pytest.mark.parametrize("link", ["external", "soft"])
def test_links_are_refused_without_following_them(tmp_path, link):
    other = tmp_path / "other.h5"
    with h5py.File(other, "w") as file:
        file["data"] = SECRET
    path = tmp_path / "upload.h5"
    with h5py.File(path, "w") as file:
        file["real"] = SECRET
        file["X_train"] = h5py.ExternalLink(str(other), "data") if link == "external" else h5py.SoftLink("/real")
        file["y_train"] = np.zeros(2, np.int64)
        file["X_test"] = np.zeros((1, 4096), np.float32)
        file["y_test"] = np.zeros(1, np.int64)
    with pytest.raises(DataError, match=r"upload\.h5: dataset 'X_train' is a link"):
        load_dataset("kaggle", path=path)


def test_a_point_cloud_linking_to_another_file_is_refused(tmp_path):
    other = tmp_path / "other.h5"
    write_point_clouds(other, [np.ones((4, 3))], [3])
    path = tmp_path / "clouds.h5"
    write_point_clouds(path, [np.zeros((5, 3)) + np.arange(3)] * 2, [1, 2])
    with h5py.File(path, "a") as file:
        file["1"]["points"].attrs["x"] = 1
        del file["1"]["points"]
        file["1"]["points"] = h5py.ExternalLink(str(other), "0/points")
    with pytest.raises(DataError, match="sample '1' points is a link"):
        load_dataset("kaggle", path=path)


# -- images in any mode -----------------------------------------------------------------------------
def clock_picture(size=160) -> np.ndarray:
    """Returns a uint8 (size, size) clock: white face, black rim and hands, grey background."""
    from PIL import ImageDraw

    image = Image.new("L", (size, size), 90)
    draw = ImageDraw.Draw(image)
    draw.ellipse((10, 10, size - 10, size - 10), fill=250, outline=0, width=5)
    draw.line((size // 2, size // 2, size // 2, 30), fill=0, width=4)
    draw.line((size // 2, size // 2, size - 45, size // 2 + 10), fill=0, width=6)
    return np.asarray(image)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def sixteen_bit(picture: np.ndarray, scale: int = 257) -> bytes:
    """Returns a 16-bit grayscale PNG of an 8-bit picture (scale 257: full 16-bit range; 16: 12-bit data)."""
    image = Image.fromarray(picture.astype(np.uint16) * scale)
    assert image.mode == "I;16"
    return png(image)


@pytest.mark.parametrize("scale", [257, 16])
def test_a_16_bit_clock_photo_reads_like_its_8_bit_original(scale):
    from genlab.clock import preprocess

    picture = clock_picture()
    gray = np.asarray(preprocess.open_image(sixteen_bit(picture, scale)).convert("L"), np.int16)
    stretched = (picture.astype(np.float64) - picture.min()) * 255 / (picture.max() - picture.min())
    assert np.abs(gray - np.round(stretched)).max() <= 1  # not "blank": every pixel keeps its shade
    face = preprocess.preprocess_upload(sixteen_bit(picture, scale))
    assert face.image.std() > 40


def test_a_16_bit_digit_lifts_like_its_8_bit_original():
    from genlab.data import lift_image

    digit = np.zeros((64, 64), np.uint8)
    digit[10:54, 28:36] = 255  # a "1"
    eight = lift_image(png(Image.fromarray(digit)))
    np.testing.assert_array_equal(lift_image(sixteen_bit(digit)), eight)
    np.testing.assert_array_equal(lift_image(Image.open(io.BytesIO(sixteen_bit(digit, 16)))), eight)


def as_mode(picture: np.ndarray, mode: str) -> Image.Image:
    gray = Image.fromarray(picture)
    if mode == "I;16":
        return Image.fromarray(picture.astype(np.uint16) * 257)
    if mode == "I":
        return Image.fromarray(picture.astype(np.int32) * 1000 - 70_000, "I")
    if mode == "F":
        values = picture.astype(np.float32) / 255
        values[0, 0] = np.nan
        return Image.fromarray(values, "F")
    if mode == "LA":
        return Image.merge("LA", (gray, Image.new("L", gray.size, 255)))
    return gray.convert("RGB").convert(mode)


@pytest.mark.parametrize("mode", ["I;16", "I", "F", "P", "LA", "CMYK", "1", "RGBA", "YCbCr", "RGB", "L"])
def test_every_pillow_mode_becomes_8_bit_with_its_contrast(mode):
    from genlab.images import read_image

    picture = clock_picture()
    image = read_image(as_mode(picture, mode), "clock.png")
    assert image.mode in ("L", "RGB") and image.size == (160, 160)
    gray = np.asarray(image.convert("L"), np.float64)
    similar = 0.7 if mode == "1" else 0.95  # "1" dithers the grey background
    assert np.corrcoef(gray[1:].ravel(), picture[1:].ravel())[0, 1] > similar, mode
    assert gray.max() - gray.min() > 200, mode


def correlation_with_shrunk(photo, picture: np.ndarray) -> float:
    """Returns how closely an opened photo's grayscale follows the picture shrunk to its size (a box filter)."""
    expected = np.asarray(Image.fromarray(picture).resize(photo.image.size, Image.BOX), np.float64)
    return np.corrcoef(photo.gray.ravel(), expected.ravel())[0, 1]


@pytest.mark.parametrize("mode", ["I;16", "P", "1", "PA", "LA", "CMYK", "RGBA", "RGB"])
def test_a_clock_photo_bigger_than_the_working_size_opens_in_every_mode(mode):
    """The clock reader shrinks a big photo with Image.reduce, which refuses palette, 1-bit and 16-bit images: a
    palette PNG (as image editors and optimisers save) was refused with "image has wrong mode"."""
    from genlab.clock import preprocess

    picture = clock_picture(1200)
    photo = preprocess.open_photo(as_mode(picture, mode))
    assert photo.image.mode == "RGB" and photo.size == (1200, 1200) and max(photo.image.size) <= preprocess.WORK_SIDE
    similar = 0.7 if mode == "1" else 0.95  # "1" dithers the grey background
    assert correlation_with_shrunk(photo, picture) > similar


def test_a_big_palette_photo_is_turned_upright_by_its_exif_orientation():
    from genlab.clock import preprocess

    picture = clock_picture(1200)[:, :900]  # taller than wide
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was turned: show the picture turned a quarter turn clockwise
    buffer = io.BytesIO()
    Image.fromarray(picture).convert("P").save(buffer, format="PNG", exif=exif)
    photo = preprocess.open_photo(buffer.getvalue())
    assert photo.size == (1200, 900) and photo.image.width > photo.image.height


def test_a_phone_jpeg_over_the_pixel_limit_is_decoded_at_a_scale_under_it(monkeypatch):
    """A 48- or 50-MP phone photo is over MAX_PIXELS, but a JPEG decodes at 1/2 to 1/8 scale: the clock reader reads
    it shrunk to its working size, and the digit lift at the largest scale under MAX_PIXELS (it used to be refused
    there). The same pixels as a PNG, or a JPEG over MAX_JPEG_PIXELS, are refused as a decompression bomb."""
    from genlab import images
    from genlab.app import files
    from genlab.clock import preprocess

    monkeypatch.setattr(images, "MAX_PIXELS", 2_000_000)  # a 3200x2400 photo then stands for a 48-MP one
    picture = clock_picture(3200)[:2400]
    buffer = io.BytesIO()
    Image.fromarray(picture).save(buffer, format="JPEG", quality=90)
    photo = preprocess.open_photo(buffer.getvalue())
    assert photo.size == (3200, 2400) and max(photo.image.size) <= preprocess.WORK_SIDE
    assert correlation_with_shrunk(photo, picture) > 0.95
    whole = images.read_image(buffer.getvalue(), "phone.jpg")
    assert whole.size == (1600, 1200)  # half scale: 1.92 million pixels; whole would be 7.68 million
    expected = np.asarray(Image.fromarray(picture).resize(whole.size, Image.BOX), np.float64)
    assert np.corrcoef(np.asarray(whole, np.float64).ravel(), expected.ravel())[0, 1] > 0.95
    assert files.lift_upload("phone.jpg", buffer.getvalue()).shape == (16, 16, 16)
    with pytest.raises(ValueError, match="too large to open safely"):
        preprocess.open_photo(png(Image.fromarray(picture)))
    monkeypatch.setattr(images, "MAX_JPEG_PIXELS", 5_000_000)
    with pytest.raises(ValueError, match="too large to open safely"):
        preprocess.open_photo(buffer.getvalue())
    with pytest.raises(ValueError, match="too large to open safely"):
        images.read_image(buffer.getvalue(), "phone.jpg")


def test_the_data_pages_preview_of_a_16_bit_upload_can_be_shown():
    """st.image encodes what it is given as PNG or JPEG; a 16-bit image cannot be written as JPEG."""
    from genlab.app import files

    preview = files.read_image_upload("digit16.png", sixteen_bit(clock_picture()))
    preview.save(io.BytesIO(), format="JPEG")
    assert preview.mode == "L"


def test_image_errors_name_the_file():
    from genlab.images import read_image

    with pytest.raises(ValueError, match="holiday.png is not an image genlab can read"):
        read_image(b"plain text", "holiday.png")
    with pytest.raises(ValueError, match="cut.png is a corrupt or truncated image"):
        read_image(png(Image.fromarray(clock_picture()))[:80], "cut.png")


def test_an_iphone_heic_photo_is_named_as_one_with_what_to_do(tmp_path):
    """Pillow cannot read HEIC; an iPhone user is told what the file is and to send it as JPEG, not "not an image"."""
    from genlab.images import read_image

    heic = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(200)  # the start of an iPhone photo
    path = tmp_path / "IMG_0042.HEIC"
    path.write_bytes(heic)
    for source in (heic, path):
        with pytest.raises(ValueError, match=r"IMG_0042.HEIC is a HEIC/HEIF photo .* export it as JPEG"):
            read_image(source, "IMG_0042.HEIC" if isinstance(source, bytes) else None)
    not_heic = b"\x00\x00\x00\x18ftypisom" + bytes(200)  # an MP4 video
    with pytest.raises(ValueError, match="clip.mp4 is not an image genlab can read"):
        read_image(not_heic, "clip.mp4")


# -- checkpoints that are not what they claim ---------------------------------------------------------
class Payload:
    """Unpickling this runs code: it writes a marker file."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.mark.parametrize("suffix", [".pt", ".ckpt", ".safetensors"])
def test_a_pickled_checkpoint_is_never_executed(tmp_path, suffix):
    marker = tmp_path / "pwned"
    path = tmp_path / f"model{suffix}"
    torch.save({"state_dict": Payload(marker)}, path)
    with pytest.raises(ValueError, match=rf"model\{suffix} is not a readable safetensors checkpoint"):
        load_model(path)
    assert not marker.exists()


def test_nan_or_infinite_weights_are_refused_by_name(tmp_path, damage_checkpoint):
    from test_models import tiny

    path = save_model(tiny("ae", "fcn"), tmp_path / "ae.safetensors")
    name = next(k for k, v in tiny("ae", "fcn").state_dict().items() if v.is_floating_point())
    damage_checkpoint(path, lambda tensors: tensors[name].view(-1).__setitem__(0, float("inf")))
    with pytest.raises(ValueError, match=rf"ae\.safetensors: weights contain NaN or infinite values in {name}"):
        load_model(path)


def test_a_huge_safetensors_header_is_refused_fast(tmp_path):
    path = tmp_path / "bomb.safetensors"
    path.write_bytes(struct.pack("<Q", 2**40) + b'{"a": ' + b" " * 1000)
    started = time.perf_counter()
    with pytest.raises(ValueError, match="bomb.safetensors"):
        load_model(path)
    assert time.perf_counter() - started < 1
