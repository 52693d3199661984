/* http/h2stream.c - an HTTP/2 stream's request (see h2conn-int.h): its start through the
 * http rules (and their pause for the body: wait-for-body, option http-buffer-request), the
 * routing and the server's request, and the front ops its transaction talks back through.
 *
 * owner: worker. A stream and its transaction live on the worker of their connection.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "http/h2conn-int.h"
#include "http/hrules.h"

/* ---- front ops: the transaction talks back ---- */

static int op_res_head(struct sp_txn *t, const struct sp_h1_msg *m, const char *buf)
{
    struct sp_h2s *st = t->front;
    struct sp_http_worker *hw = sp__h2_hw(st->h2);

    if ((m->status < 200 && m->status != 103) || st->closed || st->reset)
        return 0; /* interim responses are not relayed over HTTP/2, but 103 Early Hints */
    int n = sp__h2_res_nv(buf, m, hw->h2nva, SP_ARRAY_SIZE(hw->h2nva), hw->h2scratch,
                          sizeof(hw->h2scratch));
    if (n >= 0 && m->status == 103) {
        /* a HEADERS frame that does not end the stream (the final response follows) */
        if (!st->res_submitted && nghttp2_submit_headers(st->h2->s, NGHTTP2_FLAG_NONE, st->id, NULL,
                                                         hw->h2nva, (size_t)n, NULL) == 0)
            sp__h2_want_flush(st->h2);
        return 0;
    }
    if (n < 0) {
        sp__h2s_reset(st, NGHTTP2_INTERNAL_ERROR);
        return 0;
    }
    nghttp2_data_provider prd = {.source.ptr = st, .read_callback = sp__h2s_data_read};
    bool body = m->body != SP_H1_BODY_NONE;
    if (body && sp__h2s_resbody_alloc(st, m))
        return -ENOMEM;
    if (nghttp2_submit_response(st->h2->s, st->id, hw->h2nva, (size_t)n, body ? &prd : NULL))
        sp__h2s_reset(st, NGHTTP2_INTERNAL_ERROR);
    else
        st->res_submitted = true;
    sp__h2_want_flush(st->h2);
    return 0;
}

static size_t op_res_room(struct sp_txn *t)
{
    struct sp_h2s *st = t->front;

    if (st->closed || st->reset)
        return 0;
    if (sp__h2s_resbody_alloc(st, NULL))
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
    sp__h2s_resume_data(st);
    return n;
}

static bool op_res_swap(struct sp_txn *t, struct sp_buf *rb)
{
    struct sp_h2s *st = t->front;

    if (st->closed || st->reset || st->resbody_own || sp_buf_len(&st->resbody) ||
        rb->size != sp__h2_hw(st->h2)->bufs.size)
        return false;
    sp_buf_move(&st->resbody, rb);
    sp__h2s_resume_data(st);
    return true;
}

static int op_res_end(struct sp_txn *t)
{
    struct sp_h2s *st = t->front;

    st->res_eof = true;
    sp__h2s_resume_data(st);
    return 0;
}

static void op_res_error(struct sp_txn *t, int status)
{
    struct sp_h2s *st = t->front;

    if (t->meth == SP_METH_HEAD)
        st->head = true;
    sp__h2s_error(st, status);
}

static void op_res_abort(struct sp_txn *t)
{
    sp__h2s_reset(t->front, NGHTTP2_INTERNAL_ERROR);
}

void sp__h2_reject(struct sp_txn *t)
{
    struct sp_h2s *st = t->front;
    struct sp_h2c *h2 = st->h2;

    /* the stream reset, then GOAWAY, both ENHANCE_YOUR_CALM, and the connection closes once
     * they are out (HAProxy 2.6: h2c_error() on a rejected stream) */
    t->conn->want_close = true;
    sp__h2s_reset(st, NGHTTP2_ENHANCE_YOUR_CALM);
    if (!h2->goaway)
        nghttp2_submit_goaway(h2->s, NGHTTP2_FLAG_NONE,
                              nghttp2_session_get_last_proc_stream_id(h2->s),
                              NGHTTP2_ENHANCE_YOUR_CALM, NULL, 0);
    h2->goaway = true;
    h2->fatal = true;
    sp__h2_want_flush(h2);
}

static void op_req_resume(struct sp_txn *t)
{
    struct sp_h2s *st = t->front;
    sp_task_queue(sp__h2_hw(st->h2)->w, &st->task);
}

/* The DATA the stream holds: decoded by nature, in one buffer no larger than the stream's
 * window, which the client cannot exceed until the server side takes the bytes. */
