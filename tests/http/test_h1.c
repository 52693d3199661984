/* tests/http/test_h1.c - HTTP/1.x head parser and chunked decoder (http/h1.c).
 *
 * Every head is parsed three ways and the answers must agree: in one piece from an
 * exact-size heap copy (so that ASan sees any read past `len`), in one piece without a scan
 * struct, and byte by byte over a growing length with one scan struct, which must report
 * nothing until the head is complete (or the error is known) and then the same result.
 * Chunked bodies are decoded whole, split at every position and byte by byte. */
#include "http/h1.h"
#include "tests/unit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_LINE 8192
#define MAX_HEAD 65536

enum { REQ, RESP };

static long parse(int kind, const char *b, size_t n, size_t max_line, size_t max_head,
                  enum sp_h1_meth rm, struct sp_h1_scan *sc, struct sp_h1_msg *m)
{
    if (kind == REQ)
        return sp_h1_parse_request(b, n, max_line, max_head, sc, m);
    return sp_h1_parse_response(b, n, max_head, rm, sc, m);
}

static bool msg_eq(const struct sp_h1_msg *a, const struct sp_h1_msg *b)
{
    if (a->method_off != b->method_off || a->method_len != b->method_len ||
        a->uri_off != b->uri_off || a->uri_len != b->uri_len || a->meth != b->meth ||
        a->status != b->status || a->reason_off != b->reason_off ||
        a->reason_len != b->reason_len || a->version != b->version || a->flags != b->flags ||
        a->body != b->body || a->content_length != b->content_length ||
        a->host_idx != b->host_idx || a->authority_off != b->authority_off ||
        a->authority_len != b->authority_len || a->nhdrs != b->nhdrs)
        return false;
    for (uint32_t i = 0; i < a->nhdrs; i++) {
        const struct sp_h1_hdr *x = &a->hdrs[i], *y = &b->hdrs[i];
        if (x->name_off != y->name_off || x->name_len != y->name_len || x->val_off != y->val_off ||
            x->val_len != y->val_len || x->flags != y->flags)
            return false;
    }
    return true;
}

static void show(const char *what, int line, const char *raw, size_t n, long got, long want)
{
    fprintf(stderr, "\n  %s:%d: %s: got %ld, want %ld for \"", __FILE__, line, what, got, want);
    for (size_t i = 0; i < n && i < 120; i++) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '\r')
            fputs("\\r", stderr);
        else if (c == '\n')
            fputs("\\n", stderr);
        else if (c < 0x20 || c >= 0x7f)
            fprintf(stderr, "\\x%02x", c);
        else
            fputc(c, stderr);
    }
    fputs(n > 120 ? "...\"\n" : "\"\n", stderr);
}

#define CHECK_AT(cond, line)                                                                       \
    CU_assertImplementation((cond), (unsigned)(line), #cond, __FILE__, "", CU_FALSE)

/* Parses raw[0..n) the three ways; returns the one-piece result, stores the message in *out
 * and the length at which the byte-by-byte run first answered in *at. */
static long run(int line, int kind, const char *raw, size_t n, size_t max_line, size_t max_head,
                enum sp_h1_meth rm, struct sp_h1_msg *out, size_t *at)
{
    char *b = malloc(n ? n : 1);
    struct sp_h1_msg *m2 = calloc(1, sizeof(*m2)), *m3 = calloc(1, sizeof(*m3));
    struct sp_h1_scan sc;

    CU_ASSERT_FATAL(b && m2 && m3);
    memcpy(b, raw, n);
    memset(out, 0, sizeof(*out));

    sp_h1_scan_init(&sc);
    long r1 = parse(kind, b, n, max_line, max_head, rm, &sc, out);
    long r2 = parse(kind, b, n, max_line, max_head, rm, NULL, m2);
    CHECK_AT(r1 == r2, line);
    if (r1 != r2)
        show("scan vs no scan", line, raw, n, r2, r1);

    sp_h1_scan_init(&sc);
    long r3 = 0;
    size_t k = 0;
    for (; k <= n; k++) {
        r3 = parse(kind, b, k, max_line, max_head, rm, &sc, m3);
        if (r3 != 0)
            break;
    }
    CHECK_AT(r3 == r1, line);
    if (r3 != r1)
        show("byte by byte", line, raw, n, r3, r1);
    if (r1 > 0) {
        /* success shows exactly when the blank line is in, never earlier or later */
        CHECK_AT(k == (size_t)r1, line);
        CHECK_AT(msg_eq(out, m2), line);
        CHECK_AT(msg_eq(out, m3), line);
    }
    if (at)
        *at = k;
    free(b);
    free(m2);
    free(m3);
    return r1;
}

static long expect_lim(int line, int kind, const char *raw, size_t n, size_t max_line,
                       size_t max_head, enum sp_h1_meth rm, long want, struct sp_h1_msg *m)
{
    long r = run(line, kind, raw, n, max_line, max_head, rm, m, NULL);
    CHECK_AT(r == want, line);
    if (r != want)
        show("result", line, raw, n, r, want);
    return r;
}

/* string literals only: sizeof keeps embedded NULs */
#define REQ_OK(s, m)                                                                               \
    expect_lim(__LINE__, REQ, s, sizeof(s) - 1, MAX_LINE, MAX_HEAD, 0, (long)sizeof(s) - 1, m)
#define REQ_IS(s, want, m)                                                                         \
    expect_lim(__LINE__, REQ, s, sizeof(s) - 1, MAX_LINE, MAX_HEAD, 0, want, m)
#define RESP_IS(s, rm, want, m)                                                                    \
    expect_lim(__LINE__, RESP, s, sizeof(s) - 1, MAX_LINE, MAX_HEAD, rm, want, m)
#define RESP_OK(s, rm, m) RESP_IS(s, rm, (long)sizeof(s) - 1, m)

struct rcase {
    int line;
    const char *raw;
    size_t len;
    long want;
};
/* clang-format off */
#define RC(s, w) {__LINE__, s, sizeof(s) - 1, w}
/* clang-format on */

static void req_cases(const struct rcase *c, size_t n)
{
    struct sp_h1_msg *m = malloc(sizeof(*m));
    CU_ASSERT_FATAL(m != NULL);
    for (size_t i = 0; i < n; i++)
        expect_lim(c[i].line, REQ, c[i].raw, c[i].len, MAX_LINE, MAX_HEAD, 0, c[i].want, m);
    free(m);
}

static void resp_cases(const struct rcase *c, size_t n, enum sp_h1_meth rm)
{
    struct sp_h1_msg *m = malloc(sizeof(*m));
    CU_ASSERT_FATAL(m != NULL);
    for (size_t i = 0; i < n; i++)
        expect_lim(c[i].line, RESP, c[i].raw, c[i].len, MAX_LINE, MAX_HEAD, rm, c[i].want, m);
    free(m);
}

#define NCASES(a) (sizeof(a) / sizeof((a)[0]))

static bool span_is(const char *raw, uint32_t off, size_t len, const char *want)
{
    return len == strlen(want) && memcmp(raw + off, want, len) == 0;
}

static bool is_ows(unsigned char c)
{
    return c == ' ' || c == '\t';
}

static bool hdr_is(const char *raw, const struct sp_h1_hdr *h, const char *name, const char *val)
{
    return span_is(raw, h->name_off, h->name_len, name) &&
           span_is(raw, h->val_off, h->val_len, val);
}

/* ---- valid requests ---- */

static void test_req_get(void)
{
    static const char r[] = "GET /index.html?q=1 HTTP/1.1\r\n"
                            "Host: example.com\r\n"
                            "User-Agent: \t curl/8.0 \t\r\n"
                            "Accept: */*\r\n"
                            "X-Empty:\r\n"
                            "\r\n";
    struct sp_h1_msg m;
    REQ_OK(r, &m);
    CU_ASSERT(span_is(r, m.method_off, m.method_len, "GET"));
    CU_ASSERT_EQUAL(m.meth, SP_METH_GET);
    CU_ASSERT(span_is(r, m.uri_off, m.uri_len, "/index.html?q=1"));
    CU_ASSERT_EQUAL(m.version, 11);
    CU_ASSERT_EQUAL(m.nhdrs, 4);
    CU_ASSERT_EQUAL(m.host_idx, 0);
    CU_ASSERT(hdr_is(r, &m.hdrs[0], "Host", "example.com"));
    CU_ASSERT(hdr_is(r, &m.hdrs[1], "User-Agent", "curl/8.0"));
    CU_ASSERT(hdr_is(r, &m.hdrs[2], "Accept", "*/*"));
    CU_ASSERT(hdr_is(r, &m.hdrs[3], "X-Empty", ""));
    CU_ASSERT_EQUAL(m.hdrs[0].flags, SP_H1_HF_HOST);
    CU_ASSERT_EQUAL(m.hdrs[1].flags, 0);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_NONE);
    CU_ASSERT_EQUAL(m.flags, 0);
    CU_ASSERT_EQUAL(m.authority_len, 0);

    static const char v[] =
        "GET / HTTP/1.1\r\nHost: a\r\nX-Text: caf\xc3\xa9 and\ttabs  inside\r\n\r\n";
    REQ_OK(v, &m);
    CU_ASSERT(hdr_is(v, &m.hdrs[1], "X-Text", "caf\xc3\xa9 and\ttabs  inside"));
}

