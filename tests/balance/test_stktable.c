/* tests/balance/test_stktable.c - stick tables: the `stick-table` line, HAProxy's freq_ctr
 * arithmetic, size/expire/nopurge, and the threading contract of balance/stktable.h (several
 * threads hammering one key: counters exact, rates within the stated bound). */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <urcu/urcu-qsbr.h>

#include "balance/balance.h"
#include "balance/stktable.h"
#include "tests/core/cfgtest.h"
#include "tests/unit.h"

static struct sp_cfg_stktable conf(enum sp_stk_type type, uint64_t size, int64_t expire,
                                   bool nopurge)
{
    struct sp_cfg_stktable c = {0};
    c.set = true;
    c.type = type;
    c.keylen = type == SP_STK_T_IPV6 ? 16 : type == SP_STK_T_STR ? 32 : 4;
    c.size = size;
    c.expire = expire;
    c.nopurge = nopurge;
    c.store = (1u << SP_STK_HTTP_REQ_CNT) | (1u << SP_STK_HTTP_REQ_RATE) | (1u << SP_STK_CONN_CUR) |
              (1u << SP_STK_CONN_CNT) | (1u << SP_STK_GPC0);
    c.period[SP_STK_HTTP_REQ_RATE] = 10000;
    return c;
}

static void key_int(const struct sp_stktable *t, int64_t v, struct sp_stkkey *k)
{
    struct sp_smp s = {.type = SP_SMP_SINT};
    s.u.sint = v;
    CU_ASSERT_FATAL(sp_stktable_key_mt(t, &s, k));
}

static uint64_t get(struct sp_stktable *t, struct sp_stkentry *e, enum sp_stk_dt dt, uint32_t now)
{
    uint64_t v = 12345;
    CU_ASSERT(sp_stk_get_mt(t, e, dt, now, &v));
    return v;
}

/* ---- configuration ---- */

static void test_config(void)
{
    struct sp_config *cfg = cfgt_load_ok(
        TMO "frontend f\n bind :1\n stick-table type string len 12 size 100k expire 30s "
            "nopurge store http_req_rate(10s),gpc0,conn_cur store bytes_out_rate(1m)\n"
            "backend b\n stick-table type ipv6 size 10 store server_id,gpt0,gpc1_rate(500)\n");
    if (!cfg)
        return;
    const struct sp_cfg_proxy *f = cfgt_proxy(cfg, "f"), *b = cfgt_proxy(cfg, "b");
    CU_ASSERT(f->stk.set && f->stk.type == SP_STK_T_STR && f->stk.keylen == 12);
    CU_ASSERT(f->stk.size == 102400 && f->stk.expire == 30000 && f->stk.nopurge);
    CU_ASSERT(f->stk.store == ((1u << SP_STK_HTTP_REQ_RATE) | (1u << SP_STK_GPC0) |
                               (1u << SP_STK_CONN_CUR) | (1u << SP_STK_BYTES_OUT_RATE)));
    CU_ASSERT(f->stk.period[SP_STK_HTTP_REQ_RATE] == 10000);
    CU_ASSERT(f->stk.period[SP_STK_BYTES_OUT_RATE] == 60000);
    CU_ASSERT(b->stk.type == SP_STK_T_IPV6 && b->stk.keylen == 16 && b->stk.expire == 0);
    CU_ASSERT(b->stk.period[SP_STK_GPC1_RATE] == 500);
    sp_config_free(cfg);

    cfgt_expect_errors(TMO "frontend f\n bind :1\n stick-table type ip size 1k peers p\n", 1,
                       "t.cfg:8: 'stick-table': 'peers': not supported by spillway", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n stick-table type ip size 1k store foo\n", 1,
                       "unknown data type 'foo'", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n stick-table type ip size 1k store "
                           "http_fail_cnt\n",
                       1, "store 'http_fail_cnt': not supported by spillway", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n stick-table type ip store gpc0\n", 1,
                       "missing 'size'", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n stick-table size 10\n", 1, "missing 'type'",
                       NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n stick-table type ip size 1k store "
                           "http_req_rate\n",
                       1, "expects a period", NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n stick-table type ip size 1k store "
                           "http_req_rate(xx)\n",
                       1, "invalid period 'xx'", NULL);
    cfgt_expect_errors(TMO " stick-table type ip size 1k\n", 1, "not allowed in a 'defaults'",
                       NULL);
    cfgt_expect_errors(TMO "frontend f\n bind :1\n stick-table type ip size 1k\n stick-table "
                           "type ip size 2k\n",
                       1, "only one stick-table per proxy", NULL);
    /* the rules that use a table: compiled with the routing snapshot */
    char *diag = NULL;
    int rc = cfgt_run(TMO "frontend f\n bind :1\n stick-table type ip size 1k store gpc0\n"
                          " acl a sc_http_req_rate(0,f) gt 1\n acl b src_gpc0(nosuch) gt 1\n"
                          " acl c sc_gpc0(4) gt 1\n acl d sc0_gpc0 gt 1\n acl e table_avl gt 1\n"
                          " default_backend b\nbackend b\n acl x src_gpc0 gt 0\n",
                      &cfg, &diag);
    CU_ASSERT_FATAL(rc == 0 && cfg);
    free(diag);
    FILE *f2 = tmpfile();
    int errors = 0;
    struct sp_routing *r = sp_routing_build(cfg, f2, &errors);
    CU_ASSERT(r == NULL && errors == 4);
    char out[4096] = "";
    rewind(f2);
    size_t n = fread(out, 1, sizeof(out) - 1, f2);
    out[n] = '\0';
    fclose(f2);
    CU_ASSERT(strstr(out, "stick-table 'f' does not store 'http_req_rate'") != NULL);
    CU_ASSERT(strstr(out, "no stick-table 'nosuch'") != NULL);
    CU_ASSERT(strstr(out, "sticky counter number 0 to 2") != NULL);
    CU_ASSERT(strstr(out, "'src_gpc0': this proxy has no stick-table") != NULL);
    sp_routing_discard(r);
    sp_config_free(cfg);
}

