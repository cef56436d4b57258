/* The ELF vmlinux checks of the PVH path: its program headers and the
 * Xen entry note, from files built here. */
#include <elf.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "vmm/pvh.h"

#define XEN_ELFNOTE_PHYS32_ENTRY 18
#define ENTRY 0x1000123

/* An x86-64 ELF with a PT_NOTE holding notes (nlen bytes) and one
 * PT_LOAD of the whole file. */
struct elf_file {
	Elf64_Ehdr eh;
	Elf64_Phdr ph[2];
	uint8_t notes[64];
};

static size_t put_note(uint8_t *p, uint32_t namesz, uint32_t descsz, uint32_t type,
		       const char *name, uint64_t desc)
{
	Elf64_Nhdr nh = { namesz, descsz, type };

	memcpy(p, &nh, sizeof(nh));
	memcpy(p + sizeof(nh), name, 4);
	memcpy(p + sizeof(nh) + 4, &desc, 8);
	return sizeof(nh) + 4 + 8;
}

static int parse(const uint8_t *notes, size_t nlen, struct pvh_info *info, char *err)
{
	struct elf_file f;
	int fd, ret;

	memset(&f, 0, sizeof(f));
	memcpy(f.eh.e_ident, ELFMAG, SELFMAG);
	f.eh.e_ident[EI_CLASS] = ELFCLASS64;
	f.eh.e_ident[EI_DATA] = ELFDATA2LSB;
	f.eh.e_ident[EI_VERSION] = EV_CURRENT;
	f.eh.e_type = ET_EXEC;
	f.eh.e_machine = EM_X86_64;
	f.eh.e_version = EV_CURRENT;
	f.eh.e_phoff = offsetof(struct elf_file, ph);
	f.eh.e_ehsize = sizeof(f.eh);
	f.eh.e_phentsize = sizeof(Elf64_Phdr);
	f.eh.e_phnum = 2;
	f.ph[0] = (Elf64_Phdr){
		.p_type = PT_NOTE, .p_offset = offsetof(struct elf_file, notes),
		.p_filesz = nlen, .p_align = 4,
	};
	f.ph[1] = (Elf64_Phdr){
		.p_type = PT_LOAD, .p_offset = 0, .p_paddr = 0x1000000,
		.p_filesz = sizeof(f), .p_memsz = sizeof(f), .p_align = 4096,
	};
	memcpy(f.notes, notes, nlen);

	fd = memfd_create("test-pvh", MFD_CLOEXEC);
	if (fd < 0 || write(fd, &f, sizeof(f)) != (ssize_t)sizeof(f)) {
		snprintf(err, 160, "cannot write the test ELF");
		return -EIO;
	}
	ret = pvh_parse(fd, sizeof(f), info, err, 160);
	close(fd);
	return ret;
}

static void test_notes(struct tap *t)
{
	uint8_t notes[64];
	struct pvh_info info;
	char err[160] = "";
	size_t n;
	int ret;

	n = put_note(notes, 4, 8, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", ENTRY);
	ret = parse(notes, n, &info, err);
	ok(t, ret == 0 && info.entry == ENTRY && info.nsegments == 1,
	   "a well-formed Xen PHYS32_ENTRY note gives the entry (%s)", ret ? err : "parsed");

	n = put_note(notes, 4, 8, 3, "GNU", 0);
	n += put_note(notes + n, 4, 8, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", ENTRY);
	ret = parse(notes, n, &info, err);
	ok(t, ret == 0 && info.entry == ENTRY, "the entry note is found after another note (%s)",
	   ret ? err : "parsed");

	/* The descriptor's 8 bytes are there, but n_descsz claims 4 GiB: the
	 * note runs past its segment, whatever it holds. */
	n = put_note(notes, 4, 0xffffffff, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", ENTRY);
	ret = parse(notes, n, &info, err);
	ok(t, ret == -ENOEXEC, "n_descsz 0xffffffff is refused: %s", ret ? err : "accepted");

	/* A name that runs past the segment must not be skipped as empty
	 * and the next bytes taken for a note. */
	n = put_note(notes, 0xffffffff, 0, 1, "ABC", 0) - 12;
	n += put_note(notes + n, 4, 8, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", ENTRY);
	ret = parse(notes, n, &info, err);
	ok(t, ret == -ENOEXEC, "n_namesz 0xffffffff is refused: %s", ret ? err : "accepted");

	/* Last: with nothing after the name, the old code read the
	 * descriptor past the end of the note buffer. */
	n = put_note(notes, 4, 0xffffffff, XEN_ELFNOTE_PHYS32_ENTRY, "Xen", ENTRY) - 8;
	ret = parse(notes, n, &info, err);
	ok(t, ret == -ENOEXEC, "n_descsz 0xffffffff at the end of the segment is refused: %s",
	   ret ? err : "accepted");
}

int main(void)
{
	struct tap t = TAP_INIT;

	/* Line by line, so that the points before a sanitizer abort are seen. */
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_notes(&t);
	return tap_done(&t);
}
