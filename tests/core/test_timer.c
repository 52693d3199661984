/* tests/core/test_timer.c - the hashed timer wheel of core/timer.c. */
#include "core/timer.h"

#include "tests/unit.h"

#include <stddef.h>
#include <stdlib.h>
#include <time.h>

#define TICK SP_TIMER_TICK_MS
#define TURN ((uint64_t)SP_TIMER_SLOTS * SP_TIMER_TICK_MS)

/* a timer embedded in a test object, as connections embed theirs */
struct obj {
    struct sp_timer timer;
    int id;
    unsigned fired;
    uint64_t fired_at; /* wheel's now when the callback ran */
    bool armed_in_cb;  /* sp_timer_armed() seen from inside the callback */
};

static struct sp_timer_wheel *cur_wheel; /* the wheel the callbacks act on */
static int order[64];
static unsigned norder;

static struct obj *obj_of(struct sp_timer *t)
{
    return (struct obj *)((char *)t - offsetof(struct obj, timer));
}

static void record_cb(struct sp_timer *t)
{
    struct obj *o = obj_of(t);
    o->fired++;
    o->fired_at = cur_wheel->now;
    o->armed_in_cb = sp_timer_armed(t);
    if (norder < sizeof(order) / sizeof(order[0]))
        order[norder++] = o->id;
}

static void setup(struct sp_timer_wheel *w, uint64_t now, struct obj *objs, int n, sp_timer_cb cb)
{
    sp_timer_wheel_init(w, now);
    cur_wheel = w;
    norder = 0;
    for (int i = 0; i < n; i++) {
        sp_timer_init(&objs[i].timer, cb);
        objs[i].id = i;
        objs[i].fired = 0;
        objs[i].fired_at = 0;
        objs[i].armed_in_cb = true;
    }
}

static void test_init(void)
{
    struct sp_timer_wheel w;
    struct obj o[1];
    setup(&w, 12345, o, 1, record_cb);
    CU_ASSERT_EQUAL(w.now, 12345);
    CU_ASSERT_EQUAL(w.count, 0);
    CU_ASSERT_EQUAL(sp_timer_wheel_next_ms(&w), -1);
    CU_ASSERT_FALSE(sp_timer_armed(&o[0].timer));
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 20000), 0);
    CU_ASSERT_EQUAL(w.now, 20000);
}

/* every expiry offset within a few ticks, from every phase of the start time within a tick */
static void test_never_early(void)
{
    for (uint64_t start = 1000; start < 1000 + TICK; start++) {
        for (uint64_t d = 0; d < 4 * TICK; d++) {
            struct sp_timer_wheel w;
            struct obj o[1];
            setup(&w, start, o, 1, record_cb);
            uint64_t exp = start + d + 1;
            sp_timer_arm(&w, &o[0].timer, exp);
            CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, exp - 1), 0);
            CU_ASSERT_EQUAL(o[0].fired, 0);
            CU_ASSERT_TRUE(sp_timer_armed(&o[0].timer));
            CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, exp), 1);
            CU_ASSERT_EQUAL(o[0].fired, 1);
            CU_ASSERT_FALSE(o[0].armed_in_cb);
            CU_ASSERT_FALSE(sp_timer_armed(&o[0].timer));
            CU_ASSERT_EQUAL(w.count, 0);
        }
    }
}

/* advancing 1 ms at a time, each timer fires exactly at its expiry */
static void test_ms_steps(void)
{
    struct sp_timer_wheel w;
    struct obj o[8];
    setup(&w, 7, o, 8, record_cb);
    static const uint64_t exp[8] = {8, 9, 10, 11, 13, 50, 4103, 4104};
    for (int i = 0; i < 8; i++)
        sp_timer_arm(&w, &o[i].timer, exp[i]);
    for (uint64_t now = 8; now <= 5000; now++)
        sp_timer_wheel_advance(&w, now);
    for (int i = 0; i < 8; i++) {
        CU_ASSERT_EQUAL(o[i].fired, 1);
        CU_ASSERT_EQUAL(o[i].fired_at, exp[i]);
    }
    CU_ASSERT_EQUAL(w.count, 0);
}

