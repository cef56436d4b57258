#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <asm/bootparam.h>

#include "lib/log.h"
#include "pci/pci.h"
#include "vmm/boot.h"
#include "vmm/e820.h"

#define SETUP_HDR_OFFSET   0x1f1
#define BOOT_FLAG_MAGIC    0xaa55
#define HDRS_MAGIC         0x53726448   /* "HdrS" */
#define LOADER_TYPE_UNDEF  0xff
#define DECOMPRESS_GPA     0x1000000ULL /* LOAD_PHYSICAL_ADDR of x86-64 kernels */

_Static_assert(BOOT_CMDLINE_GPA + BOOT_CMDLINE_SIZE <= E820_EBDA_START,
	       "the command line must stay in the low RAM the e820 map reports");

/* Reserved ranges in the MMIO hole that the guest must know about: the PCI
 * ECAM. Linux trusts the MCFG only for a range the firmware reserved (e820
 * or a PNP0C02 device; the SSDT has the latter too). The machine always has
 * the PCI host bridge, so this is unconditional. */
static const struct e820_reserved hole_reserved[] = {
	{ PCI_ECAM_BASE, PCI_ECAM_SIZE },
};
#define NHOLE_RESERVED ((int)(sizeof(hole_reserved) / sizeof(hole_reserved[0])))

/* Xen's PVH start of day (xen/include/public/arch-x86/hvm/start_info.h),
 * which Linux's pvh_start_xen reads; no UAPI header carries it. */
#define PVH_START_MAGIC 0x336ec578
struct hvm_start_info {
	uint32_t magic, version, flags, nr_modules;
	uint64_t modlist_paddr, cmdline_paddr, rsdp_paddr;
	uint64_t memmap_paddr;
	uint32_t memmap_entries, reserved;
};
struct hvm_modlist_entry {
	uint64_t paddr, size, cmdline_paddr, reserved;
};
struct hvm_memmap_table_entry {
	uint64_t addr, size;
	uint32_t type, reserved;
};
#define PVH_MODLIST_GPA (BOOT_PARAMS_GPA + 0x100)
#define PVH_MEMMAP_GPA  (BOOT_PARAMS_GPA + 0x200)
#define PVH_MAX_MEMMAP  64
/* Linux keeps initrds below 2 GiB unless its header says otherwise, and
 * an ELF vmlinux carries no header to say so. */
#define PVH_INITRD_MAX  0x7fffffffULL

#define GDT_CODE32 0x00cf9b000000ffffULL
#define GDT_CODE64 0x00af9b000000ffffULL
#define GDT_DATA   0x00cf93000000ffffULL
#define BOOT_CS    0x10
#define BOOT_DS    0x18

int bzimage_parse(const void *buf, size_t buflen, size_t file_size,
		  struct bzimage_info *info, char *err, size_t errlen)
{
	const uint8_t *b = buf;
	struct setup_header hdr;
	size_t setup_sects;

