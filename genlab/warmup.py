"""Imports the heavy modules (torch and the model code) in a background thread, once per process.

The Home page needs none of them, so the app opens without waiting for torch; by the time a user
opens a page that does need them, they are imported. A page that asks sooner simply waits on
Python's import lock for the import already under way instead of starting its own.

    from genlab import warmup
    warmup.start()   # returns at once; warmup.start().join() waits for the imports
"""

import importlib
import threading

MODULES = ("torch", "genlab.models", "genlab.explore", "genlab.viz.live")

_lock = threading.Lock()
_thread: threading.Thread | None = None


def start() -> threading.Thread:
    """Returns the warm-up thread, started on the first call (later calls return the same thread)."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_import_all, name="genlab-warmup", daemon=True)
            _thread.start()
    return _thread


def _import_all() -> None:
    for name in MODULES:
        importlib.import_module(name)
