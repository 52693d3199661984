/* http/hrules.c - see hrules.h: the rules run on a request or a response (workers). */
#include "http/hrules.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "core/config.h"
#include "core/log.h"
#include "core/regexcost.h"
#include "core/util.h"
#include "http/hstick.h"
#include "http/http-int.h"
#include "http/httplog.h"
#include "http/normuri.h"
#include "http/hrule.h"
#include "http/hstick.h"

/* ---- the run ---- */

enum verdict { V_CONT, V_STOP, V_DONE, V_ERR, V_DENY, V_BAD, V_WAIT, V_REPLY };

/* owner: worker. One run of rules over one head. */
struct run {
    struct sp_txn *t;
    struct sp_conn *c;
    struct sp_http_worker *hw;
    struct sp_hmsg *req; /* http-request: the request; NULL in responses */
    struct sp_hmsg *res; /* responses */
    struct sp_acl_env env;
    struct sp_log_rec rec;
    char *tmp; /* bufsize bytes: rendered values */
    size_t tmpcap;
    bool edited;
    bool rec_ready; /* rec filled (at the first log-format value rendered) */
    int from;       /* run_set() starts at this rule (resumed), then 0 again */
    int at;         /* V_WAIT: the rule after the wait-for-body that paused */
    uint64_t wbytes;
    int64_t wms;
    bool soft;     /* strict-mode off: a failed rewrite is ignored (to the set's end) */
    size_t eh_len; /* early-hint: the 103 head built so far in hr->out, 0: none */
};

/* owner: worker. Request rules paused for the body (wait-for-body, option
 * http-buffer-request): where they go on, what they wait for, and the message they had made
 * (its arena's bytes after it: one allocation, freed by sp__txn_free()). */
struct sp_hpause {
    int stage, idx;
    uint64_t bytes;   /* at-least: go on once this much is in (0: the whole body) */
    uint64_t until;   /* worker ms: 408 then (0: no deadline of its own) */
    const char *base; /* where the client's head was (its fields point into it) */
    struct sp_hmsg hm;
    uint32_t alen;
    char arena[];
};

/* Whether the body the rules wait for is in: whole, `bytes` of it, or no more will come. */
static bool body_ready(const struct sp_txn *t, uint64_t bytes)
{
    const char *p;
    size_t len;
    uint64_t size;
    unsigned fl = sp__txn_req_body_ex(t, &p, &len, &size);

    return (fl & (SP_BODY_COMPLETE | SP_BODY_STOP)) || (bytes && len >= bytes);
}

static struct sp_hrun *ws(struct sp_http_worker *hw)
{
    if (hw->hr)
        return hw->hr;
    size_t sz = (size_t)hw->conf->bufsize;
    struct sp_hrun *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->cap = sz;
    w->arena = malloc(sz);
    w->tmp = malloc(sz);
    w->out = malloc(sz);
    if (!w->arena || !w->tmp || !w->out) {
        free(w->arena);
        free(w->tmp);
        free(w->out);
        free(w);
        return NULL;
    }
    hw->hr = w;
    return w;
}

/* the env's request fields over the edited request (refreshed after each edit) */
static void env_req(struct run *r)
{
    struct sp_hmsg *hm = r->req;

    if (!hm)
        return;
    r->env.method = hm->meth.p;
    r->env.method_len = hm->meth.len;
    r->env.uri = hm->uri.p;
    r->env.uri_len = hm->uri.len;
    r->env.version = hm->h2 ? 20 : hm->version;
    r->env.nhdrs = sp__hmsg_nvisible(hm);
    r->env.hdr = sp__hmsg_field;
    r->env.req = hm;
    r->env.prepare = NULL;
}

static void env_res(struct run *r)
{
    struct sp_hmsg *hm = r->res;

    if (!hm)
        return;
    r->env.status = hm->status;
    r->env.res_nhdrs = sp__hmsg_nvisible(hm);
    r->env.res_hdr = sp__hmsg_field;
    r->env.res = hm;
    r->env.res_version = hm->version;
}

/* Renders a value; its bytes are valid until the next render. */
static void log_rec(struct sp_txn *t, struct sp_log_rec *r);

static size_t render(struct run *r, const struct fmt *f, char *out, size_t cap, const char **ret)
{
    if (!f->lf) {
        *ret = f->lit ? f->lit : "";
        return f->litlen;
    }
    if (!r->rec_ready) { /* rules with literal values only never fill it */
        log_rec(r->t, &r->rec);
        r->rec.env = &r->env;
        r->rec_ready = true;
    }
    size_t n = sp_logfmt_render(f->lf, &r->rec, out, cap);
    *ret = out;
    return n;
}

/* regex over a NUL-terminated copy (see issue 19: ASan's regexec ignores REG_STARTEND) */
static bool rx_match(struct run *r, const regex_t *re, const char *p, size_t len, regmatch_t *m,
                     size_t nm, char *copy)
{
    (void)r;
    memcpy(copy, p, len);
    copy[len] = 0;
    return regexec(re, copy, nm, m, 0) == 0;
}

/* HAProxy's exp_replace(): the replacement with \0..\9 taken from the match over `src` */
static long expand(const char *src, const char *repl, size_t rlen, const regmatch_t *m, char *out,
                   size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < rlen; i++) {
        if (repl[i] == '\\' && i + 1 < rlen && repl[i + 1] >= '0' && repl[i + 1] <= '9') {
            int k = repl[++i] - '0';
            if (m[k].rm_so < 0)
                continue;
            size_t l = (size_t)(m[k].rm_eo - m[k].rm_so);
            if (o + l > cap)
                return -1;
            memcpy(out + o, src + m[k].rm_so, l);
            o += l;
            continue;
        }
        if (repl[i] == '\\' && i + 1 < rlen)
            i++;
        if (o + 1 > cap)
            return -1;
        out[o++] = repl[i];
    }
    return (long)o;
}

struct dm_ctx {
    const struct sp_hrule *rule;
};

static bool dm_match(const void *ctx, const char *n, size_t len)
{
    const struct sp_hrule *h = ((const struct dm_ctx *)ctx)->rule;
    const char *p = h->name;
    size_t pl = h->nlen;

    switch (h->dm) {
    case DM_STR:
        return len == pl && !strncasecmp(n, p, len);
    case DM_BEG:
        return len >= pl && !strncasecmp(n, p, pl);
    case DM_END:
        return len >= pl && !strncasecmp(n + len - pl, p, pl);
    case DM_SUB:
        for (size_t i = 0; i + pl <= len; i++)
            if (!strncasecmp(n + i, p, pl))
                return true;
        return false;
    case DM_REG: {
        char copy[256];
        if (len >= sizeof(copy))
            return false;
        memcpy(copy, n, len);
        copy[len] = 0;
        return regexec(&h->re, copy, 0, NULL, 0) == 0;
    }
    }
    return false;
}

