/* tests/http/test_compress.c - http/compress.{c,h} and core/cfgcomp.c: Accept-Encoding
 * negotiation (q-values, "*", identity, HAProxy's list order), the User-Agent exclusions, the
 * response conditions, the rewritten head, and round trips through zlib's inflate of bodies
 * split at every size, with output buffers small enough to fill.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "http/compress.h"
#include "tests/core/cfgtest.h"
#include "tests/unit.h"

/* a proxy's list as HAProxy holds it: `compression algo A B` gives {B, A} */
static struct sp_cfg_comp algos(int n, ...)
{
    struct sp_cfg_comp c = {.set = true};
    va_list ap;

    va_start(ap, n);
    for (int i = 0; i < n; i++)
        c.algos[c.nalgos++] = (uint8_t)va_arg(ap, int);
    va_end(ap);
    return c;
}

/* the algorithm chosen for the Accept-Encoding fields given (NULL-terminated) */
static enum sp_comp_algo pick(const struct sp_cfg_comp *c, ...)
{
    struct sp_comp_neg n = {0};
    va_list ap;
    const char *v;

    va_start(ap, c);
    while ((v = va_arg(ap, const char *)))
        sp_comp_neg_field(&n, c, v, strlen(v));
    va_end(ap);
    return sp_comp_neg_end(&n, c);
}

static void test_negotiation(void)
{
    struct sp_cfg_comp g = algos(1, SP_COMP_GZIP);
    struct sp_cfg_comp dg = algos(2, SP_COMP_DEFLATE, SP_COMP_GZIP); /* `algo gzip deflate` */
    struct sp_cfg_comp gi = algos(2, SP_COMP_GZIP, SP_COMP_IDENTITY);
    struct sp_cfg_comp raw = algos(1, SP_COMP_RAW_DEFLATE);

    CU_ASSERT_EQUAL(pick(&g, "gzip", NULL), SP_COMP_GZIP);
    CU_ASSERT_EQUAL(pick(&g, "GZip", NULL), SP_COMP_GZIP);
    CU_ASSERT_EQUAL(pick(&g, "gzip, deflate, br", NULL), SP_COMP_GZIP);
    CU_ASSERT_EQUAL(pick(&g, "br", NULL), SP_COMP_NONE);
    CU_ASSERT_EQUAL(pick(&g, "x-gzip", NULL), SP_COMP_NONE);
    CU_ASSERT_EQUAL(pick(&g, NULL), SP_COMP_NONE);
    CU_ASSERT_EQUAL(pick(&g, "", NULL), SP_COMP_NONE);
    CU_ASSERT_EQUAL(pick(&g, " , ,", NULL), SP_COMP_NONE);
    /* q-values: 0 refuses, the highest wins, the first of equals wins */
    CU_ASSERT_EQUAL(pick(&g, "gzip;q=0", NULL), SP_COMP_NONE);
    CU_ASSERT_EQUAL(pick(&g, "gzip; q=0.000", NULL), SP_COMP_NONE);
    CU_ASSERT_EQUAL(pick(&g, "gzip ; q=0.001", NULL), SP_COMP_GZIP);
    CU_ASSERT_EQUAL(pick(&g, "gzip;level=9;q=0", NULL), SP_COMP_NONE);
    CU_ASSERT_EQUAL(pick(&g, "gzip;q=1.0", NULL), SP_COMP_GZIP);
    CU_ASSERT_EQUAL(pick(&dg, "gzip;q=0, deflate", NULL), SP_COMP_DEFLATE);
    CU_ASSERT_EQUAL(pick(&dg, "deflate;q=0.5, gzip", NULL), SP_COMP_GZIP);
    CU_ASSERT_EQUAL(pick(&dg, "deflate;q=0.9, gzip;q=0.8", NULL), SP_COMP_DEFLATE);
    CU_ASSERT_EQUAL(pick(&dg, "gzip, deflate", NULL), SP_COMP_GZIP);
    CU_ASSERT_EQUAL(pick(&dg, "deflate, gzip", NULL), SP_COMP_DEFLATE);
    /* "*": the first algorithm of the list, which is the last one written */
    CU_ASSERT_EQUAL(pick(&dg, "*", NULL), SP_COMP_DEFLATE);
    CU_ASSERT_EQUAL(pick(&dg, "br, *;q=0.1", NULL), SP_COMP_DEFLATE);
    CU_ASSERT_EQUAL(pick(&g, "*;q=0", NULL), SP_COMP_NONE);
    /* several fields are one list */
    CU_ASSERT_EQUAL(pick(&dg, "deflate;q=0.2", "gzip", NULL), SP_COMP_GZIP);
    CU_ASSERT_EQUAL(pick(&dg, "gzip", "deflate", NULL), SP_COMP_GZIP);
    /* identity: named, or implicit when nothing else was */
    CU_ASSERT_EQUAL(pick(&gi, "br", NULL), SP_COMP_IDENTITY);
    CU_ASSERT_EQUAL(pick(&gi, NULL), SP_COMP_IDENTITY);
    CU_ASSERT_EQUAL(pick(&gi, "identity, gzip;q=0.5", NULL), SP_COMP_IDENTITY);
    CU_ASSERT_EQUAL(pick(&gi, "gzip", NULL), SP_COMP_GZIP);
    /* raw-deflate answers to "deflate" */
    CU_ASSERT_EQUAL(pick(&raw, "deflate", NULL), SP_COMP_RAW_DEFLATE);
    CU_ASSERT_EQUAL(pick(&raw, "gzip", NULL), SP_COMP_NONE);
    CU_ASSERT_STRING_EQUAL(sp_comp_token(SP_COMP_RAW_DEFLATE), "deflate");
    CU_ASSERT_STRING_EQUAL(sp_comp_token(SP_COMP_GZIP), "gzip");
}

