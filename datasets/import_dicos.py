"""DICOS DX images with their Threat Detection Reports as an import source.

A folder (searched recursively) holds DICOS DX images (SOP class 1.2.840.10008.5.1.4.1.1.501.2.1
or .2.2, or plain DICOM DX/CR) and TDRs (1.2.840.10008.5.1.4.1.1.501.3). Files are recognised by
content (``DICM`` at byte 128), whatever their names. A TDR is matched to its image by the
Referenced SOP Instance UID of each threat's PTO Representation (DICOS v03, the Threat Detection
Report IOD; ``serving/tdr.py`` writes the same layout). Each threat becomes one box: its Threat ROI
Base (4010,1004) gives the top-left corner and its Threat ROI Extents (4010,1005) the width and
height in pixels (a 2-D image: Z and depth are ignored); its class is the ATD assessment's Threat
Category Description (the class name, as xscreen writes it), else its Threat Category.

When several TDRs refer to one image, the most authoritative is used: ground truth, then an
operator's, then a machine's. A TDR with no threats marks its image as a negative. Images no TDR
refers to are skipped with a warning, or imported without boxes with ``keep_unreported``.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from xscreen.datasets.importers import (
    ImportOptions,
    ImportReport,
    SourceImage,
    SourceObject,
    run_import,
)
from xscreen.errors import DatasetError

TDR_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.501.3"
CT_SOP_CLASSES = ("1.2.840.10008.5.1.4.1.1.501.1", "1.2.840.10008.5.1.4.1.1.501.1.1")
TDR_TYPE_RANK = {"GROUND_TRUTH": 3, "OPERATOR": 2, "MACHINE": 1}


def import_dicos(src: str | Path, out: str | Path, options: ImportOptions | None = None,
                 *, keep_unreported: bool = False) -> ImportReport:
    """Convert the DICOS DX images of ``src`` and the boxes of their TDRs into ``out``."""
    reader = DicosReader(keep_unreported)
    report = run_import("DICOS", reader.read, src, out, options or ImportOptions())
    report.warnings[:0] = reader.warnings
    return report


@dataclass
class _Report:
    """One TDR: its file, type and threats (as source objects) per referenced image UID."""

    path: Path
    tdr_type: str
    threats: dict[str, list[SourceObject]] = field(default_factory=dict)
    referenced: set[str] = field(default_factory=set)


@dataclass
class DicosReader:
    """Reads a folder of DICOS files into source images; collects warnings as it goes."""

    keep_unreported: bool = False
    warnings: list[str] = field(default_factory=list)

    def read(self, src: Path) -> list[SourceImage]:
        images: dict[str, tuple[Path, Any]] = {}
        reports: list[_Report] = []
        for path, dataset in _dicom_files(src):
            if _is_tdr(dataset):
                reports.append(_read_tdr(path, dataset))
            elif str(dataset.get("SOPClassUID", "")) in CT_SOP_CLASSES:
                self.warnings.append(f"{path} is a DICOS CT volume, not a 2-D scan; skipped")
            elif "Rows" in dataset and "Columns" in dataset:
                uid = str(dataset.get("SOPInstanceUID", ""))
                if uid in images:
                    raise DatasetError(f"{path} and {images[uid][0]} share SOP instance UID "
                                       f"{uid}; each image needs its own")
                images[uid] = (path, dataset)
            else:
                self.warnings.append(f"{path} is neither an image nor a TDR; skipped")
        return self._match(src, images, reports)

    def _match(self, src: Path, images: dict[str, tuple[Path, Any]],
               reports: list[_Report]) -> list[SourceImage]:
        chosen = self._choose_reports(reports, set(images))
        sources = []
        for uid, (path, dataset) in sorted(images.items(), key=lambda item: str(item[1][0])):
            report = chosen.get(uid)
            if report is None and not self.keep_unreported:
                self.warnings.append(f"no TDR refers to {path} (SOP instance {uid}); skipped "
                                     "(--keep-unreported imports it without boxes)")
                continue
            sources.append(_source(path, dataset, src, uid, report))
        if not sources:
            raise DatasetError(
                f"no DICOS image in {src} that a TDR refers to ({len(images)} images, "
                f"{len(reports)} TDRs); a TDR names its image by Referenced SOP Instance UID; "
                "--keep-unreported imports images without TDRs as negatives")
        return sources

    def _choose_reports(self, reports: list[_Report], known: set[str]) -> dict[str, _Report]:
        """Per image UID, its most authoritative TDR (ground truth > operator > machine)."""
        chosen: dict[str, _Report] = {}
        for report in sorted(reports, key=lambda r: str(r.path)):
            missing = sorted(report.referenced - known)
            if missing:
                self.warnings.append(f"{report.path} refers to image {missing[0]}, which is not "
                                     f"in the source folder; its threats there are skipped")
            for uid in report.referenced & known:
                current = chosen.get(uid)
                if current is not None:
                    self.warnings.append(f"{current.path} and {report.path} both refer to {uid}; "
                                         "using the more authoritative (or the later file)")
                if current is None or _rank(report) >= _rank(current):
                    chosen[uid] = report
        return chosen


def _rank(report: _Report) -> int:
    return TDR_TYPE_RANK.get(report.tdr_type, 0)


def _dicom_files(src: Path) -> Iterator[tuple[Path, Any]]:
    """Each DICOM file under ``src`` (by its ``DICM`` marker) with its header read."""
    import pydicom

    for path in sorted(p for p in src.rglob("*") if p.is_file()):
        with path.open("rb") as handle:
            if handle.read(132)[128:132] != b"DICM":
                continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # vendors' UIDs often break VR rules
                yield path, pydicom.dcmread(path, stop_before_pixels=True)
        except Exception as error:  # pydicom raises several types for damaged files
            raise DatasetError(f"{path} is a damaged DICOM file: {error}") from None


def _is_tdr(dataset: Any) -> bool:
    return bool(str(dataset.get("SOPClassUID", "")) == TDR_SOP_CLASS
                or str(dataset.get("Modality", "")) == "TDR")


def _read_tdr(path: Path, dataset: Any) -> _Report:
    """Threats of a TDR per referenced image (a TDR without threats still refers to its image
    through its Referenced Study Sequence: a negative)."""
    report = _Report(path, str(dataset.get("TDRType", "")).upper())
    for reference in dataset.get("ReferencedStudySequence", []):
        uid = str(reference.get("ReferencedSOPInstanceUID", ""))
        if uid:
            report.referenced.add(uid)
            report.threats.setdefault(uid, [])
    for threat in dataset.get("ThreatSequence", []):
        pto = threat.get("PotentialThreatObjectID", "?")
        name, extras = _assessment(threat)
        for representation in threat.get("PTORepresentationSequence", []):
            where = f"{path} PTO {pto}"
            box = _roi_box(representation, where)
            for reference in representation.get("ReferencedInstanceSequence", []):
                uid = str(reference.get("ReferencedSOPInstanceUID", ""))
                report.referenced.add(uid)
                report.threats.setdefault(uid, []).append(
                    SourceObject(name, box, where, {**extras, "pto_id": int(pto)
                                                    if str(pto).isdigit() else str(pto)}))
    return report


def _assessment(threat: Any) -> tuple[str, dict[str, Any]]:
    """The threat's class name (description, else category) and what else the ATD said."""
    items = threat.get("ATDAssessmentSequence", [])
    if not items:
        return "unknown", {}
    item = items[0]
    name = str(item.get("ThreatCategoryDescription") or item.get("ThreatCategory") or "unknown")
    extras: dict[str, Any] = {"threat_category": str(item.get("ThreatCategory", ""))}
    if item.get("ATDAssessmentProbability") is not None:
        extras["probability"] = float(item.ATDAssessmentProbability)
    return name, extras


