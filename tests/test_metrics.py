import numpy as np
import pytest

from genlab.eval import metrics


def test_bce_matches_hand_computation():
    t = np.array([[1.0, 0.0, 0.5, 0.25]])
    p = np.array([[0.9, 0.2, 0.5, 0.0]])
    clamped = np.clip(p, metrics.EPS, 1 - metrics.EPS)
    expected = -(t * np.log(clamped) + (1 - t) * np.log(1 - clamped)).mean()
    assert metrics.bce(t, p)[0] == pytest.approx(expected)


def test_bce_is_finite_for_hard_wrong_predictions():
    t = np.ones((2, 8))
    assert np.isfinite(metrics.bce(t, np.zeros((2, 8)))).all()
    assert metrics.bce(t, np.zeros((2, 8)))[0] == pytest.approx(-np.log(metrics.EPS))


def test_bce_floor_is_the_minimum_over_predictions():
    rng = np.random.default_rng(0)
    t = rng.uniform(size=(3, 4, 4, 4))
    floor = metrics.bce_floor(t)
    for _ in range(5):
        other = rng.uniform(size=t.shape)
        assert (metrics.bce(t, other) > floor).all()
    assert (metrics.bce_floor(np.round(t)) < 1e-5).all()


def test_mse_and_iou_per_sample():
    a = np.zeros((2, 2, 2, 2))
    b = np.zeros((2, 2, 2, 2))
    a[0, 0, 0, :] = 1.0  # 2 voxels on
    b[0, 0, 0, 0] = 1.0  # 1 of them predicted
    np.testing.assert_allclose(metrics.mse(a, b), [1 / 8, 0.0])
    np.testing.assert_allclose(metrics.iou(a, b), [0.5, 1.0])  # empty vs empty counts as perfect


def test_mean_voxel_baseline_predicts_the_training_mean():
    train = np.stack([np.zeros((2, 2, 2)), np.ones((2, 2, 2))])
    test = np.ones((1, 2, 2, 2))
    result = metrics.mean_voxel_baseline(train, test)
    assert result["mse"] == pytest.approx(0.25)
    assert result["bce"] == pytest.approx(np.log(2))
