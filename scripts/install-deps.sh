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
  nginx-light wrk                       # benchmark references and load generator
  openssh-client ca-certificates putty-tools   # putty-tools: checks PPK key pairs
)
missing=()
for p in "${PKGS[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi
