/* hash.c -- digests, HMAC and randomness on OpenSSL 3. OpenSSL only fails
 * these calls on allocation failure or a broken installation, both of which
 * abort, like xmalloc. */
#include "crypto/hash.h"
#include "common.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <limits.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

struct hash {
    EVP_MD_CTX *ctx;
    size_t len;
};

static const EVP_MD *
md_of(enum hash_algo a)
{
    switch (a) {
    case HASH_MD5:
        return EVP_md5();
    case HASH_SHA1:
        return EVP_sha1();
    case HASH_SHA256:
        return EVP_sha256();
    }
    ASSERT(!"unknown hash_algo");
    return NULL;
}

size_t
hash_len(enum hash_algo a)
{
    switch (a) {
    case HASH_MD5:
        return 16;
    case HASH_SHA1:
        return 20;
    case HASH_SHA256:
        return 32;
    }
    ASSERT(!"unknown hash_algo");
    return 0;
}

void
sha256(const void *p, size_t n, unsigned char out[32])
{
    unsigned int len = 0;
    int rc = EVP_Digest(p, n, out, &len, EVP_sha256(), NULL);

    ASSERT(rc == 1 && len == 32);
}

static void
hmac(const EVP_MD *md, const void *key, size_t kn, const void *msg, size_t mn, unsigned char *out,
     unsigned int want)
{
    unsigned int len = 0;
    unsigned char *r;

    /* HMAC() takes an int key length; keys here are secrets and derived
     * keys, never client-sized, so a huge one is a programmer error. */
    ASSERT(kn <= INT_MAX);
    r = HMAC(md, key, (int)kn, msg, mn, out, &len);
    ASSERT(r != NULL && len == want);
}

void
hmac_sha256(const void *key, size_t kn, const void *msg, size_t mn, unsigned char out[32])
{
    hmac(EVP_sha256(), key, kn, msg, mn, out, 32);
}

void
hmac_sha1(const void *key, size_t kn, const void *msg, size_t mn, unsigned char out[20])
{
    hmac(EVP_sha1(), key, kn, msg, mn, out, 20);
}

struct hash *
hash_new(enum hash_algo a)
{
    struct hash *h = xmalloc(sizeof(*h));
    int rc;

    h->ctx = EVP_MD_CTX_new();
    ASSERT(h->ctx != NULL);
    h->len = hash_len(a);
    rc = EVP_DigestInit_ex(h->ctx, md_of(a), NULL);
    ASSERT(rc == 1);
    return h;
}

void
hash_update(struct hash *h, const void *p, size_t n)
{
    int rc;

    if (n == 0)
        return;
    rc = EVP_DigestUpdate(h->ctx, p, n);
    ASSERT(rc == 1);
}

size_t
hash_final(struct hash *h, unsigned char *out)
{
    unsigned int len = 0;
    size_t n = h->len;
    int rc = EVP_DigestFinal_ex(h->ctx, out, &len);

    ASSERT(rc == 1 && len == n);
    hash_free(h);
    return n;
}

void
hash_free(struct hash *h)
{
    if (h == NULL)
        return;
    EVP_MD_CTX_free(h->ctx);
    free(h);
}

int
rand_bytes(void *p, size_t n)
{
    unsigned char *q = p;

    /* RAND_bytes() takes an int; feed larger requests in slices. */
    while (n > 0) {
        int take = n > INT_MAX ? INT_MAX : (int)n;
        if (RAND_bytes(q, take) != 1)
            return -EIO;
        q += take;
        n -= (size_t)take;
    }
    return 0;
}
