"""The trainer: learning, reproducibility, resume, cancel, divergence, progress, GAN step, CLI, DDP."""

import threading

import numpy as np
import pytest
import torch

from genlab.data import VoxelDataset
from genlab.models import build_model, load_model
from genlab.train import Progress, TrainConfig, TrainingDiverged, train

TINY = {"fcn": {"width": 4}, "cnn_mlp": {"width": 4, "hidden": 16}, "lstm": {"hidden": 16}, "gru": {"hidden": 16}}


def blobs(n: int, seed: int = 0) -> np.ndarray:
    """Returns n soft balls (n, 16, 16, 16) in [0, 1] at random centres and radii: a tiny learnable dataset."""
    rng = np.random.default_rng(seed)
    grid = np.stack(np.meshgrid(*[np.arange(16)] * 3, indexing="ij"), -1)
    centres = rng.uniform(5, 11, (n, 1, 1, 1, 3))
    radii = rng.uniform(2, 4, (n, 1, 1, 1))
    dist = np.linalg.norm(grid[None] - centres, axis=-1)
    return np.clip(radii + 0.5 - dist, 0, 1).astype(np.float32)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    return VoxelDataset(blobs(96), np.zeros(96, np.int64), blobs(16, seed=1), np.zeros(16, np.int64),
                        source="synthetic", params={"blobs": True})


def tiny(kind="ae", backbone="fcn", **config):
    torch.manual_seed(0)
    return build_model(kind, backbone, latent_dim=4, **TINY[backbone], **config)


def quick(**overrides):
    options = dict(epochs=2, batch_size=16, lr=3e-3, device="cpu", patience=None, val_fraction=0.25)
    return TrainConfig(**{**options, **overrides})


def test_ae_learns_the_blobs(data):
    model = tiny()
    result = train(model, data, quick(epochs=15, lr=1e-2))
    first, last = result.history[0]["val_loss"], result.history[-1]["val_loss"]
    assert last < 0.8 * first
    assert result.best_val_loss == min(h["val_loss"] for h in result.history)
    assert not model.training  # handed back ready to use


def test_training_is_reproducible(data):
    a, b = tiny("vae", "gru"), tiny("vae", "gru")
    train(a, data, quick(seed=3))
    train(b, data, quick(seed=3))
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        assert torch.equal(p, q), name


def test_progress_reports_every_step_and_each_epoch(data):
    seen: list[Progress] = []
    result = train(tiny(), data, quick(), on_progress=seen.append)
    steps = 72 // 16  # 96 samples less a quarter held out for validation
    assert [p.step for p in seen if p.val_loss is None] == list(range(1, steps + 1)) * 2
    ends = [p for p in seen if p.val_loss is not None]
    assert [p.epoch for p in ends] == [1, 2] and all(p.epochs == 2 for p in seen)
    assert all(p.steps_per_epoch == steps and p.samples_per_s > 0 and "recon" in p.losses for p in seen)
    assert [p.val_loss for p in ends] == [h["val_loss"] for h in result.history]


def test_stop_event_cancels_after_the_current_step_and_keeps_a_checkpoint(data, tmp_path):
    stop = threading.Event()

    def on_progress(p):
        if p.step == 2:
            stop.set()

    path = tmp_path / "run.safetensors"
    result = train(tiny(), data, quick(epochs=50), on_progress=on_progress, stop_event=stop, checkpoint_path=path)
    # The cancelled epoch is kept (validated, weights saved) but not counted as a completed one.
    assert result.cancelled and result.epochs_run == 0
    assert result.history[0]["partial"] is True and result.history[0]["steps"] == 2
    loaded = load_model(path)
    assert loaded.metadata["training"]["cancelled"] is True
    assert loaded.metadata["training"]["epochs_done"] == 0
    assert loaded.metadata["dataset"]["fingerprint"] == data.fingerprint


