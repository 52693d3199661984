/* http/h1conn.c - the client side of HTTP/1.1: a connection reads requests one at a time,
 * turns each into a transaction, streams its body to the server side and writes the response
 * back, re-framed for this client.
 *
 * owner: worker. A connection and its transaction live on the worker that accepted it.
 *
 * Pipelining: bytes after a request stay in the read buffer and are parsed only once that
 * request's response is complete, so responses go out in order. A request whose body was not
 * fully read when its response ended cannot be resynchronised: the connection closes.
 *
 * Output: everything for the client goes through the write buffer and is flushed from a task
 * at the end of the loop turn (one write per socket per turn), or at once when the buffer is
 * full so that a large response keeps moving.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/util.h"
#include "http/hrules.h"
#include "http/http-int.h"
#include "net/sock.h"

#define LINGER_MS      1000
#define H2_PREFACE     "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
#define H2_PREFACE_LEN 24
#define CHUNK_OVERHEAD 24 /* hex size + CRLF + CRLF */

static void h1c_process(struct sp_conn *c);
#define h1c_close sp__conn_close

static int64_t pick(int64_t a, int64_t b)
{
    return a != SP_TIME_UNSET ? a : b;
}

static void arm(struct sp_conn *c, int64_t ms, uint64_t from)
{
    struct sp_worker *w = c->hw->w;

    if (ms == SP_TIME_UNSET)
        sp_timer_disarm(&w->tw, &c->x.timer);
    else
        sp_timer_arm(&w->tw, &c->x.timer, from + (uint64_t)ms);
}

/* Which timeout guards the client now (HAProxy's rules, see HAPROXY-BEHAVIOUR.md 5). */
static void update_timer(struct sp_conn *c)
{
    const struct sp_frontend *fe = c->fe;
    uint64_t now = c->hw->w->now;

    switch (c->state) {
    case SP_CONN_WAIT_REQ:
        if (c->got_bytes)
            arm(c, pick(fe->t_http_request, fe->t_client), c->t_req_start);
        else if (c->nreq)
            arm(c, pick(fe->t_http_keep_alive, pick(fe->t_http_request, fe->t_client)),
                c->t_req_start);
        else
            arm(c, pick(fe->t_http_request, fe->t_client), c->t_req_start);
        break;
    case SP_CONN_TXN:
        if (c->rwait) {
            /* the rules wait for the body: their time (wait-for-body's, or `timeout
             * http-request` for option http-buffer-request), and `timeout client` */
            uint64_t until = sp__hrules_wait_until(c->txn);
            if (fe->t_client != SP_TIME_UNSET && (!until || now + (uint64_t)fe->t_client < until))
                until = now + (uint64_t)fe->t_client;
            if (until)
                sp_timer_arm(&c->hw->w->tw, &c->x.timer, until);
            else
                sp_timer_disarm(&c->hw->w->tw, &c->x.timer);
            break;
        }
        if (c->buffering) { /* the stats page's POST: the body within `timeout http-request` */
            arm(c, pick(fe->t_http_request, fe->t_client), c->t_req_start);
            break;
        }
        /* the client is expected to act while it owes us body bytes or has output to take */
        if ((!c->req_done) || (sp_buf_len(&c->x.wbuf) && !c->x.can_write))
            arm(c, fe->t_client, now);
        else
            sp_timer_disarm(&c->hw->w->tw, &c->x.timer);
        break;
    case SP_CONN_CLOSING:
        arm(c, c->x.shut_wr ? LINGER_MS : pick(fe->t_client, LINGER_MS), now);
        break;
    case SP_CONN_H2:
        break; /* not HTTP/1's any more */
    }
}

/* ---- output ---- */

/* Writes what the socket takes now. Never calls back into the transaction. */
static void flush_raw(struct sp_conn *c)
{
    if (!sp_buf_len(&c->x.wbuf) || !c->x.can_write)
        return;
    ssize_t n = sp_xconn_flush(&c->x); /* -EAGAIN: can_write cleared */
    if (n < 0 && n != -EAGAIN) {
        /* the client is gone: nothing more can reach it */
        c->x.can_write = false;
        sp_buf_consume(&c->x.wbuf, sp_buf_len(&c->x.wbuf));
        c->want_close = true;
        c->res_abort = true;
        sp_task_queue(c->hw->w, &c->proc_task);
    }
}

/* The connection's flush task (http/conn.c), while HTTP/1 runs. */
static void h1_flush(struct sp_conn *c)
{
    flush_raw(c);
    if (c->state == SP_CONN_CLOSING) {
        h1c_process(c);
        return;
    }
    /* room again: let the response move on */
    if (c->txn && !c->res_done &&
        (c->txn->state == SP_TXN_EXCHANGE || c->txn->state == SP_TXN_LOCAL) &&
        sp_buf_space(&c->x.wbuf) > CHUNK_OVERHEAD)
        sp__txn_res_resume(c->txn);
    if (!c->closed)
        update_timer(c);
}

static void want_flush(struct sp_conn *c)
{
    sp_task_queue(c->hw->w, &c->flush_task);
}

/* Puts `n` bytes or nothing; flushes first when that makes room. */
static bool out_put(struct sp_conn *c, const char *p, size_t n)
{
    if (sp_buf_alloc(&c->x.wbuf, &c->hw->bufs))
        return false;
    if (sp_buf_space(&c->x.wbuf) < n)
        flush_raw(c);
    if (sp_buf_space(&c->x.wbuf) < n)
        return false;
    sp_buf_append(&c->x.wbuf, p, (uint32_t)n);
    want_flush(c);
    return true;
}

