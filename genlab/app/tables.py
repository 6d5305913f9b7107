"""The Compare page's tables: our evaluation beside the paper's figures, as pandas DataFrames for people.
Pure functions: no streamlit."""

from genlab import names

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


def evaluation() -> dict | None:
    """Returns the shipped evaluation (results/evaluation.json), or None if there is none yet.

    A file that is there but unreadable raises ValueError naming it.
    """
    from genlab.eval import load_results

    try:
        return load_results()
    except FileNotFoundError:
        return None


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
