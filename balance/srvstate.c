/* balance/srvstate.c - see srvstate.h. owner: main, all of it. */
#include "balance/srvstate.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "balance/health.h"
#include "core/util.h"

#define NFIELDS_MIN  20 /* version 1: be_id .. srvrecord */
#define NFIELDS_MAX  25 /* .. srv_agent_port */
#define LINE_MAX_LEN 2048

/* fields of a version-1 line */
enum {
    F_BE_ID,
    F_BE_NAME,
    F_SRV_ID,
    F_SRV_NAME,
    F_ADDR,
    F_OP,
    F_ADMIN,
    F_UWEIGHT,
    F_IWEIGHT,
    F_LASTCHG,
    F_CHK_STATUS,
    F_CHK_RESULT,
    F_CHK_HEALTH,
    F_CHK_STATE,
    F_AGENT_STATE,
    F_BK_FORCED_ID,
    F_SRV_FORCED_ID,
    F_FQDN,
    F_PORT,
    F_SRVRECORD,
};

/* HAProxy's admin flags beyond spillway's own: inherited maintenance and drain, and the
 * "FQDN set from the stats socket" one; masked out of a saved line as HAProxy does */
#define ADMF_IMAINT     0x02
#define ADMF_IDRAIN     0x10
#define ADMF_HMAINT     0x40
#define CHK_ST_AGENT    0x10
#define CHK_STATUS_SIZE 26 /* HCHK_STATUS_SIZE in 2.6 */

struct line {
    char *buf; /* the fields, cut in place */
    char *f[NFIELDS_MAX];
    int nf;
    int lineno;
    bool used;
};

struct file {
    char path[PATH_MAX];
    struct line *lines;
    int nlines;
    bool ok; /* read, with a right version line and no corrupted line */
};

static void file_free(struct file *f)
{
    for (int i = 0; i < f->nlines; i++)
        free(f->lines[i].buf);
    free(f->lines);
    f->lines = NULL;
    f->nlines = 0;
}

/* HAProxy's srv_state_get_filepath(): absolute, or under server-state-base */
static bool file_path(const struct sp_config *cfg, const char *name, char *out, size_t size)
{
    const char *base = cfg->global.server_state_base;
    int n;

    if (name[0] == '/' || !base[0])
        n = snprintf(out, size, "%s", name);
    else
        n = snprintf(out, size, "%s%s%s", base, base[strlen(base) - 1] == '/' ? "" : "/", name);
    return n > 0 && (size_t)n < size;
}

/* Cuts a line into fields: 1, 0 for a blank or comment line, -1 when it is corrupted
 * (truncated, or a field count that is not version 1's). */
static int split(char *buf, struct line *ln)
{
    size_t len = strlen(buf);
    char *p = buf;

    if (!len || buf[len - 1] != '\n')
        return -1;
    buf[len - 1] = '\0';
    while (*p == ' ' || *p == '\t')
        p++;
    if (!*p || *p == '#')
        return 0;
    ln->nf = 0;
    while (*p && ln->nf < NFIELDS_MAX) {
        ln->f[ln->nf++] = p;
        p += strcspn(p, " \t");
        if (*p)
            *p++ = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
    }
    if (*p)
        return -1; /* more fields than version 1 has */
    return ln->nf >= NFIELDS_MIN ? 1 : -1;
}

