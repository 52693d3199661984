/* tests/http/test_httplog.c - the access-log line of http/httplog.c, byte for byte. */
#include "http/httplog.h"
#include "balance/sample.h"

#include "tests/unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <time.h>

/* 29/Nov/2026:23:56:26 UTC */
#define T0 ((int64_t)1795996586 * 1000000)

static struct sockaddr_storage cli4, cli6, cliunix, fe4, srv4, bsrc4;
static struct sp_log_ctx ctx;

static void set_tz(const char *tz)
{
    setenv("TZ", tz, 1);
    tzset();
    sp_log_ctx_init(&ctx, 4242, "lb1"); /* the cache holds local dates: empty it */
}

static void mk4(struct sockaddr_storage *ss, const char *ip, int port)
{
    struct sockaddr_in *sin = (struct sockaddr_in *)ss;
    memset(ss, 0, sizeof(*ss));
    sin->sin_family = AF_INET;
    sin->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &sin->sin_addr);
}

static void mk6(struct sockaddr_storage *ss, const char *ip, int port)
{
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof(*ss));
    sin6->sin6_family = AF_INET6;
    sin6->sin6_port = htons((uint16_t)port);
    inet_pton(AF_INET6, ip, &sin6->sin6_addr);
}

/* the request of the reference line: a normal HTTP/1.1 GET served by ade/ade1 */
static void base_rec(struct sp_log_rec *r)
{
    mk4(&cli4, "127.0.0.1", 51234);
    mk6(&cli6, "2001:db8::1", 40000);
    memset(&cliunix, 0, sizeof(cliunix));
    cliunix.ss_family = AF_UNIX;
    mk4(&fe4, "10.0.0.1", 80);
    mk4(&srv4, "192.168.1.10", 8080);
    mk4(&bsrc4, "192.168.1.1", 33000);

    sp_log_rec_init(r);
    r->ctx = &ctx;
    r->cli = &cli4;
    r->fe = &fe4;
    r->srv = &srv4;
    r->bsrc = &bsrc4;
    r->listener_id = 3;
    r->frontend = "webserver";
    r->backend = "ade";
    r->server = "ade1";
    r->accept_us = T0 + 118000; /* .118 */
    r->request_us = T0 + 123456;
    r->t_handshake = 0;
    r->t_idle = 5;
    r->t_request = 0;
    r->t_queue = 0;
    r->t_connect = 1;
    r->t_response = 2;
    r->t_active = 3;
    r->t_total = 9;
    r->status = 200;
    r->bytes_out = 130;
    r->bytes_in = 77;
    r->actconn = 3;
    r->feconn = 3;
    r->method = "GET";
    r->method_len = 3;
    r->target = "/";
    r->target_len = 1;
    r->version = "HTTP/1.1";
    r->req_counter = 17;
    r->log_counter = 9;
}

static char line[4096];

static const char *render(const struct sp_logfmt *f, const struct sp_log_rec *r)
{
    size_t n = sp_logfmt_render(f, r, line, sizeof(line));
    CU_ASSERT_EQUAL(n, strlen(line));
    return line;
}

static struct sp_logfmt *compile_ok(const char *fmt)
{
    char err[256];
    struct sp_logfmt *f = sp_logfmt_compile(fmt, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL(f);
    if (!f)
        fprintf(stderr, "compile '%s': %s\n", fmt, err);
    return f;
}

#define CHECK_LINE(f, r, want)                                                                     \
    do {                                                                                           \
        const char *got_ = render((f), (r));                                                       \
        CU_ASSERT_STRING_EQUAL(got_, (want));                                                      \
        if (strcmp(got_, (want)) != 0)                                                             \
            fprintf(stderr, "\n got: [%s]\nwant: [%s]\n", got_, (want));                           \
    } while (0)

static void test_default_reference(void)
{
    struct sp_log_rec r;
    struct sp_logfmt *f = sp_logfmt_default(false);

    set_tz("UTC");
    base_rec(&r);
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.123] webserver ade/ade1 0/0/1/2/3 200 130 "
               "- - ---- 3/3/0/0/0 0/0 \"GET / HTTP/1.1\"");
    sp_logfmt_free(f);
}