/* replace-header / replace-value over every field named h->name */
static int replace_fields(struct run *r, struct sp_hmsg *hm, const struct sp_hrule *h)
{
    char *copy = r->hw->hr->out; /* scratch for the NUL-terminated value */
    size_t cap = r->hw->hr->cap;

    for (uint32_t k = 0; k < hm->n; k++) {
        struct sp_hfield *f = &hm->f[k];
        if ((f->flags & SP_HF_KEEP) || f->n.len != h->nlen || strncasecmp(f->n.p, h->name, h->nlen))
            continue;
        if (f->v.len >= cap / 2)
            continue;
        const char *repl;
        size_t rlen = render(r, &h->val, r->tmp, r->tmpcap, &repl);
        char *out = copy + cap / 2;
        size_t outcap = cap / 2, o = 0;
        bool changed = false;
        /* replace-header: the whole value; replace-value: each comma-separated one */
        size_t pos = 0;
        while (pos <= f->v.len) {
            size_t end = f->v.len;
            if (h->act == A_REPLACE_VAL) {
                const char *c = memchr(f->v.p + pos, ',', f->v.len - pos);
                end = c ? (size_t)(c - f->v.p) : f->v.len;
            }
            size_t s = pos;
            while (h->act == A_REPLACE_VAL && s < end && (f->v.p[s] == ' ' || f->v.p[s] == '\t'))
                s++;
            regmatch_t m[10];
            if (o && h->act == A_REPLACE_VAL) {
                if (o + 2 > outcap)
                    return -ENOSPC;
                out[o++] = ',';
                out[o++] = ' ';
            }
            if (rx_match(r, &h->re, f->v.p + s, end - s, m, 10, copy)) {
                long l = expand(copy, repl, rlen, m, out + o, outcap - o);
                if (l < 0)
                    return -ENOSPC;
                o += (size_t)l;
                changed = true;
            } else {
                if (o + (end - s) > outcap)
                    return -ENOSPC;
                memcpy(out + o, f->v.p + s, end - s);
                o += end - s;
            }
            if (end >= f->v.len)
                break;
            pos = end + 1;
        }
        if (!changed)
            continue;
        char *v = sp__hmsg_dup(hm, out, o);
        if (!v)
            return -ENOSPC;
        f->v.p = v;
        f->flags |= SP_HF_EDITED;
        f->v.len = (uint32_t)o;
        r->edited = true;
    }
    return 0;
}

/* Builds a complete HTTP/1.1 answer and makes it the transaction's local answer. */
/* Makes resp[0..len) (malloc'd, taken) the transaction's local answer. */
static int settle(struct run *r, const char *resp, size_t len, bool own, int status, char term0)
{
    struct sp_txn *t = r->t;

    if (t->lresp_own)
        free((char *)t->lresp);
    t->lresp = resp;
    t->lresp_own = own;
    t->llen = len;
    t->local = SP_LOCAL_REPLY;
    t->status = status;
    t->term[0] = term0;
    t->term[1] = r->res ? 'H' : 'R'; /* http-response return and redirect: LH */
    /* HAProxy answers a deny and closes (http_reply_and_close()); an HTTP/2 connection goes
     * on with its other streams */
    if (term0 == 'P' && status != 401 && !t->h2 && t->conn)
        t->conn->keepalive = false;
    if (!r->res) /* a response's transaction keeps its backend */
        t->be = r->env.be_idx >= 0 ? t->be : NULL;
    return 0;
}

/* The proxy's message for `status` (errorfile, errorloc, errorfiles, http-error, or the
 * built-in page), as any error of spillway's own. */
static int errmsg(struct run *r, int status, char term0)
{
    struct sp_txn *t = r->t;
    struct sp__reply_ctx x = {
        .fe = t->fe, .be = r->env.be_idx >= 0 ? t->be : NULL, .c = t->conn, .t = t};
    const char *msg;
    bool borrow;
    long n = sp__errmsg_get(r->hw, status, &x, &msg, &borrow);

    if (n < 0)
        return (int)n;
    if (borrow) /* immutable for the process's life: no copy */
        return settle(r, msg, (size_t)n, false, status, term0);
    char *resp = malloc((size_t)n + 1);
    if (!resp)
        return -ENOMEM;
    memcpy(resp, msg, (size_t)n);
    return settle(r, resp, (size_t)n, true, status, term0);
}

static int answer(struct run *r, int status, const char *reason, const char *ctype,
                  const char *body, size_t blen, const char *extra, size_t elen, char term0)
{
    size_t cap = 256 + (ctype ? strlen(ctype) : 0) + elen + blen;
    char *resp = malloc(cap);

    if (!resp)
        return -ENOMEM;
    int n = snprintf(resp, cap, "HTTP/1.1 %d %s\r\n", status,
                     reason ? reason : sp__http_reason(status));
    if (ctype)
        n += snprintf(resp + n, cap - (size_t)n, "Content-Type: %s\r\n", ctype);
    n += snprintf(resp + n, cap - (size_t)n, "Content-Length: %zu\r\n", blen);
    memcpy(resp + n, extra, elen);
    n += (int)elen;
    memcpy(resp + n, "\r\n", 2);
    n += 2;
    memcpy(resp + n, body, blen);
    n += (int)blen;
    return settle(r, resp, (size_t)n, true, status, term0);
}

/* deny and return: status, headers, body */
static int reply(struct run *r, const struct sp_hrule *h, char term0)
{
    char *extra = r->hw->hr->out;
    size_t cap = r->hw->hr->cap, el = 0;
    const char *body, *ctype = h->ctype;
    size_t blen;

    for (int i = 0; i < h->nhdrs; i++) {
        const char *v;
        size_t vl = render(r, &h->hdrs[i].v, r->tmp, r->tmpcap, &v);
        size_t nl = strlen(h->hdrs[i].name);
        if (el + nl + vl + 4 > cap / 2)
            return -ENOSPC;
        memcpy(extra + el, h->hdrs[i].name, nl);
        el += nl;
        memcpy(extra + el, ": ", 2);
        el += 2;
        memcpy(extra + el, v, vl);
        el += vl;
        memcpy(extra + el, "\r\n", 2);
        el += 2;
    }
    if (h->body_set) {
        blen = render(r, &h->body, extra + cap / 2, cap / 2, &body);
    } else if (h->act == A_DENY || h->act == A_TARPIT) {
        /* no content given: the proxy's message for the status (errorfile & co; HAProxy
         * ignores `hdr` then) */
        return errmsg(r, h->status, term0);
    } else if (h->act == A_RETURN) {
        body = "";
        blen = 0;
        ctype = NULL;
    } else {
        body = "";
        blen = 0;
    }
    return answer(r, h->status, NULL, ctype, body, blen, extra, el, term0);
}

