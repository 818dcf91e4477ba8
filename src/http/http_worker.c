/* http_worker.c -- the worker threads that run handlers, and the queue of
 * dispatched requests they take from. What a worker does with a request is
 * http_resp.c's (http_req_run()); this file only hands requests over.
 *
 * The pool: n_workers threads always run; while every one is busy and
 * requests wait (slow uploads can hold workers for minutes), more start,
 * up to max_workers, and such extra workers exit after WORKER_IDLE_EXIT_S
 * without work. A slot's thread is joined before the slot is used again,
 * and every thread is joined at the end: none outlives the server. */
#include "common.h"
#include "http/http_int.h"
#include "util/log.h"
#include "util/xmalloc.h"

#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define WORKER_IDLE_EXIT_S 30

enum worker_state { W_FREE, W_RUNNING, W_EXITED };

/* A worker thread. Idle workers wait on their own semaphore, so a wake-up
 * wakes exactly one thread and nobody queues on a shared mutex to get out
 * of a condition wait. */
struct worker {
    struct http_pool *p;
    pthread_t th;
    sem_t sem;
    struct worker *next_idle;
    enum worker_state state; /* under q_mu */
    bool on_idle;            /* on the idle stack; under q_mu */
    bool extra;              /* started on demand: may exit when idle */
};

/* Dispatched requests wait in queue for a worker (see next_request()).
 * The idle stack is LIFO: the most recently active (cache-warm) worker
 * goes first, and under light load only a few threads ever run. */
struct http_pool {
    int n_workers, max_workers;
    pthread_mutex_t q_mu;
    struct rq **queue;
    size_t q_head, q_n, q_cap;
    bool stopping;
    struct worker *workers; /* max_workers slots */
    struct worker *idle;
    int n_waking;  /* woken or started, and not yet back at the queue */
    int n_running; /* slots in W_RUNNING */
};

/* Pops an idle worker to wake, if work is queued and no woken worker is
 * already on its way to the queue. Called with q_mu held. */
static struct worker *
worker_to_wake(struct http_pool *p)
{
    struct worker *w = p->idle;

    if (p->q_n == 0 || p->n_waking > 0 || w == NULL)
        return NULL;
    p->idle = w->next_idle;
    w->on_idle = false;
    p->n_waking++;
    return w;
}

/* Reserves a slot for an extra worker when requests wait, every worker is
 * busy and none is on its way. *join: the slot's previous thread has exited
 * but is not joined yet. Called with q_mu held; start_worker() follows. */
static struct worker *
worker_to_start(struct http_pool *p, bool *join)
{
    if (p->q_n == 0 || p->n_waking > 0 || p->idle != NULL || p->stopping ||
        p->n_running >= p->max_workers)
        return NULL;
    for (int i = 0; i < p->max_workers; i++) {
        struct worker *w = &p->workers[i];
        if (w->state != W_RUNNING) {
            *join = w->state == W_EXITED;
            w->state = W_RUNNING;
            w->extra = true; /* the always-running slots never leave W_RUNNING */
            p->n_running++;
            p->n_waking++;
            return w;
        }
    }
    return NULL;
}

static void *worker_main(void *arg);

static void
start_worker(struct worker *w, bool join)
{
    struct http_pool *p = w->p;
    int rc;

    if (join)
        pthread_join(w->th, NULL);
    rc = pthread_create(&w->th, NULL, worker_main, w);
    if (rc == 0)
        return;
    log_warn("cannot start a worker thread: %s", strerror(rc));
    pthread_mutex_lock(&p->q_mu);
    w->state = W_FREE;
    p->n_running--;
    p->n_waking--;
    pthread_mutex_unlock(&p->q_mu);
}

void
http_pool_push(struct http_pool *p, struct rq *rq)
{
    struct worker *w, *st = NULL;
    bool join = false;

    pthread_mutex_lock(&p->q_mu);
    if (p->q_n == p->q_cap) {
        size_t cap = p->q_cap ? p->q_cap * 2 : 64;
        struct rq **q = xmalloc(cap * sizeof(*q));
        for (size_t i = 0; i < p->q_n; i++)
            q[i] = p->queue[(p->q_head + i) % p->q_cap];
        free(p->queue);
        p->queue = q;
        p->q_head = 0;
        p->q_cap = cap;
    }
    p->queue[(p->q_head + p->q_n) % p->q_cap] = rq;
    p->q_n++;
    w = worker_to_wake(p);
    if (w == NULL)
        st = worker_to_start(p, &join);
    pthread_mutex_unlock(&p->q_mu);
    if (w != NULL)
        sem_post(&w->sem);
    if (st != NULL)
        start_worker(st, join);
}

