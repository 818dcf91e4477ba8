/* cksum.h -- the S3 "flexible checksums", computed while data streams:
 * CRC32 (zlib), CRC32C (ISA-L), CRC64NVME (own table code), SHA-1, SHA-256.
 * The digest is the raw big-endian value S3 base64-encodes in
 * x-amz-checksum-<algo> headers, e.g. CRC32 of "" is 00 00 00 00 ("AAAAAA=="). */
#ifndef COFFER_CRYPTO_CKSUM_H
#define COFFER_CRYPTO_CKSUM_H

#include <stddef.h>
#include <stdint.h>

#include "util/str.h"

#define CKSUM_MAX_LEN 32

enum cksum_algo {
    CKSUM_NONE,
    CKSUM_CRC32,
    CKSUM_CRC32C,
    CKSUM_CRC64NVME,
    CKSUM_SHA1,
    CKSUM_SHA256
};

struct hash;

/* A running checksum; the caller stack-allocates it. SHA variants hold an
 * owned digest context, released by cksum_final() or cksum_free(). */
struct cksum {
    enum cksum_algo algo;
    uint64_t crc;   /* CRC32/CRC32C: finished value so far; CRC64NVME: raw register */
    struct hash *h; /* CKSUM_SHA1, CKSUM_SHA256 */
};

void cksum_init(struct cksum *c, enum cksum_algo a); /* CKSUM_NONE is a valid no-op */
void cksum_update(struct cksum *c, const void *p, size_t n);
/* Writes the big-endian digest (4, 4, 8, 20 or 32 bytes; 0 for CKSUM_NONE) to
 * out and returns its length. Releases what c holds; c may be re-initialised. */
size_t cksum_final(struct cksum *c, unsigned char out[CKSUM_MAX_LEN]);
/* Releases an abandoned checksum; harmless after cksum_final() or on a
 * zeroed struct. */
void cksum_free(struct cksum *c);

/* "CRC32", "crc32c", ... (ASCII case-insensitive); CKSUM_NONE if unknown. */
enum cksum_algo cksum_from_name(struct str s);
/* "x-amz-checksum-crc32", ... (case-insensitive); CKSUM_NONE if unknown. */
enum cksum_algo cksum_from_header(struct str name);
/* "CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256"; NULL for CKSUM_NONE. */
const char *cksum_name(enum cksum_algo a);
/* "x-amz-checksum-crc32", ...; NULL for CKSUM_NONE. */
const char *cksum_header(enum cksum_algo a);
/* Digest length in bytes; 0 for CKSUM_NONE. */
size_t cksum_len(enum cksum_algo a);

#endif
