"""``xscreen import FORMAT SRC OUT``: convert a VOC, YOLO or COCO dataset, a verdict export or a
folder of DICOS DX images with their TDRs into a COCO dataset folder.

The importers (and OpenCV with them) load inside :func:`main`, so ``xscreen --help`` stays fast.
"""

from __future__ import annotations

import argparse
import sys

from xscreen import CLASSES
from xscreen.errors import UsageError

FORMATS = ("voc", "yolo", "coco", "verdicts", "dicos")
MAX_WARNINGS_SHOWN = 10


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``xscreen import``."""
    parser.add_argument("format", choices=FORMATS, metavar="FORMAT",
                        help="source format: voc (Pascal VOC XML), yolo (YOLO txt), coco (COCO "
                             "json), verdicts (the zip of GET /v1/training-export) or dicos "
                             "(DICOS DX images and their TDRs)")
    parser.add_argument("src", metavar="SRC",
                        help="the source dataset folder (for verdicts: the zip or its folder)")
    parser.add_argument("out", metavar="OUT", help="the new COCO dataset folder (new or empty)")
    parser.add_argument("--map", dest="class_map", action="append", default=[],
                        metavar="SRC=DST",
                        help="map a source class onto an xscreen class "
                             f"({', '.join(CLASSES)}); repeatable, overrides the defaults")
    parser.add_argument("--skip-unknown", action="store_true",
                        help="drop boxes of classes with no mapping (counted in the summary) "
                             "instead of failing")
    parser.add_argument("--add-class", dest="new_classes", action="append", default=[],
                        metavar="NAME",
                        help="a class appended after xscreen's (repeatable); fine-tuning on the "
                             "dataset grows the model by it")
    parser.add_argument("--holdout", type=float, default=0.0, metavar="SHARE",
                        help="mark this share of the images split 'holdout' (seeded): training "
                             "skips them, 'xscreen gate --new' judges on them (e.g. 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the hold-out draw")
    parser.add_argument("--keep-unreported", action="store_true",
                        help="dicos: import images that no TDR refers to, without boxes")


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
    from xscreen.datasets.import_coco import import_coco, import_verdicts
    from xscreen.datasets.import_dicos import import_dicos
    from xscreen.datasets.importers import ImportOptions, import_voc, import_yolo

    if args.keep_unreported and args.format != "dicos":
        raise UsageError("--keep-unreported applies to the dicos format only")
    options = ImportOptions(parse_class_map(args.class_map), args.skip_unknown,
                            tuple(args.new_classes), args.holdout, args.seed)
    if args.format == "voc":
        report = import_voc(args.src, args.out, options=options)
    elif args.format == "yolo":
        report = import_yolo(args.src, args.out, options=options)
    elif args.format == "coco":
        report = import_coco(args.src, args.out, options)
    elif args.format == "verdicts":
        report = import_verdicts(args.src, args.out, options)
    else:
        report = import_dicos(args.src, args.out, options, keep_unreported=args.keep_unreported)
    for warning in report.warnings[:MAX_WARNINGS_SHOWN]:
        print(f"xscreen import: warning: {warning}", file=sys.stderr)
    if len(report.warnings) > MAX_WARNINGS_SHOWN:
        print(f"xscreen import: ... and {len(report.warnings) - MAX_WARNINGS_SHOWN} more "
              "warnings", file=sys.stderr)
    print(report.summary())
    return 0
