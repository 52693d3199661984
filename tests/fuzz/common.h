/* tests/fuzz/common.h - what the libFuzzer harnesses of tests/fuzz/ share.
 *
 * owner: the fuzzer's thread (libFuzzer runs one input at a time, on one thread).
 *
 * - A sandbox for code that reaches outside the process: while fz_guard is set, fopen() reads
 *   only the pattern files the harness made (a bare name: `-f pats`) and the path allowed with
 *   fz_allow_path() (writes pass: libFuzzer saving a crash input); getaddrinfo() resolves
 *   numeric addresses and "localhost" only; regcomp() refuses patterns whose cost is glibc's
 *   (nested repetitions, back-references). A fuzzed `-f /dev/zero`, `server s example.com:80`
 *   or `path_reg a+++++++++++++++++++++` would otherwise hang, depend on the network or
 *   exhaust memory in libc. regexec() with REG_STARTEND is checked on the range it names
 *   (the sanitizers' interceptor would read up to a NUL that need not be there).
 * - FZ_CHECK(): an invariant the harness checks on spillway's output; a violation prints the
 *   reason and aborts, which libFuzzer reports as a crash with the input saved.
 * - The probe ACLs: a fixed set of conditions over every request fetch, compiled once and
 *   evaluated on each request a harness parsed, so that balance/acl-fetch.c runs on hostile
 *   requests exactly as route.c hands them over.
 * - The chunked-body oracle shared by the request and response harnesses.
 */
#ifndef SP_TESTS_FUZZ_COMMON_H
#define SP_TESTS_FUZZ_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "balance/acl.h"
#include "http/h1.h"

#define FZ_CHECK(cond, ...)                                                                        \
    do {                                                                                           \
        if (!(cond))                                                                               \
            fz_fail(__FILE__, __LINE__, #cond, __VA_ARGS__);                                       \
    } while (0)

__attribute__((noreturn, format(printf, 4, 5))) void
fz_fail(const char *file, int line, const char *cond, const char *fmt, ...);

/* set around calls into spillway; off while libFuzzer itself reads and writes files */
extern bool fz_guard;
/* one extra path fopen() may open while guarded (a memfd's /proc path); NULL: none */
void fz_allow_path(const char *path);

/* A reader over the fuzz input: control bytes first, the rest is the payload. */
struct fz_in {
    const uint8_t *p;
    size_t n;
};
uint8_t fz_u8(struct fz_in *in);
uint16_t fz_u16(struct fz_in *in);

/* A heap copy of exactly n bytes (ASan sees any read past the end); free() it. */
char *fz_dup(const void *p, size_t n);

/* ---- probe ACLs ---- */

/* Compiles the probe set (first call only). */
void fz_probe_init(void);
/* Evaluates every probe condition on env (filled by the caller except load, src, dst). */
void fz_probe_eval(struct sp_acl_env *env);
/* The fake resolver of the probes and of the ACL harness: frontends "webserver", "fe2",
 * backends "ade", "pbcoffee", server "ade/s1". */
extern const struct sp_acl_resolver fz_resolver;
/* deterministic load values: a function of (what, idx) and `seed` */
int64_t fz_load(const void *ctx, enum sp_acl_load what, int idx);
/* addresses for src/dst fetches: v4 or v6 by `v6` */
const struct sockaddr_storage *fz_peer(bool v6);
const struct sockaddr_storage *fz_local(bool v6);

/* ---- chunked bodies ---- */

/* Decodes `n` bytes of chunked body in one go and again in pieces cut at `cut1` and `cut2`
 * (each piece given in an exact-size copy), and checks that both see the same framing, the
 * same data and the same end. Returns the bytes the one-go decode consumed up to DONE, or -1
 * when it did not finish (error or more input needed). */
long fz_chunk_check(const uint8_t *p, size_t n, size_t cut1, size_t cut2);

/* Checks that a parsed message's offsets and lengths lie inside the head. */
void fz_msg_check(const struct sp_h1_msg *m, long headlen, bool request);

#endif
