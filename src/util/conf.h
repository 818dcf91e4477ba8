/* conf.h -- 'name = value' configuration files (cofferd --config, and the
 * coffer CLI reading the gateway's DIR/cofferd.conf). */
#ifndef COFFER_UTIL_CONF_H
#define COFFER_UTIL_CONF_H

/* Calls fn(arg, name, value) for each 'name = value' line of path, both
 * trimmed; '#' starts a comment, blank lines are skipped; lines are at most
 * 1,023 bytes. The strings are valid during the call only. Returns 0; -errno
 * when path cannot be read; or the number (> 0) of the first line that is
 * not 'name = value' or that fn refused (returned < 0). */
int conf_each(const char *path, int (*fn)(void *arg, const char *name, const char *value),
              void *arg);

#endif
