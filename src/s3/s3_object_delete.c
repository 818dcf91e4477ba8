/* s3_object_delete.c -- DeleteObject and DeleteObjects on the wire: the MFA
 * delete checks that need the request, the DeleteObjects body and result
 * document, and the MFA audit records written in the same transaction as
 * the deletes. What a delete does to a key's versions is core/object.c's.
 * Rows are committed first; the data goes to the trash with them and is
 * unlinked by the reaper, never here. */
#include "common.h"
#include "bounds.h"
#include "core/object.h"
#include "crypto/cksum.h"
#include "s3/s3_authz.h"
#include "s3/s3_int.h"
#include "s3/s3_mfa.h"
#include "s3/s3_mpu.h"
#include "util/tm.h"
#include "xml/xml_read.h"
#include "xml/xml_write.h"

#include <errno.h>

/* ---- DELETE ------------------------------------------------------------- */

#define EVENT_VERSION_DELETED "object.version_deleted"

/* The audit record of one permanent delete made with MFA, appended in the
 * same closure as the delete so that neither commits without the other. */
static int
audit_version_delete(struct md_conn *c, struct s3_req *q, const struct mfa_req *m,
                     struct str key, struct str vid, const struct object_del *out)
{
    struct md_audit e;
    const char *detail;

    if (!out->removed)
        detail = arena_printf(q->arena, "%s: no such version (nothing removed)", q->op_name);
    else if (out->delete_marker)
        detail = arena_printf(q->arena, "%s: delete marker removed (MFA verified)", q->op_name);
    else
        detail = arena_printf(q->arena, "%s: version removed (MFA verified)", q->op_name);
    mfa_audit_record(m, tm_now_ms(), EVENT_VERSION_DELETED, detail, key, vid, &e);
    return md_audit_append(c, &e);
}

struct del_ctx {
    struct s3_req *q;
    struct md_bucket b;
    struct str vid;
    struct str if_match; /* If-Match; p == NULL when absent */
    bool mfa_ok;     /* mfa_require passed */
    struct mfa_req m; /* filled when mfa_ok */
    struct object_del out;
    enum core_err err;
};

static int
del_txn(struct md_conn *c, void *arg)
{
    struct del_ctx *d = arg;
    struct s3_req *q = d->q;

    d->err = object_remove(c, q->bucket, q->b.id, q->account_id, q->key, d->vid, d->if_match,
                           d->mfa_ok, tm_now_ms(), q->arena, &d->b, &d->out);
    if (d->err != CORE_E_OK)
        return -EINVAL;
    if (d->mfa_ok)
        return audit_version_delete(c, q, &d->m, q->key, d->vid, &d->out);
    return 0;
}

/* If-Match on DeleteObject [AWS conditional deletes]. The directory-bucket
 * conditions (last-modified time, size) are not S3's for general purpose
 * buckets: refused, never ignored. */
static enum s3_err
delete_conditions(struct s3_req *q, struct str *if_match)
{
    static const char *const dir_only[] = {
        "x-amz-if-match-last-modified-time",
        "x-amz-if-match-size",
    };

    for (size_t i = 0; i < ARRAY_LEN(dir_only); i++) {
        if (http_header(q->http, dir_only[i]).p != NULL) {
            q->err_msg = arena_printf(q->arena, "The header %s is not implemented by Coffer.",
                                      dir_only[i]);
            return S3E_NOT_IMPLEMENTED;
        }
    }
    *if_match = http_header(q->http, "if-match");
    return S3E_OK;
}

/* AWS: a delete conditioned on an ETag reveals the ETag, so it needs
 * s3:GetObject on the key besides the delete ("*" only asks whether the key
 * exists). */
static enum s3_err
if_match_authz(struct s3_req *q, const struct md_bucket *b, struct str key, struct str if_match)
{
    if (if_match.p == NULL || str_eq_c(str_trim(if_match), "*"))
        return S3E_OK;
    return s3_authz_check(q, "s3:GetObject", b, key, STR_NULL, false, NULL);
}

/* DELETE /{bucket}/{key}[?versionId=]. A versionId on a bucket with MFA
 * delete enabled needs the owner's root and a valid code (delete markers
 * and "null" included); a simple delete stays open to every authorised
 * caller [spec-mfa-delete §1.2, cases 25-30, 35]. */
