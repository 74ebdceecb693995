# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""HTTP checks through the EIPs: their URLs, and the office checks as http_check takes them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def eip_urls(eips: list[Any], path: str = "/", scheme: str = "http") -> list[str]:
    """``<scheme>://<address><path>`` for each EIP: an address, or a plan entry with ``public_ip``."""
    if not path.startswith("/"):
        raise ValueError(f"eip_urls: the path {path!r} must start with '/'")
    if scheme not in ("http", "https"):
        raise ValueError(f"eip_urls: the scheme {scheme!r} must be http or https")
    return [f"{scheme}://{e['public_ip'] if isinstance(e, dict) else e}{path}" for e in eips]


def office_checks(checks: list[dict[str, Any]], base_url: str = "") -> list[dict[str, Any]]:
    """Each check with its ``url``: its own, or ``base_url`` + its ``path`` (``path`` itself dropped)."""
    out = []
    for check in checks:
        if "url" not in check and "path" not in check:
            raise ValueError(f"office_checks: check {check.get('name', check)!r} has neither url nor path")
        if "url" not in check and not base_url:
            raise ValueError(f"office_checks: check {check.get('name', check)!r} has a path and no base_url")
        url = check["url"] if "url" in check else base_url + str(check["path"])
        out.append({**{k: v for k, v in check.items() if k != "path"}, "url": url})
    return out


def office_check_report(
    result: dict[str, Any], rollback_command: str, inventory_sources: list[str] | None = None
) -> str:
    """What an operator reads when the office checks failed: how many, each failure, how to roll back
    (with the inventories of this run) and how to retry. ``result`` is http_check's (``results``, ``msg``)."""
    results = result.get("results") or []
    failures = [r for r in results if not r.get("ok")]
    head = f"Office check FAILED: {len(failures)} of {len(results)} check(s) failed"
    lines = [head + ("." if results else f": {result.get('msg') or 'no result'}.")]
    lines.append(
        "The new cluster is NOT live: the EIPs are still on the maintenance server (users see its page)."
    )
    for f in failures:
        source = f" from {f['source_address']}" if f.get("source_address") else ""
        lines.append(f"  - {f.get('name')}: {f.get('url')}{source}: {f.get('error')}")
        lines.append(f"    (after {f.get('attempts')} attempt(s))")
    sources = "".join(f" -i {s}" for s in inventory_sources or [])
    lines.append(f"To roll back to the old cluster: {rollback_command}{sources}")
    lines.append("To retry the checks after a fix: ansible-playbook playbooks/office-check.yml")
    return "\n".join(lines)


def missing_headers(results: list[dict[str, Any]], expected: dict[str, str]) -> list[str]:
    """The URLs of http_check results whose response lacks one of the ``expected`` headers (name: value, names
    in lower case; a header expected empty is not checked), each with what is missing."""
    missing = []
    for result in results:
        headers = result.get("headers") or {}
        absent = [name for name, value in expected.items() if value and headers.get(name) != value]
        if absent:
            missing.append(f"{result['url']} ({', '.join(absent)})")
    return missing


#: A wildcard certificate's first name (``*.example.com``) is checked as this host of its domain.
WILDCARD_CHECK_HOST = "clusterswap-self-check"


def tls_check_names(certificates: list[dict[str, Any]]) -> list[str]:
    """The host name to check each certificate under: its first name, a wildcard's as one of its hosts. Only
    the names: a loop item is printed at -v, and the certificates carry their keys."""
    names = []
    for n, cert in enumerate(certificates):
        if not cert.get("names"):
            raise ValueError(f"tls_check_names: certificate {n} has no names")
        first = str(cert["names"][0])
        names.append(f"{WILDCARD_CHECK_HOST}.{first[2:]}" if first.startswith("*.") else first)
    return names


def check_results(registered: dict[str, Any]) -> list[dict[str, Any]]:
    """The per-URL ``results`` of a registered http_check, of one task or of each item of a looped one."""
    if "results" not in registered:
        return []
    inner = registered["results"]
    if any("ansible_loop_var" in item for item in inner):  # a looped task: each item's own results
        return [r for item in inner for r in item.get("results") or []]
    return list(inner)


def same_certificates(results: list[dict[str, Any]], others: list[dict[str, Any]]) -> list[str]:
    """The URLs of http_check ``results`` that got a certificate one of the ``others`` got too (the office's
    TLS sessions ending on the maintenance server instead of passing through)."""
    seen = {r["certificate_sha256"] for r in others if r.get("certificate_sha256")}
    return [r["url"] for r in results if r.get("certificate_sha256") in seen]


class FilterModule:
    """clusterswap.swap.eip_urls, office_checks, office_check_report, missing_headers, tls_check_names,
    check_results, same_certificates."""

    def filters(self) -> dict[str, Callable[..., Any]]:
        return {
            "eip_urls": eip_urls,
            "office_checks": office_checks,
            "office_check_report": office_check_report,
            "missing_headers": missing_headers,
            "tls_check_names": tls_check_names,
            "check_results": check_results,
            "same_certificates": same_certificates,
        }
