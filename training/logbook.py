"""A run's CSV log (``RUN/log.csv``) and its training-curve plot (``RUN/curves.png``)."""

from __future__ import annotations

import csv
import math
from pathlib import Path

FIELDS = ["epoch", "step", "loss", "loss_class", "loss_box", "loss_centerness", "lr",
          "val_map50", "images_per_s", "elapsed_s"]


def append_row(path: str | Path, row: dict[str, float | int | str]) -> None:
    """Append one row (missing fields stay empty), writing the header to a new file."""
    path = Path(path)
    new = not path.exists()
    with path.open("a", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=FIELDS, extrasaction="ignore")
        if new:
            writer.writeheader()
        writer.writerow({key: _format(value) for key, value in row.items()})


def _format(value: float | int | str) -> str:
    if isinstance(value, float):
        return "" if math.isnan(value) else f"{value:.6g}"
    return str(value)


def read_rows(path: str | Path) -> list[dict[str, str]]:
    """The rows of a log written by :func:`append_row`."""
    with Path(path).open(newline="") as handle:
        return list(csv.DictReader(handle))


def plot_curves(log_path: str | Path, out_path: str | Path) -> None:
    """Losses and learning rate against step, validation mAP50 against step, as one PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = read_rows(log_path)
    figure, (losses, accuracy) = plt.subplots(1, 2, figsize=(11, 4))
    for name in ("loss", "loss_class", "loss_box", "loss_centerness"):
        points = [(int(r["step"]), float(r[name])) for r in rows if r.get(name)]
        if points:
            losses.plot(*zip(*points, strict=True), label=name)
    losses.set_xlabel("step")
    if losses.lines:
        losses.set_yscale("log")
        losses.legend()
    points = [(int(r["step"]), float(r["val_map50"])) for r in rows if r.get("val_map50")]
    if points:
        accuracy.plot(*zip(*points, strict=True), marker="o", label="val mAP50")
        accuracy.legend()
    accuracy.set_xlabel("step")
    accuracy.set_ylim(0, 1)
    figure.tight_layout()
    figure.savefig(out_path, dpi=90)
    plt.close(figure)
