/* test_qr.c -- auth/qr's terminal rendering: the 4-module quiet zone on
 * every side, --invert as the exact complement, and both read back by
 * zbarimg (when installed) from a PNG of what a terminal would show: dark
 * blocks on light for the default, light blocks on dark for --invert. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "common.h"
#include "auth/qr.h"
#include "util/buf.h"
#include "util/png.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TEXT "otpauth://totp/root-mfa@alice?secret=JBSWY3DPEHPK3PXPJBSWY3DP&issuer=Coffer"
#define MAX_MODULES 200
#define QUIET 4

/* A terminal rendering parsed back into modules: 1 = a block glyph there. */
struct grid {
    int n;      /* modules per side */
    int n_rows; /* module rows drawn: n rounded up to even (two per line) */
    unsigned char m[MAX_MODULES][MAX_MODULES];
    char esc[16]; /* the colour escape every line starts with */
};

static void
parse(const struct buf *b, struct grid *g)
{
    const char *p = b->p, *end = b->p + b->n;
    int y = 0;

    memset(g, 0, sizeof(*g));
    while (p < end) {
        const char *m = memchr(p, 'm', (size_t)(end - p));
        int x = 0;

        assert_non_null(m);
        assert_true(m - p + 1 < (long)sizeof(g->esc));
        if (y == 0)
            memcpy(g->esc, p, (size_t)(m - p + 1));
        else
            assert_memory_equal(g->esc, p, strlen(g->esc)); /* every line */
        p = m + 1;
        while (p < end && *p != '\x1b') {
            int top, bottom;

            if (*p == ' ') {
                top = bottom = 0;
                p++;
            } else {
                assert_true(end - p >= 3);
                assert_memory_equal(p, "\xe2\x96", 2);
                top = p[2] == '\x80' || p[2] == '\x88';
                bottom = p[2] == '\x84' || p[2] == '\x88';
                assert_true(top || bottom);
                p += 3;
            }
            assert_true(x < MAX_MODULES && y + 1 < MAX_MODULES);
            g->m[y][x] = (unsigned char)top;
            g->m[y + 1][x] = (unsigned char)bottom;
            x++;
        }
        assert_true((size_t)(end - p) >= 5);
        assert_memory_equal(p, "\x1b[0m\n", 5);
        p += 5;
        if (y == 0)
            g->n = x;
        assert_int_equal(x, g->n);
        y += 2;
    }
    g->n_rows = y;
    assert_int_equal(g->n_rows, g->n + (g->n & 1));
}

static void
test_quiet_zone(void **state)
{
    static struct grid g;
    struct buf b;
    int dark = 0;

    (void)state;
    buf_init(&b, 1 << 20);
    assert_int_equal(qr_terminal(str_c(TEXT), false, &b), 0);
    parse(&b, &g);
    assert_string_equal(g.esc, "\x1b[30;47m"); /* black on white */
    assert_true(g.n >= 21 + 2 * QUIET);
    /* Nothing but light modules in the 4 outer rows and columns, and in
     * the padding half row under an odd-sized symbol. */
    for (int y = 0; y < g.n_rows; y++)
        for (int x = 0; x < g.n; x++) {
            bool edge = x < QUIET || y < QUIET || x >= g.n - QUIET || y >= g.n - QUIET;
            if (edge)
                assert_int_equal(g.m[y][x], 0);
            else
                dark += g.m[y][x];
        }
    /* The finder patterns sit right inside it: dark at (4,4), light ring. */
    assert_int_equal(g.m[QUIET][QUIET], 1);
    assert_int_equal(g.m[QUIET + 1][QUIET + 1], 0);
    assert_int_equal(g.m[QUIET][g.n - QUIET - 1], 1);
    assert_int_equal(g.m[g.n - QUIET - 1][QUIET], 1);
    assert_true(dark > 0);
    buf_free(&b);
}

static void
test_invert(void **state)
{
    static struct grid g, inv;
    struct buf b, bi;

    (void)state;
    buf_init(&b, 1 << 20);
    buf_init(&bi, 1 << 20);
    assert_int_equal(qr_terminal(str_c(TEXT), false, &b), 0);
    assert_int_equal(qr_terminal(str_c(TEXT), true, &bi), 0);
    parse(&b, &g);
    parse(&bi, &inv);
    assert_string_equal(inv.esc, "\x1b[37;40m"); /* white on black */
    assert_int_equal(inv.n, g.n);
    /* Every module swapped, quiet zone included; the padding half row
     * below the symbol stays empty. */
    for (int y = 0; y < g.n; y++)
        for (int x = 0; x < g.n; x++)
            assert_int_equal(inv.m[y][x], !g.m[y][x]);
    for (int y = g.n; y < g.n_rows; y++)
        for (int x = 0; x < g.n; x++)
            assert_int_equal(inv.m[y][x], 0);
    buf_free(&b);
    buf_free(&bi);
}

/* The picture a terminal shows, as a 1-bit PNG at 4 pixels a module:
 * blocks in the glyph colour (dark unless light_glyphs), the rest in the
 * background colour. zbarimg must read TEXT from it. */
static void
decode(const struct grid *g, bool light_glyphs)
{
    enum { SCALE = 4 };
    char path[] = "/tmp/coffer-qr-XXXXXX.png";
    char cmd[256];
    char got[sizeof(TEXT) + 16] = "";
    size_t size = (size_t)g->n * SCALE, stride = (size + 7) / 8;
    unsigned char *pix = calloc(stride, size);
    struct buf png;
    FILE *f;
    int fd;

    assert_non_null(pix);
    buf_init(&png, 1 << 22);
    for (size_t y = 0; y < size; y++)
        for (size_t x = 0; x < size; x++) {
            bool block = g->m[y / SCALE][x / SCALE];
            if (block == light_glyphs) /* white pixel: 1 bit */
                pix[y * stride + x / 8] |= (unsigned char)(0x80 >> (x & 7));
        }
    assert_int_equal(png_encode_gray(pix, (uint32_t)size, (uint32_t)size, 1, &png), 0);
    fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, png.p, png.n), (ssize_t)png.n);
    close(fd);
    snprintf(cmd, sizeof(cmd), "zbarimg --raw -q %s", path);
    f = popen(cmd, "r");
    assert_non_null(f);
    if (fgets(got, sizeof(got), f) == NULL)
        got[0] = '\0';
    assert_int_equal(pclose(f), 0);
    got[strcspn(got, "\n")] = '\0';
    assert_string_equal(got, TEXT);
    unlink(path);
    buf_free(&png);
    free(pix);
}

static void
test_zbar_reads_both(void **state)
{
    static struct grid g, inv;
    struct buf b, bi;

    (void)state;
    if (system("command -v zbarimg >/dev/null 2>&1") != 0) {
        fprintf(stderr, "test_qr: zbarimg not installed (zbar-tools): decode not checked\n");
        skip();
    }
    buf_init(&b, 1 << 20);
    buf_init(&bi, 1 << 20);
    assert_int_equal(qr_terminal(str_c(TEXT), false, &b), 0);
    assert_int_equal(qr_terminal(str_c(TEXT), true, &bi), 0);
    parse(&b, &g);
    parse(&bi, &inv);
    decode(&g, false);  /* light terminal: dark glyphs */
    decode(&inv, true); /* dark terminal ignoring the colours: light glyphs */
    buf_free(&b);
    buf_free(&bi);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quiet_zone),
        cmocka_unit_test(test_invert),
        cmocka_unit_test(test_zbar_reads_both),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
