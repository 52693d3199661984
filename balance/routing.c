#include "balance/balance.h"
#include "balance/userlist.h"
#include "balance/stktable.h"
#include "balance/tcpchk.h"

#include <ck_pr.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <urcu/urcu-qsbr.h>

#include "core/log.h"
#include "core/timer.h"

/* shared: the published snapshot (RCU pointer) */
static struct sp_routing *current;
static unsigned generation;

static void fwdfor_copy(struct sp_cfg_forwardfor *dst, const struct sp_cfg_forwardfor *src)
{
    *dst = *src;
    dst->header = src->header ? strdup(src->header) : NULL;
}

static void routing_free(struct sp_routing *r)
{
    if (!r)
        return;
    for (int i = 0; i < r->nstk; i++)
        sp_stktable_free(r->stk[i]);
    free(r->stk);
    for (int i = 0; i < r->nsrv; i++) {
        free(r->srv[i]->name);
        free(r->srv[i]->fqdn);
        free(r->srv[i]->srv_target);
        free(r->srv[i]->cookie);
        free(r->srv[i]->resolvers);
        free(r->srv[i]);
    }
    for (int i = 0; i < r->nfe; i++) {
        struct sp_frontend *fe = r->fe[i];
        for (int j = 0; j < fe->nmonitor_fail; j++)
            sp_acl_cond_free(fe->monitor_fail[j]);
        free(fe->monitor_fail);
        free(fe->monitor_uri);
        free(fe->desc);
        sp_cfg_comp_free(fe->comp);
        free(fe->stats_realm);
        free(fe->stats_node);
        free(fe->stats_desc);
        for (int j = 0; j < fe->nstats_scope; j++)
            free(fe->stats_scope[j]);
        free(fe->stats_scope);
        sp_acl_cond_free(r->fe[i]->prom_cond);
        for (int j = 0; j < fe->nstats_rules; j++) {
            free(fe->stats_rules[j].realm);
            sp_acl_cond_free(fe->stats_rules[j].cond);
        }
        free(fe->stats_rules);
        for (int j = 0; j < fe->nstats_admin; j++)
            sp_acl_cond_free(fe->stats_admin[j]);
        free(fe->stats_admin);
        free(r->fe[i]->stats_uri);
        for (int j = 0; j < r->fe[i]->nstats_auth; j++)
            free(r->fe[i]->stats_auth[j]);
        free(r->fe[i]->stats_auth);
        for (int j = 0; j < r->fe[i]->nrules; j++)
            sp_acl_cond_free(r->fe[i]->rules[j].cond);
        free(r->fe[i]->rules);
        for (int j = 0; j < r->fe[i]->ntcp_conn; j++) {
            sp_acl_cond_free(r->fe[i]->tcp_conn[j].cond);
            sp_smp_free(r->fe[i]->tcp_conn[j].expr);
            sp_stkact_free(r->fe[i]->tcp_conn[j].stk);
        }
        free(r->fe[i]->tcp_conn);
        for (int j = 0; j < r->fe[i]->ntcp_content; j++) {
            sp_acl_cond_free(r->fe[i]->tcp_content[j].cond);
            sp_smp_free(r->fe[i]->tcp_content[j].expr);
            sp_stkact_free(r->fe[i]->tcp_content[j].stk);
        }
        free(r->fe[i]->tcp_content);
        for (int j = 0; j < r->fe[i]->ntcp_session; j++) {
            sp_acl_cond_free(r->fe[i]->tcp_session[j].cond);
            sp_smp_free(r->fe[i]->tcp_session[j].expr);
            sp_stkact_free(r->fe[i]->tcp_session[j].stk);
        }
        free(r->fe[i]->tcp_session);
        sp_acl_set_free(r->fe[i]->acls);
    }
    for (int i = 0; i < r->nbe; i++) {
        struct sp_be_check *c = &r->be[i]->chk;
        free(c->req);
        free(c->pat);
        if (c->has_re)
            regfree(&c->re);
        sp__tcpchk_free(c);
        sp_stick_free(r->be[i]);
        sp_acl_set_free(r->be[i]->acls);
        for (int j = 0; j < r->be[i]->ntcp_content; j++) {
            sp_acl_cond_free(r->be[i]->tcp_content[j].cond);
            sp_smp_free(r->be[i]->tcp_content[j].expr);
            sp_stkact_free(r->be[i]->tcp_content[j].stk);
        }
        free(r->be[i]->tcp_content);
        for (int j = 0; j < r->be[i]->ntcp_res; j++) {
            sp_acl_cond_free(r->be[i]->tcp_res[j].cond);
            sp_stkact_free(r->be[i]->tcp_res[j].stk);
        }
        free(r->be[i]->tcp_res);
        free(r->be[i]->name);
        free(r->be[i]->srv);
        free(r->be[i]->fwdfor.header);
        free(r->be[i]->lb.arg.name);
        free(r->be[i]->desc);
        free(r->be[i]->ck);
        sp_cfg_comp_free(r->be[i]->comp);
        free(r->be[i]);
    }
    for (int i = 0; i < r->nfe; i++) {
        free(r->fe[i]->name);
        free(r->fe[i]->fwdfor.header);
        free(r->fe[i]);
    }
    free(r->srv);
    free(r->health);
    free(r->be_health);
    free(r->be);
    free(r->fe);
    /* last: every expression compiled against a userlist is gone */
    for (int i = 0; i < r->nuserlists; i++)
        sp_userlist_free(r->userlists[i]);
    free(r->userlists);
    free(r);
}

/* A backend's check, compiled: the request bytes HAProxy sends (its h1 mux's rules: the
 * configured headers in order, then `connection: close` for HTTP/1.1 unless one was given;
 * a content-length only with a body), and the expectation. */
