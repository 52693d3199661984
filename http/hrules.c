/* http/hrules.c - see hrules.h. Compilation (main) first, then the run (workers). */
#include "http/hrules.h"

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/config.h"
#include "core/log.h"
#include "core/regexcost.h"
#include "core/util.h"
#include "http/hstick.h"
#include "http/http-int.h"
#include "http/httplog.h"

enum act {
    A_ALLOW,
    A_DENY,
    A_TARPIT,
    A_RETURN,
    A_REDIRECT,
    A_AUTH,
    A_USE_SERVICE,
    A_ADD_HDR,
    A_SET_HDR,
    A_DEL_HDR,
    A_REPLACE_HDR,
    A_REPLACE_VAL,
    A_SET_PATH,
    A_SET_PATHQ,
    A_SET_QUERY,
    A_SET_URI,
    A_SET_METHOD,
    A_REPLACE_PATH,
    A_REPLACE_PATHQ,
    A_REPLACE_URI,
    A_SET_VAR,
    A_UNSET_VAR,
    A_SET_STATUS,
    A_CAPTURE,
    A_STICK, /* track-sc*, sc-inc-gpc0/1, sc-set-gpt0: http/hstick.c */
};

/* del-header -m */
enum { DM_STR, DM_BEG, DM_END, DM_SUB, DM_REG };

/* redirect types */
enum { R_LOCATION, R_PREFIX, R_SCHEME };

/* A value HAProxy evaluates as log-format: kept as text when it has no '%' (no rendering). */
struct fmt {
    char *lit;
    size_t litlen;
    struct sp_logfmt *lf;
};

struct rhdr {
    char *name;
    struct fmt v;
};

struct sp_hrule {
    uint8_t act;
    int line;
    const char *file;
    struct sp_acl_cond *cond;
    /* header actions */
    char *name;
    size_t nlen;
    struct fmt val;
    regex_t re;
    bool has_re;
    uint8_t dm;
    /* variables */
    struct sp_smp_expr *expr;
    struct sp_var_ref var;
    /* status, replies */
    int status;
    char *reason;
    char *ctype;
    struct fmt body;
    bool body_set;
    struct rhdr *hdrs;
    int nhdrs;
    char *realm;
    int64_t tarpit_ms; /* tarpit: how long the request is held (timeout tarpit) */
    /* redirect */
    uint8_t rtype;
    bool drop_query, append_slash, ignore_empty;
    char *cookie;
    struct sp_hstick *stk; /* A_STICK (http/hstick.h) */
};

/* ---- compilation ---- */

struct cctx {
    const struct sp_cfg_proxy *p;
    const struct sp_cfg_rule *u;
    const struct sp_acl_set *acls;
    struct sp_acl_resolver res;
    FILE *diag;
    const char *kw;
    char err[512];
};

__attribute__((format(printf, 2, 3))) static int bad(struct cctx *x, const char *fmt, ...)
{
    char msg[600];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (x->diag) {
        char file[256], text[700];
        sp_log_escape(file, sizeof(file), x->u->where.file, strlen(x->u->where.file));
        sp_log_escape(text, sizeof(text), msg, strlen(msg));
        fprintf(x->diag, "[ALERT] %s:%d: '%s': %s\n", file, x->u->where.line, x->kw, text);
    }
    return -EINVAL;
}

static int fmt_compile(struct cctx *x, const char *text, struct fmt *f)
{
    f->lit = strdup(text);
    if (!f->lit)
        return -ENOMEM;
    f->litlen = strlen(text);
    if (!strchr(text, '%'))
        return 0;
    /* in the proxy's context (its stick-table for the sc and src fetches) */
    struct sp_acl_resolver lres = x->res;
    lres.what = SP_ACL_CTX_HTTP_RES;
    f->lf = sp_logfmt_compile_res(text, &lres, x->err, sizeof(x->err));
    if (!f->lf)
        return bad(x, "failed to parse log-format '%s': %s", text, x->err);
    return 0;
}

static void fmt_free(struct fmt *f)
{
    free(f->lit);
    sp_logfmt_free(f->lf);
}

static int re_compile(struct cctx *x, const char *pat, regex_t *re, bool icase)
{
    char why[160];

    if (sp_regex_cost(pat, SP_REGEX_MAX_COPIES, why, sizeof(why)) < 0)
        return bad(x, "regex '%s' is too complex: %s", pat, why);
    int rc = regcomp(re, pat, REG_EXTENDED | (icase ? REG_ICASE : 0));
    if (rc) {
        char e[160];
        regerror(rc, re, e, sizeof(e));
        return bad(x, "invalid regex '%s': %s", pat, e);
    }
    return 0;
}

static bool is_cond(const char *w)
{
    return !strcmp(w, "if") || !strcmp(w, "unless");
}

