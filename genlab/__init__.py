"""genlab: an interactive lab for generative models of 3D voxel data."""

__version__ = "0.1.0"
