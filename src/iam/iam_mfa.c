/* iam_mfa.c -- IAM virtual MFA devices: CreateVirtualMFADevice (seed and
 * QR code), Enable/Resync/DeactivateMFADevice, DeleteVirtualMFADevice,
 * ListMFADevices, ListVirtualMFADevices. Each change and its audit record
 * commit in one md_write closure. Seeds leave only in the
 * CreateVirtualMFADevice reply; codes are never logged or echoed. */
#include "common.h"
#include "iam/iam_int.h"

#include "auth/mfa_dev.h"
#include "auth/qr.h"
#include "auth/totp.h"
#include "crypto/hash.h"
#include "util/enc.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "xml/xml_write.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Coffer's decision: once a principal has an enabled MFA device, adding or
 * removing its devices needs credentials that were themselves MFA-verified
 * (GetSessionToken with a code). Otherwise stolen long-term keys could swap
 * root's device for one of their own and defeat MFA delete. The admin CLI
 * (`coffer mfa deactivate`) remains the way back when a device is lost. */
static bool
caller_mfa_verified(const struct iam *x)
{
    return x->r->key->expires_ms > 0 && x->r->key->mfa_auth_ms > 0;
}

static const char *const mfa_session_msg =
    "This principal has an enabled MFA device: adding or removing its MFA devices requires "
    "credentials from GetSessionToken with SerialNumber and TokenCode (or the coffer admin CLI).";

/* ---- CreateVirtualMFADevice -------------------------------------------- */

struct create_dev_op {
    struct iam *x;
    struct md_mfa_device d;
    enum iam_err err;
};

static int
create_dev_fn(struct md_conn *c, void *arg)
{
    struct create_dev_op *op = arg;
    struct md_mfa_device *all;
    size_t n;
    int rc;

    rc = md_mfa_list(c, op->d.account_id, -1, op->x->a, &all, &n);
    if (rc < 0)
        return rc;
    if (n >= IAM_MAX_DEVICES_PER_ACCOUNT) {
        op->err = iam_fail(op->x, IAM_E_LIMIT_EXCEEDED,
                           "Cannot exceed quota for MFA devices per account: %d",
                           IAM_MAX_DEVICES_PER_ACCOUNT);
        return -ECANCELED;
    }
    rc = md_mfa_create(c, &op->d);
    if (rc == -EEXIST) {
        op->err = iam_fail(op->x, IAM_E_ENTITY_EXISTS,
                           "MFADevice entity at the same path and name already exists.");
        return -ECANCELED;
    }
    if (rc < 0)
        return rc;
    return iam_audit(
        c, op->x, "mfa.created",
        arena_printf(op->x->a, "CreateVirtualMFADevice %.*s (unassigned)", STR_FMT(op->d.serial)));
}

