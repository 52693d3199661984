/* http/hrules.h - HAProxy's HTTP rules: `http-request`, `http-response`, `http-after-response`
 * and `redirect`, compiled from the configuration's words and run on struct sp_hmsg heads.
 *
 * shared: immutable after sp__hrules_build() (main, at start-up, after the routing snapshot
 * is compiled: conditions use its ACL sets and name resolution). Any worker runs them
 * concurrently; running allocates nothing but the answer of a final action (a redirect,
 * deny or return body), and takes no lock (proc.* variables excepted).
 *
 * Order (HAProxy 2.6, http_process_req_common): monitor-uri; the frontend's http-request
 * rules; the stats page; the frontend's `redirect` rules; use_backend; then the backend's
 * http-request and `redirect` rules when the backend is another proxy. Responses: the
 * backend's http-response rules, then the frontend's; http-after-response the same way, also
 * on the answers spillway makes itself. A final action (allow, deny, return, redirect, auth,
 * use-service) ends its rule set; allow ends only the current proxy's set.
 */
#ifndef SP_HTTP_HRULES_H
#define SP_HTTP_HRULES_H

#include <stdbool.h>
#include <stdio.h>

#include "http/hmsg.h"

struct sp_config;
struct sp_routing;
struct sp_txn;
struct sp_conn;

struct sp_hrule;

/* shared: immutable. One proxy's rules of one kind, in declaration order. */
struct sp_hruleset {
    struct sp_hrule *r;
    int n;
};

/* shared: immutable. A capture slot: a header's name (NULL: filled by a capture rule) and
 * the length kept. */
struct sp_hcap {
    char *name;
    size_t nlen;
    int len;
    size_t off; /* where its value goes in a transaction's capture block */
};

/* shared: immutable. A proxy's rule sets, and a frontend's capture slots (request slots
 * first, then response slots: the order of struct sp_txn's caps). */
struct sp_hrules_px {
    struct sp_hruleset req, redir, res, after;
    struct sp_hcap *caps;
    int ncap_req, ncap_res;
    size_t caps_size; /* a transaction's capture block: the pointers, then each value */
};

/* shared: immutable. Every proxy's rules, by frontend and by backend index. A listen
 * section's rules are its frontend's; they run again as backend rules only for another
 * frontend that routes to it (be_is_fe says which backend is which frontend's own). */
struct sp_hrules {
    struct sp_hrules_px *fe, *be;
    int *be_is_fe; /* by backend index: the frontend index of the same proxy, or -1 */
    int nfe, nbe;
    bool any_req, any_res; /* some proxy has request / response rules */
    /* unique-id-format / unique-id-header by frontend index (uniqueid.c); NULL when no
     * frontend has a format */
    struct sp_uid *uid;
};

/* uniqueid.c. shared: immutable. A frontend's unique-id-format and unique-id-header. */
struct sp_logfmt;
struct sp_uid {
    struct sp_logfmt *fmt; /* NULL: none */
    char *hdr;             /* NULL: none */
    size_t hlen;
};

/* owner: main. Compiles every frontend's unique-id-format into h->uid; errors printed to diag
 * with file:line. Returns the number of errors or -ENOMEM; sets h->any_req when a frontend
 * has a format (the ID is made and its header added where the request rules end). */
int sp__uid_build(const struct sp_config *cfg, const struct sp_routing *rt, FILE *diag,
                  struct sp_hrules *h);
/* owner: main, once no worker runs. Frees h->uid. */
void sp__uid_free(struct sp_hrules *h);
struct sp_acl_env;
/* owner: worker. The transaction's unique ID, made now from `env` (the request view when
 * there is one) if it has none yet and its frontend has a format; NULL without a format or
 * when memory runs out. */
const char *sp__uid_get(struct sp_txn *t, const struct sp_acl_env *env);
/* owner: worker. HAProxy's http_process_request(): the ID made, and the frontend's
 * unique-id-header added to the request toward the server. 0, or -ENOSPC when the header
 * did not fit. */
int sp__uid_request(struct sp_txn *t, struct sp_hmsg *hm, const struct sp_acl_env *env);
/* shared: the env's unique_id callback (env->uid_ctx is the transaction). */
const char *sp__uid_fetch(const struct sp_acl_env *env, size_t *ret_len);

