"""The lab's own state: everything the simulated AWS knows that moto does not.

One process-wide `STATE` (a `LabState`). moto's backends hold the AWS resources; this holds the account
limits, the latency profile, fault rules, the slow operations still in flight (pending transitions),
the host hooks, the set of volumes "mounted" for in-process tests, the EC2 API throttle (token buckets,
`lab.awssim.throttle`) and the per-operation call counters (api-stats).
"""

from __future__ import annotations

import itertools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from lab.awssim.hooks import HostHooks, NullHooks
from lab.awssim.latency import load_latency_profile
from lab.awssim.throttle import Throttle

DEFAULT_CLASSIC_LIMIT = 5
DEFAULT_VPC_LIMIT = 5
#: An account that still has EC2-Classic: RunInstances without a subnet lands in Classic.
CLASSIC_PLATFORMS: tuple[str, ...] = ("EC2", "VPC")
VPC_ONLY_PLATFORMS: tuple[str, ...] = ("VPC",)


@dataclass
class FaultRule:
    """Fail calls number `nth` .. `nth + times - 1` of `operation` (counted from when the rule was set)."""

    operation: str
    nth: int
    code: str
    message: str = "Injected fault"
    times: int = 1
    status: int = 400
    seen: int = 0
    fired: int = 0

    def hit(self) -> bool:
        """Count one call; True when this call must fail."""
        self.seen += 1
        if self.nth <= self.seen < self.nth + self.times:
            self.fired += 1
            return True
        return False

    def as_dict(self) -> dict[str, Any]:
        return {
            "operation": self.operation,
            "nth": self.nth,
            "code": self.code,
            "message": self.message,
            "times": self.times,
            "status": self.status,
            "seen": self.seen,
            "fired": self.fired,
        }


@dataclass
class Transition:
    """A slow operation in flight: `apply` runs (under the API lock) once `due` has passed and `ready()`
    (called outside the lock, it may ask the host hooks) says yes. `after` runs outside the lock."""

    kind: str
    resource_id: str
    due: float
    apply: Callable[[], Callable[[], None] | None]
    ready: Callable[[], bool] | None = None
    seq: int = 0
    claimed: bool = False
    next_check: float = 0.0
    cancelled: bool = False

    def as_dict(self, now: float) -> dict[str, Any]:
        return {"kind": self.kind, "resource_id": self.resource_id, "due_in": round(self.due - now, 3)}


_seq = itertools.count(1)
log = logging.getLogger("lab.awssim")


