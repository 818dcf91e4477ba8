/* http_server.c -- the loop threads (sockets, TLS, llhttp) and the worker
 * threads (handlers). See http_server.h for the model.
 *
 * Ownership: a struct conn belongs to one loop thread. A struct rq (one
 * request) is shared: the loop appends body bytes and the worker consumes
 * them under rq->mu; the worker sends output and "done" to rq's loop through
 * that loop's event queue and uv_async. rq is reference-counted, and every
 * refcount change happens on its loop thread. */
#include "common.h"
#include "bounds.h"
#include "http/http_server.h"
#include "net/tls.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/tm.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <llhttp.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#define BODY_HIGH_WATER (1024 * 1024) /* stop reading the socket above this */
#define BODY_LOW_WATER (256 * 1024)   /* resume below this */
#define BODY_COMPACT_MIN (64 * 1024)
#define OUT_HIGH_WATER (4 * 1024 * 1024)
#define OUT_FLUSH_BYTES (64 * 1024)
#define PENDING_MAX (1024 * 1024) /* pipelined bytes parked while busy */
#define LINGER_MS 2000
#define RBUF_SIZE (64 * 1024)

struct conn;

struct rq {
    struct http_req pub;
    struct conn *c;    /* loop only; NULL once the connection is gone */
    int refs;          /* loop only */
    struct http_server *s;
    struct evloop *lp; /* the loop of c, which gets rq's events */

    /* Header accumulation (loop only). */
    struct buf hraw;
    uint32_t url_len;
    uint32_t hoff[HTTP_MAX_HEADERS][4];
    size_t n_hoff;
    int hstate; /* 0 none, 1 in field, 2 in value */
    bool value_cut; /* the last value span ended with llhttp_execute()'s input */
    bool headers_done, dispatched, message_done;
    const char *bad_code, *bad_msg; /* why a callback failed the parse: the 400 to send */
    bool loop_ready; /* complete and body-less: offer it to the handler on the loop */

    /* Shared with the worker, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct buf body;
    size_t body_off;
    bool body_complete, conn_dead, body_error, read_paused, want_close, worker_done;
    size_t out_pending;

    int fd; /* plain TCP socket for write_direct(), or -1 (TLS); set by dispatch() */

    /* Worker only. */
    struct buf wbuf;
    bool resp_started, continue_sent, resp_close;
    struct buf rhdr;
    int status;
    uint64_t bytes_in, bytes_out;
};

struct conn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    struct http_server *s;
    struct evloop *lp;
    struct tls_conn *tls;
    llhttp_t parser;
    struct rq *rq;
    struct buf pending;
    bool paused, closing, discard, reading, read_stopped_pending, peer_eof, linger;
    bool running; /* run_on_loop() is on the stack for this connection */
    const char *exec_end; /* end of the bytes llhttp_execute() is parsing */
    int open_handles;
    char peer[64];
    struct conn *prev, *next;
};

struct listener {
    uv_tcp_t tcp;
    struct http_server *s;
    struct evloop *lp;
    struct tls_ctx *tls;
    struct listener *next;
};

enum ev_type { EV_OUT, EV_RESUME, EV_DONE, EV_CONN };

/* EV_DONE carries the response's last bytes (often all of it) and the
 * request's access-log line, so a small request costs the loop one event.
 * EV_CONN hands a connection loop 0 accepted to another loop. */
struct event {
    struct event *next;
    enum ev_type type;
    struct rq *rq;
    int fd;               /* EV_CONN */
    struct tls_ctx *tls;  /* EV_CONN */
    struct buf data; /* EV_OUT and EV_DONE payload */
    int log_n;
    char log[]; /* EV_DONE: the access-log line (log_n bytes) */
};

/* A worker thread. Idle workers wait on their own semaphore, so a wake-up
 * wakes exactly one thread and nobody queues on a shared mutex to get out
 * of a condition wait.
 *
 * The pool: n_workers threads always run; while every one is busy and
 * requests wait (slow uploads can hold workers for minutes), more start,
 * up to max_workers, and such extra workers exit after WORKER_IDLE_EXIT_S
 * without work. A slot's thread is joined before the slot is used again,
 * and every thread is joined at the end: none outlives the server. */
#define WORKER_IDLE_EXIT_S 30

enum worker_state { W_FREE, W_RUNNING, W_EXITED };

struct worker {
    struct http_server *s;
    pthread_t th;
    sem_t sem;
    struct worker *next_idle;
    enum worker_state state; /* under q_mu */
    bool on_idle;            /* on the idle stack; under q_mu */
    bool extra;              /* started on demand: may exit when idle */
};

struct write_req {
    uv_write_t w;
    struct rq *rq; /* for out_pending accounting; holds a ref */
    size_t plain_n;
    char *mem;
};

/* An event loop thread: it owns the connections dealt to it, for their
 * whole life. Loop 0 runs on the thread that calls http_server_run(); it
 * also owns the listeners (see on_connection()) and the signals. */
struct evloop {
    uv_loop_t uv;
    struct http_server *s;
    pthread_t th;
    struct listener *listeners;
    struct conn *conns;
    size_t n_conns;
    uv_async_t async; /* worker events, and the drain request */
    uv_timer_t drain_timer;
    bool draining;

    pthread_mutex_t ev_mu;
    struct event *ev_head, *ev_tail;

    char *rbuf;        /* the loop's one read buffer: on_read consumes it at once */
    struct buf logbuf; /* access-log lines of one loop iteration */
    uv_check_t log_check;
};

struct http_server {
    struct http_server_opts o;
    struct evloop *loops;
    int n_loops;
    unsigned next_loop; /* loop 0 only: where the next connection goes */
    uv_signal_t sigterm, sigint; /* on loop 0 */
    atomic_int draining_flag;
    llhttp_settings_t settings;

    /* Dispatched requests wait in queue for a worker (see next_request()).
     * The idle stack is LIFO: the most recently active (cache-warm) worker
     * goes first, and under light load only a few threads ever run. */
    pthread_mutex_t q_mu;
    struct rq **queue;
    size_t q_head, q_n, q_cap;
    bool stopping;
    struct worker *workers; /* max_workers slots */
    struct worker *idle;
    int n_waking;  /* woken or started, and not yet back at the queue */
    int n_running; /* slots in W_RUNNING */

    atomic_uint_fast64_t req_counter;
    uint64_t req_base;
};

static void conn_close(struct conn *c, bool graceful);
static void process_plain(struct conn *c, const char *p, size_t n);
static void conn_arm_timer(struct conn *c, int ms);
static void request_finished(struct conn *c, struct rq *rq);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b);
static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b);

/* ---- worker queue ------------------------------------------------------ */

/* Queues e for lp's thread and wakes it. Any thread. */
static void
ev_push(struct evloop *lp, struct event *e)
{
    pthread_mutex_lock(&lp->ev_mu);
    if (lp->ev_tail)
        lp->ev_tail->next = e;
    else
        lp->ev_head = e;
    lp->ev_tail = e;
    pthread_mutex_unlock(&lp->ev_mu);
    uv_async_send(&lp->async);
}

static void
post_event_log(struct evloop *lp, enum ev_type type, struct rq *rq, struct buf *data,
               const char *log, int log_n)
{
    struct event *e = xcalloc(1, sizeof(*e) + (size_t)log_n);

    e->type = type;
    e->rq = rq;
    if (data != NULL) {
        e->data = *data;
        buf_init(data, data->max);
    }
    if (log_n > 0)
        memcpy(e->log, log, (size_t)log_n);
    e->log_n = log_n;
    ev_push(lp, e);
}

static void
post_event(struct evloop *lp, enum ev_type type, struct rq *rq, struct buf *data)
{
    post_event_log(lp, type, rq, data, NULL, 0);
}

