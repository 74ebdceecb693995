"""The swap's IAM policies (iam/<part>.json) as sets of actions, and the check that a lab run's AWS calls
(the simulated AWS's api-stats) are all allowed by the policies of the parts that run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
# botocore service name -> IAM action prefix
SERVICES = {"ec2": "ec2", "rds": "rds", "service-quotas": "servicequotas", "cloudtrail": "cloudtrail"}
# Calls that need no permission (STS GetCallerIdentity answers for any credentials).
NO_PERMISSION = {"sts:GetCallerIdentity"}


def policies() -> dict[str, set[str]]:
    """{part: actions} for iam/normal-update.json, storage.json, vpc.json."""
    out = {}
    for path in sorted((REPO / "iam").glob("*.json")):
        doc = json.loads(path.read_text())
        assert doc["Version"] == "2012-10-17", path
        actions: set[str] = set()
        for statement in doc["Statement"]:
            assert statement["Effect"] == "Allow", (path, statement)
            listed = statement["Action"]
            actions |= {listed} if isinstance(listed, str) else set(listed)
        out[path.stem] = actions
    return out


def assert_allowed(api_stats: dict[str, Any], *, storage: bool, vpc: bool) -> None:
    """Every operation the run called is allowed by normal-update.json plus the parts that ran."""
    parts = ["normal-update", *(["storage"] if storage else []), *(["vpc"] if vpc else [])]
    allowed = set().union(*(policies()[p] for p in parts)) | NO_PERMISSION
    called = {
        f"{SERVICES.get(service, service)}:{operation}"
        for service, operations in api_stats["services"].items()
        for operation in operations
    }
    assert not called - allowed, (
        f"called, not allowed by iam/{{{','.join(parts)}}}.json: {sorted(called - allowed)}"
    )
