/* http/h2conn.c - HTTP/2 on the client side (h2c: prior knowledge or HTTP/1.1 upgrade),
 * through nghttp2's server session. Every stream becomes one transaction toward an HTTP/1.1
 * server, exactly like an HTTP/1.1 request.
 *
 * owner: worker. The session, its streams and their transactions live on the worker that
 * accepted the connection.
 *
 * Back-pressure, both ways:
 *  - request bodies: automatic WINDOW_UPDATEs are off; DATA waits in the stream's buffer
 *    (never larger than the stream window we advertise: the protocol's default 65,535 bytes,
 *    which a client may use before it has our SETTINGS anyway, in a 64 KiB buffer) and is
 *    acknowledged with nghttp2_session_consume() only once the server side took it;
 *  - response bodies: the server side fills the stream's buffer only while it has room; the
 *    DATA source hands it to nghttp2 as the client's windows allow, and reports DEFERRED when
 *    it is empty (resumed when more arrives). A slow reader stalls its own stream only.
 *
 * nghttp2 is never re-entered from its own callbacks: callbacks record what happened and
 * queue the stream's task; the task runs after nghttp2_session_mem_recv() returns, and the
 * connection's flush task pulls output with nghttp2_session_mem_send() once per loop turn.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "http/h2map.h"
#include "http/hrules.h"
#include "http/http-int.h"
#include "net/sock.h"

#define RESET_BURST 200 /* client resets of streams that cost backend work */
#define RESET_RATE  100 /* tokens per second */
/* DATA frames without payload or END_STREAM: honest clients send none or a few; a flood of
 * them costs us a frame's work each and the client nothing (CVE-2019-9518). nghttp2 1.67
 * counts them among its "glitches" (10,000, then 330 a second, for all kinds together); these
 * are counted alone, so the budget is smaller. */
#define EMPTY_DATA_BURST 1000
#define EMPTY_DATA_RATE  100 /* tokens per second */

/* owner: worker. One stream. */
struct sp_h2s {
    struct sp_h2c *h2;
    int32_t id;
    struct sp_h2s *_next, *_prev;
    struct sp_txn *txn;
    struct sp_buf reqbody; /* DATA not yet taken by the server side */
    struct sp_buf resbody; /* response DATA not yet taken by nghttp2: a pool buffer, or an
                              exact-size allocation for a small body of known length */
    bool resbody_own;      /* resbody.data is malloc'd, not from the pool */
    struct sp_task task;
    uint64_t t_begin; /* us: the request's HEADERS began */
    int err_status;   /* answer this instead of forwarding (431, 400) */
    bool headers_done, started, req_end, req_end_sent;
    bool res_submitted, res_eof, deferred;
    bool defer_start; /* its transaction starts from the stream task */
    bool closed;      /* nghttp2 closed the stream */
    bool reset;       /* we reset it */
    bool head;        /* a HEAD request: answers carry no body */
    bool wait_body;   /* its head is in, its body still expected from the client */
    bool rst_at_end;  /* answered before its body came: RST_STREAM(NO_ERROR) once sent */
};

/* owner: worker. The request head being received on a connection, from the worker's pool
 * while a header block arrives: a header block is never interleaved with another (RFC 9113
 * 4.3), so one per connection is enough, and the stream starts as soon as its block ends:
 * streams waiting for a server, and idle connections, hold none. */
struct sp_h2_hblock {
    struct sp_buf buf;    /* the fields' bytes (a pool buffer) */
    struct sp_h2s *owner; /* the stream whose fields are in `req` */
    struct sp_h2_req req; /* their index (req.store is `buf`) */
};

/* owner: worker. What a short write left of an output round, written first (one malloc). */
struct sp_h2_spill {
    size_t len, off;
    char data[];
};

/* owner: worker. The HTTP/2 side of one client connection, kept by idle connections too:
 * what is needed only while a header block arrives (struct sp_h2_hblock, pooled), while a
 * short write waits (struct sp_h2_spill) or while an output round is gathered or a read
 * scanned (the worker's h2* fields) lives elsewhere, and the rate limits' constants are the
 * caller's, to keep this at 152 bytes (glibc's 160-byte chunk). */
struct sp_h2c {
    struct sp_conn *c;
    nghttp2_session *s;
    struct sp_h2s *streams;
    struct sp_h2_hblock *hb;   /* the header block being received, NULL when none */
    const uint8_t *pend;       /* output nghttp2 gave us that the write buffer could not take yet */
    struct sp_h2_spill *spill; /* NULL when nothing is left */
    /* The client's streams it must know are closed (RFC 9113 5.1): a window of the last
     * CLOSED_WIN client stream ids up to the highest it opened, one bit each, ring-indexed by
     * id / 2. `used`: it opened that id (an id skipped is closed too, but a HEADERS on it is
     * a PROTOCOL_ERROR, 5.1.1). `reset_by_us`: we sent RST_STREAM while the client may still
     * be sending, so its frames in flight are ignored (nghttp2 forgets closed streams, and
     * would ignore every frame on them). Older ids are ignored, as nghttp2 does. 32 bytes. */
    uint64_t used[2], reset_by_us[2];
    struct sp_h2_fscan fscan;       /* frame boundaries of what the client sent */
    struct sp_h2_budget budget;     /* client resets (RESET_BURST, RESET_RATE) */
    struct sp_h2_budget empty_data; /* DATA frames without payload nor END_STREAM */
    /* streams whose request head is complete (not freed yet): without one the connection is
     * idle, whatever nghttp2 holds (a header block never finished makes no request, as in
     * HAProxy, so `timeout http-request` ends it). Not narrower: the streams a connection
     * holds are bounded by tune.h2.max-concurrent-streams (up to INT_MAX) and, for those
     * closed but not yet freed, by what one read loop brings. */
    unsigned nheads;
    /* streams waiting for request body bytes, and when the last of those bytes (or the first
     * wait) came: `timeout client` runs from there. The stamp is the worker's ms clock modulo
     * 2^32 (timer_deadline()): a body is never waited for longer than `timeout client`, at
     * most INT_MAX ms. */
    unsigned nwait_body;
    uint32_t t_body_ms;
    uint32_t pend_len; /* at most one frame nghttp2 serialised */
    int32_t max_id;    /* the highest client stream id a HEADERS opened */
    uint8_t err_code;  /* a connection error found in a callback: GOAWAY with this code (all
                          of RFC 9113's fit a byte) */
    bool seen_stream;
    bool goaway;
    bool fatal; /* close as soon as the last bytes are out */
};

static void stream_task(struct sp_task *tk);
static void h2_update_timer(struct sp_conn *c);

static struct sp_http_worker *hw_of(struct sp_h2c *h2)
{
    return h2->c->hw;
}

static void want_flush(struct sp_h2c *h2)
{
    sp_task_queue(h2->c->hw->w, &h2->c->flush_task);
}

static struct sp_h2s *stream_new(struct sp_h2c *h2, int32_t id)
{
    struct sp_http_worker *hw = hw_of(h2);
    struct sp_h2s *st = sp_pool_get(&hw->h2s_pool);

    if (!st)
        return NULL;
    struct sp_h2_hblock *hb = h2->hb ? h2->hb : sp_pool_get(&hw->h2hb_pool);
    if (!hb || sp_buf_alloc(&hb->buf, &hw->bufs)) {
        if (hb && !h2->hb)
            sp_pool_put(&hw->h2hb_pool, hb);
        sp_pool_put(&hw->h2s_pool, st);
        return NULL;
    }
    h2->hb = hb;
    st->h2 = h2;
    st->id = id;
    st->t_begin = hw->w->now_us;
    sp_task_init(&st->task, stream_task);
    hb->buf.head = hb->buf.tail = 0;
    sp__h2_req_init(&hb->req, &hb->buf);
    hb->owner = st;
    st->_next = h2->streams;
    if (h2->streams)
        h2->streams->_prev = st;
    h2->streams = st;
    h2->seen_stream = true;
    return st;
}

