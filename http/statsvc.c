/* http/statsvc.c - the statistics services: the rows of `show stat` (one builder for every
 * rendering), the stats page and the Prometheus exporter (served over HTTP by the client side
 * as local answers), and what the stats socket (core/cli.c, run by main) asks of them:
 * `show stat` and the process values of `show info`.
 *
 * shared: reads the per-worker counters and gates with plain atomic loads; writes nothing
 * shared. The HTTP services run on a worker with its snapshot; the stats socket runs on main
 * with the published snapshot, which main owns.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timer.h"
#include "core/util.h"
#include "http/http-int.h"

/* shared: set by main at start */
static uint64_t start_mono_us;
static const char *version = SP_VERSION;

void sp_statsvc_init(void)
{
    start_mono_us = sp_now_us();
}

/* The text a server row points to, kept until the rendering is done. */
struct srv_text {
    char addr[64];
    char status[32];
    char info[sizeof(((struct sp_srv_hstate *)0)->info)];
};

/* The columns every row has: names, ids, and the counters summed over the workers. */
static struct sp_stats_row *row_start(struct sp_stats_row *r, enum sp_stats_type type,
                                      const char *pxname, int iid, enum sp_stats_kind kind, int idx,
                                      uint64_t now_ms)
{
    r->pxname = pxname;
    r->type = type;
    r->iid = (uint32_t)iid;
    r->pid = 1;
    r->now_ms = now_ms;
    sp_stats_read(kind, idx, now_ms, &r->obj);
    return r;
}

static int64_t age_s(uint64_t now_ms, uint64_t then_ms)
{
    return now_ms > then_ms ? (int64_t)((now_ms - then_ms) / 1000) : 0;
}

/* A server's state columns from one consistent copy of its health record (HAProxy 2.6's
 * stats_fill_sv_stats()). `txt` receives the strings the row points to. */
static void srv_row_health(struct sp_stats_row *r, const struct sp_server *s,
                           const struct sp_srv_hstate *st, struct srv_text *txt, uint64_t now_ms)
{
    const struct sockaddr_storage *addr = st->addrlen ? &st->addr : &s->addr;

    sp_srv_status_text(st, txt->status, sizeof(txt->status));
    r->status = txt->status;
    r->weight = (uint32_t)(st->uweight > 0 ? st->uweight : 0); /* no slowstart: eweight */
    r->uweight = r->weight;
    r->act = !st->backup;
    r->bck = !!st->backup;
    r->lastchg = age_s(now_ms, st->lastchg_ms);
    sp_addr_str(addr, txt->addr, sizeof(txt->addr));
    r->addr = txt->addr;

    if ((st->chk_state & (SP_CHK_ST_CONFIGURED | SP_CHK_ST_ENABLED)) ==
        (SP_CHK_ST_CONFIGURED | SP_CHK_ST_ENABLED))
        r->chk |= SP_STATS_CHK_ENABLED;
    if (st->chk_state & SP_CHK_ST_PAUSED)
        r->chk |= SP_STATS_CHK_PAUSED;
    if (st->chk_state & SP_CHK_ST_INPROGRESS)
        r->chk |= SP_STATS_CHK_RUNNING;
    r->check_status = sp_chk_status_name(st->status);
    r->check_desc = sp_chk_status_desc(st->status);
    /* HAProxy clears the detail when a check starts (set_server_check_status(START)) */
    snprintf(txt->info, sizeof(txt->info), "%s",
             st->chk_state & SP_CHK_ST_INPROGRESS ? "" : st->info);
    r->last_chk = txt->info;
    r->check_code = sp_chk_status_has_code(st->status) ? st->code : -1;
    r->check_duration = st->status != SP_CHK_UNK && st->status != SP_CHK_INI ? st->duration_ms : -1;
    r->chkfail = st->chkfail;
    r->chkdown = st->chkdown;
    r->downtime = (int64_t)(sp_srv_downtime_ms(st, now_ms) / 1000);
    r->check_rise = st->rise;
    r->check_fall = st->fall;
    r->check_health = st->health;
}

