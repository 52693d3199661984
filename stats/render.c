/* stats/render.c - CSV, typed, Prometheus and HTML renderings of statistics rows.
 *
 * One function, field(), decides what every column holds for every row type; the CSV, typed
 * and HTML renderers print it and the Prometheus families read their values from it, so an
 * empty CSV field is also a missing sample. */
#include "stats/render.h"

#include <errno.h>
#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- sp_strbuf ---- */

void sp_strbuf_init(struct sp_strbuf *b)
{
    memset(b, 0, sizeof(*b));
}

void sp_strbuf_free(struct sp_strbuf *b)
{
    if (!b)
        return;
    free(b->p);
    sp_strbuf_init(b);
}

void sp_strbuf_reset(struct sp_strbuf *b)
{
    b->len = 0;
    b->oom = false;
    if (b->p)
        b->p[0] = '\0';
}

/* Makes room for `n` more bytes plus the terminating NUL. */
static bool reserve(struct sp_strbuf *b, size_t n)
{
    if (b->oom)
        return false;
    if (n < b->cap - b->len && b->p)
        return true;
    if (n > SIZE_MAX / 2 - b->len) {
        b->oom = true;
        return false;
    }
    size_t cap = b->cap ? b->cap : 256;
    while (cap - b->len <= n)
        cap *= 2;
    char *p = realloc(b->p, cap);
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    return true;
}

