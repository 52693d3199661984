/* balance/sample.c - sample expressions: compilation (`fetch[(args)][,conv[(args)]]...`),
 * evaluation, HAProxy's casts between sample types, argument lists, and the per-thread
 * scratch buffers values live in. Fetches are balance/acl-fetch.c's, converters
 * balance/conv.c's. */
#include "balance/sample-int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* shared: immutable after compilation. A fetch and its converters. */
struct sp_smp_expr {
    struct sp__acl_expr f; /* the fetch */
    int out;               /* static type of the result */
    size_t nconv;
    struct sp__conv *conv[];
};

/* ---- scratch ---- */

/* owner: the thread. Two buffers, alternating: a step writes into the one its input does not
 * live in (HAProxy's trash chunks). */
static __thread char scratch[2][SP__SMP_BUFSZ];
static __thread unsigned scratch_next;

char *sp__smp_tmp(void)
{
    return scratch[scratch_next++ & 1];
}

/* ---- casts ---- */

bool sp__smp_str2int(const char *s, size_t n, int64_t *ret)
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

/* HAProxy's sample_casts[from][to] (src/sample.c), from the types a value or an expression may
 * have: true where a cast function (or none needed) exists. ADDR as a source is an address of
 * either family (src, dst): it casts as IPv4 does. */
bool sp__smp_castable(int from, int to)
{
    if (from == SP__SMP_ANY || to == SP__SMP_ANY || from == to)
        return true;
    if (from == SP__SMP_ADDR)
        from = SP_SMP_IPV4;
    switch (from) {
    case SP_SMP_BOOL:
        return to == SP_SMP_SINT || to == SP_SMP_STR;
    case SP_SMP_SINT:
        return true;
    case SP_SMP_IPV4:
        return to != SP_SMP_BOOL;
    case SP_SMP_IPV6:
        return to == SP__SMP_ADDR || to == SP_SMP_IPV4 || to == SP_SMP_STR || to == SP_SMP_BIN;
    case SP_SMP_STR:
        return true;
    case SP_SMP_BIN:
        return to == SP_SMP_STR;
    default:
        return false;
    }
}

static bool to_str(struct sp_smp *v)
{
    char *buf;
    switch (v->type) {
    case SP_SMP_BOOL:
    case SP_SMP_SINT:
        buf = sp__smp_tmp();
        v->u.str.len = (size_t)snprintf(buf, 24, "%lld", (long long)v->u.sint);
        v->u.str.ptr = buf;
        break;
    case SP_SMP_IPV4:
    case SP_SMP_IPV6:
        buf = sp__smp_tmp();
        if (!inet_ntop(v->type == SP_SMP_IPV4 ? AF_INET : AF_INET6, &v->u, buf, INET6_ADDRSTRLEN))
            return false;
        v->u.str.ptr = buf;
        v->u.str.len = strlen(buf);
        break;
    case SP_SMP_BIN: {
        /* c_bin2str: up to the first NUL */
        const char *z = memchr(v->u.str.ptr, 0, v->u.str.len);
        if (z)
            v->u.str.len = (size_t)(z - v->u.str.ptr);
        break;
    }
    default:
        break;
    }
    v->type = SP_SMP_STR;
    return true;
}

static bool str_to_ip(struct sp_smp *v, int family)
{
    char buf[INET6_ADDRSTRLEN];
    struct in6_addr a6;
    struct in_addr a4;

    if (v->u.str.len >= sizeof(buf))
        return false;
    memcpy(buf, v->u.str.ptr, v->u.str.len);
    buf[v->u.str.len] = '\0';
    if (family != AF_INET6 && inet_pton(AF_INET, buf, &a4) == 1) {
        v->type = SP_SMP_IPV4;
        v->u.v4 = a4;
        return true;
    }
    if (family != AF_INET && inet_pton(AF_INET6, buf, &a6) == 1) {
        v->type = SP_SMP_IPV6;
        v->u.v6 = a6;
        return true;
    }
    return false;
}

static void v4_to_v6(struct sp_smp *v)
{
    struct in6_addr a = {0};
    a.s6_addr[10] = a.s6_addr[11] = 0xff;
    memcpy(&a.s6_addr[12], &v->u.v4, 4);
    v->type = SP_SMP_IPV6;
    v->u.v6 = a;
}

/* c_ipv62ip: only a v4-mapped address has an IPv4 form */
static bool v6_to_v4(struct sp_smp *v)
{
    static const uint8_t mapped[12] = {[10] = 0xff, [11] = 0xff};
    if (memcmp(v->u.v6.s6_addr, mapped, 12))
        return false;
    struct in_addr a;
    memcpy(&a, &v->u.v6.s6_addr[12], 4);
    v->type = SP_SMP_IPV4;
    v->u.v4 = a;
    return true;
}

