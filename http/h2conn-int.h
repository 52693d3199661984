/* http/h2conn-int.h - what the two files of the HTTP/2 client side share: the session and
 * its streams (h2conn.c: the connection, nghttp2's callbacks, output, timers) and a stream's
 * request (h2stream.c: its start through the rules and their pause for the body, the
 * routing, the server's request; the front ops its transaction talks back through). Not for
 * use outside those two files.
 *
 * owner: worker. Everything here lives on the worker that accepted the connection.
 */
#ifndef SP_HTTP_H2CONN_INT_H
#define SP_HTTP_H2CONN_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "http/h2map.h"
#include "http/http-int.h"

/* owner: worker. One stream. */
struct sp_h2s {
    struct sp_h2c *h2;
    int32_t id;
    struct sp_h2s *_next, *_prev;
    struct sp_txn *txn;
    struct sp_buf reqbody; /* DATA not yet taken by the server side */
    struct sp_buf resbody; /* response DATA not yet taken by nghttp2: a pool buffer, or an
                              exact-size allocation for a small body of known length */
    bool resbody_own;      /* resbody.data is malloc'd, not from the pool */
    struct sp_task task;
    uint64_t t_begin; /* us: the request's HEADERS began */
    int err_status;   /* answer this instead of forwarding (431, 400) */
    bool headers_done, started, req_end, req_end_sent;
    bool res_submitted, res_eof, deferred;
    bool defer_start;        /* its transaction starts from the stream task */
    bool closed;             /* nghttp2 closed the stream */
    bool reset;              /* we reset it */
    bool head;               /* a HEAD request: answers carry no body */
    bool wait_body;          /* its head is in, its body still expected from the client */
    bool rst_at_end;         /* answered before its body came: RST_STREAM(NO_ERROR) once sent */
    bool rwait;              /* http rules paused for the body (wait-for-body, option
                                http-buffer-request): they go on from the stream task */
    int64_t clen;            /* the request's content-length, -1: none (req.body_size) */
    struct sp_h2_hblock *hb; /* its header block, kept while the rules wait (their message
                                points into it); NULL otherwise */
    struct sp_timer wtimer;  /* the rules' wait runs out: 408 */
    bool lwait;              /* the stats page's POST answer waits for the body (with
                                defer_start) */
};

/* owner: worker. The request head being received on a connection, from the worker's pool
 * while a header block arrives: a header block is never interleaved with another (RFC 9113
 * 4.3), so one per connection is enough, and the stream starts as soon as its block ends:
 * streams waiting for a server, and idle connections, hold none. */
struct sp_h2_hblock {
    struct sp_buf buf;    /* the fields' bytes (a pool buffer) */
    struct sp_h2s *owner; /* the stream whose fields are in `req` */
    struct sp_h2_req req; /* their index (req.store is `buf`) */
};

/* owner: worker. What a short write left of an output round, written first (one malloc). */
struct sp_h2_spill {
    size_t len, off;
    char data[];
};

/* owner: worker. The HTTP/2 side of one client connection, kept by idle connections too:
 * what is needed only while a header block arrives (struct sp_h2_hblock, pooled), while a
 * short write waits (struct sp_h2_spill) or while an output round is gathered or a read
 * scanned (the worker's h2* fields) lives elsewhere, and the rate limits' constants are the
 * caller's, to keep this at 152 bytes (glibc's 160-byte chunk). */
