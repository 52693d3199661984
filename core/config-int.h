/* core/config-int.h - what config.c (the model, value parsers, post-parse checks) and the
 * line parser share inside core/: cfgparse.c (sections, helpers, keyword table, global
 * keywords), cfgproxy.c (proxy keywords) and cfgrules.c (rule and stats keywords). Not for
 * other modules.
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
/* a line once its environment variables are expanded; `.if` levels open at once (HAProxy's
 * MAXNESTEDCONDS) */
#define SP__CFG_MAX_EXPANDED (4 * SP__CFG_MAX_LINE)
#define SP__CFG_MAX_NESTED   128

/* owner: main (the configuration loader).
 * Prints one diagnostic line to `out` (skipped when NULL) and counts it in cfg:
 *   [ALERT] file:line: 'kw': message      (`kw` NULL: no keyword part)
 * `error` false prints [WARNING] and counts a warning. */
void sp__cfg_vdiag(struct sp_config *cfg, FILE *out, bool error, const struct sp_cfg_where *w,
                   const char *kw, const char *fmt, va_list ap);
void sp__cfg_diag(struct sp_config *cfg, FILE *out, bool error, const struct sp_cfg_where *w,
                  const char *kw, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* Bits of sp_cfg_proxy._to_bad: a `timeout` line for that timeout had an error, which was
 * reported; the check for missing timeouts then stays silent about it rather than pile a
 * misleading warning on top. OTHER: a line whose timeout name was missing or unknown (which
 * one was meant cannot be told, so none of them is reported as missing). */
#define SP__CFG_TO_CLIENT  (1u << 0)
#define SP__CFG_TO_SERVER  (1u << 1)
#define SP__CFG_TO_CONNECT (1u << 2)
#define SP__CFG_TO_TUNNEL  (1u << 3)
#define SP__CFG_TO_OTHER   (1u << 4)
#define SP__CFG_TO_UNKNOWN (~0u)

/* owner: main (the configuration loader).
 * Sets the built-in values every proxy and defaults section starts from when no `defaults`
 * applies (HAProxy's: mode tcp, retries 3, unset timeouts...). Owns nothing afterwards. */
void sp__cfg_proxy_init(struct sp_cfg_proxy *px);

/* owner: main (the configuration loader).
 * A server's built-in settings (weight 1, rise 2, fall 3, no check...): what a proxy's
 * `default-server` starts from. */
void sp__cfg_server_init(struct sp_cfg_server *s);

/* owner: main (the configuration loader).
 * Frees a proxy (or defaults section) and everything it owns. Accepts NULL. */
void sp__cfg_proxy_free(struct sp_cfg_proxy *px);

/* owner: main (the configuration loader).
 * Frees a list of `acl` / `use_backend` lines. Accepts NULL. */
void sp__cfg_rules_free(struct sp_cfg_rule *r);

/* owner: main (the configuration loader). Frees a list of `log` lines. Accepts NULL. */
void sp__cfg_logs_free(struct sp_cfg_log *l);

/* owner: main (the configuration loader).
 * Makes `dst` a copy of the inheritable settings of `src` (a defaults section): everything
 * but the name, binds, servers, ids, `where` and resolved pointers. `dst` must hold no
 * owned settings yet. Returns 0 or -ENOMEM (then `dst` owns whatever was copied so far and
 * sp__cfg_proxy_free() still releases it). */
int sp__cfg_proxy_inherit(struct sp_cfg_proxy *dst, const struct sp_cfg_proxy *src);

/* owner: main (the configuration loader).
 * Duplicates a `log` list; NULL with *ret_oom set when memory runs out. */
struct sp_cfg_log *sp__cfg_logs_dup(const struct sp_cfg_log *l, bool *ret_oom);

/* owner: main (the configuration loader). Sets the global section's built-in values. */
void sp__cfg_global_init(struct sp_cfg_global *g);

/* owner: main (the configuration loader).
 * The checks that need the whole file: resolves default_backend, assigns proxy ids,
 * reports frontends without bind, missing timeouts, logging without a target... Adds to
 * cfg->nerrors / cfg->nwarnings. */
void sp__cfg_check(struct sp_config *cfg, FILE *diag);

/* owner: main (the configuration loader).
 * Checks a `log` target ("stdout", "stderr", "/abs/path", "udp@", "[ipv4@|ipv6@]host[:port]",
 * port 514 when absent). Returns 0, -EINVAL (malformed) or -ENOENT (name does not resolve). */
int sp__cfg_check_log_target(const char *target);

/* pure: any thread.
 * Splits one line (without its '\n') into at most SP__CFG_MAX_WORDS words by HAProxy's rules
 * (blanks, '#' comments, "double" and 'single' quotes, backslash escapes). `out` holds len + 1
 * bytes and receives the words; argv[i] point into it. Returns the word count, or -1 with
 * *ret_err set to a static message. */
int sp__cfg_tokenize(const char *line, size_t len, char *out, char **argv, const char **ret_err);

/* owner: main (the configuration loader).
 * What the pseudo-variables of sp__cfg_tokenize_env() expand to. */
struct sp__cfg_tokvars {
    const char *file;    /* .FILE */
    int line;            /* .LINE */
    const char *section; /* .SECTION: the section's name, or its keyword when it has none */
};

/* owner: main (reads the environment).
 * As sp__cfg_tokenize(), and with `vars` (NULL: no expansion) expands environment variables
 * inside double quotes as HAProxy 2.6 does ("$NAME", "${NAME}", "${NAME-default}",
 * "${NAME[*]}" split into words, the .FILE, .LINE and .SECTION pseudo-variables). `out`
 * holds `outsize` bytes; a line that grows beyond it is an error. */
int sp__cfg_tokenize_env(const char *line, size_t len, char *out, size_t outsize, char **argv,
                         const struct sp__cfg_tokvars *vars, const char **ret_err);

/* pure: any thread. "1", "1-4", "1,3-5" or "all" -> bits 0..63 for threads 1..64 (never empty). */
bool sp__cfg_parse_thread_set(const char *txt, uint64_t *ret);

/* pure: any thread.
 * Adds a CPU list ("0-3,5") to `set`; false when malformed or beyond CPU_SETSIZE. */
bool sp__cfg_parse_cpu_list(const char *txt, cpu_set_t *set);

/* pure: any thread.
 * A network for `except`: IPv4 with an optional /len or /dotted-mask, IPv6 with an optional
 * /len; host bits are cleared. */
bool sp__cfg_parse_network(const char *txt, struct sockaddr_storage *ss, int *ret_prefix);

/* The HAProxy version whose configuration language spillway reads: what `.if
 * version_atleast()` and `version_before()` compare with (core/cfgcond.c). */
#define SP__CFG_HAPROXY_VERSION "2.6.0"

/* HAProxy's build features ("haproxy -vv"), answered for spillway: '+' for what it has
 * (epoll, threads, accept4, getaddrinfo, CPU pinning, the Prometheus exporter), '-' for the
 * rest. `.if feature(NAME)` is true for a '+' entry only. */
#define SP__CFG_FEATURES                                                                           \
    "+EPOLL -KQUEUE -EVPORTS -POLL +THREAD -THREAD_DUMP -BACKTRACE -NETFILTER -PCRE -PCRE_JIT "    \
    "-PCRE2 -PCRE2_JIT -STATIC_PCRE -STATIC_PCRE2 -TPROXY -LINUX_TPROXY -LINUX_SPLICE "            \
    "-LIBCRYPT -CRYPT_H -ENGINE +GETADDRINFO -OPENSSL -LUA +ACCEPT4 -CLOSEFROM -ZLIB -SLZ "        \
    "+CPU_AFFINITY -TFO -NS -DL -RT -DEVICEATLAS -51DEGREES -WURFL -SYSTEMD -OBSOLETE_LINKER "     \
    "-PRCTL -PROCCTL -OT -QUIC +PROMEX -MEMORY_PROFILING"

/* pure: any thread. True when `name` is a '+' entry of SP__CFG_FEATURES. */
bool sp__cfg_has_feature(const char *name);

/* owner: main (reads the environment).
 * Evaluates the condition of a `.if` or `.elif` line (its words joined by spaces): 1 true,
 * 0 false, -1 with a message in `err` for an unparsable one. */
int sp__cfg_cond_eval(const char *text, char *err, size_t errsize);

/* ---------------------------------------------------------------------------------------- */
/* the line parser: its state and helpers live in cfgparse.c; the keyword handlers below are
 * called from its keyword table */

/* The section a line belongs to. */
enum sp__cfg_sec {
    SP__CFG_SEC_NONE,      /* before the first section keyword */
    SP__CFG_SEC_GLOBAL,    /* global */
    SP__CFG_SEC_DEFAULTS,  /* defaults [name] [from name] */
    SP__CFG_SEC_FE,        /* frontend */
    SP__CFG_SEC_BE,        /* backend */
    SP__CFG_SEC_LISTEN,    /* listen */
    SP__CFG_SEC_SKIP,      /* a section spillway does not support: its lines are skipped */
    SP__CFG_SEC_RESOLVERS, /* resolvers NAME (cfgresolvers.c) */
    SP__CFG_SEC_HTTPERRS,  /* http-errors NAME (cfgerrors.c) */
    SP__CFG_SEC_USERLIST,  /* userlist NAME (cfguserlist.c) */
};

/* owner: main (the configuration loader). The parser's state across the lines of one file. */
struct sp__cfg_parser {
    struct sp_config *cfg;
    FILE *diag;
    int line;
    enum sp__cfg_sec sec;
    struct sp_cfg_proxy *cur;      /* the proxy or defaults section being filled */
    struct sp_cfg_resolvers *res;  /* the resolvers section being filled */
    struct sp_cfg_httperrs *errs;  /* the http-errors section being filled */
    struct sp_cfg_userlist *ul;    /* the userlist section being filled (NULL: ignored) */
    struct sp_cfg_proxy *defs;     /* every defaults section, newest first */
    struct sp_cfg_proxy *last_def; /* the one in effect; NULL: built-in values */
    struct sp_cfg_proxy **tail;    /* where the next proxy is appended */
    bool oom;
    bool abort;        /* stop reading: `.alert`, or a `.if` block that cannot be followed */
    char section[256]; /* .SECTION: the current section's name, or its keyword */
    /* `.if` blocks: cond[1..cond_depth] hold each open level's state (cfgparse.c) */
    int cond_depth;
    unsigned char cond[SP__CFG_MAX_NESTED + 1];
};

/* owner: main (the configuration loader).
 * cfgresolvers.c: `resolvers NAME` starts a section; each of its lines; the checks at the
 * end of the file (every server's `resolvers` names a section). */
void sp__cfg_resolvers_start(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_resolvers_line(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_resolvers_check(struct sp__cfg_parser *ps);

/* owner: main (the configuration loader).
 * cfguserlist.c: `userlist NAME` starts a section; each of its lines; the end-of-file check
 * (every group named exists); freeing every section. */
void sp__cfg_kw_unique_id(struct sp__cfg_parser *ps, int argc, char **argv); /* cfgrules.c */
void sp__cfg_userlist_start(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_userlist_line(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_userlist_check(struct sp__cfg_parser *ps);
void sp__cfg_userlists_free(struct sp_config *cfg);

/* owner: main (the configuration loader).
 * cfgerrors.c: errorfile, errorloc[302|303], errorfiles, http-error in proxies; the
 * http-errors sections; the end-of-file resolution of each proxy's messages (px->replies);
 * a proxy's lines copied from its defaults, and freed. */
void sp__cfg_kw_errorfile(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_errorloc(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_errorfiles(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_http_error(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_httperrs_start(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_httperrs_line(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_errors_check(struct sp__cfg_parser *ps);
struct sp_cfg_errline *sp__cfg_errlines_dup(const struct sp_cfg_errline *l, bool *ret_oom);
void sp__cfg_errlines_free(struct sp_cfg_errline *l);
void sp__cfg_errors_free(struct sp_config *cfg);
/* pure. Whether p[0..len) is a raw HTTP/1.x response an errorfile may hold (HAProxy's
 * http_str_to_htx() checks): the length of its head (0 for an empty one), or -1 with the
 * reason in err. */
int sp__cfg_check_raw_response(const char *p, size_t len, char *err, size_t errlen);

/* Each section's name as messages spell it, by enum sp__cfg_sec. */
extern const char *const sp__cfg_sec_names[];

/* owner: main (the configuration loader). The file and line being parsed. */
struct sp_cfg_where sp__cfg_here(const struct sp__cfg_parser *ps);

/* owner: main (the configuration loader).
 * Report on the current line through sp__cfg_vdiag(): an error, or a warning. */
void sp__cfg_alert(struct sp__cfg_parser *ps, const char *kw, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void sp__cfg_warn(struct sp__cfg_parser *ps, const char *kw, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* owner: main (the configuration loader).
 * The error for a keyword HAProxy knows and spillway does not support yet. */
void sp__cfg_not_supported(struct sp__cfg_parser *ps, const char *kw);

/* owner: main (the configuration loader).
 * calloc(1, size) and strdup(); NULL with ps->oom set when memory runs out. */
void *sp__cfg_xcalloc(struct sp__cfg_parser *ps, size_t size);
char *sp__cfg_xstrdup(struct sp__cfg_parser *ps, const char *s);

/* pure: any thread. True when `word` is one of the `n` strings of `list`. */
bool sp__cfg_in_list(const char *word, const char *const *list, size_t n);

/* ---- cfgkw.c: HAProxy keywords spillway does not implement ---- */
/* pure: any thread.
 * How many arguments HAProxy 2.6's bind (server) option `opt` takes, -1 when it has none
 * of that name (then where its arguments end is unknown). */
int sp__cfg_bind_arity(const char *opt);
int sp__cfg_server_arity(const char *opt);
enum { SP__CFG_KW_GLOBAL, SP__CFG_KW_PROXY, SP__CFG_KW_SECTION };
/* pure: any thread.
 * The HAProxy version ("2.9", "3.1"...) that brought keyword `kw` of that kind, when it came
 * after 2.6; NULL otherwise. */
const char *sp__cfg_later_keyword(int kind, const char *kw);

/* owner: main (the configuration loader).
 * True when a keyword got between `min` and `max` arguments after its `skip` words;
 * reports the error otherwise. */
bool sp__cfg_nargs_ok(struct sp__cfg_parser *ps, const char *kw, int argc, int skip, int min,
                      int max);

/* owner: main (the configuration loader).
 * A decimal integer within [min, max] (only a leading '-' when min < 0), or a time with an
 * optional unit, in ms, into *out; `what` names the value in the error. NULL `txt` is a
 * missing value. */
bool sp__cfg_get_int(struct sp__cfg_parser *ps, const char *kw, const char *what, const char *txt,
                     long long min, long long max, int *out);
bool sp__cfg_get_time(struct sp__cfg_parser *ps, const char *kw, const char *what, const char *txt,
                      int64_t *out);

/* owner: main (the configuration loader).
 * True when the current proxy has the `cap` side (or is a defaults section); otherwise warns
 * that the line is ignored, as HAProxy does (e.g. `timeout client` in a backend). */
bool sp__cfg_need_cap(struct sp__cfg_parser *ps, const char *kw, unsigned cap);

/* owner: main (the configuration loader).
 * `user NAME`/`group NAME` (looked up) or `uid N`/`gid N` (`opt` says which) into *ret. */
bool sp__cfg_get_uid(struct sp__cfg_parser *ps, const char *kw, const char *opt, const char *val,
                     int *ret);

/* pure: any thread.
 * A proxy, server or header name: letters, digits, '-', '_', '.' and ':', not empty. */
bool sp__cfg_valid_name(const char *s);

/* owner: main (the configuration loader).
 * Keyword handlers, each called with argv[0] the keyword and the parser in a section where
 * the keyword table allows it. cfgproxy.c: */
void sp__cfg_kw_mode(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_bind(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_backlog(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_timeout(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_option(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_no(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_default_backend(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_log_format(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_server(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_server_template(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_default_server(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_source(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_description(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_disabled(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_tcpka_param(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_monitor_uri(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_monitor(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_balance(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_cookie(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_retries(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_retry_on(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_http_check(struct sp__cfg_parser *ps, int argc, char **argv);
/* owner: main (the configuration loader). Frees the strings of `h` (leaves them NULL). */
void sp__cfg_httpchk_free(struct sp_cfg_httpchk *h);
/* owner: main. cfgtcpchk.c: frees the rules and user of `t`; a deep copy of `src` into `dst`
 * (-1: out of memory, `dst` then holds what was copied, for sp__cfg_tcpchk_free()). */
void sp__cfg_tcpchk_free(struct sp_cfg_tcpchk *t);
int sp__cfg_tcpchk_copy(struct sp_cfg_tcpchk *dst, const struct sp_cfg_tcpchk *src);
/* owner: main (the configuration loader). cfgtcpchk.c: `option tcp-check`, `option
 * ssl-hello-chk`, `option mysql-check` (the `option` table's handlers) and `tcp-check`. */
void sp__cfg_opt_tcp_check(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                           bool neg);
void sp__cfg_opt_ssl_hello_chk(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                               bool neg);
void sp__cfg_opt_mysql_check(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                             bool neg);
void sp__cfg_kw_tcp_check(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_fullconn(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_removed(struct sp__cfg_parser *ps, int argc, char **argv);
/* owner: main (the configuration loader). cfgglobal.c: */
void sp__cfg_kw_setenv(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_unsetenv(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_resetenv(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_uid(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_gid(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_user(struct sp__cfg_parser *ps, int argc, char **argv); /* and `group` */
void sp__cfg_kw_chroot(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_ulimit_n(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_strict_limits(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_global_no(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_zero_warning(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_master_worker(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_node(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_localpeer(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_log_send_hostname(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_ca_base(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_ssl_default_server(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_lua(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_maxrewrite(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_vars_max(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_http_maxhdr(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_ssl_default_bind(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_ssl_dh_param(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_crt_base(struct sp__cfg_parser *ps, int argc, char **argv);
/* core/cfgproxy.c: an ssl-min-ver value (0x0300..0x0304, 0 unknown); a no-* ssl option's
 * SP_CFG_TLS_* bit (0: not one) */
int sp__cfg_tls_version(const char *v);
unsigned sp__cfg_tls_opt(const char *opt);
/* owner: main (the configuration loader). cfgresolvers.c: the server state file's keywords */
void sp__cfg_kw_server_state_file(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_load_server_state(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_server_state_file_name(struct sp__cfg_parser *ps, int argc, char **argv);
/* owner: main (the configuration loader).
 * A user or group name to its id (getpwnam/getgrnam): 0, -ENOENT when unknown, or the
 * lookup's error. */
int sp__cfg_lookup_user(const char *name, int *ret_uid);
int sp__cfg_lookup_group(const char *name, int *ret_gid);
/* owner: main (the configuration loader). cfgrules.c: */
void sp__cfg_kw_acl(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_use_backend(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_tcp_request(struct sp__cfg_parser *ps, int argc, char **argv);
/* owner: main (the configuration loader). cfgstick.c: `stick-table` (frontend, backend, listen) */
void sp__cfg_kw_stick_table(struct sp__cfg_parser *ps, int argc, char **argv);
/* owner: main (the configuration loader).
 * cfgstick.c: `stick on|match|store-request` (backend, listen) */
void sp__cfg_kw_stick(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_tcp_response(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_pp2_never_send_local(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_stats(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_http_request(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_http_response(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_redirect(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_pre21(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_capture(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_declare(struct sp__cfg_parser *ps, int argc, char **argv);
/* owner: main (the configuration loader).
 * cfgcomp.c: `compression algo|type|offload` and the tune.comp / tune.zlib globals */
void sp__cfg_kw_compression(struct sp__cfg_parser *ps, int argc, char **argv);
void sp__cfg_kw_comp_tune(struct sp__cfg_parser *ps, int argc, char **argv);
/* owner: main (the configuration loader).
 * A proxy starts from its defaults: algorithms and types, not offload (HAProxy's
 * proxy_preset_defaults()). Sets *oom when memory ran out. */
void sp__cfg_comp_inherit(struct sp_cfg_comp *dst, const struct sp_cfg_comp *src, bool *oom);
/* owner: main (the configuration loader). Frees what `c` owns and zeroes it. */
void sp__cfg_comp_clear(struct sp_cfg_comp *c);

#endif
