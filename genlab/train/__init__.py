"""genlab.train: the trainer for every model kind and backbone (CPU, CUDA, MPS; DDP under torchrun).

    result = train(model, dataset, TrainConfig(epochs=10), on_progress=print)
"""

from genlab.train.callbacks import Progress
from genlab.train.config import TrainConfig

_TRAINER = ("TrainingDiverged", "TrainResult", "resolve_device", "train")


def __getattr__(name):
    # The trainer is imported when first used, so `python -m genlab --help` does not load torch.
    if name in _TRAINER:
        from genlab.train import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module 'genlab.train' has no attribute {name!r}")


__all__ = ["Progress", "TrainConfig", *_TRAINER]
