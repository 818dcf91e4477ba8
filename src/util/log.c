/* log.c -- line-buffered logs guarded by one mutex. */
#include "common.h"
#include "util/log.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static pthread_mutex_t log_mu = PTHREAD_MUTEX_INITIALIZER;
static enum log_level min_level = LOG_INFO;
static FILE *access_fp;
static char access_path[PATH_MAX]; /* empty: stdout */

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
        if (strlen(path) >= sizeof(access_path))
            return -ENAMETOOLONG;
        fp = fopen(path, "ae");
        if (fp == NULL)
            return -errno;
        memcpy(access_path, path, strlen(path) + 1);
    }
    access_fp = fp;
    return 0;
}

int
log_access_reopen(void)
{
    FILE *fp, *old;

    if (access_path[0] == '\0')
        return 0;
    fp = fopen(access_path, "ae");
    if (fp == NULL)
        return -errno;
    /* Writers hold log_mu from fwrite to fflush, so once the pointer is
     * swapped under it no thread can still be writing to the old stream:
     * closing it here never loses a line or writes to a closed fd. */
    pthread_mutex_lock(&log_mu);
    old = access_fp;
    access_fp = fp;
    pthread_mutex_unlock(&log_mu);
    if (old != NULL && old != stdout)
        fclose(old);
    return 0;
}

void
log_access(const char *line, int len)
{
    FILE *fp;

    pthread_mutex_lock(&log_mu);
    fp = access_fp != NULL ? access_fp : stdout;
    fwrite(line, 1, (size_t)len, fp);
    fputc('\n', fp);
    fflush(fp);
    pthread_mutex_unlock(&log_mu);
}
