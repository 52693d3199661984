/* tests/core/test_config.c - the configuration loader: every supported keyword lands in its
 * field, defaults are inherited, values and addresses parse, and every error is reported with
 * its file, line and keyword, escaped. A second suite, "log", covers core/log.c's escaping and
 * rate limit, which the loader's diagnostics rely on. */
#include "core/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <unistd.h>

#include "core/log.h"
#include "tests/unit.h"

/* timeouts that keep the "missing timeouts" warning out of tests about something else */
#define TMO                                                                                        \
    "defaults\n"                                                                                   \
    "    mode http\n"                                                                              \
    "    timeout client 5s\n"                                                                      \
    "    timeout server 5s\n"                                                                      \
    "    timeout connect 1s\n"

static char *last_diag; /* the diagnostics of the last run, for messages on failure */

static int count(const char *hay, const char *needle)
{
    int n = 0;
    size_t nl = strlen(needle);

    for (const char *p = hay; (p = strstr(p, needle)); p += nl)
        n++;
    return n;
}

/* Parses `text` as "t.cfg"; returns the loader's result, the model and the diagnostics. */
static int run(const char *text, struct sp_config **cfg, char **diag)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int rc;

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    *cfg = NULL;
    rc = sp_config_parse_string(text, "t.cfg", f, cfg);
    fclose(f);
    *diag = buf;
    return rc;
}

/* Parses a configuration that must load without errors or warnings. Returns the model (the
 * caller frees it) or NULL after failing the test. */
static struct sp_config *load_ok_w(const char *text, int nwarn)
{
    struct sp_config *cfg;
    char *diag;
    int rc = run(text, &cfg, &diag);

    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(count(diag, "[ALERT]"), 0);
    CU_ASSERT_EQUAL(count(diag, "[WARNING]"), nwarn);
    if (rc == 0) {
        CU_ASSERT_EQUAL(cfg->nerrors, 0);
        CU_ASSERT_EQUAL(cfg->nwarnings, nwarn);
    }
    if (rc != 0 || count(diag, "[WARNING]") != nwarn)
        fprintf(stderr, "\nunexpected diagnostics (rc %d):\n%s", rc, diag);
    free(diag);
    return rc == 0 ? cfg : NULL;
}

static struct sp_config *load_ok(const char *text)
{
    return load_ok_w(text, 0);
}

/* Parses a configuration that must fail with exactly `nerr` errors, every one of the
 * NULL-terminated substrings appearing in the diagnostics. */
static void expect_errors(const char *text, int nerr, ...)
{
    struct sp_config *cfg;
    char *diag;
    int rc = run(text, &cfg, &diag);
    bool bad = false;
    va_list ap;

    CU_ASSERT_EQUAL(rc, -EINVAL);
    CU_ASSERT_PTR_NULL(cfg);
    if (rc == 0)
        sp_config_free(cfg);
    if (count(diag, "[ALERT]") != nerr) {
        CU_FAIL("wrong error count");
        bad = true;
    }
    va_start(ap, nerr);
    for (const char *s; (s = va_arg(ap, const char *));) {
        if (!strstr(diag, s)) {
            CU_FAIL("expected message missing");
            fprintf(stderr, "\nmissing: %s", s);
            bad = true;
        }
    }
    va_end(ap);
    if (bad)
        fprintf(stderr, "\nexpected %d error(s) in:\n%s\ngot:\n%s", nerr, text, diag);
    free(last_diag);
    last_diag = diag;
}

static const struct sockaddr_in *v4(const struct sockaddr_storage *ss)
{
    return (const struct sockaddr_in *)ss;
}

static const struct sockaddr_in6 *v6(const struct sockaddr_storage *ss)
{
    return (const struct sockaddr_in6 *)ss;
}

static bool is_v4(const struct sockaddr_storage *ss, const char *ip, int port)
{
    char buf[INET_ADDRSTRLEN];

    if (ss->ss_family != AF_INET || ntohs(v4(ss)->sin_port) != port)
        return false;
    inet_ntop(AF_INET, &v4(ss)->sin_addr, buf, sizeof(buf));
    return strcmp(buf, ip) == 0;
}

static bool is_v6(const struct sockaddr_storage *ss, const char *ip, int port)
{
    char buf[INET6_ADDRSTRLEN];

    if (ss->ss_family != AF_INET6 || ntohs(v6(ss)->sin6_port) != port)
        return false;
    inet_ntop(AF_INET6, &v6(ss)->sin6_addr, buf, sizeof(buf));
    return strcmp(buf, ip) == 0;
}

/* ---------------------------------------------------------------------------------------- */

static void test_time_units(void)
{
    static const struct {
        const char *in;
        int64_t ms;
    } ok[] = {
        {"0", 0},
        {"250", 250},
        {"250ms", 250},
        {"1s", 1000},
        {"2m", 120000},
        {"1h", 3600000},
        {"1d", 86400000},
        {"1us", 1},
        {"999us", 1},
        {"1000us", 1},
        {"1001us", 2},
        {"0us", 0},
        {"24d", 2073600000},
        {"2147483647", 2147483647},
        {"2147483647ms", 2147483647},
    };
    static const char *const bad[] = {
        "",   "-1",   "1x",         "1 s",     "1.5s", "s",
        "1S", "1sec", "2147483648", "25d",     "1ms5", "99999999999999999999999",
        "+1", " 1",   "0x10",       "596524h",
    };
    int64_t v;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        v = -5;
        CU_ASSERT_EQUAL(sp_parse_time_ms(ok[i].in, &v), 0);
        CU_ASSERT_EQUAL(v, ok[i].ms);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = -5;
        CU_ASSERT_EQUAL(sp_parse_time_ms(bad[i], &v), -EINVAL);
        CU_ASSERT_EQUAL(v, -5); /* untouched on error */
    }
    CU_ASSERT_EQUAL(sp_parse_time_ms(NULL, &v), -EINVAL);
}

static void test_size_units(void)
{
    static const struct {
        const char *in;
        uint64_t v;
    } ok[] = {
        {"0", 0},
        {"1024", 1024},
        {"16k", 16384},
        {"16K", 16384},
        {"2m", 2097152},
        {"1g", 1073741824ull},
        {"1G", 1073741824ull},
        {"18446744073709551615", UINT64_MAX},
        {"16777215g", 16777215ull << 30},
    };
    static const char *const bad[] = {
        "", "k", "-1", "1kb", "1t", "1.5k", "18446744073709551616", "17179869184g", " 1", "1 k"};
    uint64_t v;

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        v = 7;
        CU_ASSERT_EQUAL(sp_parse_size(ok[i].in, &v), 0);
        CU_ASSERT_EQUAL(v, ok[i].v);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        v = 7;
        CU_ASSERT_EQUAL(sp_parse_size(bad[i], &v), -EINVAL);
        CU_ASSERT_EQUAL(v, 7);
    }
}

static void test_addr_forms(void)
{
    struct sockaddr_storage ss;
    socklen_t len;

    CU_ASSERT_EQUAL(sp_parse_addr("*:80", false, &ss, &len), 0);
    CU_ASSERT(is_v4(&ss, "0.0.0.0", 80));
    CU_ASSERT_EQUAL(len, sizeof(struct sockaddr_in));
    CU_ASSERT_EQUAL(sp_parse_addr(":8080", false, &ss, &len), 0);
    CU_ASSERT(is_v4(&ss, "0.0.0.0", 8080));
    CU_ASSERT_EQUAL(sp_parse_addr("0.0.0.0:80", false, &ss, &len), 0);
    CU_ASSERT(is_v4(&ss, "0.0.0.0", 80));
    CU_ASSERT_EQUAL(sp_parse_addr("127.0.0.1:8080", false, &ss, &len), 0);
    CU_ASSERT(is_v4(&ss, "127.0.0.1", 8080));
    CU_ASSERT_EQUAL(sp_parse_addr("[::]:80", false, &ss, &len), 0);
    CU_ASSERT(is_v6(&ss, "::", 80));
    CU_ASSERT_EQUAL(len, sizeof(struct sockaddr_in6));
    CU_ASSERT_EQUAL(sp_parse_addr("[2001:db8::1]:443", false, &ss, &len), 0);
    CU_ASSERT(is_v6(&ss, "2001:db8::1", 443));
    CU_ASSERT_EQUAL(sp_parse_addr("::1:8000", false, &ss, &len), 0); /* last colon: port */
    CU_ASSERT(is_v6(&ss, "::1", 8000));
    CU_ASSERT_EQUAL(sp_parse_addr("ipv4@*:81", false, &ss, &len), 0);
    CU_ASSERT(is_v4(&ss, "0.0.0.0", 81));
    CU_ASSERT_EQUAL(sp_parse_addr("ipv6@:82", false, &ss, &len), 0);
    CU_ASSERT(is_v6(&ss, "::", 82));
    CU_ASSERT_EQUAL(sp_parse_addr("ipv6@[::1]:83", false, &ss, &len), 0);
    CU_ASSERT(is_v6(&ss, "::1", 83));
    CU_ASSERT_EQUAL(sp_parse_addr("ipv4@10.1.2.3:84", false, &ss, &len), 0);
    CU_ASSERT(is_v4(&ss, "10.1.2.3", 84));
    CU_ASSERT_EQUAL(sp_parse_addr(":0", false, &ss, &len), 0);
    CU_ASSERT_EQUAL(sp_parse_addr(":65535", false, &ss, &len), 0);
    CU_ASSERT(is_v4(&ss, "0.0.0.0", 65535));

    CU_ASSERT_EQUAL(sp_parse_addr("unix@/run/spillway.sock", false, &ss, &len), 0);
    CU_ASSERT_EQUAL(ss.ss_family, AF_UNIX);
    CU_ASSERT_STRING_EQUAL(((struct sockaddr_un *)&ss)->sun_path, "/run/spillway.sock");
    CU_ASSERT_EQUAL(len, offsetof(struct sockaddr_un, sun_path) + strlen("/run/spillway.sock") + 1);

    /* names only when resolving */
    CU_ASSERT_EQUAL(sp_parse_addr("localhost:80", false, &ss, &len), -EINVAL);
    CU_ASSERT_EQUAL(sp_parse_addr("localhost:80", true, &ss, &len), 0);
    CU_ASSERT(ss.ss_family == AF_INET || ss.ss_family == AF_INET6);
    CU_ASSERT_EQUAL(ntohs(v4(&ss)->sin_port), 80); /* same offset in both families */
    CU_ASSERT_EQUAL(sp_parse_addr("no-such-host.invalid:80", true, &ss, &len), -ENOENT);

    static const char *const bad[] = {
        "",
        "80",
        "*",
        "1.2.3.4",
        ":80-85",
        "*:80-81",
        ":+1",
        ":65536",
        ":123456",
        "1.2.3.4:",
        "[::1]",
        "[::1]80",
        "[::1:80",
        "unix@",
        "abns@",
        "fd@3",
        "udp@1.2.3.4:5",
        "ipv4@[::1]:80",
        "ipv4@::1:80",
        "ipv6@1.2.3.4:80",
        "[zz]:80",
        "a b:80",
        "1.2.3.4:80x",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ss.ss_family = 99;
        CU_ASSERT_EQUAL(sp_parse_addr(bad[i], true, &ss, &len), -EINVAL);
        CU_ASSERT_EQUAL(ss.ss_family, 99);
    }
    char longpath[200];
    memset(longpath, 'a', sizeof(longpath));
    memcpy(longpath, "unix@/", 6);
    longpath[sizeof(longpath) - 1] = '\0';
    CU_ASSERT_EQUAL(sp_parse_addr(longpath, false, &ss, &len), -EINVAL);
}

static void test_global_defaults(void)
{
    struct sp_config *cfg = load_ok("global\n");

    if (!cfg)
        return;
    CU_ASSERT_EQUAL(cfg->global.nbthread, 0);
    CU_ASSERT_FALSE(cfg->global.cpu_map_set);
    CU_ASSERT_EQUAL(cfg->global.maxconn, 0);
    CU_ASSERT_EQUAL(cfg->global.bufsize, 16384);
    CU_ASSERT_EQUAL(cfg->global.maxaccept, 64);
    CU_ASSERT_EQUAL(cfg->global.h2_max_concurrent_streams, 100);
    CU_ASSERT_EQUAL(cfg->global.h2_fe_max_concurrent_streams, 0);
    CU_ASSERT_EQUAL(cfg->global.hard_stop_after, SP_TIME_UNSET);
    CU_ASSERT_PTR_NULL(cfg->global.pidfile);
    CU_ASSERT_FALSE(cfg->global.daemon);
    CU_ASSERT_PTR_NULL(cfg->proxies);
    CU_ASSERT_EQUAL(cfg->nproxies, 0);
    sp_config_free(cfg);
}

static void test_global_keywords(void)
{
    struct sp_config *cfg = load_ok("global\n"
                                    "    nbthread 8\n"
                                    "    maxconn 20000\n"
                                    "    tune.bufsize 32k\n"
                                    "    tune.maxaccept 16\n"
                                    "    tune.h2.max-concurrent-streams 200\n"
                                    "    tune.h2.fe.max-concurrent-streams 50\n"
                                    "    hard-stop-after 30s\n"
                                    "    pidfile /run/spillway.pid\n"
                                    "    daemon\n"
                                    "    log 127.0.0.1 local0\n"
                                    "    log stdout format raw daemon info\n");
    if (!cfg)
        return;
    CU_ASSERT_EQUAL(cfg->global.nbthread, 8);
    CU_ASSERT_EQUAL(cfg->global.maxconn, 20000);
    CU_ASSERT_EQUAL(cfg->global.bufsize, 32768);
    CU_ASSERT_EQUAL(cfg->global.maxaccept, 16);
    CU_ASSERT_EQUAL(cfg->global.h2_max_concurrent_streams, 200);
    CU_ASSERT_EQUAL(cfg->global.h2_fe_max_concurrent_streams, 50);
    CU_ASSERT_EQUAL(cfg->global.hard_stop_after, 30000);
    CU_ASSERT_STRING_EQUAL(cfg->global.pidfile, "/run/spillway.pid");
    CU_ASSERT_TRUE(cfg->global.daemon);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->global.logs);
    CU_ASSERT_STRING_EQUAL(cfg->global.logs->target, "127.0.0.1");
    CU_ASSERT_STRING_EQUAL(cfg->global.logs->facility, "local0");
    CU_ASSERT_PTR_NULL(cfg->global.logs->level);
    CU_ASSERT_PTR_NULL(cfg->global.logs->format);
    CU_ASSERT_EQUAL(cfg->global.logs->where.line, 11);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->global.logs->next);
    CU_ASSERT_STRING_EQUAL(cfg->global.logs->next->target, "stdout");
    CU_ASSERT_STRING_EQUAL(cfg->global.logs->next->format, "raw");
    CU_ASSERT_STRING_EQUAL(cfg->global.logs->next->facility, "daemon");
    CU_ASSERT_STRING_EQUAL(cfg->global.logs->next->level, "info");
    sp_config_free(cfg);

    cfg = load_ok("global\n tune.maxaccept -1\n tune.bufsize 1024\n nbthread 1\n");
    if (cfg) {
        CU_ASSERT_EQUAL(cfg->global.maxaccept, INT_MAX);
        CU_ASSERT_EQUAL(cfg->global.bufsize, 1024);
        CU_ASSERT_EQUAL(cfg->global.nbthread, 1);
        sp_config_free(cfg);
    }
    cfg = load_ok_w("global\n pidfile /a\n pidfile /b\n", 1);
    if (cfg) {
        CU_ASSERT_STRING_EQUAL(cfg->global.pidfile, "/a");
        sp_config_free(cfg);
    }
}

