/* http/accesslog.c - one access-log line per HTTP/1 request and per HTTP/2 stream.
 *
 * owner: worker. The line is formatted into the worker's scratch and queued in its log buffer
 * (core/logsink.h), which the worker flushes once per loop turn: no lock, no blocking write in
 * the request path. A full buffer drops lines and counts them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/logsink.h"
#include "http/hrules.h"
#include "http/http-int.h"
#include "net/tls.h"

static const struct sp_http_felog *felog(const struct sp_http_worker *hw, int fe)
{
    const struct sp_http_felog *l = hw->conf->felog ? &hw->conf->felog[fe] : NULL;
    return l && l->fmt && l->ntargets && hw->logbuf ? l : NULL;
}

bool sp__accesslog_on(const struct sp_http_worker *hw, int fe)
{
    return felog(hw, fe) != NULL;
}

void sp__accesslog_reqline(struct sp_txn *t, const char *method, size_t mlen, const char *target,
                           size_t tlen)
{
    if (!felog(t->hw, t->fe->idx))
        return;
    if (tlen > SP_LOG_REQLINE_MAX)
        tlen = SP_LOG_REQLINE_MAX;
    t->reqline = malloc(mlen + tlen + 2);
    if (!t->reqline)
        return; /* the line is logged without its request: never fail a request for a log */
    memcpy(t->reqline, method, mlen);
    t->reqline[mlen] = 0;
    memcpy(t->reqline + mlen + 1, target, tlen);
    t->reqline[mlen + 1 + tlen] = 0;
    t->reqline_mlen = mlen;
    t->reqline_tlen = tlen;
}

static int32_t ms(uint64_t from, uint64_t to)
{
    if (!from || !to || to < from)
        return -1;
    return (int32_t)((to - from) / 1000);
}

/* `level`: a syslog severity (http-request set-log-level), or -1 for a request's own */
static void emit_level(struct sp_http_worker *hw, const struct sp_http_felog *l,
                       const struct sp_log_rec *r, int level)
{
    size_t n = sp_logfmt_render(l->fmt, r, hw->logline, sizeof(hw->logline));
    for (unsigned i = 0; i < l->ntargets; i++)
        sp_logsink_emit_level(hw->logbuf, l->targets[i], level < 0 ? SP_SYSLOG_INFO : level,
                              hw->logline, n);
}

static void emit(struct sp_http_worker *hw, const struct sp_http_felog *l,
                 const struct sp_log_rec *r)
{
    emit_level(hw, l, r, -1);
}

void sp__accesslog_base(struct sp_log_rec *r, struct sp_http_worker *hw, struct sp_conn *c)
{
    sp_log_rec_init(r);
    r->ctx = &hw->logctx;
    r->cli = &c->peer;
    r->fe = &c->local;
    r->frontend = c->fe->name;
    if (c->x.xprt == &sp_xprt_tls) {
        r->fe_ssl = true;
        r->sslv = sp_tls_version(&c->x);
        r->sslc = sp_tls_cipher(&c->x);
    }
    r->accept_us = (int64_t)sp_wall_us(c->t_accept_us);
    r->actconn = (unsigned)sp_gate_count_mt(hw->conf->global_gate);
    r->feconn = (unsigned)sp__fe_conn(hw, c->fe->idx);
}

void sp__accesslog_request(struct sp_log_rec *r, const struct sp_txn *t)
{
    if (t->reqline) {
        r->method = t->reqline;
        r->method_len = t->reqline_mlen;
        r->target = t->reqline + t->reqline_mlen + 1;
        r->target_len = t->reqline_tlen;
    }
    r->version = t->h2 ? "HTTP/2.0" : (t->conn->version == 10 ? "HTTP/1.0" : "HTTP/1.1");
    r->cli = sp__txn_src(t); /* http-request set-src */
}