/* ---- HAProxy's freq_ctr: curr + prev * remaining / period ---- */

static void test_rate(void)
{
    struct sp_cfg_stktable c = conf(SP_STK_T_INT, 10, 0, false);
    struct sp_stktable *t = sp_stktable_new("t", &c);
    struct sp_stkkey k;
    uint32_t t0 = 1000000;

    key_int(t, 7, &k);
    struct sp_stkentry *e = sp_stktable_get_mt(t, &k, t0);
    CU_ASSERT_FATAL(e != NULL);
    for (int i = 0; i < 40; i++)
        sp_stk_add_mt(t, e, SP_STK_HTTP_REQ_RATE, 1, t0 + 100);
    CU_ASSERT(get(t, e, SP_STK_HTTP_REQ_RATE, t0 + 200) == 40);
    /* next period, a quarter in: 40 * 3/4 of the last one + 10 new */
    for (int i = 0; i < 10; i++)
        sp_stk_add_mt(t, e, SP_STK_HTTP_REQ_RATE, 1, t0 + 10000);
    CU_ASSERT(get(t, e, SP_STK_HTTP_REQ_RATE, t0 + 12500) == 10 + 30);
    /* half-way through the period after: the last period's 10 at one half */
    CU_ASSERT(get(t, e, SP_STK_HTTP_REQ_RATE, t0 + 25000) == 5);
    /* two periods later: nothing */
    CU_ASSERT(get(t, e, SP_STK_HTTP_REQ_RATE, t0 + 40001) == 0);
    sp_stk_add_mt(t, e, SP_STK_HTTP_REQ_RATE, 1, t0 + 60000);
    CU_ASSERT(get(t, e, SP_STK_HTTP_REQ_RATE, t0 + 60000) == 1);
    /* not stored: the fetch fails */
    uint64_t v;
    CU_ASSERT(!sp_stk_get_mt(t, e, SP_STK_HTTP_ERR_RATE, t0, &v));
    CU_ASSERT(!sp_stk_add_mt(t, e, SP_STK_HTTP_ERR_CNT, 1, t0));
    sp_stkentry_unref_mt(t, e, t0);
    sp_stktable_free(t);
}

