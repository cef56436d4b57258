#!/bin/bash
# bench/run.sh [NAME...]   (what `make bench` runs)
#
# Runs the benchmarks bench/*.sh (all of them, or the NAMEs given, e.g.
# `bench/run.sh boot`), in name order, and exits non-zero if any failed.
#   bench/lab.sh measures the lab itself, so it runs here on the host, first.
#   Every other one needs a working /dev/kvm: they all run one after the other
#   inside ONE lab session, through tests/lab/maybe-run (directly on a host
#   with VMX/SVM, in the lab otherwise; LAB=0/1 force it, see
#   tests/lab/detect).
# A new bench/NAME.sh is picked up by itself (not bench/lib.sh, which the
# benchmarks source). Each benchmark prints its own table and writes its raw
# figures under build/bench/. Environment is passed through (into the lab
# too): BENCH_RUNS=N sets the runs per VMM of the benchmarks that take
# --runs; BENCH_TIMEOUT=S bounds the lab session (default: tests/lab/run's
# 1800 s).
#
# Internal: bench/run.sh --here NAME... runs the named benchmarks right here
# (that is what runs inside the lab).
set -uo pipefail

prog=bench/run.sh
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$top" || exit 1

usage() {
	echo "usage: $prog [NAME...]   (NAME: a bench/NAME.sh; default all)" >&2
	exit 2
}

# run_here NAME...: each bench/NAME.sh in turn; a failure does not stop the rest.
run_here() {
	local name rc failed=()
	for name; do
		echo "=== bench/$name.sh ($(date -u '+%H:%M:%S UTC'))"
		"bench/$name.sh"
		rc=$?
		if ((rc != 0)); then
			echo "$prog: bench/$name.sh failed (exit status $rc)" >&2
			failed+=("$name")
		fi
	done
	((${#failed[@]} == 0)) || { echo "$prog: failed: ${failed[*]}" >&2; return 1; }
}

if [[ ${1:-} == --here ]]; then
	shift
	run_here "$@"
	exit
fi

# Which benchmarks: every bench/*.sh but this one and lib.sh, in name order.
all=()
for f in bench/*.sh; do
	n=${f#bench/}
	n=${n%.sh}
	[[ $n == run || $n == lib ]] || all+=("$n")
done
if (($#)); then
	wanted=()
	for a; do
		[[ $a == -* ]] && usage
		a=${a#bench/}
		a=${a%.sh}
		[[ -x bench/$a.sh && $a != run && $a != lib ]] || { echo "$prog: no benchmark bench/$a.sh (have: ${all[*]})" >&2; exit 2; }
		wanted+=("$a")
	done
else
	wanted=("${all[@]}")
fi

host=() guest=()
for n in "${wanted[@]}"; do
	case $n in
	lab) host+=("$n") ;;  # measures the lab: must run outside it
	*) guest+=("$n") ;;
	esac
done

status=0
if ((${#host[@]})); then
	run_here "${host[@]}" || status=1
fi
if ((${#guest[@]})); then
	lab_opts=()
	[[ -z ${BENCH_TIMEOUT:-} ]] || lab_opts=(--timeout "$BENCH_TIMEOUT")
	if [[ -x tests/lab/maybe-run ]]; then
		runner=(tests/lab/maybe-run "${lab_opts[@]}" --)
	else
		echo "$prog: tests/lab/maybe-run missing: running through tests/lab/run (the lab) regardless of the host" >&2
		runner=(tests/lab/run "${lab_opts[@]}" --)
	fi
	[[ ${LAB_INSIDE:-} == 1 ]] && runner=()  # already where /dev/kvm works
	"${runner[@]}" bench/run.sh --here "${guest[@]}" || status=1
fi
exit $status
