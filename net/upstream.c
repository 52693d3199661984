#include "net/upstream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/util.h"
#include "net/sock.h"

static void wake_waiters(struct sp_task *t);

void sp_uppool_init(struct sp_uppool *p, struct sp_worker *w, struct sp_bufpool *bufs,
                    struct sp_pool *conns, const struct sockaddr_storage *addr, socklen_t len)
{
    *p = (struct sp_uppool){0};
    sp_task_init(&p->wake, wake_waiters);
    p->w = w;
    p->bufs = bufs;
    p->conns = conns;
    p->addr = *addr;
    p->addrlen = len;
    p->max_idle = 1024;
    p->idle_ms = 5000;
}

bool sp_uppool_has_room(const struct sp_uppool *p)
{
    if (p->nwait)
        return false;
    return p->nidle || !p->max_conns || p->nconns < p->max_conns;
}

/* The queue and the deferred list are the same kind of list: append, unlink. */
static void list_append(struct sp_upwait **head, struct sp_upwait **tail, struct sp_upwait *w)
{
    w->_next = NULL;
    w->_prev = *tail;
    if (*tail)
        (*tail)->_next = w;
    else
        *head = w;
    *tail = w;
    w->queued = true;
}

static void list_unlink(struct sp_upwait **head, struct sp_upwait **tail, struct sp_upwait *w)
{
    if (w->_prev)
        w->_prev->_next = w->_next;
    else
        *head = w->_next;
    if (w->_next)
        w->_next->_prev = w->_prev;
    else
        *tail = w->_prev;
    w->_next = w->_prev = NULL;
    w->queued = false;
}

int sp_uppool_wait(struct sp_uppool *p, struct sp_upwait *w)
{
    SP_ASSERT_OWNER(p->w);
    if (p->max_queue && p->nwait >= p->max_queue)
        return -ENOSPC;
    /* by priority, from the tail: an ordinary waiter goes there after one comparison */
    struct sp_upwait *at = p->wait_tail;
    while (at && (w->prio_class < at->prio_class ||
                  (w->prio_class == at->prio_class && w->prio_when < at->prio_when)))
        at = at->_prev;
    if (at == p->wait_tail) {
        list_append(&p->wait_head, &p->wait_tail, w);
    } else { /* after `at`, or first */
        struct sp_upwait *next = at ? at->_next : p->wait_head;
        w->_prev = at;
        w->_next = next;
        next->_prev = w;
        if (at)
            at->_next = w;
        else
            p->wait_head = w;
        w->queued = true;
    }
    p->nwait++;
    return 0;
}

void sp_uppool_defer(struct sp_uppool *p, struct sp_upwait *w)
{
    SP_ASSERT_OWNER(p->w);
    w->gen = p->defer_gen;
    list_append(&p->defer_head, &p->defer_tail, w);
    w->deferred = true;
    sp_task_queue(p->w, &p->wake);
}

void sp_uppool_unwait(struct sp_uppool *p, struct sp_upwait *w)
{
    if (!w->queued)
        return;
    if (w->deferred) {
        list_unlink(&p->defer_head, &p->defer_tail, w);
        w->deferred = false;
        return;
    }
    list_unlink(&p->wait_head, &p->wait_tail, w);
    p->nwait--;
}

/* Capacity freed: hand it out in arrival order, as long as it lasts (and as far as the
 * openings of this turn allow); then the owners deferred in this batch decide again (they may
 * queue: they come after the queue). */
static void wake_waiters(struct sp_task *t)
{
    struct sp_uppool *p = sp_container_of(t, struct sp_uppool, wake);

    while (p->wait_head &&
           (p->nidle || ((!p->max_conns || p->nconns < p->max_conns) && sp_uppool_may_open(p)))) {
        struct sp_upwait *w = p->wait_head;
        sp_uppool_unwait(p, w);
        w->ready(w);
    }
    /* only those deferred before this run: one deferred again (or deferred by a ready()
     * here) carries the new generation and waits for the next batch, whatever the callees
     * remove from the list meanwhile */
    uint64_t run = ++p->defer_gen;
    while (p->defer_head && p->defer_head->gen < run) {
        struct sp_upwait *w = p->defer_head;
        sp_uppool_unwait(p, w);
        w->ready(w);
    }
    /* still waiters with none idle and room below the cap: openings were paced, go on in
     * the next turn */
    if (p->wait_head && !p->nidle && (!p->max_conns || p->nconns < p->max_conns))
        sp_task_queue(p->w, &p->wake);
}

static void capacity_freed(struct sp_uppool *p)
{
    if (p->nwait)
        sp_task_queue(p->w, &p->wake);
}

static void idle_unlink(struct sp_upconn *c)
{
    struct sp_uppool *p = c->pool;

    if (c->_prev)
        c->_prev->_next = c->_next;
    else
        p->idle = c->_next;
    if (c->_next)
        c->_next->_prev = c->_prev;
    c->_next = c->_prev = NULL;
    p->nidle--;
}

void sp_upconn_close(struct sp_upconn *c)
{
    if (!c)
        return;
    struct sp_uppool *p = c->pool;
    if (c->state == SP_UP_IDLE)
        idle_unlink(c);
    /* drops the events of this batch still to come for it: the slot may be reused at once */
    sp_xconn_close(&c->x, p->w, p->bufs);
    free(c->key);
    c->key = NULL;
    p->nconns--;
    sp_pool_put(p->conns, c);
    capacity_freed(p);
}

static void conn_io(struct sp_xconn *x, uint32_t events)
{
    struct sp_upconn *c = sp_container_of(x, struct sp_upconn, x);

    if (c->state == SP_UP_IDLE) {
        /* a parked connection has nothing to say: data or a close both end it */
        if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
            sp_upconn_close(c);
        return;
    }
    c->on_io(c, events);
}

