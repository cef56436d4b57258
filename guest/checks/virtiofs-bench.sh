# virtiofs-bench: throughput and metadata rates over virtio-fs, for
# bench/virtiofs.sh. Mounts vmmtest.fs_tag (default myfs) at /mnt, then for
# each size in vmmtest.bench_mb (MiB, comma-separated, default 256):
#   write-N   dd if=/dev/zero of=/mnt/bench.bin bs=1M count=N conv=fsync
#   read-N    the page cache dropped first, dd of that file to /dev/null
# and then
#   meta      create, stat (ls -l) and unlink vmmtest.bench_files files
#             (default 10000) in one directory
# Each phase is announced with "VMMTEST: phase NAME ready"; with
# vmmtest.bench_sync=1 (the default) the check then waits for a line on the
# console (the host's "go", at most 120 s), so that the host can start
# measuring first. A phase ends with "VMMTEST: phase NAME end us=N", timed
# with the guest's clock. The summary, for the last size:
#   VMMTEST: bench write_mibs=W read_mibs=R meta_ops=M
# (meta_ops: create + stat + unlink operations per second over the three).
tag=$(arg fs_tag myfs)
sizes=$(arg bench_mb 256 | tr ',' ' ')
files=$(arg bench_files 10000)
sync_host=$(arg bench_sync 1)
mkdir -p /mnt
mount -t virtiofs "$tag" /mnt || fail "mount -t virtiofs $tag /mnt failed"
say "fs mounted tag=$tag"

# Microseconds of CLOCK_MONOTONIC: /proc/timer_list has nanoseconds
# (busybox date has no %N); /proc/uptime (centiseconds) otherwise.
now_us() {
	local l
	l=$(grep -m1 '^now at ' /proc/timer_list 2>/dev/null)
	if [ -n "$l" ]; then
		l=${l#now at }
		echo $((${l% nsecs} / 1000))
	else
		awk '{ printf "%.0f\n", $1 * 1000000 }' /proc/uptime
	fi
}

# phase NAME: announce it and wait for the host's go.
phase() {
	say "phase $1 ready"
	if [ "$sync_host" = 1 ]; then
		read -r -t 120 _go || say "phase $1: no go from the host within 120 s, starting anyway"
	fi
}

# rate AMOUNT US: AMOUNT per second, one decimal.
rate() {
	awk -v a="$1" -v us="$2" 'BEGIN { if (us > 0) printf "%.1f", a * 1000000 / us; else print "-" }'
}

write_mibs=- read_mibs=-
for mb in $sizes; do
	rm -f /mnt/bench.bin
	phase "write-$mb"
	t0=$(now_us)
	dd if=/dev/zero of=/mnt/bench.bin bs=1M count="$mb" conv=fsync 2>/tmp/dd.err ||
		fail "write-$mb: dd failed: $(tail -1 /tmp/dd.err)"
	t1=$(now_us)
	write_mibs=$(rate "$mb" $((t1 - t0)))
	say "phase write-$mb end us=$((t1 - t0)) mibs=$write_mibs"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	phase "read-$mb"
	t0=$(now_us)
	dd if=/mnt/bench.bin of=/dev/null bs=1M 2>/tmp/dd.err || fail "read-$mb: dd failed: $(tail -1 /tmp/dd.err)"
	t1=$(now_us)
	read_mibs=$(rate "$mb" $((t1 - t0)))
	say "phase read-$mb end us=$((t1 - t0)) mibs=$read_mibs"
	rm -f /mnt/bench.bin
done

meta_ops=-
if [ "$files" -gt 0 ]; then
	rm -rf /mnt/meta
	mkdir /mnt/meta || fail "mkdir /mnt/meta failed"
	phase meta
	t0=$(now_us)
	# Shell built-ins only (no fork per file): the redirection creates it.
	i=0
	while [ $i -lt "$files" ]; do
		: >"/mnt/meta/f$i" || fail "creating /mnt/meta/f$i failed"
		i=$((i + 1))
	done
	t1=$(now_us)
	n=$(ls -l /mnt/meta | grep -c '^-')
	t2=$(now_us)
	rm -rf /mnt/meta || fail "rm -rf /mnt/meta failed"
	t3=$(now_us)
	[ "$n" = "$files" ] || fail "ls -l saw $n files, expected $files"
	meta_ops=$(rate $((3 * files)) $((t3 - t0)))
	say "phase meta end us=$((t3 - t0)) create_us=$((t1 - t0)) stat_us=$((t2 - t1)) unlink_us=$((t3 - t2)) create_ops=$(rate "$files" $((t1 - t0))) stat_ops=$(rate "$files" $((t2 - t1))) unlink_ops=$(rate "$files" $((t3 - t2)))"
fi
umount /mnt || fail "umount /mnt failed"
say "bench write_mibs=$write_mibs read_mibs=$read_mibs meta_ops=$meta_ops"
pass
