/* ceiling.c -- what this machine allows, measured beside the S3 numbers:
 *
 *   ceiling raw PORT [DIR] a bare single-threaded epoll + llhttp HTTP/1.1 server
 *   ceiling http PORT [W]  Coffer's own HTTP layer (src/http/ over src/net/, W worker
 *                          threads) with a trivial handler: no S3, no SQLite
 *   ceiling fsync DIR SECS one stream of create + write 4 KiB + fsync + rename
 *                          (and the same plus a directory fsync), files/s as JSON
 *
 * Both servers answer any GET with a body of N bytes when the path is /N
 * (4096 otherwise; bytes are not zero, not meaningful), and any PUT by
 * reading and dropping its body, then 200. The raw server with a DIR also
 * takes PUT /fsync (body written to a file in DIR, fsync, unlink: what the
 * disk allows a durable upload) and PUT /md5fsync (the same plus MD5 of the
 * body, the least work an S3 PUT must do for its ETag). Nothing is authenticated:
 * loopback benchmarks only. Linked against build/libcoffer.a (llhttp and,
 * for "http", the server itself). */
#include "common.h"
#include "http/http_server.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <llhttp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (256 * 1024)

static char body_bytes[CHUNK];

static uint64_t
size_from_path(const char *p, size_t n)
{
    uint64_t v = 0;

    if (n < 2 || p[0] != '/')
        return 4096;
    for (size_t i = 1; i < n && p[i] != '?'; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 4096;
        v = v * 10 + (uint64_t)(p[i] - '0');
    }
    return v;
}

/* ---- raw: epoll + llhttp --------------------------------------------------- */

struct rconn {
    int fd;
    llhttp_t parser;
    char path[256];
    size_t path_n;
    bool want_out; /* a response is being sent; parser paused */
    char head[256];
    size_t head_n, head_off;
    uint64_t body_left;
    char in[65536];
    size_t in_off, in_n; /* unparsed bytes parked while paused */
    bool ka;
    int file_fd; /* PUT /fsync, /md5fsync: -1 otherwise */
    EVP_MD_CTX *md5;
};

static const char *sink_dir;
static long sink_seq;

static int
r_on_headers_complete(llhttp_t *p)
{
    struct rconn *c = p->data;
    bool fs = c->path_n == 6 && memcmp(c->path, "/fsync", 6) == 0;
    bool md = c->path_n == 9 && memcmp(c->path, "/md5fsync", 9) == 0;

    if (sink_dir == NULL || llhttp_get_method(p) != HTTP_PUT || !(fs || md))
        return 0;
    char path[4096];
    snprintf(path, sizeof(path), "%s/sink-%ld", sink_dir, sink_seq++);
    c->file_fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
    if (c->file_fd < 0)
        return -1;
    unlink(path);
    if (md) {
        c->md5 = EVP_MD_CTX_new();
        EVP_DigestInit_ex(c->md5, EVP_md5(), NULL);
    }
    return 0;
}

static int
r_on_body(llhttp_t *p, const char *at, size_t n)
{
    struct rconn *c = p->data;

    if (c->file_fd < 0)
        return 0;
    if (c->md5 != NULL)
        EVP_DigestUpdate(c->md5, at, n);
    while (n > 0) {
        ssize_t k = write(c->file_fd, at, n);
        if (k < 0)
            return -1;
        at += k;
        n -= (size_t)k;
    }
    return 0;
}

static int
r_on_url(llhttp_t *p, const char *at, size_t n)
{
    struct rconn *c = p->data;

    if (c->path_n + n > sizeof(c->path))
        n = sizeof(c->path) - c->path_n;
    memcpy(c->path + c->path_n, at, n);
    c->path_n += n;
    return 0;
}

static int
r_on_message_complete(llhttp_t *p)
{
    struct rconn *c = p->data;
    bool is_get = llhttp_get_method(p) == HTTP_GET;
    uint64_t n = is_get ? size_from_path(c->path, c->path_n) : 0;

    if (c->file_fd >= 0) {
        int rc = fsync(c->file_fd);
        close(c->file_fd);
        c->file_fd = -1;
        if (c->md5 != NULL) {
            unsigned char d[16];
            unsigned int dn = 16;
            EVP_DigestFinal_ex(c->md5, d, &dn);
            EVP_MD_CTX_free(c->md5);
            c->md5 = NULL;
        }
        if (rc < 0)
            return -1;
    }

    c->ka = llhttp_should_keep_alive(p);
    c->head_n = (size_t)snprintf(
        c->head, sizeof(c->head),
        "HTTP/1.1 200 OK\r\nContent-Length: %" PRIu64 "\r\nServer: ceiling\r\n\r\n", n);
    c->head_off = 0;
    c->body_left = n;
    c->want_out = true;
    c->path_n = 0;
    return HPE_PAUSED;
}

