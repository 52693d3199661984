/* http/conn.c - a client connection, whatever it speaks: accepted, dispatched to its protocol,
 * closed.
 *
 * owner: worker. A struct sp_conn is its transport (net/transport.h: descriptor, readiness,
 * buffers, timer) plus the protocol it speaks now, a struct sp_cproto table: HTTP/1
 * (http/h1conn.c) from the accept on, HTTP/2 (http/h2conn.c) once the preface or an h2c
 * upgrade has been seen — a switch of table, not a flag inside HTTP/1's code. On a `bind ...
 * ssl` the TLS handshake (http/tlsconn.c) comes first and puts the TLS transport in place. This
 * file knows no protocol: it routes the transport's events, the timer and the flush task to the
 * table, and holds what every client connection has (the frontend, the maxconn gate slot,
 * the worker's list, the counters of an accept).
 */
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/util.h"
#include "http/http-int.h"

static void conn_io(struct sp_xconn *x, uint32_t events)
{
    struct sp_conn *c = sp_container_of(x, struct sp_conn, x);

    c->proto->io(c, events);
}

static void conn_timer(struct sp_xconn *x)
{
    struct sp_conn *c = sp_container_of(x, struct sp_conn, x);

    c->proto->timeout(c);
}

static const struct sp_xconn_hooks conn_hooks = {.io = conn_io, .timer = conn_timer};

static void flush_task(struct sp_task *tk)
{
    struct sp_conn *c = sp_container_of(tk, struct sp_conn, flush_task);

    c->proto->flush(c);
}

void sp__conn_close(struct sp_conn *c)
{
    struct sp_http_worker *hw = c->hw;
    struct sp_worker *w = hw->w;

    SP_ASSERT_OWNER(w);
    if (c->closed)
        return;
    c->closed = true;
    c->proto->release(c);
    struct sp_stats_obj *lo = sp__conn_li(c);
    if (lo)
        sp_stat_add(&lo->cur, -1);
    free(c->pp_authority);
    c->pp_authority = NULL;
    sp__stk_session_end(c); /* conn_cur down, the expiry pushed from now */
    sp_vars_clear(&c->sess_vars);
    sp_task_cancel(w, &c->flush_task);
    sp_xconn_close(&c->x, w, &hw->bufs);
    if (c->_prev)
        c->_prev->_next = c->_next;
    else
        hw->conns = c->_next;
    if (c->_next)
        c->_next->_prev = c->_prev;
    hw->nconns--;
    sp_listener_release(c->bind, w->id);
    sp_pool_put(&hw->h1c_pool, c);
}

