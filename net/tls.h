/* net/tls.h - TLS termination (OpenSSL 3): the contexts of a `bind ... ssl` line, and
 * `sp_xprt_tls`, the transport table that moves a client connection's bytes through TLS
 * (net/transport.h), so that nothing above the transport knows whether bytes are encrypted.
 *
 * Threads. A struct sp_tls_ctx is built on main at start-up from the configuration (every
 * certificate read and checked there, so that `-c` reports a bad file) and is immutable once
 * the workers run: they share it read-only. What OpenSSL does underneath on the handshake
 * path: SSL_new() takes a reference on the SSL_CTX (an atomic count, no lock); the stateful
 * session cache would take the SSL_CTX's lock on every handshake that stores or looks up a
 * session, so it is turned off (SSL_SESS_CACHE_OFF) and resumption relies on stateless
 * tickets (TLS 1.2 and 1.3), whose keys OpenSSL generates once per SSL_CTX at creation and
 * only reads afterwards; `no-tls-tickets` turns those off too (full handshakes only). The SNI
 * choice (SSL_set_SSL_CTX) only reads the contexts and swaps references. The per-connection
 * object (SSL) belongs to the worker that accepted the connection.
 *
 * The handshake runs before the protocol: sp_tls_handshake() is driven by the connection's
 * readiness (edge-triggered) until it completes; afterwards recv/sendv move application
 * bytes. A read that OpenSSL cannot finish before it writes (or the reverse) sets
 * x->xwant so that the transport raises the other readiness flag on the next edge (see
 * net/transport.c): a protocol never sees a TLS record, a renegotiation or a key update.
 */
#ifndef SP_NET_TLS_H
#define SP_NET_TLS_H

#include <stdbool.h>
#include <stddef.h>

#include "core/config.h"
#include "net/transport.h"

/* shared: immutable after publish (built on main before the workers start). The SSL
 * contexts of one bind line: one per certificate, the first the default. Opaque. */
struct sp_tls_ctx;

/* shared: immutable. Encrypted bytes (a connection that went through sp_tls_conn_new()). */
extern const struct sp_xprt_ops sp_xprt_tls;

/* owner: main. Builds the contexts of `conf`: every certificate file (or every file of a
 * directory) read, its key found (in the file or in FILE.key beside it) and checked against
 * the certificate; the protocol versions, ciphers, ALPN and tickets set. Returns the context,
 * or NULL with a message in err (naming the file) on any error. */
struct sp_tls_ctx *sp_tls_ctx_build(const struct sp_cfg_tls *conf, char *err, size_t errlen);

/* owner: main. Frees what sp_tls_ctx_build() returned (NULL: nothing), once no worker runs. */
void sp_tls_ctx_free(struct sp_tls_ctx *ctx);

/* owner: main. How many certificates `ctx` holds, and the names (SAN DNS entries, else the
 * CN) of certificate i: for tests and diagnostics. */
int sp_tls_ctx_ncerts(const struct sp_tls_ctx *ctx);
const char *sp_tls_ctx_name(const struct sp_tls_ctx *ctx, int i, int j);

/* owner: worker. Puts TLS (server side) on the opened connection `x`: x->xprt becomes
 * sp_xprt_tls. Returns 0, or -ENOMEM (x unchanged: still raw). */
int sp_tls_conn_new(struct sp_xconn *x, const struct sp_tls_ctx *ctx);

/* owner: worker. Moves the handshake of `x` on as far as its readiness allows. Returns 1 once
 * it has completed, 0 while it waits for the peer or for room (the next edge calls it again),
 * or -1 when it failed: *why then says how, in HAProxy's words ("SSL handshake failure"),
 * and the caller closes the connection. */
int sp_tls_handshake(struct sp_xconn *x, const char **why);

/* owner: worker. Reads and drops what the client of a failed handshake has already sent
 * (bounded: 64 KB at most, never waiting), so that closing the socket sends a FIN rather than
 * a reset over unread bytes. */
void sp_tls_discard(struct sp_xconn *x);

/* owner: worker. What the handshake of `x` settled (NULL / 0 when not a TLS connection or
 * when there is none): the server name the client asked for (SNI), the protocol version
 * ("TLSv1.3"), the cipher's name, the ALPN protocol (*len bytes, not terminated) and the
 * cipher's symmetric key size in bits. The strings live as long as the connection. */
const char *sp_tls_sni(const struct sp_xconn *x);
const char *sp_tls_version(const struct sp_xconn *x);
const char *sp_tls_cipher(const struct sp_xconn *x);
const char *sp_tls_alpn(const struct sp_xconn *x, size_t *len);
int sp_tls_keysize(const struct sp_xconn *x);

#endif
