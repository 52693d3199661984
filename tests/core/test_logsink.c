/* tests/core/test_logsink.c - framing, buffering and delivery of core/logsink.c. */
#include "core/logsink.h"

#include "tests/unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* 29/Nov/2026:23:56:26.123456 UTC */
#define T0 ((int64_t)1795996586 * 1000000 + 123456)
/* 05/Mar/2026:07:08:09 UTC: a one-digit day */
#define T1 ((int64_t)1772694489 * 1000000 + 7)

static char tmpdir[64];
static unsigned seq;
static char made[64][256]; /* every path handed out, removed by the last test */
static unsigned nmade;

static const struct sp_logsink_opts test_opts = {
    .hostname = "host1", .send_hostname = false, .tag = NULL, .pid = 4242};

static void tz_utc(void)
{
    setenv("TZ", "UTC", 1);
    tzset();
}

static void mkpath(char *buf, size_t len, const char *name)
{
    if (!tmpdir[0]) {
        snprintf(tmpdir, sizeof(tmpdir), "/tmp/sp-logsink-XXXXXX");
        if (!mkdtemp(tmpdir))
            abort();
    }
    snprintf(buf, len, "%s/%s.%u", tmpdir, name, seq++);
    if (nmade < sizeof(made) / sizeof(made[0]))
        snprintf(made[nmade++], sizeof(made[0]), "%s", buf);
}

static void test_cleanup(void)
{
    for (unsigned i = 0; i < nmade; i++)
        unlink(made[i]);
    nmade = 0;
    if (tmpdir[0])
        CU_ASSERT_EQUAL(rmdir(tmpdir), 0);
    tmpdir[0] = '\0';
}

static struct sp_cfg_log cfg(char *target, char *format, char *facility, char *level, int len)
{
    struct sp_cfg_log l;
    memset(&l, 0, sizeof(l));
    l.target = target;
    l.format = format;
    l.facility = facility;
    l.level = level;
    l.len = len;
    return l;
}

/* opens a one-target sink writing to a fresh file; returns the sink, path in `path` */
static struct sp_logsink *file_sink(char *path, size_t plen, char *format, char *facility,
                                    char *level, int len, const struct sp_logsink_opts *opts)
{
    static char target[256];
    struct sp_logsink *s = NULL;
    char err[256];

    mkpath(path, plen, "log");
    snprintf(target, sizeof(target), "%s", path);
    struct sp_cfg_log l = cfg(target, format, facility, level, len);
    const struct sp_cfg_log *ls[] = {&l};
    int r = sp_logsink_open(ls, 1, opts, &s, err, sizeof(err));
    CU_ASSERT_EQUAL(r, 0);
    if (r)
        fprintf(stderr, "open: %s\n", err);
    return s;
}

static size_t slurp(const char *path, char *buf, size_t len)
{
    int fd = open(path, O_RDONLY);
    ssize_t n = fd >= 0 ? read(fd, buf, len - 1) : -1;
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
    return n > 0 ? (size_t)n : 0;
}

/* one line through one file target, read back */
static void one_line(char *format, char *facility, char *level, int len,
                     const struct sp_logsink_opts *opts, int severity, int64_t now, const char *msg,
                     const char *want)
{
    char path[256], got[4096];
    struct sp_logsink *s = file_sink(path, sizeof(path), format, facility, level, len, opts);
    if (!s)
        return;
    struct sp_logsink_buf *b = sp_logsink_buf_new(s, 0, 0);
    sp_logsink_buf_set_now(b, now);
    CU_ASSERT_EQUAL(sp_logsink_emit_level(b, 0, severity, msg, strlen(msg)), 1);
    CU_ASSERT_EQUAL(sp_logsink_flush(b), 1);
    slurp(path, got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, want);
    if (strcmp(got, want) != 0)
        fprintf(stderr, "\n got: [%s]\nwant: [%s]\n", got, want);
    sp_logsink_buf_free(b);
    sp_logsink_close(s);
}

