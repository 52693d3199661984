/* net/upstream.h - connections to servers and the per-worker pools that keep them alive.
 *
 * owner: worker. A pool exists per worker and per server; its connections never leave the
 * worker. A connection is CONNECTING or BUSY while a transaction owns it, IDLE while parked
 * in its pool. Idle connections are reused last-in first-out (the most recently used one is
 * the least likely to have been closed by the server); one the server closed, or that sent
 * anything while idle, is closed at once and never handed out. An idle connection is closed
 * after `idle_ms` without use.
 *
 * Connections per pool are capped (`max_conns`: the server's maxconn, or spillway's global
 * default, split across workers), so that thousands of concurrent HTTP/2 streams never turn
 * into thousands of server connections. An owner that finds the pool at its cap waits in the
 * pool's queue (struct sp_upwait, first come first served); whenever a connection is parked or
 * closed, the pool's task hands the freed capacity to the waiters in arrival order.
 *
 * An owner that finds no idle connection does not open one at once: it is deferred to the end
 * of the batch of events it came in (sp_uppool_defer()), so that a response that arrived in
 * the same batch parks its connection first and the request reuses it. Under bursts this is
 * the difference between one new connection per concurrent request and reuse.
 */
#ifndef SP_NET_UPSTREAM_H
#define SP_NET_UPSTREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/pool.h"
#include "core/timer.h"
#include "core/worker.h"
#include "net/buf.h"
#include "net/sock.h"
#include "net/transport.h"

enum sp_upconn_state {
    SP_UP_CONNECTING = 0,
    SP_UP_BUSY,
    SP_UP_IDLE,
};

struct sp_upconn;
struct sp_uppool;

#define SP_UP_OPENS_PER_TURN 16
#define SP_UP_PROBE_AFTER_MS 100

/* owner: worker. A server connection: the transport (descriptor, buffers, readiness, timer;
 * net/transport.h) and its place in the pool. */
struct sp_upconn {
    struct sp_xconn x; /* x.timer: the owner's timeouts while busy; idle purge while idle */
    struct sp_uppool *pool;
    struct sp_upconn *_next, *_prev; /* idle list */
    enum sp_upconn_state state;
    void *owner;
    void (*on_io)(struct sp_upconn *c, uint32_t events); /* owner's handler while busy */
    void (*on_timer)(struct sp_upconn *c);               /* owner's timer while busy */
    unsigned nreq;      /* requests sent on this connection (> 0 after the first: reused) */
    uint64_t parked_ms; /* when it was last parked (worker clock) */
    /* what this connection is private to (malloc, NULL: anyone's): the PROXY protocol header
     * it began with, so that a request from another client never reuses it (HAProxy 2.6
     * hashes the header into the connection's reuse key, src/backend.c connect_server()) */
    char *key;
    uint16_t keylen;
};

/* owner: worker. A place in a pool's queue. */
struct sp_upwait {
    struct sp_upwait *_next, *_prev;
    bool queued;
    bool deferred; /* on the pool's deferred list, not its queue */
    uint64_t gen;  /* the pool's defer_gen when deferred: which run of its task serves it */
    /* capacity is there: the callee now takes an idle connection or opens one */
    void (*ready)(struct sp_upwait *w);
    /* its place in the queue (HAProxy's set-priority-class / set-priority-offset): served by
     * class, lower first, then by `when` (ms: entry time plus offset); equal keys in arrival
     * order. Zero for both: an ordinary waiter. */
    int32_t prio_class;
    int64_t prio_when;
};

/* owner: worker. One per (worker, server). */
struct sp_uppool {
    struct sp_worker *w;
    struct sp_bufpool *bufs;
    struct sp_pool *conns;        /* the worker's free list of struct sp_upconn */
    struct sockaddr_storage addr; /* where new connections go (the pool's own copy) */
    socklen_t addrlen;
    int addr_gen;           /* which address change of the server `addr` is (the caller's count) */
    struct sp_upconn *idle; /* most recently parked first */
    unsigned nidle;
    unsigned nconns;   /* all open connections of this pool */
    unsigned max_idle; /* more idle than this: close instead of parking */
    uint64_t idle_ms;
    unsigned max_conns; /* 0 = no cap */
    unsigned max_queue; /* 0 = no limit */
    struct sp_upwait *wait_head, *wait_tail;
    unsigned nwait;
    struct sp_upwait *defer_head, *defer_tail; /* see sp_uppool_defer() */
    uint64_t defer_gen;                        /* runs of `wake` over the deferred list */
    struct sp_task wake;                       /* dispatches freed capacity to the queue */
    uint64_t opened;             /* connections opened since start (reuse accounting) */
    uint64_t turn_us;            /* the loop turn (its timestamp) of the last opening */
    unsigned turn_opened;        /* connections opened in that turn */
    uint64_t reused;             /* requests that went on an already used connection */
    struct sockaddr_storage src; /* `source`: where connections leave from; srclen 0: any */
    socklen_t srclen;
    struct sp_sock_ka ka; /* `option srvtcpka` and its settings */
};

