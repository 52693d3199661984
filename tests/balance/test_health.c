/* tests/balance/test_health.c - the live server state of balance/health.c through its public
 * API: the initial state, HAProxy 2.6's health counter rules (src/check.c
 * set_server_check_status), the state changes and counters they lead to, the operator's
 * commands (maintenance, drain, health, weight, disable health), the `status` column text,
 * the check status names, lock-free readers against a writer (this suite also runs under
 * TSan), and what sp_backend_pick_rr() makes of those states with backup servers. Expected
 * values come from /tmp/spec-12.md §1.1, §2 and §4 (observed on HAProxy 2.6.12). */
#include "balance/health.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "balance/balance.h"
#include "core/config.h"
#include "tests/unit.h"

/* A copy of the record and its status text. */
static struct sp_srv_hstate rd(const struct sp_srv_health *h)
{
    struct sp_srv_hstate st;

    memset(&st, 0xa5, sizeof(st));
    sp_srv_health_read(h, &st);
    return st;
}

static const char *text(const struct sp_srv_health *h)
{
    static char buf[64];
    struct sp_srv_hstate st = rd(h);

    memset(buf, 0, sizeof(buf));
    sp_srv_status_text(&st, buf, sizeof(buf));
    return buf;
}

#define ASSERT_TEXT(h, want)                                                                       \
    do {                                                                                           \
        const char *t_ = text(h);                                                                  \
        if (strcmp(t_, (want)) != 0)                                                               \
            fprintf(stderr, "\n  %s:%d: status text \"%s\", expected \"%s\"\n", __FILE__,          \
                    __LINE__, t_, (want));                                                         \
        CU_ASSERT_STRING_EQUAL(t_, (want));                                                        \
    } while (0)

/* sp_srv_health_init() with the address every test server has: 127.0.0.1:80 */
static void hinit(struct sp_srv_health *h, int weight, bool backup, bool disabled, bool check,
                  int rise, int fall, uint64_t now_ms)
{
    struct sockaddr_storage ss;
    struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

    memset(&ss, 0, sizeof(ss));
    sin->sin_family = AF_INET;
    sin->sin_port = htons(80);
    sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sp_srv_health_init(h, weight, backup, disabled, check, rise, fall, now_ms, &ss, sizeof(*sin));
}

/* rise 2, fall 3, weight 1: HAProxy's defaults */
static void init_checked(struct sp_srv_health *h, uint64_t now_ms)
{
    hinit(h, 1, false, false, true, 2, 3, now_ms);
}

/* ---- initial state ------------------------------------------------------------------- */

static void test_init_checked(void)
{
    static struct sp_srv_health h;
    struct sp_srv_hstate st;

    init_checked(&h, 100);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.op, SP_SRV_RUNNING);
    CU_ASSERT_EQUAL(st.admin, 0);
    CU_ASSERT_EQUAL(st.health, 2); /* = rise: "UP, falls at the first failure" */
    CU_ASSERT_EQUAL(st.rise, 2);
    CU_ASSERT_EQUAL(st.fall, 3);
    CU_ASSERT_EQUAL(st.uweight, 1);
    CU_ASSERT_EQUAL(st.iweight, 1);
    CU_ASSERT_EQUAL(st.status, SP_CHK_INI);
    CU_ASSERT_EQUAL(st.result, SP_CHK_RES_UNKNOWN);
    CU_ASSERT_EQUAL(st.code, 0);
    CU_ASSERT_EQUAL(st.backup, 0);
    CU_ASSERT_EQUAL(st.chk_state, SP_CHK_ST_CONFIGURED | SP_CHK_ST_ENABLED); /* 6 */
    CU_ASSERT_EQUAL(st.duration_ms, -1);
    CU_ASSERT_EQUAL(st.chkfail, 0);
    CU_ASSERT_EQUAL(st.chkdown, 0);
    CU_ASSERT_EQUAL(st.lastchg_ms, 100);
    CU_ASSERT_EQUAL(st.downtime_ms, 0);
    CU_ASSERT_STRING_EQUAL(st.info, "");
    CU_ASSERT_EQUAL(st.addrlen, sizeof(struct sockaddr_in));
    CU_ASSERT_EQUAL(st.addr.ss_family, AF_INET);
    CU_ASSERT_EQUAL(ntohs(((const struct sockaddr_in *)&st.addr)->sin_port), 80);
    CU_ASSERT_TRUE(sp_srv_usable(&st));
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 1);
    CU_ASSERT_EQUAL(sp_srv_downtime_ms(&st, 5000), 0);
    ASSERT_TEXT(&h, "UP 1/3");

    /* fall 1: rise+fall-1 == rise, so the initial state is already fully UP */
    hinit(&h, 1, false, false, true, 2, 1, 0);
    ASSERT_TEXT(&h, "UP");
    /* rise 5 fall 4: "UP 1/4" */
    hinit(&h, 1, false, false, true, 5, 4, 0);
    CU_ASSERT_EQUAL(rd(&h).health, 5);
    ASSERT_TEXT(&h, "UP 1/4");

    /* weight 7, backup */
    hinit(&h, 7, true, false, true, 2, 3, 0);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.backup, 1);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 7);
    /* weight 0: running but not usable; the text does not show the weight */
    hinit(&h, 0, false, false, true, 2, 3, 0);
    st = rd(&h);
    CU_ASSERT_FALSE(sp_srv_usable(&st));
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 0);
    ASSERT_TEXT(&h, "UP 1/3");
}

