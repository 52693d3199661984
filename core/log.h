/* core/log.h - the process's own diagnostics (start-up, errors, debug), not access logs.
 *
 * shared: any thread may call sp_log(); one line is one fprintf() on stderr, which stdio locks,
 * so lines from different workers never interleave. Library code returns errors and lets
 * its caller log (STYLE.md); the worker loop, the transaction end and main log.
 */
#ifndef SP_CORE_LOG_H
#define SP_CORE_LOG_H

enum sp_log_level {
    SP_LOG_ALERT = 0,
    SP_LOG_WARNING,
    SP_LOG_NOTICE,
    SP_LOG_DEBUG,
};

/* shared: set once by main before workers start */
extern int sp_log_verbosity; /* highest level printed; SP_LOG_NOTICE by default, -d: DEBUG */

#define sp_log_enabled(lvl) ((int)(lvl) <= sp_log_verbosity)

void sp_log(enum sp_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define sp_debug(...)                                                                              \
    do {                                                                                           \
        if (sp_log_enabled(SP_LOG_DEBUG))                                                          \
            sp_log(SP_LOG_DEBUG, __VA_ARGS__);                                                     \
    } while (0)

#endif
