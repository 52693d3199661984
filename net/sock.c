#include "net/sock.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <unistd.h>

ssize_t sp_sock_writev(int fd, const struct iovec *iov, int n)
{
    struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = (size_t)n};

    for (;;) {
        ssize_t r = sendmsg(fd, &mh, MSG_NOSIGNAL);
        if (r >= 0)
            return r;
        if (errno == EINTR)
            continue;
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    }
}

int sp_sock_connect(const struct sockaddr_storage *addr, socklen_t len)
{
    return sp_sock_connect_from(addr, len, NULL, 0);
}

void sp_sock_keepalive(int fd, const struct sp_sock_ka *ka)
{
    int one = 1;

    if (!ka->on)
        return;
    setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
    if (ka->idle_s > 0)
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &ka->idle_s, sizeof(ka->idle_s));
    if (ka->intvl_s > 0)
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &ka->intvl_s, sizeof(ka->intvl_s));
    if (ka->cnt > 0)
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &ka->cnt, sizeof(ka->cnt));
}

int sp_sock_connect_from(const struct sockaddr_storage *addr, socklen_t len,
                         const struct sockaddr_storage *src, socklen_t srclen)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0)
        return -errno;
    if (addr->ss_family != AF_UNIX)
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (srclen && src->ss_family == addr->ss_family) {
        const struct sockaddr_in *s4 = (const struct sockaddr_in *)src;
        const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)src;
        in_port_t port = src->ss_family == AF_INET ? s4->sin_port : s6->sin6_port;
        if (!port)
            setsockopt(fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
        else
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (const struct sockaddr *)src, srclen) < 0) {
            int err = -errno;
            close(fd);
            return err;
        }
    }
    if (connect(fd, (const struct sockaddr *)addr, len) < 0 && errno != EINPROGRESS) {
        int err = -errno;
        close(fd);
        return err;
    }
    return fd;
}

int sp_sock_error(int fd)
{
    int err = 0;
    socklen_t len = sizeof(err);

    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        return -errno;
    return -err;
}

void sp_sock_silent_drop(int fd, int family)
{
    int one = 1;
    struct linger lg = {.l_onoff = 1, .l_linger = 0};

    if (family != AF_INET && family != AF_INET6)
        return;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
    if (setsockopt(fd, IPPROTO_TCP, TCP_REPAIR, &one, sizeof(one)) == 0)
        return; /* quiet: the close sends nothing */
    if (family == AF_INET)
        (void)setsockopt(fd, IPPROTO_IP, IP_TTL, &one, sizeof(one));
    else
        (void)setsockopt(fd, IPPROTO_IPV6, IPV6_UNICAST_HOPS, &one, sizeof(one));
    (void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
}
