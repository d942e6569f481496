"""``xscreen quantize BUNDLE --calibration DATA --out NEW_BUNDLE``: a static int8 copy of a bundle
for CPU speed (QDQ, calibrated on letterboxed scans), with its own card."""

from __future__ import annotations

import argparse

from xscreen.training.quantize import DEFAULT_IMAGES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("bundle", help="fp32 model bundle folder (model.onnx + model.json)")
    parser.add_argument("--calibration", required=True, metavar="DATA",
                        help="COCO dataset folder whose images/ holds scans like those served")
    parser.add_argument("--out", required=True, help="new or empty bundle folder")
    parser.add_argument("--images", type=int, default=DEFAULT_IMAGES,
                        help=f"calibration scans, spread over DATA/images (default "
                             f"{DEFAULT_IMAGES})")
    parser.add_argument("--per-channel", action=argparse.BooleanOptionalAction, default=True,
                        help="one weight scale per output channel (default: on)")
    parser.add_argument("--reduce-range", action="store_true",
                        help="7-bit weights, for CPUs without VNNI whose 8-bit products may "
                             "saturate (default: off)")
    parser.add_argument("--version", help="version written into the card (default: the "
                                          "parent's, with -int8)")


def main(args: argparse.Namespace) -> int:
    from xscreen.training.quantize import quantize_bundle

    result = quantize_bundle(args.bundle, args.calibration, args.out, images=args.images,
                             per_channel=args.per_channel, reduce_range=args.reduce_range,
                             version=args.version)
    card, info = result.card, result.card.quantization
    match = info["agreement_on_calibration_scans"]
    iou = "n/a" if match["mean_iou"] is None else f"{match['mean_iou']:.3f}"
    print(f"quantised {card.name} {info['parent']['version']} to int8 in {args.out} "
          f"(version {card.version}): {result.quantize_nodes} QuantizeLinear nodes, "
          f"{result.float_nodes} postprocessing nodes left float; calibrated on "
          f"{info['calibration']['images']} scans; against fp32 on {match['images']} of them: "
          f"{match['detections']} detections, mean IoU {iou}, max score difference "
          f"{match['max_score_difference'] or 0.0:.3f}")
    print(f"note: {info['note']}")
    return 0