static void test_order(void)
{
    struct sp_timer_wheel w;
    struct obj o[6];

    /* one advance over several ticks within a turn: tick order, whatever the arm order */
    setup(&w, 0, o, 6, record_cb);
    static const uint64_t exp[6] = {400, 20, 3000, 100, 8, 1000};
    for (int i = 0; i < 6; i++)
        sp_timer_arm(&w, &o[i].timer, exp[i]);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 4000), 6);
    CU_ASSERT_EQUAL(norder, 6);
    static const int want[6] = {4, 1, 3, 0, 5, 2};
    for (unsigned i = 0; i < 6 && i < norder; i++)
        CU_ASSERT_EQUAL(order[i], want[i]);

    /* step by step */
    setup(&w, 0, o, 6, record_cb);
    for (int i = 0; i < 6; i++)
        sp_timer_arm(&w, &o[i].timer, exp[i]);
    for (uint64_t now = 0; now <= 4000; now += 3)
        sp_timer_wheel_advance(&w, now);
    CU_ASSERT_EQUAL(norder, 6);
    for (unsigned i = 0; i < 6 && i < norder; i++)
        CU_ASSERT_EQUAL(order[i], want[i]);
}

static void test_disarm(void)
{
    struct sp_timer_wheel w;
    struct obj o[3];
    setup(&w, 100, o, 3, record_cb);
    sp_timer_arm(&w, &o[0].timer, 150);
    sp_timer_arm(&w, &o[1].timer, 150);
    sp_timer_arm(&w, &o[2].timer, 150);
    CU_ASSERT_EQUAL(w.count, 3);
    sp_timer_disarm(&w, &o[1].timer);
    CU_ASSERT_FALSE(sp_timer_armed(&o[1].timer));
    CU_ASSERT_EQUAL(w.count, 2);
    sp_timer_disarm(&w, &o[1].timer); /* harmless twice */
    CU_ASSERT_EQUAL(w.count, 2);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 200), 2);
    CU_ASSERT_EQUAL(o[0].fired, 1);
    CU_ASSERT_EQUAL(o[1].fired, 0);
    CU_ASSERT_EQUAL(o[2].fired, 1);
    sp_timer_disarm(&w, &o[0].timer); /* after firing: not armed, harmless */
    CU_ASSERT_EQUAL(w.count, 0);
    CU_ASSERT_EQUAL(sp_timer_wheel_next_ms(&w), -1);

    /* disarm head, middle and tail of one slot's list, the rest still fire */
    struct obj p[5];
    setup(&w, 0, p, 5, record_cb);
    for (int i = 0; i < 5; i++)
        sp_timer_arm(&w, &p[i].timer, 40);
    sp_timer_disarm(&w, &p[4].timer);
    sp_timer_disarm(&w, &p[2].timer);
    sp_timer_disarm(&w, &p[0].timer);
    CU_ASSERT_EQUAL(w.count, 2);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 40), 2);
    CU_ASSERT_EQUAL(p[1].fired + p[3].fired, 2);
    CU_ASSERT_EQUAL(p[0].fired + p[2].fired + p[4].fired, 0);
}

