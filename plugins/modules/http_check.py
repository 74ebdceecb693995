#!/usr/bin/python
# Copyright: clusterswap contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""http_check: read-only HTTP checks from a chosen source address, with bounded retries."""

from __future__ import annotations

import hashlib
import http.client
import socket
import ssl
import time
from typing import Any
from urllib.parse import urlsplit

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: http_check
short_description: Check HTTP endpoints from a chosen source address, with bounded retries
description:
  - Sends an HTTP request (C(GET) by default) to a URL and checks the response status and, optionally,
    that the body contains a text.
  - Can bind the client socket to a given O(source_address) before connecting, so that a check can be made
    "from the office" (the maintenance server lets office source addresses through) or from any other
    address of the machine that runs the module. M(ansible.builtin.uri) cannot do this.
  - Can send a different C(Host) header from the host in the URL (O(host_header)), to check one virtual host
    through an IP address, such as an Elastic IP.
  - Several checks can be made in one call with O(checks); every failing check is reported at once, not only
    the first one.
  - Redirects are not followed; the status of the first response is what is checked.
  - The module only reads, so it always reports C(changed=false) and really runs in check mode.
  - "Meant to run on the controller (C(delegate_to: localhost)), where the addresses to check from live."
version_added: "1.0.0"
author:
  - clusterswap contributors
