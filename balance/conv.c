/* balance/conv.c - HAProxy 2.6's converters (src/sample.c, src/http_conv.c, src/map.c,
 * src/vars.c): argument checking at compile time, application at run time. A converter
 * writes its output into the thread's scratch buffer (sp__smp_tmp()) or narrows its input in
 * place; it allocates nothing. Those of HAProxy's list that spillway lacks are refused by
 * name as not supported. */
#include "balance/balance.h"
#include "balance/sample-int.h"
#include "core/regexcost.h"
#include "core/util.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum cid {
    C_LOWER,
    C_UPPER,
    C_LENGTH,
    C_BYTES,
    C_FIELD,
    C_WORD,
    C_REGSUB,
    C_JSON,
    C_BASE64,
    C_B64DEC,
    C_UB64ENC,
    C_UB64DEC,
    C_URL_DEC,
    C_URL_ENC,
    C_HEX,
    C_HEX2I,
    C_SDBM,
    C_DJB2,
    C_WT6,
    C_CRC32,
    C_XXH32,
    C_AND,
    C_OR,
    C_XOR,
    C_ADD,
    C_SUB,
    C_MUL,
    C_DIV,
    C_MOD,
    C_NEG,
    C_CPL,
    C_BOOL,
    C_NOT,
    C_ODD,
    C_EVEN,
    C_IPMASK,
    C_CONCAT,
    C_LTRIM,
    C_RTRIM,
    C_STRCMP,
    C_SECURE_MEMCMP,
    C_CUT_CRLF,
    C_HTONL,
    C_IIF,
    C_ADD_ITEM,
    C_SET_VAR,
    C_UNSET_VAR,
    C_MAP,
    C_TABLE, /* table_*(T), in_table(T): stkfetch.c */
};

/* shared: immutable (static). A converter keyword. */
struct ckw {
    const char *name;
    uint8_t id;
    int8_t in, out; /* sample types; SP__SMP_ANY passes the input's type through */
    uint8_t min, max;
};

static const struct ckw ckws[] = {
    {"lower", C_LOWER, SP_SMP_STR, SP_SMP_STR, 0, 0},
    {"upper", C_UPPER, SP_SMP_STR, SP_SMP_STR, 0, 0},
    {"length", C_LENGTH, SP_SMP_STR, SP_SMP_SINT, 0, 0},
    {"bytes", C_BYTES, SP_SMP_BIN, SP_SMP_BIN, 1, 2},
    {"field", C_FIELD, SP_SMP_STR, SP_SMP_STR, 2, 3},
    {"word", C_WORD, SP_SMP_STR, SP_SMP_STR, 2, 3},
    {"regsub", C_REGSUB, SP_SMP_STR, SP_SMP_STR, 2, 3},
    {"json", C_JSON, SP_SMP_STR, SP_SMP_STR, 0, 1},
    {"base64", C_BASE64, SP_SMP_BIN, SP_SMP_STR, 0, 0},
    {"b64dec", C_B64DEC, SP_SMP_STR, SP_SMP_BIN, 0, 0},
    {"ub64enc", C_UB64ENC, SP_SMP_BIN, SP_SMP_STR, 0, 0},
    {"ub64dec", C_UB64DEC, SP_SMP_STR, SP_SMP_BIN, 0, 0},
    {"url_dec", C_URL_DEC, SP_SMP_STR, SP_SMP_STR, 0, 1},
    {"url_enc", C_URL_ENC, SP_SMP_STR, SP_SMP_STR, 0, 1},
    {"hex", C_HEX, SP_SMP_BIN, SP_SMP_STR, 0, 0},
    {"hex2i", C_HEX2I, SP_SMP_STR, SP_SMP_SINT, 0, 0},
    {"sdbm", C_SDBM, SP_SMP_BIN, SP_SMP_SINT, 0, 1},
    {"djb2", C_DJB2, SP_SMP_BIN, SP_SMP_SINT, 0, 1},
    {"wt6", C_WT6, SP_SMP_BIN, SP_SMP_SINT, 0, 1},
    {"crc32", C_CRC32, SP_SMP_BIN, SP_SMP_SINT, 0, 1},
    {"xxh32", C_XXH32, SP_SMP_BIN, SP_SMP_SINT, 0, 1},
    {"and", C_AND, SP_SMP_SINT, SP_SMP_SINT, 1, 1},
    {"or", C_OR, SP_SMP_SINT, SP_SMP_SINT, 1, 1},
    {"xor", C_XOR, SP_SMP_SINT, SP_SMP_SINT, 1, 1},
    {"add", C_ADD, SP_SMP_SINT, SP_SMP_SINT, 1, 1},
    {"sub", C_SUB, SP_SMP_SINT, SP_SMP_SINT, 1, 1},
    {"mul", C_MUL, SP_SMP_SINT, SP_SMP_SINT, 1, 1},
    {"div", C_DIV, SP_SMP_SINT, SP_SMP_SINT, 1, 1},
    {"mod", C_MOD, SP_SMP_SINT, SP_SMP_SINT, 1, 1},
    {"neg", C_NEG, SP_SMP_SINT, SP_SMP_SINT, 0, 0},
    {"cpl", C_CPL, SP_SMP_SINT, SP_SMP_SINT, 0, 0},
    {"bool", C_BOOL, SP_SMP_SINT, SP_SMP_BOOL, 0, 0},
    {"not", C_NOT, SP_SMP_SINT, SP_SMP_BOOL, 0, 0},
    {"odd", C_ODD, SP_SMP_SINT, SP_SMP_BOOL, 0, 0},
    {"even", C_EVEN, SP_SMP_SINT, SP_SMP_BOOL, 0, 0},
    {"ipmask", C_IPMASK, SP__SMP_ADDR, SP__SMP_ADDR, 1, 2},
    {"concat", C_CONCAT, SP_SMP_STR, SP_SMP_STR, 1, 3},
    {"ltrim", C_LTRIM, SP_SMP_STR, SP_SMP_STR, 1, 1},
    {"rtrim", C_RTRIM, SP_SMP_STR, SP_SMP_STR, 1, 1},
    {"strcmp", C_STRCMP, SP_SMP_STR, SP_SMP_SINT, 1, 1},
    {"secure_memcmp", C_SECURE_MEMCMP, SP_SMP_BIN, SP_SMP_BOOL, 1, 1},
    {"cut_crlf", C_CUT_CRLF, SP_SMP_STR, SP_SMP_STR, 0, 0},
    {"htonl", C_HTONL, SP_SMP_SINT, SP_SMP_BIN, 0, 0},
    {"iif", C_IIF, SP_SMP_BOOL, SP_SMP_STR, 2, 2},
    {"add_item", C_ADD_ITEM, SP_SMP_STR, SP_SMP_STR, 2, 3},
    {"set-var", C_SET_VAR, SP__SMP_ANY, SP__SMP_ANY, 1, 1},
    {"unset-var", C_UNSET_VAR, SP__SMP_ANY, SP__SMP_ANY, 1, 1},
};

