/* tests/http/test_h2map.c - HTTP/2 <-> HTTP/1.1 mapping rules and the reset budget
 * (http/h2map.c).
 *
 * Requests are fed field by field as nghttp2's on_header would, then turned into an HTTP/1.1
 * head; the head is checked line by line (names case-insensitive) so that the tests say what
 * must be there, not in which byte order spillway happens to write it. Responses are parsed
 * with the real HTTP/1 parser, so hop-by-hop flags come from where production gets them. */
#include "http/h2map.h"
#include "balance/acl.h"
#include "http/http-int.h"
#include "tests/unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STORE_SIZE 16384
#define BIG_LIST   (1u << 30)

/* ---- helpers ---- */

/* A request with its own field store. Heap-allocated: struct sp_h2_req is large. */
struct rq {
    struct sp_buf store;
    char mem[STORE_SIZE];
    struct sp_h2_req r;
};

static struct rq *rq_new(void)
{
    struct rq *q = calloc(1, sizeof(*q));

    CU_ASSERT_FATAL(q != NULL);
    q->store = (struct sp_buf){.data = q->mem, .size = sizeof(q->mem)};
    sp__h2_req_init(&q->r, &q->store);
    return q;
}

static int add(struct rq *q, const char *name, const char *value)
{
    return sp__h2_req_add(&q->r, (const uint8_t *)name, strlen(name), (const uint8_t *)value,
                          strlen(value), BIG_LIST);
}

/* a length-given add, for values with embedded NULs */
static int addn(struct rq *q, const char *name, const char *value, size_t vlen)
{
    return sp__h2_req_add(&q->r, (const uint8_t *)name, strlen(name), (const uint8_t *)value, vlen,
                          BIG_LIST);
}

/* :method, :scheme, :path and :authority (skipped when NULL) */
static void add_pseudo(struct rq *q, const char *meth, const char *path, const char *auth)
{
    CU_ASSERT_EQUAL(add(q, ":method", meth), 0);
    CU_ASSERT_EQUAL(add(q, ":scheme", "http"), 0);
    CU_ASSERT_EQUAL(add(q, ":path", path), 0);
    if (auth)
        CU_ASSERT_EQUAL(add(q, ":authority", auth), 0);
}

static struct sockaddr_storage peer_v4(const char *ip)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

    memset(&ss, 0, sizeof(ss));
    sin->sin_family = AF_INET;
    sin->sin_port = htons(40000);
    CU_ASSERT_EQUAL(inet_pton(AF_INET, ip, &sin->sin_addr), 1);
    return ss;
}

/* Output of one build: the head as a NUL-terminated copy, split into lines. */
struct head {
    int rc;
    enum sp_h1_body body;
    char text[8192]; /* split into lines in place */
    char raw[8192];  /* the head as written, NUL-terminated */
    size_t len;
    char *line[256];
    unsigned nlines;
    bool terminated; /* ends with an empty line */
};

static void build(struct rq *q, const struct sp_fwd *fwd, bool close, bool end_stream,
                  struct head *h)
{
    static char outmem[8192];
    struct sp_buf out = {.data = outmem, .size = sizeof(outmem)};
    struct sockaddr_storage peer = peer_v4("192.0.2.7");

    memset(h, 0, sizeof(*h));
    h->body = (enum sp_h1_body) - 1;
    h->rc = sp__h2_build_request(&out, &q->r, fwd, &peer, close, end_stream, &h->body);
    if (h->rc)
        return;
    h->len = sp_buf_len(&out);
    CU_ASSERT_FATAL(h->len < sizeof(h->text));
    memcpy(h->text, sp_buf_head(&out), h->len);
    h->text[h->len] = 0;
    memcpy(h->raw, h->text, h->len + 1);
    h->terminated = h->len >= 4 && !memcmp(h->text + h->len - 4, "\r\n\r\n", 4);
    /* split on CRLF; a bare CR or LF would show up inside a line */
    char *p = h->text;
    while (*p && h->nlines < 256) {
        char *e = strstr(p, "\r\n");
        if (!e)
            break;
        *e = 0;
        if (e == p)
            break; /* the blank line */
        h->line[h->nlines++] = p;
        p = e + 2;
    }
}

/* Number of fields called `name` (case-insensitive); the first value in *val. */
static unsigned field(const struct head *h, const char *name, const char **val)
{
    size_t n = strlen(name);
    unsigned count = 0;

    for (unsigned i = 1; i < h->nlines; i++) {
        const char *l = h->line[i];
        if (!strncasecmp(l, name, n) && l[n] == ':') {
            if (!count && val) {
                const char *v = l + n + 1;
                while (*v == ' ')
                    v++;
                *val = v;
            }
            count++;
        }
    }
    return count;
}

static bool field_is(const struct head *h, const char *name, const char *want)
{
    const char *v = NULL;
    return field(h, name, &v) == 1 && !strcmp(v, want);
}

static bool no_bare_crlf(const struct head *h)
{
    for (unsigned i = 0; i < h->nlines; i++)
        if (strchr(h->line[i], '\r') || strchr(h->line[i], '\n'))
            return false;
    return true;
}

/* ---- sp__h2_req_add: pseudo-headers ---- */

static void test_pseudo_ok(void)
{
    struct rq *q = rq_new();

    CU_ASSERT_EQUAL(add(q, ":method", "GET"), 0);
    CU_ASSERT_EQUAL(add(q, ":scheme", "http"), 0);
    CU_ASSERT_EQUAL(add(q, ":authority", "example.com:8080"), 0);
    CU_ASSERT_EQUAL(add(q, ":path", "/a/b?c=d&e=%20"), 0);
    CU_ASSERT_EQUAL(add(q, "accept", "*/*"), 0);
    CU_ASSERT(q->r.has_method && q->r.has_scheme && q->r.has_authority && q->r.has_path);
    CU_ASSERT_EQUAL(q->r.meth, SP_METH_GET);
    CU_ASSERT_EQUAL(q->r.nfields, 1);
    CU_ASSERT_EQUAL(q->r.content_length, -1);
    free(q);

    /* other valid authorities: IPv4, [IPv6]:port, sub-delims */
    static const char *auths[] = {"127.0.0.1", "[::1]:443", "a-b.c_d~e", "x.example"};
    for (size_t i = 0; i < sizeof(auths) / sizeof(auths[0]); i++) {
        q = rq_new();
        CU_ASSERT_EQUAL(add(q, ":authority", auths[i]), 0);
        free(q);
    }
    /* extension methods are tokens too */
    q = rq_new();
    CU_ASSERT_EQUAL(add(q, ":method", "PROPFIND"), 0);
    CU_ASSERT_EQUAL(q->r.meth, SP_METH_OTHER);
    free(q);
    /* "*" is a valid :path (OPTIONS *) */
    q = rq_new();
    CU_ASSERT_EQUAL(add(q, ":method", "OPTIONS"), 0);
    CU_ASSERT_EQUAL(add(q, ":path", "*"), 0);
    free(q);
}

static void expect_one(const char *name, const char *value, size_t vlen, int want, int line)
{
    struct rq *q = rq_new();
    int rc = addn(q, name, value, vlen);

    CU_assertImplementation(rc == want, (unsigned)line, "sp__h2_req_add result", __FILE__, "",
                            CU_FALSE);
    if (rc != want)
        fprintf(stderr, "\n  line %d: %s: \"%.*s\" -> %d, want %d\n", line, name, (int)vlen, value,
                rc, want);
    free(q);
}

#define ONE(n, v, want) expect_one(n, v, sizeof(v) - 1, want, __LINE__)

