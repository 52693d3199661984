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

/* HAProxy 2.6's tcp-request actions spillway does not carry out: named, so that the error
 * says "not supported" rather than "unknown". */
/* clang-format off */
static const char *const tcp_actions_unsupported[] = {
    "capture", "do-resolve", "expect-netscaler-cip", "expect-proxy", "lua", "sc-inc-gpc",
    "sc-inc-gpc0", "sc-inc-gpc1", "sc-set-gpt", "sc-set-gpt0", "send-spoe-group", "set-dst",
    "set-dst-port", "set-log-level", "set-mark", "set-nice", "set-priority-class",
    "set-priority-offset", "set-src", "set-src-port", "set-tos", "set-var", "set-var-fmt",
    "silent-drop", "switch-mode", "track-sc0", "track-sc1", "track-sc2", "unset-var",
    "use-service", "attach-srv", "set-bandwidth-limit", "set-fc-mark", "set-fc-tos",
};
/* clang-format on */

/* `tcp-request inspect-delay T`, `tcp-request connection|content accept|reject [if|unless
 * COND]`: kept as words (ACTION and the condition) for balance/ to compile. Rules are the
 * frontend's: HAProxy's backend content rules and every other action are refused. Whether
 * the frontend is tcp is known only once its section is read (sp__cfg_check()). */
void sp__cfg_kw_tcp_request(struct sp__cfg_parser *ps, int argc, char **argv)
{
    char kw[64];

    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "expects 'inspect-delay', 'connection' or 'content'");
        return;
    }
    snprintf(kw, sizeof(kw), "tcp-request %s", argv[1]);
    if (strcmp(argv[1], "session") == 0) {
        sp__cfg_not_supported(ps, kw);
        return;
    }
    if (strcmp(argv[1], "inspect-delay") && strcmp(argv[1], "connection") &&
        strcmp(argv[1], "content")) {
        sp__cfg_alert(ps, argv[0], "expects 'inspect-delay', 'connection' or 'content' (got '%s')",
                      argv[1]);
        return;
    }
    if (ps->sec == SP__CFG_SEC_DEFAULTS) {
        sp__cfg_alert(ps, kw, "in a defaults section is not supported by spillway");
        return;
    }
    if (!(ps->cur->cap & SP_CAP_FE)) {
        if (strcmp(argv[1], "connection") == 0)
            sp__cfg_alert(ps, kw, "is not allowed because backend '%s' is not a frontend",
                          ps->cur->name);
        else
            sp__cfg_alert(ps, kw,
                          "in a backend section is not supported by spillway (only a "
                          "frontend's or a listen section's)");
        return;
    }
    if (strcmp(argv[1], "inspect-delay") == 0) {
        int64_t ms;
        if (!sp__cfg_nargs_ok(ps, kw, argc, 2, 1, 1) ||
            !sp__cfg_get_time(ps, kw, "delay", argv[2], &ms))
            return;
        if (ps->cur->inspect_delay != SP_TIME_UNSET) {
            sp__cfg_warn(ps, kw, "ignoring %s (was already defined) in %s '%s'", kw,
                         ps->sec == SP__CFG_SEC_LISTEN ? "listen" : "frontend", ps->cur->name);
            return;
        }
        ps->cur->inspect_delay = ms;
        return;
    }
    if (argc < 3) {
        sp__cfg_alert(ps, kw, "expects an action ('accept' or 'reject')");
        return;
    }
    if (strcmp(argv[2], "accept") && strcmp(argv[2], "reject")) {
        char action[64];
        /* set-var(NAME), sc-inc-gpc(IDX,SC)...: the action is the word before '(' */
        snprintf(action, sizeof(action), "%.*s", (int)strcspn(argv[2], "("), argv[2]);
        if (sp__cfg_in_list(action, tcp_actions_unsupported,
                            SP_ARRAY_SIZE(tcp_actions_unsupported)) ||
            !strncmp(action, "sc-", 3) || !strncmp(action, "track-sc", 8)) {
            char full[128];
            snprintf(full, sizeof(full), "%s %s", kw, argv[2]);
            sp__cfg_not_supported(ps, full);
        } else {
            sp__cfg_alert(ps, kw, "unknown action '%s' (expects 'accept' or 'reject')", argv[2]);
        }
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
    add_rule(ps,
             strcmp(argv[1], "connection") == 0 ? &ps->cur->tcp_conn_rules
                                                : &ps->cur->tcp_content_rules,
             argc - 1, argv + 1);
}