static void test_init_unchecked_disabled(void)
{
    static struct sp_srv_health h;
    struct sp_srv_hstate st;

    hinit(&h, 3, false, false, false, 2, 3, 10);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.op, SP_SRV_RUNNING);
    CU_ASSERT_EQUAL(st.chk_state, 0);
    CU_ASSERT_EQUAL(st.status, SP_CHK_UNK);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 3);
    ASSERT_TEXT(&h, "no check");

    /* `disabled` with check: MAINT (admin FMAINT|CMAINT = 5), STOPPED, health 0, check paused
     * (14 in `show servers state`) */
    hinit(&h, 3, false, true, true, 2, 3, 10);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.op, SP_SRV_STOPPED);
    CU_ASSERT_EQUAL(st.admin, 5);
    CU_ASSERT_EQUAL(st.admin, SP_SRV_FMAINT | SP_SRV_CMAINT);
    CU_ASSERT_EQUAL(st.health, 0);
    CU_ASSERT_EQUAL(st.chk_state, 14);
    CU_ASSERT_EQUAL(st.chkdown, 0); /* starting in maintenance is no transition */
    CU_ASSERT_FALSE(sp_srv_usable(&st));
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 0);
    ASSERT_TEXT(&h, "MAINT");

    /* `disabled` without check */
    hinit(&h, 3, false, true, false, 2, 3, 10);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.admin, 5);
    CU_ASSERT_EQUAL(st.op, SP_SRV_STOPPED);
    CU_ASSERT_EQUAL(st.chk_state, 0);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 0);
    ASSERT_TEXT(&h, "MAINT");
}

/* ---- check results ------------------------------------------------------------------- */

static void test_first_failure_then_rise(void)
{
    static struct sp_srv_health h;
    struct sp_srv_hstate st;

    init_checked(&h, 0);
    /* the first failure from the initial state: DOWN at once (health rise-1 < rise -> 0) */
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L4CON, 0, 3, "Connection refused", 1000),
                    SP_SRV_CH_DOWN);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.op, SP_SRV_STOPPED);
    CU_ASSERT_EQUAL(st.health, 0);
    CU_ASSERT_EQUAL(st.chkfail, 1);
    CU_ASSERT_EQUAL(st.chkdown, 1);
    CU_ASSERT_EQUAL(st.status, SP_CHK_L4CON);
    CU_ASSERT_EQUAL(st.result, SP_CHK_RES_FAILED);
    CU_ASSERT_EQUAL(st.code, 0);
    CU_ASSERT_EQUAL(st.duration_ms, 3);
    CU_ASSERT_STRING_EQUAL(st.info, "Connection refused");
    CU_ASSERT_EQUAL(st.lastchg_ms, 1000);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 0);
    ASSERT_TEXT(&h, "DOWN");

    /* a failure at health 0 changes nothing and is not counted */
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L4TOUT, 0, 2000, NULL, 1500), SP_SRV_CH_NONE);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.health, 0);
    CU_ASSERT_EQUAL(st.chkfail, 1);
    CU_ASSERT_EQUAL(st.chkdown, 1);
    CU_ASSERT_EQUAL(st.op, SP_SRV_STOPPED);
    CU_ASSERT_EQUAL(st.lastchg_ms, 1000);
    CU_ASSERT_STRING_EQUAL(st.info, ""); /* NULL info: empty */
    ASSERT_TEXT(&h, "DOWN");

    /* rise successes: "DOWN 1/2", then UP with health = rise+fall-1 */
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L4OK, 0, 0, NULL, 2000), SP_SRV_CH_NONE);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.health, 1);
    CU_ASSERT_EQUAL(st.op, SP_SRV_STOPPED);
    CU_ASSERT_EQUAL(st.result, SP_CHK_RES_PASSED);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 0);
    ASSERT_TEXT(&h, "DOWN 1/2");
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L4OK, 0, 1, NULL, 4000), SP_SRV_CH_UP);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.health, 4);
    CU_ASSERT_EQUAL(st.op, SP_SRV_RUNNING);
    CU_ASSERT_EQUAL(st.lastchg_ms, 4000);
    CU_ASSERT_EQUAL(st.chkdown, 1);
    CU_ASSERT_EQUAL(st.chkfail, 1);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 1);
    ASSERT_TEXT(&h, "UP");
    /* a success at the top changes nothing */
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L4OK, 0, 1, NULL, 4500), SP_SRV_CH_NONE);
    CU_ASSERT_EQUAL(rd(&h).health, 4);
    CU_ASSERT_EQUAL(rd(&h).lastchg_ms, 4000);
}

static void test_first_success(void)
{
    static struct sp_srv_health h;
    struct sp_srv_hstate st;

    /* the first success from the initial state: fully UP (health rise+1 >= rise -> max),
     * no state change to report */
    init_checked(&h, 50);
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L7OK, 200, 1, NULL, 1000), SP_SRV_CH_NONE);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.health, 4);
    CU_ASSERT_EQUAL(st.op, SP_SRV_RUNNING);
    CU_ASSERT_EQUAL(st.status, SP_CHK_L7OK);
    CU_ASSERT_EQUAL(st.code, 200);
    CU_ASSERT_EQUAL(st.lastchg_ms, 50);
    ASSERT_TEXT(&h, "UP");
}

static void test_fall_from_up(void)
{
    static struct sp_srv_health h;
    struct sp_srv_hstate st;

    init_checked(&h, 0);
    sp_srv_check_done(&h, SP_CHK_L7OK, 200, 1, NULL, 100); /* fully UP */
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L7STS, 404, 1, "Not Found", 200), SP_SRV_CH_NONE);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.health, 3);
    CU_ASSERT_EQUAL(st.chkfail, 1);
    CU_ASSERT_EQUAL(st.code, 404);
    CU_ASSERT_STRING_EQUAL(st.info, "Not Found");
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 1); /* still usable while UP */
    ASSERT_TEXT(&h, "UP 2/3");
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L7TOUT, 0, 2000, NULL, 300), SP_SRV_CH_NONE);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.health, 2);
    CU_ASSERT_EQUAL(st.code, 0); /* L7TOUT has no code */
    ASSERT_TEXT(&h, "UP 1/3");
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L7RSP, 0, 1, NULL, 400), SP_SRV_CH_DOWN);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.health, 0);
    CU_ASSERT_EQUAL(st.chkfail, 3);
    CU_ASSERT_EQUAL(st.chkdown, 1);
    CU_ASSERT_EQUAL(st.op, SP_SRV_STOPPED);
    CU_ASSERT_EQUAL(st.lastchg_ms, 400);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 0);
    ASSERT_TEXT(&h, "DOWN");

    /* a success between failures climbs back to the top */
    init_checked(&h, 0);
    sp_srv_check_done(&h, SP_CHK_L4OK, 0, 0, NULL, 1);
    sp_srv_check_done(&h, SP_CHK_L4CON, 0, 0, NULL, 2);
    ASSERT_TEXT(&h, "UP 2/3");
    sp_srv_check_done(&h, SP_CHK_L4OK, 0, 0, NULL, 3);
    ASSERT_TEXT(&h, "UP");
    CU_ASSERT_EQUAL(rd(&h).chkfail, 1);
}

