#!/usr/bin/env bash
# Issue 3's GPU work in one prepared call of the device tool (a lent GPU machine: 15 minutes of
# device time a task, 10 a command, no network, PyTorch in its own python3):
#
#   1. what the machine has (GPU, torch, onnxruntime's providers);
#   2. install the wheels carried in var/device-wheels (`make device-wheels`); xscreen is used
#      from this tree (a PYTHONPATH of links), not installed;
#   3. benchmarks/bench_gpu.py: the shipped bundle's throughput at 640, batch 1-64, beside ONNX
#      Runtime on the machine's CPU (goal: 1000 images/s on one H100-class GPU);
#   4. the default model's data (same seeds and sizes as `make default-model`), synthesised on
#      every core;
#   5. a training run on the GPU with whatever time is left (`--device cuda`, large batches,
#      training/recipes/gpu.yaml), exported, thresholds chosen on validation, scored on test.
#
# From the session's machine (the device tool's `run`):
#   make device-wheels
#   run(command="bash benchmarks/device_session.sh", carry=["var/device-wheels"], timeout_s=600)
# Everything comes back in $OUT (at most 8 files): session.log, bench_gpu.json, result.tgz (the
# new bundle with its card, eval JSON and PR curves, the run's log.csv, curves.png and
# config.yaml). Then, on the session's machine: GDXray (../shared is not carried) and the
# benchmarks that compare bundles (bench_scale.py, bench_risk.py).
#
# Knobs (environment): BUDGET_S (whole script, default 540 s of the command's 600), BATCH (64),
# LR (0.004), MODEL (xscreen_lite0, as `make default-model`), WORKERS (cores - 2),
# TRAIN_COUNT/VAL_COUNT/TEST_COUNT (8000/400/500, as `make default-model`), EPOCHS (1000: the
# time budget ends the run), BENCH_SECONDS (1), BENCH_SIZE
# (640), BENCH_BATCHES ("1 2 4 8 16 32 64"), DEVICE (cuda), PYTHON (python3), WORK (var/device),
# RESERVE_S (seconds kept after training for export, evaluation and packing; 120), MIN_TRAIN_S
# (30: less left for training stops the script), SKIP_BENCH=1, SKIP_TRAIN=1.
# Run again on a machine still warm, it skips the data it has and resumes the run in var/device.
# The test suite runs this script on the CPU with tiny settings (tests/training/test_device_session.py).
set -uo pipefail
cd "$(dirname "$0")/.."

START=$(date +%s)
OUT=${OUT:-var/device-out}
PY=${PYTHON:-python3}
DEVICE=${DEVICE:-cuda}
BUDGET_S=${BUDGET_S:-540}
RESERVE_S=${RESERVE_S:-120}
BATCH=${BATCH:-64}
LR=${LR:-0.004}
MODEL=${MODEL:-xscreen_lite0}
CORES=$(nproc)
WORKERS=${WORKERS:-$(( CORES > 3 ? CORES - 2 : 1 ))}
TRAIN_COUNT=${TRAIN_COUNT:-8000}
VAL_COUNT=${VAL_COUNT:-400}
TEST_COUNT=${TEST_COUNT:-500}
BENCH_SECONDS=${BENCH_SECONDS:-1}
BENCH_SIZE=${BENCH_SIZE:-640}
BENCH_BATCHES=${BENCH_BATCHES:-1 2 4 8 16 32 64}
EPOCHS=${EPOCHS:-1000}
MIN_TRAIN_S=${MIN_TRAIN_S:-30}
WORK=${WORK:-var/device}
DATA=$WORK/data
RUN=$WORK/runs/gpu
BUNDLE=$WORK/bundles/gpu
mkdir -p "$OUT" "$WORK"
LOG=$OUT/session.log
: >"$LOG"

elapsed() { echo $(( $(date +%s) - START )); }
log() { echo "[$(elapsed)s] $*" | tee -a "$LOG"; }
# stage NAME COMMAND...: run it with its output in the log; a failed stage is logged, not fatal
stage() {
  local name=$1; shift
  log "== $name: $*"
  local begin; begin=$(date +%s)
  "$@" >>"$LOG" 2>&1
  local status=$?
  log "== $name: exit $status after $(( $(date +%s) - begin ))s"
  return $status
}

