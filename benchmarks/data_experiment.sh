#!/usr/bin/env bash
# The controlled experiment of issue 17: does the new synthesiser's data make a model that finds
# real guns (and leaves real bags alone) better than the old one's, with everything else equal?
#
#   bash benchmarks/data_experiment.sh OLD_COMMIT [EPOCHS] [OUT]
#
# - "old": scans of the synthesiser as it was at OLD_COMMIT (run from a link tree of that commit
#   on PYTHONPATH, so the installed tree is not touched); "new": this tree's synthesiser.
# - Same seeds, counts and sizes for both: 2000 training scans and 300 validation scans at 800 px,
#   300 test scans at 1000 px of each synthesiser.
# - Same model, recipe (training/recipes/real.yaml) and amount of training: EPOCHS epochs (default
#   12) of xscreen_s, --rect --bf16, one thread each; the arms run side by side on the 2 cores, so
#   both get the same share of a shared machine. MODEL=xscreen_lite0 in the environment trains
#   that architecture in both arms instead (ImageNet-pretrained, the shipped default's); SEED=N
#   trains both arms again with seed N (runs, bundles and figures under runs-sN, bundles-sN,
#   real-sN.*), on the same scans, to see how much of a difference is the seed's.
# - Judged on the real sets (benchmarks/bench_real.py: GDXray firearm AP50 / Pd / guns boxed,
#   share of real colour bags that alarm) and on BOTH synthetic test sets (xscreen eval), after
#   choosing each bundle's thresholds on its own validation set (xscreen eval --write-thresholds).
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:?usage: data_experiment.sh OLD_COMMIT [EPOCHS] [OUT]}
EPOCHS=${2:-12}
OUT=${3:-var/exp}
MODEL=${MODEL:-xscreen_s}
SEED=${SEED:-0}
TAG=$([ "$SEED" = 0 ] || echo "-s$SEED")
RUNS="$OUT/runs$TAG"; BUNDLES="$OUT/bundles$TAG"
X=".venv/bin/xscreen"
mkdir -p "$OUT"

# The old synthesiser, as a package on PYTHONPATH (the layout pyproject.toml maps).
TREE="$OUT/old-tree"; SHIM="$OUT/old-shim"
if [ ! -d "$SHIM/xscreen" ]; then
  rm -rf "$TREE" "$SHIM"; mkdir -p "$TREE" "$SHIM/xscreen"
  git archive "$OLD" | tar -x -C "$TREE"
  ln -s "$(realpath "$TREE")"/xscreen/*.py "$SHIM/xscreen/"
  for package in datasets models training serving; do
    ln -s "$(realpath "$TREE")/$package" "$SHIM/xscreen/"; done
fi
old_synth() { PYTHONPATH="$(realpath "$SHIM")" PYTHONSAFEPATH=1 .venv/bin/python -m xscreen.cli synth "$@"; }

for arm in old new; do
  synth=$([ $arm = old ] && echo old_synth || echo "$X synth")
  for split in "train 2000 1000 800" "val 300 2000 800" "test 300 3000 1000"; do
    set -- $split
    [ -f "$OUT/$arm/$1/annotations.json" ] || { rm -rf "$OUT/$arm/$1";
      $synth "$OUT/$arm/$1" --count "$2" --seed "$3" --size "$4" --workers 2; }
  done
done

train() {  # arm, data, extra arguments
  local arm=$1 data=$2; shift 2
  $X train --data "$OUT/$data/train" --val "$OUT/$data/val" --out "$RUNS/$arm" \
    --model "$MODEL" --epochs "$EPOCHS" --seed "$SEED" --rect --threads 1 --workers 1 \
    --config training/recipes/real.yaml "$@" > "$RUNS/$arm.log" 2>&1
}
mkdir -p "$RUNS"
train old old --bf16 & train new new --bf16 & wait

for arm in old new; do
  rm -rf "$BUNDLES/$arm"
  $X export "$RUNS/$arm" --out "$BUNDLES/$arm"
  $X eval "$BUNDLES/$arm" "$OUT/$arm/val" --write-thresholds --target-pfa 0.05 > /dev/null
  for test in old new; do
    $X eval "$BUNDLES/$arm" "$OUT/$test/test" --json "$BUNDLES/$arm/eval_$test.json" \
      | tee "$BUNDLES/$arm/eval_$test.txt"
  done
done
.venv/bin/python benchmarks/bench_real.py --bundle "$BUNDLES/old" --bundle "$BUNDLES/new" \
  --json "$OUT/real$TAG.json" | tee "$OUT/real$TAG.txt"
