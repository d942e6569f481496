"""``xscreen import coco | verdicts | dicos``: round trips (boxes written in the format come back
the same), added classes, the hold-out share, and every bad input failing cleanly."""

from __future__ import annotations

import io
import json
import warnings
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from xscreen import CLASSES, cli
from xscreen.datasets.coco import categories, load_dataset
from xscreen.datasets.splits import HOLDOUT, choose_holdout, holdout_part, without_holdout

pytestmark = pytest.mark.filterwarnings("ignore:Invalid value for VR UI")
SHARED_DICOS = Path(__file__).resolve().parents[3] / "shared" / "dicos"
Box = tuple[str, float, float, float, float]           # class, x, y, width, height (pixels)
SCENES: dict[str, list[Box]] = {
    "bag_a": [("gold", 10, 12, 30, 20), ("firearm", 60, 5, 50, 40)],
    "bag_b": [("narcotics", 0, 0, 25, 25)],
    "cleared": [],
    "bag_c": [("counterfeit", 90, 50, 38, 30), ("gold", 40.5, 60.25, 12.5, 9.75)],
}
WIDTH, HEIGHT = 128, 96


def image(name: str) -> np.ndarray:
    rgb = np.full((HEIGHT, WIDTH, 3), 255, np.uint8)
    for _, x, y, w, h in SCENES[name]:
        rgb[int(y):int(y + h), int(x):int(x + w)] = (30, 90, 200)
    return rgb


