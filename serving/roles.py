"""The API key roles (CONTRACT "HTTP API") and the one rule that checks them.

- ``scanner``: submit scans, read its own;
- ``operator``: the queue, every scan, verdicts;
- ``engineer``: training exports, models;
- ``admin``: everything, and keys.

Each route names the roles it allows through one FastAPI dependency (``serving/app.py``:
``Depends(require("operator"))``), which calls :func:`require_role`; the classes behind the
routes check no roles. What a role may *see* (a scanner only its own scans) is the scan
repository's business (``serving/scans.py``), because it is a filter on the data, not a door.
"""

from __future__ import annotations

from dataclasses import dataclass

from xscreen.serving.errors import PermissionDeniedError

ROLES: tuple[str, ...] = ("scanner", "operator", "engineer", "admin")


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key's id, role and name."""

    key_id: int
    role: str
    name: str


def require_role(principal: Principal, *roles: str) -> None:
    """PermissionDeniedError unless the key's role is one of ``roles`` (admin may do anything)."""
    if principal.role != "admin" and principal.role not in roles:
        raise PermissionDeniedError(f"a {principal.role} key may not do this; it needs the role "
                                    f"{' or '.join(roles)}")
