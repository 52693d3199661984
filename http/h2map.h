/* http/h2map.h - translation between HTTP/2 streams and HTTP/1.1 messages, and the per-
 * connection reset budget.
 *
 * Pure functions over caller-owned memory; no nghttp2 session is touched here, so that every
 * rule can be unit-tested. owner: worker (each object is owned by its caller).
 *
 * nghttp2's HTTP messaging checks run before these (pseudo-header presence and order,
 * connection-specific fields, lower-case names, no CR/LF/NUL, content-length against DATA);
 * what remains here is what turns a valid HTTP/2 request into an unambiguous HTTP/1.1 one.
 */
#ifndef SP_HTTP_H2MAP_H
#define SP_HTTP_H2MAP_H

#include <nghttp2/nghttp2.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "http/h1.h"
#include "net/buf.h"

#define SP_H2_MAX_FIELDS 100 /* regular fields per request; more: 431 */

/* owner: its holder (a value: an offset and length into the request's store). */
struct sp_h2_span {
    uint32_t off, len;
};

/* owner: worker. A request's fields as they arrive (on_header), copied into `store`. */
struct sp_h2_req {
    struct sp_buf *store;
    struct sp_h2_span method, path, authority, scheme;
    bool has_method, has_path, has_authority, has_scheme;
    uint32_t nfields;
    struct {
        struct sp_h2_span name, value;
    } f[SP_H2_MAX_FIELDS];
    uint32_t list_size;     /* RFC 9113 6.5.2: sum of name + value + 32 */
    int64_t content_length; /* -1: none */
    enum sp_h1_meth meth;
};

/* pure: any thread, on the caller's request. An empty request whose fields go to `store`. */
void sp__h2_req_init(struct sp_h2_req *r, struct sp_buf *store);

/* pure: any thread, on the caller's request.
 * Adds one field. Returns 0; -E2BIG when the list grows over `max_list` or has too many
 * fields (answer 431); -EINVAL for a field HTTP/1.1 cannot carry safely (a name or value with
 * bytes outside what RFC 9110 allows, a bad content-length, a repeated pseudo-header or an
 * unknown one): the stream is reset. */
int sp__h2_req_add(struct sp_h2_req *r, const uint8_t *name, size_t nlen, const uint8_t *value,
                   size_t vlen, uint32_t max_list);

/* owner: worker (a view the caller owns).
 * The request as HAProxy 2.6's HTTP/2 demultiplexer hands it to rules and fetches (src/h2.c,
 * h2_make_htx_request): with :authority the URI is the absolute form scheme://authority
 * followed by :path (left out when it is "*"), and a host field made of the authority comes
 * first, hiding the client's own host fields; without :authority the URI is :path and host
 * fields stay where they are. Cookie crumbs are joined with "; " into one field placed after
 * every other field (RFC 9113 8.2.3). owner: worker; valid while the request and the scratch
 * buffer given to sp__h2_view_init() are. */
#define SP_H2_VIEW_HOST   (-1) /* the host field made of :authority */
#define SP_H2_VIEW_COOKIE (-2) /* the joined cookie field */

/* owner: worker (the caller's; see the comment above the defines). */
struct sp_h2_view {
    const struct sp_h2_req *req;
    const char *uri; /* not NUL-terminated */
    size_t uri_len;
    const char *cookie; /* the joined crumbs, NULL when the request has none */
    size_t cookie_len;
    uint32_t n;                        /* fields seen */
    int16_t idx[SP_H2_MAX_FIELDS + 2]; /* each: a field of req, or SP_H2_VIEW_* */
};

/* pure: any thread, on the caller's objects.
 * Builds the view of a complete request head, writing the absolute URI and the joined
 * cookie into `scratch` (appended; the caller empties it when the view is no longer used).
 * A request whose field list fits a buffer of the scratch's size always fits: both strings
 * are made of field values that the list size counts with 32 bytes more each. Returns 0, or
 * -ENOSPC when they do not fit: the view then holds :path as the URI and the crumbs apart. */
int sp__h2_view_init(struct sp_h2_view *v, const struct sp_h2_req *r, struct sp_buf *scratch);
/* pure: any thread. Field i (0 <= i < v->n) of the view. */
void sp__h2_view_field(const struct sp_h2_view *v, size_t i, const char **name, size_t *nlen,
                       const char **value, size_t *vlen);

/* owner: worker. The frame boundaries of a client's byte stream, followed through the frame
 * headers only, to count DATA frames that carry nothing and do not end their stream: a flood
 * of them costs the server work at no cost to the client (CVE-2019-9518). nghttp2 1.52 has no
 * limit of its own (1.67 counts them as "glitches") and drops those sent on a closed stream
 * without any callback, so they are counted here, before nghttp2 sees the bytes. Only the
 * scanner's position is kept (one per HTTP/2 connection); what it reports goes to the
 * callbacks given to each sp__h2_fscan() call. */