static void resbody_release(struct sp_h2s *st)
{
    if (st->resbody_own) {
        struct sp_h2mem *m = &hw_of(st->h2)->h2mem;
        m->iface.free(st->resbody.data, m);
        st->resbody = (struct sp_buf){0};
        st->resbody_own = false;
    } else {
        sp_buf_release(&st->resbody, &hw_of(st->h2)->bufs, 1);
    }
}

/* Room for the response body: most responses are small and say how long they are, and
 * thousands of streams may wait at once, so those get exactly what they need instead of a
 * whole pool buffer. */
static int resbody_alloc(struct sp_h2s *st, const struct sp_h1_msg *m)
{
    if (st->resbody.data)
        return 0;
    if (m && m->body == SP_H1_BODY_CL && m->content_length && m->content_length <= 4096) {
        struct sp_h2mem *mem = &hw_of(st->h2)->h2mem;
        st->resbody.data = mem->iface.malloc((size_t)m->content_length, mem);
        if (!st->resbody.data)
            return -ENOMEM;
        st->resbody.size = (uint32_t)m->content_length;
        st->resbody.head = st->resbody.tail = 0;
        st->resbody_own = true;
        return 0;
    }
    return sp_buf_alloc(&st->resbody, &hw_of(st->h2)->bufs);
}

static void stream_free(struct sp_h2s *st)
{
    struct sp_h2c *h2 = st->h2;
    struct sp_http_worker *hw = hw_of(h2);

    sp__txn_free(st->txn);
    st->txn = NULL;
    sp_task_cancel(hw->w, &st->task);
    if (h2->hb && h2->hb->owner == st)
        h2->hb->owner = NULL;
    if (st->headers_done)
        h2->nheads--;
    if (st->wait_body) {
        st->wait_body = false;
        h2->nwait_body--;
    }
    sp_buf_release(&st->reqbody, &hw->bufs64, 1);
    resbody_release(st);
    if (st->_prev)
        st->_prev->_next = st->_next;
    else
        h2->streams = st->_next;
    if (st->_next)
        st->_next->_prev = st->_prev;
    if (h2->s && !st->closed)
        nghttp2_session_set_stream_user_data(h2->s, st->id, NULL);
    sp_pool_put(&hw->h2s_pool, st);
}

static void stream_reset(struct sp_h2s *st, uint32_t code)
{
    if (st->closed || st->reset)
        return;
    st->reset = true;
    nghttp2_submit_rst_stream(st->h2->s, NGHTTP2_FLAG_NONE, st->id, code);
    want_flush(st->h2);
}

/* ---- response bodies: the DATA source ----
 *
 * Response DATA is not copied into nghttp2's frame buffer: data_read() only says how much the
 * next frame carries (NGHTTP2_DATA_FLAG_NO_COPY), and send_data() adds the frame to the
 * output round (see h2_output()): the 9 header bytes go to the write buffer, the payload is
 * referenced where it lies, in the stream's buffer, and the whole round leaves in one
 * sendmsg(). Small payloads are copied to the write buffer instead: an iovec entry costs more
 * than a short copy. */

#define DATA_DIRECT_MIN 2048 /* payloads from this size are referenced, not copied */
#define FRAME_HDLEN     9    /* an HTTP/2 frame header */

static ssize_t data_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                         uint32_t *flags, nghttp2_data_source *src, void *user)
{
    struct sp_h2s *st = src->ptr;
    (void)s, (void)id, (void)user, (void)buf;

    size_t avail = sp_buf_len(&st->resbody);
    size_t n = SP_MIN(length, avail);
    if (n)
        *flags |= NGHTTP2_DATA_FLAG_NO_COPY;
    if (n == avail && st->res_eof) {
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return (ssize_t)n;
    }
    if (!n) {
        st->deferred = true;
        return NGHTTP2_ERR_DEFERRED;
    }
    return (ssize_t)n;
}

/* Closes the write buffer's open segment of the round into an iovec entry. */
static void round_close_seg(struct sp_http_worker *hw, struct sp_conn *c)
{
    if (c->x.wbuf.tail > hw->h2seg) {
        hw->h2iov[hw->h2niov++] = (struct iovec){.iov_base = c->x.wbuf.data + hw->h2seg,
                                                 .iov_len = c->x.wbuf.tail - hw->h2seg};
        hw->h2seg = c->x.wbuf.tail;
    }
}

/* nghttp2 sends a DATA frame data_read() announced: 9 header bytes, then `len` bytes from
 * the head of the stream's buffer (spillway never pads). Called from nghttp2_session_mem_send()
 * inside h2_output(): nothing writes to a stream's buffer until the round is out. */
static int send_data(nghttp2_session *s, nghttp2_frame *f, const uint8_t *hd, size_t len,
                     nghttp2_data_source *src, void *user)
{
    struct sp_h2c *h2 = user;
    struct sp_h2s *st = src->ptr;
    struct sp_conn *c = h2->c;
    struct sp_http_worker *hw = hw_of(h2);
    struct sp_buf *wb = &c->x.wbuf;
    const char *data = sp_buf_head(&st->resbody);
    (void)s;

    if (f->data.padlen || len > sp_buf_len(&st->resbody))
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    if (len < DATA_DIRECT_MIN && sp_buf_room(wb) >= FRAME_HDLEN + len) {
        sp_buf_put(wb, hd, FRAME_HDLEN);
        sp_buf_put(wb, data, (uint32_t)len);
    } else if (len >= DATA_DIRECT_MIN && sp_buf_room(wb) >= FRAME_HDLEN &&
               hw->h2niov + 3 <= SP_H2_OUT_IOV && hw->h2ext + len <= SP_H2_OUT_EXT) {
        /* three entries at most: the segment this header ends, the payload, and the segment
         * round_send() closes last */
        sp_buf_put(wb, hd, FRAME_HDLEN);
        round_close_seg(hw, c);
        hw->h2iov[hw->h2niov++] = (struct iovec){.iov_base = (void *)data, .iov_len = len};
        hw->h2ext += len;
    } else {
        hw->h2blocked = true; /* the round is full: send it, then nghttp2 asks again */
        return NGHTTP2_ERR_WOULDBLOCK;
    }
    sp_buf_consume(&st->resbody, (uint32_t)len); /* the bytes stay where they are */
    /* room again: the server side may go on (later, not from inside nghttp2) */
    if (st->txn && !st->res_eof)
        sp_task_queue(hw->w, &st->task);
    return 0;
}

static void resume_data(struct sp_h2s *st)
{
    if (st->deferred && !st->closed) {
        st->deferred = false;
        nghttp2_session_resume_data(st->h2->s, st->id);
    }
    want_flush(st->h2);
}

/* An answer made by spillway itself outside of a transaction's reply path (a request refused
 * before it became one, a body timeout, or the fallback of sp__txn_fail()): the message for
 * `status` (errorfile & co, else the built-in page) as a stream response, the fields of the
 * HTTP/1 message less the connection-specific ones. A HEAD request gets HEADERS with
 * END_STREAM, content-length still saying what a GET would receive, as HAProxy does
 * (http_forward_proxy_resp() skips only the payload). An empty errorfile resets the stream. */
