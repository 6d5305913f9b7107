"""Imports the heavy modules (torch and the model code) in a background thread, once per process,
and gives the pages' torch work one CPU thread.

The Home page needs none of them, so the app opens without waiting for torch; by the time a user
opens a page that does need them, they are imported. A page that asks sooner simply waits on
Python's import lock for the import already under way instead of starting its own.

    from genlab.app import warmup
    warmup.start()   # returns at once; warmup.start().join() waits for the imports

Page work is small batches (a slider's sweep, a few samples) while the browser, other visitors
and training jobs want the same cores: with torch's default of one thread per core, its threads
spin against them, and a model switch in the explorer took 2.3 s instead of 1.3 s in headless
Chromium on the 2-core machine (benchmarks/bench_browser.py). Script runs start on new threads,
which take the process-wide count set here; background jobs set their own (jobs.use_torch_threads).
"""

import importlib
import threading

PAGE_THREADS = 1
MODULES = ("torch", "genlab.models", "genlab.app.explore", "genlab.app.live_view", "genlab.viz")  # the explorer's

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
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - only a head start: the page that imports it shows any error
            return
        if name == "torch":
            import torch

            torch.set_num_threads(PAGE_THREADS)
