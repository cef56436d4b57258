#!/bin/bash
# bench/virtiofs.sh [--runs N] [--mb "64 256"] [--files N] [--only NAME] [--timeout S] [--log FILE]
#
# virtio-fs benchmark: our VMM (build/vmm, the optimized build) against
# Debian's QEMU (-M q35), each with -device vhost-user-fs-pci and the same
# virtiofsd (/usr/lib/qemu/virtiofsd -o cache=none), the same command line,
# kernel, initramfs and guest size (-m 512M -smp 1). In the guest
# (guest/checks/virtiofs-bench.sh):
#   write-N  dd if=/dev/zero of=/mnt/bench.bin bs=1M count=N conv=fsync
#   read-N   page cache dropped (and cache=none: FUSE direct I/O), dd to /dev/null
#            for each N in --mb (MiB; default "64 256")
#   meta     create, stat (ls -l) and unlink --files files (default 10000;
#            2000 in the lab, where 10000 take minutes per VMM)
# MiB/s and ops/s come from the guest's clock. For each phase the host also
# measures, between the guest's "phase NAME ready" (the host then starts
# counting and answers "go" on the console) and "phase NAME end":
#   exits    KVM exits that reached the VMM's userspace: perf stat -e
#            kvm:kvm_userspace_exit -p PID (a tracepoint in L1's kernel);
#            also all exits (kvm:kvm_exit, in-kernel ones too), as a lead
#   non-vCPU CPU time of the VMM's threads other than the vCPU threads:
#            perf's per-thread task-clock (threads started during the phase
#            count towards their creator); vCPU threads are those named
#            vcpuN / "CPU N/KVM", or else those found inside ioctl(KVM_RUN)
#            on a kvm-vcpu fd (/proc/PID/task/TID/syscall) at the start
# The exits include a constant part from the console: the "go" line and the
# end marker (tens of characters, an exit or two each). Reports, never
# asserts: targets are printed next to the figures.
#
# Needs a working /dev/kvm: run it through bench/run.sh (`make bench`, in
# the lab on hosts without VMX/SVM) or `tests/lab/run -- bench/virtiofs.sh`.
# Raw runs and the table go to build/bench/virtiofs-<date>.log.
# Environment: VMM, QEMU, KERNEL, INITRD, VIRTIOFSD override the binaries
# and guest; BENCH_FS_RUNS sets the default of --runs (default 1: one run
# of both VMMs takes minutes in the lab, so BENCH_RUNS, which the boot
# benchmark's runs follow, is not used here).
# shellcheck disable=SC2317  # functions called through lib.sh (take_turns, read_console, cleanup)
set -uo pipefail

prog=bench/virtiofs.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

