/* md_sql.h -- every SQL statement of the SQLite metadata backend, as one
 * X-macro table: X(name, sql). md_int.h turns the names into enum md_st;
 * md_sqlite.c prepares each statement once per connection, on first use.
 * Column lists shared by several statements come first; md_*.c read rows
 * in these column orders. Included only by md_int.h. */
#ifndef COFFER_STORE_MD_SQL_H
#define COFFER_STORE_MD_SQL_H

#include "store/md_lens_sql.h"
#include "store/md_dash_sql.h"

/* Columns of a version row in struct md_version order; inline_data last so
 * listings can leave it out. */
#define VCOLS                                                                                      \
    "seq, bucket_id, key, version_id, is_latest, is_dm, size, mtime_ms, owner_id, etag, "          \
    "content_type, meta, checksum_algo, checksum_value, blob_id, parts_count, storage_class"
#define LIST_OBJ(lo, hi)                                                                           \
    "SELECT " VCOLS " FROM versions INDEXED BY versions_latest "                                   \
    "WHERE bucket_id = ?1 AND is_latest = 1 AND is_dm = 0 AND key " lo " ?2" hi                    \
    " ORDER BY key LIMIT ?4"
/* VCOLS with what a version listing does not show left empty (same column
 * positions, read by row_version()): all of it comes from the index. */
#define LVCOLS                                                                                     \
    "seq, bucket_id, key, version_id, is_latest, is_dm, size, mtime_ms, owner_id, etag, "          \
    "'', '', checksum_algo, '', NULL, parts_count, storage_class"
#define LIST_VER(lo, hi)                                                                           \
    "SELECT " LVCOLS " FROM versions INDEXED BY versions_key_seq "                                 \
    "WHERE bucket_id = ?1 AND key " lo " ?2" hi " ORDER BY key, seq DESC LIMIT ?4"
#define HI " AND key < ?3"
/* The wall clock in ms, as CLOCK_REALTIME gives it (trash_cutoff_ms()
 * compares the two); SQLite fixes 'now' for one statement. Trash rows of
 * version data carry it; an upload's parts, which no reader ever opens, go
 * to the trash with trashed_ms 0: due at once. */
#define NOW_MS "CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER)"

