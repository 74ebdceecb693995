"""The simulator keeps AWS's address rules (lab/awssim/network.py): one EIP per private IP in a VPC, one per
EC2-Classic instance, network interfaces and their limits by instance type. Each test quotes the AWS
behaviour it follows (sources: ../shared/research/aws-rules.md §1a, §7)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from lab.awssim import Lab, mock_lab
from lab.awssim.network import free_private_ip, ips_per_interface, max_interfaces
from lab.awssim.world import SeedError

RUN = {"ImageId": "ami-12c6146b", "MinCount": 1, "MaxCount": 1}


def ec2() -> Any:
    return boto3.client("ec2", region_name="us-east-1", config=Config(retries={"max_attempts": 1}))


@dataclass
class Net:
    lab: Lab
    client: Any
    subnet: str
    instance: str
    eni: str

    def eips(self, n: int) -> list[str]:
        return [self.client.allocate_address(Domain="vpc")["AllocationId"] for _ in range(n)]

    def where(self, alloc: str) -> dict[str, Any]:
        return self.client.describe_addresses(AllocationIds=[alloc])["Addresses"][0]

    def ips(self, eni: str | None = None) -> list[str]:
        found = self.client.describe_network_interfaces(NetworkInterfaceIds=[eni or self.eni])
        return [a["PrivateIpAddress"] for a in found["NetworkInterfaces"][0]["PrivateIpAddresses"]]


def _net(platforms: tuple[str, ...], instance_type: str = "m5.large") -> Iterator[Net]:
    with mock_lab(platforms=platforms) as lab:
        client = ec2()
        lab.state.vpc_limit = lab.state.classic_limit = 50
        vpc = client.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnet = client.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24", AvailabilityZone="us-east-1a")
        subnet_id = subnet["Subnet"]["SubnetId"]
        inst = client.run_instances(InstanceType=instance_type, SubnetId=subnet_id, **RUN)["Instances"][0]
        yield Net(
            lab, client, subnet_id, inst["InstanceId"], inst["NetworkInterfaces"][0]["NetworkInterfaceId"]
        )


@pytest.fixture
def vpc_only() -> Iterator[Net]:
    """A VPC-only account (every account today): DescribeAccountAttributes supported-platforms = VPC."""
    yield from _net(("VPC",))


@pytest.fixture
def classic_account() -> Iterator[Net]:
    """A VPC in an EC2-Classic-enabled account (the write-up's account)."""
    yield from _net(("EC2", "VPC"))


def code(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Code"])


def message(err: pytest.ExceptionInfo[ClientError]) -> str:
    return str(err.value.response["Error"]["Message"])


# --- instance types --------------------------------------------------------------------------------


def test_instance_type_limits_are_aws_own_describe_instance_types_data() -> None:
    """EC2 user guide, "IP addresses per network interface per instance type": m1.small 2 interfaces x 4
    addresses, t3.micro 2 x 2, m5.large 3 x 10, m5.xlarge 4 x 15. The runbook asks DescribeInstanceTypes."""
    assert [(max_interfaces(t), ips_per_interface(t)) for t in ("m1.small", "t3.micro", "m5.large")] == [
        (2, 4),
        (2, 2),
        (3, 10),
    ]
    with mock_lab():
        info = ec2().describe_instance_types(InstanceTypes=["m5.xlarge"])["InstanceTypes"][0]["NetworkInfo"]
        assert (info["MaximumNetworkInterfaces"], info["Ipv4AddressesPerInterface"]) == (4, 15)


# --- private IPs -----------------------------------------------------------------------------------


def test_private_ips_are_unique_and_never_the_reserved_ones(vpc_only: Net) -> None:
    """VPC user guide: "The first four IP addresses and the last IP address in each subnet CIDR block are not
    available for your use"; AWS never hands out one address twice."""
    got = vpc_only.client.assign_private_ip_addresses(
        NetworkInterfaceId=vpc_only.eni, SecondaryPrivateIpAddressCount=5
    )
    new = [a["PrivateIpAddress"] for a in got["AssignedPrivateIpAddresses"]]
    assert len(set(vpc_only.ips())) == 6
    assert all(int(ip.rsplit(".", 1)[1]) >= 4 for ip in vpc_only.ips())
    assert not {"10.0.1.0", "10.0.1.1", "10.0.1.2", "10.0.1.3", "10.0.1.255"} & set(vpc_only.ips())
    assert free_private_ip("10.0.1.0/24") not in vpc_only.ips()
    eni = vpc_only.client.create_network_interface(SubnetId=vpc_only.subnet, SecondaryPrivateIpAddressCount=3)
    theirs = [a["PrivateIpAddress"] for a in eni["NetworkInterface"]["PrivateIpAddresses"]]
    assert len(set(theirs)) == 4 and not set(theirs) & set(vpc_only.ips()) and not set(new) & set(theirs)


def test_assigning_past_the_type_limit_is_refused(vpc_only: Net) -> None:
    """AssignPrivateIpAddresses past Ipv4AddressesPerInterface: PrivateIpAddressLimitExceeded "Number of
    private addresses will exceed limit." (aws/amazon-vpc-cni-k8s#989). m5.large: 10 per interface."""
    vpc_only.client.assign_private_ip_addresses(
        NetworkInterfaceId=vpc_only.eni, SecondaryPrivateIpAddressCount=9
    )
    with pytest.raises(ClientError) as err:
        vpc_only.client.assign_private_ip_addresses(
            NetworkInterfaceId=vpc_only.eni, SecondaryPrivateIpAddressCount=1
        )
    assert code(err) == "PrivateIpAddressLimitExceeded"
    assert message(err) == "Number of private addresses will exceed limit."
    assert len(vpc_only.ips()) == 10


def test_attaching_past_the_interface_limit_is_refused(vpc_only: Net) -> None:
    """AttachNetworkInterface past MaximumNetworkInterfaces: AttachmentLimitExceeded "Interface count 4
    exceeds the limit for m5.large" (chef/knife-ec2#375, cilium/cilium#15877)."""
    client = vpc_only.client
    for index in (1, 2):
        eni = client.create_network_interface(SubnetId=vpc_only.subnet)["NetworkInterface"][
            "NetworkInterfaceId"
        ]
        client.attach_network_interface(
            NetworkInterfaceId=eni, InstanceId=vpc_only.instance, DeviceIndex=index
        )
    eni = client.create_network_interface(SubnetId=vpc_only.subnet)["NetworkInterface"]["NetworkInterfaceId"]
    with pytest.raises(ClientError) as err:
        client.attach_network_interface(NetworkInterfaceId=eni, InstanceId=vpc_only.instance, DeviceIndex=3)
    assert code(err) == "AttachmentLimitExceeded"
    assert message(err) == "Interface count 4 exceeds the limit for m5.large"


def test_unassigning_an_address_disassociates_its_eip(vpc_only: Net) -> None:
    """EC2 user guide (MultipleIP): "When a secondary private IPv4 address is unassigned from a network
    interface, the Elastic IP address (if it exists) is also disassociated." The primary can't be
    unassigned."""
    client = vpc_only.client
    client.assign_private_ip_addresses(NetworkInterfaceId=vpc_only.eni, SecondaryPrivateIpAddressCount=1)
    primary, secondary = vpc_only.ips()
    (alloc,) = vpc_only.eips(1)
    client.associate_address(AllocationId=alloc, NetworkInterfaceId=vpc_only.eni, PrivateIpAddress=secondary)
    assert vpc_only.where(alloc)["PrivateIpAddress"] == secondary
    client.unassign_private_ip_addresses(NetworkInterfaceId=vpc_only.eni, PrivateIpAddresses=[secondary])
    assert "AssociationId" not in vpc_only.where(alloc)
    assert vpc_only.ips() == [primary]
    with pytest.raises(ClientError):
        client.unassign_private_ip_addresses(NetworkInterfaceId=vpc_only.eni, PrivateIpAddresses=[primary])


# --- one EIP per private IP ------------------------------------------------------------------------


def test_todays_runbook_every_eip_to_one_instance_leaves_all_but_one_unassociated(vpc_only: Net) -> None:
    """The audit's headline (aws-rules §0): every EIP to one instance by InstanceId alone. In a VPC-only
    account "If you associate an Elastic IP address with an instance that has an existing Elastic IP address,
    the existing address is disassociated from the instance" [API-AssociateAddress]: N-1 of N are dark."""
    allocs = vpc_only.eips(8)
    for alloc in allocs:
        vpc_only.client.associate_address(
            AllocationId=alloc, InstanceId=vpc_only.instance, AllowReassociation=True
        )
    placed = [vpc_only.where(a).get("InstanceId") for a in allocs]
    assert placed.count(vpc_only.instance) == 1
    assert placed.count(None) == 7
    assert vpc_only.where(allocs[-1])["PrivateIpAddress"] == vpc_only.ips()[0]  # the last one wins


def test_each_private_ip_holds_its_own_eip_and_describe_shows_exactly_where(vpc_only: Net) -> None:
    """ "Each private IPv4 address can be associated with a single Elastic IP address, and vice versa"
    (UG-MultipleIP): N EIPs on one instance need N private IPs, and DescribeAddresses shows the exact
    NetworkInterfaceId and PrivateIpAddress; DescribeNetworkInterfaces shows the EIP on each address."""
    client = vpc_only.client
    client.assign_private_ip_addresses(NetworkInterfaceId=vpc_only.eni, SecondaryPrivateIpAddressCount=3)
    allocs = vpc_only.eips(4)
    for alloc, ip in zip(allocs, vpc_only.ips(), strict=True):
        client.associate_address(AllocationId=alloc, NetworkInterfaceId=vpc_only.eni, PrivateIpAddress=ip)
    for alloc, ip in zip(allocs, vpc_only.ips(), strict=True):
        where = vpc_only.where(alloc)
        assert (where["InstanceId"], where["NetworkInterfaceId"], where["PrivateIpAddress"]) == (
            vpc_only.instance,
            vpc_only.eni,
            ip,
        )
    eni = client.describe_network_interfaces(NetworkInterfaceIds=[vpc_only.eni])["NetworkInterfaces"][0]
    shown = {a["PrivateIpAddress"]: a["Association"]["AllocationId"] for a in eni["PrivateIpAddresses"]}
    assert shown == dict(zip(vpc_only.ips(), allocs, strict=True))


def test_classic_enabled_account_refuses_a_second_eip_on_one_private_ip(classic_account: Net) -> None:
    """VPC in an EC2-Classic account: "You cannot associate an Elastic IP address with an instance or network
    interface that has an existing Elastic IP address" (UG-EIP-classic table; the code is not confirmed, the
    lab answers Resource.AlreadyAssociated)."""
    first, second = classic_account.eips(2)
    client = classic_account.client
    client.associate_address(AllocationId=first, InstanceId=classic_account.instance)
    with pytest.raises(ClientError) as err:
        client.associate_address(AllocationId=second, InstanceId=classic_account.instance)
    assert code(err) == "Resource.AlreadyAssociated"
    assert classic_account.where(first)["InstanceId"] == classic_account.instance


def test_instance_id_alone_is_refused_on_an_instance_with_two_interfaces(vpc_only: Net) -> None:
    """InstanceId "requires exactly one attached network interface": InvalidInstanceID "There are multiple
    interfaces attached to instance 'i-…'. Please specify an interface ID for the operation instead."
    (cilium/cilium#39654); by NetworkInterfaceId the second interface takes its own EIP."""
    client = vpc_only.client
    eni = client.create_network_interface(SubnetId=vpc_only.subnet)["NetworkInterface"]["NetworkInterfaceId"]
    client.attach_network_interface(NetworkInterfaceId=eni, InstanceId=vpc_only.instance, DeviceIndex=1)
    first, second = vpc_only.eips(2)
    with pytest.raises(ClientError) as err:
        client.associate_address(AllocationId=first, InstanceId=vpc_only.instance)
    assert code(err) == "InvalidInstanceID"
    assert message(err) == (
        f"There are multiple interfaces attached to instance '{vpc_only.instance}'. "
        "Please specify an interface ID for the operation instead."
    )
    client.associate_address(AllocationId=first, NetworkInterfaceId=vpc_only.eni)
    client.associate_address(AllocationId=second, NetworkInterfaceId=eni)
    assert vpc_only.where(first)["InstanceId"] == vpc_only.where(second)["InstanceId"] == vpc_only.instance
    assert vpc_only.where(second)["NetworkInterfaceId"] == eni


def test_a_private_ip_the_interface_does_not_have_is_refused(vpc_only: Net) -> None:
    """PrivateIpAddress must be one of the interface's addresses [API-AssociateAddress] (text not
    confirmed)."""
    (alloc,) = vpc_only.eips(1)
    with pytest.raises(ClientError) as err:
        vpc_only.client.associate_address(
            AllocationId=alloc, NetworkInterfaceId=vpc_only.eni, PrivateIpAddress="10.0.1.99"
        )
    assert code(err) == "InvalidParameterValue"
    assert "AssociationId" not in vpc_only.where(alloc)


def test_allow_reassociation_as_aws_documents_it(vpc_only: Net) -> None:
    """AllowReassociation: "In a VPC in an EC2-VPC-only account, reassociation is automatic, therefore you can
    specify false to ensure the operation fails if the Elastic IP address is already associated with another
    resource"; in a Classic-enabled account's VPC it is needed (Resource.AlreadyAssociated otherwise)."""
    vpc_only.client.assign_private_ip_addresses(
        NetworkInterfaceId=vpc_only.eni, SecondaryPrivateIpAddressCount=1
    )
    primary, secondary = vpc_only.ips()
    (alloc,) = vpc_only.eips(1)
    vpc_only.client.associate_address(
        AllocationId=alloc, NetworkInterfaceId=vpc_only.eni, PrivateIpAddress=primary
    )
    with pytest.raises(ClientError) as err:
        vpc_only.client.associate_address(
            AllocationId=alloc,
            NetworkInterfaceId=vpc_only.eni,
            PrivateIpAddress=secondary,
            AllowReassociation=False,
        )
    assert code(err) == "Resource.AlreadyAssociated"
    vpc_only.client.associate_address(
        AllocationId=alloc, NetworkInterfaceId=vpc_only.eni, PrivateIpAddress=secondary
    )
    assert vpc_only.where(alloc)["PrivateIpAddress"] == secondary


def test_classic_enabled_account_needs_allow_reassociation(classic_account: Net) -> None:
    """Before VPC-only accounts, "Otherwise, the operation fails" without AllowReassociation
    (ansible/ansible#27385)."""
    net = classic_account
    net.client.assign_private_ip_addresses(NetworkInterfaceId=net.eni, SecondaryPrivateIpAddressCount=1)
    primary, secondary = net.ips()
    (alloc,) = net.eips(1)
    net.client.associate_address(AllocationId=alloc, NetworkInterfaceId=net.eni, PrivateIpAddress=primary)
    with pytest.raises(ClientError) as err:
        net.client.associate_address(
            AllocationId=alloc, NetworkInterfaceId=net.eni, PrivateIpAddress=secondary
        )
    assert code(err) == "Resource.AlreadyAssociated"
    net.client.associate_address(
        AllocationId=alloc, NetworkInterfaceId=net.eni, PrivateIpAddress=secondary, AllowReassociation=True
    )
    assert net.where(alloc)["PrivateIpAddress"] == secondary


# --- EC2-Classic -----------------------------------------------------------------------------------


def test_a_classic_instance_holds_one_eip_and_a_new_one_replaces_it() -> None:
    """UG-EIP-classic: "Instances support only a single private IPv4 address and a corresponding Elastic IP
    address"; "the existing Elastic IP address is disassociated from the instance, but remains allocated";
    the AllowReassociation parameter is refused for a Classic target (aws/aws-cli#62)."""
    with mock_lab() as lab:
        lab.state.classic_limit = 10
        client = ec2()
        inst = client.run_instances(**RUN)["Instances"][0]["InstanceId"]
        first, second = (client.allocate_address(Domain="standard")["PublicIp"] for _ in range(2))
        client.associate_address(PublicIp=first, InstanceId=inst)
        client.associate_address(PublicIp=second, InstanceId=inst)
        held = {a["PublicIp"]: a.get("InstanceId") for a in client.describe_addresses()["Addresses"]}
        assert held == {first: None, second: inst}
        with pytest.raises(ClientError) as err:
            client.associate_address(PublicIp=first, InstanceId=inst, AllowReassociation=False)
        assert code(err) == "InvalidParameterCombination"
        assert "allowReassociation" in message(err)


# --- eventual consistency --------------------------------------------------------------------------


def test_disassociation_shows_only_after_its_latency(vpc_only: Net) -> None:
    """DisassociateAddress is eventually consistent like the association (lab/latency.yml eip_disassociate,
    DESIGN §3: 1-5 s until describe shows it); it is idempotent [API-DisassociateAddress]."""
    (alloc,) = vpc_only.eips(1)
    vpc_only.client.associate_address(AllocationId=alloc, NetworkInterfaceId=vpc_only.eni)
    association = vpc_only.where(alloc)["AssociationId"]
    vpc_only.lab.state.latency_scale = 0.2  # 3 s -> 0.6 s
    start = time.monotonic()
    vpc_only.client.disassociate_address(AssociationId=association)
    assert vpc_only.where(alloc).get("AssociationId") == association
    while vpc_only.where(alloc).get("AssociationId"):
        assert time.monotonic() - start < 5
        time.sleep(0.02)
    assert time.monotonic() - start == pytest.approx(0.6, abs=0.4)


# --- the worlds --------------------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["default", "vpc-day", "small-maintenance", "vpc-to-vpc"])
def test_every_seeded_eip_sits_on_its_own_place(scenario: str) -> None:
    """The worlds are states AWS can hold: no two EIPs on one (interface, private IP), none on a Classic
    instance that has another (DESIGN §3 "Nothing in the world may be a state AWS cannot hold")."""
    with mock_lab(scenario) as lab:
        addresses = ec2().describe_addresses()["Addresses"]
        places = [
            (a.get("NetworkInterfaceId") or a["InstanceId"], a.get("PrivateIpAddress")) for a in addresses
        ]
        assert len(places) == len(set(places)) == len(lab.world["eips"])


def test_a_scenario_that_breaks_the_rule_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """The simulator refuses a seed that breaks a rule, as AWS would have refused (or silently undone) the
    calls that built it: two Classic EIPs on one Classic instance."""
    from lab.awssim import world

    original = world.load_scenario

    def crowded(name: str) -> dict[str, Any]:
        sc = original(name)
        sc["eips"] = {**sc["eips"], "hosts": ["old-lb-1"], "names": ["web-1", "web-2"]}
        return sc

    monkeypatch.setattr(world, "load_scenario", crowded)
    with (
        pytest.raises(SeedError, match="one EIP per private IP, one per EC2-Classic instance"),
        mock_lab("vpc-day"),
    ):
        pass
