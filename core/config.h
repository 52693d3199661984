/* core/config.h - the configuration model and its parser (HAProxy's syntax).
 *
 * owner: main. sp_config_load() runs on the main thread; the model it returns is never
 * modified afterwards and workers never read it directly: they read the routing snapshot
 * (balance/) and the worker settings built from it.
 *
 * Diagnostics go to the FILE given to the loader, one per line, in HAProxy's shape:
 *   [ALERT]   file:line: 'keyword': message
 *   [WARNING] file:line: 'keyword': message
 * Parsing never stops at the first error: every error in the file is reported and counted.
 * What a line quotes from the file is escaped (sp_log_escape(): \x1b, never a raw ESC).
 */
#ifndef SP_CORE_CONFIG_H
#define SP_CORE_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sched.h>

#define SP_TIME_UNSET (-1) /* a timeout that was not configured (infinite) */

/* `tune.http.maxhdr`, counted as HAProxy counts it (the header fields plus the start line):
 * the default, and the most that spillway's compiled header table (http/h1.h SP_H1_MAX_HDRS
 * fields) can hold */
#define SP_CFG_MAXHDR_DEFAULT 101
#define SP_CFG_MAXHDR_MAX     101

enum sp_mode {
    SP_MODE_HTTP = 0,
    SP_MODE_TCP = 1,
};

/* capabilities of a proxy section */
enum {
    SP_CAP_FE = 1, /* frontend or listen */
    SP_CAP_BE = 2, /* backend or listen */
};

/* `balance`: HAProxy 2.6's algorithms (src/backend.c backend_parse_balance) */
enum sp_balance {
    SP_BALANCE_ROUNDROBIN = 0, /* the default */
    SP_BALANCE_STATIC_RR,
    SP_BALANCE_LEASTCONN,
    SP_BALANCE_FIRST,
    SP_BALANCE_SOURCE,
    SP_BALANCE_URI,
    SP_BALANCE_URL_PARAM,
    SP_BALANCE_HDR,
    SP_BALANCE_RANDOM,
};

/* `hash-type map-based|consistent` */
enum sp_hash_type {
    SP_HASH_MAP_BASED = 0, /* the default */
    SP_HASH_CONSISTENT,
};

/* `hash-type ... sdbm|djb2|wt6|crc32` */
enum sp_hash_fn {
    SP_HASH_SDBM = 0, /* the default */
    SP_HASH_DJB2,
    SP_HASH_WT6,
    SP_HASH_CRC32,
};

/* owner: main. The arguments of `balance` and `hash-type`. */
struct sp_cfg_lb {
    int uri_len;        /* uri len N: 0 = whole length */
    int uri_depth;      /* uri depth N: 0 = any depth */
    bool uri_whole;     /* uri whole: the query string too */
    bool uri_path_only; /* uri path-only: no scheme nor authority */
    char *name;         /* url_param NAME, hdr(NAME); NULL otherwise */
    bool domain_only;   /* hdr(NAME) use_domain_only */
    int draws;          /* random(N): 2 by default */
    enum sp_hash_type hash_type;
    enum sp_hash_fn hash_fn;
    bool avalanche; /* full_hash() on the result: given, or `consistent` with no function */
};

struct sp_tls_ctx;

/* owner: main (the whole model: built by the loader, read-only afterwards) */
struct sp_cfg_where {
    const char *file; /* interned: lives as long as the config */
    int line;
};

/* struct sp_cfg_tls opts */
#define SP_CFG_TLS_NO_SSLV3      0x01u
#define SP_CFG_TLS_NO_TLSV10     0x02u
#define SP_CFG_TLS_NO_TLSV11     0x04u
#define SP_CFG_TLS_NO_TLSV12     0x08u
#define SP_CFG_TLS_NO_TLSV13     0x10u
#define SP_CFG_TLS_NO_TICKETS    0x20u
#define SP_CFG_TLS_PREFER_CLIENT 0x40u /* prefer-client-ciphers */
/* owner: main. The TLS settings of a `bind ... ssl` line (HAProxy 2.6's ssl bind options), the
 * global ssl-default-bind-* already applied; net/tls.c builds the SSL contexts from it. */
struct sp_cfg_tls {
    char **crt; /* certificate files or directories, crt-base applied */
    int ncrt;
    struct sp_cfg_where *crt_where; /* the line of each */
    char *alpn;                     /* "h2,http/1.1" as written; NULL: none (HTTP/1.1) */
    char *ciphers, *ciphersuites;   /* NULL: OpenSSL's defaults */
    int min_ver, max_ver;           /* 0x0300 SSLv3, 0x0301 TLSv1.0 .. 0x0304 TLSv1.3; 0 unset */
    unsigned opts;                  /* SP_CFG_TLS_* */
    int dh_param;                   /* tune.ssl.default-dh-param: bits, 0 = no DHE */
};

/* owner: main. Frees `t` and what it holds (NULL: nothing). */
void sp_cfg_tls_free(struct sp_cfg_tls *t);

