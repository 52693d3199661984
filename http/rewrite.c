/* http/rewrite.c - HTTP/1.1 heads as spillway forwards them: hop-by-hop fields removed,
 * framing rewritten, X-Forwarded-For appended.
 *
 * owner: worker (pure functions over the caller's buffers).
 */
#include <errno.h>
#include <string.h>

#include "core/util.h"
#include "http/http-int.h"

#define XFF_DEFAULT "X-Forwarded-For"

void sp__out_put_slow(struct sp__out *o, const void *p, size_t n)
{
    if (o->full)
        return;
    if (sp_buf_room(o->b) < n) {
        sp_buf_realign(o->b);
        if (sp_buf_room(o->b) < n) {
            o->full = true;
            return;
        }
    }
    sp_buf_put(o->b, p, (uint32_t)n);
}

void sp__out_puts(struct sp__out *o, const char *s)
{
    sp__out_put(o, s, strlen(s));
}

#define put   sp__out_put
#define puts_ sp__out_puts

static void put_field(struct sp__out *o, const char *buf, const struct sp_h1_hdr *h)
{
    put(o, buf + h->name_off, h->name_len);
    put(o, ": ", 2);
    put(o, buf + h->val_off, h->val_len);
    put(o, "\r\n", 2);
}

static bool side_excepts(const struct sp_cfg_forwardfor *f, const struct sockaddr_storage *peer)
{
    return f->enabled && f->has_except && sp_addr_in_net(peer, &f->except_addr, f->except_prefix);
}

void sp__fwd_decide(const struct sp_frontend *fe, const struct sp_backend *be,
                    const struct sockaddr_storage *peer, struct sp_fwd *ret)
{
    const struct sp_cfg_forwardfor *f = &fe->fwdfor, *b = be ? &be->fwdfor : NULL;
    bool fe_on = f->enabled, be_on = b && b->enabled;

    ret->add = false;
    ret->if_none = false;
    if (!fe_on && !be_on)
        return;
    /* no header for a unix socket client: it has no address to give */
    if (peer->ss_family != AF_INET && peer->ss_family != AF_INET6)
        return;
    if (side_excepts(f, peer) || (b && side_excepts(b, peer)))
        return;
    ret->name = XFF_DEFAULT;
    if (fe_on && f->header)
        ret->name = f->header;
    if (be_on && b->header)
        ret->name = b->header;
    ret->name_len = strlen(ret->name);
    ret->if_none = (!fe_on || f->if_none) && (!be_on || b->if_none);
    ret->add = true;
}

bool sp__h1_has_field(const char *buf, const struct sp_h1_msg *m, const char *name, size_t len)
{
    /* only a field the server will see counts: "Connection: X-Forwarded-For" drops the
     * client's, and `if-none` must then add ours */
    for (uint32_t i = 0; i < m->nhdrs; i++) {
        const struct sp_h1_hdr *h = &m->hdrs[i];
        if (h->flags & SP_H1_HF_HOP)
            continue;
        if (h->name_len == len && !strncasecmp(buf + h->name_off, name, len))
            return true;
    }
    return false;
}

int sp__h1_build_request(struct sp_buf *out, const char *buf, const struct sp_h1_msg *m,
                         const struct sp_fwd *fwd, const struct sockaddr_storage *peer, bool close)
{
    struct sp__out o = {.b = out};
    /* realign first: put() must never move bytes, or a failed build could not be undone */
    sp_buf_realign(out);
    uint32_t start = out->tail;

    /* HAProxy 2.6 forwards a request in the version it came in: a 1.0 request stays 1.0, so
     * the server answers in a form a 1.0 client can take, and no Host is made up for it
     * (the parser made sure that an absolute-form target and Host agree, so both go on
     * as they are) */
    put(&o, buf + m->method_off, m->method_len);
    put(&o, " ", 1);
    put(&o, buf + m->uri_off, m->uri_len);
    puts_(&o, m->version == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
    for (uint32_t i = 0; i < m->nhdrs; i++) {
        const struct sp_h1_hdr *h = &m->hdrs[i];
        if (h->flags & SP_H1_HF_HOP)
            continue;
        put_field(&o, buf, h);
    }
    if (m->flags & SP_H1_MF_TE_TRAILERS)
        puts_(&o, "TE: trailers\r\n");
    if (m->body == SP_H1_BODY_CHUNKED)
        puts_(&o, "Transfer-Encoding: chunked\r\n");
    if (m->version == 10) {
        /* 1.0 closes by default: ask for keep-alive when we mean to reuse the connection,
         * say nothing when we do not (HAProxy's h1_update_req_conn_value()) */
        if (!close)
            puts_(&o, "Connection: keep-alive\r\n");
        close = false;
    }
    return sp__out_end_request(&o, start, close, fwd, peer);
}

int sp__out_end_request(struct sp__out *o, uint32_t start, bool close, const struct sp_fwd *fwd,
                        const struct sockaddr_storage *peer)
{
    if (close)
        puts_(o, "Connection: close\r\n");
    if (fwd && fwd->add) {
        char ip[64];
        put(o, fwd->name, fwd->name_len);
        put(o, ": ", 2);
        puts_(o, sp_addr_ip(peer, ip, sizeof(ip)));
        put(o, "\r\n", 2);
    }
    put(o, "\r\n", 2);
    if (o->full) {
        o->b->tail = start;
        return -ENOSPC;
    }
    return 0;
}

int sp__h1_build_response(struct sp_buf *out, const char *buf, const struct sp_h1_msg *m,
                          int client_version, bool chunked, bool close)
{
    struct sp__out o = {.b = out};
    char num[24];
    sp_buf_realign(out);
    uint32_t start = out->tail;

    /* HAProxy 2.6 answers in the server's version whatever the client's (h1_format_htx_stline),
     * but a body we chunk-encode is HTTP/1.1 framing and needs a 1.1 status line */
    int version = chunked ? 11 : m->version;
    puts_(&o, version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    sp_u64_dec((uint64_t)m->status, num);
    puts_(&o, num);
    put(&o, " ", 1);
    if (m->reason_len)
        put(&o, buf + m->reason_off, m->reason_len);
    else
        puts_(&o, sp__http_reason(m->status));
    put(&o, "\r\n", 2);
    for (uint32_t i = 0; i < m->nhdrs; i++) {
        const struct sp_h1_hdr *h = &m->hdrs[i];
        if (h->flags & SP_H1_HF_HOP)
            continue;
        put_field(&o, buf, h);
    }
    if (chunked)
        puts_(&o, "Transfer-Encoding: chunked\r\n");
    /* what the status line implies is not repeated: "close" on a 1.1 line only, and
     * "keep-alive" when the line or the client's request is 1.0 (h1_update_res_conn_value()) */
    if (m->status >= 200) {
        if (close && version == 11)
            puts_(&o, "Connection: close\r\n");
        else if (!close && (version == 10 || client_version == 10))
            puts_(&o, "Connection: keep-alive\r\n");
    }
    put(&o, "\r\n", 2);
    if (o.full) {
        out->tail = start;
        return -ENOSPC;
    }
    return 0;
}
