#!/bin/bash
# bench/vsock.sh [--runs N] [--mb N] [--verify] [--only NAME] [--timeout S] [--log FILE]
#
# AF_VSOCK stream throughput over the host kernel's vhost-vsock: our VMM
# (build/vmm, the optimized build) against Debian's QEMU (-M q35), each with
# -device vhost-vsock-pci,guest-cid=N and the same command line, kernel,
# initramfs, guest size (-m 512M -smp 1) and memory backend (memfd,
# share=on). Per boot, with vsock-xfer (guest/tools/vsock-xfer.c) at both
# ends (guest/checks/vsock.sh in the guest, build/guest/vsock-xfer here):
#   guest -> host  this host listens (vsock-xfer recv), the guest connects to
#                  CID 2 and sends --mb MiB
#   host -> guest  then the guest listens, this host connects to the guest's
#                  CID and sends --mb MiB
# in writes and reads of 256 KiB. By default both ends run vsock-xfer
# --fast (the sender repeats one 256 KiB block, nobody checksums) so that
# the figures are the transport's, not the checksum's; --verify generates
# and checksums every byte instead (and the run fails when the sums differ).
# MiB/s are taken on this host's clock (receiver: accept -> EOF; sender:
# connect -> the receiver's answer after EOF, so delivery is included);
# the guest's own figures (its clock, nested) are in the table too. The
# guest CID is new for every boot.
#
# The VMMs take turns, the first one rotating each round; figures are
# medians, ratios the median of the per-round ratios of MiB/s (higher is
# better), with their min..max from 2 rounds on. Reports, never asserts: the
# target (vmm/q35 >= 1.0) is printed next to the figures.
#
# Needs a working /dev/kvm and /dev/vhost-vsock: run it through bench/run.sh
# (`make bench`, in the lab on hosts without VMX/SVM) or
# `tests/lab/run -- bench/vsock.sh`. Raw runs and the table go to
# build/bench/vsock-<date>.log. Environment: VMM, QEMU, KERNEL, INITRD,
# VSOCK_XFER override the binaries and guest; BENCH_VSOCK_RUNS sets the
# default of --runs (3), BENCH_VSOCK_MB that of --mb (256).
# shellcheck disable=SC2317  # functions called through lib.sh (take_turns, read_console, cleanup)
set -uo pipefail

prog=bench/vsock.sh
# shellcheck source=bench/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh" || exit 1

runs=${BENCH_VSOCK_RUNS:-3}
mb=${BENCH_VSOCK_MB:-256}
warmup=0
timeout=300
only=
verify=
log=
usage() {
	echo "usage: $prog [--runs N] [--warmup N] [--mb N] [--verify 1] [--only NAME] [--timeout SECS] [--log FILE]" >&2
	echo "  --runs N      boots per VMM, taking turns (default 3, or \$BENCH_VSOCK_RUNS)" >&2
	echo "  --warmup N    unmeasured rounds first (default 0)" >&2
	echo "  --mb N        MiB each way per boot (default 256, or \$BENCH_VSOCK_MB)" >&2
	echo "  --verify 1    pattern and checksum every byte (default: vsock-xfer --fast)" >&2
	echo "  --only NAME   just one of vmm, qemu-q35 (no ratios then)" >&2
	echo "  --timeout S   give up on a VM after S seconds (default 300)" >&2
	echo "  --log FILE    raw runs and table (default build/bench/vsock-DATE.log)" >&2
	exit 2
}
parse_opts "runs warmup mb verify only timeout log" "$@"
need_positive --runs "$runs"
need_whole --warmup "$warmup"
need_positive --mb "$mb" "MiB"
need_positive --timeout "$timeout" "whole seconds"
case $verify in '' | 0) verify= ;; 1) ;; *) die "--verify wants 1 or 0, not '$verify'" ;; esac
names=(vmm qemu-q35)
case $only in
'') ;;
vmm | qemu-q35) names=("$only") ;;
*) die "--only wants vmm or qemu-q35, not '$only'" ;;
esac

need_guest
xfer=${VSOCK_XFER:-$top/build/guest/vsock-xfer}
[[ -x $xfer ]] || die "$xfer missing: run guest/build.sh (make guest)"
[[ -c /dev/vhost-vsock ]] || die "no /dev/vhost-vsock here: modprobe vhost_vsock (the lab loads it)"
need_kvm
open_log vsock
make_tmp vsock
vm_pid='' recv_pid=''
on_cleanup() {
	[[ -z $vm_pid ]] || kill -KILL "$vm_pid" 2>/dev/null
	[[ -z $recv_pid ]] || kill -KILL "$recv_pid" 2>/dev/null
}
copy_guest
cp "$xfer" "$tmp/vsock-xfer" || die "cannot copy $xfer to $tmp"
xfer=$tmp/vsock-xfer

