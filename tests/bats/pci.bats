#!/usr/bin/env bats
# The PCI host bridge as Linux sees it: enumeration of 00:00.0 through the
# config ports, the MCFG's ECAM range accepted, the root bridge windows from
# the SSDT's _CRS, _OSC, and no ACPI or PCI errors (guest/checks/pci.sh
# checks the kernel log inside the guest, so quiet boots check it too).

load helpers

setup_file() {
	require_guest
}

@test "the host bridge enumerates and ECAM is accepted (console log)" {
	# Without quiet: the kernel's own messages are part of the check.
	run timeout --kill-after=10 "$BOOT_TIMEOUT" "$VMM" -kernel "$KERNEL" -initrd "$INITRD" \
		-append "console=ttyS0 panic=-1 vmmtest.check=pci" -m 512M
	assert_status 0
	assert_result pci
	[[ $(guest_value pci) == 8086:29c0 ]]
	[[ $output == *"PCI host bridge to bus 0000:00"* ]]
	[[ $output == *"pci 0000:00:00.0: [8086:29c0] type 00 class 0x060000"* ]]
	[[ $output =~ MMCONFIG\ at\ \[mem\ 0xe0000000-0xe00fffff\]\ reserved ]]
	[[ $output == *"system 00:"*"[mem 0xe0000000-0xe00fffff] has been reserved"* ]]
	[[ $output == *"_OSC: OS now controls"* ]]
	[[ $output == *"root bus resource [io  0x0d00-0xffff window]"* ]]
	[[ $output == *"root bus resource [mem 0xc0000000-0xdfffffff window]"* ]]
	# 512 MiB of RAM: the 64-bit window is [32 GiB, 64 GiB) on any CPU
	# with at least 36 address bits.
	[[ $output == *"root bus resource [mem 0x800000000-0xfffffffff window]"* ]]
	[[ $output == *"root bus resource [bus 00]"* ]]
	[[ $output != *"ACPI Error"* && $output != *"ACPI BIOS Error"* ]]
	[[ $output != *"Using configuration type 1 for extended access"* ]]
}

@test "-m 5G -smp 2: ECAM sits between the RAM regions; same picture" {
	boot_guest "vmmtest.check=pci,mem" -m 5G -smp 2
	assert_status 0
	assert_result pci
	assert_result mem
	[[ $(guest_value pci_mmconfig) == e820 ]]
	[[ $(guest_value pci_windows) == 3 ]]
}

@test "PVH boot (ELF vmlinux): its memory map reserves ECAM too" {
	[[ -r $GUEST/vmlinux ]] || skip "build/guest/vmlinux not built (needs lz4)"
	run timeout --kill-after=10 "$BOOT_TIMEOUT" "$VMM" -kernel "$GUEST/vmlinux" -initrd "$INITRD" \
		-append "console=ttyS0 quiet panic=-1 vmmtest.check=pci" -m 512M
	assert_status 0
	assert_result pci
	[[ $(guest_value pci_mmconfig) == e820 ]]
}

@test "the pci check fails when an expected function is missing" {
	boot_guest "vmmtest.check=pci vmmtest.expect_pci=8086:29c0,1af4:1041" -m 512M
	assert_status 0
	[[ $output == *"VMMTEST: result pci FAIL no PCI function 1af4:1041"* ]]
}