static void start_closing(struct sp_conn *c)
{
    c->state = SP_CONN_CLOSING;
    want_flush(c);
    update_timer(c);
}

/* Writes a whole response of spillway's own (resp[0..len): an errorfile, the built-in page)
 * for this client, re-framed as proxied responses are (sp__h1_build_response()): HTTP/1.1
 * whatever the client's version, `Connection: close` when `close`, `keep-alive` for a 1.0
 * client kept open. To HEAD the fields alone go out, Content-Length still saying what a GET
 * would get (RFC 9110 9.3.2). A body without framing (close-delimited) closes the connection.
 * Returns the bytes written, 0 (having written nothing) when it does not fit (the caller
 * closes). */
static size_t put_reply(struct sp_conn *c, const char *resp, size_t len, bool head, bool close)
{
    struct sp_h1_msg *m = &c->hw->msg;
    struct sp_h1_scan scan;

    sp_h1_scan_init(&scan);
    long h = sp_h1_parse_response(resp, len, len, head ? SP_METH_HEAD : SP_METH_GET, &scan, m);
    if (h <= 0 || sp_buf_alloc(&c->x.wbuf, &c->hw->bufs))
        return 0;
    if (m->body == SP_H1_BODY_CLOSE)
        close = true;
    if (close)
        c->want_close = true;
    size_t blen = head || m->body == SP_H1_BODY_NONE ? 0 : len - (size_t)h;
    int version = c->version ? c->version : 11;
    for (int tries = 0; tries < 2; tries++) {
        sp_buf_realign(&c->x.wbuf);
        uint32_t mark = c->x.wbuf.tail;
        if (sp__h1_build_response(&c->x.wbuf, resp, m, version, false, close) == 0) {
            if (sp_buf_space(&c->x.wbuf) >= blen) {
                sp_buf_append(&c->x.wbuf, resp + h, (uint32_t)blen);
                want_flush(c);
                return c->x.wbuf.tail - mark;
            }
            c->x.wbuf.tail = mark; /* the head alone must not go out */
        }
        flush_raw(c);
    }
    return 0;
}

/* Whether the request waiting in the read buffer, complete or not, is a HEAD: a request that
 * failed to parse has no method anywhere else. */
static bool head_waiting(const struct sp_conn *c)
{
    const struct sp_buf *rb = &c->x.rbuf;
    size_t n = sp_buf_len(rb), i = 0;

    if (!n)
        return false;
    const char *p = sp_buf_head(rb);
    while (n - i >= 2 && p[i] == '\r' && p[i + 1] == '\n') /* empty lines the parser skips */
        i += 2;
    return n - i >= 5 && !memcmp(p + i, "HEAD ", 5);
}

/* An error answered by the proxy outside of any transaction (bad request, timeout): the
 * frontend's message for it (errorfile & co) or the built-in page; an empty errorfile sends
 * nothing. */
static void send_error(struct sp_conn *c, int status)
{
    const char *resp;
    struct sp__reply_ctx x = {.fe = c->fe, .c = c};
    long n = sp__errmsg_get(c->hw, status, &x, &resp, NULL);

    sp_debug("worker %d: client error %d", c->hw->w->id, status);
    struct sp_stats_obj *fo = &c->hw->st->fe[c->fe->idx];
    size_t sent = n > 0 ? put_reply(c, resp, (size_t)n, head_waiting(c), true) : 0;
    if (status != 408 || c->got_bytes)
        sp_stat_add(&fo->ereq, 1);
    if (!c->txn)
        sp__accesslog_badreq(c, status, status == 408 ? 'c' : 'P', 'R', sent);
    sp_stat_add(&fo->hrsp[status / 100 - 1], 1);
    sp_stat_add(&fo->bout, (int64_t)sent);
    c->want_close = true;
    start_closing(c);
}

/* ---- front ops: the transaction talks back ---- */

static int op_res_head(struct sp_txn *t, const struct sp_h1_msg *m, const char *buf)
{
    struct sp_conn *c = t->front;

    if (m->status < 200) {
        /* interim responses mean nothing to an HTTP/1.0 client */
        if (c->version == 10)
            return 0;
    } else {
        bool reframe = m->body == SP_H1_BODY_CHUNKED || m->body == SP_H1_BODY_CLOSE;
        c->res_chunked = reframe && c->version == 11;
        if (reframe && c->version == 10)
            c->want_close = true; /* close-delimited is the only framing 1.0 has */
        if (!c->keepalive || !c->req_done || c->hw->w->stopping)
            c->want_close = true;
    }
    if (sp_buf_alloc(&c->x.wbuf, &c->hw->bufs))
        return -ENOMEM;
    bool closing = m->status >= 200 && c->want_close;
    if (sp__h1_build_response(&c->x.wbuf, buf, m, c->version, c->res_chunked, closing) < 0) {
        flush_raw(c);
        if (sp__h1_build_response(&c->x.wbuf, buf, m, c->version, c->res_chunked, closing) < 0)
            return -EAGAIN;
    }
    want_flush(c);
    return 0;
}

