/* core/cfgrules.c - the configuration keywords that hold rules rather than settings: acl,
 * use_backend and http-request, kept as words for balance/ to compile, and stats (global
 * `stats socket`, proxy `stats enable|uri|refresh|auth`). core/cfgparse.c holds the parser
 * state, the helpers and the keyword table that calls these handlers.
 *
 * owner: main.
 *
 * As everywhere in the parser, a handler reports a wrong line and returns, and running out
 * of memory sets ps->oom instead of unwinding.
 */
#include "core/config.h"

#include <ctype.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-int.h"
#include "core/util.h"

/* Keeps an `acl` or `use_backend` line as words, at the tail of `list` (order matters: the
 * first matching use_backend wins). balance/ compiles them and reports their errors. */
static void add_rule(struct sp__cfg_parser *ps, struct sp_cfg_rule **list, int argc, char **argv)
{
    struct sp_cfg_rule *r = sp__cfg_xcalloc(ps, sizeof(*r));

    if (!r)
        return;
    r->where = sp__cfg_here(ps);
    r->words = sp__cfg_xcalloc(ps, sizeof(char *) * (size_t)(argc - 1));
    for (int i = 1; r->words && i < argc; i++) {
        r->words[i - 1] = sp__cfg_xstrdup(ps, argv[i]);
        if (!r->words[i - 1])
            break;
        r->nwords++;
    }
    if (!r->words || r->nwords != argc - 1) {
        sp__cfg_rules_free(r);
        return;
    }
    while (*list)
        list = &(*list)->next;
    *list = r;
}

void sp__cfg_kw_acl(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 2, SP__CFG_MAX_WORDS))
        return;
    if (ps->sec == SP__CFG_SEC_DEFAULTS) {
        sp__cfg_alert(ps, argv[0], "ACLs in a defaults section are not supported by spillway yet");
        return;
    }
    add_rule(ps, &ps->cur->acls, argc, argv);
}

void sp__cfg_kw_use_backend(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, SP__CFG_MAX_WORDS) ||
        !sp__cfg_need_cap(ps, argv[0], SP_CAP_FE))
        return;
    if (argc > 2 && strcmp(argv[2], "if") && strcmp(argv[2], "unless")) {
        sp__cfg_alert(ps, argv[0], "expects 'if' or 'unless' after the backend name, not '%s'",
                      argv[2]);
        return;
    }
    add_rule(ps, &ps->cur->use_backends, argc, argv);
}

/* a unix path, or an IP address with a port other than 0 */
static bool has_port(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET)
        return ((const struct sockaddr_in *)ss)->sin_port != 0;
    if (ss->ss_family == AF_INET6)
        return ((const struct sockaddr_in6 *)ss)->sin6_port != 0;
    return ss->ss_family == AF_UNIX;
}

/* `stats socket ADDRESS|PATH [mode M] [level L] [user U] [group G] [uid N] [gid N]
 * [expose-fd listeners]`: a unix socket (a path, `unix@PATH`) or a TCP address (`ipv4@`,
 * `ipv6@`, `ADDR:PORT`); several lines, several sockets. `unix-bind` does not apply to it:
 * HAProxy 2.6 passes no prefix for the CLI's frontend (str2listener()) and starts its
 * bind settings unset (bind_conf_alloc()), so the path, mode and owner are the line's. */
