/* http/route.c - the routing decision of one request: the frontend's use_backend rules over a
 * view of the request (HTTP/1 or HTTP/2) and the live load of the process.
 *
 * owner: worker. Runs once per HTTP/1 request and once per HTTP/2 stream, when the request
 * head is complete, on the snapshot the worker holds; reads shared counters with plain
 * atomic loads and takes no lock.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "http/hrules.h"
#include "http/http-int.h"
#include "net/tls.h"

static int64_t load(const void *ctx, enum sp_acl_load what, int idx)
{
    struct sp_http_worker *hw = (struct sp_http_worker *)ctx;
    const struct sp_routing *rt = hw->rt;
    const struct sp_backend *be = NULL;
    int64_t n = 0;

    if (what == SP_LOAD_FE_CONN || what == SP_LOAD_FE_REQ_RATE || what == SP_LOAD_FE_SESS_RATE) {
        if (idx < 0 || idx >= rt->nfe)
            return -1;
    } else if (what != SP_LOAD_ACT_CONN && what != SP_LOAD_SRV_IS_UP) {
        if (idx < 0 || idx >= rt->nbe)
            return -1;
        be = rt->be[idx];
    }
    switch (what) {
    case SP_LOAD_FE_CONN:
        n = hw->conf->fe_gates[idx] ? sp_gate_count_mt(hw->conf->fe_gates[idx]) : 0;
        if (idx == hw->route_fe)
            hw->route_fe_conn = n; /* what this decision saw, for the logs */
        return n;
    case SP_LOAD_ACT_CONN:
        return sp_gate_count_mt(hw->conf->global_gate);
    case SP_LOAD_FE_REQ_RATE:
        return (int64_t)sp_stats_rate_mt(SP_STATS_FE, idx, offsetof(struct sp_stats_obj, req_rate),
                                         hw->w->now);
    case SP_LOAD_FE_SESS_RATE:
        return (int64_t)sp_stats_rate_mt(SP_STATS_FE, idx, offsetof(struct sp_stats_obj, rate),
                                         hw->w->now);
    case SP_LOAD_BE_SESS_RATE:
        return (int64_t)sp_stats_rate_mt(SP_STATS_BE, idx, offsetof(struct sp_stats_obj, rate),
                                         hw->w->now);
    case SP_LOAD_BE_CONN:
        return sp_stats_cur_mt(SP_STATS_BE, idx);
    case SP_LOAD_QUEUE:
        return sp_stats_qcur_mt(SP_STATS_BE, idx);
    case SP_LOAD_SRV_IS_UP: {
        /* HAProxy: not in maintenance, and not DOWN when checked (NOLB, DRAIN and weight 0
         * still count as up) */
        struct sp_srv_hstate st;
        if (idx < 0 || idx >= rt->nsrv)
            return -1;
        sp_srv_health_read(rt->srv[idx]->h, &st);
        return !(st.admin & SP_SRV_MAINT) &&
               (!(st.chk_state & SP_CHK_ST_CONFIGURED) || st.op != SP_SRV_STOPPED);
    }
    case SP_LOAD_NBSRV:
    case SP_LOAD_AVG_QUEUE:
        n = sp_backend_usable(be, false);
        if (!n) {
            /* no active one: the backups in use (the first only, without allbackups) */
            n = sp_backend_usable(be, true);
            if (n && !be->allbackups)
                n = 1;
        }
        if (what == SP_LOAD_NBSRV)
            return n;
        /* HAProxy: queued streams per usable server rounded up, or twice the queue without
         * any */
        int64_t q = sp_stats_qcur_mt(SP_STATS_BE, idx);
        return n ? (q + n - 1) / n : 2 * q;
    case SP_LOAD_CONNSLOTS:
        /* every server not DOWN (backups and draining ones too): free slots and queue room;
         * a server without a limit makes the answer unknowable (HAProxy returns -1) */
        for (int i = 0; i < be->nsrv; i++) {
            const struct sp_server *s = be->srv[i];
            struct sp_srv_hstate st;
            sp_srv_health_read(s->h, &st);
            if (st.op == SP_SRV_STOPPED)
                continue;
            if (!s->maxconn || !s->maxqueue)
                return -1;
            n += s->maxconn - sp_stats_cur_mt(SP_STATS_SRV, s->idx);
            n += s->maxqueue - sp_stats_qcur_mt(SP_STATS_SRV, s->idx);
        }
        return n;
    case SP_LOAD_BE_CONN_FREE: {
        /* the usable servers that take traffic now: the active ones, or the backups in use */
        bool bck = sp_backend_usable(be, false) == 0;
        bool first_only = bck && !be->allbackups;
        for (int i = 0; i < be->nsrv; i++) {
            const struct sp_server *s = be->srv[i];
            if (s->backup != bck || sp_srv_lbw(s->h) <= 0)
                continue;
            if (!s->maxconn)
                return -1;
            int64_t f = s->maxconn - sp_stats_cur_mt(SP_STATS_SRV, s->idx);
            n += f > 0 ? f : 0;
            if (first_only)
                break;
        }
        return n;
    }
    }
    return -1;
}

