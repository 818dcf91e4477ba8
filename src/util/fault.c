/* fault.c -- the rules behind FAULT() in the test build; empty otherwise.
 * The rules are process-wide state (like the SQLite VFS the metadata hooks
 * go through), kept here rather than in main.c because hooks deep in store/
 * consult them; one mutex guards them, which is fine for a test build. */
#include "common.h"
#include "util/fault.h"

#ifdef COFFER_FAULT

#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_RULES 32
#define SPEC_MAX 4096

struct rule {
    char site[64];
    bool is_prefix;  /* site ended in '*' */
    long long first; /* the first failing call, 1-based */
    long long count; /* calls that fail from first on; 0 = all */
    long long calls; /* matching calls seen since loaded */
    int kind;        /* errno or FAULT_SHORT */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static struct rule rules[MAX_RULES];
static size_t n_rules;
static bool env_loaded;
static bool file_seen;
static struct stat file_st; /* of the control file when last read */

static const struct {
    const char *name;
    int kind;
} kinds[] = {
    {"ENOSPC", ENOSPC}, {"EDQUOT", EDQUOT}, {"EIO", EIO}, {"EINTR", EINTR}, {"SHORT", FAULT_SHORT},
};

static const char *
kind_name(int kind)
{
    for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
        if (kinds[i].kind == kind)
            return kinds[i].name;
    return "?";
}

/* Parses "SITE:N:KIND[:COUNT]" (NUL-terminated, modified in place). */
static int
parse_rule(char *s, struct rule *r)
{
    char *f[4] = {0};
    char *end;
    size_t n = 0;

    while (n < ARRAY_LEN(f)) {
        f[n++] = s;
        s = strchr(s, ':');
        if (s == NULL)
            break;
        *s++ = '\0';
    }
    if (n < 3 || s != NULL || strlen(f[0]) == 0 || strlen(f[0]) >= sizeof(r->site))
        return -EINVAL;
    memset(r, 0, sizeof(*r));
    memcpy(r->site, f[0], strlen(f[0]) + 1);
    if (r->site[strlen(r->site) - 1] == '*') {
        r->site[strlen(r->site) - 1] = '\0';
        r->is_prefix = true;
    }
    r->first = strtoll(f[1], &end, 10);
    if (*end != '\0' || r->first < 1)
        return -EINVAL;
    r->count = 1;
    if (n == 4) {
        r->count = strtoll(f[3], &end, 10);
        if (*end != '\0' || r->count < 0)
            return -EINVAL;
    }
    r->kind = 0;
    for (size_t i = 0; i < ARRAY_LEN(kinds); i++)
        if (strcmp(f[2], kinds[i].name) == 0)
            r->kind = kinds[i].kind;
    return r->kind != 0 ? 0 : -EINVAL;
}

/* Replaces the rules with those of spec (modified in place). */
static void
load(char *spec, const char *from)
{
    char *tok = spec, *next;

    n_rules = 0;
    for (; tok != NULL; tok = next) {
        next = strpbrk(tok, ",\n");
        if (next != NULL)
            *next++ = '\0';
        tok += strspn(tok, " \t\r");
        tok[strcspn(tok, " \t\r")] = '\0';
        if (*tok == '\0' || *tok == '#')
            continue;
        if (n_rules == MAX_RULES || parse_rule(tok, &rules[n_rules]) < 0) {
            log_error("fault: ignoring bad rule in %s (want SITE:N:KIND[:COUNT])", from);
            continue;
        }
        n_rules++;
    }
    log_warn("fault: %zu rule(s) armed from %s", n_rules, from);
}

static void
reload_file(const char *path)
{
    char spec[SPEC_MAX];
    struct stat st;
    ssize_t got;
    int fd;

    if (stat(path, &st) < 0) {
        if (file_seen) {
            file_seen = false;
            n_rules = 0;
            log_warn("fault: %s removed; disarmed", path);
        }
        return;
    }
    if (file_seen && st.st_ino == file_st.st_ino && st.st_size == file_st.st_size &&
        st.st_mtim.tv_sec == file_st.st_mtim.tv_sec &&
        st.st_mtim.tv_nsec == file_st.st_mtim.tv_nsec)
        return;
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    got = read(fd, spec, sizeof(spec) - 1);
    close(fd);
    if (got < 0)
        return;
    spec[got] = '\0';
    file_seen = true;
    file_st = st;
    load(spec, path);
}

int
fault_check(const char *site)
{
    const char *path = getenv("COFFER_FAULT_FILE");
    int kind = 0;

    pthread_mutex_lock(&mu);
    if (!env_loaded) {
        const char *env = getenv("COFFER_FAULT");
        env_loaded = true;
        if (env != NULL && strlen(env) < SPEC_MAX) {
            char spec[SPEC_MAX];
            memcpy(spec, env, strlen(env) + 1);
            load(spec, "COFFER_FAULT");
        }
    }
    if (path != NULL)
        reload_file(path);
    for (size_t i = 0; i < n_rules && kind == 0; i++) {
        struct rule *r = &rules[i];
        bool match = r->is_prefix ? strncmp(site, r->site, strlen(r->site)) == 0
                                  : strcmp(site, r->site) == 0;
        if (!match)
            continue;
        r->calls++;
        if (r->calls >= r->first && (r->count == 0 || r->calls < r->first + r->count)) {
            kind = r->kind;
            log_warn("fault: %s call %lld: %s injected", site, r->calls, kind_name(kind));
        }
    }
    pthread_mutex_unlock(&mu);
    return kind;
}

#endif