static bool to_bin(struct sp_smp *v)
{
    char *buf;
    switch (v->type) {
    case SP_SMP_SINT: {
        /* c_int2bin: 8 bytes, network order */
        uint64_t x = (uint64_t)v->u.sint;
        buf = sp__smp_tmp();
        for (int i = 7; i >= 0; i--, x >>= 8)
            buf[i] = (char)(x & 0xff);
        v->u.str.ptr = buf;
        v->u.str.len = 8;
        break;
    }
    case SP_SMP_IPV4:
    case SP_SMP_IPV6: {
        size_t n = v->type == SP_SMP_IPV4 ? 4 : 16;
        buf = sp__smp_tmp();
        memcpy(buf, &v->u, n);
        v->u.str.ptr = buf;
        v->u.str.len = n;
        break;
    }
    case SP_SMP_STR:
    case SP_SMP_BIN:
        break;
    default:
        return false;
    }
    v->type = SP_SMP_BIN;
    return true;
}

bool sp__smp_cast(struct sp_smp *v, int to)
{
    if (to == SP__SMP_ANY || (int)v->type == to)
        return true;
    switch (to) {
    case SP_SMP_BOOL:
    case SP_SMP_SINT:
        if (v->type == SP_SMP_BOOL || v->type == SP_SMP_SINT) {
            v->type = (enum sp_smp_type)to;
            return true;
        }
        if (v->type == SP_SMP_IPV4 && to == SP_SMP_SINT) {
            v->u.sint = ntohl(v->u.v4.s_addr);
            v->type = SP_SMP_SINT;
            return true;
        }
        if (v->type == SP_SMP_STR) {
            int64_t i;
            if (!sp__smp_str2int(v->u.str.ptr, v->u.str.len, &i))
                return false;
            v->u.sint = i;
            v->type = (enum sp_smp_type)to;
            return true;
        }
        return false;
    case SP__SMP_ADDR:
    case SP_SMP_IPV4:
    case SP_SMP_IPV6:
        switch (v->type) {
        case SP_SMP_SINT: {
            uint32_t a = (uint32_t)v->u.sint;
            v->type = SP_SMP_IPV4;
            v->u.v4.s_addr = htonl(a);
            break;
        }
        case SP_SMP_STR:
            if (!str_to_ip(v, to == SP_SMP_IPV4 ? AF_INET : to == SP_SMP_IPV6 ? AF_INET6 : 0))
                return false;
            break;
        case SP_SMP_IPV4:
        case SP_SMP_IPV6:
            break;
        default:
            return false;
        }
        if (to == SP_SMP_IPV6 && v->type == SP_SMP_IPV4)
            v4_to_v6(v);
        else if (to == SP_SMP_IPV4 && v->type == SP_SMP_IPV6)
            return v6_to_v4(v);
        return true;
    case SP_SMP_STR:
        return to_str(v);
    case SP_SMP_BIN:
        return v->type != SP_SMP_BOOL && to_bin(v);
    default:
        return false;
    }
}

/* ---- arguments ---- */

int sp__smp_args(const char *text, size_t len, char *buf, size_t bufsz, char **argv, int max,
                 size_t *ret_used, char *err, size_t errlen)
{
    size_t o = 0;
    int argc = 0;
    char quote = 0;
    bool any = false; /* something (even an empty quoted string) in the current argument */

    if (!len || text[0] != '(' || !bufsz)
        return sp__acl_fail(err, errlen, "missing '('");
    if (max > 0)
        argv[0] = buf;
    for (size_t i = 1; i < len; i++) {
        char c = text[i];
        if (o + 2 > bufsz)
            return sp__acl_fail(err, errlen, "arguments too long");
        if (c == '"' && quote != '\'') {
            quote = quote ? 0 : '"';
            any = true;
            continue;
        }
        if (c == '\'' && quote != '"') {
            quote = quote ? 0 : '\'';
            any = true;
            continue;
        }
        if (c == '\\' && quote != '\'' && i + 1 < len) {
            /* HAProxy's make_arg_list(): \\ \  \" \' \r \n \t; any other '\' stays */
            char n = text[i + 1], o2 = n == 'r' ? '\r' : n == 'n' ? '\n' : n == 't' ? '\t' : 0;
            if (n == '\\' || n == ' ' || n == '"' || n == '\'')
                o2 = n;
            if (o2)
                i++;
            buf[o++] = o2 ? o2 : c;
            any = true;
            continue;
        }
        if (quote) {
            buf[o++] = c;
            continue;
        }
        if (c != ',' && c != ')') {
            buf[o++] = c;
            any = true;
            continue;
        }
        buf[o++] = '\0';
        if (c == ')' && !argc && !any) {
            *ret_used = i + 1;
            return 0; /* "()" */
        }
        argc++;
        if (c == ')') {
            *ret_used = i + 1;
            return argc;
        }
        if (argc < max)
            argv[argc] = buf + o;
        any = false;
    }
    return sp__acl_fail(err, errlen, quote ? "unterminated quote" : "missing ')'");
}