static int cpus_of(const cpu_set_t *s, int *first)
{
    *first = -1;
    for (int c = 0; c < CPU_SETSIZE; c++)
        if (CPU_ISSET(c, s) && *first < 0)
            *first = c;
    return CPU_COUNT(s);
}

static void test_cpu_map(void)
{
    struct sp_config *cfg = load_ok("global\n nbthread 4\n cpu-map auto:1/1-4 0-3\n");
    int first;

    if (cfg) {
        CU_ASSERT_TRUE(cfg->global.cpu_map_set);
        for (int t = 0; t < 4; t++) {
            CU_ASSERT_TRUE(cfg->global.cpu_map_has[t]);
            CU_ASSERT_EQUAL(cpus_of(&cfg->global.cpu_map[t], &first), 1);
            CU_ASSERT_EQUAL(first, t);
        }
        CU_ASSERT_FALSE(cfg->global.cpu_map_has[4]);
        sp_config_free(cfg);
    }
    /* auto: over a sparse CPU list, in ascending order */
    cfg = load_ok("global\n cpu-map auto:1/3-5 2,4 8\n");
    if (cfg) {
        CU_ASSERT_FALSE(cfg->global.cpu_map_has[0]);
        CU_ASSERT_FALSE(cfg->global.cpu_map_has[1]);
        CU_ASSERT_EQUAL(cpus_of(&cfg->global.cpu_map[2], &first), 1);
        CU_ASSERT_EQUAL(first, 2);
        CU_ASSERT_EQUAL(cpus_of(&cfg->global.cpu_map[3], &first), 1);
        CU_ASSERT_EQUAL(first, 4);
        CU_ASSERT_EQUAL(cpus_of(&cfg->global.cpu_map[4], &first), 1);
        CU_ASSERT_EQUAL(first, 8);
        sp_config_free(cfg);
    }
    /* explicit thread: the whole list; later lines override per thread */
    cfg = load_ok("global\n cpu-map 1/1 0-3,5\n cpu-map 1/2 6\n cpu-map 1/2 7\n");
    if (cfg) {
        CU_ASSERT_EQUAL(cpus_of(&cfg->global.cpu_map[0], &first), 5);
        CU_ASSERT_TRUE(CPU_ISSET(5, &cfg->global.cpu_map[0]));
        CU_ASSERT_FALSE(CPU_ISSET(4, &cfg->global.cpu_map[0]));
        CU_ASSERT_EQUAL(cpus_of(&cfg->global.cpu_map[1], &first), 1);
        CU_ASSERT_EQUAL(first, 7);
        CU_ASSERT_FALSE(cfg->global.cpu_map_has[2]);
        sp_config_free(cfg);
    }
    /* a group without a thread set: every thread of the group (HAProxy's meaning) */
    cfg = load_ok("global\n cpu-map 1 0-1\n");
    if (cfg) {
        for (int t = 0; t < 64; t++) {
            CU_ASSERT_TRUE(cfg->global.cpu_map_has[t]);
            CU_ASSERT_EQUAL(cpus_of(&cfg->global.cpu_map[t], &first), 2);
        }
        sp_config_free(cfg);
    }
    cfg = load_ok("global\n cpu-map 1/all 3\n cpu-map auto:1/all 0-1\n");
    if (cfg) {
        CU_ASSERT_EQUAL(cpus_of(&cfg->global.cpu_map[0], &first), 1);
        CU_ASSERT_EQUAL(first, 0);
        CU_ASSERT_EQUAL(cpus_of(&cfg->global.cpu_map[1], &first), 1);
        CU_ASSERT_EQUAL(first, 1);
        CU_ASSERT_EQUAL(cpus_of(&cfg->global.cpu_map[2], &first), 1);
        CU_ASSERT_EQUAL(first, 3);
        sp_config_free(cfg);
    }
    expect_errors("global\n cpu-map auto:1/1-4 0-2\n", 1, "t.cfg:2: 'cpu-map':", "4 threads", NULL);
    expect_errors("global\n cpu-map 2/1 0\n", 1, "t.cfg:2: 'cpu-map':", "group", NULL);
    expect_errors("global\n cpu-map 1/65 0\n", 1, "t.cfg:2: 'cpu-map': invalid thread set", NULL);
    expect_errors("global\n cpu-map 1/0 0\n", 1, "t.cfg:2: 'cpu-map': invalid thread set", NULL);
    expect_errors("global\n cpu-map 1/1 x\n", 1, "t.cfg:2: 'cpu-map': invalid CPU list", NULL);
    expect_errors("global\n cpu-map 1/1 3-1\n", 1, "invalid CPU list", NULL);
    expect_errors("global\n cpu-map 1/1 99999\n", 1, "invalid CPU list", NULL);
    expect_errors("global\n cpu-map 1/1\n", 1, "t.cfg:2: 'cpu-map': missing argument", NULL);
}

static void test_proxy_defaults(void)
{
    struct sp_config *cfg = load_ok_w("frontend f\n bind :80\n default_backend b\n"
                                      "backend b\n",
                                      1 /* missing timeouts on f */);
    struct sp_cfg_proxy *f;

    if (!cfg)
        return;
    f = cfg->proxies;
    CU_ASSERT_EQUAL(f->mode, SP_MODE_TCP); /* HAProxy's default */
    CU_ASSERT_EQUAL(f->retries, 3);
    CU_ASSERT_EQUAL(f->maxconn, 0);
    CU_ASSERT_EQUAL(f->backlog, 0);
    CU_ASSERT_EQUAL(f->balance, SP_BALANCE_ROUNDROBIN);
    CU_ASSERT_EQUAL(f->to.client, SP_TIME_UNSET);
    CU_ASSERT_EQUAL(f->to.server, SP_TIME_UNSET);
    CU_ASSERT_EQUAL(f->to.connect, SP_TIME_UNSET);
    CU_ASSERT_EQUAL(f->to.http_request, SP_TIME_UNSET);
    CU_ASSERT_EQUAL(f->to.http_keep_alive, SP_TIME_UNSET);
    CU_ASSERT_EQUAL(f->to.queue, SP_TIME_UNSET);
    CU_ASSERT_EQUAL(f->to.tunnel, SP_TIME_UNSET);
    CU_ASSERT_EQUAL(f->to.client_fin, SP_TIME_UNSET);
    CU_ASSERT_EQUAL(f->to.server_fin, SP_TIME_UNSET);
    CU_ASSERT_EQUAL(f->to.check, SP_TIME_UNSET);
    CU_ASSERT_FALSE(f->fwdfor.enabled);
    CU_ASSERT_FALSE(f->httplog);
    CU_ASSERT_FALSE(f->http_keep_alive);
    CU_ASSERT_FALSE(f->httpclose);
    CU_ASSERT_FALSE(f->redispatch);
    CU_ASSERT_PTR_NULL(f->logs);
    CU_ASSERT_FALSE(f->log_global);
    CU_ASSERT_PTR_EQUAL(f->defbe, cfg->proxies->next);
    sp_config_free(cfg);
}

static void test_proxy_keywords(void)
{
    struct sp_config *cfg = load_ok("global\n log stderr local1\n"
                                    "frontend web\n"
                                    "    bind *:80\n"
                                    "    mode http\n"
                                    "    maxconn 310\n"
                                    "    backlog 512\n"
                                    "    timeout client 2m\n"
                                    "    timeout http-request 10s\n"
                                    "    timeout http-keep-alive 1s\n"
                                    "    timeout client-fin 3s\n"
                                    "    option httplog clf\n"
                                    "    option dontlognull\n"
                                    "    option log-separate-errors\n"
                                    "    log global\n"
                                    "    log /dev/log len 1024 format rfc5424 local2 notice\n"
                                    "    default_backend app\n"
                                    "backend app\n"
                                    "    mode http\n"
                                    "    balance roundrobin\n"
                                    "    retries 5\n"
                                    "    fullconn 1000\n"
                                    "    option redispatch 2\n"
                                    "    timeout server 30s\n"
                                    "    timeout connect 500ms\n"
                                    "    timeout queue 4s\n"
                                    "    timeout tunnel 1h\n"
                                    "    timeout server-fin 2s\n"
                                    "    timeout check 1500\n"
                                    "    server s1 127.0.0.1:8001\n");
    struct sp_cfg_proxy *fe, *be;

    if (!cfg)
        return;
    fe = sp_config_find_proxy(cfg, "web", SP_CAP_FE);
    be = sp_config_find_proxy(cfg, "app", SP_CAP_BE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe);
    CU_ASSERT_PTR_NOT_NULL_FATAL(be);
    CU_ASSERT_EQUAL(fe->cap, SP_CAP_FE);
    CU_ASSERT_EQUAL(be->cap, SP_CAP_BE);
    CU_ASSERT_EQUAL(fe->mode, SP_MODE_HTTP);
    CU_ASSERT_EQUAL(fe->maxconn, 310);
    CU_ASSERT_EQUAL(fe->backlog, 512);
    CU_ASSERT_EQUAL(fe->to.client, 120000);
    CU_ASSERT_EQUAL(fe->to.http_request, 10000);
    CU_ASSERT_EQUAL(fe->to.http_keep_alive, 1000);
    CU_ASSERT_EQUAL(fe->to.client_fin, 3000);
    CU_ASSERT_TRUE(fe->httplog);
    CU_ASSERT_TRUE(fe->httplog_clf);
    CU_ASSERT_TRUE(fe->dontlognull);
    CU_ASSERT_TRUE(fe->log_separate_errors);
    CU_ASSERT_TRUE(fe->log_global);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe->logs);
    CU_ASSERT_STRING_EQUAL(fe->logs->target, "/dev/log");
    CU_ASSERT_EQUAL(fe->logs->len, 1024);
    CU_ASSERT_STRING_EQUAL(fe->logs->format, "rfc5424");
    CU_ASSERT_STRING_EQUAL(fe->logs->facility, "local2");
    CU_ASSERT_STRING_EQUAL(fe->logs->level, "notice");
    CU_ASSERT_STRING_EQUAL(fe->logs->where.file, "t.cfg");
    CU_ASSERT_EQUAL(fe->logs->where.line, 16);
    CU_ASSERT_STRING_EQUAL(fe->default_backend, "app");
    CU_ASSERT_EQUAL(fe->default_backend_where.line, 17);
    CU_ASSERT_PTR_EQUAL(fe->defbe, be);
    CU_ASSERT_EQUAL(fe->where.line, 3);
    CU_ASSERT_STRING_EQUAL(fe->where.file, "t.cfg");

    CU_ASSERT_EQUAL(be->mode, SP_MODE_HTTP);
    CU_ASSERT_EQUAL(be->retries, 5);
    CU_ASSERT_EQUAL(be->fullconn, 1000);
    CU_ASSERT_TRUE(be->redispatch);
    CU_ASSERT_EQUAL(be->redispatch_interval, 2);
    CU_ASSERT_EQUAL(be->to.server, 30000);
    CU_ASSERT_EQUAL(be->to.connect, 500);
    CU_ASSERT_EQUAL(be->to.queue, 4000);
    CU_ASSERT_EQUAL(be->to.tunnel, 3600000);
    CU_ASSERT_EQUAL(be->to.server_fin, 2000);
    CU_ASSERT_EQUAL(be->to.check, 1500);
    CU_ASSERT_EQUAL(be->nservers, 1);
    CU_ASSERT_PTR_NULL(be->defbe);
    sp_config_free(cfg);

    /* redispatch without N: the last retry (-1); 0 turns it off; `no option` too */
    cfg = load_ok("defaults\n option redispatch\nbackend a\nbackend b\n option redispatch 0\n"
                  "backend c\n no option redispatch\n");
    if (cfg) {
        CU_ASSERT_TRUE(cfg->proxies->redispatch);
        CU_ASSERT_EQUAL(cfg->proxies->redispatch_interval, -1);
        CU_ASSERT_FALSE(cfg->proxies->next->redispatch);
        CU_ASSERT_FALSE(cfg->proxies->next->next->redispatch);
        sp_config_free(cfg);
    }
    /* timeout 0 means no timeout, as in HAProxy */
    cfg = load_ok_w("listen l\n bind :1\n timeout client 0\n", 1);
    if (cfg) {
        CU_ASSERT_EQUAL(cfg->proxies->to.client, SP_TIME_UNSET);
        sp_config_free(cfg);
    }
}

