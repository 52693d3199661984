/* http/tcp.c - mode tcp: a byte relay between a client connection and a server connection,
 * both of them transports (net/transport.h), the client side a struct sp_cproto and the
 * server side a struct sp_sproto of the session's transaction.
 *
 * owner: worker. A tcp session lives on the worker that accepted it, from the accept to the
 * close of both connections; nothing here is shared.
 *
 * A session is one transaction (http/txn.c does what it does for an HTTP request: the
 * backend's algorithm, the server's pool and queue, `retries` and `option redispatch`, the
 * counters of the stream and the log line) whose server protocol is this relay. Its course:
 *  1. accepted (http/conn.c ran the `tcp-request connection` rules);
 *  2. the `tcp-request content` rules, if any, over the bytes received so far, waiting up to
 *     `tcp-request inspect-delay` for a rule that cannot tell yet (HAProxy's three-valued
 *     evaluation, sp_acl_cond_exec());
 *  3. use_backend / default_backend over the connection and those bytes, then the backend's
 *     own `tcp-request content` rules, then a new server connection (never an idle one: a
 *     relay leaves nothing reusable behind); an http backend upgrades the connection to
 *     HTTP instead (upgrade());
 *  4. the backend's `tcp-response content` rules over the server's first bytes, held in its
 *     buffer until they decide (res_inspect());
 *  5. the relay: each side's read buffer holds what it sent and is written to the other side
 *     straight from there, so a byte is copied once (kernel to buffer to kernel). A side is
 *     read only while its buffer has room: a slow reader stops the writer (back-pressure,
 *     at most one buffer per direction). The peer's FIN is passed on with shutdown(SHUT_WR)
 *     once its bytes are written, and the other direction keeps flowing (half-close);
 *  6. the end: both directions closed, an error or reset on a side, or a timeout. The
 *     client side closes the session from its task; the transaction logs it.
 *
 * Timeouts, as HAProxy 2.6 runs them for a tcp stream: each side has an inactivity timeout,
 * refreshed by any byte moved to or from that side (writes refresh it too, HAProxy's default
 * without `option independent-streams`): `timeout client` and `timeout server`, both
 * replaced by `timeout tunnel` once the server connection is up, and, once a side's write
 * half was shut (the other side's FIN was passed on), `timeout client-fin` /
 * `timeout server-fin` for it. A side that has sent its FIN and has nothing to write to
 * it waits for nothing. `timeout connect`, `timeout queue` and retries are the
 * transaction's.
 *
 * Cost: a pass moves at most RELAY_BUDGET bytes and then yields to the worker's other
 * connections through the client's task, so one fast stream does not starve the others.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "core/log.h"
#include "core/util.h"
#include "http/http-int.h"
#include "net/transport.h"

#define RELAY_BUDGET (256 * 1024)

static void tcp_process(struct sp_conn *c);
static void tcp_update_timer(struct sp_conn *c);

static int64_t pick(int64_t a, int64_t b)
{
    return a != SP_TIME_UNSET ? a : b;
}

/* The session is over: the client side closes it from its own task (never from inside a
 * transaction op or the server's callback). */
static void finish(struct sp_txn *t)
{
    struct sp_conn *c = t->conn;

    t->tcps.done = true;
    sp_task_queue(c->hw->w, &c->proc_task);
}

/* HAProxy's stream state letter for a session ending now: R(equest: the content rules),
 * Q(ueue), C(onnect), D(ata). */
static char phase(const struct sp_txn *t)
{
    if (t->tcps.inspecting || t->state == SP_TXN_NEW)
        return 'R';
    if (t->state == SP_TXN_QUEUED && t->wait.queued && !t->wait.deferred)
        return 'Q';
    if (t->state == SP_TXN_EXCHANGE)
        return 'D';
    return 'C';
}

static void end(struct sp_txn *t, char cause, char state)
{
    sp__txn_close(t, cause, state);
    finish(t);
}

/* ---- counters ---- */

/* Bytes moved since the last push go to the frontend, backend and server counters, so that
 * `show stat` follows a long session as it goes (HAProxy's stream_process_counters()). */
