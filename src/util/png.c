/* png.c -- grayscale PNG encoder: signature, IHDR, one zlib IDAT, IEND.
 * Chunk CRCs and the deflate stream come from zlib; nothing else is used.
 * QR codes compress to a few hundred bytes, so the image is deflated in one
 * call rather than streamed. */
#include "common.h"
#include "util/png.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

static const unsigned char png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};

static void
put_be32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* Length, type, data, then the CRC over type and data (PNG spec 5.3). */
static int
put_chunk(struct buf *b, const char type[4], const unsigned char *data, uint32_t n)
{
    unsigned char hdr[8], crc[4];
    uLong c = crc32(0L, Z_NULL, 0);
    int rc;

    put_be32(hdr, n);
    memcpy(hdr + 4, type, 4);
    c = crc32(c, (const Bytef *)type, 4);
    if (n > 0)
        c = crc32(c, data, n);
    put_be32(crc, (uint32_t)c);
    rc = buf_append(b, hdr, sizeof(hdr));
    if (rc == 0 && n > 0)
        rc = buf_append(b, data, n);
    if (rc == 0)
        rc = buf_append(b, crc, sizeof(crc));
    return rc;
}

int
png_encode_gray(const unsigned char *pix, uint32_t w, uint32_t h, int depth, struct buf *out)
{
    size_t stride, raw_n, n0 = out->n;
    unsigned char ihdr[13], *raw = NULL, *z = NULL;
    uLongf z_n;
    int rc;

    if (w == 0 || h == 0 || w > PNG_MAX_DIM || h > PNG_MAX_DIM || (depth != 1 && depth != 8))
        return -EINVAL;
    stride = depth == 8 ? w : (w + 7) / 8;
    raw_n = (stride + 1) * h;
    raw = xmalloc(raw_n);
    for (uint32_t y = 0; y < h; y++) {
        unsigned char *row = raw + y * (stride + 1);
        row[0] = 0; /* filter type None */
        memcpy(row + 1, pix + y * stride, stride);
        /* Padding bits are not part of the image; keep them 0 so the
         * output does not depend on what the caller left there. */
        if (depth == 1 && (w & 7) != 0)
            row[stride] &= (unsigned char)(0xff << (8 - (w & 7)));
    }
    z_n = compressBound((uLong)raw_n);
    z = xmalloc(z_n);
    rc = compress2(z, &z_n, raw, (uLong)raw_n, Z_BEST_COMPRESSION);
    if (rc != Z_OK) {
        rc = rc == Z_MEM_ERROR ? -ENOMEM : -EIO;
        goto out;
    }
    put_be32(ihdr, w);
    put_be32(ihdr + 4, h);
    ihdr[8] = (unsigned char)depth;
    ihdr[9] = 0;  /* colour type: grayscale */
    ihdr[10] = 0; /* compression: deflate */
    ihdr[11] = 0; /* filter method 0 */
    ihdr[12] = 0; /* no interlace */
    rc = buf_append(out, png_sig, sizeof(png_sig));
    if (rc == 0)
        rc = put_chunk(out, "IHDR", ihdr, sizeof(ihdr));
    if (rc == 0)
        rc = put_chunk(out, "IDAT", z, (uint32_t)z_n);
    if (rc == 0)
        rc = put_chunk(out, "IEND", NULL, 0);
out:
    if (rc < 0 && out->p != NULL) {
        out->n = n0;
        out->p[n0] = '\0';
    }
    free(raw);
    free(z);
    return rc;
}
