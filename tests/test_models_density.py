"""The per-digit code density: fitting, sampling a chosen digit, checkpoint round trips, bad input."""

import numpy as np
import pytest
import torch

from genlab.app import explore
from genlab.models import build_model, load_model, save_model
from genlab.models.density import PREFIX, fit_code_density

CENTRES = torch.tensor([[4.0, 0.0, -2.0], [-3.0, 5.0, 1.0]])  # codes of digit 0 and digit 1
SPREADS = torch.tensor([[0.5, 1.0, 0.2], [1.5, 0.3, 0.7]])


class CodeStub(torch.nn.Module):
    """A stand-in encoder: the code of a grid is its first three voxels."""

    training = False

    def encode(self, x):
        return x.reshape(len(x), -1)[:, :3]


def labelled_grids(n_per_digit=3000, seed=0):
    """Returns grids (2n, 16, 16, 16) whose codes are Gaussian around CENTRES, and labels (2n,)."""
    g = torch.Generator().manual_seed(seed)
    grids = torch.zeros(2 * n_per_digit, 16, 16, 16)
    for digit in (0, 1):
        codes = CENTRES[digit] + SPREADS[digit] * torch.randn(n_per_digit, 3, generator=g)
        grids[digit * n_per_digit:(digit + 1) * n_per_digit].view(n_per_digit, -1)[:, :3] = codes
    return grids.numpy(), np.repeat([0, 1], n_per_digit)


def test_fit_recovers_each_digits_gaussian_and_samples_the_digit_asked_for():
    density = fit_code_density(CodeStub(), *labelled_grids())
    torch.testing.assert_close(density.weights[:2], torch.tensor([0.5, 0.5]))
    assert torch.all(density.weights[2:] == 0)  # digits without examples cannot be drawn
    torch.testing.assert_close(density.means[:2], CENTRES, atol=0.08, rtol=0)
    for digit in (0, 1):
        z = density.sample(20000, digit=digit, generator=torch.Generator().manual_seed(digit))
        torch.testing.assert_close(z.mean(0), CENTRES[digit], atol=0.05, rtol=0)
        torch.testing.assert_close(z.std(0), SPREADS[digit], atol=0, rtol=0.05)
    mixed = density.sample(20000, generator=torch.Generator().manual_seed(5))
    near_one = ((mixed - CENTRES[1]).norm(dim=1) < (mixed - CENTRES[0]).norm(dim=1)).float().mean()
    assert abs(float(near_one) - 0.5) < 0.02


def test_sampling_is_deterministic_by_generator_and_rejects_unknown_digits():
    density = fit_code_density(CodeStub(), *labelled_grids(200))
    draw = lambda: density.sample(5, digit=1, generator=torch.Generator().manual_seed(3))  # noqa: E731
    assert torch.equal(draw(), draw())
    with pytest.raises(ValueError, match="digit must be one of 0..9, not 10"):
        density.sample(1, digit=10)
    with pytest.raises(ValueError, match="digit 7 cannot be sampled"):
        density.sample(1, digit=7)


def test_fit_rejects_mismatched_or_out_of_range_labels():
    grids, labels = labelled_grids(10)
    with pytest.raises(ValueError, match="one digit label per grid"):
        fit_code_density(CodeStub(), grids, labels[:-1])
    with pytest.raises(ValueError, match="must lie in 0..9"):
        fit_code_density(CodeStub(), grids, labels + 9)


def tiny_ae_with_density():
    torch.manual_seed(0)
    model = build_model("ae", "fcn", latent_dim=3, width=4).eval()
    grids, labels = labelled_grids(50)
    model.code_density = fit_code_density(model, np.clip(grids, 0, 1), labels)
    return model


def test_a_checkpoint_keeps_the_density_and_reproduces_samples(tmp_path):
    model = tiny_ae_with_density()
    path = save_model(model, tmp_path / "ae.safetensors")
    loaded = load_model(path)
    assert loaded.default_source() == "density"
    for digit in (None, 0, 1):
        expected = model.sample(4, torch.Generator().manual_seed(1), digit=digit)
        torch.testing.assert_close(loaded.sample(4, torch.Generator().manual_seed(1), digit=digit), expected)


def test_a_model_without_density_says_how_to_get_one():
    model = build_model("vae", "fcn", latent_dim=3, width=4).eval()
    assert model.default_source() == "prior" and model.sample(2).shape == (2, 16, 16, 16)
    with pytest.raises(ValueError, match="no fitted code density.*--fit-samplers"):
        model.sample(2, digit=1)
    with pytest.raises(ValueError, match="prior knows no digits"):
        model.latents(2, source="prior", digit=1)
    sources = r"\['density', 'mixture', 'prior', 'refined', 'two-stage'\]"
    with pytest.raises(ValueError, match=rf"one of {sources}, not 'uniform'"):
        model.latents(2, source="uniform")


@pytest.mark.parametrize("damage, message", [
    (lambda t: t.pop(f"{PREFIX}means"), "lacks the tensor code_density/means"),
    (lambda t: t.update({f"{PREFIX}means": torch.zeros(10, 5)}), "shapes"),
    (lambda t: t.update({f"{PREFIX}weights": -t[f"{PREFIX}weights"]}), "negative, NaN or infinite"),
    (lambda t: t[f"{PREFIX}scale_tril"].fill_(float("nan")), "negative, NaN or infinite"),
])
def test_a_damaged_density_in_a_checkpoint_is_refused_by_name(tmp_path, damage_checkpoint, damage, message):
    path = save_model(tiny_ae_with_density(), tmp_path / "ae.safetensors")
    damage_checkpoint(path, damage)
    with pytest.raises(ValueError, match=message) as error:
        load_model(path)
    assert str(path) in str(error.value)


def test_a_model_offers_its_default_latent_source_first():
    model = tiny_ae_with_density()
    assert model.latent_sources() == ["density"]  # an AE has no prior
    assert build_model("ae", "fcn", latent_dim=3, width=4).latent_sources() == ["prior"]  # until it has a density
    vae = build_model("vae", "fcn", latent_dim=3, width=4).eval()
    assert vae.latent_sources() == ["prior"]
    vae.code_density = model.code_density
    assert vae.latent_sources() == ["prior", "density"]
    z = explore.sample_latents(vae, 3, seed=2, source="density", digit=1)
    assert z.shape == (3, 3) and np.array_equal(z, explore.sample_latents(vae, 3, seed=2, source="density", digit=1))
