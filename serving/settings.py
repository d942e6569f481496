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
    risk_config: Path | None = None        # None: the packaged serving/risk.yaml
    max_upload_bytes: int = 64 * 1024 * 1024
    max_pixels: int = 64_000_000
    min_side: int = 16
    ort_threads: int | None = None         # ONNX Runtime threads in all (None: every core)
    inference_workers: int = 0             # batches run side by side (0: 2 with >= 2 threads)
    ort_spinning: bool = False             # busy-waiting ORT threads starve request handling
    max_batch: int = 8
    max_wait_ms: float = 2.0
    # scans screened at once (decoding, storing, waiting for or in inference); one more is
    # refused with 503 + Retry-After. Below the HTTP thread pool (40), so refusals stay quick
    max_queue: int = 32
    print_admin_key: bool = True
    recover_on_start: bool = True

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{(self.home / 'xscreen.db').resolve()}"

    def inference_layout(self) -> tuple[int, int]:
        """(workers, intra-op threads per run): the ORT threads shared out among the workers."""
        threads = self.ort_threads or os.cpu_count() or 1
        workers = self.inference_workers or (2 if threads >= 2 else 1)
        return workers, max(1, threads // workers)

    @property
    def blobs_dir(self) -> Path:
        return self.home / "blobs"

    @property
    def models_dir(self) -> Path:
        return self.home / "models"


_ENV = {"XSCREEN_HOME": "home", "XSCREEN_DATABASE_URL": "database_url",
        "XSCREEN_MODEL": "model", "XSCREEN_RISK_CONFIG": "risk_config",
        "XSCREEN_MAX_UPLOAD_BYTES": "max_upload_bytes",
        "XSCREEN_MAX_PIXELS": "max_pixels", "XSCREEN_ORT_THREADS": "ort_threads",
        "XSCREEN_MAX_BATCH": "max_batch", "XSCREEN_MAX_WAIT_MS": "max_wait_ms",
        "XSCREEN_ORT_SPINNING": "ort_spinning", "XSCREEN_INFERENCE_WORKERS": "inference_workers",
        "XSCREEN_MAX_QUEUE": "max_queue"}


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
    for name in ("home", "model", "risk_config"):
        if isinstance(values.get(name), str):
            values[name] = Path(values[name])
    return Settings(**values)


def _convert(text: str, kind: str, variable: str) -> Any:
    if kind == "bool":
        flag = text.strip().lower()
        if flag not in ("1", "0", "true", "false", "yes", "no", "on", "off"):
            raise UsageError(f"{variable}={text!r} must be true or false")
        return flag in ("1", "true", "yes", "on")
    try:
        if "int" in kind:
            return int(text)
        if "float" in kind:
            return float(text)
    except ValueError:
        raise UsageError(f"{variable}={text!r} must be a number") from None
    return text