static void push_bytes(struct sp_txn *t)
{
    struct sp_stats_worker *st = t->hw->st;
    struct sp_tcps *s = &t->tcps;
    int64_t din = (int64_t)(t->bytes_in - s->pushed_in);
    int64_t dout = (int64_t)(t->bytes_out - s->pushed_out);
    struct sp_stats_obj *objs[3] = {&st->fe[t->fe->idx], t->be ? &st->be[t->be->idx] : NULL,
                                    t->srv && t->counted_srv_once ? &st->srv[t->srv->idx] : NULL};

    if (!din && !dout)
        return;
    for (int i = 0; i < 3; i++) {
        if (!objs[i])
            continue;
        sp_stat_add(&objs[i]->bin, din);
        sp_stat_add(&objs[i]->bout, dout);
    }
    struct sp_stats_obj *lo = sp__conn_li(t->conn);
    if (lo) {
        sp_stat_add(&lo->bin, din);
        sp_stat_add(&lo->bout, dout);
    }
    s->pushed_in = t->bytes_in;
    s->pushed_out = t->bytes_out;
}

static uint64_t span(uint64_t from, uint64_t to)
{
    return from && to >= from ? to - from : 0;
}

/* What txn.c's account() does for an HTTP request, for a session: bytes (the rest of them),
 * no status classes, and the queue, connect and total times of the backend and server. */
static void account(struct sp_txn *t)
{
    struct sp_stats_worker *st = t->hw->st;
    struct sp_stats_obj *objs[2] = {t->be ? &st->be[t->be->idx] : NULL,
                                    t->srv && t->counted_srv_once ? &st->srv[t->srv->idx] : NULL};

    push_bytes(t);
    t->accounted = true;
    for (int i = 0; i < 2; i++) {
        struct sp_stats_obj *o = objs[i];
        if (!o)
            continue;
        if (t->t_queued)
            sp_hist_add(&o->hist[SP_HIST_QUEUE], span(t->t_queued, t->t_dequeued));
        if (t->t_connected)
            sp_hist_add(&o->hist[SP_HIST_CONNECT], span(t->t_connect_start, t->t_connected));
        if (t->t_end && t->term[0] == '-')
            sp_hist_add(&o->hist[SP_HIST_TOTAL], span(t->t_start, t->t_end));
    }
}

/* ---- the relay ---- */

/* Moves bytes from `src` (its read buffer) to `dst`, reading `src` while its buffer has room
 * and writing what it holds. Returns the bytes moved (read plus written), or -1 when a side
 * failed (*ret_bad: which one, 0 src, 1 dst). `in`: the bytes read from src are the
 * request's (client to server). */
static ssize_t move(struct sp_txn *t, struct sp_xconn *src, struct sp_xconn *dst, bool in,
                    uint64_t *src_last, uint64_t *dst_last, size_t budget, int *ret_bad)
{
    struct sp_http_worker *hw = t->hw;
    struct sp_buf *b = &src->rbuf;
    uint64_t now = hw->w->now;
    ssize_t moved = 0;

    for (;;) {
        bool progress = false;
        if (sp_buf_len(b) && dst->can_write && !dst->shut_wr) {
            struct iovec iov = {.iov_base = sp_buf_head(b), .iov_len = sp_buf_len(b)};
            ssize_t n = sp_xconn_sendv(dst, &iov, 1);
            if (n > 0) {
                sp_buf_consume(b, (uint32_t)n);
                *dst_last = now;
                moved += n;
                progress = true;
            } else if (n != -EAGAIN) {
                *ret_bad = 1;
                return -1;
            }
        }
        if ((size_t)moved >= budget)
            break;
        if (src->can_read && !src->rd_eof && !sp_buf_alloc(b, &hw->bufs) && sp_buf_space(b)) {
            ssize_t n = sp_xconn_read(src);
            if (n > 0) {
                if (in)
                    t->bytes_in += (uint64_t)n;
                else
                    t->bytes_out += (uint64_t)n;
                *src_last = now;
                moved += n;
                progress = true;
            } else if (n < 0 && n != -EAGAIN) {
                *ret_bad = 0; /* reset: an abort, not a FIN */
                return -1;
            }
        }
        if (!progress)
            break;
    }
    /* the end of src's stream reaches dst once its last bytes did */
    if (src->rd_eof && !sp_buf_len(b) && !dst->shut_wr) {
        sp_xconn_shutw(dst);
        sp_buf_release(b, &hw->bufs, 0);
    }
    return moved;
}