/* ---- keys, size, purge, nopurge, expire ---- */

static void test_size_expire(void)
{
    struct sp_cfg_stktable c = conf(SP_STK_T_INT, 4, 1000, false);
    struct sp_stktable *t = sp_stktable_new("t", &c);
    struct sp_stkkey k;
    uint32_t now = 5000;

    for (int i = 0; i < 4; i++) {
        key_int(t, i, &k);
        struct sp_stkentry *e = sp_stktable_get_mt(t, &k, now + (uint32_t)i);
        CU_ASSERT_FATAL(e != NULL);
        sp_stkentry_unref_mt(t, e, now + (uint32_t)i);
    }
    CU_ASSERT(sp_stktable_count_mt(t) == 4);
    /* a fifth key purges the least recently touched (key 0) */
    key_int(t, 4, &k);
    struct sp_stkentry *held = sp_stktable_get_mt(t, &k, now + 10);
    CU_ASSERT_FATAL(held != NULL);
    CU_ASSERT(sp_stktable_count_mt(t) == 4);
    key_int(t, 0, &k);
    CU_ASSERT(sp_stktable_lookup_mt(t, &k, now + 10) == NULL);
    key_int(t, 1, &k);
    CU_ASSERT(sp_stktable_lookup_mt(t, &k, now + 10) != NULL);
    /* idle entries expire; a referenced one does not */
    CU_ASSERT(sp_stktable_lookup_mt(t, &k, now + 2000) == NULL);
    key_int(t, 4, &k);
    CU_ASSERT(sp_stktable_lookup_mt(t, &k, now + 5000) == held);
    sp_stkentry_unref_mt(t, held, now + 5000);
    CU_ASSERT(sp_stktable_lookup_mt(t, &k, now + 5999) == held);
    CU_ASSERT(sp_stktable_lookup_mt(t, &k, now + 6000) == NULL);
    sp_stktable_free(t);

    /* nopurge: a full table refuses new keys while its entries live */
    c = conf(SP_STK_T_STR, 2, 0, true);
    t = sp_stktable_new("n", &c);
    struct sp_smp s = {.type = SP_SMP_STR};
    const char *names[] = {"alpha", "beta", "gamma"};
    for (int i = 0; i < 3; i++) {
        s.u.str.ptr = names[i];
        s.u.str.len = strlen(names[i]);
        CU_ASSERT_FATAL(sp_stktable_key_mt(t, &s, &k));
        struct sp_stkentry *e = sp_stktable_get_mt(t, &k, now);
        CU_ASSERT((e != NULL) == (i < 2));
        if (e)
            sp_stkentry_unref_mt(t, e, now);
    }
    CU_ASSERT(sp_stktable_count_mt(t) == 2);
    sp_stktable_free(t);

    /* ip keys: an IPv4 address, and its IPv4-mapped IPv6 form, are the same key */
    c = conf(SP_STK_T_IP, 10, 0, false);
    t = sp_stktable_new("ip", &c);
    struct sp_smp a = {.type = SP_SMP_IPV4}, b = {.type = SP_SMP_IPV6};
    struct sp_stkkey k2;
    inet_pton(AF_INET, "10.1.2.3", &a.u.v4);
    inet_pton(AF_INET6, "::ffff:10.1.2.3", &b.u.v6);
    CU_ASSERT(sp_stktable_key_mt(t, &a, &k) && sp_stktable_key_mt(t, &b, &k2));
    CU_ASSERT(memcmp(k.b, k2.b, 4) == 0);
    inet_pton(AF_INET6, "2001:db8::1", &b.u.v6);
    CU_ASSERT(!sp_stktable_key_mt(t, &b, &k2));
    sp_stktable_free(t);
}

/* ---- the threading contract ---- */

#define NTHR  4
#define ITERS 20000

struct hammer {
    struct sp_stktable *t;
    int64_t key;
    int keys; /* > 0: spread over that many keys instead */
    pthread_t th;
};

/* ---- session-level trackers and the actions (balance/stkact.c) ---- */

static struct sp_stktable *the_table;

