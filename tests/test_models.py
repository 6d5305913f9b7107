"""The twelve models: one contract (shapes, ranges), the backbones' structure, checkpoints and their errors."""

import json
import math
import struct
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

import genlab
from genlab.models import BACKBONES, KINDS, build_model, load_model, save_model, shipped_models
from genlab.models.kinds import StepSettings

TINY = {"fcn": {"width": 4}, "cnn_mlp": {"width": 4, "hidden": 16}, "lstm": {"hidden": 16}, "gru": {"hidden": 16}}
PAIRS = [(k, b) for k in KINDS for b in BACKBONES]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def tiny(kind, backbone, latent_dim=3, **config):
    torch.manual_seed(0)
    return build_model(kind, backbone, latent_dim=latent_dim, **TINY[backbone], **config)


def voxels(n, seed=0):
    return torch.rand(n, 16, 16, 16, generator=torch.Generator().manual_seed(seed))


def test_registry_names_the_twelve():
    assert KINDS == ("ae", "vae", "gan")
    assert BACKBONES == ("fcn", "cnn_mlp", "lstm", "gru")


@pytest.mark.parametrize("kind,backbone", PAIRS)
def test_contract_shapes_and_ranges(kind, backbone):
    model = tiny(kind, backbone).eval()
    x = voxels(5)
    z = model.encode(x)
    assert z.shape == (5, 3)
    grids = model.decode(z)
    assert grids.shape == (5, 16, 16, 16)
    assert grids.min() >= 0 and grids.max() <= 1
    assert model.sample(4, generator=torch.Generator().manual_seed(1)).shape == (4, 16, 16, 16)
    assert model.reconstruct(x).shape == (5, 16, 16, 16)
    for mode in ("linear", "spherical"):
        assert model.interpolate(x[0], x[1], 6, mode=mode).shape == (6, 16, 16, 16)
    model.train()
    losses = model(x)
    assert torch.isfinite(losses.total) and losses.total.ndim == 0
    assert "recon" in losses.terms
    assert (model.kind, model.backbone, model.latent_dim) == (kind, backbone, 3)
    json.dumps(model.config)  # JSON-able


def test_sampling_is_seeded():
    model = tiny("vae", "gru").eval()
    a = model.sample(3, generator=torch.Generator().manual_seed(7))
    b = model.sample(3, generator=torch.Generator().manual_seed(7))
    assert torch.equal(a, b)


