"""Traffic through the EIPs: the edge forwards to the container of the instance an EIP is associated with
right now, passes the client's address on, and refuses when there is no container behind the EIP."""

from __future__ import annotations

from typing import Any

from ansible_collections.clusterswap.swap.plugins.modules.http_check import attempt

from lab.hosts.roles import HSTS, SITE_NAMES, TLS_DIR
from lab.tls import fingerprint
from tests.lab.helpers import ec2, http_get, page_fields, wait_for

OFFICE = "127.10.0.42"


def _associate(lab: dict[str, Any], eip: str, instance: str) -> None:
    ec2().associate_address(
        AllocationId=lab["allocations"][eip], InstanceId=lab["instances"][instance], AllowReassociation=True
    )


def test_eip_is_answered_by_its_instance_then_by_the_new_one(lab: dict[str, Any]) -> None:
    eip, ip = "web-1", lab["eips"]["web-1"]
    first = page_fields(http_get(ip))
    assert (first["cluster"], first["host"], first["via"]) == ("old", "old-web-1", "old-lb-1")
    _associate(lab, eip, "new-lb-1")
    try:
        wait_for("the new cluster to answer", lambda: page_fields(http_get(ip)).get("via") == "new-lb-1")
        page = page_fields(http_get(ip))
        assert (page["cluster"], page["host"], page["via"]) == ("new", "new-web-1", "new-lb-1")
    finally:
        _associate(lab, eip, "old-lb-1")
    wait_for("the old cluster back", lambda: page_fields(http_get(ip)).get("via") == "old-lb-1")


def test_office_source_address_is_kept_end_to_end(lab: dict[str, Any]) -> None:
    ip = lab["eips"]["web-2"]
    page = page_fields(http_get(ip, source=OFFICE))
    assert page["client"] == OFFICE  # seen by the web server, behind the load balancer
    lb = page_fields(http_get(ip, "/_lab/whoami", source=OFFICE))
    assert (lb["host"], lb["client"]) == ("old-lb-2", OFFICE)
    other = page_fields(http_get(ip))
    assert other["client"] == "127.0.0.1"


def test_https_through_an_eip_is_the_clusters_own_tls_end_to_end(lab: dict[str, Any]) -> None:
    """Port 443 of an EIP reaches its instance's TLS untouched: the old cluster's certificate for the site's
    name, valid under the lab's CA, the site's HSTS, and the client's address passed on (PROXY protocol)."""
    check = {
        "name": "tls",
        "url": f"https://{lab['eips']['web-1']}/",
        "source_address": OFFICE,
        "proxy_protocol_source": None,
        "host_header": SITE_NAMES[0],
        "method": "GET",
        "status": [200],
        "text": "cluster=old",
        "headers": {},
    }
    result = attempt(check, timeout=5, validate_certs=True, excerpt=500, ca_path=str(TLS_DIR / "ca.pem"))
    assert result["ok"], result
    assert result["certificate_sha256"] == fingerprint(TLS_DIR / "old.pem")
    assert result["headers"]["strict-transport-security"] == HSTS
    assert page_fields(result["body"])["client"] == OFFICE


def test_eip_without_container_behind_it_is_refused(lab: dict[str, Any]) -> None:
    eip, ip = "web-3", lab["eips"]["web-3"]
    association = ec2().describe_addresses(PublicIps=[ip])["Addresses"][0]["AssociationId"]
    ec2().disassociate_address(AssociationId=association)
    try:
        wait_for("refusal of an unassociated EIP", lambda: http_get(ip) is None)
        _associate(lab, eip, "old-web-2")  # an instance that has no container
        wait_for("route to old-web-2", lambda: _routed_to(ip, "old-web-2", lab))
        assert http_get(ip) is None
    finally:
        _associate(lab, eip, "old-lb-1")
    wait_for("old-lb-1 answers again", lambda: page_fields(http_get(ip)).get("via") == "old-lb-1")


def _routed_to(ip: str, instance: str, lab: dict[str, Any]) -> bool:
    from tests.lab.helpers import lab_api

    route = lab_api("/_lab/routes").get(ip)
    return bool(route) and route["instance_id"] == lab["instances"][instance]
