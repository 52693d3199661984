/* stats/stats.h - per-worker counters, summed on read.
 *
 * shared: one writer per slot, any reader. Each worker owns one struct sp_stats_worker,
 * allocated on its own cache lines; only that worker writes it, with ck_pr stores (a plain
 * load + store: no locked instruction, no shared line bounced in the request path). Any
 * thread reads a value as the sum of ck_pr loads over the workers, which may be a few
 * events stale by the time it is used, exactly like HAProxy's plain loads of its counters.
 *
 * Counters are indexed by the routing snapshot's dense indexes (frontend, backend, server).
 *
 * Rates (requests or sessions per second) use a 1-second window per worker: the value read is
 * the events of the current second plus those of the previous second weighted by the part of
 * the current second still to come, summed over workers (HAProxy's estimate).
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
};

struct sp_stats_fe {
    int64_t req_tot;  /* HTTP requests (H1) and streams (H2) */
    int64_t sess_tot; /* accepted connections */
    struct sp_rate req_rate, sess_rate;
};

struct sp_stats_be {
    int64_t cur;   /* streams assigned to the backend, queued ones included (be_conn) */
    int64_t queue; /* streams waiting in this backend's server queues */
    int64_t req_tot;
    struct sp_rate sess_rate;
};

struct sp_stats_srv {
    int64_t cur;   /* requests on this server now (busy connections) */
    int64_t queue; /* streams waiting for a connection to this server */
    int64_t req_tot;
};

/* owner: worker (writes), shared (reads) */
struct sp_stats_worker {
    struct sp_stats_fe *fe;
    struct sp_stats_be *be;
    struct sp_stats_srv *srv;
    int nfe, nbe, nsrv;
} __attribute__((aligned(SP_CACHELINE)));

/* owner: main. Allocates the slots of every worker; sizes from the routing snapshot. Returns
 * 0 or -ENOMEM. */
int sp_stats_init(int nworkers, int nfe, int nbe, int nsrv);
void sp_stats_free(void);

/* owner: worker `wid`: its own slots. */
struct sp_stats_worker *sp_stats_worker(int wid);

/* Single-writer updates (the caller is the owning worker). */
static inline void sp_stat_add(int64_t *slot, int64_t v)
{
    uint64_t *p = (uint64_t *)slot;
    ck_pr_store_64(p, ck_pr_load_64(p) + (uint64_t)v);
}
void sp_rate_add(struct sp_rate *r, uint64_t now_ms);

/* shared: sums over the workers */
int64_t sp_stats_be_cur_mt(int be);
int64_t sp_stats_be_queue_mt(int be);
int64_t sp_stats_srv_cur_mt(int srv);
uint64_t sp_stats_fe_req_rate_mt(int fe, uint64_t now_ms);
uint64_t sp_stats_fe_sess_rate_mt(int fe, uint64_t now_ms);
uint64_t sp_stats_be_sess_rate_mt(int be, uint64_t now_ms);

/* The rate estimate of one window at `now_ms` (exported for tests). */
uint64_t sp_rate_read(const struct sp_rate *r, uint64_t now_ms);

#endif
