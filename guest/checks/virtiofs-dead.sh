# virtiofs-dead: mount, announce "fs ready for kill" so that the host test
# kills the backend, then keep reading a file until a read fails. Passes
# when the read fails (EIO or the like) instead of hanging; the host test
# bounds the whole boot with a timeout.
tag=$(arg fs_tag myfs)
mkdir -p /mnt
mount -t virtiofs "$tag" /mnt || fail "mount failed"
cat /mnt/hello.txt >/dev/null || fail "first read failed"
say "fs ready for kill"
i=0
while [ $i -lt 600 ]; do
	# cache=none on the host: every read goes to the backend.
	if ! cat /mnt/hello.txt >/dev/null 2>/tmp/err; then
		say "fs read failed after backend death: $(cat /tmp/err)"
		pass
	fi
	i=$((i + 1))
	sleep 0.1
done
fail "reads kept succeeding for 60 s after the backend should have died"
