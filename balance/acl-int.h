/* balance/acl-int.h - what balance/acl.c (declarations, conditions) and balance/acl-fetch.c
 * (criteria, patterns, matching) share. Not for use outside balance/.
 *
 * shared: an expression is immutable once compiled; sp__acl_expr_exec() may run on any thread
 * concurrently and keeps its scratch on the stack. */
#ifndef SP_BALANCE_ACL_INT_H
#define SP_BALANCE_ACL_INT_H

#include "balance/acl.h"
#include "balance/sample.h"

#include <netinet/in.h>
#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Output type of a fetch; its default match method follows from it. */
enum sp__acl_type {
    SP__ACL_T_BOOL,
    SP__ACL_T_INT,
    SP__ACL_T_IP,
    SP__ACL_T_STR,
    SP__ACL_T_BIN, /* bytes (req.payload): -m bin by default */
    SP__ACL_T_ANY, /* var() without converters: no default method, -m is required */
};

/* The fetches (acl-kw.c's table, acl-fetch.c's evaluation). */
enum sp__acl_fetch {
    SP__F_TRUE,
    SP__F_FALSE,
    SP__F_LOAD,
    SP__F_PATH,
    SP__F_URL,
    SP__F_BASE,
    SP__F_QUERY,
    SP__F_URLP,
    SP__F_HDR,
    SP__F_FHDR,
    SP__F_HDR_CNT,
    SP__F_FHDR_CNT,
    SP__F_METHOD,
    SP__F_VER,
    SP__F_COOK,
    SP__F_SRC,
    SP__F_DST,
    SP__F_SRC_PORT,
    SP__F_DST_PORT,
    SP__F_PROTO_HTTP,
    SP__F_REQ_LEN,
    SP__F_PAYLOAD,
    SP__F_SSL_SNI,
    SP__F_SSL_HELLO,
    /* sample fetches (also usable as ACL criteria) */
    SP__F_STR,
    SP__F_INT,
    SP__F_BOOL,
    SP__F_VAR,
    SP__F_HDR_NAMES,
    SP__F_URL_IP,
    SP__F_URL_PORT,
    SP__F_PATHQ,
    /* the response (http-response rules only) */
    SP__F_STATUS,
    SP__F_RES_HDR,
    SP__F_RES_FHDR,
    SP__F_RES_HDR_CNT,
    SP__F_RES_FHDR_CNT,
    SP__F_RES_HDR_NAMES,
    SP__F_RES_VER,
    /* the response bytes (tcp-response content rules) */
    SP__F_RES_LEN,
    SP__F_RES_PAYLOAD,
    SP__F_SSL_FC,    /* ssl_fc: the client connection is TLS (env->ssl_fc) */
    SP__F_AUTH,      /* http_auth* (fetch-auth.c): `load` holds the enum sp__auth_kind */
    SP__F_UNIQUE_ID, /* unique-id: env->unique_id() */
    SP__F_STK,       /* stick tables: sc_*, scN_*, src_*, table_* (stkfetch.c) */
    SP__F_CAP_REQ,   /* capture.req.hdr(N): env->caps[N] */
    SP__F_CAP_RES,   /* capture.res.hdr(N): env->caps[ncap_req + N] */
    /* the request body (fetch-body.c over env->body) */
    SP__F_BODY,       /* req.body: bin */
    SP__F_BODY_LEN,   /* req.body_len */
    SP__F_BODY_SIZE,  /* req.body_size */
    SP__F_BODY_PARAM, /* req.body_param([name]) */
    SP__F_RES_COOK,   /* res.cook(NAME), scook: the Set-Cookie headers' first pairs */
    /* prio_class, prio_offset: env->prio[0], env->prio[1] */
    SP__F_PRIO_CLASS,
    SP__F_PRIO_OFFSET,
    /* ssl_fc_sni, ssl_fc_protocol, ssl_fc_cipher, ssl_fc_alpn, ssl_fc_use_keysize:
     * env->tls(), `load` holds the enum sp_acl_tls */
    SP__F_SSL_INFO,
};

/* Results of three-valued evaluation, HAProxy's ACL_TEST_* values: FAIL | MISS = MISS,
 * PASS | anything = PASS, and negation maps PASS and FAIL onto each other (3 >> r). */
enum {
    SP__ACL_FAIL = 0,
    SP__ACL_MISS = 1,
    SP__ACL_PASS = 3,
};

/* Match methods, in HAProxy's `-m` spelling order (see sp__acl_match_name). */
enum sp__acl_match {
    SP__ACL_M_FOUND,
    SP__ACL_M_BOOL,
    SP__ACL_M_INT,
    SP__ACL_M_IP,
    SP__ACL_M_BIN,
    SP__ACL_M_LEN,
    SP__ACL_M_STR,
    SP__ACL_M_SUB,
    SP__ACL_M_REG,
    SP__ACL_M_BEG,
    SP__ACL_M_END,
    SP__ACL_M_DIR,
    SP__ACL_M_DOM,
    SP__ACL_M_COUNT,
};

