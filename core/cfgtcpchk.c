/* core/cfgtcpchk.c - `option tcp-check`, `option mysql-check`, `option ssl-hello-chk` and the
 * `tcp-check` lines, with HAProxy 2.6's syntax and errors (src/tcpcheck.c). The rules are kept
 * as parsed; balance/tcpchk.c compiles them (implicit connect, comments folded) into the
 * routing snapshot, http/tcpchk.c runs them.
 *
 * owner: main (the configuration loader).
 */
#include <ctype.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-int.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* numbers of HAProxy's HCHK_STATUS_* (balance/health.h's enum sp_chk_status) */
static const struct {
    const char *name;
    int status;
} chk_statuses[] = {
    {"L4OK", 6},    {"L4TOUT", 7}, {"L4CON", 8}, {"L6OK", 9},   {"L6TOUT", 10}, {"L6RSP", 11},
    {"L7TOUT", 12}, {"L7RSP", 13}, {"L7OK", 15}, {"L7OKC", 16}, {"L7STS", 17},
};

static void free_rules(struct sp_cfg_tcpchk *t)
{
    for (struct sp_cfg_tcpchk_rule *r = t->rules, *n; r; r = n) {
        n = r->next;
        free(r->data);
        free(r->comment);
        free(r);
    }
    t->rules = NULL;
    t->nrules = 0;
    t->inherited = false;
}

void sp__cfg_tcpchk_free(struct sp_cfg_tcpchk *t)
{
    free_rules(t);
    free(t->mysql_user);
    t->mysql_user = NULL;
}

int sp__cfg_tcpchk_copy(struct sp_cfg_tcpchk *dst, const struct sp_cfg_tcpchk *src)
{
    struct sp_cfg_tcpchk_rule **tail = &dst->rules;

    *dst = *src;
    dst->rules = NULL;
    dst->mysql_user = NULL;
    dst->inherited = src->rules != NULL;
    if (src->mysql_user && !(dst->mysql_user = strdup(src->mysql_user)))
        return -1;
    for (const struct sp_cfg_tcpchk_rule *r = src->rules; r; r = r->next) {
        struct sp_cfg_tcpchk_rule *c = malloc(sizeof(*c));
        if (!c)
            return -1;
        *c = *r;
        c->next = NULL;
        c->data = c->comment = NULL;
        *tail = c;
        tail = &c->next;
        if (r->data && !(c->data = malloc(r->len + 1)))
            return -1;
        if (r->data)
            memcpy(c->data, r->data, r->len + 1);
        if (r->comment && !(c->comment = strdup(r->comment)))
            return -1;
    }
    return 0;
}

/* The checks of a proxy speak `proto` from now on: the last option wins, as in HAProxy. */
static void set_proto(struct sp__cfg_parser *ps, enum sp_cfg_chk_proto proto)
{
    ps->cur->httpchk.enabled = false;
    ps->cur->tcpchk.proto = proto;
    ps->cur->tcpchk.where = sp__cfg_here(ps);
    free(ps->cur->tcpchk.mysql_user);
    ps->cur->tcpchk.mysql_user = NULL;
    ps->cur->tcpchk.mysql_pre41 = false;
}

/* `option tcp-check`, `option ssl-hello-chk`: no argument, not negated; a backend's */
static void proto_option(struct sp__cfg_parser *ps, const char *kw, int argc, bool neg, int proto)
{
    if (neg) {
        sp__cfg_alert(ps, kw, "this option cannot be negated");
        return;
    }
    if (sp__cfg_nargs_ok(ps, kw, argc, 2, 0, 0) && sp__cfg_need_cap(ps, kw, SP_CAP_BE))
        set_proto(ps, proto);
}

void sp__cfg_opt_tcp_check(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                           bool neg)
{
    (void)argv;
    proto_option(ps, kw, argc, neg, SP_CHK_PROTO_TCP);
}

void sp__cfg_opt_ssl_hello_chk(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                               bool neg)
{
    (void)argv;
    proto_option(ps, kw, argc, neg, SP_CHK_PROTO_SSL3);
}