static void h1_hdr(const void *req, size_t i, const char **name, size_t *nlen, const char **value,
                   size_t *vlen)
{
    const struct sp_route_h1 *r = req;
    const struct sp_h1_hdr *h = &r->m->hdrs[i];

    *name = r->buf + h->name_off;
    *nlen = h->name_len;
    *value = r->buf + h->val_off;
    *vlen = h->val_len;
}

/* `Authorization: Basic ...` against the stats auth list */
static bool auth_ok(const struct sp_frontend *fe, const struct sp_acl_env *env)
{
    for (size_t i = 0; i < env->nhdrs; i++) {
        const char *n, *v;
        size_t nl, vl;
        env->hdr(env->req, i, &n, &nl, &v, &vl);
        if (nl != 13 || strncasecmp(n, "authorization", 13) || vl < 7 ||
            strncasecmp(v, "Basic ", 6))
            continue;
        char plain[256];
        long o = sp__base64_decode(v + 6, vl - 6, (uint8_t *)plain, sizeof(plain) - 1, false);
        if (o < 0)
            return false;
        plain[o] = 0;
        for (int a = 0; a < fe->nstats_auth; a++)
            if (!strcmp(plain, fe->stats_auth[a]))
                return true;
        return false;
    }
    return false;
}

/* The origin form of a request target (path and query): an absolute URI loses its
 * scheme://authority, as HAProxy's http_parse_path() does before matching `stats uri`
 * (http_ana.c http_stats_check_uri()). False when there is no path ("*", "http://host"). */
static bool origin_form(const char *u, size_t n, const char **ret, size_t *ret_len)
{
    size_t i = 0;

    if (n && u[0] != '/') {
        const char *sep = memmem(u, n, "://", 3);
        if (!sep)
            return false;
        i = (size_t)(sep - u) + 3;
        while (i < n && u[i] != '/')
            i++;
        if (i == n)
            return false;
    }
    *ret = u + i;
    *ret_len = n - i;
    return true;
}

/* monitor-uri (HAProxy: before any http-request rule): a URI starting with '/' is compared
 * with the path, else with the whole target. */
static inline enum sp_local monitor(const struct sp_frontend *fe, const struct sp_acl_env *env)
{
    if (!fe->monitor_uri)
        return SP_LOCAL_NONE;
    sp_acl_env_need_req(env);
    const char *u = env->uri, *q;
    size_t ul = env->uri_len, ml = strlen(fe->monitor_uri);
    if (fe->monitor_uri[0] == '/') {
        if (!origin_form(env->uri, env->uri_len, &u, &ul))
            ul = 0;
        if ((q = memchr(u, '?', ul)))
            ul = (size_t)(q - u);
    }
    if (ul == ml && !memcmp(u, fe->monitor_uri, ml)) {
        for (int i = 0; i < fe->nmonitor_fail; i++)
            if (sp_acl_cond_eval(fe->monitor_fail[i], env))
                return SP_LOCAL_MONITOR_FAIL;
        return SP_LOCAL_MONITOR;
    }
    return SP_LOCAL_NONE;
}

