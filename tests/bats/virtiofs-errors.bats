#!/usr/bin/env bats
# vhost-user-fs-pci when the back-end side is wrong: nothing at the socket
# path, a socket nobody accepts on, a back-end that hangs up during the
# handshake or while the device starts, guest RAM a back-end cannot share.
# Each is a clear error (one line for start-up errors) and never a crash or
# a hang; the ASan/UBSan build (the default VMM, helpers.bash) turns a
# memory error into status 98/99.
#
# VMM=qemu-system-x86_64 runs the same command lines against Debian's QEMU;
# where QEMU behaves differently by design the test skips and says how.

load helpers

bats_require_minimum_version 1.5.0

setup_file() {
	require_guest
}

setup() {
	VM_PID= VIRTIOFSD_PID= BG_PIDS=
}

teardown() {
	cleanup_vm
}

# start_test_backend SOCK ARGS...: vu-test-backend listening on SOCK, its
# log in $BATS_TEST_TMPDIR/be.log.
start_test_backend() {
	local sock=$1
	shift
	"$VU_BACKEND" --socket-path="$sock" --log="$BATS_TEST_TMPDIR/be.log" "$@" 3>&- &
	BG_PIDS+=" $!"
	await_socket "$sock" 10 "$!"
}

@test "no socket at the path: exit 1, one line naming the chardev, the path and the errno" {
	sock=$BATS_TEST_TMPDIR/nothing.sock
	fs_dev_args "$sock"
	start=$SECONDS
	boot_vm 512M "vmmtest.check=none" "${FS_ARGS[@]}"
	assert_status 1
	assert_stderr_line "char0" "$sock" "No such file or directory"
	vmm_is_qemu || [[ $stderr == "vmm: error: "* ]]
	((SECONDS - start < 10))
	[[ $output != *"VMMTEST"* ]]
}

@test "a socket that listens but never accepts: the reply timeout fires, bounded (< 30 s)" {
	skip_on_qemu "waits for the reply forever (no vhost-user reply timeout)"
	sock=$BATS_TEST_TMPDIR/deaf.sock
	# bind() + listen(), never accept(): connect() succeeds (the kernel
	# queues it), the request is written, no answer ever comes.
	perl -MSocket -e 'socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!";
		bind($s, pack_sockaddr_un($ARGV[0])) or die "bind: $!";
		listen($s, 1) or die "listen: $!"; sleep 1000 while 1' "$sock" 3>&- &
	BG_PIDS=$!
	await_socket "$sock" 10 "$BG_PIDS"
	fs_dev_args "$sock"
	start=$EPOCHREALTIME
	boot_vm 512M "vmmtest.check=none" "${FS_ARGS[@]}"
	elapsed=$(awk -v a="$start" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }')
	echo "# the VMM gave up after $elapsed s" >&3
	assert_status 1
	assert_stderr_line "vmm: error: " "char0" "GET_FEATURES"
	[[ $stderr == *"no reply"* || $stderr == *"timed out"* || $stderr == *"timeout"* ]]
	awk -v e="$elapsed" 'BEGIN { exit !(e < 30) }'
}

@test "a back-end that closes the connection during the handshake: exit 1, one line, no hang" {
	sock=$BATS_TEST_TMPDIR/be.sock
	start_test_backend "$sock" --fault=close@GET_PROTOCOL_FEATURES
	fs_dev_args "$sock"
	start=$SECONDS
	boot_vm 512M "vmmtest.check=none" "${FS_ARGS[@]}"
	assert_status 1
	((SECONDS - start < 30))
	grep -q "FAULT close at GET_PROTOCOL_FEATURES" "$BATS_TEST_TMPDIR/be.log"
	if ! vmm_is_qemu; then
		# QEMU prints several lines here ("Failed to read msg header",
		# "vhost_backend_init failed: Protocol error").
		assert_stderr_line "vmm: error: " "char0" "GET_PROTOCOL_FEATURES"
	fi
}

@test "a back-end that sends half a reply and closes: exit 1, one line" {
	sock=$BATS_TEST_TMPDIR/be.sock
	start_test_backend "$sock" --fault=short@GET_FEATURES
	fs_dev_args "$sock"
	boot_vm 512M "vmmtest.check=none" "${FS_ARGS[@]}"
	assert_status 1
	vmm_is_qemu || assert_stderr_line "vmm: error: " "char0" "GET_FEATURES"
}

@test "a back-end that hangs up while the device starts: the guest runs on, exit 0 at poweroff" {
	# The first ring the guest's driver start sends down; the handshake
	# before it went well, so the VM is already running.
	sock=$BATS_TEST_TMPDIR/be.sock
	start_test_backend "$sock" --fault=close@SET_VRING_KICK
	fs_dev_args "$sock"
	boot_vm 512M "vmmtest.check=virtiofs-probe" "${FS_ARGS[@]}"
	assert_status 0
	assert_booted
	grep -q "FAULT close at SET_VRING_KICK" "$BATS_TEST_TMPDIR/be.log"
	vmm_is_qemu || [[ $stderr == *"char0"* || $stderr == *"vhost-user"* ]]
}

@test "guest RAM a back-end cannot share (memory-backend-file share=off): refused, the hint names share=on" {
	skip_on_qemu "accepts it: the back-end maps the file, not the guest's private copy"
	sock=$BATS_TEST_TMPDIR/be.sock
	start_test_backend "$sock"
	fs_dev_args "$sock"
	run --separate-stderr timeout 60 "$VMM" "${MACHINE_ARGS[@]}" -m 512M \
		-object memory-backend-file,id=mem,size=512M,mem-path=/dev/shm,share=off -numa node,memdev=mem \
		-kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 quiet panic=-1 vmmtest.check=none" \
		"${FS_ARGS[@]}" </dev/null
	assert_status 1
	assert_stderr_line "vmm: error: " "share=on"
	[[ $output != *VMMTEST* ]]
}

@test "memory-backend-memfd share=off with a vhost-user device: refused, the hint names share=on" {
	skip_on_qemu "accepts it: the back-end maps the memfd, not the guest's private copy"
	sock=$BATS_TEST_TMPDIR/be.sock
	start_test_backend "$sock"
	fs_dev_args "$sock"
	run --separate-stderr timeout 60 "$VMM" "${MACHINE_ARGS[@]}" -m 512M \
		-object memory-backend-memfd,id=mem,size=512M,share=off -numa node,memdev=mem \
		-kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 quiet panic=-1 vmmtest.check=none" \
		"${FS_ARGS[@]}" </dev/null
	assert_status 1
	assert_stderr_line "vmm: error: " "share=on"
}
