#include "core/worker.h"

#include <ck_pr.h>
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

#include "core/log.h"
#include "core/util.h"

__thread struct sp_worker *sp_this_worker;

static void wake_cb(struct sp_ev *ev, uint32_t events)
{
    struct sp_worker *w = sp_container_of(ev, struct sp_worker, wake_ev);
    uint64_t v;

    (void)events;
    while (read(ev->fd, &v, sizeof(v)) > 0)
        ;
    if (!w->stopping && ck_pr_load_int(&w->mt.stop_requested)) {
        w->stopping = true;
        if (w->hooks->stop)
            w->hooks->stop(w);
    }
    if (w->hooks->wake)
        w->hooks->wake(w);
}

int sp_worker_init(struct sp_worker *w, int id, int cpu, const struct sp_worker_hooks *hooks)
{
    memset(w, 0, sizeof(*w));
    w->id = id;
    w->cpu = cpu;
    w->hooks = hooks;
    w->tasks_head = NULL;
    w->tasks_tail = &w->tasks_head;
    sp_task_init(&w->tasks_mark, NULL);
    w->epfd = epoll_create1(EPOLL_CLOEXEC);
    if (w->epfd < 0)
        return -errno;
    w->wake_ev.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (w->wake_ev.fd < 0) {
        int err = -errno;
        close(w->epfd);
        return err;
    }
    w->wake_ev.cb = wake_cb;
    w->now_us = sp_now_us();
    w->now = w->now_us / 1000;
    sp_timer_wheel_init(&w->tw, w->now);
    return sp_worker_add_in(w, &w->wake_ev);
}

static int add(struct sp_worker *w, struct sp_ev *ev, uint32_t events)
{
    struct epoll_event e = {.events = events | EPOLLET, .data.ptr = ev};

    if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, ev->fd, &e) < 0)
        return -errno;
    return 0;
}

