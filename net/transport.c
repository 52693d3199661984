/* net/transport.c - the transport layer (see net/transport.h) and its raw operations. */
#include "net/transport.h"

#include <errno.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "core/util.h"
#include "net/sock.h"

/* ---- raw: bytes in clear ---- */

static ssize_t raw_recv(struct sp_xconn *x, char *p, size_t len)
{
    for (;;) {
        ssize_t n = recv(x->ev.fd, p, len, 0);
        if (n >= 0)
            return n;
        if (errno == EINTR)
            continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

static ssize_t raw_sendv(struct sp_xconn *x, const struct iovec *iov, int n)
{
    return sp_sock_writev(x->ev.fd, iov, n);
}

static int raw_shutw(struct sp_xconn *x)
{
    return shutdown(x->ev.fd, SHUT_WR) < 0 ? -errno : 0;
}

static void raw_release(struct sp_xconn *x)
{
    (void)x; /* nothing beyond the descriptor, which the worker closes */
}

const struct sp_xprt_ops sp_xprt_raw = {
    .name = "raw",
    .recv = raw_recv,
    .sendv = raw_sendv,
    .shutw = raw_shutw,
    .release = raw_release,
};

/* ---- the connection ---- */

static void xconn_ev(struct sp_ev *ev, uint32_t events)
{
    struct sp_xconn *x = sp_container_of(ev, struct sp_xconn, ev);

    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        x->can_read = true;
    if (events & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))
        x->rdhup = true;
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        x->can_write = true;
    if (x->xwant) { /* TLS: a read waiting for room, a write waiting for bytes */
        if ((x->xwant & SP_XWANT_RD_ON_OUT) && x->can_write) {
            x->xwant &= (uint8_t)~SP_XWANT_RD_ON_OUT;
            x->can_read = true;
        }
        if ((x->xwant & SP_XWANT_WR_ON_IN) && x->can_read) {
            x->xwant &= (uint8_t)~SP_XWANT_WR_ON_IN;
            x->can_write = true;
        }
    }
    x->hooks->io(x, events);
}

static void xconn_timer(struct sp_timer *t)
{
    struct sp_xconn *x = sp_container_of(t, struct sp_xconn, timer);

    x->hooks->timer(x);
}

int sp_xconn_open(struct sp_xconn *x, struct sp_worker *w, int fd, const struct sp_xprt_ops *xprt,
                  const struct sp_xconn_hooks *hooks)
{
    x->ev.fd = fd;
    x->ev.cb = xconn_ev;
    x->xprt = xprt;
    x->hooks = hooks;
    x->can_read = x->can_write = x->rdhup = x->rd_eof = x->shut_wr = false;
    x->xwant = 0;
    x->xctx = NULL;
    sp_timer_init(&x->timer, xconn_timer);
    int err = sp_worker_add(w, &x->ev);
    if (err)
        x->ev.fd = -1; /* not ours to close: the caller's */
    return err;
}

void sp_xconn_close(struct sp_xconn *x, struct sp_worker *w, struct sp_bufpool *bufs)
{
    sp_timer_disarm(&w->tw, &x->timer);
    if (x->ev.fd >= 0) {
        x->xprt->release(x);
        x->xprt = &sp_xprt_raw;
        x->xctx = NULL;
        sp_worker_close(w, &x->ev);
    }
    sp_buf_release(&x->rbuf, bufs, 1);
    sp_buf_release(&x->wbuf, bufs, 1);
}

ssize_t sp_xconn_read(struct sp_xconn *x)
{
    struct sp_buf *b = &x->rbuf;

    if (!sp_buf_room(b))
        sp_buf_realign(b);
    uint32_t room = sp_buf_room(b);
    ssize_t n = x->xprt->recv(x, sp_buf_tail(b), room);
    if (n > 0) {
        b->tail += (uint32_t)n;
        /* drained: the next bytes raise a new edge (not after a FIN: read to the end) */
        if ((uint32_t)n < room && !x->rdhup)
            x->can_read = false;
    } else if (n == -EAGAIN) {
        x->can_read = false;
    } else {
        x->rd_eof = true; /* end of stream, or an error: no more bytes either way */
    }
    return n;
}

ssize_t sp_xconn_flush(struct sp_xconn *x)
{
    struct sp_buf *b = &x->wbuf;
    ssize_t total = 0;

    while (sp_buf_len(b)) {
        struct iovec iov = {.iov_base = sp_buf_head(b), .iov_len = sp_buf_len(b)};
        ssize_t n = x->xprt->sendv(x, &iov, 1);
        if (n < 0) {
            if (n == -EAGAIN) {
                x->can_write = false;
                return total ? total : -EAGAIN;
            }
            return n;
        }
        sp_buf_consume(b, (uint32_t)n);
        total += n;
    }
    return total;
}

ssize_t sp_xconn_sendv(struct sp_xconn *x, const struct iovec *iov, int n)
{
    ssize_t r = x->xprt->sendv(x, iov, n);

    if (r == -EAGAIN)
        x->can_write = false;
    return r;
}

void sp_xconn_drain(struct sp_xconn *x)
{
    char sink[4096];

    while (x->can_read && !x->rd_eof) {
        ssize_t n = x->xprt->recv(x, sink, sizeof(sink));
        if (n > 0)
            continue;
        if (n == -EAGAIN)
            x->can_read = false;
        else
            x->rd_eof = true;
    }
}

int sp_xconn_shutw(struct sp_xconn *x)
{
    if (x->shut_wr)
        return 0;
    x->shut_wr = true;
    return x->xprt->shutw(x);
}

int sp_xconn_error(const struct sp_xconn *x)
{
    return sp_sock_error(x->ev.fd);
}
