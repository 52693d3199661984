/* http/hmsg.h - an HTTP message head that rules may edit (http-request, http-response and
 * http-after-response actions), made from the client's HTTP/1 or HTTP/2 request or from the
 * server's HTTP/1 response, and written back out as the HTTP/1.1 head that goes on.
 *
 * owner: worker. One request and one response message per worker (struct sp_http_worker):
 * the rules of one head run to completion within one call, and the head is written out
 * before the worker does anything else. A message only exists for a proxy that has rules: a
 * configuration without http rules never builds one.
 *
 * Fields point into the client's or server's buffer (left untouched) or into the message's
 * arena, where every new byte goes (edited values, new fields, a new URI). The arena is
 * bounded (tune.bufsize): an edit that does not fit fails, which HAProxy's strict mode turns
 * into a 500 (`wrew` counts it).
 *
 * Framing is spillway's: Content-Length and the hop-by-hop fields (Connection, TE,
 * Transfer-Encoding, Upgrade, Keep-Alive...) are not shown to rules as editable fields; the
 * head written out frames the body as the parser found it (a rule naming them is warned at
 * start-up).
 */
#ifndef SP_HTTP_HMSG_H
#define SP_HTTP_HMSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "http/h1.h"
#include "net/buf.h"

struct sp_h2_req;
struct sp_h2_view;

#define SP_HMSG_MAX_FIELDS (SP_H1_MAX_HDRS + 8)

/* owner: worker. A span of bytes, in a client/server buffer or in the arena. */
struct sp_hspan {
    const char *p;
    uint32_t len;
};

enum {
    SP_HF_KEEP = 1 << 0,   /* framing or hop-by-hop: not visible to rules, written out as is
                              (responses) or regenerated (requests) */
    SP_HF_EDITED = 1 << 1, /* made or changed by a rule: checked before it goes out */
};

/* owner: worker. One field of a message: its name and value, and what it may be used for. */
struct sp_hfield {
    struct sp_hspan n, v;
    uint8_t flags;    /* SP_HF_* */
    uint16_t h1flags; /* the parsed field's SP_H1_HF_* (0 for a field a rule made) */
};

/* owner: worker (see above). */
struct sp_hmsg {
    bool is_req;
    bool h2;          /* made from an HTTP/2 request */
    bool uri_normal;  /* the URI is the absolute form made of :scheme and :authority: the path
                         alone goes to an HTTP/1.1 server, as HAProxy's normalized URI */
    bool failed;      /* an edit did not fit the arena */
    bool line_edited; /* the request or status line was changed by a rule */
    int version;      /* 10, 11 (or 20 for an HTTP/2 request) */
    struct sp_hspan meth, uri; /* request line */
    int status;                /* response line */
    struct sp_hspan reason;
    const struct sp_h1_msg *h1; /* the parsed message it was made from (framing), or NULL */
    int64_t h2_clen;            /* HTTP/2 request: its content-length, -1 if none */
    uint32_t n;
    uint32_t nkeep; /* fields with SP_HF_KEEP: none, and field i is visible field i */
    struct sp_hfield f[SP_HMSG_MAX_FIELDS];
    char *arena;
    uint32_t arena_len, arena_cap;
};

/* owner: worker. Starts a message over the client's HTTP/1 request head (buf, m: kept by
 * reference). */
void sp__hmsg_from_h1_req(struct sp_hmsg *hm, char *arena, uint32_t cap, const char *buf,
                          const struct sp_h1_msg *m);
/* owner: worker. Over an HTTP/2 request's view (sp__h2_view_init: Host made of :authority, cookie
 * crumbs joined). */
void sp__hmsg_from_h2_req(struct sp_hmsg *hm, char *arena, uint32_t cap, const struct sp_h2_req *r,
                          const struct sp_h2_view *v);
/* owner: worker. Over a server's HTTP/1 response head. */
void sp__hmsg_from_h1_res(struct sp_hmsg *hm, char *arena, uint32_t cap, const char *buf,
                          const struct sp_h1_msg *m);

