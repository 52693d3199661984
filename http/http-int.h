/* http/http-int.h - what the files of http/ share: the per-worker HTTP state, the transaction
 * (one request/response exchange, server side) and the interface between a transaction and
 * the client side that feeds it (HTTP/1.1 connection today, HTTP/2 stream next).
 *
 * owner: worker. Everything here lives and dies on one worker.
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
#include <sys/socket.h>

#include "balance/balance.h"
#include "core/pool.h"
#include "core/timer.h"
#include "core/worker.h"
#include "http/h1.h"
#include "http/http.h"
#include "net/buf.h"
#include "net/listener.h"
#include "net/upstream.h"

struct sp_txn;
struct sp_h1c;

/* owner: worker */
struct sp_http_worker {
    struct sp_worker *w;
    const struct sp_http_conf *conf;
    struct sp_bufpool bufs;
    struct sp_pool h1c_pool, txn_pool, upconn_pool;
    struct sp_routing *rt; /* counted reference */
    struct sp_uppool *pools; /* by server idx */
    int64_t *rr_cw;          /* round-robin current weights, by server idx */
    struct sp_listener *listeners;
    int nlisteners;
    struct sp_h1c *conns; /* every client connection, for graceful stop */
    unsigned nconns;
    struct sp_h1_msg msg; /* parse scratch: the parser runs to completion within a call */
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
    /* End of the response. 0, or -EAGAIN when the final framing does not fit yet. */
    int (*res_end)(struct sp_txn *t);
    /* The proxy answers with `status` itself; nothing of a response was given before. */
    void (*res_error)(struct sp_txn *t, int status);
    /* The response broke after its head went to the client: abort the client side. */
    void (*res_abort)(struct sp_txn *t);
    /* The server side can take more request body. */
    void (*req_resume)(struct sp_txn *t);
};

enum sp_txn_state {
    SP_TXN_NEW = 0,
    SP_TXN_RETRY_WAIT, /* between connection attempts */
    SP_TXN_CONNECTING,
    SP_TXN_EXCHANGE, /* connected: request going out, response coming in */
    SP_TXN_DONE,     /* response complete or error answered */
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

/* owner: worker */
struct sp_txn {
    struct sp_http_worker *hw;
    const struct sp_front_ops *ops;
    void *front;
    const struct sp_frontend *fe;
    const struct sp_backend *be;
    const struct sp_server *srv;
    struct sp_upconn *up;
    enum sp_txn_state state;
    enum sp_h1_meth meth;
    bool idempotent;

    /* request */
    struct sp_buf reqhead;    /* upstream head, kept until the response starts (retries) */
    enum sp_h1_body req_body; /* framing toward the server */
    bool req_body_sent;       /* some body byte went out: no retry possible */
    bool req_end;             /* the client side has pushed the whole body */
    bool req_sent;            /* ...and it all left for the server */

    /* response */
    struct sp_h1_scan rscan;
    enum sp_h1_body res_body;
    uint64_t res_left;
    struct sp_h1_chunk rchunk;
    bool res_started; /* a final response head went to the client side */
    bool res_keepalive;
    bool res_eof;
    bool res_end_pending;
    int status;

    /* retries */
    int conn_retries; /* connection attempts left after this one */
    bool reuse_retried;
    struct sp_timer timer; /* retry delay */

    /* accounting for logs */
    uint64_t t_start, t_connect_start, t_connected, t_sent, t_res_head, t_end;
    uint64_t bytes_out;
    char term[2]; /* %tsc first two characters */
};

/* ---- txn.c ---- */
struct sp_txn *sp__txn_new(struct sp_http_worker *hw, const struct sp_front_ops *ops,
                           void *front, const struct sp_frontend *fe);
/* Routes and sends. The head is in t->reqhead and t->req_body says its framing. */
void sp__txn_start(struct sp_txn *t);
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

/* ---- rewrite.c ---- */
struct sp_fwd {
    bool add;
    const char *name; /* header name to use */
    size_t name_len;
};
/* Decides X-Forwarded-For for this request (frontend and backend settings merged as HAProxy
 * does: the backend's header name wins, if-none only when every side that enables it says
 * so, each side's `except` network checked). */
void sp__fwd_decide(const struct sp_frontend *fe, const struct sp_backend *be,
                    const struct sockaddr_storage *peer, const char *buf,
                    const struct sp_h1_msg *m, struct sp_fwd *ret);
/* Serialises the upstream HTTP/1.1 request head. Returns 0, or -ENOSPC when it does not fit. */
int sp__h1_build_request(struct sp_buf *out, const char *buf, const struct sp_h1_msg *m,
                         const struct sp_fwd *fwd, const struct sockaddr_storage *peer,
                         bool close);
/* Serialises a response head for an HTTP/1.x client. `chunked` says the body will be
 * chunk-encoded by us, `close` that the connection closes after it. */
int sp__h1_build_response(struct sp_buf *out, const char *buf, const struct sp_h1_msg *m,
                          int client_version, bool chunked, bool close);

/* ---- errors.c ---- */
/* The complete HTTP/1.1 error response for `status` (400, 408, 414, 431, 500, 501, 502, 503,
 * 504), with `Connection: close` when `close`. Returns its length. */
size_t sp__http_error(int status, bool close, char *out, size_t len);
const char *sp__http_reason(int status);
/* The body only (HTML), for HTTP/2 responses. */
const char *sp__http_error_body(int status, size_t *ret_len);

/* ---- h1conn.c ---- */
/* sizes the worker's free lists of connections, transactions and upstream connections */
void sp__http_pools_init(struct sp_http_worker *hw);
void sp__h1c_accept(struct sp_listener *l, int fd, const struct sockaddr_storage *peer,
                    socklen_t peerlen);
/* graceful stop: idle connections close now, busy ones after their current response */
void sp__h1c_stop_all(struct sp_http_worker *hw);
void sp__h1c_close_all(struct sp_http_worker *hw);

#endif
