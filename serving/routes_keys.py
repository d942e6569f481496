"""The admin's API for keys (role admin): list, create (the key shown once), revoke.

No answer here ever holds a stored key's secret or its hash: only the key that ``POST /v1/keys``
just made, once. A revoked key is refused (401) by the next request that sends it.

(No ``from __future__ import annotations`` here: the endpoints' annotations name a dependency
made inside :func:`key_routes`, which FastAPI can only see when they are evaluated at once.)
"""

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from xscreen.serving import schemas
from xscreen.serving.keys import KeyRing
from xscreen.serving.service import Principal

# Postgres' INTEGER: a larger id cannot exist, and must be a 404, not a driver's overflow
MAX_KEY_ID = 2**31 - 1
# a name is shown in lists and verdict histories: printable, one line
NAME_PATTERN = r"^[^\x00-\x1f\x7f]*$"


class KeyIn(BaseModel):
    model_config = {"extra": "forbid"}
    role: Literal["scanner", "operator", "engineer", "admin"]
    name: str = Field(default="", max_length=200, pattern=NAME_PATTERN,
                      description="who or what holds the key (default: its role)")
    expires_in_days: int | None = Field(
        default=None, ge=1, le=3650,
        description="refuse the key this many days from now (default: never expires)")


class KeyOut(BaseModel):
    """A key as an admin sees it: never the key itself, never its hash."""

    id: int
    name: str
    role: Literal["scanner", "operator", "engineer", "admin"]
    state: Literal["active", "revoked", "expired"]
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = Field(
        default=None, description="the last request made with it, to the minute")


class KeyCreatedOut(KeyOut):
    key: str = Field(description="the API key, shown only this once: send it as "
                                 "'Authorization: Bearer <key>'")


def get_key_ring(request: Request) -> KeyRing:
    keys: KeyRing = request.app.state.service.keys
    return keys


KeyRingDep = Annotated[KeyRing, Depends(get_key_ring)]
KeyId = Annotated[int, Path(ge=1, le=MAX_KEY_ID, description="the key's id (GET /v1/keys)")]


def key_routes(admin: Callable[..., Principal]) -> APIRouter:
    """The routes, each taking ``admin``: the app's one role dependency,
    ``serving.app.require("admin")``, so that roles are checked in one place."""
    router = APIRouter(tags=["keys"])

    @router.get("/v1/keys", response_model=list[KeyOut])
    def list_keys(keys: KeyRingDep, caller: Annotated[Principal, Depends(admin)]) -> Any:
        """Every key, oldest first, with its state and last use (role admin)."""
        now = keys.now()
        return [key.to_dict(now) for key in keys.list_keys()]

    @router.post("/v1/keys", status_code=201, response_model=KeyCreatedOut)
    def create_key(body: KeyIn, keys: KeyRingDep,
                   caller: Annotated[Principal, Depends(admin)]) -> Any:
        """A new key; the answer holds the key itself, which is never shown again (role
        admin)."""
        expires_at = (keys.now() + timedelta(days=body.expires_in_days)
                      if body.expires_in_days is not None else None)
        info, secret = keys.create(body.role, body.name, expires_at)
        return {**info.to_dict(keys.now()), "key": secret}

    @router.post("/v1/keys/{key_id}/revoke", response_model=KeyOut,
                 responses={409: schemas.PROBLEM})
    def revoke_key(key_id: KeyId, keys: KeyRingDep,
                   caller: Annotated[Principal, Depends(admin)]) -> Any:
        """Refuse the key from now on, everywhere (the viewer included); revoking it again
        changes nothing. The calling key cannot revoke itself (409): use another admin key
        or ``xscreen keys revoke`` (role admin)."""
        return keys.revoke(key_id, by=caller.key_id).to_dict(keys.now())

    return router
