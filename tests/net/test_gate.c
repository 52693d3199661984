/* tests/net/test_gate.c - the maxconn gate of net/listener.c: exact limits with one worker,
 * "0 = unlimited", and exactness under contention from several workers.
 *
 * The contended test counts *admitted* holders in its own atomic counter (raised after a
 * successful sp_gate_reserve(), lowered before sp_gate_release()). That counter is a lower
 * bound of what the gate has really let in at every instant, so it must never pass the limit.
 * The gate's own sum may pass the limit for a moment (a worker raises its slot, sums, then
 * backs off), so it is only bounded loosely while threads run, and compared exactly at the
 * points where every thread is parked on a barrier. */
#include "net/listener.h"

#include "tests/unit.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* a gate is SP_MAX_WORKERS cache lines: static, cleared by each test */
static struct sp_gate gate;

static void gate_init(int limit)
{
    memset(&gate, 0, sizeof(gate));
    gate.limit = limit;
}

static int64_t slot_of(int wid)
{
    return gate.slot[wid].v;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- single thread -------------------------------------------------------------------- */

static void test_limit_exact(void)
{
    gate_init(3);
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 0);
    CU_ASSERT_TRUE(sp_gate_reserve(&gate, 0));
    CU_ASSERT_TRUE(sp_gate_reserve(&gate, 0));
    CU_ASSERT_TRUE(sp_gate_reserve(&gate, 0));
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 3);
    /* the 4th is refused and leaves nothing behind */
    CU_ASSERT_FALSE(sp_gate_reserve(&gate, 0));
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 3);
    CU_ASSERT_EQUAL(slot_of(0), 3);
    CU_ASSERT_FALSE(sp_gate_reserve(&gate, 0));
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 3);

    sp_gate_release(&gate, 0);
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 2);
    CU_ASSERT_TRUE(sp_gate_reserve(&gate, 0));
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 3);
    CU_ASSERT_FALSE(sp_gate_reserve(&gate, 0));

    for (int i = 0; i < 3; i++)
        sp_gate_release(&gate, 0);
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 0);
    CU_ASSERT_EQUAL(slot_of(0), 0);
}

static void test_limit_one(void)
{
    gate_init(1);
    CU_ASSERT_TRUE(sp_gate_reserve(&gate, 0));
    CU_ASSERT_FALSE(sp_gate_reserve(&gate, 0));
    CU_ASSERT_FALSE(sp_gate_reserve(&gate, 1));
    sp_gate_release(&gate, 0);
    CU_ASSERT_TRUE(sp_gate_reserve(&gate, 1));
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 1);
    sp_gate_release(&gate, 1);
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 0);
}

/* slots of several workers add up towards one limit, and a refusal on one worker does not
 * touch the slot of another */
static void test_limit_across_workers(void)
{
    gate_init(4);
    CU_ASSERT_TRUE(sp_gate_reserve(&gate, 0));
    CU_ASSERT_TRUE(sp_gate_reserve(&gate, 5));
    CU_ASSERT_TRUE(sp_gate_reserve(&gate, SP_MAX_WORKERS - 1));
    CU_ASSERT_TRUE(sp_gate_reserve(&gate, 5));
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 4);
    CU_ASSERT_FALSE(sp_gate_reserve(&gate, 0));
    CU_ASSERT_FALSE(sp_gate_reserve(&gate, 7));
    CU_ASSERT_EQUAL(slot_of(0), 1);
    CU_ASSERT_EQUAL(slot_of(5), 2);
    CU_ASSERT_EQUAL(slot_of(7), 0);
    CU_ASSERT_EQUAL(slot_of(SP_MAX_WORKERS - 1), 1);
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 4);

    /* a release on any worker makes room for any other */
    sp_gate_release(&gate, 5);
    CU_ASSERT_TRUE(sp_gate_reserve(&gate, 7));
    CU_ASSERT_FALSE(sp_gate_reserve(&gate, 5));
    sp_gate_release(&gate, 0);
    sp_gate_release(&gate, 5);
    sp_gate_release(&gate, 7);
    sp_gate_release(&gate, SP_MAX_WORKERS - 1);
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 0);
}