static void test_rearm(void)
{
    struct sp_timer_wheel w;
    struct obj o[1];
    setup(&w, 0, o, 1, record_cb);
    sp_timer_arm(&w, &o[0].timer, 100);
    sp_timer_arm(&w, &o[0].timer, 500); /* later: moves, count unchanged */
    CU_ASSERT_EQUAL(w.count, 1);
    CU_ASSERT_EQUAL(o[0].timer.expire, 500);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 499), 0);
    sp_timer_arm(&w, &o[0].timer, 600); /* like an inactivity timeout on every read */
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 599), 0);
    sp_timer_arm(&w, &o[0].timer, 550); /* earlier than now: due on the next advance */
    CU_ASSERT_EQUAL(w.count, 1);
    CU_ASSERT_EQUAL(sp_timer_wheel_next_ms(&w), 0);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 599), 1);
    CU_ASSERT_EQUAL(o[0].fired, 1);
    CU_ASSERT_EQUAL(w.count, 0);

    /* re-arm many times into the same slot and others; fires once */
    setup(&w, 0, o, 1, record_cb);
    for (uint64_t e = 10; e < 10000; e += 7)
        sp_timer_arm(&w, &o[0].timer, e);
    CU_ASSERT_EQUAL(w.count, 1);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 20000), 1);
    CU_ASSERT_EQUAL(o[0].fired, 1);
}

/* a periodic timer: the callback re-arms itself one period later */
static void periodic_cb(struct sp_timer *t)
{
    record_cb(t);
    sp_timer_arm(cur_wheel, t, t->expire + 10);
}

/* re-arms itself into the past: must wait for the next advance */
static void past_cb(struct sp_timer *t)
{
    record_cb(t);
    sp_timer_arm(cur_wheel, t, cur_wheel->now - 1000);
}

static void test_arm_in_callback(void)
{
    struct sp_timer_wheel w;
    struct obj o[1];

    setup(&w, 0, o, 1, periodic_cb);
    sp_timer_arm(&w, &o[0].timer, 10);
    for (uint64_t now = 0; now <= 1000; now++)
        sp_timer_wheel_advance(&w, now);
    CU_ASSERT_EQUAL(o[0].fired, 100);
    CU_ASSERT_TRUE(sp_timer_armed(&o[0].timer));
    CU_ASSERT_EQUAL(o[0].timer.expire, 1010);
    CU_ASSERT_EQUAL(w.count, 1);
    /* a jump over several periods fires once; the next expiry is already past */
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 1100), 1);
    CU_ASSERT_EQUAL(o[0].timer.expire, 1020);
    CU_ASSERT_EQUAL(sp_timer_wheel_next_ms(&w), 0);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 1100), 1);

    setup(&w, 5000, o, 1, past_cb);
    sp_timer_arm(&w, &o[0].timer, 5000);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 5000), 1);
    CU_ASSERT_TRUE(sp_timer_armed(&o[0].timer));
    CU_ASSERT_EQUAL(w.count, 1);
    CU_ASSERT_EQUAL(sp_timer_wheel_next_ms(&w), 0);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 5000 + (uint64_t)i * 1000), 1);
    /* and across a jump of several turns */
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 5000 + 10 * TURN), 1);
    CU_ASSERT_EQUAL(o[0].fired, 7);
    sp_timer_disarm(&w, &o[0].timer);
    CU_ASSERT_EQUAL(w.count, 0);
}

/* each fired timer arms a new one (a fresh object) for later, and one for now */
static struct obj chain[16];
static unsigned nchain;

static void chain_cb(struct sp_timer *t)
{
    record_cb(t);
    if (nchain + 2 <= sizeof(chain) / sizeof(chain[0])) {
        struct obj *later = &chain[nchain++], *now = &chain[nchain++];
        sp_timer_arm(cur_wheel, &later->timer, cur_wheel->now + 100);
        sp_timer_arm(cur_wheel, &now->timer, cur_wheel->now);
    }
}

static void test_arm_other_in_callback(void)
{
    struct sp_timer_wheel w;
    setup(&w, 0, chain, 16, chain_cb);
    nchain = 1;
    sp_timer_arm(&w, &chain[0].timer, 50);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 60), 1);
    CU_ASSERT_EQUAL(w.count, 2);
    CU_ASSERT_EQUAL(chain[2].fired, 0); /* armed for now from a callback: next advance */
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 60), 1);
    CU_ASSERT_EQUAL(chain[2].fired, 1);
    CU_ASSERT_EQUAL(w.count, 3); /* 1 (t=160) and 3 (t=160) and 4 (now) */
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 159), 1);
    CU_ASSERT_EQUAL(chain[4].fired, 1);
    CU_ASSERT_EQUAL(chain[1].fired + chain[3].fired, 0);
}

