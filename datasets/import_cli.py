"""``xscreen import FORMAT SRC OUT``: convert a VOC or YOLO dataset into a COCO dataset folder.

The importers (and OpenCV with them) load inside :func:`main`, so ``xscreen --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys

from xscreen import CLASSES
from xscreen.errors import UsageError

FORMATS = ("voc", "yolo")
MAX_WARNINGS_SHOWN = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``xscreen import``."""
    parser.add_argument("format", choices=FORMATS, metavar="FORMAT",
                        help="source format: voc (Pascal VOC XML) or yolo (YOLO txt)")
    parser.add_argument("src", metavar="SRC", help="the source dataset folder")
    parser.add_argument("out", metavar="OUT", help="the new COCO dataset folder (new or empty)")
    parser.add_argument("--map", dest="class_map", action="append", default=[],
                        metavar="SRC=DST",
                        help="map a source class onto an xscreen class "
                             f"({', '.join(CLASSES)}); repeatable, overrides the defaults")
    parser.add_argument("--skip-unknown", action="store_true",
                        help="drop boxes of classes with no mapping (counted in the summary) "
                             "instead of failing")


def parse_class_map(pairs: list[str]) -> dict[str, str]:
    """``["gun=firearm", ...]`` -> ``{"gun": "firearm"}``; UsageError on a malformed pair."""
    mapping = {}
    for pair in pairs:
        source, separator, target = pair.partition("=")
        if not separator or not source.strip() or not target.strip():
            raise UsageError(f"--map {pair!r} must look like SOURCE=CLASS, e.g. --map "
                             "handgun=firearm")
        mapping[source.strip()] = target.strip()
    return mapping


def main(args: argparse.Namespace) -> int:
    """Run the import, print the one-line summary and any warnings; 0 on success."""
    from xscreen.datasets.importers import import_voc, import_yolo

    importer = import_voc if args.format == "voc" else import_yolo
    report = importer(args.src, args.out, parse_class_map(args.class_map),
                      skip_unknown=args.skip_unknown)
    for warning in report.warnings[:MAX_WARNINGS_SHOWN]:
        print(f"xscreen import: warning: {warning}", file=sys.stderr)
    if len(report.warnings) > MAX_WARNINGS_SHOWN:
        print(f"xscreen import: ... and {len(report.warnings) - MAX_WARNINGS_SHOWN} more "
              "warnings", file=sys.stderr)
    print(report.summary())
    return 0
