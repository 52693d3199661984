/* core/config-int.h - what config.c (the model, value parsers, post-parse checks) and
 * cfgparse.c (the line parser) share inside core/. Not for other modules.
 *
 * owner: main, like everything in the configuration loader.
 */
#ifndef SP_CORE_CONFIG_INT_H
#define SP_CORE_CONFIG_INT_H

#include <stdarg.h>

#include "core/config.h"

/* The limits a configuration line must respect; longer or wordier lines are errors. */
#define SP__CFG_MAX_LINE  65536
#define SP__CFG_MAX_WORDS 64

/* Prints one diagnostic line to `out` (skipped when NULL) and counts it in cfg:
 *   [ALERT] file:line: 'kw': message      (`kw` NULL: no keyword part)
 * `error` false prints [WARNING] and counts a warning. */
void sp__cfg_vdiag(struct sp_config *cfg, FILE *out, bool error, const struct sp_cfg_where *w,
                   const char *kw, const char *fmt, va_list ap);
void sp__cfg_diag(struct sp_config *cfg, FILE *out, bool error, const struct sp_cfg_where *w,
                  const char *kw, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Sets the built-in values every proxy and defaults section starts from when no `defaults`
 * applies (HAProxy's: mode tcp, retries 3, unset timeouts...). Owns nothing afterwards. */
void sp__cfg_proxy_init(struct sp_cfg_proxy *px);

/* Frees a proxy (or defaults section) and everything it owns. Accepts NULL. */
void sp__cfg_proxy_free(struct sp_cfg_proxy *px);

/* Frees a list of `acl` / `use_backend` lines. Accepts NULL. */
void sp__cfg_rules_free(struct sp_cfg_rule *r);

/* Frees a list of `log` lines. Accepts NULL. */
void sp__cfg_logs_free(struct sp_cfg_log *l);

/* Makes `dst` a copy of the inheritable settings of `src` (a defaults section): everything
 * but the name, binds, servers, ids, `where` and resolved pointers. `dst` must hold no
 * owned settings yet. Returns 0 or -ENOMEM (then `dst` owns whatever was copied so far and
 * sp__cfg_proxy_free() still releases it). */
int sp__cfg_proxy_inherit(struct sp_cfg_proxy *dst, const struct sp_cfg_proxy *src);

/* Duplicates a `log` list; NULL with *ret_oom set when memory runs out. */
struct sp_cfg_log *sp__cfg_logs_dup(const struct sp_cfg_log *l, bool *ret_oom);

/* Sets the global section's built-in values. */
void sp__cfg_global_init(struct sp_cfg_global *g);

/* The checks that need the whole file: resolves default_backend, assigns proxy ids,
 * reports frontends without bind, missing timeouts, logging without a target... Adds to
 * cfg->nerrors / cfg->nwarnings. */
void sp__cfg_check(struct sp_config *cfg, FILE *diag);

/* Checks a `log` target ("stdout", "stderr", "/abs/path", "udp@", "[ipv4@|ipv6@]host[:port]",
 * port 514 when absent). Returns 0, -EINVAL (malformed) or -ENOENT (name does not resolve). */
int sp__cfg_check_log_target(const char *target);

/* Splits one line (without its '\n') into at most SP__CFG_MAX_WORDS words by HAProxy's rules
 * (blanks, '#' comments, "double" and 'single' quotes, backslash escapes). `out` holds len + 1
 * bytes and receives the words; argv[i] point into it. Returns the word count, or -1 with
 * *ret_err set to a static message. */
int sp__cfg_tokenize(const char *line, size_t len, char *out, char **argv, const char **ret_err);

/* "1", "1-4", "1,3-5" or "all" -> bits 0..63 for threads 1..64 (never empty). */
bool sp__cfg_parse_thread_set(const char *txt, uint64_t *ret);

/* Adds a CPU list ("0-3,5") to `set`; false when malformed or beyond CPU_SETSIZE. */
bool sp__cfg_parse_cpu_list(const char *txt, cpu_set_t *set);

/* A network for `except`: IPv4 with an optional /len or /dotted-mask, IPv6 with an optional
 * /len; host bits are cleared. */
bool sp__cfg_parse_network(const char *txt, struct sockaddr_storage *ss, int *ret_prefix);

#endif
