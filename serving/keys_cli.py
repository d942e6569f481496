"""``xscreen keys create | list | revoke``: the service's API keys (stored hashed).

``create --role ROLE [--name NAME] [--expires-in 90d | --expires 2027-03-01]`` prints a new key,
shown only this once; ``list`` shows every key's id, name, role, state, expiry and last use (never
a key); ``revoke ID_OR_NAME`` refuses a key from the next request on, in a running service too.
"""

from __future__ import annotations

import argparse
import json
import re
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from xscreen.errors import UsageError
from xscreen.serving.roles import ROLES

if TYPE_CHECKING:     # imported by main only: `xscreen --help` stays fast
    from xscreen.serving.keys import KeyRing

DURATION = re.compile(r"(\d+)([hdw])")
UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    create = actions.add_parser("create", help="create a key and print it (shown only once)")
    create.add_argument("--role", required=True, choices=ROLES, help="what the key may do")
    create.add_argument("--name", default="", help="who or what holds the key")
    expiry = create.add_mutually_exclusive_group()
    expiry.add_argument("--expires-in", metavar="DURATION",
                        help="refuse the key after this long: hours, days or weeks, e.g. 12h, "
                             "90d, 8w (default: never expires)")
    expiry.add_argument("--expires", metavar="WHEN",
                        help="refuse the key from this date (00:00 UTC) or ISO 8601 time, e.g. "
                             "2027-03-01 or 2027-03-01T18:00+01:00")
    listing = actions.add_parser("list", help="every key: id, name, role, state, expiry, "
                                              "last use (never the key)")
    listing.add_argument("--json", action="store_true", help="as a JSON array")
    revoke = actions.add_parser("revoke", help="refuse a key from now on (by id or name)")
    revoke.add_argument("key", metavar="ID_OR_NAME", help="the key's id or name (keys list)")
    for action in (create, listing, revoke):
        action.add_argument("--home", help="state folder (default $XSCREEN_HOME or ./var)")


def parse_expiry(expires_in: str | None, expires: str | None,
                 now: datetime) -> datetime | None:
    """The moment a new key stops working, from ``--expires-in`` or ``--expires``; None when
    neither is given. UsageError naming the accepted forms for anything else."""
    from xscreen.serving.keys import to_utc

    if expires_in is not None:
        match = DURATION.fullmatch(expires_in.strip().lower())
        if match is None or int(match[1]) == 0:
            raise UsageError(f"--expires-in {expires_in!r} is not a duration; give a whole "
                             "number above 0 and a unit h (hours), d (days) or w (weeks), "
                             "e.g. 90d")
        return now + int(match[1]) * UNITS[match[2]]
    if expires is None:
        return None
    try:
        moment = datetime.fromisoformat(expires.strip())
    except ValueError:
        raise UsageError(f"--expires {expires!r} is not a date; give YYYY-MM-DD (00:00 UTC) or "
                         "an ISO 8601 time such as 2027-03-01T18:00+01:00") from None
    moment = to_utc(moment)
    if moment <= now:
        raise UsageError(f"--expires {expires!r} is not in the future; give a later date")
    return moment


def main(args: argparse.Namespace) -> int:
    from xscreen.serving import store
    from xscreen.serving.keys import KeyRing
    from xscreen.serving.settings import load_settings

    settings = load_settings(home=args.home)
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = store.make_engine(settings.resolved_database_url)
    try:
        keys = KeyRing(store.session_factory(engine))
        if args.action == "create":
            expires_at = parse_expiry(args.expires_in, args.expires, keys.now())
            _, secret = keys.create(args.role, args.name, expires_at)
            print(secret)
        elif args.action == "revoke":
            _revoke(keys, args.key)
        else:
            _list(keys, args.json)
    finally:
        engine.dispose()
    return 0


def _revoke(keys: KeyRing, reference: str) -> None:
    key = keys.find(reference)
    if key.revoked_at is not None:
        print(f"key {key.id} ({key.name}, {key.role}) was already revoked on "
              f"{_when(key.revoked_at)}")
        return
    key = keys.revoke(key.id)
    print(f"revoked key {key.id} ({key.name}, {key.role}) at {_when(key.revoked_at)}; a "
          "running service refuses it from its next request")


def _list(keys: KeyRing, as_json: bool) -> None:
    now = keys.now()
    rows = [key.to_dict(now) for key in keys.list_keys()]
    if as_json:
        print(json.dumps(rows, default=lambda moment: moment.isoformat(), indent=2))
        return
    print("id\tname\trole\tstate\tcreated\texpires\tlast used")
    for row in rows:
        print("\t".join([str(row["id"]), row["name"], row["role"], row["state"],
                         _when(row["created_at"]), _when(row["expires_at"]) or "never",
                         _when(row["last_used_at"]) or "never"]))


def _when(moment: datetime | None) -> str:
    from xscreen.serving.keys import minute

    return minute(moment) if moment is not None else ""