def test_resume_continues_to_the_same_weights(data, tmp_path):
    straight = tiny()
    train(straight, data, quick(epochs=3))

    stop = threading.Event()
    path = tmp_path / "run.safetensors"
    interrupted = tiny()
    train(
        interrupted,
        data,
        quick(epochs=3),
        checkpoint_path=path,
        stop_event=stop,
        on_progress=lambda p: (
            stop.set() if p.epoch == 2 and p.val_loss is None and p.step == p.steps_per_epoch else None
        ),
    )
    assert load_model(path).metadata["training"]["epochs_done"] == 2
    resumed = tiny()
    result = train(resumed, data, quick(epochs=3), checkpoint_path=path, resume=True)
    assert result.epochs_run == 3 and len(result.history) == 3
    for (name, p), q in zip(straight.state_dict().items(), resumed.state_dict().values()):
        torch.testing.assert_close(p, q, msg=name)


def test_resume_refuses_another_architecture(data, tmp_path):
    path = tmp_path / "run.safetensors"
    train(tiny("ae", "fcn"), data, quick(epochs=1), checkpoint_path=path)
    with pytest.raises(ValueError, match="cannot resume"):
        train(tiny("ae", "gru"), data, quick(epochs=2), checkpoint_path=path, resume=True)


def test_divergence_raises_and_keeps_the_last_good_checkpoint(data, tmp_path):
    path = tmp_path / "run.safetensors"
    train(tiny(), data, quick(epochs=1), checkpoint_path=path)
    good = path.read_bytes()
    with pytest.raises(TrainingDiverged, match=r"ae/fcn diverged at epoch 2.*last good checkpoint"):
        # max_loss below any reachable BCE: the first step of the resumed epoch "explodes"
        train(tiny(), data, quick(epochs=3, max_loss=1e-6), checkpoint_path=path, resume=True)
    assert path.read_bytes() == good


def test_nan_loss_is_reported(data):
    model = tiny()
    with torch.no_grad():
        model.decoder.net[-1].bias.fill_(float("nan"))
    with pytest.raises(TrainingDiverged, match="loss=nan"):
        train(model, data, quick())


def test_gan_step_updates_autoencoder_mapper_inverse_and_critic(data):
    model = tiny("gan", "cnn_mlp")
    before = {k: v.clone() for k, v in model.state_dict().items()}
    seen = []
    train(model, data, quick(epochs=1), on_progress=seen.append)
    assert {"d_loss", "w_distance", "gp", "adv", "recon", "cycle"} <= set(seen[-1].losses)
    for part in ("encoder.", "decoder.", "mapper.", "inverse.", "critic."):
        assert any(not torch.equal(before[k], v) for k, v in model.state_dict().items() if k.startswith(part)), part


def test_gan_on_a_fixed_autoencoder_leaves_it_unchanged(data):
    ae = tiny("ae", "cnn_mlp")
    train(ae, data, quick(epochs=1))
    gan = tiny("gan", "cnn_mlp", ae_weight=0.0)
    gan.warm_start(ae.eval())
    train(gan, data, quick(epochs=1))
    for name, value in ae.state_dict().items():
        torch.testing.assert_close(gan.state_dict()[name], value, msg=name)


def test_time_budget_stops_the_run(data):
    result = train(tiny(), data, quick(epochs=1000, max_seconds=0.5))
    assert result.stopped_early and result.epochs_run < 1000


def test_cli_trains_and_saves_with_test_metrics(data, tmp_path, monkeypatch, capsys):
    import genlab.data
    from genlab.cli import main

    monkeypatch.setattr(genlab.data, "load_dataset", lambda source, **params: data)
    out = tmp_path / "ae_fcn.safetensors"
    code = main(["train", "--kind", "ae", "--backbone", "fcn", "--epochs", "1", "--batch-size", "16",
                 "--latent-dim", "4", "--out", str(out), "--device", "cpu"])
    assert code == 0
    model = load_model(out)
    assert model.metadata["metrics"]["canonical"]["bce"] > 0
    assert "optimizer/model/0/exp_avg" not in __import__("safetensors.torch", fromlist=["x"]).load_file(str(out))
    assert "ae_fcn" in capsys.readouterr().out
    assert model.default_source() == "refined" and model.code_mixture.fidelity is not None