/* `tcp-response content` over the server's first bytes, which wait in its read buffer until
 * a rule decides (HAProxy's tcp_inspect_response()): now when the delay is over, the buffer
 * is full or the server sent its FIN, else when a rule cannot tell yet, later. False when
 * the session ended. reject: both sides closed, denied_resp counted on the frontend, the
 * backend and the server, "PD" in the log; close: the server's side is shut at once (what it
 * sent so far still reaches the client, then the client's side is closed); accept, or no
 * rule holding: the relay runs. */
static bool res_inspect(struct sp_txn *t)
{
    struct sp_http_worker *hw = t->hw;
    struct sp_upconn *u = t->up;
    struct sp_buf *b = &u->x.rbuf;
    struct sp_tcps *s = &t->tcps;

    while (u->x.can_read && !u->x.rd_eof) {
        if (sp_buf_alloc(b, &hw->bufs) || !sp_buf_space(b))
            break;
        ssize_t n = sp_xconn_read(&u->x);
        if (n > 0) {
            t->bytes_out += (uint64_t)n;
            s->last_srv = hw->w->now;
        } else if (n < 0 && n != -EAGAIN) {
            push_bytes(t);
            end(t, 'S', 'D');
            return false;
        }
    }
    bool final = t->be->t_res_inspect == SP_TIME_UNSET || hw->w->now >= s->res_end || u->x.rd_eof ||
                 (b->data && !sp_buf_space(b));
    int r = sp__route_tcp_res(t, !final);
    if (r < 0)
        return true; /* the timer comes back at res_end */
    s->res_inspecting = false;
    if (r == SP_TCP_REJECT) {
        struct sp_stats_worker *st = hw->st;
        sp_stat_add(&st->fe[t->fe->idx].dresp, 1);
        if (sp__conn_li(t->conn))
            sp_stat_add(&sp__conn_li(t->conn)->dresp, 1);
        sp_stat_add(&st->be[t->be->idx].dresp, 1);
        if (t->srv && t->counted_srv_once)
            sp_stat_add(&st->srv[t->srv->idx].dresp, 1);
        push_bytes(t);
        end(t, 'P', 'D');
        return false;
    }
    if (r == SP_TCP_CLOSE) {
        sp_xconn_shutw(&u->x);
        u->x.rd_eof = true; /* nothing more is read from it */
        s->res_closed = true;
    }
    return true;
}

/* One pass of the relay, both ways. */
static void relay(struct sp_txn *t)
{
    struct sp_conn *c = t->conn;
    struct sp_upconn *u = t->up;
    struct sp_tcps *s = &t->tcps;
    size_t budget = RELAY_BUDGET;
    int bad = 0;

    if (s->done || t->state != SP_TXN_EXCHANGE || !u)
        return;
    if (s->res_inspecting && !res_inspect(t))
        return;
    for (;;) {
        ssize_t a = move(t, &c->x, &u->x, true, &s->last_cli, &s->last_srv, budget, &bad);
        if (a < 0) {
            push_bytes(t);
            end(t, bad ? 'S' : 'C', 'D');
            return;
        }
        /* the server's bytes wait for the response rules */
        ssize_t b = s->res_inspecting
                        ? 0
                        : move(t, &u->x, &c->x, false, &s->last_srv, &s->last_cli, budget, &bad);
        if (b < 0) {
            push_bytes(t);
            end(t, bad ? 'C' : 'S', 'D');
            return;
        }
        if (!a && !b)
            break;
        if ((size_t)(a + b) >= budget) {
            /* more may be there without a new edge: come back after the others */
            sp_task_queue(c->hw->w, &c->proc_task);
            break;
        }
        budget -= (size_t)(a + b);
    }
    push_bytes(t);
    if ((c->x.rd_eof && u->x.shut_wr && u->x.rd_eof && c->x.shut_wr) ||
        (s->res_closed && c->x.shut_wr)) {
        /* both directions closed, or a response rule closed the server's side and what it
         * had sent reached the client: a normal end */
        end(t, '-', '-');
        return;
    }
    tcp_update_timer(c);
}