static void test_unlimited(void)
{
    gate_init(0);
    for (int i = 0; i < 10000; i++)
        CU_ASSERT_TRUE_FATAL(sp_gate_reserve(&gate, i % 3));
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 10000);
    CU_ASSERT_EQUAL(slot_of(0) + slot_of(1) + slot_of(2), 10000);
    for (int i = 0; i < 10000; i++)
        sp_gate_release(&gate, i % 3);
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 0);
}

/* ---- contention ----------------------------------------------------------------------- */

#define NTHREADS    8
#define NCYCLES     200000
#define LIMIT       5
#define SYNC_EVERY  20000 /* cycles between the barrier checks */
#define TIME_BUDGET 8.0   /* seconds: the hammer stops early past this (printed) */

static struct {
    atomic_long admitted;     /* holders the gate has let in, by the test's own count */
    atomic_long max_admitted; /* highest value `admitted` reached */
    atomic_long over_limit;   /* times a thread saw admitted > LIMIT */
    atomic_long negative;     /* times the gate's sum or admitted was seen below 0 */
    atomic_long own_slot_bad; /* times a thread's own slot differed from what it holds */
    atomic_long sum_wild;     /* times the watcher saw a sum beyond any possible transient */
    atomic_long sync_bad;     /* barrier checks where sum != admitted or admitted > LIMIT */
    atomic_long syncs;        /* barrier checks done */
    atomic_long granted;      /* successful reserves, all threads */
    atomic_long refused;      /* failed reserves, all threads */
    atomic_bool stop;         /* time budget ran out: every thread stops at the same round */
    atomic_bool done;         /* workers finished: the watcher exits */
    long rounds_done;
    double t0;
    pthread_barrier_t bar;
} H;

static void note_max(long v)
{
    long m = atomic_load(&H.max_admitted);
    while (v > m && !atomic_compare_exchange_weak(&H.max_admitted, &m, v))
        ;
}

static bool take(int wid, int *held)
{
    if (!sp_gate_reserve(&gate, wid)) {
        atomic_fetch_add_explicit(&H.refused, 1, memory_order_relaxed);
        if (slot_of(wid) != *held) /* a refusal leaves the slot as it was */
            atomic_fetch_add(&H.own_slot_bad, 1);
        return false;
    }
    (*held)++;
    long a = atomic_fetch_add(&H.admitted, 1) + 1;
    atomic_fetch_add_explicit(&H.granted, 1, memory_order_relaxed);
    note_max(a);
    if (a > LIMIT)
        atomic_fetch_add(&H.over_limit, 1);
    /* this thread is its slot's only writer: it knows the exact value */
    if (slot_of(wid) != *held)
        atomic_fetch_add(&H.own_slot_bad, 1);
    int64_t sum = sp_gate_count_mt(&gate);
    if (sum < *held || sum < 0)
        atomic_fetch_add(&H.negative, 1);
    return true;
}

static void give(int wid, int *held)
{
    long a = atomic_fetch_sub(&H.admitted, 1) - 1;
    if (a < 0)
        atomic_fetch_add(&H.negative, 1);
    sp_gate_release(&gate, wid);
    (*held)--;
    if (slot_of(wid) != *held)
        atomic_fetch_add(&H.own_slot_bad, 1);
}

/* All threads park here holding what they hold; one of them compares the gate's sum with the
 * admitted count while nothing moves. */
static void sync_check(void)
{
    if (pthread_barrier_wait(&H.bar) == PTHREAD_BARRIER_SERIAL_THREAD) {
        int64_t sum = sp_gate_count_mt(&gate);
        long a = atomic_load(&H.admitted);
        if (sum != a || a > LIMIT || a < 0) {
            atomic_fetch_add(&H.sync_bad, 1);
            fprintf(stderr, "gate hammer: at a barrier the gate says %lld, admitted %ld\n",
                    (long long)sum, a);
        }
        atomic_fetch_add(&H.syncs, 1);
        if (now_s() - H.t0 > TIME_BUDGET)
            atomic_store(&H.stop, true);
    }
    pthread_barrier_wait(&H.bar);
}

