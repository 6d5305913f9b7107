"""The one reader and writer of genlab's weight files: safetensors tensors plus one JSON header.

Every weight file genlab writes (a 3D model's checkpoint, the digit classifier, the clock reader
and detector) is a safetensors file whose metadata holds {"genlab": JSON}, a dict naming the
file's format and format version beside what rebuilding the network needs. Tensors only: never
pickled code. Reading checks the format and the version and says, naming the file, what is wrong.

    save(path, tensors, CLASSIFIER, {"config": {...}})
    tensors, info = read(path, CLASSIFIER)    # info: the header dict (format and version included)
    info = read_info(path, MODEL)             # the header only: no tensors read, no torch imported

Clock files written before this module keep their header as flat string metadata
({"format": ..., "format_version": "1", "config": JSON, ...}); `read` understands them too.
"""

import json
from dataclasses import dataclass
from pathlib import Path

from genlab.files import atomic_write

HEADER_KEY = "genlab"  # the safetensors metadata key that holds the JSON header


@dataclass(frozen=True)
class FileFormat:
    """One kind of weight file: its format name and current version (files of versions 1..version are
    read), what it is called in messages, and the noun after "not a readable safetensors"."""

    name: str
    version: int
    what: str
    noun: str = "file"


# genlab's weight files (the code that builds each network from its header: genlab.models.checkpoint,
# genlab.eval.classifier, genlab.clock.train, genlab.clock.detect, genlab.clock.twelve).
MODEL = FileFormat("genlab-checkpoint", 1, "genlab checkpoint", "checkpoint")
CLASSIFIER = FileFormat("genlab-classifier", 1, "genlab digit classifier", "classifier")
CLOCK_READER = FileFormat("genlab.clock", 1, "genlab clock reader")
CLOCK_DETECTOR = FileFormat("genlab.clock.detector", 1, "genlab clock detector")
CLOCK_TWELVE = FileFormat("genlab.clock.twelve", 1, "genlab clock twelve finder")


def save(path, tensors: dict, file_format: FileFormat, info: dict) -> Path:
    """Returns the path written: `tensors` (name -> torch tensor) and the JSON-able `info` as a
    `file_format` file, via a temporary file and a rename (a crash never leaves half a file)."""
    from safetensors.torch import save_file

    header = {**info, "format": file_format.name, "format_version": file_format.version}
    tensors = {name: value.detach().to("cpu").contiguous() for name, value in tensors.items()}
    metadata = {HEADER_KEY: json.dumps(header)}
    return atomic_write(Path(path), lambda tmp: save_file(tensors, str(tmp), metadata=metadata))


def read(path, file_format: FileFormat) -> tuple[dict, dict]:
    """Returns (tensors, header) of a `file_format` file: FileNotFoundError if it is missing, else
    ValueError naming the file when it is unreadable, foreign, or of a newer format version."""
    from safetensors.torch import load_file

    path = _existing(path, file_format)
    header = read_info(path, file_format)
    try:
        tensors = load_file(str(path))
    except Exception as error:  # noqa: BLE001 - safetensors raises several types for broken files
        raise _unreadable(path, file_format, error) from None
    return tensors, header


def read_info(path, file_format: FileFormat) -> dict:
    """Returns the header of a `file_format` file without reading its tensors (nor importing torch);
    errors as `read`."""
    from safetensors import safe_open

    path = _existing(path, file_format)
    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = handle.metadata() or {}
    except Exception as error:  # noqa: BLE001 - safetensors raises several types for broken files
        raise _unreadable(path, file_format, error) from None
    header = _header(path, metadata, file_format)
    if header.get("format") != file_format.name:
        raise ValueError(f"{path} is not a {file_format.what} (metadata format is {header.get('format')!r}, "
                         f"not {file_format.name!r})")
    version = header.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= file_format.version:
        raise ValueError(f"{path} has {file_format.what} format version {version!r}; "
                         f"this genlab reads versions 1 to {file_format.version}")
    return header


def _existing(path, file_format: FileFormat) -> Path:
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no {file_format.what} at {path}")
    return path


def _unreadable(path: Path, file_format: FileFormat, error: Exception) -> ValueError:
    return ValueError(f"{path} is not a readable safetensors {file_format.noun} (truncated or foreign file?): "
                      f"{error}")


def _header(path: Path, metadata: dict[str, str], file_format: FileFormat) -> dict:
    """Returns the header dict of a file's safetensors metadata: the JSON under HEADER_KEY, or the flat
    string metadata of an older clock file (each value read as JSON where it parses)."""
    if HEADER_KEY in metadata:
        try:
            header = json.loads(metadata[HEADER_KEY])
        except json.JSONDecodeError as error:
            raise ValueError(f"{path} has corrupt genlab metadata: {error}") from None
        if not isinstance(header, dict):
            raise ValueError(f"{path} is not a {file_format.what} (its genlab metadata is not a JSON object)")
        return header
    if "format" in metadata:
        return {key: _json_or_text(value) for key, value in metadata.items()}
    raise ValueError(f"{path} is not a {file_format.what} (a safetensors file without genlab metadata)")


def _json_or_text(value: str):
    try:
        return json.loads(value)
    except json.JSONDecodeError:
        return value