/* Every statement md.c runs: X(name, sql). */
#define MD_STMTS(X)                                                                                \
    X(BEGIN, "BEGIN IMMEDIATE")                                                                    \
    X(COMMIT, "COMMIT")                                                                            \
    X(BEGIN_READ, "BEGIN DEFERRED")                                                                \
    X(ROLLBACK, "ROLLBACK")                                                                        \
    X(SAVEPOINT, "SAVEPOINT job")                                                                  \
    X(RELEASE, "RELEASE job")                                                                      \
    X(ROLLBACK_TO, "ROLLBACK TO job")                                                              \
    X(ACCT_INSERT, "INSERT INTO accounts (name, canonical_id, created_ms) VALUES (?1, ?2, ?3)")    \
    X(ACCT_GET, "SELECT " ACOLS " FROM accounts WHERE id = ?1")           \
    X(ACCT_GET_NAME, "SELECT " ACOLS " FROM accounts WHERE name = ?1")    \
    X(ACCT_LIST, "SELECT " ACOLS " FROM accounts ORDER BY id")            \
    X(ACCT_HAS_BUCKETS, "SELECT 1 FROM buckets WHERE account_id = ?1 LIMIT 1")                     \
    X(ACCT_DEL_KEYS, "DELETE FROM keys WHERE account_id = ?1")                                     \
    X(ACCT_DEL_USERS, "DELETE FROM users WHERE account_id = ?1")                                   \
    X(ACCT_DEL_MFA, "DELETE FROM mfa_devices WHERE account_id = ?1")                               \
    X(ACCT_DELETE, "DELETE FROM accounts WHERE id = ?1")                                           \
    X(KEY_INSERT, "INSERT INTO keys (access_key_id, account_id, user_id, secret_sealed, "          \
                  "created_ms, is_active, session_token_sha256, expires_ms, mfa_auth_ms, "         \
                  "role_id, session_name, session_policy, session_policy_arns, mfa_inherited) "    \
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)")          \
    X(KEY_GET, "SELECT " KCOLS ", secret_sealed FROM keys WHERE access_key_id = ?1")               \
    X(KEY_LIST, "SELECT " KCOLS " FROM keys WHERE account_id = ?1 ORDER BY access_key_id")         \
    X(KEY_ANY, "SELECT 1 FROM keys LIMIT 1")                                                       \
    X(INFO_GET, "SELECT value FROM store_info WHERE name = ?1")                                    \
    X(INFO_PUT, "INSERT INTO store_info (name, value) VALUES (?1, ?2) ON CONFLICT DO NOTHING")     \
    X(KEY_DELETE, "DELETE FROM keys WHERE access_key_id = ?1")                                     \
    X(KEY_PURGE, "DELETE FROM keys WHERE expires_ms > 0 AND expires_ms <= ?1")                     \
    X(USER_INSERT, "INSERT INTO users (account_id, name, created_ms) VALUES (?1, ?2, ?3)")         \
    X(USER_GET, "SELECT " UCOLS " FROM users WHERE id = ?1")                                       \
    X(USER_GET_NAME, "SELECT " UCOLS " FROM users WHERE account_id = ?1 AND name = ?2")            \
    X(USER_LIST, "SELECT " UCOLS " FROM users WHERE account_id = ?1 ORDER BY name")                \
    X(USER_IN_ACCT, "SELECT 1 FROM users WHERE id = ?1 AND account_id = ?2")                       \
    X(USER_HAS_MFA, "SELECT 1 FROM mfa_devices WHERE account_id = ?1 AND user_id = ?2 LIMIT 1")    \
    X(USER_DEL_KEYS, "DELETE FROM keys WHERE account_id = ?1 AND user_id = ?2")                    \
    X(USER_DELETE, "DELETE FROM users WHERE id = ?1")                                              \
    X(MFA_INSERT, "INSERT INTO mfa_devices (account_id, user_id, serial, name, path, is_virtual, " \
                  "is_enabled, seed_sealed, created_ms, enabled_ms, last_step, offset_steps, "     \
                  "fail_start_s, fail_count, owner_id) "                                           \
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)")     \
    X(MFA_GET, "SELECT " MCOLS ", seed_sealed FROM mfa_devices WHERE serial = ?1")                 \
    X(MFA_LIST_ALL, "SELECT " MCOLS " FROM mfa_devices WHERE account_id = ?1 ORDER BY serial")     \
    X(MFA_LIST_OWNER, "SELECT " MCOLS " FROM mfa_devices WHERE account_id = ?1 AND user_id = ?2 "  \
                      "ORDER BY serial")                                                           \
    X(MFA_SET_STATE, "UPDATE mfa_devices SET last_step = ?2, offset_steps = ?3, "                  \
                     "fail_start_s = ?4, fail_count = ?5 WHERE id = ?1")                           \
    X(MFA_ENABLE, "UPDATE mfa_devices SET is_enabled = 1, user_id = ?2, owner_id = ?2, "           \
                  "enabled_ms = ?3 "                                                               \
                  "WHERE id = ?1 AND (CAST(?2 AS BIGINT) = 0 OR EXISTS (SELECT 1 FROM users "      \
                  "WHERE users.id = ?2 AND users.account_id = mfa_devices.account_id))")           \
    X(MFA_DISABLE, "UPDATE mfa_devices SET is_enabled = 0, user_id = -1, enabled_ms = 0 "          \
                   "WHERE id = ?1")                                                                \
    X(MFA_DELETE, "DELETE FROM mfa_devices WHERE id = ?1")                                         \
    X(AUDIT_INSERT, "INSERT INTO audit (time_ms, event, principal, bucket, key, version_id, "      \
                    "source, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")                     \
    X(AUDIT_LIST, "SELECT id, time_ms, event, principal, bucket, key, version_id, source, detail " \
                  "FROM audit WHERE id > ?1 ORDER BY id LIMIT ?2")                                 \
    X(BKT_INSERT, "INSERT INTO buckets (name, account_id, region, created_ms) "                    \
                  "VALUES (?1, ?2, ?3, ?4)")                                                       \
    X(BKT_GET, "SELECT " BCOLS " FROM buckets WHERE name = ?1")                                    \
    X(BKT_LIST_ALL, "SELECT " BCOLS " FROM buckets ORDER BY name")                                 \
    X(BKT_LIST_ACCT, "SELECT " BCOLS " FROM buckets WHERE account_id = ?1 ORDER BY name")          \
    X(BKT_HAS_VERSIONS, "SELECT 1 FROM versions WHERE bucket_id = ?1 LIMIT 1")                     \
    X(BKT_DELETE, "DELETE FROM buckets WHERE id = ?1")                                             \
    X(BKT_SET_VER, "UPDATE buckets SET versioning = ?2, mfa_delete = ?3 WHERE id = ?1")            \
    X(BKT_SET_LC, "UPDATE buckets SET lifecycle = ?2 WHERE id = ?1")                               \
    X(V_NEXT_SEQ, "UPDATE counters SET value = value + ?1 WHERE name = 'version_seq' "          \
                  "RETURNING value")                                                              \
    X(V_INSERT, "INSERT INTO versions (seq, bucket_id, key, version_id, is_latest, is_dm, size, "  \
                "mtime_ms, owner_id, etag, content_type, meta, checksum_algo, checksum_value, "    \
                "blob_id, inline_data, parts_count, storage_class, tags) VALUES (?1, ?2, ?3, ?4, " \
                "1, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18)")             \
    X(V_UNLATEST, "UPDATE versions SET is_latest = 0, noncurrent_ms = ?4 WHERE seq = (SELECT seq " \
                  "FROM versions WHERE bucket_id = ?1 AND key = ?2 AND seq < ?3 "                  \
                  "ORDER BY seq DESC LIMIT 1)")                                                    \
    X(V_GET_LATEST, "SELECT " VCOLS ", inline_data, acl, tags FROM versions "                      \
                    "WHERE bucket_id = ?1 AND key = ?2 ORDER BY seq DESC LIMIT 1")                 \
    X(V_GET_VID, "SELECT " VCOLS ", inline_data, acl, tags FROM versions WHERE bucket_id = ?1 "    \
                 "AND key = ?2 AND version_id = ?3")                                               \
    X(V_GET_SEQ, "SELECT " VCOLS ", inline_data, acl, tags FROM versions WHERE seq = ?1")          \
    X(V_PROMOTE, "UPDATE versions SET is_latest = 1, noncurrent_ms = 0 WHERE seq = (SELECT n.seq " \
                 "FROM versions d "                                                                \
                 "JOIN versions n ON n.bucket_id = d.bucket_id AND n.key = d.key "                 \
                 "AND n.seq < d.seq WHERE d.seq = ?1 AND d.is_latest = 1 "                         \
                 "ORDER BY n.seq DESC LIMIT 1)")                                                   \
    X(V_DELETE, "DELETE FROM versions WHERE seq = ?1")                                             \
    X(V_COUNT, "SELECT count(*) FROM versions WHERE bucket_id = ?1")                               \
    X(BLOB_REF, "SELECT 1 FROM versions WHERE blob_id = ?1 LIMIT 1")                               \
    X(LO_GT_HI, LIST_OBJ(">", HI))                                                                 \
    X(LO_GE_HI, LIST_OBJ(">=", HI))                                                                \
    X(LO_GT, LIST_OBJ(">", ""))                                                                    \
    X(LO_GE, LIST_OBJ(">=", ""))                                                                   \
    X(LV_GT_HI, LIST_VER(">", HI))                                                                 \
    X(LV_GE_HI, LIST_VER(">=", HI))                                                                \
    X(LV_GT, LIST_VER(">", ""))                                                                    \
    X(LV_GE, LIST_VER(">=", ""))                                                                   \
    X(LV_KEY, "SELECT " LVCOLS " FROM versions INDEXED BY versions_key_seq "                       \
              "WHERE bucket_id = ?1 AND key = ?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4")         \
    X(BLOB_REF_UP, "SELECT 1 FROM upload_parts WHERE blob_id = ?1 LIMIT 1")                        \
    X(BLOB_REF_VP, "SELECT 1 FROM version_parts WHERE blob_id = ?1 LIMIT 1")                       \
    X(UP_INSERT, "INSERT INTO uploads (upload_id, bucket_id, key, initiated_ms, owner_id, "        \
                 "content_type, meta, checksum_algo, checksum_type, object_owner, acl, tags, "     \
                 "storage_class) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)") \
    X(UP_GET, "SELECT " UPCOLS " FROM uploads WHERE upload_id = ?1")                               \
    X(UP_LIST_ALL, "SELECT " UPCOLS " FROM uploads WHERE id > ?1 ORDER BY id LIMIT ?2")            \
    X(UL_KEY, "SELECT " UPCOLS " FROM uploads INDEXED BY uploads_key "                             \
              "WHERE bucket_id = ?1 AND key = ?2 AND id > ?3 ORDER BY id LIMIT ?4")                \
    X(UL_GT_HI, LIST_UP(">", HI))                                                                  \
    X(UL_GE_HI, LIST_UP(">=", HI))                                                                 \
    X(UL_GT, LIST_UP(">", ""))                                                                     \
    X(UL_GE, LIST_UP(">=", ""))                                                                    \
    X(UP_TRASH, "INSERT INTO blob_trash (blob_id) SELECT p.blob_id FROM upload_parts p "           \
                "WHERE p.upload = ?1 AND NOT EXISTS (SELECT 1 FROM version_parts v "               \
                "WHERE v.blob_id = p.blob_id)")                                                    \
    X(UP_DEL_PARTS, "DELETE FROM upload_parts WHERE upload = ?1")                                  \
    X(UP_DELETE, "DELETE FROM uploads WHERE id = ?1")                                              \
    X(UP_TRASH_BKT, "INSERT INTO blob_trash (blob_id) SELECT p.blob_id FROM uploads u "            \
                    "JOIN upload_parts p ON p.upload = u.id WHERE u.bucket_id = ?1")               \
    X(UP_DEL_PARTS_BKT, "DELETE FROM upload_parts WHERE upload IN "                                \
                        "(SELECT id FROM uploads WHERE bucket_id = ?1)")                           \
    X(UP_DEL_BKT, "DELETE FROM uploads WHERE bucket_id = ?1")                                      \
    X(PART_TRASH, "INSERT INTO blob_trash (blob_id) SELECT blob_id FROM upload_parts "             \
                  "WHERE upload = ?1 AND part_number = ?2")                                        \
    X(PART_PUT, "INSERT INTO upload_parts (upload, part_number, size, mtime_ms, blob_id, etag, "   \
                "checksum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT (upload, part_number) " \
                "DO UPDATE SET size = excluded.size, mtime_ms = excluded.mtime_ms, "               \
                "blob_id = excluded.blob_id, etag = excluded.etag, checksum = excluded.checksum")  \
    X(PART_LIST, "SELECT " PCOLS " FROM upload_parts WHERE upload = ?1 AND part_number > ?2 "      \
                 "ORDER BY part_number LIMIT ?3")                                                  \
    X(VP_INSERT, "INSERT INTO version_parts (seq, part_number, first_byte, size, mtime_ms, "       \
                 "blob_id, etag, checksum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")               \
    X(VP_GET, "SELECT " VPCOLS " FROM version_parts WHERE seq = ?1 AND part_number = ?2")          \
    X(VP_AT, "SELECT " VPCOLS " FROM version_parts INDEXED BY version_parts_first_byte "           \
             "WHERE seq = ?1 AND first_byte <= ?2 ORDER BY first_byte DESC LIMIT 1")               \
    X(VP_LIST, "SELECT " VPCOLS " FROM version_parts WHERE seq = ?1 AND part_number > ?2 "         \
               "ORDER BY part_number LIMIT ?3")                                                    \
    X(VP_TRASH, "INSERT INTO blob_trash (blob_id, trashed_ms) SELECT blob_id, " NOW_MS " "        \
                "FROM version_parts "                                                              \
                "WHERE seq = ?1")                                                                  \
    X(VP_DELETE, "DELETE FROM version_parts WHERE seq = ?1")                                       \
    X(TRASH_ADD, "INSERT INTO blob_trash (blob_id, trashed_ms) VALUES (?1, " NOW_MS ")")          \
    X(TRASH_LIST, "SELECT id, blob_id FROM blob_trash INDEXED BY blob_trash_time "                 \
                  "WHERE trashed_ms <= ?2 ORDER BY trashed_ms, id LIMIT ?1")                       \
    X(TRASH_DEL, "DELETE FROM blob_trash WHERE id = ?1")                                           \
    X(TRASH_DUE, "SELECT 1 FROM blob_trash INDEXED BY blob_trash_time WHERE trashed_ms <= ?1 "     \
                 "LIMIT 1")                                                                        \
    X(BKT_STATS, "SELECT count(*), "                                                               \
                 "coalesce(sum(CASE WHEN versioning = 1 THEN 1 ELSE 0 END), 0), "                  \
                 "coalesce(sum(CASE WHEN mfa_delete != 0 THEN 1 ELSE 0 END), 0) FROM buckets")     \
    MD_LENS_STMTS(X)                                                                               \
    MD_DASH_STMTS(X)                                                                               \
    MD_IAM_STMTS(X)                                                                                \
    MD_LC_STMTS(X)                                                                                 \
    MD_USAGE_STMTS(X)