/* global `stats socket PATH [mode M] [level L]` and proxy `stats enable|uri|refresh|auth` */
void sp__cfg_kw_stats(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "expects a sub-keyword");
        return;
    }
    if (ps->sec == SP__CFG_SEC_GLOBAL) {
        struct sp_cfg_global *g = &ps->cfg->global;
        if (strcmp(argv[1], "socket")) {
            sp__cfg_alert(ps, argv[0], "'stats %s' is not supported by spillway yet", argv[1]);
            return;
        }
        if (argc < 3 || argv[2][0] == 0) {
            sp__cfg_alert(ps, argv[0], "'stats socket' expects a path");
            return;
        }
        const char *path = argv[2];
        if (!strncmp(path, "unix@", 5))
            path += 5;
        if (path[0] != '/' || strlen(path) >= 100) {
            sp__cfg_alert(ps, argv[0],
                          "'stats socket' expects an absolute path of less than 100 bytes");
            return;
        }
        for (int i = 3; i < argc; i += 2) {
            if (i + 1 >= argc) {
                sp__cfg_alert(ps, argv[0], "'%s' expects a value", argv[i]);
                return;
            }
            if (!strcmp(argv[i], "mode")) {
                char *end;
                long m = strtol(argv[i + 1], &end, 8);
                if (*end || m < 0 || m > 0777) {
                    sp__cfg_alert(ps, argv[0], "bad mode '%s' (octal expected)", argv[i + 1]);
                    return;
                }
                g->stats_socket_mode = (int)m;
            } else if (!strcmp(argv[i], "level")) {
                if (strcmp(argv[i + 1], "user") && strcmp(argv[i + 1], "operator") &&
                    strcmp(argv[i + 1], "admin")) {
                    sp__cfg_alert(ps, argv[0], "level must be user, operator or admin, not '%s'",
                                  argv[i + 1]);
                    return;
                }
                free(g->stats_socket_level);
                g->stats_socket_level = sp__cfg_xstrdup(ps, argv[i + 1]);
            } else {
                sp__cfg_alert(ps, argv[0],
                              "'stats socket' option '%s' is not supported by spillway yet",
                              argv[i]);
                return;
            }
        }
        free(g->stats_socket);
        g->stats_socket = sp__cfg_xstrdup(ps, path);
        return;
    }
    struct sp_cfg_proxy *px = ps->cur;
    if (!strcmp(argv[1], "enable") && argc == 2) {
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
    } else if (!strcmp(argv[1], "enable") || !strcmp(argv[1], "uri") ||
               !strcmp(argv[1], "refresh") || !strcmp(argv[1], "auth")) {
        sp__cfg_alert(ps, argv[0], "wrong number of arguments to 'stats %s'", argv[1]);
    } else {
        sp__cfg_alert(ps, argv[0], "'stats %s' is not supported by spillway yet", argv[1]);
    }
}

/* only `http-request use-service prometheus-exporter [if|unless COND]` for now */
void sp__cfg_kw_http_request(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "expects an action");
        return;
    }
    if (strcmp(argv[1], "use-service")) {
        sp__cfg_alert(ps, argv[0], "action '%s' is not supported by spillway yet", argv[1]);
        return;
    }
    if (argc < 3 || strcmp(argv[2], "prometheus-exporter")) {
        sp__cfg_alert(ps, argv[0], "'use-service' supports 'prometheus-exporter' only");
        return;
    }
    if (ps->sec == SP__CFG_SEC_DEFAULTS) {
        sp__cfg_alert(ps, argv[0], "not supported in a defaults section by spillway yet");
        return;
    }
    if (!sp__cfg_need_cap(ps, argv[0], SP_CAP_FE))
        return;
    if (argc > 3 && strcmp(argv[3], "if") && strcmp(argv[3], "unless")) {
        sp__cfg_alert(ps, argv[0], "expects 'if' or 'unless' after the service, not '%s'", argv[3]);
        return;
    }
    ps->cur->prometheus = true;
    sp__cfg_rules_free(ps->cur->prometheus_cond);
    ps->cur->prometheus_cond = NULL;
    if (argc > 3)
        add_rule(ps, &ps->cur->prometheus_cond, argc - 2, argv + 2);
}