/* option tcplog: HAProxy 2.6's default_tcp_log_format, with the accept date (%t) */
static void test_tcplog(void)
{
    struct sp_log_rec r;
    struct sp_logfmt *f = sp_logfmt_tcp();

    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_STRING_EQUAL(sp_logfmt_tcplog, "%ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts "
                                             "%ac/%fc/%bc/%sc/%rc %sq/%bq");
    set_tz("UTC");
    base_rec(&r);
    r.bytes_out = 1048576;
    r.t_total = 5003;
    r.term[0] = r.term[1] = 0;
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.118] webserver ade/ade1 0/1/5003 1048576 -- "
               "3/3/0/0/0 0/0");
    /* a server that refused twice: the retries, SC, no connect time */
    r.t_connect = -1;
    r.bytes_out = 0;
    r.retries = 2;
    r.term[0] = 'S';
    r.term[1] = 'C';
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.118] webserver ade/ade1 0/-1/5003 0 SC "
               "3/3/0/0/2 0/0");
    /* refused by tcp-request content: no backend, no server */
    r.backend = NULL;
    r.server = NULL;
    r.t_queue = -1;
    r.retries = 0;
    r.term[0] = 'P';
    r.term[1] = 'R';
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.118] webserver webserver/<NOSRV> -1/-1/5003 "
               "0 PR 3/3/0/0/0 0/0");
    sp_logfmt_free(f);
}

/* a request refused before any backend was chosen: the frontend's name, <NOSRV>, -1 timers,
 * <BADREQ> */
static void test_default_badreq(void)
{
    struct sp_log_rec r;
    struct sp_logfmt *f = sp_logfmt_default(false);

    set_tz("UTC");
    base_rec(&r);
    r.backend = NULL;
    r.server = NULL;
    r.t_request = -1;
    r.t_queue = -1;
    r.t_connect = -1;
    r.t_response = -1;
    r.t_active = 0;
    r.status = 400;
    r.bytes_out = 187;
    r.term[0] = 'P';
    r.term[1] = 'R';
    r.actconn = 1;
    r.feconn = 1;
    r.method = NULL;
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.123] webserver webserver/<NOSRV> "
               "-1/-1/-1/-1/0 400 187 - - PR-- 1/1/0/0/0 0/0 \"<BADREQ>\"");

    /* no response at all: status -1 */
    r.status = -1;
    r.bytes_out = 0;
    r.term[0] = 'C';
    r.term[1] = 'R';
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.123] webserver webserver/<NOSRV> "
               "-1/-1/-1/-1/0 -1 0 - - CR-- 1/1/0/0/0 0/0 \"<BADREQ>\"");
    sp_logfmt_free(f);
}

/* every counter, the redispatch '+', termination and cookie flags, cookies, queues */
static void test_default_counters(void)
{
    struct sp_log_rec r;
    struct sp_logfmt *f = sp_logfmt_default(false);

    set_tz("UTC");
    base_rec(&r);
    r.server = "ade2";
    r.t_queue = 12;
    r.t_connect = 3004;
    r.t_response = -1;
    r.t_active = 45010;
    r.status = 504;
    r.bytes_out = 5000000000ULL;
    r.cli_cookie = "ade1";
    r.srv_cookie = "ade2";
    memcpy(r.term, "sHVI", 4);
    r.actconn = 1200;
    r.feconn = 800;
    r.beconn = 40;
    r.srvconn = 12;
    r.retries = 3;
    r.redispatched = true;
    r.srv_queue = 2;
    r.be_queue = 7;
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.123] webserver ade/ade2 0/12/3004/-1/45010 "
               "504 5000000000 ade1 ade2 sHVI 1200/800/40/12/+3 2/7 \"GET / HTTP/1.1\"");

    r.redispatched = false;
    r.retries = 0;
    memset(r.term, 0, sizeof(r.term));
    r.term[0] = 'c';
    r.term[1] = 'D';
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.123] webserver ade/ade2 0/12/3004/-1/45010 "
               "504 5000000000 ade1 ade2 cD-- 1200/800/40/12/0 2/7 \"GET / HTTP/1.1\"");
    sp_logfmt_free(f);
}

