/* net/listener.h - listening sockets (one SO_REUSEPORT shard per bind per worker), accept in
 * batches, pausing a shard while its maxconn gates are full.
 *
 * Sockets are created and bound on main before any worker starts, so that an address in use
 * is a start-up error; each worker then owns its shards: it alone polls and accepts on them.
 * A unix@ bind cannot be sharded by the kernel: its one socket is polled by every worker
 * (accept races end in EAGAIN for the losers, which costs a wake-up but no error).
 *
 * Each bind passes its connections through up to three maxconn gates (net/gate.h: the bind's,
 * the frontend's, the global one). A worker whose gate is full stops accepting on that shard
 * (the kernel's accept queue holds the next connections, as with HAProxy: they are neither
 * refused nor reset) until a release on any worker wakes it.
 */
#ifndef SP_NET_LISTENER_H
#define SP_NET_LISTENER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/util.h"
#include "core/worker.h"
#include "net/gate.h"

struct sp_listener;
struct sp_tls_ctx;
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
    int fe_idx;                  /* frontend index in the routing snapshot */
    bool h2_only;                /* `proto h2`: connections speak HTTP/2 from the first byte */
    bool v4v6;                   /* IPv6: accept IPv4-mapped connections too (`v4v6`) */
    int ux_mode, ux_uid, ux_gid; /* unix@: the socket file's mode, owner, group; -1 keep */
    struct sp_gate *gates[3];    /* bind, frontend, global; NULL where unlimited */
    int nfds;                    /* shards: one per worker, or 1 for unix@ */
    bool accept_proxy;           /* `accept-proxy`: a PROXY protocol header comes first */
    const char *name;            /* `name`, NULL when unnamed */
    int luid;                    /* HAProxy's listener id: 1, 2... per frontend, per address */
    int li;                      /* option socket-stats: 1 + its counters' index; 0: none */
    char li_name[24];            /* its stats row's name when it has no `name`: "sock-N" */
    int *fds;
    /* `ssl`: the contexts (net/tls.h), NULL for clear bytes */
    const struct sp_tls_ctx *tls;
};

/* owner: worker. A worker's handle on one shard. */
struct sp_listener {
    struct sp_ev ev;
    struct sp_worker *w;
    struct sp_bind *bind;
    sp_accept_cb on_accept;
    struct sp_task retry; /* continue accepting after a batch, or after a wake-up */
    int maxaccept;
    int shard;   /* its socket: bind->fds[shard], this worker's slot of the array alone */
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

/* owner: main, before the workers start (then shared: read-only). The workers to wake when a
 * gate frees up. */
void sp_listener_set_workers(struct sp_worker **ws, int n);
/* shared: any thread, once the workers run. Wakes every worker (its wake hook runs): health
 * checks ending sessions on every worker (on-marked-down shutdown-sessions). */
void sp_listener_wake_workers(void);

#endif
