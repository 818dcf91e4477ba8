/* seal.c -- AES-256-GCM sealing of secrets with OpenSSL EVP. A fresh random
 * 96-bit nonce per message; with one master key and at most millions of
 * sealed secrets the nonce-collision probability stays negligible. */
#include "common.h"
#include "crypto/seal.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <pthread.h>

/* AES-256-GCM, fetched from the provider once: every authenticated request
 * unseals its secret, and EVP_aes_256_gcm() would fetch (under a lock
 * shared by all threads) on each EVP_*Init_ex(). */
static EVP_CIPHER *gcm;
static pthread_once_t gcm_once = PTHREAD_ONCE_INIT;

static void
gcm_fetch(void)
{
    gcm = EVP_CIPHER_fetch(NULL, "AES-256-GCM", NULL);
    ASSERT(gcm != NULL);
}

/* Drops whatever was appended after old bytes, wiping it first. */
static void
truncate_to(struct buf *out, size_t old)
{
    if (out->p == NULL)
        return;
    OPENSSL_cleanse(out->p + old, out->n - old);
    out->n = old;
    out->p[old] = '\0';
}

int
seal(const unsigned char key[SEAL_KEY_LEN], struct str plain, struct buf *out)
{
    EVP_CIPHER_CTX *ctx = NULL;
    unsigned char nonce[SEAL_NONCE_LEN];
    unsigned char tag[SEAL_TAG_LEN];
    size_t old = out->n;
    unsigned char *ct;
    int len, rc = -EIO;

    if (plain.n > INT_MAX - SEAL_OVERHEAD)
        return -E2BIG;
    if (out->n > out->max || out->max - out->n < plain.n + SEAL_OVERHEAD)
        return -E2BIG;
    if (RAND_bytes(nonce, sizeof(nonce)) != 1)
        return -EIO;
    /* Copy the plaintext in and encrypt it in place: GCM is a stream mode,
     * for which OpenSSL allows in == out. */
    rc = buf_append(out, nonce, sizeof(nonce));
    if (rc == 0)
        rc = buf_append(out, plain.p ? plain.p : "", plain.n);
    if (rc < 0)
        goto out;
    rc = -EIO;
    ct = (unsigned char *)out->p + old + SEAL_NONCE_LEN;
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        goto out;
    pthread_once(&gcm_once, gcm_fetch);
    if (EVP_EncryptInit_ex(ctx, gcm, NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) != 1 ||
        EVP_EncryptInit_ex(ctx, NULL, NULL, key, nonce) != 1)
        goto out;
    if (plain.n > 0 && EVP_EncryptUpdate(ctx, ct, &len, ct, (int)plain.n) != 1)
        goto out;
    if (EVP_EncryptFinal_ex(ctx, ct + plain.n, &len) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, SEAL_TAG_LEN, tag) != 1)
        goto out;
    rc = buf_append(out, tag, sizeof(tag));
out:
    if (rc < 0)
        truncate_to(out, old);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}

int
unseal(const unsigned char key[SEAL_KEY_LEN], struct str sealed, struct buf *out)
{
    EVP_CIPHER_CTX *ctx = NULL;
    const unsigned char *in = (const unsigned char *)sealed.p;
    unsigned char tag[SEAL_TAG_LEN];
    size_t old = out->n, n;
    unsigned char *pt;
    int len, rc;

    if (sealed.p == NULL || sealed.n < SEAL_OVERHEAD)
        return -EBADMSG;
    n = sealed.n - SEAL_OVERHEAD;
    if (n > INT_MAX)
        return -E2BIG;
    memcpy(tag, in + SEAL_NONCE_LEN + n, SEAL_TAG_LEN);
    rc = buf_append(out, in + SEAL_NONCE_LEN, n);
    if (rc < 0)
        return rc;
    rc = -EIO;
    pt = (unsigned char *)out->p + old;
    ctx = EVP_CIPHER_CTX_new();
    if (ctx == NULL)
        goto out;
    pthread_once(&gcm_once, gcm_fetch);
    if (EVP_DecryptInit_ex(ctx, gcm, NULL, NULL, NULL) != 1 ||
        EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_IVLEN, SEAL_NONCE_LEN, NULL) != 1 ||
        EVP_DecryptInit_ex(ctx, NULL, NULL, key, in) != 1)
        goto out;
    if (n > 0 && EVP_DecryptUpdate(ctx, pt, &len, pt, (int)n) != 1)
        goto out;
    if (EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, SEAL_TAG_LEN, tag) != 1)
        goto out;
    /* The tag is checked here; nothing decrypted is kept unless it matches. */
    rc = EVP_DecryptFinal_ex(ctx, pt + n, &len) == 1 ? 0 : -EBADMSG;
out:
    if (rc < 0)
        truncate_to(out, old);
    EVP_CIPHER_CTX_free(ctx);
    return rc;
}
