/* s3_lens.c -- the S3 Storage Lens configuration API of S3 Control on the
 * S3 endpoint [spec lifecycle-and-storage-lens B1, B2]: Put, Get, Delete
 * and List of configurations at /v20180820/storagelens[/ID] and their
 * tagging at /v20180820/storagelens/ID/tagging, with x-amz-account-id.
 * Routing and authorization (s3:<Operation> on storage-lens/ID) happen
 * before these handlers (s3_route.c); the document's rules are
 * s3_lens_model.c's, the rows md_lens.c's. Metrics and exports are not
 * here. Every account has default-account-dashboard: it is written on the
 * account's first Storage Lens call, then behaves as any configuration
 * but cannot be deleted. */
#include "common.h"
#include "s3/s3_lens.h"
#include "bounds.h"
#include "s3/s3_int.h"
#include "s3/s3_lens_model.h"
#include "store/md_lens.h"
#include "util/enc.h"
#include "util/tm.h"
#include "xml/xml_read.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define CTL_PREFIX "/v20180820/"

/* ---- addressing ------------------------------------------------------------ */

struct str
s3_ctl_host_label(struct str hname)
{
    if (hname.n < 14 || hname.p[12] != '.')
        return STR_NULL;
    for (size_t i = 0; i < 12; i++)
        if (hname.p[i] < '0' || hname.p[i] > '9')
            return STR_NULL;
    return str_make(hname.p, 12);
}

enum s3_err
s3_ctl_host_check(struct s3_req *q, struct str hname)
{
    struct str label = s3_ctl_host_label(hname);
    struct str acct = http_header(q->http, "x-amz-account-id");

    if (label.p == NULL || acct.p == NULL || str_eq(label, acct))
        return S3E_OK;
    q->err_msg = "The account id in the host name does not match the x-amz-account-id header.";
    return S3E_INVALID_REQUEST;
}

/* The raw path after /v20180820/ (still percent-encoded). */
static struct str
raw_rest(const struct s3_req *q)
{
    struct str p = q->http->path;
    size_t n = sizeof(CTL_PREFIX) - 1;

    if (p.n < n || memcmp(p.p, CTL_PREFIX, n) != 0)
        return STR_NULL;
    return str_make(p.p + n, p.n - n);
}

/* Matches raw against pat, "{id}" standing for one non-empty segment;
 * *seg (may be NULL) is that segment. */
static bool
match(struct str raw, const char *pat, struct str *seg)
{
    size_t i = 0;

    for (const char *p = pat; *p != '\0';) {
        if (strncmp(p, "{id}", 4) == 0) {
            size_t start = i;
            while (i < raw.n && raw.p[i] != '/')
                i++;
            if (i == start)
                return false;
            if (seg != NULL)
                *seg = str_make(raw.p + start, i - start);
            p += 4;
            continue;
        }
        if (i == raw.n || raw.p[i] != *p)
            return false;
        i++;
        p++;
    }
    return i == raw.n;
}

bool
s3_ctl_match(const struct s3_req *q, const char *sub)
{
    if (strstr(sub, "{id}") == NULL)
        return str_eq_c(q->control, sub);
    return match(raw_rest(q), sub, NULL);
}

/* The configuration id of the path, decoded (STR_NULL: a bad escape). */
static struct str
path_id(struct s3_req *q)
{
    struct str raw = raw_rest(q), seg = STR_NULL;
    char *dec;
    int n;

    if (!match(raw, "storagelens/{id}", &seg) && !match(raw, "storagelens/{id}/tagging", &seg))
        return STR_NULL;
    dec = arena_alloc(q->arena, seg.n + 1);
    n = uri_decode(seg, dec);
    if (n < 0)
        return STR_NULL;
    dec[n] = '\0';
    return str_make(dec, (size_t)n);
}

static struct str
lens_arn(struct s3_req *q, struct str id)
{
    return str_c(arena_printf(q->arena, "arn:aws:s3:%s:%012lld:storage-lens/%.*s", q->srv->region,
                              (long long)q->account_id, STR_FMT(id)));
}

struct str
s3_ctl_resource(struct s3_req *q)
{
    struct str id;

    if (!str_has_prefix(q->control, "storagelens/"))
        return STR_NULL;
    id = path_id(q);
    return id.p != NULL ? lens_arn(q, id) : STR_NULL;
}

/* ---- common checks --------------------------------------------------------- */

/* x-amz-account-id: required [decision: 400 InvalidRequest without it], 12
 * digits (else InvalidArgument, as the other S3 Control operations), the
 * caller's own account (else AccessDenied, whoever asks). */