static int compile_check(struct sp_be_check *c, const struct sp_cfg_proxy *p, FILE *diag)
{
    const struct sp_cfg_httpchk *h = &p->httpchk;
    const char *meth = h->meth ? h->meth : "OPTIONS", *uri = h->uri ? h->uri : "/";
    const char *ver = h->ver ? h->ver : "HTTP/1.0", *hdrs = h->hdrs ? h->hdrs : "";
    bool v11 = strcmp(ver, "HTTP/1.1") == 0;
    bool has_conn = strncmp(hdrs, "connection:", 11) == 0 || strstr(hdrs, "\nconnection:");
    char clen[48] = "";
    size_t blen = h->body ? strlen(h->body) : 0;

    c->t_check = p->to.check;
    c->t_connect = p->to.connect;
    if (!h->enabled) {
        if (h->expect != SP_EXPECT_DEFAULT || h->hdrs || h->meth || h->body || h->disable_on_404)
            if (diag)
                fprintf(diag,
                        "[WARNING] %s:%d: backend '%s' uses http-check rules without 'option "
                        "httpchk', so the rules are ignored.\n",
                        p->where.file, p->where.line, p->name);
        return 0;
    }
    c->http = true;
    c->disable_on_404 = h->disable_on_404;
    if (blen)
        snprintf(clen, sizeof(clen), "content-length: %zu\r\n", blen);
    size_t n = strlen(meth) + strlen(uri) + strlen(ver) + strlen(hdrs) + strlen(clen) + blen + 64;
    c->req = malloc(n);
    if (!c->req)
        return -ENOMEM;
    int len = snprintf(c->req, n, "%s %s %s\r\n%s%s%s\r\n", meth, uri, ver, hdrs, clen,
                       v11 && !has_conn ? "connection: close\r\n" : "");
    if (blen)
        memcpy(c->req + len, h->body, blen);
    c->reqlen = (size_t)len + blen;
    c->expect = h->expect;
    c->expect_neg = h->expect_neg;
    if (h->expect_pat && !(c->pat = strdup(h->expect_pat)))
        return -ENOMEM;
    if (h->expect == SP_EXPECT_RSTATUS || h->expect == SP_EXPECT_RSTRING) {
        if (regcomp(&c->re, h->expect_pat, REG_EXTENDED | REG_NOSUB) != 0)
            return -EINVAL; /* checked by the parser */
        c->has_re = true;
    }
    return 0;
}

/* A server's check settings, resolved as HAProxy does: fastinter and downinter default to
 * inter (2 s by default); the check goes to `addr` and `port` when given, else to the
 * server's own address. */
static void server_check(struct sp_server *s, const struct sp_cfg_server *cs)
{
    s->check = cs->check;
    s->rise = cs->rise;
    s->fall = cs->fall;
    s->inter = cs->inter != SP_TIME_UNSET ? cs->inter : 2000;
    s->fastinter = cs->fastinter != SP_TIME_UNSET ? cs->fastinter : s->inter;
    s->downinter = cs->downinter != SP_TIME_UNSET ? cs->downinter : s->inter;
    s->chk_addr = cs->addr;
    s->chk_addrlen = cs->addrlen;
    s->chk_port = (uint16_t)cs->check_port;
    s->chk_follow = true;
    s->pp_opts = cs->pp_opts;
    s->on_down_shutdown = cs->on_down_shutdown;
    s->on_up_shutdown_bk = cs->on_up_shutdown_bk;
    /* HAProxy's check.c: the check uses the server's PROXY setting unless it has its own
     * port or address; check-send-proxy forces it */
    s->chk_send_proxy =
        cs->check_send_proxy > 0 ||
        (cs->check_send_proxy < 0 && (cs->pp_opts & (SP_CFG_PP_V1 | SP_CFG_PP_V2)) &&
         !cs->check_port && cs->check_addr.ss_family == AF_UNSPEC);
    if (cs->check_addr.ss_family == AF_INET || cs->check_addr.ss_family == AF_INET6) {
        s->chk_follow = false;
        uint16_t port = cs->check_addr.ss_family == AF_INET
                            ? ((const struct sockaddr_in *)&cs->check_addr)->sin_port
                            : ((const struct sockaddr_in6 *)&cs->check_addr)->sin6_port;
        s->chk_addr = cs->check_addr;
        s->chk_addrlen = cs->check_addrlen;
        if (!port) { /* no port in `addr`: the server's */
            uint16_t sp = ((const struct sockaddr_in *)&cs->addr)->sin_port;
            if (s->chk_addr.ss_family == AF_INET)
                ((struct sockaddr_in *)&s->chk_addr)->sin_port = sp;
            else
                ((struct sockaddr_in6 *)&s->chk_addr)->sin6_port = sp;
        }
    }
    if (cs->check_port && s->chk_addr.ss_family != AF_UNIX) {
        uint16_t port = htons((uint16_t)cs->check_port);
        if (s->chk_addr.ss_family == AF_INET)
            ((struct sockaddr_in *)&s->chk_addr)->sin_port = port;
        else
            ((struct sockaddr_in6 *)&s->chk_addr)->sin6_port = port;
    }
}

/* A backend's `balance` and `hash-type`, resolved. */
static int backend_lb(struct sp_backend *be, const struct sp_cfg_proxy *p, FILE *diag)
{
    struct sp_be_lb *lb = &be->lb;
    bool l7 = p->balance == SP_BALANCE_URI || p->balance == SP_BALANCE_URL_PARAM ||
              p->balance == SP_BALANCE_HDR;

    lb->algo = p->balance;
    lb->arg = p->lb;
    lb->arg.name = NULL;
    if (p->lb.name && !(lb->arg.name = strdup(p->lb.name)))
        return -ENOMEM;
    if (l7 && p->mode != SP_MODE_HTTP) {
        if (diag)
            fprintf(diag,
                    "[WARNING] %s:%d: Layer 7 hash not possible for backend '%s' (needs 'mode "
                    "http'). Falling back to round robin.\n",
                    p->where.file, p->where.line, p->name);
        lb->algo = SP_BALANCE_ROUNDROBIN;
    }
    /* HAProxy's init_server_map(): the GCD of the configured non-zero weights, backups
     * included, once and for all (a runtime weight change does not redo it) */
    lb->wgcd = 0;
    for (const struct sp_cfg_server *cs = p->servers; cs; cs = cs->next) {
        int a = lb->wgcd, b = cs->weight;
        while (b) {
            int t = a % b;
            a = b;
            b = t;
        }
        lb->wgcd = a;
    }
    if (lb->wgcd < 1)
        lb->wgcd = 1;
    return 0;
}

/* HAProxy's default fullconn (proxy.c): 10% of the summed maxconn of the frontends that can
 * route to the backend (default_backend or use_backend), rounded up, at least 1 */
