/* core/cfgstick.c - `stick-table` in frontend, backend and listen sections (issue 20).
 *
 * owner: main (the configuration loader). HAProxy 2.6 syntax:
 *   stick-table type {ip | ipv6 | integer | string [len N] | binary [len N]} size N
 *               [expire T] [nopurge] [peers NAME] [store DATA[,DATA...]]...
 * `peers` is refused (not supported by spillway); data types spillway does not keep
 * (gpc, gpt arrays, http_fail_*, glitch_*, server_key...) are refused by name. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/config-int.h"
#include "core/config.h"

static const char *const dt_names[SP_STK_NDT] = {
    [SP_STK_SERVER_ID] = "server_id",
    [SP_STK_GPT0] = "gpt0",
    [SP_STK_GPC0] = "gpc0",
    [SP_STK_GPC0_RATE] = "gpc0_rate",
    [SP_STK_CONN_CNT] = "conn_cnt",
    [SP_STK_CONN_RATE] = "conn_rate",
    [SP_STK_CONN_CUR] = "conn_cur",
    [SP_STK_SESS_CNT] = "sess_cnt",
    [SP_STK_SESS_RATE] = "sess_rate",
    [SP_STK_HTTP_REQ_CNT] = "http_req_cnt",
    [SP_STK_HTTP_REQ_RATE] = "http_req_rate",
    [SP_STK_HTTP_ERR_CNT] = "http_err_cnt",
    [SP_STK_HTTP_ERR_RATE] = "http_err_rate",
    [SP_STK_BYTES_IN_CNT] = "bytes_in_cnt",
    [SP_STK_BYTES_IN_RATE] = "bytes_in_rate",
    [SP_STK_BYTES_OUT_CNT] = "bytes_out_cnt",
    [SP_STK_BYTES_OUT_RATE] = "bytes_out_rate",
    [SP_STK_GPC1] = "gpc1",
    [SP_STK_GPC1_RATE] = "gpc1_rate",
};

const char *sp_stk_dt_name(int dt)
{
    return dt >= 0 && dt < SP_STK_NDT ? dt_names[dt] : NULL;
}

bool sp_stk_dt_is_rate(int dt)
{
    return dt == SP_STK_GPC0_RATE || dt == SP_STK_CONN_RATE || dt == SP_STK_SESS_RATE ||
           dt == SP_STK_HTTP_REQ_RATE || dt == SP_STK_HTTP_ERR_RATE || dt == SP_STK_BYTES_IN_RATE ||
           dt == SP_STK_BYTES_OUT_RATE || dt == SP_STK_GPC1_RATE;
}

int sp_stk_dt_find(const char *name, size_t len)
{
    for (int i = 0; i < SP_STK_NDT; i++)
        if (strlen(dt_names[i]) == len && !memcmp(dt_names[i], name, len))
            return i;
    return -1;
}

/* One DATA of a `store` list: NAME or NAME(PERIOD) for the rates. */
static bool store_one(struct sp__cfg_parser *ps, struct sp_cfg_stktable *st, const char *d,
                      size_t len)
{
    size_t n = strcspn(d, "(");
    char word[128];

    if (n > len)
        n = len;
    snprintf(word, sizeof(word), "%.*s", (int)len, d);
    int dt = sp_stk_dt_find(d, n);
    if (dt < 0) {
        static const char *const later[] = {
            "gpc",        "gpt",         "gpc_rate",   "http_fail_cnt", "http_fail_rate",
            "server_key", "server_name", "glitch_cnt", "glitch_rate"};
        char nm[64];
        snprintf(nm, sizeof(nm), "%.*s", (int)(n < 63 ? n : 63), d);
        if (sp__cfg_in_list(nm, later, sizeof(later) / sizeof(later[0])))
            sp__cfg_alert(ps, "stick-table", "store '%s': not supported by spillway", word);
        else
            sp__cfg_alert(ps, "stick-table", "store: unknown data type '%s'", word);
        return false;
    }
    if (sp_stk_dt_is_rate(dt)) {
        if (n >= len || d[len - 1] != ')' || len - n < 3) {
            sp__cfg_alert(ps, "stick-table",
                          "store '%s': expects a period in parentheses ('%s(10s)')", word,
                          dt_names[dt]);
            return false;
        }
        char per[64];
        int64_t ms;
        snprintf(per, sizeof(per), "%.*s", (int)(len - n - 2), d + n + 1);
        if (sp_parse_time_ms(per, &ms) < 0 || ms <= 0 || ms > (1LL << 30)) {
            sp__cfg_alert(ps, "stick-table", "store '%s': invalid period '%s'", word, per);
            return false;
        }
        st->period[dt] = (uint32_t)ms;
    } else if (n != len) {
        sp__cfg_alert(ps, "stick-table", "store '%s': '%s' takes no argument", word, dt_names[dt]);
        return false;
    }
    st->store |= 1u << dt;
    return true;
}