static void
rq_unref(struct rq *rq)
{
    ASSERT(rq->refs > 0);
    if (--rq->refs > 0)
        return;
    buf_free(&rq->hraw);
    buf_free(&rq->body);
    buf_free(&rq->wbuf);
    buf_free(&rq->rhdr);
    arena_free(rq->pub.arena);
    pthread_mutex_destroy(&rq->mu);
    pthread_cond_destroy(&rq->cv);
    free(rq);
}

static struct rq *
rq_new(struct conn *c)
{
    struct http_server *s = c->s;
    struct rq *rq = xcalloc(1, sizeof(*rq));
    uint64_t id = s->req_base + atomic_fetch_add(&s->req_counter, 1);

    rq->c = c;
    rq->s = s;
    rq->lp = c->lp;
    rq->refs = 1;
    buf_init(&rq->hraw, HTTP_MAX_HEADER_BYTES);
    buf_init(&rq->body, SIZE_MAX / 2);
    buf_init(&rq->wbuf, SIZE_MAX / 2);
    buf_init(&rq->rhdr, HTTP_MAX_HEADER_BYTES);
    pthread_mutex_init(&rq->mu, NULL);
    pthread_cond_init(&rq->cv, NULL);
    rq->pub.arena = arena_new();
    rq->pub.srv_ctx = s->o.ctx;
    rq->pub.content_length = -1;
    rq->pub.is_tls = c->tls != NULL;
    rq->pub.start_ms = tm_now_ms();
    snprintf(rq->pub.request_id, sizeof(rq->pub.request_id), "%016" PRIX64, id);
    memcpy(rq->pub.peer, c->peer, sizeof(c->peer));
    return rq;
}

/* Pops an idle worker to wake, if work is queued and no woken worker is
 * already on its way to the queue. Called with q_mu held. */
static struct worker *
worker_to_wake(struct http_server *s)
{
    struct worker *w = s->idle;

    if (s->q_n == 0 || s->n_waking > 0 || w == NULL)
        return NULL;
    s->idle = w->next_idle;
    w->on_idle = false;
    s->n_waking++;
    return w;
}

/* Reserves a slot for an extra worker when requests wait, every worker is
 * busy and none is on its way. *join: the slot's previous thread has exited
 * but is not joined yet. Called with q_mu held; start_worker() follows. */
static struct worker *
worker_to_start(struct http_server *s, bool *join)
{
    if (s->q_n == 0 || s->n_waking > 0 || s->idle != NULL || s->stopping ||
        s->n_running >= s->o.max_workers)
        return NULL;
    for (int i = 0; i < s->o.max_workers; i++) {
        struct worker *w = &s->workers[i];
        if (w->state != W_RUNNING) {
            *join = w->state == W_EXITED;
            w->state = W_RUNNING;
            w->extra = true; /* the always-running slots never leave W_RUNNING */
            s->n_running++;
            s->n_waking++;
            return w;
        }
    }
    return NULL;
}

static void *worker_main(void *arg);

static void
start_worker(struct worker *w, bool join)
{
    struct http_server *s = w->s;
    int rc;

    if (join)
        pthread_join(w->th, NULL);
    rc = pthread_create(&w->th, NULL, worker_main, w);
    if (rc == 0)
        return;
    log_warn("cannot start a worker thread: %s", strerror(rc));
    pthread_mutex_lock(&s->q_mu);
    w->state = W_FREE;
    s->n_running--;
    s->n_waking--;
    pthread_mutex_unlock(&s->q_mu);
}

static void
dispatch(struct conn *c)
{
    struct http_server *s = c->s;
    struct rq *rq = c->rq;
    struct worker *w, *st = NULL;
    bool join = false;

    rq->dispatched = true;
    rq->refs++; /* the worker's reference, dropped on EV_DONE */
    rq->fd = -1;
    /* Direct writes only once the previous response has left the loop's
     * write queue: rq's bytes must follow it on the wire. */
    if (c->tls == NULL && uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
        uv_os_fd_t fd;
        if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
            rq->fd = fd;
    }
    uv_timer_stop(&c->timer);
    pthread_mutex_lock(&s->q_mu);
    if (s->q_n == s->q_cap) {
        size_t cap = s->q_cap ? s->q_cap * 2 : 64;
        struct rq **q = xmalloc(cap * sizeof(*q));
        for (size_t i = 0; i < s->q_n; i++)
            q[i] = s->queue[(s->q_head + i) % s->q_cap];
        free(s->queue);
        s->queue = q;
        s->q_head = 0;
        s->q_cap = cap;
    }
    s->queue[(s->q_head + s->q_n) % s->q_cap] = rq;
    s->q_n++;
    w = worker_to_wake(s);
    if (w == NULL)
        st = worker_to_start(s, &join);
    pthread_mutex_unlock(&s->q_mu);
    if (w != NULL)
        sem_post(&w->sem);
    if (st != NULL)
        start_worker(st, join);
}

/* ---- response side (worker) -------------------------------------------- */

/* Writes what it can of wbuf straight to the socket and drops it from
 * wbuf, when nothing written earlier is still queued at the loop (so bytes
 * stay in order) and the connection is plain TCP; the caller hands the rest
 * to the loop. The loop thread is the server's serial bottleneck: a small
 * response is then sent without it, and a large one mostly so.
 * Called with rq->mu held: the loop marks rq's connection dead under that
 * mutex before it closes the socket, so fd is still this connection's. */
static void
write_direct(struct rq *rq)
{
    ssize_t k;

    if (rq->fd < 0 || rq->out_pending > 0)
        return;
    do
        k = write(rq->fd, rq->wbuf.p, rq->wbuf.n);
    while (k < 0 && errno == EINTR);
    if (k > 0) {
        buf_consume(&rq->wbuf, (size_t)k);
    } else if (k < 0 && (errno == EPIPE || errno == ECONNRESET)) {
        /* The peer is gone: let the handler stop (its writes now fail with
         * -EPIPE) and have the loop close the connection when it is done. */
        rq->conn_dead = true;
        rq->want_close = true;
    }
}

static int
flush_wbuf(struct rq *rq)
{
    int rc = 0;

    if (rq->wbuf.n == 0 || rq->pub.on_loop) /* on the loop: sent whole at the end */
        return 0;
    pthread_mutex_lock(&rq->mu);
    if (rq->conn_dead) {
        rc = -EPIPE;
    } else {
        write_direct(rq);
        if (rq->wbuf.n > 0) {
            rq->out_pending += rq->wbuf.n;
            post_event(rq->lp, EV_OUT, rq, &rq->wbuf);
        }
        while (rq->out_pending > OUT_HIGH_WATER && !rq->conn_dead) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += HTTP_BODY_STALL_MS / 1000;
            if (pthread_cond_timedwait(&rq->cv, &rq->mu, &ts) == ETIMEDOUT) {
                rc = -ETIMEDOUT;
                rq->want_close = true;
                break;
            }
        }
        if (rq->conn_dead)
            rc = -EPIPE;
    }
    pthread_mutex_unlock(&rq->mu);
    buf_reset(&rq->wbuf);
    return rc;
}

static const char *
reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Payload Too Large";
    case 416: return "Requested Range Not Satisfiable";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    default: return "Unknown";
    }
}

struct str
http_header(const struct http_req *r, const char *name)
{
    for (size_t i = 0; i < r->n_hdrs; i++)
        if (str_ieq_c(r->hdrs[i].name, name))
            return r->hdrs[i].value;
    return STR_NULL;
}

