"""Triangle meshes seen by the beam: path length per pixel through each part, at any orientation.

The scanner's beam runs into the image (+z), so a mesh turned by a 3D rotation and projected
orthographically onto a grid of pitch ``pitch_mm`` is imaged by how many centimetres of each
material every ray crosses. :func:`render_paths` computes exactly that, with numpy only:

1. every triangle is rasterised (exact integer edge tests with a top-left fill rule, so a ray
   through an edge shared by two triangles meets exactly one of them) at ``supersample**2``
   samples per pixel, giving *fragments*: (sample, depth, entering or leaving, part label);
2. the fragments of each ray are sorted by depth and a running *winding count* says where the
   ray is inside solid: +1 where it enters a front face, -1 where it leaves through a back face;
3. every stretch between consecutive fragments with a positive count is solid, and is added to
   the label of the face that opened it (or, if that face was an exit, of the face that closes
   it: the part the ray is still inside); samples are averaged into pixels (anti-aliasing).

Overlapping parts (game meshes often push a barrel into a slide) are counted once, as the union
of solids, not twice. Open meshes (holes, missing faces, a part cut out of a body at a material
seam) are handled by clamping the winding count at zero: an exit with no entry before it is
ignored, and an entry never closed ends at the ray's last fragment. So a path is never negative,
never infinite, and never longer than the mesh's extent along the ray; a hole loses the material
behind it rather than inventing any. Losing is chosen over inventing because an invented path
would spread a part's full depth over the pixels of a hole, while a lost one leaves a
dark-outlined gap that the neighbouring closed faces still bound.

GLB files are read with trimesh (MIT), imported only when a file is loaded.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

_FIXED = 96  # sub-pixel units per pixel: 96/(2n) is a whole number for n = 1, 2, 3 and 4 samples


@dataclass(frozen=True)
class MeshPart:
    """One part of a model: a label (a material name) and its triangles, vertices in mm."""

    label: str
    vertices: np.ndarray  # (V, 3) float64, millimetres
    faces: np.ndarray     # (F, 3) int64, counter-clockwise seen from outside

    def __post_init__(self) -> None:
        vertices, faces = np.asarray(self.vertices), np.asarray(self.faces)
        if vertices.ndim != 2 or vertices.shape[1] != 3:
            raise ValueError(f"part {self.label!r}: vertices must be (V, 3), got {vertices.shape}")
        if faces.ndim != 2 or faces.shape[1] != 3:
            raise ValueError(f"part {self.label!r}: faces must be (F, 3) vertex indices, got "
                             f"{faces.shape}")
        if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
            raise ValueError(f"part {self.label!r}: a face indexes a vertex outside 0.."
                             f"{len(vertices) - 1}")
        if not np.all(np.isfinite(vertices)):
            raise ValueError(f"part {self.label!r}: vertices must be finite")


@dataclass(frozen=True)
class PathRender:
    """Path lengths (cm) per label on a canvas tight around the projected mesh, each label's
    volume (cm^3, the maps' integral, summed before rounding to float32), and the position
    (mm) of the rotated model's origin on that canvas."""

    layers: dict[str, np.ndarray]
    volumes_cm3: dict[str, float]
    origin_mm: tuple[float, float]


def rotation(yaw_deg: float, pitch_deg: float, roll_deg: float) -> np.ndarray:
    """The 3x3 rotation ``Rz(yaw) @ Ry(pitch) @ Rx(roll)`` in image axes (x right, y down,
    z along the beam): roll turns a model about its own length (x), pitch tips its x axis
    toward the beam, yaw turns the result in the image plane."""
    a, b, c = np.radians([yaw_deg, pitch_deg, roll_deg])
    rz = np.array([[np.cos(a), -np.sin(a), 0], [np.sin(a), np.cos(a), 0], [0, 0, 1]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    rx = np.array([[1, 0, 0], [0, np.cos(c), -np.sin(c)], [0, np.sin(c), np.cos(c)]])
    return rz @ ry @ rx


def render_paths(parts: Sequence[MeshPart], rotation_matrix: np.ndarray, pitch_mm: float,
                 supersample: int = 2, margin_px: int = 2) -> PathRender:
    """Path length (cm) per pixel through each label's parts, the model turned by
    ``rotation_matrix`` and seen along +z (see the module docstring for the rule)."""
    if pitch_mm <= 0:
        raise ValueError(f"pitch_mm must be positive, got {pitch_mm}")
    if supersample not in (1, 2, 3, 4):
        raise ValueError(f"supersample must be 1, 2, 3 or 4 samples per pixel side, got "
                         f"{supersample}")
    matrix = np.asarray(rotation_matrix, np.float64)
    if matrix.shape != (3, 3) or not np.allclose(matrix @ matrix.T, np.eye(3), atol=1e-6):
        raise ValueError("rotation_matrix must be a 3x3 rotation (orthonormal); build one "
                         "with rotation(yaw, pitch, roll)")
    parts = [part for part in parts if len(part.faces)]
    if not parts:
        raise ValueError("render_paths needs at least one part with faces")
    labels = sorted({part.label for part in parts})
    turned = [np.asarray(part.vertices, np.float64) @ matrix.T for part in parts]
    corner = np.min([v.min(axis=0) for v in turned], axis=0)
    far = np.max([v.max(axis=0) for v in turned], axis=0)
    width = int(np.ceil((far[0] - corner[0]) / pitch_mm)) + 2 * margin_px
    height = int(np.ceil((far[1] - corner[1]) / pitch_mm)) + 2 * margin_px
    shift = margin_px * pitch_mm - corner[:2]
    triangles = np.concatenate([v[np.asarray(p.faces, np.int64)] for v, p in zip(
        turned, parts, strict=True)])
    triangle_labels = np.concatenate([np.full(len(p.faces), labels.index(p.label), np.int64)
                                      for p in parts])
    triangles[:, :, :2] += shift
    triangles[:, :, :2] /= pitch_mm  # pixels now; depth stays in mm
    paths, volumes = _rasterise_paths(triangles, triangle_labels, len(labels),
                                      (height, width), supersample, pitch_mm)
    return PathRender(dict(zip(labels, paths, strict=True)),
                      dict(zip(labels, volumes, strict=True)), (float(shift[0]), float(shift[1])))


def _rasterise_paths(triangles: np.ndarray, labels: np.ndarray, label_count: int,
                     shape: tuple[int, int], supersample: int, pitch_mm: float
                     ) -> tuple[list[np.ndarray], list[float]]:
    """Path (cm) per label and pixel (float32 maps) and per-label volumes (cm^3), from
    triangles in pixel units (x, y) and mm (z)."""
    height, width = shape
    samples_x = width * supersample
    fragments = _fragments(triangles, labels, supersample, samples_x, height * supersample)
    sample, length, owner = _solid_stretches(*fragments)
    keep = length > 0
    sample, owner = sample[keep], owner[keep]
    weight = length[keep] / (10.0 * supersample**2)  # mm per sample -> cm per pixel
    pixel = (sample // samples_x) // supersample * width + (sample % samples_x) // supersample
    volumes = np.bincount(owner, weights=weight, minlength=label_count) * (pitch_mm / 10) ** 2
    maps = []
    for index in range(label_count):
        mine = owner == index
        maps.append(np.bincount(pixel[mine], weights=weight[mine], minlength=height * width)
                    .astype(np.float32).reshape(height, width))
    return maps, [float(v) for v in volumes]


def _fragments(triangles: np.ndarray, labels: np.ndarray, supersample: int, samples_x: int,
               samples_y: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every (sample, depth, entering, label) where a ray meets a triangle.

    Coordinates go to fixed point (``_FIXED`` units a pixel) so that edge tests are exact
    integers; samples sit at ``half * (2k + 1)`` with ``half = _FIXED / (2 * supersample)``.
    Each triangle is cut into sample rows, and each row's run of covered samples is found
    exactly from the three edge equations, so no sample is tested one by one.
    """
    half = _FIXED // (2 * supersample)
    xy = np.round(triangles[:, :, :2] * _FIXED).astype(np.int64)
    depth = np.array(triangles[:, :, 2], np.float64)
    area = _cross(xy[:, 0], xy[:, 1], xy[:, 2])
    visible = area != 0  # triangles seen edge-on add nothing
    xy, depth, area, labels = xy[visible], depth[visible], area[visible], labels[visible]
    # a triangle turned clockwise in the image faces the source: the ray enters through it
    entering = area < 0
    xy[entering, 1], xy[entering, 2] = xy[entering, 2].copy(), xy[entering, 1].copy()
    depth[entering, 1], depth[entering, 2] = depth[entering, 2].copy(), depth[entering, 1].copy()
    tri, ky, kx0, kx1 = _row_runs(xy, half, samples_x, samples_y)
    runs = np.maximum(kx1 - kx0 + 1, 0)
    pick = np.repeat(np.arange(len(tri)), runs)
    tri, kx, ky = tri[pick], kx0[pick] + _ramp(runs), ky[pick]
    slope_x, slope_y, offset = _depth_planes(xy, depth)
    px = (half * (2 * kx + 1)).astype(np.float64)
    py = (half * (2 * ky + 1)).astype(np.float64)
    z = slope_x[tri] * px + slope_y[tri] * py + offset[tri]
    return ky * samples_x + kx, z, entering[tri], labels[tri]


def _cross(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Twice the signed area of triangles (a, b, c): positive when counter-clockwise in a
    y-down image."""
    return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])


def _depth_planes(xy: np.ndarray, depth: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each triangle's depth as ``z = sx * x + sy * y + c`` over the fixed-point image."""
    p = np.concatenate([xy.astype(np.float64), depth[:, :, None]], axis=2)
    normal = np.cross(p[:, 1] - p[:, 0], p[:, 2] - p[:, 0])
    slope_x, slope_y = -normal[:, 0] / normal[:, 2], -normal[:, 1] / normal[:, 2]
    offset = p[:, 0, 2] - slope_x * p[:, 0, 0] - slope_y * p[:, 0, 1]
    return slope_x, slope_y, offset


def _row_runs(xy: np.ndarray, half: int, samples_x: int, samples_y: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(triangle, sample row, first and last sample column) of every row of covered samples.

    A sample is inside when all three edge functions ``w = A x + B y + C`` are positive; an
    edge that owns the samples lying on it (a top-left edge: one of its two directions, so
    two triangles sharing it never both, or neither, claim such a sample) gets ``C + 1``,
    which makes ``w = 0`` count as inside for integer ``w``. Along a row ``w`` is linear in
    the column, so each edge bounds the run with one exact integer division.
    """
    step = 2 * half
    low_y, high_y = xy[:, :, 1].min(axis=1), xy[:, :, 1].max(axis=1)
    row0 = np.maximum(-((half - low_y) // step), 0)  # ceil((low - half) / step)
    row1 = np.minimum((high_y - half) // step, samples_y - 1)
    rows = np.maximum(row1 - row0 + 1, 0)
    tri = np.repeat(np.arange(len(xy)), rows)
    ky = row0[tri] + _ramp(rows)
    y = half * (2 * ky + 1)
    first = np.zeros(len(tri), np.int64)
    last = np.full(len(tri), samples_x - 1, np.int64)
    for i in range(3):
        a, b = xy[tri, (i + 1) % 3], xy[tri, (i + 2) % 3]  # the edge facing corner i
        dx, dy = b[:, 0] - a[:, 0], b[:, 1] - a[:, 1]
        owns = (dy > 0) | ((dy == 0) & (dx < 0))
        # w(kx) = slope * kx + base, with x = step * kx + half
        slope = -dy * step
        base = dx * (y - a[:, 1]) - dy * (half - a[:, 0]) + owns
        rising, falling = slope > 0, slope < 0
        safe = np.where(slope != 0, np.abs(slope), 1)
        first = np.where(rising, np.maximum(first, (-base) // safe + 1), first)
        last = np.where(falling, np.minimum(last, -((-base) // safe) - 1), last)
        last = np.where((slope == 0) & (base <= 0), -1, last)
    return tri, ky, first, last


def _ramp(counts: np.ndarray) -> np.ndarray:
    """``0..n-1`` for each ``n`` in ``counts``, concatenated."""
    total = int(counts.sum())
    starts = np.cumsum(counts) - counts
    return np.arange(total, dtype=np.int64) - np.repeat(starts, counts)


def _solid_stretches(sample: np.ndarray, depth: np.ndarray, entering: np.ndarray,
                     label: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fragments sorted by ray and depth: their rays, the length (mm) of solid after each
    along its ray, and the label that solid belongs to.

    The winding count along a ray is clamped at zero (an exit with nothing open is ignored):
    the clamped running sum is the plain one minus its running minimum (taken per ray, below
    zero), which numpy computes for all rays at once by offsetting each ray's values far
    below the previous ray's.
    """
    if sample.size == 0:
        return sample, np.zeros(0), np.zeros(0, np.int64)
    span = max(float(depth.max() - depth.min()), 1e-9) * 1.001
    order = np.argsort(sample + (depth - depth.min()) / span, kind="stable")
    sample, depth, entering, label = sample[order], depth[order], entering[order], label[order]
    step = np.where(entering, 1, -1).astype(np.int64)
    first = np.ones(len(sample), bool)
    first[1:] = sample[1:] != sample[:-1]
    ray = np.cumsum(first) - 1
    start = np.flatnonzero(first)
    running = np.cumsum(step)
    running -= (running[start] - step[start])[ray]
    offset = 2 * len(sample) + 2  # larger than any two rays' counts apart
    lowest = np.minimum.accumulate(running - offset * ray) + offset * ray
    count = running - np.minimum(lowest, 0)
    length = np.zeros(len(sample))
    same = ~first[1:]
    length[:-1] = np.where(same & (count[:-1] > 0), depth[1:] - depth[:-1], 0.0)
    owner = label.copy()
    owner[:-1] = np.where(entering[:-1], label[:-1], label[1:])
    return sample, length, owner


def cylinder_part(label: str, start_mm: Sequence[float], stop_mm: Sequence[float],
                  radius_mm: float, sections: int = 12, inward: bool = False) -> MeshPart:
    """A closed cylinder from ``start`` to ``stop`` (mm) as a prism of ``sections`` sides whose
    cross-section has the circle's area. ``inward`` turns its faces inside out: nested in a
    larger cylinder it carves a bore (a cartridge case's), since rays crossing it leave and
    re-enter solid."""
    start, stop = np.asarray(start_mm, np.float64), np.asarray(stop_mm, np.float64)
    axis = stop - start
    length = float(np.linalg.norm(axis))
    if radius_mm <= 0 or length <= 0 or sections < 3:
        raise ValueError(f"a cylinder needs a positive radius and length and at least 3 "
                         f"sections, got radius {radius_mm}, length {length}, {sections}")
    axis /= length
    helper = np.array([1.0, 0.0, 0.0]) if abs(axis[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    u = np.cross(axis, helper)
    u /= np.linalg.norm(u)
    v = np.cross(axis, u)
    angle = 2 * np.pi * np.arange(sections) / sections
    equal_area = radius_mm * np.sqrt(2 * np.pi / (sections * np.sin(2 * np.pi / sections)))
    ring = equal_area * (np.cos(angle)[:, None] * u + np.sin(angle)[:, None] * v)
    vertices = np.concatenate([start + ring, stop + ring, [start, stop]])
    i = np.arange(sections)
    j = (i + 1) % sections
    n = sections
    faces = np.concatenate([
        np.stack([i, i + n, j], axis=1), np.stack([j, i + n, j + n], axis=1),   # side
        np.stack([np.full(n, 2 * n), i, j], axis=1),                           # start cap
        np.stack([np.full(n, 2 * n + 1), j + n, i + n], axis=1),               # stop cap
    ])
    if _signed_volume(vertices, faces) < 0:
        faces = faces[:, ::-1]
    if inward:
        faces = faces[:, ::-1]
    return MeshPart(label, vertices, np.ascontiguousarray(faces, np.int64))


def _signed_volume(vertices: np.ndarray, faces: np.ndarray) -> float:
    """Volume enclosed by a closed mesh, positive when its faces turn outward."""
    a, b, c = (vertices[faces[:, k]] for k in range(3))
    return float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)


def load_glb_parts(path: str | Path, materials: Mapping[str, str], scale: float = 1.0
                   ) -> list[MeshPart]:
    """The parts of a GLB file, each labelled by ``materials[<glTF material name>]``, with
    vertices in the file's units times ``scale`` (mm). Every glTF material must be mapped."""
    return list(_load_glb(str(path), tuple(sorted(materials.items())), float(scale)))


@functools.lru_cache(maxsize=32)
def _load_glb(path: str, materials: tuple[tuple[str, str], ...], scale: float
              ) -> tuple[MeshPart, ...]:
    """Cached per process: a synthesiser worker reads each file once."""
    import trimesh  # imported here: only the mesh recipes need it

    if not Path(path).is_file():
        raise ValueError(f"mesh file {path} does not exist; the model files live in "
                         "datasets/assets/meshes/")
    scene = trimesh.load_scene(path)
    mapping = dict(materials)
    parts: list[MeshPart] = []
    for node in scene.graph.nodes_geometry:
        transform, geometry_name = scene.graph[node]
        mesh = scene.geometry[geometry_name]
        name = getattr(getattr(mesh.visual, "material", None), "name", None) or geometry_name
        if name not in mapping:
            raise ValueError(f"{Path(path).name}: glTF material {name!r} has no material "
                             f"mapping; map it in the model's spec (mapped: "
                             f"{', '.join(sorted(mapping))})")
        vertices = trimesh.transform_points(np.asarray(mesh.vertices), transform) * scale
        vertices.flags.writeable = False
        faces = np.asarray(mesh.faces, np.int64)
        faces.flags.writeable = False
        parts.append(MeshPart(mapping[name], vertices, faces))
    return tuple(parts)