static size_t op_res_room(struct sp_txn *t)
{
    struct sp_conn *c = t->front;

    if (c->res_abort || sp_buf_alloc(&c->x.wbuf, &c->hw->bufs))
        return 0;
    uint32_t space = sp_buf_space(&c->x.wbuf);
    if (space < c->x.wbuf.size / 2) {
        flush_raw(c);
        space = sp_buf_space(&c->x.wbuf);
    }
    if (c->res_chunked)
        return space > CHUNK_OVERHEAD ? space - CHUNK_OVERHEAD : 0;
    return space;
}

static size_t op_res_data(struct sp_txn *t, const char *p, size_t len)
{
    struct sp_conn *c = t->front;
    size_t room = op_res_room(t);
    char hex[24];
    size_t hl = 0;

    if (len > room)
        len = room;
    if (!len)
        return 0;
    if (c->res_chunked) {
        hl = sp_u64_hex(len, hex);
        hex[hl++] = '\r';
        hex[hl++] = '\n';
    }
    if (sp_buf_room(&c->x.wbuf) < len + hl + 2)
        sp_buf_realign(&c->x.wbuf);
    if (hl)
        sp_buf_put(&c->x.wbuf, hex, (uint32_t)hl);
    sp_buf_put(&c->x.wbuf, p, (uint32_t)len);
    if (hl)
        sp_buf_put(&c->x.wbuf, "\r\n", 2);
    if (!sp_buf_space(&c->x.wbuf))
        flush_raw(c);
    want_flush(c);
    return len;
}

/* A body buffer taken whole when nothing waits in the write buffer (no chunk framing to
 * add): the server's read buffer becomes the client's write buffer. */
static bool op_res_swap(struct sp_txn *t, struct sp_buf *rb)
{
    struct sp_conn *c = t->front;

    if (c->res_abort || c->res_chunked || sp_buf_len(&c->x.wbuf) || rb->size != c->hw->bufs.size)
        return false;
    sp_buf_move(&c->x.wbuf, rb);
    if (!sp_buf_space(&c->x.wbuf))
        flush_raw(c);
    want_flush(c);
    return true;
}

static int op_res_end(struct sp_txn *t)
{
    struct sp_conn *c = t->front;

    if (c->res_chunked && !out_put(c, "0\r\n\r\n", 5))
        return -EAGAIN;
    c->res_done = true;
    sp_task_queue(c->hw->w, &c->proc_task);
    return 0;
}

/* The fallback of sp__txn_fail() (out of memory) and the answer to a request whose body
 * framing broke: the message for `status`, written at once. */
static void op_res_error(struct sp_txn *t, int status)
{
    struct sp_conn *c = t->front;
    const char *resp;
    struct sp__reply_ctx x = {.fe = t->fe, .be = t->be, .c = c, .t = t};
    long n = sp__errmsg_get(c->hw, status, &x, &resp, NULL);

    /* the request body was not read: the next bytes are not a request head */
    if (!c->req_done || !c->keepalive || c->hw->w->stopping)
        c->want_close = true;
    size_t sent = n > 0 ? put_reply(c, resp, (size_t)n, t->meth == SP_METH_HEAD, c->want_close) : 0;
    t->bytes_out += sent;
    if (!sent) {
        c->want_close = true;
        if (n <= 0)
            c->res_abort = true; /* an empty errorfile: nothing, then the close */
    }
    c->res_done = true;
    sp_task_queue(c->hw->w, &c->proc_task);
}

static void op_res_abort(struct sp_txn *t)
{
    struct sp_conn *c = t->front;

    c->res_abort = true;
    c->res_done = true;
    c->want_close = true;
    sp_task_queue(c->hw->w, &c->proc_task);
}

static void op_req_resume(struct sp_txn *t)
{
    struct sp_conn *c = t->front;
    sp_task_queue(c->hw->w, &c->proc_task);
}

static int dechunk(struct sp_conn *c, char *p, size_t len, size_t *ret_consumed, size_t *ret_data);

/* Chunked: decodes in place what arrived of the body after the part already decoded, so that
 * x.rbuf holds [head: body_off][decoded: req_predec][raw framing not decoded yet]. The rules
 * read the decoded body there; pump_req_body() sends it first. */
static void predecode(struct sp_conn *c)
{
    struct sp_buf *rb = &c->x.rbuf;

    if (c->req_mode != SP_H1_BODY_CHUNKED || c->req_dec_end || c->req_dec_err || c->req_done)
        return;
    size_t start = (size_t)c->body_off + c->req_predec;
    if (sp_buf_len(rb) <= start)
        return;
    char *p = sp_buf_head(rb) + start;
    size_t len = sp_buf_len(rb) - start, consumed = 0, dlen = 0;
    int r = dechunk(c, p, len, &consumed, &dlen);
    /* the framing consumed goes: what is left of the raw bytes follows the decoded ones */
    memmove(p + dlen, p + consumed, len - consumed);
    rb->tail -= (uint32_t)(consumed - dlen);
    c->req_predec += (uint32_t)dlen;
    if (r == SP_H1_CHUNK_DONE)
        c->req_dec_end = true;
    else if (r < 0)
        c->req_dec_err = true;
}

/* The body for the rules: after the head while they run, at the front of x.rbuf once the
 * transaction started (until pump_req_body() moves it on). */