/* owner: main */
struct sp_cfg_bind {
    struct sp_cfg_bind *next;
    char *text;                   /* the address as written: "*:80", "unix@/run/x.sock" */
    struct sockaddr_storage addr; /* AF_INET, AF_INET6 or AF_UNIX, port set */
    socklen_t addrlen;
    int maxconn;       /* bind-level maxconn, 0 = none */
    int backlog;       /* 0 = unset */
    char *name;        /* NULL unless `name` */
    int shards;        /* 0 = by-thread (the default: one socket per worker) */
    bool h2_only;      /* `proto h2`: HTTP/2 from the first byte, no HTTP/1 detection */
    int v6only;        /* IPv6: -1 unset (spillway binds IPv6 only), 0 `v4v6`, 1 `v6only` */
    int ux_mode;       /* unix@: the socket file's mode (`mode`, or unix-bind's), -1 unset */
    int ux_uid;        /* unix@: its owner (`user`/`uid`, or unix-bind's), -1 unset */
    int ux_gid;        /* unix@: its group (`group`/`gid`, or unix-bind's), -1 unset */
    bool accept_proxy; /* `accept-proxy`: a PROXY protocol header (v1 or v2) comes first */
    struct sp_cfg_where where;
    struct sp_cfg_tls *tls;     /* `ssl`: the TLS settings, NULL for a clear bind */
    struct sp_tls_ctx *tls_ctx; /* built by the daemon from `tls` (net/tls.h), freed by it */
};

/* owner: main (copied as is into the routing snapshot: immutable there). A server's
 * `resolve-opts` and `resolve-net` (HAProxy 2.6's resolv_options). */
#define SP_CFG_MAX_PREF_NET 5
struct sp_cfg_resolv_opts {
    bool allow_dup;     /* allow-dup-ip; prevent-dup-ip (the default) clears it */
    bool ignore_weight; /* ignore-weight: SRV answers do not set the weight */
    int nnet;           /* resolve-net: the preferred networks, in order */
    struct {
        int family;
        uint8_t addr[16], mask[16]; /* addr already masked */
    } net[SP_CFG_MAX_PREF_NET];
};

/* owner: main */
struct sp_cfg_server {
    struct sp_cfg_server *next;
    char *name;
    char *addr_text;              /* as written */
    struct sockaddr_storage addr; /* resolved at load time */
    socklen_t addrlen;
    int id;      /* 1-based, in order of declaration within its backend */
    int weight;  /* 0..256, default 1 */
    int maxconn; /* 0 = unlimited (HAProxy); spillway still caps upstream connections */
    int maxqueue;
    bool check, backup, disabled;
    int64_t inter, fastinter, downinter; /* ms, SP_TIME_UNSET when unset */
    int rise, fall;
    int check_port;                     /* `port`, 0 = unset */
    struct sockaddr_storage check_addr; /* `addr`: AF_UNSPEC when unset; its port, 0 = none */
    socklen_t check_addrlen;
    int minconn; /* `minconn`: dynamic maxconn with the backend's fullconn; 0 = unset */
    /* the address has no port (`10.0.0.1`, `10.0.0.1:+1000`): connections go to the port
     * the client connected to (its dst), plus `port_offset` */
    bool port_from_dst;
    int port_offset;
    struct sockaddr_storage source; /* `source ADDR[:PORT]`: AF_UNSPEC when unset */
    socklen_t sourcelen;
    unsigned pp_opts;       /* send-proxy[-v2], proxy-v2-options: SP_CFG_PP_* */
    int check_send_proxy;   /* check-send-proxy 1, no-check-send-proxy 0, -1 unset */
    bool on_down_shutdown;  /* on-marked-down shutdown-sessions */
    bool on_up_shutdown_bk; /* on-marked-up shutdown-backup-sessions */
    /* DNS (`resolvers`, `resolve-prefer`, `init-addr`, `server-template`): plain arrays, so
     * that default-server copies stay plain values */
    char resolvers[64]; /* the resolvers section, "" when none */
    int resolve_family; /* resolve-prefer: AF_INET6 (HAProxy's default) or AF_INET */
    unsigned init_addr; /* init-addr methods in order, 4 bits each: SP_CFG_INIT_*, 0 = unset */
    char fqdn[256];     /* the host name to resolve ("" when the address is an IP literal) */
    uint16_t dns_port;  /* the address's port, host order */
    bool no_addr;       /* init-addr none left it without an address: starts in RMAINT */
    int tmpl;           /* server-template: 1-based group within the backend, 0 = plain */
    struct sp_cfg_where where;
    struct sp_cfg_resolv_opts ropts; /* resolve-opts, resolve-net */
    /* init-addr `last` (the server state file's address, balance/srvstate.h): it comes
     * before the method that gave the address (init_last), or no other method gave one and
     * the start fails without it (need_last) */
    bool init_last, need_last;
    char cookie[64]; /* `cookie VALUE` (cookie persistence), "" when none */
};

/* init-addr methods (HAProxy 2.6's SRV_IADDR_*) */
enum { SP_CFG_INIT_LAST = 1, SP_CFG_INIT_LIBC = 2, SP_CFG_INIT_NONE = 3 };

/* owner: main. A `resolvers` section (HAProxy 2.6's DNS resolution). Times are ms. */
#define SP_CFG_MAX_NAMESERVERS  8
#define SP_CFG_DNS_TCP_SESSIONS 4 /* TCP sessions per `tcp@` nameserver, at most */
struct sp_cfg_resolvers {
    struct sp_cfg_resolvers *next;
    char *name;
    struct sockaddr_storage ns[SP_CFG_MAX_NAMESERVERS]; /* `nameserver ID ADDR:PORT` (UDP) */
    socklen_t nslen[SP_CFG_MAX_NAMESERVERS];
    bool ns_tcp[SP_CFG_MAX_NAMESERVERS]; /* `tcp@ADDR:PORT`: DNS over TCP (balance/dnstcp.h) */
    int nns;
    int resolve_retries;                    /* 3 */
    int64_t timeout_resolve, timeout_retry; /* 1s, 1s */
    /* hold valid|nx|obsolete|other|refused|timeout: how long a last good answer is kept
     * after each kind of failure (valid: between good answers) */
    int64_t hold_valid, hold_nx, hold_obsolete, hold_other, hold_refused, hold_timeout;
    int accepted_payload_size; /* 512 .. 65535 */
    struct sp_cfg_where where;
};

