/* stats/stats.h - stats/'s public face: per-worker counters and latency histograms summed on
 * read, the decision log, and HAProxy-compatible renderings of what they hold (`show stat` CSV
 * and typed, Prometheus text, the HTML page). http/ and the daemon reach statistics through
 * this header only; stats/render.h is stats/'s own (column indexes, the Prometheus ladder).
 *
 * Threads, by part:
 *  - counters: shared, one writer per slot, any reader (below);
 *  - decision log: shared, one writer per ring (its worker), any reader (see its section);
 *  - renderings: pure, on the caller's own buffer and rows, safe from any thread.
 *
 * Counters. Each worker owns one struct sp_stats_worker and its arrays, allocated on their own
 * cache lines; only that worker writes them, with ck_pr stores (a plain load + store: no
 * locked instruction, no shared line bounced in the request path). Any thread reads a value
 * as the sum of ck_pr loads over the workers; the result may be a few events stale by the
 * time it is used, as with HAProxy's plain loads.
 *
 * Counters are indexed by the routing snapshot's dense indexes: one struct sp_stats_obj per
 * frontend, backend and server. Which fields an object uses follows HAProxy's `show stat`
 * (HAPROXY-BEHAVIOUR.md 7.1); the others stay 0.
 *
 * Maxima: a worker that raises a current count (or closes a rate second) computes the sum
 * over workers at that moment and keeps the highest it saw in its own slot; the merged
 * maximum is the highest over workers. Exact for what the workers observed, without a lock.
 *
 * Rates use a 1-second window per worker: events of the current second plus those of the
 * previous one weighted by the part of the current second still to come (HAProxy's estimate),
 * summed over workers.
 *
 * Histograms are log-linear over microseconds: each power-of-two range is cut in
 * SP_HIST_SUB equal buckets, so a bucket is never wider than 1/SP_HIST_SUB of its value.
 */
#ifndef SP_STATS_STATS_H
#define SP_STATS_STATS_H

#include <ck_pr.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/util.h"

/* ==== Counters (see the first comment) ==== */

/* shared: one writer (the owning worker), any reader */
struct sp_rate {
    uint64_t sec;  /* the second `cur` counts */
    uint64_t cur;  /* events in that second */
    uint64_t prev; /* events in the second before */
    uint64_t max;  /* highest merged rate this worker computed at a rollover */
};

#define SP_HIST_SUB_BITS 2
#define SP_HIST_SUB      (1 << SP_HIST_SUB_BITS)
#define SP_HIST_POW      27 /* 2^27 us: about 134 s; longer values land in the last bucket */
#define SP_HIST_BUCKETS  (SP_HIST_POW * SP_HIST_SUB)

/* shared: one writer, any reader */
struct sp_hist {
    uint64_t count;
    uint64_t sum_us;
    uint64_t max_us;
    uint64_t b[SP_HIST_BUCKETS];
};

enum sp_hist_kind {
    SP_HIST_QUEUE = 0, /* Tw: time in the queue */
    SP_HIST_CONNECT,   /* Tc: time to connect (0 on a reused connection) */
    SP_HIST_RESPONSE,  /* Tr: request sent -> response headers */
    SP_HIST_TOTAL,     /* Ta: request first byte -> response last byte */
    SP_HIST_KINDS,
};

