/* core/logsink.c - log targets (shared, immutable) and per-worker line buffers. */
#include "core/logsink.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

enum fmt { F_RAW, F_RFC3164, F_RFC5424 };

enum kind {
    K_STREAM,     /* write(): stdout, stderr, files, FIFOs */
    K_SOCKSTREAM, /* send(MSG_DONTWAIT): stdout/stderr connected to a stream socket */
    K_DGRAM,      /* sendmmsg(): syslog over UDP or a UNIX datagram socket */
};

#define HDR_TAIL_MAX 400 /* "hostname tag[pid]: " and its rfc5424 twin */
#define MAX_DGRAMS   1024

/* shared: immutable after open */
struct target {
    enum kind kind;
    enum fmt fmt;
    int fd;
    int facility;
    int maxlevel; /* lines of a higher (less severe) level are not sent */
    size_t len;   /* max header + message */
    size_t wcap;  /* most bytes in one write(): PIPE_BUF for pipes, so that writes of whole
                     lines stay atomic between workers sharing the pipe */
    struct sockaddr_storage addr;
    socklen_t addrlen;
    char tail[HDR_TAIL_MAX]; /* what follows the date in the header */
    size_t tail_len;
};

struct sp_logsink {
    unsigned n;
    struct target t[];
};

/* owner: worker, except the counters (one writer, any reader) */
struct tbuf {
    char *data;
    size_t used, cap;
    uint32_t *lens; /* K_DGRAM: length of each queued datagram, in order */
    unsigned nlines, maxlines;
    struct mmsghdr *msgs; /* K_DGRAM: built at flush, allocated once */
    struct iovec *iov;
    /* shared: one writer, any reader */
    uint64_t queued, sent, dropped, syscalls;
};

struct sp_logsink_buf {
    const struct sp_logsink *sink;
    int64_t now_us;
    /* header date caches, keyed by the second they were formatted for */
    int64_t c3164_sec, c5424_sec;
    char c3164[16];   /* "Mmm dd hh:mm:ss" */
    char c5424[20];   /* "yyyy-mm-ddThh:mm:ss" */
    char c5424_tz[7]; /* "+hh:mm" */
    struct tbuf tb[];
};

static const char *const facilities[] = {
    "kern",   "user",   "mail",   "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "auth2",  "ftp",    "ntp",    "audit",  "alert",  "cron2",
    "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};

static const char *const levels[] = {
    "emerg", "alert", "crit", "err", "warning", "notice", "info", "debug",
};

static int lookup(const char *s, const char *const *list, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, list[i]) == 0)
            return i;
    return -1;
}

static void counter_add(uint64_t *c, uint64_t v)
{
    /* single writer: a relaxed load and store, no locked instruction */
    __atomic_store_n(c, __atomic_load_n(c, __ATOMIC_RELAXED) + v, __ATOMIC_RELAXED);
}

/* ---------------------------------------------------------------------------------------- */
/* opening (main) */

/* "[udp@|ipv4@|ipv6@]host[:port]", port 514 by default */
static int resolve_udp(const char *target, struct sockaddr_storage *ss, socklen_t *len)
{
    struct addrinfo hints, *res = NULL;
    struct in6_addr a6;
    char host[256];
    const char *h = target, *port = "514";
    int family = AF_UNSPEC, r;

    if (strncmp(h, "udp@", 4) == 0) {
        h += 4;
    } else if (strncmp(h, "ipv4@", 5) == 0) {
        family = AF_INET;
        h += 5;
    } else if (strncmp(h, "ipv6@", 5) == 0) {
        family = AF_INET6;
        h += 5;
    }
    if (strlen(h) >= sizeof(host) || !*h)
        return -EINVAL;
    if (h[0] == '[') {
        const char *rb = strchr(h, ']');
        if (!rb || (rb[1] != '\0' && rb[1] != ':'))
            return -EINVAL;
        memcpy(host, h + 1, (size_t)(rb - h - 1));
        host[rb - h - 1] = '\0';
        if (rb[1] == ':')
            port = rb + 2;
    } else if (inet_pton(AF_INET6, h, &a6) == 1) {
        strcpy(host, h);
    } else {
        const char *c = strrchr(h, ':');
        size_t hl = c ? (size_t)(c - h) : strlen(h);
        memcpy(host, h, hl);
        host[hl] = '\0';
        if (c)
            port = c + 1;
    }
    if (!*port || strspn(port, "0123456789") != strlen(port) || atoi(port) > 65535 || !*host)
        return -EINVAL;
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = family;
    hints.ai_socktype = SOCK_DGRAM;
    hints.ai_flags = AI_NUMERICSERV;
    r = getaddrinfo(host, port, &hints, &res);
    if (r != 0 || !res)
        return -ENOENT;
    memcpy(ss, res->ai_addr, res->ai_addrlen);
    *len = res->ai_addrlen;
    freeaddrinfo(res);
    return 0;
}

