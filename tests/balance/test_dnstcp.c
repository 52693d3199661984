/* tests/balance/test_dnstcp.c - balance/dnstcp.c against a TCP listener of the test on
 * 127.0.0.1, on a virtual clock: the 2-byte framing, at most SP_DNSTCP_PIPELINE queries per
 * session, answers in any order and split across reads, the idle rule (half the surplus
 * closed every period, one session kept), query expiry, a session the peer closes, a
 * zero-length message. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "balance/dnstcp.h"
#include "core/config.h"
#include "tests/unit.h"

static uint16_t got[16];
static int ngot;

static void on_msg(void *arg, const uint8_t *msg, size_t len)
{
    (void)arg;
    if (len >= 2 && ngot < 16)
        got[ngot++] = (uint16_t)(msg[0] << 8 | msg[1]);
}

/* a 12-byte "query" with id `id` */
static void query(uint8_t *q, uint16_t id)
{
    memset(q, 0, 12);
    q[0] = (uint8_t)(id >> 8);
    q[1] = (uint8_t)id;
}

/* accepts one connection (waits up to 1 s); -1 if none */
static int take_conn(int ls)
{
    struct pollfd p = {.fd = ls, .events = POLLIN};
    if (poll(&p, 1, 1000) != 1)
        return -1;
    return accept(ls, NULL, NULL);
}

/* reads `n` framed 12-byte queries from `c`; their ids into ids[] */
static int read_queries(int c, int n, uint16_t *ids)
{
    uint8_t b[14];
    for (int i = 0; i < n; i++) {
        size_t have = 0;
        while (have < sizeof(b)) {
            struct pollfd p = {.fd = c, .events = POLLIN};
            if (poll(&p, 1, 1000) != 1)
                return i;
            ssize_t r = recv(c, b + have, sizeof(b) - have, 0);
            if (r <= 0)
                return i;
            have += (size_t)r;
        }
        if (b[0] != 0 || b[1] != 12)
            return -1;
        ids[i] = (uint16_t)(b[2] << 8 | b[3]);
    }
    return n;
}

static void answer(int c, uint16_t id)
{
    uint8_t b[14] = {0, 12, (uint8_t)(id >> 8), (uint8_t)id, 0x81, 0x80};
    CU_ASSERT_EQUAL(send(c, b, sizeof(b), 0), (ssize_t)sizeof(b));
}

/* runs until `want` messages arrived or 1 s passed */
static void run_for(struct sp_dnstcp *t, uint64_t now, int want)
{
    for (int i = 0; i < 50 && (ngot < want || i < 3); i++) {
        struct pollfd p[8];
        int n = sp_dnstcp_pollfds(t, p, 8);
        poll(p, (nfds_t)n, 20);
        sp_dnstcp_run(t, now, on_msg, NULL);
    }
}

