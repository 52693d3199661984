/* tests/http/test_txn.c - the transaction's state machine (http/txn.c) over the HTTP/1 server
 * side (http/h1srv.c): connect or reuse, send, relay the response, park or close, retry, queue,
 * time out, and the client side giving up.
 *
 * Each test builds what a worker has at its start: a configuration parsed from text, its
 * routing snapshot published, the counters, one struct sp_worker and its HTTP state made by
 * sp_http_hooks.start() itself. The client side is a fake (struct sp_front_ops whose callbacks
 * record what they were given), routed and with its upstream head built by the same calls
 * h1conn.c makes; the server is real: a listening socket on 127.0.0.1 that the test accepts
 * from and answers with canned bytes (or a bound socket that never listens: connections to it
 * are refused).
 *
 * The loop runs on the test thread, which plays the worker (sp_this_worker), one turn at a
 * time: core/worker.c exports no single turn, so turn() below repeats what worker_main() does
 * in one (wait, dispatch the batch with the rule of sp_worker_close(), run the tasks, advance
 * the wheel, run the tasks). Every wait is bounded in turns and time (WAIT()). The test thread
 * is not a registered QSBR reader: it publishes the snapshot before the worker starts and
 * retires it after, so no grace period ever waits on it. The access log is off (no log sink),
 * the decision log not allocated: neither is under test here.
 */
#include "http/http-int.h"

#include "balance/balance.h"
#include "core/config.h"
#include "tests/unit.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define NTX         3
#define NPEER       4
#define TURN_MAX_MS 5    /* longest epoll_wait of one turn */
#define WAIT_MS     3000 /* generous: sanitizer builds run slowly */
#define MAX_TURNS   5000

/* The client side of one transaction, as the front ops saw it. */
struct tx {
    struct sp_txn *t;
    int nhead;
    int heads[4]; /* statuses, interim ones included, in order */
    char body[4096];
    size_t blen;
    int nend, nerror, error_status, nabort, nresume;
    bool head_full, end_full; /* res_head / res_end answer -EAGAIN (no room) */
    char trace[16];           /* states seen, one letter each (see note()), repeats folded */
    size_t ntrace;
};

/* The server's end of one accepted connection. */
struct peer {
    int fd;
    char in[4096]; /* what the server read (request heads) */
    size_t len;
    bool eof; /* end of stream or reset read */
};

static struct env {
    bool up;            /* env_setup() completed */
    struct sp_worker w; /* sp_worker_init() done when w_init */
    bool w_init, hw_started, rt_published, stats_init;
    struct sp_http_conf conf;
    struct sp_http_worker *hw;
    const struct sp_frontend *fe;
    const struct sp_backend *be;
    const struct sp_server *srv;
    struct sp_conn fc; /* what routing reads of a client connection */
    int lfd;           /* the server: listening (or, for refusals, bound only) */
    uint16_t port;
    struct peer peer[NPEER];
    int npeer;
    struct tx tx[NTX];
} E;

