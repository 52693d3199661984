/* http/http-int.h - what the files of http/ share: the per-worker HTTP state, the transaction
 * (one request/response exchange, server side) and the interface between a transaction and
 * the client side that feeds it (HTTP/1.1 connection today, HTTP/2 stream next).
 *
 * owner: worker. Everything here lives and dies on one worker, and every function below runs
 * on the worker that owns what it is given (debug builds assert it at the entry points:
 * SP_ASSERT_OWNER), except where its comment says `pure` (any thread, touches nothing shared)
 * or `shared read`.
 *
 * Division of labour:
 *  - the client side parses the request, builds the upstream request head (HTTP/1.1 text) into
 *    txn->reqhead, calls sp__txn_start(), then pushes request body data with sp__txn_req_data()
 *    and sp__txn_req_end();
 *  - the transaction picks the server, takes a pooled connection or opens one, sends, parses the
 *    response and hands it back through the front ops (head, data, end, or an error status);
 *  - back-pressure: each side accepts only what it has room for and the other side resumes
 *    when told (ops->req_resume, sp__txn_res_resume).
 */
#ifndef SP_HTTP_HTTP_INT_H
#define SP_HTTP_HTTP_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>

#include "balance/balance.h"
#include "core/pool.h"
#include "core/timer.h"
#include "core/worker.h"
#include "http/h1.h"
#include "http/h2map.h"
#include "http/hmsg.h"
#include "http/httplog.h"
#include "http/http.h"
#include "net/buf.h"
#include "net/listener.h"
#include "net/sock.h"
#include "net/transport.h"
#include "net/upstream.h"
#include "stats/stats.h"

/* the HTTP/2 stream window we advertise, and the buffer behind it */
#define SP_H2_STREAM_WINDOW 65535u

struct sp_txn;
struct sp_conn;
struct sp_h2c;
struct sp_hpause;

#define SP_H2_OUT_IOV     64           /* iovecs of one HTTP/2 output round */
#define SP_H2_OUT_EXT     (256 * 1024) /* DATA payload bytes one round references */
#define SP_H2MEM_CLASSES  15           /* 32 .. 4096 bytes, steps of about 1.5 */
#define SP_H2MEM_MAX_FREE 8192         /* cached blocks per class */

/* owner: worker. nghttp2's allocator (h2mem.c). */
struct sp_h2mem {
    nghttp2_mem iface;
    void *free[SP_H2MEM_CLASSES];
    unsigned nfree[SP_H2MEM_CLASSES];
};

/* owner: worker */
struct sp_http_worker {
    struct sp_worker *w;
    const struct sp_http_conf *conf;
    struct sp_bufpool bufs;
    struct sp_bufpool bufs64; /* SP_H2_STREAM_WINDOW-sized: HTTP/2 request bodies */
    struct sp_pool h1c_pool, txn_pool, upconn_pool;
    struct sp_routing *rt;      /* counted reference */
    struct sp_stats_worker *st; /* this worker's counters */
    int route_fe;               /* frontend being routed: load() notes its fe_conn */
    int64_t route_fe_conn;      /* ...here (-1: the rules did not read it) */
    struct sp_uppool *pools;    /* by server idx */
    struct sp_lb_worker *lb;    /* this worker's balancing state (balance/balance.h) */
    struct sp_lb_load lbload;   /* ...and how it reads the servers' load (hworker.c) */
    struct sp_listener *listeners;
    int nlisteners;
    struct sp_conn *conns; /* every client connection, for graceful stop */
    unsigned nconns;
    struct sp_h1_msg msg;  /* parse scratch: the parser runs to completion within a call */
    struct sp_buf headbuf; /* scratch where request heads are built before sp__txn_set_head */
    /* access logs: lines are formatted into a per-worker buffer flushed once per turn */
    struct sp_logsink_buf *logbuf;
    struct sp_log_ctx logctx;
    char logline[2048];
    /* HTTP/2 */
    nghttp2_session_callbacks *h2cbs;
    nghttp2_option *h2opt;
    struct sp_h2mem h2mem;
    struct sp_pool h2s_pool, h2c_pool;
    struct sp_pool h2hb_pool;             /* header blocks being received (h2conn.c) */
    nghttp2_nv h2nva[SP_H1_MAX_HDRS + 1]; /* response head scratch (copied by nghttp2) */
    char h2scratch[16384];
    /* the HTTP/2 output round being gathered (h2conn.c h2_output(); one connection at a
     * time): iovecs over the write buffer and over DATA payloads in stream buffers */
    struct iovec h2iov[SP_H2_OUT_IOV];
    int h2niov;
    size_t h2ext;   /* payload bytes referenced */
    uint32_t h2seg; /* start of the write buffer's open segment */
    bool h2blocked; /* send_data() found no room: nghttp2 holds a frame until there is */
    /* the client streams that the read being scanned ends (END_STREAM, RST_STREAM), as the
     * frame scanner meets them (h2conn.c scan_hd(); one read of one connection at a time):
     * a DATA after them in the same read is on a closed stream, though nghttp2 has not seen
     * the end yet (at most 8 kept; beyond, no judgement: never a false error) */
    uint8_t h2nscan_ended;
    int32_t h2scan_ended[8];
    /* health checks this worker owns (check.c) */
    struct sp_check **checks;
    int nchecks;
    /* on-marked-down|up shutdown-*: each server's kill_gen last acted on, and the servers
     * whose sessions end in this scan (check.c); NULL when no server asks for it */
    int *kill_seen;
    uint8_t *kill_now;
    /* where error messages with something to render are built (errors.c): 2 x bufsize,
     * allocated at the first one */
    char *rbuf;
    /* http rules' scratch (hrules.c), allocated at the first rule run */
    struct sp_hrun *hr;
    /* cookie persistence's response scratch (cookie.c), allocated at the first edit */
    struct sp_hrun *ck;
    /* transactions started by this worker: %rt (uniqueid.c) */
    uint64_t req_seq;
};

/* owner: worker. What http rules work in (hrules.c): the message being edited, its arena, a
 * rendering scratch, the head written back, and that head parsed again. `cap` bytes each
 * (tune.bufsize). */
struct sp_hrun {
    size_t cap;
    char *arena, *tmp, *out;
    struct sp_hmsg hm;
    struct sp_h1_msg msg;
};