static void submit_error(struct sp_h2s *st, int status)
{
    struct sp_http_worker *hw = hw_of(st->h2);
    struct sp_h1_msg *m = &hw->msg;
    struct sp_h1_scan scan;
    const char *resp;

    if (st->closed || st->reset || st->res_submitted)
        return;
    struct sp__reply_ctx x = {
        .fe = st->h2->c->fe, .be = st->txn ? st->txn->be : NULL, .c = st->h2->c, .t = st->txn};
    long n = sp__errmsg_get(hw, status, &x, &resp, NULL), h = 0;
    int nv = -1;
    if (n > 0) {
        sp_h1_scan_init(&scan);
        h = sp_h1_parse_response(resp, (size_t)n, (size_t)n, st->head ? SP_METH_HEAD : SP_METH_GET,
                                 &scan, m);
    }
    if (h > 0)
        nv = sp__h2_res_nv(resp, m, hw->h2nva, SP_ARRAY_SIZE(hw->h2nva), hw->h2scratch,
                           sizeof(hw->h2scratch));
    if (nv < 0) {
        stream_reset(st, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    size_t blen = st->head || m->body == SP_H1_BODY_NONE ? 0 : (size_t)(n - h);
    if (blen && (resbody_alloc(st, m) || sp_buf_space(&st->resbody) < blen)) {
        stream_reset(st, NGHTTP2_INTERNAL_ERROR);
        return;
    }
    if (blen)
        sp_buf_append(&st->resbody, resp + h, (uint32_t)blen);
    st->res_eof = true;
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = data_read};
    if (nghttp2_submit_response(st->h2->s, st->id, hw->h2nva, (size_t)nv, blen ? &prd : NULL) == 0)
        st->res_submitted = true;
    else
        stream_reset(st, NGHTTP2_INTERNAL_ERROR);
    want_flush(st->h2);
}

/* ---- front ops: the transaction talks back ---- */

static int op_res_head(struct sp_txn *t, const struct sp_h1_msg *m, const char *buf)
{
    struct sp_h2s *st = t->front;
    struct sp_http_worker *hw = hw_of(st->h2);

    if ((m->status < 200 && m->status != 103) || st->closed || st->reset)
        return 0; /* interim responses are not relayed over HTTP/2, but 103 Early Hints */
    int n = sp__h2_res_nv(buf, m, hw->h2nva, SP_ARRAY_SIZE(hw->h2nva), hw->h2scratch,
                          sizeof(hw->h2scratch));
    if (n >= 0 && m->status == 103) {
        /* a HEADERS frame that does not end the stream (the final response follows) */
        if (!st->res_submitted && nghttp2_submit_headers(st->h2->s, NGHTTP2_FLAG_NONE, st->id, NULL,
                                                         hw->h2nva, (size_t)n, NULL) == 0)
            want_flush(st->h2);
        return 0;
    }
    if (n < 0) {
        stream_reset(st, NGHTTP2_INTERNAL_ERROR);
        return 0;
    }
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = data_read};
    bool body = m->body != SP_H1_BODY_NONE;
    if (body && resbody_alloc(st, m))
        return -ENOMEM;
    if (nghttp2_submit_response(st->h2->s, st->id, hw->h2nva, (size_t)n, body ? &prd : NULL))
        stream_reset(st, NGHTTP2_INTERNAL_ERROR);
    else
        st->res_submitted = true;
    want_flush(st->h2);
    return 0;
}

static size_t op_res_room(struct sp_txn *t)
{
    struct sp_h2s *st = t->front;

    if (st->closed || st->reset)
        return 0;
    if (resbody_alloc(st, NULL))
        return 0;
    return sp_buf_space(&st->resbody);
}

static size_t op_res_data(struct sp_txn *t, const char *p, size_t len)
{
    struct sp_h2s *st = t->front;
    size_t n = op_res_room(t);

    if (n > len)
        n = len;
    if (!n)
        return 0;
    sp_buf_append(&st->resbody, p, (uint32_t)n);
    resume_data(st);
    return n;
}

static bool op_res_swap(struct sp_txn *t, struct sp_buf *rb)
{
    struct sp_h2s *st = t->front;

    if (st->closed || st->reset || st->resbody_own || sp_buf_len(&st->resbody) ||
        rb->size != hw_of(st->h2)->bufs.size)
        return false;
    sp_buf_move(&st->resbody, rb);
    resume_data(st);
    return true;
}

static int op_res_end(struct sp_txn *t)
{
    struct sp_h2s *st = t->front;

    st->res_eof = true;
    resume_data(st);
    return 0;
}

static void op_res_error(struct sp_txn *t, int status)
{
    struct sp_h2s *st = t->front;

    if (t->meth == SP_METH_HEAD)
        st->head = true;
    submit_error(st, status);
}

static void op_res_abort(struct sp_txn *t)
{
    stream_reset(t->front, NGHTTP2_INTERNAL_ERROR);
}

void sp__h2_reject(struct sp_txn *t)
{
    struct sp_h2s *st = t->front;
    struct sp_h2c *h2 = st->h2;

    stream_reset(st, NGHTTP2_ENHANCE_YOUR_CALM);
    if (!h2->goaway)
        nghttp2_submit_goaway(h2->s, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(h2->s),
                              NGHTTP2_ENHANCE_YOUR_CALM, NULL, 0);
    h2->goaway = true;
    h2->fatal = true;
    want_flush(h2);
}

static void op_req_resume(struct sp_txn *t)
{
    struct sp_h2s *st = t->front;
    sp_task_queue(hw_of(st->h2)->w, &st->task);
}

static const struct sp_front_ops h2_ops = {
    .res_head = op_res_head,
    .res_room = op_res_room,
    .res_data = op_res_data,
    .res_swap = op_res_swap,
    .res_end = op_res_end,
    .res_error = op_res_error,
    .res_abort = op_res_abort,
    .req_resume = op_req_resume,
};

/* ---- streams ---- */

static bool req_has_field(const struct sp_h2_req *r, const char *name, size_t len)
{
    for (uint32_t i = 0; i < r->nfields; i++)
        if (r->f[i].name.len == len && !strncasecmp(r->store->data + r->f[i].name.off, name, len))
            return true;
    return false;
}

