/* http/hmsg.c - see hmsg.h. */
#include "http/hmsg.h"

#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "http/h2map.h"
#include "http/http-int.h"

static void init(struct sp_hmsg *hm, char *arena, uint32_t cap, bool req)
{
    hm->is_req = req;
    hm->h2 = false;
    hm->uri_normal = false;
    hm->failed = false;
    hm->line_edited = false;
    hm->version = 11;
    hm->meth.p = hm->uri.p = hm->reason.p = "";
    hm->meth.len = hm->uri.len = hm->reason.len = 0;
    hm->status = 0;
    hm->h1 = NULL;
    hm->h2_clen = -1;
    hm->n = 0;
    hm->nkeep = 0;
    hm->arena = arena;
    hm->arena_len = 0;
    hm->arena_cap = cap;
}

static void from_h1(struct sp_hmsg *hm, const char *buf, const struct sp_h1_msg *m, bool keep_hop)
{
    hm->h1 = m;
    hm->version = m->version;
    for (uint32_t i = 0; i < m->nhdrs && hm->n < SP_HMSG_MAX_FIELDS; i++) {
        const struct sp_h1_hdr *h = &m->hdrs[i];
        bool framing = (h->flags & (SP_H1_HF_HOP | SP_H1_HF_CL)) != 0;
        /* a request's hop-by-hop fields are regenerated, never forwarded: leave them out */
        if (framing && (h->flags & SP_H1_HF_HOP) && !keep_hop)
            continue;
        struct sp_hfield *f = &hm->f[hm->n++];
        f->n.p = buf + h->name_off;
        f->n.len = h->name_len;
        f->v.p = buf + h->val_off;
        f->v.len = h->val_len;
        f->flags = framing ? SP_HF_KEEP : 0;
        f->h1flags = h->flags;
        hm->nkeep += framing;
    }
}

void sp__hmsg_from_h1_req(struct sp_hmsg *hm, char *arena, uint32_t cap, const char *buf,
                          const struct sp_h1_msg *m)
{
    init(hm, arena, cap, true);
    hm->meth.p = buf + m->method_off;
    hm->meth.len = m->method_len;
    hm->uri.p = buf + m->uri_off;
    hm->uri.len = m->uri_len;
    from_h1(hm, buf, m, false);
}

void sp__hmsg_from_h1_res(struct sp_hmsg *hm, char *arena, uint32_t cap, const char *buf,
                          const struct sp_h1_msg *m)
{
    init(hm, arena, cap, false);
    hm->status = m->status;
    hm->reason.p = buf + m->reason_off;
    hm->reason.len = m->reason_len;
    from_h1(hm, buf, m, true);
}

void sp__hmsg_from_h2_req(struct sp_hmsg *hm, char *arena, uint32_t cap, const struct sp_h2_req *r,
                          const struct sp_h2_view *v)
{
    const char *base = r->store->data;

    init(hm, arena, cap, true);
    hm->h2 = true;
    hm->version = 11; /* HTTP/1.1 toward the server */
    hm->meth.p = base + r->method.off;
    hm->meth.len = r->method.len;
    hm->uri.p = v->uri;
    hm->uri.len = (uint32_t)v->uri_len;
    hm->uri_normal = r->has_authority;
    hm->h2_clen = r->content_length;
    for (uint32_t i = 0; i < v->n && hm->n < SP_HMSG_MAX_FIELDS; i++) {
        const char *n, *val;
        size_t nl, vl;
        sp__h2_view_field(v, i, &n, &nl, &val, &vl);
        /* TE other than trailers never goes on (RFC 9113 8.2.2) */
        if (nl == 2 && !strncasecmp(n, "te", 2) && !(vl == 8 && !strncasecmp(val, "trailers", 8)))
            continue;
        struct sp_hfield *f = &hm->f[hm->n++];
        f->n.p = n;
        f->n.len = (uint32_t)nl;
        f->v.p = val;
        f->v.len = (uint32_t)vl;
        f->flags = nl == 14 && !strncasecmp(n, "content-length", 14) ? SP_HF_KEEP : 0;
        f->h1flags = 0;
        hm->nkeep += f->flags != 0;
    }
}

char *sp__hmsg_dup(struct sp_hmsg *hm, const char *p, size_t len)
{
    if (len > hm->arena_cap - hm->arena_len) {
        hm->failed = true;
        return NULL;
    }
    char *d = hm->arena + hm->arena_len;
    if (len)
        memcpy(d, p, len);
    hm->arena_len += (uint32_t)len;
    return d;
}

