/* core/cfgerrors.c - the messages spillway sends itself: `errorfile`, `errorloc`,
 * `errorloc302`, `errorloc303`, `errorfiles`, `http-error` in defaults and proxies, and the
 * `http-errors` sections (HAProxy 2.6: configuration.txt 4.2 and src/http_htx.c).
 *
 * owner: main (the loader). Every message is read and checked here, once, and kept in the
 * configuration (cfg->replies); each proxy keeps its lines in order (its defaults' first) and
 * the end-of-file check resolves them into one message per status code (px->replies), as
 * HAProxy's proxy_check_errors() does. A file is a whole raw HTTP/1.x response: it must open,
 * fit in tune.bufsize less the bytes HAProxy reserves for header rewriting, and parse as a
 * response; an empty file means "close without a byte". Log-format bodies and header values
 * of `http-error` are compiled by the HTTP layer when the workers are set up (and with -c):
 * their errors name the line too.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config-int.h"
#include "core/config.h"

/* HAProxy 2.6's http_err_codes[] (src/http.c), in its order */
const int sp_cfg_err_codes[SP_CFG_NERR] = {200, 400, 401, 403, 404, 405, 407, 408, 410, 413,
                                           421, 422, 425, 429, 500, 501, 502, 503, 504};

int sp_cfg_err_idx(int status)
{
    for (int i = 0; i < SP_CFG_NERR; i++)
        if (sp_cfg_err_codes[i] == status)
            return i;
    return -1;
}

/* HAProxy's atol(): leading digits, anything else 0 */
static int status_of(const char *s)
{
    long v = 0;
    for (; *s >= '0' && *s <= '9' && v < 100000; s++)
        v = v * 10 + (*s - '0');
    return (int)v;
}

/* What a file may hold at all while the file is read (tune.bufsize's largest value); the size
 * that counts is checked at the end of the file, once `global` is known wherever it was. */
#define READ_CAP (1u << 30)

/* The largest message: tune.bufsize less what HAProxy keeps for rewriting headers
 * (tune.maxrewrite, 1024 by default or half the buffer when that is less). */
static size_t max_msg(const struct sp_config *cfg)
{
    int bs = cfg->global.bufsize;
    int rw = cfg->global.maxrewrite >= 0 ? cfg->global.maxrewrite : (bs / 2 < 1024 ? bs / 2 : 1024);
    return bs > rw ? (size_t)(bs - rw) : 0;
}

static bool is_tchar(char c)
{
    return isalnum((unsigned char)c) || strchr("!#$%&'*+-.^_`|~", c);
}

/* Checks a raw response as HAProxy's http_str_to_htx() does: a status line "HTTP/x.y CODE
 * [reason]" with a final code, header fields, no chunked encoding, and a payload that agrees
 * with its framing. The length of its head (0 for an empty message), or -1 with the reason in
 * err. */
