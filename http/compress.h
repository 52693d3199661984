/* http/compress.h - HTTP response compression as HAProxy 2.6's compression filter does it
 * (src/flt_http_comp.c, src/compression.c), through zlib.
 *
 * The request picks an algorithm (Accept-Encoding, the configured list, the User-Agent); the
 * response decides whether it is compressed (version, method, status, framing,
 * Content-Encoding, Cache-Control, ETag, Content-Type); the body is then deflated as it
 * arrives, a sync flush after each piece the server side hands over (HAProxy flushes after
 * each payload callback), and finished at its end.
 *
 * Cost: nothing for a proxy without `compression` (a NULL pointer test per request). A
 * compressed response holds a zlib deflate state, (1 << (windowsize + 2)) + (1 << (memlevel +
 * 9)) bytes plus about 6 KiB: 262 KiB with HAProxy's defaults (windowsize 15, memlevel 8),
 * and one pool buffer (tune.bufsize) for compressed bytes waiting for the client; both are
 * taken when the response head says it is compressed and given back at its end or abort.
 *
 * The functions below are pure (any thread, no allocation) unless they say otherwise.
 */
#ifndef SP_HTTP_COMPRESS_H
#define SP_HTTP_COMPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "http/h1.h"
#include "net/buf.h"

/* owner: main before the workers start (`tune.comp.maxlevel`, `tune.zlib.memlevel`,
 * `tune.zlib.windowsize`), read-only afterwards */
extern int sp_comp_level, sp_comp_memlevel, sp_comp_windowsize;

/* pure: any thread.
 * The token an algorithm announces in Content-Encoding ("gzip", "deflate", "identity"). */
const char *sp_comp_token(enum sp_comp_algo a);

/* pure: any thread.
 * False for the old user agents HAProxy does not compress for: "Mozilla/4" unless MSIE 6
 * with XP SP2, or MSIE 7 and later. */
bool sp_comp_ua_ok(const char *ua, size_t len);

/* owner: the caller. The negotiation over a request's Accept-Encoding fields. */
struct sp_comp_neg {
    int best_q; /* 0..1000 */
    enum sp_comp_algo algo;
};
/* pure: any thread, on the caller's negotiation.
 * One Accept-Encoding field value (its comma-separated members in order): a member whose
 * q-value beats the best so far picks the first configured algorithm it names ("*": the
 * first configured one). */
void sp_comp_neg_field(struct sp_comp_neg *n, const struct sp_cfg_comp *algos, const char *v,
                       size_t len);
/* pure: any thread.
 * The algorithm chosen: the one the fields named, else `identity` when configured (it needs
 * no header), else SP_COMP_NONE. */
enum sp_comp_algo sp_comp_neg_end(const struct sp_comp_neg *n, const struct sp_cfg_comp *algos);

/* pure: any thread.
 * Whether the final response head `m` (over `buf`) may be compressed, the request being
 * `meth` in HTTP/1.1 or later (`req11`); `types` is the proxy whose `compression type` list
 * applies (NULL or empty: every type but multipart). */
bool sp_comp_res_ok(const struct sp_cfg_comp *types, const char *buf, const struct sp_h1_msg *m,
                    enum sp_h1_meth meth, bool req11);

/* pure: any thread, on the caller's buffer.
 * Writes the compressed response's head into `out` (emptied first): the server's fields
 * without Content-Length and Transfer-Encoding, a strong ETag made weak, then
 * Content-Encoding (but for identity), Transfer-Encoding: chunked and Vary: Accept-Encoding.
 * Returns its length, or -ENOSPC when it does not fit. */
long sp_comp_build_head(struct sp_buf *out, const char *buf, const struct sp_h1_msg *m,
                        enum sp_comp_algo a);

/* owner: the caller. One body's deflater (zlib; identity copies). */
struct sp_deflate {
    void *z; /* z_stream (malloc'd with its state), NULL for identity */
    enum sp_comp_algo algo;
    bool flushing; /* a sync flush did not fit in the output yet */
    bool finished; /* the stream's end was written */
};
/* owner: the caller (its own deflater; reads the sp_comp_* settings).
 * Allocates the zlib state (the only allocation). 0 or -ENOMEM. */
int sp_deflate_init(struct sp_deflate *d, enum sp_comp_algo a);
/* owner: the caller (its own deflater and buffer).
 * Compresses what of in[0..len) fits into `out`'s room, then a sync flush when all of it was
 * taken (`flush`); returns the input bytes taken, or -EIO. */
long sp_deflate_data(struct sp_deflate *d, const char *in, size_t len, bool flush,
                     struct sp_buf *out);
/* owner: the caller (its own deflater and buffer).
 * Goes on with a flush that did not fit (d->flushing), or writes the end of the stream
 * (`finish`) as far as `out` has room. 0 when done, 1 when more room is needed, or -EIO. */
int sp_deflate_drain(struct sp_deflate *d, bool finish, struct sp_buf *out);
/* owner: the caller (its own deflater).
 * Frees the zlib state. Accepts a never-initialised (zeroed) one. */
void sp_deflate_end(struct sp_deflate *d);

#endif
