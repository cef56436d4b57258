# Shared by the bats files that boot the lab from the host.
TOP=$(cd "$BATS_TEST_DIRNAME/../../.." && pwd -P)

# hold_lab_lock: for setup_file: holds the lab lock for the whole file (unless
# our caller does, as tests/run.sh does), so that timings do not include
# waiting for other lab runs on the machine.
hold_lab_lock() {
	if [[ ${LAB_LOCK:-1} != 0 ]]; then
		exec {LAB_LOCK_FD}>>"$("$TOP/tests/lab/lock" --path)"
		flock "$LAB_LOCK_FD"
		export LAB_LOCK=0
	fi
}

# make_t NAME: a fresh directory $T in the checkout's build/tmp, the only
# host directory the lab writes to.
make_t() {
	mkdir -p "$TOP/build/tmp"
	T=$(mktemp -d "$TOP/build/tmp/$1.XXXXXX")
}
