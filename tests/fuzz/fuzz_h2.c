/* tests/fuzz/fuzz_h2.c - libFuzzer harness: the HTTP/2 input path. Bytes a client sends go,
 * after the connection preface, into a server-side nghttp2 session configured as
 * http/h2conn.c configures it (same options, SETTINGS and spillway's allocator, http/h2mem.c);
 * its callbacks do what h2conn.c's do with what nghttp2 decodes: every field through
 * sp__h2_req_add(), the request's view for the rules (sp__h2_view_init())
 * evaluated by the probe ACLs, the HTTP/1.1 head through sp__h2_build_request(), error
 * answers with sp__http_error_body(), response heads with sp__h2_res_nv(), and the empty-DATA
 * frame scanner (sp__h2_fscan()) over the raw bytes.
 *
 * h2conn.c's callbacks are static and need a worker, a connection and a transaction; these
 * are their twins, statement for statement where it matters (who owns the header block, when
 * a stream starts, when it is reset). Keep them in step when h2conn.c's change.
 *
 * Input: a flags byte, a 16-bit cut point, then the client's frames (the preface is added).
 *   flags & 3     tune.bufsize: 16384, 4096, 1024, 512 (field store, list size, head buffer)
 *   flags & 4     X-Forwarded-For, flags & 8 if-none, flags & 0x10 IPv6 client,
 *   flags & 0x20  Connection: close toward the server
 *
 * Oracles, besides the sanitizers:
 *  - a header block is never interleaved: the stream that ends one owns the field store;
 *  - the HTTP/1.1 head built for a request parses again (http/h1.c), whole, with the method,
 *    :path, Host (:authority first) and body framing the HTTP/2 request had: a server must
 *    see one request, as the client meant it;
 *  - the view holds at most one host and one cookie field, and the absolute URI when there is
 *    an :authority; it always fits (h2conn.c relies on it);
 *  - the frame scanner counts, over reads cut anywhere, what a plain walk over the frames
 *    counts.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/h2map.h"
#include "http/http-int.h"
#include "tests/fuzz/common.h"

static const size_t bufsizes[4] = {16384, 4096, 1024, 512};
volatile uint8_t fz_sink;

struct body_src {
    const char *p;
    size_t len, off;
};

struct stream {
    struct stream *next;
    struct body_src src; /* the response body nghttp2 reads */
    int32_t id;
    int err_status;
    bool headers_done, started, req_end, reset, head, answered;
    size_t body; /* DATA bytes held (the 64 KiB stream buffer of h2conn.c) */
};

/* h2conn.c's struct sp_h2_hblock: malloc'd while a block is received */
struct hblock {
    struct sp_buf buf;    /* the field store */
    struct stream *owner; /* whose block is in it */
    struct sp_h2_req req; /* its index */
};

struct conn {
    nghttp2_session *s;
    struct stream *streams;
    size_t bufsize;
    uint8_t flags;
    struct hblock *hb;     /* the header block being received, NULL when none */
    struct sp_buf headbuf; /* the worker's head scratch */
    bool fatal;
};

static struct stream *hb_owner(const struct conn *h2)
{
    return h2->hb ? h2->hb->owner : NULL;
}

static nghttp2_session_callbacks *cbs;
static nghttp2_option *opt;
static struct sp_h2mem h2mem;
static const char res_head[] = "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
                               "Content-Length: 5\r\nConnection: keep-alive\r\nX-Up: 1\r\n\r\n";
static struct sp_h1_msg res_msg;
static bool verbose; /* FZ_VERBOSE=1: print each head built and each error answered */

static void hdrs_release(struct conn *h2)
{
    if (!h2->hb)
        return;
    free(h2->hb->buf.data);
    free(h2->hb);
    h2->hb = NULL;
}

static struct stream *stream_new(struct conn *h2, int32_t id)
{
    struct stream *st = calloc(1, sizeof(*st));

