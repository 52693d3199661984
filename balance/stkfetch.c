/* balance/stkfetch.c - the stick-table fetches: sc_*(N[,T]), scN_*([T]), src_*([T]),
 * table_cnt([T]), table_avl([T]) (HAProxy 2.6's stick-table sample fetches).
 *
 * shared: compiled expressions are immutable; evaluation reads and writes entries through
 * stktable.h's lock-free calls and allocates nothing (src_inc_* creates an entry, as HAProxy's
 * does). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance/acl-int.h"
#include "balance/sample-int.h"
#include "balance/stktable.h"

enum op { OP_GET, OP_INC, OP_CLR, OP_TRACKERS, OP_TRACKED, OP_KB, OP_CNT, OP_AVL };

static const struct {
    const char *name;
    int8_t dt;
    uint8_t op;
} ops[] = {
    {"conn_cur", SP_STK_CONN_CUR, OP_GET},
    {"conn_cnt", SP_STK_CONN_CNT, OP_GET},
    {"conn_rate", SP_STK_CONN_RATE, OP_GET},
    {"sess_cnt", SP_STK_SESS_CNT, OP_GET},
    {"sess_rate", SP_STK_SESS_RATE, OP_GET},
    {"http_req_cnt", SP_STK_HTTP_REQ_CNT, OP_GET},
    {"http_req_rate", SP_STK_HTTP_REQ_RATE, OP_GET},
    {"http_err_cnt", SP_STK_HTTP_ERR_CNT, OP_GET},
    {"http_err_rate", SP_STK_HTTP_ERR_RATE, OP_GET},
    {"bytes_in_rate", SP_STK_BYTES_IN_RATE, OP_GET},
    {"bytes_out_rate", SP_STK_BYTES_OUT_RATE, OP_GET},
    {"kbytes_in", SP_STK_BYTES_IN_CNT, OP_KB},
    {"kbytes_out", SP_STK_BYTES_OUT_CNT, OP_KB},
    {"gpc0", SP_STK_GPC0, OP_GET},
    {"gpc1", SP_STK_GPC1, OP_GET},
    {"get_gpc0", SP_STK_GPC0, OP_GET},
    {"get_gpc1", SP_STK_GPC1, OP_GET},
    {"gpc0_rate", SP_STK_GPC0_RATE, OP_GET},
    {"gpc1_rate", SP_STK_GPC1_RATE, OP_GET},
    {"get_gpt0", SP_STK_GPT0, OP_GET},
    {"server_id", SP_STK_SERVER_ID, OP_GET},
    {"inc_gpc0", SP_STK_GPC0, OP_INC},
    {"inc_gpc1", SP_STK_GPC1, OP_INC},
    {"clr_gpc0", SP_STK_GPC0, OP_CLR},
    {"clr_gpc1", SP_STK_GPC1, OP_CLR},
    {"trackers", -1, OP_TRACKERS},
    {"tracked", -1, OP_TRACKED},
};

/* occ: tracker 0..2, SC_ARG (sc_*: the tracker is the first argument), SRC, TABLE */
enum { SC_ARG = -1, SRC = -2, TABLE = -3 };

