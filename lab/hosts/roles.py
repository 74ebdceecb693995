"""What each role's container holds before it boots: nginx sites, the export service, enabled units.

The files go into the created (not yet started) container as one tar stream (`podman cp - c:/`), so
systemd boots straight into the role: no exec round trips, no restarts."""

from __future__ import annotations

import io
import tarfile
import time

from lab.hosts.world import SUBNET, WEB_OF_CLUSTER, Host, host_by_name

WANTS = "/etc/systemd/system/multi-user.target.wants"

# Every nginx in the lab is reached by the traffic edge, which speaks PROXY protocol v1 from the lab
# network: a server block only has to `listen 80 proxy_protocol;` to see the real client in $remote_addr.
EDGE_CONF = f"""\
# clusterswap lab: the traffic edge sends a PROXY protocol v1 header carrying the client's address.
# A server block that does `listen 80 proxy_protocol;` sees the real client in $remote_addr.
set_real_ip_from {SUBNET};
real_ip_header proxy_protocol;
"""

EXPORT_UNIT = """\
[Unit]
Description=clusterswap lab: read-only HTTP export of /srv (stand-in for NFS: no nfsd in a container)
After=network.target

[Service]
WorkingDirectory=/
ExecStart=/usr/bin/python3 -m http.server 2049 --bind 0.0.0.0 --directory /srv
Restart=on-failure

[Install]
WantedBy=multi-user.target
"""


def page(host: Host, extra: str = "") -> str:
    """The one-line text every lab nginx answers with: who answered and which client it saw."""
    who = f"cluster={host.cluster} host=$hostname role={host.role}"
    return f"clusterswap-lab {who} client=$remote_addr{extra}\\n"


def whoami(host: Host) -> str:
    return f'    location = /_lab/whoami {{ default_type text/plain; return 200 "{page(host)}"; }}\n'


def site_lb(host: Host) -> str:
    web = host_by_name(WEB_OF_CLUSTER[host.cluster])
    assert web is not None
    return f"""\
# clusterswap lab: load balancer of the {host.cluster} cluster, proxies to {web.name}.
server {{
    listen 80 proxy_protocol default_server;
{whoami(host)}
    location / {{
        proxy_pass http://{web.ip}:8080;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Lab-Via $hostname;
        proxy_connect_timeout 2s;
    }}
}}
"""


def site_web(host: Host) -> str:
    text = page(host, " via=$lab_via")
    return f"""\
# clusterswap lab: web server of the {host.cluster} cluster. Port 80: from the traffic edge (PROXY
# protocol); port 8080: from the cluster's load balancers (X-Real-IP carries the client, X-Lab-Via the lb).
map $http_x_lab_via $lab_via {{ "" "-"; default $http_x_lab_via; }}
server {{
    listen 80 proxy_protocol default_server;
{whoami(host)}
    location / {{ default_type text/plain; return 200 "{text}"; }}
}}
server {{
    listen 8080 default_server;
    real_ip_header X-Real-IP;
{whoami(host)}
    location / {{ default_type text/plain; return 200 "{text}"; }}
}}
"""


def site_maintenance(host: Host) -> str:
    return f"""\
# clusterswap lab: the maintenance server before the runbook configures it (it replaces this file).
server {{
    listen 80 proxy_protocol default_server;
{whoami(host)}
    location / {{ default_type text/plain; return 503 "{page(host, " unconfigured")}"; }}
}}
"""


SITES = {"lb": site_lb, "web": site_web, "maintenance": site_maintenance}


def files_for(host: Host) -> dict[str, str]:
    """{absolute path: content}; content starting with '->' is a symlink target."""
    files = {"/etc/clusterswap-lab": f"name={host.name}\ncluster={host.cluster}\nrole={host.role}\n"}
    if host.role in SITES:
        files["/etc/nginx/conf.d/lab-edge.conf"] = EDGE_CONF
        files["/etc/nginx/sites-available/lab-default"] = SITES[host.role](host)
        files["/etc/nginx/sites-enabled/lab-default"] = "->../sites-available/lab-default"
        files[f"{WANTS}/nginx.service"] = "->/lib/systemd/system/nginx.service"
    if host.role == "postgres":
        files[f"{WANTS}/postgresql.service"] = "->/lib/systemd/system/postgresql.service"
    if host.role == "storage":
        files["/etc/systemd/system/lab-export.service"] = EXPORT_UNIT
        files[f"{WANTS}/lab-export.service"] = "->/etc/systemd/system/lab-export.service"
    return files


def dirs_for(host: Host) -> list[str]:
    return {
        "storage": ["/srv/home", "/srv/home2", "/srv/logs"],
        "postgres": ["/srv/pgdata"],
    }.get(host.role, [])


def tar_for(host: Host) -> bytes:
    """The role's files and directories as a tar stream rooted at /."""
    buf = io.BytesIO()
    now = time.time()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in dirs_for(host):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, now
            tar.addfile(info)
        for path, content in files_for(host).items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.mtime = now
            if content.startswith("->"):
                info.type, info.linkname = tarfile.SYMTYPE, content[2:]
                tar.addfile(info)
            else:
                data = content.encode()
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