enum s3_err
s3_delete_object(struct s3_req *q)
{
    struct del_ctx d = {.q = q};
    enum s3_err err;
    int rc;

    err = s3_mfa_precheck(q); /* Coffer decision 1: before anything else */
    if (err == S3E_OK)
        err = s3_version_param(q, &d.vid);
    if (err == S3E_OK)
        err = delete_conditions(q, &d.if_match);
    if (err == S3E_OK)
        err = s3_req_bucket(q, &d.b);
    if (err == S3E_OK)
        err = if_match_authz(q, &d.b, q->key, d.if_match);
    if (err != S3E_OK)
        return err;
    d.mfa_ok = d.vid.p != NULL && d.b.mfa_delete == MD_MFA_ENABLED;
    err = s3_mfa_gate(q, d.mfa_ok, d.b.account_id, q->key, d.vid);
    if (err != S3E_OK)
        return err;
    if (d.mfa_ok)
        s3_mfa_request(q, d.b.account_id, q->key, d.vid, &d.m);
    rc = md_write(q->srv->md, del_txn, &d);
    if (rc < 0 && d.err == CORE_E_NO_SUCH_KEY) /* If-Match without a current object */
        q->err_key = q->key;
    if (rc < 0)
        return d.err != CORE_E_OK ? s3_err_from_core(d.err) : s3_err_from_errno(rc);
    /* The row is gone and committed; its data is in the trash. */
    s3_reap_versions(q->srv);
    if (d.out.delete_marker)
        http_resp_header_c(q->http, "x-amz-delete-marker", "true");
    if (d.out.version_id.p != NULL)
        http_resp_header(q->http, "x-amz-version-id", d.out.version_id);
    s3_reply_empty(q, 204);
    return S3E_OK;
}

/* ---- DeleteObjects ------------------------------------------------------ */

struct multi_ctx {
    struct s3_req *q;
    struct md_bucket b;
    struct object_del_item *items; /* in: key, vid, skip; out: err, out */
    enum s3_err *refused;          /* per item: the check before the transaction */
    size_t n;
    bool any_vid;     /* some Object names a VersionId */
    bool mfa_ok;      /* mfa_require passed for the whole request */
    struct mfa_req m; /* filled when mfa_ok */
    enum core_err err;
};

/* May run more than once (md.h): object_delete_many() sets every output
 * on every run, and the audit records are rows written on c. */
static int
multi_txn(struct md_conn *c, void *arg)
{
    struct multi_ctx *m = arg;
    struct s3_req *q = m->q;
    int rc;

    m->err = object_delete_many(c, q->bucket, q->b.id, q->account_id, m->items, m->n, m->mfa_ok,
                                tm_now_ms(), q->arena, &m->b);
    if (m->err != CORE_E_OK)
        return -EINVAL;
    for (size_t i = 0; i < m->n && m->mfa_ok; i++) {
        struct object_del_item *it = &m->items[i];
        if (it->skip || it->err != CORE_E_OK || it->vid.p == NULL)
            continue;
        rc = audit_version_delete(c, q, &m->m, it->key, it->vid, &it->out);
        if (rc < 0)
            return rc; /* the whole request rolls back with its record */
    }
    return 0;
}

enum s3_err
s3_parse_delete(struct arena *a, struct str body, bool *quiet, struct s3_delete_obj **objs,
                size_t *n_objs)
{
    struct xml_node *root, *o, *qn;
    struct s3_delete_obj *v;
    size_t n = 0, i = 0;

    *quiet = false;
    if (xml_parse(a, body, &root) < 0 || !str_eq_c(root->name, "Delete"))
        return S3E_MALFORMED_XML;
    qn = xml_child(root, "Quiet");
    if (qn != NULL) {
        if (str_eq_c(qn->text, "true"))
            *quiet = true;
        else if (!str_eq_c(qn->text, "false"))
            return S3E_MALFORMED_XML;
    }
    for (o = xml_child(root, "Object"); o != NULL; o = xml_next(o, "Object"))
        n++;
    if (n == 0 || n > S3_MAX_DELETE_KEYS)
        return S3E_MALFORMED_XML;
    v = arena_alloc(a, n * sizeof(*v));
    for (o = xml_child(root, "Object"); o != NULL; o = xml_next(o, "Object"), i++) {
        struct xml_node *k = xml_child(o, "Key"), *vid = xml_child(o, "VersionId");
        struct xml_node *etag = xml_child(o, "ETag");
        if (k == NULL)
            return S3E_MALFORMED_XML;
        /* Conditions S3 keeps for directory buckets: refused, not ignored. */
        if (xml_child(o, "LastModifiedTime") != NULL || xml_child(o, "Size") != NULL)
            return S3E_NOT_IMPLEMENTED;
        v[i].key = k->text;
        v[i].vid = vid != NULL ? vid->text : STR_NULL;
        v[i].etag = etag != NULL ? etag->text : STR_NULL;
    }
    *objs = v;
    *n_objs = n;
    return S3E_OK;
}

/* POST /{bucket}?delete. On a bucket with MFA delete enabled, one Object
 * with a VersionId makes MFA required for the whole request, checked before
 * anything is deleted: without it nothing changes and no DeleteResult is
 * sent; a present but invalid code fails the request whatever it names
 * [spec-mfa-delete §2, cases 31-34, Coffer decision 6]. */