static bool ua(const char *s)
{
    return sp_comp_ua_ok(s, strlen(s));
}

static void test_user_agent(void)
{
    CU_ASSERT_TRUE(ua("curl/8.5.0"));
    CU_ASSERT_TRUE(ua("Mozilla/5.0 (X11; Linux x86_64)"));
    CU_ASSERT_TRUE(ua("Mozilla/4.0 (compatible; MSIE 7.0; Windows NT 6.0)"));
    CU_ASSERT_TRUE(ua("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1; SV1)"));
    CU_ASSERT_FALSE(ua("Mozilla/4.0 (compatible; MSIE 6.0; Windows NT 5.1)"));
    CU_ASSERT_FALSE(ua("Mozilla/4.0 (compatible; MSIE 5.5; Windows 98)"));
    CU_ASSERT_FALSE(ua("Mozilla/4.08 [en] (WinNT; U)"));
    CU_ASSERT_FALSE(ua("Mozilla/4"));
}

/* parses `head` (a response to `meth`) and asks whether it may be compressed */
static bool res_ok(const struct sp_cfg_comp *types, const char *head, enum sp_h1_meth meth,
                   bool req11)
{
    static struct sp_h1_msg m;
    long r = sp_h1_parse_response(head, strlen(head), 16384, meth, NULL, &m);
    CU_ASSERT_EQUAL_FATAL(r, (long)strlen(head));
    return sp_comp_res_ok(types, head, &m, meth, req11);
}

#define OK200 "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n"

