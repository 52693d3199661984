/* http/h1.h - HTTP/1.x message head parser and chunked-coding decoder (RFC 9112/9110).
 *
 * Pure functions over caller-owned bytes, no allocation, no I/O, safe from any thread on
 * distinct objects. The parser is zero-copy: every name/value/token it returns is an
 * offset+length into the caller's buffer, valid while that buffer is unchanged.
 *
 * Head parsing is restartable: call it again with the same (grown) buffer until it returns a
 * head length > 0. To keep a byte-at-a-time sender from costing O(n^2), pass the same
 * struct sp_h1_scan between calls: the search for the end of the head resumes where it
 * stopped and the full parse runs once, when the blank line is present.
 *
 * Strictness (a proxy must never forward an ambiguous message): see LIBRARIES.md B.5. Every
 * rejected message maps to the status a proxy answers with (400, 414, 431, 501), or for a
 * response, to 502.
 */
#ifndef SP_HTTP_H1_H
#define SP_HTTP_H1_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SP_H1_MAX_HDRS 100 /* the field table's size: at most this many fields, ever */

/* owner: main before the workers start (`tune.http.maxhdr` - 1), read-only afterwards. More
 * fields than this in a head: 431 (request) / 502 (response). 1..SP_H1_MAX_HDRS, default
 * SP_H1_MAX_HDRS. */
extern int sp_h1_max_hdrs;

/* parse outcomes (negative); a head length > 0 is success, 0 is "need more bytes" */
enum sp_h1_err {
    SP_H1_E400 = -400, /* malformed request */
    SP_H1_E414 = -414, /* request line longer than the limit */
    SP_H1_E431 = -431, /* header block larger than the limit, or too many fields */
    SP_H1_E501 = -501, /* unknown transfer coding */
    SP_H1_E502 = -502, /* malformed response */
};

enum sp_h1_meth {
    SP_METH_OTHER = 0,
    SP_METH_GET,
    SP_METH_HEAD,
    SP_METH_POST,
    SP_METH_PUT,
    SP_METH_DELETE,
    SP_METH_OPTIONS,
    SP_METH_TRACE,
    SP_METH_CONNECT,
    SP_METH_PATCH,
};

enum sp_h1_body {
    SP_H1_BODY_NONE = 0, /* no body at all */
    SP_H1_BODY_CL,       /* content_length bytes (may be 0) */
    SP_H1_BODY_CHUNKED,  /* chunked transfer coding */
    SP_H1_BODY_CLOSE,    /* responses only: until the server closes */
};

/* per-field flags */
enum {
    SP_H1_HF_HOP = 1 << 0, /* hop-by-hop: Connection, Keep-Alive, Proxy-Connection, TE,
                            * Transfer-Encoding, Upgrade, and every field named in Connection
                            * but Content-Length and Host */
    SP_H1_HF_HOST = 1 << 1,
    SP_H1_HF_CL = 1 << 2,
    SP_H1_HF_TE = 1 << 3,
    SP_H1_HF_UPGRADE = 1 << 4,
    SP_H1_HF_H2SETTINGS = 1 << 5, /* HTTP2-Settings */
    SP_H1_HF_EXPECT = 1 << 6,
};

/* owner: the caller (a parse result) */
struct sp_h1_hdr {
    uint32_t name_off, val_off; /* offsets into the buffer given to the parser */
    uint16_t name_len, val_len; /* value without leading/trailing OWS */
    uint16_t flags;             /* SP_H1_HF_* */
};

/* message-level flags */
enum {
    SP_H1_MF_CONN_CLOSE = 1 << 0,     /* Connection: close */
    SP_H1_MF_CONN_KEEPALIVE = 1 << 1, /* Connection: keep-alive */
    SP_H1_MF_CONN_UPGRADE = 1 << 2,   /* Connection names "upgrade" */
    SP_H1_MF_EXPECT_100 = 1 << 3,     /* Expect: 100-continue (case-insensitive) */
    SP_H1_MF_UPGRADE_H2C = 1 << 4,    /* Upgrade lists h2c */
    SP_H1_MF_HAS_H2SETTINGS = 1 << 5, /* exactly one HTTP2-Settings field */
    SP_H1_MF_ABSOLUTE_URI = 1 << 6,   /* request target in absolute-form */
    SP_H1_MF_TE_TRAILERS = 1 << 7,    /* a TE field lists "trailers": kept toward the server */
};