static void test_default_h2_and_escaping(void)
{
    struct sp_log_rec r;
    struct sp_logfmt *f = sp_logfmt_default(false);

    set_tz("UTC");
    base_rec(&r);
    r.method = "POST";
    r.method_len = 4;
    r.target = "/api/v1?x=1";
    r.target_len = strlen(r.target);
    r.scheme = "https";
    r.authority = "example.com:8443";
    r.authority_len = strlen(r.authority);
    r.version = "HTTP/2.0";
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.123] webserver ade/ade1 0/0/1/2/3 200 130 "
               "- - ---- 3/3/0/0/0 0/0 \"POST https://example.com:8443/api/v1?x=1 HTTP/2.0\"");

    /* HTTP/2 without :authority: origin form */
    r.authority = NULL;
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.123] webserver ade/ade1 0/0/1/2/3 200 130 "
               "- - ---- 3/3/0/0/0 0/0 \"POST /api/v1?x=1 HTTP/2.0\"");

    /* a quote, a control byte, '#', a DEL and a UTF-8 byte pair; HTTP/1.0 */
    r.method = "GET";
    r.method_len = 3;
    r.target = "/a\"b\x01"
               "c#d\x7f\xc3\xa9{|}";
    r.target_len = strlen(r.target);
    r.version = "HTTP/1.0";
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.123] webserver ade/ade1 0/0/1/2/3 200 130 "
               "- - ---- 3/3/0/0/0 0/0 \"GET /a#22b#01c#23d#7F#C3#A9{|} HTTP/1.0\"");

    /* the target may hold a NUL: lengths, not strings */
    r.target = "/x\0y";
    r.target_len = 4;
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.123] webserver ade/ade1 0/0/1/2/3 200 130 "
               "- - ---- 3/3/0/0/0 0/0 \"GET /x#00y HTTP/1.0\"");
    sp_logfmt_free(f);
}

static void test_default_addresses(void)
{
    struct sp_log_rec r;
    struct sp_logfmt *f = sp_logfmt_default(false);

    set_tz("UTC");
    base_rec(&r);
    r.cli = &cli6;
    r.fe_ssl = true;
    CHECK_LINE(f, &r,
               "2001:db8::1:40000 [29/Nov/2026:23:56:26.123] webserver~ ade/ade1 0/0/1/2/3 200 "
               "130 - - ---- 3/3/0/0/0 0/0 \"GET / HTTP/1.1\"");
    r.cli = &cliunix;
    r.fe_ssl = false;
    CHECK_LINE(f, &r,
               "unix:3 [29/Nov/2026:23:56:26.123] webserver ade/ade1 0/0/1/2/3 200 "
               "130 - - ---- 3/3/0/0/0 0/0 \"GET / HTTP/1.1\"");
    r.cli = NULL;
    CHECK_LINE(f, &r,
               "-:- [29/Nov/2026:23:56:26.123] webserver ade/ade1 0/0/1/2/3 200 "
               "130 - - ---- 3/3/0/0/0 0/0 \"GET / HTTP/1.1\"");
    sp_logfmt_free(f);
}

/* %hr and %hs appear only with captures, one space apart */
static void test_default_captures(void)
{
    static const char *const req[] = {"www.example.com", NULL, "a|b{c}\"#"};
    static const char *const res[] = {"text/html"};
    struct sp_log_rec r;
    struct sp_logfmt *f = sp_logfmt_default(false);

    set_tz("UTC");
    base_rec(&r);
    r.req_caps = req;
    r.n_req_caps = 3;
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.123] webserver ade/ade1 0/0/1/2/3 200 130 "
               "- - ---- 3/3/0/0/0 0/0 {www.example.com||a#7Cb#7Bc#7D#22#23} \"GET / HTTP/1.1\"");
    r.res_caps = res;
    r.n_res_caps = 1;
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.123] webserver ade/ade1 0/0/1/2/3 200 130 "
               "- - ---- 3/3/0/0/0 0/0 {www.example.com||a#7Cb#7Bc#7D#22#23} {text/html} "
               "\"GET / HTTP/1.1\"");
    r.n_req_caps = 0;
    CHECK_LINE(f, &r,
               "127.0.0.1:51234 [29/Nov/2026:23:56:26.123] webserver ade/ade1 0/0/1/2/3 200 130 "
               "- - ---- 3/3/0/0/0 0/0 {text/html} \"GET / HTTP/1.1\"");
    sp_logfmt_free(f);
}