void
http_resp_header(struct http_req *r, const char *name, struct str value)
{
    struct rq *rq = (struct rq *)r;

    ASSERT(!rq->resp_started);
    /* Header values never carry CR or LF: they would split the response. */
    for (size_t i = 0; i < value.n; i++)
        if (value.p[i] == '\r' || value.p[i] == '\n')
            return;
    (void)buf_printf(&rq->rhdr, "%s: %.*s\r\n", name, STR_FMT(value));
}

void
http_resp_header_c(struct http_req *r, const char *name, const char *value)
{
    http_resp_header(r, name, str_c(value));
}

void
http_resp_close(struct http_req *r)
{
    ((struct rq *)r)->resp_close = true;
}

bool
http_resp_started(const struct http_req *r)
{
    return ((const struct rq *)r)->resp_started;
}

/* The Date header changes once a second: format it once per thread and
 * second, not per response. */
static void
http_date_now(char out[32])
{
    static _Thread_local int64_t sec = -1;
    static _Thread_local char cached[32];
    int64_t now = tm_now_ms() / 1000;

    if (now != sec) {
        tm_http_date(now * 1000, cached);
        sec = now;
    }
    memcpy(out, cached, sizeof(cached));
}

/* Grows b to hold cap bytes at once, so a small response is built without
 * a chain of doubling reallocs. */
static void
buf_reserve(struct buf *b, size_t cap)
{
    if (cap <= b->cap || cap > b->max)
        return;
    b->p = xrealloc(b->p, cap);
    if (b->cap == 0)
        b->p[0] = '\0';
    b->cap = cap;
}

/* Appends v >= 0 in decimal. */
static void
append_dec(struct buf *b, int64_t v)
{
    char d[24];
    int i = (int)sizeof(d);

    do
        d[--i] = (char)('0' + v % 10);
    while ((v /= 10) > 0);
    (void)buf_append(b, d + i, sizeof(d) - (size_t)i);
}

int
http_resp_begin(struct http_req *r, int status, int64_t content_length)
{
    struct rq *rq = (struct rq *)r;
    char date[32];
    bool close;
    size_t body_hint = 0;

    ASSERT(!rq->resp_started);
    rq->resp_started = true;
    rq->status = status;
    pthread_mutex_lock(&rq->mu);
    /* A body the handler did not consume cannot be skipped safely on a
     * persistent connection: close after this response. */
    close = rq->resp_close || !rq->body_complete || rq->want_close ||
            atomic_load(&rq->s->draining_flag);
    /* A final answer to an Expect: 100-continue request that never got its
     * 100 leaves the client unsure whether to send the body: close. */
    if (r->expect_continue && !rq->continue_sent)
        close = true;
    if (close)
        rq->want_close = true;
    pthread_mutex_unlock(&rq->mu);
    http_date_now(date);
    if (content_length > 0 && !r->is_head)
        body_hint = content_length < OUT_FLUSH_BYTES ? (size_t)content_length : OUT_FLUSH_BYTES;
    buf_reserve(&rq->wbuf, rq->wbuf.n + rq->rhdr.n + 256 + body_hint);
    /* Appends, not printf: this runs for every response. */
    (void)buf_append_c(&rq->wbuf, "HTTP/1.1 ");
    append_dec(&rq->wbuf, status);
    (void)buf_append_c(&rq->wbuf, " ");
    (void)buf_append_c(&rq->wbuf, reason(status));
    (void)buf_append_c(&rq->wbuf, "\r\n");
    (void)buf_append(&rq->wbuf, rq->rhdr.p ? rq->rhdr.p : "", rq->rhdr.n);
    if (content_length >= 0) {
        (void)buf_append_c(&rq->wbuf, "Content-Length: ");
        append_dec(&rq->wbuf, content_length);
        (void)buf_append_c(&rq->wbuf, "\r\n");
    }
    (void)buf_append_c(&rq->wbuf, "x-amz-request-id: ");
    (void)buf_append_c(&rq->wbuf, r->request_id);
    (void)buf_append_c(&rq->wbuf, "\r\nDate: ");
    (void)buf_append_c(&rq->wbuf, date);
    (void)buf_append_c(&rq->wbuf, "\r\nServer: Coffer\r\nConnection: ");
    (void)buf_append_c(&rq->wbuf, close ? "close\r\n\r\n" : "keep-alive\r\n\r\n");
    if (rq->wbuf.n >= OUT_FLUSH_BYTES)
        return flush_wbuf(rq);
    return 0;
}

int
http_resp_write(struct http_req *r, const void *p, size_t n)
{
    struct rq *rq = (struct rq *)r;
    int rc;

    ASSERT(rq->resp_started);
    if (r->is_head || n == 0)
        return 0;
    rq->bytes_out += n;
    if (rq->wbuf.n + n < OUT_FLUSH_BYTES)
        return buf_append(&rq->wbuf, p, n);
    rc = flush_wbuf(rq);
    if (rc < 0)
        return rc;
    if (n >= OUT_FLUSH_BYTES) {
        (void)buf_append(&rq->wbuf, p, n);
        return flush_wbuf(rq);
    }
    return buf_append(&rq->wbuf, p, n);
}

/* ---- body side (worker) ------------------------------------------------ */

ssize_t
http_body_read(struct http_req *r, void *p, size_t n)
{
    struct rq *rq = (struct rq *)r;
    ssize_t got = 0;

    pthread_mutex_lock(&rq->mu);
    /* The handler wants the body: answer "100 Continue" now, even when the
     * body already arrived (or is empty). Clients such as botocore expect
     * the interim response on a kept-alive connection whenever they asked
     * for it and the server reads on. */
    if (r->expect_continue && !rq->continue_sent) {
        struct buf b;
        rq->continue_sent = true;
        buf_init(&b, 64);
        (void)buf_append_c(&b, "HTTP/1.1 100 Continue\r\n\r\n");
        rq->out_pending += b.n;
        post_event(rq->lp, EV_OUT, rq, &b);
    }
    for (;;) {
        size_t avail = rq->body.n - rq->body_off;
        if (avail > 0) {
            size_t k = avail < n ? avail : n;
            memcpy(p, rq->body.p + rq->body_off, k);
            rq->body_off += k;
            if (rq->body_off == rq->body.n) {
                buf_reset(&rq->body);
                rq->body_off = 0;
            } else if (rq->body_off >= BODY_COMPACT_MIN &&
                       rq->body_off >= rq->body.n - rq->body_off) {
                /* A streaming body is rarely drained to exactly zero while
                 * the loop keeps appending: without this the buffer would
                 * grow (and be realloc-copied) up to the body's size. The
                 * bytes moved are fewer than the bytes consumed. */
                buf_consume(&rq->body, rq->body_off);
                rq->body_off = 0;
            }
            if (rq->read_paused && rq->body.n - rq->body_off < BODY_LOW_WATER) {
                rq->read_paused = false;
                post_event(rq->lp, EV_RESUME, rq, NULL);
            }
            rq->bytes_in += k;
            got = (ssize_t)k;
            break;
        }
        if (rq->body_complete)
            break;
        if (rq->body_error) {
            got = -EPROTO;
            break;
        }
        if (rq->conn_dead) {
            got = -EPIPE;
            break;
        }
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += HTTP_BODY_STALL_MS / 1000;
        if (pthread_cond_timedwait(&rq->cv, &rq->mu, &ts) == ETIMEDOUT) {
            got = -ETIMEDOUT;
            rq->want_close = true;
            break;
        }
    }
    pthread_mutex_unlock(&rq->mu);
    return got;
}

bool
http_body_done(const struct http_req *r)
{
    struct rq *rq = (struct rq *)r;
    bool done;

    pthread_mutex_lock(&rq->mu);
    done = rq->body_complete && rq->body.n == rq->body_off;
    pthread_mutex_unlock(&rq->mu);
    return done;
}

