"""The service's database through SQLAlchemy 2: SQLite by default, PostgreSQL by URL.

Tables: API keys (stored hashed), scans (one row per upload, its result as JSON), the party keys
of each scan's manifest, operators' verdicts (append-only: every verdict a scan gets is a row of
its history, the latest its state), threat image projection presentations (operator training,
scored apart from verdicts) and run-time settings. :class:`DbPartyHistory` answers the risk
engine's ``PartyHistory`` questions from them: a scan whose latest verdict is
``threat_confirmed`` is a seizure linked to that scan's party keys.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
    func,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker

from xscreen.serving.risk import SeizureRecord, keys_link
from xscreen.serving.roles import ROLES

KEY_PREFIX = "xsk_"


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    pass


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # Added after the first release (make_engine adds them to older databases). A key is
    # refused from revoked_at on, and from expires_at on when it has one; last_used_at is
    # kept to the minute (serving/keys.py says why). The row stays: scans and verdicts name it.
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Scan(Base):
    __tablename__ = "scans"
    __table_args__ = (UniqueConstraint("owner_key_id", "idempotency_key"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    owner_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    scanner_id: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(200))
    # sha256 of the request's parts (request_fingerprint): a key reused for another body is
    # refused. Added after the first release: make_engine adds it to older databases.
    request_sha256: Mapped[str | None] = mapped_column(String(64))
    # accepted, screened, reviewed or failed
    status: Mapped[str] = mapped_column(String(20), index=True)
    kind: Mapped[str] = mapped_column(String(10))                 # image or pair
    blob: Mapped[str] = mapped_column(String(64))
    blob_low: Mapped[str | None] = mapped_column(String(64))
    manifest: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    risk_score: Mapped[float] = mapped_column(Float, default=-1.0, index=True)
    result: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    screened_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ScanParty(Base):
    __tablename__ = "scan_parties"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id"), index=True)
    key: Mapped[str] = mapped_column(String(300), index=True)


class Verdict(Base):
    """One operator's verdict on a scan. Rows are only ever added: a second verdict on a scan
    is a new row (its ``id`` orders the history), never an update of the first."""

    __tablename__ = "verdicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id"), index=True)
    decision: Mapped[str] = mapped_column(String(30), index=True)
    labels: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TipPresentation(Base):
    """Threat image projection (the operator viewer's training): one row per operator and scan
    once TIP was rolled for that pair. ``projected``: a fictional threat was put into the image
    the operator sees (stored as ``blob``; ``boxes`` ``[x1, y1, x2, y2]``). The operator's
    verdict on it is scored here (``result`` hit or miss) and never stored as a :class:`Verdict`.
    """

    __tablename__ = "tip_presentations"
    __table_args__ = (UniqueConstraint("key_id", "scan_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    scan_id: Mapped[str] = mapped_column(ForeignKey("scans.id"), index=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    projected: Mapped[bool] = mapped_column(Boolean)
    label: Mapped[str | None] = mapped_column(String(30))
    boxes: Mapped[list[list[float]] | None] = mapped_column(JSON)
    blob: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decision: Mapped[str | None] = mapped_column(String(30))
    labels: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    result: Mapped[str | None] = mapped_column(String(10), index=True)    # hit or miss
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ServiceSetting(Base):
    """A setting an admin changes at run time (e.g. ``tip``: enabled and rate), as JSON."""

    __tablename__ = "service_settings"

    name: Mapped[str] = mapped_column(String(50), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# A request must not hang while the database is down: connecting gives up after this long, and
# so does waiting for a free pooled connection; then the request is answered 503 + Retry-After.
CONNECT_TIMEOUT_S = 3
POOL_TIMEOUT_S = 5


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, full fsync on commit and a busy timeout. A
    server's pooled connections are tested before each use (``pool_pre_ping``), so after it
    restarts the first request gets a fresh connection instead of a dead one."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
    else:
        connect_args = {"connect_timeout": CONNECT_TIMEOUT_S} if url.startswith("postgres") else {}
        engine = create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20,
                               pool_timeout=POOL_TIMEOUT_S, connect_args=connect_args)
    Base.metadata.create_all(engine)
    add_missing_columns(engine)
    return engine


# Columns added to a table after databases with that table were in use. create_all makes new
# tables only, so each is added (nullable, portable DDL) where it is missing: no migration tool.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("scans", "request_sha256", "VARCHAR(64)"),
    ("api_keys", "revoked_at", "TIMESTAMP WITH TIME ZONE"),
    ("api_keys", "expires_at", "TIMESTAMP WITH TIME ZONE"),
    ("api_keys", "last_used_at", "TIMESTAMP WITH TIME ZONE"),
)


def add_missing_columns(engine: Engine) -> list[str]:
    """Add each of :data:`ADDED_COLUMNS` that an existing table lacks; returns what it added."""
    added = []
    for table, column, sql_type in ADDED_COLUMNS:
        if column in {c["name"] for c in inspect(engine).get_columns(table)}:
            continue
        try:
            with engine.begin() as connection:
                connection.execute(text(f"ALTER TABLE {table} ADD COLUMN {column} {sql_type}"))
            added.append(f"{table}.{column}")
        except (OperationalError, ProgrammingError):
            # another process starting beside this one added it first
            if column not in {c["name"] for c in inspect(engine).get_columns(table)}:
                raise
    return added


def request_fingerprint(parts: Sequence[tuple[str, bytes | None]]) -> str:
    """SHA-256 over each part's name and bytes, in order (an absent part counts as absent, not
    as empty): two requests with the same fingerprint carried the same parts."""
    digest = hashlib.sha256()
    for name, data in parts:
        digest.update(f"{name}:{-1 if data is None else len(data)}:".encode())
        digest.update(data or b"")
    return digest.hexdigest()


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


def hash_key(key: str) -> str:
    """SHA-256 of an API key: keys are long random tokens, so a fast hash is enough."""
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(sessions: sessionmaker[Session], role: str, name: str = "",
               expires_at: datetime | None = None) -> str:
    """Store a new key of ``role`` (hashed) and return the key itself, shown only this once."""
    return insert_key(sessions, role, name, expires_at)[1]


def insert_key(sessions: sessionmaker[Session], role: str, name: str = "",
               expires_at: datetime | None = None,
               created_at: datetime | None = None) -> tuple[ApiKey, str]:
    """Store a new key (named ``name``, else after its role) and return its row and the key."""
    from xscreen.errors import UsageError

    if role not in ROLES:
        raise UsageError(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    row, key = new_key_row(role, name, expires_at, created_at)
    with sessions.begin() as session:
        session.add(row)
    return row, key


def new_key_row(role: str, name: str = "", expires_at: datetime | None = None,
                created_at: datetime | None = None) -> tuple[ApiKey, str]:
    """A new key and its row (hashed; not yet stored)."""
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return ApiKey(name=name or role, role=role, key_hash=hash_key(key), expires_at=expires_at,
                  created_at=created_at or utcnow()), key


def find_key(sessions: sessionmaker[Session], key: str) -> ApiKey | None:
    """The row of ``key`` (found by its hash: an index lookup, no comparison of secrets)."""
    with sessions() as session:
        return session.scalar(select(ApiKey).where(ApiKey.key_hash == hash_key(key)))


def get_key(sessions: sessionmaker[Session], key_id: int) -> ApiKey | None:
    with sessions() as session:
        return session.get(ApiKey, key_id)


def list_keys(sessions: sessionmaker[Session], name: str | None = None) -> list[ApiKey]:
    """Every key (or those named ``name``), oldest first, revoked ones included."""
    query = select(ApiKey).order_by(ApiKey.id)
    if name is not None:
        query = query.where(ApiKey.name == name)
    with sessions() as session:
        return list(session.scalars(query))


def revoke_key(sessions: sessionmaker[Session], key_id: int, when: datetime) -> ApiKey | None:
    """Mark the key revoked at ``when`` unless it already is (the first revocation's time
    stays); its row after, or None when there is no such key."""
    with sessions.begin() as session:
        session.execute(update(ApiKey).where(ApiKey.id == key_id, ApiKey.revoked_at.is_(None))
                        .values(revoked_at=when))
    return get_key(sessions, key_id)


def record_key_use(sessions: sessionmaker[Session], key_id: int, when: datetime) -> None:
    with sessions.begin() as session:
        session.execute(update(ApiKey).where(ApiKey.id == key_id).values(last_used_at=when))


class _NotFirst(Exception):
    """Rolls back a first admin key that another replica's beat."""


