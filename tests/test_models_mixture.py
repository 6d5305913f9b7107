"""The per-digit code mixture and its refined weights (sample()'s default): fitting codes of a known
distribution, the fidelity of a known decoder, seeded reproducibility, checkpoint round trips, refusal
of damaged tensors."""

import numpy as np
import pytest
import torch

from genlab.models import build_model, fit_samplers, load_model, save_model
from genlab.models.density import (
    DIGIT_REFINE_POWER,
    DIGIT_SPREAD,
    MIXTURE_PREFIX,
    REFINE_POWER,
    cycle_fidelity,
    fit_density_to_codes,
    fit_mixture_to_codes,
)

# Digit 0's codes: two styles far apart (70% / 30%); digit 1's: one Gaussian.
STYLES = torch.tensor([[6.0, 0.0], [-6.0, 0.0]])
SHARES = (0.7, 0.3)
SPREAD = 0.5
CENTRE_1 = torch.tensor([0.0, 8.0])


def known_codes(n=4000, seed=0):
    """Returns codes (2n, 2) of the known distribution above and their digits (2n,)."""
    g = torch.Generator().manual_seed(seed)
    style = (torch.rand(n, generator=g) > SHARES[0]).long()
    zeros = STYLES[style] + SPREAD * torch.randn(n, 2, generator=g)
    ones = CENTRE_1 + torch.tensor([1.0, 0.3]) * torch.randn(n, 2, generator=g)
    return torch.cat([zeros, ones]), np.repeat([0, 1], n)


def test_the_mixture_recovers_a_digits_styles_where_one_gaussian_fills_the_gap_between_them():
    codes, digits = known_codes()
    mixture = fit_mixture_to_codes(codes, digits, components=2)
    assert mixture.digits.tolist() == [0, 0, 1, 1] and mixture.means.shape == (4, 2)
    torch.testing.assert_close(mixture.digit_weights()[:2], torch.tensor([0.5, 0.5]))
    assert torch.all(mixture.digit_weights()[2:] == 0)
    order = mixture.means[:2, 0].argsort(descending=True)  # the style at x = +6 first
    torch.testing.assert_close(mixture.means[:2][order], STYLES, atol=0.1, rtol=0)
    torch.testing.assert_close(mixture.weights[:2][order] * 2, torch.tensor(SHARES), atol=0.03, rtol=0)

    z = mixture.sample(20000, digit=0, generator=torch.Generator().manual_seed(1))
    in_gap = (z[:, 0].abs() < 3).float().mean()  # 6 spreads from either style: no real code lies there
    assert in_gap < 0.01
    assert abs(float((z[:, 0] > 0).float().mean()) - SHARES[0]) < 0.02
    torch.testing.assert_close(z[z[:, 0] > 0].std(0), torch.full((2,), SPREAD), atol=0, rtol=0.05)
    density = fit_density_to_codes(codes, digits)
    one_gaussian = density.sample(20000, digit=0, generator=torch.Generator().manual_seed(1))
    assert (one_gaussian[:, 0].abs() < 3).float().mean() > 0.2  # what the mixture fixes

    ones = mixture.sample(20000, digit=1, generator=torch.Generator().manual_seed(2))
    torch.testing.assert_close(ones.mean(0), CENTRE_1, atol=0.05, rtol=0)
    torch.testing.assert_close(ones.std(0), torch.tensor([1.0, 0.3]), atol=0, rtol=0.05)
    both = mixture.sample(20000, generator=torch.Generator().manual_seed(3))
    assert abs(float((both[:, 1] > 4).float().mean()) - 0.5) < 0.02  # digits drawn by their share


def test_spread_shrinks_each_components_noise_and_a_requested_digit_is_drawn_at_the_digit_spread(tmp_path):
    codes, digits = known_codes()
    mixture = fit_mixture_to_codes(codes, digits, components=2)
    draw = lambda spread: mixture.sample(20000, digit=0, generator=torch.Generator().manual_seed(1),  # noqa: E731
                                         spread=spread)
    full, half, none = draw(1.0), draw(0.5), draw(0.0)
    torch.testing.assert_close(full, mixture.sample(20000, digit=0, generator=torch.Generator().manual_seed(1)))
    right = full[:, 0] > 0  # the same components are drawn at every spread: only the noise shrinks
    assert torch.equal(right, half[:, 0] > 0)
    torch.testing.assert_close(half[right].std(0), 0.5 * full[right].std(0), atol=0, rtol=1e-4)
    assert torch.unique(none, dim=0).shape[0] == 2  # the two components' centres
    with pytest.raises(ValueError, match="spread"):
        mixture.sample(3, digit=0, spread=-1.0)

    from genlab.models.density import DIGIT_SPREAD

    model = tiny_model_with_samplers("vae")
    asked = model.latents(500, torch.Generator().manual_seed(2), digit=3)
    torch.testing.assert_close(asked, model.code_mixture.sample(500, 3, torch.Generator().manual_seed(2),
                                                               DIGIT_SPREAD))
    torch.testing.assert_close(model.latents(500, torch.Generator().manual_seed(2), digit=3, spread=1.0),
                               model.code_mixture.sample(500, 3, torch.Generator().manual_seed(2)))
    torch.testing.assert_close(model.latents(50, torch.Generator().manual_seed(4)),  # all digits: full spread
                               model.code_mixture.sample(50, None, torch.Generator().manual_seed(4)))


