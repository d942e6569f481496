"""Screenshots of the operator viewer for docs/viewer.md and the README, taken at 1366x768 in
Debian's Chromium on a live ``xscreen serve`` with the shipped model and synthesiser parcels.
Also prints how long opening a scan took.

    .venv/bin/python docs/viewer_screenshots.py [--out docs/images/viewer] [--model models/default]

Needs chromium (``bash .ci/chromium.sh``) and the dev extra (playwright). About a minute.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "tests"), str(ROOT / "tests" / "viewer")]

from viewer_support import (  # noqa: E402  (the tests' helpers, found through sys.path)
    CHROMIUM_ARGS,
    LiveServer,
    chromium_path,
    create_keys,
    submit,
)

PARCELS: list[dict[str, Any]] = [
    {"declaration_id": "CN22-4471", "description": "phone case", "item_count": 1,
     "declared_value": {"amount": 6, "currency": "USD"}, "declared_weight_kg": 0.3,
     "shipper": {"name": "Shenzhen Bright Trading Co", "country": "CN"},
     "consignee": {"name": "A. Moreau", "address": "12 rue des Lilas, Lyon"},
     "origin_country": "CN", "hs_code": "392690", "platform": "marketplace",
     "mail_order": True},
    {"declaration_id": "CN22-4472", "description": "gift", "item_count": 2,
     "declared_value": {"amount": 15, "currency": "USD"}, "declared_weight_kg": 1.2,
     "shipper": {"name": "Golden Dragon Trading Ltd", "country": "HK"},
     "consignee": {"name": "J. Smith", "address": "1 High Street, Leeds"}, "mail_order": True},
    {"declaration_id": "CN23-0918", "description": "kitchen tools", "item_count": 4,
     "declared_value": {"amount": 48, "currency": "EUR"}, "declared_weight_kg": 2.5,
     "shipper": {"name": "Haushalt Direkt GmbH", "country": "DE"}, "hs_code": "821599"},
    {"declaration_id": "CN22-4475", "description": "sneakers", "item_count": 1,
     "declared_value": {"amount": 20, "currency": "USD"}, "declared_weight_kg": 0.9,
     "shipper": {"name": "Putian Sports Goods", "country": "CN"}, "mail_order": True},
    {"declaration_id": "CN22-4476", "description": "books", "item_count": 3,
     "declared_value": {"amount": 35, "currency": "GBP"}, "declared_weight_kg": 1.8,
     "shipper": {"name": "Oxford Book Traders", "country": "GB"}},
    {"declaration_id": "CN22-4477", "description": "samples", "item_count": 10,
     "declared_value": {"amount": 5, "currency": "USD"}, "declared_weight_kg": 1.0,
     "shipper": {"name": "Yiwu Sample Express", "country": "CN"}, "mail_order": True},
    {"declaration_id": "CN23-1120", "description": "spare parts", "item_count": 2,
     "declared_value": {"amount": 90, "currency": "USD"}, "declared_weight_kg": 3.0,
     "shipper": {"name": "Ankara Makina", "country": "TR"}, "hs_code": "848790"},
    {"declaration_id": "CN22-4480", "description": "clothes", "item_count": 5,
     "declared_value": {"amount": 60, "currency": "USD"}, "declared_weight_kg": 2.0,
     "shipper": {"name": "Dhaka Apparel Export", "country": "BD"}},
    {"declaration_id": "CN22-4481", "description": "jewellery", "item_count": 1,
     "declared_value": {"amount": 30, "currency": "USD"}, "declared_weight_kg": 0.4,
     "shipper": {"name": "Dubai Gold Souk Trading", "country": "AE"}},
    {"declaration_id": "CN22-4482", "description": "vitamins", "item_count": 6,
     "declared_value": {"amount": 25, "currency": "USD"}, "declared_weight_kg": 1.1,
     "shipper": {"name": "Healthy Life Pharma", "country": "IN"}, "hs_code": "300450"},
]


def scans(count: int, seed: int) -> list[np.ndarray]:
    from xscreen.datasets.scene import SceneConfig, synthesise_scan

    config = SceneConfig(width=1000, height=700, palettes=(("classic", 0.6), ("vendor_b", 0.2),
                                                           ("vendor_c", 0.2)))
    return [synthesise_scan(np.random.default_rng([seed, i]), config).rgb for i in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "images" / "viewer"))
    parser.add_argument("--model", default=str(ROOT / "models" / "default"))
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    browser_path = chromium_path()
    if browser_path is None:
        raise SystemExit("no chromium: run 'bash .ci/chromium.sh' first")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="xscreen-shots-")) / "home"
    keys = create_keys(home, {"admin": "admin", "olga": "operator", "omar": "operator",
                              "lane-3": "scanner"})
    server = LiveServer(home, Path(args.model))
    try:
        submitted = [submit(server.url, keys["lane-3"], rgb, manifest)
                     for rgb, manifest in zip(scans(len(PARCELS), args.seed), PARCELS,
                                              strict=True)]
        shoot(server.url, keys, submitted, out, browser_path)
    finally:
        server.stop()
    return 0


def shoot(url: str, keys: dict[str, str], submitted: list[dict[str, Any]], out: Path,
          browser_path: str) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=browser_path, args=CHROMIUM_ARGS)
        page = tab(browser, url)
        page.wait_for_selector("#signin-view:not([hidden])")
        page.fill("#signin-key", "xsk_9fQ2-expired-key")
        page.press("#signin-key", "Enter")
        page.wait_for_selector("#signin-error:not([hidden])")
        page.screenshot(path=str(out / "sign-in.png"))
        sign_in(page, keys["olga"])
        report_open_times(page, submitted)
        busiest = max(submitted, key=lambda scan: (len(scan["detections"]),
                                                   scan["risk"]["score"]))
        open_scan(page, busiest["id"])
        page.screenshot(path=str(out / "review.png"))
        for key in ("m", "h"):
            page.keyboard.press(key)
        page.screenshot(path=str(out / "image-tools.png"))
        page.keyboard.press("r")
        draw_a_box(page)
        page.screenshot(path=str(out / "draw-missed.png"))
        page.keyboard.press("Escape")
        page.keyboard.press("?")
        page.wait_for_selector("#shortcuts[open]")
        page.screenshot(path=str(out / "shortcuts.png"))
        page.keyboard.press("Escape")
        tip_screens(browser, url, keys, submitted, out)
        browser.close()


def tab(browser: Any, url: str) -> Any:
    page = browser.new_context(viewport={"width": 1366, "height": 768}).new_page()
    page.goto(url + "/")
    return page


def sign_in(page: Any, key: str) -> None:
    page.fill("#signin-key", key)
    page.press("#signin-key", "Enter")
    page.wait_for_selector("#queue-list li[data-id]")
    page.wait_for_function("xscreenViewer.state.open && xscreenViewer.state.open.loaded")


def open_scan(page: Any, scan_id: str) -> float:
    before = page.evaluate("xscreenViewer.state.timings.length")
    page.click(f'#queue-list li[data-id="{scan_id}"]')
    page.wait_for_function("([id, n]) => xscreenViewer.state.timings.slice(n).some(t => "
                           "t.scan === id) && xscreenViewer.state.open.loaded && "
                           "!xscreenViewer.view.animating", arg=[scan_id, before])
    ms: float = page.evaluate("([id, n]) => xscreenViewer.state.timings.slice(n)"
                              ".find(t => t.scan === id).ms", [scan_id, before])
    return ms


def report_open_times(page: Any, submitted: list[dict[str, Any]]) -> None:
    times = [open_scan(page, scan["id"]) for scan in submitted]
    print(f"open a scan (click to painted image, 1000x700): {statistics.median(times):.0f} ms "
          f"median, {max(times):.0f} ms max over {len(times)}: "
          f"{', '.join(f'{t:.0f}' for t in times)}")


def draw_a_box(page: Any) -> None:
    page.keyboard.press("d")
    stage = page.locator("#stage").bounding_box()
    page.mouse.move(stage["x"] + 420, stage["y"] + 260)
    page.mouse.down()
    page.mouse.move(stage["x"] + 520, stage["y"] + 340, steps=5)
    page.mouse.up()
    page.wait_for_selector("#class-picker:not([hidden])")


def tip_screens(browser: Any, url: str, keys: dict[str, str], submitted: list[dict[str, Any]],
                out: Path) -> None:
    """TIP on: two operators meet projected threats; the outcome and the admin's page."""
    admin = tab(browser, url)
    sign_in(admin, keys["admin"])
    admin.click("#nav-tip")
    admin.wait_for_selector("#tip-settings:not([hidden])")
    admin.check("#tip-enabled")
    admin.fill("#tip-rate", "100")
    admin.click("#tip-settings button[type=submit]")
    admin.wait_for_function("document.getElementById('tip-message').textContent.includes('on')")
    for name, verdicts in (("olga", "tct"), ("omar", "cct")):
        page = tab(browser, url)
        sign_in(page, keys[name])
        for index, key in enumerate(verdicts):
            open_scan(page, submitted[-1 - index]["id"])
            page.keyboard.press(key)
            page.wait_for_selector("#tip-result:not([hidden])")
            if name == "olga" and key == "c":
                page.screenshot(path=str(out / "tip-test.png"))
            page.keyboard.press("Enter")
            page.wait_for_function("xscreenViewer.state.open.loaded")
    admin.fill("#tip-rate", "3")
    admin.click("#tip-settings button[type=submit]")
    admin.reload()
    admin.wait_for_selector("#tip-table tr[data-operator]")
    admin.screenshot(path=str(out / "tip-page.png"))


if __name__ == "__main__":
    raise SystemExit(main())
