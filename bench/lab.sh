#!/bin/bash
# What the lab costs, median of N runs each (BENCH_RUNS, default 5):
#   L1 ready   launch of tests/lab/run until the command's first output
#   L1 run     launch of tests/lab/run -- true until it has exited
#   L2 boot    one boot-and-poweroff of the test guest (build/guest) with
#              Debian's QEMU -accel kvm, inside one lab session
# Needs the test guest (guest/build.sh). Results depend on the machine being
# otherwise idle: other TCG guests running at the same time slow everything.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
cd "$top"
# Hold the lab lock throughout: no waiting for other lab runs in the figures.
[[ ${LAB_LOCK:-1} == 0 ]] || exec tests/lab/lock -- "$top/bench/lab.sh" "$@"
runs=${BENCH_RUNS:-5}
[[ -r build/guest/vmlinuz && -r build/guest/initrd.img ]] ||
	{ echo "bench/lab.sh: test guest missing: run guest/build.sh (make guest)" >&2; exit 1; }
tests/lab/build

now_ms() { echo $(($(date +%s%N) / 1000000)); }
median() { printf '%s\n' "$@" | sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
secs() { awk -v ms="$1" 'BEGIN { printf "%.1f s", ms / 1000 }'; }

echo "# bench/lab.sh: $runs runs each; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2
ready=() total=()
for ((i = 0; i < runs; i++)); do
	t0=$(now_ms)
	first=$(tests/lab/run -- echo ready | { read -r line; now_ms; cat >/dev/null; })
	ready+=($((first - t0)))
	t0=$(now_ms)
	tests/lab/run -- true
	total+=($(($(now_ms) - t0)))
done

# One lab session (or none on a host that runs guests natively) timing L2s.
l2=()
while read -r ms; do
	[[ $ms =~ ^[0-9]+$ ]] && l2+=("$ms")
done < <(tests/lab/maybe-run -- bash -c '
	for ((i = 0; i < $1; i++)); do
		t0=$(date +%s%N)
		timeout 300 qemu-system-x86_64 -accel kvm -cpu host -M q35 -m 512M -smp 1 \
			-nographic -no-reboot -kernel build/guest/vmlinuz -initrd build/guest/initrd.img \
			-append "console=ttyS0 panic=-1 quiet vmmtest.check=none" </dev/null >"$2" 2>&1
		grep -q "VMMTEST: result none PASS" "$2" || { echo "L2 boot $i failed:" >&2; cat "$2" >&2; exit 1; }
		echo $(( ($(date +%s%N) - t0) / 1000000 ))
	done
' bench "$runs" "/tmp/bench-l2.out")
((${#l2[@]} == runs)) || { echo "bench/lab.sh: the L2 boots failed" >&2; exit 1; }

printf '%-58s %8s   %s\n' "what (median of $runs)" median "runs (ms)"
printf '%-58s %8s   %s\n' "L1 ready: tests/lab/run launch to the command's 1st output" \
	"$(secs "$(median "${ready[@]}")")" "${ready[*]}"
printf '%-58s %8s   %s\n' "L1 run: tests/lab/run -- true, launch to exit" \
	"$(secs "$(median "${total[@]}")")" "${total[*]}"
printf '%-58s %8s   %s\n' "L2 boot-and-poweroff, Debian QEMU -accel kvm in the lab" \
	"$(secs "$(median "${l2[@]}")")" "${l2[*]}"
