/* tests/fuzz/fuzz_h1_request.c - libFuzzer harness: the HTTP/1 request parser (http/h1.c), the
 * upstream request head built from it (http/rewrite.c), the chunked-body decoder, and the
 * request fetches of the ACLs (balance/acl-fetch.c) on what the parser accepted.
 *
 * Input: a flags byte, two 16-bit cut points, then the bytes a client sends.
 *   flags & 3     buffer size: 16384 (tune.bufsize default), 1024, 256, 64 (limits: 414, 431)
 *   flags & 4     chunk mode: the payload is a chunked body only
 *   flags & 8     also feed the head one byte at a time (payloads up to 512 bytes)
 *   flags & 0x10  X-Forwarded-For, flags & 0x20 if-none, flags & 0x40 IPv6 client,
 *   flags & 0x80  Connection: close toward the server
 *
 * Oracles, besides the sanitizers:
 *  - one read, two reads cut at a fuzzed point and one byte at a time give the same answer and
 *    the same message (a proxy must not parse differently depending on TCP segmentation);
 *  - offsets and lengths of an accepted message lie inside its head;
 *  - the head spillway would forward parses again, whole, with the same method, target,
 *    Host and body framing: the server must see exactly one request with the body the proxy
 *    framed (request smuggling);
 *  - the chunked decoder gives the same data and end in one read and in pieces.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/h2map.h"
#include "http/http-int.h"
#include "tests/fuzz/common.h"

static const size_t bufsizes[4] = {16384, 1024, 256, 64};

static void same_msg(const struct sp_h1_msg *a, const struct sp_h1_msg *b, const char *how)
{
    FZ_CHECK(a->method_off == b->method_off && a->method_len == b->method_len &&
                 a->uri_off == b->uri_off && a->uri_len == b->uri_len && a->meth == b->meth &&
                 a->version == b->version && a->flags == b->flags && a->body == b->body &&
                 a->host_idx == b->host_idx && a->nhdrs == b->nhdrs,
             "message differs %s", how);
    if (a->body == SP_H1_BODY_CL)
        FZ_CHECK(a->content_length == b->content_length, "content-length differs %s", how);
    if (a->flags & SP_H1_MF_ABSOLUTE_URI)
        FZ_CHECK(a->authority_off == b->authority_off && a->authority_len == b->authority_len,
                 "authority differs %s", how);
    for (uint32_t i = 0; i < a->nhdrs; i++)
        FZ_CHECK(!memcmp(&a->hdrs[i], &b->hdrs[i], sizeof(a->hdrs[i])), "field %u differs %s", i,
                 how);
}

static void h1_hdr(const void *req, size_t i, const char **name, size_t *nlen, const char **value,
                   size_t *vlen)
{
    const struct sp_route_h1 *r = req;
    const struct sp_h1_hdr *h = &r->m->hdrs[i];

    FZ_CHECK(i < r->m->nhdrs, "fetch asked for field %zu of %u", i, r->m->nhdrs);
    *name = r->buf + h->name_off;
    *nlen = h->name_len;
    *value = r->buf + h->val_off;
    *vlen = h->val_len;
}

/* the request as route.c's sp__route_h1() shows it to the rules */
static void route(const char *buf, const struct sp_h1_msg *m, bool v6)
{
    struct sp_route_h1 req = {.buf = buf, .m = m};
    struct sp_acl_env env = {
        .method = buf + m->method_off,
        .method_len = m->method_len,
        .uri = buf + m->uri_off,
        .uri_len = m->uri_len,
        .version = m->version,
        .nhdrs = m->nhdrs,
        .hdr = h1_hdr,
        .req = &req,
        .src = fz_peer(v6),
        .dst = fz_local(v6),
        .fe_idx = 0,
        .be_idx = -1,
    };
    fz_probe_eval(&env);
}

static const struct sp_h1_hdr *field(const struct sp_h1_msg *m, uint16_t flag)
{
    for (uint32_t i = 0; i < m->nhdrs; i++)
        if (m->hdrs[i].flags & flag)
            return &m->hdrs[i];
    return NULL;
}

static bool span_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    return alen == blen && !memcmp(a, b, alen);
}

/* fields spillway may add to a request: Host, Connection, TE, Transfer-Encoding, the
 * forwarded-for header */
#define EXTRA_FIELDS 5

static bool name_is(const char *p, size_t n, const char *lower)
{
    return n == strlen(lower) && !strncasecmp(p, lower, n);
}

/* fields whose forwarded form is spillway's own, not the client's */
static bool rewritten(const char *p, size_t n)
{
    return name_is(p, n, "host") || name_is(p, n, "connection") || name_is(p, n, "te") ||
           name_is(p, n, "transfer-encoding") || name_is(p, n, "x-forwarded-for");
}

