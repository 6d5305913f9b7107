#!/usr/bin/env bash
# Time to train all twelve to the shipped quality on a 2-core machine: the shipped recipe (README,
# "Shipped weights") as two chains side by side, (fcn, gru) and (cnn_mlp, lstm), one thread each.
#
#     bash benchmarks/train_all.sh [OUT]      # checkpoints in OUT (default runs/train_all), logs beside them
#
# Prints each model's seconds (training, test metrics and code samplers included) and the wall time.
# The data: `--dataset mnist` reads ../shared/data/mnist where it exists (GENLAB_MNIST_DIR overrides;
# genlab.paths.standard_mnist_dir): MNIST training digits 0..20,999 and a rotated copy, t10k tests.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-runs/train_all}
mkdir -p "$OUT/latent"
common="--dataset mnist --threads 1 --epochs 60 --patience 6"
declare -A AE_MINUTES=([fcn]=6 [cnn_mlp]=6 [lstm]=9 [gru]=10)

run() {  # run NAME ARGS...: trains one model, prints its seconds
  local name=$1 start=$SECONDS
  shift
  OPENBLAS_NUM_THREADS=1 python -m genlab train "$@" --out "$OUT/$name.safetensors" > "$OUT/$name.log" 2>&1
  echo "$name $((SECONDS - start)) s"
}

chain() {  # chain BACKBONE...: AE, then VAE and GAN from it, for each backbone in turn
  for b in "$@"; do
    run "ae_$b" --kind ae --backbone "$b" $common --lr 3e-3 --max-minutes "${AE_MINUTES[$b]}"
    run "vae_$b" --kind vae --backbone "$b" $common --lr 1e-3 --max-minutes 5 --init-from "$OUT/ae_$b.safetensors"
    # The GAN: the latent game on the fixed AE, then its decoder fine-tuned by a voxel critic too.
    gan="--kind gan --backbone $b --dataset mnist --threads 1 --lr 3e-4 --epochs 300 --patience 1000 --set ae_weight=0"
    run "latent/gan_$b" $gan --max-minutes 4 --init-from "$OUT/ae_$b.safetensors"
    run "gan_$b" $gan --max-minutes 8 --init-from "$OUT/latent/gan_$b.safetensors" --set voxel_weight=0.005
  done
}

start=$SECONDS
chain fcn gru &
chain cnn_mlp lstm &
wait
echo "all twelve: $((SECONDS - start)) s wall on 2 processes"
python -m genlab train --manifest --out "$OUT"
