/* fuzz_chunked.c -- the aws-chunked body decoder (sigv4_chunked_*) in its
 * three modes: signed chunks, signed chunks with signed trailers, unsigned
 * chunks with trailers. Every input is decoded twice, once in one piece and
 * once in pieces whose sizes the input chooses, and both runs must agree on
 * the outcome, the data delivered and the trailers: a decoder state that
 * depends on where reads happen to end is a bug.
 *
 * Input: byte 0 picks the mode (bits 0-1: STREAMING, STREAMING_TRAILER,
 * STREAMING_UNSIGNED_TRAILER) and whether the body is taken raw (bit 2
 * clear) or built by a client-side encoder (bit 2 set); byte 1 is the
 * number n (0-15) of piece sizes that follow, each 1 + byte, used in turn.
 * The rest is the body, raw, or for the encoder: chunk payloads separated
 * by 0x00, then 0x01 and trailer lines ("name:value", '\n'-separated), then
 * 0x02 and bytes appended verbatim. The encoder signs every chunk and the
 * trailers with the fixed context below, as a real client does, so the
 * signed paths are reached past the first signature check. */
#include "auth/sigv4.h"
#include "common.h"
#include "crypto/hash.h"
#include "util/buf.h"
#include "util/enc.h"
#include "util/str.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define SEED_SIG "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9"
#define AMZ_DATE "20130524T000000Z"
#define SCOPE "20130524/us-east-1/s3/aws4_request"
#define MAX_BODY (1 << 20)

struct sink {
    size_t n;
    unsigned char sha[32];
    struct hash *h;
};

static int
sink_fn(void *arg, const char *p, size_t n)
{
    struct sink *s = arg;

    if (n == 0)
        __builtin_trap(); /* the decoder never passes empty data */
    s->n += n;
    hash_update(s->h, p, n);
    return 0;
}

static void
make_ctx(struct sigv4_ctx *ctx)
{
    memset(ctx, 0, sizeof(*ctx));
    sigv4_signing_key(STR_LIT("wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"), STR_LIT("20130524"),
                      STR_LIT("us-east-1"), STR_LIT("s3"), ctx->signing_key);
    memcpy(ctx->seed_signature, SEED_SIG, 65);
    memcpy(ctx->scope, SCOPE, sizeof(SCOPE));
    memcpy(ctx->amz_date, AMZ_DATE, sizeof(AMZ_DATE));
}

/* One link of the signature chain, as a client computes it. */
static void
sign(const struct sigv4_ctx *ctx, const char *kind, char prev[65], const char *tail)
{
    char sts[512];
    unsigned char mac[32];
    int n = snprintf(sts, sizeof(sts), "%s\n%s\n%s\n%s\n%s", kind, AMZ_DATE, SCOPE, prev, tail);

    hmac_sha256(ctx->signing_key, 32, sts, (size_t)n, mac);
    hex_encode(mac, 32, prev);
}

static void
put_chunk(struct buf *b, const struct sigv4_ctx *ctx, bool is_signed, char prev[65],
          struct str data)
{
    char tail[2 * 64 + 2];
    unsigned char d[32];

    if (is_signed) {
        sha256(data.p, data.n, d);
        memcpy(tail, EMPTY_SHA256 "\n", 65);
        hex_encode(d, 32, tail + 65);
        sign(ctx, "AWS4-HMAC-SHA256-PAYLOAD", prev, tail);
        buf_printf(b, "%zx;chunk-signature=%s\r\n", data.n, prev);
    } else {
        buf_printf(b, "%zx\r\n", data.n);
    }
    if (data.n > 0) {
        buf_append_str(b, data);
        buf_append_c(b, "\r\n");
    }
}

/* The client side: chunks, the final chunk, trailers and their signature. */
static void
encode(struct buf *b, const struct sigv4_ctx *ctx, enum sigv4_payload mode, struct str in)
{
    struct str chunks, trailers = STR_NULL, tail = STR_NULL, c, line;
    bool is_signed = mode != SIGV4_STREAMING_UNSIGNED_TRAILER;
    char prev[65];
    struct buf canon;

    memcpy(prev, SEED_SIG, 65);
    if (str_split(in, '\x01', &chunks, &trailers))
        str_split(trailers, '\x02', &trailers, &tail);
    else
        str_split(chunks, '\x02', &chunks, &tail);
    while (chunks.p != NULL) {
        str_split(chunks, '\0', &c, &chunks);
        if (c.n > 0)
            put_chunk(b, ctx, is_signed, prev, c);
    }
    put_chunk(b, ctx, is_signed, prev, STR_LIT(""));
    if (mode == SIGV4_STREAMING) {
        buf_append_c(b, "\r\n");
    } else {
        buf_init(&canon, MAX_BODY);
        while (trailers.p != NULL) {
            struct str name, value;
            str_split(trailers, '\n', &line, &trailers);
            buf_append_str(b, line);
            buf_append_c(b, "\r\n");
            if (str_split(line, ':', &name, &value)) {
                buf_append_str(&canon, str_trim(name));
                buf_append_c(&canon, ":");
                buf_append_str(&canon, str_trim(value));
                buf_append_c(&canon, "\n");
            }
        }
        if (is_signed) {
            unsigned char d[32];
            char hex[65];
            sha256(canon.p != NULL ? canon.p : "", canon.n, d);
            hex_encode(d, 32, hex);
            sign(ctx, "AWS4-HMAC-SHA256-TRAILER", prev, hex);
            buf_printf(b, "x-amz-trailer-signature:%s\r\n", prev);
        }
        buf_append_c(b, "\r\n");
        buf_free(&canon);
    }
    if (tail.p != NULL)
        buf_append_str(b, tail);
}

