/* s3_dash.h -- the web dashboard on the admin listener (cofferd
 * --admin-listen): GET /login?token=T spends a one-time login link that
 * `coffer dashboard --account A` printed and opens a session (cookie
 * coffer_session: HttpOnly, Secure, SameSite=Strict, Path=/, 12 hours);
 * GET / shows that account's dashboard (s3_dash_page.h), 401 without a
 * session; POST /logout ends the session. Tokens and session ids are
 * stored only as hashes (store/md_dash.h) and never logged. */
#ifndef COFFER_S3_S3_DASH_H
#define COFFER_S3_S3_DASH_H

#include <stdbool.h>

struct http_req;
struct srv;

/* Answers r if its path is one of the dashboard's (/, /login, /logout) and
 * returns true; false (nothing sent) for any other path. On a worker
 * thread: it reads the store. */
bool s3_dash_handle(struct http_req *r, struct srv *srv);

#endif