static void stream_start_req(struct sp_h2s *st)
{
    struct sp_conn *c = st->h2->c;
    struct sp_http_worker *hw = c->hw;
    enum sp_h1_body body;
    struct sp_fwd fwd;

    struct sp_h2_hblock *hb = st->h2->hb;

    st->started = true;
    if (!hb || hb->owner != st) {
        submit_error(st, 500); /* cannot happen: a header block is never interleaved */
        return;
    }
    hb->owner = NULL;
    st->head = hb->req.meth == SP_METH_HEAD;
    if (st->err_status) {
        submit_error(st, st->err_status);
        return;
    }
    struct sp_txn *t = sp__txn_new(hw, &h2_ops, st, c->fe);
    hw->headbuf.head = hw->headbuf.tail = 0;
    if (!t) {
        sp__txn_free(t);
        submit_error(st, 500);
        return;
    }
    const struct sp_h2_req *q = &hb->req;
    t->meth = q->meth;
    t->h2 = true;
    t->conn = c;
    if (sp__accesslog_on(hw, c->fe->idx)) {
        /* logged in absolute form when the request had an authority, as HAProxy does */
        const char *base = q->store->data;
        char target[SP_LOG_REQLINE_MAX + 1];
        int n =
            q->has_authority
                ? snprintf(target, sizeof(target), "%.*s://%.*s%.*s", (int)q->scheme.len,
                           base + q->scheme.off, (int)q->authority.len, base + q->authority.off,
                           (int)q->path.len, base + q->path.off)
                : snprintf(target, sizeof(target), "%.*s", (int)q->path.len, base + q->path.off);
        if (n > (int)sizeof(target) - 1)
            n = (int)sizeof(target) - 1;
        sp__accesslog_reqline(t, base + q->method.off, q->method.len, target, (size_t)n);
    }
    t->t_req = st->t_begin;
    t->bytes_in = q->list_size;
    /* with http rules the request is an editable message, routed between the rule sets */
    struct sp_hmsg *hm = NULL;
    if (sp__hrules_on(hw->conf->hrules, false)) {
        int herr;
        hm = sp__hrules_h2(t, c, q, &herr);
        if (!hm) {
            sp__txn_free(t);
            submit_error(st, herr == -EINVAL ? 400 : 500);
            return;
        }
    } else {
        sp__route_h2(t, c, q);
    }
    if (t->be && (c->fe->comp || t->be->comp)) {
        if (hm)
            sp__comp_req_hmsg(t, hm);
        else
            sp__comp_req_h2(t, &hb->req);
    }
    sp__fwd_decide(c->fe, t->be, sp__txn_src(t), &fwd);
    if (fwd.add && fwd.if_none &&
        (hm ? sp__hmsg_has(hm, fwd.name, fwd.name_len) : req_has_field(q, fwd.name, fwd.name_len)))
        fwd.add = false;
    bool no_body = st->req_end && !sp_buf_len(&st->reqbody);
    int err = hm ? sp__hmsg_build_request(hm, &hw->headbuf, &fwd, sp__txn_src(t),
                                          sp__txn_srv_close(t), no_body, &body)
                 : sp__h2_build_request(&hw->headbuf, q, &fwd, sp__txn_src(t), sp__txn_srv_close(t),
                                        no_body, &body);
    if (!err)
        err = sp__txn_set_head(t);
    if (err < 0) {
        sp__txn_free(t);
        submit_error(st, err == -ENOSPC ? 431 : err == -ENOMEM ? 500 : 400);
        return;
    }
    t->req_body = body;
    st->txn = t;
    /* a request with a body waits for the end of this read: if nghttp2 finds its DATA
     * malformed meanwhile (content-length mismatch...), the stream is reset before anything
     * reaches a server */
    if (st->req_end)
        sp__txn_start(t);
    else
        st->defer_start = true;
}

/* The header block's storage and field index go back to the worker's pools. */
static void hdrs_release(struct sp_h2c *h2)
{
    struct sp_http_worker *hw = hw_of(h2);

    if (!h2->hb)
        return;
    sp_buf_release(&h2->hb->buf, &hw->bufs, 1);
    sp_pool_put(&hw->h2hb_pool, h2->hb);
    h2->hb = NULL;
}

/* Starts a stream whose header block ended; the block's storage goes back to the pool as soon
 * as no block is being received (an idle connection holds none). */
static void stream_start(struct sp_h2s *st)
{
    struct sp_h2c *h2 = st->h2;

    stream_start_req(st);
    if (h2->hb && !h2->hb->owner)
        hdrs_release(h2);
}

/* Everything a stream does outside nghttp2's callbacks. */
static void stream_task(struct sp_task *tk)
{
    struct sp_h2s *st = sp_container_of(tk, struct sp_h2s, task);
    struct sp_h2c *h2 = st->h2;
    struct sp_txn *t;

    if (st->closed) {
        stream_free(st);
        want_flush(h2);
        return;
    }
    if (!st->started && st->headers_done && !st->reset)
        stream_start(st);
    t = st->txn;
    if (!t || t->state == SP_TXN_DONE || st->reset)
        return;
    if (st->defer_start) {
        st->defer_start = false;
        sp__txn_start(t);
        if (t->state == SP_TXN_DONE)
            return;
    }
    /* request body toward the server, acknowledged to the client as it leaves */
    while (sp_buf_len(&st->reqbody)) {
        size_t k = sp__txn_req_data(t, sp_buf_head(&st->reqbody), sp_buf_len(&st->reqbody));
        if (!k)
            break;
        sp_buf_consume(&st->reqbody, (uint32_t)k);
        nghttp2_session_consume(h2->s, st->id, k);
        want_flush(h2);
        if (t->state == SP_TXN_DONE)
            return;
    }
    if (st->req_end && !sp_buf_len(&st->reqbody) && !st->req_end_sent && sp__txn_req_end(t) == 0)
        st->req_end_sent = true;
    if (t->res_started && (t->state == SP_TXN_EXCHANGE || t->state == SP_TXN_LOCAL) &&
        sp_buf_space(&st->resbody))
        sp__txn_res_resume(t);
}

/* ---- nghttp2 callbacks ---- */

static struct sp_h2s *stream_of(nghttp2_session *s, int32_t id)
{
    return nghttp2_session_get_stream_user_data(s, id);
}

static int on_begin_headers(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    struct sp_h2c *h2 = user;

    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0;
    struct sp_h2s *st = stream_new(h2, f->hd.stream_id);
    if (!st) {
        nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, f->hd.stream_id, NGHTTP2_REFUSED_STREAM);
        return 0;
    }
    nghttp2_session_set_stream_user_data(s, f->hd.stream_id, st);
    return 0;
}

static int on_header(nghttp2_session *s, const nghttp2_frame *f, const uint8_t *name, size_t nlen,
                     const uint8_t *value, size_t vlen, uint8_t flags, void *user)
{
    (void)flags, (void)user;
    if (f->hd.type != NGHTTP2_HEADERS || f->headers.cat != NGHTTP2_HCAT_REQUEST)
        return 0; /* trailers: not forwarded */
    struct sp_h2s *st = stream_of(s, f->hd.stream_id);
    if (!st || st->err_status || st->reset)
        return 0;
    struct sp_h2_hblock *hb = st->h2->hb;
    if (!hb || hb->owner != st)
        return 0;
    int err = sp__h2_req_add(&hb->req, name, nlen, value, vlen, hb->buf.size);
    if (err == -E2BIG)
        st->err_status = 431;
    else if (err < 0)
        stream_reset(st, NGHTTP2_PROTOCOL_ERROR);
    return 0;
}

static int on_frame_recv(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    struct sp_h2c *h2 = user;
    struct sp_h2s *st;

    switch (f->hd.type) {
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
        st = stream_of(s, f->hd.stream_id);
        if (!st)
            return 0;
        if (f->hd.flags & NGHTTP2_FLAG_END_STREAM) {
            st->req_end = true;
            if (st->wait_body) {
                st->wait_body = false;
                h2->nwait_body--;
            }
        }
        if (f->hd.type == NGHTTP2_HEADERS && f->headers.cat == NGHTTP2_HCAT_REQUEST &&
            !st->headers_done) {
            st->headers_done = true;
            h2->nheads++;
            if (!st->req_end) {
                st->wait_body = true;
                if (!h2->nwait_body++)
                    h2->t_body_ms = (uint32_t)h2->c->hw->w->now;
            }
            /* route and send now, while the header block is still in the connection's
             * buffer; nghttp2 allows submitting frames from here */
            if (!st->reset)
                stream_start(st);
        }
        sp_task_queue(h2->c->hw->w, &st->task);
        break;
    default:
        break;
    }
    return 0;
}

/* ---- closed streams (RFC 9113 5.1) ---- */

#define CLOSED_WIN 128 /* client stream ids (odd) the window covers */

