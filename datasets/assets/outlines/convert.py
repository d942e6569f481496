"""Convert game-icons.net silhouettes into the polygons ``xscreen.datasets.objects.outlines`` fills.

Run once, at development time, from a clone of https://github.com/game-icons/icons::

    python datasets/assets/outlines/convert.py --repo PATH/TO/icons [--sheet debug.png]

It needs ``svgelements`` (MIT), which the synthesiser itself never imports: the output,
``outlines.json`` beside this script, holds integer polygons that OpenCV fills at synthesis time.

Per icon (see :data:`ICONS`): the SVG's white paths are flattened and rasterised with SVG's
non-zero winding rule on a 2048 grid (4 units per icon pixel), rotated so the object lies along x
(a gun's muzzle to the right), and split into

- ``regions``: the icon's separate pieces (slide, frame, grip panels ...) named by seed points
  (fractions of the bounding box), grown over the white cut lines between them so that together
  they tile the closed silhouette;
- ``seams``: the cut lines themselves (internal edges: a slide's split from its frame, a grip
  panel's rim), drawn as a slight thinning;
- ``holes``: the seed points of openings that must stay empty (a trigger guard, a key's bow),
  kept open even where the closing that bridges the cut lines would have filled them.

Each region is a list of rings (outer contours and their holes) to be filled even-odd.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

GRID = 4            # output units per icon pixel (the icons are drawn on a 512 grid)
SIZE = 512 * GRID
OUT = Path(__file__).with_name("outlines.json")


@dataclass(frozen=True)
class Icon:
    """One icon to convert: where it is, how to turn it, how to name its pieces."""

    path: str                                   # in the repository; its folder is the author
    angle_deg: float = 0.0                      # counter-clockwise turn that lays it along x
    flip: bool = False                          # mirror so that a gun's muzzle points right
    close_px: int = 18                          # cut lines narrower than this (icon px) are bridged
    regions: dict[str, list[tuple[float, float]]] = field(default_factory=dict)
    default: str = "body"                       # the region of pieces no seed names
    top: tuple[str, float] | None = None        # pieces centred above this height: that region
    holes: list[tuple[float, float]] = field(default_factory=list)
    solid: bool = False                         # fill every opening (a watch face, a screen)
    drop_below_px2: float = 30.0                # pieces smaller than this are dropped (icon px^2)


AUTHORS = {"skoll": "Skoll", "delapouite": "Delapouite", "lorc": "Lorc", "sbed": "Sbed",
           "caro-asercion": "Caro Asercion", "willdabeast": "Willdabeast"}

ICONS: dict[str, Icon] = {
    # --- firearms (side views, muzzle right) ---
    "glock": Icon("skoll/glock.svg", default="frame", top=("slide", 0.2), holes=[(0.55, 0.42)]),
    "m1911": Icon("skoll/colt-m1911.svg", default="frame", top=("slide", 0.12),
                  regions={"grip": [(0.19, 0.57)]}, holes=[(0.48, 0.36)]),
    "luger": Icon("skoll/luger.svg", default="frame", holes=[(0.51, 0.40)]),
    "walther_ppk": Icon("skoll/walther-ppk.svg", default="frame",
                        regions={"grip": [(0.18, 0.59)]}, holes=[(0.62, 0.43)]),
    "desert_eagle": Icon("skoll/desert-eagle.svg", default="frame", holes=[(0.40, 0.53)]),
    "revolver": Icon("skoll/revolver.svg", default="frame"),
    "uzi": Icon("delapouite/uzi.svg", default="frame"),
    "mac10": Icon("skoll/mac-10.svg", default="frame"),
    "ak47": Icon("skoll/ak47.svg", angle_deg=-45, default="frame"),
    "sawed_off": Icon("delapouite/sawed-off-shotgun.svg", angle_deg=-45, default="frame"),
    # --- benign clutter ---
    "scissors": Icon("lorc/scissors.svg", angle_deg=50),
    "spanner": Icon("lorc/spanner.svg", angle_deg=-45),
    "key": Icon("sbed/key.svg", angle_deg=90),
    "house_keys": Icon("delapouite/house-keys.svg"),
    "padlock": Icon("delapouite/plain-padlock.svg"),
    "cutlery": Icon("delapouite/fork-knife-spoon.svg", angle_deg=90),
    "water_gun": Icon("delapouite/water-gun.svg"),
    # --- gold and counterfeit-prone goods ---
    "ring": Icon("delapouite/ring.svg"),
    "ingot": Icon("lorc/metal-bar.svg", angle_deg=-25),
    "watch": Icon("delapouite/watch.svg", angle_deg=90, solid=True),
    "sneaker": Icon("delapouite/running-shoe.svg", angle_deg=30, solid=True),
    "smartphone": Icon("delapouite/smartphone.svg", solid=True),
}


def read_svg(repo: Path, path: str) -> bytes:
    """An icon's SVG as committed (the mirror may be a bare repository)."""
    return subprocess.run(["git", f"--git-dir={_git_dir(repo)}", "show", f"HEAD:{path}"],
                          capture_output=True, check=True).stdout


