/* hash.h -- MD5, SHA-1, SHA-256, HMAC and random bytes: thin OpenSSL 3 EVP
 * wrappers. No OpenSSL type appears here. Allocation failure inside OpenSSL
 * aborts (as xmalloc does); nothing else can fail except rand_bytes(). */
#ifndef COFFER_CRYPTO_HASH_H
#define COFFER_CRYPTO_HASH_H

#include <stddef.h>

#define HASH_MAX_LEN 32 /* largest digest: SHA-256 */

enum hash_algo { HASH_MD5, HASH_SHA1, HASH_SHA256 };

struct hash; /* opaque streaming digest */

/* One-shot digests and MACs; out receives the raw (binary) digest. */
void sha256(const void *p, size_t n, unsigned char out[32]);
void hmac_sha256(const void *key, size_t kn, const void *msg, size_t mn, unsigned char out[32]);
void hmac_sha1(const void *key, size_t kn, const void *msg, size_t mn, unsigned char out[20]);

/* Digest length in bytes of a: 16, 20 or 32. */
size_t hash_len(enum hash_algo a);

/* Streaming digest. Caller owns the result and ends it with hash_final()
 * (which frees it) or hash_free() (for an abandoned one). */
struct hash *hash_new(enum hash_algo a);
void hash_update(struct hash *h, const void *p, size_t n);
/* Writes the digest to out (HASH_MAX_LEN bytes suffice), frees h and returns
 * the digest length. */
size_t hash_final(struct hash *h, unsigned char *out);
void hash_free(struct hash *h); /* NULL ok */

/* Fills p with n bytes from the CSPRNG: 0, or -EIO if it is not seeded. */
int rand_bytes(void *p, size_t n);

/* n uniformly random characters of alphabet (1 to 256 of them) into out,
 * NUL-terminated (n + 1 bytes): 0, or -EIO as rand_bytes(). */
int rand_chars(char *out, size_t n, const char *alphabet);

#endif
