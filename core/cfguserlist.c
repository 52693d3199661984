/* core/cfguserlist.c - the `userlist` section (HAProxy 2.6, configuration.txt 3.4):
 * `group NAME [users U,...]` and `user NAME [password HASH | insecure-password PASS]
 * [groups G,...]`, and the end-of-file check that every group a line names exists.
 * owner: main (the loader). balance/userlist.c compiles the sections for the request path.
 *
 * As HAProxy 2.6 does: a duplicated userlist, group or user is ignored with a warning; a hash
 * that crypt(3) cannot use is an error (checked by hashing the empty string with it once). */
#include <crypt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-int.h"
#include "core/config.h"

void sp__cfg_userlist_start(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_userlist *ul, **tail;

    ps->ul = NULL;
    if (argc != 2 || !sp__cfg_valid_name(argv[1])) {
        sp__cfg_alert(ps, argv[0], "expects exactly one NAME (letters, digits, '-', '_', '.')");
        return;
    }
    for (tail = &ps->cfg->userlists; *tail; tail = &(*tail)->next) {
        if (strcmp((*tail)->name, argv[1]) == 0) {
            sp__cfg_warn(ps, argv[0], "ignoring duplicated userlist '%s' (first at %s:%d)", argv[1],
                         (*tail)->where.file, (*tail)->where.line);
            return;
        }
    }
    ul = sp__cfg_xcalloc(ps, sizeof(*ul));
    if (!ul)
        return;
    ul->name = sp__cfg_xstrdup(ps, argv[1]);
    ul->where = sp__cfg_here(ps);
    if (!ul->name) {
        free(ul);
        return;
    }
    *tail = ul;
    ps->ul = ul;
}

/* Whether crypt(3) accepts `hash` as a setting: libxcrypt's crypt_checksalt(), then
 * HAProxy's crypt("", hash) check (a bad setting gives NULL or a failure token starting with
 * '*'). crypt_checksalt() also keeps libcrypt linked under AddressSanitizer, which intercepts
 * crypt_r and would otherwise let --as-needed drop the library it forwards to. */
static bool hash_usable(const char *hash)
{
    struct crypt_data *cd;
    bool ok = false;

    if (crypt_checksalt(hash) == CRYPT_SALT_INVALID)
        return false;
    cd = calloc(1, sizeof(*cd));
    if (!cd)
        return true; /* cannot tell: the first login attempt will */
    const char *r = crypt_r("", hash, cd);
    ok = r && r[0] != '*';
    free(cd);
    return ok;
}

/* The most a hash may cost: each check runs on a worker (one crypt_r() per http_auth
 * evaluation, as in HAProxy), so a setting whose one check takes seconds would stall every
 * connection of that worker. bcrypt ($2a$/$2b$/$2x$/$2y$) costs above 14 (2^14 rounds, about a
 * second) and SHA-crypt ($5$/$6$) rounds above 1,000,000 are refused; other methods are taken
 * as they come. Returns 0, or the cost found when it is over its bound. */
static long hash_cost_over(const char *hash)
{
    if (hash[0] == '$' && hash[1] == '2' && hash[2] && hash[3] == '$') {
        long cost = strtol(hash + 4, NULL, 10);
        return cost > 14 ? cost : 0;
    }
    if (hash[0] == '$' && (hash[1] == '5' || hash[1] == '6') && hash[2] == '$' &&
        !strncmp(hash + 3, "rounds=", 7)) {
        long rounds = strtol(hash + 10, NULL, 10);
        return rounds > 1000000 ? rounds : 0;
    }
    return 0;
}

static void group_line(struct sp__cfg_parser *ps, struct sp_cfg_userlist *ul, int argc, char **argv)
{
    struct sp_cfg_ul_group *g, **tail;

    if (argc < 2 || !sp__cfg_valid_name(argv[1])) {
        sp__cfg_alert(ps, argv[0], "expects <name> (letters, digits, '-', '_', '.')");
        return;
    }
    const char *users = NULL;
    for (int i = 2; i < argc; i += 2) {
        if (strcmp(argv[i], "users") != 0 || i + 1 >= argc) {
            sp__cfg_alert(ps, argv[0], "'%s' only supports 'users' option (followed by a list)",
                          argv[0]);
            return;
        }
        users = argv[i + 1];
    }
    if (!ul)
        return;
    for (tail = &ul->groups; *tail; tail = &(*tail)->next) {
        if (strcmp((*tail)->name, argv[1]) == 0) {
            sp__cfg_warn(ps, argv[0], "ignoring duplicated group '%s' in userlist '%s'", argv[1],
                         ul->name);
            return;
        }
    }
    g = sp__cfg_xcalloc(ps, sizeof(*g));
    if (!g)
        return;
    g->name = sp__cfg_xstrdup(ps, argv[1]);
    g->users = users ? sp__cfg_xstrdup(ps, users) : NULL;
    g->where = sp__cfg_here(ps);
    *tail = g;
}

