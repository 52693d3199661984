/* balance/dns.c - see dns.h. */
#include "balance/dns.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

int sp_dns_query_build(uint16_t id, const char *name, int qtype, int payload, uint8_t *buf,
                       size_t size)
{
    size_t off = 12, nlen = strlen(name);

    if (nlen && name[nlen - 1] == '.')
        nlen--;
    if (!nlen || nlen > 253 || size < 12 + nlen + 2 + 4 + 11)
        return -EINVAL;
    memset(buf, 0, 12);
    wr16(buf, id);
    buf[2] = 0x01; /* RD */
    wr16(buf + 4, 1);
    wr16(buf + 10, payload > 512 ? 1 : 0);
    for (size_t i = 0; i < nlen;) {
        size_t l = strcspn(name + i, ".");
        if (l == 0 || l > 63 || i + l > nlen)
            return -EINVAL;
        buf[off++] = (uint8_t)l;
        memcpy(buf + off, name + i, l);
        off += l;
        i += l + 1;
    }
    buf[off++] = 0;
    wr16(buf + off, (unsigned)qtype);
    wr16(buf + off + 2, 1); /* IN */
    off += 4;
    if (payload > 512) { /* OPT: root name, type 41, class = payload size, ttl 0, rdlen 0 */
        buf[off++] = 0;
        wr16(buf + off, SP_DNS_T_OPT);
        wr16(buf + off + 2, (unsigned)payload);
        memset(buf + off + 4, 0, 6);
        off += 10;
    }
    return (int)off;
}

int sp_dns_packet_id(const uint8_t *buf, size_t len)
{
    return len < 12 ? -1 : rd16(buf);
}

/* Reads the name at *pos into `out` (dotted, lower case untouched), advancing *pos past it
 * in the packet (not past the pointed-to parts). Returns 0 or -EINVAL. */
static int read_name(const uint8_t *buf, size_t len, size_t *pos, char *out, size_t osize)
{
    size_t p = *pos, o = 0;
    int jumps = 0;
    bool jumped = false;

    for (;;) {
        if (p >= len)
            return -EINVAL;
        uint8_t l = buf[p];
        if ((l & 0xc0) == 0xc0) {
            if (p + 1 >= len || ++jumps > SP_DNS_MAX_JUMPS)
                return -EINVAL;
            size_t to = (size_t)(l & 0x3f) << 8 | buf[p + 1];
            if (!jumped)
                *pos = p + 2;
            jumped = true;
            p = to;
            continue;
        }
        if (l & 0xc0)
            return -EINVAL; /* the reserved label types */
        if (l == 0) {
            if (!jumped)
                *pos = p + 1;
            break;
        }
        if (p + 1 + l > len || o + l + 2 > osize || o + l + 1 > 255)
            return -EINVAL;
        if (o)
            out[o++] = '.';
        memcpy(out + o, buf + p + 1, l);
        o += l;
        p += 1 + (size_t)l;
    }
    out[o] = '\0';
    return 0;
}

static bool same_name(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la && a[la - 1] == '.')
        la--;
    if (lb && b[lb - 1] == '.')
        lb--;
    return la == lb && strncasecmp(a, b, la) == 0;
}

/* One SRV record's rdata at buf[pos..pos+rdlen): priority, weight, port, target. A target of
 * "." (no service there) is left out, as are records past SP_DNS_MAX_SRV. */
static int srv_record(const uint8_t *buf, size_t len, size_t pos, size_t rdlen, uint32_t ttl,
                      struct sp_dns_answer *out)
{
    struct sp_dns_srv *r = &out->srv[out->nsrv];
    size_t p2 = pos + 6;

    if (rdlen < 7)
        return -EINVAL;
    if (out->nsrv >= SP_DNS_MAX_SRV)
        return 0;
    if (read_name(buf, len, &p2, r->target, sizeof(r->target)) < 0 || p2 > pos + rdlen)
        return -EINVAL;
    if (!r->target[0])
        return 0;
    r->priority = rd16(buf + pos);
    r->weight = rd16(buf + pos + 2);
    r->port = rd16(buf + pos + 4);
    r->ttl = ttl;
    r->family = 0;
    out->nsrv++;
    return 0;
}

/* After the answer section at `pos` (`an` records read): skips the Authority section and
 * gives each SRV target the first A or AAAA address the Additional section has for it. The
 * record count over all sections stays within SP_DNS_MAX_RR. */
