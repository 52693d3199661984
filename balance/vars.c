/* balance/vars.c - variables: interned names (main, configuration time), the per-connection
 * and per-transaction stores (owner: worker) and the process store (proc.*, under a mutex).
 *
 * A store is a short singly linked list: a configuration names few variables, and a lookup
 * walks at most that many entries, comparing integers. A value is copied into its entry; an
 * entry is reused in place when the new value fits. */
#include "balance/sample-int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* owner: the store's owner. One variable and its value's bytes (STR and BIN). */
struct sp_var {
    struct sp_var *next;
    uint32_t id;
    uint8_t scope;
    size_t cap; /* bytes of data[] */
    struct sp_smp v;
    char data[];
};

/* ---- names (owner: main) ---- */

static struct {
    char **s;
    size_t n, cap;
} names;

/* The id of name[0..len), interning it; -1 when out of memory. */
static int64_t intern(const char *name, size_t len)
{
    for (size_t i = 0; i < names.n; i++)
        if (strlen(names.s[i]) == len && !memcmp(names.s[i], name, len))
            return (int64_t)i;
    if (names.n == names.cap) {
        size_t cap = names.cap ? names.cap * 2 : 32;
        char **ns = realloc(names.s, cap * sizeof(*ns));
        if (!ns)
            return -1;
        names.s = ns;
        names.cap = cap;
    }
    char *c = strndup(name, len);
    if (!c)
        return -1;
    names.s[names.n] = c;
    return (int64_t)names.n++;
}

void sp__vars_names_free(void)
{
    for (size_t i = 0; i < names.n; i++)
        free(names.s[i]);
    free(names.s);
    memset(&names, 0, sizeof(names));
}

int sp_var_ref_parse(const char *text, size_t len, struct sp_var_ref *ret, char *err, size_t errlen)
{
    static const struct {
        const char *p;
        enum sp_var_scope s;
    } scopes[] = {
        {"proc.", SP_VAR_PROC}, {"sess.", SP_VAR_SESS}, {"txn.", SP_VAR_TXN},
        {"req.", SP_VAR_REQ},   {"res.", SP_VAR_RES},
    };
    size_t i, pl = 0;

    for (i = 0; i < sizeof(scopes) / sizeof(scopes[0]); i++) {
        pl = strlen(scopes[i].p);
        if (len >= pl && !memcmp(text, scopes[i].p, pl))
            break;
    }
    if (i == sizeof(scopes) / sizeof(scopes[0])) {
        if (len >= 6 && !memcmp(text, "check.", 6))
            return sp__acl_fail(err, errlen,
                                "variable '%.*s': scope 'check' (health checks) is not supported "
                                "by spillway",
                                (int)len, text);
        return sp__acl_fail(err, errlen,
                            "invalid variable name '%.*s': a variable name must start with its "
                            "scope, one of 'proc', 'sess', 'txn', 'req' or 'res'",
                            (int)len, text);
    }
    if (len == pl)
        return sp__acl_fail(err, errlen, "empty variable name in '%.*s'", (int)len, text);
    for (size_t k = pl; k < len; k++) {
        char c = text[k];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_' || c == '.' || c == '-'))
            return sp__acl_fail(err, errlen,
                                "invalid character '%c' in variable name '%.*s' (only letters, "
                                "digits, '_', '.' and '-')",
                                c, (int)len, text);
    }
    int64_t id = intern(text + pl, len - pl), full = intern(text, len);
    if (id < 0 || full < 0)
        return sp__acl_fail(err, errlen, "out of memory");
    ret->scope = scopes[i].s;
    ret->id = (uint32_t)id;
    ret->name = names.s[full];
    return 0;
}

/* ---- stores ---- */

/* the process's proc.* store and its lock */
static struct sp_vars proc_vars;
static pthread_mutex_t proc_lock = PTHREAD_MUTEX_INITIALIZER;

/* tune.vars.*-max-size (see sp_vars_limits_set()); acct_on: some limit is set. proc_acct:
 * every scope's accounted bytes in the process, kept when proc or global is limited (HAProxy's
 * proc_vars.size: the one counter all workers share, an atomic add per accounted change). */
static struct sp_vars_limits lim;
static bool acct_on;
static int64_t proc_acct; /* may go below 0 when limits came with a reload: read as 0 */

