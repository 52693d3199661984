/* tests/net/test_listener.c - listener pause and wake (net/listener.h) with real loopback
 * sockets and real workers: a bind whose gate admits N connections, N+2 clients; the
 * listener accepts exactly N and pauses (the others wait in the kernel's accept queue,
 * connected from the client's view); each release wakes it for exactly one more. With two
 * workers (two shards), a release on one worker wakes the other's paused shard, and the gate
 * never admits more than N in all.
 *
 * The steps run one per loop turn from the turn_end hook of the worker each step names (the
 * one that owns what it touches); the current step's index is shared with ck_pr stores and
 * loads, so that only one thread runs a step (and a CUnit check) at a time. A tick timer keeps
 * the loops turning; a step that waits more than STEP_TIMEOUT_MS fails the test. */
#include "net/listener.h"

#include "tests/unit.h"

#include <arpa/inet.h>
#include <ck_pr.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define NW              2
#define MAXFD           16
#define STEP_TIMEOUT_MS 5000
#define SETTLE_MS       50

struct step {
    const char *name;
    int wid; /* the worker that runs it */
    bool (*fn)(void);
};

struct wstate {
    struct sp_worker w;
    struct sp_listener l;
    bool started;  /* listener started */
    bool at_start; /* start the listener in the start hook */
    struct sp_timer tick;
    int fds[MAXFD]; /* accepted, owned by this worker */
    int nfds;
    int accepted;     /* ck_pr: read by the other worker */
    int64_t max_seen; /* highest gate count seen right after an accept */
};

static struct env {
    struct wstate ws[NW];
    struct sp_worker *wp[NW];
    int nw;
    struct sp_bind bind;
    struct sp_gate *gate;
    int limit;
    int clients[MAXFD];
    int nclients;
    const struct step *steps;
    int nsteps;
    int cur;   /* ck_pr */
    int abort; /* ck_pr */
    uint64_t t0_ms;
    const char *timed_out;
    uint64_t mark_ms;
} E;

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        bool ok_ = (cond);                                                                         \
        CU_assertImplementation(ok_, __LINE__, #cond, __FILE__, "", CU_FALSE);                     \
        if (!ok_) {                                                                                \
            ck_pr_store_int(&E.abort, 1);                                                          \
            return true;                                                                           \
        }                                                                                          \
    } while (0)

/* ---- sockets ----------------------------------------------------------------------------- */

/* Connections waiting in a listening socket's accept queue (TCP_INFO on a listener). */
static int backlog_of(int shard)
{
    struct tcp_info ti;
    socklen_t len = sizeof(ti);
    if (E.bind.fds[shard] < 0 ||
        getsockopt(E.bind.fds[shard], IPPROTO_TCP, TCP_INFO, &ti, &len) < 0)
        return -1;
    return (int)ti.tcpi_unacked;
}

static uint16_t shard_port(int shard)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    if (getsockname(E.bind.fds[shard], (struct sockaddr *)&a, &len) < 0)
        return 0;
    return ntohs(a.sin_port);
}

/* A blocking connect to shard `shard`'s port: returns once in the accept queue. */
static int connect_to(int shard)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                            .sin_port = htons(shard_port(shard))};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Every client is connected from its own view: no error, no reset, no hang-up (those whose
 * connection the test released see its FIN, which is none of these). */
static bool clients_connected(void)
{
    for (int i = 0; i < E.nclients; i++) {
        struct pollfd p = {.fd = E.clients[i], .events = POLLIN | POLLRDHUP};
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int err = 0;
        socklen_t elen = sizeof(err);
        if (poll(&p, 1, 0) < 0 || (p.revents & (POLLERR | POLLHUP)) ||
            getpeername(E.clients[i], (struct sockaddr *)&ss, &len) < 0 ||
            getsockopt(E.clients[i], SOL_SOCKET, SO_ERROR, &err, &elen) < 0 || err != 0)
            return false;
    }
    return true;
}

