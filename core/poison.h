/* core/poison.h - make a use after recycle visible.
 *
 * owner: any thread, on memory it owns. spillway's typed free lists (core/pool.h, net/buf.c,
 * http/h2mem.c) recycle objects instead of freeing them, so a stale pointer to a recycled
 * object reads valid-looking memory and AddressSanitizer sees nothing. Every free list
 * therefore poisons an object when it is given back and unpoisons it when it is handed out:
 *
 * - under ASan, the bytes become unaddressable (ASAN_POISON_MEMORY_REGION): any access is a
 *   report with the stack of the access;
 * - in other builds without NDEBUG (the default debugoptimized and debug builds), they are
 *   filled with SP_POISON_BYTE, so a stale function pointer calls 0x5b5b... and a stale
 *   length is absurd, instead of either looking plausible;
 * - in release builds, nothing (no cost).
 *
 * The first `keep` bytes stay untouched: that is where a free list keeps its link.
 */
#ifndef SP_CORE_POISON_H
#define SP_CORE_POISON_H

#include <stddef.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define SP_POISON_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SP_POISON_ASAN 1
#endif
#endif

#ifdef SP_POISON_ASAN
#include <sanitizer/asan_interface.h>
#endif

#define SP_POISON_BYTE 0x5b

/* any thread, on memory the caller owns (the free list's owner). Marks [p + keep, p + size)
 * as freed. */
static inline void sp_poison(void *p, size_t keep, size_t size)
{
    if (size <= keep)
        return;
#if defined(SP_POISON_ASAN)
    ASAN_POISON_MEMORY_REGION((char *)p + keep, size - keep);
#elif !defined(NDEBUG)
    memset((char *)p + keep, SP_POISON_BYTE, size - keep);
#else
    (void)p;
#endif
}

/* any thread, on memory the caller owns. Makes [p, p + size) usable again (its content is
 * undefined: the caller initialises it). */
static inline void sp_unpoison(void *p, size_t size)
{
#if defined(SP_POISON_ASAN)
    ASAN_UNPOISON_MEMORY_REGION(p, size);
#else
    (void)p;
    (void)size;
#endif
}

#endif
