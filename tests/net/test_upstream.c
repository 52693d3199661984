/* tests/net/test_upstream.c - the upstream pool's state machine (net/upstream.h): park, LIFO
 * reuse, the probe, the cap and its queue, maxqueue, the deferred list, the idle purge, the
 * pacing of openings, and a parked connection closed by its own event.
 *
 * Everything runs on a real worker (core/worker.h) against real loopback TCP sockets: the
 * test owns a listening socket on 127.0.0.1:0, the pool connects to it, and the test accepts
 * the server ends, so that closes and bytes from "the server" arrive as real epoll events.
 *
 * A pool belongs to its worker, so each test is a list of steps run on the worker thread,
 * one per loop turn, from the worker's turn_end hook (after the turn's events, tasks and
 * timers): a step returns true when done, false to be called again next turn (waiting for
 * something), and a step that waits more than STEP_TIMEOUT_MS fails the test. A tick timer
 * keeps the loop turning every few milliseconds when no event comes. The main thread only
 * starts and joins the worker (CUnit is not thread-safe; the join orders the two). */
#include "net/upstream.h"

#include "tests/unit.h"

#include <arpa/inet.h>
#include <ck_pr.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAXC            48   /* connections one test may hold at once */
#define MAXW            24   /* waiters */
#define STEP_TIMEOUT_MS 5000 /* generous: TSan and ASan builds run slowly */

/* The test as the owner of a connection (what a transaction is in the daemon). */
struct own {
    struct sp_upconn *c; /* held by the test; NULL once parked or closed */
    uint16_t port;       /* the client side's local port: identifies the connection */
    int fd;              /* the client side's descriptor (valid until the pool closes it) */
    int peer;            /* the server's end (accepted), -1 until then */
    unsigned nio;        /* owner's on_io calls while held */
    uint32_t events;     /* their union */
    unsigned ntimer;     /* owner's on_timer calls while held */
    bool park_on_input;  /* on input: drain it and park (a response that completes) */
    unsigned park_seq;   /* E.seq when it parked itself */
};

enum wmode {
    W_RECORD,    /* ready() only records */
    W_TAKE_OPEN, /* ready() takes an idle connection, or opens one */
    W_REDEFER,   /* ready() records and defers itself again (`redefers` times) */
};

struct waiter {
    struct sp_upwait w;
    int id;
    enum wmode mode;
    unsigned nready;
    unsigned seq;      /* E.seq of the last ready() */
    unsigned turn;     /* E.turn of the last ready() */
    uint64_t now_us;   /* worker clock of the last ready() */
    int got;           /* own index of the connection it took or opened, -1 none */
    bool opened;       /* it had to open one */
    bool over_cap;     /* nconns > max_conns seen in ready() */
    unsigned redefers; /* W_REDEFER: how many times ready() defers again */
    int unwait_id;     /* W_REDEFER: first ready() unwaits this waiter (-1: none) */
};

struct step {
    const char *name;
    bool (*fn)(void);
};

static struct env {
    struct sp_worker w;
    struct sp_bufpool bufs;
    struct sp_pool conns;
    struct sp_uppool pool;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int lfd;
    struct sp_timer tick;
    /* the steps */
    const struct step *steps;
    unsigned nsteps, cur;
    uint64_t t0; /* worker ms when the current step began */
    unsigned turn;
    bool abort;
    const char *timed_out;
    /* what the test owns */
    struct own own[MAXC];
    int nown;
    int stray[MAXC]; /* accepted server ends no connection of ours claims */
    int nstray;
    struct waiter wt[MAXW];
    int order[4 * MAXW]; /* waiter ids in the order of their ready() calls */
    int norder;
    unsigned seq;          /* orders what happened: parks, ready() calls, deferrals */
    struct sp_task marker; /* queued by a W_REDEFER ready(): marks the end of a task run */
    unsigned marker_seq;
    /* a client-side event source (the deferred-list test) */
    struct sp_ev client;
    int client_peer;
    bool client_added;
    unsigned client_seq; /* E.seq when its handler deferred */
    unsigned client_turn;
    bool client_took_directly;
    /* scratch for the steps */
    uint64_t mark, mark2;
    uint64_t closed_at[2];
} E;

/* Fails the current check; stops the test (the steps after it would use what is missing). */
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        bool ok_ = (cond);                                                                         \
        CU_assertImplementation(ok_, __LINE__, #cond, __FILE__, "", CU_FALSE);                     \
        if (!ok_) {                                                                                \
            E.abort = true;                                                                        \
            return true;                                                                           \
        }                                                                                          \
    } while (0)

/* ---- sockets ----------------------------------------------------------------------------- */

/* The one place that knows where a server connection keeps its descriptor. */
static int up_fd(const struct sp_upconn *c)
{
    return c->x.ev.fd;
}

static uint16_t local_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    if (getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        return 0;
    return ntohs(a.sin_port);
}

static uint16_t remote_port(int fd)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    if (getpeername(fd, (struct sockaddr *)&a, &len) < 0)
        return 0;
    return ntohs(a.sin_port);
}

static int listen_loopback(struct sockaddr_storage *ss, socklen_t *len)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 256) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        close(fd);
        return -1;
    }
    memset(ss, 0, sizeof(*ss));
    memcpy(ss, &a, sizeof(a));
    *len = sizeof(a);
    return fd;
}

/* Index of the connection the test knows by this client-side port, or -1. */
static int own_by_port(uint16_t port)
{
    for (int i = 0; i < E.nown; i++)
        if (port && E.own[i].port == port)
            return i;
    return -1;
}

static int own_of(const struct sp_upconn *c)
{
    return c ? own_by_port(local_port(up_fd(c))) : -1;
}

