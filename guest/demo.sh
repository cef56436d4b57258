#!/bin/bash
# make demo: boot the test guest in our VMM with a host folder shared over
# virtio-fs: virtiofsd (/usr/lib/qemu/virtiofsd) serves build/demo/shared/
# (a README in it) and the VMM gives the guest a vhost-user-fs-pci device
# with the tag "demo". On a terminal the guest mounts it at /mnt and gives a
# shell on the serial console (C-a x quits, so do exit and poweroff -f; a
# plain poweroff only signals PID 1, which /init ignores); otherwise it
# runs its boot checks and the virtiofs check against the folder and exits
# with the VMM's status. Runs in the lab when this host cannot boot guests
# itself (tests/lab/detect).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

if [[ -z ${LAB_INSIDE:-} && ${1:-} != --inside ]]; then
	exec tests/lab/maybe-run -- "$top/guest/demo.sh" --inside
fi

vmm=$top/build/vmm
guest=$top/build/guest
virtiofsd=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
for f in "$vmm" "$guest/vmlinuz" "$guest/initrd.img"; do
	[[ -e $f ]] || { echo "demo: $f is missing: run 'make demo' (it builds everything)" >&2; exit 1; }
done
[[ -x $virtiofsd ]] || { echo "demo: $virtiofsd is missing: run 'make deps' (qemu-system-common)" >&2; exit 1; }

# The uncompressed vmlinux boots faster (PVH entry, no decompressor).
kernel=$guest/vmlinuz
[[ -r $guest/vmlinux ]] && kernel=$guest/vmlinux

# The shared folder, with something to read in it.
shared=$top/build/demo/shared
mkdir -p "$shared"
cat >"$shared/README" <<'EOF'
This folder is build/demo/shared/ on the host, shared with the guest over
virtio-fs: virtiofsd serves it on a vhost-user socket and the VMM plays the
front-end (-device vhost-user-fs-pci,chardev=char0,tag=demo). The guest sees
it at /mnt (mount -t virtiofs demo /mnt). What you write here, the host sees.
EOF
echo "hello from the host" >"$shared/hello.txt"
rm -f "$shared/from-guest.txt"

# The socket lives outside the checkout: in the lab the checkout is a 9p
# mount, which cannot hold one.
run=$(mktemp -d "${TMPDIR:-/tmp}/vmm-demo.XXXXXX")
sock=$run/virtiofsd.sock
fsd_pid=
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	local i
	if [[ -n $fsd_pid ]]; then
		# virtiofsd exits by itself once the VMM has closed the connection.
		for ((i = 0; i < 50; i++)); do
			kill -0 "$fsd_pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -TERM -- "-$fsd_pid" 2>/dev/null || true
		wait "$fsd_pid" 2>/dev/null || true
	fi
	rm -rf "$run"
}
trap cleanup EXIT

echo "demo: sharing $shared with the guest (virtiofsd log: $run/virtiofsd.log)" >&2
# A process group of its own (virtiofsd forks into a sandbox), so that
# cleanup stops all of it.
setsid "$virtiofsd" --socket-path="$sock" -o source="$shared" -o cache=auto \
	</dev/null >"$run/virtiofsd.log" 2>&1 &
fsd_pid=$!
for ((i = 0; i < 200; i++)); do
	[[ -S $sock ]] && break
	kill -0 "$fsd_pid" 2>/dev/null || break
	sleep 0.05
done
[[ -S $sock ]] || { echo "demo: virtiofsd did not start:" >&2; cat "$run/virtiofsd.log" >&2; exit 1; }

if [[ -t 0 && -t 1 ]]; then
	echo "demo: booting the test guest to a shell with $shared at /mnt (try: cat /mnt/README);" \
		"C-a x, 'exit' or 'poweroff -f' ends it" >&2
	params="vmmtest.check=virtiofs-mount vmmtest.fs_tag=demo vmmtest.shell=1"
else
	params="vmmtest.check=cpus,mem,virtiofs vmmtest.expect_cpus=2 vmmtest.fs_tag=demo"
	params+=" vmmtest.fs_hello=\"hello from the host\""
fi
# shellcheck disable=SC2054  # commas inside QEMU-style option values
cmd=("$vmm" -m 512M -smp 2
	-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem
	-chardev "socket,id=char0,path=$sock" -device vhost-user-fs-pci,chardev=char0,tag=demo
	-kernel "$kernel" -initrd "$guest/initrd.img"
	-append "console=ttyS0 quiet panic=-1 $params")
# The command line, copy-pasteable: quotes only where the shell needs them.
line=+
for a in "${cmd[@]}"; do
	if [[ $a =~ ^[A-Za-z0-9_./,=:+-]+$ ]]; then line+=" $a"; else line+=" '${a//\'/\'\\\'\'}'"; fi
done
echo "$line"
status=0
"${cmd[@]}" || status=$?
if [[ ! -t 0 || ! -t 1 ]] && [[ -s $shared/from-guest.txt ]]; then
	echo "demo: the guest wrote $shared/from-guest.txt: $(cat "$shared/from-guest.txt")" >&2
fi
exit $status
