/* md_schema.h -- the metadata schema as an ordered list of migrations.
 * md_migrations[i] takes a database from user_version i to i + 1;
 * md_sqlite.c runs the missing ones inside one BEGIN IMMEDIATE at open. Never
 * edit a shipped step: append a new one. SQLite's dialect: a PostgreSQL
 * backend keeps its own list.
 * Included only by md_sqlite.c (and tests/unit/test_md.c). */
#ifndef COFFER_STORE_MD_SCHEMA_H
#define COFFER_STORE_MD_SCHEMA_H

static const char *const md_migrations[] = {
    /* 0 -> 1: accounts, access keys, buckets, object versions. */
    "CREATE TABLE accounts ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  canonical_id TEXT NOT NULL UNIQUE,"
    "  created_ms INTEGER NOT NULL"
    ");"
    /* secret_sealed = seal(master.key, secret): nonce || ciphertext || tag.
     * user_id 0 is the account's root; a later users table gives it meaning. */
    "CREATE TABLE keys ("
    "  access_key_id TEXT NOT NULL PRIMARY KEY,"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  user_id INTEGER NOT NULL DEFAULT 0,"
    "  secret_sealed BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  is_active INTEGER NOT NULL DEFAULT 1"
    ") WITHOUT ROWID;"
    "CREATE INDEX keys_account ON keys(account_id);"
    "CREATE TABLE buckets ("
    "  id INTEGER PRIMARY KEY,"
    "  name TEXT NOT NULL UNIQUE,"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  region TEXT NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  versioning INTEGER NOT NULL DEFAULT 0,"
    "  mfa_delete INTEGER NOT NULL DEFAULT 0,"
    "  lifecycle TEXT"
    ");"
    "CREATE INDEX buckets_account ON buckets(account_id, name);"
    /* AUTOINCREMENT: seq is embedded in version ids, so it must never be
     * reused, not even after the newest row is deleted. key compares
     * bytewise (BINARY), which is S3's listing order for UTF-8 keys. */
    "CREATE TABLE versions ("
    "  seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  bucket_id INTEGER NOT NULL REFERENCES buckets(id),"
    "  key TEXT NOT NULL COLLATE BINARY,"
    "  version_id TEXT NOT NULL,"
    "  is_latest INTEGER NOT NULL,"
    "  is_dm INTEGER NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  mtime_ms INTEGER NOT NULL,"
    "  owner_id INTEGER NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  content_type TEXT NOT NULL,"
    "  meta TEXT NOT NULL,"
    "  checksum_algo TEXT NOT NULL,"
    "  checksum_value TEXT NOT NULL,"
    "  blob_id TEXT,"
    "  inline_data BLOB,"
    "  parts_count INTEGER NOT NULL DEFAULT 0,"
    "  UNIQUE (bucket_id, key, version_id)"
    ");"
    "CREATE INDEX versions_key_seq ON versions(bucket_id, key, seq DESC);"
    "CREATE INDEX versions_latest ON versions(bucket_id, key)"
    "  WHERE is_latest = 1 AND is_dm = 0;"
    "CREATE INDEX versions_blob ON versions(blob_id) WHERE blob_id IS NOT NULL;",

    /* 1 -> 2: IAM users, MFA devices, the audit log, session key fields.
     * accounts is rebuilt with AUTOINCREMENT so a deleted account's id is
     * never handed out again (copying the rows seeds sqlite_sequence with the
     * highest id in use; ids deleted before this step cannot be recovered).
     * md.c runs every step with foreign_keys off (DROP TABLE would otherwise
     * delete-check the referencing rows) and runs foreign_key_check before
     * COMMIT; keys and buckets keep their "REFERENCES accounts(id)" text,
     * which then names the rebuilt table. */
    "CREATE TABLE accounts_new ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  name TEXT NOT NULL UNIQUE,"
    "  canonical_id TEXT NOT NULL UNIQUE,"
    "  created_ms INTEGER NOT NULL"
    ");"
    "INSERT INTO accounts_new (id, name, canonical_id, created_ms)"
    "  SELECT id, name, canonical_id, created_ms FROM accounts ORDER BY id;"
    "DROP TABLE accounts;"
    "ALTER TABLE accounts_new RENAME TO accounts;"
    /* IAM user names are unique per account regardless of case ("ADMIN" and
     * "admin" cannot coexist), hence NOCASE: IAM names are ASCII. */
    "CREATE TABLE users ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  name TEXT NOT NULL COLLATE NOCASE,"
    "  created_ms INTEGER NOT NULL,"
    "  UNIQUE (account_id, name)"
    ");"
    /* user_id: -1 unassigned, 0 the account's root, > 0 users(id). A device
     * is assigned exactly while it is enabled. seed_sealed as keys. */
    "CREATE TABLE mfa_devices ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  account_id INTEGER NOT NULL REFERENCES accounts(id),"
    "  user_id INTEGER NOT NULL DEFAULT -1,"
    "  serial TEXT NOT NULL UNIQUE,"
    "  name TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  is_virtual INTEGER NOT NULL,"
    "  is_enabled INTEGER NOT NULL DEFAULT 0,"
    "  seed_sealed BLOB NOT NULL,"
    "  created_ms INTEGER NOT NULL,"
    "  enabled_ms INTEGER NOT NULL DEFAULT 0,"
    "  last_step INTEGER NOT NULL DEFAULT 0,"
    "  offset_steps INTEGER NOT NULL DEFAULT 0,"
    "  fail_start_s INTEGER NOT NULL DEFAULT 0,"
    "  fail_count INTEGER NOT NULL DEFAULT 0,"
    "  CHECK ((is_enabled = 0 AND user_id = -1) OR (is_enabled = 1 AND user_id >= 0))"
    ");"
    "CREATE INDEX mfa_devices_account ON mfa_devices(account_id, serial);"
    "CREATE INDEX mfa_devices_owner ON mfa_devices(account_id, user_id, serial);"
    /* Append-only: no statement of md.c updates or deletes audit rows, and
     * the triggers refuse it from anything else that opens the file. */
    "CREATE TABLE audit ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  time_ms INTEGER NOT NULL,"
    "  event TEXT NOT NULL,"
    "  principal TEXT,"
    "  bucket TEXT,"
    "  key TEXT,"
    "  version_id TEXT,"
    "  source TEXT,"
    "  detail TEXT"
    ");"
    "CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    "CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit"
    "  BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END;"
    /* Temporary credentials: expires_ms > 0; the token only as SHA-256 hex. */
    "ALTER TABLE keys ADD COLUMN session_token_sha256 TEXT;"
    "ALTER TABLE keys ADD COLUMN expires_ms INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE keys ADD COLUMN mfa_auth_ms INTEGER NOT NULL DEFAULT 0;",

    /* 2 -> 3: multipart uploads. A part is its own blob file from upload
     * to deletion: completing an upload moves the part rows from
     * upload_parts to version_parts (the object's extents, in part order,
     * first_byte = offset within the object) and copies no data. Every
     * blob that loses its last reference in a transaction is recorded in
     * blob_trash by that same transaction, and unlinked after the commit by
     * whoever takes the row (md_trash_take()). id in uploads is never
     * reused (AUTOINCREMENT), so a late part write for a finished upload
     * fails its foreign key instead of joining a new upload. */
    "CREATE TABLE uploads ("
    "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
    "  upload_id TEXT NOT NULL UNIQUE,"
    "  bucket_id INTEGER NOT NULL REFERENCES buckets(id),"
    "  key TEXT NOT NULL COLLATE BINARY,"
    "  initiated_ms INTEGER NOT NULL,"
    "  owner_id INTEGER NOT NULL,"
    "  content_type TEXT NOT NULL,"
    "  meta TEXT NOT NULL,"
    "  checksum_algo TEXT NOT NULL,"
    "  checksum_type TEXT NOT NULL"
    ");"
    "CREATE INDEX uploads_key ON uploads(bucket_id, key, id);"
    "CREATE TABLE upload_parts ("
    "  upload INTEGER NOT NULL REFERENCES uploads(id),"
    "  part_number INTEGER NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  mtime_ms INTEGER NOT NULL,"
    "  blob_id TEXT NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  checksum TEXT NOT NULL,"
    "  PRIMARY KEY (upload, part_number)"
    ") WITHOUT ROWID;"
    "CREATE INDEX upload_parts_blob ON upload_parts(blob_id);"
    "CREATE TABLE version_parts ("
    "  seq INTEGER NOT NULL REFERENCES versions(seq),"
    "  part_number INTEGER NOT NULL,"
    "  first_byte INTEGER NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  mtime_ms INTEGER NOT NULL,"
    "  blob_id TEXT NOT NULL,"
    "  etag TEXT NOT NULL,"
    "  checksum TEXT NOT NULL,"
    "  PRIMARY KEY (seq, part_number)"
    ") WITHOUT ROWID;"
    "CREATE INDEX version_parts_first_byte ON version_parts(seq, first_byte);"
    "CREATE INDEX version_parts_blob ON version_parts(blob_id);"
    "CREATE TABLE blob_trash ("
    "  id INTEGER PRIMARY KEY,"
    "  blob_id TEXT NOT NULL"
    ");",

    /* 3 -> 4: versions_key_seq covers what ListObjectVersions shows, so a
     * page is one range scan of the index. Without the extra columns every
     * entry cost a table lookup, and a key's versions, written at different
     * times, sit on as many table pages as they have versions. */
    "DROP INDEX versions_key_seq;"
    "CREATE INDEX versions_key_seq ON versions(bucket_id, key, seq DESC, version_id, is_latest,"
    "  is_dm, size, mtime_ms, owner_id, etag, checksum_algo, parts_count);",

    /* 4 -> 5: expired session keys are purged (md_key_create) through an
     * index of the session rows alone. */
    "CREATE INDEX keys_expires ON keys(expires_ms) WHERE expires_ms > 0;",

    /* 5 -> 6: owner_id, the principal that may manage a device: its creator
     * until it is enabled, then the principal it was assigned to, kept
     * after deactivation (0 = root). Devices from before belong to the
     * principal they are assigned to, or else to root. */
    ("ALTER TABLE mfa_devices ADD COLUMN owner_id INTEGER NOT NULL DEFAULT 0;"
     "UPDATE mfa_devices SET owner_id = user_id WHERE user_id > 0;"),

    /* 6 -> 7: version numbers from a counter row instead of max(seq): the
     * inserting transaction bumps it (UPDATE ... RETURNING), which is what
     * a database shared by several gateways can provide too (a sequence).
     * Seeded with the highest seq ever handed out, sqlite_sequence's memory
     * of deleted rows included, so no seq (embedded in version ids) is
     * reused. */
    ("CREATE TABLE counters ("
     "  name TEXT NOT NULL PRIMARY KEY,"
     "  value INTEGER NOT NULL"
     ") WITHOUT ROWID;"
     "INSERT INTO counters (name, value) SELECT 'version_seq', max("
     "  coalesce((SELECT seq FROM sqlite_sequence WHERE name = 'versions'), 0),"
     "  coalesce((SELECT max(seq) FROM versions), 0));"),

    /* 7 -> 8: when a version's data went to the trash (wall clock, ms), so
     * the reaper unlinks it only after the grace period and once no reader
     * that may have seen the old metadata is open (store/trash.h). 0: due
     * at once (an upload's parts, which nobody reads, and rows from
     * before). The trash now also takes the blob of a deleted or replaced
     * single-file version (md_trash_add()). */
    ("ALTER TABLE blob_trash ADD COLUMN trashed_ms INTEGER NOT NULL DEFAULT 0;"
     "CREATE INDEX blob_trash_time ON blob_trash(trashed_ms);"),

    /* 8 -> 9: IAM groups, roles, managed policies and their versions,
     * inline policies, attachments; bucket policies, ACLs, object
     * ownership and Block Public Access; object ACLs; the policy
     * generation counter. Names compare NOCASE (IAM names are ASCII and
     * unique regardless of case). uid: the entity's random unique id
     * (AGPA..., AROA..., ANPA...), made by the caller. Inline policies and
     * attachments name their entity by (kind, id), kind 1 user, 2 group,
     * 3 role, so they carry no foreign key: md_iam.c deletes them with
     * their entity. An attachment names its policy by ARN, so the AWS
     * managed policies (built in, never stored) can be attached too.
     * pab columns: bit 0 BlockPublicAcls, 1 IgnorePublicAcls,
     * 2 BlockPublicPolicy, 3 RestrictPublicBuckets, 4 configured.
     * ownership: 0 none, 1 BucketOwnerEnforced, 2 BucketOwnerPreferred,
     * 3 ObjectWriter. acl: md_acl_encode()'s text, NULL when none.
     * Users from before this step had every S3 permission (no policy was
     * evaluated); from now on a user without policies is denied, so each
     * gets AmazonS3FullAccess attached, with an audit row saying so. */
    ("CREATE TABLE iam_groups ("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id),"
     "  name TEXT NOT NULL COLLATE NOCASE,"
     "  path TEXT NOT NULL,"
     "  uid TEXT NOT NULL UNIQUE,"
     "  created_ms INTEGER NOT NULL,"
     "  UNIQUE (account_id, name)"
     ");"
     "CREATE TABLE group_members ("
     "  group_id INTEGER NOT NULL REFERENCES iam_groups(id),"
     "  user_id INTEGER NOT NULL REFERENCES users(id),"
     "  PRIMARY KEY (group_id, user_id)"
     ") WITHOUT ROWID;"
     "CREATE INDEX group_members_user ON group_members(user_id, group_id);"
     "CREATE TABLE roles ("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id),"
     "  name TEXT NOT NULL COLLATE NOCASE,"
     "  path TEXT NOT NULL,"
     "  uid TEXT NOT NULL UNIQUE,"
     "  trust_policy TEXT NOT NULL,"
     "  max_session_s INTEGER NOT NULL DEFAULT 3600,"
     "  description TEXT NOT NULL DEFAULT '',"
     "  created_ms INTEGER NOT NULL,"
     "  UNIQUE (account_id, name)"
     ");"
     "CREATE TABLE policies ("
     "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id),"
     "  name TEXT NOT NULL COLLATE NOCASE,"
     "  path TEXT NOT NULL,"
     "  uid TEXT NOT NULL UNIQUE,"
     "  arn TEXT NOT NULL UNIQUE,"
     "  description TEXT NOT NULL DEFAULT '',"
     "  default_version INTEGER NOT NULL,"
     "  last_version INTEGER NOT NULL,"
     "  created_ms INTEGER NOT NULL,"
     "  updated_ms INTEGER NOT NULL,"
     "  UNIQUE (account_id, name)"
     ");"
     "CREATE TABLE policy_versions ("
     "  policy_id INTEGER NOT NULL REFERENCES policies(id),"
     "  version INTEGER NOT NULL,"
     "  document TEXT NOT NULL,"
     "  created_ms INTEGER NOT NULL,"
     "  PRIMARY KEY (policy_id, version)"
     ") WITHOUT ROWID;"
     "CREATE TABLE inline_policies ("
     "  entity_kind INTEGER NOT NULL,"
     "  entity_id INTEGER NOT NULL,"
     "  name TEXT NOT NULL COLLATE NOCASE,"
     "  document TEXT NOT NULL,"
     "  PRIMARY KEY (entity_kind, entity_id, name)"
     ") WITHOUT ROWID;"
     "CREATE TABLE policy_attachments ("
     "  entity_kind INTEGER NOT NULL,"
     "  entity_id INTEGER NOT NULL,"
     "  policy_arn TEXT NOT NULL,"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id),"
     "  PRIMARY KEY (entity_kind, entity_id, policy_arn)"
     ") WITHOUT ROWID;"
     "CREATE INDEX policy_attachments_arn ON policy_attachments(account_id, policy_arn,"
     "  entity_kind, entity_id);"
     "ALTER TABLE buckets ADD COLUMN policy TEXT;"
     "ALTER TABLE buckets ADD COLUMN ownership INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE buckets ADD COLUMN pab INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE buckets ADD COLUMN acl TEXT;"
     "ALTER TABLE accounts ADD COLUMN pab INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE versions ADD COLUMN acl TEXT;"
     "INSERT INTO counters (name, value) VALUES ('policy_gen', 1);"
     "INSERT INTO policy_attachments (entity_kind, entity_id, policy_arn, account_id)"
     "  SELECT 1, id, 'arn:aws:iam::aws:policy/AmazonS3FullAccess', account_id FROM users;"
     "INSERT INTO audit (time_ms, event, principal, source, detail)"
     "  SELECT CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER), 'iam.migration',"
     "  'account:' || a.name || '/user:' || u.name, 'migration',"
     "  'attached arn:aws:iam::aws:policy/AmazonS3FullAccess: from schema 9 on, a user"
     " without policies is denied' FROM users u JOIN accounts a ON a.id = u.account_id"
     "  ORDER BY u.id;"),

    /* 9 -> 10: what CreateMultipartUpload asked for the object it makes:
     * object_owner, the account that will own it under its bucket's Object
     * Ownership (0: the initiator, owner_id), and acl, its ACL as
     * md_acl_encode() text (NULL: none), both applied at completion. */
    ("ALTER TABLE uploads ADD COLUMN object_owner INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE uploads ADD COLUMN acl TEXT;"),

    /* 10 -> 11: role sessions (STS AssumeRole) are session keys with the
     * role they act as: role_id > 0 (user_id is then -1: no user),
     * the RoleSessionName, the session policy document and the session
     * PolicyArns (one ARN a line), NULL when not given, and mfa_inherited:
     * the session carries its caller's MFA context (AssumeRole signed with
     * MFA-bearing session credentials), else it carries none whatever
     * mfa_auth_ms says [spec-authorization §4.3 decision]. Deleting a role
     * deletes its sessions through keys_role. */
    ("ALTER TABLE keys ADD COLUMN role_id INTEGER NOT NULL DEFAULT 0;"
     "ALTER TABLE keys ADD COLUMN session_name TEXT;"
     "ALTER TABLE keys ADD COLUMN session_policy TEXT;"
     "ALTER TABLE keys ADD COLUMN session_policy_arns TEXT;"
     "ALTER TABLE keys ADD COLUMN mfa_inherited INTEGER NOT NULL DEFAULT 0;"
     "CREATE INDEX keys_role ON keys(role_id) WHERE role_id > 0;"),

    /* 11 -> 12: the rest of the everyday S3 surface. Versions and uploads
     * get tags (the object's tag set as md_tags_encode() text, NULL: none)
     * and a storage class (NULL: STANDARD); versions_key_seq covers the
     * class too, so version listings stay one index scan. Buckets get tags
     * and a CORS configuration (stored as the server's own canonical XML,
     * NULL: none). uploads_done remembers which version a completed upload
     * made, so that a retried CompleteMultipartUpload answers the same
     * success (md_upload_done_get()). */
    ("ALTER TABLE versions ADD COLUMN tags TEXT;"
     "ALTER TABLE versions ADD COLUMN storage_class TEXT;"
     "DROP INDEX versions_key_seq;"
     "CREATE INDEX versions_key_seq ON versions(bucket_id, key, seq DESC, version_id, is_latest,"
     "  is_dm, size, mtime_ms, owner_id, etag, checksum_algo, parts_count, storage_class);"
     "ALTER TABLE uploads ADD COLUMN tags TEXT;"
     "ALTER TABLE uploads ADD COLUMN storage_class TEXT;"
     "ALTER TABLE buckets ADD COLUMN tags TEXT;"
     "ALTER TABLE buckets ADD COLUMN cors TEXT;"
     "CREATE TABLE uploads_done ("
     "  upload_id TEXT PRIMARY KEY,"
     "  bucket_id INTEGER NOT NULL,"
     "  seq INTEGER NOT NULL,"
     "  done_ms INTEGER NOT NULL"
     ") WITHOUT ROWID;"
     "CREATE INDEX uploads_done_time ON uploads_done(done_ms);"),

    /* 12 -> 13: the lifecycle executor. versions.noncurrent_ms: when the
     * row stopped being the latest, i.e. the creation time of the version
     * or marker that replaced it (NoncurrentDays count from there), 0
     * while current; existing noncurrent rows take their successor's
     * mtime. versions_key_seq covers it, so the executor's scan
     * (md_lc_scan()) reads the index alone unless a rule filters on tags
     * (docs/internals/md.md has the measurement). lifecycle_state: where
     * the executor's pass over a bucket stands, advanced in the
     * transaction of the actions it covers, so a pass killed at any point
     * resumes without doing an action twice or skipping one. */
    ("ALTER TABLE versions ADD COLUMN noncurrent_ms INTEGER NOT NULL DEFAULT 0;"
     "UPDATE versions SET noncurrent_ms = coalesce((SELECT n.mtime_ms FROM versions n"
     "  WHERE n.bucket_id = versions.bucket_id AND n.key = versions.key"
     "  AND n.seq > versions.seq ORDER BY n.seq LIMIT 1), mtime_ms) WHERE is_latest = 0;"
     "DROP INDEX versions_key_seq;"
     "CREATE INDEX versions_key_seq ON versions(bucket_id, key, seq DESC, version_id, is_latest,"
     "  is_dm, size, mtime_ms, owner_id, etag, checksum_algo, parts_count, storage_class,"
     "  noncurrent_ms);"
     "CREATE TABLE lifecycle_state ("
     "  bucket_id INTEGER PRIMARY KEY REFERENCES buckets(id) ON DELETE CASCADE,"
     "  pass_started_ms INTEGER NOT NULL,"
     "  phase INTEGER NOT NULL,"
     "  cursor_key TEXT,"
     "  cursor_seq INTEGER NOT NULL,"
     "  cursor_noncurrent INTEGER NOT NULL,"
     "  n_actions INTEGER NOT NULL,"
     "  updated_ms INTEGER NOT NULL"
     ");"),

    /* 13 -> 14: usage accounting (store/md_usage.h): one row per (bucket, UTC day
     * number) with the bucket's figures as a refresh read them, upserted
     * by the refresh of that day. No foreign key: a deleted bucket keeps
     * its history, and gone = 1 on its last row says it was gone from that
     * day on. Rows older than 15 months are pruned by the refresh. */
    ("CREATE TABLE usage_daily ("
     "  bucket_id INTEGER NOT NULL,"
     "  day INTEGER NOT NULL,"
     "  account_id INTEGER NOT NULL,"
     "  bucket TEXT NOT NULL,"
     "  gone INTEGER NOT NULL DEFAULT 0,"
     "  versioning INTEGER NOT NULL,"
     "  mfa_delete INTEGER NOT NULL,"
     "  cur_count INTEGER NOT NULL, cur_bytes INTEGER NOT NULL,"
     "  nc_count INTEGER NOT NULL, nc_bytes INTEGER NOT NULL,"
     "  dm_count INTEGER NOT NULL, dm_bytes INTEGER NOT NULL,"
     "  mpu_count INTEGER NOT NULL, mpu_bytes INTEGER NOT NULL,"
     "  mpu_old_count INTEGER NOT NULL, mpu_old_bytes INTEGER NOT NULL,"
     "  refreshed_ms INTEGER NOT NULL,"
     "  PRIMARY KEY (bucket_id, day)"
     ") WITHOUT ROWID;"
     "CREATE INDEX usage_daily_day ON usage_daily(day);"
     "CREATE INDEX usage_daily_account ON usage_daily(account_id, day);"),

    /* 14 -> 15: S3 Storage Lens configurations (md_lens.c), one row per
     * account and configuration id: config is the configuration as the
     * server's canonical XML (s3_lens_render(), read back by the same
     * parser), is_enabled copied out of it for List, tags as
     * md_tags_encode() text (NULL: none), so deleting the row drops its
     * tags too. Rows go with their account (ON DELETE CASCADE). */
    ("CREATE TABLE lens_configs ("
     "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
     "  config_id TEXT NOT NULL,"
     "  is_enabled INTEGER NOT NULL,"
     "  config TEXT NOT NULL,"
     "  tags TEXT,"
     "  created_ms INTEGER NOT NULL,"
     "  updated_ms INTEGER NOT NULL,"
     "  PRIMARY KEY (account_id, config_id)"
     ") WITHOUT ROWID;"),

    /* 15 -> 16: the web dashboard's one-time login links and sessions
     * (md_dash.c): the key is the token's selector, hash the SHA-256 of its
     * verifier (the token itself is never stored); used_ms marks a spent
     * link. Expired rows are deleted when the next link is made. Rows go
     * with their account (ON DELETE CASCADE). */
    ("CREATE TABLE dash_logins ("
     "  sel TEXT PRIMARY KEY,"
     "  hash BLOB NOT NULL,"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
     "  created_ms INTEGER NOT NULL,"
     "  expires_ms INTEGER NOT NULL,"
     "  used_ms INTEGER"
     ") WITHOUT ROWID;"
     "CREATE INDEX dash_logins_expires ON dash_logins(expires_ms);"
     "CREATE INDEX dash_logins_account ON dash_logins(account_id);"
     "CREATE TABLE dash_sessions ("
     "  sel TEXT PRIMARY KEY,"
     "  hash BLOB NOT NULL,"
     "  account_id INTEGER NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,"
     "  created_ms INTEGER NOT NULL,"
     "  expires_ms INTEGER NOT NULL"
     ") WITHOUT ROWID;"
     "CREATE INDEX dash_sessions_expires ON dash_sessions(expires_ms);"
     "CREATE INDEX dash_sessions_account ON dash_sessions(account_id);"),

    /* 16 -> 17: facts about the store itself, one row each (md_open.c):
     * 'master_key_check' is HMAC-SHA256(master key, "coffer master key
     * check v1"), so a gateway or `coffer` given another key is refused
     * at open instead of failing on the first sealed secret. */
    ("CREATE TABLE store_info ("
     "  name TEXT PRIMARY KEY,"
     "  value BLOB NOT NULL"
     ") WITHOUT ROWID;"),
};

/* The step that attaches AmazonS3FullAccess to existing users, and how to
 * count what it did (md_sqlite.c logs it once). */
#define MD_MIGRATION_IAM 8
#define MD_MIGRATION_IAM_COUNT "SELECT count(*) FROM audit WHERE event = 'iam.migration'"

#define MD_SCHEMA_VERSION ((int)(sizeof(md_migrations) / sizeof(md_migrations[0])))

#endif