/* index of the i-th visible field */
static int visible(const struct sp_hmsg *hm, size_t i)
{
    if (!hm->nkeep) /* the usual request: no framing field among them */
        return i < hm->n ? (int)i : -1;
    for (uint32_t k = 0; k < hm->n; k++) {
        if (hm->f[k].flags & SP_HF_KEEP)
            continue;
        if (!i--)
            return (int)k;
    }
    return -1;
}

void sp__hmsg_field(const void *ctx, size_t i, const char **name, size_t *nlen, const char **value,
                    size_t *vlen)
{
    const struct sp_hmsg *hm = ctx;
    int k = visible(hm, i);

    if (k < 0) {
        *name = *value = "";
        *nlen = *vlen = 0;
        return;
    }
    *name = hm->f[k].n.p;
    *nlen = hm->f[k].n.len;
    *value = hm->f[k].v.p;
    *vlen = hm->f[k].v.len;
}

size_t sp__hmsg_nvisible(const struct sp_hmsg *hm)
{
    return hm->n - hm->nkeep;
}

int sp__hmsg_add(struct sp_hmsg *hm, const char *name, size_t nlen, const char *val, size_t vlen)
{
    if (hm->n >= SP_HMSG_MAX_FIELDS || nlen > UINT32_MAX || vlen > UINT32_MAX) {
        hm->failed = true;
        return -ENOSPC;
    }
    char *n = sp__hmsg_dup(hm, name, nlen);
    char *v = n ? sp__hmsg_dup(hm, val, vlen) : NULL;
    if (!v)
        return -ENOSPC;
    struct sp_hfield *f = &hm->f[hm->n++];
    f->n.p = n;
    f->n.len = (uint32_t)nlen;
    f->v.p = v;
    f->v.len = (uint32_t)vlen;
    f->flags = SP_HF_EDITED;
    f->h1flags = 0;
    return 0;
}

int sp__hmsg_del(struct sp_hmsg *hm, bool (*pred)(const void *ctx, const char *n, size_t len),
                 const void *ctx)
{
    uint32_t out = 0;
    int removed = 0;

    for (uint32_t k = 0; k < hm->n; k++) {
        const struct sp_hfield *f = &hm->f[k];
        if (!(f->flags & SP_HF_KEEP) && pred(ctx, f->n.p, f->n.len)) {
            removed++;
            continue;
        }
        hm->f[out++] = *f;
    }
    hm->n = out;
    return removed;
}

struct name_ctx {
    const char *name;
    size_t len;
};

static bool name_eq(const void *ctx, const char *n, size_t len)
{
    const struct name_ctx *c = ctx;
    return len == c->len && !strncasecmp(n, c->name, len);
}

int sp__hmsg_del_name(struct sp_hmsg *hm, const char *name, size_t nlen)
{
    struct name_ctx c = {name, nlen};
    return sp__hmsg_del(hm, name_eq, &c);
}

bool sp__hmsg_has(const struct sp_hmsg *hm, const char *name, size_t nlen)
{
    for (uint32_t k = 0; k < hm->n; k++)
        if (!(hm->f[k].flags & SP_HF_KEEP) && hm->f[k].n.len == nlen &&
            !strncasecmp(hm->f[k].n.p, name, nlen))
            return true;
    return false;
}

int sp__hmsg_set_uri(struct sp_hmsg *hm, const char *p, size_t len)
{
    char *u = sp__hmsg_dup(hm, p, len);
    if (!u)
        return -ENOSPC;
    hm->uri.p = u;
    hm->uri.len = (uint32_t)len;
    hm->line_edited = true;
    /* a URI set by a rule goes out as written (HAProxy drops the normalized flag) */
    hm->uri_normal = false;
    return 0;
}

/* offset of the path in the URI: after scheme://authority for an absolute form */
static size_t path_off(const struct sp_hmsg *hm)
{
    const char *u = hm->uri.p;
    size_t n = hm->uri.len, i = 0;

    if (!n || u[0] == '/' || u[0] == '*')
        return 0;
    const char *sep = memmem(u, n, "://", 3);
    if (!sep)
        return 0;
    i = (size_t)(sep - u) + 3;
    while (i < n && u[i] != '/' && u[i] != '?')
        i++;
    return i;
}