/* Accepts whatever the listening socket holds and pairs each server end with its client. */
static void accept_pending(void)
{
    for (;;) {
        int fd = accept4(E.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int i = own_by_port(remote_port(fd));
        if (i >= 0 && E.own[i].peer < 0)
            E.own[i].peer = fd;
        else if (E.nstray < MAXC)
            E.stray[E.nstray++] = fd;
        else
            close(fd);
    }
}

/* Waits (blocking the worker, briefly) until `fd` reports one of `events`. */
static bool wait_fd(int fd, short events)
{
    struct pollfd p = {.fd = fd, .events = events};
    return poll(&p, 1, 2000) == 1 && (p.revents & (events | POLLHUP | POLLERR));
}

/* The server closes its end of connection `i` (held or parked, still open on our side);
 * returns once the FIN is in the client's socket (whether the worker's epoll reported it yet
 * depends on the turn: a step that goes on at once acts before the worker looks). */
static bool server_close(int i)
{
    close(E.own[i].peer);
    E.own[i].peer = -1;
    return wait_fd(E.own[i].fd, POLLRDHUP);
}

/* The server sends one byte on connection `i`; returns once it is in the client's socket. */
static bool server_send(int i)
{
    if (write(E.own[i].peer, "x", 1) != 1)
        return false;
    return wait_fd(E.own[i].fd, POLLIN);
}

/* The server's end of connection `i` sees it closed: end of stream, or a reset (a socket
 * closed with unread bytes sends RST). */
static bool server_saw_close(int i, int timeout_ms)
{
    struct pollfd p = {.fd = E.own[i].peer, .events = POLLIN | POLLRDHUP};
    char b;
    if (poll(&p, 1, timeout_ms) != 1)
        return false;
    ssize_t n = recv(E.own[i].peer, &b, 1, MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno == ECONNRESET);
}

/* ---- the test as owner ------------------------------------------------------------------- */

static void own_io(struct sp_upconn *c, uint32_t events)
{
    struct own *o = c->owner;
    char b[256];

    o->nio++;
    o->events |= events;
    if (o->park_on_input && (events & EPOLLIN)) {
        while (recv(up_fd(c), b, sizeof(b), MSG_DONTWAIT) > 0)
            ;
        o->park_on_input = false;
        o->c = NULL;
        o->park_seq = ++E.seq;
        sp_upconn_park(c);
    }
}

static void own_timer(struct sp_upconn *c)
{
    struct own *o = c->owner;

    o->ntimer++; /* the test arms no owner timer: any call is the pool's mistake */
}

/* The test takes connection `c` (just opened, taken or handed to a waiter) as owner. */
static int hold(struct sp_upconn *c)
{
    int i = own_of(c);
    if (i < 0) {
        if (E.nown >= MAXC)
            return -1;
        i = E.nown++;
        E.own[i] = (struct own){.port = local_port(up_fd(c)), .fd = up_fd(c), .peer = -1};
    }
    E.own[i].c = c;
    E.own[i].nio = 0;
    E.own[i].events = 0;
    E.own[i].ntimer = 0;
    c->owner = &E.own[i];
    c->on_io = own_io;
    c->on_timer = own_timer;
    return i;
}

static int open_conn(void)
{
    int err = 0;
    struct sp_upconn *c = sp_upconn_open(&E.pool, &err);
    CU_ASSERT_PTR_NOT_NULL(c);
    if (!c)
        return -1;
    return hold(c);
}

/* A test that went wrong earlier may no longer hold what it parks or closes: fail, stop. */
static bool held(int i)
{
    if (i >= 0 && i < E.nown && E.own[i].c)
        return true;
    CU_FAIL("the test does not hold this connection (an earlier check failed)");
    E.abort = true;
    return false;
}

static void park(int i)
{
    if (!held(i))
        return;
    struct sp_upconn *c = E.own[i].c;
    E.own[i].c = NULL;
    E.seq++;
    sp_upconn_park(c);
}

static void close_held(int i)
{
    if (!held(i))
        return;
    struct sp_upconn *c = E.own[i].c;
    E.own[i].c = NULL;
    sp_upconn_close(c);
}

/* Connections [from, to) are connected (their owner saw EPOLLOUT) and accepted. */
static bool connected(int from, int to)
{
    accept_pending();
    for (int i = from; i < to; i++)
        if (!(E.own[i].events & EPOLLOUT) || E.own[i].peer < 0)
            return false;
    return true;
}

/* ---- waiters ----------------------------------------------------------------------------- */

static void ready(struct sp_upwait *uw)
{
    struct waiter *wt = (struct waiter *)uw; /* first member */
    struct sp_uppool *p = &E.pool;

    wt->nready++;
    wt->seq = ++E.seq;
    wt->turn = E.turn;
    wt->now_us = E.w.now_us;
    if (E.norder < (int)(sizeof(E.order) / sizeof(E.order[0])))
        E.order[E.norder++] = wt->id;
    switch (wt->mode) {
    case W_RECORD:
        break;
    case W_TAKE_OPEN: {
        struct sp_upconn *c = sp_upconn_take(p, false);
        if (!c) {
            int err = 0;
            c = sp_upconn_open(p, &err);
            wt->opened = c != NULL;
        }
        wt->got = c ? hold(c) : -1;
        if (p->max_conns && p->nconns > p->max_conns)
            wt->over_cap = true;
        break;
    }
    case W_REDEFER:
        if (wt->nready == 1) {
            if (wt->unwait_id >= 0)
                sp_uppool_unwait(p, &E.wt[wt->unwait_id].w);
            /* a task queued now runs after this run of the pool's task and before the next
             * one (the wake task is re-queued behind it by the defer below) */
            sp_task_queue(&E.w, &E.marker);
        }
        if (wt->nready <= wt->redefers)
            sp_uppool_defer(p, &wt->w);
        break;
    }
}

static struct waiter *waiter(int id, enum wmode mode)
{
    struct waiter *wt = &E.wt[id];
    *wt = (struct waiter){.id = id, .mode = mode, .got = -1, .redefers = 1, .unwait_id = -1};
    wt->w.ready = ready;
    return wt;
}

/* ---- the harness ------------------------------------------------------------------------- */

static void marker(struct sp_task *t)
{
    (void)t;
    E.marker_seq = ++E.seq;
}

static void tick(struct sp_timer *t)
{
    /* keeps the loop turning (one wheel tick) so that waiting steps are called again */
    sp_timer_arm(&E.w.tw, t, E.w.now + 1);
}

static int h_start(struct sp_worker *w)
{
    sp_bufpool_init(&E.bufs, 4096, 16);
    sp_pool_init(&E.conns, sizeof(struct sp_upconn), 16);
    sp_uppool_init(&E.pool, w, &E.bufs, &E.conns, &E.addr, E.addrlen);
    sp_timer_init(&E.tick, tick);
    sp_task_init(&E.marker, marker);
    sp_timer_arm(&w->tw, &E.tick, w->now + 1);
    E.t0 = w->now;
    return 0;
}

static void h_turn_end(struct sp_worker *w)
{
    E.turn++;
    if (E.cur < E.nsteps && !E.abort) {
        if (E.steps[E.cur].fn()) {
            E.cur++;
            E.t0 = w->now;
        } else if (w->now - E.t0 > STEP_TIMEOUT_MS) {
            fprintf(stderr, "step %s: still waiting after %d ms\n", E.steps[E.cur].name,
                    STEP_TIMEOUT_MS);
            E.timed_out = E.steps[E.cur].name;
            E.abort = true;
        }
    }
    if (E.cur >= E.nsteps || E.abort)
        ck_pr_store_int(&w->mt.exit_now, 1);
}

static void h_finish(struct sp_worker *w)
{
    for (int i = 0; i < E.nown; i++) {
        if (E.own[i].c)
            close_held(i);
        if (E.own[i].peer >= 0)
            close(E.own[i].peer);
    }
    for (int i = 0; i < E.nstray; i++)
        close(E.stray[i]);
    for (int i = 0; i < MAXW; i++)
        sp_uppool_unwait(&E.pool, &E.wt[i].w);
    sp_uppool_drain(&E.pool);
    if (E.client_added) {
        sp_worker_close(w, &E.client);
        close(E.client_peer);
    }
    sp_timer_disarm(&w->tw, &E.tick);
    sp_task_cancel(w, &E.marker);
    /* nothing leaked: every connection went back to the free list */
    CU_ASSERT_EQUAL(E.pool.nconns, 0);
    CU_ASSERT_EQUAL(E.conns.used, 0);
    CU_ASSERT_EQUAL(E.bufs.used, 0);
    sp_pool_destroy(&E.conns);
    sp_bufpool_destroy(&E.bufs);
}

static void run_steps(const struct step *steps, unsigned n)
{
    static const struct sp_worker_hooks hooks = {
        .start = h_start, .turn_end = h_turn_end, .finish = h_finish};

    memset(&E, 0, sizeof(E));
    E.client.fd = -1;
    E.lfd = listen_loopback(&E.addr, &E.addrlen);
    CU_ASSERT_FATAL(E.lfd >= 0);
    E.steps = steps;
    E.nsteps = n;
    CU_ASSERT_EQUAL_FATAL(sp_worker_init(&E.w, 0, -1, &hooks), 0);
    CU_ASSERT_EQUAL_FATAL(sp_worker_start(&E.w), 0);
    sp_worker_join(&E.w);
    sp_worker_destroy(&E.w);
    close(E.lfd);
    CU_ASSERT_EQUAL(E.w.exit_status, 0);
    CU_ASSERT_PTR_NULL(E.timed_out);
    CU_ASSERT_FALSE(E.abort);
    CU_ASSERT_EQUAL(E.cur, n);
}

/* clang-format off */
#define STEP(f) {#f, f}
/* clang-format on */
#define RUN(steps) run_steps(steps, sizeof(steps) / sizeof(steps[0]))

/* Steps shared by several tests. */
static bool open3(void)
{
    for (int i = 0; i < 3; i++)
        REQUIRE(open_conn() == i);
    CU_ASSERT_EQUAL(E.pool.nconns, 3);
    CU_ASSERT_EQUAL(E.pool.opened, 3);
    return true;
}

static bool connected3(void)
{
    return connected(0, 3);
}

static bool park3(void)
{
    for (int i = 0; i < 3; i++)
        park(i);
    CU_ASSERT_EQUAL(E.pool.nidle, 3);
    CU_ASSERT_EQUAL(E.pool.nconns, 3);
    return true;
}

static bool one_turn(void)
{
    return true; /* lets a loop turn pass: its events, tasks and timers */
}

/* ---- park and reuse ---------------------------------------------------------------------- */

static bool lifo_take(void)
{
    struct sp_uppool *p = &E.pool;

    /* nothing happened to them during a turn of events: still parked */
    REQUIRE(p->nidle == 3);
    CU_ASSERT_TRUE(sp_uppool_has_room(p));
    /* the most recently parked first */
    for (int want = 2; want >= 0; want--) {
        struct sp_upconn *c = sp_upconn_take(p, false);
        REQUIRE(c != NULL);
        CU_ASSERT_EQUAL(own_of(c), want);
        CU_ASSERT_EQUAL(c->state, SP_UP_BUSY);
        hold(c);
    }
    CU_ASSERT_PTR_NULL(sp_upconn_take(p, false));
    CU_ASSERT_EQUAL(p->nidle, 0);
    CU_ASSERT_EQUAL(p->nconns, 3);
    CU_ASSERT_EQUAL(p->reused, 3);
    CU_ASSERT_EQUAL(p->opened, 3);
    /* park 0 then 1, take: 1 (the most recent), then 0; a forced probe of live ones passes */
    park(0);
    park(1);
    struct sp_upconn *c = sp_upconn_take(p, true);
    CU_ASSERT_EQUAL(own_of(c), 1);
    if (c)
        hold(c);
    c = sp_upconn_take(p, true);
    CU_ASSERT_EQUAL(own_of(c), 0);
    if (c)
        hold(c);
    CU_ASSERT_EQUAL(p->reused, 5);
    CU_ASSERT_EQUAL(p->nconns, 3);
    return true;
}

/* The connection taken again is the same socket: the server's end of it still talks to it. */
static bool same_socket(void)
{
    char b = 0;
    REQUIRE(E.own[2].c != NULL);
    REQUIRE(write(E.own[2].peer, "k", 1) == 1);
    REQUIRE(wait_fd(up_fd(E.own[2].c), POLLIN));
    CU_ASSERT_EQUAL(recv(up_fd(E.own[2].c), &b, 1, 0), 1);
    CU_ASSERT_EQUAL(b, 'k');
    return true;
}

static void test_park_reuse_lifo(void)
{
    static const struct step steps[] = {STEP(open3),    STEP(connected3), STEP(park3),
                                        STEP(one_turn), STEP(lifo_take),  STEP(same_socket)};
    RUN(steps);
}

/* More idle than max_idle: park() closes instead. */
static bool max_idle_park(void)
{
    E.pool.max_idle = 2;
    park(0);
    park(1);
    park(2);
    CU_ASSERT_EQUAL(E.pool.nidle, 2);
    CU_ASSERT_EQUAL(E.pool.nconns, 2);
    CU_ASSERT_TRUE(server_saw_close(2, 2000));
    return true;
}

static bool drain(void)
{
    struct sp_upconn *c = sp_upconn_take(&E.pool, false);
    REQUIRE(c != NULL);
    CU_ASSERT_EQUAL(own_of(c), 1);
    hold(c);
    /* drain closes the idle one, not the one the test holds */
    sp_uppool_drain(&E.pool);
    CU_ASSERT_EQUAL(E.pool.nidle, 0);
    CU_ASSERT_EQUAL(E.pool.nconns, 1);
    CU_ASSERT_TRUE(server_saw_close(0, 2000));
    CU_ASSERT_PTR_NOT_NULL(E.own[1].c);
    return true;
}

static void test_max_idle_and_drain(void)
{
    static const struct step steps[] = {STEP(open3), STEP(connected3), STEP(max_idle_park),
                                        STEP(drain)};
    RUN(steps);
}

/* ---- closed by its own event ------------------------------------------------------------- */

static bool peer_closes_parked(void)
{
    /* connection 2 parked, its server closes: its event (next turn) closes it */
    CU_ASSERT_EQUAL(E.pool.nidle, 3);
    server_close(2);
    return true;
}

static bool closed_by_event(void)
{
    if (E.pool.nconns != 2)
        return false;
    CU_ASSERT_EQUAL(E.pool.nidle, 2);
    /* the closed one is gone from the idle list: the most recent idle one is 1 now */
    struct sp_upconn *c = sp_upconn_take(&E.pool, false);
    CU_ASSERT_EQUAL(own_of(c), 1);
    if (c)
        park(hold(c));
    return true;
}

static bool peer_sends_to_parked(void)
{
    /* a parked connection has nothing to hear: bytes from the server end it too */
    REQUIRE(server_send(1));
    return true;
}

static bool closed_by_data(void)
{
    if (E.pool.nconns != 1)
        return false;
    CU_ASSERT_EQUAL(E.pool.nidle, 1);
    CU_ASSERT_TRUE(server_saw_close(1, 2000));
    struct sp_upconn *c = sp_upconn_take(&E.pool, true);
    CU_ASSERT_EQUAL(own_of(c), 0);
    if (c)
        hold(c);
    return true;
}

static void test_parked_closed_by_event(void)
{
    static const struct step steps[] = {STEP(open3),           STEP(connected3),
                                        STEP(park3),           STEP(peer_closes_parked),
                                        STEP(closed_by_event), STEP(peer_sends_to_parked),
                                        STEP(closed_by_data)};
    RUN(steps);
}

/* ---- the probe --------------------------------------------------------------------------- */

static bool probe_forced(void)
{
    struct sp_uppool *p = &E.pool;

    /* in one turn, before the worker looks at the events again: the server closes 2 and
     * sends a byte on 1; a forced probe finds both and hands out 0 */
    REQUIRE(server_close(2));
    REQUIRE(server_send(1));
    struct sp_upconn *c = sp_upconn_take(p, true);
    REQUIRE(c != NULL);
    CU_ASSERT_EQUAL(own_of(c), 0);
    hold(c);
    CU_ASSERT_EQUAL(p->nidle, 0);
    CU_ASSERT_EQUAL(p->nconns, 1);
    CU_ASSERT_EQUAL(p->reused, 1); /* only the one handed out */
    CU_ASSERT_TRUE(server_saw_close(1, 2000));
    return true;
}

static bool trusted_recent(void)
{
    struct sp_uppool *p = &E.pool;

    /* parked just now and taken without a forced probe: trusted, no system call. The
     * server's close of this turn is not seen (its event would close it; the race left is
     * the retry's): this is the documented cost of not probing. */
    park(0);
    REQUIRE(server_close(0));
    struct sp_upconn *c = sp_upconn_take(p, false);
    CU_ASSERT_EQUAL(own_of(c), 0);
    if (c)
        hold(c);
    /* the same with a forced probe: found closed */
    if (c) {
        park(0);
        CU_ASSERT_PTR_NULL(sp_upconn_take(p, true));
        CU_ASSERT_EQUAL(p->nconns, 0);
    }
    return true;
}

static void test_probe_forced(void)
{
    static const struct step steps[] = {STEP(open3),    STEP(connected3),   STEP(park3),
                                        STEP(one_turn), STEP(probe_forced), STEP(trusted_recent)};
    RUN(steps);
}

static bool open2(void)
{
    REQUIRE(open_conn() == 0);
    REQUIRE(open_conn() == 1);
    return true;
}

static bool connected2(void)
{
    return connected(0, 2);
}

static bool park2_mark(void)
{
    park(0);
    park(1);
    E.mark = E.w.now;
    return true;
}

static bool probe_after_delay(void)
{
    struct sp_uppool *p = &E.pool;

    /* parked SP_UP_PROBE_AFTER_MS ago or more: probed even without `probe` */
    if (E.w.now - E.mark < SP_UP_PROBE_AFTER_MS)
        return false;
    REQUIRE(p->nidle == 2);
    REQUIRE(server_close(1)); /* the most recent one: the first the take looks at */
    struct sp_upconn *c = sp_upconn_take(p, false);
    /* 1 is found closed and closed; 0, old but alive, passes its probe */
    REQUIRE(c != NULL);
    CU_ASSERT_EQUAL(own_of(c), 0);
    hold(c);
    CU_ASSERT_EQUAL(p->nconns, 1);
    CU_ASSERT_EQUAL(p->nidle, 0);
    return true;
}

static void test_probe_after_delay(void)
{
    static const struct step steps[] = {STEP(open2), STEP(connected2), STEP(park2_mark),
                                        STEP(probe_after_delay)};
    RUN(steps);
}

/* ---- the cap and the queue --------------------------------------------------------------- */

static bool cap_open(void)
{
    struct sp_uppool *p = &E.pool;

    p->max_conns = 2;
    CU_ASSERT_TRUE(sp_uppool_has_room(p));
    REQUIRE(open_conn() == 0);
    CU_ASSERT_TRUE(sp_uppool_has_room(p));
    REQUIRE(open_conn() == 1);
    /* at the cap with none idle: no room */
    CU_ASSERT_FALSE(sp_uppool_has_room(p));
    return true;
}

static bool cap_queue(void)
{
    struct sp_uppool *p = &E.pool;

    for (int i = 0; i < 4; i++)
        REQUIRE(sp_uppool_wait(p, &waiter(i, W_TAKE_OPEN)->w) == 0);
    CU_ASSERT_EQUAL(p->nwait, 4);
    CU_ASSERT_TRUE(E.wt[0].w.queued);
    CU_ASSERT_FALSE(E.wt[0].w.deferred);
    return true;
}

static bool cap_nothing_freed(void)
{
    /* a turn went by and nothing was freed: nobody was called */
    CU_ASSERT_EQUAL(E.norder, 0);
    /* leaving from the middle of the queue */
    sp_uppool_unwait(&E.pool, &E.wt[2].w);
    CU_ASSERT_FALSE(E.wt[2].w.queued);
    CU_ASSERT_EQUAL(E.pool.nwait, 3);
    sp_uppool_unwait(&E.pool, &E.wt[2].w); /* harmless when not queued */
    CU_ASSERT_EQUAL(E.pool.nwait, 3);
    /* a park frees capacity; with waiters queued, a newcomer still finds no room (it would
     * jump the queue), though one is idle */
    park(0);
    CU_ASSERT_EQUAL(E.pool.nidle, 1);
    CU_ASSERT_FALSE(sp_uppool_has_room(&E.pool));
    return true;
}

static bool cap_first_served(void)
{
    struct sp_uppool *p = &E.pool;

    /* the first waiter got the parked connection, the others still wait */
    REQUIRE(E.norder == 1);
    CU_ASSERT_EQUAL(E.order[0], 0);
    CU_ASSERT_EQUAL(E.wt[0].got, 0);
    CU_ASSERT_FALSE(E.wt[0].opened);
    CU_ASSERT_EQUAL(p->nwait, 2);
    CU_ASSERT_EQUAL(p->nconns, 2);
    /* a close frees capacity too: the next in arrival order opens */
    close_held(1);
    CU_ASSERT_EQUAL(p->nconns, 1);
    return true;
}

static bool cap_second_served(void)
{
    struct sp_uppool *p = &E.pool;

    REQUIRE(E.norder == 2);
    CU_ASSERT_EQUAL(E.order[1], 1);
    CU_ASSERT_TRUE(E.wt[1].opened);
    CU_ASSERT_EQUAL(p->nconns, 2);
    CU_ASSERT_EQUAL(p->nwait, 1);
    CU_ASSERT_TRUE(E.wt[3].w.queued);
    /* the last one (3; 2 left) gets the next parked one */
    park(E.wt[0].got);
    return true;
}

static bool cap_third_served(void)
{
    struct sp_uppool *p = &E.pool;

    REQUIRE(E.norder == 3);
    CU_ASSERT_EQUAL(E.order[2], 3);
    CU_ASSERT_EQUAL(E.wt[3].got, 0);
    CU_ASSERT_EQUAL(p->nwait, 0);
    CU_ASSERT_EQUAL(E.wt[2].nready, 0);
    for (int i = 0; i < 4; i++)
        CU_ASSERT_FALSE(E.wt[i].over_cap);
    CU_ASSERT_TRUE(p->nconns <= p->max_conns);
    /* queue empty, at the cap, none idle: no room */
    CU_ASSERT_FALSE(sp_uppool_has_room(p));
    return true;
}

static void test_cap_and_queue(void)
{
    static const struct step steps[] = {STEP(cap_open),         STEP(cap_queue),
                                        STEP(one_turn),         STEP(cap_nothing_freed),
                                        STEP(cap_first_served), STEP(cap_second_served),
                                        STEP(cap_third_served)};
    RUN(steps);
}

static bool maxqueue(void)
{
    struct sp_uppool *p = &E.pool;

    p->max_conns = 1;
    p->max_queue = 2;
    REQUIRE(open_conn() == 0);
    CU_ASSERT_EQUAL(sp_uppool_wait(p, &waiter(0, W_RECORD)->w), 0);
    CU_ASSERT_EQUAL(sp_uppool_wait(p, &waiter(1, W_RECORD)->w), 0);
    CU_ASSERT_EQUAL(sp_uppool_wait(p, &waiter(2, W_RECORD)->w), -ENOSPC);
    CU_ASSERT_FALSE(E.wt[2].w.queued);
    CU_ASSERT_EQUAL(p->nwait, 2);
    /* deferring is not queueing: no limit, not counted */
    sp_uppool_defer(p, &waiter(3, W_RECORD)->w);
    CU_ASSERT_EQUAL(p->nwait, 2);
    sp_uppool_unwait(p, &E.wt[3].w);
    CU_ASSERT_FALSE(E.wt[3].w.queued);
    /* one leaves: room again, at the tail */
    sp_uppool_unwait(p, &E.wt[0].w);
    REQUIRE(!E.wt[2].w.queued);
    CU_ASSERT_EQUAL(sp_uppool_wait(p, &E.wt[2].w), 0);
    CU_ASSERT_EQUAL(p->nwait, 2);
    /* 1 before 2 when capacity comes (a close: W_RECORD takes nothing, so both are called) */
    close_held(0);
    return true;
}

static bool maxqueue_order(void)
{
    REQUIRE(E.norder == 2);
    CU_ASSERT_EQUAL(E.order[0], 1);
    CU_ASSERT_EQUAL(E.order[1], 2);
    CU_ASSERT_EQUAL(E.wt[0].nready, 0);
    CU_ASSERT_EQUAL(E.wt[3].nready, 0); /* unwaited from the deferred list: never called */
    CU_ASSERT_EQUAL(E.pool.nwait, 0);
    return true;
}

static void test_maxqueue(void)
{
    static const struct step steps[] = {STEP(maxqueue), STEP(maxqueue_order)};
    RUN(steps);
}

/* set-priority-class / -offset: the queue is served by class, then by entry time plus
 * offset; equal keys in arrival order */
static bool prio(void)
{
    struct sp_uppool *p = &E.pool;
    static const struct {
        int32_t cls;
        int64_t when;
    } k[] = {{0, 100}, {0, 100}, {-1, 500}, {0, 50}, {1, 0}, {0, 100}};

    p->max_conns = 1;
    REQUIRE(open_conn() == 0);
    for (int i = 0; i < 6; i++) {
        struct waiter *wt = waiter(i, W_RECORD);
        wt->w.prio_class = k[i].cls;
        wt->w.prio_when = k[i].when;
        CU_ASSERT_EQUAL(sp_uppool_wait(p, &wt->w), 0);
    }
    static const int want[] = {2, 3, 0, 1, 5, 4};
    int n = 0;
    for (struct sp_upwait *w = p->wait_head; w && n < 6; w = w->_next, n++)
        CU_ASSERT_PTR_EQUAL(w, &E.wt[want[n]].w);
    CU_ASSERT_EQUAL(n, 6);
    CU_ASSERT_PTR_EQUAL(p->wait_tail, &E.wt[4].w);
    CU_ASSERT_PTR_EQUAL(p->wait_tail->_prev, &E.wt[5].w);
    CU_ASSERT_PTR_NULL(p->wait_head->_prev);
    /* leaving from the middle keeps the order */
    sp_uppool_unwait(p, &E.wt[0].w);
    CU_ASSERT_PTR_EQUAL(E.wt[3].w._next, &E.wt[1].w);
    for (int i = 1; i < 6; i++)
        sp_uppool_unwait(p, &E.wt[i].w);
    CU_ASSERT_EQUAL(p->nwait, 0);
    close_held(0);
    return true;
}

static void test_prio(void)
{
    static const struct step steps[] = {STEP(prio)};
    RUN(steps);
}

/* ---- the deferred list ------------------------------------------------------------------- */

/* The client side of a request: it finds no idle connection and is deferred to the end of
 * the batch, as a transaction is (http/txn.c). */
static void client_ev(struct sp_ev *ev, uint32_t events)
{
    char b[16];

    (void)events;
    if (read(ev->fd, b, sizeof(b)) <= 0)
        return;
    E.client_turn = E.turn;
    struct sp_upconn *c = sp_upconn_take(&E.pool, false);
    if (c) {
        E.client_took_directly = true; /* the response came first in the batch */
        E.wt[0].got = hold(c);
        return;
    }
    E.client_seq = ++E.seq;
    sp_uppool_defer(&E.pool, &waiter(0, W_TAKE_OPEN)->w);
}

static bool defer_setup(void)
{
    int sv[2];

    REQUIRE(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) == 0);
    E.client.fd = sv[0];
    E.client.cb = client_ev;
    E.client_peer = sv[1];
    REQUIRE(sp_worker_add(&E.w, &E.client) == 0);
    E.client_added = true;
    REQUIRE(open_conn() == 0);
    return true;
}

