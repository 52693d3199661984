/* http/txn.c - the server side of a transaction: route, connect or reuse, send the request,
 * parse and relay the response, retry what may be retried, and give the connection back to
 * the pool when the exchange left it clean.
 *
 * owner: worker. The front ops are never called with the transaction in a state the callee
 * may free: a client side frees its transaction only from its own task, never from inside an
 * op (so this file can keep using `t` after calling one).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <stddef.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include "core/log.h"
#include "core/util.h"
#include "http/hrules.h"
#include "http/http-int.h"
#include "net/proxyproto.h"
#include "net/transport.h"

_Static_assert((int)SP_CFG_PP_V1 == (int)SP_PP_SEND_V1 && (int)SP_CFG_PP_V2 == (int)SP_PP_SEND_V2 &&
                   (int)SP_CFG_PP_CRC32C == (int)SP_PP_OPT_CRC32C &&
                   (int)SP_CFG_PP_AUTHORITY == (int)SP_PP_OPT_AUTHORITY &&
                   (int)SP_CFG_PP_SSL == (int)SP_PP_OPT_SSL,
               "the config's PROXY protocol bits are net/proxyproto.h's");

#define RETRY_DELAY_MAX_MS 1000

static void txn_connect(struct sp_txn *t, bool force_new, bool from_queue);
static void txn_pump(struct sp_txn *t);
static void retry_timer(struct sp_timer *tm);
static bool meth_idempotent(enum sp_h1_meth m)
{
    return m == SP_METH_GET || m == SP_METH_HEAD || m == SP_METH_PUT || m == SP_METH_DELETE ||
           m == SP_METH_OPTIONS || m == SP_METH_TRACE;
}

static void set_term(struct sp_txn *t, char cause, char state)
{
    if (t->term[0] == '-') {
        t->term[0] = cause;
        t->term[1] = state;
    }
}

/* counters: the backend's current streams (be_conn) and the server's current requests */
static void uncount(struct sp_txn *t)
{
    struct sp_stats_worker *st = t->hw->st;

    if (t->counted_be) {
        sp_stat_add(&st->be[t->be->idx].cur, -1);
        t->counted_be = false;
    }
    if (t->counted_srv) {
        sp_stat_add(&st->srv[t->srv->idx].cur, -1);
        t->counted_srv = false;
    }
}

static void queue_count(struct sp_txn *t, int d)
{
    struct sp_stats_worker *st = t->hw->st;

    if (d > 0) {
        sp_stats_queue_inc(st, SP_STATS_BE, t->be->idx);
        sp_stats_queue_inc(st, SP_STATS_SRV, t->srv->idx);
    } else {
        sp_stat_add(&st->be[t->be->idx].qcur, -1);
        sp_stat_add(&st->srv[t->srv->idx].qcur, -1);
        t->t_dequeued = t->hw->w->now_us;
    }
}

/* a counter of both the backend and the server (when one was chosen) */
static void be_srv_add(struct sp_txn *t, size_t off)
{
    struct sp_stats_worker *st = t->hw->st;

    if (t->be)
        sp_stat_add((int64_t *)((char *)&st->be[t->be->idx] + off), 1);
    if (t->srv)
        sp_stat_add((int64_t *)((char *)&st->srv[t->srv->idx] + off), 1);
}

static void unqueue(struct sp_txn *t)
{
    if (t->wait.queued) {
        bool deferred = t->wait.deferred;
        sp_uppool_unwait(&t->hw->pools[t->srv->idx], &t->wait);
        if (!deferred)
            queue_count(t, -1);
    }
}

void sp__txn_srv_timer(struct sp_txn *t, int64_t ms)
{
    struct sp_upconn *c = t->up;
    struct sp_worker *w = t->hw->w;

    if (!c)
        return;
    if (ms == SP_TIME_UNSET)
        sp_timer_disarm(&w->tw, &c->x.timer);
    else
        sp_timer_arm(&w->tw, &c->x.timer, w->now + (uint64_t)ms);
}

static void detach_up(struct sp_txn *t, bool reusable)
{
    struct sp_upconn *c = t->up;

    if (!c)
        return;
    t->up = NULL;
    if (t->counted_srv) {
        sp_stat_add(&t->hw->st->srv[t->srv->idx].cur, -1);
        t->counted_srv = false;
    }
    if (reusable) {
        sp_timer_disarm(&t->hw->w->tw, &c->x.timer);
        sp_upconn_park(c);
    } else {
        sp_upconn_close(c);
    }
}

static void local_pump(struct sp_txn *t);

static void lresp_free(struct sp_txn *t)
{
    if (t->lresp_own)
        free((char *)t->lresp);
    t->lresp = NULL;
    t->lresp_own = false;
}

/* sp__txn_reply(), the response borrowed when `borrow` (immutable bytes: no copy). */
static void reply(struct sp_txn *t, const char *resp, size_t len, char term0, char term1,
                  bool borrow);

/* The proxy answers by itself; nothing went to the client yet: the message configured for
 * `status` (errorfile & co) or the built-in page, through the one reply path. */
void sp__txn_fail(struct sp_txn *t, int status, char cause, char state)
{
    if (status == 502 || status == 504)
        be_srv_add(t, offsetof(struct sp_stats_obj, eresp));
    set_term(t, cause, state);
    detach_up(t, false);
    sp_timer_disarm(&t->hw->w->tw, &t->timer);
    t->state = SP_TXN_DONE;
    t->status = status;
    t->t_end = t->hw->w->now_us;
    uncount(t);
    const char *resp;
    struct sp__reply_ctx x = {.fe = t->fe, .be = t->be, .c = t->conn, .t = t};
    bool fixed = false;
    long n = t->sp == &sp__tcp_sproto ? -EPROTO : sp__errmsg_get(t->hw, status, &x, &resp, &fixed);
    if (n < 0) {
        /* mode tcp (no answer, a close), or out of memory (the protocol's own page) */
        t->ops->res_error(t, status);
        return;
    }
    reply(t, resp, (size_t)n, cause, state, fixed);
}

void sp__txn_reply(struct sp_txn *t, const char *resp, size_t len, char term0, char term1)
{
    reply(t, resp, len, term0, term1, false);
}

