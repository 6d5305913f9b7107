"""`python -m genlab data`: build, inspect and download 3D MNIST datasets.

    python -m genlab data build                                   # offline synthetic digits
    python -m genlab data build --source mnist                    # real MNIST digits embedded in genlab
    python -m genlab data build --source mnist --mnist-dir ../shared/data/mnist
    python -m genlab data build --source kaggle --path full_dataset_vectors.h5
    python -m genlab data build --source mnist --out mnist3d.h5   # also write the Kaggle vectors layout
    python -m genlab data info                                    # what is cached, where
    python -m genlab data download --dir ~/mnist                  # official MNIST files, md5-checked
    python -m genlab data clean                                   # delete the cached datasets
"""

import argparse
import json
import time

from genlab import names
from genlab.arguments import count


def add_parser(subparsers) -> None:
    """Registers `data` with its `build`, `info` and `download` subcommands."""
    data = subparsers.add_parser("data", help="build, inspect and download 3D MNIST datasets",
                                 description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = data.add_subparsers(dest="data_command", required=True, metavar="COMMAND")

    build = commands.add_parser("build", help="build (or reload from the cache) a dataset and summarise it")
    build.add_argument("--source", default="synthetic", choices=tuple(names.DATA_SOURCES))
    build.add_argument("--mnist-dir", help="folder of MNIST IDX files, train-* and t10k-* (default: "
                                           "$GENLAB_MNIST_DIR, else the digits embedded in genlab)")
    build.add_argument("--download", action="store_true", help="mnist: download the official files "
                                                                "into --mnist-dir when they are missing")
    build.add_argument("--path", help="kaggle: full_dataset_vectors.h5 or *_point_clouds.h5")
    build.add_argument("--n-train", type=count, help="training digits (synthetic default 6000, mnist 22000)")
    build.add_argument("--n-test", type=count, help="test digits (default 1000)")
    build.add_argument("--rotated-copies", type=int, help="mnist: randomly rotated copies of the "
                                                          "training digits (default 1)")
    build.add_argument("--rotate-deg", type=float, help="mnist: rotation range, +- degrees per axis (default 30)")
    build.add_argument("--test-rotated", action="store_true", help="mnist: rotate the test digits too")
    build.add_argument("--seed", type=int, help="random seed (default 0)")
    build.add_argument("--no-cache", action="store_true", help="build afresh and do not write the cache")
    build.add_argument("--out", help="also write the dataset to FILE.h5 in the Kaggle vectors layout")
    build.set_defaults(func=run_build)

    info = commands.add_parser("info", help="list cached datasets and the data folders genlab uses")
    info.set_defaults(func=run_info)

    clean = commands.add_parser("clean", help="delete the cached datasets (they are rebuilt when needed)")
    clean.set_defaults(func=run_clean)

    download = commands.add_parser("download", help="download the official MNIST files (md5-checked)")
    download.add_argument("--dir", help="target folder (default: the user cache folder)")
    download.set_defaults(func=run_download)


# The build options each source takes (argparse dest names = load_dataset parameters).
SOURCE_OPTIONS = {
    "synthetic": ("n_train", "n_test", "seed"),
    "mnist": ("mnist_dir", "download", "n_train", "n_test", "rotated_copies", "rotate_deg",
              "test_rotated", "seed"),
    "kaggle": ("path",),
}


def build_params(args) -> dict:
    """Returns the load_dataset parameters given on the command line (others keep their defaults)."""
    options = {name for names in SOURCE_OPTIONS.values() for name in names}
    given = {name: getattr(args, name) for name in sorted(options)
             if getattr(args, name) is not None and getattr(args, name) is not False}
    wrong = set(given) - set(SOURCE_OPTIONS[args.source])
    if wrong:
        raise ValueError(f"--source {args.source} does not take "
                         + ", ".join("--" + name.replace("_", "-") for name in sorted(wrong)))
    if args.source == "kaggle" and "path" not in given:
        raise ValueError("--source kaggle needs --path FILE (full_dataset_vectors.h5 or *_point_clouds.h5)")
    return given


def run_build(args) -> int:
    """Builds or reloads the dataset, prints a summary; returns 0."""
    from genlab.data.dataset import cache_path, load_dataset
    from genlab.data.kaggle import write_vectors

    params = build_params(args)
    start = time.perf_counter()
    data = load_dataset(args.source, cache=not args.no_cache, **params)
    seconds = time.perf_counter() - start
    summary = {
        "source": data.source,
        "train": list(data.X_train.shape),
        "test": list(data.X_test.shape),
        "fingerprint": data.fingerprint,
        "cache": "off" if args.no_cache else str(cache_path(data.source, data.params)),
        "seconds": round(seconds, 2),
        "params": data.params,
    }
    if args.out:
        write_vectors(args.out, data.X_train, data.y_train, data.X_test, data.y_test)
        summary["written"] = args.out
    for key, value in summary.items():
        print(f"{key:12s} {json.dumps(value) if isinstance(value, (dict, list)) else value}")
    return 0


def run_info(args) -> int:
    """Prints the data folders and every cached dataset; returns 0."""
    from genlab import paths
    from genlab.data.dataset import cached_datasets

    print(f"cache folder  {paths.cache_dir()}")
    mnist = paths.mnist_dir()
    if mnist is None:
        print(f"MNIST digits  embedded, {paths.EMBEDDED_MNIST} (set GENLAB_MNIST_DIR for a folder)")
    else:
        print(f"MNIST folder  {mnist} ({'present' if mnist.is_dir() else 'missing'})")
    found = cached_datasets()
    if not found:
        print("no cached datasets yet: `python -m genlab data build` makes the synthetic one in seconds")
    for entry in found:
        if "error" in entry:
            print(f"- {entry['path']}: {entry['error']}")
            continue
        print(f"- {entry['source']}: {entry['n_train']} train, {entry['n_test']} test, "
              f"fingerprint {entry['fingerprint']}, {entry['megabytes']} MB, {entry['path']}")
        print(f"    params {json.dumps(entry['params'])}")
    return 0


def run_clean(args) -> int:
    """Deletes every cached dataset file; returns 0."""
    from genlab import paths

    files = sorted(paths.cache_dir().glob("*.npz"))
    freed = sum(file.stat().st_size for file in files)
    for file in files:
        file.unlink()
    print(f"deleted {len(files)} cached datasets ({freed / 1e6:.0f} MB) from {paths.cache_dir()}")
    return 0


def run_download(args) -> int:
    """Downloads MNIST IDX files (verified); returns 0."""
    from pathlib import Path

    from genlab import paths
    from genlab.data.download import download_mnist

    folder = Path(args.dir).expanduser() if args.dir else paths.cache_dir() / "mnist"
    files = download_mnist(folder)
    for file in files:
        print(f"{file} ({file.stat().st_size} bytes, md5 verified)")
    print(f"use it with: python -m genlab data build --source mnist --mnist-dir {folder}")
    return 0