/* Schema 13: the lifecycle executor's scan and progress (md_lifecycle.c).
 * LCCOLS are in versions_key_seq (the scan reads the index alone); the
 * sole-marker test is an index probe made only for latest markers; tags
 * cost a table lookup per row, so only the _T statements read them. */
#define LCCOLS                                                                                     \
    "seq, key, version_id, is_latest, is_dm, size, mtime_ms, noncurrent_ms, etag, "                \
    "storage_class, CASE WHEN is_latest = 1 AND is_dm = 1 AND NOT EXISTS (SELECT 1 FROM "          \
    "versions o INDEXED BY versions_key_seq WHERE o.bucket_id = v.bucket_id AND o.key = v.key "    \
    "AND o.seq < v.seq) THEN 1 ELSE 0 END"
#define LC_SCAN(cols, where)                                                                       \
    "SELECT " cols " FROM versions v INDEXED BY versions_key_seq WHERE bucket_id = ?1 AND " where  \
    " ORDER BY key, seq DESC LIMIT ?4"
#define LC_KEY "key = ?2 AND seq < ?3"
#define MD_LC_STMTS(X)                                                                             \
    X(LC_SCAN_KEY, LC_SCAN(LCCOLS, LC_KEY))                                                        \
    X(LC_SCAN_GT, LC_SCAN(LCCOLS, "key > ?2"))                                                     \
    X(LC_SCAN_KEY_T, LC_SCAN(LCCOLS ", tags", LC_KEY))                                             \
    X(LC_SCAN_GT_T, LC_SCAN(LCCOLS ", tags", "key > ?2"))                                          \
    X(LC_SCAN_ALL, LC_SCAN(LCCOLS, "key >= ''"))                                                   \
    X(LC_SCAN_ALL_T, LC_SCAN(LCCOLS ", tags", "key >= ''"))                                        \
    X(V_SET_CLASS, "UPDATE versions SET storage_class = ?2 WHERE seq = ?1")                        \
    X(LCS_GET, "SELECT bucket_id, pass_started_ms, phase, cursor_key, cursor_seq, "                \
               "cursor_noncurrent, n_actions, updated_ms FROM lifecycle_state WHERE bucket_id = ?1") \
    X(LCS_PUT, "INSERT INTO lifecycle_state (bucket_id, pass_started_ms, phase, cursor_key, "      \
               "cursor_seq, cursor_noncurrent, n_actions, updated_ms) "                            \
               "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) ON CONFLICT (bucket_id) DO UPDATE SET "    \
               "pass_started_ms = excluded.pass_started_ms, phase = excluded.phase, "              \
               "cursor_key = excluded.cursor_key, cursor_seq = excluded.cursor_seq, "              \
               "cursor_noncurrent = excluded.cursor_noncurrent, n_actions = excluded.n_actions, "  \
               "updated_ms = excluded.updated_ms")                                                 \
    X(LCS_DELETE, "DELETE FROM lifecycle_state WHERE bucket_id = ?1")