static bool stats_method(const struct sp_acl_env *env)
{
    const char *m = env->method;
    size_t n = env->method_len;

    return (n == 3 && !memcmp(m, "GET", 3)) || (n == 4 && !memcmp(m, "HEAD", 4)) ||
           (n == 4 && !memcmp(m, "POST", 4));
}

/* The stats page was chosen: its `;st=` code (HAProxy: looked for after the prefix, with
 * four characters after it), and whether a `stats admin` condition holds (the first true
 * one: HAProxy's http_handle_stats()). */
static void stats_admin(struct sp_txn *t, const struct sp_frontend *fe,
                        const struct sp_acl_env *env, const char *rest, size_t rl)
{
    const char *st = rl >= 8 ? memmem(rest, rl - 4, ";st=", 4) : NULL;

    t->stats_st = st ? (uint8_t)sp_stats_st_parse(st + 4, (size_t)(rest + rl - st - 4)) : 0;
    t->stats_admin = false;
    for (int i = 0; i < fe->nstats_admin && !t->stats_admin; i++)
        t->stats_admin = sp_acl_cond_eval(fe->stats_admin[i], env);
}

/* After the http-request rules: the Prometheus exporter when no rule set carries it (its
 * `http-request use-service` line alone) and the stats page (`stats uri` prefix). */
static inline enum sp_local services(struct sp_txn *t, const struct sp_frontend *fe,
                                     const struct sp_acl_env *env, bool prometheus)
{
    if (prometheus && fe->prometheus && sp_acl_cond_eval(fe->prom_cond, env))
        return SP_LOCAL_PROMETHEUS;
    if (fe->stats_enabled) {
        sp_acl_env_need_req(env);
        if (!stats_method(env))
            return SP_LOCAL_NONE; /* HAProxy's stats_check_uri(): GET, HEAD and POST only */
        const char *uri = env->uri;
        size_t uri_len = env->uri_len, ul = strlen(fe->stats_uri);
        /* a prefix that is a path is compared with the target's path and query */
        if (fe->stats_uri[0] == '/' && !origin_form(env->uri, env->uri_len, &uri, &uri_len))
            return SP_LOCAL_NONE;
        if (uri_len >= ul && !memcmp(uri, fe->stats_uri, ul)) {
            /* `stats http-request` (HAProxy 2.6: the first matching rule decides; allow,
             * or none matching, serves the page) */
            for (int i = 0; i < fe->nstats_rules; i++) {
                const struct sp_stats_rule *sr = &fe->stats_rules[i];
                if (sr->cond && !sp_acl_cond_eval(sr->cond, env))
                    continue;
                if (sr->action == SP_STATS_ALLOW)
                    break;
                t->local_realm = sr->realm ? sr->realm : "HAProxy Statistics";
                return sr->action == SP_STATS_DENY ? SP_LOCAL_STATS_DENY : SP_LOCAL_AUTH;
            }
            if (fe->nstats_auth && !auth_ok(fe, env))
                return SP_LOCAL_AUTH;
            const char *rest = uri + ul;
            size_t rl = uri_len - ul;
            stats_admin(t, fe, env, rest, rl);
            if (rl >= 4 && memmem(rest, rl, ";csv", 4))
                return SP_LOCAL_STATS_CSV;
            return SP_LOCAL_STATS_HTML;
        }
    }
    return SP_LOCAL_NONE;
}

enum sp_local sp__route_monitor(const struct sp_frontend *fe, const struct sp_acl_env *env)
{
    return monitor(fe, env);
}

enum sp_local sp__route_services(const struct sp_txn *t, const struct sp_frontend *fe,
                                 const struct sp_acl_env *env, bool prometheus)
{
    return services((struct sp_txn *)t, fe, env, prometheus);
}

/* Services spillway answers itself, for a frontend without http rules. */
static enum sp_local local_service(struct sp_txn *t, const struct sp_frontend *fe,
                                   const struct sp_acl_env *env)
{
    enum sp_local l = monitor(fe, env);
    return l ? l : services(t, fe, env, true);
}

