#!/bin/bash
# Build the test guest: Debian cloud kernel + busybox initramfs.
#
# Outputs (in build/guest/, or $GUEST_OUT):
#   vmlinuz         the kernel bzImage (from linux-image-*-cloud-amd64)
#   vmlinux         uncompressed ELF kernel (has the PVH entry note); only if lz4 is there
#   initrd.img      newc cpio initramfs (uncompressed, see GUEST_INITRD_COMPRESS)
#   kernel-version  e.g. 6.1.0-56-cloud-amd64
#   config          the kernel's .config
#   vsock-xfer      guest/tools/vsock-xfer.c (static), also the host's end of the vsock tests
# The kernel .deb is downloaded (apt-get download, never installed) and cached
# in build/guest/debs/.  Nothing is rebuilt when the stamp (hash of guest/,
# package version, busybox, compiler) is unchanged.
#
# Environment:
#   GUEST_OUT=DIR                 output directory (default: <repo>/build/guest)
#   GUEST_KERNEL_META=PKG         meta package to follow (default linux-image-cloud-amd64)
#   GUEST_INITRD_COMPRESS=none|gzip   (default none: fastest to boot)
#   BUSYBOX=PATH                  static busybox (default: /bin/busybox)
#   CC=gcc                        compiler for guest/tools/vmmtest-io.c and vsock-xfer.c
#   GUEST_FORCE=1                 rebuild even if up to date
#   GUEST_VERBOSE=1               trace
set -euo pipefail
[ "${GUEST_VERBOSE:-}" = 1 ] && set -x

GUEST_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(dirname "$GUEST_DIR")
OUT=${GUEST_OUT:-$ROOT/build/guest}
META=${GUEST_KERNEL_META:-linux-image-cloud-amd64}
COMPRESS=${GUEST_INITRD_COMPRESS:-none}
BUSYBOX=${BUSYBOX:-/bin/busybox}
CC=${CC:-gcc}
export LC_ALL=C

me="guest/build.sh"
die() {
	echo "$me: $*" >&2
	exit 1
}
note() { echo "$me: $*" >&2; }

# ---- tools ----
missing=()
for t in apt-get apt-cache dpkg dpkg-deb depmod cpio gzip sha256sum flock awk readelf "$CC"; do
	command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
[ -x "$BUSYBOX" ] || missing+=("$BUSYBOX")
[ ${#missing[@]} = 0 ] ||
	die "missing tools: ${missing[*]} (Debian packages: apt dpkg kmod cpio gzip coreutils util-linux binutils gcc busybox-static)"
case $COMPRESS in none | gzip) ;; *) die "GUEST_INITRD_COMPRESS must be none or gzip" ;; esac
if readelf -lW "$BUSYBOX" 2>/dev/null | grep -q INTERP; then
	die "$BUSYBOX is dynamically linked; install busybox-static"
fi

mkdir -p "$OUT/debs"
exec 9>"$OUT/.lock"
flock 9

