"""What each role's container holds before it boots: nginx sites, the export service, enabled units.

The files go into the created (not yet started) container as one tar stream (`podman cp - c:/`), so
systemd boots straight into the role: no exec round trips, no restarts."""

from __future__ import annotations

import io
import tarfile
import time

from lab.awssim.world import ROLES, WORLD
from lab.hosts import private_ips
from lab.hosts.world import STATE_DIR, Host, Topology
from lab.tls import CertificateAuthority

WANTS = "/etc/systemd/system/multi-user.target.wants"
#: The names the lab's EIPs serve over HTTPS, and the lab's CA with the certificates it signs for them: one
#: per cluster (its load balancers and web servers present it) and the maintenance page's
#: (inventories/lab/group_vars/all/runbook.yml gives it to the runbook, as an account's vault would).
SITE_NAMES = ["www.clusterswap.test", "clusterswap.test"]
TLS_DIR = STATE_DIR / "tls"
TLS_FILES = "/etc/nginx/lab-tls"
#: The Strict-Transport-Security header the lab's site sends (the maintenance page must send it too).
HSTS = "max-age=300"


def site_certificate(stem: str) -> tuple[str, str]:
    """(certificate chain, key) for SITE_NAMES under the lab's CA, issued once per stem (a cluster, or
    maintenance)."""
    ca = CertificateAuthority.create(TLS_DIR)
    cert, key = TLS_DIR / f"{stem}.pem", TLS_DIR / f"{stem}.key"
    if not (cert.exists() and key.exists()):
        ca.issue(SITE_NAMES, TLS_DIR, stem)
    return cert.read_text(), key.read_text()


def tls_server(body: str) -> str:
    """The HTTPS twin of a server block: the cluster's certificate, the site's HSTS, PROXY protocol from the
    edge."""
    return f"""server {{
    listen 443 ssl proxy_protocol default_server;
    ssl_certificate {TLS_FILES}/site.pem;
    ssl_certificate_key {TLS_FILES}/site.key;
    add_header Strict-Transport-Security "{HSTS}" always;
{body}}}
"""


def edge_conf(topo: Topology) -> str:
    """Every nginx in the lab is reached by the traffic edge, which speaks PROXY protocol v1 from the lab's
    networks (from each network's gateway, the host's end of the bridge; the maintenance server's bypass from
    its own address): a server block only has to `listen 80 proxy_protocol;` to see the real client."""
    trusted = "".join(f"set_real_ip_from {cidr};\n" for cidr in topo.cidrs)
    return f"""\
# clusterswap lab: the traffic edge sends a PROXY protocol v1 header carrying the client's address.
# A server block that does `listen 80 proxy_protocol;` sees the real client in $remote_addr.
{trusted}real_ip_header proxy_protocol;
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
    """Who answered, the client it saw, and the private IP the connection came in on."""
    text = page(host, " addr=$server_addr")
    return f'    location = /_lab/whoami {{ default_type text/plain; return 200 "{text}"; }}\n'


def site_lb(host: Host, topo: Topology) -> str:
    web = topo.web_of(host.cluster)
    if web is None:
        raise ValueError(f"{host.name}: the {host.cluster} cluster has no web server with a container host")
    body = f"""\
{whoami(host)}
    location / {{
        proxy_pass http://{web.ip}:8080;
        proxy_set_header Host $host;
        proxy_set_header X-Real-IP $remote_addr;
        proxy_set_header X-Lab-Via $hostname;
        proxy_connect_timeout 2s;
    }}
"""
    return f"""\
# clusterswap lab: load balancer of the {host.cluster} cluster, proxies to {web.name} ({web.ip}).
server {{
    listen 80 proxy_protocol default_server;
{body}}}
{tls_server(body)}"""


def site_web(host: Host, topo: Topology) -> str:
    text = page(host, " via=$lab_via")
    body = f'{whoami(host)}    location / {{ default_type text/plain; return 200 "{text}"; }}\n'
    return f"""\