log "xscreen device session: device=$DEVICE batch=$BATCH lr=$LR model=$MODEL workers=$WORKERS cores=$CORES budget=${BUDGET_S}s"
stage machine bash -c "nvidia-smi -L 2>/dev/null || echo 'no nvidia-smi'; $PY -c '
import onnxruntime, torch
print(\"torch\", torch.__version__, \"cuda available:\", torch.cuda.is_available(),
      torch.cuda.get_device_name(0) if torch.cuda.is_available() else \"\")
print(\"onnxruntime\", onnxruntime.__version__, onnxruntime.get_available_providers())'"

if [ -d var/device-wheels ]; then
  stage install "$PY" -m pip install --quiet --no-index --find-links var/device-wheels \
    -r benchmarks/device-requirements.txt
fi
# xscreen from this tree without installing it (no build tools needed): the package layout of
# pyproject.toml (xscreen.datasets = datasets/, ...) as symbolic links on PYTHONPATH
SHIM=$(cd "$WORK" && pwd)/pythonpath
rm -rf "$SHIM" && mkdir -p "$SHIM/xscreen"
ln -s "$PWD"/xscreen/*.py "$SHIM/xscreen/"
for package in datasets models training serving; do ln -s "$PWD/$package" "$SHIM/xscreen/"; done
export PYTHONPATH=$SHIM${PYTHONPATH:+:$PYTHONPATH}
# and not the current folder first: from the tree's root, `import xscreen` would find ./xscreen,
# which lacks the subpackages (Python 3.11+)
export PYTHONSAFEPATH=1
if ! stage imports "$PY" -c "import xscreen, xscreen.cli, xscreen.training.run, albumentations, faster_coco_eval, xraydb; print('xscreen from', xscreen.__file__)"; then
  log "xscreen cannot be imported here (carry var/device-wheels: make device-wheels); stopping"
  exit 1
fi
XS=("$PY" -m xscreen.cli)

if [ "${SKIP_BENCH:-0}" != 1 ]; then
  # shellcheck disable=SC2086  # BENCH_BATCHES is a list of numbers
  stage bench "$PY" benchmarks/bench_gpu.py --bundle models/default --size "$BENCH_SIZE" \
    --batches $BENCH_BATCHES --device "$DEVICE" --seconds "$BENCH_SECONDS" \
    --json "$OUT/bench_gpu.json"
fi

if [ "${SKIP_TRAIN:-0}" = 1 ]; then
  log "SKIP_TRAIN=1: done"; exit 0
fi
# the default model's data: seeds and sizes as `make default-model`
synth() {  # synth NAME COUNT SEED SIZE
  [ -f "$DATA/$1/annotations.json" ] && return 0
  rm -rf "${DATA:?}/$1"
  stage "synth-$1" "${XS[@]}" synth "$DATA/$1" --count "$2" --seed "$3" --size "$4" \
    --workers "$CORES" --quiet
}
synth train "$TRAIN_COUNT" 1000 800 && synth val "$VAL_COUNT" 2000 800 && \
  synth test "$TEST_COUNT" 3000 1000 || { log "synthesis failed; stopping"; exit 1; }

left=$(( BUDGET_S - $(elapsed) - RESERVE_S ))
if [ "$left" -lt "$MIN_TRAIN_S" ]; then
  log "only ${left}s left for training; stopping"; exit 1
fi
MINUTES=$(awk -v s="$left" 'BEGIN { printf "%.2f", s / 60 }')
stage train "${XS[@]}" train --data "$DATA/train" --val "$DATA/val" --out "$RUN" \
  --epochs "$EPOCHS" --minutes "$MINUTES" --seed 0 --rect --bf16 --model "$MODEL" \
  --device "$DEVICE" --batch "$BATCH" --lr "$LR" --workers "$WORKERS" --threads 4 \
  --config training/recipes/gpu.yaml
if [ -f "$RUN/best.pt" ]; then
  rm -rf "$BUNDLE"
  stage export "${XS[@]}" export "$RUN" --out "$BUNDLE" && \
  stage thresholds "${XS[@]}" eval "$BUNDLE" "$DATA/val" --write-thresholds --target-pfa 0.05 && \
  stage test "${XS[@]}" eval "$BUNDLE" "$DATA/test" --json "$BUNDLE/eval_test.json" \
    --plots "$BUNDLE/plots" --write-metrics
fi
files=()
for f in "$BUNDLE" "$RUN/log.csv" "$RUN/curves.png" "$RUN/config.yaml"; do
  [ -e "$f" ] && files+=("$f")
done
[ ${#files[@]} -gt 0 ] && tar czf "$OUT/result.tgz" "${files[@]}"
log "done: $(ls "$OUT" | tr '\n' ' ')"
