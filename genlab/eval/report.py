"""Evaluation output: evaluation.json, evaluation.csv, report.md and Plotly charts, and load_results().

Only the standard library at import time, so the app's Compare page can call load_results()
cheaply; plotly is imported when charts are drawn.
"""

import csv
import json
from pathlib import Path

from genlab import names, paths
from genlab.eval.paper import in_paper_order

RESULT_FILES = ("evaluation.json", "evaluation.csv", "report.md", "quality_vs_cost.html", "per_digit.html",
                "plotly.min.js")


def load_results(path=None) -> dict:
    """Returns the evaluation dict stored in evaluation.json (default: the committed results/).

    path: a results folder or a JSON file. Raises FileNotFoundError if absent and ValueError,
    naming the file, if it is not a genlab evaluation.
    """
    path = Path(path) if path is not None else paths.RESULTS_DIR
    if path.is_dir():
        path = path / "evaluation.json"
    if not path.is_file():
        raise FileNotFoundError(f"no evaluation at {path} (run: python -m genlab evaluate)")
    try:
        results = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise ValueError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(results, dict) or results.get("format") != "genlab-evaluation":
        raise ValueError(f"{path} is not a genlab evaluation "
                         f"(format {results.get('format') if isinstance(results, dict) else None!r})")
    return results


def model_name(record: dict) -> str:
    """Returns a model's display name: its checkpoint's file stem, else kind_backbone."""
    checkpoint = record.get("checkpoint") or {}
    return checkpoint.get("name") or f"{record['kind']}_{record['backbone']}"


def summary_rows(results: dict) -> list[dict]:
    """Returns one flat dict per model: the headline figures, as written to evaluation.csv."""
    rows = []
    for m in results["models"]:
        rec, noisy, gen, lat, cost = (m["reconstruction"], m["noisy_reconstruction"], m["generation"],
                                      m["latent"], m["cost"])
        paper_bce = results["paper"]["bce"].get(m["kind"], {}).get(m["backbone"])
        paper_mse = results["paper"]["mse"].get(m["kind"], {}).get(m["backbone"])
        # FD of the reconstructions of the reference digits, and of training digits (older evaluations lack them)
        recon_fd, train_recon_fd = ((m.get(key) or {}).get("fd", {}).get("value")
                                    for key in ("reconstructions", "training_reconstructions"))
        rows.append({
            "name": model_name(m),
            "kind": m["kind"],
            "backbone": m["backbone"],
            "latent_dim": m["latent_dim"],
            "sha256": (m.get("checkpoint") or {}).get("sha256"),
            "bce": rec["bce"]["mean"],
            "bce_paper": paper_bce,
            "bce_diff": None if paper_bce is None else rec["bce"]["mean"] - paper_bce,
            "mse": rec["mse"]["mean"],
            "mse_paper": paper_mse,
            "mse_diff": None if paper_mse is None else rec["mse"]["mean"] - paper_mse,
            "iou": rec["iou"]["mean"],
            **{f"{name}_{k}": extra[k]["mean"]
               for name, extra in m.get("extra_tests", {}).items() for k in ("bce", "mse", "iou")},
            "noisy_bce": noisy["bce"]["mean"],
            "noisy_mse": noisy["mse"]["mean"],
            "noisy_iou": noisy["iou"]["mean"],
            "sampling": gen.get("source"),  # where model.sample() draws: the FD/PRDC columns judge these samples
            "fd": gen["fd"]["value"],
            "recon_fd": recon_fd,
            "fd_ratio": gen["fd"]["value"] / recon_fd if recon_fd else None,
            "train_recon_fd": train_recon_fd,
            "fd_ratio_train": gen["fd"]["value"] / train_recon_fd if train_recon_fd else None,
            "fd_low": gen["fd"]["ci"][0],
            "fd_high": gen["fd"]["ci"][1],
            "precision": gen["precision"]["mean"],
            "recall": gen["recall"]["mean"],
            "density": gen["density"]["mean"],
            "coverage": gen["coverage"]["mean"],
            "label_entropy_bits": gen["labels"]["entropy_bits"],
            "top_label": gen["labels"]["top_label"],
            "top_share": gen["labels"]["top_share"],
            "confidence": gen["confidence"],
            "on_request": m.get("sampling", {}).get("on_request", {}).get("mean"),
            "off_path_rate": lat["off_path_rate"],
            "off_point_share": lat["off_point_share"],
            "evenness": lat["evenness"],
            "params": cost["params"],
            "file_bytes": cost["file_bytes"],
            "train_seconds": cost["train_seconds"],
            "train_seconds_total": cost.get("train_seconds_total"),
            "warm_start_from": cost.get("warm_start_from"),
            "train_samples_per_s": cost["train_samples_per_s"],
            "train_device": cost["train_device"],
            "latent_ms": m["timing"].get("latent_ms"),
            "decode_ms": m["timing"]["decode_ms"],
            "reconstruct_ms": m["timing"]["reconstruct_ms"],
        })
    return rows


