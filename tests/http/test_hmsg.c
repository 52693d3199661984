/* tests/http/test_hmsg.c - the editable message of http rules (http/hmsg.c): made from a
 * parsed HTTP/1 request or response, edited (fields added, removed, URI parts replaced), and
 * written back; the request written for the server is parsed again with the real parser so
 * the tests say what the server receives. */
#include "http/hmsg.h"
#include "http/http-int.h"
#include "tests/unit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CAP 4096

struct fx {
    char in[2048];
    struct sp_h1_msg m;
    struct sp_hmsg hm;
    char arena[CAP];
    char outmem[CAP];
    struct sp_buf out;
};

static struct fx *req(const char *text)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sp_h1_scan scan;

    snprintf(f->in, sizeof(f->in), "%s", text);
    sp_h1_scan_init(&scan);
    long r = sp_h1_parse_request(f->in, strlen(f->in), 8192, 8192, &scan, &f->m);
    CU_ASSERT_FATAL(r > 0);
    sp__hmsg_from_h1_req(&f->hm, f->arena, CAP, f->in, &f->m);
    f->out.data = f->outmem;
    f->out.size = CAP;
    return f;
}

/* the request written for the server, NUL-terminated */
static const char *built(struct fx *f, bool close)
{
    enum sp_h1_body body;
    f->out.head = f->out.tail = 0;
    CU_ASSERT_EQUAL(sp__hmsg_build_request(&f->hm, &f->out, NULL, NULL, close, false, &body), 0);
    CU_ASSERT_TRUE(f->out.tail < CAP);
    f->outmem[f->out.tail] = 0;
    return f->outmem;
}

static void test_visible_fields(void)
{
    struct fx *f = req("GET /a HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, X-Hop\r\n"
                       "X-Hop: 1\r\nContent-Length: 3\r\nX-A: 1\r\n\r\n");
    /* hop-by-hop fields are not there at all, Content-Length is kept but not shown */
    CU_ASSERT_EQUAL(sp__hmsg_nvisible(&f->hm), 2);
    const char *n, *v;
    size_t nl, vl;
    sp__hmsg_field(&f->hm, 1, &n, &nl, &v, &vl);
    CU_ASSERT_TRUE(nl == 3 && !strncmp(n, "X-A", 3) && vl == 1 && v[0] == '1');
    CU_ASSERT_TRUE(sp__hmsg_has(&f->hm, "host", 4));
    CU_ASSERT_FALSE(sp__hmsg_has(&f->hm, "content-length", 14));
    CU_ASSERT_FALSE(sp__hmsg_has(&f->hm, "x-hop", 5));
    const char *b = built(f, false);
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "Content-Length: 3\r\n"));
    CU_ASSERT_PTR_NULL(strstr(b, "X-Hop"));
    free(f);
}

