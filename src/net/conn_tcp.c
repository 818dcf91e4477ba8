/* conn_tcp.c -- the plain TCP connection type, and the libuv stream
 * machinery both transports stand on: setting a connection up, the timer,
 * writes, graceful close with shutdown and linger. TLS (conn_tls.c) reuses
 * these and changes what goes in and out. Loop thread only. */
#include "common.h"
#include "net/conn.h"
#include "net/net_int.h"
#include "util/xmalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define LINGER_MS 2000

struct write_req {
    uv_write_t w;
    conn_write_cb cb;
    void *arg;
    size_t plain_n;
    char *mem;
};

bool
conn_is_closed(const struct conn *c)
{
    return uv_is_closing((const uv_handle_t *)&c->tcp);
}

void
conn_discard_input(struct conn *c)
{
    c->discard = true;
}

static void
on_timer(uv_timer_t *t)
{
    struct conn *c = t->data;

    c->h->on_timeout(c);
}

void
conn_timer_start(struct conn *c, int ms)
{
    c->timer.data = c;
    uv_timer_start(&c->timer, on_timer, (uint64_t)ms, 0);
}

void
conn_timer_stop(struct conn *c)
{
    uv_timer_stop(&c->timer);
}

void
conn_tcp_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct conn *c = h->data;

    (void)suggested;
    b->base = c->lp->rbuf;
    b->len = NET_RBUF_SIZE;
}

static void
tcp_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    struct conn *c = st->data;

    if (nread < 0) {
        c->h->on_eof(c);
        return;
    }
    if (c->discard || c->closing)
        return;
    c->h->on_data(c, b->base, (size_t)nread);
}

void
conn_tcp_read_start_cb(struct conn *c, uv_read_cb cb)
{
    if (!c->reading && !c->closing) {
        if (uv_read_start((uv_stream_t *)&c->tcp, conn_tcp_on_alloc, cb) == 0)
            c->reading = true;
    }
}

static void
tcp_read_start(struct conn *c)
{
    conn_tcp_read_start_cb(c, tcp_on_read);
}

void
conn_tcp_read_stop(struct conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void
on_written(uv_write_t *w, int status)
{
    struct write_req *wr = (struct write_req *)w;

    if (wr->cb != NULL)
        wr->cb(wr->arg, wr->plain_n, status);
    free(wr->mem);
    free(wr);
}

void
conn_tcp_queue(struct conn *c, char *mem, size_t n, size_t plain_n, conn_write_cb cb, void *arg)
{
    struct write_req *wr = xcalloc(1, sizeof(*wr));
    uv_buf_t ub;

    wr->cb = cb;
    wr->arg = arg;
    wr->plain_n = plain_n;
    wr->mem = mem;
    ub = uv_buf_init(mem ? mem : "", (unsigned)n);
    if (c->closing || uv_write(&wr->w, (uv_stream_t *)&c->tcp, &ub, 1, on_written) < 0)
        on_written(&wr->w, -EPIPE);
}

static void
tcp_write(struct conn *c, char *mem, size_t n, conn_write_cb cb, void *arg)
{
    conn_tcp_queue(c, mem, n, n, cb, arg);
}

/* uv_try_write(): uv_write() would also write at once, but then costs an
 * epoll_ctl() per request in libuv's write completion. */
static size_t
tcp_try_write(struct conn *c, const char *p, size_t n)
{
    uv_buf_t ub;
    int k;

    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) != 0)
        return 0;
    ub = uv_buf_init((char *)p, (unsigned)n);
    k = uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
    return k > 0 ? (size_t)k : 0;
}

/* Direct writes only while the loop's write queue is empty: the caller's
 * bytes must follow the queued ones on the wire. */
