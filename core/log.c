#include "core/log.h"

#include <ck_pr.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

int sp_log_verbosity = SP_LOG_NOTICE;

static const char *const level_names[] = {"[ALERT]", "[WARNING]", "[NOTICE]", "[DEBUG]"};

/* the formatted line before escaping, and after (4 bytes per byte at worst) */
#define LINE_MAX_RAW 1024
#define LINE_MAX_ESC (4 * LINE_MAX_RAW + 1)

/* Length of the valid, printable UTF-8 sequence at s[0..len), or 0 when it is not one (a
 * stray continuation byte, an overlong form, a surrogate, beyond U+10FFFF, truncated, or a C1
 * control). */
static size_t utf8_len(const unsigned char *s, size_t len)
{
    unsigned char c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xbf; /* allowed range of the second byte */

    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0; /* overlong */
    else if (c == 0xed)
        hi = 0x9f; /* surrogates */
    else if (c == 0xf0)
        lo = 0x90; /* overlong */
    else if (c == 0xf4)
        hi = 0x8f; /* beyond U+10FFFF */
    if (len < n || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++)
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    if (c == 0xc2 && s[1] <= 0x9f)
        return 0; /* C1 controls: as dangerous on a terminal as their 7-bit forms */
    return n;
}

size_t sp_log_escape(char *dst, size_t size, const char *src, size_t len)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *s = (const unsigned char *)src;
    size_t o = 0, i = 0;

    if (!size)
        return 0;
    while (i < len) {
        unsigned char c = s[i];
        size_t n = 1;

        if (c >= 0x20 && c < 0x7f) {
            if (o + 1 >= size)
                break;
            dst[o++] = (char)c;
        } else if (c >= 0x80 && (n = utf8_len(s + i, len - i)) > 0) {
            if (o + n >= size)
                break;
            memcpy(dst + o, s + i, n);
            o += n;
        } else {
            n = 1;
            if (o + 4 >= size)
                break;
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[c >> 4];
            dst[o++] = hex[c & 15];
        }
        i += n;
    }
    dst[o] = '\0';
    return o;
}

static void vlog(enum sp_log_level lvl, uint64_t suppressed, const char *fmt, va_list ap)
{
    char line[LINE_MAX_RAW], esc[LINE_MAX_ESC];
    int n = vsnprintf(line, sizeof(line), fmt, ap);

    if (n < 0)
        return;
    if ((size_t)n >= sizeof(line))
        n = (int)sizeof(line) - 1;
    sp_log_escape(esc, sizeof(esc), line, (size_t)n);
    if (suppressed)
        fprintf(stderr, "%s %s (%llu similar message%s suppressed)\n", level_names[lvl], esc,
                (unsigned long long)suppressed, suppressed > 1 ? "s" : "");
    else
        fprintf(stderr, "%s %s\n", level_names[lvl], esc);
}

static unsigned nwarnings;

unsigned sp_log_nwarnings_mt(void)
{
    return ck_pr_load_uint(&nwarnings);
}

void sp_log(enum sp_log_level lvl, const char *fmt, ...)
{
    va_list ap;

    if (lvl == SP_LOG_WARNING)
        ck_pr_inc_uint(&nwarnings);
    if (!sp_log_enabled(lvl))
        return;
    va_start(ap, fmt);
    vlog(lvl, 0, fmt, ap);
    va_end(ap);
}

bool sp_log_rl_pass_mt(struct sp_log_rl *rl, uint64_t now_ms, uint64_t *ret_suppressed)
{
    uint64_t next = ck_pr_load_64(&rl->next_ms);

    /* one winner per interval: the thread whose CAS moves the window on prints; everyone
     * else (too early, or beaten to it) only counts. A count that lands just after the
     * winner took the total is reported by the next line, never lost. */
    if (now_ms < next || !ck_pr_cas_64(&rl->next_ms, next, now_ms + SP_LOG_RL_INTERVAL_MS)) {
        ck_pr_inc_64(&rl->suppressed);
        return false;
    }
    *ret_suppressed = ck_pr_fas_64(&rl->suppressed, 0);
    return true;
}

void sp_log_rl_mt(struct sp_log_rl *rl, enum sp_log_level lvl, const char *fmt, ...)
{
    struct timespec ts;
    uint64_t suppressed;
    va_list ap;

    if (!sp_log_enabled(lvl))
        return;
    /* the coarse clock is a vDSO read of the last tick: precise enough for a 1 s window */
    clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
    if (!sp_log_rl_pass_mt(rl, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000,
                           &suppressed))
        return;
    va_start(ap, fmt);
    vlog(lvl, suppressed, fmt, ap);
    va_end(ap);
}
