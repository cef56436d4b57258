# virtiofs-probe: the virtio-fs device as the guest's drivers see it, without
# mounting (so it also runs against a back-end that serves no requests):
#   fs device=virtioN pci=VENDOR:DEVICE    the device bound to the virtiofs driver
#   fs queues=N                            request queues with an interrupt
#   fs msix_vectors=N                      MSI-X vectors of the PCI function
# vmmtest.fs_expect_queues=N: FAIL unless N request queues show up.
dev=
for d in /sys/bus/virtio/drivers/virtiofs/virtio*; do
	[ -e "$d" ] && dev=${d##*/}
done
[ -n "$dev" ] || fail "no device bound to the virtiofs driver"
pcidir=$(readlink -f "/sys/bus/virtio/devices/$dev/..")
vendor=$(cat "$pcidir/vendor" 2>/dev/null)
device=$(cat "$pcidir/device" 2>/dev/null)
say "fs device=$dev pci=${vendor#0x}:${device#0x}"
# virtio_pci names one MSI-X vector per queue "virtioN-<queue name>"; the
# virtiofs driver names its queues hiprio and requests.0, requests.1, ...
queues=$(grep -c " $dev-requests\." /proc/interrupts)
say "fs queues=$queues hiprio=$(grep -c " $dev-hiprio" /proc/interrupts)"
vectors=$(ls "$pcidir/msi_irqs" 2>/dev/null | wc -l)
say "fs msix_vectors=$vectors"
want=$(arg fs_expect_queues)
[ -z "$want" ] || [ "$queues" = "$want" ] || fail "$queues request queues, expected $want"
[ "$vectors" -gt 0 ] || fail "no MSI-X vectors on $pcidir"
pass
