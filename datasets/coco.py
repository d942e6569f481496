"""COCO detection datasets as the contract lays them out.

A dataset folder holds ``images/``, ``raw/`` and ``annotations.json``.

``load_dataset`` validates what it reads and says exactly what is wrong (unknown class, a box
outside its image, a missing file), so that training and evaluation never start on broken data.
``write_annotations`` replaces ``annotations.json`` atomically: an interrupted run never leaves a
half-written file.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from xscreen import CLASSES
from xscreen.errors import DatasetError
from xscreen.fileio import atomic_writer


def categories(classes: tuple[str, ...] = CLASSES) -> list[dict[str, Any]]:
    """COCO categories for the contract's classes: ids 1..N in model-index order."""
    return [{"id": i + 1, "name": name, "supercategory": "threat"}
            for i, name in enumerate(classes)]


@dataclass
class ImageRecord:
    """One image of a dataset and its boxes (``[x, y, w, h]`` pixels) with class indices."""

    id: int
    file_name: str
    width: int
    height: int
    boxes: list[list[float]] = field(default_factory=list)
    labels: list[int] = field(default_factory=list)
    extras: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Dataset:
    """A validated COCO dataset folder."""

    root: Path
    classes: tuple[str, ...]
    images: list[ImageRecord]
    coco: dict[str, Any]

    def image_path(self, record: ImageRecord) -> Path:
        return self.root / "images" / record.file_name

    def raw_path(self, record: ImageRecord) -> Path:
        return self.root / "raw" / (Path(record.file_name).stem + ".tiff")


def load_dataset(root: str | Path, classes: tuple[str, ...] = CLASSES,
                 check_files: bool = True, coco: dict[str, Any] | None = None) -> Dataset:
    """Read and validate ``root/annotations.json``; raise :class:`DatasetError` with the fix.

    ``coco``: its content, when the caller has already read it (read once)."""
    root = Path(root)
    path = root / "annotations.json"
    if not root.is_dir():
        raise DatasetError(f"dataset folder {root} does not exist")
    if not path.is_file():
        raise DatasetError(f"{path} is missing: a dataset folder holds images/ and "
                           "annotations.json (COCO); make one with 'xscreen synth' or "
                           "'xscreen import'")
    try:
        coco = json.loads(path.read_text()) if coco is None else coco
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise DatasetError(f"{path} is not valid JSON: {error}") from None
    for key in ("images", "annotations", "categories"):
        if not isinstance(coco.get(key), list):
            raise DatasetError(f"{path}: '{key}' must be a list (COCO detection format)")
    category_to_index = _category_map(coco["categories"], classes, path)
    records = _image_records(coco["images"], path)
    by_id = {r.id: r for r in records}
    for ann in coco["annotations"]:
        _add_annotation(ann, by_id, category_to_index, path)
    if check_files:
        missing = [r.file_name for r in records if not (root / "images" / r.file_name).is_file()]
        if missing:
            raise DatasetError(f"{len(missing)} image(s) listed in {path} are not in "
                               f"{root / 'images'}, e.g. {missing[0]}")
    return Dataset(root=root, classes=classes, images=records, coco=coco)


def _category_map(cats: list[dict[str, Any]], classes: tuple[str, ...],
                  path: Path) -> dict[int, int]:
    mapping = {}
    for cat in cats:
        name = cat.get("name")
        if name not in classes:
            raise DatasetError(f"{path}: unknown class {name!r}; xscreen's classes are "
                               f"{', '.join(classes)} (map yours onto them when importing)")
        mapping[int(cat["id"])] = classes.index(name)
    return mapping


def _image_records(images: list[dict[str, Any]], path: Path) -> list[ImageRecord]:
    records = []
    seen: set[int] = set()
    for img in images:
        try:
            record = ImageRecord(int(img["id"]), str(img["file_name"]), int(img["width"]),
                                 int(img["height"]))
        except (KeyError, TypeError, ValueError):
            raise DatasetError(f"{path}: image entry {img!r} needs id, file_name, width and "
                               "height") from None
        if record.id in seen:
            raise DatasetError(f"{path}: image id {record.id} appears twice")
        if record.width < 1 or record.height < 1:
            raise DatasetError(f"{path}: image {record.file_name} has size "
                               f"{record.width}x{record.height}")
        seen.add(record.id)
        records.append(record)
    return records


def _add_annotation(ann: dict[str, Any], by_id: dict[int, ImageRecord],
                    category_to_index: dict[int, int], path: Path) -> None:
    image = by_id.get(int(ann.get("image_id", -1)))
    if image is None:
        raise DatasetError(f"{path}: annotation {ann.get('id')} refers to unknown image "
                           f"{ann.get('image_id')}")
    if int(ann.get("category_id", -1)) not in category_to_index:
        raise DatasetError(f"{path}: annotation {ann.get('id')} has unknown category_id "
                           f"{ann.get('category_id')}")
    box = ann.get("bbox")
    if not (isinstance(box, list) and len(box) == 4
            and all(isinstance(v, int | float) for v in box)):
        raise DatasetError(f"{path}: annotation {ann.get('id')} bbox must be [x, y, width, "
                           f"height], got {box!r}")
    x, y, w, h = (float(v) for v in box)
    tolerance = 1.0
    if w <= 0 or h <= 0 or x < -tolerance or y < -tolerance \
            or x + w > image.width + tolerance or y + h > image.height + tolerance:
        raise DatasetError(f"{path}: annotation {ann.get('id')} box {box} does not lie inside "
                           f"its {image.width}x{image.height} image {image.file_name}")
    image.boxes.append([x, y, w, h])
    image.labels.append(category_to_index[int(ann["category_id"])])
    image.extras.append({k: v for k, v in ann.items()
                         if k not in ("id", "image_id", "category_id", "bbox", "area", "iscrowd")})


def write_annotations(root: str | Path, coco: dict[str, Any]) -> Path:
    """Write ``root/annotations.json`` atomically (temporary file, fsync, rename)."""
    target = Path(root) / "annotations.json"
    with atomic_writer(target, "w") as handle:
        json.dump(coco, handle, indent=1)
    return target


def prepare_output_folder(out: str | Path) -> Path:
    """Create ``out`` (or accept it empty) and check it is writable; else OutputExistsError."""
    from xscreen.errors import OutputExistsError

    out = Path(out)
    if out.exists():
        if not out.is_dir():
            raise OutputExistsError(f"{out} exists and is not a folder; choose a new output path")
        if any(out.iterdir()):
            raise OutputExistsError(f"{out} is not empty; choose a new folder or empty it first")
    else:
        try:
            out.mkdir(parents=True)
        except OSError as error:
            raise OutputExistsError(f"cannot create {out}: {error.strerror}") from None
    if not os.access(out, os.W_OK):
        raise OutputExistsError(f"{out} is not writable; choose a folder you can write to")
    return out