/* HAProxy 2.6 converters spillway does not have */
static const char *const unsupported[] = {
    "debug",
    "ltime",
    "utime",
    "crc32c",
    "xxh3",
    "xxh64",
    "be2dec",
    "be2hex",
    "sha1",
    "sha2",
    "digest",
    "hmac",
    "aes_gcm_dec",
    "ungrpc",
    "protobuf",
    "fix_is_valid",
    "fix_tag_value",
    "mqtt_is_valid",
    "mqtt_field_value",
    "json_query",
    "jwt_header_query",
    "jwt_payload_query",
    "jwt_verify",
    "http_date",
    "language",
    "capture-req",
    "capture-res",
    "nbsrv",
};

/* owner: main until compiled, then shared: immutable. */
struct sp__conv {
    const struct ckw *kw;
    int in; /* the type the input is cast to (SP__SMP_ANY: none) */
    int out;
    int64_t i[3];
    bool has[3];
    char *s[3]; /* string arguments, NUL-terminated copies */
    size_t sl[3];
    struct sp_var_ref var; /* a variable argument (arithmetic, concat, strcmp, set-var) */
    bool is_var;
    regex_t re;
    bool has_re, glob;
    struct in_addr m4;
    uint8_t m6[16];
    bool has_m6;
    /* table_*(T), in_table(T): the table, the fetch operation and data type (stkfetch.c) */
    struct sp_stktable *stk;
    int stk_op, stk_dt;
    /* maps */
    struct sp__map *map;
    int map_match, map_out;
    struct sp_smp def;
    bool has_def;
};

/* ---- compilation ---- */

static int fail(char *err, size_t errlen, const char *name, const char *fmt, const char *a)
{
    char msg[256];
    snprintf(msg, sizeof(msg), fmt, a);
    return sp__acl_fail(err, errlen, "converter '%s': %s", name, msg);
}

static bool parse_int(const char *s, int64_t *ret)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || errno)
        return false;
    *ret = v;
    return true;
}

static int dup_arg(struct sp__conv *c, int k, const char *s)
{
    c->sl[k] = strlen(s);
    c->s[k] = strdup(s);
    return c->s[k] ? 0 : -ENOMEM;
}

/* The map converters: map, map_<match>, map_<match>_<out>. */
static int map_kind(const char *name, int *ret_match, int *ret_out)
{
    static const char *const matches[] = {"str", "beg", "sub",  "dir", "dom",
                                          "end", "reg", "regm", "int", "ip"};
    if (strncmp(name, "map", 3))
        return -1;
    *ret_match = 0;
    *ret_out = SP_SMP_STR;
    if (!name[3])
        return 0;
    if (name[3] != '_')
        return -1;
    const char *m = name + 4, *us = strchr(m, '_');
    size_t ml = us ? (size_t)(us - m) : strlen(m);
    int k;
    for (k = 0; k < 10; k++)
        if (strlen(matches[k]) == ml && !memcmp(matches[k], m, ml))
            break;
    if (k == 10)
        return -1;
    *ret_match = k;
    if (!us)
        return 0;
    if (k == 7) /* map_regm has no typed variants */
        return -1;
    if (!strcmp(us + 1, "str"))
        *ret_out = SP_SMP_STR;
    else if (!strcmp(us + 1, "int"))
        *ret_out = SP_SMP_SINT;
    else if (!strcmp(us + 1, "ip"))
        *ret_out = SP__SMP_ADDR;
    else
        return -1;
    return 0;
}

static int compile_map(struct sp__conv *c, const char *name, int match, int out, char **argv,
                       int argc, char *err, size_t errlen)
{
    static const struct ckw mapkw = {"map", C_MAP, SP__SMP_ANY, SP__SMP_ANY, 1, 2};
    c->kw = &mapkw;
    c->map_match = match;
    c->map_out = out;
    c->in = sp__map_key_type(match);
    c->out = out;
    if (argc < 1 || argc > 2 || !*argv[0])
        return fail(err, errlen, name, "expects a map file name and an optional default%s", "");
    if (argc == 2) {
        c->has_def = true;
        if (dup_arg(c, 0, argv[1]))
            return sp__acl_fail(err, errlen, "out of memory");
        c->def.type = SP_SMP_STR;
        c->def.u.str.ptr = c->s[0];
        c->def.u.str.len = c->sl[0];
        if (out != SP_SMP_STR && !sp__smp_cast(&c->def, out))
            return fail(err, errlen, name, "default value '%s' is not of the map's output type",
                        argv[1]);
    }
    c->map = sp__map_load(argv[0], match, out, err, errlen);
    return c->map ? 0 : -EINVAL;
}

