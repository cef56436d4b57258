#!/bin/bash
# make demo: boot the test guest in our VMM. On a terminal the guest gives a
# shell on the serial console (C-a x quits, or type poweroff); otherwise it
# runs its boot check and exits with the VMM's status. Runs in the lab when
# this host cannot boot guests itself (tests/lab/detect).
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

if [[ -z ${LAB_INSIDE:-} && ${1:-} != --inside ]]; then
	exec tests/lab/maybe-run -- "$top/guest/demo.sh" --inside
fi

vmm=$top/build/vmm
guest=$top/build/guest
for f in "$vmm" "$guest/vmlinuz" "$guest/initrd.img"; do
	[[ -e $f ]] || { echo "demo: $f is missing: run 'make demo' (it builds everything)" >&2; exit 1; }
done

# The uncompressed vmlinux boots faster (PVH entry, no decompressor).
kernel=$guest/vmlinuz
[[ -r $guest/vmlinux ]] && kernel=$guest/vmlinux

if [[ -t 0 && -t 1 ]]; then
	echo "demo: booting the test guest to a shell; C-a x or 'poweroff' ends it" >&2
	params="vmmtest.shell=1"
else
	params="vmmtest.check=cpus,mem vmmtest.expect_cpus=2"
fi
set -x
exec "$vmm" -m 512M -smp 2 -kernel "$kernel" -initrd "$guest/initrd.img" \
	-append "console=ttyS0 quiet panic=-1 $params"
