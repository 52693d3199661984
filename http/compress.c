/* http/compress.c - response compression: HAProxy 2.6's rules (see compress.h), the zlib
 * deflater, and the filter a compressed response's transaction talks through (its front ops
 * wrap the client side's: the head is rewritten once, body bytes are deflated on their way,
 * the end writes the stream's trailer).
 */
#include "http/compress.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "http/http-int.h"

int sp_comp_level = 1;
int sp_comp_memlevel = 8;
int sp_comp_windowsize = 15;

/* ---- negotiation and conditions (pure) ---- */

const char *sp_comp_token(enum sp_comp_algo a)
{
    switch (a) {
    case SP_COMP_GZIP:
        return "gzip";
    case SP_COMP_DEFLATE:
    case SP_COMP_RAW_DEFLATE:
        return "deflate";
    case SP_COMP_IDENTITY:
        return "identity";
    default:
        return "";
    }
}

bool sp_comp_ua_ok(const char *ua, size_t len)
{
    if (len < 9 || memcmp(ua, "Mozilla/4", 9))
        return true;
    /* known good: MSIE 7 and later, MSIE 6 with XP SP2 ("SV1") */
    if (len < 31 || memcmp(ua + 25, "MSIE ", 5) || ua[30] < '6')
        return false;
    if (ua[30] == '6' && (len < 54 || memcmp(ua + 51, "SV1", 3)))
        return false;
    return true;
}

