"""``xscreen models list | show VERSION | add BUNDLE | activate VERSION | rollback [VERSION]``:
the model registry under ``$XSCREEN_HOME/models``. A running service follows ``active.json``
within seconds (``POST /v1/models/{version}/activate`` swaps at once); ``activate`` here also
takes effect at the next start.

Promotion is gated (``serving/registry.py``): a fine-tuned model needs a promotable
``xscreen gate`` report in its card, or ``--force``. A version that has served before may always
come back: ``rollback`` brings back the previous one, ``rollback VERSION`` an earlier one.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--home", help="state folder (default $XSCREEN_HOME or ./var)")
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("list", help="registered versions (* = active), parents and gate verdicts")
    show = actions.add_parser("show", help="a version's card: lineage and gate report")
    show.add_argument("version")
    add = actions.add_parser("add", help="register a bundle (sha256, ONNX and gate checked)")
    add.add_argument("bundle", help="bundle folder (model.onnx + model.json)")
    add.add_argument("--force", action="store_true",
                     help="register even if its gate failed or it was never gated")
    add.add_argument("--activate", action="store_true", help="and make it the served model")
    activate = actions.add_parser("activate", help="make VERSION the served model")
    activate.add_argument("version")
    activate.add_argument("--force", action="store_true",
                          help="activate even if its gate failed or it was never gated")
    rollback = actions.add_parser("rollback", help="bring back the version served before the "
                                                   "current one (or VERSION, if it has served)")
    rollback.add_argument("version", nargs="?")


def main(args: argparse.Namespace) -> int:
    from xscreen.serving.registry import ModelRegistry
    from xscreen.serving.settings import load_settings

    registry = ModelRegistry(load_settings(home=args.home).models_dir)
    if args.action == "add":
        entry = registry.add(args.bundle, force=args.force)
        print(f"added {entry.name} {entry.version} (sha256 {entry.sha256[:12]}...)"
              + (f", fine-tuned from {entry.parent}, gate: {entry.gate or 'none'}"
                 if entry.parent else ""))
        if args.activate:
            _activated(registry.activate(entry.version, force=args.force).card, registry)
    elif args.action == "activate":
        _activated(registry.activate(args.version, force=args.force).card, registry)
    elif args.action == "rollback":
        _activated(_rollback(registry, args.version).card, registry)
    elif args.action == "show":
        print(json.dumps(registry.bundle(args.version).card.to_dict(), indent=2))
    else:
        for entry in registry.versions():
            lineage = f"\tfrom {entry.parent}, gate {entry.gate or 'none'}" if entry.parent else ""
            print(f"{'*' if entry.active else ' '} {entry.version}\t{entry.name}\t"
                  f"{entry.sha256[:12]}\t{entry.created_at}{lineage}")
    return 0


def _rollback(registry: Any, version: str | None) -> Any:
    from xscreen.errors import UsageError

    if version is None:
        return registry.rollback()
    if version not in registry.served_versions():
        raise UsageError(f"{version} has never been in service, so it is no rollback; promote "
                         "it with 'xscreen models activate VERSION'")
    return registry.activate(version)


def _activated(card: Any, registry: Any) -> None:
    print(f"active: {card.name} {card.version} (a running service picks it up within seconds)")
    gate = card.gate
    active_sha = {e.version: e.sha256 for e in registry.versions()}
    history = registry.history()
    previous = history[-2]["version"] if len(history) > 1 else None
    if gate and previous and gate.get("against", {}).get("sha256") not in (
            None, active_sha.get(previous)):
        print(f"xscreen models: warning: {card.version} was gated against "
              f"{gate['against'].get('version')}, not against {previous}, the version it "
              "replaces", file=sys.stderr)