static bool win_get(const uint64_t *bits, int32_t id)
{
    uint32_t i = ((uint32_t)id >> 1) % CLOSED_WIN;
    return bits[i / 64] >> (i % 64) & 1;
}

static void win_set(uint64_t *bits, int32_t id)
{
    uint32_t i = ((uint32_t)id >> 1) % CLOSED_WIN;
    bits[i / 64] |= (uint64_t)1 << (i % 64);
}

static void win_clear(uint64_t *bits, int32_t id)
{
    uint32_t i = ((uint32_t)id >> 1) % CLOSED_WIN;
    bits[i / 64] &= ~((uint64_t)1 << (i % 64));
}

static bool win_has(const struct sp_h2c *h2, int32_t id)
{
    return id <= h2->max_id && h2->max_id - id < 2 * CLOSED_WIN;
}

/* A HEADERS opens a client stream above the highest so far: the window slides up to it, the
 * ids skipped on the way are closed and unused (at most CLOSED_WIN bits to clear). */
static void win_open(struct sp_h2c *h2, int32_t id)
{
    int32_t from = h2->max_id ? h2->max_id + 2 : 1;

    if (id - from >= 2 * CLOSED_WIN)
        from = id - 2 * (CLOSED_WIN - 1);
    for (int32_t i = from; i <= id; i += 2) {
        win_clear(h2->used, i);
        win_clear(h2->reset_by_us, i);
    }
    win_set(h2->used, id);
    h2->max_id = id;
}

/* Called before nghttp2 reads a frame's payload: a DATA or HEADERS on a client stream the
 * client knows is closed is a connection error (STREAM_CLOSED; PROTOCOL_ERROR for a HEADERS
 * on an id it skipped), and so is a PRIORITY on stream 0, which nghttp2 skips unread once
 * RFC 7540 priorities are off. The error is noted and the callback fails: feed() sends the
 * GOAWAY. */
static int on_begin_frame(nghttp2_session *s, const nghttp2_frame_hd *hd, void *user)
{
    struct sp_h2c *h2 = user;
    int32_t id = hd->stream_id;

    if (hd->type == NGHTTP2_PRIORITY && id == 0) {
        h2->err_code = NGHTTP2_PROTOCOL_ERROR;
        return NGHTTP2_ERR_CALLBACK_FAILURE;
    }
    if ((hd->type != NGHTTP2_DATA && hd->type != NGHTTP2_HEADERS) || !(id & 1) || h2->goaway)
        return 0;
    if (id > h2->max_id) {
        if (hd->type == NGHTTP2_HEADERS)
            win_open(h2, id);
        return 0; /* an idle stream: nghttp2's to judge */
    }
    if (!win_has(h2, id) || win_get(h2->reset_by_us, id) || nghttp2_session_find_stream(s, id))
        return 0;
    h2->err_code = hd->type == NGHTTP2_HEADERS && !win_get(h2->used, id) ? NGHTTP2_PROTOCOL_ERROR
                                                                         : NGHTTP2_STREAM_CLOSED;
    return NGHTTP2_ERR_CALLBACK_FAILURE;
}

/* The frame scanner (feed()) saw a frame header, before nghttp2 reads the frame: DATA on a
 * client stream that is closed, which nghttp2 1.52 drops without a word, is a connection
 * error (STREAM_CLOSED). Judged on the streams as they were before this read: a stream this
 * very read opens is above max_id and left alone. */
static void scan_hd(void *arg, uint8_t type, uint8_t flags, int32_t id)
{
    struct sp_h2c *h2 = arg;
    struct sp_http_worker *hw = hw_of(h2);
    bool data = type == NGHTTP2_DATA;

    if (!(id & 1) || h2->goaway || h2->err_code)
        return;
    if (data) {
        for (unsigned i = 0; i < hw->h2nscan_ended; i++) {
            if (hw->h2scan_ended[i] == id) {
                h2->err_code = NGHTTP2_STREAM_CLOSED; /* ended earlier in this very read */
                return;
            }
        }
        if (win_has(h2, id) && !win_get(h2->reset_by_us, id) &&
            !nghttp2_session_find_stream(h2->s, id)) {
            h2->err_code = NGHTTP2_STREAM_CLOSED;
            return;
        }
    }
    if ((type == NGHTTP2_RST_STREAM ||
         ((data || type == NGHTTP2_HEADERS) && (flags & NGHTTP2_FLAG_END_STREAM))) &&
        hw->h2nscan_ended < SP_ARRAY_SIZE(hw->h2scan_ended))
        hw->h2scan_ended[hw->h2nscan_ended++] = id;
}

/* A PRIORITY frame that makes a stream depend on itself: a stream error (RFC 9113 5.3.1),
 * which nghttp2 no longer checks once it skips PRIORITY payloads. Treated as a connection
 * error (5.4.1 allows it): the stream is usually idle, and a RST_STREAM on an idle stream
 * would be a protocol error of ours. No client that means well does this. */
static void scan_prio(void *arg, int32_t id, int32_t dep)
{
    struct sp_h2c *h2 = arg;

    if (id && id == dep && !h2->goaway && !h2->err_code)
        h2->err_code = NGHTTP2_PROTOCOL_ERROR;
}

static const struct sp_h2_fscan_cbs scan_cbs = {.on_hd = scan_hd, .on_prio = scan_prio};

/* Our END_STREAM left: a stream answered before its request ended is closed at once. */
static int on_frame_send(nghttp2_session *s, const nghttp2_frame *f, void *user)
{
    struct sp_h2c *h2 = user;

    if (f->hd.type == NGHTTP2_RST_STREAM && win_has(h2, f->hd.stream_id))
        win_set(h2->reset_by_us, f->hd.stream_id);
    if (!(f->hd.flags & NGHTTP2_FLAG_END_STREAM) ||
        (f->hd.type != NGHTTP2_HEADERS && f->hd.type != NGHTTP2_DATA))
        return 0;
    struct sp_h2s *st = stream_of(s, f->hd.stream_id);
    if (st && st->rst_at_end)
        stream_reset(st, NGHTTP2_NO_ERROR);
    return 0;
}

static int on_data_chunk(nghttp2_session *s, uint8_t flags, int32_t id, const uint8_t *data,
                         size_t len, void *user)
{
    struct sp_h2c *h2 = user;
    struct sp_h2s *st = stream_of(s, id);
    (void)flags;

    if (!st || st->reset || st->err_status || (st->txn && st->txn->state == SP_TXN_DONE)) {
        /* nobody will take these bytes: give the window back now */
        nghttp2_session_consume(s, id, len);
        return 0;
    }
    if (sp_buf_alloc(&st->reqbody, &h2->c->hw->bufs64) ||
        sp_buf_append(&st->reqbody, data, (uint32_t)len) != len) {
        /* more than the window we advertised: the client ignores flow control */
        nghttp2_session_consume(s, id, len);
        stream_reset(st, NGHTTP2_FLOW_CONTROL_ERROR);
        return 0;
    }
    if (st->wait_body)
        /* the body moves: `timeout client` starts again */
        h2->t_body_ms = (uint32_t)h2->c->hw->w->now;
    sp_task_queue(h2->c->hw->w, &st->task);
    return 0;
}

