#!/usr/bin/env bats
# Where the guests run: inside the lab (tests/run.sh runs this file through
# tests/lab/maybe-run) or on a host that runs KVM guests natively. Checks the
# devices the VMM needs and that Debian's QEMU boots the test guest with KVM.

load helpers

@test "the lab (when inside it) has kvm-amd, /dev/kvm, /dev/vhost-net, /dev/net/tun" {
	[[ ${LAB_INSIDE:-} == 1 ]] || skip "not inside the lab"
	[[ -c /dev/kvm && -c /dev/vhost-net && -c /dev/net/tun ]]
	grep -qw kvm_amd /proc/modules
	grep -qw svm /proc/cpuinfo
	# tests/lab/detect run inside says the guests can run here.
	[[ $("$TOP/tests/lab/detect") == native ]]
	[[ $(env -u LAB_INSIDE "$TOP/tests/lab/detect") == native ]]
	# The L1 kernel's modules are there for modprobe.
	modprobe -n veth
	# /tmp is a tmpfs of the lab's own (Unix sockets work there).
	[[ $(stat -f -c %T /tmp) == tmpfs ]]
}

@test "Debian's QEMU boots the test guest with -accel kvm to its init marker" {
	require_guest
	run timeout --kill-after=10 "$BOOT_TIMEOUT" qemu-system-x86_64 \
		-accel kvm -cpu host -M q35 -m 512M -smp 1 -nographic -no-reboot \
		-kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 panic=-1 quiet vmmtest.check=none" </dev/null
	assert_status 0
	assert_booted
	assert_result none
}