def test_fitting_and_sampling_are_reproducible_by_seed():
    codes, digits = known_codes(500)
    a, b = (fit_mixture_to_codes(codes, digits, components=3, seed=4) for _ in range(2))
    for name in ("weights", "means", "scale_tril", "digits"):
        assert torch.equal(getattr(a, name), getattr(b, name))
    draw = lambda density, seed: density.sample(6, digit=0, generator=torch.Generator().manual_seed(seed))  # noqa: E731
    assert torch.equal(draw(a, 7), draw(b, 7)) and not torch.equal(draw(a, 7), draw(a, 8))


def test_a_digit_with_few_examples_gets_fewer_components_and_an_absent_one_cannot_be_drawn():
    codes, digits = known_codes(500)
    codes, digits = torch.cat([codes, torch.zeros(3, 2)]), np.concatenate([digits, [5, 5, 5]])
    mixture = fit_mixture_to_codes(codes, digits, components=4)
    assert (mixture.digits == 5).sum() == 1 and (mixture.digits == 0).sum() == 4
    with pytest.raises(ValueError, match="digit 7 cannot be sampled"):
        mixture.sample(1, digit=7)
    with pytest.raises(ValueError, match="digit must be one of 0..9, not 10"):
        mixture.sample(1, digit=10)


def tiny_model_with_samplers(kind="ae"):
    torch.manual_seed(0)
    model = build_model(kind, "fcn", latent_dim=3, width=4).eval()
    rng = np.random.default_rng(0)
    grids = (rng.uniform(size=(80, 16, 16, 16)) ** 3).astype(np.float32)
    fit_samplers(model, grids, np.arange(80) % 10, second_stage_steps=0)
    return model


@pytest.mark.parametrize("kind", ["ae", "vae", "gan"])
def test_the_refined_mixture_is_every_kinds_default_and_survives_a_checkpoint(tmp_path, kind):
    model = tiny_model_with_samplers(kind)
    assert model.default_source() == "refined" and model.digit_source() == "refined"
    assert model.latent_sources()[:2] == ["refined", "mixture"] and "density" in model.latent_sources()
    fidelity = model.code_mixture.fidelity
    assert fidelity.shape == model.code_mixture.weights.shape and 0 <= fidelity.min() and fidelity.max() <= 1
    assert torch.equal(cycle_fidelity(model, model.code_mixture), fidelity)  # seeded
    loaded = load_model(save_model(model, tmp_path / "m.safetensors"))
    assert loaded.default_source() == "refined"
    for name in ("weights", "means", "scale_tril", "digits", "fidelity"):
        assert torch.equal(getattr(loaded.code_mixture, name), getattr(model.code_mixture, name))
    for source, digit in ((None, None), (None, 3), ("density", 3), ("mixture", None), ("mixture", 3)):
        expected = model.sample(4, torch.Generator().manual_seed(1), source=source, digit=digit)
        torch.testing.assert_close(loaded.sample(4, torch.Generator().manual_seed(1), source=source, digit=digit),
                                   expected)
    torch.testing.assert_close(model.latents(5, torch.Generator().manual_seed(2)),
                               model.code_mixture.refined().sample(5, None, torch.Generator().manual_seed(2)))
    # A digit asked for: its components refined harder (DIGIT_REFINE_POWER), at DIGIT_SPREAD
    asked = model.code_mixture.refined(DIGIT_REFINE_POWER).sample(5, 3, torch.Generator().manual_seed(2), DIGIT_SPREAD)
    torch.testing.assert_close(model.latents(5, torch.Generator().manual_seed(2), digit=3), asked)
    assert DIGIT_REFINE_POWER > REFINE_POWER

    model.code_mixture.fidelity = None  # a checkpoint from before the fidelity: the mixture as fitted
    assert model.default_source() == "mixture" and model.latent_sources()[0] == "mixture"
    with pytest.raises(ValueError, match="no fitted code mixture with measured fidelity.*--fit-samplers"):
        model.sample(2, source="refined")


def test_a_model_without_a_mixture_says_how_to_get_one():
    model = build_model("ae", "fcn", latent_dim=3, width=4).eval()
    with pytest.raises(ValueError, match="no fitted code mixture.*--fit-samplers"):
        model.sample(2, source="mixture")


