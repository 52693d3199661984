/* balance/balance.h - the routing snapshot: frontends, backends, servers and how to pick one.
 *
 * shared: immutable after publish (RCU). A snapshot is built on main from the configuration,
 * published with rcu_assign_pointer() and read by workers with rcu_dereference() under
 * liburcu's QSBR flavour: a bare pointer obtained from sp_routing_get() is valid until the
 * reading worker's next quiescent state (the end of its loop turn). Anything that keeps it
 * longer (a connection, a transaction waiting on an upstream) takes a counted reference with
 * sp_routing_ref() and drops it with sp_routing_unref(); the snapshot is freed once it has been
 * replaced, a grace period has passed, and the last reference is gone.
 *
 * Per-worker state keyed by server (pools, round-robin weights) is not in the snapshot: each
 * worker keeps arrays indexed by sp_server.idx, which is dense over the whole snapshot.
 */
#ifndef SP_BALANCE_BALANCE_H
#define SP_BALANCE_BALANCE_H

#include <regex.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>
#include <urcu/urcu-qsbr.h>

#include "balance/acl.h"
#include "balance/sample.h"
#include "balance/stktable.h"
#include "balance/health.h"
#include "balance/sample.h"
#include "core/config.h"

struct sp_backend;

/* shared: immutable after publish (RCU) */
struct sp_server {
    char *name;
    int idx; /* dense index over the snapshot's servers */
    int id;  /* 1-based within its backend */
    struct sp_backend *be;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    int weight;
    int maxconn;
    int maxqueue;
    bool disabled;
    bool backup; /* used only when no active server is usable */
    /* live state (balance/health.h): the one mutable part, written by the check's owner
     * and main, read by anyone */
    struct sp_srv_health *h;
    /* health check: `check` and its settings, resolved (inter > 0, fastinter and downinter
     * default to inter) */
    bool check;
    int check_pos; /* 0-based among the snapshot's checked servers (which worker, when) */
    int64_t inter, fastinter, downinter;
    int rise, fall;
    struct sockaddr_storage chk_addr; /* where the check connects */
    socklen_t chk_addrlen;
    uint16_t chk_port; /* `port`, 0 = none */
    bool chk_follow;   /* no `addr`: the check follows the server's live address */
    /* `minconn`: with the backend's fullconn, HAProxy's dynamic maxconn
     * (sp_server_dynamic_maxconn()); equal to maxconn when not given */
    int minconn;
    /* no port in the address: connections go to the client's destination port plus
     * port_offset, are never pooled (each goes to its own port), and the check needs `port` */
    bool port_from_dst;
    int port_offset;
    struct sockaddr_storage source; /* `source` (the server's, else its backend's): AF_UNSPEC */
    socklen_t sourcelen;
    /* PROXY protocol: SP_CFG_PP_* for the server's connections, and for its checks
     * (check-send-proxy, or send-proxy without `port` and `addr`, as HAProxy) */
    unsigned pp_opts;
    bool chk_send_proxy;
    bool on_down_shutdown;  /* on-marked-down shutdown-sessions */
    bool on_up_shutdown_bk; /* on-marked-up shutdown-backup-sessions */
    /* DNS resolution (balance/resolver.h): the name to resolve, NULL when none; the
     * resolvers section; the preferred family; the port the answers' addresses get; the
     * server-template group within the backend (0: a plain server) */
    char *fqdn;
    char *resolvers;
    int resolve_family;
    uint16_t dns_port;
    int tmpl;
    struct sp_cfg_resolv_opts ropts; /* resolve-opts, resolve-net */
    /* owner: main (the one mutable field outside `h`): an SRV record's server (fqdn starting
     * with '_'), the target host name its answer gave it, "" when none; NULL otherwise.
     * Written by the resolvers, read by `show servers state`, both on main. */
    char *srv_target;
    /* `cookie VALUE` (http/cookie.c): NULL when none */
    char *cookie;
    uint32_t cklen;
};

/* shared: immutable after publish (RCU). One step of a backend's tcp-check sequence
 * (`option tcp-check|mysql-check|ssl-hello-chk`), compiled by balance/tcpchk.c. */
