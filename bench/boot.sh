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
# noise hits all alike; figures are medians, ratios the median of the
# per-round ratios (with their spread from 2 rounds on). Kernel, initrd, the
# VMM binary and the shim are copied to a temporary directory first so that
# every boot reads them from the same (page-cached) place. Raw runs and the table go to
# build/bench/boot-<date>.log. Environment: VMM, QEMU, KERNEL, INITRD override
# the binaries and guest; BENCH_RUNS sets the default of --runs.
#
# The PVH fast path: when the uncompressed ELF of the same kernel is there
# (VMLINUX, default build/guest/vmlinux; `make guest` with lz4 installed),
# our VMM and QEMU q35 also boot it through its PVH entry note (vmm-pvh,
# qemu-q35-pvh: no decompressor, no real-mode setup), and a second table
# sets vmm-pvh against q35 booting the bzImage (what QEMU users run) and
# against q35 booting the same vmlinux.
# shellcheck disable=SC2317  # functions called through lib.sh (take_turns, read_console, cleanup)
set -uo pipefail

prog=bench/boot.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

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
parse_opts "runs warmup timeout log" "$@"
need_positive --runs "$runs"
need_whole --warmup "$warmup"
need_positive --timeout "$timeout" "whole seconds"

need_guest
vmlinux=${VMLINUX-$top/build/guest/vmlinux}
[[ -r $vmlinux ]] || vmlinux=
need_kvm
open_log boot
make_tmp boot
cur_pid=
on_cleanup() { [[ -z $cur_pid ]] || kill -KILL "$cur_pid" 2>/dev/null; }

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
copy_guest

params="console=ttyS0 quiet panic=-1 vmmtest.check=none"
# One command line for all: our VMM takes QEMU's syntax. Guest RAM is a memfd
# everywhere so that it shows up as RssShmem, not in the overhead.
# shellcheck disable=SC2054
base=(-accel kvm -cpu host -nographic -no-reboot -nodefaults -serial stdio
	-m 512M -smp 1 -object memory-backend-memfd,id=mem,size=512M
	-kernel "$tmp/vmlinuz" -initrd "$tmp/initrd.img" -append "$params")
