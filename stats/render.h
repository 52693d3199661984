/* stats/render.h - HAProxy-compatible renderings of summed statistics: `show stat` CSV, the
 * typed form, Prometheus text exposition and the HTML stats page.
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
#ifndef SP_STATS_RENDER_H
#define SP_STATS_RENDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "stats/stats.h"

/* ---- growable string buffer ---- */

/* owner: caller. p is NUL-terminated whenever it is not NULL. After a failed allocation `oom`
 * stays set and every further append is a no-op, so a renderer checks once at the end. A
 * zeroed struct is an empty buffer. */
struct sp_strbuf {
    char *p;
    size_t len, cap;
    bool oom;
};

void sp_strbuf_init(struct sp_strbuf *b);
/* Frees the storage; the buffer is empty (and usable) again. Accepts NULL. */
void sp_strbuf_free(struct sp_strbuf *b);
/* Empties the buffer but keeps its storage and clears `oom`. */
void sp_strbuf_reset(struct sp_strbuf *b);
void sp_strbuf_append(struct sp_strbuf *b, const char *s, size_t n);
void sp_strbuf_puts(struct sp_strbuf *b, const char *s);
void sp_strbuf_putc(struct sp_strbuf *b, char c);
void sp_strbuf_printf(struct sp_strbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- rows ---- */

/* HAProxy's `type` column. Listeners (3) are not rendered. */
enum sp_stats_type {
    SP_STATS_TYPE_FE = 0,
    SP_STATS_TYPE_BE = 1,
    SP_STATS_TYPE_SRV = 2,
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
                           "UP 1/3"... */
    uint32_t weight;    /* be: total effective weight; srv: effective weight */
    uint32_t act, bck;  /* be: active / backup servers UP; srv: 1 if active / backup */
    int64_t lastchg;    /* be, srv: seconds since the last status change */
    const char *mode;   /* NULL reads as "http" */
    const char *algo;   /* be: "roundrobin"... */
    const char *addr;   /* srv: "127.0.0.1:8080" */
};

/* ---- CSV (`show stat`, `<stats uri>;csv`) and typed (`show stat typed`, `;typed`) ---- */

/* HAProxy's column indexes; SP_STATS_NCOLS columns are emitted. */
enum sp_stats_col {
    SP_ST_PXNAME = 0,
    SP_ST_SVNAME,
    SP_ST_QCUR,
    SP_ST_QMAX,
    SP_ST_SCUR,
    SP_ST_SMAX,
    SP_ST_SLIM,
    SP_ST_STOT,
    SP_ST_BIN,
    SP_ST_BOUT,
    SP_ST_DREQ,
    SP_ST_DRESP,
    SP_ST_EREQ,
    SP_ST_ECON,
    SP_ST_ERESP,
    SP_ST_WRETR,
    SP_ST_WREDIS,
    SP_ST_STATUS,
    SP_ST_WEIGHT,
    SP_ST_ACT,
    SP_ST_BCK,
    SP_ST_CHKFAIL,
    SP_ST_CHKDOWN,
    SP_ST_LASTCHG,
    SP_ST_DOWNTIME,
    SP_ST_QLIMIT,
    SP_ST_PID,
    SP_ST_IID,
    SP_ST_SID,
    SP_ST_THROTTLE,
    SP_ST_LBTOT,
    SP_ST_TRACKED,
    SP_ST_TYPE,
    SP_ST_RATE,
    SP_ST_RATE_LIM,
    SP_ST_RATE_MAX,
    SP_ST_CHECK_STATUS,
    SP_ST_CHECK_CODE,
    SP_ST_CHECK_DURATION,
    SP_ST_HRSP_1XX,
    SP_ST_HRSP_2XX,
    SP_ST_HRSP_3XX,
    SP_ST_HRSP_4XX,
    SP_ST_HRSP_5XX,
    SP_ST_HRSP_OTHER,
    SP_ST_HANAFAIL,
    SP_ST_REQ_RATE,
    SP_ST_REQ_RATE_MAX,
    SP_ST_REQ_TOT,
    SP_ST_CLI_ABRT,
    SP_ST_SRV_ABRT,
    SP_ST_COMP_IN,
    SP_ST_COMP_OUT,
    SP_ST_COMP_BYP,
    SP_ST_COMP_RSP,
    SP_ST_LASTSESS,
    SP_ST_LAST_CHK,
    SP_ST_LAST_AGT,
    SP_ST_QTIME,
    SP_ST_CTIME,
    SP_ST_RTIME,
    SP_ST_TTIME,
    SP_ST_AGENT_STATUS,
    SP_ST_AGENT_CODE,
    SP_ST_AGENT_DURATION,
    SP_ST_CHECK_DESC,
    SP_ST_AGENT_DESC,
    SP_ST_CHECK_RISE,
    SP_ST_CHECK_FALL,
    SP_ST_CHECK_HEALTH,
    SP_ST_AGENT_RISE,
    SP_ST_AGENT_FALL,
    SP_ST_AGENT_HEALTH,
    SP_ST_ADDR,
    SP_ST_COOKIE,
    SP_ST_MODE,
    SP_ST_ALGO,
    SP_ST_CONN_RATE,
    SP_ST_CONN_RATE_MAX,
    SP_ST_CONN_TOT,
    SP_ST_INTERCEPTED,
    SP_ST_DCON,
    SP_ST_DSES,
    SP_ST_WREW,
    SP_ST_CONNECT,
    SP_ST_REUSE,
    SP_ST_CACHE_LOOKUPS,
    SP_ST_CACHE_HITS,
    SP_ST_SRV_ICUR,
    SP_ST_SRC_ILIM,
    SP_ST_QTIME_MAX,
    SP_ST_CTIME_MAX,
    SP_ST_RTIME_MAX,
    SP_ST_TTIME_MAX,
    SP_ST_EINT,
    SP_ST_IDLE_CONN_CUR,
    SP_ST_SAFE_CONN_CUR,
    SP_ST_USED_CONN_CUR,
    SP_ST_NEED_CONN_EST,
    SP_ST_UWEIGHT,
    SP_ST_AGG_SERVER_STATUS,
    SP_ST_AGG_SERVER_CHECK_STATUS,
    SP_ST_AGG_CHECK_STATUS,
    SP_ST_SRID,
    SP_ST_SESS_OTHER,
    SP_ST_H1SESS,
    SP_ST_H2SESS,
    SP_ST_H3SESS,
    SP_ST_REQ_OTHER,
    SP_ST_H1REQ,
    SP_ST_H2REQ,
    SP_ST_H3REQ,
    SP_ST_PROTO,
    SP_STATS_NCOLS, /* 113 */
};

/* The wire name of a column ("pxname"), NULL past the last one. */
const char *sp_stats_col_name(unsigned col);

/* Appends "# pxname,svname,...,proto,\n": every name followed by a comma. Returns 0 or
 * -ENOMEM. */
int sp_stats_csv_header(struct sp_strbuf *b);
/* Appends one row: SP_STATS_NCOLS fields each followed by a comma, then "\n". Fields HAProxy
 * leaves empty for this row type, or that spillway does not measure (checks, compression,
 * cache...), are empty. Returns 0 or -ENOMEM. */
int sp_stats_csv_row(struct sp_strbuf *b, const struct sp_stats_row *r);
/* Appends the row in `show stat typed` form, one line per non-empty field:
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
};

/* Which scopes sp_stats_prom() renders (promex's `scope=`). */
#define SP_PROM_PROCESS  0x1u
#define SP_PROM_FRONTEND 0x2u
#define SP_PROM_BACKEND  0x4u
#define SP_PROM_SERVER   0x8u
#define SP_PROM_ALL      0xfu

/* Appends the exposition of `proc` (NULL: no process families) and `rows`: each family's
 * # HELP and # TYPE once, then all its samples, families in the order process, frontend,
 * backend, server. Names and labels follow HAProxy's exporter; the haproxy_{backend,server}_
 * {queue,connect,response,total}_time_seconds histograms are spillway's own (le ladder in
 * sp_stats_prom_le). Returns 0 or -ENOMEM. */
int sp_stats_prom(struct sp_strbuf *b, const struct sp_stats_proc *proc,
                  const struct sp_stats_row *rows, size_t n, unsigned scope);

/* The histogram ladder, in microseconds, without +Inf. A fine bucket of struct sp_hist is
 * counted under the smallest `le` at or above its (inclusive) upper bound. */
extern const uint64_t sp_stats_prom_le[];
extern const unsigned sp_stats_prom_nle;

/* ---- HTML stats page ---- */

/* owner: caller */
struct sp_stats_html_opts {
    const char *uri;                  /* stats uri, for the ";csv" link; NULL: "/haproxy?stats" */
    int refresh;                      /* > 0: <meta http-equiv="refresh" content="N"> */
    const char *title;                /* NULL: "spillway statistics" */
    const struct sp_stats_proc *proc; /* NULL: no process line */
};

/* Appends a self-contained page: one table per proxy (consecutive rows with the same iid and
 * pxname), names HTML-escaped. Returns 0 or -ENOMEM. */
int sp_stats_html(struct sp_strbuf *b, const struct sp_stats_html_opts *o,
                  const struct sp_stats_row *rows, size_t n);

#endif