static enum s3_err
lens_account(struct s3_req *q)
{
    struct str v = http_header(q->http, "x-amz-account-id");
    unsigned long long id;

    if (v.p == NULL) {
        q->err_msg = "Missing required header for this request: x-amz-account-id";
        return S3E_INVALID_REQUEST;
    }
    if (v.n != 12 || str_to_u64(v, &id) < 0) {
        q->err_msg = "The account id must be a 12-digit number.";
        q->err_arg_name = "x-amz-account-id";
        q->err_arg_value = arena_cstr(q->arena, v);
        return S3E_INVALID_ARGUMENT;
    }
    if (q->auth.is_anonymous || (int64_t)id != q->account_id)
        return S3E_ACCESS_DENIED;
    return S3E_OK;
}

static enum s3_err
lens_err(struct s3_req *q, const struct s3_lens_err *e)
{
    if (e->msg != NULL)
        q->err_msg = e->msg;
    return e->err;
}

/* The canonical document of c (no namespace, no ARN), in the arena. */
static enum s3_err
canonical(struct s3_req *q, const struct s3_lens_cfg *c, size_t cap, struct str *out)
{
    struct buf b;

    buf_init(&b, cap);
    if (s3_lens_render(c, NULL, STR_NULL, &b) < 0) {
        buf_free(&b);
        return S3E_INTERNAL;
    }
    *out = str_c(arena_strndup(q->arena, b.p, b.n));
    buf_free(&b);
    return S3E_OK;
}

struct lens_write {
    struct md_lens row;
    bool set_tags;
    struct arena *a;
    int n_max;      /* the per-account limit */
    bool too_many;  /* out: a new configuration past the limit */
};

static int
add_fn(struct md_conn *c, void *arg)
{
    struct lens_write *w = arg;
    int rc = md_lens_add(c, &w->row);

    return rc < 0 ? rc : 0;
}

/* The account's default dashboard, written on its first Storage Lens
 * call [spec B1 decision]; a read when it is there already. */
static enum s3_err
ensure_default(struct s3_req *q)
{
    struct lens_write w = {0};
    struct s3_lens_cfg d;
    struct md_lens row;
    enum s3_err err;
    int rc;

    rc = md_lens_get(md_reader(q->srv->md), q->account_id, STR_LIT(S3_LENS_DEFAULT_ID), q->arena,
                     &row);
    if (rc == 0)
        return S3E_OK;
    if (rc != -ENOENT)
        return S3E_INTERNAL;
    s3_lens_default(&d);
    err = canonical(q, &d, 4096, &w.row.config);
    if (err != S3E_OK)
        return err;
    w.row.account_id = q->account_id;
    w.row.id = d.id;
    w.row.is_enabled = true;
    w.row.created_ms = tm_now_ms();
    rc = md_write(q->srv->md, add_fn, &w);
    return rc < 0 ? s3_err_from_errno(rc) : S3E_OK;
}

/* The account header, the path's id (InvalidConfigId) and the default
 * dashboard: what every operation on one configuration starts with. */
static enum s3_err
lens_begin(struct s3_req *q, struct str *id)
{
    enum s3_err err = lens_account(q);

    if (err != S3E_OK)
        return err;
    *id = path_id(q);
    if (!s3_lens_id_valid(*id))
        return S3E_LENS_INVALID_CONFIG_ID;
    return ensure_default(q);
}

/* ---- configurations -------------------------------------------------------- */

static int
put_fn(struct md_conn *c, void *arg)
{
    struct lens_write *w = arg;
    struct md_lens old;
    int rc;

    w->too_many = false;
    rc = md_lens_get(c, w->row.account_id, w->row.id, w->a, &old);
    if (rc == -ENOENT) {
        rc = md_lens_count(c, w->row.account_id);
        if (rc < 0)
            return rc;
        /* AWS: at most 50 dashboards per home Region, the default included. */
        if (rc >= w->n_max) {
            w->too_many = true;
            return 0;
        }
    } else if (rc < 0) {
        return rc;
    }
    return md_lens_put(c, &w->row, w->set_tags);
}

/* The export bucket: the caller's own account, a bucket it owns. */
static enum s3_err
check_destination(struct s3_req *q, const struct s3_lens_dest *d)
{
    char acct[16];
    struct md_bucket b;
    int rc;

    snprintf(acct, sizeof(acct), "%012lld", (long long)q->account_id);
    if (!str_eq_c(d->account_id, acct)) {
        q->err_msg = "The destination AccountId must be your own account.";
        return S3E_LENS_INVALID_DESTINATION;
    }
    rc = md_bucket_get(md_reader(q->srv->md), d->bucket, q->arena, &b);
    if (rc < 0 && rc != -ENOENT)
        return S3E_INTERNAL;
    if (rc == -ENOENT || b.account_id != q->account_id) {
        q->err_msg = "The destination bucket does not exist or is not owned by your account.";
        return S3E_LENS_INVALID_DESTINATION;
    }
    return S3E_OK;
}

