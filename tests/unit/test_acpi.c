/* ACPI tables: structure, checksums, cross-references, the DSDT's contents
 * against vmm/acpi.h, and (when iasl is installed) ACPICA's own opinion. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/unit/tap.h"
#include "vmm/acpi.h"

#define GPA ACPI_TABLES_GPA
#define FILL 0xaa	/* pre-fill, to see what acpi_build() touched */

extern char **environ;

/* A built blob: the host copy of [GPA, GPA + len). */
struct blob {
	uint8_t *mem;
	size_t size;	/* allocated */
	long len;	/* acpi_build()'s result */
};

static bool build(struct blob *b, unsigned ncpus, size_t size)
{
	struct acpi_config cfg = { .ncpus = ncpus };

	b->size = size;
	b->mem = malloc(size ? size : 1);
	if (!b->mem)
		return false;
	memset(b->mem, FILL, size);
	b->len = acpi_build(b->mem, GPA, size, &cfg);
	return true;
}

/* Host pointer for [addr, addr + len) if it lies inside the built blob. */
static const void *at(const struct blob *b, uint64_t addr, size_t len)
{
	if (b->len < 0 || addr < GPA || addr - GPA > (uint64_t)b->len ||
	    len > (uint64_t)b->len - (addr - GPA))
		return NULL;
	return b->mem + (addr - GPA);
}

/* The table at addr, if its header and whole length are inside the blob. */
static const struct acpi_table_header *table_at(const struct blob *b,
						uint64_t addr)
{
	const struct acpi_table_header *h = at(b, addr, sizeof(*h));

	if (!h || h->length < sizeof(*h) || !at(b, addr, h->length))
		return NULL;
	return h;
}

static unsigned xsdt_count(const struct acpi_xsdt *x)
{
	return (x->header.length - sizeof(*x)) / sizeof(x->entry[0]);
}

static const struct acpi_table_header *xsdt_find(const struct blob *b,
						 const char *sig)
{
	const struct acpi_rsdp *r = at(b, GPA, sizeof(*r));
	const struct acpi_xsdt *x;

	if (!r || !(x = (const void *)table_at(b, r->xsdt_address)))
		return NULL;
	for (unsigned i = 0; i < xsdt_count(x); i++) {
		const struct acpi_table_header *h = table_at(b, x->entry[i]);

		if (h && !memcmp(h->signature, sig, 4))
			return h;
	}
	return NULL;
}

static bool has_sig(const struct acpi_table_header *h, const char *sig)
{
	return h && !memcmp(h->signature, sig, 4);
}

static bool table_ok(const struct acpi_table_header *h)
{
	return h && acpi_checksum(h, h->length) == 0;
}

static void test_checksum(struct tap *t)
{
	uint8_t d[4] = { 1, 2, 3, 0 };

	ok(t, acpi_checksum(d, 0) == 0, "checksum of nothing is 0");
	ok(t, acpi_checksum(d, 3) == 0xfa, "checksum of 1,2,3 is 0xfa");
	d[3] = acpi_checksum(d, 3);
	ok(t, acpi_checksum(d, 4) == 0, "data plus its checksum sums to 0");
}

static void test_rsdp_xsdt(struct tap *t, const struct blob *b)
{
	const struct acpi_rsdp *r = at(b, GPA, sizeof(*r));
	const struct acpi_xsdt *x;
	bool aligned = true, inside = true;

	ok(t, r && !memcmp(r->signature, "RSD PTR ", 8), "RSDP first, at gpa");
	if (!r)
		return;
	ok(t, r->revision == 2 && r->length == 36, "RSDP revision 2, 36 bytes");
	ok(t, acpi_checksum(r, 20) == 0, "RSDP 1.0 checksum (20 bytes)");
	ok(t, acpi_checksum(r, 36) == 0, "RSDP extended checksum (36 bytes)");
	ok(t, !memcmp(r->oem_id, "VMMVMM", 6), "RSDP OEM id");

	x = (const void *)table_at(b, r->xsdt_address);
	ok(t, x && !memcmp(x->header.signature, "XSDT", 4),
	   "RSDP points to the XSDT");
	if (!x)
		return;
	ok(t, r->xsdt_address % 8 == 0, "XSDT 8-byte aligned");
	ok(t, table_ok(&x->header), "XSDT checksum");
	ok(t, x->header.length == 36 + 8 * xsdt_count(x) &&
		      xsdt_count(x) == 2,
	   "XSDT length: header + 2 entries");
	for (unsigned i = 0; i < xsdt_count(x); i++) {
		aligned &= x->entry[i] % 8 == 0;
		inside &= table_ok(table_at(b, x->entry[i]));
	}
	ok(t, aligned, "XSDT entries 8-byte aligned");
	ok(t, inside, "XSDT entries are valid tables inside the blob");
	ok(t, has_sig(table_at(b, x->entry[0]), "FACP"),
	   "XSDT entry 0 is the FADT");
	ok(t, has_sig(table_at(b, x->entry[1]), "APIC"),
	   "XSDT entry 1 is the MADT");
}

