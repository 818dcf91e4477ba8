/* conn.h -- one accepted stream connection, whatever its transport (Redis
 * connection.h): a table of operations (struct conn_type) with a plain TCP
 * implementation (conn_tcp.c) and a TLS one over OpenSSL memory BIOs
 * (conn_tls.c), so the protocol above never asks which it has.
 *
 * A connection belongs to one event loop thread (net/loop.h) for its whole
 * life, and every function here runs on that thread, except that the fd of
 * conn_direct_fd() may be written from another thread under the caller's
 * own exclusion (see its contract). The protocol above sees plaintext only:
 * it gets bytes through its struct conn_handler and writes plaintext; TLS
 * records, the handshake and close_notify stay in conn_tls.c. */
#ifndef COFFER_NET_CONN_H
#define COFFER_NET_CONN_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

struct conn;
struct loop;

/* How conn_close() ends a connection. */
enum conn_close_how {
    CONN_ABORT,    /* close the socket now; queued writes are dropped */
    CONN_GRACEFUL, /* send what is queued, shut down the write side, then close */
    CONN_LINGER,   /* as GRACEFUL, then read and drop input for a moment, so a
                    * client still sending a body sees our answer, not a reset */
};

/* Called when a write is done (status 0) or failed (< 0): n is the number
 * of plaintext bytes that were given to conn_write(). */
typedef void (*conn_write_cb)(void *arg, size_t n, int status);

/* What the protocol above provides, one table per protocol. Every callback
 * runs on the connection's loop thread. */
struct conn_handler {
    /* Plaintext received; the bytes are valid during the call only. */
    void (*on_data)(struct conn *c, const char *p, size_t n);
    /* The peer sent its last byte (TCP FIN, TLS close_notify) or the
     * socket failed: no more on_data. */
    void (*on_eof)(struct conn *c);
    /* The timer of conn_timer_start() fired. */
    void (*on_timeout)(struct conn *c);
    /* conn_close() started (called on every call while the socket is not
     * yet closed: must be idempotent). Writes are refused from here on. */
    void (*on_close)(struct conn *c);
    /* The server drains (loop_drain()): close c now if it is idle. */
    void (*on_drain)(struct conn *c);
    /* Last call: c is freed on return; free what data points to. */
    void (*on_free)(struct conn *c);
};

/* A transport. Operations that differ between TCP and TLS; the rest (the
 * timer, the peer name) is common and lives in conn_tcp.c. */
struct conn_type {
    const char *name; /* "tcp", "tls" */
    bool is_tls;
    /* Starts (again) delivering input to on_data; no-op when reading or
     * closing. */
    void (*read_start)(struct conn *c);
    void (*read_stop)(struct conn *c);
    /* Queues plaintext mem[0..n) for sending, taking ownership of mem
     * (freed with free()). cb (may be NULL) is called once, when written or
     * failed; a failure of the transport also closes c. */
    void (*write)(struct conn *c, char *mem, size_t n, conn_write_cb cb, void *arg);
    /* Sends what it can of p at once when nothing else is queued, without
     * queueing the rest: returns the bytes sent (0 when none could be, and
     * always 0 over TLS). Saves the loop a write completion per response. */
    size_t (*try_write)(struct conn *c, const char *p, size_t n);
    /* The socket's fd when plaintext may be written to it directly, i.e.
     * plain TCP with nothing queued; -1 otherwise. A caller on another
     * thread must learn of conn_close() (see on_close) before it returns,
     * under the same lock as its writes, so the fd is still c's. */
    int (*direct_fd)(struct conn *c);
    /* The TLS version as 12 or 13 (0: plain TCP, or no handshake yet). */
    int (*tls_version)(const struct conn *c);
    /* See enum conn_close_how. Calls on_close; on_free follows once the
     * handles are closed. */
    void (*close)(struct conn *c, enum conn_close_how how);
    /* Frees the transport's own state (c->impl) once the handles are
     * closed; called by net/ only. */
    void (*destroy)(struct conn *c);
};

/* The fields are the implementations'; the protocol above reads only the
 * ones marked so. */
struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    const struct conn_type *type;    /* read */
    const struct conn_handler *h;    /* set by the protocol's on_conn */
    void *data;                      /* the protocol's; set by its on_conn */
    struct loop *lp;                 /* read: the owning loop */
    void *impl;                      /* the transport's own state (TLS session) */
    bool closing;                    /* read: conn_close() was called */
    bool discard;                    /* read: input is dropped (conn_discard_input()) */
    bool reading;
    bool linger;                     /* CONN_LINGER: read on after the shutdown */
    int open_handles;
    char peer[64]; /* read: "ip:port" */
    struct conn *prev, *next;        /* the loop's list */
};

static inline void
conn_read_start(struct conn *c)
{
    c->type->read_start(c);
}

static inline void
conn_read_stop(struct conn *c)
{
    c->type->read_stop(c);
}

static inline void
conn_write(struct conn *c, char *mem, size_t n, conn_write_cb cb, void *arg)
{
    c->type->write(c, mem, n, cb, arg);
}

static inline size_t
conn_try_write(struct conn *c, const char *p, size_t n)
{
    return c->type->try_write(c, p, n);
}

static inline int
conn_direct_fd(struct conn *c)
{
    return c->type->direct_fd(c);
}

static inline void
conn_close(struct conn *c, enum conn_close_how how)
{
    c->type->close(c, how);
}

static inline int
conn_tls_version(const struct conn *c)
{
    return c->type->tls_version(c);
}

static inline bool
conn_is_tls(const struct conn *c)
{
    return c->type->is_tls;
}

/* True once the socket handle is being closed (after CONN_ABORT, or at the
 * end of a graceful close): nothing more can be sent or received. */
bool conn_is_closed(const struct conn *c);
/* From now on input is read and dropped, not delivered. */
void conn_discard_input(struct conn *c);
/* (Re)arms c's one timer: on_timeout after ms. */
void conn_timer_start(struct conn *c, int ms);
void conn_timer_stop(struct conn *c);

#endif
