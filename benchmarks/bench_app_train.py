"""Training speed from the app's Train page against the CLI, same model and settings, one core kept busy.

    python -m benchmarks.bench_app_train                  # AE/FCN, one minute of CLI training each,
                                                          # 3,000 digits in the app
    python -m benchmarks.bench_app_train --seconds 120 --digits 6000 --kind vae

One run, side by side: a process spinning on one core is started first and runs throughout
(as when something else uses the machine), then
  1. `python -m genlab train` with torch's default threads, for --seconds (`--max-minutes`),
  2. the same command with `--threads 1`,
  3. `streamlit run app.py`, driven in headless Chromium: the Train page's form (kind, backbone,
     one epoch over --digits training digits; latent 16, batch 64, learning rate 1e-3 are the
     form's defaults and the CLI is given the same), Start, wait for "Finished".
A step costs the same whatever the dataset's size, so the runs' lengths need not match.
Each run's samples/s is the trainer's own figure stored in its checkpoint (mean over its steps,
validation excluded), so all three are measured by the same code. Prints them and the app's
share of the faster CLI run (target: at least 80%).
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from genlab import names, paths
from genlab.app.server import CHROMIUM, CHROMIUM_ARGS, free_port, stop, streamlit_command, wait_until_up
from genlab.models import DEFAULT_LATENT_DIM
from genlab.train import TrainConfig

SETTINGS = {"latent_dim": DEFAULT_LATENT_DIM, "batch_size": TrainConfig.batch_size,
            "lr": TrainConfig.lr}  # the Train form's defaults


def samples_per_s(checkpoint: Path) -> float:
    """Returns the trainer's samples/s recorded in a checkpoint."""
    from safetensors import safe_open

    with safe_open(str(checkpoint), framework="numpy") as handle:
        return json.loads(handle.metadata()["genlab"])["training"]["samples_per_s"]


def run_cli(kind: str, backbone: str, seconds: float, out: Path, env: dict, threads: int | None) -> float:
    command = [sys.executable, "-m", "genlab", "train", "--kind", kind, "--backbone", backbone,
               "--dataset", "synthetic", "--epochs", "100", "--max-minutes", str(seconds / 60), "--patience", "1000",
               "--latent-dim", str(SETTINGS["latent_dim"]), "--batch-size", str(SETTINGS["batch_size"]),
               "--lr", str(SETTINGS["lr"]), "--second-stage-steps", "0", "--out", str(out)]
    if threads:
        command += ["--threads", str(threads)]
    subprocess.run(command, cwd=paths.REPO_ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
                   stderr=subprocess.DEVNULL)
    return samples_per_s(out)


def run_app(kind: str, backbone: str, digits: int, env: dict, runs: Path, timeout: float) -> float:
    from playwright.sync_api import sync_playwright

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(streamlit_command(port), cwd=paths.REPO_ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.STDOUT)
    try:
        wait_until_up(url, process, timeout=60)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            page.set_default_timeout(timeout * 1000)
            page.goto(f"{url}/train")
            page.get_by_role("spinbutton", name="Epochs").fill("1")
            page.get_by_role("spinbutton", name="Training digits (0 = all)").fill(str(digits))
            for label, value, default in (("Kind", kind.upper(), "AE"),
                                          ("Backbone", names.backbone_title(backbone), "FCN")):
                if value == default:
                    continue
                page.get_by_label(label).click()
                page.get_by_role("option", name=value, exact=True).click()
            page.get_by_role("button", name="Start training").click()
            page.get_by_text("Finished.").wait_for()
            browser.close()
    finally:
        stop(process)
    (checkpoint,) = runs.glob("*.safetensors")
    return samples_per_s(checkpoint)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", default="ae", choices=("ae", "vae", "gan"))
    parser.add_argument("--backbone", default="fcn", choices=("fcn", "cnn_mlp", "lstm", "gru"))
    parser.add_argument("--seconds", type=float, default=60, help="each CLI run's time budget")
    parser.add_argument("--digits", type=int, default=3000, help="training digits of the app's one-epoch run")
    parser.add_argument("--timeout", type=float, default=600)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="genlab-apptrain-") as temp:
        temp = Path(temp)
        env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
        env.update(GENLAB_CACHE_DIR=str(temp / "cache"), GENLAB_APP_DATASET="synthetic",
                   STREAMLIT_BROWSER_GATHER_USAGE_STATS="false")
        subprocess.run([sys.executable, "-m", "genlab", "data", "build"], cwd=paths.REPO_ROOT, env=env,
                       check=True, stdout=subprocess.DEVNULL)   # the dataset both use, built once
        busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
        try:
            time.sleep(1)
            results = {
                "CLI, torch's default threads": run_cli(args.kind, args.backbone, args.seconds,
                                                        temp / "a.safetensors", env, None),
                "CLI, --threads 1": run_cli(args.kind, args.backbone, args.seconds, temp / "b.safetensors", env, 1),
                "app, Train page": run_app(args.kind, args.backbone, args.digits, env, temp / "cache" / "runs",
                                           args.timeout),
            }
        finally:
            busy.kill()
    print(f"{args.kind}/{args.backbone} on the synthetic digits (CLI: {args.seconds:g} s each; app: one epoch "
          f"over {args.digits:,} digits), latent "
          f"{SETTINGS['latent_dim']}, batch {SETTINGS['batch_size']}, one core kept busy by another process "
          f"({os.cpu_count()} cores):")
    for name, speed in results.items():
        print(f"  {name:30s} {speed:8.0f} samples/s")
    best_cli = max(v for k, v in results.items() if k.startswith("CLI"))
    print(f"  app / faster CLI run: {results['app, Train page'] / best_cli:.0%} (target >= 80%)")


if __name__ == "__main__":
    main()
