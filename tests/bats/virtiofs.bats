#!/usr/bin/env bats
# vhost-user-fs-pci with the real virtiofsd (/usr/lib/qemu/virtiofsd, QEMU
# 7.2's C daemon): the guest mounts the tag and moves data both ways
# (guest/checks/virtiofs*.sh), multiple vCPUs, the chardev's server mode,
# the command line from virtiofsd's own documentation, a clean shutdown of
# both sides, a device reset, a back-end killed under the guest's feet, and
# the -trace vhost-user protocol trace.
#
# VMM=qemu-system-x86_64 runs the same command lines against Debian's QEMU
# (q35), to check the tests themselves; tests of what only our VMM promises
# skip there, saying what QEMU does instead.

load helpers

bats_require_minimum_version 1.5.0

setup_file() {
	require_guest
	require_virtiofsd
}

setup() {
	SHARE=$BATS_TEST_TMPDIR/share
	mkdir -p "$SHARE"
	HELLO=hello-$RANDOM-$RANDOM
	echo "$HELLO" >"$SHARE/hello.txt"
	VM_PID= VIRTIOFSD_PID= BG_PIDS=
}

teardown() {
	cleanup_vm
}

# assert_virtiofsd_exits_0 [SECS]: virtiofsd serves one connection and exits
# (status 0) once the front-end has closed it.
assert_virtiofsd_exits_0() {
	await_exit "$VIRTIOFSD_PID" "${1:-15}" || { cat "$BATS_TEST_TMPDIR/virtiofsd.log" >&2; return 1; }
	[[ $exit_status -eq 0 ]] || {
		echo "virtiofsd exited with $exit_status; its log:" >&2
		cat "$BATS_TEST_TMPDIR/virtiofsd.log" >&2
		return 1
	}
	VIRTIOFSD_PID=
}

@test "virtiofs: mount, read a host file, write one back, 64 MiB both ways, a 1000-entry directory" {
	head -c 64M /dev/urandom >"$SHARE/in.bin"
	(cd "$SHARE" && sha256sum in.bin >in.sha256)
	mkdir "$SHARE/dir1000"
	(cd "$SHARE/dir1000" && touch $(seq -f 'f%04g' 1 1000))
	start_virtiofsd "$SHARE"
	fs_dev_args "$FS_SOCK"
	boot_vm 512M "vmmtest.check=virtiofs vmmtest.fs_tag=myfs vmmtest.fs_hello=$HELLO vmmtest.fs_out_mb=64" \
		"${FS_ARGS[@]}"
	assert_status 0
	assert_booted
	# One line per step (guest/checks/virtiofs.sh).
	assert_out "VMMTEST: fs mounted tag=myfs"
	assert_out "VMMTEST: fs read hello=$HELLO"
	assert_out "VMMTEST: fs wrote from-guest.txt"
	assert_out "VMMTEST: fs in.bin sha256 ok"
	assert_out "VMMTEST: fs wrote out.bin 64MiB"
	assert_out "VMMTEST: fs dir1000 entries=1000"
	assert_result virtiofs
	# What the guest wrote, read on the host.
	[[ $(cat "$SHARE/from-guest.txt") == "written by the guest" ]]
	[[ $(stat -c %s "$SHARE/out.bin") -eq $((64 << 20)) ]]
	[[ $(sha256sum <"$SHARE/out.bin" | cut -d' ' -f1) == "$(cat "$SHARE/out.sha256")" ]]
	assert_virtiofsd_exits_0
}

@test "guest poweroff: the VMM exits 0, then virtiofsd exits 0 within 15 s" {
	start_virtiofsd "$SHARE"
	fs_dev_args "$FS_SOCK"
	start_vm "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err" 512M \
		"vmmtest.check=virtiofs vmmtest.fs_hello=$HELLO" "${FS_ARGS[@]}"
	await_exit "$VM_PID" "$VM_TIMEOUT"
	output=$(cat "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err")
	status=$exit_status
	assert_status 0
	assert_result virtiofs
	VM_PID=
	assert_virtiofsd_exits_0 15
	[[ $(cat "$BATS_TEST_TMPDIR/virtiofsd.log") != *"fv_panic"* ]]
}

