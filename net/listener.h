/* net/listener.h - listening sockets (one SO_REUSEPORT shard per bind per worker), accept in
 * batches, and the maxconn gate.
 *
 * Sockets are created and bound on main before any worker starts, so that an address in use
 * is a start-up error; each worker then owns its shards: it alone polls and accepts on them.
 * A unix@ bind cannot be sharded by the kernel: its one socket is polled by every worker
 * (accept races end in EAGAIN for the losers, which costs a wake-up but no error).
 *
 * The gate (struct sp_gate) counts connections per worker, one cache line per worker slot,
 * each written only by its worker with ck_pr stores; the count is the sum of ck_pr loads.
 * Reserving is exact with any number of workers: a worker raises its own slot, issues a full
 * fence, then sums; over the limit it lowers its slot and backs off. Two workers racing for the
 * last slot may both back off, never both get in. A worker whose gate is full stops accepting
 * on that shard (the kernel's accept queue holds the next connections, as with HAProxy: they
 * are neither refused nor reset) until a release on any worker wakes it.
 */
#ifndef SP_NET_LISTENER_H
#define SP_NET_LISTENER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/util.h"
#include "core/worker.h"

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

struct sp_listener;
/* owner: worker. Called for every accepted connection (fd non-blocking, gates already taken).
 * The callee owns `fd` and must call sp_listener_release() when the connection ends. */
typedef void (*sp_accept_cb)(struct sp_listener *l, int fd, const struct sockaddr_storage *peer,
                             socklen_t peerlen);

/* shared: immutable once workers run. One per `bind` address. */
struct sp_bind {
    char *text;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int backlog;
    int fe_idx;               /* frontend index in the routing snapshot */
    struct sp_gate *gates[3]; /* bind, frontend, global; NULL where unlimited */
    int nfds;                 /* shards: one per worker, or 1 for unix@ */
    int *fds;
};

/* owner: worker. A worker's handle on one shard. */
struct sp_listener {
    struct sp_ev ev;
    struct sp_worker *w;
    struct sp_bind *bind;
    sp_accept_cb on_accept;
    struct sp_task retry; /* continue accepting after a batch, or after a wake-up */
    int maxaccept;
    bool paused; /* a gate was full: waiting for a release */
    bool closed;
};

/* owner: main. Creates the bind's sockets (nshards SO_REUSEPORT sockets, or one for unix@)
 * and starts listening. Returns 0 or a negative errno; *ret_msg then says what failed. */
int sp_bind_open(struct sp_bind *b, int nshards, const char **ret_msg);
/* owner: main. Closes any socket still open. */
void sp_bind_close(struct sp_bind *b);

/* owner: worker. Starts polling shard `shard` of `b`. */
int sp_listener_start(struct sp_listener *l, struct sp_worker *w, struct sp_bind *b, int shard,
                      int maxaccept, sp_accept_cb cb);
/* owner: worker. Stops accepting and closes this worker's shard (graceful stop). */
void sp_listener_stop(struct sp_listener *l);
/* owner: worker. Retries accepting on a paused listener (after a release anywhere). */
void sp_listener_resume(struct sp_listener *l);
/* owner: worker `wid`. Releases the gates taken for one connection of `b`, and wakes the
 * workers with paused shards. */
void sp_listener_release(struct sp_bind *b, int wid);

/* shared: the workers to wake when a gate frees up; set by main before workers start. */
void sp_listener_set_workers(struct sp_worker **ws, int n);

#endif