/* ---- timers ---- */

/* The inactivity timeout of each side now; SP_TIME_UNSET: none. */
static int64_t cli_timeout(const struct sp_txn *t)
{
    const struct sp_frontend *fe = t->fe;
    int64_t to = fe->t_client;

    if (t->state == SP_TXN_EXCHANGE && t->be && t->be->t_tunnel != SP_TIME_UNSET)
        to = t->be->t_tunnel;
    if (t->conn->x.shut_wr)
        to = pick(fe->t_client_fin, to);
    return to;
}

static int64_t srv_timeout(const struct sp_txn *t)
{
    const struct sp_backend *be = t->be;
    int64_t to = pick(be->t_tunnel, be->t_server);

    if (t->up && t->up->x.shut_wr)
        to = pick(be->t_server_fin, to);
    return to;
}

/* The client expects nothing from a side that sent its FIN and has nothing to take. */
static bool cli_waits(const struct sp_txn *t)
{
    const struct sp_conn *c = t->conn;
    return !c->x.rd_eof || (t->up && sp_buf_len(&t->up->x.rbuf));
}

static bool srv_waits(const struct sp_txn *t)
{
    const struct sp_upconn *u = t->up;
    return !u->x.rd_eof || sp_buf_len(&t->conn->x.rbuf);
}

static uint64_t deadline(uint64_t last, int64_t to)
{
    return to == SP_TIME_UNSET ? UINT64_MAX : last + (uint64_t)to;
}

/* Which deadline guards each side now (the server's only once the relay runs: before, the
 * transaction's connect and queue timers do). */
static void tcp_update_timer(struct sp_conn *c)
{
    struct sp_txn *t = c->txn;
    struct sp_worker *w = c->hw->w;
    uint64_t when = UINT64_MAX;

    if (!t || t->tcps.done) {
        sp_timer_disarm(&w->tw, &c->x.timer);
        return;
    }
    if (cli_waits(t))
        when = deadline(t->tcps.last_cli, cli_timeout(t));
    if (t->tcps.inspecting && t->tcps.inspect_end < when)
        when = t->tcps.inspect_end;
    if (t->tcps.res_inspecting && t->tcps.res_end < when)
        when = t->tcps.res_end;
    if (when == UINT64_MAX)
        sp_timer_disarm(&w->tw, &c->x.timer);
    else
        sp_timer_arm(&w->tw, &c->x.timer, when);
    if (t->state == SP_TXN_EXCHANGE && t->up) {
        uint64_t sw = srv_waits(t) ? deadline(t->tcps.last_srv, srv_timeout(t)) : UINT64_MAX;
        if (sw == UINT64_MAX)
            sp_timer_disarm(&w->tw, &t->up->x.timer);
        else
            sp_timer_arm(&w->tw, &t->up->x.timer, sw);
    }
}

static void inspect(struct sp_txn *t);

static void tcp_timeout(struct sp_conn *c)
{
    struct sp_txn *t = c->txn;
    uint64_t now = c->hw->w->now;

    if (!t || t->tcps.done)
        return;
    if (cli_waits(t) && now >= deadline(t->tcps.last_cli, cli_timeout(t))) {
        push_bytes(t);
        end(t, 'c', phase(t));
        return;
    }
    if (t->tcps.inspecting && now >= t->tcps.inspect_end) {
        inspect(t);
        return;
    }
    if (t->tcps.res_inspecting && now >= t->tcps.res_end) {
        relay(t); /* the response rules decide now */
        if (t->tcps.done)
            sp__conn_close(c);
        return;
    }
    tcp_update_timer(c);
}

