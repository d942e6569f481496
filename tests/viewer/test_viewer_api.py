"""What the operator viewer needs from the API, over an ASGI client on SQLite (and PostgreSQL
when XSCREEN_TEST_POSTGRES_URL is set): who is signed in, verdicts recorded with the operator,
the static pages, and threat image projection (TIP) for operator training: admin-only settings,
projections that the API's answers do not give away, verdicts on them scored and never stored,
and the hit rates."""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import empty_database
from fastapi.testclient import TestClient
from sqlalchemy import select
from viewer_support import bearer, decode_png, fixed_bundle, png_bytes, synthetic_scans

from xscreen.models.boxes import box_iou
from xscreen.serving import store
from xscreen.serving.app import create_app
from xscreen.serving.settings import load_settings

ROLES = {"admin": "admin", "olga": "operator", "omar": "operator", "scanner": "scanner",
         "engineer": "engineer"}
SCANS = synthetic_scans(2, seed=11, width=320, height=224)


class Api:
    """A running app with named keys (``olga`` and ``omar`` are operators)."""

    def __init__(self, client: TestClient) -> None:
        self.client = client
        self.service = client.app.state.service  # type: ignore[attr-defined]
        self.keys = {name: store.create_key(self.service.sessions, role, name)
                     for name, role in ROLES.items()}
        self.count = 0

    def h(self, name: str) -> dict[str, str]:
        return bearer(self.keys[name])

    def submit(self) -> dict[str, Any]:
        self.count += 1      # a different image each time: blobs are content-addressed
        image = SCANS[self.count % len(SCANS)].copy()
        image[0, :8] = [self.count % 256, self.count // 256, 0]
        response = self.client.post("/v1/scans", headers=self.h("scanner"),
                                    files={"image": ("a.png", png_bytes(image))})
        assert response.status_code == 201, response.text
        body: dict[str, Any] = response.json()
        return body

    def image(self, scan_id: str, name: str = "olga", annotated: bool = False) -> Any:
        query = "?annotated=true" if annotated else ""
        response = self.client.get(f"/v1/scans/{scan_id}/image{query}", headers=self.h(name))
        assert response.status_code == 200, response.text
        return response

    def verdict(self, scan_id: str, body: dict[str, Any], name: str = "olga") -> Any:
        return self.client.post(f"/v1/scans/{scan_id}/verdict", headers=self.h(name), json=body)

    def set_tip(self, enabled: bool, rate: float = 1.0) -> None:
        response = self.client.put("/v1/tip/settings", headers=self.h("admin"),
                                   json={"enabled": enabled, "rate": rate})
        assert response.status_code == 200, response.text

    def presentation(self, scan_id: str, name: str = "olga") -> store.TipPresentation | None:
        with self.service.sessions() as session:
            key = session.scalar(select(store.ApiKey).where(store.ApiKey.name == name))
            return session.scalar(select(store.TipPresentation).where(
                store.TipPresentation.scan_id == scan_id,
                store.TipPresentation.key_id == key.id))


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def api(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    database_url = empty_database(request.param)
    settings = load_settings({}, home=tmp_path_factory.mktemp("home"), model=fixed_bundle(),
                             print_admin_key=False, max_wait_ms=1.0, ort_threads=1,
                             database_url=database_url)
    with TestClient(create_app(settings)) as client:
        yield Api(client)


@pytest.fixture
def tip_on(api: Api) -> Iterator[Api]:
    """TIP on at rate 1 (every scan an operator opens is projected), off again afterwards."""
    api.set_tip(True, 1.0)
    yield api
    api.set_tip(False, 0.05)


def assert_problem(response: Any, status: int, words: str) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert words in response.json()["detail"], response.json()["detail"]


# -- signing in, pages, verdicts --------------------------------------------------------------

@pytest.mark.parametrize("name", list(ROLES))
def test_me_names_the_key_and_its_role(api: Api, name: str) -> None:
    body = api.client.get("/v1/me", headers=api.h(name)).json()
    assert body["name"] == name and body["role"] == ROLES[name] and body["key_id"] > 0


@pytest.mark.parametrize("headers", [{}, bearer("xsk_wrong")])
def test_me_refuses_missing_and_unknown_keys(api: Api, headers: dict[str, str]) -> None:
    assert_problem(api.client.get("/v1/me", headers=headers), 401, "API key")


def test_the_viewer_and_its_files_are_served(api: Api) -> None:
    page = api.client.get("/")
    assert page.status_code == 200 and "review queue" in page.text
    assert '<script type="module" src="/static/app.js">' in page.text
    for name in ("app.js", "api.js", "queue.js", "scanview.js", "imagetools.js",
                 "shortcuts.js", "tip.js", "viewer.css"):
        response = api.client.get(f"/static/{name}")
        assert response.status_code == 200 and response.content, name
    assert "javascript" in api.client.get("/static/app.js").headers["content-type"]
    assert api.client.get("/static/nope.js").status_code == 404


def test_verdicts_record_the_operator_and_time(api: Api) -> None:
    scan = api.submit()
    body = api.verdict(scan["id"], {"decision": "cleared", "note": "books"}).json()
    assert body["status"] == "reviewed" and body["tip"] is None
    verdict = body["verdict"]
    assert verdict["operator"]["name"] == "olga" and verdict["created_at"]
    queued = api.client.get("/v1/scans?status=reviewed&limit=500", headers=api.h("omar")).json()
    mine = next(item for item in queued["items"] if item["id"] == scan["id"])
    assert mine["verdict"]["operator"] == verdict["operator"]
    again = api.verdict(scan["id"], {"decision": "threat_confirmed"}, "omar").json()
    assert again["verdict"]["operator"]["name"] == "omar"          # the latest verdict counts


def test_openapi_describes_the_viewer_endpoints(api: Api) -> None:
    paths = api.client.get("/openapi.json").json()["paths"]
    assert {"/v1/me", "/v1/tip/settings", "/v1/tip/stats"} <= set(paths)
    assert {"get", "put"} <= set(paths["/v1/tip/settings"])
    for operation in (paths["/v1/me"]["get"], paths["/v1/tip/settings"]["put"],
                      paths["/v1/tip/stats"]["get"]):
        assert {"401", "403", "422"} <= set(operation["responses"])
    verdict = paths["/v1/scans/{scan_id}/verdict"]["post"]["responses"]["200"]
    assert verdict["content"]["application/json"]["schema"]["$ref"].endswith("VerdictResult")


# -- TIP settings ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", ["olga", "scanner", "engineer"])
def test_only_an_admin_reads_or_changes_tip(api: Api, name: str) -> None:
    assert_problem(api.client.get("/v1/tip/settings", headers=api.h(name)), 403, "admin")
    assert_problem(api.client.put("/v1/tip/settings", headers=api.h(name),
                                  json={"enabled": True, "rate": 0.5}), 403, "admin")


@pytest.mark.parametrize(("body", "words"), [
    ({"enabled": True, "rate": 0}, "rate"),
    ({"enabled": True, "rate": 1.5}, "rate"),
    ({"enabled": True}, "rate"),
    ({"enabled": "maybe", "rate": 0.1}, "enabled"),
    ({"enabled": True, "rate": 0.1, "colour": "red"}, "colour"),
])
def test_bad_tip_settings_are_422(api: Api, body: dict[str, Any], words: str) -> None:
    assert_problem(api.client.put("/v1/tip/settings", headers=api.h("admin"), json=body),
                   422, words)


def test_tip_settings_round_trip(api: Api) -> None:
    assert api.client.get("/v1/tip/settings", headers=api.h("admin")).json()["enabled"] is False
    api.set_tip(True, 0.25)
    body = api.client.get("/v1/tip/settings", headers=api.h("admin")).json()
    assert body["enabled"] is True and body["rate"] == 0.25 and body["updated_by"] == "admin"
    api.set_tip(False, 0.25)


# -- TIP presentations ----------------------------------------------------------------------

def test_with_tip_off_operators_see_the_real_scan(api: Api) -> None:
    scan = api.submit()
    real = api.image(scan["id"], "admin").content
    assert api.image(scan["id"]).content == real
    assert api.presentation(scan["id"]) is None


def test_a_projection_is_sticky_and_gives_nothing_away(tip_on: Api) -> None:
    api = tip_on
    scan = api.submit()
    real = api.image(scan["id"], "admin")
    shown = api.image(scan["id"])
    real_rgb, shown_rgb = decode_png(real.content), decode_png(shown.content)
    assert shown_rgb.shape == real_rgb.shape and not np.array_equal(shown_rgb, real_rgb)
    changed = np.argwhere(np.any(shown_rgb != real_rgb, axis=2))
    assert changed.size and np.all(shown_rgb[tuple(changed.T)] <= real_rgb[tuple(changed.T)])
    assert api.image(scan["id"]).content == shown.content           # reopening: the same
    ignored = {"content-length", "x-request-id"}
    assert {k for k in shown.headers if k not in ignored} == \
        {k for k in real.headers if k not in ignored}
    assert api.client.get(f"/v1/scans/{scan['id']}", headers=api.h("olga")).json() == \
        api.client.get(f"/v1/scans/{scan['id']}", headers=api.h("admin")).json()
    boxed = decode_png(api.image(scan["id"], annotated=True).content)
    real_boxed = decode_png(api.image(scan["id"], "admin", annotated=True).content)
    assert not np.array_equal(boxed, real_boxed)
    presentation = api.presentation(scan["id"])
    assert presentation is not None and presentation.projected and presentation.boxes
    # the threat is where its boxes say (a box is tight around the labelled object; packaging
    # projected with it, such as a narcotics brick's wrapping, may reach beyond it)
    x1, y1, x2, y2 = (int(v) for v in presentation.boxes[0])
    assert np.any(shown_rgb[y1:y2, x1:x2] != real_rgb[y1:y2, x1:x2])
    # each operator gets their own roll; a reviewed scan or a non-operator is never projected
    assert api.image(scan["id"], "omar").content != real.content
    assert api.image(scan["id"], "engineer").content == real.content
    reviewed = api.submit()
    api.verdict(reviewed["id"], {"decision": "cleared"}, "omar")
    assert api.image(reviewed["id"]).content == api.image(reviewed["id"], "admin").content


def _far_box(boxes: list[list[float]], width: int, height: int) -> list[float]:
    """A small box that no projected box touches."""
    spots = ([float(x), float(y), x + 8.0, y + 8.0] for y in range(0, height - 8, 8)
             for x in range(0, width - 8, 8))
    return next(spot for spot in spots if not box_iou(spot, boxes).any())


@pytest.mark.parametrize(("decision", "drawn", "result"), [
    ("threat_confirmed", None, "hit"),
    ("cleared", None, "miss"),
    ("threat_confirmed", "projected", "hit"),
    ("cleared", "projected", "hit"),          # a box drawn on the threat found it
    ("cleared", "far", "miss"),
])
def test_a_verdict_on_a_projection_is_scored_not_stored(
        tip_on: Api, decision: str, drawn: str | None, result: str) -> None:
    api = tip_on
    scan = api.submit()
    real = api.image(scan["id"], "admin").content
    assert api.image(scan["id"]).content != real
    presentation = api.presentation(scan["id"])
    assert presentation is not None and presentation.boxes
    body: dict[str, Any] = {"decision": decision}
    if drawn is not None:
        box = presentation.boxes[0] if drawn == "projected" else \
            _far_box(presentation.boxes, scan["image"]["width"], scan["image"]["height"])
        body["labels"] = [{"label": "firearm", "box": box}]
    response = api.verdict(scan["id"], body)
    assert response.status_code == 200, response.text
    outcome = response.json()
    assert outcome["tip"]["result"] == result and outcome["tip"]["boxes"] == presentation.boxes
    assert outcome["tip"]["label"] == presentation.label and "TIP" in outcome["tip"]["message"]
    assert outcome["status"] == "screened" and outcome["verdict"] is None
    # now the real scan, and its real verdict is stored as any other
    assert api.image(scan["id"]).content == real
    stored = api.verdict(scan["id"], {"decision": "cleared"}).json()
    assert stored["tip"] is None and stored["verdict"]["decision"] == "cleared"
    scored = api.presentation(scan["id"])
    assert scored is not None and scored.result == result and scored.decided_at is not None


def test_a_verdict_kept_over_a_new_sign_in_scores_what_the_first_key_saw(
        tip_on: Api) -> None:
    """Olga judges a projected image, her key stops working, Omar's key sends her verdict:
    it is scored as Olga's TIP test, not stored as the parcel's verdict."""
    api = tip_on
    scan = api.submit()
    api.image(scan["id"])                                            # shown to olga, projected
    olga = api.presentation(scan["id"])
    assert olga is not None and olga.projected
    outcome = api.verdict(scan["id"], {"decision": "threat_confirmed",
                                       "viewed_with_key": olga.key_id}, "omar").json()
    assert outcome["tip"]["result"] == "hit" and outcome["verdict"] is None
    assert api.presentation(scan["id"]).result == "hit"
    assert api.presentation(scan["id"], "omar") is None              # omar was never shown it
    # without viewed_with_key the same resend would have been stored as a real verdict
    stored = api.verdict(scan["id"], {"decision": "cleared"}, "omar").json()
    assert stored["tip"] is None and stored["verdict"]["decision"] == "cleared"


def test_tip_verdicts_are_never_seizures_nor_training_data(tip_on: Api) -> None:
    api = tip_on
    scan = api.submit()
    api.image(scan["id"])
    assert api.verdict(scan["id"], {"decision": "threat_confirmed"}).json()["tip"]["result"] \
        == "hit"
    with api.service.sessions() as session:
        verdicts = session.scalars(select(store.Verdict).where(
            store.Verdict.scan_id == scan["id"])).all()
    assert verdicts == []
    export = api.client.get("/v1/training-export", headers=api.h("engineer"))
    with zipfile.ZipFile(io.BytesIO(export.content)) as archive:
        names = {image["file_name"] for image in
                 json.loads(archive.read("annotations.json"))["images"]}
    assert f"{scan['id']}.png" not in names


def test_a_bad_label_on_a_projection_is_refused_as_on_a_real_scan(tip_on: Api) -> None:
    api = tip_on
    scan = api.submit()
    api.image(scan["id"])
    response = api.verdict(scan["id"], {"decision": "cleared", "labels": [
        {"label": "banana", "box": [0, 0, 4, 4]}]})
    assert_problem(response, 422, "banana")     # a bad body value, as on a scan
    assert api.presentation(scan["id"]).result is None          # still open


def test_hit_rates_per_operator(tip_on: Api) -> None:
    api = tip_on
    for name, decisions in (("olga", ("threat_confirmed", "cleared", "threat_confirmed")),
                            ("omar", ("cleared",))):
        for decision in decisions:
            scan = api.submit()
            api.image(scan["id"], name)
            assert api.verdict(scan["id"], {"decision": decision}, name).json()["tip"]
    everyone = {row["name"]: row for row in
                api.client.get("/v1/tip/stats", headers=api.h("admin")).json()["operators"]}
    assert {"olga", "omar"} <= set(everyone)
    for row in everyone.values():
        assert row["hits"] + row["misses"] == row["presented"] > 0
        assert row["hit_rate"] == pytest.approx(row["hits"] / row["presented"], abs=1e-4)
        assert row["last_at"]
    assert everyone["omar"]["misses"] >= 1
    own = api.client.get("/v1/tip/stats", headers=api.h("omar")).json()["operators"]
    assert [row["name"] for row in own] == ["omar"] and own[0] == everyone["omar"]
    assert_problem(api.client.get("/v1/tip/stats", headers=api.h("scanner")), 403, "operator")


def test_tip_settings_survive_a_restart(tmp_path: Path) -> None:
    settings = load_settings({}, home=tmp_path, model=fixed_bundle(), print_admin_key=False,
                             ort_threads=1)
    for enabled in (True, None):
        with TestClient(create_app(settings)) as client:
            key = store.create_key(client.app.state.service.sessions, "admin")
            if enabled:
                client.put("/v1/tip/settings", headers=bearer(key),
                           json={"enabled": True, "rate": 0.2})
            body = client.get("/v1/tip/settings", headers=bearer(key)).json()
            assert body["enabled"] is True and body["rate"] == 0.2
