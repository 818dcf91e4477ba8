/* http_conn.c -- the loop side of HTTP/1.1: a connection's bytes through
 * llhttp (strict), header collection and the checks on it, the hand-off of
 * a request to a worker (or its run on the loop thread when it is small
 * and body-less), body flow control, pipelining, half-close, the answers
 * the server gives itself, and the events workers send back. Transport is
 * net/conn.h's: nothing here knows TCP from TLS. See http_int.h for who
 * owns what. */
#include "common.h"
#include "http/http_int.h"
#include "net/conn.h"
#include "util/arena.h"
#include "util/log.h"
#include "util/tm.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void process_plain(struct http_conn *hc, const char *p, size_t n);
static void request_finished(struct http_conn *hc, struct rq *rq);

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
rq_new(struct http_conn *hc)
{
    struct http_server *s = hc->s;
    struct rq *rq = xcalloc(1, sizeof(*rq));
    uint64_t id = s->req_base + atomic_fetch_add(&s->req_counter, 1);

    rq->hc = hc;
    rq->s = s;
    rq->lp = hc->c->lp;
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
    rq->pub.is_tls = conn_is_tls(hc->c);
    rq->pub.tls_version = (unsigned char)conn_tls_version(hc->c);
    rq->pub.start_ms = tm_now_ms();
    rq->start_ns = http_mono_ns();
    snprintf(rq->pub.request_id, sizeof(rq->pub.request_id), "%016" PRIX64, id);
    memcpy(rq->pub.peer, hc->c->peer, sizeof(rq->pub.peer));
    return rq;
}

static void
dispatch(struct http_conn *hc)
{
    struct rq *rq = hc->rq;

    rq->dispatched = true;
    rq->refs++; /* the worker's reference, dropped on EV_DONE */
    /* Direct writes only once the previous response has left the loop's
     * write queue (rq's bytes must follow it on the wire), and never over
     * TLS: conn_direct_fd() says -1 then. */
    rq->fd = conn_direct_fd(hc->c);
    conn_timer_stop(hc->c);
    http_pool_push(hc->s->pool, rq);
}

/* Queues an access-log line; the loop's tick (http_log_flush()) writes
 * the lines of one loop iteration with one log_access(). Loop thread. */
static void
log_line(struct http_loop *hl, const char *line, int n)
{
    if (n <= 0)
        return;
    if (hl->logbuf.n > 0)
        (void)buf_append(&hl->logbuf, "\n", 1);
    (void)buf_append(&hl->logbuf, line, (size_t)n);
}

void
http_log_flush(struct http_loop *hl)
{
    if (hl->logbuf.n > 0) {
        log_access(hl->logbuf.p, (int)hl->logbuf.n);
        buf_reset(&hl->logbuf);
    }
}

/* ---- writing (loop) ---------------------------------------------------- */

static void
on_rq_written(void *arg, size_t n, int status)
{
    struct rq *rq = arg;

    (void)status;
    pthread_mutex_lock(&rq->mu);
    rq->out_pending -= n;
    pthread_cond_broadcast(&rq->cv);
    pthread_mutex_unlock(&rq->mu);
    rq_unref(rq);
}

/* Sends plaintext mem[0..n) on hc, taking ownership of mem; rq (NULL for
 * the server's own answers) is told when it is written. */
static void
hc_send(struct http_conn *hc, struct rq *rq, char *mem, size_t n)
{
    if (rq == NULL) {
        conn_write(hc->c, mem, n, NULL, NULL);
        return;
    }
    rq->refs++;
    conn_write(hc->c, mem, n, on_rq_written, rq);
}

/* A graceful close lingers when the request's body was not all read. */
static void
hc_close(struct http_conn *hc, bool graceful)
{
    conn_close(hc->c, !graceful ? CONN_ABORT : hc->linger ? CONN_LINGER : CONN_GRACEFUL);
}

/* A response the loop writes itself: protocol errors before any handler.
 * The body is the application's (http_server_opts.error_body). */