/* env->tls: what the handshake of the client connection settled (net/tls.h) */
static const char *env_tls(const void *ctx, enum sp_acl_tls what, size_t *len, int64_t *num)
{
    const struct sp_xconn *x = ctx;
    const char *s = NULL;

    *num = 0;
    switch (what) {
    case SP_ACL_TLS_SNI:
        s = sp_tls_sni(x);
        break;
    case SP_ACL_TLS_PROTOCOL:
        s = sp_tls_version(x);
        break;
    case SP_ACL_TLS_CIPHER:
        s = sp_tls_cipher(x);
        break;
    case SP_ACL_TLS_ALPN:
        return sp_tls_alpn(x, len);
    case SP_ACL_TLS_KEYSIZE:
        *num = sp_tls_keysize(x);
        return NULL;
    }
    *len = s ? strlen(s) : 0;
    return s;
}

/* ssl_fc and its kin: a branch for a clear connection */
static void env_conn_tls(struct sp_acl_env *env, const struct sp_conn *c)
{
    if (c->x.xprt != &sp_xprt_tls)
        return;
    env->ssl_fc = true;
    env->tls = env_tls;
    env->tls_ctx = &c->x;
}

void sp__route_env(struct sp_acl_env *env, struct sp_http_worker *hw, const struct sp_conn *c)
{
    memset(env, 0, sizeof(*env));
    hw->route_fe = c->fe->idx;
    hw->route_fe_conn = -1;
    env->src = &c->peer;
    env->dst = &c->local;
    env->load = load;
    env->load_ctx = hw;
    env->fe_idx = c->fe->idx;
    env->be_idx = -1;
    /* the connection's own store, which rules may write: the worker owns the connection */
    env->sess_vars = (struct sp_vars *)&c->sess_vars;
    env_conn_tls(env, c);
}

/* No rule and no local service to look at: the default backend, without a single fetch. */
static bool default_only(struct sp_txn *t, const struct sp_conn *c)
{
    t->fe_conn_seen = -1;
    if (c->forced_be) { /* upgraded from tcp: the rules chose already */
        t->be = c->forced_be;
        t->rule = c->forced_rule;
        return true;
    }
    if (c->fe->nrules || c->fe->prometheus || c->fe->stats_enabled || c->fe->monitor_uri)
        return false;
    t->be = c->fe->defbe;
    t->rule = -1;
    return true;
}

/* The request is described by `env`: local services first, then the switching rules. */
static void route_env(struct sp_txn *t, const struct sp_conn *c, struct sp_acl_env *env)
{
    env->txn_vars = &t->vars;
    env->stkctr = t->stkctr; /* the session's trackers (use_backend if { sc0_... }) */
    t->local = local_service(t, c->fe, env);
    /* a request spillway answers itself is caught before the switching rules (HAProxy:
     * stats and services are not charged to any backend) */
    t->rule = -1;
    t->be = t->local ? NULL : sp_frontend_route(c->fe, env, &t->rule);
    t->fe_conn_seen = c->hw->route_fe_conn;
}

void sp__route_switch(struct sp_txn *t, const struct sp_conn *c, const struct sp_acl_env *env)
{
    if (c->forced_be) { /* upgraded from tcp: the rules chose already */
        t->be = c->forced_be;
        t->rule = c->forced_rule;
        return;
    }
    t->rule = -1;
    t->be = sp_frontend_route(c->fe, env, &t->rule);
    t->fe_conn_seen = c->hw->route_fe_conn;
}

void sp__route_h1(struct sp_txn *t, const struct sp_conn *c, const char *buf,
                  const struct sp_h1_msg *m)
{
    struct sp_route_h1 req = {.buf = buf, .m = m};
    struct sp_acl_env env;

    if (default_only(t, c))
        return;
    sp__route_env(&env, c->hw, c);
    env.method = buf + m->method_off;
    env.method_len = m->method_len;
    env.uri = buf + m->uri_off;
    env.uri_len = m->uri_len;
    env.version = m->version;
    env.nhdrs = m->nhdrs;
    env.hdr = h1_hdr;
    env.req = &req;
    route_env(t, c, &env);
}