/* Schema 14: usage accounting (md_usage.c). The scans read versions_key_seq
 * and uploads_key alone (plus each upload's parts); USGCOLS is a row of
 * usage_daily in md_usage.c's column order. USG_ROWS is each bucket's
 * latest row on or before day ?2: one pass over usage_daily in primary-key
 * order (bucket_id, day), a table of at most 457 rows per bucket ever
 * refreshed, read by the admin paths only; md_usage.c filters and sorts. */
#define USG_SCAN_V(where)                                                                          \
    "SELECT key, seq, is_latest, is_dm, size FROM versions INDEXED BY versions_key_seq "           \
    "WHERE bucket_id = ?1 AND " where " ORDER BY key, seq DESC LIMIT ?4"
#define USG_SCAN_U(where)                                                                          \
    "SELECT u.key, u.id, u.initiated_ms, "                                                         \
    "coalesce((SELECT sum(p.size) FROM upload_parts p WHERE p.upload = u.id), 0) "                 \
    "FROM uploads u INDEXED BY uploads_key WHERE u.bucket_id = ?1 AND " where                      \
    " ORDER BY u.key, u.id LIMIT ?4"
#define USGCOLS                                                                                    \
    "u.bucket_id, u.day, u.account_id, u.bucket, u.gone, u.versioning, u.mfa_delete, "             \
    "u.cur_count, u.cur_bytes, u.nc_count, u.nc_bytes, u.dm_count, u.dm_bytes, u.mpu_count, "      \
    "u.mpu_bytes, u.mpu_old_count, u.mpu_old_bytes, u.refreshed_ms"
