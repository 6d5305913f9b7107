"""genlab.train: the trainer for all twelve models (CPU, CUDA, MPS; DDP under torchrun).

    result = train(model, dataset, TrainConfig(epochs=10), on_progress=print)
"""

from genlab.train.trainer import Progress, TrainConfig, TrainingDiverged, TrainResult, resolve_device, train

__all__ = ["Progress", "TrainConfig", "TrainResult", "TrainingDiverged", "resolve_device", "train"]
