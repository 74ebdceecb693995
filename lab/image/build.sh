#!/usr/bin/env bash
# Builds the lab's host image from Debian packages (no registry is reachable): mmdebstrap writes a
# bookworm root filesystem as a tar, `podman import` turns it into an image whose entry point is systemd.
# The image is tagged with a hash of its inputs (this script, the package list, the host's apt sources),
# and the build is skipped when that tag already exists. Needs root, mmdebstrap and podman.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="localhost/clusterswap-lab"
sources="${LAB_APT_SOURCES:-/etc/apt/sources.list.d/debian.sources}"
pkgs_file="$here/packages.txt"
units_file="$here/masked-units.txt"

[ -r "$sources" ] || { echo "image: apt sources $sources not found (set LAB_APT_SOURCES)" >&2; exit 1; }
packages="$(grep -v '^\s*#' "$pkgs_file" | xargs | tr ' ' ',')"
hash="$(cat "$0" "$pkgs_file" "$units_file" "$sources" | sha256sum | cut -c1-12)"
tag="$repo:$hash"

if podman image exists "$tag"; then
  podman tag "$tag" "$repo:latest"
  echo "image: $tag exists, build skipped"
  exit 0
fi

start=$(date +%s.%N)
work="$(mktemp -d /tmp/clusterswap-image.XXXXXX)"
trap 'rm -rf "$work"' EXIT
masked="$(grep -v '^\s*#' "$units_file" | xargs)"

echo "image: building $tag (mmdebstrap bookworm from $sources)"
# Mask units that cannot work in a container; disable the services each role enables itself;
# drop the default Postgres cluster (the data lives on the data volume; the seed creates the cluster).
mmdebstrap --variant=apt --mode=root --format=tar \
  --aptopt='APT::Install-Recommends "false"' \
  --include="$packages" \
  --customize-hook="chroot \"\$1\" systemctl mask $masked" \
  --customize-hook='chroot "$1" systemctl disable nginx.service postgresql.service' \
  --customize-hook='chroot "$1" pg_dropcluster 15 main' \
  --customize-hook='chroot "$1" systemctl set-default multi-user.target' \
  --customize-hook='rm -f "$1"/etc/machine-id "$1"/var/lib/dbus/machine-id; : > "$1"/etc/machine-id' \
  --customize-hook='rm -f "$1"/etc/nginx/sites-enabled/default' \
  --customize-hook='rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*' \
  bookworm "$work/rootfs.tar" "$sources"

podman import \
  --change 'CMD=["/sbin/init"]' \
  --change 'STOPSIGNAL=SIGRTMIN+3' \
  --change 'ENV=container=podman' \
  --change "LABEL=clusterswap.lab.inputs=$hash" \
  "$work/rootfs.tar" "$tag" >/dev/null
podman tag "$tag" "$repo:latest"
# Older builds of the image are superseded (an image still used by a container stays).
for old in $(podman images --format '{{.Repository}}:{{.Tag}}' "$repo"); do
  case "$old" in "$tag" | "$repo:latest") ;; *) podman rmi "$old" >/dev/null 2>&1 || true ;; esac
done
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v t="$tag" 'BEGIN { printf "image: built %s in %.1f s\n", t, e - s }'
