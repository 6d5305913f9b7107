"""MNIST download, against a local HTTP server only (never the internet)."""

import functools
import hashlib
import http.server
import threading

import numpy as np
import pytest

from genlab.data import DataError, read_mnist, write_idx
from genlab.data.download import MD5, download_mnist

NAMES = tuple(MD5)  # the official training and test files, images then labels


@pytest.fixture
def server(tmp_path):
    """Serves tmp_path/served on 127.0.0.1; yields (base URL, served folder)."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(QuietHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/", served
    httpd.shutdown()
    httpd.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def serve_small_mnist(folder):
    """Writes tiny MNIST training (labels 1, 2, 3) and test (labels 4, 5) files into folder; returns their md5s."""
    for split, labels in (("train", [1, 2, 3]), ("t10k", [4, 5])):
        images = np.zeros((len(labels), 28, 28), dtype=np.uint8)
        images[:, 10:18, 12:16] = 200
        write_idx(folder / f"{split}-images-idx3-ubyte.gz", images)
        write_idx(folder / f"{split}-labels-idx1-ubyte.gz", np.array(labels, dtype=np.uint8))
    return {name: hashlib.md5((folder / name).read_bytes()).hexdigest() for name in NAMES}


def test_downloads_and_verifies(server, tmp_path):
    url, served = server
    checksums = serve_small_mnist(served)
    target = tmp_path / "mnist"
    files = download_mnist(target, mirrors=[url], checksums=checksums, timeout=5)
    assert [f.name for f in files] == list(NAMES)
    images, labels = read_mnist(target, "train")
    assert images.shape == (3, 28, 28) and labels.tolist() == [1, 2, 3]
    assert read_mnist(target, "test")[1].tolist() == [4, 5]
    (served / NAMES[0]).unlink()  # already there and verified: not fetched again
    download_mnist(target, mirrors=[url], checksums=checksums, timeout=5)


def test_falls_back_to_the_next_mirror(server, tmp_path):
    url, served = server
    checksums = serve_small_mnist(served)
    download_mnist(tmp_path / "mnist", mirrors=[url + "missing/", url], checksums=checksums, timeout=5)
    assert (tmp_path / "mnist" / NAMES[1]).exists()


def test_checksum_mismatch_is_an_error_and_leaves_nothing(server, tmp_path):
    url, served = server
    checksums = serve_small_mnist(served)
    checksums[NAMES[0]] = "0" * 32
    target = tmp_path / "mnist"
    with pytest.raises(DataError, match=f"{NAMES[0]}.*checksum mismatch"):
        download_mnist(target, mirrors=[url], checksums=checksums, timeout=5)
    assert list(target.iterdir()) == []


def test_unreachable_mirrors_are_named(tmp_path):
    with pytest.raises(DataError, match="127.0.0.1:9"):
        download_mnist(tmp_path, mirrors=["http://127.0.0.1:9/"], timeout=2)


def test_mnist_source_downloads_when_asked(server, tmp_path, monkeypatch):
    from genlab.data import download, load_dataset

    url, served = server
    checksums = serve_small_mnist(served)
    monkeypatch.setattr(download, "MIRRORS", (url,))
    monkeypatch.setattr(download, "MD5", checksums)
    data = load_dataset("mnist", mnist_dir=tmp_path / "fresh", n_train=2, n_test=1,
                        rotated_copies=0, download=True)
    assert data.y_train.tolist() == [1, 2] and data.y_test.tolist() == [4]
