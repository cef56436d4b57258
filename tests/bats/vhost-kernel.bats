#!/usr/bin/env bats
# The kernel vhost back-end (vhost/vhost_kernel.c) against the real
# /dev/vhost-vsock, with no guest: vhost-kernel-probe runs the vhost_dev
# life cycle through vhost_kernel_backend_ops (a memfd as guest RAM, rings
# inside it, kick/call eventfds, one connection request the kernel answers
# with a reset) and, with --errors, what the kernel refuses. Needs the
# vhost_vsock module: the lab's L1 loads it (tests/lab/build, MODULES).

load helpers
bats_require_minimum_version 1.5.0 # run --separate-stderr

TOOLS=${TOOLS:-$TOP/build/tests/tools}
PROBE=$TOOLS/vhost-kernel-probe
DEV=/dev/vhost-vsock

setup() {
	[[ -x $PROBE ]] || {
		echo "$PROBE missing: run make unit" >&2
		return 1
	}
	[[ -c $DEV ]] || {
		echo "no $DEV: load vhost_vsock (the lab does; tests/lab/build MODULES)" >&2
		return 1
	}
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=99}
}

# The ioctl names of the trace, in order, one line each.
ioctls() {
	sed -n 's/^vhost-kernel vsock0 [-<][->] \(VHOST_[A-Z_]*\) .*/\1/p' <<<"$output"
}