static void test_req_body(void)
{
    struct sp_h1_msg m;
    static const char cl[] = "POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\n";
    REQ_OK(cl, &m);
    CU_ASSERT_EQUAL(m.meth, SP_METH_POST);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_CL);
    CU_ASSERT_EQUAL(m.content_length, 5);
    CU_ASSERT_EQUAL(m.hdrs[1].flags, SP_H1_HF_CL);

    REQ_OK("POST / HTTP/1.1\r\nHost: a\r\ncontent-length: 0\r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_CL);
    CU_ASSERT_EQUAL(m.content_length, 0);
    REQ_OK("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  007 \r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.content_length, 7);
    REQ_OK("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 4611686018427387904\r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.content_length, UINT64_C(1) << 62);

    static const char te[] = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
    REQ_OK(te, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_CHUNKED);
    CU_ASSERT_EQUAL(m.hdrs[1].flags, SP_H1_HF_TE | SP_H1_HF_HOP);
    REQ_OK("POST / HTTP/1.1\r\nHost: a\r\ntransfer-encoding:   ChUnKeD  \r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_CHUNKED);

    /* a request without CL/TE has no body, never a close-delimited one */
    REQ_OK("POST / HTTP/1.1\r\nHost: a\r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_NONE);
}

static void test_req_http10(void)
{
    struct sp_h1_msg m;
    REQ_OK("GET / HTTP/1.0\r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.version, 10);
    CU_ASSERT_EQUAL(m.host_idx, -1);
    CU_ASSERT_EQUAL(m.nhdrs, 0);
    REQ_OK("POST /x HTTP/1.0\r\nContent-Length: 3\r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_CL);
    CU_ASSERT_EQUAL(m.content_length, 3);
}

static void test_req_absolute(void)
{
    struct sp_h1_msg m;
    /* Host must name the target's authority, ASCII case aside (HAProxy 2.6, h1.c): it was
     * "Host: other" here when the authority simply overrode Host */
    static const char a[] =
        "GET http://example.com:8080/a/b?c=d HTTP/1.1\r\nHost: Example.COM:8080\r\n\r\n";
    REQ_OK(a, &m);
    CU_ASSERT(m.flags & SP_H1_MF_ABSOLUTE_URI);
    CU_ASSERT(span_is(a, m.authority_off, m.authority_len, "example.com:8080"));
    CU_ASSERT(span_is(a, m.uri_off, m.uri_len, "http://example.com:8080/a/b?c=d"));
    CU_ASSERT(hdr_is(a, &m.hdrs[(unsigned)m.host_idx], "Host", "Example.COM:8080"));

    static const char b[] = "OPTIONS HTTPS://[::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n";
    REQ_OK(b, &m);
    CU_ASSERT(m.flags & SP_H1_MF_ABSOLUTE_URI);
    CU_ASSERT(span_is(b, m.authority_off, m.authority_len, "[::1]:443"));
    static const char c[] = "GET http://h HTTP/1.1\r\nHost: h\r\n\r\n";
    REQ_OK(c, &m);
    CU_ASSERT(span_is(c, m.authority_off, m.authority_len, "h"));
    /* HTTP/1.0 needs no Host: the authority alone names the server */
    static const char d[] = "GET http://h:81/x HTTP/1.0\r\n\r\n";
    REQ_OK(d, &m);
    CU_ASSERT_EQUAL(m.host_idx, -1);
    CU_ASSERT(span_is(d, m.authority_off, m.authority_len, "h:81"));

    REQ_OK("GET /p HTTP/1.1\r\nHost: h\r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.flags & SP_H1_MF_ABSOLUTE_URI, 0);
    CU_ASSERT_EQUAL(m.authority_off, 0);
    CU_ASSERT_EQUAL(m.authority_len, 0);
}

static void test_req_pipelined(void)
{
    struct sp_h1_msg m;
    static const char two[] =
        "GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n";
    REQ_IS(two, 28, &m);
    CU_ASSERT(span_is(two, m.uri_off, m.uri_len, "/1"));
    CU_ASSERT_EQUAL(m.nhdrs, 1);

    static const char body[] =
        "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody\r\n\r\n";
    REQ_IS(body, (long)sizeof(body) - 1 - 8, &m);
    CU_ASSERT_EQUAL(m.content_length, 4);
    /* bytes after the head are not looked at, even bad ones */
    REQ_IS("GET / HTTP/1.1\r\nHost: a\r\n\r\n\n\r\x01", 27, &m);
}

static void test_req_leading_crlf(void)
{
    struct sp_h1_msg m;
    static const char r[] = "\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n";
    REQ_OK(r, &m);
    CU_ASSERT_EQUAL(m.method_off, 4);
    CU_ASSERT(span_is(r, m.method_off, m.method_len, "GET"));
    CU_ASSERT(hdr_is(r, &m.hdrs[0], "Host", "a"));
}

static void test_req_forms(void)
{
    struct sp_h1_msg m;
    static const char c[] = "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n";
    REQ_OK(c, &m);
    CU_ASSERT_EQUAL(m.meth, SP_METH_CONNECT);
    CU_ASSERT(span_is(c, m.uri_off, m.uri_len, "example.com:443"));
    REQ_OK("CONNECT [2001:db8::1]:443 HTTP/1.1\r\nHost: x\r\n\r\n", &m);
    REQ_OK("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.meth, SP_METH_OPTIONS);
    /* methods are case-sensitive tokens: "get" is some other method, still valid */
    static const char g[] = "get / HTTP/1.1\r\nHost: a\r\n\r\n";
    REQ_OK(g, &m);
    CU_ASSERT_EQUAL(m.meth, SP_METH_OTHER);
    CU_ASSERT(span_is(g, m.method_off, m.method_len, "get"));
    REQ_OK("PROPFIND /dav HTTP/1.1\r\nHost: a\r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.meth, SP_METH_OTHER);
    REQ_OK("M-SEARCH! /x HTTP/1.1\r\nHost: a\r\n\r\n", &m);
}

static void test_req_host_values(void)
{
    struct sp_h1_msg m;
    REQ_OK("GET / HTTP/1.1\r\nHost:\r\n\r\n", &m); /* empty Host is valid (RFC 9112 3.2) */
    CU_ASSERT_EQUAL(m.host_idx, 0);
    REQ_OK("GET / HTTP/1.1\r\nHost: 192.0.2.1:80\r\n\r\n", &m);
    REQ_OK("GET / HTTP/1.1\r\nHost: [::1]\r\n\r\n", &m);
    REQ_OK("GET / HTTP/1.1\r\nHost: [fe80::1:2]:8080\r\n\r\n", &m);
    REQ_OK("GET / HTTP/1.1\r\nHost: xn--e1a.example_x~y\r\n\r\n", &m);
    REQ_OK("GET / HTTP/1.1\r\nHost: a%2Db.example\r\n\r\n", &m);
    REQ_OK("GET / HTTP/1.1\r\nHost: h:\r\n\r\n", &m); /* port = *DIGIT */
    REQ_OK("GET / HTTP/1.1\r\nHost: !$&'()*+,;=\r\n\r\n", &m);
    /* a port that is not all digits: HAProxy 2.6 forwards it (these were 400 before) */
    REQ_OK("GET / HTTP/1.1\r\nHost: a.com:80x\r\n\r\n", &m);
    REQ_OK("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", &m);
    REQ_OK("GET / HTTP/1.1\r\nHost: [::1]:8a\r\n\r\n", &m);
    REQ_OK("GET http://a.com:80x/ HTTP/1.1\r\nHost: a.com:80x\r\n\r\n", &m);
    static const char r[] = "GET / HTTP/1.1\r\nX: 1\r\nhOsT: Example.COM:8443\r\n\r\n";
    REQ_OK(r, &m);
    CU_ASSERT_EQUAL(m.host_idx, 1);
    CU_ASSERT(hdr_is(r, &m.hdrs[1], "hOsT", "Example.COM:8443"));
}

static void test_req_msg_flags(void)
{
    struct sp_h1_msg m;
    static const char u[] = "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\n"
                            "Upgrade: websocket, H2C\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n";
    REQ_OK(u, &m);
    CU_ASSERT_EQUAL(m.flags,
                    SP_H1_MF_CONN_UPGRADE | SP_H1_MF_UPGRADE_H2C | SP_H1_MF_HAS_H2SETTINGS);
    CU_ASSERT_EQUAL(m.hdrs[2].flags, SP_H1_HF_UPGRADE | SP_H1_HF_HOP);
    /* named in Connection, so hop-by-hop as well */
    CU_ASSERT_EQUAL(m.hdrs[3].flags, SP_H1_HF_H2SETTINGS | SP_H1_HF_HOP);

    REQ_OK("GET / HTTP/1.1\r\nHost: a\r\nUpgrade: h2c2, xh2c\r\nHTTP2-Settings: a\r\n"
           "HTTP2-Settings: b\r\n\r\n",
           &m);
    CU_ASSERT_EQUAL(m.flags, 0); /* not h2c; HTTP2-Settings twice is not "exactly one" */
    CU_ASSERT_EQUAL(m.hdrs[2].flags, SP_H1_HF_H2SETTINGS);

    REQ_OK("PUT / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nExpect: 100-Continue\r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.flags, SP_H1_MF_EXPECT_100);
    CU_ASSERT_EQUAL(m.hdrs[2].flags, SP_H1_HF_EXPECT);
    REQ_OK("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue-x\r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.flags, 0);
    CU_ASSERT_EQUAL(m.hdrs[1].flags, SP_H1_HF_EXPECT);

    REQ_OK("GET / HTTP/1.1\r\nHost: a\r\nConnection: ,close,, Keep-Alive ,\r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.flags, SP_H1_MF_CONN_CLOSE | SP_H1_MF_CONN_KEEPALIVE);
    REQ_OK("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive\r\nConnection: CLOSE\r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.flags, SP_H1_MF_CONN_CLOSE | SP_H1_MF_CONN_KEEPALIVE);
    REQ_OK("GET / HTTP/1.1\r\nHost: a\r\nConnection: closed\r\n\r\n", &m);
    CU_ASSERT_EQUAL(m.flags, 0);
}

/* TE is hop-by-hop, but "trailers" is kept toward the server: HAProxy's rule, the first
 * "trailers" in the value, as written, ending it or followed by a comma */
static void test_te_trailers(void)
{
    static const struct {
        const char *te;
        bool keep;
    } cases[] = {
        {"trailers", true},       {"trailers, deflate", true},
        {"gzip, trailers", true}, {"gzip,trailers", true},
        {"gzip", false},          {"trailers;q=1", false},
        {"Trailers", false},      {"trailersx", false},
        {"x-trailers", true},     {"deflate;q=0.5", false},
    };
    char req[256];
    struct sp_h1_msg m;

    for (unsigned i = 0; i < NCASES(cases); i++) {
        int n =
            snprintf(req, sizeof(req), "GET / HTTP/1.1\r\nHost: a\r\nTE: %s\r\n\r\n", cases[i].te);
        expect_lim(__LINE__, REQ, req, (size_t)n, MAX_LINE, MAX_HEAD, 0, n, &m);
        CU_ASSERT_EQUAL(m.hdrs[1].flags, SP_H1_HF_HOP);
        CU_ASSERT_EQUAL(!!(m.flags & SP_H1_MF_TE_TRAILERS), cases[i].keep);
        if (!!(m.flags & SP_H1_MF_TE_TRAILERS) != cases[i].keep)
            fprintf(stderr, "\n  TE: %s: keep %d\n", cases[i].te, !cases[i].keep);
    }
}

static void test_hop_by_hop(void)
{
    struct sp_h1_msg m;
    static const char r[] = "POST / HTTP/1.1\r\n"
                            "X-Before: 1\r\n"                   /* 0: named later */
                            "Host: a\r\n"                       /* 1 */
                            "Connection: x-before, X-AFTER\r\n" /* 2 */
                            "Keep-Alive: timeout=5\r\n"         /* 3 */
                            "Proxy-Connection: keep-alive\r\n"  /* 4 */
                            "TE: trailers\r\n"                  /* 5 */
                            "Transfer-Encoding: chunked\r\n"    /* 6 */
                            "Upgrade: foo\r\n"                  /* 7 */
                            "x-after: 2\r\n"                    /* 8 */
                            "X-Afterx: 3\r\n"                   /* 9: prefix match only */
                            "X-Other: 4\r\n"                    /* 10 */
                            "\r\n";
    REQ_OK(r, &m);
    CU_ASSERT_EQUAL(m.nhdrs, 11);
    static const uint16_t want[] = {
        SP_H1_HF_HOP,
        SP_H1_HF_HOST,
        SP_H1_HF_HOP,
        SP_H1_HF_HOP,
        SP_H1_HF_HOP,
        SP_H1_HF_HOP,
        SP_H1_HF_HOP | SP_H1_HF_TE,
        SP_H1_HF_HOP | SP_H1_HF_UPGRADE,
        SP_H1_HF_HOP,
        0,
        0,
    };
    for (unsigned i = 0; i < m.nhdrs && i < NCASES(want); i++) {
        CU_ASSERT_EQUAL(m.hdrs[i].flags, want[i]);
        if (m.hdrs[i].flags != want[i])
            fprintf(stderr, "\n  hdr %u flags %#x want %#x\n", i, m.hdrs[i].flags, want[i]);
    }
    CU_ASSERT_EQUAL(m.flags, SP_H1_MF_TE_TRAILERS);

    /* Connection naming Host, Content-Length or Transfer-Encoding: refused (it used to set
     * the hop-by-hop flag on Host, and the body went on without its framing), see
     * test_req_reject_conn_framing() */
    REQ_IS("GET / HTTP/1.1\r\nHost: a\r\nConnection: host\r\n\r\n", SP_H1_E400, &m);
    /* responses too */
    static const char s[] = "HTTP/1.1 200 OK\r\nConnection: close, X-Priv\r\nX-Priv: 1\r\n"
                            "Keep-Alive: 1\r\nContent-Length: 0\r\n\r\n";
    RESP_OK(s, SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.flags, SP_H1_MF_CONN_CLOSE);
    CU_ASSERT_EQUAL(m.hdrs[0].flags, SP_H1_HF_HOP);
    CU_ASSERT_EQUAL(m.hdrs[1].flags, SP_H1_HF_HOP);
    CU_ASSERT_EQUAL(m.hdrs[2].flags, SP_H1_HF_HOP);
    CU_ASSERT_EQUAL(m.hdrs[3].flags, SP_H1_HF_CL);
    /* ...but a response's framing stays, whatever its Connection names */
    static const char f[] = "HTTP/1.1 200 OK\r\nConnection: Content-Length, X-Priv, host\r\n"
                            "Content-Length: 3\r\nX-Priv: 1\r\nHost: h\r\n\r\n";
    RESP_OK(f, SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_CL);
    CU_ASSERT_EQUAL(m.content_length, 3);
    CU_ASSERT_EQUAL(m.hdrs[1].flags, SP_H1_HF_CL);
    CU_ASSERT_EQUAL(m.hdrs[2].flags, SP_H1_HF_HOP);
    CU_ASSERT_EQUAL(m.hdrs[3].flags, SP_H1_HF_HOST);
    RESP_OK("HTTP/1.1 200 OK\r\nConnection: transfer-encoding\r\n"
            "Transfer-Encoding: chunked\r\n\r\n",
            SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_CHUNKED);
}

static void test_req_limits_ok(void)
{
    struct sp_h1_msg m;
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 1; i < SP_H1_MAX_HDRS; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X-%d: %d\r\n", i, i);
    memcpy(buf + n, "\r\n", 2);
    n += 2;
    expect_lim(__LINE__, REQ, buf, n, MAX_LINE, MAX_HEAD, 0, (long)n, &m);
    CU_ASSERT_EQUAL(m.nhdrs, SP_H1_MAX_HDRS);
    CU_ASSERT(hdr_is(buf, &m.hdrs[SP_H1_MAX_HDRS - 1], "X-99", "99"));
    /* the 101st field */
    memcpy(buf + n - 2, "Y: 1\r\n\r\n", 8);
    expect_lim(__LINE__, REQ, buf, n + 6, MAX_LINE, MAX_HEAD, 0, SP_H1_E431, &m);
    expect_lim(__LINE__, RESP, "HTTP/1.1 200 OK\r\n", 17, 0, 0, 0, SP_H1_E502, &m);

    /* request line of exactly max_line bytes (CRLF not counted), head of exactly max_head */
    static const char r[] = "GET /abcdef HTTP/1.1\r\nHost: a\r\n\r\n";
    expect_lim(__LINE__, REQ, r, sizeof(r) - 1, 20, sizeof(r) - 1, 0, (long)sizeof(r) - 1, &m);
    expect_lim(__LINE__, REQ, r, sizeof(r) - 1, 19, MAX_HEAD, 0, SP_H1_E414, &m);
    expect_lim(__LINE__, REQ, r, sizeof(r) - 1, 20, sizeof(r) - 2, 0, SP_H1_E431, &m);
    /* leading empty lines count in the head, not in the request line */
    static const char l[] = "\r\n\r\nGET /abcdef HTTP/1.1\r\nHost: a\r\n\r\n";
    expect_lim(__LINE__, REQ, l, sizeof(l) - 1, 20, sizeof(l) - 1, 0, (long)sizeof(l) - 1, &m);
    expect_lim(__LINE__, REQ, l, sizeof(l) - 1, 20, sizeof(l) - 2, 0, SP_H1_E431, &m);
}

static void test_meth_and_names(void)
{
    CU_ASSERT_EQUAL(sp_h1_meth_from("GET", 3), SP_METH_GET);
    CU_ASSERT_EQUAL(sp_h1_meth_from("HEAD", 4), SP_METH_HEAD);
    CU_ASSERT_EQUAL(sp_h1_meth_from("POST", 4), SP_METH_POST);
    CU_ASSERT_EQUAL(sp_h1_meth_from("PUT", 3), SP_METH_PUT);
    CU_ASSERT_EQUAL(sp_h1_meth_from("DELETE", 6), SP_METH_DELETE);
    CU_ASSERT_EQUAL(sp_h1_meth_from("OPTIONS", 7), SP_METH_OPTIONS);
    CU_ASSERT_EQUAL(sp_h1_meth_from("TRACE", 5), SP_METH_TRACE);
    CU_ASSERT_EQUAL(sp_h1_meth_from("CONNECT", 7), SP_METH_CONNECT);
    CU_ASSERT_EQUAL(sp_h1_meth_from("PATCH", 5), SP_METH_PATCH);
    CU_ASSERT_EQUAL(sp_h1_meth_from("GETX", 3), SP_METH_GET);
    CU_ASSERT_EQUAL(sp_h1_meth_from("GETX", 4), SP_METH_OTHER);
    CU_ASSERT_EQUAL(sp_h1_meth_from("Get", 3), SP_METH_OTHER);
    CU_ASSERT_EQUAL(sp_h1_meth_from("GE", 2), SP_METH_OTHER);

    const char *buf = "xContent-LENGTHyy";
    struct sp_h1_hdr h = {.name_off = 1, .name_len = 14};
    CU_ASSERT(sp_h1_name_is(buf, &h, "content-length"));
    CU_ASSERT(!sp_h1_name_is(buf, &h, "content-lengt"));
    CU_ASSERT(!sp_h1_name_is(buf, &h, "content-lengthy"));
    CU_ASSERT(!sp_h1_name_is(buf, &h, "content_length"));
}

/* The parser skips plain bytes 8 at a time: put each special octet at every offset of a
 * long target, value and line so that every lane of the word and the byte tail are hit. */
static void test_req_every_offset(void)
{
    static const unsigned char bad_val[] = {0x00, 0x01, 0x08, 0x0b, 0x1f, 0x7f};
    static const unsigned char ok_val[] = {'\t', ' ', 0x80, 0xff, '~', '!'};
    static const unsigned char bad_uri[] = {0x00, 0x09, 0x1f, 0x7f, 0x80, 0xff, '#'};
    struct sp_h1_msg m;
    char buf[256];
    size_t at;

    for (size_t k = 0; k < 40; k++) {
        char v[41];
        memset(v, 'v', 40);
        v[40] = 0;
        for (size_t j = 0; j < sizeof(bad_val); j++) {
            int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n", v);
            buf[28 + k] = (char)bad_val[j];
            expect_lim(__LINE__, REQ, buf, (size_t)n, MAX_LINE, MAX_HEAD, 0, SP_H1_E400, &m);
        }
        for (size_t j = 0; j < sizeof(ok_val); j++) {
            int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n", v);
            buf[28 + k] = (char)ok_val[j];
            expect_lim(__LINE__, REQ, buf, (size_t)n, MAX_LINE, MAX_HEAD, 0, n, &m);
            /* OWS is trimmed only at the ends */
            size_t want = (k == 0 || k == 39) && is_ows(ok_val[j]) ? 39 : 40;
            CU_ASSERT_EQUAL(m.hdrs[1].val_len, want);
        }
        for (size_t j = 0; j < sizeof(bad_uri); j++) {
            int n = snprintf(buf, sizeof(buf), "GET /%s HTTP/1.1\r\nHost: a\r\n\r\n", v);
            buf[5 + k] = (char)bad_uri[j];
            expect_lim(__LINE__, REQ, buf, (size_t)n, MAX_LINE, MAX_HEAD, 0, SP_H1_E400, &m);
        }
        /* bare LF and bare CR inside a long line, caught on the byte that proves them */
        int n = snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\nX: %s\r\n\r\n", v);
        buf[28 + k] = '\n';
        CU_ASSERT_EQUAL(run(__LINE__, REQ, buf, (size_t)n, MAX_LINE, MAX_HEAD, 0, &m, &at),
                        SP_H1_E400);
        CU_ASSERT_EQUAL(at, 29 + k);
        buf[28 + k] = '\r';
        CU_ASSERT_EQUAL(run(__LINE__, REQ, buf, (size_t)n, MAX_LINE, MAX_HEAD, 0, &m, &at),
                        SP_H1_E400);
        CU_ASSERT_EQUAL(at, 30 + k);
        n = snprintf(buf, sizeof(buf), "GET /%s HTTP/1.1\r\nHost: a\r\n\r\n", v);
        buf[5 + k] = '\n';
        CU_ASSERT_EQUAL(run(__LINE__, REQ, buf, (size_t)n, MAX_LINE, MAX_HEAD, 0, &m, &at),
                        SP_H1_E400);
        CU_ASSERT_EQUAL(at, 6 + k);
    }
}

/* ---- rejected requests ---- */

/* Line endings: found by the end-of-head search, on the byte that proves them wrong. */
static void test_req_reject_line_endings(void)
{
    static const struct rcase c[] = {
        RC("GET / HTTP/1.1\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\n\n", SP_H1_E400),
        RC("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\rHost: a\r\n\r\n", SP_H1_E400),
        RC("GET /\r HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", SP_H1_E400),
        RC("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nX: a\nb\r\nHost: a\r\n\r\n", SP_H1_E400),
    };
    req_cases(c, NCASES(c));

    /* early: known before the head could be complete */
    struct sp_h1_msg m;
    size_t at;
    static const char lf[] = "GET / HTTP/1.1\nHost: a";
    CU_ASSERT_EQUAL(run(__LINE__, REQ, lf, sizeof(lf) - 1, MAX_LINE, MAX_HEAD, 0, &m, &at),
                    SP_H1_E400);
    CU_ASSERT_EQUAL(at, 15);
    static const char cr[] = "GET / HTTP/1.1\r\nHost: a\rb";
    CU_ASSERT_EQUAL(run(__LINE__, REQ, cr, sizeof(cr) - 1, MAX_LINE, MAX_HEAD, 0, &m, &at),
                    SP_H1_E400);
    CU_ASSERT_EQUAL(at, sizeof(cr) - 1);
    /* a lone CR at the end may still be followed by LF */
    static const char wait[] = "GET / HTTP/1.1\r\nHost: a\r";
    CU_ASSERT_EQUAL(run(__LINE__, REQ, wait, sizeof(wait) - 1, MAX_LINE, MAX_HEAD, 0, &m, &at), 0);
}

static void test_req_reject_fields(void)
{
    static const struct rcase c[] = {
        /* obs-fold */
        RC("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n  folded\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\tfolded\r\n\r\n", SP_H1_E400),
        /* whitespace line between the request line and the first field */
        RC("GET / HTTP/1.1\r\n \r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\n Host: a\r\n\r\n", SP_H1_E400),
        /* whitespace between name and colon */
        RC("GET / HTTP/1.1\r\nHost : a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\nContent-Length : 0\r\n\r\n", SP_H1_E400),
        /* names that are not tokens */
        RC("GET / HTTP/1.1\r\nHost: a\r\nX Y: 1\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\nX@Y: 1\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\nX(Y): 1\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\n: empty name\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\nX\xc3\xa9: 1\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\nNoColon\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\nX\0Y: 1\r\n\r\n", SP_H1_E400),
        /* CTLs in values (HTAB is the only one allowed) */
        RC("GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\nX: \x1f\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\nX: a\x7f\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\nX: \x0b\r\n\r\n", SP_H1_E400),
        /* malformed Connection could hide a hop-by-hop name */
        RC("GET / HTTP/1.1\r\nHost: a\r\nConnection: close x\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\nConnection: \"close\"\r\n\r\n", SP_H1_E400),
    };
    req_cases(c, NCASES(c));
}

static void test_req_reject_request_line(void)
{
    static const struct rcase c[] = {
        /* method not a token, or empty */
        RC("G@T / HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC(" / HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("G\xc3\x89T / HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        /* separators: exactly one SP */
        RC("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET /\tHTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\t\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET /\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1 extra\r\nHost: a\r\n\r\n", SP_H1_E400),
        /* target with CTL, DEL or non-ASCII */
        RC("GET /a\x01 HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET /a\0b HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET /caf\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        /* versions */
        RC("GET / HTTP/1.2\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/2.0\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/0.9\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.10\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / http/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/ 1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTPS/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / H\r\n\r\n", SP_H1_E400),
        /* target forms (RFC 9112 3.2) */
        RC("GET foo HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET * HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("OPTIONS *x HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET example.com:80 HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("CONNECT / HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("CONNECT example.com HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("CONNECT example.com: HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("CONNECT :443 HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET http://user@h/ HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET http://a:b:c/ HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET 1http://h/ HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET http:/h/ HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
    };
    req_cases(c, NCASES(c));
}

static void test_req_reject_content_length(void)
{
    static const struct rcase c[] = {
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +5\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 0x5\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: a\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length:  \r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5 5\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5.0\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5,5\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
           SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\n",
           SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 4611686018427387905\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 18446744073709551616\r\n\r\n",
           SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999999999\r\n\r\n",
           SP_H1_E400),
        /* CL with TE, in both orders */
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
           SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
           SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n",
           SP_H1_E400),
    };
    req_cases(c, NCASES(c));
}

static void test_req_reject_transfer_encoding(void)
{
    static const struct rcase c[] = {
        RC("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.0\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, identity\r\n\r\n",
           SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked, chunked\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked,\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: ,chunked\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \"chunked\"\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chun ked\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding:\r\n\r\n", SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\x0b\r\n\r\n", SP_H1_E400),
        /* split over two field lines, in any combination */
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: "
           "chunked\r\n\r\n",
           SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: "
           "chunked\r\n\r\n",
           SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding:\r\n\r\n",
           SP_H1_E400),
        /* a single unknown coding: 501 */
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\n", SP_H1_E501),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: identity\r\n\r\n", SP_H1_E501),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", SP_H1_E501),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunkedx\r\n\r\n", SP_H1_E501),
        /* ...but any 400 condition wins over 501 */
        RC("POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", SP_H1_E400),
    };
    req_cases(c, NCASES(c));
}

static void test_req_reject_host(void)
{
    static const struct rcase c[] = {
        RC("GET / HTTP/1.1\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nX-Host: a\r\n\r\n", SP_H1_E400),
        RC("GET http://h/ HTTP/1.1\r\n\r\n", SP_H1_E400), /* absolute-form still needs Host */
        RC("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: user@a\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a?b\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a#b\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\"b\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a:b:c\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a:8:0\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a:8/\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a%zz\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a%2\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: [::1\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: []\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: [::1]x\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: [::1]:8]\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a]\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\xc3\xa9\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\tb\r\n\r\n", SP_H1_E400),
    };
    req_cases(c, NCASES(c));
}

/* A fragment never belongs in a request-target (RFC 9112 3.2); HAProxy refuses '#' anywhere in
 * it (CVE-2023-45539: "path_end .png" matched "/x#.png"). */
static void test_req_reject_fragment(void)
{
    static const struct rcase c[] = {
        RC("GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET /#x HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET /a# HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET /a?b=c#d HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET /x/../admin#.png HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET http://a/b#c HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("GET http://a#c HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("OPTIONS *# HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
        RC("CONNECT a:1# HTTP/1.1\r\nHost: a\r\n\r\n", SP_H1_E400),
    };
    req_cases(c, NCASES(c));
    /* the escaped form is an ordinary byte of the path */
    struct sp_h1_msg m;
    REQ_OK("GET /a%23b HTTP/1.1\r\nHost: a\r\n\r\n", &m);
}

/* Absolute-form targets: Host must repeat the authority (HAProxy 2.6 refuses a mismatch), and
 * a query right after the authority is refused as HAProxy does. */
static void test_req_reject_absolute(void)
{
    static const struct rcase c[] = {
        RC("GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n", SP_H1_E400),
        RC("GET http://a.example/x HTTP/1.1\r\nHost: a.example:80\r\n\r\n", SP_H1_E400),
        RC("GET http://a.example:80/x HTTP/1.1\r\nHost: a.example\r\n\r\n", SP_H1_E400),
        RC("GET http://a.example/x HTTP/1.1\r\nHost: a.exampl\r\n\r\n", SP_H1_E400),
        RC("GET http://a.example/x HTTP/1.1\r\nHost:\r\n\r\n", SP_H1_E400),
        RC("GET http://a.example/x HTTP/1.0\r\nHost: b.example\r\n\r\n", SP_H1_E400),
        RC("GET http://a.example?q=1 HTTP/1.1\r\nHost: a.example\r\n\r\n", SP_H1_E400),
        RC("GET http://a.example?q=1 HTTP/1.0\r\n\r\n", SP_H1_E400),
        RC("GET http://a.example:8080?q HTTP/1.1\r\nHost: a.example:8080\r\n\r\n", SP_H1_E400),
    };
    req_cases(c, NCASES(c));
    struct sp_h1_msg m;
    REQ_OK("GET http://a.example/?q=1 HTTP/1.1\r\nHost: A.Example\r\n\r\n", &m);
    REQ_OK("GET https://[::1]:8443/x HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n", &m);
}

/* A Connection token naming a field that frames or routes the request: honoured, it would
 * strip Content-Length (the body then reaches the server as a second request), Host, or
 * Transfer-Encoding. Refused, in any case and list position, with or without the field. */
static void test_req_reject_conn_framing(void)
{
    static const struct rcase c[] = {
        RC("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: Content-Length\r\n"
           "\r\n",
           SP_H1_E400),
        RC("POST / HTTP/1.1\r\nConnection: keep-alive, content-length\r\nHost: a\r\n"
           "Content-Length: 5\r\n\r\n",
           SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nConnection: close\r\nConnection: CONTENT-LENGTH\r\n"
           "\r\n",
           SP_H1_E400),
        RC("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n"
           "Connection: Transfer-Encoding\r\n\r\n",
           SP_H1_E400),
        RC("GET / HTTP/1.1\r\nHost: a\r\nConnection: x, Host\r\n\r\n", SP_H1_E400),
        RC("GET / HTTP/1.0\r\nConnection: host\r\n\r\n", SP_H1_E400),
    };
    req_cases(c, NCASES(c));
    /* tokens that merely look alike name other fields */
    struct sp_h1_msg m;
    REQ_OK("GET / HTTP/1.1\r\nHost: a\r\nConnection: content-lengths, hosts, x-host\r\n\r\n", &m);
}

static void test_req_reject_limits(void)
{
    struct sp_h1_msg m;
    size_t at;
    /* 414 as soon as the request line is longer than max_line, even without its CRLF */
    static const char longline[] = "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    CU_ASSERT_EQUAL(run(__LINE__, REQ, longline, sizeof(longline) - 1, 16, MAX_HEAD, 0, &m, &at),
                    SP_H1_E414);
    CU_ASSERT_EQUAL(at, 17);
    static const char full[] =
        "GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\nHost: a\r\n\r\n";
    expect_lim(__LINE__, REQ, full, sizeof(full) - 1, 16, MAX_HEAD, 0, SP_H1_E414, &m);
    /* the request line limit applies to the request line only */
    expect_lim(__LINE__, REQ, "GET / HTTP/1.1\r\nHost: aaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n", 50, 16,
               MAX_HEAD, 0, 50, &m);

    /* 431 as soon as max_head bytes hold no blank line */
    static const char bighead[] = "GET / HTTP/1.1\r\nHost: a\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaa";
    CU_ASSERT_EQUAL(run(__LINE__, REQ, bighead, sizeof(bighead) - 1, MAX_LINE, 32, 0, &m, &at),
                    SP_H1_E431);
    CU_ASSERT_EQUAL(at, 32);
    static const char leading[] = "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n";
    CU_ASSERT_EQUAL(run(__LINE__, REQ, leading, sizeof(leading) - 1, MAX_LINE, 16, 0, &m, &at),
                    SP_H1_E431);
    CU_ASSERT_EQUAL(at, 16);
    /* the limit wins over an error that lies beyond it */
    static const char beyond[] = "GET / HTTP/1.1\r\nHost: a\r\nX: 1\n";
    CU_ASSERT_EQUAL(run(__LINE__, REQ, beyond, sizeof(beyond) - 1, MAX_LINE, 20, 0, &m, &at),
                    SP_H1_E431);
    CU_ASSERT_EQUAL(at, 20);

    /* too many fields: 431 */
    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "GET / HTTP/1.1\r\nHost: a\r\n");
    for (int i = 0; i < 150; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X: %d\r\n", i);
    memcpy(buf + n, "\r\n", 2);
    n += 2;
    expect_lim(__LINE__, REQ, buf, n, MAX_LINE, MAX_HEAD, 0, SP_H1_E431, &m);
}

/* ---- responses ---- */

static void test_resp_bodies(void)
{
    struct sp_h1_msg m;
    static const char cl[] = "HTTP/1.1 200 OK\r\nContent-Length: 12\r\nX: y\r\n\r\n";
    RESP_OK(cl, SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.status, 200);
    CU_ASSERT_EQUAL(m.version, 11);
    CU_ASSERT(span_is(cl, m.reason_off, m.reason_len, "OK"));
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_CL);
    CU_ASSERT_EQUAL(m.content_length, 12);
    CU_ASSERT_EQUAL(m.nhdrs, 2);

    RESP_OK("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_CHUNKED);
    RESP_OK("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n", SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_CLOSE);
    RESP_OK("HTTP/1.0 200 OK\r\n\r\n", SP_METH_POST, &m);
    CU_ASSERT_EQUAL(m.version, 10);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_CLOSE);
    RESP_OK("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_CL);
    CU_ASSERT_EQUAL(m.content_length, 0);

    /* no body whatever the fields say */
    RESP_OK("HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\n", SP_METH_HEAD, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_NONE);
    RESP_OK("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", SP_METH_HEAD, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_NONE);
    RESP_OK("HTTP/1.1 200 OK\r\n\r\n", SP_METH_HEAD, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_NONE);
    RESP_OK("HTTP/1.1 204 No Content\r\n\r\n", SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_NONE);
    RESP_OK("HTTP/1.1 304 Not Modified\r\nContent-Length: 1234\r\n\r\n", SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_NONE);
    CU_ASSERT_EQUAL(m.status, 304);
    RESP_OK("HTTP/1.1 100 Continue\r\n\r\n", SP_METH_PUT, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_NONE);
    CU_ASSERT_EQUAL(m.status, 100);
    RESP_OK("HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
            SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_NONE);
    CU_ASSERT_EQUAL(m.flags, SP_H1_MF_CONN_UPGRADE | SP_H1_MF_UPGRADE_H2C);
    RESP_OK("HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n", SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_NONE);
    RESP_OK("HTTP/1.1 200 Connection established\r\n\r\n", SP_METH_CONNECT, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_NONE);
    RESP_OK("HTTP/1.1 407 Proxy Auth\r\nContent-Length: 3\r\n\r\n", SP_METH_CONNECT, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_CL);
    RESP_OK("HTTP/1.1 205 Reset Content\r\n\r\n", SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.body, SP_H1_BODY_CLOSE);

    /* pipelined bytes after the head are the body */
    static const char pb[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi";
    RESP_IS(pb, SP_METH_GET, (long)sizeof(pb) - 3, &m);
}

static void test_resp_status_line(void)
{
    struct sp_h1_msg m;
    static const char e[] = "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\n";
    RESP_OK(e, SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.reason_len, 0);
    RESP_OK("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n", SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.status, 200);
    CU_ASSERT_EQUAL(m.reason_len, 0);
    static const char r[] = "HTTP/1.1 599 Caf\xc3\xa9\t sp  \r\n\r\n";
    RESP_OK(r, SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.status, 599);
    CU_ASSERT(span_is(r, m.reason_off, m.reason_len, "Caf\xc3\xa9\t sp  "));
    RESP_OK("HTTP/1.1 999 X\r\n\r\n", SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.status, 999);
    static const char l[] = "\r\nHTTP/1.1 200 OK\r\n\r\n";
    RESP_OK(l, SP_METH_GET, &m);
    CU_ASSERT_EQUAL(m.status, 200);
    CU_ASSERT(span_is(l, m.reason_off, m.reason_len, "OK"));
}

static void test_resp_reject(void)
{
    static const struct rcase c[] = {
        RC("HTTP/1.2 200 OK\r\n\r\n", SP_H1_E502),
        RC("HTTP/2 200 OK\r\n\r\n", SP_H1_E502),
        RC("HTTP/2.0 200 OK\r\n\r\n", SP_H1_E502),
        RC("http/1.1 200 OK\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1  200 OK\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 20 OK\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 2000 OK\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 099 OK\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 2x0 OK\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 -20 OK\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200\tOK\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 O\x01K\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 O\x7fK\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\nContent-Length: 0\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 O\rK\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\nX: 1\r\n folded\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\n \r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\nX : 1\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\nX\"Y: 1\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\nContent-Length: 4611686018427387905\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
           SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
           SP_H1_E502),
        RC("HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 200 OK\r\nConnection: a b\r\n\r\n", SP_H1_E502),
        /* fields are validated even where the status means no body */
        RC("HTTP/1.1 204 No Content\r\nContent-Length: x\r\n\r\n", SP_H1_E502),
        RC("HTTP/1.1 304 Not Modified\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
           SP_H1_E502),
    };
    resp_cases(c, NCASES(c), SP_METH_GET);
    resp_cases(c, NCASES(c), SP_METH_HEAD);

    struct sp_h1_msg m;
    size_t at;
    static const char big[] = "HTTP/1.1 200 OK\r\nX-Long: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    CU_ASSERT_EQUAL(run(__LINE__, RESP, big, sizeof(big) - 1, 0, 24, SP_METH_GET, &m, &at),
                    SP_H1_E502);
    CU_ASSERT_EQUAL(at, 24);
    static const char lf[] = "HTTP/1.1 200 OK\nX";
    CU_ASSERT_EQUAL(run(__LINE__, RESP, lf, sizeof(lf) - 1, 0, MAX_HEAD, SP_METH_GET, &m, &at),
                    SP_H1_E502);
    CU_ASSERT_EQUAL(at, 16);

    char buf[4096];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i <= SP_H1_MAX_HDRS; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "X: %d\r\n", i);
    memcpy(buf + n, "\r\n", 2);
    n += 2;
    expect_lim(__LINE__, RESP, buf, n, 0, MAX_HEAD, SP_METH_GET, SP_H1_E502, &m);
}

/* A scan struct carries errors and completion across calls; a shorter buffer restarts it. */
static void test_scan_state(void)
{
    struct sp_h1_msg m;
    struct sp_h1_scan sc;
    static const char r[] = "GET / HTTP/1.1\r\nHost: a\r\n\r\n";
    sp_h1_scan_init(&sc);
    CU_ASSERT_EQUAL(sp_h1_parse_request(r, 10, MAX_LINE, MAX_HEAD, &sc, &m), 0);
    CU_ASSERT_EQUAL(sc.pos, 10);
    CU_ASSERT_EQUAL(sp_h1_parse_request(r, sizeof(r) - 1, MAX_LINE, MAX_HEAD, &sc, &m), 27);
    CU_ASSERT_EQUAL(sp_h1_parse_request(r, sizeof(r) - 1, MAX_LINE, MAX_HEAD, &sc, &m), 27);
    CU_ASSERT_EQUAL(sp_h1_parse_request(r, 5, MAX_LINE, MAX_HEAD, &sc, &m), 0);

    static const char bad[] = "GET / HTTP/1.1\nHost: a\r\n\r\n";
    sp_h1_scan_init(&sc);
    CU_ASSERT_EQUAL(sp_h1_parse_request(bad, sizeof(bad) - 1, MAX_LINE, MAX_HEAD, &sc, &m),
                    SP_H1_E400);
    CU_ASSERT_EQUAL(sp_h1_parse_request(bad, sizeof(bad) - 1, MAX_LINE, MAX_HEAD, &sc, &m),
                    SP_H1_E400);
    CU_ASSERT_EQUAL(sp_h1_parse_request(bad, 0, MAX_LINE, MAX_HEAD, &sc, &m), SP_H1_E400);
    CU_ASSERT_EQUAL(sp_h1_parse_request(bad, 0, MAX_LINE, MAX_HEAD, NULL, &m), 0);
}

/* ---- chunked ---- */

/* Feeds in[0..len) like a receive buffer: `first` bytes, then `step` more whenever the
 * decoder consumes nothing. Unconsumed bytes are handed again from a fresh exact-size copy
 * so that ASan catches reads past the end. Returns the last result. */
static int dechunk(const char *in, size_t len, size_t first, size_t step, char *out, size_t out_cap,
                   size_t *out_len, size_t *used)
{
    struct sp_h1_chunk c;
    size_t pos = 0, avail = first < len ? first : len, o = 0;
    int rc;

    sp_h1_chunk_init(&c);
    for (;;) {
        size_t n = avail - pos, cons = 99, doff = 99, dlen = 99;
        char *b = malloc(n ? n : 1);
        CU_ASSERT_FATAL(b != NULL);
        memcpy(b, in + pos, n);
        rc = sp_h1_chunk_parse(&c, b, n, &cons, &doff, &dlen);
        CU_ASSERT(cons <= n);
        if (rc != SP_H1_CHUNK_ERR) {
            CU_ASSERT(dlen == 0 || doff + dlen <= cons);
            if (dlen && o + dlen <= out_cap) {
                memcpy(out + o, b + doff, dlen);
                o += dlen;
            } else if (dlen) {
                CU_FAIL("output overflow");
            }
        }
        free(b);
        pos += cons;
        if (rc != SP_H1_CHUNK_MORE)
            break;
        if (cons == 0) {
            if (avail == len)
                break;
            avail = len - avail < step ? len : avail + step;
        }
    }
    if (rc != SP_H1_CHUNK_ERR)
        CU_ASSERT_EQUAL(c.data_total, o);
    *out_len = o;
    *used = pos;
    return rc;
}

struct ccase {
    int line;
    const char *in;
    size_t len;
    const char *data;
    size_t dlen;
};
/* clang-format off */
#define CC(s, d) {__LINE__, s, sizeof(s) - 1, d, sizeof(d) - 1}
#define CB(s)    {__LINE__, s, sizeof(s) - 1, NULL, 0}
/* clang-format on */

static const struct ccase valid_chunks[] = {
    CC("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", "hello world"),
    CC("a\r\n0123456789\r\nA\r\nabcdefghij\r\nF\r\n0123456789abcde\r\n0\r\n\r\n",
       "0123456789abcdefghij0123456789abcde"),
    CC("005\r\nhello\r\n000\r\n\r\n", "hello"),
    CC("0\r\n\r\n", ""),
    CC("4\r\n\r\n\r\n\r\n0\r\n\r\n", "\r\n\r\n"),
    /* extensions */
    CC("5;name=value\r\nhello\r\n0;last\r\n\r\n", "hello"),
    CC("5 ; a = b ;\tc=\"q \\\" ;x\"\r\nhello\r\n0\r\n\r\n", "hello"),
    CC("5;a\t;b;c=\"\"\r\nhello\r\n0\r\n\r\n", "hello"),
    CC("5;a=\"caf\xc3\xa9\\\t\"  ;b\r\nhello\r\n0\r\n\r\n", "hello"),
    /* trailers */
    CC("5\r\nhello\r\n0\r\nX-Sum: abc\r\nY:\r\nZ: \t1 2\t\r\n\r\n", "hello"),
    CC("3\r\n\0\1\2\r\n0\r\nX: caf\xc3\xa9\r\n\r\n", "\0\1\2"),
};

static void check_valid_chunk(const struct ccase *v, size_t first, size_t step)
{
    char out[256];
    size_t olen, used;
    size_t dlen = v->dlen;
    int rc = dechunk(v->in, v->len, first, step, out, sizeof(out), &olen, &used);
    bool ok =
        rc == SP_H1_CHUNK_DONE && used == v->len && olen == dlen && memcmp(out, v->data, olen) == 0;
    CHECK_AT(ok, v->line);
    if (!ok)
        fprintf(stderr, "\n  line %d first %zu step %zu: rc %d used %zu/%zu out %zu/%zu\n", v->line,
                first, step, rc, used, v->len, olen, dlen);
}

static void test_chunk_valid(void)
{
    for (size_t i = 0; i < NCASES(valid_chunks); i++) {
        const struct ccase *v = &valid_chunks[i];
        check_valid_chunk(v, v->len, 1);    /* one piece */
        check_valid_chunk(v, 1, 1);         /* byte by byte */
        for (size_t k = 1; k < v->len; k++) /* split at every position */
            check_valid_chunk(v, k, v->len);
    }
}

/* The contract: at most one data run per call, framing consumed up to it. */
static void test_chunk_one_run(void)
{
    static const char in[] = "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\nGET";
    struct sp_h1_chunk c;
    size_t cons, off, len;
    sp_h1_chunk_init(&c);
    CU_ASSERT_EQUAL(sp_h1_chunk_parse(&c, in, sizeof(in) - 1, &cons, &off, &len), SP_H1_CHUNK_MORE);
    CU_ASSERT_EQUAL(cons, 8);
    CU_ASSERT_EQUAL(off, 3);
    CU_ASSERT_EQUAL(len, 5);
    CU_ASSERT_EQUAL(c.remaining, 0);
    CU_ASSERT_EQUAL(c.data_total, 5);
    size_t p = cons;
    CU_ASSERT_EQUAL(sp_h1_chunk_parse(&c, in + p, sizeof(in) - 1 - p, &cons, &off, &len),
                    SP_H1_CHUNK_MORE);
    CU_ASSERT_EQUAL(cons, 11);
    CU_ASSERT_EQUAL(off, 5);
    CU_ASSERT_EQUAL(len, 6);
    CU_ASSERT(memcmp(in + p + off, " world", 6) == 0);
    p += cons;
    CU_ASSERT_EQUAL(sp_h1_chunk_parse(&c, in + p, sizeof(in) - 1 - p, &cons, &off, &len),
                    SP_H1_CHUNK_DONE);
    CU_ASSERT_EQUAL(len, 0);
    p += cons;
    CU_ASSERT_EQUAL(p, sizeof(in) - 4); /* "GET" is the next message */
    CU_ASSERT_EQUAL(c.data_total, 11);
    /* DONE sticks and consumes nothing more */
    CU_ASSERT_EQUAL(sp_h1_chunk_parse(&c, in + p, 3, &cons, &off, &len), SP_H1_CHUNK_DONE);
    CU_ASSERT_EQUAL(cons, 0);

    /* a partial data run: remaining tracks what is left of the chunk */
    sp_h1_chunk_init(&c);
    CU_ASSERT_EQUAL(sp_h1_chunk_parse(&c, "a\r\n0123", 7, &cons, &off, &len), SP_H1_CHUNK_MORE);
    CU_ASSERT_EQUAL(cons, 7);
    CU_ASSERT_EQUAL(len, 4);
    CU_ASSERT_EQUAL(c.remaining, 6);
    CU_ASSERT_EQUAL(sp_h1_chunk_parse(&c, "456789\r", 7, &cons, &off, &len), SP_H1_CHUNK_MORE);
    CU_ASSERT_EQUAL(off, 0);
    CU_ASSERT_EQUAL(len, 6);
    CU_ASSERT_EQUAL(c.remaining, 0);
    /* ERR sticks */
    CU_ASSERT_EQUAL(sp_h1_chunk_parse(&c, "\rX", 2, &cons, &off, &len), SP_H1_CHUNK_ERR);
    CU_ASSERT_EQUAL(sp_h1_chunk_parse(&c, "\n0\r\n\r\n", 6, &cons, &off, &len), SP_H1_CHUNK_ERR);
    CU_ASSERT_EQUAL(len, 0);
}

static const struct ccase bad_chunks[] = {
    CB("g\r\nhello\r\n0\r\n\r\n"),
    CB("0x5\r\nhello\r\n0\r\n\r\n"),
    CB("+5\r\nhello\r\n0\r\n\r\n"),
    CB("-5\r\nhello\r\n0\r\n\r\n"),
    CB("\r\nhello\r\n0\r\n\r\n"),
    CB(" 5\r\nhello\r\n0\r\n\r\n"),
    CB("5 \r\nhello\r\n0\r\n\r\n"),
    CB("5x\r\nhello\r\n0\r\n\r\n"),
    CB("5,\r\nhello\r\n0\r\n\r\n"),
    /* overflow */
    CB("4000000000000001\r\n"),
    CB("10000000000000000\r\n"),
    CB("FFFFFFFFFFFFFFFFFFFFFFFF\r\n"),
    /* bare LF / CR */
    CB("5\nhello\r\n0\r\n\r\n"),
    CB("5\rhello\r\n0\r\n\r\n"),
    CB("5;a\nhello\r\n0\r\n\r\n"),
    CB("5\r\nhello\n0\r\n\r\n"),
    CB("5\r\nhello\r0\r\n\r\n"),
    CB("5\r\nhello\r\n0\n\r\n"),
    CB("5\r\nhello\r\n0\r\n\n"),
    CB("5\r\nhello\r\n0\r\n\r\r"),
    /* data not followed by exactly CRLF */
    CB("5\r\nhelloX\r\n0\r\n\r\n"),
    CB("5\r\nhello0\r\n\r\n"),
    CB("5\r\nhell\r\n0\r\n\r\n"),
    CB("5\r\nhello \r\n0\r\n\r\n"),
    /* extensions */
    CB("5;\r\nhello\r\n0\r\n\r\n"),
    CB("5;=x\r\nhello\r\n0\r\n\r\n"),
    CB("5;a=\r\nhello\r\n0\r\n\r\n"),
    CB("5;a==b\r\nhello\r\n0\r\n\r\n"),
    CB("5;a b\r\nhello\r\n0\r\n\r\n"),
    CB("5;a=b c\r\nhello\r\n0\r\n\r\n"),
    CB("5;a=b \r\nhello\r\n0\r\n\r\n"),
    CB("5;a=\"x\r\nhello\r\n0\r\n\r\n"),
    CB("5;a=\"x\x01\"\r\nhello\r\n0\r\n\r\n"),
    CB("5;a=\"x\"y\r\nhello\r\n0\r\n\r\n"),
    CB("5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n"),
    CB("5;a\x7f\r\nhello\r\n0\r\n\r\n"),
    CB("5;a\0\r\nhello\r\n0\r\n\r\n"),
    CB("5;a=b\0\r\nhello\r\n0\r\n\r\n"),
    /* trailers */
    CB("0\r\nX : y\r\n\r\n"),
    CB("0\r\n y\r\n\r\n"),
    CB("0\r\nX: 1\r\n\tfold\r\n\r\n"),
    CB("0\r\nX\r\n\r\n"),
    CB("0\r\n: y\r\n\r\n"),
    CB("0\r\nX: a\x01\r\n\r\n"),
    CB("0\r\nX: a\0\r\n\r\n"),
    CB("0\r\nX: a\n\r\n"),
    CB("0\r\nX: a\rb\r\n\r\n"),
};

static void check_bad_chunk(const struct ccase *v, size_t first, size_t step)
{
    char out[256];
    size_t olen, used;
    int rc = dechunk(v->in, v->len, first, step, out, sizeof(out), &olen, &used);
    CHECK_AT(rc == SP_H1_CHUNK_ERR, v->line);
    if (rc != SP_H1_CHUNK_ERR)
        fprintf(stderr, "\n  line %d first %zu step %zu: rc %d\n", v->line, first, step, rc);
}

static void test_chunk_reject(void)
{
    for (size_t i = 0; i < NCASES(bad_chunks); i++) {
        const struct ccase *v = &bad_chunks[i];
        check_bad_chunk(v, v->len, 1);
        check_bad_chunk(v, 1, 1);
        for (size_t k = 1; k < v->len; k++)
            check_bad_chunk(v, k, v->len);
    }
}

static int feed_all(const char *in, size_t len, size_t *used, char *out, size_t cap)
{
    size_t olen;
    return dechunk(in, len, len, 1, out, cap, &olen, used);
}

static void test_chunk_size_limits(void)
{
    struct sp_h1_chunk c;
    size_t cons, off, len;
    /* 2^62 is the largest size accepted */
    sp_h1_chunk_init(&c);
    CU_ASSERT_EQUAL(sp_h1_chunk_parse(&c, "4000000000000000\r\nab", 20, &cons, &off, &len),
                    SP_H1_CHUNK_MORE);
    CU_ASSERT_EQUAL(cons, 20);
    CU_ASSERT_EQUAL(off, 18);
    CU_ASSERT_EQUAL(len, 2);
    CU_ASSERT_EQUAL(c.remaining, (UINT64_C(1) << 62) - 2);
    CU_ASSERT_EQUAL(sp_h1_chunk_parse(&c, "cd", 2, &cons, &off, &len), SP_H1_CHUNK_MORE);
    CU_ASSERT_EQUAL(len, 2);
    CU_ASSERT_EQUAL(c.remaining, (UINT64_C(1) << 62) - 4);
    sp_h1_chunk_init(&c);
    CU_ASSERT_EQUAL(
        sp_h1_chunk_parse(&c, "00000000000000000000003fffffffffffffff\r\n", 40, &cons, &off, &len),
        SP_H1_CHUNK_MORE);
    CU_ASSERT_EQUAL(c.remaining, (UINT64_C(1) << 62) - 1);
    sp_h1_chunk_init(&c);
    CU_ASSERT_EQUAL(sp_h1_chunk_parse(&c, "4000000000000001", 16, &cons, &off, &len),
                    SP_H1_CHUNK_ERR);

    /* size/extension line: 4096 bytes pass, 4097 fail */
    static char buf[8192];
    size_t used;
    char out[8];
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = 0;
        memcpy(buf, "1;", 2);
        n = 2;
        memset(buf + n, 'a', 4094 + (size_t)extra);
        n += 4094 + (size_t)extra;
        memcpy(buf + n, "\r\nx\r\n0\r\n\r\n", 10);
        n += 10;
        int rc = feed_all(buf, n, &used, out, sizeof(out));
        CU_ASSERT_EQUAL(rc, extra ? SP_H1_CHUNK_ERR : SP_H1_CHUNK_DONE);
    }
    /* a huge extension is refused on its 4097th byte, without waiting for its end */
    sp_h1_chunk_init(&c);
    memset(buf, 'a', 4200);
    buf[0] = '1';
    buf[1] = ';';
    CU_ASSERT_EQUAL(sp_h1_chunk_parse(&c, buf, 4096, &cons, &off, &len), SP_H1_CHUNK_MORE);
    CU_ASSERT_EQUAL(cons, 4096);
    CU_ASSERT_EQUAL(sp_h1_chunk_parse(&c, buf + 4096, 1, &cons, &off, &len), SP_H1_CHUNK_ERR);
    sp_h1_chunk_init(&c);
    CU_ASSERT_EQUAL(sp_h1_chunk_parse(&c, buf, 4200, &cons, &off, &len), SP_H1_CHUNK_ERR);
    CU_ASSERT_EQUAL(cons, 4097);
}

static void test_chunk_trailer_limit(void)
{
    static char buf[20000];
    size_t used;
    char out[8];
    /* trailer section = everything after "0\r\n", final CRLF included: 16384 ok */
    for (int extra = 0; extra <= 1; extra++) {
        size_t n = 0, v = 16384 - 7 + (size_t)extra;
        memcpy(buf, "0\r\nX: ", 6);
        n = 6;
        memset(buf + n, 'v', v);
        n += v;
        memcpy(buf + n, "\r\n\r\n", 4);
        n += 4;
        int rc = feed_all(buf, n, &used, out, sizeof(out));
        CU_ASSERT_EQUAL(rc, extra ? SP_H1_CHUNK_ERR : SP_H1_CHUNK_DONE);
        if (!extra)
            CU_ASSERT_EQUAL(used, n);
    }
}

/* Many tiny chunks: framing may not exceed max(16 KiB, data so far). */
static void test_chunk_overhead(void)
{
    size_t cap = 4000 * 6 + 70000;
    char *buf = malloc(cap), *out = malloc(cap);
    size_t used, olen;
    CU_ASSERT_FATAL(buf && out);

    /* 3000 one-byte chunks: 15003 framing bytes, under the floor */
    size_t n = 0;
    for (int i = 0; i < 3000; i++) {
        memcpy(buf + n, "1\r\nx\r\n", 6);
        n += 6;
    }
    memcpy(buf + n, "0\r\n\r\n", 5);
    CU_ASSERT_EQUAL(dechunk(buf, n + 5, n + 5, 1, out, cap, &olen, &used), SP_H1_CHUNK_DONE);
    CU_ASSERT_EQUAL(olen, 3000);
    CU_ASSERT_EQUAL(dechunk(buf, n + 5, 1, 1, out, cap, &olen, &used), SP_H1_CHUNK_DONE);

    /* 5000 of them: 25003 framing bytes for 5000 data bytes. This was refused (the cap was
     * max(16 KiB, data)); limits protect memory, not chunk counts, and plain chunks cost
     * at most 5 framing bytes per data byte, under the 8 allowed */
    n = 0;
    for (int i = 0; i < 5000; i++) {
        memcpy(buf + n, "1\r\nx\r\n", 6);
        n += 6;
    }
    memcpy(buf + n, "0\r\n\r\n", 5);
    CU_ASSERT_EQUAL(dechunk(buf, n + 5, n + 5, 1, out, cap, &olen, &used), SP_H1_CHUNK_DONE);
    CU_ASSERT_EQUAL(olen, 5000);
    CU_ASSERT_EQUAL(used, n + 5);

    /* framing that carries next to nothing is still refused past 16 KiB: 1-byte chunks with a
     * 40-byte extension each (45 framing bytes per data byte) */
    static const char fat[] = "1;xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\nx\r\n";
    n = 0;
    for (int i = 0; i < 1500; i++) {
        memcpy(buf + n, fat, sizeof(fat) - 1);
        n += sizeof(fat) - 1;
    }
    memcpy(buf + n, "0\r\n\r\n", 5);
    CU_ASSERT_EQUAL(dechunk(buf, n + 5, n + 5, 1, out, cap, &olen, &used), SP_H1_CHUNK_ERR);
    CU_ASSERT(olen < 1500);
    CU_ASSERT(olen > 16384 / 45 - 1);
    /* zero-padded sizes too */
    n = 0;
    for (int i = 0; i < 1500; i++) {
        memcpy(buf + n, "0000000000000000000000000000000000000001\r\nx\r\n", 45);
        n += 45;
    }
    memcpy(buf + n, "0\r\n\r\n", 5);
    CU_ASSERT_EQUAL(dechunk(buf, n + 5, n + 5, 1, out, cap, &olen, &used), SP_H1_CHUNK_ERR);

    /* ...but after 64 KiB of real data the same 4000 tiny chunks are fine */
    n = 0;
    memcpy(buf, "10000\r\n", 7);
    n = 7;
    memset(buf + n, 'd', 65536);
    n += 65536;
    memcpy(buf + n, "\r\n", 2);
    n += 2;
    for (int i = 0; i < 4000; i++) {
        memcpy(buf + n, "1\r\nx\r\n", 6);
        n += 6;
    }
    memcpy(buf + n, "0\r\n\r\n", 5);
    CU_ASSERT_EQUAL(dechunk(buf, n + 5, n + 5, 1, out, cap, &olen, &used), SP_H1_CHUNK_DONE);
    CU_ASSERT_EQUAL(olen, 65536 + 4000);
    CU_ASSERT_EQUAL(used, n + 5);
    free(buf);
    free(out);
}

void test_h1_register(void)
{
    CU_pSuite s = sp_unit_suite("http/h1");
    sp_unit_test(s, "request: GET fields and values", test_req_get);
    sp_unit_test(s, "request: body framing", test_req_body);
    sp_unit_test(s, "request: HTTP/1.0", test_req_http10);
    sp_unit_test(s, "request: absolute-form", test_req_absolute);
    sp_unit_test(s, "request: pipelined bytes", test_req_pipelined);
    sp_unit_test(s, "request: leading empty lines", test_req_leading_crlf);
    sp_unit_test(s, "request: target forms and methods", test_req_forms);
    sp_unit_test(s, "request: Host values", test_req_host_values);
    sp_unit_test(s, "request: message flags", test_req_msg_flags);
    sp_unit_test(s, "hop-by-hop fields", test_hop_by_hop);
    sp_unit_test(s, "TE: trailers kept", test_te_trailers);
    sp_unit_test(s, "limits: at the edge", test_req_limits_ok);
    sp_unit_test(s, "method and name helpers", test_meth_and_names);
    sp_unit_test(s, "special octets at every offset", test_req_every_offset);
    sp_unit_test(s, "reject: line endings", test_req_reject_line_endings);
    sp_unit_test(s, "reject: field syntax", test_req_reject_fields);
    sp_unit_test(s, "reject: request line", test_req_reject_request_line);
    sp_unit_test(s, "reject: Content-Length", test_req_reject_content_length);
    sp_unit_test(s, "reject: Transfer-Encoding", test_req_reject_transfer_encoding);
    sp_unit_test(s, "reject: Host", test_req_reject_host);
    sp_unit_test(s, "reject: fragment in the target", test_req_reject_fragment);
    sp_unit_test(s, "reject: absolute-form and Host", test_req_reject_absolute);
    sp_unit_test(s, "reject: Connection naming framing fields", test_req_reject_conn_framing);
    sp_unit_test(s, "reject: 414 and 431", test_req_reject_limits);
    sp_unit_test(s, "response: body framing", test_resp_bodies);
    sp_unit_test(s, "response: status line", test_resp_status_line);
    sp_unit_test(s, "response: 502 rejects", test_resp_reject);
    sp_unit_test(s, "scan state across calls", test_scan_state);
    sp_unit_test(s, "chunked: valid, whole/split/bytewise", test_chunk_valid);
    sp_unit_test(s, "chunked: one data run per call", test_chunk_one_run);
    sp_unit_test(s, "chunked: rejects, whole/split/bytewise", test_chunk_reject);
    sp_unit_test(s, "chunked: size and line limits", test_chunk_size_limits);
    sp_unit_test(s, "chunked: trailer limit", test_chunk_trailer_limit);
    sp_unit_test(s, "chunked: overhead limit", test_chunk_overhead);
}
