/* stats/htmladmin.c - the stats page's admin parts, as HAProxy 2.6's src/stats.c draws them
 * when `stats admin` holds (stats_dump_html_px_hdr/_end, stats_dump_fields_html): a checkbox
 * per server, one form per backend with the action <select>, and the message of the `;st=`
 * code a POST redirected to (stats_dump_html_info).
 *
 * pure: builds text only; safe from any thread.
 */
#include <string.h>

#include "stats/render.h"

static const char *const st_names[SP_STATS_ST_SIZE] = {
    [SP_STATS_ST_DENY] = "DENY", [SP_STATS_ST_DONE] = "DONE", [SP_STATS_ST_ERRP] = "ERRP",
    [SP_STATS_ST_EXCD] = "EXCD", [SP_STATS_ST_NONE] = "NONE", [SP_STATS_ST_PART] = "PART",
    [SP_STATS_ST_UNKN] = "UNKN", [SP_STATS_ST_IVAL] = "IVAL",
};

const char *sp_stats_st_name(int st)
{
    return st > SP_STATS_ST_INIT && st < SP_STATS_ST_SIZE ? st_names[st]
                                                          : st_names[SP_STATS_ST_UNKN];
}

int sp_stats_st_parse(const char *p, size_t n)
{
    for (int i = SP_STATS_ST_INIT + 1; n >= 4 && i < SP_STATS_ST_SIZE; i++)
        if (!memcmp(st_names[i], p, 4))
            return i;
    return SP_STATS_ST_UNKN;
}

/* HAProxy's words and div class for each result. */
static const struct {
    const char *cls, *text;
} st_msgs[SP_STATS_ST_SIZE] = {
    [SP_STATS_ST_DONE] = {"active_up", "Action processed successfully."},
    [SP_STATS_ST_NONE] = {"active_going_down", "Nothing has changed."},
    [SP_STATS_ST_PART] = {"active_going_down",
                          "Action partially processed.<br>Some server names are probably "
                          "unknown or ambiguous (duplicated names in the backend)."},
    [SP_STATS_ST_ERRP] = {"active_down",
                          "Action not processed because of invalid parameters.<ul>"
                          "<li>The action is maybe unknown.</li>"
                          "<li>Invalid key parameter (empty or too long).</li>"
                          "<li>The backend name is probably unknown or ambiguous (duplicated "
                          "names).</li>"
                          "<li>Some server names are probably unknown or ambiguous (duplicated "
                          "names in the backend).</li></ul>"},
    [SP_STATS_ST_EXCD] = {"active_down",
                          "<b>Action not processed : the buffer couldn't store all the "
                          "data.<br>You should retry with less servers at a time.</b>"},
    [SP_STATS_ST_DENY] = {"active_down", "<b>Action denied.</b>"},
    [SP_STATS_ST_IVAL] = {"active_down", "<b>Invalid requests (unsupported method or chunked "
                                         "encoded request).</b>"},
};

void sp__stats_html_st_msg(struct sp_strbuf *b, const char *uri, int st)
{
    if (st <= SP_STATS_ST_INIT || st >= SP_STATS_ST_SIZE)
        return;
    const char *cls = st_msgs[st].cls ? st_msgs[st].cls : "active_no_check";
    const char *text = st_msgs[st].text ? st_msgs[st].text : "Unexpected result.";
    sp_strbuf_printf(b, "<p><div class=%s><a class=lfsb href=\"", cls);
    sp__stats_html_escape(b, uri);
    sp_strbuf_printf(b, "\" title=\"Remove this message\">[X]</a> %s</div>\n", text);
}

void sp__stats_html_admin_th(struct sp_strbuf *b, const char *pxname, bool servers)
{
    if (!servers) {
        sp_strbuf_puts(b, "<th rowspan=\"2\"></th>");
        return;
    }
    /* HAProxy's "check all" box: the class names the proxy's own boxes */
    sp_strbuf_puts(b, "<th rowspan=\"2\" width=\"1\"><input type=\"checkbox\" onclick=\"for(c in "
                      "document.getElementsByClassName('");
    sp__stats_html_escape(b, pxname);
    sp_strbuf_puts(b, "-checkbox')) document.getElementsByClassName('");
    sp__stats_html_escape(b, pxname);
    sp_strbuf_puts(b, "-checkbox').item(c).checked = this.checked\"></th>");
}

void sp__stats_html_admin_td(struct sp_strbuf *b, const char *pxname, const char *svname,
                             bool server)
{
    if (!server) {
        sp_strbuf_puts(b, "<td></td>");
        return;
    }
    sp_strbuf_puts(b, "<td><input class=\"");
    sp__stats_html_escape(b, pxname);
    sp_strbuf_puts(b, "-checkbox\" type=\"checkbox\" name=\"s\" value=\"");
    sp__stats_html_escape(b, svname);
    sp_strbuf_puts(b, "\"></td>");
}

void sp__stats_html_admin_end(struct sp_strbuf *b, unsigned iid)
{
    /* HAProxy's list, less "Kill Sessions" (shutdown): spillway cannot end a server's
     * sessions from the page (http/statadmin.c answers it ERRP) */
    sp_strbuf_printf(b,
                     "Choose the action to perform on the checked servers : "
                     "<select name=action>"
                     "<option value=\"\"></option>"
                     "<option value=\"ready\">Set state to READY</option>"
                     "<option value=\"drain\">Set state to DRAIN</option>"
                     "<option value=\"maint\">Set state to MAINT</option>"
                     "<option value=\"dhlth\">Health: disable checks</option>"
                     "<option value=\"ehlth\">Health: enable checks</option>"
                     "<option value=\"hrunn\">Health: force UP</option>"
                     "<option value=\"hnolb\">Health: force NOLB</option>"
                     "<option value=\"hdown\">Health: force DOWN</option>"
                     "<option value=\"dagent\">Agent: disable checks</option>"
                     "<option value=\"eagent\">Agent: enable checks</option>"
                     "<option value=\"arunn\">Agent: force UP</option>"
                     "<option value=\"adown\">Agent: force DOWN</option>"
                     "</select>"
                     "<input type=\"hidden\" name=\"b\" value=\"#%u\">"
                     "&nbsp;<input type=\"submit\" value=\"Apply\">"
                     "</form>\n",
                     iid);
}
