/* Writing the picture: a PNG (libpng) with alpha, a pHYs chunk that makes it print at 1:1 and
 * tEXt chunks that say what made it; and the checks and sizes shared by scan and draw. */
#include <math.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "picture/internal.h"

uint32_t pic_px(double mm, unsigned dpi)
{
    double px = floor(mm / 25.4 * dpi + 0.5);
    return px < 1 ? 1 : (uint32_t)px;
}

/* pHYs holds pixels per metre, an integer: the dpi a reader finds is this one. */
static png_uint_32 ppm_of(unsigned dpi)
{
    return (png_uint_32)floor(dpi / 0.0254 + 0.5);
}

void pic_result_size(es_picture_result *res, uint32_t w, uint32_t h, unsigned dpi)
{
    png_uint_32 ppm = ppm_of(dpi);
    res->width = w;
    res->height = h;
    res->dpi = dpi;
    res->width_mm = (double)w * 1000.0 / ppm;
    res->height_mm = (double)h * 1000.0 / ppm;
}

es_err pic_check_size(double width_mm, double height_mm, unsigned *dpi, uint32_t *ink,
                      es_picture_why *why)
{
    /* !(a >= b) also refuses NaN. */
    if (!(width_mm >= ES_PICTURE_MIN_MM && width_mm <= ES_PICTURE_MAX_MM))
        return pic_fail(why, ES_ERR_ARG, "width_mm",
                        "the width (or diameter) must be 10 to 100 millimetres",
                        "宽度（或直径）须为 10 至 100 毫米");
    if (!(height_mm >= ES_PICTURE_MIN_MM && height_mm <= ES_PICTURE_MAX_MM))
        return pic_fail(why, ES_ERR_ARG, "height_mm", "the height must be 10 to 100 millimetres",
                        "高度须为 10 至 100 毫米");
    if (*dpi == 0) *dpi = ES_PICTURE_DPI_DEFAULT;
    if (*dpi < ES_PICTURE_DPI_MIN || *dpi > ES_PICTURE_DPI_MAX)
        return pic_fail(why, ES_ERR_ARG, "dpi", "the resolution must be 150 to 1200 dpi",
                        "分辨率须为 150 至 1200 dpi");
    if (*ink == 0) *ink = ES_PICTURE_INK_DEFAULT;
    if (*ink > 0xFFFFFFu)
        return pic_fail(why, ES_ERR_ARG, "ink", "the ink colour must be RRGGBB",
                        "印泥颜色须为 RRGGBB 格式");
    return ES_OK;
}

typedef struct wctx {
    png_structp png;
    png_infop info;
    es_buf *out;
    es_err rv;
    const uint8_t *rgba;
    uint32_t w, h;
    unsigned dpi;
    const char *source;
    int preview;
} wctx;

static void w_error(png_structp p, png_const_charp msg)
{
    wctx *x = png_get_error_ptr(p);
    (void)msg;
    if (x->rv == ES_OK) x->rv = ES_ERR_INTERNAL;
    png_longjmp(p, 1);
}

static void w_warn(png_structp p, png_const_charp msg)
{
    (void)p;
    (void)msg;
}

static void w_write(png_structp p, png_bytep data, size_t n)
{
    wctx *x = png_get_io_ptr(p);
    es_err rv = es_buf_append(x->out, data, n);
    if (rv != ES_OK) {
        x->rv = rv;
        png_error(p, "write");
    }
}

static void w_flush(png_structp p)
{
    (void)p;
}

static es_err write_work(wctx *x)
{
    png_set_write_fn(x->png, x, w_write, w_flush);
    png_set_IHDR(x->png, x->info, x->w, x->h, 8, PNG_COLOR_TYPE_RGB_ALPHA, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_pHYs(x->png, x->info, ppm_of(x->dpi), ppm_of(x->dpi), PNG_RESOLUTION_METER);
    png_text text[3];
    memset(text, 0, sizeof text);
    int n = 0;
    text[n].compression = PNG_TEXT_COMPRESSION_NONE;
    text[n].key = (png_charp) "Software";
    text[n++].text = (png_charp) "eseal (LD/T 01.1-2022 seal picture, 1:1 by pHYs)";
    text[n].compression = PNG_TEXT_COMPRESSION_NONE;
    text[n].key = (png_charp) "Source";
    text[n++].text = (png_charp)x->source;
    if (x->preview) {
        text[n].compression = PNG_TEXT_COMPRESSION_NONE;
        text[n].key = (png_charp) "Preview";
        text[n++].text = (png_charp) "yes: a drawn standard seal, not a physical seal's imprint";
    }
    png_set_text(x->png, x->info, text, n);
    png_write_info(x->png, x->info);
    for (uint32_t y = 0; y < x->h; y++) png_write_row(x->png, x->rgba + (size_t)y * x->w * 4);
    png_write_end(x->png, x->info);
    return ES_OK;
}

static es_err write_run(wctx *x)
{
    x->png = png_create_write_struct(PNG_LIBPNG_VER_STRING, x, w_error, w_warn);
    if (!x->png) return ES_ERR_NOMEM;
    x->info = png_create_info_struct(x->png);
    if (!x->info) return ES_ERR_NOMEM;
    if (setjmp(png_jmpbuf(x->png))) return x->rv != ES_OK ? x->rv : ES_ERR_INTERNAL;
    return write_work(x);
}

es_err pic_png_write(const uint8_t *rgba, uint32_t w, uint32_t h, unsigned dpi, const char *source,
                     int preview, es_buf *png, es_picture_why *why)
{
    wctx *x = calloc(1, sizeof *x);
    if (!x) return ES_ERR_NOMEM;
    size_t start = png->len;
    x->out = png;
    x->rgba = rgba;
    x->w = w;
    x->h = h;
    x->dpi = dpi;
    x->source = source;
    x->preview = preview;
    es_err rv = write_run(x);
    if (x->png) png_destroy_write_struct(&x->png, x->info ? &x->info : NULL);
    free(x);
    if (rv != ES_OK) {
        png->len = start;
        if (rv == ES_ERR_LIMIT)
            pic_fail(why, rv, "dpi", "the picture is larger than the output limit: lower the dpi",
                     "生成的图像超出大小限制，请降低分辨率");
    }
    return rv;
}
