# pci: the PCI functions Linux enumerated, and what it made of the host
# bridge's firmware description (MCFG, PCI0's _CRS), from sysfs and dmesg.
#   VMMTEST: pci=VENDOR:DEVICE[,...]  every function, in bus order
#   VMMTEST: pci_mmconfig=e820|acpi|none  how the MCFG's ECAM range was found reserved
#   VMMTEST: pci_windows=N               root bus windows (I/O and memory)
# PASS if 00:00.0 is a host bridge, every id in vmmtest.expect_pci (default
# 8086:29c0, commas between) is present, ECAM was accepted, and the kernel
# logged no ACPI errors and no PCI resource failures.
list=
for d in /sys/bus/pci/devices/*; do
	[ -r "$d/vendor" ] || continue
	v=$(cat "$d/vendor") dev=$(cat "$d/device")
	list="${list:+$list,}${v#0x}:${dev#0x}"
done
say "pci=${list:-none}"

log=$(dmesg)
case $log in
*"MMCONFIG at "*"reserved as E820 entry"* | *"MMCONFIG at "*"reserved in E820"*) mmconfig=e820 ;;
*"MMCONFIG at "*"reserved as ACPI motherboard resource"* | *"MMCONFIG at "*"reserved in ACPI motherboard resources"*) mmconfig=acpi ;;
*) mmconfig=none ;;
esac
say "pci_mmconfig=$mmconfig"
say "pci_windows=$(echo "$log" | grep -c 'pci_bus 0000:00: root bus resource \[.* window\]')"

[ -d /sys/bus/pci/devices/0000:00:00.0 ] || fail "no 0000:00:00.0"
class=$(cat /sys/bus/pci/devices/0000:00:00.0/class)
[ "$class" = 0x060000 ] || fail "0000:00:00.0 has class $class, not a host bridge (0x060000)"
for want in $(arg expect_pci 8086:29c0 | tr ',' ' '); do
	case ",$list," in
	*",$want,"*) ;;
	*) fail "no PCI function $want (have: ${list:-none})" ;;
	esac
done
[ "$mmconfig" != none ] || fail "Linux did not accept the MCFG's ECAM range"
bad=$(echo "$log" | grep -E 'ACPI (BIOS )?Error|ACPI Exception|BAR [0-9]+:.*(failed|no space|can.t)|can.t claim|no compatible bridge window|not reserved in ACPI motherboard|_OSC failed' | head -1)
[ -z "$bad" ] || fail "kernel log: $bad"
pass
