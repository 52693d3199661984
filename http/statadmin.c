/* http/statadmin.c - the stats page's admin form (`stats admin if|unless COND`), HAProxy
 * 2.6's src/stats.c stats_process_http_post() and stats_send_http_redirect(): a POST to the
 * stats URI names a backend (`b=NAME` or `b=#ID`), an action and servers (`s=NAME`, as many
 * as checked), the action is applied to each server, and the answer is a 303 to the page with
 * `;st=CODE`, whose message the page then shows. A POST without the admin level is answered
 * the same way with `;st=DENY`.
 *
 * owner: the worker that got the request. Server states are changed through balance/health.h,
 * the functions the stats socket's `set server` uses: the server's shared health record,
 * written under its lock (never another worker's own state), then the change is logged and
 * the backend's record updated as the socket does.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/timer.h"
#include "core/util.h"
#include "http/http-int.h"

/* HAProxy's LINESIZE: a parameter (key=value) longer than this is invalid (ERRP) */
#define KEY_MAX 2048

static const char *const act_names[SP__STADM_NACT] = {
    [SP__STADM_READY] = "ready",   [SP__STADM_DRAIN] = "drain",
    [SP__STADM_MAINT] = "maint",   [SP__STADM_SHUTDOWN] = "shutdown",
    [SP__STADM_DHLTH] = "dhlth",   [SP__STADM_EHLTH] = "ehlth",
    [SP__STADM_HRUNN] = "hrunn",   [SP__STADM_HNOLB] = "hnolb",
    [SP__STADM_HDOWN] = "hdown",   [SP__STADM_DAGENT] = "dagent",
    [SP__STADM_EAGENT] = "eagent", [SP__STADM_ARUNN] = "arunn",
    [SP__STADM_ADOWN] = "adown",   [SP__STADM_DISABLE] = "disable",
    [SP__STADM_ENABLE] = "enable", [SP__STADM_STOP] = "stop",
    [SP__STADM_START] = "start",
};

/* HAProxy's url_decode(s, 1) in place: '+' is a space, %XX a byte; a bad escape fails (-1)
 * and leaves the string cut where it was met. */
static int form_decode(char *s)
{
    char *in = s, *out = s;

    for (; *in; in++) {
        if (*in == '+') {
            *out++ = ' ';
        } else if (*in == '%') {
            int hi = sp_hexval(in[1]), lo = hi < 0 ? -1 : sp_hexval(in[2]);
            if (lo < 0) {
                *out = '\0';
                return -1;
            }
            *out++ = (char)(hi << 4 | lo);
            in += 2;
        } else {
            *out++ = *in;
        }
    }
    *out = '\0';
    return (int)(out - s);
}

static int action_of(const char *v)
{
    for (int i = 1; i < SP__STADM_NACT; i++)
        if (!strcmp(v, act_names[i]))
            return i;
    return SP__STADM_NONE;
}

/* The parameters are read from the last to the first, as HAProxy does: the last `b` and the
 * last `action` of the body count, and the servers named before them are gone over again
 * once both are known. */
