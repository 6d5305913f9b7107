"""Fréchet distance, PRDC, bootstrap intervals, label distributions and path quality,
checked against cases that can be worked out by hand."""

import numpy as np
import pytest

from genlab.eval import frechet, latent, prdc, stats


def test_frechet_of_identical_sets_is_zero():
    features = np.random.default_rng(0).normal(size=(500, 8))
    assert frechet.frechet_distance(features, features) == pytest.approx(0.0, abs=1e-9)


def test_frechet_of_shifted_gaussians_is_the_squared_shift():
    mu = np.array([1.0, -2.0, 0.5])
    assert frechet.frechet_distance_from_stats(np.zeros(3), np.eye(3), mu, np.eye(3)) == pytest.approx(5.25)


def test_frechet_of_diagonal_gaussians_compares_standard_deviations():
    # FD of N(0, diag(a)) and N(0, diag(b)) is sum (sqrt(a) - sqrt(b))^2.
    a, b = np.array([4.0, 1.0]), np.array([1.0, 9.0])
    expected = ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()  # 1 + 4
    assert (frechet.frechet_distance_from_stats(np.zeros(2), np.diag(a), np.zeros(2), np.diag(b))
            == pytest.approx(expected))


def test_frechet_of_non_commuting_covariances_matches_closed_form():
    # For 2x2 PSD M: sqrtm(M) = (M + s I) / t with s = sqrt(det M), t = sqrt(tr M + 2 s).
    def sqrtm2(m):
        s = np.sqrt(np.linalg.det(m))
        return (m + s * np.eye(2)) / np.sqrt(np.trace(m) + 2 * s)

    c1 = np.array([[2.0, 0.5], [0.5, 1.0]])
    c2 = np.array([[1.0, -0.3], [-0.3, 3.0]])
    r1 = sqrtm2(c1)
    expected = 1.0 + np.trace(c1) + np.trace(c2) - 2 * np.trace(sqrtm2(r1 @ c2 @ r1))
    got = frechet.frechet_distance_from_stats([0, 0], c1, [1, 0], c2)
    assert got == pytest.approx(expected, rel=1e-10)
    assert got == pytest.approx(frechet.frechet_distance_from_stats([1, 0], c2, [0, 0], c1), rel=1e-10)


def test_frechet_from_samples_approaches_the_population_value():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(20000, 4))
    b = rng.normal(size=(20000, 4)) * 2 + 1  # N(1, 4 I): FD = 4 * 1 + 4 * (2 - 1)^2 = 8
    assert frechet.frechet_distance(a, b) == pytest.approx(8.0, rel=0.05)


def test_frechet_survives_singular_covariances():
    rng = np.random.default_rng(2)
    flat = np.c_[rng.normal(size=(100, 2)), np.zeros((100, 3))]  # rank 2 in 5-D
    assert np.isfinite(frechet.frechet_distance(flat, flat + 1.0))
    assert frechet.frechet_distance(flat, flat + 1.0) == pytest.approx(5.0, abs=1e-6)


def test_frechet_rejects_mismatched_features():
    with pytest.raises(ValueError, match="shapes"):
        frechet.frechet_distance(np.zeros((5, 3)), np.zeros((5, 4)))
    with pytest.raises(ValueError, match="N >= 2"):
        frechet.frechet_distance(np.zeros((1, 3)), np.zeros((5, 3)))


def test_pairwise_distances_match_the_definition():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(7, 3)), rng.normal(size=(5, 3))
    expected = np.sqrt(((a[:, None] - b[None]) ** 2).sum(-1))
    np.testing.assert_allclose(prdc.pairwise_distances(a, b), expected, atol=1e-12)


def test_kth_neighbour_radii_skip_the_point_itself():
    points = np.array([[0.0], [1.0], [3.0], [7.0]])
    np.testing.assert_allclose(prdc.kth_neighbour_radii(points, 1), [1, 1, 2, 4])
    np.testing.assert_allclose(prdc.kth_neighbour_radii(points, 2), [3, 2, 3, 6])
    with pytest.raises(ValueError, match="k must be"):
        prdc.kth_neighbour_radii(points, 4)


def test_prdc_of_identical_sets_is_perfect():
    features = np.random.default_rng(4).normal(size=(200, 5))
    result = prdc.prdc(features, features, k=5)
    assert result["precision"] == result["recall"] == result["coverage"] == 1.0
    assert result["density"] > 0.5


def test_prdc_of_distant_sets_is_zero():
    rng = np.random.default_rng(5)
    real, fake = rng.normal(size=(100, 3)), rng.normal(size=(80, 3)) + 100
    assert prdc.prdc(real, fake, k=3) == {"precision": 0.0, "recall": 0.0, "density": 0.0, "coverage": 0.0}


