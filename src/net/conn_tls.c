/* conn_tls.c -- the TLS connection type (nginx ngx_event_openssl.c, Redis
 * tls.c): the TCP stream of conn_tcp.c with a tls_conn (net/tls.c, memory
 * BIOs) between it and the protocol. Received records are decrypted before
 * on_data; written plaintext leaves as records; handshake records go out
 * whenever reading produced some. No direct writes from other threads:
 * the session is the loop's. Loop thread only. */
#include "common.h"
#include "net/conn.h"
#include "net/net_int.h"
#include "net/tls.h"
#include "util/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>

void
conn_tls_attach(struct conn *c, struct tls_ctx *tls)
{
    c->impl = tls_conn_new(tls);
}

static void
tls_destroy(struct conn *c)
{
    tls_conn_free(c->impl);
    c->impl = NULL;
}

/* Sends the records the session has produced on its own (handshake,
 * alerts). */
static void
flush_records(struct conn *c)
{
    struct buf out;

    buf_init(&out, SIZE_MAX / 2);
    if (c->impl == NULL || tls_conn_take_out(c->impl, &out) == 0) {
        buf_free(&out);
        return;
    }
    conn_tcp_queue(c, out.p, out.n, 0, NULL, NULL);
}

static void
tls_on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    struct conn *c = st->data;

    if (nread < 0) {
        c->h->on_eof(c);
        return;
    }
    if (c->discard || c->closing)
        return;
    if (tls_conn_feed(c->impl, b->base, (size_t)nread) < 0) {
        conn_close(c, CONN_ABORT);
        return;
    }
    for (;;) {
        char plain[16384];
        int r = tls_conn_read(c->impl, plain, sizeof(plain));
        if (r > 0) {
            c->h->on_data(c, plain, (size_t)r);
            if (uv_is_closing((uv_handle_t *)&c->tcp))
                return;
            continue;
        }
        flush_records(c);
        if (r == -EPIPE)
            c->h->on_eof(c); /* close_notify */
        else if (r < 0)
            conn_close(c, CONN_ABORT);
        break;
    }
}

static void
tls_read_start(struct conn *c)
{
    conn_tcp_read_start_cb(c, tls_on_read);
}

static void
tls_write(struct conn *c, char *mem, size_t n, conn_write_cb cb, void *arg)
{
    struct buf out;

    if (tls_conn_write(c->impl, mem, n) < 0) {
        free(mem);
        if (cb != NULL)
            cb(arg, n, -EIO);
        conn_close(c, CONN_ABORT);
        return;
    }
    free(mem);
    buf_init(&out, SIZE_MAX / 2);
    tls_conn_take_out(c->impl, &out);
    conn_tcp_queue(c, out.p, out.n, n, cb, arg);
}

static size_t
tls_try_write(struct conn *c, const char *p, size_t n)
{
    (void)c;
    (void)p;
    (void)n;
    return 0;
}

static int
tls_direct_fd(struct conn *c)
{
    (void)c;
    return -1;
}

static void
tls_close(struct conn *c, enum conn_close_how how)
{
    conn_tcp_close_with(c, how, flush_records);
}

static int
tls_version(const struct conn *c)
{
    return c->impl != NULL ? tls_conn_version(c->impl) : 0;
}

const struct conn_type conn_tls_type = {
    .name = "tls",
    .is_tls = true,
    .read_start = tls_read_start,
    .read_stop = conn_tcp_read_stop,
    .write = tls_write,
    .try_write = tls_try_write,
    .direct_fd = tls_direct_fd,
    .close = tls_close,
    .destroy = tls_destroy,
    .tls_version = tls_version,
};
