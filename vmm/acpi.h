/* ACPI tables for the guest: RSDP, XSDT, FADT, MADT, DSDT, and with a PCI
 * host bridge the MCFG and an SSDT with the bridge's resources. */
#ifndef VMM_ACPI_H
#define VMM_ACPI_H

#include <stddef.h>
#include <stdint.h>

/* Where the tables live in guest memory: the legacy BIOS area, which Linux
 * scans for the RSDP, and which the e820 map reports as reserved. */
#define ACPI_TABLES_GPA  0xe0000ULL
#define ACPI_TABLES_SIZE 0x20000ULL

/* Fixed-hardware ports trapped by vmm/pm.c. */
#define ACPI_PM1A_EVT_PORT 0x600  /* PM1a status (2) + enable (2) */
#define ACPI_PM1A_CNT_PORT 0x604  /* PM1a control (2) */
#define ACPI_RESET_PORT    0xcf9
#define ACPI_RESET_VALUE   0x06
#define ACPI_SCI_IRQ       9
#define ACPI_S5_SLP_TYP    5      /* the DSDT's _S5 value, checked by pm.c */

#define IOAPIC_GPA 0xfec00000ULL
#define LAPIC_GPA  0xfee00000ULL

/*
 * The PCI host bridge \_SB.PCI0 (its identity and _OSC are in the DSDT).
 * Its _CRS depends on the RAM size and the CPU (the 64-bit window, see
 * virtio/pci.h), so it goes into an SSDT built from this, along with the
 * MCFG entry and the PNP0C02 reservation of the ECAM range.
 */
struct acpi_pci {
	uint64_t ecam_base;		/* where bus 0 would be, as the MCFG has it */
	uint8_t bus_start, bus_end;
	uint16_t io_base;
	uint32_t io_size;
	uint64_t mmio32_base, mmio32_size;
	uint64_t mmio64_base, mmio64_size;	/* size 0: no 64-bit window */
};

struct acpi_config {
	unsigned ncpus;
	const struct acpi_pci *pci;	/* NULL: no PCI, no MCFG, no SSDT */
};

/* Builds all tables into mem, which is the host view of guest physical
 * address gpa with size bytes of room. The RSDP is placed first, at gpa.
 * Returns the number of bytes used, or -ENOSPC / -EINVAL. */
long acpi_build(void *mem, uint64_t gpa, size_t size, const struct acpi_config *cfg);

/* Returns the byte that, added to the sum of data[0..len), makes it 0 mod
 * 256. So a table with a correct checksum field yields 0, and storing the
 * result into a zeroed checksum field makes a table valid. */
uint8_t acpi_checksum(const void *data, size_t len);

/* The DSDT, compiled from vmm/dsdt.asl by iasl (see the Makefile rule). */
extern const unsigned char dsdt_aml[];
extern const unsigned int dsdt_aml_len;

/*
 * Table layouts (ACPI 6.3), shared with the unit test. All little-endian
 * and packed: the spec puts 64-bit fields at unaligned offsets.
 */
#define ACPI_PACKED __attribute__((packed))

struct acpi_rsdp {
	char signature[8];		/* "RSD PTR " */
	uint8_t checksum;		/* over the first 20 (ACPI 1.0) bytes */
	char oem_id[6];
	uint8_t revision;		/* 2: has length/XSDT/extended checksum */
	uint32_t rsdt_address;
	uint32_t length;		/* 36 */
	uint64_t xsdt_address;
	uint8_t extended_checksum;	/* over all 36 bytes */
	uint8_t reserved[3];
} ACPI_PACKED;

struct acpi_table_header {
	char signature[4];
	uint32_t length;		/* whole table, header included */
	uint8_t revision;
	uint8_t checksum;
	char oem_id[6];
	char oem_table_id[8];
	uint32_t oem_revision;
	char creator_id[4];
	uint32_t creator_revision;
} ACPI_PACKED;

/* Generic Address Structure */
struct acpi_gas {
	uint8_t space_id;
	uint8_t bit_width;
	uint8_t bit_offset;
	uint8_t access_size;
	uint64_t address;
} ACPI_PACKED;

#define ACPI_GAS_SYSTEM_IO	1
#define ACPI_GAS_ACCESS_BYTE	1
#define ACPI_GAS_ACCESS_WORD	2

