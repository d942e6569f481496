"""``xscreen export RUN --out BUNDLE``: ONNX export of a run's best weights, parity-checked.

``xscreen export BUNDLE --triton DIR``: a Triton Inference Server model repository for a bundle
(``training/triton.py``; needs only the ``serve`` install).
"""

from __future__ import annotations

import argparse

from xscreen.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run", metavar="RUN_OR_BUNDLE",
                        help="training run folder (holds best.pt); with --triton, a model bundle")
    parser.add_argument("--out", help="new or empty bundle folder (exporting a run)")
    parser.add_argument("--version", help="version written into the card (default: UTC time)")
    parser.add_argument("--dynamo", action="store_true",
                        help="use torch's dynamo exporter (needs onnxscript) instead of "
                             "the TorchScript one")
    triton = parser.add_argument_group("Triton model repository (a bundle in)")
    triton.add_argument("--triton", metavar="DIR",
                        help="write a Triton model repository for the bundle into DIR "
                             "(new or empty)")
    triton.add_argument("--triton-name", metavar="NAME",
                        help="model name in the repository (default: the card's name)")
    triton.add_argument("--triton-version", type=int, default=1, metavar="N",
                        help="version folder of the ONNX file (default 1)")
    triton.add_argument("--max-batch", type=int, default=8,
                        help="Triton's max_batch_size when the graph batches (default 8)")
    triton.add_argument("--instances", type=int, default=1,
                        help="model instances (instance_group count, default 1)")
    triton.add_argument("--kind", choices=("auto", "cpu", "gpu"), default="auto",
                        help="where the instances run (default auto: a GPU when Triton has one)")


def main(args: argparse.Namespace) -> int:
    if args.triton is not None:
        return triton_main(args)
    if args.out is None:
        raise UsageError("export needs --out BUNDLE (exporting a run) or --triton DIR "
                         "(a bundle to a Triton model repository)")
    from xscreen.training.export import export_run

    card, parity = export_run(args.run, args.out, version=args.version, dynamo=args.dynamo)
    print(f"exported {card.name} {card.version} to {args.out} (input {card.input_size}); "
          f"parity over {parity.images} images, {parity.compared_detections} detections: max box "
          f"difference {parity.max_box_difference:.2e} px, max score difference "
          f"{parity.max_score_difference:.2e}")
    return 0


def triton_main(args: argparse.Namespace) -> int:
    clashing = [flag for flag, given in (("--out", args.out is not None),
                                         ("--version", args.version is not None),
                                         ("--dynamo", args.dynamo)) if given]
    if clashing:
        raise UsageError(f"--triton writes a repository from a bundle; drop {', '.join(clashing)}"
                         " (export the run to a bundle first)")
    from xscreen.training.triton import write_triton_repository

    written = write_triton_repository(args.run, args.triton, model_name=args.triton_name,
                                      max_batch=args.max_batch, instances=args.instances,
                                      kind=args.kind, version=args.triton_version)
    print(f"wrote Triton model {written.model_name} to {written.root} ({written.config_path}, "
          f"{written.model_path}); {written.batching_note}")
    return 0