/* what a server's PROXY protocol header carries (the values of net/proxyproto.h's SP_PP_*) */
enum {
    SP_CFG_PP_V1 = 1 << 0,
    SP_CFG_PP_V2 = 1 << 1,
    SP_CFG_PP_CRC32C = 1 << 2,
    SP_CFG_PP_AUTHORITY = 1 << 3,
    SP_CFG_PP_SSL = 1 << 4,
};

/* `retry-on` conditions (HAProxy 2.6's keywords) */
enum {
    SP_RETRY_CONN = 1 << 0,    /* conn-failure */
    SP_RETRY_EMPTY = 1 << 1,   /* empty-response */
    SP_RETRY_JUNK = 1 << 2,    /* junk-response */
    SP_RETRY_TIMEOUT = 1 << 3, /* response-timeout */
    SP_RETRY_0RTT = 1 << 4,    /* 0rtt-rejected (no early data in spillway: never happens) */
    SP_RETRY_401 = 1 << 5,     /* then 403 404 408 425 500 501 502 503 504, in this order */
    SP_RETRY_ALL = (1 << 0) | (1 << 1) | (1 << 2) | (1 << 3) | (1 << 4), /* + 500 502 503 504 */
};
/* pure. The SP_RETRY_* bit of a status retry-on can name, 0 for the others. */
int sp_retry_status_bit(int status);

/* what `http-check expect` matches */
enum sp_cfg_expect {
    SP_EXPECT_DEFAULT = 0, /* status 200-399 */
    SP_EXPECT_STATUS,      /* a list of codes and ranges: "200,301-302" */
    SP_EXPECT_RSTATUS,     /* a regex on the three digits */
    SP_EXPECT_STRING,      /* a substring of the body */
    SP_EXPECT_RSTRING,     /* a regex on the body */
};

/* owner: main. `option httpchk` and the `http-check` lines of a proxy */
struct sp_cfg_httpchk {
    bool enabled;           /* option httpchk */
    char *meth, *uri, *ver; /* NULL: OPTIONS, /, HTTP/1.0 */
    char *hdrs;             /* "name: value\r\n" lines, names lower-cased; NULL: none */
    char *body;             /* NULL: none */
    enum sp_cfg_expect expect;
    bool expect_neg; /* `!`: the check fails when the pattern matches */
    char *expect_pat;
    bool disable_on_404;
    int send_line; /* the `http-check send` line, 0: none */
    struct sp_cfg_where expect_where;
};

/* what a `tcp-check` line does (comments are folded into the lines that follow them) */
enum sp_cfg_tcpchk_act {
    SP_TCPCHK_CONNECT = 0,
    SP_TCPCHK_SEND,
    SP_TCPCHK_EXPECT,
    SP_TCPCHK_COMMENT,
};

/* what a `tcp-check expect` matches; the MYSQL ones are `option mysql-check`'s own steps */
enum sp_cfg_tcpchk_match {
    SP_TCPM_STRING = 0,
    SP_TCPM_RSTRING,
    SP_TCPM_BINARY,
    SP_TCPM_RBINARY,
    SP_TCPM_MYSQL_INIT, /* the server's initial handshake packet, not an error packet */
    SP_TCPM_MYSQL_OK,   /* the packet after it (the answer to the auth packet), not an error */
};

/* owner: main. One `tcp-check` line, in declaration order */
struct sp_cfg_tcpchk_rule {
    struct sp_cfg_tcpchk_rule *next;
    enum sp_cfg_tcpchk_act act;
    int index; /* HAProxy's rule index: the line's position among the proxy's tcp-check lines */
    int port;  /* connect port N, 0: the server's check port */
    bool send_proxy; /* connect send-proxy */
    bool def;        /* connect default: the server's check settings (its send-proxy) */
    enum sp_cfg_tcpchk_match match;
    bool neg;                               /* expect ! */
    int min_recv;                           /* -1: unset */
    int ok_status, err_status, tout_status; /* enum sp_chk_status numbers, 0: HAProxy's default */
    char *data;                             /* send bytes, or the expect pattern (NUL-terminated) */
    size_t len;
    char *comment;
    struct sp_cfg_where where;
};

/* which protocol a proxy's checks speak (the last `option httpchk|tcp-check|mysql-check|
 * ssl-hello-chk` wins, as in HAProxy) */
enum sp_cfg_chk_proto {
    SP_CHK_PROTO_NONE = 0, /* a connect, or `option httpchk` (struct sp_cfg_httpchk) */
    SP_CHK_PROTO_TCP,      /* option tcp-check and the `tcp-check` lines */
    SP_CHK_PROTO_MYSQL,    /* option mysql-check */
    SP_CHK_PROTO_SSL3,     /* option ssl-hello-chk */
};