/* Formats rq's access-log line into line (1024 bytes); returns its length.
 * The loop writes the lines of one on_async pass with one log_access(). */
static int
access_log_line(struct rq *rq, char *line)
{
    struct http_req *r = &rq->pub;
    char ts[32];
    int n;

    tm_iso8601(r->start_ms, ts);
    /* The query string is never logged: presigned URLs carry credentials. */
    n = snprintf(line, 1024,
                 "{\"time\":\"%s\",\"remote\":\"%s\",\"tls\":%s,\"method\":\"%.*s\","
                 "\"path\":\"%.*s\",\"status\":%d,\"in\":%" PRIu64 ",\"out\":%" PRIu64
                 ",\"ms\":%" PRId64 ",\"request_id\":\"%s\"}",
                 ts, r->peer, r->is_tls ? "true" : "false", STR_FMT(r->method),
                 (int)(r->path.n > 512 ? 512 : r->path.n), r->path.p ? r->path.p : "",
                 rq->status, rq->bytes_in, rq->bytes_out, tm_now_ms() - r->start_ms,
                 r->request_id);
    if (n < 0)
        return 0;
    if (n >= 1024)
        n = 1023;
    /* Paths may hold quotes or control bytes; keep the line one JSON-ish line. */
    for (int i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20)
            line[i] = '?';
    return n;
}

/* Queues an access-log line; log_check writes the lines of one loop
 * iteration with one log_access(). Loop thread. */
static void
log_line(struct evloop *lp, const char *line, int n)
{
    if (n <= 0)
        return;
    if (lp->logbuf.n > 0)
        (void)buf_append(&lp->logbuf, "\n", 1);
    (void)buf_append(&lp->logbuf, line, (size_t)n);
}

static void
flush_log(struct evloop *lp)
{
    if (lp->logbuf.n > 0) {
        log_access(lp->logbuf.p, (int)lp->logbuf.n);
        buf_reset(&lp->logbuf);
    }
}

static void
on_log_check(uv_check_t *h)
{
    flush_log(h->data);
}

/* Waits for w's wake-up: 0. An extra worker idle for WORKER_IDLE_EXIT_S
 * that nobody is about to wake leaves the pool instead: -1. */
static int
worker_idle_wait(struct worker *w)
{
    struct http_server *s = w->s;
    struct timespec ts;

    if (w->extra) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += WORKER_IDLE_EXIT_S;
        while (sem_timedwait(&w->sem, &ts) < 0) {
            if (errno != ETIMEDOUT)
                continue;
            pthread_mutex_lock(&s->q_mu);
            if (w->on_idle && !s->stopping) {
                struct worker **pp = &s->idle;
                while (*pp != w)
                    pp = &(*pp)->next_idle;
                *pp = w->next_idle;
                w->on_idle = false;
                w->state = W_EXITED;
                s->n_running--;
                pthread_mutex_unlock(&s->q_mu);
                return -1;
            }
            pthread_mutex_unlock(&s->q_mu);
            /* Popped meanwhile: its sem_post() is on the way. */
            while (sem_wait(&w->sem) < 0 && errno == EINTR)
                ;
            return 0;
        }
        return 0;
    }
    while (sem_wait(&w->sem) < 0 && errno == EINTR)
        ;
    return 0;
}

/* Takes the next queued request, or parks w on the idle stack until woken.
 * NULL when the server stops, or when an idle extra worker retires.
 *
 * Wake-ups cascade: dispatch() wakes one idle worker only when no woken
 * worker is already heading for the queue, and that worker, once it has
 * its request, wakes the next one if more are queued. So the loop thread
 * (the server's serial bottleneck) makes at most one futex wake per batch
 * of requests instead of one per request, and the rest happens on the
 * workers, in parallel. */
static struct rq *
next_request(struct worker *w, bool woken)
{
    struct http_server *s = w->s;

    for (;;) {
        struct rq *rq = NULL;
        struct worker *next = NULL, *st = NULL;
        bool stop, join = false;

        pthread_mutex_lock(&s->q_mu);
        if (woken)
            s->n_waking--;
        stop = s->stopping;
        if (s->q_n > 0) {
            rq = s->queue[s->q_head];
            s->q_head = (s->q_head + 1) % s->q_cap;
            s->q_n--;
            next = worker_to_wake(s);
            if (next == NULL)
                st = worker_to_start(s, &join);
        } else if (!stop) {
            w->next_idle = s->idle;
            s->idle = w;
            w->on_idle = true;
        }
        pthread_mutex_unlock(&s->q_mu);
        if (next != NULL)
            sem_post(&next->sem);
        if (st != NULL)
            start_worker(st, join);
        if (rq != NULL || stop)
            return rq;
        if (worker_idle_wait(w) < 0)
            return NULL;
        woken = true;
    }
}

static void *
worker_main(void *arg)
{
    struct worker *w = arg;
    struct http_server *s = w->s;
    struct rq *rq;
    char line[1024];

    /* An extra worker was counted in n_waking when it was started. */
    for (bool woken = w->extra; (rq = next_request(w, woken)) != NULL; woken = false) {
        int n;

        s->o.handler(&rq->pub);
        if (!rq->resp_started) {
            log_error("handler for %.*s returned without a response", STR_FMT(rq->pub.path));
            http_resp_close(&rq->pub);
            http_resp_begin(&rq->pub, 500, 0);
        }
        n = access_log_line(rq, line);

        /* The last output and "done" travel in one event. The loop may free
         * rq as soon as it is posted. */
        pthread_mutex_lock(&rq->mu);
        if (!rq->conn_dead && rq->wbuf.n > 0)
            write_direct(rq);
        if (rq->conn_dead || rq->wbuf.n == 0) {
            pthread_mutex_unlock(&rq->mu);
            buf_reset(&rq->wbuf);
            post_event_log(rq->lp, EV_DONE, rq, NULL, line, n);
        } else {
            rq->out_pending += rq->wbuf.n;
            pthread_mutex_unlock(&rq->mu);
            post_event_log(rq->lp, EV_DONE, rq, &rq->wbuf, line, n);
        }
    }
    return NULL;
}

/* ---- loop side: writing ------------------------------------------------ */

static void
on_written(uv_write_t *w, int status)
{
    struct write_req *wr = (struct write_req *)w;
    struct rq *rq = wr->rq;

    (void)status;
    if (rq != NULL) {
        pthread_mutex_lock(&rq->mu);
        rq->out_pending -= wr->plain_n;
        pthread_cond_broadcast(&rq->cv);
        pthread_mutex_unlock(&rq->mu);
        rq_unref(rq);
    }
    free(wr->mem);
    free(wr);
}

/* Sends plaintext p (taking ownership of mem, which holds it) on c. */
static void
conn_send(struct conn *c, struct rq *rq, char *mem, size_t n)
{
    struct write_req *wr = xcalloc(1, sizeof(*wr));
    uv_buf_t ub;

    wr->rq = rq;
    wr->plain_n = n;
    if (rq)
        rq->refs++;
    if (c->tls != NULL) {
        struct buf out;
        buf_init(&out, SIZE_MAX / 2);
        if (tls_conn_write(c->tls, mem, n) < 0) {
            free(mem);
            wr->mem = NULL;
            on_written(&wr->w, -EIO);
            conn_close(c, false);
            return;
        }
        free(mem);
        tls_conn_take_out(c->tls, &out);
        mem = out.p;
        n = out.n;
    }
    wr->mem = mem;
    ub = uv_buf_init(mem ? mem : "", (unsigned)n);
    if (c->closing || uv_write(&wr->w, (uv_stream_t *)&c->tcp, &ub, 1, on_written) < 0)
        on_written(&wr->w, -EPIPE);
}

