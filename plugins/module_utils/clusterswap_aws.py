# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Code every clusterswap AWS module shares, whatever the service (EC2, RDS, ...).

- ``RETRY_DECORATOR``: throttling retried with jittered exponential backoff;
- ``call``: one API call with those retries, failing with ``AwsCallError`` that names the subject;
- ``aws_error`` / ``format_aws_error``: the one error format (subject, AWS error code, AWS message);
- ``wait_until`` / ``Progress``: the one bounded, progress-reporting wait;
- ``duplicates``: input listed twice.

``clusterswap_eip`` re-exports all of these, so the EIP modules import them from there unchanged.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore.exceptions

from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry

# Throttling (RequestLimitExceeded, Throttling, ...) is retried with jittered exponential backoff.
RETRY_DECORATOR = AWSRetry.jittered_backoff(retries=8, delay=1, backoff=2.0, max_delay=20)


# --------------------------------------------------------------------------- errors


def aws_error(exc: BaseException) -> tuple[str, str]:
    """(code, message) of a botocore error, or of any other exception."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response["Error"]
        return str(error.get("Code", "Unknown")), str(error.get("Message", ""))
    return type(exc).__name__, str(exc)


def format_aws_error(action: str, subject: str, code: str, message: str) -> str:
    """The one error format: what was being done, to which subject (an EIP, a DB), and what AWS answered."""
    return f"{action} {subject}: {code}: {message}".rstrip(": ")


class AwsCallError(Exception):
    """An AWS call failed; carries the subject (an EIP, a DB instance) and the AWS error code."""

    def __init__(self, action: str, subject: str, code: str, message: str) -> None:
        self.action = action
        self.subject = subject
        self.code = code
        self.aws_message = message
        super().__init__(format_aws_error(action, subject, code, message))


def call(client: Any, operation: str, subject: str, action: str, **kwargs: Any) -> dict[str, Any]:
    """Call an AWS operation with throttling retries; raise AwsCallError naming the subject."""
    try:
        return getattr(client, operation)(aws_retry=True, **kwargs)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        code, message = aws_error(exc)
        raise AwsCallError(action, subject, code, message) from exc


# --------------------------------------------------------------------------- input


def duplicates(values: Iterable[str]) -> list[str]:
    seen: set[str] = set()
    dup: list[str] = []
    for value in values:
        if value in seen and value not in dup:
            dup.append(value)
        seen.add(value)
    return dup


# --------------------------------------------------------------------------- waiting


@dataclass
class Progress:
    """Progress lines of a wait: logged as they happen and returned in the module's result."""

    log: Callable[[str], None]
    lines: list[str] = field(default_factory=list)

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        self.log(line)


def wait_until(
    pending: Callable[[], list[str]],
    timeout: float,
    interval: float,
    progress: Callable[[str], None],
    what: str,
    total: int,
    heartbeat: float | None = None,
) -> list[str]:
    """Poll ``pending()`` (what is still not done) until it is empty or ``timeout`` seconds have passed.

    Reports progress each time the count changes and, with ``heartbeat``, at least every ``heartbeat``
    seconds while it does not (naming what is still pending). Returns what is still pending ([] when done).
    """
    start = time.monotonic()
    last: int | None = None
    last_report = start
    while True:
        remaining = pending()
        now = time.monotonic()
        elapsed = now - start
        line = f"{what}: {total - len(remaining)}/{total} done after {elapsed:.1f}s"
        if len(remaining) != last:
            progress(line)
            last, last_report = len(remaining), now
        elif heartbeat is not None and now - last_report >= heartbeat:
            progress(f"{line} (still waiting for {', '.join(remaining)})")
            last_report = now
        if not remaining or elapsed >= timeout:
            return remaining
        time.sleep(max(0.0, min(interval, timeout - elapsed)))
