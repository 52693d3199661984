/* http/h1srv.c - the HTTP/1 server side: the framing of one exchange on a server connection.
 * The request head (built by the client side) and the body go out, chunk-encoded when the
 * framing toward the server says so; the response is parsed, de-framed and handed to the
 * transaction, which hands it to the client side. Bytes move through the connection's
 * transport (net/transport.h); routing, pools, retries and the decision what an error means
 * stay in txn.c, reached through the sp__txn_* calls of http-int.h.
 *
 * owner: worker (the transaction's). Every entry is called through sp__h1_sproto.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "core/util.h"
#include "http/http-int.h"
#include "net/transport.h"

static void h1s_pump(struct sp_txn *t);

static void h1s_reset(struct sp_txn *t)
{
    struct sp_h1s *s = &t->h1s;

    s->res_eof = s->res_err = false;
    s->res_end_pending = false;
    sp_h1_scan_init(&s->rscan);
}

/* Puts the request head in front of whatever goes to the server. */
static int h1s_send_head(struct sp_txn *t)
{
    struct sp_upconn *c = t->up;

    /* the read buffer comes when the response does: a thousand requests waiting on their
     * servers hold no read buffer */
    if (sp_buf_alloc(&c->x.wbuf, &t->hw->bufs))
        return -ENOMEM;
    if (sp_buf_append(&c->x.wbuf, sp_buf_head(&t->reqhead), sp_buf_len(&t->reqhead)) !=
        sp_buf_len(&t->reqhead))
        return -ENOSPC;
    c->nreq++;
    return 0;
}

/* Request body bytes (decoded), chunk-framed when the body goes out chunked; called only
 * while connected. Returns how many were taken. */
static size_t h1s_req_data(struct sp_txn *t, const char *p, size_t len)
{
    struct sp_upconn *c = t->up;
    char hex[24];
    size_t hl = 0, n;

    if (!len || sp_buf_alloc(&c->x.wbuf, &t->hw->bufs))
        return 0;
    uint32_t space = sp_buf_space(&c->x.wbuf);
    if (t->req_body == SP_H1_BODY_CHUNKED) {
        if (space <= 24)
            return 0;
        n = SP_MIN(len, (size_t)space - 24);
        hl = sp_u64_hex(n, hex);
        hex[hl++] = '\r';
        hex[hl++] = '\n';
    } else {
        n = SP_MIN(len, (size_t)space);
    }
    if (!n)
        return 0;
    if (sp_buf_room(&c->x.wbuf) < n + hl + 2)
        sp_buf_realign(&c->x.wbuf);
    if (hl)
        sp_buf_put(&c->x.wbuf, hex, (uint32_t)hl);
    sp_buf_put(&c->x.wbuf, p, (uint32_t)n);
    if (hl)
        sp_buf_put(&c->x.wbuf, "\r\n", 2);
    t->req_body_sent = true;
    t->bytes_in += n;
    h1s_pump(t);
    return n;
}

/* The end of the request body: the last chunk when the body goes out chunked, which needs a
 * connection and room; nothing otherwise (called before the connection too). */
static int h1s_req_end(struct sp_txn *t)
{
    struct sp_upconn *c = t->up;

    if (t->req_body == SP_H1_BODY_CHUNKED) {
        if (t->state != SP_TXN_EXCHANGE || !c || sp_buf_alloc(&c->x.wbuf, &t->hw->bufs) ||
            sp_buf_space(&c->x.wbuf) < 5)
            return -EAGAIN;
        sp_buf_append(&c->x.wbuf, "0\r\n\r\n", 5);
    }
    return 0;
}

/* The response is complete: the connection goes back to the pool only when the exchange
 * left it clean. A connection whose end of stream was signalled is not parked: the edge came
 * with the response and no later event would close it, so the next request would go out on
 * it. */
static void h1s_finish(struct sp_txn *t)
{
    struct sp_h1s *s = &t->h1s;
    struct sp_upconn *c = t->up;
    bool clean = s->res_keepalive && t->req_sent && c && !c->x.rdhup && !sp_buf_len(&c->x.rbuf) &&
                 !sp_buf_len(&c->x.wbuf) && s->res_body != SP_H1_BODY_CLOSE && !s->res_eof;

    s->res_end_pending = sp__txn_res_end(t, clean) < 0;
}