static unsigned op_req_body(struct sp_txn *t, const char **p, size_t *len, uint64_t *size)
{
    struct sp_conn *c = t->front;
    struct sp_buf *rb = &c->x.rbuf;
    unsigned fl = 0;

    if (c->txn != t || c->state != SP_CONN_TXN)
        return 0;
    if (c->req_done && !c->req_predec)
        return SP_BODY_COMPLETE; /* nothing, or all of it already went on */
    predecode(c);
    size_t avail = sp_buf_len(rb) > c->body_off ? sp_buf_len(rb) - c->body_off : 0;
    if (c->req_mode == SP_H1_BODY_CHUNKED) {
        *len = c->req_predec;
        *size = c->req_predec;
        if (c->req_dec_end)
            fl |= SP_BODY_COMPLETE;
        if (c->req_dec_err)
            fl |= SP_BODY_STOP;
    } else {
        *len = (size_t)SP_MIN((uint64_t)avail, c->req_left);
        *size = c->req_left;
        if (*len == c->req_left)
            fl |= SP_BODY_COMPLETE;
    }
    if (*len)
        *p = sp_buf_head(rb) + c->body_off;
    if (c->x.rd_eof || sp_buf_space(rb) <= CHUNK_OVERHEAD)
        fl |= SP_BODY_STOP;
    return fl;
}

static const struct sp_front_ops h1_ops = {
    .res_head = op_res_head,
    .res_room = op_res_room,
    .res_data = op_res_data,
    .res_swap = op_res_swap,
    .res_end = op_res_end,
    .res_error = op_res_error,
    .res_abort = op_res_abort,
    .req_resume = op_req_resume,
    .req_body = op_req_body,
};

/* ---- input ---- */

/* Reads while there is room. */
static void c_read(struct sp_conn *c)
{
    while (c->x.can_read && !c->x.rd_eof) {
        if (sp_buf_alloc(&c->x.rbuf, &c->hw->bufs))
            return;
        if (!sp_buf_space(&c->x.rbuf))
            return;
        /* a short read drained the socket (can_read cleared): edge-triggered epoll reports
         * the next bytes, so asking again would only cost an EAGAIN */
        ssize_t n = sp_xconn_read(&c->x);
        if (n > 0 && !sp_buf_room(&c->x.rbuf))
            return;
    }
}

/* Reads while the body is waited for: unlike c_read(), it realigns the buffer when its end is
 * reached (nothing is consumed while a body is waited for), so that the rest of the body
 * still in the socket comes in: edge-triggered readiness would not report it again. */
static void fill(struct sp_conn *c)
{
    struct sp_buf *rb = &c->x.rbuf;

    for (int i = 0; i < 4; i++) {
        c_read(c);
        if (!c->x.can_read || c->x.rd_eof || !rb->data || sp_buf_room(rb) || !sp_buf_space(rb))
            return;
        sp_buf_realign(rb); /* paused rules' message follows (sp__hrules_resume's rebase) */
    }
}

/* The stats page's POST answer (HAProxy reads the admin form's body before it answers):
 * whether the request body is still on its way, neither whole in the read buffer nor filling
 * it, nor cut by the client's close. Reads what the socket has first. */
static bool body_waiting(struct sp_conn *c)
{
    const char *p;
    size_t len;
    uint64_t size;

    fill(c);
    return !(op_req_body(c->txn, &p, &len, &size) & (SP_BODY_COMPLETE | SP_BODY_STOP));
}

/* Starts the transaction that waited for its body (or did not need to). */
static void start_buffered(struct sp_conn *c)
{
    c->buffering = false;
    sp__txn_start(c->txn);
}

/* A request that could not start: its transaction goes, the client gets `status`. */
static void txn_refuse(struct sp_conn *c, struct sp_txn *t, int status)
{
    c->txn = NULL;
    c->rwait = false;
    c->body_off = 0;
    c->state = SP_CONN_WAIT_REQ;
    sp__txn_free(t);
    send_error(c, status);
}

static void after_rules(struct sp_conn *c, struct sp_txn *t, struct sp_hmsg *hm, long headlen);

/* Waiting for the body of an HTTP/1.1 request with `Expect: 100-continue`: HAProxy answers
 * 100 Continue itself (http_handle_expect_hdr()), or the client would wait for it first. */
static void expect_continue(struct sp_conn *c, const struct sp_h1_msg *m)
{
    static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

    if ((m->flags & SP_H1_MF_EXPECT_100) && m->version == 11)
        out_put(c, cont, sizeof(cont) - 1);
}