static void test_pseudo_bad_values(void)
{
    /* :method must be a token */
    ONE(":method", "", -EINVAL);
    ONE(":method", "GE T", -EINVAL);
    ONE(":method", "GET\t", -EINVAL);
    ONE(":method", "G(ET", -EINVAL);
    ONE(":method", "G\x01T", -EINVAL);
    /* :path: origin-form or "*" */
    ONE(":path", "", -EINVAL);
    ONE(":path", "a/b", -EINVAL);
    ONE(":path", "http://x/", -EINVAL);
    ONE(":path", "**", -EINVAL);
    ONE(":path", "*/", -EINVAL);
    ONE(":path", "/a b", -EINVAL);
    ONE(":path", "/a\tb", -EINVAL);
    ONE(":path", "/a\x7f", -EINVAL);
    ONE(":path", "/\xc3\xa9", -EINVAL);
    /* :authority: no space, no userinfo, no path, no controls */
    ONE(":authority", "exa mple.com", -EINVAL);
    ONE(":authority", "user@example.com", -EINVAL);
    ONE(":authority", "user:pw@example.com", -EINVAL);
    ONE(":authority", "example.com/x", -EINVAL);
    ONE(":authority", "a\"b", -EINVAL);
    ONE(":authority", "a\x01", -EINVAL);
    ONE(":authority", "a\0b", -EINVAL);
    ONE(":authority", "a\x7f", -EINVAL);
    /* :scheme must be a token */
    ONE(":scheme", "ht tp", -EINVAL);
    ONE(":scheme", "", -EINVAL);
    /* unknown pseudo-headers, :protocol included (extended CONNECT is not enabled) */
    ONE(":protocol", "websocket", -EINVAL);
    ONE(":status", "200", -EINVAL);
    ONE(":foo", "bar", -EINVAL);
    ONE(":", "x", -EINVAL);
}

static void test_pseudo_repeat_and_order(void)
{
    static const char *names[] = {":method", ":path", ":scheme", ":authority"};
    static const char *vals[] = {"GET", "/", "http", "a.example"};

    for (size_t i = 0; i < 4; i++) {
        struct rq *q = rq_new();
        CU_ASSERT_EQUAL(add(q, names[i], vals[i]), 0);
        CU_ASSERT_EQUAL(add(q, names[i], vals[i]), -EINVAL); /* even identical */
        free(q);
    }
    /* a pseudo-header after a regular field */
    for (size_t i = 0; i < 4; i++) {
        struct rq *q = rq_new();
        CU_ASSERT_EQUAL(add(q, "accept", "*/*"), 0);
        CU_ASSERT_EQUAL(add(q, names[i], vals[i]), -EINVAL);
        free(q);
    }
    /* the rejected pseudo did not replace what was stored */
    struct rq *q = rq_new();
    CU_ASSERT_EQUAL(add(q, ":path", "/first"), 0);
    CU_ASSERT_EQUAL(add(q, ":path", "/second"), -EINVAL);
    CU_ASSERT_EQUAL(q->r.path.len, 6);
    CU_ASSERT(!memcmp(q->store.data + q->r.path.off, "/first", 6));
    free(q);
}

/* ---- sp__h2_req_add: regular fields ---- */

static void test_field_names_values(void)
{
    ONE("x-ok", "a b\tc \x80\xff", 0); /* SP, HTAB and obs-text are fine inside */
    ONE("x-ok", "", 0);
    ONE("x-a.b_c~d!#$%&'*+-^`|", "v", 0);
    /* upper-case names (HTTP/2 requires lower case) */
    ONE("X-Upper", "v", -EINVAL);
    ONE("x-Upper", "v", -EINVAL);
    ONE("HOST", "a", -EINVAL);
    ONE("Content-Length", "1", -EINVAL);
    /* names that are not tokens */
    ONE("", "v", -EINVAL);
    ONE("x y", "v", -EINVAL);
    ONE("x:y", "v", -EINVAL);
    ONE("x\x01", "v", -EINVAL);
    ONE("x(", "v", -EINVAL);
    /* control characters in values: anything below SP but HTAB, and DEL */
    ONE("x-v", "a\x01", -EINVAL);
    ONE("x-v", "\x1f", -EINVAL);
    ONE("x-v", "a\x7f", -EINVAL);
    ONE("x-v", "a\rb", -EINVAL);
    ONE("x-v", "a\nb", -EINVAL);
    ONE("x-v", "a\r\nx-injected: 1", -EINVAL);
    ONE("x-v", "a\0b", -EINVAL);
    ONE("x-v", "\x0b", -EINVAL);
}

static void test_content_length(void)
{
    struct rq *q;

    ONE("content-length", "", -EINVAL);
    ONE("content-length", "12a", -EINVAL);
    ONE("content-length", "-1", -EINVAL);
    ONE("content-length", "+1", -EINVAL);
    ONE("content-length", " 1", -EINVAL);
    ONE("content-length", "1 ", -EINVAL);
    ONE("content-length", "1,1", -EINVAL);
    ONE("content-length", "0x10", -EINVAL);
    ONE("content-length", "99999999999999999999999", -EINVAL); /* would overflow */

    q = rq_new();
    CU_ASSERT_EQUAL(add(q, "content-length", "0"), 0);
    CU_ASSERT_EQUAL(q->r.content_length, 0);
    free(q);

    q = rq_new();
    CU_ASSERT_EQUAL(add(q, "content-length", "1234"), 0);
    CU_ASSERT_EQUAL(q->r.content_length, 1234);
    CU_ASSERT_EQUAL(q->r.nfields, 1);
    /* an identical repeat is accepted and kept once */
    CU_ASSERT_EQUAL(add(q, "content-length", "1234"), 0);
    CU_ASSERT_EQUAL(q->r.nfields, 1);
    CU_ASSERT_EQUAL(q->r.content_length, 1234);
    /* a different value is not */
    CU_ASSERT_EQUAL(add(q, "content-length", "1235"), -EINVAL);
    CU_ASSERT_EQUAL(q->r.content_length, 1234);
    free(q);

    q = rq_new();
    CU_ASSERT_EQUAL(add(q, "content-length", "5"), 0);
    CU_ASSERT_EQUAL(add(q, "content-length", "05"), 0); /* same number */
    CU_ASSERT_EQUAL(add(q, "content-length", "50"), -EINVAL);
    free(q);
}

static void test_list_limits(void)
{
    struct rq *q = rq_new();

    /* RFC 9113 6.5.2: name + value + 32 per field; exactly the limit fits */
    CU_ASSERT_EQUAL(
        sp__h2_req_add(&q->r, (const uint8_t *)":method", 7, (const uint8_t *)"GET", 3, 7 + 3 + 32),
        0);
    CU_ASSERT_EQUAL(q->r.list_size, 42);
    CU_ASSERT_EQUAL(
        sp__h2_req_add(&q->r, (const uint8_t *)"a", 1, (const uint8_t *)"bc", 2, 42 + 1 + 2 + 32),
        0);
    CU_ASSERT_EQUAL(q->r.list_size, 77);
    /* one byte over */
    CU_ASSERT_EQUAL(
        sp__h2_req_add(&q->r, (const uint8_t *)"a", 1, (const uint8_t *)"bc", 2, 77 + 35 - 1),
        -E2BIG);
    free(q);

    /* a single large value over a 16 KiB limit */
    q = rq_new();
    char *big = malloc(17000);
    CU_ASSERT_FATAL(big != NULL);
    memset(big, 'v', 17000);
    CU_ASSERT_EQUAL(
        sp__h2_req_add(&q->r, (const uint8_t *)"x-big", 5, (const uint8_t *)big, 17000, 16384),
        -E2BIG);
    free(big);
    free(q);

    /* many small fields that add up over the limit */
    q = rq_new();
    int rc = 0;
    unsigned i;
    for (i = 0; i < 90 && rc == 0; i++)
        rc = sp__h2_req_add(&q->r, (const uint8_t *)"x-a", 3, (const uint8_t *)"0123456789", 10,
                            1000);
    CU_ASSERT_EQUAL(rc, -E2BIG);
    CU_ASSERT_EQUAL(i, 1000 / 45 + 1); /* 22 fit (990 bytes), the 23rd does not */
    free(q);

    /* more than SP_H2_MAX_FIELDS regular fields: 431, whatever their size */
    q = rq_new();
    add_pseudo(q, "GET", "/", "a");
    for (i = 0; i < SP_H2_MAX_FIELDS; i++) {
        char name[16];
        snprintf(name, sizeof(name), "x-%u", i);
        CU_ASSERT_EQUAL(add(q, name, "v"), 0);
    }
    CU_ASSERT_EQUAL(q->r.nfields, SP_H2_MAX_FIELDS);
    CU_ASSERT_EQUAL(add(q, "x-one-more", "v"), -E2BIG);
    free(q);
}

