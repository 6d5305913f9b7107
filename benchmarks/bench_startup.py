"""Cold start of the app on a fresh clone: `streamlit run app.py` to a usable Home page with real digits.

    python -m benchmarks.bench_startup                 # a fresh `git clone` of HEAD, empty cache, no ../shared
    python -m benchmarks.bench_startup --here          # this checkout instead of a clone
    python -m benchmarks.bench_startup --screenshot home.png

Clones the committed repository into a temporary folder (nothing else: no ../shared, no
GENLAB_MNIST_DIR, an empty GENLAB_CACHE_DIR, so the dataset must come from the embedded digits),
starts headless Chromium first (its start-up is not the app's), then `streamlit run app.py`, and
times from that command's start:
  - server up: /_stcore/health answers;
  - digits: the Home page shows its real MNIST digits (the preview image has loaded);
  - home usable: the checkpoint table is drawn and the script has finished running;
  - dataset built: the one-time 3D build, running in the background, has finished (Home then
    names the digit counts and the fingerprint).
Meanwhile a second browser session opens Home on the now warm server.
"""

import argparse
import os
import subprocess
import tempfile
import time
from pathlib import Path

from genlab import paths
from genlab.app.server import CHROMIUM, CHROMIUM_ARGS, free_port, stop, streamlit_command, wait_until_up

CHECKPOINT_TABLE = '[data-testid="stMarkdownContainer"] table'   # Home's checkpoint table (HTML)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--here", action="store_true", help="run this checkout instead of a fresh clone")
    parser.add_argument("--timeout", type=float, default=300, help="seconds to wait for the dataset build")
    parser.add_argument("--screenshot", help="save a screenshot of the usable Home page here")
    args = parser.parse_args()

    from playwright.sync_api import TimeoutError as PlaywrightTimeout
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="genlab-startup-") as temp:
        temp = Path(temp)
        if args.here:
            repo = paths.REPO_ROOT
        else:
            repo = temp / "genlab"
            subprocess.run(["git", "clone", "--quiet", str(paths.REPO_ROOT), str(repo)], check=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("GENLAB_")}
        env.update(GENLAB_CACHE_DIR=str(temp / "cache"), GENLAB_SHARED_DATA=str(temp / "no-shared"),
                   STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(args.timeout * 1000)
            log = open(temp / "streamlit.log", "w")
            started = time.time()
            process = subprocess.Popen(streamlit_command(port), cwd=repo, env=env, stdout=log, stderr=subprocess.STDOUT)
            try:
                wait_until_up(url, process, timeout=60 - (time.time() - started))
                times = {"server up": time.time() - started}
                page.goto(url)
                page.wait_for_function("""() => [...document.querySelectorAll('[data-testid="stImage"] img')]
                                          .some(img => img.complete && img.naturalWidth > 0)""", polling="raf")
                times["real digits shown"] = time.time() - started
                page.wait_for_selector(CHECKPOINT_TABLE)
                page.wait_for_function("""() => !document.querySelector('[data-testid="stStatusWidget"]')""")
                times["Home usable"] = time.time() - started
                if args.screenshot:
                    page.screenshot(path=args.screenshot, full_page=True)
                second = browser.new_page(viewport={"width": 1400, "height": 1000})
                opened = time.time()
                second.goto(url)
                second.wait_for_selector(CHECKPOINT_TABLE)
                times["Home usable in a second session"] = time.time() - opened
                try:
                    page.get_by_text("fingerprint").first.wait_for(timeout=args.timeout * 1000)
                    times["dataset built (background, once)"] = time.time() - started
                except PlaywrightTimeout:
                    times[f"dataset built: not within {args.timeout:g} s"] = float("nan")
            finally:
                stop(process)
                browser.close()
                log.close()
    where = "this checkout" if args.here else "a fresh clone"
    print(f"cold start of `streamlit run app.py` on {where}, empty cache, no ../shared:")
    for name, seconds in times.items():
        print(f"  {name:38s} {seconds:6.2f} s")


if __name__ == "__main__":
    main()
