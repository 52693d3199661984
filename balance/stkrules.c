/* balance/stkrules.c - persistence on stick tables: `stick on|match|store-request|
 * store-response PATTERN [table T] [if|unless COND]` (HAProxy 2.6), see stktable.h.
 *
 * The key is read when the server is chosen, from the connection (src, dst, ports...) or, in
 * an http backend, from the request as it goes to the server (after the http-request rules,
 * as HAProxy's sticking rules run): req.cook(), hdr(), url_param()... A tcp backend's keys
 * come from the connection only (patterns that read the bytes are refused as not supported by
 * spillway). `stick on` matches then stores; the server stored is the one chosen first (a
 * redispatch does not rewrite it). `stick store-response` (http backends) reads the server's
 * response head (res.cook(), res.hdr()...) and stores the server that sent it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "balance/health.h"
#include "balance/stktable.h"
#include "core/log.h"

/* the table a rule names (`table T`), or the proxy's own */
static const char *rule_table(const struct sp_cfg_rule *u, const char *own)
{
    for (int i = 2; i + 1 < u->nwords; i++) {
        if (!strcmp(u->words[i], "if") || !strcmp(u->words[i], "unless"))
            break;
        if (!strcmp(u->words[i], "table"))
            return u->words[i + 1];
    }
    return own;
}

bool sp_stick_uses_table(const struct sp_config *cfg, const char *name)
{
    for (const struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next)
        for (const struct sp_cfg_rule *u = p->stick_rules; u; u = u->next)
            if (!strcmp(rule_table(u, p->name), name))
                return true;
    return false;
}

static int alert(FILE *diag, const struct sp_cfg_rule *u, const char *msg)
{
    if (diag) {
        char file[1024], text[1024];
        sp_log_escape(file, sizeof(file), u->where.file, strlen(u->where.file));
        sp_log_escape(text, sizeof(text), msg, strlen(msg));
        fprintf(diag, "[ALERT] %s:%d: 'stick %s': %s\n", file, u->where.line, u->words[0], text);
    }
    return 1;
}

static int compile_one(struct sp_backend *be, struct sp_stick_rule *sr, const struct sp_cfg_rule *u,
                       const struct sp_acl_set *acls, const struct sp_acl_resolver *res, FILE *diag)
{
    char err[512], msg[700];
    const char *k = u->words[0];
    int i = 2;

    sr->match = !strcmp(k, "on") || !strcmp(k, "match");
    sr->store = !strcmp(k, "on") || !strcmp(k, "store-request");
    sr->response = !strcmp(k, "store-response");
    if (sr->response && be->mode != SP_MODE_HTTP)
        return alert(diag, u,
                     "in a tcp backend: not supported by spillway (it reads an HTTP response "
                     "head)");
    struct sp_acl_resolver rres = *res;
    if (sr->response)
        rres.what = SP_ACL_CTX_HTTP_RES;
    sr->expr = sp_smp_compile(u->words[1], strlen(u->words[1]), &rres, err, sizeof(err));
    if (!sr->expr && be->mode == SP_MODE_HTTP) {
        /* an http backend's key may read the request */
        rres.what = SP_ACL_CTX_HTTP;
        sr->expr = sp_smp_compile(u->words[1], strlen(u->words[1]), &rres, err, sizeof(err));
        be->stick_req |= sr->expr != NULL;
    }
    if (!sr->expr) {
        /* say so when the pattern is fine but reads the request */
        struct sp_acl_resolver http = *res;
        http.what = SP_ACL_CTX_HTTP;
        struct sp_smp_expr *e = sp_smp_compile(u->words[1], strlen(u->words[1]), &http, msg, 2);
        if (e) {
            sp_smp_free(e);
            snprintf(msg, sizeof(msg),
                     "pattern '%s' reads the request bytes: not supported by spillway (a tcp "
                     "backend's stick key comes from the connection: src, dst, src_port, "
                     "dst_port...)",
                     u->words[1]);
            return alert(diag, u, msg);
        }
        return alert(diag, u, err);
    }
    const char *tn = NULL;
    if (i < u->nwords && !strcmp(u->words[i], "table")) {
        if (i + 1 >= u->nwords)
            return alert(diag, u, "'table' expects a table name");
        tn = u->words[i + 1];
        i += 2;
    }
    sr->t = res->table(res, tn);
    if (!sr->t) {
        snprintf(msg, sizeof(msg), tn ? "no stick-table '%s'" : "%s",
                 tn ? tn : "this backend has no stick-table (name one with 'table')");
        return alert(diag, u, msg);
    }
    if (i < u->nwords) {
        if (strcmp(u->words[i], "if") && strcmp(u->words[i], "unless")) {
            snprintf(msg, sizeof(msg), "unexpected '%s' (expects 'table', 'if' or 'unless')",
                     u->words[i]);
            return alert(diag, u, msg);
        }
        sr->cond = sp_acl_cond_parse(acls, &rres, u->words + i, u->nwords - i, err, sizeof(err));
        if (!sr->cond && be->mode == SP_MODE_HTTP && rres.what == SP_ACL_CTX_CONN) {
            rres.what = SP_ACL_CTX_HTTP; /* the condition reads the request */
            sr->cond =
                sp_acl_cond_parse(acls, &rres, u->words + i, u->nwords - i, err, sizeof(err));
            be->stick_req |= sr->cond != NULL;
        }
        if (!sr->cond)
            return alert(diag, u, err);
    }
    return 0;
}

