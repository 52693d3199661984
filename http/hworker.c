/* http/hworker.c - the HTTP layer's per-worker state and the hooks main gives each worker.
 *
 * owner: worker (the hooks run on their worker); the configuration is shared and immutable.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "core/log.h"
#include "core/logsink.h"
#include "http/http-int.h"

/* shared: set by main before the workers start, read-only afterwards */
static const struct sp_http_conf *conf;

void sp_http_set_conf(const struct sp_http_conf *c)
{
    conf = c;
}

/* The balancer's view of a server's load (struct sp_lb_load): requests being served and
 * queued, over every worker. The counters count a request once it holds a connection; one
 * that this worker put aside until the end of the current batch of events
 * (sp_uppool_defer()) is counted nowhere yet, so it is added from the pool here: the
 * requests of one burst, picked in one batch, must see each other (`first` fills a server up
 * to its maxconn, leastconn spreads them). Costs a walk of the server's deferred list. */
static void lb_load(void *ctx, const struct sp_server *s, int64_t *ret_served, int64_t *ret_queued)
{
    const struct sp_http_worker *hw = ctx;
    int64_t deferred = 0;

    for (const struct sp_upwait *w = hw->pools[s->idx].defer_head; w; w = w->_next)
        deferred++;
    *ret_served = sp_stats_cur_mt(SP_STATS_SRV, s->idx) + deferred;
    *ret_queued = sp_stats_qcur_mt(SP_STATS_SRV, s->idx);
}

void sp__txn_lb_req(const struct sp_txn *t, struct sp_lb_req *ret)
{
    size_t len = sp_buf_len(&t->reqhead), ll, sp1, sp2;
    const char *p = len ? sp_buf_head(&t->reqhead) : NULL;
    const char *eol = p ? memchr(p, '\n', len) : NULL;

    *ret = (struct sp_lb_req){.src = t->conn ? sp__txn_src(t) : NULL};
    if (!eol)
        return;
    /* "METHOD SP target SP version CRLF", as the client side built it: the target runs from
     * the first space to the last one */
    ll = (size_t)(eol - p);
    if (ll && p[ll - 1] == '\r')
        ll--;
    for (sp1 = 0; sp1 < ll && p[sp1] != ' '; sp1++)
        ;
    for (sp2 = ll; sp2 > 0 && p[sp2 - 1] != ' '; sp2--)
        ;
    if (sp1 == ll || sp2 < sp1 + 2)
        return;
    ret->uri = p + sp1 + 1;
    ret->uri_len = sp2 - 1 - (sp1 + 1);
    ret->hdrs = eol + 1;
    ret->hdrs_len = len - (size_t)(eol + 1 - p);
    /* HTTP/2: HAProxy makes the absolute form scheme://authority+path of a request with an
     * :authority, which the head's first field carries ("host: ", empty without one). The
     * scheme is http: spillway's listeners speak cleartext only. */
    if (t->h2 && ret->hdrs_len > 6 && strncasecmp(ret->hdrs, "host: ", 6) == 0) {
        const char *v = ret->hdrs + 6, *ve = memchr(v, '\r', ret->hdrs_len - 6);
        if (ve && ve > v) {
            ret->scheme = "http";
            ret->scheme_len = 4;
            ret->authority = v;
            ret->authority_len = (size_t)(ve - v);
        }
    }
}

static void hw_free(struct sp_http_worker *hw)
{
    if (!hw)
        return;
    sp__checks_stop(hw);
    if (hw->pools) {
        for (int i = 0; i < hw->rt->nsrv; i++)
            sp_uppool_drain(&hw->pools[i]);
    }
    free(hw->pools);
    sp_lb_worker_free(hw->lb);
    free(hw->listeners);
    sp__h2_worker_free(hw);
    if (hw->logbuf) {
        sp_logsink_flush(hw->logbuf);
        sp_logsink_buf_free(hw->logbuf);
    }
    sp_pool_destroy(&hw->h1c_pool);
    sp_pool_destroy(&hw->txn_pool);
    sp_pool_destroy(&hw->upconn_pool);
    sp_buf_release(&hw->headbuf, &hw->bufs, 1);
    free(hw->rbuf); /* errors.c's */
    if (hw->hr) {   /* hrules.c's */
        free(hw->hr->arena);
        free(hw->hr->tmp);
        free(hw->hr->out);
        free(hw->hr);
        hw->hr = NULL;
    }
    sp__cookie_worker_free(hw); /* cookie.c's */
    sp_bufpool_destroy(&hw->bufs);
    sp_bufpool_destroy(&hw->bufs64);
    if (hw->rt)
        sp_routing_unref(hw->rt);
    free(hw);
}

