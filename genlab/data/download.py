"""Download the MNIST IDX files from the standard public mirrors, checksums verified."""

import hashlib
import os
import urllib.error
import urllib.request
from pathlib import Path

from genlab.data.errors import DataError

MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    "http://yann.lecun.com/exdb/mnist/",
)
# md5 of the official files (as published with torchvision's MNIST).
MD5 = {
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}


def download_mnist(folder, names=tuple(MD5), mirrors=None, checksums=None, timeout=30) -> list[Path]:
    """Returns the paths of the MNIST files in folder, downloading the missing ones.

    Each file comes from the first mirror that serves it with the right md5; it is written
    to a temporary name and renamed only once verified. Raises DataError naming the file
    when every mirror failed or served data with the wrong checksum.
    """
    mirrors = MIRRORS if mirrors is None else mirrors
    checksums = MD5 if checksums is None else checksums
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for name in names:
        target = folder / name
        if not (target.exists() and _md5(target.read_bytes()) == checksums[name]):
            _fetch(name, target, mirrors, checksums[name], timeout)
        paths.append(target)
    return paths


def _fetch(name, target: Path, mirrors, md5, timeout) -> None:
    """Downloads one file to target from the first mirror that gives the expected md5."""
    problems = []
    for mirror in mirrors:
        url = mirror.rstrip("/") + "/" + name
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                data = response.read()
        except (urllib.error.URLError, OSError, ValueError) as error:
            problems.append(f"{url}: {getattr(error, 'reason', error)}")
            continue
        got = _md5(data)
        if got != md5:
            problems.append(f"{url}: checksum mismatch (md5 {got}, expected {md5})")
            continue
        temp = target.with_name(f".{target.name}.{os.getpid()}.part")
        try:
            temp.write_bytes(data)
            temp.replace(target)
        finally:
            temp.unlink(missing_ok=True)
        return
    raise DataError(f"{name}: could not download a verified copy: " + "; ".join(problems))


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()