int sp__stats_admin_parse(const char *body, size_t len, const struct sp__stadm_ops *ops, void *ctx)
{
    const char *first = body, *cur = body + len, *next = body + len;
    const char *re_cur = NULL, *re_next = NULL;
    const void *be = NULL;
    int action = SP__STADM_NONE, total = 0, altered = 0;
    bool reprocess = false;
    char key[KEY_MAX];

    while (cur > first) {
        cur--;
        if (*cur != '&' && cur != first)
            continue;
        for (;;) {
            const char *k = cur == first ? cur : cur + 1;
            size_t klen = (size_t)(next - k);
            if (klen >= sizeof(key))
                return SP_STATS_ST_ERRP; /* HAProxy: "Invalid key parameter (too long)" */
            memcpy(key, k, klen);
            key[klen] = '\0'; /* a NUL in the body ends the key, as in HAProxy's copy */
            char *value = strchr(key, '=');
            if (value)
                *value++ = '\0';
            else
                value = key + strlen(key);
            if (form_decode(key) < 0 || form_decode(value) < 0)
                goto end; /* HAProxy stops there and reports what was done */
            if (!be && !strcmp(key, "b")) {
                if (!(be = ops->backend(ctx, value)))
                    return SP_STATS_ST_ERRP; /* unknown or ambiguous backend */
            } else if (!action && !strcmp(key, "action")) {
                if (!(action = action_of(value)))
                    return SP_STATS_ST_ERRP;
            } else if (!strcmp(key, "s")) {
                if (!be || !action) {
                    if (!reprocess) { /* gone over again once both are known */
                        re_cur = cur;
                        re_next = next;
                    }
                    reprocess = true;
                } else {
                    int r = ops->server(ctx, be, action, value);
                    if (r != 0)
                        total++;
                    if (r > 0)
                        altered++;
                }
            }
            if (reprocess && be && action) {
                cur = re_cur;
                next = re_next;
                reprocess = false;
                continue;
            }
            break;
        }
        next = cur;
    }
end:
    if (!total)
        return SP_STATS_ST_NONE;
    if (!altered)
        return SP_STATS_ST_ERRP;
    return altered == total ? SP_STATS_ST_DONE : SP_STATS_ST_PART;
}

/* ---- on the worker's routing snapshot ---- */

struct rt_ctx {
    const struct sp_routing *rt;
    uint64_t now_ms;
};

/* HAProxy's proxy_be_by_name(): "#ID" is a backend id, else a backend name. */
static const void *rt_backend(void *vctx, const char *name)
{
    const struct rt_ctx *x = vctx;

    if (*name == '#') {
        long id = strtol(name + 1, NULL, 10); /* atoi's reading: "#2x" is backend 2 */
        for (int i = 0; i < x->rt->nbe; i++)
            if (x->rt->be[i]->id == id)
                return x->rt->be[i];
        return NULL;
    }
    for (int i = 0; i < x->rt->nbe; i++)
        if (!strcmp(x->rt->be[i]->name, name))
            return x->rt->be[i];
    return NULL;
}

/* HAProxy's findserver(): NULL when none or several have the name. */
static struct sp_server *find_srv(const struct sp_backend *be, const char *name)
{
    struct sp_server *found = NULL;

    for (int i = 0; i < be->nsrv; i++) {
        if (strcmp(be->srv[i]->name, name))
            continue;
        if (found)
            return NULL;
        found = be->srv[i];
    }
    return found;
}

/* A change made from the page: logged as HAProxy logs it, the backend's record updated. */
static void changed(const struct sp_server *s, enum sp_srv_change ch, const char *why,
                    uint64_t now_ms)
{
    if (ch == SP_SRV_CH_NONE || ch == SP_SRV_CH_WEIGHT)
        return;
    sp_http_srv_change_log(s, ch, false, why);
    sp_http_be_changed(s->be, now_ms);
}