static int redirect(struct run *r, const struct sp_hrule *h, bool *skip)
{
    char *loc = r->hw->hr->out;
    size_t cap = r->hw->hr->cap / 2, n = 0;
    const char *v;
    size_t vl = render(r, &h->val, r->tmp, r->tmpcap, &v);
    struct sp_hspan path = {"/", 1}, q = {"", 0};
    bool has_q = false;

    *skip = false;
    if (h->rtype != R_LOCATION && r->req) {
        sp__hmsg_path(r->req, &path, &q, &has_q);
        if (!path.len && !has_q)
            path = (struct sp_hspan){"/", 1};
    }
    size_t plen = path.len + (has_q && !h->drop_query ? 1 + q.len : 0);
    if (vl + plen + 8 + 256 > cap)
        return -ENOSPC;
    if (h->rtype == R_SCHEME) {
        memcpy(loc, v, vl);
        n = vl;
        memcpy(loc + n, "://", 3);
        n += 3;
        const char *hv = "";
        size_t hl = 0;
        for (size_t i = 0; i < r->env.nhdrs; i++) {
            const char *nm, *val;
            size_t nl, l;
            sp__hmsg_field(r->req, i, &nm, &nl, &val, &l);
            if (nl == 4 && !strncasecmp(nm, "host", 4)) {
                hv = val;
                hl = l;
                break;
            }
        }
        if (n + hl + plen + 2 > cap)
            return -ENOSPC;
        memcpy(loc + n, hv, hl);
        n += hl;
    } else if (h->rtype == R_PREFIX) {
        /* a prefix of "/" adds nothing (a self-redirection) */
        if (!(vl == 1 && v[0] == '/')) {
            memcpy(loc, v, vl);
            n = vl;
        }
    } else {
        if (!vl && h->ignore_empty) {
            *skip = true;
            return 0;
        }
        memcpy(loc, v, vl);
        n = vl;
    }
    if (h->rtype != R_LOCATION) {
        memcpy(loc + n, path.p, path.len);
        n += path.len;
        if (has_q && !h->drop_query) {
            loc[n++] = '?';
            memcpy(loc + n, q.p, q.len);
            n += q.len;
        }
    }
    if (h->append_slash && n && loc[n - 1] != '/' && n + 1 < cap)
        loc[n++] = '/';
    /* Location, Cache-Control for the temporary codes, Set-Cookie (HAProxy's order) */
    char *extra = loc + cap;
    const char *cc = h->status == 302 || h->status == 303 || h->status == 307
                         ? "Cache-Control: no-cache\r\n"
                         : "";
    if (n + strlen(cc) + 16 >= cap)
        return -ENOSPC;
    memcpy(extra, "Location: ", 10);
    memcpy(extra + 10, loc, n);
    memcpy(extra + 10 + n, "\r\n", 2);
    int el = (int)(n + 12);
    el += snprintf(extra + el, cap - (size_t)el, "%s", cc);
    if (h->cookie) {
        int c = snprintf(extra + el, cap - (size_t)el, "Set-Cookie: %s\r\n", h->cookie);
        if (c < 0 || (size_t)(el + c) >= cap)
            return -ENOSPC;
        el += c;
    }
    return answer(r, h->status, NULL, NULL, "", 0, extra, (size_t)el, 'L');
}

static int auth(struct run *r, const struct sp_hrule *h)
{
    static const char body[] = "<html><body><h1>401 Unauthorized</h1>\n"
                               "You need a valid user and password to access this content.\n"
                               "</body></html>\n";
    char extra[320];
    const char *realm = h->realm ? h->realm : r->t->fe->name;
    int el = snprintf(extra, sizeof(extra), "WWW-Authenticate: Basic realm=\"%.200s\"\r\n", realm);

    if (r->env.be_idx >= 0 && r->t->be)
        realm = h->realm ? h->realm : r->t->be->name;
    el = snprintf(extra, sizeof(extra), "WWW-Authenticate: Basic realm=\"%.200s\"\r\n", realm);
    return answer(r, 401, NULL, "text/html", body, sizeof(body) - 1, extra, (size_t)el, 'P');
}

static void count_deny(struct run *r)
{
    struct sp_stats_worker *st = r->hw->st;

    sp_stat_add(&st->fe[r->t->fe->idx].dreq, 1);
    if (r->env.be_idx >= 0)
        sp_stat_add(&st->be[r->env.be_idx].dreq, 1);
}

/* set-path & co. */
static int uri_action(struct run *r, const struct sp_hrule *h)
{
    struct sp_hmsg *hm = r->req;
    const char *v;
    size_t vl = render(r, &h->val, r->tmp, r->tmpcap, &v);
    struct sp_hspan path, q;
    bool has_q;

    sp__hmsg_path(hm, &path, &q, &has_q);
    size_t poff = (size_t)(path.p - hm->uri.p);
    switch (h->act) {
    case A_SET_METHOD: {
        char *m = sp__hmsg_dup(hm, v, vl);
        if (!m)
            return -ENOSPC;
        hm->meth.p = m;
        hm->line_edited = true;
        hm->meth.len = (uint32_t)vl;
        return 0;
    }
    case A_SET_URI:
        return sp__hmsg_set_uri(hm, v, vl);
    case A_SET_PATH:
        return sp__hmsg_splice_uri(hm, poff, path.len, v, vl);
    case A_SET_PATHQ:
        return sp__hmsg_splice_uri(hm, poff, hm->uri.len - poff, v, vl);
    default:
        break;
    }
    return 0;
}

static int set_query(struct run *r, const struct sp_hrule *h)
{
    struct sp_hmsg *hm = r->req;
    const char *v;
    size_t vl = render(r, &h->val, r->tmp, r->tmpcap, &v);
    struct sp_hspan path, q;
    bool has_q;
    char buf[8192];

    sp__hmsg_path(hm, &path, &q, &has_q);
    size_t qoff = (size_t)(path.p - hm->uri.p) + path.len;
    size_t qlen = has_q ? 1 + q.len : 0;
    if (vl + 1 > sizeof(buf))
        return -ENOSPC;
    buf[0] = '?';
    memcpy(buf + 1, v, vl);
    /* HAProxy's http_replace_req_query(): "?" followed by the value, the '?' alone for an
     * empty value */
    return sp__hmsg_splice_uri(hm, qoff, qlen, buf, vl + 1);
}