static void reply(struct sp_txn *t, const char *resp, size_t len, char term0, char term1,
                  bool borrow)
{
    SP_ASSERT_OWNER(t->hw->w);
    set_term(t, term0, term1);
    detach_up(t, false);
    unqueue(t);
    sp_timer_disarm(&t->hw->w->tw, &t->timer);
    uncount(t);
    lresp_free(t);
    t->llen = t->loff = 0;
    t->lhead_sent = false;
    if (!len) {
        /* HAProxy's empty errorfile: no byte, the client side closes */
        t->state = SP_TXN_DONE;
        t->t_end = t->hw->w->now_us;
        t->ops->res_abort(t);
        return;
    }
    char *copy = borrow ? NULL : malloc(len);
    if (!borrow && !copy) {
        t->state = SP_TXN_DONE;
        t->t_end = t->hw->w->now_us;
        if (!t->status)
            t->status = 500;
        t->ops->res_error(t, 500);
        return;
    }
    if (copy)
        memcpy(copy, resp, len);
    t->lresp = copy ? copy : resp;
    t->lresp_own = copy != NULL;
    t->llen = len;
    t->state = SP_TXN_LOCAL;
    local_pump(t);
}

/* The response broke after its head went out: the client side must abort. */
void sp__txn_break(struct sp_txn *t, char cause, char state)
{
    if (cause == 'S' || cause == 's')
        be_srv_add(t, offsetof(struct sp_stats_obj, srv_abrt));
    else if (cause == 'P')
        be_srv_add(t, offsetof(struct sp_stats_obj, eresp));
    set_term(t, cause, state);
    detach_up(t, false);
    t->state = SP_TXN_DONE;
    t->t_end = t->hw->w->now_us;
    uncount(t);
    t->ops->res_abort(t);
}

static void head_free(struct sp_txn *t)
{
    if (t->reqhead.data != t->head_inline)
        free(t->reqhead.data);
    t->reqhead = (struct sp_buf){0};
}

int sp__txn_set_head(struct sp_txn *t)
{
    struct sp_buf *h = &t->hw->headbuf;
    uint32_t len = sp_buf_len(h);
    /* most heads fit in the transaction itself: no allocation per request */
    char *p = len <= sizeof(t->head_inline) ? t->head_inline : malloc(len);

    if (!p)
        return -ENOMEM;
    memcpy(p, sp_buf_head(h), len);
    h->head = h->tail = 0;
    head_free(t);
    t->reqhead = (struct sp_buf){.data = p, .size = len, .head = 0, .tail = len};
    return 0;
}

struct sp_txn *sp__txn_new(struct sp_http_worker *hw, const struct sp_front_ops *ops, void *front,
                           const struct sp_frontend *fe)
{
    struct sp_txn *t = sp_pool_get(&hw->txn_pool);

    if (!t)
        return NULL;
    t->hw = hw;
    t->ops = ops;
    t->front = front;
    t->fe = fe;
    t->state = SP_TXN_NEW;
    t->term[0] = t->term[1] = '-';
    t->log_level = -1;
    t->t_server = 0;
    sp_vars_init(&t->vars);
    t->t_start = hw->w->now_us;
    t->req_id = hw->req_seq++ * (uint64_t)(hw->conf->nworkers > 0 ? hw->conf->nworkers : 1) +
                (uint64_t)hw->w->id;
    /* HTTP/1 is the only server protocol so far: HTTP/2 to servers will choose per server */
    t->sp = &sp__h1_sproto;
    t->sp->reset(t);
    sp_timer_init(&t->timer, retry_timer);
    return t;
}

/* A new attempt starts clean on the response side: nothing of the previous connection (its
 * end of stream above all) may leak into it. */
static void attempt_reset(struct sp_txn *t)
{
    t->req_sent = false;
    t->sp->reset(t);
}

/* The transaction now goes to `s`: the server's share of the counters sp__txn_start() gave
 * the first one. */
static void assign_server(struct sp_txn *t, const struct sp_server *s)
{
    struct sp_stats_worker *st = t->hw->st;
    struct sp_stats_obj *so = &st->srv[s->idx];
    uint64_t now = t->hw->w->now;

    t->srv = s;
    sp_stat_add(&st->be[t->be->idx].lbtot, 1);
    sp_stat_add(&so->lbtot, 1);
    sp_stat_add(&so->stot, 1);
    sp_stat_add(&so->req_tot, 1);
    sp_stat_set(&so->lastsess, (int64_t)now);
    sp_rate_add(st, SP_STATS_SRV, s->idx, &so->rate, now);
}

/* The backend's algorithm picks a server; only the hashing ones read the request. */
static const struct sp_server *lb_pick(struct sp_txn *t, const struct sp_server *exclude)
{
    struct sp_lb_req req = {0};
    enum sp_balance a = t->be->lb.algo;

    if (a == SP_BALANCE_SOURCE || a == SP_BALANCE_URI || a == SP_BALANCE_URL_PARAM ||
        a == SP_BALANCE_HDR)
        sp__txn_lb_req(t, &req);
    return sp_backend_pick(t->be, t->hw->lb, &req, &t->hw->lbload, exclude);
}

/* option prefer-last-server (HAProxy's assign_server()): with an algorithm that is not a
 * hash, the server of the client connection's previous request again, while it is usable and
 * has room; NULL: let the algorithm pick. */
static const struct sp_server *prefer_last(struct sp_txn *t)
{
    const struct sp_backend *be = t->be;
    enum sp_balance a = be->lb.algo;
    const struct sp_server *s;

    if (!be->prefer_last || !t->conn || t->conn->last_srv < 0 ||
        t->conn->last_srv >= t->hw->rt->nsrv || a == SP_BALANCE_SOURCE || a == SP_BALANCE_URI ||
        a == SP_BALANCE_URL_PARAM || a == SP_BALANCE_HDR)
        return NULL;
    s = t->hw->rt->srv[t->conn->last_srv];
    if (s->be != be || sp_srv_lbw(s->h) <= 0 || !sp_uppool_has_room(&t->hw->pools[s->idx]))
        return NULL;
    /* a backup only while no active server is usable */
    if (s->backup && sp_backend_usable(be, false))
        return NULL;
    return s;
}

/* `stick on|match|store-request` (balance/stkrules.c), for a backend that has such rules:
 * with s NULL, the server stored for the connection's key (NULL: none usable); with s, stores
 * it under the keys. */
static const struct sp_server *stick(struct sp_txn *t, const struct sp_server *s)
{
    struct sp_acl_env env;
    struct sp_route_h1 view;
    struct sp_h1_msg m;

    if (t->be->stick_req)
        sp__route_env_head(&env, t, &view, &m);
    else
        sp__route_env_late(&env, t);
    if (!s)
        return sp_stick_match_mt(t->be, &env);
    sp_stick_store_mt(t->be, &env, s);
    return s;
}