int sp__cfg_check_raw_response(const char *p, size_t len, char *err, size_t errlen)
{
    size_t i = 0, eol;
    long long clen = -1;
    bool bodyless = false;
    int status;

    if (!len)
        return 0;
    /* status line */
    if (len < 12 || memcmp(p, "HTTP/", 5) || !isdigit((unsigned char)p[5]) || p[6] != '.' ||
        !isdigit((unsigned char)p[7]) || p[8] != ' ' || !isdigit((unsigned char)p[9]) ||
        !isdigit((unsigned char)p[10]) || !isdigit((unsigned char)p[11]) ||
        (len > 12 && p[12] != ' ' && p[12] != '\r' && p[12] != '\n')) {
        snprintf(err, errlen, "invalid status line (expects 'HTTP/x.y CODE reason')");
        return -1;
    }
    status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (status < 200) {
        snprintf(err, errlen, "invalid http status code for an error message (%d)", status);
        return -1;
    }
    bodyless = status == 204 || status == 304;
    for (;;) {
        const char *nl = memchr(p + i, '\n', len - i);
        if (!nl) {
            snprintf(err, errlen, "unable to parse headers (no end of headers)");
            return -1;
        }
        eol = (size_t)(nl - p);
        size_t end = eol > i && p[eol - 1] == '\r' ? eol - 1 : eol;
        for (size_t k = i; k < end; k++)
            if ((unsigned char)p[k] < 32 && p[k] != '\t') {
                snprintf(err, errlen, "unable to parse headers (error offset: %zu)", k);
                return -1;
            }
        if (i) { /* a header field line, or the empty line */
            if (end == i) {
                i = eol + 1;
                break;
            }
            size_t k = i;
            while (k < end && is_tchar(p[k]))
                k++;
            if (k == i || k == end || p[k] != ':') {
                snprintf(err, errlen, "unable to parse headers (error offset: %zu)", k);
                return -1;
            }
            size_t nlen = k - i;
            const char *v = p + k + 1;
            size_t vlen = end - (k + 1);
            while (vlen && (*v == ' ' || *v == '\t'))
                v++, vlen--;
            while (vlen && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
                vlen--;
            if (nlen == 14 && !strncasecmp(p + i, "content-length", 14)) {
                long long n = 0;
                if (!vlen || vlen > 15) {
                    snprintf(err, errlen, "invalid content-length");
                    return -1;
                }
                for (size_t j = 0; j < vlen; j++) {
                    if (!isdigit((unsigned char)v[j])) {
                        snprintf(err, errlen, "invalid content-length");
                        return -1;
                    }
                    n = n * 10 + (v[j] - '0');
                }
                if (clen >= 0 && clen != n) {
                    snprintf(err, errlen, "conflicting content-length fields");
                    return -1;
                }
                clen = n;
            } else if (nlen == 17 && !strncasecmp(p + i, "transfer-encoding", 17)) {
                snprintf(err, errlen, "chunk-encoded payload not supported");
                return -1;
            }
        }
        i = eol + 1;
    }
    size_t body = len - i;
    if ((bodyless || clen == 0) && body) {
        snprintf(err, errlen, "message payload not expected");
        return -1;
    }
    if (!bodyless && clen > 0 && (unsigned long long)clen != body) {
        snprintf(err, errlen,
                 "payload size does not match the announced content-length (%zu != %lld)", body,
                 clen);
        return -1;
    }
    return (int)i;
}

/* Reads `file` whole (at most `max` bytes). 0, or -1 after an alert on the current line. */
static int read_file(struct sp__cfg_parser *ps, const char *kw, const char *file, size_t max,
                     char **ret, size_t *ret_len)
{
    struct stat st;
    /* O_NONBLOCK: a FIFO named by mistake must not block the loader (it is refused below) */
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    char *buf = NULL;

    if (fd < 0 || fstat(fd, &st) < 0) {
        sp__cfg_alert(ps, kw, "error opening file '%s': %s", file, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        sp__cfg_alert(ps, kw, "error opening file '%s': not a regular file", file);
        goto fail;
    }
    if ((size_t)st.st_size > max) {
        sp__cfg_alert(ps, kw,
                      "file '%s' exceeds the buffer size (%lld > %zu: tune.bufsize less "
                      "the space reserved for rewriting headers)",
                      file, (long long)st.st_size, max);
        goto fail;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (!buf) {
        ps->oom = true;
        goto fail;
    }
    size_t got = 0;
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            sp__cfg_alert(ps, kw, "error reading file '%s'", file);
            goto fail;
        }
        got += (size_t)n;
    }
    buf[got] = 0;
    close(fd);
    *ret = buf;
    *ret_len = got;
    return 0;
fail:
    free(buf);
    if (fd >= 0)
        close(fd);
    return -1;
}

/* The keyword's name as diagnostics spell it, in static storage. */
static const char *kw_name(const char *kw)
{
    static const char *const kws[] = {"errorfile", "errorloc", "errorloc302", "errorloc303",
                                      "http-error"};
    for (size_t i = 0; i < sizeof(kws) / sizeof(kws[0]); i++)
        if (!strcmp(kw, kws[i]))
            return kws[i];
    return "errorfile";
}

static struct sp_cfg_reply *reply_new(struct sp__cfg_parser *ps, const char *kw, int status)
{
    struct sp_cfg_reply *r = sp__cfg_xcalloc(ps, sizeof(*r)), **tail;

    if (!r)
        return NULL;
    r->status = status;
    r->kw = kw_name(kw);
    r->where = sp__cfg_here(ps);
    for (tail = &ps->cfg->replies; *tail; tail = &(*tail)->next)
        ;
    r->idx = ps->cfg->nreplies++;
    *tail = r;
    return r;
}

/* An errorfile: the message of `status` read from `file`, or NULL after an alert. */
static const struct sp_cfg_reply *load_errorfile(struct sp__cfg_parser *ps, const char *kw,
                                                 int status, const char *file)
{
    char *buf, err[160];
    size_t len;

    if (read_file(ps, kw, file, READ_CAP, &buf, &len) < 0)
        return NULL;
    int hl = sp__cfg_check_raw_response(buf, len, err, sizeof(err));
    if (hl < 0) {
        sp__cfg_alert(ps, kw, "'%s': %s", file, err);
        free(buf);
        return NULL;
    }
    /* HAProxy reads the head as HTX and sends it with CRLF line ends: a head with bare LF
     * ones is given CRLF once, here, so that it goes out (and parses) like any other */
    size_t bare = 0;
    for (int k = 0; k < hl; k++)
        if (buf[k] == '\n' && (!k || buf[k - 1] != '\r'))
            bare++;
    if (bare) {
        char *n = malloc(len + bare + 1);
        if (!n) {
            free(buf);
            ps->oom = true;
            return NULL;
        }
        size_t o = 0;
        for (int k = 0; k < hl; k++) {
            if (buf[k] == '\n' && (!k || buf[k - 1] != '\r'))
                n[o++] = '\r';
            n[o++] = buf[k];
        }
        memcpy(n + o, buf + hl, len - (size_t)hl);
        len += bare;
        n[len] = 0;
        free(buf);
        buf = n;
    }
    struct sp_cfg_reply *r = reply_new(ps, kw, status);
    if (!r) {
        free(buf);
        return NULL;
    }
    r->type = SP_CFG_REPLY_RAW;
    r->raw = buf;
    r->rawlen = len;
    r->file = sp__cfg_xstrdup(ps, file);
    return r;
}

static void errline_add(struct sp__cfg_parser *ps, struct sp_cfg_errline *e)
{
    struct sp_cfg_errline **tail;

    e->where = sp__cfg_here(ps);
    for (tail = &ps->cur->errlines; *tail; tail = &(*tail)->next)
        ;
    *tail = e;
}

static void add_reply_line(struct sp__cfg_parser *ps, const struct sp_cfg_reply *r)
{
    struct sp_cfg_errline *e = sp__cfg_xcalloc(ps, sizeof(*e));

    if (!e)
        return;
    e->reply = r;
    errline_add(ps, e);
}

/* `errorfile CODE FILE`, in a proxy or an http-errors section (`errs`) */
static void errorfile(struct sp__cfg_parser *ps, int argc, char **argv,
                      struct sp_cfg_httperrs *errs)
{
    if (argc != 3) {
        sp__cfg_alert(ps, argv[0], "expects <status_code> and <file> as arguments");
        return;
    }
    int status = status_of(argv[1]), idx = sp_cfg_err_idx(status);
    if (idx < 0) {
        sp__cfg_alert(ps, argv[0], "status code '%s' not handled", argv[1]);
        return;
    }
    const struct sp_cfg_reply *r = load_errorfile(ps, argv[0], status, argv[2]);
    if (!r)
        return;
    if (errs)
        errs->reply[idx] = r;
    else
        add_reply_line(ps, r);
}

void sp__cfg_kw_errorfile(struct sp__cfg_parser *ps, int argc, char **argv)
{
    errorfile(ps, argc, argv, NULL);
}

/* `errorloc|errorloc302|errorloc303 CODE URL`: a redirect instead of the error */
void sp__cfg_kw_errorloc(struct sp__cfg_parser *ps, int argc, char **argv)
{
    bool see_other = strcmp(argv[0], "errorloc303") == 0;

    if (argc != 3) {
        sp__cfg_alert(ps, argv[0], "expects <status_code> and <url> as arguments");
        return;
    }
    int status = status_of(argv[1]);
    if (sp_cfg_err_idx(status) < 0) {
        sp__cfg_alert(ps, argv[0], "status code '%s' not handled", argv[1]);
        return;
    }
    for (const char *c = argv[2]; *c; c++)
        if ((unsigned char)*c < 33 || *c == 127) {
            sp__cfg_alert(ps, argv[0], "invalid character in URL '%s'", argv[2]);
            return;
        }
    size_t n = strlen(argv[2]) + 96;
    char *raw = malloc(n);
    if (!raw) {
        ps->oom = true;
        return;
    }
    /* HAProxy's http_parse_errorloc() message, byte for byte */
    int len = snprintf(raw, n,
                       "HTTP/1.1 %s\r\nCache-Control: no-cache\r\nContent-length: 0\r\n"
                       "Location: %s\r\n\r\n",
                       see_other ? "303 See Other" : "302 Found", argv[2]);
    if (len < 0 || (size_t)len >= n) {
        sp__cfg_alert(ps, argv[0], "URL too long");
        free(raw);
        return;
    }
    struct sp_cfg_reply *r = reply_new(ps, argv[0], status);
    if (!r) {
        free(raw);
        return;
    }
    r->type = SP_CFG_REPLY_RAW;
    r->raw = raw;
    r->rawlen = (size_t)len;
    add_reply_line(ps, r);
}

/* `errorfiles NAME [CODE ...]` */
void sp__cfg_kw_errorfiles(struct sp__cfg_parser *ps, int argc, char **argv)
{
    uint32_t codes = 0;

    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "expects <name> as argument");
        return;
    }
    for (int i = 2; i < argc; i++) {
        int idx = sp_cfg_err_idx(status_of(argv[i]));
        if (idx < 0) {
            sp__cfg_alert(ps, argv[0], "status code '%s' not handled", argv[i]);
            return;
        }
        codes |= 1u << idx;
    }
    struct sp_cfg_errline *e = sp__cfg_xcalloc(ps, sizeof(*e));
    if (!e)
        return;
    e->section = sp__cfg_xstrdup(ps, argv[1]);
    if (!e->section) {
        free(e);
        return;
    }
    e->codes = argc > 2 ? codes : (1u << SP_CFG_NERR) - 1;
    e->listed = argc > 2;
    errline_add(ps, e);
}