static int on_stream_close(nghttp2_session *s, int32_t id, uint32_t code, void *user)
{
    struct sp_h2c *h2 = user;
    struct sp_h2s *st = stream_of(s, id);

    if (!st)
        return 0;
    st->closed = true;
    nghttp2_session_set_stream_user_data(s, id, NULL);
    /* bytes received but never consumed would stay counted against the connection */
    if (sp_buf_len(&st->reqbody)) {
        nghttp2_session_consume_connection(s, sp_buf_len(&st->reqbody));
        sp_buf_consume(&st->reqbody, sp_buf_len(&st->reqbody));
    }
    if (code != NGHTTP2_NO_ERROR && !st->reset && st->txn && st->txn->state != SP_TXN_DONE) {
        /* the client cancelled a request that already cost backend work */
        sp__txn_abort(st->txn);
        if (!sp__h2_budget_take(&h2->budget, RESET_BURST, RESET_RATE, h2->c->hw->w->now) &&
            !h2->fatal) {
            sp_log(SP_LOG_WARNING, "worker %d: HTTP/2 client resets too many streams, closing",
                   h2->c->hw->w->id);
            nghttp2_submit_goaway(s, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(s),
                                  NGHTTP2_ENHANCE_YOUR_CALM, NULL, 0);
            h2->fatal = true;
        }
    }
    sp_task_queue(h2->c->hw->w, &st->task);
    return 0;
}

/* ---- per-worker setup ---- */

int sp__h2_worker_init(struct sp_http_worker *hw)
{
    nghttp2_session_callbacks *cbs;

    if (nghttp2_session_callbacks_new(&cbs))
        return -ENOMEM;
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, on_header);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, on_frame_recv);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, on_data_chunk);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, on_stream_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, on_frame_send);
    nghttp2_session_callbacks_set_on_begin_frame_callback(cbs, on_begin_frame);
    nghttp2_session_callbacks_set_send_data_callback(cbs, send_data);
    hw->h2cbs = cbs;
    if (nghttp2_option_new(&hw->h2opt))
        return -ENOMEM;
    nghttp2_option_set_no_auto_window_update(hw->h2opt, 1);
    nghttp2_option_set_max_continuations(hw->h2opt, 8);
    sp__h2mem_init(&hw->h2mem);
    sp_pool_init(&hw->h2s_pool, sizeof(struct sp_h2s), 1024);
    sp_pool_init(&hw->h2c_pool, sizeof(struct sp_h2c), 1024);
    sp_pool_init(&hw->h2hb_pool, sizeof(struct sp_h2_hblock), 256);
    return 0;
}

void sp__h2_worker_free(struct sp_http_worker *hw)
{
    if (hw->h2cbs)
        nghttp2_session_callbacks_del(hw->h2cbs);
    if (hw->h2opt)
        nghttp2_option_del(hw->h2opt);
    sp_pool_destroy(&hw->h2s_pool);
    sp_pool_destroy(&hw->h2c_pool);
    sp_pool_destroy(&hw->h2hb_pool);
    sp__h2mem_destroy(&hw->h2mem);
}

/* ---- the connection ---- */

static int session_new(struct sp_conn *c)
{
    struct sp_http_worker *hw = c->hw;
    struct sp_h2c *h2 = sp_pool_get(&hw->h2c_pool);
    uint32_t streams = (uint32_t)hw->conf->h2_max_streams;

    if (!h2)
        return -ENOMEM;
    h2->c = c;
    if (nghttp2_session_server_new3(&h2->s, hw->h2cbs, h2, hw->h2opt, &hw->h2mem.iface)) {
        sp_pool_put(&hw->h2c_pool, h2);
        return -ENOMEM;
    }
    sp__h2_budget_init(&h2->budget, RESET_BURST, hw->w->now);
    sp__h2_budget_init(&h2->empty_data, EMPTY_DATA_BURST, hw->w->now);
    /* the client's bytes begin with its preface, also after an upgrade (RFC 9113 3.2) */
    sp__h2_fscan_init(&h2->fscan, NGHTTP2_CLIENT_MAGIC_LEN);
    nghttp2_settings_entry iv[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, SP_H2_STREAM_WINDOW},
        {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE,
         (uint32_t)(hw->conf->bufsize - hw->conf->head_reserve)},
        {NGHTTP2_SETTINGS_NO_RFC7540_PRIORITIES, 1},
    };
    nghttp2_submit_settings(h2->s, NGHTTP2_FLAG_NONE, iv, SP_ARRAY_SIZE(iv));
    /* every stream may fill its window without starving the others */
    nghttp2_session_set_local_window_size(
        h2->s, NGHTTP2_FLAG_NONE, 0,
        (int32_t)SP_MIN(streams * SP_H2_STREAM_WINDOW, (uint32_t)INT32_MAX));
    c->h2 = h2;
    c->state = SP_CONN_H2; /* HTTP/1's code stops here (it may be on the stack) */
    c->proto = &sp__h2_cproto;
    sp_stat_add(&hw->st->fe[c->fe->idx].h2sess, 1);
    return 0;
}

/* Counts the empty DATA frames among the bytes just read. When the budget runs out the
 * client is told to calm down (GOAWAY ENHANCE_YOUR_CALM, what nghttp2 1.67 and nghttpx send
 * when a client exceeds its glitch budget) and nothing more of what it sent is read. */
static bool empty_data_ok(struct sp_conn *c)
{
    struct sp_h2c *h2 = c->h2;
    c->hw->h2nscan_ended = 0;
    uint32_t n = sp__h2_fscan(&h2->fscan, (const uint8_t *)sp_buf_head(&c->x.rbuf),
                              sp_buf_len(&c->x.rbuf), &scan_cbs, h2);

    while (n--) {
        if (sp__h2_budget_take(&h2->empty_data, EMPTY_DATA_BURST, EMPTY_DATA_RATE, c->hw->w->now))
            continue;
        sp_log(SP_LOG_WARNING, "worker %d: HTTP/2 client floods empty DATA frames, closing",
               c->hw->w->id);
        nghttp2_submit_goaway(h2->s, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(h2->s),
                              NGHTTP2_ENHANCE_YOUR_CALM, NULL, 0);
        h2->goaway = true;
        h2->fatal = true;
        return false;
    }
    return true;
}

/* Feeds what the read buffer holds to nghttp2. */
static int feed(struct sp_conn *c)
{
    struct sp_h2c *h2 = c->h2;

    if (!h2->fatal && !empty_data_ok(c)) {
        sp_buf_consume(&c->x.rbuf, sp_buf_len(&c->x.rbuf));
        return -EPROTO;
    }
    if (h2->err_code && !h2->goaway) {
        /* the scanner found a frame on a closed stream, or a stream depending on itself:
         * nothing more of this client is read */
        sp_buf_consume(&c->x.rbuf, sp_buf_len(&c->x.rbuf));
        nghttp2_session_terminate_session(h2->s, h2->err_code);
        h2->goaway = true;
        h2->fatal = true;
        return -EPROTO;
    }
    while (sp_buf_len(&c->x.rbuf)) {
        ssize_t n = nghttp2_session_mem_recv(h2->s, (const uint8_t *)sp_buf_head(&c->x.rbuf),
                                             sp_buf_len(&c->x.rbuf));
        if (n < 0) {
            sp_debug("worker %d: HTTP/2 session error: %s", c->hw->w->id, nghttp2_strerror((int)n));
            sp_buf_consume(&c->x.rbuf, sp_buf_len(&c->x.rbuf));
            /* a wrong preface, or an error our callbacks found: nghttp2 sent nothing, the
             * client is told why before the close (RFC 9113 3.4, 5.4.1) */
            if (n == NGHTTP2_ERR_BAD_CLIENT_MAGIC)
                h2->err_code = NGHTTP2_PROTOCOL_ERROR;
            if (h2->err_code && !h2->goaway) {
                nghttp2_session_terminate_session(h2->s, h2->err_code);
                h2->goaway = true;
            }
            h2->fatal = true;
            return -EPROTO;
        }
        sp_buf_consume(&c->x.rbuf, (uint32_t)n);
    }
    return 0;
}

