# virtiofs-reset: mount and read, then reset the virtio-fs device the way
# a guest does (unbind and rebind its virtio driver, which resets the device
# through the status register), mount again and read again.
tag=$(arg fs_tag myfs)
mkdir -p /mnt
mount -t virtiofs "$tag" /mnt || fail "first mount failed"
cat /mnt/hello.txt >/dev/null || fail "first read failed"
umount /mnt
dev=
for d in /sys/bus/virtio/drivers/virtiofs/virtio*; do
	[ -e "$d" ] && dev=${d##*/}
done
[ -n "$dev" ] || fail "no device bound to the virtiofs driver"
echo "$dev" >/sys/bus/virtio/drivers/virtiofs/unbind || fail "unbind $dev failed"
say "fs unbound $dev"
echo "$dev" >/sys/bus/virtio/drivers/virtiofs/bind || fail "bind $dev failed"
say "fs rebound $dev"
mount -t virtiofs "$tag" /mnt || fail "mount after reset failed"
content=$(cat /mnt/hello.txt) || fail "read after reset failed"
say "fs read after reset hello=$content"
umount /mnt
pass
