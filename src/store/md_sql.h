/* md_sql.h -- every SQL statement of the SQLite metadata backend, as one
 * X-macro table: X(name, sql). md_int.h turns the names into enum md_st;
 * md_sqlite.c prepares each statement once per connection, on first use.
 * Column lists shared by several statements come first; md_*.c read rows
 * in these column orders. Included only by md_int.h. */
#ifndef COFFER_STORE_MD_SQL_H
#define COFFER_STORE_MD_SQL_H


/* Columns of a version row in struct md_version order; inline_data last so
 * listings can leave it out. */
#define VCOLS                                                                                      \
    "seq, bucket_id, key, version_id, is_latest, is_dm, size, mtime_ms, owner_id, etag, "          \
    "content_type, meta, checksum_algo, checksum_value, blob_id, parts_count"
#define LIST_OBJ(lo, hi)                                                                           \
    "SELECT " VCOLS " FROM versions INDEXED BY versions_latest "                                   \
    "WHERE bucket_id = ?1 AND is_latest = 1 AND is_dm = 0 AND key " lo " ?2" hi                    \
    " ORDER BY key LIMIT ?4"
/* VCOLS with what a version listing does not show left empty (same column
 * positions, read by row_version()): all of it comes from the index. */
#define LVCOLS                                                                                     \
    "seq, bucket_id, key, version_id, is_latest, is_dm, size, mtime_ms, owner_id, etag, "          \
    "'', '', checksum_algo, '', NULL, parts_count"
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
    X(ACCT_GET, "SELECT id, name, canonical_id, created_ms FROM accounts WHERE id = ?1")           \
    X(ACCT_GET_NAME, "SELECT id, name, canonical_id, created_ms FROM accounts WHERE name = ?1")    \
    X(ACCT_LIST, "SELECT id, name, canonical_id, created_ms FROM accounts ORDER BY id")            \
    X(ACCT_HAS_BUCKETS, "SELECT 1 FROM buckets WHERE account_id = ?1 LIMIT 1")                     \
    X(ACCT_DEL_KEYS, "DELETE FROM keys WHERE account_id = ?1")                                     \
    X(ACCT_DEL_USERS, "DELETE FROM users WHERE account_id = ?1")                                   \
    X(ACCT_DEL_MFA, "DELETE FROM mfa_devices WHERE account_id = ?1")                               \
    X(ACCT_DELETE, "DELETE FROM accounts WHERE id = ?1")                                           \
    X(KEY_INSERT, "INSERT INTO keys (access_key_id, account_id, user_id, secret_sealed, "          \
                  "created_ms, is_active, session_token_sha256, expires_ms, mfa_auth_ms) "         \
                  "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")                                   \
    X(KEY_GET, "SELECT " KCOLS ", secret_sealed FROM keys WHERE access_key_id = ?1")               \
    X(KEY_LIST, "SELECT " KCOLS " FROM keys WHERE account_id = ?1 ORDER BY access_key_id")         \
    X(KEY_ANY, "SELECT 1 FROM keys LIMIT 1")                                                       \
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
                  "WHERE id = ?1 AND (?2 = 0 OR EXISTS (SELECT 1 FROM users WHERE users.id = ?2 "  \
                  "AND users.account_id = mfa_devices.account_id))")                               \
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
    X(V_NEXT_SEQ, "UPDATE counters SET value = value + 1 WHERE name = 'version_seq' "           \
                  "RETURNING value")                                                              \
    X(V_INSERT, "INSERT INTO versions (seq, bucket_id, key, version_id, is_latest, is_dm, size, "  \
                "mtime_ms, owner_id, etag, content_type, meta, checksum_algo, checksum_value, "    \
                "blob_id, inline_data, parts_count) VALUES (?1, ?2, ?3, ?4, 1, ?5, ?6, ?7, ?8, "   \
                "?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)")                                          \
    X(V_UNLATEST, "UPDATE versions SET is_latest = 0 WHERE seq = (SELECT seq FROM versions "       \
                  "WHERE bucket_id = ?1 AND key = ?2 AND seq < ?3 ORDER BY seq DESC LIMIT 1)")     \
    X(V_GET_LATEST, "SELECT " VCOLS ", inline_data FROM versions WHERE bucket_id = ?1 "            \
                    "AND key = ?2 ORDER BY seq DESC LIMIT 1")                                      \
    X(V_GET_VID, "SELECT " VCOLS ", inline_data FROM versions WHERE bucket_id = ?1 "               \
                 "AND key = ?2 AND version_id = ?3")                                               \
    X(V_PROMOTE, "UPDATE versions SET is_latest = 1 WHERE seq = (SELECT n.seq FROM versions d "    \
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
    X(LV_KEY, "SELECT " LVCOLS " FROM versions INDEXED BY versions_key_seq "                        \
              "WHERE bucket_id = ?1 AND key = ?2 AND seq < ?3 ORDER BY seq DESC LIMIT ?4")         \
    X(BLOB_REF_UP, "SELECT 1 FROM upload_parts WHERE blob_id = ?1 LIMIT 1")                        \
    X(BLOB_REF_VP, "SELECT 1 FROM version_parts WHERE blob_id = ?1 LIMIT 1")                       \
    X(UP_INSERT, "INSERT INTO uploads (upload_id, bucket_id, key, initiated_ms, owner_id, "        \
                 "content_type, meta, checksum_algo, checksum_type) "                              \
                 "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)")                                    \
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
    X(PART_PUT, "INSERT OR REPLACE INTO upload_parts (upload, part_number, size, mtime_ms, "       \
                "blob_id, etag, checksum) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)")                    \
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
                 "LIMIT 1")

#define BCOLS "id, name, account_id, region, created_ms, versioning, mfa_delete, lifecycle"
#define KCOLS                                                                                      \
    "access_key_id, account_id, user_id, created_ms, is_active, session_token_sha256, "            \
    "expires_ms, mfa_auth_ms"
#define UCOLS "id, account_id, name, created_ms"
#define UPCOLS                                                                                     \
    "id, upload_id, bucket_id, key, initiated_ms, owner_id, content_type, meta, checksum_algo, "   \
    "checksum_type"
#define PCOLS "part_number, 0, size, mtime_ms, blob_id, etag, checksum"
#define VPCOLS "part_number, first_byte, size, mtime_ms, blob_id, etag, checksum"
#define LIST_UP(lo, hi)                                                                            \
    "SELECT " UPCOLS " FROM uploads INDEXED BY uploads_key "                                       \
    "WHERE bucket_id = ?1 AND key " lo " ?2" hi " ORDER BY key, id LIMIT ?4"
#define MCOLS                                                                                      \
    "id, account_id, user_id, serial, name, path, is_virtual, is_enabled, created_ms, "            \
    "enabled_ms, last_step, offset_steps, fail_start_s, fail_count, owner_id"

#endif