struct acpi_xsdt {
	struct acpi_table_header header;
	uint64_t entry[];		/* physical addresses of the tables */
} ACPI_PACKED;

/* FADT, revision 6 (ACPI 6.0 and later share this 276-byte layout). */
struct acpi_fadt {
	struct acpi_table_header header;	/* "FACP" */
	uint32_t firmware_ctrl;		/* FACS */
	uint32_t dsdt;
	uint8_t reserved0;		/* was INT_MODEL in ACPI 1.0 */
	uint8_t preferred_pm_profile;
	uint16_t sci_int;
	uint32_t smi_cmd;
	uint8_t acpi_enable;
	uint8_t acpi_disable;
	uint8_t s4bios_req;
	uint8_t pstate_cnt;
	uint32_t pm1a_evt_blk;
	uint32_t pm1b_evt_blk;
	uint32_t pm1a_cnt_blk;
	uint32_t pm1b_cnt_blk;
	uint32_t pm2_cnt_blk;
	uint32_t pm_tmr_blk;
	uint32_t gpe0_blk;
	uint32_t gpe1_blk;
	uint8_t pm1_evt_len;
	uint8_t pm1_cnt_len;
	uint8_t pm2_cnt_len;
	uint8_t pm_tmr_len;
	uint8_t gpe0_blk_len;
	uint8_t gpe1_blk_len;
	uint8_t gpe1_base;
	uint8_t cst_cnt;
	uint16_t p_lvl2_lat;
	uint16_t p_lvl3_lat;
	uint16_t flush_size;
	uint16_t flush_stride;
	uint8_t duty_offset;
	uint8_t duty_width;
	uint8_t day_alrm;
	uint8_t mon_alrm;
	uint8_t century;
	uint16_t iapc_boot_arch;
	uint8_t reserved1;
	uint32_t flags;
	struct acpi_gas reset_reg;
	uint8_t reset_value;
	uint16_t arm_boot_arch;
	uint8_t minor_version;
	uint64_t x_firmware_ctrl;
	uint64_t x_dsdt;
	struct acpi_gas x_pm1a_evt_blk;
	struct acpi_gas x_pm1b_evt_blk;
	struct acpi_gas x_pm1a_cnt_blk;
	struct acpi_gas x_pm1b_cnt_blk;
	struct acpi_gas x_pm2_cnt_blk;
	struct acpi_gas x_pm_tmr_blk;
	struct acpi_gas x_gpe0_blk;
	struct acpi_gas x_gpe1_blk;
	struct acpi_gas sleep_control_reg;
	struct acpi_gas sleep_status_reg;
	uint64_t hypervisor_vendor_id;
} ACPI_PACKED;

/* FADT IAPC_BOOT_ARCH */
#define ACPI_FADT_LEGACY_DEVICES	(1u << 0)
#define ACPI_FADT_8042			(1u << 1)
#define ACPI_FADT_NO_VGA		(1u << 2)
#define ACPI_FADT_NO_MSI		(1u << 3)
#define ACPI_FADT_NO_ASPM		(1u << 4)
#define ACPI_FADT_NO_CMOS_RTC		(1u << 5)

/* FADT Flags */
#define ACPI_FADT_WBINVD		(1u << 0)
#define ACPI_FADT_PROC_C1		(1u << 2)
#define ACPI_FADT_PWR_BUTTON		(1u << 4)
#define ACPI_FADT_SLP_BUTTON		(1u << 5)
#define ACPI_FADT_FIX_RTC		(1u << 6)
#define ACPI_FADT_RESET_REG_SUP		(1u << 10)
#define ACPI_FADT_HW_REDUCED		(1u << 20)

/* FACS: no header checksum, and it must be 64-byte aligned. */
struct acpi_facs {
	char signature[4];		/* "FACS" */
	uint32_t length;		/* 64 */
	uint32_t hardware_signature;
	uint32_t firmware_waking_vector;
	uint32_t global_lock;
	uint32_t flags;
	uint64_t x_firmware_waking_vector;
	uint8_t version;		/* 2 */
	uint8_t reserved0[3];
	uint32_t ospm_flags;
	uint8_t reserved1[24];
} ACPI_PACKED;

/* MADT ("APIC"): this header, then variable-length entries. */
struct acpi_madt {
	struct acpi_table_header header;
	uint32_t lapic_address;
	uint32_t flags;
} ACPI_PACKED;

