/* tests/stats/test_render.c - CSV, typed, Prometheus and HTML renderings of stats/render.c.
 * The expected column list is written out here independently of the renderer's table, from
 * HAPROXY-BEHAVIOUR.md 7.1. */
#include "stats/render.h"

#include "tests/unit.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char expected_header[] =
    "# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,"
    "wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,"
    "throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,"
    "check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,"
    "req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,"
    "lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,"
    "agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,"
    "agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,"
    "intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,"
    "qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,"
    "used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,"
    "agg_check_status,srid,sess_other,h1sess,h2sess,h3sess,req_other,h1req,h2req,h3req,"
    "proto,\n";

/* ---- fixtures: one proxy "web" (iid 2) with a frontend, one server and a backend ---- */

static void fill_fe(struct sp_stats_row *r)
{
    memset(r, 0, sizeof(*r));
    r->pxname = "web";
    r->type = SP_STATS_TYPE_FE;
    r->iid = 2;
    r->pid = 1;
    r->scur_set = true;
    r->scur = 5; /* fe_conn; obj.cur differs on purpose */
    r->obj.cur = 99;
    r->obj.max = 17;
    r->obj.stot = 1234;
    r->obj.ctot = 1234;
    r->obj.dses = 6;
    r->obj.bin = 100000;
    r->obj.bout = 2000000;
    r->obj.ereq = 3;
    r->obj.hrsp[0] = 1;
    r->obj.hrsp[1] = 1200;
    r->obj.hrsp[2] = 10;
    r->obj.hrsp[3] = 20;
    r->obj.hrsp[4] = 2;
    r->obj.hrsp[5] = 1;
    r->obj.req_tot = 1234;
    r->obj.h1sess = 1000;
    r->obj.h2sess = 234;
    r->obj.h1req = 1100;
    r->obj.h2req = 134;
    r->obj.rate.cur = 7;
    r->obj.rate.max = 70;
    r->obj.req_rate.cur = 8;
    r->obj.req_rate.max = 80;
    r->obj.conn_rate.cur = 9;
    r->obj.conn_rate.max = 90;
    r->slim = 310;
    r->status = "OPEN";
    r->mode = "http";
}

static void fill_be(struct sp_stats_row *r)
{
    memset(r, 0, sizeof(*r));
    r->pxname = "web";
    r->type = SP_STATS_TYPE_BE;
    r->iid = 2;
    r->pid = 1;
    r->obj.cur = 4;
    r->obj.max = 12;
    r->obj.qcur = 1;
    r->obj.qmax = 6;
    r->obj.stot = 1230;
    r->obj.lbtot = 1229;
    r->obj.econ = 2;
    r->obj.eresp = 1;
    r->obj.wretr = 3;
    r->obj.wredis = 1;
    r->obj.req_tot = 1230;
    r->obj.hrsp[1] = 1200;
    r->obj.connect = 77;
    r->obj.reuse = 1153;
    r->obj.cli_abrt = 4;
    r->obj.srv_abrt = 5;
    r->obj.lastsess = 10000;
    r->now_ms = 13500;
    /* queue: two values, 1000 and 2000 us: average 1.5 ms, max 2 ms */
    sp_hist_add(&r->obj.hist[SP_HIST_QUEUE], 1000);
    sp_hist_add(&r->obj.hist[SP_HIST_QUEUE], 2000);
    r->slim = 31;
    r->status = "UP";
    r->weight = 2;
    r->act = 2;
    r->lastchg = 3600;
    r->mode = "http";
    r->algo = "roundrobin";
}

static void fill_srv(struct sp_stats_row *r)
{
    memset(r, 0, sizeof(*r));
    r->pxname = "web";
    r->svname = "s1";
    r->type = SP_STATS_TYPE_SRV;
    r->iid = 2;
    r->sid = 7;
    r->pid = 1;
    r->obj.cur = 2;
    r->obj.max = 8;
    r->obj.stot = 600;
    r->obj.connect = 40;
    r->obj.reuse = 560;
    r->status = "UP";
    r->weight = 1;
    r->act = 1;
    r->slim = 0; /* no maxconn: slim empty */
    r->qlimit = 0;
    r->mode = "http";
    r->addr = "127.0.0.1:8080";
}

/* A checked server: HTTP check failing with 404 (L7STS), DOWN once, weight 3. */
static void fill_chk(struct sp_stats_row *r)
{
    fill_srv(r);
    r->status = "DOWN";
    r->weight = 3;
    r->uweight = 3;
    r->lastchg = 42;
    r->chk = SP_STATS_CHK_ENABLED;
    r->check_status = "L7STS";
    r->check_desc = "Layer7 wrong status";
    r->last_chk = "Not Found";
    r->check_code = 404;
    r->check_duration = 1;
    r->chkfail = 3;
    r->chkdown = 1;
    r->downtime = 17;
    r->check_rise = 2;
    r->check_fall = 2;
    r->check_health = 0;
}

/* ---- CSV helpers ---- */

/* Number of comma-terminated fields in one line (quotes respected); -1 if the line does not
 * end with ",\n". */
static int csv_count(const char *line)
{
    int n = 0;
    bool q = false;
    const char *p = line;
    for (; *p && *p != '\n'; p++) {
        if (*p == '"')
            q = !q;
        else if (*p == ',' && !q)
            n++;
    }
    if (*p != '\n' || p == line || p[-1] != ',')
        return -1;
    return n;
}

/* Copies field `idx` of a line, raw (quotes kept). */
static const char *csv_field(const char *line, int idx, char *out, size_t cap)
{
    bool q = false;
    int n = 0;
    size_t o = 0;
    for (const char *p = line; *p && *p != '\n'; p++) {
        if (*p == '"')
            q = !q;
        if (*p == ',' && !q) {
            if (n++ == idx)
                break;
            continue;
        }
        if (n == idx && o + 1 < cap)
            out[o++] = *p;
    }
    out[o] = '\0';
    return out;
}

static char fbuf[256];
#define FIELD(line, i) csv_field((line), (i), fbuf, sizeof(fbuf))

static char *render_csv(const struct sp_stats_row *r)
{
    struct sp_strbuf b = {0};
    CU_ASSERT_EQUAL(sp_stats_csv_row(&b, r), 0);
    return b.p;
}

/* ---- strbuf ---- */

static void test_strbuf(void)
{
    struct sp_strbuf b;
    sp_strbuf_init(&b);
    sp_strbuf_puts(&b, "ab");
    sp_strbuf_putc(&b, 'c');
    sp_strbuf_printf(&b, "%d-%s", 42, "x");
    CU_ASSERT_STRING_EQUAL(b.p, "abc42-x");
    CU_ASSERT_EQUAL(b.len, 7);

    /* longer than printf's stack buffer and than the first allocation */
    char big[1000];
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    sp_strbuf_printf(&b, "[%s]", big);
    CU_ASSERT_EQUAL(b.len, 7 + 1001);
    CU_ASSERT_EQUAL(b.p[b.len], '\0');
    CU_ASSERT_EQUAL(b.p[8], 'z');
    CU_ASSERT_EQUAL(b.p[b.len - 1], ']');

    sp_strbuf_reset(&b);
    CU_ASSERT_EQUAL(b.len, 0);
    CU_ASSERT_STRING_EQUAL(b.p, "");

    /* a failed allocation is sticky and reported */
    b.oom = true;
    CU_ASSERT_EQUAL(sp_stats_csv_header(&b), -ENOMEM);
    CU_ASSERT_EQUAL(b.len, 0);
    sp_strbuf_free(&b);
    CU_ASSERT_PTR_NULL(b.p);
    CU_ASSERT_FALSE(b.oom);
    sp_strbuf_free(NULL);
}

/* ---- CSV ---- */