static bool defer_connected(void)
{
    return connected(0, 1);
}

static bool defer_batch(void)
{
    /* in the same batch of the next turn: first a request (nothing idle), then the response
     * that frees connection 0. Both are ready before the worker waits again. */
    E.own[0].park_on_input = true;
    REQUIRE(write(E.client_peer, "r", 1) == 1);
    REQUIRE(server_send(0));
    E.mark = E.turn;
    return true;
}

static bool defer_result(void)
{
    struct sp_uppool *p = &E.pool;

    if (!E.wt[0].nready && !E.client_took_directly)
        return false;
    REQUIRE(!E.client_took_directly); /* the request came first in the batch */
    /* ready() ran at the end of that same batch, after the response parked its connection,
     * and reused it: no new connection */
    CU_ASSERT_EQUAL(E.wt[0].nready, 1);
    CU_ASSERT_EQUAL(E.client_turn, E.mark); /* the turn right after (counted at its end) */
    CU_ASSERT_EQUAL(E.wt[0].turn, E.client_turn);
    CU_ASSERT_TRUE(E.client_seq < E.own[0].park_seq);
    CU_ASSERT_TRUE(E.own[0].park_seq < E.wt[0].seq);
    CU_ASSERT_EQUAL(E.wt[0].got, 0);
    CU_ASSERT_FALSE(E.wt[0].opened);
    CU_ASSERT_EQUAL(p->opened, 1);
    CU_ASSERT_EQUAL(p->nconns, 1);
    CU_ASSERT_FALSE(E.wt[0].w.queued);
    CU_ASSERT_FALSE(E.wt[0].w.deferred);
    return true;
}

