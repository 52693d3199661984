/* http/h2map.c - see h2map.h. */
#include "http/h2map.h"

#include <errno.h>
#include <string.h>

#include "core/util.h"
#include "http/http-int.h"

void sp__h2_req_init(struct sp_h2_req *r, struct sp_buf *store)
{
    /* the field table is left as it is (nfields says how much of it is valid) */
    memset(r, 0, offsetof(struct sp_h2_req, f));
    r->store = store;
    r->list_size = 0;
    r->content_length = -1;
    r->meth = SP_METH_OTHER;
}

static bool store(struct sp_h2_req *r, const uint8_t *p, size_t n, struct sp_h2_span *ret)
{
    struct sp_buf *b = r->store;

    if (sp_buf_room(b) < n)
        return false;
    ret->off = b->tail;
    ret->len = (uint32_t)n;
    sp_buf_put(b, p, (uint32_t)n);
    return true;
}

/* character classes of the checks below */
enum { C_TCHAR = 1, C_AUTH = 2, C_VAL = 4, C_PATH = 8, C_LNAME = 16 };
/* C_LNAME: a tchar allowed in an HTTP/2 field name (no upper case) */
#define ALNUM(f) ['0' ... '9'] = (f) | C_LNAME, ['A' ... 'Z'] = (f), ['a' ... 'z'] = (f) | C_LNAME
/* range designators are a GNU extension (the build is gnu17) */
__extension__ static const uint8_t ctab[256] = {
    ALNUM(C_TCHAR | C_AUTH | C_VAL | C_PATH),
    /* visible ASCII and obs-text are field-value bytes; SP and HTAB too (inside) */
    ['\t'] = C_VAL,
    [' '] = C_VAL,
    ['!'] = C_TCHAR | C_LNAME | C_AUTH | C_VAL | C_PATH,
    ['"'] = C_VAL | C_PATH,
    ['#'] = C_TCHAR | C_LNAME | C_VAL | C_PATH,
    ['$'] = C_TCHAR | C_LNAME | C_AUTH | C_VAL | C_PATH,
    ['%'] = C_TCHAR | C_LNAME | C_AUTH | C_VAL | C_PATH,
    ['&'] = C_TCHAR | C_LNAME | C_AUTH | C_VAL | C_PATH,
    ['\''] = C_TCHAR | C_LNAME | C_AUTH | C_VAL | C_PATH,
    ['('] = C_AUTH | C_VAL | C_PATH,
    [')'] = C_AUTH | C_VAL | C_PATH,
    ['*'] = C_TCHAR | C_LNAME | C_AUTH | C_VAL | C_PATH,
    ['+'] = C_TCHAR | C_LNAME | C_AUTH | C_VAL | C_PATH,
    [','] = C_AUTH | C_VAL | C_PATH,
    ['-'] = C_TCHAR | C_LNAME | C_AUTH | C_VAL | C_PATH,
    ['.'] = C_TCHAR | C_LNAME | C_AUTH | C_VAL | C_PATH,
    ['/'] = C_VAL | C_PATH,
    [':'] = C_AUTH | C_VAL | C_PATH,
    [';'] = C_AUTH | C_VAL | C_PATH,
    ['<'] = C_VAL | C_PATH,
    ['='] = C_AUTH | C_VAL | C_PATH,
    ['>'] = C_VAL | C_PATH,
    ['?'] = C_VAL | C_PATH,
    ['@'] = C_VAL | C_PATH,
    ['['] = C_AUTH | C_VAL | C_PATH,
    ['\\'] = C_VAL | C_PATH,
    [']'] = C_AUTH | C_VAL | C_PATH,
    ['^'] = C_TCHAR | C_LNAME | C_VAL | C_PATH,
    ['_'] = C_TCHAR | C_LNAME | C_AUTH | C_VAL | C_PATH,
    ['`'] = C_TCHAR | C_LNAME | C_VAL | C_PATH,
    ['{'] = C_VAL | C_PATH,
    ['|'] = C_TCHAR | C_LNAME | C_VAL | C_PATH,
    ['}'] = C_VAL | C_PATH,
    ['~'] = C_TCHAR | C_LNAME | C_AUTH | C_VAL | C_PATH,
    [0x80 ... 0xff] = C_VAL,
};
#undef ALNUM

static bool all_of(const uint8_t *v, size_t n, uint8_t cls)
{
    for (size_t i = 0; i < n; i++)
        if (!(ctab[v[i]] & cls))
            return false;
    return true;
}

/* RFC 9110 field-value: VCHAR, obs-text, SP and HTAB inside; nghttp2 already refused CR, LF
 * and NUL, but other controls would still reach an HTTP/1.1 server. */