/* Fails the current check and jumps to the test's cleanup (`out:`). */
#define REQUIRE(cond)                                                                              \
    do {                                                                                           \
        bool ok_ = (cond);                                                                         \
        CU_assertImplementation(ok_, __LINE__, #cond, __FILE__, "", CU_FALSE);                     \
        if (!ok_)                                                                                  \
            goto out;                                                                              \
    } while (0)

/* Runs loop turns until `cond` holds: at most MAX_TURNS turns and WAIT_MS ms, else fails. */
#define WAIT(cond)                                                                                 \
    do {                                                                                           \
        uint64_t until_ = sp_now_ms() + WAIT_MS;                                                   \
        for (int n_ = 0; !(cond) && n_ < MAX_TURNS && sp_now_ms() < until_; n_++)                  \
            turn();                                                                                \
        REQUIRE(cond);                                                                             \
    } while (0)

/* ---- the loop ---------------------------------------------------------------------------- */

/* One letter per state, for the traces. */
static void note(struct tx *x)
{
    static const char letters[] = {
        [SP_TXN_NEW] = 'N',        [SP_TXN_RETRY_WAIT] = 'W', [SP_TXN_QUEUED] = 'Q',
        [SP_TXN_CONNECTING] = 'C', [SP_TXN_EXCHANGE] = 'X',   [SP_TXN_LOCAL] = 'L',
        [SP_TXN_DONE] = 'D',
    };
    char c;

    if (!x->t)
        return;
    c = letters[x->t->state];
    if (x->ntrace && x->trace[x->ntrace - 1] == c)
        return;
    if (x->ntrace < sizeof(x->trace) - 1)
        x->trace[x->ntrace++] = c;
}

/* worker.c's run_tasks(): the tasks queued before the call, behind a marker. */
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

/* One turn of worker_main()'s loop. */
static void turn(void)
{
    struct sp_worker *w = &E.w;
    struct epoll_event evs[SP_WORKER_BATCH];
    int next = sp_timer_wheel_next_ms(&w->tw);
    int timeout = w->tasks_head ? 0 : (next < 0 || next > TURN_MAX_MS) ? TURN_MAX_MS : next;
    int n = epoll_wait(w->epfd, evs, SP_WORKER_BATCH, timeout);

    w->now_us = sp_now_us();
    w->now = w->now_us / 1000;
    w->_batch = evs;
    w->_batch_n = n > 0 ? n : 0;
    for (int i = 0; i < w->_batch_n; i++) {
        struct sp_ev *ev = evs[i].data.ptr;
        w->_batch_next = i + 1;
        if (ev)
            ev->cb(ev, evs[i].events);
    }
    w->_batch_n = w->_batch_next = 0;
    w->_batch = NULL;
    run_tasks(w);
    sp_timer_wheel_advance(&w->tw, w->now);
    run_tasks(w);
    for (int i = 0; i < NTX; i++)
        note(&E.tx[i]);
}

/* ---- the fake client side ---------------------------------------------------------------- */

static int f_res_head(struct sp_txn *t, const struct sp_h1_msg *m, const char *buf)
{
    struct tx *x = t->front;

    (void)buf;
    if (x->head_full)
        return -EAGAIN;
    if (t->state == SP_TXN_LOCAL) {
        /* spillway's own answer (sp__txn_fail() through sp__txn_reply()): an error */
        x->nerror++;
        x->error_status = m->status;
        return 0;
    }
    if (x->nhead < 4)
        x->heads[x->nhead] = m->status;
    x->nhead++;
    return 0;
}

static size_t f_res_room(struct sp_txn *t)
{
    struct tx *x = t->front;
    return sizeof(x->body) - x->blen;
}

static size_t f_res_data(struct sp_txn *t, const char *p, size_t len)
{
    struct tx *x = t->front;
    size_t n = SP_MIN(len, sizeof(x->body) - x->blen);

    memcpy(x->body + x->blen, p, n);
    x->blen += n;
    return n;
}

static int f_res_end(struct sp_txn *t)
{
    struct tx *x = t->front;

    if (x->end_full)
        return -EAGAIN;
    if (t->state != SP_TXN_LOCAL)
        x->nend++;
    return 0;
}

static void f_res_error(struct sp_txn *t, int status)
{
    struct tx *x = t->front;
    x->nerror++;
    x->error_status = status;
}

static void f_res_abort(struct sp_txn *t)
{
    struct tx *x = t->front;
    x->nabort++;
}

static void f_req_resume(struct sp_txn *t)
{
    struct tx *x = t->front;
    x->nresume++;
}

static const struct sp_front_ops front_ops = {
    .res_head = f_res_head,
    .res_room = f_res_room,
    .res_data = f_res_data,
    .res_swap = NULL, /* optional: every body byte goes through res_data */
    .res_end = f_res_end,
    .res_error = f_res_error,
    .res_abort = f_res_abort,
    .req_resume = f_req_resume,
};

/* Starts transaction `i` for a request head, as h1conn.c's start_txn() does: parse, route,
 * build the upstream head, start, then the end of the (empty) request body. */
static struct sp_txn *tx_start(int i, const char *req)
{
    static struct sp_h1_msg m; /* large (SP_H1_MAX_HDRS fields): not on the stack */
    struct sp_http_worker *hw = E.hw;
    struct tx *x = &E.tx[i];
    struct sp_h1_scan scan;
    struct sp_fwd fwd;
    struct sp_txn *t;

    memset(x, 0, sizeof(*x));
    sp_h1_scan_init(&scan);
    if (sp_h1_parse_request(req, strlen(req), 8192, 8192, &scan, &m) <= 0)
        return NULL;
    t = sp__txn_new(hw, &front_ops, x, E.fe);
    if (!t)
        return NULL;
    x->t = t;
    t->meth = m.meth;
    t->req_body = m.body;
    sp__route_h1(t, &E.fc, req, &m);
    sp__fwd_decide(E.fe, t->be, &E.fc.peer, &fwd);
    hw->headbuf.head = hw->headbuf.tail = 0;
    bool up_close = t->be && t->be->httpclose;
    if (sp__h1_build_request(&hw->headbuf, req, &m, &fwd, &E.fc.peer, up_close) < 0 ||
        sp__txn_set_head(t) < 0)
        return NULL;
    note(x);
    sp__txn_start(t);
    note(x);
    if (t->state != SP_TXN_DONE)
        sp__txn_req_end(t);
    note(x);
    return t;
}

static void tx_free(int i)
{
    sp__txn_free(E.tx[i].t);
    E.tx[i].t = NULL;
}

static bool body_is(const struct tx *x, const char *s)
{
    return x->blen == strlen(s) && !memcmp(x->body, s, x->blen);
}

static bool term_is(const struct sp_txn *t, const char *s)
{
    return t->term[0] == s[0] && t->term[1] == s[1];
}

/* ---- the server -------------------------------------------------------------------------- */

/* Accepts what is pending and reads what every open peer has sent. */
static void srv_poll(void)
{
    for (;;) {
        int fd = accept4(E.lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            break;
        if (E.npeer >= NPEER) {
            close(fd);
            continue;
        }
        E.peer[E.npeer++] = (struct peer){.fd = fd};
    }
    for (int i = 0; i < E.npeer; i++) {
        struct peer *p = &E.peer[i];
        while (p->fd >= 0 && !p->eof) {
            char b[1024];
            ssize_t n = recv(p->fd, b, sizeof(b), MSG_DONTWAIT);
            if (n > 0) {
                size_t k = SP_MIN((size_t)n, sizeof(p->in) - 1 - p->len);
                memcpy(p->in + p->len, b, k);
                p->len += k;
                p->in[p->len] = 0;
                continue;
            }
            if (n == 0 || errno != EAGAIN)
                p->eof = true;
            break;
        }
    }
}

static int npeers(void)
{
    srv_poll();
    return E.npeer;
}

/* Complete request heads peer `i` received. */
static int nreqs(int i)
{
    int n = 0;

    srv_poll();
    if (i >= E.npeer)
        return 0;
    for (const char *p = E.peer[i].in; (p = strstr(p, "\r\n\r\n")); p += 4)
        n++;
    return n;
}

static bool peer_eof(int i)
{
    srv_poll();
    return i < E.npeer && E.peer[i].eof;
}

static bool srv_send(int i, const char *s)
{
    size_t len = strlen(s);
    return i < E.npeer && E.peer[i].fd >= 0 &&
           send(E.peer[i].fd, s, len, MSG_NOSIGNAL) == (ssize_t)len;
}

/* The server closes peer `i`: with a FIN, or (`reset`) with an RST. */
static void srv_close(int i, bool reset)
{
    if (i >= E.npeer || E.peer[i].fd < 0)
        return;
    if (reset) {
        struct linger l = {.l_onoff = 1, .l_linger = 0};
        setsockopt(E.peer[i].fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
    }
    close(E.peer[i].fd);
    E.peer[i].fd = -1;
}

/* 127.0.0.1:0, listening; or only bound (`refused`): a connection to it is refused, and the
 * port stays ours so nothing else can take it meanwhile. */
static int server_socket(bool refused, uint16_t *ret_port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);

    if (fd < 0)
        return -1;
    if (bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || (!refused && listen(fd, 64) < 0) ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        close(fd);
        return -1;
    }
    *ret_port = ntohs(a.sin_port);
    return fd;
}

/* ---- the worker -------------------------------------------------------------------------- */

/* Builds a worker against a configuration whose `defaults` get `dflt` lines and whose one
 * server gets `srv_opts`. 0, or -1 after a failed check. */
static int env_setup(const char *dflt, const char *srv_opts, bool refused)
{
    char text[1024];
    struct sp_config *cfg = NULL;
    struct sp_routing *rt;
    int nerr = 0;

    memset(&E, 0, sizeof(E));
    E.lfd = server_socket(refused, &E.port);
    CU_ASSERT_TRUE(E.lfd >= 0);
    if (E.lfd < 0)
        return -1;
    snprintf(text, sizeof(text),
             "defaults\n"
             "    mode http\n"
             "    timeout client 5s\n"
             "    timeout server 5s\n"
             "    timeout connect 2s\n"
             "%s"
             "backend be\n"
             "    server s1 127.0.0.1:%u %s\n"
             "frontend fe\n"
             "    bind 127.0.0.1:8080\n"
             "    default_backend be\n",
             dflt, (unsigned)E.port, srv_opts);
    CU_ASSERT_EQUAL(sp_config_parse_string(text, "txn.cfg", stderr, &cfg), 0);
    if (!cfg)
        return -1;
    rt = sp_routing_build(cfg, stderr, &nerr);
    E.conf = (struct sp_http_conf){
        .bufsize = cfg->global.bufsize,
        .maxaccept = 64,
        .nworkers = 1,
        .h2_max_streams = 100,
        .server_default_maxconn = cfg->global.server_default_maxconn,
    };
    sp_config_free(cfg);
    CU_ASSERT_PTR_NOT_NULL(rt);
    if (!rt)
        return -1;
    if (sp_stats_init(1, rt->nfe, rt->nbe, rt->nsrv) < 0) {
        sp_routing_discard(rt);
        CU_FAIL("sp_stats_init");
        return -1;
    }
    E.stats_init = true;
    sp_routing_publish(rt);
    E.rt_published = true;

    sp_http_set_conf(&E.conf);
    if (sp_worker_init(&E.w, 0, -1, &sp_http_hooks) < 0) {
        CU_FAIL("sp_worker_init");
        return -1;
    }
    E.w_init = true;
    sp_this_worker = &E.w;
    E.hw_started = true; /* finish() frees whatever a failed start left */
    CU_ASSERT_EQUAL(sp_http_hooks.start(&E.w), 0);
    E.hw = E.w.proto;
    if (!E.hw || !E.hw->rt || !E.hw->pools)
        return -1;
    E.fe = sp_routing_frontend(E.hw->rt, "fe");
    CU_ASSERT_PTR_NOT_NULL(E.fe);
    if (!E.fe || !E.fe->defbe || E.fe->defbe->nsrv != 1)
        return -1;
    E.be = E.fe->defbe;
    E.srv = E.be->srv[0];
    E.fc.fe = E.fe;
    E.fc.hw = E.hw;
    struct sockaddr_in *peer = (struct sockaddr_in *)&E.fc.peer;
    peer->sin_family = AF_INET;
    peer->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    peer->sin_port = htons(40000);
    E.up = true;
    return 0;
}

static struct sp_uppool *pool(void)
{
    return &E.hw->pools[E.srv->idx];
}

static struct sp_stats_obj *srv_st(void)
{
    return &E.hw->st->srv[E.srv->idx];
}

static struct sp_stats_obj *be_st(void)
{
    return &E.hw->st->be[E.be->idx];
}

static struct sp_stats_obj *fe_st(void)
{
    return &E.hw->st->fe[E.fe->idx];
}

/* Frees every transaction, checks that nothing leaked into the free lists, and takes the
 * worker down; runs whether or not the test got to its end. */
static void env_teardown(void)
{
    if (E.hw) {
        for (int i = 0; i < NTX; i++)
            tx_free(i);
        if (E.hw->pools)
            for (int i = 0; i < E.hw->rt->nsrv; i++)
                sp_uppool_drain(&E.hw->pools[i]);
        if (E.up) {
            CU_ASSERT_EQUAL(E.hw->txn_pool.used, 0);
            CU_ASSERT_EQUAL(E.hw->upconn_pool.used, 0);
            CU_ASSERT_EQUAL(pool()->nconns, 0);
            CU_ASSERT_EQUAL(E.hw->bufs.used, 1); /* hw->headbuf only */
        }
    }
    if (E.hw_started)
        sp_http_hooks.finish(&E.w);
    if (E.w_init)
        sp_worker_destroy(&E.w);
    sp_this_worker = NULL;
    if (E.rt_published)
        sp_routing_shutdown();
    if (E.stats_init)
        sp_stats_free();
    for (int i = 0; i < E.npeer; i++)
        if (E.peer[i].fd >= 0)
            close(E.peer[i].fd);
    if (E.lfd >= 0)
        close(E.lfd);
    memset(&E, 0, sizeof(E));
}

static const char get_req[] = "GET /a HTTP/1.1\r\nHost: test\r\n\r\n";

/* Drives transaction `i` from its start to the server having its request: returns the peer
 * index, or -1 after a failed check. The peer must be the `npeer`-th accepted. */
static int to_exchange(int i, int npeer)
{
    struct sp_txn *t = tx_start(i, get_req);

    REQUIRE(t);
    WAIT(t->state == SP_TXN_CONNECTING);
    WAIT(npeers() == npeer + 1);
    WAIT(t->state == SP_TXN_EXCHANGE && nreqs(npeer) == 1);
    return npeer;
out:
    return -1;
}

/* ---- a plain GET ------------------------------------------------------------------------- */

/* NEW -> (deferred to the end of the batch) -> CONNECTING -> EXCHANGE -> DONE; the response
 * reaches the client side whole; keep-alive parks the connection. */
static void test_get_content_length_parks(void)
{
    static const char res[] = "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello";
    struct tx *x = &E.tx[0];
    struct sp_txn *t;

    REQUIRE(env_setup("", "", false) == 0);
    t = tx_start(0, get_req);
    REQUIRE(t);
    /* no idle connection: deferred to the end of the batch (a response of the same batch
     * could park one), counted nowhere as queued */
    CU_ASSERT_EQUAL(t->state, SP_TXN_QUEUED);
    CU_ASSERT_TRUE(t->wait.deferred);
    CU_ASSERT_EQUAL(srv_st()->qcur, 0);
    CU_ASSERT_EQUAL(be_st()->cur, 1);
    turn();
    REQUIRE(t->state == SP_TXN_CONNECTING);
    CU_ASSERT_PTR_NOT_NULL(t->up);
    CU_ASSERT_EQUAL(pool()->nconns, 1);
    CU_ASSERT_EQUAL(srv_st()->connect, 1);
    CU_ASSERT_EQUAL(srv_st()->cur, 1);
    WAIT(npeers() == 1);
    WAIT(nreqs(0) == 1);
    CU_ASSERT_EQUAL(t->state, SP_TXN_EXCHANGE);
    CU_ASSERT_TRUE(t->req_sent);
    CU_ASSERT_PTR_NOT_NULL(strstr(E.peer[0].in, "GET /a HTTP/1.1\r\n"));
    CU_ASSERT_EQUAL(x->nhead, 0);
    REQUIRE(srv_send(0, res));
    WAIT(t->state == SP_TXN_DONE);
    CU_ASSERT_STRING_EQUAL(x->trace, "NQCXD");
    CU_ASSERT_EQUAL(x->nhead, 1);
    CU_ASSERT_EQUAL(x->heads[0], 200);
    CU_ASSERT_TRUE(body_is(x, "hello"));
    CU_ASSERT_EQUAL(x->nend, 1);
    CU_ASSERT_EQUAL(x->nerror + x->nabort, 0);
    CU_ASSERT_EQUAL(x->nresume, 0); /* no request body: never asked for one */
    CU_ASSERT_EQUAL(t->status, 200);
    CU_ASSERT_TRUE(term_is(t, "--"));
    CU_ASSERT_EQUAL(t->retries, 0);
    CU_ASSERT_EQUAL(t->bytes_out, sizeof(res) - 1);
    /* parked: the client-side transaction no longer holds it */
    CU_ASSERT_PTR_NULL(t->up);
    CU_ASSERT_EQUAL(pool()->nidle, 1);
    CU_ASSERT_EQUAL(pool()->nconns, 1);
    CU_ASSERT_EQUAL(srv_st()->cur, 0);
    CU_ASSERT_EQUAL(be_st()->cur, 0);
    tx_free(0);
    /* accounted at free: one 2xx everywhere, the bytes on the server */
    CU_ASSERT_EQUAL(fe_st()->hrsp[1], 1);
    CU_ASSERT_EQUAL(be_st()->hrsp[1], 1);
    CU_ASSERT_EQUAL(srv_st()->hrsp[1], 1);
    CU_ASSERT_EQUAL(srv_st()->bout, (int64_t)sizeof(res) - 1);
    CU_ASSERT_EQUAL(fe_st()->req_tot, 1);
    CU_ASSERT_EQUAL(srv_st()->cli_abrt + srv_st()->srv_abrt + srv_st()->eresp, 0);
    /* the server still has the connection open */
    CU_ASSERT_FALSE(peer_eof(0));
out:
    env_teardown();
}

/* `Connection: close` in the response: the exchange ends the same way, the connection is
 * closed instead of parked. */
static void test_get_connection_close(void)
{
    struct tx *x = &E.tx[0];
    struct sp_txn *t;
    int p;

    REQUIRE(env_setup("", "", false) == 0);
    REQUIRE((p = to_exchange(0, 0)) == 0);
    t = x->t;
    REQUIRE(srv_send(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"));
    WAIT(t->state == SP_TXN_DONE);
    CU_ASSERT_TRUE(body_is(x, "ok"));
    CU_ASSERT_EQUAL(x->nend, 1);
    CU_ASSERT_EQUAL(t->status, 200);
    CU_ASSERT_TRUE(term_is(t, "--"));
    CU_ASSERT_PTR_NULL(t->up);
    CU_ASSERT_EQUAL(pool()->nidle, 0);
    CU_ASSERT_EQUAL(pool()->nconns, 0);
    WAIT(peer_eof(p)); /* the server sees the close */
out:
    env_teardown();
}

/* ---- response framing -------------------------------------------------------------------- */

/* A chunked body arriving in two pieces (cut inside a chunk) is de-framed. */
static void test_chunked(void)
{
    struct tx *x = &E.tx[0];
    struct sp_txn *t;
    int p;

    REQUIRE(env_setup("", "", false) == 0);
    REQUIRE((p = to_exchange(0, 0)) == 0);
    t = x->t;
    REQUIRE(srv_send(p, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel"));
    WAIT(x->blen == 3);
    CU_ASSERT_EQUAL(t->state, SP_TXN_EXCHANGE);
    CU_ASSERT_TRUE(t->res_started);
    CU_ASSERT_EQUAL(x->nend, 0);
    REQUIRE(srv_send(p, "lo\r\n6\r\n world\r\n0\r\n\r\n"));
    WAIT(t->state == SP_TXN_DONE);
    CU_ASSERT_TRUE(body_is(x, "hello world"));
    CU_ASSERT_EQUAL(x->nend, 1);
    CU_ASSERT_EQUAL(x->nabort, 0);
    CU_ASSERT_TRUE(term_is(t, "--"));
    CU_ASSERT_EQUAL(pool()->nidle, 1);
out:
    env_teardown();
}

/* A body delimited by the close: the server's FIN completes it (never parked); a reset
 * breaks it after the head went out: res_abort, "SD". */
static void close_delimited(bool reset)
{
    struct tx *x = &E.tx[0];
    struct sp_txn *t;
    int p;

    REQUIRE(env_setup("", "", false) == 0);
    REQUIRE((p = to_exchange(0, 0)) == 0);
    t = x->t;
    REQUIRE(srv_send(p, "HTTP/1.1 200 OK\r\n\r\nabc"));
    WAIT(x->blen == 3); /* in the client side's hands before the end comes */
    CU_ASSERT_EQUAL(t->h1s.res_body, SP_H1_BODY_CLOSE);
    CU_ASSERT_EQUAL(t->state, SP_TXN_EXCHANGE);
    srv_close(p, reset);
    WAIT(t->state == SP_TXN_DONE);
    CU_ASSERT_TRUE(body_is(x, "abc"));
    CU_ASSERT_EQUAL(x->nerror, 0);
    CU_ASSERT_EQUAL(t->status, 200);
    if (reset) {
        CU_ASSERT_EQUAL(x->nend, 0);
        CU_ASSERT_EQUAL(x->nabort, 1);
        CU_ASSERT_TRUE(term_is(t, "SD"));
        CU_ASSERT_EQUAL(srv_st()->srv_abrt, 1);
    } else {
        CU_ASSERT_EQUAL(x->nend, 1);
        CU_ASSERT_EQUAL(x->nabort, 0);
        CU_ASSERT_TRUE(term_is(t, "--"));
        CU_ASSERT_EQUAL(srv_st()->srv_abrt, 0);
    }
    CU_ASSERT_PTR_NULL(t->up);
    CU_ASSERT_EQUAL(pool()->nidle, 0);
    CU_ASSERT_EQUAL(pool()->nconns, 0);
out:
    env_teardown();
}

static void test_close_delimited_fin(void)
{
    close_delimited(false);
}

static void test_close_delimited_rst(void)
{
    close_delimited(true);
}

/* An interim 100 Continue is relayed on its own, then the final head. */
static void test_interim_100(void)
{
    struct tx *x = &E.tx[0];
    struct sp_txn *t;
    int p;

    REQUIRE(env_setup("", "", false) == 0);
    REQUIRE((p = to_exchange(0, 0)) == 0);
    t = x->t;
    REQUIRE(srv_send(p, "HTTP/1.1 100 Continue\r\n\r\n"));
    WAIT(x->nhead == 1);
    CU_ASSERT_EQUAL(x->heads[0], 100);
    CU_ASSERT_FALSE(t->res_started); /* an interim head is not the response */
    CU_ASSERT_EQUAL(t->status, 0);
    CU_ASSERT_EQUAL(t->state, SP_TXN_EXCHANGE);
    REQUIRE(srv_send(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    WAIT(t->state == SP_TXN_DONE);
    CU_ASSERT_EQUAL(x->nhead, 2);
    CU_ASSERT_EQUAL(x->heads[1], 200);
    CU_ASSERT_EQUAL(t->status, 200);
    CU_ASSERT_TRUE(body_is(x, "ok"));
    CU_ASSERT_EQUAL(x->nend, 1);
    CU_ASSERT_EQUAL(pool()->nidle, 1);

    /* again on the parked connection, both heads in one segment: the final one must not
     * wait for another event after the interim one */
    x = &E.tx[1];
    t = tx_start(1, get_req);
    REQUIRE(t);
    WAIT(nreqs(p) == 2);
    REQUIRE(srv_send(p, "HTTP/1.1 100 Continue\r\n\r\n"
                        "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nyes"));
    WAIT(t->state == SP_TXN_DONE);
    CU_ASSERT_EQUAL(x->nhead, 2);
    CU_ASSERT_EQUAL(x->heads[0], 100);
    CU_ASSERT_EQUAL(x->heads[1], 200);
    CU_ASSERT_TRUE(body_is(x, "yes"));
    CU_ASSERT_EQUAL(x->nend, 1);
    CU_ASSERT_EQUAL(pool()->nidle, 1);
    CU_ASSERT_EQUAL(pool()->opened, 1);
out:
    env_teardown();
}

/* The client side has no room for the head, then none for the end: the transaction waits
 * (no error, connection kept) and goes on when resumed. */
static void test_backpressure(void)
{
    struct tx *x = &E.tx[0];
    struct sp_txn *t;
    int p;

    REQUIRE(env_setup("", "", false) == 0);
    REQUIRE((p = to_exchange(0, 0)) == 0);
    t = x->t;
    x->head_full = x->end_full = true;
    REQUIRE(srv_send(p, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"));
    WAIT(t->up && t->up->x.rbuf.data && sp_buf_len(&t->up->x.rbuf) > 0);
    for (int i = 0; i < 3; i++)
        turn();
    CU_ASSERT_EQUAL(t->state, SP_TXN_EXCHANGE);
    CU_ASSERT_FALSE(t->res_started);
    CU_ASSERT_EQUAL(x->nhead + x->nerror + x->nabort, 0);
    x->head_full = false;
    sp__txn_res_resume(t);
    CU_ASSERT_EQUAL(x->nhead, 1);
    CU_ASSERT_TRUE(body_is(x, "ok"));
    CU_ASSERT_EQUAL(t->state, SP_TXN_EXCHANGE); /* the end does not fit yet */
    CU_ASSERT_TRUE(t->h1s.res_end_pending);
    CU_ASSERT_EQUAL(x->nend, 0);
    turn();
    CU_ASSERT_EQUAL(t->state, SP_TXN_EXCHANGE);
    x->end_full = false;
    sp__txn_res_resume(t);
    CU_ASSERT_EQUAL(t->state, SP_TXN_DONE);
    CU_ASSERT_EQUAL(x->nend, 1);
    CU_ASSERT_EQUAL(x->nabort + x->nerror, 0);
    CU_ASSERT_TRUE(term_is(t, "--"));
    CU_ASSERT_EQUAL(pool()->nidle, 1);
out:
    env_teardown();
}

/* ---- connection errors and retries ------------------------------------------------------- */

/* sp__txn_reply() right after routing, instead of sp__txn_start(): the whole response goes
 * to the client side (head, body in pieces as room allows, end), counted and flagged; a HEAD
 * gets the head alone; an empty response closes without a byte. */
static void test_reply(void)
{
    static struct sp_h1_msg m;
    static char resp[3200];
    const char *reqs[] = {get_req, "HEAD /a HTTP/1.1\r\nHost: test\r\n\r\n", get_req};

    REQUIRE(env_setup("", "", true) == 0);
    int hl = snprintf(resp, sizeof(resp),
                      "HTTP/1.1 302 Found\r\nLocation: /%0300d\r\nContent-Length: 2500\r\n\r\n", 7);
    memset(resp + hl, 'b', 2500);
    size_t len = (size_t)hl + 2500;
    for (int i = 0; i < 3; i++) {
        struct tx *x = &E.tx[i];
        struct sp_h1_scan scan;
        memset(x, 0, sizeof(*x));
        sp_h1_scan_init(&scan);
        REQUIRE(sp_h1_parse_request(reqs[i], strlen(reqs[i]), 8192, 8192, &scan, &m) > 0);
        struct sp_txn *t = sp__txn_new(E.hw, &front_ops, x, E.fe);
        REQUIRE(t);
        x->t = t;
        t->meth = m.meth;
        sp__route_h1(t, &E.fc, reqs[i], &m);
        sp__txn_reply(t, resp, i == 2 ? 0 : len, 'P', 'R');
        memset(resp + hl, 'x', 2500); /* copied: what the caller does next is not sent */
        CU_ASSERT_EQUAL(t->state, SP_TXN_DONE);
        CU_ASSERT_TRUE(term_is(t, "PR"));
        if (i == 2) {
            CU_ASSERT_EQUAL(x->nabort, 1);
            CU_ASSERT_EQUAL(x->nerror + x->blen, 0);
            CU_ASSERT_EQUAL(t->bytes_out, 0);
            memset(resp + hl, 'b', 2500);
            continue;
        }
        CU_ASSERT_EQUAL(x->nerror, 1); /* the fake counts a local answer's head there */
        CU_ASSERT_EQUAL(x->error_status, 302);
        CU_ASSERT_EQUAL(t->status, 302);
        CU_ASSERT_EQUAL(x->blen, i == 0 ? 2500u : 0u);
        CU_ASSERT_TRUE(x->blen == 0 || (x->body[0] == 'b' && x->body[2499] == 'b'));
        CU_ASSERT_EQUAL(t->bytes_out, i == 0 ? len : (size_t)hl);
        memset(resp + hl, 'b', 2500);
    }
out:
    env_teardown();
}

/* `retries 0`: a refused connection is answered 503 at once, "SC". */
static void test_refused_no_retry(void)
{
    struct tx *x = &E.tx[0];
    struct sp_txn *t;

    REQUIRE(env_setup("    retries 0\n", "", true) == 0);
    t = tx_start(0, get_req);
    REQUIRE(t);
    WAIT(t->state == SP_TXN_DONE);
    CU_ASSERT_EQUAL(x->nerror, 1);
    CU_ASSERT_EQUAL(x->error_status, 503);
    CU_ASSERT_EQUAL(x->nhead + x->nend + x->nabort, 0);
    CU_ASSERT_EQUAL(t->status, 503);
    CU_ASSERT_TRUE(term_is(t, "SC"));
    CU_ASSERT_EQUAL(t->retries, 0);
    CU_ASSERT_PTR_EQUAL(strchr(x->trace, 'W'), NULL);
    CU_ASSERT_EQUAL(srv_st()->econ, 1);
    CU_ASSERT_EQUAL(srv_st()->wretr, 0);
    CU_ASSERT_EQUAL(pool()->nconns, 0);
    CU_ASSERT_EQUAL(be_st()->cur, 0);
out:
    env_teardown();
}

/* `retries 2`: two more attempts, each after min(1 s, timeout connect) in RETRY_WAIT, then
 * the 503. */
static void test_refused_retries(void)
{
    struct tx *x = &E.tx[0];
    struct sp_txn *t;
    uint64_t t0;

    REQUIRE(env_setup("    retries 2\n    timeout connect 30ms\n", "", true) == 0);
    t0 = sp_now_ms();
    t = tx_start(0, get_req);
    REQUIRE(t);
    WAIT(t->state == SP_TXN_RETRY_WAIT);
    CU_ASSERT_EQUAL(t->retries, 1);
    CU_ASSERT_PTR_NULL(t->up);
    CU_ASSERT_EQUAL(x->nerror, 0);
    WAIT(t->state == SP_TXN_DONE);
    CU_ASSERT_TRUE(sp_now_ms() - t0 >= 2 * 30); /* both waits were served */
    CU_ASSERT_EQUAL(x->nerror, 1);
    CU_ASSERT_EQUAL(x->error_status, 503);
    CU_ASSERT_EQUAL(t->status, 503);
    CU_ASSERT_TRUE(term_is(t, "SC"));
    CU_ASSERT_EQUAL(t->retries, 2);
    CU_ASSERT_EQUAL(t->conn_retries, 0);
    CU_ASSERT_PTR_NOT_NULL(strchr(x->trace, 'W'));
    CU_ASSERT_EQUAL(x->trace[x->ntrace - 1], 'D');
    CU_ASSERT_EQUAL(srv_st()->wretr, 2);
    CU_ASSERT_EQUAL(srv_st()->econ, 1);
    CU_ASSERT_EQUAL(pool()->nconns, 0);
out:
    env_teardown();
}

/* `timeout server` runs out before the response head: 504, "sH", the connection closed. */
static void test_server_timeout(void)
{
    struct tx *x = &E.tx[0];
    struct sp_txn *t;
    int p;

    REQUIRE(env_setup("    timeout server 100ms\n", "", false) == 0);
    REQUIRE((p = to_exchange(0, 0)) == 0);
    t = x->t;
    WAIT(t->state == SP_TXN_DONE);
    CU_ASSERT_EQUAL(x->nerror, 1);
    CU_ASSERT_EQUAL(x->error_status, 504);
    CU_ASSERT_EQUAL(t->status, 504);
    CU_ASSERT_TRUE(term_is(t, "sH"));
    CU_ASSERT_EQUAL(srv_st()->eresp, 1);
    CU_ASSERT_EQUAL(pool()->nconns, 0);
    WAIT(peer_eof(p));
out:
    env_teardown();
}

/* A fresh connection closed without a byte of response: 502, "SH" (no redispatch). */
static void test_empty_fresh_502(void)
{
    struct tx *x = &E.tx[0];
    struct sp_txn *t;
    int p;

    REQUIRE(env_setup("", "", false) == 0);
    REQUIRE((p = to_exchange(0, 0)) == 0);
    t = x->t;
    srv_close(p, false);
    WAIT(t->state == SP_TXN_DONE);
    CU_ASSERT_EQUAL(x->nerror, 1);
    CU_ASSERT_EQUAL(x->error_status, 502);
    CU_ASSERT_EQUAL(t->status, 502);
    CU_ASSERT_TRUE(term_is(t, "SH"));
    CU_ASSERT_EQUAL(t->retries, 0);
    CU_ASSERT_FALSE(t->reuse_retried);
    CU_ASSERT_EQUAL(pool()->opened, 1);
    CU_ASSERT_EQUAL(pool()->nconns, 0);
    CU_ASSERT_EQUAL(srv_st()->eresp, 1);
out:
    env_teardown();
}

/* A reused connection closed on the request (the keep-alive race): an idempotent GET goes
 * once more, on a fresh connection, and succeeds. */
static void test_empty_reused_resent(void)
{
    static const char res[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    struct tx *x = &E.tx[1];
    struct sp_txn *t;

    REQUIRE(env_setup("", "", false) == 0);
    REQUIRE(to_exchange(0, 0) == 0);
    REQUIRE(srv_send(0, res));
    WAIT(E.tx[0].t->state == SP_TXN_DONE);
    REQUIRE(pool()->nidle == 1);
    tx_free(0);

    /* the second request takes the parked connection at once and goes out on it */
    t = tx_start(1, get_req);
    REQUIRE(t);
    CU_ASSERT_EQUAL(t->state, SP_TXN_EXCHANGE);
    CU_ASSERT_EQUAL(pool()->nidle, 0);
    CU_ASSERT_EQUAL(srv_st()->reuse, 1);
    WAIT(nreqs(0) == 2);
    srv_close(0, false); /* ...and the server closes it without answering */
    WAIT(npeers() == 2); /* sent again on a new connection */
    CU_ASSERT_TRUE(t->reuse_retried);
    WAIT(nreqs(1) == 1);
    CU_ASSERT_EQUAL(x->nerror, 0);
    REQUIRE(srv_send(1, res));
    WAIT(t->state == SP_TXN_DONE);
    CU_ASSERT_STRING_EQUAL(x->trace, "NXCXD");
    CU_ASSERT_EQUAL(x->nerror, 0);
    CU_ASSERT_EQUAL(x->nhead, 1);
    CU_ASSERT_TRUE(body_is(x, "ok"));
    CU_ASSERT_EQUAL(t->status, 200);
    CU_ASSERT_TRUE(term_is(t, "--"));
    CU_ASSERT_EQUAL(t->retries, 0); /* not charged to `retries` */
    CU_ASSERT_EQUAL(pool()->opened, 2);
    CU_ASSERT_EQUAL(pool()->nidle, 1);
    CU_ASSERT_EQUAL(srv_st()->connect, 2);
    CU_ASSERT_EQUAL(srv_st()->eresp, 0);
out:
    env_teardown();
}

/* ---- the pool's cap ---------------------------------------------------------------------- */

/* `maxconn 1`: a second transaction queues; `timeout queue` ends it with 503, "sQ". */
static void test_queue_timeout(void)
{
    struct tx *x = &E.tx[1];
    struct sp_txn *a, *t;

    REQUIRE(env_setup("    timeout queue 40ms\n", "maxconn 1", false) == 0);
    REQUIRE(pool()->max_conns == 1);
    a = tx_start(0, get_req);
    REQUIRE(a);
    WAIT(a->state == SP_TXN_CONNECTING);
    t = tx_start(1, get_req);
    REQUIRE(t);
    CU_ASSERT_EQUAL(t->state, SP_TXN_QUEUED);
    CU_ASSERT_TRUE(t->wait.queued);
    CU_ASSERT_FALSE(t->wait.deferred);
    CU_ASSERT_EQUAL(pool()->nwait, 1);
    CU_ASSERT_EQUAL(srv_st()->qcur, 1);
    CU_ASSERT_EQUAL(be_st()->qcur, 1);
    WAIT(t->state == SP_TXN_DONE);
    CU_ASSERT_STRING_EQUAL(x->trace, "NQD");
    CU_ASSERT_EQUAL(x->nerror, 1);
    CU_ASSERT_EQUAL(x->error_status, 503);
    CU_ASSERT_TRUE(term_is(t, "sQ"));
    CU_ASSERT_FALSE(t->wait.queued);
    CU_ASSERT_EQUAL(pool()->nwait, 0);
    CU_ASSERT_EQUAL(srv_st()->qcur, 0);
    CU_ASSERT_EQUAL(be_st()->qcur, 0);
    CU_ASSERT_EQUAL(pool()->opened, 1);
    /* the first one never noticed */
    CU_ASSERT_TRUE(a->state == SP_TXN_CONNECTING || a->state == SP_TXN_EXCHANGE);
    CU_ASSERT_TRUE(term_is(a, "--"));
out:
    env_teardown();
}

/* `maxconn 1`: when the first transaction parks its connection, the queued one takes it. */
static void test_queue_proceeds(void)
{
    static const char res[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    struct tx *x = &E.tx[1];
    struct sp_txn *a, *t;

    REQUIRE(env_setup("    timeout queue 5s\n", "maxconn 1", false) == 0);
    REQUIRE(to_exchange(0, 0) == 0);
    a = E.tx[0].t;
    t = tx_start(1, get_req);
    REQUIRE(t);
    CU_ASSERT_EQUAL(t->state, SP_TXN_QUEUED);
    CU_ASSERT_EQUAL(srv_st()->qcur, 1);
    turn();
    CU_ASSERT_EQUAL(t->state, SP_TXN_QUEUED);
    REQUIRE(srv_send(0, res));
    WAIT(a->state == SP_TXN_DONE);
    WAIT(nreqs(0) == 2); /* the second request, on the same connection */
    CU_ASSERT_EQUAL(t->state, SP_TXN_EXCHANGE);
    CU_ASSERT_EQUAL(srv_st()->qcur, 0);
    CU_ASSERT_TRUE(t->t_queued != 0 && t->t_dequeued >= t->t_queued);
    REQUIRE(srv_send(0, res));
    WAIT(t->state == SP_TXN_DONE);
    CU_ASSERT_STRING_EQUAL(x->trace, "NQXD");
    CU_ASSERT_TRUE(body_is(x, "ok"));
    CU_ASSERT_EQUAL(t->status, 200);
    CU_ASSERT_TRUE(term_is(t, "--"));
    CU_ASSERT_EQUAL(pool()->opened, 1);
    CU_ASSERT_EQUAL(srv_st()->reuse, 1);
    CU_ASSERT_EQUAL(pool()->nidle, 1);
    CU_ASSERT_EQUAL(npeers(), 1);
out:
    env_teardown();
}

/* ---- the client gives up ----------------------------------------------------------------- */

/* While connecting: "CC", the connection closed, nothing said to the client side. */
static void test_abort_connecting(void)
{
    struct tx *x = &E.tx[0];
    struct sp_txn *t;

    REQUIRE(env_setup("", "", false) == 0);
    t = tx_start(0, get_req);
    REQUIRE(t);
    WAIT(t->state == SP_TXN_CONNECTING);
    sp__txn_abort(t);
    CU_ASSERT_EQUAL(t->state, SP_TXN_DONE);
    CU_ASSERT_TRUE(term_is(t, "CC"));
    CU_ASSERT_PTR_NULL(t->up);
    CU_ASSERT_EQUAL(pool()->nconns, 0);
    CU_ASSERT_EQUAL(pool()->nidle, 0);
    CU_ASSERT_EQUAL(x->nerror + x->nabort + x->nend + x->nhead, 0);
    CU_ASSERT_EQUAL(fe_st()->cli_abrt, 1);
    CU_ASSERT_EQUAL(srv_st()->cli_abrt, 1);
    CU_ASSERT_EQUAL(srv_st()->cur, 0);
    CU_ASSERT_EQUAL(be_st()->cur, 0);
    WAIT(npeers() == 1); /* the kernel completed it: the server sees it end */
    WAIT(peer_eof(0));
out:
    env_teardown();
}

/* During the exchange, before the response: "CH", the connection closed, not parked. */
static void test_abort_exchange(void)
{
    struct tx *x = &E.tx[0];
    struct sp_txn *t;
    int p;

    REQUIRE(env_setup("", "", false) == 0);
    REQUIRE((p = to_exchange(0, 0)) == 0);
    t = x->t;
    sp__txn_abort(t);
    CU_ASSERT_EQUAL(t->state, SP_TXN_DONE);
    CU_ASSERT_TRUE(term_is(t, "CH"));
    CU_ASSERT_PTR_NULL(t->up);
    CU_ASSERT_EQUAL(pool()->nconns, 0);
    CU_ASSERT_EQUAL(pool()->nidle, 0);
    CU_ASSERT_EQUAL(x->nerror + x->nabort + x->nend, 0);
    CU_ASSERT_EQUAL(srv_st()->cli_abrt, 1);
    /* a response arriving now goes nowhere */
    srv_send(p, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    turn();
    CU_ASSERT_EQUAL(x->nhead, 0);
    WAIT(peer_eof(p));
out:
    env_teardown();
}

/* After the response head went to the client side: "CD". */
static void test_abort_data(void)
{
    struct tx *x = &E.tx[0];
    struct sp_txn *t;
    int p;

    REQUIRE(env_setup("", "", false) == 0);
    REQUIRE((p = to_exchange(0, 0)) == 0);
    t = x->t;
    REQUIRE(srv_send(p, "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc"));
    WAIT(x->blen == 3);
    sp__txn_abort(t);
    CU_ASSERT_TRUE(term_is(t, "CD"));
    CU_ASSERT_EQUAL(t->status, 200);
    CU_ASSERT_EQUAL(x->nabort + x->nend + x->nerror, 0);
    CU_ASSERT_EQUAL(pool()->nconns, 0);
    WAIT(peer_eof(p));
out:
    env_teardown();
}

/* While waiting between attempts: the retry never comes. */
static void test_abort_retry_wait(void)
{
    struct tx *x = &E.tx[0];
    struct sp_txn *t;
    uint64_t t0, opened;

    REQUIRE(env_setup("    retries 2\n    timeout connect 20ms\n", "", true) == 0);
    t = tx_start(0, get_req);
    REQUIRE(t);
    WAIT(t->state == SP_TXN_RETRY_WAIT);
    opened = pool()->opened;
    sp__txn_abort(t);
    CU_ASSERT_EQUAL(t->state, SP_TXN_DONE);
    CU_ASSERT(term_is(t, "CC")); /* between connection attempts: still connecting */
    CU_ASSERT_FALSE(sp_timer_armed(&t->timer));
    t0 = sp_now_ms();
    WAIT(sp_now_ms() - t0 >= 60); /* three times the delay */
    CU_ASSERT_EQUAL(t->state, SP_TXN_DONE);
    CU_ASSERT_EQUAL(t->retries, 1);
    CU_ASSERT_EQUAL(pool()->opened, opened);
    CU_ASSERT_EQUAL(x->nerror, 0);
out:
    env_teardown();
}

/* While queued: it leaves the queue (and its counters); the one holding the connection goes
 * on. Logged "CQ", as HAProxy does. */
static void test_abort_queued(void)
{
    static const char res[] = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
    struct sp_txn *a, *t;

    REQUIRE(env_setup("", "maxconn 1", false) == 0);
    REQUIRE(to_exchange(0, 0) == 0);
    a = E.tx[0].t;
    t = tx_start(1, get_req);
    REQUIRE(t);
    REQUIRE(t->state == SP_TXN_QUEUED);
    sp__txn_abort(t);
    CU_ASSERT_EQUAL(t->state, SP_TXN_DONE);
    CU_ASSERT(term_is(t, "CQ"));
    CU_ASSERT_FALSE(t->wait.queued);
    CU_ASSERT_EQUAL(pool()->nwait, 0);
    CU_ASSERT_EQUAL(srv_st()->qcur, 0);
    CU_ASSERT_EQUAL(be_st()->qcur, 0);
    CU_ASSERT_EQUAL(E.tx[1].nerror, 0);
    REQUIRE(srv_send(0, res));
    WAIT(a->state == SP_TXN_DONE);
    for (int i = 0; i < 3; i++)
        turn();
    CU_ASSERT_EQUAL(nreqs(0), 1); /* nothing else went out */
    CU_ASSERT_EQUAL(pool()->nidle, 1);
    CU_ASSERT_EQUAL(E.tx[1].nhead, 0);
out:
    env_teardown();
}

void test_txn_register(void)
{
    CU_pSuite s = sp_unit_suite("http/txn");
    sp_unit_test(s, "GET, Content-Length: NEW..DONE, head and body relayed, connection parked",
                 test_get_content_length_parks);
    sp_unit_test(s, "Connection: close response: connection closed, not parked",
                 test_get_connection_close);
    sp_unit_test(s, "chunked response in two pieces: de-framed", test_chunked);
    sp_unit_test(s, "close-delimited body ended by FIN: complete", test_close_delimited_fin);
    sp_unit_test(s, "close-delimited body ended by RST: res_abort, SD", test_close_delimited_rst);
    sp_unit_test(s, "100 Continue relayed, then the final head (apart, then together)",
                 test_interim_100);
    sp_unit_test(s, "no room for the head, then for the end: waits, resumes, parks",
                 test_backpressure);
    sp_unit_test(s, "sp__txn_reply() after routing: head, body, end, HEAD, empty", test_reply);
    sp_unit_test(s, "refused, retries 0: 503 SC", test_refused_no_retry);
    sp_unit_test(s, "refused, retries 2: RETRY_WAIT twice, then 503 SC", test_refused_retries);
    sp_unit_test(s, "timeout server before the head: 504 sH", test_server_timeout);
    sp_unit_test(s, "fresh connection closed without a response: 502 SH", test_empty_fresh_502);
    sp_unit_test(s, "reused connection closed on the request: GET sent again, succeeds",
                 test_empty_reused_resent);
    sp_unit_test(s, "maxconn 1: second one QUEUED, timeout queue: 503 sQ", test_queue_timeout);
    sp_unit_test(s, "maxconn 1: the queued one takes the parked connection", test_queue_proceeds);
    sp_unit_test(s, "client abort while CONNECTING: CC, closed", test_abort_connecting);
    sp_unit_test(s, "client abort during EXCHANGE: CH, closed, not parked", test_abort_exchange);
    sp_unit_test(s, "client abort after the head: CD, closed", test_abort_data);
    sp_unit_test(s, "client abort in RETRY_WAIT: no further attempt", test_abort_retry_wait);
    sp_unit_test(s, "client abort while QUEUED: leaves the queue", test_abort_queued);
}