bytes=$((mb << 20))
up_port=5201 down_port=5202
xopts=(--timeout 120)
[[ -n $verify ]] || xopts+=(--fast)
params="console=ttyS0 quiet panic=-1 vmmtest.check=vsock vmmtest.vsock=send:2:$up_port:$bytes,recv:$down_port"
params+=" vmmtest.vsock_timeout=120"
[[ -n $verify ]] || params+=" vmmtest.vsock_fast=1"
# One command line for both: our VMM takes QEMU's syntax. The device, with
# this boot's CID, is added per boot.
# shellcheck disable=SC2054
base=(-accel kvm -cpu host -M q35 -nographic -nodefaults -serial stdio -no-reboot
	-m 512M -smp 1 -object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem
	-kernel "$tmp/vmlinuz" -initrd "$tmp/initrd.img" -append "$params")
# shellcheck disable=SC2034
cmd_vmm=("$tmp/vmm" "${base[@]}")
# shellcheck disable=SC2034
cmd_q35=("$qemu" "${base[@]}")
# CIDs: new for each boot, and apart from other runs (a CID is the host's
# until the VM that holds it is gone).
cid_base=$((3000000 + ($$ % 1000000) * 1000)) nboot=0

# xv KEY LINE: the value of KEY=... in a vsock-xfer line.
xv() {
	local re=" $1=([^ ]+)"
	[[ $2 =~ $re ]] && printf '%s' "${BASH_REMATCH[1]}"
}

# The guest's lines; the host's sender runs when the guest listens.
cur_cid='' down_line='' g_up='' g_down=''
vs_line() {
	local line=$1
	case $line in
	*"VMMTEST: vsock-xfer: listening port=$down_port "*)
		if ! timeout 200 "$xfer" send "$cur_cid" "$down_port" "$bytes" "${xopts[@]}" \
			>"$tmp/down.out" 2>"$tmp/down.err"; then
			why="host -> guest: $(head -n1 "$tmp/down.err")"
		fi
		down_line=$(grep -m1 '^vsock-xfer: send ' "$tmp/down.out")
		;;
	*"VMMTEST: vsock-xfer: send "*) g_up=${line#*VMMTEST: } ;;
	*"VMMTEST: vsock-xfer: recv "*) g_down=${line#*VMMTEST: } ;;
	*"VMMTEST: result vsock FAIL"*) why=${why:-"guest check failed: ${line#*FAIL }"} ;;
	esac
}

