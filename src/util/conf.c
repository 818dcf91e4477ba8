/* conf.c -- 'name = value' configuration files (conf.h). */
#include "util/conf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static char *
trim(char *p)
{
    char *end;

    while (*p == ' ' || *p == '\t')
        p++;
    for (end = p + strlen(p); end > p && (end[-1] == ' ' || end[-1] == '\t'); end--)
        ;
    *end = '\0';
    return p;
}

int
conf_each(const char *path, int (*fn)(void *arg, const char *name, const char *value), void *arg)
{
    FILE *fp = fopen(path, "r");
    char line[1024];
    int lineno = 0, rc = 0;

    if (fp == NULL)
        return -errno;
    while (rc == 0 && fgets(line, sizeof(line), fp) != NULL) {
        char *name, *eq;

        lineno++;
        line[strcspn(line, "#\r\n")] = '\0';
        name = trim(line);
        if (*name == '\0')
            continue;
        eq = strchr(name, '=');
        if (eq == NULL) {
            rc = lineno;
            break;
        }
        *eq = '\0';
        if (fn(arg, trim(name), trim(eq + 1)) < 0)
            rc = lineno;
    }
    fclose(fp);
    return rc;
}
