# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The swap timeline: how long each phase of a run took, and the maintenance window against its budget.

This file feeds Ansible's events to the recorder and writes the files; what a run is made of, the window,
the report and its Markdown and SVG are in plugins/plugin_utils/timeline/.
"""
# ruff: noqa: E402 - Ansible plugins put DOCUMENTATION and EXAMPLES before the imports

from __future__ import annotations

DOCUMENTATION = r"""
name: swap_timeline
type: aggregate
short_description: write the swap timeline (phases, slowest tasks, window vs budget) after every run
description:
  - "After every C(ansible-playbook) run, writes C(<report_dir>/<UTC start time>-<playbook>.json), C(.md) and
    C(.svg), and prints one line at the end, C(timeline: <path>.md) (on stderr when the stdout callback is a
    JSON one, so that stdout stays parseable)."
  - Every play is a phase. For each phase the report gives start offset, end, duration, status
    (C(ok), C(failed), C(skipped), C(not_run), C(interrupted)), its slowest tasks, and in the JSON every task
    with its duration and per-host status.
  - A run that fails midway still writes the report, saying in which phase and at which task it stopped and
    which phases never ran. A run that dies without the final statistics (Ctrl-C, a fatal error) is written at
    interpreter exit with status C(interrupted).
  - "The maintenance window is measured between two markers that roles emit: a task whose result carries
    C(ansible_facts.clusterswap_marker), which is what C(ansible.builtin.set_fact: {clusterswap_marker: ...})
    returns. The marker is a mapping: C(event) (C(window_open), C(window_close) or any other name, which is
    recorded as a plain event), C(label) (free text), C(budget_minutes) (optional number)."
  - A window that spans runs is measured whole. A C(window_open) or C(window_close) marker that names the
    swap's plan record (C(record)) keeps the opening beside it (C(<record>.window.json)) until a
    C(window_close) naming the same record, so a rerun that closes a window a killed or failed run opened
    measures it from that opening (the report says how long before the run it opened). Check mode neither
    keeps nor takes an opening.
  - A marker is timestamped when its task result reaches the controller. The window runs from the first
    C(window_open) to the last C(window_close) after it. Its budget is the C(budget_minutes) of the first
    C(window_open) marker that carries one, else of a C(window_close) marker, else the I(budget_minutes)
    option.
  - The report says C(within budget) or C(OVER budget), or C(window not opened), or
    C(window still open at end of run) with the time it has been open so far.
  - Check mode runs (C(--check)) are flagged (C(check_mode) in the JSON, a banner in the Markdown and the SVG)
    and no budget verdict is given for them. Timings of a check-mode run are not timings of a swap.
requirements:
  - "enable in ansible.cfg: C(callbacks_enabled = clusterswap.swap.swap_timeline), with the collection
    C(clusterswap.swap) in C(collections_path) (the report's model, window, Markdown and SVG are in its
    C(plugins/plugin_utils/timeline), so the file cannot be used alone from C(callback_plugins))"
options:
  report_dir:
    description:
      - Directory the reports are written to; created if missing.
      - A relative path from the environment is relative to the current directory; a relative path in
        ansible.cfg is relative to the directory of that ansible.cfg.
      - When not set, C(reports/) in the directory of the ansible.cfg in use (the project directory), or
        C(reports/) in the current directory when no ansible.cfg is in use.
    type: path
    env:
      - name: CLUSTERSWAP_REPORT_DIR
    ini:
      - section: callback_swap_timeline
        key: report_dir
  budget_minutes:
    description:
      - Maintenance window budget in minutes when no marker carries C(budget_minutes).
    type: float
    default: 20
    env:
      - name: CLUSTERSWAP_WINDOW_BUDGET_MINUTES
    ini:
      - section: callback_swap_timeline
        key: budget_minutes
  slowest_tasks:
    description:
      - How many of the slowest tasks to list per phase in the Markdown and in C(slowest_tasks) of the JSON.
    type: int
    default: 5
    env:
      - name: CLUSTERSWAP_TIMELINE_SLOWEST_TASKS
    ini:
      - section: callback_swap_timeline
        key: slowest_tasks
