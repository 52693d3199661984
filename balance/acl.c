/* balance/acl.c - ACL declarations (flags, operators, patterns), named ACL sets, the built-in
 * ACLs, and conditions.
 *
 * Everything here runs at configuration time except sp_acl_cond_eval(), which walks the
 * compiled terms and calls sp__acl_expr_exec() (balance/acl-fetch.c) for each expression. */
#include "balance/acl-int.h"
#include "core/regexcost.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int sp__acl_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -EINVAL;
}

/* ---- expressions: flags, operators, patterns ------------------------------------------ */

static const char *const match_names[SP__ACL_M_COUNT] = {
    [SP__ACL_M_FOUND] = "found", [SP__ACL_M_BOOL] = "bool", [SP__ACL_M_INT] = "int",
    [SP__ACL_M_IP] = "ip",       [SP__ACL_M_BIN] = "bin",   [SP__ACL_M_LEN] = "len",
    [SP__ACL_M_STR] = "str",     [SP__ACL_M_SUB] = "sub",   [SP__ACL_M_REG] = "reg",
    [SP__ACL_M_BEG] = "beg",     [SP__ACL_M_END] = "end",   [SP__ACL_M_DIR] = "dir",
    [SP__ACL_M_DOM] = "dom",
};

static const char *const type_names[] = {
    [SP__ACL_T_BOOL] = "a boolean",  [SP__ACL_T_INT] = "an integer",
    [SP__ACL_T_IP] = "an address",   [SP__ACL_T_STR] = "a string",
    [SP__ACL_T_BIN] = "binary data", [SP__ACL_T_ANY] = "a value of any type",
};

static int find_match(const char *name)
{
    for (int m = 0; m < SP__ACL_M_COUNT; m++)
        if (!strcmp(name, match_names[m]))
            return m;
    return -1;
}

/* ---- compilation: patterns ---------------------------------------------------------- */

enum op { OP_NONE, OP_EQ, OP_GE, OP_GT, OP_LE, OP_LT };

static enum op find_op(const char *w)
{
    static const char *const ops[] = {"eq", "ge", "gt", "le", "lt"};
    for (int i = 0; i < 5; i++)
        if (!strcmp(w, ops[i]))
            return (enum op)(OP_EQ + i);
    return OP_NONE;
}

