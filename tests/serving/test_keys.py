"""API keys (issue 21): revocation, expiry and last use, in the key ring (SQLite and PostgreSQL
when XSCREEN_TEST_POSTGRES_URL is set), the ``xscreen keys`` CLI and the admin's API; and no key
ever in a log line."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import empty_database
from fastapi.testclient import TestClient
from serving_support import assert_problem, bearer, make_settings
from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError

from xscreen.cli import main
from xscreen.errors import UsageError
from xscreen.serving import store
from xscreen.serving.app import create_app
from xscreen.serving.errors import AuthenticationError, ConflictError, NotFoundError
from xscreen.serving.keys import LAST_USE_RESOLUTION, KeyRing
from xscreen.serving.keys_cli import parse_expiry
from xscreen.serving.middleware import JsonFormatter

START = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime = START) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield empty_database(request.param) or f"sqlite:///{tmp_path / 'keys.db'}"


@pytest.fixture
def engine(database_url: str) -> Iterator[store.Engine]:
    engine = store.make_engine(database_url)
    yield engine
    engine.dispose()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def ring(engine: store.Engine, clock: Clock) -> KeyRing:
    return KeyRing(store.session_factory(engine), clock)


# -- the key ring -------------------------------------------------------------------------

def test_a_key_authenticates_and_is_listed_without_its_secret(ring: KeyRing) -> None:
    info, secret = ring.create("operator", "desk 4")
    assert secret.startswith("xsk_") and len(secret) > 40
    assert ring.authenticate(secret).id == info.id
    [listed] = ring.list_keys()
    shown = listed.to_dict(ring.now())
    assert (shown["name"], shown["role"], shown["state"]) == ("desk 4", "operator", "active")
    assert secret not in repr(shown) and store.hash_key(secret) not in repr(shown)
    assert shown["created_at"] == START and shown["expires_at"] is None


def test_a_revoked_key_is_refused_at_once(ring: KeyRing, clock: Clock) -> None:
    info, secret = ring.create("scanner", "lane 1")
    _, other = ring.create("scanner", "lane 2")
    ring.authenticate(secret)
    clock.advance(timedelta(seconds=5))
    revoked = ring.revoke(info.id)
    assert revoked.revoked_at == START + timedelta(seconds=5)
    with pytest.raises(AuthenticationError, match="revoked on 2026-03-01 09:30 UTC"):
        ring.authenticate(secret)
    assert ring.authenticate(other).name == "lane 2"            # only that key
    clock.advance(timedelta(hours=1))
    again = ring.revoke(info.id)                                # changes nothing
    assert again.revoked_at == revoked.revoked_at
    assert [k.state(ring.now()) for k in ring.list_keys()] == ["revoked", "active"]


@pytest.mark.parametrize(("call", "error", "words"), [
    (lambda ring, key_id: ring.revoke(key_id + 100), NotFoundError, "no API key with id"),
    (lambda ring, key_id: ring.revoke(key_id, by=key_id), ConflictError, "making this request"),
    (lambda ring, key_id: ring.find("nobody"), NotFoundError, "no API key named 'nobody'"),
    (lambda ring, key_id: ring.find("twin"), UsageError, "2 API keys are named 'twin'"),
    (lambda ring, key_id: ring.create("janitor"), UsageError, "unknown role"),
    (lambda ring, key_id: ring.create("scanner", "", START), UsageError, "not in the future"),
    (lambda ring, key_id: ring.authenticate(None), AuthenticationError, "no API key"),
    (lambda ring, key_id: ring.authenticate("xsk_nope"), AuthenticationError, "unknown API key"),
])
def test_bad_key_requests(ring: KeyRing, call: Any, error: type[Exception], words: str) -> None:
    key_id = ring.create("admin", "twin")[0].id
    ring.create("scanner", "twin")
    with pytest.raises(error, match=words):
        call(ring, key_id)


def test_find_by_id_or_name(ring: KeyRing) -> None:
    first = ring.create("scanner", "lane 1")[0]
    second = ring.create("scanner", "lane 2")[0]
    assert ring.find(str(first.id)) == first and ring.find("lane 2") == second


def test_a_key_expires(ring: KeyRing, clock: Clock) -> None:
    info, secret = ring.create("scanner", "temp", START + timedelta(hours=1))
    assert info.expires_at == START + timedelta(hours=1)
    clock.advance(timedelta(minutes=59))
    ring.authenticate(secret)
    clock.advance(timedelta(minutes=1))
    with pytest.raises(AuthenticationError, match="expired on 2026-03-01 10:30 UTC"):
        ring.authenticate(secret)
    assert ring.get(info.id).state(ring.now()) == "expired"
    # a naive expiry is UTC
    naive = ring.create("scanner", "naive", datetime(2030, 1, 1))[0]
    assert naive.expires_at == datetime(2030, 1, 1, tzinfo=UTC)


def test_last_use_is_recorded_to_the_minute(ring: KeyRing, clock: Clock,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    info, secret = ring.create("operator")
    assert ring.get(info.id).last_used_at is None
    writes: list[datetime] = []
    record = store.record_key_use
    monkeypatch.setattr(store, "record_key_use",
                        lambda sessions, key_id, when: (writes.append(when),
                                                        record(sessions, key_id, when)))
    ring.authenticate(secret)
    assert ring.get(info.id).last_used_at == START
    for _ in range(5):                                           # within the minute: no write
        clock.advance(timedelta(seconds=10))
        ring.authenticate(secret)
    clock.advance(LAST_USE_RESOLUTION)
    ring.authenticate(secret)
    assert writes == [START, START + timedelta(seconds=50) + LAST_USE_RESOLUTION]
    assert ring.get(info.id).last_used_at == writes[-1]


def test_a_failed_last_use_write_does_not_refuse_the_key(
        ring: KeyRing, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    info, secret = ring.create("operator")

    def locked(*_: object) -> None:
        raise OperationalError("UPDATE api_keys", {}, Exception("database is locked"))

    monkeypatch.setattr(store, "record_key_use", locked)
    with caplog.at_level(logging.WARNING, "xscreen.serving"):
        assert ring.authenticate(secret).id == info.id
    assert f"could not record the use of API key {info.id}" in caplog.text


def test_first_admin_key_only_on_a_first_start(ring: KeyRing) -> None:
    first = ring.first_admin_key()
    assert first is not None and ring.authenticate(first).role == "admin"
    assert ring.first_admin_key() is None


def test_a_database_from_before_revocation_gains_the_columns(database_url: str) -> None:
    """An ``api_keys`` table without revoked_at, expires_at, last_used_at (as made before
    issue 21) gets them on start; its keys keep working and can then be revoked."""
    engine = store.make_engine(database_url)
    secret = store.create_key(store.session_factory(engine), "scanner", "old")
    with engine.begin() as connection:
        for column in ("revoked_at", "expires_at", "last_used_at"):
            connection.execute(text(f"ALTER TABLE api_keys DROP COLUMN {column}"))
    engine.dispose()
    engine = store.make_engine(database_url)                     # the service starts again
    try:
        columns = {c["name"] for c in inspect(engine).get_columns("api_keys")}
        assert {"revoked_at", "expires_at", "last_used_at"} <= columns
        assert store.add_missing_columns(engine) == []
        ring = KeyRing(store.session_factory(engine))
        old = ring.authenticate(secret)
        assert ring.get(old.id).last_used_at is not None
        ring.revoke(old.id)
        with pytest.raises(AuthenticationError, match="revoked"):
            ring.authenticate(secret)
    finally:
        engine.dispose()


# -- the CLI --------------------------------------------------------------------------------

@pytest.mark.parametrize(("expires_in", "expires", "expected"), [
    (None, None, None),
    ("12h", None, START + timedelta(hours=12)),
    ("90d", None, START + timedelta(days=90)),
    (" 8W ", None, START + timedelta(weeks=8)),
    (None, "2027-03-01", datetime(2027, 3, 1, tzinfo=UTC)),
    (None, "2027-03-01T18:00+01:00", datetime(2027, 3, 1, 17, tzinfo=UTC)),
])
def test_parse_expiry(expires_in: str | None, expires: str | None,
                      expected: datetime | None) -> None:
    assert parse_expiry(expires_in, expires, START) == expected


@pytest.mark.parametrize(("expires_in", "expires", "words"), [
    ("90", None, "not a duration"), ("0d", None, "above 0"), ("3m", None, r"h \(hours\)"),
    ("-1d", None, "not a duration"), (None, "next tuesday", "not a date"),
    (None, "2027-02-30", "not a date"), (None, "2026-02-28", "not in the future"),
])
def test_parse_expiry_refuses_bad_input(expires_in: str | None, expires: str | None,
                                        words: str) -> None:
    with pytest.raises(UsageError, match=words):
        parse_expiry(expires_in, expires, START)


def _cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_keys_create_list_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = ("--home", str(tmp_path))
    code, out, _ = _cli(capsys, "keys", "create", "--role", "operator", "--name", "desk 4",
                        "--expires-in", "90d", *home)
    secret = out.strip()
    assert code == 0 and secret.startswith("xsk_") and "\n" not in secret
    assert _cli(capsys, "keys", "create", "--role", "scanner", "--name", "lane 1", *home)[0] == 0
    code, out, _ = _cli(capsys, "keys", "list", "--json", *home)
    listed = json.loads(out)
    assert [(k["id"], k["name"], k["state"]) for k in listed] == [
        (1, "desk 4", "active"), (2, "lane 1", "active")]
    expires = datetime.fromisoformat(listed[0]["expires_at"])
    assert abs(expires - datetime.now(UTC) - timedelta(days=90)) < timedelta(minutes=1)
    assert secret not in out and store.hash_key(secret) not in out
    code, out, _ = _cli(capsys, "keys", "revoke", "desk 4", *home)
    assert code == 0 and out.startswith("revoked key 1 (desk 4, operator)")
    code, out, _ = _cli(capsys, "keys", "revoke", "1", *home)
    assert code == 0 and "already revoked" in out
    code, out, _ = _cli(capsys, "keys", "list", *home)
    rows = [line.split("\t") for line in out.splitlines()]
    assert rows[0][:4] == ["id", "name", "role", "state"]
    assert [row[3] for row in rows[1:]] == ["revoked", "active"] and rows[2][5] == "never"
    engine = store.make_engine(f"sqlite:///{tmp_path / 'xscreen.db'}")
    try:
        with pytest.raises(AuthenticationError, match="revoked"):
            KeyRing(store.session_factory(engine)).authenticate(secret)
    finally:
        engine.dispose()


@pytest.mark.parametrize(("argv", "words"), [
    (("revoke", "7"), "no API key with id 7"),
    (("revoke", "nobody"), "no API key named 'nobody'"),
    (("revoke", "twin"), "2 API keys are named 'twin' (ids 1, 2)"),
    (("create", "--role", "scanner", "--expires-in", "soon"), "not a duration"),
    (("create", "--role", "scanner", "--expires", "2020-01-01"), "not in the future"),
    (("create", "--role", "scanner", "--expires", "31/12/2030"), "not a date"),
])
def test_keys_cli_refuses_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    argv: tuple[str, ...], words: str) -> None:
    home = ("--home", str(tmp_path))
    for _ in range(2):
        assert _cli(capsys, "keys", "create", "--role", "scanner", "--name", "twin", *home)[0] == 0
    code, out, err = _cli(capsys, "keys", *argv, *home)
    assert code == 2 and out == "" and words in err and err.startswith("xscreen keys: error:")


def test_keys_create_refuses_both_expiry_options(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["keys", "create", "--role", "scanner", "--expires-in", "1d", "--expires",
              "2030-01-01"])
    assert "not allowed with argument" in capsys.readouterr().err


# -- the admin's API ------------------------------------------------------------------------

class Api:
    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.ring: KeyRing = client.app.state.service.keys  # type: ignore[attr-defined]
        self.admin = self.ring.create("admin", "root")[1]
        self.operator = self.ring.create("operator", "olga")[1]

    def post(self, path: str, key: str, **kwargs: Any) -> Any:
        return self.client.post(path, headers=bearer(key), **kwargs)

    def get(self, path: str, key: str) -> Any:
        return self.client.get(path, headers=bearer(key))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    settings = make_settings(tmp_path_factory.mktemp("home"),
                             database_url=empty_database(request.param))
    with TestClient(create_app(settings)) as client:
        yield Api(client)


def test_admin_creates_lists_and_revokes_keys(api: Api) -> None:
    made = api.post("/v1/keys", api.admin, json={"role": "scanner", "name": "lane 9",
                                                 "expires_in_days": 30})
    assert made.status_code == 201, made.text
    body = made.json()
    secret = body["key"]
    assert (body["role"], body["name"], body["state"]) == ("scanner", "lane 9", "active")
    expires = datetime.fromisoformat(body["expires_at"])
    assert abs(expires - datetime.now(UTC) - timedelta(days=30)) < timedelta(minutes=1)
    assert api.get("/v1/me", secret).json()["name"] == "lane 9"
    listing = api.get("/v1/keys", api.admin)
    assert listing.status_code == 200
    assert secret not in listing.text and store.hash_key(secret) not in listing.text
    [mine] = [k for k in listing.json() if k["id"] == body["id"]]
    assert "key" not in mine and "key_hash" not in mine and mine["last_used_at"] is not None
    revoked = api.post(f"/v1/keys/{body['id']}/revoke", api.admin)
    assert revoked.status_code == 200 and revoked.json()["state"] == "revoked"
    assert_problem(api.get("/v1/me", secret), 401, "this API key was revoked on")
    again = api.post(f"/v1/keys/{body['id']}/revoke", api.admin)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]


def test_a_key_revoked_by_the_cli_is_refused_by_the_running_service(api: Api) -> None:
    info, secret = api.ring.create("operator", "omar")
    assert api.get("/v1/scans", secret).status_code == 200
    settings = api.client.app.state.service.settings  # type: ignore[attr-defined]
    engine = store.make_engine(settings.resolved_database_url)   # another process's view
    try:
        KeyRing(store.session_factory(engine)).revoke(info.id)
    finally:
        engine.dispose()
    assert_problem(api.get("/v1/scans", secret), 401, "revoked")


@pytest.mark.parametrize(("method", "path", "json_body"), [
    ("get", "/v1/keys", None),
    ("post", "/v1/keys", {"role": "admin"}),
    ("post", "/v1/keys/1/revoke", None),
])
def test_only_an_admin_manages_keys(api: Api, method: str, path: str,
                                    json_body: dict[str, Any] | None) -> None:
    response = getattr(api.client, method)(path, headers=bearer(api.operator),
                                            **({"json": json_body} if json_body else {}))
    assert_problem(response, 403, "needs the role admin")
    assert_problem(getattr(api.client, method)(path), 401, "no API key")


@pytest.mark.parametrize(("body", "words"), [
    ({"role": "janitor"}, "role"),
    ({"role": "scanner", "expires_in_days": 0}, "expires_in_days"),
    ({"role": "scanner", "name": "a\nb"}, "name"),
    ({"role": "scanner", "name": "x" * 201}, "name"),
    ({"role": "scanner", "secret": "mine"}, "secret"),
])
def test_bad_key_bodies_are_422(api: Api, body: dict[str, Any], words: str) -> None:
    assert_problem(api.post("/v1/keys", api.admin, json=body), 422, words)


def test_revoking_an_unknown_or_ones_own_key(api: Api) -> None:
    assert_problem(api.post("/v1/keys/999999/revoke", api.admin), 404, "no API key with id")
    assert_problem(api.post(f"/v1/keys/{2**31}/revoke", api.admin), 400, "key_id")
    me = api.get("/v1/me", api.admin).json()["key_id"]
    assert_problem(api.post(f"/v1/keys/{me}/revoke", api.admin), 409, "another admin key")
    assert api.get("/v1/me", api.admin).status_code == 200


def test_the_schema_never_shows_a_stored_key(api: Api) -> None:
    schemas = api.client.get("/openapi.json").json()["components"]["schemas"]
    assert "key" not in schemas["KeyOut"]["properties"]
    assert not any("hash" in name for name in schemas["KeyOut"]["properties"])
    assert "key" in schemas["KeyCreatedOut"]["properties"]


# -- keys are never logged ------------------------------------------------------------------

def test_no_key_is_ever_logged(api: Api, tmp_path: Path, caplog: pytest.LogCaptureFixture,
                               capsys: pytest.CaptureFixture[str]) -> None:
    """Across creating (API and CLI), using, failing, revoking and using a revoked key, no
    log record holds a key, however it is formatted (message, arguments, JSON fields)."""
    wrong = "xsk_" + "w" * 43
    with caplog.at_level(logging.DEBUG):
        made = api.post("/v1/keys", api.admin, json={"role": "operator", "name": "log"}).json()
        secret = made["key"]
        api.get("/v1/scans", secret)
        api.get("/v1/scans", wrong)
        api.client.get("/v1/scans", headers={"Authorization": secret})   # no "Bearer"
        api.post(f"/v1/keys/{made['id']}/revoke", api.admin)
        api.get("/v1/scans", secret)
        api.ring.authenticate(api.admin)
        main(["keys", "create", "--role", "scanner", "--home", str(tmp_path)])
    cli_secret = capsys.readouterr().out.strip()
    assert any("revoked API key" in r.getMessage() for r in caplog.records)   # logs were seen
    assert any(r.name == "xscreen.access" for r in caplog.records)
    formatter = JsonFormatter()
    for record in caplog.records:
        shown = " ".join([formatter.format(record), record.getMessage(), repr(record.args),
                          repr(record.__dict__)])
        for key in (secret, wrong, api.admin, cli_secret):
            assert key not in shown and key[4:20] not in shown, record.getMessage()