/* What a backend's servers add up to (HAProxy's update_backend_weight()): usable active and
 * backup servers, and the weight of the group in use: the active servers while one is
 * usable, else the first usable backup, else (option allbackups) every usable backup. */
struct be_sum {
    uint32_t act, bck;
    int64_t wact, wbck, wfbck; /* wfbck: the first usable backup's, -1 none */
};

static void be_sum_add(struct be_sum *b, const struct sp_srv_hstate *st)
{
    if (!sp_srv_usable(st))
        return;
    if (st->backup) {
        b->bck++;
        b->wbck += st->uweight;
        if (b->wfbck < 0)
            b->wfbck = st->uweight;
    } else {
        b->act++;
        b->wact += st->uweight;
    }
}

static int64_t be_sum_weight(const struct be_sum *b, const struct sp_backend *be)
{
    if (b->act)
        return b->wact;
    if (!be->allbackups && b->wfbck >= 0)
        return b->wfbck;
    return b->wbck;
}

/* The `algo` column: HAProxy's name of the backend's balance algorithm. */
static const char *algo_name(enum sp_balance a)
{
    switch (a) {
    case SP_BALANCE_STATIC_RR:
        return "static-rr";
    case SP_BALANCE_LEASTCONN:
        return "leastconn";
    case SP_BALANCE_FIRST:
        return "first";
    case SP_BALANCE_SOURCE:
        return "source";
    case SP_BALANCE_URI:
        return "uri";
    case SP_BALANCE_URL_PARAM:
        return "url_param";
    case SP_BALANCE_HDR:
        return "hdr";
    case SP_BALANCE_RANDOM:
        return "random";
    default:
        return "roundrobin";
    }
}

/* `option socket-stats`: one row per listener of `fe` after its FRONTEND row, as HAProxy
 * 2.6's stats_fill_li_stats() fills it: named after the bind's `name` or "sock-N", scur the
 * connections open on it, slim and FULL from the bind's own maxconn. Returns the rows
 * written. */
static size_t listener_rows(const struct sp_routing *rt, const struct sp_http_conf *conf,
                            const struct sp_frontend *fe, uint64_t now_ms,
                            struct sp_stats_row *rows)
{
    size_t n = 0;

    (void)rt;
    for (int k = 0; k < conf->nbinds; k++) {
        const struct sp_bind *b = &conf->binds[k];
        if (b->fe_idx != fe->idx || !b->li)
            continue;
        struct sp_stats_row *r = row_start(&rows[n++], SP_STATS_TYPE_LI, fe->name, fe->id,
                                           SP_STATS_LI, b->li - 1, now_ms);
        const struct sp_gate *g = b->gates[0]; /* the bind's maxconn, NULL: none */
        r->svname = b->name ? b->name : b->li_name;
        r->sid = (uint32_t)b->luid;
        r->slim = g ? (int64_t)g->limit : 0;
        r->status = g && sp_gate_count_mt(g) >= (int64_t)g->limit ? "FULL" : "OPEN";
        r->mode = fe->mode == SP_MODE_TCP ? "tcp" : "http";
        r->cap = "frontend";
    }
    return n;
}

/* Builds every row, in proxy id order: FRONTEND, servers, BACKEND. The strings of server rows
 * are written in `txt` (one per server, by idx). */
static int build_rows(const struct sp_routing *rt, const struct sp_http_conf *conf, uint64_t now_ms,
                      struct sp_stats_row **ret_rows, size_t *ret_n, struct srv_text **ret_txt)
{
    size_t cap = (size_t)(rt->nfe + rt->nbe + rt->nsrv + conf->nbinds);
    struct sp_stats_row *rows = calloc(cap ? cap : 1, sizeof(*rows));
    struct srv_text *txt = calloc((size_t)(rt->nsrv ? rt->nsrv : 1), sizeof(*txt));
    size_t n = 0;
    int maxid = 0;

