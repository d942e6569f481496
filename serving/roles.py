"""The API key roles (CONTRACT "HTTP API"): what each may do is checked in ``serving/service.py``.

- ``scanner``: submit scans, read its own;
- ``operator``: the queue, every scan, verdicts;
- ``engineer``: training exports, models;
- ``admin``: everything, and keys.
"""

ROLES: tuple[str, ...] = ("scanner", "operator", "engineer", "admin")
