"""Importers: Pascal VOC XML, YOLO txt, COCO, the service's verdict export and DICOS DX images with
their TDRs, into xscreen's COCO layout (``xscreen import FORMAT SRC OUT``).

Every importer reads every annotation first (cheap), checks that each source class maps onto one
of the classes (the contract's, plus any ``new_classes`` appended after them), then converts the
images to PNG and writes ``annotations.json``. With ``holdout`` a seeded share of the images is
marked ``"split": "holdout"``: training skips them and ``xscreen gate`` judges on them.
The VOC and YOLO readers live here; COCO and the verdict export in :mod:`.import_coco`, DICOS in
:mod:`.import_dicos`. The dataset
is built in a hidden folder beside ``out`` and renamed into place at the end (or, when ``out``
already existed empty, written in place and emptied on failure), so a failed import never leaves a
half-valid dataset behind.

Box conventions (all boxes end up as COCO ``[x, y, width, height]`` in 0-based pixel coordinates,
where pixel column ``i`` spans ``[i, i + 1)``):

- VOC ``xmin..xmax`` are 1-based, inclusive pixel indices: a box covering the first ten pixel
  columns has ``xmin=1, xmax=10``. So ``x = xmin - 1`` and ``width = xmax - xmin + 1``; the same
  for ``y``. This is what the VOC devkit and detectron2's VOC loader do.
- YOLO rows are ``class cx cy w h`` as fractions of the image's width and height:
  ``x = (cx - w / 2) * width``, ``width = w * width``.

Boxes may overhang the image by at most one pixel (common off-by-one exports, ``xmin=0`` in VOC);
they are clipped to it. Anything further out, or a box of non-positive size, is an error.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import xml.etree.ElementTree as ElementTree
from collections import Counter
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import yaml

from xscreen import CLASSES
from xscreen.datasets.coco import categories, prepare_output_folder, write_annotations
from xscreen.datasets.splits import HOLDOUT, choose_holdout
from xscreen.errors import DatasetError, UsageError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
BOX_TOLERANCE_PX = 1.0
"""How far a box may overhang its image (pixels) before it is an error rather than clipped."""

DEFAULT_CLASS_MAP: Mapping[str, str] = {
    **{name: name for name in CLASSES},
    **dict.fromkeys(("gun", "guns", "handgun", "handguns", "pistol", "pistols", "rifle",
                     "rifles", "revolver", "revolvers", "shotgun", "firearms",
                     "firearm_part", "firearm_parts", "gun_part", "gun_parts"), "firearm"),
    **dict.fromkeys(("drug", "drugs", "narcotic", "cocaine", "heroin"), "narcotics"),
    **dict.fromkeys(("gold_bar", "gold_bars", "gold_coin", "gold_coins"), "gold"),
    **dict.fromkeys(("counterfeits", "fake", "fakes"), "counterfeit"),
}
"""Source class names (normalised, see :func:`normalise_class_name`) that map without ``--map``.