static int
tcp_direct_fd(struct conn *c)
{
    uv_os_fd_t fd;

    if (uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0 &&
        uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
        return fd;
    return -1;
}

static void
on_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;
    struct loop *lp = c->lp;

    if (--c->open_handles > 0)
        return;
    loop_conn_unlink(lp, c);
    c->type->destroy(c);
    if (c->h != NULL)
        c->h->on_free(c);
    loop_maybe_finish_drain(lp);
    free(c);
}

static void
on_linger_timeout(uv_timer_t *t)
{
    struct conn *c = t->data;

    conn_close(c, CONN_ABORT);
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
    struct conn *c = req->data;

    free(req);
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (!c->linger || status < 0) {
        conn_close(c, CONN_ABORT);
        return;
    }
    /* The client may still be sending a body we did not read: keep reading
     * (and dropping) for a moment, so it sees our response, not a reset.
     * Dropped input needs no decryption, so one read callback serves both
     * transports; only the end of the input matters (on_eof closes). */
    c->discard = true;
    uv_timer_stop(&c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, on_linger_timeout, LINGER_MS, 0);
    if (!c->reading &&
        uv_read_start((uv_stream_t *)&c->tcp, conn_tcp_on_alloc, tcp_on_read) == 0)
        c->reading = true;
}

void
conn_tcp_close_with(struct conn *c, enum conn_close_how how,
                    void (*before_shutdown)(struct conn *c))
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (c->h != NULL)
        c->h->on_close(c);
    if (how != CONN_ABORT && !c->closing) {
        uv_shutdown_t *sh = xcalloc(1, sizeof(*sh));
        c->closing = true;
        c->linger = how == CONN_LINGER;
        sh->data = c;
        if (before_shutdown != NULL)
            before_shutdown(c);
        if (uv_shutdown(sh, (uv_stream_t *)&c->tcp, on_shutdown) == 0)
            return;
        free(sh);
    }
    c->closing = true;
    uv_timer_stop(&c->timer);
    uv_close((uv_handle_t *)&c->timer, on_handle_closed);
    uv_close((uv_handle_t *)&c->tcp, on_handle_closed);
}

static void
tcp_close(struct conn *c, enum conn_close_how how)
{
    conn_tcp_close_with(c, how, NULL);
}

static void
tcp_destroy(struct conn *c)
{
    (void)c;
}

static int
tcp_tls_version(const struct conn *c)
{
    (void)c;
    return 0;
}

const struct conn_type conn_tcp_type = {
    .name = "tcp",
    .is_tls = false,
    .read_start = tcp_read_start,
    .read_stop = conn_tcp_read_stop,
    .write = tcp_write,
    .try_write = tcp_try_write,
    .direct_fd = tcp_direct_fd,
    .close = tcp_close,
    .destroy = tcp_destroy,
    .tls_version = tcp_tls_version,
};

static void
peer_name(struct conn *c)
{
    struct sockaddr_storage ss;
    int len = sizeof(ss);
    char ip[48] = "?";
    int port = 0;

    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) != 0)
        return;
    if (ss.ss_family == AF_INET) {
        uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
        port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
        uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
        port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, port);
}

void
conn_start(struct loop *lp, struct tls_ctx *tls, uv_stream_t *server, int fd)
{
    struct conn *c;
    int rc;

    if (lp->draining) {
        if (fd >= 0)
            close(fd);
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->lp = lp;
    c->type = tls != NULL ? &conn_tls_type : &conn_tcp_type;
    uv_tcp_init(&lp->uv, &c->tcp);
    uv_timer_init(&lp->uv, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    c->next = lp->conns;
    if (lp->conns)
        lp->conns->prev = c;
    lp->conns = c;
    lp->n_conns++;
    rc = server != NULL ? uv_accept(server, (uv_stream_t *)&c->tcp) : uv_tcp_open(&c->tcp, fd);
    if (rc < 0) {
        if (server == NULL)
            close(fd);
        conn_close(c, CONN_ABORT);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    peer_name(c);
    if (tls != NULL)
        conn_tls_attach(c, tls);
    lp->ls->o.on_conn(c, lp->ls->o.arg);
}
