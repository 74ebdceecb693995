# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Code every clusterswap AWS module shares, whatever the service (EC2, RDS, ...).

- ``run_module``: the one entry point of the modules' ``main()``: builds the ``AnsibleAWSModule``, runs
  the module's work and fails any AWS error through amazon.aws's ``fail_json_aws`` (the AWS error code
  and response, the SDK versions and the traceback in the result, visible at -vvv);
- ``AwsError``: amazon.aws's ``AnsibleAWSError`` with our message (what was being done, to which subject,
  what AWS answered); ``fail_aws``: how a module fails with one (its partial result kept);
- ``aws_client``: a client of a service with ``RETRY_DECORATOR`` (throttling retried with jittered backoff);
- ``call`` / ``paginate``: one API call (every page of a paginated one) with those retries, raising
  ``AwsError`` that names the subject;
- ``changes``: AWS errors raised after a change (``when`` one was made) fail with changed=true and what to do;
- ``wait_until`` / ``Progress``: the one bounded, progress-reporting wait (its lines streamed to the
  controller's output while it waits, by the action plugins of plugin_utils/progress.py);
- ``duplicates``: input listed twice;
- ``Pacer`` / ``pace``: client-side pacing of calls AWS throttles hard (a token bucket on our side).
"""

from __future__ import annotations

import contextlib
import os
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, NoReturn

with contextlib.suppress(ImportError):  # AnsibleAWSModule reports a missing botocore
    import botocore.exceptions

from ansible_collections.amazon.aws.plugins.module_utils.botocore import paginated_query_with_retries
from ansible_collections.amazon.aws.plugins.module_utils.exceptions import AnsibleAWSError
from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule
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


class AwsError(AnsibleAWSError):
    """An AWS call failed: amazon.aws's error type, carrying the botocore error (``exception``), our
    message (``message``: action, subject, AWS error code and message), the AWS error code (``code``) and
    whether something had already been changed (``changed``, see ``changes``)."""

    def __init__(self, action: str, subject: str, exception: BaseException) -> None:
        code, aws_message = aws_error(exception)
        super().__init__(message=format_aws_error(action, subject, code, aws_message), exception=exception)
        self.action = action
        self.subject = subject
        self.code = code
        self.aws_message = aws_message
        self.changed = False

    def __str__(self) -> str:
        return str(self.message)

    @property
    def response(self) -> dict[str, Any] | None:
        """The AWS response (error code and message, request ID, HTTP status) that ``fail_json_aws`` reads."""
        response = getattr(self.exception, "response", None)
        return response if isinstance(response, dict) else None


def fail_aws(module: AnsibleAWSModule, error: AwsError, msg: str | None = None, **result: Any) -> NoReturn:
    """Fail with our message (``msg``, else the error's), the AWS error code (``error_code``), the AWS
    response, the SDK versions and the traceback, through amazon.aws's ``fail_json_aws``.

    ``fail_json_aws_error`` would append botocore's own text to our message, which already names the code
    and AWS's message; ``fail_json_aws`` given the error itself keeps our message as it is.
    """
    if msg is not None:
        error.message = msg
    try:  # fail_json_aws takes the traceback of the exception being handled: make it this one
        raise error
    except AwsError:
        module.fail_json_aws(error, error_code=error.code, **result, **verbose_traceback(module, error))


def verbose_traceback(module: AnsibleAWSModule, error: BaseException) -> dict[str, str]:
    """At -vvv, the traceback of an AWS error in the result (``traceback``), down to the AWS call: Ansible
    itself adds one (``exception``) only with ANSIBLE_DISPLAY_TRACEBACK=error."""
    if getattr(module, "_verbosity", 0) < 3:
        return {}
    return {"traceback": "".join(traceback.format_exception(error))}


def call(client: Any, operation: str, subject: str, action: str, **kwargs: Any) -> dict[str, Any]:
    """Call an AWS operation with throttling retries; raise AwsError naming the subject."""
    try:
        return getattr(client, operation)(aws_retry=True, **kwargs)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise AwsError(action, subject, exc) from exc


def api_name(client: Any, operation: str) -> str:
    """AWS's name of a client method: describe_db_instances -> DescribeDBInstances."""
    mapping = getattr(client.meta, "method_to_api_mapping", {}) or {}
    return mapping.get(operation) or "".join(part.capitalize() for part in operation.split("_"))


def paginate(client: Any, operation: str, subject: str, **params: Any) -> dict[str, Any]:
    """Every page of a paginated describe, merged (botocore's paginator, ``build_full_result``), the whole
    query retried on throttling; raise AwsError naming the subject."""
    try:
        return paginated_query_with_retries(client, operation, retry_decorator=RETRY_DECORATOR, **params)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        raise AwsError(f"{api_name(client, operation)} for", subject, exc) from exc


@contextlib.contextmanager
def changes(hint: str | Callable[[], str], when: Callable[[], bool] | None = None) -> Iterator[None]:
    """Around the calls that change things: an AwsError raised inside fails with changed=true and ``hint``
    (what to do now) appended to its message.

    ``when`` (asked when the error is raised, so it sees what the run did up to then; by default always)
    says whether anything had been changed: when it answers false the error passes as it came. A callable
    ``hint`` is also asked then (to count what was done)."""
    try:
        yield
    except AwsError as exc:
        if when is None or when():
            exc.changed = True
            exc.message = f"{exc.message}{hint() if callable(hint) else hint}"
        raise


# --------------------------------------------------------------------------- the entry point


def aws_client(module: AnsibleAWSModule, service: str) -> Any:
    """A client of ``service`` whose calls retry throttling (``aws_retry=True``)."""
    return module.client(service, retry_decorator=RETRY_DECORATOR)


def run_module(
    argument_spec: dict[str, Any], work: Callable[[AnsibleAWSModule], Any], **module_kwargs: Any
) -> None:
    """A module's ``main()``: build the module (check mode supported), run ``work(module)`` (which exits),
    and fail any AWS error with our message, the AWS response and the traceback.

    Any other exception is a bug: it is left to Ansible, which shows its traceback.
    """
    module = AnsibleAWSModule(argument_spec=argument_spec, **{"supports_check_mode": True, **module_kwargs})
    try:
        work(module)
    except AwsError as exc:
        fail_aws(module, exc, changed=exc.changed)
    except AnsibleAWSError as exc:
        module.fail_json_aws_error(exc)
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, changed=False, **verbose_traceback(module, exc))


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


#: Where a module run on the controller appends its progress lines as they happen, when its action plugin
#: (plugin_utils/progress.py) asks for it: the action shows each line at the default verbosity while the
#: module still waits (a module cannot print while it runs).
PROGRESS_FILE_ENV = "CLUSTERSWAP_PROGRESS_FILE"
#: A wait names what it still waits for at least this often (seconds), even when nothing changed.
HEARTBEAT = 10.0


@dataclass
class Progress:
    """Progress lines of a wait: logged as they happen, streamed to the file ``CLUSTERSWAP_PROGRESS_FILE``
    names (if set), and returned in the module's result."""

    log: Callable[[str], None]
    lines: list[str] = field(default_factory=list)
    stream: str | None = field(default_factory=lambda: os.environ.get(PROGRESS_FILE_ENV))

    def __call__(self, line: str) -> None:
        self.lines.append(line)
        self.log(line)
        if self.stream:
            try:
                with open(self.stream, "a", encoding="utf-8") as out:
                    out.write(line + "\n")
            except OSError:
                self.stream = None  # the live view is a courtesy: the result still carries every line


class Heartbeat:
    """Progress of a series of calls that AWS's rates pace (1,000 associations at 5 a second, 24 moves at
    1): ``tick(done)`` after each call reports ``<what>: done/total issued after Ns`` at least every
    ``heartbeat`` seconds, the first and the last call included."""

    def __init__(self, progress: Callable[[str], None], what: str, total: int, heartbeat: float = HEARTBEAT):
        self.progress, self.what, self.total, self.heartbeat = progress, what, total, heartbeat
        self.start = time.monotonic()
        self.last: float | None = None

    def tick(self, done: int) -> None:
        now = time.monotonic()
        if self.last is None or done == self.total or now - self.last >= self.heartbeat:
            self.progress(f"{self.what}: {done}/{self.total} issued after {now - self.start:.1f}s")
            self.last = now


def wait_until(
    pending: Callable[[], list[str]],
    timeout: float,
    interval: float,
    progress: Callable[[str], None],
    what: str,
    total: int,
    heartbeat: float = HEARTBEAT,
) -> list[str]:
    """Poll ``pending()`` (what is still not done) every ``interval`` seconds until it is empty or
    ``timeout`` seconds have passed. Returns what is still pending ([] when done).

    Reports progress (done/total, the time spent, the deadline) each time the count changes and, between
    polls too, at least every ``heartbeat`` seconds while it does not, naming what is still pending: the
    heartbeat never adds a call.
    """
    start = time.monotonic()
    last: int | None = None
    last_report = start
    while True:
        remaining = pending()
        now = time.monotonic()
        elapsed = now - start
        if len(remaining) != last:
            done = f"{what}: {total - len(remaining)}/{total} done after {elapsed:.1f}s"
            progress(done if not remaining else f"{done} of at most {timeout:.0f}s")
            last, last_report = len(remaining), now
        if not remaining or elapsed >= timeout:
            return remaining
        next_poll = now + max(0.0, min(interval, timeout - elapsed))
        while (now := time.monotonic()) < next_poll:
            if now - last_report >= heartbeat:
                progress(
                    f"{what}: {total - len(remaining)}/{total} done after {now - start:.1f}s of at most "
                    f"{timeout:.0f}s (still waiting for {', '.join(remaining)})"
                )
                last_report = now
            time.sleep(max(0.0, min(next_poll - now, last_report + heartbeat - now)))


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

    A request reaches AWS some time after it leaves, so one paced from its departure may arrive early. With
    ``reserve`` tokens of AWS's bucket left unused (the client's bucket holds ``burst - reserve``), AWS's
    bucket absorbs that and the refill counts from each departure: ``rate_per_s`` calls a second, whatever
    the round trip. Without a reserve (a bucket of one token), ``done()`` restarts the refill at each answer.
    """

    def __init__(
        self,
        rate_per_s: float,
        burst: int = 1,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], None] | None = None,
        reserve: int = 0,
    ) -> None:
        if rate_per_s <= 0:
            raise ValueError(f"rate_per_s must be > 0, not {rate_per_s!r}")
        if burst < 1 or not 0 <= reserve < burst:
            raise ValueError(f"burst must be >= 1 and reserve in 0..burst-1, not {burst!r}, {reserve!r}")
        self.rate = float(rate_per_s)
        self.burst = int(burst) - int(reserve)
        self.reserve = int(reserve)
        self.tokens = float(self.burst)
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
        if self.reserve:
            return  # AWS's bucket keeps `reserve` tokens for a request that arrives early
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