struct run {
    enum auth_err err;
    int64_t decoded;
    struct sink s;
    struct str crc32, crc32c; /* trailer values, copied */
    char vals[2][256];
};

/* Decodes body in pieces of sizes[i % n_sizes] (all of it at once when
 * n_sizes is 0). */
static void
run(struct run *r, enum sigv4_payload mode, const struct sigv4_ctx *ctx, struct str body,
    const uint8_t *sizes, size_t n_sizes)
{
    struct sigv4_auth auth = {.payload = mode};
    struct sigv4_chunked *d = sigv4_chunked_new(&auth, ctx);
    size_t off = 0, k = 0;

    memset(r, 0, sizeof(*r));
    r->s.h = hash_new(HASH_SHA256);
    r->err = AUTH_E_OK;
    while (off < body.n && r->err == AUTH_E_OK) {
        size_t step = n_sizes == 0 ? body.n : (size_t)sizes[k++ % n_sizes] + 1;
        if (step > body.n - off)
            step = body.n - off;
        r->err = sigv4_chunked_feed(d, body.p + off, step, sink_fn, &r->s);
        off += step;
    }
    if (r->err == AUTH_E_OK)
        r->err = sigv4_chunked_finish(d);
    /* Errors stick, whatever comes next. */
    if (r->err != AUTH_E_OK && (sigv4_chunked_feed(d, "0\r\n", 3, sink_fn, &r->s) != r->err ||
                                sigv4_chunked_finish(d) != r->err))
        __builtin_trap();
    r->decoded = sigv4_chunked_decoded(d);
    if (r->decoded < 0 || (size_t)r->decoded != r->s.n)
        __builtin_trap();
    hash_final(r->s.h, r->s.sha);
    r->s.h = NULL;
    r->crc32 = sigv4_chunked_trailer(d, "x-amz-checksum-crc32");
    r->crc32c = sigv4_chunked_trailer(d, "X-Amz-Checksum-CRC32C");
    /* Borrowed until the free below: keep copies to compare. */
    if (r->crc32.p != NULL) {
        r->crc32.n = r->crc32.n < 255 ? r->crc32.n : 255;
        memcpy(r->vals[0], r->crc32.p, r->crc32.n);
        r->crc32.p = r->vals[0];
    }
    if (r->crc32c.p != NULL) {
        r->crc32c.n = r->crc32c.n < 255 ? r->crc32c.n : 255;
        memcpy(r->vals[1], r->crc32c.p, r->crc32c.n);
        r->crc32c.p = r->vals[1];
    }
    sigv4_chunked_free(d);
}

static bool
same_str(struct str a, struct str b)
{
    return (a.p == NULL) == (b.p == NULL) && (a.p == NULL || str_eq(a, b));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const enum sigv4_payload modes[] = {SIGV4_STREAMING, SIGV4_STREAMING_TRAILER,
                                               SIGV4_STREAMING_UNSIGNED_TRAILER,
                                               SIGV4_STREAMING_UNSIGNED_TRAILER};
    enum sigv4_payload mode;
    struct sigv4_ctx ctx;
    struct run whole, split;
    struct buf built;
    struct str body;
    size_t n_sizes;
    const uint8_t *sizes;

    if (size < 2)
        return 0;
    mode = modes[data[0] & 3];
    n_sizes = data[1] & 15;
    if (size < 2 + n_sizes)
        return 0;
    sizes = data + 2;
    body = str_make((const char *)data + 2 + n_sizes, size - 2 - n_sizes);
    make_ctx(&ctx);
    buf_init(&built, MAX_BODY);
    if (data[0] & 4) {
        encode(&built, &ctx, mode, body);
        body = buf_str(&built);
    }
    run(&whole, mode, &ctx, body, NULL, 0);
    run(&split, mode, &ctx, body, sizes, n_sizes);
    if (whole.err != split.err || whole.decoded != split.decoded ||
        memcmp(whole.s.sha, split.s.sha, 32) != 0 || !same_str(whole.crc32, split.crc32) ||
        !same_str(whole.crc32c, split.crc32c))
        __builtin_trap();
    buf_free(&built);
    return 0;
}