static struct sp_stktable *res_table(const struct sp_acl_resolver *res, const char *name)
{
    (void)res;
    return name && strcmp(name, "t") ? NULL : the_table;
}

static struct sp_stkact *act(char **w, int n)
{
    struct sp_acl_resolver res = {.table = res_table, .self_fe = -1, .self_be = -1};
    char err[256] = "";
    int i = 1;
    struct sp_stkact *a = sp_stkact_compile(&res, w, n, &i, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL(a);
    CU_ASSERT_EQUAL(i, n);
    if (!a)
        fprintf(stderr, "stkact: %s\n", err);
    return a;
}

static void test_session(void)
{
    struct sp_cfg_stktable c = conf(SP_STK_T_INT, 100, 0, false);
    c.store |= (1u << SP_STK_SESS_CNT) | (1u << SP_STK_GPT0) | (1u << SP_STK_HTTP_ERR_CNT);
    struct sp_stktable *t = the_table = sp_stktable_new("t", &c);
    struct sp_stkctr sess[SP_STK_NCTR] = {0}, strm[SP_STK_NCTR] = {0};
    struct sp_acl_env env = {.fe_idx = -1, .be_idx = -1};
    char *track[] = {"track-sc1", "int(7)", "table", "t"}, *inc[] = {"sc-inc-gpc0(1)"},
         *gpt[] = {"sc-set-gpt0(1)", "42"}, *track2[] = {"track-sc1", "int(8)"};
    struct sp_stkact *a_track = act(track, 4), *a_inc = act(inc, 1), *a_gpt = act(gpt, 2),
                     *a_track2 = act(track2, 2);
    uint32_t now = sp_stk_now_ms();

    CU_ASSERT_FATAL(t && a_track && a_inc && a_gpt && a_track2);
    CU_ASSERT(sp_stkact_is("track-sc2") && sp_stkact_is("sc-set-gpt0(0)"));
    CU_ASSERT(!sp_stkact_is("sc-inc-gpc(0,1)") && !sp_stkact_is("sc-set-gpt(0,1)"));
    /* a session tracks: conn_cur and conn_cnt once, sess_cnt when counted */
    CU_ASSERT(sp_stkact_run(a_track, sess, &env, false));
    CU_ASSERT(!sp_stkact_run(a_track, sess, &env, false)); /* the slot is taken */
    sp_stkctr_count_session(sess);
    struct sp_stkentry *e = sess[1].e;
    CU_ASSERT_FATAL(e != NULL);
    CU_ASSERT_EQUAL(get(t, e, SP_STK_CONN_CUR, now), 1);
    CU_ASSERT_EQUAL(get(t, e, SP_STK_CONN_CNT, now), 1);
    CU_ASSERT_EQUAL(get(t, e, SP_STK_SESS_CNT, now), 1);
    CU_ASSERT_EQUAL(get(t, e, SP_STK_HTTP_REQ_CNT, now), 0);
    CU_ASSERT_EQUAL(sp_stkentry_refs_mt(e), 1);
    /* two streams inherit it: their requests and errors count there; their own track of the
     * slot does nothing; their release leaves the session's reference and conn_cur */
    for (int i = 0; i < 2; i++) {
        CU_ASSERT(sp_stkctr_inherit(strm, sess));
        sp_stkctr_count_http_req(strm);
        CU_ASSERT(!sp_stkact_run(a_track2, strm, &env, true));
        sp_stkact_run(a_inc, strm, &env, false);
        sp_stkctr_end(strm, 404, 1, 1);
        sp_stkctr_release(strm);
        CU_ASSERT_PTR_NULL(strm[1].e);
    }
    sp_stkact_run(a_gpt, sess, &env, false);
    CU_ASSERT_EQUAL(get(t, e, SP_STK_CONN_CUR, now), 1);
    CU_ASSERT_EQUAL(get(t, e, SP_STK_HTTP_REQ_CNT, now), 2);
    CU_ASSERT_EQUAL(get(t, e, SP_STK_HTTP_ERR_CNT, now), 2);
    CU_ASSERT_EQUAL(get(t, e, SP_STK_GPC0, now), 2);
    CU_ASSERT_EQUAL(get(t, e, SP_STK_GPT0, now), 42);
    CU_ASSERT_EQUAL(sp_stkentry_refs_mt(e), 1);
    /* a stream-level track of an empty slot holds its own reference, counted once */
    CU_ASSERT(sp_stkact_run(a_track2, strm, &env, true));
    CU_ASSERT_EQUAL(get(t, strm[1].e, SP_STK_HTTP_REQ_CNT, now), 1);
    sp_stkctr_release(strm);
    /* the session ends: conn_cur down, the reference back */
    sp_stkctr_release(sess);
    CU_ASSERT_EQUAL(get(t, e, SP_STK_CONN_CUR, now), 0);
    CU_ASSERT_EQUAL(sp_stkentry_refs_mt(e), 0);
    /* compile errors */
    struct sp_acl_resolver res = {.table = res_table, .self_fe = -1, .self_be = -1};
    char err[256];
    int i = 1;
    char *bad1[] = {"track-sc3", "int(1)"}, *bad2[] = {"track-sc0", "int(1)", "table", "x"},
         *bad3[] = {"sc-inc-gpc0(9)"}, *bad4[] = {"sc-set-gpt0(0)", "if"};
    CU_ASSERT_PTR_NULL(sp_stkact_compile(&res, bad1, 2, &i, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "track-sc0, track-sc1 and track-sc2"));
    i = 1;
    CU_ASSERT_PTR_NULL(sp_stkact_compile(&res, bad2, 4, &i, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "no stick-table 'x'"));
    i = 1;
    CU_ASSERT_PTR_NULL(sp_stkact_compile(&res, bad3, 1, &i, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "0 to 2"));
    i = 1;
    CU_ASSERT_PTR_NULL(sp_stkact_compile(&res, bad4, 2, &i, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "expects an integer"));
    /* HAProxy 2.6's gpc/gpt array fetches are named as not supported */
    struct sp_smp_expr *x = sp_smp_compile("sc_get_gpc(0,0)", 15, &res, err, sizeof(err));
    CU_ASSERT_PTR_NULL(x);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "'sc_get_gpc' is not supported by spillway"));
    x = sp_smp_compile("sc0_conn_cur", 12, &res, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL(x);
    sp_smp_free(x);
    sp_stkact_free(a_track);
    sp_stkact_free(a_inc);
    sp_stkact_free(a_gpt);
    sp_stkact_free(a_track2);
    sp_stktable_free(t);
    the_table = NULL;
}

