/* balance/stkact.c - the stick-table actions of tcp and http rules: `track-sc0|1|2 KEY
 * [table T]`, `sc-inc-gpc0(N)`, `sc-inc-gpc1(N)`, `sc-set-gpt0(N) VALUE|EXPR` (HAProxy 2.6's
 * tcp_action_track_sc(), action_inc_gpc0/1(), action_set_gpt0()), see stktable.h.
 *
 * shared: a compiled action is immutable after publish (RCU); running one touches only the
 * caller's slots (owner: its worker) and the table's entries (lock-free). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance/acl.h"
#include "balance/sample.h"
#include "balance/stktable.h"

enum { K_TRACK, K_INC, K_SET_GPT };

/* shared: immutable after publish (RCU). */
struct sp_stkact {
    int kind;
    int slot;                /* the sticky counter, 0 to 2 */
    int gpc;                 /* sc-inc-gpc0 / gpc1 */
    struct sp_smp_expr *key; /* track-sc: the key; sc-set-gpt0: the value when not a literal */
    struct sp_stktable *t;   /* track-sc: the table */
    int64_t value;           /* sc-set-gpt0: the literal value */
};

bool sp_stkact_is(const char *a)
{
    return !strncmp(a, "track-sc", 8) || !strncmp(a, "sc-inc-gpc0(", 12) ||
           !strncmp(a, "sc-inc-gpc1(", 12) || !strncmp(a, "sc-set-gpt0(", 12);
}

static bool is_cond(const char *w)
{
    return !strcmp(w, "if") || !strcmp(w, "unless");
}

/* err may already hold the message (errlen 0) */
__attribute__((format(printf, 4, 5))) static struct sp_stkact *
fail(struct sp_stkact *a, char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (errlen) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    sp_stkact_free(a);
    return NULL;
}

struct sp_stkact *sp_stkact_compile(const struct sp_acl_resolver *res, char **w, int n, int *i,
                                    char *err, size_t errlen)
{
    const char *a = w[0];
    struct sp_stkact *s = calloc(1, sizeof(*s));
    char *end;

    if (!s)
        return fail(s, err, errlen, "out of memory");
    if (!strncmp(a, "track-sc", 8)) {
        if (a[8] < '0' || a[8] > '2' || a[9])
            return fail(s, err, errlen,
                        "'%s': sticky counters are track-sc0, track-sc1 and track-sc2", a);
        s->kind = K_TRACK;
        s->slot = a[8] - '0';
        if (*i >= n || is_cond(w[*i]))
            return fail(s, err, errlen, "'%s' expects a sample expression (the key)", a);
        s->key = sp_smp_compile(w[*i], strlen(w[*i]), res, err, errlen);
        if (!s->key)
            return fail(s, err, 0, "%s", ""); /* err holds the compiler's message */
        (*i)++;
        const char *tn = NULL;
        if (*i < n && !strcmp(w[*i], "table")) {
            if (*i + 1 >= n)
                return fail(s, err, errlen, "'table' expects a table name");
            tn = w[*i + 1];
            *i += 2;
        }
        s->t = res->table ? res->table(res, tn) : NULL;
        if (!s->t)
            return tn ? fail(s, err, errlen, "no stick-table '%s'", tn)
                      : fail(s, err, errlen,
                             "this proxy has no stick-table (name one with 'table')");
        return s;
    }
    long sc = strtol(a + 12, &end, 10);
    if (end == a + 12 || strcmp(end, ")") || sc < 0 || sc > 2)
        return fail(s, err, errlen, "'%s': expects a sticky counter number 0 to 2 in parentheses",
                    a);
    s->slot = (int)sc;
    if (a[3] == 'i') {
        s->kind = K_INC;
        s->gpc = a[10] - '0';
        return s;
    }
    s->kind = K_SET_GPT;
    if (*i >= n || is_cond(w[*i]))
        return fail(s, err, errlen, "'%s' expects an integer or a sample expression", a);
    long long v = strtoll(w[*i], &end, 10);
    if (*end || !*w[*i]) {
        s->key = sp_smp_compile(w[*i], strlen(w[*i]), res, err, errlen);
        if (!s->key)
            return fail(s, err, 0, "%s", "");
    }
    s->value = v;
    (*i)++;
    return s;
}

struct sp_stkact *sp_stkact_free(struct sp_stkact *a)
{
    if (a) {
        sp_smp_free(a->key);
        free(a);
    }
    return NULL;
}

bool sp_stkact_run(const struct sp_stkact *s, struct sp_stkctr *slots, const struct sp_acl_env *env,
                   bool http)
{
    struct sp_stkctr *c = &slots[s->slot];
    uint32_t now = sp_stk_now_ms();
    struct sp_smp v;

    if (s->kind == K_TRACK) {
        struct sp_stkkey k;
        if (c->e || !sp_smp_eval(s->key, env, &v) || !sp_stktable_key_mt(s->t, &v, &k))
            return false;
        struct sp_stkentry *e = sp_stktable_get_mt(s->t, &k, now);
        if (!e)
            return false;
        sp_stkctr_track(c, s->t, e, http, now);
        return true;
    }
    if (!c->e)
        return false;
    if (s->kind == K_INC) {
        sp_stk_add_mt(c->t, c->e, s->gpc ? SP_STK_GPC1 : SP_STK_GPC0, 1, now);
        sp_stk_add_mt(c->t, c->e, s->gpc ? SP_STK_GPC1_RATE : SP_STK_GPC0_RATE, 1, now);
        return false;
    }
    int64_t val = s->value;
    if (s->key) {
        if (!sp_smp_eval(s->key, env, &v) || (v.type != SP_SMP_SINT && v.type != SP_SMP_BOOL))
            return false;
        val = v.u.sint;
    }
    sp_stk_set_mt(c->t, c->e, SP_STK_GPT0, (uint64_t)(uint32_t)val);
    return false;
}