#define USG_INS                                                                                    \
    "bucket_id, day, account_id, bucket, gone, versioning, mfa_delete, cur_count, cur_bytes, "     \
    "nc_count, nc_bytes, dm_count, dm_bytes, mpu_count, mpu_bytes, mpu_old_count, "                \
    "mpu_old_bytes, refreshed_ms"
#define USG_UPSERT                                                                                 \
    "ON CONFLICT (bucket_id, day) DO UPDATE SET account_id = excluded.account_id, "         \
    "bucket = excluded.bucket, gone = excluded.gone, versioning = excluded.versioning, "            \
    "mfa_delete = excluded.mfa_delete, cur_count = excluded.cur_count, "                           \
    "cur_bytes = excluded.cur_bytes, nc_count = excluded.nc_count, nc_bytes = excluded.nc_bytes, " \
    "dm_count = excluded.dm_count, dm_bytes = excluded.dm_bytes, mpu_count = excluded.mpu_count, " \
    "mpu_bytes = excluded.mpu_bytes, mpu_old_count = excluded.mpu_old_count, "                     \
    "mpu_old_bytes = excluded.mpu_old_bytes, refreshed_ms = excluded.refreshed_ms"
#define MD_USAGE_STMTS(X)                                                                          \
    X(USG_V_ALL, USG_SCAN_V("key >= ''"))                                                          \
    X(USG_V_KEY, USG_SCAN_V("key = ?2 AND seq < ?3"))                                              \
    X(USG_V_GT, USG_SCAN_V("key > ?2"))                                                            \
    X(USG_U_ALL, USG_SCAN_U("u.key >= ''"))                                                        \
    X(USG_U_KEY, USG_SCAN_U("u.key = ?2 AND u.id > ?3"))                                           \
    X(USG_U_GT, USG_SCAN_U("u.key > ?2"))                                                          \
    X(USG_PUT, "INSERT INTO usage_daily (" USG_INS ") VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8, " \
               "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17) " USG_UPSERT)                          \
    X(USG_GONE, "INSERT INTO usage_daily (" USG_INS ") SELECT u.bucket_id, ?1, u.account_id, "     \
                "u.bucket, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, ?2 FROM usage_daily u "          \
                "JOIN (SELECT bucket_id AS b, max(day) AS d FROM usage_daily GROUP BY bucket_id) m " \
                "ON u.bucket_id = m.b AND u.day = m.d WHERE u.gone = 0 AND NOT EXISTS "            \
                "(SELECT 1 FROM buckets b WHERE b.id = u.bucket_id) " USG_UPSERT)                  \
    X(USG_PRUNE, "DELETE FROM usage_daily WHERE day < ?1")                                         \
    X(USG_ROWS, "SELECT " USGCOLS " FROM usage_daily u JOIN (SELECT bucket_id AS b, "            \
                "max(day) AS d FROM usage_daily WHERE day <= ?2 GROUP BY bucket_id) m "            \
                "ON u.bucket_id = m.b AND u.day = m.d WHERE u.gone = 0")                           \
    X(USG_HIST_ALL, "SELECT " USGCOLS " FROM usage_daily u WHERE u.day <= ?2 ORDER BY u.day")      \
    X(USG_HIST_ACCT, "SELECT " USGCOLS " FROM usage_daily u WHERE u.account_id = ?1 "              \
                     "AND u.day <= ?2 ORDER BY u.day")

#define BCOLS                                                                                      \
    "id, name, account_id, region, created_ms, versioning, mfa_delete, lifecycle, policy, "        \
    "ownership, pab, acl, tags, cors"
#define ACOLS "id, name, canonical_id, created_ms, pab"
#define KCOLS                                                                                      \
    "access_key_id, account_id, user_id, created_ms, is_active, session_token_sha256, "            \
    "expires_ms, mfa_auth_ms, role_id, session_name, session_policy, session_policy_arns, "        \
    "mfa_inherited"
