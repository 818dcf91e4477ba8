/* main.c -- cofferd: configuration, stores, listeners, signals, the loop.
 * The only file with process-wide state. */
#include "common.h"
#include "http/http_server.h"
#include "net/tls.h"
#include "core/lifecycle.h"
#include "s3/s3.h"
#include "s3/s3_admin.h"
#include "s3/s3_lens_export.h"
#include "s3/s3_lifecycle_run.h"
#include "store/blob.h"
#include "store/md.h"
#include "store/mtoken.h"
#include "store/md_usage.h"
#include "store/space.h"
#include "store/trash.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/str.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* How long a write waits for another process holding meta.db's write lock
 * (the admin CLI) before its client gets 503 SlowDown: a CLI command holds
 * it for milliseconds, anything longer is a stuck process. */
#define LOCK_WAIT_MS 2000
/* The age of unreferenced data the start-up sweep removes in a shared store. */
#define SHARED_ORPHAN_AGE_S 86400

struct config {
    const char *data;
    const char *blobs; /* --blobs URL (store/blob.h); NULL: DIR/blobs */
    const char *meta;  /* --meta URL (store/md.h); NULL: DIR/meta.db */
    const char *master_key; /* --master-key FILE; NULL: DIR/master.key */
    const char *listen;
    const char *tls_listen;
    const char *admin_listen;
    const char *tls_cert, *tls_key;
    const char *domain;
    const char *region;
    const char *access_log;
    int workers;
    int max_workers;
    int loops;
    long reclaim_grace_s;
    long lifecycle_day_s;      /* length of a lifecycle day (tests shorten it) */
    long lifecycle_interval_s; /* how often the lifecycle executor wakes */
    long usage_interval_s;     /* how often usage accounting refreshes */
    long lens_export_interval_s; /* how often the Storage Lens exporter wakes */
};

static const char usage[] =
    "usage: cofferd --data DIR --listen HOST:PORT [--tls-listen HOST:PORT] [--blobs URL]\n"
    "               [--meta URL] [--master-key FILE]\n"
    "               [--admin-listen HOST:PORT]\n"
    "               [--tls-cert FILE --tls-key FILE] [--config FILE]\n"
    "               [--domain DOMAIN] [--region REGION] [--workers N] [--max-workers N]\n"
    "               [--loops N] [--access-log FILE] [--reclaim-grace SECONDS]\n"
    "               [--lifecycle-day SECONDS] [--lifecycle-interval SECONDS]\n"
    "               [--usage-interval SECONDS] [--lens-export-interval SECONDS]\n"
    "\n"
    "  --data DIR         data directory (metadata, objects, keys); created if missing\n"
    "  --blobs URL        where object data lives: file:PATH (default DIR/blobs) or a Ceph\n"
    "                     RADOS pool, rados://POOL?conf=CEPH_CONF[&id=CLIENT][&timeout=S]\n"
    "                     (client default admin; cluster operations fail after S seconds,\n"
    "                     default 10: 503 SlowDown, never a hang)\n"
    "  --meta URL         where metadata lives: sqlite:PATH (default DIR/meta.db), or a\n"
    "                     PostgreSQL database many gateways share, postgresql://...\n"
    "  --master-key FILE  the key that seals secrets (default DIR/master.key, created for a\n"
    "                     new store); every gateway and coffer command of a store must use\n"
    "                     the same key: the store keeps a check value and refuses another\n"
    "  --listen H:P       plain HTTP listener, e.g. 127.0.0.1:9000\n"
    "  --tls-listen H:P   HTTPS listener; without --tls-cert/--tls-key a self-signed CA and\n"
    "                     certificate are generated under DIR/tls (clients trust DIR/tls/ca.pem)\n"
    "  --admin-listen H:P HTTPS only (the certificate of --tls-listen): health probes\n"
    "                     (/health/live, /health/ready), Prometheus /metrics (Authorization:\n"
    "                     Bearer, the token in DIR/metrics.token) and the web dashboard;\n"
    "                     off unless given; the S3 listeners never serve these\n"
    "  --config FILE      'name = value' lines with the long option names above\n"
    "  --domain DOMAIN    virtual-hosted-style base domain (default localhost):\n"
    "                     Host: BUCKET.DOMAIN addresses BUCKET\n"
    "  --region REGION    the region this server signs as (default us-east-1)\n"
    "  --workers N        request worker threads always running (default 32)\n"
    "  --max-workers N    while all are busy (slow uploads), more start, up to N (default 256);\n"
    "                     those idle for 30 s exit\n"
    "  --loops N          network event loop threads (default: one per CPU, at most 16);\n"
    "                     they also answer GET/HEAD of small objects themselves\n"
    "  --access-log FILE  one JSON line per request (default: stdout)\n"
    "  --reclaim-grace S  data of a deleted or replaced version is removed S seconds later at\n"
    "                     the earliest (default 900), and never while a read that began\n"
    "                     before the delete is still running\n"
    "  --lifecycle-interval S  the lifecycle executor runs a pass at start, every S seconds\n"
    "                     (default 3600) and just after each day boundary\n"
    "  --lifecycle-day S  the length of a lifecycle day, for tests (default 86400): rule\n"
    "                     ages and day boundaries count in days of S seconds (response\n"
    "                     headers keep real days)\n"
    "  --usage-interval S usage accounting (coffer usage show, Storage Lens) refreshes each\n"
    "                     bucket's figures for today at start and every S seconds (default 3600)\n"
    "  --lens-export-interval S  Storage Lens configurations with an export get their daily\n"
    "                     reports (up to yesterday, UTC; at most 14 days per configuration a\n"
    "                     wake) at start, every S seconds (default 3600) and just after midnight\n"
    "\n"
    "SIGTERM or SIGINT drains: listeners close, requests in flight finish, then exit 0.\n"
    "SIGHUP reopens the --access-log file (after logrotate). --version prints the version.\n";

