"""The published figures of Bonfim et al. (2022), "A Comparison of Deep Learning Architectures
for the 3D Generation Data": test-set reconstruction BCE and MSE per kind and backbone."""

PAPER_BCE = {
    "ae": {"cnn_mlp": 0.2249, "fcn": 0.1304, "lstm": 0.1626, "gru": 0.1495},
    "vae": {"cnn_mlp": 0.2249, "fcn": 0.2946, "lstm": 0.2283, "gru": 0.2272},
    "gan": {"cnn_mlp": 5.5372, "fcn": 6.3513, "lstm": 12.9795, "gru": 5.9794},
}
PAPER_MSE = {
    "ae": {"cnn_mlp": 0.0760, "fcn": 0.0110, "lstm": 0.0535, "gru": 0.0156},
    "vae": {"cnn_mlp": 0.0749, "fcn": 0.0888, "lstm": 0.0765, "gru": 0.0733},
    "gan": {"cnn_mlp": 0.9264, "fcn": 0.9139, "lstm": 0.8890, "gru": 0.8449},
}


def in_paper_order(backbones) -> list[str]:
    """Returns the backbones in the paper's column order (CNN+MLP, FCN, LSTM, GRU), others after them."""
    paper = list(PAPER_BCE["ae"])
    return sorted(backbones, key=lambda b: paper.index(b) if b in paper else len(paper))
