/* balance/acl-fetch.c - ACL criteria (fetch keywords, their arguments and variants) and the
 * evaluation of a compiled expression against a request; balance/acl.c compiles the flags and
 * patterns.
 *
 * Evaluation allocates nothing. A fetch yields one value (load, path, src...) or several (each
 * comma-separated value of each occurrence of a header, each cookie or URL parameter of that
 * name); the expression is true when one value matches one pattern, and false when the fetch
 * yields nothing (HAProxy's failed sample). Conversions a match method needs (an integer or an
 * address as text, text as an address) use small buffers on the evaluating thread's stack. */
#include "balance/acl-int.h"
#include "balance/sample-int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum fetch {
    F_TRUE,
    F_FALSE,
    F_LOAD,
    F_PATH,
    F_URL,
    F_BASE,
    F_QUERY,
    F_URLP,
    F_HDR,
    F_FHDR,
    F_HDR_CNT,
    F_FHDR_CNT,
    F_METHOD,
    F_VER,
    F_COOK,
    F_SRC,
    F_DST,
    F_SRC_PORT,
    F_DST_PORT,
    F_PROTO_HTTP,
    F_REQ_LEN,
    F_PAYLOAD,
    F_SSL_SNI,
    F_SSL_HELLO,
    /* sample fetches (also usable as ACL criteria) */
    F_STR,
    F_INT,
    F_BOOL,
    F_VAR,
    F_HDR_NAMES,
    F_URL_IP,
    F_URL_PORT,
    F_PATHQ,
    /* the response (http-response rules only) */
    F_STATUS,
    F_RES_HDR,
    F_RES_FHDR,
    F_RES_HDR_CNT,
    F_RES_FHDR_CNT,
    F_RES_HDR_NAMES,
    F_RES_VER,
    F_RES_LEN,     /* res.len */
    F_RES_PAYLOAD, /* res.payload(off,len) */
    F_STK,         /* stick tables: sc_*, scN_*, src_*, table_* (stkfetch.c) */
};

/* Whether a fetch reads the request view that env->prepare() may fill late. */
static inline bool reads_req(int f)
{
    return (f >= F_PATH && f < F_REQ_LEN) || (f >= F_HDR_NAMES && f <= F_PATHQ);
}

/* What a fetch reads: the connection and the process (usable anywhere), the raw request bytes
 * (HAProxy's L6REQ: tcp frontends), or the HTTP request (L7). */
static int fetch_layer(int f)
{
    switch (f) {
    case F_REQ_LEN:
    case F_PAYLOAD:
    case F_SSL_SNI:
    case F_SSL_HELLO:
        return 6;
    case F_RES_LEN:
    case F_RES_PAYLOAD:
        return 9; /* HAProxy's L6RES */
    case F_PATH:
    case F_URL:
    case F_BASE:
    case F_QUERY:
    case F_URLP:
    case F_HDR:
    case F_FHDR:
    case F_HDR_CNT:
    case F_FHDR_CNT:
    case F_METHOD:
    case F_VER:
    case F_COOK:
    case F_PROTO_HTTP:
    case F_HDR_NAMES:
    case F_URL_IP:
    case F_URL_PORT:
    case F_PATHQ:
        return 7;
    case F_STATUS:
    case F_RES_HDR:
    case F_RES_FHDR:
    case F_RES_HDR_CNT:
    case F_RES_FHDR_CNT:
    case F_RES_HDR_NAMES:
    case F_RES_VER:
        return 8;
    default:
        return 4;
    }
}

int sp__acl_expr_allowed(const struct sp__acl_expr *e, enum sp_acl_ctx what, const char *kw,
                         char *err, size_t errlen)
{
    int layer = fetch_layer(e->fetch);

    if (layer == 8 && what != SP_ACL_CTX_ANY && what != SP_ACL_CTX_HTTP_RES)
        return sp__acl_fail(err, errlen,
                            "'%s': fetch method '%s' extracts information from 'HTTP response "
                            "headers', none of which is available here",
                            kw, e->kw);
    if (layer == 9 && what != SP_ACL_CTX_ANY && what != SP_ACL_CTX_TCP_RES)
        return sp__acl_fail(err, errlen,
                            "'%s' uses fetch '%s', which extracts information from 'response "
                            "buffer contents', only available to 'tcp-response content' rules",
                            kw, e->kw);
    if (what == SP_ACL_CTX_TCP_RES && layer >= 6 && layer <= 8)
        return sp__acl_fail(err, errlen,
                            "'%s' uses fetch '%s', which reads the request, none of which is "
                            "available to a 'tcp-response content' rule",
                            kw, e->kw);
    if ((layer == 7 || layer == 8) && (what == SP_ACL_CTX_TCP || what == SP_ACL_CTX_CONN))
        return sp__acl_fail(err, errlen,
                            "'%s' uses fetch '%s', which reads an HTTP request: %s (HTTP fetches "
                            "outside mode http are not supported by spillway)",
                            kw, e->kw,
                            what == SP_ACL_CTX_CONN ? "a connection rule runs before any byte"
                                                    : "a tcp frontend does not parse HTTP");
    if (layer == 6 && (what == SP_ACL_CTX_HTTP || what == SP_ACL_CTX_HTTP_RES))
        return sp__acl_fail(err, errlen,
                            "'%s' uses fetch '%s', which reads the raw request bytes, which an "
                            "http frontend's rules do not see (not supported by spillway in mode "
                            "http)",
                            kw, e->kw);
    if (layer == 6 && what == SP_ACL_CTX_CONN)
        return sp__acl_fail(err, errlen,
                            "'%s' uses fetch '%s', which extracts information from 'request "
                            "buffer contents', none of which is available to a 'tcp-request "
                            "connection' or 'tcp-request session' rule",
                            kw, e->kw);
    return 0;
}

/* What a fetch takes between its parentheses. */
enum argk {
    A_NONE,
    A_FE,      /* [frontend] */
    A_BE,      /* [backend] */
    A_SRV,     /* backend/server */
    A_HDR,     /* name[,occurrence] */
    A_HDR_OPT, /* [name] */
    A_PARAM,   /* name[,delimiter] */
    A_COOK,    /* name */
    A_PAYLOAD, /* offset,length */
    A_STR,     /* string (str) */
    A_INT,     /* integer (int) */
    A_BOOL,    /* true|false|1|0 (bool) */
    A_VAR,     /* SCOPE.NAME[,default] */
    A_DELIM,   /* [delimiter] (hdr_names) */
};

struct kw {
    const char *name;
    uint8_t fetch, out, argk, load;
    bool variants; /* NAME_beg, NAME_end, ... exist */
};

