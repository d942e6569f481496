"""The framework-free pipeline on a real exported model, and the micro-batcher."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from conftest import write_fake_bundle
from serving_support import png_bytes, raw_pair, real_bundle, scan_rgb, tiff_bytes

from xscreen.errors import XscreenError
from xscreen.models.runtime import OnnxDetector
from xscreen.serving.batching import DirectInfer, MicroBatcher, run_batch
from xscreen.serving.decode import decode_upload
from xscreen.serving.pipeline import Finding, Upload, parse_manifest, screen

ROWS = [[10, 20, 50, 60, 0.9, 0], [30, 30, 40, 40, 0.7, 1]]


def test_screen_on_a_real_model() -> None:
    detector = OnnxDetector(real_bundle(), threads=1)
    result = screen(Upload(image=png_bytes(scan_rgb(200, 120))), DirectInfer(detector))
    body = result.to_dict()
    assert body["image"] == {"width": 200, "height": 120}
    assert body["model"] == {"name": "xscreen-tiny", "version": "test-1"}
    assert set(body["timings_ms"]) >= {"decode", "model", "inference", "risk", "total"}
    assert 0 <= body["risk"]["score"] <= 100 and body["risk"]["level"] in ("low", "medium", "high")
    for record in body["detections"]:
        x1, y1, x2, y2 = record["box"]
        assert 0 <= x1 <= x2 <= 200 and 0 <= y1 <= y2 <= 120 and record["score"] >= 0.05


def test_detections_in_original_pixels_and_risk(tmp_path: Path) -> None:
    detector = OnnxDetector(write_fake_bundle(tmp_path / "b", ROWS, input_size=128))
    result = screen(Upload(image=png_bytes(scan_rgb(256, 192))), DirectInfer(detector))
    assert [d.label for d in result.detections] == ["firearm", "narcotics"]
    assert result.detections[0] == Finding("firearm", 0.9, (20.0, 40.0, 100.0, 120.0))  # 0.5 undone
    assert result.risk is not None
    assert result.risk.level == "high" and result.risk.action == "inspect" and result.risk.factors
    body = result.to_dict()
    assert body["detections"][0] == {"label": "firearm", "score": 0.9,
                                     "box": [20.0, 40.0, 100.0, 120.0]}
    assert body["risk"]["level"] == "high"


def test_detections_only_and_an_already_decoded_scan(tmp_path: Path) -> None:
    """/v1/detect asks for no risk; a stored scan is screened from its decoded form; a hook
    runs between decoding and the model (where the API stores the scan)."""
    detector = OnnxDetector(write_fake_bundle(tmp_path / "b", ROWS, input_size=128))
    upload = Upload(image=png_bytes(scan_rgb(256, 192)))
    seen: list[int] = []
    quick = screen(upload, DirectInfer(detector), assess_risk=False,
                   on_decoded=lambda scan: seen.append(scan.width))
    assert seen == [256] and quick.risk is None and "risk" not in quick.to_dict()
    assert set(quick.timings_ms) == {"decode", "model", "queue", "inference", "total"}
    again = screen(decode_upload(upload), DirectInfer(detector))
    assert again.detections == quick.detections and "decode" not in again.timings_ms


def test_raw_pair_upload(tmp_path: Path) -> None:
    high, low = raw_pair()
    detector = OnnxDetector(write_fake_bundle(tmp_path / "b", []))
    result = screen(Upload(high=tiff_bytes(high), low=tiff_bytes(low)), DirectInfer(detector))
    assert (result.width, result.height) == (160, 96) and result.detections == ()
    assert result.risk is not None and result.risk.level == "low"


@pytest.mark.parametrize(("upload", "words"), [
    (Upload(), "no scan"),
    (Upload(high=b"x"), "no scan"),
    (Upload(image=b"x", high=b"y", low=b"z"), "not both"),
])
def test_upload_shape_errors(upload: Upload, words: str) -> None:
    with pytest.raises(XscreenError, match=words) as caught:
        screen(upload, DirectInfer(OnnxDetector(real_bundle())))
    assert caught.value.http_status == 400


@pytest.mark.parametrize(("data", "field"), [
    ({"colour": "red"}, "colour"),
    ({"declared_value": {"amount": "ten", "currency": "EUR"}}, "declared_value.amount"),
    ({"shipper": {"name": "A", "planet": "Mars"}}, "shipper.planet"),
    ({"item_count": "3"}, "item_count"),
    ([1, 2], ""),
])
def test_manifest_errors_name_the_field(data: object, field: str) -> None:
    with pytest.raises(XscreenError) as caught:
        parse_manifest(data)
    assert caught.value.http_status == 422 and field in str(caught.value)


def test_batched_equals_direct_and_batches_form() -> None:
    detector = OnnxDetector(real_bundle(), threads=1)
    images = [scan_rgb(160, 96, seed) for seed in range(8)]
    direct = [DirectInfer(detector).infer(image).detections for image in images]
    batcher = MicroBatcher(detector, max_batch=8, max_wait_ms=50)
    results: list = [None] * len(images)

    def work(index: int) -> None:
        results[index] = batcher.infer(images[index])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    batcher.close()
    assert max(r.batch_size for r in results) > 1
    for expected, actual in zip(direct, results, strict=True):
        np.testing.assert_allclose(actual.detections.boxes, expected.boxes, atol=1e-3)
        np.testing.assert_allclose(actual.detections.scores, expected.scores, atol=1e-5)


def test_two_workers_run_batches_side_by_side_with_the_same_answers() -> None:
    detector = OnnxDetector(real_bundle(), threads=1)
    images = [scan_rgb(160, 96, seed) for seed in range(12)]
    direct = [DirectInfer(detector).infer(image).detections for image in images]
    batcher = MicroBatcher(detector, max_batch=2, max_wait_ms=20, workers=2)
    seen: set[str] = set()
    results: list = [None] * len(images)

    def work(index: int) -> None:
        results[index] = batcher.infer(images[index])
        seen.update(t.name for t in threading.enumerate() if t.name.startswith("xscreen-batch"))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(images))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"xscreen-batcher-0", "xscreen-batcher-1"}
    batcher.close()
    assert not [t for t in threading.enumerate() if t.name.startswith("xscreen-batcher")]
    for expected, actual in zip(direct, results, strict=True):
        np.testing.assert_allclose(actual.detections.boxes, expected.boxes, atol=1e-3)


def test_mixed_sizes_share_a_batch(tmp_path: Path) -> None:
    detector = OnnxDetector(write_fake_bundle(tmp_path / "b", ROWS, input_size=128))
    wide, tall = scan_rgb(256, 128), scan_rgb(128, 256)
    found = run_batch(detector, [wide, tall])
    assert found[0].boxes[0].tolist() == [20.0, 40.0, 100.0, 120.0]
    assert found[1].boxes[0].tolist() == [20.0, 40.0, 100.0, 120.0]


def test_a_request_placed_for_the_old_model_is_placed_again_after_a_swap(
        tmp_path: Path) -> None:
    """Callers letterbox before queueing; a swap to a model of another input size in between
    must not feed it the old placement (boxes would come back at the old scale, [20, 40, 100,
    120]; at the new one they are [40, 80, 200, 240] clipped to the 192-pixel height)."""
    from concurrent.futures import Future

    from xscreen.models.preprocess import letterbox
    from xscreen.serving.batching import _Request

    old = OnnxDetector(write_fake_bundle(tmp_path / "a", ROWS, input_size=128))
    new = OnnxDetector(write_fake_bundle(tmp_path / "b", ROWS, input_size=64))
    batcher = MicroBatcher(old, max_batch=4, max_wait_ms=1)
    image = scan_rgb(256, 192)
    request = _Request(image, letterbox(image, 128), 128, Future(), 0.0)
    batcher.swap(new)
    batcher._run([request])
    assert request.future.result().detections.boxes[0].tolist() == [40.0, 80.0, 200.0, 192.0]
    assert batcher.infer(image).detections.boxes[0].tolist() == [40.0, 80.0, 200.0, 192.0]
    batcher.close()


def test_swap_mid_stream_fails_no_request(tmp_path: Path) -> None:
    first = OnnxDetector(write_fake_bundle(tmp_path / "a", ROWS))
    second = OnnxDetector(write_fake_bundle(tmp_path / "b", ROWS[:1]))
    batcher = MicroBatcher(first, max_batch=4, max_wait_ms=1)
    errors: list[BaseException] = []

    def work() -> None:
        for _ in range(20):
            try:
                batcher.infer(scan_rgb(64, 64))
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for thread in threads:
        thread.start()
    batcher.swap(second)
    for thread in threads:
        thread.join()
    assert not errors and len(batcher.infer(scan_rgb(64, 64)).detections) == 1
    batcher.close()


def test_providers_prefer_accelerators_and_end_with_cpu(monkeypatch: pytest.MonkeyPatch) -> None:
    import onnxruntime as ort

    from xscreen.models.runtime import available_providers

    monkeypatch.setattr(ort, "get_available_providers", lambda: [
        "CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"])
    assert available_providers() == ["TensorrtExecutionProvider", "CUDAExecutionProvider",
                                     "CPUExecutionProvider"]
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    assert available_providers() == ["CPUExecutionProvider"]
    session = OnnxDetector(real_bundle(), threads=1).session
    assert session.get_providers()[-1] == "CPUExecutionProvider"
