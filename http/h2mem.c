/* http/h2mem.c - nghttp2's memory, from per-worker free lists.
 *
 * owner: worker. nghttp2 allocates and frees small objects for every stream and frame
 * (stream state, header fields, frame items); through glibc that was a sixth of the
 * instructions per request under the seed load. A session lives and dies on one worker, so its
 * memory can come from that worker's free lists, by size class, with no lock and no atomic.
 * Blocks carry a 16-byte header (class and size) so that free and realloc need no lookup;
 * sizes above the largest class go straight to malloc.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/poison.h"
#include "core/util.h"
#include "http/http-int.h"

#define HDR 16u

struct hdr {
    uint32_t cls; /* SP_H2MEM_CLASSES: a plain malloc block */
    uint32_t _pad;
    uint64_t size; /* usable bytes */
};

/* header included; steps of about 1.5 so that a block wastes at most a third of itself (an
 * idle session's largest blocks, 2,944 and 1,040 bytes with the header, fit 3,072 and 1,536) */
static const uint16_t class_bytes[SP_H2MEM_CLASSES] = {32,  48,  64,   96,   128,  192,  256, 384,
                                                       512, 768, 1024, 1536, 2048, 3072, 4096};

/* class by 16-byte step of the need: filled on first use */
static uint8_t step_class[4096 / 16];

static size_t class_size(unsigned c)
{
    return class_bytes[c];
}

static unsigned class_of(size_t need)
{
    if (!need || need > 4096)
        return need ? SP_H2MEM_CLASSES : 0;
    return step_class[(need - 1) / 16];
}

static void classes_init(void)
{
    unsigned c = 0;
    for (unsigned i = 0; i < SP_ARRAY_SIZE(step_class); i++) {
        while ((i + 1) * 16 > class_bytes[c])
            c++;
        step_class[i] = (uint8_t)c;
    }
}

static void *mem_malloc(size_t size, void *user)
{
    struct sp_h2mem *m = user;
    unsigned c = class_of(size + HDR);
    struct hdr *h;

    if (c < SP_H2MEM_CLASSES && m->free[c]) {
        h = m->free[c];
        sp_unpoison(h, class_size(c));
        m->free[c] = *(void **)((char *)h + HDR);
        m->nfree[c]--;
    } else {
        h = malloc(c < SP_H2MEM_CLASSES ? class_size(c) : size + HDR);
        if (!h)
            return NULL;
    }
    h->cls = c;
    h->size = c < SP_H2MEM_CLASSES ? class_size(c) - HDR : size;
    return (char *)h + HDR;
}

static void mem_free(void *ptr, void *user)
{
    struct sp_h2mem *m = user;

    if (!ptr)
        return;
    struct hdr *h = (struct hdr *)((char *)ptr - HDR);
    unsigned c = h->cls;
    if (c < SP_H2MEM_CLASSES && m->nfree[c] < SP_H2MEM_MAX_FREE) {
        /* the header (class) and the link stay readable; the rest is poisoned */
        sp_poison(h, HDR + sizeof(void *), class_size(c));
        *(void **)ptr = m->free[c];
        m->free[c] = h;
        m->nfree[c]++;
        return;
    }
    free(h);
}

static void *mem_calloc(size_t n, size_t size, void *user)
{
    if (size && n > SIZE_MAX / size)
        return NULL;
    void *p = mem_malloc(n * size, user);
    if (p)
        memset(p, 0, n * size);
    return p;
}

static void *mem_realloc(void *ptr, size_t size, void *user)
{
    if (!ptr)
        return mem_malloc(size, user);
    struct hdr *h = (struct hdr *)((char *)ptr - HDR);
    if (size <= h->size && h->cls < SP_H2MEM_CLASSES)
        return ptr;
    void *n = mem_malloc(size, user);
    if (!n)
        return NULL;
    memcpy(n, ptr, h->size < size ? h->size : size);
    mem_free(ptr, user);
    return n;
}

void sp__h2mem_init(struct sp_h2mem *m)
{
    static pthread_once_t once = PTHREAD_ONCE_INIT;

    pthread_once(&once, classes_init);
    memset(m, 0, sizeof(*m));
    m->iface.mem_user_data = m;
    m->iface.malloc = mem_malloc;
    m->iface.free = mem_free;
    m->iface.calloc = mem_calloc;
    m->iface.realloc = mem_realloc;
}

void sp__h2mem_destroy(struct sp_h2mem *m)
{
    for (unsigned c = 0; c < SP_H2MEM_CLASSES; c++) {
        while (m->free[c]) {
            struct hdr *h = m->free[c];
            m->free[c] = *(void **)((char *)h + HDR);
            sp_unpoison(h, class_size(c));
            free(h);
        }
        m->nfree[c] = 0;
    }
}
