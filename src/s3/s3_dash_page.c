/* s3_dash_page.c -- the web dashboard's markup (s3_dash_page.h): the
 * template and style sheet built into the binary (src/s3/dash/, turned into
 * byte arrays by scripts/embed.sh), the account's page, and the inline SVG
 * charts, drawn here from integers so that the same figures always give
 * the same bytes. No scripts, no external resources: the page works
 * offline and under a Content-Security-Policy of default-src 'none'. */
#include "common.h"
#include "s3/s3_dash_page.h"
#include "util/tm.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* scripts/embed.sh's output ($(BUILD)/gen/dash_assets.c). */
extern const unsigned char dash_page_html[];
extern const size_t dash_page_html_len;
extern const unsigned char dash_style_css[];
extern const size_t dash_style_css_len;

#define SVG_W 600
#define LINE_H 160
#define LINE_X0 50
#define LINE_X1 590
#define LINE_Y0 10
#define LINE_Y1 130
#define BAR_ROW 22
#define BAR_X 180
#define BAR_W 300

int
s3_dash_escape(struct buf *b, struct str s)
{
    static const char repl[] = "\xef\xbf\xbd"; /* U+FFFD */
    bool utf8 = s.p != NULL && str_valid_utf8(s);
    int rc = 0;

    for (size_t i = 0; i < s.n && rc == 0; i++) {
        unsigned char ch = (unsigned char)s.p[i];
        const char *e = NULL;

        switch (ch) {
        case '&': e = "&amp;"; break;
        case '<': e = "&lt;"; break;
        case '>': e = "&gt;"; break;
        case '"': e = "&quot;"; break;
        case '\'': e = "&#39;"; break;
        default:
            if (ch < 0x20 || ch == 0x7f || (ch >= 0x80 && !utf8))
                e = repl;
        }
        rc = e ? buf_append_c(b, e) : buf_append(b, &s.p[i], 1);
    }
    return rc;
}

void
s3_dash_bytes(int64_t n, char out[32])
{
    static const char *const unit[] = {"KB", "MB", "GB", "TB", "PB", "EB"};
    double v = (double)n;
    int u = -1;

    if (n < 1024) {
        snprintf(out, 32, "%" PRId64 " B", n);
        return;
    }
    while (v >= 1024.0 && u < (int)ARRAY_LEN(unit) - 1) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, 32, "%.2f %s", v, unit[u]);
}

void
s3_dash_pct(int64_t part, int64_t whole, char out[16])
{
    if (whole <= 0) {
        snprintf(out, 16, "0.0%%");
        return;
    }
    snprintf(out, 16, "%.1f%%", 100.0 * (double)part / (double)whole);
}

/* y of value v when max is at the top (max 0: everything on the axis). */
static long
line_y(int64_t v, int64_t max)
{
    if (max <= 0)
        return LINE_Y1;
    return LINE_Y0 + lround((double)(max - v) * (LINE_Y1 - LINE_Y0) / (double)max);
}

static long
line_x(size_t i, size_t n)
{
    if (n <= 1)
        return LINE_X0;
    return LINE_X0 + lround((double)i * (LINE_X1 - LINE_X0) / (double)(n - 1));
}

static int
text_c(struct buf *b, const char *s)
{
    return s3_dash_escape(b, str_c(s ? s : ""));
}