/* owner: worker. How a transaction talks back to its client side. */
struct sp_front_ops {
    /* Response head (also 1xx interim ones, called once each). `buf` holds the bytes `m`
     * points into. Returns 0, or -EAGAIN when there is no room yet (the transaction waits
     * for sp__txn_res_resume()). */
    int (*res_head)(struct sp_txn *t, const struct sp_h1_msg *m, const char *buf);
    /* Room for response body data right now (payload bytes that res_data will take). */
    size_t (*res_room)(struct sp_txn *t);
    /* Response body bytes; takes at most res_room() bytes and returns how many it took. */
    size_t (*res_data)(struct sp_txn *t, const char *p, size_t len);
    /* Optional. All of `rb` (at least one byte, no more than res_room()) is response body:
     * take its storage instead of a copy, leaving `rb` an empty buffer of the same pool (or
     * none). Returns false, having taken nothing, when it cannot. */
    bool (*res_swap)(struct sp_txn *t, struct sp_buf *rb);
    /* End of the response. 0, or -EAGAIN when the final framing does not fit yet. */
    int (*res_end)(struct sp_txn *t);
    /* The proxy answers with `status` itself; nothing of a response was given before. */
    void (*res_error)(struct sp_txn *t, int status);
    /* The response broke after its head went to the client: abort the client side. */
    void (*res_abort)(struct sp_txn *t);
    /* The server side can take more request body. */
    void (*req_resume)(struct sp_txn *t);
    /* The request body received so far, decoded (no chunk framing) and contiguous, in *p and
     * *len (valid until the client side runs again), and *size its announced length
     * (content-length, else the bytes so far). Returns SP_BODY_* flags. */
    unsigned (*req_body)(struct sp_txn *t, const char **p, size_t *len, uint64_t *size);
};

/* What a front op's req_body() says of the body: all of it is in; no more will come before
 * the request goes on (the buffer is full, the client closed, or its framing broke). */
enum { SP_BODY_COMPLETE = 1u, SP_BODY_STOP = 2u };

enum sp_txn_state {
    SP_TXN_NEW = 0,
    SP_TXN_RETRY_WAIT, /* between connection attempts */
    SP_TXN_QUEUED,     /* the server's pool is at its cap: waiting for a connection */
    SP_TXN_CONNECTING,
    SP_TXN_EXCHANGE, /* connected: request going out, response coming in */
    SP_TXN_LOCAL,    /* answered by spillway itself (stats page, Prometheus) */
    SP_TXN_DONE,     /* response complete or error answered */
};

/* services spillway answers itself */
enum sp_local {
    SP_LOCAL_NONE = 0,
    SP_LOCAL_STATS_HTML,
    SP_LOCAL_STATS_CSV,
    SP_LOCAL_PROMETHEUS,
    SP_LOCAL_AUTH,         /* 401: the stats page wants credentials */
    SP_LOCAL_MONITOR,      /* monitor-uri: 200 "Service ready." */
    SP_LOCAL_MONITOR_FAIL, /* monitor-uri under a `monitor fail` condition: 503 */
    SP_LOCAL_REPLY,        /* an http rule's answer (deny, return, redirect, auth): t->lresp */
    SP_LOCAL_DROP,         /* http-request silent-drop: the connection goes, no answer */
    SP_LOCAL_STATS_DENY,   /* 403: a `stats http-request deny` */
    SP_LOCAL_REJECT,       /* tcp-request content reject, http-request reject: the connection
                              closes, no answer (HTTP/2: GOAWAY and RST_STREAM
                              ENHANCE_YOUR_CALM) */
};

/* termination flags, first character of HAProxy's %tsc */
enum {
    SP_TERM_NONE = '-',
    SP_TERM_CLIENT_ABORT = 'C',
    SP_TERM_SERVER_ABORT = 'S',
    SP_TERM_PROXY = 'P',
    SP_TERM_CLIENT_TIMEOUT = 'c',
    SP_TERM_SERVER_TIMEOUT = 's',
    SP_TERM_RESOURCE = 'R',
};

/* owner: worker (the transaction's). What the HTTP/1 server side (h1srv.c) keeps of one
 * exchange: the response's framing as it is parsed. Reset for every attempt. */
struct sp_h1s {
    struct sp_h1_scan rscan;
    enum sp_h1_body res_body;
    uint64_t res_left;
    struct sp_h1_chunk rchunk;
    bool res_keepalive;
    bool res_eof;
    bool res_err; /* ...and it was an error (a reset), not the server's FIN */
    bool res_end_pending;
};

/* shared: immutable (static tables). The protocol of the server side of a transaction:
 * HTTP/1 (h1srv.c) now; HTTP/2 to servers will be one more table. Every entry runs on the
 * transaction's worker and is called by txn.c only; the protocol reaches the transaction
 * (and through it the client side) only through the sp__txn_* calls marked "server
 * protocols" below, and the connection's bytes only through its transport (t->up->x). */
struct sp_sproto {
    const char *name;
    /* A new attempt starts: nothing of an earlier connection's response remains. */
    void (*reset)(struct sp_txn *t);
    /* Connected or reusing (t->up set): the request head t->reqhead goes out first. 0, or
     * -ENOMEM / -ENOSPC. */
    int (*send_head)(struct sp_txn *t);
    /* Request body bytes (decoded) while connected; returns how many were taken. */
    size_t (*req_data)(struct sp_txn *t, const char *p, size_t len);
    /* The request body is complete (called connected or not): 0, or -EAGAIN when its end
     * cannot be framed yet (the client side retries on its req_resume). */
    int (*req_end)(struct sp_txn *t);
    /* Connected: move bytes both ways, hand the response on, end or fail the exchange. */
    void (*pump)(struct sp_txn *t);
};
extern const struct sp_sproto sp__h1_sproto, sp__tcp_sproto;

/* owner: worker (the transaction's). What a tcp session (http/tcp.c) keeps beside its
 * transaction: the relay's clocks and where its counters stand. */
struct sp_tcps {
    uint64_t last_cli, last_srv;    /* ms: the last byte moved to or from each side */
    uint64_t inspect_end;           /* ms: when tcp-request content rules stop waiting */
    uint64_t pushed_in, pushed_out; /* bytes already added to the bin/bout counters */
    bool inspecting;                /* tcp-request content rules have not decided yet */
    bool routed;                    /* the backend was chosen and the connection sought */
    bool done;                      /* over: the client side closes it from its task */
    bool be_inspecting;             /* inspecting: the backend's rules (the frontend's ran) */
    bool res_inspecting;            /* tcp-response content rules have not decided yet */
    bool res_closed;                /* `tcp-response content close` shut the server */
    bool upgrade;                   /* routed to an http backend: the task upgrades it */
    uint64_t res_end;               /* ms: when tcp-response content rules stop waiting */
    /* the rule a walk that could not tell yet resumes at (HAProxy's current_rule): the
     * actions before it (set-var, sc-inc-gpc0...) run once */
    int req_at, res_at;
};