static void test_csv_header(void)
{
    struct sp_strbuf b = {0};
    CU_ASSERT_EQUAL(sp_stats_csv_header(&b), 0);
    CU_ASSERT_STRING_EQUAL(b.p, expected_header);
    CU_ASSERT_EQUAL(csv_count(b.p + 2), 113);
    CU_ASSERT_EQUAL(SP_STATS_NCOLS, 113);
    CU_ASSERT_STRING_EQUAL(sp_stats_col_name(0), "pxname");
    CU_ASSERT_STRING_EQUAL(sp_stats_col_name(89), "src_ilim");
    CU_ASSERT_STRING_EQUAL(sp_stats_col_name(112), "proto");
    CU_ASSERT_PTR_NULL(sp_stats_col_name(113));
    sp_strbuf_free(&b);
}

static void test_csv_frontend(void)
{
    struct sp_stats_row r;
    fill_fe(&r);
    char *l = render_csv(&r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL(csv_count(l), 113);
    CU_ASSERT_STRING_EQUAL(FIELD(l, 0), "web");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 1), "FRONTEND");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 2), ""); /* no queue on a frontend */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 3), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 4), "5"); /* fe_conn, not obj.cur */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 5), "17");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 6), "310");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 7), "1234");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 8), "100000");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 9), "2000000");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 12), "3");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 13), ""); /* econ: backends and servers */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 17), "OPEN");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 18), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 26), "1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 27), "2");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 28), "0");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 32), "0");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 33), "7");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 34), "0");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 35), "70");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 39), "1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 40), "1200");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 44), "1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 46), "8");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 47), "80");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 48), "1234");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 49), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 55), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 58), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 73), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 75), "http");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 76), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 77), "9");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 78), "90");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 79), "1234");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 82), "6"); /* dses */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 84), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 94), "0");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 104), "0");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 105), "1000");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 106), "234");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 109), "1100");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 110), "134");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 112), "");
    free(l);

    /* without the override, scur is obj.cur */
    r.scur_set = false;
    l = render_csv(&r);
    CU_ASSERT_STRING_EQUAL(FIELD(l, 4), "99");
    free(l);
}

static void test_csv_backend(void)
{
    struct sp_stats_row r;
    fill_be(&r);
    char *l = render_csv(&r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL(csv_count(l), 113);
    CU_ASSERT_STRING_EQUAL(FIELD(l, 1), "BACKEND");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 2), "1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 3), "6");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 4), "4");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 6), "31");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 7), "1230");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 12), ""); /* ereq: frontends only */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 13), "2");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 14), "1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 15), "3");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 16), "1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 17), "UP");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 18), "2");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 19), "2");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 20), "0");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 21), ""); /* no checks */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 23), "3600");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 25), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 30), "1229");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 32), "1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 34), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 40), "1200");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 46), ""); /* req_rate: frontends only */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 48), "1230");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 49), "4");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 50), "5");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 55), "3"); /* (13500 - 10000) ms */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 58), "2"); /* 1.5 ms rounds to 2 */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 59), "0");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 76), "roundrobin");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 77), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 84), "77");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 85), "1153");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 90), "2");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 105), "");
    free(l);

    /* never a stream: lastsess -1 */
    r.obj.lastsess = 0;
    l = render_csv(&r);
    CU_ASSERT_STRING_EQUAL(FIELD(l, 55), "-1");
    free(l);
}

static void test_csv_server(void)
{
    struct sp_stats_row r;
    fill_srv(&r);
    char *l = render_csv(&r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL(csv_count(l), 113);
    CU_ASSERT_STRING_EQUAL(FIELD(l, 1), "s1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 4), "2");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 6), "");  /* no maxconn */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 10), ""); /* dreq */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 25), ""); /* no maxqueue */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 28), "7");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 32), "2");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 34), ""); /* servers have no rate_lim */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 55), "-1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 73), "127.0.0.1:8080");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 76), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 84), "40");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 85), "560");
    free(l);

    r.slim = 100;
    r.qlimit = 50;
    r.status = "MAINT";
    l = render_csv(&r);
    CU_ASSERT_STRING_EQUAL(FIELD(l, 6), "100");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 17), "MAINT");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 25), "50");
    free(l);
}

static void test_csv_quoting(void)
{
    struct sp_stats_row r;
    fill_srv(&r);
    r.pxname = "a,b";
    r.svname = "say \"hi\"";
    char *l = render_csv(&r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    static const char want[] = "\"a,b\",\"say \"\"hi\"\"\",0,0,2,";
    CU_ASSERT_EQUAL(strncmp(l, want, strlen(want)), 0);
    CU_ASSERT_EQUAL(csv_count(l), 113);
    CU_ASSERT_STRING_EQUAL(FIELD(l, 4), "2");
    free(l);

    /* negative transient sums print 0 in unsigned fields */
    fill_srv(&r);
    r.obj.cur = -1;
    l = render_csv(&r);
    CU_ASSERT_STRING_EQUAL(FIELD(l, 4), "0");
    free(l);
}

/* The check columns of a server, indexes from HAPROXY-BEHAVIOUR.md 7.1. */
enum {
    C_STATUS = 17,
    C_WEIGHT = 18,
    C_ACT = 19,
    C_BCK = 20,
    C_CHKFAIL = 21,
    C_CHKDOWN = 22,
    C_LASTCHG = 23,
    C_DOWNTIME = 24,
    C_CHECK_STATUS = 36,
    C_CHECK_CODE = 37,
    C_CHECK_DURATION = 38,
    C_LAST_CHK = 56,
    C_CHECK_DESC = 65,
    C_CHECK_RISE = 67,
    C_CHECK_FALL = 68,
    C_CHECK_HEALTH = 69,
    C_UWEIGHT = 99,
};

static const int check_cols[] = {C_CHECK_STATUS, C_CHECK_CODE, C_CHECK_DURATION, C_LAST_CHK,
                                 C_CHECK_DESC,   C_CHECK_RISE, C_CHECK_FALL,     C_CHECK_HEALTH};

static void test_csv_check(void)
{
    struct sp_stats_row r;
    fill_chk(&r);
    char *l = render_csv(&r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL(csv_count(l), 113);
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_STATUS), "DOWN");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_WEIGHT), "3");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_ACT), "1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_BCK), "0");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHKFAIL), "3");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHKDOWN), "1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_LASTCHG), "42");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_DOWNTIME), "17");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_STATUS), "L7STS");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_CODE), "404");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_DURATION), "1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_LAST_CHK), "Not Found");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_DESC), "Layer7 wrong status");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_RISE), "2");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_FALL), "2");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_HEALTH), "0");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_UWEIGHT), "3");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 62), ""); /* no agent */
    free(l);

    /* a check in flight: "* " before the last status */
    r.chk |= SP_STATS_CHK_RUNNING;
    l = render_csv(&r);
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_STATUS), "* L7STS");
    free(l);

    /* an L4 failure has no code; a detail with a comma is quoted */
    fill_chk(&r);
    r.check_status = "L4CON";
    r.check_desc = "Layer4 connection problem";
    r.check_code = -1;
    r.check_duration = 0;
    r.last_chk = "Connection refused, really";
    l = render_csv(&r);
    CU_ASSERT_EQUAL(csv_count(l), 113);
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_STATUS), "L4CON");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_CODE), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_DURATION), "0");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_LAST_CHK), "\"Connection refused, really\"");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_DESC), "Layer4 connection problem");
    free(l);

    /* no check finished yet: INI, no duration */
    fill_chk(&r);
    r.status = "UP 1/2";
    r.check_status = "INI";
    r.check_desc = "Initializing";
    r.check_code = -1;
    r.check_duration = -1;
    r.last_chk = "";
    r.chkfail = r.chkdown = r.downtime = 0;
    r.check_health = 2;
    l = render_csv(&r);
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_STATUS), "UP 1/2");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_STATUS), "INI");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_DURATION), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_DESC), "Initializing");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHKFAIL), "0");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_DOWNTIME), "0");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_HEALTH), "2");
    free(l);

    /* maintenance pauses the check: its counters stay, the check columns go */
    fill_chk(&r);
    r.status = "MAINT";
    r.chk |= SP_STATS_CHK_PAUSED;
    l = render_csv(&r);
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_STATUS), "MAINT");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHKFAIL), "3");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHKDOWN), "1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_DOWNTIME), "17");
    for (unsigned i = 0; i < SP_ARRAY_SIZE(check_cols); i++)
        CU_ASSERT_STRING_EQUAL(FIELD(l, check_cols[i]), "");
    free(l);

    /* no check, or `disable health`: every check column empty, the state ones stay */
    fill_chk(&r);
    r.status = "no check";
    r.chk = 0;
    r.act = 0;
    r.bck = 1;
    l = render_csv(&r);
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_STATUS), "no check");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_ACT), "0");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_BCK), "1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_WEIGHT), "3");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_LASTCHG), "42");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHKFAIL), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHKDOWN), "");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_DOWNTIME), "");
    for (unsigned i = 0; i < SP_ARRAY_SIZE(check_cols); i++)
        CU_ASSERT_STRING_EQUAL(FIELD(l, check_cols[i]), "");
    free(l);

    /* a backend never shows server check columns, whatever the row holds */
    fill_be(&r);
    r.chk = SP_STATS_CHK_ENABLED;
    r.chkfail = 9;
    r.chkdown = 9;
    r.downtime = 9;
    r.check_status = "L4OK";
    r.uweight = 2;
    r.act = 1;
    r.bck = 1;
    l = render_csv(&r);
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_ACT), "1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_BCK), "1");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_UWEIGHT), "2");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHKFAIL), "");
    /* ...but its own chkdown and downtime (times it lost its last usable server) */
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHKDOWN), "9");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_DOWNTIME), "9");
    CU_ASSERT_STRING_EQUAL(FIELD(l, C_CHECK_STATUS), "");
    free(l);
}

