/* tests/balance/test_resolver.c - balance/resolver.c against a fake nameserver (a UDP socket
 * of the test on 127.0.0.1) on a virtual clock: slots of a server-template take, keep and
 * lose addresses, `hold obsolete`, retries and `hold timeout`, NX and `hold nx`, junk. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "balance/balance.h"
#include "balance/dns.h"
#include "balance/health.h"
#include "balance/resolver.h"
#include "core/config.h"
#include "tests/unit.h"

static int nevents, nlines;

static void on_event(void *arg, const struct sp_server *s, enum sp_srv_change ch, const char *msg)
{
    (void)arg;
    (void)msg;
    if (s && ch != SP_SRV_CH_NONE)
        nevents++;
    else
        nlines++;
}

/* The next query the resolver sent to `ns` (waits up to 1 s): its bytes, or 0. */
static ssize_t take_query(int ns, uint8_t *q, size_t size, struct sockaddr_in *from)
{
    struct pollfd p = {.fd = ns, .events = POLLIN};
    socklen_t fl = sizeof(*from);

    if (poll(&p, 1, 1000) != 1)
        return 0;
    return recvfrom(ns, q, size, 0, (struct sockaddr *)from, &fl);
}

/* Answers the pending query with `n` A records (dotted quads) and `rcode`. */
static void answer(int ns, const char *const *addrs, int n, int rcode)
{
    uint8_t q[512], r[1024];
    struct sockaddr_in from;
    ssize_t len = take_query(ns, q, sizeof(q), &from);

    CU_ASSERT_FATAL(len > 12);
    memcpy(r, q, (size_t)len);
    r[2] = 0x81;
    r[3] = (uint8_t)(0x80 | rcode);
    r[11] = 0; /* no OPT back */
    /* the question ends 4 bytes after its name's root label */
    size_t qend = 12;
    while (q[qend])
        qend += 1 + q[qend];
    qend += 5;
    int qtype = q[qend - 3];
    size_t off = qend;
    r[7] = qtype == SP_DNS_T_A ? (uint8_t)n : 0;
    for (int i = 0; qtype == SP_DNS_T_A && i < n; i++) {
        uint8_t rr[12] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4};
        memcpy(r + off, rr, sizeof(rr));
        inet_pton(AF_INET, addrs[i], r + off + 12);
        off += 16;
    }
    CU_ASSERT_EQUAL(sendto(ns, r, off, 0, (struct sockaddr *)&from, sizeof(from)), (ssize_t)off);
}

/* Runs the resolver at `t` once what it waits for has arrived. */
static void run_at(struct sp_resolvers *rs, uint64_t t)
{
    struct pollfd p[8];
    int n = sp_resolvers_pollfds(rs, p, 8);
    poll(p, (nfds_t)n, 20);
    sp_resolvers_run(rs, t);
}

/* "ADDR/RMAINT ADDR/RMAINT" of the backend's servers ("-" for no address) */
static const char *state(const struct sp_backend *be)
{
    static char buf[256];
    size_t o = 0;

    buf[0] = '\0';
    for (int i = 0; i < be->nsrv; i++) {
        struct sp_srv_hstate st;
        char ip[64] = "-";
        sp_srv_health_read(be->srv[i]->h, &st);
        if (st.addr.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&st.addr)->sin_addr, ip, sizeof(ip));
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s%s", i ? " " : "", ip,
                              (st.admin & SP_SRV_RMAINT) ? "/R" : "");
    }
    return buf;
}

