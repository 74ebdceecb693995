"""The lab's commands: bring the lab up, seed a scenario, show it, take it down, rehearse the swap.

    python -m lab.labctl up     --scenario NAME [--latency-scale F]
    python -m lab.labctl seed   --scenario NAME
    python -m lab.labctl status
    python -m lab.labctl down
    python -m lab.labctl swap   --scenario NAME [--playbook playbooks/full-swap.yml] [--inventory DIR]

`up` builds the host image if missing, starts the simulated AWS (moto server on 127.0.0.1:5055, with the
podman host hooks), creates the network, the container hosts and the volumes, seeds the scenario and
starts the traffic edge. It is idempotent: a second `up` with the same scenario changes nothing; with
another scenario it reseeds. `down` removes everything the lab made. State: lab/.state/.
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from ansible_collections.clusterswap.swap.plugins.plugin_utils.timeline.downtime import add_to_report, epoch

from lab.hosts import containers, podman, roles, seed, volumes
from lab.hosts.world import (
    IMAGE,
    REPO,
    SEEDED_VOLUMES,
    STATE_DIR,
    TOPOLOGY_FILE,
    Host,
    VolumeLayout,
    discover,
    load_topology,
    save_topology,
)

SIM_HOST = "127.0.0.1"
SIM_PORT = 5055
SIM_URL = f"http://{SIM_HOST}:{SIM_PORT}"
HOOKS = "lab.hosts.podman_hooks:PodmanHooks"
REGION = "us-east-1"
LOG_DIR = STATE_DIR / "logs"
SCENARIO_FILE = STATE_DIR / "scenario"
# The runbook's records (plan, manifests) for this world: inventories/lab sets clusterswap_record in here.
RECORDS_DIR = STATE_DIR / "records"
DEFAULT_PLAYBOOK = "playbooks/full-swap.yml"
# Another inventory (inventories/staging) run on the lab: this source on top of it reaches the lab's
# containers and says what the lab's network is (lab/overlay/hosts.yml); the lab's endpoint and dummy
# credentials come from the environment, as a real account's would.
OVERLAY = "lab/overlay"
# the lab's dummy credentials, as a profile's file (the simulator accepts any)
LAB_CREDENTIALS = {"AWS_SHARED_CREDENTIALS_FILE": str(REPO / "lab" / "aws-credentials")}


def say(msg: str) -> None:
    print(f"lab: {msg}", flush=True)


# --- processes the lab starts (simulated AWS, edge): pid files in lab/.state ---


def _pid_file(name: str) -> Path:
    return STATE_DIR / f"{name}.pid"


def running_pid(name: str) -> int | None:
    """The pid of the lab process `name` if it is alive and is the process we started."""
    path = _pid_file(name)
    if not path.exists():
        return None
    pid = int(path.read_text().split()[0])
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return None
    return pid if path.read_text().split(maxsplit=1)[1].strip() in cmdline.replace("\0", " ") else None


def start_process(name: str, args: list[str]) -> subprocess.Popen[bytes]:
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with (LOG_DIR / f"{name}.log").open("ab") as log:
        proc = subprocess.Popen(
            args,
            cwd=REPO,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    marker = " ".join(args[1:4])  # e.g. "-m lab.awssim serve": checked before we ever signal this pid
    _pid_file(name).write_text(f"{proc.pid} {marker}\n")
    return proc


def stop_process(name: str, timeout: float = 10) -> bool:
    pid = running_pid(name)
    _pid_file(name).unlink(missing_ok=True) if pid is None else None
    if pid is None:
        return False
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and Path(f"/proc/{pid}").exists() and not _is_zombie(pid):
        time.sleep(0.1)
    if Path(f"/proc/{pid}").exists() and not _is_zombie(pid):
        os.kill(pid, signal.SIGKILL)
    _pid_file(name).unlink(missing_ok=True)
    return True


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return True


# --- the simulated AWS ---


def lab_api(path: str, body: dict[str, Any] | None = None, timeout: float = 120) -> Any:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(
        SIM_URL + path,
        data=data,
        method="POST" if data else "GET",
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return json.load(resp)


def sim_answers(scenario: str | None = None) -> bool:
    """The simulated AWS answers (and, given `scenario`, has finished seeding it)."""
    try:
        state = lab_api("/_lab/state", timeout=2)
    except (urllib.error.URLError, OSError, ValueError):
        return False
    return scenario is None or state.get("scenario") == scenario


def ensure_sim(scenario: str, latency_scale: float | None) -> bool:
    """Start the simulated AWS if it is not running. True when it was started (seeded with `scenario`)."""
    if running_pid("awssim") and sim_answers():
        return False
    if not (REPO / "lab" / "awssim" / "__main__.py").exists():
        raise SystemExit("lab: lab/awssim (the simulated AWS) does not exist yet: cannot bring the lab up")
    args = [sys.executable, "-m", "lab.awssim", "serve", "--host", SIM_HOST, "--port", str(SIM_PORT)]
    args += ["--scenario", scenario, "--hooks", HOOKS]
    if latency_scale is not None:
        args += ["--latency-scale", str(latency_scale)]
    proc = start_process("awssim", args)
    deadline = time.monotonic() + 60
    while not sim_answers(scenario):  # it answers before it has seeded the scenario
        if proc.poll() is not None or time.monotonic() > deadline:
            tail = (LOG_DIR / "awssim.log").read_text()[-2000:]
            raise SystemExit(f"lab: the simulated AWS did not come up (pid {proc.pid}); log tail:\n{tail}")
        time.sleep(0.2)
    say(f"simulated AWS on {SIM_URL} (pid {proc.pid}, scenario {scenario})")
    return True


def ec2() -> Any:
    import boto3

    return boto3.client(
        "ec2",
        endpoint_url=SIM_URL,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def _tags(resource: dict[str, Any]) -> dict[str, str]:
    return {t["Key"]: t["Value"] for t in resource.get("Tags", [])}


def sim_instances() -> list[dict[str, Any]]:
    pages = ec2().get_paginator("describe_instances").paginate()
    return [i for page in pages for r in page["Reservations"] for i in r["Instances"]]


def hypervisors(instances: list[dict[str, Any]]) -> dict[str, str]:
    """Instance ID -> `nitro` | `xen`, from DescribeInstanceTypes (DescribeInstances says `xen` for both)."""
    types = sorted({i["InstanceType"] for i in instances})
    answer = ec2().describe_instance_types(InstanceTypes=types)["InstanceTypes"] if types else []
    kind = {t["InstanceType"]: t.get("Hypervisor", "xen") for t in answer}
    return {i["InstanceId"]: kind.get(i["InstanceType"], "xen") for i in instances}


def sim_volumes() -> list[dict[str, Any]]:
    return [v for page in ec2().get_paginator("describe_volumes").paginate() for v in page["Volumes"]]


# --- hosts: containers, volumes, seeded data ---


def seeded_volumes(instances: list[dict[str, Any]]) -> list[seed.SeededVolume]:
    """Every volume of the simulated world with the layout its seeded attachment gives it."""
    names = {i["InstanceId"]: _tags(i).get("Name", i["InstanceId"]) for i in instances}
    roots = {(i["InstanceId"], i.get("RootDeviceName")) for i in instances}
    out = []
    for v in sim_volumes():
        att = next(iter(v.get("Attachments", [])), None)
        if att and (att["InstanceId"], att["Device"]) in roots:
            continue  # root volumes stay with their instance: no loop device for them
        inst_name = names.get(att["InstanceId"], "") if att else ""
        device = att["Device"] if att else ""
        layout = SEEDED_VOLUMES.get((inst_name, device), VolumeLayout("blank", "", 64))
        name = _tags(v).get("Name", v["VolumeId"])
        out.append(seed.SeededVolume(v["VolumeId"], name, inst_name, device, layout))
    return out


def remove_hosts() -> list[str]:
    removed = containers.remove_all()
    volumes.remove_all()
    seed.MANIFEST.unlink(missing_ok=True)
    TOPOLOGY_FILE.unlink(missing_ok=True)
    return removed


def seed_hosts() -> dict[str, Any]:
    """Fresh container hosts and volumes for the world the simulated AWS holds now. Returns the manifest."""
    remove_hosts()
    instances = sim_instances()
    by_id = {i["InstanceId"]: i for i in instances}
    vols = seeded_volumes(instances)
    manifest: dict[str, Any] = {"volumes": {}, "postgres": None}
    for vol in vols:
        files = seed.make_volume_file(vol)
        manifest["volumes"][vol.volume_id] = {
            "name": vol.name,
            "kind": vol.layout.kind,
            "instance": vol.instance_name,
            "device": vol.device,
            "mountpoint": vol.layout.mountpoint,
            "files": files,
        }
    topo = discover(ec2(), warn=say)
    save_topology(topo)
    by_name = {_tags(i).get("Name"): i for i in instances}

    kinds = hypervisors(instances)

    def prepare(host: Host) -> None:
        """Once the host has booted: attach its seeded volumes (named as its OS names them), mount them,
        seed Postgres."""
        for vol in (v for v in vols if v.instance_name == host.name):
            instance_id = by_name[host.name]["InstanceId"]
            att = volumes.attach(vol.volume_id, instance_id, host.container, vol.device, vol.layout.size_mib,
                                 hypervisor=kinds[instance_id])  # fmt: skip
            if vol.layout.kind in ("home", "logs"):
                seed.mount_in(host.container, att.node, vol.layout.mountpoint)
            elif vol.layout.kind == "pgdata":
                seed.seed_postgres(host.container, att.node, vol.layout.mountpoint, topo.cidrs)
                manifest["postgres"] = {
                    "instance": host.name,
                    "database": "pythonanywhere",
                    "tables": seed.postgres_checksums(host.container),
                }

    containers.create_all(topo, then=prepare)
    old_pg = topo.host(manifest["postgres"]["instance"]) if manifest["postgres"] else None
    new_pg = next((h for h in topo.hosts if h.cluster == "new" and h.role == "postgres"), None)
    if old_pg and new_pg:
        copy_postgres_config(old_pg.container, new_pg.container)
    seed.write_manifest(manifest)
    stop_stopped_instances(by_id)
    return manifest


def copy_postgres_config(source: str, target: str) -> None:
    """The new Postgres server was set up 'the day before' with the old one's configuration, pointing at
    the data volume it will receive; its cluster starts only by hand (start.conf manual)."""
    if not podman.exists(target):
        return
    tmp = STATE_DIR / "pgconf"
    shutil.rmtree(tmp, ignore_errors=True)
    podman.podman("cp", f"{source}:/etc/postgresql/15/main", str(tmp))
    podman.exec_in(target, ["mkdir", "-p", "/etc/postgresql/15"])
    podman.podman("cp", str(tmp), f"{target}:/etc/postgresql/15/main")
    podman.exec_in(
        target,
        [
            "sh",
            "-c",
            "echo manual > /etc/postgresql/15/main/start.conf && chown -R postgres: /etc/postgresql/15",
        ],
    )
    shutil.rmtree(tmp, ignore_errors=True)


def stop_stopped_instances(by_id: dict[str, dict[str, Any]]) -> None:
    for inst in by_id.values():
        container = _tags(inst).get("lab:host")
        if container and inst["State"]["Name"] in ("stopped", "stopping") and podman.is_running(container):
            podman.podman("stop", "-t", "20", container)


def hosts_complete() -> bool:
    topo = load_topology()
    return bool(topo.hosts) and all(podman.exists(h.container) for h in topo.hosts) and seed.MANIFEST.exists()


# --- edge ---


def ensure_edge() -> bool:
    if running_pid("edge"):
        return False
    proc = start_process("edge", [sys.executable, "-m", "lab.hosts.edge", "--sim", SIM_URL])
    say(f"traffic edge on the EIP addresses, ports 80 and 443 (pid {proc.pid})")
    return True


# --- commands ---


def build_image() -> None:
    if subprocess.run(["podman", "image", "exists", IMAGE], check=False).returncode == 0:
        return
    t0 = time.monotonic()
    subprocess.run(["bash", str(REPO / "lab" / "image" / "build.sh")], check=True)
    say(f"image built in {time.monotonic() - t0:.1f}s")


def seeded_scenario() -> str | None:
    """The scenario the hosts were seeded with, if the simulated AWS still holds that same seeding
    (same scenario, same instance ids: a reseed behind the lab's back makes the hosts stale)."""
    if not SCENARIO_FILE.exists():
        return None
    mine = json.loads(SCENARIO_FILE.read_text())
    if not sim_answers():
        return mine["scenario"]
    world = lab_api("/_lab/world") or {}
    same = world.get("scenario") == mine["scenario"] and world.get("instances") == mine["instances"]
    return mine["scenario"] if same else None


def record_seeded(scenario: str) -> None:
    """Remember which seeding the hosts match (a fresh one: no swap has run on it yet)."""
    world = lab_api("/_lab/world") or {}
    SCENARIO_FILE.write_text(json.dumps({"scenario": scenario, "instances": world.get("instances", {})}))


def cmd_up(scenario: str, latency_scale: float | None) -> None:
    t0 = time.monotonic()
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    build_image()
    started = ensure_sim(scenario, latency_scale)
    if latency_scale is not None and not started:
        lab_api("/_lab/latency", {"scale": latency_scale})
    if seeded_scenario() != scenario or not hosts_complete():
        reseed(scenario, sim_already_seeded=started)
    elif swapped():
        say(
            f"hosts up, scenario {scenario} seeded; a swap has run on it since (`make lab-seed`: fresh world)"
        )
    else:
        say(f"hosts up, scenario {scenario} already seeded")
    ensure_edge()
    say(f"up in {time.monotonic() - t0:.1f}s")


def reseed(scenario: str, sim_already_seeded: bool = False) -> None:
    t0 = time.monotonic()
    SCENARIO_FILE.unlink(missing_ok=True)
    shutil.rmtree(RECORDS_DIR, ignore_errors=True)  # the runbook's plan record belongs to the old world
    remove_hosts()  # first: the simulator's seed calls the hooks, which must find no stale containers
    roles.site_certificate("maintenance")  # the page's certificate: the lab's inventory gives it the runbook
    if not sim_already_seeded:
        lab_api("/_lab/seed", {"scenario": scenario})
    manifest = seed_hosts()
    if manifest["postgres"]:
        deploy_site()
    record_seeded(scenario)
    n_files = sum(len(v["files"]) for v in manifest["volumes"].values())
    hosts, vols = len(containers.status()), len(manifest["volumes"])
    pg = "yes" if manifest["postgres"] else "no"
    say(
        f"seeded {scenario}: {hosts} hosts, {vols} volumes, {n_files} files, postgres {pg} "
        f"({time.monotonic() - t0:.1f}s)"
    )


def deploy_site() -> None:
    """The day before, as the website's own pipeline does it in an account: the lab's website deployed to the
    new housekeeping server, the old database at the old release (lab/prepare-site.yml)."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "AWS_ENDPOINT_URL": SIM_URL}
    env["ANSIBLE_CALLBACKS_ENABLED"] = "ansible.posix.profile_tasks"  # not a swap: no timeline report
    ansible = Path(sys.executable).with_name("ansible-playbook")
    cmd = [str(ansible), str(REPO / "lab" / "prepare-site.yml")]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        output = proc.stdout[-4000:] + proc.stderr[-2000:]
        raise SystemExit(f"lab/prepare-site.yml failed (rc {proc.returncode}):\n{output}")


def cmd_seed(scenario: str, latency_scale: float | None) -> None:
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    build_image()
    started = ensure_sim(scenario, latency_scale)
    reseed(scenario, sim_already_seeded=started)
    ensure_edge()


def cmd_status() -> None:
    sim = running_pid("awssim")
    print(
        f"simulated AWS: {SIM_URL if sim and sim_answers() else 'not running'}"
        + (f" (pid {sim})" if sim else "")
    )
    edge = running_pid("edge")
    print(f"traffic edge:  {'pid ' + str(edge) if edge else 'not running'}")
    print(f"scenario:      {seeded_scenario() or '-'}")
    print("networks:")
    for net in load_topology().networks:
        print(f"  {net.name:24} {net.cidr:18} gateway {net.gateway}")
    print("containers:")
    for row in containers.status():
        print(f"  {row['container']:24} {row['state']:10} {row['role']:13} {row['ip']}")
    loops = volumes.our_loops()
    print(f"loop devices:  {len(loops)}")
    for dev, back in sorted(loops.items()):
        print(f"  {dev} {Path(back).name}")
    if sim and sim_answers():
        print("EIP routes:")
        for ip, route in sorted(lab_api("/_lab/routes").items(), key=lambda kv: ipaddress.ip_address(kv[0])):
            target = "-"
            if route:
                where = route.get("network_interface_id") or "EC2-Classic"
                host = route["lab_host"] or "no container"
                target = f"{route['private_ip']} ({route['instance_id']}, {where}) -> {host}"
            print(f"  {ip:16} {target}")


def cmd_down() -> None:
    t0 = time.monotonic()
    for name in ("edge", "awssim"):
        if stop_process(name):
            say(f"stopped {name}")
    removed = remove_hosts()
    for path in STATE_DIR.glob("*"):
        if path != LOG_DIR:
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    say(f"down: removed {len(removed)} containers, the networks, loop devices, volume files "
        f"({time.monotonic() - t0:.1f}s)")  # fmt: skip


def swapped() -> bool:
    """A swap has run on the seeded world since it was seeded (it is no longer a fresh rehearsal)."""
    return SCENARIO_FILE.exists() and bool(json.loads(SCENARIO_FILE.read_text()).get("swapped"))


def mark_swapped() -> None:
    if SCENARIO_FILE.exists():
        SCENARIO_FILE.write_text(json.dumps({**json.loads(SCENARIO_FILE.read_text()), "swapped": True}))


def start_probe(out: Path) -> subprocess.Popen[bytes]:
    """The downtime probe (lab/probe.py) in the background: what users see through every EIP, bounded."""
    args = [sys.executable, "-m", "lab.probe", "--out", str(out), "--duration", "7200", "--sim", SIM_URL]
    return subprocess.Popen(args, cwd=REPO, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)


def stop_probe(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def report_probe(out: Path) -> None:
    """One line of what users saw: seconds of maintenance page, the longest time without any page, flips."""
    if not out.exists():
        say("downtime probe: no report")
        return
    summary = json.loads(out.read_text()).get("summary", {})
    if not summary:
        say(f"downtime probe: no EIP to probe ({out})")
        return
    worst_ip = max(summary, key=lambda ip: summary[ip]["longest_no_page"])
    worst = summary[worst_ip]
    flips = [s["name"] for s in summary.values() if s["flip_back_to_old"]]
    page = max(s["maintenance_seconds"] for s in summary.values())
    say(
        f"downtime probe: {len(summary)} EIPs; maintenance page up to {page:.1f}s; longest without any page "
        f"{worst['longest_no_page']:.1f}s ({worst['name']}); back to the old cluster after the page: "
        f"{', '.join(flips) or 'none'} ({out})"
    )


def add_probe_to_timelines(probe_out: Path, since: float, playbook: Path) -> None:
    """The probe's record into the timeline report this run of `playbook` wrote (reports/, with the product's
    code): the report then opens with what users got through each EIP, and its SVG draws one band per EIP."""
    if not probe_out.exists():
        return
    record = json.loads(probe_out.read_text())
    for run in sorted((REPO / "reports").glob("*.json")):
        if run == probe_out or run.stat().st_mtime < since:
            continue
        try:
            report = json.loads(run.read_text())
            ours = str(playbook) in report["playbooks"] and epoch(report["started_at"]) >= since
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not a timeline report
        if ours:
            add_to_report(str(run), record)
            say(f"downtime added to the timeline: {run.with_suffix('.md').relative_to(REPO)}")


def playbook_args(inventory: str | None) -> list[str]:
    """ansible-playbook's arguments besides the playbook: none for the lab's own inventory (ansible.cfg's),
    else the other inventory, the lab overlay on top of it, and only the hosts that have a container."""
    if not inventory:
        return []
    if not (REPO / inventory).is_dir():
        raise SystemExit(f"lab: {inventory} is not an inventory directory here (e.g. inventories/staging)")
    return ["-i", inventory, "-i", OVERLAY, "--limit", "localhost:lab_hosts"]


def cmd_swap(
    scenario: str,
    playbook: str,
    latency_scale: float | None,
    inventory: str | None = None,
    extra_vars: list[str] | None = None,
) -> int:
    extra = playbook_args(inventory) + [arg for value in extra_vars or [] for arg in ("-e", value)]
    cmd_up(scenario, latency_scale)
    if swapped():  # the runbook finds the swap done and changes nothing; `make lab-reset` rehearses afresh
        say(f"a swap already ran on this {scenario} world: the playbook should find it done")
    path = REPO / playbook
    if not path.exists():
        say(f"{playbook} does not exist yet: nothing to run (the lab is up with scenario {scenario})")
        rc = 1
    else:
        env = {**os.environ, "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"), "AWS_ENDPOINT_URL": SIM_URL}
        if inventory:
            env.update(LAB_CREDENTIALS)
        ansible = Path(sys.executable).with_name("ansible-playbook")
        mark_swapped()
        probe_out = REPO / "reports" / f"{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-probe.json"
        probe = start_probe(probe_out)
        since = time.time()
        try:
            rc = subprocess.run([str(ansible), *extra, str(path)], cwd=REPO, env=env, check=False).returncode
        finally:
            stop_probe(probe)
        say(f"{playbook} finished with exit code {rc}")
        report_probe(probe_out)
        add_probe_to_timelines(probe_out, since, path)
    reports = sorted((REPO / "reports").glob("*"), key=lambda p: p.stat().st_mtime)
    reports = [p for p in reports if p.name != ".gitkeep"]
    say(f"timeline report: {reports[-1] if reports else 'none yet'} (all reports in {REPO / 'reports'})")
    return rc


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.labctl", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["up", "seed", "status", "down", "swap"])
    parser.add_argument("--scenario", default="default")
    parser.add_argument(
        "--latency-scale",
        type=float,
        default=float(os.environ["LAB_LATENCY_SCALE"]) if os.environ.get("LAB_LATENCY_SCALE") else None,
        help="the simulated AWS's latency scale when it starts (default: $LAB_LATENCY_SCALE, else its own)",
    )
    parser.add_argument("--playbook", default=DEFAULT_PLAYBOOK)
    parser.add_argument(
        "-e", "--extra-vars", action="append", default=[], help="swap: passed to ansible-playbook as -e"
    )
    parser.add_argument(
        "--inventory",
        default=None,
        help="swap: run with this inventory (e.g. inventories/staging) on the lab instead of inventories/lab",
    )
    args = parser.parse_args(argv)
    if os.geteuid() != 0 and args.command != "status":
        raise SystemExit("lab: must run as root (podman, loop devices, port 80)")
    if args.command == "up":
        cmd_up(args.scenario, args.latency_scale)
    elif args.command == "seed":
        cmd_seed(args.scenario, args.latency_scale)
    elif args.command == "status":
        cmd_status()
    elif args.command == "down":
        cmd_down()
    else:
        return cmd_swap(args.scenario, args.playbook, args.latency_scale, args.inventory, args.extra_vars)
    return 0


if __name__ == "__main__":
    sys.exit(main())
