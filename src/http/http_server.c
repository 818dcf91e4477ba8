/* http_server.c -- the HTTP server as a whole: its loops (net/loop.h), its
 * worker pool (http_worker.c), listeners, run and teardown. The work is in
 * http_conn.c (loop side) and http_resp.c (worker side); see http_int.h. */
#include "common.h"
#include "http/http_int.h"
#include "util/xmalloc.h"

#include <stdlib.h>
#include <time.h>

static void
on_tick(struct loop *lp, void *arg)
{
    struct http_server *s = arg;

    http_log_flush(&s->hl[loop_index(lp)]);
}

struct http_server *
http_server_new(const struct http_server_opts *o)
{
    struct http_server *s = xcalloc(1, sizeof(*s));
    struct timespec ts;
    int n_loops;

    s->o = *o;
    if (s->o.n_workers <= 0)
        s->o.n_workers = 32;
    if (s->o.max_workers <= 0)
        s->o.max_workers = 256;
    if (s->o.max_workers < s->o.n_workers)
        s->o.max_workers = s->o.n_workers;
    s->loops = loops_new(&(struct loops_opts){
        .n_loops = s->o.n_loops,
        .drain_timeout_ms = s->o.drain_timeout_ms,
        .on_conn = http_conn_open,
        .on_tick = on_tick,
        .arg = s,
        .no_signals = s->o.no_signals,
    });
    n_loops = loops_count(s->loops);
    s->hl = xcalloc((size_t)n_loops, sizeof(*s->hl));
    for (int i = 0; i < n_loops; i++)
        buf_init(&s->hl[i].logbuf, SIZE_MAX / 2);
    http_settings_init(&s->settings);
    clock_gettime(CLOCK_REALTIME, &ts);
    s->req_base = ((uint64_t)ts.tv_sec << 24) ^ ((uint64_t)ts.tv_nsec << 8);
    s->pool = http_pool_new(s->o.n_workers, s->o.max_workers);
    return s;
}

int
http_server_listen(struct http_server *s, const char *host, int port, struct tls_ctx *tls)
{
    return loops_listen(s->loops, host, port, tls);
}

int
http_server_adopt(struct http_server *s, int fd, struct tls_ctx *tls)
{
    return loops_adopt(s->loops, fd, tls);
}

int
http_server_run(struct http_server *s)
{
    return loops_run(s->loops);
}

void
http_server_stop(struct http_server *s)
{
    loops_stop(s->loops);
}

bool
http_server_draining(const struct http_server *s)
{
    return loops_draining(s->loops);
}

void
http_server_stats(struct http_server *s, struct http_stats *st)
{
    http_pool_stats(s->pool, &st->workers, &st->workers_busy, &st->queued);
    st->connections = atomic_load_explicit(&s->n_conns, memory_order_relaxed);
}

void
http_server_free(struct http_server *s)
{
    int n_loops;

    if (s == NULL)
        return;
    /* Workers first: their last events go to the loops, which loops_free()
     * still runs (they hold references to requests). */
    http_pool_free(s->pool);
    n_loops = loops_count(s->loops);
    loops_free(s->loops);
    for (int i = 0; i < n_loops; i++)
        buf_free(&s->hl[i].logbuf);
    free(s->hl);
    free(s);
}
