/* http_server.h -- HTTP/1.1 server: llhttp on the event loops of net/loop.h
 * (over TCP or TLS connections, net/conn.h), with request handlers running
 * on worker threads. Knows HTTP only: what an error body looks like is the
 * application's (http_server_opts.error_body).
 *
 * Event loop threads (one per CPU by default) own the sockets, parsers and
 * TLS states: loop 0 accepts, and deals each connection to a loop for its
 * whole life. When a request's
 * headers are complete it is handed to a worker thread, where the handler
 * runs as plain blocking code: http_body_read() waits for body bytes the loop
 * delivers (the loop stops reading from a socket whose request has more than
 * a few hundred KiB queued), http_resp_write() queues output for the loop
 * (and waits when too much is queued). So a 5 GiB PUT streams through a few
 * MiB of memory, and fsync or SQLite work never blocks the loop.
 * Small bodies (known length <= HTTP_PREBUFFER_MAX, no Expect) are read in
 * full before dispatch, so a slow client never parks a worker on them.
 *
 * A request without a body is first offered to the handler on the loop
 * thread (http_req.on_loop), which saves the two thread hand-offs that
 * dominate a small GET. There the handler must not block: no body reads,
 * no waits on the disk or on other threads, and a small response (it is
 * buffered whole). A handler that returns there without starting a
 * response is called again on a worker thread, with the response headers
 * it set dropped and http_req.app_state as it left it: the handler keeps
 * what it found there (in the request's arena) and resumes instead of
 * starting over. */
#ifndef COFFER_HTTP_HTTP_SERVER_H
#define COFFER_HTTP_HTTP_SERVER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "util/arena.h"
#include "util/str.h"

#define HTTP_PREBUFFER_MAX (64 * 1024)

struct http_server;
struct tls_ctx;

struct http_hdr {
    struct str name, value; /* name as sent; both borrowed from the request */
};

/* One request as the handler sees it. Everything is borrowed: valid until
 * the handler returns. */
struct http_req {
    struct str method;
    struct str target; /* raw request-target */
    struct str path;   /* target up to '?', still percent-encoded */
    struct str query;  /* after '?', STR_NULL-like empty if none */
    const struct http_hdr *hdrs;
    size_t n_hdrs;
    int64_t content_length; /* -1 when absent (chunked or no body) */
    bool is_chunked;
    bool is_tls;
    unsigned char tls_version; /* 12 (TLS 1.2), 13 (TLS 1.3); 0 over plain TCP */
    bool is_head;
    bool expect_continue;
    bool on_loop;        /* running on the loop thread: see above */
    char peer[64];       /* "ip:port" */
    char request_id[17]; /* sent as x-amz-request-id on every response */
    int64_t start_ms;
    struct arena *arena; /* request lifetime */
    void *srv_ctx;       /* from http_server_new */
    void *app_state;     /* the handler's, NULL at first; kept from the loop
                          * thread to the worker, never read by http/ */
    /* More fields for the request's access-log line, as the handler sets
     * them: `"name":"value",...` without braces, already JSON-safe. */
    char log_extra[384];
};

typedef void (*http_handler_fn)(struct http_req *r);
/* After a handler's response: its status, the request body bytes read and
 * the response body bytes written, and the time from the request's first
 * byte, in ns. On the thread that ran the handler; must be cheap. */
typedef void (*http_done_fn)(struct http_req *r, int status, uint64_t bytes_in,
                             uint64_t bytes_out, uint64_t dur_ns);

/* Why the server answers a request itself, before (or instead of) any
 * handler. The status is 400 for all of them today. */
enum http_err {
    HTTP_ERR_BAD_REQUEST,       /* llhttp refused the request (strict mode) */
    HTTP_ERR_TOO_MANY_HEADERS,  /* more than HTTP_MAX_HEADERS fields */
    HTTP_ERR_HEADERS_TOO_LARGE, /* request line and headers over the bounds.h limits */
    HTTP_ERR_FOLDED_HEADER,     /* an obsolete line folding (RFC 9112 5.2) */
    HTTP_ERR_DUPLICATE_HOST,    /* more than one Host */
    HTTP_ERR_MISSING_HOST,      /* an HTTP/1.1 request without Host */
    HTTP_ERR_LENGTH_TOO_LARGE,  /* Content-Length past INT64_MAX */
    HTTP_ERR_TIMEOUT,           /* the headers did not arrive in time */
};