static void test_defer_end_of_batch(void)
{
    static const struct step steps[] = {STEP(defer_setup), STEP(defer_connected), STEP(defer_batch),
                                        STEP(defer_result)};
    RUN(steps);
}

/* Deferred ones are called whatever the capacity, after the queue; each once per defer. */
static bool defer_after_queue(void)
{
    struct sp_uppool *p = &E.pool;

    p->max_conns = 1;
    REQUIRE(open_conn() == 0);
    REQUIRE(sp_uppool_wait(p, &waiter(0, W_TAKE_OPEN)->w) == 0);
    sp_uppool_defer(p, &waiter(1, W_RECORD)->w);
    sp_uppool_defer(p, &waiter(2, W_RECORD)->w);
    CU_ASSERT_TRUE(E.wt[1].w.deferred);
    CU_ASSERT_EQUAL(p->nwait, 1);
    park(0);
    return true;
}

static bool defer_after_queue_result(void)
{
    REQUIRE(E.norder == 3);
    CU_ASSERT_EQUAL(E.order[0], 0); /* the queue first: it gets the connection */
    CU_ASSERT_EQUAL(E.order[1], 1); /* then the deferred ones, in order, at the cap */
    CU_ASSERT_EQUAL(E.order[2], 2);
    CU_ASSERT_EQUAL(E.wt[0].got, 0);
    CU_ASSERT_EQUAL(E.wt[1].turn, E.wt[0].turn);
    CU_ASSERT_EQUAL(E.wt[2].turn, E.wt[0].turn);
    CU_ASSERT_FALSE(E.wt[1].w.deferred);
    CU_ASSERT_FALSE(E.wt[1].w.queued);
    return true;
}