static const struct kw kws[] = {
    {"always_true", F_TRUE, SP__ACL_T_BOOL, A_NONE, 0, false},
    {"always_false", F_FALSE, SP__ACL_T_BOOL, A_NONE, 0, false},
    /* an http frontend's requests are HTTP by definition; a tcp one cannot use it */
    {"req.proto_http", F_PROTO_HTTP, SP__ACL_T_BOOL, A_NONE, 0, false},
    {"fe_conn", F_LOAD, SP__ACL_T_INT, A_FE, SP_LOAD_FE_CONN, false},
    {"be_conn", F_LOAD, SP__ACL_T_INT, A_BE, SP_LOAD_BE_CONN, false},
    {"be_conn_free", F_LOAD, SP__ACL_T_INT, A_BE, SP_LOAD_BE_CONN_FREE, false},
    {"nbsrv", F_LOAD, SP__ACL_T_INT, A_BE, SP_LOAD_NBSRV, false},
    {"connslots", F_LOAD, SP__ACL_T_INT, A_BE, SP_LOAD_CONNSLOTS, false},
    {"queue", F_LOAD, SP__ACL_T_INT, A_BE, SP_LOAD_QUEUE, false},
    {"avg_queue", F_LOAD, SP__ACL_T_INT, A_BE, SP_LOAD_AVG_QUEUE, false},
    {"fe_req_rate", F_LOAD, SP__ACL_T_INT, A_FE, SP_LOAD_FE_REQ_RATE, false},
    {"fe_sess_rate", F_LOAD, SP__ACL_T_INT, A_FE, SP_LOAD_FE_SESS_RATE, false},
    {"be_sess_rate", F_LOAD, SP__ACL_T_INT, A_BE, SP_LOAD_BE_SESS_RATE, false},
    {"srv_is_up", F_LOAD, SP__ACL_T_BOOL, A_SRV, SP_LOAD_SRV_IS_UP, false},
    {"act_conn", F_LOAD, SP__ACL_T_INT, A_NONE, SP_LOAD_ACT_CONN, false},
    {"path", F_PATH, SP__ACL_T_STR, A_NONE, 0, true},
    {"url", F_URL, SP__ACL_T_STR, A_NONE, 0, true},
    {"base", F_BASE, SP__ACL_T_STR, A_NONE, 0, true},
    {"query", F_QUERY, SP__ACL_T_STR, A_NONE, 0, false},
    {"url_param", F_URLP, SP__ACL_T_STR, A_PARAM, 0, false},
    {"urlp", F_URLP, SP__ACL_T_STR, A_PARAM, 0, true},
    {"hdr", F_HDR, SP__ACL_T_STR, A_HDR, 0, true},
    {"req.hdr", F_HDR, SP__ACL_T_STR, A_HDR, 0, false},
    {"req.fhdr", F_FHDR, SP__ACL_T_STR, A_HDR, 0, false},
    {"hdr_cnt", F_HDR_CNT, SP__ACL_T_INT, A_HDR_OPT, 0, false},
    {"req.hdr_cnt", F_HDR_CNT, SP__ACL_T_INT, A_HDR_OPT, 0, false},
    {"req.fhdr_cnt", F_FHDR_CNT, SP__ACL_T_INT, A_HDR_OPT, 0, false},
    {"method", F_METHOD, SP__ACL_T_STR, A_NONE, 0, false},
    {"req.ver", F_VER, SP__ACL_T_STR, A_NONE, 0, false},
    {"req_ver", F_VER, SP__ACL_T_STR, A_NONE, 0, false},
    {"req.cook", F_COOK, SP__ACL_T_STR, A_COOK, 0, false},
    {"cook", F_COOK, SP__ACL_T_STR, A_COOK, 0, true},
    {"src", F_SRC, SP__ACL_T_IP, A_NONE, 0, false},
    {"dst", F_DST, SP__ACL_T_IP, A_NONE, 0, false},
    {"src_port", F_SRC_PORT, SP__ACL_T_INT, A_NONE, 0, false},
    {"dst_port", F_DST_PORT, SP__ACL_T_INT, A_NONE, 0, false},
    /* the request bytes (tcp frontends): HAProxy 2.6's src/payload.c */
    {"req.len", F_REQ_LEN, SP__ACL_T_INT, A_NONE, 0, false},
    {"req_len", F_REQ_LEN, SP__ACL_T_INT, A_NONE, 0, false},
    {"req.payload", F_PAYLOAD, SP__ACL_T_BIN, A_PAYLOAD, 0, false},
    {"payload", F_PAYLOAD, SP__ACL_T_BIN, A_PAYLOAD, 0, false},
    {"req.ssl_sni", F_SSL_SNI, SP__ACL_T_STR, A_NONE, 0, false},
    {"req_ssl_sni", F_SSL_SNI, SP__ACL_T_STR, A_NONE, 0, false},
    {"req.ssl_hello_type", F_SSL_HELLO, SP__ACL_T_INT, A_NONE, 0, false},
    {"req_ssl_hello_type", F_SSL_HELLO, SP__ACL_T_INT, A_NONE, 0, false},
    /* constants, variables and more of the request (HAProxy 2.6's src/sample.c, vars.c,
     * http_fetch.c) */
    {"str", F_STR, SP__ACL_T_STR, A_STR, 0, false},
    {"int", F_INT, SP__ACL_T_INT, A_INT, 0, false},
    {"bool", F_BOOL, SP__ACL_T_BOOL, A_BOOL, 0, false},
    {"var", F_VAR, SP__ACL_T_ANY, A_VAR, 0, false},
    {"req.hdr_names", F_HDR_NAMES, SP__ACL_T_STR, A_DELIM, 0, false},
    {"url_ip", F_URL_IP, SP__ACL_T_IP, A_NONE, 0, false},
    {"url_port", F_URL_PORT, SP__ACL_T_INT, A_NONE, 0, false},
    {"pathq", F_PATHQ, SP__ACL_T_STR, A_NONE, 0, false},
    /* the response */
    {"status", F_STATUS, SP__ACL_T_INT, A_NONE, 0, false},
    {"res.hdr", F_RES_HDR, SP__ACL_T_STR, A_HDR, 0, false},
    {"shdr", F_RES_HDR, SP__ACL_T_STR, A_HDR, 0, false},
    {"res.fhdr", F_RES_FHDR, SP__ACL_T_STR, A_HDR, 0, false},
    {"res.hdr_cnt", F_RES_HDR_CNT, SP__ACL_T_INT, A_HDR_OPT, 0, false},
    {"shdr_cnt", F_RES_HDR_CNT, SP__ACL_T_INT, A_HDR_OPT, 0, false},
    {"res.fhdr_cnt", F_RES_FHDR_CNT, SP__ACL_T_INT, A_HDR_OPT, 0, false},
    {"res.hdr_names", F_RES_HDR_NAMES, SP__ACL_T_STR, A_DELIM, 0, false},
    {"res.ver", F_RES_VER, SP__ACL_T_STR, A_NONE, 0, false},
    {"resp_ver", F_RES_VER, SP__ACL_T_STR, A_NONE, 0, false},
    /* the response bytes (tcp-response content rules): the same view, the other channel */
    {"res.len", F_RES_LEN, SP__ACL_T_INT, A_NONE, 0, false},
    {"res.payload", F_RES_PAYLOAD, SP__ACL_T_BIN, A_PAYLOAD, 0, false},
};

/* ---- compilation: criterion --------------------------------------------------------- */

/* Finds NAME, or NAME_SUFFIX where NAME has variants; *ret_match is the variant's method or
 * -1. */
static const struct kw *find_kw(const char *name, size_t len, int *ret_match)
{
    static const struct {
        const char *name;
        uint8_t match;
    } suffixes[] = {
        {"beg", SP__ACL_M_BEG}, {"end", SP__ACL_M_END}, {"sub", SP__ACL_M_SUB},
        {"dir", SP__ACL_M_DIR}, {"dom", SP__ACL_M_DOM}, {"reg", SP__ACL_M_REG},
        {"len", SP__ACL_M_LEN},
    };

    *ret_match = -1;
    for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
        if (strlen(kws[i].name) == len && !memcmp(kws[i].name, name, len))
            return &kws[i];
    const char *us = NULL;
    for (size_t i = 0; i < len; i++)
        if (name[i] == '_')
            us = name + i;
    if (!us)
        return NULL;
    size_t blen = (size_t)(us - name), slen = len - blen - 1;
    for (size_t s = 0; s < sizeof(suffixes) / sizeof(suffixes[0]); s++) {
        if (strlen(suffixes[s].name) != slen || memcmp(suffixes[s].name, us + 1, slen))
            continue;
        for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++) {
            if (kws[i].variants && strlen(kws[i].name) == blen &&
                !memcmp(kws[i].name, name, blen)) {
                *ret_match = suffixes[s].match;
                return &kws[i];
            }
        }
    }
    return NULL;
}

