"""``xscreen synth``: the dataset on disk, determinism, bad arguments, interrupted runs."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import tifffile

from xscreen.cli import main
from xscreen.datasets import synth
from xscreen.datasets.coco import load_dataset


def digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "data"
    assert main(["synth", str(out), "--count", "6", "--seed", "3", "--size", "256",
                 "--quiet", "--contact-sheet", str(out.parent / "sheet.png")]) == 0
    return out


def test_writes_a_valid_coco_dataset_with_raw_pages(small: Path) -> None:
    dataset = load_dataset(small)
    assert len(dataset.images) == 6
    assert [c["name"] for c in dataset.coco["categories"]] == [
        "firearm", "narcotics", "gold", "counterfeit"]
    for record in dataset.images:
        assert (record.width, record.height) == (256, 179)
        with tifffile.TiffFile(dataset.raw_path(record)) as tif:
            assert len(tif.pages) == 2
            high, low = (page.asarray() for page in tif.pages)
        assert high.dtype == np.uint16 and high.shape == (179, 256)
        assert np.median(low) <= np.median(high)  # the low channel is attenuated more
    extras = [e for r in dataset.images for e in r.extras]
    assert all({"material", "mass_g", "concealment", "kind"} <= set(e) for e in extras)
    assert (small.parent / "sheet.png").stat().st_size > 1000


def test_same_seed_same_bytes_whatever_the_workers(small: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert main(["synth", str(again), "--count", "6", "--seed", "3", "--size", "256",
                 "--workers", "2", "--quiet"]) == 0
    assert digest(again) == digest(small)


@pytest.mark.parametrize("flag", ["--lookalike-share", "--texture-fill-share", "--personal-share",
                                  "--loose-share"])
def test_content_shares_reach_the_scenes(small: Path, tmp_path: Path, flag: str) -> None:
    """A share of 1 changes every parcel: the same seed draws other scans (0, the default, draws
    the same bytes as without the option)."""
    for share, same in (("0", True), ("1", False)):
        out = tmp_path / f"share{share}"
        assert main(["synth", str(out), "--count", "6", "--seed", "3", "--size", "256",
                     flag, share, "--quiet"]) == 0
        assert (digest(out) == digest(small)) is same


@pytest.mark.parametrize(("extra", "message"), [
    (["--count", "0"], "--count must be at least 1"),
    (["--count", "2", "--size", "10"], "--size must be between"),
    (["--count", "2", "--workers", "0"], "--workers must be between"),
    (["--count", "2", "--threat-share", "2"], "--threat-share"),
    (["--count", "2", "--lookalike-share", "-0.5"], "--lookalike-share must be between 0 and 1"),
    (["--count", "2", "--texture-fill-share", "1.5"],
     "--texture-fill-share must be between 0 and 1"),
    (["--count", "2", "--personal-share", "-1"], "--personal-share must be between 0 and 1"),
    (["--count", "2", "--loose-share", "2"], "--loose-share must be between 0 and 1"),
    (["--count", "2", "--palettes", "rainbow:1"], "unknown palette 'rainbow'"),
    (["--count", "2", "--palettes", "classic:x"], "not a number"),
])
def test_bad_arguments_exit_non_zero_with_a_message(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str) -> None:
    assert main(["synth", str(tmp_path / "out"), *extra]) != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_non_empty_or_unwritable_output_is_refused(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    assert main(["synth", str(tmp_path / "full"), "--count", "1"]) != 0
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    (tmp_path / "afile").write_text("x")
    assert main(["synth", str(tmp_path / "afile" / "sub"), "--count", "1"]) != 0
    assert "cannot create" in capsys.readouterr().err
    assert main(["synth", str(tmp_path / "afile"), "--count", "1"]) != 0
    assert "not a folder" in capsys.readouterr().err


def test_missing_count_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["synth", "somewhere"])
    assert exit_info.value.code != 0
    assert "--count" in capsys.readouterr().err


def test_interrupted_run_leaves_no_annotations(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = synth.make_image

    def dies_on_third(job: synth.SynthJob) -> dict:
        if job.index == 2:
            raise KeyboardInterrupt
        return real(job)

    monkeypatch.setattr(synth, "make_image", dies_on_third)
    out = tmp_path / "cut"
    assert main(["synth", str(out), "--count", "5", "--size", "128", "--quiet"]) == 130
    assert not (out / "annotations.json").exists()
    assert not list(out.glob(".annotations*"))


def test_annotation_file_is_plain_coco_json(small: Path) -> None:
    coco = json.loads((small / "annotations.json").read_text())
    assert coco["info"]["seed"] == 3
    ids = [a["id"] for a in coco["annotations"]]
    assert ids == list(range(1, len(ids) + 1))


def test_the_default_palette_mix_is_the_scenes() -> None:
    """The CLI had its own copy of the mix, which left out the pale and GDXray-like consoles."""
    import argparse

    from xscreen.datasets import synth_cli
    from xscreen.datasets.scene import SceneConfig

    parser = argparse.ArgumentParser()
    synth_cli.add_arguments(parser)
    args = parser.parse_args(["out", "--count", "1"])
    assert synth_cli._palettes(args.palettes) == SceneConfig().palettes
    assert {"pale_a", "grey_gdx"} <= {name for name, _ in SceneConfig().palettes}


def _children(pid: int) -> list[int]:
    """Direct children of ``pid``, from /proc (Linux)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_end_when_synth_is_killed(tmp_path: Path) -> None:
    """kill -9 of `xscreen synth` must not leave its workers writing into the folder."""
    import os
    import signal
    import subprocess
    import sys
    import time

    command = [sys.executable, "-m", "xscreen.cli", "synth", str(tmp_path / "data"), "--count",
               "400", "--size", "256", "--workers", "2", "--quiet"]
    parent = subprocess.Popen(command)
    workers: list[int] = []
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and len(workers) < 2:
            workers = [pid for pid in _children(parent.pid)
                       if "spawn_main" in Path(f"/proc/{pid}/cmdline").read_text(errors="ignore")]
            time.sleep(0.2)
        assert len(workers) >= 2, "the workers did not start"
        while time.monotonic() < deadline and not any((tmp_path / "data" / "images").glob("*")):
            time.sleep(0.2)   # the workers are drawing
        parent.send_signal(signal.SIGKILL)
        parent.wait()
        ended = time.monotonic() + 15
        while time.monotonic() < ended and any(_alive(pid) for pid in workers):
            time.sleep(0.2)
        assert not any(_alive(pid) for pid in workers), "orphaned workers still running"
    finally:
        parent.kill()
        for pid in workers:   # a failed run must not leave them behind either
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