static bool hdr_ignored(const char *name)
{
    return !strcasecmp(name, "content-length") || !strcasecmp(name, "transfer-encoding") ||
           !strcasecmp(name, "content-type");
}

static bool valid_token(const char *s)
{
    if (!*s)
        return false;
    for (; *s; s++)
        if (!is_tchar(*s))
            return false;
    return true;
}

/* `http-error status CODE [content-type TYPE] [default-errorfiles | errorfile FILE |
 * errorfiles NAME | file FILE | lf-file FILE | string STR | lf-string FMT] [hdr NAME FMT]*`
 * (HAProxy's http_parse_http_reply() with the http-error context) */
void sp__cfg_kw_http_error(struct sp__cfg_parser *ps, int argc, char **argv)
{
    const char *kw = argv[0], *act = NULL, *ctype = NULL, *obj_arg = NULL, *section = NULL;
    int status = 0, nh = 0, i = 1;
    enum { B_EMPTY, B_DEFAULT, B_ERRORFILE, B_ERRORFILES, B_FILE, B_STRING, B_LFFILE, B_LFSTRING };
    int body = B_EMPTY;
    const char **hn = calloc((size_t)argc, sizeof(char *)),
               **hv = calloc((size_t)argc, sizeof(char *));
    char *obj = NULL;
    size_t objlen = 0;

    if (!hn || !hv) {
        ps->oom = true;
        goto out;
    }
    while (i < argc) {
        const char *a = argv[i];
        int kind = -1;
        if (!strcmp(a, "status")) {
            if (i + 1 >= argc) {
                sp__cfg_alert(ps, kw, "'status' expects <status_code> as argument");
                goto out;
            }
            status = status_of(argv[i + 1]);
            if (status < 200 || status > 599) {
                sp__cfg_alert(ps, kw, "Unexpected status code '%s'", argv[i + 1]);
                goto out;
            }
            i += 2;
            continue;
        }
        if (!strcmp(a, "content-type")) {
            if (i + 1 >= argc) {
                sp__cfg_alert(ps, kw, "'content-type' expects <ctype> as argument");
                goto out;
            }
            ctype = argv[i + 1];
            i += 2;
            continue;
        }
        if (!strcmp(a, "hdr")) {
            if (i + 2 >= argc) {
                sp__cfg_alert(ps, kw, "'hdr' expects <name> and <value> as arguments");
                goto out;
            }
            if (!valid_token(argv[i + 1])) {
                sp__cfg_alert(ps, kw, "invalid header name '%s'", argv[i + 1]);
                goto out;
            }
            if (hdr_ignored(argv[i + 1])) {
                sp__cfg_warn(ps, kw, "header '%s' always ignored by the http reply", argv[i + 1]);
            } else {
                hn[nh] = argv[i + 1];
                hv[nh++] = argv[i + 2];
            }
            i += 3;
            continue;
        }
        if (!strcmp(a, "default-errorfiles"))
            kind = B_DEFAULT;
        else if (!strcmp(a, "errorfile"))
            kind = B_ERRORFILE;
        else if (!strcmp(a, "errorfiles"))
            kind = B_ERRORFILES;
        else if (!strcmp(a, "file"))
            kind = B_FILE;
        else if (!strcmp(a, "string"))
            kind = B_STRING;
        else if (!strcmp(a, "lf-file"))
            kind = B_LFFILE;
        else if (!strcmp(a, "lf-string"))
            kind = B_LFSTRING;
        if (kind < 0) {
            sp__cfg_alert(ps, kw, "unknown keyword '%s'", a);
            goto out;
        }
        if (body != B_EMPTY) {
            sp__cfg_alert(ps, kw, "unexpected '%s' argument, '%s' already defined", a, act);
            goto out;
        }
        act = a;
        body = kind;
        if (kind == B_DEFAULT) {
            i++;
            continue;
        }
        if (i + 1 >= argc) {
            sp__cfg_alert(ps, kw, "'%s' expects an argument", a);
            goto out;
        }
        obj_arg = argv[i + 1];
        i += 2;
    }
    if (!status) {
        sp__cfg_alert(ps, kw, "expects at least a <status> as arguments");
        goto out;
    }
    int idx = sp_cfg_err_idx(status);
    if (idx < 0) {
        sp__cfg_alert(ps, kw, "status code '%d' not handled", status);
        goto out;
    }
    if (body == B_ERRORFILES) {
        section = obj_arg;
        struct sp_cfg_errline *e = sp__cfg_xcalloc(ps, sizeof(*e));
        if (!e || !(e->section = sp__cfg_xstrdup(ps, section))) {
            free(e);
            goto out;
        }
        e->codes = 1u << idx;
        e->listed = true;
        errline_add(ps, e);
        goto out;
    }
    if (body == B_ERRORFILE || body == B_DEFAULT) {
        if (ctype)
            sp__cfg_warn(ps, kw,
                         "content-type '%s' ignored by the http reply when used with an "
                         "errorfile",
                         ctype);
        if (nh)
            sp__cfg_warn(ps, kw,
                         "hdr parameters ignored by the http reply when used with an "
                         "errorfile");
        if (body == B_ERRORFILE) {
            const struct sp_cfg_reply *r = load_errorfile(ps, kw, status, obj_arg);
            if (r)
                add_reply_line(ps, r);
            goto out;
        }
        struct sp_cfg_reply *r = reply_new(ps, kw, status);
        if (r) {
            r->type = SP_CFG_REPLY_DEFAULT;
            add_reply_line(ps, r);
        }
        goto out;
    }
    if (body == B_FILE || body == B_LFFILE) {
        if (read_file(ps, kw, obj_arg, READ_CAP, &obj, &objlen) < 0)
            goto out;
    } else if (body == B_STRING || body == B_LFSTRING) {
        objlen = strlen(obj_arg);
        if (!(obj = sp__cfg_xstrdup(ps, obj_arg)))
            goto out;
    }
    bool lf = body == B_LFFILE || body == B_LFSTRING;
    if ((status == 204 || status == 304) && (lf || objlen)) {
        sp__cfg_alert(ps, kw, "No body expected for %d responses", status);
        goto out;
    }
    if (lf && !ctype) {
        sp__cfg_alert(ps, kw, "a content type must be defined with a log-format payload");
        goto out;
    }
    if (!lf && objlen && !ctype) {
        sp__cfg_alert(ps, kw,
                      "a content type must be defined when non-empty payload is configured");
        goto out;
    }
    if (ctype && !lf && !objlen) {
        sp__cfg_warn(ps, kw, "content-type '%s' ignored by the http reply because %s", ctype,
                     body == B_EMPTY ? "neither errorfile nor payload defined"
                                     : "its payload is empty");
        ctype = NULL;
    }
    if (ctype)
        for (const char *c = ctype; *c; c++)
            if ((unsigned char)*c < 32 || *c == 127) {
                sp__cfg_alert(ps, kw, "invalid content-type '%s'", ctype);
                goto out;
            }
    struct sp_cfg_reply *r = reply_new(ps, kw, status);
    if (!r)
        goto out;
    r->type = SP_CFG_REPLY_BUILT;
    if ((body == B_FILE || body == B_LFFILE) && !(r->file = sp__cfg_xstrdup(ps, obj_arg)))
        goto out;
    r->body = obj;
    r->bodylen = objlen;
    r->body_lf = lf;
    obj = NULL;
    if (ctype && !(r->ctype = sp__cfg_xstrdup(ps, ctype)))
        goto out;
    if (nh) {
        r->hdr_names = calloc((size_t)nh, sizeof(char *));
        r->hdr_fmts = calloc((size_t)nh, sizeof(char *));
        if (!r->hdr_names || !r->hdr_fmts) {
            ps->oom = true;
            goto out;
        }
        for (int k = 0; k < nh; k++) {
            r->hdr_names[k] = sp__cfg_xstrdup(ps, hn[k]);
            r->hdr_fmts[k] = sp__cfg_xstrdup(ps, hv[k]);
            r->nhdrs = k + 1;
            if (!r->hdr_names[k] || !r->hdr_fmts[k])
                goto out;
        }
    }
    add_reply_line(ps, r);
out:
    free(obj);
    free(hn);
    free(hv);
}

