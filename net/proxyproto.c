/* net/proxyproto.c - PROXY protocol v1 and v2 headers, read and written (net/proxyproto.h). */
#include "net/proxyproto.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

static const uint8_t v2sig[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                  0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

enum {
    PP2_TYPE_AUTHORITY = 0x02,
    PP2_TYPE_CRC32C = 0x03,
    PP2_TYPE_UNIQUE_ID = 0x05,
    PP2_TYPE_SSL = 0x20,
};

uint32_t sp_crc32c(uint32_t crc, const void *p, size_t n)
{
    const uint8_t *b = p;

    /* bitwise: headers are a few hundred bytes at most, read once per connection */
    crc = ~crc;
    while (n--) {
        crc ^= *b++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0x82F63B78u & (0u - (crc & 1)));
    }
    return ~crc;
}

const char *sp_pp_strerror(int err)
{
    switch (err < 0 ? -err : err) {
    case SP_PP_ERR_NOT_HDR:
        return "Received something which does not look like a PROXY protocol header.";
    case SP_PP_ERR_BAD_PROTO:
        return "Received an unhandled protocol in the PROXY protocol header.";
    case SP_PP_ERR_TOO_LONG:
        return "Truncated PROXY protocol header received.";
    default:
        return "Received an invalid PROXY protocol header.";
    }
}

/* ---- v1 ---- */

/* A decimal port, 1 to 5 digits, at most 65535. */
static bool v1_port(const char *s, size_t n, uint16_t *ret)
{
    unsigned v = 0;

    if (!n || n > 5)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > 65535)
        return false;
    *ret = (uint16_t)v;
    return true;
}

static bool v1_addr(int af, const char *s, size_t n, struct sockaddr_storage *ss, uint16_t port)
{
    char tmp[INET6_ADDRSTRLEN + 1];

    if (!n || n >= sizeof(tmp))
        return false;
    memcpy(tmp, s, n);
    tmp[n] = 0;
    memset(ss, 0, sizeof(*ss));
    if (af == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_port = htons(port);
        return inet_pton(AF_INET, tmp, &in->sin_addr) == 1;
    }
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(port);
    return inet_pton(AF_INET6, tmp, &in6->sin6_addr) == 1;
}

/* "PROXY TCP4 SRC DST SPORT DPORT\r\n": line[0..n) is what follows "PROXY ", CR excluded. */
static long v1_parse(const char *line, size_t n, struct sp_pp_hdr *ret)
{
    const char *f[5];
    size_t fl[5], nf = 0, i = 0;

    ret->version = 1;
    if (n >= 7 && !memcmp(line, "UNKNOWN", 7) && (n == 7 || line[7] == ' '))
        return 0; /* the spec: whatever follows UNKNOWN up to the CRLF is ignored */
    if (n < 5 || (memcmp(line, "TCP4 ", 5) != 0 && memcmp(line, "TCP6 ", 5) != 0))
        return -SP_PP_ERR_BAD_PROTO;
    int af = line[3] == '4' ? AF_INET : AF_INET6;
    /* four fields, each after exactly one space */
    i = 4;
    while (i < n) {
        if (line[i] != ' ' || nf == 4)
            return -SP_PP_ERR_BAD_HDR;
        i++;
        f[nf] = line + i;
        while (i < n && line[i] != ' ')
            i++;
        fl[nf] = (size_t)(line + i - f[nf]);
        nf++;
    }
    uint16_t sport, dport;
    if (nf != 4 || !v1_port(f[2], fl[2], &sport) || !v1_port(f[3], fl[3], &dport) ||
        !v1_addr(af, f[0], fl[0], &ret->src, sport) || !v1_addr(af, f[1], fl[1], &ret->dst, dport))
        return -SP_PP_ERR_BAD_HDR;
    ret->has_addr = true;
    return 0;
}

