#include "stats/stats.h"

#include <ck_pr.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* shared: set by main before the workers start, freed after they stop */
static struct sp_stats_worker *workers[SP_MAX_WORKERS];
static int nworkers;

static void *zalloc(size_t n)
{
    /* each worker's arrays on their own cache lines: no false sharing between writers */
    size_t sz = (n + SP_CACHELINE - 1) / SP_CACHELINE * SP_CACHELINE;
    void *p = aligned_alloc(SP_CACHELINE, sz ? sz : SP_CACHELINE);
    if (p)
        memset(p, 0, sz ? sz : SP_CACHELINE);
    return p;
}

int sp_stats_init(int nw, int nfe, int nbe, int nsrv)
{
    if (nw > SP_MAX_WORKERS)
        return -EINVAL;
    for (int i = 0; i < nw; i++) {
        struct sp_stats_worker *w = zalloc(sizeof(*w));
        if (!w)
            return -ENOMEM;
        workers[i] = w;
        nworkers = i + 1;
        w->fe = zalloc(sizeof(*w->fe) * (size_t)nfe);
        w->be = zalloc(sizeof(*w->be) * (size_t)nbe);
        w->srv = zalloc(sizeof(*w->srv) * (size_t)nsrv);
        if (!w->fe || !w->be || !w->srv)
            return -ENOMEM;
        w->nfe = nfe;
        w->nbe = nbe;
        w->nsrv = nsrv;
    }
    return 0;
}

void sp_stats_free(void)
{
    for (int i = 0; i < nworkers; i++) {
        if (!workers[i])
            continue;
        free(workers[i]->fe);
        free(workers[i]->be);
        free(workers[i]->srv);
        free(workers[i]);
        workers[i] = NULL;
    }
    nworkers = 0;
}

struct sp_stats_worker *sp_stats_worker(int wid)
{
    return wid < nworkers ? workers[wid] : NULL;
}

void sp_rate_add(struct sp_rate *r, uint64_t now_ms)
{
    uint64_t sec = now_ms / 1000;
    uint64_t cur = ck_pr_load_64(&r->cur);

    if (sec != ck_pr_load_64(&r->sec)) {
        /* a new second: the old one becomes `prev` (or nothing, after a silent second) */
        ck_pr_store_64(&r->prev, sec == r->sec + 1 ? cur : 0);
        ck_pr_store_64(&r->sec, sec);
        cur = 0;
    }
    ck_pr_store_64(&r->cur, cur + 1);
}

uint64_t sp_rate_read(const struct sp_rate *r, uint64_t now_ms)
{
    uint64_t sec = now_ms / 1000;
    uint64_t rsec = ck_pr_load_64((uint64_t *)&r->sec);
    uint64_t cur = ck_pr_load_64((uint64_t *)&r->cur);
    uint64_t prev = ck_pr_load_64((uint64_t *)&r->prev);
    uint64_t left = 1000 - now_ms % 1000; /* ms of the current second still to come */

    if (rsec == sec)
        return cur + prev * left / 1000;
    if (rsec + 1 == sec)
        return cur * left / 1000; /* the window's `cur` is now the previous second */
    return 0;
}

#define SUM(field, idx, count)                                                                     \
    int64_t sum = 0;                                                                               \
    for (int i = 0; i < nworkers; i++) {                                                           \
        struct sp_stats_worker *w = workers[i];                                                    \
        if (w && (idx) >= 0 && (idx) < w->count)                                                   \
            sum += (int64_t)ck_pr_load_64((uint64_t *)&w->field);                                  \
    }                                                                                              \
    return sum

int64_t sp_stats_be_cur_mt(int be)
{
    SUM(be[be].cur, be, nbe);
}

int64_t sp_stats_be_queue_mt(int be)
{
    SUM(be[be].queue, be, nbe);
}

int64_t sp_stats_srv_cur_mt(int srv)
{
    SUM(srv[srv].cur, srv, nsrv);
}

#define RATE(field, idx, count)                                                                    \
    uint64_t sum = 0;                                                                              \
    for (int i = 0; i < nworkers; i++) {                                                           \
        struct sp_stats_worker *w = workers[i];                                                    \
        if (w && (idx) >= 0 && (idx) < w->count)                                                   \
            sum += sp_rate_read(&w->field, now_ms);                                                \
    }                                                                                              \
    return sum

uint64_t sp_stats_fe_req_rate_mt(int fe, uint64_t now_ms)
{
    RATE(fe[fe].req_rate, fe, nfe);
}

uint64_t sp_stats_fe_sess_rate_mt(int fe, uint64_t now_ms)
{
    RATE(fe[fe].sess_rate, fe, nfe);
}

uint64_t sp_stats_be_sess_rate_mt(int be, uint64_t now_ms)
{
    RATE(be[be].sess_rate, be, nbe);
}