struct sp_tcpchk_step {
    enum sp_cfg_tcpchk_act act; /* CONNECT (the first step only), SEND or EXPECT */
    enum sp_cfg_tcpchk_match match;
    bool implicit;   /* the connect HAProxy adds when the sequence does not start with one */
    bool send_proxy; /* connect: send the PROXY header */
    bool def;        /* connect: the server's check settings (its send-proxy) */
    bool neg;
    bool ssl3_hello; /* send: the SSLv3 client hello, with the current time in it */
    int port;        /* connect port, 0: the server's check port */
    int step_id;     /* HAProxy's tcpcheck_get_step_id(), for the messages */
    int head;        /* the first expect of the run of expects this one belongs to */
    int min_recv;    /* -1: unset */
    int ok_status, err_status, tout_status; /* enum sp_chk_status, 0: the default */
    char *data;                             /* send bytes, expect pattern */
    size_t len;
    regex_t re; /* rstring, rbinary */
    bool has_re;
    char *comment;
};

/* shared: immutable after publish (RCU). A backend's health check: TCP connect, or
 * `option httpchk` with what to send and what to expect. */
struct sp_be_check {
    bool http;
    char *req; /* the whole HTTP request, bytes as sent */
    size_t reqlen;
    enum sp_cfg_expect expect;
    bool expect_neg;
    char *pat;   /* status list or string */
    regex_t re;  /* rstatus / rstring */
    bool has_re; /* `re` compiled */
    bool disable_on_404;
    int64_t t_check, t_connect;  /* timeout check / connect, SP_TIME_UNSET when unset */
    enum sp_cfg_chk_proto proto; /* NONE: the connect or HTTP check above; else `steps` */
    struct sp_tcpchk_step *steps;
    int nsteps;
};

/* shared: immutable after publish (RCU). How a backend picks a server: `balance` and
 * `hash-type`, resolved (HAProxy 2.6's semantics, see sp_backend_pick()). */
struct sp_be_lb {
    enum sp_balance algo; /* L7 hashes in a tcp backend fall back to roundrobin, as HAProxy */
    struct sp_cfg_lb arg; /* `name` is the backend's own copy */
    int wgcd;             /* GCD of the configured weights (map-based lookups), >= 1 */
};

/* shared: immutable after publish (RCU) */
struct sp_backend {
    char *name;
    int idx;
    int id;
    enum sp_mode mode;
    struct sp_server **srv;
    int nsrv;
    int retries;
    bool redispatch;
    int redispatch_after; /* option redispatch N: >0 every Nth retry, <0 the Nth from the end */
    int64_t t_connect, t_server, t_queue, t_tunnel; /* ms; SP_TIME_UNSET = none */
    int64_t t_server_fin;                           /* timeout server-fin */
    struct sp_cfg_forwardfor fwdfor;
    bool httpclose;         /* the backend asked for close mode */
    int retry_on;           /* SP_RETRY_* */
    bool allbackups;        /* option allbackups: every usable backup shares the load */
    bool log_health_checks; /* option log-health-checks */
    struct sp_be_check chk;
    struct sp_be_health *bh; /* mutable: the backend's down/up record (balance/health.h) */
    struct sp_acl_set *acls; /* compiled (checked) even though no backend rule uses them yet */
    struct sp_be_lb lb;
    int fullconn;        /* `fullconn`, or HAProxy's default: 10% of the frontends' maxconn */
    bool srvclose;       /* option http-server-close */
    bool abortonclose;   /* option abortonclose */
    bool prefer_last;    /* option prefer-last-server */
    bool buffer_request; /* option http-buffer-request */
    struct sp_cfg_tcpka srvtcpka;
    bool disabled; /* `disabled`: takes no traffic (503) and runs no check */
    char *desc;    /* `description`, NULL: none */
    /* mode tcp: `tcp-request content` rules run when a session enters the backend (not for
     * a listen section's own sessions: its frontend part ran them), and `tcp-response
     * content` rules over the server's first bytes; `self_fe`: the frontend index of the
     * same listen section, -1 */
    struct sp_tcp_rule *tcp_content, *tcp_res;
    int ntcp_content, ntcp_res;
    int64_t t_inspect, t_res_inspect; /* inspect-delay, ms; SP_TIME_UNSET = none */
    int self_fe;
    /* `compression` lines, NULL: none (http/compress.c) */
    struct sp_cfg_comp *comp;
    /* `stick on|match|store-request` rules, in order (balance/stkrules.c) */
    struct sp_stick_rule *stick;
    int nstick;
    /* some stick rule reads the request (req.cook...): matched over the request head as it
     * goes to the server; some is a `stick store-response` */
    bool stick_req, stick_res;
    /* `cookie` persistence (http/cookie.c), mode http only: NULL when none */
    struct sp_cfg_cookie *ck;
};