void sp__hmsg_path(const struct sp_hmsg *hm, struct sp_hspan *ret_path, struct sp_hspan *ret_query,
                   bool *ret_has_q)
{
    size_t off = path_off(hm);
    const char *p = hm->uri.p + off;
    size_t n = hm->uri.len - off;
    const char *q = memchr(p, '?', n);

    ret_path->p = p;
    ret_path->len = (uint32_t)(q ? (size_t)(q - p) : n);
    *ret_has_q = q != NULL;
    ret_query->p = q ? q + 1 : p + n;
    ret_query->len = q ? (uint32_t)(n - (size_t)(q - p) - 1) : 0;
}

int sp__hmsg_splice_uri(struct sp_hmsg *hm, size_t off, size_t len, const char *p, size_t plen)
{
    size_t total = hm->uri.len - len + plen;
    if (total > hm->arena_cap - hm->arena_len) {
        hm->failed = true;
        return -ENOSPC;
    }
    char *u = hm->arena + hm->arena_len;
    memcpy(u, hm->uri.p, off);
    memcpy(u + off, p, plen);
    memcpy(u + off + plen, hm->uri.p + off + len, hm->uri.len - off - len);
    hm->arena_len += (uint32_t)total;
    hm->uri.p = u;
    hm->uri.len = (uint32_t)total;
    hm->line_edited = true;
    return 0;
}

#define put   sp__out_put
#define puts_ sp__out_puts

static void put_fields(struct sp__out *o, const struct sp_hmsg *hm, bool keep_too)
{
    for (uint32_t k = 0; k < hm->n; k++) {
        const struct sp_hfield *f = &hm->f[k];
        if ((f->flags & SP_HF_KEEP) && !keep_too)
            continue;
        put(o, f->n.p, f->n.len);
        put(o, ": ", 2);
        put(o, f->v.p, f->v.len);
        put(o, "\r\n", 2);
    }
}

int sp__hmsg_build_request(const struct sp_hmsg *hm, struct sp_buf *out, const struct sp_fwd *fwd,
                           const struct sockaddr_storage *peer, bool close, bool h2_end_stream,
                           enum sp_h1_body *ret_body)
{
    struct sp__out o = {.b = out};
    sp_buf_realign(out);
    uint32_t start = out->tail;
    const struct sp_h1_msg *m = hm->h1;
    int version = m ? m->version : 11;