void sp_strbuf_append(struct sp_strbuf *b, const char *s, size_t n)
{
    if (!reserve(b, n))
        return;
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void sp_strbuf_puts(struct sp_strbuf *b, const char *s)
{
    sp_strbuf_append(b, s, strlen(s));
}

void sp_strbuf_putc(struct sp_strbuf *b, char c)
{
    sp_strbuf_append(b, &c, 1);
}

void sp_strbuf_printf(struct sp_strbuf *b, const char *fmt, ...)
{
    va_list ap;
    char small[128];

    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->oom = true; /* an encoding error: nothing sensible to append */
        return;
    }
    if ((size_t)n < sizeof(small)) {
        sp_strbuf_append(b, small, (size_t)n);
        return;
    }
    if (!reserve(b, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static int done(const struct sp_strbuf *b)
{
    return b->oom ? -ENOMEM : 0;
}

/* ---- columns ---- */

enum ftype { T_NONE = 0, T_U32, T_U64, T_S32, T_STR };

struct col {
    const char *name;
    uint8_t type; /* enum ftype in the typed output */
    char tags[4]; /* origin, nature, scope (HAProxy's field tags) */
};

/* Names in HAProxy 2.8's order (HAPROXY-BEHAVIOUR.md 7.1). Types and tags only for the
 * columns spillway fills; tags: origin M(etric) S(tatus) K(ey) C(onfig), nature G(auge)
 * L(imit) M(ax) R(ate) C(ounter) A(ge) a(verage) N(ame) D(uration)
 * O(utput), scope P(rocess) S(ervice). */
static const struct col cols[SP_STATS_NCOLS] = {
    [SP_ST_PXNAME] = {"pxname", T_STR, "KNS"},
    [SP_ST_SVNAME] = {"svname", T_STR, "KNS"},
    [SP_ST_QCUR] = {"qcur", T_U32, "MGP"},
    [SP_ST_QMAX] = {"qmax", T_U32, "MMP"},
    [SP_ST_SCUR] = {"scur", T_U32, "MGP"},
    [SP_ST_SMAX] = {"smax", T_U32, "MMP"},
    [SP_ST_SLIM] = {"slim", T_U32, "CLP"},
    [SP_ST_STOT] = {"stot", T_U64, "MCP"},
    [SP_ST_BIN] = {"bin", T_U64, "MCP"},
    [SP_ST_BOUT] = {"bout", T_U64, "MCP"},
    [SP_ST_DREQ] = {"dreq", T_U64, "MCP"},
    [SP_ST_DRESP] = {"dresp", T_U64, "MCP"},
    [SP_ST_EREQ] = {"ereq", T_U64, "MCP"},
    [SP_ST_ECON] = {"econ", T_U64, "MCP"},
    [SP_ST_ERESP] = {"eresp", T_U64, "MCP"},
    [SP_ST_WRETR] = {"wretr", T_U64, "MCP"},
    [SP_ST_WREDIS] = {"wredis", T_U64, "MCP"},
    [SP_ST_STATUS] = {"status", T_STR, "SGP"},
    [SP_ST_WEIGHT] = {"weight", T_U32, "MaP"},
    [SP_ST_ACT] = {"act", T_U32, "MGP"}, /* servers: "SGP" */
    [SP_ST_BCK] = {"bck", T_U32, "MGP"},
    [SP_ST_CHKFAIL] = {"chkfail", T_U64, "MCP"},
    [SP_ST_CHKDOWN] = {"chkdown", T_U64, "MCP"},
    [SP_ST_LASTCHG] = {"lastchg", T_U32, "MAP"},
    [SP_ST_DOWNTIME] = {"downtime", T_U32, "MCP"},
    [SP_ST_QLIMIT] = {"qlimit", T_U32, "CGS"},
    [SP_ST_PID] = {"pid", T_U32, "KGP"},
    [SP_ST_IID] = {"iid", T_U32, "KGS"},
    [SP_ST_SID] = {"sid", T_U32, "KGS"},
    [SP_ST_THROTTLE] = {"throttle", 0, ""},
    [SP_ST_LBTOT] = {"lbtot", T_U64, "MCP"},
    [SP_ST_TRACKED] = {"tracked", 0, ""},
    [SP_ST_TYPE] = {"type", T_U32, "CGS"},
    [SP_ST_RATE] = {"rate", T_U32, "MRP"},
    [SP_ST_RATE_LIM] = {"rate_lim", T_U32, "CLP"},
    [SP_ST_RATE_MAX] = {"rate_max", T_U32, "MMP"},
    [SP_ST_CHECK_STATUS] = {"check_status", T_STR, "MOP"},
    [SP_ST_CHECK_CODE] = {"check_code", T_U32, "MOP"},
    [SP_ST_CHECK_DURATION] = {"check_duration", T_U64, "MDP"},
    [SP_ST_HRSP_1XX] = {"hrsp_1xx", T_U64, "MCP"},
    [SP_ST_HRSP_2XX] = {"hrsp_2xx", T_U64, "MCP"},
    [SP_ST_HRSP_3XX] = {"hrsp_3xx", T_U64, "MCP"},
    [SP_ST_HRSP_4XX] = {"hrsp_4xx", T_U64, "MCP"},
    [SP_ST_HRSP_5XX] = {"hrsp_5xx", T_U64, "MCP"},
    [SP_ST_HRSP_OTHER] = {"hrsp_other", T_U64, "MCP"},
    [SP_ST_HANAFAIL] = {"hanafail", 0, ""},
    [SP_ST_REQ_RATE] = {"req_rate", T_U32, "MRP"},
    [SP_ST_REQ_RATE_MAX] = {"req_rate_max", T_U32, "MMP"},
    [SP_ST_REQ_TOT] = {"req_tot", T_U64, "MCP"},
    [SP_ST_CLI_ABRT] = {"cli_abrt", T_U64, "MCP"},
    [SP_ST_SRV_ABRT] = {"srv_abrt", T_U64, "MCP"},
    [SP_ST_COMP_IN] = {"comp_in", T_U64, "MCP"},
    [SP_ST_COMP_OUT] = {"comp_out", T_U64, "MCP"},
    [SP_ST_COMP_BYP] = {"comp_byp", T_U64, "MCP"},
    [SP_ST_COMP_RSP] = {"comp_rsp", T_U64, "MCP"},
    [SP_ST_LASTSESS] = {"lastsess", T_S32, "MAP"},
    [SP_ST_LAST_CHK] = {"last_chk", T_STR, "MOP"},
    [SP_ST_LAST_AGT] = {"last_agt", 0, ""},
    [SP_ST_QTIME] = {"qtime", T_U32, "MaP"},
    [SP_ST_CTIME] = {"ctime", T_U32, "MaP"},
    [SP_ST_RTIME] = {"rtime", T_U32, "MaP"},
    [SP_ST_TTIME] = {"ttime", T_U32, "MaP"},
    [SP_ST_AGENT_STATUS] = {"agent_status", 0, ""},
    [SP_ST_AGENT_CODE] = {"agent_code", 0, ""},
    [SP_ST_AGENT_DURATION] = {"agent_duration", 0, ""},
    [SP_ST_CHECK_DESC] = {"check_desc", T_STR, "MOP"},
    [SP_ST_AGENT_DESC] = {"agent_desc", 0, ""},
    [SP_ST_CHECK_RISE] = {"check_rise", T_U32, "CGS"},
    [SP_ST_CHECK_FALL] = {"check_fall", T_U32, "CGS"},
    [SP_ST_CHECK_HEALTH] = {"check_health", T_U32, "CGS"},
    [SP_ST_AGENT_RISE] = {"agent_rise", 0, ""},
    [SP_ST_AGENT_FALL] = {"agent_fall", 0, ""},
    [SP_ST_AGENT_HEALTH] = {"agent_health", 0, ""},
    [SP_ST_ADDR] = {"addr", T_STR, "CGS"},
    [SP_ST_COOKIE] = {"cookie", 0, ""},
    [SP_ST_MODE] = {"mode", T_STR, "CGS"},
    [SP_ST_ALGO] = {"algo", T_STR, "CGS"},
    [SP_ST_CONN_RATE] = {"conn_rate", T_U32, "MRP"},
    [SP_ST_CONN_RATE_MAX] = {"conn_rate_max", T_U32, "MMP"},
    [SP_ST_CONN_TOT] = {"conn_tot", T_U64, "MCP"},
    [SP_ST_INTERCEPTED] = {"intercepted", 0, ""},
    [SP_ST_DCON] = {"dcon", T_U64, "MCP"},
    [SP_ST_DSES] = {"dses", T_U64, "MCP"},
    [SP_ST_WREW] = {"wrew", 0, ""},
    [SP_ST_CONNECT] = {"connect", T_U64, "MCP"},
    [SP_ST_REUSE] = {"reuse", T_U64, "MCP"},
    [SP_ST_CACHE_LOOKUPS] = {"cache_lookups", 0, ""},
    [SP_ST_CACHE_HITS] = {"cache_hits", 0, ""},
    [SP_ST_SRV_ICUR] = {"srv_icur", 0, ""},
    [SP_ST_SRC_ILIM] = {"src_ilim", 0, ""}, /* sic: HAProxy's wire spelling */
    [SP_ST_QTIME_MAX] = {"qtime_max", T_U32, "MMP"},
    [SP_ST_CTIME_MAX] = {"ctime_max", T_U32, "MMP"},
    [SP_ST_RTIME_MAX] = {"rtime_max", T_U32, "MMP"},
    [SP_ST_TTIME_MAX] = {"ttime_max", T_U32, "MMP"},
    [SP_ST_EINT] = {"eint", T_U64, "MCP"},
    [SP_ST_IDLE_CONN_CUR] = {"idle_conn_cur", 0, ""},
    [SP_ST_SAFE_CONN_CUR] = {"safe_conn_cur", 0, ""},
    [SP_ST_USED_CONN_CUR] = {"used_conn_cur", 0, ""},
    [SP_ST_NEED_CONN_EST] = {"need_conn_est", 0, ""},
    [SP_ST_UWEIGHT] = {"uweight", T_U32, "MaP"},
    [SP_ST_AGG_SERVER_STATUS] = {"agg_server_status", 0, ""},
    [SP_ST_AGG_SERVER_CHECK_STATUS] = {"agg_server_check_status", 0, ""},
    [SP_ST_AGG_CHECK_STATUS] = {"agg_check_status", 0, ""},
    [SP_ST_SRID] = {"srid", 0, ""},
    [SP_ST_SESS_OTHER] = {"sess_other", T_U64, "MCP"},
    [SP_ST_H1SESS] = {"h1sess", T_U64, "MCP"},
    [SP_ST_H2SESS] = {"h2sess", T_U64, "MCP"},
    [SP_ST_H3SESS] = {"h3sess", T_U64, "MCP"},
    [SP_ST_REQ_OTHER] = {"req_other", T_U64, "MCP"},
    [SP_ST_H1REQ] = {"h1req", T_U64, "MCP"},
    [SP_ST_H2REQ] = {"h2req", T_U64, "MCP"},
    [SP_ST_H3REQ] = {"h3req", T_U64, "MCP"},
    [SP_ST_PROTO] = {"proto", 0, ""},
};

const char *sp_stats_col_name(unsigned col)
{
    return col < SP_STATS_NCOLS ? cols[col].name : NULL;
}

enum vkind { V_EMPTY = 0, V_INT, V_STR };

struct fval {
    enum vkind kind;
    int64_t i;
    const char *s;
    const char *pre; /* V_STR: printed before s (the "* " of a check in flight), or NULL */
};

static struct fval vint(int64_t i)
{
    return (struct fval){.kind = V_INT, .i = i};
}

static struct fval vstr(const char *s)
{
    return (struct fval){.kind = V_STR, .s = s ? s : ""};
}

static const struct fval vempty;

static bool row_http(const struct sp_stats_row *r)
{
    return !r->mode || strcmp(r->mode, "http") == 0;
}

static int64_t row_scur(const struct sp_stats_row *r)
{
    return r->scur_set ? r->scur : r->obj.cur;
}

/* Averages and maxima are microseconds in the histograms; HAProxy prints milliseconds,
 * rounded to the nearest. */
static int64_t hist_avg_us(const struct sp_hist *h)
{
    if (!h->count)
        return 0;
    return (int64_t)((h->sum_us + h->count / 2) / h->count);
}

static int64_t us_to_ms(int64_t us)
{
    return (us + 500) / 1000;
}

/* Seconds since the last stream, -1 when there was none (HAProxy's convention). */
static int64_t row_lastsess(const struct sp_stats_row *r)
{
    if (r->obj.lastsess <= 0)
        return -1;
    uint64_t last = (uint64_t)r->obj.lastsess;
    return r->now_ms > last ? (int64_t)((r->now_ms - last) / 1000) : 0;
}

/* Whether the check_* columns exist: a check enabled and not paused by maintenance. */
static bool chk_shown(const struct sp_stats_row *r)
{
    return r->type == SP_STATS_TYPE_SRV &&
           (r->chk & (SP_STATS_CHK_ENABLED | SP_STATS_CHK_PAUSED)) == SP_STATS_CHK_ENABLED;
}

/* Whether chkfail, chkdown and downtime exist: a check enabled, paused or not. */
static bool chk_counted(const struct sp_stats_row *r)
{
    return r->type == SP_STATS_TYPE_SRV && (r->chk & SP_STATS_CHK_ENABLED);
}

#define FE  (1u << SP_STATS_TYPE_FE)
#define BE  (1u << SP_STATS_TYPE_BE)
#define SRV (1u << SP_STATS_TYPE_SRV)

/* A listener row (`option socket-stats`): the columns HAProxy 2.6's stats_fill_li_stats()
 * fills, less wrew and eint (not counted per listener) and addr (HAProxy shows it only with
 * `stats show-legends`). */
static struct fval li_field(const struct sp_stats_row *r, unsigned c)
{
    const struct sp_stats_obj *o = &r->obj;

    switch (c) {
    case SP_ST_PXNAME:
        return vstr(r->pxname);
    case SP_ST_SVNAME:
        return vstr(r->svname);
    case SP_ST_MODE:
        return vstr(r->mode ? r->mode : "http");
    case SP_ST_SCUR:
        return vint(o->cur);
    case SP_ST_SMAX:
        return vint(o->max);
    case SP_ST_SLIM:
        return vint(r->slim); /* the bind's maxconn, 0 when it has none (as HAProxy prints) */
    case SP_ST_STOT:
        return vint(o->stot);
    case SP_ST_BIN:
        return vint(o->bin);
    case SP_ST_BOUT:
        return vint(o->bout);
    case SP_ST_DREQ:
        return vint(o->dreq);
    case SP_ST_DRESP:
        return vint(o->dresp);
    case SP_ST_EREQ:
        return vint(o->ereq);
    case SP_ST_DCON:
        return vint(o->dcon);
    case SP_ST_DSES:
        return vint(o->dses);
    case SP_ST_STATUS:
        return vstr(r->status);
    case SP_ST_PID:
        return vint(r->pid);
    case SP_ST_IID:
        return vint(r->iid);
    case SP_ST_SID:
        return vint(r->sid);
    case SP_ST_TYPE:
        return vint(r->type);
    default:
        return vempty;
    }
}

/* What column `c` holds for row `r`; V_EMPTY where HAProxy leaves the field empty for this row
 * type or spillway does not measure it. */
static struct fval field(const struct sp_stats_row *r, unsigned c)
{
    const struct sp_stats_obj *o = &r->obj;
    unsigned t = r->type >= 0 && r->type <= SP_STATS_TYPE_SRV ? 1u << r->type : 0;
    bool http = row_http(r);

    if (r->type == SP_STATS_TYPE_LI)
        return li_field(r, c);
    if (!t)
        return vempty;
    switch (c) {
    case SP_ST_PXNAME:
        return vstr(r->pxname);
    case SP_ST_SVNAME:
        if (r->svname)
            return vstr(r->svname);
        return vstr(t == FE ? "FRONTEND" : t == BE ? "BACKEND" : "");
    case SP_ST_QCUR:
        return t & (BE | SRV) ? vint(o->qcur) : vempty;
    case SP_ST_QMAX:
        return t & (BE | SRV) ? vint(o->qmax) : vempty;
    case SP_ST_SCUR:
        return vint(row_scur(r));
    case SP_ST_SMAX:
        return vint(o->max);
    case SP_ST_SLIM:
        return t == SRV && r->slim <= 0 ? vempty : vint(r->slim);
    case SP_ST_STOT:
        return vint(o->stot);
    case SP_ST_BIN:
        return vint(o->bin);
    case SP_ST_BOUT:
        return vint(o->bout);
    case SP_ST_DREQ:
        return t & (FE | BE) ? vint(o->dreq) : vempty;
    case SP_ST_DRESP:
        return vint(o->dresp);
    case SP_ST_EREQ:
        return t == FE ? vint(o->ereq) : vempty;
    case SP_ST_ECON:
        return t & (BE | SRV) ? vint(o->econ) : vempty;
    case SP_ST_ERESP:
        return t & (BE | SRV) ? vint(o->eresp) : vempty;
    case SP_ST_WRETR:
        return t & (BE | SRV) ? vint(o->wretr) : vempty;
    case SP_ST_WREDIS:
        return t & (BE | SRV) ? vint(o->wredis) : vempty;
    case SP_ST_STATUS:
        return vstr(r->status);
    case SP_ST_WEIGHT:
        return t & (BE | SRV) ? vint(r->weight) : vempty;
    case SP_ST_UWEIGHT:
        return t & (BE | SRV) ? vint(r->uweight) : vempty;
    case SP_ST_ACT:
        return t & (BE | SRV) ? vint(r->act) : vempty;
    case SP_ST_BCK:
        return t & (BE | SRV) ? vint(r->bck) : vempty;
    case SP_ST_LASTCHG:
        return t & (BE | SRV) ? vint(r->lastchg) : vempty;
    /* a backend's chkdown and downtime: see struct sp_stats_row */
    case SP_ST_CHKFAIL:
        return chk_counted(r) ? vint(r->chkfail) : vempty;
    case SP_ST_CHKDOWN:
        return chk_counted(r) || r->type == SP_STATS_TYPE_BE ? vint(r->chkdown) : vempty;
    case SP_ST_DOWNTIME:
        return chk_counted(r) || r->type == SP_STATS_TYPE_BE ? vint(r->downtime) : vempty;
    case SP_ST_CHECK_STATUS: {
        if (!chk_shown(r))
            return vempty;
        struct fval v = vstr(r->check_status);
        if (r->chk & SP_STATS_CHK_RUNNING)
            v.pre = "* ";
        return v;
    }
    case SP_ST_CHECK_CODE:
        return chk_shown(r) && r->check_code >= 0 ? vint(r->check_code) : vempty;
    case SP_ST_CHECK_DURATION:
        return chk_shown(r) && r->check_duration >= 0 ? vint(r->check_duration) : vempty;
    case SP_ST_LAST_CHK:
        return chk_shown(r) ? vstr(r->last_chk) : vempty;
    case SP_ST_CHECK_DESC:
        return chk_shown(r) ? vstr(r->check_desc) : vempty;
    case SP_ST_CHECK_RISE:
        return chk_shown(r) ? vint(r->check_rise) : vempty;
    case SP_ST_CHECK_FALL:
        return chk_shown(r) ? vint(r->check_fall) : vempty;
    case SP_ST_CHECK_HEALTH:
        return chk_shown(r) ? vint(r->check_health) : vempty;
    case SP_ST_QLIMIT:
        return t == SRV && r->qlimit > 0 ? vint(r->qlimit) : vempty;
    case SP_ST_PID:
        return vint(r->pid);
    case SP_ST_IID:
        return vint(r->iid);
    case SP_ST_SID:
        return vint(t == SRV ? r->sid : 0);
    case SP_ST_LBTOT:
        return t & (BE | SRV) ? vint(o->lbtot) : vempty;
    case SP_ST_TYPE:
        return vint(r->type);
    case SP_ST_RATE:
        return vint((int64_t)o->rate.cur);
    case SP_ST_RATE_LIM:
        return t == FE ? vint(0) : vempty; /* no session rate limit */
    case SP_ST_RATE_MAX:
        return vint((int64_t)o->rate.max);
    case SP_ST_HRSP_1XX:
    case SP_ST_HRSP_2XX:
    case SP_ST_HRSP_3XX:
    case SP_ST_HRSP_4XX:
    case SP_ST_HRSP_5XX:
    case SP_ST_HRSP_OTHER:
        return http ? vint(o->hrsp[c - SP_ST_HRSP_1XX]) : vempty;
    case SP_ST_REQ_RATE:
        return t == FE ? vint((int64_t)o->req_rate.cur) : vempty;
    case SP_ST_REQ_RATE_MAX:
        return t == FE ? vint((int64_t)o->req_rate.max) : vempty;
    case SP_ST_REQ_TOT:
        return http ? vint(o->req_tot) : vempty;
    case SP_ST_CLI_ABRT:
        return t & (BE | SRV) ? vint(o->cli_abrt) : vempty;
    case SP_ST_SRV_ABRT:
        return t & (BE | SRV) ? vint(o->srv_abrt) : vempty;
    case SP_ST_COMP_IN:
        return t & (FE | BE) ? vint(o->comp_in) : vempty;
    case SP_ST_COMP_OUT:
        return t & (FE | BE) ? vint(o->comp_out) : vempty;
    case SP_ST_COMP_BYP:
        return t & (FE | BE) ? vint(o->comp_byp) : vempty;
    case SP_ST_COMP_RSP:
        return t & (FE | BE) ? vint(o->comp_rsp) : vempty;
    case SP_ST_LASTSESS:
        return t & (BE | SRV) ? vint(row_lastsess(r)) : vempty;
    case SP_ST_QTIME:
    case SP_ST_CTIME:
    case SP_ST_RTIME:
    case SP_ST_TTIME:
        if (!(t & (BE | SRV)))
            return vempty;
        return vint(us_to_ms(hist_avg_us(&o->hist[c - SP_ST_QTIME])));
    case SP_ST_ADDR:
        return t == SRV && r->addr ? vstr(r->addr) : vempty;
    case SP_ST_MODE:
        return vstr(r->mode ? r->mode : "http");
    case SP_ST_ALGO:
        return t == BE && r->algo ? vstr(r->algo) : vempty;
    case SP_ST_CONN_RATE:
        return t == FE ? vint((int64_t)o->conn_rate.cur) : vempty;
    case SP_ST_CONN_RATE_MAX:
        return t == FE ? vint((int64_t)o->conn_rate.max) : vempty;
    case SP_ST_CONN_TOT:
        /* accepted connections, before any rule (HAProxy's cum_conn) */
        return t == FE ? vint(o->ctot) : vempty;
    case SP_ST_DCON:
        return t == FE ? vint(o->dcon) : vempty;
    case SP_ST_DSES:
        return t == FE ? vint(o->dses) : vempty;
    case SP_ST_CONNECT:
        return t & (BE | SRV) ? vint(o->connect) : vempty;
    case SP_ST_REUSE:
        return t & (BE | SRV) ? vint(o->reuse) : vempty;
    case SP_ST_QTIME_MAX:
    case SP_ST_CTIME_MAX:
    case SP_ST_RTIME_MAX:
    case SP_ST_TTIME_MAX:
        if (!(t & (BE | SRV)))
            return vempty;
        return vint(us_to_ms((int64_t)o->hist[c - SP_ST_QTIME_MAX].max_us));
    case SP_ST_EINT:
        return vint(o->eint);
    case SP_ST_H1SESS:
        return t == FE ? vint(o->h1sess) : vempty;
    case SP_ST_H2SESS:
        return t == FE ? vint(o->h2sess) : vempty;
    case SP_ST_H1REQ:
        return t == FE ? vint(o->h1req) : vempty;
    case SP_ST_H2REQ:
        return t == FE ? vint(o->h2req) : vempty;
    case SP_ST_SESS_OTHER:
    case SP_ST_H3SESS:
    case SP_ST_REQ_OTHER:
    case SP_ST_H3REQ:
        return t == FE ? vint(0) : vempty; /* spillway speaks HTTP/1 and HTTP/2 only */
    default:
        return vempty;
    }
}

/* HAProxy's unsigned fields never print negative; a u32 field saturates. A sum over workers
 * read without a lock can be transiently negative (a decrement seen before its increment). */
static int64_t clamp(int64_t v, uint8_t type)
{
    if (type == T_U32 || type == T_U64) {
        if (v < 0)
            return 0;
        if (type == T_U32 && v > (int64_t)UINT32_MAX)
            return UINT32_MAX;
    } else if (type == T_S32) {
        if (v > INT32_MAX)
            return INT32_MAX;
        if (v < INT32_MIN)
            return INT32_MIN;
    }
    return v;
}

/* CSV quoting: only a value holding ',' or '"' (or a line break) is quoted, '"' doubled. The
 * value is `pre` (may be NULL) followed by `s`. */
static void put_csv2(struct sp_strbuf *b, const char *pre, const char *s)
{
    const char *part[2] = {pre ? pre : "", s};

    if (!strpbrk(part[0], ",\"\r\n") && !strpbrk(part[1], ",\"\r\n")) {
        sp_strbuf_puts(b, part[0]);
        sp_strbuf_puts(b, part[1]);
        return;
    }
    sp_strbuf_putc(b, '"');
    for (int i = 0; i < 2; i++)
        for (const char *p = part[i]; *p; p++) {
            if (*p == '"')
                sp_strbuf_putc(b, '"');
            sp_strbuf_putc(b, *p);
        }
    sp_strbuf_putc(b, '"');
}

int sp_stats_csv_header(struct sp_strbuf *b)
{
    sp_strbuf_puts(b, "# ");
    for (unsigned c = 0; c < SP_STATS_NCOLS; c++) {
        sp_strbuf_puts(b, cols[c].name);
        sp_strbuf_putc(b, ',');
    }
    sp_strbuf_putc(b, '\n');
    return done(b);
}

int sp_stats_csv_row(struct sp_strbuf *b, const struct sp_stats_row *r)
{
    for (unsigned c = 0; c < SP_STATS_NCOLS; c++) {
        struct fval v = field(r, c);
        if (v.kind == V_INT)
            sp_strbuf_printf(b, "%" PRId64, clamp(v.i, cols[c].type));
        else if (v.kind == V_STR)
            put_csv2(b, v.pre, v.s);
        sp_strbuf_putc(b, ',');
    }
    sp_strbuf_putc(b, '\n');
    return done(b);
}

int sp_stats_typed_row(struct sp_strbuf *b, const struct sp_stats_row *r)
{
    static const char letter[] = {'F', 'B', 'S', 'L'};
    static const char *const tname[] = {
        [T_U32] = "u32", [T_U64] = "u64", [T_S32] = "s32", [T_STR] = "str"};

    if (r->type < SP_STATS_TYPE_FE || r->type > SP_STATS_TYPE_LI)
        return done(b);
    uint32_t sid = r->type == SP_STATS_TYPE_SRV || r->type == SP_STATS_TYPE_LI ? r->sid : 0;
    for (unsigned c = 0; c < SP_STATS_NCOLS; c++) {
        struct fval v = field(r, c);
        if (v.kind == V_EMPTY || !cols[c].type)
            continue;
        const char *tags = cols[c].tags;
        if (r->type == SP_STATS_TYPE_SRV && (c == SP_ST_ACT || c == SP_ST_BCK))
            tags = "SGP"; /* a server's role is a status, a backend's count a gauge */
        sp_strbuf_printf(b, "%c.%" PRIu32 ".%" PRIu32 ".%u.%s.%" PRIu32 ":%s:%s:", letter[r->type],
                         r->iid, sid, c, cols[c].name, r->pid, tags, tname[cols[c].type]);
        if (v.kind == V_INT)
            sp_strbuf_printf(b, "%" PRId64, clamp(v.i, cols[c].type));
        else
            put_csv2(b, v.pre, v.s); /* keeps one field per line whatever the name holds */
        sp_strbuf_putc(b, '\n');
    }
    return done(b);
}

/* ---- Prometheus ---- */

/* 0.5 ms .. 60 s; the fine buckets are at most 25% wide, so coarser steps lose little. */
const uint64_t sp_stats_prom_le[] = {500,     1000,     2500,     5000,    10000,   25000,
                                     50000,   100000,   250000,   500000,  1000000, 2500000,
                                     5000000, 10000000, 30000000, 60000000};
const unsigned sp_stats_prom_nle = SP_ARRAY_SIZE(sp_stats_prom_le);

enum psrc {
    P_COL,     /* the integer of CSV column `arg` (absent where the CSV field is empty) */
    P_AVG,     /* histogram `arg`: average, seconds */
    P_MAX,     /* histogram `arg`: maximum, seconds */
    P_HIST,    /* histogram `arg`: buckets, sum, count */
    P_CODES,   /* hrsp_* with code="1xx".."other" */
    P_STATUS,  /* one-hot state="UP"... */
    P_CHKSTS,  /* servers: one-hot state="L4OK"... of the last check (check columns shown) */
    P_CHKCODE, /* servers: check_code, 0 when the status has none (check columns shown) */
    P_CHKDUR,  /* servers: check_duration in seconds, whenever a check has finished */
    P_COMP,    /* as P_COL, for http proxies only (HAProxy's promex skips the others) */
};

enum ptype { P_GAUGE, P_COUNTER, P_HISTOGRAM };

struct pfam {
    const char *name; /* after "haproxy_<scope>_" */
    const char *help;
    uint8_t mask; /* FE | BE | SRV */
    uint8_t src;  /* enum psrc */
    uint8_t type; /* enum ptype */
    uint8_t arg;
};

#define HIST_HELP(what)                                                                            \
    what " (seconds). Spillway's own histogram: a time is counted under the smallest le at "       \
         "or above the upper bound of its internal bucket (at most 25% wide), so a bucket "        \
         "never holds a time above its le."

/* HAProxy's exporter names (HAPROXY-BEHAVIOUR.md 7.3), in its order, then the histograms. */
static const struct pfam pfams[] = {
    {"current_queue", "Current number of queued requests.", BE | SRV, P_COL, P_GAUGE, SP_ST_QCUR},
    {"max_queue", "Maximum observed number of queued requests.", BE | SRV, P_COL, P_GAUGE,
     SP_ST_QMAX},
    {"current_sessions", "Current number of active sessions.", FE | BE | SRV, P_COL, P_GAUGE,
     SP_ST_SCUR},
    {"max_sessions", "Maximum observed number of active sessions.", FE | BE | SRV, P_COL, P_GAUGE,
     SP_ST_SMAX},
    {"limit_sessions", "Configured session limit.", FE | BE | SRV, P_COL, P_GAUGE, SP_ST_SLIM},
    {"sessions_total", "Total number of sessions.", FE | BE | SRV, P_COL, P_COUNTER, SP_ST_STOT},
    {"bytes_in_total", "Current total of incoming bytes.", FE | BE | SRV, P_COL, P_COUNTER,
     SP_ST_BIN},
    {"bytes_out_total", "Current total of outgoing bytes.", FE | BE | SRV, P_COL, P_COUNTER,
     SP_ST_BOUT},
    {"requests_denied_total", "Total number of denied requests.", FE | BE, P_COL, P_COUNTER,
     SP_ST_DREQ},
    {"responses_denied_total", "Total number of denied responses.", FE | BE | SRV, P_COL, P_COUNTER,
     SP_ST_DRESP},
    {"request_errors_total", "Total number of request errors.", FE, P_COL, P_COUNTER, SP_ST_EREQ},
    {"connection_errors_total", "Total number of connection errors.", BE | SRV, P_COL, P_COUNTER,
     SP_ST_ECON},
    {"response_errors_total", "Total number of response errors.", BE | SRV, P_COL, P_COUNTER,
     SP_ST_ERESP},
    {"retry_warnings_total", "Total number of retry warnings.", BE | SRV, P_COL, P_COUNTER,
     SP_ST_WRETR},
    {"redispatch_warnings_total", "Total number of redispatch warnings.", BE | SRV, P_COL,
     P_COUNTER, SP_ST_WREDIS},
    {"status", "Current status of the service (one-hot by state).", FE | BE | SRV, P_STATUS,
     P_GAUGE, 0},
    {"weight", "Service weight.", BE | SRV, P_COL, P_GAUGE, SP_ST_WEIGHT},
    {"active_servers", "Current number of active servers.", BE, P_COL, P_GAUGE, SP_ST_ACT},
    {"backup_servers", "Current number of backup servers.", BE, P_COL, P_GAUGE, SP_ST_BCK},
    {"check_failures_total",
     "Total number of failed individual health checks per server/backend, since the worker "
     "process started",
     SRV, P_COL, P_COUNTER, SP_ST_CHKFAIL},
    {"check_up_down_total",
     "Total number of failed checks causing UP to DOWN server transitions, per server/backend, "
     "since the worker process started",
     BE | SRV, P_COL, P_COUNTER, SP_ST_CHKDOWN},
    {"check_last_change_seconds", "Number of seconds since the last UP<->DOWN transition.",
     BE | SRV, P_COL, P_GAUGE, SP_ST_LASTCHG},
    {"downtime_seconds_total", "Total time spent in DOWN state, for server or backend", BE | SRV,
     P_COL, P_COUNTER, SP_ST_DOWNTIME},
    {"queue_limit", "Configured maxqueue for the server.", SRV, P_COL, P_GAUGE, SP_ST_QLIMIT},
    {"loadbalanced_total", "Total number of times a service was selected.", BE | SRV, P_COL,
     P_COUNTER, SP_ST_LBTOT},
    {"current_session_rate", "Current number of sessions per second over last elapsed second.",
     FE | BE | SRV, P_COL, P_GAUGE, SP_ST_RATE},
    {"max_session_rate", "Maximum observed number of sessions per second.", FE | BE | SRV, P_COL,
     P_GAUGE, SP_ST_RATE_MAX},
    {"limit_session_rate", "Configured limit on new sessions per second (0: none).", FE, P_COL,
     P_GAUGE, SP_ST_RATE_LIM},
    {"check_status", "Status of last health check, per state label value.", SRV, P_CHKSTS, P_GAUGE,
     0},
    {"check_code", "layer5-7 code, if available of the last health check.", SRV, P_CHKCODE, P_GAUGE,
     0},
    {"check_duration_seconds", "Total duration of the latest server health check, in seconds.", SRV,
     P_CHKDUR, P_GAUGE, 0},
    {"http_requests_rate_max", "Maximum observed number of HTTP requests per second.", FE, P_COL,
     P_GAUGE, SP_ST_REQ_RATE_MAX},
    {"http_requests_total", "Total number of HTTP requests received.", FE | BE | SRV, P_COL,
     P_COUNTER, SP_ST_REQ_TOT},
    {"http_responses_total", "Total number of HTTP responses.", FE | BE | SRV, P_CODES, P_COUNTER,
     0},
    {"client_aborts_total", "Total number of data transfers aborted by the client.", BE | SRV,
     P_COL, P_COUNTER, SP_ST_CLI_ABRT},
    {"server_aborts_total", "Total number of data transfers aborted by the server.", BE | SRV,
     P_COL, P_COUNTER, SP_ST_SRV_ABRT},
    /* HAProxy's promex takes these helps from its stat fields' descriptions */
    {"http_comp_bytes_in_total",
     "Total number of bytes submitted to the HTTP compressor for this object since the worker "
     "process started",
     FE | BE, P_COMP, P_COUNTER, SP_ST_COMP_IN},
    {"http_comp_bytes_out_total",
     "Total number of bytes emitted by the HTTP compressor for this object since the worker "
     "process started",
     FE | BE, P_COMP, P_COUNTER, SP_ST_COMP_OUT},
    {"http_comp_bytes_bypassed_total",
     "Total number of bytes that bypassed HTTP compression for this object since the worker "
     "process started (CPU/memory/bandwidth limitation)",
     FE | BE, P_COMP, P_COUNTER, SP_ST_COMP_BYP},
    {"http_comp_responses_total",
     "Total number of HTTP responses that were compressed for this object since the worker "
     "process started",
     FE | BE, P_COMP, P_COUNTER, SP_ST_COMP_RSP},
    {"last_session_seconds", "Number of seconds since last session assigned (-1: never).", BE | SRV,
     P_COL, P_GAUGE, SP_ST_LASTSESS},
    {"queue_time_average_seconds", "Average queue time (seconds).", BE | SRV, P_AVG, P_GAUGE,
     SP_HIST_QUEUE},
    {"connect_time_average_seconds", "Average connect time (seconds).", BE | SRV, P_AVG, P_GAUGE,
     SP_HIST_CONNECT},
    {"response_time_average_seconds", "Average response time (seconds).", BE | SRV, P_AVG, P_GAUGE,
     SP_HIST_RESPONSE},
    {"total_time_average_seconds", "Average total time (seconds).", BE | SRV, P_AVG, P_GAUGE,
     SP_HIST_TOTAL},
    {"max_queue_time_seconds", "Maximum observed time spent in the queue (seconds).", BE | SRV,
     P_MAX, P_GAUGE, SP_HIST_QUEUE},
    {"max_connect_time_seconds",
     "Maximum observed waiting time for a connection to complete "
     "(seconds).",
     BE | SRV, P_MAX, P_GAUGE, SP_HIST_CONNECT},
    {"max_response_time_seconds", "Maximum observed response time (seconds).", BE | SRV, P_MAX,
     P_GAUGE, SP_HIST_RESPONSE},
    {"max_total_time_seconds", "Maximum observed total request+response time (seconds).", BE | SRV,
     P_MAX, P_GAUGE, SP_HIST_TOTAL},
    {"connections_rate_max", "Maximum observed number of connections per second.", FE, P_COL,
     P_GAUGE, SP_ST_CONN_RATE_MAX},
    {"connections_total", "Total number of connections.", FE, P_COL, P_COUNTER, SP_ST_CONN_TOT},
    {"denied_connections_total",
     "Total number of incoming connections blocked on a listener/frontend by a tcp-request "
     "connection rule.",
     FE, P_COL, P_COUNTER, SP_ST_DCON},
    {"connection_attempts_total", "Total number of connection establishment attempts.", BE | SRV,
     P_COL, P_COUNTER, SP_ST_CONNECT},
    {"connection_reuses_total", "Total number of connection reuses.", BE | SRV, P_COL, P_COUNTER,
     SP_ST_REUSE},
    {"internal_errors_total", "Total number of internal errors.", FE | BE | SRV, P_COL, P_COUNTER,
     SP_ST_EINT},
    {"uweight", "Server's user weight, or sum of active servers' user weights for a backend",
     BE | SRV, P_COL, P_GAUGE, SP_ST_UWEIGHT},
    {"queue_time_seconds", HIST_HELP("Time spent in the queue"), BE | SRV, P_HIST, P_HISTOGRAM,
     SP_HIST_QUEUE},
    {"connect_time_seconds",
     HIST_HELP("Time to connect to the server, 0 on a reused "
               "connection"),
     BE | SRV, P_HIST, P_HISTOGRAM, SP_HIST_CONNECT},
    {"response_time_seconds", HIST_HELP("Time from the request sent to the response headers"),
     BE | SRV, P_HIST, P_HISTOGRAM, SP_HIST_RESPONSE},
    {"total_time_seconds",
     HIST_HELP("Time from the request's first byte to the response's "
               "last byte"),
     BE | SRV, P_HIST, P_HISTOGRAM, SP_HIST_TOTAL},
};

static const char *const ptype_name[] = {"gauge", "counter", "histogram"};

/* A label value: backslash, double quote and line feed escaped (exposition format 0.0.4). */
static void put_label_value(struct sp_strbuf *b, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        if (*p == '\\')
            sp_strbuf_puts(b, "\\\\");
        else if (*p == '"')
            sp_strbuf_puts(b, "\\\"");
        else if (*p == '\n')
            sp_strbuf_puts(b, "\\n");
        else
            sp_strbuf_putc(b, *p);
    }
}

/* Microseconds as exact decimal seconds: 1500 -> "0.0015", 2000000 -> "2". */
static void put_us_seconds(struct sp_strbuf *b, uint64_t us)
{
    uint64_t frac = us % 1000000;
    if (!frac) {
        sp_strbuf_printf(b, "%" PRIu64, us / 1000000);
        return;
    }
    int digits = 6;
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    sp_strbuf_printf(b, "%" PRIu64 ".%0*" PRIu64, us / 1000000, digits, frac);
}

/* Starts a sample: name, suffix, then {proxy=..[,server=..][,<extra>="<val>"]}, then ' '. */
static void put_sample(struct sp_strbuf *b, const char *scope, const char *name, const char *suffix,
                       const struct sp_stats_row *r, const char *extra, const char *extra_val)
{
    sp_strbuf_printf(b, "haproxy_%s_%s%s", scope, name, suffix);
    if (r) {
        sp_strbuf_puts(b, "{proxy=\"");
        put_label_value(b, r->pxname);
        if (r->type == SP_STATS_TYPE_SRV) {
            sp_strbuf_puts(b, "\",server=\"");
            put_label_value(b, r->svname);
        }
        sp_strbuf_putc(b, '"');
    }
    if (extra) {
        sp_strbuf_puts(b, r ? "," : "{");
        sp_strbuf_printf(b, "%s=\"", extra);
        put_label_value(b, extra_val);
        sp_strbuf_putc(b, '"');
    }
    if (r || extra)
        sp_strbuf_putc(b, '}');
    sp_strbuf_putc(b, ' ');
}

static void put_head(struct sp_strbuf *b, const char *scope, const char *name, const char *help,
                     enum ptype type)
{
    sp_strbuf_printf(b, "# HELP haproxy_%s_%s %s\n", scope, name, help);
    sp_strbuf_printf(b, "# TYPE haproxy_%s_%s %s\n", scope, name, ptype_name[type]);
}

/* In HAProxy 2.6's order (promex_front_st, promex_back_st, promex_srv_st). */
static const char *const fe_states[] = {"DOWN", "UP"};
static const char *const srv_states[] = {"DOWN", "UP", "MAINT", "DRAIN", "NOLB"};

/* haproxy_server_check_status: every check status whose result is failed, passed or
 * conditionally passed, in HAProxy 2.6's order (src/check.c check_statuses[]; promex skips
 * the others). A check in flight keeps the status of the last finished one. */
static const char *const chk_states[] = {
    "HANA",   "SOCKERR", "L4OK", "L4TOUT", "L4CON", "L6OK",    "L6TOUT",   "L6RSP",
    "L7TOUT", "L7RSP",   "L7OK", "L7OKC",  "L7STS", "PROCERR", "PROCTOUT", "PROCOK",
};

static bool prefix(const char *s, const char *p)
{
    return strncmp(s, p, strlen(p)) == 0;
}

/* The one-hot state of a row: HAProxy's exporter maps a stopped frontend to DOWN, a backend
 * not UP to DOWN, and a server by its state (promex_srv_status(): maintenance first, then
 * RUNNING as UP or DRAIN, STOPPING as NOLB, STOPPED as DOWN), which the status text carries:
 * "UP 1/3" and "no check" are UP, "DOWN 1/2" is DOWN, "DRAIN 1/3" is DRAIN. Unknown strings
 * read as DOWN. */
static const char *row_state(const struct sp_stats_row *r)
{
    const char *s = r->status ? r->status : "";
    switch (r->type) {
    case SP_STATS_TYPE_FE:
        return prefix(s, "STOP") ? "DOWN" : "UP";
    case SP_STATS_TYPE_BE:
        return prefix(s, "UP") ? "UP" : "DOWN";
    default:
        if (prefix(s, "UP") || prefix(s, "no check"))
            return "UP";
        if (prefix(s, "MAINT"))
            return "MAINT";
        if (prefix(s, "DRAIN"))
            return "DRAIN";
        if (prefix(s, "NOLB"))
            return "NOLB";
        return "DOWN";
    }
}

static void put_hist(struct sp_strbuf *b, const char *scope, const char *name,
                     const struct sp_stats_row *r, const struct sp_hist *h)
{
    uint64_t n[SP_ARRAY_SIZE(sp_stats_prom_le) + 1] = {0};
    unsigned nle = sp_stats_prom_nle;

    for (unsigned i = 0, l = 0; i < SP_HIST_BUCKETS; i++) {
        uint64_t le = sp_hist_bucket_le(i);
        while (l < nle && sp_stats_prom_le[l] < le)
            l++; /* bucket bounds grow with i: the ladder index never goes back */
        n[l] += h->b[i];
    }
    /* +Inf and _count both come from the buckets: a lock-free read may see a bucket and
     * `count` a few events apart, and the two must agree. */
    uint64_t cum = 0;
    for (unsigned l = 0; l <= nle; l++) {
        cum += n[l];
        sp_strbuf_printf(b, "haproxy_%s_%s_bucket{proxy=\"", scope, name);
        put_label_value(b, r->pxname);
        if (r->type == SP_STATS_TYPE_SRV) {
            sp_strbuf_puts(b, "\",server=\"");
            put_label_value(b, r->svname);
        }
        sp_strbuf_puts(b, "\",le=\"");
        if (l < nle)
            put_us_seconds(b, sp_stats_prom_le[l]);
        else
            sp_strbuf_puts(b, "+Inf");
        sp_strbuf_printf(b, "\"} %" PRIu64 "\n", cum);
    }
    put_sample(b, scope, name, "_sum", r, NULL, NULL);
    put_us_seconds(b, h->sum_us);
    sp_strbuf_putc(b, '\n');
    put_sample(b, scope, name, "_count", r, NULL, NULL);
    sp_strbuf_printf(b, "%" PRIu64 "\n", cum);
}

/* One family over the rows of one type; the head only if a sample follows. */
static void put_family(struct sp_strbuf *b, const struct pfam *f, int type, const char *scope,
                       const struct sp_stats_row *rows, size_t n)
{
    static const char *const codes[] = {"1xx", "2xx", "3xx", "4xx", "5xx", "other"};
    bool head = false;

    for (size_t i = 0; i < n; i++) {
        const struct sp_stats_row *r = &rows[i];
        const struct sp_hist *h = &r->obj.hist[f->arg % SP_HIST_KINDS];
        if (r->type != type)
            continue;
        bool col = f->src == P_COL || f->src == P_COMP;
        struct fval v = col ? field(r, f->arg) : vint(0);
        if (col && v.kind != V_INT)
            continue;
        if (f->src == P_COMP && !row_http(r))
            continue;
        if (f->src == P_CODES && !row_http(r))
            continue;
        if ((f->src == P_CHKSTS || f->src == P_CHKCODE) && !chk_shown(r))
            continue;
        if (f->src == P_CHKDUR && r->check_duration < 0)
            continue; /* HAProxy: any status from CHECKED up, even with the check disabled */
        if (!head) {
            put_head(b, scope, f->name, f->help, f->type);
            head = true;
        }
        switch (f->src) {
        case P_COL:
        case P_COMP:
            put_sample(b, scope, f->name, "", r, NULL, NULL);
            sp_strbuf_printf(b, "%" PRId64 "\n", clamp(v.i, cols[f->arg].type));
            break;
        case P_AVG:
        case P_MAX:
            put_sample(b, scope, f->name, "", r, NULL, NULL);
            put_us_seconds(b, f->src == P_AVG ? (uint64_t)hist_avg_us(h) : h->max_us);
            sp_strbuf_putc(b, '\n');
            break;
        case P_HIST:
            put_hist(b, scope, f->name, r, h);
            break;
        case P_CODES:
            for (unsigned c = 0; c < 6; c++) {
                put_sample(b, scope, f->name, "", r, "code", codes[c]);
                sp_strbuf_printf(b, "%" PRId64 "\n", clamp(r->obj.hrsp[c], T_U64));
            }
            break;
        case P_STATUS: {
            const char *const *st = type == SP_STATS_TYPE_SRV ? srv_states : fe_states;
            unsigned nst =
                type == SP_STATS_TYPE_SRV ? SP_ARRAY_SIZE(srv_states) : SP_ARRAY_SIZE(fe_states);
            const char *cur = row_state(r);
            for (unsigned s = 0; s < nst; s++) {
                put_sample(b, scope, f->name, "", r, "state", st[s]);
                sp_strbuf_puts(b, strcmp(cur, st[s]) ? "0\n" : "1\n");
            }
            break;
        }
        case P_CHKSTS: {
            const char *cur = r->check_status ? r->check_status : "";
            for (unsigned s = 0; s < SP_ARRAY_SIZE(chk_states); s++) {
                put_sample(b, scope, f->name, "", r, "state", chk_states[s]);
                sp_strbuf_puts(b, strcmp(cur, chk_states[s]) ? "0\n" : "1\n");
            }
            break;
        }
        case P_CHKCODE:
            put_sample(b, scope, f->name, "", r, NULL, NULL);
            sp_strbuf_printf(b, "%" PRId64 "\n", clamp(r->check_code, T_U32));
            break;
        case P_CHKDUR:
            put_sample(b, scope, f->name, "", r, NULL, NULL);
            put_us_seconds(b, (uint64_t)r->check_duration * 1000);
            sp_strbuf_putc(b, '\n');
            break;
        }
    }
}

static void put_proc_int(struct sp_strbuf *b, const char *name, const char *help, enum ptype type,
                         int64_t v)
{
    put_head(b, "process", name, help, type);
    put_sample(b, "process", name, "", NULL, NULL, NULL);
    sp_strbuf_printf(b, "%" PRId64 "\n", v);
}

static void put_process(struct sp_strbuf *b, const struct sp_stats_proc *p)
{
    put_proc_int(b, "nbthread", "Number of started threads (workers).", P_GAUGE, p->nbthread);
    put_proc_int(b, "uptime_seconds", "How long ago this worker process was started (seconds).",
                 P_GAUGE, p->uptime_s);
    put_proc_int(b, "start_time_seconds", "Start time in seconds since the Unix epoch.", P_GAUGE,
                 p->start_time_s);
    put_proc_int(b, "max_connections", "Maximum number of concurrent connections.", P_GAUGE,
                 p->max_conn);
    put_proc_int(b, "current_connections", "Number of active sessions.", P_GAUGE, p->cur_conn);
    put_proc_int(b, "connections_total", "Total number of created sessions.", P_COUNTER,
                 p->conn_tot);
    put_proc_int(b, "requests_total", "Total number of requests (TCP or HTTP).", P_COUNTER,
                 p->req_tot);
    put_head(b, "process", "build_info", "Build info.", P_GAUGE);
    put_sample(b, "process", "build_info", "", NULL, "version", p->version);
    sp_strbuf_puts(b, "1\n");
}

int sp_stats_prom(struct sp_strbuf *b, const struct sp_stats_proc *proc,
                  const struct sp_stats_row *rows, size_t n, unsigned scope)
{
    static const struct {
        unsigned flag;
        int type;
        const char *name;
    } scopes[] = {
        {SP_PROM_FRONTEND, SP_STATS_TYPE_FE, "frontend"},
        {SP_PROM_BACKEND, SP_STATS_TYPE_BE, "backend"},
        {SP_PROM_SERVER, SP_STATS_TYPE_SRV, "server"},
    };

    if (proc && (scope & SP_PROM_PROCESS))
        put_process(b, proc);
    for (unsigned s = 0; s < SP_ARRAY_SIZE(scopes); s++) {
        if (!(scope & scopes[s].flag))
            continue;
        for (unsigned f = 0; f < SP_ARRAY_SIZE(pfams); f++)
            if (pfams[f].mask & (1u << scopes[s].type))
                put_family(b, &pfams[f], scopes[s].type, scopes[s].name, rows, n);
    }
    return done(b);
}

/* ---- HTML ---- */

static void put_html(struct sp_strbuf *b, const char *s)
{
    for (const char *p = s ? s : ""; *p; p++) {
        switch (*p) {
        case '&':
            sp_strbuf_puts(b, "&amp;");
            break;
        case '<':
            sp_strbuf_puts(b, "&lt;");
            break;
        case '>':
            sp_strbuf_puts(b, "&gt;");
            break;
        case '"':
            sp_strbuf_puts(b, "&quot;");
            break;
        case '\'':
            sp_strbuf_puts(b, "&#39;");
            break;
        default:
            sp_strbuf_putc(b, *p);
        }
    }
}

void sp__stats_html_escape(struct sp_strbuf *b, const char *s)
{
    put_html(b, s);
}

static const char html_style[] =
    "body{font-family:sans-serif;font-size:13px;margin:1em;color:#222}"
    "table{border-collapse:collapse;margin:0 0 1.5em}"
    "caption{text-align:left;font-weight:bold;font-size:15px;padding:4px 0}"
    "th,td{border:1px solid #aaa;padding:2px 6px}"
    "th{background:#ddd;font-weight:normal}"
    "td{text-align:right}td.n{text-align:left;font-weight:bold}"
    "tr.px{background:#eef}"
    "td.up{background:#bfb}td.down{background:#f99}td.maint{background:#ccf}"
    "td.warn{background:#fd8}"
    /* server lines: HAProxy's classes and colours */
    ".active_down{background:#ff9090}.active_going_up{background:#ffd020}"
    ".active_going_down{background:#ffffa0}.active_up{background:#c0ffc0}"
    ".active_nolb{background:#20a0ff}.active_draining{background:#20a0ff}"
    ".active_no_check{background:#e0e0e0}"
    ".backup_down{background:#ff9090}.backup_going_up{background:#ff80ff}"
    ".backup_going_down{background:#c060ff}.backup_up{background:#b0d0ff}"
    ".backup_nolb{background:#90b0e0}.backup_draining{background:#cc9900}"
    ".backup_no_check{background:#e0e0e0}"
    ".maintain{background:#c07820}";

/* The cells of one row, in the order of the header below. HTML_LASTCHK is the last check,
 * made of several columns (HAProxy's "LastChk"). */
#define HTML_LASTCHK 0xff
static const uint8_t html_cols[] = {
    SP_ST_QCUR,     SP_ST_QMAX,     SP_ST_QLIMIT,     SP_ST_RATE,     SP_ST_RATE_MAX,
    SP_ST_SCUR,     SP_ST_SMAX,     SP_ST_SLIM,       SP_ST_STOT,     SP_ST_BIN,
    SP_ST_BOUT,     SP_ST_DREQ,     SP_ST_DRESP,      SP_ST_EREQ,     SP_ST_ECON,
    SP_ST_ERESP,    SP_ST_WRETR,    SP_ST_WREDIS,     SP_ST_STATUS,   SP_ST_LASTCHG,
    HTML_LASTCHK,   SP_ST_WEIGHT,   SP_ST_ACT,        SP_ST_BCK,      SP_ST_CHKFAIL,
    SP_ST_CHKDOWN,  SP_ST_DOWNTIME, SP_ST_HRSP_1XX,   SP_ST_HRSP_2XX, SP_ST_HRSP_3XX,
    SP_ST_HRSP_4XX, SP_ST_HRSP_5XX, SP_ST_HRSP_OTHER,
};

static const char html_head1[] =
    "<tr><th rowspan=\"2\"></th><th colspan=\"3\">Queue</th><th colspan=\"2\">Session "
    "rate</th><th colspan=\"4\">Sessions</th><th colspan=\"2\">Bytes</th><th "
    "colspan=\"2\">Denied</th><th colspan=\"3\">Errors</th><th "
    "colspan=\"2\">Warnings</th><th colspan=\"9\">Server</th><th "
    "colspan=\"6\">Responses</th></tr>\n";
static const char html_head2[] =
    "<tr><th>Cur</th><th>Max</th><th>Limit</th><th>Cur</th><th>Max</th><th>Cur</th>"
    "<th>Max</th><th>Limit</th><th>Total</th><th>In</th><th>Out</th><th>Req</th>"
    "<th>Resp</th><th>Req</th><th>Conn</th><th>Resp</th><th>Retr</th><th>Redis</th>"
    "<th>Status</th><th>LastChg</th><th>LastChk</th><th>Wght</th><th>Act</th><th>Bck</th>"
    "<th>Chk</th><th>Dwn</th><th>Dwntme</th><th>1xx</th>"
    "<th>2xx</th><th>3xx</th><th>4xx</th><th>5xx</th><th>other</th></tr>\n";

static const char *status_class(const char *s)
{
    if (!s)
        return "";
    if (prefix(s, "UP") || prefix(s, "OPEN") || prefix(s, "no check"))
        return "up";
    if (prefix(s, "DOWN") || prefix(s, "STOP"))
        return "down";
    if (prefix(s, "MAINT"))
        return "maint";
    if (prefix(s, "DRAIN") || prefix(s, "NOLB") || prefix(s, "PAUSED"))
        return "warn";
    return "";
}

/* A server's health as HAProxy's page reads it from the stats fields: the check health and
 * its maximum (both 0 when the check columns are empty). */
static int64_t html_health(const struct sp_stats_row *r)
{
    return chk_shown(r) ? r->check_health : 0;
}

static bool html_health_max(const struct sp_stats_row *r)
{
    return chk_shown(r) && r->check_health == (int64_t)r->check_rise + r->check_fall - 1;
}

/* HAProxy's server line class (src/stats.c stats_dump_fields_html): "maintain", or
 * "<active|backup>_<style>" with the style read from the status text and the check. */
static void put_srv_class(struct sp_strbuf *b, const struct sp_stats_row *r)
{
    const char *s = r->status ? r->status : "";
    const char *style;

    if (prefix(s, "MAINT")) {
        sp_strbuf_puts(b, "maintain");
        return;
    }
    if (strcmp(s, "DOWN") == 0 || strcmp(s, "DOWN (agent)") == 0)
        style = "down";
    else if (prefix(s, "DOWN "))
        style = "going_up";
    else if (strcmp(s, "DRAIN") == 0)
        style = "draining";
    else if (prefix(s, "NOLB "))
        style = "going_down";
    else if (strcmp(s, "NOLB") == 0)
        style = "nolb";
    else if (strcmp(s, "no check") == 0)
        style = "no_check";
    else if (!chk_counted(r) || html_health_max(r))
        style = r->weight ? "up" : "draining"; /* fully up; weight 0 drains */
    else
        style = "going_down";
    sp_strbuf_printf(b, "%s_%s", r->bck ? "backup" : "active", style);
}

/* A server's status cell: the text, an arrow while a check moves it towards the other state,
 * "no check" in italics. */
static void put_srv_status(struct sp_strbuf *b, const struct sp_stats_row *r)
{
    const char *s = r->status ? r->status : "";

    if (strcmp(s, "no check") == 0) {
        sp_strbuf_puts(b, "<i>no check</i>");
        return;
    }
    put_html(b, s);
    if (prefix(s, "MAINT") || !chk_shown(r))
        return;
    if (prefix(s, "DOWN")) {
        if (html_health(r))
            sp_strbuf_puts(b, " &uarr;");
    } else if (!html_health_max(r)) {
        sp_strbuf_puts(b, " &darr;");
    }
}

/* The last check, as HAProxy's page shows it: "L7STS/404 in 1ms", its description and
 * detail in the tooltip. Empty when the check columns are. */
static void put_last_check(struct sp_strbuf *b, const struct sp_stats_row *r)
{
    struct fval st = field(r, SP_ST_CHECK_STATUS);
    struct fval code = field(r, SP_ST_CHECK_CODE);
    struct fval dur = field(r, SP_ST_CHECK_DURATION);

    if (st.kind != V_STR) {
        sp_strbuf_puts(b, "<td></td>");
        return;
    }
    sp_strbuf_puts(b, "<td title=\"");
    put_html(b, r->check_desc);
    if (r->last_chk && *r->last_chk) {
        sp_strbuf_puts(b, ": ");
        put_html(b, r->last_chk);
    }
    sp_strbuf_puts(b, "\">");
    put_html(b, st.pre);
    put_html(b, st.s);
    if (code.kind == V_INT)
        sp_strbuf_printf(b, "/%" PRId64, code.i);
    if (dur.kind == V_INT)
        sp_strbuf_printf(b, " in %" PRId64 "ms", dur.i);
    sp_strbuf_puts(b, "</td>");
}

static void put_html_row(struct sp_strbuf *b, const struct sp_stats_row *r, bool legends,
                         bool admin)
{
    struct fval name = field(r, SP_ST_SVNAME);
    bool srv = r->type == SP_STATS_TYPE_SRV;

    if (srv) {
        sp_strbuf_puts(b, "<tr class=\"");
        put_srv_class(b, r);
        sp_strbuf_puts(b, "\">");
    } else {
        sp_strbuf_puts(b, "<tr class=\"px\">");
    }
    if (admin)
        sp__stats_html_admin_td(b, r->pxname, name.s, srv);
    sp_strbuf_puts(b, "<td class=\"n\">");
    put_html(b, name.s);
    if (legends && srv) {
        /* HAProxy's tips: the server's address and id */
        const char *a = r->addr ? r->addr : "";
        sp_strbuf_puts(b, "<div class=tips>");
        if (isdigit((unsigned char)*a))
            sp_strbuf_puts(b, "IPv4: ");
        else if (*a == '[')
            sp_strbuf_puts(b, "IPv6: ");
        if (*a) {
            put_html(b, a);
            sp_strbuf_puts(b, ", ");
        }
        sp_strbuf_printf(b, "id: %u</div>", r->sid);
    }
    sp_strbuf_puts(b, "</td>");
    for (unsigned i = 0; i < SP_ARRAY_SIZE(html_cols); i++) {
        unsigned c = html_cols[i];
        if (c == HTML_LASTCHK) {
            put_last_check(b, r);
            continue;
        }
        struct fval v = field(r, c);
        if (c == SP_ST_STATUS && srv) {
            sp_strbuf_puts(b, "<td>");
            put_srv_status(b, r);
            sp_strbuf_puts(b, "</td>");
            continue;
        }
        if (c == SP_ST_STATUS)
            sp_strbuf_printf(b, "<td class=\"%s\">", status_class(v.s));
        else
            sp_strbuf_puts(b, "<td>");
        if (v.kind == V_INT)
            sp_strbuf_printf(b, "%" PRId64, clamp(v.i, cols[c].type));
        else if (v.kind == V_STR) {
            put_html(b, v.pre);
            put_html(b, v.s);
        }
        sp_strbuf_puts(b, "</td>");
    }
    sp_strbuf_puts(b, "</tr>\n");
}

static bool same_proxy(const struct sp_stats_row *a, const struct sp_stats_row *b)
{
    return a->iid == b->iid && strcmp(a->pxname ? a->pxname : "", b->pxname ? b->pxname : "") == 0;
}

int sp_stats_html(struct sp_strbuf *b, const struct sp_stats_html_opts *o,
                  const struct sp_stats_row *rows, size_t n)
{
    static const struct sp_stats_html_opts none;
    if (!o)
        o = &none;
    const char *title = o->title ? o->title : "spillway statistics";
    const char *uri = o->uri ? o->uri : "/haproxy?stats";

    sp_strbuf_puts(b, "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">\n");
    if (o->refresh > 0)
        sp_strbuf_printf(b, "<meta http-equiv=\"refresh\" content=\"%d\">\n", o->refresh);
    sp_strbuf_puts(b, "<title>");
    put_html(b, title);
    if (o->node) {
        sp_strbuf_puts(b, " on ");
        put_html(b, o->node);
    }
    sp_strbuf_printf(b, "</title>\n<style>%s</style>\n</head><body>\n<h1>", html_style);
    put_html(b, title);
    if (o->node) {
        sp_strbuf_puts(b, " on <span class=\"node\">");
        put_html(b, o->node);
        sp_strbuf_puts(b, "</span>");
    }
    if (o->desc) {
        sp_strbuf_puts(b, ": <span class=\"desc\">");
        put_html(b, o->desc);
        sp_strbuf_puts(b, "</span>");
    }
    sp_strbuf_puts(b, "</h1>\n<p>");
    if (o->proc) {
        const struct sp_stats_proc *p = o->proc;
        int64_t up = p->uptime_s > 0 ? p->uptime_s : 0;
        if (!o->hide_version) {
            sp_strbuf_puts(b, "version ");
            put_html(b, p->version);
            sp_strbuf_puts(b, ", ");
        }
        sp_strbuf_printf(b,
                         "uptime %" PRId64 "d %02" PRId64 "h%02" PRId64 "m%02" PRId64 "s, %" PRId64
                         " threads, connections %" PRId64 "/%" PRId64 "<br>\n",
                         up / 86400, up / 3600 % 24, up / 60 % 60, up % 60, p->nbthread,
                         p->cur_conn, p->max_conn);
        if (p->node && *p->node) {
            sp_strbuf_puts(b, "node ");
            put_html(b, p->node);
            sp_strbuf_puts(b, "<br>\n");
        }
        if (p->desc) {
            sp_strbuf_puts(b, "description: ");
            put_html(b, p->desc);
            sp_strbuf_puts(b, "<br>\n");
        }
    }
    sp_strbuf_puts(b, "<a href=\"");
    put_html(b, uri);
    sp_strbuf_puts(b, ";csv\">CSV export</a></p>\n");
    sp__stats_html_st_msg(b, uri, o->st);

    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && same_proxy(&rows[i], &rows[j]))
            j++;
        bool servers = false; /* the admin form: for a proxy with servers */
        for (size_t k = i; k < j && !servers; k++)
            servers = rows[k].type == SP_STATS_TYPE_SRV;
        if (o->admin && servers)
            sp_strbuf_puts(b, "<form method=\"post\">");
        sp_strbuf_puts(b, "<table>\n<caption>");
        put_html(b, rows[i].pxname);
        if (o->legends) /* HAProxy's tips: cap, mode, id */
            sp_strbuf_printf(b, "<div class=tips>cap: %s, mode: %s, id: %u</div>",
                             rows[i].cap ? rows[i].cap : "", rows[i].mode ? rows[i].mode : "http",
                             rows[i].iid);
        if (rows[i].desc) {
            sp_strbuf_puts(b, " <span class=\"desc\">");
            put_html(b, rows[i].desc);
            sp_strbuf_puts(b, "</span>");
        }
        sp_strbuf_puts(b, "</caption>\n");
        if (o->admin) { /* its column first, then the header's own cells */
            sp_strbuf_puts(b, "<tr>");
            sp__stats_html_admin_th(b, rows[i].pxname, servers);
            sp_strbuf_puts(b, html_head1 + 4);
        } else {
            sp_strbuf_puts(b, html_head1);
        }
        sp_strbuf_puts(b, html_head2);
        unsigned iid = rows[i].iid;
        for (; i < j; i++)
            put_html_row(b, &rows[i], o->legends, o->admin);
        sp_strbuf_puts(b, "</table>\n");
        if (o->admin && servers)
            sp__stats_html_admin_end(b, iid);
    }
    sp_strbuf_puts(b, "</body></html>\n");
    return done(b);
}
