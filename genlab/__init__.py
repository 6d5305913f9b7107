"""genlab: an interactive lab for generative models of 3D voxel data."""

__version__ = "0.1.0"


def __getattr__(name):
    # genlab.load_model without importing torch on `import genlab` (the CLI's --help stays fast).
    if name == "load_model":
        from genlab.models import load_model

        return load_model
    raise AttributeError(f"module 'genlab' has no attribute {name!r}")
