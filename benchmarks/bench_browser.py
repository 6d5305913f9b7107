"""Benchmark: what a user waits for in a real browser (the app under `streamlit run`, headless Chromium).

    python -m benchmarks.bench_browser [--moves 20] [--models ae_fcn vae_gru ...] [--slider "z["] [--visits 3]

Starts `streamlit run app.py` on a free port and drives Debian's Chromium through Playwright:
- first page: navigation start -> the Home page's title drawn;
- page switch: click in the sidebar -> the Latent explorer's 3D figure drawn, for a visitor who
  clicks as soon as Home is drawn and for one who reads Home first (until the browser has readied
  plotly.js and a 3D scene, genlab.app.live_view.prepare; the time that takes is printed), each
  `--visits` times in turn, in fresh browser pages, after a first visit that warms the server;
- model switch: pick a checkpoint -> the figure shows the new model's digit;
  page and model switches are timed in the page, from the mousedown to the first animation frame
  with the new figure (Playwright's own latency, ~0.1 s to deliver a click and as much to notice
  a change, is not the user's wait);
- slider: per model, `--moves` presses of ArrowRight on the first latent slider (the most
  influential dimension), each timed from the key press (a keydown listener in the page) to
  the moment the 3D figure's data changed (checked on every animation frame). The explorer
  draws such a move in the browser from the sweep of grids the server sent with its last
  rerun (genlab/viz/live.py), so this is the figure a user sees; the server's rerun for the
  move still runs, and the time from the key press to its last websocket message ("server
  answer") is printed beside it.
Prints each model's median and p95 in milliseconds, then the totals. This is the latency a
user feels; benchmarks/bench_viz.py times only the server's share of a slider step.

    python -m benchmarks.bench_browser --clock PHOTO [PHOTO ...] [--visits 5]

times the Clock page instead: each photo uploaded `--visits` times in turn, each on a fresh Clock page after one
untimed upload that warms the server, timed in the page from the file chosen to the reading drawn with both of its
pictures (the read hands on the photo, what the reader saw) loaded.
"""

import argparse
import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from genlab import paths
from genlab.app.server import CHROMIUM, CHROMIUM_ARGS, free_port, stop, streamlit_command, wait_until_up
from genlab.models import shipped_models

# What the browser draws: vertex count and colour sum of the explorer's live 3D view.
SIGNATURE = """() => {
  const plot = document.querySelector('.genlab-live .js-plotly-plot');
  if (!plot || !plot._fullData || !plot._fullData.length) return null;
  const trace = plot._fullData[0];
  let sum = 0;
  for (const v of (trace.intensity || [])) sum += v;
  return (trace.x || []).length + ':' + sum.toFixed(4) + ':' + ((trace.i || []).length);
}"""
# Notes when each websocket message from the server arrives (installed before the app loads).
FRAMES = """(() => {
  window.__received = [];
  const Socket = window.WebSocket;
  window.WebSocket = class extends Socket {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', () => window.__received.push(performance.now()));
    }
  };
})();"""
# Starts timing at the user's next `event` (a keydown, a mousedown) in the page and stops on the first
# animation frame whose figure differs from the one shown now: the user's wait, without the time
# Playwright takes to deliver the event or to notice the change.
WATCH = """([signature, event]) => {
  const sig = eval(signature);
  window.__elapsed = undefined;
  const before = sig();
  document.addEventListener(event, () => {
    const start = performance.now();
    window.__pressed = start;
    window.__received = [];
    const poll = () => {
      if (sig() !== before) { window.__elapsed = performance.now() - start; return; }
      requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
  }, {capture: true, once: true});
}"""

# Starts timing when a file is chosen in the page's uploader and stops on the first animation frame that shows a
# reading (the Clock page's .clock-time) with the pictures in its row loaded.
READING = """() => {
  window.__elapsed = undefined;
  document.addEventListener('change', () => {
    const start = performance.now();
    const poll = () => {
      const time = document.querySelector('.clock-time');
      const row = time && time.closest('[data-testid="stHorizontalBlock"]');
      const pictures = row ? [...row.querySelectorAll('img')] : [];
      if (pictures.length >= 2 && pictures.every(p => p.complete && p.naturalWidth > 0)) {
        window.__elapsed = performance.now() - start;
        return;
      }
      requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
  }, {capture: true, once: true});
}"""


