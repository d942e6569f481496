"""The assessment: the rules' factors summed into a saturating score, a level and an action.

``risk(findings, manifest, history, config, scan=None)`` is a pure function (no web framework,
no database): the rules the configuration was checked for (its ``registry``) each add points
and a sentence; the points' sum ``P`` becomes ``100 * (1 - exp(-P / saturation_points))``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from xscreen.serving.manifest import Manifest
from xscreen.serving.risk.config import Bands, RiskConfig
from xscreen.serving.risk.facts import Finding, ScanFacts, gather
from xscreen.serving.risk.parties import PartyHistory
from xscreen.serving.risk.registry import Factor

LEVELS = ("low", "medium", "high")
ACTIONS = {"low": "release", "medium": "review", "high": "inspect"}


def factor_weight(weights: dict[str, float], name: str) -> float:
    """The multiplier of a factor: its own name's, else its rule's, else 1."""
    if name in weights:
        return weights[name]
    return weights.get(name.partition(".")[0], 1.0)


@dataclass(frozen=True)
class RiskAssessment:
    """Score 0-100, level (low/medium/high), action (release/review/inspect), and why.

    ``points`` is the factors' sum and ``saturation_points`` the scale that turns it into the
    score; ``leading`` is the finding that drives the risk (the most serious class seen, then
    the most confident of it), which a queue shows rather than the most confident of all.
    """

    score: float
    level: str
    action: str
    factors: tuple[Factor, ...]
    config_version: str
    points: float = 0.0
    saturation_points: float = 50.0
    leading: Finding | None = None

    def to_dict(self) -> dict[str, Any]:
        """The CONTRACT's ``risk`` object, plus ``config_version``, the points' sum and how the
        score comes from it (``explanation``), and the leading finding."""
        leading = None if self.leading is None else {
            "label": self.leading.label, "score": self.leading.score,
            "box": list(self.leading.box)}
        return {"score": self.score, "level": self.level, "action": self.action,
                "factors": [{"name": f.name, "points": f.points, "detail": f.detail}
                            for f in self.factors],
                "points": self.points, "saturation_points": self.saturation_points,
                "explanation": explain_score(self.points, self.saturation_points, self.score),
                "leading_finding": leading,
                "config_version": self.config_version}


def saturate(points: float, saturation_points: float) -> float:
    """The score of a points' sum: ``100 * (1 - exp(-points / saturation_points))``, to 0.1."""
    return round(100.0 * (1.0 - math.exp(-points / saturation_points)), 1)


def explain_score(points: float, saturation_points: float, score: float) -> str:
    """How the score comes from the points, in an operator's words: the sum, the formula with
    its numbers, and why points listed beside a high score add up to more than it."""
    if points <= 0:
        return "No rule added points, so the score is 0."
    steps = ", ".join(f"{n * saturation_points:g} give "
                      f"{saturate(n * saturation_points, saturation_points):g}" for n in (1, 2, 3))
    return (f"The points add up to {points:g}; the score is 100 × (1 − e^(−{points:g} / "
            f"{saturation_points:g})) = {score:g}. Each point counts for less as the total "
            f"grows ({steps}), so the score never passes 100 and beyond about "
            f"{2 * saturation_points:g} points more evidence changes it little.")


def risk(findings: Sequence[Finding], manifest: Manifest | None, history: PartyHistory | None,
         config: RiskConfig, scan: ScanFacts | None = None) -> RiskAssessment:
    """Score one parcel (see the module docstring); ``manifest`` and ``history`` may be None."""
    rules = config.registry
    if rules is None:
        raise ValueError("the risk configuration lacks its rules' sections: build it with "
                         "load_risk_config or risk_config_from_dict")
    evidence = gather(findings, manifest or Manifest(), history, config, scan)
    factors = rules.factors(evidence)
    if config.factor_weights:
        factors = _weighted(factors, config.factor_weights)
    # the shown (rounded) points, summed to 0.1, are what the score comes from: they add up
    points = round(sum(factor.points for factor in factors), 1)
    score = saturate(points, config.saturation_points)
    level = level_of(score, config.bands)
    factors = with_advice(factors, ACTIONS[level])
    return RiskAssessment(score, level, ACTIONS[level], factors, config.version, points,
                          config.saturation_points, leading_finding(findings, config))


def leading_finding(findings: Sequence[Finding], config: RiskConfig) -> Finding | None:
    """The finding that drives the risk: of the class with the highest severity, the most
    confident (a firearm at 0.3 leads a gold buckle at 0.6)."""
    lowest = min((rule.severity for rule in config.classes.values()), default=0.0)

    def seriousness(finding: Finding) -> tuple[float, float]:
        rule = config.classes.get(finding.label)
        return (rule.severity if rule else lowest, finding.score)

    return max(findings, key=seriousness, default=None)


# What to do about a reason that calls for a look inside, by the assessment's action: advice to
# open must not stand beside "release" (the reason is then informational).
DENSE_AREA_ADVICE = {
    "release": "noted only: too little on its own to open the parcel",
    "review": "look closely at them in the image before deciding",
    "inspect": "open to see what is inside",
}


def with_advice(factors: tuple[Factor, ...], action: str) -> tuple[Factor, ...]:
    """The factors with the dense-area sentence ending in advice that agrees with ``action``."""
    return tuple(Factor(f.name, f.points, f"{f.detail}: {DENSE_AREA_ADVICE[action]}")
                 if f.name == "dense_area" else f for f in factors)


def _weighted(factors: tuple[Factor, ...], weights: dict[str, float]) -> tuple[Factor, ...]:
    """Each factor's points times its weight; a factor weighted to nothing is left out."""
    scaled = (Factor(f.name, round(f.points * factor_weight(weights, f.name), 1), f.detail)
              for f in factors)
    return tuple(f for f in scaled if f.points > 0)


def level_of(score: float, bands: Bands) -> str:
    """``high`` from ``bands.high``, ``medium`` from ``bands.medium``, else ``low``."""
    if score >= bands.high:
        return "high"
    return "medium" if score >= bands.medium else "low"
