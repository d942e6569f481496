"""COCO detection datasets, and the service's verdict export (a zip holding one), as import sources.

``read_coco`` accepts the layouts COCO tools write: ``annotations.json`` beside ``images/``
(xscreen's own and the verdict export's), ``annotations/instances_<split>.json`` with images in
``images/`` or ``<split>/``, and Roboflow's ``<split>/_annotations.coco.json`` beside the images.
Boxes are COCO ``[x, y, width, height]`` in pixels already; categories are mapped by name onto
xscreen's classes like every other importer's. Fields beyond COCO's own (a verdict, material,
concealment) are kept on the image or annotation.
"""

from __future__ import annotations

import json
import tempfile
import zipfile
from pathlib import Path, PurePosixPath
from typing import Any

from xscreen.datasets.importers import (
    ImportOptions,
    ImportReport,
    SourceImage,
    SourceObject,
    run_import,
)
from xscreen.errors import DatasetError

ANNOTATION_FIELDS = {"id", "image_id", "category_id", "bbox", "area", "iscrowd", "segmentation",
                     "source_class"}
IMAGE_FIELDS = {"id", "file_name", "width", "height", "raw", "source_file", "split", "license",
                "coco_url", "flickr_url", "date_captured"}
MAX_EXPORT_BYTES = 20 * 1024**3


def import_coco(src: str | Path, out: str | Path,
                options: ImportOptions | None = None) -> ImportReport:
    """Convert the COCO dataset at ``src`` (validated, classes remapped) into ``out``."""
    return run_import("COCO", read_coco, src, out, options or ImportOptions())


def import_verdicts(export: str | Path, out: str | Path,
                    options: ImportOptions | None = None) -> ImportReport:
    """Convert a verdict export (``GET /v1/training-export``: a zip, or the folder it unzips
    to) into ``out``: operator-confirmed and operator-drawn boxes, cleared scans as images
    without boxes; each image keeps its ``verdict``."""
    path = Path(export)
    options = options or ImportOptions()
    if path.is_dir():
        return run_import("verdict export", read_coco, path, out, options)
    if not path.is_file():
        raise DatasetError(f"verdict export {path} does not exist; download one with "
                           "GET /v1/training-export (role engineer)")
    with tempfile.TemporaryDirectory(prefix="xscreen-verdicts-") as folder:
        extract_zip(path, Path(folder))
        return run_import("verdict export", read_coco, folder, out, options)


def extract_zip(path: Path, target: Path) -> None:
    """Unpack ``path`` into ``target``, refusing what is not a zip and members that would land
    outside ``target`` (absolute paths, ``..``)."""
    if not zipfile.is_zipfile(path):
        raise DatasetError(f"{path} is not a zip file; GET /v1/training-export returns one "
                           "(or pass the folder it unzips to)")
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            for member in members:
                parts = PurePosixPath(member.filename).parts
                if member.filename.startswith("/") or ".." in parts:
                    raise DatasetError(f"{path} holds an unsafe path {member.filename!r}; "
                                       "it is not a verdict export")
            if sum(m.file_size for m in members) > MAX_EXPORT_BYTES:
                raise DatasetError(f"{path} unpacks to more than {MAX_EXPORT_BYTES >> 30} GiB")
            archive.extractall(target)
    except (zipfile.BadZipFile, OSError) as error:
        raise DatasetError(f"{path} is damaged and cannot be unpacked: {error}") from None


def read_coco(src: Path) -> list[SourceImage]:
    """Every image and box of the COCO annotation files found in ``src``."""
    files = coco_files(src)
    sources: list[SourceImage] = []
    for path in files:
        split = _split_name(path, src) if len(files) > 1 else None
        sources += _read_coco_file(path, src, split)
    if not sources:
        raise DatasetError(f"{', '.join(str(f) for f in files)} list no images")
    return sources


def coco_files(src: Path) -> list[Path]:
    """The COCO annotation files of a dataset folder, in the layouts the module lists."""
    for files in ([src / "annotations.json"], sorted(src.glob("annotations/*.json")),
                  sorted(src.rglob("_annotations.coco.json")), sorted(src.glob("*.json"))):
        found = [f for f in files if f.is_file()]
        if found:
            return found
    raise DatasetError(f"no COCO annotations found in {src}: expected annotations.json beside "
                       "images/, annotations/instances_<split>.json, or Roboflow's "
                       "<split>/_annotations.coco.json")


