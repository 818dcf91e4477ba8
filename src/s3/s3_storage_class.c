/* s3_storage_class.c -- the storage classes a write may ask for, how a
 * version stores and shows its class, and RestoreObject. Coffer keeps every
 * class on the same disks; what it stores is the name, so that listings,
 * GET/HEAD and GetObjectAttributes answer what the writer asked for. The
 * archive classes, whose reads need a restore first, are refused rather
 * than stored as a class whose rules Coffer would not keep. */
#include "common.h"
#include "bounds.h"
#include "core/version.h"
#include "s3/s3_authz.h"
#include "s3/s3_int.h"
#include "xml/xml_read.h"

#include <errno.h>

/* Every class S3 names (the SDKs' StorageClass enum), and whether a
 * version may be stored in it here. */
static const struct {
    const char *name;
    bool stored;
} classes[] = {
    {"STANDARD", true},
    {"REDUCED_REDUNDANCY", true},
    {"STANDARD_IA", true},
    {"ONEZONE_IA", true},
    {"INTELLIGENT_TIERING", true},
    {"GLACIER_IR", true},
    /* Reads of these need RestoreObject first: refused, not faked. */
    {"GLACIER", false},
    {"DEEP_ARCHIVE", false},
    /* Hardware or bucket types Coffer is not. */
    {"OUTPOSTS", false},
    {"SNOW", false},
    {"EXPRESS_ONEZONE", false},
    {"FSX_OPENZFS", false},
    {"FSX_ONTAP", false},
};

bool
s3_storage_class_valid(struct str sc)
{
    for (size_t i = 0; i < ARRAY_LEN(classes); i++)
        if (str_eq_c(sc, classes[i].name))
            return classes[i].stored;
    return false;
}

enum s3_err
s3_storage_class_parse(struct str sc, struct str *stored)
{
    *stored = STR_NULL;
    if (sc.p == NULL)
        return S3E_OK;
    if (!s3_storage_class_valid(sc))
        return S3E_INVALID_STORAGE_CLASS;
    /* STANDARD is stored as none, as every version written before schema
     * 12 is: one spelling of the default. */
    if (!str_eq_c(sc, "STANDARD"))
        *stored = sc;
    return S3E_OK;
}

enum s3_err
s3_storage_class_header(struct s3_req *q, struct str *stored)
{
    return s3_storage_class_parse(http_header(q->http, "x-amz-storage-class"), stored);
}

struct str
s3_storage_class_name(struct str stored)
{
    return stored.n > 0 ? stored : STR_LIT("STANDARD");
}

/* ---- RestoreObject -------------------------------------------------------- */

/* <RestoreRequest>: well-formed, with that root, and nothing but the
 * elements S3 defines. Which of them is used does not matter here: no
 * version is ever archived. */
static enum s3_err
restore_body_check(struct arena *a, struct str body)
{
    static const char *const known[] = {
        "Days", "GlacierJobParameters", "Type", "Tier", "Description", "SelectParameters",
        "OutputLocation",
    };
    struct xml_node *root;

    if (s3_is_blank(body))
        return S3E_OK;
    if (xml_parse(a, body, &root) < 0 || !str_eq_c(root->name, "RestoreRequest"))
        return S3E_MALFORMED_XML;
    for (struct xml_node *n = root->child; n != NULL; n = n->next) {
        bool ok = false;
        for (size_t i = 0; i < ARRAY_LEN(known) && !ok; i++)
            ok = str_eq_c(n->name, known[i]);
        if (!ok)
            return S3E_MALFORMED_XML;
    }
    return S3E_OK;
}

/* POST /{bucket}/{key}?restore[&versionId=]. AWS: restoring an object
 * that is not in an archive class is 403 InvalidObjectState; every version
 * Coffer stores is in one of the classes read directly, so a found version
 * always gets that answer, after the key was authorized and looked up. */
enum s3_err
s3_restore_object(struct s3_req *q)
{
    struct md_bucket b;
    struct md_version v;
    struct str vid, body;
    enum core_err e;
    enum s3_err err;

    err = s3_version_param(q, &vid);
    if (err == S3E_OK)
        err = s3_req_bucket(q, &b);
    if (err == S3E_OK)
        err = s3_body_read_all(q, S3_MAX_XML_BODY, &body);
    if (err == S3E_OK)
        err = restore_body_check(q->arena, body);
    if (err != S3E_OK)
        return err;
    e = version_get(md_reader(q->srv->md), b.id, q->key, vid, q->arena, &v);
    if (e == CORE_E_NO_SUCH_KEY || e == CORE_E_NO_SUCH_VERSION) {
        q->err_key = q->key;
        if (e == CORE_E_NO_SUCH_VERSION)
            q->err_version_id = vid;
        return s3_err_from_core(e);
    }
    if (e != CORE_E_OK)
        return s3_err_from_core(e);
    if (v.is_delete_marker) {
        /* A marker named by its id: as GET, 405 with the marker's headers. */
        http_resp_header_c(q->http, "x-amz-delete-marker", "true");
        http_resp_header(q->http, "x-amz-version-id", v.version_id);
        q->err_method = "POST";
        q->err_resource_type = "DeleteMarker";
        return S3E_METHOD_NOT_ALLOWED;
    }
    q->err_msg = "Restore is not allowed for the object's current storage class";
    return S3E_INVALID_OBJECT_STATE;
}
