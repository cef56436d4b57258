/* bzImage header checks, the command line and initrd as linux_open() and
 * linux_load() place them, the RAM layout around the 32-bit hole, and the
 * e820 map built from it. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

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

/* A file linux_open() can open by name that vanishes with the test: a
 * memfd through /proc/self/fd, sparse past what is written. */
static int memfile(const void *data, size_t len, size_t size, char *path, size_t pathlen)
{
	int fd = memfd_create("test-boot", MFD_CLOEXEC);

	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	if (fd >= 0 && (write(fd, data, len) != (ssize_t)len || ftruncate(fd, size) < 0)) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The kernel's first bytes, past the setup sectors, are a pattern that
 * must survive the command line being written. */
#define KERNEL_BYTE 0xaa

static int open_bzimage(struct linux_image *li, const char *cmdline, size_t file_size,
			const char *initrd, uint64_t ram_size, char *err)
{
	struct boot_files files = { .initrd = initrd, .cmdline = cmdline };
	char path[64];
	int fd, ret;

	memset(img + 5 * 512, KERNEL_BYTE, sizeof(img) - 5 * 512);
	fd = memfile(img, sizeof(img), file_size, path, sizeof(path));
	files.kernel = path;
	ret = linux_open(li, &files, ram_size, err, 160);
	close(fd);   /* linux_open has its own descriptor */
	return ret;
}

static int kernel_intact(const struct guest_ram *ram)
{
	const uint8_t *k = gpa_to_hva(ram, BOOT_KERNEL_GPA, sizeof(img) - 5 * 512);
	size_t i;

	for (i = 0; i < sizeof(img) - 5 * 512; i++)
		if (k[i] != KERNEL_BYTE)
			return 0;
	return 1;
}

/* Loads a 1 MiB bzImage whose header claims cmdline_size into 64 MiB of
 * RAM; the ACPI area (built before the kernel is loaded) is marked too. */
static int load_with_cmdline_size(struct guest_ram *ram, uint32_t cmdline_size,
				  const char *cmdline, char *err)
{
	struct linux_image li;
	struct vcpu_boot_state bs;
	int ret;

	make_bzimage();
	hdr()->cmdline_size = cmdline_size;
	memset(ram->base, 0, ram->size);
	memset((uint8_t *)ram->base + 0xe0000, 0x5a, 0x20000);
	ret = open_bzimage(&li, cmdline, 1 << 20, NULL, ram->size, err);
	if (ret == 0)
		ret = linux_load(&li, ram, &bs, err, 160);
	linux_close(&li);
	return ret;
}

static void test_cmdline_size(struct tap *t)
{
	struct ram_config cfg = { .size = 64ULL << 20 };
	static char line[0x80001];
	struct linux_image li;
	struct guest_ram ram;
	char err[160] = "";
	const char *p;
	int ret;

	ret = guest_ram_create(&ram, &cfg, err, sizeof(err));
	ok(t, ret == 0, "64 MiB of guest RAM for the loader (%s)", ret ? err : "created");
	if (ret < 0)
		return;

	make_bzimage();
	memset(line, 'x', 2047);
	line[2047] = '\0';
	ret = open_bzimage(&li, line, 1 << 20, NULL, ram.size, err);
	linux_close(&li);
	ok(t, ret == 0, "a command line of exactly cmdline_size (2047) bytes fits: %s",
	   ret ? err : "opened");
	line[2047] = 'x';
	line[2048] = '\0';
	ret = open_bzimage(&li, line, 1 << 20, NULL, ram.size, err);
	linux_close(&li);
	ok(t, ret == -E2BIG && strstr(err, "command line of 2048 bytes exceeds the kernel's limit of 2047"),
	   "one byte more is refused: %s", ret ? err : "accepted");

	make_bzimage();
	hdr()->cmdline_size = 0;
	ret = open_bzimage(&li, NULL, 1 << 20, NULL, ram.size, err);
	linux_close(&li);
	ok(t, ret == 0, "cmdline_size 0 still boots without a command line: %s",
	   ret ? err : "opened");
	ret = open_bzimage(&li, "a", 1 << 20, NULL, ram.size, err);
	linux_close(&li);
	ok(t, ret == -E2BIG && strstr(err, "limit of 0") && !strstr(err, "4294967295"),
	   "cmdline_size 0 refuses a command line without a wrapped limit: %s",
	   ret ? err : "accepted");

	ret = load_with_cmdline_size(&ram, 0x200000, "console=ttyS0", err);
	p = gpa_to_hva(&ram, BOOT_CMDLINE_GPA, 16);
	ok(t, ret == 0 && !strcmp(p, "console=ttyS0"),
	   "cmdline_size 2 MiB: the command line is written (%s)", ret ? err : "loaded");
	ok(t, kernel_intact(&ram), "cmdline_size 2 MiB leaves the kernel at 1 MiB alone");
	ok(t, ((uint8_t *)ram.base)[0xe0000] == 0x5a && ((uint8_t *)ram.base)[0xfffff] == 0x5a,
	   "cmdline_size 2 MiB leaves the ACPI area alone");

	memset(line, 'x', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	make_bzimage();
	hdr()->cmdline_size = 0x200000;
	ret = open_bzimage(&li, line, 1 << 20, NULL, ram.size, err);
	linux_close(&li);
	ok(t, ret == -E2BIG &&
	   strstr(err, "command line of 524288 bytes exceeds the VMM's limit of 523263"),
	   "a line longer than the room below the EBDA is refused even if the kernel takes it: %s",
	   ret ? err : "accepted");
	guest_ram_destroy(&ram);
}

/* A cmdline_size beyond guest RAM: the zeroing once wrote through a NULL
 * pointer, so this runs last. */
static void test_cmdline_size_huge(struct tap *t)
{
	struct ram_config cfg = { .size = 64ULL << 20 };
	struct guest_ram ram;
	char err[160] = "";
	int ret;

	if (guest_ram_create(&ram, &cfg, err, sizeof(err)) < 0) {
		ok(t, 0, "64 MiB of guest RAM for the loader (%s)", err);
		return;
	}
	ret = load_with_cmdline_size(&ram, 0xffffffff, "console=ttyS0", err);
	ok(t, ret == 0 && kernel_intact(&ram), "cmdline_size 0xffffffff loads (%s)",
	   ret ? err : "loaded");
	guest_ram_destroy(&ram);
}

/* A 40 MiB kernel whose header claims only 1 MiB of init_size: the
 * initrd must clear the kernel as loaded at 1 MiB, not just 16 MiB +
 * init_size. */
static void test_initrd(struct tap *t)
{
	const size_t kernel_size = 40ULL << 20;
	const uint64_t kernel_end = BOOT_KERNEL_GPA + kernel_size;
	struct linux_image li;
	char path[64], err[160] = "";
	int fd, ret;

	fd = memfile("", 0, 30ULL << 20, path, sizeof(path));
	make_bzimage();
	hdr()->init_size = 1 << 20;
	ret = open_bzimage(&li, NULL, 5 * 512 + kernel_size, path, 64ULL << 20, err);
	ok(t, ret == -ENOSPC || (ret == 0 && li.initrd_gpa >= kernel_end),
	   "64 MiB: a 30 MiB initrd does not land on the kernel's tail (%s at %llu MiB, kernel ends at %llu MiB)",
	   ret ? "refused" : "placed", (unsigned long long)(li.initrd_gpa >> 20),
	   (unsigned long long)(kernel_end >> 20));
	ok(t, ret == -ENOSPC && strstr(err, "needs 72 MiB"),
	   "and it is refused, naming the RAM needed: %s", err);
	linux_close(&li);

	ret = open_bzimage(&li, NULL, 5 * 512 + kernel_size, path, 71ULL << 20, err);
	ok(t, ret == 0 && li.initrd_gpa == kernel_end,
	   "71 MiB: the initrd fits right under the top, at the kernel's end (%s)",
	   ret ? err : "opened");
	linux_close(&li);
	close(fd);
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

	/* Line by line, so that the points before a sanitizer abort are seen. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_bzimage(&t);
	test_cmdline_size(&t);
	test_initrd(&t);
	test_layout(&t);
	test_e820(&t);
	test_cmdline_size_huge(&t);
	return tap_done(&t);
}