struct sp_h2_fscan {
    uint32_t skip;   /* bytes to pass before the next frame header (the preface first) */
    uint32_t padlen; /* the frame length of a padded DATA frame whose pad length is next */
    uint8_t hd[9];   /* a frame header split between two reads */
    uint8_t hdlen;
    bool pad_next;   /* the next byte is a padded DATA frame's pad length */
    uint8_t prio[4]; /* a PRIORITY payload's dependency, being read */
    uint8_t prio_len;
    bool prio_next;  /* the next bytes are a PRIORITY payload's dependency */
    int32_t prio_id; /* its stream */
};

/* shared: immutable. What a scan reports, each entry optional; `arg` is the one given to
 * sp__h2_fscan(). A scan must be given the same callbacks on every call. */
struct sp_h2_fscan_cbs {
    /* every frame header as it is found (type, flags, stream id), before the frame reaches
     * nghttp2 (which drops DATA on streams it forgot without a callback) */
    void (*on_hd)(void *arg, uint8_t type, uint8_t flags, int32_t id);
    /* a PRIORITY frame's stream and the stream it depends on (nghttp2 skips PRIORITY
     * payloads unread once RFC 7540 priorities are off) */
    void (*on_prio)(void *arg, int32_t id, int32_t dep);
};

/* pure: any thread, on the caller's scanner.
 * `preface`: the bytes before the first frame (the 24-byte client connection preface). */
void sp__h2_fscan_init(struct sp_h2_fscan *s, uint32_t preface);
/* pure: any thread, on the caller's scanner (the callbacks run on the calling thread).
 * Follows p[0..n) and returns how many DATA frames without payload (padding aside) and
 * without END_STREAM begin in it, telling `cbs` (NULL: nobody) what it finds. */
uint32_t sp__h2_fscan(struct sp_h2_fscan *s, const uint8_t *p, size_t n,
                      const struct sp_h2_fscan_cbs *cbs, void *arg);

struct sp_fwd;

/* pure: any thread.
 * Whether a complete HTTP/2 request head can go to an HTTP/1.1 server: the pseudo-headers
 * it needs, no CONNECT, "*" for OPTIONS alone, one valid host field at most (its index in
 * *ret_host_idx, -1 when none). 0 or -EINVAL (400). */
int sp__h2_req_check(const struct sp_h2_req *r, int *ret_host_idx);

/* pure: any thread, on the caller's buffer and objects.
 * Writes the HTTP/1.1 request head for a complete HTTP/2 request head. `end_stream`: the
 * HEADERS frame ended the stream (no body). Sets *ret_body to the framing used toward the
 * server: CL when the request carried content-length, CHUNKED when it has a body of unknown
 * length, NONE otherwise. Returns 0, -ENOSPC (does not fit: 431) or -EINVAL (missing or bad
 * pseudo-header: 400). */
int sp__h2_build_request(struct sp_buf *out, const struct sp_h2_req *r, const struct sp_fwd *fwd,
                         const struct sockaddr_storage *peer, bool close, bool end_stream,
                         enum sp_h1_body *ret_body);

/* pure: any thread, on the caller's buffers.
 * Builds the nghttp2 header list of an HTTP/1.1 response head: ":status" first, then every
 * field that is not hop-by-hop, names lower-cased into `scratch`. Values point into `buf`.
 * Returns the number of entries, or -ENOSPC when `max` entries or the scratch space are too
 * few. */
int sp__h2_res_nv(const char *buf, const struct sp_h1_msg *m, nghttp2_nv *nva, size_t max,
                  char *scratch, size_t scratch_len);

/* pure: any thread.
 * Decodes base64 (RFC 4648: `url` selects the URL alphabet; trailing '=' padding is accepted
 * with the standard one). Returns the decoded length or -EINVAL. */
long sp__base64_decode(const char *in, size_t len, uint8_t *out, size_t out_len, bool url);
/* pure: any thread.
 * Decodes base64url without padding (HTTP2-Settings). Returns the decoded length or -EINVAL. */
long sp__base64url_decode(const char *in, size_t len, uint8_t *out, size_t out_len);

/* owner: worker. A token bucket of client stream resets: each reset of a stream that had
 * cost backend work takes one token; tokens come back at `rate` per second up to `burst`. An
 * empty bucket means the client resets faster than any honest one: the connection ends.
 * burst and rate are the caller's constants, given to each call (two buckets per HTTP/2
 * connection: 8 bytes each). The stamp is the low 32 bits of the worker's monotonic
 * millisecond clock: the time since it is right for pauses below 2^32 ms (49.7 days); a
 * longer one may give back fewer tokens than the burst. */
struct sp_h2_budget {
    uint32_t tokens;
    uint32_t last_ms; /* when tokens last came back */
};

/* pure: any thread, on the caller's bucket (time comes in `now_ms`). A full bucket. */
void sp__h2_budget_init(struct sp_h2_budget *b, uint32_t burst, uint64_t now_ms);
/* pure: any thread, on the caller's bucket.
 * Takes one token; false when none is left. `burst` and `rate` as at init. */
bool sp__h2_budget_take(struct sp_h2_budget *b, uint32_t burst, uint32_t rate, uint64_t now_ms);

#endif