Knives, scissors, batteries and other prohibited items are deliberately absent: they are not
xscreen classes, so they must be skipped or mapped explicitly.
"""


@dataclass(frozen=True)
class SourceObject:
    """One labelled box as read from the source, before class mapping and pixel checks."""

    class_name: str
    box: tuple[float, float, float, float]
    """``x1, y1, x2, y2``: 0-based pixels, or fractions of the image size when normalised."""
    where: str
    """Where it was read (file, object or line), for error messages."""
    extras: dict[str, Any] = field(default_factory=dict)


ImageLoader = Callable[[Path], np.ndarray]
"""Reads a source image file as 8-bit 3-channel BGR (OpenCV's order)."""


@dataclass
class SourceImage:
    """One source image with its labelled boxes."""

    image_path: Path
    source_file: str
    """The image's path relative to the source folder, kept on the COCO image entry."""
    annotation_file: Path | None
    objects: list[SourceObject] = field(default_factory=list)
    normalised: bool = False
    declared_size: tuple[int, int] | None = None
    split: str | None = None
    name_hint: str = ""
    """What the output file is named after (made safe and unique), e.g. ``train/bag_01``."""
    image_extras: dict[str, Any] = field(default_factory=dict)
    """Fields kept on the COCO image entry (a verdict, a DICOS SOP instance UID, ...)."""
    loader: ImageLoader | None = None
    """How to read the image (None: any format OpenCV decodes, :func:`load_image_as_bgr`)."""


@dataclass(frozen=True)
class ImportOptions:
    """How an import maps classes and splits off a hold-out share."""

    class_map: Mapping[str, str] | None = None
    """Source class name -> class, laid over :data:`DEFAULT_CLASS_MAP`."""
    skip_unknown: bool = False
    """Drop (and count) boxes of unmapped classes instead of failing."""
    new_classes: tuple[str, ...] = ()
    """Classes appended after the contract's (CONTRACT "Names": a later model may add some)."""
    holdout: float = 0.0
    """Share of the images marked ``"split": "holdout"`` (seeded, positives and negatives apart)."""
    seed: int = 0

    @property
    def classes(self) -> tuple[str, ...]:
        return (*CLASSES, *self.new_classes)


@dataclass
class ImportReport:
    """What an import wrote: counts per class, skipped boxes per source class, warnings."""

    out: Path
    source_format: str
    images: int = 0
    boxes: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CLASSES, 0))
    skipped: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    held_out: int = 0

    def summary(self) -> str:
        """One line: images, boxes per class and skipped boxes."""
        per_class = ", ".join(f"{name} {count}" for name, count in self.boxes.items())
        images = f"{self.images} image{'' if self.images == 1 else 's'}"
        boxes = sum(self.boxes.values())
        line = (f"imported {images} from {self.source_format}, "
                f"{boxes} box{'' if boxes == 1 else 'es'} ({per_class})")
        skipped = sum(self.skipped.values())
        if skipped:
            detail = ", ".join(f"{name} {count}" for name, count in sorted(self.skipped.items()))
            line += f", skipped {skipped} ({detail})"
        if self.held_out:
            line += f", {self.held_out} held out (split '{HOLDOUT}')"
        return f"{line} -> {self.out}"


# --- class mapping ---------------------------------------------------------------------------

def normalise_class_name(name: str) -> str:
    """Lower case, spaces and hyphens as underscores: ``"Gold Bar"`` -> ``"gold_bar"``."""
    return re.sub(r"[\s\-]+", "_", name.strip().lower())


def resolve_class_map(overrides: Mapping[str, str] | None = None,
                      new_classes: tuple[str, ...] = ()) -> dict[str, str]:
    """The default map with ``overrides`` (source name -> xscreen class) laid over it; each of
    ``new_classes`` (appended after the contract's) maps from its own name.

    Raises :class:`UsageError` when an override names a class that is neither xscreen's nor new.
    """
    check_new_classes(new_classes)
    classes = (*CLASSES, *new_classes)
    mapping = {**DEFAULT_CLASS_MAP, **{name: name for name in new_classes}}
    for source, target in (overrides or {}).items():
        target_class = normalise_class_name(target)
        if target_class not in classes:
            raise UsageError(f"cannot map {source!r} to {target!r}: xscreen's classes are "
                             f"{', '.join(classes)} (add a class with --add-class NAME)")
        mapping[normalise_class_name(source)] = target_class
    return mapping


def check_new_classes(new_classes: tuple[str, ...]) -> None:
    """New class names must be new, distinct, and written as the importer compares them."""
    for name in new_classes:
        if name != normalise_class_name(name) or not re.fullmatch(r"[a-z][a-z0-9_]*", name):
            raise UsageError(f"new class {name!r} must be lower case letters, digits and "
                             f"underscores, e.g. {normalise_class_name(name) or 'knife'!r}")
        if name in CLASSES:
            raise UsageError(f"{name!r} is already one of xscreen's classes; --add-class is for "
                             "classes after them")
    if len(set(new_classes)) != len(new_classes):
        raise UsageError(f"new classes must be distinct, got {list(new_classes)}")


