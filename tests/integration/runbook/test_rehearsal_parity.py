"""playbooks/rehearsal-parity.yml names what production has that the rehearsal would not exercise."""

from __future__ import annotations

from pathlib import Path

from lab.parity import compare


def test_vpc_day_production_against_a_plain_rehearsal(tmp_path: Path) -> None:
    """What `make parity` runs: the default world as the rehearsal, the VPC day as production."""
    proc = compare("default", "vpc-day", tmp_path)
    assert proc.returncode != 0
    out = proc.stdout
    assert "6 gap(s)" in out, out[-3000:]
    assert "production has 24 EIPs moved by the swap, the rehearsal only 8" in out
    assert "EC2-Classic EIPs that must move to the VPC (MoveAddressToVpc, the VPC EIP limit) (24)" in out
    assert "production has EC2-Classic instances (their EIPs drop when stopped) (48)" in out
    assert "production has the storage update (EBS volumes detached and attached) (1)" in out
    assert "production has the VPC migration (1)" in out
    assert "RDS instances outside any VPC" in out
    assert not list(tmp_path.glob("[rp].json")), "parity is read-only: no plan record written"


def test_a_faithful_rehearsal_has_no_gap(tmp_path: Path) -> None:
    proc = compare("vpc-day", "vpc-day", tmp_path)
    assert proc.returncode == 0, proc.stdout[-3000:]
    assert "No gap: the rehearsal exercises everything production has." in proc.stdout