static void test_framing(void)
{
    struct sp_logsink_opts with_host = test_opts;
    with_host.send_hostname = true;
    struct sp_logsink_opts tagged = test_opts;
    tagged.tag = "edge";

    tz_utc();
    /* default format is rfc3164, without the host name as HAProxy without log-send-hostname */
    one_line(NULL, "local0", NULL, 0, &test_opts, SP_SYSLOG_INFO, T0, "hello",
             "<134>Nov 29 23:56:26 spillway[4242]: hello\n");
    one_line("rfc3164", "local0", NULL, 0, &with_host, SP_SYSLOG_INFO, T0, "hello",
             "<134>Nov 29 23:56:26 host1 spillway[4242]: hello\n");
    one_line("rfc3164", "local0", NULL, 0, &tagged, SP_SYSLOG_INFO, T1, "x",
             "<134>Mar  5 07:08:09 edge[4242]: x\n");
    one_line("rfc5424", "local0", NULL, 0, &with_host, SP_SYSLOG_INFO, T0, "hello",
             "<134>1 2026-11-29T23:56:26.123456+00:00 host1 spillway 4242 - - hello\n");
    /* without log-send-hostname rfc5424's HOSTNAME is the nil value, as HAProxy 2.6 */
    one_line("rfc5424", "local0", NULL, 0, &test_opts, SP_SYSLOG_INFO, T0, "hello",
             "<134>1 2026-11-29T23:56:26.123456+00:00 - spillway 4242 - - hello\n");
    one_line("rfc5424", "user", NULL, 0, &tagged, SP_SYSLOG_INFO, T1, "x",
             "<14>1 2026-03-05T07:08:09.000007+00:00 - edge 4242 - - x\n");
    one_line("raw", "local0", NULL, 0, &test_opts, SP_SYSLOG_INFO, T0, "just this", "just this\n");

    /* a local zone with a half-hour offset */
    setenv("TZ", "IST-5:30", 1);
    tzset();
    one_line("rfc5424", "local0", NULL, 0, &test_opts, SP_SYSLOG_INFO, T0, "m",
             "<134>1 2026-11-30T05:26:26.123456+05:30 - spillway 4242 - - m\n");
    one_line("rfc3164", "local0", NULL, 0, &test_opts, SP_SYSLOG_INFO, T0, "m",
             "<134>Nov 30 05:26:26 spillway[4242]: m\n");
    tz_utc();
}

/* PRI = facility * 8 + severity; level is the least severe level sent */
static void test_pri_and_level(void)
{
    char path[256], got[4096];

    tz_utc();
    one_line("rfc3164", "kern", NULL, 0, &test_opts, SP_SYSLOG_EMERG, T0, "a",
             "<0>Nov 29 23:56:26 spillway[4242]: a\n");
    one_line("rfc3164", "user", NULL, 0, &test_opts, SP_SYSLOG_ERR, T0, "a",
             "<11>Nov 29 23:56:26 spillway[4242]: a\n");
    one_line("rfc3164", "daemon", NULL, 0, &test_opts, SP_SYSLOG_INFO, T0, "a",
             "<30>Nov 29 23:56:26 spillway[4242]: a\n");
    one_line("rfc3164", "local7", "debug", 0, &test_opts, SP_SYSLOG_DEBUG, T0, "a",
             "<191>Nov 29 23:56:26 spillway[4242]: a\n");

    struct sp_logsink *s = file_sink(path, sizeof(path), "raw", "local0", "notice", 0, &test_opts);
    struct sp_logsink_buf *b = sp_logsink_buf_new(s, 0, 0);
    CU_ASSERT_EQUAL(sp_logsink_emit(b, 0, "info", 4), 0); /* info > notice: filtered */
    CU_ASSERT_EQUAL(sp_logsink_emit_level(b, 0, SP_SYSLOG_NOTICE, "notice", 6), 1);
    CU_ASSERT_EQUAL(sp_logsink_emit_level(b, 0, SP_SYSLOG_ERR, "err", 3), 1);
    CU_ASSERT_EQUAL(sp_logsink_emit_level(b, 0, 8, "bad", 3), -EINVAL);
    CU_ASSERT_EQUAL(sp_logsink_emit(b, 1, "bad", 3), -EINVAL);
    CU_ASSERT_EQUAL(sp_logsink_flush(b), 2);
    slurp(path, got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "notice\nerr\n");
    CU_ASSERT_EQUAL(sp_logsink_buf_drops_mt(b), 0);
    sp_logsink_buf_free(b);
    sp_logsink_close(s);
}