static void test_binds(void)
{
    struct sp_config *cfg = load_ok(TMO "frontend f\n"
                                        "    bind *:80\n"
                                        "    bind :81,:82 maxconn 100 backlog 50 name web\n"
                                        "    bind 0.0.0.0:83 127.0.0.1:8080 shards 4\n"
                                        "    bind [::]:84 shards by-thread\n"
                                        "    bind unix@/tmp/sp.sock\n"
                                        "    bind ipv6@:85\n"
                                        "    bind ipv4@127.0.0.2:86\n"
                                        "    bind :87 proto h2 maxconn 5\n");
    struct sp_cfg_bind *b;

    if (!cfg)
        return;
    b = cfg->proxies->binds;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_STRING_EQUAL(b->text, "*:80");
    CU_ASSERT(is_v4(&b->addr, "0.0.0.0", 80));
    CU_ASSERT_EQUAL(b->addrlen, sizeof(struct sockaddr_in));
    CU_ASSERT_EQUAL(b->maxconn, 0);
    CU_ASSERT_EQUAL(b->backlog, 0);
    CU_ASSERT_PTR_NULL(b->name);
    CU_ASSERT_EQUAL(b->shards, 0);
    CU_ASSERT_EQUAL(b->where.line, 7);
    b = b->next;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_STRING_EQUAL(b->text, ":81");
    CU_ASSERT(is_v4(&b->addr, "0.0.0.0", 81));
    CU_ASSERT_EQUAL(b->maxconn, 100);
    CU_ASSERT_EQUAL(b->backlog, 50);
    CU_ASSERT_STRING_EQUAL(b->name, "web");
    b = b->next;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_STRING_EQUAL(b->text, ":82");
    CU_ASSERT(is_v4(&b->addr, "0.0.0.0", 82));
    CU_ASSERT_EQUAL(b->maxconn, 100);
    CU_ASSERT_STRING_EQUAL(b->name, "web");
    b = b->next;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT(is_v4(&b->addr, "0.0.0.0", 83));
    CU_ASSERT_EQUAL(b->shards, 4);
    b = b->next;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT(is_v4(&b->addr, "127.0.0.1", 8080));
    CU_ASSERT_EQUAL(b->shards, 4);
    b = b->next;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT(is_v6(&b->addr, "::", 84));
    CU_ASSERT_EQUAL(b->addrlen, sizeof(struct sockaddr_in6));
    CU_ASSERT_EQUAL(b->shards, 0);
    b = b->next;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT_EQUAL(b->addr.ss_family, AF_UNIX);
    CU_ASSERT_STRING_EQUAL(((struct sockaddr_un *)&b->addr)->sun_path, "/tmp/sp.sock");
    CU_ASSERT_STRING_EQUAL(b->text, "unix@/tmp/sp.sock");
    b = b->next;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT(is_v6(&b->addr, "::", 85));
    b = b->next;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT(is_v4(&b->addr, "127.0.0.2", 86));
    CU_ASSERT_FALSE(b->h2_only);
    b = b->next;
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    CU_ASSERT(is_v4(&b->addr, "0.0.0.0", 87));
    CU_ASSERT_TRUE(b->h2_only);
    CU_ASSERT_EQUAL(b->maxconn, 5);
    CU_ASSERT_PTR_NULL(b->next);
    sp_config_free(cfg);

    expect_errors(TMO "frontend f\n bind :80-85\n", 1, "t.cfg:7: 'bind': port ranges", NULL);
    expect_errors(TMO "frontend f\n bind :80,:90-91\n", 1, "t.cfg:7: 'bind': port ranges", NULL);
    expect_errors(TMO "frontend f\n bind :80 foo 1\n", 1,
                  "t.cfg:7: 'bind': unknown bind option 'foo'", NULL);
    /* every unsupported option of the line, their arguments skipped (HAProxy 2.6's counts),
     * until one whose arguments are unknown */
    expect_errors(TMO "frontend f\n bind :443 ssl crt /x.pem verify required ca-file /c\n", 2,
                  "t.cfg:7: 'bind': bind option 'verify' not supported by spillway yet",
                  "t.cfg:7: 'bind': bind option 'ca-file' not supported by spillway yet", NULL);
    expect_errors(TMO "frontend f\n bind :443 ssl crt /x.pem maxconn x defer-accept bogus 1 tfo\n",
                  3, "'maxconn'", "bind option 'defer-accept'",
                  "unknown bind option 'bogus' (the rest of the line is not checked)", NULL);
    expect_errors(TMO "frontend f\n bind :80 maxconn\n", 1,
                  "t.cfg:7: 'bind': option 'maxconn' needs a value", NULL);
    expect_errors(TMO "frontend f\n bind :80 maxconn -1\n", 1, "t.cfg:7: 'bind':", "'maxconn'",
                  NULL);
    expect_errors(TMO "frontend f\n bind :80 shards 0\n", 1, "t.cfg:7: 'bind':", "'shards'", NULL);
    expect_errors(TMO "frontend f\n bind :80 shards by-group\n", 1, "not supported", NULL);
    expect_errors(TMO "frontend f\n bind :80 proto\n", 1,
                  "t.cfg:7: 'bind': option 'proto' needs a value", NULL);
    expect_errors(TMO "frontend f\n bind :80 proto h1\n", 1,
                  "t.cfg:7: 'bind': 'proto h1' not supported by spillway (only 'proto h2')", NULL);
    expect_errors(TMO "frontend f\n bind maxconn 5\n", 1, "t.cfg:7: 'bind': missing address", NULL);
    expect_errors(TMO "frontend f\n bind\n", 1, "t.cfg:7: 'bind': missing address", NULL);
    expect_errors(TMO "frontend f\n bind host.example:80\n", 1, "t.cfg:7: 'bind': invalid address",
                  NULL);
    expect_errors(TMO "frontend f\n bind :80,\n", 1, "t.cfg:7: 'bind': invalid address ''", NULL);
    expect_errors(TMO "frontend f\n bind abns@\n", 1, "invalid address 'abns@'", NULL);
}

static void test_forwardfor(void)
{
    struct sp_config *cfg =
        load_ok(TMO "frontend a\n bind :1\n option forwardfor\n"
                    "frontend b\n bind :2\n option forwardfor except 10.1.2.3/8 "
                    "header X-Client if-none\n"
                    "frontend c\n bind :3\n option forwardfor except "
                    "2001:db8::ff/32\n"
                    "frontend d\n bind :4\n option forwardfor except 192.168.1.7\n"
                    "frontend e\n bind :5\n option forwardfor header X-A\n"
                    " option forwardfor except 172.16.0.0/255.240.0.0\n");
    const struct sp_cfg_proxy *p;
    char buf[INET6_ADDRSTRLEN];

    if (!cfg)
        return;
    p = cfg->proxies;
    CU_ASSERT_TRUE(p->fwdfor.enabled);
    CU_ASSERT_FALSE(p->fwdfor.if_none);
    CU_ASSERT_PTR_NULL(p->fwdfor.header);
    CU_ASSERT_FALSE(p->fwdfor.has_except);
    p = p->next;
    CU_ASSERT_TRUE(p->fwdfor.enabled);
    CU_ASSERT_TRUE(p->fwdfor.if_none);
    CU_ASSERT_STRING_EQUAL(p->fwdfor.header, "X-Client");
    CU_ASSERT_TRUE(p->fwdfor.has_except);
    CU_ASSERT_EQUAL(p->fwdfor.except_addr.ss_family, AF_INET);
    CU_ASSERT_EQUAL(p->fwdfor.except_prefix, 8);
    inet_ntop(AF_INET, &v4(&p->fwdfor.except_addr)->sin_addr, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "10.0.0.0");
    p = p->next;
    CU_ASSERT_EQUAL(p->fwdfor.except_addr.ss_family, AF_INET6);
    CU_ASSERT_EQUAL(p->fwdfor.except_prefix, 32);
    inet_ntop(AF_INET6, &v6(&p->fwdfor.except_addr)->sin6_addr, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "2001:db8::");
    p = p->next;
    CU_ASSERT_EQUAL(p->fwdfor.except_prefix, 32);
    /* a later line replaces the earlier one entirely */
    p = p->next;
    CU_ASSERT_PTR_NULL(p->fwdfor.header);
    CU_ASSERT_EQUAL(p->fwdfor.except_prefix, 12);
    sp_config_free(cfg);

    expect_errors(TMO "frontend f\n bind :1\n no option forwardfor\n", 1,
                  "t.cfg:8: 'no option forwardfor': this option cannot be negated", NULL);
    expect_errors(TMO "frontend f\n bind :1\n option forwardfor except 10.0.0.0/33\n", 1,
                  "t.cfg:8: 'option forwardfor': invalid network", NULL);
    expect_errors(TMO "frontend f\n bind :1\n option forwardfor except 255.0.255.0/255.0.255.0\n",
                  1, "invalid network", NULL);
    expect_errors(TMO "frontend f\n bind :1\n option forwardfor except\n", 1,
                  "t.cfg:8: 'option forwardfor': unexpected argument 'except'", NULL);
    expect_errors(TMO "frontend f\n bind :1\n option forwardfor bogus\n", 1,
                  "t.cfg:8: 'option forwardfor': unexpected argument 'bogus'", NULL);
}

static void test_keepalive_last_wins(void)
{
    struct sp_config *cfg = load_ok(TMO "defaults\n option httpclose\n"
                                        "backend a\n"
                                        "backend b\n option http-keep-alive\n"
                                        "backend c\n option http-keep-alive\n option httpclose\n"
                                        "backend d\n option httpclose\n no option httpclose\n");

    if (!cfg)
        return;
    const struct sp_cfg_proxy *a = cfg->proxies, *b = a->next, *c = b->next, *d = c->next;
    CU_ASSERT_TRUE(a->httpclose);
    CU_ASSERT_FALSE(a->http_keep_alive);
    CU_ASSERT_TRUE(b->http_keep_alive);
    CU_ASSERT_FALSE(b->httpclose);
    CU_ASSERT_TRUE(c->httpclose);
    CU_ASSERT_FALSE(c->http_keep_alive);
    CU_ASSERT_FALSE(d->httpclose);
    CU_ASSERT_FALSE(d->http_keep_alive);
    sp_config_free(cfg);
}

static void test_log_lines(void)
{
    struct sp_config *cfg = load_ok("global\n"
                                    " log 10.0.0.1:1514 local7 debug\n"
                                    " log [::1]:515 user\n"
                                    " log ::1 kern\n"
                                    " log udp@127.0.0.1 auth2 emerg\n"
                                    " log ipv4@127.0.0.1 ntp\n"
                                    " log stderr len 80 format rfc3164 cron2 warning\n"
                                    " log localhost syslog\n"
                                    "defaults\n log global\n"
                                    "backend b\n no log\n log stdout audit\n");
    int n = 0;

    if (!cfg)
        return;
    for (const struct sp_cfg_log *l = cfg->global.logs; l; l = l->next)
        n++;
    CU_ASSERT_EQUAL(n, 7);
    CU_ASSERT_FALSE(cfg->proxies->log_global);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg->proxies->logs);
    CU_ASSERT_STRING_EQUAL(cfg->proxies->logs->facility, "audit");
    sp_config_free(cfg);

    static const char *const facilities[] = {
        "kern",   "user",   "mail",   "daemon", "auth",   "syslog", "lpr",    "news",
        "uucp",   "cron",   "auth2",  "ftp",    "ntp",    "audit",  "alert",  "cron2",
        "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7"};
    static const char *const levels[] = {"emerg",   "alert",  "crit", "err",
                                         "warning", "notice", "info", "debug"};
    char text[128];
    for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++) {
        snprintf(text, sizeof(text), "global\n log stdout %s %s\n", facilities[i], levels[i % 8]);
        cfg = load_ok(text);
        if (cfg) {
            CU_ASSERT_STRING_EQUAL(cfg->global.logs->facility, facilities[i]);
            CU_ASSERT_STRING_EQUAL(cfg->global.logs->level, levels[i % 8]);
        }
        sp_config_free(cfg);
    }

    expect_errors("global\n log stdout\n", 1, "t.cfg:2: 'log': missing", NULL);
    expect_errors("global\n log stdout local8\n", 1, "t.cfg:2: 'log': unknown facility 'local8'",
                  NULL);
    expect_errors("global\n log stdout local0 loud\n", 1, "t.cfg:2: 'log': unknown level 'loud'",
                  NULL);
    expect_errors("global\n log stdout local0 info err\n", 1, "minimum level not supported", NULL);
    expect_errors("global\n log stdout format short local0\n", 1,
                  "t.cfg:2: 'log': log format 'short' not supported by spillway yet", NULL);
    expect_errors("global\n log stdout format bogus local0\n", 1, "unknown log format 'bogus'",
                  NULL);
    expect_errors("global\n log stdout len 10 local0\n", 1, "t.cfg:2: 'log': 'len'", NULL);
    expect_errors("global\n log relative/path local0\n", 1, "t.cfg:2: 'log': invalid log target",
                  NULL);
    expect_errors("global\n log 1.2.3.4:99999 local0\n", 1, "invalid log target", NULL);
    expect_errors("global\n log ring@buf local0\n", 1, "invalid log target", NULL);
    expect_errors("global\n log no-such-host.invalid local0\n", 1,
                  "t.cfg:2: 'log': could not resolve address 'no-such-host.invalid'", NULL);
    expect_errors("global\n log global\n", 1, "t.cfg:2: 'log': 'log global' is only valid", NULL);
}