static int status_ok(int s, bool deny)
{
    return deny ? s >= 200 && s <= 599 : s >= 200 && s <= 599;
}

/* `[status N|deny_status N] [content-type T] [string S|lf-string F|file F|lf-file F|
 * errorfile F|default-errorfiles] [hdr NAME FMT]...` from words[*i]; stops at if/unless. */
static int parse_reply(struct cctx *x, struct sp_hrule *r, char **w, int n, int *i, bool is_return)
{
    while (*i < n && !is_cond(w[*i])) {
        const char *k = w[*i];
        const char *v = *i + 1 < n ? w[*i + 1] : NULL;
        if ((!strcmp(k, "status") && is_return) || (!strcmp(k, "deny_status") && !is_return)) {
            char *end;
            long s = v ? strtol(v, &end, 10) : 0;
            if (!v || *end || !status_ok((int)s, !is_return))
                return bad(x, "'%s' expects a status code between 200 and 599", k);
            r->status = (int)s;
        } else if (!strcmp(k, "content-type")) {
            if (!v)
                return bad(x, "'content-type' expects a type");
            free(r->ctype);
            if (!(r->ctype = strdup(v)))
                return -ENOMEM;
        } else if (!strcmp(k, "string") || !strcmp(k, "lf-string") || !strcmp(k, "file") ||
                   !strcmp(k, "lf-file") || !strcmp(k, "errorfile")) {
            if (!v)
                return bad(x, "'%s' expects an argument", k);
            if (r->body_set)
                return bad(x, "only one of 'string', 'lf-string', 'file', 'lf-file', "
                              "'errorfile' or 'default-errorfiles' may be given");
            r->body_set = true;
            if (!strcmp(k, "string")) {
                if (!(r->body.lit = strdup(v)))
                    return -ENOMEM;
                r->body.litlen = strlen(v);
            } else if (!strcmp(k, "lf-string")) {
                int e = fmt_compile(x, v, &r->body);
                if (e < 0)
                    return e;
            } else {
                /* file, lf-file, errorfile: read now (HAProxy reads them at start-up) */
                FILE *f = fopen(v, "rb");
                if (!f)
                    return bad(x, "'%s': cannot open '%s': %s", k, v, strerror(errno));
                char *buf = malloc(65536 + 1);
                size_t got = buf ? fread(buf, 1, 65536 + 1, f) : 0;
                fclose(f);
                if (!buf)
                    return -ENOMEM;
                if (got > 65536) {
                    free(buf);
                    return bad(x, "'%s': '%s' is larger than 64 KiB", k, v);
                }
                buf[got] = 0;
                if (!strcmp(k, "lf-file")) {
                    if (memchr(buf, 0, got)) {
                        free(buf);
                        return bad(x, "'lf-file': '%s' holds a NUL byte", v);
                    }
                    int e = fmt_compile(x, buf, &r->body);
                    free(buf);
                    if (e < 0)
                        return e;
                } else if (!strcmp(k, "errorfile")) {
                    /* a whole HTTP response: its head is ours to write; keep the body */
                    char *sep = strstr(buf, "\r\n\r\n");
                    size_t off = sep ? (size_t)(sep - buf) + 4 : got;
                    memmove(buf, buf + off, got - off);
                    r->body.lit = buf;
                    r->body.litlen = got - off;
                } else {
                    r->body.lit = buf;
                    r->body.litlen = got;
                }
            }
            if (!r->ctype && r->body.litlen && strcmp(k, "errorfile"))
                r->ctype = strdup("text/plain");
        } else if (!strcmp(k, "default-errorfiles")) {
            if (r->body_set)
                return bad(x, "only one of 'string', 'lf-string', 'file', 'lf-file', "
                              "'errorfile' or 'default-errorfiles' may be given");
            r->body_set = false;
            ++*i;
            continue;
        } else if (!strcmp(k, "hdr")) {
            if (*i + 2 >= n)
                return bad(x, "'hdr' expects a name and a value");
            struct rhdr *h = realloc(r->hdrs, sizeof(*h) * (size_t)(r->nhdrs + 1));
            if (!h)
                return -ENOMEM;
            r->hdrs = h;
            memset(&h[r->nhdrs], 0, sizeof(*h));
            if (!(h[r->nhdrs].name = strdup(w[*i + 1])))
                return -ENOMEM;
            r->nhdrs++;
            int e = fmt_compile(x, w[*i + 2], &h[r->nhdrs - 1].v);
            if (e < 0)
                return e;
            *i += 3;
            continue;
        } else if (!strcmp(k, "errorfiles")) {
            return bad(x, "'errorfiles' in a reply is not supported by spillway yet");
        } else {
            return bad(x,
                       "unexpected '%s' (expects 'status', 'content-type', 'string', "
                       "'lf-string', 'file', 'lf-file', 'errorfile', 'default-errorfiles' or "
                       "'hdr')",
                       k);
        }
        *i += 2;
    }
    if (r->ctype && !r->body_set)
        return bad(x, "'content-type' given without a body");
    return 0;
}