static void default_fullconn(struct sp_routing *r)
{
    for (int b = 0; b < r->nbe; b++) {
        struct sp_backend *be = r->be[b];
        int64_t sum = 0;
        if (be->fullconn)
            continue;
        for (int i = 0; i < r->nfe; i++) {
            const struct sp_frontend *fe = r->fe[i];
            bool uses = fe->defbe == be;
            for (int k = 0; k < fe->nrules && !uses; k++)
                uses = fe->rules[k].be == be;
            if (uses && !fe->disabled)
                sum += fe->maxconn;
        }
        sum = (sum + 9) / 10;
        be->fullconn = sum < 1 ? 1 : sum > INT32_MAX ? INT32_MAX : (int)sum;
    }
}

int sp_server_dynamic_maxconn(const struct sp_server *s, int64_t beconn)
{
    const struct sp_backend *be = s->be;
    int64_t max;

    if (beconn >= be->fullconn || s->minconn == s->maxconn)
        return s->maxconn;
    max = beconn * s->maxconn / be->fullconn;
    return (int)(max > s->minconn ? max : s->minconn);
}

static struct sp_backend *find_be(struct sp_routing *r, const char *name)
{
    for (int i = 0; i < r->nbe; i++)
        if (!strcmp(r->be[i]->name, name))
            return r->be[i];
    return NULL;
}

static int res_frontend(const void *ctx, const char *name)
{
    const struct sp_routing *r = ctx;
    for (int i = 0; i < r->nfe; i++)
        if (!strcmp(r->fe[i]->name, name))
            return i;
    return -1;
}

static int res_backend(const void *ctx, const char *name)
{
    const struct sp_routing *r = ctx;
    for (int i = 0; i < r->nbe; i++)
        if (!strcmp(r->be[i]->name, name))
            return i;
    return -1;
}

static const struct sp_userlist *res_userlist(const void *ctx, const char *name)
{
    const struct sp_routing *r = ctx;
    for (int i = 0; i < r->nuserlists; i++)
        if (!strcmp(sp_userlist_name(r->userlists[i]), name))
            return r->userlists[i];
    return NULL;
}

/* The stick-table named `name` (a proxy's name), or the resolving proxy's own (NULL). */
static struct sp_stktable *res_table(const struct sp_acl_resolver *res, const char *name)
{
    const struct sp_routing *r = res->ctx;

    if (!name) {
        if (res->self_fe >= 0 && res->self_fe < r->nfe)
            name = r->fe[res->self_fe]->name;
        else if (res->self_be >= 0 && res->self_be < r->nbe)
            name = r->be[res->self_be]->name;
        else
            return NULL;
    }
    for (int i = 0; i < r->nstk; i++)
        if (!strcmp(sp_stktable_name(r->stk[i]), name))
            return r->stk[i];
    return NULL;
}

static int res_server(const void *ctx, const char *be, const char *srv)
{
    const struct sp_routing *r = ctx;
    int b = res_backend(ctx, be);
    if (b < 0)
        return -1;
    for (int i = 0; i < r->be[b]->nsrv; i++)
        if (!strcmp(r->be[b]->srv[i]->name, srv))
            return r->be[b]->srv[i]->idx;
    return -1;
}

/* One line per diagnostic, whatever the configuration's words hold: a message quoting a word
 * with a newline or an escape sequence in it must not forge lines of its own. */
static void diag_rule(FILE *diag, const struct sp_cfg_rule *rule, const char *kw, const char *msg)
{
    char file[1024], text[2048];

    if (!diag)
        return;
    sp_log_escape(file, sizeof(file), rule->where.file, strlen(rule->where.file));
    sp_log_escape(text, sizeof(text), msg, strlen(msg));
    fprintf(diag, "[ALERT] %s:%d: '%s': %s\n", file, rule->where.line, kw, text);
}

/* Compiles a proxy's `acl` lines into `set`; returns the number of errors. */
static int compile_acls(struct sp_acl_set *set, const struct sp_acl_resolver *res,
                        const struct sp_cfg_rule *acls, FILE *diag)
{
    int errors = 0;
    char err[512];

    for (const struct sp_cfg_rule *a = acls; a; a = a->next) {
        if (sp_acl_declare(set, res, a->words, a->nwords, err, sizeof(err)) < 0) {
            diag_rule(diag, a, "acl", err);
            errors++;
        }
    }
    return errors;
}

/* Compiles the use_backend rules of one frontend; returns the number of errors, -ENOMEM. */
static int compile_rules(struct sp_routing *r, struct sp_frontend *fe, const struct sp_cfg_proxy *p,
                         const struct sp_acl_resolver *res, FILE *diag)
{
    int n = 0, errors = 0;
    char err[512];

    for (const struct sp_cfg_rule *u = p->use_backends; u; u = u->next)
        n++;
    fe->rules = calloc((size_t)(n ? n : 1), sizeof(*fe->rules));
    if (!fe->rules)
        return -ENOMEM;
    const struct sp_cfg_rule *pc = p->prometheus_cond;
    if (pc && fe->mode == SP_MODE_HTTP) {
        fe->prom_cond = sp_acl_cond_parse(fe->acls, res, pc->words, pc->nwords, err, sizeof(err));
        if (!fe->prom_cond) {
            diag_rule(diag, pc, "http-request", err);
            errors++;
        }
    }
    int nmon = 0;
    for (const struct sp_cfg_rule *m = p->monitor_fail; m; m = m->next)
        nmon++;
    if (nmon && !(fe->monitor_fail = calloc((size_t)nmon, sizeof(*fe->monitor_fail))))
        return -ENOMEM;
    for (const struct sp_cfg_rule *m = p->monitor_fail; m; m = m->next) {
        struct sp_acl_cond *c =
            sp_acl_cond_parse(fe->acls, res, m->words, m->nwords, err, sizeof(err));
        if (!c) {
            diag_rule(diag, m, "monitor fail", err);
            errors++;
            continue;
        }
        fe->monitor_fail[fe->nmonitor_fail++] = c;
    }
    for (const struct sp_cfg_rule *u = p->use_backends; u; u = u->next) {
        struct sp_switch_rule *rule = &fe->rules[fe->nrules];
        int b = res_backend(r, u->words[0]);
        if (b < 0) {
            snprintf(err, sizeof(err), "unable to find required use_backend: '%s'", u->words[0]);
            diag_rule(diag, u, "use_backend", err);
            errors++;
            continue;
        }
        /* a tcp frontend may route to an http backend: the connection is upgraded to HTTP
         * (http/tcp.c); the other way round is refused, as HAProxy does */
        if (r->be[b]->mode != fe->mode && fe->mode != SP_MODE_TCP) {
            snprintf(err, sizeof(err), "backend '%s' has another mode than frontend '%s'",
                     u->words[0], fe->name);
            diag_rule(diag, u, "use_backend", err);
            errors++;
            continue;
        }
        rule->be = r->be[b];
        rule->line = u->where.line;
        if (u->nwords > 1) {
            rule->cond =
                sp_acl_cond_parse(fe->acls, res, u->words + 1, u->nwords - 1, err, sizeof(err));
            if (!rule->cond) {
                diag_rule(diag, u, "use_backend", err);
                errors++;
                continue;
            }
        }
        fe->nrules++;
    }
    return errors;
}

