#!/usr/bin/env bats
# The vhost-user front-end against back-ends, with no guest and no KVM:
# vu-probe runs init, start (a memfd as guest RAM, rings inside it,
# kick/call eventfds) and stop, printing the protocol trace. Against the
# test back-end always; against virtiofsd and qemu-storage-daemon when they
# are installed (qemu-system-common).

load helpers

TOOLS=$TOP/build/tests/tools
PROBE=$TOOLS/vu-probe
BACKEND=$TOOLS/vu-test-backend
VIRTIOFSD=${VIRTIOFSD:-/usr/lib/qemu/virtiofsd}
QSD=${QSD:-$(command -v qemu-storage-daemon || true)}

setup() {
	[[ -x $PROBE && -x $BACKEND ]] || {
		echo "vu-probe / vu-test-backend missing: run make unit" >&2
		return 1
	}
	export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=99}
}

teardown() {
	# Back-ends exit when their one connection closes; anything left over
	# after a failed test is ours to stop.
	local p
	for p in ${bg_pids:-}; do
		kill "$p" 2>/dev/null || true
	done
}

# wait_for_socket PATH: until a back-end listens there (5 s).
wait_for_socket() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -S $1 ]] && return 0
		sleep 0.05
	done
	echo "no socket at $1" >&2
	return 1
}

@test "vu-probe against vu-test-backend: full negotiation, clean trace" {
	sock=$BATS_TEST_TMPDIR/be.sock
	"$BACKEND" --socket-path="$sock" --log="$BATS_TEST_TMPDIR/be.log" &
	bg_pids=$!
	wait_for_socket "$sock"
	run timeout 30 "$PROBE" --socket="$sock"
	assert_status 0
	[[ $output == *"vhost-user probe -> SET_BACKEND_REQ_FD (21) flags=0x9 [NEED_REPLY] size=0 fds=["* ]]
	[[ $output == *"vhost-user probe -> SET_STATUS (39) flags=0x1 size=8 status=0xf [ACKNOWLEDGE DRIVER DRIVER_OK FEATURES_OK]"* ]]
	[[ $output == *"vu-probe: queue 1 stopped at 0"* ]]
	wait "$bg_pids"
	run cat "$BATS_TEST_TMPDIR/be.log"
	[[ $output == *"probe=0x2145424f52505556"* ]] # "VUPROBE!" read through the memfd
	[[ $output != *VIOLATION* ]]
}

@test "server=on,wait=on: vu-probe listens and the back-end connects" {
	sock=$BATS_TEST_TMPDIR/fe.sock
	timeout 30 "$PROBE" --socket="$sock" --server --quiet >"$BATS_TEST_TMPDIR/probe.out" 2>&1 &
	bg_pids=$!
	wait_for_socket "$sock"
	run timeout 30 "$BACKEND" --connect="$sock"
	assert_status 0
	[[ $output == *"SET_VRING_ENABLE index=1 enable=1 need_reply"* ]]
	wait "$bg_pids"
	run cat "$BATS_TEST_TMPDIR/probe.out"
	[[ $output == *"waiting for a back-end to connect to $sock (server=on,wait=on)"* ]]
	[[ $output == *"vu-probe: started 2 queues"* ]]
}

@test "a back-end that never answers: a clear error after the timeout, no hang" {
	sock=$BATS_TEST_TMPDIR/hang.sock
	"$BACKEND" --socket-path="$sock" --fault=hang@GET_PROTOCOL_FEATURES --log=/dev/null &
	bg_pids=$!
	wait_for_socket "$sock"
	run timeout 30 "$PROBE" --socket="$sock" --timeout-ms=300 --quiet
	assert_status 1
	[[ $output == *"vhost-user probe: GET_PROTOCOL_FEATURES: no reply from the back-end within 300 ms; connection closed"* ]]
}

@test "no back-end at the path: one line naming it, with a hint" {
	run timeout 30 "$PROBE" --socket="$BATS_TEST_TMPDIR/nothing.sock" --quiet
	assert_status 1
	[[ $output == "vu-probe: vhost-user probe: cannot connect to $BATS_TEST_TMPDIR/nothing.sock: No such file or directory (no socket there: start the back-end first"* ]]
}

@test "real virtiofsd: init, start, stop" {
	[[ -x $VIRTIOFSD ]] || skip "no $VIRTIOFSD (apt-get install qemu-system-common)"
	sock=$BATS_TEST_TMPDIR/vfs.sock
	mkdir -p "$BATS_TEST_TMPDIR/share"
	"$VIRTIOFSD" --socket-path="$sock" -o source="$BATS_TEST_TMPDIR/share" -o cache=none \
		>"$BATS_TEST_TMPDIR/virtiofsd.log" 2>&1 &
	bg_pids=$!
	wait_for_socket "$sock" || { cat "$BATS_TEST_TMPDIR/virtiofsd.log" >&2; return 1; }
	run timeout 30 "$PROBE" --socket="$sock"
	assert_status 0
	[[ $output == *"<- GET_PROTOCOL_FEATURES (15) flags=0x5 size=8 features="* ]]
	[[ $output == *"-> ADD_MEM_REG (37) flags=0x9 [NEED_REPLY]"* || $output == *"-> SET_MEM_TABLE (5)"* ]]
	[[ $output == *"<- GET_VRING_BASE (11) flags=0x5 size=8 index=1 base=0"* ]]
	# virtiofsd serves one connection and exits when it closes.
	wait "$bg_pids"
}

@test "real qemu-storage-daemon: init with GET_CONFIG, start, stop" {
	[[ -n $QSD && -x $QSD ]] || skip "no qemu-storage-daemon"
	sock=$BATS_TEST_TMPDIR/blk.sock
	truncate -s 16M "$BATS_TEST_TMPDIR/disk.img"
	"$QSD" --blockdev driver=file,node-name=f,filename="$BATS_TEST_TMPDIR/disk.img" \
		--export type=vhost-user-blk,id=e,node-name=f,addr.type=unix,addr.path="$sock",writable=on \
		>"$BATS_TEST_TMPDIR/qsd.log" 2>&1 &
	bg_pids=$!
	wait_for_socket "$sock" || { cat "$BATS_TEST_TMPDIR/qsd.log" >&2; return 1; }
	run timeout 30 "$PROBE" --socket="$sock" --queues=1 --config=60
	assert_status 0
	# capacity 16 MiB = 32768 sectors = 0x8000, little-endian
	[[ $output == *"<- GET_CONFIG (24) flags=0x5 size=72 offset=0 size=60 flags=0 data=[00 80 00 00 00 00 00 00"* ]]
	[[ $output == *"vu-probe: queue 0 stopped at 0"* ]]
}
