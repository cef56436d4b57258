#!/bin/bash
# Installs (apt-get, as root) every Debian package that building, testing, the
# demo and the lab need. The list lives here only: add what you need.
# Idempotent; runs `apt-get update` only when something is missing; prints
# nothing when everything is there.
set -euo pipefail

PACKAGES=(
	# build
	build-essential gcc clang make binutils linux-libc-dev pkg-config
	acpica-tools git
	# guests: QEMU (reference VMM, the lab's L1, L2 inside the lab), virtiofsd
	qemu-system-x86 qemu-system-common qemu-utils
	# guest images and the lab image: Debian kernels unpacked, busybox initramfs
	apt apt-utils dpkg dpkg-dev busybox-static cpio gzip lz4 xz-utils kmod file
	# tests and the lab runner
	bats coreutils util-linux procps psmisc iproute2 grep sed findutils
	tmux strace
	ca-certificates
)

declare -A have=()
while read -r pkg status; do
	[[ $status != installed ]] || have[$pkg]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
missing=()
for pkg in "${PACKAGES[@]}"; do
	[[ -n ${have[$pkg]:-} ]] || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

if [[ $(id -u) != 0 ]]; then
	echo "tests/deps.sh: missing Debian packages: ${missing[*]}; run tests/deps.sh as root (or: sudo apt-get install ${missing[*]})" >&2
	exit 1
fi
echo "tests/deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null || { echo "tests/deps.sh: apt-get update failed" >&2; exit 1; }
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
	{ echo "tests/deps.sh: apt-get install ${missing[*]} failed" >&2; exit 1; }
