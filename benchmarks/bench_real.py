"""How do bundles do on REAL scans? Real guns found, and real ordinary bags left alone.

Judges each bundle, at its card's thresholds, on the real sets beside the checkout
(``../shared/realdata``; measure with them, never train on them):

- ``gdxray_b0046``, ``gdxray_more`` (greyscale, every handgun boxed): firearm AP50, Pd (images
  with a gun that alarm for firearm) and the share of guns boxed (IoU >= 0.5);
- ``opixray_clutter`` (442 real colour bags holding none of our classes): the share of bags that
  raise any alarm, per class, and boxes drawn per bag (issue 23's goal: at most 5%).

The shipped default (``models/default``) is judged first as the baseline, in the same run:

    python benchmarks/bench_real.py --bundle var/bundles/candidate [--bundle ...] \\
        [--sets gdxray_b0046 gdxray_more opixray_clutter] [--json FILE] [--write-metrics]
        [--at-baseline-thresholds]

``--at-baseline-thresholds`` judges each bundle's detections once more at the baseline card's
thresholds: two models compared at one operating point (each card's own thresholds, chosen on
synthetic validation, move with what the model finds easy there).

``--write-metrics`` records each given bundle's figures in its card (``metrics.real_scans``), so
that the card carries its clutter alarm share beside its Pd. The per-class threshold that would
keep clutter alarms at 5% is printed as a diagnosis, never written: choosing thresholds on these
sets would fit the model to them.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from xscreen.errors import XscreenError
from xscreen.models.card import CARD_FILE, save_card
from xscreen.models.runtime import OnnxDetector
from xscreen.training.realdata import (
    REAL_SETS,
    DetectedSet,
    RealSetResult,
    default_realdata_root,
    detect_sets,
    format_results,
)

BASELINE = Path(__file__).resolve().parents[1] / "models" / "default"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bundle", action="append", default=[],
                        help="a bundle to judge beside the baseline; repeatable")
    parser.add_argument("--baseline", default=str(BASELINE),
                        help="judged first, in the same run (default: models/default); "
                             "'none' for no baseline")
    parser.add_argument("--realdata", default=None,
                        help="folder of the real sets (default: $XSCREEN_REALDATA or "
                             "../shared/realdata)")
    parser.add_argument("--sets", nargs="+", default=list(REAL_SETS), choices=list(REAL_SETS))
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")
    parser.add_argument("--json", help="write every bundle's figures to this JSON file")
    parser.add_argument("--at-baseline-thresholds", action="store_true",
                        help="also judge each --bundle at the baseline card's thresholds: the "
                             "same operating point for every model (thresholds chosen on "
                             "synthetic validation move with what the model finds easy there)")
    parser.add_argument("--write-metrics", action="store_true",
                        help="record each --bundle's figures in its card (metrics.real_scans)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    root = Path(args.realdata) if args.realdata else default_realdata_root()
    if not root.is_dir():
        print(f"bench_real: no real sets at {root}: give --realdata or set XSCREEN_REALDATA",
              file=sys.stderr)
        return 2
    bundles = ([] if args.baseline == "none" else [args.baseline]) + args.bundle
    if not bundles:
        print("bench_real: nothing to judge: give --bundle", file=sys.stderr)
        return 2
    if args.at_baseline_thresholds and args.baseline == "none":
        print("bench_real: --at-baseline-thresholds needs a baseline", file=sys.stderr)
        return 2
    figures = {}
    diagnoses = []
    baseline_card = None
    try:
        for path in bundles:
            detector = OnnxDetector(path, threads=args.threads)
            started = time.perf_counter()
            detected = detect_sets(detector, root, args.sets)
            card = detector.card
            results = [one.judge(card.classes, card.threshold_list()) for one in detected]
            label = f"{Path(path).name} ({card.version})"
            print(format_results(label, results), flush=True)
            print(f"{'':<28} {time.perf_counter() - started:.1f} s", flush=True)
            figures[str(path)] = [result.to_dict() for result in results]
            diagnoses += diagnose(Path(path).name, card.classes, detected, results)
            if baseline_card is None and args.baseline != "none":
                baseline_card = card          # the first judged is the baseline
            elif args.at_baseline_thresholds and baseline_card is not None:
                if tuple(card.classes) != tuple(baseline_card.classes):
                    raise XscreenError(f"{path}: its classes differ from the baseline's; "
                                       "its boxes cannot be judged at the baseline's thresholds")
                shared = [one.judge(card.classes, baseline_card.threshold_list())
                          for one in detected]
                print(format_results(f"{label} at the baseline's thresholds", shared),
                      flush=True)
                figures[f"{path}@baseline"] = [result.to_dict() for result in shared]
            if args.write_metrics and path in args.bundle:
                metrics = {**card.metrics, "real_scans": {r.name: r.to_dict() for r in results}}
                save_card(card.replace(metrics=metrics),
                          Path(path) / CARD_FILE)
    except XscreenError as error:
        print(f"bench_real: {error}", file=sys.stderr)
        return 2
    if diagnoses:
        print("\n".join(diagnoses))
    if args.json:
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    return 0


def diagnose(label: str, classes: tuple[str, ...], detected: list[DetectedSet],
             results: list[RealSetResult]) -> list[str]:
    """What silencing the clutter by thresholds alone would cost: the thresholds at which 5% of
    the clutter bags alarm, and the gun sets' firearm Pd and guns boxed at them, beside the
    card's (issue 23: a diagnosis, never written to a card). Lines to print."""
    clutter = next((r for r in results if r.threshold_for_share), None)
    if clutter is None:
        return []
    needed = clutter.threshold_for_share
    shown = " ".join(f"{c} {v:.3f}" for c, v in needed.items())
    lines = [f"diagnosis only, {label}: thresholds for 5% of {clutter.name} to alarm: {shown}"]
    at_card = {r.name: r for r in results}
    for one in detected:
        if REAL_SETS[one.name] != "guns":
            continue
        at, card = one.judge(classes, [needed[c] for c in classes]), at_card[one.name]
        lines.append(f"    at them, {one.name}: firearm Pd {at.firearm_pd:.3f}, guns boxed "
                     f"{at.firearm_recall:.3f} (at the card's: {card.firearm_pd:.3f}, "
                     f"{card.firearm_recall:.3f})")
    return lines


if __name__ == "__main__":
    sys.exit(main())
