"""Checkpoints: written atomically, so a run killed at any moment resumes from a whole file.

``RUN/last.pt`` holds everything needed to resume (model, EMA, optimiser, progress);
``RUN/best.pt`` holds the EMA weights with the best validation mAP50, which ``xscreen export``
turns into a bundle.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from xscreen.errors import UsageError
from xscreen.fileio import atomic_writer


def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """``torch.save`` to a temporary file in the same folder, fsync, then rename over ``path``."""
    with atomic_writer(path) as handle:
        torch.save(state, handle)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (UsageError when unreadable)."""
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"checkpoint {path} does not exist")
    try:
        state: dict[str, Any] = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as error:  # pickle and zip errors vary by torch version
        raise UsageError(f"checkpoint {path} cannot be read ({error}); delete it to start "
                         "afresh") from None
    return state


def best_weights_state(model_state: dict[str, Any], *, model_name: str, input_size: int,
                       classes: tuple[str, ...], extra: dict[str, Any]) -> dict[str, Any]:
    """What ``best.pt`` (and a bundle's ``weights.pt``) hold: weights plus how to rebuild them."""
    return {"model": model_state, "model_name": model_name, "input_size": input_size,
            "classes": list(classes), **extra}