static void test_sessions(void)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int ls = socket(AF_INET, SOCK_STREAM, 0);
    uint8_t q[12];
    uint16_t ids[8];

    CU_ASSERT_FATAL(ls >= 0);
    CU_ASSERT_EQUAL_FATAL(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
    CU_ASSERT_EQUAL_FATAL(listen(ls, 8), 0);
    getsockname(ls, (struct sockaddr *)&a, &al);
    struct sp_dnstcp *t = sp_dnstcp_new((struct sockaddr_storage *)&a, al, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);

    /* five queries: four pipelined on one session, the fifth opens a second */
    for (uint16_t id = 1; id <= 5; id++) {
        query(q, id);
        CU_ASSERT_EQUAL(sp_dnstcp_send(t, q, sizeof(q), id, 0), 0);
    }
    CU_ASSERT_EQUAL(sp_dnstcp_sessions(t), 2);
    CU_ASSERT_EQUAL(sp_dnstcp_timeout(t, 0, 10000), SP_DNSTCP_QUERY_TIMEOUT_MS);
    ngot = 0;
    run_for(t, 0, 0);
    int c1 = take_conn(ls), c2 = take_conn(ls);
    CU_ASSERT_FATAL(c1 >= 0 && c2 >= 0);
    run_for(t, 0, 0); /* connected: the queries go out */
    /* the first query of each: the session with id 1 is the one with four */
    uint16_t f1, f2;
    CU_ASSERT_EQUAL_FATAL(read_queries(c1, 1, &f1), 1);
    CU_ASSERT_EQUAL_FATAL(read_queries(c2, 1, &f2), 1);
    if (f1 != 1) {
        int x = c1;
        c1 = c2;
        c2 = x;
        f2 = f1;
    }
    CU_ASSERT_EQUAL(f2, 5);
    CU_ASSERT_EQUAL_FATAL(read_queries(c1, 3, ids), 3);
    CU_ASSERT_EQUAL(ids[0], 2);
    CU_ASSERT_EQUAL(ids[2], 4);

    /* answers in reverse order; the last one split across two reads */
    answer(c1, 4);
    answer(c1, 3);
    answer(c1, 2);
    uint8_t half[14] = {0, 12, 0, 1, 0x81, 0x80};
    send(c1, half, 1, 0);
    run_for(t, 10, 3);
    send(c1, half + 1, 13, 0);
    answer(c2, 5);
    run_for(t, 10, 5);
    CU_ASSERT_EQUAL_FATAL(ngot, 5);
    CU_ASSERT_EQUAL(got[0], 4);
    CU_ASSERT_EQUAL(got[3], 1);
    CU_ASSERT_EQUAL(got[4], 5);

    /* the idle rule: two busy at the peak, none now: one closed, then one kept */
    sp_dnstcp_run(t, SP_DNSTCP_IDLE_PERIOD_MS, on_msg, NULL);
    CU_ASSERT_EQUAL(sp_dnstcp_sessions(t), 1);
    sp_dnstcp_run(t, 2 * SP_DNSTCP_IDLE_PERIOD_MS, on_msg, NULL);
    CU_ASSERT_EQUAL(sp_dnstcp_sessions(t), 1);

    /* a query never answered expires; the session takes four more afterwards */
    uint64_t now = 2 * SP_DNSTCP_IDLE_PERIOD_MS;
    query(q, 9);
    CU_ASSERT_EQUAL(sp_dnstcp_send(t, q, sizeof(q), 9, now), 0);
    sp_dnstcp_run(t, now + SP_DNSTCP_QUERY_TIMEOUT_MS, on_msg, NULL);
    for (uint16_t id = 10; id < 14; id++) {
        query(q, id);
        CU_ASSERT_EQUAL(sp_dnstcp_send(t, q, sizeof(q), id, now), 0);
    }
    CU_ASSERT_EQUAL(sp_dnstcp_sessions(t), 1);

    /* a zero-length message ends the session (whichever of c1 and c2 it is) */
    uint8_t zero[2] = {0, 0};
    send(c1, zero, 2, 0);
    send(c2, zero, 2, 0);
    for (int i = 0; i < 50 && sp_dnstcp_sessions(t); i++) {
        usleep(2000);
        sp_dnstcp_run(t, now + SP_DNSTCP_QUERY_TIMEOUT_MS, on_msg, NULL);
    }
    CU_ASSERT_EQUAL(sp_dnstcp_sessions(t), 0);

    /* the peer closes: the session goes; the next query opens a new one */
    query(q, 20);
    CU_ASSERT_EQUAL(sp_dnstcp_send(t, q, sizeof(q), 20, now), 0);
    int c3 = take_conn(ls);
    CU_ASSERT_FATAL(c3 >= 0);
    close(c3);
    for (int i = 0; i < 50 && sp_dnstcp_sessions(t); i++) {
        usleep(2000);
        sp_dnstcp_run(t, now, on_msg, NULL);
    }
    CU_ASSERT_EQUAL(sp_dnstcp_sessions(t), 0);
    /* more than the sessions can carry: refused, not queued without bound */
    int refused = 0;
    for (uint16_t id = 30; id < 30 + SP_CFG_DNS_TCP_SESSIONS * SP_DNSTCP_PIPELINE + 1; id++) {
        query(q, id);
        refused += sp_dnstcp_send(t, q, sizeof(q), id, now) == -EAGAIN;
    }
    CU_ASSERT_EQUAL(refused, 1);

    sp_dnstcp_free(t);
    close(c1);
    close(c2);
    close(ls);
}

void test_dnstcp_register(void)
{
    CU_pSuite s = sp_unit_suite("balance/dnstcp");
    sp_unit_test(s, "sessions: pipeline, order, split reads, idle, expiry, close", test_sessions);
}
