/* net/buf.h - I/O buffers and the per-worker buffer pool.
 *
 * owner: worker. A buffer's storage comes from its worker's pool and goes back to it; nothing
 * here is thread-safe. Storage is attached lazily (first read) and given back as soon as the
 * buffer is empty and the connection idle, so an idle keep-alive connection holds no buffer.
 *
 * Layout: bytes [head, tail) of data[0..size) are pending. Readers append at tail, consumers
 * take from head; sp_buf_realign() moves pending bytes to the front when the tail reaches the
 * end. Buffers are tune.bufsize bytes (16 KiB by default).
 */
#ifndef SP_NET_BUF_H
#define SP_NET_BUF_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* owner: worker */
struct sp_buf {
    char *data; /* NULL: no storage attached */
    uint32_t size;
    uint32_t head;
    uint32_t tail;
};

/* owner: worker. A LIFO free list of equal-sized blocks. */
struct sp_bufpool {
    void *free;        /* singly linked through the first word of each free block */
    unsigned nfree;    /* blocks on the free list */
    unsigned max_free; /* above this, put() frees to malloc instead of caching */
    unsigned used;     /* blocks handed out and not yet returned */
    uint32_t size;     /* bytes per block */
};

void sp_bufpool_init(struct sp_bufpool *p, uint32_t size, unsigned max_free);
/* Frees every cached block. Blocks still handed out are the caller's leak. */
void sp_bufpool_destroy(struct sp_bufpool *p);

/* Attaches storage to `b` if it has none. Returns 0 or -ENOMEM. */
int sp_buf_alloc(struct sp_buf *b, struct sp_bufpool *p);
/* Gives the storage back if the buffer is empty (or unconditionally with `force`). */
void sp_buf_release(struct sp_buf *b, struct sp_bufpool *p, int force);

static inline uint32_t sp_buf_len(const struct sp_buf *b)
{
    return b->tail - b->head;
}

static inline uint32_t sp_buf_room(const struct sp_buf *b)
{
    return b->size - b->tail;
}

/* free space counting what sp_buf_realign() would recover */
static inline uint32_t sp_buf_space(const struct sp_buf *b)
{
    return b->size - sp_buf_len(b);
}

static inline char *sp_buf_head(const struct sp_buf *b)
{
    return b->data + b->head;
}

static inline char *sp_buf_tail(const struct sp_buf *b)
{
    return b->data + b->tail;
}

static inline void sp_buf_consume(struct sp_buf *b, uint32_t n)
{
    b->head += n;
    if (b->head == b->tail)
        b->head = b->tail = 0;
}

static inline void sp_buf_realign(struct sp_buf *b)
{
    if (b->head) {
        memmove(b->data, b->data + b->head, b->tail - b->head);
        b->tail -= b->head;
        b->head = 0;
    }
}

/* Appends n bytes; the caller checked sp_buf_room() (realigning first if needed). */
static inline void sp_buf_put(struct sp_buf *b, const void *p, uint32_t n)
{
    memcpy(b->data + b->tail, p, n);
    b->tail += n;
}

/* Hands the storage of `from`, bytes included, to the empty buffer `to`, whose own storage (or
 * none) goes back to `from`, emptied: a move of the bytes without copying them. Both belong
 * to the same pool. */
static inline void sp_buf_move(struct sp_buf *to, struct sp_buf *from)
{
    struct sp_buf empty = *to;

    *to = *from;
    *from = empty;
    from->head = from->tail = 0;
}

/* Appends as much as fits (realigning when that makes room); returns the bytes taken. */
uint32_t sp_buf_append(struct sp_buf *b, const void *p, uint32_t n);

#endif