static void test_servers(void)
{
    /* `check` and its settings load silently */
    struct sp_config *cfg = load_ok_w(TMO "backend b\n"
                                          "    server s1 127.0.0.1:8001\n"
                                          "    server s2 [::1]:8002 weight 0 maxconn 10 maxqueue 5 "
                                          "check inter 3s fastinter 500 downinter 1m rise 4 fall 5 "
                                          "backup disabled\n"
                                          "    server s3 localhost:8003 weight 256\n"
                                          "    server s4 unix@/run/app.sock\n",
                                      0);
    const struct sp_cfg_server *s;

    if (!cfg)
        return;
    CU_ASSERT_EQUAL(cfg->proxies->nservers, 4);
    s = cfg->proxies->servers;
    CU_ASSERT_STRING_EQUAL(s->name, "s1");
    CU_ASSERT_STRING_EQUAL(s->addr_text, "127.0.0.1:8001");
    CU_ASSERT(is_v4(&s->addr, "127.0.0.1", 8001));
    CU_ASSERT_EQUAL(s->addrlen, sizeof(struct sockaddr_in));
    CU_ASSERT_EQUAL(s->id, 1);
    CU_ASSERT_EQUAL(s->weight, 1);
    CU_ASSERT_EQUAL(s->maxconn, 0);
    CU_ASSERT_EQUAL(s->maxqueue, 0);
    CU_ASSERT_FALSE(s->check);
    CU_ASSERT_FALSE(s->backup);
    CU_ASSERT_FALSE(s->disabled);
    CU_ASSERT_EQUAL(s->inter, SP_TIME_UNSET);
    CU_ASSERT_EQUAL(s->fastinter, SP_TIME_UNSET);
    CU_ASSERT_EQUAL(s->downinter, SP_TIME_UNSET);
    CU_ASSERT_EQUAL(s->rise, 2);
    CU_ASSERT_EQUAL(s->fall, 3);
    CU_ASSERT_EQUAL(s->where.line, 7);
    s = s->next;
    CU_ASSERT(is_v6(&s->addr, "::1", 8002));
    CU_ASSERT_EQUAL(s->id, 2);
    CU_ASSERT_EQUAL(s->weight, 0);
    CU_ASSERT_EQUAL(s->maxconn, 10);
    CU_ASSERT_EQUAL(s->maxqueue, 5);
    CU_ASSERT_TRUE(s->check);
    CU_ASSERT_EQUAL(s->inter, 3000);
    CU_ASSERT_EQUAL(s->fastinter, 500);
    CU_ASSERT_EQUAL(s->downinter, 60000);
    CU_ASSERT_EQUAL(s->rise, 4);
    CU_ASSERT_EQUAL(s->fall, 5);
    CU_ASSERT_TRUE(s->backup);
    CU_ASSERT_TRUE(s->disabled);
    s = s->next;
    CU_ASSERT_EQUAL(s->weight, 256);
    CU_ASSERT_EQUAL(s->id, 3);
    CU_ASSERT(s->addr.ss_family == AF_INET || s->addr.ss_family == AF_INET6);
    s = s->next;
    CU_ASSERT_EQUAL(s->addr.ss_family, AF_UNIX);
    CU_ASSERT_EQUAL(s->id, 4);
    sp_config_free(cfg);

    expect_errors(TMO "backend b\n server s1 no-such-host.invalid:80\n", 1,
                  "t.cfg:7: 'server': could not resolve address 'no-such-host.invalid:80'", NULL);
    expect_errors(TMO "backend b\n server s1 1.2.3.4:+\n", 1, "t.cfg:7: 'server': invalid address",
                  NULL);
    expect_errors(TMO "backend b\n server s1 1.2.3.4:0\n", 1, "invalid address", NULL);
    expect_errors(TMO "backend b\n server s1\n", 1, "t.cfg:7: 'server': missing argument", NULL);
    expect_errors(TMO "backend b\n server s1 1.2.3.4:80 weight 257\n", 1,
                  "t.cfg:7: 'server': 'weight': invalid value '257'", NULL);
    expect_errors(TMO "backend b\n server s1 1.2.3.4:80 weight\n", 1,
                  "t.cfg:7: 'server': 'weight': missing value", NULL);
    expect_errors(TMO "backend b\n server s1 1.2.3.4:80 inter 0\n", 1, "'inter'", NULL);
    expect_errors(TMO "backend b\n server s1 1.2.3.4:80 inter 5x\n", 1, "'inter': invalid time",
                  NULL);
    expect_errors(TMO "backend b\n server s1 1.2.3.4:80 rise 0\n", 1, "'rise'", NULL);
    expect_errors(TMO "backend b\n server s1 1.2.3.4:80 frobnicate\n", 1,
                  "t.cfg:7: 'server': unknown server option 'frobnicate'", NULL);
    expect_errors(TMO "backend b\n server s1 1.2.3.4:80 ssl verify none\n", 2,
                  "server option 'ssl' not supported by spillway yet",
                  "server option 'verify' not supported by spillway yet", NULL);
    expect_errors(TMO "backend b\n server s1 1.2.3.4:80 ssl weight 999 cookie c source 1.2.3.4 "
                      "usesrc client ws h2\n",
                  3, "server option 'ssl'", "'weight'",
                  "'source': 'usesrc' not supported by spillway", NULL);
    expect_errors(TMO "backend b\n server s1 1.2.3.4:80 send-proxy-v2 proxy-v2-options "
                      "crc32c,cert-cn,unique-id,x check-send-proxy\n",
                  3, "proxy-v2-options 'cert-cn' not supported by spillway",
                  "proxy-v2-options 'unique-id' not supported by spillway",
                  "'x' : proxy v2 option not implemented", NULL);
    /* keywords that came after 2.6 say so */
    expect_errors("global\n cpu-policy performance\n tune.ring.queues 2\n" TMO
                  "crt-store s\n load crt a.pem\nfrontend f\n bind :80\n log-steps any\n"
                  "traces\n trace h1 sink stderr\nacme le\n directory x\n",
                  6,
                  "t.cfg:2: 'cpu-policy': 'cpu-policy' is an HAProxy 3.x keyword, not supported "
                  "by spillway (HAProxy 2.6 semantics)",
                  "'tune.ring.queues' is an HAProxy 3.x keyword", "'crt-store' is an HAProxy 3.x",
                  "'log-steps' is an HAProxy 3.x keyword", "'traces' is an HAProxy 3.x",
                  "'acme' is an HAProxy 3.x", NULL);
    expect_errors(TMO "backend b\n server s1 1.2.3.4:80\n server s1 1.2.3.5:80\n", 1,
                  "t.cfg:8: 'server': server 's1' already declared at t.cfg:7", NULL);
    /* the same server name in two backends is fine */
    cfg = load_ok(TMO "backend a\n server s 1.2.3.4:80\nbackend b\n server s 1.2.3.4:80\n");
    sp_config_free(cfg);
}

static void test_defaults_inheritance(void)
{
    struct sp_config *cfg = load_ok("defaults\n"
                                    "    mode http\n"
                                    "    timeout client 7s\n"
                                    "    timeout connect 2s\n"
                                    "    timeout server 9s\n"
                                    "    option forwardfor header X-Real\n"
                                    "    retries 7\n"
                                    "    maxconn 99\n"
                                    "    log stdout local0\n"
                                    "    default_backend b1\n"
                                    "frontend f1\n"
                                    "    bind :1\n"
                                    "    timeout client 1s\n"
                                    "backend b1\n"
                                    "    server s 127.0.0.1:1\n"
                                    "defaults\n" /* resets everything for what follows */
                                    "    timeout client 3s\n"
                                    "listen l2\n"
                                    "    bind :2\n");
    const struct sp_cfg_proxy *f1, *b1, *l2;

    if (!cfg)
        return;
    f1 = cfg->proxies;
    b1 = f1->next;
    l2 = b1->next;
    CU_ASSERT_EQUAL(f1->mode, SP_MODE_HTTP);
    CU_ASSERT_EQUAL(f1->to.client, 1000); /* overridden */
    CU_ASSERT_EQUAL(f1->to.connect, 2000);
    CU_ASSERT_EQUAL(f1->maxconn, 99);
    CU_ASSERT_EQUAL(f1->retries, 7);
    CU_ASSERT_TRUE(f1->fwdfor.enabled);
    CU_ASSERT_STRING_EQUAL(f1->fwdfor.header, "X-Real");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f1->logs);
    CU_ASSERT_STRING_EQUAL(f1->logs->target, "stdout");
    CU_ASSERT_EQUAL(f1->logs->where.line, 9);
    CU_ASSERT_STRING_EQUAL(f1->default_backend, "b1");
    CU_ASSERT_PTR_EQUAL(f1->defbe, b1);
    CU_ASSERT_EQUAL(b1->to.client, 7000);
    CU_ASSERT_EQUAL(b1->to.server, 9000);
    CU_ASSERT_EQUAL(b1->retries, 7);
    CU_ASSERT_PTR_NOT_NULL(b1->logs);
    /* the second defaults section starts from the built-in values */
    CU_ASSERT_EQUAL(l2->mode, SP_MODE_TCP);
    CU_ASSERT_EQUAL(l2->to.client, 3000);
    CU_ASSERT_EQUAL(l2->to.connect, SP_TIME_UNSET);
    CU_ASSERT_EQUAL(l2->retries, 3);
    CU_ASSERT_EQUAL(l2->maxconn, 0);
    CU_ASSERT_FALSE(l2->fwdfor.enabled);
    CU_ASSERT_PTR_NULL(l2->logs);
    CU_ASSERT_PTR_NULL(l2->default_backend);
    CU_ASSERT_EQUAL(l2->cap, SP_CAP_FE | SP_CAP_BE);
    sp_config_free(cfg);
}

static void test_defaults_named_from(void)
{
    struct sp_config *cfg = load_ok("defaults base\n"
                                    "    mode http\n"
                                    "    timeout client 11s\n"
                                    "    timeout connect 1s\n"
                                    "    timeout server 12s\n"
                                    "defaults tcpish from base\n"
                                    "    mode tcp\n"
                                    "defaults\n"
                                    "    timeout client 13s\n"
                                    "    timeout connect 1s\n"
                                    "    timeout server 1s\n"
                                    "frontend plain\n bind :1\n"
                                    "frontend fb from base\n bind :2\n"
                                    "backend bt from tcpish\n"
                                    "listen lb from base\n bind :3\n mode tcp\n");
    const struct sp_cfg_proxy *plain, *fb, *bt, *lb;

    if (!cfg)
        return;
    plain = sp_config_find_proxy(cfg, "plain", SP_CAP_FE);
    fb = sp_config_find_proxy(cfg, "fb", SP_CAP_FE);
    bt = sp_config_find_proxy(cfg, "bt", SP_CAP_BE);
    lb = sp_config_find_proxy(cfg, "lb", SP_CAP_BE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(plain);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fb);
    CU_ASSERT_PTR_NOT_NULL_FATAL(bt);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lb);
    CU_ASSERT_EQUAL(plain->to.client, 13000); /* the last defaults above it */
    CU_ASSERT_EQUAL(plain->mode, SP_MODE_TCP);
    CU_ASSERT_EQUAL(fb->to.client, 11000); /* the named one */
    CU_ASSERT_EQUAL(fb->mode, SP_MODE_HTTP);
    CU_ASSERT_EQUAL(bt->to.client, 11000); /* defaults inheriting with from */
    CU_ASSERT_EQUAL(bt->to.server, 12000);
    CU_ASSERT_EQUAL(bt->mode, SP_MODE_TCP);
    CU_ASSERT_EQUAL(lb->mode, SP_MODE_TCP);
    CU_ASSERT_EQUAL(lb->to.client, 11000);
    sp_config_free(cfg);

    expect_errors("frontend f from nowhere\n bind :1\n", 1,
                  "t.cfg:1: 'frontend': unable to find defaults section 'nowhere'", NULL);
    expect_errors("defaults a from\n", 1, "t.cfg:1: 'defaults': 'from' needs", NULL);
    expect_errors("defaults a b\n", 1, "t.cfg:1: 'defaults': unexpected argument 'b'", NULL);
}

static void test_tokenizer(void)
{
    struct sp_config *cfg = load_ok("# a comment\n"
                                    "\n"
                                    "   \t  \n"
                                    "global # trailing comment\n"
                                    "    pidfile \"/run/with space.pid\"\n"
                                    "    log /dev/log\\ x local0#comment\n"
                                    "defaults\n"
                                    "    log '/a#b\\c' local1\n"
                                    "    log \"/q\\\"uote\" local2\n"
                                    "    log /e\\#f local3\n"
                                    "    log /g\\\\h local4\n"
                                    "    log /i\"j k\"l local5\n"
                                    "    log /tab\\tx\\x41 local6\n"
                                    "backend b\n");
    const struct sp_cfg_log *l;

    if (!cfg)
        return;
    CU_ASSERT_STRING_EQUAL(cfg->global.pidfile, "/run/with space.pid");
    CU_ASSERT_STRING_EQUAL(cfg->global.logs->target, "/dev/log x");
    CU_ASSERT_STRING_EQUAL(cfg->global.logs->facility, "local0");
    l = cfg->proxies->logs;
    CU_ASSERT_STRING_EQUAL(l->target, "/a#b\\c");
    l = l->next;
    CU_ASSERT_STRING_EQUAL(l->target, "/q\"uote");
    l = l->next;
    CU_ASSERT_STRING_EQUAL(l->target, "/e#f");
    l = l->next;
    CU_ASSERT_STRING_EQUAL(l->target, "/g\\h");
    l = l->next;
    CU_ASSERT_STRING_EQUAL(l->target, "/ij kl");
    l = l->next;
    CU_ASSERT_STRING_EQUAL(l->target, "/tab\txA");
    l = l->next;
    CU_ASSERT_PTR_NULL(l);
    sp_config_free(cfg);
}

static void test_tokenizer_errors(void)
{
    /* an empty quoted word is a word: here an invalid facility */
    expect_errors("global\n log '/' \"\" local7\n", 1, "t.cfg:2: 'log': unknown facility ''", NULL);
    expect_errors("global\n pidfile \"/x\n", 1, "t.cfg:2: unterminated double quote", NULL);
    expect_errors("global\n pidfile '/x\n", 1, "t.cfg:2: unterminated single quote", NULL);
    expect_errors("global\n pidfile /x\\", 1, "t.cfg:2: unfinished escape", NULL);
    expect_errors("global\n pidfile /x\\x0\n", 1, "t.cfg:2: invalid '\\x' escape", NULL);
    expect_errors("global\n pidfile /x\\x00\n", 1, "invalid '\\x' escape", NULL);
}

static void test_crlf_and_no_newline(void)
{
    struct sp_config *cfg = load_ok("global\r\n  nbthread 3\r\n\r\n  pidfile /p\r\n"
                                    "  maxconn 5");

    if (!cfg)
        return;
    CU_ASSERT_EQUAL(cfg->global.nbthread, 3);
    CU_ASSERT_STRING_EQUAL(cfg->global.pidfile, "/p");
    CU_ASSERT_EQUAL(cfg->global.maxconn, 5);
    sp_config_free(cfg);
}

/* ---------------------------------------------------------------------------------------- */
/* keywords that are not (yet) spillway's */