/* `redirect location|prefix|scheme VALUE [code N] [drop-query] [append-slash]
 * [ignore-empty] [set-cookie NAME[=VALUE]] [clear-cookie NAME[=]]` from words[*i] */
static int parse_redirect(struct cctx *x, struct sp_hrule *r, char **w, int n, int *i)
{
    bool have = false;

    r->status = 302;
    while (*i < n && !is_cond(w[*i])) {
        const char *k = w[*i], *v = *i + 1 < n ? w[*i + 1] : NULL;
        if (!strcmp(k, "location") || !strcmp(k, "prefix") || !strcmp(k, "scheme")) {
            if (!v)
                return bad(x, "'%s' expects an argument", k);
            r->rtype = k[0] == 'l' ? R_LOCATION : k[0] == 'p' ? R_PREFIX : R_SCHEME;
            fmt_free(&r->val);
            memset(&r->val, 0, sizeof(r->val));
            int e = fmt_compile(x, v, &r->val);
            if (e < 0)
                return e;
            have = true;
            *i += 2;
        } else if (!strcmp(k, "code")) {
            char *end;
            long c = v ? strtol(v, &end, 10) : 0;
            if (!v || *end || (c != 301 && c != 302 && c != 303 && c != 307 && c != 308))
                return bad(x, "'code' expects 301, 302, 303, 307 or 308");
            r->status = (int)c;
            *i += 2;
        } else if (!strcmp(k, "drop-query")) {
            r->drop_query = true;
            ++*i;
        } else if (!strcmp(k, "append-slash")) {
            r->append_slash = true;
            ++*i;
        } else if (!strcmp(k, "ignore-empty")) {
            r->ignore_empty = true;
            ++*i;
        } else if (!strcmp(k, "set-cookie") || !strcmp(k, "clear-cookie")) {
            if (!v)
                return bad(x, "'%s' expects a cookie", k);
            free(r->cookie);
            size_t l = strlen(v);
            r->cookie = malloc(l + 24);
            if (!r->cookie)
                return -ENOMEM;
            /* HAProxy's attributes (http_rules.c): a set cookie for the whole site, a clear
             * one expired at once */
            snprintf(r->cookie, l + 24, "%s%s", v,
                     k[0] == 's' ? "; path=/;" : "; path=/; Max-Age=0;");
            *i += 2;
        } else {
            return bad(x,
                       "expects 'code', 'prefix', 'location', 'scheme', 'set-cookie', "
                       "'clear-cookie', 'drop-query', 'ignore-empty' or 'append-slash' (was "
                       "'%s')",
                       k);
        }
    }
    if (!have)
        return bad(x, "expects a redirect type ('location', 'prefix' or 'scheme')");
    return 0;
}

/* HAProxy 2.6 actions spillway does not carry out yet: named, so the error says so */
/* clang-format off */
static const char *const unsupported[] = {
    "silent-drop",
    "set-log-level",
    "set-dst",
    "set-dst-port",
    "set-src",
    "set-src-port",
    "normalize-uri",
    "wait-for-body",
    "set-timeout",
    "sc-inc-gpc",
    "sc-set-gpt",
    "set-map",
    "del-map",
    "add-acl",
    "del-acl",
    "set-mark",
    "set-nice",
    "set-tos",
    "set-priority-class",
    "set-priority-offset",
    "early-hint",
    "do-resolve",
    "lua",
    "send-spoe-group",
    "cache-use",
    "cache-store",
    "strict-mode",
    "reject",
    "disable-l7-retry",
    "set-var-fmt",
    "set-bandwidth-limit",
    "replace-value-fmt",
    "deny-on",
    "send-proxy",
};
/* clang-format on */

