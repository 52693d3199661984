/* tests/fuzz/fuzz_proxyproto.c - libFuzzer harness: PROXY protocol headers (net/proxyproto.c),
 * the first bytes of every connection on an `accept-proxy` bind.
 *
 * Input: the bytes a client sends first. The first byte picks the reader's limit (how much
 * a v2 header may take: 16 to 16 KiB, as a read buffer of tune.bufsize would).
 *
 * Checks beyond the sanitizers:
 *  - reading in pieces agrees with reading whole: every prefix of an accepted header asks
 *    for more, and a refused input is never accepted once it has more bytes;
 *  - an accepted header is at most SP_PP_V1_MAX bytes (v1) or the limit (v2), and says its
 *    version; one that refused leaves no address;
 *  - the addresses it gave, written back by sp_pp_build_v1() and sp_pp_build_v2() (with the
 *    authority and a crc32c), parse again to the same addresses and authority.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "net/proxyproto.h"
#include "tests/fuzz/common.h"

static bool same_addr(const struct sockaddr_storage *a, const struct sockaddr_storage *b)
{
    if (a->ss_family != b->ss_family)
        return false;
    if (a->ss_family == AF_INET) {
        const struct sockaddr_in *x = (const struct sockaddr_in *)a;
        const struct sockaddr_in *y = (const struct sockaddr_in *)b;
        return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
    }
    const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)a;
    const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)b;
    return x->sin6_port == y->sin6_port && !memcmp(&x->sin6_addr, &y->sin6_addr, 16);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sp_pp_hdr h, h2;

    if (!size)
        return 0;
    size_t max = 16 + (size_t)data[0] * 64;
    const uint8_t *p = data + 1;
    size_t n = size - 1;

    fz_guard = true;
    long r = sp_pp_parse(p, n, max, &h);
    FZ_CHECK(r >= -SP_PP_ERR_TOO_LONG && r <= (long)n, "result %ld for %zu bytes", r, n);
    if (r <= 0)
        FZ_CHECK(!h.has_addr, "no header, yet an address");
    if (r < 0)
        FZ_CHECK(sp_pp_strerror((int)r)[0] != 0, "an error without a message");
    if (r > 0) {
        FZ_CHECK(h.version == 1 || h.version == 2, "version %d", h.version);
        FZ_CHECK(h.version == 2 || r <= SP_PP_V1_MAX, "a v1 line of %ld bytes", r);
        FZ_CHECK(h.version == 1 || (size_t)r <= max, "a v2 header of %ld > %zu bytes", r, max);
        FZ_CHECK(h.authority_len <= SP_PP_AUTHORITY_MAX, "authority of %u", h.authority_len);
        for (long i = 0; i < r; i++) {
            long k = sp_pp_parse(p, (size_t)i, max, &h2);
            FZ_CHECK(k == 0, "prefix %ld of an accepted %ld-byte header gives %ld", i, r, k);
        }
        /* the same bytes with anything after them: the same header */
        long k = sp_pp_parse(p, (size_t)r, max, &h2);
        FZ_CHECK(k == r && h2.has_addr == h.has_addr, "whole %ld, cut at its end %ld", r, k);
    } else {
        /* bytes one at a time: never accepted before the end, the same verdict at the end */
        for (size_t i = 0; i < n && i < 600; i++) {
            long k = sp_pp_parse(p, i, max, &h2);
            FZ_CHECK(k <= 0, "prefix %zu accepted (%ld) where the whole is refused (%ld)", i, k, r);
            if (r == 0)
                FZ_CHECK(k == 0, "prefix %zu refused (%ld) where the whole asks for more", i, k);
        }
    }
    if (r > 0 && h.has_addr) {
        char v1[SP_PP_BUILD_MAX];
        uint8_t v2[SP_PP_BUILD_MAX];
        size_t l1 = sp_pp_build_v1(v1, sizeof(v1), &h.src, &h.dst);
        FZ_CHECK(l1 > 0, "v1 not built");
        long k = sp_pp_parse((const uint8_t *)v1, l1, max, &h2);
        FZ_CHECK(k == (long)l1 && h2.has_addr, "built v1 parses as %ld: %.*s", k, (int)l1, v1);
        if (h.src.ss_family == h.dst.ss_family)
            FZ_CHECK(same_addr(&h.src, &h2.src) && same_addr(&h.dst, &h2.dst),
                     "v1 addresses changed: %.*s", (int)l1, v1);
        size_t l2 = sp_pp_build_v2(v2, sizeof(v2), &h.src, &h.dst,
                                   SP_PP_OPT_CRC32C | SP_PP_OPT_AUTHORITY | SP_PP_OPT_SSL,
                                   h.authority, h.authority_len);
        FZ_CHECK(l2 > 0, "v2 not built");
        k = sp_pp_parse(v2, l2, SP_PP_BUILD_MAX, &h2);
        FZ_CHECK(k == (long)l2 && h2.has_addr, "built v2 parses as %ld", k);
        FZ_CHECK(same_addr(&h.src, &h2.src) && same_addr(&h.dst, &h2.dst), "v2 addresses changed");
        FZ_CHECK(h2.authority_len == h.authority_len &&
                     !memcmp(h2.authority, h.authority, h.authority_len),
                 "authority changed");
    }
    fz_guard = false;
    return 0;
}
