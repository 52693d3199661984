/* stats/render.h - what the renderings of stats/render.c share with stats/'s unit tests only:
 * HAProxy's `show stat` column indexes and names, and the Prometheus histogram ladder. The
 * renderings themselves (struct sp_strbuf, struct sp_stats_row, the CSV, typed, Prometheus and
 * HTML renderers) are public, in stats/stats.h; nothing outside stats/ includes this header.
 *
 * shared: immutable (constant tables); every function here is pure and safe from any thread.
 */
#ifndef SP_STATS_RENDER_H
#define SP_STATS_RENDER_H

#include <stdbool.h>
#include <stdint.h>

#include "stats/stats.h"

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

/* pure: any thread. The wire name of a column ("pxname"), NULL past the last one. */
const char *sp_stats_col_name(unsigned col);

/* shared: immutable (a constant table).
 * The histogram ladder, in microseconds, without +Inf. A fine bucket of struct sp_hist is
 * counted under the smallest `le` at or above its (inclusive) upper bound. */
extern const uint64_t sp_stats_prom_le[];
extern const unsigned sp_stats_prom_nle;

/* ---- the stats page's admin parts (stats/htmladmin.c), for render.c ---- */

/* pure. Appends `s` HTML-escaped (render.c). */
void sp__stats_html_escape(struct sp_strbuf *b, const char *s);
/* pure. HAProxy's message for `st` (a div with the "[X]" link back to `uri`), nothing for
 * SP_STATS_ST_INIT. */
void sp__stats_html_st_msg(struct sp_strbuf *b, const char *uri, int st);
/* pure. The admin column's first header cell: a "check all" box when the proxy has servers
 * (named after `pxname`), else an empty cell. */
void sp__stats_html_admin_th(struct sp_strbuf *b, const char *pxname, bool servers);
/* pure. The admin column's cell of a row: a checkbox `s=SVNAME` for a server, else empty. */
void sp__stats_html_admin_td(struct sp_strbuf *b, const char *pxname, const char *svname,
                             bool server);
/* pure. Closes a backend's form: the action <select>, `b=#IID` and the Apply button. */
void sp__stats_html_admin_end(struct sp_strbuf *b, unsigned iid);

#endif
