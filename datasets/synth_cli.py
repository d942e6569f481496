"""``xscreen synth OUT --count N [--seed S] [--workers W] [--size PX]``."""

from __future__ import annotations

import argparse
import time

from xscreen.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("out", help="output folder (new, or empty)")
    parser.add_argument("--count", type=int, required=True, help="number of scans to make")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes (default 1)")
    parser.add_argument("--size", type=int, default=1000,
                        help="image width in pixels; height is 0.7 x width (default 1000)")
    parser.add_argument("--threat-share", type=float, default=0.7,
                        help="share of parcels holding at least one threat (default 0.7)")
    parser.add_argument("--lookalike-share", type=float, default=0.0,
                        help="share of parcels given one to three benign twins of threats on "
                             "purpose: one phone or gadget, foods in rows, strap fittings, tools, "
                             "toy guns (default 0; docs/synthesiser.md, 'Benign look-alikes')")
    parser.add_argument("--texture-fill-share", type=float, default=0.0,
                        help="share of the parcels without clothes packed with a soft mass of a "
                             "newly drawn texture and material (default 0; docs/synthesiser.md, "
                             "'Varied contents')")
    parser.add_argument("--personal-share", type=float, default=0.0,
                        help="share of parcels given one or two things a traveller packs (one "
                             "phone, watch, earbuds case, handbag, pair of sneakers or gadget; "
                             "benign unless in a lot; default 0)")
    parser.add_argument("--loose-share", type=float, default=0.0,
                        help="share of scans of things laid loose on the belt: no parcel, no "
                             "fill, up to three other things (default 0)")
    parser.add_argument("--palettes",
                        help="colour maps and their shares, e.g. 'classic:1' for one vendor's "
                             "(default: the scene's mix of saturated, pale and greyscale "
                             "consoles, datasets/scene.py)")
    parser.add_argument("--threat", dest="threats", action="append", default=[],
                        metavar="LABEL:KIND",
                        help="draw every threat as this kind (repeatable), e.g. "
                             "gold:hair_dryer_gold_sleeve, a concealment outside the default mix")
    parser.add_argument("--max-threats", type=int, default=3,
                        help="most threats in one parcel (default 3)")
    parser.add_argument("--contact-sheet", metavar="PNG",
                        help="also write a contact sheet of the first 16 scans")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _palettes(text: str | None) -> tuple[tuple[str, float], ...]:
    from xscreen.datasets.colour import PALETTES
    from xscreen.datasets.scene import SceneConfig

    if text is None:
        return SceneConfig().palettes

    pairs = []
    for part in text.split(","):
        name, _, share = part.partition(":")
        if name not in PALETTES:
            raise UsageError(f"unknown palette {name!r}; choose from {', '.join(PALETTES)}")
        try:
            weight = float(share) if share else 1.0
        except ValueError:
            raise UsageError(f"palette share {share!r} is not a number") from None
        if weight < 0:
            raise UsageError(f"palette share must not be negative, got {weight}")
        pairs.append((name, weight))
    if sum(w for _, w in pairs) <= 0:
        raise UsageError("at least one palette needs a positive share")
    return tuple(pairs)


def _threats(values: list[str]) -> tuple[tuple[str, str], ...]:
    pairs = []
    for value in values:
        label, separator, kind = value.partition(":")
        if not separator or not label or not kind:
            raise UsageError(f"--threat {value!r} must look like LABEL:KIND, e.g. "
                             "gold:hair_dryer_gold_sleeve")
        pairs.append((label, kind))
    return tuple(pairs)


def _check(args: argparse.Namespace) -> None:
    if args.count < 1:
        raise UsageError(f"--count must be at least 1, got {args.count}")
    if not 1 <= args.workers <= 64:
        raise UsageError(f"--workers must be between 1 and 64, got {args.workers}")
    if not 64 <= args.size <= 8192:
        raise UsageError(f"--size must be between 64 and 8192 pixels, got {args.size}")
    if not 0.0 <= args.threat_share <= 1.0:
        raise UsageError(f"--threat-share must be between 0 and 1, got {args.threat_share}")
    for flag in ("lookalike_share", "texture_fill_share", "personal_share", "loose_share"):
        value = getattr(args, flag)
        if not 0.0 <= value <= 1.0:
            raise UsageError(f"--{flag.replace('_', '-')} must be between 0 and 1, got {value}")
    if args.max_threats < 1:
        raise UsageError(f"--max-threats must be at least 1, got {args.max_threats}")


def main(args: argparse.Namespace) -> int:
    _check(args)
    from xscreen.datasets.preview import contact_sheet
    from xscreen.datasets.scene import SceneConfig
    from xscreen.datasets.synth import write_dataset

    try:
        config = SceneConfig(width=args.size, height=max(64, int(round(args.size * 0.7))),
                             threat_share=args.threat_share,
                             lookalike_share=args.lookalike_share,
                             texture_fill_share=args.texture_fill_share,
                             personal_share=args.personal_share,
                             loose_share=args.loose_share,
                             palettes=_palettes(args.palettes),
                             max_threats=args.max_threats, threats=_threats(args.threats))
    except ValueError as error:
        raise UsageError(str(error)) from None
    workers = args.workers
    start = time.perf_counter()
    root = write_dataset(args.out, args.count, args.seed, workers, config,
                         progress=not args.quiet)
    seconds = time.perf_counter() - start
    print(f"wrote {args.count} scans to {root} in {seconds:.1f} s "
          f"({args.count / seconds:.2f} images/s, {workers} worker(s))")
    if args.contact_sheet:
        print(f"contact sheet: {contact_sheet(root, args.contact_sheet)}")
    return 0