def _check_classes(sources: list[SourceImage], mapping: Mapping[str, str],
                   skip_unknown: bool, classes: tuple[str, ...] = CLASSES) -> None:
    """Fail before any image is converted if a source class has no xscreen class."""
    if skip_unknown:
        return
    unknown: Counter[str] = Counter()
    first_seen: dict[str, str] = {}
    for source in sources:
        for obj in source.objects:
            if normalise_class_name(obj.class_name) not in mapping:
                unknown[obj.class_name] += 1
                first_seen.setdefault(obj.class_name, obj.where)
    if unknown:
        name, count = unknown.most_common(1)[0]
        others = f" (also unmapped: {', '.join(sorted(set(unknown) - {name}))})" \
            if len(unknown) > 1 else ""
        quote = "'" if " " in name else ""
        raise DatasetError(
            f"class {name!r} ({count} boxes, first at {first_seen[name]}) is not an xscreen "
            f"class{others}; map it with --map {quote}{name}=CLASS{quote}, CLASS one of "
            f"{', '.join(classes)} (e.g. --map {quote}{name}=firearm{quote}), drop such boxes "
            "with --skip-unknown, or add it as a new class with --add-class")


# --- Pascal VOC ------------------------------------------------------------------------------

def import_voc(src: str | Path, out: str | Path, class_map: Mapping[str, str] | None = None,
               *, skip_unknown: bool = False, options: ImportOptions | None = None
               ) -> ImportReport:
    """Convert a Pascal VOC dataset at ``src`` into a new COCO dataset folder ``out``.

    ``src`` holds ``Annotations/*.xml`` with images in ``JPEGImages/`` (or beside the XML files),
    or is a flat folder of XML files and images. ``class_map`` (source name -> xscreen class) is
    laid over :data:`DEFAULT_CLASS_MAP`; with ``skip_unknown`` boxes of unmapped classes are
    dropped and counted instead of being an error. ``options`` (new classes, hold-out) replaces
    both when given.
    """
    return run_import("VOC", read_voc, src, out,
                      options or ImportOptions(class_map, skip_unknown))


def read_voc(src: Path) -> list[SourceImage]:
    """Every image and box of a VOC dataset; boxes in 0-based pixels (see the module notes)."""
    folder = src / "Annotations" if (src / "Annotations").is_dir() else src
    xml_files = sorted(folder.glob("*.xml"))
    if not xml_files:
        raise DatasetError(f"no VOC annotations found in {folder}: expected Annotations/*.xml "
                           "(images in JPEGImages/) or a folder of .xml files beside the images")
    return [_read_voc_file(path, src) for path in xml_files]


def _read_voc_file(path: Path, src: Path) -> SourceImage:
    try:
        root = ElementTree.parse(path).getroot()
    except ElementTree.ParseError as error:
        raise DatasetError(f"{path} is not valid XML: {error}") from None
    filename = (root.findtext("filename") or "").strip()
    source = SourceImage(image_path=_find_voc_image(path, filename, src),
                         source_file="", annotation_file=path,
                         declared_size=_voc_size(root, path))
    source.source_file = _relative_name(source.image_path, src)
    source.name_hint = source.image_path.stem
    for number, element in enumerate(root.findall("object"), start=1):
        source.objects.append(_voc_object(element, f"{path} object {number}"))
    return source


def _find_voc_image(xml_path: Path, filename: str, src: Path) -> Path:
    folders = list(dict.fromkeys([src / "JPEGImages", xml_path.parent, src, src / "images"]))
    stems = [Path(filename).stem] if filename else []
    stems.append(xml_path.stem)
    candidates = [filename] if filename else []
    candidates += [stem + suffix for stem in stems for suffix in IMAGE_SUFFIXES]
    for folder in folders:
        for name in candidates:
            if (folder / name).is_file():
                return folder / name
    wanted = filename or f"{xml_path.stem}.*"
    raise DatasetError(f"image {wanted!r} named by {xml_path} is missing: looked in "
                       f"{', '.join(str(f) for f in folders if f.is_dir())}")


def _voc_size(root: ElementTree.Element, path: Path) -> tuple[int, int] | None:
    size = root.find("size")
    if size is None:
        return None
    try:
        width, height = (int(float(size.findtext(tag) or "0")) for tag in ("width", "height"))
    except ValueError:
        raise DatasetError(f"{path}: <size> width and height must be numbers") from None
    return (width, height) if width > 0 and height > 0 else None


