"""Tests of ``xscreen import``: VOC and YOLO round trips, class mapping, and every bad input."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
import yaml

from xscreen import CLASSES, cli
from xscreen.datasets.coco import categories, load_dataset, write_annotations
from xscreen.datasets.importers import ImportReport, import_voc, import_yolo, resolve_class_map
from xscreen.errors import UsageError

BACKGROUND = 255
BOX_COLOUR = (40, 90, 200)


@dataclass
class Scene:
    """An image to write and its boxes: ``(class name, x, y, w, h)`` in 0-based pixels."""

    name: str
    width: int = 64
    height: int = 48
    boxes: list[tuple[str, int, int, int, int]] = field(default_factory=list)


SCENES = [
    Scene("first", boxes=[("firearm", 0, 0, 10, 8), ("gold", 30, 20, 34, 28)]),
    Scene("second", width=40, height=30, boxes=[("narcotics", 5, 6, 1, 1)]),
    Scene("empty"),
    Scene("third", boxes=[("counterfeit", 10, 12, 20, 15)]),
]


def draw(scene: Scene) -> np.ndarray:
    """A white image with each box filled exactly over its pixels."""
    image = np.full((scene.height, scene.width, 3), BACKGROUND, np.uint8)
    for _, x, y, w, h in scene.boxes:
        image[y:y + h, x:x + w] = BOX_COLOUR
    return image


def voc_xml(scene: Scene, filename: str, declared: tuple[int, int] | None = None) -> str:
    """VOC XML, boxes in VOC's 1-based inclusive convention."""
    width, height = declared or (scene.width, scene.height)
    objects = "".join(
        f"<object><name>{label}</name><difficult>{int(label == 'gold')}</difficult><bndbox>"
        f"<xmin>{x + 1}</xmin><ymin>{y + 1}</ymin><xmax>{x + w}</xmax><ymax>{y + h}</ymax>"
        "</bndbox></object>"
        for label, x, y, w, h in scene.boxes)
    return (f"<annotation><filename>{filename}</filename><size><width>{width}</width>"
            f"<height>{height}</height><depth>3</depth></size>{objects}</annotation>")


def make_voc(root: Path, scenes: list[Scene], layout: str = "devkit") -> Path:
    """A VOC dataset: ``devkit`` (Annotations + JPEGImages), ``beside`` or ``flat``."""
    xml_folder = root if layout == "flat" else root / "Annotations"
    image_folder = root / "JPEGImages" if layout == "devkit" else xml_folder
    xml_folder.mkdir(parents=True, exist_ok=True)
    image_folder.mkdir(parents=True, exist_ok=True)
    for scene in scenes:
        cv2.imwrite(str(image_folder / f"{scene.name}.png"), draw(scene))
        (xml_folder / f"{scene.name}.xml").write_text(voc_xml(scene, f"{scene.name}.png"))
    return root


def yolo_rows(boxes: list[tuple[str, float, float, float, float]], width: int, height: int,
              names: list[str]) -> str:
    """YOLO label text (six decimals, as Ultralytics writes) from pixel boxes."""
    return "".join(
        f"{names.index(label)} {(x + w / 2) / width:.6f} {(y + h / 2) / height:.6f} "
        f"{w / width:.6f} {h / height:.6f}\n"
        for label, x, y, w, h in boxes)


def make_yolo(root: Path, scenes: list[Scene], layout: str = "flat",
              names_file: str = "data.yaml") -> Path:
    """A YOLO dataset: ``flat`` (images/, labels/), ``split`` (images/train, ...) or
    ``roboflow`` (train/images, ...); the first half of the scenes in train, the rest in val."""
    names = list(CLASSES)
    for number, scene in enumerate(scenes):
        split = "train" if number < len(scenes) / 2 else "val"
        images, labels = {
            "flat": (root / "images", root / "labels"),
            "split": (root / "images" / split, root / "labels" / split),
            "roboflow": (root / split / "images", root / split / "labels"),
        }[layout]
        images.mkdir(parents=True, exist_ok=True)
        labels.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(images / f"{scene.name}.jpg"), draw(scene),
                    [cv2.IMWRITE_JPEG_QUALITY, 100])
        if scene.boxes:
            rows = yolo_rows(list(scene.boxes), scene.width, scene.height, names)
            (labels / f"{scene.name}.txt").write_text(rows)
    if names_file == "data.yaml":
        (root / "data.yaml").write_text(yaml.safe_dump({"names": dict(enumerate(names))}))
    else:
        (root / names_file).write_text("\n".join(names) + "\n")
    return root