/* words: ACTION [ARGS...] [if|unless COND...] */
static int compile_rule(struct cctx *x, struct sp_hrule *r, bool response, bool after)
{
    char **w = x->u->words;
    int n = x->u->nwords, i = 1;
    const char *a = w[0];
    int e = 0;

    r->line = x->u->where.line;
    r->file = x->u->where.file;
    if (!strcmp(a, "allow")) {
        r->act = A_ALLOW;
    } else if (!strcmp(a, "deny")) {
        r->act = A_DENY;
        r->status = response ? 502 : 403;
        e = parse_reply(x, r, w, n, &i, false);
    } else if (!strcmp(a, "tarpit") && !response) {
        r->act = A_TARPIT;
        r->status = 500;
        e = parse_reply(x, r, w, n, &i, false);
        /* HAProxy: the proxy's timeout tarpit, its timeout connect when unset */
        r->tarpit_ms = x->p->to.tarpit != SP_TIME_UNSET ? x->p->to.tarpit : x->p->to.connect;
        if (r->tarpit_ms == SP_TIME_UNSET)
            r->tarpit_ms = 0;
    } else if (!strcmp(a, "return")) {
        r->act = A_RETURN;
        r->status = 200;
        e = parse_reply(x, r, w, n, &i, true);
    } else if (!strcmp(a, "redirect")) {
        r->act = A_REDIRECT;
        e = parse_redirect(x, r, w, n, &i);
        if (!e && response && r->rtype != R_LOCATION)
            e = bad(x, "'redirect' in a response supports 'location' only");
    } else if (!strcmp(a, "auth") && !response) {
        r->act = A_AUTH;
        if (i < n && !strcmp(w[i], "realm")) {
            if (i + 1 >= n)
                return bad(x, "'realm' expects a name");
            if (!(r->realm = strdup(w[i + 1])))
                return -ENOMEM;
            i += 2;
        }
    } else if (!strcmp(a, "use-service") && !response) {
        r->act = A_USE_SERVICE;
        if (i >= n || strcmp(w[i], "prometheus-exporter"))
            return bad(x, "'use-service' supports 'prometheus-exporter' only");
        i++;
    } else if (!strcmp(a, "add-header") || !strcmp(a, "set-header")) {
        r->act = a[0] == 'a' ? A_ADD_HDR : A_SET_HDR;
        if (i + 1 >= n || is_cond(w[i]))
            return bad(x, "expects exactly 2 arguments");
        if (!(r->name = strdup(w[i])))
            return -ENOMEM;
        r->nlen = strlen(r->name);
        e = fmt_compile(x, w[i + 1], &r->val);
        i += 2;
    } else if (!strcmp(a, "del-header")) {
        r->act = A_DEL_HDR;
        if (i >= n || is_cond(w[i]))
            return bad(x, "expects at least 1 argument");
        if (!(r->name = strdup(w[i])))
            return -ENOMEM;
        r->nlen = strlen(r->name);
        i++;
        if (i < n && !strcmp(w[i], "-m")) {
            const char *m = i + 1 < n ? w[i + 1] : "";
            if (!strcmp(m, "str"))
                r->dm = DM_STR;
            else if (!strcmp(m, "beg"))
                r->dm = DM_BEG;
            else if (!strcmp(m, "end"))
                r->dm = DM_END;
            else if (!strcmp(m, "sub"))
                r->dm = DM_SUB;
            else if (!strcmp(m, "reg"))
                r->dm = DM_REG;
            else
                return bad(x,
                           "-m: unsupported matching method '%s' (expects str, beg, end, sub "
                           "or reg)",
                           m);
            i += 2;
            if (r->dm == DM_REG) {
                e = re_compile(x, r->name, &r->re, true);
                r->has_re = !e;
            }
        }
    } else if (!strcmp(a, "replace-header") || !strcmp(a, "replace-value")) {
        r->act = a[8] == 'h' ? A_REPLACE_HDR : A_REPLACE_VAL;
        if (i + 2 >= n || is_cond(w[i]) || is_cond(w[i + 1]))
            return bad(x, "expects exactly 3 arguments");
        if (!(r->name = strdup(w[i])))
            return -ENOMEM;
        r->nlen = strlen(r->name);
        e = re_compile(x, w[i + 1], &r->re, false);
        r->has_re = !e;
        if (!e)
            e = fmt_compile(x, w[i + 2], &r->val);
        i += 3;
    } else if (!response &&
               (!strcmp(a, "set-path") || !strcmp(a, "set-pathq") || !strcmp(a, "set-query") ||
                !strcmp(a, "set-uri") || !strcmp(a, "set-method"))) {
        r->act = !strcmp(a, "set-path")    ? A_SET_PATH
                 : !strcmp(a, "set-pathq") ? A_SET_PATHQ
                 : !strcmp(a, "set-query") ? A_SET_QUERY
                 : !strcmp(a, "set-uri")   ? A_SET_URI
                                           : A_SET_METHOD;
        if (i >= n || is_cond(w[i]))
            return bad(x, "expects exactly 1 argument");
        e = fmt_compile(x, w[i], &r->val);
        i++;
    } else if (!response && (!strcmp(a, "replace-path") || !strcmp(a, "replace-pathq") ||
                             !strcmp(a, "replace-uri"))) {
        r->act = !strcmp(a, "replace-path")    ? A_REPLACE_PATH
                 : !strcmp(a, "replace-pathq") ? A_REPLACE_PATHQ
                                               : A_REPLACE_URI;
        if (i + 1 >= n || is_cond(w[i]) || is_cond(w[i + 1]))
            return bad(x, "expects exactly 2 arguments");
        e = re_compile(x, w[i], &r->re, false);
        r->has_re = !e;
        if (!e)
            e = fmt_compile(x, w[i + 1], &r->val);
        i += 2;
    } else if (!strncmp(a, "set-var(", 8) || !strncmp(a, "unset-var(", 10)) {
        r->act = a[0] == 's' ? A_SET_VAR : A_UNSET_VAR;
        const char *open = strchr(a, '('), *close = strrchr(a, ')');
        if (!close || close[1] || close == open + 1)
            return bad(x, "expects a variable name between parentheses");
        if (sp_var_ref_parse(open + 1, (size_t)(close - open - 1), &r->var, x->err,
                             sizeof(x->err)) < 0)
            return bad(x, "%s", x->err);
        if (r->act == A_SET_VAR) {
            if (i >= n || is_cond(w[i]))
                return bad(x, "expects a sample expression");
            r->expr = sp_smp_compile(w[i], strlen(w[i]), &x->res, x->err, sizeof(x->err));
            if (!r->expr)
                return bad(x, "%s", x->err);
            i++;
        }
    } else if (!strcmp(a, "capture") && !after) {
        /* `capture SAMPLE id N` (a `len` form was given its slot by the parser) */
        r->act = A_CAPTURE;
        char *end;
        long id = i + 2 < n && !strcmp(w[i + 1], "id") ? strtol(w[i + 2], &end, 10) : -1;
        int ncap = response ? x->p->ncap_res : x->p->ncap_req;
        if (i + 2 >= n || strcmp(w[i + 1], "id") || *end || id < 0)
            return bad(x, "expects 'SAMPLE len LENGTH' or 'SAMPLE id ID'");
        if (id >= ncap)
            return bad(x, "capture id %ld: the frontend declares %d %s capture%s", id, ncap,
                       response ? "response" : "request", ncap == 1 ? "" : "s");
        r->status = (int)id;
        r->expr = sp_smp_compile(w[i], strlen(w[i]), &x->res, x->err, sizeof(x->err));
        if (!r->expr)
            return bad(x, "%s", x->err);
        i += 3;
    } else if (response && !strcmp(a, "set-status")) {
        r->act = A_SET_STATUS;
        char *end;
        long s = i < n ? strtol(w[i], &end, 10) : 0;
        if (i >= n || *end || s < 100 || s > 999)
            return bad(x, "expects an HTTP status code between 100 and 999");
        r->status = (int)s;
        i++;
        if (i + 1 < n && !strcmp(w[i], "reason")) {
            if (!(r->reason = strdup(w[i + 1])))
                return -ENOMEM;
            i += 2;
        }
    } else if (!response && sp__hstick_is(a)) {
        r->act = A_STICK;
        if (!(r->stk = sp__hstick_compile(&x->res, w, n, &i, x->err, sizeof(x->err))))
            return bad(x, "%s", x->err);
    } else {
        for (size_t k = 0; k < sizeof(unsupported) / sizeof(unsupported[0]); k++)
            if (!strcmp(a, unsupported[k]) ||
                (!strncmp(a, unsupported[k], strlen(unsupported[k])) &&
                 a[strlen(unsupported[k])] == '('))
                return bad(x, "action '%s' is not supported by spillway yet", a);
        return bad(x, "unknown or unsupported action '%s' in %s%s", a,
                   response ? (after ? "http-after-response" : "http-response") : "http-request",
                   " rules (not supported by spillway)");
    }
    if (e)
        return e;
    if (i < n) {
        if (!is_cond(w[i]))
            return bad(x,
                       "unexpected '%s' after the action's arguments (expects 'if' or "
                       "'unless')",
                       w[i]);
        r->cond = sp_acl_cond_parse(x->acls, &x->res, w + i, n - i, x->err, sizeof(x->err));
        if (!r->cond)
            return bad(x, "%s", x->err);
    }
    /* framing is spillway's: say it when a rule names it */
    if (r->name && x->diag &&
        (!strcasecmp(r->name, "content-length") || !strcasecmp(r->name, "transfer-encoding") ||
         !strcasecmp(r->name, "connection")))
        fprintf(x->diag,
                "[WARNING] %s:%d: '%s %s': spillway keeps the message framing it parsed: rules "
                "do not change '%s'\n",
                x->u->where.file, x->u->where.line, x->kw, a, r->name);
    return 0;
}