/* `option socket-stats`: a listener row holds HAProxy's listener columns only */
static void test_csv_listener(void)
{
    struct sp_stats_row r;
    memset(&r, 0, sizeof(r));
    r.pxname = "web";
    r.svname = "sock-2";
    r.type = SP_STATS_TYPE_LI;
    r.iid = 4;
    r.sid = 2;
    r.pid = 1;
    r.status = "OPEN";
    r.mode = "tcp";
    r.obj.cur = 3;
    r.obj.max = 9;
    r.obj.stot = 40;
    r.obj.bin = 1000;
    r.obj.bout = 2000;
    r.obj.dcon = 5;
    r.obj.dses = 6;
    r.obj.dreq = 7;
    r.obj.hrsp[1] = 99; /* not a listener column */
    r.obj.rate.cur = 12;
    char *l = render_csv(&r);
    CU_ASSERT_PTR_NOT_NULL_FATAL(l);
    CU_ASSERT_EQUAL(csv_count(l), 113);
    CU_ASSERT_STRING_EQUAL(FIELD(l, 0), "web");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 1), "sock-2");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 2), "");   /* qcur */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 4), "3");  /* scur */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 5), "9");  /* smax */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 6), "0");  /* slim: the bind has no maxconn */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 7), "40"); /* stot */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 8), "1000");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 9), "2000");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 10), "7");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 17), "OPEN");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 27), "4"); /* iid */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 28), "2"); /* sid: the listener id */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 32), "3"); /* type */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 33), "");  /* rate */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 40), "");  /* hrsp_2xx */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 75), "tcp");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 79), ""); /* conn_tot: frontends only */
    CU_ASSERT_STRING_EQUAL(FIELD(l, 81), "5");
    CU_ASSERT_STRING_EQUAL(FIELD(l, 82), "6");
    free(l);
    struct sp_strbuf b = {0};
    CU_ASSERT_EQUAL(sp_stats_typed_row(&b, &r), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.p);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "L.4.2.1.svname.1:KNS:str:sock-2\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "L.4.2.82.dses.1:MCP:u64:6\n"));
    CU_ASSERT_PTR_NULL(strstr(b.p, ".rate."));
    sp_strbuf_free(&b);
    /* the stats page shows it as a line of its proxy's table */
    CU_ASSERT_EQUAL(sp_stats_html(&b, NULL, &r, 1), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.p);
    CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "<td class=\"n\">sock-2</td>"));
    sp_strbuf_free(&b);
}

/* ---- typed ---- */

static bool has_line(const char *text, const char *line)
{
    size_t n = strlen(line);
    for (const char *p = text; (p = strstr(p, line)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == '\n')
            return true;
    return false;
}

/* <F|B|S>.<u>.<u>.<u>.<name>.<u>:<3 tags>:<u32|u64|s32|str>:<value> */
static bool typed_line_ok(const char *l, size_t len)
{
    if (len < 2 || !strchr("FBS", l[0]) || l[1] != '.')
        return false;
    const char *p = l + 2;
    for (int i = 0; i < 3; i++) {
        if (!isdigit((unsigned char)*p))
            return false;
        while (isdigit((unsigned char)*p))
            p++;
        if (*p++ != '.')
            return false;
    }
    if (!islower((unsigned char)*p))
        return false;
    while (islower((unsigned char)*p) || isdigit((unsigned char)*p) || *p == '_')
        p++;
    if (*p++ != '.' || !isdigit((unsigned char)*p))
        return false;
    while (isdigit((unsigned char)*p))
        p++;
    if (*p++ != ':' || !strchr("MSKCP", p[0]) || !strchr("GLMRCAaNTDO", p[1]) ||
        !strchr("PSsC", p[2]) || p[3] != ':')
        return false;
    p += 4;
    if (strncmp(p, "u32:", 4) && strncmp(p, "u64:", 4) && strncmp(p, "s32:", 4) &&
        strncmp(p, "str:", 4))
        return false;
    return p + 4 <= l + len;
}

static void test_typed(void)
{
    struct sp_stats_row fe, be, srv;
    struct sp_strbuf b = {0};
    fill_fe(&fe);
    fill_be(&be);
    fill_srv(&srv);
    CU_ASSERT_EQUAL(sp_stats_typed_row(&b, &fe), 0);
    CU_ASSERT_EQUAL(sp_stats_typed_row(&b, &srv), 0);
    CU_ASSERT_EQUAL(sp_stats_typed_row(&b, &be), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.p);

    CU_ASSERT_TRUE(has_line(b.p, "F.2.0.0.pxname.1:KNS:str:web"));
    CU_ASSERT_TRUE(has_line(b.p, "F.2.0.1.svname.1:KNS:str:FRONTEND"));
    CU_ASSERT_TRUE(has_line(b.p, "F.2.0.4.scur.1:MGP:u32:5"));
    CU_ASSERT_TRUE(has_line(b.p, "F.2.0.5.smax.1:MMP:u32:17"));
    CU_ASSERT_TRUE(has_line(b.p, "F.2.0.6.slim.1:CLP:u32:310"));
    CU_ASSERT_TRUE(has_line(b.p, "F.2.0.7.stot.1:MCP:u64:1234"));
    CU_ASSERT_TRUE(has_line(b.p, "F.2.0.17.status.1:SGP:str:OPEN"));
    CU_ASSERT_TRUE(has_line(b.p, "F.2.0.40.hrsp_2xx.1:MCP:u64:1200"));
    CU_ASSERT_TRUE(has_line(b.p, "F.2.0.46.req_rate.1:MRP:u32:8"));
    CU_ASSERT_TRUE(has_line(b.p, "F.2.0.75.mode.1:CGS:str:http"));
    CU_ASSERT_PTR_NULL(strstr(b.p, "F.2.0.2.qcur")); /* empty fields are not listed */
    CU_ASSERT_PTR_NULL(strstr(b.p, ".chkfail."));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.1.svname.1:KNS:str:s1"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.19.act.1:SGP:u32:1"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.73.addr.1:CGS:str:127.0.0.1:8080"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.55.lastsess.1:MAP:s32:-1"));
    CU_ASSERT_TRUE(has_line(b.p, "B.2.0.2.qcur.1:MGP:u32:1"));
    CU_ASSERT_TRUE(has_line(b.p, "B.2.0.19.act.1:MGP:u32:2"));
    CU_ASSERT_TRUE(has_line(b.p, "B.2.0.58.qtime.1:MaP:u32:2"));
    CU_ASSERT_TRUE(has_line(b.p, "B.2.0.76.algo.1:CGS:str:roundrobin"));
    CU_ASSERT_TRUE(has_line(b.p, "B.2.0.84.connect.1:MCP:u64:77"));

    unsigned lines = 0;
    for (const char *p = b.p; *p;) {
        const char *e = strchr(p, '\n');
        CU_ASSERT_PTR_NOT_NULL_FATAL(e);
        if (!typed_line_ok(p, (size_t)(e - p)))
            CU_FAIL("malformed typed line");
        lines++;
        p = e + 1;
    }
    CU_ASSERT(lines > 100);
    sp_strbuf_free(&b);
}