/* Compiles `tcp-request connection|content` rules (words: ACTION [if|unless COND...]) into
 * *ret (n entries); returns the number of errors, -ENOMEM. */
/* `set-var(SCOPE.NAME) EXPR` or `unset-var(SCOPE.NAME)` of a tcp-request rule: proc.* and
 * sess.* only (HAProxy refuses txn.* before a stream exists in connection and session rules;
 * spillway's content rules run before the stream too). 0 or -EINVAL with a message. */
static int compile_tcp_var(struct sp_tcp_rule *rule, const struct sp_cfg_rule *u,
                           const struct sp_acl_resolver *res, const char *kw, char *err,
                           size_t errlen)
{
    const char *w = u->words[0], *open = strchr(w, '('), *close = strrchr(w, ')');

    rule->action = w[0] == 's' ? SP_TCP_SET_VAR : SP_TCP_UNSET_VAR;
    if (!open || !close || close[1] || close == open + 1) {
        snprintf(err, errlen, "'%s' expects a variable name between parentheses", w);
        return -EINVAL;
    }
    if (sp_var_ref_parse(open + 1, (size_t)(close - open - 1), &rule->var, err, errlen) < 0)
        return -EINVAL;
    /* an http proxy's content rules run per stream, with its transaction (http/route.c) */
    bool txn = res->what == SP_ACL_CTX_HTTP &&
               (rule->var.scope == SP_VAR_TXN || rule->var.scope == SP_VAR_REQ);
    if (rule->var.scope != SP_VAR_PROC && rule->var.scope != SP_VAR_SESS && !txn) {
        snprintf(err, errlen,
                 "'%s': a %s rule runs before any transaction: only proc.* and sess.* "
                 "variables (not supported by spillway for the other scopes)",
                 w, kw);
        return -EINVAL;
    }
    if (rule->action == SP_TCP_SET_VAR) {
        rule->expr = sp_smp_compile(u->words[1], strlen(u->words[1]), res, err, errlen);
        if (!rule->expr)
            return -EINVAL;
    }
    return 0;
}

void sp_tcp_rule_var(const struct sp_tcp_rule *r, const struct sp_acl_env *env)
{
    struct sp_smp v;

    if (r->action == SP_TCP_UNSET_VAR)
        sp_var_unset(env, &r->var);
    else if (sp_smp_eval(r->expr, env, &v))
        sp_var_set(env, &r->var, &v);
}

void sp_addr_set_dst(struct sockaddr_storage *d, const struct sp_smp *v, bool port_only)
{
    if (port_only) {
        if (v->type != SP_SMP_SINT || v->u.sint < 0 || v->u.sint > 65535)
            return;
        if (d->ss_family == AF_INET)
            ((struct sockaddr_in *)d)->sin_port = htons((uint16_t)v->u.sint);
        else if (d->ss_family == AF_INET6)
            ((struct sockaddr_in6 *)d)->sin6_port = htons((uint16_t)v->u.sint);
        return;
    }
    uint16_t port = d->ss_family == AF_INET    ? ((struct sockaddr_in *)d)->sin_port
                    : d->ss_family == AF_INET6 ? ((struct sockaddr_in6 *)d)->sin6_port
                                               : 0;
    if (v->type == SP_SMP_IPV4) {
        struct sockaddr_in *a = (struct sockaddr_in *)d;
        memset(d, 0, sizeof(*d));
        a->sin_family = AF_INET;
        a->sin_addr = v->u.v4;
        a->sin_port = port;
    } else if (v->type == SP_SMP_IPV6) {
        struct sockaddr_in6 *a = (struct sockaddr_in6 *)d;
        memset(d, 0, sizeof(*d));
        a->sin6_family = AF_INET6;
        a->sin6_addr = v->u.v6;
        a->sin6_port = port;
    }
}

static int compile_tcp_rules(struct sp_acl_set *acls, const struct sp_cfg_rule *rules,
                             const struct sp_acl_resolver *res, const char *kw,
                             struct sp_tcp_rule **ret, int *ret_n, FILE *diag)
{
    int n = 0, errors = 0;
    char err[512];