def write_csv(results: dict, path) -> Path:
    """Writes summary_rows(results) as CSV; returns the path."""
    rows = summary_rows(results)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


# -- Markdown ------------------------------------------------------------------------------------

def _f(value, digits: int = 4) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _signed(value, digits: int = 4) -> str:
    return "—" if value is None else f"{value:+.{digits}f}".replace("-", "−")


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + ["| " + " | ".join(r) + " |" for r in rows]


def _grid(results: dict) -> dict:
    return {(m["kind"], m["backbone"]): m for m in results["models"]}


def paper_table(results: dict, metric: str, test: str | None = None) -> list[str]:
    """Returns Markdown lines of the paper's 3 x 4 table for "bce" or "mse": ours / paper / difference.

    test: None for the main test split, else the name of an extra test set (e.g. "rotated").
    """
    grid, published = _grid(results), results["paper"][metric]
    rows = []
    for kind, kind_name in names.KINDS.items():
        cells = [kind_name]
        for backbone in in_paper_order(names.BACKBONES):
            m, theirs = grid.get((kind, backbone)), published.get(kind, {}).get(backbone)
            if m is None:
                cells.append(f"— / {_f(theirs)} / —")
            else:
                ours = (m["reconstruction"] if test is None else m["extra_tests"][test])[metric]["mean"]
                cells.append(f"**{_f(ours)}** / {_f(theirs)} / {_signed(None if theirs is None else ours - theirs)}")
        rows.append(cells)
    return _table(["", *map(names.backbone_title, in_paper_order(names.BACKBONES))], rows)


def _by_kind(rows: list[dict], key: str) -> dict:
    """Returns {kind: mean of key over that kind's models} for kinds that have values."""
    out = {}
    for kind in names.KINDS:
        values = [r[key] for r in rows if r["kind"] == kind and r[key] is not None]
        if values:
            out[kind] = sum(values) / len(values)
    return out


