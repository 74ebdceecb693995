"""The modules' one entry point and error path (plugins/module_utils/aws.py: run_module, AwsError, fail_aws,
changes, paginate): an AWS error fails with our message AND what AWS answered (error code, response,
traceback); any other exception is a bug and reaches Ansible with its traceback."""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import botocore.exceptions
import pytest
from ansible.module_utils._internal import _traceback
from ansible.module_utils.testing import patch_module_args
from ansible_collections.clusterswap.swap.plugins.module_utils.aws import (
    PROGRESS_FILE_ENV,
    AwsError,
    Heartbeat,
    Progress,
    call,
    changes,
    run_module,
    wait_until,
)
from ansible_collections.clusterswap.swap.plugins.module_utils.eip import describe_moving_addresses
from botocore.stub import Stubber

DENIED = "You are not authorized to perform this operation."
AWS_ANSWER = {
    "Error": {"Code": "UnauthorizedOperation", "Message": DENIED},
    "ResponseMetadata": {"RequestId": "req-0123", "HTTPStatusCode": 403},
}
OUR_MESSAGE = f"MoveAddressToVpc 127.100.0.1: UnauthorizedOperation: {DENIED}"


class RefusingClient:
    """A client whose every call is refused as AWS refuses it."""

    def move_address_to_vpc(self, **_: Any) -> dict[str, Any]:
        raise botocore.exceptions.ClientError(AWS_ANSWER, "MoveAddressToVpc")  # type: ignore[arg-type]


def refused_move(_module: Any) -> None:
    call(RefusingClient(), "move_address_to_vpc", "127.100.0.1", "MoveAddressToVpc", PublicIp="127.100.0.1")


