/* net/gate.h - the maxconn gate: exact connection limits with per-worker counters.
 *
 * A gate (struct sp_gate) counts connections per worker, one cache line per worker slot, each
 * written only by its worker with ck_pr stores; the count is the sum of ck_pr loads. No atomic
 * read-modify-write on a shared line, and no lock. Reserving is exact with any number of
 * workers: a worker raises its own slot, issues a full fence, then sums; over the limit it
 * lowers its slot and backs off. Two workers racing for the last slot may both back off, never
 * both get in. `fe_conn` is a gate's count (the frontend's).
 *
 * Gates are made by main before the workers start (sp_gate_new) and live as long as the
 * listeners that use them (net/listener.h passes each connection through its bind's, its
 * frontend's and the global gate).
 */
#ifndef SP_NET_GATE_H
#define SP_NET_GATE_H

#include <stdbool.h>
#include <stdint.h>

#include "core/util.h"

/* shared: one writer per slot (the worker of that index), any reader */
struct sp_gate {
    struct {
        int64_t v;    /* connections admitted by this worker and not yet released */
        int64_t resv; /* reservations of accepts in progress (not counted by count_mt) */
        int64_t peak; /* highest count this worker saw when it admitted a connection */
        char _pad[SP_CACHELINE - 3 * sizeof(int64_t)];
    } slot[SP_MAX_WORKERS] __attribute__((aligned(SP_CACHELINE)));
    int limit;  /* 0 = no limit; immutable once workers run */
    int nslots; /* slots in use (the worker count); 0 = all SP_MAX_WORKERS */
};

/* shared: connections admitted, the sum of every worker's slot (ck_pr loads; may be stale by
 * the time it returns). A reservation held while accept() runs is not counted: fe_conn never
 * includes a connection that turns out not to exist (an accept that finds the queue empty). */
int64_t sp_gate_count_mt(const struct sp_gate *g);
/* shared: the highest count of admitted connections (gates with a limit only: the others
 * never sum). Reservations that end in an empty accept are not counted. */
int64_t sp_gate_peak_mt(const struct sp_gate *g);
/* owner: worker `wid`. Records `count` (a sum taken at a successful reservation) as a peak
 * candidate once the connection it admitted really exists. */
void sp_gate_note_peak(struct sp_gate *g, int wid, int64_t count);
/* owner: worker `wid`. Takes one slot and admits at once; false (and nothing taken) when the
 * limit is reached. */
bool sp_gate_reserve(struct sp_gate *g, int wid);
/* owner: worker `wid`. Reserves one slot for an accept in progress, giving the total it saw
 * (0 on a gate without a limit); then either sp_gate_commit() (the connection exists) or
 * sp_gate_cancel() (it did not). The limit bounds admitted and reserved slots together. */
bool sp_gate_reserve_sum(struct sp_gate *g, int wid, int64_t *ret_sum);
void sp_gate_commit(struct sp_gate *g, int wid);
void sp_gate_cancel(struct sp_gate *g, int wid);
/* owner: worker `wid`. Gives back one slot taken by this worker. */
void sp_gate_release(struct sp_gate *g, int wid);

/* owner: main. A gate admitting at most `limit` connections (0: no limit, counting only) summed
 * over `nslots` workers (0: all SP_MAX_WORKERS). NULL when out of memory. Free with free(). */
struct sp_gate *sp_gate_new(int limit, int nslots);

#endif