    if (!st)
        abort();
    if (!h2->hb && !(h2->hb = calloc(1, sizeof(*h2->hb))))
        abort();
    struct hblock *hb = h2->hb;
    if (!hb->buf.data) {
        hb->buf.data = malloc(h2->bufsize);
        hb->buf.size = (uint32_t)h2->bufsize;
    }
    if (!hb->buf.data)
        abort();
    st->id = id;
    hb->buf.head = hb->buf.tail = 0;
    sp__h2_req_init(&hb->req, &hb->buf);
    hb->owner = st;
    st->next = h2->streams;
    h2->streams = st;
    return st;
}

static void stream_free(struct conn *h2, struct stream *st)
{
    for (struct stream **pp = &h2->streams; *pp; pp = &(*pp)->next) {
        if (*pp == st) {
            *pp = st->next;
            break;
        }
    }
    if (hb_owner(h2) == st)
        h2->hb->owner = NULL;
    if (h2->s)
        nghttp2_session_set_stream_user_data(h2->s, st->id, NULL);
    free(st);
}

static void stream_reset(struct conn *h2, struct stream *st, uint32_t code)
{
    if (st->reset)
        return;
    st->reset = true;
    nghttp2_submit_rst_stream(h2->s, NGHTTP2_FLAG_NONE, st->id, code);
}

static ssize_t body_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *user)
{
    struct body_src *b = src->ptr;
    (void)s, (void)id, (void)user;
    size_t n = b->len - b->off < length ? b->len - b->off : length;
    memcpy(buf, b->p + b->off, n);
    b->off += n;
    if (b->off == b->len)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
    return (ssize_t)n;
}

/* h2conn.c's submit_error(): status, a few fields, the HTML body (none for HEAD) */
static void submit_error(struct conn *h2, struct stream *st, int status)
{
    char code[4], len[24];
    size_t blen;
    const char *body = sp__http_error_body(status, &blen);

    if (st->reset || st->answered)
        return;
    if (verbose)
        fprintf(stderr, "stream %d: answered %d\n", st->id, status);
    FZ_CHECK(body && blen, "no error body for %d", status);
    snprintf(code, sizeof(code), "%03d", status);
    int ll = snprintf(len, sizeof(len), "%zu", blen);
    nghttp2_nv nva[] = {
        {(uint8_t *)":status", (uint8_t *)code, 7, 3, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"content-type", (uint8_t *)"text/html", 12, 9, NGHTTP2_NV_FLAG_NONE},
        {(uint8_t *)"content-length", (uint8_t *)len, 14, (size_t)ll, NGHTTP2_NV_FLAG_NONE},
    };
    st->src = (struct body_src){body, blen, 0};
    nghttp2_data_provider prd = {.source.ptr = &st->src, .read_callback = body_read};
    if (!nghttp2_submit_response(h2->s, st->id, nva, 3, st->head ? NULL : &prd))
        st->answered = true;
}

/* A server's answer, as op_res_head() relays it. */
static void submit_answer(struct conn *h2, struct stream *st)
{
    static nghttp2_nv nva[SP_H1_MAX_HDRS + 1];
    static char scratch[1024];

    int n = sp__h2_res_nv(res_head, &res_msg, nva, SP_H1_MAX_HDRS + 1, scratch, sizeof(scratch));
    FZ_CHECK(n == 4, "response fields: %d", n);
    st->src = (struct body_src){"hello", 5, 0};
    nghttp2_data_provider prd = {.source.ptr = &st->src, .read_callback = body_read};
    if (!nghttp2_submit_response(h2->s, st->id, nva, (size_t)n, st->head ? NULL : &prd))
        st->answered = true;
}

static bool span_eq(const struct sp_h2_req *r, struct sp_h2_span s, const char *p, size_t n)
{
    return s.len == n && !memcmp(r->store->data + s.off, p, n);
}