static int resolve_proxy(struct sp__acl_expr *e, const struct sp_acl_resolver *res, bool fe,
                         const char *arg, const char *word, char *err, size_t errlen)
{
    const char *what = fe ? "frontend" : "backend";

    if (!arg) {
        int self = res ? (fe ? res->self_fe : res->self_be) : -1;
        if (self < 0)
            return sp__acl_fail(err, errlen,
                                "'%s' without an argument needs a %s, and this section is not one "
                                "(write the %s's name in parentheses)",
                                word, what, what);
        e->idx = self;
        return 0;
    }
    int (*fn)(const void *, const char *) = res ? (fe ? res->frontend : res->backend) : NULL;
    int idx = fn ? fn(res->ctx, arg) : -1;
    if (idx < 0)
        return sp__acl_fail(err, errlen, "no such %s '%s' in ACL expression '%s'", what, arg, word);
    e->idx = idx;
    return 0;
}

static int parse_args(struct sp__acl_expr *e, const struct kw *k, const struct sp_acl_resolver *res,
                      char *a1, char *a2, const char *word, char *err, size_t errlen)
{
    switch (k->argk) {
    case A_NONE:
        if (a1)
            return sp__acl_fail(err, errlen, "'%s' takes no argument, in ACL expression '%s'",
                                k->name, word);
        return 0;
    case A_FE:
    case A_BE:
        if (a2)
            return sp__acl_fail(err, errlen, "too many arguments in ACL expression '%s'", word);
        return resolve_proxy(e, res, k->argk == A_FE, a1, word, err, errlen);
    case A_SRV: {
        char *slash = a1 ? strchr(a1, '/') : NULL;
        if (!slash || slash == a1 || !slash[1] || a2)
            return sp__acl_fail(err, errlen,
                                "'%s' expects 'backend/server', in ACL expression '%s'", k->name,
                                word);
        *slash = '\0';
        int be = res && res->backend ? res->backend(res->ctx, a1) : -1;
        if (be < 0)
            return sp__acl_fail(err, errlen, "no such backend '%s' in ACL expression '%s'", a1,
                                word);
        int srv = res && res->server ? res->server(res->ctx, a1, slash + 1) : -1;
        if (srv < 0)
            return sp__acl_fail(err, errlen, "no such server '%s/%s' in ACL expression '%s'", a1,
                                slash + 1, word);
        e->idx = srv;
        return 0;
    }
    case A_STR:
        if (!a1 || a2)
            return sp__acl_fail(err, errlen, "'%s' expects one argument, in ACL expression '%s'",
                                k->name, word);
        break;
    case A_INT: {
        char *end;
        errno = 0;
        long long v = a1 ? strtoll(a1, &end, 10) : 0;
        if (!a1 || a2 || !*a1 || *end || errno)
            return sp__acl_fail(err, errlen,
                                "'%s' expects an integer argument, in ACL expression '%s'", k->name,
                                word);
        e->cint = v;
        return 0;
    }
    case A_BOOL:
        if (a1 && !a2 && (!strcasecmp(a1, "true") || !strcmp(a1, "1")))
            e->cint = 1;
        else if (a1 && !a2 && (!strcasecmp(a1, "false") || !strcmp(a1, "0")))
            e->cint = 0;
        else
            return sp__acl_fail(err, errlen,
                                "'%s': Expects 'true', 'false', '0' or '1', in ACL expression '%s'",
                                k->name, word);
        return 0;
    case A_VAR: {
        char verr[200];
        if (!a1)
            return sp__acl_fail(err, errlen,
                                "'%s' needs a variable name in parentheses, in ACL expression '%s'",
                                k->name, word);
        if (sp_var_ref_parse(a1, strlen(a1), &e->var, verr, sizeof(verr)))
            return sp__acl_fail(err, errlen, "%s, in ACL expression '%s'", verr, word);
        if (a2) {
            e->has_default = true;
            if (!(e->arg = strdup(a2)))
                return sp__acl_fail(err, errlen, "out of memory");
            e->arg_len = strlen(a2);
        }
        return 0;
    }
    case A_DELIM:
        if (a2)
            return sp__acl_fail(err, errlen, "too many arguments in ACL expression '%s'", word);
        if (!(e->arg = strdup(a1 && *a1 ? a1 : ",")))
            return sp__acl_fail(err, errlen, "out of memory");
        e->arg_len = strlen(e->arg);
        return 0;
    case A_HDR:
    case A_PARAM:
    case A_COOK:
        if (!a1 || !*a1)
            return sp__acl_fail(err, errlen,
                                "'%s' needs a name in parentheses, in ACL expression '%s'", k->name,
                                word);
        break;
    case A_HDR_OPT:
        if (a2)
            return sp__acl_fail(err, errlen, "too many arguments in ACL expression '%s'", word);
        if (a1 && !*a1)
            a1 = NULL;
        break;
    case A_PAYLOAD: {
        char *end1 = NULL, *end2 = NULL;
        long long off = a1 ? strtoll(a1, &end1, 10) : -1;
        long long len = a2 ? strtoll(a2, &end2, 10) : -1;
        if (!a1 || !a2 || !*a1 || !*a2 || *end1 || *end2 || off < 0 || len < 0 || off > INT32_MAX ||
            len > INT32_MAX)
            return sp__acl_fail(err, errlen,
                                "'%s' expects two non-negative integers (offset,length), in ACL "
                                "expression '%s'",
                                k->name, word);
        e->poff = (uint32_t)off;
        e->plen = (uint32_t)len;
        return 0;
    }
    }
    if (a1) {
        e->arg = strdup(a1);
        if (!e->arg)
            return sp__acl_fail(err, errlen, "out of memory");
        e->arg_len = strlen(a1);
    }
    if (k->argk == A_HDR && a2) {
        char *end;
        errno = 0;
        long occ = strtol(a2, &end, 10);
        if (!*a2 || *end || errno || occ < -1000000 || occ > 1000000)
            return sp__acl_fail(err, errlen, "bad occurrence '%s' in ACL expression '%s'", a2,
                                word);
        e->occ = (int)occ;
    } else if (k->argk == A_PARAM) {
        if (a2 && *a2 && !(e->delims = strdup(a2)))
            return sp__acl_fail(err, errlen, "out of memory");
    } else if (a2) {
        return sp__acl_fail(err, errlen, "too many arguments in ACL expression '%s'", word);
    }
    return 0;
}

int sp__acl_fetch_parse(struct sp__acl_expr *e, const struct sp_acl_resolver *res, const char *text,
                        size_t len, int *ret_forced, size_t *ret_used, char *err, size_t errlen)
{
    char word[512];
    size_t n = 0;
    while (n < len && text[n] != '(' && text[n] != ',')
        n++;
    /* the fetch as written, for the messages */
    snprintf(word, sizeof(word), "%.*s", (int)len, text);
    const struct kw *k = find_kw(text, n, ret_forced);
    static const struct kw stk_kw = {"stick-table fetch", F_STK, SP__ACL_T_INT, A_NONE, 0, false};
    if (!k && sp__stk_fetch_name(text, n))
        k = &stk_kw;
    if (!k)
        return sp__acl_fail(err, errlen, "unknown fetch method '%.*s' in ACL expression '%s'",
                            (int)n, text, word);
    e->fetch = k->fetch;
    e->kw = k->name;
    e->out = k->out;
    e->load = k->load;
    e->idx = -1;
    /* HTTP methods compare case-insensitively whatever the flags say */
    e->nocase = k->fetch == F_METHOD;

    char args[512], *argv[3] = {NULL, NULL, NULL};
    size_t used = n;
    if (n < len && text[n] == '(') {
        size_t aused;
        int argc =
            sp__smp_args(text + n, len - n, args, sizeof(args), argv, 3, &aused, err, errlen);
        if (argc < 0) {
            size_t l = strlen(err);
            snprintf(err + l, errlen > l ? errlen - l : 0, " in ACL expression '%s'", word);
            return -EINVAL;
        }
        if (argc > 2)
            return sp__acl_fail(err, errlen, "too many arguments in ACL expression '%s'", word);
        for (int k = argc; k < 3; k++)
            argv[k] = NULL;
        used += aused;
    }
    if (used < len && text[used] != ',')
        return sp__acl_fail(err, errlen, "unexpected '%.*s' in ACL expression '%s'",
                            (int)(len - used), text + used, word);
    int ret = k->fetch == F_STK
                  ? sp__stk_fetch_args(e, res, text, n, argv[0], argv[1], word, err, errlen)
                  : parse_args(e, k, res, argv[0], argv[1], word, err, errlen);
    if (k->fetch == F_STK && sp__stk_fetch_type(e) == SP_SMP_BOOL)
        e->out = SP__ACL_T_BOOL;
    if (!ret && res)
        ret = sp__acl_expr_allowed(e, res->what, word, err, errlen);
    if (!ret)
        *ret_used = used;
    return ret;
}