/* owner: worker */
struct sp_txn {
    struct sp_http_worker *hw;
    const struct sp_front_ops *ops;
    void *front;
    const struct sp_frontend *fe;
    const struct sp_backend *be;
    const struct sp_server *srv;
    int rule;             /* the use_backend rule that chose `be`, -1: default_backend */
    int64_t fe_conn_seen; /* fe_conn when the rules ran (-1: not read) */
    enum sp_local local;  /* answered by spillway itself */
    bool stats_admin;     /* the stats page: a `stats admin` condition held (statadmin.c) */
    uint8_t stats_st;     /* ...its URI's `;st=` (enum sp_stats_st, 0: none), for the message */
    struct sp_conn *conn; /* the client connection (outlives the transaction) */
    char *reqline;        /* "METHOD\0TARGET" for the access log (malloc), NULL: no log */
    size_t reqline_mlen, reqline_tlen;
    const char *lresp; /* an answer of spillway's own: the whole response (malloc, exact; or
                          immutable bytes borrowed when !lresp_own) */
    size_t llen, loff; /* ...its length, and how much of it went to the client side */
    bool lhead_sent;
    bool lresp_own; /* lresp is this transaction's to free */
    struct sp_upconn *up;
    enum sp_txn_state state;
    enum sp_h1_meth meth;
    bool idempotent;
    bool deferred; /* its connection was deferred to the end of a batch once already */

    /* request */
    /* upstream head, kept until the response starts (retries): in head_inline when it fits,
     * else in its own exact-size allocation (thousands may wait in queues: never a whole
     * buffer each) */
    struct sp_buf reqhead;
    char head_inline[256];
    enum sp_h1_body req_body; /* framing toward the server */
    bool req_body_sent;       /* some body byte went out: no retry possible */
    bool req_end;             /* the client side has pushed the whole body */
    bool req_sent;            /* ...and it all left for the server */

    /* response */
    const struct sp_sproto *sp; /* the server side's protocol */
    union {
        struct sp_h1s h1s;   /* ...its state when that is HTTP/1 */
        struct sp_tcps tcps; /* ...and when it is a tcp relay (tcp.c) */
    };
    bool res_started; /* a final response head went to the client side */
    int status;

    /* retries */
    int conn_retries;      /* connection attempts left after this one */
    bool reuse_retried;    /* sent again after a reused connection closed on it */
    bool died_retried;     /* sent to another server after a fresh connection closed on it */
    bool force_new;        /* the next attempt must not reuse an idle connection */
    bool counted_be;       /* counted in the backend's current streams */
    bool counted_srv;      /* counted in the server's current requests */
    bool counted_srv_once; /* the server got the request (its counters take the result) */
    struct sp_timer timer; /* retry delay, queue timeout */
    struct sp_upwait wait; /* place in the server pool's queue */
    uint64_t t_queued, t_dequeued; /* us */

    /* accounting for logs and counters; times are monotonic microseconds, 0 = never */
    uint64_t t_req; /* first byte of the request (set by the client side) */
    uint64_t t_start, t_connect_start, t_connected, t_sent, t_res_head, t_end;
    uint64_t bytes_in, bytes_out; /* request / response bytes, heads included */
    bool h2;                      /* the client side is HTTP/2 */
    bool accounted;               /* counters updated (once, at free) */
    bool logged;                  /* the access-log line went out (`option logasap`: early) */
    int retries;                  /* connection retries done (%rc) */
    bool redispatched;
    char term[2]; /* %tsc first two characters */
    /* cookie persistence (cookie.c): %tsc's third and fourth characters (0: '-'), and
     * whether the client's cookie chose the server (HAProxy's SF_DIRECT) */
    char ck_cli, ck_srv;
    bool ck_direct;
    char **caps;         /* captured values (hrules.c): request slots then response ones, NULL each
                            when not captured; NULL: none captured */
    int64_t tarpit_ms;   /* an http-request tarpit: the answer waits this long (ms) */
    int64_t t_server;    /* http-request set-timeout server (ms); 0: the backend's */
    int8_t log_level;    /* http-request set-log-level: a syslog severity, -1 the default, -2
                            silent (no line) */
    struct sp_vars vars; /* txn.*, req.*, res.* variables: cleared at free, after the log line */
    /* track-sc0..2 (balance/stktable.h): released at free when `stk_tracked` */
    struct sp_stkctr stkctr[SP_STK_NCTR];
    bool stk_tracked;

    /* compression (compress.c): the algorithm the request chose (enum sp_comp_algo, 0:
     * none), whether the request was HTTP/1.1 or later, and the filter's state while a
     * compressed response runs (NULL otherwise) */
    uint8_t comp_algo;
    bool comp_req11;
    struct sp_comp *comp;

    /* %rt: unique in the process (this worker's count times the worker count plus its id);
     * the unique ID (uniqueid.c), malloc'd when first needed, NULL before or without one */
    uint64_t req_id;
    char *unique_id;
    /* SP_LOCAL_AUTH from a `stats http-request auth realm R`: R (the snapshot's), NULL:
     * the frontend's stats realm */
    const char *local_realm;
    /* http rules paused for the request body (wait-for-body, option http-buffer-request):
     * where they go on and the message they had made (hrules.c), NULL: not paused */
    struct sp_hpause *hpause;
    /* http-request set-src / set-src-port (hrules.c): the source this transaction's fetches,
     * log line, forwardfor, balance source and PROXY header see (HAProxy 2.6: the stream's
     * address; the connection and its next requests keep theirs); NULL: the connection's
     * peer. Allocated by the first set-src, freed with the transaction. */
    struct sockaddr_storage *src;
    bool no_l7_retry; /* http-request disable-l7-retry: only connection failures are retried */
    /* http-request set-priority-class / set-priority-offset: [class, offset ms] (HAProxy's
     * ranges: +-2047, +-524287), the server queue's order (prio_class / prio_offset fetches) */
    int32_t prio[2];
};

/* owner: worker. A client connection: HTTP/1.1 (h1conn.c), or HTTP/2 once the preface or an
 * h2c upgrade was seen (h2conn.c). */