static int hw_start(struct sp_worker *w)
{
    struct sp_http_worker *hw = calloc(1, sizeof(*hw));

    if (!hw)
        return -ENOMEM;
    w->proto = hw;
    hw->w = w;
    hw->conf = conf;
    sp_bufpool_init(&hw->bufs, (uint32_t)conf->bufsize, 1024);
    sp_bufpool_init(&hw->bufs64, SP_H2_STREAM_WINDOW, 64);
    if (sp_buf_alloc(&hw->headbuf, &hw->bufs))
        return -ENOMEM;
    hw->rt = sp_routing_get();
    if (!hw->rt) {
        sp_log(SP_LOG_ALERT, "worker %d: no routing snapshot published", w->id);
        return -EINVAL;
    }
    sp_routing_ref(hw->rt);
    hw->st = sp_stats_worker(w->id);
    if (!hw->st)
        return -EINVAL;
    int nsrv = hw->rt->nsrv ? hw->rt->nsrv : 1;
    hw->pools = calloc((size_t)nsrv, sizeof(*hw->pools));
    /* random's PRNG: a different sequence per worker and per start */
    hw->lb =
        sp_lb_worker_new(hw->rt, (uint32_t)(sp_now_ms() ^ ((uint64_t)w->id + 1) * 2654435761u));
    hw->lbload = (struct sp_lb_load){.get = lb_load, .ctx = hw};
    hw->listeners = calloc((size_t)(conf->nbinds ? conf->nbinds : 1), sizeof(*hw->listeners));
    if (!hw->pools || !hw->lb || !hw->listeners)
        return -ENOMEM;
    sp__http_pools_init(hw);
    if (conf->logsink) {
        hw->logbuf = sp_logsink_buf_new(conf->logsink, 64 * 1024, 256);
        if (!hw->logbuf)
            return -ENOMEM;
        sp_log_ctx_init(&hw->logctx, (int)getpid(), NULL);
    }
    if (sp__h2_worker_init(hw) < 0)
        return -ENOMEM;
    for (int i = 0; i < hw->rt->nsrv; i++) {
        const struct sp_server *s = hw->rt->srv[i];
        struct sp_uppool *p = &hw->pools[i];
        unsigned n = (unsigned)conf->nworkers;
        /* a tcp session is one server connection for its whole life: HAProxy caps them only
         * with the server's maxconn, and so does spillway (an idle cap would hold tunnels
         * in the queue) */
        unsigned cap = (unsigned)(s->maxconn                   ? s->maxconn
                                  : s->be->mode == SP_MODE_TCP ? 0
                                                               : conf->server_default_maxconn);
        sp_uppool_init(p, w, &hw->bufs, &hw->upconn_pool, &s->addr, s->addrlen);
        p->src = s->source;
        p->srclen = s->sourcelen;
        sp__ka(&s->be->srvtcpka, &p->ka);
        /* a process-wide limit, split evenly: each worker owns its share */
        p->max_conns = cap ? (cap + n - 1) / n : 0;
        p->max_queue = s->maxqueue ? ((unsigned)s->maxqueue + n - 1) / n : 0;
    }
    if (sp__checks_start(hw) < 0)
        return -ENOMEM;
    for (int i = 0; i < conf->nbinds; i++) {
        int err = sp_listener_start(&hw->listeners[i], w, &conf->binds[i], w->id, conf->maxaccept,
                                    sp__conn_accept);
        if (err < 0) {
            sp_log(SP_LOG_ALERT, "worker %d: cannot poll %s: %s", w->id, conf->binds[i].text,
                   strerror(-err));
            return err;
        }
        hw->nlisteners++;
    }
    return 0;
}

static void hw_stop(struct sp_worker *w)
{
    struct sp_http_worker *hw = w->proto;

    if (!hw)
        return;
    for (int i = 0; i < hw->nlisteners; i++)
        sp_listener_stop(&hw->listeners[i]);
    sp__checks_stop(hw);
    sp__conn_stop_all(hw);
}

static bool hw_idle(struct sp_worker *w)
{
    struct sp_http_worker *hw = w->proto;
    return !hw || hw->nconns == 0;
}

static void hw_wake(struct sp_worker *w)
{
    struct sp_http_worker *hw = w->proto;

    if (!hw || w->stopping)
        return;
    for (int i = 0; i < hw->nlisteners; i++)
        sp_listener_resume(&hw->listeners[i]);
    if (hw->kill_seen)
        sp__checks_kill_scan(hw);
}

static void hw_finish(struct sp_worker *w)
{
    struct sp_http_worker *hw = w->proto;

    if (!hw)
        return;
    for (int i = 0; i < hw->nlisteners; i++)
        sp_listener_stop(&hw->listeners[i]);
    sp__conn_close_all(hw);
    hw_free(hw);
    w->proto = NULL;
}

static void hw_turn_end(struct sp_worker *w)
{
    struct sp_http_worker *hw = w->proto;

    if (hw && hw->logbuf) {
        sp_logsink_buf_set_now(hw->logbuf, (int64_t)sp_wall_us(w->now_us));
        sp_logsink_flush(hw->logbuf);
        sp_stat_set(&hw->st->log_drops, (int64_t)sp_logsink_buf_drops_mt(hw->logbuf));
    }
}

const struct sp_worker_hooks sp_http_hooks = {
    .turn_end = hw_turn_end,
    .start = hw_start,
    .stop = hw_stop,
    .idle = hw_idle,
    .finish = hw_finish,
    .wake = hw_wake,
};