static void test_condpass(void)
{
    static struct sp_srv_health h;
    struct sp_srv_hstate st;

    init_checked(&h, 0);
    sp_srv_check_done(&h, SP_CHK_L7OK, 200, 1, NULL, 100);
    /* disable-on-404: L7OKC moves a running server to STOPPING (NOLB) */
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L7OKC, 404, 1, NULL, 200), SP_SRV_CH_STOPPING);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.op, SP_SRV_STOPPING);
    CU_ASSERT_EQUAL(st.result, SP_CHK_RES_CONDPASS);
    CU_ASSERT_EQUAL(st.code, 404);
    CU_ASSERT_EQUAL(st.health, 4);
    CU_ASSERT_EQUAL(st.lastchg_ms, 200);
    CU_ASSERT_EQUAL(st.chkdown, 0);
    CU_ASSERT_FALSE(sp_srv_usable(&st));
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 0);
    ASSERT_TEXT(&h, "NOLB");
    /* again: no change */
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L7OKC, 404, 1, NULL, 300), SP_SRV_CH_NONE);
    /* a plain pass brings it back UP */
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L7OK, 200, 1, NULL, 400), SP_SRV_CH_UP);
    CU_ASSERT_EQUAL(rd(&h).op, SP_SRV_RUNNING);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 1);
    ASSERT_TEXT(&h, "UP");
    /* NOLB falling: "NOLB 2/3" */
    sp_srv_check_done(&h, SP_CHK_L7OKC, 404, 1, NULL, 500);
    sp_srv_check_done(&h, SP_CHK_L7STS, 500, 1, "Internal Server Error", 600);
    ASSERT_TEXT(&h, "NOLB 2/3");
}

static void test_downtime(void)
{
    static struct sp_srv_health h;
    struct sp_srv_hstate st;

    init_checked(&h, 0);
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L4CON, 0, 0, NULL, 1000), SP_SRV_CH_DOWN);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.downtime_ms, 0); /* the stored part */
    CU_ASSERT_EQUAL(sp_srv_downtime_ms(&st, 1000), 0);
    CU_ASSERT_EQUAL(sp_srv_downtime_ms(&st, 2500), 1500); /* the current period counts */
    sp_srv_check_done(&h, SP_CHK_L4OK, 0, 0, NULL, 3000);
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L4OK, 0, 0, NULL, 4000), SP_SRV_CH_UP);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.downtime_ms, 3000);
    CU_ASSERT_EQUAL(st.lastchg_ms, 4000);
    CU_ASSERT_EQUAL(sp_srv_downtime_ms(&st, 9000), 3000); /* UP: no more */

    /* a second period adds to the first */
    sp_srv_check_done(&h, SP_CHK_L4CON, 0, 0, NULL, 10000);
    sp_srv_check_done(&h, SP_CHK_L4CON, 0, 0, NULL, 11000);
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L4CON, 0, 0, NULL, 12000), SP_SRV_CH_DOWN);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.lastchg_ms, 12000);
    CU_ASSERT_EQUAL(st.chkdown, 2);
    CU_ASSERT_EQUAL(sp_srv_downtime_ms(&st, 12500), 3500);
    /* maintenance and back: the time in maintenance is down time too */
    sp_srv_set_op(&h, SP_SRV_RUNNING, 13000); /* +1000 */
    CU_ASSERT_EQUAL(rd(&h).downtime_ms, 4000);
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, SP_SRV_FMAINT, 20000), SP_SRV_CH_MAINT);
    CU_ASSERT_EQUAL(rd(&h).lastchg_ms, 20000);
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, 0, 22000), SP_SRV_CH_READY);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.downtime_ms, 6000);
    CU_ASSERT_EQUAL(st.lastchg_ms, 22000);
}

static void test_check_running(void)
{
    static struct sp_srv_health h;

    init_checked(&h, 0);
    sp_srv_check_running(&h, true);
    CU_ASSERT_EQUAL(rd(&h).chk_state,
                    SP_CHK_ST_INPROGRESS | SP_CHK_ST_CONFIGURED | SP_CHK_ST_ENABLED);
    sp_srv_check_done(&h, SP_CHK_L4OK, 0, 0, NULL, 1);
    CU_ASSERT_EQUAL(rd(&h).chk_state, 6); /* a finished check is no longer in progress */
    sp_srv_check_running(&h, true);
    sp_srv_check_running(&h, false);
    CU_ASSERT_EQUAL(rd(&h).chk_state, 6);
}

/* ---- operator commands --------------------------------------------------------------- */