/* A ready() that defers again is called again by a later run of the pool's task, not by the
 * run that called it (one run hands out only what was deferred before it began). */
static bool redefer(void)
{
    sp_uppool_defer(&E.pool, &waiter(3, W_REDEFER)->w);
    sp_uppool_defer(&E.pool, &waiter(4, W_RECORD)->w);
    E.norder = 0;
    return true;
}

static bool redefer_result(void)
{
    if (E.wt[3].nready < 2)
        return false;
    CU_ASSERT_EQUAL(E.wt[3].nready, 2);
    CU_ASSERT_EQUAL(E.wt[4].nready, 1);
    /* 3, then 4 (deferred before the run), then 3 again in a later run */
    REQUIRE(E.norder == 3);
    CU_ASSERT_EQUAL(E.order[0], 3);
    CU_ASSERT_EQUAL(E.order[1], 4);
    CU_ASSERT_EQUAL(E.order[2], 3);
    CU_ASSERT_FALSE(E.wt[3].w.queued);
    /* the second call came from a later run: after the task queued by the first call */
    CU_ASSERT_TRUE(E.marker_seq != 0);
    CU_ASSERT_TRUE(E.marker_seq < E.wt[3].seq);
    return true;
}

static void test_defer_order(void)
{
    static const struct step steps[] = {STEP(defer_after_queue), STEP(defer_after_queue_result),
                                        STEP(redefer), STEP(one_turn), STEP(redefer_result)};
    RUN(steps);
}