	if (buflen < 1024 || file_size < 1024) {
		snprintf(err, errlen, "too small to be a bzImage (%zu bytes)", file_size);
		return -ENOEXEC;
	}
	memcpy(&hdr, b + SETUP_HDR_OFFSET, sizeof(hdr));
	if (hdr.boot_flag != BOOT_FLAG_MAGIC || hdr.header != HDRS_MAGIC) {
		snprintf(err, errlen, "not a Linux bzImage (no boot sector signature or \"HdrS\" setup header)");
		return -ENOEXEC;
	}
	if (hdr.version < BZIMAGE_MIN_VERSION) {
		snprintf(err, errlen, "boot protocol %u.%02u is too old: need 2.12 or newer (Linux 3.8+)",
			 hdr.version >> 8, hdr.version & 0xff);
		return -ENOEXEC;
	}
	if (!(hdr.loadflags & LOADED_HIGH)) {
		snprintf(err, errlen, "zImage (loaded low) is not supported; use a bzImage");
		return -ENOEXEC;
	}
	if (!(hdr.xloadflags & XLF_KERNEL_64)) {
		snprintf(err, errlen, "kernel has no 64-bit entry point (32-bit kernel?)");
		return -ENOEXEC;
	}
	setup_sects = hdr.setup_sects ? hdr.setup_sects : 4;
	info->setup_size = (setup_sects + 1) * 512;
	if (info->setup_size >= file_size) {
		snprintf(err, errlen, "setup header claims %zu setup bytes but the file has %zu",
			 info->setup_size, file_size);
		return -ENOEXEC;
	}
	info->version = hdr.version;
	info->kernel_size = file_size - info->setup_size;
	info->initrd_addr_max = hdr.initrd_addr_max ? hdr.initrd_addr_max : 0x37ffffff;
	info->cmdline_size = hdr.version >= 0x0206 ? hdr.cmdline_size : 255;
	info->init_size = hdr.init_size;
	info->xloadflags = hdr.xloadflags;
	return 0;
}

static int read_full(int fd, void *dst, size_t len, off_t off)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, (char *)dst + done, len - done, off + done);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (n == 0)
			return -EIO;   /* file shrank under us */
		done += n;
	}
	return 0;
}

static int open_image(const char *what, const char *path, struct stat *st,
		      char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), e;

	if (fd < 0) {
		e = errno;
		snprintf(err, errlen, "%s %s: %s", what, path, strerror(e));
		return -e;
	}
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		e = S_ISDIR(st->st_mode) ? EISDIR : EINVAL;
		snprintf(err, errlen, "%s %s: %s", what, path,
			 e == EISDIR ? "is a directory" : "not a regular file");
		close(fd);
		return -e;
	}
	return fd;
}

static void write_page_tables(struct guest_ram *ram)
{
	uint64_t *pml4 = gpa_to_hva(ram, BOOT_PML4_GPA, 4096);
	uint64_t *pdpt = gpa_to_hva(ram, BOOT_PDPT_GPA, 4096);
	uint64_t *pd = gpa_to_hva(ram, BOOT_PD_GPA, 4 * 4096);
	int i;

	/* Identity map of the first 4 GiB in 2 MiB pages: the 64-bit entry
	 * needs the kernel, zero page, command line and initrd mapped. */
	memset(pml4, 0, 4096);
	memset(pdpt, 0, 4096);
	pml4[0] = BOOT_PDPT_GPA | 0x3;                 /* present, writable */
	for (i = 0; i < 4; i++)
		pdpt[i] = (BOOT_PD_GPA + i * 4096) | 0x3;
	for (i = 0; i < 4 * 512; i++)
		pd[i] = ((uint64_t)i << 21) | 0x83;    /* present, writable, 2 MiB */
}

/* A flat GDT with the boot protocol's selectors, and the entry state
 * that uses it; code is a 64-bit or a 32-bit code descriptor. */
static void flat_entry(struct guest_ram *ram, uint64_t code, struct vcpu_boot_state *bs)
{
	uint64_t *gdt = gpa_to_hva(ram, BOOT_GDT_GPA, 4 * 8);

	gdt[0] = 0;
	gdt[1] = 0;
	gdt[BOOT_CS / 8] = code;
	gdt[BOOT_DS / 8] = GDT_DATA;
	memset(bs, 0, sizeof(*bs));
	bs->long_mode = code == GDT_CODE64;
	bs->gdt_base = BOOT_GDT_GPA;
	bs->gdt_limit = 4 * 8 - 1;
	bs->code_sel = BOOT_CS;
	bs->data_sel = BOOT_DS;
}

/* The initrd goes as high as the kernel allows, below the hole, like
 * QEMU and GRUB do, which keeps it clear of the decompressed kernel. */
