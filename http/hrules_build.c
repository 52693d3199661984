/* http/hrules_build.c - see hrules.h: the rules compiled from the configuration (main). */
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
#include "http/http-int.h"
#include "http/httplog.h"
#include "http/normuri.h"
#include "http/hrule.h"
#include "http/hstick.h"

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

/* A sample expression at words[*i] into r->expr (set-var, set-dst, set-dst-port). */
static int take_expr(struct cctx *x, struct sp_hrule *r, char **w, int n, int *i)
{
    if (*i >= n || is_cond(w[*i]))
        return bad(x, "expects a sample expression");
    r->expr = sp_smp_compile(w[*i], strlen(w[*i]), &x->res, x->err, sizeof(x->err));
    if (!r->expr)
        return bad(x, "%s", x->err);
    ++*i;
    return 0;
}

/* `set-timeout server|tunnel TIME|EXPR` */
static int parse_set_timeout(struct cctx *x, struct sp_hrule *r, char **w, int n, int *i)
{
    r->act = A_SET_TIMEOUT;
    if (*i + 1 >= n || is_cond(w[*i + 1]))
        return bad(x, "expects 'server' or 'tunnel' and a time or a sample expression");
    if (!strcmp(w[*i], "tunnel"))
        return bad(x, "'set-timeout tunnel' is not supported by spillway: an HTTP proxy of "
                      "spillway's opens no tunnel (101 and CONNECT are refused)");
    if (strcmp(w[*i], "server"))
        return bad(x, "expects 'server' or 'tunnel', not '%s'", w[*i]);
    const char *v = w[*i + 1];
    if (v[0] >= '0' && v[0] <= '9') {
        if (sp_parse_time_ms(v, &r->tarpit_ms) < 0 || r->tarpit_ms <= 0)
            return bad(x, "invalid timeout '%s'", v);
    } else {
        r->expr = sp_smp_compile(v, strlen(v), &x->res, x->err, sizeof(x->err));
        if (!r->expr)
            return bad(x, "%s", x->err);
    }
    *i += 2;
    return 0;
}

/* `wait-for-body time <time> [at-least <bytes>]` (HAProxy 2.6 http_act.c) */
static int parse_wait_body(struct cctx *x, struct sp_hrule *r, char **w, int n, int *i,
                           bool response)
{
    if (response)
        return bad(x, "'http-response wait-for-body' is not supported by spillway: response "
                      "bodies stream to the client as they come, no rule reads them");
    r->act = A_WAIT_BODY;
    if (*i + 1 >= n || strcmp(w[*i], "time"))
        return bad(x, "expects 'time <time> [ at-least <bytes> ]'");
    if (sp_parse_time_ms(w[*i + 1], &r->tarpit_ms) < 0 || r->tarpit_ms < 0)
        return bad(x, "invalid time '%s'", w[*i + 1]);
    *i += 2;
    if (*i < n && !strcmp(w[*i], "at-least")) {
        if (*i + 1 >= n || sp_parse_size(w[*i + 1], &r->bytes) < 0)
            return bad(x, "'at-least' expects a size");
        *i += 2;
    }
    return 0;
}

/* HAProxy 2.6 actions spillway does not carry out yet: named, so the error says so */
/* clang-format off */
static const char *const unsupported[] = {
    "set-src",
    "set-src-port",
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
    "set-bandwidth-limit",
    "replace-value-fmt",
    "deny-on",
    "send-proxy",
};
/* clang-format on */

/* reject, set-src, set-src-port, set-mark, set-tos, early-hint, strict-mode,
 * disable-l7-retry, set-priority-class, set-priority-offset, and the reason set-nice is
 * refused. Returns 1 when `a` is none of them. */
