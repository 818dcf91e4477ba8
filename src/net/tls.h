/* tls.h -- OpenSSL sessions over memory BIOs, so the event loop keeps
 * owning the socket: the engine under the TLS connection type (conn_tls.c;
 * nginx ngx_event_openssl, Redis connection.h). Also generates the
 * self-signed CA + server certificate on first start. */
#ifndef COFFER_NET_TLS_H
#define COFFER_NET_TLS_H

#include <stddef.h>

#include "util/buf.h"

struct tls_ctx;  /* opaque; shared by all connections of a listener */
struct tls_conn; /* opaque; one per connection, loop thread only */

/* Ensures DIR/tls/{ca.pem,cert.pem,key.pem} exist, creating a CA and a server
 * certificate for localhost, *.localhost and 127.0.0.1 if they do not.
 * cert.pem holds the server certificate followed by the CA, so it can also
 * serve as a client CA bundle. 0 or -errno. */
int tls_ensure_self_signed(const char *dir);
/* Loads a PEM chain and key. 0 and an owned ctx, or -EINVAL (message logged). */
int tls_ctx_new(const char *cert_path, const char *key_path, struct tls_ctx **out);
void tls_ctx_free(struct tls_ctx *ctx); /* NULL ok */

struct tls_conn *tls_conn_new(struct tls_ctx *ctx); /* Caller owns the result. */
void tls_conn_free(struct tls_conn *t);             /* NULL ok */
/* Ciphertext received from the peer. 0 or -EIO. */
int tls_conn_feed(struct tls_conn *t, const char *p, size_t n);
/* Decrypts into out: > 0 bytes, 0 when more input is needed, -EPIPE on a
 * clean close by the peer, -EIO on a protocol error. */
int tls_conn_read(struct tls_conn *t, char *out, size_t cap);
/* Encrypts plaintext. 0 or -EIO. The ciphertext waits in tls_conn_take_out. */
int tls_conn_write(struct tls_conn *t, const char *p, size_t n);
/* Moves pending ciphertext (handshake records included) into out. Returns
 * the number of bytes moved. */
size_t tls_conn_take_out(struct tls_conn *t, struct buf *out);
int tls_conn_handshake_done(const struct tls_conn *t);
/* The protocol version negotiated: 12 (TLS 1.2), 13 (TLS 1.3); 0 before the
 * handshake is done. */
int tls_conn_version(const struct tls_conn *t);

#endif