FIRST_ADMIN_MARK = "first_admin_key"
"""The ``service_settings`` row written with the first admin key, in the same transaction: its
primary key lets only one of several replicas starting on an empty database make that key."""


def ensure_admin_key(sessions: sessionmaker[Session]) -> str | None:
    """On a first start (no keys at all) create an admin key and return it; else None.

    Replicas starting together on one empty database both see no keys; each then stores its
    key with the :data:`FIRST_ADMIN_MARK` row in one transaction, and the database lets one of
    them commit: the other rolls back (no second admin key, nothing printed) and returns None.
    """
    with sessions() as session:
        if session.scalar(select(func.count()).select_from(ApiKey)):
            return None
    row, key = new_key_row("admin", "first admin")
    try:
        with sessions.begin() as session:
            session.add(row)
            session.flush()
            if (session.scalar(select(func.count()).select_from(ApiKey)) or 0) > 1:
                raise _NotFirst          # another replica's key committed first
            mark = session.get(ServiceSetting, FIRST_ADMIN_MARK)
            if mark is not None:
                marked = (mark.value or {}).get("key_id")
                # (SQLite may give a deleted key's id to this one: that mark is stale too)
                if marked not in (None, row.id) and session.get(ApiKey, marked) is not None:
                    # another replica's first key, committed after this one counted the keys
                    # (PostgreSQL's READ COMMITTED shows it now): not a first start after all
                    raise _NotFirst
                session.delete(mark)     # every key deleted by hand since: a first start again
                session.flush()
            session.add(ServiceSetting(name=FIRST_ADMIN_MARK, value={"key_id": row.id},
                                       updated_by=row.id))
    except (IntegrityError, _NotFirst):
        return None                      # another replica made the first admin key
    return key