# ---- which kernel package? ----
# Resolving with apt-cache takes ~1 s, so the answer is cached and reused
# until the apt lists change (apt-get update).
lists_key=$(
	{
		echo "$META"
		stat -c '%n %Y %s' /var/lib/apt/lists /var/lib/apt/lists/*Packages* 2>/dev/null || true
	} | sha256sum | cut -c1-16
)
pkg="" ver=""
if [ -f "$OUT/.resolved" ] && [ "$(sed -n 1p "$OUT/.resolved")" = "$lists_key" ]; then
	pkg=$(sed -n 2p "$OUT/.resolved")
	ver=$(sed -n 3p "$OUT/.resolved")
fi
if [ -z "$pkg" ] || [ -z "$ver" ]; then
	pkg=$(apt-cache depends "$META" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }') || true
	if [ -n "$pkg" ]; then
		ver=$(apt-cache policy "$pkg" 2>/dev/null | awk '$1 == "Candidate:" { print $2; exit }') || true
		[ "$ver" != "(none)" ] || ver=""
	fi
	if [ -n "$pkg" ] && [ -n "$ver" ]; then
		printf '%s\n%s\n%s\n' "$lists_key" "$pkg" "$ver" >"$OUT/.resolved"
	else
		# Offline or no apt lists: fall back to the newest cached .deb.
		deb=$(ls -t "$OUT"/debs/linux-image-*.deb 2>/dev/null | head -n1) || true
		[ -n "$deb" ] || die "cannot resolve $META with apt-cache (run apt-get update) and no cached .deb in $OUT/debs"
		pkg=$(dpkg-deb -f "$deb" Package)
		ver=$(dpkg-deb -f "$deb" Version)
		note "apt-cache cannot resolve $META; using cached $pkg $ver"
	fi
fi

# ---- up to date? ----
stamp=$(
	{
		echo "pkg $pkg $ver compress $COMPRESS"
		cd "$GUEST_DIR" && find . -type f ! -name '*~' ! -name '.*.sw?' -print0 | sort -z | xargs -0 sha256sum
		sha256sum <"$BUSYBOX"
		"$CC" --version 2>/dev/null | head -n1
	} | sha256sum | cut -c1-64
)
if [ "${GUEST_FORCE:-}" != 1 ] && [ -f "$OUT/stamp" ] && [ "$(cat "$OUT/stamp")" = "$stamp" ] &&
	[ -s "$OUT/vmlinuz" ] && [ -s "$OUT/initrd.img" ] && [ -s "$OUT/kernel-version" ] && [ -s "$OUT/vsock-xfer" ]; then
	exit 0
fi

t0=$(date +%s.%N)
note "building guest: $pkg $ver"
rm -f "$OUT/stamp"

# ---- download (cached) ----
deb_ver=${ver//:/%3a}
deb="$OUT/debs/${pkg}_${deb_ver}_amd64.deb"
if [ ! -s "$deb" ]; then
	log=$(cd "$OUT/debs" && apt-get download "$pkg=$ver" 2>&1) || {
		echo "$log" >&2
		die "apt-get download $pkg=$ver failed"
	}
	[ -s "$deb" ] || deb=$(ls -t "$OUT"/debs/"${pkg}"_*.deb | head -n1)
fi
[ "$(dpkg-deb -f "$deb" Package)" = "$pkg" ] || die "$deb is not $pkg"

# ---- kernel stage: unpack, depmod, vmlinuz, vmlinux, config ----
# Redone only when the .deb or this script changes, so editing init or a
# check rebuilds just the initramfs.
KROOT="$OUT/kernel"
kstamp="$(basename "$deb") $(sha256sum <"${BASH_SOURCE[0]}" | cut -c1-16) $(command -v lz4 || true)"
if [ -f "$KROOT/.vmmtest-kstamp" ] && [ "$(cat "$KROOT/.vmmtest-kstamp")" = "$kstamp" ] &&
	[ -s "$OUT/kernel-version" ] && [ -s "$OUT/vmlinuz" ]; then
	kver=$(cat "$OUT/kernel-version")
	MODDIR="$KROOT/lib/modules/$kver"
else
	rm -rf "$KROOT"
	dpkg -x "$deb" "$KROOT"
	kver=$(ls "$KROOT/lib/modules" 2>/dev/null | head -n1)
	[ -n "$kver" ] || die "no lib/modules/<version> in $deb"
	MODDIR="$KROOT/lib/modules/$kver"
	vmlinuz="$KROOT/boot/vmlinuz-$kver"
	[ -f "$vmlinuz" ] || die "no boot/vmlinuz-$kver in $deb"
	# The debs ship no modules.dep.
	depmod -b "$KROOT" "$kver"

	# vmlinux (uncompressed ELF, has the PVH entry note) from the bzImage
	# payload, located by the setup header (setup_sects, payload_offset,
	# payload_length), like the kernel's scripts/extract-vmlinux.
	rm -f "$OUT/vmlinux.tmp"
	if command -v lz4 >/dev/null 2>&1; then
		u8() { od -An -tu1 -j "$2" -N1 "$1" | tr -d ' '; }
		u32() { od -An -tu4 -j "$2" -N4 "$1" | tr -d ' '; }
		setup_sects=$(u8 "$vmlinuz" $((0x1f1)))
		[ "$setup_sects" != 0 ] || setup_sects=4
		poff=$(u32 "$vmlinuz" $((0x248)))
		plen=$(u32 "$vmlinuz" $((0x24c)))
		start=$(((setup_sects + 1) * 512 + poff))
		# Only LZ4 (the legacy frame CONFIG_KERNEL_LZ4 makes) is handled.
		# The payload ends with the 4-byte uncompressed size, not LZ4 data.
		magic=$(od -An -tx1 -j "$start" -N4 "$vmlinuz" | tr -d ' ')
		if [ "$magic" = 02214c18 ]; then
			tail -c +$((start + 1)) "$vmlinuz" | head -c $((plen - 4)) | lz4 -dc >"$OUT/vmlinux.tmp" 2>/dev/null || true
			if [ "$(head -c4 "$OUT/vmlinux.tmp" 2>/dev/null | od -An -tx1 | tr -d ' ')" != 7f454c46 ]; then
				note "could not extract vmlinux (lz4 payload did not give an ELF); skipping"
				rm -f "$OUT/vmlinux.tmp"
			fi
		else
			note "bzImage payload is not LZ4 (magic $magic); no vmlinux"
		fi
	else
		note "lz4 not installed; no vmlinux (optional)"
	fi

	cp "$vmlinuz" "$OUT/vmlinuz.tmp"
	mv -f "$OUT/vmlinuz.tmp" "$OUT/vmlinuz"
	if [ -f "$OUT/vmlinux.tmp" ]; then mv -f "$OUT/vmlinux.tmp" "$OUT/vmlinux"; else rm -f "$OUT/vmlinux"; fi
	cp "$KROOT/boot/config-$kver" "$OUT/config"
	echo "$kver" >"$OUT/kernel-version"
	echo "$kstamp" >"$KROOT/.vmmtest-kstamp"
fi

# ---- module load order from modules.dep ----
wanted=$(sed -e 's/#.*//' -e 's/[[:space:]]//g' -e '/^$/d' "$GUEST_DIR/modules.list")
# Prints the .ko paths (relative to MODDIR) in load order, deps first.
modorder=$(
	awk -v wanted="$wanted" '
	function norm(p,   n) { n = p; sub(/.*\//, "", n); sub(/\.ko(\.[a-z0-9]+)?$/, "", n); gsub(/-/, "_", n); return n }
	function visit(p,   n, i, d) {
		if (p in done) return
		done[p] = 1
		n = split(deps[p], d, " ")
		for (i = 1; i <= n; i++) visit(d[i])
		print p
	}
	FILENAME ~ /modules\.builtin$/ { builtin[norm($0)] = 1; next }
	{
		p = $1; sub(/:$/, "", p)
		path[norm(p)] = p
		$1 = ""; deps[p] = $0
	}
	END {
		n = split(wanted, w, "\n")
		for (i = 1; i <= n; i++) {
			m = w[i]; gsub(/-/, "_", m)
			if (m in path) visit(path[m])
			else if (m in builtin) print "builtin " m > "/dev/stderr"
			else { print "missing " m > "/dev/stderr"; bad = 1 }
		}
		exit bad
	}' "$MODDIR/modules.builtin" "$MODDIR/modules.dep"
) || die "module(s) from guest/modules.list not found in $pkg"

# ---- initramfs tree ----
IR="$OUT/initramfs"
rm -rf "$IR"
mkdir -p "$IR"/{bin,sbin,usr/bin,usr/sbin,etc/vmmtest,proc,sys,dev,tmp,run,root,checks,mnt,lib/modules/"$kver"}
cp "$BUSYBOX" "$IR/bin/busybox"
# Applet links, made from the busybox we ship (relative, so they work in the guest).
"$BUSYBOX" --list-full | while read -r a; do
	case $a in
	bin/busybox | linuxrc | "") continue ;;
	bin/*) ln -sf busybox "$IR/$a" ;;
	sbin/*) ln -sf ../bin/busybox "$IR/$a" ;;
	usr/bin/* | usr/sbin/*) ln -sf ../../bin/busybox "$IR/$a" ;;
	esac
done
[ -e "$IR/bin/sh" ] || ln -sf busybox "$IR/bin/sh"

"$CC" -Os -static -nostdlib -ffreestanding -fno-stack-protector -fno-pie -no-pie \
	-fno-asynchronous-unwind-tables -Wall -Wextra -s -Wl,--build-id=none \
	-o "$IR/bin/vmmtest-io" "$GUEST_DIR/tools/vmmtest-io.c"
# vsock-xfer (AF_VSOCK transfers with checksums): static glibc; the same
# binary is the host's end too ($OUT/vsock-xfer).
"$CC" -O2 -static -Wall -Wextra -s -o "$IR/bin/vsock-xfer" "$GUEST_DIR/tools/vsock-xfer.c" ||
	die "cannot build guest/tools/vsock-xfer.c statically (needs libc6-dev's libc.a)"
cp "$IR/bin/vsock-xfer" "$OUT/vsock-xfer.tmp" && mv -f "$OUT/vsock-xfer.tmp" "$OUT/vsock-xfer"

install -m 0755 "$GUEST_DIR/init" "$IR/init"
install -m 0644 "$GUEST_DIR"/checks/*.sh "$IR/checks/"
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$IR/etc/passwd"
printf 'root:x:0:\ntty:x:5:\n' >"$IR/etc/group"
echo "$kver" >"$IR/etc/vmmtest/kernel-version"

: >"$IR/etc/vmmtest/modules"
for ko in $modorder; do
	mkdir -p "$IR/lib/modules/$kver/$(dirname "$ko")"
	cp "$MODDIR/$ko" "$IR/lib/modules/$kver/$ko"
	echo "/lib/modules/$kver/$ko" >>"$IR/etc/vmmtest/modules"
done
# modules.dep etc. for the shipped subset, so modprobe works in the shell.
cp "$MODDIR"/modules.{builtin,builtin.modinfo,order} "$IR/lib/modules/$kver/"
depmod -b "$IR" "$kver"

# ---- cpio ----
# The files, then a hand-made newc archive with /dev/console (the kernel
# unpacks concatenated archives), so init has a console even with a kernel
# whose built-in initramfs lacks it; mknod would need root.  `cpio -it`
# lists only the first archive.
newc() { # name mode rdevmajor rdevminor ino
	local namesize=$((${#1} + 1)) pad
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
		"$5" "$2" 0 0 1 0 0 0 0 "$3" "$4" "$namesize" 0 "$1"
	pad=$(((4 - (110 + namesize) % 4) % 4))
	head -c "$pad" /dev/zero
}
find "$IR" -exec touch -h -d @0 {} +
{
	(cd "$IR" && find . -mindepth 1 -printf '%P\n' | sort | cpio -o -H newc -R 0:0 --reproducible --quiet)
	newc dev $((0040755)) 0 0 1
	newc dev/console $((0020600)) 5 1 2
	newc 'TRAILER!!!' 0 0 0 3
} >"$OUT/initrd.cpio.tmp"
if [ "$COMPRESS" = gzip ]; then
	gzip -n -9 <"$OUT/initrd.cpio.tmp" >"$OUT/initrd.img.tmp"
	rm -f "$OUT/initrd.cpio.tmp"
else
	mv "$OUT/initrd.cpio.tmp" "$OUT/initrd.img.tmp"
fi

# ---- publish ----
mv -f "$OUT/initrd.img.tmp" "$OUT/initrd.img"
echo "$stamp" >"$OUT/stamp"
t1=$(date +%s.%N)
note "done in $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') s: $OUT/{vmlinuz,initrd.img$([ -f "$OUT/vmlinux" ] && echo ,vmlinux)} ($kver, initrd $(($(stat -c %s "$OUT/initrd.img") / 1024)) KiB)"
