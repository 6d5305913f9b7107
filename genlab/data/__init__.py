"""3D MNIST data: voxel digits from MNIST, the Kaggle files or an offline generator.

    from genlab.data import load_dataset
    data = load_dataset("mnist")   # VoxelDataset: X_train float32 (N, 16, 16, 16), y_train int64 ...
"""

from genlab.data.dataset import SOURCES, VoxelDataset, load_dataset
from genlab.data.errors import DataError
from genlab.data.idx import read_idx, read_mnist, write_idx
from genlab.data.voxelize import GRID, voxelize_digits

__all__ = ["GRID", "SOURCES", "DataError", "VoxelDataset", "load_dataset", "read_idx", "read_mnist",
           "voxelize_digits", "write_idx"]