static bool gas_io_is(const struct acpi_gas *g, uint64_t port, unsigned bits)
{
	return g->space_id == ACPI_GAS_SYSTEM_IO && g->bit_width == bits &&
	       g->bit_offset == 0 && g->address == port;
}

static void test_fadt(struct tap *t, const struct blob *b)
{
	const struct acpi_fadt *f = (const void *)xsdt_find(b, "FACP");
	const struct acpi_table_header *d;
	const struct acpi_facs *facs;

	ok(t, f != NULL, "FADT found through the XSDT");
	if (!f)
		return;
	ok(t, table_ok(&f->header), "FADT checksum");
	ok(t, f->header.length == 276 && f->header.revision == 6,
	   "FADT revision 6, 276 bytes");
	ok(t, !memcmp(f->header.oem_id, "VMMVMM", 6) &&
		      !memcmp(f->header.oem_table_id, "VMMACPI ", 8),
	   "FADT OEM ids");
	ok(t, f->dsdt == f->x_dsdt, "FADT DSDT == X_DSDT");

	d = table_at(b, f->x_dsdt);
	ok(t, d && !memcmp(d->signature, "DSDT", 4), "X_DSDT points to a DSDT");
	ok(t, d && d->length == dsdt_aml_len &&
		      !memcmp(d, dsdt_aml, dsdt_aml_len),
	   "DSDT bytes are dsdt_aml");
	ok(t, table_ok(d), "DSDT checksum");
	ok(t, f->x_dsdt % 8 == 0, "DSDT 8-byte aligned");

	facs = at(b, f->x_firmware_ctrl, sizeof(*facs));
	ok(t, f->firmware_ctrl == f->x_firmware_ctrl,
	   "FADT FIRMWARE_CTRL == X_FIRMWARE_CTRL");
	ok(t, facs && !memcmp(facs->signature, "FACS", 4) &&
		      facs->length == 64 && facs->version == 2,
	   "FACS signature, length, version");
	ok(t, f->x_firmware_ctrl % 64 == 0, "FACS 64-byte aligned");

	ok(t, f->sci_int == ACPI_SCI_IRQ, "SCI_INT");
	ok(t, f->smi_cmd == 0, "no SMI_CMD: ACPI already enabled");
	ok(t, f->pm1a_evt_blk == ACPI_PM1A_EVT_PORT && f->pm1_evt_len == 4,
	   "PM1a_EVT_BLK, 4 bytes");
	ok(t, gas_io_is(&f->x_pm1a_evt_blk, ACPI_PM1A_EVT_PORT, 32),
	   "X_PM1a_EVT_BLK, System I/O");
	ok(t, f->pm1a_cnt_blk == ACPI_PM1A_CNT_PORT && f->pm1_cnt_len == 2,
	   "PM1a_CNT_BLK, 2 bytes");
	ok(t, gas_io_is(&f->x_pm1a_cnt_blk, ACPI_PM1A_CNT_PORT, 16),
	   "X_PM1a_CNT_BLK, System I/O");
	ok(t, f->pm_tmr_blk == 0 && f->pm_tmr_len == 0 &&
		      f->x_pm_tmr_blk.address == 0,
	   "no PM timer");
	ok(t, gas_io_is(&f->reset_reg, ACPI_RESET_PORT, 8) &&
		      f->reset_value == ACPI_RESET_VALUE,
	   "RESET_REG and value");
	ok(t, f->flags & ACPI_FADT_RESET_REG_SUP, "RESET_REG_SUP");
	ok(t, !(f->flags & ACPI_FADT_HW_REDUCED), "not hardware-reduced");
	ok(t, (f->flags & (ACPI_FADT_PWR_BUTTON | ACPI_FADT_SLP_BUTTON)) ==
		      (ACPI_FADT_PWR_BUTTON | ACPI_FADT_SLP_BUTTON),
	   "no fixed power/sleep buttons");
	ok(t, !(f->iapc_boot_arch & (ACPI_FADT_8042 | ACPI_FADT_NO_MSI)),
	   "no 8042, MSI allowed");
}