def head_commit(repo: Path) -> str:
    return subprocess.run(["git", f"--git-dir={_git_dir(repo)}", "rev-parse", "HEAD"],
                          capture_output=True, check=True, text=True).stdout.strip()


def _git_dir(repo: Path) -> Path:
    return repo / ".git" if (repo / ".git").exists() else repo


def white_mask(svg_bytes: bytes) -> np.ndarray:
    """The icon's white shapes on a SIZE x SIZE grid, filled with the non-zero winding rule."""
    from svgelements import SVG, Shape  # dev-time only
    from svgelements import Path as SvgPath

    winding = np.zeros((SIZE, SIZE), np.int32)
    for element in SVG.parse(io.BytesIO(svg_bytes)).elements():
        if not isinstance(element, Shape) or str(element.fill).lower() not in ("#ffffff",
                                                                               "white"):
            continue
        for sub in SvgPath(element).as_subpaths():
            sub = SvgPath(sub)
            count = max(8, int(sub.length(error=1e-3) * 2))
            ring = np.round(np.asarray(sub.npoint(np.linspace(0, 1, count))) * GRID)
            ring = ring.astype(np.int32)
            area = 0.5 * float(np.sum(ring[:, 0] * np.roll(ring[:, 1], -1)
                                      - np.roll(ring[:, 0], -1) * ring[:, 1]))
            filled = np.zeros((SIZE, SIZE), np.uint8)
            cv2.fillPoly(filled, [ring], 1)
            winding += int(np.sign(area)) * filled.astype(np.int32)
    return (winding != 0).astype(np.uint8)