static bool value_ok(const uint8_t *v, size_t n)
{
    return all_of(v, n, C_VAL);
}

static bool token_ok(const uint8_t *v, size_t n)
{
    return n && all_of(v, n, C_TCHAR);
}

/* :path as origin-form (or "*"): visible ASCII only, no space */
static bool path_ok(const uint8_t *v, size_t n)
{
    if (!n)
        return false;
    if (n == 1 && v[0] == '*')
        return true; /* OPTIONS only: checked once the method is known */
    /* a fragment never goes to a server (HTTP/1 refuses it too: CVE-2023-45539 class) */
    return v[0] == '/' && all_of(v, n, C_PATH) && !memchr(v, '#', n);
}

/* :authority as Host: reg-name / IPv4 / [IPv6], optional port; no userinfo; the shape HTTP/1
 * checks for Host (percent-encodings, one port colon, brackets) */
static bool authority_ok(const uint8_t *v, size_t n)
{
    return all_of(v, n, C_AUTH) && sp_h1_host_ok((const char *)v, n);
}

static bool name_is(const uint8_t *n, size_t len, const char *lit)
{
    return len == strlen(lit) && !memcmp(n, lit, len);
}

int sp__h2_req_add(struct sp_h2_req *r, const uint8_t *name, size_t nlen, const uint8_t *value,
                   size_t vlen, uint32_t max_list)
{
    r->list_size += (uint32_t)(nlen + vlen + 32);
    if (r->list_size > max_list)
        return -E2BIG;
    if (nlen && name[0] == ':') {
        struct sp_h2_span *dst;
        bool *has;
        if (name_is(name, nlen, ":method")) {
            if (!token_ok(value, vlen))
                return -EINVAL;
            dst = &r->method, has = &r->has_method;
        } else if (name_is(name, nlen, ":path")) {
            if (!path_ok(value, vlen))
                return -EINVAL;
            dst = &r->path, has = &r->has_path;
        } else if (name_is(name, nlen, ":authority")) {
            if (!authority_ok(value, vlen))
                return -EINVAL;
            dst = &r->authority, has = &r->has_authority;
        } else if (name_is(name, nlen, ":scheme")) {
            if (!token_ok(value, vlen))
                return -EINVAL;
            dst = &r->scheme, has = &r->has_scheme;
        } else {
            return -EINVAL; /* :protocol (extended CONNECT) is not enabled */
        }
        if (*has || r->nfields)
            return -EINVAL;
        if (!store(r, value, vlen, dst))
            return -E2BIG;
        *has = true;
        if (dst == &r->method)
            r->meth = sp_h1_meth_from((const char *)value, vlen);
        return 0;
    }
    /* lower-case tchars (nghttp2 checks this too, before calling us) */
    if (!nlen || !all_of(name, nlen, C_LNAME) || !value_ok(value, vlen))
        return -EINVAL;
    if (name_is(name, nlen, "content-length")) {
        uint64_t v = 0;
        if (!vlen || vlen > 18)
            return -EINVAL;
        for (size_t i = 0; i < vlen; i++) {
            if (value[i] < '0' || value[i] > '9')
                return -EINVAL;
            v = v * 10 + (uint64_t)(value[i] - '0');
        }
        if (r->content_length >= 0 && (uint64_t)r->content_length != v)
            return -EINVAL;
        if (r->content_length >= 0)
            return 0; /* an identical repeat: keep one */
        r->content_length = (int64_t)v;
    }
    if (r->nfields >= SP_H2_MAX_FIELDS || r->nfields >= (uint32_t)sp_h1_max_hdrs)
        return -E2BIG;
    if (!store(r, name, nlen, &r->f[r->nfields].name) ||
        !store(r, value, vlen, &r->f[r->nfields].value))
        return -E2BIG;
    r->nfields++;
    return 0;
}

#define put   sp__out_put
#define puts_ sp__out_puts

static void put_span(struct sp__out *o, const struct sp_h2_req *r, struct sp_h2_span s)
{
    put(o, r->store->data + s.off, s.len);
}

static bool span_is(const struct sp_h2_req *r, struct sp_h2_span s, const char *lit)
{
    return s.len == strlen(lit) && !memcmp(r->store->data + s.off, lit, s.len);
}

