#!/usr/bin/env bats
# tests/run.sh's guest stage from the host: a test that hangs past every
# deadline inside the lab (as a locked-up L1 does) costs TEST_STALL seconds,
# fails by name, and the files after it still run. Boots the lab twice.

load helpers

setup_file() {
	hold_lab_lock
}

setup() {
	make_t run-sh
}

teardown() {
	rm -rf "$T"
}

@test "a stalled session: the test fails by name, the rest of its file is not run, the next file runs" {
	# printf, not a here-document: bats would take @test lines in this
	# file's text for tests of its own.
	printf '%stest "a one" { true; }\n%stest "a two hangs" { sleep 1000; }\n%stest "a three" { true; }\n' \
		@ @ @ >"$T/a.bats"
	printf '%stest "b one" { true; }\n' @ >"$T/b.bats"
	cd "$TOP"
	start=$SECONDS
	run env TEST_STALL=30 tests/run.sh "$T/a.bats" "$T/b.bats"
	echo "$output"
	[[ $status -ne 0 ]]
	[[ $output == *"ok 1 a one"* ]]
	[[ $output == *"not ok - $T/a.bats test 2 (a two hangs) stopped: no output for 30s"* ]]
	[[ $output == *"not ok - $T/a.bats: tests 3..3 not run"* ]]
	[[ $output == *"# bats ("*"): $T/b.bats"* ]]
	[[ $output == *"ok 1 b one"* ]]
	[[ ${lines[-1]} == "2 passed, 2 failed" ]]
	# Minutes would mean the watchdog did not act.
	((SECONDS - start < 120))
}