/* owner: main. `option tcp-check|mysql-check|ssl-hello-chk` and the `tcp-check` lines */
struct sp_cfg_tcpchk {
    enum sp_cfg_chk_proto proto;
    struct sp_cfg_tcpchk_rule *rules; /* the `tcp-check` lines */
    int nrules;
    bool inherited;   /* `rules` came from the defaults section: a first own line replaces them */
    char *mysql_user; /* option mysql-check user U; NULL: no login */
    bool mysql_pre41;
    struct sp_cfg_where where; /* the option line */
};

/* owner: main (the snapshot copies the values it uses). All in milliseconds; SP_TIME_UNSET when
 * not configured */
struct sp_cfg_timeouts {
    int64_t client, server, connect, http_request, http_keep_alive, queue, tunnel, client_fin,
        server_fin, check, tarpit;
};

/* owner: main; copied by value into the routing snapshot */
struct sp_cfg_forwardfor {
    bool enabled;
    bool if_none;
    char *header; /* NULL: "X-Forwarded-For" */
    bool has_except;
    struct sockaddr_storage except_addr; /* network address (AF_INET or AF_INET6) */
    int except_prefix;                   /* prefix length */
};

/* owner: main. An `acl` or `use_backend` line, kept as words; compiled by balance/ into the routing
 * snapshot (which reports its errors with `where`) */
struct sp_cfg_rule {
    struct sp_cfg_rule *next; /* declaration order */
    int nwords;
    char **words; /* acl: NAME CRITERION...; use_backend: BACKEND [if|unless COND...] */
    struct sp_cfg_where where;
};

/* owner: main. A capture slot: `capture request|response header NAME len N` (name set), `declare
 * capture request|response len N` or `http-request|http-response capture SAMPLE len N` (name NULL);
 * each kind numbered in declaration order, as HAProxy's capture ids */
struct sp_cfg_capture {
    struct sp_cfg_capture *next;
    bool response;
    char *name;
    int len;
    struct sp_cfg_where where;
};

/* owner: main. One `log` line: kept and checked now, used by the observability work */
struct sp_cfg_log {
    struct sp_cfg_log *next;
    char *target; /* "stdout", "stderr", "/path", "127.0.0.1:514" */
    int len;      /* 0 = default */
    char *format; /* NULL = rfc3164 */
    char *facility;
    char *level; /* NULL when absent */
    struct sp_cfg_where where;
};

/* owner: main; copied by value into the routing snapshot (shared: immutable after publish
 * (RCU) there). `option clitcpka|srvtcpka|tcpka` and `clitcpka-*` / `srvtcpka-*`: SO_KEEPALIVE on
 * one side's sockets, with TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT when set */
struct sp_cfg_tcpka {
    bool on;
    int64_t idle, intvl; /* ms, SP_TIME_UNSET: the system's */
    int cnt;             /* 0: the system's */
};

/* `errorfile`, `errorloc`, `errorfiles`, `http-error` and `http-errors` (core/cfgerrors.c).
 * The status codes a message may be given for, HAProxy 2.6's http_err_codes[]: the index of a
 * code in this list is the index of its message in every table below. */
#define SP_CFG_NERR 19
extern const int sp_cfg_err_codes[SP_CFG_NERR];
/* pure. The index of `status` in sp_cfg_err_codes, -1 when it has none. */
int sp_cfg_err_idx(int status);

enum sp_cfg_reply_type {
    SP_CFG_REPLY_RAW = 0, /* raw[0..rawlen): a whole HTTP/1.x response (errorfile, errorloc);
                             rawlen 0: nothing is sent and the connection closes */
    SP_CFG_REPLY_DEFAULT, /* http-error ... default-errorfiles: spillway's built-in page */
    SP_CFG_REPLY_BUILT,   /* http-error: status, content-type, hdr lines and a body, each
                             response built from them (body and hdr values may be log-format) */
};

/* shared: immutable once loaded (workers read it through the HTTP layer's tables). One
 * message spillway may send for a status, owned by the configuration (cfg->replies). */
struct sp_cfg_reply {
    struct sp_cfg_reply *next;
    int idx; /* its position in cfg->replies */
    int status;
    enum sp_cfg_reply_type type;
    char *raw; /* RAW */
    size_t rawlen;
    char *ctype; /* BUILT: content-type, NULL: none (no body) */
    char *body;  /* BUILT: payload, or log-format text when body_lf (NUL-terminated) */
    size_t bodylen;
    bool body_lf;
    int nhdrs;
    char **hdr_names, **hdr_fmts; /* BUILT: `hdr NAME FMT`, FMT a log-format */
    char *file;                   /* the file it was read from, NULL: none */
    const char *kw;               /* the keyword of its line (static) */
    struct sp_cfg_where where;
};

/* owner: main. One errorfile/errorloc/errorfiles/http-error line of a proxy, in order: later
 * lines override earlier ones, a proxy's own lines follow those its defaults gave it. */
struct sp_cfg_errline {
    struct sp_cfg_errline *next;
    const struct sp_cfg_reply *reply; /* NULL for `errorfiles` */
    char *section;                    /* `errorfiles NAME`: the http-errors section */
    uint32_t codes;                   /* ...the codes taken from it (bit = index) */
    bool listed;                      /* ...named one by one (a missing one is warned) */
    struct sp_cfg_where where;
};

/* owner: main. An `http-errors NAME` section. */
struct sp_cfg_httperrs {
    struct sp_cfg_httperrs *next;
    char *name;
    const struct sp_cfg_reply *reply[SP_CFG_NERR];
    struct sp_cfg_where where;
};
/* `compression algo|type|offload` (core/cfgcomp.c). owner: main; the routing snapshot keeps
 * its own copy (sp_cfg_comp_dup()), shared: immutable after publish (RCU). */