enum iam_err
iam_create_virtual_mfa_device(struct iam *x, struct buf *res)
{
    struct str name = iam_arg(x, "VirtualMFADeviceName"), path = iam_arg(x, "Path");
    struct create_dev_op op = {.x = x};
    unsigned char seed[IAM_SEED_BYTES];
    char b32[(IAM_SEED_BYTES * 8 + 4) / 5 + 1];
    char *b64 = NULL;
    struct buf uri, png;
    enum iam_err err;
    size_t b32_n, b64_n = 0;
    int rc;

    buf_init(&uri, 2048);
    buf_init(&png, 1024 * 1024);
    err = iam_check_name(x, name, "virtualMFADeviceName", 226, true);
    if (err == IAM_E_OK && path.p != NULL)
        err = iam_check_path(x, path);
    if (err == IAM_E_OK)
        err = iam_check_tags(x);
    if (err != IAM_E_OK)
        goto out;
    if (path.p == NULL)
        path = STR_LIT("/");
    op.d.serial = str_c(
        arena_printf(x->a, "arn:aws:iam::%s:mfa%.*s%.*s", x->acct, STR_FMT(path), STR_FMT(name)));
    if (op.d.serial.n > 256) {
        err = iam_invalid(x, "serialNumber", op.d.serial, "have length less than or equal to 256");
        goto out;
    }
    /* A device needs an owner who can manage it later: root or a user. */
    if (x->caller.user_id < 0) {
        err = iam_fail(x, IAM_E_ACCESS_DENIED,
                       "MFA devices can be created only by the root user or an IAM user.");
        goto out;
    }
    if (rand_bytes(seed, sizeof(seed)) < 0) {
        err = IAM_E_INTERNAL;
        goto out;
    }
    b32_n = b32_encode(seed, sizeof(seed), b32);
    op.d.account_id = x->r->account_id;
    op.d.user_id = -1;
    op.d.owner_id = x->caller.user_id;
    op.d.name = name;
    op.d.path = path;
    op.d.is_virtual = true;
    op.d.seed = str_make((const char *)seed, sizeof(seed));
    op.d.created_ms = x->now_ms;
    err = iam_run_write(x, create_dev_fn, &op, &op.err);
    if (err != IAM_E_OK)
        goto out;
    /* AWS: the QR encodes otpauth://totp/$virtualMFADeviceName@$AccountName
     * ?secret=$Base32String, AccountName being the user name if set
     * [spec-mfa-delete §7.4]. For root Coffer uses the account name, not
     * AWS's account number: it is what the authenticator app shows. */
    rc = qr_otpauth_uri(name, x->caller.name, str_make(b32, b32_n), &uri);
    if (rc == 0)
        rc = qr_png(buf_str(&uri), IAM_QR_SCALE, IAM_QR_BORDER, &png);
    if (rc < 0) {
        log_error("iam: QR code for a new device failed (%d), request %s", rc, x->r->request_id);
        err = IAM_E_INTERNAL;
        goto out;
    }
    /* Both blobs are base64 on the wire: the seed is base64 of its base32
     * text [spec-mfa-delete §7.4]. */
    b64_n = 4 * (((png.n > b32_n ? png.n : b32_n) + 2) / 3) + 1;
    b64 = xmalloc(b64_n);
    rc = xml_open(res, "VirtualMFADevice");
    rc |= xml_elem(res, "SerialNumber", op.d.serial);
    b64_encode(b32, b32_n, b64);
    rc |= xml_elem_c(res, "Base32StringSeed", b64);
    b64_encode(png.p, png.n, b64);
    rc |= xml_elem_c(res, "QRCodePNG", b64);
    rc |= xml_close(res, "VirtualMFADevice");
    if (rc != 0)
        err = IAM_E_INTERNAL;
out:
    explicit_bzero(seed, sizeof(seed));
    explicit_bzero(b32, sizeof(b32));
    if (uri.p != NULL)
        explicit_bzero(uri.p, uri.n);
    if (b64 != NULL)
        explicit_bzero(b64, b64_n);
    free(b64);
    buf_free(&uri);
    buf_free(&png);
    return err;
}

/* ---- EnableMFADevice / ResyncMFADevice / DeactivateMFADevice ----------- */

enum dev_change { DEV_ENABLE, DEV_RESYNC, DEV_DEACTIVATE };

struct dev_op {
    struct iam *x;
    enum dev_change kind;
    struct str serial;
    struct principal target;
    uint32_t code1, code2;
    enum iam_err err;
};

static enum iam_err
no_device(struct iam *x, struct str serial)
{
    return iam_fail(x, IAM_E_NO_SUCH_ENTITY, "MFA device with serial number %s does not exist.",
                    iam_shown(x, serial));
}

