#!/bin/bash
# The whole test suite; `make test` calls it once everything is built.
#   1. every executable in build/tests/unit/, on the host (TAP on stdout),
#      and tests/layers.sh (no folder includes a layer above it)
#   2. tests/bats/host/*.bats on the host: tests of the lab runner itself,
#      which boot the lab (skipped with LAB=0)
#   3. tests/bats/*.bats in ONE session of tests/lab/maybe-run: natively where
#      the host can run guests, else inside the lab
# tests/run.sh FILE.bats... runs only those files, as in step 3.
# Output streams as it comes; the last line is "N passed, N failed" (plus
# ", N skipped"), counted from the TAP ok / not ok lines. A stage that exits
# non-zero without a "not ok", or reports fewer tests than its plan, counts as
# failed too. Exits non-zero if anything failed.
# The guest tests run under a stall watchdog: when no TAP line has come for
# TEST_STALL seconds (L1 or a test stuck past its own timeouts), the session
# is stopped, the test that was running fails, the rest of its file is
# reported as not run, and the files after it go on in a new session: a hang
# costs minutes, not the whole CI budget.
#   TEST_TIMEOUT   seconds for one lab session (default 1800)
#   TEST_STALL     seconds without a TAP line before a session is stopped
#                  (default 600; tests time out on their own after 300)
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$top"

passed=0 failed=0 skipped=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

fail_extra() {
	echo "not ok - $*"
	failed=$((failed + 1))
}

# tap_line LINE: echoes a TAP line and counts it, into the totals and the
# caller's locals plan, results and notok.
tap_line() {
	printf '%s\n' "$1"
	if [[ $1 =~ ^not\ ok($|[[:space:]]) ]]; then
		failed=$((failed + 1)) notok=$((notok + 1)) results=$((results + 1))
	elif [[ $1 =~ ^ok($|[[:space:]]) ]]; then
		results=$((results + 1))
		if [[ $1 =~ \#[[:space:]]*[Ss][Kk][Ii][Pp] ]]; then
			skipped=$((skipped + 1))
		else
			passed=$((passed + 1))
		fi
	elif [[ $1 =~ ^1\.\.([0-9]+) ]]; then
		plan=$((plan + BASH_REMATCH[1]))
	fi
}

# stage NAME CMD...: runs CMD, echoes and counts its TAP lines.
stage() {
	local name=$1 line plan=0 results=0 notok=0
	shift
	echo "# $name"
	while IFS= read -r line; do
		tap_line "$line"
	done < <(set +e; "$@" </dev/null; echo $? >"$tmp/status")
	stage_end "$name" "$(cat "$tmp/status")"
}

# stage_end NAME STATUS: a stage that exited non-zero without a "not ok", or
# reported fewer tests than its plan, fails too (the caller's locals plan,
# results, notok).
stage_end() {
	if ((plan > results)); then
		fail_extra "$1: $((plan - results)) of $plan tests did not report (exit status $2)"
	elif (($2 != 0 && notok == 0)); then
		fail_extra "$1: exited with status $2"
	fi
}

# guest_stage FILES...: the guest tests in one session of tests/lab/maybe-run
# under the stall watchdog; on a stall, again from the file after the one
# that stalled. Counts like stage.
guest_stage() {
	local files=("$@") counts=() f i n k line status pid stalled rc out name before
	local stall=${TEST_STALL:-600} where plan results notok
	for f in "${files[@]}"; do
		n=$(bats --count "$f" 2>/dev/null) || n=0
		counts+=("$n")
	done
	while ((${#files[@]})); do
		where=$(tests/lab/detect) || { fail_extra "tests/lab/detect failed"; return; }
		echo "# bats ($where): ${files[*]}"
		plan=0 results=0 notok=0 stalled=false
		exec {out}< <(set +e; exec tests/lab/maybe-run --timeout "${TEST_TIMEOUT:-1800}" -- \
			bats --tap "${files[@]}" </dev/null)
		pid=$!
		while :; do
			IFS= read -r -t "$stall" line <&"$out" && rc=0 || rc=$?
			if ((rc > 128)); then
				stalled=true
				break
			fi
			((rc == 0)) || { [[ -z $line ]] || tap_line "$line"; break; }
			tap_line "$line"
		done
		if $stalled; then
			# TERM: tests/lab/run stops L1 and shows the end of its console.
			kill -TERM "$pid" 2>/dev/null || true
			wait "$pid" 2>/dev/null || true
			exec {out}<&-
			# Which file and which of its tests was running.
			before=0
			for ((i = 0; i < ${#files[@]}; i++)); do
				((results < before + counts[i])) && break
				before=$((before + counts[i]))
			done
			if ((i == ${#files[@]})); then
				fail_extra "bats: no output for ${stall}s after the last test"
				return
			fi
			k=$((results - before + 1))
			name=$(grep -E '^@test ' "${files[i]}" | sed -n "${k}p" | sed -E 's/^@test +"(.*)" *\{.*/\1/')
			fail_extra "${files[i]} test $k${name:+ ($name)} stopped: no output for ${stall}s (session killed)"
			if ((counts[i] > k)); then
				fail_extra "${files[i]}: tests $((k + 1))..${counts[i]} not run (their session was killed)"
			fi
			files=("${files[@]:i+1}")
			counts=("${counts[@]:i+1}")
			continue
		fi
		wait "$pid" && status=0 || status=$?
		exec {out}<&-
		stage_end "bats ($where)" "$status"
		break
	done
}

shopt -s nullglob
if (($#)); then
	# tests/run.sh FILE.bats...: only those guest tests, as stage 3 runs them.
	for f; do [[ -r $f ]] || { echo "tests/run.sh: no such test file: $f" >&2; exit 2; }; done
	guest_stage "$@"
else
	# 1. Unit tests.
	units=()
	[[ ! -d build/tests/unit ]] ||
		mapfile -d '' -t units < <(find "$top/build/tests/unit" -maxdepth 1 -type f -executable -print0 | sort -z)
	for bin in "${units[@]}"; do
		stage "unit: ${bin#"$top"/}" "$bin"
	done
	stage "layers" tests/layers.sh

	# 2. The lab runner's own tests, from the host.
	host_bats=(tests/bats/host/*.bats)
	bats=(tests/bats/*.bats)
	if ((${#host_bats[@]})); then
		if [[ ${LAB:-} == 0 ]]; then
			echo "# LAB=0: not running tests/bats/host (they boot the lab)"
		else
			# Holding the lab lock for the whole file, so that its timing is not
			# upset by other lab runs on the machine waiting in between.
			stage "bats on the host: ${host_bats[*]}" tests/lab/lock -- bats --tap "${host_bats[@]}"
		fi
	fi

	# 3. Everything else that boots guests, in one session.
	((${#bats[@]} == 0)) || guest_stage "${bats[@]}"
fi

summary="$passed passed, $failed failed"
((skipped == 0)) || summary+=", $skipped skipped"
echo "$summary"
((failed == 0))
