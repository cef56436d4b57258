# Shared by the bats files: where things are and how to boot the test guest.
TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
# The ASan/UBSan build by default: every boot is also a memory-safety and
# leak check of the VMM.
VMM=${VMM:-$TOP/build/asan/vmm}
GUEST=$TOP/build/guest
KERNEL=$GUEST/vmlinuz
INITRD=$GUEST/initrd.img
BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}
# No test takes more than a few boots: one that hangs past its own timeouts
# fails here (bats 1.7+) instead of stalling the session; tests/run.sh's
# watchdog is the last resort when even this cannot act (L1 stuck).
BATS_TEST_TIMEOUT=${BATS_TEST_TIMEOUT:-300}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}

require_guest() {
	[[ -r $KERNEL && -r $INITRD ]] || {
		echo "test guest missing: run guest/build.sh (make guest)" >&2
		return 1
	}
}

# boot_guest "KERNEL PARAMS" [VMM OPTIONS...]: boots the test guest with the
# given extra kernel parameters; $status and $output as bats' run sets them.
boot_guest() {
	local params=$1
	shift
	run timeout --kill-after=10 "$BOOT_TIMEOUT" "$VMM" -kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 quiet panic=-1 $params" "$@"
}

assert_booted() {
	[[ $output == *"VMMTEST: boot-complete"* ]] || {
		echo "no boot-complete marker; output:" >&2
		echo "$output" | tail -40 >&2
		return 1
	}
}

# assert_result NAME: the check printed PASS.
assert_result() {
	[[ $output == *"VMMTEST: result $1 PASS"* ]] || {
		echo "check $1 did not pass; output:" >&2
		echo "$output" | tail -40 >&2
		return 1
	}
}

assert_status() {
	[[ $status -eq $1 ]] || {
		echo "exit status $status, expected $1; output:" >&2
		echo "$output" | tail -40 >&2
		return 1
	}
}

# The value of "VMMTEST: KEY=VALUE" in the output.
guest_value() {
	sed -n "s/^VMMTEST: $1=\([^ ]*\).*/\1/p" <<<"$output" | tr -d '\r' | tail -1
}

# ---- vhost-user devices with a real back-end (tests/bats/virtiofs*.bats) ----
# VMM=qemu-system-x86_64 runs those tests against Debian's QEMU instead, to
# check the tests themselves: both get the same command line (the QEMU
# machine options below are accepted with no effect by ours). Tests of what
# only our VMM promises (a reply timeout, failing a dead back-end's requests,
# refusing unshareable RAM, our trace format) skip under QEMU.
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
VU_BACKEND=${VU_BACKEND:-$TOP/build/tests/tools/vu-test-backend}
VM_TIMEOUT=${VM_TIMEOUT:-120}
MACHINE_ARGS=(-accel kvm -cpu host -M q35 -nographic -no-reboot)