void sp_vars_limits_set(const struct sp_vars_limits *l)
{
    __atomic_store_n(&lim.global, l->global, __ATOMIC_RELAXED);
    __atomic_store_n(&lim.proc, l->proc, __ATOMIC_RELAXED);
    __atomic_store_n(&lim.sess, l->sess, __ATOMIC_RELAXED);
    __atomic_store_n(&lim.txn, l->txn, __ATOMIC_RELAXED);
    __atomic_store_n(&lim.reqres, l->reqres, __ATOMIC_RELAXED);
    __atomic_store_n(&acct_on, l->global || l->proc || l->sess || l->txn || l->reqres,
                     __ATOMIC_RELAXED);
}

static uint64_t lim_of(const uint64_t *p)
{
    return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static bool over(uint64_t limit, size_t have, int64_t d)
{
    return limit && d > 0 && (uint64_t)have + (uint64_t)d > limit;
}

/* a store's count moved by d, never below 0 (a value set before a reload brought the limits
 * was never counted) */
static size_t moved(size_t have, int64_t d)
{
    return d >= 0 ? have + (size_t)d : have - ((size_t)-d < have ? (size_t)-d : have);
}

/* Accounts `d` bytes (negative: released) in `scope`'s store `st` and the stores that include
 * it: false, with nothing accounted, when a limit would be passed (HAProxy's
 * var_accounting_add()). `sess`: the connection's store, NULL when there is none. */
static bool acct(enum sp_var_scope scope, struct sp_vars *st, struct sp_vars *sess, int64_t d)
{
    if (!__atomic_load_n(&acct_on, __ATOMIC_RELAXED) || !d)
        return true;
    bool rr = scope == SP_VAR_REQ || scope == SP_VAR_RES;
    bool txn = rr || scope == SP_VAR_TXN;
    uint64_t gl = lim_of(&lim.global), pl = lim_of(&lim.proc);
    if (d > 0) {
        if ((rr && over(lim_of(&lim.reqres), st->_acct_rr, d)) ||
            (txn && over(lim_of(&lim.txn), st->_acct, d)) ||
            (scope == SP_VAR_SESS && over(lim_of(&lim.sess), st->_acct, d)) ||
            (txn && sess && over(lim_of(&lim.sess), sess->_acct, d)))
            return false;
        int64_t p = __atomic_load_n(&proc_acct, __ATOMIC_RELAXED);
        size_t have = p > 0 ? (size_t)p : 0;
        if (over(pl, have, d) || over(gl, have, d))
            return false;
    }
    if (rr)
        st->_acct_rr = moved(st->_acct_rr, d);
    if (scope != SP_VAR_PROC) { /* proc.*: the process's counter alone */
        st->_acct = moved(st->_acct, d);
        st->_own = moved(st->_own, d);
    }
    if (txn && sess)
        sess->_acct = moved(sess->_acct, d);
    if (pl || gl)
        __atomic_add_fetch(&proc_acct, d, __ATOMIC_RELAXED);
    return true;
}

void sp_vars_init(struct sp_vars *v)
{
    v->_head = NULL;
    v->_bytes = 0;
    v->_acct = v->_acct_rr = v->_own = 0;
}

void sp_vars_clear(struct sp_vars *v)
{
    for (struct sp_var *n = v->_head, *next; n; n = next) {
        next = n->next;
        free(n);
    }
    if (v->_own && (lim_of(&lim.proc) || lim_of(&lim.global)))
        __atomic_sub_fetch(&proc_acct, (int64_t)v->_own, __ATOMIC_RELAXED);
    sp_vars_init(v);
}

void sp_vars_clear_txn(struct sp_vars *v, struct sp_vars *sess)
{
    if (sess && v->_own)
        sess->_acct = moved(sess->_acct, -(int64_t)v->_own);
    sp_vars_clear(v);
}

static struct sp_vars *store_of(const struct sp_acl_env *env, enum sp_var_scope scope)
{
    switch (scope) {
    case SP_VAR_PROC:
        return &proc_vars;
    case SP_VAR_SESS:
        return env ? env->sess_vars : NULL;
    default:
        return env ? env->txn_vars : NULL;
    }
}

static struct sp_var **find(struct sp_vars *st, const struct sp_var_ref *ref)
{
    struct sp_var **pp = &st->_head;
    for (; *pp; pp = &(*pp)->next)
        if ((*pp)->id == ref->id && (*pp)->scope == ref->scope)
            return pp;
    return pp;
}

static int store_set(struct sp_vars *st, struct sp_vars *sess, const struct sp_var_ref *ref,
                     const struct sp_smp *v)
{
    bool bytes = v->type == SP_SMP_STR || v->type == SP_SMP_BIN;
    size_t need = bytes ? v->u.str.len : 0;
    struct sp_var **pp = find(st, ref), *n = *pp;
    size_t old = n && (n->v.type == SP_SMP_STR || n->v.type == SP_SMP_BIN) ? n->v.u.str.len : 0;

    if (st->_bytes - old + need > SP_VARS_MAX_BYTES)
        return -ENOSPC;
    /* tune.vars.*: a new variable counts its entry, then its value's bytes (HAProxy) */
    int64_t d = (int64_t)need - (int64_t)old + (n ? 0 : (int64_t)sizeof(struct sp_var));
    if (!acct(ref->scope, st, sess, d))
        return -ENOSPC;
    if (!n || n->cap < need) {
        struct sp_var *nn = malloc(sizeof(*nn) + need);
        if (!nn) {
            acct(ref->scope, st, sess, -d);
            return -ENOMEM;
        }
        nn->cap = need;
        nn->id = ref->id;
        nn->scope = (uint8_t)ref->scope;
        if (n) {
            nn->next = n->next;
            free(n);
        } else {
            nn->next = NULL;
        }
        *pp = n = nn;
    }
    n->v = *v;
    if (bytes) {
        if (need) /* memmove: the value may be this variable's own (var(x),set-var(x)) */
            memmove(n->data, v->u.str.ptr, need);
        n->v.u.str.ptr = n->data;
    }
    st->_bytes = st->_bytes - old + need;
    return 0;
}

static void store_unset(struct sp_vars *st, struct sp_vars *sess, const struct sp_var_ref *ref)
{
    struct sp_var **pp = find(st, ref), *n = *pp;
    if (!n)
        return;
    size_t len = n->v.type == SP_SMP_STR || n->v.type == SP_SMP_BIN ? n->v.u.str.len : 0;
    st->_bytes -= len;
    acct(ref->scope, st, sess, -(int64_t)(len + sizeof(struct sp_var)));
    *pp = n->next;
    free(n);
}

int sp_var_set(const struct sp_acl_env *env, const struct sp_var_ref *ref, const struct sp_smp *v)
{
    struct sp_vars *st = store_of(env, ref->scope);
    int ret;

    if (!st)
        return -ENOENT;
    if (ref->scope != SP_VAR_PROC)
        return store_set(st, env->sess_vars, ref, v);
    pthread_mutex_lock(&proc_lock);
    ret = store_set(st, NULL, ref, v);
    pthread_mutex_unlock(&proc_lock);
    return ret;
}

void sp_var_unset(const struct sp_acl_env *env, const struct sp_var_ref *ref)
{
    struct sp_vars *st = store_of(env, ref->scope);

    if (!st)
        return;
    if (ref->scope != SP_VAR_PROC) {
        store_unset(st, env->sess_vars, ref);
        return;
    }
    pthread_mutex_lock(&proc_lock);
    store_unset(st, NULL, ref);
    pthread_mutex_unlock(&proc_lock);
}

bool sp_var_get(const struct sp_acl_env *env, const struct sp_var_ref *ref, struct sp_smp *ret)
{
    struct sp_vars *st = store_of(env, ref->scope);
    struct sp_var *n;

    if (!st)
        return false;
    if (ref->scope != SP_VAR_PROC) {
        n = *find(st, ref);
        if (n)
            *ret = n->v;
        return n != NULL;
    }
    /* another thread may replace a proc.* value at any time: its bytes are copied, under the
     * lock, into this thread's scratch buffer (valid until the next sp_smp_eval*() call) */
    pthread_mutex_lock(&proc_lock);
    n = *find(st, ref);
    if (n) {
        *ret = n->v;
        if (n->v.type == SP_SMP_STR || n->v.type == SP_SMP_BIN) {
            char *buf = sp__smp_tmp();
            size_t len = n->v.u.str.len < SP__SMP_BUFSZ ? n->v.u.str.len : SP__SMP_BUFSZ;
            memcpy(buf, n->v.u.str.ptr, len);
            ret->u.str.ptr = buf;
            ret->u.str.len = len;
        }
    }
    pthread_mutex_unlock(&proc_lock);
    return n != NULL;
}
