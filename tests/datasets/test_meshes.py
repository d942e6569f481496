"""Meshes seen by the beam: path lengths that geometry predicts, open meshes, mesh firearms."""

import numpy as np
import pytest
import trimesh

from xscreen.datasets.coco import load_dataset
from xscreen.datasets.materials import material
from xscreen.datasets.meshes import (
    MeshPart,
    cylinder_part,
    load_glb_parts,
    render_paths,
    rotation,
)
from xscreen.datasets.objects import THREAT_KINDS, threat_items
from xscreen.datasets.objects import mesh_firearms as mf
from xscreen.datasets.scene import (
    PathMaps,
    SceneConfig,
    random_pose,
    synthesise_scan,
    visible_mask,
)
from xscreen.datasets.synth import write_dataset

PITCH = 0.5
# Vertices are snapped to 1/96 of a pixel before rasterising: chords slanted up to 2:1 may move
# by a few of those steps.
SNAP_MM = 4 * PITCH / 96


def part(mesh: trimesh.Trimesh, label: str = "steel") -> MeshPart:
    return MeshPart(label, np.asarray(mesh.vertices), np.asarray(mesh.faces))


def centres_mm(shape: tuple[int, int], origin: tuple[float, float], pitch: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """Image-plane coordinates (mm, model origin at 0) of every pixel centre."""
    rows, cols = np.indices(shape)
    return (cols + 0.5) * pitch - origin[0], (rows + 0.5) * pitch - origin[1]


def test_cube_face_on_is_its_side_inside_and_nothing_outside() -> None:
    side = 20.0
    render = render_paths([part(trimesh.creation.box(extents=(side, side, side)))],
                          np.eye(3), PITCH, supersample=1)
    path_mm = render.layers["steel"] * 10
    x, y = centres_mm(path_mm.shape, render.origin_mm, PITCH)
    inside = (np.abs(x) < side / 2) & (np.abs(y) < side / 2)
    np.testing.assert_allclose(path_mm[inside], side, rtol=1e-5)
    assert np.all(path_mm[~inside] == 0)


@pytest.mark.parametrize("roll", [45.0, 30.0, -60.0])
def test_cube_turned_about_an_axis_has_the_prism_chord(roll: float) -> None:
    """Turned about x, a cube's chord along the beam at height y is that of a square turned
    by ``roll``: sqrt(2) * a on the centre line at 45 degrees."""
    side = 20.0
    render = render_paths([part(trimesh.creation.box(extents=(side, side, side)))],
                          rotation(0, 0, roll), PITCH, supersample=1)
    path_mm = render.layers["steel"] * 10
    x, y = centres_mm(path_mm.shape, render.origin_mm, PITCH)
    expected = _square_chord(y, side, np.radians(roll))
    interior = np.abs(x) < side / 2 - PITCH
    np.testing.assert_allclose(path_mm[interior], expected[interior], atol=SNAP_MM)
    if roll == 45.0:
        assert path_mm.max() == pytest.approx(np.sqrt(2) * side, abs=PITCH * 2)


def _square_chord(y: np.ndarray, side: float, angle: float) -> np.ndarray:
    """Length along z, at height y, inside a square of ``side`` turned by ``angle`` in the
    y-z plane: the intersection of the two slabs |n . p| <= side / 2."""
    low, high = np.full_like(y, -np.inf), np.full_like(y, np.inf)
    for theta in (angle, angle + np.pi / 2):
        ny, nz = np.cos(theta), np.sin(theta)  # slab normal in (y, z)
        a = (-side / 2 - ny * y) / nz
        b = (side / 2 - ny * y) / nz
        low, high = np.maximum(low, np.minimum(a, b)), np.minimum(high, np.maximum(a, b))
    return np.clip(high - low, 0.0, None)


@pytest.mark.parametrize(("yaw", "pitch"), [(0.0, 0.0), (30.0, 0.0), (77.0, 25.0),
                                            (140.0, -40.0)])
def test_cylinder_lying_across_the_beam_has_the_circle_chord(yaw: float, pitch: float) -> None:
    """A cylinder along x, tipped by ``pitch`` toward the beam and turned ``yaw`` in the image:
    away from its ends the path at distance d from its axis is 2 sqrt(r^2 - d^2) / cos(pitch)."""
    radius, length = 8.0, 80.0
    cylinder = trimesh.creation.cylinder(radius=radius, height=length, sections=256)
    cylinder.apply_transform(trimesh.transformations.rotation_matrix(np.pi / 2, [0, 1, 0]))
    render = render_paths([part(cylinder)], rotation(yaw, pitch, 0), PITCH, supersample=1)
    path_mm = render.layers["steel"] * 10
    x, y = centres_mm(path_mm.shape, render.origin_mm, PITCH)
    axis = rotation(yaw, pitch, 0) @ np.array([1.0, 0.0, 0.0])
    along_2d = axis[:2] / np.linalg.norm(axis[:2])
    distance = np.abs(x * along_2d[1] - y * along_2d[0])
    along = x * along_2d[0] + y * along_2d[1]
    middle = (np.abs(along) < 0.3 * length * np.linalg.norm(axis[:2])) & (distance < 0.9 * radius)
    expected = 2 * np.sqrt(np.clip(radius**2 - distance**2, 0, None)) / np.cos(np.radians(pitch))
    np.testing.assert_allclose(path_mm[middle], expected[middle], rtol=0.01, atol=0.05)
    assert np.all(path_mm[distance > radius + PITCH] == 0)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("supersample", [1, 2])
def test_volume_integral_of_closed_meshes_is_their_volume(seed: int, supersample: int) -> None:
    rng = np.random.default_rng(seed)
    yaw, pitch, roll = rng.uniform(-180, 180, 3)
    meshes = [trimesh.creation.box(extents=(30, 12, 7)),
              trimesh.creation.cylinder(radius=6, height=40, sections=64),
              trimesh.creation.icosphere(subdivisions=3, radius=9)]
    for mesh in meshes:
        render = render_paths([part(mesh)], rotation(yaw, pitch, roll), PITCH, supersample)
        integral = float(render.layers["steel"].sum()) * (PITCH / 10) ** 2
        assert integral == pytest.approx(mesh.volume / 1000, rel=0.02)
        assert render.volumes_cm3["steel"] == pytest.approx(integral, rel=1e-4)


def test_overlapping_parts_count_once_and_nested_parts_take_their_share() -> None:
    """Two interpenetrating cubes are their union; a brass core inside steel replaces it."""
    a = trimesh.creation.box(extents=(20, 20, 20))
    b = trimesh.creation.box(extents=(20, 20, 20))
    b.apply_translation([10, 0, 0])
    render = render_paths([part(a), part(b)], np.eye(3), PITCH, supersample=1)
    assert render.layers["steel"].max() * 10 == pytest.approx(20.0, rel=1e-5)
    core = trimesh.creation.box(extents=(4, 4, 6))
    render = render_paths([part(a), part(core, "brass")], np.eye(3), PITCH, supersample=1)
    total = (render.layers["steel"] + render.layers["brass"]) * 10
    np.testing.assert_allclose(total[total > 0], 20.0, rtol=1e-5)
    assert render.layers["brass"].max() * 10 == pytest.approx(6.0, rel=1e-5)


def test_tube_from_an_inward_cylinder_shows_its_walls() -> None:
    outer, inner = 6.0, 5.0
    tube = [cylinder_part("brass", (0, 0, 0), (40, 0, 0), outer, 64),
            cylinder_part("brass", (-1, 0, 0), (41, 0, 0), inner, 64, inward=True)]
    path_mm = render_paths(tube, np.eye(3), PITCH, supersample=1).layers["brass"] * 10
    centre_line = path_mm[path_mm.shape[0] // 2, 10:-10]
    np.testing.assert_allclose(centre_line, 2 * (outer - inner), atol=0.1)


@pytest.mark.parametrize("pose", [(0, 0, 0), (0, 90, 0), (0, -90, 0), (10, 20, 30),
                                  (45, 60, -120)])
def test_open_mesh_gives_no_negative_or_infinite_paths(pose: tuple[float, float, float]) -> None:
    """A cube with its +x face removed, seen from every side, through the hole too."""
    side = 20.0
    cube = trimesh.creation.box(extents=(side, side, side))
    keep = cube.face_normals[:, 0] < 0.5
    open_cube = MeshPart("steel", np.asarray(cube.vertices), np.asarray(cube.faces)[keep])
    path_mm = render_paths([open_cube], rotation(*pose), PITCH, supersample=2).layers["steel"] * 10
    assert np.all(np.isfinite(path_mm))
    assert path_mm.min() >= 0
    assert path_mm.max() <= side * np.sqrt(3) + 1e-3


def test_an_exit_with_no_entry_does_not_hide_what_lies_behind() -> None:
    """An open box missing its front face, in front of a closed one: its lone back face is
    ignored (the count is clamped at zero), so the closed box behind is all there."""
    side = 10.0
    front = trimesh.creation.box(extents=(side, side, side))
    keep = front.face_normals[:, 2] > -0.5  # drop the faces toward the source
    behind = trimesh.creation.box(extents=(side, side, side))
    behind.apply_translation([0, 0, 2 * side])
    parts = [MeshPart("steel", np.asarray(front.vertices), np.asarray(front.faces)[keep]),
             part(behind)]
    path_mm = render_paths(parts, np.eye(3), PITCH, supersample=1).layers["steel"] * 10
    np.testing.assert_allclose(path_mm[path_mm > 0], side, rtol=1e-5)
    assert (path_mm > 0).sum() == (side / PITCH) ** 2


def test_samples_on_edges_shared_by_two_triangles_are_not_lost() -> None:
    """A subdivided box whose inner edges run exactly through rows and columns of pixel
    centres: the fill rule gives every such sample to one of the two triangles, so no seam.
    (A sample claimed twice would not show: solid is the union of what rays cross.)"""
    size = 41 * PITCH  # the middle of the box lies on a pixel centre
    box = trimesh.creation.box(extents=(size, size, size)).subdivide().subdivide()
    path_mm = render_paths([part(box)], np.eye(3), PITCH, supersample=1).layers["steel"] * 10
    np.testing.assert_allclose(path_mm[path_mm > 0], size, rtol=1e-5)
    assert (path_mm > 0).sum() == 41 * 41


def test_a_lone_back_face_and_a_lone_front_face_add_nothing() -> None:
    """An exit with no entry and an entry with no exit carry no solid (the clamping rule)."""
    square = trimesh.creation.box(extents=(10, 10, 10))
    facing = square.face_normals[:, 2]
    for side in (facing > 0.5, facing < -0.5):
        lone = MeshPart("steel", np.asarray(square.vertices), np.asarray(square.faces)[side])
        assert render_paths([lone], np.eye(3), PITCH).layers["steel"].max() == 0


@pytest.mark.parametrize(("call", "message"), [
    (lambda p: render_paths([p], np.eye(3), 0.0), "pitch_mm"),
    (lambda p: render_paths([p], np.eye(3), 1.0, supersample=5), "supersample"),
    (lambda p: render_paths([p], np.diag([1.0, 1.0, 2.0]), 1.0), "rotation"),
    (lambda p: render_paths([], np.eye(3), 1.0), "at least one part"),
    (lambda p: MeshPart("steel", p.vertices, p.faces + 100), "outside"),
    (lambda p: MeshPart("steel", p.vertices[:, :2], p.faces), r"\(V, 3\)"),
    (lambda p: cylinder_part("steel", (0, 0, 0), (0, 0, 0), 1.0), "positive"),
])
def test_bad_input_is_refused_with_the_fix(call, message: str) -> None:  # type: ignore[no-untyped-def]
    box = part(trimesh.creation.box(extents=(5, 5, 5)))
    with pytest.raises(ValueError, match=message):
        call(box)


def test_unknown_magazine_layout_is_refused() -> None:
    with pytest.raises(ValueError, match="layout must be"):
        mf.Magazine((0, 0), (0, 1), mf.NINE_MM, "drum")


def test_glb_material_without_a_mapping_is_named() -> None:
    model = mf.MODELS["mesh_pistol"][0]
    partial = dict(list(model.materials.items())[:-1])
    with pytest.raises(ValueError, match="has no material mapping"):
        load_glb_parts(mf.MESH_FOLDER / model.file, partial)
    with pytest.raises(ValueError, match="does not exist"):
        load_glb_parts(mf.MESH_FOLDER / "missing.glb", model.materials)


# --- the mesh firearms ------------------------------------------------------------------------
MASS_RANGES_G = {"mesh_pistol": (500, 1500), "mesh_smg": (1500, 3500),
                 "mesh_carbine": (2000, 4500), "mesh_rifle": (2500, 6000),
                 "mesh_shotgun": (2500, 5000)}


def test_every_mesh_kind_is_a_registered_firearm_with_a_mass_range() -> None:
    assert set(mf.RECIPES) == set(MASS_RANGES_G)
    assert set(mf.RECIPES) <= set(THREAT_KINDS["firearm"])


@pytest.mark.parametrize("kind", sorted(MASS_RANGES_G))
@pytest.mark.parametrize("seed", [0, 1])
def test_mesh_recipe_gives_a_finite_firearm_of_plausible_mass(kind: str, seed: int) -> None:
    items = threat_items(np.random.default_rng(seed), 1.2, "firearm", kind)
    assert len(items) == 1
    item = items[0]
    (gun,) = item.objects
    assert gun.label == "firearm" and gun.kind == kind
    assert gun.source.startswith("mesh:") and gun.pose is not None and len(gun.pose) == 3
    for path in [*item.layers.values(), gun.path_cm]:
        assert path.dtype == np.float32 and np.all(np.isfinite(path)) and path.min() >= 0
    np.testing.assert_allclose(gun.path_cm, np.sum(list(item.layers.values()), axis=0),
                               atol=1e-5)
    assert visible_mask(gun).sum() > 100
    low, high = MASS_RANGES_G[kind]
    assert low <= gun.mass_g <= high
    from_maps = sum(float(path.sum()) * (1.2 / 10) ** 2 * material(name).density
                    for name, path in item.layers.items())
    assert gun.mass_g == pytest.approx(from_maps, rel=1e-3)


def test_mass_does_not_depend_on_the_pitch_or_the_pose() -> None:
    model = mf.MODELS["mesh_pistol"][0]
    masses = [mf.draw_mesh_gun(model, pose, 5, pitch, "mesh_pistol").objects[0].mass_g
              for pose in (mf.Pose(0, 0, 0), mf.Pose(30, 50, 70)) for pitch in (0.6, 1.4)]
    assert max(masses) / min(masses) < 1.05


def test_cartridges_sit_in_the_magazine() -> None:
    model = mf.MODELS["mesh_pistol"][1]
    empty = mf.draw_mesh_gun(model, mf.Pose(0, 0, 0), 0, 1.0, "mesh_pistol")
    loaded = mf.draw_mesh_gun(model, mf.Pose(0, 0, 0), 10, 1.0, "mesh_pistol")
    assert "brass" not in empty.layers and loaded.layers["brass"].sum() > 0
    brass = loaded.layers["brass"] > 0
    assert np.all(empty.objects[0].path_cm[brass] > 0)  # inside the gun's outline
    assert loaded.objects[0].mass_g > empty.objects[0].mass_g + 50  # ten 9 mm rounds: ~ 80 g


def test_same_seed_same_bytes_and_other_seed_other_gun() -> None:
    def draw(seed: int) -> bytes:
        item = mf.RECIPES["mesh_pistol"](np.random.default_rng(seed), 0.9)[0]
        return b"".join(item.layers[name].tobytes() for name in sorted(item.layers))

    assert draw(4) == draw(4)
    assert draw(4) != draw(5)


def test_random_poses_lie_mostly_flat() -> None:
    rng = np.random.default_rng(0)
    poses = [mf.random_gun_pose(rng) for _ in range(2000)]
    flat = np.mean([abs(p.pitch) <= 25 and min(abs(p.roll) % 180, 180 - abs(p.roll) % 180) <= 25
                    for p in poses])
    assert 0.6 <= flat <= 0.8  # 60 % drawn flat, and some of the uniform draws land flat too


@pytest.mark.parametrize("seed", [0, 1])
def test_box_is_tight_around_a_mesh_gun(seed: int) -> None:
    rng = np.random.default_rng(seed)
    item = random_pose(threat_items(rng, 1.0, "firearm", "mesh_pistol")[0], rng)
    maps = PathMaps(item.shape[1] + 40, item.shape[0] + 40)
    (box,) = maps.place(item, 20, 20)
    rows, cols = np.nonzero(visible_mask(item.objects[0]))
    x, y, w, h = (int(v) for v in box.box)
    assert (x, y, x + w, y + h) == (cols.min() + 20, rows.min() + 20, cols.max() + 21,
                                    rows.max() + 21)
    assert box.source.startswith("mesh:") and box.pose == item.objects[0].pose


def test_synthesised_scan_with_mesh_pistols_boxes_them() -> None:
    config = SceneConfig(width=400, height=280, threat_share=1.0,
                         threats=(("firearm", "mesh_pistol"),))
    scan = synthesise_scan(np.random.default_rng(3), config)
    assert scan.annotations
    for ann in scan.annotations:
        x, y, w, h = ann.box
        assert ann.kind == "mesh_pistol" and ann.source.startswith("mesh:")
        assert x >= 0 and y >= 0 and x + w <= 400 and y + h <= 280
        # a real pistol is 15-25 cm long: at the scan's pitch the box can't be much longer
        assert max(w, h) * scan.pitch_mm <= 260


def test_coco_annotations_carry_the_source_and_the_pose(tmp_path) -> None:  # type: ignore[no-untyped-def]
    config = SceneConfig(width=320, height=224, threat_share=1.0,
                         threats=(("firearm", "mesh_pistol"),))
    root = write_dataset(tmp_path / "set", 1, seed=2, config=config, progress=False)
    extras = load_dataset(root).images[0].extras
    assert extras and all(e["source"].startswith("mesh:") and len(e["pose"]) == 3
                          for e in extras)


def test_preload_loads_every_model_once() -> None:
    """The service's TIP warm-up preloads the meshes, so no operator waits for trimesh."""
    from xscreen.datasets.objects import mesh_firearms

    mesh_firearms.gun_parts.cache_clear()
    mesh_firearms.preload()
    models = sum(len(models) for models in mesh_firearms.MODELS.values())
    assert mesh_firearms.gun_parts.cache_info().currsize == models
