"""The service's settings: one frozen dataclass, read from ``XSCREEN_*`` environment variables
with command-line overrides. Unknown ``XSCREEN_`` variables are not errors (other tools share the
prefix), but a value of the wrong type is, naming the variable."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xscreen.errors import UsageError

PACKAGED_MODEL = Path(__file__).resolve().parents[1] / "models" / "default"


@dataclass(frozen=True)
class Settings:
    """Everything ``create_app`` needs. Paths relative to the working directory."""

    home: Path = Path("var")
    database_url: str = ""                 # empty: SQLite at $XSCREEN_HOME/xscreen.db
    model: Path | None = None              # None: the registry's active model, else the default
    max_upload_bytes: int = 64 * 1024 * 1024
    max_pixels: int = 64_000_000
    min_side: int = 16
    ort_threads: int | None = None
    max_batch: int = 8
    max_wait_ms: float = 2.0
    print_admin_key: bool = True
    recover_on_start: bool = True

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'xscreen.db').resolve()}"

    @property
    def blobs_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"


_ENV = {"XSCREEN_HOME": "home", "XSCREEN_DATABASE_URL": "database_url",
        "XSCREEN_MODEL": "model", "XSCREEN_MAX_UPLOAD_BYTES": "max_upload_bytes",
        "XSCREEN_MAX_PIXELS": "max_pixels", "XSCREEN_ORT_THREADS": "ort_threads",
        "XSCREEN_MAX_BATCH": "max_batch", "XSCREEN_MAX_WAIT_MS": "max_wait_ms"}


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from the environment (``os.environ`` by default), then ``overrides`` (None
    values are ignored, so argparse defaults can be passed straight through)."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    types = {f.name: f.type for f in dataclasses.fields(Settings)}
    for variable, name in _ENV.items():
        if env.get(variable, "") != "":
            values[name] = _convert(env[variable], str(types[name]), variable)
    unknown = sorted(set(overrides) - set(types))
    if unknown:
        raise UsageError(f"unknown settings {', '.join(unknown)}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    for name in ("home", "model"):
        if isinstance(values.get(name), str):
            values[name] = Path(values[name])
    return Settings(**values)


def _convert(text: str, kind: str, variable: str) -> Any:
    try:
        if "int" in kind:
            return int(text)
        if "float" in kind:
            return float(text)
    except ValueError:
        raise UsageError(f"{variable}={text!r} must be a number") from None
    return text
