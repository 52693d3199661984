/* net/transport.h - the transport layer: one connection object for every socket spillway
 * reads and writes, client side and server side alike.
 *
 * owner: worker. A struct sp_xconn belongs to the worker that registered it, for its whole
 * life; nothing here is thread-safe. It holds what every connection has whatever it speaks:
 * the descriptor and its registration, readiness (can_read, can_write, the peer's FIN), the
 * input and output buffers, shutdown, and one timer. The layer above (a protocol: HTTP/1 or
 * HTTP/2, client or server side; the server connection pool) embeds it and plugs its hooks
 * in; it never touches the descriptor itself.
 *
 * Bytes move through a transport operations table, struct sp_xprt_ops: `sp_xprt_raw` moves
 * them in clear with recv()/sendmsg(); a TLS table goes in the same place, so that nothing
 * above knows whether bytes are encrypted. Zero-copy paths, if any, become operations of the
 * table too, never branches in a protocol.
 *
 * Readiness is edge-triggered (core/worker.h): the hooks' io() runs after the flags were
 * updated from the events; sp_xconn_read() and sp_xconn_flush() clear them again when the
 * socket says EAGAIN (or, for reads, when a short read proves it drained), and a protocol
 * that stops early must remember to resume by itself.
 *
 * Buffers: storage comes from the caller's per-worker pool (net/buf.h) and is attached
 * lazily; an idle connection holds none.
 */
#ifndef SP_NET_TRANSPORT_H
#define SP_NET_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "core/timer.h"
#include "core/worker.h"
#include "net/buf.h"

struct sp_xconn;

/* shared: immutable (static tables). How bytes move. Return convention of net/sock.h: bytes
 * moved (> 0), 0 for the end of the stream (recv only), -EAGAIN when not ready, or another
 * negative errno. */
struct sp_xprt_ops {
    const char *name;
    ssize_t (*recv)(struct sp_xconn *x, char *p, size_t len);
    ssize_t (*sendv)(struct sp_xconn *x, const struct iovec *iov, int n);
    /* no more bytes will be sent (a TLS table sends close_notify here) */
    int (*shutw)(struct sp_xconn *x);
    /* the connection is going away: free what the transport holds (not the descriptor) */
    void (*release)(struct sp_xconn *x);
};

/* shared: immutable. Bytes in clear. */
extern const struct sp_xprt_ops sp_xprt_raw;

/* shared: immutable (static tables). What the layer above hears; both run on the owning
 * worker. */
struct sp_xconn_hooks {
    void (*io)(struct sp_xconn *x, uint32_t events); /* readiness flags already updated */
    void (*timer)(struct sp_xconn *x);               /* x->timer fired */
};

/* owner: worker */
struct sp_xconn {
    struct sp_ev ev; /* the descriptor and its registration */
    const struct sp_xprt_ops *xprt;
    const struct sp_xconn_hooks *hooks;
    struct sp_buf rbuf, wbuf;
    struct sp_timer timer; /* the layer above arms it; its hooks->timer runs */
    bool can_read, can_write;
    bool rdhup;   /* the peer's FIN or an error was signalled: read to the end, no short cut */
    bool rd_eof;  /* a read met the end of the stream (or an error) */
    bool shut_wr; /* sp_xconn_shutw() was called */
    /* the transport's own: its per-connection state (TLS: net/tls.c), NULL for raw; and
     * SP_XWANT_*, a read that waits for room or a write that waits for bytes (TLS) */
    uint8_t xwant;
    void *xctx;
};
#define SP_XWANT_RD_ON_OUT 0x1u /* the next writable edge makes the connection readable */
#define SP_XWANT_WR_ON_IN  0x2u /* the next readable edge makes it writable */

/* owner: worker. Sets `x` up on descriptor `fd` (non-blocking, already connected or
 * connecting) and registers it with `w` for input, output and hang-up, edge-triggered. On
 * failure (-errno) nothing is registered and the descriptor is still the caller's to close.
 * `can_write` starts false: a connecting socket says when it is writable; an accepted one
 * may be marked writable by its owner. */
int sp_xconn_open(struct sp_xconn *x, struct sp_worker *w, int fd, const struct sp_xprt_ops *xprt,
                  const struct sp_xconn_hooks *hooks);

/* owner: worker. Ends `x`: disarms its timer, lets the transport release its state, ends
 * the registration and closes the descriptor (no event for it is delivered afterwards, see
 * core/worker.h), and gives both buffers' storage back to `bufs`. Safe on a connection that
 * was set up but never opened (fd -1). */
void sp_xconn_close(struct sp_xconn *x, struct sp_worker *w, struct sp_bufpool *bufs);

/* owner: worker. Reads once into the free room of rbuf (storage attached by the caller;
 * realigned first when the tail is at the end). Returns as struct sp_xprt_ops recv. Clears
 * can_read on -EAGAIN, and on a short read unless the peer's FIN was signalled (the next
 * bytes raise a new edge); sets rd_eof on the end of the stream or an error. */
ssize_t sp_xconn_read(struct sp_xconn *x);

/* owner: worker. Writes as much of wbuf as the socket takes, consuming it. Returns the bytes
 * written, -EAGAIN (can_write cleared) when none could be, or another negative errno. */
ssize_t sp_xconn_flush(struct sp_xconn *x);

/* owner: worker. Gathered write of `n` vectors (bytes the caller keeps elsewhere). Returns
 * as struct sp_xprt_ops sendv; clears can_write on -EAGAIN. */
ssize_t sp_xconn_sendv(struct sp_xconn *x, const struct iovec *iov, int n);

/* owner: worker. Reads and discards what the peer sends, until the socket has no more for now
 * (can_read cleared) or the stream ends (rd_eof): a lingering close, which waits for the
 * peer's FIN after our own so that its unread bytes do not turn our last response into a
 * reset. */
void sp_xconn_drain(struct sp_xconn *x);

/* owner: worker. No more bytes will be sent (the peer reads the end of the stream). */
int sp_xconn_shutw(struct sp_xconn *x);

/* owner: worker. The pending socket error (SO_ERROR) as a negative errno, or 0: how a
 * connecting socket tells its outcome. */
int sp_xconn_error(const struct sp_xconn *x);

#endif
