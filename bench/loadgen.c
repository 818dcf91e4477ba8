/* loadgen.c -- closed-loop S3 load generator: N keep-alive connections on
 * epoll (one or more threads), an operation mix, SigV4 header signing, and a
 * report of ops/s, MB/s, latency percentiles and (for a local server) its CPU
 * time per operation and peak RSS from /proc.
 *
 * Standalone on purpose: plain sockets, a minimal HTTP/1.1 client and
 * OpenSSL's libcrypto, so it measures any S3 endpoint (Coffer, radosgw, the
 * bare ceiling servers) with the same client code and costs little CPU on
 * the machine it shares with the server. See bench/README.md. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define PAT_SIZE (1024 * 1024) /* body bytes repeat with this period */
#define RBUF_SIZE (256 * 1024)
#define REQ_MAX 4096
#define MAX_PIDS 64
#define MAX_PORTS 8
#define MAX_SIZES 16
#define VID_MAX 96

enum op { OP_PUT, OP_GET, OP_HEAD, OP_DELETE, OP_LIST, OP_VGET, OP_LV, OP_RAW, N_OPS };
static const char *const op_names[N_OPS] = {"put",  "get",  "head", "delete",
                                            "list", "vget", "lv",   "raw"};

struct cfg {
    char host[256];
    char hosthdr[300];
    int port;
    int ports[MAX_PORTS]; /* --alt-port: connection i dials ports[i % n_ports] */
    int n_ports;
    char access_key[128], secret_key[128], region[64];
    char bucket[64];
    char prefix[64];
    bool anon, signed_payload, create_bucket, versioning, prefill, unique_puts;
    int conns, threads;
    double mix[N_OPS];
    uint64_t sizes[MAX_SIZES];
    double size_w[MAX_SIZES];
    int n_sizes;
    uint64_t keys;
    int versions; /* prefill: PUTs per key */
    uint64_t prefill_size;
    double duration, warmup;
    uint64_t count;
    int max_keys;
    char raw_method[16], raw_path[512];
    uint64_t raw_size; /* body bytes for a raw PUT */
    int pids[MAX_PIDS];
    int n_pids;
    bool reset_hwm, json, quiet, prefill_only;
    char label[128];
};

static struct cfg cfg = {
    .port = 80,
    .region = "us-east-1",
    .bucket = "bench",
    .prefix = "k",
    .conns = 1,
    .threads = 1,
    .keys = 1000,
    .versions = 1,
    .duration = 5,
    .warmup = 1,
    .max_keys = 1000,
    .unique_puts = true,
};

static unsigned char *pattern; /* 2 * PAT_SIZE so any window of PAT_SIZE is contiguous */
static char (*vids)[VID_MAX];  /* per key: last version id seen at prefill */

static int
toint(const char *s)
{
    return (int)strtol(s, NULL, 10);
}

/* ---- time, hashing, signing ------------------------------------------- */

static uint64_t
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
hex(const unsigned char *p, size_t n, char *out)
{
    static const char d[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = d[p[i] >> 4];
        out[2 * i + 1] = d[p[i] & 15];
    }
    out[2 * n] = '\0';
}

/* The client's CPU is taken from the server under test on a small machine,
 * so a request's hashing avoids OpenSSL's per-call algorithm fetch: SHA-256
 * is fetched once, and the signing key's HMAC pads are hashed once a day. */
static EVP_MD *sha256_md;

static void
sha256_run(EVP_MD_CTX *ctx, const EVP_MD_CTX *from, const void *p, size_t n, unsigned char out[32])
{
    if (from != NULL)
        EVP_MD_CTX_copy_ex(ctx, from);
    else
        EVP_DigestInit_ex(ctx, sha256_md, NULL);
    EVP_DigestUpdate(ctx, p, n);
    EVP_DigestFinal_ex(ctx, out, NULL);
}

static void
hmac256(const void *key, size_t kn, const void *msg, size_t mn, unsigned char out[32])
{
    unsigned int len = 32;

    HMAC(sha256_md, key, (int)kn, msg, mn, out, &len);
}

/* Per-thread signing state: the date strings and the derived key change
 * once per second and once per day. */
struct signer {
    time_t sec;
    char amz_date[17], date8[9];
    unsigned char key[32];
    char key_date[9];
    EVP_MD_CTX *ipad, *opad, *tmp; /* HMAC(key, .) states after the pads */
};

static void
signer_pads(struct signer *sg)
{
    unsigned char pad[64];

    if (sg->tmp == NULL) {
        sg->ipad = EVP_MD_CTX_new();
        sg->opad = EVP_MD_CTX_new();
        sg->tmp = EVP_MD_CTX_new();
    }
    for (int i = 0; i < 64; i++)
        pad[i] = (unsigned char)((i < 32 ? sg->key[i] : 0) ^ 0x36);
    EVP_DigestInit_ex(sg->ipad, sha256_md, NULL);
    EVP_DigestUpdate(sg->ipad, pad, 64);
    for (int i = 0; i < 64; i++)
        pad[i] ^= 0x36 ^ 0x5c;
    EVP_DigestInit_ex(sg->opad, sha256_md, NULL);
    EVP_DigestUpdate(sg->opad, pad, 64);
}

/* HMAC-SHA256 with the signing key. */
static void
signer_mac(struct signer *sg, const void *msg, size_t n, unsigned char out[32])
{
    unsigned char inner[32];

    sha256_run(sg->tmp, sg->ipad, msg, n, inner);
    sha256_run(sg->tmp, sg->opad, inner, 32, out);
}

static void
signer_tick(struct signer *sg)
{
    time_t t = time(NULL);
    struct tm tm;

    if (t == sg->sec)
        return;
    sg->sec = t;
    gmtime_r(&t, &tm);
    strftime(sg->amz_date, sizeof(sg->amz_date), "%Y%m%dT%H%M%SZ", &tm);
    memcpy(sg->date8, sg->amz_date, 8);
    sg->date8[8] = '\0';
    if (strcmp(sg->key_date, sg->date8) != 0) {
        char k0[160];
        unsigned char k1[32], k2[32], k3[32];
        int n = snprintf(k0, sizeof(k0), "AWS4%s", cfg.secret_key);
        hmac256(k0, (size_t)n, sg->date8, 8, k1);
        hmac256(k1, 32, cfg.region, strlen(cfg.region), k2);
        hmac256(k2, 32, "s3", 2, k3);
        hmac256(k3, 32, "aws4_request", 12, sg->key);
        memcpy(sg->key_date, sg->date8, 9);
        signer_pads(sg);
    }
}