def findings(results: dict) -> list[str]:
    """Returns plain-language findings, computed from the numbers, including where they agree or
    disagree with the paper's conclusion that autoencoders give the best cost-benefit."""
    rows = summary_rows(results)
    out = []
    beaten = [r for r in rows if r["bce_paper"] is not None and r["bce"] < r["bce_paper"] and r["mse"] < r["mse_paper"]]
    compared = [r for r in rows if r["bce_paper"] is not None]
    if compared:
        out.append(f"{len(beaten)} of {len(compared)} models beat their published cell on both BCE and MSE.")
    for name in results.get("extra_tests", {}):
        ok = [r for r in compared if r[f"{name}_bce"] < r["bce_paper"] and r[f"{name}_mse"] < r["mse_paper"]]
        out.append(f"On the {name} test digits, {len(ok)} of {len(compared)} beat their published cell on both.")
    bce, fd, secs, params = (_by_kind(rows, k) for k in ("bce", "fd", "train_seconds_total", "params"))
    grid = _grid(results)
    backbones = [b for b in in_paper_order(names.BACKBONES) if all((k, b) in grid for k in names.KINDS)]
    if backbones:
        best = [min(names.KINDS, key=lambda k: grid[(k, b)]["reconstruction"]["bce"]["mean"]) for b in backbones]
        leader = max(names.KINDS, key=best.count)  # the kind that is best on the most backbones
        others = "".join(f", the {names.KINDS[k]} on {best.count(k)}" for k in names.KINDS if k != leader)
        out.append(f"Reconstruction: the {names.KINDS[leader]} has the lowest test BCE on {best.count(leader)} of "
                   f"{len(backbones)} backbones{others} (mean BCE by kind: "
                   f"{', '.join(f'{names.KINDS[k]} {v:.4f}' for k, v in bce.items())}).")
    devices = {kind: sorted({r["train_device"] for r in rows if r["kind"] == kind and r["train_device"]})
               for kind in secs}
    mixed = len({d for ds in devices.values() for d in ds}) > 1
    if secs:
        where = ", ".join(f"{names.KINDS[k]} on {' and '.join(d)}" for k, d in devices.items())
        out.append("Cost: mean training time (including any warm start's donor) by kind "
                   + ", ".join(f"{names.KINDS[k]} {v:.0f} s" for k, v in secs.items())
                   + (f" (trained on different devices: {where}; seconds compare only within one device)"
                      if mixed else "")
                   + "; mean parameters "
                   + ", ".join(f"{names.KINDS[k]} {v / 1e3:.0f}k" for k, v in params.items()) + ".")
    if fd:
        best = min(rows, key=lambda r: r["fd"])
        ref = results["reference"]["real_train_digits"]["fd"]["value"]
        out.append("Generation (Fréchet distance in classifier features against real test digits, lower is better; "
                   f"real training digits score {ref:.2f}): mean by kind "
                   + ", ".join(f"{names.KINDS[k]} {v:.2f}" for k, v in fd.items())
                   + f"; best model {best['name']} ({best['fd']:.2f}).")
        ratios = [r["fd_ratio"] for r in rows if r["fd_ratio"] is not None]
        if ratios:
            out.append(f"Samples against reconstructions: FD of `model.sample()` is {min(ratios):.2f}-"
                       f"{max(ratios):.2f}x the FD of the same model's reconstructions of real test digits; "
                       f"{sum(x <= 1.5 for x in ratios)} of {len(ratios)} models are within 1.5x.")
        ratios = [r["fd_ratio_train"] for r in rows if r["fd_ratio_train"] is not None]
        if ratios:
            out.append(f"Against the same model's reconstructions of other digits (training digits, the FD a sampler "
                       f"replaying their codes would score): {min(ratios):.2f}-{max(ratios):.2f}x; "
                       f"{sum(x <= 1.5 for x in ratios)} of {len(ratios)} models are within 1.5x.")
    if rows:
        rise = sorted(rows, key=lambda r: r["noisy_bce"] - r["bce"])
        out.append(f"Noisy inputs (Gaussian, variance {results['config']['noise_variance']}, clean targets): "
                   "BCE rises by "
                   f"{sum(r['noisy_bce'] - r['bce'] for r in rows) / len(rows):+.4f} on average; least affected "
                   f"{rise[0]['name']} ({rise[0]['noisy_bce'] - rise[0]['bce']:+.4f}), most {rise[-1]['name']} "
                   f"({rise[-1]['noisy_bce'] - rise[-1]['bce']:+.4f}).")
    for study in results.get("noise_studies", []):
        twins = {}
        for r in study["rows"]:
            twins.setdefault(r["name"], {})[r["trained_on"]] = r
        pairs = [t for t in twins.values() if {"clean", "noisy"} <= set(t)]
        helped = sum(t["noisy"]["bce_noisy_input"] < t["clean"]["bce_noisy_input"] for t in pairs)
        hurt = sum(t["noisy"]["bce_clean_input"] > t["clean"]["bce_clean_input"] for t in pairs)
        out.append(f"Noise study ({_count(study['epochs'], 'epoch')} on {study['n_train']} digits per model, "
                   "equal for both twins): "
                   f"the noise-trained twin reconstructs noisy inputs better in {helped} of {len(pairs)} pairs, "
                   f"and clean inputs worse in {hurt} of {len(pairs)}.")
    if bce and fd and "ae" in bce:
        best_recon, cheapest = min(bce, key=bce.get), (min(secs, key=secs.get) if secs and not mixed else None)
        if best_recon != "ae":
            recon = f"we disagree: the {names.KINDS[best_recon]} has the lowest mean reconstruction BCE"
        elif cheapest in (None, "ae"):
            recon = "we agree: AEs have the lowest mean reconstruction BCE" + (
                " at the lowest training cost" if cheapest else "")
        else:
            recon = ("we partly agree: AEs have the lowest mean reconstruction BCE, "
                     f"but {names.KINDS[cheapest]}s train faster")
        best_fd = min(fd, key=fd.get)
        generation = ("the AE (sampled from its per-digit code density: an AE has no prior) also has the "
                      "best mean FD, so the conclusion holds there too" if best_fd == "ae" else
                      f"the {names.KINDS[best_fd]} has the best mean FD, "
                      "so the AE's advantage does not carry over to generation")
        out.append("Against the paper's conclusion (autoencoders give the best cost-benefit): on reconstruction "
                   f"{recon}. On generating new digits, which the paper did not measure, {generation}.")
    return out


def _count(n: int, noun: str) -> str:
    """Returns "1 epoch", "3 epochs"."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")


def _percent(value) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _reference_words(reference: dict, config: dict) -> str:
    """Returns what the real reference digits are, in words (evaluations before the mixed reference: canonical)."""
    words = (reference.get("real_digits") or {}).get("words")
    return words or f"the first {config['n_samples']} canonical test digits"


def _sets_words(cfg: dict) -> str:
    """Returns how many digits each generated or training set holds, in words ("5 sets of 1000" or "1000")."""
    draws = cfg.get("n_draws", 1)
    return f"{draws} sets of {cfg['n_samples']}" if draws > 1 else f"{cfg['n_samples']}"


def _fd_interval(cfg: dict) -> str:
    """Returns what the bracketed interval after a generated set's FD is."""
    return "lowest, highest set" if cfg.get("n_draws", 1) > 1 else "95% CI"