static void test_unsupported_keywords(void)
{
    static const char *const proxy_kws[] = {"use-server", "log-tag",       "persist",
                                            "dispatch",   "log-format-sd", "dynamic-cookie-key",
                                            "http-reuse", "rate-limit",    "force-persist",
                                            "filter",     "email-alert",   "id"};
    static const char *const global_kws[] = {"maxsslconn", "ssl-dh-param-file",
                                             "ssl-default-bind-curves", "nbproc", "log-tag"};
    static const char *const opts[] = {"pgsql-check", "httpslog", "nolinger", "splice-auto",
                                       "http-pretend-keepalive"};
    static const char *const algos[] = {"rdp-cookie", "rdp-cookie(mstshash)", "hash"};
    static const char *const sections[] = {"peers p", "log-forward l", "program p", "fcgi-app f",
                                           "ring r",  "mailers m",     "cache c"};
    char text[256], msg[128];

    for (size_t i = 0; i < sizeof(proxy_kws) / sizeof(proxy_kws[0]); i++) {
        const char *sec = strcmp(proxy_kws[i], "server-template") == 0 ? "backend" : "frontend";
        snprintf(text, sizeof(text), TMO "%s x\n bind :1\n %s a b c\n", sec, proxy_kws[i]);
        if (strcmp(sec, "backend") == 0)
            snprintf(text, sizeof(text), TMO "backend x\n %s a b c\n", proxy_kws[i]);
        snprintf(msg, sizeof(msg), "t.cfg:%d: '%s': keyword not supported by spillway yet",
                 strcmp(sec, "backend") == 0 ? 7 : 8, proxy_kws[i]);
        expect_errors(text, 1, msg, NULL);
    }
    for (size_t i = 0; i < sizeof(global_kws) / sizeof(global_kws[0]); i++) {
        snprintf(text, sizeof(text), "global\n %s a\n", global_kws[i]);
        snprintf(msg, sizeof(msg), "t.cfg:2: '%s': keyword not supported by spillway yet",
                 global_kws[i]);
        expect_errors(text, 1, msg, NULL);
    }
    for (size_t i = 0; i < sizeof(opts) / sizeof(opts[0]); i++) {
        snprintf(text, sizeof(text), TMO "backend x\n option %s\n", opts[i]);
        snprintf(msg, sizeof(msg), "t.cfg:7: 'option %s': keyword not supported by spillway yet",
                 opts[i]);
        expect_errors(text, 1, msg, NULL);
    }
    for (size_t i = 0; i < sizeof(algos) / sizeof(algos[0]); i++) {
        snprintf(text, sizeof(text), TMO "backend x\n balance %s\n", algos[i]);
        snprintf(msg, sizeof(msg), "t.cfg:7: 'balance': algorithm '%s' not supported by spillway",
                 algos[i]);
        expect_errors(text, 1, msg, NULL);
    }
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        /* the section is reported once and its content is skipped */
        snprintf(text, sizeof(text),
                 "%s\n nameserver a 1.1.1.1:53\n whatever 1\nglobal\n"
                 " nbthread 2\n",
                 sections[i]);
        snprintf(msg, sizeof(msg), "t.cfg:1: '%.*s': section not supported by spillway yet",
                 (int)strcspn(sections[i], " "), sections[i]);
        expect_errors(text, 1, msg, NULL);
    }
    expect_errors(TMO "frontend f\n bind :1\n timeout client-hs 5s\n timeout tarpit 1s\n", 1,
                  "t.cfg:8: 'timeout client-hs': keyword not supported by spillway yet", NULL);
    expect_errors(TMO "backend b\n clitimeout 5\n", 1, "t.cfg:7: 'clitimeout': removed", NULL);
}

/* `tcp-request` lines kept as words, refusals of what spillway does not carry out, and the
 * log options of mode tcp */
static void test_tcp_request(void)
{
    struct sp_config *cfg = load_ok("defaults\n mode tcp\n timeout client 5s\n timeout server 5s\n"
                                    " timeout connect 1s\n"
                                    "frontend f\n bind :1\n tcp-request inspect-delay 2s\n"
                                    " tcp-request content accept if { req.ssl_hello_type 1 }\n"
                                    " tcp-request content reject\n"
                                    " tcp-request connection reject if { src 10.0.0.0/8 }\n"
                                    " option httplog\n option tcplog\n default_backend b\n"
                                    "backend b\n server s 127.0.0.1:1\n");
    if (cfg) {
        const struct sp_cfg_proxy *f = sp_config_find_proxy(cfg, "f", SP_CAP_FE);
        CU_ASSERT_EQUAL(f->inspect_delay, 2000);
        CU_ASSERT_TRUE(f->tcplog);
        CU_ASSERT_FALSE(f->httplog);
        const struct sp_cfg_rule *r = f->tcp_content_rules;
        CU_ASSERT_EQUAL(r->nwords, 6);
        CU_ASSERT_STRING_EQUAL(r->words[0], "accept");
        CU_ASSERT_STRING_EQUAL(r->words[1], "if");
        CU_ASSERT_EQUAL(r->where.line, 9);
        CU_ASSERT_STRING_EQUAL(r->next->words[0], "reject");
        CU_ASSERT_EQUAL(r->next->nwords, 1);
        CU_ASSERT_STRING_EQUAL(f->tcp_conn_rules->words[0], "reject");
        CU_ASSERT_PTR_NULL(f->tcp_conn_rules->next);
        sp_config_free(cfg);
    }
    /* the last of httplog and tcplog wins */
    cfg = load_ok_w(TMO "frontend f\n bind :1\n option tcplog\n option httplog\n", 1);
    if (cfg) {
        const struct sp_cfg_proxy *f = sp_config_find_proxy(cfg, "f", SP_CAP_FE);
        CU_ASSERT_TRUE(f->httplog);
        CU_ASSERT_FALSE(f->tcplog);
        sp_config_free(cfg);
    }
    expect_errors(TMO "frontend f\n bind :1\n mode tcp\n tcp-request content set-var-fmt(txn.x) "
                      "%[src]\n",
                  1,
                  "t.cfg:9: 'tcp-request content set-var-fmt(txn.x)': not supported by spillway "
                  "yet",
                  NULL);
    expect_errors(TMO "frontend f\n bind :1\n mode tcp\n tcp-request content drop\n", 1,
                  "unknown action 'drop'", NULL);
    expect_errors(TMO "frontend f\n bind :1\n mode tcp\n tcp-request content accept when x\n", 1,
                  "expects 'if' or 'unless'", NULL);
    expect_errors(TMO "frontend f\n bind :1\n mode tcp\n tcp-request content accept if\n", 1,
                  "missing condition", NULL);
    /* an http backend's content rules run per stream over the parsed request */
    cfg = load_ok(TMO "backend b\n tcp-request content accept\n");
    sp_config_free(cfg);
    expect_errors(TMO "backend b\n tcp-request connection accept\n", 1,
                  "is not allowed because backend 'b' is not a frontend", NULL);
    expect_errors(TMO " tcp-request inspect-delay 1s\n", 1,
                  "t.cfg:6: 'tcp-request inspect-delay': in a defaults section is not supported "
                  "by spillway",
                  NULL);
    expect_errors(TMO "frontend f\n bind :1\n tcp-request inspect-delay x\n", 1,
                  "t.cfg:8: 'tcp-request inspect-delay'", NULL);
    /* content rules of an http frontend run per stream, before its http-request rules */
    cfg = load_ok(TMO "frontend f\n bind :1\n tcp-request content reject\n");
    sp_config_free(cfg);
    /* the stick-table actions of request rules; the gpc/gpt arrays are refused */
    cfg = load_ok(TMO "frontend f\n bind :1\n tcp-request connection track-sc0 src\n"
                      " tcp-request session sc-inc-gpc0(0) if { src 10.0.0.1 }\n"
                      " tcp-request content sc-set-gpt0(1) 3\n"
                      " tcp-request connection set-dst ipv4(10.0.0.1)\n"
                      " tcp-request session set-dst-port int(81) if { src 10.0.0.2 }\n");
    sp_config_free(cfg);
    expect_errors(TMO "frontend f\n bind :1\n tcp-request content set-dst\n", 1,
                  "t.cfg:8: 'tcp-request content': 'set-dst' expects a sample expression", NULL);
    expect_errors(TMO "frontend f\n bind :1\n tcp-request content sc-inc-gpc(0,1)\n", 1,
                  "t.cfg:8: 'tcp-request content sc-inc-gpc(0,1)': not supported by spillway "
                  "(the gpc/gpt array data types are not kept",
                  NULL);
    /* ...but connection rules work in either mode */
    cfg = load_ok(TMO "frontend f\n bind :1\n tcp-request connection reject if { src_port 1 }\n");
    sp_config_free(cfg);
    /* a second inspect-delay is ignored with HAProxy's warning */
    cfg = load_ok_w("defaults\n mode tcp\n timeout client 5s\nfrontend f\n bind :1\n"
                    " tcp-request inspect-delay 1s\n tcp-request inspect-delay 2s\n",
                    1);
    if (cfg) {
        CU_ASSERT_EQUAL(sp_config_find_proxy(cfg, "f", SP_CAP_FE)->inspect_delay, 1000);
        sp_config_free(cfg);
    }
    /* `proto h2` means nothing to a byte relay */
    expect_errors("defaults\n mode tcp\n timeout client 5s\nfrontend f\n bind :1 proto h2\n", 1,
                  "t.cfg:5: 'bind': 'proto h2' on frontend 'f', which is in mode tcp", NULL);
}

static void test_unknown_and_misplaced(void)
{
    expect_errors(TMO "frontend f\n bind :1\n xyz 1\n", 1,
                  "t.cfg:8: 'xyz': unknown keyword 'xyz' in 'frontend' section", NULL);
    expect_errors("global\n frobnicate\n", 1,
                  "t.cfg:2: 'frobnicate': unknown keyword 'frobnicate' in 'global' section", NULL);
    expect_errors("nbthread 2\n", 1, "t.cfg:1: 'nbthread': keyword outside of any section", NULL);
    expect_errors(TMO "frontend f\n bind :1\n server s 1.2.3.4:80\n", 1,
                  "t.cfg:8: 'server': not allowed in a 'frontend' section", NULL);
    expect_errors(TMO "backend b\n bind :1\n", 1,
                  "t.cfg:7: 'bind': not allowed in a 'backend' section", NULL);
    expect_errors(TMO "frontend f\n bind :1\n nbthread 2\n", 1,
                  "t.cfg:8: 'nbthread': not allowed in a 'frontend' section (only in: global)",
                  NULL);
    expect_errors("global\n mode http\n", 1, "t.cfg:2: 'mode': not allowed in a 'global' section",
                  NULL);
    expect_errors("global\n acl a src 1.2.3.4\n", 1, "t.cfg:2: 'acl': not allowed", NULL);
    expect_errors(TMO "frontend f\n bind :1\n chroot /x\n", 1, "t.cfg:8: 'chroot': not allowed",
                  NULL);
    expect_errors("defaults\n bind :1\n", 1, "t.cfg:2: 'bind': not allowed in a 'defaults'", NULL);
    expect_errors("defaults\n server s 1.1.1.1:1\n", 1, "t.cfg:2: 'server': not allowed", NULL);
    expect_errors(TMO "frontend f\n bind :1\n option nosuchopt\n", 1,
                  "t.cfg:8: 'option': unknown option 'nosuchopt'", NULL);
    expect_errors(TMO "frontend f\n bind :1\n timeout bogus 1s\n", 1,
                  "t.cfg:8: 'timeout': unknown timeout 'bogus'", NULL);
    expect_errors(TMO "frontend f\n bind :1\n balance roundrobin x\n", 1,
                  "t.cfg:8: 'balance': too many arguments", NULL);
    expect_errors(TMO "backend b\n balance weird\n", 1, "t.cfg:7: 'balance': unknown algorithm",
                  NULL);
    expect_errors(TMO "backend b\n no retries\n", 1, "t.cfg:7: 'no':", NULL);
}

struct err_case {
    const char *text;
    const char *msg; /* one error, this text in it */
};