static void
send_simple_error(struct http_conn *hc, int status, enum http_err why)
{
    struct http_server *s = hc->s;
    struct buf b;
    char body[512];
    char date[32];
    char rid[17];
    const char *ctype = NULL;
    size_t n = 0;

    snprintf(rid, sizeof(rid), "%016" PRIX64,
             s->req_base + atomic_fetch_add(&s->req_counter, 1));
    if (s->o.error_body != NULL)
        n = s->o.error_body(s->o.ctx, status, why, rid, body, sizeof(body), &ctype);
    if (n == 0)
        ctype = NULL;
    tm_http_date(tm_now_ms(), date);
    buf_init(&b, 4096);
    (void)buf_printf(&b, "HTTP/1.1 %d %s\r\n", status, http_reason(status));
    if (ctype != NULL)
        (void)buf_printf(&b, "Content-Type: %s\r\n", ctype);
    (void)buf_printf(&b,
                     "Content-Length: %zu\r\nx-amz-request-id: %s\r\nDate: %s\r\n"
                     "Server: Coffer\r\nConnection: close\r\n\r\n",
                     n, rid, date);
    (void)buf_append(&b, body, n);
    hc_send(hc, NULL, b.p, b.n);
}

/* ---- the connection (loop) --------------------------------------------- */

/* conn_close() began: a worker still on hc's request must stop writing to
 * the socket (write_direct() checks conn_dead under rq->mu) and sees -EPIPE. */
static void
conn_mark_dead(struct conn *c)
{
    struct http_conn *hc = c->data;
    struct rq *rq = hc->rq;

    if (rq == NULL)
        return;
    pthread_mutex_lock(&rq->mu);
    rq->conn_dead = true;
    pthread_cond_broadcast(&rq->cv);
    pthread_mutex_unlock(&rq->mu);
    rq->hc = NULL;
    hc->rq = NULL;
    rq_unref(rq);
}

static void
on_conn_timeout(struct conn *c)
{
    struct http_conn *hc = c->data;

    if (hc->rq != NULL && hc->rq->dispatched)
        return;
    if (hc->rq != NULL && hc->rq->hraw.n > 0 && !hc->rq->headers_done)
        send_simple_error(hc, 400, HTTP_ERR_TIMEOUT);
    hc_close(hc, hc->rq != NULL);
}

static void
handle_parse_error(struct http_conn *hc, llhttp_errno_t err)
{
    enum http_err why = HTTP_ERR_BAD_REQUEST;

    if (hc->rq != NULL && hc->rq->has_bad)
        why = hc->rq->bad;
    else if (err == HPE_USER && hc->rq != NULL && hc->rq->n_hoff >= HTTP_MAX_HEADERS)
        why = HTTP_ERR_TOO_MANY_HEADERS;
    else if (err == HPE_USER)
        why = HTTP_ERR_HEADERS_TOO_LARGE;
    if (hc->rq != NULL && hc->rq->dispatched) {
        /* The worker owns the response; tell it the body is bad. */
        pthread_mutex_lock(&hc->rq->mu);
        hc->rq->body_error = true;
        hc->rq->want_close = true;
        pthread_cond_broadcast(&hc->rq->cv);
        pthread_mutex_unlock(&hc->rq->mu);
        conn_discard_input(hc->c);
        return;
    }
    send_simple_error(hc, 400, why);
    hc->linger = true;
    hc_close(hc, true);
}

/* Offers hc's complete, body-less request to the handler on the loop
 * thread; dispatches it to a worker if the handler declines. */
static void
run_on_loop(struct http_conn *hc)
{
    struct http_server *s = hc->s;
    struct rq *rq = hc->rq;
    char line[HTTP_LOG_LINE_MAX];

    rq->loop_ready = false;
    rq->pub.on_loop = true;
    s->o.handler(&rq->pub);
    rq->pub.on_loop = false;
    if (!rq->resp_started) {
        /* Declined: the worker calls the handler again on the same
         * rq->pub, app_state and arena included (http_server.h). */
        buf_reset(&rq->rhdr);
        rq->resp_close = false;
        dispatch(hc);
        return;
    }
    log_line(hc->hl, line, http_access_log_line(rq, line));
    http_req_done(rq);
    /* At once if the socket takes it (plain TCP with nothing queued): the
     * write completion of conn_write() costs more than the write. */
    if (rq->wbuf.n > 0) {
        size_t k = conn_try_write(hc->c, rq->wbuf.p, rq->wbuf.n);
        if (k > 0)
            buf_consume(&rq->wbuf, k);
    }
    if (rq->wbuf.n > 0) {
        rq->out_pending += rq->wbuf.n;
        hc_send(hc, rq, rq->wbuf.p, rq->wbuf.n);
        buf_init(&rq->wbuf, rq->wbuf.max);
    }
    request_finished(hc, rq);
}