enum sp_conn_state {
    SP_CONN_WAIT_REQ = 0, /* idle, or receiving a request head */
    SP_CONN_TXN,          /* a transaction runs */
    SP_CONN_CLOSING,      /* flushing the last bytes, then a lingering close */
    SP_CONN_H2,           /* an HTTP/2 session runs on it (http/h2conn.c) */
};

struct sp_conn;

/* shared: immutable (static tables). The protocol a client connection speaks now: HTTP/1
 * (h1conn.c) from the accept, HTTP/2 (h2conn.c) once switched. Every entry runs on the
 * connection's worker; http/conn.c calls them, and the transactions reach the protocol
 * through struct sp_front_ops. */
struct sp_cproto {
    const char *name;
    void (*start)(struct sp_conn *c);               /* just accepted (HTTP/1 only) */
    void (*io)(struct sp_conn *c, uint32_t events); /* transport readiness changed */
    void (*flush)(struct sp_conn *c);               /* the connection's flush task */
    void (*timeout)(struct sp_conn *c);             /* the connection's timer fired */
    void (*update_timer)(struct sp_conn *c);        /* which timeout guards it now */
    void (*stop)(struct sp_conn *c);                /* graceful stop; may close c */
    void (*release)(struct sp_conn *c);             /* closing: free the protocol's state */
};
extern const struct sp_cproto sp__h1_cproto, sp__h2_cproto, sp__tcp_cproto;
/* `bind ... accept-proxy`: the PROXY protocol header first (pxconn.c), then HTTP/1, HTTP/2
 * on a `proto h2` bind, or the tcp relay in a tcp frontend */
extern const struct sp_cproto sp__pxp_cproto;
/* `bind ... ssl`: the TLS handshake first (tlsconn.c), then HTTP/2 (ALPN h2 or `proto h2`),
 * HTTP/1.1, or the tcp relay in a tcp frontend */
extern const struct sp_cproto sp__tls_cproto;
/* owner: the connection's worker. After a first stage (the PROXY header, the TLS handshake):
 * the protocol the connection speaks from now on, started over what its buffer holds: the
 * tcp relay in a tcp frontend, else HTTP/2 when `h2`, else HTTP/1.1 (pxconn.c). May close c. */
void sp__conn_start_proto(struct sp_conn *c, bool h2);

/* owner: worker. A client connection (http/conn.c); the fields after `proto` up to `h2` are
 * HTTP/1's (unused once HTTP/2 runs). */
struct sp_conn {
    struct sp_xconn x; /* transport: descriptor, readiness, buffers, timer (net/transport.h) */
    const struct sp_cproto *proto;
    struct sp_http_worker *hw;
    struct sp_bind *bind;
    const struct sp_frontend *fe;
    struct sp_conn *_next, *_prev; /* hw->conns */
    struct sockaddr_storage peer;  /* the client (src): the PROXY header's when it gave one */
    struct sockaddr_storage local; /* our address (dst): likewise */
    /* the PROXY v2 header's authority TLV (malloc: its length in [0], at most 255, then the
     * bytes), or NULL */
    uint8_t *pp_authority;
    struct sp_task proc_task;
    struct sp_task flush_task;
    /* a tcp frontend's connection upgraded to HTTP (http/tcp.c): every request goes to the
     * backend its rules chose (forced_rule: the use_backend rule, -1 the default), NULL: none */
    const struct sp_backend *forced_be;
    int forced_rule;
    struct sp_h1_scan scan;
    int last_srv; /* idx of the server of the last request (prefer-last-server), -1: none */
    struct sp_txn *txn;
    struct sp_h2c *h2; /* HTTP/2 session state when state == SP_CONN_H2 */
    uint64_t t_req_start;
    uint64_t t_accept_us;
    unsigned nreq;
    enum sp_conn_state state;
    bool got_bytes;    /* some byte of the current request arrived */
    bool want_close;   /* close after the current response */
    bool expect_proxy; /* tcp-request connection expect-proxy: a PROXY header comes first */
    bool closed;       /* freed at the end of this call chain */

    /* current request (narrow types and the flags together: an idle connection's size) */
    bool keepalive;
    uint8_t version;     /* 10 or 11 */
    uint8_t req_mode;    /* enum sp_h1_body */
    bool req_done;       /* the whole body was read from the client */
    bool buffering;      /* option http-buffer-request: the transaction starts once the body
                            is in (or the buffer full); it waits in c->txn, not started */
    bool req_end_sent;   /* ...and its end was given to the transaction */
    bool rwait;          /* http rules paused for the body: its head is still in x.rbuf, the body
                            after it (h1conn.c resumes them as bytes come) */
    bool req_dec_end;    /* chunked: the decoder met the last chunk (req_predec is all of it) */
    bool req_dec_err;    /* chunked: ...or a framing error (answered once the rules are done) */
    uint32_t body_off;   /* the request head still in x.rbuf before the body (rules paused) */
    uint32_t req_predec; /* chunked: decoded body bytes at x.rbuf[body_off..), raw ones after */
    /* current response */
    bool res_chunked; /* we chunk-encode it */
    bool res_done;
    bool res_abort;
    uint64_t req_left;
    struct sp_h1_chunk req_chunk;

    /* sess.* variables: from accept to close */
    struct sp_vars sess_vars;
    /* tcp-request connection|session track-sc* (balance/stktable.h): the session's trackers
     * (SP_STK_NCTR slots, allocated by the first tracking rule that runs: NULL on connections
     * of frontends that track nothing), inherited by each of its streams and released at close
     * when `stk_tracked` */
    struct sp_stkctr *stkctr;
    bool stk_tracked;
};

/* pure. A side's TCP keep-alive settings in the socket layer's units (seconds). */
static inline void sp__ka(const struct sp_cfg_tcpka *k, struct sp_sock_ka *ret)
{
    ret->on = k->on;
    ret->idle_s = k->idle > 0 ? (int)(k->idle / 1000) : 0;
    ret->intvl_s = k->intvl > 0 ? (int)(k->intvl / 1000) : 0;
    ret->cnt = k->cnt;
}

/* pure. Whether the server side of `t` closes after its response: `option httpclose` in the
 * backend, or `option http-server-close` in the frontend or the backend (HAProxy's
 * http_adjust_conn_mode()). */
static inline bool sp__txn_srv_close(const struct sp_txn *t)
{
    return t->be && (t->be->httpclose || t->be->srvclose || t->fe->srvclose);
}