enum s3_err
s3_put_storage_lens_configuration(struct s3_req *q)
{
    struct lens_write w = {.a = q->arena, .n_max = S3_LENS_MAX_CONFIGS};
    struct s3_lens_cfg cfg;
    struct s3_lens_err e;
    struct md_tag *t;
    struct str id, body;
    size_t n;
    enum s3_err err;
    int rc;

    err = lens_begin(q, &id);
    if (err == S3E_OK)
        err = s3_config_body(q, false, &body);
    if (err != S3E_OK)
        return err;
    err = s3_lens_parse_put(q->arena, body, &cfg, &w.set_tags, &t, &n, &e);
    if (err != S3E_OK)
        return lens_err(q, &e);
    /* [decision] the body's Id must be the path's. */
    if (!str_eq(cfg.id, id))
        return S3E_LENS_INVALID_CONFIG_ID;
    if (cfg.dest.present) {
        err = check_destination(q, &cfg.dest);
        if (err != S3E_OK)
            return err;
    }
    if (w.set_tags && n > 0 && md_tags_encode(t, n, q->arena, &w.row.tags) < 0)
        return S3E_INVALID_TAG;
    /* Escaping can make text up to six times longer than the parsed value. */
    err = canonical(q, &cfg, 6 * body.n + 4096, &w.row.config);
    if (err != S3E_OK)
        return err;
    w.row.account_id = q->account_id;
    w.row.id = id;
    w.row.is_enabled = cfg.is_enabled;
    w.row.created_ms = tm_now_ms();
    rc = md_write(q->srv->md, put_fn, &w);
    if (rc < 0)
        return s3_err_from_errno(rc);
    if (w.too_many)
        return S3E_LENS_TOO_MANY_CONFIGS;
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}

/* The stored row of the path's configuration: NoSuchConfiguration when
 * there is none. */
static enum s3_err
load(struct s3_req *q, struct str id, struct md_lens *row)
{
    int rc = md_lens_get(md_reader(q->srv->md), q->account_id, id, q->arena, row);

    if (rc == -ENOENT)
        return S3E_NO_SUCH_CONFIGURATION;
    return rc < 0 ? S3E_INTERNAL : S3E_OK;
}

enum s3_err
s3_get_storage_lens_configuration(struct s3_req *q)
{
    struct s3_lens_cfg cfg;
    struct s3_lens_err e;
    struct xml_node *root;
    struct md_lens row;
    struct str id;
    struct buf x;
    enum s3_err err;
    int rc = 0;

    err = lens_begin(q, &id);
    if (err == S3E_OK)
        err = load(q, id, &row);
    if (err != S3E_OK)
        return err;
    /* The stored document is the server's own: failing to read it back is
     * an internal error, never the client's. */
    if (xml_parse(q->arena, row.config, &root) < 0 ||
        s3_lens_parse_node(q->arena, root, &cfg, &e) != S3E_OK)
        return S3E_INTERNAL;
    buf_init(&x, 6 * row.config.n + 4096);
    rc |= xml_decl(&x);
    rc |= s3_lens_render(&cfg, S3_LENS_XMLNS, lens_arn(q, id), &x);
    return s3_reply_built(q, rc, &x);
}

static int
delete_fn(struct md_conn *c, void *arg)
{
    struct lens_write *w = arg;

    return md_lens_delete(c, w->row.account_id, w->row.id);
}

enum s3_err
s3_delete_storage_lens_configuration(struct s3_req *q)
{
    struct lens_write w = {0};
    struct str id;
    enum s3_err err;
    int rc;

    err = lens_begin(q, &id);
    if (err != S3E_OK)
        return err;
    if (str_eq_c(id, S3_LENS_DEFAULT_ID))
        return S3E_LENS_DEFAULT_DELETE;
    w.row.account_id = q->account_id;
    w.row.id = id;
    rc = md_write(q->srv->md, delete_fn, &w);
    if (rc == -ENOENT)
        return S3E_NO_SUCH_CONFIGURATION;
    if (rc < 0)
        return s3_err_from_errno(rc);
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}

/* GET /v20180820/storagelens[?nextToken=]: the account's configurations
 * in id order, S3_LENS_PAGE at a time [decision], each as AWS lists it
 * (StorageLensArn, Id, HomeRegion, IsEnabled). */
