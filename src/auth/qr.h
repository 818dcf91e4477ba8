/* qr.h -- TOTP enrolment material: the otpauth:// key URI authenticator apps
 * read, and that text as a QR code, either a PNG (IAM CreateVirtualMFADevice,
 * QRCodePNG) or Unicode half blocks for a terminal (`coffer mfa enroll`).
 * QR encoding is libqrencode's (byte mode, error correction level M). The
 * URI holds the seed: callers must never log it or what is built from it. */
#ifndef COFFER_AUTH_QR_H
#define COFFER_AUTH_QR_H

#include <stdbool.h>

#include "util/buf.h"
#include "util/str.h"

#define QR_MAX_TEXT 1024 /* bytes of text a code may carry (version 40-M holds 2331) */
#define QR_ISSUER "Coffer"

/* Appends otpauth://totp/{device}@{account}?secret={secret_b32}&issuer=Coffer
 * to out: IAM's label form [spec-mfa-delete §7.4], with device and account
 * percent-encoded (RFC 3986 unreserved characters kept) so names with '@',
 * ':' or spaces cannot change how the label splits. secret_b32 must be
 * upper-case RFC 4648 base32 without padding. 0, -EINVAL (empty device,
 * account or secret; a secret outside [A-Z2-7]), -E2BIG past out's maximum
 * (out is then left as it was). */
int qr_otpauth_uri(struct str device, struct str account, struct str secret_b32, struct buf *out);

/* Encodes text as a QR code and appends a 1-bit grayscale PNG to out: each
 * module scale x scale pixels (1..32), a quiet zone of border modules
 * (0..16; 4 is the standard's) on every side, dark modules black.
 * 0, -EINVAL (empty text, or scale/border out of range), -ERANGE (text over
 * QR_MAX_TEXT), -E2BIG past out's maximum (out left as it was), -ENOMEM. */
int qr_png(struct str text, int scale, int border, struct buf *out);

/* Encodes text as a QR code for a terminal and appends it to out: two module
 * rows per text line drawn with U+2580/U+2584/U+2588 half and full blocks,
 * a 4-module quiet zone, and ANSI colours that set black on white for every
 * line (reset at each line end), so the code scans on dark and light
 * terminal themes alike. invert draws the light modules as blocks instead,
 * white on black: for dark terminals that ignore the colours. Lines end
 * with "\n". Same returns as qr_png(). */
int qr_terminal(struct str text, bool invert, struct buf *out);

#endif