static void test_add_del(void)
{
    struct fx *f = req("GET / HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nx-a: 2\r\nX-B: 3\r\n\r\n");
    CU_ASSERT_EQUAL(sp__hmsg_del_name(&f->hm, "X-A", 3), 2);
    CU_ASSERT_EQUAL(sp__hmsg_add(&f->hm, "X-C", 3, "new", 3), 0);
    const char *b = built(f, true);
    CU_ASSERT_PTR_NULL(strcasestr(b, "x-a:"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "X-B: 3\r\nX-C: new\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "Connection: close\r\n\r\n"));
    free(f);
}

static void test_uri_parts(void)
{
    struct fx *f = req("GET http://example.com/p/q?x=1&y=2 HTTP/1.1\r\nHost: example.com\r\n\r\n");
    struct sp_hspan path, q;
    bool has_q;
    sp__hmsg_path(&f->hm, &path, &q, &has_q);
    CU_ASSERT_TRUE(path.len == 4 && !memcmp(path.p, "/p/q", 4));
    CU_ASSERT_TRUE(has_q && q.len == 7 && !memcmp(q.p, "x=1&y=2", 7));
    /* set-path keeps scheme, authority and query */
    size_t off = (size_t)(path.p - f->hm.uri.p);
    CU_ASSERT_EQUAL(sp__hmsg_splice_uri(&f->hm, off, path.len, "/new", 4), 0);
    static const char want[] = "http://example.com/new?x=1&y=2";
    CU_ASSERT_EQUAL(f->hm.uri.len, sizeof(want) - 1);
    CU_ASSERT_EQUAL(memcmp(f->hm.uri.p, want, sizeof(want) - 1), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(built(f, false), "GET http://example.com/new?x=1&y=2 HTTP/1.1"));
    /* an origin-form target without a query */
    struct fx *g = req("GET /only HTTP/1.1\r\nHost: h\r\n\r\n");
    sp__hmsg_path(&g->hm, &path, &q, &has_q);
    CU_ASSERT_TRUE(path.len == 5 && !has_q && q.len == 0);
    CU_ASSERT_EQUAL(sp__hmsg_set_uri(&g->hm, "/x?y", 4), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(built(g, false), "GET /x?y HTTP/1.1\r\n"));
    free(f);
    free(g);
}

static void test_arena_full(void)
{
    struct fx *f = req("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    static char big[CAP];
    memset(big, 'a', sizeof(big));
    CU_ASSERT_EQUAL(sp__hmsg_add(&f->hm, "X-Big", 5, big, CAP - 2), -ENOSPC);
    CU_ASSERT_TRUE(f->hm.failed);
    free(f);
    /* the field table has a limit too */
    f = req("GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    int rc = 0;
    for (int i = 0; i < SP_HMSG_MAX_FIELDS + 1 && !rc; i++)
        rc = sp__hmsg_add(&f->hm, "X", 1, "v", 1);
    CU_ASSERT_EQUAL(rc, -ENOSPC);
    free(f);
}

static void test_http10_and_chunked(void)
{
    struct fx *f = req("POST /u HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n");
    enum sp_h1_body body;
    f->out.head = f->out.tail = 0;
    /* the written request frames the body as the parser found it */
    CU_ASSERT_EQUAL(sp__hmsg_build_request(&f->hm, &f->out, NULL, NULL, false, false, &body), 0);
    f->outmem[f->out.tail] = 0;
    CU_ASSERT_EQUAL(body, SP_H1_BODY_CHUNKED);
    CU_ASSERT_PTR_NOT_NULL(strstr(f->outmem, "Transfer-Encoding: chunked\r\n"));
    free(f);
    /* a 1.0 request stays 1.0 and asks for keep-alive when the server connection is kept */
    f = req("GET /u HTTP/1.0\r\nHost: h\r\n\r\n");
    const char *b = built(f, false);
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "GET /u HTTP/1.0\r\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b, "Connection: keep-alive\r\n"));
    CU_ASSERT_PTR_NULL(strstr(built(f, true), "Connection:"));
    free(f);
}

static void test_response_roundtrip(void)
{
    struct fx *f = calloc(1, sizeof(*f));
    struct sp_h1_scan scan;
    snprintf(f->in, sizeof(f->in),
             "HTTP/1.1 404 Not Found\r\nServer: s\r\nTransfer-Encoding: chunked\r\n"
             "Connection: close\r\nX-A: 1\r\n\r\n");
    sp_h1_scan_init(&scan);
    CU_ASSERT_FATAL(sp_h1_parse_response(f->in, strlen(f->in), 8192, SP_METH_GET, &scan, &f->m) >
                    0);
    sp__hmsg_from_h1_res(&f->hm, f->arena, CAP, f->in, &f->m);
    /* rules see Server and X-A, not the framing */
    CU_ASSERT_EQUAL(sp__hmsg_nvisible(&f->hm), 2);
    sp__hmsg_del_name(&f->hm, "server", 6);
    f->hm.status = 299;
    f->hm.reason.p = "Custom";
    f->hm.reason.len = 6;
    long n = sp__hmsg_write_response(&f->hm, f->outmem, CAP);
    CU_ASSERT_FATAL(n > 0);
    struct sp_h1_msg m2;
    sp_h1_scan_init(&scan);
    CU_ASSERT_EQUAL(sp_h1_parse_response(f->outmem, (size_t)n, 8192, SP_METH_GET, &scan, &m2), n);
    CU_ASSERT_EQUAL(m2.status, 299);
    CU_ASSERT_EQUAL(m2.body, SP_H1_BODY_CHUNKED); /* the framing went through untouched */
    CU_ASSERT_TRUE(m2.flags & SP_H1_MF_CONN_CLOSE);
    CU_ASSERT_PTR_NULL(strstr(f->outmem, "Server"));
    CU_ASSERT_EQUAL(sp__hmsg_write_response(&f->hm, f->outmem, 20), -ENOSPC);
    /* the parsed form made while writing equals what the parser makes of the bytes; a field
     * a rule adds under a framing name is hop-by-hop (not sent) */
    CU_ASSERT_EQUAL(sp__hmsg_add(&f->hm, "Content-Length", 14, "5", 1), 0);
    struct sp_h1_msg m3;
    char buf3[CAP];
    n = sp__hmsg_write_response_msg(&f->hm, buf3, sizeof(buf3), &f->m, &m3);
    CU_ASSERT_FATAL(n > 0);
    sp_h1_scan_init(&scan);
    CU_ASSERT_EQUAL(m3.status, 299);
    CU_ASSERT_EQUAL(m3.body, SP_H1_BODY_CHUNKED);
    CU_ASSERT_EQUAL(m3.nhdrs, f->hm.n);
    CU_ASSERT_TRUE(m3.hdrs[m3.nhdrs - 1].flags & SP_H1_HF_HOP);
    CU_ASSERT_EQUAL(memcmp(buf3 + m3.reason_off, "Custom", 6), 0);
    for (uint32_t i = 0; i < m3.nhdrs; i++)
        CU_ASSERT_EQUAL(buf3[m3.hdrs[i].val_off + m3.hdrs[i].val_len], '\r');
    CU_ASSERT_EQUAL(sp__hmsg_write_response_msg(&f->hm, buf3, 30, &f->m, &m3), -ENOSPC);
    free(f);
}

static void test_valid(void)
{
    struct fx *f = req("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    CU_ASSERT_TRUE(sp__hmsg_valid(&f->hm));
    CU_ASSERT_EQUAL(sp__hmsg_add(&f->hm, "X-A", 3, "a\tb c", 5), 0);
    CU_ASSERT_TRUE(sp__hmsg_valid(&f->hm));
    CU_ASSERT_EQUAL(sp__hmsg_add(&f->hm, "X-B", 3, "1\r\nX-Evil: 1", 13), 0);
    CU_ASSERT_FALSE(sp__hmsg_valid(&f->hm)); /* a decoded CR LF would split the head */
    free(f);
    f = req("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    CU_ASSERT_EQUAL(sp__hmsg_add(&f->hm, "X B", 3, "v", 1), 0);
    CU_ASSERT_FALSE(sp__hmsg_valid(&f->hm)); /* not a token */
    free(f);
    f = req("GET /a HTTP/1.1\r\nHost: h\r\n\r\n");
    CU_ASSERT_EQUAL(sp__hmsg_set_uri(&f->hm, "/a b", 4), 0);
    CU_ASSERT_FALSE(sp__hmsg_valid(&f->hm)); /* a space in the target: another request line */
    free(f);
}

void test_hmsg_register(void)
{
    CU_pSuite s = sp_unit_suite("hmsg");

    sp_unit_test(s, "visible fields: no hop-by-hop, framing kept but hidden", test_visible_fields);
    sp_unit_test(s, "add and delete fields", test_add_del);
    sp_unit_test(s, "URI: path, query, splice, set", test_uri_parts);
    sp_unit_test(s, "arena and field table full", test_arena_full);
    sp_unit_test(s, "HTTP/1.0 and chunked framing written as parsed", test_http10_and_chunked);
    sp_unit_test(s, "response: edited, written, parsed again", test_response_roundtrip);
    sp_unit_test(s, "valid: controls, tokens, the target", test_valid);
}