static int
dev_fn(struct md_conn *c, void *arg)
{
    struct dev_op *op = arg;
    struct iam *x = op->x;
    struct md_mfa_device d = {0};
    struct totp_state st;
    const char *who = iam_principal_label(x, &op->target);
    int rc;

    /* A failed code commits (its audit record and failure count), so a
     * rerun of this closure must not keep an earlier run's verdict. */
    op->err = IAM_E_OK;
    x->msg = NULL;
    rc = md_mfa_get(c, op->serial, x->a, &d);
    if (rc == -ENOENT || (rc == 0 && d.account_id != x->r->account_id)) {
        op->err = no_device(x, op->serial);
        rc = -ECANCELED;
        goto out;
    }
    if (rc < 0)
        goto out;
    if (op->kind == DEV_ENABLE) {
        struct md_mfa_device *mine;
        size_t n, n_enabled = 0;
        if (d.is_enabled) {
            op->err = iam_fail(x, IAM_E_ENTITY_EXISTS, "MFA Device is already in use.");
            rc = -ECANCELED;
            goto out;
        }
        rc = md_mfa_list(c, x->r->account_id, op->target.user_id, x->a, &mine, &n);
        if (rc < 0)
            goto out;
        for (size_t i = 0; i < n; i++)
            n_enabled += mine[i].is_enabled && mine[i].user_id == op->target.user_id;
        if (n_enabled >= IAM_MAX_DEVICES_PER_PRINCIPAL) {
            op->err =
                iam_fail(x, IAM_E_LIMIT_EXCEEDED, "Cannot exceed quota for MFADevicesPerUser: %d",
                         IAM_MAX_DEVICES_PER_PRINCIPAL);
            rc = -ECANCELED;
            goto out;
        }
        if (n_enabled > 0 && !caller_mfa_verified(x)) {
            op->err = iam_fail(x, IAM_E_ACCESS_DENIED, "%s", mfa_session_msg);
            rc = -ECANCELED;
            goto out;
        }
    } else if (!d.is_enabled || d.user_id != op->target.user_id) {
        op->err = no_device(x, op->serial);
        rc = -ECANCELED;
        goto out;
    }
    if (op->kind == DEV_DEACTIVATE) {
        if (!caller_mfa_verified(x)) {
            op->err = iam_fail(x, IAM_E_ACCESS_DENIED, "%s", mfa_session_msg);
            rc = -ECANCELED;
            goto out;
        }
        rc = mfa_dev_deactivate(c, &d, x->now_ms);
        if (rc == 0)
            rc = iam_audit(
                c, x, "mfa.deactivated",
                arena_printf(x->a, "DeactivateMFADevice %.*s of %s", STR_FMT(d.serial), who));
        goto out;
    }
    rc = mfa_dev_check_codes(&d, op->kind == DEV_RESYNC, x->now_ms, op->code1, op->code2, &st);
    if (rc < 0) {
        /* Failures are recorded (and committed) for the audit log. */
        op->err =
            iam_fail(x, IAM_E_INVALID_AUTH_CODE, "Authentication code for device is not valid.");
        rc = iam_audit(c, x, "mfa.check_failed",
                       arena_printf(x->a, "%s %.*s for %s: authentication codes not valid",
                                    op->kind == DEV_ENABLE ? "EnableMFADevice" : "ResyncMFADevice",
                                    STR_FMT(d.serial), who));
        goto out;
    }
    rc = mfa_dev_save_state(c, &d, &st);
    if (rc < 0)
        goto out;
    if (op->kind == DEV_ENABLE) {
        rc = mfa_dev_enable(c, &d, op->target.user_id, x->now_ms);
        if (rc == 0)
            rc = iam_audit(
                c, x, "mfa.enabled",
                arena_printf(x->a, "EnableMFADevice %.*s for %s", STR_FMT(d.serial), who));
    } else {
        rc = iam_audit(c, x, "mfa.resynced",
                       arena_printf(x->a, "ResyncMFADevice %.*s of %s", STR_FMT(d.serial), who));
    }
out:
    mfa_dev_wipe_seed(&d);
    return rc;
}