/* the first of several due timers disarms (or pushes back) the others */
static struct obj *victims[2];

static void killer_cb(struct sp_timer *t)
{
    record_cb(t);
    sp_timer_disarm(cur_wheel, &victims[0]->timer);
    sp_timer_arm(cur_wheel, &victims[1]->timer, cur_wheel->now + 1000);
}

static void test_disarm_due_in_callback(void)
{
    struct sp_timer_wheel w;
    struct obj o[4];
    /* killer before the victims, in the same tick as them (order unspecified), after them */
    static const uint64_t killer_at[3] = {20, 30, 40}, victims_at[3] = {40, 30, 20};

    for (int l = 0; l < 3; l++) {
        setup(&w, 0, o, 4, record_cb);
        o[0].timer.cb = killer_cb;
        victims[0] = &o[1];
        victims[1] = &o[2];
        sp_timer_arm(&w, &o[1].timer, victims_at[l]);
        sp_timer_arm(&w, &o[0].timer, killer_at[l]);
        sp_timer_arm(&w, &o[2].timer, victims_at[l]);
        sp_timer_arm(&w, &o[3].timer, victims_at[l]);
        unsigned n = sp_timer_wheel_advance(&w, 100);
        CU_ASSERT_EQUAL(o[0].fired, 1);
        CU_ASSERT_EQUAL(o[3].fired, 1);
        CU_ASSERT_EQUAL(n, 2 + o[1].fired + o[2].fired);
        if (l == 0) { /* due in this advance but stopped before their turn */
            CU_ASSERT_EQUAL(o[1].fired, 0);
            CU_ASSERT_EQUAL(o[2].fired, 0);
        } else if (l == 2) {
            CU_ASSERT_EQUAL(o[1].fired, 1);
            CU_ASSERT_EQUAL(o[2].fired, 1);
        }
        CU_ASSERT(o[1].fired <= 1 && o[2].fired <= 1);
        CU_ASSERT_FALSE(sp_timer_armed(&o[1].timer));
        CU_ASSERT_TRUE(sp_timer_armed(&o[2].timer));
        CU_ASSERT_EQUAL(o[2].timer.expire, 1100);
        CU_ASSERT_EQUAL(w.count, 1);
        CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 1099), 0);
        CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 1100), 1);
        CU_ASSERT_EQUAL(w.count, 0);
    }
}

/* a callback that frees its object: the wheel must not touch it afterwards (ASan checks) */
static void free_cb(struct sp_timer *t)
{
    free(obj_of(t));
}

static void test_free_in_callback(void)
{
    struct sp_timer_wheel w;
    sp_timer_wheel_init(&w, 0);
    for (int i = 0; i < 10; i++) {
        struct obj *o = calloc(1, sizeof(*o));
        CU_ASSERT_FATAL(o != NULL);
        sp_timer_init(&o->timer, free_cb);
        sp_timer_arm(&w, &o->timer, 10);
    }
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 10), 10);
    CU_ASSERT_EQUAL(w.count, 0);
}