static int total_accepted(void)
{
    int n = 0;
    for (int i = 0; i < E.nw; i++)
        n += ck_pr_load_int(&E.ws[i].accepted);
    return n;
}

/* ---- the listener's user ----------------------------------------------------------------- */

static void on_accept(struct sp_listener *l, int fd, const struct sockaddr_storage *peer,
                      socklen_t peerlen)
{
    struct wstate *ws = sp_container_of(l, struct wstate, l);
    (void)peer;
    (void)peerlen;
    int64_t c = sp_gate_count_mt(E.gate);
    if (c > ws->max_seen)
        ws->max_seen = c;
    if (ws->nfds < MAXFD)
        ws->fds[ws->nfds++] = fd;
    else
        close(fd);
    ck_pr_store_int(&ws->accepted, ws->accepted + 1);
}

/* Worker `wid` ends one of its connections: close + release. */
static bool release_one(int wid)
{
    struct wstate *ws = &E.ws[wid];
    REQUIRE(ws->nfds > 0);
    close(ws->fds[--ws->nfds]);
    sp_listener_release(&E.bind, wid);
    return true;
}

/* ---- the harness ------------------------------------------------------------------------- */

static struct wstate *ws_of(struct sp_worker *w)
{
    return sp_container_of(w, struct wstate, w);
}

static void tick(struct sp_timer *t)
{
    struct wstate *ws = sp_container_of(t, struct wstate, tick);
    sp_timer_arm(&ws->w.tw, t, ws->w.now + 1);
}

static int start_listener(struct wstate *ws)
{
    int err = sp_listener_start(&ws->l, &ws->w, &E.bind, ws->w.id, 16, on_accept);
    ws->started = err == 0;
    return err;
}

static int h_start(struct sp_worker *w)
{
    struct wstate *ws = ws_of(w);
    sp_timer_init(&ws->tick, tick);
    sp_timer_arm(&w->tw, &ws->tick, w->now + 1);
    if (ws->at_start && start_listener(ws) < 0)
        return -1;
    return 0;
}

static void h_wake(struct sp_worker *w)
{
    struct wstate *ws = ws_of(w);
    if (ws->started)
        sp_listener_resume(&ws->l);
}

static void h_turn_end(struct sp_worker *w)
{
    /* acquire/release on the step index: the worker that runs the next step sees all the
     * previous one wrote (C11 atomics, which ThreadSanitizer sees; ck_pr's fences are inline
     * assembly it does not) */
    int cur = __atomic_load_n(&E.cur, __ATOMIC_ACQUIRE);
    if (cur < E.nsteps && !ck_pr_load_int(&E.abort) && E.steps[cur].wid == w->id) {
        if (E.steps[cur].fn()) {
            E.t0_ms = now_ms();
            __atomic_store_n(&E.cur, cur + 1, __ATOMIC_RELEASE);
        } else if (now_ms() - E.t0_ms > STEP_TIMEOUT_MS) {
            fprintf(stderr, "step %s: still waiting after %d ms\n", E.steps[cur].name,
                    STEP_TIMEOUT_MS);
            E.timed_out = E.steps[cur].name;
            ck_pr_store_int(&E.abort, 1);
        }
    }
    if (cur >= E.nsteps || ck_pr_load_int(&E.abort))
        ck_pr_store_int(&w->mt.exit_now, 1);
}

static void h_finish(struct sp_worker *w)
{
    struct wstate *ws = ws_of(w);
    while (ws->nfds > 0) {
        close(ws->fds[--ws->nfds]);
        sp_listener_release(&E.bind, w->id);
    }
    if (ws->started)
        sp_listener_stop(&ws->l);
    sp_timer_disarm(&w->tw, &ws->tick);
}

/* nw workers, one shard each, a gate of `limit`; clients[i] connects to shard to[i] before
 * the workers start; worker i starts its listener at once when at_start[i]. */