static enum iam_err
change_device(struct iam *x, enum dev_change kind, const char *action)
{
    struct dev_op op = {.x = x, .kind = kind, .serial = iam_arg(x, "SerialNumber")};
    enum iam_err err;

    /* botocore requires UserName for Enable and Resync; Coffer defaults it
     * to the caller, as DeactivateMFADevice does. */
    err = iam_resolve_user(x, iam_arg(x, "UserName"), false, &op.target);
    if (err == IAM_E_OK)
        err = iam_check_serial(x, op.serial);
    if (err == IAM_E_OK && kind != DEV_DEACTIVATE)
        err = iam_get_code(x, "AuthenticationCode1", "authenticationCode1", &op.code1);
    if (err == IAM_E_OK && kind != DEV_DEACTIVATE)
        err = iam_get_code(x, "AuthenticationCode2", "authenticationCode2", &op.code2);
    if (err == IAM_E_OK)
        err = iam_may_manage(x, action, &op.target);
    if (err != IAM_E_OK)
        return err;
    return iam_run_write(x, dev_fn, &op, &op.err);
}

enum iam_err
iam_enable_mfa_device(struct iam *x, struct buf *res)
{
    (void)res;
    return change_device(x, DEV_ENABLE, "EnableMFADevice");
}

enum iam_err
iam_resync_mfa_device(struct iam *x, struct buf *res)
{
    (void)res;
    return change_device(x, DEV_RESYNC, "ResyncMFADevice");
}

enum iam_err
iam_deactivate_mfa_device(struct iam *x, struct buf *res)
{
    (void)res;
    return change_device(x, DEV_DEACTIVATE, "DeactivateMFADevice");
}

/* ---- DeleteVirtualMFADevice -------------------------------------------- */

struct delete_dev_op {
    struct iam *x;
    struct str serial;
    enum iam_err err;
};

static int
delete_dev_fn(struct md_conn *c, void *arg)
{
    struct delete_dev_op *op = arg;
    struct md_mfa_device d = {0};
    int rc;

    rc = md_mfa_get(c, op->serial, op->x->a, &d);
    mfa_dev_wipe_seed(&d);
    if (rc == -ENOENT || (rc == 0 && (d.account_id != op->x->r->account_id || !d.is_virtual))) {
        op->err = iam_fail(op->x, IAM_E_NO_SUCH_ENTITY,
                           "VirtualMFADevice with serial number %s does not exist.",
                           iam_shown(op->x, op->serial));
        return -ECANCELED;
    }
    if (rc < 0)
        return rc;
    /* Only the device's owner (its creator, or the principal it was last
     * assigned to) or root may delete it: an IAM user deleting root's free
     * device could re-create its serial with a seed of his own. */
    if (op->x->caller.user_id != 0 && d.owner_id != op->x->caller.user_id) {
        op->err = iam_denied(op->x, "DeleteVirtualMFADevice", iam_shown(op->x, d.serial));
        return -ECANCELED;
    }
    if (d.is_enabled) {
        op->err = iam_fail(op->x, IAM_E_DELETE_CONFLICT,
                           "MFA device is still in use: deactivate it before deleting it.");
        return -ECANCELED;
    }
    rc = md_mfa_delete(c, d.id);
    if (rc == 0)
        rc = iam_audit(c, op->x, "mfa.deleted",
                       arena_printf(op->x->a, "DeleteVirtualMFADevice %.*s", STR_FMT(d.serial)));
    return rc;
}

enum iam_err
iam_delete_virtual_mfa_device(struct iam *x, struct buf *res)
{
    struct delete_dev_op op = {.x = x, .serial = iam_arg(x, "SerialNumber")};
    enum iam_err err;

    (void)res;
    err = iam_check_serial(x, op.serial);
    if (err != IAM_E_OK)
        return err;
    return iam_run_write(x, delete_dev_fn, &op, &op.err);
}

/* ---- ListMFADevices / ListVirtualMFADevices ---------------------------- */

