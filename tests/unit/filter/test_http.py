"""Unit tests of plugins/filter/http.py: the EIPs' URLs and the office checks."""

from __future__ import annotations

import pytest
from ansible_collections.clusterswap.swap.plugins.filter.http import (
    FilterModule,
    check_results,
    eip_urls,
    missing_headers,
    office_check_report,
    office_checks,
    same_certificates,
    tls_check_names,
)


def test_eip_urls_from_addresses_and_plan_entries() -> None:
    assert eip_urls(["127.100.0.1", {"public_ip": "127.100.0.2", "name": "web-1"}]) == [
        "http://127.100.0.1/",
        "http://127.100.0.2/",
    ]
    assert eip_urls(["127.100.0.1"], "/any/path?check=1") == ["http://127.100.0.1/any/path?check=1"]
    assert eip_urls([]) == []
    assert eip_urls([{"public_ip": "127.100.0.2"}], "/", "https") == ["https://127.100.0.2/"]


def test_eip_urls_refuse_a_relative_path_and_another_scheme() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        eip_urls(["127.100.0.1"], "health")
    with pytest.raises(ValueError, match="must be http or https"):
        eip_urls(["127.100.0.1"], "/", "ftp")


def test_office_checks_join_paths_to_the_base_url_and_keep_the_rest() -> None:
    checks = [
        {"name": "home", "path": "/", "status": [200], "text": "Welcome"},
        {"name": "api", "url": "http://api.example.org/ping", "source_address": "127.10.0.5"},
    ]
    assert office_checks(checks, "http://127.100.0.1") == [
        {"name": "home", "url": "http://127.100.0.1/", "status": [200], "text": "Welcome"},
        {"name": "api", "url": "http://api.example.org/ping", "source_address": "127.10.0.5"},
    ]
    assert checks[0]["path"] == "/", "the input is not changed"


def test_an_url_wins_over_a_path() -> None:
    [check] = office_checks([{"name": "x", "url": "http://a/", "path": "/b"}], "http://base")
    assert check == {"name": "x", "url": "http://a/"}


@pytest.mark.parametrize(
    ("check", "base", "error"),
    [
        ({"name": "nowhere"}, "http://base", "'nowhere' has neither url nor path"),
        ({"name": "home", "path": "/"}, "", "'home' has a path and no base_url"),
    ],
)
def test_office_checks_refuse_a_check_without_a_place(check: dict, base: str, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        office_checks([check], base)


def test_the_filters_are_registered() -> None:
    assert set(FilterModule().filters()) == {
        "eip_urls",
        "office_checks",
        "office_check_report",
        "missing_headers",
        "tls_check_names",
        "check_results",
        "same_certificates",
    }


def test_office_check_report_names_each_failure_and_how_to_roll_back() -> None:
    result = {
        "ok": False,
        "results": [
            {"name": "home", "url": "http://127.100.0.1/", "ok": True, "attempts": 1},
            {
                "name": "api",
                "url": "http://127.100.0.1/api",
                "source_address": "127.10.0.5",
                "ok": False,
                "error": "status 503, expected [200]",
                "attempts": 3,
            },
        ],
    }
    report = office_check_report(result, "ansible-playbook playbooks/rollback.yml", ["/srv/inv/production"])
    assert report.splitlines() == [
        "Office check FAILED: 1 of 2 check(s) failed.",
        "The new cluster is NOT live: the EIPs are still on the maintenance server (users see its page).",
        "  - api: http://127.100.0.1/api from 127.10.0.5: status 503, expected [200]",
        "    (after 3 attempt(s))",
        "To roll back to the old cluster: ansible-playbook playbooks/rollback.yml -i /srv/inv/production",
        "To retry the checks after a fix: ansible-playbook playbooks/office-check.yml",
    ]


def test_office_check_report_without_results_gives_the_modules_message() -> None:
    report = office_check_report({"ok": False, "msg": "checks: each item needs a url"}, "rollback")
    assert (
        report.splitlines()[0]
        == "Office check FAILED: 0 of 0 check(s) failed: checks: each item needs a url."
    )
    assert "To roll back to the old cluster: rollback" in report
    assert office_check_report({}, "rollback").splitlines()[0].endswith(": no result.")


def test_missing_headers_names_each_url_and_what_it_lacks() -> None:
    results = [
        {
            "url": "https://127.100.0.1/",
            "headers": {"retry-after": "600", "strict-transport-security": "max-age=60"},
        },
        {"url": "https://127.100.0.2/", "headers": {"retry-after": "600"}},
        {
            "url": "https://127.100.0.3/",
            "headers": {"retry-after": "60", "strict-transport-security": "max-age=60"},
        },
        {"url": "https://127.100.0.4/", "headers": {}},
    ]
    want = {"retry-after": "600", "strict-transport-security": "max-age=60"}
    assert missing_headers(results, want) == [
        "https://127.100.0.2/ (strict-transport-security)",
        "https://127.100.0.3/ (retry-after)",
        "https://127.100.0.4/ (retry-after, strict-transport-security)",
    ]
    assert missing_headers(results[:2], {"retry-after": "600", "strict-transport-security": ""}) == []


def test_tls_check_names_gives_each_certificates_first_name_a_wildcard_as_one_of_its_hosts() -> None:
    certs = [
        {"names": ["www.example.com", "example.com"], "certificate": "PEM", "key": "SECRET"},
        {"names": ["*.shop.example.com"], "certificate": "PEM", "key": "SECRET"},
    ]
    assert tls_check_names(certs) == ["www.example.com", "clusterswap-self-check.shop.example.com"]
    assert tls_check_names([]) == []
    with pytest.raises(ValueError, match="certificate 0 has no names"):
        tls_check_names([{"certificate": "PEM", "key": "SECRET"}])


def test_check_results_of_one_task_and_of_a_looped_one() -> None:
    one = {"results": [{"url": "https://a/", "ok": True}], "changed": False}
    looped = {
        "results": [
            {"results": [{"url": "https://a/"}], "item": "www.example.com", "ansible_loop_var": "item"},
            {"skipped": True, "item": "x", "ansible_loop_var": "item"},
            {
                "results": [{"url": "https://b/"}, {"url": "https://c/"}],
                "item": "y",
                "ansible_loop_var": "item",
            },
        ],
        "msg": "All items completed",
    }
    assert check_results(one) == [{"url": "https://a/", "ok": True}]
    assert [r["url"] for r in check_results(looped)] == ["https://a/", "https://b/", "https://c/"]
    assert check_results({"skipped": True, "results": []}) == [] and check_results({"skipped": True}) == []


def test_same_certificates_names_the_checks_that_got_a_certificate_the_others_got() -> None:
    office = [
        {"url": "https://1/", "certificate_sha256": "new"},
        {"url": "https://2/", "certificate_sha256": "maint"},
        {"url": "http://3/", "certificate_sha256": None},
    ]
    public = [
        {"url": "https://1/", "certificate_sha256": "maint"},
        {"url": "http://4/", "certificate_sha256": None},
    ]
    assert same_certificates(office, public) == ["https://2/"]
    assert same_certificates(office, []) == []
