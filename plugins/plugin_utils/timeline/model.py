# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run is made of: its phases (the plays), their tasks with each host's status, and the markers."""

from __future__ import annotations

from dataclasses import dataclass, field

WINDOW_OPEN = "window_open"
WINDOW_CLOSE = "window_close"
# Host statuses, worst first: a task's status is the worst of its hosts'.
STATUS_ORDER = ("failed", "unreachable", "rescued", "ignored", "changed", "ok", "skipped")


@dataclass
class TaskRecord:
    uuid: str
    name: str
    start: float
    handler: bool = False
    check_mode: bool = False
    end: float | None = None
    hosts: dict[str, str] = field(default_factory=dict)
    messages: dict[str, str] = field(default_factory=dict)

    @property
    def status(self) -> str:
        if not self.hosts:
            return "no_result"
        return min(self.hosts.values(), key=STATUS_ORDER.index)


@dataclass
class PhaseRecord:
    index: int
    name: str
    uuid: str | None = None
    step: str | None = None  # the window's step the play is part of (its ``clusterswap_step`` var)
    start: float | None = None
    end: float | None = None
    check_mode: bool = False
    no_hosts: bool = False
    interrupted: bool = False
    tasks: list[TaskRecord] = field(default_factory=list)

    @property
    def status(self) -> str:
        if self.start is None:
            return "not_run"
        statuses = {task.status for task in self.tasks}
        if statuses & {"failed", "unreachable"}:
            return "failed"
        if self.interrupted:
            return "interrupted"
        if self.no_hosts or (statuses and statuses <= {"skipped", "no_result"} and "skipped" in statuses):
            return "skipped"
        return "ok"


@dataclass
class Marker:
    event: str
    label: str
    at: float
    host: str
    task: str
    phase: str
    budget_minutes: float | None = None
    record: str = ""  # the plan record the window belongs to (a window that spans runs is kept beside it)