int sp__acl_criterion_parse(struct sp__acl_expr *e, const struct sp_acl_resolver *res,
                            const char *word, int *ret_forced, char *err, size_t errlen)
{
    size_t len = strlen(word), used;
    int ret = sp__acl_fetch_parse(e, res, word, len, ret_forced, &used, err, errlen);
    if (ret || used == len)
        return ret;
    /* converters: the match runs on the expression's single value */
    if (*ret_forced >= 0)
        return sp__acl_fail(err, errlen,
                            "'%.*s' sets its own match method and takes no converter, in ACL "
                            "expression '%s'",
                            (int)strcspn(word, "(,"), word, word);
    char cerr[400];
    e->conv = sp_smp_compile(word, len, res, cerr, sizeof(cerr));
    if (!e->conv)
        return sp__acl_fail(err, errlen, "%s in ACL expression '%s'", cerr, word);
    static const uint8_t types[] = {
        [SP_SMP_BOOL] = SP__ACL_T_BOOL, [SP_SMP_SINT] = SP__ACL_T_INT, [SP_SMP_IPV4] = SP__ACL_T_IP,
        [SP_SMP_IPV6] = SP__ACL_T_IP,   [SP_SMP_STR] = SP__ACL_T_STR,  [SP_SMP_BIN] = SP__ACL_T_BIN,
        [SP__SMP_ADDR] = SP__ACL_T_IP,  [SP__SMP_ANY] = SP__ACL_T_ANY,
    };
    e->out = types[sp__smp_expr_type(e->conv)];
    return 0;
}

/* ---- evaluation: matching ------------------------------------------------------------ */

static inline char lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

static bool same(const char *a, const char *b, size_t n, bool icase)
{
    if (!icase)
        return !memcmp(a, b, n);
    for (size_t i = 0; i < n; i++)
        if (lower(a[i]) != lower(b[i]))
            return false;
    return true;
}

static bool in_ranges(const struct sp__acl_expr *e, int64_t v)
{
    for (size_t i = 0; i < e->npat; i++)
        if (v >= e->pat[i].u.range.min && v <= e->pat[i].u.range.max)
            return true;
    return false;
}

/* The pattern as a whole word of s: preceded by a delimiter or the start, followed by one or
 * the end. */
static bool word_in(const char *s, size_t n, const struct sp__acl_pat *p, const char *delims)
{
    size_t pl = p->u.str.len;
    for (size_t i = 0; i + pl <= n; i++) {
        if (i && !memchr(delims, s[i - 1], strlen(delims)))
            continue;
        if (i + pl < n && !memchr(delims, s[i + pl], strlen(delims)))
            continue;
        if (same(s + i, p->u.str.s, pl, p->icase))
            return true;
    }
    return false;
}

static bool sub_in(const char *s, size_t n, const struct sp__acl_pat *p)
{
    size_t pl = p->u.str.len;
    for (size_t i = 0; i + pl <= n; i++)
        if (same(s + i, p->u.str.s, pl, p->icase))
            return true;
    return false;
}

/* Text methods (str sub reg beg end dir dom bin) over s[0..n). */

/* regexec() on exactly s[0..n), through a NUL-terminated copy: on the stack up to 512 bytes,
 * else on the heap (a value is at most a request head, tune.bufsize; without memory it does
 * not match). REG_STARTEND would spare the copy, but the sanitizers' regexec interceptor
 * (clang 14's ASan among them) ignores it and reads the subject up to a NUL that need not be
 * there, a heap overflow report on every regex ACL of a live request; HAProxy's
 * regex_exec_match2() makes the same copy for libc's regex. A NUL inside the value ends the
 * subject there. glibc's regexec takes a lock inside the compiled regex: concurrent
 * evaluations of one pattern serialize on it. */
static bool reg_match(const regex_t *re, const char *s, size_t n)
{
    char stack[512], *buf = stack;
    bool hit;

    if (n >= sizeof(stack) && !(buf = malloc(n + 1)))
        return false;
    memcpy(buf, s, n);
    buf[n] = 0;
    regmatch_t m; /* unused (REG_NOSUB), but nmatch 0 is a zero-length VLA bound to UBSan */
    hit = regexec(re, buf, 1, &m, 0) == 0;
    if (buf != stack)
        free(buf);
    return hit;
}
static bool match_text(const struct sp__acl_expr *e, const char *s, size_t n)
{
    for (size_t i = 0; i < e->npat; i++) {
        const struct sp__acl_pat *p = &e->pat[i];
        size_t pl = p->u.str.len;
        switch (e->match) {
        case SP__ACL_M_STR:
            if (n == pl && same(s, p->u.str.s, n, p->icase))
                return true;
            break;
        case SP__ACL_M_BIN:
            if (n == pl && !memcmp(s, p->u.str.s, n))
                return true;
            break;
        case SP__ACL_M_BEG:
            if (n >= pl && same(s, p->u.str.s, pl, p->icase))
                return true;
            break;
        case SP__ACL_M_END:
            if (n >= pl && same(s + n - pl, p->u.str.s, pl, p->icase))
                return true;
            break;
        case SP__ACL_M_SUB:
            if (sub_in(s, n, p))
                return true;
            break;
        case SP__ACL_M_DIR:
            if (word_in(s, n, p, SP__ACL_DIR_DELIMS))
                return true;
            break;
        case SP__ACL_M_DOM:
            if (word_in(s, n, p, SP__ACL_DOM_DELIMS))
                return true;
            break;
        case SP__ACL_M_REG:
            if (reg_match(&p->u.re, s, n))
                return true;
            break;
        default:
            return false;
        }
    }
    return false;
}

static bool match_ip4(const struct sp__acl_expr *e, uint32_t a)
{
    for (size_t i = 0; i < e->npat; i++) {
        const struct sp__acl_pat *p = &e->pat[i];
        if (!p->u.ip.v6) {
            if ((a & p->u.ip.m4) == p->u.ip.v4)
                return true;
        } else {
            /* an IPv4 source is compared as ::ffff:a.b.c.d against IPv6 networks */
            uint8_t m[16] = {[10] = 0xff, [11] = 0xff};
            m[12] = (uint8_t)(a >> 24);
            m[13] = (uint8_t)(a >> 16);
            m[14] = (uint8_t)(a >> 8);
            m[15] = (uint8_t)a;
            int plen = p->u.ip.plen, k;
            for (k = 0; k < 16 && plen > 0; k++, plen -= 8) {
                uint8_t mask = plen >= 8 ? 0xff : (uint8_t)(0xff << (8 - plen));
                if ((m[k] & mask) != p->u.ip.a6[k])
                    break;
            }
            if (k == 16 || plen <= 0)
                return true;
        }
    }
    return false;
}