/* A whole number of seconds, 0 to a year. */
static int
parse_seconds(const char *val, long *out)
{
    char *end;
    long v;

    errno = 0;
    v = strtol(val, &end, 10);
    if (errno != 0 || end == val || *end != '\0' || v < 0 || v > 366L * 24 * 3600)
        return -EINVAL;
    *out = v;
    return 0;
}

static int
set_opt(struct config *cfg, const char *name, const char *val)
{
    if (strcmp(name, "data") == 0)
        cfg->data = val;
    else if (strcmp(name, "blobs") == 0)
        cfg->blobs = val;
    else if (strcmp(name, "meta") == 0)
        cfg->meta = val;
    else if (strcmp(name, "master-key") == 0)
        cfg->master_key = val;
    else if (strcmp(name, "listen") == 0)
        cfg->listen = val;
    else if (strcmp(name, "tls-listen") == 0)
        cfg->tls_listen = val;
    else if (strcmp(name, "admin-listen") == 0)
        cfg->admin_listen = val;
    else if (strcmp(name, "tls-cert") == 0)
        cfg->tls_cert = val;
    else if (strcmp(name, "tls-key") == 0)
        cfg->tls_key = val;
    else if (strcmp(name, "domain") == 0)
        cfg->domain = val;
    else if (strcmp(name, "region") == 0)
        cfg->region = val;
    else if (strcmp(name, "access-log") == 0)
        cfg->access_log = val;
    else if (strcmp(name, "workers") == 0)
        cfg->workers = (int)strtol(val, NULL, 10);
    else if (strcmp(name, "max-workers") == 0)
        cfg->max_workers = (int)strtol(val, NULL, 10);
    else if (strcmp(name, "loops") == 0)
        cfg->loops = (int)strtol(val, NULL, 10);
    else if (strcmp(name, "reclaim-grace") == 0)
        return parse_seconds(val, &cfg->reclaim_grace_s);
    else if (strcmp(name, "lifecycle-day") == 0)
        return parse_seconds(val, &cfg->lifecycle_day_s) < 0 || cfg->lifecycle_day_s < 1 ? -EINVAL
                                                                                         : 0;
    else if (strcmp(name, "lifecycle-interval") == 0)
        return parse_seconds(val, &cfg->lifecycle_interval_s) < 0 || cfg->lifecycle_interval_s < 1
                   ? -EINVAL
                   : 0;
    else if (strcmp(name, "usage-interval") == 0)
        return parse_seconds(val, &cfg->usage_interval_s) < 0 || cfg->usage_interval_s < 1 ? -EINVAL
                                                                                           : 0;
    else if (strcmp(name, "lens-export-interval") == 0)
        return parse_seconds(val, &cfg->lens_export_interval_s) < 0 ||
                       cfg->lens_export_interval_s < 1
                   ? -EINVAL
                   : 0;
    else
        return -EINVAL;
    return 0;
}