static unsigned op_req_body(struct sp_txn *t, const char **p, size_t *len, uint64_t *size)
{
    struct sp_h2s *st = t->front;
    size_t full = SP_MIN((size_t)sp__h2_hw(st->h2)->conf->bufsize, (size_t)SP_H2_STREAM_WINDOW);
    unsigned fl = 0;

    *len = SP_MIN((size_t)sp_buf_len(&st->reqbody), full); /* what a buffer would hold */
    if (*len)
        *p = sp_buf_head(&st->reqbody);
    *size = st->clen >= 0 ? (uint64_t)st->clen : *len;
    if (st->req_end && *len == sp_buf_len(&st->reqbody))
        fl |= SP_BODY_COMPLETE;
    if (st->reset || st->closed || *len >= full)
        fl |= SP_BODY_STOP;
    return fl;
}

const struct sp_front_ops sp__h2_ops = {
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

/* ---- streams ---- */

static bool req_has_field(const struct sp_h2_req *r, const char *name, size_t len)
{
    for (uint32_t i = 0; i < r->nfields; i++)
        if (r->f[i].name.len == len && !strncasecmp(r->store->data + r->f[i].name.off, name, len))
            return true;
    return false;
}

static void stream_after_rules(struct sp_h2s *st, struct sp_txn *t, struct sp_hmsg *hm,
                               struct sp_h2_req *q);

static void stream_start_req(struct sp_h2s *st)
{
    struct sp_conn *c = st->h2->c;
    struct sp_http_worker *hw = c->hw;
    struct sp_h2_hblock *hb = st->h2->hb;

    st->started = true;
    if (!hb || hb->owner != st) {
        sp__h2s_error(st, 500); /* cannot happen: a header block is never interleaved */
        return;
    }
    hb->owner = NULL;
    st->head = hb->req.meth == SP_METH_HEAD;
    if (st->err_status) {
        sp__h2s_error(st, st->err_status);
        return;
    }
    struct sp_txn *t = sp__txn_new(hw, &sp__h2_ops, st, c->fe);
    hw->headbuf.head = hw->headbuf.tail = 0;
    if (!t) {
        sp__txn_free(t);
        sp__h2s_error(st, 500);
        return;
    }
    struct sp_h2_req *q = &hb->req;
    t->meth = q->meth;
    t->h2 = true;
    t->conn = c;
    sp__stk_stream_begin(t, c, true);
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
    st->clen = q->content_length;
    /* with http rules the request is an editable message, routed between the rule sets */
    struct sp_hmsg *hm = NULL;
    if (sp__hrules_on(hw->conf->hrules, false)) {
        int herr;
        st->txn = t; /* the rules may read the body (req.body) */
        hm = sp__hrules_h2(t, c, q, &herr);
        if (!hm && herr == -EAGAIN) {
            /* paused for the body: the stream keeps its header block (the message points
             * into it), the connection takes a new one for the next stream */
            st->rwait = true;
            st->hb = hb;
            hb->owner = st;
            st->h2->hb = NULL;
            uint64_t until = sp__hrules_wait_until(t);
            if (until)
                sp_timer_arm(&hw->w->tw, &st->wtimer, until);
            return;
        }
        if (!hm) {
            st->txn = NULL;
            sp__txn_free(t);
            sp__h2s_error(st, herr == -EINVAL ? 400 : 500);
            return;
        }
    } else {
        sp__route_h2(t, c, q);
    }
    stream_after_rules(st, t, hm, q);
}

/* The rules paused for the body go on once it came (as much as they wait for). */
static void stream_resume(struct sp_h2s *st)
{
    struct sp_conn *c = st->h2->c;
    struct sp_txn *t = st->txn;
    int err;

    struct sp_hmsg *hm = sp__hrules_resume(t, c, NULL, 0, &err);
    if (!hm && err == -EAGAIN)
        return;
    st->rwait = false;
    sp_timer_disarm(&c->hw->w->tw, &st->wtimer);
    if (!hm) {
        st->txn = NULL;
        sp__txn_free(t);
        st->rst_at_end = !st->req_end; /* the client may still be sending */
        sp__h2s_error(st, err == -EINVAL ? 400 : 500);
    } else {
        stream_after_rules(st, t, hm, &st->hb->req);
    }
    sp__h2s_hb_release(c->hw, st);
}

/* The rules' wait ran out (wait-for-body's time, `timeout http-request` for option
 * http-buffer-request): HAProxy's 408 (http_wait_for_msg_body()), the stream reset once it
 * went out as for a body timeout. */
void sp__h2s_wait_timeout(struct sp_timer *tm)
{
    struct sp_h2s *st = sp_container_of(tm, struct sp_h2s, wtimer);
    struct sp_http_worker *hw = sp__h2_hw(st->h2);

    if (!st->rwait && !st->lwait)
        return;
    st->rwait = st->lwait = false;
    st->defer_start = false;
    struct sp_txn *t = st->txn;
    t->status = 408;
    t->term[0] = 'c'; /* HAProxy's SF_ERR_CLITO, SF_FINST_D */
    t->term[1] = 'D';
    sp_stat_add(&hw->st->fe[t->fe->idx].ereq, 1);
    st->rst_at_end = true;
    sp__h2s_error(st, 408);
    st->txn = NULL;
    sp__txn_free(t);
    sp__h2s_hb_release(hw, st);
    sp_task_queue(hw->w, &st->task);
    sp__h2_want_flush(st->h2);
}

/* After the rules (or the routing without them): the server's request is built and the
 * transaction starts, at once or after this read (when the body still comes). */
static void stream_after_rules(struct sp_h2s *st, struct sp_txn *t, struct sp_hmsg *hm,
                               struct sp_h2_req *q)
{
    struct sp_conn *c = st->h2->c;
    struct sp_http_worker *hw = c->hw;
    enum sp_h1_body body;
    struct sp_fwd fwd;

    if (t->be && (c->fe->comp || t->be->comp)) {
        if (hm)
            sp__comp_req_hmsg(t, hm);
        else
            sp__comp_req_h2(t, q);
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
        st->txn = NULL;
        sp__txn_free(t);
        sp__h2s_error(st, err == -ENOSPC ? 431 : err == -ENOMEM ? 500 : 400);
        return;
    }
    t->req_body = body;
    st->txn = t;
    /* a request with a body waits for the end of this read: if nghttp2 finds its DATA
     * malformed meanwhile (content-length mismatch...), the stream is reset before anything
     * reaches a server */
    if (st->req_end) {
        sp__txn_start(t);
        return;
    }
    st->defer_start = true;
    /* the stats page reads a POST's body (its admin form) before it answers, within
     * `timeout http-request` */
    if (t->meth == SP_METH_POST &&
        (t->local == SP_LOCAL_STATS_HTML || t->local == SP_LOCAL_STATS_CSV)) {
        st->lwait = true;
        if (c->fe->t_http_request != SP_TIME_UNSET)
            sp_timer_arm(&hw->w->tw, &st->wtimer, hw->w->now + (uint64_t)c->fe->t_http_request);
    }
}

/* The header block's storage and field index go back to the worker's pools. */
void sp__h2_hdrs_release(struct sp_h2c *h2)
{
    struct sp_http_worker *hw = sp__h2_hw(h2);

    if (!h2->hb)
        return;
    sp_buf_release(&h2->hb->buf, &hw->bufs, 1);
    sp_pool_put(&hw->h2hb_pool, h2->hb);
    h2->hb = NULL;
}

/* Starts a stream whose header block ended; the block's storage goes back to the pool as soon
 * as no block is being received (an idle connection holds none). */
void sp__h2s_start(struct sp_h2s *st)
{
    struct sp_h2c *h2 = st->h2;

    stream_start_req(st);
    if (h2->hb && !h2->hb->owner)
        sp__h2_hdrs_release(h2);
}

/* Everything a stream does outside nghttp2's callbacks. */
void sp__h2s_task(struct sp_task *tk)
{
    struct sp_h2s *st = sp_container_of(tk, struct sp_h2s, task);
    struct sp_h2c *h2 = st->h2;
    struct sp_txn *t;

    if (st->closed) {
        sp__h2s_free(st);
        sp__h2_want_flush(h2);
        return;
    }
    if (!st->started && st->headers_done && !st->reset)
        sp__h2s_start(st);
    if (st->rwait && !st->reset)
        stream_resume(st);
    t = st->txn;
    if (!t || t->state == SP_TXN_DONE || st->reset || st->rwait)
        return;
    if (st->defer_start) {
        if (st->lwait) {
            const char *p;
            size_t len;
            uint64_t size;
            if (!(op_req_body(t, &p, &len, &size) & (SP_BODY_COMPLETE | SP_BODY_STOP)))
                return;
            st->lwait = false;
            sp_timer_disarm(&h2->c->hw->w->tw, &st->wtimer);
        }
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
        sp__h2_want_flush(h2);
        if (t->state == SP_TXN_DONE)
            return;
    }
    if (st->req_end && !sp_buf_len(&st->reqbody) && !st->req_end_sent && sp__txn_req_end(t) == 0)
        st->req_end_sent = true;
    if (t->res_started && (t->state == SP_TXN_EXCHANGE || t->state == SP_TXN_LOCAL) &&
        sp_buf_space(&st->resbody))
        sp__txn_res_resume(t);
}