void sp__accesslog_txn(struct sp_txn *t)
{
    struct sp_http_worker *hw = t->hw;
    const struct sp_http_felog *l = felog(hw, t->fe->idx);
    struct sp_log_rec r;

    if (!l || !t->conn || t->log_level == -2) /* set-log-level silent */
        return;
    /* option dontlognull: a tcp session that carried no byte from the client (HAProxy's
     * req.total == 0); an HTTP request always has some */
    if (l->dontlognull && !t->bytes_in && t->sp == &sp__tcp_sproto)
        return;
    sp__accesslog_base(&r, hw, t->conn);
    r.backend = t->be ? t->be->name : NULL;
    if (t->local && t->local != SP_LOCAL_REPLY && t->local != SP_LOCAL_DROP &&
        t->local != SP_LOCAL_REJECT)
        r.server = t->local == SP_LOCAL_PROMETHEUS ? "<PROMEX>" : "<STATS>";
    else if (t->srv && t->counted_srv_once)
        r.server = t->srv->name;
    if (t->srv && t->counted_srv_once)
        r.srv = &t->srv->addr;
    r.request_us = (int64_t)sp_wall_us(t->t_req ? t->t_req : t->t_start);
    r.t_request = ms(t->t_req ? t->t_req : t->t_start, t->t_start);
    r.t_idle = 0;
    r.t_handshake = 0;
    if (t->t_queued)
        r.t_queue = ms(t->t_queued, t->t_dequeued ? t->t_dequeued : t->t_end);
    else if (t->t_connect_start || t->local)
        r.t_queue = 0;
    r.t_connect = t->t_connected ? ms(t->t_connect_start, t->t_connected) : -1;
    r.t_response = ms(t->t_sent ? t->t_sent : t->t_connected, t->t_res_head);
    r.t_active = ms(t->t_req ? t->t_req : t->t_start, t->t_end ? t->t_end : hw->w->now_us);
    r.t_total = ms(t->conn->t_accept_us, t->t_end ? t->t_end : hw->w->now_us);
    r.status = t->status ? t->status : -1;
    r.logasap = t->fe->logasap && t->state != SP_TXN_DONE;
    r.bytes_out = t->bytes_out;
    r.bytes_in = t->bytes_in;
    r.term[0] = t->term[0] == '-' ? 0 : t->term[0];
    r.term[1] = t->term[1] == '-' ? 0 : t->term[1];
    if (t->be && t->be->ck) {
        /* cookie persistence's status letters (HAProxy: only when the backend has one) */
        r.term[2] = t->ck_cli ? t->ck_cli : 'N';
        r.term[3] = t->ck_srv ? t->ck_srv : 'N';
    }
    r.beconn = t->be ? (unsigned)sp_stats_cur_mt(SP_STATS_BE, t->be->idx) : 0;
    r.srvconn = t->srv ? (unsigned)sp_stats_cur_mt(SP_STATS_SRV, t->srv->idx) : 0;
    r.retries = (unsigned)t->retries;
    r.redispatched = t->redispatched;
    sp__accesslog_request(&r, t);
    const struct sp_hrules *hr = hw->conf->hrules;
    if (hr && t->caps) {
        /* the frontend's captures: %hr / %hs print each slot, "" when not captured */
        const struct sp_hrules_px *fx = &hr->fe[t->fe->idx];
        r.req_caps = (const char *const *)t->caps;
        r.n_req_caps = (unsigned)fx->ncap_req;
        r.res_caps = (const char *const *)t->caps + fx->ncap_req;
        r.n_res_caps = (unsigned)fx->ncap_res;
    }
    /* %[...]: the connection, the load and the variables; the request head is gone, so
     * request-header fetches fail here (HAProxy logs them through captures) */
    struct sp_acl_env env;
    if (sp_logfmt_has_samples(l->fmt)) {
        sp__route_env_late(&env, t);
        env.unique_id = sp__uid_fetch;
        env.uid_ctx = t;
        r.env = &env;
    }
    /* %ID: made now if nothing needed it before (HAProxy's strm_log()), %rt */
    r.unique_id = sp__uid_get(t, r.env);
    r.req_counter = t->req_id;
    emit_level(hw, l, &r, t->log_level);
}

void sp__accesslog_badreq(struct sp_conn *c, int status, char term0, char term1, uint64_t bytes_out)
{
    struct sp_http_worker *hw = c->hw;
    const struct sp_http_felog *l = felog(hw, c->fe->idx);
    struct sp_log_rec r;

    if (!l || (l->dontlognull && !c->got_bytes))
        return;
    sp__accesslog_base(&r, hw, c);
    r.request_us = (int64_t)sp_wall_us(c->t_req_start * 1000);
    r.t_request = -1;
    r.t_active = ms(c->t_req_start * 1000, hw->w->now_us);
    r.t_total = ms(c->t_accept_us, hw->w->now_us);
    r.status = status;
    r.bytes_out = bytes_out;
    r.term[0] = term0;
    r.term[1] = term1;
    emit(hw, l, &r);
}

void sp__accesslog_conn_error(struct sp_conn *c, const char *msg, bool null)
{
    struct sp_http_worker *hw = c->hw;
    const struct sp_http_felog *l = felog(hw, c->fe->idx);
    struct sp_log_rec r;
    char id[16];

    /* HAProxy's session_kill_embryonic(): `option dontlognull` drops a connection that
     * closed or failed before sending anything */
    if (!l || (null && l->dontlognull))
        return;
    sp__accesslog_base(&r, hw, c);
    r.listener_id = c->bind->luid;
    const char *bind = c->bind->name;
    if (!bind) {
        snprintf(id, sizeof(id), "%d", c->bind->luid);
        bind = id;
    }
    size_t n = sp_log_conn_error(&r, bind, msg, hw->logline, sizeof(hw->logline));
    for (unsigned i = 0; i < l->ntargets; i++)
        sp_logsink_emit(hw->logbuf, l->targets[i], hw->logline, n);
}
