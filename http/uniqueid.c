/* http/uniqueid.c - `unique-id-format` and `unique-id-header` (HAProxy 2.6): a transaction's
 * unique ID, made once when first needed (the `unique-id` fetch, the access log's %ID) or,
 * at the latest, where the request rules end (HAProxy's http_process_request()), where the
 * frontend's unique-id-header is added to the request toward the server.
 *
 * owner: worker for everything that touches a transaction; the compiled formats are
 * immutable (built on main). Cost: a frontend without a format pays nothing; with one, each
 * request renders the format once and keeps the result (at most 127 bytes, HAProxy's
 * UNIQUEID_LEN) in one allocation freed with the transaction.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "http/hrules.h"
#include "http/http-int.h"
#include "http/httplog.h"

/* HAProxy's UNIQUEID_LEN, its NUL included */
#define UID_MAX 128

int sp__uid_build(const struct sp_config *cfg, const struct sp_routing *rt, FILE *diag,
                  struct sp_hrules *h)
{
    int errors = 0;

    for (const struct sp_cfg_proxy *p = cfg->proxies; p; p = p->next) {
        const struct sp_frontend *fe =
            (p->cap & SP_CAP_FE) ? sp_routing_frontend(rt, p->name) : NULL;
        if (!fe || !p->unique_id_format || p->mode != SP_MODE_HTTP)
            continue;
        if (!h->uid && !(h->uid = calloc((size_t)(h->nfe ? h->nfe : 1), sizeof(*h->uid))))
            return -ENOMEM;
        struct sp_uid *u = &h->uid[fe->idx];
        struct sp_acl_resolver res;
        char err[300];
        sp_routing_resolver(rt, fe->idx, -1, SP_ACL_CTX_HTTP, &res);
        u->fmt = sp_logfmt_compile_res(p->unique_id_format, &res, err, sizeof(err));
        if (!u->fmt) {
            if (!strcmp(err, "out of memory"))
                return -ENOMEM;
            if (diag) {
                char file[256], text[400];
                sp_log_escape(file, sizeof(file), p->uid_where.file, strlen(p->uid_where.file));
                sp_log_escape(text, sizeof(text), err, strlen(err));
                fprintf(diag, "[ALERT] %s:%d: 'unique-id-format': %s\n", file, p->uid_where.line,
                        text);
            }
            errors++;
            continue;
        }
        if (p->unique_id_header) {
            if (!(u->hdr = strdup(p->unique_id_header)))
                return -ENOMEM;
            u->hlen = strlen(u->hdr);
        }
        h->any_req = true;
    }
    return errors;
}

void sp__uid_free(struct sp_hrules *h)
{
    for (int i = 0; h->uid && i < h->nfe; i++) {
        sp_logfmt_free(h->uid[i].fmt);
        free(h->uid[i].hdr);
    }
    free(h->uid);
    h->uid = NULL;
}

static const struct sp_uid *uid_of(const struct sp_txn *t)
{
    const struct sp_hrules *h = t->hw->conf->hrules;
    const struct sp_uid *u = h && h->uid ? &h->uid[t->fe->idx] : NULL;
    return u && u->fmt ? u : NULL;
}

const char *sp__uid_get(struct sp_txn *t, const struct sp_acl_env *env)
{
    const struct sp_uid *u;

    if (t->unique_id || !t->conn || !(u = uid_of(t)))
        return t->unique_id;
    struct sp_conn *c = t->conn;
    struct sp_log_rec r;
    sp_log_rec_init(&r);
    r.ctx = &t->hw->logctx;
    r.cli = sp__txn_src(t);
    r.fe = &c->local;
    r.frontend = t->fe->name;
    r.backend = t->be ? t->be->name : NULL;
    r.accept_us = (int64_t)sp_wall_us(c->t_accept_us);
    r.request_us = (int64_t)sp_wall_us(t->t_req ? t->t_req : t->t_start);
    r.actconn = (unsigned)sp_gate_count_mt(t->hw->conf->global_gate);
    r.feconn = (unsigned)sp__fe_conn(t->hw, t->fe->idx);
    r.version = t->h2 ? "HTTP/2.0" : (c->version == 10 ? "HTTP/1.0" : "HTTP/1.1");
    r.req_counter = t->req_id;
    r.status = t->status ? t->status : -1;
    r.env = env;
    char buf[UID_MAX];
    size_t n = sp_logfmt_render(u->fmt, &r, buf, sizeof(buf));
    t->unique_id = malloc(n + 1);
    if (t->unique_id)
        memcpy(t->unique_id, buf, n + 1);
    return t->unique_id;
}

int sp__uid_request(struct sp_txn *t, struct sp_hmsg *hm, const struct sp_acl_env *env)
{
    const struct sp_uid *u = uid_of(t);

    if (!u)
        return 0;
    const char *id = sp__uid_get(t, env);
    if (!id || !u->hdr)
        return 0;
    return sp__hmsg_add(hm, u->hdr, u->hlen, id, strlen(id)) < 0 ? -ENOSPC : 0;
}

const char *sp__uid_fetch(const struct sp_acl_env *env, size_t *ret_len)
{
    struct sp_txn *t = env->uid_ctx;
    const char *id = t ? sp__uid_get(t, env) : NULL;

    if (id)
        *ret_len = strlen(id);
    return id;
}