/* ---- txn.c ---- */
/* -- for client protocols (h1conn.c, h2stream.c, tcp.c): owner: the transaction's worker
 * (sp__txn_new(): the calling worker, whose `hw` it takes) -- */
struct sp_txn *sp__txn_new(struct sp_http_worker *hw, const struct sp_front_ops *ops, void *front,
                           const struct sp_frontend *fe);
/* Takes the request head built in hw->headbuf (copied to an exact-size allocation; the
 * scratch is emptied). 0 or -ENOMEM. */
int sp__txn_set_head(struct sp_txn *t);
/* Routes and sends. The head is in t->reqhead and t->req_body says its framing. */
void sp__txn_start(struct sp_txn *t);
/* Mode tcp: routes (t->be set by sp__route_tcp()) and connects; the relay runs once
 * connected (sp__tcp_sproto). */
void sp__txn_start_tcp(struct sp_txn *t);
/* Mode tcp: the session ends, `cause`/`state` its termination flags ('-' for a normal end;
 * 'C' and 'S' count an abort): the server connection is closed and the counters of the
 * stream released. Idempotent. */
void sp__txn_close(struct sp_txn *t, char cause, char state);
/* Request body bytes (already decoded); returns how many were taken. */
size_t sp__txn_req_data(struct sp_txn *t, const char *p, size_t len);
/* Request body complete. 0, or -EAGAIN (the client side retries on req_resume). */
int sp__txn_req_end(struct sp_txn *t);
/* The client side has room again. */
void sp__txn_res_resume(struct sp_txn *t);
/* The client side gives up (client gone or aborted): the server connection is closed. */
void sp__txn_abort(struct sp_txn *t);
/* Frees; the server connection is parked or closed as its state allows. Accepts NULL. */
void sp__txn_free(struct sp_txn *t);

/* -- for server protocols (the sp_sproto entries): owner: the transaction's worker -- */
/* The server connection's timer: `ms` from now, or SP_TIME_UNSET to disarm it. */
void sp__txn_srv_timer(struct sp_txn *t, int64_t ms);
/* The proxy answers `status` itself (nothing of a response went out): the exchange ends. */
void sp__txn_fail(struct sp_txn *t, int status, char cause, char state);
/* owner: worker. Answers the transaction with a complete HTTP/1.x response of spillway's own
 * (head and body in resp[0..len), copied: an errorfile, a redirect, a `return`): works for
 * HTTP/1 and HTTP/2 clients, any size up to tune.bufsize, status and bytes counted and logged
 * with %tsc term0 term1; the transaction ends after it. Must be callable right after routing
 * instead of sp__txn_start() (t->be may be NULL or set). len 0: nothing is sent and the
 * client side closes (HAProxy's empty errorfile). t->status, when still 0, takes the
 * response's. */
void sp__txn_reply(struct sp_txn *t, const char *resp, size_t len, char term0, char term1);
/* The response broke after its head went out: the client side aborts; the exchange ends. */
void sp__txn_break(struct sp_txn *t, char cause, char state);
/* The server closed before the first response byte: true when the request was sent again
 * (the exchange goes on elsewhere), false when the caller must fail it. */
bool sp__txn_retry_empty(struct sp_txn *t);
/* `retry-on` condition `cond` (SP_RETRY_*) met before the response started: true when the
 * request went out again (the exchange left this connection, which is closed), false when
 * the caller must fail it. */
bool sp__txn_retry_on(struct sp_txn *t, int cond);
/* A response head (1xx interim or final), `len` bytes of `buf`, for the client side. 0,
 * -EAGAIN when it has no room yet (sp__txn_res_resume() comes back), or -ECANCELED when its
 * status is one `retry-on` lists and the request went out again (the connection is gone). */
int sp__txn_res_head(struct sp_txn *t, const struct sp_h1_msg *m, const char *buf, size_t len);
/* owner: worker. Cookie persistence (cookie.c), for a backend with a `cookie` line: the
 * server the request's cookie names (NULL: none usable; t->ck_cli says why), its Cookie
 * fields edited in the request head that goes to the server (indirect, prefix). */
const struct sp_server *sp__cookie_request(struct sp_txn *t);
/* owner: worker. The response side: the server's Set-Cookie rewritten, prefixed or removed,
 * ours inserted; *m, *buf, *len replaced when the head changed. 0, or 500 (no room). */
int sp__cookie_response(struct sp_txn *t, const struct sp_h1_msg **m, const char **buf,
                        size_t *len);
/* owner: worker. Frees the worker's cookie scratch (at its end). */
void sp__cookie_worker_free(struct sp_http_worker *hw);
/* The response is complete; `reusable`: the connection may be parked. 0, or -EAGAIN when the
 * client side cannot take the end yet (call again on the next pump). */
int sp__txn_res_end(struct sp_txn *t, bool reusable);
/* Response body: the client side's room, a copy of up to that much, or (optional) a swap of
 * the whole buffer `rb`; bytes are counted for the log. */
static inline size_t sp__txn_res_room(struct sp_txn *t)
{
    return t->ops->res_room(t);
}
/* owner: the transaction's worker. */
static inline size_t sp__txn_res_data(struct sp_txn *t, const char *p, size_t len)
{
    size_t k = t->ops->res_data(t, p, len);
    t->bytes_out += k;
    return k;
}
/* owner: the transaction's worker. */
static inline bool sp__txn_res_swap(struct sp_txn *t, struct sp_buf *rb)
{
    uint32_t len = sp_buf_len(rb);
    if (!t->ops->res_swap || !t->ops->res_swap(t, rb))
        return false;
    t->bytes_out += len;
    return true;
}
/* owner: the transaction's worker. The server timeout of this transaction: `set-timeout server`'s,
 * else its backend's. */
static inline int64_t sp__txn_t_server(const struct sp_txn *t)
{
    return t->t_server ? t->t_server : t->be->t_server;
}

/* owner: the transaction's worker. The decoded request body received so far (*p, *len: valid
 * until the client side runs again; an empty one when there is none); returns whether it is
 * complete. The stats page's POST answer starts only once it is (or the buffer is full, or
 * `timeout http-request` answers 408). */
bool sp__txn_req_body(const struct sp_txn *t, const char **p, size_t *len);
/* owner: the transaction's worker. The same with the SP_BODY_* flags and the announced size
 * (req.body_size); 0 and an empty body for a client side that keeps none. */
unsigned sp__txn_req_body_ex(const struct sp_txn *t, const char **p, size_t *len, uint64_t *size);