    if (!rows || !txt) {
        free(rows);
        free(txt);
        return -ENOMEM;
    }
    for (int i = 0; i < rt->nfe; i++)
        maxid = SP_MAX(maxid, rt->fe[i]->id);
    for (int i = 0; i < rt->nbe; i++)
        maxid = SP_MAX(maxid, rt->be[i]->id);
    for (int id = 1; id <= maxid; id++) {
        for (int i = 0; i < rt->nfe; i++) {
            const struct sp_frontend *fe = rt->fe[i];
            if (fe->id != id)
                continue;
            struct sp_stats_row *r = row_start(&rows[n++], SP_STATS_TYPE_FE, fe->name, fe->id,
                                               SP_STATS_FE, fe->idx, now_ms);
            struct sp_gate *g = conf->fe_gates[fe->idx];
            r->scur_set = true;
            r->scur = g ? sp_gate_count_mt(g) : 0;
            r->obj.max = g ? sp_gate_peak_mt(g) : 0;
            r->slim = g ? (int64_t)g->limit : fe->maxconn; /* the global maxconn when unset */
            r->status = fe->disabled ? "STOP" : "OPEN";
            r->desc = fe->desc;
            r->cap = "frontend";
            for (int k = 0; k < rt->nbe; k++)
                if (rt->be[k]->id == fe->id)
                    r->cap = "listen";
            r->mode = fe->mode == SP_MODE_TCP ? "tcp" : "http";
            n += listener_rows(rt, conf, fe, now_ms, &rows[n]);
        }
        for (int i = 0; i < rt->nbe; i++) {
            const struct sp_backend *be = rt->be[i];
            if (be->id != id)
                continue;
            struct be_sum sum = {.wfbck = -1};
            for (int k = 0; k < be->nsrv; k++) {
                const struct sp_server *s = be->srv[k];
                struct sp_stats_row *r = row_start(&rows[n++], SP_STATS_TYPE_SRV, be->name, be->id,
                                                   SP_STATS_SRV, s->idx, now_ms);
                struct sp_srv_hstate st;
                sp_srv_health_read(s->h, &st);
                r->svname = s->name;
                r->sid = (uint32_t)s->id;
                r->slim = s->maxconn;
                r->qlimit = s->maxqueue;
                r->desc = be->desc;
                r->mode = be->mode == SP_MODE_TCP ? "tcp" : "http";
                srv_row_health(r, s, &st, &txt[s->idx], now_ms);
                be_sum_add(&sum, &st);
            }
            struct sp_stats_row *r = row_start(&rows[n++], SP_STATS_TYPE_BE, be->name, be->id,
                                               SP_STATS_BE, be->idx, now_ms);
            int64_t w = be_sum_weight(&sum, be);
            r->slim = be->fullconn;
            r->status = be->disabled ? "STOP" : w > 0 || be->nsrv == 0 ? "UP" : "DOWN";
            r->weight = (uint32_t)w;
            r->uweight = (uint32_t)w; /* no slowstart: user and effective weights agree */
            r->act = sum.act;
            r->bck = sum.bck;
            /* lastchg, chkdown and downtime: when the backend lost its last usable server or
             * got one back (HAProxy's set_backend_down() and UP path) */
            struct sp_be_health bh;
            uint64_t down_ms;
            sp_be_health_read(be->bh, &bh, now_ms, &down_ms);
            r->lastchg = age_s(now_ms, bh.lastchg_ms);
            r->chkdown = bh.chkdown;
            r->downtime = (int64_t)(down_ms / 1000);
            r->algo = algo_name(be->lb.algo);
            r->desc = be->desc;
            r->cap = "backend";
            for (int k = 0; k < rt->nfe; k++)
                if (rt->fe[k]->id == be->id)
                    r->cap = "listen";
            r->mode = be->mode == SP_MODE_TCP ? "tcp" : "http";
        }
    }
    *ret_rows = rows;
    *ret_n = n;
    *ret_txt = txt;
    return 0;
}