#define SP_COMP_MAX_ALGOS 16
enum sp_comp_algo {
    SP_COMP_NONE = 0,
    SP_COMP_IDENTITY,
    SP_COMP_GZIP,
    SP_COMP_DEFLATE,     /* zlib format (RFC 1950) */
    SP_COMP_RAW_DEFLATE, /* raw deflate (RFC 1951), announced as "deflate" */
};
/* owner: main; the snapshot's copy: shared: immutable after publish (RCU) (see above). */
struct sp_cfg_comp {
    bool set;     /* a `compression` line applies (the proxy's own or its defaults') */
    bool offload; /* `compression offload` (never inherited from defaults, as in HAProxy) */
    int nalgos;
    uint8_t algos[SP_COMP_MAX_ALGOS]; /* enum sp_comp_algo in HAProxy's list order: each
                                       * word is prepended, so the last written comes first */
    char **types; /* `compression type` prefixes (HAProxy's list order: the last first) */
    int ntypes;
};
/* owner: main. A deep copy (NULL when `c` is not set or memory ran out: *ret_oom says which),
 * and its release (accepts NULL, returns NULL). */
struct sp_cfg_comp *sp_cfg_comp_dup(const struct sp_cfg_comp *c, bool *ret_oom);
struct sp_cfg_comp *sp_cfg_comp_free(struct sp_cfg_comp *c);

/* stick tables (issue 20): the data types a `stick-table ... store` line may name, in
 * HAProxy 2.6's order (STKTABLE_DT_*) for those spillway keeps */
enum sp_stk_dt {
    SP_STK_SERVER_ID = 0,
    SP_STK_GPT0,
    SP_STK_GPC0,
    SP_STK_GPC0_RATE,
    SP_STK_CONN_CNT,
    SP_STK_CONN_RATE,
    SP_STK_CONN_CUR,
    SP_STK_SESS_CNT,
    SP_STK_SESS_RATE,
    SP_STK_HTTP_REQ_CNT,
    SP_STK_HTTP_REQ_RATE,
    SP_STK_HTTP_ERR_CNT,
    SP_STK_HTTP_ERR_RATE,
    SP_STK_BYTES_IN_CNT,
    SP_STK_BYTES_IN_RATE,
    SP_STK_BYTES_OUT_CNT,
    SP_STK_BYTES_OUT_RATE,
    SP_STK_GPC1,
    SP_STK_GPC1_RATE,
    SP_STK_NDT,
};

enum sp_stk_type { SP_STK_T_IP = 0, SP_STK_T_IPV6, SP_STK_T_INT, SP_STK_T_STR, SP_STK_T_BIN };

/* owner: main. A proxy's `stick-table` line (plain values). */
struct sp_cfg_stktable {
    bool set;
    enum sp_stk_type type;
    unsigned keylen; /* bytes of key: 4, 16, 4, or `len` (string, binary; 32 by default) */
    uint64_t size;
    int64_t expire; /* ms; 0 = never */
    bool nopurge;
    uint32_t store;              /* bit per enum sp_stk_dt */
    uint32_t period[SP_STK_NDT]; /* ms, for the *_rate types */
    struct sp_cfg_where where;
};

/* `cookie NAME [rewrite|insert|prefix] [indirect] [nocache] [postonly] [preserve] [httponly]
 * [secure] [domain D]* [attr A]*` (http/cookie.c): plain values, so that defaults copy them */
enum {
    SP_CK_RW = 1 << 0,  /* rewrite */
    SP_CK_INS = 1 << 1, /* insert */
    SP_CK_PFX = 1 << 2, /* prefix */
    SP_CK_IND = 1 << 3, /* indirect */
    SP_CK_NOC = 1 << 4, /* nocache */
    SP_CK_POST = 1 << 5,
    SP_CK_PSV = 1 << 6, /* preserve */
    SP_CK_HTTPONLY = 1 << 7,
    SP_CK_SECURE = 1 << 8,
};
/* owner: main; the snapshot's copy (struct sp_backend's ck): shared: immutable after publish
 * (RCU). */
struct sp_cfg_cookie {
    char name[64];     /* "" when the proxy has no `cookie` line */
    unsigned opts;     /* SP_CK_* */
    char domains[256]; /* "; domain=A; domain=B", "" when none */
    char attrs[256];   /* "; A; B" (`attr` values), "" when none */
};

