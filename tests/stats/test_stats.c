/* Per-worker counters: sums over workers, merged maxima, rate windows, histogram buckets. */
#include <CUnit/CUnit.h>
#include <stddef.h>

#include "stats/stats.h"
#include "tests/unit.h"

static void test_sums_and_maxima(void)
{
    struct sp_stats_obj o;

    CU_ASSERT_EQUAL_FATAL(sp_stats_init(3, 1, 2, 1), 0);
    struct sp_stats_worker *w0 = sp_stats_worker(0), *w1 = sp_stats_worker(1),
                           *w2 = sp_stats_worker(2);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w2);
    CU_ASSERT_PTR_NULL(sp_stats_worker(3));

    /* backend 1: worker 0 holds 2 streams, worker 1 holds 3: the merged maximum is 5 even
     * though no single worker ever held more than 3 */
    sp_stats_cur_inc(w0, SP_STATS_BE, 1);
    sp_stats_cur_inc(w0, SP_STATS_BE, 1);
    sp_stats_cur_inc(w1, SP_STATS_BE, 1);
    sp_stats_cur_inc(w1, SP_STATS_BE, 1);
    sp_stats_cur_inc(w1, SP_STATS_BE, 1);
    CU_ASSERT_EQUAL(sp_stats_cur_mt(SP_STATS_BE, 1), 5);
    sp_stat_add(&w0->be[1].cur, -2);
    sp_stat_add(&w1->be[1].cur, -1);
    sp_stats_cur_inc(w2, SP_STATS_BE, 1);
    sp_stats_read(SP_STATS_BE, 1, 1000, &o);
    CU_ASSERT_EQUAL(o.cur, 3);
    CU_ASSERT_EQUAL(o.max, 5);
    /* backend 0 untouched */
    CU_ASSERT_EQUAL(sp_stats_cur_mt(SP_STATS_BE, 0), 0);

    /* plain counters are summed */
    sp_stat_add(&w0->be[1].hrsp[1], 7);
    sp_stat_add(&w2->be[1].hrsp[1], 4);
    sp_stat_add(&w1->be[1].bout, 1000);
    sp_stats_read(SP_STATS_BE, 1, 1000, &o);
    CU_ASSERT_EQUAL(o.hrsp[1], 11);
    CU_ASSERT_EQUAL(o.bout, 1000);

    /* queues keep their own merged maximum */
    sp_stats_queue_inc(w0, SP_STATS_SRV, 0);
    sp_stats_queue_inc(w1, SP_STATS_SRV, 0);
    sp_stat_add(&w0->srv[0].qcur, -1);
    sp_stats_read(SP_STATS_SRV, 0, 1000, &o);
    CU_ASSERT_EQUAL(o.qcur, 1);
    CU_ASSERT_EQUAL(o.qmax, 2);
    CU_ASSERT_EQUAL(sp_stats_qcur_mt(SP_STATS_SRV, 0), 1);

    /* out of range indexes read as zero */
    CU_ASSERT_EQUAL(sp_stats_cur_mt(SP_STATS_SRV, 7), 0);
    sp_stats_free();
}

static void test_rates(void)
{
    struct sp_stats_obj o;
    size_t off = offsetof(struct sp_stats_obj, req_rate);

    CU_ASSERT_EQUAL_FATAL(sp_stats_init(2, 1, 1, 1), 0);
    struct sp_stats_worker *w0 = sp_stats_worker(0), *w1 = sp_stats_worker(1);

    /* second 10: 30 events on worker 0, 10 on worker 1 */
    for (int i = 0; i < 30; i++)
        sp_rate_add(w0, SP_STATS_FE, 0, &w0->fe[0].req_rate, 10000 + (uint64_t)i);
    for (int i = 0; i < 10; i++)
        sp_rate_add(w1, SP_STATS_FE, 0, &w1->fe[0].req_rate, 10500);
    CU_ASSERT_EQUAL(sp_stats_rate_mt(SP_STATS_FE, 0, off, 10900), 40);

    /* second 11, 250 ms in: 4 new events, plus 3/4 of the previous second's 40 */
    for (int i = 0; i < 4; i++)
        sp_rate_add(w0, SP_STATS_FE, 0, &w0->fe[0].req_rate, 11250);
    CU_ASSERT_EQUAL(sp_rate_read(&w0->fe[0].req_rate, 11250), 4 + 30 * 750 / 1000);
    CU_ASSERT_EQUAL(sp_rate_read(&w1->fe[0].req_rate, 11250), 10 * 750 / 1000);
    CU_ASSERT_EQUAL(sp_stats_rate_mt(SP_STATS_FE, 0, off, 11250), 4 + 22 + 7);

    /* worker 0's rollover merged the second that ended: rate_max saw 40 */
    sp_stats_read(SP_STATS_FE, 0, 11250, &o);
    CU_ASSERT_EQUAL(o.req_rate.max, 40);
    CU_ASSERT(o.req_rate.cur <= o.req_rate.max);

    /* two silent seconds later the rate is 0, the maximum stays */
    CU_ASSERT_EQUAL(sp_stats_rate_mt(SP_STATS_FE, 0, off, 13500), 0);
    sp_stats_read(SP_STATS_FE, 0, 13500, &o);
    CU_ASSERT_EQUAL(o.req_rate.cur, 0);
    CU_ASSERT_EQUAL(o.req_rate.max, 40);

    /* a burst within the current second: the maximum is never below the current rate */
    for (int i = 0; i < 100; i++)
        sp_rate_add(w1, SP_STATS_FE, 0, &w1->fe[0].req_rate, 20100);
    sp_stats_read(SP_STATS_FE, 0, 20200, &o);
    CU_ASSERT_EQUAL(o.req_rate.cur, 100);
    CU_ASSERT_EQUAL(o.req_rate.max, 100);
    sp_stats_free();
}