/* Reads a state file. Warnings for what makes it unusable; f->ok says whether it is. */
static void file_load(struct file *f, const char *who, FILE *diag)
{
    FILE *in = fopen(f->path, "r");
    char buf[LINE_MAX_LEN];
    int lineno = 1, cap = 0;

    f->ok = false;
    if (!in) {
        fprintf(diag, "[WARNING] %sCan't open server state file '%s': %s\n", who, f->path,
                strerror(errno));
        return;
    }
    if (!fgets(buf, sizeof(buf), in) || strcmp(buf, "1\n") != 0) {
        fprintf(diag, "[WARNING] %sCan't get version of the server state file '%s'\n", who,
                f->path);
        fclose(in);
        return;
    }
    f->ok = true;
    while (fgets(buf, sizeof(buf), in)) {
        struct line ln = {.lineno = ++lineno};
        char *copy = strdup(buf);
        int r = copy ? split(copy, &ln) : -1;
        if (r <= 0)
            free(copy);
        if (r < 0) {
            fprintf(diag, "[WARNING] %s:%d: %scorrupted server state file%s: not applied\n",
                    f->path, lineno, who, copy ? "" : " (out of memory)");
            f->ok = false;
            break;
        }
        if (r == 0)
            continue;
        if (f->nlines == cap) {
            int ncap = cap ? cap * 2 : 16;
            struct line *nl = realloc(f->lines, (size_t)ncap * sizeof(*nl));
            if (!nl) {
                free(copy);
                f->ok = false;
                break;
            }
            f->lines = nl;
            cap = ncap;
        }
        ln.buf = copy;
        f->lines[f->nlines++] = ln;
    }
    fclose(in);
    if (!f->ok)
        file_free(f);
}

static bool get_long(const char *s, long min, long max, long *out)
{
    char *end;

    errno = 0;
    long v = strtol(s, &end, 10);
    if (end == s || *end || errno || v < min || v > max)
        return false;
    *out = v;
    return true;
}

static bool valid_fqdn(const char *s)
{
    size_t n = strlen(s);

    if (!n || n > 255)
        return false;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
              *s == '.' || *s == '-' || *s == '_'))
            return false;
    return true;
}

/* Sets the server's address from a saved one (init-addr `last`), with the saved port, else
 * the one it has. false when the text is no IP address. */
static bool apply_lastaddr(const struct sp_server *s, const char *ip, long port)
{
    struct sp_srv_hstate st;
    struct sockaddr_storage ss;
    socklen_t len;
    char spec[96];

    sp_srv_health_read(s->h, &st);
    if (port <= 0)
        port = st.addr.ss_family == AF_UNSPEC ? s->dns_port : sp_addr_port(&st.addr);
    snprintf(spec, sizeof(spec), strchr(ip, ':') ? "[%s]:%ld" : "%s:%ld", ip, port);
    if (sp_parse_addr(spec, false, &ss, &len) < 0 || ss.ss_family == AF_UNIX)
        return false;
    sp_srv_set_addr(s->h, &ss, (uint32_t)len);
    return true;
}

/* A new port on the address it has (the saved srv_port, HAProxy's svc_port) */
static void apply_port(const struct sp_server *s, long port)
{
    struct sp_srv_hstate st;

    sp_srv_health_read(s->h, &st);
    if (port <= 0 || s->port_from_dst || sp_addr_port(&st.addr) == port)
        return;
    if (st.addr.ss_family == AF_INET)
        ((struct sockaddr_in *)&st.addr)->sin_port = htons((uint16_t)port);
    else if (st.addr.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&st.addr)->sin6_port = htons((uint16_t)port);
    else
        return;
    sp_srv_set_addr(s->h, &st.addr, st.addrlen);
}

/* HAProxy's srv_state_srv_update() for one line; `*got_addr` set when init-addr `last`
 * gave the address. */