def start_app(port: int, log: Path) -> subprocess.Popen:
    """Starts `streamlit run app.py` and returns once it answers its health check."""
    env = {**os.environ, "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    with open(log, "w") as out:
        process = subprocess.Popen(streamlit_command(port), cwd=paths.REPO_ROOT, env=env, stdout=out,
                                   stderr=subprocess.STDOUT)
    try:
        wait_until_up(f"http://127.0.0.1:{port}", process, timeout=120, log=log)
    except RuntimeError:
        stop(process)
        raise
    return process


def p95(values: list[float]) -> float:
    """Returns the 95th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def settle(page) -> None:
    """Waits until Streamlit has finished the current run."""
    page.wait_for_timeout(300)
    page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')",
                           timeout=120_000)


def waited(page, timeout_ms: int = 60_000) -> float:
    """Returns seconds from the event WATCH was set for to the changed figure."""
    page.wait_for_function("() => window.__elapsed !== undefined", timeout=timeout_ms)
    return page.evaluate("() => window.__elapsed") / 1000


def visit_explorer(page, url: str, read: bool) -> tuple[float, float, float]:
    """Opens Home, then the Latent explorer: at once, or (read) once the browser has readied the 3D
    view. Returns seconds (to Home's title, from the title to the view readied, page switch)."""
    start = time.perf_counter()
    page.goto(url)
    page.get_by_role("heading", name="genlab").first.wait_for()
    first_page = time.perf_counter() - start
    settle(page)
    ready = float("nan")
    if read:
        page.wait_for_function("() => window.__genlabSpare", timeout=60_000)
        ready = time.perf_counter() - start - first_page
    page.evaluate(WATCH, [SIGNATURE, "mousedown"])   # no figure on Home: any figure drawn ends the wait
    page.get_by_test_id("stSidebarNavLink").filter(has_text="Latent explorer").click()
    return first_page, ready, waited(page, 120_000)


def pick_model(page, name: str) -> float:
    """Chooses a checkpoint in the explorer; returns seconds until the figure changed."""
    box = page.locator('[data-testid="stSelectbox"]').filter(has_text="Checkpoint").first
    if box.locator("input").input_value().startswith(f"{name} ·"):
        return float("nan")   # already showing
    box.locator("input").click()
    option = page.get_by_role("option").filter(has_text=f"{name} ·").first
    option.wait_for()
    page.evaluate(WATCH, [SIGNATURE, "mousedown"])
    option.click()
    switch = waited(page)
    settle(page)
    answer = page.evaluate("() => window.__received.length ? Math.max(...window.__received) - window.__pressed : 0")
    print(f"  ({name}: figure {switch:.2f} s, the server's last message {answer / 1000:.2f} s)")
    return switch


def slider_moves(page, label: str, moves: int) -> tuple[list[float], list[float]]:
    """Presses ArrowRight `moves` times on the slider named `label...`; returns ms per press until the
    figure changed, and until the server's last message for the press."""
    import re

    thumb = page.get_by_role("slider", name=re.compile("^" + re.escape(label))).first
    thumb.focus()
    thumb.press("Home")
    settle(page)
    times, answers = [], []
    for _ in range(moves):
        page.evaluate(WATCH, [SIGNATURE, "keydown"])
        thumb.press("ArrowRight")
        try:
            page.wait_for_function("() => window.__elapsed !== undefined", timeout=10_000)
            times.append(page.evaluate("() => window.__elapsed"))
        except Exception:  # noqa: BLE001 - a step that changed nothing on screen is reported, not fatal
            print(f"  (a press of {label}... changed nothing within 10 s)")
        settle(page)
        answer = page.evaluate("() => window.__received.length ? "
                               "Math.max(...window.__received) - window.__pressed : null")
        if answer is not None:
            answers.append(answer)
    return times, answers


def clock_read(page, url: str, photo: str) -> float:
    """Uploads a photo on a fresh Clock page; returns ms from the file chosen to the reading drawn (READING).

    The upload waits until the browser has readied the 3D view in the background (genlab.app.live_view.prepare,
    after every page load here, once per visit in the app), as a user choosing a file gives it time to: uploaded
    at once, the reading waited up to 0.5 s more for the browser's busy main thread."""
    page.goto(url + "/clock")
    settle(page)
    page.wait_for_function("() => window.__genlabSpare", timeout=60_000)
    page.evaluate(READING)
    page.set_input_files("input[type=file]", photo)
    return 1000 * waited(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--moves", type=int, default=20)
    parser.add_argument("--models", nargs="*", help="shipped model names (default: all)")
    parser.add_argument("--slider", default="z[", help="the label the timed slider starts with")
    parser.add_argument("--visits", type=int, default=3, help="page switches timed per kind of visitor "
                                                              "(--clock: uploads timed per photo)")
    parser.add_argument("--clock", nargs="+", metavar="PHOTO", help="time the Clock page reading these photos instead")
    args = parser.parse_args()
    names = args.models or [entry["name"] for entry in shipped_models()
                            if entry.get("kind") in ("ae", "vae", "gan")]

    from playwright.sync_api import sync_playwright

    port = free_port()
    log = Path(tempfile.mkdtemp()) / "streamlit.log"
    process = start_app(port, log)
    url = f"http://127.0.0.1:{port}"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)

            def new_page():
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                page.set_default_timeout(120_000)
                return page

            if args.clock:
                page = new_page()
                clock_read(page, url, args.clock[0])  # warms the server: torch, the reader, detector and finder
                times = {photo: [] for photo in args.clock}
                for _ in range(args.visits):
                    for photo in args.clock:
                        times[photo].append(clock_read(page, url, photo))
                for photo, values in times.items():
                    print(f"{Path(photo).name}: upload -> reading drawn, median {statistics.median(values):.0f} ms "
                          f"({' '.join(f'{v:.0f}' for v in values)})")
                return
            # Warm the server (dataset, torch, first model) so the timed pages are a second visitor's.
            page = new_page()
            visit_explorer(page, url, read=False)
            page.close()
            # Visitors who click at once, and visitors who read Home first (the browser readies plotly.js
            # and a 3D scene meanwhile: genlab.app.live_view.prepare), in turn; the last one goes on below.
            hasty, reading, readied = [], [], []
            for visit in range(args.visits):
                page = new_page()
                first_page, _, switch = visit_explorer(page, url, read=False)
                hasty.append(switch)
                page.close()
                page = new_page()
                page.add_init_script(FRAMES)
                _, ready, switch = visit_explorer(page, url, read=True)
                reading.append(switch)
                readied.append(ready)
                settle(page)
                if visit < args.visits - 1:
                    page.close()

            all_moves, all_answers, switches = [], [], []
            print(f"{'model':<14}{'switch s':>9}{'median ms':>11}{'p95 ms':>8}{'n':>4}{'server answer ms':>18}")
            for name in names:
                switch = pick_model(page, name)
                if switch == switch:   # not NaN
                    switches.append(switch)
                settle(page)
                times, answers = slider_moves(page, args.slider, args.moves)
                all_moves += times
                all_answers += answers
                if times:
                    answer = f"{statistics.median(answers):>18.0f}" if answers else ""
                    print(f"{name:<14}{switch:>9.2f}{statistics.median(times):>11.0f}{p95(times):>8.0f}"
                          f"{len(times):>4}{answer}", flush=True)
            browser.close()
    finally:
        stop(process)
    print(f"\nslider -> figure (all models): median {statistics.median(all_moves):.0f} ms, "
          f"p95 {p95(all_moves):.0f} ms over {len(all_moves)} presses")
    if all_answers:
        print(f"slider -> server's answer (its rerun done; the figure does not wait for it): "
              f"median {statistics.median(all_answers):.0f} ms, p95 {p95(all_answers):.0f} ms")
    if switches:  # picking the model already shown times nothing
        print(f"model switch -> figure: median {statistics.median(switches):.2f} s, max {max(switches):.2f} s")
    print(f"page switch Home -> explorer figure drawn, median of {args.visits}: "
          f"{statistics.median(reading):.2f} s after reading Home ({' '.join(f'{t:.2f}' for t in reading)}; "
          f"its 3D scene ready {statistics.median(readied):.2f} s after the title), "
          f"{statistics.median(hasty):.2f} s when clicked at once ({' '.join(f'{t:.2f}' for t in hasty)})")
    print(f"first page (warm server) -> Home title: {first_page:.2f} s")


if __name__ == "__main__":
    main()
