/* fuzz_post.c -- browser POST uploads on arbitrary bytes: the
 * multipart/form-data reader (http/http_form.c) and the policy document
 * (s3/s3_post_policy.c). Checked: the reader never hands out more bytes
 * than it was given, nor consumes more than exists; a refused policy says
 * why and keeps no conditions; a check answers only OK or AccessDenied with
 * a message. ASan and UBSan do the rest.
 *
 * Input: a Content-Type line ("multipart/form-data; boundary=..."; when it
 * names no valid boundary, "b" is used), then the body. The body is read in
 * pieces of 1 to 64 bytes (from the first byte). A "policy" field is
 * decoded and checked against the fields; the body after the Content-Type
 * line is also parsed as a policy's JSON text. */
#include "common.h"
#include "http/http_form.h"
#include "s3/s3_post.h"
#include "util/arena.h"
#include "util/enc.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_IN 65536

static void
trap_unless(bool ok)
{
    if (!ok)
        __builtin_trap();
}

struct mem {
    const uint8_t *p;
    size_t n, off, step;
};

static ssize_t
mem_read(void *arg, void *p, size_t n)
{
    struct mem *m = arg;
    size_t k = m->n - m->off;

    if (k > n)
        k = n;
    if (k > m->step)
        k = m->step;
    memcpy(p, m->p + m->off, k);
    m->off += k;
    return (ssize_t)k;
}

static void
check_policy(struct arena *a, const struct s3_post_policy *p, const struct s3_post_form *fm,
             int64_t size)
{
    const char *msg = NULL;
    enum s3_err err = s3_post_policy_check(a, p, fm, STR_LIT("bkt"), size & 1, 1700000000, &msg);

    trap_unless(err == S3E_OK || (err == S3E_ACCESS_DENIED && msg != NULL));
    err = s3_post_size_check(p, size);
    trap_unless(err == S3E_OK || err == S3E_ENTITY_TOO_SMALL || err == S3E_ENTITY_TOO_LARGE);
    trap_unless(err != S3E_OK || size <= s3_post_policy_max(p));
}

static void
parse_policy(struct arena *a, struct str b64, const struct s3_post_form *fm, int64_t size)
{
    struct s3_post_policy p;
    const char *msg = NULL;
    enum s3_err err = s3_post_policy_parse(a, b64, &p, &msg);

    if (err != S3E_OK) {
        trap_unless(err == S3E_INVALID_POLICY_DOCUMENT && msg != NULL && p.n == 0);
        return;
    }
    trap_unless(p.n <= S3_POST_MAX_CONDITIONS);
    check_policy(a, &p, fm, size);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const struct http_form_limits lim = {
        .max_field_bytes = S3_POST_MAX_FIELD_BYTES,
        .max_head_bytes = S3_POST_MAX_HEAD_BYTES,
        .max_parts = S3_POST_MAX_FIELDS,
    };
    const uint8_t *nl;
    struct str ct, boundary, body;
    struct s3_post_form *fm;
    struct http_form *f;
    struct http_form_part part;
    struct arena *a;
    struct mem m;
    int64_t file_bytes = 0;
    int rc;

    if (size == 0 || size > MAX_IN)
        return 0;
    nl = memchr(data, '\n', size);
    ct = str_make((const char *)data, nl ? (size_t)(nl - data) : size);
    body = nl ? str_make((const char *)nl + 1, size - ct.n - 1) : STR_LIT("");
    if (http_form_boundary(ct, &boundary) < 0)
        boundary = STR_LIT("b");
    trap_unless(boundary.n >= 1 && boundary.n <= HTTP_FORM_MAX_BOUNDARY);
    a = arena_new();
    fm = arena_zalloc(a, sizeof(*fm));
    m = (struct mem){(const uint8_t *)body.p, body.n, 0, (size_t)data[0] % 64 + 1};
    f = http_form_new(boundary, &lim, mem_read, &m);
    for (;;) {
        rc = http_form_next(f, a, "file", &part);
        if (rc != 0)
            break;
        trap_unless(part.name.p != NULL && part.value.n <= body.n);
        if (s3_post_field_add(a, fm, part.name, part.value) < 0)
            break;
    }
    trap_unless(rc == 0 || rc == 1 || rc == -ENOENT || rc == -EMSGSIZE || rc == -EBADMSG);
    if (rc == 1) {
        char buf[1024];
        ssize_t got;
        struct str key = STR_NULL, k0 = s3_post_field(fm, "key");
        if (k0.p != NULL && s3_post_expand_key(a, k0, part.filename, &key) == 0)
            trap_unless(key.n <= S3_MAX_KEY_BYTES);
        while ((got = http_form_read(f, buf, (size_t)data[0] % sizeof(buf) + 1)) > 0)
            file_bytes += got;
        trap_unless(got == 0 || got == -EBADMSG);
        trap_unless(file_bytes <= (int64_t)body.n);
    }
    trap_unless(http_form_consumed(f) <= body.n);
    http_form_free(f);
    if (s3_post_field(fm, "policy").p != NULL)
        parse_policy(a, s3_post_field(fm, "policy"), fm, file_bytes);
    /* The body itself as a policy's JSON text. */
    char *b64 = arena_alloc(a, body.n / 3 * 4 + 8);
    parse_policy(a, str_make(b64, b64_encode(body.p, body.n, b64)), fm, file_bytes);
    arena_free(a);
    return 0;
}