static int compile_args(struct sp__conv *c, const char *name, char **argv, int argc, char *err,
                        size_t errlen)
{
    char verr[256];
    switch (c->kw->id) {
    case C_BYTES:
    case C_FIELD:
    case C_WORD:
        for (int k = 0; k < argc; k++) {
            if (c->kw->id != C_BYTES && k == 1) {
                if (!*argv[1])
                    return fail(err, errlen, name, "Empty separators list%s", "");
                if (dup_arg(c, 1, argv[1]))
                    return sp__acl_fail(err, errlen, "out of memory");
                continue;
            }
            if (!parse_int(argv[k], &c->i[k]))
                return fail(err, errlen, name, "expects an integer, not '%s'", argv[k]);
            c->has[k] = true;
        }
        if (c->kw->id == C_BYTES && (c->i[0] < 0 || c->i[1] < 0))
            return fail(err, errlen, name, "offset and length must not be negative%s", "");
        if (c->kw->id != C_BYTES && !c->i[0])
            return fail(err, errlen, name, "Unexpected value 0 for index%s", "");
        return 0;
    case C_REGSUB: {
        int flags = REG_EXTENDED;
        for (const char *f = argc > 2 ? argv[2] : ""; *f; f++) {
            if (*f == 'i')
                flags |= REG_ICASE;
            else if (*f == 'g')
                c->glob = true;
            else {
                char fl[2] = {*f, 0};
                return fail(err, errlen, name,
                            "invalid regex flag '%s', only 'i' and 'g' are supported", fl);
            }
        }
        if (sp_regex_cost(argv[0], SP_REGEX_MAX_COPIES, verr, sizeof(verr)) < 0)
            return sp__acl_fail(err, errlen, "converter '%s': regex '%s' is too complex: %s", name,
                                argv[0], verr);
        int rc = regcomp(&c->re, argv[0], flags);
        if (rc) {
            regerror(rc, &c->re, verr, sizeof(verr));
            return sp__acl_fail(err, errlen, "converter '%s': bad regex '%s': %s", name, argv[0],
                                verr);
        }
        c->has_re = true;
        return dup_arg(c, 1, argv[1]) ? sp__acl_fail(err, errlen, "out of memory") : 0;
    }
    case C_JSON: {
        static const char *const modes[] = {"ascii", "utf8", "utf8s", "utf8p", "utf8ps"};
        const char *m = argc ? argv[0] : "";
        if (!*m)
            m = "ascii";
        for (int k = 0; k < 5; k++)
            if (!strcmp(m, modes[k])) {
                c->i[0] = k;
                return 0;
            }
        return fail(err, errlen, name,
                    "unexpected input code type '%s'. Allowed value are 'ascii', 'utf8', 'utf8s', "
                    "'utf8p' and 'utf8ps'",
                    m);
    }
    case C_URL_DEC:
    case C_SDBM:
    case C_DJB2:
    case C_WT6:
    case C_CRC32:
    case C_XXH32:
        if (argc && *argv[0] && !parse_int(argv[0], &c->i[0]))
            return fail(err, errlen, name, "expects an integer, not '%s'", argv[0]);
        return 0;
    case C_URL_ENC:
        if (argc && *argv[0] && strcmp(argv[0], "query"))
            return fail(err, errlen, name, "Unexpected encode type '%s'. Allowed value is 'query'",
                        argv[0]);
        return 0;
    case C_AND:
    case C_OR:
    case C_XOR:
    case C_ADD:
    case C_SUB:
    case C_MUL:
    case C_DIV:
    case C_MOD: {
        /* HAProxy's check_operator(): a variable name, else an integer */
        if (!sp_var_ref_parse(argv[0], strlen(argv[0]), &c->var, verr, sizeof(verr))) {
            c->is_var = true;
            return 0;
        }
        if (!parse_int(argv[0], &c->i[0]))
            return fail(err, errlen, name, "expects an integer or a variable name, not '%s'",
                        argv[0]);
        return 0;
    }
    case C_IPMASK: {
        /* a mask as a prefix length or a dotted address */
        int64_t bits;
        if (parse_int(argv[0], &bits) && bits >= 0 && bits <= 32)
            c->m4.s_addr = htonl(bits ? (uint32_t)(0xffffffffu << (32 - bits)) : 0);
        else if (inet_pton(AF_INET, argv[0], &c->m4) != 1)
            return fail(err, errlen, name, "invalid IPv4 mask '%s'", argv[0]);
        if (argc > 1 && *argv[1]) {
            if (!parse_int(argv[1], &bits) || bits < 0 || bits > 128)
                return fail(err, errlen, name, "invalid IPv6 mask '%s'", argv[1]);
            for (int k = 0; k < 16; k++, bits -= 8)
                c->m6[k] = bits >= 8 ? 0xff : bits > 0 ? (uint8_t)(0xff << (8 - bits)) : 0;
            c->has_m6 = true;
        }
        return 0;
    }
    case C_CONCAT:
    case C_ADD_ITEM:
        /* concat(start[,var[,end]]); add_item(delim,[var[,suffix]]) */
        for (int k = 0; k < 3; k++)
            if (dup_arg(c, k, k < argc ? argv[k] : ""))
                return sp__acl_fail(err, errlen, "out of memory");
        if (argc > 1 && *argv[1]) {
            if (sp_var_ref_parse(argv[1], strlen(argv[1]), &c->var, verr, sizeof(verr)))
                return fail(err, errlen, name, "failed to register variable name '%s'", argv[1]);
            c->is_var = true;
        }
        if (c->kw->id == C_ADD_ITEM && !c->is_var && !*c->s[2])
            return fail(err, errlen, name, "expects a variable name or a suffix%s", "");
        return 0;
    case C_LTRIM:
    case C_RTRIM:
        return dup_arg(c, 0, argv[0]) ? sp__acl_fail(err, errlen, "out of memory") : 0;
    case C_STRCMP:
    case C_SECURE_MEMCMP:
    case C_SET_VAR:
    case C_UNSET_VAR:
        if (sp_var_ref_parse(argv[0], strlen(argv[0]), &c->var, verr, sizeof(verr)))
            return sp__acl_fail(err, errlen, "converter '%s': %s", name, verr);
        c->is_var = true;
        return 0;
    case C_IIF:
        for (int k = 0; k < 2; k++)
            if (dup_arg(c, k, argv[k]))
                return sp__acl_fail(err, errlen, "out of memory");
        return 0;
    default:
        return 0;
    }
}

