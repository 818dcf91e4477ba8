/* fuzz_http.c -- the HTTP request path: the input is the byte stream a
 * client sends on one connection. It goes through the real server: a loop
 * thread with llhttp (strict), header collection, pipelining, chunked
 * bodies and trailers, the hand-off to worker threads, and s3_handle()
 * (routing, authentication; requests are anonymous, so they end in S3
 * errors), over a socketpair adopted by http_server_adopt(). The stream is
 * half-closed after the input, and the harness reads until the server
 * closes: every response must be well-framed enough for the server to
 * finish, and ASan/UBSan watch the threads meanwhile. */
#include "http/http_server.h"
#include "s3/s3.h"
#include "store/blob.h"
#include "store/md.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static struct http_server *hs;
static struct srv srv;
static char data_dir[] = "/tmp/coffer-fuzz-http.XXXXXX";

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* libFuzzer ends with exit(): the data directory goes with it. */
static void
remove_data_dir(void)
{
    (void)nftw(data_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void *
run_server(void *arg)
{
    (void)arg;
    http_server_run(hs);
    return NULL;
}

static void
setup(void)
{
    const char *dir = mkdtemp(data_dir);
    pthread_t th;

    signal(SIGPIPE, SIG_IGN);
    if (dir == NULL || md_open(dir, &srv.md) < 0 || blob_open(dir, &srv.blob) < 0) {
        fprintf(stderr, "fuzz_http: cannot set up a data directory\n");
        abort();
    }
    atexit(remove_data_dir);
    srv.domain = "localhost";
    srv.region = "us-east-1";
    hs = http_server_new(&(struct http_server_opts){
        .n_workers = 2,
        .max_workers = 8,
        .n_loops = 1,
        .handler = s3_handle,
        .error_body = s3_http_error_body,
        .ctx = &srv});
    if (pthread_create(&th, NULL, run_server, NULL) != 0)
        abort();
    pthread_detach(th);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    int sv[2];
    size_t off = 0;
    bool shut = false;
    char sink[65536];

    pthread_once(&once, setup);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    if (http_server_adopt(hs, sv[0], NULL) < 0)
        abort();
    fcntl(sv[1], F_SETFL, O_NONBLOCK);
    /* Write the input and read the answers at once: a pipelined stream
     * may need its first responses read before the server reads on. */
    for (;;) {
        struct pollfd pfd = {.fd = sv[1], .events = POLLIN | (shut ? 0 : POLLOUT)};
        int n = poll(&pfd, 1, 30000);
        if (n == 0) {
            fprintf(stderr, "fuzz_http: the server neither answered nor closed in 30 s\n");
            abort();
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (pfd.revents & (POLLIN | POLLHUP)) {
            ssize_t k = read(sv[1], sink, sizeof(sink));
            if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR))
                break;
        }
        if (!shut && (pfd.revents & POLLOUT)) {
            ssize_t k = off < size ? write(sv[1], data + off, size - off) : 0;
            if (k > 0)
                off += (size_t)k;
            if (off == size || (k < 0 && errno != EAGAIN && errno != EINTR)) {
                shutdown(sv[1], SHUT_WR);
                shut = true;
            }
        }
    }
    close(sv[1]);
    return 0;
}
