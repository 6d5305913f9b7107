"""Noisy-input training: the hook adds noise only in training mode; the study compares clean and noisy twins."""


import numpy as np
import pytest
import torch

from genlab.data import VoxelDataset
from genlab.eval.noise import noise_study, noisy_inputs

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def seen_by_encoder(model, x: torch.Tensor) -> torch.Tensor:
    """Returns what the model's encoder receives when the model encodes x."""
    seen = []
    handle = model.encoder.register_forward_pre_hook(lambda module, args: seen.append(args[0].clone()))
    model.encode(x)
    handle.remove()
    return seen[0]


def test_noise_reaches_the_encoder_only_in_training_mode():
    from genlab.models import build_model

    model = build_model("ae", "fcn", latent_dim=4, width=2)
    x = torch.full((8, 16, 16, 16), 0.5)
    with noisy_inputs(model, variance=0.1, seed=0):
        model.train()
        noisy = seen_by_encoder(model, x)
        assert noisy.min() >= 0 and noisy.max() <= 1
        assert (noisy - x).std().item() == pytest.approx(0.1**0.5, rel=0.1)  # little clipping around 0.5
        assert not torch.equal(noisy, seen_by_encoder(model, x))  # fresh noise every step
        model.eval()
        assert torch.equal(seen_by_encoder(model, x), x)
    model.train()
    assert torch.equal(seen_by_encoder(model, x), x)  # the hook is gone
    with pytest.raises(ValueError, match="variance"):
        with noisy_inputs(model, variance=-1):
            pass


def test_noise_study_trains_clean_and_noisy_twins():
    rng = np.random.default_rng(0)
    X = (rng.uniform(size=(48, 16, 16, 16)) > 0.9).astype(np.float32)
    data = VoxelDataset(X[:40], np.zeros(40, int), X[40:], np.zeros(8, int), source="tiny")
    study = noise_study(
        data, [("ae", "fcn")], epochs=1, n_train=40, batch_size=16, model_options={"width": 2, "latent_dim": 4}
    )
    assert [(r["name"], r["trained_on"]) for r in study["rows"]] == [("ae_fcn", "clean"), ("ae_fcn", "noisy")]
    clean, noisy = study["rows"]
    assert clean["epochs"] == noisy["epochs"] == 1
    assert clean["bce_clean_input"] != noisy["bce_clean_input"]  # the noise changed what was learned
    assert all(np.isfinite(v) for r in study["rows"] for k, v in r.items() if k.startswith(("bce", "mse")))
    assert "1 epoch(s) on 40 training digits" in study["description"]