static void *hammer(void *arg)
{
    struct hammer *h = arg;
    struct sp_stkkey k;
    struct sp_stkctr c[SP_STK_NCTR] = {{0}};

    urcu_qsbr_register_thread();
    for (int i = 0; i < ITERS; i++) {
        int64_t key = h->keys ? (int64_t)(((unsigned)i * 2654435761u) % (unsigned)h->keys) : h->key;
        struct sp_smp s = {.type = SP_SMP_SINT};
        s.u.sint = key;
        sp_stktable_key_mt(h->t, &s, &k);
        uint32_t now = sp_stk_now_ms();
        struct sp_stkentry *e = sp_stktable_get_mt(h->t, &k, now);
        if (e) {
            sp_stkctr_track(&c[0], h->t, e, true, now);
            sp_stk_add_mt(h->t, e, SP_STK_GPC0, 1, now);
            sp_stkctr_end(c, 404, 10, 20);
            sp_stkctr_release(c);
        }
        if (!(i & 63))
            urcu_qsbr_quiescent_state();
    }
    urcu_qsbr_unregister_thread();
    return NULL;
}

static void test_threads_one_key(void)
{
    struct sp_cfg_stktable c = conf(SP_STK_T_INT, 100, 0, false);
    c.period[SP_STK_HTTP_REQ_RATE] = 3600000; /* no rotation during the run: exact */
    struct sp_stktable *t = sp_stktable_new("t", &c);
    struct hammer h[NTHR];

    for (int i = 0; i < NTHR; i++) {
        h[i] = (struct hammer){.t = t, .key = 42};
        CU_ASSERT_FATAL(pthread_create(&h[i].th, NULL, hammer, &h[i]) == 0);
    }
    for (int i = 0; i < NTHR; i++)
        pthread_join(h[i].th, NULL);
    struct sp_stkkey k;
    key_int(t, 42, &k);
    uint32_t now = sp_stk_now_ms();
    struct sp_stkentry *e = sp_stktable_lookup_mt(t, &k, now);
    CU_ASSERT_FATAL(e != NULL);
    CU_ASSERT(sp_stktable_count_mt(t) == 1);
    CU_ASSERT(get(t, e, SP_STK_HTTP_REQ_CNT, now) == NTHR * ITERS);
    CU_ASSERT(get(t, e, SP_STK_CONN_CNT, now) == NTHR * ITERS);
    CU_ASSERT(get(t, e, SP_STK_GPC0, now) == NTHR * ITERS);
    CU_ASSERT(get(t, e, SP_STK_CONN_CUR, now) == 0);
    CU_ASSERT(sp_stkentry_refs_mt(e) == 0);
    CU_ASSERT(get(t, e, SP_STK_HTTP_REQ_RATE, now) == NTHR * ITERS);
    sp_stktable_free(t);
}