static int parse_name(const char *name, size_t len, int *ret_occ, int *ret_op)
{
    const char *s;
    size_t slen;

    if ((len == 9 && !memcmp(name, "table_cnt", 9)) ||
        (len == 9 && !memcmp(name, "table_avl", 9))) {
        *ret_occ = TABLE;
        *ret_op = name[6] == 'c' ? OP_CNT : OP_AVL;
        return 0;
    }
    if (len > 3 && !memcmp(name, "sc_", 3)) {
        *ret_occ = SC_ARG;
        s = name + 3;
    } else if (len > 4 && name[0] == 's' && name[1] == 'c' && name[2] >= '0' && name[2] <= '2' &&
               name[3] == '_') {
        *ret_occ = name[2] - '0';
        s = name + 4;
    } else if (len > 4 && !memcmp(name, "src_", 4)) {
        *ret_occ = SRC;
        s = name + 4;
    } else {
        return -1;
    }
    slen = len - (size_t)(s - name);
    /* HAProxy 2.6's gpc/gpt arrays (sc_get_gpc(IDX,SC), sc_inc_gpc, sc_clr_gpc, sc_gpc_rate,
     * sc_get_gpt, sc_http_fail_*...): known, not kept */
    static const char *const arrays[] = {"get_gpc",        "inc_gpc",    "clr_gpc",
                                         "gpc_rate",       "get_gpt",    "http_fail_cnt",
                                         "http_fail_rate", "glitch_cnt", "glitch_rate"};
    for (size_t i = 0; i < sizeof(arrays) / sizeof(arrays[0]); i++)
        if (strlen(arrays[i]) == slen && !memcmp(arrays[i], s, slen))
            return -2;
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        if (strlen(ops[i].name) != slen || memcmp(ops[i].name, s, slen))
            continue;
        if (*ret_occ == SRC && ops[i].op == OP_TRACKED)
            return -1;
        *ret_op = (int)i;
        return 1;
    }
    return -1;
}

bool sp__stk_fetch_name(const char *name, size_t len)
{
    int occ, op;
    int r = parse_name(name, len, &occ, &op);
    return r >= 0 || r == -2;
}

int sp__stk_fetch_args(struct sp__acl_expr *e, const struct sp_acl_resolver *res, const char *name,
                       size_t len, char *a1, char *a2, const char *word, char *err, size_t errlen)
{
    int occ, op;
    int kind = parse_name(name, len, &occ, &op);
    const char *tname = a1;

    if (kind == -2)
        return sp__acl_fail(err, errlen,
                            "fetch method '%.*s' is not supported by spillway (the gpc/gpt array "
                            "and http_fail data types are not kept)",
                            (int)len, name);
    if (kind < 0)
        return sp__acl_fail(err, errlen, "unknown fetch method '%.*s'", (int)len, name);
    if (occ == SC_ARG) {
        char *end;
        long n = a1 ? strtol(a1, &end, 10) : -1;
        if (!a1 || !*a1 || *end || n < 0 || n >= SP_STK_NCTR)
            return sp__acl_fail(err, errlen,
                                "'%.*s' expects a sticky counter number 0 to 2 as its first "
                                "argument, in ACL expression '%s'",
                                (int)len, name, word);
        occ = (int)n;
        tname = a2;
    } else if (a2) {
        return sp__acl_fail(err, errlen, "too many arguments in ACL expression '%s'", word);
    }
    e->occ = occ;
    if (kind == 0) {
        e->cint = op;
        e->load = 0;
    } else {
        e->cint = ops[op].op;
        e->load = ops[op].dt < 0 ? 0 : (uint8_t)ops[op].dt;
    }
    e->stk = NULL;
    /* sc*: the tracked entry's own table unless one is named; src_* and table_*: the named
     * one or the proxy's own */
    if (tname && *tname) {
        e->stk = res && res->table ? res->table(res, tname) : NULL;
        if (!e->stk)
            return sp__acl_fail(err, errlen, "no stick-table '%s' in ACL expression '%s'", tname,
                                word);
    } else if (occ < 0) {
        e->stk = res && res->table ? res->table(res, NULL) : NULL;
        if (!e->stk)
            return sp__acl_fail(
                err, errlen, "'%s': this proxy has no stick-table (name one in parentheses)", word);
    }
    if (e->stk && kind == 1 && ops[op].dt >= 0 && !sp_stktable_stores(e->stk, ops[op].dt) &&
        !(ops[op].op == OP_INC &&
          sp_stktable_stores(e->stk,
                             ops[op].dt == SP_STK_GPC0 ? SP_STK_GPC0_RATE : SP_STK_GPC1_RATE)))
        return sp__acl_fail(err, errlen, "'%s': stick-table '%s' does not store '%s'", word,
                            sp_stktable_name(e->stk), sp_stk_dt_name(ops[op].dt));
    return 0;
}