static void run_steps(int nw, int limit, const int *to, int nclients, const bool *at_start,
                      const struct step *steps, int nsteps)
{
    static const struct sp_worker_hooks hooks = {
        .start = h_start, .wake = h_wake, .turn_end = h_turn_end, .finish = h_finish};
    const char *msg = NULL;

    memset(&E, 0, sizeof(E));
    E.nw = nw;
    E.limit = limit;
    E.steps = steps;
    E.nsteps = nsteps;
    E.gate = sp_gate_new(limit, nw);
    CU_ASSERT_PTR_NOT_NULL_FATAL(E.gate);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    memcpy(&E.bind.addr, &a, sizeof(a));
    E.bind.addrlen = sizeof(a);
    E.bind.text = "127.0.0.1:0";
    E.bind.backlog = 64;
    E.bind.gates[0] = E.gate;
    CU_ASSERT_EQUAL_FATAL(sp_bind_open(&E.bind, nw, &msg), 0);
    CU_ASSERT_EQUAL_FATAL(E.bind.nfds, nw);
    for (int i = 0; i < nclients; i++) {
        E.clients[i] = connect_to(to[i]);
        CU_ASSERT(E.clients[i] >= 0);
        if (E.clients[i] >= 0)
            E.clients[E.nclients++] = E.clients[i];
    }
    CU_ASSERT_EQUAL_FATAL(E.nclients, nclients);
    for (int i = 0; i < nw; i++) {
        E.wp[i] = &E.ws[i].w;
        CU_ASSERT_EQUAL_FATAL(sp_worker_init(&E.ws[i].w, i, -1, &hooks), 0);
        E.ws[i].at_start = at_start[i];
    }
    sp_listener_set_workers(E.wp, nw);
    E.t0_ms = now_ms();
    for (int i = 0; i < nw; i++)
        CU_ASSERT_EQUAL_FATAL(sp_worker_start(&E.ws[i].w), 0);
    for (int i = 0; i < nw; i++) {
        sp_worker_join(&E.ws[i].w);
        CU_ASSERT_EQUAL(E.ws[i].w.exit_status, 0);
    }
    for (int i = 0; i < nw; i++)
        sp_worker_destroy(&E.ws[i].w);
    sp_listener_set_workers(NULL, 0);
    for (int i = 0; i < E.nclients; i++)
        close(E.clients[i]);
    /* every connection released: the gate is back to 0; it never admitted more than N */
    CU_ASSERT_EQUAL(sp_gate_count_mt(E.gate), 0);
    CU_ASSERT(sp_gate_peak_mt(E.gate) <= limit);
    for (int i = 0; i < nw; i++)
        CU_ASSERT(E.ws[i].max_seen <= limit);
    sp_bind_close(&E.bind);
    free(E.gate);
    CU_ASSERT_PTR_NULL(E.timed_out);
    CU_ASSERT_FALSE(E.abort);
    CU_ASSERT_EQUAL(E.cur, nsteps);
}

#define RUN(nw, limit, to, at_start, steps)                                                        \
    run_steps(nw, limit, to, (int)(sizeof(to) / sizeof(to[0])), at_start, steps,                   \
              (int)(sizeof(steps) / sizeof(steps[0])))

/* Waits until worker `wid` accepted `n` in all, its listener is paused, and shard `wid`'s
 * queue holds `queued`; the gate then counts exactly the limit. */
static bool settled(int wid, int n, int queued)
{
    struct wstate *ws = &E.ws[wid];
    if (ck_pr_load_int(&ws->accepted) != n || !ws->l.paused || backlog_of(wid) != queued)
        return false;
    REQUIRE(sp_gate_count_mt(E.gate) == E.limit);
    REQUIRE(clients_connected());
    E.mark_ms = 0;
    return true;
}

/* Nothing more is accepted for SETTLE_MS: the pause holds without a release. */
static bool holds(int total)
{
    if (!E.mark_ms)
        E.mark_ms = now_ms();
    REQUIRE(total_accepted() == total);
    REQUIRE(sp_gate_count_mt(E.gate) <= E.limit);
    if (now_ms() - E.mark_ms < SETTLE_MS)
        return false;
    E.mark_ms = 0;
    return true;
}