@test "vhost-kernel life cycle: QEMU's ioctl order, decoded trace, the kernel moves a packet" {
	run --separate-stderr timeout 60 "$PROBE" -v "$DEV"
	assert_status 0
	[[ -z $stderr ]] || { echo "stderr: $stderr" >&2; return 1; }
	[[ ${output##*$'\n'} == "vhost-kernel-probe: ok" ]]
	[[ $output != *FAILED* ]]

	expected="VHOST_SET_OWNER
VHOST_GET_FEATURES
VHOST_VSOCK_SET_GUEST_CID
VHOST_SET_FEATURES
VHOST_SET_MEM_TABLE
VHOST_SET_VRING_NUM
VHOST_SET_VRING_BASE
VHOST_SET_VRING_ADDR
VHOST_SET_VRING_CALL
VHOST_SET_VRING_KICK
VHOST_SET_VRING_NUM
VHOST_SET_VRING_BASE
VHOST_SET_VRING_ADDR
VHOST_SET_VRING_CALL
VHOST_SET_VRING_KICK
VHOST_VSOCK_SET_RUNNING
VHOST_VSOCK_SET_RUNNING
VHOST_GET_VRING_BASE
VHOST_GET_VRING_BASE"
	[[ $(ioctls) == "$expected" ]] || {
		echo "ioctl order:" >&2
		ioctls >&2
		return 1
	}

	assert_out "vhost-kernel vsock0: opened $DEV (fd "
	[[ $output =~ "vhost-kernel vsock0 -> VHOST_SET_OWNER ("[0-9]+" us)" ]]
	# vhost-vsock offers VERSION_1 and, between us and the kernel, LOG_ALL
	# and ACCESS_PLATFORM
	features=$(grep '^vhost-kernel vsock0 <- VHOST_GET_FEATURES ' <<<"$output")
	[[ $features =~ ^"vhost-kernel vsock0 <- VHOST_GET_FEATURES features=0x"[0-9a-f]+" [".*"] ("[0-9]+" us)"$ &&
		$features == *" LOG_ALL "* && $features == *" VERSION_1 ACCESS_PLATFORM"* ]] || {
		echo "GET_FEATURES: $features" >&2
		return 1
	}
	assert_out "vhost-kernel vsock0 -> VHOST_VSOCK_SET_GUEST_CID cid=3 ("
	# the probe acks everything offered: ACCESS_PLATFORM is offered to the
	# guest but never reaches the kernel (no vIOMMU), LOG_ALL is not offered
	features=$(grep '^vhost-kernel vsock0 -> VHOST_SET_FEATURES ' <<<"$output")
	[[ $features == *VERSION_1* && $features != *ACCESS_PLATFORM* && $features != *LOG_ALL* ]] || {
		echo "SET_FEATURES: $features" >&2
		return 1
	}
	assert_out "features offered to the guest "
	[[ $(grep 'features offered to the guest' <<<"$output") == *ACCESS_PLATFORM* ]]
	# memory: one region, our address for it; the kernel's slot limit
	assert_out "vhost-kernel vsock0 -> VHOST_SET_MEM_TABLE nregions=1 ("
	[[ $output =~ $'\n'"      region 0: gpa=0x0 size=0x4000000 (64 MiB) uaddr=0x"[0-9a-f]+$'\n' ]]
	assert_out "memory slots $(cat /sys/module/vhost/parameters/max_mem_regions)"
	# rings with the vhost_dev's local indices, user addresses, eventfds
	for q in 0 1; do
		assert_out "-> VHOST_SET_VRING_NUM index=$q num=128 ("
		assert_out "-> VHOST_SET_VRING_BASE index=$q base=0 ("
		[[ $output =~ "-> VHOST_SET_VRING_ADDR index=$q desc=0x"[0-9a-f]+" avail=0x"[0-9a-f]+" used=0x"[0-9a-f]+" (" ]]
		[[ $output =~ "-> VHOST_SET_VRING_CALL index=$q fd="[0-9]+" (" ]]
		[[ $output =~ "-> VHOST_SET_VRING_KICK index=$q fd="[0-9]+" (" ]]
		# one buffer each way: both rings stop at 1
		assert_out "vhost-kernel vsock0 <- VHOST_GET_VRING_BASE index=$q base=1 ("
		assert_out "vhost-kernel-probe: queue $q stopped at 1"
	done
	assert_out "-> VHOST_VSOCK_SET_RUNNING running=1 ("
	assert_out "-> VHOST_VSOCK_SET_RUNNING running=0 ("
	assert_out "vhost-kernel-probe: RX: op=3 src=2:1234567 dst=3:16384"
	assert_out "vhost-kernel-probe: traffic: the guest's connection request to host port 1234567 was taken from the TX ring and answered with a reset on the RX ring"
	assert_out "vhost-kernel vsock0: closed fd "
}

@test "vhost-kernel: no trace without -v; another guest CID" {
	run --separate-stderr timeout 60 "$PROBE" --cid=4242 "$DEV"
	assert_status 0
	[[ $output != *"vhost-kernel vsock0"* ]]
	assert_out "started 2 queues, guest cid 4242"
	assert_out "RX: op=3 src=2:1234567 dst=4242:16384"
	[[ ${output##*$'\n'} == "vhost-kernel-probe: ok" ]]
}

@test "vhost-kernel errors: what the kernel refuses, with its errno, in one line each" {
	run --separate-stderr timeout 60 "$PROBE" --errors -v "$DEV"
	assert_status 0
	[[ $output != *UNEXPECTED* ]]
	[[ ${output##*$'\n'} == "vhost-kernel-probe: ok" ]]
	[[ $output =~ "ok missing device: ENOENT: vhost-kernel vsock0: /tmp/vhost-kernel-probe."[A-Za-z0-9]+"/vhost-vsock: No such file or directory (is the vhost_vsock module loaded?)" ]]
	assert_out "ok no access: EACCES: vhost-kernel vsock0: $DEV: Permission denied (the VMM needs read-write access to it: check its owner, group and mode)"
	# reserved CIDs and CIDs beyond 32 bits: EINVAL
	for cid in 0 1 2 4294967295 4294967296; do
		assert_out "ok guest cid $cid: EINVAL: vhost-kernel vsock0: VHOST_VSOCK_SET_GUEST_CID cid=$cid: Invalid argument (EINVAL: CIDs 0, 1, 2 and 0xffffffff are reserved and a CID has 32 bits)"
	done
	[[ $output =~ "vhost-kernel vsock0 -> VHOST_VSOCK_SET_GUEST_CID cid=0 ("[0-9]+" us) FAILED: EINVAL (Invalid argument)" ]]
	assert_out "ok guest cid 3: accepted"
	assert_out "ok guest cid of another fd: EADDRINUSE: vhost-kernel vsock1: VHOST_VSOCK_SET_GUEST_CID cid=3: Address already in use (EADDRINUSE: another VM on this host has this CID"
	assert_out "ok second SET_OWNER: EBUSY: vhost-kernel vsock0: VHOST_SET_OWNER: Device or resource busy (EBUSY: the fd has an owner already: a new vhost_dev needs a new fd)"
	# why vhost_kernel_backend_ops has no reset_device
	assert_out "ok VHOST_RESET_OWNER as QEMU sent it (no argument): EFAULT"
	assert_out "ok VHOST_RESET_OWNER with an argument: ENOTTY"
	# the fd has rings 0 and 1 only; the failed start took both back
	assert_out "ok ring 2: ENOBUFS: vhost-kernel vsock2: VHOST_SET_VRING_NUM index=2 num=128: No buffer space available (ENOBUFS: the device has no ring with that index)"
	assert_out "vhost-kernel vsock2 <- VHOST_GET_VRING_BASE index=1 base=0 ("
	assert_out "ok ioctl from another process: EPERM: vhost-kernel vsock0: VHOST_GET_VRING_BASE index=0: Operation not permitted (EPERM: not the owner"
	assert_out "ok guest cid once the first fd is closed: accepted"
}

@test "vhost-kernel: a missing device node is one line on stderr naming the module" {
	run --separate-stderr timeout 60 "$PROBE" "$BATS_TEST_TMPDIR/vhost-vsock"
	assert_status 1
	assert_stderr_line "vhost-kernel-probe: vhost-kernel vsock0: $BATS_TEST_TMPDIR/vhost-vsock: No such file or directory (is the vhost_vsock module loaded?)"
	[[ -z $output ]]
}
