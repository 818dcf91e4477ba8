/* metrics.h -- counters and histograms for Prometheus, counted per thread
 * and summed when scraped, and the text exposition format 0.0.4.
 *
 * A family (struct mx_family, a static of the module that counts) names a
 * metric, its help, its type and up to two label names. A series is a
 * family with its label values, which must be strings that live as long as
 * the process (string literals, static tables): the hot path keys series by
 * the pointers, never copies or compares the text. Scraping merges series
 * with equal text.
 *
 * Counting: each thread has its own slab of series (a fixed open-addressing
 * table, made on the thread's first count and registered once; a thread
 * that exits leaves it to the next new thread, so no count is lost). Only
 * the owner writes a slab's values, with relaxed atomic loads and stores
 * (no locked instruction); a scrape reads them with relaxed loads. A slab
 * that fills up sends its thread's further new series to one shared slab
 * under a mutex.
 *
 * Scraping: mx_snapshot() sums every slab into a sorted copy; mx_render()
 * writes one family of it (HELP, TYPE, then its series in label order,
 * histograms as cumulative _bucket lines, _sum and _count). Values gathered
 * at scrape time from elsewhere (gauges, counters kept by other modules) are
 * written with mx_header() and mx_sample(). */
#ifndef COFFER_UTIL_METRICS_H
#define COFFER_UTIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

enum mx_type { MX_COUNTER, MX_HISTOGRAM };

struct mx_family {
    const char *name;
    const char *help;
    enum mx_type type;
    const char *label[2];    /* label names; NULL when unused (label[0] first) */
    const uint64_t *bounds;  /* histogram: ascending upper bounds ("le"), in units */
    unsigned n_bounds;
    unsigned scale;          /* a value v renders as v / 10^scale (9: ns as seconds) */
};

/* Adds n to the counter series (f, l0, l1); l0/l1 NULL for an unused label. */
void mx_add(const struct mx_family *f, const char *l0, const char *l1, uint64_t n);
/* Records v (in f's units) in the histogram series (f, l0). */
void mx_observe(const struct mx_family *f, const char *l0, uint64_t v);

/* "100" .. "599" as static strings (a label value); "other" outside. */
const char *mx_status_label(int status);

struct mx_snap;
/* Every series of every slab, summed. NULL only if memory ran out. */
struct mx_snap *mx_snapshot(void);
void mx_snap_free(struct mx_snap *s);
/* Appends f's HELP and TYPE lines and its series in s. 0 or -E2BIG. */
int mx_render(struct buf *b, const struct mx_snap *s, const struct mx_family *f);

/* "# HELP name help\n# TYPE name type\n" (help escaped). 0 or -E2BIG. */
int mx_header(struct buf *b, const char *name, const char *help, const char *type);
/* One sample line: name{lname[0]="lval[0]",...} v with the label values
 * escaped and v rendered as v / 10^scale. 0 or -E2BIG. */
int mx_sample(struct buf *b, const char *name, const char *const *lname,
              const char *const *lval, size_t n_labels, uint64_t v, unsigned scale);

#endif