def test_prdc_by_hand_in_one_dimension():
    real = np.array([[0.0], [1.0], [3.0], [7.0]])  # k = 1 radii: 1, 1, 2, 4
    fake = np.array([[0.5], [2.5], [20.0]])  # fake k = 1 radii: 2, 2, 17.5
    # Fake 0.5 lies in the balls of reals 0 and 1; 2.5 in the ball of 3; 20 in none.
    # Real 0: d=0.5 < 2 yes; 1: yes; 3: d=0.5 < 2 yes; 7: d=4.5 < 17.5 (fake 20) yes.
    result = prdc.prdc(real, fake, k=1)
    assert result == {"precision": pytest.approx(2 / 3), "recall": 1.0, "density": pytest.approx(1.0), "coverage": 0.75}


def test_prdc_a_collapsed_generator_has_precision_but_no_recall():
    rng = np.random.default_rng(6)
    real = rng.normal(size=(300, 2))
    collapsed = rng.normal(size=(300, 2)) * 0.01  # every fake near the real mode
    result = prdc.prdc(real, collapsed, k=5)
    assert result["precision"] == 1.0
    assert result["recall"] < 0.05 and result["coverage"] < 0.1


def test_bootstrap_mean_ci_brackets_the_mean_and_is_reproducible():
    values = np.random.default_rng(7).normal(loc=3.0, size=400)
    low, high = stats.bootstrap_mean_ci(values, seed=0)
    assert low < values.mean() < high
    assert high - low == pytest.approx(2 * 1.96 / np.sqrt(400), rel=0.2)
    assert stats.bootstrap_mean_ci(values, seed=0) == (low, high)
    assert stats.bootstrap_mean_ci(np.full(10, 2.0)) == (2.0, 2.0)


def test_bootstrap_ci_of_a_set_statistic():
    rng = np.random.default_rng(8)
    a, b = rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) + [2.0, 0.0]
    low, high = stats.bootstrap_ci(frechet.frechet_distance, [a, b], n_boot=100, seed=0)
    assert low < frechet.frechet_distance(a, b) < high
    assert 3.0 < low and high < 5.5  # population value 4
    assert stats.bootstrap_ci(frechet.frechet_distance, [a, b], n_boot=100, seed=0) == (low, high)


def test_label_distribution_of_a_one_digit_generator():
    result = stats.label_distribution(np.ones(50, dtype=int))
    assert result["top_label"] == 1 and result["top_share"] == 1.0
    assert result["entropy_bits"] == 0.0
    assert result["shares"] == [0.0, 1.0] + [0.0] * 8


def test_label_distribution_of_a_uniform_generator():
    result = stats.label_distribution(np.arange(100) % 10)
    assert result["entropy_bits"] == pytest.approx(np.log2(10))
    assert result["shares"] == [0.1] * 10
    with pytest.raises(ValueError, match="labels must lie"):
        stats.label_distribution(np.array([3, 10]))


def test_path_quality_counts_unsure_and_foreign_points():
    def onehot(label, p=1.0):
        row = np.full(10, (1 - p) / 9)
        row[label] = p
        return row

    clean = [onehot(2), onehot(2), onehot(7), onehot(7)]  # a -> b through a and b only
    unsure = [onehot(2), onehot(2, p=0.3), onehot(7), onehot(7)]  # one unsure inner point
    foreign = [onehot(2), onehot(5), onehot(5), onehot(7)]  # passes through a 5
    result = latent.path_quality(np.array([clean, unsure, foreign]), [2, 2, 2], [7, 7, 7])
    assert result["off_path_rate"] == pytest.approx(2 / 3)
    assert result["off_point_share"] == pytest.approx(3 / 6)
    assert result["unsure_point_share"] == pytest.approx(1 / 6)
    assert result["neither_point_share"] == pytest.approx(2 / 6)
    with pytest.raises(ValueError, match="expected probs"):
        latent.path_quality(np.zeros((3, 2, 10)), [0, 0, 0], [1, 1, 1])


def test_path_evenness():
    even = np.linspace(0, 1, 5)[None, :, None] * np.ones((1, 5, 8))
    jump = np.array([0, 0, 0, 0, 1.0])[None, :, None] * np.ones((1, 5, 8))
    assert latent.path_evenness(even) == pytest.approx(1.0)
    assert latent.path_evenness(jump) == pytest.approx(4.0)
    assert latent.path_evenness(np.zeros((2, 5, 8))) == 1.0


def test_recentred_bootstrap_ci_removes_the_resampling_bias_of_fd():
    rng = np.random.default_rng(9)
    a, b = rng.normal(size=(200, 16)), rng.normal(size=(200, 16))  # FD estimate well above the true 0
    fd = frechet.frechet_distance(a, b)
    plain = stats.bootstrap_ci(frechet.frechet_distance, [a, b], n_boot=100, seed=0)
    centred = stats.bootstrap_ci(frechet.frechet_distance, [a, b], n_boot=100, seed=0, recentre=True)
    assert plain[0] > fd  # duplicates from resampling inflate every bootstrap FD
    assert centred[0] < fd < centred[1]
    assert centred[1] - centred[0] == pytest.approx(plain[1] - plain[0], rel=0.3)
