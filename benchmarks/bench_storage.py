"""What one scan costs in storage: blob bytes, database bytes and database writes, measured
through the service's own code (the FastAPI app in process, SQLite under a temporary home).

Phases, each over the same ``--scans`` synthetic scans (``xscreen synth`` at ``--size``):

- ``png``: ``POST /v1/scans`` with the pseudo-colour PNG and a manifest (shipper, consignee:
  the party rows the risk score's history reads),
- ``raw``: the same with the two-page 16-bit dual-energy TIFF instead,
- ``verdict``: an operator's ``POST /v1/scans/{id}/verdict`` on each scan of ``png``,
- ``files`` (with ``--images DIR``): each image file of DIR, as a scanner would send it.

For each: INSERT, UPDATE and DELETE statements and commits per request (a SQLAlchemy event
listener on every engine), blob bytes per scan (growth of ``$XSCREEN_HOME/blobs``) and SQLite
bytes per scan (growth of the database file after a WAL checkpoint; PostgreSQL's rows are of the
same order, its indexes and MVCC add some).

    python benchmarks/bench_storage.py [--scans 30] [--size 1000] [--images DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine

MANIFEST = {"declaration_id": "CN23-{index:06d}", "carrier": "post", "origin_country": "CN",
            "shipper": {"name": "Shenzhen Trading {seller}", "country": "CN"},
            "consignee": {"name": "Consignee {index}", "id": "JP-{index:06d}",
                          "address": "1-2-3 Chiyoda, Tokyo"},
            "description": "phone case", "hs_code": "392690",
            "declared_value": {"amount": 12.5, "currency": "USD"}, "item_count": 1,
            "mail_order": True}


class WriteCounter:
    """Counts the SQL statements (by first word) and commits of every SQLAlchemy engine."""

    def __init__(self) -> None:
        self.statements: Counter[str] = Counter()
        self.commits = 0
        event.listen(Engine, "before_cursor_execute", self._statement)
        event.listen(Engine, "commit", self._commit)

    def _statement(self, _conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        self.statements[statement.lstrip().split(None, 1)[0].upper()] += 1

    def _commit(self, _conn: Any) -> None:
        self.commits += 1

    def snapshot(self) -> tuple[Counter[str], int]:
        return Counter(self.statements), self.commits


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def database_bytes(path: Path) -> int:
    """The SQLite file's size once the write-ahead log is folded into it."""
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path.stat().st_size


def synthetic_scans(folder: Path, count: int, size: int) -> tuple[list[Path], list[Path]]:
    from xscreen.cli import main as cli_main

    if cli_main(["synth", str(folder), "--count", str(count), "--size", str(size),
                 "--seed", "7", "--quiet"]) != 0:
        raise SystemExit("xscreen synth failed")
    return sorted((folder / "images").glob("*.png")), sorted((folder / "raw").glob("*.tif*"))


def manifest(index: int) -> str:
    text = json.dumps(MANIFEST).replace("{seller}", str(index % 7))
    return text.replace("{index:06d}", f"{index:06d}").replace("{index}", str(index))


def measure(name: str, requests: Iterator[Any], counter: WriteCounter, home: Path,
            count: int) -> dict[str, Any]:
    """Run ``requests`` (each one HTTP call, checked inside) and the storage they added."""
    blobs, db = folder_bytes(home / "blobs"), database_bytes(home / "xscreen.db")
    statements, commits = counter.snapshot()
    started = time.perf_counter()
    for _ in requests:
        pass
    elapsed = time.perf_counter() - started
    after, commits_after = counter.snapshot()
    writes = {verb: (after[verb] - statements[verb]) / count
              for verb in ("INSERT", "UPDATE", "DELETE")}
    return {"phase": name, "requests": count,
            "writes_per_request": round(sum(writes.values()), 2),
            "by_statement": {k: round(v, 2) for k, v in writes.items()},
            "commits_per_request": round((commits_after - commits) / count, 2),
            "blob_bytes_per_scan": round((folder_bytes(home / "blobs") - blobs) / count),
            "sqlite_bytes_per_request": round(
                (database_bytes(home / "xscreen.db") - db) / count),
            "seconds_per_request": round(elapsed / count, 3)}


def post_scans(client: Any, key: str, files: list[Path], ids: list[str],
               tag: str) -> Iterator[None]:
    for index, path in enumerate(files):
        answer = client.post("/v1/scans", headers={"Authorization": f"Bearer {key}",
                                                   "Idempotency-Key": f"{tag}-{index}"},
                             files={"image": (path.name, path.read_bytes())},
                             data={"manifest": manifest(index), "scanner_id": "lane-1"})
        if answer.status_code != 201:
            raise SystemExit(f"{path}: {answer.status_code} {answer.text[:300]}")
        ids.append(answer.json()["id"])
        yield


def post_verdicts(client: Any, key: str, ids: list[str]) -> Iterator[None]:
    for index, scan_id in enumerate(ids):
        decision = "threat_confirmed" if index % 10 == 0 else "cleared"
        answer = client.post(f"/v1/scans/{scan_id}/verdict",
                             headers={"Authorization": f"Bearer {key}"},
                             json={"decision": decision})
        if answer.status_code not in (200, 201):
            raise SystemExit(f"verdict on {scan_id}: {answer.status_code} {answer.text[:300]}")
        yield


def run(args: argparse.Namespace, work: Path) -> list[dict[str, Any]]:
    from fastapi.testclient import TestClient

    from xscreen.serving.app import create_app
    from xscreen.serving.settings import load_settings

    pngs, raws = synthetic_scans(work / "scans", args.scans, args.size)
    home = work / "home"
    counter = WriteCounter()
    app = create_app(load_settings(env={}, home=home, print_admin_key=False, ort_threads=1))
    results = []
    with TestClient(app) as client:
        key = app.state.first_admin_key
        png_ids: list[str] = []
        results.append(measure("png", post_scans(client, key, pngs, png_ids, "png"),
                               counter, home, len(pngs)))
        results.append(measure("raw", post_scans(client, key, raws, [], "raw"),
                               counter, home, len(raws)))
        results.append(measure("verdict", post_verdicts(client, key, png_ids), counter, home,
                               len(png_ids)))
        if args.images:
            files = sorted(p for p in Path(args.images).rglob("*")
                           if p.suffix.lower() in (".png", ".jpg", ".jpeg", ".tif", ".tiff",
                                                   ".dcm"))[: args.scans]
            results.append(measure("files", post_scans(client, key, files, [], "files"),
                                   counter, home, len(files)))
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scans", type=int, default=30, help="scans per phase (default 30)")
    parser.add_argument("--size", type=int, default=1000,
                        help="synthetic scans' long side in pixels (default 1000)")
    parser.add_argument("--images", help="also submit up to --scans image files of this folder")
    parser.add_argument("--json", help="write the figures to this file too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as work:
        results = run(args, Path(work))
    for row in results:
        print(f"{row['phase']:8s} {row['requests']:4d} requests: "
              f"{row['writes_per_request']:.1f} writes ({row['by_statement']}), "
              f"{row['commits_per_request']:.1f} commits per request; blobs "
              f"{row['blob_bytes_per_scan'] / 1e6:.3f} MB and SQLite "
              f"{row['sqlite_bytes_per_request'] / 1e3:.1f} kB per request; "
              f"{row['seconds_per_request'] * 1000:.0f} ms per request")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