/* Unsigned decimal at *p; advances *p. False when there is none or it overflows int64. */
static bool parse_u63(const char **p, int64_t *ret)
{
    const char *s = *p;
    uint64_t v = 0;
    if (*s < '0' || *s > '9')
        return false;
    for (; *s >= '0' && *s <= '9'; s++) {
        uint64_t d = (uint64_t)(*s - '0');
        if (v > (INT64_MAX - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *p = s;
    *ret = (int64_t)v;
    return true;
}

/* `A`, `A:B`, `A:`, `:B` (or with '-'), rewritten by the operator as HAProxy does:
 * eq X = X, ge X = X:, gt X = X+1:, le X = :X, lt X = :X-1. */
static int parse_range(const char *w, enum op op, struct sp__acl_pat *p, char *err, size_t errlen)
{
    const char *s = w;
    int64_t a = 0, b = 0;
    bool has_a = parse_u63(&s, &a), sep = false, has_b = false;
    if (*s == ':' || *s == '-') {
        sep = true;
        s++;
        has_b = parse_u63(&s, &b);
    }
    if (*s || (!has_a && !has_b))
        return sp__acl_fail(err, errlen, "'%s' is not an integer or a range", w);
    if (sep && op != OP_NONE && op != OP_EQ)
        return sp__acl_fail(err, errlen, "'%s' after an operator must be a single integer", w);
    p->u.range.min = INT64_MIN;
    p->u.range.max = INT64_MAX;
    switch (op) {
    case OP_NONE:
    case OP_EQ:
        if (has_a)
            p->u.range.min = a;
        if (has_b || !sep)
            p->u.range.max = sep ? b : a;
        break;
    case OP_GE:
        p->u.range.min = a;
        break;
    case OP_GT:
        if (a == INT64_MAX)
            return sp__acl_fail(err, errlen, "'gt %s' can never match", w);
        p->u.range.min = a + 1;
        break;
    case OP_LE:
        p->u.range.max = a;
        break;
    case OP_LT:
        p->u.range.max = a - 1;
        break;
    }
    if (p->u.range.min > p->u.range.max)
        return sp__acl_fail(err, errlen, "'%s' is an empty range", w);
    return 0;
}

static int parse_ip(const char *w, struct sp__acl_pat *p, char *err, size_t errlen)
{
    char buf[INET6_ADDRSTRLEN + 8];
    if (strlen(w) >= sizeof(buf))
        return sp__acl_fail(err, errlen, "'%s' is not an IP address or network", w);
    strcpy(buf, w);
    char *mask = strchr(buf, '/');
    if (mask)
        *mask++ = '\0';

    struct in_addr a4;
    struct in6_addr a6;
    char *end;
    if (inet_pton(AF_INET, buf, &a4) == 1) {
        uint32_t m = 0xffffffffu;
        if (mask) {
            struct in_addr m4;
            long len = strtol(mask, &end, 10);
            if (*mask >= '0' && *mask <= '9' && !*end && len >= 0 && len <= 32)
                m = len ? 0xffffffffu << (32 - len) : 0;
            else if (inet_pton(AF_INET, mask, &m4) == 1)
                m = ntohl(m4.s_addr);
            else
                return sp__acl_fail(err, errlen, "bad network mask in '%s'", w);
        }
        p->u.ip.v6 = false;
        p->u.ip.m4 = m;
        p->u.ip.v4 = ntohl(a4.s_addr) & m;
        return 0;
    }
    if (inet_pton(AF_INET6, buf, &a6) == 1) {
        long len = 128;
        if (mask) {
            len = strtol(mask, &end, 10);
            if (*mask < '0' || *mask > '9' || *end || len < 0 || len > 128)
                return sp__acl_fail(err, errlen, "bad prefix length in '%s'", w);
        }
        p->u.ip.v6 = true;
        p->u.ip.plen = (uint8_t)len;
        for (int i = 0; i < 16; i++) {
            int bits = (int)len - i * 8;
            uint8_t m = bits >= 8 ? 0xff : bits <= 0 ? 0 : (uint8_t)(0xff << (8 - bits));
            p->u.ip.a6[i] = a6.s6_addr[i] & m;
        }
        return 0;
    }
    return sp__acl_fail(err, errlen,
                        "'%s' is not an IP address or network (names are not resolved)", w);
}

static int parse_str(const char *w, int match, struct sp__acl_pat *p, char *err, size_t errlen)
{
    const char *s = w;
    size_t len = strlen(w);

    if (match == SP__ACL_M_DIR || match == SP__ACL_M_DOM) {
        /* a word is matched between delimiters: the pattern's own outer ones are dropped */
        const char *d = match == SP__ACL_M_DIR ? SP__ACL_DIR_DELIMS : SP__ACL_DOM_DELIMS;
        while (len && strchr(d, *s)) {
            s++;
            len--;
        }
        while (len && strchr(d, s[len - 1]))
            len--;
        if (!len)
            return sp__acl_fail(err, errlen,
                                "'%s' has nothing to match once its delimiters are removed", w);
    }
    if (match == SP__ACL_M_BIN) {
        if (len % 2)
            return sp__acl_fail(err, errlen, "'%s' is not a hex string (pairs of hex digits)", w);
        p->u.str.s = malloc(len / 2 + 1);
        if (!p->u.str.s)
            return sp__acl_fail(err, errlen, "out of memory");
        for (size_t i = 0; i < len; i += 2) {
            int hi = sp_hexval(w[i]), lo = sp_hexval(w[i + 1]);
            if (hi < 0 || lo < 0) {
                free(p->u.str.s);
                return sp__acl_fail(err, errlen, "'%s' is not a hex string (pairs of hex digits)",
                                    w);
            }
            p->u.str.s[i / 2] = (char)(hi << 4 | lo);
        }
        p->u.str.len = len / 2;
        return 0;
    }
    p->u.str.s = strndup(s, len);
    if (!p->u.str.s)
        return sp__acl_fail(err, errlen, "out of memory");
    p->u.str.len = len;
    return 0;
}

static void pat_free(int match, struct sp__acl_pat *p)
{
    if (match == SP__ACL_M_REG)
        regfree(&p->u.re);
    else if (match != SP__ACL_M_INT && match != SP__ACL_M_LEN && match != SP__ACL_M_IP)
        free(p->u.str.s);
}

/* Compiles one value under the expression's method and appends it. */
static int add_value(struct sp__acl_expr *e, size_t *cap, const char *w, enum op op, bool icase,
                     char *err, size_t errlen)
{
    if (e->npat == *cap) {
        size_t ncap = *cap ? *cap * 2 : 4;
        /* regex_t holds only pointers to its compiled form, so moving it is fine */
        struct sp__acl_pat *np = realloc(e->pat, ncap * sizeof(*np));
        if (!np)
            return sp__acl_fail(err, errlen, "out of memory");
        e->pat = np;
        *cap = ncap;
    }
    struct sp__acl_pat *p = &e->pat[e->npat];
    memset(p, 0, sizeof(*p));
    p->icase = icase || e->nocase;
    int ret;
    switch (e->match) {
    case SP__ACL_M_INT:
    case SP__ACL_M_LEN:
        ret = parse_range(w, op, p, err, errlen);
        break;
    case SP__ACL_M_IP:
        ret = parse_ip(w, p, err, errlen);
        break;
    case SP__ACL_M_REG: {
        char why[160];
        if (sp_regex_cost(w, SP_REGEX_MAX_COPIES, why, sizeof(why)) < 0) {
            ret = sp__acl_fail(err, errlen, "regex '%s' is too complex: %s", w, why);
            break;
        }
        int rc = regcomp(&p->u.re, w, REG_EXTENDED | REG_NOSUB | (p->icase ? REG_ICASE : 0));
        ret = 0;
        if (rc) {
            char msg[128];
            regerror(rc, &p->u.re, msg, sizeof(msg));
            ret = sp__acl_fail(err, errlen, "bad regex '%s': %s", w, msg);
        }
        break;
    }
    default:
        ret = parse_str(w, e->match, p, err, errlen);
        break;
    }
    if (ret == 0)
        e->npat++;
    return ret;
}

static int load_file(struct sp__acl_expr *e, size_t *cap, const char *path, bool icase, char *err,
                     size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return sp__acl_fail(err, errlen, "cannot open pattern file '%s': %s", path,
                            strerror(errno));
    char *line = NULL;
    size_t lcap = 0;
    int ret = 0, lineno = 0;
    while (getline(&line, &lcap, f) >= 0) {
        lineno++;
        char *s = line, *end = line + strlen(line);
        while (*s == ' ' || *s == '\t')
            s++;
        while (end > s && (end[-1] == '\n' || end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
            end--;
        *end = '\0';
        if (!*s || *s == '#')
            continue;
        ret = add_value(e, cap, s, OP_NONE, icase, err, errlen);
        if (ret) {
            size_t l = errlen ? strlen(err) : 0;
            if (l < errlen)
                snprintf(err + l, errlen - l, " (line %d of '%s')", lineno, path);
            break;
        }
    }
    if (!ret && ferror(f))
        ret = sp__acl_fail(err, errlen, "cannot read pattern file '%s'", path);
    free(line);
    fclose(f);
    return ret;
}

/* Whether a method can apply to a fetch's output (after the conversions match_* perform). */
static bool compatible(int out, int match)
{
    switch (out) {
    case SP__ACL_T_BOOL:
    case SP__ACL_T_INT:
        return match != SP__ACL_M_IP && match != SP__ACL_M_BIN;
    case SP__ACL_T_IP:
        return match != SP__ACL_M_INT && match != SP__ACL_M_BOOL && match != SP__ACL_M_BIN;
    default:
        return true;
    }
}

static int check_method(const struct sp__acl_expr *e, const char *word, char *err, size_t errlen)
{
    if (compatible(e->out, e->match))
        return 0;
    return sp__acl_fail(err, errlen, "match method '-m %s' cannot apply to '%s', which returns %s",
                        match_names[e->match], word, type_names[e->out]);
}

/* A fetch of no fixed type (var() without converters) has no default method, as in HAProxy. */
static int need_method(const struct sp__acl_expr *e, bool had_m, char *err, size_t errlen)
{
    if (e->out != SP__ACL_T_ANY || had_m)
        return 0;
    return sp__acl_fail(err, errlen,
                        "matching method must be specified first (using '-m') when using a sample "
                        "fetch of this type ('%s')",
                        e->kw);
}

int sp__acl_expr_compile(struct sp__acl_expr **ret_expr, const struct sp_acl_resolver *res,
                         char **words, int nwords, char *err, size_t errlen)
{
    static const uint8_t defaults[] = {
        [SP__ACL_T_BOOL] = SP__ACL_M_BOOL, [SP__ACL_T_INT] = SP__ACL_M_INT,
        [SP__ACL_T_IP] = SP__ACL_M_IP,     [SP__ACL_T_STR] = SP__ACL_M_STR,
        [SP__ACL_T_BIN] = SP__ACL_M_BIN,   [SP__ACL_T_ANY] = SP__ACL_M_STR,
    };
    if (nwords < 1)
        return sp__acl_fail(err, errlen, "missing fetch method in ACL expression");

    struct sp__acl_expr *e = calloc(1, sizeof(*e));
    if (!e)
        return sp__acl_fail(err, errlen, "out of memory");
    const char *crit = words[0];
    int forced, ret;
    size_t cap = 0;
    /* HAProxy takes `hdr (host)` for a fetch without argument and a pattern "(host)", and
     * warns; a library cannot warn, and the intent is plain, so it is an error here */
    size_t l1 = nwords > 1 ? strlen(words[1]) : 0;
    if (l1 > 1 && words[1][0] == '(' && words[1][l1 - 1] == ')' && !strchr(crit, '(')) {
        ret = sp__acl_fail(err, errlen, "'%s' is separated from '%s' by a space: write '%s%s'",
                           words[1], crit, crit, words[1]);
        goto fail;
    }
    ret = sp__acl_criterion_parse(e, res, crit, &forced, err, errlen);
    if (ret)
        goto fail;
    e->match = (uint8_t)(forced >= 0 ? forced : defaults[e->out]);

    int i = 1;
    bool icase = false, had_m = false, had_f = false, dashdash = false;
    for (; i < nwords && words[i][0] == '-'; i++) {
        const char *w = words[i];
        if (!strcmp(w, "--")) {
            dashdash = true;
            i++;
            break;
        } else if (!strcmp(w, "-i")) {
            icase = true;
        } else if (!strcmp(w, "-n")) {
            /* no DNS resolution of IP patterns: spillway never resolves them */
        } else if (!strcmp(w, "-m") || !strcmp(w, "-f") || !strcmp(w, "-u")) {
            if (i + 1 >= nwords) {
                ret =
                    sp__acl_fail(err, errlen, "'%s' needs a value in ACL expression '%s'", w, crit);
                goto fail;
            }
            const char *v = words[++i];
            if (w[1] == 'm') {
                if (had_m) {
                    ret = sp__acl_fail(err, errlen,
                                       "only one '-m' is allowed in ACL expression '%s'", crit);
                    goto fail;
                }
                if (forced >= 0) {
                    ret = sp__acl_fail(
                        err, errlen,
                        "'-m' cannot be used with '%s', which sets its own match method", crit);
                    goto fail;
                }
                if (had_f) {
                    ret = sp__acl_fail(err, errlen,
                                       "'-m' must come before '-f' in ACL expression '%s'", crit);
                    goto fail;
                }
                int m = find_match(v);
                if (m < 0) {
                    ret = sp__acl_fail(err, errlen, "unknown match method '%s' after '-m'", v);
                    goto fail;
                }
                e->match = (uint8_t)m;
                had_m = true;
            } else if (w[1] == 'f') {
                ret = need_method(e, had_m, err, errlen);
                if (!ret)
                    ret = check_method(e, crit, err, errlen);
                if (!ret && (e->match == SP__ACL_M_FOUND || e->match == SP__ACL_M_BOOL))
                    ret =
                        sp__acl_fail(err, errlen, "'-m %s' takes no pattern, not even from '-f %s'",
                                     match_names[e->match], v);
                if (!ret)
                    ret = load_file(e, &cap, v, icase, err, errlen);
                if (ret)
                    goto fail;
                had_f = true;
            }
            /* -u ID: HAProxy's unique id for its runtime API; spillway has no use for it */
        } else if (!strcmp(w, "-M")) {
            ret = sp__acl_fail(err, errlen, "'-M' (patterns from a map) is not supported");
            goto fail;
        } else {
            ret = sp__acl_fail(
                err, errlen,
                "'%s' is not an ACL flag (write '--' before a value that begins with '-')", w);
            goto fail;
        }
    }
    ret = need_method(e, had_m, err, errlen);
    if (!ret)
        ret = check_method(e, crit, err, errlen);
    if (ret)
        goto fail;
    /* http_auth_group's default match: the patterns name groups (HAProxy's -m auth) */
    e->auth_grp = !had_m && sp__acl_is_auth_grp(e);
    if (i < nwords && (e->match == SP__ACL_M_FOUND || e->match == SP__ACL_M_BOOL)) {
        ret = sp__acl_fail(err, errlen, "'-m %s' takes no value, but '%s' follows '%s'",
                           match_names[e->match], words[i], crit);
        goto fail;
    }

    bool numeric = e->match == SP__ACL_M_INT || e->match == SP__ACL_M_LEN;
    enum op op = OP_NONE;
    const char *opword = NULL;
    for (; i < nwords; i++) {
        enum op o = numeric ? find_op(words[i]) : OP_NONE;
        if (o != OP_NONE) {
            if (opword) {
                ret = sp__acl_fail(err, errlen, "missing value after operator '%s'", opword);
                goto fail;
            }
            op = o;
            opword = words[i];
            continue;
        }
        ret = add_value(e, &cap, words[i], op, icase, err, errlen);
        if (ret) {
            size_t l = errlen ? strlen(err) : 0;
            if (l < errlen)
                snprintf(err + l, errlen - l, " in ACL expression '%s'", crit);
            goto fail;
        }
        opword = NULL;
    }
    if (opword) {
        ret = sp__acl_fail(err, errlen, "missing value after operator '%s'", opword);
        goto fail;
    }
    if (!e->npat && !had_f && !dashdash && e->match != SP__ACL_M_FOUND &&
        e->match != SP__ACL_M_BOOL) {
        ret = sp__acl_fail(err, errlen,
                           "no value to match '%s' against: use '-m found' to test presence, "
                           "'-m bool' for a non-zero value, or '--' for an ACL that never matches",
                           crit);
        goto fail;
    }
    *ret_expr = e;
    return 0;

fail:
    sp__acl_expr_free(e);
    return ret;
}

struct sp__acl_expr *sp__acl_expr_free(struct sp__acl_expr *e)
{
    if (!e)
        return NULL;
    for (size_t i = 0; i < e->npat; i++)
        pat_free(e->match, &e->pat[i]);
    free(e->pat);
    free(e->arg);
    free(e->delims);
    sp_smp_free(e->conv);
    free(e);
    return NULL;
}

/* ---- named ACLs ----------------------------------------------------------------------- */

/* One ACL: the expressions declared under its name, ORed in declaration order. */
struct acl {
    char *name; /* NULL for an anonymous ACL */
    struct sp__acl_expr *head, *tail;
    struct acl *next;
};

/* owner: main while declaring; shared: immutable once the snapshot is published */
struct sp_acl_set {
    struct acl *head;
};

static struct acl *acl_free(struct acl *a)
{
    if (!a)
        return NULL;
    for (struct sp__acl_expr *e = a->head, *next; e; e = next) {
        next = e->next;
        sp__acl_expr_free(e);
    }
    free(a->name);
    free(a);
    return NULL;
}

static struct acl *acl_find(struct acl *head, const char *name)
{
    for (struct acl *a = head; a; a = a->next)
        if (a->name && !strcmp(a->name, name))
            return a;
    return NULL;
}

static bool acl_eval(const struct acl *a, const struct sp_acl_env *env)
{
    for (const struct sp__acl_expr *e = a->head; e; e = e->next)
        if (sp__acl_expr_exec(e, env))
            return true;
    return false;
}

/* HAProxy's acl_exec_cond() for one ACL: its expressions ORed, stopping at a PASS. */
static int acl_eval3(const struct acl *a, const struct sp_acl_env *env)
{
    int r = SP__ACL_FAIL;

    for (const struct sp__acl_expr *e = a->head; e && r != SP__ACL_PASS; e = e->next)
        r |= sp__acl_expr_exec3(e, env);
    return r;
}

/* Compiles one expression and appends it to the ACL called name in *head (created at the end
 * of the list when absent; name NULL always creates an anonymous one). */
static int acl_add(struct acl **head, const char *name, const struct sp_acl_resolver *res,
                   char **words, int nwords, struct acl **ret_acl, char *err, size_t errlen)
{
    struct sp__acl_expr *e;
    int ret = sp__acl_expr_compile(&e, res, words, nwords, err, errlen);
    if (ret)
        return ret;
    struct acl *a = name ? acl_find(*head, name) : NULL;
    if (!a) {
        a = calloc(1, sizeof(*a));
        if (!a || (name && !(a->name = strdup(name)))) {
            free(a);
            sp__acl_expr_free(e);
            return sp__acl_fail(err, errlen, "out of memory");
        }
        struct acl **pp = head;
        while (*pp)
            pp = &(*pp)->next;
        *pp = a;
    }
    if (a->tail)
        a->tail->next = e;
    else
        a->head = e;
    a->tail = e;
    if (ret_acl)
        *ret_acl = a;
    return 0;
}

struct sp_acl_set *sp_acl_set_new(void)
{
    return calloc(1, sizeof(struct sp_acl_set));
}

struct sp_acl_set *sp_acl_set_free(struct sp_acl_set *set)
{
    if (!set)
        return NULL;
    for (struct acl *a = set->head, *next; a; a = next) {
        next = a->next;
        acl_free(a);
    }
    free(set);
    return NULL;
}

static bool valid_name(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '-' || *s == '_' || *s == '.' || *s == ':'))
            return false;
    return true;
}

int sp_acl_declare(struct sp_acl_set *set, const struct sp_acl_resolver *res, char **words,
                   int nwords, char *err, size_t errlen)
{
    if (nwords < 1)
        return sp__acl_fail(err, errlen, "'acl' needs a name and a criterion");
    if (!valid_name(words[0]))
        return sp__acl_fail(
            err, errlen,
            "invalid ACL name '%s': only letters, digits, '-', '_', '.' and ':' are "
            "allowed",
            words[0]);
    if (!strcasecmp(words[0], "or"))
        return sp__acl_fail(err, errlen, "'%s' cannot be an ACL name: it is the OR operator",
                            words[0]);
    if (nwords < 2)
        return sp__acl_fail(err, errlen, "missing criterion after ACL name '%s'", words[0]);
    return acl_add(&set->head, words[0], res, words + 1, nwords - 1, NULL, err, errlen);
}

/* ---- built-in ACLs -------------------------------------------------------------------- */

static const struct {
    const char *name;
    const char *words[4];
} builtins[] = {
    {"TRUE", {"always_true"}},
    {"FALSE", {"always_false"}},
    {"LOCALHOST", {"src", "127.0.0.1/8", "::1"}},
    {"HTTP", {"req.proto_http"}},
    {"HTTP_1.0", {"req.ver", "1.0"}},
    {"HTTP_1.1", {"req.ver", "1.1"}},
    {"HTTP_2.0", {"req.ver", "2.0"}},
    {"HTTP_3.0", {"req.ver", "3.0"}},
    {"METH_CONNECT", {"method", "CONNECT"}},
    {"METH_DELETE", {"method", "DELETE"}},
    {"METH_GET", {"method", "GET", "HEAD"}},
    {"METH_HEAD", {"method", "HEAD"}},
    {"METH_OPTIONS", {"method", "OPTIONS"}},
    {"METH_POST", {"method", "POST"}},
    {"METH_PUT", {"method", "PUT"}},
    {"METH_TRACE", {"method", "TRACE"}},
    {"HTTP_URL_ABS", {"url_reg", "^[^/:]*://"}},
    {"HTTP_URL_SLASH", {"url_beg", "/"}},
    {"HTTP_URL_STAR", {"url", "*"}},
};

/* Compiles the built-in ACL `name` into *own (once per condition), or returns NULL with *found
 * false when there is none. */
static struct acl *builtin_get(struct acl **own, const char *name, bool *found, char *err,
                               size_t errlen)
{
    struct acl *a = acl_find(*own, name);
    *found = true;
    if (a)
        return a;
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++) {
        if (strcmp(builtins[i].name, name))
            continue;
        char *w[4];
        int n = 0;
        while (n < 4 && builtins[i].words[n]) {
            w[n] = (char *)builtins[i].words[n];
            n++;
        }
        if (acl_add(own, name, NULL, w, n, &a, err, errlen))
            return NULL;
        return a;
    }
    *found = false;
    return NULL;
}

/* ---- conditions ----------------------------------------------------------------------- */

struct term {
    const struct acl *acl;
    bool neg;
    bool end_group; /* last term of an AND group: `or` or the end follows */
};

/* shared: immutable after compilation */
struct sp_acl_cond {
    bool unless;
    size_t nterms;
    struct term *terms;
    struct acl *own; /* anonymous and built-in ACLs compiled for this condition */
    char *text;
};

char *sp__acl_join(char **words, int nwords)
{
    size_t len = 1;
    for (int i = 0; i < nwords; i++)
        len += strlen(words[i]) + 1;
    char *s = malloc(len), *p = s;
    if (!s)
        return NULL;
    *p = '\0';
    for (int i = 0; i < nwords; i++) {
        if (i)
            *p++ = ' ';
        size_t l = strlen(words[i]);
        memcpy(p, words[i], l + 1);
        p += l;
    }
    return s;
}

static bool is_or(const char *w)
{
    return !strcasecmp(w, "or") || !strcmp(w, "||");
}

struct sp_acl_cond *sp_acl_cond_parse(const struct sp_acl_set *set,
                                      const struct sp_acl_resolver *res, char **words, int nwords,
                                      char *err, size_t errlen)
{
    if (nwords < 1 || (strcmp(words[0], "if") && strcmp(words[0], "unless"))) {
        sp__acl_fail(err, errlen, "a condition starts with 'if' or 'unless', not '%s'",
                     nwords < 1 ? "" : words[0]);
        return NULL;
    }
    struct sp_acl_cond *c = calloc(1, sizeof(*c));
    if (!c)
        goto fail_oom;
    c->unless = words[0][0] == 'u';
    c->text = sp__acl_join(words, nwords);
    c->terms = calloc((size_t)nwords, sizeof(*c->terms));
    if (!c->text || !c->terms)
        goto fail_oom;

    bool neg = false, group_empty = true;
    const char *last_or = NULL;
    for (int i = 1; i < nwords; i++) {
        const char *w = words[i];
        if (is_or(w)) {
            if (neg) {
                sp__acl_fail(err, errlen, "'!' before '%s' negates nothing", w);
                goto fail;
            }
            if (group_empty) {
                sp__acl_fail(err, errlen, "'%s' needs a term before it", w);
                goto fail;
            }
            c->terms[c->nterms - 1].end_group = true;
            group_empty = true;
            last_or = w;
            continue;
        }
        if (!strcasecmp(w, "and") || !strcmp(w, "&&")) {
            sp__acl_fail(
                err, errlen,
                "'%s' is not an ACL operator: terms are ANDed when written next to each other", w);
            goto fail;
        }
        for (; *w == '!'; w++)
            neg = !neg;
        if (!*w)
            continue; /* a lone '!' applies to the next term */

        const struct acl *a;
        if (!strcmp(w, "{")) {
            int j = i + 1;
            for (; j < nwords && strcmp(words[j], "}"); j++) {
                if (!strcmp(words[j], "{")) {
                    sp__acl_fail(err, errlen, "'{' inside an anonymous ACL: braces do not nest");
                    goto fail;
                }
            }
            if (j == nwords) {
                sp__acl_fail(err, errlen, "missing '}' after anonymous ACL '{ %s'",
                             i + 1 < nwords ? words[i + 1] : "");
                goto fail;
            }
            if (j == i + 1) {
                sp__acl_fail(err, errlen, "empty anonymous ACL '{ }'");
                goto fail;
            }
            struct acl *na;
            if (acl_add(&c->own, NULL, res, words + i + 1, j - i - 1, &na, err, errlen))
                goto fail;
            a = na;
            i = j;
        } else if (w[0] == '{' || w[0] == '}' || w[strlen(w) - 1] == '}') {
            sp__acl_fail(err, errlen, "'%s': the braces of an anonymous ACL must be separate words",
                         words[i]);
            goto fail;
        } else {
            a = set ? acl_find(set->head, w) : NULL;
            if (!a) {
                bool found;
                a = builtin_get(&c->own, w, &found, err, errlen);
                if (!found)
                    sp__acl_fail(err, errlen, "no such ACL '%s'", w);
                if (!a)
                    goto fail;
            }
        }
        /* a named or built-in ACL was compiled for its section: what this condition's
         * rules can see decides whether its fetches may be used here */
        for (const struct sp__acl_expr *e = a->head; res && e; e = e->next)
            if (sp__acl_expr_allowed(e, res->what, w, err, errlen))
                goto fail;
        c->terms[c->nterms++] = (struct term){.acl = a, .neg = neg};
        neg = false;
        group_empty = false;
    }
    if (neg) {
        sp__acl_fail(err, errlen, "'!' at the end of the condition negates nothing");
        goto fail;
    }
    if (!c->nterms) {
        sp__acl_fail(err, errlen, "empty condition after '%s'", words[0]);
        goto fail;
    }
    if (group_empty) {
        sp__acl_fail(err, errlen, "the condition ends with '%s'", last_or);
        goto fail;
    }
    c->terms[c->nterms - 1].end_group = true;
    return c;

fail_oom:
    sp__acl_fail(err, errlen, "out of memory");
fail:
    return sp_acl_cond_free(c);
}

struct sp_acl_cond *sp_acl_cond_free(struct sp_acl_cond *c)
{
    if (!c)
        return NULL;
    for (struct acl *a = c->own, *next; a; a = next) {
        next = a->next;
        acl_free(a);
    }
    free(c->terms);
    free(c->text);
    free(c);
    return NULL;
}

/* shared: any thread. Short-circuits: an AND group stops at its first false term, the
 * condition at its first true group. */
bool sp_acl_cond_eval(const struct sp_acl_cond *c, const struct sp_acl_env *env)
{
    if (!c)
        return true;
    bool ok = true;
    for (size_t i = 0; i < c->nterms; i++) {
        const struct term *t = &c->terms[i];
        if (ok)
            ok = acl_eval(t->acl, env) != t->neg;
        if (t->end_group) {
            if (ok)
                return !c->unless;
            ok = true;
        }
    }
    return c->unless;
}

/* HAProxy's acl_exec_cond(): terms ANDed within a group (a FAIL or MISS ends the group), the
 * groups ORed (a PASS ends the condition), then a MISS means "wait" and `unless` inverts. */
int sp_acl_cond_exec(const struct sp_acl_cond *c, const struct sp_acl_env *env)
{
    int cond = SP__ACL_FAIL, suite = SP__ACL_PASS;

    if (!c)
        return 1;
    for (size_t i = 0; i < c->nterms; i++) {
        const struct term *t = &c->terms[i];
        if (suite == SP__ACL_PASS) {
            int r = acl_eval3(t->acl, env);
            if (t->neg)
                r = 3 >> r;
            suite &= r;
        }
        if (t->end_group) {
            cond |= suite;
            if (cond == SP__ACL_PASS)
                break;
            suite = SP__ACL_PASS;
        }
    }
    if (cond == SP__ACL_MISS)
        return -1;
    return (cond == SP__ACL_PASS) != c->unless;
}

const char *sp_acl_cond_text(const struct sp_acl_cond *c)
{
    return c ? c->text : "";
}
