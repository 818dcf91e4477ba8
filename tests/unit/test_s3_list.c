/* test_s3_list.c -- the bucket and listing handlers (s3_bucket.c, s3_list.c)
 * on production code only: known-answer XML, AWS validation messages
 * [spec-mfa-delete §2-§4.6, cases 1-9 and 45-48], pagination checked against
 * a brute-force listing, and the cost of skipping a common prefix (rows
 * read, not keys under it).
 *
 * Each test runs a real server in process, as tests/fuzz/fuzz_http.c does:
 * md_open() and blob_open() on a mkdtemp() data directory, http_server_new()
 * with s3_handle() on its own thread, and one client connection over a
 * socketpair handed to http_server_adopt(). Requests are real HTTP/1.1,
 * signed with SigV4 (auth/sigv4.h's signing key; the canonical request is
 * built here as any client builds it) by accounts and keys created in the
 * store; answers are parsed from the bytes the server sends back. Rows are
 * written as PutObject and DeleteObject write them: core/object.c's
 * object_put() and object_delete() inside md_write() closures (with the
 * versioning state each write asks for). Nothing of the library is
 * replaced.
 *
 * Cost: SQLite itself counts. sqlite3_auto_extension() reaches every
 * connection the store opens, and sqlite3_trace_v2() counts the rows
 * (SQLITE_TRACE_ROW) and VM steps (SQLITE_STMTSTATUS_VM_STEP at
 * SQLITE_TRACE_PROFILE) of the listing statements, those reading "FROM
 * versions INDEXED BY versions_..." (store/md_sql.h's LIST_OBJ, LIST_VER
 * and LV_KEY). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "auth/sigv4.h"
#include "common.h"
#include "core/object.h"
#include "crypto/cksum.h"
#include "crypto/hash.h"
#include "http/http_server.h"
#include "s3/s3.h"
#include "s3/s3_err.h"
#include "store/blob.h"
#include "store/md.h"
#include "util/buf.h"
#include "util/enc.h"
#include "util/log.h"
#include "xml/xml_read.h"

#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#define T0 1138985109000LL /* 2006-02-03T16:45:09.000Z */
#define REGION "us-east-1"
#define BATCH_MAX 1000 /* s3_list.c: rows one listing batch asks for at most */

#define MSG_MAX_KEYS "Provided max-keys not an integer or within integer range"
#define MSG_MAX_KEYS_NEG "max-keys cannot be negative"
#define MSG_ENCODING "Invalid Encoding Method specified in Request"
#define MSG_TOKEN "The continuation token provided is incorrect"

/* ---- rows read, counted by SQLite ---------------------------------------- */

static atomic_long list_rows;  /* rows the listing statements returned */
static atomic_long list_steps; /* their VM steps */

static bool
is_listing(sqlite3_stmt *s)
{
    const char *sql = sqlite3_sql(s);

    return sql != NULL && strstr(sql, "FROM versions INDEXED BY versions_") != NULL;
}

static int
trace_cb(unsigned type, void *ctx, void *p, void *x)
{
    sqlite3_stmt *s = p;

    (void)ctx;
    (void)x;
    if (!is_listing(s))
        return 0;
    if (type == SQLITE_TRACE_ROW)
        atomic_fetch_add(&list_rows, 1);
    else if (type == SQLITE_TRACE_PROFILE)
        atomic_fetch_add(&list_steps, sqlite3_stmt_status(s, SQLITE_STMTSTATUS_VM_STEP, 1));
    return 0;
}

/* Runs for every connection opened after registration (sqlite3_auto_extension). */
static int
hook_connection(sqlite3 *db, const char **err, const struct sqlite3_api_routines *api)
{
    (void)err;
    (void)api;
    return sqlite3_trace_v2(db, SQLITE_TRACE_ROW | SQLITE_TRACE_PROFILE, trace_cb, NULL);
}

static void
cost_reset(void)
{
    atomic_store(&list_rows, 0);
    atomic_store(&list_steps, 0);
}

/* ---- the server ---------------------------------------------------------- */

struct who {
    const char *name, *ak, *sk;
    int64_t id;
    char canonical_id[80];
};

static struct who users[3] = {
    {0},
    {"alice", "AKIDALICE00000000001", "alice-secret-0000000000000000000000000001", 0, ""},
    {"bob", "AKIDBOB0000000000002", "bob-secret-00000000000000000000000000000002", 0, ""},
};

static struct {
    char dir[64];
    struct md *md;
    struct blob *blob;
    struct srv srv;
    struct http_server *hs;
    pthread_t th;
    int fd; /* client end, -1 when not connected */
} S = {.fd = -1};

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void *
run_server(void *arg)
{
    http_server_run(arg);
    return NULL;
}

struct setup_arg {
    struct arena *a;
};

static int
w_accounts(struct md_conn *c, void *arg)
{
    struct setup_arg *sa = arg;
    int rc = 0;

    for (int i = 1; i <= 2 && rc == 0; i++) {
        struct md_key k = {0};
        rc = md_account_create(c, str_c(users[i].name), T0, &users[i].id);
        k.access_key_id = str_c(users[i].ak);
        k.account_id = users[i].id;
        k.secret = str_c(users[i].sk);
        k.created_ms = T0;
        k.is_active = true;
        if (rc == 0)
            rc = md_key_create(c, &k);
    }
    (void)sa;
    return rc;
}

static int
server_up(void **state)
{
    static bool hooked;
    struct setup_arg sa = {arena_new()};

    (void)state;
    if (!hooked) {
        /* GCC and SQLite both take void (*)(void) as "any function". */
        assert_int_equal(sqlite3_auto_extension((void (*)(void))hook_connection), SQLITE_OK);
        signal(SIGPIPE, SIG_IGN);
        log_set_level(LOG_WARN);
        assert_int_equal(log_access_open("/dev/null"), 0);
        hooked = true;
    }
    snprintf(S.dir, sizeof(S.dir), "/tmp/coffer-s3list-XXXXXX");
    assert_non_null(mkdtemp(S.dir));
    assert_int_equal(md_open(S.dir, &S.md), 0);
    assert_int_equal(blob_open(S.dir, &S.blob), 0);
    assert_int_equal(md_write(S.md, w_accounts, &sa), 0);
    for (int i = 1; i <= 2; i++) {
        struct md_account acc;
        assert_int_equal(md_account_get(md_reader(S.md), users[i].id, sa.a, &acc), 0);
        snprintf(users[i].canonical_id, sizeof(users[i].canonical_id), "%.*s",
                 STR_FMT(acc.canonical_id));
    }
    arena_free(sa.a);
    S.srv = (struct srv){.md = S.md, .blob = S.blob, .domain = "localhost", .region = REGION};
    S.hs = http_server_new(&(struct http_server_opts){.n_workers = 2,
                                                      .max_workers = 8,
                                                      .n_loops = 1,
                                                      .handler = s3_handle,
                                                      .error_body = s3_http_error_body,
                                                      .ctx = &S.srv});
    assert_non_null(S.hs);
    assert_int_equal(pthread_create(&S.th, NULL, run_server, S.hs), 0);
    return 0;
}

static void
client_close(void)
{
    if (S.fd >= 0)
        close(S.fd);
    S.fd = -1;
}

