/* md_url.c -- parses --meta URL (md.h's struct md_url), strictly: an unknown
 * kind, an empty or too long path is refused with a message naming it; a
 * PostgreSQL URI is kept as given for libpq (md_pg.c). */
#include "common.h"
#include "store/md.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define SQLITE_SCHEME "sqlite:"

static int
fail(char *err, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t cap, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(err, cap, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

int
md_url_parse(const char *url, const char *dir, struct md_url *out, char *err, size_t cap)
{
    const char *path;
    int n;

    memset(out, 0, sizeof(*out));
    if (cap > 0)
        err[0] = '\0';
    if (url == NULL || url[0] == '\0') {
        if (dir == NULL || dir[0] == '\0')
            return fail(err, cap, "no data directory for the default metadata store");
        n = snprintf(out->sqlite_path, sizeof(out->sqlite_path), "%s/meta.db", dir);
        if (n < 0 || (size_t)n >= sizeof(out->sqlite_path))
            return fail(err, cap, "data directory path too long");
        return 0;
    }
    if (strncmp(url, "postgresql://", 13) == 0 || strncmp(url, "postgres://", 11) == 0) {
        /* libpq parses the rest; it is checked at the connection. */
        if (strlen(url) >= sizeof(out->pg_uri))
            return fail(err, cap, "--meta: PostgreSQL URI too long (at most %zu bytes)",
                        sizeof(out->pg_uri) - 1);
        snprintf(out->pg_uri, sizeof(out->pg_uri), "%s", url);
        return 0;
    }
    if (strncmp(url, SQLITE_SCHEME, strlen(SQLITE_SCHEME)) != 0)
        return fail(err, cap, "--meta %s: unknown kind (want sqlite:PATH or postgresql://...)",
                    url);
    path = url + strlen(SQLITE_SCHEME);
    if (path[0] == '\0')
        return fail(err, cap, "--meta %s: sqlite: needs a database file (sqlite:PATH)", url);
    /* Not a URI authority: sqlite:///x would silently mean "/x" or "///x"
     * depending on the reader's habits. */
    if (strncmp(path, "//", 2) == 0)
        return fail(err, cap, "--meta %s: write sqlite:/ABSOLUTE/PATH or sqlite:RELATIVE/PATH",
                    url);
    if (path[strlen(path) - 1] == '/')
        return fail(err, cap, "--meta %s: sqlite:PATH names a file, not a directory", url);
    if (strlen(path) + sizeof("-journal") > sizeof(out->sqlite_path))
        return fail(err, cap, "--meta sqlite:PATH: path too long (%zu bytes, at most %zu)",
                    strlen(path), sizeof(out->sqlite_path) - sizeof("-journal"));
    snprintf(out->sqlite_path, sizeof(out->sqlite_path), "%s", path);
    return 0;
}