/* owner: worker. Copies bytes into the arena; NULL (and hm->failed) when they do not fit. */
char *sp__hmsg_dup(struct sp_hmsg *hm, const char *p, size_t len);

/* owner: worker. The fields rules see: field i of the visible ones, for struct sp_acl_env's hdr().
 */
void sp__hmsg_field(const void *hm, size_t i, const char **name, size_t *nlen, const char **value,
                    size_t *vlen);
/* owner: worker. Number of visible fields (rules never see SP_HF_KEEP ones). */
size_t sp__hmsg_nvisible(const struct sp_hmsg *hm);

/* owner: worker. Edits. Each returns 0, or -ENOSPC when the arena or the field table is full
 * (hm->failed). */
int sp__hmsg_add(struct sp_hmsg *hm, const char *name, size_t nlen, const char *val, size_t vlen);
/* owner: worker. Removes the visible fields whose name matches (case-insensitive) `pred`; returns
 * how many. */
int sp__hmsg_del(struct sp_hmsg *hm, bool (*pred)(const void *ctx, const char *n, size_t len),
                 const void *ctx);
/* owner: worker. Removes every visible field named `name`. */
int sp__hmsg_del_name(struct sp_hmsg *hm, const char *name, size_t nlen);
/* owner: worker. Replaces the whole URI (set-uri); HAProxy's normalized form is dropped. */
int sp__hmsg_set_uri(struct sp_hmsg *hm, const char *p, size_t len);

/* owner: worker. The path of the URI (origin form; without the query), its query (after '?',
 * without it; has_q false when there is no '?'). */
void sp__hmsg_path(const struct sp_hmsg *hm, struct sp_hspan *ret_path, struct sp_hspan *ret_query,
                   bool *ret_has_q);
/* owner: worker. Replaces the span [off, off+len) of the URI with `p`. */
int sp__hmsg_splice_uri(struct sp_hmsg *hm, size_t off, size_t len, const char *p, size_t plen);

struct sp__out;
struct sp_fwd;
struct sockaddr_storage;
/* owner: worker. Writes the request for an HTTP/1.1 server (as sp__h1_build_request /
 * sp__h2_build_request do for a message without rules): the edited line and fields, the framing of
 * the original message, `close` and X-Forwarded-For. `h2_end_stream`: an HTTP/2 request whose
 * stream already ended (no body). *ret_body: the framing toward the server. 0, -ENOSPC. */
int sp__hmsg_build_request(const struct sp_hmsg *hm, struct sp_buf *out, const struct sp_fwd *fwd,
                           const struct sockaddr_storage *peer, bool close, bool h2_end_stream,
                           enum sp_h1_body *ret_body);
/* owner: worker. Writes the response head (a message of sp__hmsg_from_h1_res()) back as HTTP/1.x
 * bytes, its framing fields included, into out[0..cap); returns the length, or -ENOSPC. */
long sp__hmsg_write_response(const struct sp_hmsg *hm, char *out, size_t cap);

/* owner: worker. The same, and *ret the parsed message of what was written without parsing it
 * again: the framing of `orig` (the message hm was made from), the edited status line and fields (a
 * field a rule added under a framing or hop-by-hop name is marked hop-by-hop: not sent).
 * Returns the length, or -ENOSPC (also past SP_H1_MAX_HDRS fields). */
long sp__hmsg_write_response_msg(const struct sp_hmsg *hm, char *out, size_t cap,
                                 const struct sp_h1_msg *orig, struct sp_h1_msg *ret);

/* owner: worker. Whether the edited parts can go out as HTTP/1.1 without changing the message's
 * meaning: a method of token characters, a target without controls or spaces, field names of token
 * characters, values and a reason without CR, LF, NUL or other controls but HTAB. A rule's
 * value made of decoded bytes (url_dec, b64dec...) could otherwise split the message. */
bool sp__hmsg_valid(const struct sp_hmsg *hm);

/* owner: worker. Whether a visible field of that name exists. */
bool sp__hmsg_has(const struct sp_hmsg *hm, const char *name, size_t nlen);

#endif
