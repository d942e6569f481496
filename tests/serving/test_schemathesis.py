"""The API is what its OpenAPI says (issue 21): Schemathesis generates requests from the app's
own ``/openapi.json`` and checks every answer against it, in process over ASGI, with an admin
key, on SQLite and the real test model.

Bounded and deterministic so that CI is stable: a fixed seed, derandomised generation, no
example database, no shrinking, and a few examples per operation and phase (about 300 requests
in all).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.python import asgi
from serving_support import bearer, make_settings

from xscreen.serving import store
from xscreen.serving.app import create_app
from xscreen.serving.settings import load_settings

# Every check Schemathesis has, less those that need what one stateless run cannot give:
# use_after_free and ensure_resource_availability follow resources across stateful links (the
# stateful phase is off: it needs links the schema does not declare), object_level_authorization
# needs a second identity's credentials.
CHECKS_LEFT_OUT = ("use_after_free", "ensure_resource_availability",
                   "object_level_authorization")
# Uploads whose bytes a schema cannot judge: a generated "image" is rarely a readable scan (415
# unknown format, 422 broken), a generated model bundle never a loadable graph whose card holds
# its sha256 (422). These statuses are declared answers; any other refusal still fails.
CONTENT_CHECKED = ["2xx", "401", "403", "404", "409", "413", "415", "422", "429", "5xx"]
CONFIG: dict[str, Any] = {
    "seed": 21,
    "generation": {"max-examples": 6, "deterministic": True, "database": "none",
                   "no-shrink": True},
    "phases": {"examples": {"enabled": True}, "coverage": {"enabled": True},
               "fuzzing": {"enabled": True}, "stateful": {"enabled": False}},
    "checks": {name: {"enabled": False} for name in CHECKS_LEFT_OUT},
    "operations": [{"include-path": path, "include-method": "POST", "checks": {
        "positive_data_acceptance": {"expected-statuses": CONTENT_CHECKED}}}
        for path in ("/v1/scans", "/v1/detect", "/v1/models")],
}


class DeferredApp:
    """An ASGI app that forwards to the one a fixture starts: the schema is read when the module
    is collected, the service (model, database) built only when the test runs."""

    target: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.target(scope, receive, send)


APP = DeferredApp()
# the document only: create_app reads the risk configuration and starts nothing
SPEC = create_app(load_settings({}, home=Path("unused"))).openapi()
schema = schemathesis.openapi.from_dict(SPEC, config=SchemathesisConfig.from_dict(CONFIG))
schema.app = APP


@pytest.fixture(scope="module")
def admin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """The service on SQLite and the test model behind APP; an admin key's header."""
    settings = make_settings(tmp_path_factory.mktemp("home"))
    engine = store.make_engine(settings.resolved_database_url)
    key = store.create_key(store.session_factory(engine), "admin", "schemathesis")
    engine.dispose()
    APP.target = create_app(settings)
    yield bearer(key)
    asgi.shutdown_lifespans()          # the service's lifespan: stop the batcher, close SQLite
    APP.target = None


@schema.parametrize()
def test_the_api_is_what_its_schema_says(case: Any, admin: dict[str, str]) -> None:
    response = case.call_and_validate(headers=admin)
    if response.status_code == 405:
        # Schemathesis asks only that Allow be there; it must list what the schema declares
        declared = {method.upper() for method in SPEC["paths"][case.operation.path]}
        allowed = ", ".join(response.headers["allow"]).split(", ")   # values come as a list
        assert set(allowed) == declared, response.headers