static void test_typed_check(void)
{
    struct sp_stats_row r;
    struct sp_strbuf b = {0};
    fill_chk(&r);
    r.last_chk = "";
    r.chk |= SP_STATS_CHK_RUNNING;
    CU_ASSERT_EQUAL(sp_stats_typed_row(&b, &r), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.p);
    /* HAProxy's types and tags (src/stats.c stats_fill_sv_stats) */
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.17.status.1:SGP:str:DOWN"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.18.weight.1:MaP:u32:3"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.20.bck.1:SGP:u32:0"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.21.chkfail.1:MCP:u64:3"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.22.chkdown.1:MCP:u64:1"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.23.lastchg.1:MAP:u32:42"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.24.downtime.1:MCP:u32:17"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.36.check_status.1:MOP:str:* L7STS"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.37.check_code.1:MOP:u32:404"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.38.check_duration.1:MDP:u64:1"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.56.last_chk.1:MOP:str:")); /* an empty string is a value */
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.65.check_desc.1:MOP:str:Layer7 wrong status"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.67.check_rise.1:CGS:u32:2"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.68.check_fall.1:CGS:u32:2"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.69.check_health.1:CGS:u32:0"));
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.99.uweight.1:MaP:u32:3"));

    /* no check: none of them */
    sp_strbuf_reset(&b);
    r.chk = 0;
    r.status = "no check";
    CU_ASSERT_EQUAL(sp_stats_typed_row(&b, &r), 0);
    CU_ASSERT_TRUE(has_line(b.p, "S.2.7.17.status.1:SGP:str:no check"));
    CU_ASSERT_PTR_NULL(strstr(b.p, ".chkfail."));
    CU_ASSERT_PTR_NULL(strstr(b.p, ".check_"));
    CU_ASSERT_PTR_NULL(strstr(b.p, ".last_chk."));
    CU_ASSERT_PTR_NULL(strstr(b.p, ".downtime."));
    sp_strbuf_free(&b);
}

/* ---- Prometheus ---- */

#define MAXFAM 256

struct promcheck {
    char fam[MAXFAM][128];
    char type[MAXFAM][32];
    unsigned nfam;
    unsigned samples;
    bool ok;
};

static int fam_find(const struct promcheck *c, const char *name)
{
    for (unsigned i = 0; i < c->nfam; i++)
        if (!strcmp(c->fam[i], name))
            return (int)i;
    return -1;
}

static bool name_char(char ch, bool first)
{
    return isalpha((unsigned char)ch) || ch == '_' || ch == ':' ||
           (!first && isdigit((unsigned char)ch));
}

/* Parses one sample line: name{label="v",...} value. Copies the name. */
static bool parse_sample(const char *l, char *name, size_t cap)
{
    const char *p = l;
    size_t n = 0;
    if (!name_char(*p, true))
        return false;
    while (name_char(*p, false)) {
        if (n + 1 < cap)
            name[n++] = *p;
        p++;
    }
    name[n] = '\0';
    if (*p == '{') {
        p++;
        while (*p != '}') {
            if (!(isalpha((unsigned char)*p) || *p == '_'))
                return false;
            while (isalnum((unsigned char)*p) || *p == '_')
                p++;
            if (*p++ != '=' || *p++ != '"')
                return false;
            while (*p != '"') {
                if (*p == '\n' || !*p)
                    return false;
                if (*p == '\\') {
                    p++;
                    if (*p != '\\' && *p != '"' && *p != 'n')
                        return false;
                }
                p++;
            }
            p++;
            if (*p == ',')
                p++;
            else if (*p != '}')
                return false;
        }
        p++;
    }
    if (*p++ != ' ')
        return false;
    const char *v = p;
    while (*p && *p != '\n' && *p != ' ')
        p++;
    if (*p != '\n' || p == v)
        return false;
    if (!strncmp(v, "+Inf", 4) || !strncmp(v, "-Inf", 4) || !strncmp(v, "NaN", 3))
        return true;
    char *end;
    strtod(v, &end);
    return end == p;
}

/* Checks the whole exposition: grammar, one HELP and TYPE per family before its samples,
 * samples of a family contiguous. */
static void prom_check(const char *text, struct promcheck *c)
{
    memset(c, 0, sizeof(*c));
    c->ok = true;
    int cur = -1;
    bool help = false;
    for (const char *l = text; *l;) {
        const char *e = strchr(l, '\n');
        if (!e) {
            c->ok = false;
            CU_FAIL("last line not terminated");
            return;
        }
        char name[128];
        if (!strncmp(l, "# HELP ", 7)) {
            sscanf(l + 7, "%127s", name);
            if (fam_find(c, name) >= 0 || c->nfam == MAXFAM) {
                c->ok = false;
                CU_FAIL("family HELP twice");
                return;
            }
            snprintf(c->fam[c->nfam], sizeof(c->fam[0]), "%s", name);
            cur = (int)c->nfam++;
            help = true;
        } else if (!strncmp(l, "# TYPE ", 7)) {
            char type[32] = "";
            sscanf(l + 7, "%127s %31s", name, type);
            if (cur < 0 || !help || strcmp(c->fam[cur], name) || c->type[cur][0]) {
                c->ok = false;
                CU_FAIL("TYPE not right after its HELP");
                return;
            }
            snprintf(c->type[cur], sizeof(c->type[0]), "%s", type);
            help = false;
        } else {
            if (!parse_sample(l, name, sizeof(name))) {
                c->ok = false;
                CU_FAIL("malformed sample line");
                fprintf(stderr, "bad line: %.*s\n", (int)(e - l), l);
                return;
            }
            /* a histogram's samples carry a suffix */
            char base[128];
            snprintf(base, sizeof(base), "%s", name);
            if (cur >= 0 && !strcmp(c->type[cur], "histogram")) {
                size_t n = strlen(base);
                const char *sfx[] = {"_bucket", "_sum", "_count"};
                for (unsigned i = 0; i < 3; i++) {
                    size_t s = strlen(sfx[i]);
                    if (n > s && !strcmp(base + n - s, sfx[i])) {
                        base[n - s] = '\0';
                        break;
                    }
                }
            }
            if (cur < 0 || strcmp(c->fam[cur], base) || !c->type[cur][0]) {
                c->ok = false;
                CU_FAIL("sample outside its family");
                fprintf(stderr, "stray: %.*s\n", (int)(e - l), l);
                return;
            }
            c->samples++;
        }
        l = e + 1;
    }
}

/* The value of the sample line starting with `prefix` (name and labels), or -1. */
static double sample_value(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);
    for (const char *p = text; (p = strstr(p, prefix)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == ' ')
            return strtod(p + n + 1, NULL);
    return -1;
}

static const char *sample_raw(const char *text, const char *prefix, char *out, size_t cap)
{
    size_t n = strlen(prefix);
    out[0] = '\0';
    for (const char *p = text; (p = strstr(p, prefix)); p++)
        if ((p == text || p[-1] == '\n') && p[n] == ' ') {
            const char *v = p + n + 1;
            size_t k = strcspn(v, "\n");
            snprintf(out, cap, "%.*s", (int)(k < cap ? k : cap - 1), v);
            break;
        }
    return out;
}

static const struct sp_stats_proc proc = {
    .cur_conn = 5,
    .max_conn = 4000,
    .conn_tot = 1234,
    .req_tot = 1234,
    .nbthread = 4,
    .uptime_s = 3725,
    .start_time_s = 1700000000,
    .version = "0.1-dev",
};