static void apply_line(const struct file *f, const struct line *ln, const struct sp_server *s,
                       const struct sp_cfg_server *cs, uint64_t now_ms, bool *got_addr, FILE *diag)
{
    char *const *p = ln->f;
    long op = 0, admin = 0, uw = 0, iw = 0, lastchg = 0, cstatus = 0, cresult = 0, chealth = 0,
         cstate = 0, astate = 0, bkf = 0, srvf = 0;
    long port = -1;
    char bad[160] = "";
    const char *fqdn = strcmp(p[F_FQDN], "-") ? p[F_FQDN] : NULL;
    const char *srvrec = p[F_SRVRECORD][0] == '_' ? p[F_SRVRECORD] : NULL;

#define CHECK(ok, name, idx)                                                                       \
    do {                                                                                           \
        if (!(ok) && !bad[0])                                                                      \
            snprintf(bad, sizeof(bad), ", invalid %s value '%s'", name, p[idx]);                   \
    } while (0)
    CHECK(get_long(p[F_OP], 0, 3, &op), "srv_op_state", F_OP);
    CHECK(get_long(p[F_ADMIN], 0, INT_MAX, &admin), "srv_admin_state", F_ADMIN);
    if (!bad[0]) {
        admin &= ~(ADMF_IDRAIN | ADMF_IMAINT | ADMF_HMAINT | SP_SRV_RMAINT);
        CHECK(admin == 0 || admin == SP_SRV_FMAINT || admin == SP_SRV_CMAINT ||
                  admin == (SP_SRV_CMAINT | SP_SRV_FMAINT) ||
                  admin == (SP_SRV_CMAINT | SP_SRV_FDRAIN) || admin == SP_SRV_FDRAIN,
              "srv_admin_state", F_ADMIN);
    }
    CHECK(get_long(p[F_UWEIGHT], 0, 256, &uw), "srv_uweight", F_UWEIGHT);
    CHECK(get_long(p[F_IWEIGHT], 0, 256, &iw), "srv_iweight", F_IWEIGHT);
    CHECK(get_long(p[F_LASTCHG], LONG_MIN, LONG_MAX, &lastchg), "srv_last_time_change", F_LASTCHG);
    CHECK(get_long(p[F_CHK_STATUS], 0, CHK_STATUS_SIZE - 1, &cstatus), "srv_check_status",
          F_CHK_STATUS);
    CHECK(get_long(p[F_CHK_RESULT], 0, 4, &cresult), "srv_check_result", F_CHK_RESULT);
    CHECK(get_long(p[F_CHK_HEALTH], INT_MIN, INT_MAX, &chealth), "srv_check_health", F_CHK_HEALTH);
    CHECK(get_long(p[F_CHK_STATE], 0, 0x1f, &cstate), "srv_check_state", F_CHK_STATE);
    CHECK(get_long(p[F_AGENT_STATE], 0, 0x1f, &astate), "srv_agent_state", F_AGENT_STATE);
    CHECK(get_long(p[F_BK_FORCED_ID], 0, 1, &bkf), "bk_f_forced_id", F_BK_FORCED_ID);
    CHECK(get_long(p[F_SRV_FORCED_ID], 0, 1, &srvf), "srv_f_forced_id", F_SRV_FORCED_ID);
    CHECK(!fqdn || valid_fqdn(fqdn), "srv_fqdn", F_FQDN);
    CHECK(get_long(p[F_PORT], 0, 65535, &port), "srv_port", F_PORT);
#undef CHECK
    if (bad[0]) {
        fprintf(diag, "[WARNING] %s:%d: server-state application failed for server '%s/%s'%s\n",
                f->path, ln->lineno, s->be->name, s->name, bad);
        return;
    }
    (void)lastchg;
    (void)cstatus;
    (void)cresult;
    (void)chealth;
    (void)astate;

    /* the address first (init-addr `last`, resolved servers only): a server that init-addr
     * none left in maintenance (resolution) comes out of it with the saved address */
    if (s->fqdn && cs->init_last && strcmp(p[F_ADDR], "-") != 0) {
        if (apply_lastaddr(s, p[F_ADDR], port)) {
            *got_addr = true;
            sp_srv_set_rmaint(s->h, false, now_ms);
        } else {
            fprintf(diag, "[WARNING] %s:%d: server '%s/%s': invalid srv_addr '%s', not applied\n",
                    f->path, ln->lineno, s->be->name, s->name, p[F_ADDR]);
        }
    } else {
        apply_port(s, port); /* HAProxy restores svc_port on every server */
    }

    /* the operational state */
    if (op == SP_SRV_STOPPED)
        sp_srv_set_op(s->h, SP_SRV_STOPPED, now_ms);
    else if (op == SP_SRV_STOPPING)
        sp_srv_set_op(s->h, SP_SRV_STOPPING, now_ms);
    else
        sp_srv_set_op(s->h, SP_SRV_RUNNING, now_ms); /* STARTING: no slowstart here */

    /* the administrative state: a change of `disabled` in the configuration wins */
    bool cmaint = cs->disabled;
    if (!!(admin & SP_SRV_CMAINT) == cmaint) {
        if ((admin & SP_SRV_FMAINT) && !cmaint)
            sp_srv_set_admin(s->h, SP_SRV_FMAINT, now_ms);
        else if (!(admin & SP_SRV_FMAINT) && cmaint)
            sp_srv_set_admin(s->h, 0, now_ms);
    }
    struct sp_srv_hstate st;
    sp_srv_health_read(s->h, &st);
    /* drain: kept unless it came from a configured weight of 0 that is no longer 0 */
    if (!(st.admin & SP_SRV_MAINT) && (admin & SP_SRV_FDRAIN) && (iw > 0 || cs->weight == 0))
        sp_srv_set_admin(s->h, SP_SRV_FDRAIN, now_ms);
    /* `disable health` */
    if ((st.chk_state & SP_CHK_ST_CONFIGURED) && (cstate & SP_CHK_ST_CONFIGURED) &&
        !(cstate & SP_CHK_ST_ENABLED))
        sp_srv_set_check_enabled(s->h, false);
    /* the weight, when the configured one did not change */
    if (iw == cs->weight)
        sp_srv_set_weight(s->h, (int)uw, now_ms);

    /* an SRV slot: its target, taken back by the resolver with the record */
    if (s->srv_target && fqdn && srvrec) {
        if (strcmp(srvrec, s->fqdn) != 0)
            fprintf(diag,
                    "[WARNING] %s:%d: server-state partially applied for server '%s/%s', SRV "
                    "record mismatch between configuration ('%s') and state file ('%s')\n",
                    f->path, ln->lineno, s->be->name, s->name, s->fqdn, srvrec);
        else
            snprintf(s->srv_target, 256, "%s", fqdn);
    }
}