static void rule_free(struct sp_hrule *r)
{
    sp_acl_cond_free(r->cond);
    free(r->name);
    fmt_free(&r->val);
    if (r->has_re)
        regfree(&r->re);
    sp_smp_free(r->expr);
    sp__hstick_free(r->stk);
    free(r->reason);
    free(r->ctype);
    fmt_free(&r->body);
    for (int i = 0; i < r->nhdrs; i++) {
        free(r->hdrs[i].name);
        fmt_free(&r->hdrs[i].v);
    }
    free(r->hdrs);
    free(r->realm);
    free(r->cookie);
}

static void set_free(struct sp_hruleset *s)
{
    for (int i = 0; i < s->n; i++)
        rule_free(&s->r[i]);
    free(s->r);
    s->r = NULL;
    s->n = 0;
}

static int compile_set(struct cctx *x, const struct sp_cfg_rule *list, struct sp_hruleset *s,
                       const char *kw, bool response, bool after, bool redirect)
{
    int n = 0, errors = 0;

    for (const struct sp_cfg_rule *u = list; u; u = u->next)
        n++;
    if (!n)
        return 0;
    s->r = calloc((size_t)n, sizeof(*s->r));
    if (!s->r)
        return -ENOMEM;
    x->kw = kw;
    for (const struct sp_cfg_rule *u = list; u; u = u->next) {
        struct sp_hrule *r = &s->r[s->n];
        x->u = u;
        int e;
        if (redirect) {
            int i = 0;
            r->act = A_REDIRECT;
            r->line = u->where.line;
            r->file = u->where.file;
            e = parse_redirect(x, r, u->words, u->nwords, &i);
            if (!e && i < u->nwords) {
                r->cond = sp_acl_cond_parse(x->acls, &x->res, u->words + i, u->nwords - i, x->err,
                                            sizeof(x->err));
                if (!r->cond)
                    e = bad(x, "%s", x->err);
            }
        } else {
            e = compile_rule(x, r, response, after);
        }
        if (e == -ENOMEM) {
            rule_free(r);
            return -ENOMEM;
        }
        if (e) {
            rule_free(r);
            memset(r, 0, sizeof(*r));
            errors++;
            continue;
        }
        s->n++;
    }
    return errors;
}

