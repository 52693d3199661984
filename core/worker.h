/* core/worker.h - a worker: one pinned thread, one edge-triggered epoll loop, one timer wheel.
 *
 * owner: worker. Everything reachable from a struct sp_worker belongs to that worker's thread,
 * except the fields gathered in `mt` (written by main, read by the worker with ck_pr loads)
 * and sp_worker_wake_mt(), which any thread may call.
 *
 * Event sources register a struct sp_ev once for their whole life, edge-triggered, for every
 * event they may ever need (EPOLLIN|EPOLLOUT|EPOLLRDHUP): no epoll_ctl churn in the request
 * path. A handler must therefore consume readiness until EAGAIN, or remember that it stopped
 * early (a full buffer) and resume by itself.
 *
 * The rule for ending a registration (every event source: client and server connections,
 * listeners, checks, anything added later): it ends through sp_worker_close() (closes the
 * descriptor) or sp_worker_del() (the descriptor stays open), never through a bare close().
 * Both drop the events for that sp_ev which the batch being dispatched still holds, so once
 * either returns, no handler is ever called for it again and its object may go back to its
 * free list at once. Without that, an object closed by the handler of an earlier event of the
 * same batch (a pooled server connection found dead by its probe, say) would still receive
 * the later one: after recycling, in whatever the slot had become. Cost: a scan of the rest of
 * the batch (at most SP_WORKER_BATCH pointers) per close; no system call. Free lists poison
 * what they cache (core/poison.h), so a breach of the rule is an ASan report in the tests.
 *
 * A loop turn: wait for events (offline for liburcu QSBR while blocked), run their handlers,
 * run the deferred tasks (sp_task: "flush this socket", "resume this stream"), advance the
 * timer wheel, then report a QSBR quiescent state. Deferred tasks are how a turn makes one
 * write per socket: producers queue a flush instead of writing at once.
 */
#ifndef SP_CORE_WORKER_H
#define SP_CORE_WORKER_H

#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/timer.h"

struct epoll_event;

struct sp_worker;

struct sp_ev;
typedef void (*sp_ev_cb)(struct sp_ev *ev, uint32_t events);

/* owner: worker. One registered file descriptor (-1 once sp_worker_close() closed it). */
struct sp_ev {
    int fd;
    sp_ev_cb cb;
};

/* events taken from the kernel per epoll_wait() */
#define SP_WORKER_BATCH 256

struct sp_task;
typedef void (*sp_task_cb)(struct sp_task *t);

/* owner: worker. Deferred work run later in the same loop turn (or the next one when queued
 * from a task). Queuing an already queued task does nothing. */
struct sp_task {
    struct sp_task *_next, **_pprev; /* _pprev == NULL: not queued */
    sp_task_cb cb;
};

/* owner: main. What the protocol layers plug into a worker; all run on the worker. */
struct sp_worker_hooks {
    int (*start)(struct sp_worker *w);     /* before the first turn; <0 aborts the worker */
    void (*stop)(struct sp_worker *w);     /* graceful stop requested: stop accepting, drain */
    bool (*idle)(struct sp_worker *w);     /* after a stop: true once nothing is in flight */
    void (*finish)(struct sp_worker *w);   /* last call on the thread: free everything */
    void (*wake)(struct sp_worker *w);     /* the wake eventfd fired (after stop handling) */
    void (*turn_end)(struct sp_worker *w); /* end of every loop turn (batched output: logs) */
};

/* owner: worker, except `mt` (written by main) and the wake eventfd (any thread) */
struct sp_worker {
    int id;  /* 0-based */
    int cpu; /* CPU pinned to, -1 when not pinned */
    pthread_t thread;
    int epfd;
    struct sp_ev wake_ev; /* eventfd: main or another worker wants attention */
    struct sp_timer_wheel tw;
    uint64_t now;    /* ms, monotonic, updated once per turn */
    uint64_t now_us; /* the same instant in microseconds */
    struct sp_task *tasks_head, **tasks_tail;
    struct sp_task tasks_mark; /* ends the batch run_tasks() is running */
    /* the batch of events being dispatched: [_batch_next, _batch_n) are still to come */
    struct epoll_event *_batch;
    int _batch_next, _batch_n;
    const struct sp_worker_hooks *hooks;
    void *proto; /* the protocol layers' per-worker state (http/) */
    bool stopping;
    int exit_status;

