/* blob_url.c -- parses --blobs URL (blob.h's struct blob_url), strictly:
 * an unknown scheme or parameter, a repeated or empty one, a bad %XX escape
 * or a value too long is refused with a message naming it. */
#include "common.h"
#include "store/blob.h"
#include "util/enc.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RADOS_SCHEME "rados://"
#define FILE_SCHEME "file:"

static int
fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* Decodes the n bytes at p (%XX escapes) into out (cap bytes with the NUL):
 * 0, or -1 for a bad escape, a NUL byte, or a value whose text does not
 * fit (its decoded form is never longer). */
static int
decode(const char *p, size_t n, char *out, size_t cap)
{
    int k;

    if (n >= cap)
        return -1;
    k = uri_decode(str_make(p, n), out);
    if (k < 0 || memchr(out, '\0', (size_t)k) != NULL)
        return -1;
    out[k] = '\0';
    return 0;
}

static bool
pool_name_ok(const char *s)
{
    size_t n = strlen(s);

    return n > 0 && n < 100 &&
           strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") == n;
}

static int
parse_rados(const char *url, struct blob_url *out, char *err, size_t cap)
{
    const char *p = url + strlen(RADOS_SCHEME), *q = strchr(p, '?');
    size_t pool_n = q != NULL ? (size_t)(q - p) : strlen(p);
    bool seen_conf = false, seen_id = false, seen_timeout = false, seen_ns = false;

    out->kind = BLOB_RADOS;
    out->timeout_s = BLOB_RADOS_TIMEOUT_DEFAULT_S;
    snprintf(out->id, sizeof(out->id), "admin");
    if (decode(p, pool_n, out->pool, sizeof(out->pool)) < 0 || !pool_name_ok(out->pool))
        return fail(err, cap,
                    "--blobs %s: the pool name must be 1 to 99 of A-Z a-z 0-9 . _ - "
                    "(rados://POOL?conf=CEPH_CONF)",
                    url);
    p = q != NULL ? q + 1 : p + pool_n;
    while (*p != '\0') {
        const char *amp = strchr(p, '&'), *eq;
        size_t n = amp != NULL ? (size_t)(amp - p) : strlen(p), key_n;
        char *dst, val[BLOB_URL_PATH_MAX];
        size_t dst_cap;
        bool *seen;

        eq = memchr(p, '=', n);
        if (eq == NULL)
            return fail(err, cap, "--blobs %s: parameter '%.*s' has no value", url, (int)n, p);
        key_n = (size_t)(eq - p);
        if (key_n == 4 && memcmp(p, "conf", 4) == 0) {
            dst = out->conf, dst_cap = sizeof(out->conf), seen = &seen_conf;
        } else if (key_n == 2 && memcmp(p, "id", 2) == 0) {
            dst = out->id, dst_cap = sizeof(out->id), seen = &seen_id;
        } else if (key_n == 7 && memcmp(p, "timeout", 7) == 0) {
            dst = val, dst_cap = sizeof(val), seen = &seen_timeout;
        } else if (key_n == 2 && memcmp(p, "ns", 2) == 0) {
            dst = out->ns, dst_cap = sizeof(out->ns), seen = &seen_ns;
        } else {
            return fail(err, cap,
                        "--blobs %s: unknown parameter '%.*s' (known: conf, id, timeout, ns)",
                        url, (int)key_n, p);
        }
        if (*seen)
            return fail(err, cap, "--blobs %s: parameter '%.*s' given twice", url, (int)key_n, p);
        *seen = true;
        if (eq + 1 == p + n || decode(eq + 1, (size_t)(p + n - eq - 1), dst, dst_cap) < 0)
            return fail(err, cap, "--blobs %s: parameter '%.*s' has an empty or bad value", url,
                        (int)key_n, p);
        if (dst == val) {
            char *end;
            long t = strtol(val, &end, 10);

            if (*end != '\0' || end == val || t < 1 || t > 300)
                return fail(err, cap, "--blobs %s: timeout must be 1 to 300 seconds", url);
            out->timeout_s = (int)t;
        }
        p += n;
        if (*p == '&') {
            p++;
            if (*p == '\0')
                return fail(err, cap, "--blobs %s: empty parameter after '&'", url);
        }
    }
    if (!seen_conf)
        return fail(err, cap, "--blobs %s: conf=CEPH_CONF is required (the cluster's ceph.conf)",
                    url);
    if (seen_ns && !pool_name_ok(out->ns))
        return fail(err, cap, "--blobs %s: the namespace must be 1 to 99 of A-Z a-z 0-9 . _ -",
                    url);
    if (strncmp(out->id, "client.", 7) == 0)
        return fail(err, cap, "--blobs %s: id is the client name without 'client.'", url);
    return 0;
}

int
blob_url_parse(const char *url, const char *dir, struct blob_url *out, char *err, size_t cap)
{
    int n;

    memset(out, 0, sizeof(*out));
    if (cap > 0)
        err[0] = '\0';
    if (url == NULL || url[0] == '\0') {
        if (dir == NULL || dir[0] == '\0')
            return fail(err, cap, "no data directory for the default blob store");
        out->kind = BLOB_FILES;
        n = snprintf(out->path, sizeof(out->path), "%s/blobs", dir);
        if (n < 0 || (size_t)n >= sizeof(out->path))
            return fail(err, cap, "data directory path too long");
        snprintf(out->tmp, sizeof(out->tmp), "%s/tmp", dir);
        return 0;
    }
    if (strncmp(url, FILE_SCHEME, strlen(FILE_SCHEME)) == 0) {
        const char *path = url + strlen(FILE_SCHEME);
        char dflt[BLOB_URL_PATH_MAX];

        if (path[0] == '\0')
            return fail(err, cap, "--blobs %s: file: needs a directory (file:PATH)", url);
        if (strlen(path) + sizeof("/.tmp") > sizeof(out->path))
            return fail(err, cap, "--blobs %s: path too long", url);
        /* file:DIR/blobs is the default layout, temp files in DIR/tmp. */
        n = dir != NULL ? snprintf(dflt, sizeof(dflt), "%s/blobs", dir) : -1;
        if (n > 0 && (size_t)n < sizeof(dflt) && strcmp(dflt, path) == 0)
            return blob_url_parse(NULL, dir, out, err, cap);
        out->kind = BLOB_FILES;
        snprintf(out->path, sizeof(out->path), "%s", path);
        snprintf(out->tmp, sizeof(out->tmp), "%s/.tmp", path);
        return 0;
    }
    if (strncmp(url, RADOS_SCHEME, strlen(RADOS_SCHEME)) == 0)
        return parse_rados(url, out, err, cap);
    return fail(err, cap, "--blobs %s: unknown kind (want file:PATH or rados://POOL?conf=FILE)",
                url);
}