static void user_line(struct sp__cfg_parser *ps, struct sp_cfg_userlist *ul, int argc, char **argv)
{
    struct sp_cfg_ul_user *u, **tail;
    const char *pass = NULL, *groups = NULL;
    bool insecure = false;

    if (argc < 2 || !argv[1][0]) {
        sp__cfg_alert(ps, argv[0], "expects <name> as arguments");
        return;
    }
    for (int i = 2; i < argc; i += 2) {
        bool p = strcmp(argv[i], "password") == 0, ip = strcmp(argv[i], "insecure-password") == 0;
        if ((!p && !ip && strcmp(argv[i], "groups") != 0) || i + 1 >= argc) {
            sp__cfg_alert(ps, argv[0],
                          "'%s' only supports 'password', 'insecure-password' and 'groups' "
                          "options, each followed by a value",
                          argv[0]);
            return;
        }
        long cost = p ? hash_cost_over(argv[i + 1]) : 0;
        if (cost) {
            sp__cfg_alert(ps, argv[0],
                          "the password hash of user '%s' costs %ld (bcrypt above 14 or "
                          "SHA-crypt above 1000000 rounds): not supported by spillway, whose "
                          "workers check it at each request",
                          argv[1], cost);
            return;
        }
        if (p && !hash_usable(argv[i + 1])) {
            sp__cfg_alert(ps, argv[0],
                          "the encrypted password used for user '%s' is not supported by "
                          "crypt(3)",
                          argv[1]);
            return;
        }
        if (p || ip) {
            pass = argv[i + 1];
            insecure = ip;
        } else {
            groups = argv[i + 1];
        }
    }
    if (!ul)
        return;
    for (tail = &ul->users; *tail; tail = &(*tail)->next) {
        if (strcmp((*tail)->name, argv[1]) == 0) {
            sp__cfg_warn(ps, argv[0], "ignoring duplicated user '%s' in userlist '%s'", argv[1],
                         ul->name);
            return;
        }
    }
    u = sp__cfg_xcalloc(ps, sizeof(*u));
    if (!u)
        return;
    u->name = sp__cfg_xstrdup(ps, argv[1]);
    u->pass = pass ? sp__cfg_xstrdup(ps, pass) : NULL;
    u->insecure = insecure;
    u->groups = groups ? sp__cfg_xstrdup(ps, groups) : NULL;
    u->where = sp__cfg_here(ps);
    *tail = u;
}

void sp__cfg_userlist_line(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (strcmp(argv[0], "group") == 0)
        group_line(ps, ps->ul, argc, argv);
    else if (strcmp(argv[0], "user") == 0)
        user_line(ps, ps->ul, argc, argv);
    else
        sp__cfg_alert(ps, argv[0], "unknown keyword '%s' in 'userlist' section", argv[0]);
}

/* Whether `name` is one of the comma-separated words of `list`. */
static bool in_list(const char *list, const char *name, size_t len)
{
    for (const char *p = list; p && *p;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        if (n == len && memcmp(p, name, n) == 0)
            return true;
        p = c ? c + 1 : NULL;
    }
    return false;
}

static void check_names(struct sp__cfg_parser *ps, const struct sp_cfg_userlist *ul,
                        const char *list, bool groups, const char *owner,
                        const struct sp_cfg_where *w)
{
    for (const char *p = list; p && *p;) {
        const char *c = strchr(p, ',');
        size_t n = c ? (size_t)(c - p) : strlen(p);
        bool found = false;
        if (groups) {
            for (const struct sp_cfg_ul_group *g = ul->groups; g && !found; g = g->next)
                found = strlen(g->name) == n && memcmp(g->name, p, n) == 0;
        } else {
            for (const struct sp_cfg_ul_user *u = ul->users; u && !found; u = u->next)
                found = strlen(u->name) == n && memcmp(u->name, p, n) == 0;
        }
        if (!found) {
            int save = ps->line;
            ps->line = w->line;
            sp__cfg_alert(ps, groups ? "user" : "group",
                          "userlist '%s': no such %s '%.*s' specified in %s '%s'", ul->name,
                          groups ? "group" : "user", (int)n, p, groups ? "user" : "group", owner);
            ps->line = save;
        }
        p = c ? c + 1 : NULL;
    }
}

void sp__cfg_userlist_check(struct sp__cfg_parser *ps)
{
    for (const struct sp_cfg_userlist *ul = ps->cfg->userlists; ul; ul = ul->next) {
        for (const struct sp_cfg_ul_user *u = ul->users; u; u = u->next)
            check_names(ps, ul, u->groups, true, u->name, &u->where);
        for (const struct sp_cfg_ul_group *g = ul->groups; g; g = g->next)
            check_names(ps, ul, g->users, false, g->name, &g->where);
    }
}

/* Whether user `u` of `ul` is in group `g`: named by the user's `groups` or the group's
 * `users` (HAProxy merges both). */
bool sp_cfg_ul_member(const struct sp_cfg_ul_user *u, const struct sp_cfg_ul_group *g)
{
    return in_list(u->groups, g->name, strlen(g->name)) ||
           in_list(g->users, u->name, strlen(u->name));
}

const struct sp_cfg_userlist *sp_config_find_userlist(const struct sp_config *cfg, const char *name)
{
    for (const struct sp_cfg_userlist *ul = cfg ? cfg->userlists : NULL; ul; ul = ul->next)
        if (strcmp(ul->name, name) == 0)
            return ul;
    return NULL;
}

void sp__cfg_userlists_free(struct sp_config *cfg)
{
    for (struct sp_cfg_userlist *ul = cfg->userlists, *nul; ul; ul = nul) {
        nul = ul->next;
        for (struct sp_cfg_ul_user *u = ul->users, *n; u; u = n) {
            n = u->next;
            free(u->name);
            free(u->pass);
            free(u->groups);
            free(u);
        }
        for (struct sp_cfg_ul_group *g = ul->groups, *n; g; g = n) {
            n = g->next;
            free(g->name);
            free(g->users);
            free(g);
        }
        free(ul->name);
        free(ul);
    }
    cfg->userlists = NULL;
}
