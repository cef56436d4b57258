# virtiofs-mount: mounts the virtio-fs tag vmmtest.fs_tag (default myfs) at
# vmmtest.fs_mnt (default /mnt) and leaves it mounted, for the shell that
# follows (make demo: vmmtest.check=virtiofs-mount vmmtest.shell=1).
tag=$(arg fs_tag myfs)
mnt=$(arg fs_mnt /mnt)
mkdir -p "$mnt"
mount -t virtiofs "$tag" "$mnt" || fail "mount -t virtiofs $tag $mnt failed"
say "fs mounted tag=$tag at $mnt"
pass