runs=${BENCH_FS_RUNS:-1}
sizes="64 256"
# 10000 files take minutes per VMM in the lab (~120 creates/s under nested
# KVM on TCG), so the lab's default is smaller.
files=10000
[[ ${LAB_INSIDE:-} != 1 ]] || files=2000
files=${BENCH_FS_FILES:-$files}
timeout=900
only=
log=
usage() {
	echo "usage: $prog [--runs N] [--mb \"N [N...]\"] [--files N] [--only NAME] [--timeout SECS] [--log FILE]" >&2
	echo "  --runs N      runs per VMM, taking turns (default 1, or \$BENCH_FS_RUNS)" >&2
	echo "  --mb LIST     file sizes in MiB for the write/read phases (default \"64 256\");" >&2
	echo "                the exit-growth target compares the first and the last" >&2
	echo "  --files N     files for the metadata phase (default 10000, 2000 in the lab, or \$BENCH_FS_FILES; 0 skips it)" >&2
	echo "  --only NAME   just one of vmm, qemu-q35 (no ratios then)" >&2
	echo "  --timeout S   give up on a VM after S seconds (default 900)" >&2
	echo "  --log FILE    raw runs and table (default build/bench/virtiofs-DATE.log)" >&2
	exit 2
}
parse_opts "runs mb=sizes files only timeout log" "$@"
need_positive --runs "$runs"
sizes=${sizes//,/ }
read -r -a size_list <<<"$sizes"
((${#size_list[@]})) || die "--mb wants at least one size"
for s in "${size_list[@]}"; do
	need_positive --mb "$s" "sizes in MiB"
done
need_whole --files "$files"
need_positive --timeout "$timeout" "whole seconds"
names=(vmm qemu-q35)
case $only in
'') ;;
vmm | qemu-q35) names=("$only") ;;
*) die "--only wants vmm or qemu-q35, not '$only'" ;;
esac

need_guest
virtiofsd=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
[[ -x $virtiofsd ]] || die "$virtiofsd not found (qemu-system-common; make deps)"
need_kvm
open_log virtiofs
make_tmp fs
vm_pid='' fsd_pid='' perf_pid='' keeper_pids=''
on_cleanup() {
	[[ -z $perf_pid ]] || kill -KILL "$perf_pid" 2>/dev/null
	# shellcheck disable=SC2086  # a list of pids
	[[ -z $keeper_pids ]] || kill -KILL $keeper_pids 2>/dev/null
	[[ -z $vm_pid ]] || kill -KILL "$vm_pid" 2>/dev/null
	[[ -z $fsd_pid ]] || kill -KILL -- "-$fsd_pid" 2>/dev/null
}
# A VMM that died must not take us with it when we write "go" to its stdin.
trap '' PIPE

# perf and its KVM tracepoint (perf mounts tracefs itself when needed).
have_perf=0
if command -v perf >/dev/null && perf stat -e kvm:kvm_userspace_exit -x, -o "$tmp/perf-probe" -- true 2>"$tmp/perf-probe.err"; then
	have_perf=1
	# Creating and closing the phases' perf events flips static keys (the
	# KVM tracepoints, the scheduler's perf hooks), which patches kernel
	# text; under the lab's multi-threaded TCG that patching can lock L1
	# up (seen in the metadata phase; see tests/lab/kvm-hold.c). One idle
	# perf session with the same events, on a sleeping process, for the
	# whole run keeps those keys on, so the phases patch nothing.
	sleep infinity >/dev/null 2>&1 &
	keeper_pids=$!
	perf stat -e task-clock,kvm:kvm_userspace_exit,kvm:kvm_exit -p "$keeper_pids" -o /dev/null \
		</dev/null >/dev/null 2>&1 &
	keeper_pids+=" $!"
	# Killed at exit by pid; not jobs bash should report on.
	disown -a
else
	echo "$prog: perf stat -e kvm:kvm_userspace_exit does not work here: no exit counts, CPU time from /proc:" >&2
	cat "$tmp/perf-probe.err" >&2
fi

copy_guest

sock=$tmp/fs.sock
params="console=ttyS0 quiet panic=-1 vmmtest.check=virtiofs-bench vmmtest.fs_tag=myfs"
params+=" vmmtest.bench_mb=${sizes// /,} vmmtest.bench_files=$files vmmtest.bench_sync=1"
# One command line for both: our VMM takes QEMU's syntax.
# shellcheck disable=SC2054
base=(-accel kvm -cpu host -M q35 -nographic -nodefaults -serial stdio -no-reboot
	-m 512M -smp 1 -object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem
	-chardev "socket,id=char0,path=$sock" -device vhost-user-fs-pci,chardev=char0,tag=myfs
	-kernel "$tmp/vmlinuz" -initrd "$tmp/initrd.img" -append "$params")
# shellcheck disable=SC2034
cmd_vmm=("$tmp/vmm" "${base[@]}")
# shellcheck disable=SC2034
cmd_q35=("$qemu" "${base[@]}")
fsd_args=(--socket-path="$sock" -o source="$tmp/share" -o cache=none)

# find_vcpus PID: sets vcpus (the vCPU thread ids, space-separated) and
# vcpu_by. By name (ours: vcpuN; QEMU with -name debug-threads=on: "CPU
# N/KVM"), else the threads sitting in ioctl(KVM_RUN) on a kvm-vcpu fd (an
# idle vCPU halts inside KVM, so all of them are there when the guest waits
# for our "go").
find_vcpus() {
	local pid=$1 t comm nr fd try
	vcpus='' vcpu_by=name
	for t in /proc/"$pid"/task/*; do
		comm=$(cat "$t/comm" 2>/dev/null) || continue
		[[ $comm =~ ^vcpu[0-9]+$ || $comm =~ ^CPU\ [0-9]+/KVM$ ]] && vcpus+=" ${t##*/}"
	done
	[[ -z $vcpus ]] || return 0
	vcpu_by=kvm_run
	for ((try = 0; try < 20; try++)); do
		for t in /proc/"$pid"/task/*; do
			[[ " $vcpus " == *" ${t##*/} "* ]] && continue
			read -r nr fd _ <"$t/syscall" 2>/dev/null || continue
			[[ $nr == 16 && $fd == 0x* ]] || continue
			[[ $(readlink "/proc/$pid/fd/$((fd))" 2>/dev/null) == anon_inode:kvm-vcpu* ]] && vcpus+=" ${t##*/}"
		done
		# -smp 1: one is all there is.
		[[ -z $vcpus ]] || break
		sleep 0.05
	done
}