static void
process_plain(struct http_conn *hc, const char *p, size_t n)
{
    llhttp_errno_t err;

    if (hc->c->discard || n == 0)
        return;
    if (hc->paused) {
        if (buf_append(&hc->pending, p, n) < 0 || hc->pending.n > PENDING_MAX) {
            conn_read_stop(hc->c);
            hc->read_stopped_pending = true;
        }
        return;
    }
    if (hc->rq == NULL) {
        hc->rq = rq_new(hc);
        conn_timer_start(hc->c, HTTP_HEADER_TIMEOUT_MS);
    }
    hc->exec_end = p + n;
    err = llhttp_execute(&hc->parser, p, n);
    if (err == HPE_PAUSED) {
        const char *pos = llhttp_get_error_pos(&hc->parser);
        size_t used = pos ? (size_t)(pos - p) : n;
        hc->paused = true;
        if (used < n)
            (void)buf_append(&hc->pending, p + used, n - used);
    } else if (err != HPE_OK) {
        handle_parse_error(hc, err);
        return;
    }
    /* Finishing a request on the loop parses the next pipelined one (and
     * gets back here): the outermost call runs them, one after the other. */
    if (hc->running)
        return;
    hc->running = true;
    while (hc->rq != NULL && hc->rq->loop_ready && !hc->c->closing)
        run_on_loop(hc);
    hc->running = false;
}

/* The peer sent its last byte (TCP FIN, or TLS close_notify). Requests
 * received in full are still answered (see request_finished()), and so is
 * one a worker already holds: its body will never end, so its body read
 * fails now, and its answer goes out before the close. */
static void
on_peer_eof(struct conn *c)
{
    struct http_conn *hc = c->data;
    struct rq *rq = hc->rq;

    if (!c->closing && rq != NULL && rq->dispatched && !rq->message_done) {
        pthread_mutex_lock(&rq->mu);
        rq->body_error = true;
        rq->want_close = true;
        pthread_cond_broadcast(&rq->cv);
        pthread_mutex_unlock(&rq->mu);
    } else if (c->closing || rq == NULL || !rq->message_done) {
        conn_close(c, CONN_ABORT);
        return;
    }
    hc->peer_eof = true;
    conn_read_stop(c);
}

/* ---- llhttp callbacks (loop) ------------------------------------------- */

/* hraw holds the request line and headers that r->hdrs, r->target and
 * r->path point into; a worker may read them from dispatch() on, so hraw
 * never grows after the headers are complete (see on_trailer()). */
static int
hraw_append(struct http_conn *hc, const char *at, size_t n)
{
    ASSERT(!hc->rq->headers_done);
    return buf_append(&hc->rq->hraw, at, n) < 0 ? HPE_USER : 0;
}

/* Fails the parse with a 400 that says why. */
static int
parse_refuse(struct http_conn *hc, enum http_err why)
{
    hc->rq->has_bad = true;
    hc->rq->bad = why;
    return HPE_USER;
}

/* Trailer fields after the last chunk of a chunked body: the handler has
 * no way to read them (S3 defines none: its trailing checksums travel
 * inside aws-chunked bodies), so they are refused, and never stored: the request is on a worker already (chunked
 * requests are dispatched when their headers end), whose body read then
 * fails with -EPROTO. */
static int
on_trailer(struct http_conn *hc)
{
    ASSERT(hc->rq->dispatched);
    return HPE_USER;
}

static int
on_message_begin(llhttp_t *p)
{
    struct http_conn *hc = p->data;

    if (hc->rq == NULL)
        hc->rq = rq_new(hc);
    return 0;
}

static int
on_url(llhttp_t *p, const char *at, size_t n)
{
    struct http_conn *hc = p->data;

    if (hc->rq->hraw.n + n > HTTP_MAX_URL_BYTES)
        return HPE_USER;
    hc->rq->url_len += (uint32_t)n;
    return hraw_append(hc, at, n);
}

static int
on_header_field(llhttp_t *p, const char *at, size_t n)
{
    struct http_conn *hc = p->data;
    struct rq *rq = hc->rq;

    if (rq->headers_done)
        return on_trailer(hc);
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
    return hraw_append(hc, at, n);
}

