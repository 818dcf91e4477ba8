/* loop.c -- the event loop threads: their event queues, the listeners on
 * loop 0 and the dealing of accepted connections, signals and drain. See
 * loop.h for the model; connections themselves are conn_tcp.c's. */
#include "common.h"
#include "net/loop.h"
#include "net/net_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct listener {
    uv_tcp_t tcp;
    struct loop *lp;
    struct tls_ctx *tls;
    struct listener *next;
};

/* Hands a connection loop 0 accepted (or one adopted) to a loop. */
struct conn_event {
    struct loop_event ev;
    int fd;
    struct tls_ctx *tls;
};

static void loop_drain(struct loop *lp);

void
loop_post(struct loop *lp, struct loop_event *e)
{
    e->next = NULL;
    pthread_mutex_lock(&lp->ev_mu);
    if (lp->ev_tail)
        lp->ev_tail->next = e;
    else
        lp->ev_head = e;
    lp->ev_tail = e;
    pthread_mutex_unlock(&lp->ev_mu);
    uv_async_send(&lp->async);
}

int
loop_index(const struct loop *lp)
{
    return lp->index;
}

bool
loop_draining(const struct loop *lp)
{
    return lp->draining;
}

bool
loops_draining(const struct loops *ls)
{
    return atomic_load(&ls->draining_flag) != 0;
}

int
loops_count(const struct loops *ls)
{
    return ls->n_loops;
}

static void
on_async(uv_async_t *a)
{
    struct loop *lp = a->data;
    struct loop_event *e, *next;

    if (atomic_load(&lp->ls->draining_flag) && !lp->draining)
        loop_drain(lp);
    pthread_mutex_lock(&lp->ev_mu);
    e = lp->ev_head;
    lp->ev_head = lp->ev_tail = NULL;
    pthread_mutex_unlock(&lp->ev_mu);
    for (; e != NULL; e = next) {
        next = e->next;
        e->fn(lp, e);
    }
}

static void
on_tick(uv_check_t *h)
{
    struct loop *lp = h->data;

    lp->ls->o.on_tick(lp, lp->ls->o.arg);
}

/* ---- connections and drain --------------------------------------------- */

void
loop_conn_unlink(struct loop *lp, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        lp->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    lp->n_conns--;
}

void
loop_maybe_finish_drain(struct loop *lp)
{
    if (lp->draining && lp->n_conns == 0) {
        uv_timer_stop(&lp->drain_timer);
        uv_stop(&lp->uv);
    }
}

static void
on_conn_event(struct loop *lp, struct loop_event *ev)
{
    struct conn_event *e = (struct conn_event *)ev;

    conn_start(lp, e->tls, NULL, e->fd);
    free(e);
}

static void
post_conn(struct loop *lp, int fd, struct tls_ctx *tls)
{
    struct conn_event *e = xcalloc(1, sizeof(*e));

    e->ev.fn = on_conn_event;
    e->fd = fd;
    e->tls = tls;
    loop_post(lp, &e->ev);
}

/* Loop 0 accepts every connection and deals them out to the loops in
 * turn: a loop keeps a connection for its whole life. (SO_REUSEPORT would
 * spread them without a hand-off, but it would also let a second cofferd
 * share the port unnoticed.) */
static void
on_connection(uv_stream_t *server, int status)
{
    struct listener *l = server->data;
    struct loops *ls = l->lp->ls;
    struct loop *to;
    uv_tcp_t *t;
    uv_os_fd_t fd;
    int dfd = -1;

    if (status < 0 || l->lp->draining)
        return;
    to = &ls->loops[ls->next_loop++ % (unsigned)ls->n_loops];
    if (to == l->lp) {
        conn_start(to, l->tls, server, -1);
        return;
    }
    /* Accept on this loop, keep a duplicate of the socket for the other
     * one, and close this loop's handle. */
    t = xmalloc(sizeof(*t));
    uv_tcp_init(&l->lp->uv, t);
    if (uv_accept(server, (uv_stream_t *)t) == 0 && uv_fileno((uv_handle_t *)t, &fd) == 0)
        dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
    uv_close((uv_handle_t *)t, (uv_close_cb)free);
    if (dfd < 0)
        return;
    post_conn(to, dfd, l->tls);
}

int
loops_adopt(struct loops *ls, int fd, struct tls_ctx *tls)
{
    if (atomic_load(&ls->draining_flag))
        return -ESHUTDOWN;
    post_conn(&ls->loops[0], fd, tls);
    return 0;
}

static void
on_drain_timeout(uv_timer_t *t)
{
    struct loop *lp = t->data;

    log_warn("drain timeout: closing %zu connection(s)", lp->n_conns);
    for (struct conn *c = lp->conns; c != NULL; c = c->next)
        conn_close(c, CONN_ABORT);
    uv_stop(&lp->uv);
}

static void
on_listener_closed(uv_handle_t *h)
{
    (void)h;
}

/* Stops accepting on lp, has its idle connections closed, and stops the
 * loop once the others are answered (or the drain timeout passes). */
static void
loop_drain(struct loop *lp)
{
    lp->draining = true;
    for (struct listener *l = lp->listeners; l != NULL; l = l->next)
        uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
    for (struct conn *c = lp->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->h != NULL)
            c->h->on_drain(c);
    }
    lp->drain_timer.data = lp;
    uv_timer_start(&lp->drain_timer, on_drain_timeout, (uint64_t)lp->ls->o.drain_timeout_ms, 0);
    loop_maybe_finish_drain(lp);
}

