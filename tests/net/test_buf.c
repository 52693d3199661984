/* tests/net/test_buf.c - I/O buffers and the per-worker buffer pool of net/buf.c.
 * Blocks freed to malloc rather than cached are checked by LeakSanitizer in sanitizer builds. */
#include "net/buf.h"

#include "tests/unit.h"

#include <stdbool.h>

#define BLK 64

static void fill(char *p, uint32_t n, unsigned seed)
{
    for (uint32_t i = 0; i < n; i++)
        p[i] = (char)(seed + i * 7);
}

static bool check(const char *p, uint32_t n, unsigned seed)
{
    for (uint32_t i = 0; i < n; i++)
        if (p[i] != (char)(seed + i * 7))
            return false;
    return true;
}

static void test_pool_init(void)
{
    struct sp_bufpool p;
    sp_bufpool_init(&p, BLK, 4);
    CU_ASSERT_PTR_NULL(p.free);
    CU_ASSERT_EQUAL(p.nfree, 0);
    CU_ASSERT_EQUAL(p.max_free, 4);
    CU_ASSERT_EQUAL(p.used, 0);
    CU_ASSERT_EQUAL(p.size, BLK);
    sp_bufpool_destroy(&p); /* empty pool */
    CU_ASSERT_PTR_NULL(p.free);
}