    for (const struct sp_cfg_rule *u = rules; u; u = u->next)
        n++;
    if (!n)
        return 0;
    *ret = calloc((size_t)n, sizeof(**ret));
    if (!*ret)
        return -ENOMEM;
    for (const struct sp_cfg_rule *u = rules; u; u = u->next) {
        struct sp_tcp_rule *rule = &(*ret)[*ret_n];
        rule->action = strcmp(u->words[0], "reject") == 0  ? SP_TCP_REJECT
                       : strcmp(u->words[0], "close") == 0 ? SP_TCP_CLOSE
                                                           : SP_TCP_ACCEPT;
        rule->line = u->where.line;
        int first = 1;
        if (!strcmp(u->words[0], "silent-drop"))
            rule->action = SP_TCP_SILENT_DROP; /* tcp-request connection only (cfgrules.c) */
        if (!strcmp(u->words[0], "expect-proxy")) {
            rule->action = SP_TCP_EXPECT_PROXY;
            first = 2; /* after `layer4` */
        }
        if (sp_stkact_is(u->words[0])) {
            /* track-sc*, sc-inc-gpc0|1, sc-set-gpt0: the walk goes on after them */
            rule->action = SP_TCP_STK;
            first = 1;
            rule->stk = sp_stkact_compile(res, u->words, u->nwords, &first, err, sizeof(err));
            if (!rule->stk) {
                diag_rule(diag, u, kw, err);
                errors++;
                continue;
            }
        }
        if ((!strcmp(u->words[0], "set-dst") || !strcmp(u->words[0], "set-dst-port")) &&
            res->what == SP_ACL_CTX_HTTP) {
            /* HAProxy 2.6 changes the stream's own address there (each request starts from
             * the connection's again): spillway's streams have none */
            snprintf(err, sizeof(err),
                     "'%s' in an http proxy's content rules is not supported by spillway (it "
                     "would change this request's destination only: use it in tcp-request "
                     "connection or session rules)",
                     u->words[0]);
            diag_rule(diag, u, kw, err);
            errors++;
            continue;
        }
        if (!strcmp(u->words[0], "set-dst") || !strcmp(u->words[0], "set-dst-port")) {
            rule->action = u->words[0][7] ? SP_TCP_SET_DST_PORT : SP_TCP_SET_DST;
            first = 2;
            rule->expr = sp_smp_compile(u->words[1], strlen(u->words[1]), res, err, sizeof(err));
            if (!rule->expr) {
                diag_rule(diag, u, kw, err);
                errors++;
                continue;
            }
        }
        if (!strncmp(u->words[0], "set-var(", 8) || !strncmp(u->words[0], "unset-var(", 10)) {
            if (compile_tcp_var(rule, u, res, kw, err, sizeof(err)) < 0) {
                diag_rule(diag, u, kw, err);
                errors++;
                continue;
            }
            first = rule->action == SP_TCP_SET_VAR ? 2 : 1;
        }
        if (u->nwords > first) {
            rule->cond =
                sp_acl_cond_parse(acls, res, u->words + first, u->nwords - first, err, sizeof(err));
            if (!rule->cond) {
                diag_rule(diag, u, kw, err);
                rule->stk = sp_stkact_free(rule->stk);
                sp_smp_free(rule->expr);
                rule->expr = NULL;
                errors++;
                continue;
            }
        }
        (*ret_n)++;
    }
    return errors;
}

/* `stats http-request` lines; HAProxy refuses them next to `stats auth` or `stats realm`. */
static int compile_stats_rules(struct sp_frontend *fe, const struct sp_cfg_proxy *p,
                               const struct sp_acl_resolver *res, FILE *diag)
{
    int n = 0, errors = 0;
    char err[512];

    for (const struct sp_cfg_rule *u = p->stats_http_req; u; u = u->next)
        n++;
    if (!n)
        return 0;
    if (p->nstats_auth || p->stats_realm) {
        diag_rule(diag, p->stats_http_req, "stats http-request",
                  "stats 'auth'/'realm' and 'http-request' can't be used at the same time");
        return 1;
    }
    if (!(fe->stats_rules = calloc((size_t)n, sizeof(*fe->stats_rules))))
        return -ENOMEM;
    for (const struct sp_cfg_rule *u = p->stats_http_req; u; u = u->next) {
        struct sp_stats_rule *r = &fe->stats_rules[fe->nstats_rules];
        int i = 1;
        r->action = !strcmp(u->words[0], "allow")  ? SP_STATS_ALLOW
                    : !strcmp(u->words[0], "deny") ? SP_STATS_DENY
                                                   : SP_STATS_AUTH;
        if (r->action == SP_STATS_AUTH && i + 1 < u->nwords && !strcmp(u->words[i], "realm")) {
            if (!(r->realm = strdup(u->words[i + 1])))
                return -ENOMEM;
            i += 2;
        }
        fe->nstats_rules++;
        if (i < u->nwords && !(r->cond = sp_acl_cond_parse(fe->acls, res, u->words + i,
                                                           u->nwords - i, err, sizeof(err)))) {
            diag_rule(diag, u, "stats http-request", err);
            errors++;
        }
    }
    return errors;
}

/* `stats admin if|unless COND` lines, in order. */
static int compile_stats_admin(struct sp_frontend *fe, const struct sp_cfg_proxy *p,
                               const struct sp_acl_resolver *res, FILE *diag)
{
    int n = 0, errors = 0;
    char err[512];

    for (const struct sp_cfg_rule *u = p->stats_admin; u; u = u->next)
        n++;
    if (!n)
        return 0;
    if (!(fe->stats_admin = calloc((size_t)n, sizeof(*fe->stats_admin))))
        return -ENOMEM;
    for (const struct sp_cfg_rule *u = p->stats_admin; u; u = u->next) {
        struct sp_acl_cond *c =
            sp_acl_cond_parse(fe->acls, res, u->words, u->nwords, err, sizeof(err));
        if (!c) {
            diag_rule(diag, u, "stats admin", err);
            errors++;
            continue;
        }
        fe->stats_admin[fe->nstats_admin++] = c;
    }
    return errors;
}

/* A backend's `tcp-request content` and `tcp-response content` rules (mode tcp; an http
 * backend's were refused by the configuration check). A listen section's request rules are
 * its frontend part's, compiled once there: the backend part runs them only for the sessions
 * of other frontends, so it compiles its own copy against the same ACLs. */
static int compile_be_tcp(struct sp_backend *be, const struct sp_frontend *fe,
                          const struct sp_cfg_proxy *p, const struct sp_acl_resolver *res,
                          FILE *diag)
{
    struct sp_acl_set *acls = fe ? fe->acls : be->acls;
    struct sp_acl_resolver rres = *res;
    int errors = 0, e;
    FILE *quiet = fe ? NULL : diag; /* a listen's errors were reported for its frontend */

    /* an http backend's content rules run per stream over the parsed request (http/route.c):
     * they read what http rules read */
    rres.what = be->mode == SP_MODE_TCP ? SP_ACL_CTX_TCP : SP_ACL_CTX_HTTP;
    e = compile_tcp_rules(acls, p->tcp_content_rules, &rres, "tcp-request content",
                          &be->tcp_content, &be->ntcp_content, quiet);
    if (e < 0)
        return e;
    errors += fe ? 0 : e;
    if (be->mode != SP_MODE_TCP)
        return errors;
    rres.what = SP_ACL_CTX_TCP_RES;
    e = compile_tcp_rules(acls, p->tcp_res_rules, &rres, "tcp-response content", &be->tcp_res,
                          &be->ntcp_res, diag);
    if (e < 0)
        return e;
    return errors + e;
}

