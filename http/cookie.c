/* http/cookie.c - cookie-based persistence: a backend's `cookie NAME [rewrite|insert|prefix]
 * [indirect] [nocache] [postonly] [preserve] [httponly] [secure] [domain D]* [attr A]*` and
 * its servers' `cookie VALUE`, with HAProxy 2.6's semantics (http_ana.c
 * http_manage_client_side_cookies(), http_manage_server_side_cookies() and the insertion in
 * http_process_res_common()).
 *
 * Request side: the Cookie fields of the head that goes to the server (HTTP/1 and HTTP/2
 * clients alike: the HTTP/2 request's crumbs are joined into one field by then) are read in
 * place; the cookie of that name picks the first server whose value it carries (before the
 * prefix delimiter '~' in prefix mode), when that server is not stopped; `insert indirect`
 * removes the cookie, prefix mode removes the "VALUE~" in front. Both only shorten the head,
 * which is edited in place: no allocation.
 *
 * Response side: the server's Set-Cookie of that name is removed (insert, or indirect on a
 * direct request; not with preserve), rewritten (rewrite) or prefixed (prefix); in insert
 * mode `NAME=VALUE; path=/` (+ domain, HttpOnly, Secure, attr) is added when the request did
 * not come with the right cookie. The edit goes through an editable message (hmsg.h) in a
 * per-worker scratch allocated at the first edit.
 *
 * %tsc's third and fourth characters carry HAProxy's cookie status letters.
 *
 * owner: worker (everything here runs on the transaction's worker).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http/hmsg.h"
#include "http/http-int.h"

/* HAProxy's TX_CK_* letters (log.c sess_cookie) and TX_SCK_* ones (sess_set_cookie) */
enum { CK_NONE = 'N', CK_INVALID = 'I', CK_DOWN = 'D', CK_VALID = 'V', CK_UNUSED = 'U' };
enum {
    SCK_NONE = 'N',
    SCK_FOUND = 'P',
    SCK_DELETED = 'D',
    SCK_INSERTED = 'I',
    SCK_REPLACED = 'R',
};

static bool is_sp(char c)
{
    return c == ' ' || c == '\t';
}

/* HAProxy's SRV_ST_STOPPED: down or in maintenance (a draining server keeps its clients) */
static bool srv_running(const struct sp_server *s)
{
    const struct sp_srv_health *h = s->h;
    int admin = ck_pr_load_int(&h->st.admin), op = ck_pr_load_int(&h->st.op);

    return !(admin & SP_SRV_MAINT) && op != SP_SRV_STOPPED;
}

/* The cookie's value [v, ve) names a server: the first with that value that runs. */
static const struct sp_server *find_srv(struct sp_txn *t, const char *v, const char *ve)
{
    const struct sp_backend *be = t->be;
    size_t len = (size_t)(ve - v);

    for (int i = 0; i < be->nsrv; i++) {
        const struct sp_server *s = be->srv[i];
        if (!s->cookie || s->cklen != len || memcmp(s->cookie, v, len) != 0)
            continue;
        if (srv_running(s)) {
            t->ck_cli = CK_VALID;
            return s;
        }
        t->ck_cli = CK_DOWN; /* and on, in case another one carries the same value */
    }
    return NULL;
}

/* One Cookie field's value [v, ve): the server it names (*found), and the value rewritten
 * in place (never longer). Returns the new end. */
static char *one_field(struct sp_txn *t, char *v, char *ve, const struct sp_server **found,
                       bool *matched)
{
    const struct sp_cfg_cookie *ck = t->be->ck;
    size_t nl = strlen(ck->name);
    char *w = v, *p = v;
    bool any = false;

    while (p < ve) {
        /* one `NAME=VALUE` between ';' */
        char *end = memchr(p, ';', (size_t)(ve - p));
        char *next = end ? end + 1 : ve;
        if (!end)
            end = ve;
        char *a = p, *b = end;
        while (a < b && is_sp(*a))
            a++;
        while (b > a && is_sp(b[-1]))
            b--;
        const char *src = a;
        size_t slen = (size_t)(b - a);
        bool drop = false;
        char *eq = memchr(a, '=', slen);
        char *an = eq ? eq : b;
        while (an > a && is_sp(an[-1]))
            an--;
        if (slen && *a != '$' && (size_t)(an - a) == nl && !memcmp(a, ck->name, nl)) {
            char *val = eq ? eq + 1 : b, *delim;
            while (val < b && is_sp(*val))
                val++;
            delim = b;
            if (ck->opts & SP_CK_PFX) {
                delim = memchr(val, '~', (size_t)(b - val));
                if (!delim)
                    delim = b;
            }
            if (!*matched && delim != val) {
                *matched = true;
                *found = find_srv(t, val, delim);
                if (!*found && t->ck_cli != CK_DOWN)
                    t->ck_cli = CK_INVALID;
            } else if (t->ck_cli == CK_NONE) {
                t->ck_cli = *matched ? CK_UNUSED : CK_INVALID;
            }
            if ((ck->opts & SP_CK_PFX) && delim != b) {
                /* NAME=rest: the name, '=', then what followed the delimiter */
                size_t hl = (size_t)(val - a);
                if (any) {
                    bool room = w + 2 <= a;
                    memcpy(w, room ? "; " : ";", room ? 2 : 1);
                    w += room ? 2 : 1;
                }
                memmove(w, a, hl);
                w += hl;
                memmove(w, delim + 1, (size_t)(b - (delim + 1)));
                w += b - (delim + 1);
                any = true;
                p = next;
                continue;
            }
            drop = (ck->opts & (SP_CK_INS | SP_CK_IND)) == (SP_CK_INS | SP_CK_IND);
        }
        if (slen && !drop) {
            if (any) {
                bool room = w + 2 <= src;
                memcpy(w, room ? "; " : ";", room ? 2 : 1);
                w += room ? 2 : 1;
            }
            memmove(w, src, slen);
            w += slen;
            any = true;
        }
        p = next;
    }
    return w;
}