struct sp__conv *sp__conv_compile_table(const char *name, size_t nlen, char **argv, int argc,
                                        int in_type, const struct sp_acl_resolver *res, char *err,
                                        size_t errlen)
{
    static const struct ckw tablekw = {"table", C_TABLE, SP__SMP_ANY, SP_SMP_SINT, 1, 1};
    static const struct ckw inkw = {"in_table", C_TABLE, SP__SMP_ANY, SP_SMP_BOOL, 1, 1};
    struct sp__conv *c = calloc(1, sizeof(*c));

    (void)in_type;
    if (!c) {
        sp__acl_fail(err, errlen, "out of memory");
        return NULL;
    }
    bool in = nlen == 8 && !memcmp(name, "in_table", 8);
    c->kw = in ? &inkw : &tablekw;
    c->in = SP__SMP_ANY;
    c->out = c->kw->out;
    if (sp__stk_conv_parse(name, nlen, argc == 1 ? argv[0] : NULL, argc, res, &c->stk, &c->stk_op,
                           &c->stk_dt, err, errlen) < 0) {
        sp__conv_free(c);
        return NULL;
    }
    return c;
}

struct sp__conv *sp__conv_compile(const char *name, size_t nlen, char **argv, int argc, int in_type,
                                  char *err, size_t errlen)
{
    char nm[64];
    int match, out;

    snprintf(nm, sizeof(nm), "%.*s", (int)nlen, name);
    struct sp__conv *c = calloc(1, sizeof(*c));
    if (!c) {
        sp__acl_fail(err, errlen, "out of memory");
        return NULL;
    }
    if (!map_kind(nm, &match, &out)) {
        if (compile_map(c, nm, match, out, argv, argc, err, errlen))
            goto fail;
    } else {
        for (size_t k = 0; k < sizeof(ckws) / sizeof(ckws[0]); k++)
            if (!strcmp(ckws[k].name, nm))
                c->kw = &ckws[k];
        if (!c->kw) {
            if (!strcmp(nm, "set-var") || !strcmp(nm, "unset-var"))
                sp__acl_fail(err, errlen, "converter '%s' not supported by spillway", nm);
            else {
                bool known = false;
                for (size_t k = 0; k < sizeof(unsupported) / sizeof(unsupported[0]); k++)
                    known |= !strcmp(unsupported[k], nm);
                if (known)
                    sp__acl_fail(err, errlen, "converter '%s' is not supported by spillway", nm);
                else
                    sp__acl_fail(err, errlen, "unknown converter '%s'", nm);
            }
            goto fail;
        }
        if (argc < c->kw->min || argc > c->kw->max) {
            if (c->kw->id == C_SET_VAR && argc > 1)
                sp__acl_fail(err, errlen,
                             "converter 'set-var': conditions (ifexists, ifgt...) are not "
                             "supported by spillway");
            else
                sp__acl_fail(err, errlen, "converter '%s' expects %s%d argument%s, got %d", nm,
                             c->kw->min == c->kw->max ? "" : "at most ", c->kw->max,
                             c->kw->max == 1 ? "" : "s", argc);
            goto fail;
        }
        c->in = c->kw->in;
        c->out = c->kw->out;
        if (compile_args(c, nm, argv, argc, err, errlen))
            goto fail;
    }
    if (!sp__smp_castable(in_type, c->in)) {
        sp__acl_fail(err, errlen, "converter '%s' cannot be applied", nm);
        goto fail;
    }
    return c;

fail:
    sp__conv_free(c);
    return NULL;
}

void sp__conv_free(struct sp__conv *c)
{
    if (!c)
        return;
    for (int k = 0; k < 3; k++)
        free(c->s[k]);
    if (c->has_re)
        regfree(&c->re);
    sp__map_free(c->map);
    free(c);
}

int sp__conv_out_type(const struct sp__conv *c, int in_type)
{
    return c->out == SP__SMP_ANY ? in_type : c->out;
}

/* ---- application ---- */

static bool set_str(struct sp_smp *v, const char *p, size_t n)
{
    v->type = SP_SMP_STR;
    v->u.str.ptr = p;
    v->u.str.len = n;
    return true;
}

static bool set_int(struct sp_smp *v, enum sp_smp_type t, int64_t i)
{
    v->type = t;
    v->u.sint = i;
    return true;
}

/* the second operand of an arithmetic converter: its constant or its variable as an integer */
static bool operand(const struct sp__conv *c, const struct sp_acl_env *env, int64_t *ret)
{
    struct sp_smp v;
    if (!c->is_var) {
        *ret = c->i[0];
        return true;
    }
    if (!sp_var_get(env, &c->var, &v) || !sp__smp_cast(&v, SP_SMP_SINT))
        return false;
    *ret = v.u.sint;
    return true;
}

static int64_t arith(int id, int64_t a, int64_t b)
{
    switch (id) {
    case C_AND:
        return a & b;
    case C_OR:
        return a | b;
    case C_XOR:
        return a ^ b;
    case C_ADD:
    case C_SUB: {
        /* capped, as HAProxy's arith_add(); sub is add of the opposite, LLONG_MIN's being
         * LLONG_MAX */
        if (id == C_SUB)
            b = b == INT64_MIN ? INT64_MAX : -b;
        if ((a ^ b) >= 0) {
            if (a < 0 && INT64_MIN - a > b)
                return INT64_MIN;
            if (a >= 0 && INT64_MAX - a < b)
                return INT64_MAX;
        }
        return a + b;
    }
    case C_MUL: {
        if (!a || !b)
            return 0;
        if (a == INT64_MIN && b == -1)
            return INT64_MAX;
        int64_t r;
        if (__builtin_mul_overflow(a, b, &r))
            return (a < 0) == (b < 0) ? INT64_MAX : INT64_MIN;
        return r;
    }
    case C_DIV:
        if (!b)
            return INT64_MAX;
        if (a == INT64_MIN && b == -1)
            return INT64_MAX;
        return a / b;
    case C_MOD:
        if (!b || (a == INT64_MIN && b == -1))
            return 0;
        return a % b;
    }
    return 0;
}