/* Appends the request head for method path?query to out (REQ_MAX bytes).
 * query must already be canonical: sorted, encoded, "name=" for empty
 * values. payload_hex is the body's SHA-256 or NULL for UNSIGNED-PAYLOAD.
 * Returns the length. */
static int
build_head(struct signer *sg, char *out, const char *method, const char *path, const char *query,
           const char *payload_hex, int64_t content_length)
{
    char creq[2048], sts[512], h[65], sig[65];
    unsigned char d[32], mac[32];
    const char *ph = payload_hex ? payload_hex : "UNSIGNED-PAYLOAD";
    int n, cn;
    char cl[64] = "";

    if (content_length >= 0)
        snprintf(cl, sizeof(cl), "Content-Length: %" PRId64 "\r\n", content_length);
    if (cfg.anon)
        return snprintf(out, REQ_MAX, "%s %s%s%s HTTP/1.1\r\nHost: %s\r\n%s\r\n", method, path,
                        *query ? "?" : "", query, cfg.hosthdr, cl);
    signer_tick(sg);
    cn = snprintf(creq, sizeof(creq),
                  "%s\n%s\n%s\nhost:%s\nx-amz-content-sha256:%s\nx-amz-date:%s\n\n"
                  "host;x-amz-content-sha256;x-amz-date\n%s",
                  method, path, query, cfg.hosthdr, ph, sg->amz_date, ph);
    sha256_run(sg->tmp, NULL, creq, (size_t)cn, d);
    hex(d, 32, h);
    n = snprintf(sts, sizeof(sts), "AWS4-HMAC-SHA256\n%s\n%s/%s/s3/aws4_request\n%s", sg->amz_date,
                 sg->date8, cfg.region, h);
    signer_mac(sg, sts, (size_t)n, mac);
    hex(mac, 32, sig);
    return snprintf(out, REQ_MAX,
                    "%s %s%s%s HTTP/1.1\r\nHost: %s\r\nx-amz-date: %s\r\n"
                    "x-amz-content-sha256: %s\r\n"
                    "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s/%s/s3/aws4_request, "
                    "SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=%s\r\n%s\r\n",
                    method, path, *query ? "?" : "", query, cfg.hosthdr, sg->amz_date, ph,
                    cfg.access_key, sg->date8, cfg.region, sig, cl);
}

/* SHA-256 of the n-byte pattern body, cached per size (bodies of one size
 * are identical, so signed payloads cost one hash per size). */
static char payload_hex[MAX_SIZES + 1][65];

static void
hash_body(uint64_t n, char out[65])
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char d[32];
    unsigned int dn = 32;

    EVP_DigestInit_ex(ctx, sha256_md, NULL);
    for (uint64_t off = 0; off < n;) {
        uint64_t k = n - off < PAT_SIZE ? n - off : PAT_SIZE;
        EVP_DigestUpdate(ctx, pattern + off % PAT_SIZE, k);
        off += k;
    }
    EVP_DigestFinal_ex(ctx, d, &dn);
    EVP_MD_CTX_free(ctx);
    hex(d, 32, out);
}

/* ---- response parser ---------------------------------------------------- */

enum rstate {
    R_HEAD,
    R_BODY_CL,
    R_CHUNK_SIZE,
    R_CHUNK_DATA,
    R_CHUNK_CRLF,
    R_TRAILER,
    R_EOF,
    R_DONE
};

struct resp {
    enum rstate st;
    char hdr[16384];
    size_t hn;
    int status;
    uint64_t remaining, body_bytes;
    bool is_head, close, until_eof;
    char vid[VID_MAX];
    char line[128];
    size_t ln;
    char *keep; /* optional body capture (blocking requests) */
    size_t keep_n, keep_cap;
};

static void
resp_reset(struct resp *r, bool is_head)
{
    r->st = R_HEAD;
    r->hn = 0;
    r->status = 0;
    r->remaining = r->body_bytes = 0;
    r->is_head = is_head;
    r->close = r->until_eof = false;
    r->vid[0] = '\0';
    r->ln = 0;
    r->keep_n = 0;
}