/* The line of `lines` for backend `be` and server `srv` (the first one: HAProxy drops a
 * duplicate), NULL when none. */
static struct line *find_line(struct file *f, const char *be, const char *srv)
{
    for (int i = 0; i < f->nlines; i++)
        if (!strcmp(f->lines[i].f[F_BE_NAME], be) && !strcmp(f->lines[i].f[F_SRV_NAME], srv))
            return &f->lines[i];
    return NULL;
}

/* A backend's own file: its lines must name it, by name (an id mismatch only warns) or by
 * id alone (warned and skipped: spillway has no forced ids). Lines naming no server of it
 * are warned about. */
static void apply_local(const struct sp_config *cfg, const struct sp_cfg_proxy *px,
                        const struct sp_backend *be, uint64_t now_ms, bool *got, FILE *diag)
{
    struct file f = {.ok = false};
    char who[300];

    snprintf(who, sizeof(who), "Proxy '%s': ", be->name);
    if (!file_path(cfg, px->srv_state_name[0] ? px->srv_state_name : be->name, f.path,
                   sizeof(f.path))) {
        fprintf(diag, "[WARNING] %sCan't load local server state file: file too long\n", who);
        return;
    }
    file_load(&f, who, diag);
    for (int i = 0; i < f.nlines; i++) {
        struct line *ln = &f.lines[i];
        bool id_ok = atoi(ln->f[F_BE_ID]) == be->id, name_ok = !strcmp(ln->f[F_BE_NAME], be->name);
        if (!id_ok && !name_ok) {
            ln->used = true; /* another backend's line */
            continue;
        }
        if (!id_ok)
            fprintf(diag,
                    "[WARNING] %s:%d: Proxy '%s': backend ID mismatch: from server state file: "
                    "'%s', from running config '%d'\n",
                    f.path, ln->lineno, be->name, ln->f[F_BE_ID], be->id);
        if (!name_ok) {
            fprintf(diag,
                    "[WARNING] %s:%d: Proxy '%s': backend name mismatch: from server state "
                    "file: '%s', from running config '%s'\n",
                    f.path, ln->lineno, be->name, ln->f[F_BE_NAME], be->name);
            ln->used = true;
        }
    }
    const struct sp_cfg_server *cs = px->servers;
    for (int k = 0; k < be->nsrv && cs; k++, cs = cs->next) {
        const struct sp_server *s = be->srv[k];
        struct line *ln = NULL;
        for (int i = 0; i < f.nlines && !ln; i++)
            if (!f.lines[i].used && !strcmp(f.lines[i].f[F_SRV_NAME], s->name))
                ln = &f.lines[i];
        if (!ln)
            continue;
        for (int i = 0; i < f.nlines; i++) /* duplicates of it: dropped */
            if (!strcmp(f.lines[i].f[F_SRV_NAME], s->name))
                f.lines[i].used = true;
        apply_line(&f, ln, s, cs, now_ms, &got[s->idx], diag);
    }
    for (int i = 0; i < f.nlines; i++)
        if (!f.lines[i].used)
            fprintf(diag, "[WARNING] %s:%d: Proxy '%s': can't find server '%s' in backend '%s'\n",
                    f.path, f.lines[i].lineno, be->name, f.lines[i].f[F_SRV_NAME], be->name);
    file_free(&f);
}

