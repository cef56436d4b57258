#!/bin/bash
# The whole test suite; `make test` calls it once everything is built.
#   1. every executable in build/tests/unit/, on the host (TAP on stdout)
#   2. tests/bats/host/*.bats on the host: tests of the lab runner itself,
#      which boot the lab (skipped with LAB=0)
#   3. tests/bats/*.bats in ONE session of tests/lab/maybe-run: natively where
#      the host can run guests, else inside the lab
# Output streams as it comes; the last line is "N passed, N failed" (plus
# ", N skipped"), counted from the TAP ok / not ok lines. A stage that exits
# non-zero without a "not ok", or reports fewer tests than its plan, counts as
# failed too. Exits non-zero if anything failed.
#   TEST_TIMEOUT   seconds for the lab session (default 3600)
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

# stage NAME CMD...: runs CMD, echoes and counts its TAP lines.
stage() {
	local name=$1 line status plan=0 results=0 notok=0
	shift
	echo "# $name"
	while IFS= read -r line; do
		printf '%s\n' "$line"
		if [[ $line =~ ^not\ ok($|[[:space:]]) ]]; then
			failed=$((failed + 1)) notok=$((notok + 1)) results=$((results + 1))
		elif [[ $line =~ ^ok($|[[:space:]]) ]]; then
			results=$((results + 1))
			if [[ $line =~ \#[[:space:]]*[Ss][Kk][Ii][Pp] ]]; then
				skipped=$((skipped + 1))
			else
				passed=$((passed + 1))
			fi
		elif [[ $line =~ ^1\.\.([0-9]+) ]]; then
			plan=$((plan + BASH_REMATCH[1]))
		fi
	done < <(set +e; "$@" </dev/null; echo $? >"$tmp/status")
	status=$(cat "$tmp/status")
	if ((plan > results)); then
		fail_extra "$name: $((plan - results)) of $plan tests did not report (exit status $status)"
	elif ((status != 0 && notok == 0)); then
		fail_extra "$name: exited with status $status"
	fi
}

# 1. Unit tests.
units=()
[[ ! -d build/tests/unit ]] ||
	mapfile -d '' -t units < <(find "$top/build/tests/unit" -maxdepth 1 -type f -executable -print0 | sort -z)
for bin in "${units[@]}"; do
	stage "unit: ${bin#"$top"/}" "$bin"
done

# 2. The lab runner's own tests, from the host.
shopt -s nullglob
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
if ((${#bats[@]})); then
	where=$(tests/lab/detect) || { fail_extra "tests/lab/detect failed"; where=; }
	if [[ -n $where ]]; then
		stage "bats ($where): ${bats[*]}" \
			tests/lab/maybe-run --timeout "${TEST_TIMEOUT:-3600}" -- bats --tap "${bats[@]}"
	fi
fi

summary="$passed passed, $failed failed"
((skipped == 0)) || summary+=", $skipped skipped"
echo "$summary"
((failed == 0))