/* option mysql-check [ user <username> [ { post-41 | pre-41 } ] ] */
void sp__cfg_opt_mysql_check(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                             bool neg)
{
    if (neg) {
        sp__cfg_alert(ps, kw, "this option cannot be negated");
        return;
    }
    if (!sp__cfg_nargs_ok(ps, kw, argc, 2, 0, 3) || !sp__cfg_need_cap(ps, kw, SP_CAP_BE))
        return;
    if (argc > 2 && strcmp(argv[2], "user") != 0) {
        sp__cfg_alert(ps, kw, "only supports optional values: 'user' (got '%s')", argv[2]);
        return;
    }
    if (argc == 3 || (argc > 3 && !argv[3][0])) {
        sp__cfg_alert(ps, kw, "'user' expects <username> as argument");
        return;
    }
    bool pre41 = false;
    if (argc == 5 && strcmp(argv[4], "pre-41") == 0) {
        pre41 = true;
    } else if (argc == 5 && strcmp(argv[4], "post-41") != 0) {
        sp__cfg_alert(ps, kw, "keyword 'user' only supports 'post-41' and 'pre-41' (got '%s')",
                      argv[4]);
        return;
    }
    if (argc > 3 && strlen(argv[3]) > 200) {
        sp__cfg_alert(ps, kw, "user name too long (200 bytes at most)");
        return;
    }
    set_proto(ps, SP_CHK_PROTO_MYSQL);
    if (argc > 3)
        ps->cur->tcpchk.mysql_user = sp__cfg_xstrdup(ps, argv[3]);
    ps->cur->tcpchk.mysql_pre41 = pre41;
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = tolower(c);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* A hex string into bytes (HAProxy's parse_binary): an even number of hex digits. */
static bool parse_hex(struct sp__cfg_parser *ps, const char *kw, const char *hex,
                      struct sp_cfg_tcpchk_rule *r)
{
    size_t n = strlen(hex);

    if (!n || n % 2) {
        sp__cfg_alert(ps, kw, "'%s' is not a valid hex string: an even number of digits is needed",
                      hex);
        return false;
    }
    r->data = malloc(n / 2 + 1);
    if (!r->data) {
        ps->oom = true;
        return false;
    }
    for (size_t i = 0; i < n; i += 2) {
        int hi = hexval((unsigned char)hex[i]), lo = hexval((unsigned char)hex[i + 1]);
        if (hi < 0 || lo < 0) {
            sp__cfg_alert(ps, kw, "'%s' is not a valid hex string: '%c%c' at offset %zu", hex,
                          hex[i], hex[i + 1], i);
            return false;
        }
        r->data[i / 2] = (char)(hi << 4 | lo);
    }
    r->len = n / 2;
    r->data[r->len] = '\0';
    return true;
}

static bool get_status(struct sp__cfg_parser *ps, const char *kw, const char *opt, const char *v,
                       const char *const *allowed, int *out)
{
    for (size_t i = 0; v && allowed[i]; i++) {
        if (strcmp(v, allowed[i]) != 0)
            continue;
        for (size_t j = 0; j < ARRAY_SIZE(chk_statuses); j++)
            if (strcmp(chk_statuses[j].name, v) == 0)
                *out = chk_statuses[j].status;
        return true;
    }
    char list[96] = "";
    for (size_t i = 0; allowed[i]; i++)
        snprintf(list + strlen(list), sizeof(list) - strlen(list), "%s'%s'", i ? ", " : "",
                 allowed[i]);
    sp__cfg_alert(ps, kw, "'%s' only supports %s (got '%s')", opt, list, v ? v : "");
    return false;
}

/* tcp-check connect [default] [port N] [send-proxy] [linger] [comment C] */
static bool parse_connect(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                          struct sp_cfg_tcpchk_rule *r)
{
    static const char *const later[] = {"addr", "via-socks4", "ssl",           "sni",
                                        "alpn", "proto",      "send-proxy-v2", "check-sni"};
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "default") == 0) {
            r->def = true;
        } else if (strcmp(argv[i], "send-proxy") == 0) {
            r->send_proxy = true;
        } else if (strcmp(argv[i], "linger") == 0) {
            /* spillway closes every check connection cleanly (FIN): what `linger` asks for */
        } else if (strcmp(argv[i], "port") == 0) {
            if (!sp__cfg_get_int(ps, kw, "port", i + 1 < argc ? argv[i + 1] : NULL, 1, 65535,
                                 &r->port))
                return false;
            i++;
        } else if (strcmp(argv[i], "comment") == 0) {
            if (i + 1 >= argc) {
                sp__cfg_alert(ps, kw, "'comment' expects a string as argument");
                return false;
            }
            free(r->comment);
            r->comment = sp__cfg_xstrdup(ps, argv[++i]);
        } else if (sp__cfg_in_list(argv[i], later, ARRAY_SIZE(later))) {
            sp__cfg_alert(ps, kw,
                          "'%s' is not supported by spillway (check connections are plain TCP "
                          "to the server's own check address)",
                          argv[i]);
            return false;
        } else {
            sp__cfg_alert(ps, kw,
                          "expects 'comment', 'port', 'addr', 'send-proxy', 'via-socks4', 'ssl', "
                          "'sni', 'alpn', 'proto', 'linger' or 'default' but got '%s'",
                          argv[i]);
            return false;
        }
    }
    return true;
}

