#!/usr/bin/env bats
# Bad input: each case is one clear line naming the problem and a non-zero
# exit, never a crash (the ASan/UBSan build would turn one into status 98/99).

load helpers

# The error line is the last line of output and names the culprit.
assert_error() {
	[[ $status -eq 1 ]] || { echo "status $status, expected 1: $output" >&2; return 1; }
	[[ $(wc -l <<<"$output") -eq 1 ]] || { echo "more than one line: $output" >&2; return 1; }
	[[ $output == "vmm: error: "*"$1"* ]] || { echo "expected '$1' in: $output" >&2; return 1; }
}

@test "missing kernel" {
	run "$VMM" -kernel /nonexistent/bzImage
	assert_error "kernel /nonexistent/bzImage: No such file or directory"
}

@test "no -kernel at all" {
	run "$VMM" -m 512M
	assert_error "no kernel given"
}

@test "unreadable kernel (a directory)" {
	run "$VMM" -kernel "$BATS_TEST_TMPDIR"
	assert_error "is a directory"
}

@test "unreadable kernel (no read permission)" {
	f=$BATS_TEST_TMPDIR/secret
	cp "$KERNEL" "$f"
	chmod 000 "$f"
	# root reads anything; drop to nobody when we are root.
	if (( EUID == 0 )); then
		chmod 755 "$BATS_TEST_TMPDIR"
		run setpriv --reuid=nobody --regid=nogroup --clear-groups "$VMM" -kernel "$f"
	else
		run "$VMM" -kernel "$f"
	fi
	assert_error "Permission denied"
}

@test "a file that is not a bzImage" {
	head -c 100000 /dev/urandom >"$BATS_TEST_TMPDIR/random"
	run "$VMM" -kernel "$BATS_TEST_TMPDIR/random"
	assert_error "not a Linux bzImage"
}

@test "a truncated bzImage" {
	head -c 4000 "$KERNEL" >"$BATS_TEST_TMPDIR/short"
	run "$VMM" -kernel "$BATS_TEST_TMPDIR/short"
	assert_error "kernel $BATS_TEST_TMPDIR/short"
}

@test "an initrd larger than RAM" {
	truncate -s 700M "$BATS_TEST_TMPDIR/big.img"
	run "$VMM" -kernel "$KERNEL" -initrd "$BATS_TEST_TMPDIR/big.img" -m 512M
	assert_error "initrd of 700 MiB does not fit"
}

@test "missing initrd" {
	run "$VMM" -kernel "$KERNEL" -initrd /nonexistent.img
	assert_error "initrd /nonexistent.img: No such file or directory"
}

@test "-m 0" {
	run "$VMM" -kernel "$KERNEL" -m 0
	assert_error "-m"
}

@test "-m 99999999G" {
	run "$VMM" -kernel "$KERNEL" -m 99999999G
	assert_error "-m: size 99999999G is too large"
}

@test "-m garbage" {
	run "$VMM" -kernel "$KERNEL" -m lots
	assert_error "-m"
}

@test "-smp 0" {
	run "$VMM" -kernel "$KERNEL" -smp 0
	assert_error "-smp"
}

@test "an unknown option is named" {
	run "$VMM" -kernel "$KERNEL" -frobnicate
	assert_error "unknown option '-frobnicate'"
}

@test "a memory backend disagreeing with -m" {
	run "$VMM" -kernel "$KERNEL" -m 512M -object memory-backend-memfd,id=mem,size=1G -numa node,memdev=mem
	assert_error "memory backend 'mem' size 1G does not match -m 512M"
}

@test "a memory backend without share=on disagreeing with -m" {
	run "$VMM" -kernel "$KERNEL" -m 2G -object memory-backend-file,id=mem,size=1G,mem-path=/dev/shm -numa node,memdev=mem
	assert_error "does not match -m 2G"
}

@test "a reference to an undefined memory backend" {
	run "$VMM" -kernel "$KERNEL" -numa node,memdev=nope
	assert_error "nope"
}

@test "an unsupported -serial backend" {
	run "$VMM" -kernel "$KERNEL" -serial pty
	assert_error "-serial"
}

@test "-accel tcg is refused" {
	run "$VMM" -kernel "$KERNEL" -accel tcg
	assert_error "tcg"
}

@test "--help lists the options and exits 0" {
	run "$VMM" --help
	[[ $status -eq 0 ]]
	[[ $output == *"-kernel"* && $output == *"-device"* && $output == *"isa-debug-exit"* ]]
}

@test "--version exits 0" {
	run "$VMM" --version
	[[ $status -eq 0 && $output == "vmm "* ]]
}

@test "a too long -append is refused" {
	run "$VMM" -kernel "$KERNEL" -append "$(head -c 5000 /dev/zero | tr '\0' x)"
	assert_error "-append: command line of 5000 bytes exceeds"
}

@test "hugetlb=on without reserved huge pages says what to do" {
	[[ $(cat /proc/sys/vm/nr_hugepages) == 0 ]] || skip "huge pages are reserved on this host"
	run "$VMM" -kernel "$KERNEL" -initrd "$INITRD" -m 512M \
		-object memory-backend-memfd,id=mem,size=512M,hugetlb=on -numa node,memdev=mem
	[[ $status -eq 1 ]]
	[[ $output == *"hugetlb=on"*"nr_hugepages"* ]]
}

@test "an ELF that is not a PVH kernel is refused" {
	run "$VMM" -kernel /bin/true
	assert_error "has no PVH entry note"
}

@test "a 32-bit ELF is refused" {
	printf '\177ELF\001\001\001' >"$BATS_TEST_TMPDIR/elf32"
	head -c 2000 /dev/zero >>"$BATS_TEST_TMPDIR/elf32"
	run "$VMM" -kernel "$BATS_TEST_TMPDIR/elf32"
	assert_error "not an x86-64 ELF kernel"
}
