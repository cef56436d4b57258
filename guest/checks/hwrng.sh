# hwrng: the guest's hardware RNG is a virtio-rng device that works:
# rng_current (/sys/class/misc/hw_random) names virtio_rng.N, and
# vmmtest.hwrng_bytes (default 1048576) bytes read from /dev/hwrng are not
# constant and do not compress (busybox gzip: at least 99% of the input).
#   hwrng available=NAMES current=NAME
#   hwrng read NAME bytes=N ms=N
#   hwrng NAME distinct=N            byte values among the first 4096 (random: ~256)
#   hwrng NAME gzip=N permille=N     compressed size, and per mille of the input
#   hwrng NAME ok
# vmmtest.hwrng_all=1: every virtio_rng.N in rng_available in turn (written
# to rng_current); vmmtest.hwrng_expect=N: FAIL unless N virtio rngs exist.
# A read bounded by vmmtest.hwrng_timeout seconds (default 90).
sysd=/sys/class/misc/hw_random
[ -d $sysd ] || sysd=/sys/devices/virtual/misc/hw_random
[ -r $sysd/rng_current ] || fail "no $sysd/rng_current (is virtio-rng loaded?)"
[ -c /dev/hwrng ] || fail "no /dev/hwrng"
bytes=$(arg hwrng_bytes 1048576)
limit=$(arg hwrng_timeout 90)

# The device's probe registers it; a moment for it to show up.
i=0
while ! grep -q virtio_rng $sysd/rng_available 2>/dev/null && [ $i -lt 50 ]; do
	sleep 0.1
	i=$((i + 1))
done
avail=$(cat $sysd/rng_available)
say "hwrng available=$(echo $avail | tr ' ' ',') current=$(cat $sysd/rng_current)"
rngs=
for r in $avail; do
	case $r in virtio_rng*) rngs="$rngs $r" ;; esac
done
[ -n "$rngs" ] || fail "no virtio_rng in rng_available ($avail)"
n=$(echo $rngs | wc -w)
want=$(arg hwrng_expect)
[ -z "$want" ] || [ "$n" = "$want" ] || fail "$n virtio rngs ($rngs), expected $want"
[ "$(arg hwrng_all 0)" = 1 ] || rngs=$(cat $sysd/rng_current)

uptime_ms() {
	local u
	read -r u _ </proc/uptime
	echo $((${u%.*} * 1000 + 10 * ${u#*.}))
}

for r in $rngs; do
	case $r in virtio_rng*) ;; *) fail "rng_current is '$r', not a virtio_rng" ;; esac
	[ "$(cat $sysd/rng_current)" = "$r" ] || echo "$r" >$sysd/rng_current ||
		fail "cannot select $r"
	t0=$(uptime_ms)
	timeout "$limit" head -c "$bytes" /dev/hwrng >/tmp/hwrng.bin
	t1=$(uptime_ms)
	got=$(wc -c </tmp/hwrng.bin)
	say "hwrng read $r bytes=$got ms=$((t1 - t0))"
	[ "$got" = "$bytes" ] || fail "$r: read $got of $bytes bytes within $limit s"
	distinct=$(head -c 4096 /tmp/hwrng.bin | od -An -v -tu1 | tr -s ' ' '\n' | grep . | sort -un | wc -l)
	say "hwrng $r distinct=$distinct"
	[ "$distinct" -ge 200 ] || fail "$r: only $distinct distinct byte values in 4096 bytes"
	gz=$(gzip -c </tmp/hwrng.bin | wc -c)
	permille=$((gz * 1000 / bytes))
	say "hwrng $r gzip=$gz permille=$permille"
	[ $((gz * 100)) -ge $((bytes * 99)) ] || fail "$r: $bytes bytes gzip to $gz: not random"
	rm -f /tmp/hwrng.bin
	say "hwrng $r ok"
done
pass