static void test_len_truncation(void)
{
    char path[256], got[4096], msg[300];
    struct sp_logsink_stats st;

    tz_utc();
    memset(msg, 'm', sizeof(msg));
    struct sp_logsink *s = file_sink(path, sizeof(path), NULL, "local0", NULL, 80, &test_opts);
    struct sp_logsink_buf *b = sp_logsink_buf_new(s, 0, 0);
    sp_logsink_buf_set_now(b, T0);
    CU_ASSERT_EQUAL(sp_logsink_emit(b, 0, msg, sizeof(msg)), 1);
    CU_ASSERT_EQUAL(sp_logsink_emit(b, 0, "short", 5), 1);
    CU_ASSERT_EQUAL(sp_logsink_flush(b), 2);
    size_t n = slurp(path, got, sizeof(got));
    const char *hdr = "<134>Nov 29 23:56:26 spillway[4242]: ";
    CU_ASSERT_EQUAL(n, 80 + 1 + strlen(hdr) + 5 + 1);
    CU_ASSERT_EQUAL(memcmp(got, hdr, strlen(hdr)), 0);
    CU_ASSERT_EQUAL(got[79], 'm');
    CU_ASSERT_EQUAL(got[80], '\n');
    CU_ASSERT_EQUAL(strcmp(got + 81 + strlen(hdr), "short\n"), 0);
    sp_logsink_buf_stats_mt(b, &st);
    CU_ASSERT_EQUAL(st.queued, 2);
    CU_ASSERT_EQUAL(st.sent, 2);
    CU_ASSERT_EQUAL(st.syscalls, 1);
    sp_logsink_buf_free(b);
    sp_logsink_close(s);

    /* the default length is 1024 */
    static char big[2000], out[4096];
    memset(big, 'x', sizeof(big));
    s = file_sink(path, sizeof(path), "raw", "local0", NULL, 0, &test_opts);
    b = sp_logsink_buf_new(s, 0, 0);
    CU_ASSERT_EQUAL(sp_logsink_emit(b, 0, big, sizeof(big)), 1);
    sp_logsink_flush(b);
    CU_ASSERT_EQUAL(slurp(path, out, sizeof(out)), SP_LOGSINK_DEFAULT_LEN + 1);
    sp_logsink_buf_free(b);
    sp_logsink_close(s);
}

/* a full buffer drops the line and counts it; after a flush there is room again */
static void test_buffer_full(void)
{
    char path[256], got[4096], msg[50];
    struct sp_logsink_stats st;

    memset(msg, 'a', sizeof(msg));
    /* len 80: the buffer is at least 2 * 81 bytes; 200 asked: 3 lines of 51 bytes fit */
    struct sp_logsink *s = file_sink(path, sizeof(path), "raw", "local0", NULL, 80, &test_opts);
    struct sp_logsink_buf *b = sp_logsink_buf_new(s, 200, 0);
    for (int i = 0; i < 3; i++) {
        msg[0] = (char)('0' + i);
        CU_ASSERT_EQUAL(sp_logsink_emit(b, 0, msg, sizeof(msg)), 1);
    }
    CU_ASSERT_EQUAL(sp_logsink_emit(b, 0, msg, sizeof(msg)), -ENOBUFS);
    CU_ASSERT_EQUAL(sp_logsink_emit(b, 0, msg, sizeof(msg)), -ENOBUFS);
    CU_ASSERT_EQUAL(sp_logsink_buf_drops_mt(b), 2);
    CU_ASSERT_EQUAL(sp_logsink_flush(b), 3);
    CU_ASSERT_EQUAL(sp_logsink_flush(b), 0); /* nothing queued: no system call */
    msg[0] = '3';
    CU_ASSERT_EQUAL(sp_logsink_emit(b, 0, msg, sizeof(msg)), 1);
    CU_ASSERT_EQUAL(sp_logsink_flush(b), 1);
    sp_logsink_buf_stats_mt(b, &st);
    CU_ASSERT_EQUAL(st.queued, 4);
    CU_ASSERT_EQUAL(st.sent, 4);
    CU_ASSERT_EQUAL(st.dropped, 2);
    CU_ASSERT_EQUAL(st.syscalls, 2);
    CU_ASSERT_EQUAL(slurp(path, got, sizeof(got)), 4 * 51);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(got[i * 51], '0' + i);
    sp_logsink_buf_free(b);
    sp_logsink_close(s);
}