static bool req_has_field(const struct sp_h2_req *r, const char *name, size_t len)
{
    for (uint32_t i = 0; i < r->nfields; i++)
        if (r->f[i].name.len == len && !strncasecmp(r->store->data + r->f[i].name.off, name, len))
            return true;
    return false;
}

static void view_hdr(const void *req, size_t i, const char **name, size_t *nlen, const char **value,
                     size_t *vlen)
{
    const struct sp_h2_view *v = req;
    FZ_CHECK(i < v->n, "fetch asked for field %zu of %u", i, v->n);
    sp__h2_view_field(v, i, name, nlen, value, vlen);
}

/* sp__route_h2(): the rules see the request through its view */
static void route(struct conn *h2, const struct sp_h2_req *q)
{
    struct sp_acl_env env = {
        .method = q->store->data + q->method.off,
        .method_len = q->method.len,
        .uri = q->store->data + q->path.off,
        .uri_len = q->path.len,
        .version = 20,
        .src = fz_peer(h2->flags & 0x10),
        .dst = fz_local(h2->flags & 0x10),
        .fe_idx = 0,
        .be_idx = -1,
    };
    struct sp_buf *scratch = &h2->headbuf;
    struct sp_h2_view v;
    scratch->head = scratch->tail = 0;
    int rc = sp__h2_view_init(&v, q, scratch);
    FZ_CHECK(rc == 0, "the view does not fit a buffer of the store's size: %d", rc);
    FZ_CHECK(v.n <= SP_H2_MAX_FIELDS + 2, "view of %u fields", v.n);
    int hosts = 0, cookies = 0;
    for (uint32_t i = 0; i < v.n; i++) {
        const char *n, *val;
        size_t nl, vl;
        sp__h2_view_field(&v, i, &n, &nl, &val, &vl);
        /* touch every byte: ASan checks that the view points at live memory */
        FZ_CHECK(!memchr(n, '\0', nl) && !memchr(val, '\0', vl), "NUL in view field %u", i);
        hosts += nl == 4 && !strncasecmp(n, "host", 4);
        cookies += nl == 6 && !strncasecmp(n, "cookie", 6);
    }
    FZ_CHECK(hosts <= 1 && cookies <= 1, "the view has %d host and %d cookie fields", hosts,
             cookies);
    if (q->has_authority)
        FZ_CHECK(v.uri_len >= q->scheme.len + 3 + q->authority.len &&
                     !memcmp(v.uri, q->store->data + q->scheme.off, q->scheme.len) &&
                     !memcmp(v.uri + q->scheme.len, "://", 3),
                 "no absolute URI with an :authority: %.*s", (int)v.uri_len, v.uri);
    env.uri = v.uri;
    env.uri_len = v.uri_len;
    env.nhdrs = v.n;
    env.hdr = view_hdr;
    env.req = &v;
    fz_probe_eval(&env);
    scratch->head = scratch->tail = 0;
}

