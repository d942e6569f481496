"""The cargo risk score: what the X-ray saw, fused with the manifest and the parties' history.

``risk(findings, manifest, history, config, scan=None)`` is a pure function (no web framework, no
database): targeting rules each add points and a sentence an operator understands; the points'
sum ``P`` becomes the score ``100 * (1 - exp(-P / saturation_points))``, which stays in 0-100 and
never falls when a rule adds points. Bands turn the score into a level and an action
(low/release, medium/review, high/inspect). Every rule's points are non-negative and
non-decreasing in the detections and in the confirmed seizures, so a new detection or a new
seizure never lowers the score (tests/serving/test_risk_properties.py checks it).

The package, in the order a parcel meets it:

- :mod:`.config`: ``serving/risk.yaml`` as typed pydantic models (:func:`load_risk_config`);
  a bad value is a :class:`RiskConfigError` naming the field (``weight.min_ratio``).
- :mod:`.facts`: the detections (:class:`Finding`), what the scan says (:func:`scan_facts`) and
  the parcel's :class:`Evidence` that the rules read.
- :mod:`.parties`: party keys, how spelling variants link, the :class:`PartyHistory`.
- :mod:`.registry` and :mod:`.rules`: the rules, each registered once with its name, its
  settings model and its function.
- :mod:`.score`: the factors summed into the score, level, action and explanation.

Adding a rule is one registration and its section in ``risk.yaml`` (docs/risk.md, "The rules")::

    class BatteryRule(Strict):             # its risk.yaml section, checked when loaded
        points: Number

    @RULES.register("battery", BatteryRule)
    def battery_factors(evidence: Evidence, rule: BatteryRule) -> list[Factor]:
        \"\"\"Lithium batteries declared: a fire risk in the hold.\"\"\"
        if not mentions(evidence.words, ["battery", "batteries"]):
            return []
        return [Factor("battery", rule.points, "declared as batteries")]

and in ``risk.yaml``::

    battery:
      points: 5

The configuration then requires and checks the ``battery`` section, ``factor_weights`` may
name ``battery``, and its factors are listed after those of the rules registered before it. A
rule with parts (``detection.<class>``) passes ``parts=``; one whose factors have other names
than the rule passes ``factors=``. To try a rule without touching the built-in ones, register it
on ``RULES.copy()`` and load the configuration with ``rules=`` that copy.
"""

from xscreen import CLASSES
from xscreen.serving.risk.config import (
    Bands,
    ClassRule,
    RiskConfig,
    RiskConfigError,
    config_model,
    default_risk_config,
    load_risk_config,
    risk_config_from_dict,
)
from xscreen.serving.risk.facts import (
    AIR_ATTENUATION,
    DENSE_ATTENUATION,
    DENSE_RENDERED,
    MIN_DENSE_REGION_MM2,
    MIN_DENSE_REGION_PX,
    WATER_MASS_ATTENUATION,
    Evidence,
    Finding,
    ScanFacts,
    dense_regions,
    gather,
    mentions,
    scan_facts,
    water_equivalent_mass_kg,
)
from xscreen.serving.risk.parties import (
    ROLES,
    InMemoryHistory,
    PartyHistory,
    SeizureRecord,
    keys_link,
    linked_keys,
    normalise_address,
    normalise_name,
    party_keys,
    party_names,
)
from xscreen.serving.risk.registry import RULES, Factor, Registry, Rule
from xscreen.serving.risk.rules import (  # importing it registers the built-in rules
    BrandValueRule,
    ControlledGoodsRule,
    CounterfeitLotRule,
    DenseAreaRule,
    ItemCountRule,
    LowValueRule,
    OriginRule,
    PartyHistoryRule,
    PointsRule,
    RouteRule,
    VagueDescriptionRule,
    WeightRule,
    declared_as,
    format_hs,
)
from xscreen.serving.risk.score import (
    ACTIONS,
    DENSE_AREA_ADVICE,
    LEVELS,
    RiskAssessment,
    explain_score,
    factor_weight,
    leading_finding,
    level_of,
    risk,
    saturate,
    with_advice,
)

# The names factors carry: a rule's name, or "<rule>.<class or role>" for the per-class and
# per-role rules. ``factor_weights`` keys are either.
RULE_NAMES = RULES.factor_names()
PER_CLASS_RULES = tuple(rule.name for rule in RULES if rule.parts == CLASSES)


def is_factor_key(key: str) -> bool:
    """A rule's factor name, ``detection.<class>``, ``declared_content.<class>`` or
    ``party_history.<role>`` (see :meth:`Registry.is_factor_key`)."""
    return RULES.is_factor_key(key)


__all__ = [
    "ACTIONS", "AIR_ATTENUATION", "DENSE_AREA_ADVICE", "DENSE_ATTENUATION", "DENSE_RENDERED",
    "LEVELS", "MIN_DENSE_REGION_MM2", "MIN_DENSE_REGION_PX", "PER_CLASS_RULES", "ROLES",
    "RULES", "RULE_NAMES", "WATER_MASS_ATTENUATION", "Bands", "BrandValueRule", "ClassRule",
    "ControlledGoodsRule", "CounterfeitLotRule", "DenseAreaRule", "Evidence", "Factor",
    "Finding", "InMemoryHistory", "ItemCountRule", "LowValueRule", "OriginRule",
    "PartyHistory", "PartyHistoryRule", "PointsRule", "Registry", "RiskAssessment",
    "RiskConfig", "RiskConfigError", "RouteRule", "Rule", "ScanFacts", "SeizureRecord",
    "VagueDescriptionRule", "WeightRule", "config_model", "declared_as", "default_risk_config",
    "dense_regions", "explain_score", "factor_weight", "format_hs", "gather", "is_factor_key",
    "keys_link", "leading_finding", "level_of", "linked_keys", "load_risk_config", "mentions",
    "normalise_address", "normalise_name", "party_keys", "party_names", "risk",
    "risk_config_from_dict", "saturate", "scan_facts", "water_equivalent_mass_kg",
    "with_advice",
]
