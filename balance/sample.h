/* balance/sample.h - HAProxy's sample expressions (a fetch followed by converters), their
 * typed values, and variables (set-var / var()).
 *
 * A sample expression `fetch[(args)][,conv[(args)]]...` is compiled once on main, is then
 * immutable and lives in the routing snapshot (RCU): any worker evaluates it concurrently.
 * Evaluation reads the request, the response, the connection and the load through the
 * caller's `struct sp_acl_env` (balance/acl.h), allocates nothing and takes no lock (proc.*
 * variables excepted, below).
 *
 * A value's bytes may live in the request (borrowed) or in the evaluating thread's scratch
 * area: they are valid until the next sp_smp_eval*() call on the same thread. Copy what must
 * survive (sp_var_set() does).
 *
 * Variables: `SCOPE.NAME` with SCOPE one of proc, sess, txn, req, res (HAProxy 2.6). Names are
 * interned at configuration time (sp_var_ref_parse(), main only). sess.* lives in the client
 * connection's store, txn.*, req.* and res.* in the transaction's store (both owner: the
 * connection's worker, reached through env->sess_vars / env->txn_vars); proc.* is one store
 * for the process, guarded by a mutex (HAProxy too takes a lock for it): rules that write
 * proc.* variables serialise on it.
 */
#ifndef SP_BALANCE_SAMPLE_H
#define SP_BALANCE_SAMPLE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balance/acl.h"

/* HAProxy's sample types (SMP_T_*). */
enum sp_smp_type {
    SP_SMP_BOOL = 0,
    SP_SMP_SINT,
    SP_SMP_IPV4,
    SP_SMP_IPV6,
    SP_SMP_STR,
    SP_SMP_BIN,
};

/* One value. owner: the evaluating thread; see the lifetime rule above. */
struct sp_smp {
    enum sp_smp_type type;
    union {
        int64_t sint; /* BOOL (0/1) and SINT */
        struct in_addr v4;
        struct in6_addr v6;
        struct {
            const char *ptr;
            size_t len;
        } str; /* STR and BIN */
    } u;
};

/* shared: immutable after compilation. */
struct sp_smp_expr;

/* A value for sp_acl_resolver.self_fe / self_be: the proxy is not known at compile time, and
 * fe_conn, be_conn, nbsrv... without an argument read the evaluating env's fe_idx / be_idx
 * (log-format expressions, compiled once for every proxy that uses them). */
#define SP_SMP_SELF_ENV (-2)

/* Compiles text[0..len) (`fetch[(args)][,conv[(args)]]...`, no surrounding spaces) against
 * what `res` allows (res->what: a fetch not available there is an error, as in ACLs). Returns
 * NULL with a one-line message in err naming the fetch or converter at fault. owner: main. */
struct sp_smp_expr *sp_smp_compile(const char *text, size_t len, const struct sp_acl_resolver *res,
                                   char *err, size_t errlen);

/* Accepts NULL, returns NULL. owner: main (or the snapshot's reclaimer). */
struct sp_smp_expr *sp_smp_free(struct sp_smp_expr *e);

/* Evaluates: true with the value in *out, false when the fetch or a converter failed
 * (HAProxy's failed sample). shared: any thread, concurrently. */
bool sp_smp_eval(const struct sp_smp_expr *e, const struct sp_acl_env *env, struct sp_smp *out);

/* The same, converted to text (HAProxy's cast to string: integers in decimal, addresses in
 * their usual notation, booleans 0/1, binary as is). shared: any thread, concurrently. */
bool sp_smp_eval_str(const struct sp_smp_expr *e, const struct sp_acl_env *env, const char **ret_p,
                     size_t *ret_len);

/* ---- variables ---- */

enum sp_var_scope {
    SP_VAR_PROC = 0,
    SP_VAR_SESS,
    SP_VAR_TXN,
    SP_VAR_REQ,
    SP_VAR_RES,
};

/* shared: immutable after compilation. A variable named in the configuration. */
struct sp_var_ref {
    enum sp_var_scope scope;
    uint32_t id;      /* interned name: equal ids, equal names (any scope) */
    const char *name; /* "txn.foo" as written (static storage of the intern table) */
};

/* Parses `SCOPE.NAME` (HAProxy's rules: a known scope, then [A-Za-z0-9._-]+). Returns 0 or
 * -EINVAL with a message. owner: main. */
int sp_var_ref_parse(const char *text, size_t len, struct sp_var_ref *ret, char *err,
                     size_t errlen);

/* owner: the worker of the connection it belongs to. A store of variables (one per client
 * connection for sess.*, one per transaction for txn.*, req.* and res.*). Zero it (or
 * sp_vars_init) before use; sp_vars_clear() frees what it holds. At most
 * SP_VARS_MAX_BYTES of values per store (HAProxy's tune.vars.*-max-size: unlimited by
 * default; spillway bounds it so that a client cannot grow it without limit): a set beyond
 * it fails, as HAProxy's does past its limit. */
#define SP_VARS_MAX_BYTES (64 * 1024)
struct sp_var;
struct sp_vars {
    struct sp_var *_head;
    size_t _bytes;
    /* tune.vars.*-max-size accounting (HAProxy's, hierarchical): each variable counts its
     * entry plus its value's bytes; a transaction's store counts txn.*, req.* and res.*
     * (_acct_rr: req.* and res.* alone), a connection's counts sess.* and its transactions'
     * stores; _own: what its own variables hold (released from the process's count when it is
     * cleared). Kept only when a limit is set. */
    size_t _acct, _acct_rr, _own;
};

/* owner: the worker of the connection or transaction the store belongs to. Starts an empty
 * store; sp_vars_clear() frees what it holds (its bytes leave the process's count: an atomic)
 * and leaves it empty. */
void sp_vars_init(struct sp_vars *v);
void sp_vars_clear(struct sp_vars *v);
/* owner: the worker of the transaction. Clears a transaction's store, its accounting taken
 * out of its connection's store `sess` (NULL: none). */
void sp_vars_clear_txn(struct sp_vars *v, struct sp_vars *sess);

/* shared: set by main before the workers start (and again at a reload), read by every
 * worker. `tune.vars.{global,proc,sess,txn,reqres}-max-size`, 0: no limit. A set-var that
 * would carry a scope past its limit fails (the variable is left unset or as it was). */
struct sp_vars_limits {
    uint64_t global, proc, sess, txn, reqres;
};
/* owner: main (before the workers start). Installs the limits (relaxed atomics: a worker sees
 * them at its next set-var). */
void sp_vars_limits_set(const struct sp_vars_limits *l);

/* Sets (copies the value), unsets and reads a variable through the stores env points to
 * (env->sess_vars, env->txn_vars; NULL store: set fails, get finds nothing). sp_var_get()'s
 * value borrows the store's copy: valid until that variable is set or unset again. The
 * owning worker's thread only (proc.*: any thread, under the process lock). Set returns 0,
 * -ENOMEM, or -ENOSPC past SP_VARS_MAX_BYTES. */
int sp_var_set(const struct sp_acl_env *env, const struct sp_var_ref *ref, const struct sp_smp *v);
void sp_var_unset(const struct sp_acl_env *env, const struct sp_var_ref *ref);
bool sp_var_get(const struct sp_acl_env *env, const struct sp_var_ref *ref, struct sp_smp *ret);

#endif
