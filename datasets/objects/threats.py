"""Threats of the contract's four classes: the registry and :func:`threat_items`.

Each class has its own module (:mod:`.firearms`, :mod:`.narcotics`, :mod:`.gold`,
:mod:`.counterfeit`) whose recipes draw one threat, in real dimensions and materials, inside a
:class:`~xscreen.datasets.shapes.LabelledObject` whose ``path_cm`` records only the threat's own
material (never what conceals it), so the box drawn from it is tight, and whose mass comes from
the maps.
"""

from __future__ import annotations

import numpy as np

from xscreen.datasets.objects import counterfeit, firearms, gold, mesh_firearms, narcotics, outlines
from xscreen.datasets.objects.drawing import ThreatRecipe, pick, unknown
from xscreen.datasets.shapes import Item

# Per class, the sources of its shapes and the share of threats each draws (a kind is then drawn
# uniformly within its source): the parametric recipes, 3D meshes rendered at any pose, and real
# silhouettes (issue 17). Weighting by source keeps ten outline guns from outnumbering the rest.
THREAT_SOURCES: dict[str, tuple[tuple[float, dict[str, ThreatRecipe]], ...]] = {
    "firearm": ((0.4, firearms.RECIPES), (0.3, mesh_firearms.RECIPES),
                (0.3, outlines.FIREARM_RECIPES)),
    "narcotics": ((1.0, narcotics.RECIPES),),
    "gold": ((0.8, gold.RECIPES), (0.2, outlines.GOLD_RECIPES)),
    "counterfeit": ((0.75, counterfeit.RECIPES),
                    (0.25, {kind: counterfeit.lot_recipe(kind, recipe)
                            for kind, recipe in outlines.COUNTERFEIT_RECIPES.items()})),
}
THREAT_RECIPES: dict[str, dict[str, ThreatRecipe]] = {
    label: {kind: recipe for _, recipes in sources for kind, recipe in recipes.items()}
    for label, sources in THREAT_SOURCES.items()
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
    if kind is None:
        sources = THREAT_SOURCES[label]
        weights = np.array([weight for weight, _ in sources])
        chosen = sources[int(rng.choice(len(sources), p=weights / weights.sum()))][1]
        kind = pick(rng, tuple(chosen))
    recipe = recipes.get(kind) or NEW_THREAT_RECIPES.get(label, {}).get(kind)
    if recipe is None:
        known = (*recipes, *NEW_THREAT_KINDS.get(label, ()))
        raise unknown(f"{label} kind", kind, known)
    return recipe(rng, pitch_mm)
