"""The Compare page's tables: our evaluation beside the paper's figures, as pandas DataFrames for people.
Pure functions: no streamlit."""

from genlab import names, paths

# The Compare table's headline columns (summary_rows keys): heading, number format (None: text).
HEADLINE_COLUMNS = {
    "name": ("Model", None), "kind": ("Kind", None), "backbone": ("Backbone", None),
    "bce": ("BCE", "%.4f"), "bce_paper": ("BCE, paper", "%.4f"), "mse": ("MSE", "%.4f"),
    "mse_paper": ("MSE, paper", "%.4f"), "iou": ("IoU", "%.3f"), "noisy_bce": ("BCE, noisy input", "%.4f"),
    "sampling": ("Samples from", None), "fd": ("FD", "%.1f"), "precision": ("Precision", "%.2f"),
    "recall": ("Recall", "%.2f"), "params": ("Parameters", "localized"), "train_seconds": ("Training (s)", "%.0f"),
}


def column_heading(key: str) -> str:
    """Returns how a comparison column is headed: the headline name, else its key in words ("fd_low" -> "Fd low")."""
    return HEADLINE_COLUMNS[key][0] if key in HEADLINE_COLUMNS else key.replace("_", " ").capitalize()


def readable_table(table):
    """Returns a comparison DataFrame for people: kinds and backbones as written in the paper
    ("VAE", "CNN+MLP"), columns headed by column_heading."""
    shown = table.assign(kind=table["kind"].map(names.kind_title), backbone=table["backbone"].map(names.backbone_title))
    return shown.rename(columns={key: column_heading(key) for key in shown.columns})


def paper_table():
    """Returns a DataFrame of the paper's test figures: kind, backbone, bce_paper, mse_paper."""
    import pandas as pd

    from genlab.eval.paper import PAPER_BCE, PAPER_MSE

    rows = [{"kind": kind, "backbone": backbone, "bce_paper": PAPER_BCE[kind][backbone],
             "mse_paper": PAPER_MSE[kind][backbone]}
            for kind in PAPER_BCE for backbone in PAPER_BCE[kind]]
    return pd.DataFrame(rows)


# The shipped evaluations, by the digits they test on: key -> (folder under results/, label).
TEST_DIGITS = {"standard": ("", "t10k digits 0–999 (the standard split)"),
               "unseen": ("unseen", "t10k digits 7,000–7,999 (seen by no shipped network)")}


def evaluation(test_digits: str = "standard") -> dict | None:
    """Returns the shipped evaluation on the given TEST_DIGITS (results/[folder/]evaluation.json), or
    None if there is none yet.

    A file that is there but unreadable raises ValueError naming it.
    """
    from genlab.eval import load_results

    try:
        return load_results(paths.RESULTS_DIR / TEST_DIGITS[test_digits][0])
    except FileNotFoundError:
        return None


def earlier_split_warning(results: dict) -> str:
    """Returns a sentence naming the evaluated models whose weights saw an earlier split of MNIST
    (catalogue.EARLIER_SPLITS: trained on it, or warm-started from weights that were), "" if none."""
    from genlab.app.catalogue import EARLIER_SPLITS
    from genlab.eval.report import model_name

    def saw_earlier(record) -> bool:
        trained_on = record.get("trained_on") or {}
        return bool({trained_on.get("fingerprint"), *(trained_on.get("init_fingerprints") or [])} & set(EARLIER_SPLITS))

    models = [model_name(record) for record in results["models"] if saw_earlier(record)]
    if not models:
        return ""
    who = ("Every model here was" if len(models) == len(results["models"]) else
           f"{', '.join(models)} {'was' if len(models) == 1 else 'were'}")
    return (f"{who} trained on, or warm-started from weights trained on, an earlier split of MNIST "
            f"({'; '.join(EARLIER_SPLITS.values())}): on test digits from that split, the figures are optimistic.")


def test_digit_choices() -> list[str]:
    """Returns the TEST_DIGITS keys that have an evaluation in results/ (always "standard" first)."""
    return ["standard"] + [key for key, (folder, _) in TEST_DIGITS.items()
                           if folder and (paths.RESULTS_DIR / folder / "evaluation.json").is_file()]


def comparison_table(results: dict):
    """Returns a DataFrame with one row per evaluated model: our figures beside the paper's."""
    import pandas as pd

    from genlab.eval.report import summary_rows

    return pd.DataFrame(summary_rows(results))


def versus_paper(table, metric: str):
    """Returns a long DataFrame (kind, backbone, source "genlab" | "paper", value) for one metric.

    table: comparison_table() or paper_table() rows; metric: "bce" or "mse". Rows without a
    value (e.g. no evaluation yet) are left out.
    """
    import pandas as pd

    parts = []
    for source, column in (("genlab", metric), ("paper", f"{metric}_paper")):
        if column in table:
            part = table[["kind", "backbone", column]].rename(columns={column: "value"})
            parts.append(part.assign(source=source))
    long = pd.concat(parts, ignore_index=True)
    return long.dropna(subset=["value"])