static void test_response_conditions(void)
{
    char *tl[] = {"text/", "application/json"};
    struct sp_cfg_comp types = {.set = true, .types = tl, .ntypes = 2};
    const enum sp_h1_meth G = SP_METH_GET;

    CU_ASSERT_TRUE(res_ok(NULL, OK200 "\r\n", G, true));
    CU_ASSERT_TRUE(res_ok(NULL, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", G, true));
    CU_ASSERT_TRUE(res_ok(NULL, "HTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(NULL, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", G, true));
    CU_ASSERT_TRUE(res_ok(NULL, "HTTP/1.1 202 A\r\nContent-Length: 1\r\n\r\n", G, true));
    CU_ASSERT_TRUE(res_ok(NULL, "HTTP/1.1 203 N\r\nContent-Length: 1\r\n\r\n", G, true));
    /* statuses, versions, method, framing */
    CU_ASSERT_FALSE(res_ok(NULL, "HTTP/1.1 204 N\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(NULL, "HTTP/1.1 206 P\r\nContent-Length: 1\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(NULL, "HTTP/1.1 304 N\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(NULL, "HTTP/1.1 404 N\r\nContent-Length: 1\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(NULL, "HTTP/1.1 500 E\r\nContent-Length: 1\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(NULL, "HTTP/1.0 200 OK\r\nContent-Length: 10\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(NULL, OK200 "\r\n", G, false));
    CU_ASSERT_FALSE(res_ok(NULL, OK200 "\r\n", SP_METH_HEAD, true));
    CU_ASSERT_FALSE(res_ok(NULL, "HTTP/1.1 200 OK\r\n\r\n", G, true)); /* close-delimited */
    /* already encoded, no-transform */
    CU_ASSERT_FALSE(res_ok(NULL, OK200 "Content-Encoding: br\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(NULL, OK200 "content-encoding: identity\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(NULL, OK200 "Cache-Control: public, No-Transform\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(NULL,
                           OK200 "Cache-Control: max-age=1\r\nCache-Control: "
                                 "no-transform \r\n\r\n",
                           G, true));
    CU_ASSERT_TRUE(res_ok(NULL, OK200 "Cache-Control: no-transformx, no-cache\r\n\r\n", G, true));
    /* ETags: one valid one (strong or weak) only */
    CU_ASSERT_TRUE(res_ok(NULL, OK200 "ETag: \"abc\"\r\n\r\n", G, true));
    CU_ASSERT_TRUE(res_ok(NULL, OK200 "ETag: W/\"abc\"\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(NULL, OK200 "ETag: abc\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(NULL, OK200 "ETag: \"\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(NULL, OK200 "ETag: \"a\"\r\nETag: \"b\"\r\n\r\n", G, true));
    /* types: multipart never, the list when there is one (prefixes, any case) */
    CU_ASSERT_FALSE(res_ok(NULL, OK200 "Content-Type: multipart/byteranges\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(&types, OK200 "Content-Type: Multipart/mixed\r\n\r\n", G, true));
    CU_ASSERT_TRUE(res_ok(NULL, OK200 "Content-Type: image/png\r\n\r\n", G, true));
    CU_ASSERT_TRUE(res_ok(&types, OK200 "Content-Type: text/html; charset=utf-8\r\n\r\n", G, true));
    CU_ASSERT_TRUE(res_ok(&types, OK200 "Content-Type: TEXT/plain\r\n\r\n", G, true));
    CU_ASSERT_TRUE(res_ok(&types, OK200 "Content-Type: application/json\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(&types, OK200 "Content-Type: application/js\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(&types, OK200 "Content-Type: image/png\r\n\r\n", G, true));
    CU_ASSERT_FALSE(res_ok(&types, OK200 "\r\n", G, true)); /* a type was required */
    /* only the first Content-Type counts */
    CU_ASSERT_TRUE(
        res_ok(&types, OK200 "Content-Type: text/a\r\nContent-Type: x/y\r\n\r\n", G, true));
}

static void test_head_rewrite(void)
{
    static struct sp_h1_msg m, nm;
    const char *head = "HTTP/1.1 200 Fine\r\nServer: s\r\nContent-Length: 10\r\n"
                       "ETag: \"v1\"\r\nContent-Type: text/plain\r\n\r\n";
    char store[512];
    struct sp_buf out = {.data = store, .size = sizeof(store)};

    CU_ASSERT_EQUAL_FATAL(sp_h1_parse_response(head, strlen(head), 16384, SP_METH_GET, NULL, &m),
                          (long)strlen(head));
    long n = sp_comp_build_head(&out, head, &m, SP_COMP_GZIP);
    CU_ASSERT_FATAL(n > 0);
    store[n] = 0;
    ASSERT_STR(store, "HTTP/1.1 200 Fine\r\nServer: s\r\nETag: W/\"v1\"\r\n"
                      "Content-Type: text/plain\r\nContent-Encoding: gzip\r\n"
                      "Transfer-Encoding: chunked\r\nVary: Accept-Encoding\r\n\r\n");
    CU_ASSERT_EQUAL(sp_h1_parse_response(store, (size_t)n, 16384, SP_METH_GET, NULL, &nm), n);
    CU_ASSERT_EQUAL(nm.body, SP_H1_BODY_CHUNKED);

    /* chunked from the server, weak ETag kept, identity announces nothing */
    head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: W/\"w\"\r\n\r\n";
    CU_ASSERT_EQUAL_FATAL(sp_h1_parse_response(head, strlen(head), 16384, SP_METH_GET, NULL, &m),
                          (long)strlen(head));
    n = sp_comp_build_head(&out, head, &m, SP_COMP_IDENTITY);
    CU_ASSERT_FATAL(n > 0);
    store[n] = 0;
    ASSERT_STR(store, "HTTP/1.1 200 OK\r\nETag: W/\"w\"\r\nTransfer-Encoding: chunked\r\n"
                      "Vary: Accept-Encoding\r\n\r\n");
    n = sp_comp_build_head(&out, head, &m, SP_COMP_RAW_DEFLATE);
    CU_ASSERT(n > 0 && strstr(store, "Content-Encoding: deflate\r\n"));

    /* no room: refused whole */
    struct sp_buf tiny = {.data = store, .size = 40};
    CU_ASSERT_EQUAL(sp_comp_build_head(&tiny, head, &m, SP_COMP_GZIP), -ENOSPC);
    CU_ASSERT_EQUAL(sp_buf_len(&tiny), 0);
}

/* ---- round trips ---- */

struct sink {
    char *p;
    size_t n, cap;
};

static void sink_take(struct sink *s, struct sp_buf *b)
{
    uint32_t n = sp_buf_len(b);
    if (s->n + n > s->cap) {
        s->cap = (s->n + n) * 2;
        s->p = realloc(s->p, s->cap);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s->p);
    }
    memcpy(s->p + s->n, sp_buf_head(b), n);
    s->n += n;
    sp_buf_consume(b, n);
}

/* inflates `in` whole; returns the length or -1 */
static long inflate_all(enum sp_comp_algo a, const char *in, size_t n, char *out, size_t cap)
{
    z_stream z = {0};
    int bits = a == SP_COMP_GZIP ? 15 + 16 : a == SP_COMP_RAW_DEFLATE ? -15 : 15;

    if (a == SP_COMP_IDENTITY) {
        if (n > cap)
            return -1;
        memcpy(out, in, n);
        return (long)n;
    }
    if (inflateInit2(&z, bits) != Z_OK)
        return -1;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out;
    z.avail_out = (uInt)cap;
    int r = inflate(&z, Z_SYNC_FLUSH);
    long got = (long)(cap - z.avail_out);
    inflateEnd(&z);
    return r == Z_STREAM_END || r == Z_OK || r == Z_BUF_ERROR ? got : -1;
}

/* test body: text-like runs and pseudo-random bytes (incompressible) */
static void make_body(char *p, size_t n)
{
    uint32_t x = 12345;
    for (size_t i = 0; i < n; i++) {
        x = x * 1103515245u + 12345u;
        p[i] = (i / 4096) % 3 == 2 ? (char)(x >> 24) : "spillway compresses "[i % 20];
    }
}

/* Compresses body[0..n) fed in pieces of `step` bytes through an output buffer of `outsz`
 * bytes, as the filter does (what does not fit waits for the sink), checking after each piece
 * that what came out so far inflates to exactly the input so far (the sync flush), then
 * that the whole stream inflates to the body. */
static void round_trip(enum sp_comp_algo a, const char *body, size_t n, size_t step, size_t outsz,
                       bool check_flush)
{
    struct sp_deflate d;
    struct sp_buf out = {.data = malloc(outsz), .size = (uint32_t)outsz};
    struct sink s = {0};
    char *back = malloc(n + 64);
    size_t off = 0;

    CU_ASSERT_EQUAL_FATAL(sp_deflate_init(&d, a), 0);
    while (off < n) {
        size_t len = n - off < step ? n - off : step;
        size_t done = 0;
        for (int guard = 0; done < len && guard < 100000; guard++) {
            long k = sp_deflate_data(&d, body + off + done, len - done, true, &out);
            CU_ASSERT_FATAL(k >= 0);
            done += (size_t)k;
            sink_take(&s, &out);
            while (sp_deflate_drain(&d, false, &out) == 1)
                sink_take(&s, &out);
            sink_take(&s, &out);
        }
        CU_ASSERT_EQUAL_FATAL(done, len);
        off += len;
        if (check_flush) {
            long got = inflate_all(a, s.p ? s.p : "", s.n, back, n + 64);
            CU_ASSERT_EQUAL_FATAL(got, (long)off);
            CU_ASSERT_FATAL(!memcmp(back, body, off));
        }
    }
    for (int guard = 0; guard < 100000; guard++) {
        int r = sp_deflate_drain(&d, true, &out);
        CU_ASSERT_FATAL(r >= 0);
        sink_take(&s, &out);
        if (!r)
            break;
    }
    CU_ASSERT_TRUE(d.finished);
    long got = inflate_all(a, s.p ? s.p : "", s.n, back, n + 64);
    CU_ASSERT_EQUAL(got, (long)n);
    CU_ASSERT(got == (long)n && !memcmp(back, body, n));
    if (a != SP_COMP_IDENTITY && n > 4096)
        CU_ASSERT(s.n < n); /* it did compress */
    sp_deflate_end(&d);
    sp_deflate_end(&d); /* twice is harmless */
    free(out.data);
    free(s.p);
    free(back);
}

static void test_round_trip_small(void)
{
    static const enum sp_comp_algo all[] = {SP_COMP_GZIP, SP_COMP_DEFLATE, SP_COMP_RAW_DEFLATE,
                                            SP_COMP_IDENTITY};
    char body[300];

    make_body(body, sizeof(body));
    /* every split of a small body, every algorithm, a roomy and a cramped output buffer */
    for (size_t i = 0; i < 4; i++)
        for (size_t step = 1; step <= sizeof(body); step++) {
            round_trip(all[i], body, sizeof(body), step, 16384, step >= 50);
            round_trip(all[i], body, sizeof(body), step, 16, false);
        }
    /* empty body: a valid empty stream */
    round_trip(SP_COMP_GZIP, body, 0, 1, 64, false);
}

static void test_round_trip_large(void)
{
    static const size_t steps[] = {1000, 4095, 4096, 4097, 16383, 16384, 16385, 65536, 300000};
    size_t n = 300000;
    char *body = malloc(n);

    make_body(body, n);
    for (size_t i = 0; i < sizeof(steps) / sizeof(steps[0]); i++) {
        round_trip(SP_COMP_GZIP, body, n, steps[i], 16384, steps[i] >= 16384);
        round_trip(SP_COMP_RAW_DEFLATE, body, n, steps[i], 1024, false);
    }
    round_trip(SP_COMP_DEFLATE, body, n, 16384, 16384, true);
    free(body);
}

/* The filter announces size - size/256 - 64 bytes of room for an empty output buffer of
 * `size` (compress.c room_for()): that much incompressible input, in any state of the stream,
 * must be taken whole with its sync flush (the server side has consumed what it hands over). */
static void test_room_bound(void)
{
    static const uint32_t sizes[] = {1024, 4096, 16384, 65536};
    static const enum sp_comp_algo all[] = {SP_COMP_GZIP, SP_COMP_DEFLATE, SP_COMP_RAW_DEFLATE,
                                            SP_COMP_IDENTITY};
    char *body = malloc(65536 * 4);

    for (size_t i = 0; i < 65536 * 4; i++)
        body[i] = (char)((i * 2654435761u) >> 13 ^ i);
    for (size_t a = 0; a < 4; a++) {
        for (size_t k = 0; k < 4; k++) {
            uint32_t size = sizes[k];
            size_t room = size - (size >> 8) - 64;
            struct sp_deflate d;
            struct sp_buf out = {.data = malloc(size), .size = size};
            CU_ASSERT_EQUAL_FATAL(sp_deflate_init(&d, all[a]), 0);
            for (int round = 0; round < 3; round++) {
                long n = sp_deflate_data(&d, body + (size_t)round * room, room, true, &out);
                CU_ASSERT_EQUAL(n, (long)room);
                CU_ASSERT_FALSE(d.flushing);
                out.head = out.tail = 0; /* the client side took it all */
            }
            sp_deflate_end(&d);
            free(out.data);
        }
    }
    free(body);
}

/* windowsize and memlevel take effect (a smaller state still round-trips) */
static void test_tune(void)
{
    char body[20000];
    int ws = sp_comp_windowsize, ml = sp_comp_memlevel, lv = sp_comp_level;

    make_body(body, sizeof(body));
    sp_comp_windowsize = 8; /* raised to 9 for zlib */
    sp_comp_memlevel = 1;
    sp_comp_level = 9;
    round_trip(SP_COMP_RAW_DEFLATE, body, sizeof(body), 777, 512, false);
    round_trip(SP_COMP_GZIP, body, sizeof(body), 777, 512, false);
    sp_comp_windowsize = ws;
    sp_comp_memlevel = ml;
    sp_comp_level = lv;
}

/* ---- configuration ---- */

static void test_config(void)
{
    struct sp_config *cfg =
        cfgt_load_ok_w(TMO "    compression algo gzip\n"
                           "    compression type text/html\n"
                           "    compression offload\n"
                           "frontend f\n bind :1\n compression algo deflate identity\n"
                           " compression type text/css\n compression offload\n"
                           " default_backend b\n"
                           "backend b\n server s 127.0.0.1:1\n"
                           "global\n tune.comp.maxlevel 5\n tune.zlib.memlevel 9\n"
                           " tune.zlib.windowsize 10\n",
                       1, "'offload' ignored in 'defaults' section", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    const struct sp_cfg_proxy *f = cfgt_proxy(cfg, "f"), *b = cfgt_proxy(cfg, "b");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b);
    /* each word prepended to the defaults' list */
    CU_ASSERT_EQUAL(f->comp.nalgos, 3);
    CU_ASSERT_EQUAL(f->comp.algos[0], SP_COMP_IDENTITY);
    CU_ASSERT_EQUAL(f->comp.algos[1], SP_COMP_DEFLATE);
    CU_ASSERT_EQUAL(f->comp.algos[2], SP_COMP_GZIP);
    CU_ASSERT_EQUAL(f->comp.ntypes, 2);
    ASSERT_STR(f->comp.types[0], "text/css");
    ASSERT_STR(f->comp.types[1], "text/html");
    CU_ASSERT_TRUE(f->comp.offload);
    /* the backend has the defaults' algorithms and types, not their offload */
    CU_ASSERT_TRUE(b->comp.set);
    CU_ASSERT_EQUAL(b->comp.nalgos, 1);
    CU_ASSERT_EQUAL(b->comp.algos[0], SP_COMP_GZIP);
    CU_ASSERT_FALSE(b->comp.offload);
    CU_ASSERT_EQUAL(cfg->global.comp_maxlevel, 5);
    CU_ASSERT_EQUAL(cfg->global.zlib_memlevel, 9);
    CU_ASSERT_EQUAL(cfg->global.zlib_windowsize, 10);
    bool oom;
    struct sp_cfg_comp *d = sp_cfg_comp_dup(&f->comp, &oom);
    CU_ASSERT_FALSE(oom);
    CU_ASSERT_PTR_NOT_NULL_FATAL(d);
    CU_ASSERT_EQUAL(d->nalgos, 3);
    ASSERT_STR(d->types[1], "text/html");
    CU_ASSERT_TRUE(d->offload);
    CU_ASSERT_PTR_NULL(sp_cfg_comp_free(d));
    sp_config_free(cfg);

    /* no compression line: nothing set, HAProxy's tune defaults */
    cfg = cfgt_load_ok(TMO "frontend f\n bind :1\n");
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_FALSE(cfgt_proxy(cfg, "f")->comp.set);
    CU_ASSERT_PTR_NULL(sp_cfg_comp_dup(&cfgt_proxy(cfg, "f")->comp, &oom));
    CU_ASSERT_FALSE(oom);
    CU_ASSERT_EQUAL(cfg->global.comp_maxlevel, 1);
    CU_ASSERT_EQUAL(cfg->global.zlib_memlevel, 8);
    CU_ASSERT_EQUAL(cfg->global.zlib_windowsize, 15);
    sp_config_free(cfg);

    cfg = cfgt_load_ok_w(TMO "listen l\n bind :1\n mode tcp\n compression algo gzip\n"
                             " server s 127.0.0.1:1\n",
                         1, "'compression' ignored for listen 'l': it needs 'mode http'", NULL);
    sp_config_free(cfg);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n compression algo gzip br\n", 1,
                       "t.cfg:8: 'compression': 'br' is not a supported algorithm.", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n compression\n", 1,
                       "'compression': expects 'algo', 'type' or 'offload'", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n compression level 9\n", 1,
                       "'compression': expects 'algo', 'type' or 'offload'", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n compression algo\n", 1,
                       "'compression': expects <algorithm>.", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n compression type\n", 1,
                       "'compression': expects <type>.", NULL);
    cfgt_expect_errors("global\n tune.zlib.memlevel 10\n", 1, "t.cfg:2: 'tune.zlib.memlevel'",
                       NULL);
    cfgt_expect_errors("global\n tune.zlib.windowsize 7\n", 1, "'tune.zlib.windowsize'", NULL);
    cfgt_expect_errors("global\n tune.comp.maxlevel 0\n", 1, "'tune.comp.maxlevel'", NULL);
    cfgt_expect_errors("global\n tune.comp.maxlevel\n", 1, "'tune.comp.maxlevel'", NULL);
}

void test_compress_register(void)
{
    CU_pSuite s = sp_unit_suite("http/compress");
    sp_unit_test(s, "Accept-Encoding negotiation", test_negotiation);
    sp_unit_test(s, "User-Agent exclusions", test_user_agent);
    sp_unit_test(s, "response conditions", test_response_conditions);
    sp_unit_test(s, "response head rewrite", test_head_rewrite);
    sp_unit_test(s, "round trip: every split of a small body", test_round_trip_small);
    sp_unit_test(s, "round trip: large body, buffer-size splits", test_round_trip_large);
    sp_unit_test(s, "announced room is taken whole, incompressible input", test_room_bound);
    sp_unit_test(s, "tune.zlib.* and tune.comp.maxlevel", test_tune);
    sp_unit_test(s, "configuration", test_config);
}