static void h2_hdr(const void *req, size_t i, const char **name, size_t *nlen, const char **value,
                   size_t *vlen)
{
    sp__h2_view_field(req, i, name, nlen, value, vlen);
}

/* HTTP/2 requests are seen as HAProxy 2.6 sees them (see struct sp_h2_view): the absolute URI
 * when there is an :authority, which is also the Host; cookie crumbs joined. The worker's
 * head scratch, empty until the request head is built after routing, holds what the view
 * has to write. The view is made only when a rule first reads the request (h2_prepare). */
struct h2_env {
    struct sp_acl_env env; /* first: h2_prepare() gets it back from the env */
    struct sp_h2_view v;
    const struct sp_h2_req *r;
    struct sp_buf *scratch;
};

static void h2_prepare(const struct sp_acl_env *cenv)
{
    struct h2_env *he = (struct h2_env *)(uintptr_t)cenv; /* ours: route_h2's local */

    he->env.prepare = NULL;
    sp__h2_view_init(&he->v, he->r, he->scratch); /* no -ENOSPC: the same pool's buffers */
    he->env.uri = he->v.uri;
    he->env.uri_len = he->v.uri_len;
    he->env.nhdrs = he->v.n;
    he->env.hdr = h2_hdr;
    he->env.req = &he->v;
}

void sp__route_h2(struct sp_txn *t, const struct sp_conn *c, const struct sp_h2_req *r)
{
    struct h2_env he;

    if (default_only(t, c))
        return;
    sp__route_env(&he.env, c->hw, c);
    he.r = r;
    he.scratch = &c->hw->headbuf;
    he.scratch->head = he.scratch->tail = 0;
    he.env.method = r->store->data + r->method.off;
    he.env.method_len = r->method.len;
    he.env.version = 20;
    he.env.prepare = h2_prepare;
    route_env(t, c, &he.env);
    he.scratch->head = he.scratch->tail = 0;
}

void sp__route_env_late(struct sp_acl_env *env, struct sp_txn *t)
{
    memset(env, 0, sizeof(*env));
    env->src = sp__txn_src(t);
    env->prio = t->prio; /* prio_class, prio_offset in the log */
    env->dst = &t->conn->local;
    env->load = load;
    env->load_ctx = t->hw;
    env->fe_idx = t->fe->idx;
    env->be_idx = t->be ? t->be->idx : -1;
    env->status = t->status;
    env->sess_vars = &t->conn->sess_vars;
    env->txn_vars = &t->vars;
    env->stkctr = t->stkctr;
    env_conn_tls(env, t->conn);
    sp__hrules_caps_env(t, env);
}

bool sp__route_env_head(struct sp_acl_env *env, struct sp_txn *t, struct sp_route_h1 *view,
                        struct sp_h1_msg *m)
{
    struct sp_h1_scan scan;
    size_t len = sp_buf_len(&t->reqhead);

    sp__route_env_late(env, t);
    if (!len)
        return false;
    /* the head spillway built: parsed again only for the rules that read it */
    const char *buf = sp_buf_head(&t->reqhead);
    sp_h1_scan_init(&scan);
    if (sp_h1_parse_request(buf, len, len, len, &scan, m) <= 0)
        return false;
    view->buf = buf;
    view->m = m;
    env->method = buf + m->method_off;
    env->method_len = m->method_len;
    env->uri = buf + m->uri_off;
    env->uri_len = m->uri_len;
    env->version = t->h2 ? 20 : m->version;
    env->nhdrs = m->nhdrs;
    env->hdr = h1_hdr;
    env->req = view;
    return true;
}

void sp__route_env_res(struct sp_acl_env *env, struct sp_txn *t, struct sp_route_h1 *view,
                       const struct sp_h1_msg *m, const char *buf)
{
    sp__route_env_late(env, t);
    view->buf = buf;
    view->m = m;
    env->status = m->status;
    env->res_nhdrs = m->nhdrs;
    env->res_hdr = h1_hdr;
    env->res = view;
    env->res_version = m->version;
}