static bool match_ip6(const struct sp__acl_expr *e, const uint8_t *a)
{
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    bool is_mapped = !memcmp(a, mapped, 12);
    for (size_t i = 0; i < e->npat; i++) {
        const struct sp__acl_pat *p = &e->pat[i];
        if (!p->u.ip.v6) {
            /* an IPv4 network also matches a v4-mapped IPv6 source */
            uint32_t v4 =
                (uint32_t)a[12] << 24 | (uint32_t)a[13] << 16 | (uint32_t)a[14] << 8 | a[15];
            if (is_mapped && (v4 & p->u.ip.m4) == p->u.ip.v4)
                return true;
            continue;
        }
        int plen = p->u.ip.plen, k;
        for (k = 0; k < 16 && plen > 0; k++, plen -= 8) {
            uint8_t mask = plen >= 8 ? 0xff : (uint8_t)(0xff << (8 - plen));
            if ((a[k] & mask) != p->u.ip.a6[k])
                break;
        }
        if (k == 16 || plen <= 0)
            return true;
    }
    return false;
}

/* A string as HAProxy casts it to an integer (sample.c c_str2int(), tools.c read_int64()):
 * an empty string does not convert; otherwise an optional sign, then the leading decimal
 * digits, none reading 0 ("abc" is 0), too many saturating to INT64_MAX (INT64_MIN with a
 * minus). */
static bool str_to_int(const char *s, size_t n, int64_t *ret)
{
    uint64_t v = 0;
    size_t i = 0;
    bool neg = false, over = false;

    if (!n)
        return false;
    if (s[0] == '-' || s[0] == '+') {
        neg = s[0] == '-';
        i++;
    }
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            over = true;
        else
            v = v * 10 + d;
    }
    if (neg)
        *ret = over || v > (uint64_t)INT64_MAX ? INT64_MIN : -(int64_t)v;
    else
        *ret = over || v > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)v;
    return true;
}

static bool match_str(const struct sp__acl_expr *e, const char *s, size_t n);

/* A value that is an address (src, dst). */
static bool match_addr(const struct sp__acl_expr *e, const struct sockaddr_storage *ss)
{
    const void *raw;
    if (e->match == SP__ACL_M_FOUND)
        return true;
    if (ss->ss_family == AF_INET) {
        raw = &((const struct sockaddr_in *)ss)->sin_addr;
        if (e->match == SP__ACL_M_IP)
            return match_ip4(e, ntohl(((const struct in_addr *)raw)->s_addr));
    } else {
        raw = &((const struct sockaddr_in6 *)ss)->sin6_addr;
        if (e->match == SP__ACL_M_IP)
            return match_ip6(e, ((const struct in6_addr *)raw)->s6_addr);
    }
    char buf[INET6_ADDRSTRLEN];
    if (!inet_ntop(ss->ss_family, raw, buf, sizeof(buf)))
        return false;
    return match_str(e, buf, strlen(buf));
}

/* A value that is text (every request fetch). */
static bool match_str(const struct sp__acl_expr *e, const char *s, size_t n)
{
    int64_t v;
    switch (e->match) {
    case SP__ACL_M_FOUND:
        return true;
    case SP__ACL_M_BOOL:
        return str_to_int(s, n, &v) && v != 0;
    case SP__ACL_M_INT:
        return str_to_int(s, n, &v) && in_ranges(e, v);
    case SP__ACL_M_LEN:
        return in_ranges(e, (int64_t)n);
    case SP__ACL_M_IP: {
        char buf[INET6_ADDRSTRLEN];
        struct in6_addr a6;
        struct in_addr a4;
        if (n >= sizeof(buf))
            return false;
        memcpy(buf, s, n);
        buf[n] = '\0';
        if (inet_pton(AF_INET, buf, &a4) == 1)
            return match_ip4(e, ntohl(a4.s_addr));
        if (inet_pton(AF_INET6, buf, &a6) == 1)
            return match_ip6(e, a6.s6_addr);
        return false;
    }
    default:
        return match_text(e, s, n);
    }
}

/* A value that is an integer or a boolean; -m int is the hot case and stays inline. */
__attribute__((noinline)) static bool match_int_slow(const struct sp__acl_expr *e, int64_t v)
{
    char buf[24];
    switch (e->match) {
    case SP__ACL_M_FOUND:
        return true;
    case SP__ACL_M_BOOL:
        return v != 0;
    default: {
        int n = snprintf(buf, sizeof(buf), "%lld", (long long)v);
        return match_str(e, buf, (size_t)n);
    }
    }
}

static inline bool match_int(const struct sp__acl_expr *e, int64_t v)
{
    if (e->match == SP__ACL_M_INT)
        return in_ranges(e, v);
    return match_int_slow(e, v);
}

/* ---- evaluation: fetches ------------------------------------------------------------- */

/* The path of a request target: from the first '/' (after scheme://authority in absolute
 * form) up to '?'. False when there is none ("*", authority form, "http://host"). */
static bool uri_path(const struct sp_acl_env *env, const char **ret, size_t *ret_len)
{
    const char *u = env->uri;
    size_t n = env->uri_len, i = 0;
    if (!u || !n)
        return false;
    if (u[0] != '/') {
        while (i < n && u[i] != ':' && u[i] != '/' && u[i] != '?')
            i++;
        if (i + 3 > n || memcmp(u + i, "://", 3))
            return false;
        for (i += 3; i < n && u[i] != '/' && u[i] != '?' && u[i] != '#'; i++)
            ;
        if (i == n || u[i] != '/')
            return false;
    }
    const char *q = memchr(u + i, '?', n - i);
    *ret = u + i;
    *ret_len = (size_t)((q ? q : u + n) - (u + i));
    return true;
}

static bool get_query(const struct sp_acl_env *env, const char **ret, size_t *ret_len)
{
    const char *q = env->uri ? memchr(env->uri, '?', env->uri_len) : NULL;
    if (!q)
        return false;
    *ret = q + 1;
    *ret_len = env->uri_len - (size_t)(q + 1 - env->uri);
    return true;
}

static void trim(const char **s, size_t *n)
{
    while (*n && (**s == ' ' || **s == '\t')) {
        (*s)++;
        (*n)--;
    }
    while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t'))
        (*n)--;
}

/* The end of one element of a comma-separated list that starts at p: the next comma that is
 * not inside a quoted string (RFC 9110 5.6.4, backslash pairs included), or end. HAProxy's
 * http_find_hdr_value_end() draws the same line; with `semi`, ';' ends an element too, as in
 * its http_find_cookie_value_end(). */
static const char *elem_end(const char *p, const char *end, bool semi)
{
    bool quoted = false, pair = false;

    for (; p < end; p++) {
        if (pair)
            pair = false;
        else if (quoted && *p == '\\')
            pair = true;
        else if (quoted)
            quoted = *p != '"';
        else if (*p == '"')
            quoted = true;
        else if (*p == ',' || (semi && *p == ';'))
            return p;
    }
    return end;
}

/* Walks the values of the headers called `name` (every header when name is NULL): each
 * comma-separated element when split, else each whole occurrence. */
struct hdr_it {
    size_t i;
    const char *p, *end;
    bool in;
    bool res; /* the response's headers (set before the first call) */
};

