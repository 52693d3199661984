/* http/errors.c - the responses spillway produces itself, and the messages a configuration
 * puts in their place (errorfile, errorloc, errorfiles, http-error: core/cfgerrors.c).
 *
 * The built-in pages are immutable tables, safe from any thread. The configured messages are
 * set up on main (sp_http_errors_setup(), log-format bodies and header values compiled there)
 * into a table by frontend and backend index that the workers then only read. Choosing one is
 * HAProxy's http_error_message(): the backend's message once a backend was chosen, else the
 * frontend's, else the built-in page. A configuration without any such line leaves the table
 * NULL: its error path pays one test.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "http/http-int.h"

struct errpage {
    int status;
    const char *reason;
    const char *body;
};

/* the body is assembled by the compiler: no formatting in the error path */
#define PAGE(code, reason, text)                                                                   \
    {                                                                                              \
        code, reason, "<html><body><h1>" #code " " reason "</h1>\n" text "\n</body></html>\n"      \
    }

static const struct errpage pages[] = {
    PAGE(200, "OK", "Service ready."), /* monitor-uri's answer */
    PAGE(400, "Bad Request", "The request could not be understood."),
    PAGE(403, "Forbidden", "Access to this resource is denied."),
    PAGE(404, "Not Found", "The requested resource was not found."),
    PAGE(405, "Method Not Allowed", "This method is not allowed here."),
    PAGE(408, "Request Time-out", "The request took too long to arrive."),
    PAGE(413, "Payload Too Large", "The request body is too large."),
    PAGE(414, "URI Too Long", "The request line is too long."),
    PAGE(421, "Misdirected Request", "This request cannot be served on this connection."),
    PAGE(429, "Too Many Requests", "Too many requests."),
    PAGE(431, "Request Header Fields Too Large", "The request header fields are too large."),
    PAGE(500, "Internal Server Error", "An internal error occurred."),
    PAGE(501, "Not Implemented", "The request uses something this server does not implement."),
    PAGE(502, "Bad Gateway", "The server returned an invalid or incomplete response."),
    PAGE(503, "Service Unavailable", "No server is available to handle this request."),
    PAGE(504, "Gateway Time-out", "The server did not respond in time."),
};

static const struct errpage *find(int status)
{
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
        if (pages[i].status == status)
            return &pages[i];
    return NULL;
}

