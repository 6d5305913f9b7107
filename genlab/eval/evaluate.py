"""The full evaluation of generative models: what `python -m genlab evaluate` computes.

For each checkpoint, on a dataset's test split (X (N, 16, 16, 16), y (N,)):

- reconstruction: the paper's BCE and MSE, IoU at 0.5, per-digit BCE, and the same on inputs
  with Gaussian noise (variance 0.1) against clean targets;
- generation: `n_draws` sets of `n_samples` samples from fixed seeds (a Fréchet distance is the mean over
  the sets; the other figures are the first set's), from each latent source the model has (the
  per-digit code mixture, refined and as fitted, and density of every kind, see genlab.models.density; the N(0, I) prior
  of a VAE or GAN; a VAE's second stage, see genlab.models.second_stage), judged by the digit
  classifier: Fréchet distance and PRDC of its features against real test digits with the training
  split's mix of canonical and rotated digits (`reference_digits`), the distribution of the labels
  it predicts, and how often a sample asked of digit d is classified as d; "generation" is what
  model.sample() gives, "reconstructions" the same figures for the model's reconstructions of
  those real digits (the bar its samples are held to), "training_reconstructions" for its
  reconstructions of `n_draws` sets of `n_samples` training digits (other digits than the reference: what a
  sampler that replayed the training digits' codes would score; a set judged against its own
  reconstructions is paired with it, so "reconstructions" scores lower than any other digits can);
  Generated grids and the reconstructions judged beside them go through the model's output curve
  (model.render, genlab.models.output_curve) where it has one; the BCE, MSE and IoU judge the
  reconstructions' probabilities as decoded;
- latent space: straight paths between pairs of test digits of different labels, classified;
- cost: parameters, training time and throughput (from the checkpoint), latency per sample.

Every figure except wall-clock timings (kept under "timing" and "run") is a deterministic
function of the checkpoints, the dataset and EvalConfig: two runs give identical numbers.
"""

import hashlib
import os
import platform
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from genlab import __version__
from genlab.eval import classifier as clf
from genlab.eval import frechet, latent, metrics, paper, prdc, stats
from genlab.models.density import DIGIT_REFINE_POWER, DIGIT_SPREAD
from genlab.models.interpolation import latent_path
from genlab.names import LATENT_SOURCES
from genlab.timing import median_seconds

FORMAT = "genlab-evaluation"
FORMAT_VERSION = 1
N_DIGITS = 10


@dataclass(frozen=True)
class EvalConfig:
    """Sample counts and seeds: fixed so that figures compare run to run."""

    n_samples: int = 1000  # generated grids per model (and real test digits they are compared with)
    sample_seed: int = 0
    # Sets drawn for each Fréchet distance of generated (and training) digits, its value their mean: one
    # draw's FD moves by up to 1.8x between seeds (gan_lstm's refined samples 7.8-14.2 over five seeds).
    n_draws: int = 5
    draw_seed_step: int = 100  # the d-th set's seed is sample_seed + d * draw_seed_step (draw_seed)
    prdc_k: int = 5
    n_boot: int = 200  # bootstrap rounds for confidence intervals
    noise_variance: float = 0.1
    noise_seed: int = 0
    n_paths: int = 100  # latent interpolation paths per model
    path_steps: int = 9  # points per path, endpoints included
    path_seed: int = 0
    density_fit_size: int = 5000  # training digits whose codes fit a per-digit density if a checkpoint has none
    n_per_digit: int = 100  # samples asked of each digit (density sampling on request)
    latency_repeats: int = 15
    batch_size: int = 250