/* ---- compilation ---- */

int sp__smp_expr_type(const struct sp_smp_expr *e)
{
    return e->out;
}

/* the messages of acl-fetch.c speak of an ACL expression */
static void reword(char *err, size_t errlen)
{
    static const char acl[] = " in ACL expression '";
    char *p = strstr(err, acl), tail[512];
    if (!p)
        return;
    snprintf(tail, sizeof(tail), "%s", p + sizeof(acl) - 1);
    snprintf(p, errlen - (size_t)(p - err), " in sample expression '%s", tail);
}

struct sp_smp_expr *sp_smp_compile(const char *text, size_t len, const struct sp_acl_resolver *res,
                                   char *err, size_t errlen)
{
    struct sp_smp_expr *e = NULL;
    size_t used, nconv = 0;
    int forced;

    for (size_t i = 0; i < len; i++)
        nconv += text[i] == ','; /* each converter follows one: an upper bound */
    e = calloc(1, sizeof(*e) + nconv * sizeof(e->conv[0]));
    if (!e) {
        sp__acl_fail(err, errlen, "out of memory");
        return NULL;
    }
    if (sp__acl_fetch_parse(&e->f, res, text, len, &forced, &used, err, errlen)) {
        reword(err, errlen);
        goto fail;
    }
    if (forced >= 0) {
        sp__acl_fail(err, errlen,
                     "unknown fetch method '%.*s' in sample expression '%.*s' (an ACL-only "
                     "variant)",
                     (int)used, text, (int)len, text);
        goto fail;
    }
    e->out = sp__smp_fetch_type(&e->f);
    while (used < len) {
        /* at a ',' */
        size_t p = used + 1, nb = p;
        while (p < len && text[p] != '(' && text[p] != ',')
            p++;
        if (p == nb) {
            sp__acl_fail(err, errlen, "missing converter name after ',' in '%.*s'", (int)len, text);
            goto fail;
        }
        size_t nl = p - nb; /* the converter's name */
        char args[1024], *argv[6] = {0};
        int argc = 0;
        if (p < len && text[p] == '(') {
            size_t aused;
            argc =
                sp__smp_args(text + p, len - p, args, sizeof(args), argv, 6, &aused, err, errlen);
            if (argc < 0) {
                size_t l = strlen(err);
                snprintf(err + l, errlen > l ? errlen - l : 0, " after converter '%.*s'", (int)nl,
                         text + nb);
                goto fail;
            }
            if (argc > 5) {
                sp__acl_fail(err, errlen, "too many arguments for converter '%.*s'", (int)(p - nb),
                             text + nb);
                goto fail;
            }
            p += aused;
        }
        if (p < len && text[p] != ',') {
            sp__acl_fail(err, errlen, "missing comma after converter '%.*s' in '%.*s'", (int)nl,
                         text + nb, (int)len, text);
            goto fail;
        }
        struct sp__conv *c =
            (nl > 6 && !memcmp(text + nb, "table_", 6)) ||
                    (nl == 8 && !memcmp(text + nb, "in_table", 8))
                ? sp__conv_compile_table(text + nb, nl, argv, argc, e->out, res, err, errlen)
                : sp__conv_compile(text + nb, nl, argv, argc, e->out, err, errlen);
        if (!c)
            goto fail;
        e->conv[e->nconv++] = c;
        e->out = sp__conv_out_type(c, e->out);
        used = p;
    }
    return e;

fail:
    sp_smp_free(e);
    return NULL;
}

struct sp_smp_expr *sp_smp_free(struct sp_smp_expr *e)
{
    if (!e)
        return NULL;
    for (size_t i = 0; i < e->nconv; i++)
        sp__conv_free(e->conv[i]);
    free(e->f.arg);
    free(e->f.delims);
    free(e);
    return NULL;
}

/* ---- evaluation ---- */

bool sp__smp_convert(const struct sp_smp_expr *e, const struct sp_acl_env *env, struct sp_smp *v)
{
    for (size_t i = 0; i < e->nconv; i++)
        if (!sp__conv_apply(e->conv[i], env, v))
            return false;
    return true;
}

bool sp_smp_eval(const struct sp_smp_expr *e, const struct sp_acl_env *env, struct sp_smp *out)
{
    return sp__smp_fetch(&e->f, env, out) && sp__smp_convert(e, env, out);
}

bool sp_smp_eval_str(const struct sp_smp_expr *e, const struct sp_acl_env *env, const char **ret_p,
                     size_t *ret_len)
{
    struct sp_smp v;
    if (!sp_smp_eval(e, env, &v))
        return false;
    /* binary as is (the header's contract), everything else through HAProxy's cast */
    if (v.type != SP_SMP_BIN && !sp__smp_cast(&v, SP_SMP_STR))
        return false;
    *ret_p = v.u.str.ptr;
    *ret_len = v.u.str.len;
    return true;
}
