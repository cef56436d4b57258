/*
 * ACPI tables for the guest.
 *
 * The stock Debian kernel has no MP-table support, so ACPI is the only way
 * it learns about the CPUs, the IOAPIC, the SCI and the legacy devices. We
 * describe a full (not hardware-reduced) ACPI PC: there is an 8259 pair, an
 * IOAPIC, a PIT and fixed PM1 registers, and hardware-reduced mode would make
 * Linux ignore the PM1 block we use for poweroff.
 *
 * Everything is laid out first (sizes and offsets only), so every address is
 * known before any byte is written: no back-patching, and nothing is written
 * when the buffer is too small.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "vmm/acpi.h"

#define ACPI_OEM_ID		"VMMVMM"	/* 6 chars, not NUL-terminated */
#define ACPI_OEM_TABLE_ID	"VMMACPI "	/* 8 chars */
#define ACPI_OEM_REVISION	1
#define ACPI_CREATOR_ID		"VMM "
#define ACPI_CREATOR_REVISION	1

/* APIC ID 0xff is the xAPIC broadcast destination, so at most 255 CPUs can
 * be described with (8-bit) Processor Local APIC entries; more would need
 * x2APIC entries, which VMM_MAX_CPUS (64) does not call for. */
#define ACPI_MAX_XAPIC_CPUS	255

/* The IOAPIC's ID: KVM's in-kernel IOAPIC resets its ID register to 0, and
 * IOAPIC IDs only need to be unique among IOAPICs on x86-64 Linux (since the
 * P4, LAPIC and IOAPIC IDs no longer share an APIC bus), so 0 matches the
 * hardware and cannot collide with the BSP's LAPIC ID 0. */
#define ACPI_IOAPIC_ID		0

enum acpi_table {
	T_RSDP,		/* must stay first: it is placed at gpa itself */
	T_XSDT,
	T_FADT,
	T_FACS,
	T_MADT,
	T_DSDT,
	/* MCFG goes here (in_xsdt, align 8) when PCIe ECAM arrives. */
	T_COUNT,
};

static const struct {
	size_t align;
	bool in_xsdt;	/* listed in the XSDT; the rest hang off RSDP/FADT */
} table_desc[T_COUNT] = {
	/* Linux scans 0xe0000-0xfffff for "RSD PTR " on 16-byte boundaries. */
	[T_RSDP] = { 16, false },
	[T_XSDT] = { 8, false },
	[T_FADT] = { 8, true },
	/* The spec requires 64-byte alignment for the FACS. */
	[T_FACS] = { 64, false },
	[T_MADT] = { 8, true },
	/* Reached through FADT.X_DSDT, never through the XSDT. */
	[T_DSDT] = { 8, false },
};

/*
 * ISA IRQs whose wiring differs from the identity/edge/active-high default.
 */
static const struct {
	uint8_t irq;
	uint32_t gsi;
	uint16_t flags;
} madt_isos[] = {
	/* The PIT sits on IOAPIC pin 2 (pin 0 is the 8259's ExtINT), as on
	 * real chipsets and QEMU; the machine code routes it there. */
	{ 0, 2, ACPI_MPS_INTI_CONFORMS },
	/* Without an override Linux would program the SCI level/active-low
	 * (the ACPI default); our PM device drives it active-high. */
	{ ACPI_SCI_IRQ, ACPI_SCI_IRQ,
	  ACPI_MPS_INTI_ACTIVE_HIGH | ACPI_MPS_INTI_LEVEL },
};

struct acpi_layout {
	size_t off[T_COUNT];
	size_t len[T_COUNT];
	size_t end;
};

uint8_t acpi_checksum(const void *data, size_t len)
{
	const uint8_t *p = data;
	uint8_t sum = 0;

	while (len--)
		sum += *p++;
	return (uint8_t)-sum;
}

static size_t align_up(size_t x, size_t a)
{
	return (x + a - 1) & ~(a - 1);
}

