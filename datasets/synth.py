"""Write a synthetic COCO dataset: ``images/`` (pseudo-colour PNG), ``raw/`` (two-page 16-bit
TIFF: page 0 high, page 1 low) and ``annotations.json`` (CONTRACT "Datasets").

Image ``i`` of a dataset with seed ``s`` is made from its own generator ``default_rng([s, i])``,
so the bytes do not depend on the number of workers or on the order in which they finish.
``annotations.json`` is written last and atomically: an interrupted run leaves none.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import platform
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import tifffile
from tqdm import tqdm

from xscreen import CLASSES, __version__
from xscreen.datasets.coco import categories, prepare_output_folder, write_annotations
from xscreen.datasets.scene import Scan, SceneConfig, synthesise_scan


@dataclass(frozen=True)
class SynthJob:
    """Everything a worker needs to make image ``index``."""

    out: Path
    seed: int
    index: int
    config: SceneConfig


def image_stem(index: int) -> str:
    return f"{index:06d}"


def make_image(job: SynthJob) -> dict[str, Any]:
    """Synthesise, write the PNG and raw TIFF of one image; return its COCO metadata."""
    scan = synthesise_scan(np.random.default_rng([job.seed, job.index]), job.config)
    stem = image_stem(job.index)
    write_png(job.out / "images" / f"{stem}.png", scan.rgb)
    write_raw_tiff(job.out / "raw" / f"{stem}.tiff", scan.high, scan.low)
    return _image_entry(job.index, stem, scan)


def write_png(path: Path, rgb: np.ndarray) -> None:
    ok, data = cv2.imencode(".png", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    if not ok:
        raise OSError(f"could not encode {path}")
    path.write_bytes(data.tobytes())


def write_raw_tiff(path: Path, high: np.ndarray, low: np.ndarray) -> None:
    """Two-page 16-bit TIFF, page 0 high energy, page 1 low energy (CONTRACT "Images").

    Uncompressed on purpose: photon noise leaves 16-bit scans nearly incompressible (zlib saves
    a third) and compressing would cost more time than the rest of the scan's writing.
    """
    with tifffile.TiffWriter(path) as tif:
        tif.write(high, photometric="minisblack", description="high")
        tif.write(low, photometric="minisblack", description="low")


def _image_entry(index: int, stem: str, scan: Scan) -> dict[str, Any]:
    height, width = scan.rgb.shape[:2]
    annotations = [{
        "category_id": CLASSES.index(a.label) + 1, "bbox": a.box, "area": a.box[2] * a.box[3],
        "iscrowd": 0, "kind": a.kind, "material": a.material, "mass_g": a.mass_g,
        "concealment": a.concealment, "source": a.source,
        **({"pose": list(a.pose)} if a.pose is not None else {}),
    } for a in scan.annotations]
    image = {"id": index + 1, "file_name": f"{stem}.png", "width": width, "height": height,
             "raw": f"{stem}.tiff", "palette": scan.palette, "pitch_mm": round(scan.pitch_mm, 4),
             "kvp": scan.scanner.kvp}
    return {"image": image, "annotations": annotations}


def write_dataset(out: str | Path, count: int, seed: int = 0, workers: int = 1,
                  config: SceneConfig = SceneConfig(), progress: bool = True) -> Path:
    """Synthesise ``count`` scans into the empty or new folder ``out``."""
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    root = prepare_output_folder(out)
    (root / "images").mkdir()
    (root / "raw").mkdir()
    jobs = [SynthJob(root, seed, i, config) for i in range(count)]
    bar = tqdm(total=count, desc="synth", unit="img", disable=not progress)
    entries = []
    if workers <= 1:
        for job in jobs:
            entries.append(make_image(job))
            bar.update()
    else:
        with _single_threaded_env(), ProcessPoolExecutor(
                max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                initializer=_init_worker) as pool:
            for entry in pool.map(make_image, jobs, chunksize=2):
                entries.append(entry)
                bar.update()
    bar.close()
    write_annotations(root, _coco(entries, seed, count, config))
    return root


@contextlib.contextmanager
def _single_threaded_env() -> Iterator[None]:
    """Workers each get one BLAS/OpenMP thread: N workers on N cores, not N x N threads."""
    names = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
    saved = {name: os.environ.get(name) for name in names}
    os.environ.update({name: "1" for name in names})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _init_worker() -> None:
    """Pin OpenCV to one thread, warm the spectrum and calibration caches, and end with the
    parent: a worker whose ``xscreen synth`` was killed would otherwise go on writing scans into
    the output folder (or wait for work forever)."""
    from xscreen.datasets.colour import calibrate
    from xscreen.datasets.physics import get_scanner
    from xscreen.datasets.scene import SCANNERS

    threading.Thread(target=_exit_with_parent, args=(os.getppid(),), daemon=True,
                     name="exit-with-parent").start()
    cv2.setNumThreads(1)
    for config in SCANNERS:
        get_scanner(config)
        calibrate(config)


def _exit_with_parent(parent: int, every_s: float = 0.5) -> None:
    """Leave the process at once when it is orphaned (its parent pid changes)."""
    while os.getppid() == parent:
        time.sleep(every_s)
    os._exit(1)


def _coco(entries: list[dict[str, Any]], seed: int, count: int,
          config: SceneConfig) -> dict[str, Any]:
    annotations: list[dict[str, Any]] = []
    for entry in entries:
        for ann in entry["annotations"]:
            annotations.append({"id": len(annotations) + 1, "image_id": entry["image"]["id"],
                                **ann})
    info = {"description": "xscreen synthetic dual-energy parcel scans", "version": __version__,
            "seed": seed, "count": count, "scene": json.loads(json.dumps(asdict(config))),
            "generator": f"xscreen {__version__} (python {platform.python_version()})"}
    return {"info": info, "images": [e["image"] for e in entries], "annotations": annotations,
            "categories": categories()}
