/* balance/acl-kw.c - the fetch keywords of ACL criteria and sample expressions: their table,
 * their arguments, where each may be used, and their compile-time types. Evaluation is
 * balance/acl-fetch.c's. owner: main (configuration time). */
#include "balance/acl-int.h"
#include "balance/sample-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* What a fetch reads: the connection and the process (usable anywhere), the raw request bytes
 * (HAProxy's L6REQ: tcp frontends), or the HTTP request (L7). */
static int fetch_layer(int f)
{
    switch (f) {
    case SP__F_REQ_LEN:
    case SP__F_PAYLOAD:
    case SP__F_SSL_SNI:
    case SP__F_SSL_HELLO:
        return 6;
    case SP__F_PATH:
    case SP__F_URL:
    case SP__F_BASE:
    case SP__F_QUERY:
    case SP__F_URLP:
    case SP__F_HDR:
    case SP__F_FHDR:
    case SP__F_HDR_CNT:
    case SP__F_FHDR_CNT:
    case SP__F_METHOD:
    case SP__F_VER:
    case SP__F_COOK:
    case SP__F_PROTO_HTTP:
    case SP__F_HDR_NAMES:
    case SP__F_URL_IP:
    case SP__F_URL_PORT:
    case SP__F_PATHQ:
    case SP__F_AUTH:
    case SP__F_BODY:
    case SP__F_BODY_LEN:
    case SP__F_BODY_SIZE:
    case SP__F_BODY_PARAM:
        return 7;
    case SP__F_STATUS:
    case SP__F_RES_HDR:
    case SP__F_RES_FHDR:
    case SP__F_RES_HDR_CNT:
    case SP__F_RES_FHDR_CNT:
    case SP__F_RES_HDR_NAMES:
    case SP__F_RES_VER:
    case SP__F_RES_COOK:
        return 8;
    case SP__F_RES_LEN:
    case SP__F_RES_PAYLOAD:
        return 9; /* HAProxy's L6RES */
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
    A_ULIST,   /* userlist name (http_auth) */
};

struct kw {
    const char *name;
    uint8_t fetch, out, argk, load;
    bool variants; /* NAME_beg, NAME_end, ... exist */
};

static const struct kw kws[] = {
    {"always_true", SP__F_TRUE, SP__ACL_T_BOOL, A_NONE, 0, false},
    {"always_false", SP__F_FALSE, SP__ACL_T_BOOL, A_NONE, 0, false},
    /* an http frontend's requests are HTTP by definition; a tcp one cannot use it */
    {"req.proto_http", SP__F_PROTO_HTTP, SP__ACL_T_BOOL, A_NONE, 0, false},
    {"ssl_fc", SP__F_SSL_FC, SP__ACL_T_BOOL, A_NONE, 0, false},
    {"fe_conn", SP__F_LOAD, SP__ACL_T_INT, A_FE, SP_LOAD_FE_CONN, false},
    {"be_conn", SP__F_LOAD, SP__ACL_T_INT, A_BE, SP_LOAD_BE_CONN, false},
    {"be_conn_free", SP__F_LOAD, SP__ACL_T_INT, A_BE, SP_LOAD_BE_CONN_FREE, false},
    {"nbsrv", SP__F_LOAD, SP__ACL_T_INT, A_BE, SP_LOAD_NBSRV, false},
    {"connslots", SP__F_LOAD, SP__ACL_T_INT, A_BE, SP_LOAD_CONNSLOTS, false},
    {"queue", SP__F_LOAD, SP__ACL_T_INT, A_BE, SP_LOAD_QUEUE, false},
    {"avg_queue", SP__F_LOAD, SP__ACL_T_INT, A_BE, SP_LOAD_AVG_QUEUE, false},
    {"fe_req_rate", SP__F_LOAD, SP__ACL_T_INT, A_FE, SP_LOAD_FE_REQ_RATE, false},
    {"fe_sess_rate", SP__F_LOAD, SP__ACL_T_INT, A_FE, SP_LOAD_FE_SESS_RATE, false},
    {"be_sess_rate", SP__F_LOAD, SP__ACL_T_INT, A_BE, SP_LOAD_BE_SESS_RATE, false},
    {"srv_is_up", SP__F_LOAD, SP__ACL_T_BOOL, A_SRV, SP_LOAD_SRV_IS_UP, false},
    {"act_conn", SP__F_LOAD, SP__ACL_T_INT, A_NONE, SP_LOAD_ACT_CONN, false},
    {"path", SP__F_PATH, SP__ACL_T_STR, A_NONE, 0, true},
    {"url", SP__F_URL, SP__ACL_T_STR, A_NONE, 0, true},
    {"base", SP__F_BASE, SP__ACL_T_STR, A_NONE, 0, true},
    {"query", SP__F_QUERY, SP__ACL_T_STR, A_NONE, 0, false},
    {"url_param", SP__F_URLP, SP__ACL_T_STR, A_PARAM, 0, false},
    {"urlp", SP__F_URLP, SP__ACL_T_STR, A_PARAM, 0, true},
    {"hdr", SP__F_HDR, SP__ACL_T_STR, A_HDR, 0, true},
    {"req.hdr", SP__F_HDR, SP__ACL_T_STR, A_HDR, 0, false},
    {"req.fhdr", SP__F_FHDR, SP__ACL_T_STR, A_HDR, 0, false},
    {"hdr_cnt", SP__F_HDR_CNT, SP__ACL_T_INT, A_HDR_OPT, 0, false},
    {"req.hdr_cnt", SP__F_HDR_CNT, SP__ACL_T_INT, A_HDR_OPT, 0, false},
    {"req.fhdr_cnt", SP__F_FHDR_CNT, SP__ACL_T_INT, A_HDR_OPT, 0, false},
    {"method", SP__F_METHOD, SP__ACL_T_STR, A_NONE, 0, false},
    {"req.ver", SP__F_VER, SP__ACL_T_STR, A_NONE, 0, false},
    {"req_ver", SP__F_VER, SP__ACL_T_STR, A_NONE, 0, false},
    {"req.cook", SP__F_COOK, SP__ACL_T_STR, A_COOK, 0, false},
    {"cook", SP__F_COOK, SP__ACL_T_STR, A_COOK, 0, true},
    {"src", SP__F_SRC, SP__ACL_T_IP, A_NONE, 0, false},
    {"dst", SP__F_DST, SP__ACL_T_IP, A_NONE, 0, false},
    {"src_port", SP__F_SRC_PORT, SP__ACL_T_INT, A_NONE, 0, false},
    {"dst_port", SP__F_DST_PORT, SP__ACL_T_INT, A_NONE, 0, false},
    /* the request bytes (tcp frontends): HAProxy 2.6's src/payload.c */
    {"req.len", SP__F_REQ_LEN, SP__ACL_T_INT, A_NONE, 0, false},
    {"req_len", SP__F_REQ_LEN, SP__ACL_T_INT, A_NONE, 0, false},
    {"req.payload", SP__F_PAYLOAD, SP__ACL_T_BIN, A_PAYLOAD, 0, false},
    {"payload", SP__F_PAYLOAD, SP__ACL_T_BIN, A_PAYLOAD, 0, false},
    {"req.ssl_sni", SP__F_SSL_SNI, SP__ACL_T_STR, A_NONE, 0, false},
    {"req_ssl_sni", SP__F_SSL_SNI, SP__ACL_T_STR, A_NONE, 0, false},
    {"req.ssl_hello_type", SP__F_SSL_HELLO, SP__ACL_T_INT, A_NONE, 0, false},
    {"req_ssl_hello_type", SP__F_SSL_HELLO, SP__ACL_T_INT, A_NONE, 0, false},
    /* the response bytes (tcp-response content rules): the same view, the other channel */
    {"res.len", SP__F_RES_LEN, SP__ACL_T_INT, A_NONE, 0, false},
    {"res.payload", SP__F_RES_PAYLOAD, SP__ACL_T_BIN, A_PAYLOAD, 0, false},
    /* the Authorization header (HAProxy 2.6's http_fetch.c) */
    {"http_auth", SP__F_AUTH, SP__ACL_T_BOOL, A_ULIST, SP__AUTH_OK, false},
    {"http_auth_group", SP__F_AUTH, SP__ACL_T_STR, A_ULIST, SP__AUTH_GRP, false},
    {"http_auth_type", SP__F_AUTH, SP__ACL_T_STR, A_NONE, SP__AUTH_TYPE, false},
    {"http_auth_user", SP__F_AUTH, SP__ACL_T_STR, A_NONE, SP__AUTH_USER, false},
    {"http_auth_pass", SP__F_AUTH, SP__ACL_T_STR, A_NONE, SP__AUTH_PASS, false},
    {"http_auth_bearer", SP__F_AUTH, SP__ACL_T_STR, A_HDR_OPT, SP__AUTH_BEARER, false},
    {"unique-id", SP__F_UNIQUE_ID, SP__ACL_T_STR, A_NONE, 0, false},
    /* the transaction's captures (capture request|response header, capture rules) */
    {"capture.req.hdr", SP__F_CAP_REQ, SP__ACL_T_STR, A_INT, 0, false},
    {"capture.res.hdr", SP__F_CAP_RES, SP__ACL_T_STR, A_INT, 0, false},
    /* constants, variables and more of the request (HAProxy 2.6's src/sample.c, vars.c,
     * http_fetch.c) */
    {"str", SP__F_STR, SP__ACL_T_STR, A_STR, 0, false},
    {"int", SP__F_INT, SP__ACL_T_INT, A_INT, 0, false},
    {"bool", SP__F_BOOL, SP__ACL_T_BOOL, A_BOOL, 0, false},
    {"var", SP__F_VAR, SP__ACL_T_ANY, A_VAR, 0, false},
    {"req.hdr_names", SP__F_HDR_NAMES, SP__ACL_T_STR, A_DELIM, 0, false},
    {"url_ip", SP__F_URL_IP, SP__ACL_T_IP, A_NONE, 0, false},
    {"url_port", SP__F_URL_PORT, SP__ACL_T_INT, A_NONE, 0, false},
    {"pathq", SP__F_PATHQ, SP__ACL_T_STR, A_NONE, 0, false},
    /* the response */
    {"status", SP__F_STATUS, SP__ACL_T_INT, A_NONE, 0, false},
    {"res.hdr", SP__F_RES_HDR, SP__ACL_T_STR, A_HDR, 0, false},
    {"shdr", SP__F_RES_HDR, SP__ACL_T_STR, A_HDR, 0, false},
    {"res.fhdr", SP__F_RES_FHDR, SP__ACL_T_STR, A_HDR, 0, false},
    {"res.hdr_cnt", SP__F_RES_HDR_CNT, SP__ACL_T_INT, A_HDR_OPT, 0, false},
    {"shdr_cnt", SP__F_RES_HDR_CNT, SP__ACL_T_INT, A_HDR_OPT, 0, false},
    {"res.fhdr_cnt", SP__F_RES_FHDR_CNT, SP__ACL_T_INT, A_HDR_OPT, 0, false},
    {"res.hdr_names", SP__F_RES_HDR_NAMES, SP__ACL_T_STR, A_DELIM, 0, false},
    {"res.ver", SP__F_RES_VER, SP__ACL_T_STR, A_NONE, 0, false},
    {"resp_ver", SP__F_RES_VER, SP__ACL_T_STR, A_NONE, 0, false},
    /* the request body (option http-buffer-request, wait-for-body) */
    {"req.body", SP__F_BODY, SP__ACL_T_BIN, A_NONE, 0, false},
    {"req.body_len", SP__F_BODY_LEN, SP__ACL_T_INT, A_NONE, 0, false},
    {"req.body_size", SP__F_BODY_SIZE, SP__ACL_T_INT, A_NONE, 0, false},
    {"req.body_param", SP__F_BODY_PARAM, SP__ACL_T_STR, A_HDR_OPT, 0, false},
    {"res.cook", SP__F_RES_COOK, SP__ACL_T_STR, A_COOK, 0, false},
    {"scook", SP__F_RES_COOK, SP__ACL_T_STR, A_COOK, 0, false},
    /* the transaction's queue priority (http-request set-priority-class / -offset) */
    {"prio_class", SP__F_PRIO_CLASS, SP__ACL_T_INT, A_NONE, 0, false},
    {"prio_offset", SP__F_PRIO_OFFSET, SP__ACL_T_INT, A_NONE, 0, false},
    {"ssl_fc_sni", SP__F_SSL_INFO, SP__ACL_T_STR, A_NONE, SP_ACL_TLS_SNI, true},
    {"ssl_fc_protocol", SP__F_SSL_INFO, SP__ACL_T_STR, A_NONE, SP_ACL_TLS_PROTOCOL, false},
    {"ssl_fc_cipher", SP__F_SSL_INFO, SP__ACL_T_STR, A_NONE, SP_ACL_TLS_CIPHER, false},
    {"ssl_fc_alpn", SP__F_SSL_INFO, SP__ACL_T_STR, A_NONE, SP_ACL_TLS_ALPN, false},
    {"ssl_fc_use_keysize", SP__F_SSL_INFO, SP__ACL_T_INT, A_NONE, SP_ACL_TLS_KEYSIZE, false},
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
        if (self < 0 && self != SP_SMP_SELF_ENV)
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
    case A_ULIST:
        if (!a1 || !*a1 || a2)
            return sp__acl_fail(err, errlen, "'%s' expects a userlist name, in ACL expression '%s'",
                                k->name, word);
        e->ul = res && res->userlist ? res->userlist(res->ctx, a1) : NULL;
        if (!e->ul)
            return sp__acl_fail(err, errlen, "no such userlist '%s' in ACL expression '%s'", a1,
                                word);
        return 0;
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
    static const struct kw stk_kw = {
        "stick-table fetch", SP__F_STK, SP__ACL_T_INT, A_NONE, 0, false};
    if (!k && sp__stk_fetch_name(text, n))
        k = &stk_kw;
    if (!k && n > 4 && !strncmp(text, "ssl_", 4))
        return sp__acl_fail(err, errlen,
                            "fetch method '%.*s' reads a TLS connection: not supported by "
                            "spillway yet (ssl_fc, ssl_fc_sni, ssl_fc_protocol, ssl_fc_cipher, "
                            "ssl_fc_alpn and ssl_fc_use_keysize are)",
                            (int)n, text);
    if (!k)
        return sp__acl_fail(err, errlen, "unknown fetch method '%.*s' in ACL expression '%s'",
                            (int)n, text, word);
    e->fetch = k->fetch;
    e->kw = k->name;
    e->out = k->out;
    e->load = k->load;
    e->idx = -1;
    /* HTTP methods compare case-insensitively whatever the flags say */
    e->nocase = k->fetch == SP__F_METHOD;

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
    int ret = k->fetch == SP__F_STK
                  ? sp__stk_fetch_args(e, res, text, n, argv[0], argv[1], word, err, errlen)
                  : parse_args(e, k, res, argv[0], argv[1], word, err, errlen);
    if (k->fetch == SP__F_STK && sp__stk_fetch_type(e) == SP_SMP_BOOL)
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

int sp__smp_fetch_type(const struct sp__acl_expr *e)
{
    switch (e->fetch) {
    case SP__F_SRC:
    case SP__F_DST:
        return SP__SMP_ADDR;
    case SP__F_URL_IP:
        return SP_SMP_IPV4;
    case SP__F_VAR:
        return SP__SMP_ANY;
    case SP__F_PAYLOAD:
        return SP_SMP_BIN;
    case SP__F_STK:
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
