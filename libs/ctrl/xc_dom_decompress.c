/*
 * xc_dom_decompress.c - the compressed formats a Linux bzImage payload
 * can use, recognised by their magic numbers:
 *
 *   gzip   1f 8b                 zlib
 *   bzip2  "BZh"                 libbz2
 *   lzma   5d 00 00              liblzma (.lzma "alone" format)
 *   xz     fd "7zXZ" 00          liblzma
 *   lzo    89 "LZO" 00 0d 0a 1a 0a   an lzop stream, blocks from liblzo2
 *   lz4    02 21 4c 18           the legacy lz4 frame, blocks from liblz4
 *   zstd   28 b5 2f fd           libzstd
 *
 * The kernel build appends the uncompressed size (32-bit little endian)
 * after the stream; it serves as the first guess of the output size.
 * Bytes after the end of a stream are ignored.  A stream that stops
 * early, or whose data the library rejects, is an error naming the
 * format and the offset reached.
 */
#include "xc_dom_internal.h"

#include <bzlib.h>
#include <errno.h>
#include <limits.h>
#include <lz4.h>
#include <lzma.h>
#include <lzo/lzo1x.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define CHUNK_MIN      (256U << 10)
/* Decoder memory the stream may ask for: Linux uses an xz dictionary of
 * 32 MiB, lzma -9 64 MiB and zstd -22 a 128 MiB window. */
#define LZMA_MEMLIMIT      (512ULL << 20)
#define ZSTD_WINDOWLOG_MAX 27
#define LZ4_LEGACY_MAGIC   0x184c2102U
#define LZ4_LEGACY_BLOCK   (8U << 20)
#define LZO_BLOCK_MAX      (64U << 20)

/* lzop header flags (lzop's F_* values). */
#define LZOP_ADLER32_D     0x00000001U
#define LZOP_ADLER32_C     0x00000002U
#define LZOP_H_EXTRA_FIELD 0x00000040U
#define LZOP_CRC32_D       0x00000100U
#define LZOP_CRC32_C       0x00000200U
#define LZOP_H_FILTER      0x00000800U
#define LZOP_H_CRC32       0x00001000U

static const uint8_t lzop_magic[9] = {
    0x89, 'L', 'Z', 'O', 0x00, 0x0d, 0x0a, 0x1a, 0x0a
};

