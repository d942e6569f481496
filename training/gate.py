"""The evaluation gate: a candidate model against the one in service, before promotion.

Both bundles run, through the code serving uses (:mod:`xscreen.training.evaluate`), over the same
fixed benchmark set and over the held-out part of the new images (those an import marked
``holdout``; training never saw them). Per class and set with enough boxes to judge, the AP50 of
the candidate is compared with the incumbent's:

- a *gain* is a rise of more than ``margin``, a *drop* a fall of more than ``margin``;
- the verdict is ``better`` (gains, no drop), ``worse`` (drops, no gain), ``mixed`` (both) or
  ``unchanged`` (neither);
- only ``better`` is promotable: the registry refuses any other verdict unless forced.

Pd and Pfa at each card's thresholds, mAP and latency are reported beside, not judged. The report
is written into the candidate card's ``lineage.gate``.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from xscreen.datasets.coco import Dataset, load_dataset
from xscreen.datasets.splits import holdout_part
from xscreen.errors import UsageError
from xscreen.models.card import CARD_FILE, Bundle, ModelCard, save_card
from xscreen.models.preprocess import letterbox
from xscreen.models.runtime import OnnxDetector
from xscreen.training.evaluate import EvalReport, bundle_detections, evaluate

VERDICTS = ("better", "worse", "mixed", "unchanged")


@dataclass(frozen=True)
class GateSettings:
    """How strict the gate is."""

    margin: float = 0.02
    """A class moving by more than this AP50 counts as a gain or a drop."""
    min_boxes: int = 5
    """A class with fewer boxes in a set is reported there but not judged (too noisy)."""
    latency_runs: int = 20


@dataclass
class ClassComparison:
    """One class on one set: AP50, Pd and Pfa before (incumbent) and after (candidate)."""

    set: str
    name: str
    boxes: int
    before: dict[str, float]
    after: dict[str, float]
    judged: bool

    @property
    def delta(self) -> float:
        return self.after["ap50"] - self.before["ap50"]

    def to_dict(self) -> dict[str, Any]:
        return {"set": self.set, "class": self.name, "boxes": self.boxes,
                "judged": self.judged, "delta_ap50": round(self.delta, 4),
                **{f"{key}_before": _round(value) for key, value in self.before.items()},
                **{f"{key}_after": _round(value) for key, value in self.after.items()}}


@dataclass
class GateReport:
    """The gate's finding; ``to_dict`` is what the card's ``lineage.gate`` holds."""

    verdict: str
    promotable: bool
    reasons: list[str]
    classes: list[ClassComparison]
    candidate: dict[str, Any]
    against: dict[str, Any]
    sets: dict[str, dict[str, Any]]
    latency_ms: dict[str, float]
    settings: GateSettings
    created_at: str = field(
        default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "promotable": self.promotable, "reasons": self.reasons,
                "candidate": self.candidate, "against": self.against, "sets": self.sets,
                "classes": [c.to_dict() for c in self.classes],
                "latency_ms": self.latency_ms, "margin": self.settings.margin,
                "min_boxes": self.settings.min_boxes, "created_at": self.created_at}


def _round(value: float) -> float | None:
    return None if value is None or np.isnan(value) else round(float(value), 4)


def identity(card: ModelCard) -> dict[str, Any]:
    return {"name": card.name, "version": card.version, "sha256": card.sha256}


def widened_card(card: ModelCard, classes: tuple[str, ...]) -> ModelCard:
    """``card`` seen with the candidate's longer class list: the incumbent's class indices stay
    valid (a prefix) and it never alarms for the classes it lacks (threshold 1)."""
    if classes[:len(card.classes)] != card.classes:
        raise UsageError(f"the candidate's classes {list(classes)} do not start with "
                         f"{card.name} {card.version}'s {list(card.classes)}: a later model may "
                         "add classes after them, never reorder them")
    thresholds = {**dict.fromkeys(classes, 1.0), **dict(zip(card.classes, card.threshold_list(),
                                                           strict=True))}
    return card.replace(classes=classes, thresholds=thresholds)


def load_sets(bench: str | Path, new: str | Path | None,
              classes: tuple[str, ...]) -> tuple[dict[str, Dataset], list[str]]:
    """The benchmark set and the held-out part of the new data (all of it, with a warning, when
    nothing is held out)."""
    sets = {"bench": load_dataset(bench, classes)}
    warnings = []
    if new is not None:
        data = load_dataset(new, classes)
        held = holdout_part(data)
        if held.images:
            sets["new"] = held
        else:
            warnings.append(f"{new} marks no image 'holdout': judging on all of it, which the "
                            "candidate may have been trained on (import with --holdout 0.2)")
            sets["new"] = data
    for name, dataset in sets.items():
        if not dataset.images:
            raise UsageError(f"the {name} set holds no images")
    return sets, warnings


def run_gate(candidate: OnnxDetector, incumbent: OnnxDetector, bench: str | Path,
             new: str | Path | None = None, settings: GateSettings = GateSettings(),
             progress: bool = False) -> tuple[GateReport, list[str]]:
    """Evaluate both models on the sets and judge; returns the report and warnings."""
    classes = candidate.card.classes
    before_card = widened_card(incumbent.card, classes)
    sets, warnings = load_sets(bench, new, classes)
    comparisons: list[ClassComparison] = []
    summary: dict[str, dict[str, Any]] = {}
    for set_name, dataset in sets.items():
        after, _ = evaluate(candidate.card, dataset,
                            bundle_detections(candidate, dataset, progress))
        before, _ = evaluate(before_card, dataset,
                             bundle_detections(incumbent, dataset, progress))
        comparisons += compare(set_name, dataset, before, after, settings)
        summary[set_name] = {"data": str(dataset.root), "images": len(dataset.images),
                             "holdout_only": set_name == "new" and not warnings,
                             "map50_before": _round(before.map50),
                             "map50_after": _round(after.map50)}
    latency = compare_latency(candidate, incumbent, sets["bench"], settings.latency_runs)
    verdict, reasons = judge(comparisons, settings.margin)
    report = GateReport(verdict, verdict == "better", reasons, comparisons,
                        identity(candidate.card), identity(incumbent.card), summary, latency,
                        settings)
    return report, warnings


def compare(set_name: str, dataset: Dataset, before: EvalReport, after: EvalReport,
            settings: GateSettings) -> list[ClassComparison]:
    """One comparison per class of the set that has boxes in it."""
    boxes = np.bincount([label for record in dataset.images for label in record.labels],
                        minlength=len(dataset.classes))
    rows = []
    for index, name in enumerate(dataset.classes):
        if boxes[index] == 0:
            continue
        rows.append(ClassComparison(set_name, name, int(boxes[index]),
                                    _figures(before, name), _figures(after, name),
                                    judged=bool(boxes[index] >= settings.min_boxes)))
    return rows


def _figures(report: EvalReport, name: str) -> dict[str, float]:
    row = report.per_class[name]
    return {"ap50": float(row["ap50"]), "pd": float(row["pd"]), "pfa": float(row["pfa"])}


def judge(comparisons: list[ClassComparison], margin: float) -> tuple[str, list[str]]:
    """The verdict and, per judged class that moved beyond the margin, a line saying so."""
    judged = [c for c in comparisons if c.judged]
    gains = [c for c in judged if c.delta > margin]
    drops = [c for c in judged if c.delta < -margin]
    verdict = ("mixed" if gains and drops else "better" if gains else "worse" if drops
               else "unchanged")
    reasons = [f"{c.name} on {c.set}: AP50 {c.before['ap50']:.3f} -> {c.after['ap50']:.3f} "
               f"({c.delta:+.3f}, {'drop' if c.delta < 0 else 'gain'} beyond the {margin:g} "
               "margin)" for c in sorted(drops + gains, key=lambda c: c.delta)]
    if not judged:
        reasons.append("no class has enough boxes to judge")
    elif verdict == "unchanged":
        reasons.append(f"no class moved by more than the {margin:g} margin")
    return verdict, reasons


def compare_latency(candidate: OnnxDetector, incumbent: OnnxDetector, dataset: Dataset,
                    runs: int) -> dict[str, float]:
    """Median ms per image of each model (graph only, batch 1, interleaved runs) on the
    benchmark's first image letterboxed to each card's input size."""
    from xscreen.models.imageio import read_dataset_rgb as read_rgb

    image = read_rgb(dataset.image_path(dataset.images[0]))
    inputs = {name: letterbox(image, model.card.input_size,
                              stride=model.card.letterbox_stride)[0][None]
              for name, model in (("after", candidate), ("before", incumbent))}
    times: dict[str, list[float]] = {"before": [], "after": []}
    for _ in range(max(1, runs)):
        for name, model in (("before", incumbent), ("after", candidate)):
            started = time.perf_counter()
            model.run(inputs[name])
            times[name].append((time.perf_counter() - started) * 1000)
    return {name: round(statistics.median(values), 2) for name, values in times.items()}


def record_gate(bundle: Bundle, report: GateReport) -> ModelCard:
    """Write the report into the candidate card's ``lineage.gate`` (model.json only: the sha256
    pins model.onnx, so the bundle stays valid)."""
    card = bundle.card
    updated = card.replace(lineage={**card.lineage, "gate": report.to_dict()})
    save_card(updated, bundle.root / CARD_FILE)
    return updated


def format_report(report: GateReport) -> str:
    """The comparison as a small text table, then the verdict."""
    lines = [f"{report.candidate['name']} {report.candidate['version']} against "
             f"{report.against['name']} {report.against['version']}",
             f"{'set':<6} {'class':<12} {'boxes':>5} {'AP50':>13} {'delta':>7} "
             f"{'Pd':>13} {'Pfa':>13}"]
    for row in report.classes:
        mark = "" if row.judged else "  (too few boxes to judge)"
        lines.append(
            f"{row.set:<6} {row.name:<12} {row.boxes:>5} "
            f"{row.before['ap50']:5.3f} -> {row.after['ap50']:5.3f} {row.delta:+7.3f} "
            f"{_pair(row.before['pd'], row.after['pd'])} "
            f"{_pair(row.before['pfa'], row.after['pfa'])}{mark}")
    for name, figures in report.sets.items():
        lines.append(f"{name}: {figures['images']} images ({figures['data']}), mAP50 "
                     f"{figures['map50_before']} -> {figures['map50_after']}")
    lines.append(f"latency: {report.latency_ms['before']} -> {report.latency_ms['after']} ms "
                 "per image (median, batch 1)")
    lines.append(f"verdict: {report.verdict} ({'promotable' if report.promotable else 'refused'}"
                 f", margin {report.settings.margin:g})")
    lines += [f"  {reason}" for reason in report.reasons]
    return "\n".join(lines)


def _pair(before: float, after: float) -> str:
    def text(value: float) -> str:
        return "  nan" if np.isnan(value) else f"{value:5.3f}"
    return f"{text(before)} -> {text(after)}"
