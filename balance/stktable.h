/* balance/stktable.h - stick tables: HAProxy 2.6's per-key counters (issue 20).
 *
 * shared: the one piece of request-path state every worker reads and writes. The contract:
 *
 *  - A table is created on main with its routing snapshot and freed with it. Its entries live
 *    in a liburcu lock-free hash table (QSBR flavour): lookups and inserts never wait on
 *    another worker (no lock; an insert that races another insert of the same key takes the
 *    winner's entry). A worker must be an online QSBR reader (it is, outside epoll_wait).
 *  - An entry a stream tracks holds a reference (atomic count) so that it is never purged;
 *    an unreferenced entry found by a fetch is valid until the caller's next quiescent state.
 *    A purged entry is marked dead with a CAS on its reference count (0 -> dead), unlinked and
 *    freed after a grace period.
 *  - Counters (conn_cur, *_cnt, gpc*, gpt0, server_id) are exact: atomic adds and stores.
 *  - Rates are HAProxy's freq_ctr over the configured period (the current period's count
 *    plus the previous one's times the fraction of the period still to run), updated without
 *    a lock: the worker that sees the period over rotates it with a CAS and two atomic steps;
 *    the others do not wait for it (HAProxy's spin) but add to the current count meanwhile,
 *    so an event that races a rotation is counted once, possibly in the period before its
 *    own. Accuracy bound: a rate differs from HAProxy's over the same events by at most the
 *    events that other workers add during one rotation's window, i.e. (workers - 1) events
 *    per period in practice (one add each: the window is a few instructions; more only when
 *    the rotating worker is preempted inside it). Within one period a rate is its exact
 *    count. A reader takes a stable view (no rotation under way, the words read twice alike)
 *    in at most 64 tries, and never waits longer.
 *  - Tables start empty when spillway starts or reloads (HAProxy without `peers` too).
 *  - Memory is bounded by `size`: a new key beyond it purges the least recently touched
 *    unreferenced entry among up to SP_STK_PURGE_SCAN scanned (HAProxy purges its oldest);
 *    with `nopurge`, or when every scanned entry is in use, the new key is refused (tracking
 *    does nothing, as in HAProxy). `expire`: an idle entry whose expiry has passed is treated
 *    as absent by every lookup and recycled by the next insert of its key or a purge.
 */
#ifndef SP_BALANCE_STKTABLE_H
#define SP_BALANCE_STKTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "balance/sample.h"
#include "core/config.h"

#define SP_STK_PURGE_SCAN 64
#define SP_STK_MAXKEY     1024

struct sp_stktable;
struct sp_stkentry;

/* owner: the evaluating thread. A key in a table's format. */
struct sp_stkkey {
    unsigned len; /* the table's key length */
    unsigned char b[SP_STK_MAXKEY];
};

/* owner: main. A table from its configuration; NULL when out of memory. */
struct sp_stktable *sp_stktable_new(const char *name, const struct sp_cfg_stktable *c);
/* owner: main (or the snapshot's reclaimer, once no worker can reach it). Accepts NULL. */
struct sp_stktable *sp_stktable_free(struct sp_stktable *t);

/* shared: immutable. */
const char *sp_stktable_name(const struct sp_stktable *t);
const struct sp_cfg_stktable *sp_stktable_conf(const struct sp_stktable *t);
bool sp_stktable_stores(const struct sp_stktable *t, enum sp_stk_dt dt);
/* shared: entries in use (live and not yet purged), and `size`. */
int64_t sp_stktable_count_mt(const struct sp_stktable *t);

/* shared. Converts a sample into the table's key (HAProxy's stktable_fetch_key() casts):
 * false when it cannot (an IPv6 address in an ip table...). */
bool sp_stktable_key_mt(const struct sp_stktable *t, const struct sp_smp *v, struct sp_stkkey *k);

/* shared. Milliseconds of the monotonic clock, as 32-bit ticks (wrapping as HAProxy's). */
uint32_t sp_stk_now_ms(void);

/* shared, online QSBR reader. The live entry of `k`, or NULL; valid until the caller's next
 * quiescent state. */
struct sp_stkentry *sp_stktable_lookup_mt(struct sp_stktable *t, const struct sp_stkkey *k,
                                          uint32_t now);
/* shared, online QSBR reader. The entry of `k`, created when absent, with a reference taken
 * (sp_stkentry_unref_mt() gives it back); NULL when the table is full and nothing can be
 * purged, or memory ran out. */
struct sp_stkentry *sp_stktable_get_mt(struct sp_stktable *t, const struct sp_stkkey *k,
                                       uint32_t now);
