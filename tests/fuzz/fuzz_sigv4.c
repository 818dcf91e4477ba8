/* fuzz_sigv4.c -- request authentication as s3_route.c runs it, without the
 * HTTP layer: sigv2_detect() first, then sigv4_parse(), then the matching
 * verify with a fixed secret (the AWS documentation's example key, so the
 * published examples in the seed corpus verify and the success paths are
 * reached too). Not here: key lookup, the aws-chunked body (fuzz_chunked).
 *
 * Input: lines separated by '\n'. Line 1 is the method, line 2 the
 * request-target ("/path?query", split at the first '?'), every further
 * line a header "Name: value" (the value trimmed, as the HTTP layer does;
 * a line without ':' is skipped). The last byte of the input also picks the
 * server clock relative to the request's own time, so clock skew and
 * expiry are reached on either side. */
#include "auth/sigv2.h"
#include "auth/sigv4.h"
#include "common.h"
#include "util/arena.h"
#include "util/str.h"
#include "util/tm.h"

#include <stdint.h>
#include <string.h>

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define T20130524 1369353600 /* the examples' x-amz-date */
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define MAX_HDRS 64

static bool
is_hex64(struct str s)
{
    if (s.n != 64)
        return false;
    for (size_t i = 0; i < s.n; i++)
        if (!((s.p[i] >= '0' && s.p[i] <= '9') || (s.p[i] >= 'a' && s.p[i] <= 'f')))
            return false;
    return true;
}

/* What sigv4_parse() promises on success, checked field by field. */
static void
check_parsed(const struct sigv4_auth *auth)
{
    if (auth->is_anonymous)
        return;
    if (auth->access_key_id.n == 0 || auth->date8.n != 8 || auth->region.n == 0 ||
        !is_hex64(auth->signature) || auth->signed_headers.n == 0 || auth->amz_date.p == NULL)
        __builtin_trap();
    if (auth->is_presigned && (auth->expires_s < 1 || auth->expires_s > 604800))
        __builtin_trap();
    if (auth->payload == SIGV4_SHA256 && auth->payload_hash.p != NULL &&
        !is_hex64(auth->payload_hash))
        __builtin_trap();
    if (auth->decoded_length < -1)
        __builtin_trap();
}

/* The server clock: the request's own time shifted by a choice of the
 * input (inside or outside the 15-minute window, before or after expiry). */
static int64_t
clock_for(int64_t t, uint8_t pick)
{
    static const int64_t shift[] = {0, -1, 1, 899, -899, 901, -901, 3600, 604801};

    return t + shift[pick % ARRAY_LEN(shift)];
}

/* SigV2 header auth is timed by x-amz-date, else Date. */
static int64_t
v2_clock(const struct sigv4_input *in, uint8_t pick)
{
    struct str d = STR_NULL;
    int64_t t;

    for (size_t i = 0; i < in->n_hdrs && d.p == NULL; i++)
        if (str_ieq_c(in->hdrs[i].name, "x-amz-date"))
            d = in->hdrs[i].value;
    for (size_t i = 0; i < in->n_hdrs && d.p == NULL; i++)
        if (str_ieq_c(in->hdrs[i].name, "date"))
            d = in->hdrs[i].value;
    if (d.p == NULL || tm_parse_http(d, &t) < 0)
        return T20130524;
    return clock_for(t, pick);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sigv4_hdr hdrs[MAX_HDRS];
    struct sigv4_input in = {.hdrs = hdrs, .now_s = T20130524};
    struct str rest = str_make((const char *)data, size), line, target;
    struct sigv2_auth v2;
    struct sigv4_auth auth;
    struct sigv4_ctx ctx;
    struct arena *a;
    const char *msg = NULL;
    enum auth_err err;
    uint8_t pick = size > 0 ? data[size - 1] : 0;

    if (size == 0)
        return 0;
    str_split(rest, '\n', &in.method, &rest);
    str_split(rest, '\n', &target, &rest);
    if (target.p == NULL)
        target = STR_LIT("");
    if (!str_split(target, '?', &in.path, &in.query))
        in.query = str_make(target.p + target.n, 0);
    while (rest.p != NULL && in.n_hdrs < MAX_HDRS) {
        struct str name, value;
        str_split(rest, '\n', &line, &rest);
        if (!str_split(line, ':', &name, &value) || name.n == 0)
            continue;
        hdrs[in.n_hdrs].name = name;
        hdrs[in.n_hdrs].value = str_trim(value);
        in.n_hdrs++;
    }

    a = arena_new();
    if (sigv2_detect(&in, a, &v2, &err)) {
        if (err == AUTH_E_OK) {
            if (v2.access_key_id.n == 0 || v2.signature.n == 0 || v2.expires_s < 0)
                __builtin_trap();
            in.now_s = v2.is_presigned ? clock_for(v2.expires_s, pick) : v2_clock(&in, pick);
            /* Virtual-hosted style signs the bucket too: try both. */
            (void)sigv2_verify(&in, &v2, STR_LIT(SECRET),
                               pick & 1 ? STR_LIT("examplebucket") : STR_NULL, a, &msg);
        }
        goto out;
    }
    err = sigv4_parse(&in, a, &auth, &msg);
    if (err != AUTH_E_OK) {
        if (msg == NULL)
            __builtin_trap(); /* every refusal carries its message */
        goto out;
    }
    check_parsed(&auth);
    if (auth.is_anonymous)
        goto out;
    /* As s3_iam.c does for iam/sts requests without x-amz-content-sha256:
     * the caller supplies the hash of the (here empty) body. */
    if (auth.payload == SIGV4_SHA256 && auth.payload_hash.p == NULL)
        auth.payload_hash = STR_LIT(EMPTY_SHA256);
    in.now_s = clock_for(auth.request_time_s, pick);
    err = sigv4_verify(&in, &auth, STR_LIT(SECRET), a, &ctx, &msg);
    if (err == AUTH_E_OK && (strlen(ctx.seed_signature) != 64 || strlen(ctx.amz_date) != 16 ||
                             !str_eq(str_make(ctx.seed_signature, 64), auth.signature)))
        __builtin_trap();
out:
    arena_free(a);
    return 0;
}
