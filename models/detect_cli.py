"""``xscreen detect IMAGE... [--high H --low L]... [--model BUNDLE] [--json] [--annotate DIR]``:
offline detection and risk.

Each scan's bytes go through the service's own pipeline (``serving/pipeline.py``: the decoder
that recognises formats by content, the model, the detections, the risk score), so ``detect``
reads every format ``POST /v1/scans`` takes (PNG, JPEG, 8/16-bit and two-page raw TIFF,
DICOS/DICOM DX, a raw ``high`` + ``low`` pair) and finds and scores what it finds (without a
manifest or party history: the scan alone). Boxes are drawn by ``datasets/preview.py``. None of
these modules imports a web framework or torch.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from xscreen.serving.pipeline import ScreeningResult, Upload

DEFAULT_BUNDLE = Path(__file__).resolve().parent / "default"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("images", nargs="*", metavar="IMAGE",
                        help="scans: PNG, JPEG, TIFF (8/16-bit or two-page raw dual-energy) or "
                             "DICOS/DICOM DX, recognised by content as the API does")
    parser.add_argument("--high", action="append", default=[], metavar="FILE",
                        help="raw 16-bit high-energy channel of a pair (with --low; repeat both "
                             "for more pairs, matched in order)")
    parser.add_argument("--low", action="append", default=[], metavar="FILE",
                        help="raw 16-bit low-energy channel of a pair (with --high)")
    parser.add_argument("--model", help=f"model bundle folder (default {DEFAULT_BUNDLE})")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--annotate", metavar="DIR", help="write annotated PNGs into DIR")
    parser.add_argument("--threads", type=int, default=2, help="ONNX Runtime threads")


def default_bundle() -> Path:
    """The bundle shipped in the package, or ModelBundleError saying how to get one."""
    from xscreen.errors import ModelBundleError

    if not (DEFAULT_BUNDLE / "model.onnx").is_file():
        raise ModelBundleError(f"no default model in {DEFAULT_BUNDLE}: pass --model BUNDLE, or "
                               "train and export one ('xscreen train ...', then 'xscreen export "
                               f"RUN --out {DEFAULT_BUNDLE}')")
    return DEFAULT_BUNDLE


@dataclass(frozen=True)
class ScanInput:
    """One scan named on the command line: an image file, or a high + low pair."""

    name: str            # what the output calls it (the image, or "HIGH+LOW")
    stem: str            # the annotated PNG's file name, without .png
    image: Path | None = None
    high: Path | None = None
    low: Path | None = None


def scan_inputs(args: argparse.Namespace) -> list[ScanInput]:
    """The scans to screen, images first, then pairs; UsageError for unmatched or no inputs."""
    from xscreen.errors import UsageError

    if len(args.high) != len(args.low):
        raise UsageError(f"--high and --low come in pairs: got {len(args.high)} --high and "
                         f"{len(args.low)} --low")
    inputs = [ScanInput(str(path), Path(path).stem, image=Path(path)) for path in args.images]
    inputs += [ScanInput(f"{high}+{low}", Path(high).stem, high=Path(high), low=Path(low))
               for high, low in zip(args.high, args.low, strict=True)]
    if not inputs:
        raise UsageError("nothing to detect: name image files, or a pair --high H --low L")
    return inputs


def read_upload(scan: ScanInput) -> Upload:
    """The scan's bytes, as ``POST /v1/scans`` receives them (ImageDecodeError naming a file that
    does not exist)."""
    from xscreen.serving.pipeline import Upload

    if scan.image is not None:
        return Upload(image=_read_bytes(scan.image))
    assert scan.high is not None and scan.low is not None
    return Upload(high=_read_bytes(scan.high), low=_read_bytes(scan.low))


def screen_file(scan: ScanInput, model: Any) -> ScreeningResult:
    """One scan through the service's pipeline; an unreadable file raises the API's error
    (ImageDecodeError) with the file named."""
    from xscreen.errors import ImageDecodeError
    from xscreen.serving.pipeline import screen

    try:
        return screen(read_upload(scan), model)
    except ImageDecodeError as error:
        raise type(error)(f"{scan.name}: {error}") from None


def _read_bytes(path: Path) -> bytes:
    from xscreen.errors import ImageDecodeError

    if not path.is_file():
        raise ImageDecodeError(f"{path} does not exist")
    return path.read_bytes()


def main(args: argparse.Namespace) -> int:
    import json

    from xscreen.models.runtime import OnnxDetector
    from xscreen.serving.batching import DirectInfer

    inputs = scan_inputs(args)
    detector = OnnxDetector(args.model or default_bundle(), threads=args.threads)
    model = DirectInfer(detector)
    annotate = Path(args.annotate) if args.annotate else None
    if annotate is not None:
        annotate.mkdir(parents=True, exist_ok=True)
    results: list[dict[str, Any]] = []
    for scan in inputs:
        screened = screen_file(scan, model)
        body = screened.to_dict()
        results.append({"image": scan.name, "width": screened.width, "height": screened.height,
                        "detections": body["detections"], "risk": body["risk"]})
        if annotate is not None:
            write_annotated(annotate / f"{scan.stem}.png", screened)
    if args.json:
        model_id = {"name": detector.card.name, "version": detector.card.version}
        print(json.dumps({"model": model_id, "results": results}, indent=2))
    else:
        for result in results:
            print(summary_line(result))
    return 0


def summary_line(result: dict[str, Any]) -> str:
    """``IMAGE: label score, ... (risk SCORE level: action)``."""
    found = ", ".join(f"{d['label']} {d['score']:.2f}" for d in result["detections"])
    risk = result["risk"]
    return (f"{result['image']}: {found or 'nothing found'} (risk {risk['score']:.0f} "
            f"{risk['level']}: {risk['action']})")


def write_annotated(path: Path, screened: ScreeningResult) -> None:
    """The scan's rendering with its detections drawn, as the service's annotated PNG."""
    import cv2

    from xscreen.datasets.preview import draw_boxes

    found = screened.detections
    drawn = draw_boxes(screened.scan.rgb, [list(d.box) for d in found], [d.label for d in found],
                       [d.score for d in found])
    cv2.imwrite(str(path), cv2.cvtColor(drawn, cv2.COLOR_RGB2BGR))
