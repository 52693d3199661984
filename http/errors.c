/* http/errors.c - the responses spillway produces itself.
 *
 * shared: immutable tables, safe from any thread. Like HAProxy, only 400 and 408 (and any
 * error after which the request framing is lost) close the connection; the small HTML body
 * says in one line what happened.
 */
#include <stdio.h>
#include <string.h>

#include "http/http-int.h"

struct errpage {
    int status;
    const char *reason;
    const char *body;
};

/* the body is assembled by the compiler: no formatting in the error path */
#define PAGE(code, reason, text)                                                                   \
    {                                                                                              \
        code, reason, "<html><body><h1>" #code " " reason "</h1>\n" text "\n</body></html>\n"      \
    }

static const struct errpage pages[] = {
    PAGE(200, "OK", "Service ready."), /* monitor-uri's answer */
    PAGE(400, "Bad Request", "The request could not be understood."),
    PAGE(403, "Forbidden", "Access to this resource is denied."),
    PAGE(404, "Not Found", "The requested resource was not found."),
    PAGE(405, "Method Not Allowed", "This method is not allowed here."),
    PAGE(408, "Request Time-out", "The request took too long to arrive."),
    PAGE(413, "Payload Too Large", "The request body is too large."),
    PAGE(414, "URI Too Long", "The request line is too long."),
    PAGE(421, "Misdirected Request", "This request cannot be served on this connection."),
    PAGE(429, "Too Many Requests", "Too many requests."),
    PAGE(431, "Request Header Fields Too Large", "The request header fields are too large."),
    PAGE(500, "Internal Server Error", "An internal error occurred."),
    PAGE(501, "Not Implemented", "The request uses something this server does not implement."),
    PAGE(502, "Bad Gateway", "The server returned an invalid or incomplete response."),
    PAGE(503, "Service Unavailable", "No server is available to handle this request."),
    PAGE(504, "Gateway Time-out", "The server did not respond in time."),
};

static const struct errpage *find(int status)
{
    for (size_t i = 0; i < sizeof(pages) / sizeof(pages[0]); i++)
        if (pages[i].status == status)
            return &pages[i];
    return NULL;
}

const char *sp__http_reason(int status)
{
    static const struct {
        int status;
        const char *reason;
    } others[] = {
        {100, "Continue"},
        {101, "Switching Protocols"},
        {200, "OK"},
        {201, "Created"},
        {202, "Accepted"},
        {204, "No Content"},
        {206, "Partial Content"},
        {301, "Moved Permanently"},
        {302, "Found"},
        {303, "See Other"},
        {304, "Not Modified"},
        {307, "Temporary Redirect"},
        {308, "Permanent Redirect"},
        {401, "Unauthorized"},
        {409, "Conflict"},
        {410, "Gone"},
        {412, "Precondition Failed"},
        {415, "Unsupported Media Type"},
        {416, "Range Not Satisfiable"},
        {417, "Expectation Failed"},
    };
    const struct errpage *p = find(status);

    if (p)
        return p->reason;
    for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++)
        if (others[i].status == status)
            return others[i].reason;
    return "Unknown";
}

const char *sp__http_error_body(int status, size_t *ret_len)
{
    const struct errpage *p = find(status);

    if (!p)
        p = find(500);
    *ret_len = strlen(p->body);
    return p->body;
}