/* many lines, one write(); the file is appended to, never truncated */
static void test_file_append(void)
{
    char path[256], msg[64];
    static char got[65536];
    struct sp_logsink_stats st;

    struct sp_logsink *s = file_sink(path, sizeof(path), "raw", "local0", NULL, 0, &test_opts);
    struct sp_logsink_buf *b = sp_logsink_buf_new(s, 0, 0);
    for (int i = 0; i < 500; i++) {
        int n = snprintf(msg, sizeof(msg), "line %03d", i);
        CU_ASSERT_EQUAL(sp_logsink_emit(b, 0, msg, (size_t)n), 1);
    }
    CU_ASSERT_EQUAL(sp_logsink_flush(b), 500);
    sp_logsink_buf_stats_mt(b, &st);
    CU_ASSERT_EQUAL(st.syscalls, 1);
    sp_logsink_buf_free(b);
    sp_logsink_close(s);

    /* reopen: appends */
    char target[256];
    snprintf(target, sizeof(target), "%s", path);
    struct sp_cfg_log l = cfg(target, "raw", "local0", NULL, 0);
    const struct sp_cfg_log *ls[] = {&l};
    CU_ASSERT_EQUAL(sp_logsink_open(ls, 1, &test_opts, &s, NULL, 0), 0);
    b = sp_logsink_buf_new(s, 0, 0);
    sp_logsink_emit(b, 0, "line 500", 8);
    sp_logsink_flush(b);
    size_t n = slurp(path, got, sizeof(got));
    CU_ASSERT_EQUAL(n, 501 * 9);
    for (int i = 0; i <= 500; i++) {
        snprintf(msg, sizeof(msg), "line %03d\n", i);
        CU_ASSERT_EQUAL(memcmp(got + i * 9, msg, 9), 0);
    }
    sp_logsink_buf_free(b);
    sp_logsink_close(s);
}

/* a FIFO: writes are whole lines of at most PIPE_BUF bytes, a full pipe never blocks nor
 * loses lines (they wait in the buffer), and everything arrives in order */
static void test_fifo(void)
{
    char path[256], target[256], msg[128];
    static char got[1 << 20];
    size_t have = 0;
    struct sp_logsink *s = NULL;
    struct sp_logsink_stats st;

    mkpath(path, sizeof(path), "fifo");
    CU_ASSERT_EQUAL_FATAL(mkfifo(path, 0600), 0);
    int rd = open(path, O_RDONLY | O_NONBLOCK);
    CU_ASSERT_FATAL(rd >= 0);
    snprintf(target, sizeof(target), "%s", path);
    struct sp_cfg_log l = cfg(target, "raw", "local0", NULL, 0);
    const struct sp_cfg_log *ls[] = {&l};
    CU_ASSERT_EQUAL_FATAL(sp_logsink_open(ls, 1, &test_opts, &s, NULL, 0), 0);
    struct sp_logsink_buf *b = sp_logsink_buf_new(s, 1 << 20, 0);

    /* 2000 lines of 100 bytes: 200 KB, more than a pipe holds */
    const int nlines = 2000;
    for (int i = 0; i < nlines; i++) {
        memset(msg, 'p', 99);
        int k = snprintf(msg, sizeof(msg), "%05d", i);
        msg[k] = ' ';
        CU_ASSERT_EQUAL(sp_logsink_emit(b, 0, msg, 99), 1);
    }
    unsigned first = sp_logsink_flush(b);
    CU_ASSERT_EQUAL(first, PIPE_BUF / 100); /* whole lines within PIPE_BUF */
    /* keep flushing without reading until the pipe is full */
    int turns = 0;
    while (sp_logsink_flush(b) > 0)
        turns++;
    sp_logsink_buf_stats_mt(b, &st);
    CU_ASSERT(st.sent < (uint64_t)nlines);
    CU_ASSERT_EQUAL(st.dropped, 0);
    CU_ASSERT_EQUAL(st.syscalls, (uint64_t)turns + 2); /* one per flush, the failed one too */
    /* now drain while flushing */
    for (int guard = 0; guard < 100000 && have < (size_t)nlines * 100; guard++) {
        ssize_t r = read(rd, got + have, sizeof(got) - have);
        if (r > 0)
            have += (size_t)r;
        sp_logsink_flush(b);
    }
    CU_ASSERT_EQUAL(have, (size_t)nlines * 100);
    for (int i = 0; i < nlines && have == (size_t)nlines * 100; i++) {
        char want[16];
        snprintf(want, sizeof(want), "%05d ", i);
        CU_ASSERT_EQUAL(memcmp(got + i * 100, want, 6), 0);
        CU_ASSERT_EQUAL(got[i * 100 + 99], '\n');
    }
    sp_logsink_buf_stats_mt(b, &st);
    CU_ASSERT_EQUAL(st.sent, (uint64_t)nlines);
    CU_ASSERT_EQUAL(st.dropped, 0);
    sp_logsink_buf_free(b);
    sp_logsink_close(s);
    close(rd);
}