void sp_statsvc_proc_info(const struct sp_routing *rt, const struct sp_http_conf *conf,
                          uint64_t now_ms, struct sp_stats_proc *p)
{
    struct sp_stats_obj o;
    uint64_t now_us = sp_now_us();

    memset(p, 0, sizeof(*p));
    p->cur_conn = sp_gate_count_mt(conf->global_gate);
    p->max_conn = conf->global_gate->limit;
    for (int i = 0; i < rt->nfe; i++) {
        sp_stats_read(SP_STATS_FE, i, now_ms, &o);
        p->conn_tot += o.stot;
        p->req_tot += o.req_tot;
    }
    p->nbthread = conf->nworkers;
    p->uptime_s = (int64_t)((now_us - start_mono_us) / 1000000);
    p->start_time_s = (int64_t)(sp_wall_us(start_mono_us) / 1000000);
    p->version = version;
    p->node = conf->node ? conf->node : "";
    p->desc = conf->description;
}

static int render(const struct sp_routing *rt, const struct sp_http_conf *conf,
                  const struct sp_frontend *fe, const struct sp_txn *t, enum sp_local kind,
                  bool typed, struct sp_strbuf *b)
{
    uint64_t now_ms = sp_now_ms();
    struct sp_stats_row *rows;
    struct srv_text *txt;
    size_t n;
    struct sp_stats_proc proc;
    int err = build_rows(rt, conf, now_ms, &rows, &n, &txt);

    if (err)
        return err;
    sp_statsvc_proc_info(rt, conf, now_ms, &proc);
    if (fe && fe->nstats_scope && kind != SP_LOCAL_PROMETHEUS) {
        /* `stats scope`: the page (and its CSV) shows the listed proxies only */
        size_t k = 0;
        for (size_t i = 0; i < n; i++) {
            bool in = false;
            for (int j = 0; j < fe->nstats_scope && !in; j++)
                in = strcmp(rows[i].pxname, fe->stats_scope[j]) == 0;
            if (in)
                rows[k++] = rows[i];
        }
        n = k;
    }
    switch (kind) {
    case SP_LOCAL_PROMETHEUS:
        err = sp_stats_prom(b, &proc, rows, n, SP_PROM_ALL);
        break;
    case SP_LOCAL_STATS_HTML: {
        struct sp_stats_html_opts o = {
            .uri = fe ? fe->stats_uri : NULL,
            .refresh = fe ? (int)(fe->stats_refresh / 1000) : 0,
            .proc = &proc,
            .hide_version = fe && fe->stats_hide_version,
            .node = fe ? fe->stats_node : NULL,
            .desc = fe ? fe->stats_desc : NULL,
            .legends = fe && fe->stats_show_legends,
            .admin = t && t->stats_admin,
            .st = t ? t->stats_st : 0,
        };
        err = sp_stats_html(b, &o, rows, n);
        break;
    }
    default:
        if (!typed)
            err = sp_stats_csv_header(b);
        for (size_t i = 0; i < n && !err; i++)
            err = typed ? sp_stats_typed_row(b, &rows[i]) : sp_stats_csv_row(b, &rows[i]);
        break;
    }
    free(rows);
    free(txt);
    return b->oom ? -ENOMEM : err;
}

int sp__statsvc_body(const struct sp_txn *t, char **ret_body, size_t *ret_len,
                     const char **ret_ctype)
{
    struct sp_strbuf b;
    enum sp_local kind = t->local;

    sp_strbuf_init(&b);
    int err = render(t->hw->rt, t->hw->conf, t->fe, t, kind, false, &b);
    if (err) {
        sp_strbuf_free(&b);
        return err;
    }
    *ret_body = b.p ? b.p : strdup("");
    *ret_len = b.len;
    *ret_ctype = kind == SP_LOCAL_PROMETHEUS  ? "text/plain; version=0.0.4; charset=utf-8"
                 : kind == SP_LOCAL_STATS_CSV ? "text/plain"
                                              : "text/html";
    return *ret_body ? 0 : -ENOMEM;
}

/* ---- what the stats socket asks (main) ---- */

int sp_statsvc_show_stat(const struct sp_routing *rt, const struct sp_http_conf *conf, bool typed,
                         struct sp_strbuf *b)
{
    return render(rt, conf, NULL, NULL, SP_LOCAL_STATS_CSV, typed, b);
}