def _voc_object(element: ElementTree.Element, where: str) -> SourceObject:
    name = (element.findtext("name") or "").strip()
    if not name:
        raise DatasetError(f"{where} has no <name>")
    bndbox = element.find("bndbox")
    if bndbox is None:
        raise DatasetError(f"{where} ({name}) has no <bndbox>")
    try:
        xmin, ymin, xmax, ymax = (float(bndbox.findtext(tag) or "")
                                  for tag in ("xmin", "ymin", "xmax", "ymax"))
    except ValueError:
        raise DatasetError(f"{where} ({name}): <bndbox> needs numeric xmin, ymin, xmax, "
                           "ymax") from None
    difficult = (element.findtext("difficult") or "0").strip() not in ("0", "", "false")
    # VOC indices are 1-based and inclusive: pixel i (1-based) spans [i - 1, i) in 0-based pixels.
    box = (xmin - 1.0, ymin - 1.0, xmax, ymax)
    return SourceObject(name, box, where, {"difficult": difficult})


# --- YOLO ------------------------------------------------------------------------------------

def import_yolo(src: str | Path, out: str | Path, class_map: Mapping[str, str] | None = None,
                *, skip_unknown: bool = False, options: ImportOptions | None = None
                ) -> ImportReport:
    """Convert a YOLO dataset at ``src`` into a new COCO dataset folder ``out``.

    ``src`` holds ``images/`` and ``labels/`` (optionally split: ``images/train``,
    ``labels/train``, ...; or ``train/images``, ``train/labels`` as Roboflow exports them) and the
    class names in ``data.yaml`` (``names:`` list or dict) or ``classes.txt`` / ``obj.names``.
    The split name is kept on each image as ``split``. Class mapping as in :func:`import_voc`.
    """
    return run_import("YOLO", read_yolo, src, out,
                      options or ImportOptions(class_map, skip_unknown))


def read_yolo(src: Path) -> list[SourceImage]:
    """Every image and box of a YOLO dataset; boxes as fractions of the image size."""
    roots = _yolo_roots(src)
    names = _yolo_class_names(src, [labels for _, labels, _ in roots])
    sources: list[SourceImage] = []
    used_labels: set[Path] = set()
    for images, labels, split in roots:
        for image_path in _image_files(images):
            relative = image_path.relative_to(images)
            label_path = labels / relative.with_suffix(".txt")
            image_split = split or (relative.parts[0] if len(relative.parts) > 1 else None)
            hint = relative.with_suffix("").as_posix()
            source = SourceImage(image_path, _relative_name(image_path, src), label_path,
                                 normalised=True, split=image_split,
                                 name_hint=f"{split}/{hint}" if split else hint)
            if label_path.is_file():
                used_labels.add(label_path)
                source.objects = _read_yolo_labels(label_path, names)
            sources.append(source)
    _check_yolo_labels(roots, used_labels, sources)
    return sources


def _yolo_roots(src: Path) -> list[tuple[Path, Path, str | None]]:
    """``(images folder, labels folder, split)`` triples of the layouts YOLO tools write."""
    if (src / "images").is_dir():
        return [(src / "images", src / "labels", None)]
    roots: list[tuple[Path, Path, str | None]] = [
        (folder / "images", folder / "labels", folder.name)
             for folder in sorted(src.iterdir()) if (folder / "images").is_dir()]
    if not roots:
        raise DatasetError(f"no YOLO dataset found in {src}: expected images/ and labels/ "
                           "(optionally split as images/train, labels/train, ...)")
    return roots


def _image_files(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*")
                  if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file())


def _check_yolo_labels(roots: list[tuple[Path, Path, str | None]], used: set[Path],
                       sources: list[SourceImage]) -> None:
    label_files = [path for _, labels, _ in roots if labels.is_dir()
                   for path in sorted(labels.rglob("*.txt")) if path.name != "classes.txt"]
    if not label_files or not sources:
        where = ", ".join(str(labels) for _, labels, _ in roots)
        raise DatasetError(f"no YOLO annotations found: {where} must hold one .txt per image "
                           "beside images/ holding the images")
    orphans = [path for path in label_files if path not in used]
    if orphans:
        raise DatasetError(f"{len(orphans)} label file(s) have no image, e.g. {orphans[0]}: "
                           "the image of the same name is missing from images/")


