/*
 * aml.c - ACPI Machine Language writer (see aml.h).
 */
#include "aml.h"

#include <errno.h>
#include <string.h>

/* Opcodes (ACPI 6.x, section 20.3). */
#define OP_ZERO       0x00
#define OP_ONE        0x01
#define OP_NAME       0x08
#define OP_BYTE       0x0A
#define OP_WORD       0x0B
#define OP_DWORD      0x0C
#define OP_STRING     0x0D
#define OP_QWORD      0x0E
#define OP_SCOPE      0x10
#define OP_BUFFER     0x11
#define OP_METHOD     0x14
#define OP_DUAL_NAME  0x2E
#define OP_MULTI_NAME 0x2F
#define OP_ROOT       0x5C
#define OP_EXT        0x5B
#define OP_STORE      0x70
#define OP_AND        0x7B
#define OP_NOTIFY     0x86
#define OP_IF         0xA0
#define OP_ONES       0xFF
#define EXT_REGION    0x80
#define EXT_FIELD     0x81
#define EXT_DEVICE    0x82

/* Room kept for a package length until it is known. */
#define PKG_ROOM      4

void aml_init(struct aml *a, uint8_t *buf, size_t size)
{
    memset(a, 0, sizeof(*a));
    a->buf = buf;
    a->size = size;
}

long aml_len(const struct aml *a)
{
    if (a->overflow)
        return -ENOSPC;
    if (a->depth)
        return -EINVAL;
    return (long)a->len;
}

void aml_bytes(struct aml *a, const void *p, size_t n)
{
    if (a->overflow || n > a->size - a->len) {
        a->overflow = 1;
        return;
    }
    memcpy(a->buf + a->len, p, n);
    a->len += n;
}

void aml_byte(struct aml *a, uint8_t v)
{
    aml_bytes(a, &v, 1);
}

static void le(struct aml *a, uint64_t v, unsigned int n)
{
    while (n--) {
        aml_byte(a, (uint8_t)v);
        v >>= 8;
    }
}

/* One segment, padded with '_' to four characters. */
static void seg(struct aml *a, const char *s, size_t n)
{
    char four[4] = { '_', '_', '_', '_' };

    memcpy(four, s, n > 4 ? 4 : n);
    aml_bytes(a, four, 4);
}

void aml_name(struct aml *a, const char *path)
{
    const char *p, *dot;
    unsigned int nseg = 0;

    if (*path == '\\') {
        aml_byte(a, OP_ROOT);
        path++;
    }
    for (p = path; *p; nseg++) {
        dot = strchr(p, '.');
        p = dot ? dot + 1 : p + strlen(p);
    }
    if (nseg == 0) {
        aml_byte(a, OP_ZERO);            /* NullName */
        return;
    }
    if (nseg == 2)
        aml_byte(a, OP_DUAL_NAME);
    else if (nseg > 2) {
        aml_byte(a, OP_MULTI_NAME);
        aml_byte(a, (uint8_t)nseg);
    }
    for (p = path; *p;) {
        dot = strchr(p, '.');
        seg(a, p, dot ? (size_t)(dot - p) : strlen(p));
        p = dot ? dot + 1 : p + strlen(p);
    }
}

void aml_int(struct aml *a, uint64_t v)
{
    if (v == 0)
        aml_byte(a, OP_ZERO);
    else if (v == 1)
        aml_byte(a, OP_ONE);
    else if (v == ~0ULL)
        aml_byte(a, OP_ONES);
    else if (v <= 0xFF) {
        aml_byte(a, OP_BYTE);
        le(a, v, 1);
    } else if (v <= 0xFFFF) {
        aml_byte(a, OP_WORD);
        le(a, v, 2);
    } else if (v <= 0xFFFFFFFFULL) {
        aml_byte(a, OP_DWORD);
        le(a, v, 4);
    } else {
        aml_byte(a, OP_QWORD);
        le(a, v, 8);
    }
}

void aml_string(struct aml *a, const char *s)
{
    aml_byte(a, OP_STRING);
    aml_bytes(a, s, strlen(s) + 1);
}

/* Three letters of five bits each, then four hex digits, big-endian. */
void aml_eisaid(struct aml *a, const char *id)
{
    uint32_t v;
    unsigned int i, product = 0;

    for (i = 3; i < 7 && id[i]; i++)
        product = product * 16 + (unsigned int)(id[i] <= '9' ?
                                                id[i] - '0' :
                                                (id[i] | 0x20) - 'a' + 10);
    v = ((uint32_t)(id[0] - 0x40) << 26) | ((uint32_t)(id[1] - 0x40) << 21) |
        ((uint32_t)(id[2] - 0x40) << 16) | product;
    aml_byte(a, OP_DWORD);
    aml_byte(a, (uint8_t)(v >> 24));
    aml_byte(a, (uint8_t)(v >> 16));
    aml_byte(a, (uint8_t)(v >> 8));
    aml_byte(a, (uint8_t)v);
}

void aml_name_decl(struct aml *a, const char *path)
{
    aml_byte(a, OP_NAME);
    aml_name(a, path);
}

/* Reserve a package length here; aml_close fills it in. */
static void open_pkg(struct aml *a)
{
    static const uint8_t room[PKG_ROOM];

    if (a->depth == AML_MAX_DEPTH) {
        a->overflow = 1;
        return;
    }
    a->open[a->depth++] = a->len;
    aml_bytes(a, room, PKG_ROOM);
}

