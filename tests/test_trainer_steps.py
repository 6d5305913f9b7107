"""The trainer's named steps and the kind's training interface: the trainer runs whatever step a kind defines."""

import numpy as np
import pytest
import torch
from test_train import blobs, quick, tiny

from genlab.data import VoxelDataset
from genlab.models.kinds import AE
from genlab.train import Progress, TrainConfig, train
from genlab.train.trainer import autocast_for, learning_rate, split_data, uses_bf16

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    return VoxelDataset(blobs(64), np.zeros(64, np.int64), blobs(8, seed=1), np.zeros(8, np.int64),
                        source="synthetic", params={"blobs": True})


class CountingAE(AE):
    """An AE whose kind brings its own optimisers, per-sample extras and step (as a GAN's does)."""

    def make_optimisers(self, lr):
        self.made_with = lr
        return {"encoder": torch.optim.SGD(self.encoder.parameters(), lr),
                "decoder": torch.optim.SGD(self.decoder.parameters(), lr)}

    def prepare_training(self, X, device, resumed):
        return torch.arange(len(X))  # one number per training sample

    def training_step(self, net, x, optimisers, step, extra=None):
        self.extras = [*getattr(self, "extras", []), extra.tolist()]
        losses = net(x)
        for optimiser in optimisers.values():
            optimiser.zero_grad()
        losses.total.backward()
        for optimiser in optimisers.values():
            optimiser.step()
        return {**losses.floats(), "calls": float(len(self.extras))}


def test_the_trainer_runs_the_kinds_own_optimisers_extras_and_step(data):
    model = tiny()
    model.__class__ = CountingAE
    seen = []
    train(model, data, quick(epochs=2, lr=0.05), on_progress=seen.append)
    steps = 48 // 16  # 64 blobs less a quarter held out
    assert model.made_with == 0.05 and len(model.extras) == 2 * steps
    assert [p.losses["calls"] for p in seen if not p.epoch_end] == [float(i) for i in range(1, 2 * steps + 1)]
    first_epoch = sorted(i for batch in model.extras[:steps] for i in batch)
    assert first_epoch == list(range(48))  # each batch got its own samples' extras, every sample once an epoch


def test_learning_rate_follows_a_cosine_from_lr_to_its_floor():
    config = TrainConfig(lr=0.1, lr_min_ratio=0.1)
    assert learning_rate(config, 0.0) == pytest.approx(0.1)
    assert learning_rate(config, 0.5) == pytest.approx(0.1 * (0.1 + 0.9 * 0.5))
    assert learning_rate(config, 1.0) == pytest.approx(0.01) == learning_rate(config, 3.0)  # past the end: floor


def test_split_data_is_seeded_and_refuses_less_than_a_batch(data):
    a_train, a_val = split_data(data, TrainConfig(val_fraction=0.25, batch_size=16, seed=1))
    b_train, b_val = split_data(data, TrainConfig(val_fraction=0.25, batch_size=16, seed=1))
    assert (len(a_train), len(a_val)) == (48, 16) and torch.equal(a_val, b_val)
    with pytest.raises(ValueError, match="48 training samples are fewer than one batch of 64"):
        split_data(data, TrainConfig(val_fraction=0.25, batch_size=64))


def test_precision_auto_is_bf16_on_cuda_only_and_bad_names_are_refused():
    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    assert (uses_bf16("auto", cpu), uses_bf16("auto", cuda)) == (False, True)
    assert (uses_bf16("bf16", cpu), uses_bf16("fp32", cuda)) == (True, False)
    with pytest.raises(ValueError, match="unknown precision 'fp16'; choose one of"):
        uses_bf16("fp16", cpu)


def test_bf16_steps_compute_in_bf16_and_fp32_steps_do_not():
    layer, x = torch.nn.Linear(4, 2), torch.ones(3, 4)
    with autocast_for("bf16", torch.device("cpu")):
        assert layer(x).dtype == torch.bfloat16
    with autocast_for("auto", torch.device("cpu")):
        assert layer(x).dtype == torch.float32


def test_a_bf16_run_on_the_cpu_trains_and_records_its_precision(data):
    model = tiny()
    result = train(model, data, quick(epochs=6, lr=1e-2, precision="bf16"))
    first, last = result.history[0]["val_loss"], result.history[-1]["val_loss"]
    assert np.isfinite(last) and last < first
    assert result.training["config"]["precision"] == "bf16"
    assert all(p.dtype == torch.float32 for p in model.parameters())  # autocast keeps fp32 master weights


def test_progress_counts_steps_over_the_run():
    p = Progress(epoch=3, epochs=4, step=2, steps_per_epoch=5, losses={"loss": 1.0})
    assert (p.done, p.total, p.epoch_end) == (12, 20, False)
    assert Progress(1, 1, 5, 5, {}, val_loss=0.5).epoch_end


def test_the_trainer_names_no_kind():
    from genlab.train import trainer

    source = open(trainer.__file__).read()
    assert '"gan"' not in source and "'gan'" not in source and ".kind ==" not in source