static bool hdr_next(const struct sp_acl_env *env, const char *name, size_t name_len, bool split,
                     struct hdr_it *it, const char **ret, size_t *ret_len)
{
    for (;;) {
        if (!it->in) {
            const char *hn, *hv;
            size_t hnl, hvl;
            if (it->res) {
                if (!env->res_hdr || it->i >= env->res_nhdrs)
                    return false;
                env->res_hdr(env->res, it->i++, &hn, &hnl, &hv, &hvl);
            } else {
                if (!env->hdr || it->i >= env->nhdrs)
                    return false;
                env->hdr(env->req, it->i++, &hn, &hnl, &hv, &hvl);
            }
            if (name && (hnl != name_len || !same(hn, name, hnl, true)))
                continue;
            if (!split) {
                *ret = hv;
                *ret_len = hvl;
                return true;
            }
            it->p = hv;
            it->end = hv + hvl;
            it->in = true;
        }
        const char *stop = elem_end(it->p, it->end, false);
        *ret = it->p;
        *ret_len = (size_t)(stop - it->p);
        trim(ret, ret_len);
        if (stop < it->end)
            it->p = stop + 1;
        else
            it->in = false;
        return true;
    }
}

/* The occ-th value (from the first when occ > 0, from the last when occ < 0) of the headers
 * called e->arg (the response's with `res`). */
static bool hdr_pick(const struct sp__acl_expr *e, const struct sp_acl_env *env, bool split,
                     bool res, int occ, const char **ret, size_t *ret_len)
{
    struct hdr_it it = {.res = res};
    const char *v;
    size_t vl;

    if (occ < 0) {
        int total = 0;
        while (hdr_next(env, e->arg, e->arg_len, split, &it, &v, &vl))
            total++;
        occ = total + occ + 1;
        if (occ < 1)
            return false;
        it = (struct hdr_it){.res = res};
    }
    for (int n = 1; hdr_next(env, e->arg, e->arg_len, split, &it, &v, &vl); n++) {
        if (n == occ) {
            *ret = v;
            *ret_len = vl;
            return true;
        }
    }
    return false;
}

static bool exec_hdr(const struct sp__acl_expr *e, const struct sp_acl_env *env, bool split,
                     bool res)
{
    struct hdr_it it = {.res = res};
    const char *v;
    size_t vl;

    if (e->occ)
        return hdr_pick(e, env, split, res, e->occ, &v, &vl) && match_str(e, v, vl);
    while (hdr_next(env, e->arg, e->arg_len, split, &it, &v, &vl))
        if (match_str(e, v, vl))
            return true;
    return false;
}

/* hdr_cnt counts list elements, req.fhdr_cnt whole fields. */
static int64_t hdr_cnt(const struct sp__acl_expr *e, const struct sp_acl_env *env, bool split,
                       bool res)
{
    struct hdr_it it = {.res = res};
    const char *v;
    size_t vl;
    int64_t n = 0;
    while (hdr_next(env, e->arg, e->arg_len, split, &it, &v, &vl))
        n++;
    return n;
}

static inline bool spht(char c)
{
    return c == ' ' || c == '\t';
}

/* The next cookie called name[0..nl) in p[0..end), as HAProxy reads a request's Cookie
 * elements (http.c http_extract_cookie_value() with its list flag): `NAME = VALUE` pairs
 * separated by ';' or ',', blanks around names and values dropped, a quoted value kept
 * whole with its quotes, attributes beginning with '$' and words without '=' skipped, names
 * compared case-sensitively. A cookie is looked for only while name and '=' and one more
 * byte fit in what is left, so an empty value at the very end is not found. Returns where
 * to go on from, or NULL when there is none. */
static const char *cookie_next(const char *p, const char *end, const char *name, size_t nl,
                               const char **ret, size_t *ret_len)
{
    for (const char *next; (size_t)(end - p) > nl + 1; p = next < end ? next + 1 : end) {
        while (p < end && spht(*p))
            p++;
        const char *eq = p, *name_end = p;
        while (eq < end && *eq != '=' && *eq != ';' && *eq != ',')
            if (!spht(*eq++))
                name_end = eq;
        const char *vb = eq, *ve = eq;
        next = eq;
        if (eq < end && *eq == '=') {
            for (vb = eq + 1; vb < end && spht(*vb); vb++)
                ;
            next = elem_end(vb, end, true);
            for (ve = next; ve > vb && spht(ve[-1]); ve--)
                ;
        }
        if (p < end && *p == '$')
            continue;
        if (eq == next) /* no '=' */
            continue;
        if ((size_t)(name_end - p) == nl && !memcmp(p, name, nl)) {
            *ret = vb;
            *ret_len = (size_t)(ve - vb);
            return next < end ? next + 1 : end;
        }
    }
    return NULL;
}

/* A visitor of the values a fetch yields: returns true to stop. */
typedef bool (*visit_fn)(void *ctx, const char *s, size_t n);

/* Each value of each cookie of that name, in every element of every Cookie field (HAProxy
 * http_fetch.c smp_fetch_cookie(): a Cookie field is split on commas like any list, and an
 * element shorter than the name and '=' is skipped), until fn returns true. */
static bool cook_each(const struct sp__acl_expr *e, const struct sp_acl_env *env, visit_fn fn,
                      void *ctx)
{
    struct hdr_it it = {0};
    const char *v, *cv;
    size_t vl, cvl;
    while (hdr_next(env, "cookie", 6, true, &it, &v, &vl)) {
        if (vl < e->arg_len + 1)
            continue;
        for (const char *p = v; (p = cookie_next(p, v + vl, e->arg, e->arg_len, &cv, &cvl));)
            if (fn(ctx, cv, cvl))
                return true;
    }
    return false;
}

static bool visit_match(void *ctx, const char *s, size_t n)
{
    return match_str(ctx, s, n);
}

/* the sample's value: the last one (keeps going) or the first one (stops) */
struct pick {
    const char *s;
    size_t n;
    bool found;
};

static bool visit_last(void *ctx, const char *s, size_t n)
{
    struct pick *p = ctx;
    *p = (struct pick){s, n, true};
    return false;
}

static bool visit_first(void *ctx, const char *s, size_t n)
{
    visit_last(ctx, s, n);
    return true;
}

/* '&' and ';' separate URL parameters, and so does the fetch's own delimiter. */
static inline bool param_delim(char c, char delim)
{
    return c == '&' || c == ';' || c == delim;
}

/* Where the parameter called name[0..nl) begins in p[0..end), or NULL. A parameter counts
 * only when its name is followed by '=' (HAProxy http.c http_find_url_param_pos(): a word
 * that is followed by '=' but is not the name is skipped with its '=' before the next
 * delimiter is looked for). */
static const char *param_find(const char *p, const char *end, const char *name, size_t nl,
                              char delim)
{
    while (p < end) {
        if ((size_t)(end - p) <= nl)
            return NULL;
        if (p[nl] == '=') {
            if (!memcmp(p, name, nl))
                return p;
            p += nl + 1;
        }
        while (p < end && !param_delim(*p, delim))
            p++;
        if (p == end)
            return NULL;
        p++;
    }
    return NULL;
}

/* Each value of the URL parameter named by the argument (HAProxy http_fetch.c
 * smp_fetch_url_param()), until fn returns true: the parameter list begins after the first
 * '?' of the URL, or after the first occurrence of the delimiter given as second argument (its
 * first character), which also separates parameters; values end at the next delimiter. */
static bool urlp_each(const struct sp__acl_expr *e, const struct sp_acl_env *env, visit_fn fn,
                      void *ctx)
{
    char delim = e->delims ? e->delims[0] : '?';
    const char *start = env->uri ? memchr(env->uri, delim, env->uri_len) : NULL;
    if (!start)
        return false;
    const char *p = start + 1, *end = env->uri + env->uri_len;
    while (p < end && (p = param_find(p, end, e->arg, e->arg_len, delim))) {
        const char *vb = p + e->arg_len + 1, *ve = vb;
        while (ve < end && !param_delim(*ve, delim))
            ve++;
        if (fn(ctx, vb, (size_t)(ve - vb)))
            return true;
        p = ve;
    }
    return false;
}