static void test_madt(struct tap *t, unsigned n)
{
	struct blob b;
	const struct acpi_madt *m;
	const uint8_t *p, *end;
	unsigned nlapic = 0, nioapic = 0, nnmi = 0, bad_lapic = 0;
	bool iso0 = false, iso9 = false, walk_ok = true, ioapic_ok = false;
	bool nmi_ok = false;

	if (!build(&b, n, ACPI_TABLES_SIZE)) {
		ok(t, 0, "%u CPUs: out of memory", n);
		return;
	}
	m = (const void *)xsdt_find(&b, "APIC");
	ok(t, b.len > 0 && m != NULL, "%u CPUs: MADT found", n);
	if (!m)
		goto out;
	ok(t, table_ok(&m->header) && m->header.revision >= 3,
	   "%u CPUs: MADT checksum", n);
	ok(t, m->lapic_address == LAPIC_GPA &&
		      m->flags == ACPI_MADT_PCAT_COMPAT,
	   "%u CPUs: LAPIC address, PCAT_COMPAT", n);

	p = (const uint8_t *)(m + 1);
	end = (const uint8_t *)m + m->header.length;
	while (p < end) {
		const struct acpi_madt_entry_header *h = (const void *)p;

		if (end - p < 2 || h->length < 2 || h->length > end - p) {
			walk_ok = false;
			break;
		}
		switch (h->type) {
		case ACPI_MADT_TYPE_LAPIC: {
			const struct acpi_madt_lapic *e = (const void *)p;

			if (h->length != sizeof(*e) ||
			    e->apic_id != nlapic || e->processor_uid != nlapic ||
			    !(e->flags & ACPI_MADT_LAPIC_ENABLED))
				bad_lapic++;
			nlapic++;
			break;
		}
		case ACPI_MADT_TYPE_IOAPIC: {
			const struct acpi_madt_ioapic *e = (const void *)p;

			ioapic_ok = h->length == sizeof(*e) &&
				    e->address == IOAPIC_GPA && e->gsi_base == 0;
			nioapic++;
			break;
		}
		case ACPI_MADT_TYPE_ISO: {
			const struct acpi_madt_iso *e = (const void *)p;

			if (e->bus == 0 && e->source == 0 && e->gsi == 2 &&
			    e->flags == ACPI_MPS_INTI_CONFORMS)
				iso0 = true;
			if (e->bus == 0 && e->source == ACPI_SCI_IRQ &&
			    e->gsi == ACPI_SCI_IRQ &&
			    e->flags == (ACPI_MPS_INTI_ACTIVE_HIGH |
					 ACPI_MPS_INTI_LEVEL))
				iso9 = true;
			break;
		}
		case ACPI_MADT_TYPE_LAPIC_NMI: {
			const struct acpi_madt_lapic_nmi *e = (const void *)p;

			nmi_ok = h->length == sizeof(*e) &&
				 e->processor_uid == 0xff && e->lint == 1;
			nnmi++;
			break;
		}
		}
		p += h->length;
	}
	ok(t, walk_ok && p == end, "%u CPUs: entries fill the MADT exactly", n);
	ok(t, nlapic == n, "%u CPUs: %u LAPIC entries", n, nlapic);
	ok(t, bad_lapic == 0, "%u CPUs: APIC ids and UIDs 0..n-1, enabled", n);
	ok(t, nioapic == 1 && ioapic_ok, "%u CPUs: one IOAPIC at IOAPIC_GPA, GSI 0",
	   n);
	ok(t, iso0, "%u CPUs: override IRQ0 -> GSI2", n);
	ok(t, iso9, "%u CPUs: override SCI, level, active-high", n);
	ok(t, nnmi == 1 && nmi_ok, "%u CPUs: LAPIC NMI on LINT1, all CPUs", n);
out:
	free(b.mem);
}

static bool untouched(const uint8_t *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != FILL)
			return false;
	return true;
}