static void test_prom_format(void)
{
    struct sp_stats_row rows[3];
    struct sp_strbuf b = {0};
    struct promcheck *c = malloc(sizeof(*c));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    fill_fe(&rows[0]);
    fill_srv(&rows[1]);
    fill_be(&rows[2]);
    CU_ASSERT_EQUAL(sp_stats_prom(&b, &proc, rows, 3, SP_PROM_ALL), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.p);
    prom_check(b.p, c);
    CU_ASSERT_TRUE(c->ok);
    CU_ASSERT(c->nfam > 60);
    CU_ASSERT(c->samples > 150);

    static const char *const must[] = {
        "haproxy_process_current_connections",
        "haproxy_process_max_connections",
        "haproxy_process_nbthread",
        "haproxy_process_uptime_seconds",
        "haproxy_process_start_time_seconds",
        "haproxy_process_build_info",
        "haproxy_frontend_current_sessions",
        "haproxy_frontend_max_sessions",
        "haproxy_frontend_limit_sessions",
        "haproxy_frontend_sessions_total",
        "haproxy_frontend_bytes_in_total",
        "haproxy_frontend_bytes_out_total",
        "haproxy_frontend_request_errors_total",
        "haproxy_frontend_http_requests_total",
        "haproxy_frontend_http_responses_total",
        "haproxy_frontend_current_session_rate",
        "haproxy_frontend_max_session_rate",
        "haproxy_frontend_http_requests_rate_max",
        "haproxy_frontend_connections_total",
        "haproxy_frontend_status",
        "haproxy_backend_current_queue",
        "haproxy_backend_max_queue",
        "haproxy_backend_current_sessions",
        "haproxy_backend_max_sessions",
        "haproxy_backend_limit_sessions",
        "haproxy_backend_sessions_total",
        "haproxy_backend_bytes_in_total",
        "haproxy_backend_bytes_out_total",
        "haproxy_backend_connection_errors_total",
        "haproxy_backend_response_errors_total",
        "haproxy_backend_retry_warnings_total",
        "haproxy_backend_redispatch_warnings_total",
        "haproxy_backend_status",
        "haproxy_backend_weight",
        "haproxy_backend_active_servers",
        "haproxy_backend_backup_servers",
        "haproxy_backend_loadbalanced_total",
        "haproxy_backend_http_requests_total",
        "haproxy_backend_http_responses_total",
        "haproxy_backend_client_aborts_total",
        "haproxy_backend_server_aborts_total",
        "haproxy_backend_queue_time_average_seconds",
        "haproxy_backend_connect_time_average_seconds",
        "haproxy_backend_response_time_average_seconds",
        "haproxy_backend_total_time_average_seconds",
        "haproxy_backend_max_queue_time_seconds",
        "haproxy_backend_max_total_time_seconds",
        "haproxy_backend_connection_attempts_total",
        "haproxy_backend_connection_reuses_total",
        "haproxy_backend_queue_time_seconds",
        "haproxy_backend_connect_time_seconds",
        "haproxy_backend_response_time_seconds",
        "haproxy_backend_total_time_seconds",
        "haproxy_server_current_sessions",
        "haproxy_server_status",
        "haproxy_server_loadbalanced_total",
        "haproxy_server_total_time_seconds",
        "haproxy_server_connection_reuses_total",
    };
    for (unsigned i = 0; i < sizeof(must) / sizeof(must[0]); i++)
        if (fam_find(c, must[i]) < 0) {
            fprintf(stderr, "missing family %s\n", must[i]);
            CU_FAIL("missing family");
        }
    /* aggregates stay on the backend; frontend-only families stay on the frontend */
    CU_ASSERT_EQUAL(fam_find(c, "haproxy_server_active_servers"), -1);
    CU_ASSERT_EQUAL(fam_find(c, "haproxy_backend_request_errors_total"), -1);
    CU_ASSERT_EQUAL(fam_find(c, "haproxy_frontend_current_queue"), -1);
    /* a server without maxconn has no limit_sessions sample, hence no family */
    CU_ASSERT_EQUAL(fam_find(c, "haproxy_server_limit_sessions"), -1);
    CU_ASSERT_STRING_EQUAL(c->type[fam_find(c, "haproxy_frontend_sessions_total")], "counter");
    CU_ASSERT_STRING_EQUAL(c->type[fam_find(c, "haproxy_frontend_current_sessions")], "gauge");
    CU_ASSERT_STRING_EQUAL(c->type[fam_find(c, "haproxy_backend_queue_time_seconds")], "histogram");

    /* values */
    const char *t = b.p;
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_frontend_current_sessions{proxy=\"web\"}"), 5);
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_frontend_limit_sessions{proxy=\"web\"}"), 310);
    CU_ASSERT_EQUAL(
        sample_value(t, "haproxy_frontend_http_responses_total{proxy=\"web\",code=\"2xx\"}"), 1200);
    CU_ASSERT_EQUAL(
        sample_value(t, "haproxy_frontend_http_responses_total{proxy=\"web\",code=\"other\"}"), 1);
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_frontend_status{proxy=\"web\",state=\"UP\"}"), 1);
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_frontend_status{proxy=\"web\",state=\"DOWN\"}"), 0);
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_frontend_http_requests_rate_max{proxy=\"web\"}"), 80);
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_server_current_sessions{proxy=\"web\",server=\"s1\"}"),
                    2);
    CU_ASSERT_EQUAL(
        sample_value(t, "haproxy_server_connection_reuses_total{proxy=\"web\",server=\"s1\"}"),
        560);
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_backend_current_queue{proxy=\"web\"}"), 1);
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_process_nbthread"), 4);
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_process_build_info{version=\"0.1-dev\"}"), 1);
    char raw[64];
    CU_ASSERT_STRING_EQUAL(sample_raw(t,
                                      "haproxy_backend_queue_time_average_seconds{proxy=\"web\"}",
                                      raw, sizeof(raw)),
                           "0.0015");
    CU_ASSERT_STRING_EQUAL(
        sample_raw(t, "haproxy_backend_max_queue_time_seconds{proxy=\"web\"}", raw, sizeof(raw)),
        "0.002");
    CU_ASSERT_STRING_EQUAL(
        sample_raw(t, "haproxy_backend_last_session_seconds{proxy=\"web\"}", raw, sizeof(raw)),
        "3");
    CU_ASSERT_STRING_EQUAL(
        sample_raw(t, "haproxy_backend_sessions_total{proxy=\"web\"}", raw, sizeof(raw)), "1230");

    free(c);
    sp_strbuf_free(&b);
}

static void test_prom_status(void)
{
    struct sp_stats_row rows[3];
    struct sp_strbuf b = {0};
    fill_fe(&rows[0]);
    rows[0].status = "STOP";
    fill_srv(&rows[1]);
    rows[1].status = "MAINT";
    fill_be(&rows[2]);
    rows[2].status = "DOWN";
    CU_ASSERT_EQUAL(sp_stats_prom(&b, NULL, rows, 3, SP_PROM_ALL), 0);
    const char *t = b.p;
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_frontend_status{proxy=\"web\",state=\"DOWN\"}"), 1);
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_frontend_status{proxy=\"web\",state=\"UP\"}"), 0);
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_backend_status{proxy=\"web\",state=\"DOWN\"}"), 1);
    static const char *const st[] = {"UP", "DOWN", "MAINT", "DRAIN", "NOLB"};
    for (unsigned i = 0; i < 5; i++) {
        char p[128];
        snprintf(p, sizeof(p), "haproxy_server_status{proxy=\"web\",server=\"s1\",state=\"%s\"}",
                 st[i]);
        CU_ASSERT_EQUAL(sample_value(t, p), i == 2 ? 1 : 0);
    }
    /* no process families without a process struct */
    CU_ASSERT_PTR_NULL(strstr(t, "haproxy_process_"));

    /* transitional and no-check states */
    sp_strbuf_reset(&b);
    rows[1].status = "UP 1/3";
    sp_stats_prom(&b, NULL, rows, 3, SP_PROM_SERVER);
    CU_ASSERT_EQUAL(
        sample_value(b.p, "haproxy_server_status{proxy=\"web\",server=\"s1\",state=\"UP\"}"), 1);
    sp_strbuf_reset(&b);
    rows[1].status = "no check";
    sp_stats_prom(&b, NULL, rows, 3, SP_PROM_SERVER);
    CU_ASSERT_EQUAL(
        sample_value(b.p, "haproxy_server_status{proxy=\"web\",server=\"s1\",state=\"UP\"}"), 1);
    sp_strbuf_free(&b);
}