static void test_admin_maint_ready(void)
{
    static struct sp_srv_health h;
    struct sp_srv_hstate st;

    init_checked(&h, 0);
    sp_srv_check_done(&h, SP_CHK_L4OK, 0, 0, NULL, 100); /* fully UP */
    /* maintenance from UP: going DOWN for maintenance, a transition to DOWN */
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, SP_SRV_FMAINT, 1000), SP_SRV_CH_MAINT);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.admin, SP_SRV_FMAINT);
    CU_ASSERT_EQUAL(st.op, SP_SRV_STOPPED);
    CU_ASSERT_EQUAL(st.health, 0);
    CU_ASSERT_EQUAL(st.chkdown, 1);
    CU_ASSERT_EQUAL(st.chk_state, 14); /* configured, enabled, paused */
    CU_ASSERT_EQUAL(st.lastchg_ms, 1000);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 0);
    ASSERT_TEXT(&h, "MAINT");
    /* again: nothing */
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, SP_SRV_FMAINT, 1100), SP_SRV_CH_NONE);
    CU_ASSERT_EQUAL(rd(&h).chkdown, 1);
    CU_ASSERT_EQUAL(rd(&h).lastchg_ms, 1000);

    /* paused: results are dropped, whatever they say */
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L4CON, 0, 0, "x", 1200), SP_SRV_CH_NONE);
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L4OK, 0, 0, NULL, 1300), SP_SRV_CH_NONE);
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L4OK, 0, 0, NULL, 1400), SP_SRV_CH_NONE);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.health, 0);
    CU_ASSERT_EQUAL(st.op, SP_SRV_STOPPED);
    CU_ASSERT_EQUAL(st.chkfail, 0);
    CU_ASSERT_EQUAL(st.status, SP_CHK_L4OK); /* the one before maintenance */
    CU_ASSERT_STRING_EQUAL(st.info, "");
    CU_ASSERT_EQUAL(st.lastchg_ms, 1000);
    ASSERT_TEXT(&h, "MAINT");
    /* `set server health up` does nothing in maintenance */
    CU_ASSERT_EQUAL(sp_srv_set_op(&h, SP_SRV_RUNNING, 1500), SP_SRV_CH_NONE);
    ASSERT_TEXT(&h, "MAINT");

    /* ready: "start OK but check immediately": health = rise, RUNNING, "UP 1/3" */
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, 0, 2000), SP_SRV_CH_READY);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.admin, 0);
    CU_ASSERT_EQUAL(st.op, SP_SRV_RUNNING);
    CU_ASSERT_EQUAL(st.health, 2);
    CU_ASSERT_EQUAL(st.chk_state, 6);
    CU_ASSERT_EQUAL(st.chkdown, 1);
    CU_ASSERT_EQUAL(st.lastchg_ms, 2000);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 1);
    ASSERT_TEXT(&h, "UP 1/3");
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, 0, 2100), SP_SRV_CH_NONE);
    /* checks count again: the first failure takes it DOWN */
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L4CON, 0, 0, NULL, 3000), SP_SRV_CH_DOWN);
    CU_ASSERT_EQUAL(rd(&h).chkdown, 2);

    /* maintenance when already DOWN: "was DOWN and now enters maintenance", no new
     * transition to DOWN */
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, SP_SRV_FMAINT, 4000), SP_SRV_CH_MAINT_DOWN);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.admin, SP_SRV_FMAINT);
    CU_ASSERT_EQUAL(st.chkdown, 2);
    CU_ASSERT_EQUAL(st.chk_state, 14);
    ASSERT_TEXT(&h, "MAINT");

    /* a `disabled` server leaves maintenance the same way (CMAINT cleared too) */
    hinit(&h, 2, false, true, true, 2, 3, 0);
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, 0, 500), SP_SRV_CH_READY);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.admin, 0);
    CU_ASSERT_EQUAL(st.op, SP_SRV_RUNNING);
    CU_ASSERT_EQUAL(st.health, 2);
    CU_ASSERT_EQUAL(st.chk_state, 6);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 2);
    ASSERT_TEXT(&h, "UP 1/3");

    /* unchecked: maintenance and back, "no check" */
    hinit(&h, 1, false, false, false, 2, 3, 0);
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, SP_SRV_FMAINT, 10), SP_SRV_CH_MAINT);
    CU_ASSERT_EQUAL(rd(&h).chk_state, 0); /* nothing to pause */
    ASSERT_TEXT(&h, "MAINT");
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, 0, 20), SP_SRV_CH_READY);
    ASSERT_TEXT(&h, "no check");
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 1);
}

static void test_admin_drain(void)
{
    static struct sp_srv_health h;
    struct sp_srv_hstate st;

    init_checked(&h, 0);
    sp_srv_check_done(&h, SP_CHK_L4OK, 0, 0, NULL, 100);
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, SP_SRV_FDRAIN, 1000), SP_SRV_CH_DRAIN);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.admin, SP_SRV_FDRAIN);
    CU_ASSERT_EQUAL(st.op, SP_SRV_RUNNING);
    CU_ASSERT_EQUAL(st.health, 4);
    CU_ASSERT_EQUAL(st.chkdown, 0);
    CU_ASSERT_EQUAL(st.lastchg_ms, 1000);
    CU_ASSERT_FALSE(sp_srv_usable(&st));
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 0);
    ASSERT_TEXT(&h, "DRAIN");
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, SP_SRV_FDRAIN, 1100), SP_SRV_CH_NONE);
    /* checks still run while draining */
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L4CON, 0, 0, NULL, 1200), SP_SRV_CH_NONE);
    ASSERT_TEXT(&h, "DRAIN 2/3");
    sp_srv_check_done(&h, SP_CHK_L4OK, 0, 0, NULL, 1300);
    ASSERT_TEXT(&h, "DRAIN");
    /* ready from drain: leaves forced drain */
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, 0, 2000), SP_SRV_CH_UNDRAIN);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.admin, 0);
    CU_ASSERT_EQUAL(st.lastchg_ms, 2000);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 1);
    ASSERT_TEXT(&h, "UP");

    /* drain from the initial state shows the counter */
    init_checked(&h, 0);
    sp_srv_set_admin(&h, SP_SRV_FDRAIN, 10);
    ASSERT_TEXT(&h, "DRAIN 1/3");

    /* maint from drain clears the drain flag; drain from maint leaves maintenance into drain */
    init_checked(&h, 0);
    sp_srv_set_admin(&h, SP_SRV_FDRAIN, 10);
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, SP_SRV_FMAINT, 20), SP_SRV_CH_MAINT);
    CU_ASSERT_EQUAL(rd(&h).admin, SP_SRV_FMAINT);
    CU_ASSERT_EQUAL(sp_srv_set_admin(&h, SP_SRV_FDRAIN, 30), SP_SRV_CH_DRAIN);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.admin, SP_SRV_FDRAIN);
    CU_ASSERT_EQUAL(st.op, SP_SRV_RUNNING);
    CU_ASSERT_EQUAL(st.health, 2);
    CU_ASSERT_EQUAL(st.chk_state, 6);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 0);
    ASSERT_TEXT(&h, "DRAIN 1/3");
}