vmm_is_qemu() {
	[[ ${VMM##*/} == qemu-system-* ]]
}

# skip_on_qemu WHY: for tests of promises QEMU does not make.
skip_on_qemu() {
	! vmm_is_qemu || skip "QEMU: $*"
}

require_virtiofsd() {
	[[ -x $VIRTIOFSD ]] || {
		echo "no $VIRTIOFSD: apt-get install qemu-system-common (make deps)" >&2
		return 1
	}
}

# vm_args MEM PARAMS: the common part of a command line: machine options,
# MEM of guest RAM as a shared memfd (what a vhost-user back-end maps), the
# test guest with PARAMS on its kernel command line. Sets the array VM_ARGS.
vm_args() {
	VM_ARGS=("${MACHINE_ARGS[@]}" -m "$1"
		-object "memory-backend-memfd,id=mem,size=$1,share=on" -numa node,memdev=mem
		-kernel "$KERNEL" -initrd "$INITRD" -append "console=ttyS0 quiet panic=-1 $2")
}

# fs_dev_args SOCK [DEVICE OPTIONS]: chardev + vhost-user-fs-pci with tag
# myfs. Sets the array FS_ARGS.
fs_dev_args() {
	FS_ARGS=(-chardev "socket,id=char0,path=$1" -device "vhost-user-fs-pci,chardev=char0,tag=myfs${2:+,$2}")
}

# boot_vm MEM PARAMS [VMM OPTIONS...]: runs the VMM in the foreground (bats'
# run: $status, $output = stdout, $stderr), bounded by VM_TIMEOUT.
boot_vm() {
	local mem=$1 params=$2
	shift 2
	vm_args "$mem" "$params"
	run --separate-stderr timeout --kill-after=10 "$VM_TIMEOUT" "$VMM" "${VM_ARGS[@]}" "$@" </dev/null
}

# start_vm OUT ERR MEM PARAMS [VMM OPTIONS...]: the same in the background,
# stdout to OUT, stderr to ERR; sets VM_PID. stdin is /dev/null unless
# VM_STDIN names a file or fifo.
start_vm() {
	local out=$1 err=$2 mem=$3 params=$4
	shift 4
	vm_args "$mem" "$params"
	timeout --kill-after=10 "$VM_TIMEOUT" "$VMM" "${VM_ARGS[@]}" "$@" \
		<"${VM_STDIN:-/dev/null}" >"$out" 2>"$err" 3>&- &
	VM_PID=$!
}

# await_socket PATH [SECS] [PID]: until a socket exists at PATH (default
# 10 s); fails early if PID (the process that should create it) is gone.
await_socket() {
	local deadline=$((SECONDS + ${2:-10}))
	until [[ -S $1 ]]; do
		if [[ -n ${3:-} ]] && ! pid_running "$3"; then
			echo "process $3 exited before creating the socket $1" >&2
			return 1
		fi
		((SECONDS < deadline)) || { echo "no socket at $1 after ${2:-10} s" >&2; return 1; }
		sleep 0.05
	done
}

# await_line FILE PATTERN SECS [PID]: until grep -E PATTERN matches in FILE;
# fails early if PID has exited (and PATTERN still is not there).
await_line() {
	local deadline=$((SECONDS + $3))
	until grep -aqE -- "$2" "$1" 2>/dev/null; do
		if [[ -n ${4:-} ]] && ! pid_running "$4"; then
			grep -aqE -- "$2" "$1" 2>/dev/null && return 0
			echo "process $4 exited without printing '$2' in $1; last lines:" >&2
			tail -20 "$1" >&2
			return 1
		fi
		((SECONDS < deadline)) || {
			echo "timed out after $3 s waiting for '$2' in $1; last lines:" >&2
			tail -20 "$1" >&2
			return 1
		}
		sleep 0.1
	done
}

# pid_running PID: alive and not a zombie (a child that exited but has not
# been waited for still answers kill -0).
pid_running() {
	local st
	st=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	st=${st##*) }
	[[ ${st:0:1} != Z ]]
}

# await_exit PID SECS: waits up to SECS for our child PID to end and sets
# exit_status; fails (leaving it running) on timeout.
await_exit() {
	local deadline=$((SECONDS + $2))
	while pid_running "$1"; do
		((SECONDS < deadline)) || { echo "process $1 still running after $2 s" >&2; return 1; }
		sleep 0.1
	done
	exit_status=0
	wait "$1" || exit_status=$?
}

# start_virtiofsd DIR [OPTIONS...]: virtiofsd sharing DIR on
# $BATS_TEST_TMPDIR/fs.sock (default options: -o cache=none), in a process
# group of its own (it forks into a sandbox), log in
# $BATS_TEST_TMPDIR/virtiofsd.log. Waits for its socket; sets VIRTIOFSD_PID
# and FS_SOCK.
start_virtiofsd() {
	local dir=$1
	shift
	(($#)) || set -- -o cache=none
	require_virtiofsd || return 1
	FS_SOCK=$BATS_TEST_TMPDIR/fs.sock
	((${#FS_SOCK} < 100)) || { echo "socket path too long: $FS_SOCK" >&2; return 1; }
	# setsid execs in place here (a background job is no group leader).
	setsid "$VIRTIOFSD" --socket-path="$FS_SOCK" -o source="$dir" "$@" \
		</dev/null >"$BATS_TEST_TMPDIR/virtiofsd.log" 2>&1 3>&- &
	VIRTIOFSD_PID=$!
	await_socket "$FS_SOCK" 20 "$VIRTIOFSD_PID" || {
		cat "$BATS_TEST_TMPDIR/virtiofsd.log" >&2
		return 1
	}
}

# kill_virtiofsd [SIGNAL]: the whole process group (default SIGKILL).
kill_virtiofsd() {
	[[ -n ${VIRTIOFSD_PID:-} ]] || return 0
	kill -"${1:-KILL}" -- "-$VIRTIOFSD_PID" 2>/dev/null || kill -"${1:-KILL}" "$VIRTIOFSD_PID" 2>/dev/null || true
}

# cleanup_vm: for teardown: stops whatever a test left running (the VMM,
# virtiofsd, helper processes listed in BG_PIDS), by pid.
cleanup_vm() {
	local p
	# VM_PID is timeout(1), which leads a process group of its own.
	if [[ -n ${VM_PID:-} ]] && pid_running "$VM_PID"; then
		kill -KILL -- "-$VM_PID" 2>/dev/null || kill -KILL "$VM_PID" 2>/dev/null || true
	fi
	if [[ -n ${VIRTIOFSD_PID:-} ]]; then
		kill_virtiofsd KILL
		wait "$VIRTIOFSD_PID" 2>/dev/null || true
	fi
	for p in ${BG_PIDS:-}; do
		kill -KILL "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	[[ -z ${VM_PID:-} ]] || wait "$VM_PID" 2>/dev/null || true
}

# assert_stderr_line TEXT...: stderr is exactly one line and contains each TEXT.
assert_stderr_line() {
	local t
	[[ $(grep -c . <<<"$stderr") -eq 1 ]] || {
		echo "expected one line on stderr, got:" >&2
		echo "$stderr" >&2
		return 1
	}
	for t; do
		[[ $stderr == *"$t"* ]] || { echo "expected '$t' in: $stderr" >&2; return 1; }
	done
}

# assert_out TEXT: stdout contains TEXT (shows its tail when it does not).
assert_out() {
	[[ $output == *"$1"* ]] || {
		echo "expected '$1' in the output; its last lines:" >&2
		tail -30 <<<"$output" >&2
		[[ -z ${stderr:-} ]] || { echo "stderr:" >&2; tail -20 <<<"$stderr" >&2; }
		return 1
	}
}
