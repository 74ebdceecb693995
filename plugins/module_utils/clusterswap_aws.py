# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Code every clusterswap AWS module shares, whatever the service (EC2, RDS, ...).

- ``RETRY_DECORATOR``: throttling retried with jittered exponential backoff;
- ``call``: one API call with those retries, failing with ``AwsCallError`` that names the subject;
- ``aws_error`` / ``format_aws_error``: the one error format (subject, AWS error code, AWS message);
- ``wait_until`` / ``Progress``: the one bounded, progress-reporting wait;
- ``duplicates``: input listed twice;
- ``Pacer`` / ``pace``: client-side pacing of calls AWS throttles hard (a token bucket on our side).

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


# --------------------------------------------------------------------------- pacing


class Pacer:
    """A client-side token bucket: ``burst`` calls at once, then ``rate_per_s`` calls per second.

    AWS throttles every EC2 API with a token bucket per account, Region and API ("Request throttling for
    the Amazon EC2 API", https://docs.aws.amazon.com/ec2/latest/devguide/ec2-api-throttling.html); a few
    have tiny ones (``MoveAddressToVpc``, ``DescribeMovingAddresses``: 1 token, refilled at 1 per second).
    Calling ``wait()`` before each call keeps a loop inside such a bucket instead of leaning on the
    throttling retries. ``clock`` and ``sleep`` default to ``time.monotonic`` / ``time.sleep`` (looked up
    at each call, so a test's patched ``time.sleep`` applies); a ``sleep`` that returns early (or a fake
    one) counts as having slept the whole delay.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int = 1,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be > 0, not {rate_per_s!r}")
        if burst < 1:
            raise ValueError(f"burst must be >= 1, not {burst!r}")
        self.rate = float(rate_per_s)
        self.burst = int(burst)
        self.tokens = float(burst)
        self._clock = clock
        self._sleep = sleep
        self._stamp: float | None = None
        self.waited = 0.0  # seconds slept in total

    def _now(self) -> float:
        return (self._clock or time.monotonic)()

    def _refill(self, now: float) -> None:
        if self._stamp is not None and now > self._stamp:
            self.tokens = min(float(self.burst), self.tokens + (now - self._stamp) * self.rate)
            self._stamp = now

    def wait(self) -> float:
        """Block until one call may be made and take its token; returns the seconds slept (0 if none)."""
        now = self._now()
        if self._stamp is None:
            self._stamp = now
        now = max(now, self._stamp)  # a fake sleep may have put our time ahead of the clock
        self._refill(now)
        delay = 0.0
        if self.tokens < 1.0:
            delay = (1.0 - self.tokens) / self.rate
            (self._sleep or time.sleep)(delay)
            self._refill(max(self._now(), now + delay))
            self.tokens = max(self.tokens, 1.0)  # the delay was computed to give exactly one token
            self.waited += delay
        self.tokens -= 1.0
        return delay

    def done(self) -> None:
        """The request was answered: count the refill from now. A request reaches AWS some time after it
        leaves; counting from its answer (at the price of one round trip per call) keeps a slow request
        from arriving less than 1/rate seconds before the next one."""
        now = self._now()
        if self._stamp is not None and now > self._stamp:
            self._stamp = now


def pace(client: Any, pacers: dict[str, Pacer]) -> Any:
    """Hold the listed operations of ``client`` (API names: ``{"MoveAddressToVpc": Pacer(1)}``) to their
    ``Pacer``: every request waits for it, retries, DryRun calls and each page of a describe included
    (botocore's ``request-created`` event, once per HTTP attempt, before signing), and the next interval
    counts from the answer (``before-parse``, once per answer). Returns ``client``."""
    service = client.meta.service_model.service_id.hyphenize()
    events = client.meta.events
    for operation, pacer in pacers.items():

        def wait(pacer: Pacer = pacer, **_: Any) -> None:
            pacer.wait()

        def done(pacer: Pacer = pacer, **_: Any) -> None:
            pacer.done()

        events.register_first(f"request-created.{service}.{operation}", wait)
        events.register_first(f"before-parse.{service}.{operation}", done)
    return client
