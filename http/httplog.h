/* http/httplog.h - the access-log line: HAProxy's log-format language and its HTTP formats.
 *
 * A format is compiled once on main (sp_logfmt_compile(), sp_logfmt_default()) and is then
 * immutable: any worker may render with it. A line is rendered from a `struct sp_log_rec`
 * that the transaction fills at its end; rendering allocates nothing and takes no lock.
 *
 * What HAProxy does and this file reproduces (HAPROXY-BEHAVIOUR.md 4.2):
 *  - spaces in a format are separators: a run of spaces is one separator, and a separator is
 *    printed only when something other than a separator was printed since the last one (and
 *    not at the start of the line). A variable that prints nothing (%hr, %hs, %hrl, %hsl
 *    without captures) therefore leaves a single space, not two;
 *  - %{+Q} quotes text fields (names, addresses, cookies, the request line and its parts,
 *    captures, %ID, %H); numbers, dates and %ts/%tsc are never quoted. %{+Q}o sets options
 *    for every following variable, which may take them back with %{-Q};
 *  - %{+X} prints addresses and ports as their network-order bytes in upper-case hex
 *    (7F000001, 0050) and %Ts, %pid, %rt and %lc as "%04X"; other variables are unchanged
 *    (HAProxy 2.6's LOG_OPT_HEXA);
 *  - an absent text field prints "-", or "" when quoted;
 *  - the request line (%r, %HM, %HU, %HP, %HPO, %HQ, %HV) is at most 1023 bytes of
 *    "METHOD URI VERSION" (tune.http.logurilen's default), escaped as "#XX" for bytes below
 *    32, from 127 up, '"' and '#'; captured headers also escape '{', '|' and '}'.
 */
#ifndef SP_HTTP_HTTPLOG_H
#define SP_HTTP_HTTPLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct sp_acl_env;      /* balance/acl.h */
struct sp_acl_resolver; /* balance/acl.h */

/* The longest request line kept for the log, as HAProxy's tune.http.logurilen (1024 with
 * its NUL). */
#define SP_LOG_REQLINE_MAX 1023

/* owner: worker. What the renderer may cache between lines, and the process facts some
 * variables print. One per worker (or any single thread); never shared. */
struct sp_log_ctx {
    int pid;              /* %pid */
    const char *hostname; /* %H; NULL prints "-" */
    /* private: the date strings of the last second formatted, keyed by that second */
    int64_t _loc_sec, _gmt_sec;
    char _loc[24];   /* "dd/Mon/yyyy:HH:MM:SS" local time */
    char _loc_tz[8]; /* "+hhmm" of that second */
    char _gmt[24];   /* "dd/Mon/yyyy:HH:MM:SS" UTC */
};

/* owner: the context's worker (its start hook).
 * Sets pid and hostname (kept by reference: it must outlive the context) and empties the
 * caches. */
void sp_log_ctx_init(struct sp_log_ctx *ctx, int pid, const char *hostname);

/* owner: worker. One stream's (HTTP/1 request's or HTTP/2 stream's) facts, filled at its end.
 * Every pointer is borrowed for the duration of the render call only. Start from
 * sp_log_rec_init(), which leaves every timer at -1 and every text field absent. */
struct sp_log_rec {
    struct sp_log_ctx *ctx; /* date cache, pid, hostname; NULL: no cache, getpid(), "-" */

    /* addresses: NULL prints "-". An AF_UNIX address prints "unix" as IP and the
     * listener's id as port, as HAProxy does. */
    const struct sockaddr_storage *cli;  /* %ci %cp: client (after PROXY protocol) */
    const struct sockaddr_storage *fe;   /* %fi %fp: the local address it connected to */
    const struct sockaddr_storage *bsrc; /* %bi %bp: our source address towards the server */
    const struct sockaddr_storage *srv;  /* %si %sp: the server's address */
    int listener_id;                     /* %cp/%fp for a UNIX-socket client */

    /* names */
    const char *frontend; /* %f %ft: required */
    bool fe_ssl;          /* %ft gets a '~' suffix (a TLS connection) */
    const char *sslv;     /* %sslv: the TLS version ("TLSv1.3"), NULL: "-" */
    const char *sslc;     /* %sslc: the TLS cipher, NULL: "-" */
    const char *backend;  /* %b; NULL: the frontend's name (no backend was chosen) */
    const char *server;   /* %s; NULL: "<NOSRV>"; applets pass their own, e.g. "<STATS>" */

    /* wall-clock dates, microseconds since the epoch (CLOCK_REALTIME) */
    int64_t accept_us;  /* connection accepted: %t %T %Tl %Ts %ms */
    int64_t request_us; /* first byte of this request (accept + Th + Ti): %tr %trg %trl */

    /* timers in milliseconds, -1 when the step never happened (HAPROXY-BEHAVIOUR.md 4.2) */
    int32_t t_handshake; /* %Th: accept to ready (TLS/PROXY handshake) */
    int32_t t_idle;      /* %Ti: idle before the first byte of this request */
    int32_t t_request;   /* %TR: first byte to complete headers */
    int32_t t_queue;     /* %Tw: in queues */
    int32_t t_connect;   /* %Tc: server connection established, retries included */
    int32_t t_response;  /* %Tr: request sent to complete response headers */
    int32_t t_active;    /* %Ta: first request byte to last response byte */
    int32_t t_total;     /* %Tt: accept to end of stream */

    bool logasap;       /* `option logasap`: an early line, %Ta %Tt %Tu %B get a '+' prefix */
    int status;         /* %ST: status sent to the client; -1 if none */
    uint64_t bytes_out; /* %B: response bytes, headers included */
    uint64_t bytes_in;  /* %U: request bytes, headers included */