/* shared: immutable after publish (RCU). `use_backend NAME [if|unless COND]` */
struct sp_switch_rule {
    struct sp_backend *be;
    struct sp_acl_cond *cond; /* NULL: always */
    int line;                 /* in the configuration file */
};

/* `tcp-request connection|content accept|reject [if|unless COND]` */
enum sp_tcp_action {
    SP_TCP_ACCEPT = 0,
    SP_TCP_REJECT,
    SP_TCP_CLOSE,        /* tcp-response content close */
    SP_TCP_SET_VAR,      /* set-var(SCOPE.NAME) EXPR: not final, the walk goes on */
    SP_TCP_UNSET_VAR,    /* unset-var(SCOPE.NAME): likewise */
    SP_TCP_EXPECT_PROXY, /* tcp-request connection expect-proxy layer4: likewise */
    SP_TCP_STK,          /* track-sc*, sc-inc-gpc0|1, sc-set-gpt0 (stktable.h): likewise */
    SP_TCP_SET_DST,      /* set-dst EXPR: likewise */
    SP_TCP_SET_DST_PORT, /* set-dst-port EXPR: likewise */
    SP_TCP_SILENT_DROP,  /* tcp-request connection silent-drop: closed, the client told nothing */
};

/* shared: immutable after publish (RCU). One tcp-request rule. */
struct sp_tcp_rule {
    enum sp_tcp_action action;
    struct sp_acl_cond *cond; /* NULL: always */
    int line;
    struct sp_var_ref var;    /* set-var / unset-var */
    struct sp_smp_expr *expr; /* set-var's value */
    struct sp_stkact *stk;    /* SP_TCP_STK */
};

/* shared: any worker, concurrently, with the stores `env` points to (their owner's thread).
 * Carries out a set-var or unset-var tcp rule whose condition held. */
void sp_tcp_rule_var(const struct sp_tcp_rule *r, const struct sp_acl_env *env);
/* pure. set-dst / set-dst-port (tcp and http rules): the address `d` (a connection's
 * destination) takes the address of `v` (IPv4 or IPv6, keeping the port), or with
 * `port_only` its port (an integer 0 to 65535); another sample leaves it as it is. */
void sp_addr_set_dst(struct sockaddr_storage *d, const struct sp_smp *v, bool port_only);

