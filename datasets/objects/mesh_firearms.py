"""Firearms from real 3D meshes, at any orientation, label ``firearm``.

The models are Quaternius' CC0 low-poly guns (``datasets/assets/meshes/``, see
``datasets/assets/ATTRIBUTION.json``): each GLB is split into parts by its glTF material (colour
names such as ``DarkMetal`` or ``Wood``), which :data:`MODELS` maps to the synthesiser's
materials per model. Each model is scaled so that its length is that of a real gun of the same
type and build, named in its spec, and :func:`~xscreen.datasets.meshes.render_paths` images it
turned by a random 3D rotation: lying on its side most of the time, as a gun in a bag does, and
at any angle otherwise.

Game meshes are solid where a gun is hollow (a slide is a steel shell around the barrel, a grip
holds a magazine). So the steel's path lengths are scaled down by one factor per drawing to give
the real gun's empty mass, and the magazine's cartridges (brass cases, lead bullets, or
shotshells in a tube) are built in 3D inside the mesh, where they take the place of the steel
around them.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from xscreen.datasets.materials import material
from xscreen.datasets.meshes import MeshPart, cylinder_part, load_glb_parts, render_paths, rotation
from xscreen.datasets.objects.drawing import ThreatRecipe, registrar
from xscreen.datasets.shapes import Item, LabelledObject

MESH_FOLDER = Path(__file__).resolve().parents[1] / "assets" / "meshes"
FLAT_SHARE = 0.6            # share of guns lying on a side; the rest at any orientation
_FLAT_TILT_SIGMA_DEG = 8.0  # how far a gun lying on its side leans (bag contents are uneven)
_SIDE_VIEW = rotation(0.0, 0.0, 180.0)  # glTF's y-up model to the image's y-down side view

RECIPES: dict[str, ThreatRecipe] = {}
_firearm = registrar(RECIPES)


@dataclass(frozen=True)
class Cartridge:
    """A round (mm): a case (tube of ``case_material`` on a solid brass head) holding a lead
    projectile whose ``bullet_length`` is seated ``seated`` deep."""

    case_length: float
    case_radius: float
    bullet_length: float
    bullet_radius: float
    seated: float
    case_material: str = "brass"
    wall: float = 0.45
    head: float = 1.5

    def parts(self, base: np.ndarray, direction: np.ndarray) -> list[MeshPart]:
        """The round with its head at ``base`` (mm), pointing along unit ``direction``."""
        case_end = base + direction * self.case_length
        tip = case_end + direction * (self.bullet_length - self.seated)
        return [
            cylinder_part("brass", base, base + direction * self.head, self.case_radius, 10),
            cylinder_part(self.case_material, base + direction * self.head, case_end,
                          self.case_radius, 10),
            cylinder_part(self.case_material, base + direction * self.head, case_end,
                          self.case_radius - self.wall, 10, inward=True),
            cylinder_part("lead", tip - direction * self.bullet_length, tip,
                          self.bullet_radius, 10),
        ]

    @property
    def length(self) -> float:
        return self.case_length + self.bullet_length - self.seated


NINE_MM = Cartridge(19.2, 4.9, 15.0, 4.5, 5.0)
FORTY_FIVE = Cartridge(22.8, 6.0, 17.0, 5.7, 7.5)
SEVEN_SIX_TWO = Cartridge(38.7, 5.6, 26.0, 3.9, 9.0)
TWELVE_GAUGE = Cartridge(70.0, 10.4, 14.0, 9.0, 40.0, case_material="polyethylene", wall=0.8,
                         head=8.0)


@dataclass(frozen=True)
class Magazine:
    """Where the rounds go, in the model file's units (x forward, y up): a box magazine's
    rounds stack from ``top`` toward ``bottom`` (one or two columns), a tube's lie end to end
    from ``top`` (the receiver end) toward ``bottom`` (the muzzle end)."""

    top: tuple[float, float]
    bottom: tuple[float, float]
    cartridge: Cartridge
    layout: str  # "single", "double" or "tube"

    def __post_init__(self) -> None:
        if self.layout not in ("single", "double", "tube"):
            raise ValueError(f"magazine layout must be 'single', 'double' or 'tube', got "
                             f"{self.layout!r}")


@dataclass(frozen=True, eq=False)  # hashed by identity: the models are constants, and cached
class MeshModel:
    """A gun mesh, its real size and mass, and the materials of its glTF parts."""

    file: str
    reference: str        # the real gun whose length and empty mass it is given
    length_mm: float
    empty_mass_g: float
    materials: dict[str, str]
    magazine: Magazine | None = None


# The models, their real references and their glTF materials. Wooden or polymer furniture
# keeps its material; "Metal" colour names are steel except where a real gun of the type
# uses polymer (an SMG's grip and trigger housing, a pump gun's stock and fore-end) or an
# aluminium tube (a rifle scope).
MODELS: dict[str, tuple[MeshModel, ...]] = {
    "mesh_pistol": (
        MeshModel("pistol_m1.glb", "Colt M1911 (216 mm, 1.1 kg)", 216.0, 1100.0,
                  {"Black": "steel", "Black2": "steel", "DarkMetal": "steel",
                   "Metal": "steel", "DarkWood": "wood"},
                  Magazine((0.085, 0.261), (-0.153, -0.353), FORTY_FIVE, "single")),
        MeshModel("sidearm_backup.glb", "SIG Sauer P226 (196 mm, 0.96 kg)", 196.0, 960.0,
                  {"Black": "steel", "LightMetal": "steel", "Metal": "steel", "Wood": "wood"},
                  Magazine((0.084, 0.245), (-0.154, -0.369), NINE_MM, "double")),
    ),
    "mesh_smg": (
        MeshModel("smg_compact.glb", "H&K MP5K (325 mm, 2.0 kg)", 325.0, 2000.0,
                  {"DarkMetal": "steel", "Metal": "nylon", "Black": "nylon", "Grey": "steel"},
                  Magazine((0.792, 0.254), (0.892, -0.638), NINE_MM, "double")),
    ),
    "mesh_carbine": (
        MeshModel("ar_standard.glb", "AK-pattern short carbine, stock folded (620 mm, 2.9 kg)",
                  620.0, 2900.0,
                  {"Black": "nylon", "DarkMetal": "steel", "Metal": "steel",
                   "DarkWood": "wood"},
                  Magazine((1.065, 0.236), (0.975, -0.358), SEVEN_SIX_TWO, "single")),
    ),
    "mesh_rifle": (
        MeshModel("bolt_action.glb", "Remington 700 with scope (1100 mm, 4.3 kg)", 1100.0,
                  4300.0,
                  {"Green": "nylon", "Black": "aluminium", "DarkMetal": "steel",
                   "Glass": "glass", "Grey": "steel"}),
    ),
    "mesh_shotgun": (
        MeshModel("shotgun_combat.glb", "Mossberg 500, 18.5 in barrel (990 mm, 3.2 kg)", 990.0,
                  3200.0,
                  {"LightMetal": "nylon", "Metal": "steel", "DarkMetal": "steel",
                   "Black": "nylon"},
                  Magazine((1.30, 0.049), (3.75, 0.049), TWELVE_GAUGE, "tube")),
    ),
}


@dataclass(frozen=True)
class Pose:
    """A 3D orientation in degrees (see :func:`~xscreen.datasets.meshes.rotation`), from the
    side view with the muzzle to the right: roll 90 shows the top, pitch 90 the muzzle."""

    yaw: float
    pitch: float
    roll: float

    def as_tuple(self) -> tuple[float, float, float]:
        return (round(self.yaw, 1), round(self.pitch, 1), round(self.roll, 1))


def random_gun_pose(rng: np.random.Generator) -> Pose:
    """Lying on one side with a small lean (:data:`FLAT_SHARE` of draws), else a uniformly
    random rotation (``pitch = asin(u)`` makes yaw-pitch-roll angles uniform on rotations)."""
    yaw = float(rng.uniform(0.0, 360.0))
    if rng.random() < FLAT_SHARE:
        pitch = float(np.clip(rng.normal(0.0, _FLAT_TILT_SIGMA_DEG), -25.0, 25.0))
        side = 180.0 if rng.random() < 0.5 else 0.0
        roll = side + float(np.clip(rng.normal(0.0, _FLAT_TILT_SIGMA_DEG), -25.0, 25.0))
        return Pose(yaw, pitch, roll)
    return Pose(yaw, float(np.degrees(np.arcsin(rng.uniform(-1.0, 1.0)))),
                float(rng.uniform(-180.0, 180.0)))


def preload() -> None:
    """Load every model now (trimesh's import and the six files cost about a second once per
    process): the service's threat image projection calls it at start-up, so no operator waits."""
    for models in MODELS.values():
        for model in models:
            gun_parts(model)


