"""Accuracy beside YOLO11n trained on the same data with the same CPU time (issue 3).

YOLO11n (Ultralytics) is AGPL: it never becomes a dependency of xscreen. This script drives it in
a throwaway environment (a ``pip install --target`` folder, ``--yolo-site``) through child
processes, and scores its detections with xscreen's own evaluator, so both models are measured
the same way: COCO mAP (faster-coco-eval) on the test set, and Pd/Pfa per class at thresholds
chosen on the validation set for the target Pfa, exactly as ``xscreen eval`` does for a bundle.

    pip install --target /tmp/yolo-site ultralytics        # once, outside the project
    python benchmarks/bench_yolo_accuracy.py prepare --work /tmp/yolo-bench
    python benchmarks/bench_yolo_accuracy.py train --work /tmp/yolo-bench --minutes 85
    python benchmarks/bench_yolo_accuracy.py compare --work /tmp/yolo-bench \\
        --bundle models/default

``prepare`` writes the YOLO layout (symlinked images, label files) of ``--train/--val/--test``
(default ``var/data/*``, the default model's data); ``train`` runs Ultralytics' own recipe from
``yolo11n.yaml`` (random weights, no download) with a wall-clock budget (its ``time`` argument,
validation included, as xscreen's ``--minutes``); ``compare`` predicts the validation and test
sets with YOLO11n's ``best.pt``, runs the bundle over the same images, and prints both reports;
``plot`` draws both validation curves against training minutes.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np

from xscreen.datasets.coco import Dataset, load_dataset
from xscreen.models.card import load_bundle
from xscreen.models.runtime import OnnxDetector
from xscreen.training.evaluate import EvalReport, bundle_detections, evaluate
from xscreen.training.metrics import (
    ImageDetections,
    image_has_class,
    image_max_scores,
    thresholds_for_pfa,
)

SPLITS = ("train", "val", "test")


def prepare(args: argparse.Namespace) -> None:
    """YOLO layout: <work>/data/<split>/images (symlinks) and labels (class cx cy w h, 0-1)."""
    work = Path(args.work)
    for split in SPLITS:
        dataset = load_dataset(getattr(args, split))
        images = work / "data" / split / "images"
        labels = work / "data" / split / "labels"
        images.mkdir(parents=True, exist_ok=True)
        labels.mkdir(parents=True, exist_ok=True)
        for record in dataset.images:
            link = images / record.file_name
            if not link.exists():
                link.symlink_to(dataset.image_path(record).resolve())
            lines = []
            for (x, y, w, h), label in zip(record.boxes, record.labels, strict=True):
                lines.append(f"{label} {(x + w / 2) / record.width:.6f} "
                             f"{(y + h / 2) / record.height:.6f} {w / record.width:.6f} "
                             f"{h / record.height:.6f}")
            (labels / (Path(record.file_name).stem + ".txt")).write_text("\n".join(lines))
        print(f"{split}: {len(dataset.images)} images from {dataset.root}")
    names = "\n".join(f"  {i}: {name}" for i, name in enumerate(dataset.classes))
    (work / "data.yaml").write_text(f"path: {(work / 'data').resolve()}\ntrain: train/images\n"
                                    f"val: val/images\ntest: test/images\nnames:\n{names}\n")
    print(f"wrote {work / 'data.yaml'}")


def _child(args: argparse.Namespace, code: str, log: Path | None = None) -> None:
    """Run ``code`` in a child Python that sees the throwaway site (and never the reverse)."""
    env = {**os.environ, "PYTHONPATH": args.yolo_site, "YOLO_OFFLINE": "1",
           "YOLO_CONFIG_DIR": str(Path(args.work) / "ultralytics-config"),
           "OMP_NUM_THREADS": str(args.threads)}
    out = open(log, "a") if log else None  # noqa: SIM115 - closed below
    try:
        done = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                              stdout=out, stderr=subprocess.STDOUT if out else None, check=False)
    finally:
        if out:
            out.close()
    if done.returncode:
        raise SystemExit(f"the YOLO child process failed (exit {done.returncode})"
                         + (f"; see {log}" if log else ""))


def train(args: argparse.Namespace) -> None:
    work = Path(args.work).resolve()
    started = time.time()
    _child(args, f"""
        import torch
        torch.set_num_threads({args.threads})
        from ultralytics import YOLO
        YOLO("yolo11n.yaml").train(data="{work / 'data.yaml'}", imgsz={args.imgsz},
            time={args.minutes / 60.0}, epochs={args.epochs}, batch={args.batch}, device="cpu",
            workers={args.workers}, seed={args.seed}, deterministic=False, plots=False,
            project="{work / 'runs'}", name="yolo11n", exist_ok=True, pretrained=False,
            amp=False, verbose=True)
        """, log=work / "train.log")
    print(f"YOLO11n trained for {(time.time() - started) / 60:.1f} min; log {work / 'train.log'}")


def _yolo_detections(args: argparse.Namespace, split: str,
                     dataset: Dataset) -> list[ImageDetections]:
    work = Path(args.work).resolve()
    weights = work / "runs" / "yolo11n" / "weights" / "best.pt"
    if not weights.exists():
        raise SystemExit(f"no {weights}: run train first")
    out = work / f"pred_{split}.json"
    files = [str(dataset.image_path(r).resolve()) for r in dataset.images]
    (work / f"files_{split}.json").write_text(json.dumps(files))
    _child(args, f"""
        import json, torch
        torch.set_num_threads({args.threads})
        from ultralytics import YOLO
        model = YOLO("{weights}")
        files = json.load(open("{work / f'files_{split}.json'}"))
        rows = []
        for start in range(0, len(files), 16):
            for result in model.predict(files[start:start + 16], imgsz={args.imgsz}, conf=0.001,
                                        iou=0.6, max_det=100, device="cpu", verbose=False):
                boxes = result.boxes
                rows.append({{"boxes": boxes.xyxy.tolist(), "scores": boxes.conf.tolist(),
                             "labels": boxes.cls.int().tolist()}})
        json.dump(rows, open("{out}", "w"))
        """)
    rows = json.loads(out.read_text())
    return [ImageDetections(record.id, np.asarray(row["boxes"], np.float32).reshape(-1, 4),
                            np.asarray(row["scores"], np.float32),
                            np.asarray(row["labels"], np.int64))
            for record, row in zip(dataset.images, rows, strict=True)]


def _val_thresholds(detections: list[ImageDetections], dataset: Dataset,
                    target_pfa: float) -> list[float]:
    best = image_max_scores(detections, len(dataset.classes))
    present = image_has_class(dataset, [d.image_id for d in detections])
    return [float(t) for t in thresholds_for_pfa(best, present, target_pfa)]


def _print_report(name: str, report: EvalReport) -> None:
    print(f"\n{name}: mAP50 {report.map50:.3f}  mAP50-95 {report.map50_95:.3f}  "
          f"({report.images} test images)")
    for cls, row in report.per_class.items():
        print(f"  {cls:12s} AP50 {row['ap50']:.3f}  Pd {row['pd']:.3f}  Pfa {row['pfa']:.3f}  "
              f"(threshold {row['threshold']:.3f}, chosen on val for Pfa {report.target_pfa})")


def compare(args: argparse.Namespace) -> None:
    val, test = load_dataset(args.val), load_dataset(args.test)
    bundle = load_bundle(args.bundle)
    reports: dict[str, dict[str, object]] = {}
    for name, detect in (
            ("YOLO11n", lambda split, ds: _yolo_detections(args, split, ds)),
            (f"xscreen {bundle.card.name}", lambda split, ds: bundle_detections(
                OnnxDetector(bundle, threads=args.threads), ds))):
        started = time.time()
        thresholds = _val_thresholds(detect("val", val), val, args.target_pfa)
        report, _ = evaluate(bundle.card, test, detect("test", test), args.target_pfa, thresholds)
        print(f"[{name}: predicted val + test in {time.time() - started:.0f} s]")
        _print_report(name, report)
        reports[name] = report.to_dict()
    if args.json:
        Path(args.json).write_text(json.dumps(reports, indent=1))
        print(f"\nwrote {args.json}")


def plot(args: argparse.Namespace) -> None:
    """Validation mAP50 against training minutes: xscreen's run (``--run``) beside YOLO11n's.

    Each curve is scored by its own trainer (xscreen: faster-coco-eval; Ultralytics: its own
    AP), on the same validation set; the test-set figures of ``compare`` are the comparable ones.
    """
    import csv

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(Path(args.run) / "log.csv") as handle:
        ours = [(float(r["elapsed_s"]) / 60, float(r["val_map50"])) for r in csv.DictReader(handle)
                if r.get("val_map50")]
    with open(Path(args.work) / "runs" / "yolo11n" / "results.csv") as handle:
        theirs = [(float(r["time"]) / 60, float(r["metrics/mAP50(B)"]))
                  for r in csv.DictReader(handle)]
    figure, axes = plt.subplots(figsize=(6, 4))
    for label, points in ((f"xscreen ({args.run})", ours), ("YOLO11n (Ultralytics)", theirs)):
        axes.plot(*zip(*points, strict=True), marker="o", label=label)
    axes.set(xlabel="training minutes (2 CPU cores, validation included)",
             ylabel="validation mAP50", title="Same data, same CPU time")
    axes.grid(alpha=0.3)
    axes.legend()
    figure.tight_layout()
    figure.savefig(args.plot_out, dpi=100)
    print("minutes  val mAP50")
    for label, points in (("xscreen", ours), ("YOLO11n", theirs)):
        print(f"{label}: " + ", ".join(f"{m:.0f} min {v:.3f}" for m, v in points))
    print(f"wrote {args.plot_out}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("step", choices=("prepare", "train", "compare", "plot"))
    parser.add_argument("--work", default="/tmp/yolo-bench")
    parser.add_argument("--yolo-site", default="/tmp/yolo-site")
    for split in SPLITS:
        parser.add_argument(f"--{split}", default=f"var/data/{split}")
    parser.add_argument("--minutes", type=float, default=85.0, help="YOLO11n's training budget")
    parser.add_argument("--epochs", type=int, default=100, help="upper bound; --minutes rules")
    parser.add_argument("--imgsz", type=int, default=512)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--bundle", default="models/default")
    parser.add_argument("--target-pfa", type=float, default=0.05)
    parser.add_argument("--json", help="write both reports here")
    parser.add_argument("--run", default="var/runs/default", help="xscreen's run (for plot)")
    parser.add_argument("--plot-out", default="docs/images/yolo11n_vs_xscreen.png")
    args = parser.parse_args(argv)
    {"prepare": prepare, "train": train, "compare": compare, "plot": plot}[args.step](args)


if __name__ == "__main__":
    main()