int
s3_dash_svg_line(struct buf *b, const char *title, const int64_t *v, size_t n,
                 const char *max_label, const char *first, const char *last)
{
    int64_t max = 0;
    int rc;

    for (size_t i = 0; i < n; i++)
        max = v[i] > max ? v[i] : max;
    rc = buf_printf(b, "<svg viewBox=\"0 0 %d %d\" role=\"img\" aria-label=\"", SVG_W, LINE_H);
    rc |= text_c(b, title);
    rc |= buf_printf(b, "\"><line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>"
                        "<line class=\"axis\" x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\"/>",
                     LINE_X0, LINE_Y1, LINE_X1, LINE_Y1, LINE_X0, LINE_Y0, LINE_X0, LINE_Y1);
    rc |= buf_printf(b, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LINE_X0 - 4, LINE_Y0 + 4);
    rc |= text_c(b, max_label);
    rc |= buf_printf(b, "</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">0</text>",
                     LINE_X0 - 4, LINE_Y1 + 4);
    rc |= buf_printf(b, "<text x=\"%d\" y=\"%d\">", LINE_X0, LINE_H - 8);
    rc |= text_c(b, first);
    rc |= buf_printf(b, "</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">", LINE_X1, LINE_H - 8);
    rc |= text_c(b, last);
    rc |= buf_append_c(b, "</text>");
    if (n > 0) {
        rc |= buf_append_c(b, "<path class=\"line\" d=\"");
        for (size_t i = 0; i < n; i++)
            rc |= buf_printf(b, "%s%ld,%ld", i ? " L" : "M", line_x(i, n), line_y(v[i], max));
        rc |= buf_printf(b, "\"/><circle class=\"dot\" cx=\"%ld\" cy=\"%ld\" r=\"3\"/>",
                         line_x(n - 1, n), line_y(v[n - 1], max));
    }
    rc |= buf_append_c(b, "</svg>");
    return rc ? -E2BIG : 0;
}

int
s3_dash_svg_bars(struct buf *b, const char *title, const struct str *labels, const int64_t *v,
                 const char *const *text, size_t n)
{
    int64_t max = 0;
    int rc;

    for (size_t i = 0; i < n; i++)
        max = v[i] > max ? v[i] : max;
    rc = buf_printf(b, "<svg viewBox=\"0 0 %d %zu\" role=\"img\" aria-label=\"", SVG_W,
                    n * BAR_ROW + 4);
    rc |= text_c(b, title);
    rc |= buf_append_c(b, "\">");
    for (size_t i = 0; i < n; i++) {
        long w = max > 0 ? lround((double)v[i] * BAR_W / (double)max) : 0;
        size_t y = i * BAR_ROW;
        struct str l = labels[i];

        if (w == 0 && v[i] > 0)
            w = 1;
        /* Long names are cut for the chart; the table shows them whole. */
        rc |= buf_printf(b, "<text x=\"0\" y=\"%zu\">", y + 15);
        rc |= s3_dash_escape(b, str_make(l.p, l.n > 26 ? 26 : l.n));
        if (l.n > 26)
            rc |= buf_append_c(b, "\xe2\x80\xa6");
        rc |= buf_printf(b, "</text><rect class=\"bar\" x=\"%d\" y=\"%zu\" width=\"%ld\" "
                            "height=\"16\"/><text x=\"%ld\" y=\"%zu\">",
                         BAR_X, y + 3, w, BAR_X + w + 6, y + 15);
        rc |= text_c(b, text ? text[i] : "");
        rc |= buf_append_c(b, "</text>");
    }
    rc |= buf_append_c(b, "</svg>");
    return rc ? -E2BIG : 0;
}

int
s3_dash_svg_split(struct buf *b, const char *title, const int64_t *v, size_t n)
{
    double sum = 0;
    long x = 0;
    int rc;

    for (size_t i = 0; i < n; i++)
        sum += (double)(v[i] > 0 ? v[i] : 0);
    rc = buf_printf(b, "<svg viewBox=\"0 0 %d 24\" role=\"img\" aria-label=\"", SVG_W);
    rc |= text_c(b, title);
    rc |= buf_append_c(b, "\">");
    for (size_t i = 0; i < n && sum > 0; i++) {
        long w = i + 1 == n ? SVG_W - x : lround((double)(v[i] > 0 ? v[i] : 0) * SVG_W / sum);

        if (w > SVG_W - x)
            w = SVG_W - x;
        if (w > 0)
            rc |= buf_printf(b, "<rect class=\"s%zu\" x=\"%ld\" y=\"0\" width=\"%ld\" "
                                "height=\"24\"/>", i % 4, x, w);
        x += w;
    }
    rc |= buf_append_c(b, "</svg>");
    return rc ? -E2BIG : 0;
}

/* ---- the page ---------------------------------------------------------------- */

/* "YYYY-MM-DD" of UTC day number day. */
static void
day_str(int64_t day, char out[32])
{
    time_t t = (time_t)(day * 86400);
    struct tm tm;

    if (gmtime_r(&t, &tm) == NULL || tm.tm_year + 1900 > 9999 || tm.tm_year + 1900 < 0)
        snprintf(out, 32, "?");
    else
        snprintf(out, 32, "%04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
}

/* "2026-12-07 10:31:02 UTC" */
static void
time_str(int64_t ms, char out[32])
{
    char iso[32];

    tm_iso8601(ms, iso);
    snprintf(out, 32, "%.10s %.8s UTC", iso, iso + 11);
}

/* Substitutes @NAME@ markers of template t with vals[i] for names[i]. */
static int
fill(struct buf *b, struct str t, const char *const *names, const struct str *vals, size_t n)
{
    const char *p = t.p, *end = t.p + t.n;
    int rc = 0;

    while (p < end && rc == 0) {
        const char *at = memchr(p, '@', (size_t)(end - p));
        const char *close;
        bool done = false;

        if (at == NULL) {
            rc = buf_append(b, p, (size_t)(end - p));
            break;
        }
        rc = buf_append(b, p, (size_t)(at - p));
        close = memchr(at + 1, '@', (size_t)(end - at - 1));
        for (size_t i = 0; close != NULL && i < n && !done; i++) {
            if ((size_t)(close - at - 1) == strlen(names[i]) &&
                memcmp(at + 1, names[i], strlen(names[i])) == 0) {
                rc |= buf_append_str(b, vals[i]);
                p = close + 1;
                done = true;
            }
        }
        if (!done) {
            rc |= buf_append(b, "@", 1);
            p = at + 1;
        }
    }
    return rc ? -E2BIG : 0;
}

static int
wrap(struct buf *b, const char *title, const char *nav, struct str body)
{
    static const char *const names[] = {"TITLE", "CSS", "NAV", "BODY", "VERSION"};
    struct buf t;
    struct str vals[5];
    int rc;

    buf_init(&t, 4096);
    rc = text_c(&t, title);
    vals[0] = buf_str(&t);
    vals[1] = str_make((const char *)dash_style_css, dash_style_css_len);
    vals[2] = str_c(nav);
    vals[3] = body;
    vals[4] = STR_LIT(COFFER_VERSION);
    if (rc == 0)
        rc = fill(b, str_make((const char *)dash_page_html, dash_page_html_len), names, vals, 5);
    buf_free(&t);
    return rc;
}

int
s3_dash_message(struct buf *b, const char *title, const char *body_html)
{
    struct buf body;
    int rc;

    buf_init(&body, 64 * 1024);
    rc = buf_append_c(&body, "<section class=\"msg\"><h1>");
    rc |= text_c(&body, title);
    rc |= buf_printf(&body, "</h1>%s</section>", body_html);
    if (rc == 0)
        rc = wrap(b, title, "", buf_str(&body));
    buf_free(&body);
    return rc ? -E2BIG : 0;
}

static int
card(struct buf *b, const char *id, const char *label, const char *value, const char *note)
{
    int rc = buf_printf(b, "<div class=\"card\" id=\"%s\"><div class=\"label\">", id);

    rc |= text_c(b, label);
    rc |= buf_append_c(b, "</div><div class=\"value\">");
    rc |= text_c(b, value);
    rc |= buf_append_c(b, "</div><div class=\"note\">");
    rc |= text_c(b, note);
    rc |= buf_append_c(b, "</div></div>");
    return rc;
}

static const char *
ver_name(enum md_versioning v)
{
    return v == MD_VER_ENABLED ? "Enabled" : v == MD_VER_SUSPENDED ? "Suspended" : "Disabled";
}

/* Block Public Access in effect (account OR bucket), as Storage Lens's
 * bucket list says it: all four settings, some, or none. */
static const char *
public_state(const struct md_pab *acct, const struct md_pab *bkt, const char **cls)
{
    int on = (acct->block_public_acls || bkt->block_public_acls) +
             (acct->ignore_public_acls || bkt->ignore_public_acls) +
             (acct->block_public_policy || bkt->block_public_policy) +
             (acct->restrict_public_buckets || bkt->restrict_public_buckets);

    *cls = on == 4 ? "on" : "warn";
    return on == 4 ? "Blocked" : on == 0 ? "Not blocked" : "Partly blocked";
}

/* Lifecycle rules in a stored configuration (its <Rule> elements). */
static size_t
rule_count(struct str xml)
{
    size_t n = 0;

    for (const char *p = xml.p, *end = xml.p + xml.n; p != NULL && p < end; p++) {
        p = memmem(p, (size_t)(end - p), "<Rule>", 6);
        if (p == NULL)
            break;
        n++;
    }
    return n;
}

static int
snapshot(struct buf *b, const struct s3_dash_view *v, int64_t ver, int64_t mfa)
{
    const struct md_usage_fig *f = &v->total.f;
    int64_t bytes = md_usage_storage_bytes(f), objs = md_usage_object_count(f);
    char s1[32], s2[64], p[16], note[96];
    int64_t active = 0;
    int rc;

    for (size_t i = 0; i < v->n_rows; i++)
        active += md_usage_storage_bytes(&v->rows[i].f) > 0;
    rc = buf_append_c(b, "<div class=\"cards\">");
    s3_dash_bytes(bytes, s1);
    snprintf(note, sizeof(note), "%" PRId64 " bytes", bytes);
    rc |= card(b, "total-storage", "Total storage", s1, note);
    snprintf(s2, sizeof(s2), "%" PRId64, objs);
    rc |= card(b, "object-count", "Object count", s2, "versions, delete markers, uploads");
    s3_dash_bytes(objs > 0 ? bytes / objs : 0, s1);
    rc |= card(b, "avg-size", "Average object size", s1, "");
    snprintf(s2, sizeof(s2), "%zu", v->n_buckets);
    snprintf(note, sizeof(note), "%" PRId64 " active (more than 0 bytes)", active);
    rc |= card(b, "bucket-count", "Buckets", s2, note);
    s3_dash_pct(ver, (int64_t)v->n_buckets, p);
    snprintf(s2, sizeof(s2), "%" PRId64 " of %zu", ver, v->n_buckets);
    snprintf(note, sizeof(note), "%s of buckets", p);
    rc |= card(b, "versioning-enabled", "Versioning enabled", s2, note);
    s3_dash_pct(mfa, (int64_t)v->n_buckets, p);
    snprintf(s2, sizeof(s2), "%" PRId64 " of %zu", mfa, v->n_buckets);
    snprintf(note, sizeof(note), "%s of buckets", p);
    rc |= card(b, "mfa-delete-enabled", "MFA delete enabled", s2, note);
    rc |= buf_append_c(b, "</div>");
    return rc;
}
/* Storage and object count over the trend's days. */
static int
trends(struct buf *b, const struct s3_dash_view *v)
{
    int64_t bytes[S3_DASH_TREND_DAYS * 2], objs[S3_DASH_TREND_DAYS * 2], max_b = 0, max_o = 0;
    size_t n = v->n_daily < ARRAY_LEN(bytes) ? v->n_daily : ARRAY_LEN(bytes);
    const struct md_usage_sum *d = v->daily + (v->n_daily - n);
    char first[32] = "", last[32] = "", mb[32], mo[32];
    int rc;

    for (size_t i = 0; i < n; i++) {
        bytes[i] = md_usage_storage_bytes(&d[i].f);
        objs[i] = md_usage_object_count(&d[i].f);
        max_b = bytes[i] > max_b ? bytes[i] : max_b;
        max_o = objs[i] > max_o ? objs[i] : max_o;
    }
    if (n > 0) {
        day_str(d[0].day, first);
        day_str(d[n - 1].day, last);
    }
    s3_dash_bytes(max_b, mb);
    snprintf(mo, sizeof(mo), "%" PRId64, max_o);
    rc = buf_printf(b, "<div class=\"grid2\"><section id=\"trend-storage\"><h2>Total storage, "
                       "last %d days</h2>", S3_DASH_TREND_DAYS);
    rc |= s3_dash_svg_line(b, "Total storage by day", bytes, n, mb, first, last);
    rc |= buf_printf(b, "</section><section id=\"trend-objects\"><h2>Object count, last %d "
                        "days</h2>", S3_DASH_TREND_DAYS);
    rc |= s3_dash_svg_line(b, "Object count by day", objs, n, mo, first, last);
    rc |= buf_append_c(b, "</section></div>");
    return rc;
}

/* The largest buckets (insertion sort of at most S3_DASH_TOP_BUCKETS). */
static int
by_size(struct buf *b, const struct s3_dash_view *v)
{
    size_t top[S3_DASH_TOP_BUCKETS], n = 0;
    struct str labels[S3_DASH_TOP_BUCKETS];
    int64_t val[S3_DASH_TOP_BUCKETS];
    char txt[S3_DASH_TOP_BUCKETS][32];
    const char *text[S3_DASH_TOP_BUCKETS];
    int rc;

    for (size_t i = 0; i < v->n_rows; i++) {
        int64_t s = md_usage_storage_bytes(&v->rows[i].f);
        size_t j = n < S3_DASH_TOP_BUCKETS ? n++ : n;

        if (j == S3_DASH_TOP_BUCKETS) {
            if (s <= md_usage_storage_bytes(&v->rows[top[j - 1]].f))
                continue;
            j--;
        }
        while (j > 0 && md_usage_storage_bytes(&v->rows[top[j - 1]].f) < s) {
            top[j] = top[j - 1];
            j--;
        }
        top[j] = i;
    }
    for (size_t i = 0; i < n; i++) {
        labels[i] = v->rows[top[i]].bucket;
        val[i] = md_usage_storage_bytes(&v->rows[top[i]].f);
        s3_dash_bytes(val[i], txt[i]);
        text[i] = txt[i];
    }
    rc = buf_printf(b, "<section id=\"buckets-by-size\"><h2>Buckets by size (top %d)</h2>",
                    S3_DASH_TOP_BUCKETS);
    if (n == 0)
        rc |= buf_append_c(b, "<p class=\"empty\">No usage figures yet: they appear after the "
                              "next refresh (cofferd --usage-interval, or coffer usage "
                              "refresh).</p>");
    else
        rc |= s3_dash_svg_bars(b, "Buckets by total storage", labels, val, text, n);
    rc |= buf_append_c(b, "</section>");
    return rc;
}

/* Current vs noncurrent versions, delete markers, incomplete uploads. */
static int
split(struct buf *b, const struct s3_dash_view *v)
{
    const struct md_usage_fig *f = &v->total.f;
    const int64_t bytes[4] = {f->current_bytes, f->noncurrent_bytes, f->dm_bytes, f->mpu_bytes};
    const int64_t count[4] = {f->current_count, f->noncurrent_count, f->dm_count, f->mpu_count};
    static const char *const what[4] = {"Current versions", "Noncurrent versions",
                                        "Delete markers", "Incomplete multipart uploads"};
    static const char *const ids[4] = {"current", "noncurrent", "delete-markers",
                                       "incomplete-uploads"};
    int64_t total = md_usage_storage_bytes(f);
    char s[32], p[16];
    int rc;

    rc = buf_append_c(b, "<section id=\"storage-split\"><h2>Current vs noncurrent</h2>");
    rc |= s3_dash_svg_split(b, "Storage by kind", bytes, 4);
    rc |= buf_append_c(b, "<table><tr><th>Kind</th><th class=\"num\">Objects</th>"
                          "<th class=\"num\">Storage</th><th class=\"num\">Share</th></tr>");
    for (int i = 0; i < 4; i++) {
        s3_dash_bytes(bytes[i], s);
        s3_dash_pct(bytes[i], total, p);
        rc |= buf_printf(b, "<tr id=\"%s\"><td><span class=\"key k%d\"></span>%s</td>"
                            "<td class=\"num\">%" PRId64 "</td><td class=\"num\" title=\"%" PRId64
                            " bytes\">%s</td><td class=\"num\">%s</td></tr>",
                         ids[i], i, what[i], count[i], bytes[i], s, p);
    }
    s3_dash_bytes(f->mpu_old_bytes, s);
    rc |= buf_printf(b, "</table><p class=\"asof\">Incomplete uploads older than 7 days: "
                        "%" PRId64 " (%s).</p></section>", f->mpu_old_count, s);
    return rc;
}

/* The usage row of bucket bk: rows and buckets are both in name order. */
static const struct md_usage_row *
row_of(const struct s3_dash_view *v, const struct md_bucket *bk, size_t *cursor)
{
    while (*cursor < v->n_rows && str_cmp(v->rows[*cursor].bucket, bk->name) < 0)
        (*cursor)++;
    if (*cursor < v->n_rows && v->rows[*cursor].bucket_id == bk->id)
        return &v->rows[*cursor];
    return NULL;
}

static int
protection(struct buf *b, const struct s3_dash_view *v, int64_t ver, int64_t mfa)
{
    size_t n = v->n_buckets < S3_DASH_MAX_BUCKET_ROWS ? v->n_buckets : S3_DASH_MAX_BUCKET_ROWS;
    size_t cursor = 0;
    char pv[16], pm[16];
    int rc;

    s3_dash_pct(ver, (int64_t)v->n_buckets, pv);
    s3_dash_pct(mfa, (int64_t)v->n_buckets, pm);
    rc = buf_printf(b, "<section id=\"data-protection\"><h2>Data protection</h2><p>"
                       "<span id=\"versioning-summary\">Versioning-enabled buckets: %" PRId64
                       " of %zu (%s)</span> &middot; <span id=\"mfa-summary\">MFA delete-enabled "
                       "buckets: %" PRId64 " of %zu (%s)</span></p>",
                    ver, v->n_buckets, pv, mfa, v->n_buckets, pm);
    if (v->n_buckets == 0) {
        rc |= buf_append_c(b, "<p class=\"empty\">This account has no buckets.</p></section>");
        return rc;
    }
    rc |= buf_append_c(b, "<table id=\"bucket-table\"><tr><th>Bucket</th><th class=\"num\">"
                          "Storage</th><th class=\"num\">Objects</th><th>Versioning</th>"
                          "<th>MFA delete</th><th>Lifecycle</th><th>Public access</th></tr>");
    for (size_t i = 0; i < n; i++) {
        const struct md_bucket *bk = &v->buckets[i];
        const struct md_usage_row *row = row_of(v, bk, &cursor);
        const char *pcls, *pub = public_state(&v->account_pab, &bk->pab, &pcls);
        size_t rules = bk->lifecycle.p ? rule_count(bk->lifecycle) : 0;
        char s[32];

        rc |= buf_append_c(b, "<tr><td class=\"bucket\">");
        rc |= s3_dash_escape(b, bk->name);
        if (row != NULL) {
            s3_dash_bytes(md_usage_storage_bytes(&row->f), s);
            rc |= buf_printf(b, "</td><td class=\"num\">%s</td><td class=\"num\">%" PRId64
                                "</td>", s, md_usage_object_count(&row->f));
        } else {
            rc |= buf_append_c(b, "</td><td class=\"num off\">-</td><td class=\"num off\">-</td>");
        }
        rc |= buf_printf(b, "<td class=\"versioning %s\">%s</td><td class=\"mfa %s\">%s</td>",
                         bk->versioning == MD_VER_ENABLED ? "on" : "off", ver_name(bk->versioning),
                         bk->mfa_delete == MD_MFA_ENABLED ? "on" : "off",
                         bk->mfa_delete == MD_MFA_ENABLED ? "Enabled" : "Disabled");
        if (bk->lifecycle.p != NULL)
            rc |= buf_printf(b, "<td class=\"lifecycle on\">%zu rule%s</td>", rules,
                             rules == 1 ? "" : "s");
        else
            rc |= buf_append_c(b, "<td class=\"lifecycle off\">None</td>");
        rc |= buf_printf(b, "<td class=\"public %s\">%s</td></tr>", pcls, pub);
    }
    rc |= buf_append_c(b, "</table>");
    if (n < v->n_buckets)
        rc |= buf_printf(b, "<p class=\"asof\">and %zu more buckets (coffer bucket list).</p>",
                         v->n_buckets - n);
    rc |= buf_append_c(b, "</section>");
    return rc;
}

static int
events(struct buf *b, const struct s3_dash_view *v)
{
    int rc = buf_append_c(b, "<section id=\"mfa-events\"><h2>Recent MFA events</h2>");

    if (v->n_events == 0) {
        rc |= buf_append_c(b, "<p class=\"empty\">No MFA events in the audit log.</p></section>");
        return rc;
    }
    rc |= buf_append_c(b, "<table><tr><th>Time</th><th>Event</th><th>Principal</th>"
                          "<th>Bucket</th><th>Source</th><th>Detail</th></tr>");
    for (size_t i = 0; i < v->n_events; i++) {
        const struct md_audit *e = &v->events[i];
        const bool bad = memmem(e->event.p, e->event.n, "fail", 4) != NULL;
        char t[32];

        time_str(e->time_ms, t);
        rc |= buf_printf(b, "<tr><td>%s</td><td class=\"event%s\">", t, bad ? " warn" : "");
        rc |= s3_dash_escape(b, e->event);
        rc |= buf_append_c(b, "</td><td>");
        rc |= s3_dash_escape(b, e->principal);
        rc |= buf_append_c(b, "</td><td>");
        rc |= s3_dash_escape(b, e->bucket);
        rc |= buf_append_c(b, "</td><td>");
        rc |= s3_dash_escape(b, e->source);
        rc |= buf_append_c(b, "</td><td>");
        rc |= s3_dash_escape(b, e->detail);
        rc |= buf_append_c(b, "</td></tr>");
    }
    rc |= buf_append_c(b, "</table></section>");
    return rc;
}

int
s3_dash_page(struct buf *b, const struct s3_dash_view *v)
{
    struct buf body;
    int64_t ver = 0, mfa = 0;
    char t[32], nav[512];
    int rc;

    for (size_t i = 0; i < v->n_buckets; i++) {
        ver += v->buckets[i].versioning == MD_VER_ENABLED;
        mfa += v->buckets[i].mfa_delete == MD_MFA_ENABLED;
    }
    buf_init(&body, b->max);
    rc = buf_append_c(&body, "<h1>Account <span id=\"account-name\">");
    rc |= s3_dash_escape(&body, v->account_name);
    rc |= buf_printf(&body, "</span> <span class=\"off\" id=\"account-id\">%012" PRId64
                            "</span></h1><p class=\"asof\" id=\"as-of\">",
                     v->account_id);
    if (v->total.refreshed_ms > 0) {
        time_str(v->total.refreshed_ms, t);
        rc |= buf_printf(&body, "Storage figures as of %s (usage refresh); bucket settings "
                                "and events as of now.", t);
    } else {
        rc |= buf_append_c(&body, "No usage figures yet: they appear after the next refresh "
                                  "(cofferd --usage-interval, or coffer usage refresh).");
    }
    rc |= buf_append_c(&body, "</p>");
    rc |= snapshot(&body, v, ver, mfa);
    rc |= trends(&body, v);
    rc |= buf_append_c(&body, "<div class=\"grid2\">");
    rc |= by_size(&body, v);
    rc |= split(&body, v);
    rc |= buf_append_c(&body, "</div>");
    rc |= protection(&body, v, ver, mfa);
    rc |= events(&body, v);
    snprintf(nav, sizeof(nav), "<form method=\"post\" action=\"/logout\"><button type=\"submit\" "
                               "id=\"logout\">Sign out</button></form>");
    if (rc == 0)
        rc = wrap(b, "Dashboard", nav, buf_str(&body));
    buf_free(&body);
    return rc ? -E2BIG : 0;
}