struct sp_h2c {
    struct sp_conn *c;
    nghttp2_session *s;
    struct sp_h2s *streams;
    struct sp_h2_hblock *hb;   /* the header block being received, NULL when none */
    const uint8_t *pend;       /* output nghttp2 gave us that the write buffer could not take yet */
    struct sp_h2_spill *spill; /* NULL when nothing is left */
    /* The client's streams it must know are closed (RFC 9113 5.1): a window of the last
     * CLOSED_WIN client stream ids up to the highest it opened, one bit each, ring-indexed by
     * id / 2. `used`: it opened that id (an id skipped is closed too, but a HEADERS on it is
     * a PROTOCOL_ERROR, 5.1.1). `reset_by_us`: we sent RST_STREAM while the client may still
     * be sending, so its frames in flight are ignored (nghttp2 forgets closed streams, and
     * would ignore every frame on them). Older ids are ignored, as nghttp2 does. 32 bytes. */
    uint64_t used[2], reset_by_us[2];
    struct sp_h2_fscan fscan;       /* frame boundaries of what the client sent */
    struct sp_h2_budget budget;     /* client resets (RESET_BURST, RESET_RATE) */
    struct sp_h2_budget empty_data; /* DATA frames without payload nor END_STREAM */
    /* streams whose request head is complete (not freed yet): without one the connection is
     * idle, whatever nghttp2 holds (a header block never finished makes no request, as in
     * HAProxy, so `timeout http-request` ends it). Not narrower: the streams a connection
     * holds are bounded by tune.h2.max-concurrent-streams (up to INT_MAX) and, for those
     * closed but not yet freed, by what one read loop brings. */
    unsigned nheads;
    /* streams waiting for request body bytes, and when the last of those bytes (or the first
     * wait) came: `timeout client` runs from there. The stamp is the worker's ms clock modulo
     * 2^32 (timer_deadline()): a body is never waited for longer than `timeout client`, at
     * most INT_MAX ms. */
    unsigned nwait_body;
    uint32_t t_body_ms;
    uint32_t pend_len; /* at most one frame nghttp2 serialised */
    int32_t max_id;    /* the highest client stream id a HEADERS opened */
    uint8_t err_code;  /* a connection error found in a callback: GOAWAY with this code (all
                          of RFC 9113's fit a byte) */
    bool seen_stream;
    bool goaway;
    bool fatal; /* close as soon as the last bytes are out */
};

/* owner: worker. The worker a session runs on. */
static inline struct sp_http_worker *sp__h2_hw(struct sp_h2c *h2)
{
    return h2->c->hw;
}

/* owner: worker. The connection's output goes out at the end of this loop turn. */
static inline void sp__h2_want_flush(struct sp_h2c *h2)
{
    sp_task_queue(h2->c->hw->w, &h2->c->flush_task);
}

/* ---- h2conn.c: owner: worker ---- */
/* owner: worker. Frees a stream, its transaction and buffers. */
void sp__h2s_free(struct sp_h2s *st);
/* owner: worker. Resets a stream (RST_STREAM with `code`); its transaction is aborted by the stream
 * task. */
void sp__h2s_reset(struct sp_h2s *st, uint32_t code);
/* owner: worker. An answer of spillway's own for `status` as the stream's response (see h2conn.c).
 */
void sp__h2s_error(struct sp_h2s *st, int status);
/* owner: worker. Room for the response body (a small known-length body gets an exact allocation). 0
 * or -ENOMEM. */
int sp__h2s_resbody_alloc(struct sp_h2s *st, const struct sp_h1_msg *m);
/* owner: worker. More response body (or its end) for nghttp2's DATA source. */
void sp__h2s_resume_data(struct sp_h2s *st);
/* owner: worker. nghttp2's DATA source over the stream's response buffer. */
ssize_t sp__h2s_data_read(nghttp2_session *s, int32_t id, uint8_t *buf, size_t length,
                          uint32_t *flags, nghttp2_data_source *src, void *user);
/* owner: worker. The header block a stream kept while its rules waited goes back to the pools. */
void sp__h2s_hb_release(struct sp_http_worker *hw, struct sp_h2s *st);

/* ---- h2stream.c: owner: worker ---- */
/* shared: immutable (a static table). What a stream's transaction talks back through. */
extern const struct sp_front_ops sp__h2_ops;
/* owner: worker. A stream whose header block ended: its transaction made, the rules run (or
 * paused). */
void sp__h2s_start(struct sp_h2s *st);
/* owner: worker. Everything a stream does outside nghttp2's callbacks (its task). */
void sp__h2s_task(struct sp_task *tk);
/* owner: worker. The rules' wait for the body ran out (the stream's wtimer): 408. */
void sp__h2s_wait_timeout(struct sp_timer *tm);
/* owner: worker. The connection's header block storage goes back to the pools. */
void sp__h2_hdrs_release(struct sp_h2c *h2);

#endif
