# virtiofs: mount the virtio-fs tag vmmtest.fs_tag (default myfs) at /mnt and
# exercise it against files the host test prepared in the shared folder:
#   hello.txt         its content must equal vmmtest.fs_hello (if given)
#   in.bin, in.sha256 64 MiB the guest reads and checksums (if present)
#   dir1000/          a directory whose entries the guest counts (if present)
# and the guest writes for the host to check:
#   from-guest.txt    "written by the guest"
#   out.bin, out.sha256  vmmtest.fs_out_mb MiB of random data and its checksum
# Each step prints a VMMTEST line, so the host test can assert each one.
tag=$(arg fs_tag myfs)
mkdir -p /mnt
mount -t virtiofs "$tag" /mnt || fail "mount -t virtiofs $tag /mnt failed"
say "fs mounted tag=$tag"

want=$(arg fs_hello)
if [ -f /mnt/hello.txt ]; then
	content=$(cat /mnt/hello.txt) || fail "reading hello.txt failed"
	[ -z "$want" ] || [ "$content" = "$want" ] || fail "hello.txt has '$content', expected '$want'"
	say "fs read hello=$content"
elif [ -n "$want" ]; then
	fail "no hello.txt in the shared folder (expected '$want')"
fi

echo "written by the guest" >/mnt/from-guest.txt || fail "writing from-guest.txt failed"
sync
say "fs wrote from-guest.txt"

if [ -f /mnt/in.bin ]; then
	got=$(sha256sum /mnt/in.bin | cut -d' ' -f1)
	want=$(cut -d' ' -f1 /mnt/in.sha256)
	[ "$got" = "$want" ] || fail "in.bin checksum $got != host's $want"
	say "fs in.bin sha256 ok"
fi

out_mb=$(arg fs_out_mb 0)
if [ "$out_mb" -gt 0 ]; then
	dd if=/dev/urandom of=/tmp/out.bin bs=1M count="$out_mb" 2>/dev/null || fail "dd to /tmp/out.bin failed"
	cp /tmp/out.bin /mnt/out.bin || fail "copying out.bin to the host failed"
	sum=$(sha256sum /tmp/out.bin | cut -d' ' -f1)
	echo "$sum" >/mnt/out.sha256 || fail "writing out.sha256 failed"
	rm -f /tmp/out.bin
	sync || fail "sync failed"
	say "fs wrote out.bin ${out_mb}MiB"
fi

if [ -d /mnt/dir1000 ]; then
	n=$(ls /mnt/dir1000 | wc -l)
	say "fs dir1000 entries=$n"
	[ "$n" -eq 1000 ] || fail "dir1000 lists $n entries, expected 1000"
fi

umount /mnt || fail "umount /mnt failed"
pass