enum s3_err
s3_list_storage_lens_configurations(struct s3_req *q)
{
    struct str token, after = STR_NULL;
    struct md_lens *rows;
    bool has_token;
    size_t n;
    struct buf x;
    enum s3_err err;
    int rc;

    err = lens_account(q);
    if (err == S3E_OK)
        err = ensure_default(q);
    if (err != S3E_OK)
        return err;
    token = s3_param(q, "nextToken", &has_token);
    if (has_token && s3_lens_token_decode(q->arena, token, &after) < 0) {
        q->err_msg = "The continuation token provided is incorrect";
        q->err_arg_name = "nextToken";
        return S3E_INVALID_ARGUMENT;
    }
    rc = md_lens_list(md_reader(q->srv->md), q->account_id, after, S3_LENS_PAGE + 1, q->arena,
                      &rows, &n);
    if (rc < 0)
        return S3E_INTERNAL;
    buf_init(&x, 1024 + (S3_LENS_PAGE + 1) * 512);
    rc |= xml_decl(&x);
    rc |= xml_open_ns(&x, "ListStorageLensConfigurationResult", S3_LENS_XMLNS);
    for (size_t i = 0; i < n && i < S3_LENS_PAGE; i++) {
        rc |= xml_open(&x, "StorageLensConfiguration");
        rc |= xml_elem(&x, "StorageLensArn", lens_arn(q, rows[i].id));
        rc |= xml_elem(&x, "Id", rows[i].id);
        rc |= xml_elem_c(&x, "HomeRegion", q->srv->region);
        rc |= xml_elem_bool(&x, "IsEnabled", rows[i].is_enabled);
        rc |= xml_close(&x, "StorageLensConfiguration");
    }
    if (n > S3_LENS_PAGE)
        rc |= xml_elem(&x, "NextToken", s3_lens_token_encode(q->arena, rows[S3_LENS_PAGE - 1].id));
    rc |= xml_close(&x, "ListStorageLensConfigurationResult");
    return s3_reply_built(q, rc, &x);
}

/* ---- tagging ----------------------------------------------------------------- */

static int
tags_fn(struct md_conn *c, void *arg)
{
    struct lens_write *w = arg;

    return md_lens_set_tags(c, w->row.account_id, w->row.id, w->row.tags, w->row.created_ms);
}

static enum s3_err
set_tags(struct s3_req *q, struct str id, struct str tags)
{
    struct lens_write w = {0};
    int rc;

    w.row.account_id = q->account_id;
    w.row.id = id;
    w.row.tags = tags;
    w.row.created_ms = tm_now_ms();
    rc = md_write(q->srv->md, tags_fn, &w);
    if (rc == -ENOENT)
        return S3E_NO_SUCH_CONFIGURATION;
    if (rc < 0)
        return s3_err_from_errno(rc);
    (void)s3_reply_empty(q, 200);
    return S3E_OK;
}

/* PUT .../tagging: the set replaces the stored one (AWS: tagging PUT
 * replaces the set); an empty <Tags/> leaves none. */
enum s3_err
s3_put_storage_lens_configuration_tagging(struct s3_req *q)
{
    struct s3_lens_err e;
    struct md_tag *t;
    struct str id, body, text = STR_NULL;
    size_t n;
    enum s3_err err;

    err = lens_begin(q, &id);
    if (err == S3E_OK)
        err = s3_config_body(q, false, &body);
    if (err != S3E_OK)
        return err;
    err = s3_lens_parse_tagging(q->arena, body, &t, &n, &e);
    if (err != S3E_OK)
        return lens_err(q, &e);
    if (n > 0 && md_tags_encode(t, n, q->arena, &text) < 0)
        return S3E_INVALID_TAG;
    return set_tags(q, id, text);
}

enum s3_err
s3_get_storage_lens_configuration_tagging(struct s3_req *q)
{
    struct md_lens row;
    struct md_tag *t;
    struct str id;
    size_t n = 0;
    struct buf x;
    enum s3_err err;
    int rc = 0;

    err = lens_begin(q, &id);
    if (err == S3E_OK)
        err = load(q, id, &row);
    if (err != S3E_OK)
        return err;
    if (row.tags.p != NULL && md_tags_decode(row.tags, q->arena, &t, &n) < 0)
        return S3E_INTERNAL;
    buf_init(&x, 1024 + 6 * row.tags.n + n * 64);
    rc |= xml_decl(&x);
    rc |= xml_open_ns(&x, "GetStorageLensConfigurationTaggingResult", S3_LENS_XMLNS);
    rc |= xml_open(&x, "Tags");
    for (size_t i = 0; i < n; i++) {
        rc |= xml_open(&x, "Tag");
        rc |= xml_elem(&x, "Key", t[i].key);
        rc |= xml_elem(&x, "Value", t[i].value);
        rc |= xml_close(&x, "Tag");
    }
    rc |= xml_close(&x, "Tags");
    rc |= xml_close(&x, "GetStorageLensConfigurationTaggingResult");
    return s3_reply_built(q, rc, &x);
}

enum s3_err
s3_delete_storage_lens_configuration_tagging(struct s3_req *q)
{
    struct str id;
    enum s3_err err = lens_begin(q, &id);

    return err != S3E_OK ? err : set_tags(q, id, STR_NULL);
}