/* Waits for w's wake-up: 0. An extra worker idle for WORKER_IDLE_EXIT_S
 * that nobody is about to wake leaves the pool instead: -1. */
static int
worker_idle_wait(struct worker *w)
{
    struct http_pool *p = w->p;
    struct timespec ts;

    if (w->extra) {
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_sec += WORKER_IDLE_EXIT_S;
        while (sem_timedwait(&w->sem, &ts) < 0) {
            if (errno != ETIMEDOUT)
                continue;
            pthread_mutex_lock(&p->q_mu);
            if (w->on_idle && !p->stopping) {
                struct worker **pp = &p->idle;
                while (*pp != w)
                    pp = &(*pp)->next_idle;
                *pp = w->next_idle;
                w->on_idle = false;
                w->state = W_EXITED;
                p->n_running--;
                pthread_mutex_unlock(&p->q_mu);
                return -1;
            }
            pthread_mutex_unlock(&p->q_mu);
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
 * Wake-ups cascade: http_pool_push() wakes one idle worker only when no
 * woken worker is already heading for the queue, and that worker, once it
 * has its request, wakes the next one if more are queued. So the loop
 * thread (the server's serial bottleneck) makes at most one futex wake per
 * batch of requests instead of one per request, and the rest happens on
 * the workers, in parallel. */
static struct rq *
next_request(struct worker *w, bool woken)
{
    struct http_pool *p = w->p;

    for (;;) {
        struct rq *rq = NULL;
        struct worker *next = NULL, *st = NULL;
        bool stop, join = false;

        pthread_mutex_lock(&p->q_mu);
        if (woken)
            p->n_waking--;
        stop = p->stopping;
        if (p->q_n > 0) {
            rq = p->queue[p->q_head];
            p->q_head = (p->q_head + 1) % p->q_cap;
            p->q_n--;
            next = worker_to_wake(p);
            if (next == NULL)
                st = worker_to_start(p, &join);
        } else if (!stop) {
            w->next_idle = p->idle;
            p->idle = w;
            w->on_idle = true;
        }
        pthread_mutex_unlock(&p->q_mu);
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
    struct rq *rq;

    /* An extra worker was counted in n_waking when it was started. */
    for (bool woken = w->extra; (rq = next_request(w, woken)) != NULL; woken = false)
        http_req_run(rq);
    return NULL;
}

struct http_pool *
http_pool_new(int n_workers, int max_workers)
{
    struct http_pool *p = xcalloc(1, sizeof(*p));

    p->n_workers = n_workers;
    p->max_workers = max_workers;
    pthread_mutex_init(&p->q_mu, NULL);
    p->workers = xcalloc((size_t)max_workers, sizeof(*p->workers));
    for (int i = 0; i < max_workers; i++) {
        struct worker *w = &p->workers[i];
        w->p = p;
        ASSERT(sem_init(&w->sem, 0, 0) == 0);
        if (i < n_workers) {
            w->state = W_RUNNING;
            ASSERT(pthread_create(&w->th, NULL, worker_main, w) == 0);
        }
    }
    p->n_running = n_workers;
    return p;
}

void
http_pool_free(struct http_pool *p)
{
    if (p == NULL)
        return;
    pthread_mutex_lock(&p->q_mu);
    p->stopping = true;
    while (p->idle != NULL) {
        struct worker *w = p->idle;
        p->idle = w->next_idle;
        w->on_idle = false;
        p->n_waking++;
        sem_post(&w->sem);
    }
    pthread_mutex_unlock(&p->q_mu);
    /* No slot changes state now: stopping prevents starts, and a worker
     * that is not idle ends without retiring. */
    for (int i = 0; i < p->max_workers; i++) {
        if (p->workers[i].state != W_FREE)
            pthread_join(p->workers[i].th, NULL);
        sem_destroy(&p->workers[i].sem);
    }
    pthread_mutex_destroy(&p->q_mu);
    free(p->workers);
    free(p->queue);
    free(p);
}

void
http_pool_stats(struct http_pool *p, int *workers, int *busy, size_t *queued)
{
    int idle = 0;

    pthread_mutex_lock(&p->q_mu);
    for (struct worker *w = p->idle; w != NULL; w = w->next_idle)
        idle++;
    *workers = p->n_running;
    *busy = p->n_running - idle;
    *queued = p->q_n;
    pthread_mutex_unlock(&p->q_mu);
}
