# Shared by the bats files: where things are and how to boot the test guest.
TOP=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
# The ASan/UBSan build by default: every boot is also a memory-safety and
# leak check of the VMM.
VMM=${VMM:-$TOP/build/asan/vmm}
GUEST=$TOP/build/guest
KERNEL=$GUEST/vmlinuz
INITRD=$GUEST/initrd.img
BOOT_TIMEOUT=${BOOT_TIMEOUT:-180}
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
