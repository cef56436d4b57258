#!/usr/bin/env bats
# tests/lab/run from the host: every call boots the lab (~5 s), so each test
# makes as few calls as it can. tests/run.sh runs this file on the host, before
# the lab session that runs tests/bats/*.bats.

bats_require_minimum_version 1.5.0   # run -N

load helpers
RUN=$TOP/tests/lab/run

setup_file() {
	hold_lab_lock
}

setup() {
	make_t lab-run
}

teardown() {
	# A failed test may leave its background runner behind: stop it (it
	# stops its QEMU).
	[[ -z ${pid:-} ]] || kill -TERM "$pid" 2>/dev/null || true
	[[ -z ${pid:-} ]] || wait "$pid" 2>/dev/null || true
	rm -rf "$T"
}

# wait_for FILE PATTERN SECONDS: until PATTERN shows up in FILE.
wait_for() {
	timeout "$3" bash -c 'until grep -q -- "$2" "$1" 2>/dev/null; do sleep 0.1; done' _ "$1" "$2" || {
		echo "timed out after $3 s waiting for '$2' in $1:" >&2
		cat "$1" >&2
		return 1
	}
}

@test "usage errors need no boot: exit 2 and a message" {
	run "$RUN"
	[[ $status -eq 2 && $output == *usage:* ]]
	run "$RUN" --timeout soon -- true
	[[ $status -eq 2 && $output == *"--timeout wants whole seconds"* ]]
	run "$RUN" true
	[[ $status -eq 2 && $output == *"goes after --"* ]]
}

@test "status 0; cwd, environment, stdout bytes, stderr apart; writes reach the checkout" {
	mkdir -p "$T/sub dir"
	cd "$T/sub dir"
	export LAB_TEST_VALUE=$'spaces  and\nnewline \'q\' "dq" $x \\ * \t end'
	"$RUN" -- bash -c '
		[[ $PWD == "$1" ]] || { echo "cwd $PWD, expected $1" >&2; exit 3; }
		[[ $LAB_TEST_VALUE == "$2" ]] || { echo "LAB_TEST_VALUE differs: $LAB_TEST_VALUE" >&2; exit 4; }
		[[ $LAB_INSIDE == 1 ]] || exit 5
		[[ -t 0 || -t 1 || -t 2 ]] && { echo "a terminal in a non-interactive run" >&2; exit 6; }
		read -r -t 1 line && exit 8   # stdin: /dev/null, at EOF at once
		printf "line1\nline2\r\nno newline at end"
		printf "to stderr\n" >&2
		echo written >"$1/from-lab"
	' lab "$T/sub dir" "$LAB_TEST_VALUE" >"$T/out" 2>"$T/err"
	printf 'line1\nline2\r\nno newline at end' >"$T/expected"
	cmp "$T/expected" "$T/out"
	grep -qx 'to stderr' "$T/err"
	[[ $(cat "$T/sub dir/from-lab") == written ]]
}

@test "exit status: false gives 1" {
	run "$RUN" -- false
	[[ $status -eq 1 ]]
}

@test "exit status: exit 7 gives 7" {
	run "$RUN" -- sh -c 'exit 7'
	[[ $status -eq 7 ]]
}

@test "exit status: a command killed by SIGKILL gives 137" {
	run "$RUN" -- bash -c 'kill -KILL $$'
	[[ $status -eq 137 ]]
}

@test "a missing command: 127 and a message naming it" {
	run -127 "$RUN" -- no-such-command-4711
	echo "$output"
	[[ $status -eq 127 ]]
	[[ $output == *"command not found: no-such-command-4711"* ]]
}

@test "L1 dying without a status (kernel panic) is an error, not 0" {
	run "$RUN" -- sh -c 'echo c >/proc/sysrq-trigger'
	echo "$output" | tail -5
	[[ $status -eq 125 ]]
	[[ $output == *"without reporting the command's status"* ]]
}

@test "output streams while the command runs" {
	"$RUN" --timeout 120 -- bash -c '
		echo "marker: waiting"
		timeout 60 bash -c "until [[ -e \$0 ]]; do sleep 0.1; done" "$1" || exit 9
		echo "done waiting"
	' lab "$T/go" >"$T/out" 2>&1 &
	pid=$!
	wait_for "$T/out" "marker: waiting" 60
	! grep -q "done waiting" "$T/out"
	touch "$T/go"
	status=0
	wait "$pid" || status=$?
	pid=
	cat "$T/out"
	[[ $status -eq 0 ]]
	grep -q "done waiting" "$T/out"
}

@test "--timeout kills L1: 124 and a message naming the timeout" {
	start=$SECONDS
	run "$RUN" --timeout 15 -- sleep 1000
	echo "$output"
	[[ $status -eq 124 ]]
	[[ $output == *"timed out after 15s"* ]]
	# Not before the timeout. (No upper bound: waiting for another lab run on
	# the machine to finish comes first.)
	((SECONDS - start >= 15))
}

@test "interactive: a terminal gives a shell with job control" {
	command -v script >/dev/null || skip "script (util-linux) not installed"
	# script(1) puts the runner on a pseudo-terminal fed from $T/fifo.
	mkfifo "$T/fifo"
	script -qefc "$RUN --timeout 120 -- bash --norc -i" /dev/null <"$T/fifo" >"$T/out" 2>&1 &
	pid=$!
	exec {in}>"$T/fifo"
	wait_for "$T/out" "# " 60   # root's prompt
	echo 'echo "flags=$- tty=$(tty) sum=$((6 * 7))"' >&"$in"
	wait_for "$T/out" "sum=42" 30
	echo 'exit 5' >&"$in"
	status=0
	wait "$pid" || status=$?
	pid=
	exec {in}>&-
	cat "$T/out"
	[[ $status -eq 5 ]]
	grep -q "flags=[a-zA-Z]*m[a-zA-Z]* tty=/dev/ttyS0 sum=42" "$T/out"
}