def draw_words(cfg: dict) -> str:
    """Returns how the samples were drawn, in words (evaluate.EvalConfig's n_samples, n_draws, sample_seed)."""
    seed, draws, step = cfg["sample_seed"], cfg.get("n_draws", 1), cfg.get("draw_seed_step")
    if draws == 1:
        return f"{cfg['n_samples']} samples per model (seed {seed})"
    return (f"{draws} sets of {cfg['n_samples']} samples per model (seeds {seed}, {seed + step}, ..., "
            f"{seed + step * (draws - 1)})")


def draws_note(cfg: dict) -> str:
    """Returns the sentence that says how the FD of several drawn sets is given ("" for one set)."""
    if cfg.get("n_draws", 1) == 1:
        return ""
    return ("A set's FD moves a lot from seed to seed, so the FD of samples, of real training digits and of "
            "reconstructions of training digits is the mean over the sets, shown with the lowest and highest "
            "set's; the other figures are the first set's. ")


def curve_note(results: dict) -> str:
    """Returns the sentence that says which models' generated grids were judged through their output curve ("" if
    none: evaluations before it, or checkpoints without one)."""
    curved = [model_name(m) for m in results["models"] if m.get("output_curve")]
    if not curved:
        return ""
    which = "every model" if len(curved) == len(results["models"]) else ", ".join(curved)
    return (f"Generated grids, and the reconstructions judged beside them, are judged as {which} shows them: "
            "through its output curve (`model.render`), which maps decoded voxel values, quantile for quantile, "
            "onto the values of real training grids (`genlab.models.output_curve`); BCE, MSE and IoU judge the "
            "decoded probabilities. ")


def _spread_words(results: dict) -> str:
    """Returns how the evaluation drew the digits asked for, in words (evaluations before DIGIT_SPREAD: spread 1;
    before DIGIT_REFINE_POWER: the refined mixture's power, unnamed)."""
    spreads = {m["sampling"]["on_request"].get("spread", 1.0) for m in results["models"] if "sampling" in m}
    spread = spreads.pop() if len(spreads) == 1 else None
    powers = {m["sampling"]["on_request"].get("refine_power") for m in results["models"] if "sampling" in m}
    power = powers.pop() if len(powers) == 1 else None
    refined = f"; the refined mixture's components weighted by fidelity^{power:g}" if power is not None else ""
    if spread == 1.0:
        return "each digit's fitted spread" + refined
    return (f"{spread:g} of each digit's fitted spread" if spread is not None else "spreads differ by model") + refined


SOURCE_ORDER = ("refined", "mixture", "density", "two-stage", "prior")


def _density_section(results: dict) -> list[str]:
    """Returns Markdown lines: every model's FD, precision and recall from each latent source it has."""
    models = [m for m in results["models"] if "sampling" in m]
    if not models:
        return []
    cfg = results["config"]
    rows = []
    for m in models:
        for source in SOURCE_ORDER:
            g = m["sampling"].get(source)
            if g is None:
                continue
            ratio = (g["fd"]["value"] / m["reconstructions"]["fd"]["value"]) if m.get("reconstructions") else None
            rows.append([model_name(m), source + (" (default)" if source == m["generation"]["source"] else ""),
                         f"{g['fd']['value']:.2f} [{g['fd']['ci'][0]:.2f}, {g['fd']['ci'][1]:.2f}]", _f(ratio, 2),
                         _f(g["precision"]["mean"], 3), _f(g["recall"]["mean"], 3),
                         f"{g['labels']['top_label']} ({g['labels']['top_share']:.2f})", _f(g["confidence"], 3)])
    on_request = [[model_name(m), m["sampling"]["on_request"].get("source", "density"),
                   *(_percent(h) for h in m["sampling"]["on_request"]["per_digit"]),
                   _percent(m["sampling"]["on_request"]["mean"])] for m in models]
    fitted_here = [model_name(m) for m in models if m["sampling"].get("density_fitted_by_evaluation")]
    return [
        "## Every latent source",
        "",
        f"The same {_sets_words(cfg)} samples per model drawn from each latent source it has "
        "(`model.sample(n, source=...)`): `refined`, the mixture below with each component weighted by its "
        "fidelity (how often its codes, decoded and encoded again, land among its digit's codes; each digit keeps "
        "its share); `mixture`, Gaussian mixtures per digit fitted by EM to the codes of the "
        "training digits; `density`, one full-covariance Gaussian per digit fitted to the same codes (both "
        "`genlab.models.density`, stored in the checkpoint); `two-stage`, a VAE's second stage; `prior`, N(0, I). "
        "Ratio: FD / the model's recon FD.",
        "",
        *_table(["model", "source", f"FD [{_fd_interval(cfg)}]", "ratio", "precision", "recall", "top digit (share)",
                 "mean confidence"], rows),
        "",
        f"Digit on request: {cfg['n_per_digit']} samples asked of each digit (`model.sample(n, digit=d)`), "
        "the share the classifier calls that digit.",
        "",
        *_table(["model", "source", *map(str, range(10)), "mean"], on_request),
        "",
        *([f"Fitted by the evaluation ({cfg['density_fit_size']} training digits), not stored in the checkpoint: "
           + ", ".join(fitted_here) + ".", ""] if fitted_here else []),
    ]


