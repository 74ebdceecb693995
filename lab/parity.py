"""Try playbooks/rehearsal-parity.yml on the lab: two simulated accounts, one seeded with the rehearsal's
world and one with production's, each on its own port of 127.0.0.1; the playbook compares them and names what
production has that the rehearsal would not exercise.

    python -m lab.parity --rehearsal default --production vpc-day     (make parity)

Each side's variables are written as a staging or production file is: literal `clusterswap_*` values (the
instance map, the maintenance servers, the parts), the account's endpoint and the lab's dummy credentials.
No container host is needed, so this runs beside a lab that is up.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from lab.awssim.client import LabClient

REPO = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def sim_server(workdir: Path) -> Iterator[str]:
    """A simulated AWS server on a free port of 127.0.0.1 while the context lasts; yields its URL."""
    url_file = workdir / "url"
    log = workdir / "server.log"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with log.open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "lab.awssim", "serve", "--port", "0", "--url-file", str(url_file)],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 30
        while not (url_file.exists() and url_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"lab server did not start:\n{log.read_text()}")
            time.sleep(0.1)
        yield url_file.read_text().strip()
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def plan_vars(url: str, workdir: Path, side: str) -> Path:
    """A plan's variables for the account at `url`, literal as a staging or production file is (each side's
    plan is that account's world)."""
    plan = LabClient(url).world()["plan"]
    variables = {
        "clusterswap_aws_environment": {
            "AWS_ENDPOINT_URL": url,
            "AWS_SHARED_CREDENTIALS_FILE": str(REPO / "lab" / "aws-credentials"),
            "AWS_DEFAULT_REGION": "us-east-1",
        },
        "clusterswap_instance_map": plan["instance_map"],
        "clusterswap_maintenance_instances": plan["maintenance_instances"],
        "clusterswap_record": str(workdir / f"{side}.json"),
        "clusterswap_parts": {"storage": plan["storage"], "vpc": plan["vpc"]},
    }
    path = workdir / f"{side}.yml"
    path.write_text(json.dumps(variables))  # JSON is YAML
    return path


def parity(rehearsal: Path, production: Path, report_dir: Path) -> subprocess.CompletedProcess[str]:
    """ansible-playbook playbooks/rehearsal-parity.yml on the two variable files (on the controller alone)."""
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "CLUSTERSWAP_REPORT_DIR": str(report_dir),
    }
    args = [str(Path(sys.executable).with_name("ansible-playbook")), "playbooks/rehearsal-parity.yml"]
    args += ["-i", "inventories/lab/controller.yml"]
    args += ["-e", f"rehearsal_parity_rehearsal_vars={rehearsal}"]
    args += ["-e", f"rehearsal_parity_production_vars={production}"]
    return subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=300, check=False)


def compare(
    rehearsal: str, production: str, workdir: Path, report_dir: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Seed two simulated accounts with the two scenarios and run the parity playbook on them."""
    (workdir / "r").mkdir()
    (workdir / "p").mkdir()
    with sim_server(workdir / "r") as rehearsal_url, sim_server(workdir / "p") as production_url:
        LabClient(rehearsal_url).seed(rehearsal)
        LabClient(production_url).seed(production)
        return parity(
            plan_vars(rehearsal_url, workdir, "r"), plan_vars(production_url, workdir, "p"), workdir
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.parity", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rehearsal", default="default", help="the rehearsal account's scenario")
    parser.add_argument("--production", default="vpc-day", help="production's scenario")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="clusterswap-parity-") as tmp:
        proc = compare(args.rehearsal, args.production, Path(tmp), REPO / "reports")
    sys.stdout.write(proc.stdout)
    sys.stderr.write(proc.stderr)
    print(f"parity: rehearsal {args.rehearsal} against production {args.production}: rc {proc.returncode}")
    return proc.returncode


if __name__ == "__main__":
    sys.exit(main())
