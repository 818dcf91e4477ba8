/* lifecycle.c -- evaluation of lifecycle rules against one version or
 * upload: which action is due, and the dates of the response headers. Pure
 * arithmetic over the model of lifecycle.h; acting on the answer (and the
 * versioning state, Object Lock) is the action primitives' business. */
#include "common.h"
#include "core/lifecycle.h"

#include <string.h>

/* AWS: by default (x-amz-transition-default-minimum-object-size
 * all_storage_classes_128K, which Coffer always answers) nothing smaller
 * than 128 KiB transitions, unless the rule filters on size itself
 * [spec lifecycle A1]. */
#define MIN_TRANSITION_SIZE (128 * 1024)

/* The storage classes a transition may name. step: place down AWS's
 * transition waterfall (a version only moves to a later step); pref: which
 * of two transitions due at once wins, "cheapest" first [A3.7]: GLACIER and
 * DEEP_ARCHIVE beat INTELLIGENT_TIERING, which beats the rest. */
static const struct {
    const char *name;
    int step, pref;
} classes[] = {
    {"STANDARD_IA", 1, 1}, {"INTELLIGENT_TIERING", 2, 4}, {"ONEZONE_IA", 3, 2},
    {"GLACIER_IR", 4, 3},  {"GLACIER", 5, 5},             {"DEEP_ARCHIVE", 6, 6},
};

static int
class_index(struct str sc)
{
    for (size_t i = 0; i < ARRAY_LEN(classes); i++)
        if (str_eq_c(sc, classes[i].name))
            return (int)i;
    return -1; /* STANDARD, REDUCED_REDUNDANCY, empty: the top */
}

static int
class_step(struct str sc)
{
    int i = class_index(sc);

    return i < 0 ? 0 : classes[i].step;
}

static int
class_pref(struct str sc)
{
    int i = class_index(sc);

    return i < 0 ? 0 : classes[i].pref;
}

const char *
lc_action_name(enum lc_action a)
{
    static const char *const names[] = {
        [LC_NONE] = "none",
        [LC_EXPIRE_CURRENT] = "expire",
        [LC_EXPIRE_DM] = "expire-delete-marker",
        [LC_EXPIRE_NONCURRENT] = "expire-noncurrent",
        [LC_TRANSITION_CURRENT] = "transition",
        [LC_TRANSITION_NONCURRENT] = "transition-noncurrent",
    };

    ASSERT((size_t)a < ARRAY_LEN(names));
    return names[a];
}

bool
lc_config_uses_tags(const struct lc_config *cfg)
{
    for (size_t i = 0; i < cfg->n_rules; i++)
        if (cfg->rules[i].is_enabled && cfg->rules[i].n_tags > 0)
            return true;
    return false;
}

void
lc_object_of(const struct md_lc_version *v, int64_t noncurrent_rank, struct lc_object *o)
{
    *o = (struct lc_object){
        .key = v->key,
        .size = v->is_delete_marker ? 0 : v->size,
        .tags = v->tags,
        .is_delete_marker = v->is_delete_marker,
        .is_latest = v->is_latest,
        .is_sole = v->is_latest && v->is_delete_marker && v->is_sole_dm,
        .mtime_ms = v->mtime_ms,
        .noncurrent_ms = v->is_latest ? 0 : v->noncurrent_ms,
        .noncurrent_rank = v->is_latest ? 0 : noncurrent_rank,
        .storage_class = v->storage_class,
    };
}

int64_t
lc_floor_day(int64_t t_ms, int64_t day_s)
{
    int64_t day_ms = day_s * 1000;
    int64_t q = t_ms / day_ms;

    ASSERT(day_s > 0);
    if (t_ms % day_ms < 0)
        q--; /* floor, not truncation, before 1970 */
    return q * day_ms;
}

int64_t
lc_due(int64_t t_ms, int64_t n_days, int64_t day_s)
{
    /* Days are 32-bit in the schema: (2^31 + 1) * 86400000 fits in 63 bits. */
    return lc_floor_day(t_ms, day_s) + (n_days + 1) * day_s * 1000;
}

