#!/usr/bin/env bats
# -device vhost-vsock-pci,guest-cid=N over the host kernel's /dev/vhost-vsock
# (devices/vhost_vsock.c, vhost/vhost_kernel.c): the guest and this host
# (L1 in the lab, CID 2) move 16 MiB each way over AF_VSOCK with vsock-xfer
# (guest/tools/vsock-xfer.c: the guest's /bin/vsock-xfer, and the same
# static binary here, build/guest/vsock-xfer) and both ends' checksums
# match; and what is refused, each with one line on stderr and exit status
# 1, never a hang: reserved CIDs, a CID another running VM holds, a vhostfd=
# that is no vhost device, no /dev/vhost-vsock at all. Needs the vhost_vsock
# module (the lab's L1 loads it: tests/lab/build, MODULES). Two guest boots.
#
# VMM=qemu-system-x86_64 runs the data test against Debian's QEMU; the
# tests of our own error messages skip there.

load helpers

bats_require_minimum_version 1.5.0

XFER=${VSOCK_XFER:-$GUEST/vsock-xfer}
DEV=/dev/vhost-vsock
SIZE=$((16 << 20))

setup_file() {
	require_guest
	[[ -x $XFER ]] || {
		echo "$XFER missing: run guest/build.sh (make guest)" >&2
		return 1
	}
	[[ -c $DEV ]] || {
		echo "no $DEV: load vhost_vsock (the lab does; tests/lab/build MODULES)" >&2
		return 1
	}
}

setup() {
	VM_PID= VIRTIOFSD_PID= BG_PIDS=
	T=$BATS_TEST_TMPDIR
	# A guest CID of this test's own (3 and up; the kernel refuses a CID
	# that another VM on the host holds): from the bats process and the
	# test number, so that reruns and other files do not collide.
	CID=$((100000 + ($$ % 100000) * 100 + BATS_TEST_NUMBER))
	PORT=$((20000 + BATS_TEST_NUMBER * 10))
}

teardown() {
	cleanup_vm
}

# vsock_dev_args [CID]: the device, with CID (default $CID). Sets VS_ARGS.
vsock_dev_args() {
	VS_ARGS=(-device "vhost-vsock-pci,guest-cid=${1:-$CID}")
}

# host_recv PORT NAME: vsock-xfer recv PORT in the background, output in
# $T/NAME.out and .err, listening when this returns; sets RECV_PID.
host_recv() {
	"$XFER" recv "$1" --timeout 120 >"$T/$2.out" 2>"$T/$2.err" 3>&- &
	RECV_PID=$!
	BG_PIDS+=" $RECV_PID"
	await_line "$T/$2.out" "^vsock-xfer: listening port=$1 " 10 "$RECV_PID" || { cat "$T/$2.err" >&2; return 1; }
}

# xfer_value KEY LINE: the value of KEY=... in a vsock-xfer line.
xfer_value() {
	sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$2" | tr -d '\r'
}

@test "vhost-vsock: 16 MiB guest -> host and host -> guest over /dev/vhost-vsock, checksums match on both ends" {
	host_recv "$PORT" up
	vsock_dev_args
	start_vm "$T/vm.out" "$T/vm.err" 512M \
		"vmmtest.check=vsock vmmtest.vsock=send:2:$PORT:$SIZE,recv:$((PORT + 1))" "${VS_ARGS[@]}"

	# guest -> host: the guest connects to CID 2 and sends
	await_exit "$RECV_PID" 150 || { tail -20 "$T/vm.out" "$T/vm.err" >&2; return 1; }
	[[ $exit_status -eq 0 ]] || { echo "host receiver exited $exit_status: $(cat "$T/up.err")" >&2; return 1; }
	up_recv=$(grep '^vsock-xfer: recv ' "$T/up.out")
	[[ $(xfer_value bytes "$up_recv") -eq $SIZE ]] || { echo "host received: $up_recv" >&2; return 1; }
	[[ $(xfer_value peer_cid "$up_recv") -eq $CID ]] || { echo "from: $up_recv" >&2; return 1; }
	await_line "$T/vm.out" "VMMTEST: vsock-xfer: send " 30 "$VM_PID"
	up_send=$(grep -a 'VMMTEST: vsock-xfer: send ' "$T/vm.out" | tr -d '\r')
	[[ $(xfer_value fnv64 "$up_send") == "$(xfer_value fnv64 "$up_recv")" ]] || {
		echo "checksums differ: guest $up_send, host $up_recv" >&2
		return 1
	}
	[[ $up_send == *" peer=match" ]]

	# host -> guest: the guest listens, we connect to its CID
	await_line "$T/vm.out" "VMMTEST: vsock-xfer: listening port=$((PORT + 1)) local_cid=$CID" 30 "$VM_PID"
	run --separate-stderr timeout 120 "$XFER" send "$CID" $((PORT + 1)) "$SIZE" --timeout 60
	assert_status 0
	down_send=$output
	[[ $down_send == *" bytes=$SIZE "*" peer=match" ]] || { echo "sent: $down_send; $stderr" >&2; return 1; }
	await_exit "$VM_PID" 60
	output=$(tr -d '\r' <"$T/vm.out")
	status=$exit_status
	assert_status 0
	assert_booted
	assert_out "VMMTEST: vsock cid=$CID"
	down_recv=$(grep 'VMMTEST: vsock-xfer: recv ' <<<"$output")
	[[ $(xfer_value bytes "$down_recv") -eq $SIZE && $(xfer_value peer_cid "$down_recv") -eq 2 ]] || {
		echo "guest received: $down_recv" >&2
		return 1
	}
	[[ $(xfer_value fnv64 "$down_recv") == "$(xfer_value fnv64 "$down_send")" ]]
	# the same pattern both ways: all four checksums agree
	[[ $(xfer_value fnv64 "$down_send") == "$(xfer_value fnv64 "$up_send")" ]]
	assert_result vsock
	echo "# up: $(xfer_value mibs "$up_recv") MiB/s, down: $(xfer_value mibs "$down_send") MiB/s (lab figures)" >&3
}