static void
flush_tls(struct conn *c)
{
    struct buf out;

    buf_init(&out, SIZE_MAX / 2);
    if (c->tls == NULL || tls_conn_take_out(c->tls, &out) == 0) {
        buf_free(&out);
        return;
    }
    struct write_req *wr = xcalloc(1, sizeof(*wr));
    uv_buf_t ub = uv_buf_init(out.p, (unsigned)out.n);
    wr->mem = out.p;
    if (c->closing || uv_write(&wr->w, (uv_stream_t *)&c->tcp, &ub, 1, on_written) < 0)
        on_written(&wr->w, -EPIPE);
}

/* A response the loop writes itself: protocol errors before any handler. */
static void
send_simple_error(struct conn *c, int status, const char *code, const char *msg)
{
    struct buf b;
    char body[512];
    char date[32];
    int n;
    char rid[17];

    snprintf(rid, sizeof(rid), "%016" PRIX64,
             c->s->req_base + atomic_fetch_add(&c->s->req_counter, 1));
    n = snprintf(body, sizeof(body),
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
                 "<Message>%s</Message><RequestId>%s</RequestId></Error>",
                 code, msg, rid);
    tm_http_date(tm_now_ms(), date);
    buf_init(&b, 4096);
    (void)buf_printf(&b,
                     "HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\nContent-Length: %d\r\n"
                     "x-amz-request-id: %s\r\nDate: %s\r\nServer: Coffer\r\nConnection: close\r\n\r\n%s",
                     status, reason(status), n, rid, date, body);
    conn_send(c, NULL, b.p, b.n);
}

/* ---- loop side: connections -------------------------------------------- */

static void
maybe_finish_drain(struct evloop *lp)
{
    if (lp->draining && lp->n_conns == 0) {
        uv_timer_stop(&lp->drain_timer);
        uv_stop(&lp->uv);
    }
}

static void
on_handle_closed(uv_handle_t *h)
{
    struct conn *c = h->data;

    if (--c->open_handles > 0)
        return;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->lp->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->lp->n_conns--;
    tls_conn_free(c->tls);
    buf_free(&c->pending);
    maybe_finish_drain(c->lp);
    free(c);
}

static void
conn_mark_dead(struct conn *c)
{
    struct rq *rq = c->rq;

    if (rq == NULL)
        return;
    pthread_mutex_lock(&rq->mu);
    rq->conn_dead = true;
    pthread_cond_broadcast(&rq->cv);
    pthread_mutex_unlock(&rq->mu);
    rq->c = NULL;
    c->rq = NULL;
    rq_unref(rq);
}

static void
on_linger_timeout(uv_timer_t *t)
{
    conn_close(t->data, false);
}

static void
on_shutdown(uv_shutdown_t *req, int status)
{
    struct conn *c = req->data;

    (void)status;
    free(req);
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (!c->linger || status < 0) {
        conn_close(c, false);
        return;
    }
    /* The client may still be sending a body we did not read: keep reading
     * (and dropping) for a moment, so it sees our response, not a reset. */
    c->discard = true;
    uv_timer_stop(&c->timer);
    c->timer.data = c;
    uv_timer_start(&c->timer, on_linger_timeout, LINGER_MS, 0);
    if (!c->reading && uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
        c->reading = true;
}

static void
conn_close(struct conn *c, bool graceful)
{
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    conn_mark_dead(c);
    if (graceful && !c->closing) {
        uv_shutdown_t *sh = xcalloc(1, sizeof(*sh));
        c->closing = true;
        sh->data = c;
        if (c->tls != NULL)
            flush_tls(c);
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
on_conn_timeout(uv_timer_t *t)
{
    struct conn *c = t->data;

    if (c->rq != NULL && c->rq->dispatched)
        return;
    if (c->rq != NULL && c->rq->hraw.n > 0 && !c->rq->headers_done)
        send_simple_error(c, 400, "RequestTimeout",
                          "Your socket connection to the server was not read from or written to "
                          "within the timeout period.");
    conn_close(c, c->rq != NULL);
}

static void
conn_arm_timer(struct conn *c, int ms)
{
    c->timer.data = c;
    uv_timer_start(&c->timer, on_conn_timeout, (uint64_t)ms, 0);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
    struct conn *c = h->data;

    (void)suggested;
    b->base = c->lp->rbuf;
    b->len = RBUF_SIZE;
}

static void
stop_reading(struct conn *c)
{
    if (c->reading) {
        uv_read_stop((uv_stream_t *)&c->tcp);
        c->reading = false;
    }
}

static void
start_reading(struct conn *c)
{
    if (!c->reading && !c->closing) {
        if (uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read) == 0)
            c->reading = true;
    }
}

static void
handle_parse_error(struct conn *c, llhttp_errno_t err)
{
    const char *code = "BadRequest", *msg = "An error occurred when parsing the HTTP request.";
    int status = 400;

    if (c->rq != NULL && c->rq->bad_code != NULL) {
        code = c->rq->bad_code;
        msg = c->rq->bad_msg;
    } else if (err == HPE_USER && c->rq != NULL && c->rq->n_hoff >= HTTP_MAX_HEADERS) {
        code = "RequestHeaderSectionTooLarge";
        msg = "Your request has too many headers.";
    } else if (err == HPE_USER) {
        code = "RequestHeaderSectionTooLarge";
        msg = "Your request header section exceeds the maximum allowed size.";
    }
    if (c->rq != NULL && c->rq->dispatched) {
        /* The worker owns the response; tell it the body is bad. */
        pthread_mutex_lock(&c->rq->mu);
        c->rq->body_error = true;
        c->rq->want_close = true;
        pthread_cond_broadcast(&c->rq->cv);
        pthread_mutex_unlock(&c->rq->mu);
        c->discard = true;
        return;
    }
    send_simple_error(c, status, code, msg);
    c->linger = true;
    conn_close(c, true);
}

/* Offers c's complete, body-less request to the handler on the loop
 * thread; dispatches it to a worker if the handler declines. */
static void
run_on_loop(struct conn *c)
{
    struct http_server *s = c->s;
    struct rq *rq = c->rq;
    char line[1024];

    rq->loop_ready = false;
    rq->pub.on_loop = true;
    s->o.handler(&rq->pub);
    rq->pub.on_loop = false;
    if (!rq->resp_started) {
        buf_reset(&rq->rhdr);
        rq->resp_close = false;
        dispatch(c);
        return;
    }
    log_line(c->lp, line, access_log_line(rq, line));
    /* uv_try_write(): uv_write() would also write at once, but then costs an
     * epoll_ctl() per request in libuv's write completion. */
    if (rq->wbuf.n > 0 && c->tls == NULL &&
        uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp) == 0) {
        uv_buf_t ub = uv_buf_init(rq->wbuf.p, (unsigned)rq->wbuf.n);
        int k = uv_try_write((uv_stream_t *)&c->tcp, &ub, 1);
        if (k > 0)
            buf_consume(&rq->wbuf, (size_t)k);
    }
    if (rq->wbuf.n > 0) {
        rq->out_pending += rq->wbuf.n;
        conn_send(c, rq, rq->wbuf.p, rq->wbuf.n);
        buf_init(&rq->wbuf, rq->wbuf.max);
    }
    request_finished(c, rq);
}

static void
process_plain(struct conn *c, const char *p, size_t n)
{
    llhttp_errno_t err;

    if (c->discard || n == 0)
        return;
    if (c->paused) {
        if (buf_append(&c->pending, p, n) < 0 || c->pending.n > PENDING_MAX) {
            stop_reading(c);
            c->read_stopped_pending = true;
        }
        return;
    }
    if (c->rq == NULL) {
        c->rq = rq_new(c);
        conn_arm_timer(c, HTTP_HEADER_TIMEOUT_MS);
    }
    c->exec_end = p + n;
    err = llhttp_execute(&c->parser, p, n);
    if (err == HPE_PAUSED) {
        const char *pos = llhttp_get_error_pos(&c->parser);
        size_t used = pos ? (size_t)(pos - p) : n;
        c->paused = true;
        if (used < n)
            (void)buf_append(&c->pending, p + used, n - used);
    } else if (err != HPE_OK) {
        handle_parse_error(c, err);
        return;
    }
    /* Finishing a request on the loop parses the next pipelined one (and
     * gets back here): the outermost call runs them, one after the other. */
    if (c->running)
        return;
    c->running = true;
    while (c->rq != NULL && c->rq->loop_ready && !c->closing)
        run_on_loop(c);
    c->running = false;
}

/* The peer sent its last byte (TCP FIN, or TLS close_notify). Requests
 * received in full are still answered (see request_finished()). */
static void
on_peer_eof(struct conn *c)
{
    if (c->closing || c->rq == NULL || !c->rq->message_done) {
        conn_close(c, false);
        return;
    }
    c->peer_eof = true;
    stop_reading(c);
}

static void
on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *b)
{
    struct conn *c = st->data;

    (void)b;
    if (nread < 0) {
        on_peer_eof(c);
        return;
    }
    if (c->discard || c->closing)
        return;
    if (c->tls == NULL) {
        process_plain(c, b->base, (size_t)nread);
        return;
    }
    if (tls_conn_feed(c->tls, b->base, (size_t)nread) < 0) {
        conn_close(c, false);
        return;
    }
    for (;;) {
        char plain[16384];
        int r = tls_conn_read(c->tls, plain, sizeof(plain));
        if (r > 0) {
            process_plain(c, plain, (size_t)r);
            if (uv_is_closing((uv_handle_t *)&c->tcp))
                return;
            continue;
        }
        flush_tls(c);
        if (r == -EPIPE)
            on_peer_eof(c);
        else if (r < 0)
            conn_close(c, false);
        break;
    }
}

