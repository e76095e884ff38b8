/* The seal picture from a scan of the collection sheet (LD/T 01.1 §7.5 ¶1, ¶3): crop, paper to
 * transparency, one ink colour, 1:1 by the millimetres the issuer measured (docs/picture.md). */
#include <cairo.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "picture/internal.h"

/* Scores are a*-like units (CIELAB), kept as int16 in 1/16ths. */
#define SCORE_SCALE 16.0f
/* The ramp from transparent to full ink: its foot is SIGMAS paper-noise deviations above the
 * paper (at least MIN_FOOT), its width at least MIN_RAMP. */
#define SIGMAS   5.0
#define MIN_FOOT 6.0
#define MIN_RAMP 14.0

static float srgb_lin[256];
static pthread_once_t srgb_once = PTHREAD_ONCE_INIT;

static void lin_fill(void)
{
    for (int i = 0; i < 256; i++) {
        double c = i / 255.0;
        srgb_lin[i] = (float)(c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4));
    }
}

/* The sRGB decoding table, filled once for every thread. */
static void lin_init(void)
{
    pthread_once(&srgb_once, lin_fill);
}

static float lab_f(float t)
{
    const float e = 216.0f / 24389.0f; /* (6/29)^3 */
    return t > e ? cbrtf(t) : t * (24389.0f / 27.0f / 116.0f) + 16.0f / 116.0f;
}

/* sRGB (D65) to CIELAB. */
static void to_lab(const uint8_t *p, float lab[3])
{
    float r = srgb_lin[p[0]], g = srgb_lin[p[1]], b = srgb_lin[p[2]];
    float x = (0.4124564f * r + 0.3575761f * g + 0.1804375f * b) / 0.95047f;
    float y = 0.2126729f * r + 0.7151522f * g + 0.0721750f * b;
    float z = (0.0193339f * r + 0.1191920f * g + 0.9503041f * b) / 1.08883f;
    float fx = lab_f(x), fy = lab_f(y), fz = lab_f(z);
    lab[0] = 116.0f * fy - 16.0f;
    lab[1] = 500.0f * (fx - fy);
    lab[2] = 200.0f * (fy - fz);
}

static unsigned luma(const uint8_t *p)
{
    return (54u * p[0] + 183u * p[1] + 19u * p[2]) >> 8;
}

/* The value at quantile q of a histogram of n counts. */
static int hist_quantile(const uint64_t *h, int bins, uint64_t total, double q)
{
    uint64_t want = (uint64_t)(q * (double)total), acc = 0;
    for (int i = 0; i < bins; i++) {
        acc += h[i];
        if (acc > want) return i;
    }
    return bins - 1;
}

/* How much redder than the paper a pixel is: a* above the paper's, less what it leans to blue
 * (a purple or blue pen has a* too, but b* well below the paper's). */
static float ink_score(const float lab[3], const float paper[3])
{
    float da = lab[1] - paper[1], db = lab[2] - paper[2];
    float lean = db + 0.5f * da;
    return da + (lean < 0 ? 1.5f * lean : 0.0f);
}

typedef struct scan_work {
    es_picture_image img;
    int16_t *score;
    uint8_t *alpha;
    uint8_t *rgba_out;
    cairo_surface_t *src, *dst;
} scan_work;

/* Paper: the median colour of the brightest 40% of the box (the seal and the form's print are
 * darker than the paper, and cover less than half of a box drawn around a seal). */
static void estimate_paper(const es_picture_image *img, double rgb[3], unsigned *thr)
{
    uint64_t hl[256] = {0}, hc[3][256];
    memset(hc, 0, sizeof hc);
    size_t n = (size_t)img->width * img->height;
    for (size_t i = 0; i < n; i++) hl[luma(img->rgba + i * 4)]++;
    *thr = (unsigned)hist_quantile(hl, 256, n, 0.60);
    uint64_t m = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = img->rgba + i * 4;
        if (luma(p) < *thr) continue;
        for (int c = 0; c < 3; c++) hc[c][p[c]]++;
        m++;
    }
    for (int c = 0; c < 3; c++) rgb[c] = hist_quantile(hc[c], 256, m, 0.5);
}

