/* png.h -- a minimal PNG encoder for grayscale images (QR codes for
 * IAM CreateVirtualMFADevice and the admin CLI). One IHDR, one IDAT (zlib
 * deflate), one IEND; no filtering (filter type 0 on every row), no
 * interlacing, no ancillary chunks. Not a decoder, no colour, no alpha. */
#ifndef COFFER_UTIL_PNG_H
#define COFFER_UTIL_PNG_H

#include <stdint.h>

#include "util/buf.h"

#define PNG_MAX_DIM 4096 /* width and height cap: the raw image stays under 17 MB */

/* Encodes a w x h grayscale image and appends the PNG file to out.
 * depth 8: pix holds h rows of w bytes (0 black .. 255 white).
 * depth 1: pix holds h rows of (w + 7) / 8 bytes, pixels packed from the
 * most significant bit, 1 = white, 0 = black; unused low bits of a row's
 * last byte are ignored (written as 0).
 * Returns 0, -EINVAL (dimensions 0 or above PNG_MAX_DIM, depth not 1 or 8),
 * -E2BIG (out's maximum would be passed; out is left as it was), -ENOMEM or
 * -EIO if zlib fails. */
int png_encode_gray(const unsigned char *pix, uint32_t w, uint32_t h, int depth, struct buf *out);

#endif