/* ---- one worker: N = 3, 5 clients -------------------------------------------------------- */

static bool s1_full(void)
{
    return settled(0, 3, 2);
}
static bool s1_holds3(void)
{
    return holds(3);
}
static bool s1_release(void)
{
    return release_one(0);
}
static bool s1_fourth(void)
{
    return settled(0, 4, 1);
}
static bool s1_holds4(void)
{
    return holds(4);
}
static bool s1_fifth(void)
{
    return settled(0, 5, 0);
}
static bool s1_holds5(void)
{
    return holds(5);
}
/* a release with an empty queue: the listener resumes and stays unpaused (room left) */
static bool s1_unpaused(void)
{
    if (E.ws[0].l.paused)
        return false;
    REQUIRE(sp_gate_count_mt(E.gate) == 2);
    return true;
}
static bool s1_holds_unpaused(void)
{
    return holds(5);
}

static void test_one_worker(void)
{
    static const int to[] = {0, 0, 0, 0, 0};
    static const bool at_start[] = {true};
    static const struct step steps[] = {
        {"N accepted, paused, 2 queued", 0, s1_full},
        {"no more without a release", 0, s1_holds3},
        {"release one", 0, s1_release},
        {"exactly one more", 0, s1_fourth},
        {"no more after it", 0, s1_holds4},
        {"release another", 0, s1_release},
        {"the last one", 0, s1_fifth},
        {"no more after the last", 0, s1_holds5},
        {"release with an empty queue", 0, s1_release},
        {"resumed, not paused", 0, s1_unpaused},
        {"still 5", 0, s1_holds_unpaused},
    };
    RUN(1, 3, to, at_start, steps);
}

/* ---- two workers: N = 2, 2 clients per shard --------------------------------------------- */

static bool s2_w0_full(void)
{
    return settled(0, 2, 0);
}
static bool s2_start_w1(void)
{
    REQUIRE(start_listener(&E.ws[1]) == 0);
    return true;
}
static bool s2_w1_paused(void)
{
    if (!settled(1, 0, 2))
        return false;
    REQUIRE(total_accepted() == 2);
    return true;
}
static bool s2_holds2(void)
{
    return holds(2);
}
static bool s2_release_w0(void)
{
    return release_one(0);
}
static bool s2_w1_one(void)
{
    if (!settled(1, 1, 1))
        return false;
    REQUIRE(ck_pr_load_int(&E.ws[0].accepted) == 2);
    return true;
}
static bool s2_holds3(void)
{
    return holds(3);
}
static bool s2_w1_two(void)
{
    if (!settled(1, 2, 0))
        return false;
    REQUIRE(ck_pr_load_int(&E.ws[0].accepted) == 2);
    return true;
}
static bool s2_holds4(void)
{
    return holds(4);
}

static void test_two_workers(void)
{
    static const int to[] = {0, 0, 1, 1};
    /* worker 1 starts its listener only once worker 0 has filled the gate */
    static const bool at_start[] = {true, false};
    static const struct step steps[] = {
        {"worker 0 takes N, paused", 0, s2_w0_full},
        {"worker 1 starts its listener", 1, s2_start_w1},
        {"worker 1 paused, 2 queued", 1, s2_w1_paused},
        {"no more without a release", 0, s2_holds2},
        {"worker 0 releases one", 0, s2_release_w0},
        {"worker 1 wakes, takes one", 1, s2_w1_one},
        {"no more after it", 0, s2_holds3},
        {"worker 0 releases another", 0, s2_release_w0},
        {"worker 1 takes the last", 1, s2_w1_two},
        {"no more after the last", 0, s2_holds4},
    };
    RUN(2, 2, to, at_start, steps);
}

void test_listener_register(void)
{
    CU_pSuite s = sp_unit_suite("net/listener");
    sp_unit_test(s, "one worker: N accepted, paused; each release wakes exactly one more",
                 test_one_worker);
    sp_unit_test(s, "two shards: a release on worker 0 wakes worker 1's paused shard",
                 test_two_workers);
}
