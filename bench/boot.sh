#!/bin/bash
# bench/boot.sh [--runs N] [--warmup N] [--timeout S] [--log FILE]
#
# Boot benchmark: our VMM (build/vmm, the optimized build) against Debian's
# QEMU with -M q35 and -M microvm, booting the test guest (build/guest, `make
# guest`) with -m 512M -smp 1 and vmmtest.check=none, so the guest powers off
# as soon as /init has printed "VMMTEST: boot-complete uptime=<s>".
# Reports, never asserts: the targets are printed next to the figures.
#
# Needs a working /dev/kvm: run it through bench/run.sh (`make bench`), which
# puts it in the lab on hosts without VMX/SVM, or `tests/lab/run -- bench/boot.sh`.
#
# Per boot, all three alike (timestamps taken by this script as stdout lines
# arrive; $EPOCHREALTIME, microseconds):
#   launch -> exit        fork of the VMM to its exit
#   launch -> marker      fork to the boot-complete line on the VMM's stdout
#   guest uptime          the uptime the guest prints in that line
#   before kernel clock   (launch -> marker) - guest uptime: VMM start-up,
#                         firmware, kernel loading and decompression
#   marker -> exit        guest power-off and VMM teardown
#   overhead RSS          RssAnon + RssFile of the VMM process (MiB) sampled
#                         when the marker arrives; guest RAM is a memfd for all
#                         three (memory-backend-memfd), so it is RssShmem and
#                         not counted
#   launch -> 1st entry   fork to the first ioctl(KVM_RUN), stamped by an
#                         LD_PRELOAD shim (bench/kvmrun-stamp.c; needs gcc)
#   main -> 1st entry     our VMM only: what `vmm -v` prints at exit
# The VMMs take turns round-robin (the first of each round rotates) so that
# noise hits all alike; figures are medians. Kernel, initrd, the VMM binary
# and the shim are copied to a temporary directory first so that every boot
# reads them from the same (page-cached) place. Raw runs and the table go to
# build/bench/boot-<date>.log. Environment: VMM, QEMU, KERNEL, INITRD override
# the binaries and guest; BENCH_RUNS sets the default of --runs.
set -uo pipefail

prog=bench/boot.sh
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)