/* owner: the caller (a parse result) */
struct sp_h1_msg {
    /* request line (requests) */
    uint32_t method_off, uri_off;
    uint16_t method_len;
    uint32_t uri_len;
    enum sp_h1_meth meth;
    /* status line (responses) */
    int status; /* 100..999 */
    uint32_t reason_off;
    uint16_t reason_len;
    /* both */
    int version;    /* 10 or 11 */
    unsigned flags; /* SP_H1_MF_* */
    enum sp_h1_body body;
    uint64_t content_length; /* valid when body == SP_H1_BODY_CL */
    int host_idx;            /* index of the Host field in hdrs[], -1 if none */
    /* for an absolute-form target: the authority part (equal to Host when both exist), else 0/0 */
    uint32_t authority_off, authority_len;
    uint32_t nhdrs;
    struct sp_h1_hdr hdrs[SP_H1_MAX_HDRS];
};

/* owner: the caller (one message's scan state).
 * incremental end-of-head search state; zero it (or call sp_h1_scan_init) for a new message */
struct sp_h1_scan {
    uint32_t pos;      /* bytes already scanned (a head never reaches 4 GiB: bufsize) */
    int state;         /* private */
    uint32_t line_len; /* length of the first line once known, private */
};

/* owner: the caller (its own scan state; any thread). Starts the search of a new message. */
static inline void sp_h1_scan_init(struct sp_h1_scan *s)
{
    s->pos = 0;
    s->state = 0;
    s->line_len = 0;
}

/* pure: any thread, on the caller's buffer and objects (reads sp_h1_max_hdrs, fixed before
 * the workers start).
 * Parses an HTTP/1.x request head from buf[0..len).
 * Limits: a request line longer than `max_line` bytes -> SP_H1_E414 (as soon as it is known
 * to be longer, even incomplete); a head (request line + fields + blank line) longer than
 * `max_head` bytes -> SP_H1_E431 (also as soon as known). Empty lines (CRLF) before the
 * request line are skipped (counted in the head length).
 * Returns the head length (> 0, the body starts there), 0 when more bytes are needed, or a
 * negative enum sp_h1_err. `scan` may be NULL (no incremental search).
 *
 * Must reject (400 unless stated): bare CR anywhere, bare LF as a line end, obs-fold, space or
 * tab between field name and colon, a field name that is not a token, NUL/CR/LF or other CTLs
 * (except HTAB) in values, a method that is not a token, anything but one SP between the three
 * request-line parts, a target containing CTL, SP or '#' (a fragment), an absolute-form target
 * with a query but no path ("http://h?q"), a version other than HTTP/1.0 or HTTP/1.1
 * (a well-formed HTTP/x.y of another version -> 400 too), Content-Length that is not 1*DIGIT or
 * overflows 2^62, more than one Content-Length field or a list (even identical values),
 * Content-Length together with Transfer-Encoding, Transfer-Encoding on HTTP/1.0,
 * Transfer-Encoding other than exactly "chunked" (case-insensitive): "chunked" listed with
 * other codings or twice, split over two lines, empty members -> 400; a single unknown coding
 * such as "gzip" -> 501; missing Host on HTTP/1.1, more than one Host, a Host value with
 * characters not allowed in an authority (its port may be any reg-name octets, as HAProxy
 * forwards "a.com:80x"), a Host that differs (ignoring case) from an absolute-form target's
 * authority; a Connection token naming Content-Length, Transfer-Encoding or Host (dropping
 * those as hop-by-hop would reframe the request); more than SP_H1_MAX_HDRS fields -> 431.
 * Body: chunked -> SP_H1_BODY_CHUNKED; Content-Length -> SP_H1_BODY_CL (0 allowed);
 * otherwise SP_H1_BODY_NONE (a request never has a close-delimited body). */