static void test_set_op(void)
{
    static struct sp_srv_health h;
    struct sp_srv_hstate st;

    init_checked(&h, 0);
    CU_ASSERT_EQUAL(sp_srv_set_op(&h, SP_SRV_STOPPING, 100), SP_SRV_CH_STOPPING);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.op, SP_SRV_STOPPING);
    CU_ASSERT_EQUAL(st.health, 4); /* health = max */
    CU_ASSERT_EQUAL(st.lastchg_ms, 100);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 0);
    ASSERT_TEXT(&h, "NOLB");
    CU_ASSERT_EQUAL(sp_srv_set_op(&h, SP_SRV_STOPPING, 150), SP_SRV_CH_NONE);
    CU_ASSERT_EQUAL(sp_srv_set_op(&h, SP_SRV_STOPPED, 200), SP_SRV_CH_DOWN);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.op, SP_SRV_STOPPED);
    CU_ASSERT_EQUAL(st.health, 0);
    CU_ASSERT_EQUAL(st.chkdown, 1);
    CU_ASSERT_EQUAL(st.chkfail, 0); /* not a check */
    CU_ASSERT_EQUAL(st.lastchg_ms, 200);
    ASSERT_TEXT(&h, "DOWN");
    CU_ASSERT_EQUAL(sp_srv_set_op(&h, SP_SRV_STOPPED, 250), SP_SRV_CH_NONE);
    CU_ASSERT_EQUAL(rd(&h).chkdown, 1);
    CU_ASSERT_EQUAL(sp_srv_set_op(&h, SP_SRV_RUNNING, 300), SP_SRV_CH_UP);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.op, SP_SRV_RUNNING);
    CU_ASSERT_EQUAL(st.health, 4);
    CU_ASSERT_EQUAL(st.downtime_ms, 100);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 1);
    ASSERT_TEXT(&h, "UP");
    CU_ASSERT_EQUAL(sp_srv_set_op(&h, SP_SRV_RUNNING, 350), SP_SRV_CH_NONE);
    /* set_op on an unchecked server: the text follows the op */
    hinit(&h, 1, false, false, false, 2, 3, 0);
    CU_ASSERT_EQUAL(sp_srv_set_op(&h, SP_SRV_STOPPED, 10), SP_SRV_CH_DOWN);
    ASSERT_TEXT(&h, "DOWN");
    CU_ASSERT_EQUAL(sp_srv_set_op(&h, SP_SRV_STOPPING, 20), SP_SRV_CH_STOPPING);
    ASSERT_TEXT(&h, "NOLB");
}

static void test_set_weight(void)
{
    static struct sp_srv_health h;
    struct sp_srv_hstate st;

    init_checked(&h, 0);
    sp_srv_check_done(&h, SP_CHK_L4OK, 0, 0, NULL, 100);
    CU_ASSERT_EQUAL(sp_srv_set_weight(&h, 0, 200), SP_SRV_CH_WEIGHT);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.uweight, 0);
    CU_ASSERT_EQUAL(st.iweight, 1);
    CU_ASSERT_EQUAL(st.op, SP_SRV_RUNNING);
    CU_ASSERT_FALSE(sp_srv_usable(&st));
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 0);
    ASSERT_TEXT(&h, "UP"); /* weight 0 does not change `status` */
    CU_ASSERT_EQUAL(sp_srv_set_weight(&h, 256, 300), SP_SRV_CH_WEIGHT);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 256);
    CU_ASSERT_EQUAL(rd(&h).iweight, 1);
    /* a weight on a server in maintenance is kept for later */
    sp_srv_set_admin(&h, SP_SRV_FMAINT, 400);
    sp_srv_set_weight(&h, 9, 500);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 0);
    sp_srv_set_admin(&h, 0, 600);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 9);
}

static void test_check_enable(void)
{
    static struct sp_srv_health h;
    struct sp_srv_hstate st;

    init_checked(&h, 0);
    sp_srv_check_done(&h, SP_CHK_L4OK, 0, 0, NULL, 100);
    CU_ASSERT_EQUAL(sp_srv_set_check_enabled(&h, false), 0);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.chk_state, SP_CHK_ST_CONFIGURED);
    CU_ASSERT_EQUAL(st.op, SP_SRV_RUNNING);
    CU_ASSERT_EQUAL(sp_srv_lbw(&h), 1);
    ASSERT_TEXT(&h, "no check");
    /* a result arriving after `disable health` is dropped */
    CU_ASSERT_EQUAL(sp_srv_check_done(&h, SP_CHK_L4CON, 0, 0, NULL, 200), SP_SRV_CH_NONE);
    st = rd(&h);
    CU_ASSERT_EQUAL(st.health, 4);
    CU_ASSERT_EQUAL(st.chkfail, 0);
    CU_ASSERT_EQUAL(st.status, SP_CHK_L4OK);
    CU_ASSERT_EQUAL(sp_srv_set_check_enabled(&h, true), 0);
    CU_ASSERT_EQUAL(rd(&h).chk_state, 6);
    ASSERT_TEXT(&h, "UP");

    /* disabled while DOWN: stays "DOWN" */
    sp_srv_check_done(&h, SP_CHK_L4CON, 0, 0, NULL, 300);
    sp_srv_check_done(&h, SP_CHK_L4CON, 0, 0, NULL, 400);
    sp_srv_check_done(&h, SP_CHK_L4CON, 0, 0, NULL, 500);
    CU_ASSERT_EQUAL(rd(&h).op, SP_SRV_STOPPED);
    CU_ASSERT_EQUAL(sp_srv_set_check_enabled(&h, false), 0);
    ASSERT_TEXT(&h, "DOWN");

    /* no check configured: enabling is refused, disabling is harmless */
    hinit(&h, 1, false, false, false, 2, 3, 0);
    CU_ASSERT_EQUAL(sp_srv_set_check_enabled(&h, true), -EINVAL);
    CU_ASSERT_EQUAL(rd(&h).chk_state, 0);
    CU_ASSERT_EQUAL(sp_srv_set_check_enabled(&h, false), 0);
    CU_ASSERT_EQUAL(rd(&h).chk_state, 0);
    ASSERT_TEXT(&h, "no check");
}