class DbPartyHistory:
    """The risk engine's ``PartyHistory`` over the database. Keys link as the engine links them
    (:func:`~xscreen.serving.risk.keys_link`: spelling variants of one party meet)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions

    def seizures(self, keys: Sequence[str]) -> list[SeizureRecord]:
        """Confirmed seizures of scans whose party keys link to any of ``keys``: scans whose
        latest verdict is ``threat_confirmed`` (a confirmation later cleared is no seizure, and
        a scan confirmed twice is one)."""
        if not keys:
            return []
        roles = sorted({key.partition(":")[0] + ":" for key in keys})
        latest = select(func.max(Verdict.id)).group_by(Verdict.scan_id)
        seized = (select(ScanParty.key, Verdict.scan_id, Scan.result)
                  .join(Verdict, Verdict.scan_id == ScanParty.scan_id)
                  .join(Scan, Scan.id == ScanParty.scan_id)
                  .where(Verdict.decision == "threat_confirmed", Verdict.id.in_(latest),
                         or_(*[ScanParty.key.startswith(role, autoescape=True)
                               for role in roles])))
        with self.sessions() as session:
            rows = session.execute(seized).all()
        wanted = set(keys)
        records = []
        for key, scan_id, result in rows:
            if key in wanted or any(keys_link(key, k) for k in keys if _same_role(key, k)):
                labels = tuple(sorted({d["label"] for d in (result or {}).get("detections", [])}))
                records.append(SeizureRecord(key, labels, scan_id))
        return records

    def parcels_seen(self, key: str) -> int:
        """How many scans named a party key that links to ``key``."""
        role, _, value = key.partition(":")
        prefix = f"{role}:{value[:2]}"   # linked spellings share a role and (nearly always) a start
        with self.sessions() as session:
            rows = session.execute(select(ScanParty.key, func.count(ScanParty.scan_id))
                                   .where(ScanParty.key.startswith(prefix, autoescape=True))
                                   .group_by(ScanParty.key)).all()
        return int(sum(count for stored, count in rows
                       if stored == key or keys_link(stored, key)))


def _same_role(a: str, b: str) -> bool:
    return a.partition(":")[0] == b.partition(":")[0]