int sp_srvstate_apply(const struct sp_config *cfg, struct sp_routing *routing, uint64_t now_ms,
                      FILE *diag)
{
    struct file global = {.ok = false};
    bool *got = calloc((size_t)routing->nsrv + 1, sizeof(*got));
    int errors = 0;

    if (!got) {
        fprintf(diag, "[ALERT] out of memory reading the server state file\n");
        return 1;
    }
    bool any = false;
    for (const struct sp_cfg_proxy *p = cfg->proxies; p && !any; p = p->next)
        any = p->srv_state_load == SP_CFG_SSF_GLOBAL || p->srv_state_load == SP_CFG_SSF_LOCAL;
    if (!any) { /* nothing to read, and init-addr `last` alone was refused at load */
        free(got);
        return 0;
    }
    if (cfg->global.server_state_file[0]) {
        if (file_path(cfg, cfg->global.server_state_file, global.path, sizeof(global.path)))
            file_load(&global, "", diag);
        else
            fprintf(diag, "[WARNING] config: Can't load global server state file: file too "
                          "long\n");
    }
    /* the snapshot's backends and servers are built in the configuration's order */
    const struct sp_cfg_proxy *px = cfg->proxies;
    for (int b = 0; b < routing->nbe; b++) {
        const struct sp_backend *be = routing->be[b];
        while (px && strcmp(px->name, be->name) != 0)
            px = px->next;
        if (!px)
            break;
        if (!be->nsrv || px->disabled)
            continue;
        if (px->srv_state_load == SP_CFG_SSF_LOCAL)
            apply_local(cfg, px, be, now_ms, got, diag);
        const struct sp_cfg_server *cs = px->servers;
        for (int k = 0; k < be->nsrv && cs; k++, cs = cs->next) {
            const struct sp_server *s = be->srv[k];
            struct line *ln = px->srv_state_load == SP_CFG_SSF_GLOBAL && global.ok
                                  ? find_line(&global, be->name, s->name)
                                  : NULL;
            if (ln)
                apply_line(&global, ln, s, cs, now_ms, &got[s->idx], diag);
            /* init-addr `last` alone: no saved address, no start (HAProxy's
             * srv_iterate_initaddr()) */
            if (cs->need_last && !got[s->idx]) {
                fprintf(diag,
                        "[ALERT] %s:%d: server '%s/%s': could not resolve address '%s' "
                        "(init-addr: no address in the server state file)\n",
                        cs->where.file, cs->where.line, s->be->name, s->name, cs->addr_text);
                errors++;
            }
        }
    }
    file_free(&global);
    for (int b = 0; b < routing->nbe; b++) {
        struct sp_backend *be = routing->be[b];
        sp_be_health_init(be->bh, sp_backend_usable(be, false) + sp_backend_usable(be, true),
                          now_ms);
    }
    free(got);
    return errors;
}
