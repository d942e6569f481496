"""The ``xscreen`` command: one argument parser per subcommand, each with a ``main(args)``.

Subcommands register themselves in ``COMMANDS``; each module keeps its own heavy imports inside its
``main`` so that ``xscreen --help`` stays fast and ``serve`` never imports torch.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from xscreen import __version__
from xscreen.errors import XscreenError

# name -> (module, one-line help). Each module defines add_arguments(parser) and main(args) -> int.
COMMANDS: dict[str, tuple[str, str]] = {
    "synth": ("xscreen.datasets.synth_cli", "write a synthetic dual-energy COCO dataset"),
    "import": ("xscreen.datasets.import_cli",
               "convert VOC, YOLO, COCO, a verdict export or DICOS into a COCO dataset"),
    "train": ("xscreen.training.train_cli", "train or fine-tune the detector (resumable)"),
    "export": ("xscreen.training.export_cli", "export a run's best weights to a model bundle"),
    "quantize": ("xscreen.training.quantize_cli",
                 "a static int8 copy of a model bundle, faster on CPUs (calibrated on scans)"),
    "eval": ("xscreen.training.eval_cli", "COCO mAP and per-class Pd/Pfa of a model bundle"),
    "gate": ("xscreen.training.gate_cli",
             "judge a candidate model against the active one before promotion"),
    "detect": ("xscreen.models.detect_cli", "detect threats in image files (offline)"),
    "serve": ("xscreen.serving.serve_cli", "the screening API and operator viewer"),
    "models": ("xscreen.serving.models_cli",
               "the model registry: list, show, add, activate, rollback"),
    "keys": ("xscreen.serving.keys_cli", "API keys: create, list, revoke"),
    "risk": ("xscreen.serving.risk_cli",
             "check a risk configuration, or fit its weights to the operators' verdicts"),
}


# Packages of an optional install (pyproject's extras), by import name: a command that meets one
# missing says which extra to install instead of ending in a traceback.
EXTRA_OF_MODULE: dict[str, str] = {
    "torch": "train", "torchvision": "train", "onnx": "train", "onnxscript": "train",
    "albumentations": "train", "faster_coco_eval": "train", "matplotlib": "train",
    "onnxruntime": "serve", "fastapi": "serve", "uvicorn": "serve", "multipart": "serve",
    "python_multipart": "serve", "sqlalchemy": "serve", "prometheus_client": "serve",
    "psycopg": "serve", "fastapi_offline": "serve",
    "spekpy": "synth",
}


def missing_extra_message(command: str, error: ModuleNotFoundError) -> str | None:
    """One line naming the extra that provides the missing module, or None when the module is
    not one of an extra's (a real bug: let its traceback show)."""
    module = (error.name or "").partition(".")[0]
    extra = EXTRA_OF_MODULE.get(module)
    if extra is None:
        return None
    return (f"xscreen {command}: error: this command needs the '{extra}' install (no module "
            f"named {module!r}); install it with: pip install -e '.[{extra}]'")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="xscreen", description="AI X-ray screening for customs."
    )
    parser.add_argument("--version", action="version", version=f"xscreen {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(_main=module.main)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        return int(args._main(args) or 0)
    except XscreenError as error:
        print(f"xscreen {args.command}: error: {error}", file=sys.stderr)
        return error.exit_code
    except ModuleNotFoundError as error:
        message = missing_extra_message(args.command, error)
        if message is None:
            raise
        print(message, file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print(f"xscreen {args.command}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
