/* balance/acl.h - HAProxy's ACLs and conditions: compile once, evaluate per request.
 *
 * shared: compiled ACLs and conditions are immutable after compilation; they live in the
 * routing snapshot (RCU) and any worker evaluates them concurrently. Evaluation allocates
 * nothing, takes no lock, and reads live state only through the caller's struct sp_acl_env.
 *
 * Syntax (HAPROXY-BEHAVIOUR.md 3): `acl NAME CRITERION[(ARGS)] [FLAGS] [OPERATOR] [VALUE...]`,
 * repeated names ORed; conditions `if|unless TERM...` with adjacent terms ANDed, `or`/`||`
 * between AND groups, `!` negating the next term, `{ ... }` anonymous ACLs, the built-in ACLs.
 */
#ifndef SP_BALANCE_ACL_H
#define SP_BALANCE_ACL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* Live load values an ACL may read. `idx` is a frontend or backend index in the snapshot
 * being evaluated (resolved from the fetch's argument at compile time, or the evaluating
 * proxy's own index when the argument is absent), or a server index for SRV_IS_UP. */
enum sp_acl_load {
    SP_LOAD_FE_CONN = 0,  /* fe_conn([fe]) */
    SP_LOAD_BE_CONN,      /* be_conn([be]) */
    SP_LOAD_BE_CONN_FREE, /* be_conn_free([be]) */
    SP_LOAD_NBSRV,        /* nbsrv([be]) */
    SP_LOAD_CONNSLOTS,    /* connslots([be]) */
    SP_LOAD_QUEUE,        /* queue([be]) */
    SP_LOAD_AVG_QUEUE,    /* avg_queue([be]) */
    SP_LOAD_FE_REQ_RATE,  /* fe_req_rate([fe]) */
    SP_LOAD_FE_SESS_RATE, /* fe_sess_rate([fe]) */
    SP_LOAD_BE_SESS_RATE, /* be_sess_rate([be]) */
    SP_LOAD_SRV_IS_UP,    /* srv_is_up(be/srv): 1 or 0 */
    SP_LOAD_ACT_CONN,     /* act_conn (idx unused) */
};

struct sp_vars;     /* balance/sample.h */
struct sp_stkctr;   /* balance/stktable.h */
struct sp_stktable; /* balance/stktable.h */

/* pure. What env->tls answers (see struct sp_acl_env). */
enum sp_acl_tls {
    SP_ACL_TLS_SNI,
    SP_ACL_TLS_PROTOCOL,
    SP_ACL_TLS_CIPHER,
    SP_ACL_TLS_ALPN,
    SP_ACL_TLS_KEYSIZE,
};

/* owner: the caller: built by the evaluating thread for one call (prepare() writes to it),
 * never shared. What the evaluation may look at. The request part is a view over the client side's
 * own parsed message (HTTP/1 or HTTP/2), valid for the duration of the call. */
struct sp_acl_env {
    /* request */
    const char *method; /* token as sent */
    size_t method_len;
    /* the request target as sent; for HTTP/2 what HAProxy makes of it: the absolute form
     * scheme://authority/path when there is an :authority, else :path */
    const char *uri;
    size_t uri_len;
    int version; /* 10, 11 or 20 */
    size_t nhdrs;
    /* header i (0 <= i < nhdrs): name and value (value without surrounding whitespace).
     * For HTTP/2 the :authority is presented as a Host header and cookie crumbs as one
     * Cookie header. */
    void (*hdr)(const void *req, size_t i, const char **name, size_t *name_len, const char **value,
                size_t *value_len);
    const void *req;
    /* connection */
    const struct sockaddr_storage *src, *dst;
    /* load: returns the value, or a negative number when it cannot be known (the fetch then
     * fails, as a failed sample does in HAProxy) */
    int64_t (*load)(const void *ctx, enum sp_acl_load what, int idx);
    const void *load_ctx;
    /* the proxy whose rules are evaluated: default argument of fe_* / be_* fetches */
    int fe_idx, be_idx;
    /* mode tcp: the request bytes received so far (tcp-request content rules, use_backend),
     * and the buffer's capacity (req.payload beyond it can never match). `partial`: more
     * bytes may come and the caller would wait for them (an inspect-delay runs): a fetch that
     * fails or does not match for want of bytes then makes the condition "missing" (see
     * sp_acl_cond_exec()). */
    const char *payload;
    size_t payload_len, payload_cap;
    bool partial;
    /* when set, the request fields above (uri, nhdrs, hdr, req) are filled only when a fetch
     * first needs them: the caller's prepare() fills them (the env is the caller's own
     * object, so it may write to it) and clears `prepare`. A rule set that only reads
     * counters (fe_conn) never pays for a request view. */
    void (*prepare)(const struct sp_acl_env *env);
    /* response (http-response and http-after-response rules): status 0 when there is none;
     * header i (0 <= i < res_nhdrs) as hdr() above */
    int status;
    size_t res_nhdrs;
    void (*res_hdr)(const void *res, size_t i, const char **name, size_t *name_len,
                    const char **value, size_t *value_len);
    const void *res;
    int res_version; /* 10 or 11 */
    /* the transaction's captured values (capture.req.hdr, capture.res.hdr): request slots
     * then response slots, each NULL when not captured; caps NULL: none */
    const char *const *caps;
    int ncap_req, ncap_res;
    /* the client connection came over TLS (ssl_fc): set by the caller for a connection
     * accepted on a `bind ... ssl` */
    bool ssl_fc;
    /* ssl_fc_sni, ssl_fc_protocol, ssl_fc_cipher, ssl_fc_alpn (a string, *len bytes, NULL
     * when there is none), ssl_fc_use_keysize (*num): what the TLS handshake settled; NULL
     * callback on a clear connection (the fetches fail) */
    const char *(*tls)(const void *tls_ctx, enum sp_acl_tls what, size_t *len, int64_t *num);
    const void *tls_ctx;
    /* variables (balance/sample.h): the client connection's sess.* store and the
     * transaction's txn.*, req.*, res.* store; NULL when there is none */
    struct sp_vars *sess_vars, *txn_vars;
    /* the `unique-id` fetch: the transaction's unique ID, generated on this first need from
     * its frontend's unique-id-format (http/uniqueid.c); NULL callback or NULL result: the
     * fetch fails (no transaction, or no unique-id-format) */
    const char *(*unique_id)(const struct sp_acl_env *env, size_t *ret_len);
    void *uid_ctx;
    /* stick tables: the stream's tracked entries (track-sc0..2, SP_STK_NCTR slots of
     * balance/stktable.h), NULL when it tracks none */
    const struct sp_stkctr *stkctr;
    /* req.body, req.body_len, req.body_size, req.body_param: the request body received so
     * far (decoded, contiguous: *p, *len) and its announced size; NULL callback or false: no
     * body to read (the fetches fail) */
    bool (*body)(const struct sp_acl_env *env, const char **p, size_t *len, uint64_t *size);
    const void *body_ctx;
    /* prio_class, prio_offset: the transaction's [class, offset] (set-priority-*), NULL when
     * there is no transaction (the fetches fail) */
    const int32_t *prio;
};

/* owner: the caller of the evaluation (env is its own). The request fields of `env`, filled
 * now if they were left for later. */
static inline void sp_acl_env_need_req(const struct sp_acl_env *env)
{
    if (env->prepare)
        env->prepare(env);
}

/* What the rules being compiled can see, which decides the fetches they may use: an HTTP
 * request (http frontends), the raw request bytes (tcp frontends' content rules and
 * use_backend), or the connection only (tcp-request connection). ANY: no restriction. */
enum sp_acl_ctx {
    SP_ACL_CTX_ANY = 0,
    SP_ACL_CTX_HTTP,
    SP_ACL_CTX_TCP,
    SP_ACL_CTX_CONN,
    SP_ACL_CTX_HTTP_RES, /* http-response rules: the request and the response */
    SP_ACL_CTX_TCP_RES,  /* tcp-response content rules: the raw response bytes */
};

struct sp_userlist; /* balance/userlist.h */
/* owner: main (compile time). Name resolution at compile time (fetch arguments such as
 * fe_conn(webserver) or srv_is_up(be/srv)). Each returns the index, or -1 when there is no
 * such proxy/server. */
struct sp_acl_resolver {
    int (*frontend)(const void *ctx, const char *name);
    int (*backend)(const void *ctx, const char *name);
    int (*server)(const void *ctx, const char *backend, const char *server);
    const void *ctx;
    int self_fe, self_be; /* the declaring proxy's own indexes, -1 when it has none */
    enum sp_acl_ctx what; /* fetches allowed (a fetch outside it is a compile error) */
    /* http_auth(NAME) & co: the userlist of that name, which outlives what is compiled
     * against it; NULL when there is none (or no userlists at all: callback NULL) */
    const struct sp_userlist *(*userlist)(const void *ctx, const char *name);
    /* the stick-table of that name (NULL: the declaring proxy's own), or NULL */
    struct sp_stktable *(*table)(const struct sp_acl_resolver *res, const char *name);
};

struct sp_acl_set;  /* the named ACLs of one proxy */
struct sp_acl_cond; /* one compiled condition */

/* owner: main (compile time). An empty set, NULL when memory runs out. */
struct sp_acl_set *sp_acl_set_new(void);
/* owner: the thread that frees what holds it: main (a build that failed, a discarded
 * snapshot), or whoever drops the routing snapshot's last reference (sp_routing_unref()).
 * Frees the set and every ACL in it. Accepts NULL, returns NULL. */
struct sp_acl_set *sp_acl_set_free(struct sp_acl_set *set);

/* owner: main (compile time). Compiles `acl NAME ...`: words[0] is the name, words[1] the
 * criterion, the rest flags, operators and values (the `acl` keyword itself is not included). On
 * error returns -EINVAL and writes a one-line message naming the word at fault into err (never
 * NULL). `-f FILE` is read relative to the current directory. */
int sp_acl_declare(struct sp_acl_set *set, const struct sp_acl_resolver *res, char **words,
                   int nwords, char *err, size_t errlen);

/* owner: main (compile time). Compiles a condition: words[0] is `if` or `unless`. Named ACLs are
 * looked up in `set` first, then among the built-in ones. NULL on error, with a message in err. */
struct sp_acl_cond *sp_acl_cond_parse(const struct sp_acl_set *set,
                                      const struct sp_acl_resolver *res, char **words, int nwords,
                                      char *err, size_t errlen);
/* owner: as sp_acl_set_free(): main, or whoever drops the routing snapshot's last reference.
 * Accepts NULL, returns NULL. A condition may reference ACLs of its set: free conditions
 * before their set. */
struct sp_acl_cond *sp_acl_cond_free(struct sp_acl_cond *c);

/* Evaluates; a NULL condition is true. shared: any thread, concurrently. */
bool sp_acl_cond_eval(const struct sp_acl_cond *c, const struct sp_acl_env *env);

/* Evaluates a condition the way HAProxy's tcp-request content rules do (acl_exec_cond() with
 * three-valued logic): 1 when it holds, 0 when it does not, -1 when it cannot be told yet
 * because a fetch lacked bytes and env->partial says more may come (the caller waits; when
 * env->partial is false this never returns -1). A NULL condition is true. shared: any
 * thread, concurrently. */
int sp_acl_cond_exec(const struct sp_acl_cond *c, const struct sp_acl_env *env);

/* shared: any thread (reads the immutable condition; main's stats socket calls it). A short
 * text of the condition for logs and `show decisions` (e.g.
 * "if too_many_connections"); points into the condition. */
const char *sp_acl_cond_text(const struct sp_acl_cond *c);

#endif