static int compile_px(const struct sp_cfg_proxy *p, const struct sp_routing *rt, int fe, int be,
                      FILE *diag, struct sp_hrules_px *out)
{
    struct cctx x = {.p = p, .diag = diag};
    int errors = 0, e;

    x.acls = sp_routing_acls(rt, fe, be);
    sp_routing_resolver(rt, fe, be, SP_ACL_CTX_HTTP, &x.res);
    if ((e = compile_set(&x, p->http_req, &out->req, "http-request", false, false, false)) < 0)
        return e;
    errors += e;
    if ((e = compile_set(&x, p->redirects, &out->redir, "redirect", false, false, true)) < 0)
        return e;
    errors += e;
    sp_routing_resolver(rt, fe, be, SP_ACL_CTX_HTTP_RES, &x.res);
    if ((e = compile_set(&x, p->http_res, &out->res, "http-response", true, false, false)) < 0)
        return e;
    errors += e;
    if ((e = compile_set(&x, p->http_after, &out->after, "http-after-response", true, true,
                         false)) < 0)
        return e;
    return errors + e;
}

/* the capture slots of a frontend, request ones first, each kind in declaration order */
static int compile_caps(const struct sp_cfg_proxy *p, struct sp_hrules_px *px)
{
    int n = p->ncap_req + p->ncap_res, ireq = 0, ires = p->ncap_req;

    px->caps = calloc((size_t)n, sizeof(*px->caps));
    if (!px->caps)
        return -ENOMEM;
    px->ncap_req = p->ncap_req;
    px->ncap_res = p->ncap_res;
    px->caps_size = sizeof(char *) * (size_t)n;
    for (const struct sp_cfg_capture *c = p->captures; c; c = c->next) {
        struct sp_hcap *k = &px->caps[c->response ? ires++ : ireq++];
        k->len = c->len;
        k->off = px->caps_size;
        px->caps_size += (size_t)c->len + 1;
        if (c->name) {
            if (!(k->name = strdup(c->name)))
                return -ENOMEM;
            k->nlen = strlen(c->name);
        }
    }
    return 0;
}

static void px_free(struct sp_hrules_px *px)
{
    for (int i = 0; px->caps && i < px->ncap_req + px->ncap_res; i++)
        free(px->caps[i].name);
    free(px->caps);
    set_free(&px->req);
    set_free(&px->redir);
    set_free(&px->res);
    set_free(&px->after);
}

int sp__hrules_build(const struct sp_config *cfg, const struct sp_routing *rt, FILE *diag,
                     struct sp_hrules **ret)
{
    struct sp_hrules *h = calloc(1, sizeof(*h));
    int errors = 0;

