/* hash.c -- digests, HMAC and randomness on OpenSSL 3. OpenSSL only fails
 * these calls on allocation failure or a broken installation, both of which
 * abort, like xmalloc. */
#include "crypto/hash.h"
#include "common.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

struct hash {
    EVP_MD_CTX *ctx;
    size_t len;
};

/* The digests, fetched from the provider once. The implicit fetch behind
 * EVP_sha256() and HMAC() takes global locks and allocates on every call:
 * at tens of thousands of signed requests per second that was the largest
 * cost of SigV4 after SQLite. */
static EVP_MD *mds[3];
/* One reusable context per thread for the one-shot digests and HMACs,
 * freed when the thread exits. */
static pthread_key_t ctx_key;
static pthread_once_t mds_once = PTHREAD_ONCE_INIT;

static void
ctx_free(void *ctx)
{
    EVP_MD_CTX_free(ctx);
}

static void
mds_fetch(void)
{
    static const char *const names[3] = {"MD5", "SHA1", "SHA256"};

    for (int i = 0; i < 3; i++) {
        mds[i] = EVP_MD_fetch(NULL, names[i], NULL);
        ASSERT(mds[i] != NULL);
    }
    ASSERT(pthread_key_create(&ctx_key, ctx_free) == 0);
}

static const EVP_MD *
md_of(enum hash_algo a)
{
    pthread_once(&mds_once, mds_fetch);
    switch (a) {
    case HASH_MD5:
        return mds[0];
    case HASH_SHA1:
        return mds[1];
    case HASH_SHA256:
        return mds[2];
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

static EVP_MD_CTX *
thread_ctx(void)
{
    EVP_MD_CTX *ctx;

    pthread_once(&mds_once, mds_fetch);
    ctx = pthread_getspecific(ctx_key);
    if (ctx == NULL) {
        ctx = EVP_MD_CTX_new();
        ASSERT(ctx != NULL && pthread_setspecific(ctx_key, ctx) == 0);
    }
    return ctx;
}

static void
digest2(const EVP_MD *md, const void *a, size_t an, const void *b, size_t bn,
        unsigned char *out, unsigned int want)
{
    EVP_MD_CTX *ctx = thread_ctx();
    unsigned int len = 0;
    int rc = EVP_DigestInit_ex2(ctx, md, NULL);

    rc &= EVP_DigestUpdate(ctx, a, an);
    if (bn > 0)
        rc &= EVP_DigestUpdate(ctx, b, bn);
    rc &= EVP_DigestFinal_ex(ctx, out, &len);
    ASSERT(rc == 1 && len == want);
}

void
sha256(const void *p, size_t n, unsigned char out[32])
{
    digest2(md_of(HASH_SHA256), p, n, NULL, 0, out, 32);
}

/* HMAC (RFC 2104) for digests with 64-byte blocks:
 * H((K ^ opad) || H((K ^ ipad) || msg)). */
static void
hmac(enum hash_algo a, const void *key, size_t kn, const void *msg, size_t mn, unsigned char *out,
     unsigned int want)
{
    const EVP_MD *md = md_of(a);
    unsigned char k[64] = {0}, pad[64], inner[32];

    if (kn > sizeof(k))
        digest2(md, key, kn, NULL, 0, k, want);
    else if (kn > 0)
        memcpy(k, key, kn);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x36;
    digest2(md, pad, sizeof(pad), msg, mn, inner, want);
    for (size_t i = 0; i < sizeof(pad); i++)
        pad[i] = k[i] ^ 0x5c;
    digest2(md, pad, sizeof(pad), inner, want, out, want);
    OPENSSL_cleanse(k, sizeof(k));
    OPENSSL_cleanse(pad, sizeof(pad));
    OPENSSL_cleanse(inner, sizeof(inner));
}

void
hmac_sha256(const void *key, size_t kn, const void *msg, size_t mn, unsigned char out[32])
{
    hmac(HASH_SHA256, key, kn, msg, mn, out, 32);
}

void
hmac_sha1(const void *key, size_t kn, const void *msg, size_t mn, unsigned char out[20])
{
    hmac(HASH_SHA1, key, kn, msg, mn, out, 20);
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

int
rand_chars(char *out, size_t n, const char *alphabet)
{
    size_t n_alpha = strlen(alphabet), i = 0;
    unsigned char r[64];
    unsigned limit;
    int rc = 0;

    ASSERT(n_alpha > 0 && n_alpha <= 256);
    /* Bytes at or above the largest multiple of the alphabet size are
     * dropped, so every character is equally likely (no modulo bias). */
    limit = 256 - 256 % (unsigned)n_alpha;
    while (i < n) {
        rc = rand_bytes(r, sizeof(r));
        if (rc < 0)
            break;
        for (size_t j = 0; j < sizeof(r) && i < n; j++)
            if (r[j] < limit)
                out[i++] = alphabet[r[j] % n_alpha];
    }
    OPENSSL_cleanse(r, sizeof(r));
    out[n] = '\0';
    return rc;
}