int sp__h2_req_check(const struct sp_h2_req *r, int *ret_host_idx)
{
    int host_idx = -1;

    if (!r->has_method || !r->has_path || !r->has_scheme || r->meth == SP_METH_CONNECT)
        return -EINVAL;
    /* the asterisk form is OPTIONS' alone (RFC 9112 3.2.4); nghttp2 checks it only for the
     * http and https schemes */
    if (span_is(r, r->path, "*") && r->meth != SP_METH_OPTIONS)
        return -EINVAL;
    for (uint32_t i = 0; i < r->nfields; i++) {
        if (span_is(r, r->f[i].name, "host")) {
            if (host_idx >= 0)
                return -EINVAL; /* two Host fields: ambiguous for HTTP/1.1 */
            host_idx = (int)i;
            const uint8_t *v = (const uint8_t *)r->store->data + r->f[i].value.off;
            if (!authority_ok(v, r->f[i].value.len))
                return -EINVAL;
        }
    }
    *ret_host_idx = host_idx;
    return 0;
}

int sp__h2_build_request(struct sp_buf *out, const struct sp_h2_req *r, const struct sp_fwd *fwd,
                         const struct sockaddr_storage *peer, bool close, bool end_stream,
                         enum sp_h1_body *ret_body)
{
    struct sp__out o = {.b = out};
    bool cookie_done = false;
    int host_idx = -1;
    int err = sp__h2_req_check(r, &host_idx);

    if (err < 0)
        return err;
    /* realign first: put() must never move bytes, or a failed build could not be undone */
    sp_buf_realign(out);
    uint32_t start = out->tail;
    put_span(&o, r, r->method);
    put(&o, " ", 1);
    put_span(&o, r, r->path);
    puts_(&o, " HTTP/1.1\r\nhost: ");
    /* RFC 9113 8.3.1: :authority wins over a host field */
    if (r->has_authority)
        put_span(&o, r, r->authority);
    else if (host_idx >= 0)
        put_span(&o, r, r->f[host_idx].value);
    put(&o, "\r\n", 2);
    for (uint32_t i = 0; i < r->nfields; i++) {
        struct sp_h2_span n = r->f[i].name;
        if ((int)i == host_idx)
            continue;
        /* TE: only "trailers" may go on (RFC 9113 8.2.2; nghttp2 refuses other values before
         * we see them), and it must: gRPC servers depend on it, HAProxy keeps it */
        if (span_is(r, n, "te") && !span_is(r, r->f[i].value, "trailers"))
            continue;
        if (span_is(r, n, "cookie")) {
            /* RFC 9113 8.2.3: crumbs are joined with "; " into one field for HTTP/1.1 */
            if (cookie_done)
                continue;
            cookie_done = true;
            puts_(&o, "cookie: ");
            bool first = true;
            for (uint32_t j = i; j < r->nfields; j++) {
                if (!span_is(r, r->f[j].name, "cookie"))
                    continue;
                if (!first)
                    put(&o, "; ", 2);
                put_span(&o, r, r->f[j].value);
                first = false;
            }
            put(&o, "\r\n", 2);
            continue;
        }
        put_span(&o, r, n);
        put(&o, ": ", 2);
        put_span(&o, r, r->f[i].value);
        put(&o, "\r\n", 2);
    }
    if (r->content_length >= 0) {
        *ret_body = r->content_length ? SP_H1_BODY_CL : SP_H1_BODY_NONE;
    } else if (!end_stream) {
        puts_(&o, "transfer-encoding: chunked\r\n");
        *ret_body = SP_H1_BODY_CHUNKED;
    } else {
        *ret_body = SP_H1_BODY_NONE;
        if (r->meth == SP_METH_POST || r->meth == SP_METH_PUT || r->meth == SP_METH_PATCH)
            puts_(&o, "content-length: 0\r\n");
    }
    return sp__out_end_request(&o, start, close, fwd, peer);
}

static void put_raw(struct sp_buf *b, const struct sp_h2_req *r, struct sp_h2_span s)
{
    sp_buf_put(b, r->store->data + s.off, s.len);
}

