/* ticker.h -- a thread that runs a job at start and again whenever the job
 * says, until stopped. cofferd's background work runs on these: the
 * lifecycle executor, the usage refresh, the Storage Lens exports. Wake
 * times are wall-clock milliseconds (tm_now_ms()), as their days are. */
#ifndef COFFER_UTIL_TICKER_H
#define COFFER_UTIL_TICKER_H

#include <stdatomic.h>
#include <stdint.h>

struct ticker;

/* One run of the job; returns when to run next (tm_now_ms() scale). *stop
 * turns true once ticker_stop() is called: a long run polls it and returns
 * early. */
typedef int64_t (*ticker_fn)(void *arg, atomic_bool *stop);

/* Starts the thread, which runs fn(arg, ...) at once. 0 and an owned
 * ticker, or -errno. arg is borrowed until ticker_stop(). */
int ticker_start(ticker_fn fn, void *arg, struct ticker **out);

/* Sets the stop flag, wakes the thread and waits for the run under way to
 * return; frees t. NULL ok. */
void ticker_stop(struct ticker *t);

#endif