static void stats_socket(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;
    struct sp_cfg_stats_socket *ss, **tail;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    const char *text = argc > 2 ? argv[2] : "";

    if (!text[0]) {
        sp__cfg_alert(ps, argv[0], "'stats socket' expects a path or an address");
        return;
    }
    if (text[0] == '/' || !strncmp(text, "unix@", 5)) {
        const char *path = text[0] == '/' ? text : text + 5;
        if (path[0] != '/' || strlen(path) >= 100) {
            sp__cfg_alert(ps, argv[0],
                          "'stats socket' expects an absolute path of less than 100 bytes");
            return;
        }
    }
    if (!strncmp(text, "abns@", 5)) {
        sp__cfg_alert(ps, argv[0],
                      "'stats socket': abns@ is not supported by spillway for the stats socket "
                      "(its access rests on the socket file's owner and mode: use unix@PATH)");
        return;
    }
    char unix_text[128];
    if (text[0] == '/') { /* a bare path is a unix socket, as in HAProxy */
        snprintf(unix_text, sizeof(unix_text), "unix@%s", text);
        text = unix_text;
    }
    if (sp_parse_addr(text, false, &addr, &addrlen) < 0 || !has_port(&addr)) {
        sp__cfg_alert(ps, argv[0],
                      "'stats socket': invalid address '%s' (expects an absolute path, "
                      "unix@PATH, or [ipv4@|ipv6@]ADDRESS:PORT)",
                      text);
        return;
    }
    ss = sp__cfg_xcalloc(ps, sizeof(*ss));
    if (!ss)
        return;
    ss->addr = addr;
    ss->addrlen = addrlen;
    ss->mode = -1;
    ss->uid = ss->gid = -1;
    ss->level = SP_CLI_LEVEL_OPERATOR;
    ss->where = sp__cfg_here(ps);
    for (int i = 3; i < argc; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0;
        if (!val) {
            sp__cfg_alert(ps, argv[0], "'%s' expects a value", opt);
            goto fail;
        }
        if (!strcmp(opt, "mode")) {
            char *end;
            long m = strtol(val, &end, 8);
            if (!*val || *end || m < 0 || m > 0777) {
                sp__cfg_alert(ps, argv[0], "bad mode '%s' (octal expected)", val);
                goto fail;
            }
            ss->mode = (int)m;
        } else if (!strcmp(opt, "level")) {
            if (!strcmp(val, "user")) {
                ss->level = SP_CLI_LEVEL_USER;
            } else if (!strcmp(val, "operator")) {
                ss->level = SP_CLI_LEVEL_OPERATOR;
            } else if (!strcmp(val, "admin")) {
                ss->level = SP_CLI_LEVEL_ADMIN;
            } else {
                sp__cfg_alert(ps, argv[0], "level must be user, operator or admin, not '%s'", val);
                goto fail;
            }
        } else if (!strcmp(opt, "user")) {
            if ((r = sp__cfg_lookup_user(val, &ss->uid)) < 0) {
                sp__cfg_alert(ps, argv[0], "'user': cannot find user id for '%s'", val);
                goto fail;
            }
        } else if (!strcmp(opt, "group")) {
            if ((r = sp__cfg_lookup_group(val, &ss->gid)) < 0) {
                sp__cfg_alert(ps, argv[0], "'group': cannot find group id for '%s'", val);
                goto fail;
            }
        } else if (!strcmp(opt, "uid") || !strcmp(opt, "gid")) {
            if (!sp__cfg_get_int(ps, argv[0], opt, val, 0, INT_MAX,
                                 opt[0] == 'u' ? &ss->uid : &ss->gid))
                goto fail;
        } else if (!strcmp(opt, "expose-fd")) {
            if (strcmp(val, "listeners")) {
                sp__cfg_alert(ps, argv[0], "'expose-fd' only supports 'listeners'");
                goto fail;
            }
            ss->expose_fd = true;
            sp__cfg_warn(ps, argv[0],
                         "'expose-fd listeners' accepted but nothing is exposed: spillway has "
                         "no reload that would take over the listeners (no _getsocks command)");
        } else {
            sp__cfg_alert(ps, argv[0], "'stats socket' option '%s' is not supported by spillway",
                          opt);
            goto fail;
        }
    }
    if (addr.ss_family != AF_UNIX && (ss->mode >= 0 || ss->uid >= 0 || ss->gid >= 0))
        sp__cfg_warn(ps, argv[0],
                     "'mode', 'user', 'group', 'uid' and 'gid' apply to a unix socket's file; "
                     "ignored on the TCP address '%s'",
                     text);
    ss->text = sp__cfg_xstrdup(ps, argv[2]);
    if (!ss->text)
        goto fail;
    for (tail = &g->stats_sockets; *tail; tail = &(*tail)->next)
        ;
    *tail = ss;
    return;
fail:
    free(ss);
}

/* global `stats socket ...`, `stats timeout T`, `stats maxconn N` */
static void global_stats(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_global *g = &ps->cfg->global;
    int64_t ms;

    if (!strcmp(argv[1], "socket")) {
        stats_socket(ps, argc, argv);
    } else if (!strcmp(argv[1], "timeout")) {
        if (sp__cfg_nargs_ok(ps, "stats timeout", argc, 2, 1, 1) &&
            sp__cfg_get_time(ps, "stats timeout", "timeout", argv[2], &ms)) {
            if (ms <= 0)
                sp__cfg_alert(ps, "stats timeout", "expects a positive value");
            else
                g->stats_timeout = ms;
        }
    } else if (!strcmp(argv[1], "maxconn")) {
        if (sp__cfg_nargs_ok(ps, "stats maxconn", argc, 2, 1, 1))
            sp__cfg_get_int(ps, "stats maxconn", "connection count", argv[2], 1, INT_MAX,
                            &g->stats_maxconn);
    } else if (!strcmp(argv[1], "bind-process")) {
        /* HAProxy 2.6 still parses it (1 to 1 processes: nbproc is gone) and keeps nothing:
         * the stats socket serves the one process there is, as here. Only the words are
         * checked, as parse_process_number() does. */
        for (int i = 2; i < argc; i++) {
            if (!strcmp(argv[i], "all"))
                break;
            if (!strcmp(argv[i], "odd") || !strcmp(argv[i], "even"))
                continue;
            const char *dash = NULL;
            bool ok = argv[i][0] != '\0';
            for (const char *c = argv[i]; *c && ok; c++) {
                if (*c == '-' && !dash)
                    dash = c;
                else if (!isdigit((unsigned char)*c))
                    ok = false;
            }
            long lo = ok ? strtol(argv[i], NULL, 10) : 0;
            long hi = ok && dash ? (dash[1] ? strtol(dash + 1, NULL, 10) : 1) : lo;
            if (!ok || SP_MIN(lo, hi) < 1 || SP_MAX(lo, hi) > 1) {
                sp__cfg_alert(ps, "stats bind-process",
                              "'%s' is not a valid number/range. It supports numbers from 1 "
                              "to 1 (one process)",
                              argv[i]);
                return;
            }
        }
    } else {
        sp__cfg_alert(ps, argv[0], "'stats %s' is not supported by spillway in global", argv[1]);
    }
}

/* HAProxy 2.6's tcp-request actions spillway does not carry out: named, so that the error
 * says "not supported" rather than "unknown". */
