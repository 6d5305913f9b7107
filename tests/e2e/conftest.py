"""Fixtures for end-to-end tests: the real app under `streamlit run`, and headless Chromium."""

import os
import subprocess
from pathlib import Path

import pytest

from genlab import paths
from genlab.app import server

CHROMIUM = Path(server.CHROMIUM)
CHROMIUM_ARGS = server.CHROMIUM_ARGS
SCREENSHOTS = paths.REPO_ROOT / "screenshots"


@pytest.fixture(scope="session")
def app_cache(tmp_path_factory) -> Path:
    """Returns the GENLAB_CACHE_DIR of the app under test, holding one small trained-looking checkpoint."""
    cache = tmp_path_factory.mktemp("app-cache")
    from genlab.models import build_model, save_model

    torch_model = build_model("vae", "fcn", latent_dim=8)
    save_model(torch_model, cache / "runs" / "e2e_vae.safetensors", {"dataset": {"source": "synthetic"}})
    return cache


@pytest.fixture(scope="session")
def app_url(app_cache, tmp_path_factory):
    """Returns the URL of `streamlit run app.py` on 127.0.0.1 (a free port), stopped after the session."""
    port = server.free_port()
    log = tmp_path_factory.mktemp("streamlit") / "streamlit.log"
    env = {**os.environ, "GENLAB_CACHE_DIR": str(app_cache),
           "GENLAB_APP_DATASET": "synthetic",   # start on the procedural digits: built in seconds
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    with open(log, "w") as out:
        process = subprocess.Popen(server.streamlit_command(port), cwd=paths.REPO_ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        server.wait_until_up(url, process, log=log)
        yield url
    finally:
        server.stop(process)


@pytest.fixture(scope="session")
def browser():
    """Returns a headless Debian Chromium driven by Playwright (skips if Chromium is missing)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium package for end-to-end tests")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                              args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, app_url):
    """Returns a fresh browser page (its own Streamlit session) at a desktop size."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    yield page
    context.close()


@pytest.fixture
def screenshot(page):
    """Returns shoot(name): saves a full-page screenshot as screenshots/NAME.png, returns its path."""
    def shoot(name: str) -> Path:
        SCREENSHOTS.mkdir(exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        # Streamlit scrolls inside its main container, so grow the window to the content first.
        height = page.evaluate("""() => Math.max(...['stMain', 'stMainBlockContainer', 'stAppViewContainer']
            .map(id => document.querySelector(`[data-testid="${id}"]`))
            .filter(Boolean).map(el => el.scrollHeight + el.getBoundingClientRect().top))""")
        size = page.viewport_size
        page.set_viewport_size({"width": size["width"], "height": max(size["height"], min(height, 6000))})
        page.wait_for_timeout(1000)   # let charts re-layout to the new size
        page.screenshot(path=str(path), full_page=True)
        page.set_viewport_size(size)
        return path
    return shoot
