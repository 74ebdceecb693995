"""Unit tests of plugins/modules/http_check.py against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import json
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from ansible.module_utils.testing import patch_module_args

REPO = Path(__file__).resolve().parents[3]

from ansible_collections.clusterswap.swap.plugins.modules import http_check  # noqa: E402

OFFICE = "127.10.0.5"


@dataclass
class Seen:
    """What the server saw of each request."""

    client: str
    method: str
    path: str
    host: str | None
    headers: dict[str, str] = field(default_factory=dict)


class Recorder(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), Handler)
        self.seen: list[Seen] = []
        self.fail_first = 0  # answer 503 to this many requests to /flaky before answering 200

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    server: Recorder

    def log_message(self, *args: Any) -> None:
        pass

    def _answer(self) -> None:
        self.server.seen.append(
            Seen(
                self.client_address[0], self.command, self.path, self.headers.get("Host"), dict(self.headers)
            )
        )
        if self.path.startswith("/maintenance"):
            self._send(503, b"<html><title>Down for maintenance</title></html>", {"Retry-After": "600"})
        elif self.path.startswith("/flaky"):
            if self.server.fail_first > 0:
                self.server.fail_first -= 1
                self._send(503, b"not yet", {"Retry-After": "1"})
            else:
                self._send(200, b"ready now", {})
        elif self.path.startswith("/slow"):
            time.sleep(1.0)
            self._send(200, b"slow", {})
        elif self.path.startswith("/redirect"):
            self._send(302, b"", {"Location": "/"})
        elif self.path.startswith("/whoami"):
            self._send(200, f"you are {self.client_address[0]} host={self.headers.get('Host')}".encode(), {})
        else:
            self._send(200, b"Welcome to PythonAnywhere " + b"x" * 2000, {"X-Multi": "a"})

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = _answer
    do_POST = _answer
    do_HEAD = _answer


@pytest.fixture
def server() -> Iterator[Recorder]:
    srv = Recorder()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def run_module(args: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """Run the module in-process and return its JSON result (failed results have failed=True)."""
    with patch_module_args(args), pytest.raises(SystemExit):
        http_check.main()
    return json.loads(capsys.readouterr().out)


def test_single_check_passes_and_never_changes(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"url": server.base + "/", "text": "PythonAnywhere"}, capsys)
    assert not result.get("failed")
    assert result["changed"] is False
    assert result["ok"] is True
    assert result["status"] == 200
    assert result["attempts"] == 1
    assert result["error"] is None
    assert result["elapsed"] >= 0
    assert result["headers"]["content-type"].startswith("text/html")
    assert len(result["body"]) == 500


def test_source_address_binds_the_client_socket(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"url": server.base + "/whoami", "source_address": OFFICE}, capsys)
    assert result["ok"]
    assert server.seen[-1].client == OFFICE
    assert f"you are {OFFICE}" in result["body"]


def test_without_source_address_the_os_chooses(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    run_module({"url": server.base + "/whoami"}, capsys)
    assert server.seen[-1].client == "127.0.0.1"


def test_host_header_and_extra_headers_are_sent(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    args = {"url": server.base + "/whoami", "host_header": "www.example.com", "headers": {"X-Check": "yes"}}
    result = run_module(args, capsys)
    assert result["ok"]
    assert server.seen[-1].host == "www.example.com"
    assert server.seen[-1].headers["X-Check"] == "yes"


def test_expected_503_returns_retry_after(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    args = {"url": server.base + "/maintenance/any/path", "status": [503], "text": "Down for maintenance"}
    result = run_module(args, capsys)
    assert result["ok"]
    assert result["status"] == 503
    assert result["retry_after"] == "600"
    assert result["headers"]["retry-after"] == "600"


def test_wrong_status_fails_with_reason(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"url": server.base + "/maintenance"}, capsys)
    assert result["failed"] is True
    assert result["changed"] is False
    assert result["status"] == 503
    assert "status 503, expected one of [200]" in result["msg"]


def test_missing_text_fails(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"url": server.base + "/", "text": "Nope, not here"}, capsys)
    assert result["failed"] is True
    assert "'Nope, not here' not in body" in result["error"]


def test_text_is_searched_beyond_the_excerpt(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"url": server.base + "/", "text": "xxx", "body_excerpt_length": 5}, capsys)
    assert result["ok"]
    assert result["body"] == "Welco"


def test_redirects_are_not_followed(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"url": server.base + "/redirect", "status": [302]}, capsys)
    assert result["ok"]
    assert result["headers"]["location"] == "/"
    assert len(server.seen) == 1


def test_method_is_used(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    run_module({"url": server.base + "/", "method": "POST"}, capsys)
    assert server.seen[-1].method == "POST"


def test_retries_until_the_check_passes(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    server.fail_first = 2
    result = run_module({"url": server.base + "/flaky", "retries": 5, "delay": 0}, capsys)
    assert result["ok"]
    assert result["attempts"] == 3
    assert len(server.seen) == 3


def test_retries_are_bounded(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    server.fail_first = 10
    result = run_module({"url": server.base + "/flaky", "retries": 2, "delay": 0}, capsys)
    assert result["failed"] is True
    assert result["attempts"] == 3
    assert "after 3 attempt(s)" in result["msg"]


@pytest.mark.parametrize(
    ("option", "value"),
    [("retries", 301), ("retries", -1), ("delay", 301.0), ("timeout", 0), ("timeout", 1000.0)],
)
def test_out_of_range_options_are_refused(
    option: str, value: float, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_module({"url": "http://127.0.0.1:9/", option: value}, capsys)
    assert result["failed"] is True
    assert option in result["msg"]


def test_timeout_is_reported(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"url": server.base + "/slow", "timeout": 0.2}, capsys)
    assert result["failed"] is True
    assert result["error"].startswith("timed out")
    assert result["status"] is None


def test_connection_refused_is_a_failed_check_not_a_crash(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"url": "http://127.0.0.1:9/"}, capsys)
    assert result["failed"] is True
    assert "ConnectionRefusedError" in result["error"]


def test_source_address_not_on_this_machine_is_explained(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"url": "http://127.0.0.1:9/", "source_address": "192.0.2.77"}, capsys)
    assert result["failed"] is True
    assert "cannot bind source address 192.0.2.77" in result["msg"]


def test_bad_url_is_reported(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"url": "ftp://127.0.0.1/"}, capsys)
    assert result["failed"] is True
    assert "unsupported URL" in result["msg"]


def test_check_mode_still_checks(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"url": server.base + "/", "_ansible_check_mode": True}, capsys)
    assert result["ok"]
    assert result["changed"] is False
    assert len(server.seen) == 1


def test_url_and_checks_are_exclusive(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"url": "http://127.0.0.1/", "checks": [{"url": "http://127.0.0.1/"}]}, capsys)
    assert result["failed"] is True
    assert "mutually exclusive" in result["msg"]


def test_one_of_url_or_checks_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({}, capsys)
    assert result["failed"] is True
    assert "one of the following is required" in result["msg"]


def test_checks_report_every_failure_at_once(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    checks = [
        {"name": "front page", "url": server.base + "/", "text": "PythonAnywhere"},
        {"name": "maintenance is 503", "url": server.base + "/maintenance", "status": [503]},
        {"name": "wrong status", "url": server.base + "/maintenance"},
        {"name": "missing text", "url": server.base + "/", "text": "absent"},
    ]
    result = run_module({"checks": checks, "source_address": OFFICE, "retries": 1, "delay": 0}, capsys)
    assert result["failed"] is True
    assert result["ok"] is False
    assert result["failed_checks"] == ["wrong status", "missing text"]
    assert "2 of 4 HTTP check(s) failed" in result["msg"]
    assert f"- wrong status ({server.base}/maintenance from {OFFICE}): status 503" in result["msg"]
    assert "- missing text" in result["msg"]
    assert [r["attempts"] for r in result["results"]] == [1, 1, 2, 2]
    assert {s.client for s in server.seen} == {OFFICE}


def test_checks_inherit_top_level_defaults_and_override_them(
    server: Recorder, capsys: pytest.CaptureFixture[str]
) -> None:
    checks = [
        {"url": server.base + "/whoami"},
        {"url": server.base + "/whoami", "source_address": "127.10.0.9", "host_header": "other.example"},
    ]
    result = run_module({"checks": checks, "source_address": OFFICE, "host_header": "www.example"}, capsys)
    assert result["ok"]
    assert [(s.client, s.host) for s in server.seen] == [
        (OFFICE, "www.example"),
        ("127.10.0.9", "other.example"),
    ]
    assert result["results"][0]["name"] == server.base + "/whoami"


def test_empty_checks_are_refused(capsys: pytest.CaptureFixture[str]) -> None:
    result = run_module({"checks": []}, capsys)
    assert result["failed"] is True


def test_run_checks_sleeps_between_rounds_only() -> None:
    slept: list[float] = []
    checks = http_check.build_checks({"url": "http://127.0.0.1:9/", **_defaults()})
    results = http_check.run_checks(checks, retries=2, delay=0.5, timeout=1, sleep=slept.append)
    assert slept == [0.5, 0.5]
    assert results[0]["attempts"] == 3


def _defaults() -> dict[str, Any]:
    return {
        "source_address": None,
        "host_header": None,
        "method": "GET",
        "status": [200],
        "text": None,
        "headers": {},
    }


def test_module_runs_standalone_as_ansible_runs_it(server: Recorder, tmp_path: Path) -> None:
    args = tmp_path / "args.json"
    args.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": {"url": server.base + "/", "source_address": OFFICE}}))
    proc = subprocess.run(
        [sys.executable, str(REPO / "plugins/modules/http_check.py"), str(args)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    result = json.loads(proc.stdout)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert result["ok"] is True
    assert server.seen[-1].client == OFFICE


class ProxyProtocolServer(socketserver.ThreadingTCPServer):
    """Answers 200 with the client address its PROXY protocol v1 header claimed; records the header."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ProxyProtocolHandler)
        self.headers_seen: list[str] = []