def test_interpolation_starts_and_ends_at_the_reconstructions():
    model = tiny("ae", "fcn").eval()
    x = voxels(2)
    for mode in ("linear", "spherical"):
        path = model.interpolate(x[0], x[1], 5, mode=mode)
        torch.testing.assert_close(path[0], model.reconstruct(x[:1])[0], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(path[-1], model.reconstruct(x[1:])[0], atol=1e-5, rtol=1e-4)
    with pytest.raises(ValueError, match="interpolation mode"):
        model.interpolate(x[0], x[1], 3, mode="cubic")


def layer_types(module):
    return {type(m) for m in module.modules()}


def test_fcn_is_convolutions_only():
    types = layer_types(tiny("ae", "fcn"))
    assert nn.Linear not in types and nn.Conv3d in types and nn.ConvTranspose3d in types


def test_cnn_mlp_has_a_dense_bottleneck_and_recurrent_backbones_their_cells():
    assert {nn.Conv3d, nn.Linear} <= layer_types(tiny("ae", "cnn_mlp"))
    assert nn.LSTM in layer_types(tiny("vae", "lstm")) and nn.GRU not in layer_types(tiny("vae", "lstm"))
    assert nn.GRU in layer_types(tiny("vae", "gru"))


def test_gan_plays_in_code_space_and_reconstructs_through_its_inverse():
    model = tiny("gan", "cnn_mlp").eval()
    x, z = voxels(3), torch.randn(3, model.latent_dim)
    assert model.critic(model.codes(x)).shape == (3, 1)
    torch.testing.assert_close(model.decode(z), torch.sigmoid(model.decoder(model.mapper(z))))
    torch.testing.assert_close(model.encode(x), model.inverse(model.encoder(x)))
    d_ids = {id(p) for p in model.discriminator_parameters()}
    g_ids = {id(p) for p in model.generator_parameters()}
    assert d_ids and g_ids and not d_ids & g_ids
    assert "encoder" in model.reconstruction_method
    assert set(model(x).terms) == {"recon", "adv", "cycle"}
    assert set(model(x, part="critic").terms) == {"w_distance", "gp"}
    assert model.voxel_critic is None  # latent-only by default: older checkpoints keep their tensors


def test_gan_with_a_fixed_autoencoder_trains_only_the_latent_game():
    model = tiny("gan", "fcn", ae_weight=0.0).train()
    norms = [m for m in (*model.encoder.modules(), *model.decoder.modules()) if isinstance(m, torch.nn.BatchNorm3d)]
    assert norms and not any(m.training for m in norms)  # batch-norm statistics stay put
    ids = {id(p) for p in model.generator_parameters()}
    assert not any(id(p) in ids for p in model.encoder.parameters())
    assert set(model(voxels(3)).terms) == {"adv", "cycle"}


def test_gan_with_a_voxel_critic_fine_tunes_its_decoder_against_real_grids():
    model = tiny("gan", "fcn", ae_weight=0.0, voxel_weight=0.5, voxel_width=4).train()
    x = voxels(4)
    assert model.voxel_critic(x).shape == (4, 1)
    g_ids = {id(p) for p in model.generator_parameters()}
    d_ids = {id(p) for p in model.discriminator_parameters()}
    assert all(id(p) in g_ids for p in model.decoder.parameters())  # the decoder is no longer the AE's
    assert not any(id(p) in g_ids for p in model.encoder.parameters())
    assert all(id(p) in d_ids for p in model.voxel_critic.parameters()) and not d_ids & g_ids
    assert set(model(x).terms) == {"recon", "adv", "voxel_adv", "cycle"}
    fakes = model.decode(model.prior(4)).detach()
    assert set(model(x, part="critic", fakes=fakes).terms) == {"w_distance", "gp", "voxel_hinge", "voxel_gap"}
    # One training step moves the decoder and both critics, and leaves the encoder as it was.
    before = {name: t.clone() for name, t in model.state_dict().items()}
    optimisers = model.make_optimisers(1e-3)
    losses = model.training_step(model, x, optimisers, StepSettings())
    assert {"voxel_adv", "voxel_hinge", "voxel_gap"} <= set(losses) and all(map(math.isfinite, losses.values()))
    after = model.state_dict()
    changed = {name.split(".")[0] for name in after if not torch.equal(before[name], after[name])}
    assert {"decoder", "critic", "voxel_critic", "mapper"} <= changed and "encoder" not in changed


def test_a_gan_on_a_fixed_autoencoder_freezes_only_its_batch_norm_statistics():
    """cuDNN's recurrent layers refuse a backward pass in eval mode, and the voxel game backpropagates
    through the decoder: only batch-norm layers may be held in eval mode."""
    for backbone in ("fcn", "lstm"):
        model = tiny("gan", backbone, latent_dim=4, ae_weight=0.0, voxel_weight=0.1, voxel_width=4).train()
        frozen = {type(m).__name__ for m in model.modules() if not m.training}
        assert frozen <= {"BatchNorm3d", "BatchNorm1d"}
        assert model.decoder.training and model.encoder.training
        assert ("BatchNorm3d" in frozen) == (backbone == "fcn")
        before = {name: value.clone() for name, value in model.state_dict().items() if "running" in name}
        model.training_step(model, voxels(4), model.make_optimisers(1e-3), StepSettings())
        assert all(torch.equal(model.state_dict()[name], value) for name, value in before.items())


def test_build_model_rejects_unknown_names_and_options():
    with pytest.raises(ValueError, match="unknown model kind 'flow'"):
        build_model("flow", "fcn")
    with pytest.raises(ValueError, match="unknown backbone 'transformer'"):
        build_model("ae", "transformer")
    with pytest.raises(ValueError, match="unknown option"):
        build_model("ae", "fcn", beta=2.0)  # beta belongs to the VAE
    with pytest.raises(ValueError, match="latent_dim"):
        build_model("ae", "fcn", latent_dim=0)


@pytest.mark.parametrize("kind,backbone", PAIRS)
def test_save_load_round_trip_reproduces_outputs(kind, backbone, tmp_path):
    model = tiny(kind, backbone, latent_dim=4).eval()
    path = save_model(model, tmp_path / "m.safetensors",
                      {"dataset": {"source": "synthetic", "fingerprint": "abc123"}, "metrics": {"bce": 0.1}})
    loaded = load_model(path)
    assert not loaded.training
    assert (loaded.kind, loaded.backbone, loaded.latent_dim, loaded.config) == (kind, backbone, 4, model.config)
    assert loaded.metadata["dataset"]["fingerprint"] == "abc123"
    assert loaded.metadata["metrics"] == {"bce": 0.1}
    assert loaded.metadata["format_version"] == 1
    z = torch.randn(3, 4)
    torch.testing.assert_close(loaded.decode(z), model.decode(z), atol=0, rtol=0)
    x = voxels(2)
    torch.testing.assert_close(loaded.encode(x), model.encode(x), atol=0, rtol=0)
    if kind == "gan":
        assert loaded.metadata["reconstruction_method"] == model.reconstruction_method


def test_a_voxel_gan_round_trips_with_its_critic(tmp_path):
    model = tiny("gan", "fcn", latent_dim=4, ae_weight=0.0, voxel_weight=0.1, voxel_width=4)
    model.train()
    model.training_step(model, voxels(4), model.make_optimisers(1e-3), StepSettings())  # moves the spectral norms
    model.eval()
    loaded = load_model(save_model(model, tmp_path / "g.safetensors", {}))
    assert loaded.config["voxel_weight"] == 0.1
    x, z = voxels(3), torch.randn(3, 4)
    torch.testing.assert_close(loaded.voxel_critic(x), model.voxel_critic(x), atol=0, rtol=0)
    torch.testing.assert_close(loaded.decode(z), model.decode(z), atol=0, rtol=0)


def test_a_checkpoint_stored_in_float16_loads_as_float32_with_its_samplers_untouched(tmp_path):
    from genlab.models import fit_samplers
    from genlab.models.checkpoint import read_checkpoint, store_half

    model = tiny("vae", "fcn", latent_dim=4).eval()
    fit_samplers(model, voxels(40), np.arange(40) % 2, second_stage_steps=5)
    path = save_model(model, tmp_path / "m.safetensors", {"metrics": {"bce": 0.1}})
    before, _ = read_checkpoint(path)
    store_half(path)
    tensors, meta = read_checkpoint(path)
    floats = [k for k in model.state_dict() if before[k].dtype == torch.float32]
    assert {tensors[k].dtype for k in floats} == {torch.float16}
    assert sum(tensors[k].nbytes for k in floats) * 2 == sum(before[k].nbytes for k in floats)
    assert all(torch.equal(tensors[k], v) for k, v in before.items() if k not in model.state_dict())  # samplers
    assert meta["metrics"] == {"bce": 0.1}
    loaded = load_model(path)
    assert {p.dtype for p in loaded.parameters()} == {torch.float32}
    z = torch.randn(3, 4)
    torch.testing.assert_close(loaded.decode(z), model.decode(z), atol=2e-3, rtol=0)
    generator = torch.Generator().manual_seed(0)
    torch.testing.assert_close(loaded.latents(5, generator=generator),
                               model.latents(5, generator=torch.Generator().manual_seed(0)), atol=0, rtol=0)


def test_float16_storage_refuses_training_state_and_non_finite_weights(tmp_path):
    from genlab.models.checkpoint import store_half

    model = tiny("ae", "fcn", latent_dim=4)
    path = save_model(model, tmp_path / "run.safetensors", {}, extra_tensors={"resume/model/x": torch.zeros(1)})
    with pytest.raises(ValueError, match="run.safetensors: holds training state to resume from"):
        store_half(path)
    first = next(iter(model.state_dict()))
    with torch.no_grad():
        model.state_dict()[first][0] = float("nan")
    path = save_model(model, tmp_path / "bad.safetensors", {})
    with pytest.raises(ValueError, match="bad.safetensors: weights contain NaN or infinite values"):
        store_half(path)


def test_float16_storage_keeps_a_tensor_beyond_its_range_in_float32(tmp_path):
    from genlab.models.checkpoint import read_checkpoint, store_half

    model = tiny("ae", "cnn_mlp", latent_dim=4).eval()
    variances = [name for name in model.state_dict() if name.endswith("running_var")]
    with torch.no_grad():
        model.state_dict()[variances[0]].fill_(5e6)  # beyond float16's largest, 65504, as a trained decoder's can be
    path = save_model(model, tmp_path / "big.safetensors", {})
    store_half(path)
    tensors, _ = read_checkpoint(path)
    assert tensors[variances[0]].dtype == torch.float32 and tensors[variances[0]].max() == 5e6
    assert tensors[variances[1]].dtype == torch.float16
    z = torch.randn(3, 4)
    torch.testing.assert_close(load_model(path).decode(z), model.decode(z), atol=2e-3, rtol=0)


def test_genlab_load_model_is_the_same_function():
    assert genlab.load_model is load_model


def test_import_genlab_does_not_import_torch():
    code = "import sys, genlab; assert 'torch' not in sys.modules; print(genlab.__version__)"
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


@pytest.fixture
def checkpoint(tmp_path):
    return save_model(tiny("vae", "fcn"), tmp_path / "vae_fcn.safetensors")


def test_load_rejects_a_foreign_file_naming_it(tmp_path):
    path = tmp_path / "holiday.safetensors"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    with pytest.raises(ValueError, match="holiday.safetensors"):
        load_model(path)


def test_load_rejects_a_truncated_file_naming_it(checkpoint):
    data = checkpoint.read_bytes()
    checkpoint.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"vae_fcn\.safetensors.*(truncated|readable)"):
        load_model(checkpoint)


