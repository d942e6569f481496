"""The hold-out part of a dataset: images marked ``"split": "holdout"`` on their COCO entry.

``xscreen import ... --holdout 0.2`` marks a seeded share of the new images; ``xscreen train``
never trains on them and ``xscreen gate --new DATA`` judges a candidate on them alone, so the
figures the gate reports come from images the candidate has not seen.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence

import numpy as np

from xscreen.datasets.coco import Dataset

HOLDOUT = "holdout"


def choose_holdout(has_boxes: Sequence[bool], share: float, seed: int) -> set[int]:
    """Indices of a ``share`` of the images, drawn separately among images with and without
    boxes (so a few seizures and many cleared scans are both represented), seeded."""
    if share <= 0:
        return set()
    rng = np.random.default_rng(seed)
    chosen: set[int] = set()
    for wanted in (True, False):
        group = [i for i, flag in enumerate(has_boxes) if flag == wanted]
        count = int(round(share * len(group)))
        if len(group) >= 2:
            count = min(max(count, 1), len(group) - 1)   # both parts keep at least one image
        chosen.update(int(i) for i in rng.permutation(group)[:count])
    return chosen


def holdout_ids(dataset: Dataset) -> set[int]:
    """Ids of the images marked as held out."""
    return {int(image["id"]) for image in dataset.coco["images"]
            if image.get("split") == HOLDOUT}


def subset(dataset: Dataset, image_ids: set[int]) -> Dataset:
    """The dataset restricted to ``image_ids``: records and the COCO dict (which evaluation
    reads its ground truth from) agree."""
    coco = copy.copy(dataset.coco)
    coco["images"] = [image for image in dataset.coco["images"] if int(image["id"]) in image_ids]
    coco["annotations"] = [ann for ann in dataset.coco["annotations"]
                           if int(ann["image_id"]) in image_ids]
    records = [record for record in dataset.images if record.id in image_ids]
    return Dataset(dataset.root, dataset.classes, records, coco)


def without_holdout(dataset: Dataset) -> Dataset:
    """What training may use: every image not held out."""
    held = holdout_ids(dataset)
    return subset(dataset, {r.id for r in dataset.images} - held) if held else dataset


def holdout_part(dataset: Dataset) -> Dataset:
    """The held-out images only (empty when none are marked)."""
    return subset(dataset, holdout_ids(dataset))