runs=${BENCH_RUNS:-5}
warmup=1
timeout=300
log=
usage() {
	echo "usage: $prog [--runs N] [--warmup N] [--timeout SECS] [--log FILE]" >&2
	echo "  --runs N      measured boots per VMM (default 5, or \$BENCH_RUNS)" >&2
	echo "  --warmup N    unmeasured rounds first (default 1)" >&2
	echo "  --timeout S   give up on a boot after S seconds (default 300)" >&2
	echo "  --log FILE    raw runs and table (default build/bench/boot-DATE.log)" >&2
	exit 2
}
die() { echo "$prog: $*" >&2; exit 1; }
while (($#)); do
	case $1 in
	--runs) (($# >= 2)) || usage; runs=$2; shift 2 ;;
	--runs=*) runs=${1#*=}; shift ;;
	--warmup) (($# >= 2)) || usage; warmup=$2; shift 2 ;;
	--warmup=*) warmup=${1#*=}; shift ;;
	--timeout) (($# >= 2)) || usage; timeout=$2; shift 2 ;;
	--timeout=*) timeout=${1#*=}; shift ;;
	--log) (($# >= 2)) || usage; log=$2; shift 2 ;;
	--log=*) log=${1#*=}; shift ;;
	-h | --help) usage ;;
	*) echo "$prog: unknown argument '$1'" >&2; usage ;;
	esac
done
[[ $runs =~ ^[1-9][0-9]*$ ]] || die "--runs wants a positive whole number, not '$runs'"
[[ $warmup =~ ^[0-9]+$ ]] || die "--warmup wants a whole number, not '$warmup'"
[[ $timeout =~ ^[1-9][0-9]*$ ]] || die "--timeout wants whole seconds, not '$timeout'"

vmm=${VMM:-$top/build/vmm}
qemu=${QEMU:-qemu-system-x86_64}
kernel=${KERNEL:-$top/build/guest/vmlinuz}
initrd=${INITRD:-$top/build/guest/initrd.img}
[[ -x $vmm ]] || die "$vmm missing: run make"
[[ -r $kernel && -r $initrd ]] || die "test guest missing ($kernel, $initrd): run make guest"
qemu=$(command -v "$qemu") || die "qemu-system-x86_64 not found (make deps)"
[[ -r /dev/kvm && -w /dev/kvm ]] || die "/dev/kvm is not usable here; run through bench/run.sh or tests/lab/run"
if [[ -x $top/tests/lab/detect && $(LAB='' "$top/tests/lab/detect" 2>/dev/null) == lab ]]; then
	die "this host's /dev/kvm cannot boot the guest; run through bench/run.sh (make bench) or tests/lab/run -- $prog"
fi

stamp=$(date +%Y%m%d-%H%M%S)
mkdir -p "$top/build/bench" || die "cannot create build/bench"
[[ -n $log ]] || log=$top/build/bench/boot-$stamp.log
: >"$log" || die "cannot write $log"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-bench-boot.XXXXXX") || die "mktemp failed"
cur_pid=
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	[[ -z $cur_pid ]] || kill -KILL "$cur_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The shim: built next to the other outputs when stale. Without a compiler
# the launch -> first entry row stays empty.
shim_src=$top/bench/kvmrun-stamp.c
shim=$top/build/bench/kvmrun-stamp.so
if [[ ! -e $shim || $shim_src -nt $shim ]]; then
	if ! ${CC:-gcc} -O2 -shared -fPIC -o "$shim.tmp" "$shim_src" -ldl 2>"$tmp/cc.err"; then
		echo "$prog: cannot build the KVM_RUN stamp shim, no launch -> first entry figures:" >&2
		cat "$tmp/cc.err" >&2
		rm -f "$shim.tmp"
	else
		mv -f "$shim.tmp" "$shim"
	fi
fi
preload=
if [[ -e $shim ]]; then
	cp "$shim" "$tmp/kvmrun-stamp.so" && preload=$tmp/kvmrun-stamp.so
fi
if ! cp "$kernel" "$tmp/vmlinuz" || ! cp "$initrd" "$tmp/initrd.img" || ! cp "$vmm" "$tmp/vmm"; then
	die "cannot copy the guest and VMM to $tmp"
fi

params="console=ttyS0 quiet panic=-1 vmmtest.check=none"
# One command line for all: our VMM takes QEMU's syntax. Guest RAM is a memfd
# everywhere so that it shows up as RssShmem, not in the overhead.
# shellcheck disable=SC2054
base=(-accel kvm -cpu host -nographic -no-reboot -nodefaults -serial stdio
	-m 512M -smp 1 -object memory-backend-memfd,id=mem,size=512M
	-kernel "$tmp/vmlinuz" -initrd "$tmp/initrd.img" -append "$params")
names=(vmm qemu-q35 qemu-microvm)
# cmd_<name without qemu-> are used through namerefs.
# shellcheck disable=SC2034,SC2054
cmd_vmm=("$tmp/vmm" -v -M q35,memory-backend=mem "${base[@]}")
# shellcheck disable=SC2034,SC2054
cmd_q35=("$qemu" -M q35,memory-backend=mem "${base[@]}")
# microvm: no option ROMs (qboot loads the kernel itself), no RTC; ACPI on
# (the default; spelled out) because the Debian kernel finds no MP table.
# shellcheck disable=SC2034,SC2054
cmd_microvm=("$qemu" -M microvm,x-option-roms=off,rtc=off,acpi=on,memory-backend=mem "${base[@]}")

# Results: res[name:metric] is a space-separated list of values, one a run.
declare -A res
failures=0

logf() { printf '%s\n' "$*" >>"$log"; }

# us_of SEC.FRACTION: microseconds as an integer (bash arithmetic, no fork).
us_of() {
	local s=${1%%.*} f=${1#*.}
	[[ $1 == *.* ]] || f=
	f=${f}000000
	f=${f:0:6}
	echo $((10#$s * 1000000 + 10#$f))
}

# boot NAME ROUND MEASURE: one boot, results into res[] when MEASURE=1.
boot() {
	local name=$1 round=$2 measure=$3
	local -n cmd=cmd_${name#qemu-}
	local err=$tmp/err stampf=$tmp/stamp out='' line now fd
	local t0 t_marker='' t_exit uptime='' rc status_ok=1
	local rss_anon='' rss_file='' rss_shmem='' vm_rss='' hwm='' k v _
	local deadline left first='' mainfirst='' why=''
	rm -f "$err" "$stampf"

	t0=$EPOCHREALTIME
	if [[ -n $preload ]]; then
		exec {fd}< <(BENCH_KVMRUN_STAMP=$stampf LD_PRELOAD=$preload exec "${cmd[@]}" </dev/null 2>"$err")
	else
		exec {fd}< <(exec "${cmd[@]}" </dev/null 2>"$err")
	fi
	cur_pid=$!
	deadline=$(($(us_of "$t0") + timeout * 1000000))
	while :; do
		left=$((deadline - $(us_of "$EPOCHREALTIME")))
		if ((left <= 0)); then
			why="timed out after ${timeout}s"
			kill -KILL "$cur_pid" 2>/dev/null
			break
		fi
		IFS= read -r -t "$((left / 1000000 + 1))" -u "$fd" line
		rc=$?
		((rc > 128)) && continue    # read timed out: re-check the deadline
		((rc == 0)) || [[ -n $line ]] || break
		now=$EPOCHREALTIME
		line=${line%$'\r'}
		out+=$line$'\n'
		if [[ -z $t_marker && $line =~ VMMTEST:\ boot-complete\ uptime=([0-9.]+) ]]; then
			t_marker=$now
			uptime=${BASH_REMATCH[1]}
			{
				while IFS=$': \t' read -r k v _; do
					case $k in
					RssAnon) rss_anon=$v ;;
					RssFile) rss_file=$v ;;
					RssShmem) rss_shmem=$v ;;
					VmRSS) vm_rss=$v ;;
					VmHWM) hwm=$v ;;
					esac
				done <"/proc/$cur_pid/status"
			} 2>/dev/null
		fi
		((rc == 0)) || break
	done
	exec {fd}<&-
	wait "$cur_pid"
	rc=$?
	t_exit=$EPOCHREALTIME
	cur_pid=

	[[ -s $stampf ]] && first=$(($(us_of "$(<"$stampf")") - $(us_of "$t0")))
	if [[ -s $err && $(<"$err") =~ first\ vCPU\ entry\ ([0-9.]+)\ ms ]]; then
		mainfirst=${BASH_REMATCH[1]}
	fi
	[[ -n $why ]] || { ((rc == 0)) || why="exit status $rc"; }
	[[ -n $why || -n $t_marker ]] || why="no boot-complete marker"
	[[ -n $why || -n $rss_anon ]] || why="no /proc status sample"
	[[ -z $why ]] || status_ok=0

	local wall_us=$(($(us_of "$t_exit") - $(us_of "$t0")))
	local mark_us='' up_us='' before_us='' down_us='' rss_kb=''
	if [[ -n $t_marker ]]; then
		mark_us=$(($(us_of "$t_marker") - $(us_of "$t0")))
		up_us=$(us_of "$uptime")
		before_us=$((mark_us - up_us))
		down_us=$((wall_us - mark_us))
	fi
	[[ -z $rss_anon ]] || rss_kb=$((rss_anon + rss_file))
	logf "$(printf 'run %-12s round=%s%s rc=%s wall_us=%s marker_us=%s uptime=%s before_clock_us=%s marker_to_exit_us=%s rss_anon_kb=%s rss_file_kb=%s rss_shmem_kb=%s vm_rss_kb=%s vm_hwm_kb=%s first_kvm_run_us=%s vmm_v_first_entry_ms=%s%s' \
		"$name" "$round" "$( ((measure)) || echo ' warmup')" "$rc" "$wall_us" "${mark_us:--}" "${uptime:--}" \
		"${before_us:--}" "${down_us:--}" "${rss_anon:--}" "${rss_file:--}" "${rss_shmem:--}" \
		"${vm_rss:--}" "${hwm:--}" "${first:--}" "${mainfirst:--}" "${why:+ FAILED: $why}")"
	if ((!status_ok)); then
		failures=$((failures + 1))
		echo "$prog: $name round $round FAILED: $why" >&2
		{
			echo "  --- stdout (last 20 lines)"
			printf '%s' "$out" | tail -n 20 | sed 's/^/  | /'
			echo "  --- stderr (last 20 lines)"
			tail -n 20 "$err" 2>/dev/null | sed 's/^/  | /'
		} | tee -a "$log" >&2
		return
	fi
	((measure)) || return
	res[$name:wall]+=" $wall_us"
	res[$name:marker]+=" $mark_us"
	res[$name:uptime]+=" $up_us"
	res[$name:before]+=" $before_us"
	res[$name:down]+=" $down_us"
	res[$name:rss]+=" $rss_kb"
	[[ -z $first ]] || res[$name:first]+=" $first"
	[[ -z $mainfirst ]] || res[$name:mainfirst]+=" $mainfirst"
	printf '  %-12s round %s: exit %6.2f s, marker %6.2f s, uptime %5.2f s, RSS %5.1f MiB%s\n' \
		"$name" "$round" "$(awk "BEGIN{print $wall_us/1e6}")" "$(awk "BEGIN{print $mark_us/1e6}")" \
		"$(awk "BEGIN{print $up_us/1e6}")" "$(awk "BEGIN{print $rss_kb/1024}")" \
		"${first:+, 1st KVM_RUN $(awk "BEGIN{printf \"%.1f\", $first/1e3}") ms}"
}

# median of the values in res[KEY] (empty when none), divided by DIV.
median() {
	local vals=${res[$1]:-}
	[[ -n ${vals// /} ]] || return 0
	# shellcheck disable=SC2086  # one value a word
	printf '%s\n' $vals | sort -g | awk -v d="$2" '{ a[NR] = $1 }
		END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.6g", m / d }'
}
spread() {
	local vals=${res[$1]:-}
	[[ -n ${vals// /} ]] || return 0
	# shellcheck disable=SC2086  # one value a word
	printf '%s\n' $vals | sort -g | awk -v d="$2" '{ a[NR] = $1 }
		END { printf "%.4g..%.4g (n=%d)", a[1] / d, a[NR] / d, NR }'
}

where=native
[[ ${LAB_INSIDE:-} == 1 ]] && where="lab (QEMU-TCG L1, nested KVM)"
{
	echo "# bench/boot.sh $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	echo "# where: $where; host $(uname -n) $(uname -r); $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
	echo "# tree: $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?') ($(git -C "$top" log -1 --format=%s 2>/dev/null | cut -c1-70))"
	echo "# vmm: $vmm ($(timeout 30 "$vmm" -version 2>&1 | head -1), built $(date -u -r "$vmm" '+%Y-%m-%d %H:%M:%S UTC'))"
	echo "# qemu: $qemu ($(timeout 30 "$qemu" -version | head -1))"
	echo "# guest: $kernel ($(cat "$top/build/guest/kernel-version" 2>/dev/null || echo '?')), $initrd"
	echo "# runs: $runs measured + $warmup warm-up rounds; shim: ${preload:-none}"
	for n in "${names[@]}"; do
		declare -n c=cmd_${n#qemu-}
		echo "# $n: ${c[*]}"
		unset -n c
	done
} >>"$log"

echo "boot benchmark ($where): ${#names[@]} VMMs x $runs runs (+$warmup warm-up), log $log"
total=$((warmup + runs))
for ((r = 0; r < total; r++)); do
	measure=1
	((r < warmup)) && measure=0
	round=$((r - warmup + 1))
	((measure)) || round=w$((r + 1))
	for ((j = 0; j < ${#names[@]}; j++)); do
		n=${names[$(((r + j) % ${#names[@]}))]}
		boot "$n" "$round" "$measure"
	done
done

# ---- the table ----
fmt() { [[ -n $1 ]] && printf '%.*f' "$2" "$1" || printf -- '-'; }
ratio() {
	[[ -n $1 && -n $2 ]] && awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "-" }' ||
		printf -- '-'
}
# row LABEL KEY DIVISOR DECIMALS TARGET
row() {
	local label=$1 key=$2 div=$3 dec=$4 target=$5 a b c
	a=$(median "vmm:$key" "$div")
	b=$(median "qemu-q35:$key" "$div")
	c=$(median "qemu-microvm:$key" "$div")
	printf '%-32s %9s %9s %12s %8s %11s  %s\n' "$label" "$(fmt "$a" "$dec")" "$(fmt "$b" "$dec")" \
		"$(fmt "$c" "$dec")" "$(ratio "$a" "$b")" "$(ratio "$a" "$c")" "$target"
}
# verdict VALUE le|lt LIMIT: "met" or "missed" ("?" without a value)
verdict() {
	awk -v x="$1" -v op="$2" -v lim="$3" 'BEGIN {
		if (x == "" || x == "-") { print "?"; exit }
		ok = (op == "lt") ? (x + 0 < lim + 0) : (x + 0 <= lim + 0)
		print ok ? "met" : "missed" }'
}

wall_v=$(median vmm:wall 1e6) wall_q=$(median qemu-q35:wall 1e6)
rss_v=$(median vmm:rss 1024)
first_v=$(median vmm:first 1e3)
wall_ratio=$(ratio "$wall_v" "$wall_q")
lab_note=
[[ $where == native ]] || lab_note=" (absolute ms mean little in the lab)"
table=$(
	echo "Boot benchmark, medians of $runs runs ($where), $(date -u '+%Y-%m-%d')"
	printf '%-32s %9s %9s %12s %8s %11s  %s\n' metric vmm qemu-q35 qemu-microvm vmm/q35 vmm/microvm target
	row "launch -> exit (s)" wall 1e6 2 "vmm/q35 <= 0.50: $(verdict "$wall_ratio" le 0.5) ($wall_ratio)"
	row "launch -> boot-complete (s)" marker 1e6 2 ""
	row "guest uptime at marker (s)" uptime 1e6 2 ""
	row "before guest kernel clock (s)" before 1e6 2 ""
	row "marker -> exit (s)" down 1e6 2 ""
	row "overhead RSS anon+file (MiB)" rss 1024 1 "< 2 MiB: $(verdict "$rss_v" lt 2)"
	row "launch -> 1st KVM_RUN (ms)" first 1e3 1 "< 5 ms: $(verdict "$first_v" lt 5)$lab_note"
	row "main() -> 1st entry, vmm -v (ms)" mainfirst 1 1 ""
	echo
	echo "Reference (lab, earlier, medians of 5): launch -> exit q35 11.8 s, microvm 14.6 s, kvmtool 9.3 s;"
	echo "  before the kernel clock q35 6.4 s, kvmtool 3.4 s; overhead RSS q35 49 MB, kvmtool 2.1 MB."
	[[ $where == native ]] || echo "In the lab only ratios against the peers of the same run count."
)
{
	echo
	echo "# spread (min..max)"
	for n in "${names[@]}"; do
		for k in wall:1e6 marker:1e6 uptime:1e6 before:1e6 down:1e6 rss:1024 first:1e3 mainfirst:1; do
			s=$(spread "$n:${k%%:*}" "${k#*:}")
			[[ -z $s ]] || printf '# %-12s %-9s %s\n' "$n" "${k%%:*}" "$s"
		done
	done
	echo
	echo "$table"
} >>"$log"
echo
echo "$table"
echo
echo "raw runs: $log"
if ((failures)); then
	echo "$prog: $failures boot(s) failed; see the log" >&2
	exit 1
fi
exit 0