static int compile(struct sp_routing *r, const struct sp_config *cfg, FILE *diag)
{
    int errors = 0;

    for (const struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        struct sp_frontend *fe = (p->cap & SP_CAP_FE) ? sp_routing_frontend(r, p->name) : NULL;
        int b = (p->cap & SP_CAP_BE) ? res_backend(r, p->name) : -1;
        struct sp_acl_resolver res = {
            .frontend = res_frontend,
            .backend = res_backend,
            .server = res_server,
            .userlist = res_userlist,
            .table = res_table,
            .ctx = r,
            .self_fe = fe ? fe->idx : -1,
            .self_be = b,
            /* a frontend's rules see what its mode parses; a backend's ACLs serve no rule */
            .what = !fe                       ? SP_ACL_CTX_ANY
                    : fe->mode == SP_MODE_TCP ? SP_ACL_CTX_TCP
                                              : SP_ACL_CTX_HTTP,
        };
        struct sp_acl_set *set = sp_acl_set_new();
        if (!set)
            return -ENOMEM;
        if (fe)
            fe->acls = set;
        else if (b >= 0)
            r->be[b]->acls = set;
        else
            set = sp_acl_set_free(set);
        if (set) {
            /* a named ACL of an http proxy may read the response (`acl is404 status 404`):
             * whether its fetches fit is checked where a condition uses it */
            struct sp_acl_resolver dres = res;
            if (dres.what == SP_ACL_CTX_HTTP)
                dres.what = SP_ACL_CTX_HTTP_RES;
            errors += compile_acls(set, &dres, p->acls, diag);
        }
        if (fe) {
            int e = compile_rules(r, fe, p, &res, diag);
            if (e < 0)
                return e;
            errors += e;
            if ((e = compile_stats_rules(fe, p, &res, diag)) < 0)
                return e;
            errors += e;
            if ((e = compile_stats_admin(fe, p, &res, diag)) < 0)
                return e;
            errors += e;
            struct sp_acl_resolver cres = res;
            cres.what = SP_ACL_CTX_CONN;
            e = compile_tcp_rules(fe->acls, p->tcp_conn_rules, &cres, "tcp-request connection",
                                  &fe->tcp_conn, &fe->ntcp_conn, diag);
            if (e < 0)
                return e;
            errors += e;
            e = compile_tcp_rules(fe->acls, p->tcp_session_rules, &cres, "tcp-request session",
                                  &fe->tcp_session, &fe->ntcp_session, diag);
            if (e < 0)
                return e;
            errors += e;
            e = compile_tcp_rules(fe->acls, p->tcp_content_rules, &res, "tcp-request content",
                                  &fe->tcp_content, &fe->ntcp_content, diag);
            if (e < 0)
                return e;
            errors += e;
        }
        if (b >= 0) {
            int e = compile_be_tcp(r->be[b], fe, p, &res, diag);
            if (e < 0)
                return e;
            errors += e;
        }
    }
    return errors;
}

struct sp_routing *sp_routing_discard(struct sp_routing *r)
{
    routing_free(r);
    return NULL;
}

struct sp_routing *sp_routing_build(const struct sp_config *cfg, FILE *diag, int *ret_errors)
{
    struct sp_routing *r = calloc(1, sizeof(*r));
    int nfe = 0, nbe = 0, nsrv = 0;

    *ret_errors = 0;
    if (!r)
        return NULL;
    for (struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        if (p->cap & SP_CAP_FE)
            nfe++;
        if (p->cap & SP_CAP_BE) {
            nbe++;
            nsrv += p->nservers;
        }
    }
    r->fe = calloc(nfe ? nfe : 1, sizeof(*r->fe));
    r->be = calloc(nbe ? nbe : 1, sizeof(*r->be));
    r->srv = calloc(nsrv ? nsrv : 1, sizeof(*r->srv));
    size_t hsize = (size_t)(nsrv ? nsrv : 1) * sizeof(struct sp_srv_health);
    r->health = aligned_alloc(64, hsize);
    r->be_health = aligned_alloc(64, (size_t)(nbe ? nbe : 1) * sizeof(struct sp_be_health));
    if (!r->fe || !r->be || !r->srv || !r->health || !r->be_health)
        goto fail;
    memset(r->health, 0, hsize);
    r->spread_checks = cfg->global.spread_checks;
    r->pp2_never_send_local = cfg->global.pp2_never_send_local;
    uint64_t now_ms = sp_now_ms();

