/* loop.h -- the event loop threads, listeners, accept and drain.
 *
 * One libuv loop per thread (by default one per CPU). Loop 0 runs on the
 * thread that calls loops_run(): it owns the listeners and the signals,
 * accepts every connection and deals each to a loop, which keeps it for its
 * whole life (struct conn, net/conn.h). Other threads talk to a loop only
 * through loop_post(). SIGTERM/SIGINT drain: listeners close at once, every
 * connection is asked whether it is idle (conn_handler.on_drain), and the
 * loops stop when their last connection is gone or the drain timeout
 * passes. Knows nothing of the protocol spoken on the connections. */
#ifndef COFFER_NET_LOOP_H
#define COFFER_NET_LOOP_H

#include <stdbool.h>

#define LOOP_MAX 16

struct conn;
struct loop;
struct loops;
struct tls_ctx;

/* A message to a loop thread. fn runs there, once, and owns e (a protocol
 * embeds this as the first member of its own event). */
struct loop_event {
    struct loop_event *next;
    void (*fn)(struct loop *lp, struct loop_event *e);
};

struct loops_opts {
    int n_loops;          /* default: one per CPU, at most LOOP_MAX */
    int drain_timeout_ms; /* default 300 s */
    /* A new connection on c->lp's thread: sets c->h and c->data, and starts
     * reading (or closes c). */
    void (*on_conn)(struct conn *c, void *arg);
    /* Once per loop iteration, after I/O (may be NULL): batching work such
     * as access-log writes. */
    void (*on_tick)(struct loop *lp, void *arg);
    void *arg;
    bool no_signals; /* leave the signals alone: loops_stop() drains */
};

/* Creates the loops (threads start in loops_run()). Caller owns it. */
struct loops *loops_new(const struct loops_opts *o);
/* The number of loops, after defaults. */
int loops_count(const struct loops *ls);
/* Adds a listener on loop 0; tls NULL for plain TCP. 0 or -errno. */
int loops_listen(struct loops *ls, const char *host, int port, struct tls_ctx *tls);
/* Serves the connected stream socket fd as if accepted on a listener with
 * tls (NULL: plain). Any thread; the loops own fd from here on. 0, or
 * -ESHUTDOWN once draining (fd is then still the caller's). */
int loops_adopt(struct loops *ls, int fd, struct tls_ctx *tls);
/* Runs the loops until a drain completes. Returns 0. */
int loops_run(struct loops *ls);
/* Runs what is still posted (events may hold references of the protocol's),
 * closes every handle and frees. NULL ok. */
void loops_free(struct loops *ls);
/* True once a drain has started. Any thread. */
bool loops_draining(const struct loops *ls);
/* Starts a drain, as SIGTERM does. Any thread. */
void loops_stop(struct loops *ls);

/* Queues e for lp's thread and wakes it. Any thread. */
void loop_post(struct loop *lp, struct loop_event *e);
/* lp's position, 0 .. loops_count() - 1. */
int loop_index(const struct loop *lp);
/* True once lp drains. lp's thread. */
bool loop_draining(const struct loop *lp);

#endif