/* Renders the body of such an answer into out (cap bytes) and returns its
 * length (at most cap - 1), setting *content_type (a static string) when
 * the body is not empty. request_id is the response's x-amz-request-id; ctx
 * is http_server_opts.ctx. Runs on a loop thread: must not block. */
typedef size_t (*http_error_body_fn)(void *ctx, int status, enum http_err err,
                                     const char *request_id, char *out, size_t cap,
                                     const char **content_type);

#define HTTP_MAX_LOOPS 16

struct http_server_opts {
    int n_workers;       /* worker threads always running (default 32) */
    int max_workers;     /* more start while all are busy, up to this (default 256) */
    int n_loops;         /* event loop threads (default: one per CPU, at most HTTP_MAX_LOOPS) */
    http_handler_fn handler;
    void *ctx;           /* copied into every http_req.srv_ctx */
    http_error_body_fn error_body; /* NULL: such answers have no body */
    int drain_timeout_ms;
    http_done_fn on_done;  /* NULL: none */
    bool no_signals;       /* SIGTERM/SIGINT/SIGHUP are another server's: stop with
                            * http_server_stop() */
    bool no_access_log;    /* requests are not written to the access log */
};

/* What http_server_stats() reports. */
struct http_stats {
    int workers;         /* worker threads running */
    int workers_busy;    /* of them, running a handler or on their way to one */
    size_t queued;       /* dispatched requests waiting for a worker */
    long connections;    /* open connections */
};

/* Creates the server on the calling thread's new uv loop. Caller owns it. */
struct http_server *http_server_new(const struct http_server_opts *o);
/* Adds a listener; tls NULL for plain HTTP. 0 or -errno (e.g. -EADDRINUSE). */
int http_server_listen(struct http_server *s, const char *host, int port, struct tls_ctx *tls);
/* Serves the connected stream socket fd (TCP or a socketpair end) as if it
 * had been accepted on a listener with tls (NULL: plain). Any thread; the
 * server owns fd from here on. 0, or -ESHUTDOWN once draining (fd is then
 * still the caller's). The fuzzer feeds requests in through this. */
int http_server_adopt(struct http_server *s, int fd, struct tls_ctx *tls);
/* Runs until a drain completes (SIGTERM/SIGINT): listeners close at once,
 * in-flight requests finish, idle connections close. Returns 0. */
int http_server_run(struct http_server *s);
void http_server_free(struct http_server *s);
/* Starts a drain as a signal would. Any thread. */
void http_server_stop(struct http_server *s);
/* True once a drain has started. Any thread. */
bool http_server_draining(const struct http_server *s);
/* A moment's figures of the pool and the connections. Any thread. */
void http_server_stats(struct http_server *s, struct http_stats *st);

/* First header named name (ASCII case-insensitive), or STR_NULL. */
struct str http_header(const struct http_req *r, const char *name);

/* Reads up to n body bytes (the de-chunked HTTP body). Sends 100 Continue
 * first if the client asked for it. Returns bytes read, 0 at the end of the
 * body, -ETIMEDOUT when the client stalls, -EPIPE if it went away,
 * -EPROTO on a malformed body. */
ssize_t http_body_read(struct http_req *r, void *p, size_t n);
/* True once the whole body has been read by the handler. */
bool http_body_done(const struct http_req *r);

/* Response. Headers accumulate until http_resp_begin(), which sends the
 * status line, the given headers, Content-Length (content_length >= 0),
 * Date, Server, x-amz-request-id and Connection. For HEAD requests the body
 * writes are dropped. 0, or -EPIPE if the client is gone. */
void http_resp_header(struct http_req *r, const char *name, struct str value);
void http_resp_header_c(struct http_req *r, const char *name, const char *value);
int http_resp_begin(struct http_req *r, int status, int64_t content_length);
int http_resp_write(struct http_req *r, const void *p, size_t n);
bool http_resp_started(const struct http_req *r);
/* Asks to close the connection after this response. */
void http_resp_close(struct http_req *r);

#endif