static llhttp_settings_t r_settings;

static void
r_close(int ep, struct rconn *c)
{
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (c->file_fd >= 0)
        close(c->file_fd);
    EVP_MD_CTX_free(c->md5);
    free(c);
}

/* Writes the pending response. 1 when done, 0 on EAGAIN, -1 on error. */
static int
r_flush(struct rconn *c)
{
    while (c->head_off < c->head_n || c->body_left > 0) {
        struct iovec iov[2];
        int n = 0;
        ssize_t k;
        if (c->head_off < c->head_n) {
            iov[n].iov_base = c->head + c->head_off;
            iov[n++].iov_len = c->head_n - c->head_off;
        }
        if (c->body_left > 0) {
            iov[n].iov_base = body_bytes;
            iov[n++].iov_len = c->body_left < CHUNK ? c->body_left : CHUNK;
        }
        k = writev(c->fd, iov, n);
        if (k < 0)
            return errno == EAGAIN ? 0 : -1;
        if (c->head_off < c->head_n) {
            size_t h = c->head_n - c->head_off;
            if ((size_t)k < h) {
                c->head_off += (size_t)k;
                continue;
            }
            c->head_off = c->head_n;
            k -= (ssize_t)h;
        }
        c->body_left -= (uint64_t)k;
    }
    c->want_out = false;
    return 1;
}

/* Parses parked or new input until a response is due. -1 to close. */
static int
r_parse(struct rconn *c)
{
    while (!c->want_out && c->in_off < c->in_n) {
        const char *p = c->in + c->in_off;
        llhttp_errno_t e = llhttp_execute(&c->parser, p, c->in_n - c->in_off);
        if (e == HPE_PAUSED) {
            c->in_off += (size_t)(llhttp_get_error_pos(&c->parser) - p);
            llhttp_resume(&c->parser);
        } else if (e == HPE_OK) {
            c->in_off = c->in_n;
        } else {
            return -1;
        }
    }
    return 0;
}

static void
r_event(int ep, struct rconn *c, uint32_t ev)
{
    for (;;) {
        if (c->want_out) {
            int rc = r_flush(c);
            if (rc < 0)
                goto close;
            if (rc == 0) {
                struct epoll_event e = {.events = EPOLLOUT, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
                return;
            }
            if (!c->ka)
                goto close;
            if (ev & EPOLLOUT) {
                struct epoll_event e = {.events = EPOLLIN, .data.ptr = c};
                epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &e);
                ev = EPOLLIN;
            }
        }
        if (c->in_off < c->in_n) {
            if (r_parse(c) < 0)
                goto close;
            if (c->want_out)
                continue;
        }
        ssize_t k = read(c->fd, c->in, sizeof(c->in));
        if (k < 0 && errno == EAGAIN)
            return;
        if (k <= 0)
            goto close;
        c->in_off = 0;
        c->in_n = (size_t)k;
        if (r_parse(c) < 0)
            goto close;
        if (!c->want_out && (size_t)k < sizeof(c->in))
            return;
    }
close:
    r_close(ep, c);
}

static int
listen_on(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 1024) < 0) {
        perror("ceiling: bind/listen");
        exit(1);
    }
    return fd;
}