static bool conv_field(const struct sp__conv *c, struct sp_smp *v)
{
    const char *s = v->u.str.ptr, *start, *end;
    size_t n = v->u.str.len;
    const char *d = c->s[1];
    size_t dl = c->sl[1];
    int64_t idx = c->i[0], count = c->has[2] ? c->i[2] : 1, field;

    if (idx < 0) {
        field = -1;
        end = start = s + n;
        while (start > s) {
            if (memchr(d, start[-1], dl)) {
                if (field == idx) {
                    if (count == 1)
                        goto found;
                    if (count > 1)
                        count--;
                } else {
                    end = start - 1;
                    field--;
                }
            }
            start--;
        }
    } else {
        field = 1;
        end = start = s;
        while ((size_t)(end - s) < n) {
            if (memchr(d, *end, dl)) {
                if (field == idx) {
                    if (count == 1)
                        goto found;
                    if (count > 1)
                        count--;
                } else {
                    start = end + 1;
                    field++;
                }
            }
            end++;
        }
    }
    if (field != idx)
        return false;
found:
    return set_str(v, start, (size_t)(end - start));
}

static bool conv_word(const struct sp__conv *c, struct sp_smp *v)
{
    const char *s = v->u.str.ptr, *start, *end;
    size_t n = v->u.str.len;
    const char *d = c->s[1];
    size_t dl = c->sl[1];
    int64_t idx = c->i[0], count = c->has[2] ? c->i[2] : 1, word = 0;
    bool inword = false;

    if (idx < 0) {
        end = start = s + n;
        while (start > s) {
            bool sep = memchr(d, start[-1], dl) != NULL;
            if (!inword) {
                if (!sep) {
                    if (word != idx) {
                        word--;
                        end = start;
                    }
                    inword = true;
                }
            } else if (sep) {
                if (word == idx) {
                    if (count == 1)
                        goto found;
                    if (count > 1)
                        count--;
                }
                inword = false;
            }
            start--;
        }
    } else {
        end = start = s;
        while ((size_t)(end - s) < n) {
            bool sep = memchr(d, *end, dl) != NULL;
            if (!inword) {
                if (!sep) {
                    if (word != idx) {
                        word++;
                        start = end;
                    }
                    inword = true;
                }
            } else if (sep) {
                if (word == idx) {
                    if (count == 1)
                        goto found;
                    if (count > 1)
                        count--;
                }
                inword = false;
            }
            end++;
        }
    }
    if (word != idx)
        return set_str(v, s, 0);
found:
    return set_str(v, start, (size_t)(end - start));
}

/* HAProxy's exp_replace(): the replacement with \0..\9 and \xHH; -1 when it does not fit. */
static long expand(char *dst, size_t cap, const char *src, const char *repl, const regmatch_t *m)
{
    size_t o = 0;
    for (const char *r = repl; *r;) {
        if (*r != '\\') {
            if (o >= cap)
                return -1;
            dst[o++] = *r++;
            continue;
        }
        r++;
        if (!*r)
            return -1;
        if (*r >= '0' && *r <= '9') {
            const regmatch_t *g = &m[*r - '0'];
            size_t len = g->rm_so >= 0 ? (size_t)(g->rm_eo - g->rm_so) : 0;
            if (o + len >= cap)
                return -1;
            if (len)
                memcpy(dst + o, src + g->rm_so, len);
            o += len;
            r++;
        } else if (*r == 'x') {
            int hv[2];
            for (int k = 0; k < 2; k++) {
                r++;
                if (!*r)
                    return -1;
                int ch = toupper((unsigned char)*r) - '0';
                hv[k] = ch > 9 ? ch - ('A' - '9' - 1) : ch;
            }
            r++;
            if (o >= cap)
                return -1;
            dst[o++] = (char)((hv[0] << 4) + hv[1]);
        } else {
            if (o >= cap)
                return -1;
            dst[o++] = *r++;
        }
    }
    return (long)o;
}

/* regexec() on exactly s[0..n) (a NUL-terminated copy, as reg_match() in acl-fetch.c and for
 * the same reason: the sanitizers ignore REG_STARTEND). */
static bool regsub(const struct sp__conv *c, struct sp_smp *v)
{
    char *in = sp__smp_tmp(), *out;
    size_t n = v->u.str.len, o = 0;
    regmatch_t m[10];
    int flags = 0;

    if (n >= SP__SMP_BUFSZ)
        return false;
    memcpy(in, v->u.str.ptr, n);
    in[n] = '\0';
    out = sp__smp_tmp();
    for (size_t pos = 0;;) {
        bool found = false;
        if (c->glob || !(flags & REG_NOTBOL))
            found = regexec(&c->re, in + pos, 10, m, flags) == 0;
        size_t head = found ? (size_t)m[0].rm_so : n - pos;
        if (o + head > SP__SMP_BUFSZ)
            head = SP__SMP_BUFSZ - o;
        memcpy(out + o, in + pos, head);
        o += head;
        if (!found)
            break;
        long r = expand(out + o, SP__SMP_BUFSZ - o, in + pos, c->s[1], m);
        if (r > 0)
            o += (size_t)r;
        if (pos >= n)
            break;
        size_t eo = (size_t)m[0].rm_eo;
        if (!eo) {
            /* an empty match stands before a character: copy it and go on after it */
            if (o < SP__SMP_BUFSZ)
                out[o++] = in[pos];
            eo = 1;
        }
        pos += eo;
        flags |= REG_NOTBOL;
    }
    return set_str(v, out, o);
}

/* Decodes the next UTF-8 character of p[0..n): its length, with *ret_c the code point and
 * *ret_bad set when the sequence is invalid (bad byte, overlong, surrogate, out of range) or
 * truncated, which HAProxy's json(utf8*) modes treat alike. */