static void start_txn(struct sp_conn *c, long headlen)
{
    struct sp_http_worker *hw = c->hw;
    const struct sp_h1_msg *m = &hw->msg;
    const char *head = sp_buf_head(&c->x.rbuf);

    c->version = m->version;
    /* HAProxy's h1_set_cli_conn_mode(): close wins, and 1.0 must ask for keep-alive */
    c->keepalive = !(m->flags & SP_H1_MF_CONN_CLOSE) &&
                   (m->version == 11 || (m->flags & SP_H1_MF_CONN_KEEPALIVE));
    if (c->fe->httpclose || hw->w->stopping)
        c->keepalive = false;
    c->req_mode = m->body;
    c->req_left = m->content_length;
    sp_h1_chunk_init(&c->req_chunk);
    c->req_done = m->body == SP_H1_BODY_NONE || (m->body == SP_H1_BODY_CL && !m->content_length);
    c->req_end_sent = false;
    c->res_chunked = c->res_done = c->res_abort = false;
    c->req_dec_end = c->req_dec_err = c->rwait = false;
    c->req_predec = 0;

    struct sp_txn *t = sp__txn_new(hw, &h1_ops, c, c->fe);
    hw->headbuf.head = hw->headbuf.tail = 0;
    if (!t) {
        sp__txn_free(t);
        send_error(c, 500);
        return;
    }
    t->meth = m->meth;
    t->conn = c;
    sp__stk_stream_begin(t, c, true);
    sp__accesslog_reqline(t, head + m->method_off, m->method_len, head + m->uri_off, m->uri_len);
    t->t_req = c->t_req_start * 1000;
    t->bytes_in = (uint64_t)headlen;
    if (!c->nreq)
        sp_stat_add(&hw->st->fe[c->fe->idx].h1sess, 1);
    t->req_body = m->body == SP_H1_BODY_CHUNKED ? SP_H1_BODY_CHUNKED : m->body;
    /* the rules may read the body after the head (req.body) and wait for it */
    c->txn = t;
    c->state = SP_CONN_TXN;
    c->body_off = (uint32_t)headlen;
    /* with http rules the request is an editable message, routed between the rule sets */
    struct sp_hmsg *hm = NULL;
    if (sp__hrules_on(hw->conf->hrules, false)) {
        int err;
        hm = sp__hrules_h1(t, c, head, m, &err);
        if (!hm && err == -EAGAIN) {
            c->rwait = true; /* paused for the body: h1c_process() resumes them */
            expect_continue(c, m);
            return;
        }
        if (!hm) {
            txn_refuse(c, t, err == -EINVAL ? 400 : 500);
            return;
        }
    } else {
        sp__route_h1(t, c, head, m);
    }
    after_rules(c, t, hm, headlen);
}

/* The rules paused for the body go on when it came (as much as they wait for). */
static void resume_rules(struct sp_conn *c)
{
    struct sp_http_worker *hw = c->hw;
    struct sp_txn *t = c->txn;
    struct sp_buf *rb = &c->x.rbuf;
    long headlen = c->body_off;
    int err;

    fill(c);
    if (!sp__hrules_ready(t))
        return;
    /* the parsed head is the worker's scratch: parsed again (same bytes, same result) */
    struct sp_h1_scan scan;
    sp_h1_scan_init(&scan);
    size_t max_head = rb->size - 1 - (size_t)hw->conf->head_reserve;
    if (sp_h1_parse_request(sp_buf_head(rb), (size_t)headlen, SP_MIN(rb->size - 2, max_head),
                            max_head, &scan, &hw->msg) != headlen) {
        txn_refuse(c, t, 500); /* cannot happen: the head did not change */
        return;
    }
    struct sp_hmsg *hm = sp__hrules_resume(t, c, sp_buf_head(rb), (size_t)headlen, &err);
    if (!hm && err == -EAGAIN)
        return;
    c->rwait = false;
    if (!hm) {
        txn_refuse(c, t, err == -EINVAL ? 400 : 500);
        return;
    }
    after_rules(c, t, hm, headlen);
}

/* After the rules (or the routing without them): the request toward the server is built and
 * the transaction starts (once its body is in when it must wait for it). */
static void after_rules(struct sp_conn *c, struct sp_txn *t, struct sp_hmsg *hm, long headlen)
{
    struct sp_http_worker *hw = c->hw;
    const struct sp_h1_msg *m = &hw->msg;
    const char *head = sp_buf_head(&c->x.rbuf);
    struct sp_fwd fwd;

    if (t->be && (c->fe->comp || t->be->comp)) {
        if (hm)
            sp__comp_req_hmsg(t, hm);
        else
            sp__comp_req_h1(t, head, &hw->msg);
    }
    if (t->local == SP_LOCAL_MONITOR || t->local == SP_LOCAL_MONITOR_FAIL)
        c->keepalive = false; /* HAProxy's http_reply_and_close() */
    if (t->local == SP_LOCAL_REPLY && !c->req_done)
        c->keepalive = false; /* the body of an answered request is not read */
    sp__fwd_decide(c->fe, t->be, sp__txn_src(t), &fwd);
    if (fwd.add && fwd.if_none &&
        (hm ? sp__hmsg_has(hm, fwd.name, fwd.name_len)
            : sp__h1_has_field(head, m, fwd.name, fwd.name_len)))
        fwd.add = false;
    bool up_close = sp__txn_srv_close(t);
    enum sp_h1_body hbody;
    if ((hm ? sp__hmsg_build_request(hm, &hw->headbuf, &fwd, sp__txn_src(t), up_close, false,
                                     &hbody)
            : sp__h1_build_request(&hw->headbuf, head, m, &fwd, sp__txn_src(t), up_close)) < 0 ||
        sp__txn_set_head(t) < 0) {
        txn_refuse(c, t, 431);
        return;
    }
    /* RFC 7540 3.2: a bodyless HTTP/1.1 request may switch the connection to h2c; it is
     * then answered as stream 1 (a request with a body simply stays HTTP/1.1) */
    int up = -1;
    const unsigned want = SP_H1_MF_UPGRADE_H2C | SP_H1_MF_HAS_H2SETTINGS | SP_H1_MF_CONN_UPGRADE;
    if ((m->flags & want) == want && m->version == 11 && m->body == SP_H1_BODY_NONE &&
        !hw->w->stopping) {
        for (uint32_t i = 0; i < m->nhdrs && up < 0; i++)
            if (m->hdrs[i].flags & SP_H1_HF_H2SETTINGS)
                up = (int)i;
    }
    if (up >= 0) {
        char settings[512];
        const struct sp_h1_hdr *h = &m->hdrs[up];
        if (h->val_len < sizeof(settings)) {
            memcpy(settings, head + h->val_off, h->val_len);
            sp_buf_consume(&c->x.rbuf, (uint32_t)headlen);
            c->nreq++;
            c->txn = NULL;
            c->body_off = 0;
            c->state = SP_CONN_WAIT_REQ;
            t->req_end = true;
            if (sp__h2c_upgrade(c, settings, h->val_len, m->meth == SP_METH_HEAD, t) < 0) {
                sp__txn_free(t);
                h1c_close(c);
                return;
            }
            sp__txn_start(t);
            return;
        }
    }
    sp_buf_consume(&c->x.rbuf, (uint32_t)headlen);
    c->body_off = 0;
    sp_h1_scan_init(&c->scan);
    c->txn = t;
    c->state = SP_CONN_TXN;
    c->nreq++;
    /* the stats page reads a POST's body (its admin form) before it answers */
    c->buffering = !c->req_done && t->meth == SP_METH_POST &&
                   (t->local == SP_LOCAL_STATS_HTML || t->local == SP_LOCAL_STATS_CSV);
    if (!c->buffering || !body_waiting(c))
        start_buffered(c);
    else
        expect_continue(c, m);
}

