/* bounds.h -- every limit a client can hit. Checked before allocating. */
#ifndef COFFER_BOUNDS_H
#define COFFER_BOUNDS_H

#define HTTP_MAX_HEADER_BYTES (64 * 1024)  /* request line + all headers */
#define HTTP_MAX_HEADERS 128               /* header count */
#define HTTP_MAX_URL_BYTES (16 * 1024)     /* request target */
#define HTTP_HEADER_TIMEOUT_MS 30000       /* headers must complete within */
#define HTTP_IDLE_TIMEOUT_MS 60000         /* keep-alive idle / body stall */
#define HTTP_BODY_STALL_MS 60000           /* no body progress for this long */

#define S3_MAX_KEY_BYTES 1024
#define S3_MAX_BUCKET_NAME 63
#define S3_MIN_BUCKET_NAME 3
#define S3_MAX_XML_BODY (1024 * 1024)      /* small XML request bodies */
#define S3_MAX_DELETE_BODY (2 * 1024 * 1024)
#define S3_MAX_DELETE_KEYS 1000
#define S3_MAX_LIST_KEYS 1000
#define S3_MAX_META_BYTES 2048             /* total x-amz-meta-* (AWS: 2 KB) */
#define S3_MAX_PUT_BYTES (5LL * 1024 * 1024 * 1024) /* single PUT: 5 GiB */
#define S3_MAX_VERSION_ID_BYTES 1024
#define S3_MAX_CLOCK_SKEW_S (15 * 60)
#define S3_MAX_PRESIGN_EXPIRES 604800
#define S3_MAX_CHUNK_BYTES (16LL * 1024 * 1024 * 1024) /* aws-chunked chunk-size cap */
/* AWS: multipart parts are numbered 1..10000; every part but the last is at
 * least 5 MiB; a part is at most 5 GiB. */
#define S3_MPU_MAX_PARTS 10000
#define S3_MPU_MIN_PART_BYTES (5LL * 1024 * 1024)
#define S3_MPU_MAX_PART_BYTES (5LL * 1024 * 1024 * 1024)

/* Browser POST uploads [spec-authorization §8]: AWS allows 20 KB of fields
 * before the file; the framing around them (delimiters, part headers) is
 * capped apart. */
#define S3_POST_MAX_FIELD_BYTES (20 * 1024)
#define S3_POST_MAX_HEAD_BYTES (40 * 1024)
#define S3_POST_MAX_FIELDS 100
#define S3_POST_MAX_CONDITIONS 100

#define STORE_INLINE_MAX (64 * 1024)       /* objects up to this live in SQLite */

#endif