static size_t utf8_next(const unsigned char *p, size_t n, uint32_t *ret_c, bool *ret_bad)
{
    uint32_t c = p[0];
    size_t len = c < 0x80             ? 1
                 : (c & 0xe0) == 0xc0 ? 2
                 : (c & 0xf0) == 0xe0 ? 3
                 : (c & 0xf8) == 0xf0 ? 4
                                      : 0;
    *ret_bad = false;
    if (!len) {
        *ret_bad = true;
        *ret_c = c;
        return 1;
    }
    c &= len == 1 ? 0x7f : (0x3f >> (len - 1));
    for (size_t k = 1; k < len; k++) {
        if (k >= n || (p[k] & 0xc0) != 0x80) {
            /* truncated, or not a continuation byte: the bytes so far are one bad sequence */
            *ret_bad = true;
            *ret_c = p[0];
            return k;
        }
        c = (c << 6) | (p[k] & 0x3f);
    }
    static const uint32_t minv[5] = {0, 0, 0x80, 0x800, 0x10000};
    if (c < minv[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        *ret_bad = true;
    *ret_c = c;
    return len;
}

static bool json(const struct sp__conv *c, struct sp_smp *v)
{
    const unsigned char *p = (const unsigned char *)v->u.str.ptr, *end = p + v->u.str.len;
    char *out = sp__smp_tmp(), tmp[8];
    size_t o = 0;
    int mode = (int)c->i[0]; /* ascii utf8 utf8s utf8p utf8ps */

    while (p < end) {
        uint32_t ch;
        if (!mode) {
            ch = *p++;
        } else {
            bool bad;
            p += utf8_next(p, (size_t)(end - p), &ch, &bad);
            /* utf8 / utf8p fail on a bad sequence, utf8s / utf8ps skip it; HAProxy's "p"
             * modes only forgive overlong encodings, which this decoder counts as bad too */
            if (bad) {
                if (mode == 1 || mode == 3)
                    return false;
                continue;
            }
            if (ch > 0xffff) {
                if (mode == 1 || mode == 3)
                    return false;
                continue;
            }
        }
        const char *s = tmp;
        size_t len = 2;
        switch (ch) {
        case '"':
            s = "\\\"";
            break;
        case '\\':
            s = "\\\\";
            break;
        case '/':
            s = "\\/";
            break;
        case '\b':
            s = "\\b";
            break;
        case '\f':
            s = "\\f";
            break;
        case '\r':
            s = "\\r";
            break;
        case '\n':
            s = "\\n";
            break;
        case '\t':
            s = "\\t";
            break;
        default:
            if (ch > 0xff || !isprint((int)ch)) {
                len = (size_t)snprintf(tmp, sizeof(tmp), "\\u%04x", (unsigned)(ch & 0xffff));
            } else {
                tmp[0] = (char)ch;
                len = 1;
            }
        }
        if (o + len > SP__SMP_BUFSZ)
            return false;
        memcpy(out + o, s, len);
        o += len;
    }
    return set_str(v, out, o);
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char b64url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static bool base64_enc(struct sp_smp *v, bool url)
{
    const unsigned char *p = (const unsigned char *)v->u.str.ptr;
    size_t n = v->u.str.len, o = 0;
    const char *al = url ? b64url : b64;
    char *out = sp__smp_tmp();

    if ((n + 2) / 3 * 4 > SP__SMP_BUFSZ)
        return false;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t x = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            x |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            x |= p[i + 2];
        out[o++] = al[(x >> 18) & 63];
        out[o++] = al[(x >> 12) & 63];
        if (i + 1 < n)
            out[o++] = al[(x >> 6) & 63];
        else if (!url)
            out[o++] = '=';
        if (i + 2 < n)
            out[o++] = al[x & 63];
        else if (!url)
            out[o++] = '=';
    }
    return set_str(v, out, o);
}

static int b64val(char ch, bool url)
{
    const char *al = url ? b64url : b64;
    const char *f = ch ? strchr(al, ch) : NULL;
    return f ? (int)(f - al) : -1;
}

/* base64dec() / base64urldec(): padding required (standard) or absent (url); any other
 * character, or a length that cannot be, fails */
static bool base64_dec(struct sp_smp *v, bool url)
{
    const char *p = v->u.str.ptr;
    size_t n = v->u.str.len, o = 0, pad = 0;
    unsigned char *out = (unsigned char *)sp__smp_tmp();

    if (!url) {
        if (n % 4)
            return false;
        while (pad < 2 && n > pad && p[n - 1 - pad] == '=')
            pad++;
    } else if (n % 4 == 1) {
        return false;
    }
    size_t data = n - pad;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < data; i++) {
        int d = b64val(p[i], url);
        if (d < 0)
            return false;
        acc = (acc << 6) | (uint32_t)d;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (o >= SP__SMP_BUFSZ)
                return false;
            out[o++] = (unsigned char)(acc >> bits);
        }
    }
    v->type = SP_SMP_BIN;
    v->u.str.ptr = (const char *)out;
    v->u.str.len = o;
    return true;
}

/* HAProxy's url_decode(): '%XX' decoded, a bad escape fails; '+' is a space in form mode,
 * which a '?' turns on; the input ends at a NUL */
static bool url_dec(const struct sp__conv *c, struct sp_smp *v)
{
    const char *p = v->u.str.ptr;
    size_t n = v->u.str.len, o = 0;
    char *out = sp__smp_tmp();
    bool form = c->i[0] != 0;

    for (size_t i = 0; i < n && p[i]; i++) {
        char ch = p[i];
        if (ch == '+') {
            out[o++] = form ? ' ' : '+';
        } else if (ch == '%') {
            int h = i + 2 < n ? sp_hexval(p[i + 1]) : -1, l = h >= 0 ? sp_hexval(p[i + 2]) : -1;
            if (h < 0 || l < 0)
                return false;
            out[o++] = (char)(h << 4 | l);
            i += 2;
        } else {
            if (ch == '?')
                form = true;
            out[o++] = ch;
        }
    }
    return set_str(v, out, o);
}