# clusterswap lab: web server of the {host.cluster} cluster. Ports 80 and 443: from the traffic edge (PROXY
# protocol); port 8080: from the cluster's load balancers (X-Real-IP carries the client, X-Lab-Via the lb).
map $http_x_lab_via $lab_via {{ "" "-"; default $http_x_lab_via; }}
server {{
    listen 80 proxy_protocol default_server;
{body}}}
{tls_server(body)}server {{
    listen 8080 default_server;
    real_ip_header X-Real-IP;
{body}}}
"""


def site_maintenance(host: Host, topo: Topology) -> str:
    return f"""\
# clusterswap lab: the maintenance server before the runbook configures it (it replaces this file).
server {{
    listen 80 proxy_protocol default_server;
{whoami(host)}
    location / {{ default_type text/plain; return 503 "{page(host, " unconfigured")}"; }}
}}
"""


SITES = {"lb": site_lb, "web": site_web, "maintenance": site_maintenance}


def files_for(host: Host, topo: Topology) -> dict[str, str | tuple[str, int]]:
    """{absolute path: content or (content, mode)}; content starting with '->' is a symlink target."""
    files: dict[str, str | tuple[str, int]] = {
        "/etc/clusterswap-lab": f"name={host.name}\ncluster={host.cluster}\nrole={host.role}\n"
    }
    files.update(private_ips.seed_files(host))
    if host.role in SITES:
        files["/etc/nginx/conf.d/lab-edge.conf"] = edge_conf(topo)
        files["/etc/nginx/sites-available/lab-default"] = SITES[host.role](host, topo)
        files["/etc/nginx/sites-enabled/lab-default"] = "->../sites-available/lab-default"
        files[f"{WANTS}/nginx.service"] = "->/lib/systemd/system/nginx.service"
    if host.role in ("lb", "web"):
        cert, key = site_certificate(host.cluster)
        files[f"{TLS_FILES}/site.pem"] = (cert, 0o644)
        files[f"{TLS_FILES}/site.key"] = (key, 0o600)
    if host.role == "postgres":
        files[f"{WANTS}/postgresql.service"] = "->/lib/systemd/system/postgresql.service"
    if host.role == "storage":
        files["/etc/systemd/system/lab-export.service"] = EXPORT_UNIT
        files[f"{WANTS}/lab-export.service"] = "->/etc/systemd/system/lab-export.service"
    return files


#: Directories the image does not have, made when a file goes in them.
NEW_DIRS = ("/etc/clusterswap", "/usr/local/lib/clusterswap-lab", TLS_FILES)


def dirs_for(host: Host, files: dict[str, str | tuple[str, int]] | None = None) -> list[str]:
    # the mount points of the volumes servers of this role hold (lab/world.yml), on old and new alike
    role_dirs = sorted(
        {
            v["mountpoint"]
            for v in WORLD["volumes"].values()
            if ROLES[v["instance"].removeprefix("old-")] == host.role
        }
    )
    return role_dirs + [d for d in NEW_DIRS if any(p.startswith(d + "/") for p in files or {})]


def tar_for(host: Host, topo: Topology) -> bytes:
    """The role's files and directories as a tar stream rooted at /."""
    buf = io.BytesIO()
    now = time.time()
    files = files_for(host, topo)
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path in dirs_for(host, files):
            info = tarfile.TarInfo(path.lstrip("/"))
            info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, now
            tar.addfile(info)
        for path, entry in files.items():
            content, mode = entry if isinstance(entry, tuple) else (entry, 0o644)
            info = tarfile.TarInfo(path.lstrip("/"))
            info.mtime = now
            if content.startswith("->"):
                info.type, info.linkname = tarfile.SYMTYPE, content[2:]
                tar.addfile(info)
            else:
                data = content.encode()
                info.size, info.mode = len(data), mode
                tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