enum s3_err
s3_delete_objects(struct s3_req *q)
{
    struct http_req *r = q->http;
    struct multi_ctx m = {.q = q};
    struct s3_delete_obj *objs;
    struct str body;
    size_t i;
    enum s3_err err;
    int rc;
    bool quiet = false;
    struct buf x;
    bool has_cksum = http_header(r, "content-md5").p != NULL ||
                     http_header(r, "x-amz-sdk-checksum-algorithm").p != NULL;

    for (i = 0; i < r->n_hdrs && !has_cksum; i++)
        has_cksum = cksum_from_header(r->hdrs[i].name) != CKSUM_NONE;
    err = s3_mfa_precheck(q); /* Coffer decision 1: before anything else */
    if (err != S3E_OK)
        return err;
    err = s3_req_bucket(q, &m.b);
    if (err != S3E_OK)
        return err;
    if (!has_cksum) {
        q->err_msg = "Missing required header for this request: Content-MD5";
        return S3E_INVALID_REQUEST;
    }
    err = s3_body_read_all(q, S3_MAX_DELETE_BODY, &body);
    if (err != S3E_OK)
        return err;
    err = s3_parse_delete(q->arena, body, &quiet, &objs, &m.n);
    if (err != S3E_OK)
        return err;
    m.items = arena_zalloc(q->arena, m.n * sizeof(*m.items));
    m.refused = arena_zalloc(q->arena, m.n * sizeof(*m.refused));
    for (i = 0; i < m.n; i++) {
        struct object_del_item *it = &m.items[i];
        it->key = objs[i].key;
        it->vid = objs[i].vid;
        it->if_match = objs[i].etag;
        if (it->vid.p != NULL)
            m.any_vid = true; /* even one that will not parse: it names a version */
        /* A malformed version id is core's NoSuchVersion (object_delete()). */
        m.refused[i] = s3_key_check(it->key);
        if (m.refused[i] == S3E_OK && it->key.n == 0)
            m.refused[i] = S3E_INVALID_ARGUMENT; /* AWS: UserKeyMustBeSpecified */
        /* Each key as its own DeleteObject [spec-authorization §3.2]. */
        if (m.refused[i] == S3E_OK)
            m.refused[i] = s3_authz_check(q, it->vid.p ? "s3:DeleteObjectVersion" : "s3:DeleteObject",
                                          &m.b, it->key, it->vid, false, NULL);
        if (m.refused[i] == S3E_OK)
            m.refused[i] = if_match_authz(q, &m.b, it->key, it->if_match);
        it->skip = m.refused[i] != S3E_OK;
    }
    m.mfa_ok = m.any_vid && m.b.mfa_delete == MD_MFA_ENABLED;
    err = s3_mfa_gate(q, m.mfa_ok, m.b.account_id, STR_NULL, STR_NULL);
    if (err != S3E_OK)
        return err;
    if (m.mfa_ok)
        s3_mfa_request(q, m.b.account_id, STR_NULL, STR_NULL, &m.m);
    rc = md_write(q->srv->md, multi_txn, &m);
    if (rc < 0)
        return m.err != CORE_E_OK ? s3_err_from_core(m.err) : s3_err_from_errno(rc);
    s3_reap_versions(q->srv);

    buf_init(&x, 16 * 1024 * 1024);
    xml_decl(&x);
    xml_open_ns(&x, "DeleteResult", S3_XMLNS);
    for (i = 0; i < m.n; i++) {
        struct object_del_item *it = &m.items[i];
        enum s3_err ierr = it->skip ? m.refused[i] : s3_err_from_core(it->err);
        if (ierr != S3E_OK) {
            xml_open(&x, "Error");
            xml_elem(&x, "Key", it->key);
            if (it->vid.p != NULL)
                xml_elem(&x, "VersionId", it->vid);
            xml_elem_c(&x, "Code", s3_err_code(ierr));
            xml_elem_c(&x, "Message", s3_err_msg(ierr));
            xml_close(&x, "Error");
            continue;
        }
        if (quiet)
            continue;
        xml_open(&x, "Deleted");
        xml_elem(&x, "Key", it->key);
        if (it->vid.p != NULL)
            xml_elem(&x, "VersionId", it->vid);
        if (it->out.delete_marker) {
            xml_elem_bool(&x, "DeleteMarker", true);
            if (it->out.version_id.p != NULL)
                xml_elem(&x, "DeleteMarkerVersionId", it->out.version_id);
        }
        xml_close(&x, "Deleted");
    }
    xml_close(&x, "DeleteResult");
    s3_reply_xml(q, 200, &x);
    return S3E_OK;
}