static void test_past(void)
{
    struct sp_timer_wheel w;
    struct obj o[3];
    setup(&w, 100000, o, 3, record_cb);
    sp_timer_arm(&w, &o[0].timer, 0);
    sp_timer_arm(&w, &o[1].timer, 100000 - TURN - 1); /* would hash to an unrelated slot */
    sp_timer_arm(&w, &o[2].timer, 100000);
    CU_ASSERT_EQUAL(sp_timer_wheel_next_ms(&w), 0);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 100000), 3);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(o[i].fired, 1);
    CU_ASSERT_EQUAL(w.count, 0);

    /* armed in the past, the clock then jumps: still fires, once */
    setup(&w, 100000, o, 1, record_cb);
    sp_timer_arm(&w, &o[0].timer, 99999);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 100000 + 3 * TURN + 7), 1);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 100000 + 6 * TURN), 0);

    /* a clock that steps back neither fires anything early nor moves the wheel back */
    setup(&w, 100000, o, 1, record_cb);
    sp_timer_arm(&w, &o[0].timer, 100001);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 50000), 0);
    CU_ASSERT_EQUAL(w.now, 100000);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 100001), 1);
}

static void test_far(void)
{
    struct sp_timer_wheel w;
    struct obj o[4];
    const uint64_t hour = 3600 * 1000;
    setup(&w, 1000, o, 4, record_cb);
    sp_timer_arm(&w, &o[0].timer, 1000 + hour);
    sp_timer_arm(&w, &o[1].timer, 1000 + TURN);     /* exactly one turn: same slot as now */
    sp_timer_arm(&w, &o[2].timer, 1000 + 2 * TURN); /* two turns, same slot again */
    sp_timer_arm(&w, &o[3].timer, 1000 + TURN - 1);

    /* pass over their slots many times in small steps: nothing early */
    uint64_t now = 1000;
    for (; now < 1000 + TURN - 1; now += 3)
        CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, now), 0);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 1000 + TURN - 1), 1);
    CU_ASSERT_EQUAL(o[3].fired, 1);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 1000 + TURN), 1);
    CU_ASSERT_EQUAL(o[1].fired, 1);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 1000 + 2 * TURN - 1), 0);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 1000 + 2 * TURN), 1);
    CU_ASSERT_EQUAL(o[2].fired, 1);

    /* the hour, in one-second steps (each a turn fraction) then exactly */
    for (now = 1000 + 2 * TURN; now < 1000 + hour - 1; now += 1000)
        CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, now), 0);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 1000 + hour - 1), 0);
    CU_ASSERT_EQUAL(o[0].fired, 0);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 1000 + hour), 1);
    CU_ASSERT_EQUAL(o[0].fired, 1);
    CU_ASSERT_EQUAL(o[0].fired_at, 1000 + hour);
    CU_ASSERT_EQUAL(w.count, 0);
}

static void test_big_jump(void)
{
    struct sp_timer_wheel w;
    static struct obj o[SP_TIMER_SLOTS * 2];
    const int n = SP_TIMER_SLOTS * 2;
    const uint64_t day = 24ull * 3600 * 1000;
    setup(&w, 0, o, n, record_cb);
    /* one timer per tick over two turns, then jump a day minus one ms past the first ones */
    for (int i = 0; i < n; i++)
        sp_timer_arm(&w, &o[i].timer, (uint64_t)i * TICK + 1);
    struct obj late;
    sp_timer_init(&late.timer, record_cb);
    late.fired = 0;
    sp_timer_arm(&w, &late.timer, day + 1);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, day), (unsigned)n);
    for (int i = 0; i < n; i++)
        CU_ASSERT_EQUAL(o[i].fired, 1);
    CU_ASSERT_EQUAL(late.fired, 0);
    CU_ASSERT_EQUAL(w.count, 1);
    CU_ASSERT_EQUAL(sp_timer_wheel_next_ms(&w), 1);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, day + 1), 1);
    CU_ASSERT_EQUAL(late.fired, 1);

    /* a jump near the top of the range must not wrap the tick arithmetic */
    setup(&w, 0, o, 1, record_cb);
    sp_timer_arm(&w, &o[0].timer, 5);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, UINT64_MAX - 10), 1);
    CU_ASSERT_EQUAL(w.count, 0);
}

