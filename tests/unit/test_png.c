/* test_png.c -- util/png: file structure (signature, IHDR, IDAT, IEND),
 * chunk CRCs, and the IDAT zlib stream inflated back to the filtered rows.
 * The IHDR and IEND CRCs were computed independently with Python's
 * zlib.crc32 and hard-coded; deflate output itself varies with the zlib
 * version, so it is checked by round trip only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "util/buf.h"
#include "util/png.h"

#include <errno.h>
#include <string.h>
#include <zlib.h>

static uint32_t
be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

struct chunk {
    char type[5];
    const unsigned char *data;
    uint32_t n, crc;
};

/* Splits a PNG into at most max chunks after checking the signature;
 * returns the count. Fails the test on a truncated file. */
static size_t
split(const struct buf *b, struct chunk *c, size_t max)
{
    static const unsigned char sig[8] = {0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a};
    const unsigned char *p = (const unsigned char *)b->p;
    size_t off = 8, n = 0;

    assert_true(b->n >= 8);
    assert_memory_equal(p, sig, 8);
    while (off < b->n) {
        assert_true(n < max);
        assert_true(b->n - off >= 12);
        c[n].n = be32(p + off);
        assert_true(b->n - off - 12 >= c[n].n);
        memcpy(c[n].type, p + off + 4, 4);
        c[n].type[4] = '\0';
        c[n].data = p + off + 8;
        c[n].crc = be32(p + off + 8 + c[n].n);
        off += 12 + c[n].n;
        n++;
    }
    assert_int_equal(off, b->n);
    return n;
}

static uint32_t
chunk_crc(const struct chunk *c)
{
    uLong v = crc32(0L, Z_NULL, 0);

    v = crc32(v, (const Bytef *)c->type, 4);
    if (c->n > 0)
        v = crc32(v, c->data, c->n);
    return (uint32_t)v;
}

static void
test_gray8_structure(void **state)
{
    /* 3 x 2: black, mid grey, white / white, black, 0x10. */
    static const unsigned char pix[6] = {0x00, 0x80, 0xff, 0xff, 0x00, 0x10};
    static const unsigned char want_raw[8] = {0, 0x00, 0x80, 0xff, 0, 0xff, 0x00, 0x10};
    static const unsigned char want_iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D',
                                                0xae, 0x42, 0x60, 0x82};
    struct buf b;
    struct chunk c[8];
    unsigned char raw[64];
    uLongf raw_n = sizeof(raw);
    size_t n;

    (void)state;
    buf_init(&b, 1 << 20);
    assert_int_equal(png_encode_gray(pix, 3, 2, 8, &b), 0);
    n = split(&b, c, 8);
    assert_int_equal(n, 3);
    assert_string_equal(c[0].type, "IHDR");
    assert_int_equal(c[0].n, 13);
    assert_int_equal(be32(c[0].data), 3);
    assert_int_equal(be32(c[0].data + 4), 2);
    assert_int_equal(c[0].data[8], 8);  /* bit depth */
    assert_int_equal(c[0].data[9], 0);  /* grayscale */
    assert_int_equal(c[0].data[10], 0); /* deflate */
    assert_int_equal(c[0].data[11], 0); /* filter method */
    assert_int_equal(c[0].data[12], 0); /* no interlace */
    assert_int_equal(c[0].crc, 0xb81f39c6u);
    assert_string_equal(c[1].type, "IDAT");
    assert_int_equal(c[1].crc, chunk_crc(&c[1]));
    assert_int_equal(uncompress(raw, &raw_n, c[1].data, c[1].n), Z_OK);
    assert_int_equal(raw_n, sizeof(want_raw));
    assert_memory_equal(raw, want_raw, sizeof(want_raw));
    assert_string_equal(c[2].type, "IEND");
    assert_memory_equal(b.p + b.n - 12, want_iend, 12);
    buf_free(&b);
}

