/* core/cfgresolvers.c - the `resolvers` section (HAProxy 2.6, configuration.txt 5.3.2), the
 * end-of-file check that every server's `resolvers` names one, and the server state file's
 * keywords (`server-state-file`, `server-state-base`, `load-server-state-from-file`,
 * `server-state-file-name`; balance/srvstate.c applies the file). owner: main (the loader).
 * What spillway does not implement (`do-resolve`'s knobs, the `resolution_pool_size`-era
 * keywords) is refused with "not supported by spillway". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-int.h"
#include "core/config.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* `parse-resolv-conf`: the nameservers of /etc/resolv.conf, on port 53 */
static void resolv_conf(struct sp__cfg_parser *ps, struct sp_cfg_resolvers *r, const char *kw)
{
    FILE *f = fopen("/etc/resolv.conf", "r");
    char line[512];

    if (!f) {
        sp__cfg_alert(ps, kw, "failed to open /etc/resolv.conf: %s", strerror(errno));
        return;
    }
    while (fgets(line, sizeof(line), f)) {
        char addr[300], word[32];
        if (sscanf(line, "%31s %255s", word, addr) != 2 || strcmp(word, "nameserver") != 0)
            continue;
        if (r->nns >= SP_CFG_MAX_NAMESERVERS) {
            sp__cfg_warn(ps, kw, "more than %d nameservers: the others are ignored",
                         SP_CFG_MAX_NAMESERVERS);
            break;
        }
        char buf[320];
        snprintf(buf, sizeof(buf), strchr(addr, ':') ? "[%s]:53" : "%s:53", addr);
        if (sp_parse_addr(buf, false, &r->ns[r->nns], &r->nslen[r->nns]) == 0)
            r->nns++;
    }
    fclose(f);
}

void sp__cfg_resolvers_start(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_resolvers *r, **tail;

    ps->res = NULL;
    if (argc != 2 || !sp__cfg_valid_name(argv[1])) {
        sp__cfg_alert(ps, argv[0], "expects exactly one NAME (letters, digits, '-', '_', '.')");
        return;
    }
    for (tail = &ps->cfg->resolvers; *tail; tail = &(*tail)->next) {
        if (strcmp((*tail)->name, argv[1]) == 0) {
            sp__cfg_alert(ps, argv[0], "resolvers '%s' already declared at %s:%d", argv[1],
                          (*tail)->where.file, (*tail)->where.line);
            return;
        }
    }
    r = sp__cfg_xcalloc(ps, sizeof(*r));
    if (!r)
        return;
    r->name = sp__cfg_xstrdup(ps, argv[1]);
    if (!r->name) {
        free(r);
        return;
    }
    r->where = sp__cfg_here(ps);
    r->resolve_retries = 3;
    r->timeout_resolve = 1000;
    r->timeout_retry = 1000;
    r->hold_valid = r->hold_nx = r->hold_other = r->hold_refused = r->hold_timeout = 30000;
    r->hold_valid = 10000;
    r->hold_obsolete = 0;
    r->accepted_payload_size = 512;
    *tail = r;
    ps->res = r;
}