static void srv_timer(struct sp_upconn *u)
{
    struct sp_txn *t = u->owner;
    uint64_t now = t->hw->w->now;

    if (t->tcps.done)
        return;
    /* both sides idle past their timeouts (a tunnel's are equal): HAProxy blames the client */
    if (cli_waits(t) && now >= deadline(t->tcps.last_cli, cli_timeout(t))) {
        push_bytes(t);
        end(t, 'c', 'D');
        return;
    }
    if (srv_waits(t) && now >= deadline(t->tcps.last_srv, srv_timeout(t))) {
        push_bytes(t);
        end(t, 's', 'D');
        return;
    }
    tcp_update_timer(t->conn);
}

/* ---- server protocol (struct sp_sproto): called by txn.c ---- */

static void tcps_reset(struct sp_txn *t)
{
    (void)t; /* nothing of an attempt survives it: the client's bytes wait in its buffer */
}

static int tcps_send_head(struct sp_txn *t)
{
    (void)t; /* no head: the relay sends the client's bytes once connected */
    return 0;
}

static size_t tcps_req_data(struct sp_txn *t, const char *p, size_t len)
{
    (void)t;
    (void)p;
    (void)len;
    return 0;
}

static int tcps_req_end(struct sp_txn *t)
{
    (void)t;
    return 0;
}

/* Connected: the server's timer becomes the relay's (txn.c's would answer 504). */
static void tcps_pump(struct sp_txn *t)
{
    struct sp_upconn *u = t->up;

    if (u->on_timer != srv_timer) {
        u->on_timer = srv_timer;
        t->tcps.last_srv = t->hw->w->now;
        t->tcps.last_cli = t->hw->w->now; /* the tunnel timeout starts now */
        if (t->be->ntcp_res) {
            /* HAProxy runs the response rules from the connection on, its delay with them */
            t->tcps.res_inspecting = true;
            t->tcps.res_end = t->be->t_res_inspect == SP_TIME_UNSET
                                  ? t->hw->w->now
                                  : t->hw->w->now + (uint64_t)t->be->t_res_inspect;
        }
    }
    relay(t);
}

const struct sp_sproto sp__tcp_sproto = {
    .name = "tcp",
    .reset = tcps_reset,
    .send_head = tcps_send_head,
    .req_data = tcps_req_data,
    .req_end = tcps_req_end,
    .pump = tcps_pump,
};

/* ---- front ops (struct sp_front_ops): how the transaction talks back ---- */

static int op_res_head(struct sp_txn *t, const struct sp_h1_msg *m, const char *buf)
{
    (void)t;
    (void)m;
    (void)buf;
    return -EINVAL; /* never called: the relay has no response head */
}

static size_t op_res_room(struct sp_txn *t)
{
    (void)t;
    return 0;
}

static size_t op_res_data(struct sp_txn *t, const char *p, size_t len)
{
    (void)t;
    (void)p;
    (void)len;
    return 0;
}

static int op_res_end(struct sp_txn *t)
{
    (void)t;
    return 0;
}

/* No server, no connection, a full queue: a tcp client gets no answer, only the close
 * (HAProxy's tcp mode), and no HTTP status is counted. */
static void op_res_error(struct sp_txn *t, int status)
{
    (void)status;
    t->status = 0;
    finish(t);
}

static void op_res_abort(struct sp_txn *t)
{
    finish(t);
}

static void op_req_resume(struct sp_txn *t)
{
    (void)t;
}

static const struct sp_front_ops tcp_ops = {
    .res_head = op_res_head,
    .res_room = op_res_room,
    .res_data = op_res_data,
    .res_swap = NULL,
    .res_end = op_res_end,
    .res_error = op_res_error,
    .res_abort = op_res_abort,
    .req_resume = op_req_resume,
};

/* ---- client side (struct sp_cproto) ---- */

/* Before the relay: the client's bytes wait in its read buffer (the content rules read them
 * there; the relay sends them once connected), as many as it holds. False when the client
 * reset the connection (the session ended). */