static void test_next_ms(void)
{
    struct sp_timer_wheel w;
    struct obj o[3];

    for (uint64_t start = 5000; start < 5000 + TICK; start++) {
        for (uint64_t d = 1; d < 3 * TURN; d += d < 64 ? 1 : 97) {
            setup(&w, start, o, 1, record_cb);
            sp_timer_arm(&w, &o[0].timer, start + d);
            int ms = sp_timer_wheel_next_ms(&w);
            CU_ASSERT(ms >= 0);
            CU_ASSERT((uint64_t)ms <= d + TICK);
            /* waiting that long and advancing, repeatedly, fires it on time */
            unsigned guard = 0;
            while (!o[0].fired && guard++ < 100) {
                ms = sp_timer_wheel_next_ms(&w);
                CU_ASSERT(ms >= 0);
                CU_ASSERT(w.now + (uint64_t)ms <= start + d + TICK);
                sp_timer_wheel_advance(&w, w.now + (uint64_t)ms);
            }
            CU_ASSERT_EQUAL(o[0].fired, 1);
            CU_ASSERT(o[0].fired_at >= start + d && o[0].fired_at <= start + d + TICK);
            CU_ASSERT_EQUAL(sp_timer_wheel_next_ms(&w), -1);
        }
    }

    /* within a turn the answer is exact */
    setup(&w, 0, o, 3, record_cb);
    sp_timer_arm(&w, &o[0].timer, 2000);
    sp_timer_arm(&w, &o[1].timer, 333);
    sp_timer_arm(&w, &o[2].timer, 1 + 5 * TURN);
    CU_ASSERT_EQUAL(sp_timer_wheel_next_ms(&w), 333);
    sp_timer_wheel_advance(&w, 330);
    CU_ASSERT_EQUAL(sp_timer_wheel_next_ms(&w), 3);
    sp_timer_wheel_advance(&w, 333);
    CU_ASSERT_EQUAL(sp_timer_wheel_next_ms(&w), 2000 - 333);
    sp_timer_arm(&w, &o[1].timer, 100); /* past */
    CU_ASSERT_EQUAL(sp_timer_wheel_next_ms(&w), 0);
    sp_timer_disarm(&w, &o[1].timer);
    sp_timer_disarm(&w, &o[0].timer);
    /* only a far timer left: may be early, never late */
    int ms = sp_timer_wheel_next_ms(&w);
    CU_ASSERT(ms > 0 && 333 + (uint64_t)ms <= 1 + 5 * TURN + TICK);
    sp_timer_disarm(&w, &o[2].timer);
    CU_ASSERT_EQUAL(sp_timer_wheel_next_ms(&w), -1);
}

static void test_count(void)
{
    struct sp_timer_wheel w;
    static struct obj o[100];
    setup(&w, 0, o, 100, record_cb);
    for (int i = 0; i < 100; i++) {
        sp_timer_arm(&w, &o[i].timer, 10 + (uint64_t)i * 100);
        CU_ASSERT_EQUAL(w.count, (unsigned)i + 1);
    }
    for (int i = 0; i < 100; i++)
        sp_timer_arm(&w, &o[i].timer, 20 + (uint64_t)i * 100); /* re-arm: no change */
    CU_ASSERT_EQUAL(w.count, 100);
    for (int i = 0; i < 100; i += 2)
        sp_timer_disarm(&w, &o[i].timer);
    CU_ASSERT_EQUAL(w.count, 50);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 5000), 25);
    CU_ASSERT_EQUAL(w.count, 25);
    CU_ASSERT_EQUAL(sp_timer_wheel_advance(&w, 10000), 25);
    CU_ASSERT_EQUAL(w.count, 0);
    CU_ASSERT_EQUAL(sp_timer_wheel_next_ms(&w), -1);
}

/* Randomized against a reference model: per timer, armed or not and its expiry. Advances come in
 * small steps, ticks, turns and hours; some callbacks re-arm their timer (past or future) or
 * disarm another timer, which the model mirrors. */
