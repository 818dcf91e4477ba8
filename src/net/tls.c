/* tls.c -- OpenSSL memory-BIO connections and self-signed certificates.
 * Everything here runs on the loop thread; SSL objects are never shared. */
#include "common.h"
#include "net/tls.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

struct tls_ctx {
    SSL_CTX *ssl_ctx;
};

struct tls_conn {
    SSL *ssl;
    BIO *rbio, *wbio; /* owned by ssl */
};

static void
log_ssl_errors(const char *what)
{
    unsigned long e;
    char msg[256];

    while ((e = ERR_get_error()) != 0) {
        ERR_error_string_n(e, msg, sizeof(msg));
        log_warn("tls: %s: %s", what, msg);
    }
}

static EVP_PKEY *
gen_key(void)
{
    return EVP_EC_gen("P-256");
}

static int
add_ext(X509 *cert, X509 *issuer, int nid, const char *value)
{
    X509V3_CTX v3;
    X509_EXTENSION *ext;

    X509V3_set_ctx_nodb(&v3);
    X509V3_set_ctx(&v3, issuer, cert, NULL, NULL, 0);
    ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value);
    if (ext == NULL)
        return -EINVAL;
    X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return 0;
}

static X509 *
make_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *issuer_key, int is_ca)
{
    X509 *cert = X509_new();
    unsigned char serial[16];
    BIGNUM *bn = NULL;

    if (cert == NULL)
        return NULL;
    X509_set_version(cert, 2);
    if (RAND_bytes(serial, sizeof(serial)) != 1)
        goto fail;
    serial[0] &= 0x7f;
    bn = BN_bin2bn(serial, sizeof(serial), NULL);
    if (bn == NULL || BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) == NULL)
        goto fail;
    X509_gmtime_adj(X509_getm_notBefore(cert), -3600);
    X509_gmtime_adj(X509_getm_notAfter(cert), (long)3650 * 24 * 3600);
    X509_set_pubkey(cert, key);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "O", MBSTRING_ASC,
                               (const unsigned char *)"Coffer", -1, -1, 0);
    X509_NAME_add_entry_by_txt(X509_get_subject_name(cert), "CN", MBSTRING_ASC,
                               (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(cert, issuer ? X509_get_subject_name(issuer)
                                      : X509_get_subject_name(cert));
    if (is_ca) {
        if (add_ext(cert, cert, NID_basic_constraints, "critical,CA:TRUE") < 0 ||
            add_ext(cert, cert, NID_key_usage, "critical,keyCertSign,cRLSign") < 0 ||
            add_ext(cert, cert, NID_subject_key_identifier, "hash") < 0)
            goto fail;
    } else {
        if (add_ext(cert, issuer, NID_basic_constraints, "critical,CA:FALSE") < 0 ||
            add_ext(cert, issuer, NID_key_usage, "critical,digitalSignature,keyEncipherment") < 0 ||
            add_ext(cert, issuer, NID_ext_key_usage, "serverAuth") < 0 ||
            add_ext(cert, issuer, NID_subject_key_identifier, "hash") < 0 ||
            add_ext(cert, issuer, NID_authority_key_identifier, "keyid") < 0 ||
            add_ext(cert, issuer, NID_subject_alt_name,
                    "DNS:localhost,DNS:*.localhost,IP:127.0.0.1,IP:::1") < 0)
            goto fail;
    }
    if (X509_sign(cert, issuer_key, EVP_sha256()) == 0)
        goto fail;
    BN_free(bn);
    return cert;
fail:
    BN_free(bn);
    X509_free(cert);
    return NULL;
}

static int
write_pem(const char *path, X509 *c1, X509 *c2, EVP_PKEY *key)
{
    char tmp[PATH_MAX];
    FILE *fp;
    int fd, ok = 1;

    snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, key ? 0600 : 0644);
    if (fd < 0)
        return -errno;
    fp = fdopen(fd, "w");
    if (fp == NULL) {
        close(fd);
        return -errno;
    }
    if (c1)
        ok &= PEM_write_X509(fp, c1);
    if (c2)
        ok &= PEM_write_X509(fp, c2);
    if (key)
        ok &= PEM_write_PrivateKey(fp, key, NULL, NULL, 0, NULL, NULL);
    ok &= fflush(fp) == 0 && fsync(fileno(fp)) == 0;
    ok &= fclose(fp) == 0;
    if (!ok || rename(tmp, path) < 0) {
        unlink(tmp);
        return -EIO;
    }
    return 0;
}