class ProxyProtocolHandler(socketserver.StreamRequestHandler):
    server: ProxyProtocolServer

    def handle(self) -> None:
        first = self.rfile.readline().decode("ascii").rstrip("\r\n")
        self.server.headers_seen.append(first)
        while self.rfile.readline() not in (b"\r\n", b""):
            pass
        if not first.startswith("PROXY "):
            self.wfile.write(b"HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            return
        body = f"client {first.split()[2]}".encode()
        self.wfile.write(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))


@pytest.fixture
def proxy_server() -> Iterator[ProxyProtocolServer]:
    srv = ProxyProtocolServer()
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_proxy_protocol_header_claims_the_given_client(
    proxy_server: ProxyProtocolServer, capsys: pytest.CaptureFixture[str]
) -> None:
    port = proxy_server.server_address[1]
    args = {"url": f"http://127.0.0.1:{port}/", "proxy_protocol_source": OFFICE, "text": f"client {OFFICE}"}
    result = run_module(args, capsys)
    assert result["ok"], result
    header = proxy_server.headers_seen[-1].split()
    assert header[:4] == ["PROXY", "TCP4", OFFICE, "127.0.0.1"]
    assert header[5] == str(port)


def test_without_proxy_protocol_no_header_is_sent(
    proxy_server: ProxyProtocolServer, capsys: pytest.CaptureFixture[str]
) -> None:
    port = proxy_server.server_address[1]
    result = run_module({"url": f"http://127.0.0.1:{port}/", "status": [400]}, capsys)
    assert result["ok"]
    assert proxy_server.headers_seen[-1].startswith("GET / HTTP/1.1")