options:
  url:
    description:
      - The URL to request, C(http://) or C(https://). The host may be an IP address.
      - Mutually exclusive with O(checks) and O(urls); one of the three is required.
    type: str
  checks:
    description:
      - A list of checks made in one call. Each item takes the same options as the single check
        (O(url), O(source_address), O(host_header), O(method), O(status), O(text), O(headers))
        plus a O(checks[].name).
      - Options given at the top level are the defaults for every item.
      - All checks are tried in each round; the checks that failed are retried after O(delay),
        up to O(retries) times; then every check that still fails is reported.
    type: list
    elements: dict
    suboptions:
      name:
        description: A name for the check, used in the results and the failure message. Defaults to the URL.
        type: str
      url:
        description: The URL to request.
        type: str
        required: true
      source_address:
        description: The local address to bind the client socket to. Defaults to the top-level one.
        type: str
      proxy_protocol_source:
        description: The client address to claim in a PROXY protocol header. Defaults to the top-level one.
        type: str
      host_header:
        description: The C(Host) header to send. Defaults to the top-level O(host_header).
        type: str
      method:
        description: The HTTP method. Defaults to the top-level O(method).
        type: str
      status:
        description: The accepted status codes. Defaults to the top-level O(status).
        type: list
        elements: int
      text:
        description: A text the body must contain. Defaults to the top-level O(text).
        type: str
      headers:
        description: Extra request headers, merged over the top-level O(headers).
        type: dict
  urls:
    description:
      - Shorthand for O(checks) when only the URL differs, one check per URL, named by its URL, with the
        top-level options. Mutually exclusive with O(url) and O(checks).
    type: list
    elements: str
  source_address:
    description:
      - The local IP address to bind the client socket to before connecting, for example an address of the
        office network (C(203.0.113.10)). It must be an address of the machine the module runs on.
      - When not set, the operating system chooses.
    type: str
  proxy_protocol_source:
    description:
      - Open each connection with a PROXY protocol v1 header that names this address as the client, as a
        network load balancer does, to test a server that listens with
        C(proxy_protocol) directly, for example "an office client" without being on the office network.
      - The server only believes it if it trusts the address the connection really comes from.
      - Must be of the same address family as the server address.
    type: str
  host_header:
    description: The C(Host) header to send instead of the host part of the URL (also used for TLS SNI).
    type: str
  method:
    description: The HTTP method.
    type: str
    default: GET
  status:
    description: The status codes that count as success.
    type: list
    elements: int
    default: [200]
  text:
    description: A text the response body must contain (case-sensitive substring); not checked when not set.
    type: str
  headers:
    description: Extra request headers.
    type: dict
    default: {}
  retries:
    description:
      - How many times to retry a failing check after the first attempt (0 to 300).
    type: int
    default: 0
  delay:
    description: Seconds to wait between rounds of retries (0 to 300).
    type: float
    default: 1.0
  timeout:
    description: Seconds allowed for one attempt to connect and read the response (more than 0, at most 300).
    type: float
    default: 5.0
  validate_certs:
    description: Whether to validate TLS certificates for C(https://) URLs.
    type: bool
    default: true
  ca_path:
    description:
      - A PEM file of the certificate authorities to trust for C(https://) URLs, instead of the system's.
      - The certificate must be valid for the TLS server name, which is the O(host_header)'s host when given
        (checking a site's certificate through an Elastic IP), else the URL's host.
    type: path
  body_excerpt_length:
    description: How many characters of the body to return in the results (0 to 65536).
    type: int
    default: 500
notes:
  - The whole body, up to 1 MiB, is searched for O(text); only the excerpt is returned.
  - Worst-case duration is bounded by
    (O(retries) + 1) x number of checks x O(timeout) + O(retries) x O(delay).
seealso:
  - module: ansible.builtin.uri
  - module: ansible.builtin.wait_for
"""

EXAMPLES = r"""
- name: "2.3 | Maintenance | A normal client gets the maintenance page through the EIP"
  clusterswap.swap.http_check:
    url: "http://{{ item }}/"
    host_header: www.pythonanywhere.com
    status: [503]
    text: "down for maintenance"
    retries: 10
    delay: 2
  loop: "{{ maintenance_mode_verify_eips }}"
  delegate_to: localhost

- name: "5.1 | Office check | Every office check through the bypass, all failures reported at once"
  clusterswap.swap.http_check:
    source_address: 203.0.113.10
    retries: 3
    checks:
      - name: front page
        url: http://198.51.100.7/
        host_header: www.pythonanywhere.com
        text: PythonAnywhere
      - name: login page
        url: http://198.51.100.7/login/
        host_header: www.pythonanywhere.com
        status: [200, 302]
  delegate_to: localhost
  register: office

- name: Read the Retry-After header of a 503
  clusterswap.swap.http_check:
    url: http://198.51.100.7/
    status: [503]
  delegate_to: localhost
  register: page
# page.retry_after == "600"
"""

RETURN = r"""
url:
  description: The URL checked (single-check form only).
  returned: when O(url) is given
  type: str
  sample: http://198.51.100.7/
ok:
  description: Whether the check (single form) or every check (O(checks) form) passed.
  returned: always
  type: bool
  sample: true
status:
  description: The HTTP status of the last attempt; null when no response was received.
  returned: when O(url) is given
  type: int
  sample: 503
headers:
  description: The response headers of the last attempt, names in lower case.
  returned: when O(url) is given
  type: dict
  sample: {"retry-after": "600", "content-type": "text/html"}
retry_after:
  description: The C(Retry-After) response header, or null.
  returned: when O(url) is given
  type: str
  sample: "600"
body:
  description: The first O(body_excerpt_length) characters of the response body.
  returned: when O(url) is given
  type: str
  sample: "<html><head><title>Down for maintenance</title>"
certificate_sha256:
  description:
    - The SHA-256 fingerprint (hex, of the DER form) of the certificate the server presented, for C(https://)
      URLs; null for C(http://) or when no TLS session was made. Tells two servers apart that present
      certificates for the same name (the maintenance page and the new cluster).
  returned: when O(url) is given
  type: str
  sample: 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08
elapsed:
  description: Seconds the last attempt took.
  returned: when O(url) is given
  type: float
  sample: 0.004
attempts:
  description: How many attempts were made.
  returned: when O(url) is given
  type: int
  sample: 1
error:
  description: Why the last attempt failed (connection error, wrong status, missing text), or null.
  returned: when O(url) is given
  type: str
  sample: "status 503, expected one of [200]"
results:
  description: One entry per check, in the order given, with the same keys as the single form plus C(name).
  returned: when O(checks) or O(urls) is given
  type: list
  elements: dict
  sample: [{"name": "front page", "url": "http://198.51.100.7/", "ok": true, "status": 200}]
failed_checks:
  description: The names of the checks that failed after all retries.
  returned: when O(checks) or O(urls) is given
  type: list
  elements: str
  sample: ["login page"]
elapsed_total:
  description: Seconds the whole call took, retries and delays included.
  returned: always
  type: float
  sample: 0.02
"""


MAX_BODY_BYTES = 1024 * 1024
LIMITS = {"retries": (0, 300), "delay": (0, 300), "body_excerpt_length": (0, 65536)}
CHECK_KEYS = (
    "url",
    "source_address",
    "proxy_protocol_source",
    "host_header",
    "method",
    "status",
    "text",
    "headers",
)


def check_bounds(params: dict[str, Any]) -> list[str]:
    """Return one message per option outside its allowed range."""
    errors = []
    for key, (low, high) in LIMITS.items():
        if not low <= params[key] <= high:
            errors.append(f"{key} must be between {low} and {high}, got {params[key]}")
    if not 0 < params["timeout"] <= 300:
        errors.append(f"timeout must be more than 0 and at most 300, got {params['timeout']}")
    return errors


def build_checks(params: dict[str, Any]) -> list[dict[str, Any]]:
    """Turn the module parameters into a list of fully specified checks (top-level values are defaults)."""
    if params.get("url"):
        items = [{"url": params["url"]}]
    elif params.get("urls"):
        items = [{"url": url} for url in params["urls"]]
    else:
        items = params.get("checks") or []
    checks = []
    for item in items:
        check = {key: item.get(key) if item.get(key) is not None else params.get(key) for key in CHECK_KEYS}
        check["headers"] = {**(params.get("headers") or {}), **(item.get("headers") or {})}
        check["name"] = item.get("name") or check["url"]
        checks.append(check)
    return checks


def _connection(
    check: dict[str, Any], timeout: float, validate_certs: bool, ca_path: str | None = None
) -> tuple[http.client.HTTPConnection, str]:
    parts = urlsplit(check["url"])
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"unsupported URL {check['url']!r}: need http:// or https:// and a host")
    source = (check["source_address"], 0) if check["source_address"] else None
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    claimed = check.get("proxy_protocol_source")
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=ca_path)
        if not validate_certs:
            context.check_hostname = False
            context.verify_mode = ssl.CERT_NONE
        sni = check["host_header"].split(":")[0] if check["host_header"] else parts.hostname
        conn: http.client.HTTPConnection = _TLSConnection(
            parts.hostname,
            parts.port or 443,
            timeout=timeout,
            source_address=source,
            context=context,
            sni=sni,
            proxy_source=claimed,
        )
    else:
        conn = _PlainConnection(
            parts.hostname, parts.port or 80, timeout=timeout, source_address=source, proxy_source=claimed
        )
    return conn, path


def proxy_header(claimed: str, sock: socket.socket) -> bytes:
    """A PROXY protocol v1 header saying the connection comes from `claimed` (to the real peer)."""
    local_port = sock.getsockname()[1]
    peer_host, peer_port = sock.getpeername()[:2]
    family = "TCP6" if ":" in claimed else "TCP4"
    if (":" in peer_host) != (family == "TCP6"):
        raise ValueError(f"proxy_protocol_source {claimed} and server address {peer_host} differ in family")
    return f"PROXY {family} {claimed} {peer_host} {local_port} {peer_port}\r\n".encode("ascii")


class _PlainConnection(http.client.HTTPConnection):
    """HTTP that can open the connection with a PROXY protocol v1 header."""

    def __init__(self, *args: Any, proxy_source: str | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._proxy_source = proxy_source

    def connect(self) -> None:
        super().connect()
        if self._proxy_source:
            self.sock.sendall(proxy_header(self._proxy_source, self.sock))


class _TLSConnection(http.client.HTTPSConnection):
    """HTTPS whose TLS server name (SNI, certificate check) follows the Host header, not the address,
    optionally after a PROXY protocol v1 header (sent in clear, before TLS, as load balancers do)."""

    def __init__(
        self,
        *args: Any,
        context: ssl.SSLContext,
        sni: str,
        proxy_source: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, context=context, **kwargs)
        self._tls_context = context
        self._sni = sni
        self._proxy_source = proxy_source
        self.peer_certificate: bytes | None = None

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        if self._proxy_source:
            self.sock.sendall(proxy_header(self._proxy_source, self.sock))
        self.sock = self._tls_context.wrap_socket(self.sock, server_hostname=self._sni)
        self.peer_certificate = self.sock.getpeercert(binary_form=True)


def attempt(
    check: dict[str, Any], timeout: float, validate_certs: bool, excerpt: int, ca_path: str | None = None
) -> dict[str, Any]:
    """Make one request for a check and judge the response. Never raises for network errors."""
    result: dict[str, Any] = {
        "name": check["name"],
        "url": check["url"],
        "source_address": check["source_address"],
        "status": None,
        "headers": {},
        "retry_after": None,
        "body": "",
        "certificate_sha256": None,
        "error": None,
        "ok": False,
    }
    started = time.monotonic()
    conn = None
    try:
        conn, path = _connection(check, timeout, validate_certs, ca_path)
        headers = dict(check["headers"])
        if check["host_header"]:
            headers["Host"] = check["host_header"]
        try:
            conn.request(check["method"] or "GET", path, headers=headers)
        finally:
            peer = getattr(conn, "peer_certificate", None)
            result["certificate_sha256"] = hashlib.sha256(peer).hexdigest() if peer else None
        response = conn.getresponse()
        raw = response.read(MAX_BODY_BYTES)
        result["status"] = response.status
        collected: dict[str, str] = {}
        for name, value in response.getheaders():
            key = name.lower()
            collected[key] = f"{collected[key]}, {value}" if key in collected else value
        result["headers"] = collected
        result["retry_after"] = collected.get("retry-after")
        charset = response.headers.get_content_charset() or "utf-8"
        body = raw.decode(charset, errors="replace")
        result["body"] = body[:excerpt]
        result["error"] = judge(check, response.status, body)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        result["error"] = describe_error(check, exc)
    finally:
        if conn is not None:
            conn.close()
    result["elapsed"] = round(time.monotonic() - started, 4)
    result["ok"] = result["error"] is None
    return result


def judge(check: dict[str, Any], status: int, body: str) -> str | None:
    """Return why a response fails the check, or None when it passes."""
    problems = []
    if status not in check["status"]:
        problems.append(f"status {status}, expected one of {check['status']}")
    if check["text"] and check["text"] not in body:
        problems.append(f"text {check['text']!r} not in body")
    return "; ".join(problems) or None


def describe_error(check: dict[str, Any], exc: BaseException) -> str:
    if isinstance(exc, socket.timeout | TimeoutError):
        return f"timed out: {exc}"
    if isinstance(exc, OSError) and exc.errno == 99 and check["source_address"]:
        source = check["source_address"]
        return f"cannot bind source address {source}: it is not an address of this machine ({exc})"
    return f"{type(exc).__name__}: {exc}"


def run_checks(
    checks: list[dict[str, Any]],
    retries: int,
    delay: float,
    timeout: float,
    validate_certs: bool = True,
    excerpt: int = 500,
    sleep: Any = time.sleep,
    ca_path: str | None = None,
) -> list[dict[str, Any]]:
    """Run every check; retry the failing ones in rounds; return the last result of each, in order."""
    results: list[dict[str, Any] | None] = [None] * len(checks)
    attempts = [0] * len(checks)
    pending = list(range(len(checks)))
    for round_number in range(retries + 1):
        if round_number:
            sleep(delay)
        still_failing = []
        for index in pending:
            attempts[index] += 1
            outcome = attempt(checks[index], timeout, validate_certs, excerpt, ca_path)
            outcome["attempts"] = attempts[index]
            results[index] = outcome
            if not outcome["ok"]:
                still_failing.append(index)
        pending = still_failing
        if not pending:
            break
    return [r for r in results if r is not None]


def failure_message(results: list[dict[str, Any]]) -> str:
    failed = [r for r in results if not r["ok"]]
    lines = [f"{len(failed)} of {len(results)} HTTP check(s) failed:"]
    for r in failed:
        source = f" from {r['source_address']}" if r["source_address"] else ""
        lines.append(f"- {r['name']} ({r['url']}{source}): {r['error']} after {r['attempts']} attempt(s)")
    return "\n".join(lines)


def main() -> None:
    check_spec = dict(
        name=dict(type="str"),
        url=dict(type="str", required=True),
        source_address=dict(type="str"),
        proxy_protocol_source=dict(type="str"),
        host_header=dict(type="str"),
        method=dict(type="str"),
        status=dict(type="list", elements="int"),
        text=dict(type="str"),
        headers=dict(type="dict", no_log=True),  # may carry credentials (Authorization)
    )
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str"),
            checks=dict(type="list", elements="dict", options=check_spec),
            urls=dict(type="list", elements="str"),
            source_address=dict(type="str"),
            proxy_protocol_source=dict(type="str"),
            host_header=dict(type="str"),
            method=dict(type="str", default="GET"),
            status=dict(type="list", elements="int", default=[200]),
            text=dict(type="str"),
            headers=dict(type="dict", default={}, no_log=True),  # may carry credentials
            retries=dict(type="int", default=0),
            delay=dict(type="float", default=1.0),
            timeout=dict(type="float", default=5.0),
            validate_certs=dict(type="bool", default=True),
            ca_path=dict(type="path"),
            body_excerpt_length=dict(type="int", default=500),
        ),
        mutually_exclusive=[("url", "checks", "urls")],
        required_one_of=[("url", "checks", "urls")],
        supports_check_mode=True,
    )
    params = module.params
    errors = check_bounds(params)
    if errors:
        module.fail_json(msg="; ".join(errors))
    checks = build_checks(params)
    if not checks:
        module.fail_json(msg="checks is empty: give at least one check")

    started = time.monotonic()
    results = run_checks(
        checks,
        retries=params["retries"],
        delay=params["delay"],
        timeout=params["timeout"],
        validate_certs=params["validate_certs"],
        excerpt=params["body_excerpt_length"],
        ca_path=params["ca_path"],
    )
    ok = all(r["ok"] for r in results)
    output: dict[str, Any] = {
        "changed": False,
        "ok": ok,
        "elapsed_total": round(time.monotonic() - started, 4),
    }
    if params.get("url"):
        single = dict(results[0])
        single.pop("name")
        single.pop("source_address")
        output.update(single)
    else:
        output["results"] = results
        output["failed_checks"] = [r["name"] for r in results if not r["ok"]]
    if ok:
        module.exit_json(**output)
    module.fail_json(msg=failure_message(results), **output)


if __name__ == "__main__":
    main()