static void test_histogram(void)
{
    struct sp_hist h = {0};

    /* every value lands in a bucket whose bounds hold it, and buckets are ordered */
    uint64_t prev_le = 0;
    for (unsigned b = 0; b < SP_HIST_BUCKETS; b++) {
        uint64_t le = sp_hist_bucket_le(b);
        if (b)
            CU_ASSERT(le > prev_le);
        prev_le = le;
    }
    static const uint64_t vals[] = {0,   1,    3,    4,    5,     7,       8,        9,       100,
                                    999, 1000, 1023, 1024, 65535, 1000000, 10000000, 12345678};
    for (size_t i = 0; i < sizeof(vals) / sizeof(vals[0]); i++) {
        unsigned b = sp_hist_bucket(vals[i]);
        CU_ASSERT(vals[i] <= sp_hist_bucket_le(b));
        if (b)
            CU_ASSERT(vals[i] > sp_hist_bucket_le(b - 1));
    }
    /* the width of a bucket is at most a quarter of its values */
    unsigned b = sp_hist_bucket(1000000);
    CU_ASSERT(sp_hist_bucket_le(b) - sp_hist_bucket_le(b - 1) <= 1000000 / SP_HIST_SUB);
    /* beyond the last power: the last bucket */
    CU_ASSERT_EQUAL(sp_hist_bucket(UINT64_MAX / 2), SP_HIST_BUCKETS - 1);

    sp_hist_add(&h, 10);
    sp_hist_add(&h, 20);
    sp_hist_add(&h, 5000);
    CU_ASSERT_EQUAL(h.count, 3);
    CU_ASSERT_EQUAL(h.sum_us, 5030);
    CU_ASSERT_EQUAL(h.max_us, 5000);
    CU_ASSERT_EQUAL(h.b[sp_hist_bucket(5000)], 1);
    uint64_t total = 0;
    for (unsigned k = 0; k < SP_HIST_BUCKETS; k++)
        total += h.b[k];
    CU_ASSERT_EQUAL(total, 3);
}

static void test_histogram_merge(void)
{
    struct sp_stats_obj o;

    CU_ASSERT_EQUAL_FATAL(sp_stats_init(2, 1, 1, 1), 0);
    sp_hist_add(&sp_stats_worker(0)->be[0].hist[SP_HIST_TOTAL], 100);
    sp_hist_add(&sp_stats_worker(1)->be[0].hist[SP_HIST_TOTAL], 300);
    sp_hist_add(&sp_stats_worker(1)->be[0].hist[SP_HIST_TOTAL], 100);
    sp_stats_read(SP_STATS_BE, 0, 0, &o);
    CU_ASSERT_EQUAL(o.hist[SP_HIST_TOTAL].count, 3);
    CU_ASSERT_EQUAL(o.hist[SP_HIST_TOTAL].sum_us, 500);
    CU_ASSERT_EQUAL(o.hist[SP_HIST_TOTAL].max_us, 300);
    CU_ASSERT_EQUAL(o.hist[SP_HIST_TOTAL].b[sp_hist_bucket(100)], 2);
    CU_ASSERT_EQUAL(o.hist[SP_HIST_QUEUE].count, 0);
    sp_stats_free();
}

void test_stats_register(void)
{
    CU_pSuite s = sp_unit_suite("stats/counters");
    sp_unit_test(s, "sums over workers and merged maxima", test_sums_and_maxima);
    sp_unit_test(s, "rate windows and rate_max", test_rates);
    sp_unit_test(s, "histogram buckets", test_histogram);
    sp_unit_test(s, "histograms merged over workers", test_histogram_merge);
}
