/* tests/fuzz/fuzz_dns.c - libFuzzer harness: DNS answers (balance/dns.c), what a nameserver,
 * or anyone who can reach the resolvers' sockets, sends the main thread.
 *
 * Input: a response packet. Its first byte's low bit picks the question (A or AAAA for
 * "app.test"); the id is the packet's own, so that the parser gets past the id check.
 *
 * Checks beyond the sanitizers:
 *  - an accepted answer has at most SP_DNS_MAX_ADDRS addresses, each of the asked family;
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
    int qtype = (data[0] & 1) ? SP_DNS_T_AAAA : SP_DNS_T_A;
    int id = sp_dns_packet_id(data, size);
    if (id < 0)
        return 0;
    int r = sp_dns_answer_parse(data, size, (uint16_t)id, "app.test", qtype, &a);
    FZ_CHECK(r == 0 || r == -EINVAL || r == -ESRCH, "unexpected return");
    if (r == 0) {
        FZ_CHECK(a.naddr >= 0 && a.naddr <= SP_DNS_MAX_ADDRS, "address count out of bounds");
        for (int i = 0; i < a.naddr; i++)
            FZ_CHECK(a.addr[i].family == (qtype == SP_DNS_T_A ? AF_INET : AF_INET6),
                     "an address of the other family");
        if (size > 12) {
            int r2 = sp_dns_answer_parse(data, size - 1, (uint16_t)id, "app.test", qtype, &b);
            FZ_CHECK(r2 != 0 || b.naddr <= a.naddr, "a truncated answer gave more");
        }
    }
    int len = sp_dns_query_build((uint16_t)id, "app.test", qtype, 1232, q, sizeof(q));
    FZ_CHECK(len > 0, "query build failed");
    FZ_CHECK(sp_dns_answer_parse(q, (size_t)len, (uint16_t)id, "app.test", qtype, &b) == -ESRCH,
             "a query taken for a response");
    return 0;
}