names=(vmm qemu-q35 qemu-microvm)
# The command lines, cmd_<name without qemu-, - as _>, are used through
# namerefs (cmd_var).
# shellcheck disable=SC2034,SC2054
cmd_vmm=("$tmp/vmm" -v -M q35,memory-backend=mem "${base[@]}")
# shellcheck disable=SC2034,SC2054
cmd_q35=("$qemu" -M q35,memory-backend=mem "${base[@]}")
if [[ -n $vmlinux ]]; then
	names=(vmm vmm-pvh qemu-q35 qemu-q35-pvh qemu-microvm)
	base_pvh=("${base[@]}")
	base_pvh[${#base_pvh[@]} - 5]=$tmp/vmlinux   # the -kernel argument
	# shellcheck disable=SC2034,SC2054
	cmd_vmm_pvh=("$tmp/vmm" -v -M q35,memory-backend=mem "${base_pvh[@]}")
	# shellcheck disable=SC2034,SC2054
	cmd_q35_pvh=("$qemu" -M q35,memory-backend=mem "${base_pvh[@]}")
fi
# microvm: no option ROMs (qboot loads the kernel itself), no RTC; ACPI on
# (the default; spelled out) because the Debian kernel finds no MP table.
# shellcheck disable=SC2034,SC2054
cmd_microvm=("$qemu" -M microvm,x-option-roms=off,rtc=off,acpi=on,memory-backend=mem "${base[@]}")

# boot_line LINE TIME: the marker, and the memory sample while the guest is
# alive.
boot_line() {
	local k v _
	[[ -z $t_marker && $1 =~ VMMTEST:\ boot-complete\ uptime=([0-9.]+) ]] || return 0
	t_marker=$2
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
}

# boot NAME ROUND MEASURE: one boot, results into res[] when MEASURE=1.
boot() {
	local name=$1 round=$2 measure=$3
	local cmd_name
	cmd_name=$(cmd_var "$name")
	local -n cmd=$cmd_name
	local err=$tmp/err stampf=$tmp/stamp out='' fd
	local t0 t_marker='' t_exit uptime='' rc
	local rss_anon='' rss_file='' rss_shmem='' vm_rss='' hwm=''
	local first='' mainfirst='' why=''
	rm -f "$err" "$stampf"

	t0=$EPOCHREALTIME
	if [[ -n $preload ]]; then
		exec {fd}< <(BENCH_KVMRUN_STAMP=$stampf LD_PRELOAD=$preload exec "${cmd[@]}" </dev/null 2>"$err")
	else
		exec {fd}< <(exec "${cmd[@]}" </dev/null 2>"$err")
	fi
	cur_pid=$!
	read_console "$fd" "$cur_pid" "$t0" boot_line
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
	if [[ -n $why ]]; then
		fail_run "$name" "$round" "$why" "$out" stderr 20 "$err"
		return
	fi
	((measure)) || return
	record "$name:wall" "$round" "$wall_us"
	record "$name:marker" "$round" "$mark_us"
	record "$name:uptime" "$round" "$up_us"
	record "$name:before" "$round" "$before_us"
	record "$name:down" "$round" "$down_us"
	record "$name:rss" "$round" "$rss_kb"
	[[ -z $first ]] || record "$name:first" "$round" "$first"
	[[ -z $mainfirst ]] || record "$name:mainfirst" "$round" "$mainfirst"
	printf '  %-12s round %s: exit %6.2f s, marker %6.2f s, uptime %5.2f s, RSS %5.1f MiB%s\n' \
		"$name" "$round" "$(awk "BEGIN{print $wall_us/1e6}")" "$(awk "BEGIN{print $mark_us/1e6}")" \
		"$(awk "BEGIN{print $up_us/1e6}")" "$(awk "BEGIN{print $rss_kb/1024}")" \
		"${first:+, 1st KVM_RUN $(awk "BEGIN{printf \"%.1f\", $first/1e3}") ms}"
}

{
	echo "# bench/boot.sh $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	log_host
	echo "# tree: $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?') ($(git -C "$top" log -1 --format=%s 2>/dev/null | cut -c1-70))"
	echo "# vmm: $vmm ($(timeout 30 "$vmm" -version 2>&1 | head -1), built $(date -u -r "$vmm" '+%Y-%m-%d %H:%M:%S UTC'))"
	echo "# qemu: $qemu ($(timeout 30 "$qemu" -version | head -1))"
	log_guest
	echo "# runs: $runs measured + $warmup warm-up rounds; shim: ${preload:-none}"
	log_cmds "${names[@]}"
} >>"$log"

echo "boot benchmark ($where): ${#names[@]} VMMs x $runs runs (+$warmup warm-up), log $log"
take_turns "$warmup" "$runs" boot

# ---- the tables ----
cols=(vmm qemu-q35 qemu-microvm)
label_w=32 val_w=(9 9 12) ratio_w=(8 11)
rss_v=$(median vmm:rss 1024)
first_v=$(median vmm:first 1e3)
lab_note=
[[ $where == native ]] || lab_note=" (absolute ms mean little in the lab)"
table=$(
	pair vmm:wall qemu-q35:wall
	wall_ratio=$pr
	echo "Boot benchmark, medians of $runs runs ($where), $(date -u '+%Y-%m-%d')"
	((runs < 2)) || echo "vmm/q35, vmm/microvm: median of the per-round ratios; spread: their min..max"
	header_row
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
	if [[ -n $vmlinux ]]; then
		cols=(vmm-pvh qemu-q35 qemu-q35-pvh)
		val_w=(9 9 12) ratio_w=(11 15)
		pair vmm-pvh:wall qemu-q35:wall
		wall_ratio=$pr
		echo
		echo "PVH fast path: the same kernel as an uncompressed ELF (${vmlinux##*/}) booted through its PVH entry;"
		echo "q35 boots the bzImage as above, q35-pvh the same ELF (QEMU's pvh.bin option ROM)"
		header_row
		row "launch -> exit (s)" wall 1e6 2 "vmm-pvh/q35 <= 0.50: $(verdict "$wall_ratio" le 0.5) ($wall_ratio)"
		row "launch -> boot-complete (s)" marker 1e6 2 ""
		row "guest uptime at marker (s)" uptime 1e6 2 ""
		row "before guest kernel clock (s)" before 1e6 2 ""
		row "overhead RSS anon+file (MiB)" rss 1024 1 ""
		row "launch -> 1st KVM_RUN (ms)" first 1e3 1 ""
	fi
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
} >>"$log"
finish "$table" "boot(s)"