def lay_flat(mask: np.ndarray, icon: Icon) -> np.ndarray:
    """Turn (and mirror) the icon, then crop it to its bounding box."""
    pad = SIZE // 2
    big = cv2.copyMakeBorder(mask, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    centre = (big.shape[1] / 2, big.shape[0] / 2)
    turn = cv2.getRotationMatrix2D(centre, icon.angle_deg, 1.0)
    turned = cv2.warpAffine(big, turn, (big.shape[1], big.shape[0]), flags=cv2.INTER_NEAREST)
    if icon.flip:
        turned = turned[:, ::-1]
    rows, cols = np.nonzero(turned)
    return np.ascontiguousarray(turned[rows.min():rows.max() + 1, cols.min():cols.max() + 1])


def _seed_pixel(mask: np.ndarray, seed: tuple[float, float]) -> tuple[int, int]:
    h, w = mask.shape
    return min(h - 1, int(seed[1] * h)), min(w - 1, int(seed[0] * w))


def silhouette(fill: np.ndarray, icon: Icon) -> np.ndarray:
    """The object's outline: the icon with its cut lines bridged, its holes kept open."""
    size = 2 * (icon.close_px * GRID // 2) + 1
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size))
    pad = size
    padded = cv2.copyMakeBorder(fill, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    closed = cv2.morphologyEx(padded, cv2.MORPH_CLOSE, kernel)[pad:-pad, pad:-pad]
    _, background = cv2.connectedComponents((1 - fill).astype(np.uint8), connectivity=4)
    for seed in icon.holes:
        row, col = _seed_pixel(fill, seed)
        if fill[row, col]:
            raise ValueError(f"{icon.path}: hole seed {seed} lies on the icon's fill")
        closed[background == background[row, col]] = 0
    closed = np.maximum(closed, fill)
    if icon.solid:  # everything the outer rim encloses
        contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
        cv2.drawContours(closed, contours, -1, 1, thickness=cv2.FILLED)
    return closed


def regions(fill: np.ndarray, outline: np.ndarray, icon: Icon) -> dict[str, np.ndarray]:
    """Name each piece of the icon by its seeds, then grow the pieces over the cut lines."""
    count, pieces = cv2.connectedComponents(fill, connectivity=8)
    names = [icon.default] * count
    if icon.top is not None:
        region, height = icon.top
        rows = np.bincount(pieces.ravel(), weights=np.indices(fill.shape)[0].ravel())
        centres = rows / np.maximum(np.bincount(pieces.ravel()), 1) / fill.shape[0]
        names = [region if centre < height else name
                 for centre, name in zip(centres, names, strict=True)]
    for name, seeds in icon.regions.items():
        for seed in seeds:
            row, col = _seed_pixel(fill, seed)
            if pieces[row, col] == 0:
                raise ValueError(f"{icon.path}: seed {seed} of {name!r} misses every piece")
            names[pieces[row, col]] = name
    # each cut-line pixel joins the piece nearest to it
    _, nearest = cv2.distanceTransformWithLabels((1 - fill).astype(np.uint8), cv2.DIST_L2, 5,
                                                 labelType=cv2.DIST_LABEL_PIXEL)
    rows, cols = np.nonzero(fill)
    label_piece = np.zeros(int(nearest.max()) + 1, np.int32)
    label_piece[nearest[rows, cols]] = pieces[rows, cols]
    grown = np.where(fill > 0, pieces, label_piece[nearest]) * outline
    areas = np.bincount(pieces.ravel(), minlength=count)
    minimum = icon.drop_below_px2 * GRID * GRID
    out: dict[str, np.ndarray] = {}
    for piece in range(1, count):
        if areas[piece] < minimum:
            continue
        mask = out.setdefault(names[piece], np.zeros_like(fill))
        mask |= (grown == piece).astype(np.uint8)
    return out


def rings(mask: np.ndarray) -> list[list[int]]:
    """Outer contours and holes of a mask as flat integer rings ``[x0, y0, x1, y1, ...]``."""
    contours, _ = cv2.findContours(mask, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for contour in contours:
        simple = cv2.approxPolyDP(contour, 1.5, closed=True).reshape(-1, 2)
        if len(simple) >= 3:
            out.append([int(v) for v in simple.ravel()])
    return out


def convert(repo: Path, name: str, icon: Icon) -> dict[str, Any]:
    fill = lay_flat(white_mask(read_svg(repo, icon.path)), icon)
    outline = silhouette(fill, icon)
    named = regions(fill, outline, icon)
    h, w = fill.shape
    seams = outline & (1 - fill)
    return {
        "source": icon.path, "author": AUTHORS[icon.path.split("/")[0]],
        "size": [w, h],
        "regions": {region: rings(mask) for region, mask in sorted(named.items())},
        "seams": rings(seams.astype(np.uint8)),
        "holes": [[round(u * w), round(v * h)] for u, v in icon.holes],
    }


def debug_sheet(data: dict[str, dict[str, Any]], out_png: Path) -> None:
    """Every converted icon, regions coloured, holes marked, with a grid of tenths."""
    palette = [(60, 60, 200), (60, 160, 60), (200, 120, 40), (160, 60, 160), (40, 160, 200)]
    tiles = []
    for name, entry in data.items():
        w, h = entry["size"]
        scale = 300 / max(w, h)
        tile = np.full((320, 300, 3), 255, np.uint8)
        for index, (region, polys) in enumerate(entry["regions"].items()):
            layer = np.zeros((320, 300), np.uint8)
            pts = [np.round(np.asarray(p).reshape(-1, 2) * scale).astype(np.int32) for p in polys]
            cv2.fillPoly(layer, pts, 1)
            tile[layer > 0] = palette[index % len(palette)]
            cv2.putText(tile, region, (5, 300 - 14 * index), cv2.FONT_HERSHEY_SIMPLEX, 0.4,
                        palette[index % len(palette)], 1)
        seams = [np.round(np.asarray(p).reshape(-1, 2) * scale).astype(np.int32)
                 for p in entry["seams"]]
        layer = np.zeros((320, 300), np.uint8)
        cv2.fillPoly(layer, seams, 1)
        tile[layer > 0] = (140, 140, 140)
        for k in range(1, 10):
            x, y = int(k * w * scale / 10), int(k * h * scale / 10)
            tile[:int(h * scale), x] = tile[:int(h * scale), x] // 2 + 100
            tile[y, :int(w * scale)] = tile[y, :int(w * scale)] // 2 + 100
        for x, y in entry["holes"]:
            cv2.circle(tile, (int(x * scale), int(y * scale)), 3, (0, 0, 255), -1)
        cv2.putText(tile, name, (5, 315), cv2.FONT_HERSHEY_SIMPLEX, 0.45, (0, 0, 0), 1)
        tiles.append(cv2.copyMakeBorder(tile, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=0))
    while len(tiles) % 6:
        tiles.append(np.zeros_like(tiles[0]))
    rows = [np.hstack(tiles[i:i + 6]) for i in range(0, len(tiles), 6)]
    cv2.imwrite(str(out_png), np.vstack(rows))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repo", type=Path, required=True, help="a clone of game-icons/icons")
    parser.add_argument("--only", nargs="*", help="convert these icons only (for a look)")
    parser.add_argument("--sheet", type=Path, help="write a debug picture of the regions")
    args = parser.parse_args(argv)
    names = args.only or list(ICONS)
    data = {name: convert(args.repo, name, ICONS[name]) for name in names}
    if args.sheet:
        debug_sheet(data, args.sheet)
    if not args.only:
        document = {"repository": "https://github.com/game-icons/icons",
                    "commit": head_commit(args.repo), "licence": "CC BY 3.0",
                    "units_per_icon_pixel": GRID, "icons": data}
        OUT.write_text(json.dumps(document, separators=(",", ":")) + "\n")


if __name__ == "__main__":
    main()