/* clang-format off */
static const char *const tcp_actions_unsupported[] = {
    "capture", "do-resolve", "expect-netscaler-cip", "lua", "sc-inc-gpc",
    "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt", "sc-set-gpt0", "send-spoe-group", "set-dst",
    "set-dst-port", "set-log-level", "set-mark", "set-nice", "set-priority-class",
    "set-priority-offset", "set-src", "set-src-port", "set-tos", "set-var", "set-var-fmt",
    "silent-drop", "switch-mode", "track-sc0", "track-sc1", "track-sc2", "unset-var",
    "use-service", "attach-srv", "set-bandwidth-limit", "set-fc-mark", "set-fc-tos",
};
/* clang-format on */

/* The variable actions and use-service come with the sample expressions (balance/sample.h),
 * which are another piece of work: said so, with "yet". */
static bool action_later(const char *action)
{
    return !strcmp(action, "set-var-fmt") || !strcmp(action, "use-service");
}

/* `KW ACTION [if|unless COND]` where ACTION is one of `actions` (a NULL-terminated list):
 * kept as words (ACTION and the condition) at the tail of `list` for balance/ to compile.
 * `what` names the actions in the error ("'accept' or 'reject'"). */
static void tcp_rule(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                     const char *const *actions, const char *what, struct sp_cfg_rule **list)
{
    char action[64], full[160];
    bool known = false;

    if (argc < 3) {
        sp__cfg_alert(ps, kw, "expects an action (%s)", what);
        return;
    }
    for (int i = 0; actions[i]; i++)
        known |= strcmp(argv[2], actions[i]) == 0;
    /* set-var(SCOPE.NAME) EXPR and unset-var(SCOPE.NAME), on request rules: the name, the
     * expression and the scope are checked where they are compiled (balance/routing.c) */
    bool setv = !strncmp(argv[2], "set-var(", 8), unsetv = !strncmp(argv[2], "unset-var(", 10);
    if ((setv || unsetv) && strncmp(kw, "tcp-response", 12)) {
        int cond = setv ? 4 : 3;
        if (setv && argc < 4) {
            sp__cfg_alert(ps, kw, "'%s' expects a sample expression", argv[2]);
            return;
        }
        if (argc > cond && strcmp(argv[cond], "if") && strcmp(argv[cond], "unless")) {
            sp__cfg_alert(ps, kw, "expects 'if' or 'unless' after '%s', not '%s'", argv[2],
                          argv[cond]);
            return;
        }
        add_rule(ps, list, argc - 1, argv + 1);
        return;
    }
    /* track-sc0|1|2 KEY [table T], sc-inc-gpc0|1(N), sc-set-gpt0(N) VALUE on request rules:
     * the arguments are checked where they are compiled (balance/stkact.c); the gpc/gpt arrays
     * (sc-inc-gpc(I,N), sc-set-gpt(I,N)) are refused below */
    const char *a = argv[2];
    bool stk = !strncmp(a, "track-sc", 8) || !strncmp(a, "sc-inc-gpc0(", 12) ||
               !strncmp(a, "sc-inc-gpc1(", 12) || !strncmp(a, "sc-set-gpt0(", 12);
    /* set-dst EXPR, set-dst-port EXPR: the expression is compiled in balance/routing.c */
    if ((!strcmp(a, "set-dst") || !strcmp(a, "set-dst-port")) && strncmp(kw, "tcp-response", 12)) {
        if (argc < 4) {
            sp__cfg_alert(ps, kw, "'%s' expects a sample expression", a);
            return;
        }
        if (argc > 4 && strcmp(argv[4], "if") && strcmp(argv[4], "unless")) {
            sp__cfg_alert(ps, kw, "expects 'if' or 'unless' after '%s', not '%s'", a, argv[4]);
            return;
        }
        add_rule(ps, list, argc - 1, argv + 1);
        return;
    }
    if (stk && (strncmp(kw, "tcp-response", 12) || strncmp(a, "track-sc", 8))) {
        /* tcp-response content: the sc-* actions (HAProxy 2.6 has no track-sc there) */
        add_rule(ps, list, argc - 1, argv + 1);
        return;
    }
    if (!strncmp(a, "sc-inc-gpc(", 11) || !strncmp(a, "sc-set-gpt(", 11)) {
        snprintf(full, sizeof(full), "%s %s", kw, a);
        sp__cfg_alert(ps, full,
                      "not supported by spillway (the gpc/gpt array data types are not kept: "
                      "use sc-inc-gpc0, sc-inc-gpc1 and sc-set-gpt0)");
        return;
    }
    if (!known) {
        /* set-var(NAME), sc-inc-gpc(IDX,SC)...: the action is the word before '(' */
        snprintf(action, sizeof(action), "%.*s", (int)strcspn(argv[2], "("), argv[2]);
        snprintf(full, sizeof(full), "%s %s", kw, argv[2]);
        if (action_later(action))
            sp__cfg_alert(ps, full, "not supported by spillway yet");
        else if (sp__cfg_in_list(action, tcp_actions_unsupported,
                                 SP_ARRAY_SIZE(tcp_actions_unsupported)) ||
                 !strncmp(action, "sc-", 3) || !strncmp(action, "track-sc", 8))
            sp__cfg_not_supported(ps, full);
        else
            sp__cfg_alert(ps, kw, "unknown action '%s' (expects %s)", argv[2], what);
        return;
    }
    if (argc > 3 && strcmp(argv[3], "if") && strcmp(argv[3], "unless")) {
        sp__cfg_alert(ps, kw, "expects 'if' or 'unless' after '%s', not '%s'", argv[2], argv[3]);
        return;
    }
    if (argc == 4) {
        sp__cfg_alert(ps, kw, "missing condition after '%s'", argv[3]);
        return;
    }
    add_rule(ps, list, argc - 1, argv + 1);
}

