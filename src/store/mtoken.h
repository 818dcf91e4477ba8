/* mtoken.h -- the bearer token of /metrics: DIR/metrics.token, one line of
 * MTOKEN_LEN random characters, mode 0600. cofferd makes it on first start;
 * `coffer metrics token --rotate` replaces it (temp file, fsync, rename), and
 * the server reads the file on every scrape, so a rotation takes effect at
 * once and the old token stops working. */
#ifndef COFFER_STORE_MTOKEN_H
#define COFFER_STORE_MTOKEN_H

#define MTOKEN_LEN 40
#define MTOKEN_FILE "metrics.token"

/* Reads the token of data directory dir into out (MTOKEN_LEN + 1 bytes).
 * 0, -ENOENT when there is none, -EINVAL when the file does not hold one,
 * or another -errno. */
int mtoken_read(const char *dir, char *out);
/* Writes a new random token atomically and returns it in out. 0 or -errno. */
int mtoken_rotate(const char *dir, char *out);
/* mtoken_read(), or mtoken_rotate() when there is no token yet. */
int mtoken_ensure(const char *dir, char *out);

#endif
