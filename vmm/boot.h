/* The Linux x86 boot protocol (Documentation/arch/x86/boot.rst): loads a
 * bzImage, the initrd and the command line into guest RAM, fills the zero
 * page, and describes the vCPU state at the 64-bit entry point. An ELF
 * vmlinux takes the PVH path instead (vmm/pvh.h). */
#ifndef VMM_BOOT_H
#define VMM_BOOT_H

#include <stddef.h>
#include <stdint.h>

#include "kvm/memory.h"
#include "kvm/vcpu.h"
#include "vmm/pvh.h"

/* Guest-physical layout of what the loader writes below 1 MiB. */
#define BOOT_GDT_GPA         0x500ULL
#define BOOT_PARAMS_GPA      0x7000ULL
#define BOOT_PML4_GPA        0x9000ULL
#define BOOT_PDPT_GPA        0xa000ULL
#define BOOT_PD_GPA          0xb000ULL   /* four pages: 4 GiB of 2 MiB pages */
#define BOOT_STACK_TOP       0x1f000ULL
#define BOOT_CMDLINE_GPA     0x20000ULL
/* Bytes for the command line and its NUL: low RAM up to the EBDA, below
 * the boot protocol's 0xa0000 and holding nothing else of ours. */
#define BOOT_CMDLINE_SIZE    (0x9fc00ULL - BOOT_CMDLINE_GPA)
#define BOOT_KERNEL_GPA      0x100000ULL

#define BZIMAGE_MIN_VERSION  0x020c   /* 2.12: xloadflags, 64-bit entry */

struct bzimage_info {
	uint16_t version;
	size_t setup_size;     /* bytes before the protected-mode kernel */
	size_t kernel_size;    /* protected-mode kernel bytes */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size;  /* longest command line, without its NUL */
	uint32_t init_size;
	uint16_t xloadflags;
};

/* Checks the setup header of a bzImage held in buf (at least the first
 * 1024 bytes of a file of file_size bytes). Returns 0, or -ENOEXEC with a
 * one-line reason in err. */
int bzimage_parse(const void *buf, size_t buflen, size_t file_size,
		  struct bzimage_info *info, char *err, size_t errlen);

struct boot_files {
	const char *kernel;
	const char *initrd;   /* may be NULL */
	const char *cmdline;  /* may be NULL */
	uint64_t rsdp_gpa;
};

/* The opened and checked images, between linux_open() and linux_load(). */
struct linux_image {
	struct boot_files files;
	int kernel_fd, initrd_fd;
	bool pvh;                 /* ELF vmlinux through its PVH entry */
	struct pvh_info pvh_info;
	struct bzimage_info info;
	uint8_t head[1024];
	uint64_t initrd_size;
	uint64_t initrd_gpa;
};

/* Opens and checks the kernel and initrd against a RAM size, before any VM
 * exists, so that bad input fails fast with the file named. Returns -errno
 * with a one-line message in err; linux_close() is needed either way. */
int linux_open(struct linux_image *img, const struct boot_files *files,
	       uint64_t ram_size, char *err, size_t errlen);
/* Loads the images, the zero page and the command line into RAM and fills
 * the BSP's entry state. */
int linux_load(struct linux_image *img, struct guest_ram *ram,
	       struct vcpu_boot_state *bs, char *err, size_t errlen);
void linux_close(struct linux_image *img);

#endif