def _roi_box(representation: Any, where: str) -> tuple[float, float, float, float]:
    rois = representation.get("ThreatROIVoxelSequence", [])
    try:
        base, extents = rois[0].ThreatROIBase, rois[0].ThreatROIExtents
        x, y, width, height = float(base[0]), float(base[1]), float(extents[0]), float(extents[1])
    except (IndexError, AttributeError, TypeError, ValueError):
        raise DatasetError(f"{where} has no Threat ROI Base and Extents (4010,1004/1005) "
                           "to draw a box from") from None
    return x, y, x + width, y + height


def _source(path: Path, dataset: Any, src: Path, uid: str,
            report: _Report | None) -> SourceImage:
    extras: dict[str, Any] = {"sop_instance_uid": uid,
                              "sop_class_uid": str(dataset.get("SOPClassUID", ""))}
    if report is not None:
        extras.update(tdr_file=report.path.relative_to(src).as_posix(),
                      tdr_type=report.tdr_type or None)
    declared = (int(dataset.Columns), int(dataset.Rows))
    return SourceImage(path, path.relative_to(src).as_posix(), report.path if report else None,
                       objects=list(report.threats.get(uid, [])) if report else [],
                       declared_size=declared, name_hint=path.relative_to(src).with_suffix(
                           "").as_posix(), image_extras=extras, loader=load_dicom_as_bgr)


def load_dicom_as_bgr(path: Path) -> np.ndarray:
    """A DICOS/DICOM image as 8-bit BGR, rendered as the service renders it (modality and VOI
    LUTs, palette colour; ``datasets/dicom.py``, which the service's decoder uses too)."""
    import pydicom

    from xscreen.datasets.dicom import dicom_to_rgb
    from xscreen.errors import XscreenError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rgb = dicom_to_rgb(pydicom.dcmread(path))
    except XscreenError as error:
        raise DatasetError(f"{path}: {error}") from None
    except Exception as error:  # pydicom's many failure types
        raise DatasetError(f"{path} cannot be decoded: {error}") from None
    return np.ascontiguousarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