/* ---- status names --------------------------------------------------------------------- */

static void test_status_names(void)
{
    static const struct {
        int st;
        const char *name, *desc;
        bool code;
    } t[] = {
        {SP_CHK_UNK, "UNK", "Unknown", false},
        {SP_CHK_INI, "INI", "Initializing", false},
        {SP_CHK_SOCKERR, "SOCKERR", "Socket error", false},
        {SP_CHK_L4OK, "L4OK", "Layer4 check passed", false},
        {SP_CHK_L4TOUT, "L4TOUT", "Layer4 timeout", false},
        {SP_CHK_L4CON, "L4CON", "Layer4 connection problem", false},
        {SP_CHK_L7TOUT, "L7TOUT", "Layer7 timeout", false},
        {SP_CHK_L7RSP, "L7RSP", "Layer7 invalid response", false},
        {SP_CHK_L7OK, "L7OK", "Layer7 check passed", true},
        {SP_CHK_L7OKC, "L7OKC", "Layer7 check conditionally passed", true},
        {SP_CHK_L7STS, "L7STS", "Layer7 wrong status", true},
    };

    /* HAProxy's numbers, as `show servers state` prints them */
    CU_ASSERT_EQUAL(SP_CHK_INI, 1);
    CU_ASSERT_EQUAL(SP_CHK_SOCKERR, 5);
    CU_ASSERT_EQUAL(SP_CHK_L4OK, 6);
    CU_ASSERT_EQUAL(SP_CHK_L4TOUT, 7);
    CU_ASSERT_EQUAL(SP_CHK_L4CON, 8);
    CU_ASSERT_EQUAL(SP_CHK_L7TOUT, 12);
    CU_ASSERT_EQUAL(SP_CHK_L7RSP, 13);
    CU_ASSERT_EQUAL(SP_CHK_L7OK, 15);
    CU_ASSERT_EQUAL(SP_CHK_L7OKC, 16);
    CU_ASSERT_EQUAL(SP_CHK_L7STS, 17);
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        CU_ASSERT_STRING_EQUAL(sp_chk_status_name(t[i].st), t[i].name);
        CU_ASSERT_STRING_EQUAL(sp_chk_status_desc(t[i].st), t[i].desc);
        CU_ASSERT_EQUAL(sp_chk_status_has_code(t[i].st), t[i].code);
    }
    /* out of range, or a number spillway never produces */
    static const int bad[] = {-1, 21, 1000, -1000};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CU_ASSERT_STRING_EQUAL(sp_chk_status_name(bad[i]), "UNK");
        CU_ASSERT_STRING_EQUAL(sp_chk_status_desc(bad[i]), "Unknown");
        CU_ASSERT_FALSE(sp_chk_status_has_code(bad[i]));
    }
    /* the result each status maps to */
    static struct sp_srv_health h;
    static const struct {
        int st, res;
    } r[] = {
        {SP_CHK_SOCKERR, SP_CHK_RES_FAILED}, {SP_CHK_L4OK, SP_CHK_RES_PASSED},
        {SP_CHK_L4TOUT, SP_CHK_RES_FAILED},  {SP_CHK_L4CON, SP_CHK_RES_FAILED},
        {SP_CHK_L7TOUT, SP_CHK_RES_FAILED},  {SP_CHK_L7RSP, SP_CHK_RES_FAILED},
        {SP_CHK_L7OK, SP_CHK_RES_PASSED},    {SP_CHK_L7OKC, SP_CHK_RES_CONDPASS},
        {SP_CHK_L7STS, SP_CHK_RES_FAILED},
    };
    for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++) {
        init_checked(&h, 0);
        sp_srv_check_done(&h, r[i].st, 200, 0, NULL, 1);
        CU_ASSERT_EQUAL(rd(&h).status, r[i].st);
        CU_ASSERT_EQUAL(rd(&h).result, r[i].res);
        CU_ASSERT_EQUAL(rd(&h).code, r[i].st >= SP_CHK_L7OK ? 200 : 0);
    }
}

/* ---- one writer, lock-free readers --------------------------------------------------- */

#define WRITER_ITERS 100000
#define READER_MAX   20000000L

static struct {
    struct sp_srv_health h;
    atomic_int done;
    atomic_long reads, maint_seen, up_seen, down_seen, bad;
} C;

static void *writer(void *arg)
{
    (void)arg;
    uint64_t t = 1;
    for (int i = 0; i < WRITER_ITERS; i++) {
        switch (i % 5) {
        case 0:
            sp_srv_set_admin(&C.h, SP_SRV_FMAINT, t++);
            break;
        case 1:
            sp_srv_check_done(&C.h, SP_CHK_L4OK, 0, 0, "dropped", t++);
            break;
        case 2:
            sp_srv_set_admin(&C.h, 0, t++);
            break;
        case 3:
            sp_srv_check_done(&C.h, (i / 5) % 2 ? SP_CHK_L4CON : SP_CHK_L4OK, 0, 0,
                              "Connection refused", t++);
            break;
        default:
            sp_srv_check_done(&C.h, SP_CHK_L4OK, 0, 0, NULL, t++);
            break;
        }
    }
    atomic_store(&C.done, 1);
    return NULL;
}

static bool consistent(const struct sp_srv_hstate *s)
{
    const int max = 4;

    if (s->rise != 2 || s->fall != 3 || s->uweight != 7 || s->iweight != 7 || s->backup != 0)
        return false;
    if (s->health < 0 || s->health > max)
        return false;
    if (s->admin & SP_SRV_FMAINT)
        return s->admin == SP_SRV_FMAINT && s->op == SP_SRV_STOPPED && s->health == 0 &&
               (s->chk_state & SP_CHK_ST_PAUSED);
    if (s->admin != 0 || (s->chk_state & SP_CHK_ST_PAUSED))
        return false;
    /* out of maintenance: RUNNING exactly when the counter is good */
    if (s->op == SP_SRV_RUNNING)
        return s->health >= s->rise;
    return s->op == SP_SRV_STOPPED && s->health < s->rise;
}