/* The head toward the server must be the request the client sent, and nothing more. */
static void check_head(const struct sp_h2_req *q, const char *o, size_t len, bool no_body,
                       enum sp_h1_body body)
{
    char *copy = fz_dup(o, len);
    struct sp_h1_msg *f = malloc(sizeof(*f));
    if (!f)
        abort();
    long r = sp_h1_parse_request(copy, len, 1u << 20, 1u << 20, NULL, f);
    if (r == SP_H1_E431 && q->nfields + 5 > SP_H1_MAX_HDRS) {
        /* host, transfer-encoding or content-length, connection and the forwarded-for field
         * pass the HTTP/1 parser's own count limit: not a fault */
        free(f);
        free(copy);
        return;
    }
    FZ_CHECK(r == (long)len, "the head built (%zu bytes) parses as %ld:\n%.*s", len, r, (int)len,
             o);
    fz_msg_check(f, r, true);
    FZ_CHECK(f->version == 11, "version %d", f->version);
    FZ_CHECK(span_eq(q, q->method, copy + f->method_off, f->method_len) &&
                 span_eq(q, q->path, copy + f->uri_off, f->uri_len),
             "request line is not :method :path:\n%.*s", (int)len, o);
    FZ_CHECK(f->host_idx >= 0, "no Host:\n%.*s", (int)len, o);
    const struct sp_h1_hdr *h = &f->hdrs[f->host_idx];
    if (q->has_authority)
        FZ_CHECK(span_eq(q, q->authority, copy + h->val_off, h->val_len),
                 "Host is not :authority:\n%.*s", (int)len, o);
    /* body framing: what sp__h2_build_request() said, and what the server will read */
    if (q->content_length > 0) {
        FZ_CHECK(body == SP_H1_BODY_CL && f->body == SP_H1_BODY_CL &&
                     f->content_length == (uint64_t)q->content_length,
                 "content-length %lld framed as %d/%d:\n%.*s", (long long)q->content_length,
                 (int)body, (int)f->body, (int)len, o);
    } else if (q->content_length == 0 || no_body) {
        FZ_CHECK(body == SP_H1_BODY_NONE && (f->body == SP_H1_BODY_NONE ||
                                             (f->body == SP_H1_BODY_CL && f->content_length == 0)),
                 "a request without body framed as %d/%d:\n%.*s", (int)body, (int)f->body, (int)len,
                 o);
    } else {
        FZ_CHECK(body == SP_H1_BODY_CHUNKED && f->body == SP_H1_BODY_CHUNKED,
                 "a body of unknown length framed as %d/%d:\n%.*s", (int)body, (int)f->body,
                 (int)len, o);
    }
    free(f);
    free(copy);
}

/* h2conn.c's stream_start_req() and stream_start(), up to where a transaction would start */
static void stream_start(struct conn *h2, struct stream *st)
{
    st->started = true;
    FZ_CHECK(hb_owner(h2) == st, "stream %d ends a header block that stream %d owns", st->id,
             hb_owner(h2) ? hb_owner(h2)->id : 0);
    st->head = h2->hb->req.meth == SP_METH_HEAD;
    h2->hb->owner = NULL;
    if (st->err_status) {
        submit_error(h2, st, st->err_status);
    } else {
        const struct sp_h2_req *q = &h2->hb->req;
        enum sp_h1_body body = SP_H1_BODY_NONE;
        struct sp_fwd fwd = {.add = h2->flags & 4,
                             .if_none = h2->flags & 8,
                             .name = "X-Forwarded-For",
                             .name_len = 15};
        route(h2, q);
        if (fwd.add && fwd.if_none && req_has_field(q, fwd.name, fwd.name_len))
            fwd.add = false;
        bool no_body = st->req_end;
        h2->headbuf.head = h2->headbuf.tail = 0;
        int err = sp__h2_build_request(&h2->headbuf, q, &fwd, fz_peer(h2->flags & 0x10),
                                       h2->flags & 0x20, no_body, &body);
        FZ_CHECK(err == 0 || err == -ENOSPC || err == -EINVAL, "build returned %d", err);
        if (err) {
            FZ_CHECK(h2->headbuf.tail == 0, "a failed build left %u bytes", h2->headbuf.tail);
            submit_error(h2, st, err == -ENOSPC ? 431 : 400);
        } else {
            if (verbose)
                fprintf(stderr, "stream %d: head (%d):\n%.*s", st->id, (int)body,
                        (int)h2->headbuf.tail, h2->headbuf.data);
            check_head(q, h2->headbuf.data, h2->headbuf.tail, no_body, body);
            submit_answer(h2, st);
        }
        h2->headbuf.head = h2->headbuf.tail = 0;
    }
    if (!hb_owner(h2))
        hdrs_release(h2); /* a use of the fields after this is an ASan report */
}