/* ---- v2 ---- */

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* The TLVs of p[off..total): each must fit; a CRC32C must be 4 bytes and match the header
 * computed with itself zeroed; an authority at most 255 bytes (kept), a unique id 128. */
static long v2_tlvs(const uint8_t *p, size_t off, size_t total, struct sp_pp_hdr *ret)
{
    while (off < total) {
        if (total - off < 3)
            return -SP_PP_ERR_BAD_HDR;
        uint8_t type = p[off];
        size_t vlen = be16(p + off + 1), v = off + 3;
        if (vlen > total - v)
            return -SP_PP_ERR_BAD_HDR;
        switch (type) {
        case PP2_TYPE_CRC32C: {
            static const uint8_t zero[4];
            if (vlen != 4)
                return -SP_PP_ERR_BAD_HDR;
            uint32_t want = (uint32_t)p[v] << 24 | (uint32_t)p[v + 1] << 16 |
                            (uint32_t)p[v + 2] << 8 | p[v + 3];
            uint32_t crc = sp_crc32c(0, p, v);
            crc = sp_crc32c(crc, zero, 4);
            crc = sp_crc32c(crc, p + v + 4, total - v - 4);
            if (crc != want)
                return -SP_PP_ERR_BAD_HDR;
            break;
        }
        case PP2_TYPE_AUTHORITY:
            if (vlen > SP_PP_AUTHORITY_MAX)
                return -SP_PP_ERR_BAD_HDR;
            memcpy(ret->authority, p + v, vlen);
            ret->authority[vlen] = 0;
            ret->authority_len = (uint16_t)vlen;
            break;
        case PP2_TYPE_UNIQUE_ID:
            if (vlen > SP_PP_UNIQUE_ID_MAX)
                return -SP_PP_ERR_BAD_HDR;
            break;
        default:
            break;
        }
        off = v + vlen;
    }
    return 0;
}

static long v2_parse(const uint8_t *p, size_t total, struct sp_pp_hdr *ret)
{
    size_t alen;

    ret->version = 2;
    switch (p[12] & 0x0F) {
    case 0x0: /* LOCAL: the connection's own addresses; nothing else is read */
        return 0;
    case 0x1: /* PROXY */
        break;
    default:
        return -SP_PP_ERR_BAD_HDR;
    }
    switch (p[13]) {
    case 0x00: /* UNSPEC */
        alen = 0;
        break;
    case 0x11: /* TCP over IPv4 */
    case 0x12: /* UDP over IPv4 */
        alen = 12;
        break;
    case 0x21:
    case 0x22:
        alen = 36;
        break;
    case 0x31: /* UNIX stream, datagram */
    case 0x32:
        alen = 216;
        break;
    default:
        return 0; /* unknown family: where its address ends is unknown, kept local */
    }
    if (total - SP_PP_V2_HDR < alen)
        return -SP_PP_ERR_BAD_HDR;
    const uint8_t *a = p + SP_PP_V2_HDR;
    if (p[13] == 0x11) {
        struct sockaddr_in *s = (struct sockaddr_in *)&ret->src;
        struct sockaddr_in *d = (struct sockaddr_in *)&ret->dst;
        s->sin_family = d->sin_family = AF_INET;
        memcpy(&s->sin_addr, a, 4);
        memcpy(&d->sin_addr, a + 4, 4);
        memcpy(&s->sin_port, a + 8, 2);
        memcpy(&d->sin_port, a + 10, 2);
        ret->has_addr = true;
    } else if (p[13] == 0x21) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ret->src;
        struct sockaddr_in6 *d = (struct sockaddr_in6 *)&ret->dst;
        s->sin6_family = d->sin6_family = AF_INET6;
        memcpy(&s->sin6_addr, a, 16);
        memcpy(&d->sin6_addr, a + 16, 16);
        memcpy(&s->sin6_port, a + 32, 2);
        memcpy(&d->sin6_port, a + 34, 2);
        ret->has_addr = true;
    }
    long r = v2_tlvs(p, SP_PP_V2_HDR + alen, total, ret);
    if (r < 0)
        ret->has_addr = false;
    return r;
}

