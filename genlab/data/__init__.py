"""3D MNIST data: voxel digits from MNIST (embedded or IDX files), the Kaggle files or an offline generator.

    from genlab.data import load_dataset
    data = load_dataset()          # offline synthetic digits, built in seconds, then cached
    data = load_dataset("mnist")   # real MNIST, MNIST's own split: the embedded digits (or GENLAB_MNIST_DIR)
    data.X_train                   # float32 (N, 16, 16, 16) in [0, 1]; data.y_train int64 (N,)
"""

from genlab.data.dataset import SOURCES, VoxelDataset, load_dataset
from genlab.data.errors import DataError
from genlab.data.idx import read_idx, read_mnist, write_idx
from genlab.data.kaggle import read_point_clouds, read_vectors, write_vectors
from genlab.data.lift import lift_image
from genlab.data.noise import NOISE_VARIANCE, add_gaussian_noise
from genlab.data.voxelize import GRID, voxelize_digits, voxelize_points

__all__ = ["GRID", "NOISE_VARIANCE", "SOURCES", "DataError", "add_gaussian_noise", "lift_image", "VoxelDataset",
           "load_dataset", "read_idx", "read_mnist", "read_point_clouds", "read_vectors", "voxelize_digits",
           "voxelize_points", "write_idx", "write_vectors"]