static void test_slots(void)
{
    int ns = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    char text[1024];
    struct sp_config *cfg = NULL;
    int nerr = -1, err;
    char why[128];

    CU_ASSERT_FATAL(ns >= 0);
    CU_ASSERT_EQUAL_FATAL(bind(ns, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(ns, (struct sockaddr *)&a, &al);
    snprintf(text, sizeof(text),
             "resolvers dns\n nameserver ns1 127.0.0.1:%d\n timeout resolve 100ms\n"
             " timeout retry 50ms\n resolve_retries 2\n hold obsolete 300ms\n hold nx 500ms\n"
             " hold timeout 400ms\ndefaults\n mode http\n timeout client 1s\n timeout server 1s\n"
             " timeout connect 1s\nbackend b\n server-template s 2 app.test:80 resolvers dns "
             "init-addr none resolve-prefer ipv4\n",
             ntohs(a.sin_port));
    CU_ASSERT_EQUAL_FATAL(sp_config_parse_string(text, "t.cfg", stderr, &cfg), 0);
    struct sp_routing *r = sp_routing_build(cfg, stderr, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const struct sp_backend *be = r->be[0];
    CU_ASSERT_STRING_EQUAL(state(be), "-/R -/R");
    struct sp_resolvers *rs =
        sp_resolvers_start(cfg, r, on_event, NULL, 1000, &err, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_EQUAL(sp_resolvers_timeout(rs, 1000, 200), 0);

    /* two addresses: both slots up */
    const char *two[] = {"10.0.0.1", "10.0.0.2"}, *second[] = {"10.0.0.2"};
    sp_resolvers_run(rs, 1000);
    answer(ns, two, 2, 0);
    run_at(rs, 1000);
    CU_ASSERT_STRING_EQUAL(state(be), "10.0.0.1 10.0.0.2");
    CU_ASSERT_EQUAL(nevents, 2);
    CU_ASSERT_EQUAL(sp_resolvers_timeout(rs, 1000, 200), 100);
    /* 10.0.0.1 leaves the answer: kept for hold obsolete (300 ms) */
    sp_resolvers_run(rs, 1100);
    answer(ns, second, 1, 0);
    run_at(rs, 1100);
    CU_ASSERT_STRING_EQUAL(state(be), "10.0.0.1 10.0.0.2");
    sp_resolvers_run(rs, 1400);
    answer(ns, second, 1, 0);
    run_at(rs, 1400);
    CU_ASSERT_STRING_EQUAL(state(be), "10.0.0.1/R 10.0.0.2");
    /* no answer: retried after timeout retry, failed after resolve_retries, held 400 ms */
    sp_resolvers_run(rs, 1500);
    uint8_t q[512];
    struct sockaddr_in from;
    CU_ASSERT(take_query(ns, q, sizeof(q), &from) > 0);
    sp_resolvers_run(rs, 1550);
    CU_ASSERT(take_query(ns, q, sizeof(q), &from) > 0); /* the retry */
    sp_resolvers_run(rs, 1600);                         /* failed; 200 ms since valid: held */
    CU_ASSERT_STRING_EQUAL(state(be), "10.0.0.1/R 10.0.0.2");
    sp_resolvers_run(rs, 1700);
    CU_ASSERT(take_query(ns, q, sizeof(q), &from) > 0);
    sp_resolvers_run(rs, 1750);
    CU_ASSERT(take_query(ns, q, sizeof(q), &from) > 0);
    sp_resolvers_run(rs, 1810); /* 410 ms since valid: past hold timeout */
    CU_ASSERT_STRING_EQUAL(state(be), "10.0.0.1/R 10.0.0.2/R");
    /* back, then NX: held 500 ms */
    sp_resolvers_run(rs, 1910);
    answer(ns, two, 2, 0);
    run_at(rs, 1910);
    CU_ASSERT_STRING_EQUAL(state(be), "10.0.0.1 10.0.0.2");
    sp_resolvers_run(rs, 2010);
    answer(ns, NULL, 0, SP_DNS_RC_NX);
    run_at(rs, 2010);
    CU_ASSERT_STRING_EQUAL(state(be), "10.0.0.1 10.0.0.2");
    sp_resolvers_run(rs, 2420);
    answer(ns, NULL, 0, SP_DNS_RC_NX);
    run_at(rs, 2420);
    CU_ASSERT_STRING_EQUAL(state(be), "10.0.0.1/R 10.0.0.2/R");
    /* junk from the nameserver: one log line, nothing changes */
    int lines = nlines;
    sp_resolvers_run(rs, 2530);
    CU_ASSERT(take_query(ns, q, sizeof(q), &from) > 0);
    q[2] = 0x81;
    q[7] = 9; /* nine answers that are not there */
    sendto(ns, q, 30, 0, (struct sockaddr *)&from, sizeof(from));
    run_at(rs, 2530);
    CU_ASSERT_EQUAL(nlines, lines + 1);
    CU_ASSERT_STRING_EQUAL(state(be), "10.0.0.1/R 10.0.0.2/R");

    sp_resolvers_free(rs);
    sp_routing_discard(r);
    sp_config_free(cfg);
    close(ns);
}

/* resolve-prefer ipv6 (HAProxy's default): AAAA first; an empty AAAA answer asks A next */
static void test_families(void)
{
    int ns = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    char text[1024], why[128];
    struct sp_config *cfg = NULL;
    int nerr = -1, err;
    uint8_t q[512], r[512];
    struct sockaddr_in from;

    CU_ASSERT_FATAL(ns >= 0);
    CU_ASSERT_EQUAL_FATAL(bind(ns, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(ns, (struct sockaddr *)&a, &al);
    snprintf(text, sizeof(text),
             "resolvers dns\n nameserver ns1 127.0.0.1:%d\ndefaults\n mode http\n"
             " timeout client 1s\n timeout server 1s\n timeout connect 1s\nbackend b\n"
             " server six v6.test:8443 resolvers dns init-addr none\n"
             " server four v4.test:80 resolvers dns init-addr none\n",
             ntohs(a.sin_port));
    CU_ASSERT_EQUAL_FATAL(sp_config_parse_string(text, "t.cfg", stderr, &cfg), 0);
    struct sp_routing *rt = sp_routing_build(cfg, stderr, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
    struct sp_resolvers *rs =
        sp_resolvers_start(cfg, rt, on_event, NULL, 0, &err, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    sp_resolvers_run(rs, 0); /* two AAAA queries */
    for (int k = 0; k < 2; k++) {
        ssize_t len = take_query(ns, q, sizeof(q), &from);
        CU_ASSERT_FATAL(len > 12);
        bool six = memcmp(q + 13, "v6", 2) == 0;
        size_t qend = 12 + 1 + 2 + 1 + 4 + 1 + 4; /* 2v64test0 + type + class */
        CU_ASSERT_EQUAL(q[qend - 3], SP_DNS_T_AAAA);
        memcpy(r, q, qend);
        r[2] = 0x81;
        r[3] = 0x80;
        r[7] = six ? 1 : 0;
        r[11] = 0;
        size_t off = qend;
        if (six) {
            uint8_t rr[12] = {0xc0, 12, 0, 28, 0, 1, 0, 0, 0, 30, 0, 16};
            memcpy(r + off, rr, sizeof(rr));
            inet_pton(AF_INET6, "2001:db8::7", r + off + 12);
            off += 28;
        }
        sendto(ns, r, off, 0, (struct sockaddr *)&from, sizeof(from));
    }
    run_at(rs, 0);
    run_at(rs, 0);
    /* v4.test answered no AAAA: its A question follows */
    const char *one[] = {"10.0.0.4"};
    answer(ns, one, 1, 0);
    run_at(rs, 0);
    struct sp_srv_hstate st;
    sp_srv_health_read(rt->be[0]->srv[0]->h, &st);
    CU_ASSERT_EQUAL(st.addr.ss_family, AF_INET6);
    CU_ASSERT_EQUAL(ntohs(((struct sockaddr_in6 *)&st.addr)->sin6_port), 8443);
    CU_ASSERT_FALSE(st.admin & SP_SRV_RMAINT);
    CU_ASSERT_STRING_EQUAL(state(rt->be[0]), "- 10.0.0.4");

    sp_resolvers_free(rs);
    sp_routing_discard(rt);
    sp_config_free(cfg);
    close(ns);
}

/* the fake zone of test_srv(): the SRV records (0, 1 or 2 of them) and b.test's A record */
static int srv_nrec = 2;

static void put_name(uint8_t *r, size_t *off, const char *name)
{
    for (const char *p = name; *p;) {
        size_t l = strcspn(p, ".");
        r[(*off)++] = (uint8_t)l;
        memcpy(r + *off, p, l);
        *off += l;
        p += l + (p[l] == '.');
    }
    r[(*off)++] = 0;
}

/* Answers the next query: SRV for the record (a.test:8080 weight 512 with 10.0.0.1 in the
 * Additional section, b.test:8081 weight 0 without), A for b.test (10.0.0.2). Returns the
 * type asked, 0 when none came. */
static int serve(int ns)
{
    uint8_t q[512], r[1024];
    struct sockaddr_in from;
    ssize_t len = take_query(ns, q, sizeof(q), &from);

    if (len <= 12)
        return 0;
    size_t qend = 12;
    while (q[qend])
        qend += 1 + q[qend];
    qend += 5;
    int qtype = q[qend - 3];
    memcpy(r, q, qend);
    r[2] = 0x81;
    r[3] = 0x80;
    r[11] = 0;
    size_t off = qend;
    if (qtype == SP_DNS_T_SRV) {
        static const struct {
            uint16_t w, port;
            const char *target;
        } recs[] = {{512, 8080, "a.test"}, {0, 8081, "b.test"}};
        int first = srv_nrec == 1 ? 1 : 0; /* one record: b.test's */
        r[7] = (uint8_t)(srv_nrec);
        for (int i = first; i < first + srv_nrec; i++) {
            uint8_t rr[10] = {0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 30};
            memcpy(r + off, rr, sizeof(rr));
            size_t rdlen_at = off + 10;
            off += 12;
            uint8_t fixed[6] = {0,
                                1,
                                (uint8_t)(recs[i].w >> 8),
                                (uint8_t)recs[i].w,
                                (uint8_t)(recs[i].port >> 8),
                                (uint8_t)recs[i].port};
            memcpy(r + off, fixed, 6);
            off += 6;
            put_name(r, &off, recs[i].target);
            r[rdlen_at] = 0;
            r[rdlen_at + 1] = (uint8_t)(off - rdlen_at - 2);
        }
        if (first == 0 && srv_nrec) { /* a.test's address in the Additional section */
            r[11] = 1;
            put_name(r, &off, "a.test");
            uint8_t rr[14] = {0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, 1};
            memcpy(r + off, rr, sizeof(rr));
            off += sizeof(rr);
        }
    } else if (qtype == SP_DNS_T_A) {
        r[7] = 1;
        uint8_t rr[16] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, 2};
        memcpy(r + off, rr, sizeof(rr));
        off += sizeof(rr);
    }
    sendto(ns, r, off, 0, (struct sockaddr *)&from, sizeof(from));
    return qtype;
}

/* "ADDR:PORT/W/RMAINT" of a server */
static const char *srv_state(const struct sp_server *s)
{
    static char buf[96];
    struct sp_srv_hstate st;
    char ip[64] = "-";

    sp_srv_health_read(s->h, &st);
    if (st.addr.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&st.addr)->sin_addr, ip, sizeof(ip));
    snprintf(buf, sizeof(buf), "%s:%d/%d%s %s", ip,
             st.addr.ss_family == AF_INET ? ntohs(((struct sockaddr_in *)&st.addr)->sin_port) : 0,
             st.uweight, (st.admin & SP_SRV_RMAINT) ? "/R" : "", s->srv_target);
    return buf;
}

/* SRV: target, port and scaled weight per slot; an Additional address, or the target's own A
 * question; a record that leaves sends its slot to maintenance with everything cleared */
static void test_srv(void)
{
    int ns = socket(AF_INET, SOCK_DGRAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    char text[1024], why[128];
    struct sp_config *cfg = NULL;
    int nerr = -1, err;

    CU_ASSERT_FATAL(ns >= 0);
    CU_ASSERT_EQUAL_FATAL(bind(ns, (struct sockaddr *)&a, sizeof(a)), 0);
    getsockname(ns, (struct sockaddr *)&a, &al);
    snprintf(text, sizeof(text),
             "resolvers dns\n nameserver ns1 127.0.0.1:%d\n timeout resolve 100ms\n"
             "defaults\n mode http\n timeout client 1s\n timeout server 1s\n"
             " timeout connect 1s\nbackend b\n server-template s 2 _http._tcp.app.test "
             "resolvers dns resolve-prefer ipv4\n",
             ntohs(a.sin_port));
    CU_ASSERT_EQUAL_FATAL(sp_config_parse_string(text, "t.cfg", stderr, &cfg), 0);
    struct sp_routing *rt = sp_routing_build(cfg, stderr, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
    const struct sp_backend *be = rt->be[0];
    struct sp_resolvers *rs =
        sp_resolvers_start(cfg, rt, on_event, NULL, 0, &err, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    CU_ASSERT_STRING_EQUAL(srv_state(be->srv[0]), "-:0/1/R ");

    srv_nrec = 2;
    sp_resolvers_run(rs, 0);
    CU_ASSERT_EQUAL(serve(ns), SP_DNS_T_SRV);
    run_at(rs, 0);
    CU_ASSERT_STRING_EQUAL(srv_state(be->srv[0]), "10.0.0.1:8080/2 a.test");
    CU_ASSERT_STRING_EQUAL(srv_state(be->srv[1]), "-:0/0/R b.test"); /* its A question is out */
    CU_ASSERT_EQUAL(serve(ns), SP_DNS_T_A);
    run_at(rs, 0);
    CU_ASSERT_STRING_EQUAL(srv_state(be->srv[1]), "10.0.0.2:8081/0 b.test");
    /* a.test's record leaves: its slot is emptied; b.test's stays */
    srv_nrec = 1;
    sp_resolvers_run(rs, 100);
    CU_ASSERT_EQUAL(serve(ns), SP_DNS_T_SRV);
    run_at(rs, 100);
    CU_ASSERT_STRING_EQUAL(srv_state(be->srv[0]), "-:0/2/R ");
    CU_ASSERT_STRING_EQUAL(srv_state(be->srv[1]), "10.0.0.2:8081/0 b.test");
    CU_ASSERT_EQUAL(serve(ns), SP_DNS_T_A); /* b.test asked again, as often as the record */
    run_at(rs, 100);
    /* no record at all: NX past `hold nx` empties every slot */
    srv_nrec = 0;
    sp_resolvers_run(rs, 40000);
    CU_ASSERT_EQUAL(serve(ns), SP_DNS_T_SRV);
    run_at(rs, 40000);
    CU_ASSERT_STRING_EQUAL(srv_state(be->srv[1]), "-:0/0/R ");

    sp_resolvers_free(rs);
    sp_routing_discard(rt);

    /* a slot the server state file gave b.test:8081 takes that record back at the first
     * answer, though a.test comes first in it */
    rt = sp_routing_build(cfg, stderr, &nerr);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rt);
    be = rt->be[0];
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(8081)};
    inet_pton(AF_INET, "10.0.0.2", &sa.sin_addr);
    sp_srv_set_addr(be->srv[0]->h, (struct sockaddr_storage *)&sa, sizeof(sa));
    sp_srv_set_rmaint(be->srv[0]->h, false, 0);
    snprintf(be->srv[0]->srv_target, 256, "b.test");
    rs = sp_resolvers_start(cfg, rt, on_event, NULL, 0, &err, why, sizeof(why));
    CU_ASSERT_PTR_NOT_NULL_FATAL(rs);
    srv_nrec = 2;
    sp_resolvers_run(rs, 0);
    CU_ASSERT_EQUAL(serve(ns), SP_DNS_T_SRV);
    run_at(rs, 0);
    CU_ASSERT_STRING_EQUAL(srv_state(be->srv[0]), "10.0.0.2:8081/0 b.test");
    CU_ASSERT_STRING_EQUAL(srv_state(be->srv[1]), "10.0.0.1:8080/2 a.test");

    sp_resolvers_free(rs);
    sp_routing_discard(rt);
    sp_config_free(cfg);
    close(ns);
}

void test_resolver_register(void)
{
    CU_pSuite s = sp_unit_suite("balance/resolver");
    sp_unit_test(s, "template slots: take, hold obsolete, retries, hold timeout, NX, junk",
                 test_slots);
    sp_unit_test(s, "resolve-prefer ipv6: AAAA, then A after an empty AAAA", test_families);
    sp_unit_test(s, "SRV: targets, ports, weights, Additional or own A, records leaving", test_srv);
}
