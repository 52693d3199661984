/* core/cfgcond.c - the conditions of `.if` and `.elif` lines, as HAProxy 2.6's cfgcond.c
 * evaluates them: integers (0 false, anything else true), predicates with arguments in
 * parentheses, '(' ')' grouping, '!' negation, '&&' binding tighter than '||', each evaluated
 * left to right.
 *
 * owner: main, like the rest of the configuration loader.
 *
 * Versions: spillway reads HAProxy 2.6's configuration language, so version_atleast() and
 * version_before() compare with SP__CFG_HAPROXY_VERSION ("2.6.0"), by HAProxy's rules
 * (split_version(): missing parts are zero, -devN < -rcN = -preN < release). feature() answers
 * from SP__CFG_FEATURES, the "haproxy -vv" list of what spillway does (`spillway -vv`
 * prints it). Where HAProxy treats an unparsable version as older than its own (so
 * version_atleast(junk) is true), spillway reports an error instead.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-int.h"

#define MAX_DEPTH 64 /* nesting of '(' and operators, as HAProxy's recursion bound */
#define MAX_ARGS  2
#define ARG_SIZE  1024

struct cond {
    const char *in;
    char *err;
    size_t errsize;
};

static int fail(struct cond *c, const char *fmt, const char *what)
{
    snprintf(c->err, c->errsize, fmt, what);
    return -1;
}

static void skip_blanks(struct cond *c)
{
    while (*c->in == ' ' || *c->in == '\t')
        c->in++;
}

/* HAProxy's split_version(): a.b.c.d[-(dev|rc|pre)N][-...-commit] into 7 numbers. */
static bool split_version(const char *v, unsigned long out[7])
{
    const char *p = v;
    char *end;

    memset(out, 0, 7 * sizeof(*out));
    out[4] = 3;
    if (!*p)
        return false;
    for (int k = 0; k < 4; k++) {
        if (!isdigit((unsigned char)*p))
            return false;
        out[k] = strtoul(p, &end, 10);
        if (*end == '\0')
            return true;
        p = end + 1;
        if (*end == '-')
            break;
        if (*end != '.' || k == 3)
            return false;
    }
    if (!isdigit((unsigned char)*p)) {
        int tag = !strncmp(p, "dev", 3) ? 1 : !strncmp(p, "rc", 2) || !strncmp(p, "pre", 3) ? 2 : 0;
        if (tag) {
            out[4] = (unsigned long)tag;
            p += tag == 1 || p[0] == 'p' ? 3 : 2;
            out[5] = strtoul(p, &end, 10);
            if (*end == '\0')
                return true;
            if (*end != '-')
                return false;
            p = end + 1;
        }
    }
    const char *dash = strrchr(p, '-');
    if (dash) {
        if (!dash[1])
            return false;
        out[6] = strtoul(dash + 1, &end, 10);
    } else {
        out[6] = strtoul(p, &end, 10);
    }
    if (*end)
        out[6] = 0;
    return true;
}

/* <0: `v` is older than spillway's HAProxy version, 0 the same, >0 newer; -2 unparsable. */
static int compare_version(const char *v, int *ret)
{
    unsigned long mine[7], theirs[7];

    if (!split_version(SP__CFG_HAPROXY_VERSION, mine) || !split_version(v, theirs))
        return -1;
    *ret = 0;
    for (int i = 0; i < 7 && !*ret; i++)
        *ret = theirs[i] < mine[i] ? -1 : theirs[i] > mine[i] ? 1 : 0;
    return 0;
}

bool sp__cfg_has_feature(const char *name)
{
    static const char features[] = SP__CFG_FEATURES;
    size_t n = strlen(name);

    if (!n)
        return false;
    for (const char *p = features; (p = strstr(p, name)); p++)
        if (p > features && (p[n] == ' ' || p[n] == '\0') && p[-1] == '+')
            return true;
    return false;
}

/* The arguments of a predicate, as make_arg_list() reads them: '(' then words separated by
 * ',' up to ')', with "..." and '...' quoting and backslash escapes. */