/* short periods: rotations race the adds; the bound of stktable.h: at most (threads - 1)
 * events counted in a neighbouring period per rotation, none lost from the count */
static void test_threads_rotation(void)
{
    struct sp_cfg_stktable c = conf(SP_STK_T_INT, 100, 0, false);
    c.period[SP_STK_HTTP_REQ_RATE] = 1;
    struct sp_stktable *t = sp_stktable_new("t", &c);
    struct hammer h[NTHR];

    for (int i = 0; i < NTHR; i++) {
        h[i] = (struct hammer){.t = t, .key = 9};
        CU_ASSERT_FATAL(pthread_create(&h[i].th, NULL, hammer, &h[i]) == 0);
    }
    for (int i = 0; i < NTHR; i++)
        pthread_join(h[i].th, NULL);
    struct sp_stkkey k;
    key_int(t, 9, &k);
    uint32_t now = sp_stk_now_ms();
    struct sp_stkentry *e = sp_stktable_lookup_mt(t, &k, now);
    CU_ASSERT_FATAL(e != NULL);
    CU_ASSERT(get(t, e, SP_STK_HTTP_REQ_CNT, now) == NTHR * ITERS);
    /* a rate can never exceed what was counted */
    CU_ASSERT(get(t, e, SP_STK_HTTP_REQ_RATE, now) <= NTHR * ITERS);
    CU_ASSERT(get(t, e, SP_STK_HTTP_REQ_RATE, now + 10) == 0);
    sp_stktable_free(t);
}

/* many keys in a small table: inserts, purges and lookups race; the size bound holds */
static void test_threads_purge(void)
{
    struct sp_cfg_stktable c = conf(SP_STK_T_INT, 32, 0, false);
    struct sp_stktable *t = sp_stktable_new("t", &c);
    struct hammer h[NTHR];

    for (int i = 0; i < NTHR; i++) {
        h[i] = (struct hammer){.t = t, .keys = 500};
        CU_ASSERT_FATAL(pthread_create(&h[i].th, NULL, hammer, &h[i]) == 0);
    }
    for (int i = 0; i < NTHR; i++)
        pthread_join(h[i].th, NULL);
    CU_ASSERT(sp_stktable_count_mt(t) <= 32);
    CU_ASSERT(sp_stktable_count_mt(t) > 0);
    sp_stktable_free(t);
}

void test_stktable_register(void)
{
    CU_pSuite s = sp_unit_suite("balance/stktable");
    sp_unit_test(s, "stick-table lines", test_config);
    sp_unit_test(s, "freq_ctr arithmetic", test_rate);
    sp_unit_test(s, "size, purge, nopurge, expire, keys", test_size_expire);
    sp_unit_test(s, "session trackers, inherited by streams; the track-sc/sc-* actions",
                 test_session);
    sp_unit_test(s, "threads on one key: counters exact", test_threads_one_key);
    sp_unit_test(s, "threads and period rotations", test_threads_rotation);
    sp_unit_test(s, "threads, many keys, small table", test_threads_purge);
}