/* ---- http-errors sections ---- */

void sp__cfg_httperrs_start(struct sp__cfg_parser *ps, int argc, char **argv)
{
    struct sp_cfg_httperrs *e, **tail;

    ps->errs = NULL;
    if (argc < 2) {
        sp__cfg_alert(ps, argv[0], "missing name for http-errors section");
        return;
    }
    if (argc > 2 || !sp__cfg_valid_name(argv[1])) {
        sp__cfg_alert(ps, argv[0],
                      "expects exactly one NAME (letters, digits, '-', '_', '.', ':')");
        return;
    }
    for (tail = &ps->cfg->http_errors; *tail; tail = &(*tail)->next) {
        if (strcmp((*tail)->name, argv[1]) == 0) {
            sp__cfg_alert(ps, argv[0],
                          "http-errors section '%s' already exists (declared at %s:%d)", argv[1],
                          (*tail)->where.file, (*tail)->where.line);
            return;
        }
    }
    e = sp__cfg_xcalloc(ps, sizeof(*e));
    if (!e)
        return;
    if (!(e->name = sp__cfg_xstrdup(ps, argv[1]))) {
        free(e);
        return;
    }
    e->where = sp__cfg_here(ps);
    *tail = e;
    ps->errs = e;
}

void sp__cfg_httperrs_line(struct sp__cfg_parser *ps, int argc, char **argv)
{
    if (strcmp(argv[0], "errorfile") != 0) {
        sp__cfg_alert(ps, argv[0], "unknown keyword '%s' in 'http-errors' section", argv[0]);
        return;
    }
    if (!ps->errs)
        return; /* the section line was refused */
    errorfile(ps, argc, argv, ps->errs);
}