const struct sp_server *sp__cookie_request(struct sp_txn *t)
{
    struct sp_buf *h = &t->reqhead;
    char *base = h->data + h->head, *end = h->data + h->tail;
    const struct sp_server *found = NULL;
    bool matched = false;

    t->ck_cli = CK_NONE;
    t->ck_srv = SCK_NONE;
    /* past the request line */
    char *line = memchr(base, '\n', (size_t)(end - base));
    if (!line)
        return NULL;
    line++;
    while (line < end) {
        char *eol = memchr(line, '\n', (size_t)(end - line));
        if (!eol || eol - line <= 1)
            break; /* the empty line: the end of the head */
        char *ve = eol[-1] == '\r' ? eol - 1 : eol;
        if (ve - line > 7 && !strncasecmp(line, "cookie:", 7)) {
            char *v = line + 7;
            while (v < ve && is_sp(*v))
                v++;
            char *ne = one_field(t, v, ve, &found, &matched);
            if (ne == v) {
                /* nothing left: the whole field goes */
                memmove(line, eol + 1, (size_t)(end - (eol + 1)));
                end -= eol + 1 - line;
                continue;
            }
            if (ne != ve) {
                memmove(ne, ve, (size_t)(end - ve));
                end -= ve - ne;
                eol -= ve - ne;
            }
        }
        line = eol + 1;
    }
    h->tail = (uint32_t)(end - h->data);
    if (found)
        t->ck_direct = true;
    return found;
}

static struct sp_hrun *scratch(struct sp_http_worker *hw)
{
    if (hw->ck)
        return hw->ck;
    struct sp_hrun *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->cap = (size_t)hw->conf->bufsize;
    w->arena = malloc(w->cap);
    w->out = malloc(w->cap);
    if (!w->arena || !w->out) {
        free(w->arena);
        free(w->out);
        free(w);
        return NULL;
    }
    hw->ck = w;
    return w;
}

void sp__cookie_worker_free(struct sp_http_worker *hw)
{
    if (!hw->ck)
        return;
    free(hw->ck->arena);
    free(hw->ck->out);
    free(hw->ck);
    hw->ck = NULL;
}

/* Whether a Set-Cookie value sets the cookie of our name (HAProxy treats each Set-Cookie
 * field as one cookie). */
static bool named(const struct sp_cfg_cookie *ck, const char *v, size_t vl)
{
    size_t nl = strlen(ck->name), i = 0;

    while (i < vl && is_sp(v[i]))
        i++;
    if (vl - i < nl || memcmp(v + i, ck->name, nl) != 0)
        return false;
    i += nl;
    while (i < vl && is_sp(v[i]))
        i++;
    return i < vl && v[i] == '=';
}

static bool set_cookie_name(const char *n, size_t nl)
{
    return nl == 10 && !strncasecmp(n, "set-cookie", 10);
}

/* Cache-Control already keeps shared caches away */
static bool cc_private(const struct sp_hmsg *hm)
{
    for (uint32_t i = 0; i < hm->n; i++) {
        const struct sp_hfield *f = &hm->f[i];
        if (f->n.len != 13 || strncasecmp(f->n.p, "cache-control", 13))
            continue;
        for (uint32_t j = 0; j + 7 <= f->v.len; j++)
            if (!strncasecmp(f->v.p + j, "private", 7) || !strncasecmp(f->v.p + j, "no-cache", 7) ||
                !strncasecmp(f->v.p + j, "no-store", 7))
                return true;
    }
    return false;
}

