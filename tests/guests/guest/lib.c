/*
 * lib.c - console output, string helpers, ACPI lookup for test guests.
 */
#include "lib.h"

#define COM1 0x3F8

/* volatile: keeps the compiler from turning these loops into calls to
 * themselves */
void *memset(void *s, int c, size_t n)
{
    volatile uint8_t *p = s;

    while (n--)
        *p++ = (uint8_t)c;
    return s;
}

void *memcpy(void *d, const void *s, size_t n)
{
    volatile uint8_t *dp = d;
    const uint8_t *sp = s;

    while (n--)
        *dp++ = *sp++;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const uint8_t *x = a, *y = b;

    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s)
{
    size_t n = 0;

    while (s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (uint8_t)*a - (uint8_t)*b;
}

static void putc_com1(char c)
{
    /* wait for THR empty; our UART always is, real ones may not be */
    while (!(inb(COM1 + 5) & 0x20))
        ;
    outb(COM1, (uint8_t)c);
}

void puts_raw(const char *s)
{
    while (*s)
        putc_com1(*s++);
}

static void put_num(uint64_t v, unsigned base, int neg)
{
    char buf[24];
    int i = 0;

    if (neg)
        putc_com1('-');
    do {
        buf[i++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v);
    while (i)
        putc_com1(buf[--i]);
}

static void vprintk(const char *fmt, va_list ap)
{
    for (; *fmt; fmt++) {
        int lng = 0;

        if (*fmt != '%') {
            putc_com1(*fmt);
            continue;
        }
        fmt++;
        while (*fmt == 'l') {
            lng = 1;
            fmt++;
        }
        switch (*fmt) {
        case 's': {
            const char *s = va_arg(ap, const char *);

            puts_raw(s ? s : "(null)");
            break;
        }
        case 'd': {
            int64_t v = lng ? va_arg(ap, long) : va_arg(ap, int);

            put_num(v < 0 ? (uint64_t)-v : (uint64_t)v, 10, v < 0);
            break;
        }
        case 'u':
            put_num(lng ? va_arg(ap, unsigned long)
                        : va_arg(ap, unsigned int), 10, 0);
            break;
        case 'x':
            put_num(lng ? va_arg(ap, unsigned long)
                        : va_arg(ap, unsigned int), 16, 0);
            break;
        case 'p':
            puts_raw("0x");
            put_num((uint64_t)(uintptr_t)va_arg(ap, void *), 16, 0);
            break;
        case '%':
            putc_com1('%');
            break;
        default:
            putc_com1('?');
            break;
        }
    }
}

void printk(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vprintk(fmt, ap);
    va_end(ap);
}

void verdict(enum verdict v, const char *fmt, ...)
{
    static const char *const names[] = {
        "SUCCESS", "SKIP", "ERROR", "FAILURE",
    };
    va_list ap;

    puts_raw("Test result: ");
    puts_raw(names[v]);
    if (fmt && *fmt) {
        puts_raw(" (");
        va_start(ap, fmt);
        vprintk(fmt, ap);
        va_end(ap);
        puts_raw(")");
    }
    puts_raw("\n");
}

void halt_forever(void)
{
    for (;;)
        __asm__ volatile("cli; hlt");
}

static int checksum_ok(const uint8_t *p, size_t len)
{
    uint8_t s = 0;

    while (len--)
        s += *p++;
    return s == 0;
}

const uint8_t *acpi_find(const struct hvm_start_info *si, const char *sig)
{
    const uint8_t *rsdp = (const uint8_t *)(uintptr_t)si->rsdp_paddr;
    const uint8_t *xsdt;
    uint32_t len, i;
    uint64_t addr;

    if (!rsdp || memcmp(rsdp, "RSD PTR ", 8) || !checksum_ok(rsdp, 20))
        return 0;
    if (rsdp[15] < 2 || !checksum_ok(rsdp, 36))
        return 0;
    memcpy(&addr, rsdp + 24, 8);
    xsdt = (const uint8_t *)(uintptr_t)addr;
    if (memcmp(xsdt, "XSDT", 4))
        return 0;
    memcpy(&len, xsdt + 4, 4);
    if (!checksum_ok(xsdt, len))
        return 0;
    for (i = 36; i + 8 <= len; i += 8) {
        const uint8_t *t;
        uint32_t tlen;

        memcpy(&addr, xsdt + i, 8);
        t = (const uint8_t *)(uintptr_t)addr;
        if (memcmp(t, sig, 4))
            continue;
        memcpy(&tlen, t + 4, 4);
        return checksum_ok(t, tlen) ? t : 0;
    }
    return 0;
}