int sp__h2_view_init(struct sp_h2_view *v, const struct sp_h2_req *r, struct sp_buf *scratch)
{
    const char *base = r->store->data;
    bool host_seen = r->has_authority, joined = false;
    uint32_t ncookie = 0;
    int err = 0;

    v->req = r;
    v->n = 0;
    v->uri = base + r->path.off;
    v->uri_len = r->path.len;
    v->cookie = NULL;
    v->cookie_len = 0;
    for (uint32_t i = 0; i < r->nfields; i++)
        ncookie += span_is(r, r->f[i].name, "cookie");

    sp_buf_realign(scratch);
    if (r->has_authority) {
        bool star = span_is(r, r->path, "*");
        size_t need = r->scheme.len + 3 + r->authority.len + (star ? 0 : r->path.len);
        if (sp_buf_room(scratch) >= need) {
            char *u = scratch->data + scratch->tail;
            put_raw(scratch, r, r->scheme);
            sp_buf_put(scratch, "://", 3);
            put_raw(scratch, r, r->authority);
            if (!star)
                put_raw(scratch, r, r->path);
            v->uri = u;
            v->uri_len = need;
        } else {
            err = -ENOSPC;
        }
        v->idx[v->n++] = SP_H2_VIEW_HOST;
    }
    if (ncookie > 1) {
        size_t need = 2 * (ncookie - 1);
        for (uint32_t i = 0; i < r->nfields; i++)
            if (span_is(r, r->f[i].name, "cookie"))
                need += r->f[i].value.len;
        if (sp_buf_room(scratch) >= need) {
            char *c = scratch->data + scratch->tail;
            bool first = true;
            for (uint32_t i = 0; i < r->nfields; i++) {
                if (!span_is(r, r->f[i].name, "cookie"))
                    continue;
                if (!first)
                    sp_buf_put(scratch, "; ", 2);
                put_raw(scratch, r, r->f[i].value);
                first = false;
            }
            v->cookie = c;
            v->cookie_len = need;
            joined = true;
        } else {
            err = -ENOSPC;
        }
    }
    for (uint32_t i = 0; i < r->nfields; i++) {
        if (span_is(r, r->f[i].name, "host")) {
            /* HAProxy keeps the first host field, and none after an :authority */
            if (host_seen)
                continue;
            host_seen = true;
        } else if (span_is(r, r->f[i].name, "cookie")) {
            if (ncookie == 1 && !v->cookie) {
                v->cookie = base + r->f[i].value.off;
                v->cookie_len = r->f[i].value.len;
                joined = true;
            }
            if (joined)
                continue;
        }
        v->idx[v->n++] = (int16_t)i;
    }
    if (joined)
        v->idx[v->n++] = SP_H2_VIEW_COOKIE;
    return err;
}

void sp__h2_view_field(const struct sp_h2_view *v, size_t i, const char **name, size_t *nlen,
                       const char **value, size_t *vlen)
{
    const struct sp_h2_req *r = v->req;
    int k = v->idx[i];

    if (k == SP_H2_VIEW_HOST) {
        *name = "host";
        *nlen = 4;
        *value = r->store->data + r->authority.off;
        *vlen = r->authority.len;
    } else if (k == SP_H2_VIEW_COOKIE) {
        *name = "cookie";
        *nlen = 6;
        *value = v->cookie;
        *vlen = v->cookie_len;
    } else {
        *name = r->store->data + r->f[k].name.off;
        *nlen = r->f[k].name.len;
        *value = r->store->data + r->f[k].value.off;
        *vlen = r->f[k].value.len;
    }
}

/* ---- frame boundaries ---- */

void sp__h2_fscan_init(struct sp_h2_fscan *s, uint32_t preface)
{
    memset(s, 0, sizeof(*s));
    s->skip = preface;
}

uint32_t sp__h2_fscan(struct sp_h2_fscan *s, const uint8_t *p, size_t n,
                      const struct sp_h2_fscan_cbs *cbs, void *arg)
{
    static const struct sp_h2_fscan_cbs none;
    uint32_t empty = 0;
    size_t i = 0;

    if (!cbs)
        cbs = &none;
    while (i < n) {
        if (s->prio_next) {
            size_t k = SP_MIN((size_t)(4 - s->prio_len), n - i);
            memcpy(s->prio + s->prio_len, p + i, k);
            s->prio_len += (uint8_t)k;
            i += k;
            if (s->prio_len < 4)
                break;
            s->prio_next = false;
            s->skip = 1;      /* the weight */
            if (cbs->on_prio) /* always, given the same callbacks as the frame header */
                cbs->on_prio(arg, s->prio_id,
                             (int32_t)(((uint32_t)s->prio[0] << 24 | (uint32_t)s->prio[1] << 16 |
                                        (uint32_t)s->prio[2] << 8 | s->prio[3]) &
                                       0x7fffffffu));
            continue;
        }
        if (s->pad_next) {
            /* payload = frame length - 1 - pad length; nghttp2 refuses padding longer
             * than the frame */
            s->pad_next = false;
            if (s->padlen == (uint32_t)p[i] + 1)
                empty++;
            s->skip = s->padlen - 1;
            i++;
            continue;
        }
        if (s->skip) {
            size_t k = SP_MIN((size_t)s->skip, n - i);
            s->skip -= (uint32_t)k;
            i += k;
            continue;
        }
        size_t k = SP_MIN((size_t)(9 - s->hdlen), n - i);
        memcpy(s->hd + s->hdlen, p + i, k);
        s->hdlen += (uint8_t)k;
        i += k;
        if (s->hdlen < 9)
            break;
        s->hdlen = 0;
        uint32_t len = (uint32_t)s->hd[0] << 16 | (uint32_t)s->hd[1] << 8 | s->hd[2];
        uint8_t type = s->hd[3], flags = s->hd[4];
        s->skip = len;
        int32_t id = (int32_t)(((uint32_t)s->hd[5] << 24 | (uint32_t)s->hd[6] << 16 |
                                (uint32_t)s->hd[7] << 8 | s->hd[8]) &
                               0x7fffffffu);
        if (cbs->on_hd)
            cbs->on_hd(arg, type, flags, id);
        if (type == NGHTTP2_PRIORITY && len == 5 && cbs->on_prio) {
            s->prio_next = true;
            s->prio_len = 0;
            s->prio_id = id;
            s->skip = 0;
            continue;
        }
        if (type != NGHTTP2_DATA || (flags & NGHTTP2_FLAG_END_STREAM))
            continue;
        if (!(flags & NGHTTP2_FLAG_PADDED)) {
            empty += !len;
        } else if (len) {
            s->pad_next = true;
            s->padlen = len;
            s->skip = 0;
        }
    }
    return empty;
}