static size_t xsdt_entries(void)
{
	size_t n = 0;

	for (int t = 0; t < T_COUNT; t++)
		n += table_desc[t].in_xsdt;
	return n;
}

static size_t madt_len(unsigned ncpus)
{
	return sizeof(struct acpi_madt) +
	       ncpus * sizeof(struct acpi_madt_lapic) +
	       sizeof(struct acpi_madt_ioapic) +
	       sizeof(madt_isos) / sizeof(madt_isos[0]) *
		       sizeof(struct acpi_madt_iso) +
	       sizeof(struct acpi_madt_lapic_nmi);
}

static void acpi_layout(struct acpi_layout *l, const struct acpi_config *cfg)
{
	size_t off = 0;

	l->len[T_RSDP] = sizeof(struct acpi_rsdp);
	l->len[T_XSDT] = sizeof(struct acpi_xsdt) +
			 xsdt_entries() * sizeof(uint64_t);
	l->len[T_FADT] = sizeof(struct acpi_fadt);
	l->len[T_FACS] = sizeof(struct acpi_facs);
	l->len[T_MADT] = madt_len(cfg->ncpus);
	l->len[T_DSDT] = dsdt_aml_len;

	for (int t = 0; t < T_COUNT; t++) {
		off = align_up(off, table_desc[t].align);
		l->off[t] = off;
		off += l->len[t];
	}
	l->end = off;
}

static void fill_header(struct acpi_table_header *h, const char sig[4],
			uint32_t len, uint8_t rev)
{
	memcpy(h->signature, sig, 4);
	h->length = len;
	h->revision = rev;
	memcpy(h->oem_id, ACPI_OEM_ID, 6);
	memcpy(h->oem_table_id, ACPI_OEM_TABLE_ID, 8);
	h->oem_revision = ACPI_OEM_REVISION;
	memcpy(h->creator_id, ACPI_CREATOR_ID, 4);
	h->creator_revision = ACPI_CREATOR_REVISION;
	/* checksum is set last, once the whole table is written */
}

static struct acpi_gas gas_io(uint16_t port, uint8_t bytes, uint8_t access)
{
	return (struct acpi_gas){
		.space_id = ACPI_GAS_SYSTEM_IO,
		.bit_width = (uint8_t)(bytes * 8),
		.access_size = access,
		.address = port,
	};
}

static void fill_rsdp(struct acpi_rsdp *r, uint64_t xsdt)
{
	memcpy(r->signature, "RSD PTR ", 8);
	memcpy(r->oem_id, ACPI_OEM_ID, 6);
	r->revision = 2;
	/* No RSDT: with revision 2 and an XSDT, Linux (ACPICA) ignores it,
	 * and one root table means one list to keep in sync. */
	r->rsdt_address = 0;
	r->length = sizeof(*r);
	r->xsdt_address = xsdt;
	/* The 1.0 checksum covers only the first 20 bytes; the extended one
	 * covers everything, including the 1.0 checksum, so it comes second. */
	r->checksum = acpi_checksum(r, 20);
	r->extended_checksum = acpi_checksum(r, sizeof(*r));
}

static void fill_xsdt(struct acpi_xsdt *x, const struct acpi_layout *l,
		      uint64_t gpa)
{
	size_t n = 0;

	fill_header(&x->header, "XSDT", (uint32_t)l->len[T_XSDT], 1);
	for (int t = 0; t < T_COUNT; t++)
		if (table_desc[t].in_xsdt)
			x->entry[n++] = gpa + l->off[t];
}