    for (struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        if (!(p->cap & SP_CAP_BE))
            continue;
        struct sp_backend *be = calloc(1, sizeof(*be));
        if (!be)
            goto fail;
        r->be[r->nbe] = be;
        be->idx = r->nbe++;
        be->name = strdup(p->name);
        be->id = p->id;
        be->mode = p->mode;
        be->retries = p->retries;
        be->redispatch = p->redispatch;
        be->redispatch_after = p->redispatch_interval;
        be->t_connect = p->to.connect;
        be->t_server = p->to.server;
        be->t_queue = p->to.queue != SP_TIME_UNSET ? p->to.queue : p->to.connect;
        be->t_tunnel = p->to.tunnel;
        be->t_inspect = p->inspect_delay;
        be->t_res_inspect = p->res_inspect_delay;
        be->self_fe = -1;
        be->t_server_fin = p->to.server_fin;
        be->httpclose = p->httpclose;
        be->retry_on = p->retry_on;
        be->allbackups = p->allbackups;
        be->log_health_checks = p->log_health_checks;
        be->fullconn = p->fullconn;
        be->srvclose = p->srvclose;
        be->abortonclose = p->abortonclose;
        be->prefer_last = p->prefer_last;
        be->buffer_request = p->buffer_request;
        be->srvtcpka = p->srvtcpka;
        be->disabled = p->disabled;
        if (p->ck.name[0] && p->mode == SP_MODE_HTTP) {
            be->ck = malloc(sizeof(*be->ck));
            if (!be->ck)
                goto fail;
            *be->ck = p->ck;
        }
        if (p->description && !(be->desc = strdup(p->description)))
            goto fail;
        bool comp_oom;
        be->comp = sp_cfg_comp_dup(&p->comp, &comp_oom);
        if (comp_oom)
            goto fail;
        if (compile_check(&be->chk, p, diag) < 0 || sp__tcpchk_compile(&be->chk, p, diag) < 0 ||
            backend_lb(be, p, diag) < 0)
            goto fail;
        fwdfor_copy(&be->fwdfor, &p->fwdfor);
        be->srv = calloc(p->nservers ? p->nservers : 1, sizeof(*be->srv));
        if (!be->name || !be->srv)
            goto fail;
        for (struct sp_cfg_server *cs = p->servers; cs; cs = cs->next) {
            struct sp_server *s = calloc(1, sizeof(*s));
            if (!s)
                goto fail;
            r->srv[r->nsrv] = s;
            s->idx = r->nsrv++;
            be->srv[be->nsrv++] = s;
            s->name = strdup(cs->name);
            s->id = cs->id;
            s->be = be;
            s->addr = cs->addr;
            s->addrlen = cs->addrlen;
            s->weight = cs->weight;
            s->maxconn = cs->maxconn;
            s->maxqueue = cs->maxqueue;
            s->disabled = cs->disabled;
            s->backup = cs->backup;
            if (cs->cookie[0]) {
                s->cookie = strdup(cs->cookie);
                if (!s->cookie)
                    goto fail;
                s->cklen = (uint32_t)strlen(cs->cookie);
            }
            /* HAProxy: minconn alone, or above maxconn, becomes maxconn; maxconn alone is
             * both */
            s->minconn = cs->minconn;
            if (s->minconn > s->maxconn)
                s->maxconn = s->minconn;
            else if (!s->minconn)
                s->minconn = s->maxconn;
            s->port_from_dst = cs->port_from_dst;
            s->port_offset = cs->port_offset;
            s->source = cs->sourcelen ? cs->source : p->source;
            s->sourcelen = cs->sourcelen ? cs->sourcelen : p->sourcelen;
            server_check(s, cs);
            if (p->disabled)
                s->check = false; /* a disabled backend sends no check */
            if (s->check)
                s->check_pos = r->nchecks++;
            if (s->on_down_shutdown || s->on_up_shutdown_bk)
                r->srv_shutdowns = true;
            s->h = &r->health[s->idx];
            sp_srv_health_init(s->h, s->weight, s->backup, s->disabled, s->check, s->rise, s->fall,
                               now_ms, &s->addr, s->addrlen);
            if (cs->no_addr)
                sp_srv_set_rmaint(s->h, true, now_ms); /* init-addr none: until an answer */
            if (!s->name)
                goto fail;
            if (cs->resolvers[0] && cs->fqdn[0]) {
                s->fqdn = strdup(cs->fqdn);
                s->resolvers = strdup(cs->resolvers);
                if (!s->fqdn || !s->resolvers)
                    goto fail;
                s->resolve_family = cs->resolve_family;
                s->dns_port = cs->dns_port;
                s->tmpl = cs->tmpl;
                s->ropts = cs->ropts;
                if (cs->fqdn[0] == '_' && !(s->srv_target = calloc(1, 256)))
                    goto fail;
            }
        }
        be->bh = &r->be_health[be->idx];
        sp_be_health_init(be->bh, sp_backend_usable(be, false) + sp_backend_usable(be, true),
                          now_ms);
    }
    for (struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        if (!(p->cap & SP_CAP_FE))
            continue;
        struct sp_frontend *fe = calloc(1, sizeof(*fe));
        if (!fe)
            goto fail;
        r->fe[r->nfe] = fe;
        fe->idx = r->nfe++;
        fe->name = strdup(p->name);
        if (!fe->name)
            goto fail;
        fe->id = p->id;
        fe->mode = p->mode;
        /* a listen section is its own default backend */
        if (p->defbe)
            fe->defbe = find_be(r, p->defbe->name);
        else if (p->cap & SP_CAP_BE)
            fe->defbe = find_be(r, p->name);
        if ((p->cap & SP_CAP_BE) && find_be(r, p->name))
            find_be(r, p->name)->self_fe = fe->idx;
        fe->maxconn = p->maxconn ? p->maxconn : cfg->global.maxconn;
        fe->t_client = p->to.client;
        fe->t_http_request = p->to.http_request;
        fe->t_http_keep_alive = p->to.http_keep_alive;
        fe->t_client_fin = p->to.client_fin;
        fe->t_inspect = p->inspect_delay;
        fe->httpclose = p->httpclose;
        fe->httplog = p->httplog;
        fe->httplog_clf = p->httplog_clf;
        fe->dontlognull = p->dontlognull;
        /* an http frontend's services mean nothing to a tcp one (warned about at check) */
        fe->prometheus = p->prometheus && p->mode == SP_MODE_HTTP;
        fe->srvclose = p->srvclose;
        fe->logasap = p->logasap;
        fe->buffer_request = p->buffer_request;
        fe->ignore_probes = p->ignore_probes;
        fe->clitcpka = p->clitcpka;
        fe->disabled = p->disabled;
        fe->stats_hide_version = p->stats_hide_version;
        fe->stats_show_legends = p->stats_show_legends;
        if ((p->description && !(fe->desc = strdup(p->description))) ||
            (p->monitor_uri && !(fe->monitor_uri = strdup(p->monitor_uri))) ||
            (p->stats_realm && !(fe->stats_realm = strdup(p->stats_realm))))
            goto fail;
        bool comp_oom;
        fe->comp = sp_cfg_comp_dup(&p->comp, &comp_oom);
        if (comp_oom)
            goto fail;
        if (p->stats_show_node) {
            char host[256] = "";
            const char *node = p->stats_node ? p->stats_node : cfg->global.node;
            if (!node) {
                gethostname(host, sizeof(host) - 1);
                node = host;
            }
            if (!(fe->stats_node = strdup(node)))
                goto fail;
        }
        if (p->stats_show_desc) {
            const char *d = p->stats_desc ? p->stats_desc : cfg->global.description;
            if (!(fe->stats_desc = strdup(d ? d : "")))
                goto fail;
        }
        if (p->nstats_scope) {
            fe->stats_scope = calloc((size_t)p->nstats_scope, sizeof(char *));
            if (!fe->stats_scope)
                goto fail;
            for (int k = 0; k < p->nstats_scope; k++) {
                /* a `stats scope .` inherited from defaults: this proxy */
                const char *sc = strcmp(p->stats_scope[k], ".") ? p->stats_scope[k] : p->name;
                if (!(fe->stats_scope[k] = strdup(sc)))
                    goto fail;
                fe->nstats_scope = k + 1;
            }
        }
        fe->stats_enabled = p->stats_enabled && p->mode == SP_MODE_HTTP;
        fe->stats_refresh = p->stats_refresh == SP_TIME_UNSET ? 0 : p->stats_refresh;
        if (p->stats_enabled) {
            fe->stats_uri = strdup(p->stats_uri ? p->stats_uri : "/haproxy?stats");
            if (!fe->stats_uri)
                goto fail;
        }
        if (p->nstats_auth) {
            fe->stats_auth = calloc((size_t)p->nstats_auth, sizeof(char *));
            if (!fe->stats_auth)
                goto fail;
            for (int k = 0; k < p->nstats_auth; k++) {
                fe->stats_auth[k] = strdup(p->stats_auth[k]);
                if (!fe->stats_auth[k])
                    goto fail;
                fe->nstats_auth = k + 1;
            }
        }
        fwdfor_copy(&fe->fwdfor, &p->fwdfor);
    }
    for (const struct sp_cfg_userlist *u = cfg->userlists; u; u = u->next) {
        struct sp_userlist **n = realloc(r->userlists, sizeof(*n) * (size_t)(r->nuserlists + 1));
        if (!n)
            goto fail;
        r->userlists = n;
        if (!(n[r->nuserlists] = sp_userlist_build(u)))
            goto fail;
        r->nuserlists++;
    }
    for (const struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        if (!p->stk.set)
            continue;
        struct sp_stktable **n = realloc(r->stk, (size_t)(r->nstk + 1) * sizeof(*n));
        if (!n)
            goto fail;
        r->stk = n;
        struct sp_cfg_stktable sc = p->stk;
        if (sp_stick_uses_table(cfg, p->name)) /* HAProxy adds server_id for them */
            sc.store |= 1u << SP_STK_SERVER_ID;
        if (!(r->stk[r->nstk] = sp_stktable_new(p->name, &sc)))
            goto fail;
        r->nstk++;
    }
    int errors = compile(r, cfg, diag);
    if (errors >= 0) {
        int se = sp_stick_compile(r, cfg, diag);
        errors = se < 0 ? se : errors + se;
    }
    if (errors) {
        *ret_errors = errors > 0 ? errors : 0;
        goto fail;
    }
    default_fullconn(r);
    r->generation = ++generation;
    r->refcnt = 1;
    return r;
fail:
    routing_free(r);
    return NULL;
}