/* ---- the end of the file ---- */

void sp__cfg_errors_check(struct sp__cfg_parser *ps)
{
    struct sp_config *cfg = ps->cfg;
    size_t max = max_msg(cfg);

    for (const struct sp_cfg_reply *r = cfg->replies; r; r = r->next) {
        size_t len = r->type == SP_CFG_REPLY_RAW ? r->rawlen : r->bodylen;
        if (len <= max)
            continue;
        if (r->file)
            sp__cfg_diag(cfg, ps->diag, true, &r->where, r->kw,
                         "file '%s' exceeds the buffer size (%zu > %zu: tune.bufsize less "
                         "the space reserved for rewriting headers)",
                         r->file, len, max);
        else
            sp__cfg_diag(cfg, ps->diag, true, &r->where, r->kw,
                         "message exceeds the buffer size (%zu > %zu: tune.bufsize less the "
                         "space reserved for rewriting headers)",
                         len, max);
    }

    for (struct sp_cfg_proxy *px = cfg->proxies; px; px = px->next) {
        for (const struct sp_cfg_errline *e = px->errlines; e; e = e->next) {
            if (e->reply) {
                int idx = sp_cfg_err_idx(e->reply->status);
                /* default-errorfiles: no message of its own (a backend falls back to its
                 * frontend's, then to the built-in page), as HAProxy */
                px->replies[idx] = e->reply->type == SP_CFG_REPLY_DEFAULT ? NULL : e->reply;
                continue;
            }
            const struct sp_cfg_httperrs *h = cfg->http_errors;
            while (h && strcmp(h->name, e->section) != 0)
                h = h->next;
            if (!h) {
                sp__cfg_diag(cfg, ps->diag, true, &e->where, "errorfiles",
                             "proxy '%s': unknown http-errors section '%s'", px->name, e->section);
                continue;
            }
            for (int i = 0; i < SP_CFG_NERR; i++) {
                if (!(e->codes & (1u << i)))
                    continue;
                if (h->reply[i])
                    px->replies[i] = h->reply[i];
                else if (e->listed)
                    sp__cfg_diag(cfg, ps->diag, false, &e->where, "errorfiles",
                                 "proxy '%s': status '%d' not declared in http-errors section "
                                 "'%s'",
                                 px->name, sp_cfg_err_codes[i], h->name);
            }
        }
    }
}

