"""Fit the risk rules' weights to operators' verdicts (``xscreen risk fit``).

Targeting systems are many hand-set rules; how much each should count is learned from what
inspections found. Here every factor name that fired often enough gets a multiplier from a
logistic regression of "the verdict confirmed contraband" on the factors' points:

    log-odds(contraband) = b + sum_f beta_f * points_f / saturation_points,   beta_f >= 0

The coefficients are kept non-negative, so a fitted configuration still never lowers a score
when a factor is added (the property tests' promise), and lightly L2-regularised. A factor's
multiplier is its coefficient over the points-weighted mean coefficient, so the points that
confirmed parcels collect keep the same total and the bands keep their meaning; a factor whose
points said nothing about the outcome goes to (near) zero, a telling one above 1.

What it needs: assessments recorded under one configuration (the base), each with the verdict's
outcome. What it cannot know: verdicts exist only for parcels someone looked at, so a factor
that never sent parcels to review is under-represented (the docs say more, docs/risk.md).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import minimize
from scipy.stats import rankdata

from xscreen.errors import XscreenError
from xscreen.serving.risk import RiskConfig, factor_weight


class RiskFitError(XscreenError):
    """The verdicts cannot support a fit (too few, one outcome only, another configuration)."""


@dataclass(frozen=True)
class Labelled:
    """One assessed parcel: its factors' points by name, and whether contraband was confirmed."""

    points: Mapping[str, float]
    contraband: bool


def points_by_name(factors: Iterable[tuple[str, float]]) -> dict[str, float]:
    """An assessment's (name, points) pairs as points per factor name (same names add up)."""
    points: dict[str, float] = {}
    for name, value in factors:
        points[name] = points.get(name, 0.0) + float(value)
    return points


def _rescored(row: Labelled, multipliers: Mapping[str, float]) -> float:
    """A row's total points with each factor times its multiplier (1 when not fitted)."""
    return sum(p * multipliers.get(n, 1.0) for n, p in row.points.items())


@dataclass(frozen=True)
class FactorFit:
    name: str
    parcels: int            # parcels in which the factor fired
    confirmed: int          # ... of which the verdict confirmed contraband
    multiplier: float       # of the base configuration's points (1: unchanged)
    weight: float           # the factor's weight in the fitted configuration


@dataclass(frozen=True)
class RiskFit:
    """The fitted weights, per factor, and how the score ranked the verdicts before and after."""

    weights: dict[str, float]
    factors: list[FactorFit]
    parcels: int
    confirmed: int
    auc_before: float
    auc_after: float
    unfitted: list[str] = field(default_factory=list)   # fired too rarely: weight kept


def fit_weights(rows: Sequence[Labelled], config: RiskConfig, min_parcels: int = 10,
                l2: float = 1e-2) -> RiskFit:
    """Multipliers for the factors of ``rows`` (points as ``config`` gave them).

    A factor that fired in fewer than ``min_parcels`` parcels keeps its weight. Raises
    :class:`RiskFitError` when there are no rows, or only one outcome.
    """
    if not rows:
        raise RiskFitError("no assessed parcels with a verdict to fit on")
    labels = np.array([row.contraband for row in rows], bool)
    confirmed = int(labels.sum())
    if confirmed == 0 or confirmed == len(rows):
        raise RiskFitError(f"all {len(rows)} verdicts say "
                           f"{'contraband' if confirmed else 'cleared'}: a fit needs both outcomes")
    names = sorted({name for row in rows for name, points in row.points.items() if points > 0})
    fired = {name: sum(row.points.get(name, 0) > 0 for row in rows) for name in names}
    fitted = [name for name in names if fired[name] >= min_parcels]
    unfitted = [name for name in names if fired[name] < min_parcels]
    if not fitted:
        raise RiskFitError(f"no factor fired in {min_parcels} or more of the {len(rows)} "
                           "parcels; lower --min-parcels or gather more verdicts")
    x = np.array([[row.points.get(name, 0.0) for name in fitted] for row in rows], np.float64)
    x /= config.saturation_points
    beta = _nonnegative_logistic(x, labels.astype(np.float64), l2)
    support = x[labels].sum(axis=0)                     # points confirmed parcels collected
    mean = float(beta @ support / support.sum()) if support.sum() > 0 else 0.0
    if mean <= 0:
        raise RiskFitError("no factor's points tell confirmed parcels from cleared ones")
    multipliers = beta / mean
    weights = dict(config.factor_weights)
    results = []
    for index, name in enumerate(fitted):
        weight = round(factor_weight(config.factor_weights, name) * float(multipliers[index]), 3)
        weights[name] = weight
        results.append(FactorFit(name, fired[name], int(sum(labels[x[:, index] > 0])),
                                 float(multipliers[index]), weight))
    by_name = {name: float(m) for name, m in zip(fitted, multipliers, strict=True)}
    before = [sum(row.points.values()) for row in rows]
    after = [_rescored(row, by_name) for row in rows]
    return RiskFit(weights, results, len(rows), confirmed, roc_auc(before, labels),
                   roc_auc(after, labels), unfitted)


