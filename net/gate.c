/* net/gate.c - the maxconn gate (see net/gate.h). */
#include "net/gate.h"

#include <ck_pr.h>
#include <stdlib.h>
#include <string.h>

struct sp_gate *sp_gate_new(int limit, int nslots)
{
    struct sp_gate *g = aligned_alloc(SP_CACHELINE, sizeof(*g));

    if (!g)
        return NULL;
    memset(g, 0, sizeof(*g));
    g->limit = limit;
    g->nslots = nslots;
    return g;
}

int64_t sp_gate_count_mt(const struct sp_gate *g)
{
    int64_t sum = 0;
    int n = g->nslots ? g->nslots : SP_MAX_WORKERS;
    for (int i = 0; i < n; i++)
        sum += ck_pr_load_64((const uint64_t *)&g->slot[i].v);
    return sum;
}

/* admitted connections plus the reservations of accepts in progress: what the limit bounds */
static int64_t total_mt(const struct sp_gate *g)
{
    int64_t sum = 0;
    int n = g->nslots ? g->nslots : SP_MAX_WORKERS;
    for (int i = 0; i < n; i++) {
        /* reservation first, then admitted: sp_gate_commit() stores in the other order, so a
         * commit racing with this read is counted once or twice, never zero times */
        int64_t r = (int64_t)ck_pr_load_64((const uint64_t *)&g->slot[i].resv);
        ck_pr_fence_load();
        sum += r + (int64_t)ck_pr_load_64((const uint64_t *)&g->slot[i].v);
    }
    return sum;
}

bool sp_gate_reserve(struct sp_gate *g, int wid)
{
    int64_t sum;
    if (!sp_gate_reserve_sum(g, wid, &sum))
        return false;
    sp_gate_commit(g, wid);
    return true;
}

bool sp_gate_reserve_sum(struct sp_gate *g, int wid, int64_t *ret_sum)
{
    uint64_t *mine = (uint64_t *)&g->slot[wid].resv;
    uint64_t r = ck_pr_load_64(mine);

    ck_pr_store_64(mine, r + 1);
    *ret_sum = 0;
    if (!g->limit)
        return true;
    /* store-load ordering: our raise must be visible before we read the others, or two
     * workers could each miss the other's raise and both get in */
    ck_pr_fence_memory();
    int64_t sum = total_mt(g);
    if (sum > g->limit) {
        ck_pr_store_64(mine, r);
        return false;
    }
    *ret_sum = sum;
    return true;
}

void sp_gate_commit(struct sp_gate *g, int wid)
{
    /* admitted first, reservation dropped second: the total never dips below the truth, so
     * the limit stays exact while the count readers see moves from resv to v */
    uint64_t *v = (uint64_t *)&g->slot[wid].v, *r = (uint64_t *)&g->slot[wid].resv;
    ck_pr_store_64(v, ck_pr_load_64(v) + 1);
    ck_pr_fence_store();
    ck_pr_store_64(r, ck_pr_load_64(r) - 1);
}

void sp_gate_cancel(struct sp_gate *g, int wid)
{
    uint64_t *r = (uint64_t *)&g->slot[wid].resv;
    ck_pr_store_64(r, ck_pr_load_64(r) - 1);
}

void sp_gate_note_peak(struct sp_gate *g, int wid, int64_t count)
{
    if (count > g->slot[wid].peak)
        ck_pr_store_64((uint64_t *)&g->slot[wid].peak, (uint64_t)count);
}

int64_t sp_gate_peak_mt(const struct sp_gate *g)
{
    int64_t peak = 0;
    for (int i = 0; i < SP_MAX_WORKERS; i++) {
        int64_t p = (int64_t)ck_pr_load_64((const uint64_t *)&g->slot[i].peak);
        if (p > peak)
            peak = p;
    }
    return peak;
}

void sp_gate_release(struct sp_gate *g, int wid)
{
    uint64_t *mine = (uint64_t *)&g->slot[wid].v;
    ck_pr_store_64(mine, ck_pr_load_64(mine) - 1);
}