/* The request goes to another server than the one that failed it, when the backend has one
 * (HAProxy's round-robin passes the server to avoid): counted as a redispatch of the server
 * left. False when no other server can take it. */
static bool redispatch(struct sp_txn *t)
{
    const struct sp_server *s = lb_pick(t, t->srv);

    if (!s || s == t->srv)
        return false;
    be_srv_add(t, offsetof(struct sp_stats_obj, wredis));
    assign_server(t, s);
    t->redispatched = true;
    t->ck_direct = false; /* HAProxy drops SF_DIRECT: the new server's cookie is set */
    return true;
}

/* HAProxy's choice after a failed attempt (its stream_choose_redispatch()): with `option
 * redispatch`, pick the server again on the retries `option redispatch N` names (every Nth;
 * by default the last one), and on every retry when the algorithm is of the round-robin kind
 * (roundrobin, static-rr, random) and more than one active server is there: that request
 * does not care which server takes it. A hash, leastconn or first waits for the named
 * retries. `done` counts the retries including this one. */
static bool want_redispatch(const struct sp_txn *t, int done)
{
    const struct sp_backend *be = t->be;
    int n = be->redispatch_after;

    if (!be->redispatch)
        return false;
    if (n > 0 && done % n == 0)
        return true;
    if (n < 0 && be->retries + 1 + n > 0 && done % (be->retries + 1 + n) == 0)
        return true;
    return sp_balance_rr_kind(be->lb.algo) && sp_backend_usable(be, false) > 1;
}

/* One more attempt after a failed one, from the `retries` budget (the caller checked that
 * some is left). `conn_error`: the server refused or reset the connection attempt, which an
 * immediate retry to the same server would most likely meet again: then, as HAProxy does,
 * wait min(1 s, timeout connect) first, unless the request moves to another server (a
 * redispatch with more than one active server) — a dead server must not hold its requests
 * for seconds while the others are idle. A connect timeout has waited already: no delay. */
static void txn_retry(struct sp_txn *t, bool conn_error)
{
    struct sp_worker *w = t->hw->w;
    int done;
    bool redisp, moved = false;

    t->conn_retries--;
    t->retries++;
    done = t->be->retries - t->conn_retries;
    redisp = want_redispatch(t, done);
    if (redisp)
        moved = redispatch(t);
    if (!moved)
        be_srv_add(t, offsetof(struct sp_stats_obj, wretr));
    attempt_reset(t);
    if (conn_error && (!redisp || sp_backend_usable(t->be, false) <= 1)) {
        int64_t delay = t->be->t_connect;
        if (delay == SP_TIME_UNSET || delay > RETRY_DELAY_MAX_MS)
            delay = RETRY_DELAY_MAX_MS;
        t->state = SP_TXN_RETRY_WAIT;
        sp_timer_arm(&w->tw, &t->timer, w->now + (uint64_t)delay);
        return;
    }
    t->state = SP_TXN_NEW;
    /* the same server again: not on one of its idle connections (the failure may be theirs) */
    txn_connect(t, !moved, false);
}

static void retry_timer(struct sp_timer *tm)
{
    struct sp_txn *t = sp_container_of(tm, struct sp_txn, timer);

    if (t->state == SP_TXN_LOCAL && t->tarpit_ms > 0) {
        t->tarpit_ms = 0; /* the tarpit's delay is over */
        local_pump(t);
        return;
    }
    if (t->state == SP_TXN_QUEUED) {
        /* timeout queue: no connection to this server freed up in time */
        unqueue(t);
        sp__txn_fail(t, 503, 's', 'Q');
        return;
    }
    if (t->state != SP_TXN_RETRY_WAIT)
        return;
    t->state = SP_TXN_NEW;
    txn_connect(t, true, false);
}

static void conn_failed(struct sp_txn *t, bool timeout)
{
    detach_up(t, false);
    if (t->conn_retries > 0 && (t->be->retry_on & SP_RETRY_CONN)) {
        txn_retry(t, !timeout);
        return;
    }
    be_srv_add(t, offsetof(struct sp_stats_obj, econ));
    sp__txn_fail(t, 503, timeout ? 's' : 'S', 'C');
}

static void up_io(struct sp_upconn *c, uint32_t events)
{
    struct sp_txn *t = c->owner;

    if (t->state == SP_TXN_CONNECTING) {
        if (!c->x.can_write && !(events & (EPOLLERR | EPOLLHUP)))
            return;
        if ((events & EPOLLERR) || sp_xconn_error(&c->x) < 0) {
            conn_failed(t, false);
            return;
        }
        t->state = SP_TXN_EXCHANGE;
        t->t_connected = t->hw->w->now_us;
    }
    txn_pump(t);
}

static void up_timer(struct sp_upconn *c)
{
    struct sp_txn *t = c->owner;

    if (t->state == SP_TXN_CONNECTING) {
        conn_failed(t, true);
        return;
    }
    if (t->state != SP_TXN_EXCHANGE)
        return;
    if (!t->res_started) {
        if (!sp__txn_retry_on(t, SP_RETRY_TIMEOUT))
            sp__txn_fail(t, 504, 's', 'H');
    } else {
        sp__txn_break(t, 's', 'D');
    }
}

/* Moves the exchange on, through the server protocol, while connected. */
static void txn_pump(struct sp_txn *t)
{
    if (t->state == SP_TXN_EXCHANGE && t->up)
        t->sp->pump(t);
}

/* Puts the request head in front of whatever goes to the server. */
static int send_head(struct sp_txn *t)
{
    int err = t->sp->send_head(t);

    if (!err)
        sp__txn_srv_timer(t, sp__txn_t_server(t));
    return err;
}

/* http-response return or redirect: the answer the rule made (t->lresp) goes to the client
 * instead of the server's response, whose connection closes (its body is not read). */
static void rule_reply(struct sp_txn *t)
{
    const char *resp = t->lresp;
    size_t len = t->llen;
    bool own = t->lresp_own;

    t->lresp = NULL;
    t->lresp_own = false;
    t->llen = 0;
    reply(t, resp, len, t->term[0], t->term[1], !own);
    if (own)
        free((char *)resp);
}