/* owner: main */
struct sp_cfg_proxy {
    struct sp_cfg_proxy *next; /* in declaration order */
    char *name;
    unsigned cap; /* SP_CAP_* */
    int id;       /* 1-based, declaration order among all proxies */
    enum sp_mode mode;
    struct sp_cfg_bind *binds; /* frontends only, in order */
    int maxconn;               /* 0 = use global maxconn */
    int backlog;               /* 0 = unset */
    struct sp_cfg_timeouts to;
    struct sp_cfg_forwardfor fwdfor;
    bool httplog, httplog_clf, dontlognull, log_separate_errors;
    bool tcplog; /* option tcplog (the last of httplog and tcplog wins, as in HAProxy) */
    bool http_keep_alive, httpclose; /* last one given wins; neither = keep-alive */
    bool redispatch;
    int redispatch_interval;
    int retry_on;           /* SP_RETRY_* (default conn-failure) */
    bool allbackups;        /* option allbackups */
    bool log_health_checks; /* option log-health-checks */
    struct sp_cfg_httpchk httpchk;
    struct sp_cfg_tcpchk tcpchk; /* option tcp-check|mysql-check|ssl-hello-chk */
    enum sp_balance balance;
    struct sp_cfg_lb lb; /* the algorithm's arguments and hash-type */
    int retries;         /* default 3 */
    int fullconn;
    char *default_backend; /* name as written (the last line wins) */
    struct sp_cfg_where default_backend_where;
    struct sp_cfg_proxy *defbe;    /* resolved after parsing; NULL if none */
    struct sp_cfg_server *servers; /* in order */
    int nservers;
    int ntmpl;                        /* server-template lines so far */
    struct sp_cfg_rule *acls;         /* `acl` lines */
    struct sp_cfg_rule *use_backends; /* `use_backend` lines, in order */
    /* `tcp-request connection|content ACTION [if|unless COND]`: words from ACTION on */
    struct sp_cfg_rule *tcp_conn_rules, *tcp_content_rules;
    int64_t inspect_delay; /* tcp-request inspect-delay, ms; SP_TIME_UNSET when unset */
    /* `tcp-request session ACTION [if|unless COND]` (frontends), `tcp-response content
     * ACTION [if|unless COND]` (backends): words from ACTION on; `tcp-response inspect-delay` */
    struct sp_cfg_rule *tcp_session_rules, *tcp_res_rules;
    int64_t res_inspect_delay; /* ms; SP_TIME_UNSET when unset */
    bool socket_stats;         /* option socket-stats: one stats row per listener */
    struct sp_cfg_log *logs;   /* this proxy's own `log` lines */
    bool log_global;           /* `log global` */
    char *log_format;          /* `log-format` (overrides option httplog's format) */
    /* HTTP statistics page: `stats enable|uri|refresh|auth` */
    bool stats_enabled;
    char *stats_uri;       /* NULL: "/haproxy?stats" once enabled */
    int64_t stats_refresh; /* ms, 0 = none */
    char **stats_auth;     /* "user:pass" entries */
    int nstats_auth;
    /* `http-request use-service prometheus-exporter [if|unless COND]`: words after the
     * service name (the condition), NULL when absent */
    bool prometheus;
    struct sp_cfg_rule *prometheus_cond;
    /* `http-request`, `http-response`, `http-after-response` and `redirect` lines, in order,
     * as words from the action on (redirect: from its type on); compiled by http/
     * (http/hrules.c), which reports their errors with `where` */
    struct sp_cfg_rule *http_req, *http_res, *http_after, *redirects;
    struct sp_cfg_capture *captures; /* in declaration order */
    int ncap_req, ncap_res;
    /* issue 19: the keywords every deployment carries */
    struct sp_cfg_server defsrv; /* `default-server`: what each later server starts from */
    char *description;           /* `description` (the stats page) */
    bool disabled;               /* `disabled`: the proxy does not start */
    bool srvclose;               /* option http-server-close */
    bool abortonclose;           /* option abortonclose */
    bool logasap;                /* option logasap */
    bool prefer_last;            /* option prefer-last-server */
    bool buffer_request;         /* option http-buffer-request */
    bool ignore_probes;          /* option http-ignore-probes */
    struct sp_cfg_tcpka clitcpka, srvtcpka;
    struct sockaddr_storage source; /* backend `source ADDR[:PORT]`: AF_UNSPEC when unset */
    socklen_t sourcelen;
    char *monitor_uri;                /* `monitor-uri` */
    struct sp_cfg_rule *monitor_fail; /* `monitor fail if|unless COND`: words from if|unless */
    /* stats page: hide-version, realm, show-node, show-legends, show-desc, show-modules,
     * scope */
    bool stats_hide_version;
    char *stats_realm; /* NULL: "HAProxy Statistics" */
    bool stats_show_node, stats_show_legends, stats_show_desc, stats_show_modules;
    char *stats_node;   /* show-node NAME; NULL: global `node` or the host name */
    char *stats_desc;   /* show-desc DESC; NULL: global `description` */
    char **stats_scope; /* proxy names ("." resolved to this proxy's name) */
    int nstats_scope;
    struct sp_cfg_comp comp; /* `compression` lines */
    struct sp_cfg_where where;
    /* errorfile & co: the lines, and the message of each code they leave once the file is
     * read (NULL: spillway's built-in page, or the frontend's for a backend) */
    struct sp_cfg_errline *errlines;
    const struct sp_cfg_reply *replies[SP_CFG_NERR];
    bool _bind_seen;  /* loader only: a bind line was given, even one with errors */
    unsigned _to_bad; /* loader only: SP__CFG_TO_* of `timeout` lines that had errors */
    /* `load-server-state-from-file` (SP_CFG_SSF_*) and `server-state-file-name` ("": the
     * backend's name) */
    int srv_state_load;
    char srv_state_name[256];
    struct sp_cfg_where srv_state_where;
    /* `unique-id-format FMT` (log-format; NULL: none, "" given clears it) and
     * `unique-id-header NAME` (NULL: none); uid_where: the format's line */
    char *unique_id_format, *unique_id_header;
    struct sp_cfg_where uid_where;
    /* `stats http-request allow|deny|auth [realm R] [if|unless COND]`: words from the
     * action on, checked at parse time, compiled by balance/routing.c */
    struct sp_cfg_rule *stats_http_req;
    /* `stats admin if|unless COND` lines: the words from if|unless on, compiled by
     * balance/routing.c (frontend and listen sections) */
    struct sp_cfg_rule *stats_admin;
    struct sp_cfg_stktable stk; /* `stick-table` (issue 20): stk.set when given */
    /* `stick on|match|store-request KEY [table T] [if|unless COND]` (backends): words from
     * on|match|store-request on */
    struct sp_cfg_rule *stick_rules;
    struct sp_cfg_cookie ck; /* `cookie`: ck.name[0] when given */
};