int sp__stk_fetch_type(const struct sp__acl_expr *e)
{
    return e->cint == OP_TRACKED ? SP_SMP_BOOL : SP_SMP_SINT;
}

static bool src_key(const struct sp_stktable *t, const struct sp_acl_env *env, struct sp_stkkey *k)
{
    struct sp_smp v;

    if (!env->src)
        return false;
    if (env->src->ss_family == AF_INET) {
        v.type = SP_SMP_IPV4;
        v.u.v4 = ((const struct sockaddr_in *)env->src)->sin_addr;
    } else if (env->src->ss_family == AF_INET6) {
        v.type = SP_SMP_IPV6;
        v.u.v6 = ((const struct sockaddr_in6 *)env->src)->sin6_addr;
    } else {
        return false;
    }
    return sp_stktable_key_mt(t, &v, k);
}

static bool ret_int(struct sp_smp *out, int64_t v)
{
    out->type = SP_SMP_SINT;
    out->u.sint = v;
    return true;
}

/* The value of op on entry `en` of table `t` (NULL: no entry, the value is 0). */
static bool stk_value(struct sp_stktable *t, struct sp_stkentry *en, int op, int dt,
                      struct sp_smp *out)
{
    uint32_t now = sp_stk_now_ms();
    uint64_t v = 0;

    switch (op) {
    case OP_TRACKERS:
        return ret_int(out, en ? sp_stkentry_refs_mt(en) : 0);
    case OP_GET:
    case OP_KB:
        if (!sp_stktable_stores(t, (enum sp_stk_dt)dt))
            return false;
        if (en)
            sp_stk_get_mt(t, en, (enum sp_stk_dt)dt, now, &v);
        return ret_int(out, (int64_t)(op == OP_KB ? v >> 10 : v));
    case OP_INC: {
        int rate = dt == SP_STK_GPC0 ? SP_STK_GPC0_RATE : SP_STK_GPC1_RATE;
        if (!en)
            return ret_int(out, 0);
        sp_stk_add_mt(t, en, (enum sp_stk_dt)rate, 1, now);
        if (sp_stk_add_mt(t, en, (enum sp_stk_dt)dt, 1, now))
            sp_stk_get_mt(t, en, (enum sp_stk_dt)dt, now, &v);
        return ret_int(out, (int64_t)v);
    }
    case OP_CLR:
        if (!sp_stktable_stores(t, (enum sp_stk_dt)dt))
            return false;
        if (en) {
            sp_stk_get_mt(t, en, (enum sp_stk_dt)dt, now, &v);
            sp_stk_set_mt(t, en, (enum sp_stk_dt)dt, 0);
        }
        return ret_int(out, (int64_t)v);
    }
    return false;
}

bool sp__stk_fetch(const struct sp__acl_expr *e, const struct sp_acl_env *env, struct sp_smp *out)
{
    struct sp_stktable *t = e->stk;
    struct sp_stkentry *en = NULL;
    struct sp_stkkey k;
    uint32_t now = sp_stk_now_ms();

    if (e->occ == TABLE) {
        int64_t n = sp_stktable_count_mt(t);
        return ret_int(out, e->cint == OP_CNT ? n : (int64_t)sp_stktable_conf(t)->size - n);
    }
    if (e->occ == SRC) {
        if (!src_key(t, env, &k))
            return false;
        if (e->cint == OP_INC || e->cint == OP_CLR) {
            /* HAProxy's src_inc_gpc0 and src_clr_gpc0 create the entry */
            en = sp_stktable_get_mt(t, &k, now);
            bool ok = stk_value(t, en, e->cint, e->load, out);
            if (en)
                sp_stkentry_unref_mt(t, en, now);
            return ok;
        }
        en = sp_stktable_lookup_mt(t, &k, now);
        return stk_value(t, en, e->cint, e->load, out);
    }
    const struct sp_stkctr *c = env->stkctr ? &env->stkctr[e->occ] : NULL;
    if (e->cint == OP_TRACKED) {
        out->type = SP_SMP_BOOL;
        out->u.sint = c && c->e;
        return true;
    }
    if (!c || !c->e)
        return false; /* HAProxy: no tracked entry, the fetch fails */
    if (!t || t == c->t)
        return stk_value(c->t, c->e, e->cint, e->load, out);
    /* another table: the tracked entry's key looked up there */
    memset(&k, 0, sizeof(k));
    k.len = sp_stktable_conf(t)->keylen;
    unsigned kl = sp_stktable_conf(c->t)->keylen;
    memcpy(k.b, sp_stkentry_key(c->e), kl < k.len ? kl : k.len);
    en = sp_stktable_lookup_mt(t, &k, now);
    return stk_value(t, en, e->cint, e->load, out);
}