static int replace_uri(struct run *r, const struct sp_hrule *h)
{
    struct sp_hmsg *hm = r->req;
    struct sp_hspan path, q;
    bool has_q;
    size_t off = 0, len = hm->uri.len;
    char *copy = r->hw->hr->out, *out = copy + r->hw->hr->cap / 2;
    size_t cap = r->hw->hr->cap / 2;

    sp__hmsg_path(hm, &path, &q, &has_q);
    if (h->act == A_REPLACE_PATH) {
        off = (size_t)(path.p - hm->uri.p);
        len = path.len;
    } else if (h->act == A_REPLACE_PATHQ) {
        off = (size_t)(path.p - hm->uri.p);
        len = hm->uri.len - off;
    }
    if (len >= cap)
        return 0;
    regmatch_t m[10];
    if (!rx_match(r, &h->re, hm->uri.p + off, len, m, 10, copy))
        return 0;
    const char *repl;
    size_t rlen = render(r, &h->val, r->tmp, r->tmpcap, &repl);
    long l = expand(copy, repl, rlen, m, out, cap);
    if (l < 0)
        return -ENOSPC;
    return sp__hmsg_splice_uri(hm, off, len, out, (size_t)l);
}

static int set_var(struct run *r, const struct sp_hrule *h)
{
    if (h->act == A_UNSET_VAR) {
        sp_var_unset(&r->env, &h->var);
        return 0;
    }
    struct sp_smp v;
    if (h->status == 1) { /* set-var-fmt: the rendered string (copied by sp_var_set) */
        v.type = SP_SMP_STR;
        v.u.str.len = render(r, &h->val, r->tmp, r->tmpcap, &v.u.str.ptr);
        sp_var_set(&r->env, &h->var, &v);
        return 0;
    }
    if (sp_smp_eval(h->expr, &r->env, &v))
        sp_var_set(&r->env, &h->var, &v); /* a failed set leaves the variable as it was */
    return 0;
}

/* Keeps v[0..len) (cut to the slot's length) in capture slot k of the transaction. */
static void cap_store(struct run *r, int k, const char *v, size_t len)
{
    struct sp_txn *t = r->t;
    const struct sp_hrules_px *fx = &t->hw->conf->hrules->fe[t->fe->idx];
    const struct sp_hcap *c = &fx->caps[k];

    if (!t->caps && !(t->caps = calloc(1, fx->caps_size)))
        return; /* the log line goes without it: never fail a request for a log */
    char *d = (char *)t->caps + c->off;
    if (len > (size_t)c->len)
        len = (size_t)c->len;
    memcpy(d, v, len);
    d[len] = 0;
    t->caps[k] = d;
}

/* `capture request|response header`: the last occurrence of each named field, whole */
static void cap_headers(struct run *r, const struct sp_hmsg *hm, int first, int n)
{
    const struct sp_hrules_px *fx = &r->t->hw->conf->hrules->fe[r->t->fe->idx];

    for (uint32_t i = 0; i < hm->n; i++) {
        const struct sp_hfield *f = &hm->f[i];
        if (f->flags & SP_HF_KEEP)
            continue;
        for (int k = first; k < first + n; k++)
            if (fx->caps[k].name && fx->caps[k].nlen == f->n.len &&
                !strncasecmp(fx->caps[k].name, f->n.p, f->n.len))
                cap_store(r, k, f->v.p, f->v.len);
    }
}

/* set-dst, set-dst-port: the connection's destination as fetches, logs and servers with no
 * address of their own see it (HAProxy changes the connection's) */
static void set_dst(struct run *r, const struct sp_hrule *h)
{
    struct sp_smp v;

    if (sp_smp_eval(h->expr, &r->env, &v))
        sp_addr_set_dst(&r->c->local, &v, h->act == A_SET_DST_PORT); /* shared with tcp rules */
}

/* normalize-uri: the path (and query) rewritten by one normalizer (http/normuri.c) */
static int normalize(struct run *r, const struct sp_hrule *h)
{
    struct sp_hmsg *hm = r->req;
    struct sp_hspan path, q;
    bool has_q;
    char *out = r->hw->hr->out;
    size_t cap = r->hw->hr->cap;

    sp__hmsg_path(hm, &path, &q, &has_q);
    size_t off = (size_t)(path.p - hm->uri.p), len = hm->uri.len - off;
    long n = sp__normuri_apply(h->status, hm->uri.p + off, len, out, cap);
    if (n < 0)
        return (int)n;
    if ((size_t)n == len && !memcmp(out, hm->uri.p + off, len))
        return 0;
    return sp__hmsg_splice_uri(hm, off, len, out, (size_t)n);
}

/* A sample as an address (HAProxy's cast to SMP_T_ADDR: a string holding an IPv4 or an IPv6
 * address converts). */
static bool smp_addr(const struct sp_smp *v, struct sockaddr_storage *ret, uint16_t port)
{
    char txt[INET6_ADDRSTRLEN + 1];
    struct in_addr a4;
    struct in6_addr a6;
    int fam = 0;

    if (v->type == SP_SMP_IPV4) {
        a4 = v->u.v4;
        fam = AF_INET;
    } else if (v->type == SP_SMP_IPV6) {
        a6 = v->u.v6;
        fam = AF_INET6;
    } else if ((v->type == SP_SMP_STR || v->type == SP_SMP_BIN) && v->u.str.len < sizeof(txt)) {
        memcpy(txt, v->u.str.ptr, v->u.str.len);
        txt[v->u.str.len] = 0;
        fam = inet_pton(AF_INET, txt, &a4) == 1    ? AF_INET
              : inet_pton(AF_INET6, txt, &a6) == 1 ? AF_INET6
                                                   : 0;
    }
    if (fam == AF_INET) {
        struct sockaddr_in *a = (struct sockaddr_in *)ret;
        memset(ret, 0, sizeof(*ret));
        a->sin_family = AF_INET;
        a->sin_addr = a4;
        a->sin_port = port;
    } else if (fam == AF_INET6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)ret;
        memset(ret, 0, sizeof(*ret));
        a->sin6_family = AF_INET6;
        a->sin6_addr = a6;
        a->sin6_port = port;
    }
    return fam != 0;
}

/* A sample as an integer (HAProxy's cast to SMP_T_SINT: a string of decimal digits). */
static bool smp_int(const struct sp_smp *v, int64_t *ret)
{
    if (v->type == SP_SMP_SINT || v->type == SP_SMP_BOOL) {
        *ret = v->u.sint;
        return true;
    }
    if (v->type != SP_SMP_STR || !v->u.str.len || v->u.str.len > 20)
        return false;
    int64_t n = 0;
    size_t i = v->u.str.ptr[0] == '-' || v->u.str.ptr[0] == '+';
    if (i == v->u.str.len)
        return false;
    for (; i < v->u.str.len; i++) {
        if (v->u.str.ptr[i] < '0' || v->u.str.ptr[i] > '9')
            return false;
        n = n * 10 + (v->u.str.ptr[i] - '0');
    }
    *ret = v->u.str.ptr[0] == '-' ? -n : n;
    return true;
}

/* set-src, set-src-port: the transaction's source (HAProxy 2.6: the stream's; the connection
 * and its next requests keep theirs). The port (the address) is kept. */
