"""A tiny client for the lab server's control API (/_lab/...). Standard library only.

lab = LabClient("http://127.0.0.1:5055")
lab.seed("incident"); lab.set_limits(vpc=30); lab.add_fault("MoveAddressToVpc", 6, "RequestLimitExceeded")
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any

DEFAULT_URL = "http://127.0.0.1:5055"


class LabError(RuntimeError):
    pass


class LabClient:
    def __init__(self, url: str | None = None, timeout: float = 120.0) -> None:
        self.url = (url or os.environ.get("AWS_ENDPOINT_URL") or DEFAULT_URL).rstrip("/")
        self.timeout = timeout

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"{self.url}/_lab/{path}",
            data=data,
            method=method,
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as exc:
            raise LabError(
                f"{method} /_lab/{path}: {exc.code} {exc.read().decode(errors='replace')}"
            ) from exc
        return json.loads(raw) if raw else None

    # --- reading ----------------------------------------------------------------------------------
    def state(self) -> dict[str, Any]:
        return self._call("GET", "state")  # type: ignore[no-any-return]

    def world(self) -> dict[str, Any]:
        return self._call("GET", "world")  # type: ignore[no-any-return]

    def routes(self) -> dict[str, Any]:
        return self._call("GET", "routes")  # type: ignore[no-any-return]

    def api_stats(self) -> dict[str, Any]:
        """Calls per service and operation since the last reset or seed: {"services": {svc: {op: {"calls",
        "throttled", "faults"}}}, "totals": {...}, "throttle_enabled": bool}."""
        return self._call("GET", "api-stats")  # type: ignore[no-any-return]

    def healthy(self) -> bool:
        try:
            self.state()
        except (OSError, LabError):
            return False
        return True

    # --- changing ---------------------------------------------------------------------------------
    def set_limits(self, classic: int | None = None, vpc: int | None = None) -> dict[str, Any]:
        body = {k: v for k, v in {"classic": classic, "vpc": vpc}.items() if v is not None}
        return self._call("POST", "limits", body)  # type: ignore[no-any-return]

    def set_platforms(self, platforms: list[str]) -> Any:
        return self._call("POST", "platforms", {"platforms": list(platforms)})

    def add_fault(
        self,
        operation: str,
        nth: int,
        code: str,
        message: str = "Injected fault",
        times: int = 1,
        status: int = 400,
    ) -> dict[str, Any]:
        body = {"operation": operation, "nth": nth, "code": code, "message": message, "times": times}
        body["status"] = status
        return self._call("POST", "faults", body)  # type: ignore[no-any-return]

    def clear_faults(self) -> Any:
        return self._call("DELETE", "faults")

    def set_latency(self, scale: float) -> Any:
        return self._call("POST", "latency", {"scale": scale})

    def seed(self, scenario: str) -> dict[str, Any]:
        return self._call("POST", "seed", {"scenario": scenario})  # type: ignore[no-any-return]

    def reset(self) -> Any:
        return self._call("POST", "reset", {})

    def backdate_addresses(self, hours: float) -> Any:
        return self._call("POST", "backdate", {"hours": hours})

    def set_world(self, world: dict[str, Any]) -> Any:
        return self._call("POST", "world", world)

    def set_mounted(self, volume_id: str, mounted: bool = True) -> Any:
        """For NullHooks: mark a volume as mounted (a detach then stays `detaching`) or not."""
        return self._call("POST", "mounted", {"volume_id": volume_id, "mounted": mounted})

    def tick(self) -> Any:
        return self._call("POST", "tick", {})

    def set_rds_outcome(self, db: str, status: str) -> Any:
        """End the next move of DB instance `db` between VPCs in `status` (e.g. incompatible-network)."""
        return self._call("POST", "rds-outcome", {"db": db, "status": status})

    def reset_api_stats(self) -> dict[str, Any]:
        return self._call("DELETE", "api-stats")  # type: ignore[no-any-return]

    def set_throttle(self, enabled: bool, reset: bool = False) -> dict[str, Any]:
        """EC2 API throttling on or off (on after every reset, as on AWS); `reset` refills every bucket."""
        return self._call("POST", "throttle", {"enabled": bool(enabled), "reset": bool(reset)})  # type: ignore[no-any-return]
