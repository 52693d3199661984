/* tests/balance/test_dns.c - balance/dns.c: queries, answers, and malformed packets (bounded,
 * never a crash), and the RMAINT flag of balance/health.c. */
#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "balance/dns.h"
#include "balance/health.h"
#include "tests/unit.h"

/* A response to (id, name, qtype) with `n` A records 10.0.0.1.. and rcode `rc`. */
static size_t response(uint8_t *b, uint16_t id, const char *name, int qtype, int n, int rc)
{
    int len = sp_dns_query_build(id, name, qtype, 0, b, 512);
    size_t off = (size_t)len;

    b[2] = 0x81;
    b[3] = (uint8_t)(0x80 | rc);
    b[7] = (uint8_t)n;
    for (int i = 0; i < n; i++) {
        uint8_t rr[] = {0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, (uint8_t)(i + 1)};
        memcpy(b + off, rr, sizeof(rr));
        off += sizeof(rr);
    }
    return off;
}

static void test_query(void)
{
    uint8_t b[512];
    int len = sp_dns_query_build(0x1234, "app.test", SP_DNS_T_A, 0, b, sizeof(b));

    CU_ASSERT_EQUAL(len, 12 + 10 + 4);
    CU_ASSERT_EQUAL(b[0], 0x12);
    CU_ASSERT_EQUAL(b[12], 3);
    CU_ASSERT_EQUAL(memcmp(b + 13, "app\4test\0", 9), 0);
    CU_ASSERT_EQUAL(sp_dns_packet_id(b, (size_t)len), 0x1234);
    /* an OPT record when the payload is above 512 */
    CU_ASSERT_EQUAL(sp_dns_query_build(1, "app.test.", SP_DNS_T_AAAA, 1232, b, sizeof(b)),
                    12 + 10 + 4 + 11);
    CU_ASSERT_EQUAL(b[11], 1);
    CU_ASSERT_EQUAL(sp_dns_query_build(1, "a..b", SP_DNS_T_A, 0, b, sizeof(b)), -EINVAL);
    CU_ASSERT_EQUAL(sp_dns_query_build(1, "", SP_DNS_T_A, 0, b, sizeof(b)), -EINVAL);
    CU_ASSERT_EQUAL(sp_dns_query_build(1, "app.test", SP_DNS_T_A, 0, b, 20), -EINVAL);
}

static void test_answer(void)
{
    uint8_t b[1024];
    struct sp_dns_answer a;
    size_t len = response(b, 7, "app.test", SP_DNS_T_A, 3, 0);

    CU_ASSERT_EQUAL(sp_dns_answer_parse(b, len, 7, "APP.test.", SP_DNS_T_A, &a), 0);
    CU_ASSERT_EQUAL(a.rcode, 0);
    CU_ASSERT_EQUAL(a.naddr, 3);
    CU_ASSERT_EQUAL(a.addr[2].family, AF_INET);
    CU_ASSERT_EQUAL(a.addr[2].addr[3], 3);
    CU_ASSERT_EQUAL(a.addr[0].ttl, 30);
    /* another id, name or type: not ours */
    CU_ASSERT_EQUAL(sp_dns_answer_parse(b, len, 8, "app.test", SP_DNS_T_A, &a), -ESRCH);
    CU_ASSERT_EQUAL(sp_dns_answer_parse(b, len, 7, "other.test", SP_DNS_T_A, &a), -ESRCH);
    CU_ASSERT_EQUAL(sp_dns_answer_parse(b, len, 7, "app.test", SP_DNS_T_AAAA, &a), -ESRCH);
    /* NXDOMAIN */
    len = response(b, 9, "app.test", SP_DNS_T_A, 0, SP_DNS_RC_NX);
    CU_ASSERT_EQUAL(sp_dns_answer_parse(b, len, 9, "app.test", SP_DNS_T_A, &a), 0);
    CU_ASSERT_EQUAL(a.rcode, SP_DNS_RC_NX);
    CU_ASSERT_EQUAL(a.naddr, 0);
}