long sp_h1_parse_request(const char *buf, size_t len, size_t max_line, size_t max_head,
                         struct sp_h1_scan *scan, struct sp_h1_msg *msg);

/* pure: any thread, on the caller's buffer and objects (reads sp_h1_max_hdrs).
 * Parses an HTTP/1.x response head. `req_meth` is the method of the request it answers (HEAD
 * means no body whatever the fields say; CONNECT 2xx too). Status 1xx, 204 and 304 have no
 * body. Otherwise chunked -> CHUNKED, Content-Length -> CL, neither -> CLOSE. Same syntax rules
 * as requests (status line "HTTP/1.x SP 3DIGIT SP reason", reason may be empty and may hold
 * SP/HTAB/obs-text but no other CTL); any violation, or a head over max_head -> SP_H1_E502.
 * Returns the head length, 0 for more bytes, or SP_H1_E502. */
long sp_h1_parse_response(const char *buf, size_t len, size_t max_head, enum sp_h1_meth req_meth,
                          struct sp_h1_scan *scan, struct sp_h1_msg *msg);

/* pure: any thread. Case-insensitive comparison of a field name with a lower-case literal. */
bool sp_h1_name_is(const char *buf, const struct sp_h1_hdr *h, const char *lower);
/* pure: any thread. Whether `v` is a Host value HTTP/1 accepts (reg-name, IPv4 or [IPv6], an
 * optional port; empty allowed): the rule HTTP/2's :authority and host must meet too, so that what
 * routing and the server see never depends on the client's protocol. */
bool sp_h1_host_ok(const char *v, size_t n);

/* pure: any thread. Method token to enum (exact, case-sensitive as RFC 9110 says). */
enum sp_h1_meth sp_h1_meth_from(const char *p, size_t len);

/* ---- chunked transfer coding (RFC 9112 7.1), incremental ---- */

enum {
    SP_H1_CHUNK_MORE = 0, /* call again with more input (or after consuming the data run) */
    SP_H1_CHUNK_DONE = 1, /* last-chunk and trailer section consumed */
    SP_H1_CHUNK_ERR = -1, /* framing error: the connection must be closed */
};

/* owner: the caller (decoder state of one body) */
struct sp_h1_chunk {
    int state;           /* private */
    uint64_t remaining;  /* data bytes left in the current chunk */
    uint64_t size;       /* private: size being parsed */
    size_t line_len;     /* private: bytes in the current size/ext/trailer line */
    size_t trailer_len;  /* private: total trailer bytes */
    uint64_t data_total; /* data bytes decoded so far */
    uint64_t overhead;   /* framing bytes consumed so far */
};

/* owner: the caller (its own decoder; any thread). Starts decoding a new body. */
static inline void sp_h1_chunk_init(struct sp_h1_chunk *c)
{
    *c = (struct sp_h1_chunk){0};
}

/* pure: any thread, on the caller's decoder state.
 * Decodes chunked framing from in[0..len). Consumes framing bytes and stops right after
 * reporting at most one run of data bytes: on return, *ret_consumed bytes of `in` were used,
 * and when *ret_data_len > 0, in[*ret_data_off .. *ret_data_off + *ret_data_len) is body data
 * (inside the consumed range). The caller loops, advancing by *ret_consumed, until the call
 * returns SP_H1_CHUNK_DONE, or SP_H1_CHUNK_MORE with nothing consumed (more input needed).
 * Trailer fields are validated like header fields and discarded.
 * Errors: chunk-size not 1*HEXDIG or over 2^62, anything after the size other than BWS, ';'
 * extensions (token[=token|quoted-string]) and CRLF, bare CR or LF, a chunk's data not followed
 * by exactly CRLF, a size/extension line over 4096 bytes, a trailer section over 16384 bytes,
 * and framing bytes above 16384 + 8 * data_total (framing that carries next to no data: long
 * extensions, zero-padded sizes; plain chunks, even of one byte each, never reach it). */
int sp_h1_chunk_parse(struct sp_h1_chunk *c, const char *in, size_t len, size_t *ret_consumed,
                      size_t *ret_data_off, size_t *ret_data_len);

#endif