static void test_clf(void)
{
    static const char *const req[] = {"www.example.com", NULL};
    struct sp_log_rec r;
    struct sp_logfmt *f = sp_logfmt_default(true);

    set_tz("EST5"); /* %trg is GMT whatever the local zone */
    base_rec(&r);
    /* without captures HAProxy leaves the separator before %hrl: a trailing space */
    CHECK_LINE(f, &r,
               "127.0.0.1 - - [29/Nov/2026:23:56:26 +0000] \"GET / HTTP/1.1\" 200 130 \"\" \"\" "
               "51234 118 \"webserver\" \"ade\" \"ade1\" 0 0 1 2 3 ---- 3 3 0 0 0 0 0 \"\" \"\" ");

    r.backend = NULL;
    r.server = NULL;
    r.cli_cookie = "c1";
    r.req_caps = req;
    r.n_req_caps = 2;
    r.retries = 1;
    r.redispatched = true;
    r.t_response = -1;
    CHECK_LINE(f, &r,
               "127.0.0.1 - - [29/Nov/2026:23:56:26 +0000] \"GET / HTTP/1.1\" 200 130 \"\" \"\" "
               "51234 118 \"webserver\" \"webserver\" \"<NOSRV>\" 0 0 1 -1 3 ---- 3 3 0 0 +1 0 0 "
               "\"c1\" \"\" \"www.example.com\" \"\" ");
    sp_logfmt_free(f);
}

static void test_custom_format(void)
{
    struct sp_log_rec r;
    struct sp_logfmt *f;

    set_tz("UTC");
    base_rec(&r);
    r.target = "/p/a?q=1&r";
    r.target_len = strlen(r.target);
    r.unique_id = "ID-1";
    memcpy(r.term, "SC", 2);
    f = compile_ok("%HM|%HU|%HP|%HPO|%HQ|%HV %{+Q}HM %ST %{+Q}b %{+Q}s %{+Q}ft %{+Q}ci:%cp "
                   "%fi:%fp %si:%sp %bi:%bp 100%% %ID %pid %H %rt %lc %ts %tsc");
    CHECK_LINE(f, &r,
               "GET|/p/a?q=1&r|/p/a|/p/a|?q=1&r|HTTP/1.1 \"GET\" 200 \"ade\" \"ade1\" "
               "\"webserver\" \"127.0.0.1\":51234 10.0.0.1:80 192.168.1.10:8080 "
               "192.168.1.1:33000 100% ID-1 4242 lb1 17 9 SC SC--");
    sp_logfmt_free(f);

    /* +X (HAProxy 2.6's LOG_OPT_HEXA): addresses and ports as their network-order bytes,
     * %Ts %pid %rt %lc as "%04X"; other variables untouched; %{-X} takes it back for one
     * variable only (the next one has the %{+X}o default again, as in HAProxy) */
    f = compile_ok("%{+X}o %ci:%cp_%fi:%fp_%Ts_%rt:%pid %lc %ST %b %{-X}ci:%cp %{+X}ci");
    char want[160];
    snprintf(want, sizeof(want),
             "7F000001:C822_0A000001:0050_%04llX_0011:1092 0009 200 ade "
             "127.0.0.1:C822 7F000001",
             (unsigned long long)(r.accept_us / 1000000));
    CHECK_LINE(f, &r, want);
    sp_logfmt_free(f);
    r.cli = &cli6;
    f = compile_ok("%{+X}ci:%{+X}cp");
    CHECK_LINE(f, &r, "20010DB8000000000000000000000001:9C40");
    sp_logfmt_free(f);
    r.cli = &cli4;

    /* timers and the derived ones: Tq = Th+Ti+TR, Tu = Tt-Ti, Td = Tt-(Tq+Tw+Tc+Tr) */
    f = compile_ok("%Th %Ti %TR %Tq %Tw %Tc %Tr %Ta %Tt %Tu %Td %B %U");
    CHECK_LINE(f, &r, "0 5 0 5 0 1 2 3 9 4 1 130 77");
    r.t_response = -1;
    CHECK_LINE(f, &r, "0 5 0 5 0 1 -1 3 9 4 -1 130 77");
    sp_logfmt_free(f);

    /* dates: accept (%t %T %Tl %Ts %ms) and request (%tr %trg %trl), local zone EST */
    set_tz("EST5");
    f = compile_ok("[%t] [%T] [%Tl] %Ts %ms [%tr] [%trg] [%trl]");
    CHECK_LINE(f, &r,
               "[29/Nov/2026:18:56:26.118] [29/Nov/2026:23:56:26 +0000] "
               "[29/Nov/2026:18:56:26 -0500] 1795996586 118 [29/Nov/2026:18:56:26.123] "
               "[29/Nov/2026:23:56:26 +0000] [29/Nov/2026:18:56:26 -0500]");
    /* the cache follows the second */
    r.accept_us += 3600 * 1000000LL + 5000;
    r.request_us += 3600 * 1000000LL + 5000;
    CHECK_LINE(f, &r,
               "[29/Nov/2026:19:56:26.123] [30/Nov/2026:00:56:26 +0000] "
               "[29/Nov/2026:19:56:26 -0500] 1796000186 123 [29/Nov/2026:19:56:26.128] "
               "[30/Nov/2026:00:56:26 +0000] [29/Nov/2026:19:56:26 -0500]");
    /* without a context: same output, no cache */
    r.ctx = NULL;
    CHECK_LINE(f, &r,
               "[29/Nov/2026:19:56:26.123] [30/Nov/2026:00:56:26 +0000] "
               "[29/Nov/2026:19:56:26 -0500] 1796000186 123 [29/Nov/2026:19:56:26.128] "
               "[30/Nov/2026:00:56:26 +0000] [29/Nov/2026:19:56:26 -0500]");
    sp_logfmt_free(f);
    set_tz("UTC");
}

