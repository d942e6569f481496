"""Letterbox: shapes, padding, greyscale, and the round trip back to original pixels."""

from __future__ import annotations

import numpy as np
import pytest

from xscreen.models.preprocess import LetterboxInfo, letterbox, unletterbox_boxes


@pytest.mark.parametrize(("height", "width", "size", "square", "expected_shape"), [
    (700, 1000, 512, False, (3, 384, 512)),    # 358 rows padded to 384
    (1000, 700, 512, False, (3, 512, 384)),
    (96, 128, 128, False, (3, 96, 128)),
    (700, 1000, 512, True, (3, 512, 512)),
    (50, 40, 64, False, (3, 64, 64)),          # small images are scaled up
])
def test_letterbox_shape(height: int, width: int, size: int, square: bool,
                         expected_shape: tuple[int, int, int]) -> None:
    array, info = letterbox(np.zeros((height, width, 3), np.uint8), size, square=square)
    assert array.shape == expected_shape
    assert array.dtype == np.float32
    assert info.scale == pytest.approx(size / max(height, width))


def test_letterbox_pads_with_white_and_scales_to_unit_range() -> None:
    image = np.zeros((70, 100, 3), np.uint8)
    image[:, :, 0] = 255
    array, _ = letterbox(image, 128)
    assert array.shape == (3, 96, 128)
    assert array[0, :89].min() == pytest.approx(1.0) and array[1, :89].max() == 0.0
    assert (array[:, 90:] == 1.0).all()       # padding rows: white (air)


@pytest.mark.parametrize("shape", [(60, 80), (60, 80, 1)])
def test_greyscale_becomes_three_equal_channels(shape: tuple[int, ...]) -> None:
    image = np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)
    array, _ = letterbox(image, 96)
    assert array.shape[0] == 3
    np.testing.assert_array_equal(array[0], array[1])
    np.testing.assert_array_equal(array[0], array[2])


def test_sixteen_bit_white_is_one() -> None:
    array, _ = letterbox(np.full((32, 32), 65535, np.uint16), 32)
    assert array.min() == pytest.approx(1.0)


@pytest.mark.parametrize(("shape", "size"), [((10, 10, 2), 32), ((10, 10, 3), 100)])
def test_bad_inputs_raise(shape: tuple[int, ...], size: int) -> None:
    with pytest.raises(ValueError, match=r"expected|multiple of 32"):
        letterbox(np.zeros(shape, np.uint8), size)


@pytest.mark.parametrize(("stride", "expected_shape"), [
    (32, (3, 384, 512)), (64, (3, 384, 512)), (128, (3, 384, 512)), (256, (3, 512, 512)),
    (16, (3, 368, 512)),
])
def test_letterbox_pads_to_multiples_of_its_stride(stride: int,
                                                   expected_shape: tuple[int, int, int]) -> None:
    array, _ = letterbox(np.zeros((700, 1000, 3), np.uint8), 512, stride=stride)  # 358 rows
    assert array.shape == expected_shape
    assert (array[:, 358:] == 1.0).all()


@pytest.mark.parametrize(("stride", "message"), [(0, "must be positive"), (-32, "positive"),
                                                 (96, "multiple of 96")])
def test_a_bad_stride_is_refused(stride: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        letterbox(np.zeros((70, 100, 3), np.uint8), 512, stride=stride)


def test_unletterbox_inverts_the_scale_and_clips() -> None:
    _, info = letterbox(np.zeros((700, 1000, 3), np.uint8), 512)
    original = np.array([[100.0, 50.0, 300.0, 650.0]])
    in_input = original * info.scale
    np.testing.assert_allclose(unletterbox_boxes(in_input, info, 1000, 700), original, rtol=1e-5)
    clipped = unletterbox_boxes(np.array([[-5.0, -5.0, 600.0, 600.0]]), info, 1000, 700)
    np.testing.assert_allclose(clipped, [[0, 0, 1000, 700]])


def test_unletterbox_subtracts_padding() -> None:
    boxes = unletterbox_boxes(np.array([[12.0, 22.0, 32.0, 42.0]]), LetterboxInfo(2.0, 2, 2),
                              100, 100)
    np.testing.assert_allclose(boxes, [[5, 10, 15, 20]])