def file_sha256(path) -> str:
    """Returns the hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@torch.no_grad()
def _batched(fn, X: np.ndarray, batch_size: int) -> np.ndarray:
    """Returns np.concatenate of fn(batch) over float32 batches of X."""
    X = torch.as_tensor(np.asarray(X, dtype=np.float32))
    return torch.cat([fn(batch) for batch in X.split(batch_size)]).double().numpy()


def code_density(model, data, config: "EvalConfig"):
    """Returns the model's per-digit code density: the checkpoint's own, else one fitted here to
    `density_fit_size` training digits (a fixed, seeded subset)."""
    from genlab.models.density import fit_code_density

    if model.code_density is not None:
        return model.code_density
    pick = np.random.default_rng(config.sample_seed).permutation(len(data.X_train))[: config.density_fit_size]
    return fit_code_density(model, data.X_train[pick], np.asarray(data.y_train)[pick], config.batch_size)


def draw_seed(config: "EvalConfig", draw: int) -> int:
    """Returns the seed of the draw-th set of samples (draw 0: sample_seed, as with a single draw)."""
    return config.sample_seed + config.draw_seed_step * draw


@torch.no_grad()
def draw_samples(model, n: int, seed: int, source: str | None, digit: int | None = None,
                 batch_size: int = 250) -> np.ndarray:
    """Returns n generated grids (n, 16, 16, 16), float64, from latents of `source` ("refined", "mixture", "prior",
    "two-stage", "density" or None for the default, see GenerativeModel.latents), optionally all of one
    digit; deterministic by seed."""
    z = model.latents(n, torch.Generator().manual_seed(seed), source, digit)
    return _batched(model.generate, z.numpy(), batch_size)


def sampling_metrics(model, classifier, real_features: np.ndarray, config: "EvalConfig") -> dict:
    """Returns generation metrics for each latent source the model has ({"refined": ..., "mixture": ..., "prior": ...,
    "two-stage": ..., "density": ...}; an AE has no prior, only a VAE a second stage) and "on_request": how
    often a sample asked of digit d (from the model's digit_source()) is classified as d."""
    result = {}
    for source in model.latent_sources():
        draws = [clf.classify(classifier, draw_samples(model, config.n_samples, draw_seed(config, draw), source,
                                                       batch_size=config.batch_size))
                 for draw in range(config.n_draws)]
        result[source] = {"source": source, "sampling": LATENT_SOURCES[source],
                          **_sets_metrics(real_features, draws, config)}
    hits, source = [], model.digit_source()
    density = model.per_digit(source)
    for digit in range(N_DIGITS):
        if density.digit_weights()[digit] == 0:  # no training examples of it: it cannot be asked for
            hits.append(None)
            continue
        grids = draw_samples(
            model, config.n_per_digit, config.sample_seed + 1 + digit, source, digit, config.batch_size
        )
        hits.append(float((clf.classify(classifier, grids)[0].argmax(axis=1) == digit).mean()))
    known = [h for h in hits if h is not None]
    result["on_request"] = {"source": source, "per_digit": hits, "mean": float(np.mean(known)) if known else None,
                            "n_per_digit": config.n_per_digit, "spread": DIGIT_SPREAD,
                            **({"refine_power": DIGIT_REFINE_POWER} if source == "refined" else {})}
    return result


def _mean_ci(values: np.ndarray, config: EvalConfig) -> dict:
    low, high = stats.bootstrap_mean_ci(values, n_boot=config.n_boot, seed=0)
    return {"mean": float(values.mean()), "ci": [low, high]}


def reconstruction_metrics(X: np.ndarray, y: np.ndarray, recon: np.ndarray, config: EvalConfig) -> dict:
    """Returns BCE, MSE, IoU (each mean with CI) and per-digit mean BCE of reconstructions of X."""
    per_sample = {"bce": metrics.bce(X, recon), "mse": metrics.mse(X, recon), "iou": metrics.iou(X, recon)}
    result = {name: _mean_ci(values, config) for name, values in per_sample.items()}
    result["bce_per_digit"] = [
        float(per_sample["bce"][y == d].mean()) if (y == d).any() else None for d in range(N_DIGITS)
    ]
    return result


def generation_metrics(real_features: np.ndarray, probs: np.ndarray, features: np.ndarray, config: EvalConfig,
                       more_draws: list = ()) -> dict:
    """Returns FD, PRDC (each with a CI) and the predicted-label distribution of generated samples (features).

    more_draws: the features of further sets drawn as `features` was (EvalConfig.n_draws): the FD is then the
    mean over all the sets, "draws" lists each one's, and its interval is their range; PRDC and the labels are
    the first set's. One set alone: its FD, with a bootstrap CI.
    """
    terms = prdc.prdc_per_sample(real_features, features, k=config.prdc_k)
    if more_draws:
        draws = [frechet.frechet_distance(real_features, f) for f in (features, *more_draws)]
        fd = {"value": float(np.mean(draws)), "ci": [min(draws), max(draws)], "draws": draws}
    else:
        low, high = stats.bootstrap_ci(
            frechet.frechet_distance, [real_features, features], n_boot=config.n_boot, seed=0, recentre=True
        )
        # An FD cannot be negative: clip the re-centred interval there.
        fd = {"value": frechet.frechet_distance(real_features, features), "ci": [max(low, 0.0), high]}
    result = {"fd": fd}
    for name in ("precision", "recall", "density", "coverage"):
        result[name] = _mean_ci(terms[name].astype(np.float64), config)
    result["labels"] = stats.label_distribution(probs.argmax(axis=1), N_DIGITS)
    result["confidence"] = float(probs.max(axis=1).mean())
    return result


def interpolation_pairs(y: np.ndarray, n_paths: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Returns index arrays (a, b), each (n_paths,), of test digits with different labels."""
    rng = np.random.default_rng(seed)
    a = rng.integers(0, len(y), size=n_paths)
    b = rng.integers(0, len(y), size=n_paths)
    for i in np.flatnonzero(y[a] == y[b]):  # redraw the few same-label partners
        candidates = np.flatnonzero(y != y[a[i]])
        b[i] = candidates[rng.integers(0, len(candidates))] if len(candidates) else b[i]
    return a, b


@torch.no_grad()
def latent_metrics(model, classifier, X: np.ndarray, y: np.ndarray, config: EvalConfig) -> dict:
    """Returns path_quality and path_evenness of linear latent paths between pairs of test digits."""
    a, b = interpolation_pairs(y, config.n_paths, config.path_seed)
    z_a = torch.as_tensor(_batched(model.encode, X[a], config.batch_size))
    z_b = torch.as_tensor(_batched(model.encode, X[b], config.batch_size))
    path = latent_path(z_a.double(), z_b.double(), config.path_steps)  # (P, S, D)
    grids = _batched(model.generate, path.reshape(-1, path.shape[-1]).numpy(), config.batch_size)
    probs, _ = clf.classify(classifier, grids)
    n, s = config.n_paths, config.path_steps
    result = latent.path_quality(probs.reshape(n, s, -1), y[a], y[b])
    result["evenness"] = latent.path_evenness(grids.reshape(n, s, -1))
    return result


@torch.no_grad()
def cost_metrics(model, path, config: EvalConfig, X: np.ndarray) -> tuple[dict, dict]:
    """Returns (cost, timing): sizes and training figures from the checkpoint; latencies measured now."""
    training = model.metadata.get("training", {}) if hasattr(model, "metadata") else {}
    params = sum(p.numel() for p in model.parameters())
    critic = sum(p.numel() for p in model.discriminator_parameters()) if model.kind == "gan" else 0
    cost = {
        "params": params - critic,  # what generating and reconstructing use
        "params_with_discriminator": params,
        "file_bytes": Path(path).stat().st_size if path else None,
        "train_seconds": training.get("seconds"),
        # A warm-started model (e.g. a VAE initialised from the AE) also cost its donor's training.
        "train_seconds_total": None if training.get("seconds") is None
        else training["seconds"] + (training.get("init_seconds") or 0.0),
        "warm_start_from": training.get("init_from"),
        "train_samples_per_s": training.get("samples_per_s"),
        "train_epochs": training.get("epochs_done"),
        "train_device": training.get("device"),
        "train_world_size": training.get("world_size"),
    }
    one_z = torch.zeros(1, model.latent_dim)
    one_x = torch.as_tensor(np.asarray(X[:1], dtype=np.float32))
    timing = {
        "latent_ms": 1000 * median_seconds(lambda: model.latents(1), config.latency_repeats),  # default sampler
        "decode_ms": 1000 * median_seconds(lambda: model.decode(one_z), config.latency_repeats),
        "reconstruct_ms": 1000 * median_seconds(lambda: model.reconstruct(one_x), config.latency_repeats),
    }
    return cost, timing


def _display_path(path) -> str:
    """Returns path relative to the repository when inside it (so results do not name this machine)."""
    from genlab import paths

    path = Path(path).resolve()
    return str(path.relative_to(paths.REPO_ROOT)) if path.is_relative_to(paths.REPO_ROOT) else str(path)


def _trained_on(model, data) -> dict:
    """Returns the checkpoint's training-data source and fingerprint, and whether it and the data of
    the weights it was warm-started from match data."""
    metadata = getattr(model, "metadata", None) or {}
    trained = metadata.get("dataset") or {}
    fingerprint = trained.get("fingerprint")
    # The data of the weights it was warm-started from (and theirs), as the trainer records them.
    donors = (metadata.get("training") or {}).get("init_fingerprints", [])
    here = data.describe()
    return {"source": trained.get("source"), "fingerprint": fingerprint, "init_fingerprints": donors,
            "same_data": None if fingerprint is None else fingerprint == here.get("fingerprint"),
            "donors_same_data": all(f == here.get("fingerprint") for f in donors),
            "same_recipe": trained.get("source") == here.get("source") and trained.get("params") == here.get("params")}


def evaluate_model(model, path, data, classifier, real_features: np.ndarray, config: EvalConfig,
                   extra_tests: dict | None = None, reference: np.ndarray | None = None) -> dict:
    """Returns every figure for one model (a dict, JSON-able); see the module docstring.

    extra_tests: {name: (X (M, 16, 16, 16), y (M,))} further test sets scored on reconstruction
    only (e.g. "rotated": the same test digits randomly rotated). reference: the real grids whose
    classifier features are real_features (default: the first ones of the test split); their
    reconstructions are judged as samples are ("reconstructions").
    """
    torch.manual_seed(0)
    X, y = data.X_test, np.asarray(data.y_test)
    start = time.perf_counter()
    recon = _batched(model.reconstruct, X, config.batch_size)
    reconstruct_seconds = time.perf_counter() - start
    record = {
        "kind": model.kind,
        "backbone": model.backbone,
        "latent_dim": model.latent_dim,
        "checkpoint": None
        if path is None
        else {"path": _display_path(path), "name": Path(path).stem, "sha256": file_sha256(path)},
        "trained_on": _trained_on(model, data),
        "reconstruction_method": (getattr(model, "metadata", None) or {}).get("reconstruction_method"),
        "gan_game": model.game() if model.kind == "gan" else None,
        "output_curve": model.output_curve is not None,  # generated grids judged through it (model.render)
        "reconstruction": reconstruction_metrics(X, y, recon, config),
    }
    record["extra_tests"] = {
        name: reconstruction_metrics(Xe, np.asarray(ye), _batched(model.reconstruct, Xe, config.batch_size), config)
        for name, (Xe, ye) in (extra_tests or {}).items()
    }

    from genlab.data import add_gaussian_noise

    noisy = add_gaussian_noise(X, variance=config.noise_variance, seed=config.noise_seed)
    record["noisy_reconstruction"] = reconstruction_metrics(
        X, y, _batched(model.reconstruct, noisy, config.batch_size), config
    )

    own_density = model.code_density
    model.code_density = code_density(model, data, config)  # lent for the evaluation when the checkpoint has none
    try:
        record["sampling"] = sampling_metrics(model, classifier, real_features, config)
        record["generation"] = record["sampling"][model.default_source()]  # what model.sample() gives
    finally:
        model.code_density = own_density
    record["sampling"]["density_fitted_by_evaluation"] = own_density is None
    reference = X[: len(real_features)] if reference is None else reference

    def shown(grids):  # reconstructions, judged as generated grids are: through model.render
        return _batched(lambda x: model.render(model.reconstruct(x)), grids, config.batch_size)

    probs, features = clf.classify(classifier, shown(reference))
    record["reconstructions"] = generation_metrics(real_features, probs, features, config)
    record["training_reconstructions"] = _training_metrics(data, classifier, real_features, config, shown)
    record["latent"] = latent_metrics(model, classifier, X, y, config)
    record["cost"], record["timing"] = cost_metrics(model, path, config, X)
    record["timing"]["reconstruct_batch_ms_per_sample"] = reconstruct_seconds / len(X) * 1000
    record["timing"]["evaluate_seconds"] = time.perf_counter() - start
    return record


def training_picks(data, config: EvalConfig) -> list:
    """Returns the indices of the sets of n_samples training digits (fixed, seeded, disjoint; n_draws of them,
    as many as the training split holds) that are judged as if they were samples: as they are (the real-digit
    reference row) and as each model reconstructs them."""
    order = np.random.default_rng(config.sample_seed + 1).permutation(len(data.X_train))
    n = config.n_samples
    return [order[i * n:(i + 1) * n] for i in range(max(1, min(config.n_draws, len(order) // n)))]


def _training_metrics(data, classifier, real_features: np.ndarray, config: EvalConfig, transform) -> dict:
    """Returns generation_metrics of the training digits' sets (training_picks), each passed through transform."""
    draws = [clf.classify(classifier, transform(data.X_train[pick])) for pick in training_picks(data, config)]
    return _sets_metrics(real_features, draws, config)


def _sets_metrics(real_features: np.ndarray, draws: list, config: EvalConfig) -> dict:
    """Returns generation_metrics of sets drawn alike, draws: [(probs, features), ...] as classifier.classify gives
    them: the first set's figures, and the FD over all of them."""
    return generation_metrics(real_features, *draws[0], config, [features for _, features in draws[1:]])


def reference_metrics(data, classifier, real_features: np.ndarray, config: EvalConfig) -> dict:
    """Returns the figures that give the models' numbers meaning: BCE floor, mean-voxel baseline,
    and real training digits judged as if they were generated samples (the best a generator can do)."""
    X = data.X_test
    floor = metrics.bce_floor(X)
    return {
        "bce_floor": float(floor.mean()),
        "mean_voxel_baseline": metrics.mean_voxel_baseline(data.X_train, X),
        "real_train_digits": _training_metrics(data, classifier, real_features, config, lambda grids: grids),
    }


def reference_digits(data, rotated: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray, dict]:
    """Returns (grids (n, 16, 16, 16), labels (n,), description) of the real digits that samples are judged
    against: the first n test digits, the later ones taken from `rotated` (the same test digits randomly
    rotated) in the share the training split rotates (rotated_copies / (1 + rotated_copies)), so the
    reference mixes canonical and rotated digits as the models' training digits do. rotated None: all
    canonical."""
    n = min(n, len(data.X_test))
    copies = (data.params or {}).get("rotated_copies", 0) if rotated is not None else 0
    n_rotated = round(n * copies / (1 + copies))
    grids = data.X_test[:n] if not n_rotated else np.concatenate([data.X_test[:n - n_rotated],
                                                                   rotated[n - n_rotated:n]])
    description = {"n": n, "canonical": n - n_rotated, "rotated": n_rotated,
                   "words": f"{n} test digits: the first {n - n_rotated} canonical"
                   + (f", the next {n_rotated} randomly rotated, as in the training split" if n_rotated else "")}
    return grids, np.asarray(data.y_test[:n]), description


def hardware() -> dict:
    """Returns a JSON-able description of the machine running the evaluation."""
    return {
        "machine": platform.machine(),
        "processor": platform.processor() or None,
        "cpus": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
    }


def evaluate(checkpoints, data, classifier, config: EvalConfig | None = None, on_model=None, models=None,
             extra_tests: dict | None = None) -> dict:
    """Returns the evaluation of checkpoint files (or of `models`, a list of (model, path|None)) on data's test split.

    extra_tests: {name: (X, y)} further test sets scored on reconstruction only (see evaluate_model);
    "rotated" (the same test digits rotated) also joins the real reference digits (reference_digits).
    on_model(index, total, record) is called as each model finishes. The result is JSON-able:
    format, dataset, classifier, config, reference figures, the paper's tables and one record per model.
    """
    from genlab.models import load_model

    config = config or EvalConfig()
    start = time.perf_counter()
    pairs = list(models) if models is not None else [(None, Path(p)) for p in checkpoints]
    if not pairs:
        raise ValueError("nothing to evaluate: no checkpoints given and none shipped in weights/")
    X, y = data.X_test, np.asarray(data.y_test)
    test_probs, _ = clf.classify(classifier, X)
    rotated = (extra_tests or {}).get("rotated", (None,))[0]
    reference, reference_labels, reference_words = reference_digits(data, rotated, config.n_samples)
    reference_probs, real_features = clf.classify(classifier, reference)
    results = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "genlab_version": __version__,
        "dataset": data.describe(),
        "classifier": {
            "sha256": file_sha256(classifier.path) if getattr(classifier, "path", None) else None,
            "test_accuracy": classifier.metadata.get("test_accuracy"),
            "feature_dim": classifier.config["feature_dim"],
            "accuracy_here": float((test_probs.argmax(axis=1) == y).mean()),
            "accuracy_reference": float((reference_probs.argmax(axis=1) == reference_labels).mean()),
            "dataset": classifier.metadata.get("dataset"),
        },
        "config": asdict(config),
        "reference": {"real_digits": reference_words, **reference_metrics(data, classifier, real_features, config)},
        "extra_tests": {name: {"n": len(Xe), "bce_floor": float(metrics.bce_floor(Xe).mean())}
                        for name, (Xe, _) in (extra_tests or {}).items()},
        "paper": {"bce": paper.PAPER_BCE, "mse": paper.PAPER_MSE},
        "models": [],
    }
    for index, (model, path) in enumerate(pairs):
        model = model if model is not None else load_model(path)
        record = evaluate_model(model, path, data, classifier, real_features, config, extra_tests, reference)
        results["models"].append(record)
        if on_model is not None:
            on_model(index + 1, len(pairs), record)
    results["run"] = {"seconds": time.perf_counter() - start, "hardware": hardware()}
    return results


def without_timings(results: dict) -> dict:
    """Returns a copy of results without wall-clock figures: what must be identical between runs."""
    clean = {k: v for k, v in results.items() if k != "run"}
    clean["models"] = [{k: v for k, v in m.items() if k != "timing"} for m in results["models"]]
    return clean
