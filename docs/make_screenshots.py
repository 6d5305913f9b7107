"""Screenshots of every page for the README: docs/*.png, 1000 px wide.

    python docs/make_screenshots.py            # starts `streamlit run app.py` on a free port itself

Runs the app on the default dataset (real MNIST, the embedded digits; its one-time build is
waited for), drives headless Chromium (/usr/bin/chromium) through each page, and saves
palette PNGs (small enough to commit).
"""

import os
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path.insert(0, str(REPO))

from genlab.app.server import CHROMIUM, CHROMIUM_ARGS, free_port, stop, streamlit_command, wait_until_up  # noqa: E402

WIDTH, MAX_HEIGHT = 1000, 1500
PAGES = [("", "home"), ("data", "data"), ("train", "train"), ("explore", "explore"), ("compare", "compare"),
         ("clock", "clock")]
IDLE = "() => !document.querySelector('[data-testid=\"stStatusWidget\"], [data-testid=\"stSpinner\"], " \
       "[data-testid=\"stProgress\"]')"


def save(page, name: str) -> Path:
    """Saves the page (up to MAX_HEIGHT px) as a 256-colour PNG; returns its path."""
    from PIL import Image

    raw = DOCS / f".{name}.png"
    page.screenshot(path=str(raw), full_page=False)
    image = Image.open(raw).convert("RGB")
    path = DOCS / f"{name}.png"
    image.quantize(colors=256, method=Image.Quantize.MEDIANCUT).save(path, optimize=True)
    raw.unlink()
    return path


def main() -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    process = subprocess.Popen(streamlit_command(port), cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    try:
        wait_until_up(url, process, timeout=60)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": WIDTH, "height": MAX_HEIGHT})
            page.set_default_timeout(900_000)
            page.goto(url)
            page.get_by_text("fingerprint").first.wait_for()   # the dataset is loaded (built once)
            for path, name in PAGES:
                page.goto(f"{url}/{path}")
                page.wait_for_timeout(1500)
                page.wait_for_function(IDLE)
                if name == "clock":  # show a reading: the third example clock
                    page.get_by_role("button", name="Try").nth(2).click()
                    page.locator(".clock-time").wait_for()
                    page.wait_for_function(IDLE)
                page.wait_for_timeout(2500)   # charts finish drawing
                print(save(page, name))
            browser.close()
    finally:
        stop(process)


if __name__ == "__main__":
    main()
