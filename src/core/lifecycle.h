/* lifecycle.h -- the lifecycle rule model, and what a configuration asks of
 * one object version or multipart upload at a given moment [spec lifecycle
 * A3, A4]. Pure: no store, no clock, no XML. The time (now_ms) and the
 * length of a lifecycle day (day_s: LC_DAY_S, or a short test day) are
 * arguments; the configuration comes from s3_lifecycle_parse() (s3/).
 *
 * The evaluator is blind to the bucket's versioning state: it says which
 * action is due ("expire the current version"), and the action primitive
 * applies A3.3's meaning of it under the bucket's state (a permanent delete
 * when unversioned, a delete marker when versioned). It also never checks
 * Object Lock: the primitive does. */
#ifndef COFFER_CORE_LIFECYCLE_H
#define COFFER_CORE_LIFECYCLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/md.h"
#include "util/str.h"

#define LC_DAY_S 86400 /* a real day; response headers always use it */

/* A Transition (current versions: days or date_ms) or a
 * NoncurrentVersionTransition (noncurrent versions: days, newer). */
struct lc_transition {
    int64_t days;              /* Days / NoncurrentDays; -1 when dated */
    int64_t date_ms;           /* Date, midnight UTC; -1 when counted */
    int64_t newer;             /* NewerNoncurrentVersions; 0: none */
    struct str storage_class;  /* GLACIER, STANDARD_IA, ... */
};

/* One Rule. Every number is -1 when its element is absent (newer: 0). The
 * filter is the conjunction of all that is set: a V1 rule-level Prefix and
 * a V2 Filter (Prefix, Tag, And, sizes) land in the same fields. */
struct lc_rule {
    struct str id;                /* never empty once stored (lc_canonical()) */
    bool is_enabled;              /* Status Enabled; a Disabled rule does nothing */
    struct str prefix;            /* byte-wise starts-with; empty: every key */
    const struct md_tag *tags;    /* all required, exact key and value */
    size_t n_tags;
    int64_t size_gt, size_lt;     /* strict bounds on the version's size; -1: none */
    int64_t exp_days;             /* Expiration Days */
    int64_t exp_date_ms;          /* Expiration Date (midnight UTC) */
    bool exp_dm;                  /* Expiration ExpiredObjectDeleteMarker true */
    int64_t nc_days;              /* NoncurrentVersionExpiration NoncurrentDays */
    int64_t nc_newer;             /* its NewerNoncurrentVersions; 0: none */
    const struct lc_transition *tr; /* Transition, in document order */
    size_t n_tr;
    const struct lc_transition *nc_tr; /* NoncurrentVersionTransition */
    size_t n_nc_tr;
    int64_t abort_days;           /* AbortIncompleteMultipartUpload DaysAfterInitiation */
};

/* A configuration: its rules in document order (ties go to the first). */
struct lc_config {
    const struct lc_rule *rules;
    size_t n_rules;
};

/* What the rules see of one version. The caller fills every field; strings
 * are borrowed for the call. */
struct lc_object {
    struct str key;
    int64_t size;              /* a delete marker: 0 */
    struct str tags;           /* md_tags_encode() text; p == NULL: none */
    bool is_delete_marker;
    bool is_latest;            /* the key's current version */
    bool is_sole;              /* a current delete marker with no other version
                                * of its key: an expired object delete marker */
    int64_t mtime_ms;          /* creation (Last-Modified) */
    int64_t noncurrent_ms;     /* when it became noncurrent (its successor's
                                * creation); 0 when current */
    int64_t noncurrent_rank;   /* 1 = newest noncurrent version of its key; 0 when current */
    struct str storage_class;  /* empty or NULL: STANDARD */
};

/* The one action a version is due for, by rank: deletions before
 * transitions (A3.7). */
enum lc_action {
    LC_NONE = 0,
    LC_EXPIRE_CURRENT,        /* Expiration Days/Date on a current, non-marker
                               * version: deleted, or a marker put on it */
    LC_EXPIRE_DM,             /* remove an expired object delete marker */
    LC_EXPIRE_NONCURRENT,     /* NoncurrentVersionExpiration: deleted for good */
    LC_TRANSITION_CURRENT,    /* Transition: relabel to storage_class */
    LC_TRANSITION_NONCURRENT, /* NoncurrentVersionTransition */
};

struct lc_decision {
    enum lc_action action;
    const struct lc_rule *rule; /* borrowed from the config; NULL with LC_NONE */
    int64_t due_ms;             /* when it became due (<= now_ms) */
    struct str storage_class;   /* the transitions' target; empty otherwise */
};

/* A short name for logs and reports: "none", "expire", "expire-delete-marker",
 * "expire-noncurrent", "transition", "transition-noncurrent". Static. */
const char *lc_action_name(enum lc_action a);

/* Whether any enabled rule filters on tags: only then need a scan read each
 * version's tags (md_lc_scan()'s with_tags). */
bool lc_config_uses_tags(const struct lc_config *cfg);

/* Fills *o from a row of md_lc_scan(), with noncurrent_rank as the caller
 * counted it: md_lc_scan() gives a key's versions newest first, so the
 * n-th noncurrent row of a key met is rank n (0 for the latest). o's strings
 * are borrowed from v. */
void lc_object_of(const struct md_lc_version *v, int64_t noncurrent_rank, struct lc_object *o);

/* The start of t's lifecycle day, and the moment "N days after t" falls due:
 * floor_day(t) + (N + 1) days, the next day boundary after N whole days
 * [spec lifecycle A3.1 decision]. day_s > 0. */
int64_t lc_floor_day(int64_t t_ms, int64_t day_s);
int64_t lc_due(int64_t t_ms, int64_t n_days, int64_t day_s);

/* Whether rule r's filter takes the object key with this size and tags
 * (md_tags_encode() text) [A3.6]. Ignores Status. */
bool lc_rule_matches(const struct lc_rule *r, struct str key, int64_t size, struct str tags);

/* The single action due now for o, under cfg's enabled rules [A3]: the
 * candidates whose due time has come, ordered by (earliest due, action
 * rank, rule document order) [A3.7]. Transitions only go down the storage
 * class waterfall and never to the class the version already has. Returns
 * true and fills *d, or false (d->action LC_NONE) when nothing is due. */
bool lc_evaluate(const struct lc_config *cfg, const struct lc_object *o, int64_t now_ms,
                 int64_t day_s, struct lc_decision *d);

/* The x-amz-expiration answer for o [A4]: o must be the current, non-marker
 * version addressed without a versionId (the caller checks how it was
 * addressed). Only Expiration Days/Date of enabled, matching rules count;
 * earliest due, ties to the first rule; real days (LC_DAY_S). Returns true
 * with *rule (borrowed from cfg) and *due_ms, or false. */
bool lc_expiration_header(const struct lc_config *cfg, const struct lc_object *o,
                          const struct lc_rule **rule, int64_t *due_ms);

/* AbortIncompleteMultipartUpload for an upload of key initiated at
 * initiated_ms: the enabled rule with a matching prefix whose abort falls
 * first (ties to the first rule), with day_s-long days (LC_DAY_S for the
 * x-amz-abort-date header; the executor aborts once *due_ms <= now). Rules
 * with a tag or size filter never take an upload: it has neither yet.
 * Returns true with *rule and *due_ms, or false. */
bool lc_abort_date(const struct lc_config *cfg, struct str key, int64_t initiated_ms,
                   int64_t day_s, const struct lc_rule **rule, int64_t *due_ms);

#endif
