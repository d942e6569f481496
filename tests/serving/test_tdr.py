"""The DICOS Threat Detection Report, read back with pydicom and compared field by field with
the layout of shared/dicos/SimpleBaggageTDR.dcs."""

from __future__ import annotations

import io
from typing import Any

import pydicom
import pytest
from serving_support import dicos

from xscreen.serving.decode import TDR_SOP_CLASS
from xscreen.serving.tdr import build_tdr, tdr_bytes

pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR UI")

SCAN: dict[str, Any] = {
    "id": "0123456789abcdef0123456789abcdef", "created_at": "2026-11-27T08:00:00+00:00",
    "scanner_id": "lane-3", "manifest": {"declaration_id": "D-42"},
    "model": {"name": "xscreen-s", "version": "2026.11.27"}, "timings_ms": {"total": 42.5},
    "detections": [{"label": "firearm", "score": 0.91, "box": [10.0, 20.0, 60.0, 45.0]},
                   {"label": "gold", "score": 0.55, "box": [100.0, 5.5, 120.0, 30.0]}],
}
# Attributes of the example that say things we cannot know (the scanner's calibration, serial
# number, scale) or that belong to CT (mass, density, a voxel bitmap).
NOT_OURS = {"DeviceSerialNumber", "DateOfLastCalibration", "TimeOfLastCalibration",
            "ImageScaleRepresentation", "Mass", "Density", "ThreatROIBitmap", ""}


def read_back(scan: dict[str, Any]) -> pydicom.Dataset:
    return pydicom.dcmread(io.BytesIO(tdr_bytes(scan)))


def keywords(dataset: pydicom.Dataset) -> dict[str, str]:
    return {element.keyword: element.VR for element in dataset if element.keyword not in NOT_OURS}


def test_layout_matches_the_dicos_example_field_by_field() -> None:
    example = pydicom.dcmread(io.BytesIO(dicos("SimpleBaggageTDR.dcs")))
    ours = read_back(SCAN)
    assert keywords(ours) == keywords(example)                  # same attributes, same VRs
    ours_item, example_item = ours.ThreatSequence[0], example.ThreatSequence[0]
    assert keywords(ours_item) == keywords(example_item)
    for sequence in ("PTORepresentationSequence", "ATDAssessmentSequence"):
        ours_sub, example_sub = ours_item[sequence][0], example_item[sequence][0]
        extra = set(keywords(ours_sub)) - set(keywords(example_sub))
        assert extra <= {"ATDAssessmentProbability"}
        assert {k: v for k, v in keywords(ours_sub).items() if k not in extra} == \
            keywords(example_sub)
    roi = ours_item.PTORepresentationSequence[0].ThreatROIVoxelSequence[0]
    example_roi = example_item.PTORepresentationSequence[0].ThreatROIVoxelSequence[0]
    assert keywords(roi) == keywords(example_roi)


def test_values() -> None:
    ours = read_back(SCAN)
    assert ours.SOPClassUID == TDR_SOP_CLASS == ours.file_meta.MediaStorageSOPClassUID
    assert ours.Modality == "TDR" and ours.AlarmDecision == "ALARM"
    assert (ours.NumberOfTotalObjects, ours.NumberOfAlarmObjects) == (2, 2)
    assert list(ours.ThreatDetectionAlgorithmAndVersion) == ["xscreen-s", "2026.11.27"]
    assert ours.PatientID == "D-42" and ours.StationName == "lane-3"
    assert ours.TotalProcessingTime == pytest.approx(42.5)
    for pto_id, (item, detection) in enumerate(zip(ours.ThreatSequence, SCAN["detections"],
                                                    strict=True), start=1):
        assert item.PotentialThreatObjectID == pto_id
        representation = item.PTORepresentationSequence[0]
        roi = representation.ThreatROIVoxelSequence[0]
        x1, y1, x2, y2 = detection["box"]
        assert list(roi.ThreatROIBase) == pytest.approx([x1, y1, 0.0])
        assert list(roi.ThreatROIExtents) == pytest.approx([x2 - x1, y2 - y1, 0.0])
        assessment = item.ATDAssessmentSequence[0]
        assert assessment.ThreatCategoryDescription == detection["label"]
        assert assessment.ATDAssessmentProbability == pytest.approx(detection["score"])
        reference = representation.ReferencedInstanceSequence[0]
        assert reference.ReferencedSOPInstanceUID == ours.ReferencedStudySequence[0]\
            .ReferencedSOPInstanceUID
    assert ours.ThreatSequence[0].ATDAssessmentSequence[0].ThreatCategory == "PI"


def test_no_detections_is_clear_and_dicos_input_is_referenced() -> None:
    scan = {**SCAN, "detections": [], "meta": {
        "sop_class_uid": "1.2.840.10008.5.1.4.1.1.501.2.1", "sop_instance_uid": "1.2.3.4"}}
    ours = read_back(scan)
    assert ours.AlarmDecision == "CLEAR" and len(ours.ThreatSequence) == 0
    assert ours.ReferencedStudySequence[0].ReferencedSOPInstanceUID == "1.2.3.4"


def test_uids_are_stable_per_scan() -> None:
    assert build_tdr(SCAN).SOPInstanceUID == build_tdr(SCAN).SOPInstanceUID
    assert build_tdr(SCAN).SOPInstanceUID != build_tdr({**SCAN, "id": "x" * 32}).SOPInstanceUID
