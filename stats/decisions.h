/* stats/decisions.h - the decision log: each worker's ring of its last routing decisions.
 *
 * shared: one writer per ring (its worker), any reader. An entry is written under a sequence
 * number (odd while being written, even when complete, as a seqlock): a reader copies the
 * entry and keeps it only if the number was even and unchanged around the copy, so it never
 * shows a torn entry and never makes the worker wait.
 */
#ifndef SP_STATS_DECISIONS_H
#define SP_STATS_DECISIONS_H

#include <stdint.h>

#define SP_DECISION_TARGET 64

/* shared: one writer, any reader (through sp_decisions_read) */
struct sp_decision {
    uint64_t seq;              /* seqlock word */
    uint64_t wall_us;          /* wall clock when the request was routed */
    int64_t fe_conn;           /* fe_conn of the frontend at that moment */
    int32_t fe, rule, be, srv; /* indexes; rule -1 = default_backend; be/srv -1 = none */
    int32_t worker;
    int32_t proto;                   /* 11, 10 or 20 */
    char target[SP_DECISION_TARGET]; /* "METHOD /path" (truncated) */
};

/* owner: main. Rings of `n` entries for `nworkers` workers; n == 0 disables the log. */
int sp_decisions_init(int nworkers, int n);
void sp_decisions_free(void);
/* shared: whether the log is on (n > 0). */
int sp_decisions_size(void);

/* owner: worker `wid`. Records one decision (no-op when the log is off). */
void sp_decision_add(int wid, const struct sp_decision *d);

/* shared: copies every complete entry of every ring into `out` (at most `max`), sorted by
 * time, oldest first. Returns the count. */
int sp_decisions_read(struct sp_decision *out, int max);

#endif