@dataclass(frozen=True)
class HoldoutCheck:
    """ROC AUC on verdicts the fit did not see: before (base weights) and after."""

    parcels: int
    confirmed: int
    auc_before: float
    auc_after: float


def holdout_check(rows: Sequence[Labelled], config: RiskConfig, share: float = 0.25,
                  seed: int = 0, min_parcels: int = 10) -> HoldoutCheck | None:
    """Fit on a random ``1 - share`` of ``rows`` and score the rest with the base weights and
    with the fitted ones; None when either part lacks one of the outcomes."""
    if not 0 < share < 1:
        raise RiskFitError(f"the held-out share must be in (0, 1), got {share}")
    picked = np.random.default_rng(seed).random(len(rows)) < share
    held = [row for row, out in zip(rows, picked, strict=True) if out]
    kept = [row for row, out in zip(rows, picked, strict=True) if not out]
    outcomes = {row.contraband for row in held}
    if len(outcomes) < 2 or len({row.contraband for row in kept}) < 2:
        return None
    try:
        fit = fit_weights(kept, config, min_parcels=min_parcels)
    except RiskFitError:
        return None
    multipliers = {f.name: f.multiplier for f in fit.factors}
    truth = [row.contraband for row in held]
    before = [sum(row.points.values()) for row in held]
    after = [_rescored(row, multipliers) for row in held]
    return HoldoutCheck(len(held), sum(truth), roc_auc(before, truth), roc_auc(after, truth))


def _nonnegative_logistic(x: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """Coefficients (>= 0) of a logistic regression with a free intercept (L-BFGS-B)."""
    n, k = x.shape

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        logits = theta[0] + x @ theta[1:]
        # log(1 + exp(z)) - y z, written to stay finite for large |z|
        value = float(np.sum(np.logaddexp(0.0, logits) - y * logits) / n
                      + l2 * theta[1:] @ theta[1:])
        residual = (1.0 / (1.0 + np.exp(-logits)) - y) / n
        gradient = np.concatenate([[residual.sum()], x.T @ residual + 2 * l2 * theta[1:]])
        return value, gradient

    prior = float(np.clip(y.mean(), 1e-6, 1 - 1e-6))
    start = np.concatenate([[math.log(prior / (1 - prior))], np.ones(k)])
    bounds = [(None, None)] + [(0.0, None)] * k
    result = minimize(loss, start, jac=True, method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 1000})
    return np.asarray(result.x[1:], np.float64)


def roc_auc(scores: Sequence[float], truth: Sequence[bool] | np.ndarray) -> float:
    """ROC AUC by the rank-sum (Mann-Whitney U) formula, ties counted one half (NaN with one
    outcome only): the share of (confirmed, cleared) pairs the scores put in the right order."""
    score = np.asarray(scores, np.float64)
    positive = np.asarray(truth, bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if n_pos == 0 or n_neg == 0:
        return math.nan
    ranks = rankdata(score)          # tied scores share their average rank
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def report_lines(fit: RiskFit, check: HoldoutCheck | None = None) -> list[str]:
    """What ``xscreen risk fit`` prints: the data, each factor's new weight, the AUCs."""
    lines = [f"fitted on {fit.parcels} parcels with a verdict ({fit.confirmed} confirmed)",
             f"{'factor':<30}{'fired':>7}{'confirmed':>11}{'x points':>10}{'weight':>9}"]
    for row in sorted(fit.factors, key=lambda r: -r.multiplier):
        lines.append(f"{row.name:<30}{row.parcels:>7}{row.confirmed:>11}{row.multiplier:>10.2f}"
                     f"{row.weight:>9.3f}")
    if fit.unfitted:
        lines.append(f"kept (fired too rarely to fit): {', '.join(fit.unfitted)}")
    lines.append(f"ROC AUC on these verdicts: {fit.auc_before:.3f} before, {fit.auc_after:.3f} "
                 "after (in-sample)")
    if check is not None:
        lines.append(f"ROC AUC on {check.parcels} held-out verdicts ({check.confirmed} confirmed; "
                     f"fitted on the others): {check.auc_before:.3f} before, "
                     f"{check.auc_after:.3f} after")
    return lines
