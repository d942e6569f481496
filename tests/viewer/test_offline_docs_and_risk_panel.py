"""In Chromium against a live ``xscreen serve``: ``/docs`` renders Swagger UI with every outside
request blocked (an air-gapped site), and the viewer shows how the risk score comes from the
points, the HS code as the reasons write it, and the finding that drives the risk.

The model is the viewer tests' fixed one: every scan holds a counterfeit-prone item at 0.90 and
a gold object at 0.62, so the most confident finding is not the most serious (gold)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
from viewer_support import LiveServer, browser, create_keys, fixed_bundle, submit, synthetic_scans

pytestmark = pytest.mark.slow
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, dict[str, str]]]:
    home = tmp_path_factory.mktemp("offline") / "home"
    keys = create_keys(home, {"olga": "operator", "lane": "scanner"})
    live = LiveServer(home, fixed_bundle())
    try:
        yield live, keys
    finally:
        live.stop()


@pytest.fixture(scope="module")
def chromium(server: Any) -> Iterator[Any]:
    yield from browser()


def offline_page(chromium: Any) -> tuple[Any, Any, list[str], list[str]]:
    """A page whose requests to any host but this machine are recorded and aborted."""
    context = chromium.new_context(viewport={"width": 1366, "height": 768})
    outside: list[str] = []
    errors: list[str] = []

    def route(request_route: Any) -> None:
        url = request_route.request.url
        host = urlparse(url).hostname
        if url.startswith(("data:", "blob:")) or host in LOCAL_HOSTS:
            request_route.continue_()
        else:
            outside.append(url)
            request_route.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("pageerror", lambda error: errors.append(str(error)))
    return context, page, outside, errors


def test_docs_render_with_no_outside_request(chromium: Any, server: Any) -> None:
    live, _ = server
    context, page, outside, errors = offline_page(chromium)
    try:
        page.goto(live.url + "/docs")
        page.wait_for_selector(".opblock-summary-path", timeout=30_000)
        paths = page.eval_on_selector_all(".opblock-summary-path",
                                          "nodes => nodes.map(n => n.textContent.trim())")
        assert "/v1/scans" in paths and "/v1/scans/{scan_id}/verdict" in paths
        assert page.title() == "xscreen API"
    finally:
        context.close()
    assert outside == [] and errors == []


def test_the_viewer_explains_the_score_and_shows_the_leading_finding(chromium: Any,
                                                                     server: Any) -> None:
    live, keys = server
    manifest = {"declaration_id": "CN22-4202", "description": "handbag", "hs_code": "420221",
                "declared_value": {"amount": 15, "currency": "USD"}, "item_count": 1}
    scan = submit(live.url, keys["lane"], synthetic_scans(1, seed=3)[0], manifest)
    context, page, outside, errors = offline_page(chromium)
    try:
        page.goto(live.url + "/")
        page.fill("#signin-key", keys["olga"])
        page.press("#signin-key", "Enter")
        row = f'#queue-list li[data-id="{scan["id"]}"]'
        page.wait_for_selector(row)
        # the queue names gold (severity 40), not the surer counterfeit item (severity 12)
        assert page.inner_text(f"{row} .finding") == "gold 0.62"
        page.click(row)
        page.wait_for_selector("#risk-explanation:not([hidden])")
        explanation = page.inner_text("#risk-explanation")
        shown_points = [float(text.lstrip("+")) for text in
                        page.eval_on_selector_all("#risk-factors .points",
                                                  "nodes => nodes.map(n => n.textContent)")]
        risk = scan["risk"]
        assert sum(shown_points) == pytest.approx(risk["points"], abs=0.05)
        assert f"add up to {risk['points']:g}" in explanation
        assert f"= {risk['score']:g}" in explanation
        manifest_panel = page.inner_text("#manifest")
        assert "4202.21" in manifest_panel and "420221" not in manifest_panel
        reasons = page.inner_text("#risk-factors")
        assert "420221" not in reasons
    finally:
        context.close()
    assert outside == [] and errors == []


def test_the_viewer_page_names_no_outside_host(server: Any) -> None:
    import re

    import httpx

    live, _ = server
    for path in ("/", "/docs"):
        html = httpx.get(live.url + path, timeout=10).text
        hosts = set(re.findall(r"https?://([^/'\"\s>:]+)", html))
        assert hosts <= LOCAL_HOSTS, (path, hosts)
    assert Path(live.home).is_dir()