/* The config file's values: cfg points into them for the life of the
 * process, so they are kept here (reachable, never freed). */
static char *config_values[64];
static size_t n_config_values;

static int
config_line(void *arg, const char *name, const char *val)
{
    struct config *cfg = arg;

    if (n_config_values == ARRAY_LEN(config_values))
        return -1;
    config_values[n_config_values] = xstrdup(val);
    return set_opt(cfg, name, config_values[n_config_values++]);
}

/* Reads the config file's 'name = value' lines (util/conf.h). */
static int
load_config(struct config *cfg, const char *path)
{
    int rc = conf_each(path, config_line, cfg);

    if (rc < 0)
        fprintf(stderr, "cofferd: %s: %s\n", path, strerror(-rc));
    else if (rc > 0)
        fprintf(stderr, "cofferd: %s:%d: not a known 'name = value' setting (at most %zu)\n",
                path, rc, ARRAY_LEN(config_values));
    return rc == 0 ? 0 : -1;
}

static int
split_hostport(const char *s, char *host, size_t cap, int *port)
{
    const char *colon = strrchr(s, ':');
    char *end;
    long p;

    if (colon == NULL || (size_t)(colon - s) >= cap)
        return -EINVAL;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    if (host[0] == '[') {
        size_t n = strlen(host);
        if (n < 2 || host[n - 1] != ']')
            return -EINVAL;
        memmove(host, host + 1, n - 2);
        host[n - 2] = '\0';
    }
    p = strtol(colon + 1, &end, 10);
    if (*end != '\0' || p < 0 || p > 65535)
        return -EINVAL;
    *port = (int)p;
    return 0;
}

static void *
admin_main(void *arg)
{
    http_server_run(arg);
    return NULL;
}

static int
gc_is_live(void *arg, struct str id)
{
    return md_blob_referenced(md_reader(arg), id) != 0;
}

/* An exclusive lock on path for the life of the process: its fd, or -1
 * after saying why ("another cofferd is running on WHAT"). */
static int
take_lock(const char *path, const char *what)
{
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);

    if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno;

        log_error("%s: %s%s", path, e == EWOULDBLOCK ? "another cofferd is running on " : "",
                  e == EWOULDBLOCK ? what : strerror(e));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    return fd;
}