/* Parses the response head(s) in the read buffer. False when the transaction ended or waits
 * on the client side, true when the final head went through. */
static bool res_heads(struct sp_txn *t, struct sp_buf *rb, bool *more)
{
    struct sp_h1s *s = &t->h1s;
    struct sp_h1_msg *m = &t->hw->msg;

    *more = false;
    while (!t->res_started) {
        if (!sp_buf_len(rb) && s->res_eof) {
            if (!sp__txn_retry_empty(t))
                sp__txn_fail(t, 502, 'S', 'H');
            return false;
        }
        long r = sp_h1_parse_response(sp_buf_head(rb), sp_buf_len(rb),
                                      rb->size - (size_t)t->hw->conf->head_reserve, t->meth,
                                      &s->rscan, m);
        if (r < 0) {
            if (!sp__txn_retry_on(t, SP_RETRY_JUNK))
                sp__txn_fail(t, 502, 'P', 'H');
            return false;
        }
        if (r == 0) {
            if (s->res_eof || sp_buf_len(rb) == rb->size) {
                /* an incomplete head is junk to `retry-on` */
                if (!sp__txn_retry_on(t, SP_RETRY_JUNK))
                    sp__txn_fail(t, 502, s->res_eof ? 'S' : 'P', 'H');
                return false;
            }
            if (rb->head && !sp_buf_room(rb)) {
                sp_buf_realign(rb);
                sp_h1_scan_init(&s->rscan);
            }
            *more = true;
            return false;
        }
        if (m->status == 101) {
            /* spillway removes Upgrade before forwarding: a switch is a protocol error */
            if (!sp__txn_retry_on(t, SP_RETRY_JUNK))
                sp__txn_fail(t, 502, 'P', 'H');
            return false;
        }
        if (sp__txn_res_head(t, m, sp_buf_head(rb), (size_t)r) < 0)
            return false; /* no room: resumed by the client side */
        sp_buf_consume(rb, (uint32_t)r);
        sp_h1_scan_init(&s->rscan);
        if (m->status < 200)
            continue; /* interim response relayed; the final one follows */
        s->res_body = m->body;
        s->res_left = m->content_length;
        s->res_keepalive = m->version == 11 ? !(m->flags & SP_H1_MF_CONN_CLOSE)
                                            : !!(m->flags & SP_H1_MF_CONN_KEEPALIVE);
        sp_h1_chunk_init(&s->rchunk);
    }
    return true;
}

/* Hands the response over to the client side as far as it has room. Returns false when the
 * transaction ended (or waits on the client side), true when more server bytes help. */
static bool res_process(struct sp_txn *t)
{
    struct sp_h1s *s = &t->h1s;
    struct sp_buf *rb = &t->up->x.rbuf;
    bool more;

    if (!t->res_started && !res_heads(t, rb, &more))
        return more;

    for (;;) {
        if (s->res_end_pending || s->res_body == SP_H1_BODY_NONE ||
            (s->res_body == SP_H1_BODY_CL && !s->res_left)) {
            h1s_finish(t);
            return false;
        }
        size_t room = sp__txn_res_room(t);
        uint32_t len = sp_buf_len(rb);
        if (!room) {
            sp__txn_srv_timer(t, SP_TIME_UNSET); /* waiting on the client, not the server */
            return false;
        }
        if (!len) {
            if (!s->res_eof)
                return true;
            if (s->res_body == SP_H1_BODY_CLOSE && !s->res_err)
                h1s_finish(t);
            else
                sp__txn_break(t, 'S', 'D');
            return false;
        }
        if (s->res_body == SP_H1_BODY_CHUNKED) {
            size_t consumed = 0, doff = 0, dlen = 0;
            size_t limit = SP_MIN((size_t)len, room);
            int r = sp_h1_chunk_parse(&s->rchunk, sp_buf_head(rb), limit, &consumed, &doff, &dlen);
            if (r < 0) {
                sp__txn_break(t, 'P', 'D');
                return false;
            }
            if (dlen)
                sp__txn_res_data(t, sp_buf_head(rb) + doff, dlen);
            sp_buf_consume(rb, (uint32_t)consumed);
            if (r == SP_H1_CHUNK_DONE) {
                s->res_body = SP_H1_BODY_NONE;
                continue;
            }
            if (!consumed) {
                if (len == rb->size) {
                    sp__txn_break(t, 'P', 'D');
                    return false;
                }
                if (s->res_eof) {
                    sp__txn_break(t, 'S', 'D');
                    return false;
                }
                sp_buf_realign(rb);
                return true;
            }
            continue;
        }
        size_t n = SP_MIN((size_t)len, room);
        if (s->res_body == SP_H1_BODY_CL && n > s->res_left)
            n = (size_t)s->res_left;
        size_t k;
        if (n == len && sp__txn_res_swap(t, rb)) {
            k = n; /* the client side took the whole buffer */
        } else {
            k = sp__txn_res_data(t, sp_buf_head(rb), n);
            sp_buf_consume(rb, (uint32_t)k);
        }
        if (s->res_body == SP_H1_BODY_CL)
            s->res_left -= k;
        if (!k)
            return false;
    }
}

