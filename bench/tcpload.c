/* bench/tcpload.c - the load generator and the server of bench/tcp (loopback only).
 *
 *   tcpload serve PORT MODE [BYTES]   a one-thread epoll server:
 *       MODE rr:   reads a 64-byte request, answers 64 bytes and closes
 *       MODE bulk: writes BYTES to each connection, then closes (and reads what comes)
 *   tcpload rr PORT CONC SECONDS      CONC connections at a time, each: connect, send 64
 *                                     bytes, read the answer to EOF, close; prints
 *                                     "rr DONE ERRORS SECONDS"
 *   tcpload bulk PORT CONC BYTES      CONC connections, each reading BYTES to EOF; prints
 *                                     "bulk BYTES_TOTAL ERRORS SECONDS"
 *
 * Not part of spillway: built by bench/tcp with cc -O2.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define REQ   64
#define MAXEV 256

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct sockaddr_in addr_of(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return a;
}

struct conn {
    int fd;
    size_t done; /* bytes written (serve) or read (clients) */
    size_t got;  /* serve rr: request bytes read */
};

static char big[1 << 18];

/* ---- server ---- */

static int serve(int port, int bulk, size_t bytes)
{
    int lst = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0), one = 1;
    struct sockaddr_in a = addr_of(port);
    setsockopt(lst, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(lst, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lst, 4096) < 0) {
        perror("listen");
        return 1;
    }
    int ep = epoll_create1(0);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
    epoll_ctl(ep, EPOLL_CTL_ADD, lst, &ev);
    memset(big, 'b', sizeof(big));
    for (;;) {
        struct epoll_event evs[MAXEV];
        int n = epoll_wait(ep, evs, MAXEV, -1);
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (!c) {
                for (;;) {
                    int fd = accept4(lst, NULL, NULL, SOCK_NONBLOCK);
                    if (fd < 0)
                        break;
                    c = calloc(1, sizeof(*c));
                    c->fd = fd;
                    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET,
                                            .data.ptr = c};
                    epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
                }
                continue;
            }
            char buf[4096];
            int closeit = 0;
            if (!bulk) {
                for (;;) {
                    ssize_t r = read(c->fd, buf, sizeof(buf));
                    if (r > 0) {
                        c->got += (size_t)r;
                        continue;
                    }
                    if (r == 0 || (errno != EAGAIN && errno != EINTR))
                        closeit = 1;
                    break;
                }
                if (c->got >= REQ && !c->done) {
                    if (write(c->fd, big, REQ) == REQ)
                        c->done = REQ;
                    closeit = 1;
                }
            } else {
                while (c->done < bytes) {
                    size_t k = bytes - c->done < sizeof(big) ? bytes - c->done : sizeof(big);
                    ssize_t w = write(c->fd, big, k);
                    if (w > 0) {
                        c->done += (size_t)w;
                        continue;
                    }
                    if (w < 0 && errno != EAGAIN && errno != EINTR)
                        closeit = 1;
                    break;
                }
                if (c->done >= bytes)
                    closeit = 1;
                while (read(c->fd, buf, sizeof(buf)) > 0)
                    ;
            }
            if (closeit) {
                close(c->fd);
                free(c);
            }
        }
    }
}

/* ---- clients ---- */

static int open_one(int ep, int port, struct conn *c)
{
    struct sockaddr_in a = addr_of(port);
    c->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    c->done = c->got = 0;
    if (c->fd < 0)
        return -1;
    if (connect(c->fd, (struct sockaddr *)&a, sizeof(a)) < 0 && errno != EINPROGRESS) {
        close(c->fd);
        return -1;
    }
    struct epoll_event e = {.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &e);
    return 0;
}

static int clients(int port, int conc, int bulk, double seconds, size_t bytes)
{
    int ep = epoll_create1(0);
    struct conn *cs = calloc((size_t)conc, sizeof(*cs));
    static char req[REQ], buf[1 << 18];
    uint64_t done = 0, errs = 0, total = 0;
    int live = 0;
    double t0 = now_s(), end = t0 + seconds;

    memset(req, 'q', sizeof(req));
    for (int i = 0; i < conc; i++)
        if (open_one(ep, port, &cs[i]) == 0)
            live++;
    while (live > 0) {
        struct epoll_event evs[MAXEV];
        int n = epoll_wait(ep, evs, MAXEV, 1000);
        double t = now_s();
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            int fin = 0, err = 0;
            if (!bulk && !c->got && (evs[i].events & EPOLLOUT)) {
                if (write(c->fd, req, REQ) == REQ)
                    c->got = REQ;
                else if (errno != EAGAIN)
                    err = 1;
            }
            for (;;) {
                ssize_t r = read(c->fd, buf, sizeof(buf));
                if (r > 0) {
                    c->done += (size_t)r;
                    continue;
                }
                if (r == 0)
                    fin = 1;
                else if (errno != EAGAIN && errno != EINTR)
                    err = 1;
                break;
            }
            if (!fin && !err)
                continue;
            close(c->fd);
            total += c->done;
            if (err || (!bulk && c->done != REQ) || (bulk && c->done != bytes))
                errs++;
            else
                done++;
            live--;
            if (!bulk && t < end && open_one(ep, port, c) == 0)
                live++;
        }
        if (!bulk && t >= end + 10)
            break;
    }
    double el = now_s() - t0;
    if (bulk)
        printf("bulk %llu %llu %.3f\n", (unsigned long long)total, (unsigned long long)errs, el);
    else
        printf("rr %llu %llu %.3f\n", (unsigned long long)done, (unsigned long long)errs, el);
    return 0;
}

int main(int argc, char **argv)
{
    /* a peer that went away (the harness's readiness probe) must not kill the server */
    signal(SIGPIPE, SIG_IGN);
    if (argc >= 4 && !strcmp(argv[1], "serve"))
        return serve(atoi(argv[2]), !strcmp(argv[3], "bulk"),
                     argc > 4 ? strtoull(argv[4], NULL, 10) : 0);
    if (argc == 5 && !strcmp(argv[1], "rr"))
        return clients(atoi(argv[2]), atoi(argv[3]), 0, atof(argv[4]), 0);
    if (argc == 5 && !strcmp(argv[1], "bulk"))
        return clients(atoi(argv[2]), atoi(argv[3]), 1, 0, strtoull(argv[4], NULL, 10));
    fprintf(stderr, "usage: tcpload serve PORT rr|bulk [BYTES] | rr PORT CONC SECONDS | "
                    "bulk PORT CONC BYTES\n");
    return 2;
}
