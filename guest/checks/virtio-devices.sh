# virtio-devices: every virtio device the guest found and the driver bound
# to it ("none" when the kernel has no driver for it), one line each:
#   virtio dev=virtioN id=ID driver=NAME pci=VENDOR:DEVICE
# then what a bound driver made of it:
#   virtio-input dev=virtioN ev=HEX key=HEX name=NAME     (capabilities, as sysfs)
#   virtio-vsock dev=virtioN cid=N                        (the guest's CID)
#   virtio-scsi dev=virtioN host=hostN
#   virtio-rng available=NAMES
# and at the end: virtio ids=ID,ID,... (in device order)
# vmmtest.virtio_expect=ID[:DRIVER],...: FAIL unless each ID is there, and
# (when given) bound to DRIVER ("none": to no driver, "any": to some).
ids=
for d in /sys/bus/virtio/devices/virtio*; do
	[ -e "$d" ] || continue
	dev=${d##*/}
	id=$(printf '%d' "$(cat "$d/device")")
	drv=none
	[ -e "$d/driver" ] && drv=$(basename "$(readlink "$d/driver")")
	pcidir=$(readlink -f "$d/..")
	pci="$(cat "$pcidir/vendor" 2>/dev/null):$(cat "$pcidir/device" 2>/dev/null)"
	say "virtio dev=$dev id=$id driver=$drv pci=$(echo "$pci" | sed 's/0x//g')"
	ids="$ids${ids:+,}$id"
	echo "$id $drv" >>/tmp/virtio-devices
	for i in "$d"/input/input*; do
		[ -e "$i/name" ] || continue
		say "virtio-input dev=$dev ev=$(cat "$i/capabilities/ev") key=$(tr ' ' '_' <"$i/capabilities/key") name=$(cat "$i/name")"
	done
	if [ "$drv" = vmw_vsock_virtio_transport ]; then
		say "virtio-vsock dev=$dev cid=$(vmmtest-io vsock-cid 2>&1)"
	fi
	for h in "$d"/host*; do
		[ -e "$h" ] && say "virtio-scsi dev=$dev host=${h##*/}"
	done
done
if [ -r /sys/class/misc/hw_random/rng_available ]; then
	say "virtio-rng available=$(echo $(cat /sys/class/misc/hw_random/rng_available) | tr ' ' ',')"
fi
say "virtio ids=$ids"
touch /tmp/virtio-devices
for e in $(arg virtio_expect | tr ',' ' '); do
	id=${e%%:*}
	want=
	[ "$id" = "$e" ] || want=${e#*:}
	grep -q "^$id " /tmp/virtio-devices || fail "no virtio device with id $id (have: $ids)"
	case $want in
	'') ;;
	any) grep -v "^$id none$" /tmp/virtio-devices | grep -q "^$id " ||
		fail "virtio device $id has no driver" ;;
	*) grep -q "^$id $want$" /tmp/virtio-devices ||
		fail "virtio device $id: driver $(grep "^$id " /tmp/virtio-devices | cut -d' ' -f2 | tr '\n' ' ')is not $want" ;;
	esac
done
pass