def test_proxy_protocol_family_mismatch_is_reported(
    proxy_server: ProxyProtocolServer, capsys: pytest.CaptureFixture[str]
) -> None:
    port = proxy_server.server_address[1]
    result = run_module({"url": f"http://127.0.0.1:{port}/", "proxy_protocol_source": "2001:db8::1"}, capsys)
    assert result["failed"] is True
    assert "differ in family" in result["msg"]


def test_urls_shorthand_checks_each_url(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    urls = [server.base + "/maintenance/a", server.base + "/maintenance/b", server.base + "/"]
    result = run_module({"urls": urls, "status": [503], "source_address": OFFICE}, capsys)
    assert result["failed"] is True
    assert result["failed_checks"] == [server.base + "/"]
    assert [r["retry_after"] for r in result["results"]] == ["600", "600", None]
    assert len(server.seen) == 3


def test_request_headers_never_reach_the_output(server: Recorder, capsys: pytest.CaptureFixture[str]) -> None:
    """Headers may carry credentials (Authorization): the result and its invocation never show them."""
    secret = "Bearer s3cr3t-token-for-the-test"
    result = run_module({"url": server.base + "/", "headers": {"Authorization": secret}}, capsys)
    assert not result.get("failed"), result
    checks = {"checks": [{"url": server.base + "/", "headers": {"Authorization": secret}}]}
    result_checks = run_module(checks, capsys)
    assert not result_checks.get("failed"), result_checks
    for out in (result, result_checks):
        assert secret not in json.dumps(out)
    assert "invocation" in result


# --------------------------------------------------------------------------- HTTPS


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[tuple[Recorder, Path, Path]]:
    """The recorder over TLS, a certificate for www.example.test from a CA made here: (server, CA, cert)."""
    import ssl

    from lab.tls import CertificateAuthority

    ca = CertificateAuthority.create(tmp_path / "ca")
    cert, key = ca.issue(["www.example.test", "example.test"], tmp_path / "certs", "site")
    srv = Recorder()
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    srv.socket = context.wrap_socket(srv.socket, server_side=True)
    thread = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield srv, ca.path, cert
    srv.shutdown()
    srv.server_close()


def test_https_through_an_address_checks_the_sites_certificate_under_the_given_ca(
    tls_server: tuple[Recorder, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """As through an EIP: the URL is the address, the Host header names the site, whose certificate must be
    valid for that name under the CA given; the result tells which certificate was presented."""
    from lab.tls import fingerprint

    srv, ca, cert = tls_server
    url = f"https://127.0.0.1:{srv.server_address[1]}/maintenance"
    args = {"url": url, "host_header": "www.example.test", "ca_path": str(ca), "status": [503]}
    result = run_module(args, capsys)
    assert result["ok"] and result["retry_after"] == "600", result
    assert result["certificate_sha256"] == fingerprint(cert)
    assert srv.seen[-1].host == "www.example.test"

    wrong_name = run_module({**args, "host_header": "shop.example.test"}, capsys)
    assert not wrong_name["ok"] and "shop.example.test" in wrong_name["error"], wrong_name
    assert wrong_name["certificate_sha256"] is None
    untrusted = run_module({"url": url, "host_header": "www.example.test", "status": [503]}, capsys)
    assert not untrusted["ok"] and "CERTIFICATE_VERIFY_FAILED" in untrusted["error"], untrusted
    unchecked = run_module({**args, "ca_path": None, "validate_certs": False}, capsys)
    assert unchecked["ok"] and unchecked["certificate_sha256"] == fingerprint(cert)