/* shared: immutable after publish (RCU) */
struct sp_frontend {
    char *name;
    int idx;
    int id;
    enum sp_mode mode;
    struct sp_backend *defbe; /* NULL: every request gets 503 */
    int maxconn;              /* resolved: frontend maxconn or the global one */
    int64_t t_client, t_http_request, t_http_keep_alive, t_client_fin;
    /* tcp-request rules (mode tcp; connection rules in either mode), in order */
    struct sp_tcp_rule *tcp_conn, *tcp_content;
    int ntcp_conn, ntcp_content;
    int64_t t_inspect;               /* tcp-request inspect-delay, ms; SP_TIME_UNSET = none */
    struct sp_tcp_rule *tcp_session; /* tcp-request session rules (either mode), in order */
    int ntcp_session;
    struct sp_cfg_forwardfor fwdfor;
    bool httpclose;
    bool httplog, httplog_clf, dontlognull;
    struct sp_acl_set *acls;
    struct sp_switch_rule *rules; /* in declaration order: the first match wins */
    int nrules;
    /* services answered by spillway itself */
    bool prometheus;               /* http-request use-service prometheus-exporter */
    struct sp_acl_cond *prom_cond; /* ...if|unless COND (NULL: always) */
    bool stats_enabled;
    char *stats_uri;       /* prefix; "/haproxy?stats" by default */
    int64_t stats_refresh; /* ms, 0 = none */
    char **stats_auth;     /* "user:pass" */
    int nstats_auth;
    /* stats page settings (`stats hide-version|realm|show-node|show-legends|show-desc|
     * scope`) */
    bool stats_hide_version, stats_show_legends;
    char *stats_realm;  /* NULL: "HAProxy Statistics" */
    char *stats_node;   /* show-node: the name shown, NULL: not shown */
    char *stats_desc;   /* show-desc: the text shown, NULL: not shown */
    char **stats_scope; /* the proxies the page shows; none: all */
    int nstats_scope;
    /* issue 19 */
    bool srvclose;       /* option http-server-close */
    bool logasap;        /* option logasap */
    bool buffer_request; /* option http-buffer-request */
    bool ignore_probes;  /* option http-ignore-probes */
    struct sp_cfg_tcpka clitcpka;
    char *monitor_uri;                 /* monitor-uri, NULL: none */
    struct sp_acl_cond **monitor_fail; /* monitor fail if|unless COND, in order */
    int nmonitor_fail;
    bool disabled; /* `disabled`: no listener */
    char *desc;    /* `description`, NULL: none */
    /* `compression` lines, NULL: none (http/compress.c) */
    struct sp_cfg_comp *comp;
    /* `stats http-request` rules, in order (run when the stats URI matched) */
    struct sp_stats_rule *stats_rules;
    int nstats_rules;
    /* `stats admin if|unless COND`, in order: the first true one gives the stats page its
     * admin form (http/statadmin.c) */
    struct sp_acl_cond **stats_admin;
    int nstats_admin;
};

/* shared: immutable after publish (RCU). One `stats http-request` line. */
enum sp_stats_act { SP_STATS_ALLOW, SP_STATS_DENY, SP_STATS_AUTH };
struct sp_stats_rule {
    enum sp_stats_act action;
    char *realm;              /* auth realm R; NULL: "HAProxy Statistics" */
    struct sp_acl_cond *cond; /* NULL: always */
};

/* shared: its settings immutable after publish (RCU); its entries written by every worker
 * without a lock (balance/stktable.h). Freed with its snapshot (grace period + last
 * reference). */
struct sp_stktable;

/* shared: immutable after publish (RCU); built by main, read by every worker; refcnt:
 * atomic. Freed after a grace period and its last reference (see the lifetime rules above). */
struct sp_routing {
    struct sp_frontend **fe;
    int nfe;
    struct sp_backend **be;
    int nbe;
    struct sp_server **srv; /* every server, by idx */
    int nsrv;
    struct sp_srv_health *health;   /* by server idx (cache-line aligned) */
    struct sp_be_health *be_health; /* by backend idx (cache-line aligned) */
    int nchecks;                    /* servers with `check` */
    bool srv_shutdowns; /* some server has on-marked-down|up shutdown-*: workers watch kill_gen */
    int spread_checks;  /* global spread-checks, percent */
    bool pp2_never_send_local;      /* global pp2-never-send-local */
    struct sp_userlist **userlists; /* `userlist` sections (balance/userlist.h), in order */
    int nuserlists;
    unsigned generation;
    struct sp_stktable **stk; /* one per proxy with a stick-table (balance/stktable.h) */
    int nstk;
    uint64_t refcnt; /* atomic (ck_pr); starts at 1 for "published" */
    struct rcu_head rcu;
};

/* owner: main. Builds a snapshot from a loaded configuration, compiling every `acl` and
 * `use_backend` line; their errors are printed to `diag` (may be NULL) as
 * "[ALERT] file:line: 'keyword': message" and counted in *ret_errors. Returns NULL when there
 * were errors or memory ran out (*ret_errors is 0 then). */
struct sp_routing *sp_routing_build(const struct sp_config *cfg, FILE *diag, int *ret_errors);
/* owner: main. Frees a snapshot that was never published. Accepts NULL, returns NULL. */
struct sp_routing *sp_routing_discard(struct sp_routing *r);
/* owner: main. Publishes `r` and releases the previous snapshot's published reference after a
 * grace period. */
void sp_routing_publish(struct sp_routing *r);
/* owner: main. Unpublishes and frees the current snapshot at shutdown (after workers exit). */
void sp_routing_shutdown(void);