static struct stream *stream_of(nghttp2_session *s, int32_t id)
{
    return nghttp2_session_get_stream_user_data(s, id);
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    struct conn *h2 = user;

    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct stream *st = stream_new(h2, f->hd.stream_id);
    nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
    struct conn *h2 = user;
    (void)flags;

    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct stream *st = stream_of(s, f->hd.stream_id);
    if (!st || st->err_status || st->reset || hb_owner(h2) != st)
        return 0;
    struct hblock *hb = h2->hb;
    int err = sp__h2_req_add(&hb->req, name, nlen, value, vlen, hb->buf.size);
    FZ_CHECK(err == 0 || err == -E2BIG || err == -EINVAL, "req_add returned %d", err);
    FZ_CHECK(hb->buf.tail <= hb->buf.size, "store overflow");
    if (err == -E2BIG)
        st->err_status = 431;
    else if (err < 0)
        stream_reset(h2, st, NGHTTP2_PROTOCOL_ERROR);
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    struct conn *h2 = user;

    if (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA)
        return 0;
    struct stream *st = stream_of(s, f->hd.stream_id);
    if (!st)
        return 0;
    if (f->hd.flags & NGHTTP2_FLAG_END_STREAM)
        st->req_end = true;
    if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST) {
        st->headers_done = true;
        if (!st->reset)
            stream_start(h2, st);
    }
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *user)
{
    struct conn *h2 = user;
    struct stream *st = stream_of(s, id);
    (void)flags;

    if (len)
        fz_sink = (uint8_t)(data[0] ^ data[len - 1]); /* ASan checks the payload is live */
    if (!st || st->reset || st->err_status) {
        nghttp2_session_consume(s, id, len);
        return 0;
    }
    if (st->body + len > SP_H2_STREAM_WINDOW) {
        /* more than the window we advertised: the client ignores flow control */
        nghttp2_session_consume(s, id, len);
        stream_reset(h2, st, NGHTTP2_FLOW_CONTROL_ERROR);
        return 0;
    }
    /* the server takes it at once */
    st->body += len;
    nghttp2_session_consume(s, id, len);
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
    struct conn *h2 = user;
    struct stream *st = stream_of(s, id);
    (void)code;

    if (!st)
        return 0;
    nghttp2_session_set_stream_user_data(s, id, NULL);
    stream_free(h2, st);
    return 0;
}

static void h2mem_destroy(void)
{
    if (cbs)
        nghttp2_session_callbacks_del(cbs);
    if (opt)
        nghttp2_option_del(opt);
    sp__h2mem_destroy(&h2mem);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    fz_probe_init();
    verbose = getenv("FZ_VERBOSE") != NULL;
    if (nghttp2_session_callbacks_new(&cbs) || nghttp2_option_new(&opt))
        abort();
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_option_set_no_auto_window_update(opt, 1);
    nghttp2_option_set_max_continuations(opt, 8);
    sp__h2mem_init(&h2mem);
    atexit(h2mem_destroy);
    long r =
        sp_h1_parse_response(res_head, sizeof(res_head) - 1, 16384, SP_METH_GET, NULL, &res_msg);
    if (r != (long)sizeof(res_head) - 1)
        abort();
    return 0;
}

/* the empty DATA frames without END_STREAM in a whole stream, by a plain walk */
static uint32_t empty_frames(const uint8_t *p, size_t n, size_t preface)
{
    uint32_t empty = 0;
    size_t pos = preface;

    while (pos + 9 <= n) {
        uint32_t len = (uint32_t)p[pos] << 16 | (uint32_t)p[pos + 1] << 8 | p[pos + 2];
        uint8_t type = p[pos + 3], fl = p[pos + 4];
        if (type == NGHTTP2_DATA && !(fl & NGHTTP2_FLAG_END_STREAM)) {
            if (!(fl & NGHTTP2_FLAG_PADDED))
                empty += len == 0;
            else if (len && pos + 9 < n)
                empty += (uint32_t)p[pos + 9] + 1 == len;
        }
        pos += 9 + (size_t)len;
    }
    return empty;
}

