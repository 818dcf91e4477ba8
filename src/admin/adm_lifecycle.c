/* adm_lifecycle.c -- `coffer lifecycle run`: one pass of the lifecycle
 * executor (s3/s3_lifecycle_run.h) now, printing what it did or, with
 * --dry-run, what is due. */
#include "common.h"
#include "admin/adm.h"
#include "core/lifecycle.h"
#include "s3/s3_lifecycle_run.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

struct out {
    bool json;
    json_t *actions; /* --json */
    size_t n;
};

static void
print_event(void *arg, const struct s3_lc_event *e)
{
    struct out *o = arg;

    o->n++;
    if (o->json) {
        json_t *j = json_pack("{s:o, s:o, s:o, s:s, s:o, s:s}", "bucket", adm_jstr(e->bucket),
                              "key", adm_jstr(e->key), "version_id", adm_jstr(e->version_id),
                              "action", e->action, "rule_id", adm_jstr(e->rule_id), "result",
                              e->result);
        if (j != NULL && e->upload_id.p != NULL)
            json_object_set_new(j, "upload_id", adm_jstr(e->upload_id));
        if (j != NULL && e->storage_class.n > 0)
            json_object_set_new(j, "storage_class", adm_jstr(e->storage_class));
        if (j != NULL)
            json_array_append_new(o->actions, j);
        return;
    }
    adm_put(stdout, e->bucket, 20);
    adm_put(stdout, e->key, 30);
    adm_put(stdout, e->upload_id.p != NULL ? e->upload_id : e->version_id, 34);
    printf("%-22s ", e->action);
    adm_put(stdout, e->rule_id, 20);
    if (e->storage_class.n > 0)
        printf("%s -> %.*s\n", e->result, STR_FMT(e->storage_class));
    else
        printf("%s\n", e->result);
}

int
adm_lifecycle_run(struct adm_cli *cli)
{
    struct out o = {.json = cli->json};
    struct s3_lc_opts opts = {
        .day_s = LC_DAY_S,
        .bucket = cli->bucket != NULL ? str_c(cli->bucket) : STR_NULL,
        .dry_run = cli->dry_run,
        .report = print_event,
        .report_arg = &o,
    };
    struct s3_lc_stats st;
    int rc;

    if (cli->day != NULL) {
        char *end;
        long v;

        errno = 0;
        v = strtol(cli->day, &end, 10);
        if (errno != 0 || end == cli->day || *end != '\0' || v < 1 || v > 86400)
            return adm_fail("--day takes a whole number of seconds, 1 to 86400");
        opts.day_s = v;
    }
    if (o.json)
        o.actions = json_array();
    rc = s3_lc_pass(cli->md, &opts, &st);
    if (rc < 0) {
        json_decref(o.actions);
        return adm_internal("lifecycle pass", rc);
    }
    if (o.json)
        return adm_print_json(json_pack("{s:o, s:I, s:I, s:I, s:I, s:I}", "actions", o.actions,
                                        "buckets", (json_int_t)st.buckets, "versions",
                                        (json_int_t)st.versions, "uploads",
                                        (json_int_t)st.uploads, "due", (json_int_t)st.due,
                                        "done", (json_int_t)st.done));
    printf("%lld bucket(s), %lld version(s), %lld upload(s): %lld action(s) due, %lld done\n",
           (long long)st.buckets, (long long)st.versions, (long long)st.uploads,
           (long long)st.due, (long long)st.done);
    return 0;
}
