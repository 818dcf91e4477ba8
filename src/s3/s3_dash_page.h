/* s3_dash_page.h -- the web dashboard's HTML (s3_dash_page.c): one page
 * for one account, what S3 Storage Lens's default dashboard shows [spec
 * lifecycle-and-storage-lens B4, B5], with its charts as inline SVG drawn
 * here, and the small message pages (401, 403, signed out). The template
 * and style sheet are src/s3/dash/ files built into the binary
 * (scripts/embed.sh). Pure functions of their arguments: no store, no HTTP,
 * so tests give known figures and compare the markup. Every string from
 * the store goes through s3_dash_escape(). All return 0 or -E2BIG (b full). */
#ifndef COFFER_S3_S3_DASH_PAGE_H
#define COFFER_S3_S3_DASH_PAGE_H

#include <stddef.h>
#include <stdint.h>

#include "store/md.h"
#include "store/md_usage.h"
#include "util/buf.h"
#include "util/str.h"

#define S3_DASH_TREND_DAYS 30     /* the trend charts: the last 30 days, as Storage Lens's */
#define S3_DASH_TOP_BUCKETS 10    /* bars in "buckets by size" */
#define S3_DASH_MAX_BUCKET_ROWS 1000 /* rows of the bucket table; more are counted */
#define S3_DASH_MFA_EVENTS 25     /* recent MFA audit entries shown */

/* Everything one page shows. Borrowed by s3_dash_page(). */
struct s3_dash_view {
    int64_t account_id;
    struct str account_name;
    struct md_pab account_pab;       /* account-level Block Public Access */
    int64_t now_ms;
    struct md_usage_sum total;       /* as of the latest refresh */
    const struct md_usage_sum *daily; /* the trend, day ascending */
    size_t n_daily;
    const struct md_usage_row *rows; /* latest figures per bucket */
    size_t n_rows;
    const struct md_bucket *buckets; /* the account's buckets now (settings) */
    size_t n_buckets;
    const struct md_audit *events;   /* recent MFA entries, newest first */
    size_t n_events;
};

/* s appended HTML-escaped (& < > " ' as entities; control characters and
 * bytes of invalid UTF-8 as U+FFFD), safe in text and quoted attributes. */
int s3_dash_escape(struct buf *b, struct str s);

/* n bytes for people: "0 B", "999 B", "1.00 KB", "1.50 GB" (1 KB = 1024 B,
 * Storage Lens's dashboards' unit [B4]), into out. */
void s3_dash_bytes(int64_t n, char out[32]);

/* part of whole as a percentage with one decimal ("66.7%"; "0.0%" when
 * whole is 0), into out. */
void s3_dash_pct(int64_t part, int64_t whole, char out[16]);

/* A line chart of v[0..n) (n >= 1, values >= 0) in a 600 x 160 viewBox:
 * plot area x 50..590, y 10..130 (0 at the bottom, the largest value at the
 * top), points evenly spaced (one point: at x 50), one <path class="line">
 * of rounded coordinates, a dot on the last point, max_label at the top
 * left and first/last under the axis. aria-label is title. */
int s3_dash_svg_line(struct buf *b, const char *title, const int64_t *v, size_t n,
                     const char *max_label, const char *first, const char *last);

/* Horizontal bars, one per (labels[i], v[i]), 22 units apart in a 600-wide
 * viewBox: label at x 0, bar from x 180, the largest value 300 wide (the
 * others in proportion, rounded, at least 1 when > 0), text[i] after it. */
int s3_dash_svg_bars(struct buf *b, const char *title, const struct str *labels,
                     const int64_t *v, const char *const *text, size_t n);

/* One 600 x 24 bar split into n parts in proportion to v (classes s0..s3;
 * widths rounded, the last part taking what is left). Empty when the sum
 * is 0. */
int s3_dash_svg_split(struct buf *b, const char *title, const int64_t *v, size_t n);

/* The dashboard of v. */
int s3_dash_page(struct buf *b, const struct s3_dash_view *v);

/* A message page: title (plain text) and body_html (markup: the caller's
 * constant text, escaped already). signed_in puts a sign-out button. */
int s3_dash_message(struct buf *b, const char *title, const char *body_html);

#endif
