"""``xscreen eval BUNDLE DATA``: COCO mAP and per-class Pd/Pfa of a bundle on a dataset."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from xscreen.training.evaluate import EvalReport


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", help="model bundle folder (model.onnx + model.json)")
    parser.add_argument("data", help="dataset folder (COCO)")
    parser.add_argument("--json", help="write the figures to this JSON file")
    parser.add_argument("--plots", help="write a precision-recall PNG per class into this folder")
    parser.add_argument("--target-pfa", type=float, default=0.05,
                        help="false-alarm rate the thresholds are chosen for (default 0.05)")
    parser.add_argument("--pfa-over", choices=("class", "any"), default="class",
                        help="how --target-pfa is counted: per class over the images without "
                             "it (class, the default), or as threat-free images alarming for any "
                             "class (any: an ordinary parcel's alarm, the budget shared evenly "
                             "between the classes)")
    parser.add_argument("--write-thresholds", action="store_true",
                        help="choose per-class thresholds for --target-pfa on DATA (a validation "
                             "set) and write them into the bundle's card")
    parser.add_argument("--write-metrics", action="store_true",
                        help="record these figures in the card's metrics (a held-out test set)")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")
    parser.add_argument("--by", action="append", default=[], metavar="ATTRIBUTE",
                        help="also print, per class, the share of objects found at the card's "
                             "thresholds (IoU >= 0.5) for each value of an annotation's or "
                             "image's attribute (the synthesiser writes kind, concealment, "
                             "material and palette); repeatable")


def main(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from xscreen.datasets.coco import load_dataset
    from xscreen.errors import UsageError
    from xscreen.models.runtime import OnnxDetector
    from xscreen.training import evaluate as ev

    if not 0.0 <= args.target_pfa <= 1.0:
        raise UsageError(f"--target-pfa must be in [0, 1], got {args.target_pfa}")
    detector = OnnxDetector(args.bundle, threads=args.threads)
    dataset = load_dataset(args.data, classes=detector.card.classes)
    detections = ev.bundle_detections(detector, dataset, progress=True)
    report, summary = ev.evaluate(detector.card, dataset, detections, args.target_pfa,
                                  pfa_over=args.pfa_over)
    if args.write_thresholds:
        thresholds = ev.chosen_thresholds(report, detector.card.classes)
        report, summary = ev.evaluate(detector.card, dataset, detections, args.target_pfa,
                                      thresholds, pfa_over=args.pfa_over)
        ev.write_thresholds(detector.bundle, thresholds, report)
    elif args.write_metrics:
        ev.write_metrics(detector.bundle, report)
    used = [float(report.per_class[name]["threshold"]) for name in detector.card.classes]
    breakdowns = {attribute: ev.recall_by(dataset, detections, used, attribute)
                  for attribute in args.by}
    if args.json:
        figures = report.to_dict()
        if breakdowns:
            figures["recall_by"] = breakdowns   # (found, total) pairs become JSON lists
        Path(args.json).write_text(json.dumps(figures, indent=2) + "\n")
    if args.plots:
        ev.plot_pr_curves(summary, args.plots)
    print(format_report(report))
    for attribute, table in breakdowns.items():
        print(format_breakdown(attribute, table))
    return 0


def format_report(report: EvalReport) -> str:
    """A small text table of the report's figures."""
    lines = [f"images {report.images}  mAP50 {report.map50:.3f}  mAP50-95 {report.map50_95:.3f}"
             f"  threat-free images alarming {report.clean_alarm_share:.3f}",
             f"{'class':<12} {'AP50':>6} {'Pd':>6} {'Pfa':>6} {'thr':>6} {'thr@Pfa':>8}"]
    for name, row in report.per_class.items():
        lines.append(f"{name:<12} {row['ap50']:6.3f} {row['pd']:6.3f} {row['pfa']:6.3f} "
                     f"{row['threshold']:6.3f} {row['threshold_for_target_pfa']:8.3f}")
    return "\n".join(lines)


def format_breakdown(attribute: str, table: dict[str, dict[str, tuple[int, int]]]) -> str:
    """Found/total objects per class and attribute value, as text."""
    lines = [f"\nfound at the thresholds, by {attribute}:",
             f"{'class':<12} {attribute:<24} {'found':>11} {'share':>6}"]
    for name, rows in table.items():
        for value, (found, total) in rows.items():
            lines.append(f"{name:<12} {value:<24} {f'{found}/{total}':>11} {found / total:6.2f}")
    return "\n".join(lines)
