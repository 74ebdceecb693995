"""The lab server's EC2 API throttling and call counters over HTTP: /_lab/throttle, /_lab/api-stats."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lab.awssim.client import LabClient, LabError

ONE_ATTEMPT = Config(retries={"total_max_attempts": 1})  # no retry: the throttle stays visible


@pytest.fixture
def ec2(lab_url: str) -> Any:
    return boto3.client(
        "ec2",
        endpoint_url=lab_url,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=ONE_ATTEMPT,
    )


def test_server_throttles_and_counts_and_can_be_switched_off(lab: LabClient, ec2: Any) -> None:
    """AWS: DescribeMovingAddresses has a bucket of 1 token refilled at 1 per second, and "If you exceed
    an API throttling limit, you get the RequestLimitExceeded error code" (HTTP 503). The lab server
    throttles by default, counts every call, and `POST /_lab/throttle {"enabled": false}` switches it off."""
    assert lab.state()["throttle"]["enabled"] is True
    ec2.describe_moving_addresses()
    with pytest.raises(ClientError) as exc:
        ec2.describe_moving_addresses()  # well within a second of the first
    error = exc.value.response["Error"]
    assert error == {"Code": "RequestLimitExceeded", "Message": "Request limit exceeded."}
    assert exc.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503

    stats = lab.api_stats()
    assert stats["services"]["ec2"]["DescribeMovingAddresses"] == {"calls": 2, "throttled": 1, "faults": 0}
    assert stats["totals"]["throttled"] == 1
    assert lab.reset_api_stats()["services"] == {}

    assert lab.set_throttle(False)["enabled"] is False
    assert lab.state()["throttle"]["enabled"] is False
    for _ in range(3):
        ec2.describe_moving_addresses()
    assert lab.api_stats()["services"]["ec2"]["DescribeMovingAddresses"]["throttled"] == 0
    assert lab.api_stats()["throttle_enabled"] is False

    lab.reset()  # a fresh account: throttled again, counters at zero
    assert lab.state()["throttle"]["enabled"] is True
    assert lab.api_stats()["services"] == {}
    with pytest.raises(LabError, match="400"):
        lab._call("POST", "throttle", {"enabled": "no"})


def test_seeding_over_http_is_not_throttled_and_keeps_the_setting(lab: LabClient, ec2: Any) -> None:
    """A world is built "long ago": seeding vpc-day launches ~50 instances one RunInstances each (AWS:
    RunInstances bucket 5, refill 2/s) and is not throttled; the world starts with full buckets and zero
    counters, and with throttling as it was before the seed."""
    world = lab.seed("vpc-day")
    assert len(world["instances"]) > 5
    state = lab.state()
    assert state["throttle"] == {"enabled": True, "buckets": {}}
    assert lab.api_stats()["totals"] == {"calls": 0, "throttled": 0, "faults": 0}

    lab.set_throttle(False)
    lab.seed("vpc-day")
    assert lab.state()["throttle"]["enabled"] is False