static void test_h2_request_parts(void)
{
    struct sp_log_rec r;
    struct sp_logfmt *f = compile_ok("%HM %HU %HP %HPO %HQ %HV");

    base_rec(&r);
    r.target = "/s/t?u=v";
    r.target_len = strlen(r.target);
    r.scheme = "https";
    r.authority = "h.example";
    r.authority_len = strlen(r.authority);
    r.version = "HTTP/2.0";
    CHECK_LINE(f, &r, "GET https://h.example/s/t?u=v https://h.example/s/t /s/t ?u=v HTTP/2.0");
    r.method = NULL;
    CHECK_LINE(f, &r, "<BADREQ> <BADREQ> <BADREQ> <BADREQ> <BADREQ> <BADREQ>");
    sp_logfmt_free(f);

    /* no version in the line: %HV says HTTP/0.9, %r shows what there is */
    f = compile_ok("%HV %{+Q}r");
    base_rec(&r);
    r.version = NULL;
    CHECK_LINE(f, &r, "HTTP/0.9 \"GET /\"");
    sp_logfmt_free(f);
}

/* spaces are separators: runs fold, none at the start, an empty variable leaves one */
static void test_separators(void)
{
    struct sp_log_rec r;
    struct sp_logfmt *f;

    base_rec(&r);
    f = compile_ok("   %ST    %B   x  y");
    CHECK_LINE(f, &r, "200 130 x y");
    sp_logfmt_free(f);
    f = compile_ok("%hr %hs %ST %hr %hs %B %hrl");
    CHECK_LINE(f, &r, "200 130 ");
    sp_logfmt_free(f);
    f = compile_ok("%ST%B:%%%{+Q}CC%CS");
    CHECK_LINE(f, &r, "200130:%\"\"-");
    sp_logfmt_free(f);
    /* %o applies to what follows; %{-Q} takes it back */
    f = compile_ok("%b %{+Q}o %b %{-Q}s %ft");
    CHECK_LINE(f, &r, "ade \"ade\" ade1 \"webserver\"");
    sp_logfmt_free(f);
    f = compile_ok("");
    CHECK_LINE(f, &r, "");
    sp_logfmt_free(f);
}