/* ---- idle timeout ------------------------------------------------------------------------ */

#define IDLE_MS 60

static bool idle_first(void)
{
    E.pool.idle_ms = IDLE_MS;
    park(0);
    E.mark = E.w.now;
    return true;
}

static bool idle_second(void)
{
    /* the second one parked a little later: each has its own deadline */
    if (E.w.now - E.mark < IDLE_MS / 2)
        return false;
    CU_ASSERT_EQUAL(E.pool.nidle, 1);
    park(1);
    E.mark2 = E.w.now;
    return true;
}

static bool idle_purged(void)
{
    struct sp_uppool *p = &E.pool;

    /* the purge runs in the timer phase of a turn; this step runs at the end of each turn,
     * so E.w.now is the instant the purge ran */
    if (p->nidle == 1 && !E.closed_at[0])
        E.closed_at[0] = E.w.now;
    if (p->nidle == 0) {
        if (!E.closed_at[0])
            E.closed_at[0] = E.w.now;
        E.closed_at[1] = E.w.now;
    }
    if (p->nidle)
        return false;
    CU_ASSERT_EQUAL(p->nconns, 0);
    /* never before idle_ms; at most a wheel tick late when the loop is on time (a sanitizer
     * build is not: the upper bound is generous) */
    CU_ASSERT_TRUE(E.closed_at[0] >= E.mark + IDLE_MS);
    CU_ASSERT_TRUE(E.closed_at[0] < E.mark + IDLE_MS + 1000);
    CU_ASSERT_TRUE(E.closed_at[1] >= E.mark2 + IDLE_MS);
    CU_ASSERT_TRUE(E.closed_at[1] < E.mark2 + IDLE_MS + 1000);
    /* the oldest went first, and the server saw both closes */
    if (E.mark2 + IDLE_MS > E.closed_at[0])
        CU_ASSERT_TRUE(E.closed_at[0] < E.closed_at[1]);
    CU_ASSERT_TRUE(server_saw_close(0, 2000));
    CU_ASSERT_TRUE(server_saw_close(1, 2000));
    return true;
}