#define UCOLS "id, account_id, name, created_ms"
#define UPCOLS                                                                                     \
    "id, upload_id, bucket_id, key, initiated_ms, owner_id, content_type, meta, checksum_algo, "   \
    "checksum_type, object_owner, acl, tags, storage_class"
#define PCOLS "part_number, 0, size, mtime_ms, blob_id, etag, checksum"
#define VPCOLS "part_number, first_byte, size, mtime_ms, blob_id, etag, checksum"
#define LIST_UP(lo, hi)                                                                            \
    "SELECT " UPCOLS " FROM uploads INDEXED BY uploads_key "                                       \
    "WHERE bucket_id = ?1 AND key " lo " ?2" hi " ORDER BY key, id LIMIT ?4"
#define MCOLS                                                                                      \
    "id, account_id, user_id, serial, name, path, is_virtual, is_enabled, created_ms, "            \
    "enabled_ms, last_step, offset_steps, fail_start_s, fail_count, owner_id"

/* Schema 9: IAM groups, roles, policies, attachments, access control of
 * buckets, accounts and versions (md_iam.c, md_iam_pol.c, md_access.c).
 * Entity kinds: 1 user, 2 group, 3 role (enum md_entity). */
#define GCOLS "g.id, g.account_id, g.name, g.path, g.uid, g.created_ms"
#define RCOLS                                                                                      \
    "id, account_id, name, path, uid, trust_policy, description, max_session_s, created_ms"
#define POLCOLS                                                                                    \
    "p.id, p.account_id, p.name, p.path, p.uid, p.arn, p.description, p.default_version, "         \
    "p.created_ms, p.updated_ms, (SELECT count(*) FROM policy_attachments a "                      \
    "WHERE a.account_id = p.account_id AND a.policy_arn = p.arn)"
/* The name of entity (?1 kind, ?2 id). */
#define ENT_NAME                                                                                   \
    "CASE ?1 WHEN 1 THEN (SELECT name FROM users WHERE id = ?2) "                                  \
    "WHEN 2 THEN (SELECT name FROM iam_groups WHERE id = ?2) "                                     \
    "ELSE (SELECT name FROM roles WHERE id = ?2) END"
/* Attached policies with the default version's document of customer ones. */
#define ATT_DOC                                                                                    \
    "FROM policy_attachments a LEFT JOIN policies p ON p.arn = a.policy_arn "                      \
    "LEFT JOIN policy_versions v ON v.policy_id = p.id AND v.version = p.default_version "