/* Moves bytes both ways: what waits for the server goes out, what the server sent is read
 * and handed on, as far as both sides have room. */
static void h1s_pump(struct sp_txn *t)
{
    struct sp_h1s *s = &t->h1s;
    struct sp_upconn *c = t->up;
    struct sp_worker *w = t->hw->w;

    /* request side */
    bool wfail = false;
    if (sp_buf_len(&c->x.wbuf) && c->x.can_write) {
        ssize_t n = sp_xconn_flush(&c->x); /* -EAGAIN: the next edge brings us back */
        if (n < 0 && n != -EAGAIN) {
            /* the server went away while we sent: maybe it answered first, read that; what
             * did not go out is dropped and the request does not count as sent */
            c->x.can_write = false;
            sp_buf_consume(&c->x.wbuf, sp_buf_len(&c->x.wbuf));
            t->req_sent = false;
            c->x.can_read = true;
            wfail = true;
        } else if (n > 0 && !t->res_started) {
            sp__txn_srv_timer(t, sp__txn_t_server(t));
        }
    }
    if (!wfail && !sp_buf_len(&c->x.wbuf)) {
        if (t->req_end) {
            if (!t->req_sent) {
                t->req_sent = true;
                t->t_sent = w->now_us;
            }
            sp_buf_release(&c->x.wbuf, &t->hw->bufs, 0); /* all sent: nothing more to write */
        } else if (t->req_body != SP_H1_BODY_NONE) {
            sp__txn_req_resume(t);
            if (t->state != SP_TXN_EXCHANGE || t->up != c)
                return;
        }
    }

    /* response side */
    for (;;) {
        if (!c->x.rbuf.data) {
            if (!c->x.can_read && !s->res_eof)
                return; /* nothing arrived yet */
            if (sp_buf_alloc(&c->x.rbuf, &t->hw->bufs)) {
                if (t->res_started)
                    sp__txn_break(t, 'R', 'D');
                else
                    sp__txn_fail(t, 500, 'R', 'H');
                return;
            }
        }
        if (!res_process(t))
            return;
        if (t->state != SP_TXN_EXCHANGE || t->up != c)
            return;
        if (!c->x.can_read || s->res_eof)
            break;
        ssize_t n = sp_xconn_read(&c->x);
        if (n > 0) {
            sp__txn_srv_timer(t, sp__txn_t_server(t));
            continue;
        }
        if (n == -EAGAIN)
            break;
        /* end of stream or error: both mean no more bytes, but only a clean end (FIN) can
         * end a body delimited by the close; a reset cuts it */
        s->res_eof = true;
        s->res_err = n < 0;
    }
    sp_buf_release(&c->x.rbuf, &t->hw->bufs, 0); /* only if empty */
}

const struct sp_sproto sp__h1_sproto = {
    .name = "h1",
    .reset = h1s_reset,
    .send_head = h1s_send_head,
    .req_data = h1s_req_data,
    .req_end = h1s_req_end,
    .pump = h1s_pump,
};