static int
server_down(void **state)
{
    (void)state;
    client_close();
    /* http_server_run() returns once SIGTERM's drain is done. */
    kill(getpid(), SIGTERM);
    pthread_join(S.th, NULL);
    http_server_free(S.hs);
    blob_close(S.blob);
    md_close(S.md);
    nftw(S.dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static void
client_open(void)
{
    int sv[2];
    struct timeval tv = {.tv_sec = 60};

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    assert_int_equal(http_server_adopt(S.hs, sv[0], NULL), 0);
    S.fd = sv[1];
    setsockopt(S.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

/* ---- rows, written as PutObject and DeleteObject write them ------------- */

/* The model of one bucket the brute-force listings read: every version in
 * listing order (keys bytewise, newest first). */
struct mrow {
    char key[24];
    char vid[40];
    int64_t n; /* write number in the bucket: mtime T0 + n s */
    bool latest, dm;
};

#define MAX_MODEL 2000
static struct mrow model[MAX_MODEL];
static size_t n_model;
static int64_t n_writes;
static struct md_bucket cur; /* the bucket rows go to */

struct put_arg {
    const struct md_bucket *b;
    struct str key, algo;
    bool dm;
    int64_t owner, n;
    struct arena *a;
    struct str vid; /* out */
};

static int
w_put(struct md_conn *c, void *arg)
{
    struct put_arg *p = arg;
    enum core_err err;
    bool replaced;

    if (p->dm) {
        struct object_del od;
        err = object_delete(c, p->b, p->key, STR_NULL, p->owner, T0 + p->n * 1000, p->a, &od);
        p->vid = od.version_id;
    } else {
        struct md_version v = {0};
        v.key = p->key;
        v.size = (int64_t)p->key.n;
        v.inline_data = p->key;
        v.mtime_ms = T0 + p->n * 1000;
        v.owner_id = p->owner;
        v.etag = STR_LIT("9b2cf535f27731c974343645a3985328");
        v.checksum_algo = p->algo;
        err = object_put(c, p->b, &v, p->a, &replaced);
        p->vid = v.version_id;
    }
    return err == CORE_E_OK ? 0 : -EIO;
}

/* The model after a write of key: a replaced null version goes, the key's
 * latest is demoted, the new version comes first among the key's. */
static void
model_add(const char *key, bool versioned, bool dm, struct str vid, int64_t n)
{
    struct mrow *r;
    size_t at = 0;

    if (!versioned) {
        for (size_t i = 0; i < n_model; i++) {
            if (strcmp(model[i].key, key) == 0 && strcmp(model[i].vid, "null") == 0) {
                memmove(&model[i], &model[i + 1], (n_model - i - 1) * sizeof(*model));
                n_model--;
                break;
            }
        }
    }
    for (size_t i = 0; i < n_model; i++)
        if (strcmp(model[i].key, key) == 0)
            model[i].latest = false;
    if (n_model == MAX_MODEL || strlen(key) >= sizeof(r->key))
        return; /* long keys (test_helpers) are never paged through */
    while (at < n_model && strcmp(model[at].key, key) < 0)
        at++; /* before the older versions of key: newest first */
    memmove(&model[at + 1], &model[at], (n_model - at) * sizeof(*model));
    n_model++;
    r = &model[at];
    memset(r, 0, sizeof(*r));
    snprintf(r->key, sizeof(r->key), "%s", key);
    snprintf(r->vid, sizeof(r->vid), "%.*s", STR_FMT(vid));
    r->n = n;
    r->latest = true;
    r->dm = dm;
}

/* Writes waiting for flush_rows(): test_pagination_random gathers a whole
 * bucket into one md_write() (one commit instead of one per version). */
#define MAX_BATCH 256
static struct {
    struct put_arg p;
    struct md_bucket b;
    bool versioned;
    char *key;     /* owned copy */
    char *vid_out; /* the caller's, or NULL */
} batch[MAX_BATCH];
static size_t n_batch;
static bool batching;

static int
w_put_all(struct md_conn *c, void *arg)
{
    (void)arg;
    for (size_t i = 0; i < n_batch; i++) {
        int rc = w_put(c, &batch[i].p);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static void
flush_rows(void)
{
    struct arena *a = arena_new();

    for (size_t i = 0; i < n_batch; i++)
        batch[i].p.a = a;
    if (n_batch > 0)
        assert_int_equal(md_write(S.md, w_put_all, NULL), 0);
    for (size_t i = 0; i < n_batch; i++) {
        assert_true(batch[i].p.vid.n > 0);
        if (batch[i].vid_out != NULL)
            snprintf(batch[i].vid_out, 40, "%.*s", STR_FMT(batch[i].p.vid));
        model_add(batch[i].key, batch[i].versioned, batch[i].p.dm, batch[i].p.vid, batch[i].p.n);
        free(batch[i].key);
    }
    n_batch = 0;
    arena_free(a);
}

/* Writes one version of key to cur (versioned: on an Enabled bucket, else on
 * a Suspended one, replacing the null version); dm: a delete marker. who
 * is 1 (alice) or 2 (bob). The vid is copied to vid_out (40 bytes) when not
 * NULL, once written (at once unless batching). */
static void
put_row_algo(const char *key, bool versioned, bool dm, int who, const char *algo, char *vid_out)
{
    size_t i = n_batch++;

    assert_true(i < MAX_BATCH);
    batch[i].key = strdup(key);
    batch[i].vid_out = vid_out;
    batch[i].versioned = versioned;
    batch[i].b = cur;
    batch[i].b.versioning = versioned ? MD_VER_ENABLED : MD_VER_SUSPENDED;
    batch[i].p = (struct put_arg){.b = &batch[i].b,
                                  .key = str_c(batch[i].key),
                                  .algo = str_c(algo),
                                  .dm = dm,
                                  .owner = users[who].id,
                                  .n = ++n_writes};
    if (!batching)
        flush_rows();
}

static void
put_row(const char *key, bool versioned, bool dm, int who)
{
    put_row_algo(key, versioned, dm, who, "", NULL);
}

struct bucket_arg {
    const char *name, *region;
    int64_t owner, id;
};

static int
w_bucket(struct md_conn *c, void *arg)
{
    struct bucket_arg *x = arg;

    return md_bucket_create(c, str_c(x->name), x->owner, str_c(x->region), T0, &x->id);
}

/* A new bucket of alice (or who) in region; rows go there from now on. */
static void
bucket_in(const char *name, int who, const char *region)
{
    struct bucket_arg x = {name, region, users[who].id, 0};

    assert_int_equal(md_write(S.md, w_bucket, &x), 0);
    memset(&cur, 0, sizeof(cur));
    cur.id = x.id;
    cur.name = str_c(name);
    cur.account_id = x.owner;
    n_model = 0;
    n_writes = 0;
}

static void
bucket(const char *name)
{
    bucket_in(name, 1, REGION);
}

/* ---- requests ------------------------------------------------------------ */

/* The last answer. */
static struct {
    int status;
    char head[8192];
    char *body; /* NUL-terminated; "" when none */
    size_t n;
    struct arena *a; /* its parsed XML */
    struct xml_node *xml;
} R;

static void
hex_sha256(const void *p, size_t n, char out[65])
{
    unsigned char d[32];

    sha256(p, n, d);
    hex_encode(d, 32, out);
}

struct hdr {
    char name[64]; /* lower case */
    char value[256];
};

static int
hdr_cmp(const void *x, const void *y)
{
    return strcmp(((const struct hdr *)x)->name, ((const struct hdr *)y)->name);
}

struct qp {
    char *name, *value; /* SigV4-encoded */
};

static int
qp_cmp(const void *x, const void *y)
{
    const struct qp *a = x, *b = y;
    int c = strcmp(a->name, b->name);

    return c != 0 ? c : strcmp(a->value, b->value);
}

static char *
enc(struct arena *a, const char *s, size_t n, bool keep_slash)
{
    struct buf b;
    char *out;

    buf_init(&b, 1 << 20);
    assert_int_equal(uri_encode(&b, str_make(s, n), keep_slash), 0);
    out = arena_strndup(a, b.p ? b.p : "", b.n);
    buf_free(&b);
    return out;
}

static void
read_exact(char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = read(S.fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        assert_true(k > 0);
        p += k;
        n -= (size_t)k;
    }
}

static void
write_all(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t k = write(S.fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        assert_true(k > 0);
        p += k;
        n -= (size_t)k;
    }
}

/* Value of header name in the last answer, or NULL (R.head, case-insensitive). */
static const char *
resp_header(const char *name, char *out, size_t cap)
{
    size_t nl = strlen(name);

    for (const char *l = strstr(R.head, "\r\n"); l != NULL; l = strstr(l + 2, "\r\n")) {
        const char *h = l + 2;
        if (strncasecmp(h, name, nl) == 0 && h[nl] == ':') {
            const char *v = h + nl + 1, *e = strstr(v, "\r\n");
            while (*v == ' ')
                v++;
            snprintf(out, cap, "%.*s", (int)(e - v), v);
            return out;
        }
    }
    return NULL;
}

static void
read_response(bool head_request)
{
    size_t got = 0;
    char v[64];
    unsigned long long len = 0;

    memset(R.head, 0, sizeof(R.head));
    /* Byte by byte up to the blank line: the body follows on the same stream. */
    while (got < 4 || memcmp(R.head + got - 4, "\r\n\r\n", 4) != 0) {
        assert_true(got < sizeof(R.head) - 1);
        read_exact(R.head + got, 1);
        got++;
    }
    assert_int_equal(sscanf(R.head, "HTTP/1.1 %d", &R.status), 1);
    if (resp_header("Content-Length", v, sizeof(v)) != NULL)
        assert_int_equal(str_to_u64(str_c(v), &len), 0);
    if (head_request)
        len = 0;
    R.body = arena_alloc(R.a, len + 1);
    read_exact(R.body, len);
    R.body[len] = '\0';
    R.n = len;
    R.xml = NULL;
    if (len > 0)
        assert_int_equal(xml_parse(R.a, str_make(R.body, len), &R.xml), 0);
    if (resp_header("Connection", v, sizeof(v)) != NULL && strcasecmp(v, "close") == 0)
        client_close();
}

/* Sends one request as user who and reads the answer into R.
 * query: "name=value&name&..." with plain values (encoded here);
 * hdrs: "Name: value" lines, NULL-terminated; a value "*" on Content-MD5 or
 * x-amz-checksum-crc32 is replaced by the right digest of body. */
static void
request(int who, const char *method, const char *bucket_name, const char *query,
        const char *const *hdrs, const char *body)
{
    struct arena *a = arena_new();
    struct qp qps[32];
    struct hdr hs[16];
    size_t nq = 0, nh = 0, blen = body ? strlen(body) : 0;
    char *qs = arena_strndup(a, query ? query : "", query ? strlen(query) : 0);
    char *path, amz_date[17], date8[9], payload[65], creq_hash[65], sig[65];
    unsigned char key[32], mac[32];
    struct buf wire, canon, sh, qwire;
    time_t now = time(NULL);
    struct tm tmv;
    char *scope, *sts;

    arena_free(R.a);
    R.a = arena_new();
    gmtime_r(&now, &tmv);
    strftime(amz_date, sizeof(amz_date), "%Y%m%dT%H%M%SZ", &tmv);
    memcpy(date8, amz_date, 8);
    date8[8] = '\0';
    hex_sha256(body ? body : "", blen, payload);
    path =
        bucket_name ? arena_printf(a, "/%s", enc(a, bucket_name, strlen(bucket_name), true)) : "/";

    /* query: as sent (in the given order) and canonical (sorted) */
    buf_init(&qwire, 1 << 20);
    while (*qs != '\0') {
        char *amp = strchr(qs, '&'), *eq;
        if (amp != NULL)
            *amp = '\0';
        eq = strchr(qs, '=');
        assert_true(nq < ARRAY_LEN(qps));
        if (eq != NULL) {
            *eq = '\0';
            qps[nq].value = enc(a, eq + 1, strlen(eq + 1), false);
        } else {
            qps[nq].value = "";
        }
        qps[nq].name = enc(a, qs, strlen(qs), false);
        buf_printf(&qwire, "%s%s%s%s", nq ? "&" : "", qps[nq].name, eq ? "=" : "", qps[nq].value);
        nq++;
        qs = amp != NULL ? amp + 1 : qs + strlen(qs);
    }
    qsort(qps, nq, sizeof(*qps), qp_cmp);

    /* headers: host, x-amz-*, the caller's; all signed */
    snprintf(hs[nh].name, sizeof(hs[nh].name), "host");
    snprintf(hs[nh++].value, sizeof(hs[0].value), "localhost");
    snprintf(hs[nh].name, sizeof(hs[nh].name), "x-amz-content-sha256");
    snprintf(hs[nh++].value, sizeof(hs[0].value), "%s", payload);
    snprintf(hs[nh].name, sizeof(hs[nh].name), "x-amz-date");
    snprintf(hs[nh++].value, sizeof(hs[0].value), "%s", amz_date);
    for (size_t i = 0; hdrs && hdrs[i]; i++) {
        const char *colon = strchr(hdrs[i], ':');
        size_t k;
        assert_non_null(colon);
        assert_true(nh < ARRAY_LEN(hs));
        for (k = 0; hdrs[i] + k < colon && k < sizeof(hs[nh].name) - 1; k++)
            hs[nh].name[k] = (char)tolower((unsigned char)hdrs[i][k]);
        hs[nh].name[k] = '\0';
        snprintf(hs[nh].value, sizeof(hs[nh].value), "%s", colon + 2);
        if (strcmp(hs[nh].value, "*") == 0 && strcmp(hs[nh].name, "content-md5") == 0) {
            unsigned char d[HASH_MAX_LEN];
            struct hash *h = hash_new(HASH_MD5);
            hash_update(h, body ? body : "", blen);
            b64_encode(d, hash_final(h, d), hs[nh].value);
        } else if (strcmp(hs[nh].value, "*") == 0 &&
                   strcmp(hs[nh].name, "x-amz-checksum-crc32") == 0) {
            unsigned char d[CKSUM_MAX_LEN];
            struct cksum ck;
            cksum_init(&ck, CKSUM_CRC32);
            cksum_update(&ck, body ? body : "", blen);
            b64_encode(d, cksum_final(&ck, d), hs[nh].value);
        }
        nh++;
    }
    qsort(hs, nh, sizeof(*hs), hdr_cmp);

    /* SigV4: canonical request, string to sign, signature */
    buf_init(&canon, 1 << 20);
    buf_init(&sh, 4096);
    buf_printf(&canon, "%s\n%s\n", method, path);
    for (size_t i = 0; i < nq; i++)
        buf_printf(&canon, "%s%s=%s", i ? "&" : "", qps[i].name, qps[i].value);
    buf_append_c(&canon, "\n");
    for (size_t i = 0; i < nh; i++) {
        buf_printf(&canon, "%s:%s\n", hs[i].name, hs[i].value);
        buf_printf(&sh, "%s%s", i ? ";" : "", hs[i].name);
    }
    buf_printf(&canon, "\n%s\n%s", sh.p, payload);
    hex_sha256(canon.p, canon.n, creq_hash);
    scope = arena_printf(a, "%s/%s/s3/aws4_request", date8, REGION);
    sts = arena_printf(a, "AWS4-HMAC-SHA256\n%s\n%s\n%s", amz_date, scope, creq_hash);
    sigv4_signing_key(str_c(users[who].sk), str_c(date8), STR_LIT(REGION), STR_LIT("s3"), key);
    hmac_sha256(key, 32, sts, strlen(sts), mac);
    hex_encode(mac, 32, sig);

    buf_init(&wire, 1 << 24);
    buf_printf(&wire, "%s %s%s%s HTTP/1.1\r\n", method, path, nq ? "?" : "",
               qwire.p ? qwire.p : "");
    for (size_t i = 0; i < nh; i++)
        buf_printf(&wire, "%s: %s\r\n", hs[i].name, hs[i].value);
    buf_printf(&wire,
               "Authorization: AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
               "Signature=%s\r\nContent-Length: %zu\r\n\r\n",
               users[who].ak, scope, sh.p, sig, blen);
    if (blen)
        buf_append(&wire, body, blen);
    if (S.fd < 0)
        client_open();
    write_all(wire.p, wire.n);
    read_response(strcmp(method, "HEAD") == 0);
    buf_free(&wire);
    buf_free(&canon);
    buf_free(&sh);
    buf_free(&qwire);
    arena_free(a);
}

/* The S3 error the last answer carries (its status and Code, the first
 * enum s3_err with both), S3E_OK for a 2xx. */
static enum s3_err
answer(void)
{
    struct xml_node *code;

    if (R.status >= 200 && R.status < 300)
        return S3E_OK;
    code = R.xml ? xml_child(R.xml, "Code") : NULL;
    for (int e = 1; e < S3E__COUNT; e++)
        if (s3_err_status(e) == R.status &&
            (R.xml == NULL ? true : code != NULL && str_eq_c(code->text, s3_err_code(e))))
            return (enum s3_err)e;
    print_message("unexpected answer %d:\n%s\n", R.status, R.body);
    fail();
    return S3E_INTERNAL;
}

static enum s3_err
call(int who, const char *method, const char *bkt, const char *query, const char *const *hdrs,
     const char *body)
{
    request(who, method, bkt, query, hdrs, body);
    return answer();
}

/* The handlers, as the routes of s3_ops.def reach them. */
static enum s3_err
list_v1(const char *bkt, const char *query)
{
    return call(1, "GET", bkt, query, NULL, NULL);
}

static enum s3_err
list_v2(const char *bkt, const char *query)
{
    return call(1, "GET", bkt, query, NULL, NULL); /* query holds list-type */
}

static enum s3_err
list_versions(const char *bkt, const char *query)
{
    return call(1, "GET", bkt, query, NULL, NULL); /* query holds versions */
}

/* Text of a top-level element of the answer, or NULL. */
static const char *
elem(const char *name)
{
    struct xml_node *c = R.xml ? xml_child(R.xml, name) : NULL;

    return c ? arena_cstr(R.a, c->text) : NULL;
}

#define XHDR "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
#define NS "xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""
#define ETAG "<ETag>&quot;9b2cf535f27731c974343645a3985328&quot;</ETag>"
#define OWNER "<Owner><ID>%s</ID><DisplayName>%s</DisplayName></Owner>"

/* OWNER for user who. */
static const char *
owner(int who)
{
    static char o[2][256];
    char *s = o[who - 1];

    snprintf(s, sizeof(o[0]), OWNER, users[who].canonical_id, users[who].name);
    return s;
}

/* want with "%1" replaced by alice's Owner element and "%2" by bob's. */
static char *
with_owners(const char *want)
{
    struct buf b;
    char *out;

    buf_init(&b, 1 << 20);
    for (const char *p = want; *p; p++) {
        if (p[0] == '%' && (p[1] == '1' || p[1] == '2')) {
            buf_append_c(&b, owner(p[1] - '0'));
            p++;
        } else {
            buf_append(&b, p, 1);
        }
    }
    out = arena_strndup(R.a, b.p, b.n);
    buf_free(&b);
    return out;
}

static void
expect_body(const char *want)
{
    assert_string_equal(R.body, with_owners(want));
}

static bool
body_has(const char *want)
{
    return strstr(R.body, with_owners(want)) != NULL;
}

/* Runs one listing and checks the InvalidArgument detail. */
static void
expect_arg_error(enum s3_err (*fn)(const char *, const char *), const char *query, const char *msg,
                 const char *arg_name, const char *arg_value)
{
    assert_int_equal(fn("bkt", query), S3E_INVALID_ARGUMENT);
    assert_string_equal(elem("Message"), msg);
    assert_string_equal(elem("ArgumentName"), arg_name);
    if (arg_value == NULL)
        assert_null(elem("ArgumentValue"));
    else
        assert_string_equal(elem("ArgumentValue"), arg_value);
    assert_null(strstr(R.body, "ListBucketResult")); /* no listing was sent */
    assert_null(strstr(R.body, "ListVersionsResult"));
}

/* ---- the helpers, as requests see them ---------------------------------- */

static void
test_helpers(void **state)
{
    static const struct {
        const char *in, *out;
    } encv[] = {
        {"photos/2006/Jan sample.jpg", "photos/2006/Jan+sample.jpg"},
        {"a+b&c=d%e", "a%2Bb%26c%3Dd%25e"},
        {"~-_.AZaz09", "~-_.AZaz09"},
        {"caf\xc3\xa9\x01", "caf%C3%A9%01"},
    };
    static const char *const good[] = {
        "abc",    "my-bucket.example",
        "a.b-c",  "0bucket9",
        "xn-abc", "a23456789012345678901234567890123456789012345678901234567890123"};
    static const char *const bad[] = {
        "ab",
        "ABC",
        "a_b",
        "-abc",
        "abc-",
        "a..b",
        "192.168.5.4",
        "xn--abc",
        "sthree-x",
        "abc-s3alias",
        "abc--ol-s3",
        ".abc",
        "a234567890123456789012345678901234567890123456789012345678901234",
        "ab c"};
    static const char *const bad_tokens[] = {"not a token",
                                             "WGRpci8=", /* kind 'X' */
                                             "Sw==",     /* "K": no key */
                                             "SwBh",     /* a NUL in the key */
                                             "UA==",     /* "P": no prefix */
                                             ""};
    char q[256], want[256];

    (void)state;
    /* url encoding (encoding-type=url) of keys */
    bucket("enc");
    for (size_t i = 0; i < ARRAY_LEN(encv); i++)
        put_row(encv[i].in, false, false, 1);
    for (size_t i = 0; i < ARRAY_LEN(encv); i++) {
        snprintf(q, sizeof(q), "encoding-type=url&prefix=%s", encv[i].in);
        assert_int_equal(list_v1("enc", q), S3E_OK);
        snprintf(want, sizeof(want), "<Contents><Key>%s</Key>", encv[i].out);
        assert_non_null(strstr(R.body, want));
    }

    /* The prefix successor: "a/" resumes at "a0", after every key under
     * "a/": the second batch reads "a0" and nothing of "a/". */
    bucket("succ");
    for (int i = 1; i <= 9; i++) {
        snprintf(q, sizeof(q), "a/%d", i);
        put_row(q, false, false, 1);
    }
    put_row("a0", false, false, 1);
    cost_reset();
    assert_int_equal(list_v2("succ", "list-type=2&delimiter=/&max-keys=2"), S3E_OK);
    assert_non_null(strstr(R.body, "<KeyCount>2</KeyCount>"));
    assert_non_null(strstr(R.body, "<IsTruncated>false</IsTruncated><Contents><Key>a0</Key>"));
    assert_non_null(strstr(R.body, "<CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes>"));
    assert_int_equal(atomic_load(&list_rows), 4); /* a/1 a/2 a/3, then a0 */
    /* "a\xff\xff" resumes at "b"; nothing follows "\xff". Keys and
     * delimiters are UTF-8, which has no 0xFF: only a continuation token
     * naming such a prefix reaches these cases. */
    bucket("succ-ff");
    put_row("a\xff\xffq", false, false, 1);
    put_row("b", false, false, 1);
    put_row("c", false, false, 1);
    assert_int_equal(
        list_v2("succ-ff", "list-type=2&encoding-type=url&continuation-token=UGH//w=="),
        S3E_OK); /* 'P' "a\xff\xff" */
    assert_non_null(strstr(R.body, "<KeyCount>2</KeyCount>"));
    assert_non_null(strstr(R.body, "<Contents><Key>b</Key>"));
    assert_null(strstr(R.body, "%FF"));
    assert_int_equal(list_v2("succ-ff", "list-type=2&continuation-token=UP8="), S3E_OK);
    assert_non_null(strstr(R.body, "<KeyCount>0</KeyCount>"));
    assert_non_null(strstr(R.body, "<IsTruncated>false</IsTruncated></ListBucketResult>"));

    /* Common prefixes: up to and including the first delimiter after the
     * prefix; none without a delimiter or a delimiter after the prefix. */
    bucket("cpfx");
    put_row("p/q/r", false, false, 1);
    put_row("p/q", false, false, 1);
    put_row("xxabyyab", false, false, 1);
    assert_int_equal(list_v1("cpfx", "prefix=p/&delimiter=/"), S3E_OK);
    assert_non_null(strstr(R.body, "<CommonPrefixes><Prefix>p/q/</Prefix></CommonPrefixes>"));
    assert_non_null(strstr(R.body, "<Contents><Key>p/q</Key>"));
    assert_null(strstr(R.body, "<Key>p/q/r</Key>"));
    assert_int_equal(list_v1("cpfx", "delimiter=ab"), S3E_OK);
    assert_non_null(strstr(R.body, "<CommonPrefixes><Prefix>xxab</Prefix></CommonPrefixes>"));
    assert_int_equal(list_v1("cpfx", "prefix=p/"), S3E_OK);
    assert_non_null(strstr(R.body, "<Contents><Key>p/q</Key>"));
    assert_null(strstr(R.body, "CommonPrefixes"));

    /* Tokens round-trip; junk, wrong kinds and NULs are refused. */
    bucket("tok");
    put_row("dir/1", false, false, 1);
    put_row("dir/2", false, false, 1);
    put_row("k", false, false, 1);
    put_row("k2", false, false, 1);
    assert_int_equal(list_v2("tok", "list-type=2&delimiter=/&max-keys=1"), S3E_OK);
    assert_string_equal(elem("NextContinuationToken"), "UGRpci8="); /* 'P' "dir/" */
    assert_int_equal(
        list_v2("tok", "list-type=2&delimiter=/&max-keys=1&continuation-token=UGRpci8="), S3E_OK);
    assert_non_null(strstr(R.body, "<Contents><Key>k</Key>"));
    assert_null(strstr(R.body, "dir/"));
    assert_string_equal(elem("NextContinuationToken"), "S2s="); /* 'K' "k" */
    assert_int_equal(list_v2("tok", "list-type=2&continuation-token=S2s="), S3E_OK);
    assert_non_null(strstr(R.body, "<KeyCount>1</KeyCount>"));
    assert_non_null(strstr(R.body, "<Contents><Key>k2</Key>"));
    for (size_t i = 0; i < ARRAY_LEN(bad_tokens); i++) {
        snprintf(q, sizeof(q), "list-type=2&continuation-token=%s", bad_tokens[i]);
        assert_int_equal(list_v2("tok", q), S3E_INVALID_ARGUMENT);
        assert_string_equal(elem("Message"), MSG_TOKEN);
    }

    /* Bucket names, as CreateBucket judges them. */
    for (size_t i = 0; i < ARRAY_LEN(good); i++)
        assert_int_equal(call(1, "PUT", good[i], NULL, NULL, NULL), S3E_OK);
    for (size_t i = 0; i < ARRAY_LEN(bad); i++)
        assert_int_equal(call(1, "PUT", bad[i], NULL, NULL, NULL), S3E_INVALID_BUCKET_NAME);
}

/* ---- ListObjects v1 / v2 ------------------------------------------------- */

static void
small_bucket(const char *algo_of_a)
{
    bucket("bkt");
    put_row_algo("a", false, false, 1, algo_of_a, NULL);
    put_row("b/1", false, false, 1);
    put_row("b/2", false, false, 2);
    put_row("c d+&", false, false, 1);
    put_row("gone", false, false, 1);
    put_row("gone", true, true, 1); /* marker current: not listed */
}

static void
test_list_v1(void **state)
{
    (void)state;
    small_bucket("");
    assert_int_equal(list_v1("bkt", "delimiter=/"), S3E_OK);
    assert_int_equal(R.status, 200);
    expect_body(XHDR
                "<ListBucketResult " NS "><Name>bkt</Name><Prefix></Prefix><Marker></Marker>"
                "<MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>"
                "<IsTruncated>false</IsTruncated>"
                "<Contents><Key>a</Key><LastModified>2006-02-03T16:45:10.000Z</LastModified>" ETAG
                "<Size>1</Size>%1<StorageClass>STANDARD</StorageClass></Contents>"
                "<Contents><Key>c d+&amp;</Key>"
                "<LastModified>2006-02-03T16:45:13.000Z</LastModified>" ETAG "<Size>5</Size>%1"
                "<StorageClass>STANDARD</StorageClass></Contents>"
                "<CommonPrefixes><Prefix>b/</Prefix></CommonPrefixes></ListBucketResult>");

    /* Truncated with a delimiter: NextMarker is the last entry, here the
     * common prefix; resuming from it does not repeat it. */
    assert_int_equal(list_v1("bkt", "delimiter=/&max-keys=2&encoding-type=url"), S3E_OK);
    expect_body(XHDR
                "<ListBucketResult " NS "><Name>bkt</Name><Prefix></Prefix><Marker></Marker>"
                "<NextMarker>b/</NextMarker><MaxKeys>2</MaxKeys><Delimiter>/</Delimiter>"
                "<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated>"
                "<Contents><Key>a</Key><LastModified>2006-02-03T16:45:10.000Z</LastModified>" ETAG
                "<Size>1</Size>%1<StorageClass>STANDARD</StorageClass></Contents>"
                "<CommonPrefixes><Prefix>b/</Prefix></CommonPrefixes></ListBucketResult>");
    assert_int_equal(list_v1("bkt", "delimiter=/&marker=b/&encoding-type=url"), S3E_OK);
    assert_non_null(strstr(R.body, "<Marker>b/</Marker><MaxKeys>1000</MaxKeys>"));
    assert_non_null(strstr(R.body, "<IsTruncated>false</IsTruncated><Contents><Key>c+d%2B%26"
                                   "</Key>"));
    assert_null(strstr(R.body, "CommonPrefixes"));

    /* Without a delimiter no NextMarker even when truncated. */
    assert_int_equal(list_v1("bkt", "max-keys=1&prefix=b"), S3E_OK);
    assert_non_null(strstr(R.body, "<Prefix>b</Prefix><Marker></Marker><MaxKeys>1</MaxKeys>"
                                   "<IsTruncated>true</IsTruncated><Contents><Key>b/1</Key>"));
    assert_null(strstr(R.body, "NextMarker"));

    /* Another account's object shows its owner. */
    assert_int_equal(list_v1("bkt", "marker=b/1&max-keys=1"), S3E_OK);
    assert_non_null(strstr(R.body, "<Key>b/2</Key>"));
    assert_true(body_has("%2"));

    assert_int_equal(list_v1("nope", NULL), S3E_NO_SUCH_BUCKET);
}

static void
test_list_v2(void **state)
{
    char tok[64];

    (void)state;
    small_bucket("CRC64NVME");
    assert_int_equal(list_v2("bkt", "list-type=2&delimiter=/&max-keys=2"), S3E_OK);
    /* Token of a page ending on "b/": kind 'P' + "b/" = "UGIv". */
    expect_body(XHDR
                "<ListBucketResult " NS "><Name>bkt</Name><Prefix></Prefix>"
                "<NextContinuationToken>UGIv</NextContinuationToken><KeyCount>2</KeyCount>"
                "<MaxKeys>2</MaxKeys><Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>"
                "<Contents><Key>a</Key><LastModified>2006-02-03T16:45:10.000Z</LastModified>" ETAG
                "<ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm>"
                "<ChecksumType>FULL_OBJECT</ChecksumType><Size>1</Size>"
                "<StorageClass>STANDARD</StorageClass></Contents>"
                "<CommonPrefixes><Prefix>b/</Prefix></CommonPrefixes></ListBucketResult>");
    cost_reset();
    assert_int_equal(list_v2("bkt", "list-type=2&delimiter=/&continuation-token=UGIv"
                                    "&fetch-owner=true&start-after=zzz"),
                     S3E_OK);
    expect_body(XHDR "<ListBucketResult " NS "><Name>bkt</Name><Prefix></Prefix>"
                     "<StartAfter>zzz</StartAfter><ContinuationToken>UGIv</ContinuationToken>"
                     "<KeyCount>1</KeyCount><MaxKeys>1000</MaxKeys><Delimiter>/</Delimiter>"
                     "<IsTruncated>false</IsTruncated>"
                     "<Contents><Key>c d+&amp;</Key>"
                     "<LastModified>2006-02-03T16:45:13.000Z</LastModified>" ETAG
                     "<Size>5</Size>%1<StorageClass>STANDARD</StorageClass></Contents>"
                     "</ListBucketResult>");
    assert_int_equal(atomic_load(&list_rows), 1); /* started past "b/", never read b/1, b/2 */

    /* start-after, key token, max-keys=0 */
    assert_int_equal(list_v2("bkt", "list-type=2&start-after=b/1"), S3E_OK);
    assert_non_null(strstr(R.body, "<KeyCount>2</KeyCount>"));
    assert_non_null(strstr(R.body, "<Key>b/2</Key>"));
    assert_int_equal(list_v2("bkt", "list-type=2&max-keys=1"), S3E_OK);
    snprintf(tok, sizeof(tok), "<NextContinuationToken>%s</NextContinuationToken>", "S2E=");
    assert_non_null(strstr(R.body, tok));
    assert_int_equal(list_v2("bkt", "list-type=2&continuation-token=S2E="), S3E_OK);
    assert_non_null(strstr(R.body, "<KeyCount>3</KeyCount>"));
    assert_non_null(strstr(R.body, "<Contents><Key>b/1</Key>"));
    assert_int_equal(list_v2("bkt", "list-type=2&max-keys=0"), S3E_OK);
    assert_non_null(strstr(R.body, "<KeyCount>0</KeyCount><MaxKeys>0</MaxKeys>"
                                   "<IsTruncated>false</IsTruncated></ListBucketResult>"));
    assert_int_equal(list_v2("bkt", "list-type=2&max-keys=2147483647"), S3E_OK);
    assert_non_null(strstr(R.body, "<MaxKeys>2147483647</MaxKeys>"));

    expect_arg_error(list_v2, "list-type=2&continuation-token=garbage!", MSG_TOKEN,
                     "continuation-token", "garbage!");
    expect_arg_error(list_v2, "list-type=2&encoding-type=xml", MSG_ENCODING, "encoding-type",
                     "xml");
    expect_arg_error(list_v2, "list-type=3", "Invalid List Type specified in Request", "list-type",
                     "3");
    expect_arg_error(list_v1, "max-keys=abc&encoding-type=bad", MSG_MAX_KEYS, "max-keys", "abc");
    expect_arg_error(list_v1, "max-keys=2147483648", MSG_MAX_KEYS, "max-keys", "2147483648");
    expect_arg_error(list_v1, "max-keys=-1", MSG_MAX_KEYS_NEG, "max-keys", NULL);
    expect_arg_error(list_v1, "max-keys=1.5", MSG_MAX_KEYS, "max-keys", "1.5");
}

/* ---- pagination against a brute-force listing --------------------------- */

static bool
has_prefix_c(const char *key, struct str prefix)
{
    return strlen(key) >= prefix.n && memcmp(key, prefix.p, prefix.n) == 0;
}

/* The common prefix key rolls up to (the reference's own, from the rule in
 * the S3 documentation), or 0 when none. */
static size_t
ref_common_prefix(struct str prefix, struct str delim, const char *key)
{
    const char *hit;

    if (delim.p == NULL || delim.n == 0 || strlen(key) < prefix.n)
        return 0;
    hit = memmem(key + prefix.n, strlen(key) - prefix.n, delim.p, delim.n);
    return hit ? (size_t)(hit - key) + delim.n : 0;
}

/* Every latest key under prefix, rolled up, as a flat list of names:
 * the reference every paginated listing must reproduce. */
static size_t
expected_objects(struct str prefix, struct str delim, char names[][64])
{
    size_t n = 0;

    for (size_t i = 0; i < n_model; i++) {
        const struct mrow *r = &model[i];
        size_t cp;
        if (!r->latest || r->dm || !has_prefix_c(r->key, prefix))
            continue;
        cp = ref_common_prefix(prefix, delim, r->key);
        if (cp == 0)
            snprintf(names[n++], 64, "%s", r->key);
        else if (n == 0 || strlen(names[n - 1]) != cp || memcmp(names[n - 1], r->key, cp) != 0)
            snprintf(names[n++], 64, "%.*s", (int)cp, r->key);
    }
    return n;
}

static size_t
expected_versions(struct str prefix, struct str delim, char names[][64])
{
    size_t n = 0;

    for (size_t i = 0; i < n_model; i++) {
        const struct mrow *r = &model[i];
        size_t cp;
        if (!has_prefix_c(r->key, prefix))
            continue;
        cp = ref_common_prefix(prefix, delim, r->key);
        if (cp == 0)
            snprintf(names[n++], 64, "%s@%s%s", r->key, r->vid, r->dm ? "!" : "");
        else if (n == 0 || strlen(names[n - 1]) != cp || memcmp(names[n - 1], r->key, cp) != 0)
            snprintf(names[n++], 64, "%.*s", (int)cp, r->key);
    }
    return n;
}

static int
name_cmp(struct str a, struct str b)
{
    size_t n = a.n < b.n ? a.n : b.n;
    int c = n ? memcmp(a.p, b.p, n) : 0;

    return c != 0 ? c : a.n < b.n ? -1 : a.n > b.n;
}

/* Appends one page's entries to names in listing order: the page holds
 * entries (or versions) first and common prefixes after, each sorted. */
static void
page_names(struct xml_node *root, char names[][64], size_t *n, size_t max)
{
    struct xml_node *e[1100], *p[1100];
    size_t ne = 0, np = 0, i = 0, j = 0;

    for (struct xml_node *c = root->child; c; c = c->next) {
        if (str_eq_c(c->name, "Contents") || str_eq_c(c->name, "Version") ||
            str_eq_c(c->name, "DeleteMarker"))
            e[ne++] = c;
        else if (str_eq_c(c->name, "CommonPrefixes"))
            p[np++] = c;
    }
    assert_true(ne + np <= max);
    while (i < ne || j < np) {
        struct str ek = i < ne ? xml_child(e[i], "Key")->text : STR_NULL;
        struct str pk = j < np ? xml_child(p[j], "Prefix")->text : STR_NULL;
        if (j == np || (i < ne && name_cmp(ek, pk) < 0)) {
            struct xml_node *vid = xml_child(e[i], "VersionId");
            if (vid)
                snprintf(names[(*n)++], 64, "%.*s@%.*s%s", STR_FMT(ek), STR_FMT(vid->text),
                         str_eq_c(e[i]->name, "DeleteMarker") ? "!" : "");
            else
                snprintf(names[(*n)++], 64, "%.*s", STR_FMT(ek));
            i++;
        } else {
            snprintf(names[(*n)++], 64, "%.*s", STR_FMT(pk));
            j++;
        }
    }
}

enum api { V1, V2, VERSIONS };

/* Pages through the whole listing with the continuation each API offers. */
static size_t
paginate(const char *bkt, enum api api, const char *prefix, const char *delim, int max_keys,
         char names[][64])
{
    char marker[512] = "", vmarker[64] = "";
    size_t n = 0;

    for (int pages = 0;; pages++) {
        char query[1024];
        const char *nm;
        bool trunc;
        int len;

        assert_true(pages < 1000);
        len = snprintf(query, sizeof(query), "max-keys=%d&prefix=%s%s%s", max_keys, prefix,
                       delim[0] ? "&delimiter=" : "", delim);
        if (api == V2)
            len += snprintf(query + len, sizeof(query) - (size_t)len, "&list-type=2%s%s",
                            marker[0] ? "&continuation-token=" : "", marker);
        else if (api == V1 && marker[0])
            len += snprintf(query + len, sizeof(query) - (size_t)len, "&marker=%s", marker);
        else if (api == VERSIONS)
            len += snprintf(query + len, sizeof(query) - (size_t)len, "&versions%s%s%s%s",
                            marker[0] ? "&key-marker=" : "", marker,
                            vmarker[0] ? "&version-id-marker=" : "", vmarker);
        (void)len;
        assert_int_equal(call(1, "GET", bkt, query, NULL, NULL), S3E_OK);
        page_names(R.xml, names, &n, (size_t)max_keys);
        nm = elem("IsTruncated");
        assert_non_null(nm);
        trunc = strcmp(nm, "true") == 0;
        if (api == V2 && trunc) {
            nm = elem("NextContinuationToken");
            assert_non_null(nm);
            snprintf(marker, sizeof(marker), "%s", nm);
        } else if (api == V1 && trunc) {
            nm = elem("NextMarker");
            snprintf(marker, sizeof(marker), "%s", nm ? nm : names[n - 1]);
            assert_true(nm != NULL || delim[0] == '\0');
        } else if (api == VERSIONS && trunc) {
            const char *nk = elem("NextKeyMarker");
            nm = elem("NextVersionIdMarker");
            assert_non_null(nk);
            snprintf(marker, sizeof(marker), "%s", nk);
            snprintf(vmarker, sizeof(vmarker), "%s", nm ? nm : "");
        }
        if (!trunc)
            break;
        assert_true(marker[0] != '\0');
    }
    return n;
}

static uint64_t rng = 88172645463325252ULL;

static unsigned
rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

/* Random buckets, prefixes, delimiters and page sizes: the concatenated
 * pages equal the brute-force listing for all three APIs. */
static void
test_pagination_random(void **state)
{
    static const char *const prefixes[] = {"", "a", "a/", "b", "/", "ab"};
    static const char *const delims[] = {"", "/", "a", "/b", "."};
    static char want[2000][64], got[2000][64];

    (void)state;
    for (int round = 0; round < 60; round++) {
        char name[16];
        snprintf(name, sizeof(name), "rnd-%02d", round);
        bucket(name);
        batching = true;
        for (int i = 0, nk = 1 + (int)rnd(40); i < nk; i++) {
            char key[8];
            size_t len = 1 + rnd(5);
            for (size_t j = 0; j < len; j++)
                key[j] = "ab/."[rnd(4)];
            key[len] = '\0';
            for (int v = 0, nv = 1 + (int)rnd(3); v < nv; v++) {
                bool versioned = rnd(3) != 0, dm = rnd(4) == 0;
                put_row(key, versioned, dm, 1 + (int)rnd(2));
            }
        }
        flush_rows();
        batching = false;
        for (size_t pi = 0; pi < ARRAY_LEN(prefixes); pi++) {
            for (size_t di = 0; di < ARRAY_LEN(delims); di++) {
                struct str prefix = str_c(prefixes[pi]), delim = STR_NULL;
                int mk = 1 + (int)rnd(6);
                size_t nw, ng;
                if (delims[di][0])
                    delim = str_c(delims[di]);
                nw = expected_objects(prefix, delim, want);
                for (enum api api = V1; api <= V2; api++) {
                    ng = paginate(name, api, prefixes[pi], delims[di], mk, got);
                    assert_int_equal(ng, nw);
                    for (size_t i = 0; i < nw; i++)
                        assert_string_equal(got[i], want[i]);
                }
                nw = expected_versions(prefix, delim, want);
                ng = paginate(name, VERSIONS, prefixes[pi], delims[di], mk, got);
                assert_int_equal(ng, nw);
                for (size_t i = 0; i < nw; i++)
                    assert_string_equal(got[i], want[i]);
            }
        }
    }
}

/* ---- the cost of a common prefix ----------------------------------------- */

struct bulk_arg {
    const struct md_bucket *b;
    const char *fmt;
    int from, to, width;
    struct arena *a;
};

/* New keys fmt % i for i in [from, to), unversioned, written as object_put()
 * writes them (one transaction: a test fixture, not a request). */
static int
w_bulk(struct md_conn *c, void *arg)
{
    struct bulk_arg *x = arg;

    for (int i = x->from; i < x->to; i++) {
        struct md_version v = {0};
        bool replaced;
        char key[64];
        int n = snprintf(key, sizeof(key), x->fmt, i / x->width, i % x->width);
        v.key = str_make(key, (size_t)n);
        v.size = n;
        v.inline_data = v.key;
        v.mtime_ms = T0;
        v.owner_id = x->b->account_id;
        v.etag = STR_LIT("9b2cf535f27731c974343645a3985328");
        if (object_put(c, x->b, &v, x->a, &replaced) != CORE_E_OK)
            return -EIO;
        if ((i & 1023) == 0)
            arena_reset(x->a);
    }
    return 0;
}

static void
bulk(const char *fmt, int n, int width)
{
    struct bulk_arg x = {&cur, fmt, 0, 0, width, arena_new()};

    for (int from = 0; from < n; from += 20000) {
        x.from = from;
        x.to = from + 20000 < n ? from + 20000 : n;
        assert_int_equal(md_write(S.md, w_bulk, &x), 0);
    }
    arena_free(x.a);
}

/* A "directory" of 100000 keys costs about one batch, not 100000 rows;
 * 1000 directories of 50 keys cost a few rows each. Rows: as SQLite
 * returned them to the listing statements; VM steps: reading 100000 index
 * entries takes at least 100000 of them. */
static void
test_prefix_skip_cost(void **state)
{
    (void)state;
    bucket("big");
    put_row("a", false, false, 1);
    bulk("big/%d%06d", 100000, 1000000);
    put_row("c", false, false, 1);
    cost_reset();
    assert_int_equal(list_v2("big", "list-type=2&delimiter=/"), S3E_OK);
    assert_non_null(strstr(R.body, "<KeyCount>3</KeyCount>"));
    print_message("ListObjectsV2 over a 100000-key prefix: %ld rows, %ld VM steps\n",
                  atomic_load(&list_rows), atomic_load(&list_steps));
    assert_true(atomic_load(&list_rows) <= BATCH_MAX + 2);
    assert_true(atomic_load(&list_steps) < 100000);
    cost_reset();
    assert_int_equal(list_versions("big", "versions&delimiter=/"), S3E_OK);
    assert_non_null(strstr(R.body, "<CommonPrefixes><Prefix>big/</Prefix></CommonPrefixes>"));
    print_message("ListObjectVersions over it: %ld rows, %ld VM steps\n", atomic_load(&list_rows),
                  atomic_load(&list_steps));
    assert_true(atomic_load(&list_rows) <= BATCH_MAX + 2);
    assert_true(atomic_load(&list_steps) < 100000);

    bucket("dirs");
    bulk("d%04d/%02d", 1000 * 50, 50);
    cost_reset();
    assert_int_equal(list_v1("dirs", "delimiter=/"), S3E_OK);
    assert_non_null(strstr(R.body, "<IsTruncated>false</IsTruncated>"));
    assert_non_null(strstr(R.body, "<Prefix>d0999/</Prefix>"));
    print_message("ListObjects over 1000 prefixes of 50 keys: %ld rows, %ld VM steps\n",
                  atomic_load(&list_rows), atomic_load(&list_steps));
    assert_true(atomic_load(&list_rows) < 1000 * 20); /* walking them all: 50000 */
}

/* ---- ListObjectVersions -------------------------------------------------- */

static void
test_versions(void **state)
{
    char q[256], v1[40], v3[40], v4[40], want[2048];

    (void)state;
    bucket("bkt");
    put_row_algo("k", true, false, 1, "", v1);  /* 1 */
    put_row("k", false, false, 1);              /* 2: null */
    put_row_algo("k", true, true, 1, "", v3);   /* 3: marker, latest */
    put_row_algo("k2", true, false, 1, "", v4); /* 4 */

    assert_int_equal(list_versions("bkt", "versions&max-keys=1"), S3E_OK);
    snprintf(want, sizeof(want),
             XHDR "<ListVersionsResult " NS "><Name>bkt</Name><Prefix/><KeyMarker/>"
                  "<VersionIdMarker/><NextKeyMarker>k</NextKeyMarker>"
                  "<NextVersionIdMarker>%s</NextVersionIdMarker>"
                  "<MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated>"
                  "<DeleteMarker><Key>k</Key><VersionId>%s"
                  "</VersionId><IsLatest>true</IsLatest>"
                  "<LastModified>2006-02-03T16:45:12.000Z</LastModified>%%1"
                  "</DeleteMarker></ListVersionsResult>",
             v3, v3);
    expect_body(want);

    /* Case 47: each page resumes right after the last entry returned. */
    snprintf(q, sizeof(q), "versions&max-keys=1&key-marker=k&version-id-marker=%s", v3);
    assert_int_equal(list_versions("bkt", q), S3E_OK);
    snprintf(want, sizeof(want),
             XHDR "<ListVersionsResult " NS "><Name>bkt</Name><Prefix/><KeyMarker>k</KeyMarker>"
                  "<VersionIdMarker>%s</VersionIdMarker>"
                  "<NextKeyMarker>k</NextKeyMarker>"
                  "<NextVersionIdMarker>null</NextVersionIdMarker>"
                  "<MaxKeys>1</MaxKeys><IsTruncated>true</IsTruncated>"
                  "<Version><Key>k</Key><VersionId>null</VersionId>"
                  "<IsLatest>false</IsLatest>"
                  "<LastModified>2006-02-03T16:45:11.000Z</LastModified>" ETAG
                  "<Size>1</Size>%%1<StorageClass>STANDARD</StorageClass>"
                  "</Version></ListVersionsResult>",
             v3);
    expect_body(want);
    assert_int_equal(
        list_versions("bkt", "versions&max-keys=1&key-marker=k&version-id-marker=null"), S3E_OK);
    snprintf(want, sizeof(want), "<Version><Key>k</Key><VersionId>%s</VersionId>", v1);
    assert_non_null(strstr(R.body, want));
    snprintf(q, sizeof(q), "versions&max-keys=1&key-marker=k&version-id-marker=%s", v1);
    assert_int_equal(list_versions("bkt", q), S3E_OK);
    assert_non_null(strstr(R.body, "<Key>k2</Key>"));
    assert_non_null(strstr(R.body, "<IsTruncated>false</IsTruncated>"));
    assert_null(strstr(R.body, "NextKeyMarker"));
    /* key-marker alone: after every version of k. */
    assert_int_equal(list_versions("bkt", "versions&key-marker=k&encoding-type=url&max-keys=5000"),
                     S3E_OK);
    assert_non_null(strstr(R.body, "<KeyMarker>k</KeyMarker><VersionIdMarker/>"
                                   "<MaxKeys>5000</MaxKeys><EncodingType>url</EncodingType>"
                                   "<IsTruncated>false</IsTruncated><Version><Key>k2</Key>"));

    /* Case 46: max-keys=0 is an empty, untruncated page. */
    assert_int_equal(list_versions("bkt", "versions&max-keys=0"), S3E_OK);
    assert_non_null(strstr(R.body, "<MaxKeys>0</MaxKeys><IsTruncated>false</IsTruncated>"
                                   "</ListVersionsResult>"));

    /* Cases 45, 46, 48 and their precedence. */
    expect_arg_error(list_versions, "versions&version-id-marker=x",
                     "A version-id marker cannot be specified without a key marker.",
                     "version-id-marker", "x");
    expect_arg_error(list_versions, "versions&key-marker=k&version-id-marker=",
                     "A version-id marker cannot be empty.", "version-id-marker", "");
    expect_arg_error(list_versions, "versions&key-marker=k&version-id-marker=bad-vid",
                     "Invalid version id specified", "version-id-marker", "bad-vid");
    expect_arg_error(list_versions, "versions&key-marker=&version-id-marker=bad-vid",
                     "Invalid version id specified", "version-id-marker", "bad-vid");
    expect_arg_error(list_versions, "versions&max-keys=abc", MSG_MAX_KEYS, "max-keys", "abc");
    expect_arg_error(list_versions, "versions&max-keys=-1", MSG_MAX_KEYS_NEG, "max-keys", NULL);
    expect_arg_error(list_versions, "versions&encoding-type=invalid", MSG_ENCODING, "encoding-type",
                     "invalid");
    expect_arg_error(list_versions,
                     "versions&encoding-type=invalid&version-id-marker=x&max-keys=abc",
                     MSG_MAX_KEYS, "max-keys", "abc");
    expect_arg_error(list_versions, "versions&encoding-type=invalid&version-id-marker=x",
                     "A version-id marker cannot be specified without a key marker.",
                     "version-id-marker", "x");
    expect_arg_error(list_versions,
                     "versions&encoding-type=invalid&key-marker=k&version-id-marker=bad",
                     "Invalid version id specified", "version-id-marker", "bad");
}

/* ---- versioning configuration [spec-mfa-delete cases 1-9] ---------------- */

/* Content-MD5 of the body (request() fills in the digest). */
static const char *const md5_hdr[] = {"Content-MD5: *", NULL};

static enum s3_err
put_versioning(const char *body, const char *const *hdrs)
{
    return call(1, "PUT", "bkt", "versioning", hdrs, body);
}

static void
expect_versioning(const char *inner)
{
    char want[512];

    assert_int_equal(call(1, "GET", "bkt", "versioning", NULL, NULL), S3E_OK);
    if (inner == NULL)
        snprintf(want, sizeof(want), XHDR "<VersioningConfiguration " NS "/>");
    else
        snprintf(want, sizeof(want),
                 XHDR "<VersioningConfiguration " NS ">%s</VersioningConfiguration>", inner);
    expect_body(want);
}

static int
w_bucket_delete(struct md_conn *c, void *arg)
{
    return md_bucket_delete(c, *(int64_t *)arg);
}

static void
test_versioning(void **state)
{
    static const char *const malformed[] = {
        "<VersioningConfiguration><Status>enabled</Status></VersioningConfiguration>",
        "<VersioningConfiguration><Status>Disabled</Status></VersioningConfiguration>",
        "<VersioningConfiguration><Status>Enabled</Status><MFADelete>Disabled</MFADelete>"
        "</VersioningConfiguration>",
        "<VersioningConfiguration><Status>Enabled</Status><Other/></VersioningConfiguration>",
        "<VersioningConfiguration><Status>Enabled</Status><Status>Enabled</Status>"
        "</VersioningConfiguration>",
        "<VersioningConfiguration><Status>Enabled</Status><MfaDelete>on</MfaDelete>"
        "</VersioningConfiguration>",
        "<Versioning><Status>Enabled</Status></Versioning>",
        "<VersioningConfiguration><Status>Enabled",
    };

    (void)state;
    bucket("bkt");
    expect_versioning(NULL); /* case 1 */

    assert_int_equal(put_versioning("", md5_hdr), S3E_MISSING_REQUEST_BODY); /* case 2 */
    assert_int_equal(put_versioning("<VersioningConfiguration/>", md5_hdr),
                     S3E_ILLEGAL_VERSIONING_CONFIG);  /* case 3 */
    for (size_t i = 0; i < ARRAY_LEN(malformed); i++) /* cases 4, 5 */
        assert_int_equal(put_versioning(malformed[i], md5_hdr), S3E_MALFORMED_XML);
    /* MfaDelete alone: Status is still required (case 17's shape). */
    assert_int_equal(put_versioning("<VersioningConfiguration><MfaDelete>Disabled</MfaDelete>"
                                    "</VersioningConfiguration>",
                                    md5_hdr),
                     S3E_ILLEGAL_VERSIONING_CONFIG);
    /* The API model requires an integrity header. */
    assert_int_equal(put_versioning("<VersioningConfiguration><Status>Enabled</Status>"
                                    "</VersioningConfiguration>",
                                    NULL),
                     S3E_INVALID_REQUEST);
    assert_string_equal(elem("Message"), "Missing required header for this request: Content-MD5");
    expect_versioning(NULL);

    /* Case 6: never versioned -> Suspended (a checksum header instead of MD5). */
    assert_int_equal(put_versioning("<VersioningConfiguration " NS "><Status>Suspended</Status>"
                                    "</VersioningConfiguration>",
                                    (const char *const[]){"x-amz-checksum-crc32: *", NULL}),
                     S3E_OK);
    assert_int_equal(R.status, 200);
    expect_versioning("<Status>Suspended</Status>");
    /* Case 7. */
    assert_int_equal(
        put_versioning("<VersioningConfiguration><Status>Enabled</Status>"
                       "</VersioningConfiguration>",
                       (const char *const[]){"X-Amz-Sdk-Checksum-Algorithm: CRC32", NULL}),
        S3E_OK);
    expect_versioning("<Status>Enabled</Status>");
    /* Case 10: enabling MFA delete needs the header. */
    assert_int_equal(put_versioning("<VersioningConfiguration><Status>Enabled</Status>"
                                    "<MfaDelete>Enabled</MfaDelete></VersioningConfiguration>",
                                    md5_hdr),
                     S3E_ACCESS_DENIED);
    assert_string_equal(elem("Message"), "Mfa Authentication must be used for this request");
    assert_int_equal(
        put_versioning("<VersioningConfiguration><Status>Enabled</Status>"
                       "</VersioningConfiguration>",
                       (const char *const[]){"Content-MD5: x", "x-amz-mfa: SER 123456", NULL}),
        S3E_INVALID_REQUEST); /* plain HTTP */
    expect_versioning("<Status>Enabled</Status>");
    /* Case 8: explicit MfaDelete=Disabled is stored and echoed. */
    assert_int_equal(put_versioning("<VersioningConfiguration>\n  <Status>Enabled</Status>\n"
                                    "  <MfaDelete>Disabled</MfaDelete>\n</VersioningConfiguration>",
                                    md5_hdr),
                     S3E_OK);
    expect_versioning("<Status>Enabled</Status><MfaDelete>Disabled</MfaDelete>");
    assert_int_equal(put_versioning("<VersioningConfiguration><Status>Suspended</Status>"
                                    "</VersioningConfiguration>",
                                    md5_hdr),
                     S3E_OK);
    expect_versioning("<Status>Suspended</Status><MfaDelete>Disabled</MfaDelete>");
    /* Case 9: the bucket is gone. */
    assert_int_equal(md_write(S.md, w_bucket_delete, &cur.id), 0);
    assert_int_equal(put_versioning("<VersioningConfiguration><Status>Enabled</Status>"
                                    "</VersioningConfiguration>",
                                    md5_hdr),
                     S3E_NO_SUCH_BUCKET);
}

/* ---- bucket operations --------------------------------------------------- */

static void
test_buckets(void **state)
{
    char v[256];

    (void)state;
    assert_int_equal(call(1, "PUT", "Bad_Name", NULL, NULL, NULL), S3E_INVALID_BUCKET_NAME);
    assert_int_equal(call(1, "PUT", "zeta", NULL, NULL, NULL), S3E_OK);
    assert_int_equal(R.status, 200);
    assert_string_equal(resp_header("Location", v, sizeof(v)), "/zeta");
    assert_int_equal(call(1, "PUT", "alpha", NULL, NULL,
                          "<CreateBucketConfiguration><LocationConstraint>us-east-1"
                          "</LocationConstraint></CreateBucketConfiguration>"),
                     S3E_INVALID_LOCATION_CONSTRAINT);
    assert_int_equal(call(1, "PUT", "alpha", NULL, NULL,
                          "<CreateBucketConfiguration><LocationConstraint>"
                          "</LocationConstraint></CreateBucketConfiguration>"),
                     S3E_OK);
    assert_int_equal(call(1, "PUT", "beta", NULL, NULL,
                          "<CreateBucketConfiguration><LocationConstraint>eu-west-1"
                          "</LocationConstraint></CreateBucketConfiguration>"),
                     S3E_ILLEGAL_LOCATION_CONSTRAINT);
    assert_string_equal(elem("Message"), "The eu-west-1 location constraint is incompatible for "
                                         "the region specific endpoint this request was sent to.");
    assert_int_equal(call(1, "PUT", "beta", NULL, NULL,
                          "<CreateBucketConfiguration><LocationConstraint>Not A Region"
                          "</LocationConstraint></CreateBucketConfiguration>"),
                     S3E_INVALID_LOCATION_CONSTRAINT);
    /* no detail of its own: the code's default message */
    assert_string_equal(elem("Message"), s3_err_msg(S3E_INVALID_LOCATION_CONSTRAINT));
    assert_int_equal(call(1, "PUT", "beta", NULL, NULL,
                          "<CreateBucketConfiguration><Bogus/></CreateBucketConfiguration>"),
                     S3E_MALFORMED_XML);
    assert_int_equal(
        call(1, "PUT", "beta", NULL, NULL, "<CreateBucketConfiguration><LocationConstraint>"),
        S3E_MALFORMED_XML);
    assert_int_equal(call(1, "PUT", "beta", NULL,
                          (const char *const[]){"x-amz-bucket-object-lock-enabled: true", NULL},
                          NULL),
                     S3E_NOT_IMPLEMENTED);
    /* us-east-1: the owner's re-create answers 200 (a 409 elsewhere: test_buckets.py). */
    assert_int_equal(call(1, "PUT", "zeta", NULL, NULL, NULL), S3E_OK);
    assert_int_equal(call(2, "PUT", "zeta", NULL, NULL, NULL), S3E_BUCKET_ALREADY_EXISTS);
    assert_int_equal(call(2, "PUT", "mid", NULL, NULL, NULL), S3E_OK);

    /* The caller's buckets only, by name. */
    assert_int_equal(call(1, "GET", NULL, NULL, NULL, NULL), S3E_OK);
    assert_true(body_has("<ListAllMyBucketsResult " NS ">%1<Buckets>"
                         "<Bucket><Name>alpha</Name><CreationDate>"));
    assert_non_null(strstr(R.body, "<Bucket><Name>zeta</Name>"));
    assert_null(strstr(R.body, "mid"));
    assert_null(strstr(R.body, "ContinuationToken"));
    /* Paged: the token names the last bucket shown ("alpha"). */
    assert_int_equal(call(1, "GET", NULL, "max-buckets=1", NULL, NULL), S3E_OK);
    assert_non_null(strstr(R.body, "<Name>alpha</Name>"));
    assert_non_null(strstr(R.body, "<BucketRegion>us-east-1</BucketRegion>"));
    assert_non_null(strstr(R.body, "</Buckets><ContinuationToken>YWxwaGE=</ContinuationToken>"));
    assert_int_equal(call(1, "GET", NULL, "max-buckets=0", NULL, NULL), S3E_INVALID_ARGUMENT);
    assert_int_equal(call(1, "GET", NULL, "continuation-token=!!", NULL, NULL),
                     S3E_INVALID_ARGUMENT);

    /* The fixture bucket: head, location, delete. */
    bucket("bkt");
    assert_int_equal(call(1, "HEAD", "bkt", NULL, NULL, NULL), S3E_OK);
    assert_string_equal(resp_header("x-amz-bucket-region", v, sizeof(v)), "us-east-1");
    assert_int_equal(call(1, "GET", "bkt", "location", NULL, NULL), S3E_OK);
    expect_body(XHDR "<LocationConstraint " NS "/>");
    bucket_in("bkt-eu", 1, "eu-west-1");
    assert_int_equal(call(1, "GET", "bkt-eu", "location", NULL, NULL), S3E_OK);
    expect_body(XHDR "<LocationConstraint " NS ">eu-west-1</LocationConstraint>");
    bucket("bkt2");
    put_row("k", false, false, 1);
    assert_int_equal(call(1, "DELETE", "bkt2", NULL, NULL, NULL), S3E_BUCKET_NOT_EMPTY);
    assert_int_equal(call(2, "DELETE", "bkt", NULL, NULL, NULL), S3E_ACCESS_DENIED);
    assert_int_equal(call(1, "DELETE", "bkt", NULL, NULL, NULL), S3E_OK);
    assert_int_equal(R.status, 204);
}

int
main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, server_up, server_down)
    const struct CMUnitTest tests[] = {
        T(test_helpers),           T(test_list_v1),          T(test_list_v2),    T(test_versions),
        T(test_pagination_random), T(test_prefix_skip_cost), T(test_versioning), T(test_buckets),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);

    arena_free(R.a);
    return rc;
}