static void *hammer(void *arg)
{
    int wid = (int)(intptr_t)arg;
    int held = 0;
    unsigned seed = 0x9e3779b9u * (unsigned)(wid + 1);
    long i;

    for (i = 0; i < NCYCLES; i++) {
        if (i % SYNC_EVERY == 0) {
            sync_check();
            if (atomic_load(&H.stop))
                break;
        }
        seed = seed * 1103515245u + 12345u;
        unsigned r = seed >> 16;
        /* mostly take-then-give; now and then keep one across cycles so that a thread holds
         * two slots at times */
        if (held < 2)
            take(wid, &held);
        if (held == 2 || (held == 1 && (r & 3) != 0)) {
            give(wid, &held);
        }
        if (r % 64 == 0)
            sched_yield();
    }
    /* every thread reaches the same number of barriers: those that broke out early did so at
     * the same round, the rest finish with one last check here */
    if (i == NCYCLES)
        sync_check();
    while (held > 0)
        give(wid, &held);
    if (wid == 0)
        H.rounds_done = i;
    return NULL;
}

static void *watcher(void *arg)
{
    (void)arg;
    for (long n = 0; !atomic_load(&H.done) && n < 100000000; n++) {
        int64_t sum = sp_gate_count_mt(&gate);
        long a = atomic_load(&H.admitted);
        /* each slot is at most 2 held + 1 raised for a moment; never below 0 */
        if (sum < 0 || a < 0)
            atomic_fetch_add(&H.negative, 1);
        if (sum > 3 * NTHREADS)
            atomic_fetch_add(&H.sum_wild, 1);
        if (a > LIMIT)
            atomic_fetch_add(&H.over_limit, 1);
    }
    return NULL;
}

static void test_hammer(void)
{
    pthread_t th[NTHREADS], w;

    gate_init(LIMIT);
    memset(&H, 0, sizeof(H));
    H.t0 = now_s();
    CU_ASSERT_FATAL(pthread_barrier_init(&H.bar, NULL, NTHREADS) == 0);
    CU_ASSERT_FATAL(pthread_create(&w, NULL, watcher, NULL) == 0);
    for (int i = 0; i < NTHREADS; i++)
        CU_ASSERT_FATAL(pthread_create(&th[i], NULL, hammer, (void *)(intptr_t)i) == 0);
    for (int i = 0; i < NTHREADS; i++)
        pthread_join(th[i], NULL);
    atomic_store(&H.done, true);
    pthread_join(w, NULL);
    pthread_barrier_destroy(&H.bar);

    double took = now_s() - H.t0;
    printf("\n    gate hammer: %d threads x %ld cycles in %.2fs, %ld granted, %ld refused, "
           "max admitted %ld, %ld barrier checks%s\n",
           NTHREADS, H.rounds_done, took, atomic_load(&H.granted), atomic_load(&H.refused),
           atomic_load(&H.max_admitted), atomic_load(&H.syncs),
           atomic_load(&H.stop) ? " (stopped early: time budget)" : "");

    CU_ASSERT_EQUAL(atomic_load(&H.over_limit), 0);
    CU_ASSERT(atomic_load(&H.max_admitted) <= LIMIT);
    CU_ASSERT_EQUAL(atomic_load(&H.negative), 0);
    CU_ASSERT_EQUAL(atomic_load(&H.own_slot_bad), 0);
    CU_ASSERT_EQUAL(atomic_load(&H.sum_wild), 0);
    CU_ASSERT_EQUAL(atomic_load(&H.sync_bad), 0);
    CU_ASSERT(atomic_load(&H.syncs) >= 2);
    /* the limit was really reached, and contention really refused some */
    CU_ASSERT(atomic_load(&H.max_admitted) == LIMIT);
    CU_ASSERT(atomic_load(&H.refused) > 0);
    CU_ASSERT(atomic_load(&H.granted) > 0);
    /* quiescent and empty at the end */
    CU_ASSERT_EQUAL(atomic_load(&H.admitted), 0);
    CU_ASSERT_EQUAL(sp_gate_count_mt(&gate), 0);
    for (int i = 0; i < SP_MAX_WORKERS; i++)
        CU_ASSERT_EQUAL(slot_of(i), 0);
    CU_ASSERT(took < 10.0);
}

void test_gate_register(void)
{
    CU_pSuite s = sp_unit_suite("net/gate");
    sp_unit_test(s, "limit exact: N in, N+1 refused, release frees one", test_limit_exact);
    sp_unit_test(s, "limit 1", test_limit_one);
    sp_unit_test(s, "slots of several workers share one limit", test_limit_across_workers);
    sp_unit_test(s, "limit 0 is unlimited", test_unlimited);
    sp_unit_test(s, "8 threads x 200000 cycles, limit 5: never more than 5 admitted", test_hammer);
}