static void fill_fadt(struct acpi_fadt *f, uint64_t dsdt, uint64_t facs)
{
	/* ACPI 6.3: revision 6, minor 3. */
	fill_header(&f->header, "FACP", sizeof(*f), 6);
	f->minor_version = 3;

	/* Both the 32-bit and X_ forms, equal: ACPICA prefers X_ but warns
	 * when both are set and differ. acpi_build() keeps us below 4 GiB. */
	f->firmware_ctrl = (uint32_t)facs;
	f->x_firmware_ctrl = facs;
	f->dsdt = (uint32_t)dsdt;
	f->x_dsdt = dsdt;

	f->preferred_pm_profile = 0;	/* unspecified */
	f->sci_int = ACPI_SCI_IRQ;
	/* No SMI command port: the OS then treats ACPI as already enabled,
	 * and pm.c reports SCI_EN set in PM1_CNT. */
	f->smi_cmd = 0;
	f->acpi_enable = 0;
	f->acpi_disable = 0;

	f->pm1a_evt_blk = ACPI_PM1A_EVT_PORT;
	f->pm1_evt_len = 4;
	f->x_pm1a_evt_blk = gas_io(ACPI_PM1A_EVT_PORT, 4, ACPI_GAS_ACCESS_WORD);
	f->pm1a_cnt_blk = ACPI_PM1A_CNT_PORT;
	f->pm1_cnt_len = 2;
	f->x_pm1a_cnt_blk = gas_io(ACPI_PM1A_CNT_PORT, 2, ACPI_GAS_ACCESS_WORD);
	/* No PM timer (kvmclock/TSC serve as clocksource), no GPE blocks:
	 * zero address and zero length are both "absent" to ACPICA. */

	/* Values above 100 / 1000 us mean "C2 / C3 not supported". */
	f->p_lvl2_lat = 0xfff;
	f->p_lvl3_lat = 0xfff;

	/*
	 * LEGACY_DEVICES: there is an ISA-style COM1 the OS must drive.
	 * No 8042 flag: only a reset write to port 0x64 is emulated, and
	 * without the flag Linux skips probing a keyboard controller (its
	 * reboot fallback still writes 0xfe to 0x64). NO_VGA: there is none.
	 * MSI and ASPM control are left allowed (bits clear). NO_CMOS_RTC:
	 * there is no RTC at 0x70; without the flag Linux's rtc_cmos probe
	 * spends seconds polling absent registers (measured: 3 s in the lab),
	 * and kvm-clock gives the guest its wall-clock time anyway.
	 */
	f->iapc_boot_arch = ACPI_FADT_LEGACY_DEVICES | ACPI_FADT_NO_VGA |
			    ACPI_FADT_NO_CMOS_RTC;

	/*
	 * WBINVD works and C1 (hlt) is supported on every CPU. The power and
	 * sleep buttons are flagged as "control method" buttons, which, with
	 * no button device in the DSDT, means there are none; likewise
	 * FIX_RTC says PM1 has no RTC_STS/RTC_EN fixed event. Reset is via
	 * RESET_REG.
	 */
	f->flags = ACPI_FADT_WBINVD | ACPI_FADT_PROC_C1 |
		   ACPI_FADT_PWR_BUTTON | ACPI_FADT_SLP_BUTTON |
		   ACPI_FADT_FIX_RTC | ACPI_FADT_RESET_REG_SUP;
	f->reset_reg = gas_io(ACPI_RESET_PORT, 1, ACPI_GAS_ACCESS_BYTE);
	f->reset_value = ACPI_RESET_VALUE;
}

static void fill_facs(struct acpi_facs *f)
{
	/* Not optional without HW_REDUCED; it holds the global lock and the
	 * S3 waking vector, neither of which we use, so it is all zeroes. */
	memcpy(f->signature, "FACS", 4);
	f->length = sizeof(*f);
	f->version = 2;
}