int sp_worker_add(struct sp_worker *w, struct sp_ev *ev)
{
    SP_ASSERT_OWNER(w);
    return add(w, ev, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
}

int sp_worker_add_in(struct sp_worker *w, struct sp_ev *ev)
{
    return add(w, ev, EPOLLIN);
}

/* Drops the events for `ev` that the batch being dispatched still holds. */
static void forget(struct sp_worker *w, struct sp_ev *ev)
{
    for (int i = w->_batch_next; i < w->_batch_n; i++)
        if (w->_batch[i].data.ptr == ev)
            w->_batch[i].data.ptr = NULL;
}

void sp_worker_del(struct sp_worker *w, struct sp_ev *ev)
{
    SP_ASSERT_OWNER(w);
    epoll_ctl(w->epfd, EPOLL_CTL_DEL, ev->fd, NULL);
    forget(w, ev);
}

void sp_worker_close(struct sp_worker *w, struct sp_ev *ev)
{
    SP_ASSERT_OWNER(w);
    /* the last descriptor of the socket: close() removes it from the epoll set (spillway never
     * duplicates a registered descriptor), so no EPOLL_CTL_DEL system call */
    if (ev->fd >= 0)
        close(ev->fd);
    ev->fd = -1;
    forget(w, ev);
}

void sp_task_cancel(struct sp_worker *w, struct sp_task *t)
{
    SP_ASSERT_OWNER(w);
    if (!t->_pprev)
        return;
    *t->_pprev = t->_next;
    if (t->_next)
        t->_next->_pprev = t->_pprev;
    else
        w->tasks_tail = t->_pprev;
    t->_next = NULL;
    t->_pprev = NULL;
}

/* Runs the tasks queued before this call, in order; tasks they queue run on the next pass, so
 * that a task re-queuing itself cannot starve I/O. The batch stays on the live queue, ended by
 * a marker, so that a task may cancel (and free) another one that has not run yet. */
static void run_tasks(struct sp_worker *w)
{
    if (!w->tasks_head)
        return;
    sp_task_queue(w, &w->tasks_mark);
    for (;;) {
        struct sp_task *t = w->tasks_head;
        sp_task_cancel(w, t);
        if (t == &w->tasks_mark)
            break;
        t->cb(t);
    }
}

static void *worker_main(void *arg)
{
    struct sp_worker *w = arg;
    struct epoll_event evs[SP_WORKER_BATCH];
    bool busy = false;

    sp_this_worker = w;
    if (w->cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(w->cpu, &set);
        int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
        if (err)
            sp_log(SP_LOG_WARNING, "worker %d: cannot pin to CPU %d (%s), running unpinned", w->id,
                   w->cpu, strerror(err));
    }
    urcu_qsbr_register_thread();
    if (w->hooks->start && w->hooks->start(w) < 0) {
        w->exit_status = 1;
        goto out;
    }

    for (;;) {
        if (ck_pr_load_int(&w->mt.exit_now))
            break;
        if (w->stopping && w->hooks->idle && w->hooks->idle(w))
            break;

        /* under load the last wait returned events: wait at most one tick instead of
         * scanning the wheel for the next expiry (timers are advanced every turn anyway, so
         * none fires more than a tick late) */
        int timeout = w->tasks_head ? 0 : busy ? SP_TIMER_TICK_MS : sp_timer_wheel_next_ms(&w->tw);
        int n;
        if (timeout != 0) {
            /* blocked in the kernel: not a reader, so grace periods need not wait for us */
            urcu_qsbr_thread_offline();
            n = epoll_wait(w->epfd, evs, SP_WORKER_BATCH, timeout);
            urcu_qsbr_thread_online();
        } else {
            n = epoll_wait(w->epfd, evs, SP_WORKER_BATCH, 0);
        }
        if (n < 0 && errno != EINTR) {
            sp_log(SP_LOG_ALERT, "worker %d: epoll_wait: %s", w->id, strerror(errno));
            w->exit_status = 1;
            break;
        }
        busy = n > 0;
        w->now_us = sp_now_us();
        w->now = w->now_us / 1000;
        /* a handler may end other registrations of this batch: their events are dropped
         * (NULL) by forget() before they come up */
        w->_batch = evs;
        w->_batch_n = n > 0 ? n : 0;
        for (int i = 0; i < w->_batch_n; i++) {
            struct sp_ev *ev = evs[i].data.ptr;
            w->_batch_next = i + 1;
            if (ev)
                ev->cb(ev, evs[i].events);
        }
        w->_batch_n = w->_batch_next = 0;
        run_tasks(w);
        sp_timer_wheel_advance(&w->tw, w->now);
        run_tasks(w);
        if (w->hooks->turn_end)
            w->hooks->turn_end(w);
        urcu_qsbr_quiescent_state();
    }
out:
    if (w->hooks->finish)
        w->hooks->finish(w);
    urcu_qsbr_unregister_thread();
    ck_pr_store_int(&w->mt.exited, 1);
    return NULL;
}

int sp_worker_start(struct sp_worker *w)
{
    int err = pthread_create(&w->thread, NULL, worker_main, w);
    if (err)
        return -err;
    char name[16];
    snprintf(name, sizeof(name), "spillway/%d", w->id);
    pthread_setname_np(w->thread, name);
    return 0;
}

void sp_worker_join(struct sp_worker *w)
{
    pthread_join(w->thread, NULL);
}

void sp_worker_destroy(struct sp_worker *w)
{
    close(w->wake_ev.fd);
    close(w->epfd);
    w->wake_ev.fd = w->epfd = -1;
}

void sp_worker_wake_mt(struct sp_worker *w)
{
    uint64_t one = 1;
    ssize_t r = write(w->wake_ev.fd, &one, sizeof(one));
    (void)r; /* EAGAIN: the counter is saturated, the worker is awake anyway */
}

void sp_worker_stop_mt(struct sp_worker *w, bool hard)
{
    if (hard)
        ck_pr_store_int(&w->mt.exit_now, 1);
    ck_pr_store_int(&w->mt.stop_requested, 1);
    sp_worker_wake_mt(w);
}