static int udp_listener(int family, struct sockaddr_storage *ss, socklen_t *len)
{
    int fd = socket(family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    memset(ss, 0, sizeof(*ss));
    if (family == AF_INET) {
        struct sockaddr_in *sin = (struct sockaddr_in *)ss;
        sin->sin_family = AF_INET;
        sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof(*sin);
    } else {
        struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
        sin6->sin6_family = AF_INET6;
        sin6->sin6_addr = in6addr_loopback;
        *len = sizeof(*sin6);
    }
    if (bind(fd, (struct sockaddr *)ss, *len) < 0 ||
        getsockname(fd, (struct sockaddr *)ss, len) < 0) {
        close(fd);
        return -1;
    }
    struct timeval tv = {.tv_sec = 2};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    return fd;
}

static int port_of(const struct sockaddr_storage *ss)
{
    return ss->ss_family == AF_INET ? ntohs(((const struct sockaddr_in *)ss)->sin_port)
                                    : ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
}

/* syslog over UDP: one datagram per line, one sendmmsg() per flush, in order */
static void udp_case(int family, const char *fmt_target, char *format, const char *want0)
{
    struct sockaddr_storage ss;
    socklen_t sl;
    char target[128], err[256], got[2048];
    struct sp_logsink *s = NULL;
    struct sp_logsink_stats st;

    int fd = udp_listener(family, &ss, &sl);
    if (fd < 0) {
        fprintf(stderr, "(no %s loopback, skipped) ", family == AF_INET ? "IPv4" : "IPv6");
        return;
    }
    snprintf(target, sizeof(target), fmt_target, port_of(&ss));
    struct sp_cfg_log l = cfg(target, format, "local3", "info", 0);
    const struct sp_cfg_log *ls[] = {&l};
    int r = sp_logsink_open(ls, 1, &test_opts, &s, err, sizeof(err));
    CU_ASSERT_EQUAL_FATAL(r, 0);
    struct sp_logsink_buf *b = sp_logsink_buf_new(s, 0, 0);
    sp_logsink_buf_set_now(b, T0);
    for (int i = 0; i < 20; i++) {
        char msg[32];
        int n = snprintf(msg, sizeof(msg), "msg %d", i);
        CU_ASSERT_EQUAL(sp_logsink_emit(b, 0, msg, (size_t)n), 1);
    }
    CU_ASSERT_EQUAL(sp_logsink_emit_level(b, 0, SP_SYSLOG_DEBUG, "no", 2), 0);
    CU_ASSERT_EQUAL(sp_logsink_flush(b), 20);
    sp_logsink_buf_stats_mt(b, &st);
    CU_ASSERT_EQUAL(st.syscalls, 1);
    CU_ASSERT_EQUAL(st.sent, 20);
    for (int i = 0; i < 20; i++) {
        char want[256];
        ssize_t n = recv(fd, got, sizeof(got) - 1, 0);
        CU_ASSERT_FATAL(n > 0);
        got[n] = '\0';
        snprintf(want, sizeof(want), "%s%d", want0, i);
        CU_ASSERT_STRING_EQUAL(got, want);
        if (strcmp(got, want) != 0)
            fprintf(stderr, "\n got: [%s]\nwant: [%s]\n", got, want);
    }
    sp_logsink_buf_free(b);
    sp_logsink_close(s);
    close(fd);
}

static void test_udp(void)
{
    tz_utc();
    /* local3 = 19: PRI 19 * 8 + 6 = 158; no newline in datagrams */
    udp_case(AF_INET, "127.0.0.1:%d", NULL, "<158>Nov 29 23:56:26 spillway[4242]: msg ");
    udp_case(AF_INET, "udp@127.0.0.1:%d", "rfc5424",
             "<158>1 2026-11-29T23:56:26.123456+00:00 - spillway 4242 - - msg ");
    udp_case(AF_INET6, "[::1]:%d", "raw", "msg ");
    udp_case(AF_INET6, "ipv6@::1:%d", "raw", "msg ");
}

/* a path that is a UNIX datagram socket (/dev/log) is syslog, not a file */
static void test_unix_dgram(void)
{
    char path[256], got[512];
    struct sockaddr_un sun;
    struct sp_logsink *s = NULL;

    tz_utc();
    mkpath(path, sizeof(path), "devlog");
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    CU_ASSERT_FATAL(fd >= 0);
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    CU_ASSERT_FATAL(strlen(path) < sizeof(sun.sun_path));
    memcpy(sun.sun_path, path, strlen(path) + 1);
    CU_ASSERT_EQUAL_FATAL(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
    struct sp_cfg_log l = cfg(path, NULL, "local0", NULL, 0);
    const struct sp_cfg_log *ls[] = {&l};
    CU_ASSERT_EQUAL_FATAL(sp_logsink_open(ls, 1, &test_opts, &s, NULL, 0), 0);
    struct sp_logsink_buf *b = sp_logsink_buf_new(s, 0, 4);
    sp_logsink_buf_set_now(b, T0);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(sp_logsink_emit(b, 0, "dgram", 5), 1);
    /* max_dgrams 4: the fifth waits for nothing, it is dropped */
    CU_ASSERT_EQUAL(sp_logsink_emit(b, 0, "dgram", 5), -ENOBUFS);
    CU_ASSERT_EQUAL(sp_logsink_buf_drops_mt(b), 1);
    CU_ASSERT_EQUAL(sp_logsink_flush(b), 4);
    for (int i = 0; i < 4; i++) {
        ssize_t n = recv(fd, got, sizeof(got) - 1, MSG_DONTWAIT);
        CU_ASSERT_FATAL(n > 0);
        got[n] = '\0';
        CU_ASSERT_STRING_EQUAL(got, "<134>Nov 29 23:56:26 spillway[4242]: dgram");
    }
    /* the socket goes away: the queued line is lost and counted, nothing blocks */
    close(fd);
    unlink(path);
    CU_ASSERT_EQUAL(sp_logsink_emit(b, 0, "lost", 4), 1);
    CU_ASSERT_EQUAL(sp_logsink_flush(b), 0);
    CU_ASSERT_EQUAL(sp_logsink_buf_drops_mt(b), 2);
    sp_logsink_buf_free(b);
    sp_logsink_close(s);
}

/* several targets in one sink: each gets its own framing; one syscall per target */
static void test_multi_target(void)
{
    char p1[256], p2[256], got[1024];
    struct sp_logsink *s = NULL;
    struct sp_logsink_stats st;

    tz_utc();
    mkpath(p1, sizeof(p1), "multi");
    mkpath(p2, sizeof(p2), "multi");
    struct sp_cfg_log a = cfg(p1, "raw", "local0", NULL, 0);
    struct sp_cfg_log c = cfg(p2, "rfc3164", "local1", NULL, 0);
    struct sp_cfg_log o = cfg("stdout", "raw", "local0", NULL, 0);
    const struct sp_cfg_log *ls[] = {&a, &c, &o};
    CU_ASSERT_EQUAL_FATAL(sp_logsink_open(ls, 3, &test_opts, &s, NULL, 0), 0);
    CU_ASSERT_EQUAL(sp_logsink_count(s), 3);
    struct sp_logsink_buf *b = sp_logsink_buf_new(s, 0, 0);
    sp_logsink_buf_set_now(b, T0);
    for (int i = 0; i < 3; i++) {
        sp_logsink_emit(b, 0, "one", 3);
        sp_logsink_emit(b, 1, "two", 3);
    }
    CU_ASSERT_EQUAL(sp_logsink_flush(b), 6);
    sp_logsink_buf_stats_mt(b, &st);
    CU_ASSERT_EQUAL(st.syscalls, 2); /* stdout had nothing queued */
    slurp(p1, got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "one\none\none\n");
    slurp(p2, got, sizeof(got));
    CU_ASSERT_STRING_EQUAL(got, "<142>Nov 29 23:56:26 spillway[4242]: two\n"
                                "<142>Nov 29 23:56:26 spillway[4242]: two\n"
                                "<142>Nov 29 23:56:26 spillway[4242]: two\n");
    sp_logsink_buf_free(b);
    sp_logsink_close(s);
}

static void expect_open_error(char *target, char *format, char *facility, char *level, int want,
                              const char *needle)
{
    struct sp_logsink *s = NULL;
    char err[256] = "";
    struct sp_cfg_log l = cfg(target, format, facility, level, 0);
    const struct sp_cfg_log *ls[] = {&l};
    CU_ASSERT_EQUAL(sp_logsink_open(ls, 1, &test_opts, &s, err, sizeof(err)), want);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
    if (!strstr(err, needle))
        fprintf(stderr, "\nerror '%s' lacks '%s'\n", err, needle);
}

static void test_open_errors(void)
{
    expect_open_error("127.0.0.1:514", NULL, "local9", NULL, -EINVAL, "facility 'local9'");
    expect_open_error("127.0.0.1:514", NULL, "local0", "verbose", -EINVAL, "level 'verbose'");
    expect_open_error("127.0.0.1:514", "iso", "local0", NULL, -EINVAL, "format 'iso'");
    expect_open_error("127.0.0.1:99999", NULL, "local0", NULL, -EINVAL, "invalid address");
    expect_open_error("[::1", NULL, "local0", NULL, -EINVAL, "invalid address");
    expect_open_error("/nonexistent-dir-sp/x.log", NULL, "local0", NULL, -ENOENT,
                      "/nonexistent-dir-sp/x.log");
    /* no sink, no leak: a good target before a bad one is closed again */
    struct sp_logsink *s = NULL;
    struct sp_cfg_log a = cfg("stderr", NULL, "local0", NULL, 0);
    struct sp_cfg_log c = cfg("127.0.0.1:514", NULL, "bogus", NULL, 0);
    const struct sp_cfg_log *ls[] = {&a, &c};
    CU_ASSERT_EQUAL(sp_logsink_open(ls, 2, NULL, &s, NULL, 0), -EINVAL);
    CU_ASSERT_PTR_NULL(s);
    CU_ASSERT_PTR_NULL(sp_logsink_close(NULL));
    CU_ASSERT_PTR_NULL(sp_logsink_buf_free(NULL));
}

void test_logsink_register(void)
{
    CU_pSuite s = sp_unit_suite("logsink");
    sp_unit_test(s, "rfc3164, rfc5424 and raw framing", test_framing);
    sp_unit_test(s, "PRI and level filter", test_pri_and_level);
    sp_unit_test(s, "len truncation", test_len_truncation);
    sp_unit_test(s, "full buffer drops and counts", test_buffer_full);
    sp_unit_test(s, "file: one write per flush, append", test_file_append);
    sp_unit_test(s, "FIFO: atomic lines, full pipe keeps lines", test_fifo);
    sp_unit_test(s, "UDP syslog: one sendmmsg per flush", test_udp);
    sp_unit_test(s, "UNIX datagram socket path", test_unix_dgram);
    sp_unit_test(s, "several targets", test_multi_target);
    sp_unit_test(s, "open errors", test_open_errors);
    sp_unit_test(s, "remove temporary files", test_cleanup);
}