    *ret = h;
    if (!h)
        return -ENOMEM;
    h->nfe = rt->nfe;
    h->nbe = rt->nbe;
    h->fe = calloc((size_t)(rt->nfe ? rt->nfe : 1), sizeof(*h->fe));
    h->be = calloc((size_t)(rt->nbe ? rt->nbe : 1), sizeof(*h->be));
    h->be_is_fe = calloc((size_t)(rt->nbe ? rt->nbe : 1), sizeof(int));
    if (!h->fe || !h->be || !h->be_is_fe)
        return -ENOMEM;
    for (int i = 0; i < rt->nbe; i++)
        h->be_is_fe[i] = -1;
    for (const struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        const struct sp_frontend *fe =
            (p->cap & SP_CAP_FE) ? sp_routing_frontend(rt, p->name) : NULL;
        const struct sp_backend *be = (p->cap & SP_CAP_BE) ? sp_routing_backend(rt, p->name) : NULL;
        if (!p->http_req && !p->http_res && !p->http_after && !p->redirects && !p->captures)
            continue;
        if (p->mode != SP_MODE_HTTP)
            continue; /* ignored with HAProxy's warning by the configuration check */
        if (fe && be)
            h->be_is_fe[be->idx] = fe->idx;
        int e = 0;
        if (fe && p->captures && (e = compile_caps(p, &h->fe[fe->idx])) < 0)
            return e;
        if (fe)
            e = compile_px(p, rt, fe->idx, be ? be->idx : -1, diag, &h->fe[fe->idx]);
        if (e >= 0 && be)
            e = compile_px(p, rt, fe ? fe->idx : -1, be->idx, fe ? NULL : diag, &h->be[be->idx]);
        if (e < 0)
            return e;
        errors += e;
    }
    for (int i = 0; i < h->nfe; i++) {
        h->any_req |= h->fe[i].req.n || h->fe[i].redir.n || h->fe[i].ncap_req;
        h->any_res |= h->fe[i].res.n || h->fe[i].after.n || h->fe[i].ncap_res;
    }
    for (int i = 0; i < h->nbe; i++) {
        h->any_req |= h->be[i].req.n || h->be[i].redir.n;
        h->any_res |= h->be[i].res.n || h->be[i].after.n;
    }
    return errors;
}

struct sp_hrules *sp__hrules_free(struct sp_hrules *h)
{
    if (!h)
        return NULL;
    for (int i = 0; h->fe && i < h->nfe; i++)
        px_free(&h->fe[i]);
    for (int i = 0; h->be && i < h->nbe; i++)
        px_free(&h->be[i]);
    free(h->fe);
    free(h->be);
    free(h->be_is_fe);
    free(h);
    return NULL;
}

/* ---- the run ---- */

enum verdict { V_CONT, V_STOP, V_DONE, V_ERR, V_DENY };

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
};

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
static size_t render(struct run *r, const struct fmt *f, char *out, size_t cap, const char **ret)
{
    if (!f->lf) {
        *ret = f->lit ? f->lit : "";
        return f->litlen;
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
        f->v.len = (uint32_t)o;
        r->edited = true;
    }
    return 0;
}