static void test_errors(struct tap *t, long need)
{
	struct acpi_config cfg = { .ncpus = 4 };
	struct blob b;
	uint8_t buf[64];

	if (!build(&b, 4, (size_t)need - 1)) {
		ok(t, 0, "out of memory");
		return;
	}
	/* Allocated to the exact size: ASan catches any write past it. */
	ok(t, b.len == -ENOSPC, "one byte short: -ENOSPC");
	ok(t, untouched(b.mem, b.size), "nothing written on -ENOSPC");
	free(b.mem);
	ok(t, acpi_build(buf, GPA, 0, &cfg) == -ENOSPC, "size 0: -ENOSPC");

	cfg.ncpus = 0;
	ok(t, acpi_build(buf, GPA, sizeof(buf), &cfg) == -EINVAL,
	   "0 CPUs: -EINVAL");
	cfg.ncpus = 256;
	ok(t, acpi_build(buf, GPA, sizeof(buf), &cfg) == -EINVAL,
	   "256 CPUs: -EINVAL");
	cfg.ncpus = 1;
	ok(t, acpi_build(buf, GPA + 8, sizeof(buf), &cfg) == -EINVAL,
	   "RSDP not 16-byte aligned: -EINVAL");
}

static void test_layout(struct tap *t, const struct blob *b)
{
	ok(t, b->len > 0 && (size_t)b->len <= ACPI_TABLES_SIZE,
	   "4 CPUs: %ld bytes, fits ACPI_TABLES_SIZE", b->len);
	ok(t, b->len > 0 && untouched(b->mem + b->len, b->size - b->len),
	   "nothing written past the returned length");
}

static const uint8_t *find(const uint8_t *hay, size_t n, const void *needle,
			   size_t len)
{
	return memmem(hay, n, needle, len);
}

/* Integer AML data object at p: ZeroOp, OneOp or BytePrefix. */
static int aml_small_int(const uint8_t *p)
{
	switch (p[0]) {
	case 0x00: return 0;
	case 0x01: return 1;
	case 0x0a: return p[1];
	default: return -1;
	}
}

/* The DSDT duplicates header constants ASL cannot include: check them in
 * the compiled AML. */
static void test_dsdt_aml(struct tap *t)
{
	static const uint8_t com1_hid[] = { 0x0c, 0x41, 0xd0, 0x05, 0x01 };
	/* IO(Decode16, 0x3f8, 0x3f8, 0, 8): SERIAL_COM1_PORT */
	static const uint8_t com1_io[] = { 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03,
					   0x00, 0x08 };
	/* IRQNoFlags () {4}: SERIAL_COM1_IRQ */
	static const uint8_t com1_irq[] = { 0x22, 0x10, 0x00 };
	static const char pvpanic_hid[] = "\x0dQEMU0001";
	/* IO(Decode16, 0x505, 0x505, 1, 1): pm.c's PVPANIC_PORT */
	static const uint8_t pvpanic_io[] = { 0x47, 0x01, 0x05, 0x05, 0x05,
					      0x05, 0x01, 0x01 };
	const uint8_t *a = dsdt_aml, *s5;
	size_t n = dsdt_aml_len;
	int slp_typ = -1;

	ok(t, n >= 36 && acpi_checksum(a, n) == 0, "dsdt_aml checksum");
	ok(t, n >= 36 && !memcmp(a + 10, "VMMVMM", 6) &&
		      !memcmp(a + 16, "VMMACPI ", 8),
	   "dsdt_aml OEM ids");
	/* NameOp "_S5_" PackageOp PkgLength(1 byte here) NumElements, elt0 */
	s5 = find(a, n, "\x08_S5_\x12", 6);
	if (s5 && s5 + 10 <= a + n && (s5[6] >> 6) == 0)
		slp_typ = aml_small_int(s5 + 8);
	ok(t, slp_typ == ACPI_S5_SLP_TYP, "_S5 SLP_TYPa is ACPI_S5_SLP_TYP (%d)",
	   slp_typ);
	ok(t, find(a, n, com1_hid, sizeof(com1_hid)) != NULL, "COM1 PNP0501");
	ok(t, find(a, n, com1_io, sizeof(com1_io)) != NULL, "COM1 I/O 0x3f8, 8");
	ok(t, find(a, n, com1_irq, sizeof(com1_irq)) != NULL, "COM1 IRQ 4");
	ok(t, find(a, n, pvpanic_hid, sizeof(pvpanic_hid)) != NULL,
	   "pvpanic QEMU0001");
	ok(t, find(a, n, pvpanic_io, sizeof(pvpanic_io)) != NULL,
	   "pvpanic I/O 0x505, 1");
}

static bool write_file(const char *path, const void *p, size_t len)
{
	FILE *f = fopen(path, "wb");
	bool good;

	if (!f)
		return false;
	good = fwrite(p, 1, len, f) == len;
	return fclose(f) == 0 && good;
}

