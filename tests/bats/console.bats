#!/usr/bin/env bats
# The serial console from the host side: input reaches the guest's shell, and
# SIGTERM ends a running VM cleanly.

load helpers

setup_file() {
	require_guest
}

# wait_for FILE PATTERN SECONDS: polls FILE until PATTERN shows up.
wait_for() {
	local deadline=$((SECONDS + $3))
	until grep -q "$2" "$1" 2>/dev/null; do
		((SECONDS < deadline)) || { echo "timed out waiting for '$2' in $1:" >&2; tail -20 "$1" >&2; return 1; }
		sleep 0.2
	done
}

@test "stdin reaches the guest's console shell; its plain poweroff ends the VM with 0" {
	fifo=$BATS_TEST_TMPDIR/in
	out=$BATS_TEST_TMPDIR/out
	mkfifo "$fifo"
	"$VMM" -kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 quiet panic=-1 vmmtest.shell=1" \
		<"$fifo" >"$out" 2>&1 &
	pid=$!
	exec 7>"$fifo"
	wait_for "$out" "VMMTEST: boot-complete" "$BOOT_TIMEOUT"
	wait_for "$out" "vmmtest:" 30   # the shell prompt
	# Plain poweroff, as a user types it: busybox signals PID 1 (SIGUSR2),
	# which the test guest's /init must act on.
	echo 'echo "typed $((6 * 7))"; poweroff' >&7
	wait_for "$out" "typed 42" 60
	await_exit "$pid" 60
	exec 7>&-
	status=$exit_status
	output=$(cat "$out")
	assert_status 0
}

@test "SIGTERM ends a running VM cleanly with 128+15" {
	out=$BATS_TEST_TMPDIR/out
	"$VMM" -kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 quiet panic=-1 vmmtest.shell=1" \
		</dev/null >"$out" 2>&1 &
	pid=$!
	wait_for "$out" "VMMTEST: boot-complete" "$BOOT_TIMEOUT"
	kill -TERM "$pid"
	status=0
	wait "$pid" || status=$?
	output=$(cat "$out")
	assert_status 143
	grep -q "terminating on signal 15" "$out"
}
