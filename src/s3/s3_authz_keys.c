/* s3_authz_keys.c -- the condition keys and policy variables of an S3
 * request [spec-authorization §4.1, §4.2]: what a policy's Condition and
 * ${...} see. Values are computed only when a statement asks for them.
 * Keys Coffer cannot know are absent, as AWS leaves a key absent when the
 * request does not carry it: the object-lock keys (no object lock yet). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "s3/s3_authz.h"
#include "s3/s3_tagging.h"
#include "util/tm.h"

/* Key names are compared by length first: this runs for every condition of
 * every request, and most names tested are not the one asked for. */
#define KEY_IS(k, lit) ((k).n == sizeof(lit) - 1 && str_ieq_c((k), (lit)))

/* One value in the arena. */
static void
one(struct arena *a, struct policy_vals *out, struct str v)
{
    struct str *p = arena_alloc(a, sizeof(*p));

    *p = v;
    out->v = p;
    out->n = 1;
}

static void
one_c(struct arena *a, struct policy_vals *out, const char *v)
{
    one(a, out, str_c(v));
}

static void
one_i64(struct arena *a, struct policy_vals *out, long long v)
{
    one_c(a, out, arena_printf(a, "%lld", v));
}

/* A header's value, or absent. */
static void
header(const struct s3_req *q, const char *name, struct arena *a, struct policy_vals *out)
{
    struct str v = http_header(q->http, name);

    /* A browser POST upload's ACL is a form field (s3_post.c). */
    if (q->is_post_form && strcmp(name, "x-amz-acl") == 0)
        v = q->post_acl;
    if (v.p != NULL)
        one(a, out, v);
}

/* A query parameter's value, or absent. */
static void
param(const struct s3_req *q, const char *name, struct arena *a, struct policy_vals *out)
{
    bool present = false;
    struct str v = s3_param(q, name, &present);

    if (present)
        one(a, out, v.p != NULL ? v : STR_LIT(""));
}

static bool
is_list_action(const struct s3_authz_ctx *x)
{
    return str_ieq_c(x->ctx.action, "s3:ListBucket") ||
           str_ieq_c(x->ctx.action, "s3:ListBucketVersions");
}

/* Actions whose decision may read the stored tags of the version acted
 * on [spec-authorization §4.2]: not PutObject or DeleteObject. */
static bool
reads_existing_tags(struct str action)
{
    static const char *const actions[] = {
        "s3:GetObject",           "s3:GetObjectVersion",          "s3:GetObjectAcl",
        "s3:GetObjectVersionAcl", "s3:PutObjectAcl",              "s3:PutObjectVersionAcl",
        "s3:GetObjectTagging",    "s3:GetObjectVersionTagging",   "s3:PutObjectTagging",
        "s3:PutObjectVersionTagging", "s3:DeleteObjectTagging",   "s3:DeleteObjectVersionTagging",
    };

    for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
        if (str_ieq_c(action, actions[i]))
            return true;
    return false;
}

/* s3:ExistingObjectTag/<name>: the stored tag of the version acted on (the
 * current one without a versionId), read once per evaluation and only
 * when a policy asks; absent for a missing version or a delete marker. */
static void
existing_tag(struct s3_authz_ctx *x, struct str name, struct arena *a, struct policy_vals *out)
{
    const struct s3_req *q = x->q;
    struct md_tag *t;
    size_t n;

    if (x->bucket == NULL || x->obj_key.p == NULL || !reads_existing_tags(x->ctx.action))
        return;
    if (!x->tags_loaded) {
        struct md_version v;
        int rc = md_version_get(md_reader(q->srv->md), x->bucket->id, x->obj_key, x->version_id,
                                a, &v);
        x->tags_loaded = true;
        x->existing_tags = rc == 0 && !v.is_delete_marker ? v.tags : STR_NULL;
    }
    if (md_tags_decode(x->existing_tags, a, &t, &n) < 0)
        return;
    /* Condition key names, the tag's included, compare in any case
     * [§4.1 decision]. */
    for (size_t i = 0; i < n; i++) {
        if (str_ieq(t[i].key, name)) {
            one(a, out, t[i].value);
            return;
        }
    }
}

/* s3:RequestObjectTag/<name> (name NULL: s3:RequestObjectTagKeys, every
 * key): the tags a write or PutObjectTagging carries; absent without. */
static void
request_tags(const struct s3_authz_ctx *x, const struct str *name, struct arena *a,
             struct policy_vals *out)
{
    const struct md_tag *t;
    struct str *vals;
    size_t n;

