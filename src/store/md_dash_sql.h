/* md_dash_sql.h -- the statements of md_dash.c (schema 16: the web
 * dashboard's login links and sessions), as md_sql.h's X(name, sql) rows;
 * md_sql.h puts MD_DASH_STMTS(X) into MD_STMTS. Included only by md_sql.h. */
#ifndef COFFER_STORE_MD_DASH_SQL_H
#define COFFER_STORE_MD_DASH_SQL_H

#define MD_DASH_STMTS(X)                                                                           \
    X(DASH_LOGIN_ADD, "INSERT INTO dash_logins (sel, hash, account_id, created_ms, expires_ms) "   \
                      "VALUES (?1, ?2, ?3, ?4, ?5)")                                               \
    X(DASH_LOGIN_GET, "SELECT hash, account_id, expires_ms, used_ms FROM dash_logins "             \
                      "WHERE sel = ?1")                                                            \
    X(DASH_LOGIN_USE, "UPDATE dash_logins SET used_ms = ?2 WHERE sel = ?1 AND used_ms IS NULL")   \
    X(DASH_LOGIN_PRUNE, "DELETE FROM dash_logins WHERE expires_ms < ?1")                           \
    X(DASH_SESS_ADD, "INSERT INTO dash_sessions (sel, hash, account_id, created_ms, expires_ms) "  \
                     "VALUES (?1, ?2, ?3, ?4, ?5)")                                                \
    X(DASH_SESS_GET, "SELECT hash, account_id, expires_ms FROM dash_sessions WHERE sel = ?1")      \
    X(DASH_SESS_END, "DELETE FROM dash_sessions WHERE sel = ?1")                                   \
    X(DASH_SESS_PRUNE, "DELETE FROM dash_sessions WHERE expires_ms < ?1")                          \
    X(DASH_MFA_EVENTS, "SELECT id, time_ms, event, principal, bucket, key, version_id, source, "   \
                       "detail FROM audit WHERE id > (SELECT coalesce(max(id), 0) FROM audit) - ?4 " \
                       "AND instr(event, 'mfa') > 0 AND (principal = ?2 "                          \
                       "OR substr(principal, 1, length(?2) + 1) = ?2 || '/' "                      \
                       "OR bucket IN (SELECT name FROM buckets WHERE account_id = ?1)) "           \
                       "ORDER BY id DESC LIMIT ?3")

#endif
