/* tests/fuzz/fuzz_acl.c - libFuzzer harness: ACL declarations and conditions (balance/acl.c,
 * balance/acl-fetch.c), compiled from words split by the configuration's own tokenizer, then
 * evaluated on a request.
 *
 * Input: text. Lines up to a line "--" declare ACLs (`[acl] NAME CRITERION ...`) or give
 * conditions (`if ...` / `unless ...`), as a proxy section would; what follows "--" is an
 * HTTP/1 request head, parsed by http/h1.c and shown to the conditions as route.c shows it
 * (a fixed request when there is none or it does not parse). Every condition is evaluated
 * twice: from an IPv4 and from an IPv6 client.
 *
 * Compile errors are expected; they must come with a message. `-f NAME` reads the
 * harness's pattern files only (pats, ips, ints, empty: see common.c).
 */
#include <stdlib.h>
#include <string.h>

#include "core/config-int.h"
#include "http/http-int.h"
#include "tests/fuzz/common.h"

#define MAX_CONDS 16

static const char default_req[] = "GET /a/b.php?id=7&q=x;z=1 HTTP/1.1\r\n"
                                  "Host: www.example.com\r\n"
                                  "Cookie: sid=abc; a=3\r\n"
                                  "X-Forwarded-For: 10.1.1.1, 192.168.0.1\r\n"
                                  "\r\n";

static void h1_hdr(const void *req, size_t i, const char **name, size_t *nlen, const char **value,
                   size_t *vlen)
{
    const struct sp_route_h1 *r = req;
    const struct sp_h1_hdr *h = &r->m->hdrs[i];

    FZ_CHECK(i < r->m->nhdrs, "fetch asked for field %zu of %u", i, r->m->nhdrs);
    *name = r->buf + h->name_off;
    *nlen = h->name_len;
    *value = r->buf + h->val_off;
    *vlen = h->val_len;
}

static void check_err(const char *err, size_t errlen)
{
    FZ_CHECK(memchr(err, '\0', errlen) != NULL, "error message not terminated");
    FZ_CHECK(err[0] != '\0', "an error without a message");
    /* (a word made with an escape may hold a newline, which the message quotes: whoever
     * prints it escapes it, see fuzz_config.c) */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    size_t rules_len = size;
    const char *reqp = default_req;
    size_t reqlen = sizeof(default_req) - 1;

    /* the request part */
    for (size_t i = 0; i + 2 <= size; i++) {
        if ((i == 0 || text[i - 1] == '\n') && text[i] == '-' && text[i + 1] == '-' &&
            (i + 2 == size || text[i + 2] == '\n' || text[i + 2] == '\r')) {
            rules_len = i;
            size_t start = i + 2;
            while (start < size && (text[start] == '\r' || text[start] == '\n'))
                start++;
            if (start < size) {
                reqp = text + start;
                reqlen = size - start;
            }
            break;
        }
    }
    char *reqbuf = fz_dup(reqp, reqlen);
    struct sp_h1_msg *m = malloc(sizeof(*m));
    if (!m)
        abort();
    long hl = sp_h1_parse_request(reqbuf, reqlen, 16382, 16383, NULL, m);
    if (hl <= 0) {
        free(reqbuf);
        reqbuf = fz_dup(default_req, sizeof(default_req) - 1);
        hl = sp_h1_parse_request(reqbuf, sizeof(default_req) - 1, 16382, 16383, NULL, m);
        FZ_CHECK(hl > 0, "the default request does not parse: %ld", hl);
    }

    fz_guard = true;
    struct sp_acl_set *set = sp_acl_set_new();
    struct sp_acl_cond *conds[MAX_CONDS];
    int nconds = 0;
    char err[256];
    size_t pos = 0;

    if (!set)
        abort();
    while (pos < rules_len) {
        const char *nl = memchr(text + pos, '\n', rules_len - pos);
        size_t len = nl ? (size_t)(nl - (text + pos)) : rules_len - pos;
        char *out = malloc(len + 1), *argv[SP__CFG_MAX_WORDS + 1];
        const char *terr = NULL;
        if (!out)
            abort();
        int argc = sp__cfg_tokenize(text + pos, len, out, argv, &terr);
        pos += len + 1;
        if (argc <= 0) {
            free(out);
            continue;
        }
        memset(err, 0x5a, sizeof(err));
        if (!strcmp(argv[0], "if") || !strcmp(argv[0], "unless")) {
            struct sp_acl_cond *c =
                sp_acl_cond_parse(set, &fz_resolver, argv, argc, err, sizeof(err));
            if (!c)
                check_err(err, sizeof(err));
            else if (nconds < MAX_CONDS)
                conds[nconds++] = c;
            else
                sp_acl_cond_free(c);
        } else {
            int skip = !strcmp(argv[0], "acl");
            if (argc - skip > 0 &&
                sp_acl_declare(set, &fz_resolver, argv + skip, argc - skip, err, sizeof(err)))
                check_err(err, sizeof(err));
        }
        free(out);
    }

    struct sp_route_h1 req = {.buf = reqbuf, .m = m};
    for (int v6 = 0; v6 < 2; v6++) {
        struct sp_acl_env env = {
            .method = reqbuf + m->method_off,
            .method_len = m->method_len,
            .uri = reqbuf + m->uri_off,
            .uri_len = m->uri_len,
            .version = v6 ? 20 : m->version,
            .nhdrs = m->nhdrs,
            .hdr = h1_hdr,
            .req = &req,
            .src = fz_peer(v6),
            .dst = fz_local(v6),
            .load = fz_load,
            .fe_idx = 0,
            .be_idx = v6 ? 1 : -1,
        };
        for (int i = 0; i < nconds; i++) {
            bool a = sp_acl_cond_eval(conds[i], &env);
            bool b = sp_acl_cond_eval(conds[i], &env);
            FZ_CHECK(a == b, "condition %d: %d then %d on the same request", i, a, b);
            const char *t = sp_acl_cond_text(conds[i]);
            FZ_CHECK(t != NULL, "no text");
        }
    }
    for (int i = 0; i < nconds; i++)
        sp_acl_cond_free(conds[i]);
    sp_acl_set_free(set);
    fz_guard = false;
    free(reqbuf);
    free(m);
    return 0;
}