# run_one NAME ROUND MEASURE: one boot of VMM NAME, both directions.
run_one() {
	local name=$1 round=$2 measure=$3 fd why='' rc t0 out='' deadline up_line='' v
	local cmd_name
	cmd_name=$(cmd_var "$name")
	local -n cmd=$cmd_name
	down_line='' g_up='' g_down=''
	cur_cid=$((cid_base + nboot))
	nboot=$((nboot + 1))
	rm -f "$tmp"/up.* "$tmp"/down.*
	"$xfer" recv "$up_port" "${xopts[@]}" >"$tmp/up.out" 2>"$tmp/up.err" &
	recv_pid=$!
	deadline=$((SECONDS + 15))
	until grep -q '^vsock-xfer: listening ' "$tmp/up.out" 2>/dev/null; do
		if ((SECONDS > deadline)) || ! kill -0 "$recv_pid" 2>/dev/null; then
			fail_run "$name" "$round" "the host's receiver did not start" "" receiver 5 "$tmp/up.err"
			kill -KILL "$recv_pid" 2>/dev/null
			wait "$recv_pid" 2>/dev/null
			recv_pid=
			return
		fi
		sleep 0.05
	done
	t0=$EPOCHREALTIME
	exec {fd}< <(exec "${cmd[@]}" -device "vhost-vsock-pci,guest-cid=$cur_cid" </dev/null 2>"$tmp/err")
	vm_pid=$!
	read_console "$fd" "$vm_pid" "$t0" vs_line
	exec {fd}<&-
	wait "$vm_pid"
	rc=$?
	vm_pid=
	# The receiver is done once the guest's sender is (or the VM is gone).
	deadline=$((SECONDS + 10))
	while kill -0 "$recv_pid" 2>/dev/null && ((SECONDS < deadline)); do
		sleep 0.1
	done
	kill -KILL "$recv_pid" 2>/dev/null
	wait "$recv_pid" 2>/dev/null
	recv_pid=
	up_line=$(grep -m1 '^vsock-xfer: recv ' "$tmp/up.out")
	[[ -n $why ]] || { ((rc == 0)) || why="exit status $rc"; }
	[[ -n $why || $out == *"VMMTEST: result vsock PASS"* ]] || why="no PASS from the guest check"
	[[ -n $why || $(xv bytes "$up_line") == "$bytes" ]] || why="guest -> host: the host received '${up_line:-nothing}'"
	[[ -n $why || $(xv bytes "$down_line") == "$bytes" ]] || why="host -> guest: the host sent '${down_line:-nothing}'"
	[[ -n $why || $down_line == *" peer=match" ]] || why="host -> guest: $down_line"
	[[ -n $why || $g_up == *" peer=match" ]] || why="guest -> host: $g_up"
	logf "run $name round=$round$( ((measure)) || echo ' warmup') cid=$cur_cid rc=$rc${why:+ FAILED: $why}"
	logf "  host up:    ${up_line:--}"
	logf "  host down:  ${down_line:--}"
	logf "  guest up:   ${g_up:--}"
	logf "  guest down: ${g_down:--}"
	if [[ -n $why ]]; then
		fail_run "$name" "$round" "$why" "$out" stderr 20 "$tmp/err" receiver 5 "$tmp/up.err" sender 5 "$tmp/down.err"
		return
	fi
	((measure)) || return
	record "$name:up" "$round" "$(xv mibs "$up_line")"
	record "$name:down" "$round" "$(xv mibs "$down_line")"
	v=$(xv mibs "$g_up") && record "$name:up_guest" "$round" "$v"
	v=$(xv mibs "$g_down") && record "$name:down_guest" "$round" "$v"
	printf '  %-9s round %s: guest -> host %7.1f MiB/s, host -> guest %7.1f MiB/s (guest clock %s, %s)\n' \
		"$name" "$round" "$(xv mibs "$up_line")" "$(xv mibs "$down_line")" \
		"$(xv mibs "$g_up")" "$(xv mibs "$g_down")"
}

{
	echo "# bench/vsock.sh $(date -u '+%Y-%m-%d %H:%M:%S UTC')"
	log_host
	echo "# tree: $(git -C "$top" describe --always --dirty 2>/dev/null || echo '?')"
	echo "# vmm: $vmm ($(timeout 30 "$vmm" -version 2>&1 | head -1))"
	echo "# qemu: $qemu ($(timeout 30 "$qemu" -version | head -1))"
	log_guest
	echo "# $mb MiB each way per boot; vsock-xfer ${xopts[*]}; runs: $runs + $warmup warm-up; CIDs from $cid_base"
	log_cmds "${names[@]}"
	echo "# each with: -device vhost-vsock-pci,guest-cid=CID"
} >>"$log"

echo "vsock benchmark ($where): ${#names[@]} VMMs x $runs runs, $mb MiB each way$([[ -n $verify ]] && echo ', checksummed'), log $log"
take_turns "$warmup" "$runs" run_one

# ---- the table ----
cols=(vmm qemu-q35)
label_w=38 val_w=(9 9) ratio_w=(8)
table=$(
	echo "vsock benchmark ($where), $(date -u '+%Y-%m-%d'), median of $runs run(s); guest -m 512M -smp 1;"
	echo "vhost-vsock-pci over /dev/vhost-vsock, $mb MiB each way, 256 KiB writes$([[ -n $verify ]] && echo ', every byte checksummed' || echo ' (vsock-xfer --fast)')"
	((runs < 2)) || echo "vmm/q35: median of the per-round ratios of MiB/s; spread: their min..max"
	header_row
	pair vmm:up qemu-q35:up
	row "guest -> host (MiB/s)" up 1 1 "vmm/q35 >= 1.0: $(verdict "$pr" ge 1.0)"
	pair vmm:down qemu-q35:down
	row "host -> guest (MiB/s)" down 1 1 "vmm/q35 >= 1.0: $(verdict "$pr" ge 1.0)"
	row "  guest -> host, guest's clock" up_guest 1 1 ""
	row "  host -> guest, guest's clock" down_guest 1 1 ""
	[[ $where == native ]] || { echo; echo "In the lab only ratios against QEMU in the same run count."; }
)
finish "$table" "run(s)"
