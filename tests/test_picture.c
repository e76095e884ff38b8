/* The seal picture (src/picture/, docs/picture.md; LD/T 01.1 §7.5, MK10, MK12).
 *
 * Scans are generated here with cairo, as a scanner would give them: paper-coloured noise, the
 * form's black lines and a blue signature crossing the seal, a red seal (ring, star, text-like
 * strokes) whose ink varies, rotated by a few degrees and blurred; saved as PNG (also
 * interlaced, through libpng) and JPEG (libjpeg). The design is known, so the picture made
 * from a scan is checked against it: its alpha is 0 on paper (and on the black and blue marks),
 * its ink pixels are the one red and opaque on the ring, its physical size from pHYs is the
 * millimetres given within 1%, the ink's box found on the scan is the ring's. Then every way a
 * scan or a parameter can be wrong, every truncated prefix of a scan (under ASan in
 * check-asan), headers that claim giant images (refused before any pixel is allocated), and the
 * drawn standard seals (size, ring, star, text above and below, refusals). The API part starts
 * a node in this process: the issuer makes pictures through POST /api/v1/pictures/scan and
 * /draw; outsiders, other roles, bad bodies and repeated calls are refused or give the same
 * picture. */
#include "test.h"

#include <cairo.h>
#include <jansson.h>
#include <jpeglib.h>
#include <math.h>
#include <png.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "eseal/auth.h"
#include "eseal/http.h"
#include "eseal/node.h"
#include "eseal/picture.h"
#include "http_client.h"

#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif

#define SCAN_DPI 600
#define SEAL_MM  42.0
#define SEAL_PX  992 /* 42 mm at 600 dpi */
#define RING_PX  28  /* 1.2 mm */

/* 1 when the n bytes of hay hold needle. */
static int has_bytes(const uint8_t *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(hay + i, needle, k) == 0) return 1;
    return 0;
}

/* ---- Generated scans. */

static uint32_t lcg = 12345;
static unsigned rnd(unsigned n)
{
    lcg = lcg * 1103515245u + 12345u;
    return (lcg >> 8) % n;
}

typedef struct scan {
    cairo_surface_t *s; /* RGB24 */
    int w, h;
    double cx, cy; /* the seal's centre */
} scan;

/* A red seal of SEAL_PX across (outer edge of the ring) drawn around (0, 0). */
static void seal_design(cairo_t *cr)
{
    double r = SEAL_PX / 2.0;
    cairo_set_line_width(cr, RING_PX);
    cairo_arc(cr, 0, 0, r - RING_PX / 2.0, 0, 2 * M_PI);
    cairo_stroke(cr);
    /* Star. */
    for (int k = 0; k < 10; k++) {
        double rr = k % 2 ? 62 : 160, t = -M_PI / 2 + k * M_PI / 5;
        if (k == 0)
            cairo_move_to(cr, rr * cos(t), rr * sin(t));
        else
            cairo_line_to(cr, rr * cos(t), rr * sin(t));
    }
    cairo_fill(cr);
    /* Text-like strokes along the upper arc (characters), and a bottom line. */
    cairo_set_line_width(cr, 9);
    for (int i = 0; i < 12; i++) {
        double t = (-115 + i * 21) * M_PI / 180;
        cairo_save(cr);
        cairo_rotate(cr, t);
        cairo_rectangle(cr, -28, -(r - 110), 56, 60);
        cairo_move_to(cr, -28, -(r - 80));
        cairo_line_to(cr, 28, -(r - 80));
        cairo_stroke(cr);
        cairo_restore(cr);
    }
    cairo_rectangle(cr, -150, 230, 300, 14);
    cairo_fill(cr);
}

/* A scan of a collection sheet at 600 dpi with the seal around (cx, cy), rotated by deg; red 1:
 * red ink, 0: grey ink, 2: no seal (only the form and the signature). */
static scan make_scan(int w, int h, double deg, int red)
{
    scan sc = {cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h), w, h, w * 0.52, h * 0.48};
    cairo_surface_flush(sc.s);
    uint8_t *d = cairo_image_surface_get_data(sc.s);
    int stride = cairo_image_surface_get_stride(sc.s);
    /* Paper: off-white with grain. */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t *p = (uint32_t *)(void *)(d + (size_t)y * stride) + x;
            int n = (int)rnd(13) - 6;
            *p = (uint32_t)(236 + n) << 16 | (uint32_t)(229 + n) << 8 | (uint32_t)(212 + n);
        }
    cairo_surface_mark_dirty(sc.s);
    cairo_t *cr = cairo_create(sc.s);
    /* The form: black lines and a box, crossing where the seal goes. */
    cairo_set_source_rgb(cr, 0.08, 0.08, 0.08);
    cairo_set_line_width(cr, 4);
    for (int i = 0; i < 6; i++) {
        cairo_move_to(cr, 20, 80 + i * (h - 160) / 5.0);
        cairo_line_to(cr, w - 20, 80 + i * (h - 160) / 5.0);
    }
    cairo_stroke(cr);
    /* The seal, ink a little uneven, slightly rotated, blurred (red 2: no seal). */
    cairo_surface_t *ink = cairo_image_surface_create(CAIRO_FORMAT_A8, w, h);
    cairo_t *ic = cairo_create(ink);
    cairo_translate(ic, sc.cx, sc.cy);
    cairo_rotate(ic, deg * M_PI / 180);
    if (red != 2) seal_design(ic);
    cairo_destroy(ic);
    cairo_surface_flush(ink);
    uint8_t *id = cairo_image_surface_get_data(ink);
    int is = cairo_image_surface_get_stride(ink);
    for (int y = 1; y + 1 < h; y++) /* a 3x3 blur: the scanner's optics */
        for (int x = 1; x + 1 < w; x++) {
            unsigned s = 0;
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) s += id[(size_t)(y + dy) * is + x + dx];
            id[(size_t)(y - 1) * is + x - 1] = (uint8_t)(s / 9 * (85 + rnd(16)) / 100);
        }
    cairo_surface_mark_dirty(ink);
    if (red)
        cairo_set_source_rgb(cr, 0.80, 0.12, 0.16);
    else
        cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
    cairo_mask_surface(cr, ink, 1, 1);
    cairo_surface_destroy(ink);
    /* A blue signature across the seal's lower part. */
    cairo_set_source_rgb(cr, 0.10, 0.15, 0.55);
    cairo_set_line_width(cr, 6);
    cairo_move_to(cr, sc.cx - 300, sc.cy + 250);
    cairo_curve_to(cr, sc.cx - 100, sc.cy + 100, sc.cx + 100, sc.cy + 400, sc.cx + 320,
                   sc.cy + 180);
    cairo_stroke(cr);
    cairo_destroy(cr);
    cairo_surface_flush(sc.s);
    return sc;
}

static cairo_status_t to_buf(void *closure, const unsigned char *data, unsigned int len)
{
    return es_buf_append(closure, data, len) == ES_OK ? CAIRO_STATUS_SUCCESS
                                                      : CAIRO_STATUS_WRITE_ERROR;
}

static es_buf scan_png(const scan *sc)
{
    es_buf b;
    es_buf_init(&b, 64u << 20);
    if (cairo_surface_write_to_png_stream(sc->s, to_buf, &b) != CAIRO_STATUS_SUCCESS) exit(2);
    return b;
}

/* The scan's RGB rows (from cairo's native-endian xRGB). */
static uint8_t *scan_rgb(const scan *sc)
{
    uint8_t *rgb = malloc((size_t)sc->w * sc->h * 3);
    const uint8_t *d = cairo_image_surface_get_data(sc->s);
    int stride = cairo_image_surface_get_stride(sc->s);
    for (int y = 0; y < sc->h; y++)
        for (int x = 0; x < sc->w; x++) {
            uint32_t v = ((const uint32_t *)(const void *)(d + (size_t)y * stride))[x];
            uint8_t *p = rgb + ((size_t)y * sc->w + x) * 3;
            p[0] = (uint8_t)(v >> 16);
            p[1] = (uint8_t)(v >> 8);
            p[2] = (uint8_t)v;
        }
    return rgb;
}

static void png_to_buf(png_structp p, png_bytep data, size_t n)
{
    if (es_buf_append(png_get_io_ptr(p), data, n) != ES_OK) png_error(p, "write");
}