static void test_alloc_release(void)
{
    struct sp_bufpool p;
    struct sp_buf b = {0};
    sp_bufpool_init(&p, BLK, 4);

    CU_ASSERT_EQUAL(sp_buf_alloc(&b, &p), 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(b.data);
    CU_ASSERT_EQUAL(b.size, BLK);
    CU_ASSERT_EQUAL(b.head, 0);
    CU_ASSERT_EQUAL(b.tail, 0);
    CU_ASSERT_EQUAL(p.used, 1);
    CU_ASSERT_EQUAL(p.nfree, 0);
    memset(b.data, 0xa5, BLK); /* the whole block is ours */

    /* storage already attached: no second block */
    char *data = b.data;
    CU_ASSERT_EQUAL(sp_buf_alloc(&b, &p), 0);
    CU_ASSERT_PTR_EQUAL(b.data, data);
    CU_ASSERT_EQUAL(p.used, 1);

    sp_buf_release(&b, &p, 0);
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL(b.size, 0);
    CU_ASSERT_EQUAL(sp_buf_len(&b), 0);
    CU_ASSERT_EQUAL(sp_buf_room(&b), 0);
    CU_ASSERT_EQUAL(sp_buf_space(&b), 0);
    CU_ASSERT_EQUAL(p.used, 0);
    CU_ASSERT_EQUAL(p.nfree, 1);

    /* releasing a buffer without storage changes nothing, forced or not */
    sp_buf_release(&b, &p, 0);
    sp_buf_release(&b, &p, 1);
    CU_ASSERT_EQUAL(p.used, 0);
    CU_ASSERT_EQUAL(p.nfree, 1);

    /* the cached block comes back */
    CU_ASSERT_EQUAL(sp_buf_alloc(&b, &p), 0);
    CU_ASSERT_PTR_EQUAL(b.data, data);
    CU_ASSERT_EQUAL(p.used, 1);
    CU_ASSERT_EQUAL(p.nfree, 0);
    CU_ASSERT_PTR_NULL(p.free);
    sp_buf_release(&b, &p, 0);
    sp_bufpool_destroy(&p);
    CU_ASSERT_EQUAL(p.nfree, 0);
    CU_ASSERT_PTR_NULL(p.free);
}

static void test_lifo(void)
{
    struct sp_bufpool p;
    struct sp_buf b[3] = {{0}};
    char *data[3];
    sp_bufpool_init(&p, BLK, 8);
    for (int i = 0; i < 3; i++) {
        CU_ASSERT_EQUAL_FATAL(sp_buf_alloc(&b[i], &p), 0);
        data[i] = b[i].data;
    }
    CU_ASSERT_EQUAL(p.used, 3);
    for (int i = 0; i < 3; i++)
        sp_buf_release(&b[i], &p, 0);
    CU_ASSERT_EQUAL(p.used, 0);
    CU_ASSERT_EQUAL(p.nfree, 3);
    /* last released, first handed out: the block most likely still in cache */
    for (int i = 2; i >= 0; i--) {
        struct sp_buf x = {0};
        CU_ASSERT_EQUAL(sp_buf_alloc(&x, &p), 0);
        CU_ASSERT_PTR_EQUAL(x.data, data[i]);
        CU_ASSERT_EQUAL(p.nfree, (unsigned)i);
        b[i] = x;
    }
    CU_ASSERT_EQUAL(p.used, 3);
    /* interleaved */
    sp_buf_release(&b[1], &p, 0);
    sp_buf_release(&b[0], &p, 0);
    CU_ASSERT_EQUAL(sp_buf_alloc(&b[0], &p), 0);
    CU_ASSERT_PTR_EQUAL(b[0].data, data[0]);
    sp_buf_release(&b[2], &p, 0);
    CU_ASSERT_EQUAL(sp_buf_alloc(&b[2], &p), 0);
    CU_ASSERT_PTR_EQUAL(b[2].data, data[2]);
    CU_ASSERT_EQUAL(sp_buf_alloc(&b[1], &p), 0);
    CU_ASSERT_PTR_EQUAL(b[1].data, data[1]);
    CU_ASSERT_EQUAL(p.nfree, 0);
    CU_ASSERT_EQUAL(p.used, 3);
    for (int i = 0; i < 3; i++)
        sp_buf_release(&b[i], &p, 0);
    sp_bufpool_destroy(&p);
}

static void test_max_free(void)
{
    struct sp_bufpool p;
    struct sp_buf b[5] = {{0}};
    sp_bufpool_init(&p, BLK, 2);
    for (int i = 0; i < 5; i++)
        CU_ASSERT_EQUAL_FATAL(sp_buf_alloc(&b[i], &p), 0);
    CU_ASSERT_EQUAL(p.used, 5);
    static const unsigned nfree[5] = {1, 2, 2, 2, 2};
    for (int i = 0; i < 5; i++) {
        sp_buf_release(&b[i], &p, 0);
        CU_ASSERT_PTR_NULL(b[i].data);
        CU_ASSERT_EQUAL(p.used, 4 - (unsigned)i);
        CU_ASSERT_EQUAL(p.nfree, nfree[i]);
    }
    /* the two cached blocks are the first two released, last first */
    char *cached1 = p.free, *cached0 = *(char **)p.free;
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(sp_buf_alloc(&b[i], &p), 0);
    CU_ASSERT_PTR_EQUAL(b[0].data, cached1);
    CU_ASSERT_PTR_EQUAL(b[1].data, cached0);
    CU_ASSERT_EQUAL(p.nfree, 0);
    CU_ASSERT_EQUAL(p.used, 3);
    for (int i = 0; i < 3; i++)
        sp_buf_release(&b[i], &p, 0);
    CU_ASSERT_EQUAL(p.nfree, 2);
    sp_bufpool_destroy(&p);

    /* max_free 0: nothing is ever cached */
    sp_bufpool_init(&p, BLK, 0);
    CU_ASSERT_EQUAL(sp_buf_alloc(&b[0], &p), 0);
    sp_buf_release(&b[0], &p, 0);
    CU_ASSERT_EQUAL(p.nfree, 0);
    CU_ASSERT_EQUAL(p.used, 0);
    CU_ASSERT_PTR_NULL(p.free);
    sp_bufpool_destroy(&p);
}

static void test_release_nonempty(void)
{
    struct sp_bufpool p;
    struct sp_buf b = {0};
    sp_bufpool_init(&p, BLK, 4);
    CU_ASSERT_EQUAL_FATAL(sp_buf_alloc(&b, &p), 0);
    CU_ASSERT_EQUAL(sp_buf_append(&b, "abc", 3), 3);
    char *data = b.data;

    sp_buf_release(&b, &p, 0); /* pending bytes: kept */
    CU_ASSERT_PTR_EQUAL(b.data, data);
    CU_ASSERT_EQUAL(sp_buf_len(&b), 3);
    CU_ASSERT_EQUAL(memcmp(sp_buf_head(&b), "abc", 3), 0);
    CU_ASSERT_EQUAL(p.used, 1);
    CU_ASSERT_EQUAL(p.nfree, 0);

    /* partly consumed is still not empty */
    sp_buf_consume(&b, 1);
    sp_buf_release(&b, &p, 0);
    CU_ASSERT_PTR_EQUAL(b.data, data);
    CU_ASSERT_EQUAL(sp_buf_len(&b), 2);

    sp_buf_release(&b, &p, 1); /* forced: dropped with its bytes */
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL(b.size, 0);
    CU_ASSERT_EQUAL(b.head, 0);
    CU_ASSERT_EQUAL(b.tail, 0);
    CU_ASSERT_EQUAL(p.used, 0);
    CU_ASSERT_EQUAL(p.nfree, 1);

    /* a reused block starts empty whatever it held */
    CU_ASSERT_EQUAL(sp_buf_alloc(&b, &p), 0);
    CU_ASSERT_PTR_EQUAL(b.data, data);
    CU_ASSERT_EQUAL(sp_buf_len(&b), 0);
    CU_ASSERT_EQUAL(sp_buf_room(&b), BLK);
    sp_buf_consume(&b, 0);
    sp_buf_release(&b, &p, 0); /* empty: released */
    CU_ASSERT_PTR_NULL(b.data);
    sp_bufpool_destroy(&p);
}

static void test_space_room(void)
{
    struct sp_bufpool p;
    struct sp_buf b = {0};
    char src[BLK];
    fill(src, BLK, 1);
    sp_bufpool_init(&p, BLK, 1);
    CU_ASSERT_EQUAL_FATAL(sp_buf_alloc(&b, &p), 0);

    CU_ASSERT_EQUAL(sp_buf_len(&b), 0);
    CU_ASSERT_EQUAL(sp_buf_room(&b), BLK);
    CU_ASSERT_EQUAL(sp_buf_space(&b), BLK);
    CU_ASSERT_PTR_EQUAL(sp_buf_head(&b), b.data);
    CU_ASSERT_PTR_EQUAL(sp_buf_tail(&b), b.data);

    sp_buf_put(&b, src, 40);
    CU_ASSERT_EQUAL(sp_buf_len(&b), 40);
    CU_ASSERT_EQUAL(sp_buf_room(&b), BLK - 40);
    CU_ASSERT_EQUAL(sp_buf_space(&b), BLK - 40);
    CU_ASSERT_PTR_EQUAL(sp_buf_tail(&b), b.data + 40);

    sp_buf_consume(&b, 10);
    CU_ASSERT_EQUAL(sp_buf_len(&b), 30);
    CU_ASSERT_EQUAL(sp_buf_room(&b), BLK - 40);  /* only at the tail */
    CU_ASSERT_EQUAL(sp_buf_space(&b), BLK - 30); /* counting the consumed head */
    CU_ASSERT_PTR_EQUAL(sp_buf_head(&b), b.data + 10);
    CU_ASSERT_TRUE(check(sp_buf_head(&b), 30, 1 + 10 * 7));

    sp_buf_realign(&b);
    CU_ASSERT_EQUAL(b.head, 0);
    CU_ASSERT_EQUAL(b.tail, 30);
    CU_ASSERT_EQUAL(sp_buf_room(&b), BLK - 30);
    CU_ASSERT_EQUAL(sp_buf_space(&b), BLK - 30);
    CU_ASSERT_TRUE(check(sp_buf_head(&b), 30, 1 + 10 * 7));
    sp_buf_realign(&b); /* aligned already: no change */
    CU_ASSERT_EQUAL(b.tail, 30);
    CU_ASSERT_TRUE(check(sp_buf_head(&b), 30, 1 + 10 * 7));

    /* full */
    sp_buf_put(&b, src, BLK - 30);
    CU_ASSERT_EQUAL(sp_buf_len(&b), BLK);
    CU_ASSERT_EQUAL(sp_buf_room(&b), 0);
    CU_ASSERT_EQUAL(sp_buf_space(&b), 0);

    sp_buf_consume(&b, BLK);
    sp_buf_release(&b, &p, 0);
    sp_bufpool_destroy(&p);
}

static void test_consume(void)
{
    struct sp_bufpool p;
    struct sp_buf b = {0};
    sp_bufpool_init(&p, BLK, 1);
    CU_ASSERT_EQUAL_FATAL(sp_buf_alloc(&b, &p), 0);

    CU_ASSERT_EQUAL(sp_buf_append(&b, "hello world", 11), 11);
    sp_buf_consume(&b, 6);
    CU_ASSERT_EQUAL(b.head, 6);
    CU_ASSERT_EQUAL(b.tail, 11);
    CU_ASSERT_EQUAL(memcmp(sp_buf_head(&b), "world", 5), 0);
    sp_buf_consume(&b, 5); /* to empty in steps: head and tail back to the start */
    CU_ASSERT_EQUAL(b.head, 0);
    CU_ASSERT_EQUAL(b.tail, 0);
    CU_ASSERT_EQUAL(sp_buf_room(&b), BLK);

    CU_ASSERT_EQUAL(sp_buf_append(&b, "xyz", 3), 3);
    sp_buf_consume(&b, 3); /* to empty at once */
    CU_ASSERT_EQUAL(b.head, 0);
    CU_ASSERT_EQUAL(b.tail, 0);

    /* a full buffer consumed to empty has its whole room back without a realign */
    char src[BLK];
    fill(src, BLK, 3);
    CU_ASSERT_EQUAL(sp_buf_append(&b, src, BLK), BLK);
    CU_ASSERT_EQUAL(sp_buf_room(&b), 0);
    sp_buf_consume(&b, BLK - 1);
    CU_ASSERT_EQUAL(sp_buf_room(&b), 0);
    sp_buf_consume(&b, 1);
    CU_ASSERT_EQUAL(sp_buf_room(&b), BLK);

    sp_buf_release(&b, &p, 0);
    CU_ASSERT_PTR_NULL(b.data);
    sp_bufpool_destroy(&p);
}

static void test_append(void)
{
    struct sp_bufpool p;
    struct sp_buf b = {0};
    char src[2 * BLK];
    fill(src, sizeof(src), 5);
    sp_bufpool_init(&p, BLK, 1);
    CU_ASSERT_EQUAL_FATAL(sp_buf_alloc(&b, &p), 0);

    /* fits at the tail: no realign */
    CU_ASSERT_EQUAL(sp_buf_append(&b, src, 40), 40);
    sp_buf_consume(&b, 30);
    CU_ASSERT_EQUAL(sp_buf_append(&b, src + 40, 20), 20);
    CU_ASSERT_EQUAL(b.head, 30);
    CU_ASSERT_EQUAL(b.tail, 60);
    CU_ASSERT_TRUE(check(sp_buf_head(&b), 30, 5 + 30 * 7));

    /* room 4 < 20 but space 34 >= 20: realigns, then fits */
    CU_ASSERT_EQUAL(sp_buf_append(&b, src + 60, 20), 20);
    CU_ASSERT_EQUAL(b.head, 0);
    CU_ASSERT_EQUAL(b.tail, 50);
    CU_ASSERT_TRUE(check(sp_buf_head(&b), 50, 5 + 30 * 7));

    /* more than the space: takes what fits after a realign */
    sp_buf_consume(&b, 10);
    CU_ASSERT_EQUAL(sp_buf_append(&b, src + 80, 48), BLK - 40);
    CU_ASSERT_EQUAL(b.head, 0);
    CU_ASSERT_EQUAL(b.tail, BLK);
    CU_ASSERT_TRUE(check(sp_buf_head(&b), BLK, 5 + 40 * 7));

    /* full: nothing taken, nothing moved */
    CU_ASSERT_EQUAL(sp_buf_append(&b, src, 1), 0);
    CU_ASSERT_EQUAL(sp_buf_len(&b), BLK);
    CU_ASSERT_EQUAL(sp_buf_append(&b, src, 0), 0);

    /* empty buffer, more than a block */
    sp_buf_consume(&b, BLK);
    CU_ASSERT_EQUAL(sp_buf_append(&b, src, sizeof(src)), BLK);
    CU_ASSERT_TRUE(check(sp_buf_head(&b), BLK, 5));

    /* a stream through the buffer in odd-sized pieces comes out intact */
    sp_buf_consume(&b, BLK);
    char out[4096], in[4096];
    fill(in, sizeof(in), 11);
    uint32_t wr = 0, rd = 0;
    unsigned step = 0;
    while (rd < sizeof(in)) {
        uint32_t want = (step * 13) % 50 + 1;
        if (want > sizeof(in) - wr)
            want = sizeof(in) - wr;
        wr += sp_buf_append(&b, in + wr, want);
        uint32_t take = (step * 7) % 45 + 1;
        if (take > sp_buf_len(&b))
            take = sp_buf_len(&b);
        memcpy(out + rd, sp_buf_head(&b), take);
        sp_buf_consume(&b, take);
        rd += take;
        CU_ASSERT_FATAL(++step < 10000);
    }
    CU_ASSERT_EQUAL(memcmp(in, out, sizeof(in)), 0);
    CU_ASSERT_EQUAL(sp_buf_len(&b), 0);
    CU_ASSERT_EQUAL(b.head, 0);

    sp_buf_release(&b, &p, 0);
    sp_bufpool_destroy(&p);
}

/* storage is attached lazily: appending before that takes nothing (and must not touch NULL) */
static void test_append_unattached(void)
{
    struct sp_buf b = {0};
    CU_ASSERT_EQUAL(sp_buf_append(&b, "abc", 3), 0);
    CU_ASSERT_EQUAL(sp_buf_append(&b, "abc", 0), 0);
    CU_ASSERT_EQUAL(sp_buf_append(&b, NULL, 0), 0);
    CU_ASSERT_PTR_NULL(b.data);
    CU_ASSERT_EQUAL(sp_buf_len(&b), 0);
    CU_ASSERT_EQUAL(sp_buf_room(&b), 0);
    CU_ASSERT_EQUAL(sp_buf_space(&b), 0);
}

static void test_move(void)
{
    struct sp_bufpool p;
    struct sp_buf from = {0}, to = {0};

    sp_bufpool_init(&p, 64, 4);
    CU_ASSERT_EQUAL(sp_buf_alloc(&from, &p), 0);
    sp_buf_append(&from, "head:body", 9);
    sp_buf_consume(&from, 5);
    char *storage = from.data;
    /* into a buffer with no storage: `from` is left with none */
    sp_buf_move(&to, &from);
    CU_ASSERT_PTR_EQUAL(to.data, storage);
    CU_ASSERT_EQUAL(sp_buf_len(&to), 4);
    CU_ASSERT(!memcmp(sp_buf_head(&to), "body", 4));
    CU_ASSERT_PTR_NULL(from.data);
    CU_ASSERT_EQUAL(sp_buf_len(&from), 0);
    /* into an empty buffer with storage: `from` gets that storage back, empty */
    CU_ASSERT_EQUAL(sp_buf_alloc(&from, &p), 0);
    sp_buf_append(&from, "more", 4);
    char *second = from.data;
    sp_buf_consume(&to, 4);
    sp_buf_move(&to, &from);
    CU_ASSERT_PTR_EQUAL(to.data, second);
    CU_ASSERT(!memcmp(sp_buf_head(&to), "more", 4));
    CU_ASSERT_PTR_EQUAL(from.data, storage);
    CU_ASSERT_EQUAL(from.head, 0);
    CU_ASSERT_EQUAL(from.tail, 0);
    CU_ASSERT_EQUAL(p.used, 2);
    sp_buf_release(&to, &p, 1);
    sp_buf_release(&from, &p, 1);
    CU_ASSERT_EQUAL(p.used, 0);
    sp_bufpool_destroy(&p);
}

void test_buf_register(void)
{
    CU_pSuite s = sp_unit_suite("net/buf");
    sp_unit_test(s, "pool init and destroy", test_pool_init);
    sp_unit_test(s, "alloc and release", test_alloc_release);
    sp_unit_test(s, "pool reuse is LIFO", test_lifo);
    sp_unit_test(s, "max_free respected", test_max_free);
    sp_unit_test(s, "release only when empty unless forced", test_release_nonempty);
    sp_unit_test(s, "space and room", test_space_room);
    sp_unit_test(s, "consume to empty resets", test_consume);
    sp_unit_test(s, "append with realign", test_append);
    sp_unit_test(s, "append without storage", test_append_unattached);
    sp_unit_test(s, "move hands storage over without a copy", test_move);
}