static void fill_madt(struct acpi_madt *m, size_t len,
		      const struct acpi_config *cfg)
{
	uint8_t *p = (uint8_t *)(m + 1);

	fill_header(&m->header, "APIC", (uint32_t)len, 5);
	m->lapic_address = (uint32_t)LAPIC_GPA;
	m->flags = ACPI_MADT_PCAT_COMPAT;

	/* The UID must match a DSDT Processor/ACPI0007 object if one is ever
	 * added; APIC IDs are what KVM gives vCPU i (its vcpu_id). */
	for (unsigned i = 0; i < cfg->ncpus; i++) {
		struct acpi_madt_lapic *e = (void *)p;

		e->h.type = ACPI_MADT_TYPE_LAPIC;
		e->h.length = sizeof(*e);
		e->processor_uid = (uint8_t)i;
		e->apic_id = (uint8_t)i;
		e->flags = ACPI_MADT_LAPIC_ENABLED;
		p += sizeof(*e);
	}

	struct acpi_madt_ioapic *io = (void *)p;

	io->h.type = ACPI_MADT_TYPE_IOAPIC;
	io->h.length = sizeof(*io);
	io->ioapic_id = ACPI_IOAPIC_ID;
	io->address = (uint32_t)IOAPIC_GPA;
	io->gsi_base = 0;
	p += sizeof(*io);

	for (size_t i = 0; i < sizeof(madt_isos) / sizeof(madt_isos[0]); i++) {
		struct acpi_madt_iso *e = (void *)p;

		e->h.type = ACPI_MADT_TYPE_ISO;
		e->h.length = sizeof(*e);
		e->bus = 0;
		e->source = madt_isos[i].irq;
		e->gsi = madt_isos[i].gsi;
		e->flags = madt_isos[i].flags;
		p += sizeof(*e);
	}

	/* LINT1 is the NMI input on every CPU (as the BIOS/MP spec wire it);
	 * its edge/high polarity is what "conforms" means for NMI. */
	struct acpi_madt_lapic_nmi *nmi = (void *)p;

	nmi->h.type = ACPI_MADT_TYPE_LAPIC_NMI;
	nmi->h.length = sizeof(*nmi);
	nmi->processor_uid = 0xff;
	nmi->flags = ACPI_MPS_INTI_CONFORMS;
	nmi->lint = 1;
}

long acpi_build(void *mem, uint64_t gpa, size_t size,
		const struct acpi_config *cfg)
{
	struct acpi_layout l;
	uint8_t *base = mem;

	if (!mem || !cfg || cfg->ncpus == 0 ||
	    cfg->ncpus > ACPI_MAX_XAPIC_CPUS)
		return -EINVAL;
	/* The RSDP must be 16-byte aligned to be found. */
	if (gpa & 15)
		return -EINVAL;

	acpi_layout(&l, cfg);
	if (l.end > size)
		return -ENOSPC;
	/* The FADT's 32-bit DSDT/FACS fields must be able to hold them. */
	if (gpa > (1ULL << 32) || l.end > (1ULL << 32) - gpa)
		return -EINVAL;

	/* Zero first: reserved fields and the padding between tables. */
	memset(base, 0, l.end);

#define TABLE(t) ((void *)(base + l.off[t]))
#define ADDR(t) (gpa + l.off[t])
	fill_xsdt(TABLE(T_XSDT), &l, gpa);
	fill_fadt(TABLE(T_FADT), ADDR(T_DSDT), ADDR(T_FACS));
	fill_facs(TABLE(T_FACS));
	fill_madt(TABLE(T_MADT), l.len[T_MADT], cfg);
	/* iasl already checksummed the DSDT. */
	memcpy(TABLE(T_DSDT), dsdt_aml, dsdt_aml_len);

	/* Checksum every table that has a standard header and was built
	 * here, after all its contents are final. */
	for (int t = 0; t < T_COUNT; t++) {
		struct acpi_table_header *h = TABLE(t);

		if (t == T_RSDP || t == T_FACS || t == T_DSDT)
			continue;
		h->checksum = acpi_checksum(h, l.len[t]);
	}
	/* The RSDP has its own checksum scheme, so fill_rsdp() does it. */
	fill_rsdp(TABLE(T_RSDP), ADDR(T_XSDT));
#undef TABLE
#undef ADDR

	return (long)l.end;
}