/* Decodes the chunked body in p[0..len) as far as it goes, gathering the data of every
 * chunk at p[0..*ret_data) (over the framing already consumed, which nothing reads again):
 * one hand-over and one write toward the server for a whole read of small chunks, never one
 * per chunk, so a client sending one-byte chunks costs no more system calls than one
 * sending large ones. *ret_consumed bytes of p were used. Returns as sp_h1_chunk_parse(). */
static int dechunk(struct sp_conn *c, char *p, size_t len, size_t *ret_consumed, size_t *ret_data)
{
    size_t pos = 0, out = 0;
    int r;

    do {
        size_t consumed = 0, doff = 0, dlen = 0;
        r = sp_h1_chunk_parse(&c->req_chunk, p + pos, len - pos, &consumed, &doff, &dlen);
        if (r < 0)
            break;
        if (dlen) {
            /* decoded data never outruns the input: out <= pos + doff */
            memmove(p + out, p + pos + doff, dlen);
            out += dlen;
        }
        pos += consumed;
        if (!consumed)
            break;
    } while (r == SP_H1_CHUNK_MORE && pos < len);
    *ret_consumed = pos;
    *ret_data = out;
    return r;
}

/* Moves request body bytes from the read buffer to the transaction. */
static void pump_req_body(struct sp_conn *c)
{
    struct sp_txn *t = c->txn;

    /* a chunked body the rules read was decoded in place: its decoded part goes first */
    while (c->req_predec && t->state != SP_TXN_DONE) {
        struct sp_buf *rb = &c->x.rbuf;
        size_t k = sp__txn_req_data(t, sp_buf_head(rb), c->req_predec);
        if (!k)
            return; /* the server side is full: req_resume brings us back */
        sp_buf_consume(rb, (uint32_t)k);
        c->req_predec -= (uint32_t)k;
    }
    if (c->req_dec_end && !c->req_done)
        c->req_done = true;
    while (!c->req_done && t->state != SP_TXN_DONE) {
        struct sp_buf *rb = &c->x.rbuf;
        if (!sp_buf_len(rb)) {
            c_read(c);
            if (!sp_buf_len(rb)) {
                if (c->x.rd_eof) {
                    /* the client left in the middle of its body */
                    sp__txn_abort(t);
                    c->want_close = true;
                    c->res_abort = true;
                    c->res_done = true;
                }
                return;
            }
        }
        if (c->req_mode == SP_H1_BODY_CL) {
            size_t n = SP_MIN((uint64_t)sp_buf_len(rb), c->req_left);
            size_t k = sp__txn_req_data(t, sp_buf_head(rb), n);
            sp_buf_consume(rb, (uint32_t)k);
            c->req_left -= k;
            if (!c->req_left)
                c->req_done = true;
            else if (!k)
                return; /* the server side is full: req_resume brings us back */
            continue;
        }
        /* chunked: decode no more than the server side can take, so that all the data
         * decoded is taken whole */
        struct sp_upconn *up = t->up;
        if (t->state != SP_TXN_EXCHANGE || !up)
            return;
        uint32_t room = sp_buf_space(&up->x.wbuf);
        if (room <= CHUNK_OVERHEAD)
            return;
        size_t limit = SP_MIN((size_t)sp_buf_len(rb), (size_t)room - CHUNK_OVERHEAD);
        size_t consumed = 0, dlen = 0;
        int r = dechunk(c, sp_buf_head(rb), limit, &consumed, &dlen);
        if (r >= 0 && dlen && sp__txn_req_data(t, sp_buf_head(rb), dlen) != dlen) {
            /* cannot happen: the room was measured above. Losing bytes would reframe the
             * body, so the request dies instead */
            r = SP_H1_CHUNK_ERR;
        }
        if (r < 0) {
            /* framing lost: nothing sensible can follow */
            sp__txn_abort(t);
            c->res_abort = true;
            c->res_done = true;
            c->want_close = true;
            if (!t->res_started) {
                c->res_abort = false;
                op_res_error(t, 400);
            }
            return;
        }
        sp_buf_consume(rb, (uint32_t)consumed);
        if (r == SP_H1_CHUNK_DONE) {
            c->req_done = true;
            break;
        }
        if (!consumed) {
            if (sp_buf_len(rb) == rb->size)
                sp_buf_realign(rb);
            if (sp_buf_len(rb) < limit)
                continue;
            c_read(c);
            if (c->x.rd_eof && !c->x.can_read) {
                sp__txn_abort(t);
                c->want_close = true;
                c->res_abort = true;
                c->res_done = true;
                return;
            }
            if (!c->x.can_read)
                return;
        }
    }
    if (c->req_done && !c->req_end_sent && t->state != SP_TXN_DONE) {
        if (sp__txn_req_end(t) == 0)
            c->req_end_sent = true;
    }
}