static void
on_signal(uv_signal_t *sig, int signum)
{
    struct loops *ls = sig->data;

    if (atomic_exchange(&ls->draining_flag, 1))
        return;
    log_info("signal %d: draining (%zu connection(s) open on this loop)", signum,
             ls->loops[0].n_conns);
    loop_drain(&ls->loops[0]);
    for (int i = 1; i < ls->n_loops; i++)
        uv_async_send(&ls->loops[i].async);
}

/* SIGHUP: logrotate has renamed the access log; the server stays up. */
static void
on_hup(uv_signal_t *sig, int signum)
{
    int rc = log_access_reopen();

    (void)sig;
    if (rc < 0)
        log_error("signal %d: cannot reopen the access log: %s", signum, strerror(-rc));
    else
        log_info("signal %d: access log reopened", signum);
}

/* ---- lifecycle --------------------------------------------------------- */

struct loops *
loops_new(const struct loops_opts *o)
{
    struct loops *ls = xcalloc(1, sizeof(*ls));

    ls->o = *o;
    if (ls->o.n_loops <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        ls->o.n_loops = n < 1 ? 1 : n > LOOP_MAX ? LOOP_MAX : (int)n;
    }
    if (ls->o.drain_timeout_ms <= 0)
        ls->o.drain_timeout_ms = 300000;
    ls->n_loops = ls->o.n_loops;
    ls->loops = xcalloc((size_t)ls->n_loops, sizeof(*ls->loops));
    for (int i = 0; i < ls->n_loops; i++) {
        struct loop *lp = &ls->loops[i];
        lp->ls = ls;
        lp->index = i;
        uv_loop_init(&lp->uv);
        uv_async_init(&lp->uv, &lp->async, on_async);
        lp->async.data = lp;
        uv_timer_init(&lp->uv, &lp->drain_timer);
        uv_check_init(&lp->uv, &lp->tick);
        lp->tick.data = lp;
        if (ls->o.on_tick != NULL)
            uv_check_start(&lp->tick, on_tick);
        uv_unref((uv_handle_t *)&lp->tick);
        pthread_mutex_init(&lp->ev_mu, NULL);
        lp->rbuf = xmalloc(NET_RBUF_SIZE);
    }
    uv_signal_init(&ls->loops[0].uv, &ls->sigterm);
    uv_signal_init(&ls->loops[0].uv, &ls->sigint);
    uv_signal_init(&ls->loops[0].uv, &ls->sighup);
    ls->sigterm.data = ls->sigint.data = ls->sighup.data = ls;
    return ls;
}

int
loops_listen(struct loops *ls, const char *host, int port, struct tls_ctx *tls)
{
    struct loop *lp = &ls->loops[0];
    struct listener *l = xcalloc(1, sizeof(*l));
    struct sockaddr_storage ss;
    int rc;

    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
        free(l);
        return -EINVAL;
    }
    l->lp = lp;
    l->tls = tls;
    uv_tcp_init(&lp->uv, &l->tcp);
    l->tcp.data = l;
    rc = uv_tcp_bind(&l->tcp, (struct sockaddr *)&ss, 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)&l->tcp, 1024, on_connection);
    if (rc < 0) {
        uv_close((uv_handle_t *)&l->tcp, NULL);
        uv_run(&lp->uv, UV_RUN_NOWAIT);
        free(l);
        return rc;
    }
    l->next = lp->listeners;
    lp->listeners = l;
    return 0;
}

static void *
loop_main(void *arg)
{
    struct loop *lp = arg;

    uv_run(&lp->uv, UV_RUN_DEFAULT);
    return NULL;
}

void
loops_stop(struct loops *ls)
{
    if (atomic_exchange(&ls->draining_flag, 1))
        return;
    /* Each loop drains itself when its async wakes it (on_async()). */
    for (int i = 0; i < ls->n_loops; i++)
        uv_async_send(&ls->loops[i].async);
}

int
loops_run(struct loops *ls)
{
    sigset_t stop;

    if (!ls->o.no_signals) {
        uv_signal_start(&ls->sigterm, on_signal, SIGTERM);
        uv_signal_start(&ls->sigint, on_signal, SIGINT);
        uv_signal_start(&ls->sighup, on_hup, SIGHUP);
    }
    /* cofferd blocked these during start-up: one that came meanwhile is
     * delivered now, to the handlers. */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_UNBLOCK, &stop, NULL);
    for (int i = 1; i < ls->n_loops; i++)
        ASSERT(pthread_create(&ls->loops[i].th, NULL, loop_main, &ls->loops[i]) == 0);
    loop_main(&ls->loops[0]);
    for (int i = 1; i < ls->n_loops; i++)
        pthread_join(ls->loops[i].th, NULL);
    return 0;
}

static void
close_walk(uv_handle_t *h, void *arg)
{
    (void)arg;
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

void
loops_free(struct loops *ls)
{
    if (ls == NULL)
        return;
    for (int i = 0; i < ls->n_loops; i++) {
        struct loop *lp = &ls->loops[i];
        /* Events posted by the protocol's last threads may still hold its
         * references; the tick then writes what they batched. */
        on_async(&lp->async);
        if (ls->o.on_tick != NULL)
            ls->o.on_tick(lp, ls->o.arg);
        uv_walk(&lp->uv, close_walk, NULL);
        uv_run(&lp->uv, UV_RUN_DEFAULT);
        uv_loop_close(&lp->uv);
        for (struct listener *l = lp->listeners, *next; l != NULL; l = next) {
            next = l->next;
            free(l);
        }
        free(lp->rbuf);
        pthread_mutex_destroy(&lp->ev_mu);
    }
    free(ls->loops);
    free(ls);
}