def _yolo_class_names(src: Path, label_folders: list[Path]) -> dict[int, str]:
    for path in [src / "data.yaml", src / "dataset.yaml", *sorted(src.glob("*.yaml"))]:
        if path.is_file():
            names = _names_from_yaml(path)
            if names is not None:
                return names
    for folder in [src, *label_folders]:
        for filename in ("classes.txt", "obj.names"):
            if (folder / filename).is_file():
                lines = _read_text(folder / filename).splitlines()
                return dict(enumerate(line.strip() for line in lines if line.strip()))
    raise DatasetError(f"no YOLO class names found in {src}: add data.yaml with a 'names:' "
                       "list, or classes.txt with one name per line in class-index order")


def _names_from_yaml(path: Path) -> dict[int, str] | None:
    try:
        data = yaml.safe_load(_read_text(path))
    except yaml.YAMLError as error:
        raise DatasetError(f"{path} is not valid YAML: {error}") from None
    names = data.get("names") if isinstance(data, dict) else None
    if names is None:
        return None
    if isinstance(names, list):
        return {index: str(name) for index, name in enumerate(names)}
    if isinstance(names, dict):
        try:
            return {int(index): str(name) for index, name in names.items()}
        except (TypeError, ValueError):
            pass
    raise DatasetError(f"{path}: 'names' must be a list of class names or a mapping "
                       "index: name")


def _read_yolo_labels(path: Path, names: Mapping[int, str]) -> list[SourceObject]:
    objects = []
    for number, line in enumerate(_read_text(path).splitlines(), start=1):
        if line.strip():
            objects.append(_yolo_row(line, f"{path} line {number}", names))
    return objects


def _yolo_row(line: str, where: str, names: Mapping[int, str]) -> SourceObject:
    fields = line.split()
    if len(fields) != 5:
        raise DatasetError(f"{where}: expected 5 fields 'class cx cy w h', got {len(fields)} "
                           "(segmentation and keypoint labels are not supported)")
    try:
        index_value = float(fields[0])
        center_x, center_y, width, height = (float(value) for value in fields[1:])
    except ValueError:
        raise DatasetError(f"{where}: fields must be numbers, got {line.strip()!r}") from None
    index = int(index_value)
    if index != index_value or index not in names:
        raise DatasetError(f"{where}: class index {fields[0]} is not one of the "
                           f"{len(names)} class names (0..{max(names, default=0)})")
    if not all(0.0 <= value <= 1.0 for value in (center_x, center_y, width, height)):
        raise DatasetError(f"{where}: cx cy w h must be fractions of the image size in [0, 1], "
                           f"got {line.strip()!r} (pixel labels need dividing by the size)")
    box = (center_x - width / 2, center_y - height / 2,
           center_x + width / 2, center_y + height / 2)
    return SourceObject(names[index], box, where)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as error:
        raise DatasetError(f"cannot read {path}: {error}") from None


# --- writing the COCO dataset ------------------------------------------------------------------

def run_import(source_format: str, read_sources: Callable[[Path], list[SourceImage]],
               src: str | Path, out: str | Path, options: ImportOptions) -> ImportReport:
    """Read ``src`` with ``read_sources``, check its classes, and write the dataset ``out``."""
    source_folder = Path(src)
    if not source_folder.is_dir():
        raise DatasetError(f"source folder {source_folder} does not exist or is not a folder")
    if not 0.0 <= options.holdout < 1.0:
        raise UsageError(f"--holdout must be a share in [0, 1), got {options.holdout}")
    mapping = resolve_class_map(options.class_map, options.new_classes)
    sources = read_sources(source_folder)
    _check_classes(sources, mapping, options.skip_unknown, options.classes)
    out_existed = Path(out).exists()
    out_folder = prepare_output_folder(out)
    report = ImportReport(out=out_folder, source_format=source_format,
                          boxes=dict.fromkeys(options.classes, 0))
    with _staged_output(out_folder, created=not out_existed) as staging:
        _write_dataset(sources, staging, mapping, report, options)
    return report