static int
on_header_value(llhttp_t *p, const char *at, size_t n)
{
    struct http_conn *hc = p->data;
    struct rq *rq = hc->rq;

    if (rq->headers_done)
        return on_trailer(hc);
    if (rq->hstate != 2) {
        rq->hoff[rq->n_hoff - 1][2] = (uint32_t)rq->hraw.n;
        rq->hstate = 2;
    } else if (!rq->value_cut) {
        /* A second span of one value that the input did not cut: llhttp
         * read an obsolete line folding (RFC 9112 5.2), which we refuse. */
        return parse_refuse(hc, HTTP_ERR_FOLDED_HEADER);
    }
    rq->value_cut = at + n == hc->exec_end;
    rq->hoff[rq->n_hoff - 1][3] += (uint32_t)n;
    return hraw_append(hc, at, n);
}

static int
on_header_value_complete(llhttp_t *p)
{
    struct http_conn *hc = p->data;

    if (hc->rq->headers_done)
        return on_trailer(hc);
    if (hc->rq->hstate == 1) {
        /* Empty value: llhttp calls no on_header_value. */
        hc->rq->hoff[hc->rq->n_hoff - 1][2] = (uint32_t)hc->rq->hraw.n;
    }
    hc->rq->hstate = 0;
    return 0;
}

static int
on_headers_complete(llhttp_t *p)
{
    struct http_conn *hc = p->data;
    struct rq *rq = hc->rq;
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
        return parse_refuse(hc, n_host ? HTTP_ERR_DUPLICATE_HOST : HTTP_ERR_MISSING_HOST);
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
            return parse_refuse(hc, HTTP_ERR_LENGTH_TOO_LARGE);
        r->content_length = (int64_t)p->content_length;
    }
    expect = http_header(r, "expect");
    r->expect_continue = str_ieq_c(expect, "100-continue");
    rq->headers_done = true;
    if (r->is_chunked || r->expect_continue || r->content_length > HTTP_PREBUFFER_MAX)
        dispatch(hc);
    else
        conn_timer_start(hc->c, HTTP_BODY_STALL_MS);
    return 0;
}

static int
on_body(llhttp_t *p, const char *at, size_t n)
{
    struct http_conn *hc = p->data;
    struct rq *rq = hc->rq;

    if (hc->c->discard)
        return 0;
    if (rq->body.cap == 0 && rq->pub.content_length > 0) {
        /* Once the body comes, the buffer at its largest size at once:
         * grown by doubling while the loop reads ahead of the worker, it
         * was copied about twice over (3% of a 1 MiB PUT's CPU). */
        buf_reserve(&rq->body, 1 + (rq->pub.content_length < BODY_BUF_MAX
                                        ? (size_t)rq->pub.content_length
                                        : BODY_BUF_MAX));
    }
    if (!rq->dispatched) {
        /* No worker has seen rq yet (dispatch() publishes it): no lock. */
        (void)buf_append(&rq->body, at, n);
        conn_timer_start(hc->c, HTTP_BODY_STALL_MS);
        return 0;
    }
    pthread_mutex_lock(&rq->mu);
    if (!rq->worker_done)
        (void)buf_append(&rq->body, at, n);
    if (rq->body.n - rq->body_off > BODY_HIGH_WATER && !rq->worker_done) {
        rq->read_paused = true;
        conn_read_stop(hc->c);
    }
    pthread_cond_broadcast(&rq->cv);
    pthread_mutex_unlock(&rq->mu);
    return 0;
}