"""

EXAMPLES = r"""
# ansible.cfg
# [defaults]
# collections_path = collections:~/.ansible/collections:/usr/share/ansible/collections
# callbacks_enabled = ansible.posix.profile_tasks, clusterswap.swap.swap_timeline
#
# [callback_swap_timeline]
# report_dir = reports

# In a role: the first EIP is about to leave the old cluster.
- name: "2.1 | Maintenance | Window opens"
  ansible.builtin.set_fact:
    clusterswap_marker:
      event: window_open
      budget_minutes: "{{ clusterswap_window_budget_minutes | default(20) }}"
      label: first EIP leaves the old cluster

# In a role: the last EIP answers from the new cluster.
- name: "6.3 | Go live | Window closes"
  ansible.builtin.set_fact:
    clusterswap_marker:
      event: window_close
      label: last EIP answers from the new cluster
"""

import atexit
import datetime as dt
import os
from collections.abc import Mapping
from typing import Any

from ansible import constants as C
from ansible import context
from ansible.plugins.callback import CallbackBase
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.events import (
    find_markers,
    in_rescued_block,
    short_message,
)
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.files import write_report
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.recorder import Timeline
from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.report import (
    build_report,
    playbook_name,
)

# ---------------------------------------------------------------------------------------------------------
# Writing the files


def default_report_dir() -> str:
    config = getattr(C, "CONFIG_FILE", None)
    base = os.path.dirname(os.path.abspath(config)) if config else os.getcwd()
    return os.path.join(base, "reports")


def unique_base(directory: str, stamp: str, name: str) -> str:
    base = os.path.join(directory, f"{stamp}-{name}")
    candidate, n = base, 2
    while os.path.exists(candidate + ".json"):
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def display_path(path: str) -> str:
    rel = os.path.relpath(path)
    return path if rel.startswith("..") else rel


# ---------------------------------------------------------------------------------------------------------
# The callback: translates Ansible's events into the Timeline


def stdout_is_machine_readable() -> bool:
    """With a JSON stdout callback the `timeline:` line goes to stderr, so stdout stays parseable."""
    name = str(getattr(C, "DEFAULT_STDOUT_CALLBACK", "") or "")
    return "json" in name


def cli_args() -> Mapping[str, Any]:
    try:
        return dict(context.CLIARGS)
    except Exception:
        return {}


def play_step(play: Any) -> str | None:
    """The window's step a play is part of: its ``clusterswap_step`` var (a name of critical_path.STEPS)."""
    step = (getattr(play, "vars", None) or {}).get("clusterswap_step")
    return step if isinstance(step, str) and step.isidentifier() else None


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "swap_timeline"
    CALLBACK_NEEDS_ENABLED = True

    def __init__(self, display: Any = None) -> None:
        super().__init__(display=display)
        self.timeline: Timeline | None = None
        self._base: str | None = None
        self._finished = True
        self._atexit = False
        self._written: str | None = None

    # -- playbook and play ------------------------------------------------------------------------------
    def v2_playbook_on_start(self, playbook: Any) -> None:
        if self.timeline is None:
            self.timeline = Timeline()
        plays = [(p._uuid, p.get_name(), play_step(p)) for p in playbook.get_plays()]
        self.timeline.start_playbook(getattr(playbook, "_file_name", "playbook"), plays)
        self._finished = False
        if not self._atexit:
            atexit.register(self._at_exit)
            self._atexit = True

    def v2_playbook_on_play_start(self, play: Any) -> None:
        if self.timeline is not None:
            self.timeline.start_phase(
                play._uuid, play.get_name().strip(), bool(getattr(play, "check_mode", False))
            )

    def v2_playbook_on_no_hosts_matched(self) -> None:
        if self.timeline is not None:
            self.timeline.no_hosts()

    def v2_playbook_on_task_start(self, task: Any, is_conditional: bool) -> None:
        self._task_start(task, handler=False)

    def v2_playbook_on_handler_task_start(self, task: Any) -> None:
        self._task_start(task, handler=True)

    def _task_start(self, task: Any, handler: bool) -> None:
        if self.timeline is not None:
            check = bool(getattr(task, "check_mode", False))
            self.timeline.start_task(task._uuid, task.get_name().strip(), handler=handler, check_mode=check)

    # -- results ----------------------------------------------------------------------------------------
    def v2_runner_on_ok(self, result: Any) -> None:
        data = result.result if hasattr(result, "result") else result._result
        status = "changed" if data.get("changed") else "ok"
        self._record(result, status, data)
        if self.timeline is None:
            return
        check_mode = bool(cli_args().get("check"))
        for marker in find_markers(data):
            self.timeline.add_marker(marker, result._host.get_name(), self._task_name(result), check_mode)

    def v2_runner_on_failed(self, result: Any, ignore_errors: bool = False) -> None:
        status = "ignored" if ignore_errors else ("rescued" if in_rescued_block(result._task) else "failed")
        self._record(result, status)

    def v2_runner_on_unreachable(self, result: Any) -> None:
        ignored = bool(getattr(result._task, "ignore_unreachable", False))
        self._record(result, "ignored" if ignored else "unreachable")

    def v2_runner_on_skipped(self, result: Any) -> None:
        self._record(result, "skipped")

    def _record(self, result: Any, status: str, data: Mapping[str, Any] | None = None) -> None:
        if self.timeline is None:
            return
        data = data if data is not None else (result.result if hasattr(result, "result") else result._result)
        self.timeline.host_result(result._task._uuid, result._host.get_name(), status, short_message(data))

    @staticmethod
    def _task_name(result: Any) -> str:
        return str(getattr(result, "task_name", None) or result._task.get_name())

    # -- the end ----------------------------------------------------------------------------------------
    def v2_playbook_on_stats(self, stats: Any) -> None:
        if self.timeline is None:
            return
        self.timeline.stats = {h: dict(stats.summarize(h)) for h in sorted(stats.processed)}
        self.timeline.finish()
        self._finished = True
        self._written = self._write()

    def _at_exit(self) -> None:
        """Prints the report's path last, after the other callbacks' summaries; writes an interrupted run."""
        try:
            if self.timeline is not None and not self._finished:
                self.timeline.finish(interrupted=True)
                self._finished = True
                self._written = self._write()
            if self._written:
                line = f"timeline: {display_path(self._written)}"
                self._display.display(line, stderr=stdout_is_machine_readable())
        except Exception as exc:  # never turn the end of a run into a traceback
            self._display.warning(f"swap_timeline: could not finish the timeline report: {exc}")

    def _write(self) -> str | None:
        assert self.timeline is not None
        args = cli_args()
        try:
            report = build_report(
                self.timeline,
                check_mode=bool(args.get("check")),
                default_budget=float(self.get_option("budget_minutes")),
                slowest=int(self.get_option("slowest_tasks")),
                run_info=self._run_info(args),
            )
            directory = self.get_option("report_dir") or default_report_dir()
            if self._base is None:
                stamp = dt.datetime.fromtimestamp(self.timeline.wall0, tz=dt.UTC).strftime("%Y%m%dT%H%M%SZ")
                self._base = unique_base(directory, stamp, playbook_name(self.timeline.playbooks))
            return write_report(report, self._base)["md"]
        except OSError as exc:
            self._display.warning(f"swap_timeline: could not write the timeline report: {exc}")
            return None

    @staticmethod
    def _run_info(args: Mapping[str, Any]) -> dict[str, Any]:
        keys = ("inventory", "subset", "tags", "skip_tags", "check", "diff", "forks")
        info = {k: args.get(k) for k in keys if args.get(k) not in (None, (), [], "")}
        info["ansible_config"] = getattr(C, "CONFIG_FILE", None)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in info.items()}