/* shared. Gives a reference back and pushes the entry's expiry to now + expire. */
void sp_stkentry_unref_mt(struct sp_stktable *t, struct sp_stkentry *e, uint32_t now);
/* shared. Pushes the entry's expiry to now + expire. */
void sp_stkentry_touch_mt(struct sp_stktable *t, struct sp_stkentry *e, uint32_t now);
/* shared. Removes an unreferenced entry (clear table). True when it was removed. */
bool sp_stkentry_kill_mt(struct sp_stktable *t, struct sp_stkentry *e);

/* shared. Data of an entry; each returns false when the table does not store `dt`.
 * add: counters and rates (a rate counts `n` events now); set: counters, gpt0, server_id;
 * get: counters as stored, rates as HAProxy's read_freq_ctr_period() would read them. */
bool sp_stk_add_mt(struct sp_stktable *t, struct sp_stkentry *e, enum sp_stk_dt dt, uint64_t n,
                   uint32_t now);
bool sp_stk_set_mt(struct sp_stktable *t, struct sp_stkentry *e, enum sp_stk_dt dt, uint64_t v);
bool sp_stk_get_mt(const struct sp_stktable *t, const struct sp_stkentry *e, enum sp_stk_dt dt,
                   uint32_t now, uint64_t *ret);
/* shared. The entry's key bytes (the table's key length). */
const unsigned char *sp_stkentry_key(const struct sp_stkentry *e);
/* shared. The number of streams tracking the entry (HAProxy's ts->ref_cnt). */
int64_t sp_stkentry_refs_mt(const struct sp_stkentry *e);

/* owner: the stream's worker. What a stream tracks (track-sc0..2): the table and the entry,
 * with a reference held until sp_stkctr_release(). */
#define SP_STK_NCTR 3
struct sp_stkctr {
    struct sp_stktable *t;
    struct sp_stkentry *e;
    /* a stream's slot that is its session's tracker (HAProxy's stream_new() copies the
     * session's stkctr): the session holds the reference, the stream releases nothing */
    bool sess;
};

/* owner: worker. Starts tracking `e` (reference already taken by sp_stktable_get_mt()) in
 * slot `c`, counting what HAProxy's stream_track_stkctr() counts: conn_cur, conn_cnt,
 * conn_rate; and, with `http`, one HTTP request (http_req_cnt, http_req_rate). */
void sp_stkctr_track(struct sp_stkctr *c, struct sp_stktable *t, struct sp_stkentry *e, bool http,
                     uint32_t now);
/* owner: worker. At the end of a stream, before its log line (HAProxy counts these as the
 * response goes): a 4xx `status` counts an HTTP error, `bytes_in`/`bytes_out` the request and
 * response bytes, in every tracked entry. */
void sp_stkctr_end(struct sp_stkctr *c, int status, uint64_t bytes_in, uint64_t bytes_out);
/* owner: worker. After the log line: drops every tracked entry (conn_cur goes down, the
 * reference is given back) and clears the slots. */
void sp_stkctr_release(struct sp_stkctr *c);

/* ---- session-level trackers: tcp-request connection|session track-sc* ----
 *
 * The connection (the session: every keep-alive request, every HTTP/2 stream) holds its own
 * SP_STK_NCTR slots, tracked by sp_stkctr_track() (conn_cur for the connection's life,
 * conn_cnt and conn_rate once) and released by sp_stkctr_release() when it closes. Each
 * stream starts with the session's trackers in its own slots (sp_stkctr_inherit(), marked
 * `sess`), so that a stream-level track-scN of a slot the session tracks does nothing, the
 * stream's counters (HTTP requests, errors, bytes) go to the session's entry, and fetches read
 * it: HAProxy's stream_new() memcpy and smp_fetch_sc_stkctr(). */

/* owner: worker. HAProxy's session_count_new(): sess_cnt and sess_rate of every tracked
 * entry of a session's slots. */
void sp_stkctr_count_session(struct sp_stkctr *c);
/* owner: worker. A stream's slots `dst` (empty) take the session's `src` trackers, without
 * references; true when there was one. */
bool sp_stkctr_inherit(struct sp_stkctr *dst, const struct sp_stkctr *src);
/* owner: worker. One HTTP request (http_req_cnt, http_req_rate) in every tracked slot:
 * HAProxy's stream_inc_http_req_ctr(), when the request head is parsed. */
void sp_stkctr_count_http_req(struct sp_stkctr *c);

/* ---- the stick-table actions: track-sc0|1|2 KEY [table T], sc-inc-gpc0|1(N),
 * sc-set-gpt0(N) VALUE (balance/stkact.c), for tcp-request connection|session|content rules
 * and the http rules (http/hstick.c) ---- */

