"""Real scanners' looks: pale and greyscale palettes, scatter, artefacts, fan beam, JPEG."""

from collections.abc import Callable

import cv2
import numpy as np
import pytest

from xscreen.datasets.colour import PALETTES, calibrate, get_palette, jpeg_roundtrip, render
from xscreen.datasets.physics import (
    FanBeam,
    Scanner,
    ScannerConfig,
    draw_defect_lines,
    get_scanner,
    scatter,
)
from xscreen.datasets.scene import FanBeamMaps, SceneConfig, magnify_rows, synthesise_scan
from xscreen.datasets.shapes import Item, LabelledObject

PALE = ("pale_a", "pale_b")
GREYSCALE = sorted(name for name, palette in PALETTES.items() if palette.greyscale)
# A detector with every artefact on, hard enough to see in a small image.
ARTEFACTS = ScannerConfig(scatter_fraction=0.03, board_gain_sigma=0.01, line_gain_sigma=0.01,
                          defect_lines=3.0)


def slab_rgb(name: str, thickness_cm: float, palette: str) -> np.ndarray:
    """A 24x24 slab on a 48x48 frame of air, acquired by the default scanner and rendered."""
    paths = {name: np.zeros((48, 48), np.float32)}
    paths[name][12:36, 12:36] = thickness_cm
    high, low = get_scanner().acquire(paths, np.random.default_rng(0))
    return render(high, low, palette)


def median_hsv(rgb: np.ndarray) -> tuple[float, float, float]:
    """Median hue (degrees), saturation and value (0-1) of the slab's centre."""
    hsv = cv2.cvtColor(rgb[16:32, 16:32], cv2.COLOR_RGB2HSV_FULL).reshape(-1, 3)
    h, s, v = np.median(hsv.astype(np.float64), axis=0)
    return h * 360 / 255, s / 255, v / 255


@pytest.mark.parametrize("palette", PALE)
@pytest.mark.parametrize(("name", "thickness_cm", "hues", "max_saturation", "min_value"), [
    ("cotton", 2.0, (15, 50), 0.35, 0.85),        # a folded shirt: beige-orange, pale
    ("water", 1.0, (15, 50), 0.35, 0.85),
    ("aluminium", 0.3, (75, 170), 0.35, 0.85),    # thin inorganic: pale green
    ("steel", 0.05, (190, 250), 0.45, 0.8),       # a wire: light blue
])
def test_pale_palettes_show_thin_matter_in_pale_colours(
        palette: str, name: str, thickness_cm: float, hues: tuple[int, int],
        max_saturation: float, min_value: float) -> None:
    hue, saturation, value = median_hsv(slab_rgb(name, thickness_cm, palette))
    assert hues[0] <= hue <= hues[1], f"{name} at hue {hue:.0f} in {palette}"
    assert 0.04 < saturation < max_saturation, f"{name} saturation {saturation:.2f}"
    assert value > min_value, f"{name} value {value:.2f}"


@pytest.mark.parametrize("palette", PALE)
def test_pale_palettes_keep_thick_organics_orange_and_bright(palette: str) -> None:
    hue, saturation, value = median_hsv(slab_rgb("cotton", 10.0, palette))
    assert 15 <= hue <= 50 and saturation > 0.3 and value > 0.8


@pytest.mark.parametrize("palette", PALE)
@pytest.mark.parametrize("thickness_cm", [0.6, 1.5, 3.0])
def test_pale_palettes_show_thick_steel_dark_blue_or_near_black(palette: str,
                                                                 thickness_cm: float) -> None:
    hue, _saturation, value = median_hsv(slab_rgb("steel", thickness_cm, palette))
    assert value < 0.1 or (190 <= hue <= 250 and value < 0.6), (hue, value)


@pytest.mark.parametrize("palette", [*PALE, "grey_gdx"])
def test_new_palettes_show_air_white(palette: str) -> None:
    rgb = slab_rgb("steel", 0.3, palette)
    assert rgb[:6, :6].min() >= 245


@pytest.mark.parametrize("palette", PALE)
def test_pale_palettes_clip_air_noise_to_white(palette: str) -> None:
    """OPIXray's air is a flat 254: a console clips near-air to white, noise and all."""
    high, low = get_scanner().acquire({"air": np.zeros((40, 40), np.float32)},
                                      np.random.default_rng(2))
    assert render(high, low, palette).min() >= 250


@pytest.mark.parametrize("palette", GREYSCALE)
def test_greyscale_palettes_are_grey(palette: str) -> None:
    paths = {"steel": np.zeros((32, 32), np.float32), "cotton": np.zeros((32, 32), np.float32)}
    paths["steel"][4:12] = 0.4
    paths["cotton"][:, 8:24] = 6.0
    rgb = render(*get_scanner(ARTEFACTS).acquire(paths, np.random.default_rng(0)), palette)
    assert np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2])