/* `tcp-request inspect-delay T` or `tcp-response inspect-delay T` into *ms_out */
static void inspect_delay(struct sp__cfg_parser *ps, const char *kw, int argc, char **argv,
                          int64_t *ms_out)
{
    int64_t ms;

    if (!sp__cfg_nargs_ok(ps, kw, argc, 2, 1, 1) ||
        !sp__cfg_get_time(ps, kw, "delay", argv[2], &ms))
        return;
    if (*ms_out != SP_TIME_UNSET) {
        sp__cfg_warn(ps, kw, "ignoring %s (was already defined) in %s '%s'", kw,
                     sp__cfg_sec_names[ps->sec], ps->cur->name);
        return;
    }
    *ms_out = ms;
}

/* `tcp-request inspect-delay T`, `tcp-request connection|session|content accept|reject
 * [if|unless COND]`: connection and session rules are a frontend's (HAProxy 2.6 refuses them
 * in a backend), content rules and the delay a frontend's or a backend's (a backend's run
 * when the session enters it: http/tcp.c). Whether the proxy is tcp is known only once its
 * section is read (sp__cfg_check()). */
void sp__cfg_kw_tcp_request(struct sp__cfg_parser *ps, int argc, char **argv)
{
    static const char *const actions[] = {"accept", "reject", NULL};
    char kw[64];

    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "expects 'inspect-delay', 'connection', 'session' or 'content'");
        return;
    }
    snprintf(kw, sizeof(kw), "tcp-request %s", argv[1]);
    if (strcmp(argv[1], "inspect-delay") && strcmp(argv[1], "connection") &&
        strcmp(argv[1], "session") && strcmp(argv[1], "content")) {
        sp__cfg_alert(ps, argv[0],
                      "expects 'inspect-delay', 'connection', 'session' or 'content' (got '%s')",
                      argv[1]);
        return;
    }
    if (ps->sec == SP__CFG_SEC_DEFAULTS) {
        sp__cfg_alert(ps, kw, "in a defaults section is not supported by spillway");
        return;
    }
    bool l4 = !strcmp(argv[1], "connection"), l5 = !strcmp(argv[1], "session");
    if ((l4 || l5) && !(ps->cur->cap & SP_CAP_FE)) {
        sp__cfg_alert(ps, kw, "is not allowed because backend '%s' is not a frontend",
                      ps->cur->name);
        return;
    }
    if (strcmp(argv[1], "inspect-delay") == 0) {
        inspect_delay(ps, kw, argc, argv, &ps->cur->inspect_delay);
        return;
    }
    if (l4 && argc >= 3 && !strcmp(argv[2], "expect-proxy")) {
        /* `tcp-request connection expect-proxy layer4 [if|unless COND]`: the PROXY header is
         * read first, as on an accept-proxy bind, for the connections the condition picks */
        if (argc < 4 || strcmp(argv[3], "layer4")) {
            sp__cfg_alert(ps, kw, "'expect-proxy' expects 'layer4'");
            return;
        }
        if (argc > 4 && strcmp(argv[4], "if") && strcmp(argv[4], "unless")) {
            sp__cfg_alert(ps, kw, "expects 'if' or 'unless' after 'layer4', not '%s'", argv[4]);
            return;
        }
        add_rule(ps, &ps->cur->tcp_conn_rules, argc - 1, argv + 1);
        return;
    }
    if (l4 && argc >= 3 && !strcmp(argv[2], "silent-drop")) {
        /* `tcp-request connection silent-drop [if|unless COND]`: closed without telling the
         * client (net/sock.c); in the other rule sets it stays refused below */
        if (argc > 3 && strcmp(argv[3], "if") && strcmp(argv[3], "unless")) {
            sp__cfg_alert(ps, kw, "expects 'if' or 'unless' after 'silent-drop', not '%s'",
                          argv[3]);
            return;
        }
        add_rule(ps, &ps->cur->tcp_conn_rules, argc - 1, argv + 1);
        return;
    }
    tcp_rule(ps, kw, argc, argv, actions, "'accept' or 'reject'",
             l4   ? &ps->cur->tcp_conn_rules
             : l5 ? &ps->cur->tcp_session_rules
                  : &ps->cur->tcp_content_rules);
}

/* `tcp-response inspect-delay T`, `tcp-response content accept|reject|close [if|unless
 * COND]`: a backend's (or a listen section's), run on the server's first bytes
 * (http/tcp.c). */