/* RFC 3986's unreserved characters stay, everything else becomes %XX (http_conv.c) */
static bool url_enc(struct sp_smp *v)
{
    static const char hx[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)v->u.str.ptr;
    char *out = sp__smp_tmp();
    size_t o = 0;

    for (size_t i = 0; i < v->u.str.len; i++) {
        unsigned char ch = p[i];
        if (o + 3 > SP__SMP_BUFSZ - 1)
            return false;
        if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            out[o++] = (char)ch;
        } else {
            out[o++] = '%';
            out[o++] = hx[ch >> 4];
            out[o++] = hx[ch & 15];
        }
    }
    return set_str(v, out, o);
}

static bool hex(struct sp_smp *v)
{
    static const char hx[] = "0123456789ABCDEF";
    const unsigned char *p = (const unsigned char *)v->u.str.ptr;
    char *out = sp__smp_tmp();

    if (v->u.str.len * 2 > SP__SMP_BUFSZ)
        return false;
    for (size_t i = 0; i < v->u.str.len; i++) {
        out[2 * i] = hx[p[i] >> 4];
        out[2 * i + 1] = hx[p[i] & 15];
    }
    return set_str(v, out, v->u.str.len * 2);
}

static inline uint32_t rotl32(uint32_t x, int r)
{
    return (x << r) | (x >> (32 - r));
}

/* XXH32 (Yann Collet's reference algorithm, which HAProxy's xxh32 converter calls) */
static uint32_t xxh32(const unsigned char *p, size_t n, uint32_t seed)
{
    const uint32_t P1 = 2654435761u, P2 = 2246822519u, P3 = 3266489917u, P4 = 668265263u,
                   P5 = 374761393u;
    const unsigned char *end = p + n;
    uint32_t h;
#define RD32(q)                                                                                    \
    ((uint32_t)(q)[0] | (uint32_t)(q)[1] << 8 | (uint32_t)(q)[2] << 16 | (uint32_t)(q)[3] << 24)
    if (n >= 16) {
        uint32_t v1 = seed + P1 + P2, v2 = seed + P2, v3 = seed, v4 = seed - P1;
        for (; p + 16 <= end; p += 16) {
            v1 = rotl32(v1 + RD32(p) * P2, 13) * P1;
            v2 = rotl32(v2 + RD32(p + 4) * P2, 13) * P1;
            v3 = rotl32(v3 + RD32(p + 8) * P2, 13) * P1;
            v4 = rotl32(v4 + RD32(p + 12) * P2, 13) * P1;
        }
        h = rotl32(v1, 1) + rotl32(v2, 7) + rotl32(v3, 12) + rotl32(v4, 18);
    } else {
        h = seed + P5;
    }
    h += (uint32_t)n;
    for (; p + 4 <= end; p += 4)
        h = rotl32(h + RD32(p) * P3, 17) * P4;
    for (; p < end; p++)
        h = rotl32(h + *p * P5, 11) * P1;
#undef RD32
    h ^= h >> 15;
    h *= P2;
    h ^= h >> 13;
    h *= P3;
    h ^= h >> 16;
    return h;
}

/* concat / add_item: in, then pieces, into a scratch buffer (cut at its size, as HAProxy's) */
static bool join(struct sp_smp *v, const char *const *pieces, const size_t *lens, int n)
{
    char *out = sp__smp_tmp();
    size_t o = 0;
    for (int k = 0; k < n; k++) {
        size_t l = lens[k] < SP__SMP_BUFSZ - o ? lens[k] : SP__SMP_BUFSZ - o;
        if (l)
            memcpy(out + o, pieces[k], l);
        o += l;
    }
    return set_str(v, out, o);
}

static bool conv_map(const struct sp__conv *c, struct sp_smp *v)
{
    if (sp__map_lookup(c->map, v, v))
        return true;
    if (!c->has_def)
        return false;
    *v = c->def;
    return true;
}

