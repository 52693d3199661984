/* balance/fetch-auth.c - the Authorization header's fetches of balance/acl-fetch.c (HAProxy
 * 2.6's src/http_fetch.c smp_fetch_http_auth*): shared by ACL criteria and samples.
 * shared: any thread; allocates nothing. The credentials are decoded again at each
 * evaluation (a base64 pass over one header); a hashed password costs one crypt_r() per
 * http_auth or http_auth_group evaluation, as in HAProxy (balance/userlist.h). */
#include "balance/acl-int.h"
#include "balance/sample-int.h"
#include "balance/userlist.h"

#include <string.h>

static bool str_out(struct sp_smp *out, const char *s, size_t n)
{
    out->type = SP_SMP_STR;
    out->u.str.ptr = s;
    out->u.str.len = n;
    return true;
}

bool sp__auth_fetch(const struct sp__acl_expr *e, int kind, const struct sp_acl_env *env,
                    struct sp_smp *out)
{
    struct sp_auth_creds c;
    const char *hdr = kind == SP__AUTH_BEARER ? e->arg : NULL;
    enum sp_auth_method m = sp_http_auth_get(env, hdr, hdr ? e->arg_len : 0, &c);

    switch (kind) {
    case SP__AUTH_TYPE:
        if (m == SP_AUTH_BASIC)
            return str_out(out, "Basic", 5);
        return m == SP_AUTH_BEARER && str_out(out, "Bearer", 6);
    case SP__AUTH_BEARER:
        return m == SP_AUTH_BEARER && str_out(out, c.data, c.data_len);
    case SP__AUTH_USER:
        return m == SP_AUTH_BASIC && str_out(out, c.user, strlen(c.user));
    case SP__AUTH_PASS:
        return m == SP_AUTH_BASIC && str_out(out, c.pass, strlen(c.pass));
    case SP__AUTH_OK:
        /* HAProxy: no Basic credentials is a failed sample, wrong ones a false boolean */
        if (m != SP_AUTH_BASIC || !e->ul)
            return false;
        out->type = SP_SMP_BOOL;
        out->u.sint = sp_userlist_check_mt(e->ul, c.user, c.pass) >= 0;
        return true;
    case SP__AUTH_GRP:
        if (m != SP_AUTH_BASIC || !e->ul || sp_userlist_check_mt(e->ul, c.user, c.pass) < 0)
            return false;
        return str_out(out, c.user, strlen(c.user));
    default:
        return false;
    }
}

bool sp__auth_grp_match(const struct sp__acl_expr *e, const struct sp_acl_env *env)
{
    struct sp_smp v;

    if (!sp__auth_fetch(e, SP__AUTH_GRP, env, &v))
        return false;
    int u = sp_userlist_find_mt(e->ul, v.u.str.ptr, v.u.str.len);
    for (size_t i = 0; i < e->npat; i++)
        if (sp_userlist_in_group_mt(e->ul, u, e->pat[i].u.str.s, e->pat[i].u.str.len))
            return true;
    return false;
}