static int place_initrd(uint64_t low_ram, uint64_t addr_max, uint64_t lowest,
			uint64_t size, uint64_t *gpa, char *err, size_t errlen)
{
	uint64_t top = low_ram;

	if (top > addr_max + 1)
		top = addr_max + 1;
	if (size > top || ((top - size) & ~0xfffULL) < lowest) {
		snprintf(err, errlen, "initrd of %llu MiB does not fit in guest RAM below %llu MiB next to the kernel (needs %llu MiB); increase -m",
			 (unsigned long long)(size >> 20), (unsigned long long)(top >> 20),
			 (unsigned long long)((lowest + size) >> 20) + 1);
		return -ENOSPC;
	}
	*gpa = (top - size) & ~0xfffULL;
	return 0;
}

int linux_open(struct linux_image *img, const struct boot_files *files,
	       uint64_t ram_size, char *err, size_t errlen)
{
	struct ram_region regions[2];
	size_t cmdlen = files->cmdline ? strlen(files->cmdline) : 0;
	uint64_t kernel_end, initrd_max;
	struct stat st;
	char why[160];
	int ret;

	memset(img, 0, sizeof(*img));
	img->files = *files;
	img->kernel_fd = img->initrd_fd = -1;
	guest_ram_layout(ram_size, regions);
	if (regions[0].size < DECOMPRESS_GPA * 2) {
		snprintf(err, errlen, "guest RAM of %llu MiB is too small to boot Linux (need at least 32 MiB)",
			 (unsigned long long)(ram_size >> 20));
		return -ENOSPC;
	}

	img->kernel_fd = open_image("kernel", files->kernel, &st, err, errlen);
	if (img->kernel_fd < 0)
		return img->kernel_fd;
	ret = read_full(img->kernel_fd, img->head,
			(size_t)st.st_size < sizeof(img->head) ? (size_t)st.st_size : sizeof(img->head), 0);
	if (ret < 0) {
		snprintf(err, errlen, "kernel %s: %s", files->kernel, strerror(-ret));
		return ret;
	}
	img->pvh = pvh_is_elf(img->head, sizeof(img->head));
	if (img->pvh) {
		ret = pvh_parse(img->kernel_fd, st.st_size, &img->pvh_info, why, sizeof(why));
		/* Linux's COMMAND_LINE_SIZE less the NUL; an ELF has no
		 * header to say otherwise. */
		img->info.cmdline_size = 2047;
		kernel_end = img->pvh_info.end;
		initrd_max = PVH_INITRD_MAX;
	} else {
		ret = bzimage_parse(img->head, sizeof(img->head), st.st_size, &img->info,
				    why, sizeof(why));
		/* The initrd must clear the kernel as loaded, not only the
		 * buffer it decompresses into: init_size may understate. */
		kernel_end = DECOMPRESS_GPA + img->info.init_size;
		if (kernel_end < BOOT_KERNEL_GPA + img->info.kernel_size)
			kernel_end = BOOT_KERNEL_GPA + img->info.kernel_size;
		initrd_max = img->info.initrd_addr_max;
	}
	if (ret < 0) {
		snprintf(err, errlen, "kernel %s: %s", files->kernel, why);
		return ret;
	}
	if ((img->pvh ? img->pvh_info.end : BOOT_KERNEL_GPA + img->info.kernel_size) >
	    regions[0].size) {
		snprintf(err, errlen, "kernel %s does not fit in %llu MiB of guest RAM",
			 files->kernel, (unsigned long long)(ram_size >> 20));
		return -ENOSPC;
	}
	if (cmdlen > img->info.cmdline_size) {
		snprintf(err, errlen, "-append: command line of %zu bytes exceeds the kernel's limit of %u",
			 cmdlen, img->info.cmdline_size);
		return -E2BIG;
	}
	/* A header may promise more than there is room for below the EBDA;
	 * its cmdline_size is only a maximum, so ours applies as well. */
	if (cmdlen >= BOOT_CMDLINE_SIZE) {
		snprintf(err, errlen, "-append: command line of %zu bytes exceeds the VMM's limit of %llu (the room below the EBDA)",
			 cmdlen, BOOT_CMDLINE_SIZE - 1);
		return -E2BIG;
	}
	if (!files->initrd)
		return 0;
	img->initrd_fd = open_image("initrd", files->initrd, &st, err, errlen);
	if (img->initrd_fd < 0)
		return img->initrd_fd;
	img->initrd_size = st.st_size;
	return place_initrd(regions[0].size, initrd_max, kernel_end, img->initrd_size,
			    &img->initrd_gpa, err, errlen);
}