/* ---- sp__h2_build_request ---- */

static const struct sp_fwd xff = {.add = true, .name = "X-Forwarded-For", .name_len = 15};

static void test_build_basic(void)
{
    struct rq *q = rq_new();
    static struct head h;

    add_pseudo(q, "GET", "/echo?x=1", "example.com:8080");
    CU_ASSERT_EQUAL(add(q, "accept", "*/*"), 0);
    CU_ASSERT_EQUAL(add(q, "user-agent", "unit/1.0"), 0);
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    CU_ASSERT(h.terminated);
    CU_ASSERT(no_bare_crlf(&h));
    CU_ASSERT_FATAL(h.nlines >= 1);
    CU_ASSERT_STRING_EQUAL(h.line[0], "GET /echo?x=1 HTTP/1.1");
    CU_ASSERT(field_is(&h, "host", "example.com:8080"));
    CU_ASSERT(field_is(&h, "accept", "*/*"));
    CU_ASSERT(field_is(&h, "user-agent", "unit/1.0"));
    CU_ASSERT_EQUAL(h.nlines, 4); /* request line, host, accept, user-agent */
    /* GET that ended with HEADERS: no framing at all */
    CU_ASSERT_EQUAL(h.body, SP_H1_BODY_NONE);
    CU_ASSERT_EQUAL(field(&h, "content-length", NULL), 0);
    CU_ASSERT_EQUAL(field(&h, "transfer-encoding", NULL), 0);
    CU_ASSERT_EQUAL(field(&h, "connection", NULL), 0);
    CU_ASSERT_EQUAL(field(&h, "x-forwarded-for", NULL), 0);
    free(q);

    /* OPTIONS * */
    q = rq_new();
    add_pseudo(q, "OPTIONS", "*", "a.example");
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    CU_ASSERT_STRING_EQUAL(h.line[0], "OPTIONS * HTTP/1.1");
    free(q);

    /* a request line from an extension method */
    q = rq_new();
    add_pseudo(q, "PROPFIND", "/dav/", "a.example");
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    CU_ASSERT_STRING_EQUAL(h.line[0], "PROPFIND /dav/ HTTP/1.1");
    free(q);
}

static void test_build_host(void)
{
    struct rq *q;
    static struct head h;

    /* no :authority: the host field is the Host */
    q = rq_new();
    add_pseudo(q, "GET", "/", NULL);
    CU_ASSERT_EQUAL(add(q, "host", "from-field.example"), 0);
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    CU_ASSERT(field_is(&h, "host", "from-field.example"));
    free(q);

    /* both: :authority wins, the host field is dropped */
    q = rq_new();
    add_pseudo(q, "GET", "/", "authority.example");
    CU_ASSERT_EQUAL(add(q, "x-before", "1"), 0);
    CU_ASSERT_EQUAL(add(q, "host", "field.example"), 0);
    CU_ASSERT_EQUAL(add(q, "x-after", "2"), 0);
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    CU_ASSERT(field_is(&h, "host", "authority.example"));
    CU_ASSERT(strstr(h.raw, "field.example") == NULL);
    CU_ASSERT(field_is(&h, "x-before", "1"));
    CU_ASSERT(field_is(&h, "x-after", "2"));
    free(q);

    /* two host fields: ambiguous for HTTP/1.1 */
    q = rq_new();
    add_pseudo(q, "GET", "/", NULL);
    CU_ASSERT_EQUAL(add(q, "host", "a.example"), 0);
    CU_ASSERT_EQUAL(add(q, "host", "b.example"), 0);
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL(h.rc, -EINVAL);
    free(q);

    /* ... even next to an :authority, and even identical */
    q = rq_new();
    add_pseudo(q, "GET", "/", "a.example");
    CU_ASSERT_EQUAL(add(q, "host", "a.example"), 0);
    CU_ASSERT_EQUAL(add(q, "host", "a.example"), 0);
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL(h.rc, -EINVAL);
    free(q);

    /* a host field with characters an authority cannot hold */
    q = rq_new();
    add_pseudo(q, "GET", "/", NULL);
    CU_ASSERT_EQUAL(add(q, "host", "user@evil.example"), 0);
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL(h.rc, -EINVAL);
    free(q);
}

static void test_build_missing_pseudo(void)
{
    struct rq *q;
    static struct head h;

    q = rq_new(); /* no :path */
    CU_ASSERT_EQUAL(add(q, ":method", "GET"), 0);
    CU_ASSERT_EQUAL(add(q, ":scheme", "http"), 0);
    CU_ASSERT_EQUAL(add(q, ":authority", "a"), 0);
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL(h.rc, -EINVAL);
    free(q);

    q = rq_new(); /* no :method */
    CU_ASSERT_EQUAL(add(q, ":scheme", "http"), 0);
    CU_ASSERT_EQUAL(add(q, ":path", "/"), 0);
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL(h.rc, -EINVAL);
    free(q);

    q = rq_new(); /* no :scheme */
    CU_ASSERT_EQUAL(add(q, ":method", "GET"), 0);
    CU_ASSERT_EQUAL(add(q, ":path", "/"), 0);
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL(h.rc, -EINVAL);
    free(q);

    /* CONNECT is not proxied */
    q = rq_new();
    add_pseudo(q, "CONNECT", "/", "a.example:443");
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL(h.rc, -EINVAL);
    free(q);
    q = rq_new();
    CU_ASSERT_EQUAL(add(q, ":method", "CONNECT"), 0);
    CU_ASSERT_EQUAL(add(q, ":authority", "a.example:443"), 0);
    build(q, NULL, false, false, &h);
    CU_ASSERT_EQUAL(h.rc, -EINVAL);
    free(q);
}

static void test_build_cookie_te(void)
{
    struct rq *q = rq_new();
    static struct head h;
    const char *v = NULL;

    add_pseudo(q, "GET", "/", "a.example");
    CU_ASSERT_EQUAL(add(q, "cookie", "a=1"), 0);
    CU_ASSERT_EQUAL(add(q, "x-mid", "m"), 0);
    CU_ASSERT_EQUAL(add(q, "cookie", "b=2"), 0);
    CU_ASSERT_EQUAL(add(q, "te", "trailers"), 0);
    CU_ASSERT_EQUAL(add(q, "te", "gzip"), 0); /* not for us to forward */
    CU_ASSERT_EQUAL(add(q, "cookie", "c=3"), 0);
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    CU_ASSERT_EQUAL(field(&h, "cookie", &v), 1);
    CU_ASSERT(v && !strcmp(v, "a=1; b=2; c=3"));
    CU_ASSERT(field_is(&h, "te", "trailers")); /* kept, as HAProxy does (gRPC) */
    CU_ASSERT(field_is(&h, "x-mid", "m"));
    free(q);

    /* a single cookie passes as it is */
    q = rq_new();
    add_pseudo(q, "GET", "/", "a.example");
    CU_ASSERT_EQUAL(add(q, "cookie", "only=1; two=2"), 0);
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    CU_ASSERT(field_is(&h, "cookie", "only=1; two=2"));
    free(q);
}

