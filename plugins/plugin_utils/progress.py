# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The controller side of the modules that wait: their progress lines at the default verbosity, as they wait.

A module cannot print while it runs: Ansible shows its result when it ends, so a 10-minute RDS move or a
minute of detaches is silence at 5 a.m. The waiting modules (rds_move_to_vpc, eip_move_to_vpc,
ebs_volume_move, eip_associate, eni_private_ips) append each progress line of ``module_utils.aws.wait_until``
(what it waits for, how many are done, the time spent, the deadline, at least every ``HEARTBEAT`` seconds)
to the file named by ``CLUSTERSWAP_PROGRESS_FILE``. Their action plugins are this class: it runs the module
in a thread, names a fresh file for it, and shows every new line as it appears (``display.display``: on the
terminal, and as a ``verbose`` event under ansible-runner and AWX).

Only where the module runs on the controller (the local connection, the AWS modules' ``delegate_to``): the
file must be readable here. Elsewhere, or with ``async``, the module runs as any module does; its result
carries the same lines in ``progress`` either way.
"""

from __future__ import annotations

import os
import tempfile
import threading
from typing import Any

from ansible.plugins.action import ActionBase
from ansible.utils.display import Display
from ansible.utils.vars import merge_hash
from ansible_collections.clusterswap.swap.plugins.module_utils.aws import PROGRESS_FILE_ENV

display = Display()

#: How often (seconds) the action looks for new lines while the module waits.
POLL = 0.5


class ProgressAction(ActionBase):
    """Runs the task's module as the ``normal`` action does, showing its progress lines while it waits."""

    _supports_check_mode = True
    _supports_async = True

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp
        wrap_async = bool(self._task.async_val) and not self._connection.has_native_async
        if wrap_async or not self._runs_here():
            result = merge_hash(result, self._execute_module(task_vars=task_vars, wrap_async=wrap_async))
        else:
            result = merge_hash(result, self._execute_showing_progress(task_vars))
        if not wrap_async:
            self._remove_tmp_path(self._connection._shell.tmpdir)
        return result

    def _runs_here(self) -> bool:
        """The module runs on this controller, as this user: the file it writes is the one read here."""
        name = getattr(self._connection, "_load_name", "") or getattr(self._connection, "transport", "")
        return name.rsplit(".", 1)[-1] == "local" and not self._play_context.become

    def _execute_showing_progress(self, task_vars: dict[str, Any] | None) -> dict[str, Any]:
        fd, path = tempfile.mkstemp(prefix="clusterswap-progress-", suffix=".log")
        os.close(fd)
        done: dict[str, Any] = {}

        def execute() -> None:
            try:
                done["result"] = self._execute_module(task_vars=task_vars)
            except BaseException as exc:  # re-raised in the task's own thread below
                done["error"] = exc

        before = os.environ.get(PROGRESS_FILE_ENV)
        # the local connection's module inherits this worker process's environment (one task, one host)
        os.environ[PROGRESS_FILE_ENV] = path
        worker = threading.Thread(target=execute, name=f"clusterswap {self._task.action}", daemon=True)
        try:
            worker.start()
            host = (task_vars or {}).get("inventory_hostname", "localhost")
            self._show_lines_until_done(path, worker, host)
        finally:
            if before is None:
                os.environ.pop(PROGRESS_FILE_ENV, None)
            else:
                os.environ[PROGRESS_FILE_ENV] = before
            os.unlink(path)
        if "error" in done:
            raise done["error"]
        return done["result"]  # type: ignore[no-any-return]

    @staticmethod
    def _show_lines_until_done(path: str, worker: threading.Thread, host: str) -> None:
        partial = ""
        with open(path, encoding="utf-8") as lines:
            while True:
                worker.join(POLL)
                partial += lines.read()
                *complete, partial = partial.split("\n")
                for line in complete:
                    display.display(f"  [{host}] {line}")
                if not worker.is_alive():
                    return