/* owner: worker `w` (the pool is built on its thread, at its start). */
void sp_uppool_init(struct sp_uppool *p, struct sp_worker *w, struct sp_bufpool *bufs,
                    struct sp_pool *conns, const struct sockaddr_storage *addr, socklen_t len);
/* owner: worker. The server moved: new connections go to `addr`; idle ones (to the old
 * address) are closed; busy ones finish where they are. `gen` is recorded in addr_gen. */
void sp_uppool_set_addr(struct sp_uppool *p, const struct sockaddr_storage *addr, socklen_t len,
                        int gen);
/* owner: worker. Closes every idle connection (busy ones belong to their owners). */
void sp_uppool_drain(struct sp_uppool *p);

/* owner: worker. True when an owner may take an idle connection or open one now (and nobody queued
 * before it). */
bool sp_uppool_has_room(const struct sp_uppool *p);
/* owner: worker. Queues `w` at the tail. -ENOSPC when the queue is full (max_queue). */
int sp_uppool_wait(struct sp_uppool *p, struct sp_upwait *w);
/* owner: worker. Puts `w` aside until the end of the current batch of events (the pool's task),
 * when its ready() is called, whatever the capacity: the callee decides again. For an owner that
 * would open a connection because none is idle: responses that arrived in the same batch may
 * park one first. Not part of the queue (no limit, not counted by nwait). */
void sp_uppool_defer(struct sp_uppool *p, struct sp_upwait *w);
/* owner: worker. Leaves the queue or the deferred list; harmless when on neither. */
void sp_uppool_unwait(struct sp_uppool *p, struct sp_upwait *w);

/* owner: worker. A live idle connection, now BUSY and owned by the caller, or NULL. A connection
 * parked SP_UP_PROBE_AFTER_MS or longer ago, or any when `probe` is set (a request that cannot be
 * retried), is first probed with a non-blocking MSG_PEEK: a close that arrived since the last
 * look at the events is found before the request goes out. One parked more recently is
 * trusted (its events close it as soon as the server does; the race left is covered by the
 * retry of idempotent requests) and costs no system call. */
struct sp_upconn *sp_upconn_take(struct sp_uppool *p, bool probe);
/* owner: worker. As sp_upconn_take(), among the idle connections whose key (sp_upconn_set_key)
 * is key[0..keylen) alone; a key of length 0 matches the connections without one. Idle
 * connections with other keys are left where they are. */
struct sp_upconn *sp_upconn_take_key(struct sp_uppool *p, bool probe, const void *key,
                                     size_t keylen);
/* owner: worker. Makes `c` private to key[0..keylen) (copied; 0 makes it anyone's again).
 * 0 or -ENOMEM (then it has no key). */
int sp_upconn_set_key(struct sp_upconn *c, const void *key, size_t keylen);
/* owner: worker. Closes the idle connection parked longest ago, if any: room for a new one
 * when the idle ones are all private to other keys. */
void sp_uppool_close_oldest(struct sp_uppool *p);
/* owner: worker. Whether a connection may be opened in this loop turn: at most SP_UP_OPENS_PER_TURN
 * per pool, so that a burst of requests that find none idle does not open one connection each while
 * responses to earlier ones are about to free some: the rest are deferred to the next batch
 * (sp_uppool_defer()) and take what was parked by then. */
bool sp_uppool_may_open(struct sp_uppool *p);
/* owner: worker. A new connection, CONNECTING (the owner waits for writability), or NULL with
 * *ret_err. */
struct sp_upconn *sp_upconn_open(struct sp_uppool *p, int *ret_err);
/* owner: worker. As sp_upconn_open(), to `addr` instead of the pool's address (a server
 * whose port is the client's destination port): the caller never parks it. */
struct sp_upconn *sp_upconn_open_to(struct sp_uppool *p, const struct sockaddr_storage *addr,
                                    socklen_t len, int *ret_err);
/* owner: worker. The owner is done with a connection that can carry another request: park it (or
 * close it when the pool has enough idle ones). Buffers must be empty. */
void sp_upconn_park(struct sp_upconn *c);
/* owner: worker. Closes and frees; accepts NULL. */
void sp_upconn_close(struct sp_upconn *c);

#endif