def test_load_rejects_safetensors_without_genlab_metadata(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, str(path), metadata={"framework": "someone else"})
    with pytest.raises(ValueError, match="other.safetensors.*not a genlab checkpoint"):
        load_model(path)


def test_load_rejects_weights_for_another_architecture(checkpoint, tmp_path):
    """A file whose metadata says vae/fcn but whose tensors belong to an ae/gru model."""
    from safetensors import safe_open
    from safetensors.torch import save_file

    with safe_open(str(checkpoint), framework="pt") as f:
        metadata = f.metadata()
    other = {k: v.contiguous() for k, v in tiny("ae", "gru").state_dict().items()}
    path = tmp_path / "mixed.safetensors"
    save_file(other, str(path), metadata=metadata)
    with pytest.raises(ValueError, match=r"mixed\.safetensors.*do not match a vae/fcn"):
        load_model(path)


def test_load_rejects_a_newer_format_version(checkpoint, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(str(checkpoint), framework="pt") as f:
        info = json.loads(f.metadata()["genlab"])
    info["format_version"] = 99
    path = tmp_path / "future.safetensors"
    save_file(load_file(str(checkpoint)), str(path), metadata={"genlab": json.dumps(info)})
    with pytest.raises(ValueError, match="future.safetensors.*version 99"):
        load_model(path)


def test_load_rejects_a_header_that_claims_too_much(tmp_path):
    path = tmp_path / "liar.safetensors"
    path.write_bytes(struct.pack("<Q", 10**12) + b"{}")
    with pytest.raises(ValueError, match="liar.safetensors"):
        load_model(path)


def test_missing_checkpoint_is_a_clear_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="nowhere.safetensors"):
        load_model(tmp_path / "nowhere.safetensors")