@test "-smp 2, queue-size=512: the guest uses the device from two vCPUs" {
	start_virtiofsd "$SHARE"
	fs_dev_args "$FS_SOCK" "queue-size=512"
	boot_vm 512M "vmmtest.check=cpus,virtiofs-probe,virtiofs vmmtest.expect_cpus=2 vmmtest.fs_expect_queues=1 vmmtest.fs_hello=$HELLO vmmtest.fs_out_mb=8" \
		-smp 2 "${FS_ARGS[@]}"
	assert_status 0
	assert_result cpus
	assert_result virtiofs-probe
	assert_result virtiofs
	# virtio-fs is device 26: modern PCI ID 0x1040 + 26.
	[[ $output == *"VMMTEST: fs device=virtio"*" pci=1af4:105a"* ]]
	assert_out "VMMTEST: fs queues=1 hiprio=1"
	[[ $output =~ VMMTEST:\ fs\ msix_vectors=([0-9]+) ]] && ((BASH_REMATCH[1] >= 2))
	assert_virtiofsd_exits_0
}

@test "-smp 2, num-request-queues=2: 3 rings reach the back-end, the guest sees 2 request queues" {
	# virtiofsd 7.2 serves 2 queues only (libvhost-user panics on "Invalid
	# queue index: 2"), so the 3-queue device goes to the test back-end,
	# which serves the protocol but no requests: the guest probes, no mount.
	sock=$BATS_TEST_TMPDIR/be.sock
	"$VU_BACKEND" --socket-path="$sock" --queues=3 --log="$BATS_TEST_TMPDIR/be.log" 3>&- &
	BG_PIDS=$!
	await_socket "$sock" 10 "$BG_PIDS"
	fs_dev_args "$sock" "num-request-queues=2"
	boot_vm 512M "vmmtest.check=cpus,virtiofs-probe vmmtest.expect_cpus=2 vmmtest.fs_expect_queues=2" \
		-smp 2 "${FS_ARGS[@]}"
	assert_status 0
	assert_result cpus
	assert_result virtiofs-probe
	assert_out "VMMTEST: fs queues=2 hiprio=1"
	run cat "$BATS_TEST_TMPDIR/be.log"
	[[ $output == *"SET_VRING_KICK index=0 fd"* ]]
	[[ $output == *"SET_VRING_KICK index=1 fd"* ]]
	[[ $output == *"SET_VRING_KICK index=2 fd"* ]]
	[[ $output != *VIOLATION* ]]
	[[ $output == *EOF* ]]
}

@test "num-request-queues=2 against virtiofsd 7.2 (2 queues): refused at start-up in one line" {
	skip_on_qemu "starts anyway; virtiofsd panics ('Invalid queue index: 2') and the guest's mount hangs"
	start_virtiofsd "$SHARE"
	fs_dev_args "$FS_SOCK" "num-request-queues=2"
	boot_vm 512M "vmmtest.check=none" -smp 2 "${FS_ARGS[@]}"
	assert_status 1
	assert_stderr_line "vmm: error: " "char0" "2 queues" "num-request-queues=2"
}

@test "chardev server=on,wait=on: the VMM listens, a back-end connects (virtiofsd cannot: test back-end)" {
	# virtiofsd only listens (--socket-path) or accepts on an inherited
	# listening socket (--fd); it has no client mode. vu-test-backend
	# --connect plays the back-end that connects.
	sock=$BATS_TEST_TMPDIR/vmm.sock
	fs_dev_args "$sock"
	FS_ARGS[1]="socket,id=char0,path=$sock,server=on,wait=on"
	start_vm "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err" 512M \
		"vmmtest.check=virtiofs-probe" "${FS_ARGS[@]}"
	await_socket "$sock" 30 "$VM_PID"
	# wait=on: the guest does not run before a back-end is there. Not a
	# synchronisation, an observation window: nothing on the console for 2 s
	# (firmware or kernel would print within that).
	sleep 2
	[[ ! -s $BATS_TEST_TMPDIR/out ]] || { echo "the guest ran before a back-end connected:" >&2; cat "$BATS_TEST_TMPDIR/out" >&2; return 1; }
	if vmm_is_qemu; then
		grep -q "QEMU waiting for connection on: disconnected:unix:$sock,server=on" "$BATS_TEST_TMPDIR/err"
	else
		grep -q "waiting for a back-end to connect to $sock" "$BATS_TEST_TMPDIR/err"
	fi
	run timeout 120 "$VU_BACKEND" --connect="$sock"
	assert_status 0
	[[ $output == *"GET_FEATURES"* ]]
	[[ $output == *"SET_VRING_KICK index=1 fd"* ]]
	[[ $output == *"GET_VRING_BASE index=1"* ]]
	[[ $output != *VIOLATION* ]]
	await_exit "$VM_PID" "$VM_TIMEOUT"
	output=$(cat "$BATS_TEST_TMPDIR/out" "$BATS_TEST_TMPDIR/err")
	status=$exit_status
	VM_PID=
	assert_status 0
	assert_result virtiofs-probe
}