@contextmanager
def _staged_output(out: Path, created: bool) -> Iterator[Path]:
    """Where to write the dataset so that a failure leaves ``out`` as it was.

    A new ``out`` is built as a hidden folder beside it, renamed into place on success and removed
    on failure. An ``out`` that already existed (empty) is written in place, keeping the user's
    folder (its mode, owner, a shell sitting in it), and emptied again on failure.
    """
    staging = out
    if created:
        with suppress(OSError):  # parent not writable: fall back to writing in place
            staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.importing-", dir=out.parent))
    try:
        yield staging
    except BaseException:
        _remove_partial(staging, out, remove_out=created)
        raise
    if staging != out:
        shutil.copymode(out, staging)  # mkdtemp makes it private; keep the mode out was given
        out.rmdir()
        os.rename(staging, out)


def _remove_partial(staging: Path, out: Path, remove_out: bool) -> None:
    if staging != out:
        shutil.rmtree(staging, ignore_errors=True)
    else:
        for child in out.iterdir():
            if child.is_dir():
                shutil.rmtree(child, ignore_errors=True)
            else:
                child.unlink(missing_ok=True)
    if remove_out:
        shutil.rmtree(out, ignore_errors=True)


def _write_dataset(sources: list[SourceImage], root: Path, mapping: Mapping[str, str],
                   report: ImportReport, options: ImportOptions) -> None:
    (root / "images").mkdir()
    info: dict[str, Any] = {
        "description": f"imported from {report.source_format} by xscreen import",
        "date_created": datetime.now(UTC).isoformat(timespec="seconds")}
    if options.holdout:
        info.update(holdout=options.holdout, holdout_seed=options.seed)
    coco: dict[str, Any] = {"info": info, "images": [], "annotations": [],
                            "categories": categories(options.classes)}
    held_out = choose_holdout([bool(s.objects) for s in sources], options.holdout, options.seed)
    used_stems: set[str] = set()
    for image_id, source in enumerate(sources, start=1):
        pixels = (source.loader or load_image_as_bgr)(source.image_path)
        height, width = pixels.shape[:2]
        _warn_on_size_mismatch(source, width, height, report)
        file_name = _unique_stem(source.name_hint or source.image_path.stem, used_stems) + ".png"
        entry = _image_entry(image_id, file_name, width, height, source)
        if image_id - 1 in held_out:
            entry["split"] = HOLDOUT
            report.held_out += 1
        coco["images"].append(entry)
        for obj in source.objects:
            target = mapping.get(normalise_class_name(obj.class_name))
            if target is None:
                report.skipped[obj.class_name] = report.skipped.get(obj.class_name, 0) + 1
                continue
            box = _pixel_box(obj, source.normalised, width, height)
            coco["annotations"].append(_annotation_entry(
                len(coco["annotations"]) + 1, image_id, options.classes.index(target) + 1, box,
                obj))
            report.boxes[target] += 1
        _write_png(root / "images" / file_name, pixels)
        report.images += 1
    write_annotations(root, coco)


def _warn_on_size_mismatch(source: SourceImage, width: int, height: int,
                           report: ImportReport) -> None:
    if source.declared_size not in (None, (width, height)):
        declared_width, declared_height = source.declared_size or (0, 0)
        report.warnings.append(
            f"{source.annotation_file} says {declared_width}x{declared_height} but "
            f"{source.image_path.name} is {width}x{height}; using the image's size")


def _image_entry(image_id: int, file_name: str, width: int, height: int,
                 source: SourceImage) -> dict[str, Any]:
    entry: dict[str, Any] = {**source.image_extras, "id": image_id, "file_name": file_name,
                             "width": width, "height": height, "source_file": source.source_file}
    if source.split:
        entry["split"] = source.split
    return entry


