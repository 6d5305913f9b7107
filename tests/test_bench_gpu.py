"""benchmarks/bench_gpu.py: the GPU throughput script runs the trainer's step on any device, and says
plainly when there is no GPU."""

import subprocess
import sys

import pytest
import torch

from genlab.paths import REPO_ROOT


def bench(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "benchmarks.bench_gpu", *args], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=300)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_it_prints_one_row_of_positive_rates_per_model_on_the_cpu(precision):
    done = bench("--device", "cpu", "--steps", "1", "--models", "ae_fcn", "gan_gru", "--precision", precision)
    assert done.returncode == 0, done.stderr
    assert f"CPU, torch {torch.__version__}, {'bf16 autocast' if precision == 'bf16' else 'fp32'}," in done.stdout
    rows = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines()[2:]}
    assert set(rows) == {"ae_fcn", "gan_gru"}
    for rates in rows.values():
        assert len(rates) == 3 and all(float(r.replace(",", "")) > 0 for r in rates)


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_it_says_so_instead_of_a_traceback():
    done = bench("--models", "ae_fcn")
    assert done.returncode == 1
    assert "no CUDA device here" in done.stderr and "Traceback" not in done.stderr
