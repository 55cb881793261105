#!/usr/bin/env bash
# Builds the CUDA `raddraft` and benchmark binaries here, for a GPU machine that has no Rust and
# no network, and stages everything bench/gpu/run.sh needs in bench/gpu/dist/.
#
#   bench/gpu/build.sh            # CUDA 13.0.x from PyPI wheels, sm_90 (H100/H200)
#
# candle's `cuda` feature compiles its kernels with nvcc to PTX, which the GPU driver JIT-compiles
# when the binary loads. PTX from an nvcc newer than the driver does not load, so the toolkit is
# pinned to CUDA 13.0, the version of the GPU machine's driver (580). Debian has no CUDA toolkit;
# PyPI's nvidia-* wheels carry nvcc, the runtime, cuBLAS, cuRAND and NVRTC. The default build and
# CI stay CUDA-free: only this script enables the feature.
set -euo pipefail
cd "$(dirname "$0")/../.."
CUDA_VENV=${CUDA_VENV:-$HOME/.cache/raddraft/cuda-13.0-venv}
CUDA_VERSION=${CUDA_VERSION:-13.0}
export CUDA_COMPUTE_CAP=${CUDA_COMPUTE_CAP:-90}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$HOME/.cache/raddraft-target}-cuda
DIST=bench/gpu/dist

if [ ! -x "$CUDA_VENV/bin/python" ]; then
  echo "installing the CUDA $CUDA_VERSION toolkit wheels into $CUDA_VENV…" >&2
  python3 -m venv "$CUDA_VENV"
  "$CUDA_VENV/bin/pip" install -q \
    "nvidia-cuda-nvcc==$CUDA_VERSION.*" "nvidia-cuda-runtime==$CUDA_VERSION.*" \
    "nvidia-cublas==$CUDA_VERSION.*" "nvidia-curand" "nvidia-cuda-nvrtc==$CUDA_VERSION.*"
fi
# The wheels unpack under site-packages/nvidia/ (cu13/ for CUDA 13); nvcc is the anchor.
NVCC=$(find "$CUDA_VENV" -path '*/bin/nvcc' -type f | head -n1)
[ -n "$NVCC" ] || { echo "nvcc not found in $CUDA_VENV" >&2; exit 1; }
export CUDA_ROOT=$(dirname "$(dirname "$NVCC")")
export CUDA_PATH=$CUDA_ROOT CUDA_TOOLKIT_ROOT_DIR=$CUDA_ROOT
export PATH="$CUDA_ROOT/bin:$PATH"
# cudarc links nothing at build time (it loads libcuda and the libraries at run time), but
# candle-kernels' build script runs nvcc, which needs the headers and libraries beside it.
libs=$(find "$CUDA_VENV" -path '*/nvidia/*/lib' -type d | tr '\n' ':')
export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:-}" LIBRARY_PATH="${libs}${LIBRARY_PATH:-}"
echo "nvcc: $("$NVCC" --version | tail -n1); compute capability $CUDA_COMPUTE_CAP" >&2

echo "building raddraft and the benchmark with --features cuda (release; the CUDA kernels take minutes)…" >&2
cargo build --release --locked -p raddraft-cli --features raddraft-cli/cuda
cargo build --release --locked -p raddraft-bench --bin paligemma2 --features raddraft-bench/cuda

rm -rf "$DIST" && mkdir -p "$DIST"
for bin in raddraft paligemma2; do
  strip -o "$DIST/$bin" "$CARGO_TARGET_DIR/release/$bin"
done
# The CUDA libraries come from the GPU machine's torch packages (run.sh); only PTX ships here.
"$NVCC" --version > "$DIST/nvcc-version.txt"
du -sh "$DIST" >&2
echo "staged in $DIST: carry it to the GPU machine and run bench/gpu/run.sh there" >&2
