/* md_schema.h -- the metadata schema as an ordered list of migrations.
 * md_migrations[i] takes a database from user_version i to i + 1; md.c runs
 * the missing ones inside one BEGIN IMMEDIATE at open. Never edit a shipped
 * step: append a new one (users, mfa_devices, uploads, audit log, ...).
 * Included only by md.c. */
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
};

#define MD_SCHEMA_VERSION ((int)(sizeof(md_migrations) / sizeof(md_migrations[0])))

#endif