static void fscan_check(const uint8_t *all, size_t n, size_t cut)
{
    struct sp_h2_fscan one, pieces;
    uint32_t a, b = 0;

    sp__h2_fscan_init(&one, NGHTTP2_CLIENT_MAGIC_LEN);
    sp__h2_fscan_init(&pieces, NGHTTP2_CLIENT_MAGIC_LEN);
    a = sp__h2_fscan(&one, all, n, NULL, NULL);
    size_t cuts[3] = {NGHTTP2_CLIENT_MAGIC_LEN, cut, n};
    size_t at = 0;
    for (int i = 0; i < 3; i++) {
        if (cuts[i] < at)
            continue;
        char *piece = fz_dup(all + at, cuts[i] - at);
        b += sp__h2_fscan(&pieces, (const uint8_t *)piece, cuts[i] - at, NULL, NULL);
        free(piece);
        at = cuts[i];
    }
    uint32_t ref = empty_frames(all, n, NGHTTP2_CLIENT_MAGIC_LEN);
    FZ_CHECK(a == ref && b == ref, "empty DATA frames: %u by a walk, %u in one read, %u in pieces",
             ref, a, b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fz_in in = {data, size};
    uint8_t flags = fz_u8(&in);
    size_t cut = fz_u16(&in);
    struct conn h2 = {.flags = flags, .bufsize = bufsizes[flags & 3]};
    size_t n = NGHTTP2_CLIENT_MAGIC_LEN + in.n;
    uint8_t *all = malloc(n);

    if (!all)
        abort();
    memcpy(all, NGHTTP2_CLIENT_MAGIC, NGHTTP2_CLIENT_MAGIC_LEN);
    memcpy(all + NGHTTP2_CLIENT_MAGIC_LEN, in.p, in.n);
    cut = NGHTTP2_CLIENT_MAGIC_LEN + cut % (in.n + 1);
    fz_guard = true;
    fscan_check(all, n, cut);
    h2.headbuf.data = malloc(h2.bufsize);
    h2.headbuf.size = (uint32_t)h2.bufsize;
    if (!h2.headbuf.data || nghttp2_session_server_new3(&h2.s, cbs, &h2, opt, &h2mem.iface))
        abort();
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, 100},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, SP_H2_STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, (uint32_t)h2.bufsize},
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    };
    nghttp2_submit_settings(h2.s, NGHTTP2_FLAG_NONE, iv, sizeof(iv) / sizeof(iv[0]));
    nghttp2_session_set_local_window_size(h2.s, NGHTTP2_FLAG_NONE, 0, 100 * SP_H2_STREAM_WINDOW);

    /* two reads, cut where the input says, each in an exact-size copy */
    size_t at = 0, cuts[2] = {cut, n};
    for (int i = 0; i < 2 && !h2.fatal; i++) {
        uint8_t *piece = (uint8_t *)fz_dup(all + at, cuts[i] - at);
        size_t off = 0, len = cuts[i] - at;
        while (off < len) {
            ssize_t r = nghttp2_session_mem_recv(h2.s, piece + off, len - off);
            if (r < 0) {
                h2.fatal = true;
                break;
            }
            FZ_CHECK(r > 0, "mem_recv took nothing");
            off += (size_t)r;
        }
        free(piece);
        at = cuts[i];
        /* the connection's flush: pull what nghttp2 has to say */
        for (int k = 0; k < 1000; k++) {
            const uint8_t *out;
            ssize_t w = nghttp2_session_mem_send(h2.s, &out);
            if (w <= 0)
                break;
        }
    }
    nghttp2_session_del(h2.s);
    h2.s = NULL;
    while (h2.streams)
        stream_free(&h2, h2.streams);
    hdrs_release(&h2);
    free(h2.headbuf.data);
    free(all);
    fz_guard = false;
    return 0;
}