/* Host (first occurrence) followed by the path, into buf (at least 8192 bytes). */
static bool get_base(const struct sp_acl_env *env, char *buf, size_t bufsz, const char **ret,
                     size_t *ret_len)
{
    struct hdr_it it = {0};
    const char *host = NULL, *path = NULL;
    size_t hl = 0, pl = 0;
    bool has_path = uri_path(env, &path, &pl);

    if (!hdr_next(env, "host", 4, false, &it, &host, &hl) || !hl) {
        *ret = path;
        *ret_len = pl;
        return has_path;
    }
    if (hl + pl > bufsz)
        return false;
    memcpy(buf, host, hl);
    if (has_path)
        memcpy(buf + hl, path, pl);
    *ret = buf;
    *ret_len = hl + pl;
    return true;
}

/* The concatenation needs a buffer: it lives on this frame only, so that the other fetches do
 * not pay for its size. */
__attribute__((noinline)) static bool exec_base(const struct sp__acl_expr *e,
                                                const struct sp_acl_env *env)
{
    char buf[8192];
    const char *s;
    size_t n;
    return get_base(env, buf, sizeof(buf), &s, &n) && match_str(e, s, n);
}

static bool port_of(const struct sockaddr_storage *ss, int64_t *ret)
{
    if (!ss)
        return false;
    if (ss->ss_family == AF_INET)
        *ret = ntohs(((const struct sockaddr_in *)ss)->sin_port);
    else if (ss->ss_family == AF_INET6)
        *ret = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
    else
        return false;
    return true;
}

/* req.payload(off,len): the bytes, or false: too short for now (*ret_short) or never (beyond
 * the buffer). len 0 means up to the end of what arrived. */
static bool payload_get(const struct sp__acl_expr *e, const struct sp_acl_env *env,
                        const char **ret, size_t *ret_len, bool *ret_short)
{
    uint64_t end = (uint64_t)e->poff + e->plen;

    *ret_short = false;
    if (!env->payload || e->plen > env->payload_cap || end > env->payload_cap)
        return false; /* will never match */
    if (end > env->payload_len) {
        *ret_short = true;
        return false;
    }
    *ret = env->payload + e->poff;
    *ret_len = e->plen ? e->plen : env->payload_len - e->poff;
    return true;
}

/* res.len and res.payload(off,len): a tcp-response rule's env carries the response bytes in
 * its payload view (HAProxy's fetches read the channel of the rule's direction the same
 * way), so they are req.len and req.payload over that view. */
static bool res_bytes_exec(const struct sp__acl_expr *e, const struct sp_acl_env *env)
{
    const char *s;
    size_t n;
    bool shrt;

    if (e->fetch == F_RES_LEN)
        return env->payload && match_int(e, (int64_t)env->payload_len);
    return payload_get(e, env, &s, &n, &shrt) && match_str(e, s, n);
}

/* The three-valued answer of a res.* fetch that did not pass (see sp__acl_expr_exec3()). */
static int res_bytes_exec3(const struct sp__acl_expr *e, const struct sp_acl_env *env)
{
    const char *s;
    size_t n;
    bool shrt;

    if (e->fetch == F_RES_LEN)
        return SP__ACL_MISS;
    if (!payload_get(e, env, &s, &n, &shrt))
        return shrt ? SP__ACL_MISS : SP__ACL_FAIL;
    return e->plen ? SP__ACL_FAIL : SP__ACL_MISS;
}

int sp__acl_expr_exec3(const struct sp__acl_expr *e, const struct sp_acl_env *env)
{
    const char *s;
    size_t n;
    int64_t v;
    bool shrt;

    if (sp__acl_expr_exec(e, env))
        return SP__ACL_PASS;
    if (!env->partial)
        return SP__ACL_FAIL;
    /* did not pass: would more bytes change the answer? (HAProxy's SMP_F_MAY_CHANGE) */
    switch (e->fetch) {
    case F_REQ_LEN:
        return SP__ACL_MISS;
    case F_PAYLOAD:
        if (!payload_get(e, env, &s, &n, &shrt))
            return shrt ? SP__ACL_MISS : SP__ACL_FAIL;
        return e->plen ? SP__ACL_FAIL : SP__ACL_MISS;
    case F_SSL_SNI:
        return sp__ssl_sni(env, &s, &n) < 0 ? SP__ACL_MISS : SP__ACL_FAIL;
    case F_SSL_HELLO:
        return sp__ssl_hello_type(env, &v) < 0 ? SP__ACL_MISS : SP__ACL_FAIL;
    case F_RES_LEN:
    case F_RES_PAYLOAD:
        return res_bytes_exec3(e, env);
    default:
        return SP__ACL_FAIL;
    }
}

/* A single value of any type (a sample), matched as its type asks. */
static bool match_smp(const struct sp__acl_expr *e, const struct sp_smp *v)
{
    char buf[INET6_ADDRSTRLEN];
    switch (v->type) {
    case SP_SMP_BOOL:
    case SP_SMP_SINT:
        return match_int(e, v->u.sint);
    case SP_SMP_IPV4:
        if (e->match == SP__ACL_M_FOUND)
            return true;
        if (e->match == SP__ACL_M_IP)
            return match_ip4(e, ntohl(v->u.v4.s_addr));
        inet_ntop(AF_INET, &v->u.v4, buf, sizeof(buf));
        return match_str(e, buf, strlen(buf));
    case SP_SMP_IPV6:
        if (e->match == SP__ACL_M_FOUND)
            return true;
        if (e->match == SP__ACL_M_IP)
            return match_ip6(e, v->u.v6.s6_addr);
        inet_ntop(AF_INET6, &v->u.v6, buf, sizeof(buf));
        return match_str(e, buf, strlen(buf));
    default:
        return match_str(e, v->u.str.ptr, v->u.str.len);
    }
}

bool sp__acl_expr_exec(const struct sp__acl_expr *e, const struct sp_acl_env *env)
{
    const char *s;
    size_t n;
    int64_t v;

    if (e->conv) {
        struct sp_smp val;
        return sp_smp_eval(e->conv, env, &val) && match_smp(e, &val);
    }
    if (reads_req(e->fetch))
        sp_acl_env_need_req(env);
    switch (e->fetch) {
    case F_TRUE:
        return match_int(e, 1);
    case F_FALSE:
        return match_int(e, 0);
    case F_LOAD:
        if (!env->load)
            return false;
        v = env->load(env->load_ctx, (enum sp_acl_load)e->load, e->idx);
        return v >= 0 && match_int(e, v);
    case F_PATH:
        return uri_path(env, &s, &n) && match_str(e, s, n);
    case F_URL:
        return env->uri && match_str(e, env->uri, env->uri_len);
    case F_BASE:
        return exec_base(e, env);
    case F_QUERY:
        return get_query(env, &s, &n) && match_str(e, s, n);
    case F_URLP:
        return urlp_each(e, env, visit_match, (void *)e);
    case F_HDR:
    case F_RES_HDR:
        return exec_hdr(e, env, true, e->fetch == F_RES_HDR);
    case F_FHDR:
    case F_RES_FHDR:
        return exec_hdr(e, env, false, e->fetch == F_RES_FHDR);
    case F_HDR_CNT:
    case F_RES_HDR_CNT:
        return match_int(e, hdr_cnt(e, env, true, e->fetch == F_RES_HDR_CNT));
    case F_FHDR_CNT:
    case F_RES_FHDR_CNT:
        return match_int(e, hdr_cnt(e, env, false, e->fetch == F_RES_FHDR_CNT));
    case F_METHOD:
        return env->method && match_str(e, env->method, env->method_len);
    case F_COOK:
        return cook_each(e, env, visit_match, (void *)e);
    case F_SRC:
    case F_DST: {
        const struct sockaddr_storage *ss = e->fetch == F_SRC ? env->src : env->dst;
        if (!ss || (ss->ss_family != AF_INET && ss->ss_family != AF_INET6))
            return false;
        return match_addr(e, ss);
    }
    case F_SRC_PORT:
        return port_of(env->src, &v) && match_int(e, v);
    case F_DST_PORT:
        return port_of(env->dst, &v) && match_int(e, v);
    case F_PROTO_HTTP:
        return match_int(e, 1);
    case F_REQ_LEN:
        return env->payload && match_int(e, (int64_t)env->payload_len);
    case F_PAYLOAD: {
        bool shrt;
        return payload_get(e, env, &s, &n, &shrt) && match_str(e, s, n);
    }
    case F_SSL_SNI:
        return sp__ssl_sni(env, &s, &n) > 0 && match_str(e, s, n);
    case F_SSL_HELLO:
        return sp__ssl_hello_type(env, &v) > 0 && match_int(e, v);
    case F_RES_LEN:
    case F_RES_PAYLOAD:
        return res_bytes_exec(e, env);
    default: {
        /* the fetches of one value: as a sample */
        struct sp_smp val;
        return sp__smp_fetch(e, env, &val) && match_smp(e, &val);
    }
    }
}