/* Whether the tag text holds a line "key\tvalue". */
static bool
has_tag(struct str text, const struct md_tag *t)
{
    const char *p = text.p, *end = text.p + text.n;

    while (p != NULL && p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *line_end = nl != NULL ? nl : end;
        struct str k, v;

        if (str_split(str_make(p, (size_t)(line_end - p)), '\t', &k, &v) && str_eq(k, t->key) &&
            str_eq(v, t->value))
            return true;
        p = nl != NULL ? nl + 1 : NULL;
    }
    return false;
}

bool
lc_rule_matches(const struct lc_rule *r, struct str key, int64_t size, struct str tags)
{
    /* AWS: a byte-wise, case-sensitive prefix; exact tags, all of them,
     * extra object tags ignored; strict size bounds [A3.6]. */
    if (r->prefix.n > 0 && (r->prefix.n > key.n || memcmp(key.p, r->prefix.p, r->prefix.n) != 0))
        return false;
    if (r->size_gt >= 0 && !(size > r->size_gt))
        return false;
    if (r->size_lt >= 0 && !(size < r->size_lt))
        return false;
    for (size_t i = 0; i < r->n_tags; i++)
        if (tags.p == NULL || !has_tag(tags, &r->tags[i]))
            return false;
    return true;
}

/* Candidates are compared by due time, then action rank (every deletion
 * before every transition), then the cheaper target class, then the rule's
 * place in the document. */
struct cand {
    struct lc_decision d;
    size_t rule_ix;
};

static int
action_rank(enum lc_action a)
{
    return a == LC_TRANSITION_CURRENT || a == LC_TRANSITION_NONCURRENT ? 1 : 0;
}

static bool
better(const struct cand *a, const struct cand *b)
{
    if (b->d.action == LC_NONE)
        return true;
    if (a->d.due_ms != b->d.due_ms)
        return a->d.due_ms < b->d.due_ms;
    if (action_rank(a->d.action) != action_rank(b->d.action))
        return action_rank(a->d.action) < action_rank(b->d.action);
    if (class_pref(a->d.storage_class) != class_pref(b->d.storage_class))
        return class_pref(a->d.storage_class) > class_pref(b->d.storage_class);
    return a->rule_ix < b->rule_ix;
}

static void
offer(struct cand *best, const struct lc_rule *r, size_t ix, enum lc_action a, int64_t due,
      struct str sc, int64_t now_ms)
{
    struct cand c = {.d = {.action = a, .rule = r, .due_ms = due, .storage_class = sc},
                     .rule_ix = ix};

    if (due <= now_ms && better(&c, best))
        *best = c;
}

static void
offer_transitions(struct cand *best, const struct lc_rule *r, size_t ix, const struct lc_object *o,
                  int64_t now_ms, int64_t day_s)
{
    bool noncurrent = !o->is_latest;
    const struct lc_transition *t = noncurrent ? r->nc_tr : r->tr;
    size_t n = noncurrent ? r->n_nc_tr : r->n_tr;

    if (o->size < MIN_TRANSITION_SIZE && r->size_gt < 0 && r->size_lt < 0)
        return;
    for (size_t i = 0; i < n; i++) {
        int64_t due;

        if (class_step(t[i].storage_class) <= class_step(o->storage_class))
            continue; /* AWS: only down the waterfall, never back */
        if (noncurrent) {
            if (t[i].newer > 0 && o->noncurrent_rank <= t[i].newer)
                continue;
            due = lc_due(o->noncurrent_ms, t[i].days, day_s);
        } else {
            due = t[i].date_ms >= 0 ? t[i].date_ms : lc_due(o->mtime_ms, t[i].days, day_s);
        }
        offer(best, r, ix,
              noncurrent ? LC_TRANSITION_NONCURRENT : LC_TRANSITION_CURRENT, due,
              t[i].storage_class, now_ms);
    }
}