# cpu_ns PID "VCPU TIDS": summed schedstat run time of the other threads.
cpu_ns() {
	local pid=$1 vcpus=" $2 " t run sum=0
	for t in /proc/"$pid"/task/*; do
		[[ $vcpus == *" ${t##*/} "* ]] && continue
		read -r run _ <"$t/schedstat" 2>/dev/null || continue
		sum=$((sum + run))
	done
	echo "$sum"
}

# Per-phase state.
ph_name='' ph_t0='' ph_cpu0='' ph_vcpus='' ctl_fd='' ack_fd='' win_fd='' cur='' cur_round=''

# phase_begin PHASE: start counting (perf attached, events enabled), then
# let the guest go.
phase_begin() {
	local a
	ph_name=$1
	find_vcpus "$vm_pid"
	ph_vcpus=$vcpus
	if ((have_perf)); then
		rm -f "$tmp/ctl" "$tmp/ack" "$tmp/perf.csv"
		mkfifo "$tmp/ctl" "$tmp/ack"
		exec {ctl_fd}<>"$tmp/ctl" {ack_fd}<>"$tmp/ack"
		perf stat -e task-clock,kvm:kvm_userspace_exit,kvm:kvm_exit --per-thread -p "$vm_pid" -x, -D -1 \
			--control "fifo:$tmp/ctl,$tmp/ack" -o "$tmp/perf.csv" 2>"$tmp/perf.err" &
		perf_pid=$!
		echo enable >&"$ctl_fd"
		if ! read -r -t 60 -u "$ack_fd" a; then
			echo "$prog: perf did not acknowledge 'enable' (phase $ph_name)" >&2
			cat "$tmp/perf.err" >&2
		fi
	fi
	ph_cpu0=$(cpu_ns "$vm_pid" "$ph_vcpus")
	ph_t0=$EPOCHREALTIME
	echo go >&"$win_fd"
}

# phase_end NAME GUEST_US: stop counting, record the figures.
phase_end() {
	local name=$1 gus=$2 a t1 cpu1 wall_us exits='' all_exits='' task_ns='' tid val ev
	if ((have_perf)) && [[ -n $perf_pid ]]; then
		echo disable >&"$ctl_fd"
		read -r -t 60 -u "$ack_fd" a || echo "$prog: perf did not acknowledge 'disable'" >&2
	fi
	t1=$EPOCHREALTIME
	cpu1=$(cpu_ns "$vm_pid" "$ph_vcpus")
	wall_us=$(($(us_of "$t1") - $(us_of "$ph_t0")))
	if ((have_perf)) && [[ -n $perf_pid ]]; then
		kill -INT "$perf_pid" 2>/dev/null
		wait "$perf_pid" 2>/dev/null
		perf_pid=
		exec {ctl_fd}>&- {ack_fd}>&-
		exits=0 all_exits=0 task_ns=0
		# --per-thread -x,: COMM-TID,VALUE,UNIT,EVENT,...
		while IFS=, read -r tid val _ ev _; do
			[[ $tid == *-* && $val =~ ^[0-9.]+$ ]] || continue
			tid=${tid##*-}
			case $ev in
			kvm:kvm_userspace_exit) exits=$((exits + ${val%.*})) ;;
			kvm:kvm_exit) all_exits=$((all_exits + ${val%.*})) ;;
			task-clock)
				[[ " $ph_vcpus " == *" $tid "* ]] && continue
				# msec with decimals
				task_ns=$(awk -v a="$task_ns" -v v="$val" 'BEGIN { printf "%.0f", a + v * 1e6 }')
				;;
			esac
		done <"$tmp/perf.csv"
	fi
	local proc_ns=$((cpu1 - ph_cpu0)) cpu_ns_used
	cpu_ns_used=${task_ns:-$proc_ns}
	record "$cur:$name:guest_us" "$cur_round" "$gus"
	# Rates per run, so that the ratio of a round is of MiB/s, higher better.
	[[ $name != write-* && $name != read-* ]] ||
		record "$cur:$name:mibs" "$cur_round" "$(awk -v mb="${name#*-}" -v us="$gus" 'BEGIN { printf "%.6g", (us > 0 ? mb * 1e6 / us : 0) }')"
	record "$cur:$name:wall_us" "$cur_round" "$wall_us"
	[[ -z $exits ]] || record "$cur:$name:exits" "$cur_round" "$exits"
	[[ -z $all_exits ]] || record "$cur:$name:all_exits" "$cur_round" "$all_exits"
	record "$cur:$name:cpu_pct" "$cur_round" "$(awk -v c="$cpu_ns_used" -v w="$wall_us" 'BEGIN { printf "%.4f", (w > 0 ? c / 10 / w : 0) }')"
	logf "$(printf 'phase %-8s %-9s guest_us=%s host_wall_us=%s exits=%s all_kvm_exits=%s nonvcpu_cpu_ns(perf)=%s nonvcpu_cpu_ns(proc)=%s vcpus=[%s] by %s' \
		"$cur" "$name" "$gus" "$wall_us" "${exits:--}" "${all_exits:--}" "${task_ns:--}" "$proc_ns" "${ph_vcpus# }" "$vcpu_by")"
	ph_name=
}

# fs_line LINE: the phases, the guest's figures and verdict.
fs_line() {
	local line=$1
	case $line in
	*"VMMTEST: phase "*" ready"*)
		[[ $line =~ phase\ ([a-z0-9-]+)\ ready ]] && phase_begin "${BASH_REMATCH[1]}"
		;;
	*"VMMTEST: phase "*" end us="*)
		[[ $line =~ phase\ ([a-z0-9-]+)\ end\ us=([0-9]+) ]] &&
			[[ ${BASH_REMATCH[1]} == "$ph_name" ]] && phase_end "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
		if [[ $line =~ create_ops=([0-9.]+)\ stat_ops=([0-9.]+)\ unlink_ops=([0-9.]+) ]]; then
			record "$cur:create_ops" "$cur_round" "${BASH_REMATCH[1]}"
			record "$cur:stat_ops" "$cur_round" "${BASH_REMATCH[2]}"
			record "$cur:unlink_ops" "$cur_round" "${BASH_REMATCH[3]}"
		fi
		;;
	*"VMMTEST: bench "*)
		[[ $line =~ meta_ops=([0-9.]+) ]] && record "$cur:meta_ops" "$cur_round" "${BASH_REMATCH[1]}"
		;;
	*"VMMTEST: result virtiofs-bench FAIL"*)
		why="guest check failed: ${line#*FAIL }"
		;;
	esac
}