static bool
hdr_is(const char *line, size_t n, const char *name, const char **val, size_t *vn)
{
    size_t k = strlen(name);

    if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
        return false;
    line += k + 1;
    n -= k + 1;
    while (n > 0 && (*line == ' ' || *line == '\t'))
        line++, n--;
    while (n > 0 && (line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    *val = line;
    *vn = n;
    return true;
}

/* Parses the complete head in r->hdr[0..hn). 0, or -1 if malformed. */
static int
parse_head(struct resp *r)
{
    const char *p = r->hdr, *end = r->hdr + r->hn;
    const char *eol = memchr(p, '\n', (size_t)(end - p));
    bool has_cl = false, chunked = false;
    uint64_t cl = 0;

    if (eol == NULL || r->hn < 12 || memcmp(p, "HTTP/1.", 7) != 0)
        return -1;
    r->status = toint(p + 9);
    if (p[7] == '0')
        r->close = true;
    for (p = eol + 1; p < end; p = eol + 1) {
        const char *v;
        size_t vn, n;
        eol = memchr(p, '\n', (size_t)(end - p));
        if (eol == NULL)
            break;
        n = (size_t)(eol - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (hdr_is(p, n, "content-length", &v, &vn)) {
            has_cl = true;
            cl = strtoull(v, NULL, 10);
        } else if (hdr_is(p, n, "transfer-encoding", &v, &vn)) {
            chunked = vn >= 7 && strncasecmp(v + vn - 7, "chunked", 7) == 0;
        } else if (hdr_is(p, n, "connection", &v, &vn)) {
            if (vn == 5 && strncasecmp(v, "close", 5) == 0)
                r->close = true;
        } else if (hdr_is(p, n, "x-amz-version-id", &v, &vn)) {
            if (vn < VID_MAX) {
                memcpy(r->vid, v, vn);
                r->vid[vn] = '\0';
            }
        }
    }
    if (r->status >= 100 && r->status < 200) {
        r->hn = 0; /* interim response: the real one follows */
        return 0;
    }
    if (r->is_head || r->status == 204 || r->status == 304) {
        r->st = R_DONE;
    } else if (chunked) {
        r->st = R_CHUNK_SIZE;
    } else if (has_cl) {
        r->remaining = cl;
        r->st = cl ? R_BODY_CL : R_DONE;
    } else {
        r->st = R_EOF;
        r->until_eof = true;
        r->close = true;
    }
    return 0;
}

static void
keep_body(struct resp *r, const char *p, size_t n)
{
    if (r->keep == NULL)
        return;
    if (n > r->keep_cap - r->keep_n)
        n = r->keep_cap - r->keep_n;
    memcpy(r->keep + r->keep_n, p, n);
    r->keep_n += n;
}

/* Feeds n received bytes. Returns bytes consumed (the rest belongs to the
 * next response), or -1 on a malformed response. Done when r->st == R_DONE. */
static ssize_t
resp_feed(struct resp *r, const char *p, size_t n)
{
    size_t used = 0;

    while (used < n && r->st != R_DONE) {
        const char *q = p + used;
        size_t left = n - used;
        switch (r->st) {
        case R_HEAD: {
            /* Copy byte runs into hdr until the blank line. */
            size_t k = left < sizeof(r->hdr) - r->hn ? left : sizeof(r->hdr) - r->hn;
            if (k == 0)
                return -1;
            memcpy(r->hdr + r->hn, q, k);
            size_t start = r->hn > 3 ? r->hn - 3 : 0;
            r->hn += k;
            char *e = memmem(r->hdr + start, r->hn - start, "\r\n\r\n", 4);
            if (e == NULL) {
                used += k;
                break;
            }
            size_t head_len = (size_t)(e + 4 - r->hdr);
            used += k - (r->hn - head_len);
            r->hn = head_len;
            if (parse_head(r) < 0)
                return -1;
            break;
        }
        case R_BODY_CL: {
            size_t k = left < r->remaining ? left : (size_t)r->remaining;
            keep_body(r, q, k);
            r->remaining -= k;
            r->body_bytes += k;
            used += k;
            if (r->remaining == 0)
                r->st = R_DONE;
            break;
        }
        case R_EOF:
            keep_body(r, q, left);
            r->body_bytes += left;
            used += left;
            break;
        case R_CHUNK_SIZE:
        case R_CHUNK_CRLF:
        case R_TRAILER: {
            const char *nl = memchr(q, '\n', left);
            size_t k = nl ? (size_t)(nl - q) + 1 : left;
            if (r->ln + k > sizeof(r->line))
                return -1;
            memcpy(r->line + r->ln, q, k);
            r->ln += k;
            used += k;
            if (nl == NULL)
                break;
            if (r->st == R_CHUNK_SIZE) {
                r->remaining = strtoull(r->line, NULL, 16);
                r->st = r->remaining ? R_CHUNK_DATA : R_TRAILER;
            } else if (r->st == R_CHUNK_CRLF) {
                r->st = R_CHUNK_SIZE;
            } else if (r->ln <= 2) {
                r->st = R_DONE; /* empty line ends the trailer section */
            }
            r->ln = 0;
            break;
        }
        case R_CHUNK_DATA: {
            size_t k = left < r->remaining ? left : (size_t)r->remaining;
            keep_body(r, q, k);
            r->remaining -= k;
            r->body_bytes += k;
            used += k;
            if (r->remaining == 0)
                r->st = R_CHUNK_CRLF;
            break;
        }
        case R_DONE:
            break;
        }
    }
    return (ssize_t)used;
}

/* ---- connections ---------------------------------------------------------- */

static int
dial(int to_port)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *ai, *a;
    char port[16];
    int fd = -1, one = 1;

    snprintf(port, sizeof(port), "%d", to_port);
    if (getaddrinfo(cfg.host, port, &hints, &ai) != 0)
        return -1;
    for (a = ai; a != NULL; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    if (fd >= 0)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* Latency samples for one operation type (ns). */
struct samples {
    uint64_t *v;
    size_t n, cap;
    uint64_t errors, bytes;
    uint64_t status[6]; /* by first digit */
};

static void
sample_add(struct samples *s, uint64_t ns)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4096;
        s->v = realloc(s->v, s->cap * sizeof(*s->v));
        if (s->v == NULL)
            abort();
    }
    s->v[s->n++] = ns;
}

enum phase { PH_PREFILL, PH_WARMUP, PH_MEASURE, PH_STOP };

static _Atomic int phase;
static atomic_uint_fast64_t issued;       /* measured ops started (for --count) */
static atomic_uint_fast64_t prefill_next; /* next prefill PUT index */
static uint64_t prefill_total;
static atomic_uint_fast64_t failures; /* transport failures */

struct worker;

struct conn {
    int fd;
    struct worker *w;
    char req[REQ_MAX];
    size_t req_n, req_off;
    uint64_t body_len, body_off;
    bool writing, reading;
    struct resp resp;
    enum op op;
    uint64_t key;
    uint64_t t0;
    int port; /* the port it dials (--alt-port) */
    int ph; /* phase at issue */
    bool is_prefill;
    char *rbuf;
};

struct worker {
    int id;
    pthread_t th;
    int ep;
    struct conn *c;
    int n;
    struct signer sg;
    uint64_t rng;
    uint64_t put_seq;
    int active;
    struct samples st[N_OPS];
    char *rbuf;
};

static uint64_t
rnd(struct worker *w)
{
    /* xorshift64* */
    w->rng ^= w->rng >> 12;
    w->rng ^= w->rng << 25;
    w->rng ^= w->rng >> 27;
    return w->rng * 2685821657736338717ull;
}

static double
rnd01(struct worker *w)
{
    return (double)(rnd(w) >> 11) / 9007199254740992.0;
}

static enum op
pick_op(struct worker *w)
{
    double total = 0, x;

    for (int i = 0; i < N_OPS; i++)
        total += cfg.mix[i];
    x = rnd01(w) * total;
    for (int i = 0; i < N_OPS; i++) {
        if (x < cfg.mix[i])
            return (enum op)i;
        x -= cfg.mix[i];
    }
    return OP_GET;
}

static int
pick_size(struct worker *w)
{
    double total = 0, x;

    for (int i = 0; i < cfg.n_sizes; i++)
        total += cfg.size_w[i];
    x = rnd01(w) * total;
    for (int i = 0; i < cfg.n_sizes; i++) {
        if (x < cfg.size_w[i])
            return i;
        x -= cfg.size_w[i];
    }
    return 0;
}

/* A marker key for a listing page: random, but early enough that a full
 * page (max-keys entries, --versions per key) follows it. */
static uint64_t
list_marker(struct worker *w)
{
    uint64_t v = (uint64_t)cfg.versions;
    uint64_t per_page = ((uint64_t)cfg.max_keys + v - 1) / v;
    uint64_t span = cfg.keys > per_page ? cfg.keys - per_page : 1;

    return rnd(w) % span;
}

/* Builds the next request on c. Returns false when there is nothing more
 * to do (prefill finished, --count reached, or stopped). */
static bool
next_request(struct conn *c)
{
    struct worker *w = c->w;
    char path[512], query[768], keyname[160];
    const char *method = "GET", *ph = NULL;
    int64_t clen = -1;
    int ph_now = atomic_load(&phase);
    int si;

    c->is_prefill = ph_now == PH_PREFILL;
    c->body_len = c->body_off = 0;
    query[0] = '\0';
    if (ph_now == PH_STOP)
        return false;
    if (c->is_prefill) {
        uint64_t i = atomic_fetch_add(&prefill_next, 1);
        if (i >= prefill_total)
            return false;
        c->op = OP_PUT;
        c->key = i % cfg.keys;
        snprintf(keyname, sizeof(keyname), "%s/%08" PRIu64, cfg.prefix, c->key);
        snprintf(path, sizeof(path), "/%s/%s", cfg.bucket, keyname);
        c->body_len = cfg.prefill_size;
        ph = cfg.signed_payload ? payload_hex[MAX_SIZES] : NULL;
        method = "PUT";
        clen = (int64_t)c->body_len;
        goto build;
    }
    if (ph_now == PH_MEASURE && cfg.count) {
        if (atomic_fetch_add(&issued, 1) >= cfg.count)
            return false;
    }
    c->op = pick_op(w);
    c->key = cfg.keys ? rnd(w) % cfg.keys : 0;
    snprintf(keyname, sizeof(keyname), "%s/%08" PRIu64, cfg.prefix, c->key);
    snprintf(path, sizeof(path), "/%s/%s", cfg.bucket, keyname);
    switch (c->op) {
    case OP_PUT:
        if (cfg.unique_puts)
            snprintf(path, sizeof(path), "/%s/%s/u%d-%" PRIu64, cfg.bucket, cfg.prefix, w->id,
                     w->put_seq++);
        si = pick_size(w);
        c->body_len = cfg.sizes[si];
        ph = cfg.signed_payload ? payload_hex[si] : NULL;
        method = "PUT";
        clen = (int64_t)c->body_len;
        break;
    case OP_GET:
        break;
    case OP_HEAD:
        method = "HEAD";
        break;
    case OP_DELETE:
        method = "DELETE";
        break;
    case OP_LIST:
        c->key = list_marker(w);
        snprintf(path, sizeof(path), "/%s", cfg.bucket);
        snprintf(query, sizeof(query), "list-type=2&max-keys=%d&start-after=%s%%2F%08" PRIu64,
                 cfg.max_keys, cfg.prefix, c->key);
        break;
    case OP_VGET:
        if (vids != NULL && vids[c->key][0])
            snprintf(query, sizeof(query), "versionId=%s", vids[c->key]);
        break;
    case OP_LV:
        /* A page starting after a random key: every page is a full one as
         * long as the key space has max-keys entries after the marker. */
        c->key = list_marker(w);
        snprintf(path, sizeof(path), "/%s", cfg.bucket);
        snprintf(query, sizeof(query),
                 "key-marker=%s%%2F%08" PRIu64 "&max-keys=%d&versions=", cfg.prefix, c->key,
                 cfg.max_keys);
        break;
    case OP_RAW:
        method = cfg.raw_method;
        snprintf(path, sizeof(path), "%s", cfg.raw_path);
        if (strcmp(method, "PUT") == 0) {
            c->body_len = cfg.raw_size;
            clen = (int64_t)c->body_len;
        }
        break;
    default:
        break;
    }
build:
    c->req_n = (size_t)build_head(&w->sg, c->req, method, path, query, ph, clen);
    c->req_off = 0;
    resp_reset(&c->resp, strcmp(method, "HEAD") == 0);
    c->ph = ph_now;
    c->t0 = now_ns();
    return true;
}

static void
conn_close_fd(struct conn *c)
{
    if (c->fd >= 0) {
        epoll_ctl(c->w->ep, EPOLL_CTL_DEL, c->fd, NULL);
        close(c->fd);
        c->fd = -1;
    }
}

static int
conn_open(struct conn *c)
{
    struct epoll_event ev = {.events = EPOLLIN | EPOLLOUT | EPOLLET, .data.ptr = c};

    c->fd = dial(c->port);
    if (c->fd < 0)
        return -1;
    fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
    if (epoll_ctl(c->w->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0)
        return -1;
    return 0;
}

static void conn_start(struct conn *c);

/* Writes as much of the request as the socket takes. -1 on error. */
static int
conn_write(struct conn *c)
{
    while (c->writing) {
        struct iovec iov[2];
        int n_iov = 0;
        ssize_t k;
        if (c->req_off < c->req_n) {
            iov[n_iov].iov_base = c->req + c->req_off;
            iov[n_iov++].iov_len = c->req_n - c->req_off;
        }
        if (c->body_off < c->body_len) {
            uint64_t left = c->body_len - c->body_off;
            iov[n_iov].iov_base = pattern + c->body_off % PAT_SIZE;
            iov[n_iov++].iov_len = left < PAT_SIZE ? left : PAT_SIZE;
        }
        if (n_iov == 0) {
            c->writing = false;
            break;
        }
        k = writev(c->fd, iov, n_iov);
        if (k < 0) {
            if (errno == EAGAIN)
                return 0;
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (c->req_off < c->req_n) {
            size_t h = c->req_n - c->req_off;
            if ((size_t)k < h) {
                c->req_off += (size_t)k;
                continue;
            }
            c->req_off = c->req_n;
            k -= (ssize_t)h;
        }
        c->body_off += (uint64_t)k;
    }
    return 0;
}

static void
complete(struct conn *c)
{
    struct worker *w = c->w;
    uint64_t t = now_ns();

    if (c->is_prefill) {
        if (vids != NULL && c->resp.vid[0])
            memcpy(vids[c->key], c->resp.vid, VID_MAX);
        if (c->resp.status / 100 != 2)
            atomic_fetch_add(&failures, 1);
    } else if (c->ph == PH_MEASURE) {
        struct samples *s = &w->st[c->op];
        int cls = c->resp.status / 100;
        sample_add(s, t - c->t0);
        s->bytes += c->body_len + c->resp.body_bytes;
        s->status[cls >= 0 && cls < 6 ? cls : 0]++;
        if (cls != 2 && !(c->op == OP_DELETE && c->resp.status == 404))
            s->errors++;
    }
}

/* Reads and parses; completes the request when the response is whole. */
static int
conn_read(struct conn *c)
{
    for (;;) {
        ssize_t k = read(c->fd, c->w->rbuf, RBUF_SIZE);
        if (k < 0) {
            if (errno == EAGAIN)
                return 0;
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0) {
            if (c->resp.st == R_EOF) {
                c->resp.st = R_DONE;
                complete(c);
            }
            return -1;
        }
        ssize_t used = resp_feed(&c->resp, c->w->rbuf, (size_t)k);
        if (used < 0)
            return -1;
        if (c->resp.st == R_DONE) {
            complete(c);
            if (c->resp.close || c->writing || (size_t)used < (size_t)k)
                return -1; /* reconnect (pipelining is not used) */
            conn_start(c);
            return 1;
        }
        if (k < RBUF_SIZE)
            return 0; /* drained; the next bytes raise a new edge */
    }
}

static void
conn_start(struct conn *c)
{
    for (;;) {
        if (c->fd < 0 && conn_open(c) < 0) {
            atomic_fetch_add(&failures, 1);
            c->w->active--;
            c->reading = c->writing = false;
            return;
        }
        if (!next_request(c)) {
            c->w->active--;
            c->reading = c->writing = false;
            return;
        }
        c->writing = c->reading = true;
        if (conn_write(c) == 0)
            return;
        atomic_fetch_add(&failures, 1);
        conn_close_fd(c);
    }
}

static void
conn_event(struct conn *c, uint32_t events)
{
    int rc = 0;

    if (!c->reading && !c->writing)
        return;
    if ((events & EPOLLOUT) && c->writing)
        rc = conn_write(c);
    if (rc == 0 && (events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
        rc = conn_read(c);
    if (rc < 0) {
        bool done = c->resp.st == R_DONE;
        conn_close_fd(c);
        if (!done)
            atomic_fetch_add(&failures, 1);
        else if (!c->reading)
            return;
        conn_start(c);
    }
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct epoll_event evs[64];

    w->active = w->n;
    for (int i = 0; i < w->n; i++)
        conn_start(&w->c[i]);
    while (w->active > 0) {
        int n = epoll_wait(w->ep, evs, 64, 100);
        for (int i = 0; i < n; i++)
            conn_event(evs[i].data.ptr, evs[i].events);
        if (atomic_load(&phase) == PH_STOP)
            break;
    }
    return NULL;
}

/* ---- server accounting (/proc) ------------------------------------------ */

static long clk_tck;

static uint64_t
proc_cpu_ticks(int pid)
{
    char path[64], buf[2048];
    FILE *fp;
    size_t n;
    char *p;
    unsigned long ut = 0, st = 0;

    snprintf(path, sizeof(path), "/proc/%d/stat", pid);
    fp = fopen(path, "r");
    if (fp == NULL)
        return 0;
    n = fread(buf, 1, sizeof(buf) - 1, fp);
    fclose(fp);
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (p == NULL)
        return 0;
    /* Fields after ")": state(3) ... utime(14) stime(15), space separated. */
    p += 2;
    for (int field = 3; field < 14 && p != NULL; field++) {
        p = strchr(p, ' ');
        if (p != NULL)
            p++;
    }
    if (p == NULL)
        return 0;
    ut = strtoul(p, &p, 10);
    st = strtoul(p, NULL, 10);
    return ut + st;
}

static uint64_t
proc_status_kb(int pid, const char *field)
{
    char path[64], line[256];
    FILE *fp;
    uint64_t v = 0;
    size_t fn = strlen(field);

    snprintf(path, sizeof(path), "/proc/%d/status", pid);
    fp = fopen(path, "r");
    if (fp == NULL)
        return 0;
    while (fgets(line, sizeof(line), fp) != NULL)
        if (strncmp(line, field, fn) == 0 && line[fn] == ':')
            v = strtoull(line + fn + 1, NULL, 10);
    fclose(fp);
    return v;
}

static void
reset_hwm(void)
{
    for (int i = 0; i < cfg.n_pids; i++) {
        char path[64];
        FILE *fp;
        snprintf(path, sizeof(path), "/proc/%d/clear_refs", cfg.pids[i]);
        fp = fopen(path, "w");
        if (fp != NULL) {
            fputs("5", fp); /* 5: reset the peak RSS (VmHWM) to the current RSS */
            fclose(fp);
        }
    }
}

static uint64_t
srv_cpu_ns(void)
{
    uint64_t t = 0;

    for (int i = 0; i < cfg.n_pids; i++)
        t += proc_cpu_ticks(cfg.pids[i]);
    return t * (1000000000u / (uint64_t)clk_tck);
}

static uint64_t
srv_kb(const char *field)
{
    uint64_t t = 0;

    for (int i = 0; i < cfg.n_pids; i++)
        t += proc_status_kb(cfg.pids[i], field);
    return t;
}

static uint64_t
self_cpu_ns(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
           (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
}

/* ---- blocking one-off requests (setup) ---------------------------------- */

/* Sends one request on a fresh connection and reads the response.
 * Returns the status, or -1. body may be NULL. */
static int
simple_request(const char *method, const char *path, const char *query, const char *body, char *out,
               size_t out_cap)
{
    struct signer sg = {0};
    char head[REQ_MAX], ph[65], md5b64[32] = "";
    unsigned char d[32];
    size_t bn = body ? strlen(body) : 0;
    int fd = dial(cfg.port), n;
    struct resp *r = calloc(1, sizeof(*r));
    char buf[16384];
    int status = -1;

    if (fd < 0 || r == NULL)
        goto out;
    SHA256((const unsigned char *)(body ? body : ""), bn, d);
    hex(d, 32, ph);
    n = build_head(&sg, head, method, path, query, ph, body ? (int64_t)bn : 0);
    if (body != NULL && n > 2) {
        /* Some bucket configuration requests require Content-MD5; it is
         * not signed, so it goes just before the blank line. */
        unsigned char m[16];
        unsigned int mn = 16;
        EVP_Digest(body, bn, m, &mn, EVP_md5(), NULL);
        EVP_EncodeBlock((unsigned char *)md5b64, m, 16);
        n -= 2;
        n += snprintf(head + n, sizeof(head) - (size_t)n, "Content-MD5: %s\r\n\r\n", md5b64);
    }
    if (write(fd, head, (size_t)n) != n || (bn && write(fd, body, bn) != (ssize_t)bn))
        goto out;
    resp_reset(r, strcmp(method, "HEAD") == 0);
    r->keep = out;
    r->keep_cap = out ? out_cap - 1 : 0;
    while (r->st != R_DONE) {
        ssize_t k = read(fd, buf, sizeof(buf));
        if (k <= 0) {
            if (r->st == R_EOF)
                r->st = R_DONE;
            break;
        }
        if (resp_feed(r, buf, (size_t)k) < 0)
            break;
    }
    if (r->st == R_DONE)
        status = r->status;
    if (out)
        out[r->keep_n] = '\0';
out:
    if (fd >= 0)
        close(fd);
    free(r);
    return status;
}

static int
setup_bucket(void)
{
    char path[128], out[4096];
    int st;

    snprintf(path, sizeof(path), "/%s", cfg.bucket);
    if (cfg.create_bucket) {
        st = simple_request("PUT", path, "", NULL, out, sizeof(out));
        if (st != 200 && !(st == 409 && strstr(out, "BucketAlreadyOwnedByYou"))) {
            fprintf(stderr, "loadgen: create bucket %s: status %d %s\n", cfg.bucket, st, out);
            return -1;
        }
    }
    if (cfg.versioning) {
        st = simple_request("PUT", path, "versioning=",
                            "<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
                            "2006-03-01/\"><Status>Enabled</Status></VersioningConfiguration>",
                            out, sizeof(out));
        if (st != 200) {
            fprintf(stderr, "loadgen: enable versioning on %s: status %d %s\n", cfg.bucket, st,
                    out);
            return -1;
        }
    }
    return 0;
}

/* ---- options, run, report ------------------------------------------------ */

/* Splits s at commas into at most max NUL-terminated pieces of tmp (cap
 * bytes). Returns the number of pieces. */
static int
split_commas(const char *s, char *tmp, size_t cap, char **out, int max)
{
    int n = 0;

    snprintf(tmp, cap, "%s", s);
    for (char *p = tmp; p != NULL && *p && n < max;) {
        char *c = strchr(p, ',');
        if (c != NULL)
            *c++ = '\0';
        if (*p)
            out[n++] = p;
        p = c;
    }
    return n;
}

static uint64_t
parse_size(const char *s)
{
    char *end;
    double v = strtod(s, &end);

    switch (*end) {
    case 'k':
    case 'K':
        v *= 1024;
        break;
    case 'm':
    case 'M':
        v *= 1024 * 1024;
        break;
    case 'g':
    case 'G':
        v *= 1024.0 * 1024 * 1024;
        break;
    default:
        break;
    }
    return (uint64_t)v;
}

static int
parse_mix(const char *s)
{
    char tmp[256], *toks[N_OPS * 2];
    int n = split_commas(s, tmp, sizeof(tmp), toks, N_OPS * 2);

    memset(cfg.mix, 0, sizeof(cfg.mix));
    for (int t = 0; t < n; t++) {
        char *tok = toks[t];
        char *eq = strchr(tok, '=');
        double wt = eq ? strtod(eq + 1, NULL) : 1;
        int i;
        if (eq)
            *eq = '\0';
        for (i = 0; i < N_OPS; i++)
            if (strcmp(tok, op_names[i]) == 0)
                break;
        if (i == N_OPS)
            return -1;
        cfg.mix[i] = wt;
    }
    return 0;
}

static int
parse_sizes(const char *s)
{
    char tmp[256], *toks[MAX_SIZES + 1];
    int n = split_commas(s, tmp, sizeof(tmp), toks, MAX_SIZES + 1);

    cfg.n_sizes = 0;
    for (int t = 0; t < n; t++) {
        char *tok = toks[t];
        char *colon = strchr(tok, ':');
        if (cfg.n_sizes == MAX_SIZES)
            return -1;
        cfg.size_w[cfg.n_sizes] = colon ? strtod(colon + 1, NULL) : 1;
        if (colon)
            *colon = '\0';
        cfg.sizes[cfg.n_sizes++] = parse_size(tok);
    }
    return cfg.n_sizes > 0 ? 0 : -1;
}

static int
parse_endpoint(const char *url)
{
    const char *p = url, *colon, *slash;

    if (strncmp(p, "http://", 7) == 0)
        p += 7;
    else if (strstr(p, "://") != NULL)
        return -1; /* https is not supported: loopback benchmarks only */
    slash = strchr(p, '/');
    if (slash == NULL)
        slash = p + strlen(p);
    colon = memchr(p, ':', (size_t)(slash - p));
    if (colon) {
        snprintf(cfg.host, sizeof(cfg.host), "%.*s", (int)(colon - p), p);
        cfg.port = toint(colon + 1);
    } else {
        snprintf(cfg.host, sizeof(cfg.host), "%.*s", (int)(slash - p), p);
    }
    snprintf(cfg.hosthdr, sizeof(cfg.hosthdr), "%.*s", (int)(slash - p), p);
    return 0;
}

static const char usage[] =
    "usage: loadgen --endpoint http://HOST:PORT [options]\n"
    "  --access-key AK --secret-key SK  SigV4 credentials (default: env AWS_ACCESS_KEY_ID,\n"
    "                                   AWS_SECRET_ACCESS_KEY); --anon sends unsigned requests\n"
    "  --alt-port P[,P..]    more servers of the same store on the endpoint's host: the\n"
    "                        connections go round-robin to the endpoint's port and these\n"
    "                        (the Host header stays the endpoint's)\n"
    "  --region R            signing region (us-east-1)\n"
    "  --bucket B            bucket (bench); --create-bucket, --versioning to set it up\n"
    "  --conns N             connections (1); --threads T client threads (1)\n"
    "  --mix OP=W,...        ops: put get head delete list vget lv raw (default get=1)\n"
    "  --size S[:W],...      object size distribution for PUT, e.g. 4k or 4k:9,1m:1 (4k)\n"
    "  --keys N              key space for GET/HEAD/DELETE/VGET/markers (1000)\n"
    "  --prefill             PUT every key (--versions V times, --prefill-size S) first\n"
    "  --prefill-only        ... and stop there\n"
    "  --random-puts         PUT to random keys of the key space (default: new keys)\n"
    "  --duration S | --count N   measured phase (5 s); --warmup S (1 s)\n"
    "  --max-keys N          page size for list/lv (1000)\n"
    "  --prefix P            key prefix (k): keys are P/00000000 ...\n"
    "  --signed-payload      sign the body SHA-256 instead of UNSIGNED-PAYLOAD\n"
    "  --raw METHOD PATH     the raw op: an unsigned request to PATH (ceiling servers);\n"
    "                        --raw-size S is the body size of a raw PUT\n"
    "  --server-pid P[,P..]  report server CPU per op and peak RSS from /proc;\n"
    "                        --reset-hwm resets the peak before measuring\n"
    "  --label L --json --quiet\n";

static int
parse_args(int argc, char **argv)
{
    const char *ak = getenv("AWS_ACCESS_KEY_ID"), *sk = getenv("AWS_SECRET_ACCESS_KEY");
    bool have_endpoint = false;

    cfg.mix[OP_GET] = 1;
    cfg.sizes[0] = 4096;
    cfg.size_w[0] = 1;
    cfg.n_sizes = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define ARG(name) (strcmp(a, name) == 0 && v != NULL && (i++, 1))
        if (ARG("--endpoint")) {
            if (parse_endpoint(v) < 0)
                return -1;
            have_endpoint = true;
        } else if (ARG("--alt-port")) {
            char tmp[256], *save = NULL;
            snprintf(tmp, sizeof(tmp), "%s", v);
            for (char *t = strtok_r(tmp, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (cfg.n_ports == MAX_PORTS || toint(t) <= 0)
                    return -1;
                cfg.ports[cfg.n_ports++] = toint(t);
            }
        } else if (ARG("--access-key")) {
            ak = v;
        } else if (ARG("--secret-key")) {
            sk = v;
        } else if (ARG("--region")) {
            snprintf(cfg.region, sizeof(cfg.region), "%s", v);
        } else if (ARG("--bucket")) {
            snprintf(cfg.bucket, sizeof(cfg.bucket), "%s", v);
        } else if (ARG("--prefix")) {
            snprintf(cfg.prefix, sizeof(cfg.prefix), "%s", v);
        } else if (ARG("--conns")) {
            cfg.conns = toint(v);
        } else if (ARG("--threads")) {
            cfg.threads = toint(v);
        } else if (ARG("--mix")) {
            if (parse_mix(v) < 0)
                return -1;
        } else if (ARG("--size")) {
            if (parse_sizes(v) < 0)
                return -1;
        } else if (ARG("--keys")) {
            cfg.keys = strtoull(v, NULL, 10);
        } else if (ARG("--versions")) {
            cfg.versions = toint(v);
        } else if (ARG("--prefill-size")) {
            cfg.prefill_size = parse_size(v);
        } else if (ARG("--duration")) {
            cfg.duration = strtod(v, NULL);
        } else if (ARG("--warmup")) {
            cfg.warmup = strtod(v, NULL);
        } else if (ARG("--count")) {
            cfg.count = strtoull(v, NULL, 10);
        } else if (ARG("--max-keys")) {
            cfg.max_keys = toint(v);
        } else if (ARG("--raw-size")) {
            cfg.raw_size = parse_size(v);
        } else if (ARG("--label")) {
            snprintf(cfg.label, sizeof(cfg.label), "%s", v);
        } else if (ARG("--server-pid")) {
            char tmp[1024], *toks[MAX_PIDS];
            int n = split_commas(v, tmp, sizeof(tmp), toks, MAX_PIDS);
            for (int t = 0; t < n; t++)
                cfg.pids[t] = toint(toks[t]);
            cfg.n_pids = n;
        } else if (strcmp(a, "--raw") == 0 && i + 2 < argc) {
            snprintf(cfg.raw_method, sizeof(cfg.raw_method), "%s", argv[i + 1]);
            snprintf(cfg.raw_path, sizeof(cfg.raw_path), "%s", argv[i + 2]);
            i += 2;
            memset(cfg.mix, 0, sizeof(cfg.mix));
            cfg.mix[OP_RAW] = 1;
            cfg.anon = true;
        } else if (strcmp(a, "--anon") == 0) {
            cfg.anon = true;
        } else if (strcmp(a, "--signed-payload") == 0) {
            cfg.signed_payload = true;
        } else if (strcmp(a, "--create-bucket") == 0) {
            cfg.create_bucket = true;
        } else if (strcmp(a, "--versioning") == 0) {
            cfg.versioning = true;
        } else if (strcmp(a, "--prefill") == 0) {
            cfg.prefill = true;
        } else if (strcmp(a, "--prefill-only") == 0) {
            cfg.prefill = cfg.prefill_only = true;
        } else if (strcmp(a, "--random-puts") == 0) {
            cfg.unique_puts = false;
        } else if (strcmp(a, "--reset-hwm") == 0) {
            cfg.reset_hwm = true;
        } else if (strcmp(a, "--json") == 0) {
            cfg.json = true;
        } else if (strcmp(a, "--quiet") == 0) {
            cfg.quiet = true;
        } else {
            fprintf(stderr, "loadgen: bad argument %s\n", a);
            return -1;
        }
#undef ARG
    }
    if (!have_endpoint || cfg.conns < 1 || cfg.threads < 1)
        return -1;
    if (!cfg.anon) {
        if (ak == NULL || sk == NULL) {
            fprintf(stderr, "loadgen: no credentials (--access-key/--secret-key or --anon)\n");
            return -1;
        }
        snprintf(cfg.access_key, sizeof(cfg.access_key), "%s", ak);
        snprintf(cfg.secret_key, sizeof(cfg.secret_key), "%s", sk);
    }
    if (cfg.mix[OP_VGET] > 0 && !cfg.prefill) {
        fprintf(stderr, "loadgen: vget needs --prefill (it learns the version ids there)\n");
        return -1;
    }
    if (cfg.threads > cfg.conns)
        cfg.threads = cfg.conns;
    return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

static double
pct_ms(const struct samples *s, double p)
{
    size_t i;

    if (s->n == 0)
        return 0;
    /* Nearest rank. */
    i = (size_t)(p / 100.0 * (double)s->n + 0.999999);
    if (i < 1)
        i = 1;
    if (i > s->n)
        i = s->n;
    return (double)s->v[i - 1] / 1e6;
}

static void
merge(struct samples *dst, const struct samples *src)
{
    for (size_t i = 0; i < src->n; i++)
        sample_add(dst, src->v[i]);
    dst->errors += src->errors;
    dst->bytes += src->bytes;
    for (int i = 0; i < 6; i++)
        dst->status[i] += src->status[i];
}

static void
sleep_s(double s)
{
    struct timespec ts = {.tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9)};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int
main(int argc, char **argv)
{
    struct worker *ws;
    struct samples all[N_OPS + 1];
    uint64_t t_start, t_end, cpu0 = 0, cpu1 = 0, self0, self1;
    double secs;
    int per;

    if (parse_args(argc, argv) < 0) {
        fputs(usage, stderr);
        return 2;
    }
    clk_tck = sysconf(_SC_CLK_TCK);
    sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
    pattern = malloc(2 * PAT_SIZE);
    if (pattern == NULL)
        return 1;
    {
        uint64_t x = 0x9E3779B97F4A7C15ull;
        for (size_t i = 0; i < 2 * PAT_SIZE; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            pattern[i] = (unsigned char)(x >> 24);
        }
        memcpy(pattern + PAT_SIZE, pattern, PAT_SIZE);
    }
    if (cfg.signed_payload) {
        for (int i = 0; i < cfg.n_sizes; i++)
            hash_body(cfg.sizes[i], payload_hex[i]);
        hash_body(cfg.prefill_size, payload_hex[MAX_SIZES]);
    }
    if (!cfg.anon && (cfg.create_bucket || cfg.versioning) && setup_bucket() < 0)
        return 1;
    if (cfg.mix[OP_VGET] > 0 || cfg.versions > 1)
        vids = calloc(cfg.keys ? cfg.keys : 1, VID_MAX);

    ws = calloc((size_t)cfg.threads, sizeof(*ws));
    per = cfg.conns / cfg.threads;
    for (int t = 0, off = 0; t < cfg.threads; t++) {
        struct worker *w = &ws[t];
        w->id = t;
        w->n = per + (t < cfg.conns % cfg.threads);
        w->c = calloc((size_t)w->n, sizeof(*w->c));
        w->ep = epoll_create1(EPOLL_CLOEXEC);
        w->rng = 0x2545F4914F6CDD1Dull ^ ((uint64_t)(t + 1) * 0x9E3779B97F4A7C15ull) ^ now_ns();
        w->rbuf = malloc(RBUF_SIZE);
        for (int i = 0; i < w->n; i++) {
            w->c[i].fd = -1;
            w->c[i].w = w;
            /* The endpoint's port first, then each --alt-port in turn
             * (the Host header stays the endpoint's). */
            w->c[i].port = cfg.n_ports == 0 || (off + i) % (cfg.n_ports + 1) == 0
                               ? cfg.port
                               : cfg.ports[(off + i) % (cfg.n_ports + 1) - 1];
        }
        off += w->n;
    }

    if (cfg.prefill) {
        uint64_t t0 = now_ns();
        prefill_total = cfg.keys * (uint64_t)cfg.versions;
        atomic_store(&phase, PH_PREFILL);
        for (int t = 0; t < cfg.threads; t++)
            pthread_create(&ws[t].th, NULL, worker_main, &ws[t]);
        for (int t = 0; t < cfg.threads; t++)
            pthread_join(ws[t].th, NULL);
        if (!cfg.quiet)
            fprintf(stderr,
                    "loadgen: prefill %" PRIu64 " PUTs in %.1f s (%" PRIuFAST64 " failed)\n",
                    prefill_total, (double)(now_ns() - t0) / 1e9, atomic_load(&failures));
        if (atomic_load(&failures) > 0 && atomic_load(&failures) * 100 > prefill_total) {
            fprintf(stderr, "loadgen: prefill failed\n");
            return 1;
        }
        atomic_store(&failures, 0);
        if (cfg.prefill_only)
            return 0;
    }

    atomic_store(&phase, cfg.warmup > 0 ? PH_WARMUP : PH_MEASURE);
    for (int t = 0; t < cfg.threads; t++)
        pthread_create(&ws[t].th, NULL, worker_main, &ws[t]);
    if (cfg.warmup > 0) {
        sleep_s(cfg.warmup);
    }
    if (cfg.reset_hwm)
        reset_hwm();
    cpu0 = srv_cpu_ns();
    self0 = self_cpu_ns();
    t_start = now_ns();
    atomic_store(&phase, PH_MEASURE);
    if (cfg.count == 0) {
        sleep_s(cfg.duration);
        atomic_store(&phase, PH_STOP);
    }
    for (int t = 0; t < cfg.threads; t++)
        pthread_join(ws[t].th, NULL);
    t_end = now_ns();
    cpu1 = srv_cpu_ns();
    self1 = self_cpu_ns();
    secs = (double)(t_end - t_start) / 1e9;

    memset(all, 0, sizeof(all));
    for (int t = 0; t < cfg.threads; t++)
        for (int o = 0; o < N_OPS; o++) {
            merge(&all[o], &ws[t].st[o]);
            merge(&all[N_OPS], &ws[t].st[o]);
        }
    for (int o = 0; o <= N_OPS; o++)
        qsort(all[o].v, all[o].n, sizeof(uint64_t), cmp_u64);

    {
        struct samples *tot = &all[N_OPS];
        double ops_s = (double)tot->n / secs;
        double mb_s = (double)tot->bytes / secs / (1024.0 * 1024.0);
        double srv_us = tot->n && cfg.n_pids ? (double)(cpu1 - cpu0) / 1e3 / (double)tot->n : 0;
        double cli_us = tot->n ? (double)(self1 - self0) / 1e3 / (double)tot->n : 0;
        uint64_t hwm = srv_kb("VmHWM"), rss = srv_kb("VmRSS");
        uint64_t fails = atomic_load(&failures);

        if (!cfg.quiet) {
            printf("%-28s %7s %9s %10s %9s %9s %9s %9s %7s\n", cfg.label[0] ? cfg.label : "op",
                   "conns", "ops", "ops/s", "MB/s", "p50 ms", "p99 ms", "p999 ms", "errors");
            for (int o = 0; o <= N_OPS; o++) {
                struct samples *s = &all[o];
                if (s->n == 0 || (o == N_OPS && tot->n == 0))
                    continue;
                printf("%-28s %7d %9zu %10.1f %9.1f %9.3f %9.3f %9.3f %7" PRIu64 "\n",
                       o == N_OPS ? "total" : op_names[o], cfg.conns, s->n, (double)s->n / secs,
                       (double)s->bytes / secs / 1048576.0, pct_ms(s, 50), pct_ms(s, 99),
                       pct_ms(s, 99.9), s->errors);
            }
            printf("status 2xx %" PRIu64 " 3xx %" PRIu64 " 4xx %" PRIu64 " 5xx %" PRIu64
                   ", transport failures %" PRIu64 ", %.2f s\n",
                   tot->status[2], tot->status[3], tot->status[4], tot->status[5], fails, secs);
            if (cfg.n_pids)
                printf("server: %.1f us CPU/op, peak RSS %.1f MiB (now %.1f MiB); "
                       "client: %.1f us CPU/op\n",
                       srv_us, (double)hwm / 1024, (double)rss / 1024, cli_us);
            else
                printf("client: %.1f us CPU/op\n", cli_us);
        }
        if (cfg.json)
            printf("{\"label\":\"%s\",\"conns\":%d,\"ops\":%zu,\"secs\":%.3f,\"ops_s\":%.1f,"
                   "\"mb_s\":%.2f,\"p50_ms\":%.3f,\"p99_ms\":%.3f,\"p999_ms\":%.3f,"
                   "\"max_ms\":%.3f,\"errors\":%" PRIu64 ",\"failures\":%" PRIu64
                   ",\"srv_cpu_us_op\":%.2f,\"srv_hwm_kb\":%" PRIu64 ",\"cli_cpu_us_op\":%.2f}\n",
                   cfg.label, cfg.conns, tot->n, secs, ops_s, mb_s, pct_ms(tot, 50),
                   pct_ms(tot, 99), pct_ms(tot, 99.9), pct_ms(tot, 100), tot->errors, fails, srv_us,
                   hwm, cli_us);
    }
    return 0;
}
