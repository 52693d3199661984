/* http/pxconn.c - the first protocol of a connection accepted on a `bind ... accept-proxy`:
 * the PROXY protocol header (net/proxyproto.h), read before anything else; then the
 * connection switches to HTTP/1 (or HTTP/2 on a `proto h2` bind) with the addresses the
 * header gave in place of the socket's, so that every fetch (src, src_port, dst, dst_port),
 * the access log (%ci, %cp, %fi, %fp), X-Forwarded-For, the balancer's `source` hash and the
 * PROXY header spillway sends to its own servers see the real client.
 *
 * owner: worker.
 *
 * As HAProxy 2.6: the wait is bounded by `timeout client` (here `timeout http-request` when
 * there is none, and SP_PXP_WAIT_MS when neither is set: the wait is never unbounded); a
 * missing, malformed or unfinished header closes the connection without an answer, and the
 * frontend's log gets HAProxy's line ("ip:port [date] fe/bind: Received an invalid PROXY
 * protocol header."), dropped by `option dontlognull` when nothing arrived. Unlike HAProxy's
 * one peek, a header may come in several reads; the bytes after it stay in the read buffer
 * for the protocol that follows.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "http/http-int.h"
#include "net/proxyproto.h"

#define SP_PXP_WAIT_MS 10000

static int64_t wait_ms(const struct sp_frontend *fe)
{
    if (fe->t_client != SP_TIME_UNSET)
        return fe->t_client;
    if (fe->t_http_request != SP_TIME_UNSET)
        return fe->t_http_request;
    return SP_PXP_WAIT_MS;
}

static void pxp_update_timer(struct sp_conn *c)
{
    struct sp_worker *w = c->hw->w;

    sp_timer_arm(&w->tw, &c->x.timer, c->t_req_start + (uint64_t)wait_ms(c->fe));
}

static void pxp_start(struct sp_conn *c)
{
    c->t_req_start = c->hw->w->now;
}

static void fail(struct sp_conn *c, const char *msg, bool null)
{
    sp_debug("worker %d: frontend %s: %s", c->hw->w->id, c->fe->name, msg);
    sp__accesslog_conn_error(c, msg, null);
    sp__conn_close(c);
}

/* The header was `len` bytes: the addresses it gave replace the socket's, and the connection
 * goes on as HTTP with the bytes that followed it. */
static void accepted(struct sp_conn *c, const struct sp_pp_hdr *h, long len)
{
    struct sp_http_worker *hw = c->hw;

    sp_buf_consume(&c->x.rbuf, (uint32_t)len);
    if (h->has_addr) {
        c->peer = h->src;
        c->local = h->dst;
    }
    if (h->authority_len && h->authority_len <= 255) {
        /* kept for `proxy-v2-options authority`; without memory it is simply not passed on */
        c->pp_authority = malloc((size_t)h->authority_len + 1);
        if (c->pp_authority) {
            c->pp_authority[0] = (uint8_t)h->authority_len;
            memcpy(c->pp_authority + 1, h->authority, h->authority_len);
        }
    }
    c->t_req_start = hw->w->now;
    /* `tcp-request session` sees the addresses the header gave: a refused session is
     * closed, counted as denied (dses), never as a session. HAProxy 2.6 kills such an
     * "embryonic" session with the connection's error text, which is "Success" (no error
     * code was set), dropped by `option dontlognull` as any session with no error code is
     * (session_kill_embryonic()); spillway writes the same line. */
    if (c->fe->ntcp_session && sp__route_tcp_session(c) == SP_TCP_REJECT) {
        sp_stat_add(&hw->st->fe[c->fe->idx].dses, 1);
        if (sp__conn_li(c))
            sp_stat_add(&sp__conn_li(c)->dses, 1);
        sp__accesslog_conn_error(c, "Success", true);
        sp__conn_close(c);
        return;
    }
    sp__conn_count_session(c);
    if (c->bind->tls) { /* then the TLS handshake, then the protocol */
        c->proto = &sp__tls_cproto;
        c->proto->start(c);
        if (!c->closed) {
            c->proto->update_timer(c);
            c->proto->io(c, 0); /* the ClientHello may have come with the header */
        }
        return;
    }
    sp__conn_start_proto(c, c->bind->h2_only);
}

void sp__conn_start_proto(struct sp_conn *c, bool h2)
{
    if (c->fe->mode == SP_MODE_TCP) {
        /* a tcp frontend: the relay starts with what came before (after the header, with the
         * last handshake flight) */
        c->proto = &sp__tcp_cproto;
        c->proto->start(c);
        if (!c->closed)
            c->proto->update_timer(c);
        return;
    }
    if (h2) {
        c->proto = &sp__h2_cproto;
        if (sp__h2c_start(c) < 0) {
            sp__conn_close(c);
            return;
        }
        c->proto->update_timer(c);
        return;
    }
    c->proto = &sp__h1_cproto;
    c->proto->start(c);
    c->proto->io(c, 0); /* what came before is parsed now */
}

static void pxp_io(struct sp_conn *c, uint32_t events)
{
    struct sp_http_worker *hw = c->hw;
    struct sp_buf *rb = &c->x.rbuf;
    struct sp_pp_hdr h;
    bool aborted = false;

    (void)events;
    if (sp_buf_alloc(rb, &hw->bufs)) {
        sp__conn_close(c); /* no memory for a buffer: the connection is dropped */
        return;
    }
    for (;;) {
        long r = sp_pp_parse((const uint8_t *)sp_buf_head(rb), sp_buf_len(rb), rb->size, &h);
        if (r > 0) {
            accepted(c, &h, r);
            return;
        }
        if (r < 0) {
            fail(c, sp_pp_strerror((int)r), false);
            return;
        }
        if (!c->x.can_read || c->x.rd_eof)
            break;
        if (!sp_buf_room(rb))
            sp_buf_realign(rb);
        ssize_t n = sp_xconn_read(&c->x);
        if (n < 0 && n != -EAGAIN)
            aborted = true;
    }
    if (!c->x.rd_eof)
        return; /* more to come; the timer bounds the wait */
    if (aborted)
        fail(c, "Connection error while waiting for PROXY protocol header.", true);
    else if (!sp_buf_len(rb))
        fail(c, "Connection closed while waiting for PROXY protocol header.", true);
    else
        fail(c, "Truncated PROXY protocol header received.", false);
}

static void pxp_flush(struct sp_conn *c)
{
    (void)c; /* nothing is ever sent before the header is read */
}

static void pxp_timeout(struct sp_conn *c)
{
    /* HAProxy sets the timeout's error code only after dontlognull was looked at: with it,
     * a timeout is never logged */
    fail(c, "Timeout while waiting for PROXY protocol header.", true);
}

static void pxp_stop(struct sp_conn *c)
{
    sp__conn_close(c); /* no request yet: nothing to finish */
}

static void pxp_release(struct sp_conn *c)
{
    (void)c;
}

const struct sp_cproto sp__pxp_cproto = {
    .name = "PROXY",
    .start = pxp_start,
    .io = pxp_io,
    .flush = pxp_flush,
    .timeout = pxp_timeout,
    .update_timer = pxp_update_timer,
    .stop = pxp_stop,
    .release = pxp_release,
};
