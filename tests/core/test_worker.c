/* tests/core/test_worker.c - the worker loop's rule for ending a registration (core/worker.h)
 * and the poisoning of what free lists cache (core/poison.h, core/pool.h).
 *
 * The loop case is issue 17's crash in miniature: two sources are ready in the same batch of
 * events; whichever handler runs first closes the other one and gives its object back to a
 * free list. The second event must never be delivered: before the rule, it reached the
 * recycled object (a NULL or poisoned handler).
 */
#include "core/pool.h"
#include "core/poison.h"
#include "core/worker.h"

#include "tests/unit.h"

#include <ck_pr.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifdef SP_POISON_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* an event source embedded in a pooled object, as connections embed theirs */
struct src {
    struct sp_ev ev;
    int peer; /* the other end of the socket pair (the test's) */
    int id;
};

#define NSRC 8

static struct sp_pool pool;
static struct src *srcs[NSRC];
static int hits[NSRC];
static int turns;
static int start_err;

static void src_ev(struct sp_ev *ev, uint32_t events)
{
    struct src *s = (struct src *)((char *)ev - offsetof(struct src, ev));
    struct sp_worker *w = sp_this_worker;

    (void)events;
    hits[s->id]++;
    /* the first handler of the batch ends every other source and recycles its object at once */
    for (int i = 0; i < NSRC; i++) {
        if (!srcs[i] || srcs[i] == s)
            continue;
        sp_worker_close(w, &srcs[i]->ev);
        close(srcs[i]->peer);
        sp_pool_put(&pool, srcs[i]);
        srcs[i] = NULL;
    }
}

static int loop_start(struct sp_worker *w)
{
    for (int i = 0; i < NSRC; i++) {
        int sv[2];
        struct src *s = sp_pool_get(&pool);
        if (!s || socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) < 0) {
            start_err = -1;
            return -1;
        }
        s->ev.fd = sv[0];
        s->ev.cb = src_ev;
        s->peer = sv[1];
        s->id = i;
        srcs[i] = s;
        /* readable before the first wait: every source is in the first batch */
        if (write(sv[1], "x", 1) != 1 || sp_worker_add(w, &s->ev) < 0) {
            start_err = -1;
            return -1;
        }
    }
    return 0;
}

static void loop_turn_end(struct sp_worker *w)
{
    if (++turns >= 2)
        ck_pr_store_int(&w->mt.exit_now, 1);
}

static void loop_finish(struct sp_worker *w)
{
    for (int i = 0; i < NSRC; i++) {
        if (!srcs[i])
            continue;
        sp_worker_close(w, &srcs[i]->ev);
        close(srcs[i]->peer);
        sp_pool_put(&pool, srcs[i]);
        srcs[i] = NULL;
    }
}

static void test_close_drops_pending_events(void)
{
    static const struct sp_worker_hooks hooks = {
        .start = loop_start, .turn_end = loop_turn_end, .finish = loop_finish};
    struct sp_worker w;

    sp_pool_init(&pool, sizeof(struct src), NSRC);
    memset(hits, 0, sizeof(hits));
    turns = 0;
    start_err = 0;
    CU_ASSERT_EQUAL_FATAL(sp_worker_init(&w, 0, -1, &hooks), 0);
    CU_ASSERT_EQUAL_FATAL(sp_worker_start(&w), 0);
    sp_worker_join(&w);
    sp_worker_destroy(&w);
    CU_ASSERT_EQUAL(start_err, 0);
    CU_ASSERT_EQUAL(w.exit_status, 0);
    int total = 0;
    for (int i = 0; i < NSRC; i++)
        total += hits[i];
    /* one handler ran; the seven sources it closed got nothing, though all eight were ready */
    CU_ASSERT_EQUAL(total, 1);
    CU_ASSERT_EQUAL(pool.used, 0);
    sp_pool_destroy(&pool);
}

/* A cached object is poisoned after its first word (the free list's link), and comes back
 * zeroed and usable. */
static void test_pool_poisons_cached_objects(void)
{
    struct sp_pool p;
    sp_pool_init(&p, 64, 4);
    unsigned char *o = sp_pool_get(&p);

    CU_ASSERT_PTR_NOT_NULL_FATAL(o);
    memset(o, 0xab, 64);
    sp_pool_put(&p, o);
#if defined(SP_POISON_ASAN)
    CU_ASSERT(!__asan_address_is_poisoned(o));
    CU_ASSERT(__asan_address_is_poisoned(o + sizeof(void *)));
    CU_ASSERT(__asan_address_is_poisoned(o + 63));
#elif !defined(NDEBUG)
    /* reading a cached object is what this test is for; only the owner ever does it */
    bool filled = true;
    for (size_t i = sizeof(void *); i < 64; i++)
        filled = filled && o[i] == SP_POISON_BYTE;
    CU_ASSERT(filled);
#endif
    unsigned char *again = sp_pool_get(&p);
    CU_ASSERT_PTR_EQUAL(again, o);
    bool zero = true;
    for (size_t i = 0; i < 64; i++)
        zero = zero && again[i] == 0;
    CU_ASSERT(zero);
    sp_pool_put(&p, again);
    sp_pool_destroy(&p);
}

void test_worker_register(void)
{
    CU_pSuite s = sp_unit_suite("core/worker");
    sp_unit_test(s, "a closed source gets no event of the batch it was closed in",
                 test_close_drops_pending_events);
    sp_unit_test(s, "free lists poison what they cache", test_pool_poisons_cached_objects);
}
