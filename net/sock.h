/* net/sock.h - non-blocking socket I/O into struct sp_buf.
 *
 * owner: worker (the caller owns the descriptor). Return convention: bytes moved (> 0),
 * 0 for end of stream (reads only), -EAGAIN when the socket is not ready, or another
 * negative errno.
 */
#ifndef SP_NET_SOCK_H
#define SP_NET_SOCK_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "net/buf.h"

/* owner: worker (the caller's descriptor; no state).
 * Gathered write (what the raw transport's sendv is, net/transport.c; buffers and readiness
 * are the transport's business). */
ssize_t sp_sock_writev(int fd, const struct iovec *iov, int n);
/* owner: worker (no state; the descriptor returned is the caller's).
 * Starts a non-blocking TCP connect. Returns the descriptor (connect in progress or done) or
 * a negative errno (ECONNREFUSED may come immediately on loopback). */
int sp_sock_connect(const struct sockaddr_storage *addr, socklen_t len);
/* owner: worker (no state; the descriptor returned is the caller's).
 * As sp_sock_connect(), the socket first bound to `src` (`source ADDR[:PORT]`; IP_BIND_
 * ADDRESS_NO_PORT when the port is 0, so that the kernel picks it at connect time) unless
 * `srclen` is 0. An address of the other family than `addr` is ignored. */
int sp_sock_connect_from(const struct sockaddr_storage *addr, socklen_t len,
                         const struct sockaddr_storage *src, socklen_t srclen);

/* owner: its holder (a value, copied into a worker's upstream pool or onto the stack).
 * TCP keep-alive settings of one side (`option clitcpka|srvtcpka`, `*tcpka-idle|intvl|cnt`). */
struct sp_sock_ka {
    bool on;
    int idle_s, intvl_s, cnt; /* 0: the system's */
};
/* owner: worker (the caller's descriptor; no state).
 * Sets SO_KEEPALIVE and the TCP_KEEP* values given on a TCP socket; no-op when !ka->on. */
void sp_sock_keepalive(int fd, const struct sp_sock_ka *ka);
/* owner: worker (the caller's descriptor; no state).
 * The pending socket error (SO_ERROR) as a negative errno, or 0. */
int sp_sock_error(int fd);
/* owner: worker (the caller's descriptor, about to be closed; no state).
 * HAProxy 2.6's silent-drop: makes the close of a client socket send nothing (neither FIN
 * nor RST), so that the client keeps waiting. TCP_QUICKACK first (acknowledge what came);
 * then TCP_REPAIR (root or CAP_NET_ADMIN), else a TTL (hop limit) of 1 so that the RST
 * dies at the first router (no effect on a local network, as in HAProxy) and SO_LINGER 0
 * (an RST, never a FIN). A unix socket is left as it is. */
void sp_sock_silent_drop(int fd, int family);

#endif
