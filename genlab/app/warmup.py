"""Imports the heavy modules (torch and the model code) in a background thread, once per process,
and gives the pages' torch work one CPU thread.

The Home page needs none of them, so the app opens without waiting for torch; by the time a user
opens a page that does need them, they are imported. A page that asks sooner simply waits on
Python's import lock for the import already under way instead of starting its own.

    from genlab.app import warmup
    warmup.start(delay=warmup.AFTER_FIRST_PAGE)   # returns at once; .join() waits for the imports

The delay leaves the browser time to draw the first page: importing torch holds Python's lock
for seconds, and the server's event loop, which sends the page's images and messages, waits
for it. Started right after Home's script, it made a cold start's Home show its digits after
13.1 s instead of 6.6 s (benchmarks/bench_startup.py, the same run without the warm-up).

Page work is small batches (a slider's sweep, a few samples) while the browser, other visitors
and training jobs want the same cores: with torch's default of one thread per core, its threads
spin against them, and a model switch in the explorer took 2.3 s instead of 1.3 s in headless
Chromium on the 2-core machine (benchmarks/bench_browser.py). Script runs start on new threads,
which take the process-wide count set here; background jobs set their own (jobs.use_torch_threads).
"""

import importlib
import threading
import time

PAGE_THREADS = 1
AFTER_FIRST_PAGE = 4.0   # seconds the frame waits after the first page's script before warming up
MODULES = ("torch", "genlab.models", "genlab.app.explore", "genlab.app.live_view", "genlab.viz")  # the explorer's

_lock = threading.Lock()
_thread: threading.Thread | None = None


def start(delay: float = 0.0) -> threading.Thread:
    """Returns the warm-up thread, started on the first call, importing after `delay` seconds (later
    calls return the same thread)."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(target=_import_all, args=(delay,), name="genlab-warmup", daemon=True)
            _thread.start()
    return _thread


def _import_all(delay: float) -> None:
    time.sleep(delay)
    for name in MODULES:
        try:
            module = importlib.import_module(name)
        except Exception:  # noqa: BLE001 - only a head start: the page that imports it shows any error
            return
        if name == "torch":
            module.set_num_threads(PAGE_THREADS)