static void *reader(void *arg)
{
    (void)arg;
    uint64_t last_chg = 0;
    int64_t last_down = 0;

    for (long n = 0; n < READER_MAX && !atomic_load(&C.done); n++) {
        struct sp_srv_hstate s;
        int lbw = sp_srv_lbw(&C.h);

        sp_srv_health_read(&C.h, &s);
        bool ok = consistent(&s) && (lbw == 0 || lbw == 7) && s.lastchg_ms >= last_chg &&
                  s.chkdown >= last_down;
        if (!ok) {
            if (atomic_fetch_add(&C.bad, 1) < 3)
                fprintf(stderr,
                        "\n  torn read: op %d admin %d health %d chk_state %d uweight %d "
                        "lbw %d lastchg %llu (after %llu) chkdown %lld\n",
                        s.op, s.admin, s.health, s.chk_state, s.uweight, lbw,
                        (unsigned long long)s.lastchg_ms, (unsigned long long)last_chg,
                        (long long)s.chkdown);
        }
        last_chg = s.lastchg_ms;
        last_down = s.chkdown;
        if (s.admin & SP_SRV_FMAINT)
            atomic_fetch_add(&C.maint_seen, 1);
        else if (s.op == SP_SRV_RUNNING)
            atomic_fetch_add(&C.up_seen, 1);
        else
            atomic_fetch_add(&C.down_seen, 1);
        atomic_fetch_add(&C.reads, 1);
    }
    return NULL;
}