long sp_pp_parse(const uint8_t *p, size_t len, size_t max, struct sp_pp_hdr *ret)
{
    memset(ret, 0, sizeof(*ret));
    if (!len)
        return 0;
    if (p[0] == 'P') {
        size_t n = len < 6 ? len : 6;
        if (memcmp(p, "PROXY ", n) != 0)
            return -SP_PP_ERR_NOT_HDR;
        size_t lim = len < SP_PP_V1_MAX ? len : SP_PP_V1_MAX;
        const uint8_t *lf = memchr(p, '\n', lim);
        if (!lf)
            return len >= SP_PP_V1_MAX ? -SP_PP_ERR_BAD_HDR : 0;
        size_t end = (size_t)(lf - p); /* the LF */
        if (end < 7 || p[end - 1] != '\r')
            return -SP_PP_ERR_BAD_HDR;
        long r = v1_parse((const char *)p + 6, end - 7, ret);
        if (r < 0) {
            ret->has_addr = false;
            return r;
        }
        return (long)end + 1;
    }
    size_t n = len < sizeof(v2sig) ? len : sizeof(v2sig);
    if (memcmp(p, v2sig, n) != 0)
        return -SP_PP_ERR_NOT_HDR;
    if (len < SP_PP_V2_HDR)
        return 0;
    if ((p[12] & 0xF0) != 0x20)
        return -SP_PP_ERR_NOT_HDR;
    size_t total = SP_PP_V2_HDR + be16(p + 14);
    if (total > max)
        return -SP_PP_ERR_TOO_LONG;
    if (len < total)
        return 0;
    long r = v2_parse(p, total, ret);
    return r < 0 ? r : (long)total;
}

/* ---- building ---- */

static bool inet(const struct sockaddr_storage *ss)
{
    return ss && (ss->ss_family == AF_INET || ss->ss_family == AF_INET6);
}

/* The address as IPv6 (IPv4-mapped when it is IPv4) and its port (network order). */
static void as_v6(const struct sockaddr_storage *ss, struct in6_addr *a, uint16_t *port)
{
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;
        *a = in6->sin6_addr;
        *port = in6->sin6_port;
        return;
    }
    const struct sockaddr_in *in = (const struct sockaddr_in *)ss;
    memset(a, 0, sizeof(*a));
    a->s6_addr[10] = a->s6_addr[11] = 0xff;
    memcpy(&a->s6_addr[12], &in->sin_addr, 4);
    *port = in->sin_port;
}

size_t sp_pp_build_v1(char *buf, size_t len, const struct sockaddr_storage *src,
                      const struct sockaddr_storage *dst)
{
    char s[INET6_ADDRSTRLEN], d[INET6_ADDRSTRLEN];
    uint16_t sp, dp;
    int n;

    if (!inet(src) || !inet(dst)) {
        n = snprintf(buf, len, "PROXY UNKNOWN\r\n");
    } else if (src->ss_family == AF_INET && dst->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)src;
        const struct sockaddr_in *b = (const struct sockaddr_in *)dst;
        inet_ntop(AF_INET, &a->sin_addr, s, sizeof(s));
        inet_ntop(AF_INET, &b->sin_addr, d, sizeof(d));
        n = snprintf(buf, len, "PROXY TCP4 %s %s %u %u\r\n", s, d, ntohs(a->sin_port),
                     ntohs(b->sin_port));
    } else {
        struct in6_addr a, b;
        as_v6(src, &a, &sp);
        as_v6(dst, &b, &dp);
        inet_ntop(AF_INET6, &a, s, sizeof(s));
        inet_ntop(AF_INET6, &b, d, sizeof(d));
        n = snprintf(buf, len, "PROXY TCP6 %s %s %u %u\r\n", s, d, ntohs(sp), ntohs(dp));
    }
    return n > 0 && (size_t)n < len ? (size_t)n : 0;
}