static int pred_args(struct cond *c, const char *pred, int nargs, char args[MAX_ARGS][ARG_SIZE])
{
    const char *in = c->in;
    int pos = 0;

    if (*in != '(')
        return fail(c, "missing arguments to predicate '%s'", pred);
    in++;
    while (pos < nargs) {
        bool sq = false, dq = false;
        size_t n = 0;

        while (*in) {
            if (*in == '"' && !sq) {
                dq = !dq;
                in++;
            } else if (*in == '\'' && !dq) {
                sq = !sq;
                in++;
            } else if (*in == '\\' && !sq && in[1]) {
                char e = in[1];
                char v = e == 'r' ? '\r' : e == 'n' ? '\n' : e == 't' ? '\t' : e;
                if (!strchr("\\ \"'rnt", e))
                    v = '\\', in--;
                if (n + 1 < ARG_SIZE)
                    args[pos][n++] = v;
                in += 2;
            } else if (!sq && !dq && (*in == ',' || *in == ')')) {
                break;
            } else {
                if (n + 1 < ARG_SIZE)
                    args[pos][n++] = *in;
                in++;
            }
        }
        args[pos][n] = '\0';
        pos++;
        if (!*in || *in == ')' || pos >= nargs)
            break;
        in++; /* ',' */
    }
    if (pos < nargs)
        return fail(c, "missing arguments to predicate '%s'", pred);
    if (*in != ')')
        return fail(c, "expected ')' after the arguments of predicate '%s'", pred);
    c->in = in + 1;
    return 0;
}

static int eval_expr(struct cond *c, int depth);

/* One term: ['!'...] (integer | '(' expr ')' | predicate(args)). */
static int eval_term(struct cond *c, int depth)
{
    static const char *const preds[] = {
        "defined", "feature", "streq", "strneq", "version_atleast", "version_before",
    };
    static const int nargs[] = {1, 1, 2, 2, 1, 1};
    char args[MAX_ARGS][ARG_SIZE];
    bool neg = false;
    int ret;
    char *end;

    if (depth <= 0)
        return fail(c, "%s", "conditional expression nested too deeply");
    skip_blanks(c);
    while (*c->in == '!') {
        neg = !neg;
        c->in++;
        skip_blanks(c);
    }
    long v = strtol(c->in, &end, 0);
    if (end != c->in) {
        c->in = end;
        return (v != 0) != neg;
    }
    if (*c->in == '(') {
        c->in++;
        ret = eval_expr(c, depth - 1);
        if (ret < 0)
            return ret;
        skip_blanks(c);
        if (*c->in != ')')
            return fail(c, "expected ')' at '%s'", c->in);
        c->in++;
        return ret != neg;
    }
    size_t len = strcspn(c->in, " \t(");
    for (size_t k = 0; k < sizeof(preds) / sizeof(preds[0]); k++) {
        if (strlen(preds[k]) != len || strncmp(c->in, preds[k], len) != 0)
            continue;
        c->in += len;
        if (pred_args(c, preds[k], nargs[k], args) < 0)
            return -1;
        switch (k) {
        case 0:
            ret = getenv(args[0]) != NULL;
            break;
        case 1:
            ret = sp__cfg_has_feature(args[0]);
            break;
        case 2:
            ret = strcmp(args[0], args[1]) == 0;
            break;
        case 3:
            ret = strcmp(args[0], args[1]) != 0;
            break;
        default: {
            int cmp;
            if (compare_version(args[0], &cmp) < 0)
                return fail(c,
                            "invalid version '%s' (expects a version as 'haproxy -v' prints "
                            "it, such as 2.4 or 2.5-dev3)",
                            args[0]);
            ret = k == 4 ? cmp <= 0 : cmp > 0;
        }
        }
        return ret != neg;
    }
    if (!*c->in)
        return fail(c, "%s", "unexpected end of the conditional expression");
    return fail(c, "unparsable conditional expression at '%s'", c->in);
}

/* and := term ['&&' and]; every term is parsed, so a syntax error anywhere is reported */
static int eval_and(struct cond *c, int depth)
{
    int ret = eval_term(c, depth - 1);

    if (ret < 0)
        return ret;
    skip_blanks(c);
    if (c->in[0] == '&' && c->in[1] == '&') {
        c->in += 2;
        int r = eval_and(c, depth - 1);
        if (r < 0)
            return r;
        ret = ret && r;
    }
    return ret;
}

static int eval_expr(struct cond *c, int depth)
{
    int ret = eval_and(c, depth - 1);

    if (ret < 0)
        return ret;
    skip_blanks(c);
    if (c->in[0] == '|' && c->in[1] == '|') {
        c->in += 2;
        int r = eval_expr(c, depth - 1);
        if (r < 0)
            return r;
        ret = ret || r;
    }
    return ret;
}

int sp__cfg_cond_eval(const char *text, char *err, size_t errsize)
{
    struct cond c = {.in = text, .err = err, .errsize = errsize};
    int ret;

    skip_blanks(&c);
    if (!*c.in)
        return 0; /* HAProxy: an empty condition is false */
    ret = eval_expr(&c, MAX_DEPTH);
    if (ret < 0)
        return ret;
    skip_blanks(&c);
    if (*c.in)
        return fail(&c, "unexpected text '%s' at the end of the conditional expression", c.in);
    return ret;
}
