#include "net/listener.h"

#include <ck_pr.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/log.h"

/* shared: set by main before the workers start, read-only afterwards */
static struct sp_worker **workers;
static int nworkers;
/* shared: how many listeners are paused on a full gate, all workers together (atomic) */
static int paused_count;
/* shared: the rate limit of the accept failures that pause a listener (out of descriptors or
 * memory): every worker hits it at once when the process runs out, once per released
 * connection */
static struct sp_log_rl rl_accept = SP_LOG_RL_INIT;

void sp_listener_set_workers(struct sp_worker **ws, int n)
{
    workers = ws;
    nworkers = n;
}

void sp_listener_wake_workers(void)
{
    for (int i = 0; i < nworkers; i++)
        sp_worker_wake_mt(workers[i]);
}

static int open_one(struct sp_bind *b, bool reuseport, const char **ret_msg)
{
    int fd = socket(b->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int one = 1;

    if (fd < 0) {
        *ret_msg = "cannot create socket";
        return -errno;
    }
    if (b->addr.ss_family != AF_UNIX) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
            int err = -errno;
            *ret_msg = "cannot set SO_REUSEPORT";
            close(fd);
            return err;
        }
        if (b->addr.ss_family == AF_INET6) {
            int v6only = !b->v4v6;
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only));
        }
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    } else if (((struct sockaddr_un *)&b->addr)->sun_path[0]) {
        /* a stale socket file from an earlier run is replaced, as HAProxy does (an abns@
         * socket has no file) */
        unlink(((struct sockaddr_un *)&b->addr)->sun_path);
    }
    if (bind(fd, (struct sockaddr *)&b->addr, b->addrlen) < 0) {
        int err = -errno;
        *ret_msg = err == -EADDRINUSE ? "address already in use" : "cannot bind socket";
        close(fd);
        return err;
    }
    if (b->addr.ss_family == AF_UNIX && ((struct sockaddr_un *)&b->addr)->sun_path[0]) {
        /* `mode`, `user`, `group` (or unix-bind's): the socket file's permissions (an abns@
         * socket has none: HAProxy ignores them there too) */
        const char *path = ((struct sockaddr_un *)&b->addr)->sun_path;
        if ((b->ux_uid >= 0 || b->ux_gid >= 0) &&
            chown(path, (uid_t)b->ux_uid, (gid_t)b->ux_gid) < 0) {
            int err = -errno;
            *ret_msg = "cannot change the unix socket's owner or group";
            close(fd);
            return err;
        }
        if (b->ux_mode >= 0 && chmod(path, (mode_t)b->ux_mode) < 0) {
            int err = -errno;
            *ret_msg = "cannot change the unix socket's mode";
            close(fd);
            return err;
        }
    }
    return fd;
}

int sp_bind_open(struct sp_bind *b, int nshards, const char **ret_msg)
{
    int err;

    if (b->addr.ss_family == AF_UNIX)
        nshards = 1;
    b->fds = calloc(nshards, sizeof(int));
    if (!b->fds) {
        *ret_msg = "out of memory";
        return -ENOMEM;
    }
    if (b->addr.ss_family != AF_UNIX) {
        /* SO_REUSEPORT would let us share the port silently with another process of this
         * user: probe without it first so that a port in use is an error, as it should be */
        int probe = open_one(b, false, ret_msg);
        if (probe < 0)
            return probe;
        close(probe);
    }
    for (int i = 0; i < nshards; i++) {
        int fd = open_one(b, b->addr.ss_family != AF_UNIX, ret_msg);
        if (fd < 0) {
            err = fd;
            goto fail;
        }
        b->fds[b->nfds++] = fd;
        if (listen(fd, b->backlog) < 0) {
            err = -errno;
            *ret_msg = "cannot listen";
            goto fail;
        }
    }
    return 0;
fail:
    sp_bind_close(b);
    return err;
}

void sp_bind_close(struct sp_bind *b)
{
    for (int i = 0; i < b->nfds; i++)
        if (b->fds[i] >= 0)
            close(b->fds[i]);
    free(b->fds);
    b->fds = NULL;
    b->nfds = 0;
}

static void wake_paused(void);

static bool take_gates(struct sp_bind *b, int wid, int64_t sums[3])
{
    for (int i = 0; i < 3; i++) {
        if (b->gates[i] && !sp_gate_reserve_sum(b->gates[i], wid, &sums[i])) {
            while (i-- > 0)
                if (b->gates[i])
                    sp_gate_cancel(b->gates[i], wid);
            return false;
        }
    }
    return true;
}

static void cancel_gates(struct sp_bind *b, int wid)
{
    for (int i = 0; i < 3; i++)
        if (b->gates[i])
            sp_gate_cancel(b->gates[i], wid);
}

static void drop_gates(struct sp_bind *b, int wid)
{
    for (int i = 0; i < 3; i++)
        if (b->gates[i])
            sp_gate_release(b->gates[i], wid);
}

static bool gates_have_room(const struct sp_bind *b)
{
    for (int i = 0; i < 3; i++)
        if (b->gates[i] && b->gates[i]->limit &&
            sp_gate_count_mt(b->gates[i]) >= b->gates[i]->limit)
            return false;
    return true;
}