@test "vhost-vsock-pci: guest-cid=2, guest-cid=0 and no guest-cid are refused (one line, exit 1, no guest)" {
	skip_on_qemu "its messages differ"
	vm_args 512M "vmmtest.check=none"
	for cid in 2 0; do
		run --separate-stderr timeout 60 "$VMM" "${VM_ARGS[@]}" -device "vhost-vsock-pci,guest-cid=$cid" </dev/null
		assert_status 1
		assert_stderr_line "-device vhost-vsock-pci: guest-cid must be 3..4294967294, got '$cid'"
		[[ $output != *"VMMTEST: boot-complete"* ]]
	done
	run --separate-stderr timeout 60 "$VMM" "${VM_ARGS[@]}" -device vhost-vsock-pci </dev/null
	assert_status 1
	assert_stderr_line "-device vhost-vsock-pci: guest-cid=N is required"
}

@test "vhost-vsock-pci: a guest-cid another running VM holds: exit 1 naming the cid; the first VM runs on" {
	skip_on_qemu "its messages differ"
	vsock_dev_args
	start_vm "$T/vm.out" "$T/vm.err" 512M "vmmtest.check=vsock vmmtest.vsock=recv:$PORT" "${VS_ARGS[@]}"
	await_line "$T/vm.out" "VMMTEST: vsock-xfer: listening port=$PORT local_cid=$CID" "$VM_TIMEOUT" "$VM_PID"

	# the second VM with the same CID: refused when it claims the CID, before
	# its guest runs
	vm_args 512M "vmmtest.check=none"
	run --separate-stderr timeout 60 "$VMM" "${VM_ARGS[@]}" "${VS_ARGS[@]}" </dev/null
	assert_status 1
	assert_stderr_line "-device vhost-vsock-pci: guest-cid=$CID is in use by another VM on this host"
	[[ $output != *"VMMTEST: boot-complete"* ]]

	# a port nobody listens on in the first guest: its kernel resets us
	run --separate-stderr timeout 60 "$XFER" send "$CID" $((PORT + 5)) 1 --timeout 30
	assert_status 1
	[[ $stderr == "vsock-xfer: connect to cid $CID port $((PORT + 5)): Connection reset by peer" ]] || {
		echo "stderr: $stderr" >&2
		return 1
	}

	# the first VM is unharmed: it takes its MiB and powers off
	run --separate-stderr timeout 60 "$XFER" send "$CID" "$PORT" $((1 << 20)) --timeout 30
	assert_status 0
	[[ $output == *" peer=match" ]]
	await_exit "$VM_PID" 60
	output=$(tr -d '\r' <"$T/vm.out")
	status=$exit_status
	assert_status 0
	assert_out "VMMTEST: vsock-xfer: recv bytes=$((1 << 20)) "
	assert_result vsock
}

@test "vhost-vsock-pci: vhostfd= of a file that is no vhost device (/dev/null): exit 1, one line" {
	skip_on_qemu "its messages differ"
	vm_args 512M "vmmtest.check=none"
	run --separate-stderr timeout 60 "$VMM" "${VM_ARGS[@]}" -device "vhost-vsock-pci,guest-cid=$CID,vhostfd=3" \
		</dev/null 3</dev/null
	assert_status 1
	assert_stderr_line "-device vhost-vsock-pci (vhostfd=3): " "VHOST_SET_OWNER: Inappropriate ioctl for device" \
		"not a vhost device"
	# an fd that is not open at all
	run --separate-stderr timeout 60 "$VMM" "${VM_ARGS[@]}" -device "vhost-vsock-pci,guest-cid=$CID,vhostfd=77" \
		</dev/null 77<&-
	assert_status 1
	assert_stderr_line "-device vhost-vsock-pci: " "fd 77: Bad file descriptor"
}

@test "vhost-vsock-pci: no /dev/vhost-vsock (vhost_vsock not loaded): exit 1, one line naming the node and the module" {
	skip_on_qemu "its messages differ"
	command -v unshare >/dev/null || skip "no unshare(1)"
	vm_args 512M "vmmtest.check=none"
	# A mount namespace whose /dev is a tmpfs with just kvm, null, zero and
	# urandom bound into it: what a host without the module looks like.
	run --separate-stderr timeout 60 unshare -m bash -c '
		set -e
		d=$(mktemp -d)
		for n in kvm null zero urandom; do touch "$d/$n"; mount --bind "/dev/$n" "$d/$n"; done
		mount -t tmpfs -o mode=0755 nodev /dev
		for n in kvm null zero urandom; do touch "/dev/$n"; mount --bind "$d/$n" "/dev/$n"; done
		[ ! -e /dev/vhost-vsock ]
		exec "$@"' vmm "$VMM" "${VM_ARGS[@]}" -device "vhost-vsock-pci,guest-cid=$CID" </dev/null
	assert_status 1
	assert_stderr_line "-device vhost-vsock-pci: " "$DEV: No such file or directory" "vhost_vsock"
	[[ $output != *"VMMTEST: boot-complete"* ]]
}