static void set_src(struct run *r, const struct sp_hrule *h)
{
    struct sp_txn *t = r->t;
    struct sp_smp v;
    struct sockaddr_storage a = *sp__txn_src(t);

    if (!sp_smp_eval(h->expr, &r->env, &v))
        return;
    if (h->act == A_SET_SRC_PORT) {
        int64_t port;
        if (!smp_int(&v, &port))
            return;
        if (a.ss_family == AF_INET6) {
            ((struct sockaddr_in6 *)&a)->sin6_port = htons((uint16_t)port);
        } else {
            if (a.ss_family != AF_INET) { /* a unix socket: 0.0.0.0, as HAProxy */
                memset(&a, 0, sizeof(a));
                a.ss_family = AF_INET;
            }
            ((struct sockaddr_in *)&a)->sin_port = htons((uint16_t)port);
        }
    } else {
        uint16_t port = a.ss_family == AF_INET    ? ((struct sockaddr_in *)&a)->sin_port
                        : a.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&a)->sin6_port
                                                  : 0;
        if (!smp_addr(&v, &a, port))
            return;
    }
    if (!t->src && !(t->src = malloc(sizeof(*t->src))))
        return; /* out of memory: the source stays (as a rule whose sample fails) */
    *t->src = a;
    r->env.src = t->src; /* the next rules' src fetches */
}

/* set-tos, set-mark: on the client's socket; a failure (no CAP_NET_ADMIN for SO_MARK) is
 * ignored, as HAProxy's conn_set_tos() / conn_set_mark() do. */
static void set_sockopt(struct run *r, const struct sp_hrule *h)
{
    int fd = r->c->x.ev.fd, v = h->status, dom = 0;
    socklen_t dl = sizeof(dom);

    if (fd < 0)
        return;
    if (h->act == A_SET_MARK) {
#ifdef SO_MARK
        (void)setsockopt(fd, SOL_SOCKET, SO_MARK, &v, sizeof(v));
#endif
        return;
    }
    if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &dl) < 0)
        return;
    if (dom == AF_INET)
        (void)setsockopt(fd, IPPROTO_IP, IP_TOS, &v, sizeof(v));
    else if (dom == AF_INET6) {
        /* an IPv4 client on a v6 socket: its packets take IP_TOS */
        const struct sockaddr_in6 *p = (const struct sockaddr_in6 *)&r->c->peer;
        if (p->sin6_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&p->sin6_addr))
            (void)setsockopt(fd, IPPROTO_IP, IP_TOS, &v, sizeof(v));
        else
            (void)setsockopt(fd, IPPROTO_IPV6, IPV6_TCLASS, &v, sizeof(v));
    }
}

/* early-hint: one field of the 103 that consecutive early-hint rules build (only requests in
 * HTTP/1.1 or later get one, as in HAProxy) */
static int early_hint(struct run *r, const struct sp_hrule *h)
{
    static const char line[] = "HTTP/1.1 103 Early Hints\r\n";
    char *b = r->hw->hr->out;
    size_t cap = r->hw->hr->cap;
    const char *v;

    if (!r->req->h2 && r->req->version < 11)
        return 0;
    if (!r->eh_len) {
        memcpy(b, line, sizeof(line) - 1);
        r->eh_len = sizeof(line) - 1;
    }
    size_t vl = render(r, &h->val, r->tmp, r->tmpcap, &v);
    if (r->eh_len + h->nlen + vl + 6 > cap)
        return -ENOSPC;
    memcpy(b + r->eh_len, h->name, h->nlen);
    r->eh_len += h->nlen;
    memcpy(b + r->eh_len, ": ", 2);
    memcpy(b + r->eh_len + 2, v, vl);
    r->eh_len += 2 + vl;
    memcpy(b + r->eh_len, "\r\n", 2);
    r->eh_len += 2;
    return 0;
}

/* The 103 the early-hint rules just before built goes to the client now. */
static int early_hint_send(struct run *r)
{
    struct sp_hrun *w = r->hw->hr;
    char *b = w->out;
    struct sp_h1_scan scan;
    size_t len = r->eh_len;

    r->eh_len = 0;
    memcpy(b + len, "\r\n", 2);
    len += 2;
    sp_h1_scan_init(&scan);
    if (sp_h1_parse_response(b, len, len, r->t->meth, &scan, &w->msg) != (long)len)
        return -ENOSPC; /* a value HTTP/1.1 cannot carry: a failed rewrite */
    return r->t->ops->res_head(r->t, &w->msg, b) < 0 ? -ENOSPC : 0;
}

/* Runs one rule set. */
static enum verdict run_set(struct run *r, const struct sp_hruleset *s)
{
    struct sp_hmsg *hm = r->res ? r->res : r->req;
    int from = r->from;

