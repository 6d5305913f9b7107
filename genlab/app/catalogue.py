"""What the app can offer: the dataset choices and their titles, and the catalogue of checkpoints
(shipped and trained) with their display rows. Pure functions: no streamlit."""

import html
import os

from genlab import checkpoint_file, names, paths
from genlab.app.files import runs_dir


def mnist_available(folder=None) -> bool:
    """Returns True if `folder` holds MNIST IDX files of both splits (train-* and a test set)."""
    from genlab.data.idx import find_mnist_files

    try:
        find_mnist_files(folder, "train"), find_mnist_files(folder, "test")
    except (FileNotFoundError, TypeError):
        return False
    return True


def default_dataset_choice() -> dict:
    """Returns the dataset the app starts on: real MNIST (GENLAB_MNIST_DIR, else the embedded digits),
    or the source GENLAB_APP_DATASET names with its default parameters (e.g. "synthetic", for quick tests)."""
    return {"source": os.environ.get("GENLAB_APP_DATASET", "mnist"), "params": {}}


def dataset_title(choice: dict) -> str:
    """Returns a short human description of a dataset choice {"source", "params"}."""
    title = names.source_title(choice["source"])
    if choice["source"] == "kaggle" and "name" in choice:
        title += f" ({choice['name']})"
    elif choice["source"] == "mnist":
        folder = choice["params"].get("mnist_dir") or paths.mnist_dir()
        title = "Real MNIST digits" + (f" from {folder}" if folder else " (embedded in genlab)")
    return title


def read_checkpoint_info(path) -> dict:
    """Returns a genlab checkpoint's JSON metadata without loading its tensors (nor torch); ValueError if unreadable."""
    return checkpoint_file.read_info(path, checkpoint_file.MODEL)


def list_checkpoints() -> list[dict]:
    """Returns every checkpoint the app can load: shipped ones first, then trained runs (newest first).

    Each entry: name, origin ("shipped" | "trained"), path, kind, backbone, latent_dim,
    dataset (source), fingerprint (of the training data), metrics, val_loss (the trainer's best
    validation value of the loss it stops early on, which differs by kind, so it compares runs
    of one kind only) and cancelled. Trained files that cannot be read come last, with "error".
    """
    def described(entry: dict, info: dict, default_source: str | None = None) -> dict:
        training = info.get("training") or {}
        return {**entry, "kind": info.get("kind"), "backbone": info.get("backbone"),
                "latent_dim": info.get("latent_dim"),
                "dataset": (info.get("dataset") or {}).get("source", default_source),
                "fingerprint": (info.get("dataset") or {}).get("fingerprint"),
                "init_fingerprints": training.get("init_fingerprints") or [],   # the data of its warm start
                "metrics": info.get("metrics", {}),
                "val_loss": training.get("best_val_loss"), "cancelled": bool(training.get("cancelled"))}

    entries = [described({"name": model["name"], "origin": "shipped", "path": model["path"]}, model, "mnist")
               for model in paths.shipped_manifest()]
    unreadable = []
    runs = sorted(runs_dir().glob("*.safetensors"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in runs:
        entry = {"name": path.stem, "origin": "trained", "path": str(path)}
        try:
            info = read_checkpoint_info(path)
        except ValueError as error:
            unreadable.append({**entry, "error": str(error)})
            continue
        entries.append(described(entry, info))
    return entries + unreadable


# Data that shipped weights were trained on before MNIST's own split became the standard one.
EARLIER_SPLITS = {"c7e8621eeedc1be8": "MNIST test (t10k) digits 0–6,999 and a rotated copy of each for "
                                      "training, 7,000–7,999 for testing"}


def checkpoint_rows(entries: list[dict]) -> list[dict]:
    """Returns one display row per checkpoint (for the Home table); numbers as text, "–" where not recorded."""
    def number(value) -> str:
        return "–" if value is None else f"{value:.4f}"

    rows = []
    for entry in entries:
        canonical = (entry.get("metrics") or {}).get("canonical") or {}
        status = entry.get("error") or ("cancelled (kept)" if entry.get("cancelled") else "ready")
        rows.append({"name": entry["name"], "origin": entry["origin"],
                     "kind": names.kind_title(entry.get("kind") or "?"),
                     "backbone": names.backbone_title(entry.get("backbone") or "?"),
                     "latent dim": entry.get("latent_dim"),
                     "trained on": names.source_short(entry.get("dataset")),
                     "validation loss": number(entry.get("val_loss")),
                     "test BCE": number(canonical.get("bce")), "test MSE": number(canonical.get("mse")),
                     "status": status})
    return rows


# What Home's checkpoint table says about its columns, shown when the pointer rests on a header.
COLUMN_HELP = {
    "validation loss": "The best validation value of the loss the trainer stops early on: reconstruction BCE for "
                       "an AE or a GAN (through its inverse and mapper), BCE + β·KL for a VAE. Compare it within "
                       "one kind only; test BCE compares all.",
    "test BCE": "Reconstruction of the test digits (canonical)",
    "test MSE": "Reconstruction of the test digits (canonical)",
}


def html_table(rows: list[dict], column_help: dict | None = None) -> str:
    """Returns rows (dicts with the same keys) as an HTML table for st.markdown(unsafe_allow_html=True):
    every cell escaped (shown literally), None as a dash, a column named in column_help with that text
    as its header's tooltip, and a horizontal scroll bar where the page is narrower than the table.
    Home draws its checkpoint table this way: st.dataframe would import pandas (about 0.8 s) before
    Home's first element."""
    if not rows:
        return ""
    column_help = column_help or {}

    def header(name: str) -> str:
        if name not in column_help:
            return f"<th>{html.escape(name)}</th>"
        return f'<th><abbr title="{html.escape(column_help[name])}">{html.escape(name)}</abbr></th>'

    def cell(value) -> str:
        return f"<td>{html.escape('–' if value is None else str(value))}</td>"

    columns = list(rows[0])
    lines = ['<div style="overflow-x: auto; font-size: 0.875rem"><table>',
             "<thead><tr>" + "".join(header(c) for c in columns) + "</tr></thead><tbody>"]
    lines += ["<tr>" + "".join(cell(r[c]) for c in columns) + "</tr>" for r in rows]
    lines.append("</tbody></table></div>")
    return "\n".join(lines)


def earlier_split_note(entries: list[dict]) -> str:
    """Returns a sentence naming the checkpoints trained on an earlier split of MNIST and that split ("" if none)."""
    notes = []
    for fingerprint, split in EARLIER_SPLITS.items():
        names = [e["name"] for e in entries if e.get("fingerprint") == fingerprint]
        heirs = [e["name"] for e in entries if fingerprint in e.get("init_fingerprints", [])
                 and e.get("fingerprint") != fingerprint]
        if names:
            who = "The shipped models were" if len(names) == sum(e["origin"] == "shipped" for e in entries) \
                else ", ".join(names) + (" was" if len(names) == 1 else " were")
            notes.append(
                f"{who} trained and tested on an earlier split: {split}; their figures are on those test digits."
            )
        if heirs:
            notes.append(f"{', '.join(heirs)} {'was' if len(heirs) == 1 else 'were'} fine-tuned on the current "
                         "split from weights trained on that earlier one, which saw its test digits.")
    return " ".join(notes)


def checkpoint_label(entry: dict) -> str:
    """Returns how a checkpoint is named in select boxes."""
    if "error" in entry:
        return f"{entry['name']} (unreadable)"
    return f"{entry['name']} · {entry['origin']} · {entry['kind']}/{entry['backbone']}"