/* The TYPE of a family, "" when it is absent. */
static const char *fam_type(const struct promcheck *c, const char *name)
{
    int i = fam_find(c, name);
    return i < 0 ? "" : c->type[i];
}

/* Whether `p` (may be NULL) starts with `s`. */
static bool begins(const char *p, const char *s)
{
    return p && strncmp(p, s, strlen(s)) == 0;
}

/* Number of sample lines that start with `prefix`. */
static unsigned count_samples(const char *text, const char *prefix)
{
    unsigned n = 0;
    size_t k = strlen(prefix);
    for (const char *p = text; (p = strstr(p, prefix)); p += k)
        if (p == text || p[-1] == '\n')
            n++;
    return n;
}

static void test_prom_check(void)
{
    struct sp_stats_row rows[6];
    struct sp_strbuf b = {0};
    struct promcheck *c = malloc(sizeof(*c));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    fill_fe(&rows[0]);
    fill_chk(&rows[1]); /* s1: L7STS 404, DOWN */
    fill_srv(&rows[2]); /* s2: no check */
    rows[2].svname = "s2";
    rows[2].status = "no check";
    rows[2].check_duration = -1;
    fill_chk(&rows[3]); /* s3: maintenance after a finished L4 check */
    rows[3].svname = "s3";
    rows[3].status = "MAINT";
    rows[3].chk |= SP_STATS_CHK_PAUSED;
    rows[3].check_status = "L4OK";
    rows[3].check_code = -1;
    rows[3].check_duration = 5;
    fill_chk(&rows[4]); /* s4: up, L4 check in flight, a backup */
    rows[4].svname = "s4";
    rows[4].status = "UP";
    rows[4].chk |= SP_STATS_CHK_RUNNING;
    rows[4].check_status = "L4OK";
    rows[4].check_code = -1;
    rows[4].check_duration = 1500;
    rows[4].act = 0;
    rows[4].bck = 1;
    fill_be(&rows[5]);
    rows[5].uweight = 2;
    CU_ASSERT_EQUAL(sp_stats_prom(&b, NULL, rows, 6, SP_PROM_ALL), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.p);
    const char *t = b.p;
    prom_check(t, c);
    CU_ASSERT_TRUE(c->ok);
    char raw[64];

#define S1(name)       "haproxy_server_" name "{proxy=\"web\",server=\"s1\"}"
#define SRV(name, srv) "haproxy_server_" name "{proxy=\"web\",server=\"" srv "\"}"
    /* check_status: one-hot over every finished status, HAProxy's order, only while the check
     * columns exist */
    CU_ASSERT_EQUAL(
        count_samples(t, "haproxy_server_check_status{proxy=\"web\",server=\"s1\",state="), 16);
    CU_ASSERT_EQUAL(
        sample_value(t, "haproxy_server_check_status{proxy=\"web\",server=\"s1\",state=\"L7STS\"}"),
        1);
    CU_ASSERT_EQUAL(
        sample_value(t, "haproxy_server_check_status{proxy=\"web\",server=\"s1\",state=\"L4OK\"}"),
        0);
    CU_ASSERT_EQUAL(
        sample_value(t, "haproxy_server_check_status{proxy=\"web\",server=\"s4\",state=\"L4OK\"}"),
        1); /* a check in flight keeps the last status */
    CU_ASSERT_EQUAL(
        sample_value(t, "haproxy_server_check_status{proxy=\"web\",server=\"s4\",state=\"L7STS\"}"),
        0);
    CU_ASSERT_TRUE(
        begins(strstr(t, "haproxy_server_check_status{"),
               "haproxy_server_check_status{proxy=\"web\",server=\"s1\",state=\"HANA\"} 0\n"
               "haproxy_server_check_status{proxy=\"web\",server=\"s1\",state=\"SOCKERR\"} 0\n"));
    CU_ASSERT_EQUAL(count_samples(t, "haproxy_server_check_status{proxy=\"web\",server=\"s2\""), 0);
    CU_ASSERT_EQUAL(count_samples(t, "haproxy_server_check_status{proxy=\"web\",server=\"s3\""), 0);
    /* check_code: the L7 code, 0 without one, absent without check columns */
    CU_ASSERT_EQUAL(sample_value(t, S1("check_code")), 404);
    CU_ASSERT_STRING_EQUAL(sample_raw(t, SRV("check_code", "s4"), raw, sizeof(raw)), "0");
    CU_ASSERT_EQUAL(count_samples(t, SRV("check_code", "s2")), 0);
    CU_ASSERT_EQUAL(count_samples(t, SRV("check_code", "s3")), 0);
    /* check_duration_seconds: any finished check, even paused */
    CU_ASSERT_STRING_EQUAL(sample_raw(t, S1("check_duration_seconds"), raw, sizeof(raw)), "0.001");
    CU_ASSERT_STRING_EQUAL(sample_raw(t, SRV("check_duration_seconds", "s3"), raw, sizeof(raw)),
                           "0.005");
    CU_ASSERT_STRING_EQUAL(sample_raw(t, SRV("check_duration_seconds", "s4"), raw, sizeof(raw)),
                           "1.5");
    CU_ASSERT_EQUAL(count_samples(t, SRV("check_duration_seconds", "s2")), 0);
    /* counters: while the check is enabled, paused included */
    CU_ASSERT_EQUAL(sample_value(t, S1("check_failures_total")), 3);
    CU_ASSERT_EQUAL(sample_value(t, S1("check_up_down_total")), 1);
    CU_ASSERT_EQUAL(sample_value(t, S1("downtime_seconds_total")), 17);
    CU_ASSERT_EQUAL(sample_value(t, SRV("check_failures_total", "s3")), 3);
    CU_ASSERT_EQUAL(count_samples(t, SRV("check_failures_total", "s2")), 0);
    CU_ASSERT_EQUAL(count_samples(t, SRV("downtime_seconds_total", "s2")), 0);
    /* a backend's own: always there (promex's back metrics) */
    CU_ASSERT(count_samples(t, "haproxy_backend_check_up_down_total") >= 1);
    CU_ASSERT(count_samples(t, "haproxy_backend_downtime_seconds_total") >= 1);
    /* weights, roles, last change */
    CU_ASSERT_EQUAL(sample_value(t, S1("weight")), 3);
    CU_ASSERT_EQUAL(sample_value(t, S1("uweight")), 3);
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_backend_uweight{proxy=\"web\"}"), 2);
    CU_ASSERT_EQUAL(sample_value(t, S1("check_last_change_seconds")), 42);
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_backend_active_servers{proxy=\"web\"}"), 2);
    CU_ASSERT_EQUAL(sample_value(t, "haproxy_backend_backup_servers{proxy=\"web\"}"), 0);
    CU_ASSERT_EQUAL(fam_find(c, "haproxy_server_active_servers"), -1);
    CU_ASSERT_STRING_EQUAL(fam_type(c, "haproxy_server_check_failures_total"), "counter");
    CU_ASSERT_STRING_EQUAL(fam_type(c, "haproxy_server_check_up_down_total"), "counter");
    CU_ASSERT_STRING_EQUAL(fam_type(c, "haproxy_server_downtime_seconds_total"), "counter");
    CU_ASSERT_STRING_EQUAL(fam_type(c, "haproxy_server_check_status"), "gauge");
    CU_ASSERT_STRING_EQUAL(fam_type(c, "haproxy_server_check_code"), "gauge");
    CU_ASSERT_STRING_EQUAL(fam_type(c, "haproxy_server_check_duration_seconds"), "gauge");
    /* states: HAProxy's order, DOWN first; per server */
    CU_ASSERT_TRUE(begins(strstr(t, "haproxy_server_status{"),
                          "haproxy_server_status{proxy=\"web\",server=\"s1\",state=\"DOWN\"} 1\n"
                          "haproxy_server_status{proxy=\"web\",server=\"s1\",state=\"UP\"} 0\n"
                          "haproxy_server_status{proxy=\"web\",server=\"s1\",state=\"MAINT\"} 0\n"
                          "haproxy_server_status{proxy=\"web\",server=\"s1\",state=\"DRAIN\"} 0\n"
                          "haproxy_server_status{proxy=\"web\",server=\"s1\",state=\"NOLB\"} 0\n"));
    CU_ASSERT_TRUE(begins(strstr(t, "haproxy_backend_status{"),
                          "haproxy_backend_status{proxy=\"web\",state=\"DOWN\"} 0\n"
                          "haproxy_backend_status{proxy=\"web\",state=\"UP\"} 1\n"));
    CU_ASSERT_EQUAL(
        sample_value(t, "haproxy_server_status{proxy=\"web\",server=\"s2\",state=\"UP\"}"), 1);
    CU_ASSERT_EQUAL(
        sample_value(t, "haproxy_server_status{proxy=\"web\",server=\"s3\",state=\"MAINT\"}"), 1);
    CU_ASSERT_EQUAL(
        sample_value(t, "haproxy_server_status{proxy=\"web\",server=\"s4\",state=\"UP\"}"), 1);