void sp__cfg_kw_tcp_response(struct sp__cfg_parser *ps, int argc, char **argv)
{
    static const char *const actions[] = {"accept", "reject", "close", NULL};
    char kw[64];

    if (argc < 2 || (strcmp(argv[1], "inspect-delay") && strcmp(argv[1], "content"))) {
        sp__cfg_alert(ps, argv[0], "expects 'inspect-delay' or 'content'%s%s%s",
                      argc < 2 ? "" : " (got '", argc < 2 ? "" : argv[1], argc < 2 ? "" : "')");
        return;
    }
    snprintf(kw, sizeof(kw), "tcp-response %s", argv[1]);
    if (ps->sec == SP__CFG_SEC_DEFAULTS) {
        sp__cfg_alert(ps, kw, "in a defaults section is not supported by spillway");
        return;
    }
    if (!(ps->cur->cap & SP_CAP_BE)) {
        sp__cfg_alert(ps, kw,
                      "is only allowed in 'backend' sections or 'defaults' section "
                      "with a name");
        return;
    }
    if (strcmp(argv[1], "inspect-delay") == 0) {
        inspect_delay(ps, kw, argc, argv, &ps->cur->res_inspect_delay);
        return;
    }
    tcp_rule(ps, kw, argc, argv, actions, "'accept', 'reject' or 'close'", &ps->cur->tcp_res_rules);
}

/* global `pp2-never-send-local`: a health check sending PROXY v2 (check-send-proxy with
 * send-proxy-v2) carries its connection's own addresses instead of the LOCAL command, as
 * HAProxy 2.6's make_proxy_line_v2() does with the flag */
void sp__cfg_kw_pp2_never_send_local(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 0, 0))
        ps->cfg->global.pp2_never_send_local = true;
}

/* A stats rule's section serves the page: HAProxy also runs a backend's stats rules (the page
 * of the backend a request was switched to); spillway serves the page from the frontend that
 * matched the stats URI, so a backend-only section's are refused. */
static bool stats_frontend(struct sp__cfg_parser *ps, const char *kw)
{
    if (ps->cur->cap & SP_CAP_FE)
        return true;
    sp__cfg_alert(ps, kw,
                  "not supported by spillway in a backend (write it in the frontend or listen "
                  "section that serves the stats page)");
    return false;
}

/* `stats http-request allow|deny|auth [realm R] [if|unless COND]` (HAProxy 2.6): the rules
 * the stats page runs once its URI matched; a frontend or listen (not defaults: spillway
 * does not copy them) */
static void stats_http_request(struct sp__cfg_parser *ps, int argc, char **argv)
{
    const char *kw = "stats http-request";
    const char *act = argc > 2 ? argv[2] : "";
    int i = 3;

    if (strcmp(act, "allow") && strcmp(act, "deny") && strcmp(act, "auth")) {
        sp__cfg_alert(ps, kw,
                      "expects 'allow', 'deny' or 'auth' (the actions HAProxy's stats page "
                      "runs), not '%s'",
                      act);
        return;
    }
    if (!strcmp(act, "auth") && i < argc && !strcmp(argv[i], "realm")) {
        if (i + 1 >= argc || !*argv[i + 1]) {
            sp__cfg_alert(ps, kw, "'realm' expects a name");
            return;
        }
        i += 2;
    }
    if (i < argc && strcmp(argv[i], "if") && strcmp(argv[i], "unless")) {
        sp__cfg_alert(ps, kw, "expects 'if', 'unless' or nothing after '%s', not '%s'", act,
                      argv[i]);
        return;
    }
    if (i < argc && i + 1 >= argc) {
        sp__cfg_alert(ps, kw, "'%s' expects a condition", argv[i]);
        return;
    }
    if (ps->sec == SP__CFG_SEC_DEFAULTS) {
        sp__cfg_alert(ps, kw,
                      "not supported by spillway in a defaults section (write it in "
                      "the frontend or listen section)");
        return;
    }
    if (!stats_frontend(ps, kw))
        return;
    add_rule(ps, &ps->cur->stats_http_req, argc - 1, argv + 1);
    ps->cur->stats_enabled = true;
}

/* `stats admin if|unless COND` (HAProxy 2.6): the stats page shows its admin form, and
 * takes its POSTs, for the requests the first true condition admits; several lines may
 * be given. Not in defaults (HAProxy refuses it there); a backend-only section does not
 * serve spillway's page. */
static void stats_admin(struct sp__cfg_parser *ps, int argc, char **argv)
{
    const char *kw = "stats admin";

    if (ps->sec == SP__CFG_SEC_DEFAULTS) {
        sp__cfg_alert(ps, kw, "not allowed in 'defaults' section");
        return;
    }
    if (argc < 3 || (strcmp(argv[2], "if") && strcmp(argv[2], "unless"))) {
        sp__cfg_alert(ps, kw, "requires either 'if' or 'unless' followed by a condition");
        return;
    }
    if (argc < 4) {
        sp__cfg_alert(ps, kw, "'%s' expects a condition", argv[2]);
        return;
    }
    if (!stats_frontend(ps, kw))
        return;
    add_rule(ps, &ps->cur->stats_admin, argc - 1, argv + 1);
    ps->cur->stats_enabled = true;
}

/* global `stats socket|timeout|maxconn` and proxy `stats enable|uri|refresh|auth|
 * hide-version|realm|show-node|show-legends|show-desc|show-modules|scope` */