def _data_warning(results: dict) -> list[str]:
    """Returns Markdown lines warning about models trained on other data than the evaluation's, if any."""
    other = [m for m in results["models"] if (m.get("trained_on") or {}).get("same_data") is False]
    # Trained on this data, but warm-started from weights that saw other data.
    heirs = [m for m in results["models"] if (m.get("trained_on") or {}).get("same_data")
             and m["trained_on"].get("donors_same_data") is False]
    lines = []
    if heirs:
        lines += [f"**Warning**: {', '.join(model_name(m) for m in heirs)} were trained on this dataset, but "
                  "warm-started from weights trained on other data (fingerprints "
                  f"{', '.join(sorted({f for m in heirs for f in m['trained_on']['init_fingerprints']}))}).", ""]
    if not other:
        return lines
    names = ", ".join(model_name(m) for m in other)
    if all(m["trained_on"].get("same_recipe") for m in other):
        return lines + [f"**Note**: {names} were trained on a build of this dataset with the same source and "
                        "parameters but another fingerprint (it covers all four arrays, so e.g. a voxelizer change "
                        "alters it).", ""]
    return lines + [f"**Warning**: {names} were trained on other data than this dataset (fingerprints differ).", ""]


def _extra_test_tables(results: dict) -> list[str]:
    lines = []
    for name, info in results.get("extra_tests", {}).items():
        lines += ["",
                  f"### The same tables on the {name} test digits "
                  f"({info['n']} digits, BCE floor {info['bce_floor']:.4f})",
                  "",
                  "BCE:", "", *paper_table(results, "bce", name), "", "MSE:", "", *paper_table(results, "mse", name)]
    return lines


def gan_games(results: dict) -> str:
    """Returns a sentence saying where the GANs of results play their adversarial game ("" if no GAN says)."""
    games = {}
    for m in results["models"]:
        if m.get("gan_game"):
            games.setdefault(m["gan_game"], []).append(model_name(m))
    return ("Where the GANs play their adversarial game: "
            + "; ".join(f"{', '.join(models)} on {game}" for game, models in games.items()) + ".") if games else ""


def _gan_note(results: dict) -> list[str]:
    methods = sorted({m["reconstruction_method"] for m in results["models"]
                      if m["kind"] == "gan" and m.get("reconstruction_method")})
    if not methods:
        return []
    played = gan_games(results)
    return ["", "A GAN has no encoder of its own; ours reconstruct with: " + "; ".join(methods) + ". "
            + (played + " " if played else "") +
            "The paper's GAN BCE values (5.5 to 13.0) are far worse than predicting 0.5 everywhere (BCE ln 2 = 0.693), "
            "so its GAN row cannot have come from comparable reconstructions; compare that row with care."]


def _test_digits(data: dict) -> str:
    """Returns " (which digits)" for a dataset whose parameters name its test digits (e.g. t10k 7000..7999), else ""."""
    which = (data.get("params") or {}).get("test_digits")
    return f" ({which})" if which else ""