/* shared: one writer, any reader. One frontend, backend or server on one worker. */
struct sp_stats_obj {
    int64_t cur;  /* scur: fe: client connections (kept by the gate); be: streams assigned,
                     queued ones included; srv: requests on the server now */
    int64_t max;  /* smax (see "Maxima") */
    int64_t qcur; /* queued streams */
    int64_t qmax;
    int64_t stot;  /* fe: sessions (connections); be/srv: streams assigned */
    int64_t lbtot; /* be/srv: times chosen by load balancing */
    int64_t bin, bout;
    int64_t dreq, dresp, ereq, econ, eresp, wretr, wredis, eint;
    int64_t dcon;    /* fe: connections refused by `tcp-request connection` */
    int64_t dses;    /* fe: sessions refused by `tcp-request session` */
    int64_t ctot;    /* fe: accepted connections (conn_tot), before any rule */
    int64_t hrsp[6]; /* 1xx 2xx 3xx 4xx 5xx other */
    int64_t req_tot; /* HTTP requests (fe) / streams (be, srv) */
    int64_t h1req, h2req, h1sess, h2sess;
    int64_t cli_abrt, srv_abrt;
    /* fe/be: compression (http/compress.c): body bytes fed to the compressor, bytes it
     * produced, bytes passed through the identity algorithm, compressed responses */
    int64_t comp_in, comp_out, comp_byp, comp_rsp;
    int64_t connect, reuse;             /* be/srv: new upstream connections, reused ones */
    int64_t lastsess;                   /* ms (monotonic) of the last stream assigned; 0 never */
    struct sp_rate rate;                /* fe: sessions/s; be/srv: streams/s */
    struct sp_rate req_rate;            /* fe: requests/s */
    struct sp_rate conn_rate;           /* fe: connections/s */
    struct sp_hist hist[SP_HIST_KINDS]; /* be/srv */
};

/* owner: worker (writes), shared (reads) */
struct sp_stats_worker {
    struct sp_stats_obj *fe;
    struct sp_stats_obj *be;
    struct sp_stats_obj *srv;
    int nfe, nbe, nsrv;
    int wid;
    int64_t log_drops;       /* access-log lines this worker dropped (its buffer was full) */
    struct sp_stats_obj *li; /* listeners (option socket-stats), NULL when none */
    int nli;
} __attribute__((aligned(SP_CACHELINE)));

enum sp_stats_kind {
    SP_STATS_FE = 0,
    SP_STATS_BE,
    SP_STATS_SRV,
    SP_STATS_LI, /* a listener of a frontend with `option socket-stats` */
};

/* owner: main. Allocates the slots of every worker; sizes from the routing snapshot. Returns
 * 0 or -ENOMEM. */
int sp_stats_init(int nworkers, int nfe, int nbe, int nsrv);
/* owner: main, after sp_stats_init(). The listener counters of every worker (`option
 * socket-stats`): scur (connections open on it), smax, stot (connections accepted), bin,
 * bout, dreq, dresp, ereq, dcon, dses. Returns 0 or -ENOMEM; nli 0 allocates nothing. */
int sp_stats_init_li(int nli);
/* owner: main, once every worker has been joined. Frees every worker's slots. */
void sp_stats_free(void);
/* shared: any thread once sp_stats_init() returned (set by main before the workers start). The
 * number of workers with slots. */
int sp_stats_nworkers(void);

/* owner: worker `wid`: its own slots. */
struct sp_stats_worker *sp_stats_worker(int wid);

/* ---- single-writer updates (the caller is the owning worker) ---- */

/* owner: the slot's worker (its only writer; ck_pr store, no locked instruction). */
static inline void sp_stat_add(int64_t *slot, int64_t v)
{
    uint64_t *p = (uint64_t *)slot;
    ck_pr_store_64(p, ck_pr_load_64(p) + (uint64_t)v);
}

/* owner: the slot's worker (its only writer). */
static inline void sp_stat_set(int64_t *slot, int64_t v)
{
    ck_pr_store_64((uint64_t *)slot, (uint64_t)v);
}

/* owner: worker `w` (writes its own slots, reads all).
 * Raises the current count of (kind, idx) by one and updates this worker's maximum with the
 * merged count. */
void sp_stats_cur_inc(struct sp_stats_worker *w, enum sp_stats_kind kind, int idx);
/* owner: worker `w`. Same for the queue count. */
void sp_stats_queue_inc(struct sp_stats_worker *w, enum sp_stats_kind kind, int idx);
/* owner: worker `w`.
 * One event on a rate of (kind, idx): `r` is one of the object's sp_rate fields. */