static void pause_listener(struct sp_listener *l)
{
    if (!l->paused) {
        l->paused = true;
        ck_pr_inc_int(&paused_count);
    }
}

static void unpause_listener(struct sp_listener *l)
{
    if (l->paused) {
        l->paused = false;
        ck_pr_dec_int(&paused_count);
    }
}

static void do_accept(struct sp_listener *l)
{
    int n;

    if (l->closed)
        return;
    for (n = 0; n < l->maxaccept; n++) {
        struct sockaddr_storage peer;
        socklen_t len = sizeof(peer);

        int64_t sums[3];
        if (!take_gates(l->bind, l->w->id, sums)) {
            /* Pause first (a locked increment: a full fence), then look again. A release
             * stores its slot, fences, then reads paused_count: either it sees us paused
             * and wakes us, or we see its slot freed here. And when two workers raced for
             * the last slot and both backed off, the room is still there: retry next turn
             * rather than wait for a release that may never come. */
            pause_listener(l);
            if (gates_have_room(l->bind)) {
                unpause_listener(l);
                sp_task_queue(l->w, &l->retry);
            }
            return;
        }
        int fd = accept4(l->ev.fd, (struct sockaddr *)&peer, &len, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;
            /* our reservation goes, and a worker that backed off because of it (we raced for
             * the last slot, and our queue turned out empty) must hear of it */
            cancel_gates(l->bind, l->w->id);
            wake_paused();
            if (err == EAGAIN || err == EINTR)
                return;
            if (err == EMFILE || err == ENFILE || err == ENOBUFS || err == ENOMEM) {
                /* out of descriptors: the connection stays in the kernel queue; try again
                 * when something closes (as for a full gate) */
                sp_log_rl_mt(&rl_accept, SP_LOG_WARNING,
                             "worker %d: accept on %s: %s, pausing the listener until a "
                             "connection closes",
                             l->w->id, l->bind->text, strerror(err));
                pause_listener(l);
                return;
            }
            /* ECONNABORTED and friends: that connection is gone, keep going */
            continue;
        }
        for (int i = 0; i < 3; i++) {
            if (l->bind->gates[i]) {
                sp_gate_commit(l->bind->gates[i], l->w->id);
                sp_gate_note_peak(l->bind->gates[i], l->w->id, sums[i]);
            }
        }
        if (peer.ss_family != AF_UNIX) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        }
        l->on_accept(l, fd, &peer, len);
    }
    /* batch exhausted with the queue maybe not empty: edge-triggered, so come back by
     * ourselves after the other events of this turn */
    sp_task_queue(l->w, &l->retry);
}

static void listener_ev(struct sp_ev *ev, uint32_t events)
{
    struct sp_listener *l = sp_container_of(ev, struct sp_listener, ev);
    (void)events;
    if (!l->paused)
        do_accept(l);
}

static void listener_retry(struct sp_task *t)
{
    struct sp_listener *l = sp_container_of(t, struct sp_listener, retry);
    if (!l->paused)
        do_accept(l);
}

int sp_listener_start(struct sp_listener *l, struct sp_worker *w, struct sp_bind *b, int shard,
                      int maxaccept, sp_accept_cb cb)
{
    memset(l, 0, sizeof(*l));
    l->w = w;
    l->bind = b;
    l->on_accept = cb;
    l->maxaccept = maxaccept > 0 ? maxaccept : 1;
    l->shard = shard < b->nfds ? shard : 0;
    l->ev.fd = b->fds[l->shard];
    l->ev.cb = listener_ev;
    sp_task_init(&l->retry, listener_retry);
    int err = sp_worker_add_in(w, &l->ev);
    if (err)
        return err;
    /* connections may have queued before we registered: edge-triggered would not tell us */
    sp_task_queue(w, &l->retry);
    return 0;
}

void sp_listener_stop(struct sp_listener *l)
{
    if (l->closed)
        return;
    unpause_listener(l);
    l->closed = true;
    sp_task_cancel(l->w, &l->retry);
    sp_worker_del(l->w, &l->ev);
    /* a shard's socket is this worker's alone: closing it here stops the kernel from
     * queueing more connections on it (a unix@ socket is shared and closed by main) */
    if (l->bind->addr.ss_family != AF_UNIX) {
        /* only its own slot of the array: the other workers stop theirs at the same time */
        if (l->bind->fds[l->shard] == l->ev.fd)
            l->bind->fds[l->shard] = -1;
        close(l->ev.fd);
    }
}

void sp_listener_resume(struct sp_listener *l)
{
    if (l->closed || !l->paused)
        return;
    unpause_listener(l);
    sp_task_queue(l->w, &l->retry);
}

void sp_listener_release(struct sp_bind *b, int wid)
{
    drop_gates(b, wid);
    wake_paused();
}

static void wake_paused(void)
{
    /* store-load: our freed slot must be visible before we look for paused listeners (see
     * do_accept) */
    ck_pr_fence_memory();
    if (ck_pr_load_int(&paused_count) > 0) {
        for (int i = 0; i < nworkers; i++)
            sp_worker_wake_mt(workers[i]);
    }
}