static int
on_message_complete(llhttp_t *p)
{
    struct http_conn *hc = p->data;
    struct rq *rq = hc->rq;

    rq->message_done = true;
    if (!rq->dispatched) {
        rq->body_complete = true;
        if (!llhttp_should_keep_alive(p))
            rq->want_close = true;
        if (rq->body.n == 0 && !rq->pub.expect_continue) {
            /* process_plain() runs it once llhttp_execute() has returned. */
            rq->loop_ready = true;
            conn_timer_stop(hc->c);
        } else {
            dispatch(hc);
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
request_finished(struct http_conn *hc, struct rq *rq)
{
    bool close;

    pthread_mutex_lock(&rq->mu);
    rq->worker_done = true;
    close = rq->want_close || !rq->body_complete;
    hc->linger = !rq->body_complete;
    pthread_mutex_unlock(&rq->mu);
    /* After a half-close the requests already received are still answered,
     * one after the other; the connection closes when none is left. */
    if (loop_draining(hc->c->lp) || (hc->peer_eof && hc->pending.n == 0))
        close = true;
    if (close) {
        hc_close(hc, true);
        return;
    }
    hc->rq = NULL;
    rq->hc = NULL;
    rq_unref(rq);
    hc->paused = false;
    llhttp_resume(&hc->parser);
    conn_timer_start(hc->c, HTTP_IDLE_TIMEOUT_MS);
    if (hc->pending.n > 0) {
        struct buf pend = hc->pending;
        buf_init(&hc->pending, PENDING_MAX * 2);
        process_plain(hc, pend.p, pend.n);
        buf_free(&pend);
        /* The peer sent all it will: a request the pending bytes did not
         * complete never will be. */
        if (hc->peer_eof && !hc->c->closing &&
            (hc->rq == NULL || !hc->rq->message_done)) {
            hc_close(hc, true);
            return;
        }
    }
    if (hc->peer_eof)
        return;
    if (hc->read_stopped_pending && !hc->paused) {
        hc->read_stopped_pending = false;
        conn_read_start(hc->c);
    }
    if (!conn_is_closed(hc->c) && !hc->read_stopped_pending)
        conn_read_start(hc->c); /* a no-op when reading */
}


void
http_on_event(struct loop *lp, struct loop_event *ev)
{
    struct event *e = (struct event *)ev;
    struct rq *rq = e->rq;
    struct http_conn *hc = rq->hc;

    switch (e->type) {
    case EV_OUT:
    case EV_DONE:
        if (e->data.n == 0) {
            buf_free(&e->data);
        } else if (hc != NULL) {
            hc_send(hc, rq, e->data.p, e->data.n);
        } else {
            pthread_mutex_lock(&rq->mu);
            rq->out_pending -= e->data.n;
            pthread_cond_broadcast(&rq->cv);
            pthread_mutex_unlock(&rq->mu);
            buf_free(&e->data);
        }
        if (e->type == EV_OUT)
            break;
        log_line(&rq->s->hl[loop_index(lp)], e->log, e->log_n);
        if (hc != NULL && hc->rq == rq)
            request_finished(hc, rq);
        rq_unref(rq); /* the worker's reference */
        break;
    case EV_RESUME:
        if (hc != NULL && !hc->paused)
            conn_read_start(hc->c);
        break;
    }
    free(e);
}

/* ---- the connection's life (loop) -------------------------------------- */

static void
on_data(struct conn *c, const char *p, size_t n)
{
    process_plain(c->data, p, n);
}

/* A drain closes the connections that have no request, or only part of
 * one's headers; the others are answered first. */
static void
on_drain(struct conn *c)
{
    struct http_conn *hc = c->data;

    if (hc->rq == NULL || !hc->rq->headers_done)
        conn_close(c, CONN_ABORT);
}

static void
on_free(struct conn *c)
{
    struct http_conn *hc = c->data;

    atomic_fetch_sub_explicit(&hc->s->n_conns, 1, memory_order_relaxed);
    buf_free(&hc->pending);
    free(hc);
}

static const struct conn_handler http_handler = {
    .on_data = on_data,
    .on_eof = on_peer_eof,
    .on_timeout = on_conn_timeout,
    .on_close = conn_mark_dead,
    .on_drain = on_drain,
    .on_free = on_free,
};

void
http_conn_open(struct conn *c, void *arg)
{
    struct http_server *s = arg;
    struct http_conn *hc = xcalloc(1, sizeof(*hc));

    hc->c = c;
    hc->s = s;
    hc->hl = &s->hl[loop_index(c->lp)];
    atomic_fetch_add_explicit(&s->n_conns, 1, memory_order_relaxed);
    buf_init(&hc->pending, PENDING_MAX * 2);
    c->data = hc;
    c->h = &http_handler;
    llhttp_init(&hc->parser, HTTP_REQUEST, &s->settings);
    hc->parser.data = hc;
    conn_timer_start(c, HTTP_IDLE_TIMEOUT_MS);
    conn_read_start(c);
}

void
http_settings_init(llhttp_settings_t *settings)
{
    llhttp_settings_init(settings);
    settings->on_message_begin = on_message_begin;
    settings->on_url = on_url;
    settings->on_header_field = on_header_field;
    settings->on_header_value = on_header_value;
    settings->on_header_value_complete = on_header_value_complete;
    settings->on_headers_complete = on_headers_complete;
    settings->on_body = on_body;
    settings->on_message_complete = on_message_complete;
}
