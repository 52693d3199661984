/* http/hstick.h - the stick-table actions of http-request and http-response rules (issue 20):
 * `track-sc0|1|2 KEY [table T]`, `sc-inc-gpc0(N)`, `sc-inc-gpc1(N)`, `sc-set-gpt0(N) VALUE`.
 * hrules.c compiles and runs them through these four calls; the actions are balance/stkact.c's
 * (shared with the tcp rules), run on the transaction's slots.
 *
 * A compiled action is owner: main until the rules are published, then shared: immutable
 * (RCU, with the rules). Running one touches only the transaction's own slots (owner: its
 * worker) and the table's entries (lock-free, see balance/stktable.h). */
#ifndef SP_HTTP_HSTICK_H
#define SP_HTTP_HSTICK_H

#include "balance/balance.h"
#include <stdbool.h>
#include <stddef.h>

struct sp_txn;
struct sp_hstick;

/* pure. Whether `action` (the rule's first word) is one of these actions. */
bool sp__hstick_is(const char *action);
/* owner: main. Compiles the action w[0] and its arguments from w[*i] (*i moves past them);
 * tables and fetches resolve through res. NULL with a message in err. */
struct sp_hstick *sp__hstick_compile(const struct sp_acl_resolver *res, char **w, int n, int *i,
                                     char *err, size_t errlen);
/* owner: main. Accepts NULL. */
void sp__hstick_free(struct sp_hstick *s);
/* owner: the transaction's worker. Runs it; nothing it does fails the request (HAProxy: a key
 * that cannot be made, or a full table, leaves the counter untracked). */
void sp__hstick_run(const struct sp_hstick *s, struct sp_txn *t, const struct sp_acl_env *env);

#endif
