/* log.c -- line-buffered logs guarded by one mutex. */
#include "common.h"
#include "util/log.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static enum log_level min_level = LOG_INFO;
static FILE *access_fp;

void
log_set_level(enum log_level lvl)
{
    min_level = lvl;
}

void
log_msg(enum log_level lvl, const char *fmt, ...)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    char ts[32];
    struct timespec now;
    struct tm tm;
    va_list ap;

    if (lvl < min_level)
        return;
    clock_gettime(CLOCK_REALTIME, &now);
    gmtime_r(&now.tv_sec, &tm);
    strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
    pthread_mutex_lock(&log_mu);
    fprintf(stderr, "%s.%03ldZ [%s] ", ts, now.tv_nsec / 1000000, names[lvl]);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&log_mu);
}

int
log_access_open(const char *path)
{
    FILE *fp = stdout;

    if (path != NULL) {
        fp = fopen(path, "a");
        if (fp == NULL)
            return -errno;
    }
    access_fp = fp;
    return 0;
}

void
log_access(const char *line, int len)
{
    FILE *fp = access_fp ? access_fp : stdout;

    pthread_mutex_lock(&log_mu);
    fwrite(line, 1, (size_t)len, fp);
    fputc('\n', fp);
    fflush(fp);
    pthread_mutex_unlock(&log_mu);
}