static int rt_server(void *vctx, const void *vbe, int action, const char *name)
{
    const struct rt_ctx *x = vctx;
    struct sp_server *s = find_srv(vbe, name);
    const char *web = "changed from Web interface";
    struct sp_srv_hstate st;
    int admin = -1;

    if (!s)
        return -1; /* counted, never changed: PART or ERRP */
    sp_srv_health_read(s->h, &st);
    switch (action) {
    case SP__STADM_READY:
        admin = 0;
        break;
    case SP__STADM_DRAIN:
        admin = SP_SRV_FDRAIN;
        break;
    case SP__STADM_MAINT:
        admin = SP_SRV_FMAINT;
        break;
    case SP__STADM_DISABLE: /* HAProxy's older words, still accepted */
        if (st.admin & SP_SRV_FMAINT)
            return 0;
        admin = SP_SRV_FMAINT;
        break;
    case SP__STADM_ENABLE:
        if (!(st.admin & SP_SRV_FMAINT))
            return 0;
        admin = 0;
        break;
    case SP__STADM_STOP:
        if (st.admin & SP_SRV_FDRAIN)
            return 0;
        admin = SP_SRV_FDRAIN;
        break;
    case SP__STADM_START:
        if (!(st.admin & SP_SRV_FDRAIN))
            return 0;
        admin = 0;
        break;
    case SP__STADM_DHLTH:
    case SP__STADM_EHLTH:
        /* a server without a check is left out of the count (HAProxy) */
        if (!(st.chk_state & SP_CHK_ST_CONFIGURED))
            return 0;
        sp_srv_set_check_enabled(s->h, action == SP__STADM_EHLTH);
        return 1;
    case SP__STADM_HRUNN:
        changed(s, sp_srv_set_op(s->h, SP_SRV_RUNNING, x->now_ms), web, x->now_ms);
        return 1;
    case SP__STADM_HNOLB:
        changed(s, sp_srv_set_op(s->h, SP_SRV_STOPPING, x->now_ms), web, x->now_ms);
        return 1;
    case SP__STADM_HDOWN:
        changed(s, sp_srv_set_op(s->h, SP_SRV_STOPPED, x->now_ms), web, x->now_ms);
        return 1;
    case SP__STADM_SHUTDOWN:
        /* not supported by spillway: no path ends a server's sessions on every worker (the
         * stats socket has no `shutdown sessions server` either); counted, never done, so
         * the page says "Action not processed" (ERRP) */
        return -1;
    default:
        /* the agent actions: spillway has no agent check, and HAProxy leaves a server
         * without one out of the count */
        return 0;
    }
    changed(s, sp_srv_set_admin(s->h, admin, x->now_ms), NULL, x->now_ms);
    return 1;
}

int sp__stats_admin_post(const struct sp_routing *rt, const char *body, size_t len, uint64_t now_ms)
{
    static const struct sp__stadm_ops ops = {.backend = rt_backend, .server = rt_server};
    struct rt_ctx x = {.rt = rt, .now_ms = now_ms};

    return sp__stats_admin_parse(body, len, &ops, &x);
}

/* HAProxy's stats_send_http_redirect(): to the page, with the result, by a GET. */
int sp__stats_admin_redirect(const char *uri, int st, char *buf, size_t size)
{
    int n = snprintf(buf, size,
                     "HTTP/1.1 303 See Other\r\nCache-Control: no-cache\r\nContent-Type: "
                     "text/plain\r\nContent-Length: 0\r\nLocation: %s;st=%s\r\n\r\n",
                     uri, sp_stats_st_name(st));
    return n > 0 && (size_t)n < size ? n : -1;
}

bool sp__stats_admin_answer(struct sp_txn *t)
{
    if (t->meth != SP_METH_POST ||
        (t->local != SP_LOCAL_STATS_HTML && t->local != SP_LOCAL_STATS_CSV))
        return false;
    int st = SP_STATS_ST_DENY;
    if (t->stats_admin) {
        const char *p;
        size_t n;
        /* incomplete: the buffer could not hold it all (HAProxy's EXCD) */
        st = sp__txn_req_body(t, &p, &n) ? sp__stats_admin_post(t->hw->rt, p, n, sp_now_ms())
                                         : SP_STATS_ST_EXCD;
    }
    const char *uri = t->fe->stats_uri ? t->fe->stats_uri : "/haproxy?stats";
    size_t size = strlen(uri) + 160;
    char *buf = malloc(size);
    int n = buf ? sp__stats_admin_redirect(uri, st, buf, size) : -1;
    if (n < 0) {
        free(buf);
        sp__txn_fail(t, 500, 'R', 'R');
        return true;
    }
    t->status = 303;
    sp__txn_reply(t, buf, (size_t)n, 'L', 'R');
    free(buf);
    return true;
}