def test_grey_gdx_is_dark_for_a_gun_and_mid_grey_for_a_bag_of_clothes() -> None:
    """GDXray's look: guns near black (grey 12-31 there), clothes mid grey (130-200)."""
    gun = median_hsv(slab_rgb("steel", 1.5, "grey_gdx"))[2] * 255
    clothes = median_hsv(slab_rgb("cotton", 8.0, "grey_gdx"))[2] * 255
    assert 3 < gun < 40, gun
    assert 100 < clothes < 230, clothes
    # ...and darker than the older grey palette shows the same gun
    assert gun < median_hsv(slab_rgb("steel", 1.5, "grey"))[2] * 255


@pytest.mark.parametrize("render_it", [
    lambda: render(np.ones((4, 4), np.uint16), np.ones((4, 4), np.uint16), "rainbow"),
    lambda: get_palette("rainbow"),
    lambda: SceneConfig(palettes=(("rainbow", 1.0),)),
])
def test_unknown_palette_is_refused_naming_the_known_ones(render_it: Callable[[], object]
                                                          ) -> None:
    with pytest.raises(ValueError, match=r"unknown palette 'rainbow'.*pale_a.*grey_gdx"):
        render_it()


@pytest.mark.parametrize("fraction", [0.005, 0.03, 0.2, 0.49])
def test_scatter_is_never_brighter_than_air_nor_negative(fraction: float) -> None:
    rng = np.random.default_rng(0)
    signal = rng.uniform(0.0, 1.0, (60, 80)).astype(np.float32)
    signal[:, :20] = 1.0                                   # air
    signal[20:40, 40:60] = 0.0                             # nothing passes
    hazy = scatter(signal, fraction, 12.0)
    assert hazy.dtype == np.float32 and hazy.shape == signal.shape
    assert hazy.max() <= 1.0 and hazy.min() >= 0.0
    assert np.all(scatter(np.ones((30, 30), np.float32), fraction, 12.0) <= 1.0)


def test_scatter_veils_a_dense_object_and_softens_its_edge() -> None:
    signal = np.ones((64, 64), np.float32)
    signal[24:40, 24:40] = 0.01
    hazy = scatter(signal, 0.05, 8.0)
    assert hazy[32, 32] > 0.012                       # the veil from the bright parcel around
    assert hazy[32, 20] < 1.0                         # and the parcel beside it a little darker
    assert np.array_equal(scatter(signal, 0.0, 8.0), signal)


def test_detector_artefacts_are_the_same_for_the_same_seed() -> None:
    scanner = Scanner(ARTEFACTS)
    paths = {"steel": np.zeros((40, 60), np.float32)}
    paths["steel"][10:30, 20:40] = 0.3
    clean = scanner.transmission(paths)
    first = scanner.detect(*clean, np.random.default_rng(9))
    again = scanner.detect(*clean, np.random.default_rng(9))
    other = scanner.detect(*clean, np.random.default_rng(10))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])
    assert draw_defect_lines(np.random.default_rng(4), (50, 70), 3.0) == \
        draw_defect_lines(np.random.default_rng(4), (50, 70), 3.0)


def test_defect_lines_run_along_the_belt() -> None:
    """A defect is one detector pixel (a row) gone bright or dark for one run of lines (x)."""
    config = ScannerConfig(photons_per_pixel=1e9, electronic_noise=0.0, row_gain_sigma=0.0,
                           blur_sigma_px=0.0, scan_blur_px=0.0, defect_lines=4.0)
    flat = np.full((50, 70), 0.9, np.float32)
    streaked = 0
    for seed in range(3):
        for channel in Scanner(config).detect(flat, flat.copy(), np.random.default_rng(seed)):
            off = np.abs(channel.astype(np.float64) / 65535 / 0.9 - 1.0) > 0.02
            for row in np.flatnonzero(off.any(axis=1)):
                run = np.flatnonzero(off[row])
                assert np.all(np.diff(run) == 1), f"row {row} is not one run along x"
                streaked += 1
    assert streaked > 0


def test_scanner_effects_are_checked() -> None:
    with pytest.raises(ValueError, match="scatter_fraction"):
        ScannerConfig(scatter_fraction=0.7)
    with pytest.raises(ValueError, match="defect_lines"):
        ScannerConfig(defect_lines=-1.0)


def test_detector_effects_share_one_calibration() -> None:
    """Noise, blur and artefacts do not move the Z calibration: one table, computed once."""
    assert ARTEFACTS.spectral() == ScannerConfig()
    assert calibrate(ARTEFACTS) is calibrate(ScannerConfig())


