/* core/util.h - small helpers with no owner: pure functions, safe from any thread. */
#ifndef SP_CORE_UTIL_H
#define SP_CORE_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SP_MAX_WORKERS 64
#define SP_CACHELINE   64

#define SP_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define SP_MIN(a, b)     ((a) < (b) ? (a) : (b))
#define SP_MAX(a, b)     ((a) > (b) ? (a) : (b))

#define sp_container_of(ptr, type, member) ((type *)(void *)((char *)(ptr)-offsetof(type, member)))

#define sp_likely(x)   __builtin_expect(!!(x), 1)
#define sp_unlikely(x) __builtin_expect(!!(x), 0)

/* pure: any thread.
 * Formats an address as "1.2.3.4", "::1" or "unix" (no port) into buf; returns buf. */
const char *sp_addr_ip(const struct sockaddr_storage *ss, char *buf, size_t len);
/* pure: any thread. Port of an AF_INET/AF_INET6 address, 0 otherwise. */
int sp_addr_port(const struct sockaddr_storage *ss);
/* pure: any thread. Formats "1.2.3.4:80", "[::1]:80" or "unix@PATH". */
const char *sp_addr_str(const struct sockaddr_storage *ss, char *buf, size_t len);
/* pure: any thread.
 * True when `ss` lies in the network net/prefix (same family; a v4-mapped v6 address is
 * compared as v4). */
int sp_addr_in_net(const struct sockaddr_storage *ss, const struct sockaddr_storage *net,
                   int prefix);

/* pure: any thread.
 * Writes `v` in lower-case hex; returns the length. buf holds at least 17 bytes. */
size_t sp_u64_hex(uint64_t v, char *buf);
/* pure: any thread. Writes `v` in decimal; returns the length. buf holds at least 21 bytes. */
size_t sp_u64_dec(uint64_t v, char *buf);
/* pure: any thread. The value of a hexadecimal digit, -1 for another character. */
static inline int sp_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#endif