const char *sp__http_reason(int status)
{
    static const struct {
        int status;
        const char *reason;
    } others[] = {
        {100, "Continue"},
        {101, "Switching Protocols"},
        {102, "Processing"},
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {203, "Non-Authoritative Information"},
        {204, "No Content"},
        {205, "Reset Content"},
        {206, "Partial Content"},
        {207, "Multi-Status"},
        {210, "Content Different"},
        {226, "IM Used"},
        {300, "Multiple Choices"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {303, "See Other"},
        {304, "Not Modified"},
        {305, "Use Proxy"},
        {307, "Temporary Redirect"},
        {308, "Permanent Redirect"},
        {310, "Too many Redirects"},
        {401, "Unauthorized"},
        {402, "Payment Required"},
        {406, "Not Acceptable"},
        {407, "Proxy Authentication Required"},
        {409, "Conflict"},
        {410, "Gone"},
        {411, "Length Required"},
        {412, "Precondition Failed"},
        {415, "Unsupported Media Type"},
        {416, "Range Not Satisfiable"},
        {417, "Expectation Failed"},
        /* the rest of HAProxy 2.6's http_get_reason() (a `return status N` may name any) */
        {418, "I'm a teapot"},
        {422, "Unprocessable Content"},
        {423, "Locked"},
        {424, "Method failure"},
        {425, "Too Early"},
        {426, "Upgrade Required"},
        {428, "Precondition Required"},
        {449, "Retry With"},
        {450, "Blocked by Windows Parental Controls"},
        {451, "Unavailable For Legal Reasons"},
        {456, "Unrecoverable Error"},
        {499, "client has closed connection"},
        {505, "HTTP Version not supported"},
        {506, "Variant also negotiate"},
        {507, "Insufficient storage"},
        {508, "Loop detected"},
        {509, "Bandwidth Limit Exceeded"},
        {510, "Not extended"},
        {511, "Network authentication required"},
        {520, "Web server is returning an unknown error"},
    };
    const struct errpage *p = find(status);

    if (p)
        return p->reason;
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (others[i].status == status)
            return others[i].reason;
    return "Unknown";
}

const char *sp__http_error_body(int status, size_t *ret_len)
{
    const struct errpage *p = find(status);

    if (!p)
        p = find(500);
    *ret_len = strlen(p->body);
    return p->body;
}

/* ---- configured messages ---- */

/* shared: immutable once workers run. One configured message, ready to send. */
struct errmsg {
    const struct sp_cfg_reply *r;
    const char *raw; /* a whole response (RAW, or BUILT without anything to render) */
    size_t rawlen;
    char *own;               /* ...when built here */
    struct sp_logfmt *body;  /* BUILT with a log-format body */
    struct sp_logfmt **hdrs; /* BUILT: each hdr value's format */
    int nhdrs;
    bool builtin; /* default-errorfiles */
};

/* shared: immutable once workers run */
struct sp_http_errs {
    struct errmsg *msgs; /* by reply idx */
    int nmsgs;
    const struct errmsg **fe, **be; /* [idx * SP_CFG_NERR + code index], NULL: none */
    int nfe, nbe;
};

/* The head of a BUILT message, its body (rendered or static) and its fields. */
static size_t put_head(char *out, size_t cap, const struct sp_cfg_reply *r, size_t blen)
{
    int n = snprintf(out, cap, "HTTP/1.1 %d %s\r\ncontent-length: %zu\r\n", r->status,
                     sp__http_reason(r->status), blen);
    if (n < 0 || (size_t)n >= cap)
        return cap;
    if (blen && r->ctype) {
        int k = snprintf(out + n, cap - (size_t)n, "content-type: %s\r\n", r->ctype);
        if (k < 0 || (size_t)k >= cap - (size_t)n)
            return cap;
        n += k;
    }
    return (size_t)n;
}

static int build_static(struct errmsg *m, char *err, size_t errlen)
{
    const struct sp_cfg_reply *r = m->r;
    size_t cap = r->bodylen + 512 + strlen(r->ctype ? r->ctype : "");

    m->own = malloc(cap);
    if (!m->own)
        return -ENOMEM;
    size_t n = put_head(m->own, cap, r, r->bodylen);
    if (n + 2 + r->bodylen > cap) {
        snprintf(err, errlen, "message too large");
        return -EINVAL;
    }
    memcpy(m->own + n, "\r\n", 2);
    memcpy(m->own + n + 2, r->body, r->bodylen);
    m->raw = m->own;
    m->rawlen = n + 2 + r->bodylen;
    return 0;
}

/* Compiles one message; 0, -EINVAL with the reason in err, or -ENOMEM. */
static int msg_setup(struct errmsg *m, const struct sp_cfg_reply *r, char *err, size_t errlen)
{
    m->r = r;
    if (r->type == SP_CFG_REPLY_DEFAULT) {
        m->builtin = true;
        return 0;
    }
    if (r->type == SP_CFG_REPLY_RAW) {
        m->raw = r->raw;
        m->rawlen = r->rawlen;
        if (!r->rawlen)
            return 0;
        /* the HTTP layer's own parser must take it as the loader's check did */
        struct sp_h1_msg *hm = malloc(sizeof(*hm));
        struct sp_h1_scan scan;
        if (!hm)
            return -ENOMEM;
        sp_h1_scan_init(&scan);
        long h = sp_h1_parse_response(r->raw, r->rawlen, r->rawlen, SP_METH_GET, &scan, hm);
        free(hm);
        if (h <= 0) {
            snprintf(err, errlen, "the message does not parse as an HTTP/1.x response");
            return -EINVAL;
        }
        return 0;
    }
    if (r->body_lf) {
        m->body = sp_logfmt_compile(r->body, err, errlen);
        if (!m->body)
            return -EINVAL;
    }
    if (r->nhdrs) {
        m->hdrs = calloc((size_t)r->nhdrs, sizeof(*m->hdrs));
        if (!m->hdrs)
            return -ENOMEM;
        m->nhdrs = r->nhdrs;
        for (int i = 0; i < r->nhdrs; i++) {
            char e[200];
            m->hdrs[i] = sp_logfmt_compile(r->hdr_fmts[i], e, sizeof(e));
            if (!m->hdrs[i]) {
                snprintf(err, errlen, "hdr '%s': %s", r->hdr_names[i], e);
                return -EINVAL;
            }
        }
    }
    if (!r->body_lf && !r->nhdrs)
        return build_static(m, err, errlen);
    return 0;
}

static void msg_free(struct errmsg *m)
{
    free(m->own);
    sp_logfmt_free(m->body);
    for (int i = 0; m->hdrs && i < m->nhdrs; i++)
        sp_logfmt_free(m->hdrs[i]);
    free(m->hdrs);
}

static struct sp_backend *find_be(const struct sp_routing *rt, const char *name)
{
    for (int i = 0; i < rt->nbe; i++)
        if (!strcmp(rt->be[i]->name, name))
            return rt->be[i];
    return NULL;
}

int sp_http_errors_setup(const struct sp_config *cfg, const struct sp_routing *rt,
                         struct sp_http_conf *http)
{
    struct sp_http_errs *e;
    int errors = 0;

    http->errs = NULL;
    if (!cfg->nreplies)
        return 0;
    e = calloc(1, sizeof(*e));
    if (!e)
        return -ENOMEM;
    http->errs = e;
    e->nfe = rt->nfe;
    e->nbe = rt->nbe;
    e->msgs = calloc((size_t)cfg->nreplies, sizeof(*e->msgs));
    e->fe = calloc((size_t)(rt->nfe ? rt->nfe : 1) * SP_CFG_NERR, sizeof(*e->fe));
    e->be = calloc((size_t)(rt->nbe ? rt->nbe : 1) * SP_CFG_NERR, sizeof(*e->be));
    if (!e->msgs || !e->fe || !e->be)
        return -ENOMEM;
    e->nmsgs = cfg->nreplies;
    for (const struct sp_cfg_reply *r = cfg->replies; r; r = r->next) {
        char err[256];
        int rc = msg_setup(&e->msgs[r->idx], r, err, sizeof(err));
        if (rc == -ENOMEM)
            return rc;
        if (rc < 0) {
            sp_log(SP_LOG_ALERT, "%s:%d: '%s': %s", r->where.file, r->where.line,
                   r->kw ? r->kw : "http-error", err);
            errors++;
        }
    }
    for (const struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        const struct sp_frontend *fe =
            (p->cap & SP_CAP_FE) ? sp_routing_frontend(rt, p->name) : NULL;
        const struct sp_backend *be = (p->cap & SP_CAP_BE) ? find_be(rt, p->name) : NULL;
        for (int i = 0; i < SP_CFG_NERR; i++) {
            const struct errmsg *m = p->replies[i] ? &e->msgs[p->replies[i]->idx] : NULL;
            if (fe)
                e->fe[fe->idx * SP_CFG_NERR + i] = m;
            if (be)
                e->be[be->idx * SP_CFG_NERR + i] = m;
        }
    }
    return errors;
}

void sp_http_errors_free(struct sp_http_conf *http)
{
    struct sp_http_errs *e = http->errs;

    if (!e)
        return;
    for (int i = 0; e->msgs && i < e->nmsgs; i++)
        if (e->msgs[i].r)
            msg_free(&e->msgs[i]);
    free(e->msgs);
    free(e->fe);
    free(e->be);
    free(e);
    http->errs = NULL;
}

/* A log-format rendered for the response being made: what the client side and the
 * transaction know at this point. */
static size_t render(struct sp_http_worker *hw, const struct sp_logfmt *f,
                     const struct sp__reply_ctx *x, int status, char *out, size_t cap)
{
    struct sp_log_rec r;

    sp_log_rec_init(&r);
    r.ctx = &hw->logctx;
    r.frontend = x->fe->name;
    r.backend = x->be ? x->be->name : NULL;
    r.status = status;
    if (x->c) {
        r.cli = &x->c->peer;
        r.fe = &x->c->local;
        r.accept_us = (int64_t)sp_wall_us(x->c->t_accept_us);
    }
    if (x->t) {
        const struct sp_txn *t = x->t;
        if (t->src) /* http-request set-src */
            r.cli = t->src;
        r.server = t->srv ? t->srv->name : NULL;
        r.bytes_in = t->bytes_in;
        r.retries = (unsigned)t->retries;
        if (t->reqline) {
            r.method = t->reqline;
            r.method_len = t->reqline_mlen;
            r.target = t->reqline + t->reqline_mlen + 1;
            r.target_len = t->reqline_tlen;
            r.version = t->h2 ? "HTTP/2.0" : "HTTP/1.1";
        }
    }
    return sp_logfmt_render(f, &r, out, cap);
}

/* Renders a BUILT message with something to render into hw->rbuf. */
static long build(struct sp_http_worker *hw, const struct errmsg *m, const struct sp__reply_ctx *x,
                  int status, const char **ret)
{
    size_t cap = (size_t)hw->conf->bufsize;
    const struct sp_cfg_reply *r = m->r;

    if (!hw->rbuf && !(hw->rbuf = malloc(2 * cap)))
        return -ENOMEM;
    char *head = hw->rbuf, *body = hw->rbuf + cap;
    size_t blen = r->bodylen;
    if (m->body)
        blen = render(hw, m->body, x, status, body, cap);
    else if (blen)
        memcpy(body, r->body, blen);
    size_t n = put_head(head, cap, r, blen);
    for (int i = 0; i < r->nhdrs && n < cap; i++) {
        char v[2048];
        size_t vl = render(hw, m->hdrs[i], x, status, v, sizeof(v));
        size_t nl = strlen(r->hdr_names[i]);
        if (!vl) /* an empty value adds no field, as HAProxy */
            continue;
        if (n + nl + vl + 4 > cap) {
            n = cap;
            break;
        }
        memcpy(head + n, r->hdr_names[i], nl);
        memcpy(head + n + nl, ": ", 2);
        memcpy(head + n + nl + 2, v, vl);
        memcpy(head + n + nl + 2 + vl, "\r\n", 2);
        n += nl + vl + 4;
    }
    if (n + 2 + blen > 2 * cap)
        return -ENOSPC;
    memcpy(head + n, "\r\n", 2);
    memmove(head + n + 2, body, blen);
    *ret = head;
    return (long)(n + 2 + blen);
}

/* The built-in pages as whole responses, built once (any thread, pthread_once) and
 * immutable afterwards: the common case, no errorfile, costs no copy and no allocation. */
#define NPAGES (sizeof(pages) / sizeof(pages[0]))
static char page_raw[NPAGES][512];
static size_t page_len[NPAGES];
static pthread_once_t pages_once = PTHREAD_ONCE_INIT;

static int page_fmt(char *out, size_t cap, int status, const char *body, size_t blen)
{
    return snprintf(out, cap,
                    "HTTP/1.1 %d %s\r\nContent-Length: %zu\r\nCache-Control: no-cache\r\n"
                    "Content-Type: text/html\r\n\r\n%s",
                    status, sp__http_reason(status), blen, body);
}

static void pages_build(void)
{
    for (size_t i = 0; i < NPAGES; i++) {
        int n = page_fmt(page_raw[i], sizeof(page_raw[i]), pages[i].status, pages[i].body,
                         strlen(pages[i].body));
        page_len[i] = n > 0 && (size_t)n < sizeof(page_raw[i]) ? (size_t)n : 0;
    }
}

/* spillway's built-in page for `status`: the immutable one, or (a status without a page of
 * its own, given 500's text) built into hw->rbuf. */
static long builtin(struct sp_http_worker *hw, int status, const char **ret, bool *ret_static)
{
    size_t cap = (size_t)hw->conf->bufsize, blen;

    pthread_once(&pages_once, pages_build);
    for (size_t i = 0; i < NPAGES; i++)
        if (pages[i].status == status && page_len[i]) {
            *ret = page_raw[i];
            *ret_static = true;
            return (long)page_len[i];
        }
    const char *body = sp__http_error_body(status, &blen);
    if (!hw->rbuf && !(hw->rbuf = malloc(2 * cap)))
        return -ENOMEM;
    int n = page_fmt(hw->rbuf, cap, status, body, blen);
    if (n < 0 || (size_t)n >= cap)
        return -ENOSPC;
    *ret = hw->rbuf;
    return n;
}

long sp__errmsg_get(struct sp_http_worker *hw, int status, const struct sp__reply_ctx *x,
                    const char **ret, bool *ret_static)
{
    bool dummy;
    const struct sp_http_errs *e = hw->conf->errs;
    int i = sp_cfg_err_idx(status);
    const struct errmsg *m = NULL;

    if (e && i >= 0) {
        if (x->be && x->be->idx < e->nbe)
            m = e->be[x->be->idx * SP_CFG_NERR + i];
        if (!m && x->fe->idx < e->nfe)
            m = e->fe[x->fe->idx * SP_CFG_NERR + i];
    }
    if (!ret_static)
        ret_static = &dummy;
    *ret_static = false;
    if (!m || m->builtin)
        return builtin(hw, status, ret, ret_static);
    if (m->raw) {
        /* the configuration's bytes (or ours, built at set-up): they outlive the workers */
        *ret = m->raw;
        *ret_static = true;
        return (long)m->rawlen;
    }
    return build(hw, m, x, status, ret);
}