int sp__cookie_response(struct sp_txn *t, const struct sp_h1_msg **pm, const char **pbuf,
                        size_t *plen)
{
    const struct sp_cfg_cookie *ck = t->be->ck;
    const struct sp_server *s = t->srv;
    const struct sp_h1_msg *m = *pm;
    const char *buf = *pbuf;
    bool found = false, edit = false;

    for (uint32_t i = 0; i < m->nhdrs; i++) {
        const struct sp_h1_hdr *hd = &m->hdrs[i];
        if (set_cookie_name(buf + hd->name_off, hd->name_len) &&
            named(ck, buf + hd->val_off, hd->val_len)) {
            found = true;
            if (!(ck->opts & SP_CK_PSV) &&
                ((ck->opts & SP_CK_INS) || (t->ck_direct && (ck->opts & SP_CK_IND)) ||
                 (s->cookie && (ck->opts & (SP_CK_RW | SP_CK_PFX)))))
                edit = true;
        }
    }
    if (found)
        t->ck_srv = SCK_FOUND;
    bool insert = (ck->opts & SP_CK_INS) && !(found && (ck->opts & SP_CK_PSV)) && !t->ck_direct &&
                  (!(ck->opts & SP_CK_POST) || t->meth == SP_METH_POST);
    if (!edit && !insert)
        return 0;

    struct sp_hrun *w = scratch(t->hw);
    if (!w)
        return 500;
    struct sp_hmsg *hm = &w->hm;
    sp__hmsg_from_h1_res(hm, w->arena, (uint32_t)w->cap, buf, m);
    for (uint32_t i = 0; i < hm->n && edit; i++) {
        struct sp_hfield *f = &hm->f[i];
        if ((f->flags & SP_HF_KEEP) || !set_cookie_name(f->n.p, f->n.len) ||
            !named(ck, f->v.p, f->v.len))
            continue;
        if ((ck->opts & SP_CK_INS) || (t->ck_direct && (ck->opts & SP_CK_IND))) {
            memmove(f, f + 1, (hm->n - i - 1) * sizeof(*f));
            hm->n--;
            i--;
            t->ck_srv = SCK_DELETED;
            continue;
        }
        if (!s->cookie || !(ck->opts & (SP_CK_RW | SP_CK_PFX)))
            continue;
        /* NAME=VALUE...: the value replaced (rewrite) or prefixed with "SRV~" (prefix) */
        const char *v = f->v.p, *ve = v + f->v.len;
        const char *val = (const char *)memchr(v, '=', f->v.len) + 1;
        const char *vend = memchr(val, ';', (size_t)(ve - val));
        if (!vend)
            vend = ve;
        size_t cap = f->v.len + s->cklen + 1;
        char *o = sp__hmsg_dup(hm, NULL, 0);
        if (!o || hm->arena_len + cap > hm->arena_cap)
            return 500;
        size_t n = (size_t)(val - v);
        memcpy(o, v, n);
        memcpy(o + n, s->cookie, s->cklen);
        n += s->cklen;
        if (ck->opts & SP_CK_PFX) {
            o[n++] = '~';
            memcpy(o + n, val, (size_t)(ve - val));
            n += (size_t)(ve - val);
        } else {
            memcpy(o + n, vend, (size_t)(ve - vend));
            n += (size_t)(ve - vend);
        }
        hm->arena_len += (uint32_t)n;
        f->v.p = o;
        f->v.len = (uint32_t)n;
        f->flags |= SP_HF_EDITED;
        t->ck_srv = SCK_REPLACED;
    }
    if (insert) {
        char sc[768];
        int n = s->cookie
                    ? snprintf(sc, sizeof(sc), "%s=%s; path=/%s%s%s%s", ck->name, s->cookie,
                               ck->domains, ck->opts & SP_CK_HTTPONLY ? "; HttpOnly" : "",
                               ck->opts & SP_CK_SECURE ? "; Secure" : "", ck->attrs)
                    : snprintf(sc, sizeof(sc),
                               "%s=; Expires=Thu, 01-Jan-1970 00:00:01 GMT; path=/%s%s%s%s",
                               ck->name, ck->domains, ck->opts & SP_CK_HTTPONLY ? "; HttpOnly" : "",
                               ck->opts & SP_CK_SECURE ? "; Secure" : "", ck->attrs);
        if (n < 0 || (size_t)n >= sizeof(sc) || sp__hmsg_add(hm, "Set-Cookie", 10, sc, (size_t)n))
            return 500;
        t->ck_srv = SCK_INSERTED;
        if ((ck->opts & SP_CK_NOC) && !cc_private(hm) &&
            sp__hmsg_add(hm, "Cache-control", 13, "private", 7))
            return 500;
    }
    long len = sp__hmsg_write_response_msg(hm, w->out, w->cap, m, &w->msg);
    if (len < 0)
        return 500;
    *pm = &w->msg;
    *pbuf = w->out;
    *plen = (size_t)len;
    return 0;
}