@test "chardev server=on,wait=off: works once the back-end connects, or is refused in one line that says why" {
	# Two acceptable behaviours: boot at once and start the device when a
	# back-end connects, or refuse at start-up (vhost-user-fs-pci needs the
	# back-end's features before the guest can see the device) with one
	# line that names the chardev and points at wait=on. QEMU 7.2 refuses,
	# but its message does not say why: "vhost_backend_init failed:
	# Protocol error".
	skip_on_qemu "refuses with 'vhost_backend_init failed: Protocol error', which does not name wait=off"
	sock=$BATS_TEST_TMPDIR/vmm.sock
	fs_dev_args "$sock"
	FS_ARGS[1]="socket,id=char0,path=$sock,server=on,wait=off"
	out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err
	start_vm "$out" "$err" 512M "vmmtest.check=virtiofs-probe" "${FS_ARGS[@]}"
	# Until the socket shows up or the VMM has given up.
	until [[ -S $sock ]] || ! pid_running "$VM_PID"; do
		sleep 0.05
	done
	if [[ -S $sock ]]; then
		timeout 120 "$VU_BACKEND" --connect="$sock" >"$BATS_TEST_TMPDIR/be.log" 2>&1 3>&- &
		BG_PIDS=$!
	fi
	await_exit "$VM_PID" "$VM_TIMEOUT"
	status=$exit_status
	output=$(cat "$out")
	stderr=$(cat "$err")
	VM_PID=
	if ((status == 1)); then
		assert_stderr_line "vmm: error: " "char0"
		[[ $stderr == *"wait=on"* ]] || {
			echo "refused without saying that wait=on is needed: $stderr" >&2
			return 1
		}
		return 0
	fi
	assert_status 0
	assert_booted
	assert_result virtiofs-probe
	await_exit "$BG_PIDS" 15
	[[ $exit_status -eq 0 ]]
	run cat "$BATS_TEST_TMPDIR/be.log"
	[[ $output == *"SET_VRING_KICK index=1 fd"* ]]
	[[ $output != *VIOLATION* ]]
}

@test "the command line of virtiofsd's documentation, unchanged but for paths" {
	# QEMU's docs/tools/virtiofsd.rst, "Examples":
	#   host# virtiofsd --socket-path=/var/run/vm001-vhost-fs.sock -o source=/var/lib/fs/vm001
	#   host# qemu-system-x86_64 \
	#       -chardev socket,id=char0,path=/var/run/vm001-vhost-fs.sock \
	#       -device vhost-user-fs-pci,chardev=char0,tag=myfs \
	#       -object memory-backend-memfd,id=mem,size=4G,share=on \
	#       -numa node,memdev=mem \
	#       ...
	#   guest# mount -t virtiofs myfs /mnt
	# "..." is -m 4G (QEMU refuses a NUMA node larger than RAM too) and the
	# guest; the check does the mount.
	sock=$BATS_TEST_TMPDIR/vm001-vhost-fs.sock
	setsid "$VIRTIOFSD" --socket-path="$sock" -o source="$SHARE" \
		</dev/null >"$BATS_TEST_TMPDIR/virtiofsd.log" 2>&1 3>&- &
	VIRTIOFSD_PID=$!
	await_socket "$sock" 20 "$VIRTIOFSD_PID"
	run --separate-stderr timeout --kill-after=10 "$VM_TIMEOUT" "$VMM" "${MACHINE_ARGS[@]}" \
		-chardev socket,id=char0,path="$sock" \
		-device vhost-user-fs-pci,chardev=char0,tag=myfs \
		-object memory-backend-memfd,id=mem,size=4G,share=on \
		-numa node,memdev=mem \
		-m 4G -kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 quiet panic=-1 vmmtest.check=virtiofs vmmtest.fs_hello=$HELLO" </dev/null
	assert_status 0
	assert_result virtiofs
	assert_out "VMMTEST: fs read hello=$HELLO"
	[[ $(cat "$SHARE/from-guest.txt") == "written by the guest" ]]
	assert_virtiofsd_exits_0
}