/* Taking a connection disarms its purge: a held one outlives idle_ms. */
static bool idle_take_disarms(void)
{
    REQUIRE(open_conn() == 2);
    park(2);
    struct sp_upconn *c = sp_upconn_take(&E.pool, false);
    REQUIRE(own_of(c) == 2);
    hold(c);
    E.mark = E.w.now;
    return true;
}

static bool idle_held_survives(void)
{
    if (E.w.now - E.mark < 3 * IDLE_MS)
        return false;
    CU_ASSERT_EQUAL(E.pool.nconns, 1);
    CU_ASSERT_PTR_NOT_NULL(E.own[2].c);
    CU_ASSERT_EQUAL(E.own[2].c->state, SP_UP_BUSY);
    /* nor did its idle deadline reach the owner's timer */
    CU_ASSERT_EQUAL(E.own[2].ntimer, 0);
    return true;
}

static void test_idle_timeout(void)
{
    static const struct step steps[] = {
        STEP(open2),       STEP(connected2),        STEP(idle_first),        STEP(idle_second),
        STEP(idle_purged), STEP(idle_take_disarms), STEP(idle_held_survives)};
    RUN(steps);
}

/* ---- pacing of openings ------------------------------------------------------------------ */

#define NPACE 20

static bool pace_one_turn(void)
{
    struct sp_uppool *p = &E.pool;
    int n = 0;

    CU_ASSERT_TRUE(sp_uppool_may_open(p));
    while (n < 2 * SP_UP_OPENS_PER_TURN && sp_uppool_may_open(p)) {
        REQUIRE(open_conn() == n);
        n++;
    }
    CU_ASSERT_EQUAL(n, SP_UP_OPENS_PER_TURN);
    CU_ASSERT_FALSE(sp_uppool_may_open(p));
    E.mark = E.w.now_us;
    return true;
}

static bool pace_next_turn(void)
{
    struct sp_uppool *p = &E.pool;

    /* a new turn (a new worker clock reading): openings allowed again */
    REQUIRE(E.w.now_us != E.mark);
    CU_ASSERT_TRUE(sp_uppool_may_open(p));
    while (E.nown < NPACE)
        REQUIRE(open_conn() >= 0);
    CU_ASSERT_TRUE(sp_uppool_may_open(p));
    CU_ASSERT_EQUAL(p->nconns, NPACE);
    return true;
}