int
tls_ensure_self_signed(const char *dir)
{
    char tdir[PATH_MAX - 16], ca_path[PATH_MAX], cert_path[PATH_MAX], key_path[PATH_MAX];
    EVP_PKEY *ca_key = NULL, *key = NULL;
    X509 *ca = NULL, *cert = NULL;
    int rc = -EIO;

    snprintf(tdir, sizeof(tdir), "%s/tls", dir);
    snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", tdir);
    snprintf(cert_path, sizeof(cert_path), "%s/cert.pem", tdir);
    snprintf(key_path, sizeof(key_path), "%s/key.pem", tdir);
    if (access(cert_path, R_OK) == 0 && access(key_path, R_OK) == 0)
        return 0;
    if (mkdir(tdir, 0700) < 0 && errno != EEXIST)
        return -errno;
    ca_key = gen_key();
    key = gen_key();
    if (ca_key == NULL || key == NULL)
        goto out;
    ca = make_cert(ca_key, "Coffer local CA", NULL, ca_key, 1);
    if (ca == NULL)
        goto out;
    cert = make_cert(key, "localhost", ca, ca_key, 0);
    if (cert == NULL)
        goto out;
    /* Key first: a cert without its key would be a broken pair on restart. */
    rc = write_pem(key_path, NULL, NULL, key);
    if (rc == 0)
        rc = write_pem(ca_path, ca, NULL, NULL);
    if (rc == 0)
        rc = write_pem(cert_path, cert, ca, NULL);
    if (rc == 0)
        log_info("tls: generated a self-signed certificate in %s (CA: %s)", tdir, ca_path);
out:
    if (rc < 0)
        log_ssl_errors("generating certificate");
    X509_free(ca);
    X509_free(cert);
    EVP_PKEY_free(ca_key);
    EVP_PKEY_free(key);
    return rc;
}

int
tls_ctx_new(const char *cert_path, const char *key_path, struct tls_ctx **out)
{
    SSL_CTX *sc = SSL_CTX_new(TLS_server_method());

    if (sc == NULL)
        return -ENOMEM;
    SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION);
    SSL_CTX_set_options(sc, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
    SSL_CTX_set_mode(sc, SSL_MODE_RELEASE_BUFFERS);
    /* TLS 1.2: forward-secret AEAD suites only (no CBC, no static RSA);
     * TLS 1.3 suites are all AEAD already. */
    if (SSL_CTX_set_cipher_list(sc, "ECDHE+AESGCM:ECDHE+CHACHA20:!aNULL") != 1) {
        log_ssl_errors("setting cipher suites");
        SSL_CTX_free(sc);
        return -EINVAL;
    }
    if (SSL_CTX_use_certificate_chain_file(sc, cert_path) != 1 ||
        SSL_CTX_use_PrivateKey_file(sc, key_path, SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(sc) != 1) {
        log_ssl_errors("loading certificate");
        SSL_CTX_free(sc);
        return -EINVAL;
    }
    *out = xmalloc(sizeof(**out));
    (*out)->ssl_ctx = sc;
    return 0;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
    if (ctx == NULL)
        return;
    SSL_CTX_free(ctx->ssl_ctx);
    free(ctx);
}

struct tls_conn *
tls_conn_new(struct tls_ctx *ctx)
{
    struct tls_conn *t = xcalloc(1, sizeof(*t));

    t->ssl = SSL_new(ctx->ssl_ctx);
    ASSERT(t->ssl != NULL);
    t->rbio = BIO_new(BIO_s_mem());
    t->wbio = BIO_new(BIO_s_mem());
    ASSERT(t->rbio != NULL && t->wbio != NULL);
    BIO_set_mem_eof_return(t->rbio, -1);
    SSL_set_bio(t->ssl, t->rbio, t->wbio);
    SSL_set_accept_state(t->ssl);
    return t;
}

void
tls_conn_free(struct tls_conn *t)
{
    if (t == NULL)
        return;
    SSL_free(t->ssl);
    free(t);
}

int
tls_conn_feed(struct tls_conn *t, const char *p, size_t n)
{
    while (n > 0) {
        int w = BIO_write(t->rbio, p, n > INT_MAX ? INT_MAX : (int)n);
        if (w <= 0)
            return -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

int
tls_conn_read(struct tls_conn *t, char *out, size_t cap)
{
    int r = SSL_read(t->ssl, out, cap > INT_MAX ? INT_MAX : (int)cap);

    if (r > 0)
        return r;
    switch (SSL_get_error(t->ssl, r)) {
    case SSL_ERROR_WANT_READ:
    case SSL_ERROR_WANT_WRITE:
        return 0;
    case SSL_ERROR_ZERO_RETURN:
        return -EPIPE;
    default:
        ERR_clear_error();
        return -EIO;
    }
}

int
tls_conn_write(struct tls_conn *t, const char *p, size_t n)
{
    while (n > 0) {
        int w = SSL_write(t->ssl, p, n > INT_MAX ? INT_MAX : (int)n);
        if (w <= 0) {
            ERR_clear_error();
            return -EIO;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

size_t
tls_conn_take_out(struct tls_conn *t, struct buf *out)
{
    size_t total = 0;
    char tmp[16384];
    int r;

    while ((r = BIO_read(t->wbio, tmp, sizeof(tmp))) > 0) {
        if (buf_append(out, tmp, (size_t)r) < 0)
            break;
        total += (size_t)r;
    }
    return total;
}

int
tls_conn_version(const struct tls_conn *t)
{
    switch (SSL_version(t->ssl)) {
    case TLS1_2_VERSION:
        return 12;
    case TLS1_3_VERSION:
        return 13;
    default:
        return 0;
    }
}

int
tls_conn_handshake_done(const struct tls_conn *t)
{
    return SSL_is_init_finished(t->ssl);
}