/* tcp-check send|send-binary <data> [comment C] */
static bool parse_send(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                       struct sp_cfg_tcpchk_rule *r)
{
    bool bin = strcmp(argv[1], "send-binary") == 0;

    if (argc < 3 || !argv[2][0]) {
        sp__cfg_alert(ps, kw, "'%s' expects a %s as argument", argv[1],
                      bin ? "binary string" : "string");
        return false;
    }
    for (int i = 3; i < argc; i++) {
        if (strcmp(argv[i], "comment") == 0 && i + 1 < argc) {
            free(r->comment);
            r->comment = sp__cfg_xstrdup(ps, argv[++i]);
        } else {
            sp__cfg_alert(ps, kw, "expects 'comment' but got '%s' as argument", argv[i]);
            return false;
        }
    }
    if (bin)
        return parse_hex(ps, kw, argv[2], r);
    r->len = strlen(argv[2]);
    r->data = sp__cfg_xstrdup(ps, argv[2]);
    return r->data != NULL;
}

/* tcp-check expect [min-recv N] [comment C] [ok-status S] [error-status S] [tout-status S]
 *   [!] string|rstring|binary|rbinary <pattern> */
static bool parse_expect(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                         struct sp_cfg_tcpchk_rule *r)
{
    static const char *const ok_st[] = {"L7OK", "L7OKC", "L6OK", "L4OK", NULL};
    static const char *const err_st[] = {"L7RSP", "L7STS", "L7OKC", "L6RSP", "L4CON", NULL};
    static const char *const tout_st[] = {"L7TOUT", "L6TOUT", "L4TOUT", NULL};
    static const char *const unsupported[] = {"on-success", "on-error", "status-code", "string-lf",
                                              "binary-lf"};
    const char *pat = NULL;
    bool have_match = false;

    r->min_recv = -1;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "!") == 0) {
            r->neg = true;
        } else if (strcmp(a, "min-recv") == 0) {
            if (!sp__cfg_get_int(ps, kw, "min-recv", v, -1, 1 << 20, &r->min_recv))
                return false;
            i++;
        } else if (strcmp(a, "comment") == 0) {
            if (!v) {
                sp__cfg_alert(ps, kw, "'comment' expects a string as argument");
                return false;
            }
            free(r->comment);
            r->comment = sp__cfg_xstrdup(ps, v);
            i++;
        } else if (strcmp(a, "ok-status") == 0 || strcmp(a, "error-status") == 0 ||
                   strcmp(a, "tout-status") == 0) {
            const char *const *allowed = a[0] == 'o' ? ok_st : a[0] == 'e' ? err_st : tout_st;
            int *out = a[0] == 'o' ? &r->ok_status : a[0] == 'e' ? &r->err_status : &r->tout_status;
            if (!get_status(ps, kw, a, v, allowed, out))
                return false;
            i++;
        } else if (strcmp(a, "string") == 0 || strcmp(a, "rstring") == 0 ||
                   strcmp(a, "binary") == 0 || strcmp(a, "rbinary") == 0) {
            if (have_match) {
                sp__cfg_alert(ps, kw, "only on pattern expected");
                return false;
            }
            if (!v || !v[0]) {
                sp__cfg_alert(ps, kw, "'%s' expects <pattern> as an argument", a);
                return false;
            }
            have_match = true;
            pat = v;
            r->match = strcmp(a, "string") == 0    ? SP_TCPM_STRING
                       : strcmp(a, "rstring") == 0 ? SP_TCPM_RSTRING
                       : strcmp(a, "binary") == 0  ? SP_TCPM_BINARY
                                                   : SP_TCPM_RBINARY;
            i++;
        } else if (sp__cfg_in_list(a, unsupported, ARRAY_SIZE(unsupported))) {
            sp__cfg_alert(ps, kw,
                          "'%s' is not supported by spillway (its argument is a log-format "
                          "string or a sample expression, evaluated without a stream)",
                          a);
            return false;
        } else {
            sp__cfg_alert(ps, kw,
                          "expects 'min-recv', 'comment', 'ok-status', 'error-status', "
                          "'tout-status', '!', 'string', 'rstring', 'binary' or 'rbinary' but got "
                          "'%s' as argument",
                          a);
            return false;
        }
    }
    if (!have_match) {
        sp__cfg_alert(ps, kw, "expects a pattern type ('string', 'rstring', 'binary', 'rbinary')");
        return false;
    }
    if (r->match == SP_TCPM_BINARY)
        return parse_hex(ps, kw, pat, r);
    r->data = sp__cfg_xstrdup(ps, pat);
    if (!r->data)
        return false;
    r->len = strlen(pat);
    if (r->match == SP_TCPM_RSTRING || r->match == SP_TCPM_RBINARY) {
        regex_t re;
        if (regcomp(&re, pat, REG_EXTENDED | REG_NOSUB) != 0) {
            sp__cfg_alert(ps, kw, "invalid regex '%s'", pat);
            return false;
        }
        regfree(&re);
    }
    return true;
}