bool sp__conv_apply(const struct sp__conv *c, const struct sp_acl_env *env, struct sp_smp *v)
{
    struct sp_smp var;
    int64_t b;
    char *out;

    if (!sp__smp_cast(v, c->in))
        return false;
    switch (c->kw->id) {
    case C_LOWER:
    case C_UPPER:
        out = sp__smp_tmp();
        if (v->u.str.len > SP__SMP_BUFSZ)
            return false;
        for (size_t i = 0; i < v->u.str.len; i++) {
            char ch = v->u.str.ptr[i];
            if (c->kw->id == C_LOWER && ch >= 'A' && ch <= 'Z')
                ch = (char)(ch + 32);
            else if (c->kw->id == C_UPPER && ch >= 'a' && ch <= 'z')
                ch = (char)(ch - 32);
            out[i] = ch;
        }
        return set_str(v, out, v->u.str.len);
    case C_LENGTH:
        return set_int(v, SP_SMP_SINT, (int64_t)v->u.str.len);
    case C_BYTES:
        if (v->u.str.len <= (uint64_t)c->i[0]) {
            v->u.str.len = 0;
            return true;
        }
        v->u.str.ptr += c->i[0];
        v->u.str.len -= (size_t)c->i[0];
        if (c->has[1] && (uint64_t)c->i[1] < v->u.str.len)
            v->u.str.len = (size_t)c->i[1];
        return true;
    case C_FIELD:
        return conv_field(c, v);
    case C_WORD:
        return conv_word(c, v);
    case C_REGSUB:
        return regsub(c, v);
    case C_JSON:
        return json(c, v);
    case C_BASE64:
    case C_UB64ENC:
        return base64_enc(v, c->kw->id == C_UB64ENC);
    case C_B64DEC:
    case C_UB64DEC:
        return base64_dec(v, c->kw->id == C_UB64DEC);
    case C_URL_DEC:
        return url_dec(c, v);
    case C_URL_ENC:
        return url_enc(v);
    case C_HEX:
        return hex(v);
    case C_HEX2I: {
        int64_t n = 0;
        for (size_t i = 0; i < v->u.str.len; i++) {
            int d = sp_hexval(v->u.str.ptr[i]);
            if (d < 0)
                return false;
            n = (int64_t)((uint64_t)n << 4) + d;
        }
        return set_int(v, SP_SMP_SINT, n);
    }
    case C_SDBM:
    case C_DJB2:
    case C_WT6:
    case C_CRC32:
    case C_XXH32: {
        static const enum sp_hash_fn fns[] = {SP_HASH_SDBM, SP_HASH_DJB2, SP_HASH_WT6,
                                              SP_HASH_CRC32};
        uint32_t h;
        if (c->kw->id == C_XXH32)
            return set_int(
                v, SP_SMP_SINT,
                xxh32((const unsigned char *)v->u.str.ptr, v->u.str.len, (uint32_t)c->i[0]));
        h = sp_lb_hash(fns[c->kw->id - C_SDBM], v->u.str.ptr, v->u.str.len);
        if (c->i[0])
            h = sp_lb_full_hash(h);
        return set_int(v, SP_SMP_SINT, h);
    }
    case C_AND:
    case C_OR:
    case C_XOR:
    case C_ADD:
    case C_SUB:
    case C_MUL:
    case C_DIV:
    case C_MOD:
        if (!operand(c, env, &b))
            return false;
        return set_int(v, SP_SMP_SINT, arith(c->kw->id, v->u.sint, b));
    case C_NEG:
        return set_int(v, SP_SMP_SINT, v->u.sint == INT64_MIN ? INT64_MAX : -v->u.sint);
    case C_CPL:
        return set_int(v, SP_SMP_SINT, ~v->u.sint);
    case C_BOOL:
        return set_int(v, SP_SMP_BOOL, v->u.sint != 0);
    case C_NOT:
        return set_int(v, SP_SMP_BOOL, v->u.sint == 0);
    case C_ODD:
        return set_int(v, SP_SMP_BOOL, v->u.sint & 1);
    case C_EVEN:
        return set_int(v, SP_SMP_BOOL, !(v->u.sint & 1));
    case C_IPMASK:
        /* an IPv4-mapped address is masked as IPv4, as HAProxy's c_ipv62ip() first */
        if (v->type == SP_SMP_IPV6) {
            struct sp_smp t = *v;
            if (sp__smp_cast(&t, SP_SMP_IPV4))
                *v = t;
        }
        if (v->type == SP_SMP_IPV4) {
            v->u.v4.s_addr &= c->m4.s_addr;
            return true;
        }
        if (!c->has_m6)
            return false;
        for (int k = 0; k < 16; k++)
            v->u.v6.s6_addr[k] &= c->m6[k];
        return true;
    case C_CONCAT:
    case C_ADD_ITEM: {
        const char *pc[4] = {v->u.str.ptr, c->s[0], "", c->s[2]};
        size_t pl[4] = {v->u.str.len, c->sl[0], 0, c->sl[2]};
        bool has_var = c->is_var && sp_var_get(env, &c->var, &var) &&
                       (var.type == SP_SMP_BIN || sp__smp_cast(&var, SP_SMP_STR));
        if (has_var) {
            pc[2] = var.u.str.ptr;
            pl[2] = var.u.str.len;
        }
        /* add_item: the delimiter only between a non-empty input and something to add */
        if (c->kw->id == C_ADD_ITEM && (!v->u.str.len || (!pl[2] && !pl[3])))
            pl[1] = 0;
        return join(v, pc, pl, 4);
    }
    case C_LTRIM:
        while (v->u.str.len && memchr(c->s[0], v->u.str.ptr[0], c->sl[0])) {
            v->u.str.ptr++;
            v->u.str.len--;
        }
        return true;
    case C_RTRIM:
        while (v->u.str.len && memchr(c->s[0], v->u.str.ptr[v->u.str.len - 1], c->sl[0]))
            v->u.str.len--;
        return true;
    case C_STRCMP: {
        if (!sp_var_get(env, &c->var, &var) || !sp__smp_cast(&var, SP_SMP_STR))
            return false;
        size_t m = v->u.str.len < var.u.str.len ? v->u.str.len : var.u.str.len;
        int r = strncmp(v->u.str.ptr, var.u.str.ptr, m);
        if (!r && v->u.str.len != var.u.str.len)
            r = v->u.str.len < var.u.str.len ? -1 : 1;
        /* HAProxy returns strncmp()'s own value, whose size libc leaves open: its sign */
        return set_int(v, SP_SMP_SINT, (r > 0) - (r < 0));
    }
    case C_SECURE_MEMCMP: {
        if (!sp_var_get(env, &c->var, &var) || !sp__smp_cast(&var, SP_SMP_BIN))
            return false;
        if (v->u.str.len != var.u.str.len)
            return set_int(v, SP_SMP_BOOL, 0);
        unsigned char diff = 0;
        for (size_t i = 0; i < v->u.str.len; i++)
            diff |= (unsigned char)(v->u.str.ptr[i] ^ var.u.str.ptr[i]);
        return set_int(v, SP_SMP_BOOL, diff == 0);
    }
    case C_CUT_CRLF:
        for (size_t i = 0; i < v->u.str.len; i++)
            if (v->u.str.ptr[i] == '\r' || v->u.str.ptr[i] == '\n') {
                v->u.str.len = i;
                break;
            }
        return true;
    case C_HTONL: {
        uint32_t x = (uint32_t)v->u.sint;
        out = sp__smp_tmp();
        for (int k = 3; k >= 0; k--, x >>= 8)
            out[k] = (char)(x & 0xff);
        v->type = SP_SMP_BIN;
        v->u.str.ptr = out;
        v->u.str.len = 4;
        return true;
    }
    case C_IIF:
        return v->u.sint ? set_str(v, c->s[0], c->sl[0]) : set_str(v, c->s[1], c->sl[1]);
    case C_SET_VAR:
        /* the value passes through; a store that is missing or full is HAProxy's failed
         * set, which does not fail the sample */
        (void)sp_var_set(env, &c->var, v);
        return true;
    case C_UNSET_VAR:
        sp_var_unset(env, &c->var);
        return true;
    case C_TABLE:
        return sp__stk_conv(c->stk, c->stk_op, c->stk_dt, v);
    case C_MAP:
        return conv_map(c, v);
    }
    return false;
}
