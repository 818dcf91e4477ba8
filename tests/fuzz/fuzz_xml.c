/* fuzz_xml.c -- the XML reader (expat, capped) and every parser of an XML
 * request body: PutBucketLifecycleConfiguration, PutBucketVersioning,
 * CreateBucket's CreateBucketConfiguration, DeleteObjects and
 * CompleteMultipartUpload, each a pure function of (arena, body). The tree
 * xml_parse() returns is walked and checked against its own contract, and
 * each parser's result against what its handler relies on.
 *
 * Input: byte 0 picks the parser (value % 6: 0 the bare reader, 1
 * lifecycle, 2 versioning, 3 location, 4 delete, 5 complete, whose upload
 * checksum algorithm is byte 0 / 6 % 6); the rest is the body. A
 * lifecycle body is also read as the stored model and evaluated. */
#include "bounds.h"
#include "common.h"
#include "s3/s3_int.h"
#include "s3/s3_lifecycle.h"
#include "s3/s3_mpu.h"
#include "store/md.h"
#include "util/arena.h"
#include "xml/xml_read.h"

#include <stdint.h>
#include <string.h>

/* Names and texts are NUL-terminated arena strings; n_children counts the
 * children; nothing is deeper than XML_MAX_DEPTH. Returns the node count. */
static size_t
walk(const struct xml_node *n, const struct xml_node *parent, int depth)
{
    size_t count = 1, kids = 0;

    if (depth > XML_MAX_DEPTH || n->parent != parent || n->name.p == NULL || n->text.p == NULL ||
        n->name.n == 0 || n->name.p[n->name.n] != '\0' || n->text.p[n->text.n] != '\0' ||
        memchr(n->name.p, '|', n->name.n) != NULL)
        __builtin_trap();
    for (const struct xml_node *c = n->child; c != NULL; c = c->next) {
        count += walk(c, n, depth + 1);
        kids++;
    }
    if (kids != n->n_children)
        __builtin_trap();
    return count;
}

static void
reader(struct arena *a, struct str body)
{
    struct xml_node *root = NULL;

    if (xml_parse(a, body, &root) == 0) {
        if (root == NULL || walk(root, NULL, 1) > XML_MAX_NODES)
            __builtin_trap();
        /* Lookups on every level. */
        for (struct xml_node *c = xml_child(root, root->child ? root->child->name.p : "x");
             c != NULL; c = xml_next(c, c->name.p))
            (void)xml_child(c, "Key");
    }
}

/* The stored form read back as the model (s3_lifecycle_parse()), on any
 * body: refused cleanly or parsed whole; a body the check accepts always
 * parses. The evaluator is then asked about a few versions and uploads,
 * and must only answer with one of the configuration's rules, due by
 * now. */
static void
lifecycle_model(struct arena *a, struct str body, bool valid)
{
    static const int64_t now = 1768473000000; /* 2026-01-15T10:30:00Z */
    static const char *const keys[] = {"", "logs/a", "docs/x", "up/big"};
    struct lc_config cfg;
    enum s3_err err = s3_lifecycle_parse(a, body, &cfg);

    if (err != S3E_OK && (err != S3E_MALFORMED_XML || valid || cfg.n_rules != 0))
        __builtin_trap();
    for (size_t i = 0; err == S3E_OK && i < ARRAY_LEN(keys) * 4; i++) {
        struct lc_object o = {
            .key = str_c(keys[i % ARRAY_LEN(keys)]),
            .size = (int64_t)i * 40000,
            .tags = (i & 1) ? STR_LIT("a\t1\nb\t2\n") : STR_NULL,
            .is_delete_marker = i % 5 == 0,
            .is_latest = i % 3 != 0,
            .is_sole = i % 5 == 0,
            .mtime_ms = now - (int64_t)i * 86400000 * 40,
            .noncurrent_ms = i % 3 != 0 ? 0 : now - (int64_t)i * 86400000 * 20,
            .noncurrent_rank = i % 3 != 0 ? 0 : (int64_t)i,
        };
        struct lc_decision d;
        const struct lc_rule *r;
        int64_t due;

        if (lc_evaluate(&cfg, &o, now, i % 2 ? LC_DAY_S : 10, &d) &&
            (d.rule < cfg.rules || d.rule >= cfg.rules + cfg.n_rules || d.due_ms > now ||
             !d.rule->is_enabled))
            __builtin_trap();
        if (lc_expiration_header(&cfg, &o, &r, &due) &&
            (r < cfg.rules || r >= cfg.rules + cfg.n_rules || !o.is_latest ||
             s3_lifecycle_expiry_value(a, r->id, due) == NULL))
            __builtin_trap();
        if (lc_abort_date(&cfg, o.key, o.mtime_ms, LC_DAY_S, &r, &due) &&
            (r->abort_days < 0 || due <= o.mtime_ms))
            __builtin_trap();
    }
}

