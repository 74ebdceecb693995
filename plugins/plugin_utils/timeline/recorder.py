# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The recorder: fed by the callback, independent of Ansible's objects so that it can be tested alone."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.carry import remember_open, take_open
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.events import parse_budget
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.model import (
    STATUS_ORDER,
    WINDOW_CLOSE,
    WINDOW_OPEN,
    Marker,
    PhaseRecord,
    TaskRecord,
)


class Timeline:
    """Collects phases, tasks, results and markers against one clock; builds the report."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time):
        self._clock = clock
        self.t0 = clock()
        self.wall0 = wall()
        # the window's opening in an earlier run (carry.py), at its offset from this run's start (negative)
        self.carried_open: Marker | None = None
        self.playbooks: list[str] = []
        self.phases: list[PhaseRecord] = []
        self.markers: list[Marker] = []
        self.warnings: list[str] = []
        self.current: PhaseRecord | None = None
        self.ended_at: float | None = None
        self.interrupted = False
        self.stats: dict[str, dict[str, int]] = {}

    def now(self) -> float:
        return self._clock() - self.t0

    def start_playbook(self, path: str, plays: Iterable[tuple[str, ...]]) -> None:
        """plays: (uuid, name) or (uuid, name, step) of every play the playbook will run, in order."""
        self.close_phase()
        self.playbooks.append(path)
        for uuid, name, *step in plays:
            index = len(self.phases) + 1
            self.phases.append(PhaseRecord(index=index, name=name, uuid=uuid, step=step[0] if step else None))
        self.ended_at = None

    def start_phase(self, uuid: str, name: str, check_mode: bool = False) -> None:
        phase = next((p for p in self.phases if p.uuid == uuid), None)
        if phase is not None and phase is self.current:
            return  # another serial batch of the same play
        self.close_phase()
        if phase is None:
            phase = PhaseRecord(index=len(self.phases) + 1, name=name, uuid=uuid)
            self.phases.append(phase)
        phase.name, phase.start, phase.check_mode = name, self.now(), check_mode
        self.current = phase

    def no_hosts(self) -> None:
        if self.current is not None:
            self.current.no_hosts = True

    def start_task(self, uuid: str, name: str, handler: bool = False, check_mode: bool = False) -> None:
        phase = self.current
        if phase is None:
            return
        self._close_open_tasks(phase)
        phase.tasks.append(
            TaskRecord(uuid=uuid, name=name, start=self.now(), handler=handler, check_mode=check_mode)
        )

    def host_result(self, uuid: str, host: str, status: str, message: str = "") -> None:
        task = self._find_task(uuid)
        if task is None:
            return
        task.end = self.now()
        previous = task.hosts.get(host)
        if previous is None or STATUS_ORDER.index(status) < STATUS_ORDER.index(previous):
            task.hosts[host] = status
        if message and status in ("failed", "unreachable", "rescued", "ignored"):
            task.messages.setdefault(host, message)

    def add_marker(self, raw: Mapping[str, Any], host: str, task: str, check_mode: bool = False) -> None:
        budget = parse_budget(raw.get("budget_minutes"))
        if raw.get("budget_minutes") not in (None, "") and budget is None:
            self.warnings.append(
                f"marker on task {task!r}: budget_minutes {raw.get('budget_minutes')!r} ignored"
            )
        phase = self.current.name if self.current else ""
        marker = Marker(
            event=str(raw.get("event")),
            label=str(raw.get("label") or ""),
            at=self.now(),
            host=host,
            task=task,
            phase=phase,
            budget_minutes=budget,
            record=str(raw.get("record") or ""),
        )
        self.markers.append(marker)
        if marker.record and not check_mode:
            self._carry(marker)

    def _carry(self, marker: Marker) -> None:
        """Keep an opening beside the record; at a close, take the opening an earlier run kept."""
        if marker.event == WINDOW_OPEN:
            remember_open(marker.record, self.wall0 + marker.at, marker.label, marker.budget_minutes)
        elif marker.event == WINDOW_CLOSE:
            kept = take_open(marker.record)
            opened = float(kept["opened_at"]) - self.wall0 if kept else None
            if kept and opened is not None and opened < 0:
                budget = parse_budget(kept.get("budget_minutes"))
                self.carried_open = Marker(
                    event=WINDOW_OPEN,
                    label=str(kept.get("label") or ""),
                    at=opened,
                    host="",
                    task="(an earlier run)",
                    phase="",
                    budget_minutes=budget,
                    record=marker.record,
                )

    def close_phase(self) -> None:
        if self.current is None:
            return
        self.current.end = self.now()
        self._close_open_tasks(self.current)
        self.current = None

    def finish(self, interrupted: bool = False) -> None:
        self.interrupted = interrupted
        if interrupted and self.current is not None:
            self.current.interrupted = True
        self.close_phase()
        self.ended_at = self.now()

    def _find_task(self, uuid: str) -> TaskRecord | None:
        for phase in reversed(self.phases):
            for task in reversed(phase.tasks):
                if task.uuid == uuid:
                    return task
        return None

    def _close_open_tasks(self, phase: PhaseRecord) -> None:
        now = self.now()
        for task in phase.tasks:
            if task.end is None:
                task.end = now