def test_cli_trains_a_step_without_samplers_that_fit_samplers_completes(data, tmp_path, monkeypatch):
    import genlab.data
    from genlab.cli import main

    monkeypatch.setattr(genlab.data, "load_dataset", lambda source, **params: data)
    out = tmp_path / "step.safetensors"
    assert main(["train", "--kind", "ae", "--backbone", "fcn", "--epochs", "1", "--batch-size", "16",
                 "--latent-dim", "4", "--out", str(out), "--device", "cpu", "--no-samplers"]) == 0
    model = load_model(out)
    assert model.code_mixture is None and model.code_density is None and model.default_source() == "prior"
    assert model.metadata["metrics"]["canonical"]["bce"] > 0
    assert main(["train", "--fit-samplers", str(out), "--dataset", "synthetic"]) == 0
    assert load_model(out).default_source() == "refined"


def test_cli_needs_a_model(capsys):
    from genlab.cli import main

    assert main(["train"]) == 2
    assert "--kind and --backbone, or --all" in capsys.readouterr().err


def test_warm_start_copies_an_ae_into_a_vae_and_a_gan():
    ae, vae, gan = tiny("ae", "fcn"), tiny("vae", "fcn"), tiny("gan", "fcn")
    x = torch.from_numpy(blobs(3))
    copied = vae.warm_start(ae.eval())
    assert any("encoder" in name for name in copied) and any("decoder" in name for name in copied)
    vae.eval()
    torch.testing.assert_close(vae.encode(x), ae.encode(x))  # the AE's code becomes the VAE's mean
    assert torch.all(vae.encode_gaussian(x)[1] == -4.0)  # with a small variance
    copied = gan.warm_start(ae)
    assert {name.split(".")[0] for name in copied} == {"encoder", "decoder"}  # mapper, inverse, critic stay fresh
    torch.testing.assert_close(gan.eval().codes(x), ae.encode(x))
    with pytest.raises(ValueError, match="cannot warm-start a gru"):
        tiny("vae", "gru").warm_start(ae)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, path: str, kind: str, options: dict | None = None) -> None:
    """One torchrun-like process: the environment torchrun would set, then the ordinary train() call."""
    import os

    os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), LOCAL_RANK=str(rank),
                      WORLD_SIZE=str(world))
    torch.set_num_threads(1)
    data = VoxelDataset(blobs(96), np.zeros(96, np.int64), blobs(16, seed=1), np.zeros(16, np.int64),
                        source="synthetic", params={"blobs": True})
    train(tiny(kind, "gru", **(options or {})), data, quick(epochs=2), checkpoint_path=path)


@pytest.mark.slow
def test_two_gloo_processes_learn_what_one_process_learns_from_the_same_global_batch(data, tmp_path):
    """DistributedDataParallel on 2 CPU processes (Gloo) equals one process with the same global batch of 16."""
    import torch.multiprocessing as mp

    path = tmp_path / "ddp.safetensors"
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(path), "ae"), nprocs=2, join=True)
    single = tiny("ae", "gru")
    train(single, data, quick(epochs=2))
    ddp = load_model(path)
    assert ddp.metadata["training"]["world_size"] == 2
    assert not torch.equal(ddp.decoder.head.weight, tiny("ae", "gru").decoder.head.weight)  # it did learn
    for (name, p), q in zip(single.state_dict().items(), ddp.state_dict().values()):
        torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4, msg=name)


def test_one_torchrun_process_takes_the_ddp_path_and_learns_what_a_plain_run_learns(data, tmp_path):
    """Under torchrun, one process joins a process group (Gloo here, NCCL on a GPU) and trains inside
    DistributedDataParallel, so `torchrun --nproc_per_node=1` checks the path many GPUs take."""
    import torch.multiprocessing as mp

    path = tmp_path / "ddp1.safetensors"
    mp.spawn(_ddp_worker, args=(1, _free_port(), str(path), "ae"), nprocs=1, join=True)
    plain_path = tmp_path / "plain.safetensors"
    train(tiny("ae", "gru"), data, quick(epochs=2), checkpoint_path=plain_path)
    ddp, plain = load_model(path), load_model(plain_path)
    assert ddp.metadata["training"]["world_size"] == 1 and ddp.metadata["training"]["backend"] == "gloo"
    assert plain.metadata["training"]["backend"] is None
    for (name, p), q in zip(plain.state_dict().items(), ddp.state_dict().values()):
        torch.testing.assert_close(p, q, atol=1e-5, rtol=1e-4, msg=name)