void sp__cfg_kw_stats(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "expects a sub-keyword");
        return;
    }
    if (ps->sec == SP__CFG_SEC_GLOBAL) {
        global_stats(ps, argc, argv);
        return;
    }
    struct sp_cfg_proxy *px = ps->cur;
    if (!strcmp(argv[1], "http-request")) {
        stats_http_request(ps, argc, argv);
    } else if (!strcmp(argv[1], "admin")) {
        stats_admin(ps, argc, argv);
    } else if (!strcmp(argv[1], "enable") && argc == 2) {
        px->stats_enabled = true;
    } else if (!strcmp(argv[1], "uri") && argc == 3) {
        if (argv[2][0] != '/') {
            sp__cfg_alert(ps, argv[0], "'stats uri' expects a prefix starting with '/'");
            return;
        }
        free(px->stats_uri);
        px->stats_uri = sp__cfg_xstrdup(ps, argv[2]);
        px->stats_enabled = true;
    } else if (!strcmp(argv[1], "refresh") && argc == 3) {
        if (sp__cfg_get_time(ps, argv[0], "refresh delay", argv[2], &px->stats_refresh))
            px->stats_enabled = true;
    } else if (!strcmp(argv[1], "auth") && argc == 3) {
        if (!strchr(argv[2], ':')) {
            sp__cfg_alert(ps, argv[0], "'stats auth' expects user:password");
            return;
        }
        char **n = realloc(px->stats_auth, sizeof(char *) * (size_t)(px->nstats_auth + 1));
        if (!n) {
            ps->oom = true;
            return;
        }
        px->stats_auth = n;
        px->stats_auth[px->nstats_auth] = sp__cfg_xstrdup(ps, argv[2]);
        if (px->stats_auth[px->nstats_auth])
            px->nstats_auth++;
        px->stats_enabled = true;
    } else if (!strcmp(argv[1], "hide-version") && argc == 2) {
        px->stats_hide_version = true;
        px->stats_enabled = true;
    } else if (!strcmp(argv[1], "realm") && argc == 3) {
        free(px->stats_realm);
        px->stats_realm = sp__cfg_xstrdup(ps, argv[2]);
        px->stats_enabled = true;
    } else if ((!strcmp(argv[1], "show-node") && argc <= 3) || !strcmp(argv[1], "show-desc")) {
        bool node = argv[1][5] == 'n';
        char **dst = node ? &px->stats_node : &px->stats_desc;
        if (node && argc == 3 && !sp__cfg_valid_name(argv[2])) {
            sp__cfg_alert(ps, argv[0], "'stats show-node': invalid node name '%s'", argv[2]);
            return;
        }
        free(*dst);
        *dst = NULL;
        if (argc >= 3) {
            /* show-desc: every word after it, joined by one space, as HAProxy 2.6 does */
            size_t len = 0;
            for (int i = 2; i < argc; i++)
                len += strlen(argv[i]) + 1;
            *dst = malloc(len);
            if (!*dst) {
                ps->oom = true;
                return;
            }
            size_t off = 0;
            for (int i = 2; i < argc; i++)
                off += (size_t)snprintf(*dst + off, len - off, "%s%s", i > 2 ? " " : "", argv[i]);
        }
        if (node)
            px->stats_show_node = true;
        else
            px->stats_show_desc = true;
        px->stats_enabled = true;
    } else if (!strcmp(argv[1], "show-legends") && argc == 2) {
        px->stats_show_legends = true;
        px->stats_enabled = true;
    } else if (!strcmp(argv[1], "show-modules") && argc == 2) {
        sp__cfg_warn(ps, argv[0],
                     "spillway has no statistics modules: the page shows no extra column for "
                     "them (the stats page is still enabled)");
        px->stats_show_modules = true;
        px->stats_enabled = true;
    } else if (!strcmp(argv[1], "scope") && argc == 3) {
        /* `.` is the proxy serving the page (HAProxy 2.6 matches it against the stream's
         * backend when it renders). In a defaults section it is kept as written and
         * resolved where the page is compiled (balance/routing.c): each proxy that
         * inherits it shows itself. */
        const char *name = !strcmp(argv[2], ".") && px->name ? px->name : argv[2];
        char **n = realloc(px->stats_scope, sizeof(char *) * (size_t)(px->nstats_scope + 1));
        if (!n) {
            ps->oom = true;
            return;
        }
        px->stats_scope = n;
        px->stats_scope[px->nstats_scope] = sp__cfg_xstrdup(ps, name);
        if (px->stats_scope[px->nstats_scope])
            px->nstats_scope++;
        px->stats_enabled = true;
    } else if (!strcmp(argv[1], "enable") || !strcmp(argv[1], "uri") ||
               !strcmp(argv[1], "refresh") || !strcmp(argv[1], "auth") ||
               !strcmp(argv[1], "hide-version") || !strcmp(argv[1], "realm") ||
               !strcmp(argv[1], "show-node") || !strcmp(argv[1], "show-desc") ||
               !strcmp(argv[1], "show-legends") || !strcmp(argv[1], "show-modules") ||
               !strcmp(argv[1], "scope")) {
        sp__cfg_alert(ps, argv[0], "wrong number of arguments to 'stats %s'", argv[1]);
    } else {
        sp__cfg_alert(ps, argv[0], "'stats %s' is not supported by spillway yet", argv[1]);
    }
}

/* `http-request ACTION [ARGS] [if|unless COND]`, `http-response ...`, `http-after-response
 * ...`: kept as words from the action on, compiled (and checked) by http/hrules.c. Rules in
 * a defaults section are not supported (HAProxy 2.6 allows them only in named defaults). */