void sp_rate_add(struct sp_stats_worker *w, enum sp_stats_kind kind, int idx, struct sp_rate *r,
                 uint64_t now_ms);
/* owner: the histogram's worker (its only writer). One value (microseconds) into a histogram. */
void sp_hist_add(struct sp_hist *h, uint64_t us);

/* ---- reads: any thread ---- */

/* pure: any thread.
 * The bucket a value falls in, and the upper bound (inclusive, us) of a bucket. */
unsigned sp_hist_bucket(uint64_t us);
uint64_t sp_hist_bucket_le(unsigned b);

/* shared: any thread (ck_pr loads).
 * Sums (kind, idx) over every worker into *ret, maxima merged, rates evaluated at now_ms
 * (rate.cur then holds the current rate estimate and rate.max the highest merged one). */
void sp_stats_read(enum sp_stats_kind kind, int idx, uint64_t now_ms, struct sp_stats_obj *ret);

/* shared: any thread. The current count of (kind, idx) summed over every worker. */
int64_t sp_stats_cur_mt(enum sp_stats_kind kind, int idx);
/* shared: any thread. access-log lines dropped, all workers */
int64_t sp_stats_log_drops_mt(void);
/* shared: any thread. The queue count of (kind, idx) summed over every worker. */
int64_t sp_stats_qcur_mt(enum sp_stats_kind kind, int idx);
/* shared: any thread.
 * The rate estimate of one field over every worker; `off` is offsetof(struct sp_stats_obj,
 * rate|req_rate|conn_rate). */
uint64_t sp_stats_rate_mt(enum sp_stats_kind kind, int idx, size_t off, uint64_t now_ms);

/* shared: any thread (ck_pr loads of one worker's window).
 * The rate estimate of one window at `now_ms` (exported for tests). */
uint64_t sp_rate_read(const struct sp_rate *r, uint64_t now_ms);

/* ==== Decision log ====
 *
 * Each worker's ring of its last routing decisions. shared: one writer per ring (its worker),
 * any reader. An entry is written under a sequence number (odd while being written, even when
 * complete, as a seqlock): a reader copies the entry and keeps it only if the number was even
 * and unchanged around the copy, so it never shows a torn entry and never makes the worker
 * wait.
 */

#define SP_DECISION_TARGET 64

/* shared: one writer, any reader (through sp_decisions_read) */
struct sp_decision {
    uint64_t seq;              /* seqlock word */
    uint64_t wall_us;          /* wall clock when the request was routed */
    int64_t fe_conn;           /* fe_conn of the frontend at that moment */
    int32_t fe, rule, be, srv; /* indexes; rule -1 = default_backend; be/srv -1 = none */
    int32_t worker;
    int32_t proto;                   /* 11, 10 or 20 */
    char target[SP_DECISION_TARGET]; /* "METHOD /path" (truncated) */
};

/* owner: main. Rings of `n` entries for `nworkers` workers; n == 0 disables the log. */
int sp_decisions_init(int nworkers, int n);
/* owner: main, once every worker has been joined. */
void sp_decisions_free(void);
/* shared: any thread (set by main before the workers start). Whether the log is on (n > 0). */
int sp_decisions_size(void);

/* owner: worker `wid`. Records one decision (no-op when the log is off). */
void sp_decision_add(int wid, const struct sp_decision *d);

/* shared: any thread (seqlock reads). Copies every complete entry of every ring into `out` (at most
 * `max`), sorted by time, oldest first. Returns the count. */
int sp_decisions_read(struct sp_decision *out, int max);

