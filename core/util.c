#include "core/util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/un.h>

/* dotted quad by hand: glibc's inet_ntop goes through sprintf, and this runs per request
 * (X-Forwarded-For, logs) */
static bool ipv4_str(const uint8_t *a, char *buf, size_t len)
{
    char tmp[16];
    size_t n = 0;

    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        if (v >= 100)
            tmp[n++] = (char)('0' + v / 100);
        if (v >= 10)
            tmp[n++] = (char)('0' + v / 10 % 10);
        tmp[n++] = (char)('0' + v % 10);
        if (i < 3)
            tmp[n++] = '.';
    }
    if (n >= len)
        return false;
    memcpy(buf, tmp, n);
    buf[n] = 0;
    return true;
}

const char *sp_addr_ip(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ss;
        if (!ipv4_str((const uint8_t *)&sin->sin_addr, buf, len))
            snprintf(buf, len, "?");
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)ss;
        if (!inet_ntop(AF_INET6, &sin6->sin6_addr, buf, len))
            snprintf(buf, len, "?");
    } else {
        snprintf(buf, len, "unix");
    }
    return buf;
}

int sp_addr_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)ss)->sin_port);
    if (ss->ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    return 0;
}

const char *sp_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len)
{
    char ip[INET6_ADDRSTRLEN];

    if (ss->ss_family == AF_INET)
        snprintf(buf, len, "%s:%d", sp_addr_ip(ss, ip, sizeof(ip)), sp_addr_port(ss));
    else if (ss->ss_family == AF_INET6)
        snprintf(buf, len, "[%s]:%d", sp_addr_ip(ss, ip, sizeof(ip)), sp_addr_port(ss));
    else if (ss->ss_family == AF_UNIX && !((const struct sockaddr_un *)ss)->sun_path[0])
        snprintf(buf, len, "abns@%s", ((const struct sockaddr_un *)ss)->sun_path + 1);
    else if (ss->ss_family == AF_UNIX)
        snprintf(buf, len, "unix@%s", ((const struct sockaddr_un *)ss)->sun_path);
    else
        snprintf(buf, len, "?");
    return buf;
}

static int prefix_match(const uint8_t *a, const uint8_t *b, int bits)
{
    int bytes = bits / 8, rest = bits % 8;

    if (memcmp(a, b, bytes))
        return 0;
    if (!rest)
        return 1;
    uint8_t mask = (uint8_t)(0xff << (8 - rest));
    return (a[bytes] & mask) == (b[bytes] & mask);
}

int sp_addr_in_net(const struct sockaddr_storage *ss, const struct sockaddr_storage *net,
                   int prefix)
{
    const uint8_t *a, *n;
    struct in_addr v4;

    if (net->ss_family == AF_INET) {
        n = (const uint8_t *)&((const struct sockaddr_in *)net)->sin_addr;
        if (ss->ss_family == AF_INET) {
            a = (const uint8_t *)&((const struct sockaddr_in *)ss)->sin_addr;
        } else if (ss->ss_family == AF_INET6 &&
                   IN6_IS_ADDR_V4MAPPED(&((const struct sockaddr_in6 *)ss)->sin6_addr)) {
            memcpy(&v4, ((const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr) + 12, 4);
            a = (const uint8_t *)&v4;
        } else {
            return 0;
        }
        return prefix_match(a, n, prefix > 32 ? 32 : prefix);
    }
    if (net->ss_family == AF_INET6 && ss->ss_family == AF_INET6) {
        a = (const uint8_t *)&((const struct sockaddr_in6 *)ss)->sin6_addr;
        n = (const uint8_t *)&((const struct sockaddr_in6 *)net)->sin6_addr;
        return prefix_match(a, n, prefix > 128 ? 128 : prefix);
    }
    return 0;
}

size_t sp_u64_hex(uint64_t v, char *buf)
{
    static const char digits[] = "0123456789abcdef";
    char tmp[16];
    size_t n = 0;

    do {
        tmp[n++] = digits[v & 15];
        v >>= 4;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = 0;
    return n;
}

size_t sp_u64_dec(uint64_t v, char *buf)
{
    char tmp[20];
    size_t n = 0;

    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        buf[i] = tmp[n - 1 - i];
    buf[n] = 0;
    return n;
}