int sp_stick_compile(struct sp_routing *r, const struct sp_config *cfg, FILE *diag)
{
    int errors = 0;

    for (const struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        if (!p->stick_rules || !(p->cap & SP_CAP_BE))
            continue;
        struct sp_backend *be = sp_routing_backend(r, p->name);
        struct sp_frontend *fe = (p->cap & SP_CAP_FE) ? sp_routing_frontend(r, p->name) : NULL;
        if (!be)
            continue;
        int n = 0;
        for (const struct sp_cfg_rule *u = p->stick_rules; u; u = u->next)
            n++;
        if (!(be->stick = calloc((size_t)n, sizeof(*be->stick))))
            return -ENOMEM;
        struct sp_acl_resolver res;
        sp_routing_resolver(r, fe ? fe->idx : -1, be->idx, SP_ACL_CTX_CONN, &res);
        const struct sp_acl_set *acls = sp_routing_acls(r, fe ? fe->idx : -1, be->idx);
        for (const struct sp_cfg_rule *u = p->stick_rules; u; u = u->next) {
            struct sp_stick_rule *sr = &be->stick[be->nstick];
            if (compile_one(be, sr, u, acls, &res, diag)) {
                sp_smp_free(sr->expr);
                sp_acl_cond_free(sr->cond);
                memset(sr, 0, sizeof(*sr));
                errors++;
                continue;
            }
            be->stick_res |= sr->response;
            be->nstick++;
        }
    }
    return errors;
}

void sp_stick_free(struct sp_backend *be)
{
    for (int i = 0; i < be->nstick; i++) {
        sp_smp_free(be->stick[i].expr);
        sp_acl_cond_free(be->stick[i].cond);
    }
    free(be->stick);
    be->stick = NULL;
    be->nstick = 0;
}

static bool rule_key(const struct sp_stick_rule *sr, const struct sp_acl_env *env,
                     struct sp_stkkey *k)
{
    struct sp_smp v;

    if (sr->cond && !sp_acl_cond_eval(sr->cond, env))
        return false;
    return sp_smp_eval(sr->expr, env, &v) && sp_stktable_key_mt(sr->t, &v, k);
}

const struct sp_server *sp_stick_match_mt(const struct sp_backend *be, const struct sp_acl_env *env)
{
    uint32_t now = sp_stk_now_ms();
    struct sp_stkkey k;

    for (int i = 0; i < be->nstick; i++) {
        const struct sp_stick_rule *sr = &be->stick[i];
        uint64_t id;
        if (!sr->match || !rule_key(sr, env, &k))
            continue;
        struct sp_stkentry *e = sp_stktable_lookup_mt(sr->t, &k, now);
        if (!e || !sp_stk_get_mt(sr->t, e, SP_STK_SERVER_ID, now, &id) || !id)
            continue;
        for (int j = 0; j < be->nsrv; j++) {
            const struct sp_server *s = be->srv[j];
            /* HAProxy: a server that is down (or in maintenance) is not kept without
             * `option persist`, which spillway does not have */
            if ((uint64_t)s->id == id && sp_srv_lbw(s->h) > 0)
                return s;
        }
    }
    return NULL;
}

/* Stores `s` under the key of every rule that `response` selects (store-request and on, or
 * store-response) and applies. */
static void store(const struct sp_backend *be, const struct sp_acl_env *env,
                  const struct sp_server *s, bool response)
{
    uint32_t now = sp_stk_now_ms();
    struct sp_stkkey k;

    for (int i = 0; i < be->nstick; i++) {
        const struct sp_stick_rule *sr = &be->stick[i];
        if (!(response ? sr->response : sr->store) || !rule_key(sr, env, &k))
            continue;
        struct sp_stkentry *e = sp_stktable_get_mt(sr->t, &k, now);
        if (!e)
            continue;
        sp_stk_set_mt(sr->t, e, SP_STK_SERVER_ID, (uint64_t)s->id);
        sp_stkentry_unref_mt(sr->t, e, now);
    }
}

void sp_stick_store_mt(const struct sp_backend *be, const struct sp_acl_env *env,
                       const struct sp_server *s)
{
    store(be, env, s, false);
}

void sp_stick_store_res_mt(const struct sp_backend *be, const struct sp_acl_env *env,
                           const struct sp_server *s)
{
    store(be, env, s, true);
}