@dataclass
class LabState:
    classic_limit: int = DEFAULT_CLASSIC_LIMIT
    vpc_limit: int = DEFAULT_VPC_LIMIT
    platforms: tuple[str, ...] = CLASSIC_PLATFORMS
    latency: dict[str, float] = field(default_factory=load_latency_profile)
    latency_scale: float = 0.0
    faults: list[FaultRule] = field(default_factory=list)
    pending: list[Transition] = field(default_factory=list)
    hooks: HostHooks = field(default_factory=NullHooks)
    mounted: set[str] = field(default_factory=set)
    #: DB instance -> the status its next move between VPCs ends in instead of `available` (a failure such as
    #: `incompatible-network`, RDS-UG-status), set with POST /_lab/rds-outcome; used once.
    rds_outcomes: dict[str, str] = field(default_factory=dict)
    scenario: str | None = None
    world: dict[str, Any] = field(default_factory=dict)
    #: Serialises AWS API calls (moto is not thread-safe); never held while calling hooks.
    lock: threading.RLock = field(default_factory=threading.RLock)
    #: How often a pending transition with a `ready` check is re-polled (seconds).
    poll_interval: float = 0.2
    #: EC2 API throttling as AWS does it (lab.awssim.throttle); on by default, off while seeding.
    throttle_enabled: bool = True
    throttle: Throttle = field(default_factory=Throttle)
    #: (service, operation) -> {"calls", "throttled", "faults"}; `calls` counts every request received.
    api_stats: dict[tuple[str, str], dict[str, int]] = field(default_factory=dict)
    stats_lock: threading.Lock = field(default_factory=threading.Lock)

    # --- configuration -------------------------------------------------------------------------
    def reset(self) -> None:
        """Back to a fresh account (keeps hooks and the lock)."""
        with self.lock:
            self.classic_limit = DEFAULT_CLASSIC_LIMIT
            self.vpc_limit = DEFAULT_VPC_LIMIT
            self.platforms = CLASSIC_PLATFORMS
            self.latency = load_latency_profile()
            self.faults.clear()
            self.pending.clear()
            self.mounted.clear()
            self.rds_outcomes.clear()
            self.scenario = None
            self.world = {}
            self.throttle_enabled = True
            self.throttle.reset()
            self.reset_api_stats()

    @property
    def classic_enabled(self) -> bool:
        return "EC2" in self.platforms

    def delay(self, operation: str) -> float:
        """Scaled seconds that `operation` (a key of lab/latency.yml) takes."""
        if operation not in self.latency:
            raise KeyError(f"no latency for {operation!r}; known: {sorted(self.latency)}")
        return self.latency[operation] * self.latency_scale

    # --- throttling and call accounting --------------------------------------------------------------
    def admit(
        self, service: str, account: str, region: str, operation: str, params: Mapping[str, Any]
    ) -> bool:
        """True when the request may go on; False when AWS would answer RequestLimitExceeded.
        Only EC2 is throttled (see lab.awssim.throttle)."""
        if service != "ec2" or not self.throttle_enabled:
            return True
        return self.throttle.admit(account, region, operation, params)

    @contextmanager
    def unthrottled(self) -> Iterator[None]:
        """Throttling off while the block runs; the previous setting comes back after."""
        previous = self.throttle_enabled
        self.throttle_enabled = False
        try:
            yield
        finally:
            self.throttle_enabled = previous

    @contextmanager
    def seeding(self) -> Iterator[None]:
        """Around seeding a world (built "long ago"): unthrottled; afterwards every bucket is full and the
        call counters are zero, so a fresh world starts as a quiet account."""
        with self.unthrottled():
            try:
                yield
            finally:
                self.throttle.reset()
                self.reset_api_stats()

    def count_call(self, service: str, operation: str, outcome: str | None = None) -> None:
        """Count one request; `outcome` "throttled" or "faults" also counts it there."""
        with self.stats_lock:
            stat = self.api_stats.setdefault((service, operation), {"calls": 0, "throttled": 0, "faults": 0})
            stat["calls"] += 1
            if outcome:
                stat[outcome] += 1

    def api_stats_dict(self) -> dict[str, Any]:
        """{"services": {service: {operation: {calls, throttled, faults}}}, "totals": {...}}."""
        with self.stats_lock:
            services: dict[str, dict[str, dict[str, int]]] = {}
            totals = {"calls": 0, "throttled": 0, "faults": 0}
            for (service, operation), stat in sorted(self.api_stats.items()):
                services.setdefault(service, {})[operation] = dict(stat)
                for key in totals:
                    totals[key] += stat[key]
        return {"throttle_enabled": self.throttle_enabled, "services": services, "totals": totals}

    def reset_api_stats(self) -> None:
        with self.stats_lock:
            self.api_stats.clear()

    # --- faults ---------------------------------------------------------------------------------
    def add_fault(
        self,
        operation: str,
        nth: int,
        code: str,
        message: str = "Injected fault",
        times: int = 1,
        status: int = 400,
    ) -> FaultRule:
        rule = FaultRule(operation, int(nth), code, message, int(times), int(status))
        with self.lock:
            self.faults.append(rule)
        return rule

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def check_fault(self, operation: str) -> FaultRule | None:
        hit = None
        with self.lock:
            for rule in self.faults:
                if rule.operation == operation and rule.hit() and hit is None:
                    hit = rule
        return hit

    # --- transitions ----------------------------------------------------------------------------
    def schedule(
        self,
        kind: str,
        resource_id: str,
        delay: float,
        apply: Callable[[], Callable[[], None] | None],
        ready: Callable[[], bool] | None = None,
    ) -> Transition:
        """Register a slow operation. Replaces an earlier pending one of the same kind on the resource."""
        tr = Transition(kind, resource_id, time.monotonic() + max(delay, 0.0), apply, ready, next(_seq))
        with self.lock:
            for old in self.pending:
                if old.kind == kind and old.resource_id == resource_id:
                    old.cancelled = True
            self.pending = [t for t in self.pending if not t.cancelled]
            self.pending.append(tr)
        return tr

    def pending_for(self, resource_id: str, kind: str | None = None) -> list[Transition]:
        with self.lock:
            return [
                t
                for t in self.pending
                if t.resource_id == resource_id and (kind is None or t.kind == kind) and not t.cancelled
            ]

    def tick(self) -> int:
        """Apply every due transition. Safe to call from any thread, at any time; returns how many ran.
        Hooks (`ready` checks and `after` callbacks) run outside the API lock."""
        now = time.monotonic()
        with self.lock:
            due = [t for t in self.pending if not t.claimed and not t.cancelled and t.due <= now]
            due = [t for t in due if t.ready is None or t.next_check <= now]
            for t in due:
                t.claimed = True
        done = 0
        for t in sorted(due, key=lambda t: (t.due, t.seq)):
            ok = True
            if t.ready is not None:
                try:
                    ok = bool(t.ready())
                except Exception:  # a broken hook must not wedge the simulator
                    ok = False
            after = None
            with self.lock:
                t.claimed = False
                if t.cancelled:
                    continue
                if not ok:
                    t.next_check = time.monotonic() + self.poll_interval
                    continue
                self.pending = [p for p in self.pending if p is not t]
                after = t.apply()
                done += 1
            if after is not None:
                try:
                    after()
                except Exception:
                    log.exception("lab host hook failed after %s %s", t.kind, t.resource_id)
        return done

    def as_dict(self) -> dict[str, Any]:
        now = time.monotonic()
        with self.lock:
            return {
                "scenario": self.scenario,
                "limits": {"classic": self.classic_limit, "vpc": self.vpc_limit},
                "platforms": list(self.platforms),
                "latency": {"scale": self.latency_scale, "profile": dict(self.latency)},
                "faults": [f.as_dict() for f in self.faults],
                "pending": [t.as_dict(now) for t in self.pending],
                "mounted": sorted(self.mounted),
                "hooks": type(self.hooks).__module__ + ":" + type(self.hooks).__name__,
                "throttle": {"enabled": self.throttle_enabled, "buckets": self.throttle.as_dict()},
            }


STATE = LabState()
