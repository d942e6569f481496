"""The synthesiser's object library: parcel shells, benign contents and threats, in real sizes.

Every recipe draws one item in its own frame (mm, tightly cropped) as path-length maps per material
(:class:`~xscreen.datasets.shapes.Item`); the scene composer rotates and places them. Threats carry
a :class:`~xscreen.datasets.shapes.LabelledObject` per boxed object, labelled with the contract's
class names.
"""

from xscreen.datasets.objects.benign import (
    BENIGN_KINDS,
    LOOKALIKE_KINDS,
    PERSONAL_KINDS,
    benign_item,
)
from xscreen.datasets.objects.clutter import clothes_fill, texture_fill
from xscreen.datasets.objects.parcels import PARCEL_KINDS, parcel
from xscreen.datasets.objects.threats import NEW_THREAT_KINDS, THREAT_KINDS, threat_items

__all__ = ["BENIGN_KINDS", "LOOKALIKE_KINDS", "NEW_THREAT_KINDS", "PARCEL_KINDS", "PERSONAL_KINDS",
           "THREAT_KINDS", "benign_item", "clothes_fill", "parcel", "texture_fill", "threat_items"]