int
main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"data", required_argument, NULL, 'd'},      {"listen", required_argument, NULL, 'l'},
        {"tls-listen", required_argument, NULL, 't'}, {"tls-cert", required_argument, NULL, 'c'},
        {"tls-key", required_argument, NULL, 'k'},   {"config", required_argument, NULL, 'f'},
        {"domain", required_argument, NULL, 'D'},    {"region", required_argument, NULL, 'r'},
        {"workers", required_argument, NULL, 'w'},   {"access-log", required_argument, NULL, 'a'},
        {"loops", required_argument, NULL, 'L'},    {"max-workers", required_argument, NULL, 'M'},
        {"reclaim-grace", required_argument, NULL, 'g'},
        {"lifecycle-day", required_argument, NULL, 'y'},
        {"lifecycle-interval", required_argument, NULL, 'i'},
        {"admin-listen", required_argument, NULL, 'A'},
        {"usage-interval", required_argument, NULL, 'U'},
        {"lens-export-interval", required_argument, NULL, 'E'},
        {"blobs", required_argument, NULL, 'B'},
        {"meta", required_argument, NULL, 'm'},
        {"master-key", required_argument, NULL, 'K'},
        {"help", no_argument, NULL, 'h'},            {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct config cfg = {.domain = "localhost",
                         .region = "us-east-1",
                         .workers = 32,
                         .reclaim_grace_s = TRASH_GRACE_DEFAULT_S,
                         .lifecycle_day_s = LC_DAY_S,
                         .lifecycle_interval_s = 3600,
                         .usage_interval_s = 3600,
                         .lens_export_interval_s = 3600};
    struct srv srv = {0};
    struct md *md = NULL;
    static struct md_url meta; /* 4 KiB: not on the stack */
    struct blob *blob = NULL;
    struct space *space = NULL;
    struct trash_reaper *reaper = NULL;
    struct s3_lc_runner *lc = NULL;
    struct md_usage_runner *usage_run = NULL;
    struct s3_lens_runner *lens_run = NULL;
    struct tls_ctx *tls = NULL;
    struct http_server *hs = NULL, *admin_hs = NULL;
    struct s3_admin admin = {0};
    pthread_t admin_th;
    bool admin_running = false;
    char mtoken[MTOKEN_LEN + 1];
    char host[256], cert[PATH_MAX], key[PATH_MAX], lock_path[PATH_MAX], errbuf[512];
    char meta_lock[MD_URL_PATH_MAX + 16];
    int port, opt, idx = 0, rc, status = 1, lock_fd, meta_lock_fd = -1;

    /* Options given on the command line win over the config file, so read
     * the file first. */
    for (int i = 1; i < argc - 1; i++)
        if (strcmp(argv[i], "--config") == 0 && load_config(&cfg, argv[i + 1]) < 0)
            return 2;
    while ((opt = getopt_long(argc, argv, "h", longopts, &idx)) != -1) {
        if (opt == 'h') {
            fputs(usage, stdout);
            return 0;
        }
        if (opt == 'V') {
            printf("cofferd %s\n", COFFER_VERSION);
            return 0;
        }
        if (opt == '?' || (opt != 'f' && set_opt(&cfg, longopts[idx].name, optarg) < 0)) {
            fputs(usage, stderr);
            return 2;
        }
    }
    if (cfg.data == NULL || cfg.listen == NULL || (cfg.tls_cert == NULL) != (cfg.tls_key == NULL)) {
        fputs(usage, stderr);
        return 2;
    }
    if (cfg.blobs != NULL) { /* a mistyped --blobs fails before anything is created */
        struct blob_url *u = calloc(1, sizeof(*u));

        rc = u == NULL ? -ENOMEM : blob_url_parse(cfg.blobs, cfg.data, u, errbuf, sizeof(errbuf));
        free(u);
        if (rc < 0) {
            fprintf(stderr, "cofferd: %s\n", rc == -EINVAL ? errbuf : strerror(-rc));
            return 2;
        }
    }
    if (md_url_parse(cfg.meta, cfg.data, &meta, errbuf, sizeof(errbuf)) < 0) {
        fprintf(stderr, "cofferd: %s\n", errbuf);
        return 2;
    }
    if (cfg.master_key != NULL && cfg.master_key[0] == '\0') {
        fputs("cofferd: --master-key needs a file\n", stderr);
        return 2;
    }
    signal(SIGPIPE, SIG_IGN);
    /* A reload (SIGHUP) during start-up must not kill the server: ignored
     * until the loop installs the handler that reopens the access log. */
    signal(SIGHUP, SIG_IGN);
    /* SIGTERM or SIGINT during start-up (the listeners accept before the
     * loop runs) waits for the loop's handlers, which drain and exit 0:
     * blocked here, before any thread starts, and unblocked by
     * loops_run() once they are installed. */
    {
        sigset_t stop;

        sigemptyset(&stop);
        sigaddset(&stop, SIGTERM);
        sigaddset(&stop, SIGINT);
        pthread_sigmask(SIG_BLOCK, &stop, NULL);
    }
    if (mkdir(cfg.data, 0700) < 0 && errno != EEXIST) {
        log_error("cannot create %s: %s", cfg.data, strerror(errno));
        return 1;
    }
    /* One cofferd per data directory: a second one's start-up orphan sweep
     * could delete a file the first has just renamed into place and is
     * about to commit. The lock lives as long as the process (the admin CLI
     * does not take it). With --blobs rados:// too: the metadata is still
     * SQLite in DIR, and the sweep lists the whole pool. */
    snprintf(lock_path, sizeof(lock_path), "%s/cofferd.lock", cfg.data);
    lock_fd = take_lock(lock_path, "this data directory");
    if (lock_fd < 0)
        return 1;
    /* And one per metadata store when --meta puts it elsewhere: two
     * cofferds with their own DIR on one database would each run the
     * background work (lifecycle, reaper, usage, exports) of one store. */
    snprintf(meta_lock, sizeof(meta_lock), "%s/meta.db", cfg.data);
    if (meta.sqlite_path[0] != '\0' && strcmp(meta.sqlite_path, meta_lock) != 0) {
        snprintf(meta_lock, sizeof(meta_lock), "%s.cofferd.lock", meta.sqlite_path);
        meta_lock_fd = take_lock(meta_lock, "this metadata store");
        if (meta_lock_fd < 0)
            return 1;
    }
    if (log_access_open(cfg.access_log) < 0) {
        log_error("cannot open access log %s: %s", cfg.access_log, strerror(errno));
        return 1;
    }
    /* First: on a full disk its reserve gives the rest of start-up room. */
    rc = space_open(cfg.data, &space);
    if (rc < 0) {
        log_error("cannot open the space reserve in %s: %s", cfg.data, strerror(-rc));
        goto out;
    }
    rc = md_open_at(cfg.data, &meta, cfg.master_key, &md);
    if (rc < 0) {
        /* md_open_at() said why for a key that is not the store's. */
        if (rc != -EKEYREJECTED)
            log_error("cannot open metadata %s: %s",
                      meta.sqlite_path[0] ? meta.sqlite_path : "(PostgreSQL)", strerror(-rc));
        goto out;
    }
    md_set_lock_wait(md, LOCK_WAIT_MS);
    md_set_space(md, space);
    rc = blob_open_url(cfg.blobs, cfg.data, &blob, errbuf, sizeof(errbuf));
    if (rc < 0) {
        log_error("%s", errbuf);
        goto out;
    }
    blob_set_space(blob, space);
    /* Nothing is in flight yet, so every unreferenced file is an orphan of
     * a crash between data rename and metadata commit. Not so when other
     * gateways share the store and write to the same --blobs: there only
     * data a day old goes, which no upload still being written can be. */
    rc = blob_gc(blob, gc_is_live, md,
                 md_shared(md) && cfg.blobs != NULL ? SHARED_ORPHAN_AGE_S : 0);
    if (rc > 0)
        log_info("removed %d orphan data file(s)", rc);
    else if (rc < 0)
        log_warn("the orphan data sweep failed: %s", strerror(-rc));
    if (cfg.blobs != NULL)
        log_info("object data in %s (%s backend)", cfg.blobs, blob_backend_name(blob));
    /* The trash rows whose files blob_gc() just removed are reaped later as
     * usual (an unlink of a missing file is no error). */
    rc = trash_reaper_start(md, blob, (int64_t)cfg.reclaim_grace_s * 1000, &reaper);
    if (rc < 0) {
        log_error("cannot start the data reaper: %s", strerror(-rc));
        goto out;
    }
    rc = s3_lc_runner_start(md, cfg.lifecycle_day_s, cfg.lifecycle_interval_s, &lc);
    if (rc < 0) {
        log_error("cannot start the lifecycle executor: %s", strerror(-rc));
        goto out;
    }
    rc = md_usage_runner_start(md, cfg.usage_interval_s, &usage_run);
    if (rc < 0) {
        log_error("cannot start usage accounting: %s", strerror(-rc));
        goto out;
    }
    rc = s3_lens_runner_start(md, blob, cfg.lens_export_interval_s, &lens_run);
    if (rc < 0) {
        log_error("cannot start the Storage Lens exporter: %s", strerror(-rc));
        goto out;
    }

    srv.md = md;
    srv.blob = blob;
    srv.space = space;
    srv.domain = cfg.domain;
    srv.region = cfg.region;
    srv.reclaim_grace_ms = (int64_t)cfg.reclaim_grace_s * 1000;
    hs = http_server_new(&(struct http_server_opts){.n_workers = cfg.workers,
                                                    .max_workers = cfg.max_workers,
                                                    .n_loops = cfg.loops,
                                                    .handler = s3_handle,
                                                    .error_body = s3_http_error_body,
                                                    .on_done = s3_metrics_done,
                                                    .ctx = &srv});
    if (split_hostport(cfg.listen, host, sizeof(host), &port) < 0) {
        log_error("bad --listen %s (want HOST:PORT)", cfg.listen);
        goto out;
    }
    rc = http_server_listen(hs, host, port, NULL);
    if (rc < 0) {
        log_error("cannot listen on %s: %s", cfg.listen, strerror(-rc));
        goto out;
    }
    log_info("listening on http://%s", cfg.listen);
    /* One certificate for the HTTPS listener and the admin listener, which
     * is HTTPS only: it carries the metrics token and the dashboard's login
     * links and session cookies. */
    if (cfg.tls_listen != NULL || cfg.admin_listen != NULL) {
        if (cfg.tls_cert == NULL) {
            rc = tls_ensure_self_signed(cfg.data);
            if (rc < 0) {
                log_error("cannot create a certificate in %s/tls: %s", cfg.data, strerror(-rc));
                goto out;
            }
            snprintf(cert, sizeof(cert), "%s/tls/cert.pem", cfg.data);
            snprintf(key, sizeof(key), "%s/tls/key.pem", cfg.data);
            cfg.tls_cert = cert;
            cfg.tls_key = key;
        }
        if (tls_ctx_new(cfg.tls_cert, cfg.tls_key, &tls) < 0)
            goto out;
    }
    if (cfg.tls_listen != NULL) {
        if (split_hostport(cfg.tls_listen, host, sizeof(host), &port) < 0) {
            log_error("bad --tls-listen %s (want HOST:PORT)", cfg.tls_listen);
            goto out;
        }
        rc = http_server_listen(hs, host, port, tls);
        if (rc < 0) {
            log_error("cannot listen on %s: %s", cfg.tls_listen, strerror(-rc));
            goto out;
        }
        log_info("listening on https://%s (certificate %s)", cfg.tls_listen, cfg.tls_cert);
    }
    /* The metrics token exists from the first start on, so that `coffer
     * metrics token` has one to print before the admin listener is used. */
    rc = mtoken_ensure(cfg.data, mtoken);
    explicit_bzero(mtoken, sizeof(mtoken));
    if (rc < 0 && cfg.admin_listen != NULL) {
        log_error("cannot create %s/%s: %s", cfg.data, MTOKEN_FILE, strerror(-rc));
        goto out;
    }
    if (cfg.admin_listen != NULL) {
        /* A server of its own: one loop and a few workers, which keeps
         * answering /health/ready (503) while the S3 server drains. */
        admin = (struct s3_admin){.srv = &srv, .s3 = hs, .data_dir = cfg.data};
        admin_hs = http_server_new(&(struct http_server_opts){.n_workers = 2,
                                                              .max_workers = 4,
                                                              .n_loops = 1,
                                                              .handler = s3_admin_handle,
                                                              .ctx = &admin,
                                                              .no_signals = true,
                                                              .no_access_log = true});
        if (split_hostport(cfg.admin_listen, host, sizeof(host), &port) < 0) {
            log_error("bad --admin-listen %s (want HOST:PORT)", cfg.admin_listen);
            goto out;
        }
        rc = http_server_listen(admin_hs, host, port, tls);
        if (rc < 0) {
            log_error("cannot listen on %s: %s", cfg.admin_listen, strerror(-rc));
            goto out;
        }
        if (pthread_create(&admin_th, NULL, admin_main, admin_hs) != 0) {
            log_error("cannot start the admin listener's thread");
            goto out;
        }
        admin_running = true;
        log_info("admin listener on https://%s (health, metrics, dashboard)", cfg.admin_listen);
    }
    log_info("cofferd ready: data %s, region %s, domain %s", cfg.data, cfg.region, cfg.domain);
    http_server_run(hs);
    log_info("drained; exiting");
    status = 0;
out:
    if (admin_running) {
        http_server_stop(admin_hs);
        pthread_join(admin_th, NULL);
    }
    http_server_free(admin_hs);
    http_server_free(hs);
    tls_ctx_free(tls);
    s3_lens_runner_stop(lens_run);
    md_usage_runner_stop(usage_run);
    s3_lc_runner_stop(lc);
    trash_reaper_stop(reaper);
    blob_close(blob);
    md_close(md);
    space_close(space);
    if (meta_lock_fd >= 0)
        close(meta_lock_fd);
    close(lock_fd); /* releases the data directory */
    return status;
}
