"""The offline synthetic digits: deterministic, balanced, and digit-like."""

import numpy as np

from genlab.data import load_dataset, read_mnist
from genlab.data.synthetic import synthetic_digits


def test_deterministic_by_seed_and_balanced():
    images, labels = synthetic_digits(50, seed=3)
    again, again_labels = synthetic_digits(50, seed=3)
    other, _ = synthetic_digits(50, seed=4)
    assert images.shape == (50, 28, 28) and images.dtype == np.uint8
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(labels, again_labels)
    assert not np.array_equal(images, other)
    assert np.bincount(labels, minlength=10).tolist() == [5] * 10


def test_digits_look_like_mnist_digits():
    images, _ = synthetic_digits(200, seed=0)
    ink = images.astype(float)
    border = ink.copy()
    border[:, 3:-3, 3:-3] = 0
    assert border.sum() < 0.01 * ink.sum()  # a margin, like MNIST
    grid = np.arange(28)
    centre_row = (ink.sum(axis=2) * grid).sum(axis=1) / ink.sum(axis=(1, 2))
    centre_col = (ink.sum(axis=1) * grid).sum(axis=1) / ink.sum(axis=(1, 2))
    assert np.abs(centre_row - 13.5).max() < 4 and np.abs(centre_col - 13.5).max() < 4
    assert images.max() > 200 and 0.08 < (images > 0).mean() < 0.35


def nearest_centroid_accuracy(train, train_labels, test, test_labels):
    flat = lambda x: x.reshape(len(x), -1) / 255.0  # noqa: E731
    centroids = np.stack([flat(train[train_labels == k]).mean(axis=0) for k in range(10)])
    distances = ((flat(test)[:, None, :] - centroids[None]) ** 2).sum(axis=-1)
    return (distances.argmin(axis=1) == test_labels).mean()


def test_classes_are_distinct_and_resemble_real_digits(shared_data):
    train, train_labels = synthetic_digits(1000, seed=0)
    test, test_labels = synthetic_digits(300, seed=1)
    assert nearest_centroid_accuracy(train, train_labels, test, test_labels) > 0.8
    real, real_labels = read_mnist(shared_data / "mnist")
    # Templates learnt from synthetic digits recognise real MNIST far above chance (0.1).
    assert nearest_centroid_accuracy(train, train_labels, real[:1000], real_labels[:1000]) > 0.3


def test_synthetic_dataset_is_the_default_source():
    data = load_dataset(n_train=30, n_test=10)
    assert data.source == "synthetic"
    assert data.X_train.shape == (30, 16, 16, 16) and data.X_test.shape == (10, 16, 16, 16)
    assert data.X_train.dtype == np.float32 and data.y_train.dtype == np.int64
    assert np.allclose(data.X_train.max(axis=(1, 2, 3)), 1.0)
    assert data.describe()["params"] == {"n_train": 30, "n_test": 10, "seed": 0}
    assert load_dataset(n_train=30, n_test=10).fingerprint == data.fingerprint
    assert load_dataset(n_train=30, n_test=10, seed=1).fingerprint != data.fingerprint