def _split_name(path: Path, src: Path) -> str:
    """``annotations/instances_train2017.json`` -> ``train2017``; ``valid/_annotations...`` ->
    ``valid``."""
    if path.name == "_annotations.coco.json":
        return path.parent.name
    return path.stem.removeprefix("instances_")


def _load_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise DatasetError(f"{path} is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise DatasetError(f"{path} must hold a JSON object (COCO detection format)")
    for key in ("images", "annotations", "categories"):
        if not isinstance(data.get(key), list):
            raise DatasetError(f"{path}: '{key}' must be a list (COCO detection format)")
    return data


def _read_coco_file(path: Path, src: Path, split: str | None) -> list[SourceImage]:
    data = _load_json(path)
    names = _category_names(data["categories"], path)
    by_id: dict[int, SourceImage] = {}
    for entry in data["images"]:
        image_id, source = _source_image(entry, path, src, split)
        if image_id in by_id:
            raise DatasetError(f"{path}: image id {image_id} appears twice")
        by_id[image_id] = source
    for number, annotation in enumerate(data["annotations"], start=1):
        _add_object(annotation, number, by_id, names, path)
    return list(by_id.values())


def _category_names(categories: list[Any], path: Path) -> dict[int, str]:
    names = {}
    for category in categories:
        try:
            names[int(category["id"])] = str(category["name"])
        except (KeyError, TypeError, ValueError):
            raise DatasetError(f"{path}: category {category!r} needs an id and a name") from None
    return names


def _source_image(entry: Any, path: Path, src: Path,
                  split: str | None) -> tuple[int, SourceImage]:
    try:
        image_id, file_name = int(entry["id"]), str(entry["file_name"])
        declared = (int(entry["width"]), int(entry["height"]))
    except (KeyError, TypeError, ValueError):
        raise DatasetError(f"{path}: image entry {entry!r} needs id, file_name, width and "
                           "height") from None
    own_split = str(entry["split"]) if entry.get("split") else None
    image_path = _find_image(file_name, path, src, split or own_split)
    hint = PurePosixPath(file_name).with_suffix("").as_posix()
    extras = {k: v for k, v in entry.items() if k not in IMAGE_FIELDS}
    source = SourceImage(image_path, _relative(image_path, src), path, declared_size=declared,
                         split=split or own_split, name_hint=f"{split}/{hint}" if split else hint,
                         image_extras=extras)
    return image_id, source


def _find_image(file_name: str, json_path: Path, src: Path, split: str | None) -> Path:
    folders = [json_path.parent, json_path.parent / "images", src / "images", src]
    if split:
        folders += [src / "images" / split, src / split, src / split / "images"]
    for folder in dict.fromkeys(folders):
        if (folder / file_name).is_file():
            return folder / file_name
    raise DatasetError(f"image {file_name!r} listed in {json_path} is missing: looked in "
                       f"{', '.join(str(f) for f in dict.fromkeys(folders) if f.is_dir())}")


def _add_object(annotation: Any, number: int, by_id: dict[int, SourceImage],
                names: dict[int, str], path: Path) -> None:
    where = f"{path} annotation {annotation.get('id', number)}" \
        if isinstance(annotation, dict) else f"{path} annotation {number}"
    if not isinstance(annotation, dict):
        raise DatasetError(f"{where} must be an object")
    try:
        source = by_id[int(annotation.get("image_id", -1))]
    except (TypeError, ValueError, KeyError):
        raise DatasetError(f"{where} refers to unknown image {annotation.get('image_id')!r}"
                           ) from None
    try:
        name = names[int(annotation.get("category_id", -1))]
    except (TypeError, ValueError, KeyError):
        raise DatasetError(f"{where} has unknown category_id "
                           f"{annotation.get('category_id')!r}") from None
    box = annotation.get("bbox")
    if not (isinstance(box, list) and len(box) == 4
            and all(isinstance(v, int | float) and not isinstance(v, bool) for v in box)):
        raise DatasetError(f"{where}: bbox must be [x, y, width, height] numbers, got {box!r}")
    if annotation.get("iscrowd"):
        source.image_extras.setdefault("crowd_regions_dropped", 0)
        source.image_extras["crowd_regions_dropped"] += 1
        return
    x, y, w, h = (float(v) for v in box)
    extras = {k: v for k, v in annotation.items() if k not in ANNOTATION_FIELDS}
    source.objects.append(SourceObject(name, (x, y, x + w, y + h), where, extras))


def _relative(path: Path, src: Path) -> str:
    try:
        return path.relative_to(src).as_posix()
    except ValueError:
        return path.name
