/* tests/net/test_proxyproto.c - PROXY protocol v1 and v2 headers (net/proxyproto.c): every
 * form the spec allows, read whole and byte by byte; every way to get one wrong; what
 * spillway builds for its servers parsing back to the same addresses. */
#include "net/proxyproto.h"

#include "tests/unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#define MAX 16384

static const uint8_t SIG[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static long parse(const void *p, size_t n, struct sp_pp_hdr *h)
{
    return sp_pp_parse(p, n, MAX, h);
}

/* every prefix of a complete header asks for more, the whole gives its length */
static void check_prefixes(const void *p, size_t n)
{
    struct sp_pp_hdr h;

    for (size_t i = 0; i < n; i++)
        CU_ASSERT_EQUAL(parse(p, i, &h), 0);
    CU_ASSERT_EQUAL(parse(p, n, &h), (long)n);
}

static void ip4(const struct sockaddr_storage *ss, const char *ip, int port)
{
    const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
    char buf[64];

    CU_ASSERT_EQUAL(ss->ss_family, AF_INET);
    inet_ntop(AF_INET, &in->sin_addr, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, ip);
    CU_ASSERT_EQUAL(ntohs(in->sin_port), port);
}

static void ip6(const struct sockaddr_storage *ss, const char *ip, int port)
{
    const struct sockaddr_in6 *in = (const struct sockaddr_in6 *)ss;
    char buf[64];

    CU_ASSERT_EQUAL(ss->ss_family, AF_INET6);
    inet_ntop(AF_INET6, &in->sin6_addr, buf, sizeof(buf));
    CU_ASSERT_STRING_EQUAL(buf, ip);
    CU_ASSERT_EQUAL(ntohs(in->sin6_port), port);
}

static void test_v1_tcp4(void)
{
    const char *s = "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\nGET / HTTP/1.1\r\n";
    struct sp_pp_hdr h;
    size_t hl = strlen("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n");

    CU_ASSERT_EQUAL(parse(s, strlen(s), &h), (long)hl);
    CU_ASSERT_EQUAL(h.version, 1);
    CU_ASSERT_TRUE(h.has_addr);
    ip4(&h.src, "192.0.2.7", 56324);
    ip4(&h.dst, "198.51.100.1", 443);
    check_prefixes(s, hl);
}

static void test_v1_tcp6_unknown(void)
{
    const char *s = "PROXY TCP6 2001:db8::1 ::1 65535 0\r\n";
    struct sp_pp_hdr h;

    CU_ASSERT_EQUAL(parse(s, strlen(s), &h), (long)strlen(s));
    CU_ASSERT_TRUE(h.has_addr);
    ip6(&h.src, "2001:db8::1", 65535);
    ip6(&h.dst, "::1", 0);
    check_prefixes(s, strlen(s));

    s = "PROXY UNKNOWN\r\n";
    CU_ASSERT_EQUAL(parse(s, strlen(s), &h), (long)strlen(s));
    CU_ASSERT_FALSE(h.has_addr);
    /* the spec: whatever follows UNKNOWN is ignored */
    s = "PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n";
    CU_ASSERT_EQUAL(parse(s, strlen(s), &h), (long)strlen(s));
    CU_ASSERT_FALSE(h.has_addr);
    /* the longest line the spec allows (107 bytes with CRLF) */
    s = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
        "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
    CU_ASSERT_EQUAL(strlen(s), 104);
    CU_ASSERT_EQUAL(parse(s, strlen(s), &h), 104);
}

static void test_v1_bad(void)
{
    static const struct {
        const char *s;
        long want;
    } cases[] = {
        {"GET / HTTP/1.1\r\n", -SP_PP_ERR_NOT_HDR},
        {"PROXY\r\n", -SP_PP_ERR_NOT_HDR},
        {"PROXX TCP4", -SP_PP_ERR_NOT_HDR},
        {"PROXY TCP5 1.2.3.4 5.6.7.8 1 2\r\n", -SP_PP_ERR_BAD_PROTO},
        {"PROXY UNKNOWNX\r\n", -SP_PP_ERR_BAD_PROTO},
        {"PROXY UDP4 1.2.3.4 5.6.7.8 1 2\r\n", -SP_PP_ERR_BAD_PROTO},
        {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\n", -SP_PP_ERR_BAD_HDR}, /* LF without CR */
        {"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n", -SP_PP_ERR_BAD_HDR}, /* a field short */
        {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 3\r\n", -SP_PP_ERR_BAD_HDR},
        {"PROXY TCP4 1.2.3.4  5.6.7.8 1 2\r\n", -SP_PP_ERR_BAD_HDR}, /* two spaces */
        {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2 \r\n", -SP_PP_ERR_BAD_HDR},
        {"PROXY TCP4 1.2.3.4 5.6.7.8 1 65536\r\n", -SP_PP_ERR_BAD_HDR},
        {"PROXY TCP4 1.2.3.4 5.6.7.8 -1 2\r\n", -SP_PP_ERR_BAD_HDR},
        {"PROXY TCP4 1.2.3.4 5.6.7.8 123456 2\r\n", -SP_PP_ERR_BAD_HDR},
        {"PROXY TCP4 1.2.3 5.6.7.8 1 2\r\n", -SP_PP_ERR_BAD_HDR},
        {"PROXY TCP4 ::1 5.6.7.8 1 2\r\n", -SP_PP_ERR_BAD_HDR}, /* family mismatch */
        {"PROXY TCP6 1.2.3.4 ::1 1 2\r\n", -SP_PP_ERR_BAD_HDR},
        {"PROXY TCP4 1.2.3.4 5.6.7.8 1 2\r\r\n", -SP_PP_ERR_BAD_HDR},
    };
    struct sp_pp_hdr h;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long r = parse(cases[i].s, strlen(cases[i].s), &h);
        if (r != cases[i].want)
            fprintf(stderr, "case %zu: %ld, want %ld\n", i, r, cases[i].want);
        CU_ASSERT_EQUAL(r, cases[i].want);
        CU_ASSERT_FALSE(h.has_addr);
    }
    /* no line end within 107 bytes */
    char big[200];
    memcpy(big, "PROXY TCP4 ", 11);
    memset(big + 11, '1', sizeof(big) - 11);
    CU_ASSERT_EQUAL(parse(big, 106, &h), 0);
    CU_ASSERT_EQUAL(parse(big, 107, &h), -SP_PP_ERR_BAD_HDR);
    CU_ASSERT_EQUAL(parse(big, sizeof(big), &h), -SP_PP_ERR_BAD_HDR);
    /* a NUL inside the line */
    static const char nul[] = "PROXY TCP4 1.2.3.4\0005.6.7.8 1 2\r\n";
    CU_ASSERT_EQUAL(parse(nul, sizeof(nul) - 1, &h), -SP_PP_ERR_BAD_HDR);
    const char *msg = sp_pp_strerror(-SP_PP_ERR_BAD_HDR);
    CU_ASSERT_STRING_EQUAL(msg, "Received an invalid PROXY protocol header.");
}

/* a v2 header: sig, ver_cmd, fam, then `body` */
static size_t v2(uint8_t *out, uint8_t vc, uint8_t fam, const void *body, size_t n)
{
    memcpy(out, SIG, 12);
    out[12] = vc;
    out[13] = fam;
    out[14] = (uint8_t)(n >> 8);
    out[15] = (uint8_t)n;
    memcpy(out + 16, body, n);
    return 16 + n;
}

static void test_v2_inet(void)
{
    uint8_t buf[512], body[64];
    struct sp_pp_hdr h;

    /* 192.0.2.7:56324 -> 198.51.100.1:443, then an unknown TLV and a NOOP */
    static const uint8_t a4[] = {192,  0,    2,    7,    198,  51,  100, 1,    0xDC, 0x04,
                                 0x01, 0xBB, 0xEE, 0x00, 0x02, 'h', 'i', 0x04, 0x00, 0x00};
    size_t n = v2(buf, 0x21, 0x11, a4, sizeof(a4));
    memcpy(buf + n, "GET", 3);
    CU_ASSERT_EQUAL(parse(buf, n + 3, &h), (long)n);
    CU_ASSERT_EQUAL(h.version, 2);
    CU_ASSERT_TRUE(h.has_addr);
    ip4(&h.src, "192.0.2.7", 56324);
    ip4(&h.dst, "198.51.100.1", 443);
    check_prefixes(buf, n);

    memset(body, 0, sizeof(body));
    body[15] = 1; /* ::1 */
    body[16] = 0x20;
    body[17] = 0x01;
    body[18] = 0x0d;
    body[19] = 0xb8;
    body[31] = 2; /* 2001:db8::2 */
    body[32] = 0x12;
    body[33] = 0x34;
    body[34] = 0x00;
    body[35] = 0x50;
    n = v2(buf, 0x21, 0x21, body, 36);
    CU_ASSERT_EQUAL(parse(buf, n, &h), (long)n);
    CU_ASSERT_TRUE(h.has_addr);
    ip6(&h.src, "::1", 0x1234);
    ip6(&h.dst, "2001:db8::2", 80);
}

static void test_v2_local_unix_unspec(void)
{
    uint8_t buf[512], body[300];
    struct sp_pp_hdr h;

    /* LOCAL: the connection's own addresses, whatever follows (not even read) */
    memset(body, 0xAB, sizeof(body));
    size_t n = v2(buf, 0x20, 0x11, body, 7);
    CU_ASSERT_EQUAL(parse(buf, n, &h), (long)n);
    CU_ASSERT_FALSE(h.has_addr);
    n = v2(buf, 0x20, 0x00, body, 0);
    CU_ASSERT_EQUAL(parse(buf, n, &h), 16);
    CU_ASSERT_FALSE(h.has_addr);

    /* UNIX stream: 216 bytes of addresses, kept local; a TLV after them is read */
    memset(body, 0, sizeof(body));
    memcpy(body, "/run/a.sock", 11);
    memcpy(body + 108, "/run/b.sock", 11);
    static const uint8_t auth[] = {0x02, 0x00, 0x03, 'w', 'w', 'w'};
    memcpy(body + 216, auth, sizeof(auth));
    n = v2(buf, 0x21, 0x31, body, 216 + sizeof(auth));
    CU_ASSERT_EQUAL(parse(buf, n, &h), (long)n);
    CU_ASSERT_FALSE(h.has_addr);
    CU_ASSERT_EQUAL(h.authority_len, 3);
    CU_ASSERT_STRING_EQUAL(h.authority, "www");
    /* ...but its addresses must be there */
    n = v2(buf, 0x21, 0x31, body, 100);
    CU_ASSERT_EQUAL(parse(buf, n, &h), -SP_PP_ERR_BAD_HDR);

    /* UNSPEC with PROXY, UDP: kept local */
    n = v2(buf, 0x21, 0x00, body, 0);
    CU_ASSERT_EQUAL(parse(buf, n, &h), 16);
    CU_ASSERT_FALSE(h.has_addr);
    n = v2(buf, 0x21, 0x12, body, 12);
    CU_ASSERT_EQUAL(parse(buf, n, &h), 28);
    CU_ASSERT_FALSE(h.has_addr);
}

static void test_v2_bad(void)
{
    uint8_t buf[512], body[300];
    struct sp_pp_hdr h;

    memset(body, 0, sizeof(body));
    /* version 1 in the binary form, version 3 */
    size_t n = v2(buf, 0x11, 0x11, body, 12);
    CU_ASSERT_EQUAL(parse(buf, n, &h), -SP_PP_ERR_NOT_HDR);
    n = v2(buf, 0x31, 0x11, body, 12);
    CU_ASSERT_EQUAL(parse(buf, n, &h), -SP_PP_ERR_NOT_HDR);
    /* command 2 */
    n = v2(buf, 0x22, 0x11, body, 12);
    CU_ASSERT_EQUAL(parse(buf, n, &h), -SP_PP_ERR_BAD_HDR);
    /* addresses short */
    n = v2(buf, 0x21, 0x11, body, 11);
    CU_ASSERT_EQUAL(parse(buf, n, &h), -SP_PP_ERR_BAD_HDR);
    n = v2(buf, 0x21, 0x21, body, 35);
    CU_ASSERT_EQUAL(parse(buf, n, &h), -SP_PP_ERR_BAD_HDR);
    /* a TLV running past the end, a TLV header cut */
    static const uint8_t over[] = {0x02, 0x00, 0x09, 'a'};
    memcpy(body + 12, over, sizeof(over));
    n = v2(buf, 0x21, 0x11, body, 12 + sizeof(over));
    CU_ASSERT_EQUAL(parse(buf, n, &h), -SP_PP_ERR_BAD_HDR);
    CU_ASSERT_FALSE(h.has_addr);
    n = v2(buf, 0x21, 0x11, body, 14);
    CU_ASSERT_EQUAL(parse(buf, n, &h), -SP_PP_ERR_BAD_HDR);
    /* an authority of 256 bytes, a unique id of 129 */
    uint8_t big[600];
    uint8_t bb[12 + 3 + 256];
    memset(bb, 'a', sizeof(bb));
    memset(bb, 0, 12);
    bb[12] = 0x02;
    bb[13] = 0x01;
    bb[14] = 0x00;
    n = v2(big, 0x21, 0x11, bb, sizeof(bb));
    CU_ASSERT_EQUAL(parse(big, n, &h), -SP_PP_ERR_BAD_HDR);
    bb[12] = 0x05;
    bb[13] = 0x00;
    bb[14] = 129;
    n = v2(big, 0x21, 0x11, bb, 12 + 3 + 129);
    CU_ASSERT_EQUAL(parse(big, n, &h), -SP_PP_ERR_BAD_HDR);
    bb[14] = 128;
    n = v2(big, 0x21, 0x11, bb, 12 + 3 + 128);
    CU_ASSERT_EQUAL(parse(big, n, &h), (long)n);
    /* longer than the reader holds */
    n = v2(buf, 0x21, 0x11, body, 12);
    CU_ASSERT_EQUAL(sp_pp_parse(buf, 16, 27, &h), -SP_PP_ERR_TOO_LONG);
    CU_ASSERT_EQUAL(sp_pp_parse(buf, 16, 28, &h), 0);
    buf[14] = 0xFF;
    buf[15] = 0xFF;
    CU_ASSERT_EQUAL(parse(buf, 16, &h), -SP_PP_ERR_TOO_LONG);
    /* a signature that goes wrong late */
    memcpy(buf, SIG, 12);
    buf[11] = 'X';
    CU_ASSERT_EQUAL(parse(buf, 11, &h), 0);
    CU_ASSERT_EQUAL(parse(buf, 12, &h), -SP_PP_ERR_NOT_HDR);
}

static void test_crc32c(void)
{
    CU_ASSERT_EQUAL(sp_crc32c(0, "123456789", 9), 0xE3069283u);
    CU_ASSERT_EQUAL(sp_crc32c(sp_crc32c(0, "1234", 4), "56789", 5), 0xE3069283u);
    CU_ASSERT_EQUAL(sp_crc32c(0, "", 0), 0);
}

static void addr4(struct sockaddr_storage *ss, const char *ip, int port)
{
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    memset(ss, 0, sizeof(*ss));
    in->sin_family = AF_INET;
    in->sin_port = htons((uint16_t)port);
    inet_pton(AF_INET, ip, &in->sin_addr);
}

static void addr6(struct sockaddr_storage *ss, const char *ip, int port)
{
    struct sockaddr_in6 *in = (struct sockaddr_in6 *)ss;
    memset(ss, 0, sizeof(*ss));
    in->sin6_family = AF_INET6;
    in->sin6_port = htons((uint16_t)port);
    inet_pton(AF_INET6, ip, &in->sin6_addr);
}

static void test_build_v1(void)
{
    struct sockaddr_storage s, d, u = {.ss_family = AF_UNIX};
    char buf[SP_PP_BUILD_MAX];
    struct sp_pp_hdr h;

    addr4(&s, "192.0.2.7", 56324);
    addr4(&d, "198.51.100.1", 443);
    size_t n = sp_pp_build_v1(buf, sizeof(buf), &s, &d);
    CU_ASSERT_EQUAL(n, strlen("PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n"));
    CU_ASSERT_NSTRING_EQUAL(buf, "PROXY TCP4 192.0.2.7 198.51.100.1 56324 443\r\n", n);
    addr6(&d, "2001:db8::1", 80);
    n = sp_pp_build_v1(buf, sizeof(buf), &s, &d);
    CU_ASSERT_NSTRING_EQUAL(buf, "PROXY TCP6 ::ffff:192.0.2.7 2001:db8::1 56324 80\r\n", n);
    CU_ASSERT_EQUAL(parse(buf, n, &h), (long)n);
    ip6(&h.src, "::ffff:192.0.2.7", 56324);
    n = sp_pp_build_v1(buf, sizeof(buf), &s, &u);
    CU_ASSERT_NSTRING_EQUAL(buf, "PROXY UNKNOWN\r\n", n);
    n = sp_pp_build_v1(buf, sizeof(buf), NULL, NULL);
    CU_ASSERT_EQUAL(n, 15);
    CU_ASSERT_EQUAL(sp_pp_build_v1(buf, 10, &s, &d), 0);
}

static void test_build_v2(void)
{
    struct sockaddr_storage s, d;
    uint8_t buf[SP_PP_BUILD_MAX];
    struct sp_pp_hdr h;

    addr4(&s, "192.0.2.7", 56324);
    addr4(&d, "198.51.100.1", 443);
    size_t n = sp_pp_build_v2(buf, sizeof(buf), &s, &d, 0, NULL, 0);
    CU_ASSERT_EQUAL(n, 28);
    CU_ASSERT_EQUAL(buf[12], 0x21);
    CU_ASSERT_EQUAL(buf[13], 0x11);
    CU_ASSERT_EQUAL(parse(buf, n, &h), 28);
    ip4(&h.src, "192.0.2.7", 56324);
    ip4(&h.dst, "198.51.100.1", 443);

    /* every option: crc32c checked by the parser, the authority read back */
    n = sp_pp_build_v2(buf, sizeof(buf), &s, &d,
                       SP_PP_OPT_CRC32C | SP_PP_OPT_AUTHORITY | SP_PP_OPT_SSL, "example.com", 11);
    CU_ASSERT_EQUAL(n, 28 + 7 + 3 + 11 + 8);
    CU_ASSERT_EQUAL(parse(buf, n, &h), (long)n);
    CU_ASSERT_STRING_EQUAL(h.authority, "example.com");
    buf[n - 1] ^= 1; /* the checksum no longer matches */
    CU_ASSERT_EQUAL(parse(buf, n, &h), -SP_PP_ERR_BAD_HDR);

    /* mixed families: IPv6 with the IPv4 one mapped; none: LOCAL */
    addr6(&d, "2001:db8::1", 80);
    n = sp_pp_build_v2(buf, sizeof(buf), &s, &d, SP_PP_OPT_CRC32C, NULL, 0);
    CU_ASSERT_EQUAL(n, 16 + 36 + 7);
    CU_ASSERT_EQUAL(parse(buf, n, &h), (long)n);
    ip6(&h.src, "::ffff:192.0.2.7", 56324);
    ip6(&h.dst, "2001:db8::1", 80);
    n = sp_pp_build_v2(buf, sizeof(buf), NULL, NULL, 0, NULL, 0);
    CU_ASSERT_EQUAL(n, 16);
    CU_ASSERT_EQUAL(buf[12], 0x20);
    CU_ASSERT_EQUAL(buf[13], 0x00);
    CU_ASSERT_EQUAL(parse(buf, n, &h), 16);
    CU_ASSERT_FALSE(h.has_addr);
    CU_ASSERT_EQUAL(sp_pp_build_v2(buf, 20, &s, &d, 0, NULL, 0), 0);
    CU_ASSERT_EQUAL(sp_pp_build_v2(buf, 30, &s, &d, SP_PP_OPT_CRC32C, NULL, 0), 0);
}

void test_proxyproto_register(void)
{
    CU_pSuite s = sp_unit_suite("net/proxyproto");
    sp_unit_test(s, "v1 TCP4, whole and byte by byte", test_v1_tcp4);
    sp_unit_test(s, "v1 TCP6, UNKNOWN, the longest line", test_v1_tcp6_unknown);
    sp_unit_test(s, "v1 refused", test_v1_bad);
    sp_unit_test(s, "v2 TCP over IPv4 and IPv6, TLVs skipped", test_v2_inet);
    sp_unit_test(s, "v2 LOCAL, UNIX, UNSPEC, UDP kept local", test_v2_local_unix_unspec);
    sp_unit_test(s, "v2 refused", test_v2_bad);
    sp_unit_test(s, "crc32c", test_crc32c);
    sp_unit_test(s, "v1 built", test_build_v1);
    sp_unit_test(s, "v2 built, with crc32c, authority and ssl", test_build_v2);
}