int sp__h2c_start(struct sp_conn *c)
{
    int err = session_new(c);
    if (err)
        return err;
    feed(c);
    want_flush(c->h2);
    return 0;
}

int sp__h2c_upgrade(struct sp_conn *c, const char *settings, size_t len, bool head,
                    struct sp_txn *t)
{
    uint8_t payload[256];
    long n = sp__base64url_decode(settings, len, payload, sizeof(payload));
    static const char resp[] = "HTTP/1.1 101 Switching Protocols\r\n"
                               "Connection: Upgrade\r\n"
                               "Upgrade: h2c\r\n\r\n";

    if (n < 0 || n % 6)
        return -EINVAL;
    if (sp_buf_alloc(&c->x.wbuf, &c->hw->bufs) || sp_buf_space(&c->x.wbuf) < sizeof(resp))
        return -ENOMEM;
    int err = session_new(c);
    if (err)
        return err;
    struct sp_h2c *h2 = c->h2;
    if (nghttp2_session_upgrade2(h2->s, payload, (size_t)n, head, NULL)) {
        /* the session stays; the connection is closed by the caller */
        return -EINVAL;
    }
    sp_buf_append(&c->x.wbuf, resp, sizeof(resp) - 1);
    win_open(h2, 1);
    struct sp_h2s *st = stream_new(h2, 1);
    if (!st)
        return -ENOMEM;
    nghttp2_session_set_stream_user_data(h2->s, 1, st);
    st->headers_done = st->started = st->req_end = st->req_end_sent = true;
    st->head = head;
    st->txn = t;
    t->ops = &h2_ops;
    t->front = st;
    t->h2 = true;
    /* the client's preface and SETTINGS may have come with the upgrade request */
    feed(c);
    want_flush(h2);
    return 0;
}

/* Sends the round: the write buffer's segments and the DATA payloads they frame, in one
 * sendmsg(). What the socket does not take is copied, in order, to the spill (one
 * allocation, written before anything else); the stream buffers are free again either way.
 * 0 when all went out, 1 when the socket is full, <0 when the client is gone. */
static int round_send(struct sp_conn *c)
{
    struct sp_http_worker *hw = c->hw;
    struct sp_h2c *h2 = c->h2;
    ssize_t w = 0;
    size_t total = 0;

    round_close_seg(hw, c);
    for (int i = 0; i < hw->h2niov; i++)
        total += hw->h2iov[i].iov_len;
    if (total && c->x.can_write) {
        w = sp_xconn_sendv(&c->x, hw->h2iov, hw->h2niov);
        if (w == -EAGAIN)
            w = 0;
        else if (w < 0)
            return (int)w;
    }
    int ret = 0;
    if ((size_t)w < total) {
        c->x.can_write = false;
        h2->spill = malloc(sizeof(*h2->spill) + (total - (size_t)w));
        if (!h2->spill)
            return -ENOMEM;
        h2->spill->len = total - (size_t)w;
        h2->spill->off = 0;
        size_t skip = (size_t)w, o = 0;
        for (int i = 0; i < hw->h2niov; i++) {
            size_t l = hw->h2iov[i].iov_len;
            if (skip >= l) {
                skip -= l;
                continue;
            }
            memcpy(h2->spill->data + o, (char *)hw->h2iov[i].iov_base + skip, l - skip);
            o += l - skip;
            skip = 0;
        }
        ret = 1;
    }
    c->x.wbuf.head = c->x.wbuf.tail = 0;
    hw->h2niov = 0;
    hw->h2ext = 0;
    hw->h2seg = 0;
    return ret;
}

/* Writes what a short write left. 0 when done, 1 when the socket is full again. */
static int spill_send(struct sp_conn *c)
{
    struct sp_h2c *h2 = c->h2;

    while (h2->spill) {
        struct sp_h2_spill *sp = h2->spill;
        if (!c->x.can_write)
            return 1;
        struct iovec iov = {.iov_base = sp->data + sp->off, .iov_len = sp->len - sp->off};
        ssize_t w = sp_xconn_sendv(&c->x, &iov, 1);
        if (w == -EAGAIN)
            return 1;
        if (w < 0)
            return (int)w;
        sp->off += (size_t)w;
        if (sp->off == sp->len) {
            free(sp);
            h2->spill = NULL;
        }
    }
    return 0;
}

/* Pulls nghttp2's output and writes it, a round at a time: frames are gathered (control
 * frames and HEADERS copied to the write buffer, large DATA payloads referenced) until the
 * buffer or the round's limits are reached, then sent together. nghttp2 keeps what was not
 * pulled, so nothing is pulled while the socket is full. 0, or <0 when the client is gone. */
static int h2_output(struct sp_conn *c)
{
    struct sp_h2c *h2 = c->h2;
    struct sp_http_worker *hw = c->hw;
    int r;

    if ((r = spill_send(c)) != 0)
        return r < 0 ? r : 0;
    if (!c->x.can_write)
        return 0;
    if (sp_buf_alloc(&c->x.wbuf, &hw->bufs))
        return -ENOMEM;
    sp_buf_realign(&c->x.wbuf);
    hw->h2niov = 0;
    hw->h2ext = 0;
    hw->h2seg = 0;
    for (;;) {
        if (h2->pend_len) {
            uint32_t n = SP_MIN(h2->pend_len, sp_buf_room(&c->x.wbuf));
            sp_buf_put(&c->x.wbuf, h2->pend, n);
            h2->pend += n;
            h2->pend_len -= n;
            if (h2->pend_len) {
                if ((r = round_send(c)) != 0)
                    return r < 0 ? r : 0;
                continue;
            }
        }
        const uint8_t *data;
        hw->h2blocked = false;
        ssize_t n = nghttp2_session_mem_send(h2->s, &data);
        if (n < 0) {
            h2->fatal = true;
            break;
        }
        if (!n) {
            if (!hw->h2blocked)
                break;
            if ((r = round_send(c)) != 0)
                return r < 0 ? r : 0;
            continue;
        }
        h2->pend = data;
        h2->pend_len = (uint32_t)n; /* one frame (nghttp2's buffer is far below 4 GiB) */
    }
    r = round_send(c);
    if (!r)
        sp_buf_release(&c->x.wbuf, &hw->bufs, 0); /* all out: an idle connection holds none */
    return r < 0 ? r : 0;
}

static bool output_idle(const struct sp_conn *c)
{
    return !sp_buf_len(&c->x.wbuf) && !c->h2->pend_len && !c->h2->spill;
}

/* Returns true when the connection should close now. */
static bool should_close(struct sp_conn *c)
{
    struct sp_h2c *h2 = c->h2;

    if (!output_idle(c))
        return false;
    if (h2->fatal)
        return true;
    if (!nghttp2_session_want_read(h2->s) && !nghttp2_session_want_write(h2->s))
        return true;
    return (c->want_close || c->x.rd_eof) && !h2->streams; /* no stream left to answer */
}

#define H2_LINGER_MS 1000

/* All is said: a lingering close, as HTTP/1's. Our FIN goes first, then what the client
 * still sends is read and dropped until its own FIN (or H2_LINGER_MS), so that its bytes in
 * flight (a PING right after its GOAWAY) do not turn the close into a reset that destroys
 * our last frames before it reads them. */