/* Our own non-blocking handle on fd 1 or 2. Setting O_NONBLOCK on the inherited fd would
 * change the file description we share with the parent (a shell's terminal), so a pipe or
 * a terminal is reopened through /proc for a description of our own; a socket is written
 * with MSG_DONTWAIT; a regular file never answers EAGAIN and is simply dup()ed. */
static int open_std(struct target *t, int stdfd)
{
    struct stat st;
    char path[32];
    int fd;

    if (fstat(stdfd, &st) < 0)
        return -errno;
    if (S_ISSOCK(st.st_mode)) {
        t->kind = K_SOCKSTREAM;
        fd = fcntl(stdfd, F_DUPFD_CLOEXEC, 3);
        return fd < 0 ? -errno : fd;
    }
    if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
        snprintf(path, sizeof(path), "/proc/self/fd/%d", stdfd);
        fd = open(path, O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (fd >= 0)
            return fd;
        /* no /proc: fall back to a blocking duplicate (writes may then stall the loop) */
    }
    fd = fcntl(stdfd, F_DUPFD_CLOEXEC, 3);
    return fd < 0 ? -errno : fd;
}

static int open_target(struct target *t, const struct sp_cfg_log *l, char *err, size_t errlen)
{
    const char *tg = l->target;
    struct stat st;
    int fd;

    t->kind = K_STREAM;
    t->wcap = SIZE_MAX;
    if (strcmp(tg, "stdout") == 0 || strcmp(tg, "stderr") == 0) {
        fd = open_std(t, tg[3] == 'o' ? STDOUT_FILENO : STDERR_FILENO);
    } else if (tg[0] == '/') {
        if (stat(tg, &st) == 0 && S_ISSOCK(st.st_mode)) {
            struct sockaddr_un *sun = (struct sockaddr_un *)&t->addr;
            if (strlen(tg) >= sizeof(sun->sun_path)) {
                snprintf(err, errlen, "log target '%s': path too long", tg);
                return -EINVAL;
            }
            sun->sun_family = AF_UNIX;
            strcpy(sun->sun_path, tg);
            t->addrlen = sizeof(*sun);
            t->kind = K_DGRAM;
            fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        } else {
            fd = open(tg, O_WRONLY | O_APPEND | O_CREAT | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, 0640);
        }
    } else {
        int r = resolve_udp(tg, &t->addr, &t->addrlen);
        if (r < 0) {
            snprintf(err, errlen, "log target '%s': %s", tg,
                     r == -ENOENT ? "could not resolve address" : "invalid address");
            return r;
        }
        t->kind = K_DGRAM;
        fd = socket(t->addr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    }
    if (fd < 0) {
        int e = errno;
        snprintf(err, errlen, "log target '%s': %s", tg, strerror(e));
        return -e;
    }
    t->fd = fd;
    if (t->kind == K_STREAM && fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
        t->wcap = PIPE_BUF;
    return 0;
}

int sp_logsink_open(const struct sp_cfg_log *const *logs, unsigned n,
                    const struct sp_logsink_opts *opts, struct sp_logsink **ret_sink, char *err,
                    size_t errlen)
{
    struct sp_logsink *s;
    char hostbuf[256], errbuf[8];
    const char *host, *tag;
    int pid, r = 0;
    unsigned i;

    if (!err || !errlen) {
        err = errbuf;
        errlen = sizeof(errbuf);
    }
    err[0] = '\0';
    s = calloc(1, sizeof(*s) + n * sizeof(struct target));
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    for (i = 0; i < n; i++)
        s->t[i].fd = -1;
    s->n = n;

    host = opts ? opts->hostname : NULL;
    if (!host) {
        if (gethostname(hostbuf, sizeof(hostbuf)) < 0)
            snprintf(hostbuf, sizeof(hostbuf), "localhost");
        hostbuf[sizeof(hostbuf) - 1] = '\0';
        host = hostbuf;
    }
    tag = opts && opts->tag ? opts->tag : "spillway";
    pid = opts && opts->pid ? opts->pid : (int)getpid();

    for (i = 0; i < n; i++) {
        const struct sp_cfg_log *l = logs[i];
        struct target *t = &s->t[i];
        int k;

        if (!l->format || strcmp(l->format, "rfc3164") == 0) {
            t->fmt = F_RFC3164;
        } else if (strcmp(l->format, "rfc5424") == 0) {
            t->fmt = F_RFC5424;
        } else if (strcmp(l->format, "raw") == 0) {
            t->fmt = F_RAW;
        } else {
            snprintf(err, errlen, "log target '%s': unknown format '%s'", l->target, l->format);
            r = -EINVAL;
            goto fail;
        }
        t->facility = l->facility ? lookup(l->facility, facilities, 24) : -1;
        if (t->facility < 0) {
            snprintf(err, errlen, "log target '%s': unknown facility '%s'", l->target,
                     l->facility ? l->facility : "");
            r = -EINVAL;
            goto fail;
        }
        t->maxlevel = l->level ? lookup(l->level, levels, 8) : SP_SYSLOG_DEBUG;
        if (t->maxlevel < 0) {
            snprintf(err, errlen, "log target '%s': unknown level '%s'", l->target, l->level);
            r = -EINVAL;
            goto fail;
        }
        t->len = l->len > 0 ? (size_t)l->len : SP_LOGSINK_DEFAULT_LEN;
        if (t->fmt == F_RFC3164)
            k = snprintf(t->tail, sizeof(t->tail),
                         "%s%s%s[%d]: ", opts && opts->send_hostname ? host : "",
                         opts && opts->send_hostname ? " " : "", tag, pid);
        else if (t->fmt == F_RFC5424)
            k = snprintf(t->tail, sizeof(t->tail), " %s %s %d - - ",
                         opts && opts->send_hostname ? host : "-", tag, pid);
        else
            k = 0;
        if (k < 0 || (size_t)k >= sizeof(t->tail)) {
            snprintf(err, errlen, "log target '%s': host name or tag too long", l->target);
            r = -EINVAL;
            goto fail;
        }
        t->tail_len = (size_t)k;
        r = open_target(t, l, err, errlen);
        if (r < 0)
            goto fail;
    }
    *ret_sink = s;
    return 0;

fail:
    sp_logsink_close(s);
    return r;
}

struct sp_logsink *sp_logsink_close(struct sp_logsink *sink)
{
    if (!sink)
        return NULL;
    for (unsigned i = 0; i < sink->n; i++)
        if (sink->t[i].fd >= 0)
            close(sink->t[i].fd);
    free(sink);
    return NULL;
}

unsigned sp_logsink_count(const struct sp_logsink *sink)
{
    return sink->n;
}

/* ---------------------------------------------------------------------------------------- */
/* per-worker buffers */

struct sp_logsink_buf *sp_logsink_buf_new(const struct sp_logsink *sink, size_t bytes,
                                          unsigned max_dgrams)
{
    struct sp_logsink_buf *b;

    b = calloc(1, sizeof(*b) + sink->n * sizeof(struct tbuf));
    if (!b)
        return NULL;
    b->sink = sink;
    b->c3164_sec = b->c5424_sec = INT64_MIN;
    if (!bytes)
        bytes = 64 * 1024;
    if (!max_dgrams)
        max_dgrams = 256;
    if (max_dgrams > MAX_DGRAMS)
        max_dgrams = MAX_DGRAMS;
    for (unsigned i = 0; i < sink->n; i++) {
        const struct target *t = &sink->t[i];
        struct tbuf *tb = &b->tb[i];

        tb->cap = bytes < 2 * (t->len + 1) ? 2 * (t->len + 1) : bytes;
        tb->data = malloc(tb->cap);
        if (!tb->data)
            goto fail;
        if (t->kind == K_DGRAM) {
            tb->maxlines = max_dgrams;
            tb->lens = calloc(max_dgrams, sizeof(*tb->lens));
            tb->msgs = calloc(max_dgrams, sizeof(*tb->msgs));
            tb->iov = calloc(max_dgrams, sizeof(*tb->iov));
            if (!tb->lens || !tb->msgs || !tb->iov)
                goto fail;
        }
    }
    return b;
fail:
    return sp_logsink_buf_free(b);
}

struct sp_logsink_buf *sp_logsink_buf_free(struct sp_logsink_buf *buf)
{
    if (!buf)
        return NULL;
    for (unsigned i = 0; i < buf->sink->n; i++) {
        free(buf->tb[i].data);
        free(buf->tb[i].lens);
        free(buf->tb[i].msgs);
        free(buf->tb[i].iov);
    }
    free(buf);
    return NULL;
}

void sp_logsink_buf_set_now(struct sp_logsink_buf *buf, int64_t now_us)
{
    buf->now_us = now_us;
}

static inline void put_2d(char *d, int v)
{
    d[0] = (char)('0' + v / 10 % 10);
    d[1] = (char)('0' + v % 10);
}

/* "hh:mm:ss" */
static void put_hms(char *d, const struct tm *tm)
{
    put_2d(d, tm->tm_hour);
    d[2] = ':';
    put_2d(d + 3, tm->tm_min);
    d[5] = ':';
    put_2d(d + 6, tm->tm_sec);
}

static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* "Mmm dd hh:mm:ss", local time, the day padded with a space (RFC 3164) */
static const char *date3164(struct sp_logsink_buf *b, int64_t sec)
{
    if (b->c3164_sec != sec) {
        struct tm tm;
        time_t t = (time_t)sec;
        localtime_r(&t, &tm);
        memcpy(b->c3164, months[tm.tm_mon], 3);
        b->c3164[3] = ' ';
        put_2d(b->c3164 + 4, tm.tm_mday);
        if (b->c3164[4] == '0')
            b->c3164[4] = ' ';
        b->c3164[6] = ' ';
        put_hms(b->c3164 + 7, &tm);
        b->c3164_sec = sec;
    }
    return b->c3164;
}

/* "yyyy-mm-ddThh:mm:ss" and "+hh:mm", local time (RFC 5424) */
static void date5424(struct sp_logsink_buf *b, int64_t sec)
{
    if (b->c5424_sec != sec) {
        struct tm tm;
        time_t t = (time_t)sec;
        long off, a;
        localtime_r(&t, &tm);
        int y = tm.tm_year + 1900;
        put_2d(b->c5424, y / 100);
        put_2d(b->c5424 + 2, y % 100);
        b->c5424[4] = '-';
        put_2d(b->c5424 + 5, tm.tm_mon + 1);
        b->c5424[7] = '-';
        put_2d(b->c5424 + 8, tm.tm_mday);
        b->c5424[10] = 'T';
        put_hms(b->c5424 + 11, &tm);
        off = tm.tm_gmtoff;
        a = off < 0 ? -off : off;
        b->c5424_tz[0] = off < 0 ? '-' : '+';
        put_2d(b->c5424_tz + 1, (int)(a / 3600 % 100));
        b->c5424_tz[3] = ':';
        put_2d(b->c5424_tz + 4, (int)(a / 60 % 60));
        b->c5424_sec = sec;
    }
}

/* writes the header into h (at least 64 + HDR_TAIL_MAX bytes); returns its length */
static size_t build_header(struct sp_logsink_buf *b, const struct target *t, int severity, char *h)
{
    int64_t now = b->now_us;
    size_t n = 0;
    unsigned pri = (unsigned)(t->facility * 8 + severity);

    if (t->fmt == F_RAW)
        return 0;
    if (!now) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        now = (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
    }
    int64_t sec = now / 1000000, usec = now % 1000000;
    h[n++] = '<';
    if (pri >= 100)
        h[n++] = (char)('0' + pri / 100);
    if (pri >= 10)
        h[n++] = (char)('0' + pri / 10 % 10);
    h[n++] = (char)('0' + pri % 10);
    h[n++] = '>';
    if (t->fmt == F_RFC3164) {
        memcpy(h + n, date3164(b, sec), 15);
        n += 15;
        h[n++] = ' ';
    } else {
        h[n++] = '1';
        h[n++] = ' ';
        date5424(b, sec);
        memcpy(h + n, b->c5424, 19);
        n += 19;
        h[n++] = '.';
        for (int i = 5; i >= 0; i--) {
            h[n + (size_t)i] = (char)('0' + usec % 10);
            usec /= 10;
        }
        n += 6;
        memcpy(h + n, b->c5424_tz, 6);
        n += 6;
    }
    memcpy(h + n, t->tail, t->tail_len);
    return n + t->tail_len;
}

int sp_logsink_emit_level(struct sp_logsink_buf *buf, unsigned idx, int severity, const char *msg,
                          size_t len)
{
    char hdr[64 + HDR_TAIL_MAX];
    const struct target *t;
    struct tbuf *tb;
    size_t hl, total;

    if (idx >= buf->sink->n || severity < 0 || severity > SP_SYSLOG_DEBUG)
        return -EINVAL;
    t = &buf->sink->t[idx];
    tb = &buf->tb[idx];
    if (severity > t->maxlevel)
        return 0;
    if (t->kind == K_DGRAM && tb->nlines == tb->maxlines)
        goto drop;
    hl = build_header(buf, t, severity, hdr);
    if (hl > t->len)
        hl = t->len;
    if (len > t->len - hl)
        len = t->len - hl;
    total = hl + len + (t->kind != K_DGRAM); /* stream lines end with '\n' */
    if (tb->cap - tb->used < total)
        goto drop;
    memcpy(tb->data + tb->used, hdr, hl);
    memcpy(tb->data + tb->used + hl, msg, len);
    if (t->kind == K_DGRAM)
        tb->lens[tb->nlines++] = (uint32_t)total;
    else
        tb->data[tb->used + total - 1] = '\n';
    tb->used += total;
    counter_add(&tb->queued, 1);
    return 1;
drop:
    counter_add(&tb->dropped, 1);
    return -ENOBUFS;
}

int sp_logsink_emit(struct sp_logsink_buf *buf, unsigned idx, const char *msg, size_t len)
{
    return sp_logsink_emit_level(buf, idx, SP_SYSLOG_INFO, msg, len);
}

static uint64_t count_lines(const char *p, size_t n)
{
    uint64_t c = 0;
    const char *end = p + n;
    while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
        c++;
        p++;
    }
    return c;
}

/* one write() of the queued bytes (whole lines, up to wcap); returns lines written */
static unsigned flush_stream(const struct target *t, struct tbuf *tb)
{
    size_t n = tb->used;
    ssize_t w;
    uint64_t lines;

    if (n > t->wcap) {
        /* the last line end within wcap, or the end of the first line if it is longer */
        const char *p = tb->data + t->wcap;
        while (p > tb->data && p[-1] != '\n')
            p--;
        if (p == tb->data) {
            p = memchr(tb->data, '\n', n);
            p = p ? p + 1 : tb->data + n;
        }
        n = (size_t)(p - tb->data);
    }
    if (t->kind == K_SOCKSTREAM)
        w = send(t->fd, tb->data, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    else
        w = write(t->fd, tb->data, n);
    counter_add(&tb->syscalls, 1);
    if (w < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0; /* all stays queued for the next turn */
        counter_add(&tb->dropped, count_lines(tb->data, tb->used));
        tb->used = 0;
        return 0;
    }
    /* a short write leaves the rest, possibly the tail of a line, for the next turn */
    lines = count_lines(tb->data, (size_t)w);
    memmove(tb->data, tb->data + w, tb->used - (size_t)w);
    tb->used -= (size_t)w;
    counter_add(&tb->sent, lines);
    return (unsigned)lines;
}

/* one sendmmsg() carrying every queued datagram; returns datagrams sent */
static unsigned flush_dgram(const struct target *t, struct tbuf *tb)
{
    size_t off = 0, done = 0;
    int r;

    for (unsigned i = 0; i < tb->nlines; i++) {
        tb->iov[i].iov_base = tb->data + off;
        tb->iov[i].iov_len = tb->lens[i];
        memset(&tb->msgs[i], 0, sizeof(tb->msgs[i]));
        tb->msgs[i].msg_hdr.msg_name = (void *)&t->addr;
        tb->msgs[i].msg_hdr.msg_namelen = t->addrlen;
        tb->msgs[i].msg_hdr.msg_iov = &tb->iov[i];
        tb->msgs[i].msg_hdr.msg_iovlen = 1;
        off += tb->lens[i];
    }
    r = sendmmsg(t->fd, tb->msgs, tb->nlines, MSG_DONTWAIT | MSG_NOSIGNAL);
    counter_add(&tb->syscalls, 1);
    if (r < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ENOBUFS)
            return 0;
        /* the server is unreachable or refuses: what is queued is lost */
        counter_add(&tb->dropped, tb->nlines);
        tb->used = 0;
        tb->nlines = 0;
        return 0;
    }
    for (int i = 0; i < r; i++)
        done += tb->lens[i];
    memmove(tb->data, tb->data + done, tb->used - done);
    tb->used -= done;
    memmove(tb->lens, tb->lens + r, (tb->nlines - (unsigned)r) * sizeof(*tb->lens));
    tb->nlines -= (unsigned)r;
    counter_add(&tb->sent, (uint64_t)r);
    return (unsigned)r;
}

unsigned sp_logsink_flush(struct sp_logsink_buf *buf)
{
    unsigned sent = 0;

    for (unsigned i = 0; i < buf->sink->n; i++) {
        const struct target *t = &buf->sink->t[i];
        struct tbuf *tb = &buf->tb[i];

        if (!tb->used && !tb->nlines)
            continue;
        sent += t->kind == K_DGRAM ? flush_dgram(t, tb) : flush_stream(t, tb);
    }
    return sent;
}

uint64_t sp_logsink_buf_drops_mt(const struct sp_logsink_buf *buf)
{
    uint64_t d = 0;
    for (unsigned i = 0; i < buf->sink->n; i++)
        d += __atomic_load_n(&buf->tb[i].dropped, __ATOMIC_RELAXED);
    return d;
}

void sp_logsink_buf_stats_mt(const struct sp_logsink_buf *buf, struct sp_logsink_stats *ret)
{
    memset(ret, 0, sizeof(*ret));
    for (unsigned i = 0; i < buf->sink->n; i++) {
        const struct tbuf *tb = &buf->tb[i];
        ret->queued += __atomic_load_n(&tb->queued, __ATOMIC_RELAXED);
        ret->sent += __atomic_load_n(&tb->sent, __ATOMIC_RELAXED);
        ret->dropped += __atomic_load_n(&tb->dropped, __ATOMIC_RELAXED);
        ret->syscalls += __atomic_load_n(&tb->syscalls, __ATOMIC_RELAXED);
    }
}
