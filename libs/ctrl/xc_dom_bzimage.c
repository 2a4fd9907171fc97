/*
 * xc_dom_bzimage.c - finding the compressed kernel inside a bzImage.
 *
 * Facts from the Linux x86 boot protocol: the setup header sits at
 * offset 0x1f1; boot_flag (0xaa55) at 0x1fe and the "HdrS" signature at
 * 0x202 identify it; the protocol version is at 0x206; from version 2.08
 * payload_offset (0x248) and payload_length (0x24c) locate the payload,
 * relative to the start of the protected-mode code, which follows the
 * (setup_sects + 1) 512-byte sectors of real-mode code (setup_sects 0
 * meaning 4).
 */
#include "xc_dom_internal.h"

#include <errno.h>

#define BZ_SETUP_SECTS     0x1f1
#define BZ_BOOT_FLAG       0x1fe
#define BZ_HEADER          0x202
#define BZ_VERSION         0x206
#define BZ_PAYLOAD_OFFSET  0x248
#define BZ_PAYLOAD_LENGTH  0x24c
#define BZ_MIN_SIZE        0x250
#define BZ_MIN_VERSION     0x0208

static uint16_t le16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

bool xc__dom_bzimage_probe(const uint8_t *img, size_t size)
{
    return size >= BZ_MIN_SIZE && le16(img + BZ_BOOT_FLAG) == 0xaa55 &&
           img[BZ_HEADER] == 'H' && img[BZ_HEADER + 1] == 'd' &&
           img[BZ_HEADER + 2] == 'r' && img[BZ_HEADER + 3] == 'S';
}

int xc__dom_bzimage_payload(struct xc_dom_image *dom, const uint8_t *img,
                            size_t size, const uint8_t **payload_r,
                            size_t *len_r)
{
    uint16_t version = le16(img + BZ_VERSION);
    unsigned int sects = img[BZ_SETUP_SECTS];
    uint64_t start, off, len;

    if (version < BZ_MIN_VERSION)
        return xc__dom_err(dom, -ENOEXEC, "kernel %s: bzImage boot "
                           "protocol %u.%02u is older than 2.08 (no "
                           "payload fields)", dom->kernel.name,
                           version >> 8, version & 0xff);
    if (sects == 0)
        sects = 4;
    start = (uint64_t)(sects + 1) * 512;
    off = start + le32(img + BZ_PAYLOAD_OFFSET);
    len = le32(img + BZ_PAYLOAD_LENGTH);
    if (len == 0 || off > size || len > size - off)
        return xc__dom_err(dom, -ENOEXEC, "kernel %s: bzImage payload at "
                           "%llu (%llu bytes) is outside the %zu-byte file; "
                           "truncated?", dom->kernel.name,
                           (unsigned long long)off, (unsigned long long)len,
                           size);
    *payload_r = img + off;
    *len_r = len;
    return 0;
}