enum iam_err
iam_list_mfa_devices(struct iam *x, struct buf *res)
{
    struct principal target;
    struct md_mfa_device *all, *mine;
    struct str marker;
    size_t n, n_mine = 0, max, start, i;
    enum iam_err err;
    int rc;

    err = iam_resolve_user(x, iam_arg(x, "UserName"), false, &target);
    if (err == IAM_E_OK)
        err = iam_get_paging(x, &max, &marker);
    if (err == IAM_E_OK)
        err = iam_may_manage(x, "ListMFADevices", &target);
    if (err != IAM_E_OK)
        return err;
    rc = md_mfa_list(md_reader(x->r->md), x->r->account_id, target.user_id, x->a, &all, &n);
    if (rc < 0)
        return IAM_E_INTERNAL;
    mine = arena_alloc(x->a, (n ? n : 1) * sizeof(*mine));
    for (i = 0; i < n; i++)
        if (all[i].is_enabled && all[i].user_id == target.user_id)
            mine[n_mine++] = all[i];
    start =
        iam_page_start(mine, n_mine, sizeof(*mine), offsetof(struct md_mfa_device, serial), marker);
    rc = xml_open(res, "MFADevices");
    for (i = start; i < n_mine && i - start < max; i++) {
        rc |= xml_open(res, "member");
        rc |= xml_elem(res, "UserName", target.name);
        rc |= xml_elem(res, "SerialNumber", mine[i].serial);
        rc |= xml_elem_c(res, "EnableDate", iam_iso(x, mine[i].enabled_ms));
        rc |= xml_close(res, "member");
    }
    rc |= xml_close(res, "MFADevices");
    rc |= iam_put_paging(res, i<n_mine, i> 0 ? mine[i - 1].serial : STR_NULL);
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}

enum iam_err
iam_list_virtual_mfa_devices(struct iam *x, struct buf *res)
{
    struct str status = iam_arg(x, "AssignmentStatus"), marker;
    struct md_mfa_device *all, *sel;
    size_t n, n_sel = 0, max, start, i;
    enum iam_err err;
    int want = 0; /* 0 any, 1 assigned, 2 unassigned */
    int rc;

    if (status.p != NULL) {
        if (str_eq_c(status, "Assigned"))
            want = 1;
        else if (str_eq_c(status, "Unassigned"))
            want = 2;
        else if (!str_eq_c(status, "Any"))
            return iam_invalid(x, "assignmentStatus", status,
                               "satisfy enum value set: [Any, Assigned, Unassigned]");
    }
    err = iam_get_paging(x, &max, &marker);
    if (err != IAM_E_OK)
        return err;
    rc = md_mfa_list(md_reader(x->r->md), x->r->account_id, -1, x->a, &all, &n);
    if (rc < 0)
        return IAM_E_INTERNAL;
    sel = arena_alloc(x->a, (n ? n : 1) * sizeof(*sel));
    for (i = 0; i < n; i++) {
        bool assigned = all[i].is_enabled;
        if (!all[i].is_virtual || (want == 1 && !assigned) || (want == 2 && assigned))
            continue;
        /* An IAM user sees the free devices and its own, not other users'. */
        if (x->caller.user_id != 0 && assigned && all[i].user_id != x->caller.user_id)
            continue;
        sel[n_sel++] = all[i];
    }
    start =
        iam_page_start(sel, n_sel, sizeof(*sel), offsetof(struct md_mfa_device, serial), marker);
    rc = xml_open(res, "VirtualMFADevices");
    for (i = start; i < n_sel && i - start < max; i++) {
        rc |= xml_open(res, "member");
        rc |= xml_elem(res, "SerialNumber", sel[i].serial);
        if (sel[i].is_enabled) {
            struct principal p;
            err = iam_principal_by_id(x, sel[i].user_id, &p);
            if (err != IAM_E_OK)
                return err;
            rc |= iam_put_user(x, res, "User", &p);
            rc |= xml_elem_c(res, "EnableDate", iam_iso(x, sel[i].enabled_ms));
        }
        rc |= xml_close(res, "member");
    }
    rc |= xml_close(res, "VirtualMFADevices");
    rc |= iam_put_paging(res, i<n_sel, i> 0 ? sel[i - 1].serial : STR_NULL);
    return rc != 0 ? IAM_E_INTERNAL : IAM_E_OK;
}