#define ACPI_MADT_PCAT_COMPAT	(1u << 0)	/* dual 8259s present */

struct acpi_madt_entry_header {
	uint8_t type;
	uint8_t length;
} ACPI_PACKED;

#define ACPI_MADT_TYPE_LAPIC		0
#define ACPI_MADT_TYPE_IOAPIC		1
#define ACPI_MADT_TYPE_ISO		2
#define ACPI_MADT_TYPE_LAPIC_NMI	4

struct acpi_madt_lapic {
	struct acpi_madt_entry_header h;
	uint8_t processor_uid;
	uint8_t apic_id;
	uint32_t flags;
} ACPI_PACKED;

#define ACPI_MADT_LAPIC_ENABLED	(1u << 0)

struct acpi_madt_ioapic {
	struct acpi_madt_entry_header h;
	uint8_t ioapic_id;
	uint8_t reserved;
	uint32_t address;
	uint32_t gsi_base;
} ACPI_PACKED;

/* Interrupt Source Override */
struct acpi_madt_iso {
	struct acpi_madt_entry_header h;
	uint8_t bus;			/* 0: ISA */
	uint8_t source;			/* ISA IRQ */
	uint32_t gsi;
	uint16_t flags;			/* MPS INTI flags */
} ACPI_PACKED;

struct acpi_madt_lapic_nmi {
	struct acpi_madt_entry_header h;
	uint8_t processor_uid;		/* 0xff: all processors */
	uint16_t flags;			/* MPS INTI flags */
	uint8_t lint;
} ACPI_PACKED;

/* MPS INTI flags: polarity in bits 0-1, trigger mode in bits 2-3. */
#define ACPI_MPS_INTI_CONFORMS		0x0
#define ACPI_MPS_INTI_ACTIVE_HIGH	0x1
#define ACPI_MPS_INTI_ACTIVE_LOW	0x3
#define ACPI_MPS_INTI_EDGE		(0x1 << 2)
#define ACPI_MPS_INTI_LEVEL		(0x3 << 2)

/* MCFG: this header, then one allocation per ECAM range. */
struct acpi_mcfg {
	struct acpi_table_header header;
	uint64_t reserved;
} ACPI_PACKED;

struct acpi_mcfg_allocation {
	uint64_t address;		/* ECAM base of bus 0 of the segment */
	uint16_t segment;
	uint8_t start_bus;
	uint8_t end_bus;
	uint32_t reserved;
} ACPI_PACKED;

_Static_assert(sizeof(struct acpi_rsdp) == 36, "RSDP size");
_Static_assert(sizeof(struct acpi_mcfg) == 44, "MCFG header size");
_Static_assert(sizeof(struct acpi_mcfg_allocation) == 16, "MCFG entry size");
_Static_assert(sizeof(struct acpi_table_header) == 36, "header size");
_Static_assert(sizeof(struct acpi_gas) == 12, "GAS size");
_Static_assert(sizeof(struct acpi_xsdt) == 36, "XSDT header size");
_Static_assert(sizeof(struct acpi_fadt) == 276, "FADT rev 6 size");
_Static_assert(offsetof(struct acpi_fadt, iapc_boot_arch) == 109, "FADT");
_Static_assert(offsetof(struct acpi_fadt, flags) == 112, "FADT");
_Static_assert(offsetof(struct acpi_fadt, reset_reg) == 116, "FADT");
_Static_assert(offsetof(struct acpi_fadt, x_dsdt) == 140, "FADT");
_Static_assert(offsetof(struct acpi_fadt, x_pm1a_cnt_blk) == 172, "FADT");
_Static_assert(offsetof(struct acpi_fadt, hypervisor_vendor_id) == 268, "FADT");
_Static_assert(sizeof(struct acpi_facs) == 64, "FACS size");
_Static_assert(offsetof(struct acpi_facs, version) == 32, "FACS");
_Static_assert(sizeof(struct acpi_madt) == 44, "MADT header size");
_Static_assert(sizeof(struct acpi_madt_lapic) == 8, "MADT LAPIC size");
_Static_assert(sizeof(struct acpi_madt_ioapic) == 12, "MADT IOAPIC size");
_Static_assert(sizeof(struct acpi_madt_iso) == 10, "MADT ISO size");
_Static_assert(sizeof(struct acpi_madt_lapic_nmi) == 6, "MADT NMI size");
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "tables are filled with native stores");

#endif
