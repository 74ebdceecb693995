"""The downtime probe (lab/probe.py) against a local HTTP server whose answer changes while it probes."""

from __future__ import annotations

import asyncio
from typing import Any

from lab.probe import MAINTENANCE, NEW, OLD, classify, probe, summarize, violations

HOST = "127.30.0.1"


def test_classify_reads_the_lab_pages_and_the_maintenance_page() -> None:
    assert classify(200, "clusterswap-lab cluster=old host=old-web-1 role=web client=1.2.3.4") == OLD
    assert classify(200, "clusterswap-lab cluster=new host=new-web-1") == NEW
    assert classify(503, "<html><title>Down for maintenance</title>") == MAINTENANCE
    assert classify(503, "clusterswap-lab cluster=maintenance host=maint-1 unconfigured") == "http-503"
    assert classify(None, "refused") == "refused"
    assert classify(502, "bad gateway") == "http-502"


async def _serve(answers: list[tuple[float, int | None, str]], port: int) -> asyncio.Server:
    """A server answering answers[i] from time answers[i][0] on (status None: close without a response)."""
    start = asyncio.get_running_loop().time()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        now = asyncio.get_running_loop().time() - start
        status, body = next((s, b) for t, s, b in reversed(answers) if now >= t)
        if status is not None:
            writer.write(f"HTTP/1.0 {status} X\r\nContent-Type: text/plain\r\n\r\n{body}".encode())
        writer.close()

    return await asyncio.start_server(handle, HOST, port)


def _run(answers: list[tuple[float, int | None, str]], duration: float, port: int) -> dict[str, Any]:
    async def go() -> dict[str, Any]:
        server = await _serve(answers, port)
        try:
            return await probe({HOST: "web-1"}, duration, 0.05, {"client": None}, port=port)
        finally:
            server.close()

    return asyncio.run(go())


def test_probe_records_old_then_maintenance_then_new_with_a_short_gap() -> None:
    answers = [
        (0.0, 200, "clusterswap-lab cluster=old"),
        (0.5, 503, "Down for maintenance"),
        (1.0, None, ""),
        (1.2, 200, "clusterswap-lab cluster=new"),
    ]
    report = _run(answers, 1.8, 18081)
    s = summarize(report)[HOST]
    assert s["states"] == [OLD, MAINTENANCE, "closed", NEW]
    assert 0.3 < s["maintenance_seconds"] < 0.8
    assert 0.05 < s["longest_no_page"] < 0.5
    assert not s["flip_back_to_old"]
    assert violations(report, max_no_page=1.0) == []
    assert violations(report, max_no_page=0.01), "a gap longer than the limit is a violation"


def test_probe_flags_a_flip_back_to_the_old_cluster() -> None:
    answers = [
        (0.0, 503, "Down for maintenance"),
        (0.4, 200, "clusterswap-lab cluster=old"),
    ]
    report = _run(answers, 0.9, 18082)
    assert summarize(report)[HOST]["flip_back_to_old"]
    assert any("answered from the old cluster" in v for v in violations(report, max_no_page=10))


def test_probe_stops_by_itself_and_reports_refusals() -> None:
    report = asyncio.run(probe({HOST: "web-1"}, 0.4, 0.05, {"client": None}, port=18083))
    s = summarize(report)[HOST]
    assert s["states"] == ["refused"]
    assert report["ended_at"] - report["started_at"] < 2