static void
lifecycle(struct arena *a, struct str body)
{
    struct s3_lifecycle_err e;
    enum s3_err err = s3_lifecycle_check(a, body, &e);

    if (err != S3E_OK && err != S3E_MALFORMED_XML && err != S3E_INVALID_ARGUMENT &&
        err != S3E_INVALID_REQUEST)
        __builtin_trap();
    if (err == S3E_OK && (e.msg != NULL || e.arg_name != NULL))
        __builtin_trap();
    if (e.arg_name != NULL && e.arg_value == NULL)
        __builtin_trap();
    lifecycle_model(a, body, err == S3E_OK);
}

static void
versioning(struct arena *a, struct str body)
{
    struct s3_versioning_req vr;
    enum s3_err err = s3_parse_versioning(a, body, &vr);

    if (err == S3E_OK && vr.status != MD_VER_ENABLED && vr.status != MD_VER_SUSPENDED)
        __builtin_trap();
    if (err != S3E_OK && err != S3E_MALFORMED_XML && err != S3E_ILLEGAL_VERSIONING_CONFIG)
        __builtin_trap();
}

static void
location(struct arena *a, struct str body)
{
    struct str lc;
    const char *unsupported;
    enum s3_err err = s3_parse_location(a, body, &lc, &unsupported);

    if (err == S3E_NOT_IMPLEMENTED && unsupported == NULL)
        __builtin_trap();
    if (err == S3E_OK && lc.p != NULL && (lc.n == 0 || lc.n > 64))
        __builtin_trap();
}

static void
delete_objects(struct arena *a, struct str body)
{
    struct s3_delete_obj *objs;
    size_t n;
    bool quiet;
    enum s3_err err = s3_parse_delete(a, body, &quiet, &objs, &n);

    if (err != S3E_OK) {
        if (err != S3E_MALFORMED_XML)
            __builtin_trap();
        return;
    }
    if (n == 0 || n > S3_MAX_DELETE_KEYS)
        __builtin_trap();
    /* What the handler does next with each one. */
    for (size_t i = 0; i < n; i++) {
        int64_t seq;
        if (objs[i].key.p == NULL)
            __builtin_trap();
        (void)s3_key_check(objs[i].key);
        if (objs[i].vid.p != NULL)
            (void)md_vid_parse(objs[i].vid, &seq);
    }
}

static void
complete(struct arena *a, struct str body, uint8_t pick)
{
    static const char *const algos[] = {"", "CRC32", "CRC32C", "SHA1", "SHA256", "CRC64NVME"};
    struct s3_mpu_want *want;
    struct str bad;
    size_t n;
    enum s3_err err =
        s3_mpu_parse_complete(a, body, str_c(algos[pick % ARRAY_LEN(algos)]), &want, &n, &bad);

    if (err == S3E_INVALID_ARGUMENT && bad.p == NULL)
        __builtin_trap();
    if (err != S3E_OK)
        return;
    if (n == 0 || n > S3_MPU_MAX_PARTS)
        __builtin_trap();
    for (size_t i = 0; i < n; i++) {
        if (want[i].number < 1 || want[i].number > S3_MPU_MAX_PARTS ||
            (i > 0 && want[i].number <= want[i - 1].number) || want[i].etag.p == NULL)
            __builtin_trap();
        if (pick % ARRAY_LEN(algos) == 0 && want[i].checksum.p != NULL)
            __builtin_trap();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct arena *a;
    struct str body;

    if (size == 0)
        return 0;
    body = str_make((const char *)data + 1, size - 1);
    a = arena_new();
    switch (data[0] % 6) {
    case 0:
        reader(a, body);
        break;
    case 1:
        lifecycle(a, body);
        break;
    case 2:
        versioning(a, body);
        break;
    case 3:
        location(a, body);
        break;
    case 4:
        delete_objects(a, body);
        break;
    case 5:
        complete(a, body, (uint8_t)(data[0] / 6));
        break;
    }
    arena_free(a);
    return 0;
}