static void reclaim(struct rcu_head *head)
{
    struct sp_routing *r = caa_container_of(head, struct sp_routing, rcu);
    sp_routing_unref(r);
}

void sp_routing_publish(struct sp_routing *r)
{
    struct sp_routing *old = rcu_xchg_pointer(&current, r);
    if (old) {
        /* wait for every worker to pass a quiescent state: then no bare pointer to `old`
         * survives, only counted references */
        urcu_qsbr_synchronize_rcu();
        reclaim(&old->rcu);
    }
}

void sp_routing_shutdown(void)
{
    struct sp_routing *old = rcu_xchg_pointer(&current, NULL);
    if (old)
        sp_routing_unref(old);
}

struct sp_routing *sp_routing_get(void)
{
    return rcu_dereference(current);
}

void sp_routing_ref(struct sp_routing *r)
{
    ck_pr_inc_64(&r->refcnt);
}

void sp_routing_unref(struct sp_routing *r)
{
    bool zero;

    ck_pr_dec_64_zero(&r->refcnt, &zero);
    if (zero)
        routing_free(r);
}

struct sp_frontend *sp_routing_frontend(const struct sp_routing *r, const char *name)
{
    for (int i = 0; i < r->nfe; i++)
        if (!strcmp(r->fe[i]->name, name))
            return r->fe[i];
    return NULL;
}

struct sp_backend *sp_routing_backend(const struct sp_routing *r, const char *name)
{
    int b = res_backend(r, name);
    return b < 0 ? NULL : r->be[b];
}

const struct sp_acl_set *sp_routing_acls(const struct sp_routing *r, int fe, int be)
{
    if (fe >= 0 && fe < r->nfe)
        return r->fe[fe]->acls;
    if (be >= 0 && be < r->nbe)
        return r->be[be]->acls;
    return NULL;
}

void sp_routing_resolver(const struct sp_routing *r, int fe, int be, enum sp_acl_ctx what,
                         struct sp_acl_resolver *ret)
{
    memset(ret, 0, sizeof(*ret));
    ret->frontend = res_frontend;
    ret->backend = res_backend;
    ret->server = res_server;
    ret->userlist = res_userlist;
    ret->table = res_table;
    ret->ctx = r;
    ret->self_fe = fe;
    ret->self_be = be;
    ret->what = what;
}

struct sp_backend *sp_frontend_route(const struct sp_frontend *fe, const struct sp_acl_env *env,
                                     int *ret_rule)
{
    for (int i = 0; i < fe->nrules; i++) {
        if (sp_acl_cond_eval(fe->rules[i].cond, env)) {
            *ret_rule = i;
            return fe->rules[i].be;
        }
    }
    *ret_rule = -1;
    return fe->defbe;
}

int sp_backend_usable(const struct sp_backend *be, bool backup)
{
    int n = 0;

    for (int i = 0; i < be->nsrv; i++)
        n += be->srv[i]->backup == backup && sp_srv_lbw(be->srv[i]->h) > 0;
    return n;
}

/* One round of smooth weighted round-robin over the usable servers of one group. */
static struct sp_server *rr_group(const struct sp_backend *be, int64_t *cw,
                                  const struct sp_server *exclude, bool backup)
{
    struct sp_server *best = NULL;
    int64_t total = 0;

    for (int pass = 0; pass < 2 && !best; pass++) {
        total = 0;
        for (int i = 0; i < be->nsrv; i++) {
            struct sp_server *s = be->srv[i];
            int w;
            if (s->backup != backup || (pass == 0 && s == exclude) || (w = sp_srv_lbw(s->h)) <= 0)
                continue;
            cw[s->idx] += w;
            total += w;
            if (!best || cw[s->idx] > cw[best->idx])
                best = s;
        }
    }
    if (best)
        cw[best->idx] -= total;
    return best;
}

struct sp_server *sp_backend_pick_rr(const struct sp_backend *be, int64_t *cw,
                                     const struct sp_server *exclude)
{
    struct sp_server *s = rr_group(be, cw, exclude, false);

    if (s)
        return s;
    if (be->allbackups)
        return rr_group(be, cw, exclude, true);
    /* no active server: the first usable backup, as HAProxy without `option allbackups` */
    for (int i = 0; i < be->nsrv; i++) {
        s = be->srv[i];
        if (s->backup && sp_srv_lbw(s->h) > 0)
            return s;
    }
    return NULL;
}