    /* shared: written by main with ck_pr stores, read by the worker */
    struct {
        int stop_requested; /* graceful stop */
        int exit_now;       /* hard stop */
        int exited;         /* written by the worker as its last act */
    } mt;
};

/* owner: main. Creates the worker's epoll and eventfd; does not start the thread. */
int sp_worker_init(struct sp_worker *w, int id, int cpu, const struct sp_worker_hooks *hooks);
/* owner: main. Starts the thread. */
int sp_worker_start(struct sp_worker *w);
/* owner: main. Joins the thread. */
void sp_worker_join(struct sp_worker *w);
/* owner: main. Closes the worker's epoll and wake descriptors: only once every worker that
 * could wake it has been joined too (a worker ending its connections wakes the others, see
 * sp_listener_release(); a descriptor closed under it could be reused by anything). */
void sp_worker_destroy(struct sp_worker *w);
/* owner: main. Requests a graceful (hard=false) or immediate stop. */
void sp_worker_stop_mt(struct sp_worker *w, bool hard);
/* shared: any thread (a write on the worker's eventfd). Wakes the worker's loop (its wake hook
 * runs). */
void sp_worker_wake_mt(struct sp_worker *w);

/* owner: worker. Registers `ev` edge-triggered for in, out and hang-up events. */
int sp_worker_add(struct sp_worker *w, struct sp_ev *ev);
/* owner: worker, or main in sp_worker_init() before the thread starts (the wake eventfd).
 * Registers `ev` edge-triggered for input only (listening sockets). */
int sp_worker_add_in(struct sp_worker *w, struct sp_ev *ev);
/* owner: worker. Ends the registration of `ev` and closes its descriptor; ev->fd becomes -1.
 * No event for `ev` is delivered after this returns (see the rule above). */
void sp_worker_close(struct sp_worker *w, struct sp_ev *ev);
/* owner: worker. Ends the registration of `ev`; its descriptor stays open (the caller's). No
 * event for `ev` is delivered after this returns. */
void sp_worker_del(struct sp_worker *w, struct sp_ev *ev);

/* The worker running on this thread, NULL on main. */
extern __thread struct sp_worker *sp_this_worker;

/* Debug builds: the calling thread must be worker `w`'s, the only one that may touch what `w`
 * owns. Entry points that take a worker-owned object assert it, so that a cross-thread touch
 * fails a test at once instead of corrupting memory later. Free in release builds. */
#ifndef NDEBUG
#define SP_ASSERT_OWNER(w) assert(sp_this_worker == (w))
#else
#define SP_ASSERT_OWNER(w) ((void)0)
#endif

/* owner: the worker of the object `t` is embedded in (main for the worker's own, in
 * sp_worker_init()). Not queued, running `cb` once queued. */
static inline void sp_task_init(struct sp_task *t, sp_task_cb cb)
{
    t->_next = 0;
    t->_pprev = 0;
    t->cb = cb;
}

/* owner: worker. Queues `t` to run before the loop waits again. */
static inline void sp_task_queue(struct sp_worker *w, struct sp_task *t)
{
    SP_ASSERT_OWNER(w);
    if (t->_pprev)
        return;
    t->_next = 0;
    t->_pprev = w->tasks_tail;
    *w->tasks_tail = t;
    w->tasks_tail = &t->_next;
}

/* owner: worker. Removes `t` from the queue if it is there, including from the batch being
 * run right now (a task may cancel another one of the same batch, e.g. when it frees it). */
void sp_task_cancel(struct sp_worker *w, struct sp_task *t);

#endif