int64_t sp__fe_conn(const struct sp_http_worker *hw, int fe)
{
    return hw->conf->fe_gates[fe] ? sp_gate_count_mt(hw->conf->fe_gates[fe]) : 0;
}

/* ---- mode tcp: tcp-request rules and use_backend over the connection and its bytes ---- */

/* The view of a tcp connection: its addresses, the load, and the request bytes received so
 * far (none for a connection rule). */
static void tcp_env(struct sp_acl_env *env, struct sp_conn *c, bool bytes, bool partial)
{
    const struct sp_buf *rb = &c->x.rbuf;

    sp__route_env(env, c->hw, c);
    if (!bytes)
        return;
    env->payload = rb->data ? sp_buf_head(rb) : "";
    env->payload_len = rb->data ? sp_buf_len(rb) : 0;
    env->payload_cap = c->hw->bufs.size;
    env->partial = partial;
}

/* set-dst, set-dst-port: the connection's destination (env->dst is c->local, which this worker
 * owns), as fetches, logs and servers without an address of their own see it */
static void set_dst(const struct sp_tcp_rule *r, const struct sp_acl_env *env)
{
    struct sp_smp v;

    if (env->dst && sp_smp_eval(r->expr, env, &v))
        sp_addr_set_dst((struct sockaddr_storage *)(uintptr_t)env->dst, &v,
                        r->action == SP_TCP_SET_DST_PORT);
}

/* The connection's tracker slots, made when a rule first tracks (env sees them from then):
 * false when memory ran out (the rule does nothing, as a full table). */
static bool conn_slots(struct sp_conn *c, struct sp_acl_env *env)
{
    if (!c->stkctr)
        c->stkctr = calloc(SP_STK_NCTR, sizeof(*c->stkctr));
    env->stkctr = c->stkctr;
    return c->stkctr != NULL;
}

enum sp_tcp_action sp__route_tcp_conn(struct sp_conn *c)
{
    const struct sp_frontend *fe = c->fe;
    struct sp_acl_env env;

    tcp_env(&env, c, false, false);
    env.stkctr = c->stkctr;
    for (int i = 0; i < fe->ntcp_conn; i++) {
        const struct sp_tcp_rule *r = &fe->tcp_conn[i];
        if (!sp_acl_cond_eval(r->cond, &env))
            continue;
        if (r->action == SP_TCP_SET_VAR || r->action == SP_TCP_UNSET_VAR) {
            sp_tcp_rule_var(r, &env);
            continue;
        }
        if (r->action == SP_TCP_STK) {
            if (conn_slots(c, &env))
                c->stk_tracked |= sp_stkact_run(r->stk, c->stkctr, &env, false);
            continue;
        }
        if (r->action == SP_TCP_SET_DST || r->action == SP_TCP_SET_DST_PORT) {
            set_dst(r, &env);
            continue;
        }
        if (r->action == SP_TCP_EXPECT_PROXY) {
            c->expect_proxy = true;
            continue;
        }
        return r->action;
    }
    return SP_TCP_ACCEPT;
}

/* HAProxy's tcp_inspect_request() / tcp_inspect_response(): the first rule whose condition
 * holds decides; one that cannot tell yet stops the walk until more bytes come or the delay
 * ends (-1). No rule holding: accept. */
static int run_rules(const struct sp_tcp_rule *rules, int n, const struct sp_acl_env *env,
                     struct sp_stkctr *slots, bool *tracked, int *at, struct sp_conn *sess)
{
    for (int i = at ? *at : 0; i < n; i++) {
        int r = sp_acl_cond_exec(rules[i].cond, env);
        if (r < 0) {
            if (at)
                *at = i;
            return -1;
        }
        if (r && (rules[i].action == SP_TCP_SET_VAR || rules[i].action == SP_TCP_UNSET_VAR)) {
            sp_tcp_rule_var(&rules[i], env);
            continue;
        }
        if (r && rules[i].action == SP_TCP_STK) {
            /* a session rule: the connection's slots, made now if they are not yet (env is
             * sp__route_tcp_session()'s own) */
            if (sess) {
                if (!conn_slots(sess, (struct sp_acl_env *)(uintptr_t)env))
                    continue;
                slots = sess->stkctr;
            }
            *tracked |= sp_stkact_run(rules[i].stk, slots, env, false);
            continue;
        }
        if (r && (rules[i].action == SP_TCP_SET_DST || rules[i].action == SP_TCP_SET_DST_PORT)) {
            set_dst(&rules[i], env);
            continue;
        }
        if (r)
            return (int)rules[i].action;
    }
    return SP_TCP_ACCEPT;
}