/* owner: the transaction's worker. The server side can take more request body: the client side is
 * asked for it. */
static inline void sp__txn_req_resume(struct sp_txn *t)
{
    t->ops->req_resume(t);
}

/* ---- compress.c: response compression (http/compress.h) ---- */
/* -- owner: the transaction's worker -- */
/* After routing, when the frontend or the backend has `compression`: the algorithm the
 * request accepts (t->comp_algo); with `compression offload` its Accept-Encoding fields are
 * marked (HTTP/1: hop-by-hop) or removed (HTTP/2) so that the server does not see them. */
void sp__comp_req_h1(struct sp_txn *t, const char *buf, struct sp_h1_msg *m);
void sp__comp_req_h2(struct sp_txn *t, struct sp_h2_req *r);
/* The same over the request as http rules left it (http/hmsg.h), for a proxy with rules:
 * HAProxy's compression filter sees the request after them. */
void sp__comp_req_hmsg(struct sp_txn *t, struct sp_hmsg *hm);
/* A final response head when t->comp_algo is set: it goes to the client side as it is, or
 * rewritten and with the filter installed (t->comp, t->ops) when it is to be compressed.
 * Returns what the client side's res_head returned. */
int sp__comp_res_head(struct sp_txn *t, const struct sp_h1_msg *m, const char *buf);
/* Frees the filter's state (the transaction's end or abort); t->ops is the client side's
 * again. Accepts a transaction without one. */
void sp__comp_free(struct sp_txn *t);

/* ---- check.c ---- */
/* owner: worker. Starts the checks of the servers this worker owns (hw->rt), the first ones
 * spread over about one interval as HAProxy does. 0 or -ENOMEM. */
int sp__checks_start(struct sp_http_worker *hw);
/* owner: worker. Stops and frees them (connections under way are closed). */
void sp__checks_stop(struct sp_http_worker *hw);
/* owner: worker. on-marked-down shutdown-sessions, on-marked-up shutdown-backup-sessions:
 * closes this worker's client connections whose session runs on a server another thread
 * asked to clear (sp_srv_kill_sessions()); called when the worker is woken. */
void sp__checks_kill_scan(struct sp_http_worker *hw);

/* ---- accesslog.c ---- */
/* owner: worker. Whether the frontend logs requests. */
bool sp__accesslog_on(const struct sp_http_worker *hw, int fe);
/* owner: the transaction's worker. Keeps the request line for the log when the frontend logs. */
void sp__accesslog_reqline(struct sp_txn *t, const char *method, size_t mlen, const char *target,
                           size_t tlen);
/* owner: the transaction's worker. One access-log line for a transaction that ends (called by
 * sp__txn_free). */
void sp__accesslog_txn(struct sp_txn *t);
/* owner: worker. The connection's part of a log record (client, frontend, dates, counters),
 * and the request line's (method, target, version): what the access log and the values of
 * http rules (log-format, rendered while the request runs) both print. */
void sp__accesslog_base(struct sp_log_rec *r, struct sp_http_worker *hw, struct sp_conn *c);
void sp__accesslog_request(struct sp_log_rec *r, const struct sp_txn *t);
/* One line for a request spillway rejected before any transaction (400, 408, 414, 431...),
 * `bytes_out` the bytes of its answer. */
void sp__accesslog_badreq(struct sp_conn *c, int status, char term0, char term1,
                          uint64_t bytes_out);
/* HAProxy's line for a connection that failed before its first request (a bad PROXY header):
 * "ip:port [date] frontend/bind: msg". `null`: nothing was received (option dontlognull
 * drops it). */
void sp__accesslog_conn_error(struct sp_conn *c, const char *msg, bool null);

/* ---- statsvc.c ---- */
/* owner: the transaction's worker. Renders the body of `t`'s local service answer (t->local:
 * the stats page, its CSV, the Prometheus exporter; the page with the admin form when
 * t->stats_admin) into a malloc'd buffer. Returns 0 (and the body, its length and content
 * type) or -ENOMEM. */
int sp__statsvc_body(const struct sp_txn *t, char **ret_body, size_t *ret_len,
                     const char **ret_ctype);

/* ---- statadmin.c: the stats page's admin form ---- */
/* the form's actions (HAProxy 2.6's ST_ADM_ACTION_*, and their older names) */
enum {
    SP__STADM_NONE = 0,
    SP__STADM_READY,
    SP__STADM_DRAIN,
    SP__STADM_MAINT,
    SP__STADM_SHUTDOWN,
    SP__STADM_DHLTH,
    SP__STADM_EHLTH,
    SP__STADM_HRUNN,
    SP__STADM_HNOLB,
    SP__STADM_HDOWN,
    SP__STADM_DAGENT,
    SP__STADM_EAGENT,
    SP__STADM_ARUNN,
    SP__STADM_ADOWN,
    SP__STADM_DISABLE,
    SP__STADM_ENABLE,
    SP__STADM_STOP,
    SP__STADM_START,
    SP__STADM_NACT,
};
/* owner: caller. What the parser asks of the proxies: the backend a `b=` value names
 * (NULL: none), and an action on one of its servers (1 done, 0 not applicable to it and not
 * counted, -1 no such server or not done: counted). */
struct sp__stadm_ops {
    const void *(*backend)(void *ctx, const char *name);
    int (*server)(void *ctx, const void *be, int action, const char *name);
};
/* owner: caller. Parses a form body (application/x-www-form-urlencoded, `len` bytes, any
 * content) as HAProxy's stats_process_http_post() does and applies it through `ops`.
 * Returns the enum sp_stats_st to redirect with (DONE, PART, NONE, ERRP). */
int sp__stats_admin_parse(const char *body, size_t len, const struct sp__stadm_ops *ops, void *ctx);
/* owner: worker. The same on the routing snapshot `rt`: server states change through
 * balance/health.h as the stats socket's `set server` changes them. */
int sp__stats_admin_post(const struct sp_routing *rt, const char *body, size_t len,
                         uint64_t now_ms);
/* pure. The 303 to `uri;st=CODE` into `buf`: its length, -1 when it does not fit. */
int sp__stats_admin_redirect(const char *uri, int st, char *buf, size_t size);
/* owner: the transaction's worker. A POST to the stats page (t->local one of its kinds):
 * applied when `stats admin` held (else DENY), answered 303; returns false for anything
 * else, which the page answers as before. */
bool sp__stats_admin_answer(struct sp_txn *t);