static es_err scan_run(es_slice scan, const es_picture_scan_opts *o, unsigned dpi, uint32_t ink,
                       scan_work *w, es_buf *png, es_picture_result *res, es_picture_why *why)
{
    es_picture_info info;
    es_err rv = pic_decode(scan, o->max_pixels, &o->box, 1, &w->img, &info, why);
    if (rv != ES_OK) return rv;
    res->scan_width = info.width;
    res->scan_height = info.height;
    lin_init();
    const uint32_t bw = w->img.width, bh = w->img.height;
    const size_t n = (size_t)bw * bh;

    unsigned thr;
    estimate_paper(&w->img, res->paper_rgb, &thr);
    uint8_t paper_px[3] = {(uint8_t)res->paper_rgb[0], (uint8_t)res->paper_rgb[1],
                           (uint8_t)res->paper_rgb[2]};
    float paper[3];
    to_lab(paper_px, paper);

    /* Scores, and the paper's own spread of them (median absolute deviation). */
    w->score = malloc(n * sizeof *w->score);
    w->alpha = malloc(n);
    if (!w->score || !w->alpha) return ES_ERR_NOMEM;
    enum { BINS = 801 }; /* -50..+50 in steps of 1/8 */
    uint64_t hs[BINS] = {0}, hd[BINS] = {0}, m = 0;
    for (size_t i = 0; i < n; i++) {
        const uint8_t *p = w->img.rgba + i * 4;
        float lab[3];
        to_lab(p, lab);
        float s = ink_score(lab, paper);
        float q = s * SCORE_SCALE;
        w->score[i] = (int16_t)(q > 32000 ? 32000 : q < -32000 ? -32000 : q);
        if (luma(p) >= thr) {
            int b = (int)lrintf(s * 8.0f) + 400;
            hs[b < 0 ? 0 : b >= BINS ? BINS - 1 : b]++;
            m++;
        }
    }
    double med = (hist_quantile(hs, BINS, m, 0.5) - 400) / 8.0;
    for (size_t i = 0; i < n; i++) {
        if (luma(w->img.rgba + i * 4) < thr) continue;
        double d = fabs(w->score[i] / SCORE_SCALE - med);
        int b = (int)lrint(d * 8.0);
        hd[b >= BINS ? BINS - 1 : b]++;
    }
    double sigma = 1.4826 * hist_quantile(hd, BINS, m, 0.5) / 8.0;
    double foot = med + fmax(MIN_FOOT, SIGMAS * sigma);
    double top = foot + fmax(MIN_RAMP, foot - med);

    /* Alpha: a smooth ramp from the foot to the top. */
    uint32_t *rows = calloc(bh, sizeof *rows), *cols = calloc(bw, sizeof *cols);
    if (!rows || !cols) {
        free(rows);
        free(cols);
        return ES_ERR_NOMEM;
    }
    uint64_t inked = 0;
    for (uint32_t y = 0; y < bh; y++)
        for (uint32_t x = 0; x < bw; x++) {
            size_t i = (size_t)y * bw + x;
            double t = (w->score[i] / SCORE_SCALE - foot) / (top - foot);
            t = t < 0 ? 0 : t > 1 ? 1 : t;
            t = t * t * (3 - 2 * t);
            w->alpha[i] = (uint8_t)lrint(t * 255.0);
            if (w->alpha[i] >= 128) {
                rows[y]++;
                cols[x]++;
                inked++;
            }
        }
    /* The ink's box: rows and columns with more than a speck of ink. */
    uint32_t need_r = bw / 100 > 2 ? bw / 100 : 2, need_c = bh / 100 > 2 ? bh / 100 : 2;
    uint32_t y0 = 0, y1 = bh, x0 = 0, x1 = bw;
    while (y0 < bh && rows[y0] < need_r) y0++;
    while (y1 > y0 && rows[y1 - 1] < need_r) y1--;
    while (x0 < bw && cols[x0] < need_c) x0++;
    while (x1 > x0 && cols[x1 - 1] < need_c) x1--;
    free(rows);
    free(cols);
    if (y0 >= y1 || x0 >= x1 || inked * 500 < n || (x1 - x0) < 8 || (y1 - y0) < 8)
        return pic_fail(
            why, ES_ERR_PICTURE_NO_INK, "box",
            "no red seal ink in the box: mark the seal on the scan (a colour scan, "
            "not grey)",
            "框选区域内没有红色印章印迹：请框选扫描件上的印章（须为彩色扫描，不能是灰度）");
    const uint32_t cw = x1 - x0, ch = y1 - y0;
    res->ink.x = o->box.x + x0;
    res->ink.y = o->box.y + y0;
    res->ink.w = cw;
    res->ink.h = ch;
    res->aspect_error = fabs(((double)cw / ch) / (o->width_mm / o->height_mm) - 1.0);

    /* Scale the ink's alpha to the millimetres (cairo: pixman's box filter down, bilinear up). */
    const uint32_t tw = pic_px(o->width_mm, dpi), th = pic_px(o->height_mm, dpi);
    w->src = cairo_image_surface_create(CAIRO_FORMAT_A8, (int)cw, (int)ch);
    w->dst = cairo_image_surface_create(CAIRO_FORMAT_A8, (int)tw, (int)th);
    if (cairo_surface_status(w->src) != CAIRO_STATUS_SUCCESS ||
        cairo_surface_status(w->dst) != CAIRO_STATUS_SUCCESS)
        return ES_ERR_NOMEM;
    cairo_surface_flush(w->src);
    uint8_t *sd = cairo_image_surface_get_data(w->src);
    int ss = cairo_image_surface_get_stride(w->src);
    for (uint32_t y = 0; y < ch; y++)
        memcpy(sd + (size_t)y * ss, w->alpha + (size_t)(y0 + y) * bw + x0, cw);
    cairo_surface_mark_dirty(w->src);
    cairo_t *cr = cairo_create(w->dst);
    cairo_scale(cr, (double)tw / cw, (double)th / ch);
    cairo_set_source_surface(cr, w->src, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_pattern_set_extend(cairo_get_source(cr), CAIRO_EXTEND_PAD);
    cairo_set_operator(cr, CAIRO_OPERATOR_SOURCE);
    cairo_paint(cr);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st != CAIRO_STATUS_SUCCESS) return ES_ERR_NOMEM;
    cairo_surface_flush(w->dst);

    /* One ink colour; alpha from the scaled surface. */
    w->rgba_out = malloc((size_t)tw * th * 4);
    if (!w->rgba_out) return ES_ERR_NOMEM;
    const uint8_t *dd = cairo_image_surface_get_data(w->dst);
    int ds = cairo_image_surface_get_stride(w->dst);
    uint64_t solid = 0;
    for (uint32_t y = 0; y < th; y++)
        for (uint32_t x = 0; x < tw; x++) {
            uint8_t *p = w->rgba_out + ((size_t)y * tw + x) * 4;
            p[0] = (uint8_t)(ink >> 16);
            p[1] = (uint8_t)(ink >> 8);
            p[2] = (uint8_t)ink;
            p[3] = dd[(size_t)y * ds + x];
            if (p[3] >= 128) solid++;
        }
    res->ink_share = (double)solid / ((double)tw * th);
    if ((rv = pic_png_write(w->rgba_out, tw, th, dpi, "scan", 0, png, why)) != ES_OK) return rv;
    pic_result_size(res, tw, th, dpi);
    return ES_OK;
}

