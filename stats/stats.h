/* stats/stats.h - per-worker counters and latency histograms, summed on read.
 *
 * shared: one writer per slot, any reader. Each worker owns one struct sp_stats_worker and
 * its arrays, allocated on their own cache lines; only that worker writes them, with ck_pr
 * stores (a plain load + store: no locked instruction, no shared line bounced in the request
 * path). Any thread reads a value as the sum of ck_pr loads over the workers; the result may
 * be a few events stale by the time it is used, as with HAProxy's plain loads.
 *
 * Counters are indexed by the routing snapshot's dense indexes: one struct sp_stats_obj per
 * frontend, backend and server. Which fields an object uses follows HAProxy's `show stat`
 * (HAPROXY-BEHAVIOUR.md 7.1); the others stay 0.
 *
 * Maxima: a worker that raises a current count (or closes a rate second) computes the sum
 * over workers at that moment and keeps the highest it saw in its own slot; the merged
 * maximum is the highest over workers. Exact for what the workers observed, without a lock.
 *
 * Rates use a 1-second window per worker: events of the current second plus those of the
 * previous one weighted by the part of the current second still to come (HAProxy's estimate),
 * summed over workers.
 *
 * Histograms are log-linear over microseconds: each power-of-two range is cut in
 * SP_HIST_SUB equal buckets, so a bucket is never wider than 1/SP_HIST_SUB of its value.
 */
#ifndef SP_STATS_STATS_H
#define SP_STATS_STATS_H

#include <ck_pr.h>
#include <stdint.h>

#include "core/util.h"

/* shared: one writer (the owning worker), any reader */
struct sp_rate {
    uint64_t sec;  /* the second `cur` counts */
    uint64_t cur;  /* events in that second */
    uint64_t prev; /* events in the second before */
    uint64_t max;  /* highest merged rate this worker computed at a rollover */
};

#define SP_HIST_SUB_BITS 2
#define SP_HIST_SUB      (1 << SP_HIST_SUB_BITS)
#define SP_HIST_POW      27 /* 2^27 us: about 134 s; longer values land in the last bucket */
#define SP_HIST_BUCKETS  (SP_HIST_POW * SP_HIST_SUB)

/* shared: one writer, any reader */
struct sp_hist {
    uint64_t count;
    uint64_t sum_us;
    uint64_t max_us;
    uint64_t b[SP_HIST_BUCKETS];
};

enum sp_hist_kind {
    SP_HIST_QUEUE = 0, /* Tw: time in the queue */
    SP_HIST_CONNECT,   /* Tc: time to connect (0 on a reused connection) */
    SP_HIST_RESPONSE,  /* Tr: request sent -> response headers */
    SP_HIST_TOTAL,     /* Ta: request first byte -> response last byte */
    SP_HIST_KINDS,
};

/* shared: one writer, any reader. One frontend, backend or server on one worker. */
struct sp_stats_obj {
    int64_t cur;  /* scur: fe: client connections (kept by the gate); be: streams assigned,
                     queued ones included; srv: requests on the server now */
    int64_t max;  /* smax (see "Maxima") */
    int64_t qcur; /* queued streams */
    int64_t qmax;
    int64_t stot;  /* fe: sessions (connections); be/srv: streams assigned */
    int64_t lbtot; /* be/srv: times chosen by load balancing */
    int64_t bin, bout;
    int64_t dreq, dresp, ereq, econ, eresp, wretr, wredis, eint;
    int64_t hrsp[6]; /* 1xx 2xx 3xx 4xx 5xx other */
    int64_t req_tot; /* HTTP requests (fe) / streams (be, srv) */
    int64_t h1req, h2req, h1sess, h2sess;
    int64_t cli_abrt, srv_abrt;
    int64_t connect, reuse;             /* be/srv: new upstream connections, reused ones */
    int64_t lastsess;                   /* ms (monotonic) of the last stream assigned; 0 never */
    struct sp_rate rate;                /* fe: sessions/s; be/srv: streams/s */
    struct sp_rate req_rate;            /* fe: requests/s */
    struct sp_rate conn_rate;           /* fe: connections/s */
    struct sp_hist hist[SP_HIST_KINDS]; /* be/srv */
};

/* owner: worker (writes), shared (reads) */
struct sp_stats_worker {
    struct sp_stats_obj *fe;
    struct sp_stats_obj *be;
    struct sp_stats_obj *srv;
    int nfe, nbe, nsrv;
    int wid;
    int64_t log_drops; /* access-log lines this worker dropped (its buffer was full) */
} __attribute__((aligned(SP_CACHELINE)));

enum sp_stats_kind {
    SP_STATS_FE = 0,
    SP_STATS_BE,
    SP_STATS_SRV,
};

/* owner: main. Allocates the slots of every worker; sizes from the routing snapshot. Returns
 * 0 or -ENOMEM. */
int sp_stats_init(int nworkers, int nfe, int nbe, int nsrv);
void sp_stats_free(void);
int sp_stats_nworkers(void);

/* owner: worker `wid`: its own slots. */
struct sp_stats_worker *sp_stats_worker(int wid);

/* ---- single-writer updates (the caller is the owning worker) ---- */

static inline void sp_stat_add(int64_t *slot, int64_t v)
{
    uint64_t *p = (uint64_t *)slot;
    ck_pr_store_64(p, ck_pr_load_64(p) + (uint64_t)v);
}

static inline void sp_stat_set(int64_t *slot, int64_t v)
{
    ck_pr_store_64((uint64_t *)slot, (uint64_t)v);
}

/* Raises the current count of (kind, idx) by one and updates this worker's maximum with the
 * merged count. */
void sp_stats_cur_inc(struct sp_stats_worker *w, enum sp_stats_kind kind, int idx);
/* Same for the queue count. */
void sp_stats_queue_inc(struct sp_stats_worker *w, enum sp_stats_kind kind, int idx);
/* One event on a rate of (kind, idx): `r` is one of the object's sp_rate fields. */
void sp_rate_add(struct sp_stats_worker *w, enum sp_stats_kind kind, int idx, struct sp_rate *r,
                 uint64_t now_ms);
/* One value (microseconds) into a histogram. */
void sp_hist_add(struct sp_hist *h, uint64_t us);

/* ---- reads: any thread ---- */

/* The bucket a value falls in, and the upper bound (inclusive, us) of a bucket. */
unsigned sp_hist_bucket(uint64_t us);
uint64_t sp_hist_bucket_le(unsigned b);

/* Sums (kind, idx) over every worker into *ret, maxima merged, rates evaluated at now_ms
 * (rate.cur then holds the current rate estimate and rate.max the highest merged one). */
void sp_stats_read(enum sp_stats_kind kind, int idx, uint64_t now_ms, struct sp_stats_obj *ret);

int64_t sp_stats_cur_mt(enum sp_stats_kind kind, int idx);
/* access-log lines dropped, all workers */
int64_t sp_stats_log_drops_mt(void);
int64_t sp_stats_qcur_mt(enum sp_stats_kind kind, int idx);
/* The rate estimate of one field over every worker; `off` is offsetof(struct sp_stats_obj,
 * rate|req_rate|conn_rate). */
uint64_t sp_stats_rate_mt(enum sp_stats_kind kind, int idx, size_t off, uint64_t now_ms);

/* The rate estimate of one window at `now_ms` (exported for tests). */
uint64_t sp_rate_read(const struct sp_rate *r, uint64_t now_ms);

#endif