@pytest.mark.parametrize("damage, message", [
    (lambda t: t.pop(f"{MIXTURE_PREFIX}scale_tril"), "code mixture lacks the tensor code_mixture/scale_tril"),
    (lambda t: t.update({f"{MIXTURE_PREFIX}means": torch.zeros(7, 3)}), "code mixture has shapes"),
    (lambda t: t.update({f"{MIXTURE_PREFIX}digits": t[f"{MIXTURE_PREFIX}digits"][:-1]}), "code mixture has shapes"),
    (lambda t: t[f"{MIXTURE_PREFIX}means"].fill_(float("inf")), "mixture holds negative, NaN or infinite"),
    (lambda t: t.update({f"{MIXTURE_PREFIX}weights": -t[f"{MIXTURE_PREFIX}weights"]}), "negative, NaN or infinite"),
    (lambda t: t[f"{MIXTURE_PREFIX}digits"].add_(10), "names digits outside 0..9"),
    (lambda t: t.update({f"{MIXTURE_PREFIX}digits": t[f"{MIXTURE_PREFIX}digits"].float()}), "digits outside"),
    (lambda t: t.update({f"{MIXTURE_PREFIX}fidelity": t[f"{MIXTURE_PREFIX}fidelity"][:-1]}), "fidelity must be"),
    (lambda t: t[f"{MIXTURE_PREFIX}fidelity"].add_(1.5), r"fidelity must be \d+ values in 0..1"),
    (lambda t: t[f"{MIXTURE_PREFIX}fidelity"].fill_(float("nan")), "fidelity must be"),
])
def test_a_damaged_mixture_in_a_checkpoint_is_refused_by_name(tmp_path, damage_checkpoint, damage, message):
    path = save_model(tiny_model_with_samplers(), tmp_path / "ae.safetensors")
    damage_checkpoint(path, damage)
    with pytest.raises(ValueError, match=message) as error:
        load_model(path)
    assert str(path) in str(error.value)


class SwapsAStyle(torch.nn.Module):
    """A stand-in model over 2-number codes whose decoder draws digit 0's left-hand style (x < -3) as a 1:
    its grids carry the code in two voxels, and encoding them back puts a left-hand 0 at digit 1's centre."""

    def decode(self, z):
        grids = torch.zeros(len(z), 16, 16, 16)
        grids[:, 0, 0, :2] = z
        return grids

    def encode(self, grids):
        z = grids[:, 0, 0, :2].clone()
        z[z[:, 0] < -3] = CENTRE_1
        return z


def test_fidelity_finds_the_style_the_decoder_draws_as_another_digit_and_refining_drops_it():
    codes, digits = known_codes()
    mixture = fit_mixture_to_codes(codes, digits, components=2)
    mixture.fidelity = cycle_fidelity(SwapsAStyle(), mixture, samples=200)
    left = mixture.means[:, 0] < -3  # digit 0's style at x = -6
    assert left.sum() == 1
    assert mixture.fidelity[left].item() < 0.01 and mixture.fidelity[~left].min() > 0.99

    refined = mixture.refined()
    torch.testing.assert_close(refined.digit_weights(), mixture.digit_weights())  # each digit keeps its share
    assert refined.weights[left].item() < 1e-6
    zeros = refined.sample(5000, digit=0, generator=torch.Generator().manual_seed(1))
    assert (zeros[:, 0] > 0).all()  # only the style the decoder draws as a 0
    torch.testing.assert_close(refined.sample(9, digit=1, generator=torch.Generator().manual_seed(2)),
                               mixture.sample(9, digit=1, generator=torch.Generator().manual_seed(2)))
    both = refined.sample(20000, generator=torch.Generator().manual_seed(3))
    assert abs(float((both[:, 1] > 4).float().mean()) - 0.5) < 0.02

    mixture.fidelity = torch.where(mixture.digits == 0, 0.0, 1.0)  # a digit no component of which is faithful
    torch.testing.assert_close(mixture.refined().weights, mixture.weights)  # keeps its fitted weights
    mixture.fidelity = None
    with pytest.raises(ValueError, match="no measured fidelity"):
        mixture.refined()


def test_the_digit_posterior_names_the_digit_whose_components_explain_a_code():
    codes, digits = known_codes()
    mixture = fit_mixture_to_codes(codes, digits, components=2)
    probs = mixture.digit_probabilities(torch.stack([STYLES[0], STYLES[1], CENTRE_1, torch.tensor([0.0, 4.0])]),
                                        batch_size=3)
    assert probs.shape == (4, 10) and torch.all(probs[:, 2:] == 0)
    torch.testing.assert_close(probs.sum(1), torch.ones(4))
    assert probs[0, 0] > 0.999 and probs[1, 0] > 0.999 and probs[2, 1] > 0.999
    drawn = mixture.sample(2000, generator=torch.Generator().manual_seed(5))
    named = mixture.digit_probabilities(drawn).argmax(1)
    assert (named == (drawn[:, 1] > 4).long()).float().mean() > 0.99
