/* core/regexcost.c - how much a POSIX extended regex costs glibc's regcomp() (core/regexcost.h). */
#include "core/regexcost.h"

#include <stdint.h>
#include <string.h>

#define SAT       ((uint64_t)1 << 40) /* well past every limit: sums and products stop here */
#define MAX_DEPTH 256

static uint64_t add(uint64_t a, uint64_t b)
{
    return a + b > SAT ? SAT : a + b;
}

static uint64_t mul(uint64_t a, uint64_t b)
{
    return b && a > SAT / b ? SAT : a * b;
}

/* An interval "{m}", "{m,}" or "{m,n}" at p: its length (0 when it is not one: glibc then
 * takes the brace literally) and how many copies of its operand glibc makes. */
static size_t interval(const char *p, uint64_t *ret_factor)
{
    const char *q = p + 1;
    uint64_t m = 0, n = 0;
    bool comma = false, has_n = false;

    if (*q < '0' || *q > '9')
        return 0;
    while (*q >= '0' && *q <= '9')
        m = m < SAT ? m * 10 + (uint64_t)(*q++ - '0') : SAT;
    if (*q == ',') {
        comma = true;
        q++;
        while (*q >= '0' && *q <= '9') {
            has_n = true;
            n = n < SAT ? n * 10 + (uint64_t)(*q++ - '0') : SAT;
        }
    }
    if (*q != '}')
        return 0;
    uint64_t f = !comma ? m : has_n ? (n > m ? n : m) : m + 1;
    *ret_factor = f ? f : 1;
    return (size_t)(q - p) + 1;
}

/* The end of a bracket expression starting at p ('['), or NULL when it does not end. */
static const char *bracket_end(const char *p)
{
    p++;
    if (*p == '^')
        p++;
    if (*p == ']')
        p++;
    while (*p && *p != ']') {
        if (*p == '[' && (p[1] == ':' || p[1] == '=' || p[1] == '.')) {
            char c = p[1];
            const char *e = p + 2;
            while (*e && !(e[0] == c && e[1] == ']'))
                e++;
            if (!*e)
                return NULL;
            p = e + 2;
            continue;
        }
        p++;
    }
    return *p ? p : NULL;
}

int sp_regex_cost(const char *pattern, size_t max_copies, char *why, size_t whylen)
{
    struct frame {
        uint64_t sum, last;
    } st[MAX_DEPTH + 1];
    int depth = 0;
    uint64_t atoms = 0;

    st[0].sum = st[0].last = 0;
    for (const char *p = pattern; *p;) {
        struct frame *f = &st[depth];
        uint64_t factor = 0;
        size_t il;

        switch (*p) {
        case '(':
            if (depth == MAX_DEPTH) {
                snprintf(why, whylen, "more than %d nested groups", MAX_DEPTH);
                return -1;
            }
            f->sum = add(f->sum, f->last);
            f->last = 0;
            st[++depth] = (struct frame){0, 0};
            p++;
            continue;
        case ')':
            if (!depth) { /* an unmatched ')' is an ordinary character in ERE */
                f->sum = add(f->sum, f->last);
                f->last = 1;
                atoms++;
                p++;
                continue;
            }
            depth--;
            st[depth].sum = add(st[depth].sum, st[depth].last);
            st[depth].last = add(f->sum, f->last);
            p++;
            continue;
        case '|':
            f->sum = add(f->sum, f->last);
            f->last = 0;
            p++;
            continue;
        case '*':
        case '?':
            p++; /* no copy: glibc loops or branches on the operand itself */
            continue;
        case '+':
            factor = 2; /* glibc makes a+ into aa* */
            p++;
            break;
        case '{':
            il = interval(p, &factor);
            if (!il)
                goto atom; /* a literal brace */
            p += il;
            break;
        default:
        atom : {
            const char *e = p;
            if (*p == '[' && (e = bracket_end(p)) != NULL)
                p = e + 1;
            else if (*p == '\\' && p[1])
                p += 2;
            else
                p++;
            f->sum = add(f->sum, f->last);
            f->last = 1;
            atoms++;
            continue;
        }
        }
        /* a repetition of what came last: the copies glibc makes of it */
        f->last = mul(f->last, factor);
    }
    while (depth > 0) { /* unbalanced: regcomp refuses it; the estimate closes them */
        depth--;
        st[depth].sum = add(st[depth].sum, st[depth].last);
        st[depth].last = add(st[depth + 1].sum, st[depth + 1].last);
    }
    uint64_t total = add(st[0].sum, st[0].last);
    uint64_t copies = total > atoms ? total - atoms : 0;
    if (copies > max_copies) {
        snprintf(why, whylen,
                 "its repetitions make more than %zu copies of its parts (glibc's regcomp would "
                 "need gigabytes and seconds for it)",
                 max_copies);
        return -1;
    }
    return (int)SP_MIN(copies, (uint64_t)INT32_MAX);
}