/* The end-to-end fields of the client's request go on unchanged and in order, and nothing
 * else does: no hop-by-hop field (Upgrade, Keep-Alive, a field Connection names...). */
static void same_fields(const char *buf, const struct sp_h1_msg *m, const char *o,
                        const struct sp_h1_msg *f, size_t len)
{
    uint32_t j = 0;

    for (uint32_t i = 0; i < f->nhdrs; i++) {
        const struct sp_h1_hdr *h = &f->hdrs[i];
        if (rewritten(o + h->name_off, h->name_len))
            continue;
        while (j < m->nhdrs && ((m->hdrs[j].flags & SP_H1_HF_HOP) ||
                                rewritten(buf + m->hdrs[j].name_off, m->hdrs[j].name_len)))
            j++;
        FZ_CHECK(j < m->nhdrs,
                 "field %.*s forwarded, not an end-to-end field of the request:\n%.*s",
                 (int)h->name_len, o + h->name_off, (int)len, o);
        const struct sp_h1_hdr *c = &m->hdrs[j++];
        FZ_CHECK(span_eq(o + h->name_off, h->name_len, buf + c->name_off, c->name_len) &&
                     span_eq(o + h->val_off, h->val_len, buf + c->val_off, c->val_len),
                 "field %.*s forwarded for %.*s:\n%.*s", (int)h->name_len, o + h->name_off,
                 (int)c->name_len, buf + c->name_off, (int)len, o);
    }
    for (; j < m->nhdrs; j++)
        FZ_CHECK((m->hdrs[j].flags & SP_H1_HF_HOP) ||
                     rewritten(buf + m->hdrs[j].name_off, m->hdrs[j].name_len),
                 "end-to-end field %.*s lost:\n%.*s", (int)m->hdrs[j].name_len,
                 buf + m->hdrs[j].name_off, (int)len, o);
}

/* What spillway forwards must be one request, framed as the client's was. */
static void forward(const char *buf, const struct sp_h1_msg *m, uint8_t flags, size_t bufsize)
{
    bool v6 = flags & 0x40, close = flags & 0x80;
    struct sp_fwd fwd = {
        .add = flags & 0x10, .if_none = flags & 0x20, .name = "X-Forwarded-For", .name_len = 15};
    struct sp_buf out = {.data = malloc(bufsize), .size = (uint32_t)bufsize};

    if (!out.data)
        abort();
    if (fwd.add && fwd.if_none && sp__h1_has_field(buf, m, fwd.name, fwd.name_len))
        fwd.add = false;
    int rc = sp__h1_build_request(&out, buf, m, &fwd, fz_peer(v6), close);
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
    long r = sp_h1_parse_request(o, len, 1u << 20, 1u << 20, NULL, f);
    if (r == SP_H1_E431 && m->nhdrs + EXTRA_FIELDS > SP_H1_MAX_HDRS) {
        /* the fields spillway adds pass the parser's own count limit: not a fault */
        free(f);
        free(o);
        return;
    }
    FZ_CHECK(r == (long)len, "the forwarded head (%zu bytes) parses as %ld:\n%.*s", len, r,
             (int)len, o);
    fz_msg_check(f, r, true);
    /* 1.1, or the client's own version (HAProxy 2.6 forwards a 1.0 request as 1.0) */
    FZ_CHECK(f->version == 11 || f->version == m->version, "a %d request forwarded as %d",
             m->version, f->version);
    FZ_CHECK(span_eq(o + f->method_off, f->method_len, buf + m->method_off, m->method_len) &&
                 span_eq(o + f->uri_off, f->uri_len, buf + m->uri_off, m->uri_len),
             "request line changed:\n%.*s", (int)len, o);
    FZ_CHECK(f->body == m->body, "body framing %d forwarded as %d:\n%.*s", (int)m->body,
             (int)f->body, (int)len, o);
    if (m->body == SP_H1_BODY_CL)
        FZ_CHECK(f->content_length == m->content_length, "content-length %llu forwarded as %llu",
                 (unsigned long long)m->content_length, (unsigned long long)f->content_length);
    if (close)
        FZ_CHECK((f->flags & SP_H1_MF_CONN_CLOSE) ||
                     (f->version == 10 && !(f->flags & SP_H1_MF_CONN_KEEPALIVE)),
                 "close asked, the server may keep the connection:\n%.*s", (int)len, o);
    /* Host: 1.1 needs one; it is the client's, or the absolute target's authority */
    FZ_CHECK(f->host_idx >= 0 || f->version == 10, "forwarded without Host:\n%.*s", (int)len, o);
    /* (a 1.0 absolute-form request may go on without Host: its target carries the authority) */
    if (m->host_idx >= 0 || ((m->flags & SP_H1_MF_ABSOLUTE_URI) && f->version == 11))
        FZ_CHECK(f->host_idx >= 0, "the client's Host or authority was lost:\n%.*s", (int)len, o);
    if (f->host_idx >= 0) {
        const struct sp_h1_hdr *fh = &f->hdrs[f->host_idx];
        const char *fv = o + fh->val_off;
        bool ok = false;
        if (m->host_idx >= 0) {
            const struct sp_h1_hdr *mh = &m->hdrs[m->host_idx];
            ok = span_eq(fv, fh->val_len, buf + mh->val_off, mh->val_len);
        }
        if (m->flags & SP_H1_MF_ABSOLUTE_URI)
            ok = ok || (fh->val_len == m->authority_len &&
                        !strncasecmp(fv, buf + m->authority_off, m->authority_len));
        if (m->host_idx < 0 && !(m->flags & SP_H1_MF_ABSOLUTE_URI))
            ok = fh->val_len == 0; /* made up for a 1.0 request: empty */
        FZ_CHECK(ok, "Host is neither the client's nor the target's authority:\n%.*s", (int)len, o);
    }
    same_fields(buf, m, o, f, len);
    free(f);
    free(o);
}

