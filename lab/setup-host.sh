#!/usr/bin/env bash
# Installs the Debian packages the lab and the tests need, once (chromium: the timeline's SVG rendered as a
# person sees it, tests/unit/callback). Idempotent; needs root (CI and the lab run as root).
set -euo pipefail
pkgs=(podman runc mmdebstrap uidmap slirp4netns fuse-overlayfs e2fsprogs iproute2 util-linux chromium)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "host-deps: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# podman from Debian needs runc on this cgroup layout (crun refuses it), and container ulimits
# no higher than the host's hard limit.
conf=/etc/containers/containers.conf
hn=$(ulimit -Hn)
want="default_ulimits = [\"nofile=${hn}:${hn}\", \"nproc=4096:4096\"]"
if ! grep -qF "$want" "$conf" 2>/dev/null || ! grep -q '^runtime = "runc"' "$conf" 2>/dev/null; then
  mkdir -p /etc/containers
  printf '[containers]\n%s\n\n[engine]\nruntime = "runc"\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n' "$want" > "$conf"
  echo "host-deps: wrote $conf"
fi
# Every container host runs systemd, which takes inotify instances of the (shared) root user: with the
# kernel's default of 128 the vpc-day world's ~57 hosts stop booting after about 30 (systemd exits 255).
if [ "$(cat /proc/sys/fs/inotify/max_user_instances)" -lt 8192 ]; then
  sysctl -q -w fs.inotify.max_user_instances=8192
  echo "host-deps: fs.inotify.max_user_instances=8192 (one systemd per container host)"
fi