void sp__cfg_kw_tcp_check(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_tcpchk *t = &ps->cur->tcpchk;
    char kw[64];

    if (!sp__cfg_need_cap(ps, argv[0], SP_CAP_BE))
        return;
    if (argc < 2) {
        sp__cfg_alert(ps, argv[0],
                      "expects 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var' "
                      "or 'unset-var'");
        return;
    }
    snprintf(kw, sizeof(kw), "tcp-check %s", argv[1]);
    if (t->inherited) /* HAProxy: a proxy's own lines make its own ruleset */
        free_rules(t);
    struct sp_cfg_tcpchk_rule *r = sp__cfg_xcalloc(ps, sizeof(*r));
    if (!r)
        return;
    r->where = sp__cfg_here(ps);
    r->min_recv = -1;
    bool ok;
    if (strcmp(argv[1], "comment") == 0) {
        r->act = SP_TCPCHK_COMMENT;
        ok = sp__cfg_nargs_ok(ps, kw, argc, 2, 1, 1);
        if (ok)
            r->comment = sp__cfg_xstrdup(ps, argv[2]);
    } else if (strcmp(argv[1], "connect") == 0) {
        r->act = SP_TCPCHK_CONNECT;
        ok = parse_connect(ps, kw, argc, argv, r);
        /* HAProxy: a connect must be the first step when there is one */
        for (const struct sp_cfg_tcpchk_rule *p = t->rules; ok && p; p = p->next) {
            if (p->act == SP_TCPCHK_COMMENT)
                continue;
            if (p->act != SP_TCPCHK_CONNECT)
                sp__cfg_alert(ps, kw,
                              "first step MUST also be a 'connect', optionally preceded by a "
                              "'set-var', an 'unset-var' or a 'comment', when there is a "
                              "'connect' step in the tcp-check ruleset");
            else
                sp__cfg_alert(ps, kw,
                              "a second 'connect' in a tcp-check sequence is not supported by "
                              "spillway (one connection per check)");
            ok = false;
            break;
        }
    } else if (strcmp(argv[1], "send") == 0 || strcmp(argv[1], "send-binary") == 0) {
        r->act = SP_TCPCHK_SEND;
        ok = parse_send(ps, kw, argc, argv, r);
    } else if (strcmp(argv[1], "expect") == 0) {
        r->act = SP_TCPCHK_EXPECT;
        ok = parse_expect(ps, kw, argc, argv, r);
    } else if (strcmp(argv[1], "send-lf") == 0 || strcmp(argv[1], "send-binary-lf") == 0 ||
               strncmp(argv[1], "set-var", 7) == 0 || strncmp(argv[1], "unset-var", 9) == 0) {
        sp__cfg_alert(ps, kw,
                      "not supported by spillway (log-format strings and variables need a "
                      "stream, which spillway's checks do not have)");
        ok = false;
    } else {
        sp__cfg_alert(ps, argv[0],
                      "expects 'comment', 'connect', 'send', 'send-binary', 'expect', 'set-var' "
                      "or 'unset-var' but got '%s'",
                      argv[1]);
        ok = false;
    }
    if (!ok || ps->oom) {
        free(r->data);
        free(r->comment);
        free(r);
        return;
    }
    r->index = t->nrules++;
    struct sp_cfg_tcpchk_rule **tail = &t->rules;
    while (*tail)
        tail = &(*tail)->next;
    *tail = r;
}