int sp__h2_res_nv(const char *buf, const struct sp_h1_msg *m, nghttp2_nv *nva, size_t max,
                  char *scratch, size_t scratch_len)
{
    size_t n = 0, used = 0;

    if (max < 1 || scratch_len < 4)
        return -ENOSPC;
    scratch[0] = (char)('0' + m->status / 100 % 10);
    scratch[1] = (char)('0' + m->status / 10 % 10);
    scratch[2] = (char)('0' + m->status % 10);
    used = 3;
    nva[n++] = (nghttp2_nv){(uint8_t *)":status", (uint8_t *)scratch, 7, 3, NGHTTP2_NV_FLAG_NONE};
    for (uint32_t i = 0; i < m->nhdrs; i++) {
        const struct sp_h1_hdr *h = &m->hdrs[i];
        if (h->flags & SP_H1_HF_HOP)
            continue;
        if (n >= max || used + h->name_len > scratch_len)
            return -ENOSPC;
        char *name = scratch + used;
        for (uint16_t k = 0; k < h->name_len; k++) {
            char ch = buf[h->name_off + k];
            name[k] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
        }
        used += h->name_len;
        nva[n++] = (nghttp2_nv){(uint8_t *)name, (uint8_t *)(uintptr_t)(buf + h->val_off),
                                h->name_len, h->val_len, NGHTTP2_NV_FLAG_NONE};
    }
    return (int)n;
}

static int b64val(char c, bool url)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == (url ? '-' : '+'))
        return 62;
    if (c == (url ? '_' : '/'))
        return 63;
    return -1;
}

long sp__base64_decode(const char *in, size_t len, uint8_t *out, size_t out_len, bool url)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t n = 0;

    if (!url)
        while (len && in[len - 1] == '=') /* padding: only at the end, at most 2 */
            len--;
    if (len % 4 == 1)
        return -EINVAL;
    for (size_t i = 0; i < len; i++) {
        int v = b64val(in[i], url);
        if (v < 0)
            return -EINVAL;
        acc = (acc << 6) | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n >= out_len)
                return -EINVAL;
            out[n++] = (uint8_t)(acc >> bits);
        }
    }
    /* leftover bits must be zero padding */
    if (bits && (acc & ((1u << bits) - 1)))
        return -EINVAL;
    return (long)n;
}

long sp__base64url_decode(const char *in, size_t len, uint8_t *out, size_t out_len)
{
    return sp__base64_decode(in, len, out, out_len, true);
}

void sp__h2_budget_init(struct sp_h2_budget *b, uint32_t burst, uint64_t now_ms)
{
    b->tokens = burst;
    b->last_ms = (uint32_t)now_ms;
}

bool sp__h2_budget_take(struct sp_h2_budget *b, uint32_t burst, uint32_t rate, uint64_t now_ms)
{
    /* modulo 2^32: right across the stamp's wrap, the clock being monotonic */
    uint32_t elapsed = (uint32_t)now_ms - b->last_ms;

    if (elapsed) {
        uint64_t refill = (uint64_t)elapsed * rate / 1000;
        if (refill) {
            uint64_t t = b->tokens + refill;
            b->tokens = (uint32_t)(t > burst ? burst : t);
            b->last_ms = (uint32_t)now_ms;
        }
    }
    if (!b->tokens)
        return false;
    b->tokens--;
    return true;
}
