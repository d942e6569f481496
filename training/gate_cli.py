"""``xscreen gate CANDIDATE --bench DIR [--new DIR] [--against active]``: judge a candidate model
against the one in service before it may be promoted (see :mod:`xscreen.training.gate`).

Exits 0 when the candidate is promotable (verdict ``better``), 1 when it is not (the reasons on
stderr), 2 on bad input. The report goes into the candidate's card (``lineage.gate``), where
``xscreen models add/activate`` and ``POST /v1/models`` look for it.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("candidate", help="the candidate bundle (e.g. from 'xscreen export')")
    parser.add_argument("--against", default="active",
                        help="the model to beat: a bundle folder, a registry version, or "
                             "'active' (default: the registry's active version)")
    parser.add_argument("--home", help="state folder holding the registry (default "
                                       "$XSCREEN_HOME or ./var)")
    parser.add_argument("--bench", required=True,
                        help="the fixed benchmark dataset (COCO) both models are judged on")
    parser.add_argument("--new", help="the new data: judged on its images marked 'holdout' "
                                      "(xscreen import --holdout)")
    parser.add_argument("--margin", type=float, default=0.02,
                        help="AP50 change that counts as a gain or a drop (default 0.02)")
    parser.add_argument("--min-boxes", type=int, default=5,
                        help="classes with fewer boxes in a set are not judged (default 5)")
    parser.add_argument("--json", help="also write the report to this JSON file")
    parser.add_argument("--no-record", action="store_true",
                        help="do not write the report into the candidate's card")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")


def main(args: argparse.Namespace) -> int:
    import json

    from xscreen.errors import UsageError
    from xscreen.models.runtime import OnnxDetector
    from xscreen.training.gate import GateSettings, format_report, record_gate, run_gate

    if not 0.0 <= args.margin < 1.0:
        raise UsageError(f"--margin must be in [0, 1), got {args.margin}")
    if args.min_boxes < 1:
        raise UsageError(f"--min-boxes must be at least 1, got {args.min_boxes}")
    candidate = OnnxDetector(args.candidate, threads=args.threads)
    incumbent = OnnxDetector(resolve_against(args.against, args.home), threads=args.threads)
    if incumbent.card.sha256 == candidate.card.sha256:
        raise UsageError("the candidate and the model it is judged against are the same model")
    settings = GateSettings(margin=args.margin, min_boxes=args.min_boxes)
    report, warnings = run_gate(candidate, incumbent, args.bench, args.new, settings)
    for warning in warnings:
        print(f"xscreen gate: warning: {warning}", file=sys.stderr)
    if not args.no_record:
        record_gate(candidate.bundle, report)
    if args.json:
        Path(args.json).write_text(json.dumps(report.to_dict(), indent=2) + "\n")
    print(format_report(report))
    if not report.promotable:
        print(f"xscreen gate: not promotable: the verdict is {report.verdict}; "
              + "; ".join(report.reasons), file=sys.stderr)
        return 1
    return 0


def resolve_against(against: str, home: str | None) -> Any:
    """A bundle folder as given, else a version in the registry ('active': the active one)."""
    from xscreen.errors import UsageError
    from xscreen.serving.registry import ModelRegistry
    from xscreen.serving.settings import load_settings

    if Path(against).is_dir():
        return Path(against)
    registry = ModelRegistry(load_settings(home=home).models_dir)
    version = registry.active_version() if against == "active" else against
    if version is None:
        raise UsageError("no active model in the registry to judge against; pass --against "
                         "BUNDLE (e.g. the parent bundle) or --home")
    return registry.bundle(version)
