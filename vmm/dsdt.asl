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
		 * no LPC bridge; Linux's PNP layer does not care where it sits.
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
		 * PCI host bridge: a PCI Express root complex with one bus,
		 * configured through ECAM (the MCFG) and ports 0xcf8/0xcfc.
		 * Device order in \_SB does not matter.
		 *
		 * _CRS is not here: vmm/acpi.c puts Name (_CRS) into this
		 * scope from an SSDT, because the 64-bit window depends on the
		 * RAM size and the CPU's physical address width (layout in
		 * virtio/pci.h). The same SSDT has \_SB.MRES, the PNP0C02 that
		 * reserves the ECAM range, which Linux wants before it trusts
		 * the MCFG.
		 *
		 * No _PRT: no device here has an interrupt pin. Devices on this
		 * bus interrupt through MSI-X only, delivered by KVM irqfds;
		 * INTx would need a level-triggered line per device with a
		 * resample eventfd for vhost-user backends, for guests that
		 * disable MSI (pci=nomsi), which is not worth it. Interrupt
		 * pin 0 in config space keeps Linux from looking for a route.
		 */
		Device (PCI0)
		{
			Name (_HID, EisaId ("PNP0A08"))	/* PCI Express root bridge */
			Name (_CID, EisaId ("PNP0A03"))	/* PCI root bridge */
			Name (_SEG, Zero)
			Name (_BBN, Zero)
			Name (_UID, Zero)

			/*
			 * _OSC (PCI Firmware 3.3, 4.5): the OS asks to own
			 * native PCIe hot-plug, SHPC hot-plug, PME, AER, the
			 * PCIe capability structure, LTR and DPC, and gets all
			 * of them. There is no firmware here that could want
			 * any: no SMM, no firmware-first error handling, no
			 * ACPI hot-plug. With no root ports, granting them
			 * changes nothing, but it spares Linux the "platform
			 * retains control" path, which also disables ASPM.
			 * Reserved bit 6 and unknown higher bits are masked.
			 */
			Method (_OSC, 4, NotSerialized)
			{
				CreateDWordField (Arg3, Zero, CDW1)
				If (Arg0 == ToUUID ("33db4d5b-1ff7-401c-9657-7441c03dd766"))
				{
					CreateDWordField (Arg3, 0x08, CDW3)
					Local0 = CDW3 & 0xBF
					If (Arg1 != One)
					{
						CDW1 |= 0x08	/* unrecognized revision */
					}
					If (CDW3 != Local0)
					{
						CDW1 |= 0x10	/* capabilities masked */
					}
					CDW3 = Local0
				}
				Else
				{
					CDW1 |= 0x04		/* unrecognized UUID */
				}
				Return (Arg3)
			}
		}
	}
}
