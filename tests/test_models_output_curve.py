"""The output curve (genlab.models.output_curve): fitting a known map between value distributions, applying it,
where it applies (samples, interpolations, the app's decode; not the probabilities BCE judges), the checkpoint
round trip and refusal of damaged tensors."""

import numpy as np
import pytest
import torch
from test_models_mixture import tiny_model_with_samplers

from genlab.app import explore
from genlab.models import load_model, save_model
from genlab.models.checkpoint import write_samplers
from genlab.models.output_curve import KNOTS, PREFIX, apply_curve, fit_output_curve


def test_the_curve_maps_decoded_values_onto_the_real_ones_quantile_for_quantile():
    rng = np.random.default_rng(0)
    real = rng.uniform(size=200_000)
    decoded = real ** 2  # a known monotone distortion: the curve must undo it, sqrt
    curve = fit_output_curve(decoded, real)
    assert curve.shape == (KNOTS,) and curve.dtype == torch.float32
    at = torch.linspace(0, 1, KNOTS)
    torch.testing.assert_close(curve, at.sqrt(), atol=0.01, rtol=0)
    x = torch.tensor([0.0, 0.04, 0.25, 0.5, 1.0])
    torch.testing.assert_close(apply_curve(curve, x), x.sqrt(), atol=0.02, rtol=0)
    decoded_t = torch.from_numpy(decoded[:1000]).float()  # within the straight pieces' error on sqrt's steep start
    torch.testing.assert_close(apply_curve(curve, decoded_t), torch.from_numpy(real[:1000]).float(), atol=0.035, rtol=0)
    assert apply_curve(curve, decoded_t.double()).dtype == torch.float64  # the grids' dtype kept


def test_a_haze_of_small_values_goes_to_zero_as_real_grids_are_mostly_exact_zeros():
    rng = np.random.default_rng(1)
    real = np.where(rng.uniform(size=100_000) < 0.8, 0.0, rng.uniform(0.5, 1.0, size=100_000))
    decoded = np.clip(0.8 * real + rng.uniform(0, 0.1, size=real.shape), 0, 1)  # blurred: no exact zeros
    curve = fit_output_curve(decoded, real)
    assert float(apply_curve(curve, torch.tensor(0.05))) == 0.0
    assert (curve.diff() >= 0).all() and curve.min() >= 0 and curve.max() <= 1
    shown = apply_curve(curve, torch.from_numpy(decoded)).numpy()
    assert (shown[decoded < 0.09] == 0).all()  # the haze, up to the last knot below its top (0.1)
    assert (shown == 0).mean() > 0.74  # of the real grids' 80% zeros (a knot's width of haze is ramped, not cut)
    with pytest.raises(ValueError, match="needs decoded and real voxel values"):
        fit_output_curve(np.array([]), real)


@pytest.mark.parametrize("kind", ["ae", "vae", "gan"])
def test_samples_and_interpolations_are_rendered_and_bce_keeps_the_probabilities(tmp_path, kind):
    model = tiny_model_with_samplers(kind)
    assert model.output_curve is not None and model.output_curve.shape == (KNOTS,)
    seed = torch.Generator().manual_seed
    z = model.latents(6, seed(1))
    probabilities = model.decode(z)
    shown = model.sample(6, seed(1))
    torch.testing.assert_close(shown, apply_curve(model.output_curve, probabilities))
    torch.testing.assert_close(model.generate(z), shown)
    assert not torch.allclose(shown, probabilities)  # the curve of a real fit is not the identity
    x = torch.from_numpy((np.random.default_rng(2).uniform(size=(2, 16, 16, 16)) ** 3).astype(np.float32))
    torch.testing.assert_close(model.reconstruct(x), model.decode(model.encode(x)))  # what BCE judges
    path = model.interpolate(x[0], x[1], 4)
    torch.testing.assert_close(path[0], model.render(model.reconstruct(x[:1]))[0])
    np.testing.assert_allclose(explore.decode(model, z[0].numpy()), shown[0].numpy(), atol=1e-5, rtol=0)

    loaded = load_model(save_model(model, tmp_path / "m.safetensors"))
    assert torch.equal(loaded.output_curve, model.output_curve)
    torch.testing.assert_close(loaded.sample(6, seed(1)), shown)

    model.output_curve = None  # a checkpoint from before the curve: grids shown as decoded
    torch.testing.assert_close(model.sample(6, seed(1)), probabilities)
    write_samplers(tmp_path / "m.safetensors", model)
    assert load_model(tmp_path / "m.safetensors").output_curve is None


@pytest.mark.parametrize("damage, message", [
    (lambda t: t.update({PREFIX: t[PREFIX][:-1]}), r"output curve must be 65 non-decreasing values"),
    (lambda t: t[PREFIX].__setitem__(3, float("nan")), "output curve must be"),
    (lambda t: t.update({PREFIX: t[PREFIX].flip(0)}), "non-decreasing"),
    (lambda t: t[PREFIX].add_(0.5), "values in 0..1"),
])
def test_a_damaged_output_curve_in_a_checkpoint_is_refused_by_name(tmp_path, damage_checkpoint, damage, message):
    path = save_model(tiny_model_with_samplers(), tmp_path / "ae.safetensors")
    damage_checkpoint(path, damage)
    with pytest.raises(ValueError, match=message) as error:
        load_model(path)
    assert str(path) in str(error.value)