struct sp_cfg_errline *sp__cfg_errlines_dup(const struct sp_cfg_errline *l, bool *ret_oom)
{
    struct sp_cfg_errline *head = NULL, **tail = &head;

    for (; l; l = l->next) {
        struct sp_cfg_errline *e = malloc(sizeof(*e));
        if (!e) {
            *ret_oom = true;
            break;
        }
        *e = *l;
        e->next = NULL;
        if (l->section && !(e->section = strdup(l->section))) {
            free(e);
            *ret_oom = true;
            break;
        }
        *tail = e;
        tail = &e->next;
    }
    return head;
}

void sp__cfg_errlines_free(struct sp_cfg_errline *l)
{
    while (l) {
        struct sp_cfg_errline *n = l->next;
        free(l->section);
        free(l);
        l = n;
    }
}

void sp__cfg_errors_free(struct sp_config *cfg)
{
    for (struct sp_cfg_reply *r = cfg->replies, *n; r; r = n) {
        n = r->next;
        free(r->raw);
        free(r->file);
        free(r->ctype);
        free(r->body);
        for (int i = 0; i < r->nhdrs; i++) {
            free(r->hdr_names[i]);
            free(r->hdr_fmts[i]);
        }
        free(r->hdr_names);
        free(r->hdr_fmts);
        free(r);
    }
    cfg->replies = NULL;
    for (struct sp_cfg_httperrs *h = cfg->http_errors, *n; h; h = n) {
        n = h->next;
        free(h->name);
        free(h);
    }
    cfg->http_errors = NULL;
}
