"""``xscreen keys create --role ROLE [--name NAME]``: print a new API key (stored hashed)."""

from __future__ import annotations

import argparse

from xscreen.serving.roles import ROLES


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a key and print it (shown only once)")
    create.add_argument("--role", required=True, choices=ROLES, help="what the key may do")
    create.add_argument("--name", default="", help="who or what holds the key")
    create.add_argument("--home", help="state folder (default $XSCREEN_HOME or ./var)")


def main(args: argparse.Namespace) -> int:
    from xscreen.serving import store
    from xscreen.serving.settings import load_settings

    settings = load_settings(home=args.home)
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = store.make_engine(settings.resolved_database_url)
    try:
        key = store.create_key(store.session_factory(engine), args.role, args.name)
    finally:
        engine.dispose()
    print(key)
    return 0
