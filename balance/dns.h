/* balance/dns.h - the DNS wire format, as much as A/AAAA and SRV resolution need (RFC 1035,
 * RFC 3596, RFC 2782's SRV with its Additional-section addresses, RFC 6891's OPT record for
 * accepted_payload_size). Pure functions: no I/O, no allocation,
 * safe from any thread. The parser is defensive: every length is checked against the
 * packet, compression pointers are followed at most SP_DNS_MAX_JUMPS times, at most
 * SP_DNS_MAX_RR answer records are read, and a name longer than 255 bytes is malformed. */
#ifndef SP_BALANCE_DNS_H
#define SP_BALANCE_DNS_H

#include <stddef.h>
#include <stdint.h>

enum {
    SP_DNS_T_A = 1,
    SP_DNS_T_CNAME = 5,
    SP_DNS_T_AAAA = 28,
    SP_DNS_T_SRV = 33,
    SP_DNS_T_OPT = 41
};
enum {
    SP_DNS_RC_OK = 0,
    SP_DNS_RC_FORMERR = 1,
    SP_DNS_RC_SERVFAIL = 2,
    SP_DNS_RC_NX = 3,
    SP_DNS_RC_REFUSED = 5
};

#define SP_DNS_MAX_ADDRS 64  /* addresses kept from one answer */
#define SP_DNS_MAX_RR    128 /* answer records read from one packet */
#define SP_DNS_MAX_JUMPS 16  /* compression pointers followed in one name */
#define SP_DNS_MAX_SRV   32  /* SRV records kept from one answer */

/* owner: the caller (part of its struct sp_dns_answer).
 * One SRV record of an answer (RFC 2782), and the address the Additional section gave its
 * target (the first A or AAAA record owned by the target; family 0 when none). */
struct sp_dns_srv {
    char target[256]; /* dotted, no trailing dot; "" is "." (no service) */
    uint16_t priority, weight, port;
    uint32_t ttl;
    int family;
    uint8_t addr[16];
};

/* owner: the caller (filled by sp_dns_answer_parse()).
 * What one response said: its rcode and the addresses of the asked type (network order), or
 * for an SRV question its SRV records. */
struct sp_dns_answer {
    int rcode;
    int nsrv;
    struct sp_dns_srv srv[SP_DNS_MAX_SRV];
    int naddr;
    struct {
        int family; /* AF_INET or AF_INET6 */
        uint8_t addr[16];
        uint32_t ttl;
    } addr[SP_DNS_MAX_ADDRS];
};

/* pure: any thread, into the caller's buffer.
 * A query for `name` (dotted, a trailing dot allowed), type A, AAAA or SRV, recursion desired;
 * with an OPT record advertising `payload` when it is above 512. Returns its length, or
 * -EINVAL (a bad name, or `size` too small). */
int sp_dns_query_build(uint16_t id, const char *name, int qtype, int payload, uint8_t *buf,
                       size_t size);

/* pure: any thread. The transaction id of a packet, or -1 when it is too short to have one. */
int sp_dns_packet_id(const uint8_t *buf, size_t len);

/* pure: any thread, into the caller's answer.
 * Parses the response to the query (id, name, qtype): 0 and *out filled; -ESRCH when it
 * answers another question (id, name or type differ, or it is not a response); -EINVAL when
 * it is malformed. Records of the asked type count when their owner is the name asked or a
 * CNAME target met before them in the answer section. For SRV (qtype SP_DNS_T_SRV), the SRV
 * records fill srv[] (a record with a malformed target makes the packet malformed), then the
 * Authority section is skipped and the Additional section's A and AAAA records give their
 * targets an address. */
int sp_dns_answer_parse(const uint8_t *buf, size_t len, uint16_t id, const char *name, int qtype,
                        struct sp_dns_answer *out);

#endif