    put(&o, hm->meth.p, hm->meth.len);
    put(&o, " ", 1);
    if (hm->uri_normal) {
        struct sp_hspan path, q;
        bool has_q;
        sp__hmsg_path(hm, &path, &q, &has_q);
        /* the path and query of the absolute form; "*" (OPTIONS) has neither */
        size_t off = (size_t)(path.p - hm->uri.p);
        if (off == hm->uri.len)
            put(&o, "/", 1);
        else
            put(&o, path.p, hm->uri.len - off);
    } else {
        put(&o, hm->uri.p, hm->uri.len);
    }
    puts_(&o, version == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    /* Content-Length goes on with the other fields: rules cannot change it */
    put_fields(&o, hm, true);
    if (m) {
        if (m->flags & SP_H1_MF_TE_TRAILERS)
            puts_(&o, "TE: trailers\r\n");
        if (m->body == SP_H1_BODY_CHUNKED)
            puts_(&o, "Transfer-Encoding: chunked\r\n");
        *ret_body = m->body;
        if (version == 10) {
            if (!close)
                puts_(&o, "Connection: keep-alive\r\n");
            close = false;
        }
    } else if (hm->h2_clen >= 0) {
        *ret_body = hm->h2_clen ? SP_H1_BODY_CL : SP_H1_BODY_NONE;
    } else if (!h2_end_stream) {
        puts_(&o, "transfer-encoding: chunked\r\n");
        *ret_body = SP_H1_BODY_CHUNKED;
    } else {
        *ret_body = SP_H1_BODY_NONE;
        size_t ml = hm->meth.len;
        const char *mp = hm->meth.p;
        if ((ml == 4 && !memcmp(mp, "POST", 4)) || (ml == 3 && !memcmp(mp, "PUT", 3)) ||
            (ml == 5 && !memcmp(mp, "PATCH", 5)))
            puts_(&o, "content-length: 0\r\n");
    }
    return sp__out_end_request(&o, start, close, fwd, peer);
}

long sp__hmsg_write_response(const struct sp_hmsg *hm, char *out, size_t cap)
{
    struct sp_h1_msg parsed; /* made on the way, not wanted here */

    return sp__hmsg_write_response_msg(hm, out, cap, hm->h1, &parsed);
}

/* a name spillway's framing owns (a rule adding one must not reframe the message) */
static bool framing_name(const char *n, size_t l)
{
    static const char *const names[] = {"connection", "keep-alive",        "proxy-connection", "te",
                                        "upgrade",    "transfer-encoding", "content-length"};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (l == strlen(names[i]) && !strncasecmp(n, names[i], l))
            return true;
    return false;
}

long sp__hmsg_write_response_msg(const struct sp_hmsg *hm, char *out, size_t cap,
                                 const struct sp_h1_msg *orig, struct sp_h1_msg *ret)
{
    size_t o = 0;
    char num[24];

    if (hm->n > SP_H1_MAX_HDRS)
        return -ENOSPC;
#define PUT(p, l)                                                                                  \
    do {                                                                                           \
        size_t l_ = (l);                                                                           \
        if (l_ > cap - o)                                                                          \
            return -ENOSPC;                                                                        \
        memcpy(out + o, (p), l_);                                                                  \
        o += l_;                                                                                   \
    } while (0)
    /* the framing is the original's; the status line and the fields are the edited ones */
    memcpy(ret, orig, offsetof(struct sp_h1_msg, hdrs));
    PUT(hm->version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ", 9);
    sp_u64_dec((uint64_t)hm->status, num);
    PUT(num, strlen(num));
    PUT(" ", 1);
    ret->reason_off = (uint32_t)o;
    ret->reason_len = (uint16_t)hm->reason.len;
    PUT(hm->reason.p, hm->reason.len);
    PUT("\r\n", 2);
    ret->status = hm->status;
    ret->version = hm->version;
    ret->nhdrs = hm->n;
    ret->host_idx = -1;
    for (uint32_t k = 0; k < hm->n; k++) {
        const struct sp_hfield *f = &hm->f[k];
        struct sp_h1_hdr *h = &ret->hdrs[k];
        if (f->n.len > UINT16_MAX || f->v.len > UINT16_MAX)
            return -ENOSPC;
        h->name_off = (uint32_t)o;
        h->name_len = (uint16_t)f->n.len;
        PUT(f->n.p, f->n.len);
        PUT(": ", 2);
        h->val_off = (uint32_t)o;
        h->val_len = (uint16_t)f->v.len;
        PUT(f->v.p, f->v.len);
        PUT("\r\n", 2);
        h->flags = f->h1flags;
        if (!(f->flags & SP_HF_KEEP) && !f->h1flags && framing_name(f->n.p, f->n.len))
            h->flags = SP_H1_HF_HOP;
    }
    PUT("\r\n", 2);
#undef PUT
    return (long)o;
}

/* byte classes: T a token character (RFC 9110), V a value byte (visible, SP, HTAB,
 * obs-text), U a target byte (visible, obs-text) */
enum { T = 1, V = 2, U = 4 };
static uint8_t cls[256];

static void cls_init(void)
{
    for (int c = 0x21; c < 0x7f; c++)
        cls[c] = V | U;
    for (int c = 0x80; c < 0x100; c++)
        cls[c] = V | U;
    cls[' '] = cls['\t'] = V;
    for (const char *p = "!#$%&'*+-.^_`|~"; *p; p++)
        cls[(unsigned char)*p] |= T;
    for (int c = '0'; c <= '9'; c++)
        cls[c] |= T;
    for (int c = 'a'; c <= 'z'; c++)
        cls[c] |= T, cls[c - 32] |= T;
}

static bool span_ok(struct sp_hspan s, uint8_t want)
{
    if ((want & T) && !s.len)
        return false;
    for (uint32_t i = 0; i < s.len; i++)
        if (!(cls[(unsigned char)s.p[i]] & want))
            return false;
    return true;
}

bool sp__hmsg_valid(const struct sp_hmsg *hm)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, cls_init);
    /* what the parser accepted is valid: only what rules made or changed is checked */
    if (hm->line_edited) {
        if (hm->is_req && (!span_ok(hm->meth, T) || !hm->uri.len || !span_ok(hm->uri, U)))
            return false;
        if (!hm->is_req && !span_ok(hm->reason, V))
            return false;
    }
    for (uint32_t k = 0; k < hm->n; k++)
        if ((hm->f[k].flags & SP_HF_EDITED) && (!span_ok(hm->f[k].n, T) || !span_ok(hm->f[k].v, V)))
            return false;
    return true;
}