    const char *cli_cookie; /* %CC: captured request cookie; NULL: none */
    const char *srv_cookie; /* %CS: captured response cookie; NULL: none */

    /* %ts (first two) and %tsc (all four): termination cause, stream state at the end, then
     * the persistence-cookie flags. A NUL byte prints '-', so a normal end is all zeroes. */
    char term[4];

    /* counters as seen when the line is produced */
    unsigned actconn;   /* %ac: process-wide client connections */
    unsigned feconn;    /* %fc: this frontend's connections */
    unsigned beconn;    /* %bc: the backend's other in-flight streams */
    unsigned srvconn;   /* %sc: the server's current streams */
    unsigned retries;   /* %rc: connection retries */
    bool redispatched;  /* %rc gets a '+' prefix */
    unsigned srv_queue; /* %sq: requests ahead in the server queue */
    unsigned be_queue;  /* %bq: requests ahead in the backend queue */

    /* captured headers in declaration order; an entry may be NULL (not seen). With
     * n == 0, %hr/%hs/%hrl/%hsl print nothing at all. */
    const char *const *req_caps;
    unsigned n_req_caps;
    const char *const *res_caps;
    unsigned n_res_caps;

    /* the request line. method == NULL: the request could not be parsed, and every request
     * variable prints "<BADREQ>". HTTP/2: set scheme and authority when :authority was
     * given, so the URI is logged in absolute form "scheme://authority" + target, as
     * HAProxy does; leave them NULL for HTTP/1 (the target is logged as received). */
    const char *method;
    size_t method_len;
    const char *target; /* path and query, or whatever the request line carried */
    size_t target_len;
    const char *scheme;    /* HTTP/2 only, NUL-terminated */
    const char *authority; /* HTTP/2 only */
    size_t authority_len;
    const char *version; /* "HTTP/1.0", "HTTP/1.1", "HTTP/2.0"; NULL: absent */

    const char *unique_id; /* %ID; NULL prints "-" */
    uint64_t req_counter;  /* %rt: the stream's request counter */
    uint64_t log_counter;  /* %lc: the frontend's log counter */

    /* what %[sample] nodes evaluate against (connection, load, variables; the request and
     * response views when the caller still has them); NULL: every %[...] prints "-" */
    const struct sp_acl_env *env;
};

/* owner: the caller (its own record: the transaction's worker).
 * Clears `r`, sets every timer to -1 and status to -1. */
void sp_log_rec_init(struct sp_log_rec *r);

/* shared: immutable after compile. A compiled log-format. */
struct sp_logfmt;

/* owner: main. Compiles a log-format string (as found after the config parser removed
 * quotes and backslashes). On error returns NULL and writes a one-line reason naming the
 * offending variable or character into err (which may be NULL). Sample expressions %[...]
 * compile with balance/sample.h in the HTTP context with responses (request and response
 * fetches allowed), without proxy names (fe_conn(NAME) does not resolve: use
 * sp_logfmt_compile_res(); fe_conn, be_conn... without a name read the env's proxies). Returns NULL
 * with "out of memory" when allocation fails. */
struct sp_logfmt *sp_logfmt_compile(const char *fmt, char *err, size_t errlen);

/* owner: main. The same, with the resolver %[...] expressions compile against (its `what`
 * and proxy names); res NULL: as sp_logfmt_compile(). */
struct sp_logfmt *sp_logfmt_compile_res(const char *fmt, const struct sp_acl_resolver *res,
                                        char *err, size_t errlen);

/* owner: main. `option httplog` (clf false) or `option httplog clf`. NULL only when out of
 * memory. */
struct sp_logfmt *sp_logfmt_default(bool clf);

/* owner: main. `option tcplog` (and `option httplog` in a tcp frontend, as HAProxy falls back
 * to it). NULL only when out of memory. */
struct sp_logfmt *sp_logfmt_tcp(void);

/* shared: immutable (constant strings).
 * The HAProxy strings behind sp_logfmt_default() and sp_logfmt_tcp(). */
extern const char sp_logfmt_tcplog[];
extern const char sp_logfmt_httplog[];
extern const char sp_logfmt_httplog_clf[];

/* any thread (f is immutable). Whether the format has %[...] nodes (they need
 * sp_log_rec.env). */
bool sp_logfmt_has_samples(const struct sp_logfmt *f);

/* owner: main, once no worker renders with it any more.
 * Frees a format. Accepts NULL, returns NULL. */
struct sp_logfmt *sp_logfmt_free(struct sp_logfmt *f);

/* any thread (f is immutable; r and r->ctx belong to the caller). Renders one line into
 * out[0..len): at most len - 1 bytes and a NUL; a line that does not fit is cut at the byte
 * limit. Returns the number of bytes written before the NUL. No newline is added. Every
 * field of r may be absent (sp_log_rec_init() alone): it prints "-" (text), -1 (timers) or
 * its zero. %[...] nodes evaluate against r->env on the calling thread (a scratch value of
 * balance/sample.h: the caller's own sample values do not survive the call). */
size_t sp_logfmt_render(const struct sp_logfmt *f, const struct sp_log_rec *r, char *out,
                        size_t len);

/* any thread (r and r->ctx belong to the caller). HAProxy's line for a connection that ended
 * before it carried a request (a bad PROXY header): "ip:port [accept date] frontend/bind:
 * message", from r->cli, r->accept_us and r->frontend. Writes as sp_logfmt_render(). */
size_t sp_log_conn_error(const struct sp_log_rec *r, const char *bind_name, const char *msg,
                         char *out, size_t len);

#endif
