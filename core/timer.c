/* core/timer.c - the hashed timer wheel of core/timer.h.
 *
 * A timer lives in slot (tick of its expiry) & SP_TIMER_MASK, where tick = ms / SP_TIMER_TICK_MS,
 * except that an expiry already behind the wheel goes to the slot of the wheel's current tick
 * so that the next advance sees it. Timers more than one turn away sit in their slot and are
 * skipped (left in place) each time the wheel passes over them until their turn comes; a
 * single-level wheel gains nothing from re-hashing them, since they would land in the same slot.
 *
 * Invariant after every advance: every armed timer with expire > now is in the slot of its own
 * tick, which is >= the wheel's tick; every armed timer with expire <= now (armed in the past
 * since) is in the slot of the wheel's tick. That is why an advance always rescans the slot of
 * the tick it starts from: it may hold timers armed in the past and timers later in that tick.
 */
#include "core/timer.h"

#include <string.h>
#include <time.h>

#define SP_TIMER_MASK (SP_TIMER_SLOTS - 1)

_Static_assert((SP_TIMER_SLOTS & SP_TIMER_MASK) == 0, "SP_TIMER_SLOTS must be a power of two");

void sp_timer_wheel_init(struct sp_timer_wheel *w, uint64_t now_ms)
{
    memset(w->slots, 0, sizeof(w->slots));
    w->now = now_ms;
    w->tick = now_ms / SP_TIMER_TICK_MS;
    w->count = 0;
}

/* Unlinks an armed timer from whatever list holds it: a slot, or the pending list of an
 * advance in progress (whose head lives in that advance's frame). */
static void unlink_timer(struct sp_timer *t)
{
    *t->_pprev = t->_next;
    if (t->_next)
        t->_next->_pprev = t->_pprev;
    t->_next = NULL;
    t->_pprev = NULL;
}

void sp_timer_arm(struct sp_timer_wheel *w, struct sp_timer *t, uint64_t expire_ms)
{
    if (t->_pprev)
        unlink_timer(t);
    else
        w->count++;

    uint64_t tick = expire_ms / SP_TIMER_TICK_MS;
    if (tick < w->tick)
        tick = w->tick;
    struct sp_timer **head = &w->slots[tick & SP_TIMER_MASK];

    t->expire = expire_ms;
    t->_next = *head;
    if (t->_next)
        t->_next->_pprev = &t->_next;
    t->_pprev = head;
    *head = t;
}

void sp_timer_disarm(struct sp_timer_wheel *w, struct sp_timer *t)
{
    if (!t->_pprev)
        return;
    unlink_timer(t);
    w->count--;
}

/* Two phases: first every due timer moves from the slots to a local pending list, then the
 * callbacks run off that list. Anything a callback arms therefore lands in the wheel, not in
 * this advance, so a timer re-armed into the past fires on the next advance instead of looping
 * here; and a callback that disarms or re-arms a timer still pending simply unlinks it from the
 * pending list through _pprev, like from a slot. Due timers stay counted until they fire.
 *
 * Within one turn, callbacks run in tick order; within a tick, in no particular order. A jump of
 * a turn or more scans every slot once, so its order is only by slot. A clock that steps back
 * is treated as standing still. */
unsigned sp_timer_wheel_advance(struct sp_timer_wheel *w, uint64_t now_ms)
{
    if (now_ms < w->now)
        now_ms = w->now;

    uint64_t from = w->tick;
    uint64_t to = now_ms / SP_TIMER_TICK_MS;
    uint64_t span = to - from;
    unsigned nslots = span < SP_TIMER_SLOTS ? (unsigned)span + 1 : SP_TIMER_SLOTS;

    struct sp_timer *pending = NULL;
    struct sp_timer **ptail = &pending;

    /* cost: every timer in each scanned slot is looked at, including those turns away */
    for (unsigned i = 0; i < nslots; i++) {
        struct sp_timer **pp = &w->slots[(from + i) & SP_TIMER_MASK];
        struct sp_timer *t;
        while ((t = *pp)) {
            if (t->expire > now_ms) {
                pp = &t->_next;
                continue;
            }
            *pp = t->_next;
            if (t->_next)
                t->_next->_pprev = pp;
            t->_next = NULL;
            t->_pprev = ptail;
            *ptail = t;
            ptail = &t->_next;
        }
    }

    /* set before any callback, so that a timer armed in the past lands in the slot the next
     * advance starts from */
    w->now = now_ms;
    w->tick = to;

    unsigned fired = 0;
    struct sp_timer *t;
    while ((t = pending)) {
        pending = t->_next;
        if (pending)
            pending->_pprev = &pending;
        t->_next = NULL;
        t->_pprev = NULL;
        w->count--;
        fired++;
        t->cb(t); /* may free t: not touched after this */
    }
    return fired;
}

/* Exact for the earliest timer in the current tick or in the first later tick holding one within
 * this turn. To stay O(SP_TIMER_SLOTS) past the current slot, at most SP_TIMER_SLOTS timers of
 * later slots are looked at; when that budget runs out, or when every timer is a turn or more
 * away, the answer is the start of the tick where the next candidate might be: early, which
 * costs the caller one spare wake-up, but never late. The current slot is always walked in full
 * (a due timer there must give 0): that walk costs its population, count/SLOTS on average. */
int sp_timer_wheel_next_ms(const struct sp_timer_wheel *w)
{
    if (!w->count)
        return -1;

    const uint64_t now = w->now;
    uint64_t best = UINT64_MAX;
    uint64_t end = (w->tick + 1) * SP_TIMER_TICK_MS; /* first ms past the current tick */

    for (const struct sp_timer *t = w->slots[w->tick & SP_TIMER_MASK]; t; t = t->_next) {
        if (t->expire <= now)
            return 0;
        if (t->expire < end && t->expire < best)
            best = t->expire;
    }
    if (best != UINT64_MAX)
        return (int)(best - now);

    /* in a later slot every timer's tick is that slot's tick or whole turns beyond it, so only
     * those below the slot's end are in this turn */
    unsigned budget = SP_TIMER_SLOTS;
    for (unsigned i = 1; i < SP_TIMER_SLOTS; i++) {
        const struct sp_timer *t = w->slots[(w->tick + i) & SP_TIMER_MASK];
        if (!t)
            continue;
        uint64_t start = (w->tick + i) * SP_TIMER_TICK_MS;
        end = start + SP_TIMER_TICK_MS;
        for (; t; t = t->_next) {
            if (!budget--)
                return (int)(start - now);
            if (t->expire < end && t->expire < best)
                best = t->expire;
        }
        if (best != UINT64_MAX)
            return (int)(best - now);
    }

    /* every timer is a turn or more away: nothing before the current slot comes round again */
    return (int)((w->tick + SP_TIMER_SLOTS) * SP_TIMER_TICK_MS - now);
}

uint64_t sp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

uint64_t sp_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

uint64_t sp_wall_us(uint64_t mono_us)
{
    /* shared: computed once, then only read; two threads racing compute the same value */
    static int64_t offset;
    int64_t off = __atomic_load_n(&offset, __ATOMIC_RELAXED);

    if (!off) {
        struct timespec rt;
        clock_gettime(CLOCK_REALTIME, &rt);
        off = (int64_t)((uint64_t)rt.tv_sec * 1000000u + (uint64_t)rt.tv_nsec / 1000u) -
              (int64_t)sp_now_us();
        __atomic_store_n(&offset, off, __ATOMIC_RELAXED);
    }
    return (uint64_t)((int64_t)mono_us + off);
}