int sp__txn_res_head(struct sp_txn *t, const struct sp_h1_msg *m, const char *buf, size_t len)
{
    int bit = m->status >= 200 ? sp_retry_status_bit(m->status) : 0;

    if (bit && sp__txn_retry_on(t, bit))
        return -ECANCELED; /* the response is dropped, the request went out again */
    if (m->status >= 200 && t->be && t->be->stick_res && t->srv) {
        /* stick store-response: before the http-response rules, as HAProxy's store rules */
        struct sp_acl_env env;
        struct sp_route_h1 view;
        sp__route_env_res(&env, t, &view, m, buf);
        sp_stick_store_res_mt(t->be, &env, t->srv);
    }
    if (m->status >= 200 && sp__hrules_on(t->hw->conf->hrules, true)) {
        /* http-response and http-after-response rules (interim responses go on as they
         * are); a deny answers 502 instead, as HAProxy does */
        int st = sp__hrules_response(t, m, buf, len, true, &m, &buf, &len);
        if (st == SP_HRULES_REPLY) {
            rule_reply(t);
            return -ECANCELED;
        }
        if (st) {
            sp__txn_fail(t, st, st == 502 ? 'P' : 'I', 'H');
            return -ECANCELED;
        }
    }
    if (m->status >= 200 && t->be && t->be->ck && t->srv) {
        /* cookie persistence: after the http-response rules, as HAProxy */
        int st = sp__cookie_response(t, &m, &buf, &len);
        if (st) {
            sp__txn_fail(t, st, 'P', 'H');
            return -ECANCELED;
        }
    }
    int r = t->comp_algo && m->status >= 200 ? sp__comp_res_head(t, m, buf)
                                             : t->ops->res_head(t, m, buf);
    if (r < 0) {
        sp__txn_srv_timer(t, SP_TIME_UNSET); /* waiting on the client, not the server */
        return -EAGAIN;
    }
    if (m->status < 200)
        return 0;
    t->res_started = true;
    t->status = m->status;
    t->t_res_head = t->hw->w->now_us;
    head_free(t); /* no retry after this point */
    t->bytes_out += (uint64_t)len;
    if (t->fe->logasap) {
        /* option logasap: the line goes out once the server's headers are in, with the
         * bytes and times so far (HAProxy prints them with a '+') */
        sp__accesslog_txn(t);
        t->logged = true;
    }
    return 0;
}

int sp__txn_res_end(struct sp_txn *t, bool reusable)
{
    if (t->ops->res_end(t) < 0) {
        sp__txn_srv_timer(t, SP_TIME_UNSET); /* waiting on the client, not the server */
        return -EAGAIN;
    }
    t->state = SP_TXN_DONE;
    t->t_end = t->hw->w->now_us;
    /* http-server-close and httpclose: the server side ends with each response; a server
     * reached on the client's destination port keeps no connection for another client */
    detach_up(t, reusable && !sp__txn_srv_close(t) && !t->srv->port_from_dst);
    uncount(t);
    return 0;
}

static void attach_up(struct sp_txn *t, struct sp_upconn *c)
{
    if (!t->counted_srv) {
        sp_stats_cur_inc(t->hw->st, SP_STATS_SRV, t->srv->idx);
        t->counted_srv = true;
        t->counted_srv_once = true;
    }
    t->up = c;
    c->owner = t;
    c->on_io = up_io;
    c->on_timer = up_timer;
}

static void queue_ready(struct sp_upwait *w)
{
    struct sp_txn *t = sp_container_of(w, struct sp_txn, wait);

    queue_count(t, -1); /* the pool took us off its queue */
    sp_timer_disarm(&t->hw->w->tw, &t->timer);
    t->state = SP_TXN_NEW;
    txn_connect(t, t->force_new, true);
}

/* End of the batch of events the request came in: take a connection a response parked
 * meanwhile, or open one after all. */
static void defer_ready(struct sp_upwait *w)
{
    struct sp_txn *t = sp_container_of(w, struct sp_txn, wait);

    t->state = SP_TXN_NEW;
    txn_connect(t, false, false);
}

/* The pool is at its cap: wait for a connection, in arrival order, at most `timeout queue`. */
static void txn_queue(struct sp_txn *t, struct sp_uppool *pool, bool force_new)
{
    struct sp_worker *w = t->hw->w;

    t->wait.ready = queue_ready;
    t->wait.prio_class = t->prio[0]; /* set-priority-class / -offset: the queue's order */
    t->wait.prio_when = (int64_t)w->now + t->prio[1];
    if (sp_uppool_wait(pool, &t->wait) < 0) {
        sp__txn_fail(t, 503, 'S', 'Q'); /* maxqueue reached */
        return;
    }
    queue_count(t, 1);
    t->state = SP_TXN_QUEUED;
    t->force_new = force_new;
    if (!t->t_queued)
        t->t_queued = w->now_us;
    if (t->be->t_queue != SP_TIME_UNSET)
        sp_timer_arm(&w->tw, &t->timer, w->now + (uint64_t)t->be->t_queue);
}

/* Where a server without a port in its address is reached: its address, on the port the
 * client connected to plus the server's offset (HAProxy: the connection's dst port). */
static void dst_port_addr(const struct sp_txn *t, const struct sp_uppool *pool,
                          struct sockaddr_storage *ret)
{
    const struct sockaddr_storage *l = t->conn ? &t->conn->local : NULL;
    int port = 0;

    *ret = pool->addr;
    if (l && l->ss_family == AF_INET)
        port = ntohs(((const struct sockaddr_in *)l)->sin_port);
    else if (l && l->ss_family == AF_INET6)
        port = ntohs(((const struct sockaddr_in6 *)l)->sin6_port);
    port = (port + t->srv->port_offset) & 0xffff;
    if (ret->ss_family == AF_INET)
        ((struct sockaddr_in *)ret)->sin_port = htons((uint16_t)port);
    else if (ret->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ret)->sin6_port = htons((uint16_t)port);
}

/* The PROXY protocol header a connection to t's server begins with (send-proxy,
 * send-proxy-v2): the client connection's addresses, as its own PROXY header gave them when
 * it had one; v2 wins when both are set, as in HAProxy. Returns its length (at most
 * SP_PP_BUILD_MAX), 0 when the server takes none. */
static size_t pp_header(const struct sp_txn *t, uint8_t *buf)
{
    unsigned o = t->srv->pp_opts;
    const struct sp_conn *c = t->conn;
    const struct sockaddr_storage *src = c ? sp__txn_src(t) : NULL, *dst = c ? &c->local : NULL;

    if (o & SP_PP_SEND_V2)
        return sp_pp_build_v2(buf, SP_PP_BUILD_MAX, src, dst, o,
                              c && c->pp_authority ? (const char *)c->pp_authority + 1 : NULL,
                              c && c->pp_authority ? c->pp_authority[0] : 0);
    if (o & SP_PP_SEND_V1)
        return sp_pp_build_v1((char *)buf, SP_PP_BUILD_MAX, src, dst);
    return 0;
}