static void test_error_paths(void)
{
    static const struct err_case cases[] = {
        {"global\n nbthread 0\n", "t.cfg:2: 'nbthread': thread count: invalid value '0'"},
        {"global\n nbthread 65\n", "t.cfg:2: 'nbthread': thread count: invalid value '65'"},
        {"global\n nbthread 4x\n", "t.cfg:2: 'nbthread': thread count: invalid value '4x'"},
        {"global\n nbthread -1\n", "t.cfg:2: 'nbthread':"},
        {"global\n nbthread\n", "t.cfg:2: 'nbthread': missing argument"},
        {"global\n nbthread 1 2\n", "t.cfg:2: 'nbthread': too many arguments"},
        {"global\n maxconn 99999999999\n", "t.cfg:2: 'maxconn':"},
        {"global\n maxconn 2147483648\n", "t.cfg:2: 'maxconn':"},
        {"global\n maxconn -5\n", "t.cfg:2: 'maxconn':"},
        {"global\n tune.bufsize 1023\n", "t.cfg:2: 'tune.bufsize': invalid size '1023'"},
        {"global\n tune.bufsize 16x\n", "t.cfg:2: 'tune.bufsize': invalid size"},
        {"global\n tune.bufsize 2g\n", "t.cfg:2: 'tune.bufsize': invalid size"},
        {"global\n tune.maxaccept 0\n", "t.cfg:2: 'tune.maxaccept':"},
        {"global\n tune.maxaccept -2\n", "t.cfg:2: 'tune.maxaccept':"},
        {"global\n tune.h2.max-concurrent-streams 0\n", "'tune.h2.max-concurrent-streams':"},
        {"global\n tune.h2.fe.max-concurrent-streams x\n", "'tune.h2.fe.max-concurrent-streams':"},
        {"global\n hard-stop-after 10y\n", "t.cfg:2: 'hard-stop-after': delay: invalid time"},
        {"global\n hard-stop-after 30d\n", "t.cfg:2: 'hard-stop-after': delay: invalid time"},
        {"global\n pidfile\n", "t.cfg:2: 'pidfile': missing argument"},
        {"global\n daemon 1\n", "t.cfg:2: 'daemon': too many arguments"},
        {"global x\n", "t.cfg:1: 'global': takes no argument"},
        {TMO "frontend f\n bind :1\n mode health\n", "t.cfg:8: 'mode': unknown mode 'health'"},
        {TMO "frontend f\n bind :1\n mode\n", "t.cfg:8: 'mode': missing argument"},
        {TMO "frontend f\n bind :1\n maxconn abc\n", "t.cfg:8: 'maxconn':"},
        {TMO "frontend f\n bind :1\n backlog -1\n", "t.cfg:8: 'backlog':"},
        {TMO "frontend f\n bind :1\n timeout client\n",
         "t.cfg:8: 'timeout client': missing argument"},
        {TMO "frontend f\n bind :1\n timeout client 5q\n",
         "t.cfg:8: 'timeout client': timeout: invalid time '5q'"},
        {TMO "frontend f\n bind :1\n timeout client 99999999999999\n",
         "t.cfg:8: 'timeout client': timeout: invalid time"},
        {TMO "frontend f\n bind :1\n timeout\n", "t.cfg:8: 'timeout': missing timeout name"},
        {TMO "frontend f\n bind :1\n option httplog foo\n",
         "t.cfg:8: 'option httplog': unexpected argument 'foo'"},
        {TMO "frontend f\n bind :1\n no option httplog\n",
         "t.cfg:8: 'no option httplog': this option cannot be negated"},
        {TMO "frontend f\n bind :1\n option dontlognull 1\n",
         "t.cfg:8: 'option dontlognull': too many arguments"},
        {TMO "frontend f\n bind :1\n option\n", "t.cfg:8: 'option': missing option name"},
        {TMO "backend b\n option redispatch x\n", "t.cfg:7: 'option redispatch':"},
        {TMO "frontend f\n bind :1\n default_backend\n",
         "t.cfg:8: 'default_backend': missing argument"},
        {TMO "backend b\n retries -1\n", "t.cfg:7: 'retries':"},
        {TMO "backend b\n fullconn x\n", "t.cfg:7: 'fullconn':"},
        {TMO "frontend\n bind :1\n", "t.cfg:6: 'frontend': missing name"},
        {TMO "backend b@d\n", "t.cfg:6: 'backend': invalid name 'b@d'"},
        {TMO "backend b\n server s/1 1.2.3.4:80\n", "t.cfg:7: 'server': invalid server name"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        expect_errors(cases[i].text, 1, cases[i].msg, NULL);
}

static void test_all_errors_reported(void)
{
    expect_errors("global\n"
                  "    nbthread zero\n"
                  "    maxconn 10\n"
                  "defaults\n"
                  "    timeout client 5s\n"
                  "    timeout server 5s\n"
                  "    timeout connect 5s\n"
                  "frontend f\n"
                  "    bind :80\n"
                  "    mode httpx\n"
                  "    maxconn 5\n"
                  "backend b\n"
                  "    server s 1.2.3.4:80 weight 1000\n",
                  3, "t.cfg:2: 'nbthread':", "t.cfg:10: 'mode':", "t.cfg:13: 'server':", NULL);
    /* errors in the post-parse checks are added to those of the lines */
    expect_errors(TMO "frontend f\n"
                      "    xyz\n"
                      "    default_backend nope\n"
                      "frontend g\n"
                      "    bind :1\n"
                      "    abc\n",
                  4, "t.cfg:7: 'xyz'", "t.cfg:8: 'default_backend'", "t.cfg:6: 'frontend'",
                  "t.cfg:11: 'abc'", NULL);
}

static const char seed[] = "global\n"
                           "    log stdout local0\n"
                           "defaults\n"
                           "    mode http\n"
                           "    timeout client 2m\n"
                           "    timeout connect 5s\n"
                           "    timeout server 1m\n"
                           "frontend webserver\n"
                           "    bind *:80\n"
                           "    mode http\n"
                           "    maxconn 310\n"
                           "    option forwardfor\n"
                           "    option httplog\n"
                           "    acl too_many_connections fe_conn(webserver) gt 300\n"
                           "    use_backend pbcoffee if too_many_connections\n"
                           "    default_backend pbcoffee\n"
                           "    default_backend ade\n"
                           "backend pbcoffee\n"
                           "    server p1 127.0.0.1:8081\n"
                           "backend ade\n"
                           "    server a1 127.0.0.1:8082\n";

static void test_seed_config(void)
{
    /* the seed loads as it is: httplog without a log target is one warning, nothing else */
    struct sp_config *cfg = load_ok_w(seed, 1);
    if (!cfg)
        return;
    struct sp_cfg_proxy *fe = sp_config_find_proxy(cfg, "webserver", SP_CAP_FE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe);
    /* the last default_backend wins */
    CU_ASSERT_STRING_EQUAL(fe->default_backend, "ade");
    CU_ASSERT_PTR_EQUAL(fe->defbe, sp_config_find_proxy(cfg, "ade", SP_CAP_BE));
    CU_ASSERT_EQUAL(fe->default_backend_where.line, 17);
    CU_ASSERT_EQUAL(fe->maxconn, 310);
    CU_ASSERT_TRUE(fe->fwdfor.enabled);
    CU_ASSERT_TRUE(fe->httplog);
    CU_ASSERT_FALSE(fe->httplog_clf);
    CU_ASSERT(is_v4(&fe->binds->addr, "0.0.0.0", 80));
    /* acl and use_backend lines are kept as words, in order, with their line */
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe->acls);
    CU_ASSERT_EQUAL(fe->acls->nwords, 4);
    CU_ASSERT_STRING_EQUAL(fe->acls->words[0], "too_many_connections");
    CU_ASSERT_STRING_EQUAL(fe->acls->words[1], "fe_conn(webserver)");
    CU_ASSERT_STRING_EQUAL(fe->acls->words[3], "300");
    CU_ASSERT_EQUAL(fe->acls->where.line, 14);
    CU_ASSERT_PTR_NULL(fe->acls->next);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe->use_backends);
    CU_ASSERT_EQUAL(fe->use_backends->nwords, 3);
    CU_ASSERT_STRING_EQUAL(fe->use_backends->words[0], "pbcoffee");
    CU_ASSERT_STRING_EQUAL(fe->use_backends->words[1], "if");
    CU_ASSERT_EQUAL(fe->use_backends->where.line, 15);
    sp_config_free(cfg);
}

static void test_stats_keywords(void)
{
    struct sp_config *cfg = load_ok("global\n stats socket /run/sp.sock mode 660 level admin\n"
                                    " decision-log 64\n tune.server.default-maxconn 50\n" TMO
                                    "frontend f\n bind :1\n stats enable\n stats uri /st\n"
                                    " stats refresh 5s\n stats auth a:b\n stats auth c:d\n"
                                    " log-format \"%ci %ST\"\n"
                                    " http-request use-service prometheus-exporter if { path /m }\n"
                                    " default_backend b\nbackend b\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_STRING_EQUAL(cfg->global.stats_sockets->text, "/run/sp.sock");
    CU_ASSERT_EQUAL(cfg->global.stats_sockets->mode, 0660);
    CU_ASSERT_EQUAL(cfg->global.stats_sockets->level, SP_CLI_LEVEL_ADMIN);
    CU_ASSERT_EQUAL(cfg->global.decision_log, 64);
    CU_ASSERT_EQUAL(cfg->global.server_default_maxconn, 50);
    struct sp_cfg_proxy *fe = sp_config_find_proxy(cfg, "f", SP_CAP_FE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe);
    CU_ASSERT_TRUE(fe->stats_enabled);
    CU_ASSERT_STRING_EQUAL(fe->stats_uri, "/st");
    CU_ASSERT_EQUAL(fe->stats_refresh, 5000);
    CU_ASSERT_EQUAL(fe->nstats_auth, 2);
    CU_ASSERT_STRING_EQUAL(fe->stats_auth[1], "c:d");
    CU_ASSERT_STRING_EQUAL(fe->log_format, "%ci %ST");
    CU_ASSERT_TRUE(fe->prometheus);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe->prometheus_cond);
    CU_ASSERT_EQUAL(fe->prometheus_cond->nwords, 5);
    CU_ASSERT_STRING_EQUAL(fe->prometheus_cond->words[0], "if");
    sp_config_free(cfg);
    expect_errors("global\n stats socket relative.sock\n", 1,
                  "'stats': 'stats socket': invalid address 'relative.sock'", NULL);
    expect_errors("global\n stats socket /a mode 999\n", 1, "bad mode", NULL);
    expect_errors("global\n stats bind-process 3\n", 1, "'3' is not a valid number/range", NULL);
    expect_errors(TMO "frontend f\n bind :1\n stats uri nope\n", 1, "starting with '/'", NULL);
    expect_errors(TMO "frontend f\n bind :1\n stats auth nopass\n", 1, "user:password", NULL);
    expect_errors(TMO "frontend f\n bind :1\n http-request\n", 1, "expects an action", NULL);
    expect_errors(TMO "defaults\n http-request deny\n", 1, "rules in a defaults section", NULL);
    expect_errors(TMO "frontend f\n bind :1\n http-request use-service lua.x\n", 1,
                  "prometheus-exporter", NULL);
}

static void test_rule_lines(void)
{
    expect_errors(TMO "frontend f\n bind :1\n use_backend b when x\nbackend b\n", 1,
                  "'use_backend': expects 'if' or 'unless'", NULL);
    expect_errors(TMO "frontend f\n bind :1\n use_backend\nbackend b\n", 1, "'use_backend'", NULL);
    expect_errors(TMO "frontend f\n bind :1\n acl x\nbackend b\n", 1, "'acl'", NULL);
    expect_errors("defaults\n acl x src 1.2.3.4\n", 1, "'acl': ACLs in a defaults section", NULL);
    expect_errors(TMO "backend b\n use_backend c\n", 1, "'use_backend'", NULL);
    /* order of use_backend lines is kept */
    struct sp_config *cfg = load_ok(TMO "frontend f\n bind :1\n use_backend b1 if TRUE\n"
                                        " use_backend b2\n default_backend b1\n"
                                        "backend b1\nbackend b2\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    struct sp_cfg_proxy *fe = sp_config_find_proxy(cfg, "f", SP_CAP_FE);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe);
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe->use_backends);
    CU_ASSERT_STRING_EQUAL(fe->use_backends->words[0], "b1");
    CU_ASSERT_PTR_NOT_NULL_FATAL(fe->use_backends->next);
    CU_ASSERT_STRING_EQUAL(fe->use_backends->next->words[0], "b2");
    CU_ASSERT_EQUAL(fe->use_backends->next->nwords, 1);
    sp_config_free(cfg);
}

static void test_duplicate_names(void)
{
    struct sp_config *cfg = load_ok(TMO "frontend x\n bind :1\n default_backend x\n"
                                        "backend x\n");
    if (cfg) { /* a frontend and a backend may share a name */
        CU_ASSERT_PTR_NOT_NULL(sp_config_find_proxy(cfg, "x", SP_CAP_FE));
        CU_ASSERT_PTR_NOT_NULL(sp_config_find_proxy(cfg, "x", SP_CAP_BE));
        CU_ASSERT_PTR_NOT_EQUAL(sp_config_find_proxy(cfg, "x", SP_CAP_FE),
                                sp_config_find_proxy(cfg, "x", SP_CAP_BE));
        CU_ASSERT_PTR_EQUAL(cfg->proxies->defbe, cfg->proxies->next);
        sp_config_free(cfg);
    }
    expect_errors(TMO "frontend x\n bind :1\nfrontend x\n bind :2\n", 1,
                  "t.cfg:8: 'frontend': name 'x' already used by frontend declared at t.cfg:6",
                  NULL);
    expect_errors(TMO "backend x\nbackend x\n", 1,
                  "t.cfg:7: 'backend': name 'x' already used by backend declared at t.cfg:6", NULL);
    expect_errors(TMO "backend x\nlisten x\n bind :1\n", 1,
                  "t.cfg:7: 'listen': name 'x' already used by backend", NULL);
    expect_errors(TMO "listen x\n bind :1\nfrontend x\n bind :2\n", 1,
                  "t.cfg:8: 'frontend': name 'x' already used by listen", NULL);
}

static void test_default_backend_checks(void)
{
    expect_errors(TMO "frontend f\n bind :1\n default_backend nope\n", 1,
                  "t.cfg:8: 'default_backend':", "'nope'", NULL);
    /* a frontend name is not a backend */
    expect_errors(TMO "frontend f\n bind :1\n default_backend g\n"
                      "frontend g\n bind :2\n",
                  1, "t.cfg:8: 'default_backend':", NULL);
    /* http frontend, tcp backend */
    expect_errors(TMO "frontend f\n bind :1\n default_backend b\nbackend b\n mode tcp\n", 1,
                  "t.cfg:8: 'default_backend': http frontend 'f' cannot use tcp backend 'b'", NULL);
    /* from a defaults section: reported at the defaults line */
    expect_errors(TMO " default_backend gone\nfrontend f\n bind :1\n", 1,
                  "t.cfg:6: 'default_backend':", NULL);
    /* a backend inheriting default_backend from defaults ignores it: no error */
    struct sp_config *be_only = load_ok(TMO " default_backend gone\nbackend b\n");
    if (be_only) {
        CU_ASSERT_PTR_NULL(be_only->proxies->defbe);
        sp_config_free(be_only);
    }
    /* a listen may name itself; a backend ignores it with a warning */
    struct sp_config *cfg = load_ok_w(TMO "listen l\n bind :1\n default_backend l\n"
                                          "backend b\n default_backend l\n",
                                      1);
    if (cfg) {
        CU_ASSERT_PTR_EQUAL(cfg->proxies->defbe, cfg->proxies);
        CU_ASSERT_PTR_NULL(cfg->proxies->next->default_backend);
        sp_config_free(cfg);
    }
}

static void test_frontend_without_bind(void)
{
    expect_errors(TMO "frontend f\n mode http\n", 1,
                  "[ALERT] t.cfg:6: 'frontend': frontend 'f' has no 'bind' line", NULL);
    struct sp_config *cfg = load_ok_w(TMO "listen l\n", 1);
    sp_config_free(cfg);
}

static void test_warnings(void)
{
    struct sp_config *cfg;
    char *diag;
    int rc;

    /* missing timeouts: one warning per proxy that lacks any of its side's */
    rc = run("frontend f\n bind :1\n"
             "backend b\n server s 1.2.3.4:80\n"
             "backend empty\n" /* no servers: nothing to warn about */
             "backend t\n mode tcp\n timeout connect 1s\n timeout tunnel 1m\n"
             " server s 1.2.3.4:80\n" /* tunnel stands in for server in tcp */
             "listen l\n bind :2\n server s 1.2.3.4:80\n",
             &cfg, &diag);
    CU_ASSERT_EQUAL(rc, 0);
    CU_ASSERT_EQUAL(count(diag, "[WARNING]"), 3);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "[WARNING] t.cfg:1: 'frontend': missing timeouts for "
                                        "frontend 'f'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "[WARNING] t.cfg:3: 'backend': missing timeouts for "
                                        "backend 'b'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "[WARNING] t.cfg:11: 'listen': missing timeouts for "
                                        "listen 'l'"));
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "'timeout client'"));
    if (rc == 0)
        CU_ASSERT_EQUAL(cfg->nwarnings, 3);
    sp_config_free(cfg);
    free(diag);

    /* timeout client in a backend: ignored with a warning, not stored */
    cfg = load_ok_w(TMO "backend b\n timeout client 1s\n", 1);
    if (cfg) {
        CU_ASSERT_EQUAL(cfg->proxies->to.client, 5000);
        sp_config_free(cfg);
    }
    /* server-side timeout in a frontend, maxconn in a backend, balance in a frontend */
    cfg = load_ok_w(TMO "frontend f\n bind :1\n timeout server 1s\n balance roundrobin\n"
                        "backend b\n maxconn 5\n retries 2\n",
                    3);
    if (cfg) {
        CU_ASSERT_EQUAL(cfg->proxies->to.server, 5000);
        CU_ASSERT_EQUAL(cfg->proxies->next->maxconn, 0);
        CU_ASSERT_EQUAL(cfg->proxies->next->retries, 2);
        sp_config_free(cfg);
    }
    /* httplog: in a backend ignored; without a target warned; with one fine */
    cfg = load_ok_w(TMO "backend b\n option httplog\n", 1);
    if (cfg) {
        CU_ASSERT_FALSE(cfg->proxies->httplog);
        sp_config_free(cfg);
    }
    cfg = load_ok_w(TMO "frontend f\n bind :1\n option httplog\n log global\n", 1);
    sp_config_free(cfg);
    cfg = load_ok("global\n log stdout local0\n" TMO
                  "frontend f\n bind :1\n option httplog\n log global\n");
    sp_config_free(cfg);
    cfg = load_ok(TMO "frontend f\n bind :1\n option httplog\n log stderr local0\n");
    sp_config_free(cfg);
    /* httplog or forwardfor in a tcp proxy */
    cfg = load_ok_w(TMO "frontend f\n bind :1\n mode tcp\n option httplog\n log stdout user\n"
                        " option forwardfor\n",
                    2);
    sp_config_free(cfg);
    /* a bare timeout below 100 is suspicious, a unit is not */
    cfg = load_ok_w(TMO "frontend f\n bind :1\n timeout client 30\n", 1);
    if (cfg) {
        CU_ASSERT_EQUAL(cfg->proxies->to.client, 30);
        sp_config_free(cfg);
    }
    cfg = load_ok(TMO "frontend f\n bind :1\n timeout client 30ms\n");
    sp_config_free(cfg);
}

