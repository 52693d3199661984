/* tests/fuzz/fuzz_dns.c - libFuzzer harness: DNS answers (balance/dns.c), what a nameserver,
 * or anyone who can reach the resolvers' sockets, sends the main thread.
 *
 * Input: a response packet. Its first byte's low two bits pick the question (A or AAAA for
 * "app.test", SRV for "_http._tcp.app.test"); the id is the packet's own, so that the parser
 * gets past the id check.
 *
 * Checks beyond the sanitizers:
 *  - an accepted answer has at most SP_DNS_MAX_ADDRS addresses, each of the asked family;
 *    for SRV none, at most SP_DNS_MAX_SRV records, each with a non-empty terminated target
 *    and an Additional address of either family or none;
 *  - a truncated copy of an accepted answer is never accepted with more addresses;
 *  - a query built for the same question parses as "another question" (not a response).
 */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "balance/dns.h"
#include "tests/fuzz/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_dns_answer a, b;
    uint8_t q[512];

    if (!size)
        return 0;
    int qtype = (data[0] & 3) == 2 ? SP_DNS_T_SRV : (data[0] & 1) ? SP_DNS_T_AAAA : SP_DNS_T_A;
    const char *name = qtype == SP_DNS_T_SRV ? "_http._tcp.app.test" : "app.test";
    int id = sp_dns_packet_id(data, size);
    if (id < 0)
        return 0;
    int r = sp_dns_answer_parse(data, size, (uint16_t)id, name, qtype, &a);
    FZ_CHECK(r == 0 || r == -EINVAL || r == -ESRCH, "unexpected return");
    if (r == 0) {
        FZ_CHECK(a.naddr >= 0 && a.naddr <= SP_DNS_MAX_ADDRS, "address count out of bounds");
        for (int i = 0; i < a.naddr; i++)
            FZ_CHECK(a.addr[i].family == (qtype == SP_DNS_T_A ? AF_INET : AF_INET6),
                     "an address of the other family");
        FZ_CHECK(a.nsrv >= 0 && a.nsrv <= SP_DNS_MAX_SRV, "SRV count out of bounds");
        FZ_CHECK(qtype == SP_DNS_T_SRV ? a.naddr == 0 : a.nsrv == 0, "records of another type");
        for (int i = 0; i < a.nsrv; i++) {
            FZ_CHECK(a.srv[i].target[0] && memchr(a.srv[i].target, 0, 256), "bad SRV target");
            FZ_CHECK(a.srv[i].family == 0 || a.srv[i].family == AF_INET ||
                         a.srv[i].family == AF_INET6,
                     "bad Additional address");
        }
        if (size > 12) {
            int r2 = sp_dns_answer_parse(data, size - 1, (uint16_t)id, name, qtype, &b);
            FZ_CHECK(r2 != 0 || (b.naddr <= a.naddr && b.nsrv <= a.nsrv),
                     "a truncated answer gave more");
        }
    }
    int len = sp_dns_query_build((uint16_t)id, name, qtype, 1232, q, sizeof(q));
    FZ_CHECK(len > 0, "query build failed");
    FZ_CHECK(sp_dns_answer_parse(q, (size_t)len, (uint16_t)id, name, qtype, &b) == -ESRCH,
             "a query taken for a response");
    return 0;
}