static void txn_connect(struct sp_txn *t, bool force_new, bool from_queue)
{
    struct sp_http_worker *hw = t->hw;
    struct sp_uppool *pool = &hw->pools[t->srv->idx];
    const struct sp_server *srv = t->srv;
    if (srv->minconn != srv->maxconn) {
        /* minconn: HAProxy's dynamic maxconn, from the backend's load over every worker,
         * this worker's share of it */
        unsigned n = (unsigned)hw->conf->nworkers;
        int dyn = sp_server_dynamic_maxconn(srv, sp_stats_cur_mt(SP_STATS_BE, t->be->idx));
        pool->max_conns = dyn > 0 ? ((unsigned)dyn + n - 1) / n : 0;
    }
    if (srv->port_from_dst)
        force_new = true; /* never parked: an idle one would be to another port */
    int gen = sp_srv_addr_gen(t->srv->h);
    if (gen != pool->addr_gen) {
        /* `set server ... addr`: this worker's connections go to the new address from now */
        struct sp_srv_hstate st;
        sp_srv_health_read(t->srv->h, &st);
        sp_uppool_set_addr(pool, &st.addr, st.addrlen, gen);
    }
    bool full = pool->max_conns && pool->nconns >= pool->max_conns;
    int err;

    if (!from_queue && !sp_uppool_has_room(pool)) {
        txn_queue(t, pool, force_new);
        return;
    }
    if (!from_queue && !force_new && !pool->nidle && !t->deferred) {
        /* none idle: see first whether this batch of events parks one (once per request) */
        t->deferred = true;
        t->wait.ready = defer_ready;
        t->state = SP_TXN_QUEUED;
        sp_uppool_defer(pool, &t->wait);
        return;
    }
    if (force_new && full) {
        /* a fresh connection is needed and the cap is reached: give up an idle one */
        if (!pool->nidle || srv->port_from_dst) {
            txn_queue(t, pool, force_new);
            return;
        }
        sp_upconn_close(pool->idle);
    }
    /* a connection that began with a PROXY header carries that client's requests alone: it is
     * reused only by a request whose header would be the same */
    uint8_t pp[SP_PP_BUILD_MAX];
    size_t pplen = pp_header(t, pp);
    struct sp_upconn *c =
        force_new
            ? NULL
            : sp_upconn_take_key(pool, !t->idempotent || t->req_body != SP_H1_BODY_NONE, pp, pplen);
    if (!c && pool->max_conns && pool->nconns >= pool->max_conns) {
        if (pplen && pool->nidle) {
            /* the idle ones belong to other clients: one of them makes room */
            sp_uppool_close_oldest(pool);
        } else {
            /* the idle ones were dead and closed: capacity may still be short */
            txn_queue(t, pool, force_new);
            return;
        }
    }

    if (c) {
        be_srv_add(t, offsetof(struct sp_stats_obj, reuse));
        attach_up(t, c);
        t->state = SP_TXN_EXCHANGE;
        t->t_connect_start = t->t_connected = hw->w->now_us;
        if (send_head(t) < 0) {
            sp__txn_fail(t, 500, 'R', 'C');
            return;
        }
        c->x.can_write = true; /* an idle socket has room */
        txn_pump(t);
        return;
    }
    if (!force_new && !sp_uppool_may_open(pool)) {
        /* enough opened in this turn: wait in the queue for a parked one or the next turn */
        txn_queue(t, pool, false);
        return;
    }
    if (srv->port_from_dst) {
        struct sockaddr_storage to;
        dst_port_addr(t, pool, &to);
        c = sp_upconn_open_to(pool, &to, pool->addrlen, &err);
    } else {
        c = sp_upconn_open(pool, &err);
    }
    if (!c) {
        if (err == -EMFILE || err == -ENFILE || err == -ENOMEM || err == -ENOBUFS) {
            /* one line a second at most: under a descriptor shortage this fires per request */
            static struct sp_log_rl rl = SP_LOG_RL_INIT;
            sp_log_rl_mt(&rl, SP_LOG_WARNING,
                         "worker %d: cannot open a connection to %s/%s: %s, answering 503",
                         hw->w->id, t->be->name, t->srv->name, strerror(-err));
            sp__txn_fail(t, 503, 'R', 'C');
            return;
        }
        conn_failed(t, false);
        return;
    }
    be_srv_add(t, offsetof(struct sp_stats_obj, connect));
    attach_up(t, c);
    t->state = SP_TXN_CONNECTING;
    if (!t->t_connect_start)
        t->t_connect_start = hw->w->now_us;
    if (pplen && (sp_upconn_set_key(c, pp, pplen) < 0 || sp_buf_alloc(&c->x.wbuf, &hw->bufs) ||
                  sp_buf_append(&c->x.wbuf, pp, (uint32_t)pplen) != pplen)) {
        sp__txn_fail(t, 500, 'R', 'C');
        return;
    }
    if (send_head(t) < 0) {
        sp__txn_fail(t, 500, 'R', 'C');
        return;
    }
    sp__txn_srv_timer(t, t->be->t_connect);
}

/* The decision log: what routed this request where, and on what fe_conn. */
static void record_decision(struct sp_txn *t)
{
    struct sp_decision d;
    const char *p = sp_buf_head(&t->reqhead);
    size_t len = sp_buf_len(&t->reqhead), n = 0;

    if (!sp_decisions_size())
        return;
    memset(&d, 0, sizeof(d));
    d.wall_us = sp_wall_us(t->hw->w->now_us);
    d.fe_conn = t->fe_conn_seen >= 0 ? t->fe_conn_seen : sp__fe_conn(t->hw, t->fe->idx);
    d.fe = t->fe->idx;
    d.rule = t->rule;
    d.be = t->be ? t->be->idx : -1;
    d.srv = t->srv ? t->srv->idx : -1;
    d.worker = t->hw->w->id;
    d.proto = t->sp == &sp__tcp_sproto ? 0 : t->h2 ? 20 : 11;
    /* "METHOD /target" from the request line we built */
    while (n < len && n < sizeof(d.target) - 1 && p[n] != '\r') {
        d.target[n] = p[n];
        n++;
    }
    if (n > 9 &&
        (!memcmp(d.target + n - 9, " HTTP/1.1", 9) || !memcmp(d.target + n - 9, " HTTP/1.0", 9)))
        n -= 9;
    d.target[n] = 0;
    sp_decision_add(t->hw->w->id, &d);
}