static void http_rule(struct sp__cfg_parser *ps, struct sp_cfg_rule **list, int argc, char **argv)
{
    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "expects an action");
        return;
    }
    if (ps->sec == SP__CFG_SEC_DEFAULTS) {
        sp__cfg_alert(ps, argv[0], "rules in a defaults section are not supported by spillway");
        return;
    }
    add_rule(ps, list, argc, argv);
}

/* A new capture slot; returns its id among the captures of its kind, or -1. */
static int add_capture(struct sp__cfg_parser *ps, bool response, const char *name, const char *len)
{
    char *end;
    long l = strtol(len, &end, 10);

    if (!*len || *end || l <= 0 || l > 65536) {
        sp__cfg_alert(ps, "capture", "'len' expects a length from 1 to 65536, not '%s'", len);
        return -1;
    }
    struct sp_cfg_capture *c = sp__cfg_xcalloc(ps, sizeof(*c)), **tail = &ps->cur->captures;
    if (!c)
        return -1;
    c->response = response;
    c->len = (int)l;
    c->where = sp__cfg_here(ps);
    if (name && !(c->name = sp__cfg_xstrdup(ps, name))) {
        free(c);
        return -1;
    }
    while (*tail)
        tail = &(*tail)->next;
    *tail = c;
    return response ? ps->cur->ncap_res++ : ps->cur->ncap_req++;
}

/* `capture request|response header NAME len N` */
void sp__cfg_kw_capture(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "cookie")) {
        sp__cfg_alert(ps, argv[0], "'capture cookie' is not supported by spillway yet");
        return;
    }
    if (argc != 6 || (strcmp(argv[1], "request") && strcmp(argv[1], "response")) ||
        strcmp(argv[2], "header") || strcmp(argv[4], "len")) {
        sp__cfg_alert(ps, argv[0],
                      "expects 'request header NAME len LENGTH', 'response header "
                      "NAME len LENGTH' or 'cookie'");
        return;
    }
    add_capture(ps, argv[1][2] == 's', argv[3], argv[5]);
}

/* `declare capture request|response len N` */
void sp__cfg_kw_declare(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc != 5 || strcmp(argv[1], "capture") ||
        (strcmp(argv[2], "request") && strcmp(argv[2], "response")) || strcmp(argv[3], "len")) {
        sp__cfg_alert(ps, argv[0], "expects 'capture request|response len LENGTH'");
        return;
    }
    add_capture(ps, argv[2][2] == 's', NULL, argv[4]);
}

/* `http-request|http-response capture SAMPLE len N ...`: a new slot, and the rule kept as
 * `capture SAMPLE id K ...` */
static void capture_rule(struct sp__cfg_parser *ps, struct sp_cfg_rule **list, int argc,
                         char **argv, bool response)
{
    if (argc < 5 || strcmp(argv[3], "len")) {
        http_rule(ps, list, argc, argv);
        return;
    }
    if (!sp__cfg_need_cap(ps, argv[0], SP_CAP_FE))
        return;
    int id = add_capture(ps, response, NULL, argv[4]);
    if (id < 0)
        return;
    char num[16], *words[SP__CFG_MAX_WORDS + 1];
    snprintf(num, sizeof(num), "%d", id);
    int n = 0;
    for (int i = 0; i < argc && n < SP__CFG_MAX_WORDS; i++)
        words[n++] = i == 3 ? "id" : i == 4 ? num : argv[i];
    http_rule(ps, list, n, words);
}

void sp__cfg_kw_http_request(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "capture")) {
        capture_rule(ps, &ps->cur->http_req, argc, argv, false);
        return;
    }
    if (argc >= 3 && !strcmp(argv[1], "use-service") && ps->sec != SP__CFG_SEC_DEFAULTS) {
        if (strcmp(argv[2], "prometheus-exporter")) {
            sp__cfg_alert(ps, argv[0], "'use-service' supports 'prometheus-exporter' only");
            return;
        }
        if (!sp__cfg_need_cap(ps, argv[0], SP_CAP_FE))
            return;
        if (argc > 3 && strcmp(argv[3], "if") && strcmp(argv[3], "unless")) {
            sp__cfg_alert(ps, argv[0], "expects 'if' or 'unless' after the service, not '%s'",
                          argv[3]);
            return;
        }
        /* the exporter's own flag (stats, mode checks); the rule itself runs in order with
         * the others */
        ps->cur->prometheus = true;
        sp__cfg_rules_free(ps->cur->prometheus_cond);
        ps->cur->prometheus_cond = NULL;
        if (argc > 3)
            add_rule(ps, &ps->cur->prometheus_cond, argc - 2, argv + 2);
    }
    http_rule(ps, &ps->cur->http_req, argc, argv);
}

void sp__cfg_kw_http_response(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc >= 2 && !strcmp(argv[1], "capture") && argv[0][5] == 'r') {
        capture_rule(ps, &ps->cur->http_res, argc, argv, true);
        return;
    }
    http_rule(ps, argv[0][5] == 'a' ? &ps->cur->http_after : &ps->cur->http_res, argc, argv);
}

/* `redirect location|prefix|scheme ...`: words from the type on */
void sp__cfg_kw_redirect(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc < 3) {
        sp__cfg_alert(ps, argv[0],
                      "expects 'code', 'prefix', 'location', 'scheme' and an "
                      "argument");
        return;
    }
    add_rule(ps, &ps->cur->redirects, argc, argv);
}