/* ---- llhttp callbacks (loop) ------------------------------------------- */

/* hraw holds the request line and headers that r->hdrs, r->target and
 * r->path point into; a worker may read them from dispatch() on, so hraw
 * never grows after the headers are complete (see on_trailer()). */
static int
hraw_append(struct conn *c, const char *at, size_t n)
{
    ASSERT(!c->rq->headers_done);
    return buf_append(&c->rq->hraw, at, n) < 0 ? HPE_USER : 0;
}

/* Fails the parse with a 400 whose code and message say why. */
static int
parse_refuse(struct conn *c, const char *code, const char *msg)
{
    c->rq->bad_code = code;
    c->rq->bad_msg = msg;
    return HPE_USER;
}

/* Trailer fields after the last chunk of a chunked body: S3 defines none
 * (its trailing checksums travel inside aws-chunked bodies), so they are
 * refused, and never stored: the request is on a worker already (chunked
 * requests are dispatched when their headers end), whose body read then
 * fails with -EPROTO. */
static int
on_trailer(struct conn *c)
{
    ASSERT(c->rq->dispatched);
    return HPE_USER;
}

static int
on_message_begin(llhttp_t *p)
{
    struct conn *c = p->data;

    if (c->rq == NULL)
        c->rq = rq_new(c);
    return 0;
}

static int
on_url(llhttp_t *p, const char *at, size_t n)
{
    struct conn *c = p->data;

    if (c->rq->hraw.n + n > HTTP_MAX_URL_BYTES)
        return HPE_USER;
    c->rq->url_len += (uint32_t)n;
    return hraw_append(c, at, n);
}

static int
on_header_field(llhttp_t *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    struct rq *rq = c->rq;

    if (rq->headers_done)
        return on_trailer(c);
    if (rq->hstate != 1) {
        if (rq->n_hoff >= HTTP_MAX_HEADERS)
            return HPE_USER;
        rq->hoff[rq->n_hoff][0] = (uint32_t)rq->hraw.n;
        rq->hoff[rq->n_hoff][1] = 0;
        rq->hoff[rq->n_hoff][2] = 0;
        rq->hoff[rq->n_hoff][3] = 0;
        rq->n_hoff++;
        rq->hstate = 1;
    }
    rq->hoff[rq->n_hoff - 1][1] += (uint32_t)n;
    return hraw_append(c, at, n);
}

static int
on_header_value(llhttp_t *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    struct rq *rq = c->rq;

    if (rq->headers_done)
        return on_trailer(c);
    if (rq->hstate != 2) {
        rq->hoff[rq->n_hoff - 1][2] = (uint32_t)rq->hraw.n;
        rq->hstate = 2;
    } else if (!rq->value_cut) {
        /* A second span of one value that the input did not cut: llhttp
         * read an obsolete line folding (RFC 9112 5.2), which we refuse. */
        return parse_refuse(c, "InvalidRequest", "Folded header lines are not supported.");
    }
    rq->value_cut = at + n == c->exec_end;
    rq->hoff[rq->n_hoff - 1][3] += (uint32_t)n;
    return hraw_append(c, at, n);
}

static int
on_header_value_complete(llhttp_t *p)
{
    struct conn *c = p->data;

    if (c->rq->headers_done)
        return on_trailer(c);
    if (c->rq->hstate == 1) {
        /* Empty value: llhttp calls no on_header_value. */
        c->rq->hoff[c->rq->n_hoff - 1][2] = (uint32_t)c->rq->hraw.n;
    }
    c->rq->hstate = 0;
    return 0;
}

static int
on_headers_complete(llhttp_t *p)
{
    struct conn *c = p->data;
    struct rq *rq = c->rq;
    struct http_req *r = &rq->pub;
    struct http_hdr *h;
    const char *base = rq->hraw.p ? rq->hraw.p : "";
    const char *method = llhttp_method_name(llhttp_get_method(p));
    struct str expect;
    int n_host = 0;

    h = arena_alloc(r->arena, (rq->n_hoff ? rq->n_hoff : 1) * sizeof(*h));
    for (size_t i = 0; i < rq->n_hoff; i++) {
        h[i].name = str_make(base + rq->hoff[i][0], rq->hoff[i][1]);
        h[i].value = str_trim(str_make(base + rq->hoff[i][2], rq->hoff[i][3]));
        n_host += str_ieq_c(h[i].name, "host");
    }
    /* RFC 9112 3.2: an HTTP/1.1 request has exactly one Host; more than one
     * is an error in any version (a proxy and we could disagree on which). */
    if (n_host > 1 || (n_host == 0 && p->http_major == 1 && p->http_minor >= 1))
        return parse_refuse(c, "InvalidRequest",
                            n_host ? "The request has more than one Host header."
                                   : "HTTP/1.1 requests must have a Host header.");
    r->hdrs = h;
    r->n_hdrs = rq->n_hoff;
    r->method = str_c(method);
    r->target = str_make(base, rq->url_len);
    if (!str_split(r->target, '?', &r->path, &r->query))
        r->query = str_make(base + rq->url_len, 0);
    r->is_head = strcmp(method, "HEAD") == 0;
    r->is_chunked = (p->flags & F_CHUNKED) != 0;
    if (p->flags & F_CONTENT_LENGTH) {
        if (p->content_length > (uint64_t)INT64_MAX)
            return parse_refuse(c, "InvalidArgument", "The Content-Length is too large.");
        r->content_length = (int64_t)p->content_length;
    }
    expect = http_header(r, "expect");
    r->expect_continue = str_ieq_c(expect, "100-continue");
    rq->headers_done = true;
    if (r->is_chunked || r->expect_continue || r->content_length > HTTP_PREBUFFER_MAX)
        dispatch(c);
    else
        conn_arm_timer(c, HTTP_BODY_STALL_MS);
    return 0;
}

