/* tests/fuzz/fuzz_h1_response.c - libFuzzer harness: the HTTP/1 response parser (http/h1.c)
 * for every kind of request method, the response head spillway sends to an HTTP/1.x client
 * (http/rewrite.c), the HTTP/2 header list it makes of it (http/h2map.c) and the chunked
 * decoder on the body that follows.
 *
 * Input: a flags byte, two 16-bit cut points, then the bytes a server sends.
 *   flags & 3     buffer size: 16384 (tune.bufsize default), 1024, 256, 64
 *   flags & 4     the client speaks HTTP/1.0
 *   flags & 8     also feed the head one byte at a time (payloads up to 512 bytes)
 *   flags & 0x10  the client connection closes after this response
 *
 * Oracles, besides the sanitizers:
 *  - the head length does not depend on the request's method (only the body does), and the
 *    method rules hold: HEAD, 1xx, 204, 304 and a 2xx to CONNECT have no body;
 *  - one read, two reads and one byte at a time give the same answer and message;
 *  - the head spillway writes to the client parses again, whole, with the same status and a
 *    framing the client can follow;
 *  - every HTTP/2 field made of it is one nghttp2 accepts (lower-case token name, value
 *    without NUL/CR/LF), and no hop-by-hop field crosses;
 *  - the chunked decoder gives the same data and end in one read and in pieces.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "http/h2map.h"
#include "http/http-int.h"
#include "tests/fuzz/common.h"

static const size_t bufsizes[4] = {16384, 1024, 256, 64};
static const enum sp_h1_meth meths[] = {SP_METH_GET, SP_METH_HEAD, SP_METH_CONNECT, SP_METH_POST,
                                        SP_METH_OTHER};

static bool no_body_for(const struct sp_h1_msg *m, enum sp_h1_meth meth)
{
    return meth == SP_METH_HEAD || m->status < 200 || m->status == 204 || m->status == 304 ||
           (meth == SP_METH_CONNECT && m->status < 300);
}

static void same_msg(const struct sp_h1_msg *a, const struct sp_h1_msg *b, const char *how)
{
    FZ_CHECK(a->status == b->status && a->reason_off == b->reason_off &&
                 a->reason_len == b->reason_len && a->version == b->version &&
                 a->flags == b->flags && a->body == b->body && a->nhdrs == b->nhdrs,
             "message differs %s", how);
    if (a->body == SP_H1_BODY_CL)
        FZ_CHECK(a->content_length == b->content_length, "content-length differs %s", how);
    for (uint32_t i = 0; i < a->nhdrs; i++)
        FZ_CHECK(!memcmp(&a->hdrs[i], &b->hdrs[i], sizeof(a->hdrs[i])), "field %u differs %s", i,
                 how);
}

/* The head an HTTP/1.x client receives, as h1conn.c's op_res_head() makes it. */
static void to_h1_client(const char *buf, const struct sp_h1_msg *m, uint8_t flags, size_t bufsize,
                         enum sp_h1_meth meth)
{
    int cver = flags & 4 ? 10 : 11;
    bool reframe = m->body == SP_H1_BODY_CHUNKED || m->body == SP_H1_BODY_CLOSE;
    bool chunked = m->status >= 200 && reframe && cver == 11;
    bool close = m->status >= 200 && ((flags & 0x10) || (reframe && cver == 10));

    if (m->status < 200 && cver == 10)
        return; /* interim responses mean nothing to an HTTP/1.0 client */
    struct sp_buf out = {.data = malloc(bufsize), .size = (uint32_t)bufsize};

    if (!out.data)
        abort();
    int rc = sp__h1_build_response(&out, buf, m, cver, chunked, close);
    FZ_CHECK(rc == 0 || rc == -ENOSPC, "build returned %d", rc);
    if (rc) {
        FZ_CHECK(out.tail == 0, "a failed build left %u bytes", out.tail);
        free(out.data);
        return;
    }
    size_t len = out.tail;
    char *o = fz_dup(out.data, len);
    free(out.data);
    struct sp_h1_msg *f = malloc(sizeof(*f));
    if (!f)
        abort();
    struct sp_h1_scan scan;
    sp_h1_scan_init(&scan);
    long r = sp_h1_parse_response(o, len, 1u << 20, meth, &scan, f);
    if (r == SP_H1_E502 && m->nhdrs + 2 > SP_H1_MAX_HDRS) {
        /* Transfer-Encoding and Connection, added by spillway, pass the parser's own count
         * limit: not a fault */
        free(f);
        free(o);
        return;
    }
    FZ_CHECK(r == (long)len, "the head sent to the client (%zu bytes) parses as %ld:\n%.*s", len, r,
             (int)len, o);
    fz_msg_check(f, r, false);
    FZ_CHECK(f->status == m->status, "status %d sent as %d", m->status, f->status);
    /* the server's version (HAProxy 2.6), or 1.1 when spillway frames the body in 1.1 */
    FZ_CHECK(f->version == m->version || f->version == 11, "a %d response sent as %d", m->version,
             f->version);
    FZ_CHECK(!chunked || f->version == 11, "chunked on a %d status line", f->version);
    if (!no_body_for(m, meth)) {
        if (m->body == SP_H1_BODY_CL)
            FZ_CHECK(f->body == SP_H1_BODY_CL && f->content_length == m->content_length,
                     "content-length %llu sent as framing %d:\n%.*s",
                     (unsigned long long)m->content_length, (int)f->body, (int)len, o);
        else if (chunked)
            FZ_CHECK(f->body == SP_H1_BODY_CHUNKED, "re-chunked body sent as framing %d:\n%.*s",
                     (int)f->body, (int)len, o);
        else
            FZ_CHECK(f->body == SP_H1_BODY_CLOSE, "close-delimited body sent as framing %d",
                     (int)f->body);
    }
    /* the client must know whether the connection stays open */
    if (m->status >= 200 && close)
        FZ_CHECK(f->version == 11 ? (f->flags & SP_H1_MF_CONN_CLOSE) != 0
                                  : !(f->flags & SP_H1_MF_CONN_KEEPALIVE),
                 "closing, but the client may keep the connection:\n%.*s", (int)len, o);
    else if (m->status >= 200)
        FZ_CHECK(f->version == 11 ? !(f->flags & SP_H1_MF_CONN_CLOSE)
                                  : (f->flags & SP_H1_MF_CONN_KEEPALIVE) != 0,
                 "keeping the connection, but the client will close it:\n%.*s", (int)len, o);
    free(f);
    free(o);
}