static int
run_raw(int port, const char *dir)
{
    int lfd = listen_on(port), ep = epoll_create1(EPOLL_CLOEXEC);
    struct epoll_event e = {.events = EPOLLIN, .data.ptr = NULL}, evs[64];

    llhttp_settings_init(&r_settings);
    sink_dir = dir;
    r_settings.on_url = r_on_url;
    r_settings.on_headers_complete = r_on_headers_complete;
    r_settings.on_body = r_on_body;
    r_settings.on_message_complete = r_on_message_complete;
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &e);
    for (;;) {
        int n = epoll_wait(ep, evs, 64, -1);
        for (int i = 0; i < n; i++) {
            if (evs[i].data.ptr == NULL) {
                int fd, one = 1;
                while ((fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
                    struct rconn *c = calloc(1, sizeof(*c));
                    c->fd = fd;
                    c->file_fd = -1;
                    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
                    llhttp_init(&c->parser, HTTP_REQUEST, &r_settings);
                    c->parser.data = c;
                    e.events = EPOLLIN;
                    e.data.ptr = c;
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            r_event(ep, evs[i].data.ptr, evs[i].events);
        }
    }
    return 0;
}

/* ---- http: Coffer's HTTP layer with a trivial handler ------------------- */

static void
trivial_handler(struct http_req *r)
{
    if (str_eq_c(r->method, "PUT")) {
        static _Thread_local char sink[CHUNK];
        ssize_t k;
        while ((k = http_body_read(r, sink, sizeof(sink))) > 0)
            ;
        http_resp_begin(r, k == 0 ? 200 : 400, 0);
        return;
    }
    uint64_t n = size_from_path(r->path.p, r->path.n);
    /* Like Coffer's handler: small answers on the loop thread, the rest
     * (buffered whole there) on a worker. */
    if (r->on_loop && n > HTTP_PREBUFFER_MAX)
        return;
    http_resp_begin(r, 200, (int64_t)n);
    while (n > 0) {
        size_t k = n < CHUNK ? (size_t)n : CHUNK;
        if (http_resp_write(r, body_bytes, k) < 0)
            return;
        n -= k;
    }
}

static int
run_http(int port, int workers)
{
    struct http_server *s;
    int rc;

    /* The access log goes to /dev/null: the ceiling measures the HTTP path. */
    if (log_access_open("/dev/null") < 0)
        return 1;
    s = http_server_new(
        &(struct http_server_opts){.n_workers = workers, .handler = trivial_handler});
    rc = http_server_listen(s, "127.0.0.1", port, NULL);
    if (rc < 0) {
        fprintf(stderr, "ceiling: listen: %s\n", strerror(-rc));
        return 1;
    }
    http_server_run(s);
    http_server_free(s);
    return 0;
}

/* ---- fsync: one stream of durable small files --------------------------- */

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Creates, writes 4 KiB, fsyncs and renames files for secs seconds; with
 * dir_fsync also fsyncs the directory after each rename. Returns files/s. */
static double
fsync_loop(const char *dir, double secs, bool dir_fsync)
{
    char tmp[4096], dst[4096];
    int dfd = open(dir, O_RDONLY | O_DIRECTORY);
    double t0 = now_s(), t = t0;
    long n = 0;

    if (dfd < 0) {
        perror("ceiling: open dir");
        exit(1);
    }
    while (t - t0 < secs) {
        snprintf(tmp, sizeof(tmp), "%s/.tmp-%ld", dir, n);
        snprintf(dst, sizeof(dst), "%s/f-%ld", dir, n);
        int fd = open(tmp, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, body_bytes, 4096) != 4096 || fsync(fd) < 0) {
            perror("ceiling: write/fsync");
            exit(1);
        }
        close(fd);
        if (rename(tmp, dst) < 0 || (dir_fsync && fsync(dfd) < 0)) {
            perror("ceiling: rename/fsync dir");
            exit(1);
        }
        n++;
        t = now_s();
    }
    for (long i = 0; i < n; i++) {
        snprintf(dst, sizeof(dst), "%s/f-%ld", dir, i);
        unlink(dst);
    }
    close(dfd);
    return (double)n / (t - t0);
}

int
main(int argc, char **argv)
{
    for (size_t i = 0; i < sizeof(body_bytes); i++)
        body_bytes[i] = (char)('a' + i % 26);
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 3 && strcmp(argv[1], "raw") == 0)
        return run_raw((int)strtol(argv[2], NULL, 10), argc >= 4 ? argv[3] : NULL);
    if (argc >= 3 && strcmp(argv[1], "http") == 0)
        return run_http((int)strtol(argv[2], NULL, 10),
                        argc >= 4 ? (int)strtol(argv[3], NULL, 10) : 0);
    if (argc >= 4 && strcmp(argv[1], "fsync") == 0) {
        double secs = strtod(argv[3], NULL);
        double a = fsync_loop(argv[2], secs, false);
        double b = fsync_loop(argv[2], secs, true);
        printf("{\"fsync_rename_per_s\":%.1f,\"fsync_rename_dirsync_per_s\":%.1f}\n", a, b);
        return 0;
    }
    fputs("usage: ceiling raw PORT [DIR] | ceiling http PORT [WORKERS] | ceiling fsync DIR SECS\n",
          stderr);
    return 2;
}
