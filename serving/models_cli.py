"""``xscreen models list | add BUNDLE | activate VERSION``: the model registry under
``$XSCREEN_HOME/models``. A running service swaps models through
``POST /v1/models/{version}/activate``; ``activate`` here also takes effect at the next start."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", help="state folder (default $XSCREEN_HOME or ./var)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="registered versions (* = active)")
    add = actions.add_parser("add", help="register a bundle (sha256 checked)")
    add.add_argument("bundle", help="bundle folder (model.onnx + model.json)")
    activate = actions.add_parser("activate", help="make VERSION the served model (rollback = "
                                                   "activate an earlier version)")
    activate.add_argument("version")


def main(args: argparse.Namespace) -> int:
    from xscreen.serving.registry import ModelRegistry
    from xscreen.serving.settings import load_settings

    registry = ModelRegistry(load_settings(home=args.home).models_dir)
    if args.action == "add":
        entry = registry.add(args.bundle)
        print(f"added {entry.name} {entry.version} (sha256 {entry.sha256[:12]}...)")
    elif args.action == "activate":
        bundle = registry.activate(args.version)
        print(f"active: {bundle.card.name} {bundle.card.version} (a running service picks it up "
              "within seconds)")
    else:
        for entry in registry.versions():
            print(f"{'*' if entry.active else ' '} {entry.version}\t{entry.name}\t"
                  f"{entry.sha256[:12]}\t{entry.created_at}")
    return 0
