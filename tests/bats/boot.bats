#!/usr/bin/env bats
# Boots the Debian cloud kernel in our VMM (inside the lab on hosts without
# VMX/SVM) and checks what the guest sees and how the VMM exits.

load helpers

setup_file() {
	require_guest
}

@test "boots to the init marker with -smp 1" {
	boot_guest "vmmtest.check=cpus vmmtest.expect_cpus=1" -m 512M -smp 1
	assert_status 0
	assert_booted
	assert_result cpus
	[[ $(guest_value cpus) == 1 ]]
}

@test "-smp 2: the guest sees 2 CPUs" {
	boot_guest "vmmtest.check=cpus vmmtest.expect_cpus=2" -m 512M -smp 2
	assert_status 0
	assert_result cpus
	[[ $(guest_value cpus) == 2 ]]
}

@test "-m 512M: MemTotal is just under 512 MiB" {
	boot_guest "vmmtest.check=mem" -m 512M
	assert_status 0
	assert_result mem
	kb=$(guest_value memtotal_kb)
	(( kb > 400 * 1024 && kb <= 512 * 1024 ))
}

@test "-m 5G: MemTotal covers RAM on both sides of the 4 GiB hole" {
	boot_guest "vmmtest.check=mem" -m 5G
	assert_status 0
	assert_result mem
	kb=$(guest_value memtotal_kb)
	# Low RAM stops at 3 GiB; only RAM placed above 4 GiB gets past 3 GiB.
	(( kb > 4500 * 1024 && kb <= 5 * 1024 * 1024 ))
}

@test "a QEMU-style command line with the usual accepted options boots" {
	boot_guest "vmmtest.check=cpus vmmtest.expect_cpus=2" \
		-enable-kvm -accel kvm -machine q35,accel=kvm -cpu host -nodefaults \
		-no-user-config -display none -vga none -no-reboot -nographic \
		-serial mon:stdio -smp 2 -m 1G \
		-object memory-backend-memfd,id=mem,size=1G,share=on -numa node,memdev=mem
	assert_status 0
	assert_result cpus
}

@test "--long option spellings and memory-backend= on -machine boot" {
	boot_guest "vmmtest.check=none" --machine q35,memory-backend=ram0 \
		--object memory-backend-memfd,id=ram0,size=512M --smp cpus=2,cores=2
	assert_status 0
	assert_result none
}

@test "guest poweroff ends the VMM with status 0" {
	boot_guest "vmmtest.check=poweroff"
	assert_status 0
	assert_booted
	[[ $output != *"error"* ]]
}

@test "guest reboot ends the VMM with status 0 and says so" {
	boot_guest "vmmtest.check=reboot"
	assert_status 0
	assert_booted
	[[ $output == *"guest requested a reboot"* ]]
}

@test "isa-debug-exit: a guest write of v exits with (v << 1) | 1" {
	boot_guest "vmmtest.check=debugexit vmmtest.code=3" -device isa-debug-exit,iobase=0xf4,iosize=0x04
	assert_status 7
	assert_booted
}

@test "a guest kernel panic exits non-zero, quickly" {
	start=$SECONDS
	boot_guest "init=/nonexistent"
	assert_status 4
	[[ $output == *"guest kernel panicked"* ]]
	# "Quickly": no watchdog or timeout involved, the panic ends the VM.
	(( SECONDS - start < 90 ))
}

@test "an uncompressed ELF vmlinux boots through its PVH entry note" {
	[[ -r $GUEST/vmlinux ]] || skip "build/guest/vmlinux not built (needs lz4)"
	run timeout --kill-after=10 "$BOOT_TIMEOUT" "$VMM" -kernel "$GUEST/vmlinux" -initrd "$INITRD" \
		-append "console=ttyS0 quiet panic=-1 vmmtest.check=cpus vmmtest.expect_cpus=2" -smp 2 -v
	assert_status 0
	assert_result cpus
	[[ $output == *"through its PVH entry"* ]]
}