static bool is_lws(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_tchar(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return true;
    if ((c | 0x20) >= 'a' && (c | 0x20) <= 'z')
        return true;
    return c && strchr("!#$%&'*+-.^_`|~", c);
}

/* HAProxy's http_parse_qvalue() over p[0..n): "1", "0.5", "0.123"; 1000 when it is not a
 * number */
static int qvalue(const char *p, size_t n)
{
    size_t i = 0;
    int q;

    if (i >= n || p[i] < '0' || p[i] > '9')
        return 1000;
    q = (p[i++] - '0') * 1000;
    if (i < n && p[i++] == '.') {
        for (int mul = 100; mul && i < n && p[i] >= '0' && p[i] <= '9'; mul /= 10)
            q += (p[i++] - '0') * mul;
    }
    return q > 1000 ? 1000 : q;
}

/* one member of Accept-Encoding */
static void neg_member(struct sp_comp_neg *n, const struct sp_cfg_comp *c, const char *p,
                       size_t len)
{
    size_t tok = 0;

    if (!len)
        return;
    while (tok < len && is_tchar((unsigned char)p[tok]))
        tok++;
    /* the first "q=" parameter, if any */
    size_t i = tok;
    int q = 1000;
    for (;;) {
        while (i < len && is_lws(p[i]))
            i++;
        if (i >= len || p[i] != ';')
            break;
        i++;
        while (i < len && is_lws(p[i]))
            i++;
        if (i >= len)
            break;
        if (p[i] == 'q' && (i + 1 >= len || p[i + 1] == '=')) {
            q = i + 2 <= len ? qvalue(p + i + 2, len - i - 2) : 1000;
            break;
        }
        while (i < len && p[i] != ';')
            i++;
    }
    if (q <= n->best_q)
        return;
    for (int k = 0; k < c->nalgos; k++) {
        const char *name = sp_comp_token((enum sp_comp_algo)c->algos[k]);
        if (p[0] == '*' || (strlen(name) == tok && !strncasecmp(p, name, tok))) {
            n->algo = (enum sp_comp_algo)c->algos[k];
            n->best_q = q;
            return;
        }
    }
}

void sp_comp_neg_field(struct sp_comp_neg *n, const struct sp_cfg_comp *c, const char *v,
                       size_t len)
{
    size_t o = 0;

    while (o <= len) {
        size_t e = o;
        while (e < len && v[e] != ',')
            e++;
        size_t s = o, t = e;
        while (s < t && is_lws(v[s]))
            s++;
        while (t > s && is_lws(v[t - 1]))
            t--;
        neg_member(n, c, v + s, t - s);
        o = e + 1;
    }
}

enum sp_comp_algo sp_comp_neg_end(const struct sp_comp_neg *n, const struct sp_cfg_comp *c)
{
    if (n->algo != SP_COMP_NONE)
        return n->algo;
    for (int k = 0; k < c->nalgos; k++)
        if (c->algos[k] == SP_COMP_IDENTITY)
            return SP_COMP_IDENTITY;
    return SP_COMP_NONE;
}

/* whether some comma-separated member of v[0..len) is `word` (case-insensitive) */
static bool has_member(const char *v, size_t len, const char *word)
{
    size_t wl = strlen(word), o = 0;

    while (o <= len) {
        size_t e = o;
        while (e < len && v[e] != ',')
            e++;
        size_t s = o, t = e;
        while (s < t && is_lws(v[s]))
            s++;
        while (t > s && is_lws(v[t - 1]))
            t--;
        if (t - s == wl && !strncasecmp(v + s, word, wl))
            return true;
        o = e + 1;
    }
    return false;
}

/* HAProxy's http_get_etag_type() != ETAG_INVALID */
static bool etag_valid(const char *v, size_t n)
{
    if (n < 2 || v[n - 1] != '"')
        return false;
    return v[0] == '"' || (n >= 3 && !memcmp(v, "W/\"", 3));
}

bool sp_comp_res_ok(const struct sp_cfg_comp *types, const char *buf, const struct sp_h1_msg *m,
                    enum sp_h1_meth meth, bool req11)
{
    if (m->version != 11 || !req11 || meth == SP_METH_HEAD)
        return false;
    if (m->status < 200 || m->status > 203)
        return false;
    if (m->body != SP_H1_BODY_CL && m->body != SP_H1_BODY_CHUNKED)
        return false; /* HAProxy wants a known length (HTTP_MSGF_XFER_LEN) */
    if (m->body == SP_H1_BODY_CL && !m->content_length)
        return false; /* "Content-Length: 0" is bodyless to HAProxy (HTX_SL_F_BODYLESS) */
    int netag = 0, ctype = -1;
    for (uint32_t i = 0; i < m->nhdrs; i++) {
        const struct sp_h1_hdr *h = &m->hdrs[i];
        const char *v = buf + h->val_off;
        if (sp_h1_name_is(buf, h, "content-encoding"))
            return false; /* already encoded */
        if (sp_h1_name_is(buf, h, "cache-control") && has_member(v, h->val_len, "no-transform"))
            return false;
        if (sp_h1_name_is(buf, h, "etag") && (netag++ || !etag_valid(v, h->val_len)))
            return false; /* invalid, or more than one */
        if (ctype < 0 && sp_h1_name_is(buf, h, "content-type"))
            ctype = (int)i;
    }
    bool listed = types && types->ntypes;
    if (ctype < 0)
        return !listed; /* a type was required */
    const struct sp_h1_hdr *h = &m->hdrs[ctype];
    const char *v = buf + h->val_off;
    if (h->val_len >= 9 && !strncasecmp(v, "multipart", 9))
        return false;
    if (!listed)
        return true;
    for (int i = 0; i < types->ntypes; i++) {
        size_t tl = strlen(types->types[i]);
        if (h->val_len >= tl && !strncasecmp(v, types->types[i], tl))
            return true;
    }
    return false;
}

static bool put(struct sp_buf *b, const char *p, size_t n)
{
    if (sp_buf_room(b) < n)
        return false;
    sp_buf_put(b, p, (uint32_t)n);
    return true;
}

static bool puts_(struct sp_buf *b, const char *s)
{
    return put(b, s, strlen(s));
}

long sp_comp_build_head(struct sp_buf *out, const char *buf, const struct sp_h1_msg *m,
                        enum sp_comp_algo a)
{
    char num[8];
    bool ok = true;

    out->head = out->tail = 0;
    snprintf(num, sizeof(num), "%d ", m->status);
    ok &= puts_(out, "HTTP/1.1 ") && puts_(out, num) &&
          put(out, buf + m->reason_off, m->reason_len) && puts_(out, "\r\n");
    for (uint32_t i = 0; ok && i < m->nhdrs; i++) {
        const struct sp_h1_hdr *h = &m->hdrs[i];
        if (h->flags & (SP_H1_HF_CL | SP_H1_HF_TE))
            continue; /* the body's length changes: chunked it goes */
        const char *v = buf + h->val_off;
        ok &= put(out, buf + h->name_off, h->name_len) && puts_(out, ": ");
        /* a strong ETag becomes weak: the bytes differ, the meaning does not */
        if (sp_h1_name_is(buf, h, "etag") && h->val_len && v[0] == '"')
            ok &= puts_(out, "W/");
        ok &= put(out, v, h->val_len) && puts_(out, "\r\n");
    }
    if (a != SP_COMP_IDENTITY)
        ok &=
            puts_(out, "Content-Encoding: ") && puts_(out, sp_comp_token(a)) && puts_(out, "\r\n");
    ok &= puts_(out, "Transfer-Encoding: chunked\r\nVary: Accept-Encoding\r\n\r\n");
    if (!ok) {
        out->head = out->tail = 0;
        return -ENOSPC;
    }
    return (long)out->tail;
}

/* ---- the deflater ---- */

int sp_deflate_init(struct sp_deflate *d, enum sp_comp_algo a)
{
    memset(d, 0, sizeof(*d));
    d->algo = a;
    if (a == SP_COMP_IDENTITY)
        return 0;
    z_stream *z = calloc(1, sizeof(*z));
    if (!z)
        return -ENOMEM;
    /* zlib refuses a raw 256-byte window; 9 is what it uses for 8 elsewhere */
    int ws = sp_comp_windowsize < 9 ? 9 : sp_comp_windowsize;
    int bits = a == SP_COMP_GZIP ? ws + 16 : a == SP_COMP_RAW_DEFLATE ? -ws : ws;
    if (deflateInit2(z, sp_comp_level, Z_DEFLATED, bits, sp_comp_memlevel, Z_DEFAULT_STRATEGY) !=
        Z_OK) {
        free(z);
        return -ENOMEM;
    }
    d->z = z;
    return 0;
}

void sp_deflate_end(struct sp_deflate *d)
{
    if (d->z) {
        deflateEnd(d->z);
        free(d->z);
        d->z = NULL;
    }
}

int sp_deflate_drain(struct sp_deflate *d, bool finish, struct sp_buf *out)
{
    if (d->finished || (!finish && !d->flushing))
        return 0;
    if (!d->z) {
        d->finished = finish;
        return 0;
    }
    z_stream *z = d->z;
    sp_buf_realign(out);
    uInt room = sp_buf_room(out);
    z->next_in = NULL;
    z->avail_in = 0;
    z->next_out = (Bytef *)sp_buf_tail(out);
    z->avail_out = room;
    int r = deflate(z, finish ? Z_FINISH : Z_SYNC_FLUSH);
    out->tail += room - z->avail_out;
    if (r == Z_STREAM_END) {
        d->finished = true;
        d->flushing = false;
        return 0;
    }
    if (r != Z_OK && r != Z_BUF_ERROR)
        return -EIO;
    if (!finish && z->avail_out) {
        d->flushing = false; /* the flush is complete when it left room */
        return 0;
    }
    return 1;
}

long sp_deflate_data(struct sp_deflate *d, const char *in, size_t len, bool flush,
                     struct sp_buf *out)
{
    sp_buf_realign(out);
    uInt room = sp_buf_room(out);
    if (!d->z) {
        size_t n = len < room ? len : room;
        sp_buf_put(out, in, (uint32_t)n);
        return (long)n;
    }
    z_stream *z = d->z;
    size_t in_len = len > UINT32_MAX ? UINT32_MAX : len;
    z->next_in = (Bytef *)(uintptr_t)in;
    z->avail_in = (uInt)in_len;
    z->next_out = (Bytef *)sp_buf_tail(out);
    z->avail_out = room;
    int r = deflate(z, Z_NO_FLUSH);
    out->tail += room - z->avail_out;
    if (r != Z_OK && r != Z_BUF_ERROR)
        return -EIO;
    size_t taken = in_len - z->avail_in;
    if (flush && taken == len && taken) {
        d->flushing = true;
        if (sp_deflate_drain(d, false, out) < 0)
            return -EIO;
    }
    return (long)taken;
}

/* ---- the filter: owner: the transaction's worker ---- */

/* owner: worker. A compressed response's state, from its head to its end. */
struct sp_comp {
    const struct sp_front_ops *inner; /* the client side's ops */
    struct sp_deflate d;
    struct sp_buf out; /* compressed bytes the client side has not taken yet */
    bool counted;      /* comp_rsp counted */
};

static struct sp_stats_obj *fe_st(struct sp_txn *t)
{
    return &t->hw->st->fe[t->fe->idx];
}

static struct sp_stats_obj *be_st(struct sp_txn *t)
{
    return &t->hw->st->be[t->be->idx];
}

/* Hands compressed bytes to the client side as far as it takes them; true when none wait. */
static bool give(struct sp_txn *t)
{
    struct sp_comp *z = t->comp;

    while (sp_buf_len(&z->out)) {
        size_t k = z->inner->res_data(t, sp_buf_head(&z->out), sp_buf_len(&z->out));
        if (!k)
            return false;
        sp_buf_consume(&z->out, (uint32_t)k);
        t->bytes_out += k;
        if (z->d.z) {
            sp_stat_add(&fe_st(t)->comp_out, (int64_t)k);
            sp_stat_add(&be_st(t)->comp_out, (int64_t)k);
        }
    }
    return true;
}

/* Moves what waits: pending flush output, then the client side. 1 when nothing waits any
 * more, 0 when the client side is full (it resumes the transaction when it drains), -1 when
 * zlib failed (it does not on valid use) and the exchange was broken: the state is gone. */
static int settle(struct sp_txn *t)
{
    struct sp_comp *z = t->comp;

    for (int i = 0; i < 64; i++) {
        if (!give(t))
            return 0;
        int r = sp_deflate_drain(&z->d, false, &z->out);
        if (r < 0) {
            sp__txn_break(t, 'P', 'D');
            return -1;
        }
        if (!r && !sp_buf_len(&z->out))
            return 1;
    }
    return 0;
}

/* The input that res_data() takes whole into an empty output buffer of `size` bytes: the
 * server side counts on it (a chunk's data is consumed once handed over). Deflate's worst
 * case is stored blocks: 5 bytes per 16 KiB block and a few bits (zlib's deflateBound() says
 * n + n/4096 + n/16384 + 13), plus the gzip header and trailer (18) and the sync flush's empty
 * block (5); 1/256 and 64 bytes cover all of it. */
static size_t room_for(uint32_t size)
{
    return size - (size >> 8) - 64;
}

static size_t op_res_room(struct sp_txn *t)
{
    struct sp_comp *z = t->comp;

    if (settle(t) <= 0 || !z->inner->res_room(t))
        return 0;
    return room_for(z->out.size);
}

static size_t op_res_data(struct sp_txn *t, const char *p, size_t len)
{
    struct sp_comp *z = t->comp;
    size_t taken = 0;

    if (settle(t) <= 0)
        return 0;
    long n = sp_deflate_data(&z->d, p, len, true, &z->out);
    if (n < 0) {
        /* zlib failed (it does not on valid use): the response cannot go on */
        sp__txn_break(t, 'P', 'D');
        return 0;
    }
    taken = (size_t)n;
    if (z->d.z) {
        sp_stat_add(&fe_st(t)->comp_in, (int64_t)taken);
        sp_stat_add(&be_st(t)->comp_in, (int64_t)taken);
    } else {
        sp_stat_add(&fe_st(t)->comp_byp, (int64_t)taken);
        sp_stat_add(&be_st(t)->comp_byp, (int64_t)taken);
    }
    give(t);
    /* sp__txn_res_data() counts `taken` in bytes_out: what left is counted by give() */
    t->bytes_out -= taken;
    return taken;
}

static int op_res_end(struct sp_txn *t)
{
    struct sp_comp *z = t->comp;

    for (int i = 0; i < 64 && !z->d.finished; i++) {
        if (!give(t))
            return -EAGAIN;
        int r = sp_deflate_drain(&z->d, true, &z->out);
        if (r < 0) {
            sp__txn_break(t, 'P', 'D');
            return -EAGAIN; /* over: nothing more is asked of this transaction */
        }
    }
    if (!z->d.finished || !give(t))
        return -EAGAIN;
    int r = z->inner->res_end(t);
    if (r < 0)
        return r;
    if (!z->counted) {
        z->counted = true;
        sp_stat_add(&fe_st(t)->comp_rsp, 1);
        sp_stat_add(&be_st(t)->comp_rsp, 1);
    }
    /* the response is over: the state goes now, the client side is spoken to directly */
    sp__comp_free(t);
    return 0;
}

static void op_res_error(struct sp_txn *t, int status)
{
    t->comp->inner->res_error(t, status);
}

static void op_res_abort(struct sp_txn *t)
{
    const struct sp_front_ops *inner = t->comp->inner;

    sp__comp_free(t);
    inner->res_abort(t);
}

static void op_req_resume(struct sp_txn *t)
{
    t->comp->inner->req_resume(t);
}

static int op_res_head(struct sp_txn *t, const struct sp_h1_msg *m, const char *buf)
{
    return t->comp->inner->res_head(t, m, buf);
}

static const struct sp_front_ops comp_ops = {
    .res_head = op_res_head,
    .res_room = op_res_room,
    .res_data = op_res_data,
    .res_swap = NULL, /* every byte is transformed */
    .res_end = op_res_end,
    .res_error = op_res_error,
    .res_abort = op_res_abort,
    .req_resume = op_req_resume,
};

void sp__comp_free(struct sp_txn *t)
{
    struct sp_comp *z = t->comp;

    if (!z)
        return;
    t->ops = z->inner;
    t->comp = NULL;
    sp_deflate_end(&z->d);
    sp_buf_release(&z->out, &t->hw->bufs, 1);
    free(z);
}

/* the proxy whose list applies: the backend's when it has one, else the frontend's */
static const struct sp_cfg_comp *algos_of(const struct sp_txn *t)
{
    const struct sp_cfg_comp *b = t->be ? t->be->comp : NULL, *f = t->fe->comp;
    return b && b->nalgos ? b : f && f->nalgos ? f : NULL;
}

static bool offload(const struct sp_txn *t)
{
    return (t->be && t->be->comp && t->be->comp->offload) || (t->fe->comp && t->fe->comp->offload);
}

void sp__comp_req_h1(struct sp_txn *t, const char *buf, struct sp_h1_msg *m)
{
    const struct sp_cfg_comp *c = algos_of(t);
    struct sp_comp_neg n = {0};
    bool named = false;

    SP_ASSERT_OWNER(t->hw->w);

    t->comp_algo = SP_COMP_NONE;
    t->comp_req11 = m->version == 11;
    if (!c)
        return;
    for (uint32_t i = 0; i < m->nhdrs; i++) {
        const struct sp_h1_hdr *h = &m->hdrs[i];
        if (sp_h1_name_is(buf, h, "user-agent")) {
            if (!sp_comp_ua_ok(buf + h->val_off, h->val_len))
                return;
            break; /* the first one only */
        }
    }
    for (uint32_t i = 0; i < m->nhdrs; i++) {
        const struct sp_h1_hdr *h = &m->hdrs[i];
        if (sp_h1_name_is(buf, h, "accept-encoding"))
            sp_comp_neg_field(&n, c, buf + h->val_off, h->val_len);
    }
    named = n.algo != SP_COMP_NONE;
    t->comp_algo = (uint8_t)sp_comp_neg_end(&n, c);
    if (named && offload(t)) {
        /* the server must send plain bodies: the field does not go upstream */
        for (uint32_t i = 0; i < m->nhdrs; i++)
            if (sp_h1_name_is(buf, &m->hdrs[i], "accept-encoding"))
                m->hdrs[i].flags |= SP_H1_HF_HOP;
    }
}

static bool span_is(const struct sp_h2_req *r, struct sp_h2_span s, const char *lower)
{
    return s.len == strlen(lower) && !strncasecmp(r->store->data + s.off, lower, s.len);
}

void sp__comp_req_h2(struct sp_txn *t, struct sp_h2_req *r)
{
    const struct sp_cfg_comp *c = algos_of(t);
    struct sp_comp_neg n = {0};

    SP_ASSERT_OWNER(t->hw->w);

    t->comp_algo = SP_COMP_NONE;
    t->comp_req11 = true; /* HTTP/2 is 1.1 or later to HAProxy's checks */
    if (!c)
        return;
    for (uint32_t i = 0; i < r->nfields; i++) {
        if (span_is(r, r->f[i].name, "user-agent")) {
            if (!sp_comp_ua_ok(r->store->data + r->f[i].value.off, r->f[i].value.len))
                return;
            break;
        }
    }
    for (uint32_t i = 0; i < r->nfields; i++)
        if (span_is(r, r->f[i].name, "accept-encoding"))
            sp_comp_neg_field(&n, c, r->store->data + r->f[i].value.off, r->f[i].value.len);
    bool named = n.algo != SP_COMP_NONE;
    t->comp_algo = (uint8_t)sp_comp_neg_end(&n, c);
    if (named && offload(t)) {
        uint32_t k = 0;
        for (uint32_t i = 0; i < r->nfields; i++)
            if (!span_is(r, r->f[i].name, "accept-encoding"))
                r->f[k++] = r->f[i];
        r->nfields = k;
    }
}

void sp__comp_req_hmsg(struct sp_txn *t, struct sp_hmsg *hm)
{
    const struct sp_cfg_comp *c = algos_of(t);
    struct sp_comp_neg n = {0};
    size_t nf = sp__hmsg_nvisible(hm);
    const char *name, *val;
    size_t nl, vl;

    t->comp_algo = SP_COMP_NONE;
    t->comp_req11 = hm->h2 || hm->version == 11;
    if (!c)
        return;
    for (size_t i = 0; i < nf; i++) {
        sp__hmsg_field(hm, i, &name, &nl, &val, &vl);
        if (nl == 10 && !strncasecmp(name, "user-agent", 10)) {
            if (!sp_comp_ua_ok(val, vl))
                return;
            break; /* the first one only */
        }
    }
    for (size_t i = 0; i < nf; i++) {
        sp__hmsg_field(hm, i, &name, &nl, &val, &vl);
        if (nl == 15 && !strncasecmp(name, "accept-encoding", 15))
            sp_comp_neg_field(&n, c, val, vl);
    }
    bool named = n.algo != SP_COMP_NONE;
    t->comp_algo = (uint8_t)sp_comp_neg_end(&n, c);
    if (named && offload(t))
        sp__hmsg_del_name(hm, "accept-encoding", 15); /* the server sends plain bodies */
}

int sp__comp_res_head(struct sp_txn *t, const struct sp_h1_msg *m, const char *buf)
{
    const struct sp_front_ops *inner = t->ops;
    const struct sp_cfg_comp *b = t->be ? t->be->comp : NULL, *f = t->fe->comp;
    const struct sp_cfg_comp *types = b && b->ntypes ? b : f;
    struct sp_h1_msg nm;

    SP_ASSERT_OWNER(t->hw->w);

    if (!sp_comp_res_ok(types, buf, m, t->meth, t->comp_req11))
        return inner->res_head(t, m, buf);
    struct sp_comp *z = calloc(1, sizeof(*z));
    if (!z)
        return inner->res_head(t, m, buf); /* no memory: it goes out as it is */
    z->inner = inner;
    if (sp_buf_alloc(&z->out, &t->hw->bufs) ||
        sp_deflate_init(&z->d, (enum sp_comp_algo)t->comp_algo) < 0)
        goto plain;
    long hl = sp_comp_build_head(&z->out, buf, m, (enum sp_comp_algo)t->comp_algo);
    if (hl <= 0 || sp_h1_parse_response(sp_buf_head(&z->out), (size_t)hl, z->out.size, t->meth,
                                        NULL, &nm) != hl)
        goto plain;
    t->comp = z;
    int r = inner->res_head(t, &nm, sp_buf_head(&z->out));
    z->out.head = z->out.tail = 0;
    if (r < 0) {
        sp__comp_free(t); /* built again when the client side has room */
        return r;
    }
    t->ops = &comp_ops;
    return 0;

plain:
    t->comp = z;
    sp__comp_free(t);
    return inner->res_head(t, m, buf);
}
