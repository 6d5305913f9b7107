"""MNIST's IDX file format (gzip-compressed or raw): read, write, find in a folder.

An IDX file is a 4-byte magic (0, 0, type code, number of dimensions), one big-endian
uint32 per dimension, then the values in row-major order (big-endian for multi-byte types).
"""

import math
import zlib
from pathlib import Path

import numpy as np

from genlab.data.errors import DataError

IDX_TYPES = {
    0x08: np.dtype(np.uint8),
    0x09: np.dtype(np.int8),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
MAX_BYTES = 1 << 30  # 1 GiB: far above MNIST's 47 MB, and a cap on hostile gzip "bombs"


def read_idx(path) -> np.ndarray:
    """Returns the array stored in an IDX file (`.gz` or raw), in native byte order.

    Raises DataError, naming the file, for anything that is not a complete IDX file.
    """
    path = Path(path)
    raw = path.read_bytes()
    if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
        inflate = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        try:
            data = inflate.decompress(raw, MAX_BYTES)
        except zlib.error as error:
            raise DataError(f"{path}: corrupt gzip data ({error})") from None
        if inflate.unconsumed_tail:
            raise DataError(f"{path}: decompresses to more than {MAX_BYTES} bytes; not an MNIST file")
        if not inflate.eof:
            raise DataError(f"{path}: truncated gzip data")
        raw = data
    if len(raw) < 4 or raw[:2] != b"\x00\x00" or raw[2] not in IDX_TYPES:
        raise DataError(f"{path}: not an IDX file (bad magic number {raw[:4].hex() or 'none'})")
    dtype, ndim = IDX_TYPES[raw[2]], raw[3]
    header = 4 + 4 * ndim
    if ndim == 0 or len(raw) < header:
        raise DataError(f"{path}: truncated IDX header ({ndim} dimensions)")
    shape = tuple(int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    expected = header + math.prod(shape) * dtype.itemsize
    if len(raw) != expected:
        raise DataError(f"{path}: IDX header says shape {shape} ({expected} bytes) "
                        f"but the file holds {len(raw)} bytes (truncated or corrupt)")
    return np.frombuffer(raw, dtype=dtype, offset=header).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array) -> None:
    """Writes an array as an IDX file, gzip-compressed when the name ends in `.gz`."""
    array = np.asarray(array)
    codes = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}
    code = codes.get(array.dtype.newbyteorder("="))
    if code is None:
        raise ValueError(f"IDX cannot store dtype {array.dtype}")
    big_endian = array.astype(IDX_TYPES[code], copy=False)
    data = bytes([0, 0, code, array.ndim])
    data += b"".join(int(n).to_bytes(4, "big") for n in array.shape) + big_endian.tobytes()
    path = Path(path)
    if path.suffix == ".gz":
        deflate = zlib.compressobj(wbits=16 + zlib.MAX_WBITS)
        data = deflate.compress(data) + deflate.flush()
    path.write_bytes(data)


def find_mnist_files(folder, split: str = "test") -> tuple[Path, Path]:
    """Returns the (images, labels) IDX files of one split in an MNIST folder.

    Looks for `*-images-idx3-ubyte[.gz]` with its matching `*-labels-idx1-ubyte[.gz]`. The
    training split is the file whose name starts with `train` (the official
    `train-images-idx3-ubyte.gz`); the test split any other, preferring the official test set
    (`t10k-*`), then the first by name.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"MNIST folder {folder} does not exist (set GENLAB_MNIST_DIR "
                                "or pass --mnist-dir)")
    images = sorted(folder.glob("*-images-idx3-ubyte.gz")) + sorted(folder.glob("*-images-idx3-ubyte"))
    images = [path for path in images if path.name.startswith("train") == (split == "train")]
    if not images:
        wanted = "train-images-idx3-ubyte[.gz]" if split == "train" else "t10k-images-idx3-ubyte[.gz]"
        raise FileNotFoundError(f"{folder}: no MNIST {split} images file ({wanted})")
    images.sort(key=lambda p: not p.name.startswith("t10k"))  # stable: t10k first
    image_file = images[0]
    label_file = image_file.with_name(image_file.name.replace("-images-idx3-", "-labels-idx1-"))
    if not label_file.exists():
        raise FileNotFoundError(f"{folder}: {image_file.name} has no labels file {label_file.name}")
    return image_file, label_file


def read_mnist(folder, split: str = "test") -> tuple[np.ndarray, np.ndarray]:
    """Returns uint8 images (N, 28, 28) and int64 labels (N,) of one split of an MNIST folder, checked."""
    image_file, label_file = find_mnist_files(folder, split)
    return check_digits(read_idx(image_file), read_idx(label_file), image_file, label_file)


def check_digits(images, labels, image_file, label_file) -> tuple[np.ndarray, np.ndarray]:
    """Returns (images, labels as int64) if they are MNIST digits; DataError naming the file otherwise."""
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28):
        raise DataError(f"{image_file}: expected uint8 digits (N, 28, 28), got {images.dtype} {images.shape}")
    if labels.ndim != 1 or len(labels) != len(images):
        raise DataError(f"{label_file}: expected {len(images)} labels, got shape {labels.shape}")
    if labels.min(initial=0) < 0 or labels.max(initial=0) > 9:
        raise DataError(f"{label_file}: labels must be digits 0..9, found {labels.min()}..{labels.max()}")
    return images, labels.astype(np.int64)