static void expect_error(const char *fmt, const char *needle)
{
    char err[256] = "unset";
    struct sp_logfmt *f = sp_logfmt_compile(fmt, err, sizeof(err));
    CU_ASSERT_PTR_NULL(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
    if (!strstr(err, needle))
        fprintf(stderr, "\nformat '%s': error '%s' lacks '%s'\n", fmt, err, needle);
    sp_logfmt_free(f);
}

static void test_compile_errors(void)
{
    expect_error("%ci %foo %ST", "'%foo'");
    expect_error("%ST0", "'%ST0'");
    expect_error("%[nosuch]", "sample expression '%[nosuch]': unknown fetch method 'nosuch'");
    expect_error("%{+Q}[req.hdr(host),nosuch]", "unknown converter 'nosuch'");
    expect_error("%[src", "missing ']'");
    expect_error("%ci %", "truncated");
    expect_error("%{+Q", "missing '}'");
    expect_error("%{+E}ci", "'+E' not supported");
    expect_error("%{Q}ci", "must start with '+' or '-'");
    expect_error("100% sure", "unexpected character ' '");
    expect_error("%{+Q} %r", "unexpected character");
    /* a NULL err buffer is allowed */
    CU_ASSERT_PTR_NULL(sp_logfmt_compile("%nope", NULL, 0));
}

/* %[sample]: evaluated against r->env; "-" (or "" quoted) without one, or when it fails */
static void test_samples(void)
{
    struct sp_logfmt *f =
        compile_ok("%[str(a),upper] %{+Q}[var(txn.x)] %[src] %[hdr(host)] %{+Q}[str(\"\")] "
                   "%[str('a,b')]x%[status]");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    struct sp_log_rec r;
    sp_log_rec_init(&r);
    CU_ASSERT_STRING_EQUAL(render(f, &r), "- \"\" - - \"\" -x-");

    struct sp_vars txn;
    sp_vars_init(&txn);
    struct sockaddr_in sin = {.sin_family = AF_INET};
    inet_pton(AF_INET, "10.0.0.1", &sin.sin_addr);
    struct sockaddr_storage ss;
    memcpy(&ss, &sin, sizeof(sin));
    struct sp_acl_env env = {.src = &ss, .txn_vars = &txn, .status = 204};
    struct sp_var_ref ref;
    char err[128];
    CU_ASSERT_FATAL(sp_var_ref_parse("txn.x", 5, &ref, err, sizeof(err)) == 0);
    struct sp_smp v = {.type = SP_SMP_STR, .u.str = {"val ue", 6}};
    CU_ASSERT(sp_var_set(&env, &ref, &v) == 0);
    r.env = &env;
    CU_ASSERT_STRING_EQUAL(render(f, &r), "A \"val ue\" 10.0.0.1 - \"\" a,bx204");
    sp_vars_clear(&txn);
    sp_logfmt_free(f);
}

static void test_truncation(void)
{
    struct sp_log_rec r;
    struct sp_logfmt *f = sp_logfmt_default(false);
    char full[512], small[512];
    size_t n;

    set_tz("UTC");
    base_rec(&r);
    n = sp_logfmt_render(f, &r, full, sizeof(full));
    CU_ASSERT_EQUAL(n, strlen(full));
    for (size_t len = 1; len <= n + 1; len++) {
        char *heap = malloc(len); /* exact size: ASan catches any overflow */
        size_t m = sp_logfmt_render(f, &r, heap, len);
        CU_ASSERT_EQUAL(m, len - 1 < n ? len - 1 : n);
        CU_ASSERT_EQUAL(heap[m], '\0');
        CU_ASSERT_EQUAL(memcmp(heap, full, m), 0);
        free(heap);
    }
    CU_ASSERT_EQUAL(sp_logfmt_render(f, &r, small, 0), 0);

    /* the request line is capped at 1023 bytes before escaping, as HAProxy's logurilen */
    static char longuri[3000];
    memset(longuri, 'a', sizeof(longuri));
    longuri[0] = '/';
    r.target = longuri;
    r.target_len = sizeof(longuri);
    struct sp_logfmt *fr = compile_ok("%r");
    static char big[8192];
    n = sp_logfmt_render(fr, &r, big, sizeof(big));
    CU_ASSERT_EQUAL(n, SP_LOG_REQLINE_MAX);
    CU_ASSERT_EQUAL(memcmp(big, "GET /aaa", 8), 0);
    sp_logfmt_free(fr);
    sp_logfmt_free(f);
}

void test_httplog_register(void)
{
    CU_pSuite s = sp_unit_suite("httplog");
    sp_unit_test(s, "default format: the reference line", test_default_reference);
    sp_unit_test(s, "default format: bad request, <NOSRV>, -1 timers", test_default_badreq);
    sp_unit_test(s, "default format: counters, flags, redispatch", test_default_counters);
    sp_unit_test(s, "default format: HTTP/2 absolute URI, escaping", test_default_h2_and_escaping);
    sp_unit_test(s, "default format: IPv6, UNIX, TLS frontend", test_default_addresses);
    sp_unit_test(s, "default format: captures", test_default_captures);
    sp_unit_test(s, "clf format", test_clf);
    sp_unit_test(s, "option tcplog", test_tcplog);
    sp_unit_test(s, "custom format: every variable", test_custom_format);
    sp_unit_test(s, "request line parts", test_h2_request_parts);
    sp_unit_test(s, "separators and %o", test_separators);
    sp_unit_test(s, "compile errors", test_compile_errors);
    sp_unit_test(s, "truncation", test_truncation);
    sp_unit_test(s, "%[sample] nodes", test_samples);
}