es_err es_picture_scan(es_slice scan, const es_picture_scan_opts *o, es_buf *png,
                       es_picture_result *res, es_picture_why *why)
{
    es_picture_result scratch;
    if (!res) res = &scratch;
    memset(res, 0, sizeof *res);
    if (!o || !png || (!scan.p && scan.len)) return ES_ERR_ARG;
    if (o->box.w < ES_PICTURE_MIN_BOX || o->box.h < ES_PICTURE_MIN_BOX ||
        o->box.w > ES_PICTURE_MAX_BOX || o->box.h > ES_PICTURE_MAX_BOX)
        return pic_fail(why, ES_ERR_ARG, "box", "the box must be 16 to 4000 pixels wide and high",
                        "框选区域的宽和高须为 16 至 4000 像素");
    unsigned dpi = o->dpi;
    uint32_t ink = o->ink;
    es_err rv = pic_check_size(o->width_mm, o->height_mm, &dpi, &ink, why);
    if (rv != ES_OK) return rv;
    scan_work w;
    memset(&w, 0, sizeof w);
    rv = scan_run(scan, o, dpi, ink, &w, png, res, why);
    es_picture_image_free(&w.img);
    free(w.score);
    free(w.alpha);
    free(w.rgba_out);
    if (w.src) cairo_surface_destroy(w.src);
    if (w.dst) cairo_surface_destroy(w.dst);
    return rv;
}