static void test_ids(void)
{
    struct sp_config *cfg = load_ok(TMO "backend a\n server x 1.1.1.1:1\n server y 1.1.1.1:2\n"
                                        "frontend b\n bind :1\n"
                                        "listen c\n bind :2\n server z 1.1.1.1:3\n"
                                        "backend d\n server w 1.1.1.1:4\n");
    int id = 0;

    if (!cfg)
        return;
    CU_ASSERT_EQUAL(cfg->nproxies, 4);
    for (const struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next)
        CU_ASSERT_EQUAL(p->id, ++id);
    CU_ASSERT_EQUAL(cfg->proxies->servers->id, 1);
    CU_ASSERT_EQUAL(cfg->proxies->servers->next->id, 2);
    CU_ASSERT_EQUAL(sp_config_find_proxy(cfg, "c", SP_CAP_BE)->servers->id, 1);
    CU_ASSERT_EQUAL(sp_config_find_proxy(cfg, "d", SP_CAP_BE)->servers->id, 1);
    CU_ASSERT_STRING_EQUAL(cfg->proxies->next->name, "b");
    sp_config_free(cfg);
}

static void test_find_proxy(void)
{
    struct sp_config *cfg = load_ok(TMO "frontend f\n bind :1\nbackend b\nlisten l\n bind :2\n");

    if (!cfg)
        return;
    CU_ASSERT_PTR_NOT_NULL(sp_config_find_proxy(cfg, "f", SP_CAP_FE));
    CU_ASSERT_PTR_NULL(sp_config_find_proxy(cfg, "f", SP_CAP_BE));
    CU_ASSERT_PTR_NOT_NULL(sp_config_find_proxy(cfg, "b", SP_CAP_BE));
    CU_ASSERT_PTR_NULL(sp_config_find_proxy(cfg, "b", SP_CAP_FE));
    CU_ASSERT_PTR_NOT_NULL(sp_config_find_proxy(cfg, "l", SP_CAP_FE));
    CU_ASSERT_PTR_NOT_NULL(sp_config_find_proxy(cfg, "l", SP_CAP_BE));
    CU_ASSERT_PTR_NOT_NULL(sp_config_find_proxy(cfg, "b", SP_CAP_FE | SP_CAP_BE));
    CU_ASSERT_PTR_NULL(sp_config_find_proxy(cfg, "zz", SP_CAP_FE | SP_CAP_BE));
    CU_ASSERT_PTR_NULL(sp_config_find_proxy(NULL, "f", SP_CAP_FE));
    sp_config_free(cfg);
    CU_ASSERT_PTR_NULL(sp_config_free(NULL));
}

/* writes `len` bytes to a temporary file and loads it */
static int load_bytes(const char *bytes, size_t len, char **diag)
{
    char path[] = "/tmp/spillway-test-XXXXXX";
    struct sp_config *cfg = NULL;
    char *buf = NULL;
    size_t blen = 0;
    FILE *out;
    int fd = mkstemp(path), rc;

    CU_ASSERT_FATAL(fd >= 0);
    CU_ASSERT_FATAL(write(fd, bytes, len) == (ssize_t)len);
    close(fd);
    out = open_memstream(&buf, &blen);
    rc = sp_config_load(path, out, &cfg);
    fclose(out);
    unlink(path);
    sp_config_free(cfg);
    *diag = buf;
    return rc;
}

static void test_bad_input(void)
{
    static const char nul[] = "global\n nbthread 2\x00 junk\n maxconn x\n";
    size_t big = 70000;
    char *text, *diag;
    int rc;

    /* a NUL byte: that line is an error, the others are still read */
    rc = load_bytes(nul, sizeof(nul) - 1, &diag);
    CU_ASSERT_EQUAL(rc, -EINVAL);
    CU_ASSERT_EQUAL(count(diag, "[ALERT]"), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, ":2: NUL byte"));
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, ":3: 'maxconn':"));
    free(diag);

    /* a loaded file names itself in the diagnostics */
    rc = load_bytes("global\n daemon x", 16, &diag);
    CU_ASSERT_EQUAL(rc, -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "/tmp/spillway-test-"));
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, ":2: 'daemon': too many arguments"));
    free(diag);
    rc = load_bytes("global\n daemon\n", 15, &diag);
    CU_ASSERT_EQUAL(rc, 0);
    free(diag);
    rc = load_bytes("", 0, &diag);
    CU_ASSERT_EQUAL(rc, 0);
    free(diag);

    /* too long a line */
    text = malloc(big + 64);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    strcpy(text, "global\n pidfile /");
    memset(text + strlen(text), 'a', big);
    strcpy(text + 17 + big, "\n maxconn y\n");
    expect_errors(text, 2, "t.cfg:2: line too long", "t.cfg:3: 'maxconn'", NULL);
    /* exactly at the limit is fine */
    memset(text, 0, big + 64);
    strcpy(text, "global\n pidfile /");
    memset(text + 17, 'a', 65536 - 10); /* the line " pidfile /aaa..." is 65536 bytes */
    struct sp_config *cfg = load_ok(text);
    if (cfg)
        CU_ASSERT_EQUAL(strlen(cfg->global.pidfile), 65536 - 9);
    sp_config_free(cfg);
    free(text);

    /* too many words */
    char words[400] = "global\n log stdout";
    for (int i = 0; i < 63; i++)
        strcat(words, " w");
    strcat(words, "\n");
    expect_errors(words, 1, "t.cfg:2: too many words", NULL);

    /* missing file */
    cfg = (struct sp_config *)&rc; /* must stay untouched */
    CU_ASSERT_EQUAL(sp_config_load("/nonexistent/spillway.cfg", NULL, &cfg), -ENOENT);
    CU_ASSERT_PTR_EQUAL(cfg, (struct sp_config *)&rc);
    /* a NULL diag stays silent but still fails */
    cfg = NULL;
    CU_ASSERT_EQUAL(sp_config_parse_string("global\n nbthread x\n", NULL, NULL, &cfg), -EINVAL);
    CU_ASSERT_PTR_NULL(cfg);
    CU_ASSERT_EQUAL(sp_config_parse_string(NULL, NULL, NULL, &cfg), -EINVAL);
}

/* xorshift: deterministic, so a failure reproduces */
static uint32_t rnd_state = 0x9e3779b9u;

static uint32_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 17;
    rnd_state ^= rnd_state << 5;
    return rnd_state;
}

static void test_garbage(void)
{
    static const char *const words[] = {"global",
                                        "defaults",
                                        "frontend",
                                        "backend",
                                        "listen",
                                        "from",
                                        "bind",
                                        "server",
                                        "timeout",
                                        "client",
                                        "option",
                                        "forwardfor",
                                        "except",
                                        "header",
                                        "log",
                                        "global",
                                        "cpu-map",
                                        "auto:1/1-4",
                                        "0-3",
                                        "mode",
                                        "http",
                                        "tcp",
                                        "default_backend",
                                        "no",
                                        "httplog",
                                        "maxconn",
                                        "x",
                                        "1",
                                        "-1",
                                        "99999999999999999999",
                                        ":80",
                                        "*:80",
                                        "[::]:81",
                                        "unix@/x",
                                        "127.0.0.1:8080",
                                        "1s",
                                        "2m",
                                        "\"",
                                        "'",
                                        "\\",
                                        "#",
                                        "\r",
                                        "\t",
                                        " ",
                                        "\n",
                                        "\n",
                                        "\n",
                                        "a,b",
                                        ":80,:81",
                                        "acl",
                                        "stdout",
                                        "local0",
                                        "info",
                                        "shards",
                                        "weight"};
    char buf[512];
    int total_err = 0;

    for (int iter = 0; iter < 3000; iter++) {
        size_t len = 0, n = rnd() % 60;
        for (size_t i = 0; i < n && len < sizeof(buf) - 64; i++) {
            if (rnd() % 4 == 0) {
                buf[len++] = (char)(rnd() % 255 + 1); /* any byte but NUL */
            } else {
                const char *w = words[rnd() % (sizeof(words) / sizeof(words[0]))];
                size_t wl = strlen(w);
                memcpy(buf + len, w, wl);
                len += wl;
                buf[len++] = rnd() % 3 ? ' ' : '\n';
            }
        }
        buf[len] = '\0';
        struct sp_config *cfg = NULL;
        char *diag = NULL;
        size_t dlen = 0;
        FILE *f = open_memstream(&diag, &dlen);
        int rc = sp_config_parse_string(buf, "g.cfg", f, &cfg);
        fclose(f);
        CU_ASSERT(rc == 0 || rc == -EINVAL);
        CU_ASSERT((rc == 0) == (cfg != NULL));
        CU_ASSERT((rc == 0) == (count(diag, "[ALERT]") == 0));
        total_err += count(diag, "[ALERT]");
        sp_config_free(cfg);
        free(diag);
    }
    CU_ASSERT(total_err > 0);
}

/* A bad `timeout` line is an error and only that: no "missing timeouts" warning on top of it,
 * whether the line is in the proxy or in the defaults it inherits. */
static void test_timeout_error_only(void)
{
    struct sp_config *cfg;
    char *diag;
    int rc;

    expect_errors("defaults\n mode http\n timeout client abc\n timeout server 1s\n"
                  " timeout connect 1s\n"
                  "frontend f\n bind :1\n default_backend b\n"
                  "backend b\n server s 1.2.3.4:80\n",
                  1, "t.cfg:3: 'timeout client': timeout: invalid time 'abc'", NULL);
    CU_ASSERT_EQUAL(count(last_diag, "[WARNING]"), 0);
    CU_ASSERT_PTR_NULL(strstr(last_diag, "missing timeouts"));
    /* in the proxy itself, each side */
    expect_errors("frontend f\n mode http\n bind :1\n timeout client 5q\n", 1,
                  "t.cfg:4: 'timeout client'", NULL);
    CU_ASSERT_EQUAL(count(last_diag, "[WARNING]"), 0);
    expect_errors("backend b\n mode http\n timeout connect\n timeout server 1s\n"
                  " server s 1.2.3.4:80\n",
                  1, "t.cfg:3: 'timeout connect': missing argument", NULL);
    CU_ASSERT_EQUAL(count(last_diag, "[WARNING]"), 0);
    /* an unknown or missing name: which one was meant cannot be told, so none is missing */
    expect_errors("frontend f\n mode http\n bind :1\n timeout clinet 5s\n", 1,
                  "t.cfg:4: 'timeout': unknown timeout 'clinet'", NULL);
    CU_ASSERT_EQUAL(count(last_diag, "[WARNING]"), 0);
    expect_errors("frontend f\n mode http\n bind :1\n timeout\n", 1,
                  "t.cfg:4: 'timeout': missing timeout name", NULL);
    CU_ASSERT_EQUAL(count(last_diag, "[WARNING]"), 0);
    /* a tcp backend whose bad tunnel line would have stood in for timeout server */
    expect_errors("backend t\n mode tcp\n timeout connect 1s\n timeout tunnel 1y\n"
                  " server s 1.2.3.4:80\n",
                  1, "t.cfg:4: 'timeout tunnel'", NULL);
    CU_ASSERT_EQUAL(count(last_diag, "[WARNING]"), 0);
    /* a timeout that is really missing is still reported next to the error of another */
    rc = run("listen l\n mode http\n bind :1\n timeout client 1x\n timeout connect 1s\n"
             " server s 1.2.3.4:80\n",
             &cfg, &diag);
    CU_ASSERT_EQUAL(rc, -EINVAL);
    CU_ASSERT_EQUAL(count(diag, "[ALERT]"), 1);
    CU_ASSERT_EQUAL(count(diag, "[WARNING]"), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, "[WARNING] t.cfg:1: 'listen': missing timeouts"));
    free(diag);
    /* a valid configuration without timeouts still gets the warning */
    cfg = load_ok_w("frontend f\n mode http\n bind :1\n", 1);
    sp_config_free(cfg);
}

/* Diagnostics quote words of the file: their control bytes and broken UTF-8 come out as \xHH,
 * never raw (a binary file must not drive the terminal). Valid UTF-8 stays readable. */
