"""The DICOS Threat Detection Report of a screened scan (CONTRACT "Images"; DICOS v03 TDR IOD).

Laid out like the DICOS examples (``shared/dicos/SimpleBaggageTDR.dcs``): patient/OOI, study and
series modules, then one Threat Sequence (4010,1011) item per detection with its PTO ID, a PTO
Representation item referencing the scanned image and a Threat ROI Voxel item (Base and Extents;
Z and depth 0 for a 2-D scan), and an ATD Assessment item (category, class name, probability);
then the alarm decision and the algorithm's name and version.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, UID, ExplicitVRLittleEndian, generate_uid

from xscreen.serving.decode import DX_PRESENTATION_SOP_CLASS, TDR_SOP_CLASS

# DICOS Threat Category defined terms for each contract class.
THREAT_CATEGORIES = {"firearm": "PI", "narcotics": "CONTRABAND", "gold": "CONTRABAND",
                     "counterfeit": "CONTRABAND"}


def image_reference(scan: dict[str, Any]) -> tuple[str, str]:
    """SOP class and instance UIDs of the scanned image: the DICOS input's own, or stable UIDs
    derived from the scan id for other formats."""
    meta = scan.get("meta") or {}
    if meta.get("sop_instance_uid"):
        return str(meta["sop_class_uid"]), str(meta["sop_instance_uid"])
    return DX_PRESENTATION_SOP_CLASS, generate_uid(entropy_srcs=[scan["id"], "image"])


def build_tdr(scan: dict[str, Any]) -> Dataset:
    """The TDR dataset of a screened scan dict (``id``, ``detections``, ``model``,
    ``timings_ms``, ``created_at``, optional ``meta`` and ``manifest``)."""
    now = datetime.now(UTC)
    dataset = Dataset()
    dataset.file_meta = _file_meta(generate_uid(entropy_srcs=[scan["id"], "tdr"]))
    _general_modules(dataset, scan, now)
    image_class, image_instance = image_reference(scan)
    dataset.ReferencedStudySequence = Sequence([_reference(image_class, image_instance)])
    dataset.ThreatSequence = Sequence([
        _threat_item(index + 1, detection, image_class, image_instance)
        for index, detection in enumerate(scan.get("detections") or [])])
    _tdr_module(dataset, scan, now)
    return dataset


def tdr_bytes(scan: dict[str, Any]) -> bytes:
    """The TDR as a DICOM Part 10 file (``application/dicom``)."""
    buffer = io.BytesIO()
    build_tdr(scan).save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _file_meta(instance_uid: str) -> FileMetaDataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = UID(TDR_SOP_CLASS)
    meta.MediaStorageSOPInstanceUID = UID(instance_uid)
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    meta.ImplementationVersionName = "xscreen"
    return meta


def _general_modules(dataset: Dataset, scan: dict[str, Any], now: datetime) -> None:
    """SOP common, OOI (patient), study, series and equipment attributes."""
    created = _parse_time(scan.get("created_at")) or now
    manifest = scan.get("manifest") or {}
    dataset.InstanceCreationDate, dataset.InstanceCreationTime = _da(now), _tm(now)
    dataset.SOPClassUID = TDR_SOP_CLASS
    dataset.SOPInstanceUID = dataset.file_meta.MediaStorageSOPInstanceUID
    dataset.StudyDate = dataset.SeriesDate = dataset.ContentDate = _da(created)
    dataset.StudyTime = dataset.SeriesTime = dataset.ContentTime = _tm(created)
    dataset.Modality = "TDR"
    dataset.Manufacturer = "xscreen"
    dataset.InstitutionName = "unknown"
    dataset.InstitutionAddress = "unknown"
    dataset.StationName = str(scan.get("scanner_id") or "unknown")[:16]
    dataset.InstitutionalDepartmentName = ""
    dataset.ManufacturerModelName = "xscreen screening service"
    dataset.PatientID = str(manifest.get("declaration_id") or scan["id"])[:64]
    dataset.IssuerOfPatientID = "xscreen"
    dataset.TypeOfPatientID = "TEXT"
    dataset.PatientSex = "U"
    dataset.OtherPatientIDsSequence = Sequence()
    dataset.SoftwareVersions = _algorithm(scan)[1]
    dataset.StudyInstanceUID = generate_uid(entropy_srcs=[scan["id"], "study"])
    dataset.SeriesInstanceUID = generate_uid(entropy_srcs=[scan["id"], "tdr-series"])
    dataset.FrameOfReferenceUID = generate_uid(entropy_srcs=[scan["id"], "frame"])
    dataset.StudyID = str(scan["id"])[:16]
    dataset.InstanceNumber = 1
    dataset.PositionReferenceIndicator = ""


def _reference(sop_class: str, sop_instance: str) -> Dataset:
    reference = Dataset()
    reference.ReferencedSOPClassUID = sop_class
    reference.ReferencedSOPInstanceUID = sop_instance
    return reference


def _threat_item(pto_id: int, detection: dict[str, Any], image_class: str,
                 image_instance: str) -> Dataset:
    x1, y1, x2, y2 = (float(v) for v in detection["box"])
    roi = Dataset()
    roi.ThreatROIBase = [x1, y1, 0.0]
    roi.ThreatROIExtents = [x2 - x1, y2 - y1, 0.0]
    representation = Dataset()
    representation.ReferencedInstanceSequence = Sequence([_reference(image_class,
                                                                     image_instance)])
    representation.ThreatROIVoxelSequence = Sequence([roi])
    assessment = Dataset()
    assessment.ThreatCategory = THREAT_CATEGORIES.get(detection["label"], "OTHER")
    assessment.ThreatCategoryDescription = detection["label"]
    assessment.ATDAbilityAssessment = "NO_INTERFERENCE"
    assessment.ATDAssessmentFlag = "THREAT"
    assessment.ATDAssessmentProbability = float(detection["score"])
    item = Dataset()
    item.PotentialThreatObjectID = pto_id
    item.PTORepresentationSequence = Sequence([representation])
    item.ATDAssessmentSequence = Sequence([assessment])
    return item


def _tdr_module(dataset: Dataset, scan: dict[str, Any], now: datetime) -> None:
    detections = scan.get("detections") or []
    dataset.AbortFlag = "SUCCESS"
    dataset.TDRType = "MACHINE"
    dataset.ThreatDetectionAlgorithmAndVersion = list(_algorithm(scan))
    dataset.AlarmDecisionTime = now.strftime("%Y%m%d%H%M%S.%f+0000")
    dataset.AlarmDecision = "ALARM" if detections else "CLEAR"
    dataset.NumberOfTotalObjects = len(detections)
    dataset.NumberOfAlarmObjects = len(detections)
    dataset.DICOSVersion = "V03"
    dataset.OOIType = "BAGGAGE"
    dataset.AcquisitionStatus = "SUCCESSFUL"
    dataset.ScanType = "OPERATIONAL"
    dataset.AlgorithmRoutingCodeSequence = Sequence()
    dataset.TotalProcessingTime = float((scan.get("timings_ms") or {}).get("total", 0.0))
    dataset.AdditionalScreeningPerformed = "NO"


def _algorithm(scan: dict[str, Any]) -> tuple[str, str]:
    model = scan.get("model") or {}
    return str(model.get("name") or "xscreen")[:64], str(model.get("version") or "unknown")[:64]


def _parse_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _da(moment: datetime) -> str:
    return moment.strftime("%Y%m%d")


def _tm(moment: datetime) -> str:
    return moment.strftime("%H%M%S.%f")