static int compile_acts2(struct cctx *x, struct sp_hrule *r, char **w, int n, int *i, bool response,
                         bool after)
{
    const char *a = w[0];
    bool arg = *i < n && !is_cond(w[*i]);

    if (!strcmp(a, "reject") && !response) {
        r->act = A_REJECT;
    } else if ((!strcmp(a, "set-src") || !strcmp(a, "set-src-port")) && !response) {
        r->act = a[7] ? A_SET_SRC_PORT : A_SET_SRC;
        return take_expr(x, r, w, n, i);
    } else if ((!strcmp(a, "set-mark") || !strcmp(a, "set-tos")) && !after) {
        char *end;
        r->act = a[4] == 'm' ? A_SET_MARK : A_SET_TOS;
        if (!arg)
            return bad(x, "expects exactly 1 argument (integer/hex value)");
        errno = 0;
        long long v = strtoll(w[*i], &end, 0);
        if (*end || errno || v < 0 || v > (r->act == A_SET_TOS ? 255 : 0xffffffffLL))
            return bad(x, "invalid value '%s' (expects an integer/hex value%s)", w[*i],
                       r->act == A_SET_TOS ? " from 0 to 255" : "");
        r->status = (int)(uint32_t)v;
        ++*i;
    } else if (!strcmp(a, "early-hint") && !response) {
        r->act = A_EARLY_HINT;
        if (!arg || *i + 1 >= n || is_cond(w[*i + 1]))
            return bad(x, "expects exactly 2 arguments (a header name and a log-format value)");
        if (!(r->name = strdup(w[*i])))
            return -ENOMEM;
        r->nlen = strlen(r->name);
        for (size_t k = 0; k < r->nlen; k++)
            if ((unsigned char)r->name[k] <= ' ' || strchr("\"(),/:;<=>?@[\\]{}", r->name[k]))
                return bad(x, "'%s' is not a valid header name", r->name);
        int e = fmt_compile(x, w[*i + 1], &r->val);
        if (e < 0)
            return e;
        *i += 2;
    } else if (!strcmp(a, "strict-mode")) {
        r->act = A_STRICT_MODE;
        if (!arg || (strcmp(w[*i], "on") && strcmp(w[*i], "off")))
            return bad(x, "expects 'on' or 'off'");
        r->status = !strcmp(w[*i], "on");
        ++*i;
    } else if (!strcmp(a, "disable-l7-retry") && !response) {
        r->act = A_DISABLE_L7_RETRY;
    } else if (!strcmp(a, "set-nice") && !after) {
        return bad(x, "action 'set-nice' is not supported by spillway: a worker runs each "
                      "connection's events in the order they come, with no task scheduler "
                      "whose priority a request could change");
    } else if ((!strcmp(a, "set-priority-class") || !strcmp(a, "set-priority-offset")) &&
               !response) {
        r->act = a[13] == 'c' ? A_SET_PRIO_CLASS : A_SET_PRIO_OFFSET;
        return take_expr(x, r, w, n, i);
    } else if (response &&
               (!strcmp(a, "reject") || !strncmp(a, "set-src", 7) || !strcmp(a, "early-hint") ||
                !strcmp(a, "disable-l7-retry") || !strncmp(a, "set-priority-", 13))) {
        return bad(x, "action '%s' is an http-request action (HAProxy 2.6 has no %s form)", a,
                   after ? "http-after-response" : "http-response");
    } else if (after &&
               (!strcmp(a, "set-mark") || !strcmp(a, "set-tos") || !strcmp(a, "set-nice"))) {
        return bad(x, "action '%s' is not an http-after-response action in HAProxy 2.6", a);
    } else {
        return 1;
    }
    return 0;
}

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
    } else if (!strcmp(a, "return") && !after) {
        r->act = A_RETURN;
        r->status = 200;
        e = parse_reply(x, r, w, n, &i, true);
    } else if (!strcmp(a, "redirect") && !after) {
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
    } else if (!strncmp(a, "set-var(", 8) || !strncmp(a, "unset-var(", 10) ||
               !strncmp(a, "set-var-fmt(", 12)) {
        /* set-var-fmt(NAME) FMT: the variable gets the rendered log-format, a string */
        bool fmt = !strncmp(a, "set-var-fmt(", 12);
        r->act = a[0] == 's' ? A_SET_VAR : A_UNSET_VAR;
        const char *open = strchr(a, '('), *close = strrchr(a, ')');
        if (!close || close[1] || close == open + 1)
            return bad(x, "expects a variable name between parentheses");
        if (sp_var_ref_parse(open + 1, (size_t)(close - open - 1), &r->var, x->err,
                             sizeof(x->err)) < 0)
            return bad(x, "%s", x->err);
        if (r->act == A_SET_VAR && fmt) {
            if (i >= n || is_cond(w[i]))
                return bad(x, "expects a log-format string");
            int e = fmt_compile(x, w[i], &r->val);
            if (e < 0)
                return e;
            r->status = 1; /* the value is r->val, rendered */
            i++;
        } else if (r->act == A_SET_VAR) {
            e = take_expr(x, r, w, n, &i);
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
    } else if (!strcmp(a, "set-timeout") && !response) {
        e = parse_set_timeout(x, r, w, n, &i);
    } else if (!strcmp(a, "silent-drop") && !after) {
        r->act = A_SILENT_DROP;
    } else if (!strcmp(a, "set-log-level")) {
        static const char *const levels[] = {"emerg",   "alert",  "crit", "err",
                                             "warning", "notice", "info", "debug"};
        r->act = A_SET_LOG_LEVEL;
        r->status = -1;
        if (i < n && !strcmp(w[i], "silent"))
            r->status = -2;
        for (int k = 0; i < n && k < 8; k++)
            if (!strcmp(w[i], levels[k]))
                r->status = k;
        if (r->status == -1)
            return bad(x, "expects a log level (emerg, alert, crit, err, warning, notice, info, "
                          "debug or silent)");
        i++;
    } else if ((!strcmp(a, "set-dst") || !strcmp(a, "set-dst-port")) && !response) {
        r->act = a[7] ? A_SET_DST_PORT : A_SET_DST;
        e = take_expr(x, r, w, n, &i);
    } else if (!strcmp(a, "normalize-uri") && !response) {
        r->act = A_NORMALIZE_URI;
        if (i >= n || is_cond(w[i]))
            return bad(x, "expects a normalizer name");
        int k = sp__normuri_parse(w[i], i + 1 < n ? w[i + 1] : NULL);
        if (k < 0)
            return bad(x,
                       "unknown normalizer '%s' (expects fragment-encode, fragment-strip, "
                       "path-merge-slashes, path-strip-dot, path-strip-dotdot [full], "
                       "percent-decode-unreserved [strict], percent-to-uppercase [strict] or "
                       "query-sort-by-name)",
                       w[i]);
        r->status = k;
        i += (k & SP_NORMURI_OPT) ? 2 : 1;
    } else if ((!response || !after) && sp__hstick_is(a)) { /* http-response track-sc too */
        r->act = A_STICK;
        if (!(r->stk = sp__hstick_compile(&x->res, w, n, &i, x->err, sizeof(x->err))))
            return bad(x, "%s", x->err);
    } else if (!strcmp(a, "wait-for-body")) {
        e = parse_wait_body(x, r, w, n, &i, response);
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
    } else if ((e = compile_acts2(x, r, w, n, &i, response, after)) != 1) {
        /* reject, set-src, early-hint, strict-mode...: compile_acts2() */
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
        if (p->buffer_request && p->mode == SP_MODE_HTTP) {
            /* option http-buffer-request: the body is waited for where the rules run */
            h->any_req = true;
            if (fe && be)
                h->be_is_fe[be->idx] = fe->idx;
        }
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
    for (int i = 0; i < rt->nfe; i++) /* http tcp-request content: run with the request rules */
        h->any_req |= rt->fe[i]->ntcp_content && rt->fe[i]->mode == SP_MODE_HTTP;
    for (int i = 0; i < rt->nbe; i++)
        h->any_req |= rt->be[i]->ntcp_content && rt->be[i]->mode == SP_MODE_HTTP;
    int ue = sp__uid_build(cfg, rt, diag, h); /* unique-id-format: sets any_req */
    return ue < 0 ? ue : errors + ue;
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
    sp__uid_free(h);
    free(h);
    return NULL;
}