void linux_close(struct linux_image *img)
{
	if (img->kernel_fd >= 0)
		close(img->kernel_fd);
	if (img->initrd_fd >= 0)
		close(img->initrd_fd);
	img->kernel_fd = img->initrd_fd = -1;
}

static int load_segments(struct linux_image *img, struct guest_ram *ram)
{
	int i, ret;

	for (i = 0; i < img->pvh_info.nsegments; i++) {
		const struct pvh_segment *seg = &img->pvh_info.segments[i];
		uint8_t *dst = gpa_to_hva(ram, seg->paddr, seg->memsz);

		if (!dst)
			return -ENOSPC;
		ret = read_full(img->kernel_fd, dst, seg->filesz, seg->file_offset);
		if (ret < 0)
			return ret;
		memset(dst + seg->filesz, 0, seg->memsz - seg->filesz);
	}
	return 0;
}

/* PVH entry: 32-bit flat protected mode, paging off, EBX pointing at the
 * start_info that replaces the zero page. */
static int pvh_start(struct linux_image *img, struct guest_ram *ram,
		     struct vcpu_boot_state *bs, char *err, size_t errlen)
{
	struct hvm_start_info *si = gpa_to_hva(ram, BOOT_PARAMS_GPA, sizeof(*si));
	struct hvm_modlist_entry *mod = gpa_to_hva(ram, PVH_MODLIST_GPA, sizeof(*mod));
	struct hvm_memmap_table_entry *map;
	struct boot_e820_entry e820[PVH_MAX_MEMMAP];
	int i, n;

	n = e820_build(e820, PVH_MAX_MEMMAP, ram->regions, ram->nregions,
		       hole_reserved, NHOLE_RESERVED);
	if (n < 0) {
		snprintf(err, errlen, "memory map too large for PVH start info");
		return n;
	}
	map = gpa_to_hva(ram, PVH_MEMMAP_GPA, n * sizeof(*map));
	for (i = 0; i < n; i++)
		map[i] = (struct hvm_memmap_table_entry){
			.addr = e820[i].addr, .size = e820[i].size, .type = e820[i].type,
		};
	memset(si, 0, sizeof(*si));
	si->magic = PVH_START_MAGIC;
	si->version = 1;
	si->cmdline_paddr = BOOT_CMDLINE_GPA;
	si->rsdp_paddr = img->files.rsdp_gpa;
	si->memmap_paddr = PVH_MEMMAP_GPA;
	si->memmap_entries = n;
	if (img->initrd_fd >= 0) {
		*mod = (struct hvm_modlist_entry){
			.paddr = img->initrd_gpa, .size = img->initrd_size,
		};
		si->nr_modules = 1;
		si->modlist_paddr = PVH_MODLIST_GPA;
	}
	flat_entry(ram, GDT_CODE32, bs);
	bs->rip = img->pvh_info.entry;
	bs->rbx = BOOT_PARAMS_GPA;
	pr_info("kernel %s: ELF through its PVH entry 0x%x; initrd %llu KiB at 0x%llx",
		img->files.kernel, img->pvh_info.entry,
		(unsigned long long)(img->initrd_size >> 10),
		(unsigned long long)img->initrd_gpa);
	return 0;
}

