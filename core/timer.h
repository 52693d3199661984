/* core/timer.h - a hashed timer wheel, one per worker.
 *
 * owner: worker. Not thread-safe: a wheel and its timers are touched only by the worker that
 * owns them. Every timeout of a worker's connections (client, server, connect, http-request,
 * keep-alive, queue, hard stop) is one struct sp_timer embedded in the object it guards.
 *
 * Resolution is SP_TIMER_TICK_MS; a timer fires at or after its expiry, never before, and at
 * most one tick late when the loop runs on time. Arming, re-arming and disarming are O(1),
 * which matters because a busy connection re-arms its inactivity timer on every read.
 * Expiry in one advance costs O(ticks elapsed + timers fired + timers re-hashed).
 */
#ifndef SP_CORE_TIMER_H
#define SP_CORE_TIMER_H

#include <stdbool.h>
#include <stdint.h>

#define SP_TIMER_TICK_MS 4
#define SP_TIMER_SLOTS   1024 /* power of two; one turn = 4.096 s, longer timers take rounds */

struct sp_timer;
typedef void (*sp_timer_cb)(struct sp_timer *t);

/* owner: worker (the wheel's) */
struct sp_timer {
    struct sp_timer *_next, **_pprev; /* slot list links; _pprev == NULL: not armed */
    uint64_t expire;                  /* absolute ms, valid while armed */
    sp_timer_cb cb;                   /* set by the owner; called once per expiry */
};

/* owner: worker */
struct sp_timer_wheel {
    struct sp_timer *slots[SP_TIMER_SLOTS];
    uint64_t now;   /* ms: last time passed to init/advance */
    uint64_t tick;  /* last tick processed */
    unsigned count; /* armed timers */
};

/* owner: the wheel's worker, or main before that worker's thread starts (sp_worker_init()).
 * An empty wheel whose time is `now_ms`. */
void sp_timer_wheel_init(struct sp_timer_wheel *w, uint64_t now_ms);

/* owner: the worker of the object `t` is embedded in. Unarmed, firing `cb` once armed. */
static inline void sp_timer_init(struct sp_timer *t, sp_timer_cb cb)
{
    t->_next = 0;
    t->_pprev = 0;
    t->expire = 0;
    t->cb = cb;
}

/* owner: the timer's worker. True while `t` waits in a wheel. */
static inline bool sp_timer_armed(const struct sp_timer *t)
{
    return t->_pprev != 0;
}

/* owner: worker (the wheel's and the timer's).
 * (Re-)arms `t` to fire at absolute time `expire_ms` (an expiry in the past fires on the next
 * advance). */
void sp_timer_arm(struct sp_timer_wheel *w, struct sp_timer *t, uint64_t expire_ms);

/* owner: worker (the wheel's and the timer's).
 * Disarms `t`; harmless on a timer that is not armed. */
void sp_timer_disarm(struct sp_timer_wheel *w, struct sp_timer *t);

/* owner: worker (the wheel's).
 * Moves the wheel to `now_ms` and calls the callback of every timer whose expiry is <= now_ms,
 * each disarmed before its callback runs. Callbacks may arm, re-arm or disarm any timer of
 * the wheel, including the one firing and ones due in this same advance. Returns the number
 * of callbacks run. */
unsigned sp_timer_wheel_advance(struct sp_timer_wheel *w, uint64_t now_ms);

/* owner: worker (the wheel's).
 * Milliseconds from the wheel's `now` until the earliest armed timer may fire (0 if one is
 * already due), or -1 when none is armed. Suitable as an epoll_wait timeout: it may be early
 * (the caller then advances and waits again) but is never late by more than one tick.
 * O(SP_TIMER_SLOTS) worst case; callers use it once per loop turn. */
int sp_timer_wheel_next_ms(const struct sp_timer_wheel *w);

/* any thread (no state). Monotonic clock in ms, and in us (the same clock). */
uint64_t sp_now_ms(void);
uint64_t sp_now_us(void);
/* any thread: the offset is an atomic, computed once (racing threads compute the same).
 * Wall-clock time in us for a monotonic instant (offset measured once at first use: dates in
 * logs, never durations). */
uint64_t sp_wall_us(uint64_t mono_us);

#endif