@pytest.fixture
def tracebacks(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tracebacks decided as in a module process, from the module args Ansible passes when they are on
    (ANSIBLE_DISPLAY_TRACEBACK=error): a module reads them once per process, so the cached answer is
    cleared; and importing the controller's display (another test may have) makes the controller decide."""
    monkeypatch.setattr(_traceback, "_module_tracebacks_enabled_events", None)
    monkeypatch.setattr(_traceback, "_is_traceback_enabled", _traceback._is_module_traceback_enabled)


def run(
    work: Callable[[Any], None], capsys: pytest.CaptureFixture[str], aws_env: None, **kwargs: Any
) -> dict[str, Any]:
    capsys.readouterr()
    args = {"region": "us-east-1", "_ansible_tracebacks_for": ["error"]}
    with patch_module_args(args), pytest.raises(SystemExit):
        run_module({}, work, **kwargs)
    return json.loads(capsys.readouterr().out.strip().splitlines()[-1])  # type: ignore[no-any-return]


def test_an_aws_error_fails_with_our_message_and_what_aws_answered(capsys, aws_env, tracebacks) -> None:
    result = run(refused_move, capsys, aws_env)
    assert result["failed"] and not result["changed"]
    assert result["msg"] == OUR_MESSAGE, "our message, word for word, botocore's text not appended"
    assert result["error_code"] == "UnauthorizedOperation"
    assert result["error"] == {"code": "UnauthorizedOperation", "message": DENIED}
    assert result["response_metadata"] == {"request_id": "req-0123", "http_status_code": 403}
    assert result["boto3_version"] and result["botocore_version"]
    assert "Traceback" in result["exception"]
    assert "botocore.exceptions.ClientError" in result["exception"], "the AWS error the failure came from"
    assert "in refused_move" in result["exception"], "where the module made the call"


def test_an_aws_error_after_a_change_says_so_and_what_to_do(capsys, aws_env, tracebacks) -> None:
    def work(module: Any) -> None:
        with changes(" (rerun to finish)"):
            refused_move(module)

    result = run(work, capsys, aws_env)
    assert result["failed"] and result["changed"]
    assert result["msg"] == OUR_MESSAGE + " (rerun to finish)"
    assert result["error"]["code"] == "UnauthorizedOperation"


def test_an_aws_error_before_any_change_passes_as_it_came(capsys, aws_env, tracebacks) -> None:
    def work(module: Any) -> None:
        with changes(" (rerun to finish)", when=lambda: False):
            refused_move(module)

    result = run(work, capsys, aws_env)
    assert result["failed"] and not result["changed"]
    assert result["msg"] == OUR_MESSAGE, "no hint: nothing was changed"


def test_the_condition_and_the_hint_are_asked_when_the_error_is_raised() -> None:
    made = 0
    with pytest.raises(AwsError) as raised, changes(lambda: f" ({made} changes made)", when=lambda: made > 0):
        made = 2  # the condition was false when the block began
        refused_move(None)
    assert raised.value.changed
    assert str(raised.value) == OUR_MESSAGE + " (2 changes made)"

    asked: list[str] = []

    def when() -> bool:
        asked.append("when")
        return True

    with changes(" (never)", when=when):
        pass
    assert not asked, "no error, no question"


def test_a_bug_that_is_not_an_aws_error_reaches_ansible_with_its_traceback(capsys, aws_env) -> None:
    def work(module: Any) -> None:
        {}["missing"]

    with patch_module_args({"region": "us-east-1"}), pytest.raises(KeyError) as raised:
        run_module({}, work)
    assert raised.traceback[-1].name == "work", "the traceback points at the bug"


def test_an_error_keeps_the_subject_code_and_aws_message() -> None:
    with pytest.raises(AwsError) as raised:
        refused_move(None)
    error = raised.value
    assert str(error) == OUR_MESSAGE
    assert (error.subject, error.code) == ("127.100.0.1", "UnauthorizedOperation")
    assert error.response == AWS_ANSWER
    assert isinstance(error.exception, botocore.exceptions.ClientError)


def test_a_paginated_describe_reads_every_page_and_names_its_subject_on_error(aws_env) -> None:
    client = boto3.client("ec2", region_name="us-east-1")
    page = {"MovingAddressStatuses": [{"PublicIp": "127.100.0.1", "MoveStatus": "movingToVpc"}]}
    last = {"MovingAddressStatuses": [{"PublicIp": "127.100.0.2", "MoveStatus": "restoringToClassic"}]}
    with Stubber(client) as stub:
        stub.add_response("describe_moving_addresses", {**page, "NextToken": "page-2"}, {})
        stub.add_response("describe_moving_addresses", last, {"NextToken": "page-2"})
        stub.add_client_error(
            "describe_moving_addresses", service_error_code="AuthFailure", service_message="expired"
        )
        assert describe_moving_addresses(client) == {
            "127.100.0.1": "movingToVpc",
            "127.100.0.2": "restoringToClassic",
        }
        with pytest.raises(AwsError) as raised:
            describe_moving_addresses(client)
    assert str(raised.value) == "DescribeMovingAddresses for moving Elastic IPs: AuthFailure: expired"


def test_a_botocore_error_not_wrapped_still_fails_with_what_aws_answered(capsys, aws_env, tracebacks) -> None:
    def work(_module: Any) -> None:
        RefusingClient().move_address_to_vpc()

    result = run(work, capsys, aws_env)
    assert result["failed"] and not result["changed"]
    assert DENIED in result["msg"] and "MoveAddressToVpc" in result["msg"]
    assert result["error"]["code"] == "UnauthorizedOperation"
    assert "botocore.exceptions.ClientError" in result["exception"]


@pytest.mark.parametrize("verbosity", [0, 3])
def test_at_vvv_an_aws_error_carries_its_traceback_without_display_traceback(
    capsys, aws_env, verbosity
) -> None:
    capsys.readouterr()
    with (
        patch_module_args({"region": "us-east-1", "_ansible_verbosity": verbosity}),
        pytest.raises(SystemExit),
    ):
        run_module({}, refused_move)
    result = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert result["msg"] == OUR_MESSAGE and "exception" not in result, "Ansible's own traceback is off"
    if verbosity < 3:
        assert "traceback" not in result
    else:
        assert result["traceback"].startswith("Traceback (most recent call last)")
        assert (
            "botocore.exceptions.ClientError" in result["traceback"]
            and "in refused_move" in result["traceback"]
        )


# --------------------------------------------------------------------------- waiting


def test_a_wait_names_what_it_waits_for_between_polls_without_another_call() -> None:
    """Polls every 0.6 s for 1.5 s; the heartbeat (0.2 s) speaks in between, but only polls call AWS."""
    polls: list[float] = []
    lines: list[str] = []

    def pending() -> list[str]:
        polls.append(time.monotonic())
        return ["vol-1"] if len(polls) < 3 else []

    left = wait_until(
        pending, timeout=5, interval=0.6, progress=lines.append, what="detached", total=2, heartbeat=0.2
    )
    assert left == [] and len(polls) == 3, "one call per poll, whatever the heartbeat"
    assert lines[0].startswith("detached: 1/2 done after 0.0s of at most 5s")
    beats = [line for line in lines if "(still waiting for vol-1)" in line]
    assert len(beats) >= 4 and all(" of at most 5s " in line for line in beats), lines
    assert lines[-1].startswith("detached: 2/2 done after 1.") and "at most" not in lines[-1]


def test_a_wait_that_runs_out_returns_what_is_pending() -> None:
    lines: list[str] = []
    left = wait_until(
        lambda: ["mysql-1"], timeout=1, interval=0.4, progress=lines.append, what="RDS", total=1
    )
    assert left == ["mysql-1"] and lines == ["RDS: 0/1 done after 0.0s of at most 1s"]


def test_progress_lines_are_streamed_to_the_file_the_action_names(tmp_path: Path, monkeypatch: Any) -> None:
    stream = tmp_path / "progress.log"
    monkeypatch.setenv(PROGRESS_FILE_ENV, str(stream))
    logged: list[str] = []
    progress = Progress(logged.append)
    progress("moves to VPC: 0/2 done after 0.0s of at most 600s")
    progress("moves to VPC: 2/2 done after 3.1s")
    assert stream.read_text().splitlines() == progress.lines == logged and len(logged) == 2


def test_an_unwritable_stream_costs_the_live_view_not_the_lines(tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.setenv(PROGRESS_FILE_ENV, str(tmp_path / "no" / "such" / "dir" / "progress.log"))
    progress = Progress(lambda _line: None)
    progress("one")
    progress("two")
    assert progress.lines == ["one", "two"] and progress.stream is None


def test_no_stream_without_the_action() -> None:
    assert os.environ.get(PROGRESS_FILE_ENV) is None and Progress(print).stream is None


def test_a_paced_series_of_calls_reports_the_first_the_last_and_every_heartbeat_between() -> None:
    lines: list[str] = []
    beat = Heartbeat(lines.append, "MoveAddressToVpc", 5, heartbeat=0.2)
    for done in range(1, 6):
        time.sleep(0.12)  # AWS's pace
        beat.tick(done)
    assert lines[0].startswith("MoveAddressToVpc: 1/5 issued after 0.1")
    assert lines[-1].startswith("MoveAddressToVpc: 5/5 issued after 0.")
    assert 3 <= len(lines) < 5, "not one line per call: one per heartbeat"