static int
on_body(llhttp_t *p, const char *at, size_t n)
{
    struct conn *c = p->data;
    struct rq *rq = c->rq;

    if (c->discard)
        return 0;
    if (!rq->dispatched) {
        /* No worker has seen rq yet (dispatch() publishes it): no lock. */
        (void)buf_append(&rq->body, at, n);
        conn_arm_timer(c, HTTP_BODY_STALL_MS);
        return 0;
    }
    pthread_mutex_lock(&rq->mu);
    if (!rq->worker_done)
        (void)buf_append(&rq->body, at, n);
    if (rq->body.n - rq->body_off > BODY_HIGH_WATER && !rq->worker_done) {
        rq->read_paused = true;
        stop_reading(c);
    }
    pthread_cond_broadcast(&rq->cv);
    pthread_mutex_unlock(&rq->mu);
    return 0;
}

static int
on_message_complete(llhttp_t *p)
{
    struct conn *c = p->data;
    struct rq *rq = c->rq;

    rq->message_done = true;
    if (!rq->dispatched) {
        rq->body_complete = true;
        if (!llhttp_should_keep_alive(p))
            rq->want_close = true;
        if (rq->body.n == 0 && !rq->pub.expect_continue) {
            /* process_plain() runs it once llhttp_execute() has returned. */
            rq->loop_ready = true;
            uv_timer_stop(&c->timer);
        } else {
            dispatch(c);
        }
        /* Stop here: pipelined requests wait until this one is answered. */
        return HPE_PAUSED;
    }
    pthread_mutex_lock(&rq->mu);
    rq->body_complete = true;
    if (!llhttp_should_keep_alive(p))
        rq->want_close = true;
    pthread_cond_broadcast(&rq->cv);
    pthread_mutex_unlock(&rq->mu);
    /* Stop here: pipelined requests wait until this one is answered. */
    return HPE_PAUSED;
}

/* ---- events from workers (loop) ---------------------------------------- */

static void
request_finished(struct conn *c, struct rq *rq)
{
    bool close;

    pthread_mutex_lock(&rq->mu);
    rq->worker_done = true;
    close = rq->want_close || !rq->body_complete;
    c->linger = !rq->body_complete;
    pthread_mutex_unlock(&rq->mu);
    /* After a half-close the requests already received are still answered,
     * one after the other; the connection closes when none is left. */
    if (c->lp->draining || (c->peer_eof && c->pending.n == 0))
        close = true;
    if (close) {
        conn_close(c, true);
        return;
    }
    c->rq = NULL;
    rq->c = NULL;
    rq_unref(rq);
    c->paused = false;
    llhttp_resume(&c->parser);
    conn_arm_timer(c, HTTP_IDLE_TIMEOUT_MS);
    if (c->pending.n > 0) {
        struct buf pend = c->pending;
        buf_init(&c->pending, PENDING_MAX * 2);
        process_plain(c, pend.p, pend.n);
        buf_free(&pend);
        /* The peer sent all it will: a request the pending bytes did not
         * complete never will be. */
        if (c->peer_eof && !c->closing &&
            (c->rq == NULL || !c->rq->message_done)) {
            conn_close(c, true);
            return;
        }
    }
    if (c->peer_eof)
        return;
    if (c->read_stopped_pending && !c->paused) {
        c->read_stopped_pending = false;
        start_reading(c);
    }
    if (!uv_is_closing((uv_handle_t *)&c->tcp) && !c->reading && !c->read_stopped_pending)
        start_reading(c);
}

static void loop_drain(struct evloop *lp);
static void conn_start(struct evloop *lp, struct tls_ctx *tls, uv_stream_t *server, int fd);

static void
on_async(uv_async_t *a)
{
    struct evloop *lp = a->data;
    struct event *e, *next;

    if (atomic_load(&lp->s->draining_flag) && !lp->draining)
        loop_drain(lp);
    pthread_mutex_lock(&lp->ev_mu);
    e = lp->ev_head;
    lp->ev_head = lp->ev_tail = NULL;
    pthread_mutex_unlock(&lp->ev_mu);
    for (; e != NULL; e = next) {
        struct rq *rq = e->rq;
        struct conn *c = rq != NULL ? rq->c : NULL;
        next = e->next;
        switch (e->type) {
        case EV_CONN:
            conn_start(lp, e->tls, NULL, e->fd);
            break;
        case EV_OUT:
        case EV_DONE:
            if (e->data.n == 0) {
                buf_free(&e->data);
            } else if (c != NULL) {
                conn_send(c, rq, e->data.p, e->data.n);
            } else {
                pthread_mutex_lock(&rq->mu);
                rq->out_pending -= e->data.n;
                pthread_cond_broadcast(&rq->cv);
                pthread_mutex_unlock(&rq->mu);
                buf_free(&e->data);
            }
            if (e->type == EV_OUT)
                break;
            log_line(lp, e->log, e->log_n);
            if (c != NULL && c->rq == rq)
                request_finished(c, rq);
            rq_unref(rq); /* the worker's reference */
            break;
        case EV_RESUME:
            if (c != NULL && !c->paused)
                start_reading(c);
            break;
        }
        free(e);
    }
}

/* ---- accept, signals, lifecycle ---------------------------------------- */

/* Sets up a connection on lp: accepted from server (a listener of lp), or
 * else the socket fd another loop accepted. */
static void
conn_start(struct evloop *lp, struct tls_ctx *tls, uv_stream_t *server, int fd)
{
    struct conn *c;
    struct sockaddr_storage ss;
    int len = sizeof(ss), rc;

    if (lp->draining) {
        if (fd >= 0)
            close(fd);
        return;
    }
    c = xcalloc(1, sizeof(*c));
    c->s = lp->s;
    c->lp = lp;
    uv_tcp_init(&lp->uv, &c->tcp);
    uv_timer_init(&lp->uv, &c->timer);
    c->tcp.data = c;
    c->timer.data = c;
    c->open_handles = 2;
    buf_init(&c->pending, PENDING_MAX * 2);
    c->next = lp->conns;
    if (lp->conns)
        lp->conns->prev = c;
    lp->conns = c;
    lp->n_conns++;
    rc = server != NULL ? uv_accept(server, (uv_stream_t *)&c->tcp) : uv_tcp_open(&c->tcp, fd);
    if (rc < 0) {
        if (server == NULL)
            close(fd);
        conn_close(c, false);
        return;
    }
    uv_tcp_nodelay(&c->tcp, 1);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &len) == 0) {
        char ip[48] = "?";
        int port = 0;
        if (ss.ss_family == AF_INET) {
            uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
        }
        snprintf(c->peer, sizeof(c->peer), "%s:%d", ip, port);
    }
    if (tls != NULL)
        c->tls = tls_conn_new(tls);
    llhttp_init(&c->parser, HTTP_REQUEST, &lp->s->settings);
    c->parser.data = c;
    conn_arm_timer(c, HTTP_IDLE_TIMEOUT_MS);
    start_reading(c);
}

/* Loop 0 accepts every connection and deals them out to the loops in
 * turn: a loop keeps a connection for its whole life. (SO_REUSEPORT would
 * spread them without a hand-off, but it would also let a second cofferd
 * share the port unnoticed.) */
static void
on_connection(uv_stream_t *server, int status)
{
    struct listener *l = server->data;
    struct http_server *s = l->s;
    struct evloop *to;
    struct event *e;
    uv_tcp_t *t;
    uv_os_fd_t fd;
    int dfd = -1;

    if (status < 0 || l->lp->draining)
        return;
    to = &s->loops[s->next_loop++ % (unsigned)s->n_loops];
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
    e = xcalloc(1, sizeof(*e));
    e->type = EV_CONN;
    e->fd = dfd;
    e->tls = l->tls;
    ev_push(to, e);
}

