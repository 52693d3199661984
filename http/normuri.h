/* http/normuri.h - HAProxy 2.6's `http-request normalize-uri` normalizers, as pure functions
 * over a request target's path and query (everything from the path's first byte on).
 *
 * pure: any thread. HAProxy's names and meaning (src/uri_normalizer.c):
 *  - fragment-encode: '#' becomes "%23"; fragment-strip: '#' and what follows go;
 *  - path-merge-slashes: runs of '/' in the path become one;
 *  - path-strip-dot: "." segments of the path go;
 *  - path-strip-dotdot: a ".." segment removes itself and the segment before it; with `full`
 *    the ".." segments that would climb above the root go too;
 *  - percent-decode-unreserved: %XX encoding an unreserved character (ALPHA DIGIT - . _ ~)
 *    is decoded; percent-to-uppercase: the hex digits of %xx go upper case. With `strict`
 *    an invalid %-sequence fails the request (400, as HAProxy); without, it stays as is;
 *  - query-sort-by-name: the query's parameters sorted by name (stable, '&'-separated).
 */
#ifndef SP_HTTP_NORMURI_H
#define SP_HTTP_NORMURI_H

#include <stddef.h>

enum {
    SP_NORMURI_FRAGMENT_ENCODE = 1,
    SP_NORMURI_FRAGMENT_STRIP,
    SP_NORMURI_MERGE_SLASHES,
    SP_NORMURI_STRIP_DOT,
    SP_NORMURI_STRIP_DOTDOT,
    SP_NORMURI_PERCENT_DECODE,
    SP_NORMURI_PERCENT_UPPER,
    SP_NORMURI_QUERY_SORT,
    SP_NORMURI_KIND = 0xff,
    SP_NORMURI_OPT = 0x100, /* `full` or `strict` was given */
};

/* pure. The normalizer named `name` (with `opt`, the next word, when it is its option): its code,
 * SP_NORMURI_OPT set when `opt` was taken, or -1 for an unknown name. */
int sp__normuri_parse(const char *name, const char *opt);

/* pure. Applies normalizer `code` to in[0..len) (path, query and fragment) into out[0..cap).
 * Returns the new length, -ENOSPC when it does not fit, -EINVAL for an invalid %-sequence
 * under `strict`. */
long sp__normuri_apply(int code, const char *in, size_t len, char *out, size_t cap);

#endif