/* ==== Renderings ====
 *
 * HAProxy-compatible renderings of summed statistics: `show stat` CSV, the typed form,
 * Prometheus text exposition and the HTML stats page.
 *
 * Pure functions: no I/O, no globals, no threads. The caller reads each object with
 * sp_stats_read() into a struct sp_stats_row, adds what only it knows (names, status,
 * configuration), and renders into a heap-backed struct sp_strbuf. Every function is safe
 * from any thread on its own buffer and rows. Library code: nothing is logged; out of memory
 * is reported once, by the return value (-ENOMEM) and the buffer's sticky `oom` flag.
 *
 * Compatibility follows HAPROXY-BEHAVIOUR.md section 7: CSV columns 0..112 in HAProxy 2.8's
 * order (`pxname` .. `proto`). Module columns (the `-` separator and per-mux counters HAProxy
 * appends after them) are not emitted: spillway's h1/h2 counters are already in the fixed
 * columns 104..111, and a consumer that reads by header name ignores their absence.
 */

/* ---- growable string buffer ---- */

/* owner: caller. p is NUL-terminated whenever it is not NULL. After a failed allocation `oom`
 * stays set and every further append is a no-op, so a renderer checks once at the end. A
 * zeroed struct is an empty buffer. */
struct sp_strbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