struct sp_acl_resolver;
struct sp_acl_env;
/* shared: immutable after publish (RCU). One compiled action. */
struct sp_stkact;

/* pure. Whether `word` (the rule's action word) is one of these actions; gpc/gpt arrays
 * (sc-inc-gpc(I,N), sc-set-gpt(I,N)) are not. */
bool sp_stkact_is(const char *word);
/* owner: main. Compiles the action w[0] and its arguments from w[*i] (*i moves past them);
 * tables and fetches resolve through res. NULL with a message in err. */
struct sp_stkact *sp_stkact_compile(const struct sp_acl_resolver *res, char **w, int n, int *i,
                                    char *err, size_t errlen);
/* owner: main. Accepts NULL, returns NULL. */
struct sp_stkact *sp_stkact_free(struct sp_stkact *a);
/* owner: the slots' worker. Runs it on `slots` (SP_STK_NCTR); `http`: a track counts the
 * current HTTP request (an http-request rule's). Nothing it does fails: a key that cannot be
 * made or a full table leaves the counter untracked (HAProxy). True when it started tracking
 * (the caller then owes a sp_stkctr_release()). */
bool sp_stkact_run(const struct sp_stkact *a, struct sp_stkctr *slots, const struct sp_acl_env *env,
                   bool http);

/* ---- the stats socket: `show table`, `clear table` (HAProxy's format) ---- */

/* owner: main. A filter over entries: `key K` and/or `data.TYPE OP VALUE`. */
struct sp_stkfilter {
    bool has_key;
    struct sp_stkkey key;
    int dt; /* enum sp_stk_dt, -1: none */
    int op; /* 0 eq, 1 ne, 2 le, 3 lt, 4 ge, 5 gt */
    int64_t value;
};

/* owner: main. Parses `[data.TYPE OP VALUE] [key K]` words into f; 0 or -1 with a message in
 * err. */
int sp_stkfilter_parse(const struct sp_stktable *t, char **w, int n, struct sp_stkfilter *f,
                       char *err, size_t errlen);
/* The header line "# table: NAME, type: ip, size:N, used:N\n" into buf. */
void sp_stktable_head(const struct sp_stktable *t, char *buf, size_t cap);
/* owner: main, registered as a QSBR reader for the call (the caller registers). Emits one
 * line per live entry passing f ("0x...: key=K use=N exp=MS DATA=V...\n"). */
void sp_stktable_dump(struct sp_stktable *t, const struct sp_stkfilter *f,
                      void (*emit)(void *ctx, const char *line), void *ctx);
/* owner: main, registered as a QSBR reader. Removes the unreferenced live entries passing f;
 * returns how many. */
int sp_stktable_clear(struct sp_stktable *t, const struct sp_stkfilter *f);

/* ---- persistence: `stick on|match|store-request` (balance/stkrules.c) ---- */

struct sp_backend;
struct sp_server;
struct sp_routing;
struct sp_config;

/* shared: immutable after publish (RCU). One compiled `stick` rule of a backend. */
struct sp_stick_rule {
    bool match, store;        /* on: both; match; store-request: store */
    bool response;            /* store-response: stored when the response head comes */
    struct sp_smp_expr *expr; /* the key */
    struct sp_stktable *t;
    struct sp_acl_cond *cond; /* NULL: always */
};

/* owner: main. Whether some `stick` rule of the configuration uses the table of proxy
 * `name` (it then stores server_id, as HAProxy adds it). */
bool sp_stick_uses_table(const struct sp_config *cfg, const char *name);
/* owner: main. Compiles every backend's `stick` rules into r; errors go to diag as
 * "[ALERT] file:line: 'stick': message". Returns the number of errors or -ENOMEM. */
int sp_stick_compile(struct sp_routing *r, const struct sp_config *cfg, FILE *diag);
/* owner: main (the snapshot's reclaimer). */
void sp_stick_free(struct sp_backend *be);
/* shared. HAProxy's stick match: the server stored for the first matching rule's key, when
 * it belongs to `be` and is usable; NULL: let the algorithm choose. */
const struct sp_server *sp_stick_match_mt(const struct sp_backend *be,
                                          const struct sp_acl_env *env);
/* shared. Stores `s` (its id) under the key of every storing rule that applies. */
void sp_stick_store_mt(const struct sp_backend *be, const struct sp_acl_env *env,
                       const struct sp_server *s);
/* shared. `stick store-response`: stores `s` under the key of every such rule that applies,
 * `env` viewing the response head (HAProxy's process_store_rules(), before the http-response
 * rules). */
void sp_stick_store_res_mt(const struct sp_backend *be, const struct sp_acl_env *env,
                           const struct sp_server *s);

#endif