void sp__conn_accept(struct sp_listener *l, int fd, const struct sockaddr_storage *peer,
                     socklen_t peerlen)
{
    struct sp_http_worker *hw = l->w->proto;
    struct sp_conn *c = sp_pool_get(&hw->h1c_pool);
    const struct sp_frontend *fe =
        l->bind->fe_idx < hw->rt->nfe ? hw->rt->fe[l->bind->fe_idx] : NULL;

    (void)peerlen;
    SP_ASSERT_OWNER(hw->w);
    if (!c || !fe || sp_xconn_open(&c->x, hw->w, fd, &sp_xprt_raw, &conn_hooks) < 0) {
        close(fd);
        sp_pool_put(&hw->h1c_pool, c);
        sp_listener_release(l->bind, l->w->id);
        return;
    }
    c->hw = hw;
    sp_vars_init(&c->sess_vars);
    c->bind = l->bind;
    c->fe = fe;
    c->peer = *peer;
    socklen_t llen = sizeof(c->local);
    if (getsockname(fd, (struct sockaddr *)&c->local, &llen) < 0)
        c->local.ss_family = AF_UNSPEC;
    sp_task_init(&c->flush_task, flush_task);
    c->t_accept_us = hw->w->now_us;
    c->x.can_write = true; /* an accepted socket has room */
    c->last_srv = -1;
    if (fe->clitcpka.on && peer->ss_family != AF_UNIX) {
        struct sp_sock_ka ka;
        sp__ka(&fe->clitcpka, &ka);
        sp_sock_keepalive(fd, &ka);
    }
    struct sp_stats_obj *fo = &hw->st->fe[fe->idx];
    sp_rate_add(hw->st, SP_STATS_FE, fe->idx, &fo->conn_rate, hw->w->now);
    sp_stat_add(&fo->ctot, 1);
    struct sp_stats_obj *lo = sp__conn_li(c);
    if (lo)
        sp_stat_add(&lo->stot, 1); /* HAProxy's listener cum_conn: before any rule */
    /* `tcp-request connection` (either mode): a refused connection is closed before
     * anything, counted as denied, never as a session, and not logged (HAProxy) */
    enum sp_tcp_action l4 = fe->ntcp_conn ? sp__route_tcp_conn(c) : SP_TCP_ACCEPT;
    if (l4 == SP_TCP_REJECT || l4 == SP_TCP_SILENT_DROP) {
        /* silent-drop: the same, and the close sends the client nothing (HAProxy counts
         * it as a denied connection too) */
        if (l4 == SP_TCP_SILENT_DROP)
            sp_sock_silent_drop(fd, peer->ss_family);
        sp_stat_add(&fo->dcon, 1);
        if (lo)
            sp_stat_add(&lo->dcon, 1);
        sp__stk_session_end(c);
        sp_vars_clear(&c->sess_vars);
        sp_xconn_close(&c->x, hw->w, &hw->bufs);
        sp_listener_release(l->bind, l->w->id);
        sp_pool_put(&hw->h1c_pool, c);
        return;
    }
    /* `tcp-request session`: the same, counted as a denied session, once the PROXY header
     * (if any) gave the addresses (http/pxconn.c runs them then) */
    bool pxp = l->bind->accept_proxy || c->expect_proxy;
    if (fe->ntcp_session && !pxp && sp__route_tcp_session(c) == SP_TCP_REJECT) {
        sp_stat_add(&fo->dses, 1);
        if (lo)
            sp_stat_add(&lo->dses, 1);
        sp__stk_session_end(c);
        sp_vars_clear(&c->sess_vars);
        sp_xconn_close(&c->x, hw->w, &hw->bufs);
        sp_listener_release(l->bind, l->w->id);
        sp_pool_put(&hw->h1c_pool, c);
        return;
    }
    /* the one branch between the protocols: an `accept-proxy` bind reads the PROXY header
     * first; a tcp frontend relays bytes (and switches to HTTP/1 when its rules pick an http
     * backend: http/tcp.c); HTTP/1 detects HTTP/2 by its preface; a `proto h2` bind speaks
     * nothing else */
    c->proto = pxp                       ? &sp__pxp_cproto /* then one of the others */
               : l->bind->tls            ? &sp__tls_cproto /* then one of those below */
               : fe->mode == SP_MODE_TCP ? &sp__tcp_cproto
               : l->bind->h2_only        ? &sp__h2_cproto
                                         : &sp__h1_cproto;
    if (!pxp)
        sp__conn_count_session(c);
    if (lo)
        sp_stats_cur_inc(hw->st, SP_STATS_LI, c->bind->li - 1); /* until sp__conn_close() */
    c->_next = hw->conns;
    if (hw->conns)
        hw->conns->_prev = c;
    hw->conns = c;
    hw->nconns++;
    c->proto->start(c);
    if (!c->closed)
        c->proto->update_timer(c);
}

void sp__conn_count_session(struct sp_conn *c)
{
    struct sp_http_worker *hw = c->hw;
    struct sp_stats_obj *fo = &hw->st->fe[c->fe->idx];

    sp_stat_add(&fo->stot, 1);
    sp_rate_add(hw->st, SP_STATS_FE, c->fe->idx, &fo->rate, hw->w->now);
    if (c->stk_tracked) /* HAProxy's session_count_new(): sess_cnt, sess_rate */
        sp_stkctr_count_session(c->stkctr);
}

void sp__conn_stop_all(struct sp_http_worker *hw)
{
    struct sp_conn *c = hw->conns;

    while (c) {
        struct sp_conn *next = c->_next;
        c->want_close = true;
        c->proto->stop(c); /* may close c */
        c = next;
    }
}

void sp__conn_close_all(struct sp_http_worker *hw)
{
    while (hw->conns)
        sp__conn_close(hw->conns);
}