void sp__cfg_resolvers_line(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_resolvers *r = ps->res;
    const char *kw = argv[0];

    if (!r)
        return; /* the section line was wrong: reported there */
    if (strcmp(kw, "nameserver") == 0) {
        if (argc != 3) {
            sp__cfg_alert(ps, kw, "expects ID ADDR:PORT");
            return;
        }
        if (r->nns >= SP_CFG_MAX_NAMESERVERS) {
            sp__cfg_alert(ps, kw, "at most %d nameservers", SP_CFG_MAX_NAMESERVERS);
            return;
        }
        bool tcp = strncmp(argv[2], "tcp@", 4) == 0;
        const char *a = tcp || strncmp(argv[2], "udp@", 4) == 0 ? argv[2] + 4 : argv[2];
        if (sp_parse_addr(a, false, &r->ns[r->nns], &r->nslen[r->nns]) < 0 ||
            r->ns[r->nns].ss_family == AF_UNIX) {
            sp__cfg_alert(ps, kw, "invalid address '%s' (expects IPv4 or IPv6 ADDR:PORT)", argv[2]);
            return;
        }
        r->ns_tcp[r->nns++] = tcp;
    } else if (strcmp(kw, "parse-resolv-conf") == 0) {
        if (sp__cfg_nargs_ok(ps, kw, argc, 1, 0, 0))
            resolv_conf(ps, r, kw);
    } else if (strcmp(kw, "resolve_retries") == 0) {
        if (sp__cfg_nargs_ok(ps, kw, argc, 1, 1, 1))
            sp__cfg_get_int(ps, kw, "'resolve_retries'", argv[1], 1, 1000, &r->resolve_retries);
    } else if (strcmp(kw, "accepted_payload_size") == 0) {
        if (sp__cfg_nargs_ok(ps, kw, argc, 1, 1, 1))
            sp__cfg_get_int(ps, kw, "'accepted_payload_size'", argv[1], 512, 65535,
                            &r->accepted_payload_size);
    } else if (strcmp(kw, "timeout") == 0 || strcmp(kw, "hold") == 0) {
        static const char *const holds[] = {"valid", "nx",      "obsolete",
                                            "other", "refused", "timeout"};
        int64_t *hdst[] = {&r->hold_valid, &r->hold_nx,      &r->hold_obsolete,
                           &r->hold_other, &r->hold_refused, &r->hold_timeout};
        int64_t *dst = NULL, ms;
        if (argc != 3) {
            sp__cfg_alert(ps, kw, "expects %s",
                          kw[0] == 't' ? "resolve|retry TIME"
                                       : "valid|nx|obsolete|other|refused|"
                                         "timeout TIME");
            return;
        }
        if (kw[0] == 't') {
            if (strcmp(argv[1], "resolve") == 0)
                dst = &r->timeout_resolve;
            else if (strcmp(argv[1], "retry") == 0)
                dst = &r->timeout_retry;
        } else {
            for (size_t i = 0; i < ARRAY_SIZE(holds); i++)
                if (strcmp(argv[1], holds[i]) == 0)
                    dst = hdst[i];
        }
        if (!dst) {
            sp__cfg_alert(ps, kw, "'%s %s' not supported by spillway", kw, argv[1]);
            return;
        }
        if (sp__cfg_get_time(ps, kw, argv[1], argv[2], &ms)) {
            if (ms == 0 && kw[0] == 't')
                sp__cfg_alert(ps, kw, "'%s %s' expects a delay above zero", kw, argv[1]);
            else
                *dst = ms;
        }
    } else if (strcmp(kw, "resolution_pool_size") == 0) {
        sp__cfg_warn(ps, kw, "obsolete keyword, ignored (as HAProxy 2.6)");
    } else {
        sp__cfg_alert(ps, kw, "'%s' in a resolvers section not supported by spillway", kw);
    }
}

/* global `server-state-file FILE` / `server-state-base DIR`: once each, as HAProxy */
void sp__cfg_kw_server_state_file(struct sp__cfg_parser *ps, int argc, char **argv)
{
    bool base = strcmp(argv[0], "server-state-base") == 0;
    char *dst = base ? ps->cfg->global.server_state_base : ps->cfg->global.server_state_file;
    size_t size = base ? sizeof(ps->cfg->global.server_state_base)
                       : sizeof(ps->cfg->global.server_state_file);

    if (dst[0]) {
        sp__cfg_alert(ps, argv[0], "'%s' already specified", argv[0]);
        return;
    }
    if (argc != 2 || !argv[1][0]) {
        sp__cfg_alert(ps, argv[0], "'%s' expects one argument: a %s path", argv[0],
                      base ? "directory" : "file");
        return;
    }
    if (strlen(argv[1]) >= size) {
        sp__cfg_alert(ps, argv[0], "path too long");
        return;
    }
    snprintf(dst, size, "%s", argv[1]);
}

