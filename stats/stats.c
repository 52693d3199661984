#include "stats/stats.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* shared: set by main before the workers start, freed after they stop */
static struct sp_stats_worker *workers[SP_MAX_WORKERS];
static int nworkers;

static void *zalloc(size_t n)
{
    /* each worker's arrays on their own cache lines: no false sharing between writers */
    size_t sz = (n + SP_CACHELINE - 1) / SP_CACHELINE * SP_CACHELINE;
    if (!sz)
        sz = SP_CACHELINE;
    void *p = aligned_alloc(SP_CACHELINE, sz);
    if (p)
        memset(p, 0, sz);
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
        w->wid = i;
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

int sp_stats_init_li(int nli)
{
    for (int i = 0; i < nworkers && nli > 0; i++) {
        struct sp_stats_worker *w = workers[i];
        w->li = zalloc(sizeof(*w->li) * (size_t)nli);
        if (!w->li)
            return -ENOMEM;
        w->nli = nli;
    }
    return 0;
}

void sp_stats_free(void)
{
    for (int i = 0; i < nworkers; i++) {
        if (!workers[i])
            continue;
        free(workers[i]->li);
        free(workers[i]->fe);
        free(workers[i]->be);
        free(workers[i]->srv);
        free(workers[i]);
        workers[i] = NULL;
    }
    nworkers = 0;
}

int sp_stats_nworkers(void)
{
    return nworkers;
}

struct sp_stats_worker *sp_stats_worker(int wid)
{
    return wid < nworkers ? workers[wid] : NULL;
}

static struct sp_stats_obj *obj(struct sp_stats_worker *w, enum sp_stats_kind kind, int idx)
{
    switch (kind) {
    case SP_STATS_FE:
        return idx >= 0 && idx < w->nfe ? &w->fe[idx] : NULL;
    case SP_STATS_BE:
        return idx >= 0 && idx < w->nbe ? &w->be[idx] : NULL;
    case SP_STATS_SRV:
        return idx >= 0 && idx < w->nsrv ? &w->srv[idx] : NULL;
    case SP_STATS_LI:
        return idx >= 0 && idx < w->nli ? &w->li[idx] : NULL;
    }
    return NULL;
}

static int64_t load(const int64_t *p)
{
    return (int64_t)ck_pr_load_64((uint64_t *)p);
}

/* sum over workers of the int64 at byte offset `off` of (kind, idx) */
static int64_t sum_at(enum sp_stats_kind kind, int idx, size_t off)
{
    int64_t sum = 0;
    for (int i = 0; i < nworkers; i++) {
        struct sp_stats_obj *o = workers[i] ? obj(workers[i], kind, idx) : NULL;
        if (o)
            sum += load((const int64_t *)((const char *)o + off));
    }
    return sum;
}

static void raise_cur(struct sp_stats_worker *w, enum sp_stats_kind kind, int idx, size_t cur_off,
                      size_t max_off)
{
    struct sp_stats_obj *o = obj(w, kind, idx);
    if (!o)
        return;
    sp_stat_add((int64_t *)((char *)o + cur_off), 1);
    int64_t total = sum_at(kind, idx, cur_off);
    int64_t *max = (int64_t *)((char *)o + max_off);
    if (total > *max)
        sp_stat_set(max, total);
}

void sp_stats_cur_inc(struct sp_stats_worker *w, enum sp_stats_kind kind, int idx)
{
    raise_cur(w, kind, idx, offsetof(struct sp_stats_obj, cur), offsetof(struct sp_stats_obj, max));
}

void sp_stats_queue_inc(struct sp_stats_worker *w, enum sp_stats_kind kind, int idx)
{
    raise_cur(w, kind, idx, offsetof(struct sp_stats_obj, qcur),
              offsetof(struct sp_stats_obj, qmax));
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

uint64_t sp_stats_rate_mt(enum sp_stats_kind kind, int idx, size_t off, uint64_t now_ms)
{
    uint64_t sum = 0;
    for (int i = 0; i < nworkers; i++) {
        struct sp_stats_obj *o = workers[i] ? obj(workers[i], kind, idx) : NULL;
        if (o)
            sum += sp_rate_read((const struct sp_rate *)((const char *)o + off), now_ms);
    }
    return sum;
}

void sp_rate_add(struct sp_stats_worker *w, enum sp_stats_kind kind, int idx, struct sp_rate *r,
                 uint64_t now_ms)
{
    uint64_t sec = now_ms / 1000;
    uint64_t cur = ck_pr_load_64(&r->cur);

    if (sec != r->sec) {
        /* a new second: the old one becomes `prev` (or nothing, after a silent second) */
        ck_pr_store_64(&r->prev, sec == r->sec + 1 ? cur : 0);
        ck_pr_store_64(&r->sec, sec);
        ck_pr_store_64(&r->cur, 0);
        /* the merged rate of the second that just ended, for rate_max */
        struct sp_stats_obj *o = obj(w, kind, idx);
        if (o) {
            size_t off = (size_t)((char *)r - (char *)o);
            uint64_t total = sp_stats_rate_mt(kind, idx, off, sec * 1000);
            if (total > r->max)
                ck_pr_store_64(&r->max, total);
        }
        cur = 0;
    }
    ck_pr_store_64(&r->cur, cur + 1);
}

unsigned sp_hist_bucket(uint64_t us)
{
    if (us < SP_HIST_SUB)
        return (unsigned)us; /* the first power holds 0..SUB-1 one by one */
    unsigned pow = 63u - (unsigned)__builtin_clzll(us); /* us in [2^pow, 2^(pow+1)) */
    unsigned sub = (unsigned)((us >> (pow - SP_HIST_SUB_BITS)) & (SP_HIST_SUB - 1));
    unsigned b = (pow - SP_HIST_SUB_BITS + 1) * SP_HIST_SUB + sub;
    return b < SP_HIST_BUCKETS ? b : SP_HIST_BUCKETS - 1;
}

uint64_t sp_hist_bucket_le(unsigned b)
{
    if (b < SP_HIST_SUB)
        return b;
    unsigned pow = b / SP_HIST_SUB + SP_HIST_SUB_BITS - 1;
    unsigned sub = b % SP_HIST_SUB;
    uint64_t lo = (1ull << pow) + ((uint64_t)sub << (pow - SP_HIST_SUB_BITS));
    return lo + (1ull << (pow - SP_HIST_SUB_BITS)) - 1;
}

void sp_hist_add(struct sp_hist *h, uint64_t us)
{
    unsigned b = sp_hist_bucket(us);
    ck_pr_store_64(&h->b[b], ck_pr_load_64(&h->b[b]) + 1);
    ck_pr_store_64(&h->count, ck_pr_load_64(&h->count) + 1);
    ck_pr_store_64(&h->sum_us, ck_pr_load_64(&h->sum_us) + us);
    if (us > h->max_us)
        ck_pr_store_64(&h->max_us, us);
}

static void add_rate(struct sp_rate *dst, const struct sp_rate *src, uint64_t now_ms)
{
    dst->cur += sp_rate_read(src, now_ms);
    uint64_t m = ck_pr_load_64((uint64_t *)&src->max);
    if (m > dst->max)
        dst->max = m;
}

void sp_stats_read(enum sp_stats_kind kind, int idx, uint64_t now_ms, struct sp_stats_obj *ret)
{
    memset(ret, 0, sizeof(*ret));
    for (int i = 0; i < nworkers; i++) {
        const struct sp_stats_obj *o = workers[i] ? obj(workers[i], kind, idx) : NULL;
        if (!o)
            continue;
        /* every int64 field before the rates is a plain sum, except the maxima */
        const int64_t *src = (const int64_t *)o;
        int64_t *dst = (int64_t *)ret;
        size_t n = offsetof(struct sp_stats_obj, rate) / sizeof(int64_t);
        for (size_t k = 0; k < n; k++)
            dst[k] += load(&src[k]);
        add_rate(&ret->rate, &o->rate, now_ms);
        add_rate(&ret->req_rate, &o->req_rate, now_ms);
        add_rate(&ret->conn_rate, &o->conn_rate, now_ms);
        for (int h = 0; h < SP_HIST_KINDS; h++) {
            const struct sp_hist *sh = &o->hist[h];
            struct sp_hist *dh = &ret->hist[h];
            dh->count += ck_pr_load_64((uint64_t *)&sh->count);
            dh->sum_us += ck_pr_load_64((uint64_t *)&sh->sum_us);
            uint64_t m = ck_pr_load_64((uint64_t *)&sh->max_us);
            if (m > dh->max_us)
                dh->max_us = m;
            for (int b = 0; b < SP_HIST_BUCKETS; b++)
                dh->b[b] += ck_pr_load_64((uint64_t *)&sh->b[b]);
        }
    }
    /* the current estimate is a rate that was reached: the maximum is at least that */
    struct sp_rate *rates[3] = {&ret->rate, &ret->req_rate, &ret->conn_rate};
    for (int i = 0; i < 3; i++)
        if (rates[i]->cur > rates[i]->max)
            rates[i]->max = rates[i]->cur;
    /* maxima are not sums: take the highest any worker saw */
    ret->max = ret->qmax = ret->lastsess = 0;
    for (int i = 0; i < nworkers; i++) {
        const struct sp_stats_obj *o = workers[i] ? obj(workers[i], kind, idx) : NULL;
        if (!o)
            continue;
        int64_t v;
        if ((v = load(&o->max)) > ret->max)
            ret->max = v;
        if ((v = load(&o->qmax)) > ret->qmax)
            ret->qmax = v;
        if ((v = load(&o->lastsess)) > ret->lastsess)
            ret->lastsess = v;
    }
}

int64_t sp_stats_cur_mt(enum sp_stats_kind kind, int idx)
{
    return sum_at(kind, idx, offsetof(struct sp_stats_obj, cur));
}

int64_t sp_stats_qcur_mt(enum sp_stats_kind kind, int idx)
{
    return sum_at(kind, idx, offsetof(struct sp_stats_obj, qcur));
}

int64_t sp_stats_log_drops_mt(void)
{
    int64_t sum = 0;
    for (int i = 0; i < nworkers; i++)
        if (workers[i])
            sum += load(&workers[i]->log_drops);
    return sum;
}