static void close_gently(struct sp_conn *c)
{
    struct sp_worker *w = c->hw->w;

    if (!c->x.shut_wr) {
        sp_xconn_shutw(&c->x);
        c->h2->fatal = true; /* nothing more reaches nghttp2 */
        sp_timer_arm(&w->tw, &c->x.timer, w->now + H2_LINGER_MS);
    }
    sp_xconn_drain(&c->x);
    if (c->x.rd_eof)
        sp__conn_close(c);
}

static void h2_flush(struct sp_conn *c)
{
    if (!c->h2 || h2_output(c) < 0) {
        sp__conn_close(c);
        return;
    }
    if (should_close(c)) {
        close_gently(c);
        return;
    }
    h2_update_timer(c);
}

static void h2_io_read(struct sp_conn *c)
{
    struct sp_h2c *h2 = c->h2;

    while (c->x.can_read && !c->x.rd_eof && !h2->fatal) {
        if (sp_buf_alloc(&c->x.rbuf, &c->hw->bufs))
            break;
        ssize_t n = sp_xconn_read(&c->x); /* clears can_read, sets rd_eof */
        if (n <= 0)
            break;
        feed(c);
    }
    if (!sp_buf_len(&c->x.rbuf))
        sp_buf_release(&c->x.rbuf, &c->hw->bufs, 0);
    want_flush(h2);
}

/* When the connection's timer must fire (worker ms), or 0 for never. */
static uint64_t timer_deadline(struct sp_conn *c)
{
    struct sp_h2c *h2 = c->h2;
    const struct sp_frontend *fe = c->fe;
    uint64_t now = c->hw->w->now;
    int64_t ms = SP_TIME_UNSET;

    if (!output_idle(c) && !c->x.can_write) {
        ms = fe->t_client; /* the client does not read what we send */
    } else if (!h2->nheads) {
        /* HAProxy's idle rule: keep-alive once a stream was seen, else http-request; then
         * client; after a GOAWAY, client-fin */
        if (h2->goaway)
            ms = fe->t_client_fin != SP_TIME_UNSET ? fe->t_client_fin : fe->t_client;
        else if (h2->seen_stream && fe->t_http_keep_alive != SP_TIME_UNSET)
            ms = fe->t_http_keep_alive;
        else if (fe->t_http_request != SP_TIME_UNSET)
            ms = fe->t_http_request;
        else
            ms = fe->t_client;
    } else if (h2->nwait_body && fe->t_client != SP_TIME_UNSET) {
        /* a request body that stopped coming: `timeout client` since its last bytes (when
         * they came: now less the time since, modulo 2^32 ms) */
        return now - (uint32_t)((uint32_t)now - h2->t_body_ms) + (uint64_t)fe->t_client;
    }
    return ms == SP_TIME_UNSET ? 0 : now + (uint64_t)ms;
}

static void h2_update_timer(struct sp_conn *c)
{
    struct sp_worker *w = c->hw->w;

    if (c->x.shut_wr)
        return; /* lingering: its own deadline stands */
    /* no session (h2_start failed): the timer closes the connection at once */
    uint64_t at = c->h2 ? timer_deadline(c) : w->now;

    if (!at)
        sp_timer_disarm(&w->tw, &c->x.timer);
    else
        sp_timer_arm(&w->tw, &c->x.timer, at);
}

/* `timeout client` ran out on the request bodies being received: as HAProxy, each such
 * request ends with a 408 when its response has not started (termination "cD"), its stream
 * reset otherwise; the connection and its other streams go on. */
static void body_timeout(struct sp_conn *c)
{
    struct sp_h2c *h2 = c->h2;

    for (struct sp_h2s *st = h2->streams; st; st = st->_next) {
        if (!st->wait_body)
            continue;
        st->wait_body = false;
        h2->nwait_body--;
        struct sp_txn *t = st->txn;
        bool started = t && t->res_started;
        if (t && t->state != SP_TXN_DONE) {
            if (t->term[0] == '-') {
                t->term[0] = 'c';
                t->term[1] = 'D';
            }
            sp__txn_abort(t);
        }
        if (!started && !st->res_submitted) {
            if (t)
                t->status = 408;
            /* then the client is told to stop sending (RFC 9113 8.1), which closes the
             * stream: the connection can become idle */
            st->rst_at_end = true;
            submit_error(st, 408);
        } else {
            stream_reset(st, NGHTTP2_CANCEL);
        }
        sp_task_queue(c->hw->w, &st->task);
    }
    want_flush(h2);
    h2_update_timer(c);
}

static void h2_timeout(struct sp_conn *c)
{
    struct sp_h2c *h2 = c->h2;

    if (!h2 || c->x.shut_wr) {
        sp__conn_close(c); /* no session, or the lingering close ran out */
        return;
    }
    if (h2->nheads && (output_idle(c) || c->x.can_write)) {
        /* not the idle rule: a body timeout, or an early wake-up */
        uint64_t at = timer_deadline(c);
        if (h2->nwait_body && at && at <= c->hw->w->now)
            body_timeout(c);
        else
            h2_update_timer(c);
        return;
    }
    if (!h2->goaway && output_idle(c)) {
        nghttp2_submit_goaway(h2->s, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(h2->s), NGHTTP2_NO_ERROR,
                              NULL, 0);
        h2_output(c);
    }
    sp__conn_close(c);
}

static void h2_stop(struct sp_conn *c)
{
    struct sp_h2c *h2 = c->h2;

    c->want_close = true;
    if (!h2) {
        sp__conn_close(c);
        return;
    }
    if (!h2->goaway) {
        /* streams in flight finish; new ones are refused */
        h2->goaway = true;
        nghttp2_submit_goaway(h2->s, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(h2->s), NGHTTP2_NO_ERROR,
                              NULL, 0);
    }
    want_flush(h2);
}

static void h2_release(struct sp_conn *c)
{
    struct sp_h2c *h2 = c->h2;

    sp_task_cancel(c->hw->w, &c->proc_task); /* HTTP/1's, should it still be queued */
    if (!h2)
        return;
    while (h2->streams)
        stream_free(h2->streams);
    hdrs_release(h2);
    free(h2->spill);
    h2->spill = NULL;
    nghttp2_session_del(h2->s);
    h2->s = NULL;
    sp_pool_put(&c->hw->h2c_pool, h2);
    c->h2 = NULL;
}

static void h2_io(struct sp_conn *c, uint32_t events)
{
    if (!c->h2) {
        sp__conn_close(c);
        return;
    }
    /* queued before the reading queues anything else: frames nghttp2 answers with (a
     * RST_STREAM for a malformed request) leave before a deferred server connection opens,
     * so a request reset in the same read never reaches a server */
    if (events & (EPOLLOUT | EPOLLHUP | EPOLLERR))
        want_flush(c->h2);
    h2_io_read(c);
}

/* A connection accepted on a `bind ... proto h2`: HTTP/2 from its first byte, no HTTP/1
 * detection. Our SETTINGS go out at once (RFC 9113 3.4 allows it); a client whose first
 * bytes are not the preface gets GOAWAY(PROTOCOL_ERROR) and the close (feed()). Without
 * memory for the session, the timer closes the connection at once. */
static void h2_start(struct sp_conn *c)
{
    c->t_req_start = c->hw->w->now;
    if (session_new(c) < 0)
        return;
    want_flush(c->h2);
}

const struct sp_cproto sp__h2_cproto = {
    .name = "HTTP/2",
    .start = h2_start,
    .io = h2_io,
    .flush = h2_flush,
    .timeout = h2_timeout,
    .update_timer = h2_update_timer,
    .stop = h2_stop,
    .release = h2_release,
};
