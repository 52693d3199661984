/* balance/fetch-body.c - the request body's fetches: req.body, req.body_len, req.body_size and
 * req.body_param([name]), with HAProxy 2.6's semantics (src/http_fetch.c smp_fetch_body(),
 * smp_fetch_body_len(), smp_fetch_body_size(), smp_fetch_body_param()).
 *
 * shared: any thread. They read what the env's body callback shows (the body the client side
 * holds: decoded, contiguous) and allocate nothing. */
#include "balance/acl-int.h"

#include <string.h>

/* '&' and ';' separate parameters (HAProxy's http_is_param_delimiter() with '&') */
static inline bool delim(char c)
{
    return c == '&' || c == ';';
}

bool sp__form_param_next(const char *p, size_t len, size_t *pos, const char *name, size_t nl,
                         const char **ret_v, size_t *ret_n)
{
    size_t i = *pos, vb;

    if (i >= len)
        return false;
    if (!nl) {
        /* any parameter: the value after the next '=' */
        const char *eq = memchr(p + i, '=', len - i);
        if (!eq)
            return false;
        vb = (size_t)(eq - p) + 1;
    } else {
        /* a parameter counts only when its name is followed by '=' (HAProxy's
         * http_find_url_param_pos(): a word followed by '=' that is not the name is skipped
         * with its '=' before the next delimiter is looked for) */
        for (;;) {
            if (len - i <= nl)
                return false;
            if (p[i + nl] == '=') {
                if (!memcmp(p + i, name, nl))
                    break;
                i += nl + 1;
            }
            while (i < len && !delim(p[i]))
                i++;
            if (i >= len)
                return false;
            i++;
        }
        vb = i + nl + 1;
    }
    size_t ve = vb;
    while (ve < len && !delim(p[ve]))
        ve++;
    *ret_v = p + vb;
    *ret_n = ve - vb;
    *pos = ve;
    return true;
}

static bool body_of(const struct sp_acl_env *env, const char **p, size_t *len, uint64_t *size)
{
    *p = "";
    *len = 0;
    *size = 0;
    return env->body && env->body(env, p, len, size);
}

bool sp__body_param_each(const struct sp__acl_expr *e, const struct sp_acl_env *env,
                         bool (*fn)(void *ctx, const char *s, size_t n), void *ctx)
{
    const char *p, *v;
    size_t len, n, pos = 0;
    uint64_t size;

    if (!body_of(env, &p, &len, &size))
        return false;
    while (sp__form_param_next(p, len, &pos, e->arg, e->arg ? e->arg_len : 0, &v, &n))
        if (fn(ctx, v, n))
            return true;
    return false;
}

bool sp__body_fetch(const struct sp__acl_expr *e, const struct sp_acl_env *env, struct sp_smp *out)
{
    const char *p;
    size_t len, pos = 0;
    uint64_t size;

    if (!body_of(env, &p, &len, &size))
        return false;
    switch (e->fetch) {
    case SP__F_BODY:
        out->type = SP_SMP_BIN;
        out->u.str.ptr = p;
        out->u.str.len = len;
        return true;
    case SP__F_BODY_LEN:
    case SP__F_BODY_SIZE:
        out->type = SP_SMP_SINT;
        out->u.sint = (int64_t)(e->fetch == SP__F_BODY_LEN ? len : size);
        return true;
    case SP__F_BODY_PARAM:
        out->type = SP_SMP_STR;
        return sp__form_param_next(p, len, &pos, e->arg, e->arg ? e->arg_len : 0, &out->u.str.ptr,
                                   &out->u.str.len);
    default:
        return false;
    }
}