/* load-server-state-from-file (HAProxy 2.6's PR_SRV_STATE_FILE_*): unset means none */
enum { SP_CFG_SSF_UNSET = 0, SP_CFG_SSF_NONE, SP_CFG_SSF_GLOBAL, SP_CFG_SSF_LOCAL };

/* the stats socket's `level` */
enum sp_cli_level {
    SP_CLI_LEVEL_USER = 0,
    SP_CLI_LEVEL_OPERATOR, /* the default */
    SP_CLI_LEVEL_ADMIN,
};

/* owner: main. One `stats socket` line: a unix socket or a TCP address. */
struct sp_cfg_stats_socket {
    struct sp_cfg_stats_socket *next; /* in declaration order */
    char *text;                       /* as written: "/run/x.sock", "ipv4@127.0.0.1:9999" */
    struct sockaddr_storage addr;     /* AF_UNIX (the path), AF_INET or AF_INET6 */
    socklen_t addrlen;
    int mode;     /* unix: file mode, -1 = default (0600) */
    int uid, gid; /* unix: the file's owner (`user`/`uid`, `group`/`gid`), -1 = unchanged */
    enum sp_cli_level level;
    bool expose_fd; /* `expose-fd listeners`: accepted, nothing to hand over without reload */
    struct sp_cfg_where where;
};

/* owner: main */
struct sp_cfg_global {
    int nbthread;                              /* 0 = online CPUs (resolved by the runtime) */
    bool cpu_map_set;                          /* a cpu-map line was given */
    cpu_set_t cpu_map[64];                     /* per worker (index = thread number - 1) when set */
    bool cpu_map_has[64];                      /* which entries a cpu-map line covered */
    int maxconn;                               /* 0 = derived from RLIMIT_NOFILE at start */
    int bufsize;                               /* default 16384 */
    int maxaccept;                             /* default 64 */
    int h2_max_concurrent_streams;             /* default 100 */
    int h2_fe_max_concurrent_streams;          /* 0 = same as the above */
    int server_default_maxconn;                /* tune.server.default-maxconn (spillway's): 1000 */
    int decision_log;                          /* decision-log N (spillway's): 0 = off */
    int spread_checks;                         /* spread-checks: 0..50 percent */
    struct sp_cfg_stats_socket *stats_sockets; /* `stats socket` lines, in order */
    int64_t stats_timeout;                     /* ms: a stats client's read/write bound (2 s) */
    int stats_maxconn;                         /* `stats maxconn`: 10 */
    int64_t hard_stop_after;                   /* ms, SP_TIME_UNSET = wait forever */
    char *pidfile;
    bool daemon;
    struct sp_cfg_log *logs;
    struct sp_cfg_where maxconn_where; /* the `maxconn` line; line 0 when there is none */
    /* identity: applied once the sockets are open and the logs too, before any worker runs */
    int uid, gid;                     /* `user`/`uid`, `group`/`gid`: -1 = unchanged */
    char *chroot;                     /* `chroot DIR`, NULL = none */
    int ulimit_n;                     /* `ulimit-n N`: RLIMIT_NOFILE, 0 = computed */
    struct sp_cfg_where ulimit_where; /* the `ulimit-n` line */
    bool strict_limits;               /* default true (HAProxy 2.6); `no strict-limits` */
    bool zero_warning;                /* `zero-warning`: any warning fails the start */
    char *node;                       /* `node NAME`: `show info` Node, default the hostname */
    char *description;                /* `description TEXT`: `show info` Description */
    int maxrewrite;                   /* `tune.maxrewrite`: -1 = unset (no reserve) */
    int http_maxhdr;                  /* `tune.http.maxhdr`: HAProxy's count (fields + the
                                       * start line), 101 by default */
    /* `unix-bind prefix P mode M user U uid N group G gid N`: defaults of unix@ binds */
    char *unix_prefix;
    int unix_mode, unix_uid, unix_gid; /* -1 unset */
    bool pp2_never_send_local;         /* health checks' PROXY v2 carries addresses, not LOCAL */
    /* `server-state-file FILE` and `server-state-base DIR` ("" unset) */
    char server_state_file[1024];
    char server_state_base[1024];
    /* `tune.comp.maxlevel` (1), `tune.zlib.memlevel` (8), `tune.zlib.windowsize` (15) */
    int comp_maxlevel, zlib_memlevel, zlib_windowsize;
    /* `tune.vars.{global,proc,sess,txn,reqres}-max-size` (bytes), 0: no limit */
    int vars_max_global, vars_max_proc, vars_max_sess, vars_max_txn, vars_max_reqres;
    /* `log-send-hostname [NAME]`: NULL unset, "" this host's name */
    char *log_send_hostname;
    /* `ca-base DIR` (NULL unset); `ssl-default-server-ciphers/-ciphersuites` (kept, unused:
     * no TLS to servers) */
    char *ca_base, *ssl_server_ciphers, *ssl_server_ciphersuites;
    /* ssl-default-bind-ciphers, -ciphersuites (NULL unset), -options (SP_CFG_TLS_* and the
     * versions), tune.ssl.default-dh-param (0 unset), crt-base (NULL unset) */
    char *ssl_bind_ciphers, *ssl_bind_ciphersuites;
    unsigned ssl_bind_opts;
    int ssl_bind_min_ver, ssl_bind_max_ver;
    int ssl_dh_param;
    char *crt_base;
};