static void conn_timer(struct sp_xconn *x)
{
    struct sp_upconn *c = sp_container_of(x, struct sp_upconn, x);

    if (c->state == SP_UP_IDLE)
        sp_upconn_close(c);
    else if (c->on_timer)
        c->on_timer(c);
}

static const struct sp_xconn_hooks conn_hooks = {.io = conn_io, .timer = conn_timer};

bool sp_uppool_may_open(struct sp_uppool *p)
{
    return p->turn_us != p->w->now_us || p->turn_opened < SP_UP_OPENS_PER_TURN;
}

struct sp_upconn *sp_upconn_open(struct sp_uppool *p, int *ret_err)
{
    return sp_upconn_open_to(p, &p->addr, p->addrlen, ret_err);
}

struct sp_upconn *sp_upconn_open_to(struct sp_uppool *p, const struct sockaddr_storage *addr,
                                    socklen_t len, int *ret_err)
{
    SP_ASSERT_OWNER(p->w);
    struct sp_upconn *c = sp_pool_get(p->conns);
    if (!c) {
        *ret_err = -ENOMEM;
        return NULL;
    }
    int fd = sp_sock_connect_from(addr, len, &p->src, p->srclen);
    if (fd >= 0 && addr->ss_family != AF_UNIX)
        sp_sock_keepalive(fd, &p->ka);
    if (fd < 0) {
        sp_pool_put(p->conns, c);
        *ret_err = fd;
        return NULL;
    }
    c->pool = p;
    c->state = SP_UP_CONNECTING;
    int err = sp_xconn_open(&c->x, p->w, fd, &sp_xprt_raw, &conn_hooks);
    if (err) {
        close(fd);
        sp_pool_put(p->conns, c);
        *ret_err = err;
        return NULL;
    }
    p->nconns++;
    p->opened++;
    if (p->turn_us != p->w->now_us) {
        p->turn_us = p->w->now_us;
        p->turn_opened = 0;
    }
    p->turn_opened++;
    return c;
}

struct sp_upconn *sp_upconn_take(struct sp_uppool *p, bool probe)
{
    return sp_upconn_take_key(p, probe, NULL, 0);
}

static bool key_is(const struct sp_upconn *c, const void *key, size_t keylen)
{
    return c->keylen == keylen && (!keylen || !memcmp(c->key, key, keylen));
}

int sp_upconn_set_key(struct sp_upconn *c, const void *key, size_t keylen)
{
    free(c->key);
    c->key = NULL;
    c->keylen = 0;
    if (!keylen)
        return 0;
    if (keylen > UINT16_MAX || !(c->key = malloc(keylen)))
        return -ENOMEM;
    memcpy(c->key, key, keylen);
    c->keylen = (uint16_t)keylen;
    return 0;
}

void sp_uppool_close_oldest(struct sp_uppool *p)
{
    struct sp_upconn *c = p->idle;

    SP_ASSERT_OWNER(p->w);
    while (c && c->_next) /* at most max_idle steps */
        c = c->_next;
    sp_upconn_close(c);
}

struct sp_upconn *sp_upconn_take_key(struct sp_uppool *p, bool probe, const void *key,
                                     size_t keylen)
{
    SP_ASSERT_OWNER(p->w);
    struct sp_upconn *next = p->idle;
    while (next) {
        struct sp_upconn *c = next;
        char peek;

        next = c->_next;
        if (!key_is(c, key, keylen))
            continue;
        idle_unlink(c);
        sp_timer_disarm(&p->w->tw, &c->x.timer);
        c->state = SP_UP_BUSY;
        /* the close may have arrived after our last look: check before trusting it */
        if (probe || p->w->now - c->parked_ms >= SP_UP_PROBE_AFTER_MS) {
            ssize_t n = recv(c->x.ev.fd, &peek, 1, MSG_PEEK | MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) || n > 0) {
                sp_upconn_close(c);
                continue;
            }
        }
        c->x.can_read = false;
        p->reused++;
        return c;
    }
    return NULL;
}

void sp_upconn_park(struct sp_upconn *c)
{
    SP_ASSERT_OWNER(c->pool->w);
    struct sp_uppool *p = c->pool;

    /* a connection whose end was signalled while it was busy gets no later event: never
     * parked, or a take() could hand it out */
    if (p->nidle >= p->max_idle || c->x.rdhup || c->x.rd_eof || sp_buf_len(&c->x.rbuf) ||
        sp_buf_len(&c->x.wbuf)) {
        sp_upconn_close(c);
        return;
    }
    sp_buf_release(&c->x.rbuf, p->bufs, 0);
    sp_buf_release(&c->x.wbuf, p->bufs, 0);
    c->owner = NULL;
    c->on_io = NULL;
    c->on_timer = NULL;
    c->state = SP_UP_IDLE;
    c->_prev = NULL;
    c->_next = p->idle;
    if (p->idle)
        p->idle->_prev = c;
    p->idle = c;
    p->nidle++;
    c->parked_ms = p->w->now;
    sp_timer_arm(&p->w->tw, &c->x.timer, p->w->now + p->idle_ms);
    capacity_freed(p);
}

void sp_uppool_set_addr(struct sp_uppool *p, const struct sockaddr_storage *addr, socklen_t len,
                        int gen)
{
    SP_ASSERT_OWNER(p->w);
    p->addr = *addr;
    p->addrlen = len;
    p->addr_gen = gen;
    sp_uppool_drain(p);
}

void sp_uppool_drain(struct sp_uppool *p)
{
    while (p->idle)
        sp_upconn_close(p->idle);
    sp_task_cancel(p->w, &p->wake);
}