/* option abortonclose: the client closed its side while its request still waits for a
 * server (in a queue, between retries, or while the connection is being established): the
 * request is dropped (HAProxy's CQ / CC) instead of being served to nobody. True when the
 * transaction was aborted (the caller closes the connection). */
static bool abort_on_close(struct sp_conn *c)
{
    struct sp_txn *t = c->txn;

    if (!t || !t->be || !t->be->abortonclose || t->res_started)
        return false;
    if (t->state != SP_TXN_QUEUED && t->state != SP_TXN_CONNECTING &&
        t->state != SP_TXN_RETRY_WAIT && t->state != SP_TXN_NEW)
        return false;
    sp__txn_abort(t);
    return true;
}

/* The transaction is over on both sides: log, free, then either the next request or close. */
static void finish_txn(struct sp_conn *c)
{
    struct sp_txn *t = c->txn;

    if (sp_log_enabled(SP_LOG_DEBUG)) {
        char ip[64];
        sp_log(SP_LOG_DEBUG, "worker %d: %s:%d %s %s/%s %d %c%c", c->hw->w->id,
               sp_addr_ip(&c->peer, ip, sizeof(ip)), sp_addr_port(&c->peer), c->fe->name,
               t->be ? t->be->name : "<NOBACKEND>", t->srv ? t->srv->name : "<NOSRV>", t->status,
               t->term[0], t->term[1]);
    }
    if (!c->req_done)
        c->want_close = true;
    sp__txn_free(t);
    c->txn = NULL;
    if (c->res_abort) {
        h1c_close(c);
        return;
    }
    if (c->want_close || !c->keepalive || c->x.rd_eof) {
        start_closing(c);
        return;
    }
    c->state = SP_CONN_WAIT_REQ;
    c->got_bytes = false;
    c->t_req_start = c->hw->w->now;
    sp_h1_scan_init(&c->scan);
}

static void h1c_process(struct sp_conn *c)
{
    struct sp_http_worker *hw = c->hw;

    for (int guard = 0; guard < 64 && !c->closed; guard++) {
        switch (c->state) {
        case SP_CONN_CLOSING:
            flush_raw(c);
            if (sp_buf_len(&c->x.wbuf) && c->x.can_write)
                return;
            if (sp_buf_len(&c->x.wbuf))
                goto out;
            if (!c->x.shut_wr) {
                /* lingering close: stop sending, then read until the client closes so that
                 * unread bytes do not turn our last response into a reset */
                sp_xconn_shutw(&c->x);
                update_timer(c);
            }
            sp_xconn_drain(&c->x);
            if (c->x.rd_eof)
                h1c_close(c);
            return;

        case SP_CONN_WAIT_REQ: {
            c_read(c);
            struct sp_buf *rb = &c->x.rbuf;
            if (!sp_buf_len(rb)) {
                if (c->x.rd_eof || hw->w->stopping) {
                    h1c_close(c);
                    return;
                }
                sp_buf_release(rb, &hw->bufs, 0);
                sp_buf_release(&c->x.wbuf, &hw->bufs, 0);
                goto out;
            }
            if (!c->got_bytes) {
                c->got_bytes = true;
                c->t_req_start = hw->w->now;
            }
            if (!c->nreq) {
                /* HTTP/2 with prior knowledge: the connection preface decides, byte by byte
                 * ("P" alone could still be POST) */
                size_t n = SP_MIN((size_t)sp_buf_len(rb), (size_t)H2_PREFACE_LEN);
                if (!memcmp(sp_buf_head(rb), H2_PREFACE, n)) {
                    if (n < H2_PREFACE_LEN) {
                        if (c->x.rd_eof) {
                            h1c_close(c);
                            return;
                        }
                        goto out;
                    }
                    if (sp__h2c_start(c) < 0) {
                        h1c_close(c);
                        return;
                    }
                    return;
                }
            }
            /* a request line that cannot fit is a 414, decided before the head limit (431) */
            size_t max_head = rb->size - 1 - (size_t)hw->conf->head_reserve;
            long r =
                sp_h1_parse_request(sp_buf_head(rb), sp_buf_len(rb), SP_MIN(rb->size - 2, max_head),
                                    max_head, &c->scan, &hw->msg);
            if (r < 0) {
                send_error(c, (int)-r);
                continue;
            }
            if (r == 0) {
                if (c->x.rd_eof) {
                    h1c_close(c); /* a partial request, then nothing: just close */
                    return;
                }
                if (!sp_buf_room(rb))
                    sp_buf_realign(rb); /* the scan is relative to the head: still valid */
                if (c->x.can_read)
                    continue;
                goto out;
            }
            start_txn(c, r);
            continue;
        }

        case SP_CONN_H2:
            return; /* handed over to HTTP/2 (preface or upgrade) in this very call */

        case SP_CONN_TXN:
            if (c->rwait) {
                resume_rules(c);
                if (c->closed)
                    return;
                if (c->rwait || c->state != SP_CONN_TXN)
                    goto out;
            }
            if (c->buffering) {
                if (body_waiting(c))
                    goto out;
                start_buffered(c);
                if (c->closed)
                    return;
            }
            if (!c->req_done || !c->req_end_sent)
                pump_req_body(c);
            if (c->closed)
                return;
            if (c->req_done && !c->x.rd_eof && sp_buf_space(&c->x.rbuf))
                c_read(c); /* notice a client that leaves while we wait */
            if (c->x.rd_eof && abort_on_close(c)) {
                h1c_close(c);
                return;
            }
            if (c->res_abort && c->txn->state != SP_TXN_DONE) {
                /* a write to the client failed (it reset): the exchange with the server
                 * ends too, or both would wait on each other with no timer left (CD) */
                sp__txn_abort(c->txn);
                c->res_done = true;
            }
            if (c->res_done && c->txn->state == SP_TXN_DONE) {
                if (c->res_abort) {
                    flush_raw(c);
                    h1c_close(c);
                    return;
                }
                finish_txn(c);
                continue;
            }
            goto out;
        }
    }
out:
    if (!c->closed)
        update_timer(c);
}