/* shared: immutable after publish (RCU): compiled on main, then only read by evaluations.
 * One pattern. Which member is live follows from the expression's match method:
 * INT/LEN range, IP ip, REG re, the string methods and BIN str. */
struct sp__acl_pat {
    union {
        struct {
            int64_t min, max; /* inclusive; INT64_MIN / INT64_MAX stand for an open end */
        } range;
        struct {
            bool v6;
            uint8_t plen;    /* v6: prefix length */
            uint32_t v4, m4; /* v4: network and mask, host order */
            uint8_t a6[16];  /* v6: address with host bits cleared */
        } ip;
        struct {
            char *s; /* NUL-terminated copy (bin: the decoded bytes) */
            size_t len;
        } str;
        regex_t re;
    } u;
    bool icase; /* -i was in effect when this pattern was read */
};

/* shared: immutable after publish (RCU): compiled on main, then only read by evaluations.
 * One `CRITERION [FLAGS] [OPERATOR] [VALUE...]`: a fetch, a match method and its patterns.
 * Several expressions declared under one name are chained through `next` and ORed. */
struct sp__acl_expr {
    uint8_t fetch;  /* enum in acl-fetch.c */
    const char *kw; /* the fetch's name (static) */
    uint8_t match;  /* enum sp__acl_match */
    uint8_t load;   /* enum sp_acl_load, for load fetches */
    uint8_t out;    /* enum sp__acl_type of the fetch */
    bool nocase;    /* patterns always compare case-insensitively (method) */
    int idx;        /* resolved proxy/server index for load fetches */
    int occ;        /* hdr(NAME,OCC): 0 = every value, >0 from the first, <0 from the last */
    char *arg;      /* header, parameter or cookie name (NUL-terminated), or NULL */
    size_t arg_len;
    char *delims;          /* url_param's second argument: its first character opens the parameter
                              list instead of '?' and separates parameters as '&' and ';' do; NULL
                              when not given */
    uint32_t poff, plen;   /* req.payload(offset,length) */
    int64_t cint;          /* int(N), bool(B) */
    struct sp_var_ref var; /* var(SCOPE.NAME): arg holds the default value, if any */
    bool has_default;      /* var()'s second argument was given */
    /* the whole criterion as a sample expression when converters follow the fetch (the
     * match then runs on its single value), else NULL */
    struct sp_smp_expr *conv;
    size_t npat;
    struct sp__acl_pat *pat;
    struct sp__acl_expr *next;
    /* http_auth(USERLIST) & co (fetch-auth.c): the userlist, owned by the snapshot */
    const struct sp_userlist *ul;
    bool auth_grp;           /* http_auth_group without -m: the patterns are group names */
    struct sp_stktable *stk; /* sc_*(N,T), src_*, table_*: the table (NULL: the tracked one's) */
};

/* delimiters of -m dir and -m dom: a matching word sits between two of them or an end */
#define SP__ACL_DIR_DELIMS "/?"
#define SP__ACL_DOM_DELIMS "/?.:"

/* owner: main (compile time). Parses the criterion `fetch[(args)][,conv...]` into e (fetch, out,
 * load, idx, arg...), resolving proxy and server names; converters compile into e->conv.
 * *ret_forced is the match method a variant such as path_beg imposes, or -1. Returns 0 or -EINVAL
 * with a message in err. */
int sp__acl_criterion_parse(struct sp__acl_expr *e, const struct sp_acl_resolver *res,
                            const char *word, int *ret_forced, char *err, size_t errlen);

/* owner: main (compile time). Compiles words[0..nwords) (words[0] is the criterion) into *ret_expr.
 * Returns 0 or -EINVAL with a one-line message in err. */
int sp__acl_expr_compile(struct sp__acl_expr **ret_expr, const struct sp_acl_resolver *res,
                         char **words, int nwords, char *err, size_t errlen);

/* shared: any thread, concurrently (as sp__acl_expr_exec()). sp__acl_expr_exec() in three values:
 * PASS, FAIL, or MISS when it did not pass and its fetch lacked bytes that may still come
 * (env->partial). */
int sp__acl_expr_exec3(const struct sp__acl_expr *e, const struct sp_acl_env *env);

/* owner: main (compile time). 0 when the expression's fetch is available in `what`, else -EINVAL
 * with a message naming `kw` (the fetch as written). */
int sp__acl_expr_allowed(const struct sp__acl_expr *e, enum sp_acl_ctx what, const char *kw,
                         char *err, size_t errlen);

/* owner: the thread that frees its condition or set (see sp_acl_cond_free()). Frees one
 * expression (not its `next`). Accepts NULL, returns NULL. */
