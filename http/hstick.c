/* http/hstick.c - see hstick.h: the actions are balance/stkact.c's, run on the transaction's
 * slots. */
#include "balance/balance.h"
#include "http/hstick.h"

#include <stdio.h>
#include <stdlib.h>

#include "http/http-int.h"

/* shared: immutable after compilation. */
struct sp_hstick {
    struct sp_stkact *a;
};

bool sp__hstick_is(const char *a)
{
    return sp_stkact_is(a);
}

struct sp_hstick *sp__hstick_compile(const struct sp_acl_resolver *res, char **w, int n, int *i,
                                     char *err, size_t errlen)
{
    struct sp_hstick *s = calloc(1, sizeof(*s));

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (!(s->a = sp_stkact_compile(res, w, n, i, err, errlen))) {
        free(s);
        return NULL;
    }
    return s;
}

void sp__hstick_free(struct sp_hstick *s)
{
    if (!s)
        return;
    sp_stkact_free(s->a);
    free(s);
}

void sp__hstick_run(const struct sp_hstick *s, struct sp_txn *t, const struct sp_acl_env *env)
{
    if (sp_stkact_run(s->a, t->stkctr, env, true))
        t->stk_tracked = true;
}
