/* adm_metrics.c -- `coffer metrics token [--rotate]`: prints the bearer token
 * of cofferd's /metrics (DIR/metrics.token, store/mtoken.h), or replaces it.
 * A running cofferd reads the file on every scrape: a rotated token works at
 * once and the old one stops working. */
#include "common.h"
#include "admin/adm.h"
#include "store/mtoken.h"

#include <stdio.h>
#include <string.h>

int
adm_metrics_token(struct adm_cli *cli)
{
    char token[MTOKEN_LEN + 1];
    int rc;

    rc = cli->rotate ? mtoken_rotate(cli->data, token) : mtoken_ensure(cli->data, token);
    if (rc < 0)
        return adm_internal(MTOKEN_FILE, rc);
    printf("%s\n", token);
    explicit_bzero(token, sizeof(token));
    if (cli->rotate)
        fprintf(stderr, "coffer: %s/%s replaced; the old token no longer works "
                        "(update the scraper's bearer token)\n",
                cli->data, MTOKEN_FILE);
    return fflush(stdout) == 0 ? 0 : ADM_EXIT_INTERNAL;
}
