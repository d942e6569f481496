"""docs/integration.md's curl and Python examples, run as written against a live server."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from serving_support import Server, free_port, png_bytes, raw_pair, scan_rgb, tiff_bytes

pytestmark = pytest.mark.slow
GUIDE = Path(__file__).resolve().parents[2] / "docs" / "integration.md"


def blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", GUIDE.read_text(), flags=re.DOTALL)


@pytest.mark.skipif(shutil.which("curl") is None, reason="the curl examples need curl")
def test_guide_examples_run(tmp_path: Path) -> None:
    assert len(blocks("bash")) >= 3 and len(blocks("python")) >= 1
    work = tmp_path / "work"
    work.mkdir()
    (work / "scan.png").write_bytes(png_bytes(scan_rgb()))
    high, low = raw_pair()
    (work / "high.tif").write_bytes(tiff_bytes(high))
    (work / "low.tif").write_bytes(tiff_bytes(low))
    server = Server(tmp_path / "home", free_port())
    try:
        env = {**os.environ, "XSCREEN_URL": server.url, "XSCREEN_KEY": server.admin_key()}
        for script in blocks("bash"):
            result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=work,
                                    env=env, capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, (script, result.stdout, result.stderr)
        for script in blocks("python"):
            result = subprocess.run([sys.executable, "-c", script], cwd=work, env=env,
                                    capture_output=True, text=True, timeout=120)
            assert result.returncode == 0, (script, result.stdout, result.stderr)
            assert re.search(r"^[0-9a-f]{32} (low|medium|high) ", result.stdout, re.M)
        assert (work / "report.dcs").read_bytes()[128:132] == b"DICM"
        assert (work / "annotated.png").read_bytes().startswith(b"\x89PNG")
    finally:
        server.stop()


def test_the_python_example_needs_only_the_standard_library() -> None:
    """The `serve` install has no HTTP client: the guide's Python imports only the standard
    library (or says what to install)."""
    for script in blocks("python"):
        imported = set(re.findall(r"^\s*(?:import|from) ([a-zA-Z_]\w*)", script, re.M))
        assert imported and imported <= set(sys.stdlib_module_names), imported


def test_the_guide_names_every_queue_parameter_and_the_verdict_body() -> None:
    guide = GUIDE.read_text()
    for name in ("`status`", "`min_risk`", "`limit`", "`cursor`", "`next_cursor`",
                 "`decision`", "`labels`", "`note`", "threat_confirmed", "cleared"):
        assert name in guide, name
    assert re.search(r"\| 400 \|[^\n]*query parameter", guide)