/* Hands a local answer (head, then body as room allows) to the client side. */
static void local_pump(struct sp_txn *t)
{
    if (!t->lhead_sent) {
        struct sp_h1_msg *m = &t->hw->msg;
        struct sp_h1_scan scan;
        sp_h1_scan_init(&scan);
        long r = sp_h1_parse_response(t->lresp, t->llen, t->llen, t->meth, &scan, m);
        if (r <= 0) {
            /* cannot happen: every message was parsed at start-up */
            lresp_free(t);
            t->state = SP_TXN_DONE;
            t->status = 500;
            t->ops->res_error(t, 500);
            return;
        }
        /* http-after-response applies to spillway's own answers too */
        const struct sp_h1_msg *om = m;
        const char *ob = t->lresp;
        size_t ol = (size_t)r;
        if (sp__hrules_on(t->hw->conf->hrules, true) &&
            sp__hrules_response(t, m, t->lresp, (size_t)r, false, &om, &ob, &ol))
            om = m, ob = t->lresp, ol = (size_t)r;
        if (t->ops->res_head(t, om, ob) < 0)
            return;
        if (!t->status)
            t->status = m->status;
        t->lhead_sent = true;
        t->res_started = true;
        t->t_res_head = t->hw->w->now_us;
        t->bytes_out += (uint64_t)r;
        t->loff = m->body == SP_H1_BODY_NONE ? t->llen : (size_t)r; /* HEAD, 204, 304 */
    }
    while (t->loff < t->llen) {
        size_t room = t->ops->res_room(t);
        if (!room)
            return;
        size_t k = t->ops->res_data(t, t->lresp + t->loff, SP_MIN(room, t->llen - t->loff));
        if (!k)
            return;
        t->loff += k;
        t->bytes_out += k;
    }
    if (t->ops->res_end(t) < 0)
        return;
    t->state = SP_TXN_DONE;
    t->t_end = t->hw->w->now_us;
    lresp_free(t);
}