/* The header-rewriting keywords HAProxy 2.1 removed, refused with 2.6's advice. */
void sp__cfg_kw_pre21(struct sp__cfg_parser *ps, int argc, char **argv)
{
    static const struct {
        const char *kw, *use;
    } map[] = {
        {"reqadd", "Use 'http-request add-header' instead."},
        {"reqdel", "Use 'http-request del-header' instead."},
        {"reqidel", "Use 'http-request del-header' instead."},
        {"reqrep", "Use 'http-request replace-path', 'http-request replace-uri' or "
                   "'http-request replace-header' instead."},
        {"reqirep", "Use 'http-request replace-path', 'http-request replace-uri' or "
                    "'http-request replace-header' instead."},
        {"reqdeny", "Use 'http-request deny' instead."},
        {"reqideny", "Use 'http-request deny' instead."},
        {"reqallow", "Use 'http-request allow' instead."},
        {"reqiallow", "Use 'http-request allow' instead."},
        {"reqpass", ""},
        {"reqipass", ""},
        {"reqtarpit", "Use 'http-request tarpit' instead."},
        {"reqitarpit", "Use 'http-request tarpit' instead."},
        {"rspadd", "Use 'http-response add-header' instead."},
        {"rspdel", "Use 'http-response del-header' instead."},
        {"rspidel", "Use 'http-response del-header' instead."},
        {"rsprep", "Use 'http-response replace-header' instead."},
        {"rspirep", "Use 'http-response replace-header' instead."},
        {"rspdeny", "Use 'http-response deny' instead."},
        {"rspideny", "Use 'http-response deny' instead."},
    };
    (void)argc;
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (!strcmp(argv[0], map[i].kw)) {
            sp__cfg_alert(ps, argv[0],
                          "The '%s' directive is not supported anymore since HAProxy 2.1.%s%s",
                          argv[0], map[i].use[0] ? " " : "", map[i].use);
            return;
        }
}

/* The words from `from` on joined by single spaces (HAProxy's way for a text argument). */
static char *join_words(struct sp__cfg_parser *ps, int argc, char **argv, int from)
{
    size_t n = 1;
    char *t, *p;

    for (int i = from; i < argc; i++)
        n += strlen(argv[i]) + 1;
    t = p = sp__cfg_xcalloc(ps, n);
    for (int i = from; t && i < argc; i++)
        p += sprintf(p, "%s%s", i > from ? " " : "", argv[i]);
    return t;
}

/* description TEXT (a proxy's, or the global one in `global`) */
void sp__cfg_kw_description(struct sp__cfg_parser *ps, int argc, char **argv)
{
    char **dst =
        ps->sec == SP__CFG_SEC_GLOBAL ? &ps->cfg->global.description : &ps->cur->description;

    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "expects a string argument");
        return;
    }
    free(*dst);
    *dst = join_words(ps, argc, argv, 1);
}

/* disabled | enabled: a disabled proxy is checked, shown as STOP in the statistics, and does
 * not start: no listener, no traffic, no health check */
void sp__cfg_kw_disabled(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (sp__cfg_nargs_ok(ps, argv[0], argc, 1, 0, 0))
        ps->cur->disabled = argv[0][0] == 'd';
}

/* monitor-uri URI: answered 200 by spillway itself (or 503 under `monitor fail`), not logged */
void sp__cfg_kw_monitor_uri(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (!sp__cfg_nargs_ok(ps, argv[0], argc, 1, 1, 1))
        return;
    if (!*argv[1]) {
        sp__cfg_alert(ps, argv[0], "expects an URI");
        return;
    }
    if (!sp__cfg_need_cap(ps, argv[0], SP_CAP_FE))
        return;
    free(ps->cur->monitor_uri);
    ps->cur->monitor_uri = sp__cfg_xstrdup(ps, argv[1]);
}

/* `unique-id-format FMT` (an empty one clears it) and `unique-id-header NAME` (frontend,
 * listen, defaults); http/uniqueid.c compiles the format */
void sp__cfg_kw_unique_id(struct sp__cfg_parser *ps, int argc, char **argv)
{
    bool hdr = strcmp(argv[0], "unique-id-header") == 0;
    char **dst = hdr ? &ps->cur->unique_id_header : &ps->cur->unique_id_format;

    if (argc != 2) {
        sp__cfg_alert(ps, argv[0], "expects exactly 1 argument (%s)",
                      hdr ? "a header name" : "a log-format string");
        return;
    }
    if (hdr && !*argv[1]) {
        sp__cfg_alert(ps, argv[0], "expects a header name");
        return;
    }
    free(*dst);
    *dst = *argv[1] ? sp__cfg_xstrdup(ps, argv[1]) : NULL;
    if (!hdr)
        ps->cur->uid_where = sp__cfg_here(ps);
}

/* monitor fail if|unless COND */
void sp__cfg_kw_monitor(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc < 2 || strcmp(argv[1], "fail") != 0) {
        sp__cfg_alert(ps, argv[0], "expects 'fail'");
        return;
    }
    if (argc < 4 || (strcmp(argv[2], "if") && strcmp(argv[2], "unless"))) {
        sp__cfg_alert(ps, "monitor fail", "expects 'if' or 'unless' followed by a condition");
        return;
    }
    add_rule(ps, &ps->cur->monitor_fail, argc - 1, argv + 1);
}