/* ---- rewrite.c ---- */
struct sp_fwd;
/* owner: worker (on the stack of the worker building the head). Appends to a head being built; a
 * head that does not fit fails as a whole (`full`) and never goes out half-built. */
struct sp__out {
    struct sp_buf *b;
    bool full;
};
/* pure (writes `o` and its buffer only). Appends n bytes, realigning the buffer when needed; once
 * something did not fit, nothing more is appended (o->full). */
void sp__out_put_slow(struct sp__out *o, const void *p, size_t n);
static inline void sp__out_put(struct sp__out *o, const void *p, size_t n)
{
    if (!o->full && sp_buf_room(o->b) >= n) {
        memcpy(o->b->data + o->b->tail, p, n);
        o->b->tail += (uint32_t)n;
        return;
    }
    sp__out_put_slow(o, p, n);
}
/* pure (writes `o` and its buffer only). */
void sp__out_puts(struct sp__out *o, const char *s);
/* pure (writes `o` and its buffer only). Ends an upstream request head: `Connection: close` when
 * asked, X-Forwarded-For, the blank line. On overflow the buffer is cut back to `start` and -ENOSPC
 * returned. */
int sp__out_end_request(struct sp__out *o, uint32_t start, bool close, const struct sp_fwd *fwd,
                        const struct sockaddr_storage *peer);

/* owner: worker (a value computed per request) */
struct sp_fwd {
    bool add;
    bool if_none;     /* add only when the request has no such field (the caller checks) */
    const char *name; /* header name to use */
    size_t name_len;
};
/* pure (reads the immutable fe and be, writes *ret). Decides X-Forwarded-For for this request
 * (frontend and backend settings merged as HAProxy does: the backend's header name wins, if-none
 * only when every side that enables it says so, each side's `except` network checked). */
void sp__fwd_decide(const struct sp_frontend *fe, const struct sp_backend *be,
                    const struct sockaddr_storage *peer, struct sp_fwd *ret);
/* pure. True when the HTTP/1 message has a field of that name (case-insensitive). */
bool sp__h1_has_field(const char *buf, const struct sp_h1_msg *m, const char *name, size_t len);
/* pure (writes `out` only). Serialises the upstream HTTP/1.1 request head. Returns 0, or -ENOSPC
 * when it does not fit. */
int sp__h1_build_request(struct sp_buf *out, const char *buf, const struct sp_h1_msg *m,
                         const struct sp_fwd *fwd, const struct sockaddr_storage *peer, bool close);
/* pure (writes `out` only). Serialises a response head for an HTTP/1.x client. `chunked` says the
 * body will be chunk-encoded by us, `close` that the connection closes after it. */
int sp__h1_build_response(struct sp_buf *out, const char *buf, const struct sp_h1_msg *m,
                          int client_version, bool chunked, bool close);

/* ---- errors.c ---- */
/* pure. The reason phrase of `status` ("Unknown" for one spillway does not know). */
const char *sp__http_reason(int status);
/* pure. The HTML body of spillway's own answer for `status` (400, 408, 414, 431, 500, 501, 502,
 * 503, 504; others get 500's). Each protocol frames it itself (h1conn.c, h2conn.c). */
const char *sp__http_error_body(int status, size_t *ret_len);

/* owner: worker. Who a response of spillway's own answers: what picks the configured
 * message (the backend's once one was chosen, else the frontend's) and what its log-format
 * parts may print. `c` and `t` may be NULL. */
struct sp__reply_ctx {
    const struct sp_frontend *fe;
    const struct sp_backend *be;
    struct sp_conn *c;
    const struct sp_txn *t;
};
/* owner: worker. The response spillway sends for `status` (errorfile, errorloc, errorfiles,
 * http-error, else the built-in page): a whole HTTP/1.x response at *ret, immutable or in
 * hw->rbuf (valid until the next call); *ret_static says the former (the bytes live as long as
 * the process's configuration: they may be borrowed, not copied). Returns its length; 0 for an
 * empty errorfile (send nothing, close); -ENOMEM or -ENOSPC when it could not be built. */
long sp__errmsg_get(struct sp_http_worker *hw, int status, const struct sp__reply_ctx *x,
                    const char **ret, bool *ret_static);

/* ---- conn.c: a client connection, whatever its protocol ---- */
/* pure. The client address the transaction sees: set-src's, else the connection's. */
static inline const struct sockaddr_storage *sp__txn_src(const struct sp_txn *t)
{
    return t->src ? t->src : &t->conn->peer;
}

/* owner: worker. http-request reject and tcp-request content reject over HTTP/2 (h2stream.c):
 * the stream and its whole connection end (RST_STREAM and GOAWAY ENHANCE_YOUR_CALM), as
 * HAProxy's killed connection. */
void sp__h2_reject(struct sp_txn *t);
/* owner: worker. The listener's accept callback: the connection starts as HTTP/1. */
void sp__conn_accept(struct sp_listener *l, int fd, const struct sockaddr_storage *peer,
                     socklen_t peerlen);
/* owner: worker. Closes and frees a client connection (either protocol); its transactions
 * are aborted. Idempotent within one call chain (c->closed). */
void sp__conn_close(struct sp_conn *c);
/* owner: worker. Counts c as a session of its frontend (stot, the session rate): at the
 * accept, or after the PROXY header and the `tcp-request session` rules on an accept-proxy
 * bind (HAProxy's session_count_new()). */
void sp__conn_count_session(struct sp_conn *c);
/* owner: worker. The counters of c's listener under `option socket-stats`, NULL without it. */
static inline struct sp_stats_obj *sp__conn_li(const struct sp_conn *c)
{
    int li = c->bind->li;
    return li && li <= c->hw->st->nli ? &c->hw->st->li[li - 1] : NULL;
}
/* owner: worker. Graceful stop: idle connections close now, busy ones after their current
 * response (HTTP/1) or their open streams (HTTP/2, after a GOAWAY). */
void sp__conn_stop_all(struct sp_http_worker *hw);
/* owner: worker. Closes every client connection now. */
void sp__conn_close_all(struct sp_http_worker *hw);

/* ---- h1conn.c ---- */
/* owner: worker. Sizes the worker's free lists of connections, transactions and upstream
 * connections. */
void sp__http_pools_init(struct sp_http_worker *hw);

/* ---- hworker.c ---- */
/* owner: worker. The keys of `t`'s request the balancer may hash (a view of t->reqhead and
 * of the client's address, valid while they are). */