/* ---- converters: table_*(T), in_table(T) ---- */

enum { OP_IN = 100 };

int sp__stk_conv_parse(const char *name, size_t nlen, const char *arg, int argc,
                       const struct sp_acl_resolver *res, struct sp_stktable **ret_t, int *ret_op,
                       int *ret_dt, char *err, size_t errlen)
{
    char nm[64];

    snprintf(nm, sizeof(nm), "%.*s", (int)nlen, name);
    if (!strcmp(nm, "in_table")) {
        *ret_op = OP_IN;
        *ret_dt = 0;
    } else {
        const char *s = nm + 6;
        size_t i;
        for (i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
            if (!strcmp(ops[i].name, s) && ops[i].op != OP_INC && ops[i].op != OP_CLR &&
                ops[i].op != OP_TRACKED && strncmp(s, "get_", 4))
                break;
        if (!strcmp(s, "server_id") || !strcmp(s, "gpt0")) {
            *ret_op = OP_GET;
            *ret_dt = s[0] == 's' ? SP_STK_SERVER_ID : SP_STK_GPT0;
        } else if (i < sizeof(ops) / sizeof(ops[0])) {
            *ret_op = ops[i].op;
            *ret_dt = ops[i].dt < 0 ? 0 : ops[i].dt;
        } else if (!strcmp(s, "expire") || !strcmp(s, "idle") || !strncmp(s, "gpc", 3) ||
                   !strncmp(s, "gpt", 3) || !strncmp(s, "http_fail", 9)) {
            return sp__acl_fail(err, errlen, "converter '%s' is not supported by spillway", nm);
        } else {
            return sp__acl_fail(err, errlen, "unknown converter '%s'", nm);
        }
    }
    if (argc != 1 || !arg || !*arg)
        return sp__acl_fail(err, errlen, "converter '%s' expects a table name", nm);
    *ret_t = res && res->table ? res->table(res, arg) : NULL;
    if (!*ret_t)
        return sp__acl_fail(err, errlen, "converter '%s': no stick-table '%s'", nm, arg);
    if (*ret_op == OP_GET || *ret_op == OP_KB) {
        if (!sp_stktable_stores(*ret_t, (enum sp_stk_dt) * ret_dt))
            return sp__acl_fail(err, errlen, "converter '%s': stick-table '%s' does not store '%s'",
                                nm, arg, sp_stk_dt_name(*ret_dt));
    }
    return 0;
}

bool sp__stk_conv(struct sp_stktable *t, int op, int dt, struct sp_smp *v)
{
    struct sp_stkkey k;
    uint32_t now = sp_stk_now_ms();

    if (!sp_stktable_key_mt(t, v, &k))
        return false;
    struct sp_stkentry *en = sp_stktable_lookup_mt(t, &k, now);
    if (op == OP_IN) {
        v->type = SP_SMP_BOOL;
        v->u.sint = en != NULL;
        return true;
    }
    return stk_value(t, en, op, dt, v);
}
