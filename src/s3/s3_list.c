/* s3_list.c -- ListObjects (v1), ListObjectsV2 and ListObjectVersions.
 * Every page comes from index range scans (md_list_objects(),
 * md_list_versions()) fetched in batches; a whole bucket is never loaded.
 * A common prefix is skipped by restarting the scan at its successor, so a
 * "directory" with a million keys costs one short batch, not a million rows.
 * Element order follows what AWS sends, not the API model's member order.
 * xml_* calls return 0 or -E2BIG; OR-ing them into rc keeps any failure. */
#include "common.h"

#include "bounds.h"
#include "s3/s3_int.h"
#include "util/enc.h"
#include "util/tm.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <limits.h>
#include <string.h>

#define LIST_XML_MAX (16 * 1024 * 1024) /* 1000 entries of 1 KiB keys, url-encoded */
#define LIST_ENC_MAX (64 * 1024)        /* one url-encoded value (echoed params too) */
#define BATCH_MAX 1000
#define BATCH_MIN 8
#define N_OWNER_CACHE 8

/* Continuation tokens: base64 of one kind byte and a key. TOK_AFTER_KEY
 * resumes strictly after the key; TOK_AFTER_PREFIX after every key that
 * starts with it (the page ended on a common prefix). */
#define TOK_AFTER_KEY 'K'
#define TOK_AFTER_PREFIX 'P'
#define TOK_RAW_MAX (1 + S3_MAX_KEY_BYTES)
#define TOK_B64_MAX (4 * ((TOK_RAW_MAX + 2) / 3))

#define MSG_MAX_KEYS "Provided max-keys not an integer or within integer range"
#define MSG_MAX_KEYS_NEG "max-keys cannot be negative"
#define MSG_ENCODING "Invalid Encoding Method specified in Request"
#define MSG_TOKEN "The continuation token provided is incorrect"
#define MSG_NULL "Value must be a sequence of Unicode characters and cannot include Null."

/* One listing entry: a row (copied to the request arena) or a common prefix. */
struct item {
    struct str key; /* the key, or the common prefix */
    bool is_prefix;
    struct md_version v; /* rows only; strings other than the rendered ones cleared */
};

struct owner_info {
    int64_t id;
    struct md_account acc;
    bool found;
};

/* One listing request. */
struct lst {
    struct s3_req *q;
    struct md_conn *c;
    struct md_bucket b;
    struct arena *tmp; /* rows of the current batch; reset between batches */

    struct str prefix;  /* "" when absent */
    struct str delim;   /* STR_NULL when absent or empty */
    bool url;           /* encoding-type=url */
    long long max_sent; /* MaxKeys as sent, echoed */
    size_t max;         /* entries returned at most */
    bool owner;         /* render Owner in Contents */

    struct item *items;
    size_t n_items;
    bool truncated;
    size_t rows_read; /* for tests: rows the scans returned */

    struct buf x, enc;
    struct owner_info owners[N_OWNER_CACHE];
    size_t n_owners;
};

/* ---- pure helpers ------------------------------------------------------ */

static bool
starts_with(struct str s, struct str prefix)
{
    return s.n >= prefix.n && (prefix.n == 0 || memcmp(s.p, prefix.p, prefix.n) == 0);
}

/* The common prefix key rolls up to: key up to and including the first
 * delimiter after prefix, or STR_NULL (borrowed from key). */
static struct str
common_prefix(struct str prefix, struct str delim, struct str key)
{
    const char *hit;

    if (delim.p == NULL || delim.n == 0 || key.n < prefix.n)
        return STR_NULL;
    hit = memmem(key.p + prefix.n, key.n - prefix.n, delim.p, delim.n);
    if (hit == NULL)
        return STR_NULL;
    return str_make(key.p, (size_t)(hit - key.p) + delim.n);
}

/* encoding-type=url as S3 does it: RFC 3986 unreserved bytes and '/' kept,
 * space as '+', everything else %XX (upper case). Clients decode with
 * form-style unquoting, so '+' itself must be (and is) escaped. */