def _annotation_entry(annotation_id: int, image_id: int, category_id: int,
                      box: list[float], obj: SourceObject) -> dict[str, Any]:
    return {**obj.extras, "id": annotation_id, "image_id": image_id,
            "category_id": category_id, "bbox": box, "area": round(box[2] * box[3], 3),
            "iscrowd": 0, "source_class": obj.class_name}


def _pixel_box(obj: SourceObject, normalised: bool, width: int, height: int) -> list[float]:
    """``[x, y, w, h]`` in pixels, checked against the image and clipped to it."""
    x1, y1, x2, y2 = obj.box
    if normalised:
        x1, x2, y1, y2 = x1 * width, x2 * width, y1 * height, y2 * height
    if x2 <= x1 or y2 <= y1:
        raise DatasetError(f"{obj.where}: box of {obj.class_name!r} has non-positive size "
                           f"({x2 - x1:g} x {y2 - y1:g} px)")
    tolerance = BOX_TOLERANCE_PX
    if x1 < -tolerance or y1 < -tolerance or x2 > width + tolerance \
            or y2 > height + tolerance:
        raise DatasetError(f"{obj.where}: box of {obj.class_name!r} ({x1:g}, {y1:g}) to "
                           f"({x2:g}, {y2:g}) px lies outside its {width}x{height} image")
    x1, y1, x2, y2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(width)), min(y2, float(height))
    return [round(x1, 3), round(y1, 3), round(x2 - x1, 3), round(y2 - y1, 3)]


def _unique_stem(name_hint: str, used: set[str]) -> str:
    """A file-system-safe stem from ``name_hint`` (folders joined by ``_``), made unique."""
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", name_hint).strip("._-") or "image"
    candidate, number = stem, 1
    while candidate.lower() in used:  # case-insensitive: the dataset may move to macOS/Windows
        number += 1
        candidate = f"{stem}_{number}"
    used.add(candidate.lower())
    return candidate


def _relative_name(path: Path, src: Path) -> str:
    try:
        return path.relative_to(src).as_posix()
    except ValueError:
        return path.name


# --- images ------------------------------------------------------------------------------------

def load_image_as_bgr(path: Path) -> np.ndarray:
    """Decode any image OpenCV reads into 8-bit, 3-channel BGR (OpenCV's order; PNG stores RGB).

    Greyscale is replicated to three channels, alpha dropped, and 16-bit values scaled to 8-bit by
    ``round(v / 257)``, which keeps 65535 (air) white. EXIF orientation is not applied: pixels are
    used as stored, as annotation tools draw boxes on them.
    """
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise DatasetError(f"cannot read image {path}: {error}") from None
    pixels = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    if pixels is None:
        raise DatasetError(f"image {path} cannot be decoded: is it a PNG, JPEG, BMP, TIFF or "
                           "WebP file and complete?")
    return _to_three_channels(_to_eight_bit(pixels, path), path)


def _to_eight_bit(pixels: np.ndarray, path: Path) -> np.ndarray:
    if pixels.dtype == np.uint8:
        return pixels
    if pixels.dtype == np.uint16:
        return ((pixels.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8)
    if pixels.dtype.kind == "f" and np.nanmin(pixels) >= 0.0 and np.nanmax(pixels) <= 1.0:
        return np.round(np.nan_to_num(pixels) * 255).astype(np.uint8)
    raise DatasetError(f"image {path} has {pixels.dtype} pixels; convert it to 8- or 16-bit")


def _to_three_channels(pixels: np.ndarray, path: Path) -> np.ndarray:
    channels = 1 if pixels.ndim == 2 else pixels.shape[2]
    if channels == 1:
        return cv2.cvtColor(pixels.reshape(pixels.shape[:2]), cv2.COLOR_GRAY2BGR)
    if channels == 3:
        return pixels
    if channels == 4:
        return cv2.cvtColor(pixels, cv2.COLOR_BGRA2BGR)
    raise DatasetError(f"image {path} has {channels} channels; expected 1, 3 or 4")


def _write_png(path: Path, pixels: np.ndarray) -> None:
    ok, encoded = cv2.imencode(".png", pixels)
    if not ok:
        raise DatasetError(f"cannot encode {path.name} as PNG")
    path.write_bytes(encoded.tobytes())