static bool pace_queue(void)
{
    struct sp_uppool *p = &E.pool;

    /* at the cap, NPACE waiters queue; then every connection closes at once. The freed
     * capacity goes out in arrival order, SP_UP_OPENS_PER_TURN openings per turn. */
    p->max_conns = NPACE;
    for (int i = 0; i < NPACE; i++)
        REQUIRE(sp_uppool_wait(p, &waiter(i, W_TAKE_OPEN)->w) == 0);
    for (int i = 0; i < NPACE; i++)
        close_held(i);
    CU_ASSERT_EQUAL(p->nconns, 0);
    return true;
}

static bool pace_result(void)
{
    struct sp_uppool *p = &E.pool;

    if (E.norder < NPACE)
        return false;
    REQUIRE(E.norder == NPACE);
    int first = 0, most = 0, run = 0;
    for (int i = 0; i < NPACE; i++) {
        CU_ASSERT_EQUAL(E.order[i], i);
        CU_ASSERT_TRUE(E.wt[i].opened);
        CU_ASSERT_FALSE(E.wt[i].over_cap);
        run = i && E.wt[i].now_us == E.wt[i - 1].now_us ? run + 1 : 1;
        if (E.wt[i].now_us == E.wt[0].now_us)
            first++;
        if (run > most)
            most = run;
    }
    CU_ASSERT_EQUAL(first, SP_UP_OPENS_PER_TURN);
    CU_ASSERT_EQUAL(most, SP_UP_OPENS_PER_TURN);
    CU_ASSERT_EQUAL(p->nconns, NPACE);
    CU_ASSERT_EQUAL(p->nwait, 0);
    return true;
}

static void test_pacing(void)
{
    static const struct step steps[] = {STEP(pace_one_turn), STEP(pace_next_turn), STEP(pace_queue),
                                        STEP(pace_result)};
    RUN(steps);
}

/* ---- faults found by these tests (fixed: they guard the fix) ------------------------------ */

/* The deferred run stops at the entry that was last when it began; if a ready() removes that
 * entry (its owner went away), the run goes on into entries deferred during the run, so a
 * ready() that defers again is called again in the same run (and forever, if it always
 * defers again: the worker never leaves the task). */
static bool kb_defer_last_unwaited(void)
{
    struct waiter *a = waiter(5, W_REDEFER);

    a->redefers = 3;
    a->unwait_id = 6;
    sp_uppool_defer(&E.pool, &a->w);
    sp_uppool_defer(&E.pool, &waiter(6, W_RECORD)->w);
    return true;
}

static bool kb_defer_last_result(void)
{
    if (E.wt[5].nready < 4)
        return false;
    CU_ASSERT_EQUAL(E.wt[6].nready, 0);
    /* one call per run: the last call came after the task queued by the first */
    CU_ASSERT_TRUE(E.marker_seq != 0 && E.marker_seq < E.wt[5].seq);
    return true;
}

static void test_kb_defer_last_unwaited(void)
{
    static const struct step steps[] = {STEP(kb_defer_last_unwaited), STEP(kb_defer_last_result)};
    RUN(steps);
}

/* park() trusts its caller: a connection whose server FIN was already signalled (the edge
 * came while it was busy, so no later event will close it) is parked and handed out again by
 * a take() within SP_UP_PROBE_AFTER_MS. http/txn.c checks x.rdhup before parking; the pool
 * itself does not, though its header promises that a closed one is never handed out. */
static bool kb_fin_then_response(void)
{
    REQUIRE(write(E.own[0].peer, "x", 1) == 1);
    REQUIRE(server_close(0));
    return true;
}

static bool kb_park_after_fin(void)
{
    char b[8];

    if (!(E.own[0].events & EPOLLRDHUP))
        return false;                                 /* the owner has seen the FIN */
    REQUIRE(recv(E.own[0].fd, b, sizeof(b), 0) == 1); /* the response, not the end */
    park(0);
    struct sp_upconn *c = sp_upconn_take(&E.pool, false);
    CU_ASSERT_PTR_NULL(c);
    if (c)
        hold(c);
    return true;
}

static bool open1(void)
{
    REQUIRE(open_conn() == 0);
    return true;
}

static bool connected1(void)
{
    return connected(0, 1);
}

static void test_kb_park_after_fin(void)
{
    static const struct step steps[] = {STEP(open1), STEP(connected1), STEP(kb_fin_then_response),
                                        STEP(kb_park_after_fin)};
    RUN(steps);
}

void test_upstream_register(void)
{
    CU_pSuite s = sp_unit_suite("net/upstream");
    sp_unit_test(s, "park, then reuse last-in first-out", test_park_reuse_lifo);
    sp_unit_test(s, "max_idle closes instead of parking; drain closes the idle ones",
                 test_max_idle_and_drain);
    sp_unit_test(s, "a parked connection is closed by its event (server close, server bytes)",
                 test_parked_closed_by_event);
    sp_unit_test(s, "a forced probe finds a server close or bytes; a recent one is trusted",
                 test_probe_forced);
    sp_unit_test(s, "parked SP_UP_PROBE_AFTER_MS ago: probed without being asked",
                 test_probe_after_delay);
    sp_unit_test(s, "at the cap: queue served in arrival order on park and close",
                 test_cap_and_queue);
    sp_unit_test(s, "maxqueue: -ENOSPC beyond it; deferring is not queueing", test_maxqueue);
    sp_unit_test(s, "the queue's order: priority class, then time plus offset", test_prio);
    sp_unit_test(s, "deferred to the end of the batch: reuses what the batch parked",
                 test_defer_end_of_batch);
    sp_unit_test(s, "deferred ones after the queue, once per defer", test_defer_order);
    sp_unit_test(s, "idle timeout purges parked ones, not taken ones", test_idle_timeout);
    sp_unit_test(s, "openings paced per turn, in the queue too", test_pacing);
    /* faults these tests found, fixed since */
    sp_unit_test(s, "a ready() that removes the last deferred one: the run still ends",
                 test_kb_defer_last_unwaited);
    sp_unit_test(s, "park() of a connection whose FIN was seen closes it", test_kb_park_after_fin);
}