#undef S1
#undef SRV
    free(c);
    sp_strbuf_free(&b);
}

static void test_prom_scope(void)
{
    struct sp_stats_row rows[3];
    struct sp_strbuf b = {0};
    fill_fe(&rows[0]);
    fill_srv(&rows[1]);
    fill_be(&rows[2]);
    CU_ASSERT_EQUAL(sp_stats_prom(&b, &proc, rows, 3, SP_PROM_BACKEND), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.p);
    for (const char *l = b.p; *l; l = strchr(l, '\n') + 1) {
        const char *name = !strncmp(l, "# ", 2) ? l + 7 : l;
        CU_ASSERT_EQUAL(strncmp(name, "haproxy_backend_", 16), 0);
    }
    sp_strbuf_free(&b);
}

static void test_prom_escape(void)
{
    struct sp_stats_row r;
    struct sp_strbuf b = {0};
    struct promcheck *c = malloc(sizeof(*c));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    fill_srv(&r);
    r.pxname = "a\"b\\c\nd";
    r.svname = "x\\";
    CU_ASSERT_EQUAL(sp_stats_prom(&b, NULL, &r, 1, SP_PROM_ALL), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(
        b.p, "haproxy_server_current_sessions{proxy=\"a\\\"b\\\\c\\nd\",server=\"x\\\\\"} 2\n"));
    prom_check(b.p, c);
    CU_ASSERT_TRUE(c->ok);
    free(c);
    sp_strbuf_free(&b);
}

/* Bucket lines of one series, in order: le values and counts. */
static unsigned hist_buckets(const char *text, const char *series, char le[][16], double *cnt,
                             unsigned max)
{
    unsigned n = 0;
    size_t sl = strlen(series);
    for (const char *l = text; *l && n < max;) {
        const char *e = strchr(l, '\n');
        if (!strncmp(l, series, sl) && !strncmp(l + sl, ",le=\"", 5)) {
            const char *v = l + sl + 5;
            size_t k = strcspn(v, "\"");
            snprintf(le[n], 16, "%.*s", (int)k, v);
            cnt[n] = strtod(v + k + 3, NULL); /* past `"} ` */
            n++;
        }
        l = e + 1;
    }
    return n;
}

static void test_prom_histogram(void)
{
    struct sp_stats_row r;
    struct sp_strbuf b = {0};
    fill_srv(&r);
    struct sp_hist *h = &r.obj.hist[SP_HIST_RESPONSE];
    /* 700 us: fine bucket 640..767, all <= 1 ms: under le=0.001.
     * 1000 us: fine bucket 896..1023 straddles 1 ms: counted under 0.0025, never under 0.001.
     * 3 ms, 2 s, 200 s (beyond the ladder and the fine range: +Inf only). */
    static const uint64_t us[] = {700, 1000, 3000, 2000000, 200000000};
    uint64_t sum = 0;
    for (unsigned i = 0; i < 5; i++) {
        sp_hist_add(h, us[i]);
        sum += us[i];
    }
    CU_ASSERT_EQUAL(sum, 202004700);
    CU_ASSERT_EQUAL(sp_stats_prom(&b, NULL, &r, 1, SP_PROM_SERVER), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.p);

    char le[32][16];
    double cnt[32];
    unsigned n = hist_buckets(b.p,
                              "haproxy_server_response_time_seconds_bucket{proxy=\"web\","
                              "server=\"s1\"",
                              le, cnt, 32);
    CU_ASSERT_EQUAL(n, sp_stats_prom_nle + 1);
    CU_ASSERT_EQUAL(n, 17);
    for (unsigned i = 1; i < n; i++)
        CU_ASSERT(cnt[i] >= cnt[i - 1]);
    for (unsigned i = 0; i + 1 < n; i++)
        CU_ASSERT(strtod(le[i], NULL) < strtod(le[i + 1], NULL) || !strcmp(le[i + 1], "+Inf"));
    CU_ASSERT_STRING_EQUAL(le[0], "0.0005");
    CU_ASSERT_STRING_EQUAL(le[1], "0.001");
    CU_ASSERT_STRING_EQUAL(le[2], "0.0025");
    CU_ASSERT_STRING_EQUAL(le[10], "1");
    CU_ASSERT_STRING_EQUAL(le[11], "2.5");
    CU_ASSERT_STRING_EQUAL(le[15], "60");
    CU_ASSERT_STRING_EQUAL(le[16], "+Inf");
    CU_ASSERT_EQUAL(cnt[0], 0);  /* 0.0005 */
    CU_ASSERT_EQUAL(cnt[1], 1);  /* 0.001: the 700 us only */
    CU_ASSERT_EQUAL(cnt[2], 2);  /* 0.0025: + 1000 us */
    CU_ASSERT_EQUAL(cnt[3], 3);  /* 0.005: + 3 ms */
    CU_ASSERT_EQUAL(cnt[10], 3); /* 1 s */
    CU_ASSERT_EQUAL(cnt[11], 4); /* 2.5 s: + 2 s */
    CU_ASSERT_EQUAL(cnt[15], 4); /* 60 s */
    CU_ASSERT_EQUAL(cnt[16], 5); /* +Inf */

    char raw[64];
    CU_ASSERT_STRING_EQUAL(
        sample_raw(b.p, "haproxy_server_response_time_seconds_count{proxy=\"web\",server=\"s1\"}",
                   raw, sizeof(raw)),
        "5");
    CU_ASSERT_STRING_EQUAL(
        sample_raw(b.p, "haproxy_server_response_time_seconds_sum{proxy=\"web\",server=\"s1\"}",
                   raw, sizeof(raw)),
        "202.0047");
    /* an empty histogram: every bucket 0, sum 0 */
    CU_ASSERT_STRING_EQUAL(
        sample_raw(b.p,
                   "haproxy_server_queue_time_seconds_bucket{proxy=\"web\",server=\"s1\","
                   "le=\"+Inf\"}",
                   raw, sizeof(raw)),
        "0");
    CU_ASSERT_STRING_EQUAL(
        sample_raw(b.p, "haproxy_server_queue_time_seconds_sum{proxy=\"web\",server=\"s1\"}", raw,
                   sizeof(raw)),
        "0");

    /* the ladder rule against every fine bucket: a bucket is under the first le >= its bound */
    for (unsigned i = 0; i < SP_HIST_BUCKETS; i++) {
        uint64_t ub = sp_hist_bucket_le(i);
        struct sp_stats_row one;
        fill_srv(&one);
        sp_hist_add(&one.obj.hist[SP_HIST_TOTAL], ub);
        sp_strbuf_reset(&b);
        sp_stats_prom(&b, NULL, &one, 1, SP_PROM_SERVER);
        n = hist_buckets(b.p,
                         "haproxy_server_total_time_seconds_bucket{proxy=\"web\","
                         "server=\"s1\"",
                         le, cnt, 32);
        CU_ASSERT_EQUAL_FATAL(n, 17);
        for (unsigned l = 0; l < sp_stats_prom_nle; l++) {
            double want = sp_stats_prom_le[l] >= ub ? 1 : 0;
            if (cnt[l] != want) {
                fprintf(stderr, "bucket %u (le %llu us) at ladder %s: %g\n", i,
                        (unsigned long long)ub, le[l], cnt[l]);
                CU_FAIL("bucket under the wrong le");
            }
        }
        CU_ASSERT_EQUAL(cnt[16], 1);
    }
    sp_strbuf_free(&b);
}