/* Builds a complete HTTP/1.1 answer and makes it the transaction's local answer. */
/* Makes resp[0..len) (malloc'd, taken) the transaction's local answer. */
static int settle(struct run *r, char *resp, size_t len, int status, char term0)
{
    struct sp_txn *t = r->t;

    free(t->lresp);
    t->lresp = resp;
    t->llen = len;
    t->local = SP_LOCAL_REPLY;
    t->status = status;
    t->term[0] = term0;
    t->term[1] = 'R';
    /* HAProxy answers a deny and closes (http_reply_and_close()); an HTTP/2 connection goes
     * on with its other streams */
    if (term0 == 'P' && status != 401 && !t->h2 && t->conn)
        t->conn->keepalive = false;
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
    long n = sp__errmsg_get(r->hw, status, &x, &msg);

    if (n < 0)
        return (int)n;
    char *resp = malloc((size_t)n + 1);
    if (!resp)
        return -ENOMEM;
    memcpy(resp, msg, (size_t)n);
    return settle(r, resp, (size_t)n, status, term0);
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
    return settle(r, resp, (size_t)n, status, term0);
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

/* Runs one rule set. */
static enum verdict run_set(struct run *r, const struct sp_hruleset *s)
{
    struct sp_hmsg *hm = r->res ? r->res : r->req;

    for (int i = 0; i < s->n; i++) {
        const struct sp_hrule *h = &s->r[i];
        env_req(r);
        env_res(r);
        if (h->cond && !sp_acl_cond_eval(h->cond, &r->env))
            continue;
        int e = 0;
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
            if (r->res)
                return V_DENY; /* not reached: refused in responses' compile? */
            e = reply(r, h, 'L');
            return e ? V_ERR : V_DONE;
        case A_REDIRECT: {
            bool skip;
            if (r->res)
                return V_DENY;
            e = redirect(r, h, &skip);
            if (skip)
                continue;
            return e ? V_ERR : V_DONE;
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
        case A_STICK:
            sp__hstick_run(h->stk, r->t, &r->env);
            continue;
        case A_SET_STATUS:
            hm->status = h->status;
            hm->reason.p = h->reason ? h->reason : sp__http_reason(h->status);
            hm->reason.len = (uint32_t)strlen(hm->reason.p);
            break;
        }
        if (e < 0 || hm->failed)
            return V_ERR;
        r->edited = true;
    }
    return V_CONT;
}

/* The variable stores a rule reads and writes: the connection's and the transaction's. */
static void vars_env(struct sp_txn *t, struct sp_acl_env *env)
{
    env->sess_vars = &t->conn->sess_vars;
    env->txn_vars = &t->vars;
}

/* What log-format values (%ci, %ft, %b, %H...) print while the rules run. */
static void log_rec(struct sp_txn *t, struct sp_log_rec *r)
{
    struct sp_conn *c = t->conn;

    sp_log_rec_init(r);
    r->ctx = &t->hw->logctx;
    r->cli = &c->peer;
    r->fe = &c->local;
    r->frontend = t->fe->name;
    r->backend = t->be ? t->be->name : NULL;
    r->accept_us = (int64_t)sp_wall_us(c->t_accept_us);
    r->request_us = (int64_t)sp_wall_us(t->t_req ? t->t_req : t->t_start);
    r->actconn = (unsigned)sp_gate_count_mt(t->hw->conf->global_gate);
    r->feconn = (unsigned)sp__fe_conn(t->hw, t->fe->idx);
    if (t->reqline) {
        r->method = t->reqline;
        r->method_len = t->reqline_mlen;
        r->target = t->reqline + t->reqline_mlen + 1;
        r->target_len = t->reqline_tlen;
    }
    r->version = t->h2 ? "HTTP/2.0" : (c->version == 10 ? "HTTP/1.0" : "HTTP/1.1");
    r->status = t->status ? t->status : -1;
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
    log_rec(t, &r->rec);
    r->rec.env = &r->env;
    return true;
}

int sp__hrules_request(struct sp_txn *t, struct sp_conn *c, struct sp_hmsg *hm)
{
    const struct sp_hrules *hr = t->hw->conf->hrules;
    const struct sp_hrules_px *fx = &hr->fe[c->fe->idx];
    struct run r;
    enum verdict v;

    if (!run_init(&r, t))
        return -ENOMEM;
    r.req = hm;
    env_req(&r);
    t->fe_conn_seen = -1;
    t->rule = -1;
    t->be = NULL;
    /* every transaction of a frontend with captures has its slots, as in HAProxy ("{|}"
     * when nothing was captured) */
    if (fx->caps && !t->caps)
        t->caps = calloc(1, fx->caps_size);
    if (fx->ncap_req)
        cap_headers(&r, hm, 0, fx->ncap_req);
    t->local = sp__route_monitor(c->fe, &r.env);
    if (t->local)
        return 0;
    v = run_set(&r, &fx->req);
    if (v == V_ERR)
        return -ENOSPC;
    if (v == V_DONE)
        return 0;
    env_req(&r);
    t->local = sp__route_services(c->fe, &r.env, fx->req.n == 0);
    if (t->local)
        return 0;
    v = run_set(&r, &fx->redir);
    if (v == V_ERR)
        return -ENOSPC;
    if (v == V_DONE)
        return 0;
    env_req(&r);
    sp__route_switch(t, c, &r.env);
    if (!t->be || hr->be_is_fe[t->be->idx] == c->fe->idx)
        return 0;
    const struct sp_hrules_px *bx = &hr->be[t->be->idx];
    r.env.be_idx = t->be->idx;
    v = run_set(&r, &bx->req);
    if (v == V_STOP || v == V_CONT)
        v = run_set(&r, &bx->redir);
    return v == V_ERR ? -ENOSPC : 0;
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
    long n = sp__hmsg_write_response(&w->hm, w->out, w->cap);
    if (n < 0)
        return 500;
    struct sp_h1_scan scan;
    sp_h1_scan_init(&scan);
    long pr = sp_h1_parse_response(w->out, (size_t)n, w->cap, t->meth, &scan, &w->msg);
    if (pr <= 0)
        return 500; /* a rule made a field HTTP/1 cannot carry */
    *ret_m = &w->msg;
    *ret_buf = w->out;
    *ret_len = (size_t)n;
    return 0;
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