/* owner: the caller (its own buffer; any thread). An empty buffer. */
void sp_strbuf_init(struct sp_strbuf *b);
/* owner: the caller. Frees the storage; the buffer is empty (and usable) again. Accepts NULL. */
void sp_strbuf_free(struct sp_strbuf *b);
/* owner: the caller. Empties the buffer but keeps its storage and clears `oom`. */
void sp_strbuf_reset(struct sp_strbuf *b);
/* owner: the caller (its own buffer; any thread). Append n bytes, a string, a byte, a format. */
void sp_strbuf_append(struct sp_strbuf *b, const char *s, size_t n);
void sp_strbuf_puts(struct sp_strbuf *b, const char *s);
void sp_strbuf_putc(struct sp_strbuf *b, char c);
void sp_strbuf_printf(struct sp_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- rows ---- */

/* HAProxy's `type` column. Listeners (3) are rendered in the CSV, typed and HTML forms, not in
 * Prometheus (HAProxy 2.6's exporter has no listener family). */
enum sp_stats_type {
    SP_STATS_TYPE_FE = 0,
    SP_STATS_TYPE_BE = 1,
    SP_STATS_TYPE_SRV = 2,
    SP_STATS_TYPE_LI = 3, /* a listener (option socket-stats) */
};

/* owner: caller. One FRONTEND, BACKEND or server line. Strings are borrowed for the duration
 * of the call; NULL reads as "" except where noted. Pass rows in HAProxy's order: per proxy,
 * FRONTEND, then servers, then BACKEND. */
struct sp_stats_row {
    const char *pxname;
    const char *svname; /* NULL: "FRONTEND" / "BACKEND" by type */
    int type;           /* enum sp_stats_type */
    uint32_t iid;       /* proxy id */
    uint32_t sid;       /* server id; 0 for FRONTEND and BACKEND */
    uint32_t pid;       /* process number: 1 */

    /* Summed with sp_stats_read(kind, idx, now_ms, &obj): obj.cur is scur, obj.max smax,
     * rate/req_rate/conn_rate .cur and .max the current and highest rates, hist[] the
     * latency histograms (backends and servers). */
    struct sp_stats_obj obj;
    uint64_t now_ms; /* the now_ms given to sp_stats_read(): turns obj.lastsess into an age */

    bool scur_set; /* true: scur below replaces obj.cur (frontends: fe_conn) */
    int64_t scur;

    int64_t slim;       /* fe: maxconn; be: fullconn; srv: maxconn, 0 = none (left empty) */
    int64_t qlimit;     /* srv: maxqueue, 0 = none (left empty) */
    const char *status; /* fe: OPEN|PAUSED|STOP; be: UP|DOWN; srv: UP|DOWN|MAINT|DRAIN|NOLB,
                           "UP 1/3", "DOWN 1/2", "no check"... */
    uint32_t weight;    /* be: weight of the servers in use; srv: effective weight */
    uint32_t uweight;   /* be: user weight of the servers in use; srv: user weight */
    uint32_t act, bck;  /* be: usable active / backup servers; srv: 1 if active / backup */
    int64_t lastchg;    /* be, srv: seconds since the last status change */
    const char *mode;   /* NULL reads as "http" */
    const char *algo;   /* be: "roundrobin"... */
    const char *addr;   /* srv: "127.0.0.1:8080" */
    const char *desc;   /* the proxy's `description` (the stats page), NULL: none */
    const char *cap;    /* the proxy's kind for the page's legends: "frontend", "listen"... */

    /* srv: the health check (balance/health.h's record, copied by the caller). `chk` says
     * which columns exist, as HAProxy 2.6's stats_fill_sv_stats(): chkfail, chkdown and
     * downtime while the check is enabled (even when maintenance pauses it); check_status,
     * check_code, check_duration, last_chk, check_desc and check_rise/fall/health only while
     * it is enabled and not paused. Backends always show chkdown (times the backend lost its
     * last usable server) and downtime. */
    unsigned chk;             /* SP_STATS_CHK_* */
    const char *check_status; /* short name: "L4CON", "INI" (without the "* " of a check in
                                 flight, which the renderers add) */
    const char *check_desc;   /* "Layer4 connection problem" */
    const char *last_chk;     /* the check's detail ("Connection refused"), often "" */
    int64_t check_code;       /* L7 status (L7OK, L7OKC, L7STS); < 0: none */
    int64_t check_duration;   /* ms of the last finished check; < 0: none yet (INI) */
    int64_t chkfail;          /* failed checks */
    int64_t chkdown;          /* transitions to DOWN */
    int64_t downtime;         /* seconds spent DOWN, the current period included */
    int32_t check_rise, check_fall, check_health;
};

/* struct sp_stats_row.chk */
#define SP_STATS_CHK_ENABLED 0x1u /* a check is configured and enabled (not `disable health`) */
#define SP_STATS_CHK_PAUSED  0x2u /* maintenance pauses it */
#define SP_STATS_CHK_RUNNING 0x4u /* a check is in flight: check_status reads "* L4OK" */

/* ---- CSV (`show stat`, `<stats uri>;csv`) and typed (`show stat typed`, `;typed`) ---- */

/* pure: any thread, on the caller's buffer.
 * Appends "# pxname,svname,...,proto,\n": every name followed by a comma. Returns 0 or
 * -ENOMEM. */
int sp_stats_csv_header(struct sp_strbuf *b);
/* pure: any thread, on the caller's buffer.
 * Appends one row: HAProxy's 113 columns (0..112) each followed by a comma, then "\n". Fields
 * HAProxy leaves empty for this row type or state (the check columns without an enabled
 * check), or that spillway does not measure (agent checks, compression, cache...), are empty.
 * Returns 0 or -ENOMEM. */
int sp_stats_csv_row(struct sp_strbuf *b, const struct sp_stats_row *r);
/* pure: any thread, on the caller's buffer.
 * Appends the row in `show stat typed` form, one line per non-empty field:
 * "F.<iid>.<sid>.<col>.<name>.<pid>:<origin><nature><scope>:<type>:<value>\n". */
int sp_stats_typed_row(struct sp_strbuf *b, const struct sp_stats_row *r);

/* ---- Prometheus text exposition format 0.0.4 ---- */

/* owner: caller. Process-wide values for the haproxy_process_* families. */
struct sp_stats_proc {
    int64_t cur_conn;     /* client connections now */
    int64_t max_conn;     /* global maxconn */
    int64_t conn_tot;     /* connections accepted since start */
    int64_t req_tot;      /* HTTP requests since start */
    int64_t nbthread;     /* workers */
    int64_t uptime_s;     /* seconds since start */
    int64_t start_time_s; /* Unix time of the start */
    const char *version;  /* build_info{version=...} */
    const char *node;     /* global `node` (default: the host name), never NULL */
    const char *desc;     /* global `description`, NULL when unset */
};

/* Which scopes sp_stats_prom() renders (promex's `scope=`). */
#define SP_PROM_PROCESS  0x1u
#define SP_PROM_FRONTEND 0x2u
#define SP_PROM_BACKEND  0x4u
#define SP_PROM_SERVER   0x8u
#define SP_PROM_ALL      0xfu

/* pure: any thread, on the caller's buffer and rows.
 * Appends the exposition of `proc` (NULL: no process families) and `rows`: each family's
 * # HELP and # TYPE once, then all its samples, families in the order process, frontend,
 * backend, server. Names and labels follow HAProxy 2.6's exporter: one-hot `state` labels on
 * the status families (DOWN, UP, then MAINT, DRAIN, NOLB for servers) and on
 * haproxy_server_check_status (every status a finished check can have). A column HAProxy
 * leaves empty for a row has no sample here (HAProxy prints NaN). The haproxy_{backend,server}_
 * {queue,connect,response,total}_time_seconds histograms are spillway's own (le ladder:
 * sp_stats_prom_le in stats/render.h). Returns 0 or -ENOMEM. */
int sp_stats_prom(struct sp_strbuf *b, const struct sp_stats_proc *proc,
                  const struct sp_stats_row *rows, size_t n, unsigned scope);

/* ---- HTML stats page ---- */

/* owner: caller */
struct sp_stats_html_opts {
    const char *uri;                  /* stats uri, for the ";csv" link; NULL: "/haproxy?stats" */
    int refresh;                      /* > 0: <meta http-equiv="refresh" content="N"> */
    const char *title;                /* NULL: "spillway statistics" */
    const struct sp_stats_proc *proc; /* NULL: no process line */
    bool hide_version;                /* `stats hide-version`: no version anywhere */
    const char *node;                 /* `stats show-node`: " on NODE" after the title */
    const char *desc;                 /* `stats show-desc`: ": DESC" after it */
    bool legends; /* `stats show-legends`: proxy cap, mode, id; server address and id */
    bool admin;   /* `stats admin` held: a checkbox per server, the action form per backend */
    int st;       /* enum sp_stats_st of the URI's `;st=` (0: none): the message shown */
};

/* The admin form's results, HAProxy 2.6's STAT_STATUS_* and their `;st=` codes. */
enum sp_stats_st {
    SP_STATS_ST_INIT = 0, /* no `;st=`: no message */
    SP_STATS_ST_DENY,     /* a POST without the admin level */
    SP_STATS_ST_DONE,     /* every server named was changed */
    SP_STATS_ST_ERRP,     /* invalid parameters */
    SP_STATS_ST_EXCD,     /* the body did not fit the buffer */
    SP_STATS_ST_NONE,     /* nothing changed */
    SP_STATS_ST_PART,     /* some servers were changed */
    SP_STATS_ST_UNKN,     /* a `;st=` code spillway does not know */
    SP_STATS_ST_IVAL,     /* an unsupported request */
    SP_STATS_ST_SIZE,
};

/* pure. The four-letter code of `st` ("DONE"); "UNKN" for what is not one. */
const char *sp_stats_st_name(int st);
/* pure. The status of the four characters at `p` (`n` available), SP_STATS_ST_UNKN when
 * they name none. */
int sp_stats_st_parse(const char *p, size_t n);

/* pure: any thread, on the caller's buffer and rows.
 * Appends a self-contained page: one table per proxy (consecutive rows with the same iid and
 * pxname), names HTML-escaped. A server's line is coloured as on HAProxy's page (class
 * active_up, backup_going_down, maintain...), its status followed by an arrow while it is
 * going up or down. Returns 0 or -ENOMEM. */
int sp_stats_html(struct sp_strbuf *b, const struct sp_stats_html_opts *o,
                  const struct sp_stats_row *rows, size_t n);

#endif