void sp__txn_lb_req(const struct sp_txn *t, struct sp_lb_req *ret);

/* ---- route.c ---- */
/* owner: worker. A view over a request head being routed, on the caller's stack. */
struct sp_route_h1 {
    const char *buf;
    const struct sp_h1_msg *m;
};
/* owner: the transaction's worker. Sets t->be and t->rule for a complete request head. */
void sp__route_h1(struct sp_txn *t, const struct sp_conn *c, const char *buf,
                  const struct sp_h1_msg *m);
void sp__route_h2(struct sp_txn *t, const struct sp_conn *c, const struct sp_h2_req *r);
/* owner: worker (the transaction's). The steps of the routing, for http rules (hrules.c) that run
 * between them: an env over the connection (request fields left empty), monitor-uri, the services
 * after the rules
 * (`prometheus`: the exporter's own line when no rule set carries it; the stats page), and
 * the use_backend rules. */
void sp__route_env(struct sp_acl_env *env, struct sp_http_worker *hw, const struct sp_conn *c);
enum sp_local sp__route_monitor(const struct sp_frontend *fe, const struct sp_acl_env *env);
enum sp_local sp__route_services(const struct sp_txn *t, const struct sp_frontend *fe,
                                 const struct sp_acl_env *env, bool prometheus);
void sp__route_switch(struct sp_txn *t, const struct sp_conn *c, const struct sp_acl_env *env);
/* owner: worker. Mode tcp: the action of the first `tcp-request connection` rule whose
 * condition holds (accept when none does). */
enum sp_tcp_action sp__route_tcp_conn(struct sp_conn *c);
/* owner: worker. `tcp-request content` over the bytes in c->x.rbuf: 1 accept, 0 reject, -1
 * not yet (with `partial`: more bytes may come and the inspect-delay runs). */
int sp__route_tcp_content(struct sp_conn *c, bool partial);
/* owner: worker. Sets t->be and t->rule of a tcp session (use_backend over the connection
 * and the bytes received so far). */
void sp__route_tcp(struct sp_txn *t, struct sp_conn *c);
/* owner: worker. `tcp-request session` rules (either mode, after the PROXY header): the action
 * of the first whose condition holds (accept when none does). */
enum sp_tcp_action sp__route_tcp_session(struct sp_conn *c);
/* owner: worker. The backend's `tcp-request content` rules (t->be's) over the bytes in the
 * client's buffer: 1 accept, 0 reject, -1 not yet. */
int sp__route_tcp_be_content(struct sp_txn *t, bool partial);
/* owner: worker. t->be's `tcp-response content` rules over the server's bytes in t->up's
 * buffer: the action (SP_TCP_ACCEPT when no rule holds), or -1: not yet. */
int sp__route_tcp_res(struct sp_txn *t, bool partial);
/* owner: worker. An http proxy's `tcp-request content` rules (the frontend's, or with
 * `backend` t->be's) over the parsed request that `env` views, run per stream before its
 * http-request rules: 1 accept, 0 reject. The frontend's then count the request in every
 * tracked slot (HAProxy counts it after its INSPECT_FE analyser). */
int sp__route_tcp_http(struct sp_txn *t, const struct sp_acl_env *env, bool backend);
/* owner: worker. A stream of `c` starts (an HTTP request, an HTTP/2 stream, a tcp session):
 * it takes the session's trackers (HAProxy's stream_new()); an HTTP one (`http`) counts its
 * request there unless the frontend's tcp-request content rules run first (they count it).
 * A load and a branch when nothing is tracked. */
static inline void sp__stk_stream_begin(struct sp_txn *t, const struct sp_conn *c, bool http)
{
    if (!c->stk_tracked)
        return;
    t->stk_tracked |= sp_stkctr_inherit(t->stkctr, c->stkctr);
    if (http && !(c->fe->ntcp_content && c->fe->mode == SP_MODE_HTTP))
        sp_stkctr_count_http_req(t->stkctr);
}
/* owner: worker. The session's trackers go (sp__conn_close(), a rejected session). */
static inline void sp__stk_session_end(struct sp_conn *c)
{
    if (c->stkctr) {
        if (c->stk_tracked)
            sp_stkctr_release(c->stkctr);
        c->stk_tracked = false;
        free(c->stkctr);
        c->stkctr = NULL;
    }
}

/* shared read: the frontend's current connection count */
int64_t sp__fe_conn(const struct sp_http_worker *hw, int fe);
/* owner: worker. The view of a transaction once its request head is gone (the access log's
 * %[...]): the connection's addresses, the load, the status, the variable stores; no request
 * or response (their fetches fail). t->conn must be set. */
void sp__route_env_late(struct sp_acl_env *env, struct sp_txn *t);
/* owner: worker. The late view plus the request head as it goes to the server (t->reqhead,
 * parsed into *m, which with *view must outlive env): a stick rule's key (req.cook...). False
 * when there is no head (the request fetches then fail). */
bool sp__route_env_head(struct sp_acl_env *env, struct sp_txn *t, struct sp_route_h1 *view,
                        struct sp_h1_msg *m);
/* owner: worker. The late view plus the response head (m, buf): `stick store-response`. */
void sp__route_env_res(struct sp_acl_env *env, struct sp_txn *t, struct sp_route_h1 *view,
                       const struct sp_h1_msg *m, const char *buf);

/* ---- h2mem.c ---- */
/* owner: worker. nghttp2's allocator on the worker's size-class free lists. */
void sp__h2mem_init(struct sp_h2mem *m);
/* Frees the cached blocks; every session using `m` must be gone. */
void sp__h2mem_destroy(struct sp_h2mem *m);

/* ---- h2conn.c ---- */
/* owner: worker. nghttp2's callbacks, options and the HTTP/2 free lists of `hw`; freed by
 * sp__h2_worker_free() on the same worker. 0 or -ENOMEM. */
int sp__h2_worker_init(struct sp_http_worker *hw);
void sp__h2_worker_free(struct sp_http_worker *hw);
/* The client sent the HTTP/2 preface: the connection becomes an HTTP/2 session, fed with what
 * the read buffer holds. */
int sp__h2c_start(struct sp_conn *c);
/* HTTP/1.1 "Upgrade: h2c": answers 101 and continues as HTTP/2, the request `t` (already
 * started, its request complete) becoming stream 1. */
int sp__h2c_upgrade(struct sp_conn *c, const char *settings, size_t len, bool head,
                    struct sp_txn *t);

#endif
