"""Threats of the contract's four classes: the registry and :func:`threat_items`.

Each class has its own module (:mod:`.firearms`, :mod:`.narcotics`, :mod:`.gold`,
:mod:`.counterfeit`) whose recipes draw one threat, in real dimensions and materials, inside a
:class:`~xscreen.datasets.shapes.LabelledObject` whose ``path_cm`` records only the threat's own
material (never what conceals it), so the box drawn from it is tight, and whose mass comes from
the maps.
"""

from __future__ import annotations

import numpy as np

from xscreen.datasets.objects import counterfeit, firearms, gold, narcotics
from xscreen.datasets.objects.drawing import ThreatRecipe, pick, unknown
from xscreen.datasets.shapes import Item

THREAT_RECIPES: dict[str, dict[str, ThreatRecipe]] = {
    "firearm": firearms.RECIPES,
    "narcotics": narcotics.RECIPES,
    "gold": gold.RECIPES,
    "counterfeit": counterfeit.RECIPES,
}
THREAT_KINDS: dict[str, tuple[str, ...]] = {
    label: tuple(recipes) for label, recipes in THREAT_RECIPES.items()
}
NEW_THREAT_RECIPES: dict[str, dict[str, ThreatRecipe]] = {"gold": gold.NEW_RECIPES}
"""Threat kinds outside the default mix (new concealments), drawn only when named."""
NEW_THREAT_KINDS: dict[str, tuple[str, ...]] = {
    label: tuple(recipes) for label, recipes in NEW_THREAT_RECIPES.items()
}


def threat_items(rng: np.random.Generator, pitch_mm: float, label: str,
                 kind: str | None = None) -> list[Item]:
    """One threat of contract class ``label`` (a random kind of the default mix if ``kind`` is
    None; a named kind may also be one of :data:`NEW_THREAT_KINDS`), possibly concealed; a list
    because a counterfeit lot is several items, each with its own object."""
    if label not in THREAT_RECIPES:
        raise unknown("threat label", label, tuple(THREAT_RECIPES))
    recipes = THREAT_RECIPES[label]
    kind = kind if kind is not None else pick(rng, tuple(recipes))
    recipe = recipes.get(kind) or NEW_THREAT_RECIPES.get(label, {}).get(kind)
    if recipe is None:
        known = (*recipes, *NEW_THREAT_KINDS.get(label, ()))
        raise unknown(f"{label} kind", kind, known)
    return recipe(rng, pitch_mm)