/* owner: main. Compiles the rules of every proxy of `cfg` against the published routing
 * snapshot `rt`; errors are printed to `diag` with file:line. Returns the number of errors
 * (*ret set even then, so it can be freed), or -ENOMEM. */
int sp__hrules_build(const struct sp_config *cfg, const struct sp_routing *rt, FILE *diag,
                     struct sp_hrules **ret);
/* owner: main, once no worker runs (before the routing snapshot the conditions use).
 * Accepts NULL, returns NULL. */
struct sp_hrules *sp__hrules_free(struct sp_hrules *h);

/* owner: worker. Whether request processing must go through sp__hrules_request() (some
 * proxy has request rules or captures), and whether responses must go through
 * sp__hrules_response(): one load and a test each when there are none. */
static inline bool sp__hrules_on(const struct sp_hrules *h, bool response)
{
    return h && (response ? h->any_res : h->any_req);
}

/* owner: worker. Runs the request rules around the routing on `hm` (made from the client's
 * head by the caller): sets t->be and t->rule as sp__route_h1() and sp__route_h2() do, or answers
 * the request (t->local, to be started by sp__txn_start as any local answer). Returns 0, or -ENOSPC
 * when a rewrite failed (the caller answers 500). */
int sp__hrules_request(struct sp_txn *t, struct sp_conn *c, struct sp_hmsg *hm);

/* owner: worker. The client's HTTP/1 request (buf, m) or HTTP/2 request `r` made into the
 * worker's message and run through sp__hrules_request(): returns that message, for the
 * caller to build the server's request from, or NULL with *ret_err (-ENOMEM, -ENOSPC: 500;
 * -EINVAL: 400). */
struct sp_hmsg *sp__hrules_h1(struct sp_txn *t, struct sp_conn *c, const char *buf,
                              const struct sp_h1_msg *m, int *ret_err);
struct sp_hmsg *sp__hrules_h2(struct sp_txn *t, struct sp_conn *c, const struct sp_h2_req *r,
                              int *ret_err);

/* owner: worker. Request rules that returned -EAGAIN (sp__hrules_request, _h1, _h2) paused
 * for the body (wait-for-body, option http-buffer-request: t->hpause): once the client side
 * holds enough of it (req_body() of its front ops), they go on where they stopped, on their
 * message as they left it; returns it as sp__hrules_h1() does, or NULL with *ret_err -EAGAIN
 * (still waiting: call again when more came) or an error. `base`, `len`: where the client's
 * head is now (HTTP/1: its read buffer may have moved it; NULL: it did not move). */
struct sp_hmsg *sp__hrules_resume(struct sp_txn *t, struct sp_conn *c, const char *base, size_t len,
                                  int *ret_err);
/* owner: worker. Whether paused rules have what they wait for (sp__hrules_resume() would go
 * on): a cheap test before the client side prepares their message again. */
bool sp__hrules_ready(const struct sp_txn *t);
/* owner: worker. When paused rules stop waiting (worker ms; the request is then answered
 * 408, as HAProxy's http_wait_for_msg_body()), 0: no deadline of their own. */
uint64_t sp__hrules_wait_until(const struct sp_txn *t);

/* owner: worker. The transaction's captures into env (capture.req.hdr / capture.res.hdr). */
void sp__hrules_caps_env(const struct sp_txn *t, struct sp_acl_env *env);

/* owner: worker. The response head `m` (over `buf`) before it goes to the client: runs the
 * http-response rules (`server`: it came from a server) and http-after-response rules. Sets
 * ret_m, ret_buf and ret_len to the head to use (the worker's scratch when rewritten). Returns 0,
 * or a status (502 deny, 500 failed rewrite) the caller answers instead, or SP_HRULES_REPLY:
 * an http-response return or redirect made t->lresp the answer that replaces the response. */
#define SP_HRULES_REPLY 1
int sp__hrules_response(struct sp_txn *t, const struct sp_h1_msg *m, const char *buf, size_t len,
                        bool server, const struct sp_h1_msg **ret_m, const char **ret_buf,
                        size_t *ret_len);

#endif