static void test_escaped_diagnostics(void)
{
    char bin[64], *diag;
    int rc;

    memset(bin, 0x1b, 16);
    bin[16] = '\n';
    rc = load_bytes(bin, 17, &diag);
    CU_ASSERT_EQUAL(rc, -EINVAL);
    CU_ASSERT_PTR_NULL(strchr(diag, 0x1b));
    CU_ASSERT_PTR_NOT_NULL(strstr(diag, ":1: '\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b"
                                        "\\x1b\\x1b\\x1b\\x1b\\x1b\\x1b': keyword outside"));
    free(diag);

    expect_errors("global\n \x1b[31mfoo bar\n maxconn \x1b[2J\n nbthread \xff\xfe\x01\n"
                  " pidfile \xc3\xa9t\xc3\xa9\x7f\n pidfile x\n",
                  3, "t.cfg:2: '\\x1b[31mfoo': unknown keyword '\\x1b[31mfoo' in 'global'",
                  "t.cfg:3: 'maxconn': connection count: invalid value '\\x1b[2J'",
                  "t.cfg:4: 'nbthread': thread count: invalid value '\\xff\\xfe\\x01'", NULL);
    CU_ASSERT_PTR_NULL(strchr(last_diag, 0x1b));
    CU_ASSERT_PTR_NULL(strchr(last_diag, 0x7f));
    CU_ASSERT_PTR_NULL(strchr(last_diag, 0x01));
    CU_ASSERT_PTR_NULL(strchr(last_diag, (char)0xff));
    /* the warning quotes valid UTF-8 as it is, and the DEL after it escaped */
    CU_ASSERT_PTR_NOT_NULL(strstr(last_diag, "already set to '\xc3\xa9t\xc3\xa9\\x7f'"));
    /* a tokenizer escape that produces a control byte is escaped back on the way out */
    expect_errors("global\n nbthread a\\tb\\x1b\n", 1,
                  "t.cfg:2: 'nbthread': thread count: invalid value 'a\\x09b\\x1b'", NULL);
    /* the file name, given by the caller, is escaped too */
    struct sp_config *cfg = NULL;
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    rc = sp_config_parse_string("global\n nbthread 0\n",
                                "a\x1b"
                                "b.cfg",
                                f, &cfg);
    fclose(f);
    CU_ASSERT_EQUAL(rc, -EINVAL);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "[ALERT] a\\x1bb.cfg:2: 'nbthread'"));
    free(buf);
    /* a long message is escaped whole, not cut at a buffer's size */
    char *text = malloc(8192);
    CU_ASSERT_PTR_NOT_NULL_FATAL(text);
    strcpy(text, "global\n nbthread ");
    size_t off = strlen(text);
    for (int i = 0; i < 2000; i++)
        text[off++] = (char)0x1b;
    strcpy(text + off, "Z\n");
    expect_errors(text, 1, "\\x1b\\x1bZ' (expects", NULL);
    CU_ASSERT_EQUAL(count(last_diag, "\\x1b"), 2000);
    free(text);
}

static void test_count_listeners(void)
{
    struct sp_config *cfg;

    CU_ASSERT_EQUAL(sp_config_count_listeners(NULL), 0);
    /* empty, comments only, global only, backends only: nothing to accept on */
    static const char *const none[] = {
        "",
        "# nothing\n\n   # at all\n",
        "global\n nbthread 2\n maxconn 100\n",
        TMO "backend b\n server s 1.2.3.4:80\n",
    };
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++) {
        cfg = load_ok(none[i]);
        if (cfg)
            CU_ASSERT_EQUAL(sp_config_count_listeners(cfg), 0);
        sp_config_free(cfg);
    }
    /* a listen without bind is a warning, and still no listener */
    cfg = load_ok_w(TMO "listen l\n server s 1.2.3.4:80\n", 1);
    if (cfg)
        CU_ASSERT_EQUAL(sp_config_count_listeners(cfg), 0);
    sp_config_free(cfg);
    /* every address of every bind line of frontends and listens */
    cfg = load_ok(TMO "frontend f\n bind :1,:2 :3\n bind unix@/tmp/x.sock\n"
                      "listen l\n bind :4\n server s 1.2.3.4:80\n");
    if (cfg)
        CU_ASSERT_EQUAL(sp_config_count_listeners(cfg), 5);
    sp_config_free(cfg);
}

static void test_global_maxconn_where(void)
{
    struct sp_config *cfg = load_ok("global\n nbthread 1\n maxconn 5000\n");
    if (cfg) {
        CU_ASSERT_EQUAL(cfg->global.maxconn, 5000);
        CU_ASSERT_STRING_EQUAL(cfg->global.maxconn_where.file, "t.cfg");
        CU_ASSERT_EQUAL(cfg->global.maxconn_where.line, 3);
    }
    sp_config_free(cfg);
    cfg = load_ok("global\n nbthread 1\n");
    if (cfg) {
        CU_ASSERT_EQUAL(cfg->global.maxconn, 0);
        CU_ASSERT_EQUAL(cfg->global.maxconn_where.line, 0);
    }
    sp_config_free(cfg);
}

/* ---------------------------------------------------------------------------------------- */
/* core/log.c: escaping and the rate limit. A suite of its own; it lives here because the
 * test-core sources are listed in tests/meson.build (move it to tests/core/test_log.c when
 * that file is added there). */

static void test_log_escape(void)
{
    char out[64];

    CU_ASSERT_EQUAL(sp_log_escape(out, sizeof(out), "plain text", 10), 10);
    CU_ASSERT_STRING_EQUAL(out, "plain text");
    sp_log_escape(out, sizeof(out), "a\x1b[2Jb\n\t\x7f", 9);
    CU_ASSERT_STRING_EQUAL(out, "a\\x1b[2Jb\\x0a\\x09\\x7f");
    /* NUL inside the length is escaped, not an end */
    sp_log_escape(out, sizeof(out), "a\0b", 3);
    CU_ASSERT_STRING_EQUAL(out, "a\\x00b");
    /* UTF-8: valid sequences pass; C1 controls, stray continuations, overlongs, surrogates,
     * truncated sequences and bytes beyond U+10FFFF do not */
    sp_log_escape(out, sizeof(out), "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 9);
    CU_ASSERT_STRING_EQUAL(out, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    sp_log_escape(out, sizeof(out), "\xc2\x9b", 2);
    CU_ASSERT_STRING_EQUAL(out, "\\xc2\\x9b");
    sp_log_escape(out, sizeof(out), "\x80\xc0\xaf\xed\xa0\x80", 6);
    CU_ASSERT_STRING_EQUAL(out, "\\x80\\xc0\\xaf\\xed\\xa0\\x80");
    sp_log_escape(out, sizeof(out), "\xe2\x82", 2);
    CU_ASSERT_STRING_EQUAL(out, "\\xe2\\x82");
    sp_log_escape(out, sizeof(out), "\xf4\x90\x80\x80", 4);
    CU_ASSERT_STRING_EQUAL(out, "\\xf4\\x90\\x80\\x80");
    /* never half an escape: "ab" fits, "\x1b" (4 bytes) does not in 6 */
    CU_ASSERT_EQUAL(sp_log_escape(out, 6, "ab\x1b", 3), 2);
    CU_ASSERT_STRING_EQUAL(out, "ab");
    CU_ASSERT_EQUAL(sp_log_escape(out, 7, "ab\x1b", 3), 6);
    CU_ASSERT_STRING_EQUAL(out, "ab\\x1b");
    CU_ASSERT_EQUAL(sp_log_escape(out, 0, "ab", 2), 0);
    /* the documented worst case fits exactly */
    char all[256], big[4 * 256 + 1];
    for (int i = 0; i < 256; i++)
        all[i] = (char)0xff;
    CU_ASSERT_EQUAL(sp_log_escape(big, sizeof(big), all, sizeof(all)), 4 * 256);
}

static void test_log_rl_sequence(void)
{
    struct sp_log_rl rl = SP_LOG_RL_INIT;
    uint64_t n = 99;

    /* the first line goes out; the next ones within the second are counted */
    CU_ASSERT_TRUE(sp_log_rl_pass_mt(&rl, 5000, &n));
    CU_ASSERT_EQUAL(n, 0);
    for (int i = 0; i < 7; i++)
        CU_ASSERT_FALSE(sp_log_rl_pass_mt(&rl, 5000 + (uint64_t)i * 100, &n));
    CU_ASSERT_FALSE(sp_log_rl_pass_mt(&rl, 5999, &n));
    /* a second later: out again, with the count, which restarts */
    n = 0;
    CU_ASSERT_TRUE(sp_log_rl_pass_mt(&rl, 6000, &n));
    CU_ASSERT_EQUAL(n, 8);
    CU_ASSERT_FALSE(sp_log_rl_pass_mt(&rl, 6001, &n));
    CU_ASSERT_TRUE(sp_log_rl_pass_mt(&rl, 60000, &n));
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_TRUE(sp_log_rl_pass_mt(&rl, 61000, &n));
    CU_ASSERT_EQUAL(n, 0);
    /* causes are independent */
    struct sp_log_rl other = SP_LOG_RL_INIT;
    CU_ASSERT_TRUE(sp_log_rl_pass_mt(&other, 61000, &n));
}

#define RL_THREADS 8
#define RL_CALLS   20000

struct rl_race {
    struct sp_log_rl *rl;
    uint64_t now;
    int passed;
    uint64_t reported;
};

static void *rl_racer(void *arg)
{
    struct rl_race *r = arg;
    uint64_t n;

    for (int i = 0; i < RL_CALLS; i++) {
        if (sp_log_rl_pass_mt(r->rl, r->now, &n)) {
            r->passed++;
            r->reported += n;
        }
    }
    return NULL;
}

/* Workers racing on one cause: one line per interval in all, and every dropped line counted
 * once by the line that follows. */
static void test_log_rl_race(void)
{
    struct sp_log_rl rl = SP_LOG_RL_INIT;
    struct rl_race r[RL_THREADS];
    pthread_t th[RL_THREADS];
    int passed = 0;
    uint64_t reported = 0, n = 0;

    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < RL_THREADS; i++) {
            r[i] = (struct rl_race){.rl = &rl, .now = 10000 + (uint64_t)round * 1000};
            CU_ASSERT_EQUAL_FATAL(pthread_create(&th[i], NULL, rl_racer, &r[i]), 0);
        }
        for (int i = 0; i < RL_THREADS; i++) {
            pthread_join(th[i], NULL);
            passed += r[i].passed;
            reported += r[i].reported;
        }
        CU_ASSERT_EQUAL(passed, round + 1);
    }
    CU_ASSERT_TRUE(sp_log_rl_pass_mt(&rl, 20000, &n));
    reported += n;
    CU_ASSERT_EQUAL(reported, (uint64_t)3 * RL_THREADS * RL_CALLS - 3);
}

/* Runs fn with stderr sent to a temporary file; returns what it wrote (caller frees). */
static char *capture_stderr(void (*fn)(void *), void *arg)
{
    char path[] = "/tmp/spillway-test-XXXXXX";
    int fd = mkstemp(path), saved;
    char *buf = calloc(1, 65536);
    ssize_t n;

    CU_ASSERT_FATAL(fd >= 0 && buf);
    unlink(path);
    fflush(stderr);
    saved = dup(2);
    dup2(fd, 2);
    fn(arg);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    n = pread(fd, buf, 65535, 0);
    close(fd);
    CU_ASSERT(n >= 0);
    return buf;
}

static void rl_lines(void *arg)
{
    struct sp_log_rl *rl = arg;

    for (int i = 0; i < 5; i++)
        sp_log_rl_mt(rl, SP_LOG_WARNING, "worker %d: accept on %s: %s", 0, "\x1b:80", "boom");
    rl->next_ms = 1; /* as if the second had passed */
    sp_log_rl_mt(rl, SP_LOG_WARNING, "worker %d: accept again", 1);
    rl->next_ms = 1;
    sp_log_rl_mt(rl, SP_LOG_WARNING, "after a quiet second");
    sp_log_rl_mt(rl, SP_LOG_DEBUG, "not enabled: not counted");
    rl->next_ms = 1;
    sp_log_rl_mt(rl, SP_LOG_WARNING, "one more");
}

static void test_log_rl_lines(void)
{
    struct sp_log_rl rl = SP_LOG_RL_INIT;
    char *out = capture_stderr(rl_lines, &rl);

    CU_ASSERT_STRING_EQUAL(out, "[WARNING] worker 0: accept on \\x1b:80: boom\n"
                                "[WARNING] worker 1: accept again (4 similar messages "
                                "suppressed)\n"
                                "[WARNING] after a quiet second\n"
                                "[WARNING] one more\n");
    free(out);
}

void test_config_register(void)
{
    CU_pSuite s = sp_unit_suite("config");

    sp_unit_test(s, "time units", test_time_units);
    sp_unit_test(s, "size units", test_size_units);
    sp_unit_test(s, "address forms", test_addr_forms);
    sp_unit_test(s, "global defaults", test_global_defaults);
    sp_unit_test(s, "global keywords", test_global_keywords);
    sp_unit_test(s, "cpu-map", test_cpu_map);
    sp_unit_test(s, "proxy defaults", test_proxy_defaults);
    sp_unit_test(s, "proxy keywords", test_proxy_keywords);
    sp_unit_test(s, "bind lines", test_binds);
    sp_unit_test(s, "option forwardfor", test_forwardfor);
    sp_unit_test(s, "keep-alive / httpclose last wins", test_keepalive_last_wins);
    sp_unit_test(s, "log lines", test_log_lines);
    sp_unit_test(s, "server lines", test_servers);
    sp_unit_test(s, "defaults inheritance", test_defaults_inheritance);
    sp_unit_test(s, "named defaults and from", test_defaults_named_from);
    sp_unit_test(s, "tokenizer", test_tokenizer);
    sp_unit_test(s, "tokenizer errors", test_tokenizer_errors);
    sp_unit_test(s, "CRLF and no final newline", test_crlf_and_no_newline);
    sp_unit_test(s, "unsupported keywords", test_unsupported_keywords);
    sp_unit_test(s, "tcp-request and tcplog", test_tcp_request);
    sp_unit_test(s, "unknown and misplaced keywords", test_unknown_and_misplaced);
    sp_unit_test(s, "error paths", test_error_paths);
    sp_unit_test(s, "all errors reported", test_all_errors_reported);
    sp_unit_test(s, "seed config", test_seed_config);
    sp_unit_test(s, "acl and use_backend lines", test_rule_lines);
    sp_unit_test(s, "stats, log-format and prometheus keywords", test_stats_keywords);
    sp_unit_test(s, "duplicate names", test_duplicate_names);
    sp_unit_test(s, "default_backend checks", test_default_backend_checks);
    sp_unit_test(s, "frontend without bind", test_frontend_without_bind);
    sp_unit_test(s, "warnings", test_warnings);
    sp_unit_test(s, "ids", test_ids);
    sp_unit_test(s, "find_proxy", test_find_proxy);
    sp_unit_test(s, "bad input", test_bad_input);
    sp_unit_test(s, "random garbage", test_garbage);
    sp_unit_test(s, "timeout errors without missing-timeout warnings", test_timeout_error_only);
    sp_unit_test(s, "diagnostics escape what they quote", test_escaped_diagnostics);
    sp_unit_test(s, "listener count", test_count_listeners);
    sp_unit_test(s, "global maxconn line", test_global_maxconn_where);

    CU_pSuite l = sp_unit_suite("log");
    sp_unit_test(l, "escape", test_log_escape);
    sp_unit_test(l, "rate limit sequence", test_log_rl_sequence);
    sp_unit_test(l, "rate limit under a race", test_log_rl_race);
    sp_unit_test(l, "rate-limited lines", test_log_rl_lines);
}
