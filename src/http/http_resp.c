/* http_resp.c -- the worker side of a request: reading its body, building
 * and sending its response, and its access-log line. Output goes straight
 * to the socket when it can (write_direct()), else to the loop as events;
 * the loop side is http_conn.c. See http_int.h for who owns what. */
#include "common.h"
#include "http/http_int.h"
#include "util/log.h"
#include "util/tm.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void
http_post(struct loop *lp, enum ev_type type, struct rq *rq, struct buf *data, const char *log,
          int log_n)
{
    struct event *e = xcalloc(1, sizeof(*e) + (size_t)log_n);

    e->ev.fn = http_on_event;
    e->type = type;
    e->rq = rq;
    if (data != NULL) {
        e->data = *data;
        buf_init(data, data->max);
    }
    if (log_n > 0)
        memcpy(e->log, log, (size_t)log_n);
    e->log_n = log_n;
    loop_post(lp, &e->ev);
}

/* Writes what it can of [p, p + n) straight to the socket and says how
 * much, when nothing written earlier is still queued at the loop (so bytes
 * stay in order) and the connection is plain TCP; the caller hands the rest
 * to the loop. The loop thread is the server's serial bottleneck: a small
 * response is then sent without it, and a large one mostly so.
 * Called with rq->mu held: the loop marks rq's connection dead under that
 * mutex before it closes the socket, so fd is still this connection's. */
static size_t
write_direct(struct rq *rq, const char *p, size_t n)
{
    ssize_t k;

    if (rq->fd < 0 || rq->out_pending > 0)
        return 0;
    do
        k = write(rq->fd, p, n);
    while (k < 0 && errno == EINTR);
    if (k < 0 && (errno == EPIPE || errno == ECONNRESET)) {
        /* The peer is gone: let the handler stop (its writes now fail with
         * -EPIPE) and have the loop close the connection when it is done. */
        rq->conn_dead = true;
        rq->want_close = true;
    }
    return k > 0 ? (size_t)k : 0;
}

/* write_direct() of wbuf. */
static void
write_wbuf(struct rq *rq)
{
    buf_consume(&rq->wbuf, write_direct(rq, rq->wbuf.p, rq->wbuf.n));
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
        write_wbuf(rq);
        if (rq->wbuf.n > 0) {
            rq->out_pending += rq->wbuf.n;
            http_post(rq->lp, EV_OUT, rq, &rq->wbuf, NULL, 0);
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

const char *
http_reason(int status)
{
    switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 204: return "No Content";
    case 206: return "Partial Content";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
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
            loops_draining(rq->s->loops);
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
    (void)buf_append_c(&rq->wbuf, http_reason(status));
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
        /* Straight from the caller's memory as far as the socket takes it;
         * only the rest is copied, to go through the loop. */
        size_t k = 0;

        if (!r->on_loop) {
            pthread_mutex_lock(&rq->mu);
            if (!rq->conn_dead)
                k = write_direct(rq, p, n);
            pthread_mutex_unlock(&rq->mu);
        }
        (void)buf_append(&rq->wbuf, (const char *)p + k, n - k);
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
        http_post(rq->lp, EV_OUT, rq, &b, NULL, 0);
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
                http_post(rq->lp, EV_RESUME, rq, NULL, NULL, 0);
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

/* The loop writes the lines of one iteration with one log_access(). */
int
http_access_log_line(struct rq *rq, char *line)
{
    struct http_req *r = &rq->pub;
    char ts[32];
    int n;

    if (rq->s->o.no_access_log)
        return 0;
    tm_iso8601(r->start_ms, ts);
    /* The query string is never logged: presigned URLs carry credentials. */
    n = snprintf(line, HTTP_LOG_LINE_MAX,
                 "{\"time\":\"%s\",\"remote\":\"%s\",\"tls\":%s,\"method\":\"%.*s\","
                 "\"path\":\"%.*s\",\"status\":%d,\"in\":%" PRIu64 ",\"out\":%" PRIu64
                 ",\"ms\":%" PRId64 ",\"request_id\":\"%s\"%s%s}",
                 ts, r->peer, r->is_tls ? "true" : "false", STR_FMT(r->method),
                 (int)(r->path.n > 512 ? 512 : r->path.n), r->path.p ? r->path.p : "",
                 rq->status, rq->bytes_in, rq->bytes_out, tm_now_ms() - r->start_ms,
                 r->request_id, r->log_extra[0] != '\0' ? "," : "", r->log_extra);
    if (n < 0)
        return 0;
    if (n >= HTTP_LOG_LINE_MAX)
        n = HTTP_LOG_LINE_MAX - 1;
    /* Paths may hold quotes or control bytes; keep the line one JSON-ish line. */
    for (int i = 0; i < n; i++)
        if ((unsigned char)line[i] < 0x20)
            line[i] = '?';
    return n;
}

uint64_t
http_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void
http_req_done(struct rq *rq)
{
    if (rq->s->o.on_done != NULL)
        rq->s->o.on_done(&rq->pub, rq->status, rq->bytes_in, rq->bytes_out,
                         http_mono_ns() - rq->start_ns);
}

void
http_req_run(struct rq *rq)
{
    char line[HTTP_LOG_LINE_MAX];
    int n;

    rq->s->o.handler(&rq->pub);
    if (!rq->resp_started) {
        log_error("handler for %.*s returned without a response", STR_FMT(rq->pub.path));
        http_resp_close(&rq->pub);
        http_resp_begin(&rq->pub, 500, 0);
    }
    n = http_access_log_line(rq, line);
    http_req_done(rq);

    /* The last output and "done" travel in one event. The loop may free
     * rq as soon as it is posted. */
    pthread_mutex_lock(&rq->mu);
    if (!rq->conn_dead && rq->wbuf.n > 0)
        write_wbuf(rq);
    if (rq->conn_dead || rq->wbuf.n == 0) {
        pthread_mutex_unlock(&rq->mu);
        buf_reset(&rq->wbuf);
        http_post(rq->lp, EV_DONE, rq, NULL, line, n);
    } else {
        rq->out_pending += rq->wbuf.n;
        pthread_mutex_unlock(&rq->mu);
        http_post(rq->lp, EV_DONE, rq, &rq->wbuf, line, n);
    }
}
