/*
 * test-pvh-startinfo: check the start info the builder made: magic and
 * version, the command line, one module with the expected bytes, a
 * memory map with RAM at 0 and from 1 MiB and an ACPI range holding
 * the RSDP.  The harness passes STARTINFO_CMDLINE and STARTINFO_MODULE.
 */
#include "lib.h"

#define STARTINFO_CMDLINE "xenolith-startinfo console=ttyS0 answer=42"
#define STARTINFO_MODULE  "XENOLITH-MODULE-PAYLOAD-0123456789abcdef"

static int fail(const char *what)
{
    verdict(FAILURE, "%s", what);
    return 1;
}

static int check(const struct hvm_start_info *si)
{
    const struct hvm_modlist_entry *mod;
    const struct hvm_memmap_entry *mm;
    int low_ram = 0, high_ram = 0, acpi = 0;
    const char *cmdline;
    uint32_t i;

    if (si->magic != HVM_START_MAGIC)
        return fail("bad magic");
    printk("start info at %p: version %u, %u modules, %u memmap entries\n",
           (const void *)si, si->version, si->nr_modules,
           si->memmap_entries);
    if (si->version < 1)
        return fail("version < 1: no memory map");
    if (!si->cmdline_paddr)
        return fail("no command line");
    cmdline = (const char *)(uintptr_t)si->cmdline_paddr;
    printk("cmdline: \"%s\"\n", cmdline);
    if (strcmp(cmdline, STARTINFO_CMDLINE))
        return fail("command line differs");
    if (si->nr_modules != 1 || !si->modlist_paddr)
        return fail("expected exactly one module");
    mod = (const struct hvm_modlist_entry *)(uintptr_t)si->modlist_paddr;
    printk("module: %lx bytes at %lx\n", (unsigned long)mod->size,
           (unsigned long)mod->paddr);
    if (mod->size != sizeof(STARTINFO_MODULE) - 1 || (mod->paddr & 0xFFF))
        return fail("module size or alignment");
    if (memcmp((const void *)(uintptr_t)mod->paddr, STARTINFO_MODULE,
               mod->size))
        return fail("module contents differ");
    if (!si->memmap_paddr || !si->memmap_entries)
        return fail("no memory map");
    mm = (const struct hvm_memmap_entry *)(uintptr_t)si->memmap_paddr;
    for (i = 0; i < si->memmap_entries; i++) {
        printk("  e820 %lx-%lx type %u\n", (unsigned long)mm[i].addr,
               (unsigned long)(mm[i].addr + mm[i].size), mm[i].type);
        if (mm[i].type == 1 && mm[i].addr == 0)
            low_ram = 1;
        if (mm[i].type == 1 && mm[i].addr <= 0x100000 &&
            mm[i].addr + mm[i].size > 0x100000)
            high_ram = 1;
        if (mm[i].type == 3 && mm[i].addr <= si->rsdp_paddr &&
            si->rsdp_paddr < mm[i].addr + mm[i].size)
            acpi = 1;
    }
    if (!low_ram || !high_ram)
        return fail("memory map lacks RAM at 0 or at 1 MiB");
    if (!acpi)
        return fail("RSDP not inside an ACPI range");
    if (!acpi_find(si, "FACP") || !acpi_find(si, "APIC"))
        return fail("FADT or MADT missing or bad checksum");
    return 0;
}

void guest_main(uint32_t start_info)
{
    if (!check((const struct hvm_start_info *)(uintptr_t)start_info))
        verdict(SUCCESS, NULL);
    halt_forever();
}
