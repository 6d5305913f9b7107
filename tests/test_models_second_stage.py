"""The two-stage VAE's second stage: it learns the shape of the codes, samples them, survives a checkpoint round trip,
refuses damage."""

import numpy as np
import pytest
import torch

from genlab.models import build_model, fit_samplers, load_model, save_model
from genlab.models.second_stage import PREFIX, fit_second_stage


class CodeStub(torch.nn.Module):
    """A stand-in encoder: the code of a grid is its first two voxels."""

    def encode(self, x):
        return x.reshape(len(x), -1)[:, :2]


def ring_grids(n=4000, seed=0):
    """Returns grids (n, 16, 16, 16) whose codes lie on a ring of radius 3 around (5, -5):
    far from N(0, I), not Gaussian."""
    g = torch.Generator().manual_seed(seed)
    angle = 2 * torch.pi * torch.rand(n, generator=g)
    codes = torch.stack([5 + 3 * angle.cos(), -5 + 3 * angle.sin()], 1) + 0.05 * torch.randn(n, 2, generator=g)
    grids = torch.zeros(n, 16, 16, 16)
    grids.view(n, -1)[:, :2] = codes
    return grids.numpy()


@pytest.mark.slow
def test_second_stage_samples_the_codes_shape_that_a_single_gaussian_misses():
    stage = fit_second_stage(CodeStub(), ring_grids(), steps=4000)
    z = stage.sample(4000, torch.Generator().manual_seed(1))
    radius = (z - torch.tensor([5.0, -5.0])).norm(dim=1)
    assert z.shape == (4000, 2)
    assert abs(float(radius.median()) - 3.0) < 0.3  # on the ring ...
    assert float((radius < 1.5).float().mean()) < 0.05  # ... not in its empty middle, where a Gaussian puts its mode
    assert torch.equal(z, stage.sample(4000, torch.Generator().manual_seed(1)))


def test_fitting_is_seeded_and_leaves_the_callers_random_state_alone():
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    a = fit_second_stage(CodeStub(), ring_grids(200), steps=20, seed=4)
    assert torch.equal(torch.rand(3), before)
    b = fit_second_stage(CodeStub(), ring_grids(200), steps=20, seed=4)
    g = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    assert torch.equal(a.sample(5, g()), b.sample(5, g()))
    with pytest.raises(ValueError, match="at least two grids"):
        fit_second_stage(CodeStub(), ring_grids(1))


def tiny_vae_with_samplers():
    vae = build_model("vae", "fcn", latent_dim=3, width=4).eval()
    grids = np.random.default_rng(0).random((40, 16, 16, 16), dtype=np.float32)
    fit_samplers(vae, grids, np.arange(40) % 10, second_stage_steps=30)
    return vae


def test_a_vae_samples_through_its_second_stage_by_default_and_the_checkpoint_keeps_it(tmp_path):
    vae = tiny_vae_with_samplers()
    assert vae.latent_sources() == ["refined", "mixture", "prior", "two-stage", "density"]
    vae.code_mixture = None  # without a mixture (checkpoints from before it) the second stage is the default
    assert vae.latent_sources() == ["two-stage", "prior", "density"] and vae.default_source() == "two-stage"
    g = lambda: torch.Generator().manual_seed(7)  # noqa: E731
    torch.testing.assert_close(vae.latents(6, g()), vae.second_stage.sample(6, g()))
    assert not torch.equal(vae.latents(6, g()), vae.latents(6, g(), source="prior"))
    with pytest.raises(ValueError, match="second-stage VAE knows no digits"):
        vae.latents(2, source="two-stage", digit=3)
    loaded = load_model(save_model(vae, tmp_path / "vae.safetensors"))
    for source in ("two-stage", "prior", "density"):
        torch.testing.assert_close(loaded.sample(4, g(), source=source), vae.sample(4, g(), source=source))
    assert not any(name.startswith("second_stage") for name in loaded.state_dict())  # not the model's own weights


def test_a_model_without_second_stage_says_how_to_get_one():
    vae = build_model("vae", "fcn", latent_dim=3, width=4).eval()
    with pytest.raises(ValueError, match="no second stage.*--fit-samplers"):
        vae.latents(2, source="two-stage")
    ae = build_model("ae", "fcn", latent_dim=3, width=4).eval()
    fit_samplers(ae, np.zeros((20, 16, 16, 16), np.float32), np.arange(20) % 10)
    assert ae.second_stage is None  # the second stage is a VAE's
    assert ae.latent_sources() == ["refined", "mixture", "density"]


@pytest.mark.parametrize("damage, message", [
    (lambda t: t.pop(f"{PREFIX}log_gamma"), "second stage does not fit latent_dim 3"),
    (lambda t: t.update({f"{PREFIX}code_mean": torch.zeros(5)}), "second stage does not fit latent_dim 3"),
    (lambda t: t[f"{PREFIX}decoder.4.weight"].fill_(float("inf")), "NaN or infinite"),
])
def test_a_damaged_second_stage_in_a_checkpoint_is_refused_by_name(tmp_path, damage_checkpoint, damage, message):
    path = save_model(tiny_vae_with_samplers(), tmp_path / "vae.safetensors")
    damage_checkpoint(path, damage)
    with pytest.raises(ValueError, match=message) as error:
        load_model(path)
    assert str(path) in str(error.value)
