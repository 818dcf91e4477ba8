/* http_int.h -- what the files of the HTTP server share; never included from
 * outside src/http/.
 *
 * http_conn.c   loop side: connections, llhttp, the loop-thread fast path,
 *               events from workers, early errors
 * http_resp.c   worker side: request body, response, access-log line
 * http_worker.c the worker pool
 * http_server.c the server: setup, listeners, run, free
 *
 * Ownership: a struct http_conn belongs to one loop thread. A struct rq (one
 * request) is shared: the loop appends body bytes and the worker consumes
 * them under rq->mu; the worker sends output and "done" to rq's loop through
 * loop_post(). rq is reference-counted, and every refcount change happens on
 * its loop thread. */
#ifndef COFFER_HTTP_HTTP_INT_H
#define COFFER_HTTP_HTTP_INT_H

#include <llhttp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "bounds.h"
#include "http/http_server.h"
#include "net/loop.h"
#include "util/buf.h"

#define BODY_HIGH_WATER (1024 * 1024) /* stop reading the socket above this */
#define BODY_BUF_MAX (BODY_HIGH_WATER + 64 * 1024) /* what the buffer then holds: one read more */
#define BODY_LOW_WATER (256 * 1024)   /* resume below this */
#define BODY_COMPACT_MIN (64 * 1024)
#define OUT_HIGH_WATER (4 * 1024 * 1024)
#define OUT_FLUSH_BYTES (64 * 1024)
#define PENDING_MAX (1024 * 1024) /* pipelined bytes parked while busy */

struct conn;
struct http_conn;
struct http_pool;

struct rq {
    struct http_req pub;
    struct http_conn *hc; /* loop only; NULL once the connection is gone */
    int refs;             /* loop only */
    struct http_server *s;
    struct loop *lp; /* the loop of hc, which gets rq's events */

    /* Header accumulation (loop only). */
    struct buf hraw;
    uint32_t url_len;
    uint32_t hoff[HTTP_MAX_HEADERS][4];
    size_t n_hoff;
    int hstate; /* 0 none, 1 in field, 2 in value */
    bool value_cut; /* the last value span ended with llhttp_execute()'s input */
    bool headers_done, dispatched, message_done;
    bool has_bad;          /* a callback failed the parse: bad is the 400 to send */
    enum http_err bad;
    bool loop_ready; /* complete and body-less: offer it to the handler on the loop */

    /* Shared with the worker, under mu. */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct buf body;
    size_t body_off;
    bool body_complete, conn_dead, body_error, read_paused, want_close, worker_done;
    size_t out_pending;

    int fd; /* socket for write_direct() (conn_direct_fd()), or -1; set by dispatch() */

    /* Worker only. */
    struct buf wbuf;
    bool resp_started, continue_sent, resp_close;
    struct buf rhdr;
    int status;
    uint64_t bytes_in, bytes_out;
    uint64_t start_ns; /* monotonic, at the request's first byte */
};

/* The HTTP state of one connection (its struct conn's data). */
struct http_conn {
    struct conn *c;
    struct http_server *s;
    llhttp_t parser;
    struct rq *rq;
    struct buf pending;
    bool paused, read_stopped_pending, peer_eof;
    bool linger;  /* a graceful close lingers (the request body was not all read) */
    bool running; /* run_on_loop() is on the stack for this connection */
    struct http_loop *hl; /* the access-log batch of the loop of c */
    const char *exec_end; /* end of the bytes llhttp_execute() is parsing */
};

enum ev_type { EV_OUT, EV_RESUME, EV_DONE };

/* From a worker to rq's loop. EV_DONE carries the response's last bytes
 * (often all of it) and the request's access-log line, so a small request
 * costs the loop one event. */
struct event {
    struct loop_event ev;
    enum ev_type type;
    struct rq *rq;
    struct buf data; /* EV_OUT and EV_DONE payload */
    int log_n;
    char log[]; /* EV_DONE: the access-log line (log_n bytes) */
};

/* Per loop: access-log lines of one loop iteration. */
struct http_loop {
    struct buf logbuf;
};

struct http_server {
    struct http_server_opts o;
    struct loops *loops;
    struct http_loop *hl; /* one per loop, by loop_index() */
    llhttp_settings_t settings;
    struct http_pool *pool;
    atomic_uint_fast64_t req_counter;
    uint64_t req_base;
    atomic_long n_conns; /* open connections */
};

/* http_conn.c */
void http_conn_open(struct conn *c, void *arg); /* loops_opts.on_conn */
void http_on_event(struct loop *lp, struct loop_event *e);
void http_settings_init(llhttp_settings_t *settings);
void http_log_flush(struct http_loop *hl);

/* http_resp.c */
const char *http_reason(int status);
#define HTTP_LOG_LINE_MAX 1536 /* one access-log line, newline excluded */
/* Formats rq's access-log line into line (HTTP_LOG_LINE_MAX bytes); returns its length. */
int http_access_log_line(struct rq *rq, char *line);
/* Calls http_server_opts.on_done for rq's finished response. */
void http_req_done(struct rq *rq);
uint64_t http_mono_ns(void);
/* Runs the handler on a worker, then sends the rest and "done" to the loop. */
void http_req_run(struct rq *rq);
void http_post(struct loop *lp, enum ev_type type, struct rq *rq, struct buf *data,
               const char *log, int log_n);

/* http_worker.c: n_workers threads always, up to max_workers while busy. */
struct http_pool *http_pool_new(int n_workers, int max_workers);
/* Queues rq for a worker (which calls http_req_run()). Loop thread. */
void http_pool_push(struct http_pool *p, struct rq *rq);
/* Running workers, the busy ones and the queue's length. Any thread. */
void http_pool_stats(struct http_pool *p, int *workers, int *busy, size_t *queued);
/* Stops and joins every worker (after the loops have stopped). NULL ok. */
void http_pool_free(struct http_pool *p);

#endif