def markdown_report(results: dict) -> str:
    """Returns the Markdown report: tables of every figure and the findings."""
    rows = summary_rows(results)
    ref, cfg, classifier = results["reference"], results["config"], results["classifier"]
    data = results["dataset"]
    lines = [
        "# genlab evaluation",
        "",
        f"Dataset: `{data.get('source')}` (fingerprint `{data.get('fingerprint')}`), test split of "
        f"{data.get('n_test')} digits{_test_digits(data)}. {len(rows)} models. Generated with "
        f"`{results.get('command', 'python -m genlab evaluate')}`; "
        f"format version {results['format_version']}, genlab {results['genlab_version']}.",
        f"Evaluation time: {results['run']['seconds']:.0f} s on {results['run']['hardware']['cpus']} CPUs "
        f"({results['run']['hardware']['torch_threads']} torch thread(s)). Every figure except wall-clock times is "
        "identical between runs with the same inputs and thread count.",
        "",
        *_data_warning(results),
        "## Findings",
        "",
        *[f"- {line}" for line in findings(results)],
        "",
        "## The paper's tables (Bonfim et al., 2022): test reconstruction error",
        "",
        "Each cell: **ours** / paper / difference (negative: ours is lower, i.e. better).",
        "",
        "### BCE", "", *paper_table(results, "bce"), "",
        "### MSE", "", *paper_table(results, "mse"), "",
        f"Reference points on the same test digits: BCE floor (the targets' own entropy) {ref['bce_floor']:.4f}; "
        f"predicting every voxel by its training mean: BCE {ref['mean_voxel_baseline']['bce']:.4f}, "
        f"MSE {ref['mean_voxel_baseline']['mse']:.4f}. "
        "A model must be well below the baseline to have learned anything.",
        *_gan_note(results),
        *_extra_test_tables(results),
        "",
        "## Reconstruction in detail (95% bootstrap CIs)",
        "",
        *_table(["model", "BCE", "MSE", "IoU@0.5", "BCE, noisy input", "MSE, noisy input", "BCE increase"], [[
            r["name"],
            f"{_f(r['bce'])} [{_f(m['reconstruction']['bce']['ci'][0])}, {_f(m['reconstruction']['bce']['ci'][1])}]",
            _f(r["mse"]), _f(r["iou"], 3), _f(r["noisy_bce"]), _f(r["noisy_mse"]), _signed(r["noisy_bce"] - r["bce"]),
        ] for r, m in zip(rows, results["models"])]),
        "",
        f"Noisy input: Gaussian noise of variance {cfg['noise_variance']} "
        "added to the test inputs (clipped to [0, 1]), "
        "scored against the clean digits. These are the shipped models, trained on clean data.",
        "",
        "## Generation quality",
        "",
        f"{draw_words(cfg)}, judged by the 3D digit classifier "
        f"(accuracy {_f(classifier.get('accuracy_here'), 3)} on the canonical test digits, "
        f"{_f(classifier.get('accuracy_reference'), 3)} on the reference digits). FD: Fréchet distance of its "
        f"{classifier.get('feature_dim')}-dimensional penultimate features against the real reference digits "
        f"({_reference_words(ref, cfg)}); PRDC with k = {cfg['prdc_k']}. {draws_note(cfg)}{curve_note(results)}"
        "Recon FD: the same for the model's reconstructions of those reference digits, the bar its samples are "
        "held to (ratio: FD / recon FD). That bar is paired: the reconstructions are of the very digits they are "
        "judged against, which no other set of digits can match. Train recon FD: the model's reconstructions of "
        f"{_sets_words(cfg)} training digits (those of the *real training digits* row), the FD a sampler that "
        "replayed the training digits' codes would score (ratio (train): FD / train recon FD). "
        "Labels: entropy of the predicted digits (3.32 bits when all ten are equally common) "
        "and the most common digit's share. On request: the share of samples asked of a digit "
        f"(`model.sample(n, digit=d)`, {_spread_words(results)}) that the classifier calls d, averaged over the ten.",
        "",
        "Each model as `model.sample()` draws by default (*sampling*): `mixture` is the per-digit Gaussian "
        "mixture fitted to the codes of training digits (`genlab.models.density`), `refined` the same with each "
        "component weighted by its fidelity (next section); models without one draw as "
        "before: a GAN from its N(0, I) prior (through its mapper), a VAE through its second stage (`two-stage`), "
        "an AE from its per-digit density. The next section gives every model's figures with each source.",
        "",
        *_table(["model", "sampling", f"FD [{_fd_interval(cfg)}]", "recon FD", "ratio", "train recon FD",
                 "ratio (train)", "precision", "recall", "density", "coverage", "label entropy", "top digit (share)",
                 "on request"],
                [[r["name"], m["generation"]["source"],
                  f"{r['fd']:.2f} [{r['fd_low']:.2f}, {r['fd_high']:.2f}]", _f(r["recon_fd"], 2),
                  _f(r["fd_ratio"], 2), _f(r["train_recon_fd"], 2), _f(r["fd_ratio_train"], 2),
                  _f(r["precision"], 3), _f(r["recall"], 3),
                  _f(r["density"], 3), _f(r["coverage"], 3), _f(r["label_entropy_bits"], 2),
                  f"{r['top_label']} ({r['top_share']:.2f})", _percent(r["on_request"])]
                 for r, m in zip(rows, results["models"])]
                + [["*real training digits*", "—", f"{ref['real_train_digits']['fd']['value']:.2f}", "—", "—", "—", "—",
                    _f(ref['real_train_digits']['precision']['mean'], 3),
                    _f(ref['real_train_digits']['recall']['mean'], 3),
                    _f(ref['real_train_digits']['density']['mean'], 3),
                    _f(ref['real_train_digits']['coverage']['mean'], 3),
                    _f(ref['real_train_digits']['labels']['entropy_bits'], 2),
                    f"{ref['real_train_digits']['labels']['top_label']} "
                    f"({ref['real_train_digits']['labels']['top_share']:.2f})", "—"]]),
        "",
        "Share of each model's samples that the classifier calls each digit (%):",
        "",
        *_table(["model", *map(str, range(10))],
                [[model_name(m), *(f"{100 * v:.0f}" for v in m["generation"]["labels"]["shares"])]
                 for m in results["models"]]),
        "",
        *_density_section(results),
        "## Latent space",
        "",
        f"{cfg['n_paths']} straight paths between the codes of two test digits with different labels, decoded at "
        f"{cfg['path_steps']} points. Off-path rate: share of paths with an inner point the classifier is unsure of "
        "(top probability < 0.5) or calls neither endpoint's digit. "
        "Evenness: largest step / mean step in voxel space (1 = even).",
        "",
        *_table(["model", "off-path rate", "off points", "unsure points", "other-digit points", "evenness"],
                [[model_name(m), _f(m["latent"]["off_path_rate"], 2), _f(m["latent"]["off_point_share"], 3),
                  _f(m["latent"]["unsure_point_share"], 3), _f(m["latent"]["neither_point_share"], 3),
                  _f(m["latent"]["evenness"], 2)] for m in results["models"]]),
        "",
        "## Cost",
        "",
        *_table(["model", "parameters", "file (MB)", "training time (s)", "incl. warm start (s)",
                 "throughput (samples/s)", "trained on", "decode 1 (ms)", "reconstruct 1 (ms)"],
                [[r["name"], f"{r['params']:,}", _f(None if r["file_bytes"] is None else r["file_bytes"] / 1e6, 2),
                  _f(r["train_seconds"], 0),
                  _f(r["train_seconds_total"], 0) + (f" (from {r['warm_start_from']})" if r["warm_start_from"] else ""),
                  _f(r["train_samples_per_s"], 0), str(r["train_device"] or "—"),
                  _f(r["decode_ms"], 2), _f(r["reconstruct_ms"], 2)] for r in rows]),
        "",
        "Parameters exclude a GAN's critic (not needed to generate or reconstruct). Latencies: median of "
        f"{cfg['latency_repeats']} single-sample calls on the evaluation machine "
        "(wall-clock, so they vary run to run).",
    ]
    for study in results.get("noise_studies", []):
        lines += ["", *noise_study_section(study, ref["mean_voxel_baseline"]["bce"])]
    lines += ["", "## Checkpoints", "", *_table(["model", "sha256"], [[r["name"], f"`{r['sha256']}`"] for r in rows])]
    return "\n".join(lines) + "\n"