    r->from = 0;
    if (!from)
        r->soft = false; /* each set starts in strict mode (HAProxy); a resumed one goes on */
    for (int i = from; i < s->n; i++) {
        const struct sp_hrule *h = &s->r[i];
        int e = 0;
        env_req(r);
        env_res(r);
        if (h->cond && !sp_acl_cond_eval(h->cond, &r->env))
            continue;
        switch (h->act) {
        case A_ALLOW:
            return V_STOP;
        case A_DENY:
            if (r->res)
                return V_DENY;
            count_deny(r);
            e = reply(r, h, 'P');
            return e ? V_ERR : V_DONE;
        case A_TARPIT:
            count_deny(r);
            e = reply(r, h, 'P');
            r->t->term[1] = 'T';
            r->t->tarpit_ms = h->tarpit_ms;
            return e ? V_ERR : V_DONE;
        case A_RETURN:
            /* http-response return: this answer replaces the server's (not compiled in
             * http-after-response) */
            e = reply(r, h, 'L');
            return e ? V_ERR : r->res ? V_REPLY : V_DONE;
        case A_REDIRECT: {
            bool skip;
            e = redirect(r, h, &skip);
            if (skip)
                continue;
            return e ? V_ERR : r->res ? V_REPLY : V_DONE;
        }
        case A_AUTH:
            e = auth(r, h);
            return e ? V_ERR : V_DONE;
        case A_USE_SERVICE:
            r->t->local = SP_LOCAL_PROMETHEUS;
            return V_DONE;
        case A_ADD_HDR:
        case A_SET_HDR: {
            const char *v;
            size_t vl = render(r, &h->val, r->tmp, r->tmpcap, &v);
            /* the value is rendered before the old fields go (set-header X %[hdr(X)]) */
            char *keep = sp__hmsg_dup(hm, v, vl);
            if (!keep && vl) {
                e = -ENOSPC;
                break;
            }
            if (h->act == A_SET_HDR)
                sp__hmsg_del_name(hm, h->name, h->nlen);
            e = sp__hmsg_add(hm, h->name, h->nlen, keep ? keep : "", vl);
            break;
        }
        case A_DEL_HDR: {
            struct dm_ctx dc = {h};
            sp__hmsg_del(hm, dm_match, &dc);
            break;
        }
        case A_REPLACE_HDR:
        case A_REPLACE_VAL:
            e = replace_fields(r, hm, h);
            break;
        case A_SET_PATH:
        case A_SET_PATHQ:
        case A_SET_URI:
        case A_SET_METHOD:
            e = uri_action(r, h);
            break;
        case A_SET_QUERY:
            e = set_query(r, h);
            break;
        case A_REPLACE_PATH:
        case A_REPLACE_PATHQ:
        case A_REPLACE_URI:
            e = replace_uri(r, h);
            break;
        case A_SET_VAR:
        case A_UNSET_VAR:
            e = set_var(r, h);
            continue;
        case A_CAPTURE: {
            const char *v;
            size_t vl;
            if (sp_smp_eval_str(h->expr, &r->env, &v, &vl))
                cap_store(r,
                          h->status +
                              (r->res ? r->t->hw->conf->hrules->fe[r->t->fe->idx].ncap_req : 0),
                          v, vl);
            continue;
        }
        case A_SET_TIMEOUT: {
            /* a server timeout for this request alone (HAProxy: ms, from a sample too) */
            int64_t ms = h->tarpit_ms;
            struct sp_smp v;
            if (h->expr && sp_smp_eval(h->expr, &r->env, &v) && v.type == SP_SMP_SINT)
                ms = v.u.sint;
            if (ms > 0)
                r->t->t_server = ms;
            continue;
        }
        case A_SILENT_DROP:
            count_deny(r);
            r->t->local = SP_LOCAL_DROP;
            r->t->term[0] = 'P';
            r->t->term[1] = 'R';
            return V_DONE;
        case A_SET_LOG_LEVEL:
            r->t->log_level = (int8_t)h->status;
            continue;
        case A_SET_DST:
        case A_SET_DST_PORT:
            set_dst(r, h);
            continue;
        case A_NORMALIZE_URI:
            e = normalize(r, h);
            break;
        case A_STICK:
            sp__hstick_run(h->stk, r->t, &r->env);
            continue;
        case A_WAIT_BODY:
            if (r->res || body_ready(r->t, h->bytes))
                continue;
            r->at = i + 1;
            r->wbytes = h->bytes;
            r->wms = h->tarpit_ms;
            return V_WAIT;
        case A_SET_STATUS:
            hm->status = h->status;
            hm->line_edited = true;
            hm->reason.p = h->reason ? h->reason : sp__http_reason(h->status);
            hm->reason.len = (uint32_t)strlen(hm->reason.p);
            break;
        case A_REJECT:
            /* no answer, the connection closes (HTTP/2: all of it); denied_req */
            count_deny(r);
            r->t->local = SP_LOCAL_REJECT;
            r->t->term[0] = 'P';
            r->t->term[1] = 'R';
            return V_DONE;
        case A_SET_SRC:
        case A_SET_SRC_PORT:
            set_src(r, h);
            continue;
        case A_SET_MARK:
        case A_SET_TOS:
            set_sockopt(r, h);
            continue;
        case A_EARLY_HINT:
            /* one 103 for the fields of consecutive early-hint rules; it goes out before a
             * rule of another kind or a conditional early-hint (HAProxy 2.6.2 and later) */
            e = early_hint(r, h);
            if (!e && r->eh_len &&
                (i + 1 == s->n || s->r[i + 1].act != A_EARLY_HINT || s->r[i + 1].cond))
                e = early_hint_send(r);
            if (e < 0)
                r->eh_len = 0;
            if (e < 0 && !r->soft)
                return V_ERR;
            continue;
        case A_STRICT_MODE:
            r->soft = !h->status;
            continue;
        case A_DISABLE_L7_RETRY:
            r->t->no_l7_retry = true;
            continue;
        case A_SET_PRIO_CLASS:
        case A_SET_PRIO_OFFSET: {
            /* HAProxy's ranges; a sample that is no integer leaves it as it was */
            struct sp_smp v;
            int64_t k, m = h->act == A_SET_PRIO_CLASS ? 0x7ff : 0x7ffff;
            if (sp_smp_eval(h->expr, &r->env, &v) && smp_int(&v, &k))
                r->t->prio[h->act == A_SET_PRIO_OFFSET] = (int32_t)(k < -m ? -m : k > m ? m : k);
            continue;
        }
        }
        if (e == -EINVAL)
            return V_BAD; /* normalize-uri ... strict: a bad request (400) */
        if ((e < 0 || hm->failed) && r->soft && e != -ENOMEM) {
            /* strict-mode off: the failed rewrite is ignored, the rules go on */
            hm->failed = false;
            continue;
        }
        if (e < 0 || hm->failed)
            return V_ERR;
        r->edited = true;
    }
    return V_CONT;
}

/* req.body and the like: what the client side holds of the body */
static bool env_body(const struct sp_acl_env *env, const char **p, size_t *len, uint64_t *size)
{
    sp__txn_req_body_ex((const struct sp_txn *)env->body_ctx, p, len, size);
    return true;
}

/* The variable stores a rule reads and writes: the connection's and the transaction's. */
static void vars_env(struct sp_txn *t, struct sp_acl_env *env)
{
    env->sess_vars = &t->conn->sess_vars;
    env->txn_vars = &t->vars;
    env->unique_id = sp__uid_fetch; /* the unique-id fetch (uniqueid.c) */
    env->uid_ctx = t;
    env->body = env_body;
    env->body_ctx = t;
    env->prio = t->prio; /* prio_class, prio_offset */
}

/* What log-format values (%ci, %ft, %b, %H...) print while the rules run. */
static void log_rec(struct sp_txn *t, struct sp_log_rec *r)
{
    sp__accesslog_base(r, t->hw, t->conn);
    r->backend = t->be ? t->be->name : NULL;
    r->request_us = (int64_t)sp_wall_us(t->t_req ? t->t_req : t->t_start);
    sp__accesslog_request(r, t);
    r->status = t->status ? t->status : -1;
    r->unique_id = t->unique_id; /* %ID: made by the unique-id fetch or after the rules */
    r->req_counter = t->req_id;
}

void sp__hrules_caps_env(const struct sp_txn *t, struct sp_acl_env *env)
{
    const struct sp_hrules *hr = t->hw->conf->hrules;

    if (!hr || !t->caps)
        return;
    env->caps = (const char *const *)t->caps;
    env->ncap_req = hr->fe[t->fe->idx].ncap_req;
    env->ncap_res = hr->fe[t->fe->idx].ncap_res;
}