#define MD_IAM_STMTS(X)                                                                            \
    X(GEN_BUMP, "UPDATE counters SET value = value + 1 WHERE name = 'policy_gen'")                \
    X(GEN_GET, "SELECT value FROM counters WHERE name = 'policy_gen'")                            \
    X(ACCT_SET_PAB, "UPDATE accounts SET pab = ?2 WHERE id = ?1")                                  \
    X(BKT_SET_POLICY, "UPDATE buckets SET policy = ?2 WHERE id = ?1")                              \
    X(BKT_SET_OWN, "UPDATE buckets SET ownership = ?2 WHERE id = ?1")                              \
    X(BKT_SET_PAB, "UPDATE buckets SET pab = ?2 WHERE id = ?1")                                    \
    X(BKT_SET_ACL, "UPDATE buckets SET acl = ?2 WHERE id = ?1")                                    \
    X(V_SET_ACL, "UPDATE versions SET acl = ?2 WHERE seq = ?1")                                    \
    X(V_SET_TAGS, "UPDATE versions SET tags = ?2 WHERE seq = ?1")                                  \
    X(BKT_SET_TAGS, "UPDATE buckets SET tags = ?2 WHERE id = ?1")                                  \
    X(BKT_SET_CORS, "UPDATE buckets SET cors = ?2 WHERE id = ?1")                                  \
    X(UPD_PRUNE, "DELETE FROM uploads_done WHERE done_ms < ?1")                                    \
    X(UPD_INSERT, "INSERT INTO uploads_done (upload_id, bucket_id, seq, done_ms) "                 \
                  "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (upload_id) DO UPDATE SET "                 \
                  "bucket_id = excluded.bucket_id, seq = excluded.seq, done_ms = excluded.done_ms") \
    X(UPD_GET, "SELECT bucket_id, seq FROM uploads_done WHERE upload_id = ?1")                     \
    X(ENT_USER_ACCT, "SELECT account_id FROM users WHERE id = ?1")                                 \
    X(ENT_GROUP_ACCT, "SELECT account_id FROM iam_groups WHERE id = ?1")                           \
    X(ENT_ROLE_ACCT, "SELECT account_id FROM roles WHERE id = ?1")                                 \
    X(ENT_HAS_INLINE, "SELECT 1 FROM inline_policies WHERE entity_kind = ?1 "                      \
                      "AND entity_id = ?2 LIMIT 1")                                                \
    X(ENT_HAS_ATT, "SELECT 1 FROM policy_attachments WHERE entity_kind = ?1 "                      \
                   "AND entity_id = ?2 LIMIT 1")                                                   \
    X(ENT_DEL_INLINE, "DELETE FROM inline_policies WHERE entity_kind = ?1 AND entity_id = ?2")     \
    X(ENT_DEL_ATT, "DELETE FROM policy_attachments WHERE entity_kind = ?1 AND entity_id = ?2")     \
    X(GRP_INSERT, "INSERT INTO iam_groups (account_id, name, path, uid, created_ms) "              \
                  "VALUES (?1, ?2, ?3, ?4, ?5)")                                                   \
    X(GRP_GET, "SELECT " GCOLS " FROM iam_groups g WHERE g.id = ?1")                               \
    X(GRP_GET_NAME, "SELECT " GCOLS " FROM iam_groups g WHERE g.account_id = ?1 AND g.name = ?2")  \
    X(GRP_LIST, "SELECT " GCOLS " FROM iam_groups g WHERE g.account_id = ?1 ORDER BY g.name")      \
    X(GRP_HAS_MEMBERS, "SELECT 1 FROM group_members WHERE group_id = ?1 LIMIT 1")                  \
    X(GRP_DELETE, "DELETE FROM iam_groups WHERE id = ?1")                                          \
    X(GM_ADD, "INSERT INTO group_members (group_id, user_id) SELECT g.id, u.id FROM iam_groups g " \
              "JOIN users u ON u.account_id = g.account_id WHERE g.id = ?1 AND u.id = ?2")         \
    X(GM_DEL, "DELETE FROM group_members WHERE group_id = ?1 AND user_id = ?2")                    \
    X(GM_DEL_USER, "DELETE FROM group_members WHERE user_id = ?1")                                 \
    X(GM_MEMBERS, "SELECT " UCOLS " FROM users WHERE id IN "                                       \
                  "(SELECT user_id FROM group_members WHERE group_id = ?1)")                       \
    X(GM_GROUPS, "SELECT " GCOLS " FROM group_members m JOIN iam_groups g ON g.id = m.group_id "   \
                 "WHERE m.user_id = ?1")                                                           \
    X(ROLE_INSERT, "INSERT INTO roles (account_id, name, path, uid, trust_policy, description, "   \
                   "max_session_s, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)")           \
    X(ROLE_GET, "SELECT " RCOLS " FROM roles WHERE id = ?1")                                       \
    X(ROLE_GET_NAME, "SELECT " RCOLS " FROM roles WHERE account_id = ?1 AND name = ?2")            \
    X(ROLE_LIST, "SELECT " RCOLS " FROM roles WHERE account_id = ?1 ORDER BY name")                \
    X(ROLE_DELETE, "DELETE FROM roles WHERE id = ?1")                                              \
    X(ROLE_DEL_KEYS, "DELETE FROM keys WHERE role_id = ?1 AND role_id > 0")                        \
    X(ROLE_SET_TRUST, "UPDATE roles SET trust_policy = ?2 WHERE id = ?1")                          \
    X(POL_INSERT, "INSERT INTO policies (account_id, name, path, uid, arn, description, "          \
                  "default_version, last_version, created_ms, updated_ms) "                        \
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, 1, 1, ?7, ?7)")                                 \
    X(POL_GET, "SELECT " POLCOLS " FROM policies p WHERE p.id = ?1")                               \
    X(POL_GET_ARN, "SELECT " POLCOLS " FROM policies p WHERE p.arn = ?1")                          \
    X(POL_LIST, "SELECT " POLCOLS " FROM policies p WHERE p.account_id = ?1 ORDER BY p.name")      \
    X(POL_ATTACHED, "SELECT 1 FROM policy_attachments a JOIN policies p "                          \
                    "ON a.account_id = p.account_id AND a.policy_arn = p.arn "                     \
                    "WHERE p.id = ?1 LIMIT 1")                                                     \
    X(POL_DELETE, "DELETE FROM policies WHERE id = ?1")                                            \
    X(POL_VER_STATE, "SELECT last_version, default_version, (SELECT count(*) FROM "                \
                     "policy_versions WHERE policy_id = ?1) FROM policies WHERE id = ?1")          \
    X(POL_NEXT_VER, "UPDATE policies SET last_version = ?2, updated_ms = ?3 WHERE id = ?1")        \
    X(POL_SET_DEFAULT, "UPDATE policies SET default_version = ?2, updated_ms = ?3 WHERE id = ?1 "  \
                       "AND EXISTS (SELECT 1 FROM policy_versions WHERE policy_id = ?1 "           \
                       "AND version = ?2)")                                                        \
    X(PV_INSERT, "INSERT INTO policy_versions (policy_id, version, document, created_ms) "         \
                 "VALUES (?1, ?2, ?3, ?4)")                                                        \
    X(PV_GET, "SELECT v.version, v.document, v.version = p.default_version, v.created_ms "         \
              "FROM policy_versions v JOIN policies p ON p.id = v.policy_id "                      \
              "WHERE v.policy_id = ?1 AND v.version = ?2")                                         \
    X(PV_LIST, "SELECT v.version, CASE WHEN ?2 THEN v.document ELSE '' END, "                      \
               "v.version = p.default_version, v.created_ms "                                      \
               "FROM policy_versions v JOIN policies p ON p.id = v.policy_id "                     \
               "WHERE v.policy_id = ?1 ORDER BY v.version DESC")                                   \
    X(PV_DELETE, "DELETE FROM policy_versions WHERE policy_id = ?1 AND version = ?2")              \
    X(PV_DEL_ALL, "DELETE FROM policy_versions WHERE policy_id = ?1")                              \
    X(INL_PUT, "INSERT INTO inline_policies (entity_kind, entity_id, name, document) "             \
               "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (entity_kind, entity_id, name) "               \
               "DO UPDATE SET name = excluded.name, document = excluded.document")                 \
    X(INL_GET, "SELECT name, document FROM inline_policies WHERE entity_kind = ?1 "                \
               "AND entity_id = ?2 AND name = ?3")                                                 \
    X(INL_LIST, "SELECT name, document FROM inline_policies WHERE entity_kind = ?1 "               \
                "AND entity_id = ?2 ORDER BY name")                                                \
    X(INL_DELETE, "DELETE FROM inline_policies WHERE entity_kind = ?1 AND entity_id = ?2 "         \
                  "AND name = ?3")                                                                 \
    X(ATT_ADD, "INSERT INTO policy_attachments (entity_kind, entity_id, policy_arn, account_id) "  \
               "VALUES (?1, ?2, ?3, ?4)")                                                          \
    X(ATT_DEL, "DELETE FROM policy_attachments WHERE entity_kind = ?1 AND entity_id = ?2 "         \
               "AND policy_arn = ?3")                                                              \
    X(ATT_LIST, "SELECT policy_arn FROM policy_attachments WHERE entity_kind = ?1 "                \
                "AND entity_id = ?2 ORDER BY policy_arn")                                          \
    X(ATT_COUNT, "SELECT count(*) FROM policy_attachments WHERE account_id = ?1 "                  \
                 "AND policy_arn = ?2")                                                            \
    X(ATT_ENTITIES, "SELECT a.entity_kind, a.entity_id, CASE a.entity_kind "                       \
                    "WHEN 1 THEN (SELECT name FROM users WHERE id = a.entity_id) "                 \
                    "WHEN 2 THEN (SELECT name FROM iam_groups WHERE id = a.entity_id) "            \
                    "ELSE (SELECT name FROM roles WHERE id = a.entity_id) END "                    \
                    "FROM policy_attachments a WHERE a.account_id = ?1 AND a.policy_arn = ?2 "     \
                    "ORDER BY a.entity_kind, a.entity_id")                                         \
    X(PRINCIPAL_POLICIES,                                                                          \
      "SELECT CAST(?1 AS BIGINT), CAST(?2 AS BIGINT), " ENT_NAME ", 1, i.name, i.document "     \
      "FROM inline_policies i "                                                                    \
      "WHERE i.entity_kind = ?1 AND i.entity_id = ?2 "                                             \
      "UNION ALL SELECT 2, g.id, g.name, 1, i.name, i.document FROM group_members m "              \
      "JOIN iam_groups g ON g.id = m.group_id JOIN inline_policies i ON i.entity_kind = 2 "        \
      "AND i.entity_id = m.group_id WHERE ?1 = 1 AND m.user_id = ?2 "                              \
      "UNION ALL SELECT ?1, ?2, " ENT_NAME ", 0, a.policy_arn, v.document " ATT_DOC                \
      "WHERE a.entity_kind = ?1 AND a.entity_id = ?2 "                                             \
      "UNION ALL SELECT 2, g.id, g.name, 0, a.policy_arn, v.document FROM group_members m "        \
      "JOIN iam_groups g ON g.id = m.group_id JOIN policy_attachments a ON a.entity_kind = 2 "     \
      "AND a.entity_id = m.group_id LEFT JOIN policies p ON p.arn = a.policy_arn "                 \
      "LEFT JOIN policy_versions v ON v.policy_id = p.id AND v.version = p.default_version "      \
      "WHERE ?1 = 1 AND m.user_id = ?2")                                                           \
    X(ACCT_DEL_GM, "DELETE FROM group_members WHERE group_id IN "                                  \
                   "(SELECT id FROM iam_groups WHERE account_id = ?1)")                            \
    X(ACCT_DEL_INL_U, "DELETE FROM inline_policies WHERE entity_kind = 1 AND entity_id IN "        \
                      "(SELECT id FROM users WHERE account_id = ?1)")                              \
    X(ACCT_DEL_INL_G, "DELETE FROM inline_policies WHERE entity_kind = 2 AND entity_id IN "        \
                      "(SELECT id FROM iam_groups WHERE account_id = ?1)")                         \
    X(ACCT_DEL_INL_R, "DELETE FROM inline_policies WHERE entity_kind = 3 AND entity_id IN "        \
                      "(SELECT id FROM roles WHERE account_id = ?1)")                              \
    X(ACCT_DEL_ATT, "DELETE FROM policy_attachments WHERE account_id = ?1")                        \
    X(ACCT_DEL_PV, "DELETE FROM policy_versions WHERE policy_id IN "                               \
                   "(SELECT id FROM policies WHERE account_id = ?1)")                              \
    X(ACCT_DEL_POL, "DELETE FROM policies WHERE account_id = ?1")                                  \
    X(ACCT_DEL_ROLES, "DELETE FROM roles WHERE account_id = ?1")                                   \
    X(ACCT_DEL_GROUPS, "DELETE FROM iam_groups WHERE account_id = ?1")

#endif