def coco_boxes(out: Path) -> dict[str, list[tuple[str, list[float]]]]:
    """``source stem -> [(class, bbox)]`` from an imported dataset, validated by load_dataset."""
    dataset = load_dataset(out)
    stems = {image["id"]: Path(image["source_file"]).stem for image in dataset.coco["images"]}
    result: dict[str, list[tuple[str, list[float]]]] = {stem: [] for stem in stems.values()}
    for record in dataset.images:
        for label, box in zip(record.labels, record.boxes, strict=True):
            result[stems[record.id]].append((CLASSES[label], box))
    return result


def expected_boxes(scenes: list[Scene]) -> dict[str, list[tuple[str, list[float]]]]:
    return {scene.name: [(label, [float(x), float(y), float(w), float(h)])
                         for label, x, y, w, h in scene.boxes] for scene in scenes}


@pytest.fixture
def run_cli(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> Any:
    """``xscreen <argv>`` through the real command line; returns (code, out, err)."""

    def run(*argv: str | Path) -> tuple[int, str, str]:
        code = cli.main([str(arg) for arg in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


# --- round trips -------------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["devkit", "beside", "flat"])
def test_voc_round_trip_keeps_boxes_to_the_pixel(tmp_path: Path, layout: str) -> None:
    src = make_voc(tmp_path / "voc", SCENES, layout)
    report = import_voc(src, tmp_path / "out")
    assert coco_boxes(tmp_path / "out") == expected_boxes(SCENES)
    assert report.images == 4 and report.boxes == dict.fromkeys(CLASSES, 1)
    assert report.warnings == []


def test_voc_boxes_cover_exactly_the_drawn_pixels(tmp_path: Path) -> None:
    """The 1-based VOC box converts to the COCO box whose pixels are the drawn rectangle."""
    import_voc(make_voc(tmp_path / "voc", SCENES), tmp_path / "out")
    dataset = load_dataset(tmp_path / "out")
    for record in dataset.images:
        image = cv2.imread(str(dataset.image_path(record)))
        drawn = np.all(image == BOX_COLOUR, axis=2)
        painted = np.zeros_like(drawn)
        for x, y, w, h in record.boxes:
            painted[int(y):int(y + h), int(x):int(x + w)] = True
        assert np.array_equal(drawn, painted), record.file_name


def test_voc_keeps_difficult_and_source_fields(tmp_path: Path) -> None:
    import_voc(make_voc(tmp_path / "voc", SCENES[:1]), tmp_path / "out")
    dataset = load_dataset(tmp_path / "out")
    extras = dataset.images[0].extras
    assert [e["difficult"] for e in extras] == [False, True]
    assert [e["source_class"] for e in extras] == ["firearm", "gold"]
    assert dataset.coco["images"][0]["source_file"] == "JPEGImages/first.png"
    assert dataset.coco["categories"] == categories()


@pytest.mark.parametrize(("layout", "names_file", "splits"), [
    ("flat", "data.yaml", {None}),
    ("split", "data.yaml", {"train", "val"}),
    ("roboflow", "data.yaml", {"train", "val"}),
    ("flat", "classes.txt", {None}),
    ("flat", "obj.names", {None}),
])
def test_yolo_round_trip_keeps_boxes_and_splits(tmp_path: Path, layout: str, names_file: str,
                                                splits: set[str | None]) -> None:
    src = make_yolo(tmp_path / "yolo", SCENES, layout, names_file)
    report = import_yolo(src, tmp_path / "out")
    imported = coco_boxes(tmp_path / "out")
    for stem, boxes in expected_boxes(SCENES).items():
        assert [label for label, _ in imported[stem]] == [label for label, _ in boxes]
        for (_, got), (_, want) in zip(imported[stem], boxes, strict=True):
            assert got == pytest.approx(want, abs=0.01)
    found = {image.get("split") for image in load_dataset(tmp_path / "out").coco["images"]}
    assert found == splits
    assert report.images == len(SCENES)


@pytest.mark.parametrize("layout", ["split", "roboflow"])
def test_yolo_split_names_the_output_files(tmp_path: Path, layout: str) -> None:
    import_yolo(make_yolo(tmp_path / "yolo", SCENES, layout), tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out" / "images").iterdir())
    assert names == ["train_first.png", "train_second.png", "val_empty.png", "val_third.png"]


def test_coco_to_yolo_to_coco_round_trip(tmp_path: Path) -> None:
    """A COCO dataset exported to YOLO (as a user's script would) imports back to its boxes."""
    coco_root = tmp_path / "coco"
    (coco_root / "images").mkdir(parents=True)
    coco: dict[str, Any] = {"images": [], "annotations": [], "categories": categories()}
    for image_id, scene in enumerate(SCENES, start=1):
        cv2.imwrite(str(coco_root / "images" / f"{scene.name}.png"), draw(scene))
        coco["images"].append({"id": image_id, "file_name": f"{scene.name}.png",
                               "width": scene.width, "height": scene.height})
        for label, x, y, w, h in scene.boxes:
            coco["annotations"].append({"id": len(coco["annotations"]) + 1,
                                        "image_id": image_id, "bbox": [x, y, w, h],
                                        "category_id": CLASSES.index(label) + 1})
    write_annotations(coco_root, coco)
    yolo_root = export_yolo(load_dataset(coco_root), tmp_path / "yolo")
    import_yolo(yolo_root, tmp_path / "out")
    original = coco_boxes_by_file(coco_root)
    for stem, boxes in coco_boxes(tmp_path / "out").items():
        assert [label for label, _ in boxes] == [label for label, _ in original[stem]]
        for (_, got), (_, want) in zip(boxes, original[stem], strict=True):
            assert got == pytest.approx(want, abs=0.01)


def export_yolo(dataset: Any, root: Path) -> Path:
    """A minimal COCO -> YOLO writer, independent of the importer under test."""
    (root / "images").mkdir(parents=True)
    (root / "labels").mkdir()
    (root / "data.yaml").write_text(yaml.safe_dump({"names": list(dataset.classes)}))
    for record in dataset.images:
        stem = Path(record.file_name).stem
        (root / "images" / record.file_name).write_bytes(dataset.image_path(record).read_bytes())
        boxes = [(dataset.classes[label], *box)
                 for label, box in zip(record.labels, record.boxes, strict=True)]
        (root / "labels" / f"{stem}.txt").write_text(
            yolo_rows(boxes, record.width, record.height, list(dataset.classes)))
    return root


def coco_boxes_by_file(root: Path) -> dict[str, list[tuple[str, list[float]]]]:
    dataset = load_dataset(root)
    return {Path(r.file_name).stem: [(CLASSES[label], box)
                                     for label, box in zip(r.labels, r.boxes, strict=True)]
            for r in dataset.images}


# --- images ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("suffix", "pixels", "expected_grey"), [
    (".png", np.full((20, 30), 100, np.uint8), 100),
    (".png", np.full((20, 30), 65535, np.uint16), 255),
    (".tiff", np.full((20, 30), 257 * 60, np.uint16), 60),
    (".png", np.full((20, 30, 4), 70, np.uint8), 70),
    (".bmp", np.full((20, 30, 3), 30, np.uint8), 30),
])
def test_images_become_eight_bit_rgb_png(tmp_path: Path, suffix: str, pixels: np.ndarray,
                                         expected_grey: int) -> None:
    src = tmp_path / "voc"
    src.mkdir()
    cv2.imwrite(str(src / f"scan{suffix}"), pixels)
    scene = Scene("scan", width=30, height=20, boxes=[("gold", 2, 3, 4, 5)])
    (src / "scan.xml").write_text(voc_xml(scene, f"scan{suffix}"))
    import_voc(src, tmp_path / "out")
    written = cv2.imread(str(tmp_path / "out" / "images" / "scan.png"), cv2.IMREAD_UNCHANGED)
    assert written.dtype == np.uint8 and written.shape == (20, 30, 3)
    assert np.all(written == expected_grey)


def test_size_mismatch_warns_and_uses_the_image(tmp_path: Path, run_cli: Any) -> None:
    src = make_voc(tmp_path / "voc", SCENES[:1])
    (src / "Annotations" / "first.xml").write_text(voc_xml(SCENES[0], "first.png", (640, 480)))
    code, _, err = run_cli("import", "voc", src, tmp_path / "out")
    assert code == 0 and "640x480" in err and "64x48" in err
    assert load_dataset(tmp_path / "out").images[0].width == 64


def test_unique_safe_names_for_clashing_stems(tmp_path: Path) -> None:
    src = tmp_path / "voc"
    src.mkdir()
    for suffix in (".png", ".jpg"):
        cv2.imwrite(str(src / f"bag 1{suffix}"), draw(Scene("x")))
        (src / f"bag 1{suffix}.xml").write_text(voc_xml(Scene("x"), f"bag 1{suffix}"))
    import_voc(src, tmp_path / "out")
    names = sorted(p.name for p in (tmp_path / "out" / "images").iterdir())
    assert names == ["bag_1.png", "bag_1_2.png"]


# --- class mapping -----------------------------------------------------------------------------

@pytest.mark.parametrize(("source_name", "overrides", "expected"), [
    ("Handgun", None, "firearm"),
    ("Gold Bar", None, "gold"),
    ("cocaine", None, "narcotics"),
    ("FAKE", None, "counterfeit"),
    ("NARCOTICS", None, "narcotics"),
    ("knife", None, None),
    ("knife", {"Knife": "firearm"}, "firearm"),
    ("gun", {"gun": "Gold"}, "gold"),
])
def test_class_map(source_name: str, overrides: dict[str, str] | None,
                   expected: str | None) -> None:
    mapping = resolve_class_map(overrides)
    assert mapping.get(source_name.lower().replace(" ", "_")) == expected


def test_class_map_refuses_unknown_target() -> None:
    with pytest.raises(UsageError, match="xscreen's classes are"):
        resolve_class_map({"knife": "blade"})


def with_knife(scene: Scene) -> Scene:
    return Scene(scene.name, scene.width, scene.height, [*scene.boxes, ("knife", 1, 1, 5, 5)])


def test_map_option_maps_a_class(tmp_path: Path, run_cli: Any) -> None:
    src = make_voc(tmp_path / "voc", [with_knife(SCENES[0])])
    code, out, _ = run_cli("import", "voc", src, tmp_path / "out", "--map", "knife=counterfeit")
    assert code == 0 and "counterfeit 1" in out
    assert coco_boxes(tmp_path / "out")["first"][-1] == ("counterfeit", [1.0, 1.0, 5.0, 5.0])


def test_skip_unknown_drops_and_counts(tmp_path: Path, run_cli: Any) -> None:
    src = make_voc(tmp_path / "voc", [with_knife(s) for s in SCENES[:2]])
    code, out, _ = run_cli("import", "voc", src, tmp_path / "out", "--skip-unknown")
    assert code == 0
    assert "imported 2 images" in out and "skipped 2 (knife 2)" in out
    assert all(label != "knife" for boxes in coco_boxes(tmp_path / "out").values()
               for label, _ in boxes)


def test_report_summary_is_one_line(tmp_path: Path) -> None:
    report = ImportReport(out=tmp_path, source_format="VOC", images=2,
                          boxes={"firearm": 3, "narcotics": 0, "gold": 1, "counterfeit": 0},
                          skipped={"knife": 2})
    assert report.summary() == (f"imported 2 images from VOC, 4 boxes (firearm 3, narcotics 0, "
                                f"gold 1, counterfeit 0), skipped 2 (knife 2) -> {tmp_path}")


def test_import_into_an_existing_empty_folder(tmp_path: Path, run_cli: Any) -> None:
    (tmp_path / "out").mkdir()
    code, out, _ = run_cli("import", "yolo", make_yolo(tmp_path / "yolo", SCENES),
                           tmp_path / "out")
    assert code == 0 and "imported 4 images from YOLO, 4 boxes" in out
    assert load_dataset(tmp_path / "out")


def test_new_out_gets_an_ordinary_folder_mode(tmp_path: Path) -> None:
    """The staging folder is private while written; the finished dataset is not."""
    import_voc(make_voc(tmp_path / "voc", SCENES), tmp_path / "out")
    (tmp_path / "plain").mkdir()
    assert (tmp_path / "out").stat().st_mode == (tmp_path / "plain").stat().st_mode


@pytest.mark.parametrize(("bndbox", "expected"), [
    ("<xmin>0</xmin><ymin>0</ymin><xmax>10</xmax><ymax>10</ymax>", [0.0, 0.0, 10.0, 10.0]),
    ("<xmin>31</xmin><ymin>21</ymin><xmax>41</xmax><ymax>31</ymax>", [30.0, 20.0, 10.0, 10.0]),
    ("<xmin>2.5</xmin><ymin>3</ymin><xmax>7.5</xmax><ymax>4</ymax>", [1.5, 2.0, 6.0, 2.0]),
])
def test_one_pixel_overhang_is_clipped(tmp_path: Path, bndbox: str,
                                       expected: list[float]) -> None:
    src = make_voc(tmp_path / "voc", [SCENES[1]])
    set_voc_box(src, bndbox)
    import_voc(src, tmp_path / "out")
    assert coco_boxes(tmp_path / "out")["second"] == [("gold", expected)]


# --- bad input ---------------------------------------------------------------------------------

def break_xml(root: Path) -> None:
    (root / "Annotations" / "second.xml").write_text("<annotation><object>")


def set_voc_box(root: Path, box: str) -> None:
    (root / "Annotations" / "second.xml").write_text(
        "<annotation><filename>second.png</filename><object><name>gold</name>"
        f"<bndbox>{box}</bndbox></object></annotation>")


def set_yolo_row(root: Path, row: str) -> None:
    (root / "labels" / "second.txt").write_text(f"0 0.5 0.5 0.1 0.1\n{row}\n")


VOC_BREAKAGES: list[tuple[str, Any, list[str]]] = [
    ("malformed xml", break_xml, ["second.xml", "not valid XML"]),
    ("zero width box", lambda r: set_voc_box(
        r, "<xmin>5</xmin><ymin>5</ymin><xmax>4</xmax><ymax>9</ymax>"),
     ["second.xml object 1", "non-positive size"]),
    ("box outside", lambda r: set_voc_box(
        r, "<xmin>5</xmin><ymin>5</ymin><xmax>43</xmax><ymax>9</ymax>"),
     ["second.xml object 1", "outside its 40x30 image"]),
    ("missing bndbox value", lambda r: set_voc_box(r, "<xmin>5</xmin>"),
     ["second.xml object 1", "numeric xmin"]),
    ("image missing", lambda r: (r / "JPEGImages" / "second.png").unlink(),
     ["second.png", "named by", "missing"]),
    ("image undecodable", lambda r: (r / "JPEGImages" / "third.png").write_bytes(b"not a png"),
     ["third.png", "cannot be decoded"]),
    ("unmapped class", lambda r: (r / "Annotations" / "third.xml").write_text(
        voc_xml(with_knife(SCENES[3]), "third.png")),
     ["'knife'", "--map knife=CLASS", "--skip-unknown"]),
    ("no annotations", lambda r: [p.unlink() for p in (r / "Annotations").glob("*.xml")],
     ["no VOC annotations found"]),
]


@pytest.mark.parametrize(("breakage", "expected"), [(b, e) for _, b, e in VOC_BREAKAGES],
                         ids=[name for name, _, _ in VOC_BREAKAGES])
def test_bad_voc_input_fails_cleanly(tmp_path: Path, run_cli: Any, breakage: Any,
                                     expected: list[str]) -> None:
    src = make_voc(tmp_path / "voc", SCENES)
    breakage(src)
    assert_fails_cleanly(run_cli, ["import", "voc", src, tmp_path / "out"], expected, tmp_path)


YOLO_BREAKAGES: list[tuple[str, Any, list[str]]] = [
    ("too few fields", lambda r: set_yolo_row(r, "1 0.5 0.5 0.2"),
     ["second.txt line 2", "expected 5 fields"]),
    ("segmentation row", lambda r: set_yolo_row(r, "1 0.1 0.1 0.2 0.1 0.2 0.2"),
     ["second.txt line 2", "got 7"]),
    ("value above one", lambda r: set_yolo_row(r, "1 0.5 1.5 0.2 0.2"),
     ["second.txt line 2", "in [0, 1]"]),
    ("negative value", lambda r: set_yolo_row(r, "1 0.5 0.5 -0.2 0.2"),
     ["second.txt line 2", "in [0, 1]"]),
    ("not a number", lambda r: set_yolo_row(r, "1 0.5 half 0.2 0.2"),
     ["second.txt line 2", "must be numbers"]),
    ("zero size", lambda r: set_yolo_row(r, "1 0.5 0.5 0 0.2"),
     ["second.txt line 2", "non-positive size"]),
    ("box outside", lambda r: set_yolo_row(r, "1 0.05 0.5 0.5 0.2"),
     ["second.txt line 2", "outside its 40x30 image"]),
    ("class index out of range", lambda r: set_yolo_row(r, "7 0.5 0.5 0.2 0.2"),
     ["second.txt line 2", "class index 7"]),
    ("label without image", lambda r: (r / "images" / "second.jpg").unlink(),
     ["second.txt", "no image"]),
    ("image undecodable", lambda r: (r / "images" / "third.jpg").write_bytes(b"\xff\xd8junk"),
     ["third.jpg", "cannot be decoded"]),
    ("no class names", lambda r: (r / "data.yaml").unlink(), ["no YOLO class names", "data.yaml"]),
    ("no labels", lambda r: [p.unlink() for p in (r / "labels").glob("*.txt")],
     ["no YOLO annotations found"]),
]


@pytest.mark.parametrize(("breakage", "expected"), [(b, e) for _, b, e in YOLO_BREAKAGES],
                         ids=[name for name, _, _ in YOLO_BREAKAGES])
def test_bad_yolo_input_fails_cleanly(tmp_path: Path, run_cli: Any, breakage: Any,
                                      expected: list[str]) -> None:
    src = make_yolo(tmp_path / "yolo", SCENES)
    breakage(src)
    assert_fails_cleanly(run_cli, ["import", "yolo", src, tmp_path / "out"], expected, tmp_path)


@pytest.mark.parametrize(("argv_tail", "expected"), [
    (["missing-src", "out"], ["missing-src", "does not exist"]),
    (["voc", "out-not-empty"], ["not empty"]),
    (["voc", "out", "--map", "knife"], ["SOURCE=CLASS"]),
    (["voc", "out", "--map", "knife=blade"], ["'blade'", "xscreen's classes are"]),
])
def test_bad_arguments_fail_cleanly(tmp_path: Path, run_cli: Any, argv_tail: list[str],
                                    expected: list[str]) -> None:
    make_voc(tmp_path / "voc", SCENES)
    (tmp_path / "out-not-empty").mkdir()
    (tmp_path / "out-not-empty" / "keep.txt").write_text("mine")
    code, _, err = run_cli("import", "voc", *[tmp_path / arg if i < 2 else arg
                                              for i, arg in enumerate(argv_tail)])
    assert code != 0
    for fragment in expected:
        assert fragment in err
    assert (tmp_path / "out-not-empty" / "keep.txt").read_text() == "mine"


def test_unknown_format_is_a_usage_error(tmp_path: Path, run_cli: Any,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        run_cli("import", "labelme", tmp_path, tmp_path / "out")
    assert exit_info.value.code == 2
    assert "invalid choice" in capsys.readouterr().err


def test_failure_leaves_an_existing_empty_out_empty(tmp_path: Path, run_cli: Any) -> None:
    src = make_voc(tmp_path / "voc", SCENES)
    (src / "JPEGImages" / "third.png").write_bytes(b"broken")
    (tmp_path / "out").mkdir()
    code, _, err = run_cli("import", "voc", src, tmp_path / "out")
    assert code != 0 and "third.png" in err
    assert list((tmp_path / "out").iterdir()) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out", "voc"]  # no staging left


def assert_fails_cleanly(run_cli: Any, argv: list[Any], expected: list[str],
                         tmp_path: Path) -> None:
    """Non-zero exit, every fragment on stderr, and no output folder or staging left behind."""
    code, out, err = run_cli(*argv)
    assert code != 0, out
    assert err.startswith("xscreen import: error: ")
    for fragment in expected:
        assert fragment in err, err
    assert [p.name for p in tmp_path.iterdir()] == [Path(argv[2]).name]  # only the source