/* owner: main */
struct sp_config {
    struct sp_cfg_global global;
    struct sp_cfg_proxy *proxies; /* frontends, backends and listens, declaration order */
    int nproxies;
    int nerrors;                        /* errors seen by the loader */
    int nwarnings;                      /* warnings seen by the loader */
    struct sp_cfg_resolvers *resolvers; /* `resolvers` sections, in order */
    char *_file;                  /* the file name every sp_cfg_where.file points to (owned) */
    struct sp_cfg_reply *replies; /* every error message, idx order */
    int nreplies;
    struct sp_cfg_httperrs *http_errors; /* `http-errors` sections, in order */
    struct sp_cfg_userlist *userlists;   /* `userlist` sections, in order (cfguserlist.c) */
};

/* owner: main. One `user NAME [password HASH|insecure-password PASS] [groups G,...]` line. */
struct sp_cfg_ul_user {
    struct sp_cfg_ul_user *next; /* declaration order */
    char *name;
    char *pass;    /* a crypt(3) hash, the clear text when `insecure`, NULL when neither given */
    bool insecure; /* insecure-password */
    char *groups;  /* `groups G1,G2` as written, NULL when absent */
    struct sp_cfg_where where;
};

/* owner: main. One `group NAME [users U,...]` line. */
struct sp_cfg_ul_group {
    struct sp_cfg_ul_group *next; /* declaration order */
    char *name;
    char *users; /* `users U1,U2` as written, NULL when absent */
    struct sp_cfg_where where;
};

/* owner: main. A `userlist NAME` section; every group a user or a group line names was
 * checked to exist at the end of the file. */
struct sp_cfg_userlist {
    struct sp_cfg_userlist *next;
    char *name;
    struct sp_cfg_ul_user *users;
    struct sp_cfg_ul_group *groups;
    struct sp_cfg_where where;
};

/* pure. Whether user `u` belongs to group `g` of the same userlist: named by the user's
 * `groups` or by the group's `users` (HAProxy merges both). */
bool sp_cfg_ul_member(const struct sp_cfg_ul_user *u, const struct sp_cfg_ul_group *g);

/* owner: main. The userlist of that name, or NULL. */
const struct sp_cfg_userlist *sp_config_find_userlist(const struct sp_config *cfg,
                                                      const char *name);

/* owner: main. Parses the file at `path`. Every error and warning is printed to `diag`
 * (may be NULL to stay silent). Returns 0 and sets *ret_cfg when there were no errors;
 * otherwise returns -EINVAL (config errors, *ret_cfg untouched) or another negative errno
 * (file cannot be read, out of memory). */
int sp_config_load(const char *path, FILE *diag, struct sp_config **ret_cfg);

/* owner: main. As sp_config_load(), from a string; `name` is used as the file name in
 * diagnostics. For tests and for `-c` on stdin. */
int sp_config_parse_string(const char *text, const char *name, FILE *diag,
                           struct sp_config **ret_cfg);

/* owner: main. Frees the whole model. Accepts NULL, returns NULL. */
struct sp_config *sp_config_free(struct sp_config *cfg);

/* owner: main. The listening addresses the configuration asks for: one per address of each `bind`
 * line of a frontend or listen section (the sockets per worker are the runtime's business). 0 means
 * that spillway would accept nothing: main refuses to start, as HAProxy does. */
int sp_config_count_listeners(const struct sp_config *cfg);

/* owner: main. Lookup of a resolvers section by name; NULL if none. */
struct sp_cfg_resolvers *sp_config_find_resolvers(const struct sp_config *cfg, const char *name);

/* owner: main. Lookup by name among proxies having `cap`; NULL if none. */
struct sp_cfg_proxy *sp_config_find_proxy(const struct sp_config *cfg, const char *name,
                                          unsigned cap);

/* pure. Value parsers shared with other modules (the stats socket, tests). Return 0 or -EINVAL.
 * Times: a decimal number with an optional unit us|ms|s|m|h|d (ms when bare), result in ms
 * (a us value is rounded up to 1 ms when non-zero). Sizes: a number with an optional k|m|g
 * (powers of 1024). */
int sp_parse_time_ms(const char *text, int64_t *ret_ms);
int sp_parse_size(const char *text, uint64_t *ret);
/* pure. Stick-table data types (core/cfgstick.c): the name of enum sp_stk_dt `dt` (NULL when
 * out of range), whether it is a frequency counter, and the type of a name (-1: none). */
const char *sp_stk_dt_name(int dt);
bool sp_stk_dt_is_rate(int dt);
int sp_stk_dt_find(const char *name, size_t len);

/* any thread (keeps no state), but `resolve` blocks in getaddrinfo(): only main passes true.
 * Parses "ADDR:PORT", "*:PORT", ":PORT", "[v6]:PORT", "ipv4@", "ipv6@", "unix@PATH", "abns@NAME"
 * into `ss`. For a server, `resolve` allows a host name (getaddrinfo, first IPv4/IPv6 result).
 * Returns 0, -EINVAL for a malformed address, -ENOENT when a name does not resolve. */
int sp_parse_addr(const char *text, bool resolve, struct sockaddr_storage *ss, socklen_t *ret_len);

#endif
