/* qr.c -- otpauth:// URIs and their QR codes (PNG or terminal text).
 * libqrencode builds the symbol; this file only lays modules out. Nothing
 * here logs: the text carries a TOTP seed. */
#include "common.h"
#include "auth/qr.h"
#include "util/enc.h"
#include "util/png.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <stdbool.h>
#include <qrencode.h>
#include <string.h>

#define QR_TERM_BORDER 4 /* the quiet zone ISO/IEC 18004 asks for; readers fail on less */

static bool
b32_text_ok(struct str s)
{
    if (s.n == 0)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        char c = s.p[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= '2' && c <= '7')))
            return false;
    }
    return true;
}

int
qr_otpauth_uri(struct str device, struct str account, struct str secret_b32, struct buf *out)
{
    size_t n0 = out->n;
    int rc;

    if (device.n == 0 || account.n == 0 || !b32_text_ok(secret_b32))
        return -EINVAL;
    /* AWS: otpauth://totp/$virtualMFADeviceName@$AccountName?secret=$Base32String
     * [spec-mfa-delete §7.4]; issuer is the Key Uri Format parameter apps
     * show as the service name. */
    rc = buf_append_c(out, "otpauth://totp/");
    if (rc == 0)
        rc = uri_encode(out, device, 0);
    if (rc == 0)
        rc = buf_append_c(out, "@");
    if (rc == 0)
        rc = uri_encode(out, account, 0);
    if (rc == 0)
        rc = buf_append_c(out, "?secret=");
    if (rc == 0)
        rc = buf_append_str(out, secret_b32);
    if (rc == 0)
        rc = buf_append_c(out, "&issuer=" QR_ISSUER);
    if (rc < 0 && out->p != NULL) {
        out->n = n0;
        out->p[n0] = '\0';
    }
    return rc;
}

/* The symbol for text, or NULL with *rc set. Caller frees with QRcode_free. */
static QRcode *
encode(struct str text, int *rc)
{
    QRcode *q;

    if (text.n == 0) {
        *rc = -EINVAL;
        return NULL;
    }
    if (text.n > QR_MAX_TEXT) {
        *rc = -ERANGE;
        return NULL;
    }
    errno = 0;
    q = QRcode_encodeData((int)text.n, (const unsigned char *)text.p, 0, QR_ECLEVEL_M);
    if (q == NULL) {
        *rc = errno == ENOMEM ? -ENOMEM : errno == ERANGE ? -ERANGE : -EINVAL;
        return NULL;
    }
    *rc = 0;
    return q;
}

/* Module (x, y) of the symbol framed by border light modules: 1 = dark. */
static int
dark(const QRcode *q, int border, int x, int y)
{
    x -= border;
    y -= border;
    if (x < 0 || y < 0 || x >= q->width || y >= q->width)
        return 0;
    return q->data[(size_t)y * (size_t)q->width + (size_t)x] & 1;
}

int
qr_png(struct str text, int scale, int border, struct buf *out)
{
    QRcode *q = NULL;
    unsigned char *pix = NULL;
    size_t stride;
    int rc, modules, size;

    if (scale < 1 || scale > 32 || border < 0 || border > 16)
        return -EINVAL;
    q = encode(text, &rc);
    if (q == NULL)
        return rc;
    modules = q->width + 2 * border;
    size = modules * scale;
    if (size > PNG_MAX_DIM) {
        rc = -ERANGE;
        goto out;
    }
    stride = ((size_t)size + 7) / 8;
    pix = xmalloc(stride * (size_t)size);
    memset(pix, 0xff, stride * (size_t)size); /* all white (1 bits) */
    for (int y = 0; y < size; y++) {
        unsigned char *row = pix + (size_t)y * stride;
        for (int x = 0; x < size; x++)
            if (dark(q, border, x / scale, y / scale))
                row[x >> 3] &= (unsigned char)~(0x80 >> (x & 7));
    }
    rc = png_encode_gray(pix, (uint32_t)size, (uint32_t)size, 1, out);
out:
    free(pix);
    QRcode_free(q);
    return rc;
}

int
qr_terminal(struct str text, bool invert, struct buf *out)
{
    /* U+2588 full block, U+2580 upper half, U+2584 lower half, in UTF-8. */
    static const char *const cell[4] = {" ", "\xe2\x96\x80", "\xe2\x96\x84", "\xe2\x96\x88"};
    size_t n0 = out->n;
    QRcode *q;
    int rc, modules;

    q = encode(text, &rc);
    if (q == NULL)
        return rc;
    modules = q->width + 2 * QR_TERM_BORDER;
    for (int y = 0; y < modules && rc == 0; y += 2) {
        /* Black on white, whatever the theme. Inverted, the blocks draw
         * the light modules in white on black: the same picture where the
         * colours are honoured, and a readable one on a dark terminal that
         * ignores them (its glyphs are light). */
        rc = buf_append_c(out, invert ? "\x1b[37;40m" : "\x1b[30;47m");
        for (int x = 0; x < modules && rc == 0; x++) {
            int top = dark(q, QR_TERM_BORDER, x, y) ^ invert;
            int bottom = 0; /* the half row below an odd-sized symbol stays blank */

            if (y + 1 < modules)
                bottom = dark(q, QR_TERM_BORDER, x, y + 1) ^ invert;
            rc = buf_append_c(out, cell[top | bottom << 1]);
        }
        if (rc == 0)
            rc = buf_append_c(out, "\x1b[0m\n");
    }
    if (rc < 0 && out->p != NULL) {
        out->n = n0;
        out->p[n0] = '\0';
    }
    QRcode_free(q);
    return rc;
}