# run_one NAME ROUND: one boot of VMM NAME with a fresh virtiofsd.
run_one() {
	local name=$1 round=$2 fd why='' rc deadline t0 out=''
	local cmd_name
	cmd_name=$(cmd_var "$name")
	local -n cmd=$cmd_name
	cur=$name cur_round=$round
	rm -rf "$tmp/share" "$sock" "$tmp/in"
	mkdir -p "$tmp/share"
	setsid "$virtiofsd" "${fsd_args[@]}" </dev/null >"$tmp/virtiofsd.log" 2>&1 &
	fsd_pid=$!
	deadline=$((SECONDS + 30))
	until [[ -S $sock ]]; do
		if ((SECONDS > deadline)) || ! kill -0 "$fsd_pid" 2>/dev/null; then
			echo "$prog: virtiofsd did not start:" >&2
			cat "$tmp/virtiofsd.log" >&2
			failures=$((failures + 1))
			return
		fi
		sleep 0.05
	done
	mkfifo "$tmp/in"
	t0=$EPOCHREALTIME
	exec {fd}< <(exec "${cmd[@]}" <"$tmp/in" 2>"$tmp/err")
	vm_pid=$!
	exec {win_fd}>"$tmp/in"
	read_console "$fd" "$vm_pid" "$t0" fs_line
	exec {fd}<&- {win_fd}>&-
	wait "$vm_pid"
	rc=$?
	vm_pid=
	if [[ -n $perf_pid ]]; then
		kill -KILL "$perf_pid" 2>/dev/null
		wait "$perf_pid" 2>/dev/null
		perf_pid=
	fi
	# virtiofsd exits once the VMM has closed the connection.
	deadline=$((SECONDS + 15))
	while kill -0 "$fsd_pid" 2>/dev/null && ((SECONDS < deadline)); do
		sleep 0.1
	done
	kill -KILL -- "-$fsd_pid" 2>/dev/null
	wait "$fsd_pid" 2>/dev/null
	fsd_pid=
	[[ -n $why ]] || { ((rc == 0)) || why="exit status $rc"; }
	[[ -n $why || $out == *"VMMTEST: result virtiofs-bench PASS"* ]] || why="no PASS from the guest check"
	logf "run $name round=$round rc=$rc${why:+ FAILED: $why}"
	printf '%s' "$out" | grep -a 'VMMTEST:' | sed 's/^/  | /' >>"$log"
	if [[ -n $why ]]; then
		fail_run "$name" "$round" "$why" "$out" stderr 20 "$tmp/err" virtiofsd 10 "$tmp/virtiofsd.log"
		return
	fi
	printf '  %-9s round %s: %s\n' "$name" "$round" \
		"$(printf '%s' "$out" | grep -a 'VMMTEST: bench ' | tail -1 | sed 's/.*VMMTEST: bench //')"
}

