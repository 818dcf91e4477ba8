/* ticker.c -- see ticker.h. */
#include "common.h"
#include "util/ticker.h"
#include "util/tm.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

struct ticker {
    ticker_fn fn;
    void *arg;
    atomic_bool stop;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* CLOCK_REALTIME, the default: wakes are wall-clock */
    pthread_t thread;
};

static void *
ticker_main(void *p)
{
    struct ticker *t = p;

    while (!atomic_load(&t->stop)) {
        int64_t wake = t->fn(t->arg, &t->stop);
        struct timespec ts = {.tv_sec = wake / 1000, .tv_nsec = (long)(wake % 1000) * 1000000L};

        pthread_mutex_lock(&t->mu);
        while (!atomic_load(&t->stop) && tm_now_ms() < wake)
            if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) == ETIMEDOUT)
                break;
        pthread_mutex_unlock(&t->mu);
    }
    return NULL;
}

int
ticker_start(ticker_fn fn, void *arg, struct ticker **out)
{
    struct ticker *t = xcalloc(1, sizeof(*t));
    int rc;

    t->fn = fn;
    t->arg = arg;
    atomic_init(&t->stop, false);
    pthread_mutex_init(&t->mu, NULL);
    pthread_cond_init(&t->cv, NULL);
    rc = pthread_create(&t->thread, NULL, ticker_main, t);
    if (rc != 0) {
        pthread_cond_destroy(&t->cv);
        pthread_mutex_destroy(&t->mu);
        free(t);
        return -rc;
    }
    *out = t;
    return 0;
}

void
ticker_stop(struct ticker *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&t->mu);
    atomic_store(&t->stop, true);
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->thread, NULL);
    pthread_cond_destroy(&t->cv);
    pthread_mutex_destroy(&t->mu);
    free(t);
}
