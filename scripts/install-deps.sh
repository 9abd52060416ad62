#!/usr/bin/env bash
# Installs what the cloud and its tests need on Debian 12/13 (as root): QEMU, networking tools, the real AWS clients
# used as test oracles, benchmark references, and the project's npm packages.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  qemu-system-x86 qemu-utils            # instances (TCG when KVM does not work), qcow2 overlays, qemu-storage-daemon
  iproute2 nftables dnsmasq-base        # namespaces, bridges, taps, security groups, DHCP
  busybox-static dropbear-bin cpio e2fsprogs  # the default guest image, built from Debian packages
  syslinux syslinux-common mtools dosfstools xz-utils  # its bootable whole-disk variant (MBR + syslinux + FAT boot)
  awscli python3-boto3 s3cmd rclone     # real clients, used as test oracles
  nginx-light\|nginx wrk                # benchmark references and load generator (Debian 13 has no nginx-light)
  openssh-client ca-certificates putty-tools procps   # putty-tools: checks PPK key pairs; procps: ps/pgrep in tests
)
# An entry "a|b" is satisfied by either package; the first one the archive has is installed.
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
missing=()
for entry in "${PKGS[@]}"; do
  ok=""
  for p in ${entry//|/ }; do installed "$p" && ok=1; done
  [ -n "$ok" ] || missing+=("$entry")
done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  pick=()
  for entry in "${missing[@]}"; do
    chosen=""
    for p in ${entry//|/ }; do
      if [ -z "$chosen" ] && apt-cache show "$p" 2>/dev/null | grep -q '^Version:'; then chosen=$p; fi
    done
    pick+=("${chosen:-${entry%%|*}}")
  done
  apt-get install -y -qq --no-install-recommends "${pick[@]}"
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