enum sp_tcp_action sp__route_tcp_session(struct sp_conn *c)
{
    const struct sp_frontend *fe = c->fe;
    struct sp_acl_env env;

    tcp_env(&env, c, false, false);
    env.stkctr = c->stkctr;
    return (enum sp_tcp_action)run_rules(fe->tcp_session, fe->ntcp_session, &env, c->stkctr,
                                         &c->stk_tracked, NULL, c);
}

int sp__route_tcp_be_content(struct sp_txn *t, bool partial)
{
    struct sp_acl_env env;
    int r;

    tcp_env(&env, t->conn, true, partial);
    env.be_idx = t->be->idx;
    env.stkctr = t->stkctr;
    r = run_rules(t->be->tcp_content, t->be->ntcp_content, &env, t->stkctr, &t->stk_tracked,
                  &t->tcps.req_at, NULL);
    return r < 0 ? -1 : r == SP_TCP_ACCEPT;
}

int sp__route_tcp_res(struct sp_txn *t, bool partial)
{
    const struct sp_buf *rb = &t->up->x.rbuf;
    struct sp_acl_env env;

    tcp_env(&env, t->conn, false, false);
    env.be_idx = t->be->idx;
    env.payload = rb->data ? sp_buf_head(rb) : "";
    env.payload_len = rb->data ? sp_buf_len(rb) : 0;
    env.payload_cap = t->hw->bufs.size;
    env.partial = partial;
    env.stkctr = t->stkctr;
    return run_rules(t->be->tcp_res, t->be->ntcp_res, &env, t->stkctr, &t->stk_tracked,
                     &t->tcps.res_at, NULL);
}

int sp__route_tcp_content(struct sp_conn *c, bool partial)
{
    const struct sp_frontend *fe = c->fe;
    struct sp_acl_env env;

    tcp_env(&env, c, true, partial);
    env.stkctr = c->txn->stkctr;
    /* HAProxy's tcp_inspect_request(): the first rule whose condition holds decides; one
     * that cannot tell yet stops the walk until more bytes come or the delay ends */
    int r = run_rules(fe->tcp_content, fe->ntcp_content, &env, c->txn->stkctr, &c->txn->stk_tracked,
                      &c->txn->tcps.req_at, NULL);
    return r < 0 ? -1 : r == SP_TCP_ACCEPT;
}

int sp__route_tcp_http(struct sp_txn *t, const struct sp_acl_env *env, bool backend)
{
    const struct sp_tcp_rule *rules = backend ? t->be->tcp_content : t->fe->tcp_content;
    int n = backend ? t->be->ntcp_content : t->fe->ntcp_content;

    /* the request head is whole: no rule waits (a fetch of the body fails as with no bytes) */
    int r = run_rules(rules, n, env, t->stkctr, &t->stk_tracked, NULL, NULL);
    if (r == SP_TCP_REJECT)
        return 0;
    if (!backend && t->stk_tracked) /* HAProxy's stream_inc_http_req_ctr() comes after */
        sp_stkctr_count_http_req(t->stkctr);
    return 1;
}

void sp__route_tcp(struct sp_txn *t, struct sp_conn *c)
{
    struct sp_acl_env env;

    if (default_only(t, c))
        return;
    tcp_env(&env, c, true, false);
    env.stkctr = t->stkctr;
    t->rule = -1;
    t->be = sp_frontend_route(c->fe, &env, &t->rule);
    t->fe_conn_seen = c->hw->route_fe_conn;
}
