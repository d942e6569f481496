"""``xscreen risk check FILE`` and ``xscreen risk fit --out FILE``: the risk configuration.

``check`` reads and validates a risk YAML the way ``serve --risk-config`` does at start-up.
``fit`` learns the rules' weights from the operators' verdicts in the service's database
(:mod:`xscreen.serving.risk_fit`) and writes a new YAML: the base configuration with a
``factor_weights`` section and a new ``version``. Only assessments made under the base
configuration's version count (their points are what the fit scales). Serve the result with
``xscreen serve --risk-config FILE`` (or ``XSCREEN_RISK_CONFIG``).
"""

from __future__ import annotations

import argparse
from collections import Counter
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from xscreen.errors import UsageError


def add_arguments(parser: argparse.ArgumentParser) -> None:
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate a risk YAML as `serve` does at start-up")
    check.add_argument("file")
    fit = actions.add_parser("fit", help="fit the rules' weights to the operators' verdicts")
    fit.add_argument("--out", required=True, help="the fitted YAML to write")
    fit.add_argument("--config", help="base risk YAML (default: the packaged serving/risk.yaml; "
                                      "assessments made under its version are used)")
    fit.add_argument("--home", help="state folder (default $XSCREEN_HOME or ./var)")
    fit.add_argument("--database-url", dest="database_url",
                     help="database (default $XSCREEN_DATABASE_URL or SQLite in --home)")
    fit.add_argument("--version", help="version of the fitted file (default: base-fit-<time>)")
    fit.add_argument("--min-parcels", type=int, default=10,
                     help="a factor must fire in this many parcels to be fitted (default 10)")
    fit.add_argument("--holdout", type=float, default=0.25,
                     help="share of verdicts set aside to check a fit on parcels it did not see "
                          "(default 0.25; the written weights use every verdict)")
    fit.add_argument("--force", action="store_true", help="overwrite --out")


def main(args: argparse.Namespace) -> int:
    from xscreen.serving.risk import load_risk_config

    if args.action == "check":
        config = load_risk_config(args.file)
        weights = f", {len(config.factor_weights)} factor weights" if config.factor_weights else ""
        print(f"{args.file}: valid, version {config.version}{weights}")
        return 0
    return _fit(args)


def _fit(args: argparse.Namespace) -> int:
    from xscreen.serving import store
    from xscreen.serving.risk import load_risk_config, risk_config_from_dict
    from xscreen.serving.risk_fit import fit_weights, holdout_check, report_lines
    from xscreen.serving.settings import load_settings

    out = Path(args.out)
    if out.exists() and not args.force:
        raise UsageError(f"{out} exists; pass --force to overwrite it")
    if args.min_parcels < 1:
        raise UsageError(f"--min-parcels must be at least 1, got {args.min_parcels}")
    if not 0 < args.holdout < 1:
        raise UsageError(f"--holdout must be in (0, 1), got {args.holdout}")
    base = load_risk_config(args.config)
    settings = load_settings(home=args.home, database_url=args.database_url)
    if settings.database_url == "" and not (settings.home / "xscreen.db").is_file():
        raise UsageError(f"no service database at {settings.home / 'xscreen.db'}; pass --home "
                         "or --database-url")
    rows, versions = verdict_rows(store.session_factory(
        store.make_engine(settings.resolved_database_url)), base.version)
    if not rows:
        seen = ", ".join(f"{v} ({n})" for v, n in versions.most_common()) or "none"
        raise UsageError(f"no verdicts on parcels assessed under version {base.version!r} of "
                         f"the risk configuration (verdicts by version: {seen}); pass the "
                         "--config those parcels were assessed with")
    fit = fit_weights(rows, base, min_parcels=args.min_parcels)
    check = holdout_check(rows, base, args.holdout, min_parcels=args.min_parcels)
    values = _base_values(args.config)
    values["version"] = args.version or (
        f"{base.version}-fit-{datetime.now(UTC).strftime('%Y%m%d-%H%M')}")
    values["factor_weights"] = fit.weights
    risk_config_from_dict(values, str(out))        # what we write must load
    header = (f"# Fitted by `xscreen risk fit` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC from "
              f"{fit.parcels} verdicts ({fit.confirmed} confirmed)\n# on parcels assessed under "
              f"{base.version!r}. See docs/risk.md for what a fit can and cannot know.\n")
    out.write_text(header + yaml.safe_dump(values, sort_keys=False, allow_unicode=True))
    for line in report_lines(fit, check):
        print(line)
    if check is None:
        print("no held-out check: too few verdicts of one outcome to set some aside")
    print(f"wrote {out} (version {values['version']}); serve it with "
          f"`xscreen serve --risk-config {out}`")
    return 0


def _base_values(path: str | None) -> dict[str, Any]:
    text = Path(path).read_text() if path else \
        resources.files("xscreen.serving").joinpath("risk.yaml").read_text()
    values = yaml.safe_load(text)
    assert isinstance(values, dict)   # load_risk_config accepted it
    return values


def verdict_rows(sessions: Any, version: str) -> tuple[list[Any], Counter[str]]:
    """(points by factor name, confirmed?) of every screened parcel with a verdict assessed
    under ``version`` (a parcel's latest verdict counts), and verdicts per version seen."""
    from sqlalchemy import select

    from xscreen.serving.risk_fit import Labelled, points_by_name
    from xscreen.serving.store import Scan, Verdict

    latest: dict[str, tuple[Any, str]] = {}
    with sessions() as session:
        query = (select(Scan.id, Scan.result, Verdict.decision, Verdict.created_at, Verdict.id)
                 .join(Verdict, Verdict.scan_id == Scan.id)
                 .order_by(Verdict.created_at, Verdict.id))
        for scan_id, result, decision, _, _ in session.execute(query):
            latest[scan_id] = (result, decision)
    rows, versions = [], Counter[str]()
    for result, decision in latest.values():
        assessment = (result or {}).get("risk") or {}
        seen_version = str(assessment.get("config_version", "unknown"))
        versions[seen_version] += 1
        if seen_version != version:
            continue
        points = points_by_name((f["name"], f["points"]) for f in assessment.get("factors", []))
        rows.append(Labelled(points, decision == "threat_confirmed"))
    return rows, versions
