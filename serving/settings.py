"""The service's settings: a frozen pydantic-settings model read from ``XSCREEN_*`` environment
variables (``XSCREEN_MAX_BATCH`` sets ``max_batch``), with command-line overrides on top.

Unknown ``XSCREEN_`` variables are not errors (other tools share the prefix, e.g. the client's
``XSCREEN_URL``), but a value of the wrong type is, naming the variable:
``XSCREEN_MAX_BATCH='many' must be a whole number``. No ``.env`` file or secrets folder is read.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from xscreen.errors import UsageError

PACKAGED_MODEL = Path(__file__).resolve().parents[1] / "models" / "default"
ENV_PREFIX = "XSCREEN_"


class Settings(BaseSettings):
    """Everything ``create_app`` needs. Paths relative to the working directory.

    Not :class:`xscreen.typedconfig.Strict`: environment values are text by nature, so ``"16"``
    is read as the number 16 here; ``"many"`` is still refused."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, env_ignore_empty=True,
                                      extra="forbid", frozen=True)

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
    # every this many seconds, scans accepted longer ago but not screened (their result missed
    # a database that was down) are screened again (serving/recovery.py)
    recovery_interval_s: float = 30.0

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

    @classmethod
    def settings_customise_sources(
            cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # keyword arguments over XSCREEN_* variables; never a .env file or a secrets folder
        return init_settings, env_settings


class _Environment(EnvSettingsSource):
    """pydantic-settings' reading of ``XSCREEN_*`` variables, from a given mapping (tests pass
    their own, so the developer's environment cannot leak in)."""

    def __init__(self, environ: Mapping[str, str]) -> None:
        super().__init__(Settings)
        # keyed as EnvSettingsSource keys os.environ (case-insensitive: lower case); an empty
        # variable counts as unset
        self.env_vars = {name.lower(): value for name, value in environ.items() if value != ""}


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from the environment (``os.environ`` by default), then ``overrides`` (None
    values are ignored, so argparse defaults can be passed straight through)."""
    unknown = sorted(set(overrides) - set(Settings.model_fields))
    if unknown:
        raise UsageError(f"unknown settings {', '.join(unknown)}; known: "
                         f"{', '.join(Settings.model_fields)}")
    given = {name: value for name, value in overrides.items() if value is not None}
    defaults = {name: field.get_default(call_default_factory=True)
                for name, field in Settings.model_fields.items()}
    values = {**defaults, **_Environment(os.environ if env is None else env)(), **given}
    try:
        # every field given: os.environ, which Settings() reads as well, has nothing to add
        return Settings(**values)
    except ValidationError as error:
        problems = [_problem(problem, given) for problem in error.errors(include_url=False)]
        raise UsageError("invalid settings: " + "; ".join(problems)) from None


EXPECTED = {"bool_parsing": "true or false", "bool_type": "true or false",
            "int_parsing": "a whole number", "int_type": "a whole number",
            "int_from_float": "a whole number", "float_parsing": "a number",
            "float_type": "a number"}
"""What a wrongly typed setting must be, in words, by pydantic's error type."""


def _problem(problem: ErrorDetails, given: Mapping[str, Any]) -> str:
    """One bad setting: the variable (or the override) that set it, its value, what it must be."""
    field = str(problem["loc"][0]) if problem["loc"] else ""
    source = field if field in given else f"{ENV_PREFIX}{field.upper()}"
    expected = EXPECTED.get(problem["type"])
    if expected:
        return f"{source}={problem['input']!r} must be {expected}"
    return f"{source}={problem['input']!r}: {problem['msg']}"