static bool file_has_complaint(const char *path)
{
	static const char *const words[] = { "Warning", "Error", "Invalid",
					     "Incorrect", "Unknown" };
	char line[512];
	bool bad = false;
	FILE *f = fopen(path, "r");

	if (!f)
		return true;
	while (!bad && fgets(line, sizeof(line), f))
		for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
			if (strstr(line, words[i]))
				bad = true;
	fclose(f);
	return bad;
}

/* Runs "iasl -p dir/name -d dir/name.dat" with output in dir/name.log.
 * Returns its exit status, or -ENOENT if there is no iasl. */
static int run_iasl(const char *dir, const char *name)
{
	char prefix[256], dat[256], log[256];
	char *argv[] = { "iasl", "-p", prefix, "-d", dat, NULL };
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int err, status;

	snprintf(prefix, sizeof(prefix), "%s/%s", dir, name);
	snprintf(dat, sizeof(dat), "%s/%s.dat", dir, name);
	snprintf(log, sizeof(log), "%s/%s.log", dir, name);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log,
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	err = posix_spawnp(&pid, "iasl", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (err)
		return -err;
	if (waitpid(pid, &status, 0) < 0)
		return -errno;
	/* posix_spawnp may report a missing binary as exit 127 instead. */
	if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
		return -ENOENT;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -ECHILD;
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[512];

	if (!d)
		return;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

/*
 * ACPICA's disassembler re-checks checksums, lengths and subtables of each
 * table. It cannot take a bare RSDP, which the checks above cover.
 */
static void test_iasl(struct tap *t, const struct blob *b)
{
	const struct acpi_fadt *f = (const void *)xsdt_find(b, "FACP");
	const struct acpi_rsdp *r = at(b, GPA, sizeof(*r));
	struct {
		const char *name;
		uint64_t addr;
		size_t len;
	} tabs[] = {
		{ "xsdt", r ? r->xsdt_address : 0, 0 },
		{ "fadt", f ? GPA + (uint64_t)((const uint8_t *)f - b->mem) : 0, 0 },
		{ "facs", f ? f->x_firmware_ctrl : 0, 64 },
		{ "madt", 0, 0 },
		{ "dsdt", f ? f->x_dsdt : 0, 0 },
	};
	const struct acpi_table_header *m = xsdt_find(b, "APIC");
	const char *tmp = getenv("TMPDIR");
	char tmpl[200];
	const char *dir;

	if (m)
		tabs[3].addr = GPA + (uint64_t)((const uint8_t *)m - b->mem);
	snprintf(tmpl, sizeof(tmpl), "%s/test_acpi.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	dir = mkdtemp(tmpl);
	for (size_t i = 0; i < sizeof(tabs) / sizeof(tabs[0]); i++) {
		const void *p = NULL;
		char path[256], out[256];
		int rc = -EINVAL;

		if (tabs[i].addr && !tabs[i].len) {
			const struct acpi_table_header *h =
				table_at(b, tabs[i].addr);
			tabs[i].len = h ? h->length : 0;
		}
		if (tabs[i].len)
			p = at(b, tabs[i].addr, tabs[i].len);
		snprintf(path, sizeof(path), "%s/%s.dat", dir ? dir : "", tabs[i].name);
		if (dir && p && write_file(path, p, tabs[i].len))
			rc = run_iasl(dir, tabs[i].name);
		if (rc == -ENOENT) {
			ok(t, 1, "# SKIP iasl not installed (%s)", tabs[i].name);
			continue;
		}
		snprintf(path, sizeof(path), "%s/%s.log", dir ? dir : "", tabs[i].name);
		snprintf(out, sizeof(out), "%s/%s.dsl", dir ? dir : "", tabs[i].name);
		ok(t, rc == 0 && !file_has_complaint(path) &&
			      !file_has_complaint(out),
		   "iasl -d %s: no errors or warnings (rc %d)", tabs[i].name, rc);
	}
	if (dir)
		rm_rf(dir);
}

int main(void)
{
	struct tap t = TAP_INIT;
	struct blob b;

	test_checksum(&t);
	if (!build(&b, 4, ACPI_TABLES_SIZE)) {
		ok(&t, 0, "out of memory");
		return tap_done(&t);
	}
	test_layout(&t, &b);
	test_rsdp_xsdt(&t, &b);
	test_fadt(&t, &b);
	test_madt(&t, 1);
	test_madt(&t, 2);
	test_madt(&t, 64);
	test_madt(&t, 255);
	if (b.len > 0)
		test_errors(&t, b.len);
	test_dsdt_aml(&t);
	test_iasl(&t, &b);
	free(b.mem);
	return tap_done(&t);
}
