#!/usr/bin/env bash
# Trains all twelve with the shipped recipe (README, "Shipped weights") and times it.
#
#     bash benchmarks/train_all.sh [OUT]         # 2-core CPU: two chains side by side, (fcn, gru) and
#                                                # (cnn_mlp, lstm), one thread each
#     bash benchmarks/train_all.sh --gpu [OUT]   # one CUDA GPU: the four backbones' chains at once, and in
#                                                # each the VAE beside the GAN; the GPU's minutes (below)
#     bash benchmarks/train_all.sh --gans [OUT]  # 2-core CPU: only the four GANs again, from OUT's AEs (as
#                                                # the shipped GANs were made from the AEs of a --gpu run)
#
# Checkpoints go in OUT (default runs/train_all), logs beside them. Prints each model's seconds
# (training, test metrics and code samplers included) and the wall time.
# The data: `--dataset mnist` reads ../shared/data/mnist where it exists (GENLAB_MNIST_DIR overrides;
# genlab.paths.standard_mnist_dir): MNIST training digits 0..20,999 and a rotated copy, t10k tests.
# SCALE=0.05 multiplies every time budget (a smoke test); DEVICE=cpu runs --gpu's plan on the CPU;
# PYTHON names the interpreter (default python; python3 where there is no `python`).
set -euo pipefail
cd "$(dirname "$0")/.."
GPU=0 GANS_ONLY=0
if [[ ${1:-} == --gpu ]]; then GPU=1; shift; fi
if [[ ${1:-} == --gans ]]; then GANS_ONLY=1; shift; fi
OUT=${1:-runs/train_all}
PYTHON=${PYTHON:-python}
mkdir -p "$OUT/latent"
if ((GPU)); then
  # Minutes per stage on one GPU, four chains (up to eight processes) sharing it, two CPU threads each.
  declare -A AE_MINUTES=([fcn]=2 [cnn_mlp]=2 [lstm]=2 [gru]=2)
  # The voxel game runs at about 1,300 samples/s per process here (launch-bound at batch 64): 1.5 minutes
  # gave fewer steps than the CPU's 8 and worse GANs (README, Shipped weights), so 4.
  VAE_MINUTES=1 LATENT_GAN_MINUTES=0.75 VOXEL_GAN_MINUTES=4
  common="--dataset mnist --device ${DEVICE:-cuda} --threads 2 --epochs 60 --patience 6"
else
  declare -A AE_MINUTES=([fcn]=6 [cnn_mlp]=6 [lstm]=9 [gru]=10)
  VAE_MINUTES=5 LATENT_GAN_MINUTES=4 VOXEL_GAN_MINUTES=8
  # bf16 autocast: 1.2-2x the fp32 rate on a CPU with native bf16 (PRECISION=fp32 where it has none)
  common="--dataset mnist --threads 1 --epochs 60 --patience 6 --precision ${PRECISION:-bf16}"
fi
# The convolutional backbones twice as wide as build_model's default (the VAE and GAN take it from their AE)
declare -A AE_OPTIONS=([fcn]="--set width=32" [cnn_mlp]="--set width=32" [lstm]="" [gru]="")

minutes() {  # minutes M: M times SCALE
  awk -v m="$1" -v s="${SCALE:-1}" 'BEGIN { print m * s }'
}

run() {  # run NAME ARGS...: trains one model, prints its seconds
  local name=$1 start=$SECONDS
  shift
  OPENBLAS_NUM_THREADS=1 "$PYTHON" -m genlab train "$@" --out "$OUT/$name.safetensors" > "$OUT/$name.log" 2>&1
  echo "$name $((SECONDS - start)) s"
}

gan() {  # gan BACKBONE: the latent game on the fixed AE, then its decoder fine-tuned by a voxel critic too
  local b=$1 options="--kind gan --backbone $1 $common --lr 3e-4 --epochs 300 --patience 1000 --set ae_weight=0"
  run "latent/gan_$b" $options --max-minutes "$(minutes $LATENT_GAN_MINUTES)" --init-from "$OUT/ae_$b.safetensors" \
    --no-samplers  # only a step towards the voxel GAN, which fits its own
  run "gan_$b" $options --max-minutes "$(minutes $VOXEL_GAN_MINUTES)" --init-from "$OUT/latent/gan_$b.safetensors" \
    --set voxel_weight=0.005
}

chain() {  # chain BACKBONE...: AE, then VAE and GAN from it, for each backbone in turn
  for b in "$@"; do
    run "ae_$b" --kind ae --backbone "$b" $common ${AE_OPTIONS[$b]} --lr 3e-3 --max-minutes "$(minutes "${AE_MINUTES[$b]}")"
    vae=(run "vae_$b" --kind vae --backbone "$b" $common --lr 1e-3 --max-minutes "$(minutes $VAE_MINUTES)"
         --init-from "$OUT/ae_$b.safetensors")
    if ((GPU)); then
      "${vae[@]}" &
      gan "$b"
      wait
    else
      "${vae[@]}"
      gan "$b"
    fi
  done
}

start=$SECONDS
if ((GANS_ONLY)); then
  (gan fcn; gan gru) &
  (gan cnn_mlp; gan lstm) &
elif ((GPU)); then
  for b in fcn cnn_mlp lstm gru; do chain "$b" & done
else
  chain fcn gru &
  chain cnn_mlp lstm &
fi
wait
echo "all $( ((GANS_ONLY)) && echo four GANs || echo twelve ): $((SECONDS - start)) s wall"
"$PYTHON" -m genlab train --half "$OUT"/{ae,vae,gan}_*.safetensors  # network weights in float16: half the bytes
"$PYTHON" -m genlab train --manifest --out "$OUT"
