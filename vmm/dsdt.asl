/*
 * DSDT: the devices the guest cannot discover on its own. Compiled by iasl
 * into build/gen/dsdt_aml.c (see the Makefile); vmm/acpi.c copies it verbatim
 * and points FADT.X_DSDT at it.
 *
 * Values here duplicate constants in vmm/acpi.h (ASL cannot include a C
 * header); tests/unit/test_acpi.c checks the compiled AML against them.
 */
DefinitionBlock ("", "DSDT", 2, "VMMVMM", "VMMACPI ", 0x00000001)
{
	/*
	 * S5 (soft off): SLP_TYPa, SLP_TYPb, reserved, reserved. Linux writes
	 * SLP_TYPa << 10 | SLP_EN to PM1a_CNT, which vmm/pm.c turns into a
	 * poweroff; must equal ACPI_S5_SLP_TYP. There is no PM1b block, so
	 * SLP_TYPb is unused. No other sleep states are offered.
	 */
	Name (_S5, Package (0x04) { 0x05, 0x05, Zero, Zero })

	Scope (\_SB)
	{
		/*
		 * COM1. Under \_SB rather than an LPC bridge because there is
		 * no PCI yet; Linux's PNP layer does not care where it sits.
		 */
		Device (COM1)
		{
			Name (_HID, EisaId ("PNP0501"))	/* 16550A-compatible */
			Name (_UID, One)
			Name (_STA, 0x0F)		/* present, enabled, shown, working */
			Name (_CRS, ResourceTemplate ()
			{
				IO (Decode16, 0x03F8, 0x03F8, 0x00, 0x08)
				IRQNoFlags () {4}
			})
		}

		/*
		 * pvpanic: Linux's pvpanic-mmio driver binds QEMU0001 and uses
		 * its I/O resource. It reads the port first to learn which
		 * events the VMM supports, then writes the event on panic.
		 */
		Device (PEVT)
		{
			Name (_HID, "QEMU0001")
			Name (_UID, Zero)
			Name (_STA, 0x0F)
			Name (_CRS, ResourceTemplate ()
			{
				IO (Decode16, 0x0505, 0x0505, 0x01, 0x01)
			})
		}

		/*
		 * ---- PCI host bridge (next issue) ----
		 *
		 * Add Device (PCI0) here (device order does not matter):
		 *   _HID EisaId ("PNP0A08") (PCIe), _CID EisaId ("PNP0A03"),
		 *   _SEG 0, _BBN 0, _UID 0,
		 *   _CRS: WordBusNumber (0 .. last bus), IO (0xCF8, 8) for
		 *   config mechanism #1, WordIO window(s) excluding the legacy
		 *   ports above, DWordMemory 32-bit MMIO window below the
		 *   IOAPIC/LAPIC, QWordMemory 64-bit window above RAM,
		 *   _PRT for INTx routing to IOAPIC GSIs, and _OSC if native
		 *   PCIe hotplug/AER/PME control is wanted.
		 * If the windows depend on the RAM size, generate them in C
		 * (an SSDT appended in acpi.c) instead of hard-coding here.
		 *
		 * ECAM: acpi.c gets an MCFG table (a new T_MCFG entry in its
		 * table list with in_xsdt set: base address, segment 0, bus
		 * range). Linux only trusts the MCFG region if it is also
		 * reserved, either in the e820 map or by a PNP0C02
		 * motherboard-resource device's _CRS, which belongs here too.
		 */
	}
}
