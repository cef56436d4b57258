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
	/* Only with a PCI host bridge (cfg->pci); zero length otherwise. */
	T_MCFG,
	T_SSDT,
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
	[T_MCFG] = { 8, true },
	[T_SSDT] = { 8, true },
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

/* Tables this configuration has: the optional ones have zero length. */
static bool present(const struct acpi_layout *l, int t)
{
	return l->len[t] != 0;
}

static size_t xsdt_entries(const struct acpi_layout *l)
{
	size_t n = 0;

	for (int t = 0; t < T_COUNT; t++)
		n += table_desc[t].in_xsdt && present(l, t);
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

static size_t ssdt_aml(uint8_t *out, const struct acpi_pci *pci);

static void acpi_layout(struct acpi_layout *l, const struct acpi_config *cfg)
{
	size_t off = 0;

	l->len[T_RSDP] = sizeof(struct acpi_rsdp);
	l->len[T_FADT] = sizeof(struct acpi_fadt);
	l->len[T_FACS] = sizeof(struct acpi_facs);
	l->len[T_MADT] = madt_len(cfg->ncpus);
	l->len[T_DSDT] = dsdt_aml_len;
	l->len[T_MCFG] = cfg->pci ? sizeof(struct acpi_mcfg) +
				    sizeof(struct acpi_mcfg_allocation) : 0;
	l->len[T_SSDT] = cfg->pci ? sizeof(struct acpi_table_header) +
				    ssdt_aml(NULL, cfg->pci) : 0;
	l->len[T_XSDT] = sizeof(struct acpi_xsdt) +
			 xsdt_entries(l) * sizeof(uint64_t);

	for (int t = 0; t < T_COUNT; t++) {
		if (!present(l, t)) {
			l->off[t] = off;
			continue;
		}
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
		if (table_desc[t].in_xsdt && present(l, t))
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

/*
 * MCFG: one ECAM range, segment 0. Linux uses it only if the range is also
 * reserved, in the e820 map (vmm/boot.c) or by a PNP0C01/PNP0C02 device
 * (the SSDT's \_SB.MRES); we do both, the second being what the PCI
 * Firmware spec asks for.
 */
static void fill_mcfg(struct acpi_mcfg *m, size_t len, const struct acpi_pci *pci)
{
	struct acpi_mcfg_allocation *a = (void *)(m + 1);

	fill_header(&m->header, "MCFG", (uint32_t)len, 1);
	a->address = pci->ecam_base;
	a->segment = 0;
	a->start_bus = pci->bus_start;
	a->end_bus = pci->bus_end;
}

/*
 * A minimal AML writer for the SSDT: just what describing the host
 * bridge's resources takes. With buf NULL it only counts, so the same code
 * sizes the table during layout and fills it afterwards.
 */
struct aml {
	uint8_t *buf;
	size_t len;
};

#define AML_NAME_OP		0x08
#define AML_BYTE_PREFIX		0x0a
#define AML_WORD_PREFIX		0x0b
#define AML_DWORD_PREFIX	0x0c
#define AML_SCOPE_OP		0x10
#define AML_BUFFER_OP		0x11
#define AML_EXT_OP_PREFIX	0x5b
#define AML_DEVICE_OP		0x82	/* after AML_EXT_OP_PREFIX */
#define AML_ROOT_CHAR		0x5c
#define AML_DUAL_NAME_PREFIX	0x2e

static void aml_bytes(struct aml *a, const void *p, size_t n)
{
	if (a->buf)
		memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void aml_byte(struct aml *a, uint8_t b)
{
	aml_bytes(a, &b, 1);
}

static void aml_le(struct aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		aml_byte(a, (uint8_t)(v >> (8 * i)));
}

/* PkgLength counts itself: 1 to 4 bytes for what follows (ACPI 20.2.4). */
static void aml_pkglength(struct aml *a, size_t body)
{
	size_t n = body + 1 <= 0x3f ? 1 : body + 2 < (1u << 12) ? 2 :
		   body + 3 < (1u << 20) ? 3 : 4;
	size_t total = body + n;

	if (n == 1) {
		aml_byte(a, (uint8_t)total);
		return;
	}
	aml_byte(a, (uint8_t)((n - 1) << 6 | (total & 0xf)));
	for (size_t i = 1; i < n; i++)
		aml_byte(a, (uint8_t)(total >> (4 + 8 * (i - 1))));
}

/* Name (seg, Buffer () { bytes }): how iasl encodes a ResourceTemplate. */
static void aml_name_buffer(struct aml *a, const char seg[4], const struct aml *res)
{
	struct aml size = { NULL, 0 };

	if (res->len <= 0xff) {
		aml_byte(&size, AML_BYTE_PREFIX);
		aml_byte(&size, 0);
	} else {
		aml_byte(&size, AML_WORD_PREFIX);
		aml_le(&size, 0, 2);
	}
	aml_byte(a, AML_NAME_OP);
	aml_bytes(a, seg, 4);
	aml_byte(a, AML_BUFFER_OP);
	aml_pkglength(a, size.len + res->len);
	if (res->len <= 0xff) {
		aml_byte(a, AML_BYTE_PREFIX);
		aml_byte(a, (uint8_t)res->len);
	} else {
		aml_byte(a, AML_WORD_PREFIX);
		aml_le(a, res->len, 2);
	}
	aml_bytes(a, res->buf, res->len);
}

/* Resource descriptors (ACPI 6.4.3). Address-space descriptors are all
 * "producer, positive decode, fixed min and max": a bridge window. */
#define RES_ADDR_FLAGS_WINDOW	0x0c
#define RES_TYPE_MEMORY		0
#define RES_TYPE_IO		1
#define RES_TYPE_BUS		2

/* One Word/DWord/QWord Address Space Descriptor: they differ only in the
 * tag and in the width of their five address fields. */
static void res_addr(struct aml *a, unsigned width, uint8_t type, uint8_t tflags,
		     uint64_t min, uint64_t len)
{
	static const uint8_t tag[9] = { [2] = 0x88, [4] = 0x87, [8] = 0x8a };

	aml_byte(a, tag[width]);
	aml_le(a, 3 + 5 * width, 2);	/* length after this field */
	aml_byte(a, type);
	aml_byte(a, RES_ADDR_FLAGS_WINDOW);
	aml_byte(a, tflags);
	aml_le(a, 0, width);		/* granularity */
	aml_le(a, min, width);
	aml_le(a, min + len - 1, width);
	aml_le(a, 0, width);		/* translation offset */
	aml_le(a, len, width);
}

static void res_end(struct aml *a)
{
	aml_byte(a, 0x79);		/* End Tag; checksum 0 means "none" */
	aml_byte(a, 0);
}

/* Memory type-specific flags: read-write, and the cacheability the OS may
 * use for mappings of the window. */
#define MEM_RW_NONCACHEABLE	0x01
#define MEM_RW_CACHEABLE	0x03

/*
 * The SSDT's AML:
 *
 *   Scope (\_SB.PCI0) {
 *     Name (_CRS, ResourceTemplate () {
 *       WordBusNumber (bus_start .. bus_end)
 *       IO (Decode16, 0xcf8, 0xcf8, 1, 8)     config ports, consumed
 *       WordIO (io window)
 *       DWordMemory (32-bit window, non-cacheable)
 *       QWordMemory (64-bit window, cacheable)  if there is one
 *     })
 *   }
 *   Device (\_SB.MRES) {                      motherboard resource:
 *     Name (_HID, EisaId ("PNP0C02"))         the ECAM range
 *     Name (_CRS, ResourceTemplate () { Memory32Fixed (ReadWrite, ecam) })
 *   }
 *
 * Linux drops the 0xcf8 entry from the windows itself
 * (resource_is_pcicfg_ioport()); listing it tells other OSes who decodes
 * those ports. The 32-bit window is non-cacheable, the 64-bit one cacheable
 * (which lets an OS map prefetchable BARs write-combining), as on QEMU q35.
 */
static size_t ssdt_aml(uint8_t *out, const struct acpi_pci *pci)
{
	static const uint8_t pci0_path[] = { AML_ROOT_CHAR, AML_DUAL_NAME_PREFIX,
					     '_', 'S', 'B', '_', 'P', 'C', 'I', '0' };
	static const uint8_t mres_path[] = { AML_ROOT_CHAR, AML_DUAL_NAME_PREFIX,
					     '_', 'S', 'B', '_', 'M', 'R', 'E', 'S' };
	/* EisaId ("PNP0C02") as iasl encodes it */
	static const uint8_t pnp0c02[] = { AML_DWORD_PREFIX, 0x41, 0xd0, 0x0c, 0x02 };
	uint8_t crsbuf[160], mresbuf[16];
	struct aml crs = { crsbuf, 0 }, mres = { mresbuf, 0 }, body = { NULL, 0 };
	struct aml a = { out, 0 };
	uint64_t ecam_size = (uint64_t)(pci->bus_end - pci->bus_start + 1) << 20;

	res_addr(&crs, 2, RES_TYPE_BUS, 0, pci->bus_start, pci->bus_end - pci->bus_start + 1);
	aml_bytes(&crs, (const uint8_t[]){ 0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08 }, 8);
	res_addr(&crs, 2, RES_TYPE_IO, 0x03 /* EntireRange */, pci->io_base, pci->io_size);
	res_addr(&crs, 4, RES_TYPE_MEMORY, MEM_RW_NONCACHEABLE, pci->mmio32_base, pci->mmio32_size);
	if (pci->mmio64_size)
		res_addr(&crs, 8, RES_TYPE_MEMORY, MEM_RW_CACHEABLE, pci->mmio64_base, pci->mmio64_size);
	res_end(&crs);

	aml_byte(&mres, 0x86);		/* Memory32Fixed */
	aml_le(&mres, 9, 2);
	aml_byte(&mres, 1);		/* read-write */
	aml_le(&mres, pci->ecam_base + ((uint64_t)pci->bus_start << 20), 4);
	aml_le(&mres, ecam_size, 4);
	res_end(&mres);

	/* Scope (\_SB.PCI0) { Name (_CRS, ...) } */
	aml_name_buffer(&body, "_CRS", &crs);
	aml_byte(&a, AML_SCOPE_OP);
	aml_pkglength(&a, sizeof(pci0_path) + body.len);
	aml_bytes(&a, pci0_path, sizeof(pci0_path));
	aml_name_buffer(&a, "_CRS", &crs);

	/* Device (\_SB.MRES) { Name (_HID, ...) Name (_CRS, ...) } */
	body.len = 0;
	aml_byte(&body, AML_NAME_OP);
	aml_bytes(&body, "_HID", 4);
	aml_bytes(&body, pnp0c02, sizeof(pnp0c02));
	aml_name_buffer(&body, "_CRS", &mres);
	aml_byte(&a, AML_EXT_OP_PREFIX);
	aml_byte(&a, AML_DEVICE_OP);
	aml_pkglength(&a, sizeof(mres_path) + body.len);
	aml_bytes(&a, mres_path, sizeof(mres_path));
	aml_byte(&a, AML_NAME_OP);
	aml_bytes(&a, "_HID", 4);
	aml_bytes(&a, pnp0c02, sizeof(pnp0c02));
	aml_name_buffer(&a, "_CRS", &mres);
	return a.len;
}

static void fill_ssdt(struct acpi_table_header *h, size_t len, const struct acpi_pci *pci)
{
	fill_header(h, "SSDT", (uint32_t)len, 2);
	memcpy(h->oem_table_id, "VMMPCI  ", 8);
	ssdt_aml((uint8_t *)(h + 1), pci);
}

static bool pci_config_ok(const struct acpi_pci *pci)
{
	return pci->bus_start <= pci->bus_end && pci->io_size &&
	       pci->io_base + (uint64_t)pci->io_size <= 0x10000 &&
	       pci->mmio32_size && pci->mmio32_base + pci->mmio32_size <= (1ULL << 32) &&
	       pci->ecam_base + ((uint64_t)(pci->bus_end + 1) << 20) <= (1ULL << 32);
}

long acpi_build(void *mem, uint64_t gpa, size_t size,
		const struct acpi_config *cfg)
{
	struct acpi_layout l;
	uint8_t *base = mem;

	if (!mem || !cfg || cfg->ncpus == 0 ||
	    cfg->ncpus > ACPI_MAX_XAPIC_CPUS || (cfg->pci && !pci_config_ok(cfg->pci)))
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
	if (cfg->pci) {
		fill_mcfg(TABLE(T_MCFG), l.len[T_MCFG], cfg->pci);
		fill_ssdt(TABLE(T_SSDT), l.len[T_SSDT], cfg->pci);
	}

	/* Checksum every table that has a standard header and was built
	 * here, after all its contents are final. */
	for (int t = 0; t < T_COUNT; t++) {
		struct acpi_table_header *h = TABLE(t);

		if (t == T_RSDP || t == T_FACS || t == T_DSDT || !present(&l, t))
			continue;
		h->checksum = acpi_checksum(h, l.len[t]);
	}
	/* The RSDP has its own checksum scheme, so fill_rsdp() does it. */
	fill_rsdp(TABLE(T_RSDP), ADDR(T_XSDT));
#undef TABLE
#undef ADDR

	return (long)l.end;
}
