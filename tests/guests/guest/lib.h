/*
 * lib.h - the little runtime of the test guests (64-bit, ring 0).
 */
#ifndef GUEST_LIB_H
#define GUEST_LIB_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* hvm_start_info, version 1 (Xen's public/arch-x86/hvm/start_info.h). */
#define HVM_START_MAGIC 0x336ec578U

struct hvm_start_info {
    uint32_t magic;
    uint32_t version;
    uint32_t flags;
    uint32_t nr_modules;
    uint64_t modlist_paddr;
    uint64_t cmdline_paddr;
    uint64_t rsdp_paddr;
    uint64_t memmap_paddr;
    uint32_t memmap_entries;
    uint32_t reserved;
};

struct hvm_modlist_entry {
    uint64_t paddr;
    uint64_t size;
    uint64_t cmdline_paddr;
    uint64_t reserved;
};

struct hvm_memmap_entry {
    uint64_t addr;
    uint64_t size;
    uint32_t type;
    uint32_t reserved;
};

enum verdict { SUCCESS, SKIP, ERROR, FAILURE };

/* Each guest defines this; start_info is the %ebx of the entry. */
void guest_main(uint32_t start_info);

static inline void outb(uint16_t port, uint8_t v)
{
    __asm__ volatile("outb %0, %1" : : "a"(v), "Nd"(port));
}

static inline void outw(uint16_t port, uint16_t v)
{
    __asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static inline uint8_t inb(uint16_t port)
{
    uint8_t v;

    __asm__ volatile("inb %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint16_t inw(uint16_t port)
{
    uint16_t v;

    __asm__ volatile("inw %1, %0" : "=a"(v) : "Nd"(port));
    return v;
}

static inline uint32_t mmio_read32(uint64_t addr)
{
    return *(volatile uint32_t *)addr;
}

static inline void mmio_write32(uint64_t addr, uint32_t v)
{
    *(volatile uint32_t *)addr = v;
}

void *memset(void *s, int c, size_t n);
void *memcpy(void *d, const void *s, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);

void puts_raw(const char *s);
void printk(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "Test result: <VERDICT>" (XTF's wording) and, for non-success,
 * the reason; then return (the caller decides to halt or go on). */
void verdict(enum verdict v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void halt_forever(void) __attribute__((noreturn));

/* ACPI: find a table by signature through the start info's RSDP;
 * returns its address or 0. */
const uint8_t *acpi_find(const struct hvm_start_info *si, const char *sig);

#define LAPIC_BASE 0xFEE00000ULL

#endif /* GUEST_LIB_H */