/* ---- evaluation: single values (samples) --------------------------------------------- */

static const char *ver_text(int version)
{
    switch (version) {
    case 10:
        return "1.0";
    case 11:
        return "1.1";
    case 20:
        return "2.0";
    case 30:
        return "3.0";
    default:
        return NULL;
    }
}

static bool smp_str(struct sp_smp *out, const char *s, size_t n)
{
    out->type = SP_SMP_STR;
    out->u.str.ptr = s;
    out->u.str.len = n;
    return true;
}

static bool smp_int(struct sp_smp *out, enum sp_smp_type t, int64_t v)
{
    out->type = t;
    out->u.sint = v;
    return true;
}

int sp__smp_fetch_type(const struct sp__acl_expr *e)
{
    switch (e->fetch) {
    case F_SRC:
    case F_DST:
        return SP__SMP_ADDR;
    case F_URL_IP:
        return SP_SMP_IPV4;
    case F_VAR:
        return SP__SMP_ANY;
    case F_PAYLOAD:
        return SP_SMP_BIN;
    case F_STK:
        return sp__stk_fetch_type(e);
    default:
        switch (e->out) {
        case SP__ACL_T_BOOL:
            return SP_SMP_BOOL;
        case SP__ACL_T_INT:
            return SP_SMP_SINT;
        default:
            return SP_SMP_STR;
        }
    }
}

bool sp__smp_fetch(const struct sp__acl_expr *e, const struct sp_acl_env *env, struct sp_smp *out)
{
    const char *s;
    size_t n;
    int64_t v;
    struct pick pk = {0};

    if (reads_req(e->fetch))
        sp_acl_env_need_req(env);
    switch (e->fetch) {
    case F_TRUE:
    case F_FALSE:
    case F_PROTO_HTTP:
        return smp_int(out, SP_SMP_BOOL, e->fetch != F_FALSE);
    case F_LOAD:
        if (!env->load)
            return false;
        v = env->load(env->load_ctx, (enum sp_acl_load)e->load, e->idx);
        return v >= 0 && smp_int(out, e->out == SP__ACL_T_BOOL ? SP_SMP_BOOL : SP_SMP_SINT, v);
    case F_PATH:
        return uri_path(env, &s, &n) && smp_str(out, s, n);
    case F_URL:
        return env->uri && smp_str(out, env->uri, env->uri_len);
    case F_BASE:
        return get_base(env, sp__smp_tmp(), SP__SMP_BUFSZ, &s, &n) && smp_str(out, s, n);
    case F_QUERY:
        return get_query(env, &s, &n) && smp_str(out, s, n);
    case F_URLP:
        /* the first occurrence */
        return urlp_each(e, env, visit_first, &pk) && smp_str(out, pk.s, pk.n);
    case F_HDR:
    case F_FHDR:
    case F_RES_HDR:
    case F_RES_FHDR:
        /* HAProxy's smp_fetch_hdr() / smp_fetch_fhdr(): the last occurrence by default */
        return hdr_pick(e, env, e->fetch == F_HDR || e->fetch == F_RES_HDR, e->fetch >= F_RES_HDR,
                        e->occ ? e->occ : -1, &s, &n) &&
               smp_str(out, s, n);
    case F_HDR_CNT:
    case F_FHDR_CNT:
    case F_RES_HDR_CNT:
    case F_RES_FHDR_CNT:
        return smp_int(out, SP_SMP_SINT,
                       hdr_cnt(e, env, e->fetch == F_HDR_CNT || e->fetch == F_RES_HDR_CNT,
                               e->fetch >= F_RES_HDR_CNT));
    case F_METHOD:
        return env->method && smp_str(out, env->method, env->method_len);
    case F_VER:
    case F_RES_VER:
        s = ver_text(e->fetch == F_VER ? env->version : env->res_version);
        return s && smp_str(out, s, 3);
    case F_COOK:
        /* the last occurrence, as HAProxy's smp_fetch_cookie() with a name */
        cook_each(e, env, visit_last, &pk);
        return pk.found && smp_str(out, pk.s, pk.n);
    case F_SRC:
    case F_DST: {
        const struct sockaddr_storage *ss = e->fetch == F_SRC ? env->src : env->dst;
        if (ss && ss->ss_family == AF_INET) {
            out->type = SP_SMP_IPV4;
            out->u.v4 = ((const struct sockaddr_in *)ss)->sin_addr;
            return true;
        }
        if (ss && ss->ss_family == AF_INET6) {
            out->type = SP_SMP_IPV6;
            out->u.v6 = ((const struct sockaddr_in6 *)ss)->sin6_addr;
            return true;
        }
        return false;
    }
    case F_SRC_PORT:
        return port_of(env->src, &v) && smp_int(out, SP_SMP_SINT, v);
    case F_DST_PORT:
        return port_of(env->dst, &v) && smp_int(out, SP_SMP_SINT, v);
    case F_REQ_LEN:
        return env->payload && smp_int(out, SP_SMP_SINT, (int64_t)env->payload_len);
    case F_PAYLOAD: {
        bool shrt;
        if (!payload_get(e, env, &s, &n, &shrt))
            return false;
        smp_str(out, s, n);
        out->type = SP_SMP_BIN;
        return true;
    }
    case F_SSL_SNI:
        return sp__ssl_sni(env, &s, &n) > 0 && smp_str(out, s, n);
    case F_SSL_HELLO:
        return sp__ssl_hello_type(env, &v) > 0 && smp_int(out, SP_SMP_SINT, v);
    case F_STR:
        return smp_str(out, e->arg, e->arg_len);
    case F_INT:
        return smp_int(out, SP_SMP_SINT, e->cint);
    case F_BOOL:
        return smp_int(out, SP_SMP_BOOL, e->cint);
    case F_VAR:
        if (sp_var_get(env, &e->var, out))
            return true;
        return e->has_default && smp_str(out, e->arg, e->arg_len);
    case F_HDR_NAMES:
    case F_RES_HDR_NAMES:
        return sp__hdr_names(e, env, e->fetch == F_RES_HDR_NAMES, out);
    case F_URL_IP:
    case F_URL_PORT: {
        struct in_addr a;
        if (!sp__url_addr(env, &a, &v))
            return false;
        if (e->fetch == F_URL_PORT)
            return smp_int(out, SP_SMP_SINT, v);
        out->type = SP_SMP_IPV4;
        out->u.v4 = a;
        return true;
    }
    case F_PATHQ:
        /* from the path to the end of the target */
        return uri_path(env, &s, &n) && smp_str(out, s, env->uri_len - (size_t)(s - env->uri));
    case F_STATUS:
        return env->status > 0 && smp_int(out, SP_SMP_SINT, env->status);
    case F_STK:
        return sp__stk_fetch(e, env, out);
    }
    return false;
}