{
	echo "# bench/virtiofs.sh $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	log_host
	echo "# vmm: $vmm ($(timeout 30 "$vmm" -version 2>&1 | head -1))"
	echo "# qemu: $qemu ($(timeout 30 "$qemu" -version | head -1))"
	echo "# virtiofsd: $virtiofsd ${fsd_args[*]} ($($virtiofsd --version 2>&1 | head -1))"
	log_guest
	echo "# sizes: $sizes MiB; files: $files; runs: $runs; perf: $have_perf"
	log_cmds "${names[@]}"
} >>"$log"

echo "virtiofs benchmark ($where): ${#names[@]} VMMs x $runs runs, sizes $sizes MiB, $files files, log $log"
take_turns 0 "$runs" run_one

# ---- the table ----
# Both columns even with --only: the other one shows "-".
cols=(vmm qemu-q35)
label_w=40 val_w=(10 10) ratio_w=(8)
first=${size_list[0]} last=${size_list[-1]}
table=$(
	echo "virtiofs benchmark ($where), $(date -u '+%Y-%m-%d'), median of $runs run(s); guest -m 512M -smp 1;"
	echo "virtiofsd -o cache=none; dd bs=1M (write conv=fsync; read after drop_caches)"
	((runs < 2)) || echo "vmm/q35: median of the per-round ratios (of MiB/s, ops/s, counts); spread: their min..max"
	header_row
	for s in "${size_list[@]}"; do
		for p in write read; do
			t=''
			if [[ $s == "$last" ]]; then
				pair "vmm:$p-$s:mibs" "qemu-q35:$p-$s:mibs"
				t="vmm/q35 >= 1.0: $(verdict "$pr" ge 1.0)"
			fi
			row "$p $s MiB (MiB/s)" "$p-$s:mibs" 1 1 "$t"
		done
	done
	if ((files > 0)); then
		pair vmm:meta_ops qemu-q35:meta_ops
		row "metadata, $files files (ops/s)" meta_ops 1 0 "vmm/q35 >= 1.0: $(verdict "$pr" ge 1.0)"
		for k in create stat unlink; do
			row "  $k (ops/s)" "${k}_ops" 1 0 ""
		done
	fi
	for p in write read; do
		for s in "${size_list[@]}"; do
			row "userspace exits, $p $s MiB" "$p-$s:exits" 1 0 ""
		done
		if ((${#size_list[@]} > 1)); then
			ea=$(median "vmm:$p-$first:exits") eb=$(median "vmm:$p-$last:exits")
			qa=$(median "qemu-q35:$p-$first:exits") qb=$(median "qemu-q35:$p-$last:exits")
			slope() { [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" -v d=$((last - first)) 'BEGIN { printf "%.2f", (b - a) / d }'; }
			sv=$(slope "$ea" "$eb") sq=$(slope "$qa" "$qb")
			row_cells "  extra exits per extra MiB, $p" \
				"does not grow with I/O (< 1 per MiB): $(verdict "$sv" lt 1)" "${sv:--}" "${sq:--}"
		fi
	done
	# All exits, in-kernel ones too: not a target, a lead when a ratio is
	# below 1 with equal userspace exits (EOI, MSR, HLT, NPF... cost an exit
	# each, which nested in the lab is expensive).
	for p in "write-$last" "read-$last" meta; do
		[[ $p != meta ]] || ((files > 0)) || continue
		row "all KVM exits (kvm:kvm_exit), $p" "$p:all_exits" 1 0 ""
	done
	for p in write read; do
		a=$(median "vmm:$p-$last:cpu_pct") b=$(median "qemu-q35:$p-$last:cpu_pct")
		row_cells "non-vCPU CPU, $p $last MiB (% of wall)" "< 1%: $(verdict "$a" lt 1)" "$(fmt "$a" 2)" "$(fmt "$b" 2)"
	done
	echo
	echo "Reference (lab, earlier, QEMU q35 + virtiofsd): write ~40 MiB/s, read ~90 MiB/s."
	[[ $where == native ]] || echo "In the lab only ratios against QEMU in the same run count."
)
finish "$table" "run(s)"