static void test_concurrent_readers(void)
{
    pthread_t w, r[2];

    memset(&C, 0, sizeof(C));
    hinit(&C.h, 7, false, false, true, 2, 3, 0);
    for (int i = 0; i < 2; i++)
        CU_ASSERT_EQUAL_FATAL(pthread_create(&r[i], NULL, reader, NULL), 0);
    CU_ASSERT_EQUAL_FATAL(pthread_create(&w, NULL, writer, NULL), 0);
    pthread_join(w, NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(r[i], NULL);
    printf("\n    health: %d writes; readers: %ld reads (%ld in maintenance, %ld up, %ld down), "
           "%ld inconsistent\n",
           WRITER_ITERS, atomic_load(&C.reads), atomic_load(&C.maint_seen), atomic_load(&C.up_seen),
           atomic_load(&C.down_seen), atomic_load(&C.bad));
    CU_ASSERT_EQUAL(atomic_load(&C.bad), 0);
    CU_ASSERT(atomic_load(&C.reads) > 0);

    /* the writer's last steps: i = 99995..99999 is maint, dropped, ready, (19999 odd) L4CON
     * from health rise -> DOWN, L4OK -> "DOWN 1/2" */
    struct sp_srv_hstate st = rd(&C.h);
    CU_ASSERT_EQUAL(st.op, SP_SRV_STOPPED);
    CU_ASSERT_EQUAL(st.health, 1);
    CU_ASSERT_EQUAL(st.lastchg_ms, WRITER_ITERS - 1);
    /* a cycle enters maintenance from UP (a transition to DOWN) after an even cycle and at
     * the start, from DOWN (none) after an odd one; odd cycles also fail a check from UP */
    CU_ASSERT_EQUAL(st.chkdown, WRITER_ITERS / 10 + 1 + WRITER_ITERS / 10);
    CU_ASSERT_EQUAL(st.chkfail, WRITER_ITERS / 10);
}

/* ---- balancing over those states ------------------------------------------------------ */

static struct sp_routing *build(const char *text)
{
    struct sp_config *cfg = NULL;
    int nerr = -1;
    struct sp_routing *r = NULL;

    CU_ASSERT_EQUAL(sp_config_parse_string(text, "t.cfg", stderr, &cfg), 0);
    if (cfg)
        r = sp_routing_build(cfg, stderr, &nerr);
    CU_ASSERT_EQUAL(nerr, 0);
    sp_config_free(cfg);
    return r;
}

/* The names of `n` successive picks, space-separated. */
static const char *picks(const struct sp_backend *be, int64_t *cw, int n)
{
    static char buf[256];
    size_t o = 0;

    buf[0] = '\0';
    for (int i = 0; i < n; i++) {
        const struct sp_server *s = sp_backend_pick_rr(be, cw, NULL);
        o += (size_t)snprintf(buf + o, sizeof(buf) - o, "%s%s", i ? " " : "", s ? s->name : "-");
    }
    return buf;
}

#define ASSERT_PICKS(be, cw, n, want)                                                              \
    do {                                                                                           \
        const char *p_ = picks((be), (cw), (n));                                                   \
        if (strcmp(p_, (want)) != 0)                                                               \
            fprintf(stderr, "\n  %s:%d: picks \"%s\", expected \"%s\"\n", __FILE__, __LINE__, p_,  \
                    (want));                                                                       \
        CU_ASSERT_STRING_EQUAL(p_, (want));                                                        \
    } while (0)

#define BK_CFG                                                                                     \
    "defaults\n mode http\n timeout client 1s\n timeout server 1s\n timeout connect 1s\n"          \
    "backend bk\n"                                                                                 \
    " server a1 127.0.0.1:1 check\n"                                                               \
    " server a2 127.0.0.1:2 check\n"                                                               \
    " server b0 127.0.0.1:3 check backup disabled\n"                                               \
    " server b1 127.0.0.1:4 check backup\n"                                                        \
    " server b2 127.0.0.1:5 check backup\n"

static void fail_until_down(struct sp_server *s, uint64_t t)
{
    while (sp_srv_check_done(s->h, SP_CHK_L4CON, 0, 0, NULL, t) != SP_SRV_CH_DOWN &&
           rd(s->h).health > 0)
        ;
}

static void up_again(struct sp_server *s, uint64_t t)
{
    for (int i = 0; i < s->rise; i++)
        sp_srv_check_done(s->h, SP_CHK_L4OK, 0, 0, NULL, t);
}

static void test_pick_backups(void)
{
    struct sp_routing *r = build(BK_CFG);
    int64_t cw[8] = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    struct sp_backend *be = r->be[0];
    CU_ASSERT_FALSE(be->allbackups);
    CU_ASSERT_EQUAL(be->nsrv, 5);
    CU_ASSERT_EQUAL(sp_backend_usable(be, false), 2);
    CU_ASSERT_EQUAL(sp_backend_usable(be, true), 2); /* b0 is in maintenance */
    ASSERT_TEXT(be->srv[2]->h, "MAINT");
    ASSERT_PICKS(be, cw, 4, "a1 a2 a1 a2");

    /* a1 DOWN from its first failure: a2 alone */
    fail_until_down(be->srv[0], 10);
    CU_ASSERT_EQUAL(sp_backend_usable(be, false), 1);
    ASSERT_PICKS(be, cw, 3, "a2 a2 a2");
    /* a2 NOLB (disable-on-404): not usable either; backups take over, only the first usable
     * one without allbackups */
    CU_ASSERT_EQUAL(sp_srv_check_done(be->srv[1]->h, SP_CHK_L7OKC, 404, 0, NULL, 20),
                    SP_SRV_CH_STOPPING);
    CU_ASSERT_EQUAL(sp_backend_usable(be, false), 0);
    ASSERT_PICKS(be, cw, 4, "b1 b1 b1 b1");
    /* b1 drained: b2 */
    sp_srv_set_admin(be->srv[3]->h, SP_SRV_FDRAIN, 30);
    CU_ASSERT_EQUAL(sp_backend_usable(be, true), 1);
    ASSERT_PICKS(be, cw, 2, "b2 b2");
    /* b0 leaves maintenance: it comes first in declaration order */
    CU_ASSERT_EQUAL(sp_srv_set_admin(be->srv[2]->h, 0, 40), SP_SRV_CH_READY);
    ASSERT_PICKS(be, cw, 2, "b0 b0");
    /* b0 and b2 DOWN: no server at all */
    fail_until_down(be->srv[2], 50);
    fail_until_down(be->srv[4], 50);
    CU_ASSERT_EQUAL(sp_backend_usable(be, true), 0);
    CU_ASSERT_PTR_NULL(sp_backend_pick_rr(be, cw, NULL));
    /* a1 rises again: active traffic resumes, backups are left */
    up_again(be->srv[0], 60);
    ASSERT_TEXT(be->srv[0]->h, "UP");
    CU_ASSERT_EQUAL(sp_backend_usable(be, false), 1);
    ASSERT_PICKS(be, cw, 2, "a1 a1");
    sp_routing_discard(r);
}

static void test_pick_allbackups(void)
{
    struct sp_routing *r = build(BK_CFG " option allbackups\n");
    int64_t cw[8] = {0};

    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    struct sp_backend *be = r->be[0];
    CU_ASSERT_TRUE(be->allbackups);
    ASSERT_PICKS(be, cw, 2, "a1 a2");
    /* both actives DOWN: every usable backup shares the load ("b c b c") */
    fail_until_down(be->srv[0], 10);
    sp_srv_set_admin(be->srv[1]->h, SP_SRV_FMAINT, 10);
    CU_ASSERT_EQUAL(sp_backend_usable(be, false), 0);
    CU_ASSERT_EQUAL(sp_backend_usable(be, true), 2);
    ASSERT_PICKS(be, cw, 4, "b1 b2 b1 b2");
    /* weight 0 on b1: b2 alone */
    sp_srv_set_weight(be->srv[3]->h, 0, 20);
    ASSERT_PICKS(be, cw, 3, "b2 b2 b2");
    sp_srv_set_weight(be->srv[3]->h, 1, 30);
    /* b0 out of maintenance joins */
    sp_srv_set_admin(be->srv[2]->h, 0, 40);
    CU_ASSERT_EQUAL(sp_backend_usable(be, true), 3);
    int64_t cw2[8] = {0};
    ASSERT_PICKS(be, cw2, 6, "b0 b1 b2 b0 b1 b2");
    /* an active server back from maintenance takes everything again */
    sp_srv_set_admin(be->srv[1]->h, 0, 50);
    ASSERT_PICKS(be, cw2, 3, "a2 a2 a2");
    sp_routing_discard(r);
}

void test_health_register(void)
{
    CU_pSuite s = sp_unit_suite("balance/health");
    sp_unit_test(s, "init: checked RUNNING health=rise \"UP 1/3\", weights", test_init_checked);
    sp_unit_test(s, "init: unchecked \"no check\", disabled MAINT admin 5",
                 test_init_unchecked_disabled);
    sp_unit_test(s, "first failure DOWN at once, \"DOWN 1/2\", UP", test_first_failure_then_rise);
    sp_unit_test(s, "first success: fully UP, no change reported", test_first_success);
    sp_unit_test(s, "fall from UP: \"UP 2/3\", \"UP 1/3\", DOWN", test_fall_from_up);
    sp_unit_test(s, "L7OKC: NOLB, lbw 0, back UP on L7OK", test_condpass);
    sp_unit_test(s, "downtime and lastchg with explicit times", test_downtime);
    sp_unit_test(s, "check in progress flag", test_check_running);
    sp_unit_test(s, "admin maint/ready: paused check, MAINT_DOWN", test_admin_maint_ready);
    sp_unit_test(s, "admin drain/undrain, \"DRAIN 2/3\"", test_admin_drain);
    sp_unit_test(s, "set health up/stopping/down", test_set_op);
    sp_unit_test(s, "set weight: 0 -> lbw 0, status still UP", test_set_weight);
    sp_unit_test(s, "disable/enable health, -EINVAL without check", test_check_enable);
    sp_unit_test(s, "check status names, descriptions, codes", test_status_names);
    sp_unit_test(s, "one writer, 2 lock-free readers: consistent copies", test_concurrent_readers);
    sp_unit_test(s, "pick_rr: first usable backup without allbackups", test_pick_backups);
    sp_unit_test(s, "pick_rr: option allbackups spreads over backups", test_pick_allbackups);
}