/* `load-server-state-from-file global|local|none` */
void sp__cfg_kw_load_server_state(struct sp__cfg_parser *ps, int argc, char **argv)
{
    static const char *const modes[] = {"none", "global", "local"};

    if (argc != 2) {
        sp__cfg_alert(ps, argv[0], "'%s' expects 'global', 'local' or 'none'", argv[0]);
        return;
    }
    for (size_t i = 0; i < ARRAY_SIZE(modes); i++) {
        if (strcmp(argv[1], modes[i]) == 0) {
            ps->cur->srv_state_load = SP_CFG_SSF_NONE + (int)i;
            ps->cur->srv_state_where = sp__cfg_here(ps);
            return;
        }
    }
    sp__cfg_alert(ps, argv[0], "'%s' expects 'global', 'local' or 'none'. Got '%s'", argv[0],
                  argv[1]);
}

/* `server-state-file-name [NAME|use-backend-name]`: none or use-backend-name is the
 * backend's own name (kept as "", resolved per backend: from a defaults section it means
 * each backend's name) */
void sp__cfg_kw_server_state_file_name(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (argc > 2) {
        sp__cfg_alert(ps, argv[0], "'%s' expects at most one argument", argv[0]);
        return;
    }
    const char *name = argc == 2 && strcmp(argv[1], "use-backend-name") != 0 ? argv[1] : "";
    if (strlen(name) >= sizeof(ps->cur->srv_state_name)) {
        sp__cfg_alert(ps, argv[0], "file name too long");
        return;
    }
    snprintf(ps->cur->srv_state_name, sizeof(ps->cur->srv_state_name), "%s", name);
}

void sp__cfg_resolvers_check(struct sp__cfg_parser *ps)
{
    int line = ps->line;

    for (struct sp_cfg_proxy *px = ps->cfg->proxies; px; px = px->next) {
        if (px->srv_state_load == SP_CFG_SSF_GLOBAL && !ps->cfg->global.server_state_file[0] &&
            (px->cap & SP_CAP_BE)) {
            ps->line = px->srv_state_where.line;
            sp__cfg_warn(ps, "load-server-state-from-file",
                         "backend '%s' configured to load server state file from global section "
                         "'server-state-file' directive. Unfortunately, 'server-state-file' is "
                         "not set!",
                         px->name);
        }
    }

    for (struct sp_cfg_resolvers *r = ps->cfg->resolvers; r; r = r->next) {
        if (!r->nns) {
            ps->line = r->where.line;
            sp__cfg_alert(ps, "resolvers", "resolvers '%s' has no nameserver", r->name);
        }
    }
    for (struct sp_cfg_proxy *px = ps->cfg->proxies; px; px = px->next) {
        /* init-addr `last` with no other way to an address: without a state file to read,
         * it cannot start (HAProxy fails it at start; spillway knows now) */
        bool state =
            px->srv_state_load == SP_CFG_SSF_LOCAL ||
            (px->srv_state_load == SP_CFG_SSF_GLOBAL && ps->cfg->global.server_state_file[0]);
        for (struct sp_cfg_server *s = px->servers; s && !state; s = s->next) {
            if (!s->need_last)
                continue;
            ps->line = s->where.line;
            sp__cfg_alert(ps, s->tmpl ? "server-template" : "server",
                          "could not resolve address '%s' (init-addr: no state file to take "
                          "'last' from, no other method)",
                          s->addr_text);
        }
        for (struct sp_cfg_server *s = px->servers; s; s = s->next) {
            if (!s->resolvers[0] || sp_config_find_resolvers(ps->cfg, s->resolvers))
                continue;
            ps->line = s->where.line;
            sp__cfg_alert(ps, "server", "server '%s/%s': unable to find resolvers '%s'", px->name,
                          s->name, s->resolvers);
        }
    }
    ps->line = line;
}