static int
url_enc(struct buf *b, struct str s)
{
    static const char hexu[] = "0123456789ABCDEF";

    for (size_t i = 0; i < s.n; i++) {
        unsigned char c = (unsigned char)s.p[i];
        int rc;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
            rc = buf_append(b, &c, 1);
        } else if (c == ' ') {
            rc = buf_append(b, "+", 1);
        } else {
            char e[3] = {'%', hexu[c >> 4], hexu[c & 15]};
            rc = buf_append(b, e, 3);
        }
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Token for resuming after key (is_prefix: after its whole range).
 * Returns an arena string. */
static char *
token_make(struct arena *a, struct str key, bool is_prefix)
{
    char *raw = arena_alloc(a, key.n + 1);
    char *out = arena_alloc(a, 4 * ((key.n + 3) / 3) + 1);

    raw[0] = is_prefix ? TOK_AFTER_PREFIX : TOK_AFTER_KEY;
    memcpy(raw + 1, key.p, key.n);
    b64_encode(raw, key.n + 1, out);
    return out;
}

/* Parses a token from token_make(): 0 with *key (arena) and *is_prefix,
 * or -EINVAL. */
static int
token_parse(struct arena *a, struct str tok, struct str *key, bool *is_prefix)
{
    char raw[TOK_RAW_MAX];
    int n;

    if (tok.p == NULL || tok.n == 0 || tok.n > TOK_B64_MAX)
        return -EINVAL;
    n = b64_decode(tok, raw, sizeof(raw));
    if (n < 2 || (raw[0] != TOK_AFTER_KEY && raw[0] != TOK_AFTER_PREFIX))
        return -EINVAL;
    if (memchr(raw + 1, '\0', (size_t)n - 1) != NULL)
        return -EINVAL;
    *is_prefix = raw[0] == TOK_AFTER_PREFIX;
    *key = str_make(arena_strndup(a, raw + 1, (size_t)n - 1), (size_t)n - 1);
    return 0;
}

/* ---- parameters -------------------------------------------------------- */

static enum s3_err
arg_error(struct s3_req *q, const char *msg, const char *name, struct str value)
{
    q->err_msg = msg;
    q->err_arg_name = name;
    q->err_arg_value = value.p ? arena_cstr(q->arena, value) : NULL;
    return S3E_INVALID_ARGUMENT;
}

/* AWS: max-keys defaults to 1000; results are capped at 1000 but the value
 * sent is echoed; non-integers and negatives are InvalidArgument
 * [spec-mfa-delete §4.6]. */
static enum s3_err
parse_max_keys(struct lst *l)
{
    bool present;
    struct str v = s3_param(l->q, "max-keys", &present);
    long long n;

    l->max_sent = S3_MAX_LIST_KEYS;
    l->max = S3_MAX_LIST_KEYS;
    if (!present)
        return S3E_OK;
    if (v.p == NULL || str_to_i64(v, &n) < 0 || n > INT_MAX || n < INT_MIN)
        return arg_error(l->q, MSG_MAX_KEYS, "max-keys", v.p ? v : STR_LIT(""));
    if (n < 0)
        return arg_error(l->q, MSG_MAX_KEYS_NEG, "max-keys", STR_NULL);
    l->max_sent = n;
    l->max = n < S3_MAX_LIST_KEYS ? (size_t)n : S3_MAX_LIST_KEYS;
    return S3E_OK;
}

static enum s3_err
parse_encoding(struct lst *l)
{
    bool present;
    struct str v = s3_param(l->q, "encoding-type", &present);

    l->url = false;
    if (!present)
        return S3E_OK;
    if (v.p == NULL || !str_eq_c(v, "url"))
        return arg_error(l->q, MSG_ENCODING, "encoding-type", v.p ? v : STR_LIT(""));
    l->url = true;
    return S3E_OK;
}

/* A string parameter used as a key or key prefix: no NUL, valid UTF-8. */
static enum s3_err
text_param(struct lst *l, const char *name, struct str *out)
{
    struct str v = s3_param(l->q, name, NULL);

    if (v.p != NULL && (memchr(v.p, '\0', v.n) != NULL || !str_valid_utf8(v)))
        return arg_error(l->q, MSG_NULL, name, STR_NULL);
    *out = v;
    return S3E_OK;
}

/* prefix and delimiter, common to the three listings. */
static enum s3_err
parse_prefix_delim(struct lst *l)
{
    enum s3_err err = text_param(l, "prefix", &l->prefix);

    if (err == S3E_OK)
        err = text_param(l, "delimiter", &l->delim);
    if (l->prefix.p == NULL)
        l->prefix = STR_LIT("");
    if (l->delim.p != NULL && l->delim.n == 0)
        l->delim = STR_NULL;
    return err;
}

/* Opens the listing: bucket access, connection, buffers. */
static enum s3_err
lst_open(struct lst *l, struct s3_req *q)
{
    enum s3_err err;

    memset(l, 0, sizeof(*l));
    l->q = q;
    err = s3_req_bucket(q, &l->b);
    if (err != S3E_OK)
        return err;
    l->c = md_reader(q->srv->md);
    l->tmp = arena_new();
    buf_init(&l->x, LIST_XML_MAX);
    buf_init(&l->enc, LIST_ENC_MAX);
    return S3E_OK;
}

static void
lst_close(struct lst *l)
{
    arena_free(l->tmp);
    buf_free(&l->x);
    buf_free(&l->enc);
}

/* ---- collecting entries ------------------------------------------------ */

static void
add_row(struct lst *l, const struct md_version *v)
{
    struct arena *a = l->q->arena;
    struct item *it = &l->items[l->n_items++];

    it->is_prefix = false;
    it->v = *v;
    /* Rows live in l->tmp until the next batch: keep what is rendered. */
    it->v.key = arena_str(a, v->key);
    it->v.version_id = arena_str(a, v->version_id);
    it->v.etag = arena_str(a, v->etag);
    it->v.checksum_algo = arena_str(a, v->checksum_algo);
    it->v.content_type = STR_NULL;
    it->v.meta = STR_NULL;
    it->v.checksum_value = STR_NULL;
    it->v.blob_id = STR_NULL;
    it->v.inline_data = STR_NULL;
    it->key = it->v.key;
}

static void
add_prefix(struct lst *l, struct str cp)
{
    struct item *it = &l->items[l->n_items++];

    memset(it, 0, sizeof(*it));
    it->is_prefix = true;
    it->key = arena_str(l->q->arena, cp);
}

/* Where the next batch starts. key is in the request arena (or NULL for
 * the start of the bucket). */
struct pos {
    struct str key;
    bool inclusive; /* key itself (all its versions) included */
    int64_t seq;    /* versions: strictly after this version of key; 0 = all */
};

/* Batch size control: batches that were mostly skipped rows (inside a
 * common prefix) shrink, productive ones grow back. */
static size_t
next_limit(size_t lim, size_t got, size_t skipped)
{
    if (skipped * 2 > got)
        return lim / 4 > BATCH_MIN ? lim / 4 : BATCH_MIN;
    return lim * 2 < BATCH_MAX ? lim * 2 : BATCH_MAX;
}

/* Moves *p past the range of common prefix cp. Returns false when nothing
 * can sort after it. */
static bool
pos_after_prefix(struct lst *l, struct pos *p, struct str cp)
{
    char *succ = arena_alloc(l->q->arena, cp.n + 1);
    size_t n = str_successor(cp, succ);

    if (n == 0)
        return false;
    p->key = str_make(succ, n);
    p->inclusive = true;
    p->seq = 0;
    return true;
}

/* Collects up to l->max + 1 entries (the extra one only tells that the
 * listing is truncated) from *start on. Common prefixes not greater than
 * floor are skipped, not returned: they were on an earlier page.
 * versions: md_list_versions() rows, else md_list_objects() rows. */
static enum s3_err
collect(struct lst *l, struct pos start, struct str floor, bool versions)
{
    size_t want = l->max + 1, lim = BATCH_MAX;
    struct pos p = start;

    l->items = arena_alloc(l->q->arena, want * sizeof(*l->items));
    if (l->max == 0)
        return S3E_OK; /* AWS: max-keys=0 is an empty, untruncated page */
    for (;;) {
        struct md_version *rows = NULL;
        struct str skip = STR_NULL; /* prefix whose keys are being passed over */
        size_t got = 0, skipped = 0, ask = want - l->n_items, i;
        int rc;

        if (ask > lim)
            ask = lim;
        arena_reset(l->tmp);
        if (versions)
            rc = md_list_versions(l->c, l->b.id, l->prefix, p.key, p.inclusive, p.seq, ask, l->tmp,
                                  &rows, &got);
        else
            rc = md_list_objects(l->c, l->b.id, l->prefix, p.key, p.inclusive, ask, l->tmp, &rows,
                                 &got);
        if (rc < 0)
            return S3E_INTERNAL;
        l->rows_read += got;
        for (i = 0; i < got && l->n_items < want; i++) {
            const struct md_version *v = &rows[i];
            struct str cp;

            if (skip.p != NULL && starts_with(v->key, skip)) {
                skipped++;
                continue;
            }
            skip = STR_NULL;
            cp = common_prefix(l->prefix, l->delim, v->key);
            if (cp.p == NULL) {
                add_row(l, v);
                continue;
            }
            /* AWS: prefixes count against max-keys and are dropped when
             * not greater than the marker [spec-mfa-delete §4.6]. */
            if (floor.p == NULL || str_cmp(cp, floor) > 0)
                add_prefix(l, cp);
            skip = cp;
        }
        if (l->n_items >= want || got < ask)
            break; /* enough, or the range is exhausted */
        if (skip.p != NULL) {
            if (!pos_after_prefix(l, &p, skip))
                break;
        } else {
            /* The last row was returned: resume right after it. */
            const struct md_version *last = &rows[got - 1];
            p.key = arena_str(l->q->arena, last->key);
            p.inclusive = false;
            p.seq = versions ? last->seq : 0;
        }
        lim = next_limit(lim, got, skipped);
    }
    if (l->n_items > l->max) {
        l->n_items = l->max;
        l->truncated = true;
    }
    return S3E_OK;
}

/* ---- rendering --------------------------------------------------------- */

/* <tag>s</tag>, url-encoded when asked; an empty or absent s gives <tag/>
 * when empty_form, else <tag></tag>. */
static int
put_key(struct lst *l, const char *tag, struct str s, bool empty_form)
{
    int rc;

    if (s.n == 0)
        return empty_form ? xml_empty(&l->x, tag) : xml_elem(&l->x, tag, STR_LIT(""));
    if (!l->url)
        return xml_elem(&l->x, tag, s);
    buf_reset(&l->enc);
    rc = url_enc(&l->enc, s);
    if (rc < 0)
        return rc;
    return xml_elem(&l->x, tag, buf_str(&l->enc));
}

/* Owner of a row: the caller's account without a lookup, others through a
 * small cache. found false when the writer's account is gone. */
static enum s3_err
owner_of(struct lst *l, int64_t id, const struct md_account **out)
{
    struct owner_info *o;
    int rc;

    *out = NULL;
    if (id == l->q->account_id) {
        *out = &l->q->account;
        return S3E_OK;
    }
    for (size_t i = 0; i < l->n_owners; i++) {
        if (l->owners[i].id == id) {
            *out = l->owners[i].found ? &l->owners[i].acc : NULL;
            return S3E_OK;
        }
    }
    o = &l->owners[l->n_owners < N_OWNER_CACHE ? l->n_owners++ : N_OWNER_CACHE - 1];
    o->id = id;
    rc = md_account_get(l->c, id, l->q->arena, &o->acc);
    if (rc < 0 && rc != -ENOENT)
        return S3E_INTERNAL;
    o->found = rc == 0;
    *out = o->found ? &o->acc : NULL;
    return S3E_OK;
}

static int
put_owner(struct lst *l, const struct md_account *acc)
{
    int rc = 0;

    if (acc == NULL)
        return 0;
    rc |= xml_open(&l->x, "Owner");
    rc |= xml_elem(&l->x, "ID", acc->canonical_id);
    rc |= xml_elem(&l->x, "DisplayName", acc->name);
    rc |= xml_close(&l->x, "Owner");
    return rc;
}

/* ChecksumAlgorithm and ChecksumType, when the object has a checksum. A
 * multipart object's checksum is a checksum of part checksums (COMPOSITE),
 * except CRC64NVME which is always computed over the whole object. */
static int
put_checksum(struct lst *l, const struct md_version *v)
{
    int rc = 0;
    bool composite = v->parts_count > 0 && !str_eq_c(v->checksum_algo, "CRC64NVME");

    if (v->checksum_algo.n == 0)
        return 0;
    rc |= xml_elem(&l->x, "ChecksumAlgorithm", v->checksum_algo);
    rc |= xml_elem_c(&l->x, "ChecksumType", composite ? "COMPOSITE" : "FULL_OBJECT");
    return rc;
}

/* <Contents> of ListObjects v1/v2. */
static enum s3_err
put_contents(struct lst *l, const struct md_version *v)
{
    const struct md_account *acc = NULL;
    char when[32], etag[80];
    enum s3_err err;
    int rc = 0;

    if (l->owner) {
        err = owner_of(l, v->owner_id, &acc);
        if (err != S3E_OK)
            return err;
    }
    tm_iso8601(v->mtime_ms, when);
    s3_etag_quoted(v->etag, etag);
    rc |= xml_open(&l->x, "Contents");
    rc |= put_key(l, "Key", v->key, false);
    rc |= xml_elem_c(&l->x, "LastModified", when);
    rc |= xml_elem_c(&l->x, "ETag", etag);
    rc |= put_checksum(l, v);
    rc |= xml_elem_i64(&l->x, "Size", v->size);
    if (l->owner)
        rc |= put_owner(l, acc);
    rc |= xml_elem(&l->x, "StorageClass", s3_storage_class_name(v->storage_class));
    rc |= xml_close(&l->x, "Contents");
    return rc ? S3E_INTERNAL : S3E_OK;
}

/* Contents, then CommonPrefixes, as AWS groups them. */
static enum s3_err
put_entries(struct lst *l)
{
    int rc = 0;

    for (size_t i = 0; i < l->n_items; i++) {
        if (!l->items[i].is_prefix) {
            enum s3_err err = put_contents(l, &l->items[i].v);
            if (err != S3E_OK)
                return err;
        }
    }
    for (size_t i = 0; i < l->n_items; i++) {
        if (l->items[i].is_prefix) {
            rc |= xml_open(&l->x, "CommonPrefixes");
            rc |= put_key(l, "Prefix", l->items[i].key, false);
            rc |= xml_close(&l->x, "CommonPrefixes");
        }
    }
    return rc ? S3E_INTERNAL : S3E_OK;
}

/* Sends l->x: the handler's success path. */
static enum s3_err
lst_reply(struct lst *l)
{
    (void)s3_reply_xml(l->q, 200, &l->x); /* frees l->x */
    return S3E_OK;
}

/* ---- ListObjects (v1) -------------------------------------------------- */

/* GET /bucket. Owner is always present; NextMarker only when a delimiter
 * was given and the page is truncated (AWS: clients otherwise resume from
 * the last key). */
enum s3_err
s3_list_objects(struct s3_req *q)
{
    struct lst l;
    struct str marker = STR_NULL;
    struct pos start = {STR_NULL, false, 0};
    enum s3_err err;
    int rc = 0;

    err = lst_open(&l, q);
    if (err != S3E_OK)
        return err;
    err = parse_max_keys(&l);
    if (err == S3E_OK)
        err = parse_encoding(&l);
    if (err == S3E_OK)
        err = parse_prefix_delim(&l);
    if (err == S3E_OK)
        err = text_param(&l, "marker", &marker);
    if (err != S3E_OK)
        goto out;
    if (marker.n > 0)
        start.key = marker;
    l.owner = true;
    err = collect(&l, start, marker.n > 0 ? marker : STR_NULL, false);
    if (err != S3E_OK)
        goto out;

    rc |= xml_decl(&l.x);
    rc |= xml_open_ns(&l.x, "ListBucketResult", S3_XMLNS);
    rc |= xml_elem(&l.x, "Name", l.b.name);
    rc |= put_key(&l, "Prefix", l.prefix, false);
    rc |= put_key(&l, "Marker", marker, false);
    if (l.truncated && l.delim.p != NULL)
        rc |= put_key(&l, "NextMarker", l.items[l.n_items - 1].key, false);
    rc |= xml_elem_i64(&l.x, "MaxKeys", l.max_sent);
    if (l.delim.p != NULL)
        rc |= put_key(&l, "Delimiter", l.delim, false);
    if (l.url)
        rc |= xml_elem_c(&l.x, "EncodingType", "url");
    rc |= xml_elem_bool(&l.x, "IsTruncated", l.truncated);
    if (rc != 0) {
        err = S3E_INTERNAL;
        goto out;
    }
    err = put_entries(&l);
    if (err != S3E_OK)
        goto out;
    if (xml_close(&l.x, "ListBucketResult") < 0) {
        err = S3E_INTERNAL;
        goto out;
    }
    err = lst_reply(&l);
out:
    lst_close(&l);
    return err;
}

/* ---- ListObjectsV2 ----------------------------------------------------- */

/* GET /bucket?list-type=2. The continuation token wins over start-after
 * (both are echoed); Owner only with fetch-owner=true. */
enum s3_err
s3_list_objects_v2(struct s3_req *q)
{
    struct lst l;
    bool has_tok;
    struct str list_type = s3_param(q, "list-type", NULL);
    struct str tok = s3_param(q, "continuation-token", &has_tok);
    struct str start_after = STR_NULL, fetch_owner = s3_param(q, "fetch-owner", NULL);
    struct str floor = STR_NULL;
    struct pos start = {STR_NULL, false, 0};
    enum s3_err err;
    int rc = 0;

    err = lst_open(&l, q);
    if (err != S3E_OK)
        return err;
    if (list_type.p == NULL || !str_eq_c(list_type, "2")) {
        err = arg_error(q, "Invalid List Type specified in Request", "list-type",
                        list_type.p ? list_type : STR_LIT(""));
        goto out;
    }
    err = parse_max_keys(&l);
    if (err == S3E_OK)
        err = parse_encoding(&l);
    if (err == S3E_OK)
        err = parse_prefix_delim(&l);
    if (err == S3E_OK)
        err = text_param(&l, "start-after", &start_after);
    if (err != S3E_OK)
        goto out;
    if (has_tok) {
        struct str key;
        bool is_prefix;
        if (token_parse(q->arena, tok, &key, &is_prefix) < 0) {
            err = arg_error(q, MSG_TOKEN, "continuation-token", tok.p ? tok : STR_LIT(""));
            goto out;
        }
        floor = key;
        if (is_prefix) {
            if (!pos_after_prefix(&l, &start, key)) {
                start.key = STR_NULL;
                l.max = 0; /* nothing sorts after that prefix: an empty page */
            }
        } else {
            start.key = key;
        }
    } else if (start_after.n > 0) {
        start.key = start_after;
        floor = start_after;
    }
    l.owner = fetch_owner.p != NULL && str_ieq_c(fetch_owner, "true");
    err = collect(&l, start, floor, false);
    if (err != S3E_OK)
        goto out;

    rc |= xml_decl(&l.x);
    rc |= xml_open_ns(&l.x, "ListBucketResult", S3_XMLNS);
    rc |= xml_elem(&l.x, "Name", l.b.name);
    rc |= put_key(&l, "Prefix", l.prefix, false);
    if (start_after.p != NULL)
        rc |= put_key(&l, "StartAfter", start_after, false);
    if (has_tok)
        rc |= xml_elem(&l.x, "ContinuationToken", tok);
    if (l.truncated) {
        const struct item *last = &l.items[l.n_items - 1];
        rc |= xml_elem_c(&l.x, "NextContinuationToken",
                         token_make(q->arena, last->key, last->is_prefix));
    }
    rc |= xml_elem_i64(&l.x, "KeyCount", (long long)l.n_items);
    rc |= xml_elem_i64(&l.x, "MaxKeys", l.max_sent);
    if (l.delim.p != NULL)
        rc |= put_key(&l, "Delimiter", l.delim, false);
    if (l.url)
        rc |= xml_elem_c(&l.x, "EncodingType", "url");
    rc |= xml_elem_bool(&l.x, "IsTruncated", l.truncated);
    if (rc != 0) {
        err = S3E_INTERNAL;
        goto out;
    }
    err = put_entries(&l);
    if (err != S3E_OK)
        goto out;
    if (xml_close(&l.x, "ListBucketResult") < 0) {
        err = S3E_INTERNAL;
        goto out;
    }
    err = lst_reply(&l);
out:
    lst_close(&l);
    return err;
}

/* ---- ListObjectVersions [spec-mfa-delete §4.6] ------------------------- */

/* Checks the version-id-marker and turns the markers into a scan start.
 * AWS precedence: max-keys, then version-id-marker without key-marker,
 * empty, malformed, then encoding-type (cases 45, 46, 48). */
static enum s3_err
version_params(struct lst *l, struct str *km, struct str *vm, struct pos *start)
{
    struct s3_req *q = l->q;
    bool has_km, has_vm;
    enum s3_err err;
    int64_t seq = 0;

    *km = s3_param(q, "key-marker", &has_km);
    *vm = s3_param(q, "version-id-marker", &has_vm);
    err = parse_max_keys(l);
    if (err != S3E_OK)
        return err;
    if (has_vm && !has_km)
        return arg_error(q, "A version-id marker cannot be specified without a key marker.",
                         "version-id-marker", vm->p ? *vm : STR_LIT(""));
    if (has_vm && vm->n == 0)
        return arg_error(q, "A version-id marker cannot be empty.", "version-id-marker",
                         STR_LIT(""));
    if (has_vm && (vm->n > S3_MAX_VERSION_ID_BYTES || md_vid_parse(*vm, &seq) < 0))
        return arg_error(q, "Invalid version id specified", "version-id-marker", *vm);
    err = parse_encoding(l);
    if (err == S3E_OK)
        err = parse_prefix_delim(l);
    if (err == S3E_OK)
        err = text_param(l, "key-marker", km);
    if (err != S3E_OK)
        return err;
    if (km->p == NULL)
        *km = STR_NULL;

    *start = (struct pos){STR_NULL, false, 0};
    if (!has_km)
        return S3E_OK;
    start->key = *km;
    if (!has_vm)
        return S3E_OK; /* strictly after every version of key-marker */
    if (seq == 0) {
        /* "null": its position among the key's versions is its seq. */
        struct md_version nv;
        int rc = md_version_get(l->c, l->b.id, *km, STR_LIT("null"), l->tmp, &nv);
        if (rc == -ENOENT) {
            /* Gone since the previous page: resume at the key's newest
             * version rather than risk skipping any. */
            start->inclusive = true;
            return S3E_OK;
        }
        if (rc < 0)
            return S3E_INTERNAL;
        seq = nv.seq;
    }
    start->seq = seq;
    return S3E_OK;
}

/* One <Version> or <DeleteMarker>. */
static enum s3_err
put_version(struct lst *l, const struct md_version *v)
{
    const struct md_account *acc;
    char when[32], etag[80];
    enum s3_err err = owner_of(l, v->owner_id, &acc);
    const char *tag = v->is_delete_marker ? "DeleteMarker" : "Version";
    int rc = 0;

    if (err != S3E_OK)
        return err;
    tm_iso8601(v->mtime_ms, when);
    rc |= xml_open(&l->x, tag);
    rc |= put_key(l, "Key", v->key, false);
    rc |= xml_elem(&l->x, "VersionId", v->version_id);
    rc |= xml_elem_bool(&l->x, "IsLatest", v->is_latest);
    rc |= xml_elem_c(&l->x, "LastModified", when);
    if (!v->is_delete_marker) {
        s3_etag_quoted(v->etag, etag);
        rc |= xml_elem_c(&l->x, "ETag", etag);
        rc |= put_checksum(l, v);
        rc |= xml_elem_i64(&l->x, "Size", v->size);
    }
    rc |= put_owner(l, acc);
    if (!v->is_delete_marker)
        rc |= xml_elem(&l->x, "StorageClass", s3_storage_class_name(v->storage_class));
    rc |= xml_close(&l->x, tag);
    return rc ? S3E_INTERNAL : S3E_OK;
}

/* GET /bucket?versions. Keys ascending, newest first within a key, Version
 * and DeleteMarker interleaved in that one order; NextKeyMarker and
 * NextVersionIdMarker name the last entry returned (AWS does so, whatever
 * the API text says). A page ending on a common prefix has no
 * NextVersionIdMarker: the prefix is the key marker. */
enum s3_err
s3_list_object_versions(struct s3_req *q)
{
    struct lst l;
    struct str km, vm;
    struct pos start;
    enum s3_err err;
    int rc = 0;

    err = lst_open(&l, q);
    if (err != S3E_OK)
        return err;
    err = version_params(&l, &km, &vm, &start);
    if (err != S3E_OK)
        goto out;
    l.owner = true;
    err = collect(&l, start, km.n > 0 ? km : STR_NULL, true);
    if (err != S3E_OK)
        goto out;

    rc |= xml_decl(&l.x);
    rc |= xml_open_ns(&l.x, "ListVersionsResult", S3_XMLNS);
    rc |= xml_elem(&l.x, "Name", l.b.name);
    rc |= put_key(&l, "Prefix", l.prefix, true);
    rc |= put_key(&l, "KeyMarker", km, true);
    if (vm.n > 0)
        rc |= xml_elem(&l.x, "VersionIdMarker", vm);
    else
        rc |= xml_empty(&l.x, "VersionIdMarker");
    if (l.truncated) {
        const struct item *last = &l.items[l.n_items - 1];
        rc |= put_key(&l, "NextKeyMarker", last->key, true);
        if (!last->is_prefix)
            rc |= xml_elem(&l.x, "NextVersionIdMarker", last->v.version_id);
    }
    rc |= xml_elem_i64(&l.x, "MaxKeys", l.max_sent);
    if (l.delim.p != NULL)
        rc |= put_key(&l, "Delimiter", l.delim, true);
    if (l.url)
        rc |= xml_elem_c(&l.x, "EncodingType", "url");
    rc |= xml_elem_bool(&l.x, "IsTruncated", l.truncated);
    if (rc != 0) {
        err = S3E_INTERNAL;
        goto out;
    }
    for (size_t i = 0; i < l.n_items; i++) {
        if (l.items[i].is_prefix)
            continue;
        err = put_version(&l, &l.items[i].v);
        if (err != S3E_OK)
            goto out;
    }
    for (size_t i = 0; i < l.n_items; i++) {
        if (!l.items[i].is_prefix)
            continue;
        rc |= xml_open(&l.x, "CommonPrefixes");
        rc |= put_key(&l, "Prefix", l.items[i].key, true);
        rc |= xml_close(&l.x, "CommonPrefixes");
    }
    rc |= xml_close(&l.x, "ListVersionsResult");
    if (rc != 0) {
        err = S3E_INTERNAL;
        goto out;
    }
    err = lst_reply(&l);
out:
    lst_close(&l);
    return err;
}