static void h2c_settings(const char *buf, const struct sp_h1_msg *m)
{
    const struct sp_h1_hdr *h = field(m, SP_H1_HF_H2SETTINGS);
    uint8_t payload[256];

    if (!(m->flags & SP_H1_MF_UPGRADE_H2C) || !(m->flags & SP_H1_MF_HAS_H2SETTINGS) || !h)
        return;
    long n = sp__base64url_decode(buf + h->val_off, h->val_len, payload, sizeof(payload));
    FZ_CHECK(n < 0 || (size_t)n <= sizeof(payload), "decoded %ld bytes", n);
}

static void head_mode(const uint8_t *p, size_t n, uint8_t flags, size_t split, size_t cut2)
{
    size_t bufsize = bufsizes[flags & 3];
    size_t max_line = bufsize - 2, max_head = bufsize - 1; /* as h1conn.c */
    struct sp_h1_msg *m1 = malloc(sizeof(*m1)), *m2 = malloc(sizeof(*m2));
    struct sp_h1_scan scan;

    if (!m1 || !m2)
        abort();
    /* in production the buffer never holds more than bufsize bytes */
    if (n > bufsize)
        n = bufsize;
    char *full = fz_dup(p, n);
    long r1 = sp_h1_parse_request(full, n, max_line, max_head, NULL, m1);
    FZ_CHECK(r1 <= (long)n, "head length %ld of %zu bytes", r1, n);
    FZ_CHECK(r1 >= 0 || r1 == SP_H1_E400 || r1 == SP_H1_E414 || r1 == SP_H1_E431 ||
                 r1 == SP_H1_E501,
             "request parse returned %ld", r1);

    /* two reads, cut at `split`, with the incremental scan */
    split %= n + 1;
    sp_h1_scan_init(&scan);
    char *pre = fz_dup(p, split);
    long r2 = sp_h1_parse_request(pre, split, max_line, max_head, &scan, m2);
    free(pre);
    if (r2 == 0)
        r2 = sp_h1_parse_request(full, n, max_line, max_head, &scan, m2);
    FZ_CHECK(r2 == r1, "one read: %ld, two reads cut at %zu: %ld", r1, split, r2);
    if (r1 > 0)
        same_msg(m1, m2, "in two reads");

    /* a byte at a time */
    if ((flags & 8) && n <= 512) {
        long r3 = 0;
        sp_h1_scan_init(&scan);
        for (size_t i = 1; i <= n && r3 == 0; i++) {
            char *part = fz_dup(p, i);
            r3 = sp_h1_parse_request(part, i, max_line, max_head, &scan, m2);
            free(part);
        }
        FZ_CHECK(r3 == r1, "one read: %ld, a byte at a time: %ld", r1, r3);
        if (r1 > 0)
            same_msg(m1, m2, "a byte at a time");
    }

    if (r1 > 0) {
        fz_msg_check(m1, r1, true);
        FZ_CHECK(sp_h1_meth_from(full + m1->method_off, m1->method_len) == m1->meth, "method enum");
        route(full, m1, flags & 0x40);
        h2c_settings(full, m1);
        forward(full, m1, flags, bufsize);
        if (m1->body == SP_H1_BODY_CHUNKED) {
            size_t rest = n - (size_t)r1;
            fz_chunk_check(p + r1, rest, split % (rest + 1), cut2 % (rest + 1));
        }
    }
    free(full);
    free(m1);
    free(m2);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_probe_init();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    uint8_t flags = fz_u8(&in);
    size_t cut1 = fz_u16(&in), cut2 = fz_u16(&in);

    fz_guard = true;
    if (flags & 4)
        fz_chunk_check(in.p, in.n, cut1 % (in.n + 1), cut2 % (in.n + 1));
    else
        head_mode(in.p, in.n, flags, cut1, cut2);
    fz_guard = false;
    return 0;
}