static void test_malformed(void)
{
    uint8_t b[1024];
    struct sp_dns_answer a;
    size_t len = response(b, 7, "app.test", SP_DNS_T_A, 2, 0);

    /* every truncation is refused or ignored, never read past */
    for (size_t l = 0; l < len; l++) {
        int r = sp_dns_answer_parse(b, l, 7, "app.test", SP_DNS_T_A, &a);
        CU_ASSERT(r == -EINVAL || r == -ESRCH);
    }
    /* a compression loop: the pointer points at itself */
    len = response(b, 7, "app.test", SP_DNS_T_A, 1, 0);
    b[26] = 0xc0;
    b[27] = 26;
    CU_ASSERT_EQUAL(sp_dns_answer_parse(b, len, 7, "app.test", SP_DNS_T_A, &a), -EINVAL);
    /* an A record of 5 bytes */
    len = response(b, 7, "app.test", SP_DNS_T_A, 1, 0);
    b[len - 5] = 5;
    CU_ASSERT_EQUAL(sp_dns_answer_parse(b, len, 7, "app.test", SP_DNS_T_A, &a), -EINVAL);
    /* an answer count far above what is there */
    len = response(b, 7, "app.test", SP_DNS_T_A, 1, 0);
    b[6] = 0xff;
    CU_ASSERT_EQUAL(sp_dns_answer_parse(b, len, 7, "app.test", SP_DNS_T_A, &a), -EINVAL);
    /* random bytes after a valid header: never a crash */
    for (unsigned seed = 1; seed < 2000; seed++) {
        len = response(b, 7, "app.test", SP_DNS_T_A, 2, 0);
        unsigned x = seed;
        for (int k = 0; k < 4; k++) {
            x = x * 1103515245u + 12345u;
            b[26 + (x >> 8) % (len - 26)] = (uint8_t)(x >> 16);
        }
        (void)sp_dns_answer_parse(b, len, 7, "app.test", SP_DNS_T_A, &a);
    }
}

/* An SRV response for `_http._tcp.app.test`: two records (a.test:8080 weight 512 priority 10,
 * b.test:8081 weight 0 priority 20, its target compressed), one NS record in Authority, and
 * an A record for a.test in Additional. Returns its length. */
static size_t srv_response(uint8_t *b, uint16_t id)
{
    int len = sp_dns_query_build(id, "_http._tcp.app.test", SP_DNS_T_SRV, 0, b, 512);
    size_t off = (size_t)len, atarget;
    static const uint8_t a_name[] = {1, 'a', 4, 't', 'e', 's', 't', 0};

    b[2] = 0x81;
    b[3] = 0x80;
    b[7] = 2;  /* answers */
    b[9] = 1;  /* authority */
    b[11] = 1; /* additional */
    uint8_t rr1[] = {0xc0, 12, 0, 33, 0, 1, 0, 0, 0, 30, 0, 6 + 8, 0, 10, 2, 0, 0x1f, 0x90};
    memcpy(b + off, rr1, sizeof(rr1));
    off += sizeof(rr1);
    atarget = off;
    memcpy(b + off, a_name, sizeof(a_name));
    off += sizeof(a_name);
    /* b.test as "1b" + a pointer to a.test's "test" label */
    uint8_t rr2[] = {0xc0,  12, 0,  33, 0, 1,    0,    0, 0,   30,   0,
                     6 + 4, 0,  20, 0,  0, 0x1f, 0x91, 1, 'b', 0xc0, (uint8_t)(atarget + 2)};
    memcpy(b + off, rr2, sizeof(rr2));
    off += sizeof(rr2);
    uint8_t ns[] = {0xc0, 12, 0, 2, 0, 1, 0, 0, 0, 30, 0, 2, 0xc0, (uint8_t)atarget};
    memcpy(b + off, ns, sizeof(ns));
    off += sizeof(ns);
    uint8_t ar[] = {0xc0, (uint8_t)atarget, 0, 1, 0, 1, 0, 0, 0, 30, 0, 4, 10, 0, 0, 9};
    memcpy(b + off, ar, sizeof(ar));
    off += sizeof(ar);
    return off;
}