static void proc_task(struct sp_task *tk)
{
    h1c_process(sp_container_of(tk, struct sp_conn, proc_task));
}

static void h1_io(struct sp_conn *c, uint32_t events)
{
    if ((events & (EPOLLOUT | EPOLLHUP | EPOLLERR)) && sp_buf_len(&c->x.wbuf))
        want_flush(c);
    h1c_process(c);
}

/* A connection that sent nothing before `timeout http-request` (or client) struck: as
 * HAProxy 2.6 (h1_handle_req_tout()), a failed request: counted, logged (`option
 * dontlognull` drops that line) and answered 408, unless dontlognull (then just closed).
 * `option http-ignore-probes` skips all of it: browsers' speculative pre-connections. */
static void probe_timeout(struct sp_conn *c)
{
    struct sp_stats_obj *fo = &c->hw->st->fe[c->fe->idx];

    if (!c->fe->dontlognull) {
        send_error(c, 408);
        sp_stat_add(&fo->ereq, 1); /* send_error counts 408s only with bytes received */
        return;
    }
    sp_stat_add(&fo->ereq, 1);
    sp_stat_add(&fo->hrsp[3], 1);
    h1c_close(c);
}

static void h1_timeout(struct sp_conn *c)
{
    switch (c->state) {
    case SP_CONN_WAIT_REQ:
        if (c->got_bytes)
            send_error(c, 408);
        else if (!c->nreq && !c->fe->ignore_probes)
            probe_timeout(c);
        else
            h1c_close(c); /* idle keep-alive, or `option http-ignore-probes` */
        break;
    case SP_CONN_TXN:
        if (c->buffering || c->rwait) {
            /* the body did not come in time: HAProxy's 408, the transaction never started
             * (the line logged is the 408's) */
            struct sp_txn *t = c->txn;
            c->txn = NULL;
            c->buffering = c->rwait = false;
            c->body_off = 0;
            free(t->reqline);
            t->reqline = NULL;
            t->logged = true;
            sp__txn_free(t);
            c->got_bytes = true;
            send_error(c, 408);
            break;
        }
        if (c->txn && c->txn->term[0] == '-') {
            c->txn->term[0] = 'c';
            c->txn->term[1] = c->txn->res_started ? 'D' : 'H';
        }
        h1c_close(c);
        break;
    case SP_CONN_CLOSING:
        h1c_close(c);
        break;
    case SP_CONN_H2:
        break;
    }
}

/* A graceful stop: the response in progress finishes, an idle connection closes now. */
static void h1_stop(struct sp_conn *c)
{
    c->keepalive = false;
    if (c->state == SP_CONN_WAIT_REQ && !c->got_bytes)
        h1c_close(c);
}

static void h1_start(struct sp_conn *c)
{
    sp_task_init(&c->proc_task, proc_task);
    c->state = SP_CONN_WAIT_REQ;
    c->t_req_start = c->hw->w->now;
    sp_h1_scan_init(&c->scan);
}

static void h1_release(struct sp_conn *c)
{
    if (c->txn) {
        sp__txn_free(c->txn);
        c->txn = NULL;
    }
    sp_task_cancel(c->hw->w, &c->proc_task);
}

const struct sp_cproto sp__h1_cproto = {
    .name = "HTTP/1.1",
    .start = h1_start,
    .io = h1_io,
    .flush = h1_flush,
    .timeout = h1_timeout,
    .update_timer = update_timer,
    .stop = h1_stop,
    .release = h1_release,
};

void sp__http_pools_init(struct sp_http_worker *hw)
{
    sp_pool_init(&hw->h1c_pool, sizeof(struct sp_conn), 4096);
    sp_pool_init(&hw->txn_pool, sizeof(struct sp_txn), 4096);
    sp_pool_init(&hw->upconn_pool, sizeof(struct sp_upconn), 4096);
}