/* The header list an HTTP/2 client receives (h2conn.c's op_res_head()). */
static void to_h2_client(const char *buf, const struct sp_h1_msg *m)
{
    static nghttp2_nv nva[SP_H1_MAX_HDRS + 1];
    static char scratch[16384];

    if (m->status < 200)
        return; /* interim responses are not relayed over HTTP/2 */
    int n = sp__h2_res_nv(buf, m, nva, SP_H1_MAX_HDRS + 1, scratch, sizeof(scratch));
    FZ_CHECK(n > 0 || n == -ENOSPC, "res_nv returned %d", n);
    if (n < 0)
        return;
    FZ_CHECK(nva[0].namelen == 7 && !memcmp(nva[0].name, ":status", 7) && nva[0].valuelen == 3,
             ":status first");
    for (int i = 1; i < n; i++) {
        FZ_CHECK(nghttp2_check_header_name(nva[i].name, nva[i].namelen),
                 "field %d: name %.*s is not a valid HTTP/2 name", i, (int)nva[i].namelen,
                 nva[i].name);
        FZ_CHECK(nghttp2_check_header_value(nva[i].value, nva[i].valuelen),
                 "field %d: value not valid in HTTP/2", i);
        static const char *const hop[] = {"connection", "keep-alive", "proxy-connection",
                                          "transfer-encoding", "upgrade"};
        for (size_t k = 0; k < sizeof(hop) / sizeof(hop[0]); k++)
            FZ_CHECK(nva[i].namelen != strlen(hop[k]) ||
                         memcmp(nva[i].name, hop[k], nva[i].namelen),
                     "connection-specific field %s sent over HTTP/2", hop[k]);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    uint8_t flags = fz_u8(&in);
    size_t cut1 = fz_u16(&in), cut2 = fz_u16(&in);
    size_t bufsize = bufsizes[flags & 3], n = in.n;
    struct sp_h1_msg *m[2] = {malloc(sizeof(*m[0])), malloc(sizeof(*m[1]))};
    struct sp_h1_scan scan;
    long head = 0;
    bool have = false;

    if (!m[0] || !m[1])
        abort();
    if (n > bufsize)
        n = bufsize;
    char *full = fz_dup(in.p, n);
    fz_guard = true;
    for (size_t k = 0; k < sizeof(meths) / sizeof(meths[0]); k++) {
        enum sp_h1_meth meth = meths[k];
        long r1 = sp_h1_parse_response(full, n, bufsize, meth, NULL, m[0]);
        FZ_CHECK(r1 >= 0 || r1 == SP_H1_E502, "response parse returned %ld", r1);
        FZ_CHECK(r1 <= (long)n, "head length %ld of %zu bytes", r1, n);
        if (k == 0)
            head = r1;
        FZ_CHECK(r1 == head, "head length %ld for method %d, %ld for GET", r1, (int)meth, head);

        /* two reads with the incremental scan */
        size_t split = cut1 % (n + 1);
        sp_h1_scan_init(&scan);
        char *pre = fz_dup(in.p, split);
        long r2 = sp_h1_parse_response(pre, split, bufsize, meth, &scan, m[1]);
        free(pre);
        if (r2 == 0)
            r2 = sp_h1_parse_response(full, n, bufsize, meth, &scan, m[1]);
        FZ_CHECK(r2 == r1, "one read: %ld, two reads cut at %zu: %ld", r1, split, r2);
        if (r1 > 0)
            same_msg(m[0], m[1], "in two reads");
        if ((flags & 8) && n <= 512 && k < 2) {
            long r3 = 0;
            sp_h1_scan_init(&scan);
            for (size_t i = 1; i <= n && r3 == 0; i++) {
                char *part = fz_dup(in.p, i);
                r3 = sp_h1_parse_response(part, i, bufsize, meth, &scan, m[1]);
                free(part);
            }
            FZ_CHECK(r3 == r1, "one read: %ld, a byte at a time: %ld", r1, r3);
            if (r1 > 0)
                same_msg(m[0], m[1], "a byte at a time");
        }
        if (r1 <= 0)
            continue;
        fz_msg_check(m[0], r1, false);
        if (no_body_for(m[0], meth))
            FZ_CHECK(m[0]->body == SP_H1_BODY_NONE, "status %d to method %d has body %d",
                     m[0]->status, (int)meth, (int)m[0]->body);
        to_h1_client(full, m[0], flags, bufsize, meth);
        if (k == 0) {
            to_h2_client(full, m[0]);
            have = m[0]->body == SP_H1_BODY_CHUNKED;
        }
    }
    if (have) {
        size_t rest = n - (size_t)head;
        fz_chunk_check(in.p + head, rest, cut1 % (rest + 1), cut2 % (rest + 1));
    }
    fz_guard = false;
    free(full);
    free(m[0]);
    free(m[1]);
    return 0;
}
