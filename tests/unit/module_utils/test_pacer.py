"""Unit tests of the client-side pacing in plugins/module_utils/aws.py (Pacer, pace)."""

from __future__ import annotations

import boto3
import pytest
from ansible_collections.clusterswap.swap.plugins.module_utils.aws import Pacer, pace
from botocore.config import Config
from botocore.exceptions import ClientError


class Clock:
    """A fake clock and sleep: sleeping moves the clock."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def test_burst_then_one_call_per_interval() -> None:
    """A token bucket like AWS's: `burst` calls at once, then `rate_per_s` per second."""
    clock = Clock()
    pacer = Pacer(2.0, burst=3, clock=clock, sleep=clock.sleep)
    assert [pacer.wait() for _ in range(3)] == [0.0, 0.0, 0.0]
    assert pacer.wait() == pytest.approx(0.5)
    assert pacer.wait() == pytest.approx(0.5)
    assert clock.slept == [pytest.approx(0.5), pytest.approx(0.5)]
    assert pacer.waited == pytest.approx(1.0)


def test_time_between_calls_counts_and_the_bucket_never_holds_more_than_burst() -> None:
    clock = Clock()
    pacer = Pacer(1.0, burst=2, clock=clock, sleep=clock.sleep)
    pacer.wait()
    pacer.wait()
    clock.now += 0.25
    assert pacer.wait() == pytest.approx(0.75)
    clock.now += 60  # idle: refills to 2, not 60
    assert [pacer.wait() for _ in range(2)] == [0.0, 0.0]
    assert pacer.wait() == pytest.approx(1.0)


def test_a_sleep_that_returns_at_once_counts_as_slept() -> None:
    """A fake (or interrupted) sleep must not turn the pacer into a busy loop of zero waits."""
    slept: list[float] = []
    pacer = Pacer(1.0, burst=1, clock=lambda: 5.0, sleep=slept.append)
    assert [pacer.wait() for _ in range(4)] == [0.0, 1.0, 1.0, 1.0]
    assert slept == [1.0, 1.0, 1.0]


def test_done_counts_the_next_interval_from_the_answer() -> None:
    """A request reaches AWS after it leaves: counting from the answer keeps a slow request from
    arriving less than a second before the next one."""
    clock = Clock()
    pacer = Pacer(1.0, burst=1, clock=clock, sleep=clock.sleep)
    pacer.wait()
    clock.now += 0.3  # the request took 0.3 s
    pacer.done()
    assert pacer.wait() == pytest.approx(1.0)


def test_with_a_reserve_the_calls_keep_the_rate_whatever_the_round_trip() -> None:
    """AWS's bucket of 50 refilled at 5 a second: 45 at once, then one every 0.2 s counted from each
    departure (the 5 left absorb a request that arrives early), not 0.2 s plus the round trip."""
    clock = Clock()
    pacer = Pacer(5.0, burst=50, clock=clock, sleep=clock.sleep, reserve=5)
    assert [pacer.wait() for _ in range(45)] == [0.0] * 45
    for _ in range(10):
        assert pacer.wait() == pytest.approx(0.2)
        clock.now += 0.06  # the request's round trip
        pacer.done()
        assert pacer.wait() == pytest.approx(0.14)  # the round trip counted in the interval
        pacer.done()
    assert clock.now - 100.0 == pytest.approx(20 * 0.2)


@pytest.mark.parametrize(
    ("rate", "burst", "reserve"), [(0, 1, 0), (-1, 1, 0), (1, 0, 0), (5, 50, 50), (5, 50, -1)]
)
def test_nonsense_rates_are_refused(rate: float, burst: int, reserve: int) -> None:
    with pytest.raises(ValueError):
        Pacer(rate, burst=burst, reserve=reserve)


def test_pace_holds_a_boto3_operation_to_the_simulators_bucket(make_lab, virtual_time) -> None:
    """AWS: DescribeMovingAddresses has a bucket of 1 token refilled at 1 per second. Five calls in a row
    are throttled four times; paced, none is, each request (retries included) waiting its second."""
    make_lab("vpc-day")
    one_attempt = Config(retries={"total_max_attempts": 1})
    plain = boto3.client("ec2", region_name="us-east-1", config=one_attempt)
    throttled = 0
    for _ in range(5):
        try:
            plain.describe_moving_addresses()
        except ClientError as exc:
            assert exc.response["Error"]["Code"] == "RequestLimitExceeded"
            throttled += 1
    assert throttled == 4

    virtual_time.advance(1.0)
    client = pace(
        boto3.client("ec2", region_name="us-east-1", config=one_attempt),
        {"DescribeMovingAddresses": Pacer(1.0)},
    )
    for _ in range(5):
        client.describe_moving_addresses()  # never RequestLimitExceeded
    assert sum(virtual_time.slept) == pytest.approx(4.0, abs=0.01)
    client.describe_addresses()  # other operations are not paced
    assert sum(virtual_time.slept) == pytest.approx(4.0, abs=0.01)