static void
test_gray1_padding_and_append(void **state)
{
    /* 10 x 3 at 1 bit: two bytes a row, the low 6 bits of each second
     * byte are padding and must come out as zero. */
    static const unsigned char pix[6] = {0xa5, 0xff, 0x00, 0x7f, 0xff, 0xc0};
    static const unsigned char want_raw[9] = {0, 0xa5, 0xc0, 0, 0x00, 0x40, 0, 0xff, 0xc0};
    struct buf b;
    struct chunk c[8];
    unsigned char raw[64];
    uLongf raw_n = sizeof(raw);
    struct buf tail;

    (void)state;
    buf_init(&b, 1 << 20);
    assert_int_equal(buf_append_c(&b, "prefix"), 0);
    assert_int_equal(png_encode_gray(pix, 10, 3, 1, &b), 0);
    /* The PNG is appended after what the buffer held. */
    assert_memory_equal(b.p, "prefix", 6);
    tail.p = b.p + 6;
    tail.n = b.n - 6;
    assert_int_equal(split(&tail, c, 8), 3);
    assert_int_equal(c[0].data[8], 1);
    assert_int_equal(c[0].crc, 0x8246a3d8u);
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(c[i].crc, chunk_crc(&c[i]));
    assert_int_equal(uncompress(raw, &raw_n, c[1].data, c[1].n), Z_OK);
    assert_int_equal(raw_n, sizeof(want_raw));
    assert_memory_equal(raw, want_raw, sizeof(want_raw));
    buf_free(&b);
}

static void
test_large_image_round_trip(void **state)
{
    enum { W = 333, H = 257 };
    static unsigned char pix[W * H];
    static unsigned char raw[(W + 1) * H];
    uLongf raw_n = sizeof(raw);
    struct buf b;
    struct chunk c[8];

    (void)state;
    for (size_t i = 0; i < sizeof(pix); i++)
        pix[i] = (unsigned char)((i * 7919u) >> 3);
    buf_init(&b, 4 << 20);
    assert_int_equal(png_encode_gray(pix, W, H, 8, &b), 0);
    assert_int_equal(split(&b, c, 8), 3);
    assert_int_equal(c[1].crc, chunk_crc(&c[1]));
    assert_int_equal(uncompress(raw, &raw_n, c[1].data, c[1].n), Z_OK);
    assert_int_equal(raw_n, sizeof(raw));
    for (size_t y = 0; y < H; y++) {
        assert_int_equal(raw[y * (W + 1)], 0);
        assert_memory_equal(raw + y * (W + 1) + 1, pix + y * W, W);
    }
    buf_free(&b);
}

static void
test_errors(void **state)
{
    static const unsigned char pix[64] = {0};
    struct buf b;

    (void)state;
    buf_init(&b, 1 << 20);
    assert_int_equal(png_encode_gray(pix, 0, 1, 8, &b), -EINVAL);
    assert_int_equal(png_encode_gray(pix, 1, 0, 8, &b), -EINVAL);
    assert_int_equal(png_encode_gray(pix, PNG_MAX_DIM + 1, 1, 1, &b), -EINVAL);
    assert_int_equal(png_encode_gray(pix, 1, PNG_MAX_DIM + 1, 1, &b), -EINVAL);
    assert_int_equal(png_encode_gray(pix, 2, 2, 2, &b), -EINVAL);
    assert_int_equal(png_encode_gray(pix, 2, 2, 16, &b), -EINVAL);
    assert_int_equal(b.n, 0);
    buf_free(&b);

    /* Too small a maximum: -E2BIG and the buffer is as it was. */
    buf_init(&b, 40);
    assert_int_equal(buf_append_c(&b, "keep"), 0);
    assert_int_equal(png_encode_gray(pix, 8, 8, 8, &b), -E2BIG);
    assert_int_equal(b.n, 4);
    assert_string_equal(b.p, "keep");
    buf_free(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gray8_structure),
        cmocka_unit_test(test_gray1_padding_and_append),
        cmocka_unit_test(test_large_image_round_trip),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