static void png_noflush(png_structp p)
{
    (void)p;
}

/* The scan as an interlaced (Adam7) PNG through libpng. */
static es_buf scan_png_interlaced(const scan *sc)
{
    es_buf b;
    es_buf_init(&b, 64u << 20);
    uint8_t *rgb = scan_rgb(sc);
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(p);
    if (setjmp(png_jmpbuf(p))) exit(2);
    png_set_write_fn(p, &b, png_to_buf, png_noflush);
    png_set_IHDR(p, info, (png_uint_32)sc->w, (png_uint_32)sc->h, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_ADAM7, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_bytep *rows = malloc(sizeof *rows * (size_t)sc->h);
    for (int y = 0; y < sc->h; y++) rows[y] = rgb + (size_t)y * sc->w * 3;
    png_set_rows(p, info, rows);
    png_write_png(p, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&p, &info);
    free(rows);
    free(rgb);
    return b;
}

/* RGB pixels w x h as a JPEG (quality q; cmyk: an Adobe-style CMYK JPEG; orient: an Exif
 * Orientation tag, 0 none). */
static es_buf jpeg_of(const uint8_t *rgb, int w, int h, int q, int cmyk, int orient)
{
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr e;
    unsigned char *mem = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&e);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &mem, &len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = cmyk ? 4 : 3;
    c.in_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, q, TRUE);
    jpeg_start_compress(&c, TRUE);
    if (orient) {
        /* "Exif\0\0", little-endian TIFF, IFD0 with one entry: 0x0112 SHORT 1 = orient. */
        uint8_t exif[] = {'E', 'x',  'i', 'f', 0,
                          0,   'I',  'I', 42,  0,
                          8,   0,    0,   0,   1,
                          0,   0x12, 1,   3,   0,
                          1,   0,    0,   0,   (uint8_t)orient,
                          0,   0,    0,   0,   0,
                          0,   0};
        jpeg_write_marker(&c, JPEG_APP0 + 1, exif, sizeof exif);
    }
    uint8_t *row = malloc((size_t)w * 4);
    while (c.next_scanline < c.image_height) {
        const uint8_t *src = rgb + (size_t)c.next_scanline * w * 3;
        JSAMPROW r = (JSAMPROW)src;
        if (cmyk) {
            for (int x = 0; x < w; x++)
                for (int k = 0; k < 4; k++) row[x * 4 + k] = k < 3 ? src[x * 3 + k] : 255;
            r = row;
        }
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    es_buf b;
    es_buf_init(&b, 64u << 20);
    if (es_buf_append(&b, mem, len) != ES_OK) exit(2);
    free(mem);
    free(row);
    return b;
}

static es_buf scan_jpeg(const scan *sc, int q, int cmyk)
{
    uint8_t *rgb = scan_rgb(sc);
    es_buf b = jpeg_of(rgb, sc->w, sc->h, q, cmyk, 0);
    free(rgb);
    return b;
}

/* The scan stored turned a quarter to the left, with Exif Orientation 6 ("turn it a quarter
 * to the right to show it"), as a phone's camera writes it. */
static es_buf scan_jpeg_turned(const scan *sc, int q)
{
    uint8_t *rgb = scan_rgb(sc), *st = malloc((size_t)sc->w * sc->h * 3);
    int sw = sc->h, sh = sc->w; /* stored: H wide, W high */
    for (int y = 0; y < sh; y++)
        for (int x = 0; x < sw; x++)
            memcpy(st + ((size_t)y * sw + x) * 3, rgb + ((size_t)x * sc->w + (sc->w - 1 - y)) * 3,
                   3);
    es_buf b = jpeg_of(st, sw, sh, q, 0, 6);
    free(st);
    free(rgb);
    return b;
}

/* ---- Checks of a picture made from a scan. */

/* The output's pixel at (x, y). */
static const uint8_t *px(const es_picture_image *img, uint32_t x, uint32_t y)
{
    return img->rgba + ((size_t)y * img->width + x) * 4;
}

static int within(double v, double want, double rel)
{
    return fabs(v - want) <= want * rel;
}

/* A picture of the design at 1:1 (600 dpi): ring opaque red, paper transparent. */
static void check_scan_picture(const char *what, es_slice png, const es_picture_result *res)
{
    es_picture_info info;
    es_picture_why why = {0};
    ok(es_picture_probe(png, 0, &info, &why) == ES_OK, "%s: the picture is a PNG", what);
    ok(strcmp(info.format, "PNG") == 0, "%s: PNG", what);
    ok(within(info.width_mm, SEAL_MM, 0.01) && within(info.height_mm, SEAL_MM, 0.01),
       "%s: pHYs says %.3f x %.3f mm (want %.1f within 1%%)", what, info.width_mm, info.height_mm,
       SEAL_MM);
    ok(within(info.dpi_x, SCAN_DPI, 0.001), "%s: %.2f dpi", what, info.dpi_x);
    ok(within(res->width_mm, SEAL_MM, 0.01) && within(res->height_mm, SEAL_MM, 0.01),
       "%s: reported %.3f x %.3f mm", what, res->width_mm, res->height_mm);
    ok(within(res->ink.w, SEAL_PX, 0.01) && within(res->ink.h, SEAL_PX, 0.01),
       "%s: the ink's box on the scan is %ux%u (the ring is %d across)", what, res->ink.w,
       res->ink.h, SEAL_PX);
    ok(res->aspect_error < 0.02, "%s: aspect error %.4f", what, res->aspect_error);
    ok(res->paper_rgb[0] > 225 && res->paper_rgb[0] < 245 && res->paper_rgb[2] > 200 &&
           res->paper_rgb[2] < 222,
       "%s: paper estimated %.0f,%.0f,%.0f", what, res->paper_rgb[0], res->paper_rgb[1],
       res->paper_rgb[2]);

    es_picture_image img;
    if (es_picture_decode(png, 0, &img, &why) != ES_OK) {
        ok(0, "%s: the picture decodes", what);
        return;
    }
    ok(img.width == res->width && img.height == res->height, "%s: %ux%u", what, img.width,
       img.height);
    double c = img.width / 2.0, scale = img.width / (double)SEAL_PX;
    /* The ring, all around: opaque, the one red. */
    int ring_bad = 0, ring_n = 0;
    for (int k = 0; k < 360; k += 3) {
        double t = k * M_PI / 180, rr = (SEAL_PX / 2.0 - RING_PX / 2.0) * scale;
        const uint8_t *p = px(&img, (uint32_t)(c + rr * cos(t)), (uint32_t)(c + rr * sin(t)));
        ring_n++;
        if (p[3] < 200 || p[0] != 0xE6 || p[1] != 0x00 || p[2] != 0x12) ring_bad++;
    }
    ok(ring_bad == 0, "%s: %d of %d ring samples not opaque #E60012", what, ring_bad, ring_n);
    /* Paper: outside the ring (the corners), and the empty band between the star and the text,
     * where the black form lines and the blue signature cross (the text-like strokes start at
     * 326 px from the centre). */
    uint64_t paper_n = 0, paper_inked = 0;
    for (uint32_t y = 0; y < img.height; y++)
        for (uint32_t x = 0; x < img.width; x++) {
            double dx = (x + 0.5 - c) / scale, dy = (y + 0.5 - c) / scale, r = hypot(dx, dy);
            int outside = r > SEAL_PX / 2.0 + 6;
            int band = r > 180 && r < 310 && dy > -100 && !(dy > 220 && dy < 254);
            if (!outside && !band) continue;
            paper_n++;
            if (px(&img, x, y)[3] != 0) paper_inked++;
        }
    ok(paper_n > 100000, "%s: %llu paper samples", what, (unsigned long long)paper_n);
    ok(paper_inked * 1000 < paper_n,
       "%s: alpha 0 on paper: %llu of %llu paper pixels are not transparent", what,
       (unsigned long long)paper_inked, (unsigned long long)paper_n);
    /* The star's centre is ink. */
    ok(px(&img, (uint32_t)c, (uint32_t)c)[3] > 200, "%s: the star is ink", what);
    es_picture_image_free(&img);
}