void sp__cfg_kw_stick_table(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_stktable st = {0};
    const char *kw = argv[0];
    bool have_type = false;

    if (ps->sec == SP__CFG_SEC_DEFAULTS) {
        sp__cfg_alert(ps, kw, "not allowed in a 'defaults' section");
        return;
    }
    if (ps->cur->stk.set) {
        sp__cfg_alert(ps, kw, "only one stick-table per proxy (one was declared at line %d)",
                      ps->cur->stk.where.line);
        return;
    }
    st.keylen = 32;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "type")) {
            if (!v) {
                sp__cfg_alert(ps, kw, "'type' expects ip, ipv6, integer, string or binary");
                return;
            }
            if (!strcmp(v, "ip") || !strcmp(v, "ipv4"))
                st.type = SP_STK_T_IP, st.keylen = 4;
            else if (!strcmp(v, "ipv6"))
                st.type = SP_STK_T_IPV6, st.keylen = 16;
            else if (!strcmp(v, "integer"))
                st.type = SP_STK_T_INT, st.keylen = 4;
            else if (!strcmp(v, "string"))
                st.type = SP_STK_T_STR;
            else if (!strcmp(v, "binary"))
                st.type = SP_STK_T_BIN;
            else {
                sp__cfg_alert(ps, kw,
                              "unknown type '%s' (expects ip, ipv6, integer, string or binary)", v);
                return;
            }
            have_type = true;
            i++;
            if ((st.type == SP_STK_T_STR || st.type == SP_STK_T_BIN) && i + 1 < argc &&
                !strcmp(argv[i + 1], "len")) {
                int len;
                if (!sp__cfg_get_int(ps, kw, "key length", i + 2 < argc ? argv[i + 2] : NULL, 1,
                                     1024, &len))
                    return;
                st.keylen = (unsigned)len;
                i += 2;
            }
        } else if (!strcmp(a, "size")) {
            uint64_t sz;
            if (!v || sp_parse_size(v, &sz) < 0 || sz == 0 || sz > (1ull << 28)) {
                sp__cfg_alert(ps, kw,
                              "'size' expects a number of entries (1 to 256m, k and m allowed)");
                return;
            }
            st.size = sz;
            i++;
        } else if (!strcmp(a, "expire")) {
            if (!v || sp_parse_time_ms(v, &st.expire) < 0 || st.expire < 0 ||
                st.expire > 0x7fffffff) {
                sp__cfg_alert(ps, kw, "'expire' expects a time (e.g. 30s)");
                return;
            }
            i++;
        } else if (!strcmp(a, "nopurge")) {
            st.nopurge = true;
        } else if (!strcmp(a, "peers")) {
            sp__cfg_alert(ps, kw,
                          "'peers': not supported by spillway (no 'peers' sections: tables are not "
                          "synchronised with other processes)");
            return;
        } else if (!strcmp(a, "store")) {
            if (!v) {
                sp__cfg_alert(ps, kw, "'store' expects a list of data types");
                return;
            }
            /* commas outside parentheses separate */
            const char *d = v;
            while (*d) {
                size_t len = 0;
                int depth = 0;
                while (d[len] && (depth || d[len] != ',')) {
                    depth += d[len] == '(' ? 1 : d[len] == ')' ? -1 : 0;
                    len++;
                }
                if (!store_one(ps, &st, d, len))
                    return;
                d += len + (d[len] == ',');
            }
            i++;
        } else if (!strcmp(a, "srvkey") || !strcmp(a, "write-to") || !strcmp(a, "recv-only")) {
            sp__cfg_alert(ps, kw, "'%s': not supported by spillway", a);
            return;
        } else {
            sp__cfg_alert(ps, kw, "unexpected '%s' (expects type, size, expire, nopurge or store)",
                          a);
            return;
        }
    }
    if (!have_type) {
        sp__cfg_alert(ps, kw, "missing 'type'");
        return;
    }
    if (!st.size) {
        sp__cfg_alert(ps, kw, "missing 'size'");
        return;
    }
    st.set = true;
    st.where = sp__cfg_here(ps);
    ps->cur->stk = st;
}

/* `stick on|match|store-request|store-response PATTERN [table T] [if|unless COND]`: kept as
 * words (from the kind on) for balance/ to compile. A frontend ignores it with HAProxy's
 * warning. */
void sp__cfg_kw_stick(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (ps->sec == SP__CFG_SEC_DEFAULTS) {
        sp__cfg_alert(ps, argv[0], "not allowed in a 'defaults' section");
        return;
    }
    if (argc < 2 || (strcmp(argv[1], "on") && strcmp(argv[1], "match") &&
                     strcmp(argv[1], "store-request") && strcmp(argv[1], "store-response"))) {
        sp__cfg_alert(ps, argv[0], "expects 'on', 'match', 'store-request' or 'store-response'");
        return;
    }
    if (argc < 3 || !strcmp(argv[2], "if") || !strcmp(argv[2], "unless")) {
        sp__cfg_alert(ps, argv[0], "'%s' expects a sample expression", argv[1]);
        return;
    }
    if (!sp__cfg_need_cap(ps, argv[0], SP_CAP_BE))
        return;
    struct sp_cfg_rule *r = sp__cfg_xcalloc(ps, sizeof(*r));
    if (!r)
        return;
    r->where = sp__cfg_here(ps);
    r->words = sp__cfg_xcalloc(ps, sizeof(char *) * (size_t)(argc - 1));
    for (int i = 1; r->words && i < argc; i++) {
        if (!(r->words[i - 1] = sp__cfg_xstrdup(ps, argv[i])))
            break;
        r->nwords++;
    }
    if (!r->words || r->nwords != argc - 1) {
        sp__cfg_rules_free(r);
        return;
    }
    struct sp_cfg_rule **list = &ps->cur->stick_rules;
    while (*list)
        list = &(*list)->next;
    *list = r;
}
