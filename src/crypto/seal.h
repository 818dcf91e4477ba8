/* seal.h -- authenticated encryption of small secrets at rest (AES-256-GCM).
 * Used for access-key secrets and MFA seeds in the metadata store; not for
 * object data, and not a general-purpose crypto API. */
#ifndef COFFER_CRYPTO_SEAL_H
#define COFFER_CRYPTO_SEAL_H

#include "util/buf.h"
#include "util/str.h"

#define SEAL_KEY_LEN 32
#define SEAL_NONCE_LEN 12
#define SEAL_TAG_LEN 16
#define SEAL_OVERHEAD (SEAL_NONCE_LEN + SEAL_TAG_LEN)

/* Appends nonce (12 random bytes) || ciphertext || tag (16 bytes) to out,
 * plain.n + SEAL_OVERHEAD bytes in all. 0, -E2BIG past out's max (out is
 * then unchanged), -EIO if OpenSSL fails. */
int seal(const unsigned char key[SEAL_KEY_LEN], struct str plain, struct buf *out);
/* Reverses seal(): appends the plaintext to out. 0, -EBADMSG if sealed is
 * truncated, was tampered with or was sealed under another key (out is then
 * unchanged), -E2BIG, -EIO. The caller should OPENSSL_cleanse() the plaintext
 * when done with it. */
int unseal(const unsigned char key[SEAL_KEY_LEN], struct str sealed, struct buf *out);

#endif