enum xc__dom_comp xc__dom_comp_detect(const uint8_t *p, size_t n)
{
    if (n >= 2 && p[0] == 0x1f && p[1] == 0x8b)
        return XC__COMP_GZIP;
    if (n >= 3 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h')
        return XC__COMP_BZIP2;
    if (n >= 3 && p[0] == 0x5d && p[1] == 0 && p[2] == 0)
        return XC__COMP_LZMA;
    if (n >= 6 && !memcmp(p, "\xfd" "7zXZ\0", 6))
        return XC__COMP_XZ;
    if (n >= sizeof(lzop_magic) && !memcmp(p, lzop_magic,
                                           sizeof(lzop_magic)))
        return XC__COMP_LZO;
    if (n >= 4 && !memcmp(p, "\x02\x21\x4c\x18", 4))
        return XC__COMP_LZ4;
    if (n >= 4 && !memcmp(p, "\x28\xb5\x2f\xfd", 4))
        return XC__COMP_ZSTD;
    return XC__COMP_NONE;
}

const char *xc__dom_comp_name(enum xc__dom_comp comp)
{
    switch (comp) {
    case XC__COMP_GZIP:  return "gzip";
    case XC__COMP_BZIP2: return "bzip2";
    case XC__COMP_LZMA:  return "lzma";
    case XC__COMP_XZ:    return "xz";
    case XC__COMP_LZO:   return "lzo";
    case XC__COMP_LZ4:   return "lz4";
    case XC__COMP_ZSTD:  return "zstd";
    case XC__COMP_NONE:  break;
    }
    return "none";
}

/* ------------------------------------------------------------ output */

struct outbuf {
    uint8_t *buf;
    size_t len;
    size_t cap;
};

/* The most a kernel may decompress to: 1 GiB, or the guest memory when
 * that is known and smaller. */
static size_t decomp_limit(const struct xc_dom_image *dom)
{
    if (dom->mem_bytes && dom->mem_bytes < XC__DOM_DECOMP_MAX)
        return (size_t)dom->mem_bytes;
    return (size_t)XC__DOM_DECOMP_MAX;
}

/*
 * Make room for want more bytes.  With partial, less will do near the
 * limit (streaming decoders take what room there is); only a full
 * buffer at the limit is an error then.
 */
static int ob_reserve(struct xc_dom_image *dom, struct outbuf *ob,
                      size_t want, bool partial, const char *what)
{
    size_t limit = decomp_limit(dom);
    size_t cap = ob->cap ? ob->cap : CHUNK_MIN;
    uint8_t *nb;

    if (ob->cap - ob->len >= want)
        return 0;
    if (ob->len >= limit || (!partial && want > limit - ob->len))
        return xc__dom_err(dom, -ENOEXEC, "kernel %s: %s decompresses to "
                           "more than %zu MiB%s", dom->kernel.name, what,
                           limit >> 20, limit < XC__DOM_DECOMP_MAX ?
                           " (the guest memory)" : "");
    if (want > limit - ob->len)
        want = limit - ob->len;
    while (cap - ob->len < want)
        cap = cap > limit / 2 ? limit : cap * 2;
    if (cap > limit)
        cap = limit;
    nb = realloc(ob->buf, cap);
    if (!nb)
        return xc__dom_err(dom, -ENOMEM, "kernel %s: out of memory "
                           "decompressing %s (%zu bytes)", dom->kernel.name,
                           what, cap);
    ob->buf = nb;
    ob->cap = cap;
    return 0;
}

/* Room for the next step: at least CHUNK_MIN, at most UINT_MAX. */
static size_t ob_room(const struct outbuf *ob)
{
    size_t room = ob->cap - ob->len;

    return room > UINT_MAX ? UINT_MAX : room;
}

static uint32_t le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
           (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static int truncated(struct xc_dom_image *dom, const char *what,
                     size_t inlen, size_t out)
{
    return xc__dom_err(dom, -ENOEXEC, "kernel %s: %s is truncated (stream "
                       "ends early after %zu input bytes, %zu bytes "
                       "decompressed)", dom->kernel.name, what, inlen, out);
}

static int corrupt(struct xc_dom_image *dom, const char *what, size_t at,
                   const char *why)
{
    return xc__dom_err(dom, -ENOEXEC, "kernel %s: %s is corrupt at input "
                       "offset %zu: %s", dom->kernel.name, what, at, why);
}

/* ------------------------------------------------------------ gzip */

static int un_gzip(struct xc_dom_image *dom, const uint8_t *in, size_t inlen,
                   const char *what, struct outbuf *ob)
{
    z_stream zs;
    int rc, r;

    if (inlen > UINT_MAX)
        return corrupt(dom, what, 0, "input larger than 4 GiB");
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK)
        return xc__dom_err(dom, -ENOMEM, "kernel %s: cannot start zlib",
                           dom->kernel.name);
    zs.next_in = (Bytef *)in;
    zs.avail_in = (uInt)inlen;
    for (;;) {
        rc = ob_reserve(dom, ob, CHUNK_MIN, true, what);
        if (rc)
            goto out;
        zs.next_out = ob->buf + ob->len;
        zs.avail_out = (uInt)ob_room(ob);
        r = inflate(&zs, Z_NO_FLUSH);
        ob->len = (size_t)(zs.next_out - ob->buf);
        if (r == Z_STREAM_END)
            break;
        if (r == Z_BUF_ERROR && zs.avail_in == 0) {
            rc = truncated(dom, what, inlen, ob->len);
            goto out;
        }
        if (r != Z_OK && r != Z_BUF_ERROR) {
            rc = corrupt(dom, what, inlen - zs.avail_in,
                         zs.msg ? zs.msg : "inflate failed");
            goto out;
        }
    }
    rc = 0;

out:
    inflateEnd(&zs);
    return rc;
}

/* ------------------------------------------------------------ bzip2 */

static int un_bzip2(struct xc_dom_image *dom, const uint8_t *in,
                    size_t inlen, const char *what, struct outbuf *ob)
{
    bz_stream bs;
    int rc, r;

    if (inlen > UINT_MAX)
        return corrupt(dom, what, 0, "input larger than 4 GiB");
    memset(&bs, 0, sizeof(bs));
    if (BZ2_bzDecompressInit(&bs, 0, 0) != BZ_OK)
        return xc__dom_err(dom, -ENOMEM, "kernel %s: cannot start bzip2",
                           dom->kernel.name);
    bs.next_in = (char *)in;
    bs.avail_in = (unsigned int)inlen;
    for (;;) {
        unsigned int before_in = bs.avail_in;
        size_t before_out = ob->len;

        rc = ob_reserve(dom, ob, CHUNK_MIN, true, what);
        if (rc)
            goto out;
        bs.next_out = (char *)ob->buf + ob->len;
        bs.avail_out = (unsigned int)ob_room(ob);
        r = BZ2_bzDecompress(&bs);
        ob->len = (size_t)((uint8_t *)bs.next_out - ob->buf);
        if (r == BZ_STREAM_END)
            break;
        if (r != BZ_OK) {
            rc = corrupt(dom, what, inlen - bs.avail_in,
                         r == BZ_MEM_ERROR ? "out of memory" :
                         "bad bzip2 data");
            goto out;
        }
        if (bs.avail_in == 0 && before_in == 0 && ob->len == before_out) {
            rc = truncated(dom, what, inlen, ob->len);
            goto out;
        }
    }
    rc = 0;

out:
    BZ2_bzDecompressEnd(&bs);
    return rc;
}

/* ------------------------------------------------------------ lzma, xz */

static const char *lzma_why(lzma_ret r)
{
    switch (r) {
    case LZMA_MEM_ERROR:     return "out of memory";
    case LZMA_MEMLIMIT_ERROR:
        return "the stream needs more than 512 MiB to decode";
    case LZMA_FORMAT_ERROR:  return "bad header";
    case LZMA_OPTIONS_ERROR: return "unsupported options";
    case LZMA_DATA_ERROR:    return "bad compressed data";
    default:                 return "decoder error";
    }
}

static int un_lzma(struct xc_dom_image *dom, bool xz, const uint8_t *in,
                   size_t inlen, const char *what, struct outbuf *ob)
{
    lzma_stream ls = LZMA_STREAM_INIT;
    lzma_ret r;
    int rc;

    if (xz)
        r = lzma_stream_decoder(&ls, LZMA_MEMLIMIT, 0);
    else
        r = lzma_alone_decoder(&ls, LZMA_MEMLIMIT);
    if (r != LZMA_OK)
        return xc__dom_err(dom, -ENOMEM, "kernel %s: cannot start the %s "
                           "decoder", dom->kernel.name, xz ? "xz" : "lzma");
    ls.next_in = in;
    ls.avail_in = inlen;
    for (;;) {
        rc = ob_reserve(dom, ob, CHUNK_MIN, true, what);
        if (rc)
            goto out;
        ls.next_out = ob->buf + ob->len;
        ls.avail_out = ob->cap - ob->len;
        r = lzma_code(&ls, LZMA_FINISH);
        ob->len = (size_t)(ls.next_out - ob->buf);
        if (r == LZMA_STREAM_END)
            break;
        if (r == LZMA_BUF_ERROR || (r == LZMA_OK && ls.avail_in == 0 &&
                                    ls.avail_out != 0)) {
            rc = truncated(dom, what, inlen, ob->len);
            goto out;
        }
        if (r != LZMA_OK) {
            rc = corrupt(dom, what, inlen - ls.avail_in, lzma_why(r));
            goto out;
        }
    }
    rc = 0;

out:
    lzma_end(&ls);
    return rc;
}

/* ------------------------------------------------------------ zstd */

static int un_zstd(struct xc_dom_image *dom, const uint8_t *in,
                   size_t inlen, const char *what, struct outbuf *ob)
{
    ZSTD_DCtx *dctx = ZSTD_createDCtx();
    ZSTD_inBuffer zin = { in, inlen, 0 };
    int rc;

    if (!dctx)
        return xc__dom_err(dom, -ENOMEM, "kernel %s: cannot start zstd",
                           dom->kernel.name);
    /* Enough for the kernel's --ultra -22, no more. */
    ZSTD_DCtx_setParameter(dctx, ZSTD_d_windowLogMax, ZSTD_WINDOWLOG_MAX);
    for (;;) {
        ZSTD_outBuffer zout;
        size_t r;

        rc = ob_reserve(dom, ob, CHUNK_MIN, true, what);
        if (rc)
            goto out;
        zout.dst = ob->buf + ob->len;
        zout.size = ob->cap - ob->len;
        zout.pos = 0;
        r = ZSTD_decompressStream(dctx, &zout, &zin);
        ob->len += zout.pos;
        if (ZSTD_isError(r)) {
            rc = corrupt(dom, what, zin.pos, ZSTD_getErrorName(r));
            goto out;
        }
        if (r == 0)
            break;
        if (zin.pos == zin.size && zout.pos < zout.size) {
            rc = truncated(dom, what, inlen, ob->len);
            goto out;
        }
    }
    rc = 0;

out:
    ZSTD_freeDCtx(dctx);
    return rc;
}

/* ------------------------------------------------------------ lz4 */

/* The legacy frame: the magic, then blocks of (le32 size, data), each
 * decompressing to at most 8 MiB.  A repeated magic starts a new frame;
 * four bytes left at the end are the kernel's appended size. */
static int un_lz4(struct xc_dom_image *dom, const uint8_t *in, size_t inlen,
                  const char *what, struct outbuf *ob)
{
    size_t pos = 4;
    unsigned int blocks = 0;
    int rc;

    while (inlen - pos >= 4) {
        uint32_t csize = le32(in + pos);
        size_t room;
        int n;

        if (csize == LZ4_LEGACY_MAGIC) {
            pos += 4;
            continue;
        }
        if (inlen - pos == 4 && blocks > 0) {
            if (csize != (uint32_t)ob->len)
                return truncated(dom, what, inlen, ob->len);
            break;
        }
        pos += 4;
        if (csize == 0 || csize > inlen - pos)
            return csize == 0 ? corrupt(dom, what, pos - 4, "empty block")
                              : truncated(dom, what, inlen, ob->len);
        if (csize > (uint32_t)LZ4_compressBound(LZ4_LEGACY_BLOCK))
            return corrupt(dom, what, pos - 4, "block too large");
        rc = ob_reserve(dom, ob, LZ4_LEGACY_BLOCK, true, what);
        if (rc)
            return rc;
        room = ob->cap - ob->len;
        if (room > LZ4_LEGACY_BLOCK)
            room = LZ4_LEGACY_BLOCK;
        n = LZ4_decompress_safe((const char *)in + pos,
                                (char *)ob->buf + ob->len, (int)csize,
                                (int)room);
        if (n < 0)
            return corrupt(dom, what, pos, "bad lz4 block");
        ob->len += (size_t)n;
        pos += csize;
        blocks++;
    }
    if (blocks == 0)
        return truncated(dom, what, inlen, 0);
    return 0;
}

/* ------------------------------------------------------------ lzo */

/* Parse an lzop header; *pos_r is set past it. */
static int lzop_header(struct xc_dom_image *dom, const uint8_t *in,
                       size_t inlen, const char *what, size_t *pos_r,
                       uint32_t *flags_r)
{
    size_t pos = sizeof(lzop_magic);
    size_t start = pos;
    uint16_t version;
    uint32_t flags, sum, want;
    unsigned int method, namelen;

    /* version, lib version, [version needed], method, [level], flags */
    if (inlen - pos < 13)
        return truncated(dom, what, inlen, 0);
    version = be16(in + pos);
    pos += 4;
    if (version >= 0x0940)
        pos += 2;
    method = in[pos++];
    if (version >= 0x0940)
        pos++;
    if (method < 1 || method > 3)
        return corrupt(dom, what, pos - 1, "unknown lzo method");
    flags = be32(in + pos);
    pos += 4;
    /* [filter], mode, mtime, [mtime high], name length */
    if (inlen - pos < 4 + 4 + 4 + 4 + 1)
        return truncated(dom, what, inlen, 0);
    if (flags & LZOP_H_FILTER)
        return corrupt(dom, what, pos, "lzop filters are not supported");
    pos += 8;
    if (version >= 0x0940)
        pos += 4;
    namelen = in[pos++];
    if (inlen - pos < (size_t)namelen + 4)
        return truncated(dom, what, inlen, 0);
    pos += namelen;
    if (flags & LZOP_H_CRC32)
        sum = (uint32_t)crc32(0, in + start, (uInt)(pos - start));
    else
        sum = (uint32_t)adler32(1, in + start, (uInt)(pos - start));
    want = be32(in + pos);
    pos += 4;
    if (sum != want)
        return corrupt(dom, what, pos - 4, "lzop header checksum mismatch");
    if (flags & LZOP_H_EXTRA_FIELD) {
        uint32_t elen;

        if (inlen - pos < 4)
            return truncated(dom, what, inlen, 0);
        elen = be32(in + pos);
        if (elen > inlen - pos - 4 || inlen - pos - 4 - elen < 4)
            return truncated(dom, what, inlen, 0);
        pos += 4 + (size_t)elen + 4;
    }
    *pos_r = pos;
    *flags_r = flags;
    return 0;
}

static int un_lzo(struct xc_dom_image *dom, const uint8_t *in, size_t inlen,
                  const char *what, struct outbuf *ob)
{
    size_t pos = 0;
    uint32_t flags = 0;
    int rc;

    if (lzo_init() != LZO_E_OK)
        return xc__dom_err(dom, -ENOMEM, "kernel %s: cannot start lzo",
                           dom->kernel.name);
    rc = lzop_header(dom, in, inlen, what, &pos, &flags);
    if (rc)
        return rc;
    for (;;) {
        uint32_t dlen, clen, dsum = 0, csum = 0;
        bool has_dsum = flags & (LZOP_ADLER32_D | LZOP_CRC32_D);
        bool has_csum = flags & (LZOP_ADLER32_C | LZOP_CRC32_C);
        lzo_uint outlen;
        uint8_t *dst;

        if (inlen - pos < 4)
            return truncated(dom, what, inlen, ob->len);
        dlen = be32(in + pos);
        pos += 4;
        if (dlen == 0)
            break;
        if (inlen - pos < 4)
            return truncated(dom, what, inlen, ob->len);
        clen = be32(in + pos);
        pos += 4;
        if (dlen > LZO_BLOCK_MAX || clen > dlen)
            return corrupt(dom, what, pos - 8, "bad block sizes");
        if (has_dsum) {
            if (inlen - pos < 4)
                return truncated(dom, what, inlen, ob->len);
            dsum = be32(in + pos);
            pos += 4;
        }
        if (has_csum && clen < dlen) {
            if (inlen - pos < 4)
                return truncated(dom, what, inlen, ob->len);
            csum = be32(in + pos);
            pos += 4;
        }
        if (clen > inlen - pos)
            return truncated(dom, what, inlen, ob->len);
        if (has_csum && clen < dlen) {
            uint32_t s = flags & LZOP_CRC32_C ?
                (uint32_t)crc32(0, in + pos, clen) :
                (uint32_t)adler32(1, in + pos, clen);

            if (s != csum)
                return corrupt(dom, what, pos, "block checksum mismatch");
        }
        rc = ob_reserve(dom, ob, dlen, false, what);
        if (rc)
            return rc;
        dst = ob->buf + ob->len;
        if (clen == dlen) {
            memcpy(dst, in + pos, clen);
        } else {
            outlen = dlen;
            if (lzo1x_decompress_safe(in + pos, clen, dst, &outlen, NULL)
                != LZO_E_OK || outlen != dlen)
                return corrupt(dom, what, pos, "bad lzo block");
        }
        if (has_dsum) {
            uint32_t s = flags & LZOP_CRC32_D ?
                (uint32_t)crc32(0, dst, dlen) :
                (uint32_t)adler32(1, dst, dlen);

            if (s != dsum)
                return corrupt(dom, what, pos,
                               "decompressed block checksum mismatch");
        }
        ob->len += dlen;
        pos += clen;
    }
    return 0;
}

/* ------------------------------------------------------------ entry */

int xc__dom_decompress(struct xc_dom_image *dom, enum xc__dom_comp comp,
                       const uint8_t *in, size_t inlen, const char *what,
                       uint8_t **out_r, size_t *outlen_r)
{
    struct outbuf ob = { NULL, 0, 0 };
    uint32_t hint = inlen >= 4 ? le32(in + inlen - 4) : 0;
    int rc;

    /* The appended size, when plausible, saves the regrowing. */
    if (hint > inlen && hint <= XC__DOM_DECOMP_MAX) {
        rc = ob_reserve(dom, &ob, hint + (size_t)CHUNK_MIN, true, what);
        if (rc)
            goto out;
    }
    switch (comp) {
    case XC__COMP_GZIP:
        rc = un_gzip(dom, in, inlen, what, &ob);
        break;
    case XC__COMP_BZIP2:
        rc = un_bzip2(dom, in, inlen, what, &ob);
        break;
    case XC__COMP_LZMA:
        rc = un_lzma(dom, false, in, inlen, what, &ob);
        break;
    case XC__COMP_XZ:
        rc = un_lzma(dom, true, in, inlen, what, &ob);
        break;
    case XC__COMP_LZO:
        rc = un_lzo(dom, in, inlen, what, &ob);
        break;
    case XC__COMP_LZ4:
        rc = un_lz4(dom, in, inlen, what, &ob);
        break;
    case XC__COMP_ZSTD:
        rc = un_zstd(dom, in, inlen, what, &ob);
        break;
    default:
        rc = xc__dom_err(dom, -EINVAL, "no decompressor for %s", what);
        break;
    }
    if (rc)
        goto out;
    if (ob.len == 0) {
        rc = xc__dom_err(dom, -ENOEXEC, "kernel %s: %s decompresses to "
                         "nothing", dom->kernel.name, what);
        goto out;
    }
    *out_r = ob.buf;
    *outlen_r = ob.len;
    ob.buf = NULL;
    rc = 0;

out:
    free(ob.buf);
    return rc;
}