@pytest.mark.slow
@pytest.mark.parametrize("options", [{}, {"ae_weight": 0.0, "voxel_weight": 0.01, "voxel_width": 4}],
                         ids=["latent", "voxel"])
def test_a_gan_trains_under_ddp(tmp_path, options):
    import torch.multiprocessing as mp

    path = tmp_path / "gan.safetensors"
    mp.spawn(_ddp_worker, args=(2, _free_port(), str(path), "gan", options), nprocs=2, join=True)
    gan = load_model(path)
    assert gan.metadata["training"]["epochs_done"] == 2
    assert (gan.voxel_critic is not None) == bool(options)


@pytest.mark.slow
def test_cli_all_with_chain_trains_the_twelve_and_writes_the_manifest(data, tmp_path, monkeypatch):
    import json

    import genlab.data
    from genlab.cli import main

    monkeypatch.setattr(genlab.data, "load_dataset", lambda source, **params: data)
    assert main(["train", "--all", "--chain", "--epochs", "1", "--batch-size", "32", "--latent-dim", "4",
                 "--second-stage-steps", "5", "--device", "cpu", "--out", str(tmp_path)]) == 0
    entries = json.loads((tmp_path / "manifest.json").read_text())["models"]
    assert [e["name"] for e in entries] == [f"{k}_{b}" for k in ("ae", "vae", "gan")
                                            for b in ("fcn", "cnn_mlp", "lstm", "gru")]
    by_name = {e["name"]: e for e in entries}
    assert load_model(tmp_path / "vae_gru.safetensors").metadata["training"]["init_from"] == "ae_gru.safetensors"
    gan = load_model(tmp_path / "gan_fcn.safetensors")
    assert gan.metadata["training"]["init_from"] == "ae_fcn.safetensors" and gan.config["ae_weight"] == 0.0
    assert gan.metadata["training"]["init_fingerprints"] == [data.fingerprint]  # the data its donor saw
    torch.testing.assert_close(
        gan.decoder.state_dict(), load_model(tmp_path / "ae_fcn.safetensors").decoder.state_dict()
    )
    assert (gan.code_density is not None
            and gan.sample(2, digit=int(gan.code_density.weights.argmax())).shape == (2, 16, 16, 16))
    vae = load_model(tmp_path / "vae_fcn.safetensors")
    assert gan.second_stage is None and vae.second_stage is not None and vae.default_source() == "refined"
    assert by_name["ae_lstm"]["dataset"]["fingerprint"] == data.fingerprint
    assert by_name["gan_cnn_mlp"]["reconstruction_method"].startswith("encoder after the fact")
    assert all(e["metrics"]["canonical"]["bce"] > 0 for e in entries)


def test_a_warm_start_takes_its_donors_network_sizes(data, tmp_path, monkeypatch):
    import genlab.data
    from genlab.cli import main

    monkeypatch.setattr(genlab.data, "load_dataset", lambda source, **params: data)
    common = ["--backbone", "fcn", "--epochs", "1", "--batch-size", "32", "--latent-dim", "4",
              "--second-stage-steps", "5", "--device", "cpu"]
    assert main(["train", "--kind", "ae", *common, "--set", "width=4", "--out", str(tmp_path / "ae.safetensors")]) == 0
    assert main(["train", "--kind", "vae", *common, "--init-from", str(tmp_path / "ae.safetensors"),
                 "--out", str(tmp_path / "vae.safetensors")]) == 0
    ae, vae = load_model(tmp_path / "ae.safetensors"), load_model(tmp_path / "vae.safetensors")
    assert vae.config["width"] == 4 != build_model("vae", "fcn").config["width"]
    assert {k: v.shape for k, v in vae.decoder.state_dict().items()} == \
        {k: v.shape for k, v in ae.decoder.state_dict().items()}