static void local_start(struct sp_txn *t)
{
    const char *ctype = "text/plain";
    const char *extra = "";
    char realm[192], head[512];
    char *body = NULL;
    size_t blen = 0;
    int status = 200;

    if (t->local == SP_LOCAL_DROP) {
        /* http-request silent-drop: no answer; the client's connection is reset (HTTP/1:
         * SO_LINGER 0 then close; HTTP/2: its stream only) */
        t->state = SP_TXN_DONE;
        t->t_end = t->hw->w->now_us;
        if (!t->h2 && t->conn) {
            struct linger lg = {.l_onoff = 1, .l_linger = 0};
            setsockopt(t->conn->x.ev.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
        }
        t->ops->res_abort(t);
        return;
    }
    if (t->local == SP_LOCAL_REJECT) {
        /* tcp-request content reject, http-request reject: no answer, the client's connection
         * closes (HAProxy's sc_must_kill_conn(); HTTP/2: GOAWAY and RST_STREAM
         * ENHANCE_YOUR_CALM) */
        t->state = SP_TXN_DONE;
        t->t_end = t->hw->w->now_us;
        if (t->h2)
            sp__h2_reject(t);
        else
            t->ops->res_abort(t);
        return;
    }
    if (t->local == SP_LOCAL_REPLY) {
        /* an http rule's answer, made whole in lresp (hrules.c) */
        t->state = SP_TXN_LOCAL;
        t->status = t->llen > 12 ? atoi(t->lresp + 9) : t->status;
        t->loff = 0;
        if (!t->llen) {
            /* an empty errorfile: nothing is sent, the client side closes */
            t->state = SP_TXN_DONE;
            t->t_end = t->hw->w->now_us;
            t->ops->res_abort(t);
            return;
        }
        if (t->tarpit_ms > 0) {
            /* http-request tarpit: the answer goes out when the delay ends */
            struct sp_worker *w = t->hw->w;
            sp_timer_arm(&w->tw, &t->timer, w->now + (uint64_t)t->tarpit_ms);
            return;
        }
        local_pump(t);
        return;
    }
    /* HAProxy's flags for an applet's answer: L(ocal) R(equest), P(roxy) for a refusal */
    char term0 = t->local == SP_LOCAL_AUTH || t->local == SP_LOCAL_MONITOR_FAIL ||
                         t->local == SP_LOCAL_STATS_DENY
                     ? 'P'
                     : 'L';
    if (t->local == SP_LOCAL_STATS_DENY) {
        /* `stats http-request deny`: the proxy's 403 message (errorfile & co), logged */
        const char *resp;
        struct sp__reply_ctx x = {.fe = t->fe, .c = t->conn, .t = t};
        t->status = 403;
        bool fixed = false;
        long n = sp__errmsg_get(t->hw, 403, &x, &resp, &fixed);
        if (n < 0) {
            t->state = SP_TXN_DONE;
            t->ops->res_error(t, 403);
            return;
        }
        reply(t, resp, (size_t)n, term0, 'R', fixed);
        return;
    }
    if (t->local == SP_LOCAL_MONITOR || t->local == SP_LOCAL_MONITOR_FAIL) {
        /* HAProxy: answered with the 200 or 503 message (errorfile & co apply), never
         * logged, connection closed */
        const char *resp;
        struct sp__reply_ctx x = {.fe = t->fe, .c = t->conn, .t = t};
        status = t->local == SP_LOCAL_MONITOR ? 200 : 503;
        t->status = status;
        t->logged = true;
        bool fixed = false;
        long n = sp__errmsg_get(t->hw, status, &x, &resp, &fixed);
        if (n < 0) {
            t->state = SP_TXN_DONE;
            t->ops->res_error(t, status);
            return;
        }
        reply(t, resp, (size_t)n, term0, 'R', fixed);
        return;
    }
    if (sp__stats_admin_answer(t))
        return; /* a POST to the stats page: its admin form (statadmin.c), a 303 */
    if (t->local == SP_LOCAL_AUTH) {
        static const char page[] = "<html><body><h1>401 Unauthorized</h1>\n"
                                   "You need a valid user and password to access this content.\n"
                                   "</body></html>\n";
        status = 401;
        ctype = "text/html";
        snprintf(realm, sizeof(realm), "WWW-Authenticate: Basic realm=\"%.128s\"\r\n",
                 t->local_realm       ? t->local_realm
                 : t->fe->stats_realm ? t->fe->stats_realm
                                      : "HAProxy Statistics");
        extra = realm;
        body = strdup(page);
        blen = body ? sizeof(page) - 1 : 0;
    } else if (sp__statsvc_body(t, &body, &blen, &ctype) < 0) {
        sp__txn_fail(t, 500, 'R', 'R');
        return;
    }
    t->status = status;
    int hl = snprintf(head, sizeof(head),
                      "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
                      "Cache-Control: no-cache\r\n%s\r\n",
                      status, sp__http_reason(status), ctype, blen, extra);
    /* the page is copied once more behind its head: a stats page, not the request path */
    char *resp = hl > 0 && (size_t)hl < sizeof(head) ? malloc((size_t)hl + blen) : NULL;
    if (!resp) {
        free(body);
        sp__txn_fail(t, 500, 'R', 'R');
        return;
    }
    memcpy(resp, head, (size_t)hl);
    if (blen)
        memcpy(resp + hl, body, blen);
    free(body);
    set_term(t, term0, 'R');
    t->lresp = resp;
    t->lresp_own = true;
    t->llen = (size_t)hl + blen;
    t->loff = 0;
    t->lhead_sent = false;
    t->state = SP_TXN_LOCAL;
    local_pump(t);
}

/* The backend is chosen (t->be, t->rule; NULL: none): the stream is counted there, a server
 * picked and a connection sought (`force_new`: never an idle one). */
static void txn_dispatch(struct sp_txn *t, bool force_new)
{
    struct sp_stats_worker *st = t->hw->st;
    uint64_t now = t->hw->w->now;

    if (!t->be) {
        record_decision(t);
        sp__txn_fail(t, 503, 'S', 'C');
        return;
    }
    if (t->be->disabled) {
        /* a disabled backend takes no traffic (HAProxy: a stopped proxy) */
        record_decision(t);
        sp__txn_fail(t, 503, 'S', 'C');
        return;
    }
    struct sp_stats_obj *bo = &st->be[t->be->idx];
    sp_stats_cur_inc(st, SP_STATS_BE, t->be->idx);
    sp_stat_add(&bo->stot, 1);
    sp_stat_add(&bo->req_tot, 1);
    sp_stat_set(&bo->lastsess, (int64_t)now);
    sp_rate_add(st, SP_STATS_BE, t->be->idx, &bo->rate, now);
    t->counted_be = true;
    t->conn_retries = t->be->retries;
    /* a cookie naming a running server comes first (HAProxy: SF_ASSIGNED skips stick match) */
    const struct sp_server *s = t->be->ck ? sp__cookie_request(t) : NULL;
    if (!s && t->be->nstick)
        s = stick(t, NULL);
    if (!s)
        s = prefer_last(t);
    if (!s)
        s = lb_pick(t, NULL);
    if (s && t->be->nstick)
        stick(t, s);
    t->srv = s;
    if (s && t->conn)
        t->conn->last_srv = s->idx;
    record_decision(t);
    if (!s) {
        sp_stat_add(&bo->econ, 1);
        sp__txn_fail(t, 503, 'S', 'C');
        return;
    }
    assign_server(t, s);
    txn_connect(t, force_new, false);
}

void sp__txn_start(struct sp_txn *t)
{
    SP_ASSERT_OWNER(t->hw->w);
    struct sp_stats_worker *st = t->hw->st;
    struct sp_stats_obj *fo = &st->fe[t->fe->idx];
    uint64_t now = t->hw->w->now;

    sp_stat_add(&fo->req_tot, 1);
    sp_stat_add(t->h2 ? &fo->h2req : &fo->h1req, 1);
    sp_rate_add(st, SP_STATS_FE, t->fe->idx, &fo->req_rate, now);
    t->idempotent = meth_idempotent(t->meth);
    if (t->local) {
        local_start(t);
        return;
    }
    txn_dispatch(t, false);
}

void sp__txn_start_tcp(struct sp_txn *t)
{
    SP_ASSERT_OWNER(t->hw->w);
    /* a tcp session has its own server connection from the start (never an idle one of the
     * pool, and never held back for one to be parked) */
    txn_dispatch(t, true);
}

void sp__txn_close(struct sp_txn *t, char cause, char state)
{
    if (t->state == SP_TXN_DONE)
        return;
    unqueue(t);
    if (cause == 'C') {
        sp_stat_add(&t->hw->st->fe[t->fe->idx].cli_abrt, 1);
        be_srv_add(t, offsetof(struct sp_stats_obj, cli_abrt));
    } else if (cause == 'S') {
        be_srv_add(t, offsetof(struct sp_stats_obj, srv_abrt));
    }
    if (cause != '-')
        set_term(t, cause, state);
    detach_up(t, false);
    sp_timer_disarm(&t->hw->w->tw, &t->timer);
    t->state = SP_TXN_DONE;
    t->t_end = t->hw->w->now_us;
    uncount(t);
}

unsigned sp__txn_req_body_ex(const struct sp_txn *t, const char **p, size_t *len, uint64_t *size)
{
    *p = "";
    *len = 0;
    *size = 0;
    if (!t->ops->req_body)
        return 0;
    return t->ops->req_body((struct sp_txn *)t, p, len, size);
}

bool sp__txn_req_body(const struct sp_txn *t, const char **p, size_t *len)
{
    uint64_t size;
    return sp__txn_req_body_ex(t, p, len, &size) & SP_BODY_COMPLETE;
}

size_t sp__txn_req_data(struct sp_txn *t, const char *p, size_t len)
{
    if (t->state != SP_TXN_EXCHANGE || !t->up)
        return 0;
    return t->sp->req_data(t, p, len);
}

int sp__txn_req_end(struct sp_txn *t)
{
    if (t->req_end)
        return 0;
    if (t->sp->req_end(t) < 0)
        return -EAGAIN;
    t->req_end = true;
    txn_pump(t);
    return 0;
}

/* HAProxy's layer-7 retries (`retry-on`): the request goes out again, to the server
 * want_redispatch() names, when the condition is listed, retries are left and the whole
 * request is still here. spillway keeps the head of a request until its response starts but
 * streams bodies: a request with a body is never replayed (HAProxy replays one that fitted in
 * a buffer). The method does not matter, as in HAProxy. */
bool sp__txn_retry_on(struct sp_txn *t, int cond)
{
    if (t->no_l7_retry && cond != SP_RETRY_CONN)
        return false; /* http-request disable-l7-retry */
    if (!(t->be->retry_on & cond) || t->conn_retries <= 0 || t->res_started ||
        t->req_body != SP_H1_BODY_NONE || t->req_body_sent || !sp_buf_len(&t->reqhead))
        return false;
    detach_up(t, false);
    txn_retry(t, false);
    return true;
}

/* The server closed (or reset) the connection before the first response byte. Only an
 * idempotent request without a body, whose head is still here, is ever sent twice:
 * - on a reused connection, the server may have closed it just as the request went out (the
 *   keep-alive race, which no probe can close): once, a fresh connection to the same server;
 * - on a fresh one, the server most likely died with the request in hand: with `option
 *   redispatch` and a retry left, once, to another server (an attempt of the `retries`
 *   budget). A request that kills every server it reaches is thus sent at most twice.
 * Everything else gets the 502 it got before. */
bool sp__txn_retry_empty(struct sp_txn *t)
{
    struct sp_upconn *c = t->up;

    /* the keep-alive race on a reused connection below is spillway's own and free; beyond
     * it, `retry-on empty-response` decides when listed */
    if (c && !(c->nreq > 1 && !t->reuse_retried) && (t->be->retry_on & SP_RETRY_EMPTY))
        return sp__txn_retry_on(t, SP_RETRY_EMPTY);
    if (!c || t->req_body != SP_H1_BODY_NONE || t->req_body_sent || !t->idempotent ||
        !sp_buf_len(&t->reqhead))
        return false;
    if (c->nreq > 1 && !t->reuse_retried) {
        t->reuse_retried = true;
        detach_up(t, false);
        attempt_reset(t);
        t->state = SP_TXN_NEW;
        txn_connect(t, true, false);
        return true;
    }
    if (t->died_retried || !t->be->redispatch || t->conn_retries <= 0 || t->no_l7_retry)
        return false; /* disable-l7-retry: not after a response was expected */
    /* the dead connection goes first (its server's counters), whatever comes next: the
     * caller's 502 would close it too */
    detach_up(t, false);
    if (!redispatch(t))
        return false;
    t->died_retried = true;
    t->conn_retries--;
    t->retries++;
    attempt_reset(t);
    t->state = SP_TXN_NEW;
    txn_connect(t, false, false);
    return true;
}

void sp__txn_res_resume(struct sp_txn *t)
{
    if (t->state == SP_TXN_LOCAL) {
        local_pump(t);
        return;
    }
    if (t->state != SP_TXN_EXCHANGE)
        return;
    if (t->up && t->res_started)
        sp__txn_srv_timer(t, sp__txn_t_server(t));
    txn_pump(t);
}

void sp__txn_abort(struct sp_txn *t)
{
    if (t->state == SP_TXN_DONE)
        return;
    /* HAProxy's state at the abort: D(ata), Q(ueue), C(onnect, retries included), H(eaders) */
    char st = t->res_started                                                   ? 'D'
              : t->wait.queued && !t->wait.deferred                            ? 'Q'
              : t->state == SP_TXN_CONNECTING || t->state == SP_TXN_RETRY_WAIT ? 'C'
                                                                               : 'H';
    unqueue(t);
    if (t->state != SP_TXN_NEW) {
        struct sp_stats_worker *st = t->hw->st;
        sp_stat_add(&st->fe[t->fe->idx].cli_abrt, 1);
        be_srv_add(t, offsetof(struct sp_stats_obj, cli_abrt));
    }
    set_term(t, 'C', st);
    detach_up(t, false);
    sp_timer_disarm(&t->hw->w->tw, &t->timer);
    t->state = SP_TXN_DONE;
    t->t_end = t->hw->w->now_us;
    uncount(t);
}

static uint64_t span(uint64_t from, uint64_t to)
{
    return from && to >= from ? to - from : 0;
}

/* Counters of a finished transaction: status class, bytes, and the latency histograms. */
static void account(struct sp_txn *t)
{
    struct sp_stats_worker *st = t->hw->st;
    struct sp_stats_obj *objs[3] = {&st->fe[t->fe->idx], t->be ? &st->be[t->be->idx] : NULL,
                                    t->srv && t->counted_srv_once ? &st->srv[t->srv->idx] : NULL};
    int cls = t->status >= 100 && t->status < 600 ? t->status / 100 - 1 : 5;

    t->accounted = true;
    struct sp_stats_obj *lo = t->conn ? sp__conn_li(t->conn) : NULL;
    if (lo) { /* option socket-stats: the listener's bytes */
        sp_stat_add(&lo->bin, (int64_t)t->bytes_in);
        sp_stat_add(&lo->bout, (int64_t)t->bytes_out);
    }
    for (int i = 0; i < 3; i++) {
        struct sp_stats_obj *o = objs[i];
        if (!o)
            continue;
        if (t->status)
            sp_stat_add(&o->hrsp[cls], 1);
        sp_stat_add(&o->bin, (int64_t)t->bytes_in);
        sp_stat_add(&o->bout, (int64_t)t->bytes_out);
        if (i == 0)
            continue;
        if (t->t_queued)
            sp_hist_add(&o->hist[SP_HIST_QUEUE], span(t->t_queued, t->t_dequeued));
        if (t->t_connected)
            sp_hist_add(&o->hist[SP_HIST_CONNECT], span(t->t_connect_start, t->t_connected));
        if (t->t_res_head)
            sp_hist_add(&o->hist[SP_HIST_RESPONSE],
                        span(t->t_sent ? t->t_sent : t->t_connected, t->t_res_head));
        if (t->t_end && t->state == SP_TXN_DONE && t->term[0] == '-')
            sp_hist_add(&o->hist[SP_HIST_TOTAL], span(t->t_req ? t->t_req : t->t_start, t->t_end));
    }
}

void sp__txn_free(struct sp_txn *t)
{
    if (!t)
        return;
    sp__txn_abort(t);
    if (t->comp)
        sp__comp_free(t); /* a compressed response that did not end */
    if (!t->accounted)
        account(t);
    if (t->stk_tracked)
        sp_stkctr_end(t->stkctr, t->status, t->bytes_in, t->bytes_out);
    if (!t->logged)
        sp__accesslog_txn(t);
    if (t->stk_tracked)
        sp_stkctr_release(t->stkctr);
    sp_vars_clear_txn(&t->vars, t->conn ? &t->conn->sess_vars : NULL);
    free(t->reqline);
    lresp_free(t);
    free(t->caps);
    free(t->unique_id);
    free(t->hpause); /* one allocation (hrules.c) */
    free(t->src);    /* set-src */
    head_free(t);
    sp_pool_put(&t->hw->txn_pool, t);
}