static bool run_init(struct run *r, struct sp_txn *t)
{
    memset(r, 0, sizeof(*r));
    r->t = t;
    r->c = t->conn;
    r->hw = t->hw;
    struct sp_hrun *w = ws(t->hw);
    if (!w)
        return false;
    r->tmp = w->tmp;
    r->tmpcap = w->cap;
    sp__route_env(&r->env, t->hw, t->conn);
    vars_env(t, &r->env);
    r->env.stkctr = t->stkctr;
    sp__hrules_caps_env(t, &r->env);
    r->env.stkctr = t->stkctr;
    return true;
}

/* `tcp-request content reject` of an http proxy: no answer, the connection closes (HAProxy's
 * tcp_inspect_request(): a denied request of the frontend and the listener, even for a
 * backend's rule; logged PR) */
static int tcp_reject(struct run *r)
{
    sp_stat_add(&r->hw->st->fe[r->t->fe->idx].dreq, 1);
    if (sp__conn_li(r->c))
        sp_stat_add(&sp__conn_li(r->c)->dreq, 1);
    r->t->local = SP_LOCAL_REJECT;
    r->t->term[0] = 'P';
    r->t->term[1] = 'R';
    return 0;
}

/* where paused request rules go on */
enum { ST_START, ST_FE, ST_BE };
#define ST_SOFT 0x10 /* or'ed into a paused stage: the set was in strict-mode off */

/* The rules pause: the message is kept with where they go on. -EAGAIN, or -ENOMEM. */
static int pause_rules(struct run *r, int stage, int idx, uint64_t bytes, int64_t ms)
{
    const struct sp_hmsg *hm = r->req;
    struct sp_hpause *p = malloc(sizeof(*p) + hm->arena_len);

    if (!p)
        return -ENOMEM;
    p->stage = stage | (r->soft ? ST_SOFT : 0);
    p->idx = idx;
    p->bytes = bytes;
    p->until = ms != SP_TIME_UNSET && ms > 0 ? r->hw->w->now + (uint64_t)ms : 0;
    p->base = NULL;
    p->hm = *hm;
    p->alen = hm->arena_len;
    memcpy(p->arena, hm->arena, hm->arena_len);
    /* HAProxy's http_handle_expect_hdr(): the client side answers 100 Continue to an
     * HTTP/1.1 `Expect: 100-continue` now, and the field goes */
    if (!hm->h2 && hm->h1 && (hm->h1->flags & SP_H1_MF_EXPECT_100))
        sp__hmsg_del_name(&p->hm, "expect", 6);
    free(r->t->hpause);
    r->t->hpause = p;
    return -EAGAIN;
}

static int request_rules(struct sp_txn *t, struct sp_conn *c, struct sp_hmsg *hm, int stage,
                         int idx)
{
    const struct sp_hrules *hr = t->hw->conf->hrules;
    const struct sp_hrules_px *fx = &hr->fe[c->fe->idx];
    struct run r;
    enum verdict v;

    if (!run_init(&r, t))
        return -ENOMEM;
    r.req = hm;
    r.soft = (stage & ST_SOFT) != 0; /* a resumed set goes on in its mode (run_set()) */
    stage &= ~ST_SOFT;
    env_req(&r);
    if (stage == ST_START) {
        t->fe_conn_seen = -1;
        t->rule = -1;
        t->be = NULL;
        /* tcp-request content: HAProxy's INSPECT_FE analyser, before the HTTP ones */
        if (c->fe->ntcp_content && c->fe->mode == SP_MODE_HTTP &&
            !sp__route_tcp_http(t, &r.env, false))
            return tcp_reject(&r);
        /* every transaction of a frontend with captures has its slots, as in HAProxy ("{|}"
         * when nothing was captured) */
        if (fx->caps && !t->caps)
            t->caps = calloc(1, fx->caps_size);
        if (fx->ncap_req)
            cap_headers(&r, hm, 0, fx->ncap_req);
        t->local = sp__route_monitor(c->fe, &r.env);
        if (t->local)
            return 0;
        /* option http-buffer-request: the body before the frontend's rules, within `timeout
         * http-request` (HAProxy's http_wait_for_request_body()) */
        if (c->fe->buffer_request && !body_ready(t, 0))
            return pause_rules(&r, ST_FE, 0, 0, c->fe->t_http_request);
        stage = ST_FE;
        idx = 0;
    }
    if (stage == ST_FE) {
        r.from = idx;
        v = run_set(&r, &fx->req);
        if (v == V_WAIT)
            return pause_rules(&r, ST_FE, r.at, r.wbytes, r.wms);
        if (v == V_ERR || v == V_BAD)
            return v == V_BAD ? -EINVAL : -ENOSPC;
        if (v == V_DONE)
            return 0;
        env_req(&r);
        t->local = sp__route_services(t, c->fe, &r.env, fx->req.n == 0);
        if (t->local)
            return 0;
        v = run_set(&r, &fx->redir);
        if (v == V_ERR || v == V_BAD)
            return v == V_BAD ? -EINVAL : -ENOSPC;
        if (v == V_DONE)
            return 0;
        env_req(&r);
        sp__route_switch(t, c, &r.env);
        if (t->be && t->be->ntcp_content && t->be->mode == SP_MODE_HTTP &&
            t->be->self_fe != c->fe->idx) { /* INSPECT_BE: a listen's ran as its frontend's */
            int be_idx = r.env.be_idx;
            r.env.be_idx = t->be->idx;
            if (!sp__route_tcp_http(t, &r.env, true))
                return tcp_reject(&r);
            r.env.be_idx = be_idx;
        }
        if (!t->be || hr->be_is_fe[t->be->idx] == c->fe->idx)
            return t->local ? 0 : sp__uid_request(t, hm, &r.env);
        /* the backend's option http-buffer-request: before the backend's rules (within the
         * frontend's `timeout http-request`: the routing snapshot keeps no backend's) */
        if (t->be->buffer_request && !body_ready(t, 0))
            return pause_rules(&r, ST_BE, 0, 0, c->fe->t_http_request);
        idx = 0;
    }
    const struct sp_hrules_px *bx = &hr->be[t->be->idx];
    r.env.be_idx = t->be->idx;
    r.rec_ready = false; /* %b and the like now name the backend */
    r.from = idx;
    v = run_set(&r, &bx->req);
    if (v == V_WAIT)
        return pause_rules(&r, ST_BE, r.at, r.wbytes, r.wms);
    if (v == V_STOP || v == V_CONT)
        v = run_set(&r, &bx->redir);
    if (v == V_ERR || v == V_BAD)
        return v == V_BAD ? -EINVAL : -ENOSPC;
    return t->local ? 0 : sp__uid_request(t, hm, &r.env);
}

