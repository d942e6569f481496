"""The container files (``Dockerfile``, ``compose.yaml``, ``.dockerignore``) agree with each other
and with the service's settings: every ``XSCREEN_*`` variable they or docs/deploy.md set is one
that ``load_settings`` reads, and the paths, port and database URL line up. (Building and running
the image needs a container engine; docs/deploy.md says what was run.)"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

from xscreen.errors import UsageError
from xscreen.serving.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
COMPOSE: dict[str, Any] = yaml.safe_load((ROOT / "compose.yaml").read_text())


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${NAME}``, ``${NAME:-default}`` and ``${NAME:?error}``, from ``env``."""
    def one(match: re.Match[str]) -> str:
        name, _, rest = match.group(1).partition(":")
        return env.get(name, rest[1:] if rest.startswith("-") else "")
    return re.sub(r"\$\{([^}]+)\}", one, value)


def dockerfile_values(instruction: str) -> list[str]:
    return [m.group(1).strip() for m in re.finditer(
        rf"^{instruction}\s+(.+?)$", DOCKERFILE, re.MULTILINE)]


def changes_settings(variable: str) -> bool:
    """Whether ``variable`` is one that ``load_settings`` reads (some value of it changes the
    settings; an unknown ``XSCREEN_`` variable is ignored by design)."""
    for value in ("3", "true"):
        try:
            if load_settings(env={variable: value}) != load_settings(env={}):
                return True
        except UsageError:                 # the wrong kind of value for this setting
            continue
    return False


def service_env(name: str) -> dict[str, str]:
    env = {"XSCREEN_DB_PASSWORD": "pw"}
    variables = COMPOSE["services"][name]["environment"]
    return {k: interpolate(str(v), env) for k, v in variables.items()}


def test_the_compose_file_has_the_service_postgresql_and_volumes() -> None:
    services = COMPOSE["services"]
    assert set(services) == {"db", "xscreen"}
    assert services["xscreen"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["db"]["image"].startswith("postgres:")
    assert "pg_isready" in " ".join(services["db"]["healthcheck"]["test"])
    declared = set(COMPOSE["volumes"])
    for name in services:
        for mount in services[name]["volumes"]:
            assert mount.split(":")[0] in declared         # named volumes, not host folders


@pytest.mark.parametrize("variable", sorted(
    {*service_env("xscreen"),
     *re.findall(r"#\s*(XSCREEN_[A-Z_]+):", (ROOT / "compose.yaml").read_text()),
     *re.findall(r"`(XSCREEN_[A-Z_]+)`", (ROOT / "docs" / "deploy.md").read_text())}))
def test_every_variable_set_or_documented_is_a_setting(variable: str) -> None:
    assert changes_settings(variable), f"{variable} is not read by serving/settings.py"


def test_a_misspelt_variable_would_be_caught() -> None:
    assert not changes_settings("XSCREEN_DATABASE_ULR")


def test_the_database_url_points_at_the_db_service() -> None:
    env, db = service_env("xscreen"), service_env("db")
    url = make_url(env["XSCREEN_DATABASE_URL"])
    assert url.drivername == "postgresql+psycopg"          # psycopg 3, the serve extra's driver
    assert (url.host, url.port) == ("db", 5432)
    assert (url.username, url.password, url.database) == (
        db["POSTGRES_USER"], db["POSTGRES_PASSWORD"], db["POSTGRES_DB"])
    settings = load_settings(env=env)
    assert settings.resolved_database_url == env["XSCREEN_DATABASE_URL"]


def test_home_volume_and_port_agree_between_dockerfile_and_compose() -> None:
    home = service_env("xscreen")["XSCREEN_HOME"]
    assert f"XSCREEN_HOME={home}" in DOCKERFILE
    assert dockerfile_values("VOLUME") == [f'["{home}"]']
    mounts = [m.split(":")[1] for m in COMPOSE["services"]["xscreen"]["volumes"]]
    assert mounts == [home]
    assert load_settings(env=service_env("xscreen")).blobs_dir == Path(home) / "blobs"
    port = dockerfile_values("EXPOSE")[0]
    assert COMPOSE["services"]["xscreen"]["ports"] == [f"{port}:{port}"]
    assert f'"--port", "{port}"' in dockerfile_values("CMD")[0]
    assert f"127.0.0.1:{port}/healthz" in DOCKERFILE


def test_the_image_is_the_serve_install_as_a_non_root_user() -> None:
    assert '".[serve]"' in DOCKERFILE and not re.search(r"\[(train|dev|synth)", DOCKERFILE)
    assert dockerfile_values("USER") == ["xscreen"]
    assert "--uid ${XSCREEN_UID}" in DOCKERFILE and "ARG XSCREEN_UID=10001" in DOCKERFILE
    assert "HEALTHCHECK" in DOCKERFILE
    assert "ARG PYTHON_IMAGE=python:3.11-slim" in DOCKERFILE


def test_the_build_context_leaves_out_state_and_tools() -> None:
    ignored = (ROOT / ".dockerignore").read_text().split()
    for entry in (".git", ".venv", "var", "tests", "benchmarks"):
        assert entry in ignored
    copied = [line.split()[1] for line in dockerfile_values("COPY") if not line.startswith("--")]
    assert not any(entry in ignored for entry in copied)   # nothing copied that is ignored