struct sp__acl_expr *sp__acl_expr_free(struct sp__acl_expr *e);

/* True when the fetch succeeds and at least one of its values matches one pattern.
 * shared: any thread, concurrently; allocates nothing. */
bool sp__acl_expr_exec(const struct sp__acl_expr *e, const struct sp_acl_env *env);

/* any thread (no shared state; allocates). Words joined by single spaces, or NULL when out of
 * memory. */
char *sp__acl_join(char **words, int nwords);

/* fetch-auth.c: the Authorization header's fetches (HAProxy 2.6's http_auth,
 * http_auth_group, http_auth_type, http_auth_user, http_auth_pass, http_auth_bearer), by
 * kind. shared: any thread; allocates nothing (see balance/userlist.h for crypt's cost). */
enum sp__auth_kind {
    SP__AUTH_OK,     /* http_auth(ul): bool */
    SP__AUTH_GRP,    /* http_auth_group(ul): the user name when the credentials are valid */
    SP__AUTH_TYPE,   /* http_auth_type: "Basic" or "Bearer" */
    SP__AUTH_USER,   /* http_auth_user */
    SP__AUTH_PASS,   /* http_auth_pass */
    SP__AUTH_BEARER, /* http_auth_bearer([header]): the token */
};
/* shared: any thread, concurrently; allocates nothing (as above). The fetch of `kind`. */
bool sp__auth_fetch(const struct sp__acl_expr *e, int kind, const struct sp_acl_env *env,
                    struct sp_smp *out);
/* shared: any thread, concurrently. http_auth_group's own match (HAProxy's pat_match_auth()): valid
 * credentials whose user belongs to one of the groups the patterns name. */
bool sp__auth_grp_match(const struct sp__acl_expr *e, const struct sp_acl_env *env);
/* pure. Whether e is http_auth_group (its default match is by group). */
bool sp__acl_is_auth_grp(const struct sp__acl_expr *e);

/* shared: any thread (reads env->payload only). fetch-raw.c. HAProxy's smp_fetch_ssl_hello_type()
 * and smp_fetch_ssl_hello_sni() over env->payload: 1 found, 0 not there, -1 too short for now. */
int sp__ssl_hello_type(const struct sp_acl_env *env, int64_t *ret);
int sp__ssl_sni(const struct sp_acl_env *env, const char **ret, size_t *ret_len);
/* shared: any thread. The names of every header of the request (or the response) joined by e->arg,
 * in a scratch buffer; false when they do not fit. */
bool sp__hdr_names(const struct sp__acl_expr *e, const struct sp_acl_env *env, bool res,
                   struct sp_smp *out);
/* pure. The IPv4 literal host and the port (default 80 / 443) of an absolute http(s) URL. */
bool sp__url_addr(const struct sp_acl_env *env, struct in_addr *ret_ip, int64_t *ret_port);

/* fetch-body.c. shared: any thread (reads env->body only). The request body's fetches
 * (HAProxy 2.6's http_fetch.c smp_fetch_body*): a value (body_param: the first), and each
 * value of req.body_param for ACLs until fn returns true. */
bool sp__body_fetch(const struct sp__acl_expr *e, const struct sp_acl_env *env, struct sp_smp *out);
bool sp__body_param_each(const struct sp__acl_expr *e, const struct sp_acl_env *env,
                         bool (*fn)(void *ctx, const char *s, size_t n), void *ctx);
/* pure. The next value of the application/x-www-form-urlencoded parameter name[0..nl) (any
 * parameter when nl is 0) in p[*pos..len): HAProxy's http_find_next_url_param() with '&' (and
 * ';') as delimiters. Returns whether one was found (*ret_v, *ret_n) and moves *pos past it. */
bool sp__form_param_next(const char *p, size_t len, size_t *pos, const char *name, size_t nl,
                         const char **ret_v, size_t *ret_n);

/* owner: main (compile time) for the name, the arguments and the type; sp__stk_fetch(): the
 * evaluating worker, an online QSBR reader (the table is shared: balance/stktable.h).
 * stkfetch.c: the stick-table fetches. Whether `name` is one; its arguments (the counter
 * number, the table) into e; its sample type; its value. */
bool sp__stk_fetch_name(const char *name, size_t len);
int sp__stk_fetch_args(struct sp__acl_expr *e, const struct sp_acl_resolver *res, const char *name,
                       size_t len, char *a1, char *a2, const char *word, char *err, size_t errlen);
int sp__stk_fetch_type(const struct sp__acl_expr *e);
bool sp__stk_fetch(const struct sp__acl_expr *e, const struct sp_acl_env *env, struct sp_smp *out);

/* pure. Writes the message to err (errlen bytes) and returns -EINVAL: the parsers' error exit. */
__attribute__((format(printf, 3, 4))) int sp__acl_fail(char *err, size_t errlen, const char *fmt,
                                                       ...);

#endif
