# vsock: AF_VSOCK transfers with /bin/vsock-xfer (guest/tools/vsock-xfer.c),
# for tests/bats/vhost-vsock.bats and bench/vsock.sh. Parameters:
#   vmmtest.vsock=OP[,OP...]   run in order; OP is
#       send:CID:PORT:BYTES    connect to CID (2: the host) and send BYTES
#       recv:PORT              listen on PORT, take one connection, read to EOF
#   vmmtest.vsock_timeout=S    vsock-xfer --timeout (default 60)
#   vmmtest.vsock_fast=1       vsock-xfer --fast (no pattern, no checksum)
#   vmmtest.vsock_chunk=N      vsock-xfer --chunk (default: its own, 256 KiB)
# Prints "VMMTEST: vsock cid=N" (the guest's CID, or -), then each line
# vsock-xfer prints, as "VMMTEST: vsock-xfer: listening port=P local_cid=C"
# (a host may connect now), "VMMTEST: vsock-xfer: send bytes=N seconds=S
# mibs=M fnv64=0xH cid=C port=P peer=match" and "VMMTEST: vsock-xfer: recv
# bytes=N ... fnv64=0xH ...". FAIL with vsock-xfer's error line when an OP
# fails (a receiver's checksum that differs from the sender's too).
ops=$(arg vsock "")
[ -n "$ops" ] || fail "no vmmtest.vsock=send:CID:PORT:BYTES or recv:PORT"
timeout=$(arg vsock_timeout 60)
opts="--timeout $timeout"
[ "$(arg vsock_fast 0)" = 1 ] && opts="$opts --fast"
chunk=$(arg vsock_chunk "")
[ -z "$chunk" ] || opts="$opts --chunk $chunk"
cid=$(vsock-xfer cid 2>/dev/null) || cid=-
say "vsock cid=$cid"
for op in $(echo "$ops" | tr ',' ' '); do
	IFS=: read -r kind a b c rest <<EOF
$op
EOF
	case $kind:${rest:+x} in
	send:) [ -n "$c" ] || fail "bad op '$op' in vmmtest.vsock (send:CID:PORT:BYTES)"
		set -- send "$a" "$b" "$c" ;;
	recv:) if [ -z "$a" ] || [ -n "$b" ]; then fail "bad op '$op' in vmmtest.vsock (recv:PORT)"; fi
		set -- recv "$a" ;;
	*) fail "bad op '$op' in vmmtest.vsock (send:CID:PORT:BYTES or recv:PORT)" ;;
	esac
	rm -f /tmp/vsock.rc /tmp/vsock.err
	# word splitting of $opts is wanted
	# shellcheck disable=SC2086
	{
		vsock-xfer "$@" $opts 2>/tmp/vsock.err
		echo $? >/tmp/vsock.rc
	} | while IFS= read -r line; do say "$line"; done
	rc=$(cat /tmp/vsock.rc 2>/dev/null)
	if [ "$rc" != 0 ]; then
		err=$(head -n1 /tmp/vsock.err 2>/dev/null)
		fail "$op: ${err:-vsock-xfer exited with status ${rc:-?}}"
	fi
done
pass