static void test_srv(void)
{
    uint8_t b[1024];
    struct sp_dns_answer a;
    size_t len = srv_response(b, 5);

    CU_ASSERT_EQUAL_FATAL(sp_dns_answer_parse(b, len, 5, "_http._tcp.app.test", SP_DNS_T_SRV, &a),
                          0);
    CU_ASSERT_EQUAL(a.naddr, 0);
    CU_ASSERT_EQUAL_FATAL(a.nsrv, 2);
    CU_ASSERT_STRING_EQUAL(a.srv[0].target, "a.test");
    CU_ASSERT_EQUAL(a.srv[0].port, 8080);
    CU_ASSERT_EQUAL(a.srv[0].weight, 512);
    CU_ASSERT_EQUAL(a.srv[0].priority, 10);
    CU_ASSERT_EQUAL(a.srv[0].family, AF_INET); /* from the Additional section */
    CU_ASSERT_EQUAL(a.srv[0].addr[3], 9);
    CU_ASSERT_STRING_EQUAL(a.srv[1].target, "b.test");
    CU_ASSERT_EQUAL(a.srv[1].port, 8081);
    CU_ASSERT_EQUAL(a.srv[1].weight, 0);
    CU_ASSERT_EQUAL(a.srv[1].family, 0); /* none: resolved on its own */
    /* an A question of the same name is another question */
    CU_ASSERT_EQUAL(sp_dns_answer_parse(b, len, 5, "_http._tcp.app.test", SP_DNS_T_A, &a), -ESRCH);
    /* every truncation is refused or ignored, never read past */
    for (size_t l = 0; l < len; l++) {
        int r = sp_dns_answer_parse(b, l, 5, "_http._tcp.app.test", SP_DNS_T_SRV, &a);
        CU_ASSERT(r == -EINVAL || r == -ESRCH);
    }
    /* an SRV record too short for its fixed part */
    len = srv_response(b, 5);
    b[37 + 11] = 5; /* the first record's rdlength (low byte), after the 37-byte question */
    CU_ASSERT_EQUAL(sp_dns_answer_parse(b, len, 5, "_http._tcp.app.test", SP_DNS_T_SRV, &a),
                    -EINVAL);
    /* random bytes in the records: never a crash */
    for (unsigned seed = 1; seed < 2000; seed++) {
        len = srv_response(b, 5);
        unsigned x = seed;
        for (int k = 0; k < 4; k++) {
            x = x * 1103515245u + 12345u;
            b[37 + (x >> 8) % (len - 37)] = (uint8_t)(x >> 16);
        }
        int r = sp_dns_answer_parse(b, len, 5, "_http._tcp.app.test", SP_DNS_T_SRV, &a);
        CU_ASSERT(r != 0 || (a.nsrv <= SP_DNS_MAX_SRV && a.naddr == 0));
    }
}

static void test_rmaint(void)
{
    struct sp_srv_health h;
    struct sp_srv_hstate st;
    struct sockaddr_storage ss = {.ss_family = AF_INET};
    char buf[64];

    sp_srv_health_init(&h, 1, false, false, false, 2, 3, 0, &ss, sizeof(struct sockaddr_in));
    CU_ASSERT_EQUAL(sp_srv_set_rmaint(&h, true, 10), SP_SRV_CH_MAINT);
    sp_srv_health_read(&h, &st);
    CU_ASSERT_EQUAL(st.admin, SP_SRV_RMAINT);
    CU_ASSERT_FALSE(sp_srv_usable(&st));
    sp_srv_status_text(&st, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, "MAINT (resolution)");
    /* `set server state ready` does not give it an address */
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, 0, 20), SP_SRV_CH_NONE);
    sp_srv_health_read(&h, &st);
    CU_ASSERT_EQUAL(st.admin, SP_SRV_RMAINT);
    /* forced maintenance on top: kept when resolution comes back */
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, SP_SRV_FMAINT, 30), SP_SRV_CH_NONE);
    CU_ASSERT_EQUAL(sp_srv_set_rmaint(&h, false, 40), SP_SRV_CH_NONE);
    sp_srv_health_read(&h, &st);
    CU_ASSERT_EQUAL(st.admin, SP_SRV_FMAINT);
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, 0, 50), SP_SRV_CH_READY);
    CU_ASSERT_EQUAL(sp_srv_set_rmaint(&h, true, 60), SP_SRV_CH_MAINT);
    CU_ASSERT_EQUAL(sp_srv_set_rmaint(&h, false, 70), SP_SRV_CH_RESOLVES);
    sp_srv_health_read(&h, &st);
    CU_ASSERT_TRUE(sp_srv_usable(&st));
}

void test_dns_register(void)
{
    CU_pSuite s = sp_unit_suite("balance/dns");
    sp_unit_test(s, "query: name, type, OPT, bad names", test_query);
    sp_unit_test(s, "answer: addresses, other questions, NX", test_answer);
    sp_unit_test(s, "malformed answers: refused, bounded", test_malformed);
    sp_unit_test(s, "maintenance (resolution): RMAINT", test_rmaint);
    sp_unit_test(s, "SRV: records, Additional addresses, malformed", test_srv);
}