static bool buffer_input(struct sp_txn *t)
{
    struct sp_conn *c = t->conn;
    struct sp_buf *b = &c->x.rbuf;

    while (c->x.can_read && !c->x.rd_eof) {
        if (sp_buf_alloc(b, &c->hw->bufs) || !sp_buf_space(b))
            return true;
        ssize_t n = sp_xconn_read(&c->x);
        if (n > 0) {
            t->bytes_in += (uint64_t)n;
            t->tcps.last_cli = c->hw->w->now;
        } else if (n < 0 && n != -EAGAIN) {
            end(t, 'C', phase(t));
            return false;
        }
    }
    return true;
}

static void inspect(struct sp_txn *t);

/* The content rules have accepted (or there are none): route, run the backend's content
 * rules when it has its own (HAProxy's AN_REQ_INSPECT_BE, on the same buffered bytes, its
 * inspect-delay counted from now), and connect. */
static void route(struct sp_txn *t)
{
    struct sp_tcps *s = &t->tcps;

    s->routed = true;
    sp__route_tcp(t, t->conn);
    if (t->be && t->be->mode == SP_MODE_HTTP) {
        /* the task upgrades the connection (never from inside this call chain, which still
         * holds t) */
        s->upgrade = true;
        sp_task_queue(t->hw->w, &t->conn->proc_task);
        return;
    }
    if (t->be && t->be->ntcp_content && t->be->self_fe != t->fe->idx) {
        uint64_t now = t->hw->w->now;
        s->inspecting = s->be_inspecting = true;
        s->req_at = 0; /* the backend's rules from their first */
        s->inspect_end = t->be->t_inspect == SP_TIME_UNSET ? now : now + (uint64_t)t->be->t_inspect;
        inspect(t);
        return;
    }
    sp__txn_start_tcp(t);
}

/* `tcp-request content` over what arrived: decide now when the delay is over, the buffer is
 * full or the client sent its FIN (HAProxy's SMP_OPT_FINAL), else wait when a rule cannot
 * tell yet. */
static void inspect(struct sp_txn *t)
{
    struct sp_conn *c = t->conn;
    const struct sp_frontend *fe = t->fe;
    const struct sp_buf *b = &c->x.rbuf;
    bool be = t->tcps.be_inspecting;
    int64_t delay = be ? t->be->t_inspect : fe->t_inspect;
    bool final = delay == SP_TIME_UNSET || c->hw->w->now >= t->tcps.inspect_end || c->x.rd_eof ||
                 (b->data && !sp_buf_space(b));
    int r = be ? sp__route_tcp_be_content(t, !final) : sp__route_tcp_content(c, !final);

    if (r < 0) {
        tcp_update_timer(c);
        return;
    }
    t->tcps.inspecting = t->tcps.be_inspecting = false;
    if (!r) {
        /* HAProxy: denied_req of the frontend (a backend's rule too), PR, the connection
         * closed */
        sp_stat_add(&c->hw->st->fe[fe->idx].dreq, 1);
        if (sp__conn_li(c))
            sp_stat_add(&sp__conn_li(c)->dreq, 1);
        end(t, 'P', 'R');
        return;
    }
    if (be)
        sp__txn_start_tcp(t);
    else
        route(t);
}

/* A tcp frontend's session routed to an http backend becomes an HTTP connection, as HAProxy
 * 2.6 upgrades the stream (stream_set_backend()): the session's transaction goes without a
 * log line or a count of its own (its requests will have them), the connection switches to
 * the HTTP/1 protocol (HTTP/2 on its preface) with the bytes it buffered, and every request
 * goes to the backend the rules chose. The frontend's log format stays its own (tcplog),
 * as in HAProxy. */
static void upgrade(struct sp_conn *c)
{
    struct sp_txn *t = c->txn;

    c->forced_be = t->be;
    c->forced_rule = t->rule;
    t->accounted = t->logged = true;
    sp__txn_free(t);
    c->txn = NULL;
    sp_task_cancel(c->hw->w, &c->proc_task);
    c->proto = &sp__h1_cproto;
    c->proto->start(c);
    c->proto->io(c, 0); /* what was buffered is parsed now */
}

