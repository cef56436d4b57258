# bench/lib.sh: sourced by the benchmarks that boot guests against QEMU
# (bench/boot.sh, bench/virtiofs.sh, bench/vsock.sh), not run by bench/run.sh. The caller
# sets prog (for messages) before sourcing; this sets top, where and the
# helpers below. Figures are kept per run in res[] (see record), so that both
# medians and per-round ratios can be taken from them.
# shellcheck shell=bash disable=SC2154,SC2034  # the caller's variables, both ways

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd -P)
where=native
[[ ${LAB_INSIDE:-} == 1 ]] && where="lab (QEMU-TCG L1, nested KVM)"
failures=0
# res[KEY]: the values of KEY (NAME:METRIC), space-separated, one a run;
# res_r[KEY#ROUND]: the value of that round, to pair the VMMs of a round.
declare -A res res_r

die() { echo "$prog: $*" >&2; exit 1; }

# parse_opts "NAME[=VAR]..." ARGS...: --NAME VALUE and --NAME=VALUE set VAR
# (default: the variable NAME); -h/--help and anything else call usage.
parse_opts() {
	local spec=" $1 " arg name var
	shift
	while (($#)); do
		arg=$1
		[[ $arg == -h || $arg == --help ]] && usage
		name=${arg#--}
		name=${name%%=*}
		if [[ $arg != --?* || $spec != *" $name "* && $spec != *" $name="* ]]; then
			echo "$prog: unknown argument '$arg'" >&2
			usage
		fi
		var=$name
		[[ $spec != *" $name="* ]] || { var=${spec#*" $name="}; var=${var%% *}; }
		if [[ $arg == *=* ]]; then
			printf -v "$var" '%s' "${arg#*=}"
			shift
		else
			(($# >= 2)) || usage
			printf -v "$var" '%s' "$2"
			shift 2
		fi
	done
}

# need_whole FLAG VALUE [WHAT], need_positive FLAG VALUE [WHAT]: die unless
# VALUE is a whole number (>= 0, resp. > 0), naming the option.
need_whole() {
	[[ $2 =~ ^[0-9]+$ ]] || die "$1 wants ${3:-a whole number}, not '$2'"
}
need_positive() {
	[[ $2 =~ ^[1-9][0-9]*$ ]] || die "$1 wants ${3:-a positive whole number}, not '$2'"
}

# need_guest: vmm, qemu, kernel, initrd from the environment or the build,
# checked; then that this host can boot them (the benchmarks refuse to measure
# the lab's outer layer by mistake).
need_guest() {
	vmm=${VMM:-$top/build/vmm}
	qemu=${QEMU:-qemu-system-x86_64}
	kernel=${KERNEL:-$top/build/guest/vmlinuz}
	initrd=${INITRD:-$top/build/guest/initrd.img}
	[[ -x $vmm ]] || die "$vmm missing: run make"
	[[ -r $kernel && -r $initrd ]] || die "test guest missing ($kernel, $initrd): run make guest"
	qemu=$(command -v "$qemu") || die "qemu-system-x86_64 not found (make deps)"
}
need_kvm() {
	[[ -r /dev/kvm && -w /dev/kvm ]] || die "/dev/kvm is not usable here; run through bench/run.sh or tests/lab/run"
	if [[ -x $top/tests/lab/detect && $(LAB='' "$top/tests/lab/detect" 2>/dev/null) == lab ]]; then
		die "this host's /dev/kvm cannot boot the guest; run through bench/run.sh (make bench) or tests/lab/run -- $prog"
	fi
}

# open_log NAME: log defaults to build/bench/NAME-DATE.log; either way it is
# emptied now, so that a bad path fails before minutes of runs.
open_log() {
	mkdir -p "$top/build/bench" || die "cannot create build/bench"
	[[ -n $log ]] || log=$top/build/bench/$1-$(date +%Y%m%d-%H%M%S).log
	: >"$log" || die "cannot write $log"
}
logf() { printf '%s\n' "$*" >>"$log"; }

# make_tmp TAG: tmp, removed at exit. The caller may define on_cleanup to
# kill what it has started; a VMM left running would hold the lab's CPUs.
make_tmp() {
	tmp=$(mktemp -d "${TMPDIR:-/tmp}/vmm-bench-$1.XXXXXX") || die "mktemp failed"
	trap cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}
# shellcheck disable=SC2317  # called by the trap
cleanup() {
	! declare -F on_cleanup >/dev/null || on_cleanup
	rm -rf "$tmp"
}

# copy_guest: the kernel, the initrd and our VMM into tmp, so that every
# boot reads them from the same page-cached tmpfs (the lab's checkout is 9p).
copy_guest() {
	if ! cp "$kernel" "$tmp/vmlinuz" || ! cp "$initrd" "$tmp/initrd.img" || ! cp "$vmm" "$tmp/vmm"; then
		die "cannot copy the guest and VMM to $tmp"
	fi
	if [[ -n ${vmlinux:-} ]] && ! cp "$vmlinux" "$tmp/vmlinux"; then
		die "cannot copy $vmlinux to $tmp"
	fi
}

# Log header lines shared by the benchmarks.
log_host() {
	echo "# where: $where; host $(uname -n) $(uname -r); $(nproc) CPUs: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-)"
}
log_guest() {
	echo "# guest: $kernel ($(cat "$top/build/guest/kernel-version" 2>/dev/null || echo '?')), $initrd"
}
# cmd_var NAME: the name of the array holding NAME's command line:
# cmd_<NAME without qemu-, with - as _>.
cmd_var() {
	local n=${1#qemu-}
	echo "cmd_${n//-/_}"
}

# log_cmds NAME...: the command line of each (see cmd_var).
log_cmds() {
	local n cn
	for n; do
		cn=$(cmd_var "$n")
		declare -n c=$cn
		echo "# $n: ${c[*]}"
		unset -n c
	done
}

# us_of SEC.FRACTION: microseconds as an integer (bash arithmetic, no fork).
us_of() {
	local s=${1%%.*} f=${1#*.}
	[[ $1 == *.* ]] || f=
	f=${f}000000
	f=${f:0:6}
	echo $((10#$s * 1000000 + 10#$f))
}

# take_turns WARMUP RUNS FUNC: FUNC NAME ROUND MEASURE for each VMM in names,
# round-robin, the first of each round rotating, so that slow and fast
# stretches of a shared machine hit every VMM alike. Warm-up rounds are
# named w1, w2... and have MEASURE=0; measured rounds are 1..RUNS.
take_turns() {
	local warm=$1 total=$(($1 + $2)) fn=$3 r j round measure
	for ((r = 0; r < total; r++)); do
		measure=1 round=$((r - warm + 1))
		((r >= warm)) || measure=0 round=w$((r + 1))
		for ((j = 0; j < ${#names[@]}; j++)); do
			"$fn" "${names[$(((r + j) % ${#names[@]}))]}" "$round" "$measure"
		done
	done
}

# read_console FD PID T0 FUNC: reads the VM's output on FD until EOF or
# timeout seconds after T0 ($EPOCHREALTIME at launch), then kills PID. Each
# line (CR stripped) is appended to the caller's out and passed to
# FUNC LINE TIME, TIME being $EPOCHREALTIME when it arrived. Sets the
# caller's why on timeout.
read_console() {
	local rc_fd=$1 rc_pid=$2 rc_fn=$4 rc_deadline rc_left rc_line rc_st rc_now
	rc_deadline=$(($(us_of "$3") + timeout * 1000000))
	while :; do
		rc_left=$((rc_deadline - $(us_of "$EPOCHREALTIME")))
		if ((rc_left <= 0)); then
			why="timed out after ${timeout}s"
			kill -KILL "$rc_pid" 2>/dev/null
			break
		fi
		IFS= read -r -t "$((rc_left / 1000000 + 1))" -u "$rc_fd" rc_line
		rc_st=$?
		((rc_st > 128)) && continue # read timed out: re-check the deadline
		((rc_st == 0)) || [[ -n $rc_line ]] || break
		rc_now=$EPOCHREALTIME
		rc_line=${rc_line%$'\r'}
		out+=$rc_line$'\n'
		"$rc_fn" "$rc_line" "$rc_now"
		((rc_st == 0)) || break
	done
}

# fail_run NAME ROUND WHY OUT [LABEL LINES FILE]...: count the failure and
# show the tail of what the VM (and the named files) said, on stderr and in
# the log, since a failed run's output is otherwise lost with tmp.
fail_run() {
	failures=$((failures + 1))
	echo "$prog: $1 round $2 FAILED: $3" >&2
	local out=$4
	shift 4
	{
		echo "  --- stdout (last 20 lines)"
		printf '%s' "$out" | tail -n 20 | sed 's/^/  | /'
		while (($# >= 3)); do
			echo "  --- $1 (last $2 lines)"
			tail -n "$2" "$3" 2>/dev/null | sed 's/^/  | /'
			shift 3
		done
	} | tee -a "$log" >&2
}

# record KEY ROUND VALUE: one run's figure (KEY is NAME:METRIC).
record() {
	res[$1]+=" $3"
	res_r[$1#$2]=$3
}

# median KEY [DIV], spread KEY [DIV]: of the values of KEY, divided by DIV;
# empty when there are none.
median() {
	local vals=${res[$1]:-}
	[[ -n ${vals// /} ]] || return 0
	# shellcheck disable=SC2086  # one value a word
	printf '%s\n' $vals | sort -g | awk -v d="${2:-1}" '{ a[NR] = $1 }
		END { m = (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2; printf "%.6g", m / d }'
}
spread() {
	local vals=${res[$1]:-}
	[[ -n ${vals// /} ]] || return 0
	# shellcheck disable=SC2086  # one value a word
	printf '%s\n' $vals | sort -g | awk -v d="${2:-1}" '{ a[NR] = $1 }
		END { printf "%.4g..%.4g (n=%d)", a[1] / d, a[NR] / d, NR }'
}

# pair KEY_A KEY_B: sets pr to the median over the rounds of A/B within the
# round (both VMMs ran back to back, so the machine's slow and fast stretches
# cancel out in the ratio, not in the medians of each), pr_spread to the
# min..max of those ratios ("-" with fewer than two), and pr_rounds to them
# all, ROUND=RATIO. With one round, pr is that round's ratio. The figures of
# KEY are whatever the table compares: times for times, rates for rates.
pair() {
	local r a b list=''
	for ((r = 1; r <= runs; r++)); do
		a=${res_r[$1#$r]:-} b=${res_r[$2#$r]:-}
		[[ -n $a && -n $b ]] && list+=" $r=$a/$b"
	done
	read -r pr pr_spread pr_rounds < <(awk -v l="$list" 'BEGIN {
		n = 0; s = ""
		k = split(l, p, " ")
		for (i = 1; i <= k; i++) {
			split(p[i], rv, "="); split(rv[2], ab, "/")
			if (ab[2] + 0 <= 0) continue
			x = ab[1] / ab[2]
			s = s (s == "" ? "" : ",") sprintf("%s=%.3f", rv[1], x)
			for (j = n; j > 0 && v[j] > x; j--) v[j + 1] = v[j]   # insertion sort
			v[j + 1] = x; n++
		}
		if (n == 0) { print "- - -"; exit }
		m = (n % 2) ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
		printf "%.2f %s %s\n", m, (n > 1) ? sprintf("%.2f..%.2f", v[1], v[n]) : "-", s
	}')
}

fmt() { [[ -n $1 ]] && printf '%.*f' "$2" "$1" || printf -- '-'; }

# verdict VALUE le|lt|ge LIMIT: "met" or "missed" ("?" without a value)
verdict() {
	awk -v x="$1" -v op="$2" -v lim="$3" 'BEGIN {
		if (x == "" || x == "-") { print "?"; exit }
		ok = (op == "lt") ? (x + 0 < lim + 0) : (op == "ge") ? (x + 0 >= lim + 0) : (x + 0 <= lim + 0)
		print ok ? "met" : "missed" }'
}

# The table: one column of medians per VMM in cols (the first is ours), then
# for each other VMM the paired ratio ours/its (and, with 2 or more rounds,
# the spread of the per-round ratios), then the target. The caller sets
# label_w, val_w (one width per VMM) and ratio_w (one per other VMM).
spread_w=11
table_line() {
	local label=$1 target=$2 i
	shift 2
	printf "%-${label_w}s" "$label"
	for ((i = 0; i < ${#val_w[@]}; i++)); do
		printf " %${val_w[i]}s" "$1"
		shift
	done
	for ((i = 0; i < ${#ratio_w[@]}; i++)); do
		printf " %${ratio_w[i]}s" "$1"
		((runs < 2)) || printf " %${spread_w}s" "$2"
		shift 2
	done
	printf '  %s\n' "$target"
}
header_row() {
	local cells=() n
	for n in "${cols[@]:1}"; do
		cells+=("${cols[0]}/${n#qemu-}" spread)
	done
	table_line metric target "${cols[@]}" "${cells[@]}"
}
# row LABEL KEY DIV DECIMALS TARGET: the medians of METRIC KEY of each VMM,
# divided by DIV, and the paired ratios of KEY. Each ratio's rounds go to the
# log.
row() {
	local label=$1 key=$2 div=$3 dec=$4 target=$5 n cells=()
	for n in "${cols[@]}"; do
		cells+=("$(fmt "$(median "$n:$key" "$div")" "$dec")")
	done
	for n in "${cols[@]:1}"; do
		pair "${cols[0]}:$key" "$n:$key"
		cells+=("$pr" "$pr_spread")
		[[ $pr_rounds == - ]] || logf "# ratio ${cols[0]}/${n#qemu-} $key by round: $pr_rounds"
	done
	table_line "$label" "$target" "${cells[@]}"
}
# row_cells LABEL TARGET VALUE...: given values, no ratios.
row_cells() {
	local label=$1 target=$2 n
	shift 2
	local cells=("$@")
	for n in "${cols[@]:1}"; do
		cells+=("" "")
	done
	table_line "$label" "$target" "${cells[@]}"
}

# finish TABLE WHAT: the table to the log and stdout; exit 1 when a run
# failed (WHAT names the runs in the message).
finish() {
	{
		echo
		echo "$1"
	} >>"$log"
	echo
	echo "$1"
	echo
	echo "raw runs: $log"
	if ((failures)); then
		echo "$prog: $failures $2 failed; see the log" >&2
		exit 1
	fi
	exit 0
}
