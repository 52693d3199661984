/* http/hrule.h - one compiled http rule (http/hrules.h): what http/hrules_build.c makes of
 * the configuration's words and http/hrules.c runs. Not for use outside those two files.
 *
 * shared: immutable after sp__hrules_build(). */
#ifndef SP_HTTP_HRULE_H
#define SP_HTTP_HRULE_H

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "balance/balance.h"
#include "http/httplog.h"

enum act {
    A_ALLOW,
    A_DENY,
    A_TARPIT,
    A_RETURN,
    A_REDIRECT,
    A_AUTH,
    A_USE_SERVICE,
    A_ADD_HDR,
    A_SET_HDR,
    A_DEL_HDR,
    A_REPLACE_HDR,
    A_REPLACE_VAL,
    A_SET_PATH,
    A_SET_PATHQ,
    A_SET_QUERY,
    A_SET_URI,
    A_SET_METHOD,
    A_REPLACE_PATH,
    A_REPLACE_PATHQ,
    A_REPLACE_URI,
    A_SET_VAR,
    A_UNSET_VAR,
    A_SET_STATUS,
    A_CAPTURE,
    A_SET_TIMEOUT,
    A_SILENT_DROP,
    A_SET_LOG_LEVEL,
    A_SET_DST,
    A_SET_DST_PORT,
    A_NORMALIZE_URI,
    A_STICK,     /* track-sc*, sc-inc-gpc0/1, sc-set-gpt0: http/hstick.c */
    A_WAIT_BODY, /* wait-for-body: time in tarpit_ms, at-least in bytes */
    A_REJECT,
    A_SET_SRC,
    A_SET_SRC_PORT,
    A_SET_MARK,
    A_SET_TOS,
    A_EARLY_HINT,
    A_STRICT_MODE,
    A_DISABLE_L7_RETRY,
    A_SET_PRIO_CLASS,
    A_SET_PRIO_OFFSET,
};

/* del-header -m */
enum { DM_STR, DM_BEG, DM_END, DM_SUB, DM_REG };

/* redirect types */
enum { R_LOCATION, R_PREFIX, R_SCHEME };

/* shared: immutable. A value HAProxy evaluates as log-format: kept as text when it has no '%'
 * (no rendering). */
struct fmt {
    char *lit;
    size_t litlen;
    struct sp_logfmt *lf;
};

/* shared: immutable. A `hdr NAME FMT` of a deny or return. */
struct rhdr {
    char *name;
    struct fmt v;
};

/* shared: immutable after sp__hrules_build(); any worker runs it. One compiled rule. */
struct sp_hrule {
    uint8_t act;
    int line;
    const char *file;
    struct sp_acl_cond *cond;
    /* header actions */
    char *name;
    size_t nlen;
    struct fmt val;
    regex_t re;
    bool has_re;
    uint8_t dm;
    /* variables */
    struct sp_smp_expr *expr;
    struct sp_var_ref var;
    /* status, replies */
    int status;
    char *reason;
    char *ctype;
    struct fmt body;
    bool body_set;
    struct rhdr *hdrs;
    int nhdrs;
    char *realm;
    int64_t tarpit_ms; /* tarpit: how long the request is held (timeout tarpit) */
    /* redirect */
    uint8_t rtype;
    bool drop_query, append_slash, ignore_empty;
    char *cookie;
    struct sp_hstick *stk; /* A_STICK (http/hstick.h) */
    uint64_t bytes;        /* A_WAIT_BODY: at-least (0: none) */
};

#endif