/* What rule r asks of o; the best candidate so far is in *best. */
static void
rule_candidates(struct cand *best, const struct lc_rule *r, size_t ix, const struct lc_object *o,
                int64_t now_ms, int64_t day_s)
{
    if (o->is_latest && o->is_delete_marker) {
        /* AWS: only a marker with no other version is "expired"; one in
         * front of noncurrent versions stays. EODM removes it at once, an
         * Expiration Days rule once the marker is old enough [A3.5]. */
        if (!o->is_sole)
            return;
        if (r->exp_dm)
            offer(best, r, ix, LC_EXPIRE_DM, o->mtime_ms, STR_NULL, now_ms);
        if (r->exp_days >= 0)
            offer(best, r, ix, LC_EXPIRE_DM, lc_due(o->mtime_ms, r->exp_days, day_s), STR_NULL,
                  now_ms);
        return;
    }
    if (o->is_latest) {
        /* AWS: Expiration never touches noncurrent versions [A3.3]. */
        if (r->exp_days >= 0)
            offer(best, r, ix, LC_EXPIRE_CURRENT, lc_due(o->mtime_ms, r->exp_days, day_s),
                  STR_NULL, now_ms);
        if (r->exp_date_ms >= 0)
            offer(best, r, ix, LC_EXPIRE_CURRENT, r->exp_date_ms, STR_NULL, now_ms);
        offer_transitions(best, r, ix, o, now_ms, day_s);
        return;
    }
    /* Noncurrent: the NewerNoncurrentVersions newest are kept whatever
     * their age; both conditions must hold [A3.4]. Noncurrent markers
     * count as versions here, but have no data to transition. */
    if (r->nc_days >= 0 && (r->nc_newer <= 0 || o->noncurrent_rank > r->nc_newer))
        offer(best, r, ix, LC_EXPIRE_NONCURRENT, lc_due(o->noncurrent_ms, r->nc_days, day_s),
              STR_NULL, now_ms);
    if (!o->is_delete_marker)
        offer_transitions(best, r, ix, o, now_ms, day_s);
}

bool
lc_evaluate(const struct lc_config *cfg, const struct lc_object *o, int64_t now_ms, int64_t day_s,
            struct lc_decision *d)
{
    struct cand best = {.d = {.action = LC_NONE}};
    /* A marker has no tags and weighs nothing, whatever the caller says. */
    int64_t size = o->is_delete_marker ? 0 : o->size;
    struct str tags = o->is_delete_marker ? STR_NULL : o->tags;

    for (size_t i = 0; i < cfg->n_rules; i++) {
        const struct lc_rule *r = &cfg->rules[i];
        if (r->is_enabled && lc_rule_matches(r, o->key, size, tags))
            rule_candidates(&best, r, i, o, now_ms, day_s);
    }
    *d = best.d;
    return d->action != LC_NONE;
}

bool
lc_expiration_header(const struct lc_config *cfg, const struct lc_object *o,
                     const struct lc_rule **rule, int64_t *due_ms)
{
    const struct lc_rule *found = NULL;
    int64_t first = 0;

    if (!o->is_latest || o->is_delete_marker)
        return false;
    for (size_t i = 0; i < cfg->n_rules; i++) {
        const struct lc_rule *r = &cfg->rules[i];
        int64_t due;

        if (!r->is_enabled || (r->exp_days < 0 && r->exp_date_ms < 0) ||
            !lc_rule_matches(r, o->key, o->size, o->tags))
            continue;
        due = r->exp_days >= 0 ? lc_due(o->mtime_ms, r->exp_days, LC_DAY_S) : r->exp_date_ms;
        /* Strictly earlier: a tie stays with the rule found first. */
        if (found == NULL || due < first) {
            found = r;
            first = due;
        }
    }
    if (found == NULL)
        return false;
    *rule = found;
    *due_ms = first;
    return true;
}

bool
lc_abort_date(const struct lc_config *cfg, struct str key, int64_t initiated_ms, int64_t day_s,
              const struct lc_rule **rule, int64_t *due_ms)
{
    const struct lc_rule *found = NULL;
    int64_t first = 0;

    for (size_t i = 0; i < cfg->n_rules; i++) {
        const struct lc_rule *r = &cfg->rules[i];
        int64_t due;

        if (!r->is_enabled || r->abort_days < 0 || r->n_tags > 0 || r->size_gt >= 0 ||
            r->size_lt >= 0 || !lc_rule_matches(r, key, 0, STR_NULL))
            continue;
        due = lc_due(initiated_ms, r->abort_days, day_s);
        if (found == NULL || due < first) {
            found = r;
            first = due;
        }
    }
    if (found == NULL)
        return false;
    *rule = found;
    *due_ms = first;
    return true;
}
