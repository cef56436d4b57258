/* bzImage header checks, the RAM layout around the 32-bit hole, and the
 * e820 map built from it. */
#include <errno.h>
#include <string.h>

#include <asm/bootparam.h>

#include "kvm/memory.h"
#include "tests/unit/tap.h"
#include "vmm/boot.h"
#include "vmm/e820.h"

static uint8_t img[4096];

static struct setup_header *hdr(void)
{
	return (struct setup_header *)(img + 0x1f1);
}

static void make_bzimage(void)
{
	memset(img, 0, sizeof(img));
	hdr()->setup_sects = 4;
	hdr()->boot_flag = 0xaa55;
	hdr()->header = 0x53726448;
	hdr()->version = 0x020f;
	hdr()->loadflags = LOADED_HIGH;
	hdr()->xloadflags = XLF_KERNEL_64;
	hdr()->initrd_addr_max = 0x7fffffff;
	hdr()->cmdline_size = 2047;
	hdr()->init_size = 0x2000000;
}

static int parse(size_t file_size, struct bzimage_info *info, char *err)
{
	return bzimage_parse(img, sizeof(img), file_size, info, err, 160);
}

static void test_bzimage(struct tap *t)
{
	struct bzimage_info info;
	char err[160];

	make_bzimage();
	ok(t, parse(1 << 20, &info, err) == 0, "a well-formed header parses");
	ok(t, info.setup_size == 5 * 512, "setup size is (setup_sects + 1) * 512");
	ok(t, info.kernel_size == (1 << 20) - 5 * 512, "kernel size is the rest of the file");
	ok(t, info.cmdline_size == 2047 && info.initrd_addr_max == 0x7fffffff,
	   "cmdline_size and initrd_addr_max come from the header");

	hdr()->setup_sects = 0;
	ok(t, parse(1 << 20, &info, err) == 0 && info.setup_size == 5 * 512,
	   "setup_sects 0 means 4");

	make_bzimage();
	hdr()->boot_flag = 0;
	ok(t, parse(1 << 20, &info, err) == -ENOEXEC && strstr(err, "not a Linux bzImage"),
	   "missing 0xaa55 is rejected: %s", err);

	make_bzimage();
	hdr()->header = 0x12345678;
	ok(t, parse(1 << 20, &info, err) == -ENOEXEC && strstr(err, "HdrS"),
	   "missing HdrS is rejected");

	make_bzimage();
	hdr()->version = 0x0206;
	ok(t, parse(1 << 20, &info, err) == -ENOEXEC && strstr(err, "2.06 is too old"),
	   "protocol 2.06 is too old: %s", err);

	make_bzimage();
	hdr()->loadflags = 0;
	ok(t, parse(1 << 20, &info, err) == -ENOEXEC && strstr(err, "zImage"),
	   "a zImage (loaded low) is rejected");

	make_bzimage();
	hdr()->xloadflags = 0;
	ok(t, parse(1 << 20, &info, err) == -ENOEXEC && strstr(err, "64-bit"),
	   "a kernel without 64-bit entry is rejected");

	make_bzimage();
	ok(t, parse(2000, &info, err) == -ENOEXEC && strstr(err, "setup header claims"),
	   "a file shorter than its setup is rejected: %s", err);
	ok(t, bzimage_parse(img, 512, 512, &info, err, sizeof(err)) == -ENOEXEC &&
	   strstr(err, "too small"), "a 512-byte file is rejected");

	make_bzimage();
	hdr()->initrd_addr_max = 0;
	ok(t, parse(1 << 20, &info, err) == 0 && info.initrd_addr_max == 0x37ffffff,
	   "initrd_addr_max 0 means the old 0x37ffffff limit");
}

static void test_layout(struct tap *t)
{
	struct ram_region r[2];

	ok(t, guest_ram_layout(512ULL << 20, r) == 1 && r[0].gpa == 0 &&
	   r[0].size == 512ULL << 20 && r[0].offset == 0, "512 MiB is one region at 0");
	ok(t, guest_ram_layout(3ULL << 30, r) == 1 && r[0].size == 3ULL << 30,
	   "exactly 3 GiB still fits below the hole");
	ok(t, guest_ram_layout(5ULL << 30, r) == 2, "5 GiB needs two regions");
	ok(t, r[0].size == RAM_LOW_END && r[1].gpa == RAM_HIGH_START &&
	   r[1].size == 2ULL << 30 && r[1].offset == RAM_LOW_END,
	   "the rest goes above 4 GiB, backed right after the low part");
}

static uint64_t total(const struct boot_e820_entry *e, int n, uint32_t type)
{
	uint64_t sum = 0;
	int i;

	for (i = 0; i < n; i++)
		if (e[i].type == type)
			sum += e[i].size;
	return sum;
}

static int sorted_disjoint(const struct boot_e820_entry *e, int n)
{
	int i;

	for (i = 1; i < n; i++)
		if (e[i].addr < e[i - 1].addr + e[i - 1].size)
			return 0;
	return 1;
}

static void test_e820(struct tap *t)
{
	struct boot_e820_entry e[16];
	struct ram_region r[2];
	struct e820_reserved ecam = { 0xe0000000, 0x10000000 };
	int n, nr;

	nr = guest_ram_layout(512ULL << 20, r);
	n = e820_build(e, 16, r, nr, NULL, 0);
	ok(t, n == 4, "512 MiB: 4 entries (got %d)", n);
	ok(t, e[0].addr == 0 && e[0].size == 0x9fc00 && e[0].type == E820_TYPE_RAM,
	   "conventional memory up to the EBDA");
	ok(t, e[1].addr == 0x9fc00 && e[1].type == E820_TYPE_RESERVED, "EBDA reserved");
	ok(t, e[2].addr == 0xe0000 && e[2].size == 0x20000 && e[2].type == E820_TYPE_RESERVED,
	   "BIOS area (ACPI tables) reserved");
	ok(t, e[3].addr == 0x100000 && e[3].addr + e[3].size == 512ULL << 20,
	   "high memory from 1 MiB to the end of RAM");
	ok(t, sorted_disjoint(e, n), "entries sorted and disjoint");

	nr = guest_ram_layout(5ULL << 30, r);
	n = e820_build(e, 16, r, nr, &ecam, 1);
	ok(t, n == 6, "5 GiB + ECAM: 6 entries (got %d)", n);
	ok(t, e[3].addr + e[3].size == RAM_LOW_END, "low RAM stops at 3 GiB");
	ok(t, e[4].addr == 0xe0000000 && e[4].type == E820_TYPE_RESERVED,
	   "extra range reserved, in address order");
	ok(t, e[5].addr == RAM_HIGH_START && e[5].size == 2ULL << 30 && e[5].type == E820_TYPE_RAM,
	   "2 GiB above 4 GiB");
	ok(t, sorted_disjoint(e, n), "entries sorted and disjoint");
	ok(t, total(e, n, E820_TYPE_RAM) == (5ULL << 30) - 0x60400,
	   "all RAM but the legacy holes is usable");
	ok(t, e820_build(e, 3, r, nr, NULL, 0) == -ENOSPC, "too small a table is -ENOSPC");
}

int main(void)
{
	struct tap t = TAP_INIT;

	test_bzimage(&t);
	test_layout(&t);
	test_e820(&t);
	return tap_done(&t);
}