static size_t put_tlv(uint8_t *buf, size_t len, size_t off, uint8_t type, const void *v,
                      size_t vlen)
{
    if (off + 3 + vlen > len)
        return 0;
    buf[off] = type;
    buf[off + 1] = (uint8_t)(vlen >> 8);
    buf[off + 2] = (uint8_t)vlen;
    if (vlen)
        memcpy(buf + off + 3, v, vlen);
    return off + 3 + vlen;
}

size_t sp_pp_build_v2(uint8_t *buf, size_t len, const struct sockaddr_storage *src,
                      const struct sockaddr_storage *dst, unsigned opts, const char *authority,
                      size_t authority_len)
{
    size_t off = SP_PP_V2_HDR, crc_at = 0;

    if (len < SP_PP_V2_HDR)
        return 0;
    memcpy(buf, v2sig, sizeof(v2sig));
    if (!inet(src) || !inet(dst)) {
        buf[12] = 0x20; /* LOCAL */
        buf[13] = 0x00; /* UNSPEC */
    } else if (src->ss_family == AF_INET && dst->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)src;
        const struct sockaddr_in *b = (const struct sockaddr_in *)dst;
        if (len < off + 12)
            return 0;
        buf[12] = 0x21;
        buf[13] = 0x11;
        memcpy(buf + off, &a->sin_addr, 4);
        memcpy(buf + off + 4, &b->sin_addr, 4);
        memcpy(buf + off + 8, &a->sin_port, 2);
        memcpy(buf + off + 10, &b->sin_port, 2);
        off += 12;
    } else {
        struct in6_addr a, b;
        uint16_t sp, dp;
        if (len < off + 36)
            return 0;
        as_v6(src, &a, &sp);
        as_v6(dst, &b, &dp);
        buf[12] = 0x21;
        buf[13] = 0x21;
        memcpy(buf + off, &a, 16);
        memcpy(buf + off + 16, &b, 16);
        memcpy(buf + off + 32, &sp, 2);
        memcpy(buf + off + 34, &dp, 2);
        off += 36;
    }
    /* HAProxy's order: CRC32C, (ALPN: TLS only), AUTHORITY, (UNIQUE_ID), SSL */
    if (opts & SP_PP_OPT_CRC32C) {
        static const uint8_t zero[4];
        crc_at = off + 3;
        if (!(off = put_tlv(buf, len, off, PP2_TYPE_CRC32C, zero, 4)))
            return 0;
    }
    if ((opts & SP_PP_OPT_AUTHORITY) && authority && authority_len) {
        if (authority_len > SP_PP_AUTHORITY_MAX ||
            !(off = put_tlv(buf, len, off, PP2_TYPE_AUTHORITY, authority, authority_len)))
            return 0;
    }
    if (opts & SP_PP_OPT_SSL) {
        /* client flags 0 (not TLS), verify 0: what HAProxy sends for a cleartext client */
        static const uint8_t ssl[5];
        if (!(off = put_tlv(buf, len, off, PP2_TYPE_SSL, ssl, sizeof(ssl))))
            return 0;
    }
    if (off - SP_PP_V2_HDR > 0xFFFF)
        return 0;
    buf[14] = (uint8_t)((off - SP_PP_V2_HDR) >> 8);
    buf[15] = (uint8_t)(off - SP_PP_V2_HDR);
    if (crc_at) {
        uint32_t crc = sp_crc32c(0, buf, off);
        buf[crc_at] = (uint8_t)(crc >> 24);
        buf[crc_at + 1] = (uint8_t)(crc >> 16);
        buf[crc_at + 2] = (uint8_t)(crc >> 8);
        buf[crc_at + 3] = (uint8_t)crc;
    }
    return off;
}