int sp__hrules_response(struct sp_txn *t, const struct sp_h1_msg *m, const char *buf, size_t len,
                        bool server, const struct sp_h1_msg **ret_m, const char **ret_buf,
                        size_t *ret_len)
{
    const struct sp_hrules *hr = t->hw->conf->hrules;

    *ret_m = m;
    *ret_buf = buf;
    *ret_len = len;
    if (!hr || !hr->any_res || !t->conn)
        return 0;
    const struct sp_hrules_px *fx = &hr->fe[t->fe->idx];
    const struct sp_hrules_px *bx =
        t->be && hr->be_is_fe[t->be->idx] != t->fe->idx ? &hr->be[t->be->idx] : NULL;
    bool res = server && (fx->res.n || (bx && bx->res.n));
    bool after = fx->after.n || (bx && bx->after.n);
    bool caps = server && fx->ncap_res;
    if (fx->caps && !t->caps)
        t->caps = calloc(1, fx->caps_size);
    if (!res && !after && !caps)
        return 0;
    struct run r;
    if (!run_init(&r, t))
        return 500;
    struct sp_hrun *w = t->hw->hr;
    sp__hmsg_from_h1_res(&w->hm, w->arena, (uint32_t)w->cap, buf, m);
    r.res = &w->hm;
    /* the request is gone by now: request fetches fail, as in HAProxy's response rules */
    r.env.method = "";
    r.env.uri = "";
    if (caps)
        cap_headers(&r, &w->hm, fx->ncap_req, fx->ncap_res);
    enum verdict v = V_CONT;
    if (res) {
        if (bx) {
            r.env.be_idx = t->be->idx;
            v = run_set(&r, &bx->res);
        }
        if (v == V_CONT) {
            r.env.be_idx = -1;
            v = run_set(&r, &fx->res);
        }
        if (v == V_REPLY)
            return SP_HRULES_REPLY; /* the after rules run on the answer (txn.c) */
        if (v == V_DENY) {
            sp_stat_add(&t->hw->st->fe[t->fe->idx].dresp, 1);
            if (t->be)
                sp_stat_add(&t->hw->st->be[t->be->idx].dresp, 1);
            return 502;
        }
        if (v == V_ERR)
            return 500;
    }
    v = V_CONT;
    if (bx)
        v = run_set(&r, &bx->after);
    if (v == V_CONT)
        v = run_set(&r, &fx->after);
    if (v == V_ERR || v == V_DENY)
        return 500;
    if (!r.edited)
        return 0;
    if (!sp__hmsg_valid(&w->hm))
        return 500; /* a rule made a field HTTP/1.1 cannot carry */
    /* written back with its parsed form made on the way: no second parse */
    long n = sp__hmsg_write_response_msg(&w->hm, w->out, w->cap, m, &w->msg);
    if (n < 0)
        return 500;
    *ret_m = &w->msg;
    *ret_buf = w->out;
    *ret_len = (size_t)n;
    return 0;
}

static int request_from(struct sp_txn *t, struct sp_conn *c, struct sp_hmsg *hm, int stage, int idx)
{
    int err = request_rules(t, c, hm, stage, idx);

    /* what goes to the server must still be one HTTP/1.1 request (not checked when the
     * request was answered: it goes nowhere) */
    if (!err && !t->local && !sp__hmsg_valid(hm))
        err = -EPROTO; /* answered 500, as a failed rewrite */
    return err;
}

/* span p of the old head moves with it */
static void rebase(struct sp_hspan *sp, const char *old, size_t len, const char *now)
{
    uintptr_t d = (uintptr_t)sp->p - (uintptr_t)old;

    if (sp->p && d < len)
        sp->p = now + d;
}

struct sp_hmsg *sp__hrules_resume(struct sp_txn *t, struct sp_conn *c, const char *base, size_t len,
                                  int *ret_err)
{
    struct sp_hpause *p = t->hpause;
    struct sp_hrun *w = ws(t->hw);

    if (!p || !w) {
        *ret_err = p ? -ENOMEM : -EPROTO;
        return NULL;
    }
    *ret_err = -EAGAIN;
    if (!body_ready(t, p->bytes))
        return NULL;
    /* the message comes back in the worker's scratch, at the same arena address */
    memcpy(w->arena, p->arena, p->alen);
    w->hm = p->hm;
    if (base && p->base && base != p->base) {
        struct sp_hmsg *hm = &w->hm;
        rebase(&hm->meth, p->base, len, base);
        rebase(&hm->uri, p->base, len, base);
        rebase(&hm->reason, p->base, len, base);
        for (uint32_t i = 0; i < hm->n; i++) {
            rebase(&hm->f[i].n, p->base, len, base);
            rebase(&hm->f[i].v, p->base, len, base);
        }
    }
    int stage = p->stage, idx = p->idx;
    t->hpause = NULL;
    free(p);
    *ret_err = request_from(t, c, &w->hm, stage, idx);
    if (*ret_err == -EAGAIN)
        t->hpause->base = base;
    return *ret_err ? NULL : &w->hm;
}

bool sp__hrules_ready(const struct sp_txn *t)
{
    return !t->hpause || body_ready(t, t->hpause->bytes);
}

uint64_t sp__hrules_wait_until(const struct sp_txn *t)
{
    return t->hpause ? t->hpause->until : 0;
}

int sp__hrules_request(struct sp_txn *t, struct sp_conn *c, struct sp_hmsg *hm)
{
    return request_from(t, c, hm, ST_START, 0);
}

struct sp_hmsg *sp__hrules_h1(struct sp_txn *t, struct sp_conn *c, const char *buf,
                              const struct sp_h1_msg *m, int *ret_err)
{
    struct sp_hrun *w = ws(t->hw);

    if (!w) {
        *ret_err = -ENOMEM;
        return NULL;
    }
    sp__hmsg_from_h1_req(&w->hm, w->arena, (uint32_t)w->cap, buf, m);
    *ret_err = sp__hrules_request(t, c, &w->hm);
    if (*ret_err == -EAGAIN)
        t->hpause->base = buf;
    return *ret_err ? NULL : &w->hm;
}

struct sp_hmsg *sp__hrules_h2(struct sp_txn *t, struct sp_conn *c, const struct sp_h2_req *r,
                              int *ret_err)
{
    struct sp_hrun *w = ws(t->hw);
    struct sp_h2_view v;
    int host_idx;

    if (!w) {
        *ret_err = -ENOMEM;
        return NULL;
    }
    if ((*ret_err = sp__h2_req_check(r, &host_idx)) < 0)
        return NULL;
    /* the view's strings (absolute URI, joined cookie) go first in the arena */
    struct sp_buf vb = {.data = w->arena, .size = (uint32_t)w->cap};
    if (sp__h2_view_init(&v, r, &vb) < 0) {
        *ret_err = -ENOSPC;
        return NULL;
    }
    sp__hmsg_from_h2_req(&w->hm, w->arena, (uint32_t)w->cap, r, &v);
    w->hm.arena_len = vb.tail;
    *ret_err = sp__hrules_request(t, c, &w->hm);
    return *ret_err ? NULL : &w->hm;
}
