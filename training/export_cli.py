"""``xscreen export RUN --out BUNDLE``: ONNX export of a run's best weights, parity-checked."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", help="training run folder (holds best.pt)")
    parser.add_argument("--out", required=True, help="new or empty bundle folder")
    parser.add_argument("--version", help="version written into the card (default: UTC time)")
    parser.add_argument("--dynamo", action="store_true",
                        help="use torch's dynamo exporter (needs onnxscript) instead of "
                             "the TorchScript one")


def main(args: argparse.Namespace) -> int:
    from xscreen.training.export import export_run

    card, parity = export_run(args.run, args.out, version=args.version, dynamo=args.dynamo)
    print(f"exported {card.name} {card.version} to {args.out} (input {card.input_size}); "
          f"parity over {parity.images} images, {parity.compared_detections} detections: max box "
          f"difference {parity.max_box_difference:.2e} px, max score difference "
          f"{parity.max_score_difference:.2e}")
    return 0