/* owner: worker (online QSBR reader). The current snapshot; see the lifetime rules above. */
struct sp_routing *sp_routing_get(void);
/* shared: counted references for holders that outlive a loop turn. */
void sp_routing_ref(struct sp_routing *r);
void sp_routing_unref(struct sp_routing *r);

/* owner: main. The frontend of that name, or NULL. */
struct sp_frontend *sp_routing_frontend(const struct sp_routing *r, const char *name);
/* owner: main. The backend of that name, or NULL. */
struct sp_backend *sp_routing_backend(const struct sp_routing *r, const char *name);
/* owner: main. The ACL set of the proxy with frontend index `fe` (-1: none) and backend index
 * `be` (-1: none): its frontend's for a frontend or listen section. For rules compiled
 * outside balance/ (http/hrules.c) against this snapshot: they must be freed before it. */
const struct sp_acl_set *sp_routing_acls(const struct sp_routing *r, int fe, int be);
/* owner: main. A name resolver over `r` for the conditions of that proxy, allowing `what`. */
void sp_routing_resolver(const struct sp_routing *r, int fe, int be, enum sp_acl_ctx what,
                         struct sp_acl_resolver *ret);

/* shared: any worker, concurrently. The backend for one request of `fe`: the first
 * use_backend rule whose condition holds (even when that backend has no usable server), else
 * the default backend (NULL when there is none). *ret_rule receives the index of the rule that
 * matched, or -1 for the default. */
struct sp_backend *sp_frontend_route(const struct sp_frontend *fe, const struct sp_acl_env *env,
                                     int *ret_rule);

/* shared: any thread. HAProxy's srv_dynamic_maxconn(): the server's maxconn while the
 * backend holds `beconn` >= fullconn streams, else max(minconn, beconn * maxconn /
 * fullconn). 0: no limit. */
int sp_server_dynamic_maxconn(const struct sp_server *s, int64_t beconn);

/* shared: any thread. Usable servers of `be` right now, active ones or backups. */
int sp_backend_usable(const struct sp_backend *be, bool backup);

/* ==== Picking a server ====
 *
 * sp_backend_pick() applies the backend's `balance` algorithm with HAProxy 2.6's semantics:
 * - which servers: the usable active ones (sp_srv_lbw() > 0); with none, the first usable
 *   backup in declaration order, or every usable backup with `option allbackups`;
 * - roundrobin: smooth weighted round-robin over the live weights (sp_backend_pick_rr());
 * - static-rr: HAProxy's map of the GCD-reduced weights (3,2,1 gives a a b a b c), walked
 *   with a cursor that passes saturated servers;
 * - leastconn: the smallest (served+queued+1)*256/weight (0 when idle), saturated servers
 *   (maxconn && served+queued >= maxconn+maxqueue) passed, ties to the server this worker
 *   picked least recently (idle servers rotate a b c a b c);
 * - first: the lowest server id that is not saturated (maxconn && (queued || served >=
 *   maxconn)); weights only matter as 0 = unusable;
 * - source, uri, url_param, hdr(): a hash of the request key (struct sp_lb_req) with the
 *   `hash-type` function (avalanche: full_hash()), looked up map-based (map[h % total
 *   weight]) or consistent (the nearest of weight*16 ring points per server); an absent key
 *   (no such header or parameter, an address that is not IP) means round-robin on that map
 *   or ring instead;
 * - random(N): N random points on the consistent ring, the least loaded (served/weight)
 *   kept.
 * `exclude` (a redispatch) is passed over while another server is usable; a backup that is
 * the only one in use is returned whatever `exclude` says, as HAProxy does. One departure:
 * HAProxy's map-based hash lookup ignores the server to avoid (a redispatch lands on the same
 * server again); spillway takes the next map slot holding another server, the same on every
 * worker, so that `option redispatch` can move the request.
 *
 * "Saturated" reads the load the caller reports (struct sp_lb_load). spillway has no backend
 * queue: where HAProxy would queue a request in its backend because every server is
 * saturated, the pick returns a server anyway (the one with the shortest queue for first and
 * static-rr, the least loaded for leastconn, the winning draw for random) and the request
 * waits in that server's queue.
 *
 * Which state is per worker, and why the answer does not depend on it being global: each
 * worker owns a struct sp_lb_worker with the round-robin weights, the static-rr and fallback
 * cursors, leastconn's tie order and random's PRNG, and the maps and rings built from the
 * usable set it last saw. A map or ring is a pure function of the snapshot and the servers'
 * usable weights, so every worker that sees the same weights builds the same one, and a key
 * goes to the same server on every worker. A worker reads the weights at each pick (one
 * atomic load per server, what round-robin pays already) and rebuilds its map or ring when
 * one changed (a sort of weight*16 points per server for a ring: rare, on state changes
 * only); right after a health change two workers may disagree for the duration of one
 * pick, as they would about the state itself. Cursors, tie orders and PRNGs being per
 * worker makes each worker's rotation fair on its own, so the sum over workers is fair too;
 * HAProxy's one shared cursor would put a lock or an atomic on a shared line in the request
 * path (DESIGN.md: none). */

