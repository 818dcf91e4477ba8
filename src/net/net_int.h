/* net_int.h -- what loop.c, conn_tcp.c and conn_tls.c share; never included
 * from outside src/net/ (SQLite btreeInt.h, curl vtls_int.h). */
#ifndef COFFER_NET_NET_INT_H
#define COFFER_NET_NET_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <uv.h>

#include "net/conn.h"
#include "net/loop.h"

#define NET_RBUF_SIZE (64 * 1024)

struct tls_ctx;
struct listener;

/* An event loop thread: it owns the connections dealt to it, for their
 * whole life. Loop 0 runs on the thread that calls loops_run(); it also
 * owns the listeners (see loop.c) and the signals. */
struct loop {
    uv_loop_t uv;
    struct loops *ls;
    int index;
    pthread_t th;
    struct listener *listeners;
    struct conn *conns;
    size_t n_conns;
    uv_async_t async; /* posted events, and the drain request */
    uv_timer_t drain_timer;
    bool draining;

    pthread_mutex_t ev_mu;
    struct loop_event *ev_head, *ev_tail;

    char *rbuf;     /* the loop's one read buffer: read callbacks consume it at once */
    uv_check_t tick; /* once per loop iteration: loops_opts.on_tick */
};

struct loops {
    struct loops_opts o;
    struct loop *loops;
    int n_loops;
    unsigned next_loop; /* loop 0 only: where the next connection goes */
    uv_signal_t sigterm, sigint, sighup; /* on loop 0 */
    atomic_int draining_flag;
};

extern const struct conn_type conn_tcp_type;
extern const struct conn_type conn_tls_type;

/* Sets up a connection on lp: accepted from server (a listener of lp), or
 * else the socket fd another loop accepted (the connection owns fd from
 * here on). tls NULL: plain TCP. Hands it to loops_opts.on_conn. */
void conn_start(struct loop *lp, struct tls_ctx *tls, uv_stream_t *server, int fd);

/* conn_tcp.c, for conn_tls.c: the uv stream underneath both transports. */
void conn_tcp_read_start_cb(struct conn *c, uv_read_cb cb);
void conn_tcp_read_stop(struct conn *c);
/* Writes mem[0..n) (bytes on the wire) as they are; plain_n goes to cb. */
void conn_tcp_queue(struct conn *c, char *mem, size_t n, size_t plain_n, conn_write_cb cb,
                    void *arg);
/* The close of both transports; before_shutdown (may be NULL) runs once a
 * graceful close has begun, just before the write side is shut down. */
void conn_tcp_close_with(struct conn *c, enum conn_close_how how,
                         void (*before_shutdown)(struct conn *c));
void conn_tcp_on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);

/* conn_tls.c: gives a new connection its TLS session. */
void conn_tls_attach(struct conn *c, struct tls_ctx *tls);

/* loop.c: c's handles are closed; unlinks it from its loop. */
void loop_conn_unlink(struct loop *lp, struct conn *c);
/* Stops a draining loop once its last connection is gone. */
void loop_maybe_finish_drain(struct loop *lp);

#endif