void aml_close(struct aml *a)
{
    size_t at, body, total;
    unsigned int n, i;

    if (a->depth == 0) {
        a->depth = AML_MAX_DEPTH + 1;    /* aml_len reports it */
        return;
    }
    if (a->depth > AML_MAX_DEPTH || a->overflow)
        return;
    at = a->open[--a->depth];
    body = a->len - at - PKG_ROOM;
    /* the length counts its own bytes: one holds up to 63 in all,
     * more bytes hold 4 + 8 * (n - 1) bits */
    for (n = 1; n <= 4; n++) {
        total = body + n;
        if (n == 1 ? total <= 0x3F : total < (1ULL << (4 + 8 * (n - 1))))
            break;
    }
    if (n > 4) {
        a->overflow = 1;
        return;
    }
    memmove(a->buf + at + n, a->buf + at + PKG_ROOM, body);
    a->len -= PKG_ROOM - n;
    if (n == 1) {
        a->buf[at] = (uint8_t)total;
        return;
    }
    a->buf[at] = (uint8_t)(((n - 1) << 6) | (total & 0x0F));
    for (i = 1; i < n; i++)
        a->buf[at + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
}

void aml_open_scope(struct aml *a, const char *path)
{
    aml_byte(a, OP_SCOPE);
    open_pkg(a);
    aml_name(a, path);
}

void aml_open_device(struct aml *a, const char *path)
{
    aml_byte(a, OP_EXT);
    aml_byte(a, EXT_DEVICE);
    open_pkg(a);
    aml_name(a, path);
}

void aml_open_method(struct aml *a, const char *path, unsigned int nargs)
{
    aml_byte(a, OP_METHOD);
    open_pkg(a);
    aml_name(a, path);
    aml_byte(a, (uint8_t)(nargs & 7));   /* not serialized, sync level 0 */
}

/*
 * The size operand of Buffer goes between the package length and the
 * bytes; it is written as a DWord constant so that its width is known
 * before the bytes are.
 */
void aml_open_buffer(struct aml *a)
{
    static const uint8_t size[5] = { OP_DWORD };

    aml_byte(a, OP_BUFFER);
    open_pkg(a);
    aml_bytes(a, size, sizeof(size));
}

/* Buffer's size: the bytes after its DWord operand. */
static void buffer_size(struct aml *a)
{
    size_t at = a->open[a->depth - 1] + PKG_ROOM;
    uint32_t n = (uint32_t)(a->len - at - 5);

    memcpy(a->buf + at + 1, &n, 4);     /* little-endian hosts only */
}

void aml_res_end(struct aml *a)
{
    aml_byte(a, 0x79);
    aml_byte(a, 0);                      /* checksum 0: not checked */
    if (!a->overflow && a->depth)
        buffer_size(a);
}

void aml_io_region(struct aml *a, const char *path, uint16_t port,
                   uint8_t len)
{
    aml_byte(a, OP_EXT);
    aml_byte(a, EXT_REGION);
    aml_name(a, path);
    aml_byte(a, 1);                      /* SystemIO */
    aml_int(a, port);
    aml_int(a, len);
}

void aml_dword_fields(struct aml *a, const char *region,
                      const char *const *names, unsigned int n)
{
    unsigned int i;

    aml_byte(a, OP_EXT);
    aml_byte(a, EXT_FIELD);
    open_pkg(a);
    aml_name(a, region);
    aml_byte(a, 0x03 | (2 << 5));        /* DWordAcc, NoLock, WriteAsZeros */
    for (i = 0; i < n; i++) {
        seg(a, names[i], strlen(names[i]));
        aml_byte(a, 32);                 /* bits, as a package length */
    }
    aml_close(a);
}

void aml_store_to_local(struct aml *a, const char *path, uint8_t local)
{
    aml_byte(a, OP_STORE);
    aml_name(a, path);
    aml_byte(a, local);
}

void aml_store_int(struct aml *a, uint64_t v, const char *path)
{
    aml_byte(a, OP_STORE);
    aml_int(a, v);
    aml_name(a, path);
}

void aml_open_if_bits(struct aml *a, uint8_t local, uint64_t mask)
{
    aml_byte(a, OP_IF);
    open_pkg(a);
    aml_byte(a, OP_AND);
    aml_byte(a, local);
    aml_int(a, mask);
    aml_byte(a, OP_ZERO);                /* no target */
}

void aml_notify(struct aml *a, const char *path, uint8_t value)
{
    aml_byte(a, OP_NOTIFY);
    aml_name(a, path);
    aml_int(a, value);
}

void aml_call0(struct aml *a, const char *path)
{
    aml_name(a, path);
}

void aml_res_io(struct aml *a, uint16_t base, uint8_t len)
{
    aml_byte(a, 0x47);                   /* I/O port, small item */
    aml_byte(a, 1);                      /* 16-bit decode */
    le(a, base, 2);
    le(a, base, 2);
    aml_byte(a, 1);                      /* alignment */
    aml_byte(a, len);
}

/* Word address space: bus numbers or I/O ports, produced by a bridge. */
void aml_res_word(struct aml *a, uint8_t type, uint16_t min, uint16_t max)
{
    aml_byte(a, 0x88);
    le(a, 13, 2);
    aml_byte(a, type);
    aml_byte(a, 0x0C);                   /* min and max fixed, producer */
    aml_byte(a, type == AML_RES_IO16_TYPE ? 3 : 0);  /* entire range */
    le(a, 0, 2);                         /* granularity */
    le(a, min, 2);
    le(a, max, 2);
    le(a, 0, 2);                         /* translation */
    le(a, (uint32_t)max - min + 1, 2);
}

void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max)
{
    aml_byte(a, 0x87);
    le(a, 23, 2);
    aml_byte(a, 0);                      /* memory */
    aml_byte(a, 0x0C);
    aml_byte(a, 0x01);                   /* read-write, non-cacheable */
    le(a, 0, 4);
    le(a, min, 4);
    le(a, max, 4);
    le(a, 0, 4);
    le(a, (uint64_t)max - min + 1, 4);
}