/* shared: a view of one request, valid for the call. Any part may be absent (NULL): the
 * algorithm that needs it then falls back to round-robin. No http type: the caller fills it
 * from its own request. */
struct sp_lb_req {
    /* the request target as received (origin or absolute form) */
    const char *uri;
    size_t uri_len;
    /* HTTP/2 with an :authority: HAProxy hashes the absolute form scheme://authority+uri */
    const char *scheme, *authority;
    size_t scheme_len, authority_len;
    /* the header fields, "name: value\r\n" lines (the request line excluded) */
    const char *hdrs;
    size_t hdrs_len;
    const struct sockaddr_storage *src; /* the client's address */
};

/* owner: worker (each worker sets up its own for its picks). The live load of a server as the
 * caller counts it: requests being served (a connection in hand or on its way) and requests
 * waiting in its queues, over every worker. Called on the
 * picking worker, only where load matters: for servers with a maxconn under static-rr,
 * first and the hash algorithms' round-robin fallback; for every usable server under
 * leastconn (so a leastconn pick costs one call per server); for each draw of random.
 * NULL `get`: every server idle. */
struct sp_lb_load {
    void (*get)(void *ctx, const struct sp_server *s, int64_t *ret_served, int64_t *ret_queued);
    void *ctx;
};

/* owner: worker. One worker's balancing state for one snapshot (see above). */
struct sp_lb_worker;

/* owner: worker. The state for snapshot `r` (which must outlive it); `seed` starts random's
 * PRNG (0 is replaced). NULL when memory runs out. */
struct sp_lb_worker *sp_lb_worker_new(const struct sp_routing *r, uint32_t seed);
/* owner: worker. Accepts NULL, returns NULL. */
struct sp_lb_worker *sp_lb_worker_free(struct sp_lb_worker *lw);

/* owner: worker. The server for one request of `be` (a backend of the snapshot `lw` was made
 * for), or NULL when no server is usable or memory for a map or ring ran out. `req` may be
 * NULL (no key: the hash algorithms' round-robin fallback), `load` too (every server idle),
 * `exclude` too. */
struct sp_server *sp_backend_pick(const struct sp_backend *be, struct sp_lb_worker *lw,
                                  const struct sp_lb_req *req, const struct sp_lb_load *load,
                                  const struct sp_server *exclude);

/* Pure. Whether `algo` is of HAProxy's round-robin kind (roundrobin, static-rr, random): a
 * request that does not care which server takes it, so that a retry moves it at once (the
 * immediate redispatch of `option redispatch`). */
bool sp_balance_rr_kind(enum sp_balance algo);

/* Pure. HAProxy's hash functions (src/hash.c) and Bob Jenkins' full_hash() (avalanche). */
uint32_t sp_lb_hash(enum sp_hash_fn fn, const void *p, size_t len);
uint32_t sp_lb_full_hash(uint32_t a);

/* owner: worker. Weighted smooth round-robin (the nginx-style algorithm): `cw` is the calling
 * worker's array of current weights indexed by server idx (zeroed at start). Returns NULL when
 * no server is usable (none, all down, in maintenance, draining or of weight 0). Backups
 * take over when no active server is usable: the first usable one, or all of them with
 * `option allbackups`. `exclude` (may be NULL) is skipped unless it is the only usable one. */
struct sp_server *sp_backend_pick_rr(const struct sp_backend *be, int64_t *cw,
                                     const struct sp_server *exclude);

#endif