#define NRAND 1000

struct model {
    bool armed;
    bool cb_armed; /* armed by a callback during the current advance */
    uint64_t expire;
};

static struct obj robj[NRAND];
static struct model rmodel[NRAND];
static uint64_t rng_state;
static unsigned rfired;
static bool rbad; /* a callback saw something the model forbids */

static uint64_t rng(void)
{
    /* splitmix64: deterministic, no libc state */
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t rand_expire(uint64_t now)
{
    switch (rng() % 8) {
    case 0:
        return now > 100 ? now - rng() % 100 : 0; /* past or now */
    case 1:
        return now + rng() % (4 * TICK);
    case 2:
    case 3:
    case 4:
        return now + rng() % TURN;
    case 5:
        return now + rng() % (4 * TURN);
    case 6:
        return now + 3600 * 1000 + rng() % 1000;
    default:
        return now + rng() % 200;
    }
}

static void rand_cb(struct sp_timer *t)
{
    struct obj *o = obj_of(t);
    struct model *m = &rmodel[o->id];
    if (!m->armed || m->expire > cur_wheel->now || sp_timer_armed(t))
        rbad = true;
    m->armed = false;
    o->fired++;
    rfired++;
    switch (rng() % 10) {
    case 0: /* re-arm itself, maybe into the past */
    case 1: {
        uint64_t e = rand_expire(cur_wheel->now);
        sp_timer_arm(cur_wheel, t, e);
        m->armed = true;
        m->cb_armed = true;
        m->expire = e;
        break;
    }
    case 2: { /* disarm another, maybe one due in this advance */
        unsigned j = (unsigned)(rng() % NRAND);
        sp_timer_disarm(cur_wheel, &robj[j].timer);
        rmodel[j].armed = false;
        break;
    }
    case 3: { /* re-arm another */
        unsigned j = (unsigned)(rng() % NRAND);
        uint64_t e = rand_expire(cur_wheel->now);
        sp_timer_arm(cur_wheel, &robj[j].timer, e);
        rmodel[j].armed = true;
        rmodel[j].cb_armed = true;
        rmodel[j].expire = e;
        break;
    }
    default:
        break;
    }
}

static void check_model(const struct sp_timer_wheel *w)
{
    unsigned armed = 0;
    uint64_t earliest = UINT64_MAX;
    bool same = true;
    for (unsigned i = 0; i < NRAND; i++) {
        if (sp_timer_armed(&robj[i].timer) != rmodel[i].armed)
            same = false;
        if (!rmodel[i].armed)
            continue;
        armed++;
        if (robj[i].timer.expire != rmodel[i].expire)
            same = false;
        if (rmodel[i].expire < earliest)
            earliest = rmodel[i].expire;
    }
    CU_ASSERT_TRUE(same);
    CU_ASSERT_EQUAL(w->count, armed);
    int ms = sp_timer_wheel_next_ms(w);
    if (!armed) {
        CU_ASSERT_EQUAL(ms, -1);
    } else if (earliest <= w->now) {
        CU_ASSERT_EQUAL(ms, 0);
    } else {
        CU_ASSERT(ms >= 0);
        CU_ASSERT(w->now + (uint64_t)ms <= earliest + TICK);
    }
}

static void test_random(void)
{
    struct sp_timer_wheel w;
    rng_state = 42;
    rbad = false;
    setup(&w, 1000000, robj, NRAND, rand_cb);
    for (unsigned i = 0; i < NRAND; i++)
        rmodel[i].armed = false;

    uint64_t now = w.now;
    for (int step = 0; step < 50000; step++) {
        unsigned op = (unsigned)(rng() % 16);
        if (op < 7) {
            unsigned j = (unsigned)(rng() % NRAND);
            uint64_t e = rand_expire(now);
            sp_timer_arm(&w, &robj[j].timer, e);
            rmodel[j].armed = true;
            rmodel[j].expire = e;
        } else if (op < 10) {
            unsigned j = (unsigned)(rng() % NRAND);
            sp_timer_disarm(&w, &robj[j].timer);
            rmodel[j].armed = false;
        } else {
            uint64_t r = rng() % 1000, d;
            if (r < 700)
                d = rng() % (2 * TICK);
            else if (r < 985)
                d = rng() % 50;
            else if (r < 998)
                d = rng() % (3 * TURN);
            else
                d = 3600 * 1000 + rng() % TURN;
            if (op == 10) /* advance to exactly the earliest expiry, or just before it */
                for (unsigned i = 0; i < NRAND; i++)
                    if (rmodel[i].armed && rmodel[i].expire > now && rmodel[i].expire - now <= d)
                        d = rmodel[i].expire - now - (rng() & 1);
            now += d;

            /* callbacks may disarm due timers before they fire, so the count is an upper
             * bound; what must hold afterwards is that every timer still armed and due was
             * armed by a callback of this advance (it fires on the next one) */
            unsigned due = 0;
            for (unsigned i = 0; i < NRAND; i++) {
                due += rmodel[i].armed && rmodel[i].expire <= now;
                rmodel[i].cb_armed = false;
            }
            rfired = 0;
            unsigned n = sp_timer_wheel_advance(&w, now);
            CU_ASSERT_EQUAL(n, rfired);
            CU_ASSERT(rfired <= due);
            CU_ASSERT_FALSE(rbad);
            bool missed = false;
            for (unsigned i = 0; i < NRAND; i++)
                if (rmodel[i].armed && rmodel[i].expire <= now && !rmodel[i].cb_armed)
                    missed = true;
            CU_ASSERT_FALSE(missed);
            check_model(&w);
            if (rbad)
                break;
        }
    }
    /* drain: everything fires within an hour and a bit, armed-in-callback ones included */
    for (int i = 0; i < 10 && w.count; i++) {
        now += 2 * 3600 * 1000;
        sp_timer_wheel_advance(&w, now);
        check_model(&w);
    }
    for (unsigned i = 0; i < NRAND; i++)
        sp_timer_disarm(&w, &robj[i].timer);
    CU_ASSERT_EQUAL(w.count, 0);
    CU_ASSERT_FALSE(rbad);
}

static void test_now_ms(void)
{
    uint64_t a = sp_now_ms();
    struct timespec ts = {0, 20 * 1000 * 1000};
    nanosleep(&ts, NULL);
    uint64_t b = sp_now_ms();
    CU_ASSERT(b >= a + 19);
    CU_ASSERT(b < a + 5000);
}

void test_timer_register(void)
{
    CU_pSuite s = sp_unit_suite("core/timer");
    sp_unit_test(s, "init and empty wheel", test_init);
    sp_unit_test(s, "never fires before expiry", test_never_early);
    sp_unit_test(s, "1 ms steps fire exactly on time", test_ms_steps);
    sp_unit_test(s, "firing order", test_order);
    sp_unit_test(s, "disarm", test_disarm);
    sp_unit_test(s, "re-arm", test_rearm);
    sp_unit_test(s, "arm self from callback", test_arm_in_callback);
    sp_unit_test(s, "arm others from callback", test_arm_other_in_callback);
    sp_unit_test(s, "disarm due timer from callback", test_disarm_due_in_callback);
    sp_unit_test(s, "free from callback", test_free_in_callback);
    sp_unit_test(s, "expiry in the past", test_past);
    sp_unit_test(s, "timers many turns away", test_far);
    sp_unit_test(s, "big time jumps", test_big_jump);
    sp_unit_test(s, "next_ms", test_next_ms);
    sp_unit_test(s, "count bookkeeping", test_count);
    sp_unit_test(s, "randomized against a model", test_random);
    sp_unit_test(s, "sp_now_ms", test_now_ms);
}
