/* mtoken.c -- DIR/metrics.token; see mtoken.h. */
#include "common.h"
#include "crypto/hash.h"
#include "store/mtoken.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

int
mtoken_read(const char *dir, char *out)
{
    char path[PATH_MAX], raw[MTOKEN_LEN + 2];
    ssize_t n;
    int fd;

    if (snprintf(path, sizeof(path), "%s/%s", dir, MTOKEN_FILE) >= (int)sizeof(path))
        return -ENAMETOOLONG;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    n = read(fd, raw, sizeof(raw));
    close(fd);
    if (n < 0)
        return -EIO;
    /* Exactly the token, with or without one newline. */
    if (n == MTOKEN_LEN + 1 && raw[MTOKEN_LEN] == '\n')
        n--;
    if (n != MTOKEN_LEN || strspn(raw, alphabet) < MTOKEN_LEN) {
        explicit_bzero(raw, sizeof(raw));
        return -EINVAL;
    }
    memcpy(out, raw, MTOKEN_LEN);
    out[MTOKEN_LEN] = '\0';
    explicit_bzero(raw, sizeof(raw));
    return 0;
}

int
mtoken_rotate(const char *dir, char *out)
{
    char path[PATH_MAX], tmp[PATH_MAX], line[MTOKEN_LEN + 2];
    int fd, dfd, rc = 0;

    if (snprintf(path, sizeof(path), "%s/%s", dir, MTOKEN_FILE) >= (int)sizeof(path) ||
        snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, MTOKEN_FILE) >= (int)sizeof(tmp))
        return -ENAMETOOLONG;
    if (rand_chars(line, MTOKEN_LEN, alphabet) < 0)
        return -EIO;
    line[MTOKEN_LEN] = '\n';
    fd = mkstemp(tmp); /* mode 0600 */
    if (fd < 0)
        return -errno;
    if (fchmod(fd, 0600) < 0 || write(fd, line, MTOKEN_LEN + 1) != MTOKEN_LEN + 1 ||
        fsync(fd) < 0)
        rc = errno != 0 ? -errno : -EIO;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp);
        explicit_bzero(line, sizeof(line));
        return rc;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        (void)fsync(dfd);
        close(dfd);
    }
    memcpy(out, line, MTOKEN_LEN);
    out[MTOKEN_LEN] = '\0';
    explicit_bzero(line, sizeof(line));
    return 0;
}

int
mtoken_ensure(const char *dir, char *out)
{
    int rc = mtoken_read(dir, out);

    return rc == -ENOENT ? mtoken_rotate(dir, out) : rc;
}
