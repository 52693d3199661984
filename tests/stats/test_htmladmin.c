/* tests/stats/test_htmladmin.c - the stats page with `stats admin` (stats/htmladmin.c through
 * sp_stats_html()): the checkbox column, one form per proxy with servers, the `;st=`
 * messages, and names escaped everywhere they appear. */
#include <stdio.h>
#include <string.h>

#include "stats/stats.h"
#include "tests/unit.h"

static unsigned count(const char *hay, const char *needle)
{
    unsigned n = 0;
    for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static void row(struct sp_stats_row *r, enum sp_stats_type type, const char *px, const char *sv,
                unsigned iid)
{
    memset(r, 0, sizeof(*r));
    r->type = type;
    r->pxname = px;
    r->svname = sv;
    r->iid = iid;
    r->pid = 1;
    r->status = type == SP_STATS_TYPE_FE ? "OPEN" : "UP";
}

static void test_admin_form(void)
{
    struct sp_stats_row rows[6];
    struct sp_strbuf b = {0};
    row(&rows[0], SP_STATS_TYPE_FE, "fe", NULL, 2); /* a frontend alone: no form */
    row(&rows[1], SP_STATS_TYPE_FE, "w<b>", NULL, 3);
    row(&rows[2], SP_STATS_TYPE_SRV, "w<b>", "s\"1", 3);
    row(&rows[3], SP_STATS_TYPE_SRV, "w<b>", "s2", 3);
    row(&rows[4], SP_STATS_TYPE_BE, "w<b>", NULL, 3);
    row(&rows[5], SP_STATS_TYPE_BE, "empty", NULL, 4); /* a backend without servers */

    struct sp_stats_html_opts o = {.uri = "/st", .admin = true, .st = SP_STATS_ST_DONE};
    CU_ASSERT_EQUAL(sp_stats_html(&b, &o, rows, 6), 0);
    const char *t = b.p;
    CU_ASSERT_PTR_NOT_NULL_FATAL(t);
    CU_ASSERT_EQUAL(count(t, "<form method=\"post\">"), 1);
    CU_ASSERT_EQUAL(count(t, "</form>"), 1);
    CU_ASSERT_EQUAL(count(t, "name=\"s\""), 2);
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "name=\"s\" value=\"s&quot;1\""));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "class=\"w&lt;b&gt;-checkbox\""));
    CU_ASSERT_PTR_NULL(strstr(t, "w<b>"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "<input type=\"hidden\" name=\"b\" value=\"#3\">"));
    CU_ASSERT_PTR_NOT_NULL(strstr(t, "<option value=\"maint\">Set state to MAINT</option>"));
    CU_ASSERT_PTR_NULL(strstr(t, "value=\"shutdown\"")); /* not supported: not offered */
    /* every row has the admin cell: an empty one for frontends and backends */
    CU_ASSERT_EQUAL(count(t, "<tr class=\"px\"><td></td>"), 4);
    /* the form comes after the table of its proxy, before the next one */
    const char *form = strstr(t, "<form"), *end = strstr(t, "</form>");
    CU_ASSERT(form && end && form < strstr(t, "s&quot;1") && end > strstr(t, "s2"));
    CU_ASSERT_PTR_NOT_NULL(
        strstr(t, "<div class=active_up><a class=lfsb href=\"/st\" title=\"Remove this "
                  "message\">[X]</a> Action processed successfully.</div>"));

    /* without the admin level: no column, no form, the message still shown */
    sp_strbuf_reset(&b);
    o.admin = false;
    o.st = SP_STATS_ST_DENY;
    CU_ASSERT_EQUAL(sp_stats_html(&b, &o, rows, 6), 0);
    CU_ASSERT_PTR_NULL(strstr(b.p, "<form"));
    CU_ASSERT_PTR_NULL(strstr(b.p, "checkbox"));
    CU_ASSERT_PTR_NOT_NULL(strstr(b.p, "<b>Action denied.</b>"));

    /* each code its message; none without `;st=` */
    static const struct {
        int st;
        const char *text;
    } msgs[] = {
        {SP_STATS_ST_NONE, "Nothing has changed."},
        {SP_STATS_ST_PART, "Action partially processed."},
        {SP_STATS_ST_ERRP, "Action not processed because of invalid parameters."},
        {SP_STATS_ST_EXCD, "the buffer couldn't store all the data"},
        {SP_STATS_ST_IVAL, "Invalid requests (unsupported method or chunked encoded request)"},
        {SP_STATS_ST_UNKN, "Unexpected result."},
    };
    for (size_t i = 0; i < sizeof(msgs) / sizeof(msgs[0]); i++) {
        sp_strbuf_reset(&b);
        o.st = msgs[i].st;
        CU_ASSERT_EQUAL(sp_stats_html(&b, &o, rows, 1), 0);
        CU_ASSERT_PTR_NOT_NULL(strstr(b.p, msgs[i].text));
    }
    sp_strbuf_reset(&b);
    o.st = 0;
    CU_ASSERT_EQUAL(sp_stats_html(&b, &o, rows, 1), 0);
    CU_ASSERT_PTR_NULL(strstr(b.p, "Remove this message"));
    sp_strbuf_free(&b);
}

void test_htmladmin_register(void)
{
    CU_pSuite s = CU_add_suite("htmladmin", NULL, NULL);
    CU_add_test(s, "admin form and messages", test_admin_form);
}