int linux_load(struct linux_image *img, struct guest_ram *ram,
	       struct vcpu_boot_state *bs, char *err, size_t errlen)
{
	const struct boot_files *files = &img->files;
	size_t cmdlen = files->cmdline ? strlen(files->cmdline) : 0;
	struct boot_params *bp;
	size_t hdr_len;
	void *dst;
	int ret, n;

	if (img->pvh) {
		ret = load_segments(img, ram);
	} else {
		dst = gpa_to_hva(ram, BOOT_KERNEL_GPA, img->info.kernel_size);
		ret = dst ? read_full(img->kernel_fd, dst, img->info.kernel_size,
				      img->info.setup_size) : -ENOSPC;
	}
	if (ret < 0) {
		snprintf(err, errlen, "kernel %s: %s", files->kernel, strerror(-ret));
		return ret;
	}
	if (img->initrd_fd >= 0) {
		dst = gpa_to_hva(ram, img->initrd_gpa, img->initrd_size);
		ret = dst ? read_full(img->initrd_fd, dst, img->initrd_size, 0) : -ENOSPC;
		if (ret < 0) {
			snprintf(err, errlen, "initrd %s: %s", files->initrd, strerror(-ret));
			return ret;
		}
	}

	/* The line and its NUL only, as QEMU writes it: cmdline_size is the
	 * kernel's maximum, and the header is not to size our writes. */
	dst = gpa_to_hva(ram, BOOT_CMDLINE_GPA, cmdlen + 1);
	memcpy(dst, cmdlen ? files->cmdline : "", cmdlen + 1);
	if (img->pvh)
		return pvh_start(img, ram, bs, err, errlen);

	bp = gpa_to_hva(ram, BOOT_PARAMS_GPA, sizeof(*bp));
	memset(bp, 0, sizeof(*bp));
	/* The header copied is as long as the kernel says it is (the jump at
	 * 0x200 skips it), but never more than the struct we know. */
	hdr_len = 0x202 + img->head[0x201] - SETUP_HDR_OFFSET;
	if (hdr_len > sizeof(bp->hdr))
		hdr_len = sizeof(bp->hdr);
	memcpy(&bp->hdr, img->head + SETUP_HDR_OFFSET, hdr_len);
	bp->hdr.type_of_loader = LOADER_TYPE_UNDEF;
	bp->hdr.loadflags |= CAN_USE_HEAP;
	bp->hdr.heap_end_ptr = 0xfe00;
	bp->hdr.vid_mode = 0xffff;
	bp->hdr.code32_start = BOOT_KERNEL_GPA;
	bp->hdr.cmd_line_ptr = BOOT_CMDLINE_GPA;
	bp->hdr.ramdisk_image = (uint32_t)img->initrd_gpa;
	bp->hdr.ramdisk_size = (uint32_t)img->initrd_size;
	if (img->info.version >= 0x020e)
		bp->acpi_rsdp_addr = files->rsdp_gpa;

	n = e820_build(bp->e820_table, E820_MAX_ENTRIES_ZEROPAGE, ram->regions,
		       ram->nregions, hole_reserved, NHOLE_RESERVED);
	if (n < 0) {
		snprintf(err, errlen, "e820 map does not fit in the zero page");
		return n;
	}
	bp->e820_entries = n;

	write_page_tables(ram);
	flat_entry(ram, GDT_CODE64, bs);
	bs->rip = BOOT_KERNEL_GPA + 0x200;   /* startup_64 */
	bs->rsi = BOOT_PARAMS_GPA;
	bs->rsp = BOOT_STACK_TOP;
	bs->cr3 = BOOT_PML4_GPA;
	pr_info("kernel %s: boot protocol %u.%02u, %zu KiB at 0x%llx; initrd %llu KiB at 0x%llx",
		files->kernel, img->info.version >> 8, img->info.version & 0xff,
		img->info.kernel_size >> 10, BOOT_KERNEL_GPA,
		(unsigned long long)(img->initrd_size >> 10),
		(unsigned long long)img->initrd_gpa);
	return 0;
}