static void test_build_body_framing(void)
{
    struct rq *q;
    static struct head h;

    /* content-length: forwarded once, CL framing, no chunking */
    q = rq_new();
    add_pseudo(q, "POST", "/sink", "a");
    CU_ASSERT_EQUAL(add(q, "content-length", "5"), 0);
    CU_ASSERT_EQUAL(add(q, "content-length", "5"), 0);
    build(q, NULL, false, false, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    CU_ASSERT_EQUAL(h.body, SP_H1_BODY_CL);
    CU_ASSERT(field_is(&h, "content-length", "5"));
    CU_ASSERT_EQUAL(field(&h, "transfer-encoding", NULL), 0);
    free(q);

    /* a body of unknown length: chunked toward the server */
    q = rq_new();
    add_pseudo(q, "POST", "/sink", "a");
    build(q, NULL, false, false, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    CU_ASSERT_EQUAL(h.body, SP_H1_BODY_CHUNKED);
    CU_ASSERT(field_is(&h, "transfer-encoding", "chunked"));
    CU_ASSERT_EQUAL(field(&h, "content-length", NULL), 0);
    free(q);

    /* GET with DATA to follow and no length: chunked as well */
    q = rq_new();
    add_pseudo(q, "GET", "/", "a");
    build(q, NULL, false, false, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    CU_ASSERT_EQUAL(h.body, SP_H1_BODY_CHUNKED);
    CU_ASSERT(field_is(&h, "transfer-encoding", "chunked"));
    free(q);

    /* POST and PUT that ended with HEADERS: content-length: 0 */
    static const char *with_cl0[] = {"POST", "PUT", "PATCH"};
    for (size_t i = 0; i < 3; i++) {
        q = rq_new();
        add_pseudo(q, with_cl0[i], "/sink", "a");
        build(q, NULL, false, true, &h);
        CU_ASSERT_EQUAL_FATAL(h.rc, 0);
        CU_ASSERT_EQUAL(h.body, SP_H1_BODY_NONE);
        CU_ASSERT(field_is(&h, "content-length", "0"));
        CU_ASSERT_EQUAL(field(&h, "transfer-encoding", NULL), 0);
        free(q);
    }

    /* GET, HEAD, DELETE that ended with HEADERS: nothing */
    static const char *bare[] = {"GET", "HEAD", "DELETE"};
    for (size_t i = 0; i < 3; i++) {
        q = rq_new();
        add_pseudo(q, bare[i], "/", "a");
        build(q, NULL, false, true, &h);
        CU_ASSERT_EQUAL_FATAL(h.rc, 0);
        CU_ASSERT_EQUAL(h.body, SP_H1_BODY_NONE);
        CU_ASSERT_EQUAL(field(&h, "content-length", NULL), 0);
        CU_ASSERT_EQUAL(field(&h, "transfer-encoding", NULL), 0);
        free(q);
    }

    /* content-length: 0 with END_STREAM: forwarded once, no chunking */
    q = rq_new();
    add_pseudo(q, "POST", "/sink", "a");
    CU_ASSERT_EQUAL(add(q, "content-length", "0"), 0);
    build(q, NULL, false, true, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    CU_ASSERT(field_is(&h, "content-length", "0"));
    CU_ASSERT_EQUAL(field(&h, "transfer-encoding", NULL), 0);
    CU_ASSERT(h.body == SP_H1_BODY_NONE || h.body == SP_H1_BODY_CL);
    free(q);
}

static void test_build_xff_close(void)
{
    struct rq *q = rq_new();
    static struct head h;
    struct sp_fwd off = {.add = false, .name = "X-Forwarded-For", .name_len = 15};
    struct sp_fwd other = {.add = true, .name = "X-Client-IP", .name_len = 11};

    add_pseudo(q, "GET", "/", "a");
    CU_ASSERT_EQUAL(add(q, "x-forwarded-for", "10.9.8.7"), 0);
    build(q, &xff, false, true, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    /* the client's field kept, ours appended after it */
    CU_ASSERT_EQUAL(field(&h, "x-forwarded-for", NULL), 2);
    {
        const char *a = strstr(h.raw, "-for: 10.9.8.7\r\n");
        const char *b = strstr(h.raw, "-For: 192.0.2.7\r\n");
        CU_ASSERT(a && b && a < b);
    }
    CU_ASSERT_EQUAL(field(&h, "connection", NULL), 0);

    build(q, &off, false, true, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    CU_ASSERT(field_is(&h, "x-forwarded-for", "10.9.8.7"));

    build(q, &other, true, true, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    CU_ASSERT(field_is(&h, "x-client-ip", "192.0.2.7"));
    CU_ASSERT(field_is(&h, "connection", "close"));
    CU_ASSERT(h.terminated);
    free(q);

    q = rq_new();
    add_pseudo(q, "GET", "/", "a");
    build(q, &xff, false, true, &h);
    CU_ASSERT_EQUAL_FATAL(h.rc, 0);
    CU_ASSERT(field_is(&h, "x-forwarded-for", "192.0.2.7"));
    free(q);
}

static void test_build_nospace(void)
{
    struct rq *q = rq_new();
    char mem[64];
    struct sp_buf out;
    enum sp_h1_body body = SP_H1_BODY_CHUNKED;
    struct sockaddr_storage peer = peer_v4("192.0.2.7");
    char big[200];

    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = 0;
    add_pseudo(q, "GET", "/", "a.example");
    CU_ASSERT_EQUAL(add(q, "x-big", big), 0);

    /* a buffer already holding bytes at the front */
    memset(mem, '#', sizeof(mem));
    memcpy(mem, "PENDING", 7);
    out = (struct sp_buf){.data = mem, .size = sizeof(mem), .head = 0, .tail = 7};
    CU_ASSERT_EQUAL(sp__h2_build_request(&out, &q->r, &xff, &peer, false, true, &body), -ENOSPC);
    CU_ASSERT_EQUAL(out.head, 0);
    CU_ASSERT_EQUAL(out.tail, 7);
    CU_ASSERT(!memcmp(mem, "PENDING", 7));

    /* an empty one */
    out = (struct sp_buf){.data = mem, .size = sizeof(mem)};
    CU_ASSERT_EQUAL(sp__h2_build_request(&out, &q->r, &xff, &peer, false, true, &body), -ENOSPC);
    CU_ASSERT_EQUAL(sp_buf_len(&out), 0);

    /* pending bytes not at the front (a realignment may happen): they stay the only pending
     * bytes, unchanged */
    memset(mem, '#', sizeof(mem));
    memcpy(mem + 10, "PENDING", 7);
    out = (struct sp_buf){.data = mem, .size = sizeof(mem), .head = 10, .tail = 17};
    CU_ASSERT_EQUAL(sp__h2_build_request(&out, &q->r, &xff, &peer, false, true, &body), -ENOSPC);
    CU_ASSERT_EQUAL(sp_buf_len(&out), 7);
    CU_ASSERT(sp_buf_len(&out) == 7 && !memcmp(sp_buf_head(&out), "PENDING", 7));
    if (sp_buf_len(&out) != 7)
        fprintf(stderr, "\n  -ENOSPC left %u pending bytes, want the 7 there before: \"%.*s\"\n",
                sp_buf_len(&out), (int)sp_buf_len(&out), sp_buf_head(&out));
    free(q);

    /* a request that just fits after realignment is appended intact */
    q = rq_new();
    add_pseudo(q, "GET", "/", "a");
    static char mem2[128];
    memset(mem2, '#', sizeof(mem2));
    memcpy(mem2 + 100, "PRE", 3);
    out = (struct sp_buf){.data = mem2, .size = sizeof(mem2), .head = 100, .tail = 103};
    CU_ASSERT_EQUAL(sp__h2_build_request(&out, &q->r, NULL, &peer, false, true, &body), 0);
    static const char want[] = "PREGET / HTTP/1.1\r\nhost: a\r\n\r\n";
    CU_ASSERT_EQUAL(sp_buf_len(&out), sizeof(want) - 1);
    CU_ASSERT(sp_buf_len(&out) == sizeof(want) - 1 &&
              !strncasecmp(sp_buf_head(&out), want, sizeof(want) - 1));
    free(q);
}

/* ---- sp__h2_res_nv ---- */

static void test_res_nv(void)
{
    static const char raw[] = "HTTP/1.1 200 OK\r\n"
                              "Content-Type: text/plain\r\n"
                              "Connection: keep-alive, X-Private\r\n"
                              "X-Private: secret\r\n"
                              "Keep-Alive: timeout=5\r\n"
                              "Proxy-Connection: keep-alive\r\n"
                              "Transfer-Encoding: chunked\r\n"
                              "Upgrade: foo\r\n"
                              "X-Custom-NAME: Mixed Case  Value\r\n"
                              "Set-Cookie: a=1\r\n"
                              "Set-Cookie: b=2\r\n"
                              "\r\n";
    static struct sp_h1_msg m;
    nghttp2_nv nva[16];
    char scratch[256];
    char buf[sizeof(raw)];

    memcpy(buf, raw, sizeof(raw));
    long hl = sp_h1_parse_response(buf, sizeof(raw) - 1, 65536, SP_METH_GET, NULL, &m);
    CU_ASSERT_EQUAL_FATAL(hl, (long)sizeof(raw) - 1);

    int n = sp__h2_res_nv(buf, &m, nva, 16, scratch, sizeof(scratch));
    CU_ASSERT_EQUAL_FATAL(n, 5);
    static const char *want[][2] = {{":status", "200"},
                                    {"content-type", "text/plain"},
                                    {"x-custom-name", "Mixed Case  Value"},
                                    {"set-cookie", "a=1"},
                                    {"set-cookie", "b=2"}};
    for (int i = 0; i < n; i++) {
        CU_ASSERT_EQUAL(nva[i].namelen, strlen(want[i][0]));
        CU_ASSERT(nva[i].namelen == strlen(want[i][0]) &&
                  !memcmp(nva[i].name, want[i][0], nva[i].namelen));
        CU_ASSERT_EQUAL(nva[i].valuelen, strlen(want[i][1]));
        CU_ASSERT(nva[i].valuelen == strlen(want[i][1]) &&
                  !memcmp(nva[i].value, want[i][1], nva[i].valuelen));
    }
    /* the response buffer itself is untouched (names lower-cased in scratch) */
    CU_ASSERT(!memcmp(buf, raw, sizeof(raw)));

    /* too few entries, too little scratch */
    CU_ASSERT_EQUAL(sp__h2_res_nv(buf, &m, nva, 3, scratch, sizeof(scratch)), -ENOSPC);
    CU_ASSERT_EQUAL(sp__h2_res_nv(buf, &m, nva, 0, scratch, sizeof(scratch)), -ENOSPC);
    CU_ASSERT_EQUAL(sp__h2_res_nv(buf, &m, nva, 16, scratch, 20), -ENOSPC);
    CU_ASSERT_EQUAL(sp__h2_res_nv(buf, &m, nva, 16, scratch, 2), -ENOSPC);
}

static void test_res_nv_status(void)
{
    static const char raw[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
    static struct sp_h1_msg m;
    nghttp2_nv nva[4];
    char scratch[64];

    long hl = sp_h1_parse_response(raw, sizeof(raw) - 1, 65536, SP_METH_GET, NULL, &m);
    CU_ASSERT_EQUAL_FATAL(hl, (long)sizeof(raw) - 1);
    int n = sp__h2_res_nv(raw, &m, nva, 4, scratch, sizeof(scratch));
    CU_ASSERT_EQUAL_FATAL(n, 2);
    CU_ASSERT(nva[0].namelen == 7 && !memcmp(nva[0].name, ":status", 7));
    CU_ASSERT(nva[0].valuelen == 3 && !memcmp(nva[0].value, "404", 3));
    CU_ASSERT(nva[1].namelen == 14 && !memcmp(nva[1].name, "content-length", 14));
    CU_ASSERT(nva[1].valuelen == 1 && !memcmp(nva[1].value, "0", 1));

    /* only hop-by-hop fields: just the status */
    static const char raw2[] = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
    hl = sp_h1_parse_response(raw2, sizeof(raw2) - 1, 65536, SP_METH_GET, NULL, &m);
    CU_ASSERT_EQUAL_FATAL(hl, (long)sizeof(raw2) - 1);
    n = sp__h2_res_nv(raw2, &m, nva, 1, scratch, sizeof(scratch));
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT(nva[0].valuelen == 3 && !memcmp(nva[0].value, "204", 3));
}

/* ---- sp__base64url_decode ---- */

static void b64_ok(const char *in, const void *want, size_t wlen, int line)
{
    uint8_t out[64];
    long n = sp__base64url_decode(in, strlen(in), out, sizeof(out));

    CU_assertImplementation(n == (long)wlen && !memcmp(out, want, wlen), (unsigned)line,
                            "base64url decodes", __FILE__, "", CU_FALSE);
}

static void b64_bad(const char *in, size_t out_len, int line)
{
    uint8_t out[64];
    long n = sp__base64url_decode(in, strlen(in), out, out_len);

    CU_assertImplementation(n == -EINVAL, (unsigned)line, "base64url rejects", __FILE__, "",
                            CU_FALSE);
}

static void test_base64url(void)
{
    /* RFC 4648 test vectors, unpadded */
    b64_ok("", "", 0, __LINE__);
    b64_ok("Zg", "f", 1, __LINE__);
    b64_ok("Zm8", "fo", 2, __LINE__);
    b64_ok("Zm9v", "foo", 3, __LINE__);
    b64_ok("Zm9vYg", "foob", 4, __LINE__);
    b64_ok("Zm9vYmE", "fooba", 5, __LINE__);
    b64_ok("Zm9vYmFy", "foobar", 6, __LINE__);
    /* the url alphabet: '-' is 62, '_' is 63 */
    b64_ok("-_8", "\xfb\xff", 2, __LINE__);
    b64_ok("____", "\xff\xff\xff", 3, __LINE__);
    /* an HTTP2-Settings payload as curl sends it: two settings, 12 bytes */
    b64_ok("AAMAAABkAAQCAAAA", "\x00\x03\x00\x00\x00\x64\x00\x04\x02\x00\x00\x00", 12, __LINE__);

    /* characters outside the url alphabet, padding included */
    b64_bad("Zm+v", 64, __LINE__);
    b64_bad("Zm/v", 64, __LINE__);
    b64_bad("Zg==", 64, __LINE__);
    b64_bad("Zm8=", 64, __LINE__);
    b64_bad("Zm 9", 64, __LINE__);
    b64_bad("Zm9\n", 64, __LINE__);
    /* a length that no byte count encodes to */
    b64_bad("Z", 64, __LINE__);
    b64_bad("Zm9vY", 64, __LINE__);
    b64_bad("Zm9vYmFyZ", 64, __LINE__);
    /* non-zero leftover bits */
    b64_bad("Zh", 64, __LINE__);
    b64_bad("Zm9", 64, __LINE__);
    /* output too small */
    b64_bad("Zm9vYmFy", 5, __LINE__);
    b64_ok("Zm9vYmFy", "foobar", 6, __LINE__);

    /* embedded NUL in the input is not a valid character either */
    uint8_t out[8];
    CU_ASSERT_EQUAL(sp__base64url_decode("Zm\0v", 4, out, sizeof(out)), -EINVAL);
}

/* ---- sp__h2_view: the request as rules see it ---- */

struct vw {
    char mem[STORE_SIZE];
    struct sp_buf scratch;
    struct sp_h2_view v;
};

static struct vw *view_of(struct rq *q)
{
    struct vw *w = calloc(1, sizeof(*w));

    CU_ASSERT_FATAL(w != NULL);
    w->scratch = (struct sp_buf){.data = w->mem, .size = sizeof(w->mem)};
    CU_ASSERT_EQUAL(sp__h2_view_init(&w->v, &q->r, &w->scratch), 0);
    return w;
}

/* "name: value" of view field i */
static const char *vfield(const struct vw *w, size_t i)
{
    static char line[1024];
    const char *n, *v;
    size_t nl, vl;

    sp__h2_view_field(&w->v, i, &n, &nl, &v, &vl);
    snprintf(line, sizeof(line), "%.*s: %.*s", (int)nl, n, (int)vl, v);
    return line;
}

static bool vuri_is(const struct vw *w, const char *want)
{
    return w->v.uri_len == strlen(want) && !memcmp(w->v.uri, want, w->v.uri_len);
}

static void test_view_uri(void)
{
    struct rq *q = rq_new();
    struct vw *w;

    /* with :authority: the absolute form, as HAProxy's h2_prepare_htx_reqline() builds it */
    add_pseudo(q, "GET", "/a/b?x=1", "example.com:8080");
    w = view_of(q);
    CU_ASSERT(vuri_is(w, "http://example.com:8080/a/b?x=1"));
    free(w);
    free(q);

    q = rq_new();
    CU_ASSERT_EQUAL(add(q, ":method", "OPTIONS"), 0);
    CU_ASSERT_EQUAL(add(q, ":scheme", "https"), 0);
    CU_ASSERT_EQUAL(add(q, ":path", "*"), 0);
    CU_ASSERT_EQUAL(add(q, ":authority", "example.com"), 0);
    w = view_of(q);
    CU_ASSERT(vuri_is(w, "https://example.com")); /* "*" is left out */
    free(w);
    free(q);

    /* without :authority (only a host field) the URI is the path */
    q = rq_new();
    add_pseudo(q, "GET", "/p?q=1", NULL);
    CU_ASSERT_EQUAL(add(q, "host", "h.example"), 0);
    w = view_of(q);
    CU_ASSERT(vuri_is(w, "/p?q=1"));
    CU_ASSERT_EQUAL(w->v.n, 1);
    CU_ASSERT_STRING_EQUAL(vfield(w, 0), "host: h.example");
    free(w);
    free(q);

    /* too little scratch: the path, and the caller is told */
    q = rq_new();
    add_pseudo(q, "GET", "/long/enough", "example.com");
    struct vw *small = calloc(1, sizeof(*small));
    CU_ASSERT_FATAL(small != NULL);
    small->scratch = (struct sp_buf){.data = small->mem, .size = 10};
    CU_ASSERT_EQUAL(sp__h2_view_init(&small->v, &q->r, &small->scratch), -ENOSPC);
    CU_ASSERT(vuri_is(small, "/long/enough"));
    CU_ASSERT_EQUAL(small->scratch.tail, 0);
    free(small);
    free(q);
}

static void test_view_fields(void)
{
    struct rq *q = rq_new();
    struct vw *w;

    add_pseudo(q, "GET", "/", "a.example");
    CU_ASSERT_EQUAL(add(q, "cookie", "a=1"), 0);
    CU_ASSERT_EQUAL(add(q, "host", "b.example"), 0); /* hidden behind :authority */
    CU_ASSERT_EQUAL(add(q, "x-mid", "m"), 0);
    CU_ASSERT_EQUAL(add(q, "cookie", "b=2"), 0);
    CU_ASSERT_EQUAL(add(q, "cookie", "c=3"), 0);
    w = view_of(q);
    CU_ASSERT_EQUAL_FATAL(w->v.n, 3);
    CU_ASSERT_STRING_EQUAL(vfield(w, 0), "host: a.example");
    CU_ASSERT_STRING_EQUAL(vfield(w, 1), "x-mid: m");
    /* crumbs joined after every other field (HAProxy's h2_make_htx_request()) */
    CU_ASSERT_STRING_EQUAL(vfield(w, 2), "cookie: a=1; b=2; c=3");
    free(w);
    free(q);

    /* one cookie field: used where it lies, moved last all the same */
    q = rq_new();
    add_pseudo(q, "GET", "/", NULL);
    CU_ASSERT_EQUAL(add(q, "cookie", "only=1"), 0);
    CU_ASSERT_EQUAL(add(q, "host", "h1"), 0);
    CU_ASSERT_EQUAL(add(q, "host", "h2"), 0); /* HAProxy keeps the first */
    w = view_of(q);
    CU_ASSERT_EQUAL_FATAL(w->v.n, 2);
    CU_ASSERT_STRING_EQUAL(vfield(w, 0), "host: h1");
    CU_ASSERT_STRING_EQUAL(vfield(w, 1), "cookie: only=1");
    CU_ASSERT_EQUAL(w->scratch.tail, 0); /* nothing written */
    free(w);
    free(q);

    /* empty crumbs keep their separators */
    q = rq_new();
    add_pseudo(q, "GET", "/", NULL);
    CU_ASSERT_EQUAL(add(q, "cookie", ""), 0);
    CU_ASSERT_EQUAL(add(q, "cookie", "b=2"), 0);
    CU_ASSERT_EQUAL(add(q, "cookie", ""), 0);
    w = view_of(q);
    CU_ASSERT_EQUAL_FATAL(w->v.n, 1);
    CU_ASSERT_STRING_EQUAL(vfield(w, 0), "cookie: ; b=2; ");
    CU_ASSERT_EQUAL(w->scratch.tail, w->v.cookie_len);
    free(w);
    free(q);

    /* no cookie, no authority: fields as they came */
    q = rq_new();
    add_pseudo(q, "GET", "/", NULL);
    CU_ASSERT_EQUAL(add(q, "a", "1"), 0);
    CU_ASSERT_EQUAL(add(q, "b", "2"), 0);
    w = view_of(q);
    CU_ASSERT_EQUAL_FATAL(w->v.n, 2);
    CU_ASSERT_STRING_EQUAL(vfield(w, 0), "a: 1");
    CU_ASSERT_STRING_EQUAL(vfield(w, 1), "b: 2");
    free(w);
    free(q);

    /* the most fields a request may have, all cookies, plus the authority */
    q = rq_new();
    add_pseudo(q, "GET", "/", "a.example");
    for (int i = 0; i < SP_H2_MAX_FIELDS; i++)
        CU_ASSERT_EQUAL(add(q, "cookie", "k=v"), 0);
    w = view_of(q);
    CU_ASSERT_EQUAL(w->v.n, 2);
    CU_ASSERT_EQUAL(w->v.cookie_len, SP_H2_MAX_FIELDS * 5 - 2);
    free(w);
    free(q);
}

/* The view through the ACL engine, as http/route.c evaluates rules */
static void view_hdr(const void *req, size_t i, const char **name, size_t *nlen, const char **value,
                     size_t *vlen)
{
    sp__h2_view_field(req, i, name, nlen, value, vlen);
}

static int view_acl(const struct vw *w, const char *def)
{
    char buf[512], *words[16], *save = NULL, err[256];
    int n = 0;

    snprintf(buf, sizeof(buf), "%s", def);
    for (char *t = strtok_r(buf, " ", &save); t && n < 16; t = strtok_r(NULL, " ", &save))
        words[n++] = t;
    struct sp_acl_set *set = sp_acl_set_new();
    CU_ASSERT_FATAL(set != NULL);
    char *cw[] = {"if", "x"};
    struct sp_acl_cond *c = NULL;
    int ret = -1;
    if (sp_acl_declare(set, NULL, words, n, err, sizeof(err)) == 0 &&
        (c = sp_acl_cond_parse(set, NULL, cw, 2, err, sizeof(err)))) {
        struct sp_acl_env env = {
            .method = "GET",
            .method_len = 3,
            .uri = w->v.uri,
            .uri_len = w->v.uri_len,
            .version = 20,
            .nhdrs = w->v.n,
            .hdr = view_hdr,
            .req = &w->v,
            .fe_idx = -1,
            .be_idx = -1,
        };
        ret = sp_acl_cond_eval(c, &env);
    } else {
        fprintf(stderr, "\n  [%s]: %s\n", def, err);
    }
    sp_acl_cond_free(c);
    sp_acl_set_free(set);
    return ret;
}

static void test_view_acl(void)
{
    struct rq *q = rq_new();
    struct vw *w;

    add_pseudo(q, "GET", "/img/a.png?id=7", "Example.com");
    CU_ASSERT_EQUAL(add(q, "cookie", "s=1"), 0);
    CU_ASSERT_EQUAL(add(q, "cookie", "t=2"), 0);
    w = view_of(q);
    CU_ASSERT_EQUAL(view_acl(w, "x url http://Example.com/img/a.png?id=7"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x url_beg /img"), 0);
    CU_ASSERT_EQUAL(view_acl(w, "x url_beg http://Example.com/"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x url_reg ^http://[^/]+/img/"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x url_len 33"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x url_param(id) 7"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x path /img/a.png"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x base Example.com/img/a.png"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x query id=7"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x url_reg ^[^/:]*://"), 1); /* the built-in HTTP_URL_ABS */
    CU_ASSERT_EQUAL(view_acl(w, "x hdr_cnt(cookie) 1"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x req.fhdr_cnt(cookie) 1"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x req.fhdr(cookie) s=1;"), 0);
    CU_ASSERT_EQUAL(view_acl(w, "x req.fhdr(cookie) -m str s=1;"), 0);
    CU_ASSERT_EQUAL(view_acl(w, "x req.fhdr(cookie) -m beg s=1;"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x req.fhdr(cookie) -m end ;"), 0);
    CU_ASSERT_EQUAL(view_acl(w, "x req.fhdr(cookie) -m len 8"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x req.cook(t) 2"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x hdr(host) -i example.com"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x hdr_cnt 2"), 1); /* host and the joined cookie */
    free(w);
    free(q);

    /* without :authority: url is the path */
    q = rq_new();
    add_pseudo(q, "GET", "/img/a.png", NULL);
    CU_ASSERT_EQUAL(add(q, "host", "example.com"), 0);
    w = view_of(q);
    CU_ASSERT_EQUAL(view_acl(w, "x url /img/a.png"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x url_beg /img"), 1);
    CU_ASSERT_EQUAL(view_acl(w, "x base example.com/img/a.png"), 1);
    free(w);
    free(q);
}

/* ---- sp__h2_fscan: empty DATA frames ---- */

static size_t frame(uint8_t *out, uint32_t len, uint8_t type, uint8_t flags, uint32_t sid)
{
    out[0] = (uint8_t)(len >> 16);
    out[1] = (uint8_t)(len >> 8);
    out[2] = (uint8_t)len;
    out[3] = type;
    out[4] = flags;
    out[5] = (uint8_t)(sid >> 24);
    out[6] = (uint8_t)(sid >> 16);
    out[7] = (uint8_t)(sid >> 8);
    out[8] = (uint8_t)sid;
    memset(out + 9, 'p', len);
    return 9 + len;
}

static void test_fscan(void)
{
    static uint8_t buf[4096];
    size_t n = 0;
    struct sp_h2_fscan sc;

    memcpy(buf, NGHTTP2_CLIENT_MAGIC, NGHTTP2_CLIENT_MAGIC_LEN);
    n += NGHTTP2_CLIENT_MAGIC_LEN;
    n += frame(buf + n, 6, NGHTTP2_SETTINGS, 0, 0);
    n += frame(buf + n, 0, NGHTTP2_DATA, 0, 1);                       /* empty: 1 */
    n += frame(buf + n, 0, NGHTTP2_DATA, NGHTTP2_FLAG_END_STREAM, 1); /* ends the stream */
    n += frame(buf + n, 5, NGHTTP2_DATA, 0, 3);                       /* payload */
    n += frame(buf + n, 0, NGHTTP2_HEADERS, 0, 5);                    /* not DATA */
    n += frame(buf + n, 0, NGHTTP2_DATA, 0, 7);                       /* empty: 2 */
    /* padded: pad length 3, nothing else: empty (3) */
    size_t at = n;
    n += frame(buf + n, 4, NGHTTP2_DATA, NGHTTP2_FLAG_PADDED, 1);
    buf[at + 9] = 3;
    /* padded with one byte of payload: not empty */
    at = n;
    n += frame(buf + n, 5, NGHTTP2_DATA, NGHTTP2_FLAG_PADDED, 1);
    buf[at + 9] = 3;
    /* a payload that looks like a frame header is skipped as payload */
    at = n;
    n += frame(buf + n, 9, NGHTTP2_DATA, 0, 1);
    frame(buf + at + 9, 0, NGHTTP2_DATA, 0, 1);
    n += frame(buf + n, 0, NGHTTP2_DATA, 0, 9); /* empty: 4 */

    sp__h2_fscan_init(&sc, NGHTTP2_CLIENT_MAGIC_LEN);
    CU_ASSERT_EQUAL(sp__h2_fscan(&sc, buf, n, NULL, NULL), 4);

    /* the same bytes one at a time, and in every split of two */
    sp__h2_fscan_init(&sc, NGHTTP2_CLIENT_MAGIC_LEN);
    uint32_t total = 0;
    for (size_t i = 0; i < n; i++)
        total += sp__h2_fscan(&sc, buf + i, 1, NULL, NULL);
    CU_ASSERT_EQUAL(total, 4);
    for (size_t cut = 0; cut <= n; cut++) {
        sp__h2_fscan_init(&sc, NGHTTP2_CLIENT_MAGIC_LEN);
        total = sp__h2_fscan(&sc, buf, cut, NULL, NULL);
        total += sp__h2_fscan(&sc, buf + cut, n - cut, NULL, NULL);
        CU_ASSERT_EQUAL(total, 4);
    }

    /* a flood: 300 empty frames */
    n = 0;
    for (int i = 0; i < 300; i++)
        n += frame(buf + n, 0, NGHTTP2_DATA, 0, 1);
    sp__h2_fscan_init(&sc, 0);
    CU_ASSERT_EQUAL(sp__h2_fscan(&sc, buf, n, NULL, NULL), 300);
}

/* the frame headers and PRIORITY dependencies a scan reports */
struct seen {
    unsigned nhd, nprio;
    int32_t ids[16], prio_id[4], prio_dep[4];
};

static void seen_hd(void *arg, uint8_t type, uint8_t flags, int32_t id)
{
    struct seen *s = arg;
    (void)type, (void)flags;
    if (s->nhd < 16)
        s->ids[s->nhd] = id;
    s->nhd++;
}

static void seen_prio(void *arg, int32_t id, int32_t dep)
{
    struct seen *s = arg;
    if (s->nprio < 4) {
        s->prio_id[s->nprio] = id;
        s->prio_dep[s->nprio] = dep;
    }
    s->nprio++;
}

static const struct sp_h2_fscan_cbs seen_cbs = {.on_hd = seen_hd, .on_prio = seen_prio};

/* Every frame header is reported with its stream id (reserved bit cleared), and a PRIORITY
 * frame's dependency too, whatever the splits; payload bytes never read as headers. */
static void test_fscan_callbacks(void)
{
    static uint8_t buf[512];
    size_t n = 0, at;

    n += frame(buf + n, 0, NGHTTP2_HEADERS, NGHTTP2_FLAG_END_HEADERS, 1);
    at = n;
    n += frame(buf + n, 5, NGHTTP2_PRIORITY, 0, 3); /* 3 depends on 3 */
    buf[at + 9] = 0x80, buf[at + 10] = 0, buf[at + 11] = 0, buf[at + 12] = 3, buf[at + 13] = 16;
    at = n;
    n += frame(buf + n, 5, NGHTTP2_PRIORITY, 0, 5); /* 5 depends on 1 */
    buf[at + 9] = 0, buf[at + 10] = 0, buf[at + 11] = 0, buf[at + 12] = 1, buf[at + 13] = 0;
    n += frame(buf + n, 3, NGHTTP2_DATA, 0, 0x80000007u); /* reserved bit set */

    for (size_t cut = 0; cut <= n; cut++) {
        struct sp_h2_fscan sc;
        struct seen seen = {0};
        sp__h2_fscan_init(&sc, 0);
        sp__h2_fscan(&sc, buf, cut, &seen_cbs, &seen);
        sp__h2_fscan(&sc, buf + cut, n - cut, &seen_cbs, &seen);
        CU_ASSERT_EQUAL(seen.nhd, 4);
        CU_ASSERT_EQUAL(seen.ids[3], 7);
        CU_ASSERT_EQUAL_FATAL(seen.nprio, 2);
        CU_ASSERT(seen.prio_id[0] == 3 && seen.prio_dep[0] == 3);
        CU_ASSERT(seen.prio_id[1] == 5 && seen.prio_dep[1] == 1);
    }
}

/* ---- sp__h2_budget ---- */

static bool take3(struct sp_h2_budget *b, uint64_t now_ms)
{
    return sp__h2_budget_take(b, 3, 10, now_ms); /* 3 at once, 10 per second */
}

static bool take200(struct sp_h2_budget *b, uint64_t now_ms)
{
    return sp__h2_budget_take(b, 200, 100, now_ms); /* the resets' figures (h2conn.c) */
}

static void test_budget(void)
{
    struct sp_h2_budget b;

    sp__h2_budget_init(&b, 3, 1000);
    CU_ASSERT_TRUE(take3(&b, 1000));
    CU_ASSERT_TRUE(take3(&b, 1000));
    CU_ASSERT_TRUE(take3(&b, 1000));
    CU_ASSERT_FALSE(take3(&b, 1000)); /* burst exhausted */
    CU_ASSERT_FALSE(take3(&b, 1000));
    /* 50 ms at 10/s is half a token: none yet, but the half is not lost */
    CU_ASSERT_FALSE(take3(&b, 1050));
    CU_ASSERT_TRUE(take3(&b, 1100));
    CU_ASSERT_FALSE(take3(&b, 1100));
    /* 200 ms: two tokens */
    CU_ASSERT_TRUE(take3(&b, 1300));
    CU_ASSERT_TRUE(take3(&b, 1300));
    CU_ASSERT_FALSE(take3(&b, 1300));
    /* a long pause refills to the burst, never above */
    CU_ASSERT_TRUE(take3(&b, 10000000));
    CU_ASSERT_TRUE(take3(&b, 10000000));
    CU_ASSERT_TRUE(take3(&b, 10000000));
    CU_ASSERT_FALSE(take3(&b, 10000000));
    CU_ASSERT(b.tokens <= 3);

    /* the stamp keeps the clock's low 32 bits: the time across their wrap counts */
    uint64_t wrap = UINT64_C(1) << 32;
    sp__h2_budget_init(&b, 3, wrap - 50);
    CU_ASSERT_TRUE(take3(&b, wrap - 50));
    CU_ASSERT_TRUE(take3(&b, wrap - 50));
    CU_ASSERT_TRUE(take3(&b, wrap - 50));
    CU_ASSERT_FALSE(take3(&b, wrap - 50));
    CU_ASSERT_FALSE(take3(&b, wrap + 40)); /* 90 ms: not a token yet */
    CU_ASSERT_TRUE(take3(&b, wrap + 50));  /* 100 ms: one */
    CU_ASSERT_FALSE(take3(&b, wrap + 50));
    CU_ASSERT_TRUE(take3(&b, wrap + 150)); /* and one more 100 ms later */
    CU_ASSERT(b.tokens <= 3);

    /* the real-world figures: 200 burst, 100/s */
    sp__h2_budget_init(&b, 200, 0);
    unsigned taken = 0;
    for (unsigned i = 0; i < 1000; i++)
        taken += take200(&b, 0);
    CU_ASSERT_EQUAL(taken, 200);
    /* over one second, one token every 10 ms */
    taken = 0;
    for (uint64_t ms = 1; ms <= 1000; ms++)
        taken += take200(&b, ms);
    CU_ASSERT_EQUAL(taken, 100);
    /* never above the burst however long the pause (40 days: the stamp tells up to 49.7) */
    taken = 0;
    for (unsigned i = 0; i < 1000; i++)
        taken += take200(&b, 1000 + UINT64_C(40) * 86400000);
    CU_ASSERT_EQUAL(taken, 200);
}

void test_h2map_register(void)
{
    CU_pSuite s = sp_unit_suite("h2map");

    sp_unit_test(s, "pseudo-headers: valid", test_pseudo_ok);
    sp_unit_test(s, "pseudo-headers: bad values, unknown names", test_pseudo_bad_values);
    sp_unit_test(s, "pseudo-headers: repeated, after a regular field",
                 test_pseudo_repeat_and_order);
    sp_unit_test(s, "fields: names and values", test_field_names_values);
    sp_unit_test(s, "fields: content-length", test_content_length);
    sp_unit_test(s, "fields: list size and count limits", test_list_limits);
    sp_unit_test(s, "build: request line and fields", test_build_basic);
    sp_unit_test(s, "build: Host", test_build_host);
    sp_unit_test(s, "build: missing pseudo-headers, CONNECT", test_build_missing_pseudo);
    sp_unit_test(s, "build: cookie crumbs, te", test_build_cookie_te);
    sp_unit_test(s, "build: body framing", test_build_body_framing);
    sp_unit_test(s, "build: forwarded-for, connection close", test_build_xff_close);
    sp_unit_test(s, "build: no space leaves the buffer as it was", test_build_nospace);
    sp_unit_test(s, "response fields: hop-by-hop dropped, names lower-cased", test_res_nv);
    sp_unit_test(s, "response fields: status", test_res_nv_status);
    sp_unit_test(s, "base64url", test_base64url);
    sp_unit_test(s, "reset budget", test_budget);
    sp_unit_test(s, "view: absolute URI with :authority, path without", test_view_uri);
    sp_unit_test(s, "view: host first, cookie crumbs joined last", test_view_fields);
    sp_unit_test(s, "view: url, url_*, path, cookies through the ACL engine", test_view_acl);
    sp_unit_test(s, "frame scan: empty DATA frames", test_fscan);
    sp_unit_test(s, "frame scan: headers and PRIORITY dependencies reported", test_fscan_callbacks);
}