@test "a device reset (driver unbind/bind) restarts the device; the mount works again" {
	start_virtiofsd "$SHARE"
	fs_dev_args "$FS_SOCK"
	boot_vm 512M "vmmtest.check=virtiofs-reset vmmtest.fs_tag=myfs" "${FS_ARGS[@]}" \
		$(vmm_is_qemu || echo -trace vhost-user)
	assert_status 0
	assert_out "VMMTEST: fs unbound virtio"
	assert_out "VMMTEST: fs rebound virtio"
	assert_out "VMMTEST: fs read after reset hello=$HELLO"
	assert_result virtiofs-reset
	if ! vmm_is_qemu; then
		# Stopped (rings taken back) and started again on the one connection.
		(($(grep -c -- "-> GET_VRING_BASE (11).* index=1" <<<"$stderr") >= 2))
		(($(grep -c -- "-> SET_VRING_KICK (12).* index=1" <<<"$stderr") >= 2))
	fi
	# The same connection served both: virtiofsd exits only after poweroff.
	assert_virtiofsd_exits_0
}

@test "virtiofsd killed while the guest reads: the read fails, the VMM runs on and exits 0" {
	skip_on_qemu "the guest's read hangs forever: QEMU leaves a dead back-end's requests unanswered"
	start_virtiofsd "$SHARE"
	fs_dev_args "$FS_SOCK"
	out=$BATS_TEST_TMPDIR/out err=$BATS_TEST_TMPDIR/err
	start_vm "$out" "$err" 512M "vmmtest.check=virtiofs-dead" "${FS_ARGS[@]}"
	await_line "$out" "VMMTEST: fs ready for kill" "$VM_TIMEOUT" "$VM_PID"
	kill_virtiofsd KILL
	# The guest reads every 0.1 s: a working VMM fails the next read at once.
	await_line "$out" "VMMTEST: fs read failed after backend death" 30 "$VM_PID"
	await_exit "$VM_PID" 60
	status=$exit_status
	output=$(cat "$out")
	VM_PID=
	assert_status 0
	assert_result virtiofs-dead
	# The VMM says so, once (not once per failed request).
	n=$(grep -ciE "disconnect|closed|hung up|lost|gone" "$err" || true)
	[[ $n -eq 1 ]] || { echo "expected one line about the lost back-end on stderr, got $n:" >&2; cat "$err" >&2; return 1; }
}

# trace_has ERE: a line of $stderr matches.
trace_has() {
	grep -qE -- "$1" <<<"$stderr" || { echo "no trace line matches '$1'; stderr:" >&2; head -60 <<<"$stderr" >&2; return 1; }
}

@test "-trace vhost-user: decoded messages with round-trip times on stderr" {
	skip_on_qemu "QEMU's vhost_user_* trace events have another format"
	start_virtiofsd "$SHARE"
	fs_dev_args "$FS_SOCK"
	boot_vm 512M "vmmtest.check=virtiofs-probe" "${FS_ARGS[@]}" -trace vhost-user
	assert_status 0
	assert_result virtiofs-probe
	# Requests and replies, by name and number, replies with their times.
	trace_has '^vhost-user [^ ]+ -> GET_FEATURES \(1\) flags=0x1 size=0'
	trace_has '<- GET_FEATURES \(1\) flags=0x5 size=8 features=.*\([0-9]+ us\)'
	trace_has '<- GET_PROTOCOL_FEATURES \(15\) .*\([0-9]+ us\)'
	# virtiofsd offers CONFIGURE_MEM_SLOTS: one ADD_MEM_REG per region; one
	# SET_MEM_TABLE otherwise.
	trace_has '-> (SET_MEM_TABLE \(5\)|ADD_MEM_REG \(37\))'
	trace_has '-> SET_VRING_ADDR \(9\) .*index=0 desc=0x'
	trace_has '-> SET_VRING_KICK \(12\) .*index=0.* fds=\['
	trace_has '-> SET_VRING_CALL \(13\) .*index=1.* fds=\['
	trace_has '<- GET_VRING_BASE \(11\) .*index=1 base=[0-9]+.*\([0-9]+ us\)'
	# The trace is on stderr only: the guest's console stays clean.
	[[ $output != *"vhost-user "*" -> "* ]]
	assert_virtiofsd_exits_0
}