def noise_study_section(study: dict, baseline_bce: float | None = None) -> list[str]:
    """Returns Markdown lines for a noise-robustness study (clean- vs noise-trained models, equal budget)."""
    scale = ("" if baseline_bce is None else
             f" For scale: predicting every voxel by its training mean scores BCE {baseline_bce:.4f} "
             "on the clean test digits.")
    lines = [
        f"## Robustness to noisy training data: {_count(study['epochs'], 'epoch')} on {study['n_train']} digits",
        "",
        study["description"] + scale,
        "",
        *_table(["model", "trained on", "epochs", "BCE clean input", "BCE noisy input", "MSE noisy input",
                 "IoU noisy input"],
                [[r["name"], r["trained_on"], str(r["epochs"]), _f(r["bce_clean_input"]), _f(r["bce_noisy_input"]),
                  _f(r["mse_noisy_input"]), _f(r["iou_noisy_input"], 3)] for r in study["rows"]]),
    ]
    return lines


# -- charts ---------------------------------------------------------------------------------------

def figures(results: dict) -> dict:
    """Returns {"quality_vs_cost": Figure, "per_digit": Figure}: Plotly figures of the results."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    rows = summary_rows(results)
    symbols = {"cnn_mlp": "circle", "fcn": "square", "lstm": "diamond", "gru": "cross"}
    colours = {"ae": "#1f77b4", "vae": "#2ca02c", "gan": "#d62728"}
    cost_key = "train_seconds_total" if all(r["train_seconds_total"] for r in rows) else "params"
    cost_title = "training time (s), incl. warm start" if cost_key == "train_seconds_total" else "parameters"
    scatter = make_subplots(rows=1, cols=2, subplot_titles=("generation: FD vs cost", "reconstruction: BCE vs cost"))
    # One trace per model, named in the legend (colour: kind, symbol: backbone): no text labels to collide.
    kinds, backbones = list(names.KINDS), in_paper_order(names.BACKBONES)
    for r in sorted(rows, key=lambda r: (kinds.index(r["kind"]) if r["kind"] in kinds else 9,
                                         backbones.index(r["backbone"]) if r["backbone"] in backbones else 9)):
        label = f"{names.KINDS.get(r['kind'], r['kind'])} · {names.backbone_title(r['backbone'])}"
        for col, key in ((1, "fd"), (2, "bce")):
            scatter.add_trace(go.Scatter(
                x=[r[cost_key]], y=[r[key]], mode="markers", name=label, legendgroup=r["name"], showlegend=col == 1,
                marker={"size": 12, "color": colours.get(r["kind"], "#7f7f7f"),
                        "symbol": symbols.get(r["backbone"], "circle"), "line": {"width": 1, "color": "white"}},
                hovertemplate=f"{label}<br>{cost_title}: %{{x:,.0f}}<br>{key.upper()}: %{{y:.4g}}<extra></extra>",
                error_y={"type": "data", "symmetric": False, "array": [r["fd_high"] - r["fd"]],
                         "arrayminus": [r["fd"] - r["fd_low"]]} if key == "fd" else None,
            ), row=1, col=col)
    costs = [r[cost_key] for r in rows]
    ticks = log_ticks(min(costs), max(costs))
    scatter.update_xaxes(title_text=cost_title, type="log", tickvals=ticks, ticktext=[f"{t:,g}" for t in ticks])
    scatter.update_yaxes(title_text="Fréchet distance (lower is better)", row=1, col=1)
    scatter.update_yaxes(title_text="test BCE (lower is better)", row=1, col=2)
    scatter.update_layout(title="Quality vs cost", height=500)

    model_names = [r["name"] for r in rows]
    per_digit = make_subplots(rows=1, cols=2, subplot_titles=("reconstruction BCE per test digit",
                                                              "share of samples classified as each digit"))
    per_digit.add_trace(go.Heatmap(z=[m["reconstruction"]["bce_per_digit"] for m in results["models"]],
                                   x=list(range(10)), y=model_names, colorscale="Viridis",
                                   colorbar={"x": 0.45, "title": "BCE"}), row=1, col=1)
    per_digit.add_trace(go.Heatmap(z=[m["generation"]["labels"]["shares"] for m in results["models"]],
                                   x=list(range(10)), y=model_names, colorscale="Blues", zmin=0,
                                   colorbar={"title": "share"}), row=1, col=2)
    per_digit.update_xaxes(title_text="digit", dtick=1)
    per_digit.update_yaxes(showticklabels=False, row=1, col=2)
    per_digit.update_layout(title="Per-digit breakdown", height=150 + 30 * len(model_names))
    return {"quality_vs_cost": scatter, "per_digit": per_digit}


def log_ticks(low: float, high: float) -> list[float]:
    """Returns tick values 1, 2, 5 x 10^k (or 1..9 x 10^k over a short range) covering [low, high], so that
    a log axis labels every tick."""
    import math

    if not (low > 0 and high > 0):
        return []
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    for mantissas in ((1, 2, 5), range(1, 10)):   # every digit when the range spans too few 1-2-5 steps
        ticks = [m * 10.0 ** e for e in decades for m in mantissas]
        if sum(low <= t <= high for t in ticks) >= 3:
            break
    below = [t for t in ticks if t <= low]
    above = [t for t in ticks if t >= high]
    start, end = (below[-1] if below else ticks[0]), (above[0] if above else ticks[-1])
    return [float(f"{t:.6g}") for t in ticks if start <= t <= end]


def write_results(results: dict, out_dir) -> list[Path]:
    """Writes evaluation.json, evaluation.csv, report.md and the charts (HTML) into out_dir; returns the paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "evaluation.json", write_csv(results, out / "evaluation.csv"), out / "report.md"]
    written[0].write_text(json.dumps(results, indent=1, sort_keys=False) + "\n")
    written[2].write_text(markdown_report(results))
    for name, figure in figures(results).items():
        # Offline: plotly.js is written once beside the charts (plotly.min.js), not fetched from a CDN.
        figure.write_html(out / f"{name}.html", include_plotlyjs="directory", full_html=True)
        written.append(out / f"{name}.html")
    return written + [out / "plotly.min.js"]