int
http_server_adopt(struct http_server *s, int fd, struct tls_ctx *tls)
{
    struct event *e;

    if (atomic_load(&s->draining_flag))
        return -ESHUTDOWN;
    e = xcalloc(1, sizeof(*e));
    e->type = EV_CONN;
    e->fd = fd;
    e->tls = tls;
    ev_push(&s->loops[0], e);
    return 0;
}

static void
on_drain_timeout(uv_timer_t *t)
{
    struct evloop *lp = t->data;

    log_warn("drain timeout: closing %zu connection(s)", lp->n_conns);
    for (struct conn *c = lp->conns; c != NULL; c = c->next)
        conn_close(c, false);
    uv_stop(&lp->uv);
}

static void
on_listener_closed(uv_handle_t *h)
{
    (void)h;
}

/* Stops accepting on lp, closes its idle connections, and stops the loop
 * once the others are answered (or the drain timeout passes). */
static void
loop_drain(struct evloop *lp)
{
    lp->draining = true;
    for (struct listener *l = lp->listeners; l != NULL; l = l->next)
        uv_close((uv_handle_t *)&l->tcp, on_listener_closed);
    for (struct conn *c = lp->conns, *next; c != NULL; c = next) {
        next = c->next;
        if (c->rq == NULL || !c->rq->headers_done)
            conn_close(c, false);
    }
    lp->drain_timer.data = lp;
    uv_timer_start(&lp->drain_timer, on_drain_timeout, (uint64_t)lp->s->o.drain_timeout_ms, 0);
    maybe_finish_drain(lp);
}

static void
on_signal(uv_signal_t *sig, int signum)
{
    struct http_server *s = sig->data;

    if (atomic_exchange(&s->draining_flag, 1))
        return;
    log_info("signal %d: draining (%zu connection(s) open on this loop)", signum,
             s->loops[0].n_conns);
    loop_drain(&s->loops[0]);
    for (int i = 1; i < s->n_loops; i++)
        uv_async_send(&s->loops[i].async);
}

struct http_server *
http_server_new(const struct http_server_opts *o)
{
    struct http_server *s = xcalloc(1, sizeof(*s));
    struct timespec ts;

    s->o = *o;
    if (s->o.n_workers <= 0)
        s->o.n_workers = 32;
    if (s->o.max_workers <= 0)
        s->o.max_workers = 256;
    if (s->o.max_workers < s->o.n_workers)
        s->o.max_workers = s->o.n_workers;
    if (s->o.n_loops <= 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        s->o.n_loops = n < 1 ? 1 : n > HTTP_MAX_LOOPS ? HTTP_MAX_LOOPS : (int)n;
    }
    if (s->o.drain_timeout_ms <= 0)
        s->o.drain_timeout_ms = 300000;
    s->n_loops = s->o.n_loops;
    s->loops = xcalloc((size_t)s->n_loops, sizeof(*s->loops));
    for (int i = 0; i < s->n_loops; i++) {
        struct evloop *lp = &s->loops[i];
        lp->s = s;
        uv_loop_init(&lp->uv);
        uv_async_init(&lp->uv, &lp->async, on_async);
        lp->async.data = lp;
        uv_timer_init(&lp->uv, &lp->drain_timer);
        uv_check_init(&lp->uv, &lp->log_check);
        lp->log_check.data = lp;
        uv_check_start(&lp->log_check, on_log_check);
        uv_unref((uv_handle_t *)&lp->log_check);
        pthread_mutex_init(&lp->ev_mu, NULL);
        lp->rbuf = xmalloc(RBUF_SIZE);
        buf_init(&lp->logbuf, SIZE_MAX / 2);
    }
    uv_signal_init(&s->loops[0].uv, &s->sigterm);
    uv_signal_init(&s->loops[0].uv, &s->sigint);
    s->sigterm.data = s->sigint.data = s;
    pthread_mutex_init(&s->q_mu, NULL);
    llhttp_settings_init(&s->settings);
    s->settings.on_message_begin = on_message_begin;
    s->settings.on_url = on_url;
    s->settings.on_header_field = on_header_field;
    s->settings.on_header_value = on_header_value;
    s->settings.on_header_value_complete = on_header_value_complete;
    s->settings.on_headers_complete = on_headers_complete;
    s->settings.on_body = on_body;
    s->settings.on_message_complete = on_message_complete;
    clock_gettime(CLOCK_REALTIME, &ts);
    s->req_base = ((uint64_t)ts.tv_sec << 24) ^ ((uint64_t)ts.tv_nsec << 8);
    s->workers = xcalloc((size_t)s->o.max_workers, sizeof(*s->workers));
    for (int i = 0; i < s->o.max_workers; i++) {
        struct worker *w = &s->workers[i];
        w->s = s;
        ASSERT(sem_init(&w->sem, 0, 0) == 0);
        if (i < s->o.n_workers) {
            w->state = W_RUNNING;
            ASSERT(pthread_create(&w->th, NULL, worker_main, w) == 0);
        }
    }
    s->n_running = s->o.n_workers;
    return s;
}

int
http_server_listen(struct http_server *s, const char *host, int port, struct tls_ctx *tls)
{
    struct evloop *lp = &s->loops[0];
    struct listener *l = xcalloc(1, sizeof(*l));
    struct sockaddr_storage ss;
    int rc;

    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&ss) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&ss) != 0) {
        free(l);
        return -EINVAL;
    }
    l->s = s;
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
    struct evloop *lp = arg;

    uv_run(&lp->uv, UV_RUN_DEFAULT);
    return NULL;
}

int
http_server_run(struct http_server *s)
{
    uv_signal_start(&s->sigterm, on_signal, SIGTERM);
    uv_signal_start(&s->sigint, on_signal, SIGINT);
    for (int i = 1; i < s->n_loops; i++)
        ASSERT(pthread_create(&s->loops[i].th, NULL, loop_main, &s->loops[i]) == 0);
    loop_main(&s->loops[0]);
    for (int i = 1; i < s->n_loops; i++)
        pthread_join(s->loops[i].th, NULL);
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
http_server_free(struct http_server *s)
{
    if (s == NULL)
        return;
    pthread_mutex_lock(&s->q_mu);
    s->stopping = true;
    while (s->idle != NULL) {
        struct worker *w = s->idle;
        s->idle = w->next_idle;
        w->on_idle = false;
        s->n_waking++;
        sem_post(&w->sem);
    }
    pthread_mutex_unlock(&s->q_mu);
    /* No slot changes state now: stopping prevents starts, and a worker
     * that is not idle ends without retiring. */
    for (int i = 0; i < s->o.max_workers; i++) {
        if (s->workers[i].state != W_FREE)
            pthread_join(s->workers[i].th, NULL);
        sem_destroy(&s->workers[i].sem);
    }
    for (int i = 0; i < s->n_loops; i++) {
        struct evloop *lp = &s->loops[i];
        /* Events posted by the last workers still hold references. */
        on_async(&lp->async);
        flush_log(lp);
        uv_walk(&lp->uv, close_walk, NULL);
        uv_run(&lp->uv, UV_RUN_DEFAULT);
        uv_loop_close(&lp->uv);
        for (struct listener *l = lp->listeners, *next; l != NULL; l = next) {
            next = l->next;
            free(l);
        }
        free(lp->rbuf);
        buf_free(&lp->logbuf);
        pthread_mutex_destroy(&lp->ev_mu);
    }
    free(s->loops);
    free(s->workers);
    free(s->queue);
    free(s);
}
