/* net/proxyproto.h - the PROXY protocol (HAProxy's doc/proxy-protocol.txt), versions 1 and 2:
 * the header a load balancer puts in front of a connection to say whose it is, parsed on a
 * `bind ... accept-proxy` connection, and the one spillway puts in front of a server
 * connection for `server ... send-proxy|send-proxy-v2`.
 *
 * pure: no I/O and no state; any thread.
 *
 * As HAProxy 2.6 (src/connection.c conn_recv_proxy(), make_proxy_line()): a v1 line names
 * TCP4, TCP6 or UNKNOWN; a v2 header says LOCAL or PROXY, for TCP over IPv4 or IPv6 the
 * addresses replace the connection's own, for any other family (UNIX, UDP, UNSPEC) the
 * connection keeps its own. TLVs are walked and checked (each must fit, a CRC32C must match,
 * an authority is at most 255 bytes and a unique id 128) and otherwise skipped; the authority
 * is kept for `proxy-v2-options authority`. Unlike HAProxy, which needs the whole header in
 * the first read (a MSG_PEEK), a header may arrive in pieces: the caller bounds the wait.
 */
#ifndef SP_NET_PROXYPROTO_H
#define SP_NET_PROXYPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#define SP_PP_V1_MAX        107 /* the longest v1 line, CRLF included */
#define SP_PP_V2_HDR        16  /* signature, version and command, family, length */
#define SP_PP_AUTHORITY_MAX 255
#define SP_PP_UNIQUE_ID_MAX 128
/* room for any header spillway builds: v2 over IPv6 with every TLV it sends */
#define SP_PP_BUILD_MAX (SP_PP_V2_HDR + 36 + 7 + 3 + SP_PP_AUTHORITY_MAX + 8)

/* why a header was refused (returned negated) */
enum sp_pp_err {
    SP_PP_ERR_NOT_HDR = 1, /* does not begin as a PROXY header */
    SP_PP_ERR_BAD_HDR,     /* begins as one, but is invalid */
    SP_PP_ERR_BAD_PROTO,   /* a v1 line naming a protocol other than TCP4, TCP6 or UNKNOWN */
    SP_PP_ERR_TOO_LONG,    /* a v2 header longer than the reader can hold */
};

/* owner: the caller (a parse result). What a header said. */
struct sp_pp_hdr {
    int version;   /* 1 or 2 */
    bool has_addr; /* src and dst are set; false: LOCAL, UNKNOWN or a family kept local */
    struct sockaddr_storage src, dst;
    uint16_t authority_len; /* v2 PP2_TYPE_AUTHORITY, 0 when absent */
    char authority[SP_PP_AUTHORITY_MAX + 1];
};

/* pure. Parses the header at the start of p[0..len). Returns its length (> 0) and fills
 * *ret, 0 when the bytes so far are the beginning of a header and more are needed (never
 * more than SP_PP_V1_MAX for v1, or than `max` for v2), or -SP_PP_ERR_*. */
long sp_pp_parse(const uint8_t *p, size_t len, size_t max, struct sp_pp_hdr *ret);

/* pure. HAProxy's message for a refused header ("Received an invalid PROXY protocol
 * header."). */
const char *sp_pp_strerror(int err);

/* What a server's PROXY header carries (`send-proxy`, `send-proxy-v2`, `proxy-v2-options`). */
enum {
    SP_PP_SEND_V1 = 1 << 0,
    SP_PP_SEND_V2 = 1 << 1,
    SP_PP_OPT_CRC32C = 1 << 2,    /* v2: a checksum of the header */
    SP_PP_OPT_AUTHORITY = 1 << 3, /* v2: the authority the client's own header gave */
    SP_PP_OPT_SSL = 1 << 4,       /* v2: the SSL TLV (the client never used TLS here) */
};

/* pure. The v1 line for a connection from `src` to `dst` ("PROXY UNKNOWN\r\n" when either is
 * NULL or not IPv4/IPv6; TCP6 with IPv4-mapped addresses when only one is IPv6). Returns its
 * length, or 0 when `len` is too small. */
size_t sp_pp_build_v1(char *buf, size_t len, const struct sockaddr_storage *src,
                      const struct sockaddr_storage *dst);

/* pure. The v2 header: PROXY with the addresses when both are IPv4/IPv6, LOCAL otherwise (or
 * when either is NULL); then the TLVs `opts` asks for (SP_PP_OPT_*; the authority only when
 * one is given). Returns its length, or 0 when `len` is too small. */
size_t sp_pp_build_v2(uint8_t *buf, size_t len, const struct sockaddr_storage *src,
                      const struct sockaddr_storage *dst, unsigned opts, const char *authority,
                      size_t authority_len);

/* pure. CRC-32C (Castagnoli) of p[0..n), as HAProxy's hash_crc32c(); `crc` chains pieces:
 * start with 0. */
uint32_t sp_crc32c(uint32_t crc, const void *p, size_t n);

#endif