/* ---- HTML ---- */

static unsigned count(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void test_html(void)
{
    struct sp_stats_row rows[5];
    struct sp_strbuf b = {0};
    fill_fe(&rows[0]);
    rows[0].pxname = "<script>alert(1)</script>";
    fill_srv(&rows[1]);
    rows[1].pxname = rows[0].pxname;
    rows[1].svname = "s&\"1\"";
    fill_be(&rows[2]);
    rows[2].pxname = rows[0].pxname;
    fill_fe(&rows[3]);
    rows[3].pxname = "api";
    rows[3].iid = 3;
    fill_be(&rows[4]);
    rows[4].pxname = "api";
    rows[4].iid = 3;
    rows[4].status = "DOWN";

    struct sp_stats_html_opts o = {.uri = "/stats", .refresh = 5, .proc = &proc};
    CU_ASSERT_EQUAL(sp_stats_html(&b, &o, rows, 5), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.p);
    const char *t = b.p;
    CU_ASSERT_EQUAL(strncmp(t, "<!DOCTYPE html>", 15), 0);
    CU_ASSERT_PTR_NULL(strstr(t, "<script"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "s&amp;&quot;1&quot;"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "<meta http-equiv=\"refresh\" content=\"5\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "href=\"/stats;csv\""));
    CU_ASSERT_EQUAL(count(t, "<table>"), 2);
    CU_ASSERT_EQUAL(count(t, "</table>"), 2);
    CU_ASSERT_EQUAL(count(t, "<tr"), 2 * 2 + 5);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, ">FRONTEND<"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, ">BACKEND<"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "<td class=\"down\">DOWN</td>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "<td>1200</td>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "0.1-dev"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "</body></html>\n"));

    sp_strbuf_reset(&b);
    o.refresh = 0;
    o.uri = NULL;
    o.proc = NULL;
    CU_ASSERT_EQUAL(sp_stats_html(&b, &o, rows, 5), 0);
    CU_ASSERT_PTR_NULL(strstr(b.p, "http-equiv"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "href=\"/haproxy?stats;csv\""));

    /* no options, no rows */
    sp_strbuf_reset(&b);
    CU_ASSERT_EQUAL(sp_stats_html(&b, NULL, NULL, 0), 0);
    CU_ASSERT_EQUAL(count(b.p, "<table>"), 0);
    sp_strbuf_free(&b);
}

/* The <tr ...> line of server `name` (up to its end) in `out`. */
static const char *html_line(const char *t, const char *name, char *out, size_t cap)
{
    char key[64];
    snprintf(key, sizeof(key), "<td class=\"n\">%s</td>", name);
    const char *p = strstr(t, key);
    out[0] = '\0';
    if (!p)
        return out;
    const char *s = p;
    while (s > t && strncmp(s, "<tr", 3))
        s--;
    const char *e = strchr(p, '\n');
    size_t n = e ? (size_t)(e - s) : strlen(s);
    snprintf(out, cap, "%.*s", (int)(n < cap ? n : cap - 1), s);
    return out;
}

static void test_html_servers(void)
{
    static const struct {
        const char *name, *status;
        bool backup, check;
        int health; /* rise 2, fall 3: max 4 */
        const char *cls, *cell;
    } cases[] = {
        {"up", "UP", false, true, 4, "active_up", "<td>UP</td>"},
        {"goingdown", "UP 1/3", false, true, 2, "active_going_down", "<td>UP 1/3 &darr;</td>"},
        {"down", "DOWN", false, true, 0, "active_down", "<td>DOWN</td>"},
        {"goingup", "DOWN 1/2", true, true, 1, "backup_going_up", "<td>DOWN 1/2 &uarr;</td>"},
        {"bkup", "UP", true, true, 4, "backup_up", "<td>UP</td>"},
        {"maint", "MAINT", false, true, 0, "maintain", "<td>MAINT</td>"},
        {"drain", "DRAIN", false, true, 4, "active_draining", "<td>DRAIN</td>"},
        {"nolb", "NOLB", false, true, 4, "active_nolb", "<td>NOLB</td>"},
        {"nochk", "no check", false, false, 0, "active_no_check", "<td><i>no check</i></td>"},
        {"zero", "UP", false, true, 4, "active_draining", "<td>UP</td>"}, /* weight 0 */
    };
    enum { N = SP_ARRAY_SIZE(cases) };
    struct sp_stats_row rows[N];
    struct sp_strbuf b = {0};
    char line[4096], want[128];

    for (unsigned i = 0; i < N; i++) {
        fill_chk(&rows[i]);
        rows[i].svname = cases[i].name;
        rows[i].status = cases[i].status;
        rows[i].act = !cases[i].backup;
        rows[i].bck = cases[i].backup;
        rows[i].check_rise = 2;
        rows[i].check_fall = 3;
        rows[i].check_health = cases[i].health;
        rows[i].chk = cases[i].check ? SP_STATS_CHK_ENABLED : 0;
        if (!strcmp(cases[i].name, "maint"))
            rows[i].chk |= SP_STATS_CHK_PAUSED;
        if (!strcmp(cases[i].name, "zero"))
            rows[i].weight = 0;
    }
    CU_ASSERT_EQUAL(sp_stats_html(&b, NULL, rows, N), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.p);
    for (unsigned i = 0; i < N; i++) {
        html_line(b.p, cases[i].name, line, sizeof(line));
        snprintf(want, sizeof(want), "<tr class=\"%s\">", cases[i].cls);
        if (strncmp(line, want, strlen(want)) || !strstr(line, cases[i].cell)) {
            fprintf(stderr, "server %s: %s\n", cases[i].name, line);
            CU_FAIL("server line class or status cell");
        }
    }
    /* the last check: status/code in duration, description and detail in the tooltip */
    html_line(b.p, "down", line, sizeof(line));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(line, "<td title=\"Layer7 wrong status: Not Found\">L7STS/404 in 1ms</td>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(line, "<td>3</td><td>1</td><td>17</td>")); /* Chk Dwn Dwntme */
    html_line(b.p, "nochk", line, sizeof(line));
    CU_ASSERT_PTR_NULL(strstr(line, "L7STS"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.p, ".active_up{background:#c0ffc0}"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "<th>LastChk</th>"));
    sp_strbuf_free(&b);
}

void test_render_register(void)
{
    CU_pSuite s = sp_unit_suite("stats/render");
    sp_unit_test(s, "strbuf", test_strbuf);
    sp_unit_test(s, "csv header", test_csv_header);
    sp_unit_test(s, "csv frontend row", test_csv_frontend);
    sp_unit_test(s, "csv backend row", test_csv_backend);
    sp_unit_test(s, "csv server row", test_csv_server);
    sp_unit_test(s, "csv and typed listener row", test_csv_listener);
    sp_unit_test(s, "csv quoting", test_csv_quoting);
    sp_unit_test(s, "csv health check columns", test_csv_check);
    sp_unit_test(s, "typed", test_typed);
    sp_unit_test(s, "typed health check columns", test_typed_check);
    sp_unit_test(s, "prometheus format", test_prom_format);
    sp_unit_test(s, "prometheus status", test_prom_status);
    sp_unit_test(s, "prometheus health check families", test_prom_check);
    sp_unit_test(s, "prometheus scope", test_prom_scope);
    sp_unit_test(s, "prometheus label escaping", test_prom_escape);
    sp_unit_test(s, "prometheus histogram", test_prom_histogram);
    sp_unit_test(s, "html", test_html);
    sp_unit_test(s, "html server states", test_html_servers);
}