@functools.lru_cache(maxsize=16)
def gun_parts(model: MeshModel) -> tuple[MeshPart, ...]:
    """The model's parts in mm at its real length (loaded once per process)."""
    return tuple(load_glb_parts(MESH_FOLDER / model.file, model.materials, model_scale(model)))


@functools.lru_cache(maxsize=16)
def model_scale(model: MeshModel) -> float:
    """Millimetres per unit of the model's file."""
    unit = load_glb_parts(MESH_FOLDER / model.file, model.materials, 1.0)
    return model.length_mm / float(np.ptp(np.concatenate([p.vertices[:, 0] for p in unit])))


def cartridge_parts(model: MeshModel, rounds: int) -> list[MeshPart]:
    """``rounds`` cartridges in the model's magazine (mm), the first at its top."""
    magazine = model.magazine
    if magazine is None or rounds <= 0:
        return []
    scale = model_scale(model)
    top = np.array([*magazine.top, 0.0]) * scale
    axis = np.array([*magazine.bottom, 0.0]) * scale - top
    span = float(np.linalg.norm(axis))
    axis /= span
    cartridge, step = magazine.cartridge, _round_step(magazine)
    parts: list[MeshPart] = []
    if magazine.layout == "tube":
        for i in range(min(rounds, int(span // step))):
            parts += cartridge.parts(top + axis * (i * step), axis)
        return parts
    forward = np.array([-axis[1], axis[0], 0.0])
    forward = forward if forward[0] > 0 else -forward
    for i in range(min(rounds, int(span // step))):
        centre = top + axis * (cartridge.case_radius + i * step)
        if magazine.layout == "double":  # rounds alternate left and right of the middle
            centre = centre + np.array([0.0, 0.0, cartridge.case_radius * (1 if i % 2 else -1)])
        parts += cartridge.parts(centre - forward * (cartridge.length / 2), forward)
    return parts


def _round_step(magazine: Magazine) -> float:
    """Distance (mm) from one round to the next along the magazine: a round's length in a
    tube, its diameter in one column, a little over its radius in two staggered columns."""
    radius = magazine.cartridge.case_radius
    return {"tube": magazine.cartridge.length, "double": 1.15 * radius}.get(
        magazine.layout, 2.05 * radius)


def magazine_capacity(model: MeshModel) -> int:
    """How many rounds fit the model's magazine (0 without one)."""
    magazine = model.magazine
    if magazine is None:
        return 0
    span = float(np.hypot(*np.subtract(magazine.bottom, magazine.top))) * model_scale(model)
    return int(span // _round_step(magazine))


def draw_mesh_gun(model: MeshModel, pose: Pose, rounds: int, pitch_mm: float, kind: str,
                  supersample: int | None = None) -> Item:
    """One gun at ``pose`` with ``rounds`` in its magazine, as an item (see module docs).

    ``supersample`` (samples per pixel side) defaults to 2 at coarse pitches (>= 1.1 mm),
    where a pixel's edge shows, and 1 below, where the scanner's blur hides it.
    """
    samples = supersample or (2 if pitch_mm >= 1.1 else 1)
    parts = [*gun_parts(model), *cartridge_parts(model, rounds)]
    turned = rotation(pose.yaw, pose.pitch, pose.roll) @ _SIDE_VIEW
    margin = max(2, int(np.ceil(2.0 / pitch_mm)))
    render = render_paths(parts, turned, pitch_mm, samples, margin)
    layers = render.layers
    masses = {name: volume * material(name).density
              for name, volume in render.volumes_cm3.items()}
    steel_share = _steel_share(masses, model)
    if "steel" in layers:
        layers["steel"] *= np.float32(steel_share)
        masses["steel"] *= steel_share
    total = np.zeros_like(next(iter(layers.values())))
    for path in layers.values():
        total += path
    gun = LabelledObject(label="firearm", kind=kind, material="steel", path_cm=total,
                         mass_g=float(sum(masses.values())), source=f"mesh:{model.file}",
                         pose=pose.as_tuple())
    return Item(layers=layers, objects=[gun], kind=kind)


def _steel_share(masses: dict[str, float], model: MeshModel) -> float:
    """The factor on the steel's paths that makes the gun (its own materials, not the rounds)
    weigh the real gun's empty mass: the solid game mesh stands for walls, bores, cavities."""
    steel_g = masses.get("steel", 0.0)
    other_g = sum(masses.get(name, 0.0) for name in set(model.materials.values()) - {"steel"})
    if steel_g <= 0:
        return 1.0
    return float(np.clip((model.empty_mass_g - other_g) / steel_g, 0.15, 1.0))


def _mesh_recipe(kind: str) -> ThreatRecipe:
    def recipe(rng: np.random.Generator, pitch_mm: float) -> list[Item]:
        options = MODELS[kind]
        model = options[int(rng.integers(len(options)))]
        pose = random_gun_pose(rng)
        rounds = int(rng.integers(0, magazine_capacity(model) + 1))
        return [draw_mesh_gun(model, pose, rounds, pitch_mm, kind)]

    recipe.__doc__ = f"A {kind.removeprefix('mesh_')} from a 3D mesh at a random pose."
    return recipe


for _kind in MODELS:
    _firearm(_kind)(_mesh_recipe(_kind))