def test_fan_beam_magnifies_what_lies_nearer_the_source() -> None:
    fan = FanBeam(central_row=50.0, source_to_belt_mm=800.0, parcel_depth_mm=300.0)
    heights = [0.0, 100.0, 200.0, 300.0]
    magnifications = [fan.magnification(h) for h in heights]
    assert magnifications[0] == 1.0 and magnifications == sorted(magnifications, reverse=True)
    assert fan.magnification(300.0) == pytest.approx(800.0 / 1100.0)
    assert fan.project_row(50.0, 0.7) == 50.0 and fan.project_row(90.0, 0.5) == 70.0
    with pytest.raises(ValueError, match="source distance"):
        FanBeam(central_row=0.0, source_to_belt_mm=0.0, parcel_depth_mm=100.0)


def test_magnified_item_keeps_its_path_lengths_and_width() -> None:
    path = np.zeros((40, 30), np.float32)
    path[5:35, 5:25] = 0.8
    item = Item({"steel": path.copy()},
                [LabelledObject("firearm", "pistol", "steel", path.copy(), 500.0)])
    smaller = magnify_rows(item, 0.75)
    assert smaller.shape == (30, 30)
    assert smaller.layers["steel"].max() == pytest.approx(0.8)
    assert smaller.objects[0].source == "parametric" and smaller.objects[0].mass_g == 500.0
    assert magnify_rows(item, 1.0) is item


def test_fan_beam_boxes_stay_tight_and_shrink_across_the_belt_only() -> None:
    path = np.zeros((40, 30), np.float32)
    path[:, :] = 0.5
    item = Item({"steel": path.copy()},
                [LabelledObject("firearm", "pistol", "steel", path.copy(), 500.0)])
    fan = FanBeam(central_row=60.0, source_to_belt_mm=600.0, parcel_depth_mm=400.0)
    maps = FanBeamMaps(200, 120, fan, np.random.default_rng(0))
    (box,) = maps.place(item, 50, 40)
    x, y, w, h = box.box
    assert w == 30                                     # along the belt: no magnification
    assert 40 * 600 / 940 - 1 <= h <= 40               # across it: the item's height says
    rows, cols = np.nonzero(maps.layers["steel"] > 0.1)
    assert (x, y, x + w, y + h) == (cols.min(), rows.min(), cols.max() + 1, rows.max() + 1)


def test_a_deep_box_shows_a_double_edge() -> None:
    """Lid and base of a box project at different sizes: two walls where there is one."""
    frame = np.zeros((100, 100), np.float32)
    frame[10:90, 10:90] = 0.4
    frame[13:87, 13:87] = 0.0                          # a box outline, 3 pixels thick
    fan = FanBeam(central_row=50.0, source_to_belt_mm=600.0, parcel_depth_mm=300.0)
    maps = FanBeamMaps(120, 120, fan, np.random.default_rng(0))
    maps.place_shell(Item({"cardboard": frame}), 10, 10)
    column = maps.layers["cardboard"][:, 60]
    walls = np.flatnonzero(np.diff((column > 0.05).astype(int)) == 1)
    assert len(walls) == 4, column                     # two edges on each side
    assert column.max() == pytest.approx(0.2, abs=0.02)  # each copy holds half the paths


def test_jpeg_roundtrip_is_close_and_the_same_every_time() -> None:
    rgb = slab_rgb("steel", 0.3, "pale_a")
    once, twice = jpeg_roundtrip(rgb, 70), jpeg_roundtrip(rgb, 70)
    assert once.shape == rgb.shape and once.dtype == np.uint8
    assert np.array_equal(once, twice)
    assert np.abs(once.astype(int) - rgb.astype(int)).mean() < 6
    with pytest.raises(ValueError, match="quality"):
        jpeg_roundtrip(rgb, 0)
    with pytest.raises(ValueError, match="RGB"):
        jpeg_roundtrip(rgb[..., 0], 80)


def test_scan_with_every_effect_is_the_same_for_the_same_seed() -> None:
    config = SceneConfig(width=192, height=128, jpeg_share=1.0,
                         palettes=(("pale_a", 1.0), ("grey_gdx", 1.0)))
    a = synthesise_scan(np.random.default_rng([3, 1]), config)
    b = synthesise_scan(np.random.default_rng([3, 1]), config)
    assert np.array_equal(a.rgb, b.rgb) and np.array_equal(a.high, b.high)
    assert [x.box for x in a.annotations] == [x.box for x in b.annotations]


@pytest.mark.parametrize(("changes", "message"), [
    ({"jpeg_share": 1.5}, "jpeg_share"),
    ({"jpeg_quality": (90, 60)}, "jpeg_quality"),
])
def test_bad_console_settings_are_refused(changes: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SceneConfig(**changes)
