"""API keys: create, authenticate, list, revoke, expire, and record when each was last used.

A key is a long random token shown once; the database holds only its SHA-256, and a request's key
is found by the hash of what it sent (an index lookup, as constant-time as comparing hashes gets).
A key is refused (401) from the moment it is revoked or expires: every request reads its row, so
no cache can keep a revoked key alive, in the service or in the operator viewer. Rows are never
deleted, because scans and verdicts name the key that made them.

Keys are never logged: no message here or in the access log holds a key, and errors name a key
by its id and name only.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from xscreen.errors import UsageError
from xscreen.serving import store
from xscreen.serving.errors import AuthenticationError, ConflictError, NotFoundError

log = logging.getLogger("xscreen.serving")

# Last use is written at most once a minute per key: the row is read on every request anyway,
# and a write only when the stored time is older than this. A write per request would take
# SQLite's single write lock (and a full fsync) on every read-only call, queueing them behind
# the scans' writes; to the minute is enough to tell a key in use from an abandoned one.
LAST_USE_RESOLUTION = timedelta(minutes=1)
NO_KEY = ("no API key: send 'Authorization: Bearer <key>' (an admin makes keys with "
          "'xscreen keys create --role ROLE')")
UNKNOWN_KEY = "unknown API key; check it or ask an admin for a new one"


def to_utc(moment: datetime) -> datetime:
    """``moment`` as an aware UTC time; a naive one is taken as UTC (SQLite gives back naive
    times, stored in UTC, and a date given without a zone means UTC)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def as_utc(moment: datetime | None) -> datetime | None:
    """:func:`to_utc`, None staying None."""
    return None if moment is None else to_utc(moment)


def minute(moment: datetime) -> str:
    """``moment`` to the minute, in UTC, for messages and listings."""
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M} UTC"


@dataclass(frozen=True)
class KeyInfo:
    """What may be shown of a key: never the key itself, never its hash."""

    id: int
    name: str
    role: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, row: store.ApiKey) -> KeyInfo:
        created = as_utc(row.created_at)
        assert created is not None
        return cls(row.id, row.name, row.role, created, as_utc(row.expires_at),
                   as_utc(row.revoked_at), as_utc(row.last_used_at))

    def state(self, now: datetime) -> str:
        """``revoked``, ``expired`` or ``active`` at ``now``."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"

    def to_dict(self, now: datetime) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "role": self.role,
                "state": self.state(now), "created_at": self.created_at,
                "expires_at": self.expires_at, "revoked_at": self.revoked_at,
                "last_used_at": self.last_used_at}


class KeyRing:
    """Every key operation over the database. One per service (it holds no state beyond the
    database and the clock, so the CLI makes its own)."""

    def __init__(self, sessions: sessionmaker[Session],
                 clock: Callable[[], datetime] = store.utcnow) -> None:
        self.sessions = sessions
        self.clock = clock

    def now(self) -> datetime:
        return self.clock()

    def create(self, role: str, name: str = "",
               expires_at: datetime | None = None) -> tuple[KeyInfo, str]:
        """A new key of ``role``, refused from ``expires_at`` on (naive: UTC); returns what
        may be shown of it and the key itself, which is shown only this once."""
        expires_at = as_utc(expires_at)
        if expires_at is not None and expires_at <= self.now():
            raise UsageError(f"the expiry {minute(expires_at)} is not in the future; "
                             "give a later date or leave the expiry out")
        row, key = store.insert_key(self.sessions, role, name, expires_at, self.now())
        log.info("created API key %d (%s, role %s)", row.id, row.name, row.role)
        return KeyInfo.of(row), key

    def authenticate(self, token: str | None) -> KeyInfo:
        """The key sent, if it is known, not revoked and not expired; else AuthenticationError
        saying which. Records its use (to the minute)."""
        if not token:
            raise AuthenticationError(NO_KEY)
        row = store.find_key(self.sessions, token)
        if row is None:
            raise AuthenticationError(UNKNOWN_KEY)
        key, now = KeyInfo.of(row), self.now()
        state = key.state(now)
        if state == "revoked":
            assert key.revoked_at is not None
            raise AuthenticationError(f"this API key was revoked on {minute(key.revoked_at)}; "
                                      "ask an admin for a new one")
        if state == "expired":
            assert key.expires_at is not None
            raise AuthenticationError(f"this API key expired on {minute(key.expires_at)}; ask "
                                      "an admin for a new one")
        self._record_use(key, now)
        return key

    def _record_use(self, key: KeyInfo, now: datetime) -> None:
        if key.last_used_at is not None and now - key.last_used_at < LAST_USE_RESOLUTION:
            return
        try:
            store.record_key_use(self.sessions, key.id, now)
        except SQLAlchemyError as error:
            # bookkeeping: a busy or read-only database must not refuse a valid key
            log.warning("could not record the use of API key %d: %s", key.id,
                        str(error).splitlines()[0])

    def list_keys(self) -> list[KeyInfo]:
        """Every key, oldest first, revoked and expired ones included."""
        return [KeyInfo.of(row) for row in store.list_keys(self.sessions)]

    def get(self, key_id: int) -> KeyInfo:
        row = store.get_key(self.sessions, key_id)
        if row is None:
            raise NotFoundError(f"no API key with id {key_id}; 'xscreen keys list' (or GET "
                                "/v1/keys) shows them")
        return KeyInfo.of(row)

    def find(self, reference: str) -> KeyInfo:
        """The key whose id (digits) or name is ``reference``; a name several keys share is
        refused, naming their ids."""
        if reference.strip().isdigit():
            return self.get(int(reference))
        rows = store.list_keys(self.sessions, name=reference)
        if not rows:
            raise NotFoundError(f"no API key named {reference!r}; 'xscreen keys list' shows "
                                "the keys' ids and names")
        if len(rows) > 1:
            ids = ", ".join(str(row.id) for row in rows)
            raise UsageError(f"{len(rows)} API keys are named {reference!r} (ids {ids}); "
                             "give the id of the one you mean")
        return KeyInfo.of(rows[0])

    def revoke(self, key_id: int, by: int | None = None) -> KeyInfo:
        """Refuse ``key_id`` from now on (again: no change, its first revocation time stays).
        ``by``: the key asking, over the API; a key may not revoke itself there, so that an
        admin cannot lock the service's API out by mistake."""
        if by is not None and by == key_id:
            raise ConflictError(f"API key {key_id} is the key making this request; revoke it "
                                "with another admin key or 'xscreen keys revoke'")
        self.get(key_id)
        row = store.revoke_key(self.sessions, key_id, self.now())
        assert row is not None     # keys are never deleted
        log.info("revoked API key %d (%s, role %s)", row.id, row.name, row.role)
        return KeyInfo.of(row)

    def first_admin_key(self) -> str | None:
        """On a first start (no keys at all) a new admin key, shown once; else None."""
        return store.ensure_admin_key(self.sessions)