static void tcp_process(struct sp_conn *c)
{
    struct sp_txn *t = c->txn;

    if (c->closed || !t)
        return;
    if (t->tcps.upgrade) {
        upgrade(c);
        return;
    }
    if (t->tcps.done) {
        sp__conn_close(c);
        return;
    }
    if (t->state == SP_TXN_EXCHANGE) {
        relay(t);
        if (t->tcps.done)
            sp__conn_close(c);
        return;
    }
    if (!buffer_input(t))
        goto out;
    if (t->tcps.inspecting) {
        inspect(t);
        goto out;
    }
    if (!t->tcps.routed)
        route(t);
out:
    if (t->tcps.done)
        sp__conn_close(c);
    else
        tcp_update_timer(c);
}

static void proc_task(struct sp_task *tk)
{
    tcp_process(sp_container_of(tk, struct sp_conn, proc_task));
}

static void tcp_io(struct sp_conn *c, uint32_t events)
{
    (void)events;
    tcp_process(c);
}

static void tcp_flush(struct sp_conn *c)
{
    (void)c; /* the relay writes as it goes: nothing is left for a flush task */
}

static void tcp_start(struct sp_conn *c)
{
    struct sp_http_worker *hw = c->hw;
    struct sp_txn *t;

    sp_task_init(&c->proc_task, proc_task);
    t = sp__txn_new(hw, &tcp_ops, c, c->fe);
    if (!t) {
        sp__conn_close(c);
        return;
    }
    /* the transaction's server side is the relay (txn_new set HTTP/1's and reset it) */
    t->sp = &sp__tcp_sproto;
    memset(&t->tcps, 0, sizeof(t->tcps));
    t->conn = c;
    sp__stk_stream_begin(t, c, false);
    t->idempotent = true; /* nothing is sent before the connection is up: always retryable */
    t->t_req = t->t_start;
    t->tcps.last_cli = hw->w->now;
    c->txn = t;
    if (c->fe->ntcp_content) {
        t->tcps.inspecting = true;
        t->tcps.inspect_end = c->fe->t_inspect == SP_TIME_UNSET
                                  ? hw->w->now
                                  : hw->w->now + (uint64_t)c->fe->t_inspect;
    }
    /* the rules and the connection run from the task, after the accept completed */
    sp_task_queue(hw->w, &c->proc_task);
}

/* A graceful stop lets sessions run to their end (HAProxy's soft stop: only
 * `hard-stop-after` cuts them). */
static void tcp_stop(struct sp_conn *c)
{
    (void)c;
}

static void tcp_release(struct sp_conn *c)
{
    struct sp_txn *t = c->txn;

    if (t) {
        if (t->state != SP_TXN_DONE) {
            push_bytes(t);
            sp__txn_close(t, 'C', phase(t)); /* a hard stop, or memory ran out */
        }
        if (sp_log_enabled(SP_LOG_DEBUG)) {
            char ip[64];
            sp_log(SP_LOG_DEBUG, "worker %d: %s:%d %s %s/%s tcp %llu/%llu %c%c", c->hw->w->id,
                   sp_addr_ip(&c->peer, ip, sizeof(ip)), sp_addr_port(&c->peer), c->fe->name,
                   t->be ? t->be->name : "<NOBACKEND>", t->srv ? t->srv->name : "<NOSRV>",
                   (unsigned long long)t->bytes_in, (unsigned long long)t->bytes_out, t->term[0],
                   t->term[1]);
        }
        account(t);
        sp__txn_free(t);
        c->txn = NULL;
    }
    sp_task_cancel(c->hw->w, &c->proc_task);
}

const struct sp_cproto sp__tcp_cproto = {
    .name = "tcp",
    .start = tcp_start,
    .io = tcp_io,
    .flush = tcp_flush,
    .timeout = tcp_timeout,
    .update_timer = tcp_update_timer,
    .stop = tcp_stop,
    .release = tcp_release,
};