static es_picture_scan_opts scan_opts(const scan *sc)
{
    es_picture_scan_opts o;
    memset(&o, 0, sizeof o);
    /* A loose box, as drawn by a mouse: 60 px of paper around the seal. */
    o.box.x = (uint32_t)(sc->cx - SEAL_PX / 2.0 - 60);
    o.box.y = (uint32_t)(sc->cy - SEAL_PX / 2.0 - 45);
    o.box.w = SEAL_PX + 130;
    o.box.h = SEAL_PX + 100;
    o.width_mm = o.height_mm = SEAL_MM;
    o.dpi = SCAN_DPI;
    return o;
}

static void test_scan(void)
{
    scan sc = make_scan(1500, 1300, 3.0, 1);
    es_picture_scan_opts o = scan_opts(&sc);
    es_picture_result res;
    es_picture_why why = {0};
    es_buf out, out2;
    es_buf_init(&out, ES_PICTURE_MAX_PNG);
    es_buf_init(&out2, ES_PICTURE_MAX_PNG);

    es_buf png = scan_png(&sc);
    es_err rv = es_picture_scan(es_slice_make(png.p, png.len), &o, &out, &res, &why);
    ok(rv == ES_OK, "scan (PNG): %s (%s)", es_err_str(rv), why.reason.en ? why.reason.en : "");
    if (rv == ES_OK) check_scan_picture("PNG scan", es_slice_make(out.p, out.len), &res);
    if (getenv("T_PICTURE_DUMP")) { /* for a person to look at */
        char path[600];
        snprintf(path, sizeof path, "%s/scan.png", getenv("T_PICTURE_DUMP"));
        FILE *f = fopen(path, "wb");
        if (f) fwrite(png.p, 1, png.len, f), fclose(f);
        snprintf(path, sizeof path, "%s/picture.png", getenv("T_PICTURE_DUMP"));
        f = fopen(path, "wb");
        if (f) fwrite(out.p, 1, out.len, f), fclose(f);
    }
    ok(res.scan_width == 1500 && res.scan_height == 1300, "the scan's size is reported");
    ok(out.len > 1000 && has_bytes(out.p, out.len, "pHYs") && has_bytes(out.p, out.len, "Source"),
       "the PNG carries pHYs and tEXt Source");

    /* The same scan interlaced: the very same picture. */
    es_buf il = scan_png_interlaced(&sc);
    es_picture_result res2;
    rv = es_picture_scan(es_slice_make(il.p, il.len), &o, &out2, &res2, &why);
    ok(rv == ES_OK && out2.len == out.len && memcmp(out2.p, out.p, out.len) == 0,
       "an interlaced PNG of the scan gives the same picture (%s)", es_err_str(rv));
    es_buf_cleanup(&il);

    /* As a JPEG (quality 85): same checks. */
    es_buf jpg = scan_jpeg(&sc, 85, 0);
    out2.len = 0;
    rv = es_picture_scan(es_slice_make(jpg.p, jpg.len), &o, &out2, &res2, &why);
    ok(rv == ES_OK, "scan (JPEG): %s (%s)", es_err_str(rv), why.reason.en ? why.reason.en : "");
    if (rv == ES_OK) check_scan_picture("JPEG scan", es_slice_make(out2.p, out2.len), &res2);

    /* The same JPEG stored turned, with Exif Orientation 6: shown upright, made alike. */
    es_buf turned = scan_jpeg_turned(&sc, 85);
    es_picture_result res3;
    es_buf out3;
    es_buf_init(&out3, ES_PICTURE_MAX_PNG);
    es_picture_info tinfo;
    ok(es_picture_probe(es_slice_make(turned.p, turned.len), 0, &tinfo, &why) == ES_OK &&
           tinfo.width == 1500 && tinfo.height == 1300,
       "a JPEG with Exif Orientation 6 is 1500 x 1300 as shown (%u x %u)", tinfo.width,
       tinfo.height);
    rv = es_picture_scan(es_slice_make(turned.p, turned.len), &o, &out3, &res3, &why);
    ok(rv == ES_OK, "scan (JPEG, Orientation 6): %s", es_err_str(rv));
    if (rv == ES_OK) {
        check_scan_picture("turned JPEG scan", es_slice_make(out3.p, out3.len), &res3);
        ok(abs((int)res3.ink.x - (int)res2.ink.x) <= 2 &&
               abs((int)res3.ink.y - (int)res2.ink.y) <= 2 &&
               abs((int)res3.ink.w - (int)res2.ink.w) <= 2,
           "the ink is found where the upright JPEG has it (%u,%u vs %u,%u)", res3.ink.x,
           res3.ink.y, res2.ink.x, res2.ink.y);
    }
    es_buf_cleanup(&out3);
    es_buf_cleanup(&turned);

    /* At another resolution and an oval measure: the pixels follow the millimetres. */
    es_picture_scan_opts o2 = o;
    o2.dpi = 300;
    o2.width_mm = 40;
    o2.height_mm = 40;
    o2.ink = 0xC00000;
    out2.len = 0;
    rv = es_picture_scan(es_slice_make(png.p, png.len), &o2, &out2, &res2, &why);
    es_picture_info info;
    ok(rv == ES_OK && es_picture_probe(es_slice_make(out2.p, out2.len), 0, &info, &why) == ES_OK &&
           info.width == 472 && within(info.width_mm, 40, 0.01),
       "300 dpi, 40 mm: %u px, %.3f mm", info.width, info.width_mm);
    o2.width_mm = 48; /* a wrong measure: the picture follows it, the aspect error says so */
    out2.len = 0;
    rv = es_picture_scan(es_slice_make(png.p, png.len), &o2, &out2, &res2, &why);
    ok(rv == ES_OK && res2.aspect_error > 0.1 && within(res2.width_mm, 48, 0.01),
       "a measure that disagrees with the scan is made and flagged (%.3f)", res2.aspect_error);

    /* A grey seal (a grey scan): no ink. The parameters: each refused, naming its field. */
    scan grey = make_scan(1500, 1300, 0, 0);
    es_buf gpng = scan_png(&grey);
    size_t before = out2.len;
    rv = es_picture_scan(es_slice_make(gpng.p, gpng.len), &o, &out2, &res2, &why);
    ok(rv == ES_ERR_PICTURE_NO_INK && why.field && strcmp(why.field, "box") == 0 && why.reason.zh &&
           out2.len == before,
       "a grey scan: no ink (%s), nothing written", es_err_str(rv));
    struct {
        const char *what, *field;
        es_err want;
        void (*set)(es_picture_scan_opts *);
    } bad[] = {
        {"box outside", "box", ES_ERR_PICTURE_BOX, NULL},
        {"box too small", "box", ES_ERR_ARG, NULL},
        {"box too large", "box", ES_ERR_ARG, NULL},
        {"diameter 0", "width_mm", ES_ERR_ARG, NULL},
        {"diameter 500", "width_mm", ES_ERR_ARG, NULL},
        {"height NaN", "height_mm", ES_ERR_ARG, NULL},
        {"dpi 100", "dpi", ES_ERR_ARG, NULL},
        {"ink past RRGGBB", "ink", ES_ERR_ARG, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        es_picture_scan_opts b = o;
        switch (i) {
        case 0:
            b.box.x = 1400;
            break;
        case 1:
            b.box.w = 8;
            break;
        case 2:
            b.box.h = 5000;
            break;
        case 3:
            b.width_mm = 0;
            break;
        case 4:
            b.width_mm = 500;
            break;
        case 5:
            b.height_mm = NAN;
            break;
        case 6:
            b.dpi = 100;
            break;
        case 7:
            b.ink = 0x1000000;
            break;
        }
        memset(&why, 0, sizeof why);
        before = out2.len;
        rv = es_picture_scan(es_slice_make(png.p, png.len), &b, &out2, &res2, &why);
        ok(rv == bad[i].want && why.field && strcmp(why.field, bad[i].field) == 0 &&
               why.reason.en && why.reason.zh && out2.len == before,
           "%s: %s, field %s", bad[i].what, es_err_str(rv), why.field ? why.field : "(none)");
    }

    /* A CMYK JPEG: a clear refusal. Garbage: not an image. */
    es_buf cmyk = scan_jpeg(&grey, 80, 1);
    rv = es_picture_scan(es_slice_make(cmyk.p, cmyk.len), &o, &out2, &res2, &why);
    ok(rv == ES_ERR_PICTURE_DECODE && why.reason.en && strstr(why.reason.en, "CMYK"),
       "a CMYK JPEG: %s", es_err_str(rv));
    rv = es_picture_scan(es_slice_make("GIF89a....", 10), &o, &out2, &res2, &why);
    ok(rv == ES_ERR_PICTURE_FORMAT && strcmp(why.field, "scan") == 0, "GIF: %s", es_err_str(rv));
    rv = es_picture_scan(es_slice_make(NULL, 0), &o, &out2, &res2, &why);
    ok(rv == ES_ERR_PICTURE_FORMAT, "empty: %s", es_err_str(rv));

    es_buf_cleanup(&cmyk);
    es_buf_cleanup(&gpng);
    cairo_surface_destroy(grey.s);
    es_buf_cleanup(&jpg);
    es_buf_cleanup(&png);
    es_buf_cleanup(&out);
    es_buf_cleanup(&out2);
    cairo_surface_destroy(sc.s);
}

/* ---- Damaged and hostile files. */

static uint32_t crc32_of(const uint8_t *p, size_t n)
{
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    }
    return ~c;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

static void test_hostile(void)
{
    scan sc = make_scan(200, 160, 0, 1);
    es_buf png = scan_png(&sc), jpg = scan_jpeg(&sc, 90, 0);
    es_picture_why why;
    es_picture_image img;
    es_picture_info info;

    /* Every prefix shorter than the whole: an error, never a crash (ASan in check-asan). */
    int png_bad = 0, jpg_bad = 0;
    for (size_t n = 0; n < png.len; n += n < 200 ? 1 : 97) {
        es_err rv = es_picture_decode(es_slice_make(png.p, n), 0, &img, &why);
        if (rv == ES_OK) png_bad++;
        es_picture_image_free(&img);
    }
    for (size_t n = 0; n < jpg.len; n += n < 700 ? 1 : 53) {
        es_err rv = es_picture_decode(es_slice_make(jpg.p, n), 0, &img, &why);
        if (rv == ES_OK) jpg_bad++;
        es_picture_image_free(&img);
    }
    ok(png_bad == 0, "truncated PNGs: %d decoded", png_bad);
    ok(jpg_bad == 0, "truncated JPEGs: %d decoded", jpg_bad);
    ok(es_picture_decode(es_slice_make(png.p, png.len), 0, &img, &why) == ES_OK &&
           img.width == 200 && img.height == 160 && img.rgba[3] == 255,
       "the whole PNG decodes (200x160)");
    es_picture_image_free(&img);
    es_err rv = es_picture_decode(es_slice_make(png.p, png.len - 20), 0, &img, &why);
    ok(rv == ES_ERR_PICTURE_DECODE && strstr(why.reason.en, "truncated") && why.reason.zh,
       "a truncated PNG says so: %s", why.reason.en);
    rv = es_picture_decode(es_slice_make(jpg.p, jpg.len / 2), 0, &img, &why);
    ok(rv == ES_ERR_PICTURE_DECODE && strstr(why.reason.en, "truncated"),
       "a truncated JPEG says so (%s)", es_err_str(rv));

    /* A PNG header claiming 20000 x 20000 (valid CRC): refused from the header. */
    es_buf big;
    es_buf_init(&big, png.len);
    if (es_buf_append(&big, png.p, png.len) != ES_OK) exit(2);
    put32(big.p + 16, 20000);
    put32(big.p + 20, 20000);
    put32(big.p + 29, crc32_of(big.p + 12, 17));
    rv = es_picture_probe(es_slice_make(big.p, big.len), 0, &info, &why);
    ok(rv == ES_ERR_PICTURE_SIZE && strcmp(why.field, "scan") == 0 && info.width == 20000,
       "a PNG claiming 400 M pixels: %s", es_err_str(rv));
    rv = es_picture_decode(es_slice_make(big.p, big.len), 0, &img, &why);
    ok(rv == ES_ERR_PICTURE_SIZE && !img.rgba, "... and decoding it allocates nothing");
    put32(big.p + 16, 60000);
    put32(big.p + 29, crc32_of(big.p + 12, 17));
    rv = es_picture_probe(es_slice_make(big.p, big.len), 0, &info, &why);
    ok(rv == ES_ERR_PICTURE_DECODE || rv == ES_ERR_PICTURE_SIZE,
       "a PNG side past libpng's limit: %s", es_err_str(rv));
    es_buf_cleanup(&big);
    /* A JPEG's SOF patched to 20000 x 20000. */
    es_buf j2;
    es_buf_init(&j2, jpg.len);
    if (es_buf_append(&j2, jpg.p, jpg.len) != ES_OK) exit(2);
    int patched = 0;
    for (size_t i = 2; i + 9 < j2.len; i++)
        if (j2.p[i] == 0xFF && (j2.p[i + 1] == 0xC0 || j2.p[i + 1] == 0xC2)) {
            j2.p[i + 5] = 0x4E, j2.p[i + 6] = 0x20, j2.p[i + 7] = 0x4E, j2.p[i + 8] = 0x20;
            patched = 1;
            break;
        }
    rv = es_picture_decode(es_slice_make(j2.p, j2.len), 0, &img, &why);
    ok(patched && rv == ES_ERR_PICTURE_SIZE && !img.rgba, "a JPEG claiming 400 M pixels: %s",
       es_err_str(rv));
    /* A caller's lower bound. */
    rv = es_picture_decode(es_slice_make(png.p, png.len), 1000, &img, &why);
    ok(rv == ES_ERR_PICTURE_SIZE, "max_pixels 1000 refuses 200x160: %s", es_err_str(rv));
    /* Flipped bytes in the compressed data: an error or an image, never a crash. */
    int survived = 1;
    for (size_t i = 40; i < png.len; i += 11) {
        png.p[i] ^= 0x5A;
        rv = es_picture_decode(es_slice_make(png.p, png.len), 0, &img, &why);
        if (rv != ES_OK && rv != ES_ERR_PICTURE_DECODE && rv != ES_ERR_PICTURE_SIZE) survived = 0;
        es_picture_image_free(&img);
        png.p[i] ^= 0x5A;
    }
    ok(survived, "PNGs with flipped bytes: decoded or refused as damaged");
    /* The size limit of the input itself. */
    es_buf huge;
    es_buf_init(&huge, ES_PICTURE_MAX_SCAN + 16);
    if (es_buf_append(&huge, png.p, png.len) != ES_OK ||
        es_buf_reserve(&huge, ES_PICTURE_MAX_SCAN + 1 - huge.len) != ES_OK)
        exit(2);
    memset(huge.p + huge.len, 0, ES_PICTURE_MAX_SCAN + 1 - huge.len);
    huge.len = ES_PICTURE_MAX_SCAN + 1;
    rv = es_picture_probe(es_slice_make(huge.p, huge.len), 0, &info, &why);
    ok(rv == ES_ERR_LIMIT, "a scan over 12 MiB: %s", es_err_str(rv));
    es_buf_cleanup(&huge);
    es_buf_cleanup(&j2);
    es_buf_cleanup(&png);
    es_buf_cleanup(&jpg);
    cairo_surface_destroy(sc.s);
}

/* ---- Drawn standard seals. */

/* Inked pixels (alpha >= 128) of img in the sector of angles [a0, a1] (degrees clockwise from
 * the top) and radii [r0, r1] around the centre. */
static unsigned sector_ink(const es_picture_image *img, double a0, double a1, double r0, double r1)
{
    unsigned n = 0;
    double cx = img->width / 2.0, cy = img->height / 2.0;
    for (uint32_t y = 0; y < img->height; y++)
        for (uint32_t x = 0; x < img->width; x++) {
            double dx = x + 0.5 - cx, dy = y + 0.5 - cy, r = hypot(dx, dy);
            double a = atan2(dx, -dy) * 180 / M_PI;
            if (r >= r0 && r <= r1 && a >= a0 && a <= a1 && px(img, x, y)[3] >= 128) n++;
        }
    return n;
}

static es_err draw(const es_picture_draw_opts *o, es_buf *png, es_picture_image *img,
                   es_picture_why *why)
{
    es_picture_result res;
    png->len = 0;
    memset(img, 0, sizeof *img);
    es_err rv = es_picture_draw(o, png, &res, why);
    if (rv == ES_OK) rv = es_picture_decode(es_slice_make(png->p, png->len), 0, img, why);
    return rv;
}

typedef struct draw_job {
    const es_picture_draw_opts *o;
    es_buf png;
    es_err rv;
} draw_job;

static void *draw_thread(void *arg)
{
    draw_job *j = arg;
    es_picture_why why;
    es_buf_init(&j->png, ES_PICTURE_MAX_PNG);
    j->rv = es_picture_draw(j->o, &j->png, NULL, &why);
    return NULL;
}

static void test_draw(void)
{
    es_picture_draw_opts o;
    memset(&o, 0, sizeof o);
    o.name = "某某市人力资源和社会保障局";
    o.width_mm = o.height_mm = 42;
    o.star = 1;
    es_buf png;
    es_buf_init(&png, ES_PICTURE_MAX_PNG);
    es_picture_image img;
    es_picture_why why = {0};
    es_picture_info info;

    /* The name alone: the arc above, nothing in the lower sector inside the ring. */
    es_err rv = draw(&o, &png, &img, &why);
    ok(rv == ES_OK, "draw a round seal: %s (%s)", es_err_str(rv),
       why.reason.en ? why.reason.en : "");
    if (rv != ES_OK) return;
    ok(es_picture_probe(es_slice_make(png.p, png.len), 0, &info, &why) == ES_OK &&
           img.width == 992 && img.height == 992 && within(info.width_mm, 42, 0.01) &&
           within(info.height_mm, 42, 0.01),
       "42 mm at 600 dpi: %ux%u, %.3f mm by pHYs", img.width, img.height, info.width_mm);
    const uint8_t *top = px(&img, 496, 14), *corner = px(&img, 10, 10), *mid = px(&img, 496, 496);
    ok(top[3] == 255 && top[0] == 0xE6 && top[1] == 0 && top[2] == 0x12,
       "the ring is opaque #E60012 (%02x%02x%02x/%u)", top[0], top[1], top[2], top[3]);
    ok(corner[3] == 0, "outside the ring is transparent");
    ok(mid[3] == 255, "the star is in the centre");
    unsigned upper = sector_ink(&img, -60, 60, 300, 440),
             lower = sector_ink(&img, 150, 210, 250, 440);
    ok(upper > 5000 && lower == 0, "the name is on the upper arc (%u inked above, %u below)", upper,
       lower);
    ok(sector_ink(&img, -125, -95, 300, 440) > 1000 && sector_ink(&img, 95, 125, 300, 440) > 1000,
       "a long name spreads to both sides");
    ok(has_bytes(png.p, png.len, "drawn") && !has_bytes(png.p, png.len, "Preview"),
       "tEXt Source drawn, no Preview");
    es_picture_image_free(&img);

    /* Type and code: the code on the lower arc, the type across below the star. */
    o.bottom = "合同专用章";
    o.code = "4403050001234";
    rv = draw(&o, &png, &img, &why);
    ok(rv == ES_OK, "with type and code: %s", es_err_str(rv));
    ok(sector_ink(&img, 150, 210, 360, 440) > 500, "the code is on the lower arc (%u)",
       sector_ink(&img, 150, 210, 360, 440));
    unsigned across = 0;
    for (uint32_t y = 496 + 200; y < 496 + 330; y++)
        for (uint32_t x = 340; x < 652; x++) across += px(&img, x, y)[3] >= 128;
    ok(across > 2000, "the type is across below the star (%u)", across);
    es_picture_image_free(&img);

    /* A preview says so. */
    o.preview = 1;
    rv = draw(&o, &png, &img, &why);
    unsigned grey = 0;
    for (uint32_t i = 0; rv == ES_OK && i < img.width * img.height; i++) {
        const uint8_t *p = img.rgba + (size_t)i * 4;
        grey += p[3] > 100 && abs(p[0] - p[1]) < 8 && abs(p[1] - p[2]) < 8;
    }
    ok(rv == ES_OK && grey > 1000 && has_bytes(png.p, png.len, "Preview"),
       "a preview carries a grey mark (%u) and tEXt Preview", grey);
    es_picture_image_free(&img);
    o.preview = 0;

    /* An oval at 300 dpi, without a star. */
    es_picture_draw_opts ov = o;
    ov.shape = ES_PICTURE_OVAL;
    ov.width_mm = 45;
    ov.height_mm = 30;
    ov.star = 0;
    ov.dpi = 300;
    ov.name = "某某市社会保险事业管理中心";
    ov.bottom = "财务专用章";
    rv = draw(&ov, &png, &img, &why);
    ok(rv == ES_OK && img.width == 531 && img.height == 354 &&
           es_picture_probe(es_slice_make(png.p, png.len), 0, &info, &why) == ES_OK &&
           within(info.width_mm, 45, 0.01) && within(info.height_mm, 30, 0.01),
       "an oval 45x30 at 300 dpi: %ux%u, %.2fx%.2f mm", img.width, img.height, info.width_mm,
       info.height_mm);
    ok(rv == ES_OK && px(&img, 265, 177)[3] < 128, "no star in the oval's centre");
    es_picture_image_free(&img);

    /* Two threads at once draw what one draws (the daemon's workers). */
    o.preview = 0;
    rv = draw(&o, &png, &img, &why);
    es_picture_image_free(&img);
    draw_job jobs[2] = {{&o, {0}, ES_ERR_INTERNAL}, {&o, {0}, ES_ERR_INTERNAL}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, draw_thread, &jobs[i]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < 2; i++) {
        ok(jobs[i].rv == ES_OK && jobs[i].png.len == png.len &&
               memcmp(jobs[i].png.p, png.p, png.len) == 0,
           "thread %d draws the same picture", i);
        es_buf_cleanup(&jobs[i].png);
    }

    /* Refusals, each naming its field; nothing written. */
    struct {
        const char *what, *field;
        es_err want;
    } bad[] = {
        {"no name", "name", ES_ERR_ARG},
        {"round but 42x40", "height_mm", ES_ERR_ARG},
        {"oval higher than wide", "height_mm", ES_ERR_ARG},
        {"a long name on a small seal", "name", ES_ERR_PICTURE_TEXT},
        {"invalid UTF-8", "name", ES_ERR_PICTURE_TEXT},
        {"a code with lower case", "code", ES_ERR_PICTURE_TEXT},
        {"a character no font has", "name", ES_ERR_PICTURE_FONT},
        {"a bottom text of 17 characters", "bottom", ES_ERR_PICTURE_TEXT},
        {"an unknown shape", "shape", ES_ERR_ARG},
        {"a name with a newline", "name", ES_ERR_PICTURE_TEXT},
        {"dpi 5000", "dpi", ES_ERR_ARG},
        {"41 characters", "name", ES_ERR_PICTURE_TEXT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        es_picture_draw_opts b = o;
        b.bottom = b.code = NULL;
        switch (i) {
        case 0:
            b.name = "";
            break;
        case 1:
            b.height_mm = 40;
            break;
        case 2:
            b.shape = ES_PICTURE_OVAL, b.height_mm = 50;
            break;
        case 3:
            b.name = "某某省某某市某某区人力资源和社会保障局社会保险事业管理中心第一分中心",
            b.width_mm = b.height_mm = 20;
            break;
        case 4:
            b.name = "\xE6\x9F\x90\xFF\xFE";
            break;
        case 5:
            b.code = "12ab";
            break;
        case 6:
            b.name = "某\xEE\x80\x80局";
            break; /* U+E000, private use */
        case 7:
            b.bottom = "一二三四五六七八九十一二三四五六七";
            break;
        case 8:
            b.shape = (es_picture_shape)7;
            break;
        case 9:
            b.name = "某某\n局";
            break;
        case 10:
            b.dpi = 5000;
            break;
        case 11:
            b.name = "一二三四五六七八九十一二三四五六七八九十一二三四五六七八九十一二三四五六七八"
                     "九十一";
            break;
        }
        memset(&why, 0, sizeof why);
        png.len = 0;
        rv = es_picture_draw(&b, &png, NULL, &why);
        ok(rv == bad[i].want && why.field && strcmp(why.field, bad[i].field) == 0 &&
               why.reason.zh && png.len == 0,
           "%s: %s, field %s", bad[i].what, es_err_str(rv), why.field ? why.field : "(none)");
    }
    es_buf_cleanup(&png);
}

/* A standard seal drawn by es_picture_draw (real glyphs on the arc), stamped on paper-coloured
 * noise with black form lines, its ink uneven and blurred, scanned at 600 dpi, made into a
 * picture again: the ink is where the drawing's is (intersection over union of the opaque
 * pixels), the paper transparent, the size 42 mm. */
static void test_scan_of_drawing(void)
{
    es_picture_draw_opts d;
    memset(&d, 0, sizeof d);
    d.name = "某某市人力资源和社会保障局";
    d.bottom = "合同专用章";
    d.code = "4403050001234";
    d.width_mm = d.height_mm = SEAL_MM;
    d.star = 1;
    es_buf drawn, out;
    es_buf_init(&drawn, ES_PICTURE_MAX_PNG);
    es_buf_init(&out, ES_PICTURE_MAX_PNG);
    es_picture_image di = {0}, oi = {0};
    es_picture_why why = {0};
    if (es_picture_draw(&d, &drawn, NULL, &why) != ES_OK ||
        es_picture_decode(es_slice_make(drawn.p, drawn.len), 0, &di, &why) != ES_OK) {
        ok(0, "the drawing for the scan");
        return;
    }
    /* The sheet: 1400 x 1300 of paper, lines, a signature, and the drawing's alpha as ink at
     * (210, 160). */
    scan sc = make_scan(1400, 1300, 0, 2);
    cairo_t *cr = cairo_create(sc.s);
    cairo_surface_t *ink =
        cairo_image_surface_create(CAIRO_FORMAT_A8, (int)di.width, (int)di.height);
    cairo_surface_flush(ink);
    uint8_t *id = cairo_image_surface_get_data(ink);
    int is = cairo_image_surface_get_stride(ink);
    for (uint32_t y = 0; y < di.height; y++)
        for (uint32_t x = 0; x < di.width; x++) {
            unsigned s = 0, k = 0;
            /* a 3x3 blur and uneven ink */
            for (int dy = -1; dy <= 1; dy++)
                for (int dx = -1; dx <= 1; dx++) {
                    long yy = (long)y + dy, xx = (long)x + dx;
                    if (yy < 0 || xx < 0 || yy >= (long)di.height || xx >= (long)di.width) continue;
                    s += px(&di, (uint32_t)xx, (uint32_t)yy)[3];
                    k++;
                }
            id[(size_t)y * is + x] = (uint8_t)(s / k * (85 + rnd(16)) / 100);
        }
    cairo_surface_mark_dirty(ink);
    cairo_set_source_rgb(cr, 0.80, 0.12, 0.16);
    cairo_mask_surface(cr, ink, 210, 160);
    cairo_surface_destroy(ink);
    cairo_destroy(cr);
    cairo_surface_flush(sc.s);
    es_buf png = scan_png(&sc);

    es_picture_scan_opts o;
    memset(&o, 0, sizeof o);
    o.box = (es_picture_box){160, 110, 1090, 1080};
    o.width_mm = o.height_mm = SEAL_MM;
    o.dpi = SCAN_DPI;
    es_picture_result res;
    es_err rv = es_picture_scan(es_slice_make(png.p, png.len), &o, &out, &res, &why);
    ok(rv == ES_OK, "the scan of a drawn seal: %s (%s)", es_err_str(rv),
       why.reason.en ? why.reason.en : "");
    if (rv == ES_OK && es_picture_decode(es_slice_make(out.p, out.len), 0, &oi, &why) == ES_OK) {
        ok(res.ink.x >= 209 && res.ink.x <= 211 && res.ink.y >= 159 && res.ink.y <= 161 &&
               within(res.ink.w, di.width, 0.01),
           "the ink found on the scan is the drawing's place (%u,%u %ux%u)", res.ink.x, res.ink.y,
           res.ink.w, res.ink.h);
        ok(within(res.width_mm, SEAL_MM, 0.01), "%.3f mm", res.width_mm);
        uint64_t both = 0, either = 0;
        for (uint32_t y = 0; y < oi.height && y < di.height; y++)
            for (uint32_t x = 0; x < oi.width && x < di.width; x++) {
                int a = px(&oi, x, y)[3] >= 128, b = px(&di, x, y)[3] >= 128;
                both += a && b;
                either += a || b;
            }
        double iou = either ? (double)both / either : 0;
        ok(iou > 0.85, "the ink is the drawing's: intersection over union %.3f", iou);
        ok(px(&oi, 5, 5)[3] == 0 && px(&oi, oi.width - 5, oi.height - 5)[3] == 0,
           "outside the ring is transparent");
    }
    es_picture_image_free(&oi);
    es_picture_image_free(&di);
    es_buf_cleanup(&png);
    es_buf_cleanup(&drawn);
    es_buf_cleanup(&out);
    cairo_surface_destroy(sc.s);
}

/* ---- The API: a node in this process. */

#define ADMIN_PASS "Seal-Pictures-2026!x"
#define USER_PASS  "Picture-User-2026!x"

static unsigned port;
static char var[512], outpath[600];

/* A request with a body of any type; tok may be NULL. Returns the status. */
static int call_raw(const char *method, const char *target, const char *tok, const char *ctype,
                    const void *body, size_t len, t_resp *r)
{
    es_buf q;
    es_buf_init(&q, 64u << 20);
    int st = -1;
    if (es_buf_printf(&q, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n", method, target) != ES_OK ||
        (tok && es_buf_printf(&q, "Authorization: Bearer %s\r\n", tok) != ES_OK) ||
        (ctype && es_buf_printf(&q, "Content-Type: %s\r\n", ctype) != ES_OK) ||
        es_buf_printf(&q, "Content-Length: %zu\r\n\r\n", len) != ES_OK ||
        es_buf_append(&q, body, len) != ES_OK)
        goto out;
    t_resp_init(r);
    st = t_raw(port, (const char *)q.p, q.len, r);
out:
    es_buf_cleanup(&q);
    return st;
}

static json_t *call_json(const char *method, const char *target, const char *tok, const char *ctype,
                         const void *body, size_t len, int *st)
{
    t_resp r;
    *st = call_raw(method, target, tok, ctype, body, len, &r);
    json_t *v = *st > 0 ? json_loadb((const char *)r.body.p, r.body.len, 0, NULL) : NULL;
    t_resp_free(&r);
    return v;
}

static json_t *post_json(const char *target, const char *tok, const char *body, int *st)
{
    return call_json("POST", target, tok, "application/json", body, strlen(body), st);
}

static int sign_in(const char *name, const char *pass, char tok[65])
{
    char body[256];
    int st;
    snprintf(body, sizeof body, "{\"username\":\"%s\",\"password\":\"%s\"}", name, pass);
    json_t *v = post_json("/api/v1/sessions", NULL, body, &st);
    const char *t = json_string_value(json_object_get(v, "token"));
    snprintf(tok, 65, "%s", st == 201 && t ? t : "");
    json_decref(v);
    return st == 201 && tok[0];
}

static int change_password(const char *tok, const char *old, const char *new_)
{
    char body[256];
    int st;
    snprintf(body, sizeof body, "{\"old_password\":\"%s\",\"new_password\":\"%s\"}", old, new_);
    json_decref(post_json("/api/v1/users/me/password", tok, body, &st));
    return st == 200;
}

static int printed_otp(const char *name, char otp[64])
{
    es_buf b;
    char said[96];
    int found = 0;
    snprintf(said, sizeof said, "one-time password for %s: ", name);
    es_buf_init(&b, 1u << 20);
    if (es_file_read(outpath, &b) == ES_OK && es_buf_nul(&b) == ES_OK) {
        const char *o = strstr((const char *)b.p, said);
        if (o) found = sscanf(o + strlen(said), "%63s", otp) == 1;
    }
    es_buf_cleanup(&b);
    return found;
}

/* A new account with one role, signed in, its password changed. */
static int account(const char *admin, const char *name, const char *role, char tok[65])
{
    char body[256], otp[64] = "";
    int st;
    snprintf(body, sizeof body, "{\"name\":\"%s\",\"roles\":[\"%s\"]}", name, role);
    json_t *v = post_json("/api/v1/users", admin, body, &st);
    const char *o = json_string_value(json_object_get(v, "one_time_password"));
    if (st == 201 && o) snprintf(otp, sizeof otp, "%s", o);
    json_decref(v);
    return otp[0] && sign_in(name, otp, tok) && change_password(tok, otp, USER_PASS);
}

/* The picture of a 200 reply, decoded from base64. */
static int reply_png(json_t *v, es_buf *png)
{
    const char *b64 = json_string_value(json_object_get(v, "png"));
    es_buf_init(png, ES_PICTURE_MAX_PNG);
    return b64 && es_base64_decode(b64, strlen(b64), png) == ES_OK;
}

static const char *str_of(json_t *v, const char *k)
{
    const char *s = json_string_value(json_object_get(v, k));
    return s ? s : "";
}

typedef struct scan_call {
    const char *tok, *target;
    const es_buf *body;
    int status;
    char retry[16];
    es_buf png;
} scan_call;

static void *scan_thread(void *arg)
{
    scan_call *c = arg;
    t_resp r;
    c->status = call_raw("POST", c->target, c->tok, "image/png", c->body->p, c->body->len, &r);
    es_buf_init(&c->png, ES_PICTURE_MAX_PNG);
    if (c->status == 200) {
        json_t *v = json_loadb((const char *)r.body.p, r.body.len, 0, NULL);
        es_buf_cleanup(&c->png);
        if (!reply_png(v, &c->png)) c->status = -2;
        json_decref(v);
    }
    const char *ra = t_hdr(&r, "Retry-After");
    c->retry[0] = 0;
    if (ra) snprintf(c->retry, sizeof c->retry, "%.15s", ra);
    t_resp_free(&r);
    return NULL;
}

static void test_api(void)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(var, sizeof var, "%s/eseal-picture.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(var)) exit(2);
    snprintf(outpath, sizeof outpath, "%s.out", var);
    FILE *out = fopen(outpath, "w");
    char conf[700];
    snprintf(conf, sizeof conf, "%s.conf", var);
    FILE *cf = fopen(conf, "w");
    if (!out || !cf || fputs("[log]\nlevel = warn\n[factors]\nenforce = false\n", cf) < 0 ||
        fclose(cf) != 0)
        exit(2);
    es_node_opts no = {conf, "127.0.0.1:0", var, out};
    es_node *node = NULL;
    char why[600] = "";
    es_err rv = es_node_start(&no, &node, why, sizeof why);
    fflush(out);
    if (rv != ES_OK) {
        ok(0, "the node starts: %s (%s)", why, es_err_str(rv));
        return;
    }
    port = es_node_port(node);
    char otp[64], admin[65], issuer[65], reviewer[65];
    ok(printed_otp("admin", otp) && sign_in("admin", otp, admin) &&
           change_password(admin, otp, ADMIN_PASS),
       "the administrator signs in");
    ok(account(admin, "pic-issuer", "seal_issuer", issuer), "a seal issuer");
    ok(account(admin, "pic-reviewer", "reviewer", reviewer), "a reviewer");

    static const char draw_body[] =
        "{\"name\":\"某某市人力资源和社会保障局\",\"type\":\"公章\",\"diameter\":42}";
    scan sc = make_scan(1500, 1300, 2.0, 1);
    es_buf png = scan_png(&sc);
    es_picture_scan_opts so = scan_opts(&sc);
    char target[256];
    snprintf(target, sizeof target, "/api/v1/pictures/scan?x=%u&y=%u&w=%u&h=%u&diameter=42",
             so.box.x, so.box.y, so.box.w, so.box.h);

    /* Outsiders, and signed-in people of other roles. */
    int st;
    json_t *v = post_json("/api/v1/pictures/draw", NULL, draw_body, &st);
    ok(st == 401, "draw without signing in: 401 (%d)", st);
    json_decref(v);
    /* (Refused from the headers, before any byte of the body is read, and the connection
     * closed: a short body, all sent before the answer, keeps the client's send from failing.) */
    v = call_json("POST", target, NULL, "image/png", png.p, 64, &st);
    ok(st == 401, "scan without signing in: 401 (%d)", st);
    json_decref(v);
    const char *others[] = {reviewer, admin};
    for (int i = 0; i < 2; i++) {
        v = post_json("/api/v1/pictures/draw", others[i], draw_body, &st);
        ok(st == 403 && strcmp(str_of(v, "error"), "forbidden") == 0, "draw as %s: 403 (%d)",
           i ? "the administrator" : "a reviewer", st);
        json_decref(v);
        v = call_json("POST", target, others[i], "image/png", png.p, png.len, &st);
        ok(st == 403, "scan as %s: 403 (%d)", i ? "the administrator" : "a reviewer", st);
        json_decref(v);
    }

    /* The issuer draws; the same request again gives the same picture. */
    v = post_json("/api/v1/pictures/draw", issuer, draw_body, &st);
    es_buf p1, p2;
    ok(st == 200 && reply_png(v, &p1) && strcmp(str_of(v, "source"), "drawn") == 0 &&
           within(json_number_value(json_object_get(v, "width_mm")), 42, 0.01) &&
           json_integer_value(json_object_get(v, "dpi")) == 600,
       "the issuer draws a seal: %d, %.3f mm", st,
       json_number_value(json_object_get(v, "width_mm")));
    json_decref(v);
    es_picture_info info;
    es_picture_why pw;
    ok(es_picture_probe(es_slice_make(p1.p, p1.len), 0, &info, &pw) == ES_OK &&
           within(info.width_mm, 42, 0.01),
       "the PNG drawn is 42 mm by its pHYs (%.3f)", info.width_mm);
    v = post_json("/api/v1/pictures/draw", issuer, draw_body, &st);
    ok(st == 200 && reply_png(v, &p2) && p2.len == p1.len && memcmp(p1.p, p2.p, p1.len) == 0,
       "drawn again: the same picture");
    json_decref(v);
    es_buf_cleanup(&p1);
    es_buf_cleanup(&p2);

    /* Bad drawing requests: 400 naming the field, in English and Chinese. */
    struct {
        const char *body, *error, *field;
        int status;
    } bad_draw[] = {
        {"{\"name\":\"某局\",\"diameter\":42,\"colour\":1}", "invalid_argument", NULL, 400},
        {"{\"name\":\"某局\",\"diameter\":42,\"shape\":\"square\"}", "invalid_argument", "shape",
         400},
        {"{\"name\":\"某局\",\"diameter\":500}", "invalid_argument", "diameter", 400},
        {"{\"name\":\"某局\",\"diameter\":42,\"width_mm\":42,\"height_mm\":42}", "invalid_argument",
         "diameter", 400},
        {"{\"name\":\"某局\"}", "invalid_argument", "width_mm", 400},
        {"{\"name\":\"某局\",\"diameter\":42,\"dpi\":20}", "invalid_argument", "dpi", 400},
        {"{\"name\":\"某局\",\"diameter\":42,\"ink\":\"red\"}", "invalid_argument", "ink", 400},
        {"{\"name\":\"某局\",\"diameter\":42,\"code\":\"12-3\"}", "picture_text", "code", 400},
        {"{\"name\":\"某局\",\"diameter\":42,\"type\":\"一二三四五六七八九十一二三四五六七\"}",
         "picture_text", "type", 400},
        {"{\"name\":\"某某省某某市某某区人力资源和社会保障局社会保险事业管理中心第一分中心\","
         "\"diameter\":20}",
         "picture_text", "name", 400},
        {"{\"name\":\"\xEE\x80\x80\",\"diameter\":42}", "picture_font", "name", 422},
        {"{\"name\":\"某局\",\"shape\":\"oval\",\"width_mm\":30,\"height_mm\":45}",
         "invalid_argument", "height_mm", 400},
        {"[1]", "bad_json", NULL, 400},
    };
    for (size_t i = 0; i < sizeof bad_draw / sizeof bad_draw[0]; i++) {
        v = post_json("/api/v1/pictures/draw", issuer, bad_draw[i].body, &st);
        const char *f = json_string_value(json_object_get(v, "field"));
        int zh =
            bad_draw[i].field == NULL || str_of(v, "detail_zh")[0] || str_of(v, "message_zh")[0];
        ok(st == bad_draw[i].status && strcmp(str_of(v, "error"), bad_draw[i].error) == 0 &&
               (!bad_draw[i].field || (f && strcmp(f, bad_draw[i].field) == 0)) && zh,
           "draw %s: %d %s field %s", bad_draw[i].body, st, str_of(v, "error"), f ? f : "-");
        json_decref(v);
    }

    /* The issuer makes the picture from a scan. */
    v = call_json("POST", target, issuer, "image/png", png.p, png.len, &st);
    json_t *ib = json_object_get(v, "ink_box");
    ok(st == 200 && reply_png(v, &p1) && strcmp(str_of(v, "source"), "scan") == 0 &&
           within(json_number_value(json_object_get(v, "width_mm")), 42, 0.01) &&
           within((double)json_integer_value(json_object_get(ib, "w")), SEAL_PX, 0.01) &&
           json_is_false(json_object_get(v, "aspect_warning")),
       "the issuer makes a picture from a scan: %d, %.3f mm, ink %lld px wide", st,
       json_number_value(json_object_get(v, "width_mm")),
       (long long)json_integer_value(json_object_get(ib, "w")));
    json_decref(v);
    ok(es_picture_probe(es_slice_make(p1.p, p1.len), 0, &info, &pw) == ES_OK &&
           within(info.width_mm, 42, 0.01) && within(info.height_mm, 42, 0.01),
       "the scan's picture is 42 mm by its pHYs (%.3f x %.3f)", info.width_mm, info.height_mm);

    /* Several at once: each made (the same picture) or 503 busy with Retry-After. */
    scan_call calls[4];
    pthread_t th[4];
    for (int i = 0; i < 4; i++) {
        memset(&calls[i], 0, sizeof calls[i]);
        calls[i].tok = issuer;
        calls[i].target = target;
        calls[i].body = &png;
        pthread_create(&th[i], NULL, scan_thread, &calls[i]);
    }
    int made = 0, busy = 0, other = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        if (calls[i].status == 200 && calls[i].png.len == p1.len &&
            memcmp(calls[i].png.p, p1.p, p1.len) == 0)
            made++;
        else if (calls[i].status == 503 && calls[i].retry[0])
            busy++;
        else
            other++;
        es_buf_cleanup(&calls[i].png);
    }
    ok(made >= 1 && other == 0, "4 scans at once: %d made alike, %d busy, %d otherwise", made, busy,
       other);
    es_buf_cleanup(&p1);

    /* Bad scans and parameters. */
    scan grey = make_scan(1500, 1300, 0, 0);
    es_buf gpng = scan_png(&grey);
    char t2[300];
    struct {
        const char *query, *ctype;
        const es_buf *body;
        int status;
        const char *error, *field;
    } bad_scan[] = {
        {"x=10&y=10&w=1100&h=1100&diameter=42", "application/json", &png, 415,
         "unsupported_media_type", "scan"},
        {"x=10&y=10&w=1100&h=1100&diameter=42", "image/pngx", &png, 415, "unsupported_media_type",
         "scan"},
        {"diameter=42", "image/png", &png, 400, "invalid_argument", "box"},
        {"x=1a&y=10&w=1100&h=1100&diameter=42", "image/png", &png, 400, "invalid_argument", "x"},
        {"x=-1&y=10&w=1100&h=1100&diameter=42", "image/png", &png, 400, "invalid_argument", "x"},
        {"x=10&y=10&w=1100&h=1100", "image/png", &png, 400, "invalid_argument", "diameter"},
        {"x=10&y=10&w=1100&h=1100&diameter=4e1", "image/png", &png, 400, "invalid_argument",
         "diameter"},
        {"x=10&y=10&w=1100&h=1100&diameter=nan", "image/png", &png, 400, "invalid_argument",
         "diameter"},
        {"x=10&y=10&w=1100&h=1100&diameter=42&width_mm=42&height_mm=42", "image/png", &png, 400,
         "invalid_argument", "diameter"},
        {"x=10&y=10&w=1100&h=1100&width_mm=42", "image/png", &png, 400, "invalid_argument",
         "height_mm"},
        {"x=1000&y=10&w=1100&h=1100&diameter=42", "image/png", &png, 400, "picture_box", "box"},
        {"x=10&y=10&w=1100&h=1100&diameter=42&ink=zz0000", "image/png", &png, 400,
         "invalid_argument", "ink"},
        {"x=10&y=10&w=1100&h=1100&diameter=42&dpi=2400", "image/png", &png, 400, "invalid_argument",
         "dpi"},
        {"x=200&y=100&w=1100&h=1100&diameter=42", "image/png", &gpng, 422, "picture_no_ink", "box"},
    };
    for (size_t i = 0; i < sizeof bad_scan / sizeof bad_scan[0]; i++) {
        snprintf(t2, sizeof t2, "/api/v1/pictures/scan?%s", bad_scan[i].query);
        v = call_json("POST", t2, issuer, bad_scan[i].ctype, bad_scan[i].body->p,
                      bad_scan[i].body->len, &st);
        const char *f = json_string_value(json_object_get(v, "field"));
        ok(st == bad_scan[i].status && strcmp(str_of(v, "error"), bad_scan[i].error) == 0 && f &&
               strcmp(f, bad_scan[i].field) == 0 && str_of(v, "message_zh")[0],
           "scan ?%s as %s: %d %s field %s", bad_scan[i].query, bad_scan[i].ctype, st,
           str_of(v, "error"), f ? f : "-");
        json_decref(v);
    }
    v = call_json("POST", target, issuer, "image/png", "GIF89a", 6, &st);
    ok(st == 400 && strcmp(str_of(v, "error"), "picture_format") == 0 && str_of(v, "detail_zh")[0],
       "a GIF body: %d %s", st, str_of(v, "error"));
    json_decref(v);
    v = call_json("POST", target, issuer, "image/png", png.p, png.len / 3, &st);
    ok(st == 400 && strcmp(str_of(v, "error"), "picture_damaged") == 0, "a truncated scan: %d %s",
       st, str_of(v, "error"));
    json_decref(v);
    /* Another site's page posting a scan with the issuer's session (the cookie): refused from
     * the headers (a short body, as above). */
    {
        es_buf q;
        es_buf_init(&q, 64u << 20);
        t_resp rr;
        t_resp_init(&rr);
        if (es_buf_printf(&q,
                          "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: eseal_session=%s\r\n"
                          "Origin: https://evil.example\r\nContent-Type: image/png\r\n"
                          "Content-Length: %d\r\n\r\n",
                          target, issuer, 64) != ES_OK ||
            es_buf_append(&q, png.p, 64) != ES_OK)
            exit(2);
        st = t_raw(port, (const char *)q.p, q.len, &rr);
        v = json_loadb((const char *)rr.body.p, rr.body.len, 0, NULL);
        ok(st == 403 && strcmp(str_of(v, "error"), "origin_refused") == 0,
           "a scan posted from another site with the session cookie: %d %s", st,
           str_of(v, "error"));
        json_decref(v);
        t_resp_free(&rr);
        es_buf_cleanup(&q);
    }
    /* Past the route's body limit: 413 from the Content-Length alone. */
    char big[512];
    int n = snprintf(big, sizeof big,
                     "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer %s\r\n"
                     "Content-Type: image/png\r\nContent-Length: %u\r\n\r\n",
                     target, issuer, ES_PICTURE_MAX_SCAN + 1);
    t_resp r;
    t_resp_init(&r);
    ok(t_raw(port, big, (size_t)n, &r) == 413, "a 12 MiB + 1 body: 413 (%d)", r.status);
    t_resp_free(&r);

    es_buf_cleanup(&gpng);
    cairo_surface_destroy(grey.s);
    es_buf_cleanup(&png);
    cairo_surface_destroy(sc.s);
    es_node_stop(node);
    fclose(out);
}

int main(void)
{
    test_scan();
    test_hostile();
    test_draw();
    test_scan_of_drawing();
    test_api();
    return t_done();
}
