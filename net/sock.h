/* net/sock.h - non-blocking socket I/O into struct sp_buf.
 *
 * owner: worker (the caller owns the descriptor). Return convention: bytes moved (> 0),
 * 0 for end of stream (reads only), -EAGAIN when the socket is not ready, or another
 * negative errno.
 */
#ifndef SP_NET_SOCK_H
#define SP_NET_SOCK_H

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "net/buf.h"

/* Reads once into the free room at the tail of `b` (realigning first if the tail is at the
 * end). A short read means the socket is drained for now; the caller need not read again. */
ssize_t sp_sock_read(int fd, struct sp_buf *b);
/* Writes as much of `b` as the socket takes, consuming what was written. */
ssize_t sp_sock_write(int fd, struct sp_buf *b);
ssize_t sp_sock_writev(int fd, const struct iovec *iov, int n);
/* Starts a non-blocking TCP connect. Returns the descriptor (connect in progress or done) or
 * a negative errno (ECONNREFUSED may come immediately on loopback). */
int sp_sock_connect(const struct sockaddr_storage *addr, socklen_t len);
/* The pending socket error (SO_ERROR) as a negative errno, or 0. */
int sp_sock_error(int fd);

#endif
