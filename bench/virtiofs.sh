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
set -uo pipefail

prog=bench/virtiofs.sh
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

runs=${BENCH_FS_RUNS:-1}
sizes="64 256"
# 10000 files take minutes per VMM in the lab (~120 creates/s under nested
# KVM on TCG), so the lab's default is smaller.
files=10000
[[ ${LAB_INSIDE:-} != 1 ]] || files=2000
timeout=900
only=
log=
usage() {
	echo "usage: $prog [--runs N] [--mb \"N [N...]\"] [--files N] [--only NAME] [--timeout SECS] [--log FILE]" >&2
	echo "  --runs N      runs per VMM, taking turns (default 1, or \$BENCH_FS_RUNS)" >&2
	echo "  --mb LIST     file sizes in MiB for the write/read phases (default \"64 256\");" >&2
	echo "                the exit-growth target compares the first and the last" >&2
	echo "  --files N     files for the metadata phase (default 10000, 2000 in the lab; 0 skips it)" >&2
	echo "  --only NAME   just one of vmm, qemu-q35 (no ratios then)" >&2
	echo "  --timeout S   give up on a VM after S seconds (default 900)" >&2
	echo "  --log FILE    raw runs and table (default build/bench/virtiofs-DATE.log)" >&2
	exit 2
}
die() { echo "$prog: $*" >&2; exit 1; }
while (($#)); do
	case $1 in
	--runs) (($# >= 2)) || usage; runs=$2; shift 2 ;;
	--runs=*) runs=${1#*=}; shift ;;
	--mb) (($# >= 2)) || usage; sizes=$2; shift 2 ;;
	--mb=*) sizes=${1#*=}; shift ;;
	--files) (($# >= 2)) || usage; files=$2; shift 2 ;;
	--files=*) files=${1#*=}; shift ;;
	--only) (($# >= 2)) || usage; only=$2; shift 2 ;;
	--only=*) only=${1#*=}; shift ;;
	--timeout) (($# >= 2)) || usage; timeout=$2; shift 2 ;;
	--timeout=*) timeout=${1#*=}; shift ;;
	--log) (($# >= 2)) || usage; log=$2; shift 2 ;;
	--log=*) log=${1#*=}; shift ;;
	-h | --help) usage ;;
	*) echo "$prog: unknown argument '$1'" >&2; usage ;;
	esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive whole number, not '$runs'"
sizes=${sizes//,/ }
read -r -a size_list <<<"$sizes"
((${#size_list[@]})) || die "--mb wants at least one size"
for s in "${size_list[@]}"; do
	[[ $s =~ ^[1-9][0-9]*$ ]] || die "--mb wants sizes in MiB, not '$s'"
done
[[ $files =~ ^[0-9]+$ ]] || die "--files wants a whole number, not '$files'"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout wants whole seconds, not '$timeout'"

vmm=${VMM:-$top/build/vmm}
qemu=${QEMU:-qemu-system-x86_64}
kernel=${KERNEL:-$top/build/guest/vmlinuz}
initrd=${INITRD:-$top/build/guest/initrd.img}
virtiofsd=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
[[ -x $vmm ]] || die "$vmm missing: run make"
[[ -r $kernel && -r $initrd ]] || die "test guest missing ($kernel, $initrd): run make guest"
qemu=$(command -v "$qemu") || die "qemu-system-x86_64 not found (make deps)"
[[ -x $virtiofsd ]] || die "$virtiofsd not found (qemu-system-common; make deps)"
[[ -r /dev/kvm && -w /dev/kvm ]] || die "/dev/kvm is not usable here; run through bench/run.sh or tests/lab/run"
if [[ -x $top/tests/lab/detect && $(LAB='' "$top/tests/lab/detect" 2>/dev/null) == lab ]]; then
	die "this host's /dev/kvm cannot boot the guest; run through bench/run.sh (make bench) or tests/lab/run -- $prog"
fi

stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p "$top/build/bench" || die "cannot create build/bench"
[[ -n $log ]] || log=$top/build/bench/virtiofs-$stamp.log
: >"$log" || die "cannot write $log"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-bench-fs.XXXXXX") || die "mktemp failed"
vm_pid='' fsd_pid='' perf_pid=''
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	[[ -z $perf_pid ]] || kill -KILL "$perf_pid" 2>/dev/null
	[[ -z $vm_pid ]] || kill -KILL "$vm_pid" 2>/dev/null
	[[ -z $fsd_pid ]] || kill -KILL -- "-$fsd_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
# A VMM that died must not take us with it when we write "go" to its stdin.
trap '' PIPE

# perf and its KVM tracepoint (perf mounts tracefs itself when needed).
have_perf=0
if command -v perf >/dev/null && perf stat -e kvm:kvm_userspace_exit -x, -o "$tmp/perf-probe" -- true 2>"$tmp/perf-probe.err"; then
	have_perf=1
else
	echo "$prog: perf stat -e kvm:kvm_userspace_exit does not work here: no exit counts, CPU time from /proc:" >&2
	cat "$tmp/perf-probe.err" >&2
fi

if ! cp "$kernel" "$tmp/vmlinuz" || ! cp "$initrd" "$tmp/initrd.img" || ! cp "$vmm" "$tmp/vmm"; then
	die "cannot copy the guest and VMM to $tmp"
fi

sock=$tmp/fs.sock
params="console=ttyS0 quiet panic=-1 vmmtest.check=virtiofs-bench vmmtest.fs_tag=myfs"
params+=" vmmtest.bench_mb=${sizes// /,} vmmtest.bench_files=$files vmmtest.bench_sync=1"
# One command line for both: our VMM takes QEMU's syntax.
# shellcheck disable=SC2054
base=(-accel kvm -cpu host -M q35 -nographic -nodefaults -serial stdio -no-reboot
	-m 512M -smp 1 -object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem
	-chardev "socket,id=char0,path=$sock" -device vhost-user-fs-pci,chardev=char0,tag=myfs
	-kernel "$tmp/vmlinuz" -initrd "$tmp/initrd.img" -append "$params")
names=(vmm qemu-q35)
case $only in
'') ;;
vmm | qemu-q35) names=("$only") ;;
*) die "--only wants vmm or qemu-q35, not '$only'" ;;
esac
# shellcheck disable=SC2034
cmd_vmm=("$tmp/vmm" "${base[@]}")
# shellcheck disable=SC2034
cmd_q35=("$qemu" "${base[@]}")
fsd_args=(--socket-path="$sock" -o source="$tmp/share" -o cache=none)

declare -A res
failures=0
logf() { printf '%s\n' "$*" >>"$log"; }

us_of() {
	local s=${1%%.*} f=${1#*.}
	[[ $1 == *.* ]] || f=
	f=${f}000000
	f=${f:0:6}
	echo $((10#$s * 1000000 + 10#$f))
}

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
	echo $sum
}

# Per-phase state.
ph_name='' ph_t0='' ph_cpu0='' ph_vcpus='' ctl_fd='' ack_fd='' win_fd='' cur=''

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
	res[$cur:$name:guest_us]+=" $gus"
	res[$cur:$name:wall_us]+=" $wall_us"
	[[ -z $exits ]] || res[$cur:$name:exits]+=" $exits"
	[[ -z $all_exits ]] || res[$cur:$name:all_exits]+=" $all_exits"
	res[$cur:$name:cpu_pct]+=" $(awk -v c="$cpu_ns_used" -v w="$wall_us" 'BEGIN { printf "%.4f", (w > 0 ? c / 10 / w : 0) }')"
	logf "$(printf 'phase %-8s %-9s guest_us=%s host_wall_us=%s exits=%s all_kvm_exits=%s nonvcpu_cpu_ns(perf)=%s nonvcpu_cpu_ns(proc)=%s vcpus=[%s] by %s' \
		"$cur" "$name" "$gus" "$wall_us" "${exits:--}" "${all_exits:--}" "${task_ns:--}" "$proc_ns" "${ph_vcpus# }" "$vcpu_by")"
	ph_name=
}

# run_one NAME ROUND: one boot of VMM NAME with a fresh virtiofsd.
run_one() {
	local name=$1 round=$2 fd line why='' rc deadline left t0 out=''
	local -n cmd=cmd_${name#qemu-}
	cur=$name
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
	deadline=$(($(us_of "$t0") + timeout * 1000000))
	while :; do
		left=$((deadline - $(us_of "$EPOCHREALTIME")))
		if ((left <= 0)); then
			why="timed out after ${timeout}s"
			kill -KILL "$vm_pid" 2>/dev/null
			break
		fi
		IFS= read -r -t "$((left / 1000000 + 1))" -u "$fd" line
		rc=$?
		((rc > 128)) && continue
		((rc == 0)) || [[ -n $line ]] || break
		line=${line%$'\r'}
		out+=$line$'\n'
		case $line in
		*"VMMTEST: phase "*" ready"*)
			[[ $line =~ phase\ ([a-z0-9-]+)\ ready ]] && phase_begin "${BASH_REMATCH[1]}"
			;;
		*"VMMTEST: phase "*" end us="*)
			[[ $line =~ phase\ ([a-z0-9-]+)\ end\ us=([0-9]+) ]] &&
				[[ ${BASH_REMATCH[1]} == "$ph_name" ]] && phase_end "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}"
			if [[ $line =~ create_ops=([0-9.]+)\ stat_ops=([0-9.]+)\ unlink_ops=([0-9.]+) ]]; then
				res[$name:create_ops]+=" ${BASH_REMATCH[1]}"
				res[$name:stat_ops]+=" ${BASH_REMATCH[2]}"
				res[$name:unlink_ops]+=" ${BASH_REMATCH[3]}"
			fi
			;;
		*"VMMTEST: bench "*)
			[[ $line =~ meta_ops=([0-9.]+) ]] && res[$name:meta_ops]+=" ${BASH_REMATCH[1]}"
			;;
		*"VMMTEST: result virtiofs-bench FAIL"*)
			why="guest check failed: ${line#*FAIL }"
			;;
		esac
		((rc == 0)) || break
	done
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
		failures=$((failures + 1))
		echo "$prog: $name round $round FAILED: $why" >&2
		{
			echo "  --- stdout (last 20 lines)"
			printf '%s' "$out" | tail -n 20 | sed 's/^/  | /'
			echo "  --- stderr (last 20 lines)"
			tail -n 20 "$tmp/err" 2>/dev/null | sed 's/^/  | /'
			echo "  --- virtiofsd (last 10 lines)"
			tail -n 10 "$tmp/virtiofsd.log" 2>/dev/null | sed 's/^/  | /'
		} | tee -a "$log" >&2
		return
	fi
	printf '  %-9s round %s: %s\n' "$name" "$round" \
		"$(printf '%s' "$out" | grep -a 'VMMTEST: bench ' | tail -1 | sed 's/.*VMMTEST: bench //')"
}

median() {
	local vals=${res[$1]:-}
	[[ -n ${vals// /} ]] || return 0
	# shellcheck disable=SC2086
	printf '%s\n' $vals | sort -g | awk '{ a[NR] = $1 }
		END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.6g", m }'
}

where=native
[[ ${LAB_INSIDE:-} == 1 ]] && where="lab (QEMU-TCG L1, nested KVM)"
{
	echo "# bench/virtiofs.sh $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "# where: $where; host $(uname -n) $(uname -r); $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
	echo "# vmm: $vmm ($(timeout 30 "$vmm" -version 2>&1 | head -1))"
	echo "# qemu: $qemu ($(timeout 30 "$qemu" -version | head -1))"
	echo "# virtiofsd: $virtiofsd ${fsd_args[*]} ($($virtiofsd --version 2>&1 | head -1))"
	echo "# guest: $kernel ($(cat "$top/build/guest/kernel-version" 2>/dev/null || echo '?')), $initrd"
	echo "# sizes: $sizes MiB; files: $files; runs: $runs; perf: $have_perf"
	for n in "${names[@]}"; do
		declare -n c=cmd_${n#qemu-}
		echo "# $n: ${c[*]}"
		unset -n c
	done
} >>"$log"

echo "virtiofs benchmark ($where): ${#names[@]} VMMs x $runs runs, sizes $sizes MiB, $files files, log $log"
for ((r = 0; r < runs; r++)); do
	for ((j = 0; j < ${#names[@]}; j++)); do
		run_one "${names[$(((r + j) % ${#names[@]}))]}" $((r + 1))
	done
done

# ---- the table ----
fmt() { [[ -n $1 ]] && printf '%.*f' "$2" "$1" || printf -- '-'; }
ratio() {
	[[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }' ||
		printf -- '-'
}
verdict() {
	awk -v x="$1" -v op="$2" -v lim="$3" 'BEGIN {
		if (x == "" || x == "-") { print "?"; exit }
		ok = (op == "lt") ? (x + 0 < lim + 0) : (op == "ge") ? (x + 0 >= lim + 0) : (x + 0 <= lim + 0)
		print ok ? "met" : "missed" }'
}
# mibs NAME PHASE SIZE: MiB/s from the median guest time.
mibs() {
	local us
	us=$(median "$1:$2:guest_us")
	[[ -n $us ]] && awk -v mb="$3" -v us="$us" 'BEGIN { printf "%.6g", mb * 1e6 / us }'
}
row() { printf '%-40s %10s %10s %8s  %s\n' "$@"; }

first=${size_list[0]} last=${size_list[-1]}
table=$(
	echo "virtiofs benchmark ($where), $(date -u '+%Y-%m-%d'), median of $runs run(s); guest -m 512M -smp 1;"
	echo "virtiofsd -o cache=none; dd bs=1M (write conv=fsync; read after drop_caches)"
	row metric vmm qemu-q35 vmm/q35 target
	for s in "${size_list[@]}"; do
		for p in write read; do
			a=$(mibs vmm "$p-$s" "$s") b=$(mibs qemu-q35 "$p-$s" "$s")
			t=''
			[[ $s != "$last" ]] || t="vmm/q35 >= 1.0: $(verdict "$(ratio "$a" "$b")" ge 1.0)"
			row "$p $s MiB (MiB/s)" "$(fmt "$a" 1)" "$(fmt "$b" 1)" "$(ratio "$a" "$b")" "$t"
		done
	done
	if ((files > 0)); then
		a=$(median vmm:meta_ops) b=$(median qemu-q35:meta_ops)
		row "metadata, $files files (ops/s)" "$(fmt "$a" 0)" "$(fmt "$b" 0)" "$(ratio "$a" "$b")" \
			"vmm/q35 >= 1.0: $(verdict "$(ratio "$a" "$b")" ge 1.0)"
		for k in create stat unlink; do
			a=$(median "vmm:${k}_ops") b=$(median "qemu-q35:${k}_ops")
			row "  $k (ops/s)" "$(fmt "$a" 0)" "$(fmt "$b" 0)" "$(ratio "$a" "$b")" ""
		done
	fi
	for p in write read; do
		for s in "${size_list[@]}"; do
			a=$(median "vmm:$p-$s:exits") b=$(median "qemu-q35:$p-$s:exits")
			row "userspace exits, $p $s MiB" "$(fmt "$a" 0)" "$(fmt "$b" 0)" "$(ratio "$a" "$b")" ""
		done
		if ((${#size_list[@]} > 1)); then
			ea=$(median "vmm:$p-$first:exits") eb=$(median "vmm:$p-$last:exits")
			qa=$(median "qemu-q35:$p-$first:exits") qb=$(median "qemu-q35:$p-$last:exits")
			slope() { [[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" -v d=$((last - first)) 'BEGIN { printf "%.2f", (b - a) / d }'; }
			sv=$(slope "$ea" "$eb") sq=$(slope "$qa" "$qb")
			row "  extra exits per extra MiB, $p" "${sv:--}" "${sq:--}" "" \
				"does not grow with I/O (< 1 per MiB): $(verdict "$sv" lt 1)"
		fi
	done
	# All exits, in-kernel ones too: not a target, a lead when a ratio is
	# below 1 with equal userspace exits (EOI, MSR, HLT, NPF... cost an exit
	# each, which nested in the lab is expensive).
	for p in "write-$last" "read-$last" meta; do
		[[ $p != meta ]] || ((files > 0)) || continue
		a=$(median "vmm:$p:all_exits") b=$(median "qemu-q35:$p:all_exits")
		row "all KVM exits (kvm:kvm_exit), $p" "$(fmt "$a" 0)" "$(fmt "$b" 0)" "$(ratio "$a" "$b")" ""
	done
	for p in write read; do
		a=$(median "vmm:$p-$last:cpu_pct") b=$(median "qemu-q35:$p-$last:cpu_pct")
		row "non-vCPU CPU, $p $last MiB (% of wall)" "$(fmt "$a" 2)" "$(fmt "$b" 2)" "" \
			"< 1%: $(verdict "$a" lt 1)"
	done
	echo
	echo "Reference (lab, earlier, QEMU q35 + virtiofsd): write ~40 MiB/s, read ~90 MiB/s."
	[[ $where == native ]] || echo "In the lab only ratios against QEMU in the same run count."
)
{
	echo
	echo "$table"
} >>"$log"
echo
echo "$table"
echo
echo "raw runs: $log"
if ((failures)); then
	echo "$prog: $failures run(s) failed; see the log" >&2
	exit 1
fi
exit 0
