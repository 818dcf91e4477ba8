/* log.h -- error log (stderr or a file) and the access log. Thread-safe.
 * Never pass secrets, signatures, MFA codes or seeds to these. */
#ifndef COFFER_UTIL_LOG_H
#define COFFER_UTIL_LOG_H

enum log_level { LOG_DEBUG, LOG_INFO, LOG_WARN, LOG_ERROR };

void log_set_level(enum log_level lvl);
void log_msg(enum log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One pre-formatted access-log line (no trailing newline needed). */
void log_access(const char *line, int len);
/* Sends the access log to path (append); NULL = stdout. 0 or -errno. */
int log_access_open(const char *path);
/* Opens the access log's file again by name (after logrotate renamed it), for
 * SIGHUP; lines already written stay in the old file, none is lost. A no-op
 * when it goes to stdout. 0, or -errno with the old file still in use. */
int log_access_reopen(void);

#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)

#endif