static int additional(const uint8_t *buf, size_t len, size_t pos, unsigned an,
                      struct sp_dns_answer *out)
{
    char owner[256];
    unsigned ns = rd16(buf + 8), ar = rd16(buf + 10);

    for (unsigned i = 0; i < ns + ar && an + i < SP_DNS_MAX_RR; i++) {
        if (read_name(buf, len, &pos, owner, sizeof(owner)) < 0 || pos + 10 > len)
            return -EINVAL;
        int type = rd16(buf + pos), cls = rd16(buf + pos + 2);
        size_t rdlen = rd16(buf + pos + 8);
        pos += 10;
        if (pos + rdlen > len)
            return -EINVAL;
        if (i >= ns && cls == 1 && (type == SP_DNS_T_A || type == SP_DNS_T_AAAA)) {
            size_t alen = type == SP_DNS_T_A ? 4 : 16;
            if (rdlen != alen)
                return -EINVAL;
            for (int k = 0; k < out->nsrv; k++) {
                struct sp_dns_srv *r = &out->srv[k];
                if (r->family || !same_name(owner, r->target))
                    continue;
                r->family = type == SP_DNS_T_A ? AF_INET : AF_INET6;
                memcpy(r->addr, buf + pos, alen);
            }
        }
        pos += rdlen;
    }
    return 0;
}

int sp_dns_answer_parse(const uint8_t *buf, size_t len, uint16_t id, const char *name, int qtype,
                        struct sp_dns_answer *out)
{
    char owner[256], target[256], names[4][256];
    int nnames = 1;
    size_t pos = 12;

    if (len < 12 || rd16(buf) != id || !(buf[2] & 0x80) || rd16(buf + 4) != 1)
        return -ESRCH;
    memset(out, 0, sizeof(*out));
    out->rcode = buf[3] & 0x0f;
    if (read_name(buf, len, &pos, owner, sizeof(owner)) < 0 || pos + 4 > len)
        return -EINVAL;
    if (!same_name(owner, name) || rd16(buf + pos) != qtype)
        return -ESRCH;
    pos += 4;
    snprintf(names[0], sizeof(names[0]), "%s", name);
    unsigned an = rd16(buf + 6);
    if (an > SP_DNS_MAX_RR)
        an = SP_DNS_MAX_RR;
    for (unsigned i = 0; i < an; i++) {
        if (read_name(buf, len, &pos, owner, sizeof(owner)) < 0 || pos + 10 > len)
            return -EINVAL;
        int type = rd16(buf + pos), cls = rd16(buf + pos + 2);
        uint32_t ttl = rd32(buf + pos + 4);
        size_t rdlen = rd16(buf + pos + 8);
        pos += 10;
        if (pos + rdlen > len)
            return -EINVAL;
        bool ours = false;
        for (int k = 0; k < nnames && !ours; k++)
            ours = same_name(owner, names[k]);
        if (cls != 1 || !ours) {
            pos += rdlen;
            continue;
        }
        if (type == SP_DNS_T_CNAME) {
            size_t p2 = pos;
            if (read_name(buf, len, &p2, target, sizeof(target)) < 0 || p2 > pos + rdlen)
                return -EINVAL;
            if (nnames < 4)
                memcpy(names[nnames++], target, sizeof(target));
        } else if (type == SP_DNS_T_SRV && qtype == SP_DNS_T_SRV) {
            if (srv_record(buf, len, pos, rdlen, ttl, out) < 0)
                return -EINVAL;
        } else if (type == qtype && qtype != SP_DNS_T_SRV && out->naddr < SP_DNS_MAX_ADDRS) {
            size_t alen = type == SP_DNS_T_A ? 4 : 16;
            if (rdlen != alen)
                return -EINVAL;
            out->addr[out->naddr].family = type == SP_DNS_T_A ? AF_INET : AF_INET6;
            memcpy(out->addr[out->naddr].addr, buf + pos, alen);
            out->addr[out->naddr].ttl = ttl;
            out->naddr++;
        }
        pos += rdlen;
    }
    /* (an answer section longer than SP_DNS_MAX_RR was not read to its end: no Additional) */
    if (qtype == SP_DNS_T_SRV && out->nsrv && rd16(buf + 6) == an)
        return additional(buf, len, pos, an, out);
    return 0;
}
