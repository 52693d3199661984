/* core/log.h - the process's own diagnostics (start-up, errors, debug), not access logs.
 *
 * shared: any thread may call sp_log(); one line is one fprintf() on stderr, which stdio locks,
 * so lines from different workers never interleave. Library code returns errors and lets
 * its caller log (STYLE.md); the worker loop, the transaction end and main log.
 *
 * A line never carries raw control bytes: whatever it quotes (a configuration word, a bind
 * address, a client's request line in debug output) is passed through sp_log_escape(), so a
 * binary file or a hostile client cannot drive the operator's terminal.
 */
#ifndef SP_CORE_LOG_H
#define SP_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum sp_log_level {
    SP_LOG_ALERT = 0,
    SP_LOG_WARNING,
    SP_LOG_NOTICE,
    SP_LOG_DEBUG,
};

/* shared: set once by main before workers start */
extern int sp_log_verbosity; /* highest level printed; SP_LOG_NOTICE by default, -d: DEBUG */

#define sp_log_enabled(lvl) ((int)(lvl) <= sp_log_verbosity)

/* shared: any thread. One line on stderr at level `lvl` when sp_log_verbosity enables it (a
 * warning is counted either way). */
void sp_log(enum sp_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* shared: any thread. How many warnings sp_log() was given (printed or not): `zero-warning`
 * counts them. */
unsigned sp_log_nwarnings_mt(void);

#define sp_debug(...)                                                                              \
    do {                                                                                           \
        if (sp_log_enabled(SP_LOG_DEBUG))                                                          \
            sp_log(SP_LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)

/* ---------------------------------------------------------------------------------------- */
/* rate-limited lines: for warnings that an event raises (an accept that fails, a connect that
 * finds no descriptor left), which a storm of events would otherwise turn into thousands of
 * identical lines a second */

#define SP_LOG_RL_INTERVAL_MS 1000

/* shared: any thread, lock-free (ck_pr atomics). One per cause, usually a `static` at the call
 * site, zero-initialised (SP_LOG_RL_INIT). At most one line per SP_LOG_RL_INTERVAL_MS goes
 * out per cause, all workers together; the lines dropped in between are counted, and the next
 * line that goes out ends with " (N similar messages suppressed)".
 * Cost of a dropped line: a coarse clock read (vDSO), one load, and one atomic increment on
 * the cause's cache line (shared by the workers that hit the same cause at the same time). */
struct sp_log_rl {
    uint64_t next_ms;    /* monotonic ms before which lines are dropped; 0: none printed yet */
    uint64_t suppressed; /* lines dropped since the last one printed */
};

#define SP_LOG_RL_INIT                                                                             \
    {                                                                                              \
        0, 0                                                                                       \
    }

/* shared: any thread, lock-free.
 * The decision for one line at monotonic time `now_ms`. True: print it, and
 * *ret_suppressed says how many were dropped since the last one printed (the count restarts
 * at 0). False: dropped and counted. Exactly one caller wins each interval, even when
 * several threads race. Exposed for tests; callers use sp_log_rl_mt(). */
bool sp_log_rl_pass_mt(struct sp_log_rl *rl, uint64_t now_ms, uint64_t *ret_suppressed);

/* shared: any thread.
 * sp_log() through the rate limit `rl` (see struct sp_log_rl). A level that is not
 * enabled costs nothing and is not counted. */
void sp_log_rl_mt(struct sp_log_rl *rl, enum sp_log_level lvl, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---------------------------------------------------------------------------------------- */
/* escaping */

/* pure: any thread.
 * Copies `len` bytes of `src` into `dst` (`size` bytes, NUL-terminated when size > 0)
 * with every byte that is not printable written as \xHH: control bytes (0x00-0x1f, 0x7f),
 * bytes that are not part of a valid UTF-8 sequence, and C1 controls (U+0080-U+009F).
 * Printable ASCII and valid UTF-8 text pass unchanged, so a name in any script still reads.
 * An escape is never cut in half: output stops at the last whole character that fits.
 * Returns the length written (without the NUL). 4 * len + 1 bytes always suffice. */
size_t sp_log_escape(char *dst, size_t size, const char *src, size_t len);

#endif