def test_shipped_models_load_and_match_the_manifest():
    entries = shipped_models()
    if not entries:
        pytest.skip("no weights/manifest.json yet")
    assert sorted(e["name"] for e in entries) == sorted(f"{k}_{b}" for k, b in PAIRS)
    for entry in entries:
        model = load_model(entry["path"])
        assert (model.kind, model.backbone) == (entry["kind"], entry["backbone"])
        assert sum(p.numel() for p in model.parameters()) == entry["params"]
        assert model.decode(torch.zeros(1, model.latent_dim)).shape == (1, 16, 16, 16)
        assert entry["size_bytes"] < 8 * 2**20  # a few MB at most
        assert set(entry["metrics"]) == {"canonical", "rotated"}


def test_losses_flatten_to_their_tensors_for_distributed_data_parallel():
    """DDP (torch/nn/parallel/distributed.py) finds a forward's output tensors with pytree's tree_flatten."""
    from torch.nn.parallel.distributed import _tree_flatten_with_rref

    from genlab.models import Losses

    total, recon = torch.tensor(1.5, requires_grad=True), torch.tensor(0.5)
    leaves = _tree_flatten_with_rref(Losses(total, {"recon": recon}))[0]  # (tensors, spec, is_rref)
    assert any(leaf is total for leaf in leaves) and any(leaf is recon for leaf in leaves)
