"""Replay the write-up's morning against the lab server (scenario `incident`), with plain boto3.

    .venv/bin/python -m lab.awssim serve --scenario incident &      # or: make lab-up SCENARIO=incident
    AWS_ENDPOINT_URL=http://127.0.0.1:5055 .venv/bin/python lab/replay_incident.py

1. go live the old way: associate each EIP by public IP with the new (VPC) load balancers
   -> "You must specify an allocation id when mapping an address to a VPC instance";
2. the IPython loop: `aws ec2 move-address-to-vpc --public-ip $eip` for every EIP
   -> MoveInProgress five times, then AddressLimitExceeded (the VPC limit is 5).
The script reseeds the lab with `incident` first (pass --no-reseed to use the lab as it is).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import boto3
from botocore.exceptions import ClientError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lab.awssim.client import LabClient


def _client(service: str) -> object:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    region = os.environ.get("AWS_DEFAULT_REGION", "us-east-1")
    return boto3.client(service, region_name=region)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--no-reseed", action="store_true", help="don't reseed the lab with `incident` first")
    args = parser.parse_args(argv)
    endpoint = os.environ.get("AWS_ENDPOINT_URL")
    if not endpoint:
        print("AWS_ENDPOINT_URL is not set: point it at the lab (http://127.0.0.1:5055)", file=sys.stderr)
        return 2
    lab = LabClient(endpoint)
    if not args.no_reseed:
        lab.seed("incident")
    world = lab.world()
    eips: dict[str, str] = world["eips"]  # name -> public ip, in the write-up's order
    ec2 = _client("ec2")

    print("# Go live the old way: associate every EIP with the new (VPC) cluster by public IP")
    new_lbs = [world["instances"]["new-lb-1"], world["instances"]["new-lb-2"]]
    for i, (name, ip) in enumerate(eips.items()):
        try:
            ec2.associate_address(PublicIp=ip, InstanceId=new_lbs[i % 2])  # type: ignore[attr-defined]
            print(f"{name}: associated")
        except ClientError as exc:
            print(f"{name}: {exc.response['Error']['Message']}")
        if i == 2:
            print(f"... ({len(eips) - 3} more, the same)")
            break

    print()
    print("# Release them from the old cluster, then the IPython loop:")
    for ip in eips.values():
        ec2.disassociate_address(PublicIp=ip)  # type: ignore[attr-defined]
    print("In [4]: for name, eip in eips.items():")
    print("   ...:     print name")
    print("   ...:     !aws ec2 move-address-to-vpc --public-ip $eip")
    for n, (name, ip) in enumerate(eips.items()):
        print(name)
        if n:
            # each `!aws` started the CLI anew, a second or so apart: inside MoveAddressToVpc's bucket
            # (1 request, refilled at 1 per second), which the lab enforces as AWS does
            time.sleep(1.0)
        try:
            res = ec2.move_address_to_vpc(PublicIp=ip)  # type: ignore[attr-defined]
        except ClientError as exc:
            print()
            print(exc)
            break
        res.pop("ResponseMetadata", None)
        print(json.dumps(res, indent=4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