def run_cli(capsys: pytest.CaptureFixture[str], *argv: str | Path) -> tuple[int, str, str]:
    code = cli.main([str(arg) for arg in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def imported_boxes(out: Path, classes: tuple[str, ...] = CLASSES) -> dict[str, list[Box]]:
    """``source stem -> boxes`` of an imported dataset (validated by load_dataset)."""
    dataset = load_dataset(out, classes)
    stems = {i["id"]: Path(i["source_file"]).stem for i in dataset.coco["images"]}
    return {stems[r.id]: [(classes[label], *box) for label, box in
                          zip(r.labels, r.boxes, strict=True)] for r in dataset.images}


# --- writers of each format, independent of the importers --------------------------------------

def write_coco(root: Path, layout: str = "plain") -> Path:
    """COCO as xscreen writes it (``plain``) or as Roboflow exports it (``roboflow``)."""
    folder = root / "train" if layout == "roboflow" else root / "images"
    folder.mkdir(parents=True)
    coco: dict[str, Any] = {"images": [], "annotations": [], "categories": [
        {"id": 7 + i, "name": name.upper()} for i, name in enumerate(CLASSES)]}
    for image_id, name in enumerate(SCENES, start=1):
        cv2.imwrite(str(folder / f"{name}.jpg"), image(name)[:, :, ::-1],
                    [cv2.IMWRITE_JPEG_QUALITY, 100])
        coco["images"].append({"id": image_id, "file_name": f"{name}.jpg", "width": WIDTH,
                               "height": HEIGHT, "palette": "classic"})
        for label, *box in SCENES[name]:
            coco["annotations"].append({"id": len(coco["annotations"]) + 1,
                                        "image_id": image_id, "iscrowd": 0, "bbox": box,
                                        "category_id": 7 + CLASSES.index(label),
                                        "concealment": "none"})
    target = folder / "_annotations.coco.json" if layout == "roboflow" \
        else root / "annotations.json"
    target.write_text(json.dumps(coco))
    return root


def write_verdict_export(root: Path) -> Path:
    """What GET /v1/training-export returns: the service's own writer."""
    from xscreen.serving.training_export import Example, coco_zip

    examples = [Example(f"{name}.png", image(name), "cleared" if not boxes else
                        "threat_confirmed",
                        [{"label": label, "box": [x, y, x + w, y + h]}
                         for label, x, y, w, h in boxes]) for name, boxes in SCENES.items()]
    root.mkdir(parents=True)
    path = root / "verdicts.zip"
    path.write_bytes(coco_zip(examples, CLASSES))
    return path


def dicos_image(name: str, uid: str, palette: bool = False) -> bytes:
    """A DICOS DX image (greyscale) of a scene, as a scanner would send it."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian

    grey = cv2.cvtColor(image(name), cv2.COLOR_RGB2GRAY)
    dataset = Dataset()
    dataset.file_meta = FileMetaDataset()
    dataset.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.501.2.1"
    dataset.file_meta.MediaStorageSOPInstanceUID = uid
    dataset.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    dataset.SOPClassUID, dataset.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.501.2.1", uid
    dataset.Modality = "DX"
    dataset.Rows, dataset.Columns = grey.shape
    dataset.SamplesPerPixel, dataset.PhotometricInterpretation = 1, "MONOCHROME2"
    dataset.BitsAllocated = dataset.BitsStored = 8
    dataset.HighBit, dataset.PixelRepresentation = 7, 0
    dataset.PixelData = grey.tobytes()
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def tdr(uid: str, boxes: list[Box], sop_class: str = "1.2.840.10008.5.1.4.1.1.501.2.1") -> bytes:
    """A TDR over the image ``uid`` with ``boxes``: the service's own TDR writer."""
    from xscreen.serving.tdr import tdr_bytes

    scan = {"id": uid, "created_at": None, "model": {"name": "operator", "version": "1"},
            "meta": {"sop_class_uid": sop_class, "sop_instance_uid": uid},
            "detections": [{"label": label, "score": 1.0, "box": [x, y, x + w, y + h]}
                           for label, x, y, w, h in boxes]}
    return tdr_bytes(scan)


def write_dicos(root: Path) -> Path:
    """One DX file per scene, each with its TDR (the cleared scene's TDR has no threats), in
    nested folders with scanner-style names."""
    for number, name in enumerate(SCENES, start=1):
        folder = root / f"lane{number % 2}"
        folder.mkdir(parents=True, exist_ok=True)
        uid = f"1.2.826.0.1.3680043.8.498.{number}"
        (folder / f"{name}.dcs").write_bytes(dicos_image(name, uid))
        (root / f"report_{number}").write_bytes(tdr(uid, SCENES[name]))
    return root


FORMATS: list[tuple[str, Callable[[Path], Path]]] = [
    ("coco", write_coco),
    ("coco", lambda root: write_coco(root, "roboflow")),
    ("verdicts", write_verdict_export),
    ("dicos", write_dicos),
]


@pytest.mark.parametrize(("fmt", "writer"), FORMATS,
                         ids=["coco", "coco-roboflow", "verdicts", "dicos"])
def test_round_trip_keeps_every_box(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    fmt: str, writer: Callable[[Path], Path]) -> None:
    source = writer(tmp_path / "src")
    code, out, err = run_cli(capsys, "import", fmt, source, tmp_path / "out")
    assert code == 0, err
    assert imported_boxes(tmp_path / "out") == {name: [(b[0], *map(float, b[1:])) for b in boxes]
                                                for name, boxes in SCENES.items()}
    assert f"imported {len(SCENES)} images" in out
    written = cv2.imread(str(next((tmp_path / "out" / "images").iterdir())))
    assert written.shape == (HEIGHT, WIDTH, 3)


def test_extras_travel_with_the_images(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_cli(capsys, "import", "verdicts", write_verdict_export(tmp_path / "v"), tmp_path / "v_out")
    verdicts = {Path(i["source_file"]).stem: i["verdict"]
                for i in load_dataset(tmp_path / "v_out").coco["images"]}
    assert verdicts["cleared"] == "cleared" and verdicts["bag_a"] == "threat_confirmed"
    run_cli(capsys, "import", "coco", write_coco(tmp_path / "c"), tmp_path / "c_out")
    dataset = load_dataset(tmp_path / "c_out")
    assert dataset.coco["images"][0]["palette"] == "classic"
    assert dataset.images[0].extras[0]["concealment"] == "none"
    assert dataset.images[0].extras[0]["source_class"] == "GOLD"
    run_cli(capsys, "import", "dicos", write_dicos(tmp_path / "d"), tmp_path / "d_out")
    entry = load_dataset(tmp_path / "d_out").coco["images"][0]
    assert entry["sop_instance_uid"].startswith("1.2.826.") and entry["tdr_type"] == "MACHINE"


def test_real_dicos_images_with_a_tdr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The DICOS toolkit's DX files (monochrome and palette colour) with TDRs pointing at them;
    the toolkit's own TDRs refer to CT volumes that are not there: warned about, skipped."""
    import pydicom

    source = tmp_path / "src"
    source.mkdir()
    boxes = {"SimplePresentationDX": [("gold", 10, 20, 50, 30)],
             "SimpleColorPaletteDX": [("firearm", 100, 5, 150, 95), ("narcotics", 1, 2, 3, 4)]}
    for name in (*boxes, "SimpleProcessingDX"):
        data = (SHARED_DICOS / f"{name}.dcs").read_bytes()
        (source / f"{name}.dcs").write_bytes(data)
        if name in boxes:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                header = pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True)
            (source / f"{name}_TDR.dcs").write_bytes(
                tdr(str(header.SOPInstanceUID), boxes[name], str(header.SOPClassUID)))
    (source / "SimpleBaggageTDR.dcs").write_bytes(
        (SHARED_DICOS / "SimpleBaggageTDR.dcs").read_bytes())
    code, out, err = run_cli(capsys, "import", "dicos", source, tmp_path / "out")
    assert code == 0, err
    assert imported_boxes(tmp_path / "out") == {
        name: [(b[0], *map(float, b[1:])) for b in found] for name, found in boxes.items()}
    assert "no TDR refers to" in err and "SimpleProcessingDX" in err
    assert "not in the source folder" in err
    code, out, _ = run_cli(capsys, "import", "dicos", source, tmp_path / "all",
                           "--keep-unreported")
    assert code == 0 and "imported 3 images" in out


def test_added_class_and_holdout(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = write_coco(tmp_path / "src")
    coco = json.loads((source / "annotations.json").read_text())
    coco["categories"].append({"id": 99, "name": "Knife"})
    coco["annotations"].append({"id": 50, "image_id": 3, "category_id": 99,
                                "bbox": [5, 5, 10, 10]})
    (source / "annotations.json").write_text(json.dumps(coco))
    code, _, err = run_cli(capsys, "import", "coco", source, tmp_path / "refused")
    assert code != 0 and "'Knife'" in err and "--add-class" in err
    code, out, _ = run_cli(capsys, "import", "coco", source, tmp_path / "out", "--add-class",
                           "knife", "--holdout", "0.5", "--seed", "1")
    classes = (*CLASSES, "knife")
    assert code == 0 and "knife 1" in out and "held out (split 'holdout')" in out
    dataset = load_dataset(tmp_path / "out", classes)
    assert dataset.coco["categories"] == categories(classes)
    assert ("knife", 5.0, 5.0, 10.0, 10.0) in imported_boxes(tmp_path / "out", classes)["cleared"]
    held, kept = holdout_part(dataset), without_holdout(dataset)
    assert len(held.images) + len(kept.images) == len(SCENES) and held.images and kept.images
    assert {a["image_id"] for a in held.coco["annotations"]} <= {r.id for r in held.images}


def test_holdout_draw_is_seeded_and_takes_from_both_groups() -> None:
    flags = [True] * 20 + [False] * 10
    chosen = choose_holdout(flags, 0.2, seed=3)
    assert chosen == choose_holdout(flags, 0.2, seed=3) != choose_holdout(flags, 0.2, seed=4)
    assert sum(flags[i] for i in chosen) == 4 and sum(not flags[i] for i in chosen) == 2
    assert choose_holdout(flags, 0.0, seed=3) == set()
    assert HOLDOUT == "holdout"


def _zip_with(member: str) -> Callable[[Path], Path]:
    def write(root: Path) -> Path:
        root.mkdir(parents=True)
        path = root / "export.zip"
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr(member, "{}")
        return path
    return write


def _coco_with(change: Callable[[dict[str, Any]], None]) -> Callable[[Path], Path]:
    def write(root: Path) -> Path:
        write_coco(root)
        coco = json.loads((root / "annotations.json").read_text())
        change(coco)
        (root / "annotations.json").write_text(json.dumps(coco))
        return root
    return write


def _dicos_with(change: Callable[[Path], None]) -> Callable[[Path], Path]:
    def write(root: Path) -> Path:
        write_dicos(root)
        change(root)
        return root
    return write


def _truncate(root: Path) -> None:
    path = root / "lane1" / "bag_a.dcs"
    path.write_bytes(path.read_bytes()[:-2000])


def _bad_roi(root: Path) -> None:
    import pydicom

    path = root / "report_1"
    dataset = pydicom.dcmread(path)
    del dataset.ThreatSequence[0].PTORepresentationSequence[0].ThreatROIVoxelSequence
    dataset.save_as(path)


def _images_only(root: Path) -> Path:
    (root / "images").mkdir(parents=True)
    return root


def _not_json(root: Path) -> Path:
    write_coco(root)
    (root / "annotations.json").write_text("{oops")
    return root


def _not_a_zip(root: Path) -> Path:
    root.mkdir(parents=True)
    (root / "x.zip").write_bytes(b"PK not really")
    return root / "x.zip"


BAD_INPUTS: list[tuple[str, str, Callable[[Path], Path], list[str]]] = [
    ("coco no annotations", "coco", _images_only, ["no COCO annotations found"]),
    ("coco not json", "coco", _not_json, ["not valid JSON"]),
    ("coco missing image", "coco", _coco_with(
        lambda c: c["images"][0].update(file_name="gone.jpg")), ["'gone.jpg'", "is missing"]),
    ("coco bad bbox", "coco", _coco_with(lambda c: c["annotations"][0].update(bbox=[1, 2, 3])),
     ["annotation 1", "bbox must be"]),
    ("coco box outside", "coco", _coco_with(
        lambda c: c["annotations"][0].update(bbox=[120, 0, 30, 10])), ["outside its 128x96"]),
    ("coco unknown category", "coco", _coco_with(
        lambda c: c["annotations"][0].update(category_id=42)), ["unknown category_id 42"]),
    ("coco unknown image", "coco", _coco_with(
        lambda c: c["annotations"][0].update(image_id=42)), ["unknown image 42"]),
    ("verdicts not a zip", "verdicts", _not_a_zip, ["is not a zip file"]),
    ("verdicts unsafe member", "verdicts", _zip_with("../evil.json"), ["unsafe path"]),
    ("verdicts missing", "verdicts", lambda r: r / "absent.zip", ["does not exist",
                                                                   "training-export"]),
    ("dicos nothing matches", "dicos", _dicos_with(
        lambda r: [p.unlink() for p in r.glob("report_*")]), ["no DICOS image", "TDR"]),
    ("dicos truncated pixels", "dicos", _dicos_with(_truncate), ["bag_a.dcs", "cannot be"]),
    ("dicos tdr without roi", "dicos", _dicos_with(_bad_roi), ["PTO 1", "Threat ROI"]),
]


@pytest.mark.parametrize(("fmt", "writer", "expected"), [case[1:] for case in BAD_INPUTS],
                         ids=[case[0] for case in BAD_INPUTS])
def test_bad_input_fails_cleanly(tmp_path: Path, capsys: pytest.CaptureFixture[str], fmt: str,
                                 writer: Callable[[Path], Path], expected: list[str]) -> None:
    source = writer(tmp_path / "src")
    code, _, err = run_cli(capsys, "import", fmt, source, tmp_path / "out")
    assert code != 0
    for fragment in expected:
        assert fragment in err
    assert not (tmp_path / "out").exists()


def test_options_that_do_not_apply_are_refused(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    source = write_coco(tmp_path / "src")
    for argv, message in [(["--keep-unreported"], "dicos format only"),
                          (["--holdout", "1.5"], "--holdout"),
                          (["--add-class", "gold"], "already one of"),
                          (["--add-class", "Big Knife"], "lower case")]:
        code, _, err = run_cli(capsys, "import", "coco", source, tmp_path / "out", *argv)
        assert code == 2 and message in err, (argv, err)