    if (x->copy_source ||
        !(str_ieq_c(x->ctx.action, "s3:PutObject") ||
          str_ieq_c(x->ctx.action, "s3:PutObjectTagging") ||
          str_ieq_c(x->ctx.action, "s3:PutObjectVersionTagging")) ||
        !s3_tagging_request_tags(x->q, a, &t, &n))
        return;
    if (name != NULL) {
        for (size_t i = 0; i < n; i++) {
            if (str_ieq(t[i].key, *name)) {
                one(a, out, t[i].value);
                return;
            }
        }
        return;
    }
    vals = arena_alloc(a, n * sizeof(*vals));
    for (size_t i = 0; i < n; i++)
        vals[i] = t[i].key;
    out->v = vals;
    out->n = n;
}

/* The peer's address without its port ("1.2.3.4:5" -> "1.2.3.4",
 * "[::1]:5" -> "::1"). */
static struct str
peer_ip(const struct s3_req *q)
{
    const char *p = q->http->peer;
    const char *colon = strrchr(p, ':');
    size_t n = colon != NULL ? (size_t)(colon - p) : strlen(p);

    if (n >= 2 && p[0] == '[' && p[n - 1] == ']')
        return str_make(p + 1, n - 2);
    return str_make(p, n);
}

void
s3_authz_key(void *arg, struct str key, struct arena *a, struct policy_vals *out)
{
    const struct s3_authz_ctx *x = arg;
    const struct s3_req *q = x->q;
    const struct s3_principal *pr = &q->pr;
    bool session = !pr->anonymous && q->key_info.expires_ms > 0;
    /* When the session's MFA context began, 0 for none: a role session has
     * none unless it inherited its caller's [§4.3 decision]. */
    int64_t mfa_ms = q->key_info.role_id > 0 && !q->key_info.mfa_inherited
                         ? 0
                         : q->key_info.mfa_auth_ms;
    int64_t now_ms = x->now_ms;

    out->v = NULL;
    out->n = 0;
    if (key.n > 4 && str_ieq_c(str_make(key.p, 4), "aws:")) {
        if (KEY_IS(key, "aws:SecureTransport"))
            one_c(a, out, q->http->is_tls ? "true" : "false");
        else if (KEY_IS(key, "aws:CurrentTime")) {
            /* Once per evaluation: time-boxed policies ask in several
             * statements. */
            struct s3_authz_ctx *mx = arg;
            if (mx->now_iso.p == NULL) {
                char t[32];
                tm_iso8601(now_ms, t);
                mx->now_iso = str_c(arena_strndup(a, t, strlen(t)));
            }
            one(a, out, mx->now_iso);
        } else if (KEY_IS(key, "aws:EpochTime"))
            one_i64(a, out, (long long)(now_ms / 1000));
        else if (KEY_IS(key, "aws:SourceIp"))
            one(a, out, peer_ip(q));
        else if (KEY_IS(key, "aws:UserAgent"))
            header(q, "user-agent", a, out);
        else if (KEY_IS(key, "aws:Referer"))
            header(q, "referer", a, out);
        else if (KEY_IS(key, "aws:RequestedRegion"))
            one_c(a, out, q->srv->region);
        else if (KEY_IS(key, "aws:ResourceAccount")) {
            if (x->owner_account[0] != '\0')
                one_c(a, out, x->owner_account);
        } else if (KEY_IS(key, "aws:ViaAWSService") ||
                   KEY_IS(key, "aws:PrincipalIsAWSService"))
            one_c(a, out, "false");
        else if (KEY_IS(key, "aws:PrincipalType"))
            one_c(a, out, pr->type);
        else if (KEY_IS(key, "aws:userid"))
            one(a, out, pr->userid);
        else if (KEY_IS(key, "aws:PrincipalAccount"))
            one(a, out, pr->anonymous ? STR_LIT("anonymous") : pr->who.account);
        else if (pr->anonymous)
            return; /* the keys below need a signed request */
        else if (KEY_IS(key, "aws:PrincipalArn"))
            one(a, out, pr->who.arn);
        else if (KEY_IS(key, "aws:username")) {
            if (pr->user_name.n > 0)
                one(a, out, pr->user_name);
        } else if (str_ieq_c(key, "aws:MultiFactorAuthPresent")) {
            /* Only temporary credentials carry it [§4.1, §4.3], and a
             * request that verifies a code itself (AssumeRole). */
            if (x->mfa_now)
                one_c(a, out, "true");
            else if (session)
                one_c(a, out, mfa_ms > 0 ? "true" : "false");
        } else if (str_ieq_c(key, "aws:MultiFactorAuthAge")) {
            if (x->mfa_now)
                one_c(a, out, "0");
            else if (session && mfa_ms > 0)
                one_i64(a, out, (long long)((now_ms - mfa_ms) / 1000));
        } else if (str_ieq_c(key, "aws:TokenIssueTime")) {
            if (session) {
                char t[32];
                tm_iso8601(q->key_info.created_ms, t);
                one_c(a, out, arena_strndup(a, t, strlen(t)));
            }
        }
        return;
    }
    if (!(key.n > 3 && str_ieq_c(str_make(key.p, 3), "s3:")))
        return;
    if (KEY_IS(key, "s3:prefix") || KEY_IS(key, "s3:delimiter")) {
        if (is_list_action(x))
            param(q, KEY_IS(key, "s3:prefix") ? "prefix" : "delimiter", a, out);
    } else if (KEY_IS(key, "s3:max-keys")) {
        /* Present for every listing: 1000 when the request sets none
         * [§4.2 decision]. */
        if (is_list_action(x)) {
            bool present = false;
            struct str v = s3_param(q, "max-keys", &present);
            if (present && v.p != NULL)
                one(a, out, v);
            else
                one_c(a, out, "1000");
        }
    } else if (KEY_IS(key, "s3:VersionId")) {
        if (x->version_id.p != NULL)
            one(a, out, x->version_id);
    } else if (KEY_IS(key, "s3:authType")) {
        /* A browser upload is "POST", signed by its form or not [§8]. */
        if (q->is_post_form)
            one_c(a, out, "POST");
        else if (!pr->anonymous)
            one_c(a, out, q->auth.is_presigned ? "REST-QUERY-STRING" : "REST-HEADER");
    } else if (KEY_IS(key, "s3:signatureversion")) {
        if (!pr->anonymous)
            one_c(a, out, q->is_sigv2 ? "AWS" : "AWS4-HMAC-SHA256");
    } else if (KEY_IS(key, "s3:signatureAge")) {
        /* SigV2 always 0 [§4.2]; SigV4: since the signed date. */
        int64_t t = 0;
        if (pr->anonymous)
            return;
        if (!q->is_sigv2 && tm_parse_amz(q->auth.amz_date, &t) == 0 && now_ms / 1000 >= t)
            one_i64(a, out, (long long)(now_ms - t * 1000));
        else
            one_c(a, out, "0");
    } else if (KEY_IS(key, "s3:TlsVersion")) {
        if (q->http->tls_version == 12)
            one_c(a, out, "1.2");
        else if (q->http->tls_version == 13)
            one_c(a, out, "1.3");
    } else if (KEY_IS(key, "s3:x-amz-content-sha256")) {
        if (!q->auth.is_presigned)
            header(q, "x-amz-content-sha256", a, out);
    } else if (KEY_IS(key, "s3:LocationConstraint")) {
        /* CreateBucket succeeds only in the server's own region (any other
         * LocationConstraint is refused), so that is the value [§4.2]. */
        if (str_ieq_c(x->ctx.action, "s3:CreateBucket"))
            one_c(a, out, q->srv->region);
    } else if (KEY_IS(key, "s3:ResourceAccount")) {
        if (x->owner_account[0] != '\0')
            one_c(a, out, x->owner_account);
    } else if (key.n > 21 && str_ieq_c(str_make(key.p, 21), "s3:ExistingObjectTag/")) {
        existing_tag(arg, str_make(key.p + 21, key.n - 21), a, out);
    } else if (key.n > 20 && str_ieq_c(str_make(key.p, 20), "s3:RequestObjectTag/")) {
        struct str name = str_make(key.p + 20, key.n - 20);
        request_tags(x, &name, a, out);
    } else if (KEY_IS(key, "s3:RequestObjectTagKeys")) {
        request_tags(x, NULL, a, out);
    } else if (KEY_IS(key, "s3:x-amz-copy-source")) {
        struct str v = http_header(q->http, "x-amz-copy-source");
        if (v.p != NULL && v.n > 0 && v.p[0] == '/')
            v = str_make(v.p + 1, v.n - 1);
        if (v.p != NULL)
            one(a, out, v);
    } else if (!x->copy_source) {
        /* Request-header keys: present iff the header is [§4.2 decision];
         * they describe the request's own write, never a copy source. */
        static const char *const hdr_keys[] = {
            "x-amz-acl",
            "x-amz-grant-read",
            "x-amz-grant-write",
            "x-amz-grant-read-acp",
            "x-amz-grant-write-acp",
            "x-amz-grant-full-control",
            "x-amz-server-side-encryption",
            "x-amz-server-side-encryption-aws-kms-key-id",
            "x-amz-server-side-encryption-customer-algorithm",
            "x-amz-metadata-directive",
            "x-amz-storage-class",
            "x-amz-website-redirect-location",
            "x-amz-object-ownership",
        };
        for (size_t i = 0; i < sizeof(hdr_keys) / sizeof(hdr_keys[0]); i++)
            if (key.n == 3 + strlen(hdr_keys[i]) &&
                str_ieq_c(str_make(key.p + 3, key.n - 3), hdr_keys[i])) {
                header(q, hdr_keys[i], a, out);
                return;
            }
    }
}
