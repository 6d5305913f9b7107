#!/usr/bin/env bash
# The CUDA path in one run, for a machine with one GPU: throughput of the twelve under bf16 autocast
# (benchmarks/bench_gpu.py, ae_fcn also compiled), a `torchrun --nproc_per_node=1` run (the DDP path on
# NCCL), a `--compile` run of the trainer, and then all twelve retrained with `train_all.sh --gpu`.
#
#     bash benchmarks/gpu_check.sh OUT      # logs and checkpoints in OUT; its steps took about 7 minutes
#                                           # on one H200 (README, Benchmarks), with 2.5 more for the voxel GANs now
#
# Needs the MNIST folder that `--dataset mnist` reads (../shared/data/mnist, or GENLAB_SHARED_DATA /
# GENLAB_MNIST_DIR). PYTHON names the interpreter (default python3); DEVICE=cpu SCALE=0.01 is a smoke test
# of the script on a machine without a GPU (see train_all.sh). Every step's log is in OUT.
set -u
cd "$(dirname "$0")/.."
OUT=${1:?usage: bash benchmarks/gpu_check.sh OUT}
export PYTHON=${PYTHON:-python3} PYTHONUNBUFFERED=1 OPENBLAS_NUM_THREADS=1
mkdir -p "$OUT/checks"
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'CUDA', torch.cuda.is_available())"
echo "== ${SECONDS} s: the dataset (built once, cached) beside bench_gpu"
"$PYTHON" -c "
from genlab import paths
from genlab.data.dataset import load_dataset
d = load_dataset('mnist', **paths.dataset_options('mnist'))
print('dataset', d.fingerprint, d.X_train.shape)" > "$OUT/checks/dataset.log" 2>&1 &
"$PYTHON" -m benchmarks.bench_gpu --device "${DEVICE:-cuda}" --steps 20 --compile ae_fcn 2>&1 | tee "$OUT/checks/bench_gpu.log"
wait
cat "$OUT/checks/dataset.log"
echo "== ${SECONDS} s: all twelve retrained (train_all.sh --gpu) beside the torchrun and --compile runs"
bash benchmarks/train_all.sh --gpu "$OUT" > "$OUT/train_all.log" 2>&1 &
check="--kind ae --backbone fcn --dataset mnist --device ${DEVICE:-cuda} --threads 2 --epochs 2 --max-minutes 0.4"
"$PYTHON" -m torch.distributed.run --nproc_per_node=1 -m genlab train $check --out "$OUT/checks/ddp.safetensors" \
  > "$OUT/checks/ddp.log" 2>&1
echo "torchrun: exit $?"
"$PYTHON" -m genlab train $check --compile --out "$OUT/checks/compile.safetensors" > "$OUT/checks/compile.log" 2>&1
echo "--compile: exit $?"
"$PYTHON" - "$OUT/checks" <<'PY'
import json, sys
from safetensors import safe_open
for name in ("ddp", "compile"):
    try:
        with safe_open(f"{sys.argv[1]}/{name}.safetensors", "pt") as f:
            t = json.loads(f.metadata()["genlab"])["training"]
        print(name, {k: t.get(k) for k in ("world_size", "backend", "device", "samples_per_s", "seconds")},
              "compile:", t["config"]["compile"])
    except (OSError, KeyError, ValueError) as error:
        print(name, "no checkpoint:", error)
PY
wait
echo "== ${SECONDS} s: done"
cat "$OUT/train_all.log"
