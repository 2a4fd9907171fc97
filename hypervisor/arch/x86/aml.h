/*
 * aml.h - a small writer of ACPI Machine Language (encodings from the
 * ACPI specification, section 20 "ACPI Machine Language Specification").
 *
 * The writer appends to a caller's buffer.  Objects that carry a package
 * length (Scope, Device, Method, If, Buffer) are opened with
 * aml_open_* and finished with aml_close, which writes the length in as
 * few bytes as it needs, so callers never count bytes.  A write past the
 * end of the buffer is not made; aml_len then reports -ENOSPC.
 */
#ifndef XENOLITH_AML_H
#define XENOLITH_AML_H

#include <stddef.h>
#include <stdint.h>

#define AML_MAX_DEPTH 8

/* Data objects and operands. */
#define AML_LOCAL0   0x60
#define AML_LOCAL1   0x61

/* Resource template items (ACPI section 6.4). */
#define AML_RES_IO16_TYPE  1
#define AML_RES_BUS_TYPE   2

struct aml {
    uint8_t *buf;
    size_t size;
    size_t len;
    int overflow;
    size_t open[AML_MAX_DEPTH];          /* where each open length goes */
    unsigned int depth;
};

void aml_init(struct aml *a, uint8_t *buf, size_t size);

/* Bytes written so far, or -ENOSPC (the buffer was too small) or
 * -EINVAL (an object was left open or closed twice). */
long aml_len(const struct aml *a);

void aml_bytes(struct aml *a, const void *p, size_t n);
void aml_byte(struct aml *a, uint8_t v);

/*
 * A name: "\\_SB_.PCI0.S01_" style, dot-separated segments of four
 * characters, with an optional leading backslash.
 */
void aml_name(struct aml *a, const char *path);

/* An integer constant in the shortest encoding. */
void aml_int(struct aml *a, uint64_t v);
void aml_string(struct aml *a, const char *s);
/* An EISA id ("PNP0A03") as its compressed 32-bit form. */
void aml_eisaid(struct aml *a, const char *id);

/* Name (path, ...): the value follows. */
void aml_name_decl(struct aml *a, const char *path);

void aml_open_scope(struct aml *a, const char *path);
void aml_open_device(struct aml *a, const char *path);
void aml_open_method(struct aml *a, const char *path, unsigned int nargs);
/* Buffer (): aml_close writes its size too (the bytes between). */
void aml_open_buffer(struct aml *a);
void aml_close(struct aml *a);

/* OperationRegion (path, SystemIO, port, len). */
void aml_io_region(struct aml *a, const char *path, uint16_t port,
                   uint8_t len);
/* Field (region, DWordAcc, NoLock, WriteAsZeros) { one 32-bit field per
 * name, in order }. */
void aml_dword_fields(struct aml *a, const char *region,
                      const char *const *names, unsigned int n);

/* Statements. */
/* Store (name, local): a named field's value into Local0..7. */
void aml_store_to_local(struct aml *a, const char *path, uint8_t local);
/* Store (v, name). */
void aml_store_int(struct aml *a, uint64_t v, const char *path);
/* If (And (local, mask)) { ...: closed with aml_close. */
void aml_open_if_bits(struct aml *a, uint8_t local, uint64_t mask);
/* Notify (path, value). */
void aml_notify(struct aml *a, const char *path, uint8_t value);
/* A call of a method that takes no argument. */
void aml_call0(struct aml *a, const char *path);

/* Resource template items, inside an open buffer. */
void aml_res_io(struct aml *a, uint16_t base, uint8_t len);
void aml_res_word(struct aml *a, uint8_t type, uint16_t min, uint16_t max);
void aml_res_dword_mem(struct aml *a, uint32_t min, uint32_t max);
void aml_res_end(struct aml *a);

#endif /* XENOLITH_AML_H */
