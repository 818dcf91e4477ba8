/* md_lens_sql.h -- the statements of md_lens.c (schema 15: S3 Storage
 * Lens configurations), as md_sql.h's X(name, sql) rows; md_sql.h puts
 * MD_LENS_STMTS(X) into MD_STMTS. LENSCOLS is a row in struct md_lens
 * order. Included only by md_sql.h. */
#ifndef COFFER_STORE_MD_LENS_SQL_H
#define COFFER_STORE_MD_LENS_SQL_H

#define LENSCOLS "account_id, config_id, is_enabled, config, tags, created_ms, updated_ms"
#define MD_LENS_STMTS(X)                                                                           \
    X(LENS_GET, "SELECT " LENSCOLS " FROM lens_configs WHERE account_id = ?1 AND config_id = ?2")  \
    X(LENS_PUT, "INSERT INTO lens_configs (" LENSCOLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6) "     \
                "ON CONFLICT (account_id, config_id) DO UPDATE SET is_enabled = excluded.is_enabled, " \
                "config = excluded.config, "                                                       \
                "tags = CASE WHEN ?7 THEN excluded.tags ELSE lens_configs.tags END, "              \
                "updated_ms = excluded.updated_ms")                                                \
    X(LENS_ADD, "INSERT OR IGNORE INTO lens_configs (" LENSCOLS ") "                               \
                "VALUES (?1, ?2, ?3, ?4, NULL, ?5, ?5)")                                           \
    X(LENS_DELETE, "DELETE FROM lens_configs WHERE account_id = ?1 AND config_id = ?2")            \
    X(LENS_COUNT, "SELECT count(*) FROM lens_configs WHERE account_id = ?1")                       \
    X(LENS_LIST, "SELECT " LENSCOLS " FROM lens_configs WHERE account_id = ?1 AND config_id > ?2 " \
                 "ORDER BY config_id LIMIT ?3")                                                    \
    X(LENS_TAGS, "UPDATE lens_configs SET tags = ?3, updated_ms = ?4 "                             \
                 "WHERE account_id = ?1 AND config_id = ?2")

#endif
