/* A standard seal drawn from the unit's name (docs/picture.md): ring, name along the upper arc
 * glyph by glyph, five-point star, bottom text, code digits along the lower arc; cairo draws,
 * pango shapes each character with the system's CJK fonts (fontconfig). All lengths below are
 * pixels: millimetres times dpi / 25.4. */
#include <cairo.h>
#include <math.h>
#include <pango/pangocairo.h>
#include <stdlib.h>
#include <string.h>

#include "picture/internal.h"

#define PIC_FONT_DEFAULT "Noto Serif CJK SC,Noto Sans CJK SC,WenQuanYi Zen Hei,serif"
#define PIC_MAX_BOTTOM   16
#define PIC_MAX_CODE     20
#define PIC_ARC_STEPS    2048
#ifndef M_PI
#define M_PI 3.14159265358979323846
#endif
#define DEG (M_PI / 180.0)

/* Sanitizer builds: fontconfig (under pango) keeps its parsed configuration and font sets for
 * the life of the process and frees them nowhere, which LeakSanitizer reports at exit. That
 * memory is the library's, bounded and shared by every drawing; our own allocations stay
 * checked. The hook is read by the sanitizer runtime of any program linking this file. */
#if defined(__SANITIZE_ADDRESS__)
#define PIC_LSAN_HOOK 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define PIC_LSAN_HOOK 1
#endif
#endif
#ifdef PIC_LSAN_HOOK
const char *__lsan_default_suppressions(void);
__attribute__((visibility("default"), used)) const char *__lsan_default_suppressions(void)
{
    return "leak:libfontconfig.so\n";
}
#endif

typedef struct glyph {
    char s[8]; /* one UTF-8 character */
    double w;  /* advance (logical width), pixels */
} glyph;

/* Splits UTF-8 text into characters: ES_ERR_PICTURE_TEXT when not valid UTF-8, with control
 * characters, or longer than max. digits: only 0-9 and A-Z (a code). */
static es_err split(const char *text, size_t max, int digits, const char *field, glyph *out,
                    size_t *n, es_picture_why *why)
{
    *n = 0;
    if (!g_utf8_validate(text, -1, NULL))
        return pic_fail(why, ES_ERR_PICTURE_TEXT, field, "the text is not valid UTF-8",
                        "文字不是有效的 UTF-8 编码");
    for (const char *p = text; *p; p = g_utf8_next_char(p)) {
        gunichar c = g_utf8_get_char(p);
        size_t len = (size_t)(g_utf8_next_char(p) - p);
        if (*n == max)
            return pic_fail(why, ES_ERR_PICTURE_TEXT, field, "the text has too many characters",
                            "文字字数过多");
        if (g_unichar_iscntrl(c) || g_unichar_isspace(c) || len >= sizeof out->s ||
            (digits && !((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z'))))
            return pic_fail(why, ES_ERR_PICTURE_TEXT, field,
                            digits ? "the code may hold only digits 0-9 and letters A-Z"
                                   : "the text may not hold spaces or control characters",
                            digits ? "编码只能包含数字 0-9 和大写字母 A-Z"
                                   : "文字中不能有空格或控制字符");
        memcpy(out[*n].s, p, len);
        out[*n].s[len] = 0;
        (*n)++;
    }
    return ES_OK;
}

typedef struct drawer {
    cairo_surface_t *surface;
    cairo_t *cr;
    PangoLayout *lay;
    PangoFontDescription *desc;
    cairo_font_options_t *fo;
    uint8_t *rgba;
    double em; /* the font size set on lay */
    es_picture_why *why;
} drawer;

static es_err set_size(drawer *d, double em)
{
    d->em = em;
    pango_font_description_set_absolute_size(d->desc, em * PANGO_SCALE);
    pango_layout_set_font_description(d->lay, d->desc);
    return ES_OK;
}

/* Shapes one character; w its advance. ES_ERR_PICTURE_FONT when no font has it. */
static es_err shape(drawer *d, const char *field, glyph *g)
{
    PangoRectangle logical;
    pango_layout_set_text(d->lay, g->s, -1);
    if (pango_layout_get_unknown_glyphs_count(d->lay) > 0)
        return pic_fail(d->why, ES_ERR_PICTURE_FONT, field,
                        "no installed font has a character of the text (fonts-noto-cjk)",
                        "已安装的字体中缺少该文字的字形（fonts-noto-cjk）");
    pango_layout_get_extents(d->lay, NULL, &logical);
    g->w = (double)logical.width / PANGO_SCALE;
    return ES_OK;
}

/* Draws g with its centre at (x, y), rotated by theta (radians, clockwise), its width scaled
 * by sx. The centre of a CJK em box is 0.38 em above the baseline. */
static void show(drawer *d, const glyph *g, double x, double y, double theta, double sx)
{
    pango_layout_set_text(d->lay, g->s, -1);
    double base = (double)pango_layout_get_baseline(d->lay) / PANGO_SCALE;
    cairo_save(d->cr);
    cairo_translate(d->cr, x, y);
    cairo_rotate(d->cr, theta);
    cairo_scale(d->cr, sx, 1.0);
    cairo_move_to(d->cr, -g->w / 2, -(base - 0.38 * d->em));
    pango_cairo_update_layout(d->cr, d->lay);
    pango_cairo_show_layout(d->cr, d->lay);
    cairo_restore(d->cr);
}

/* Arc length along the ellipse (A sin t, -+B cos t) from t = 0, tabled on [0, pi]. */
typedef struct arc {
    double a, b;
    double s[PIC_ARC_STEPS + 1];
} arc;

static void arc_init(arc *r, double a, double b)
{
    r->a = a;
    r->b = b;
    r->s[0] = 0;
    double dt = M_PI / PIC_ARC_STEPS;
    for (int k = 1; k <= PIC_ARC_STEPS; k++) {
        double t = (k - 0.5) * dt;
        r->s[k] = r->s[k - 1] + hypot(a * cos(t), b * sin(t)) * dt;
    }
}

static double arc_len(const arc *r, double t) /* t in [0, pi] */
{
    double k = t / (M_PI / PIC_ARC_STEPS);
    int i = (int)k;
    if (i >= PIC_ARC_STEPS) return r->s[PIC_ARC_STEPS];
    return r->s[i] + (r->s[i + 1] - r->s[i]) * (k - i);
}

static double arc_param(const arc *r, double s) /* signed arc length to signed t */
{
    double as = fabs(s);
    int lo = 0, hi = PIC_ARC_STEPS;
    if (as >= r->s[hi]) return s < 0 ? -M_PI : M_PI;
    while (hi - lo > 1) {
        int mid = (lo + hi) / 2;
        if (r->s[mid] <= as)
            lo = mid;
        else
            hi = mid;
    }
    double f = (as - r->s[lo]) / (r->s[hi] - r->s[lo]);
    double t = (lo + f) * (M_PI / PIC_ARC_STEPS);
    return s < 0 ? -t : t;
}

/* Lays n glyphs along the upper (top = 1) or lower arc of the ellipse with semi-axes a, b
 * around (cx, cy), their centres on it: the spacing natural (0.12 em) and the whole spread to
 * min_half at least and pressed (narrower glyphs) to max_half at most (half angles, radians,
 * from the top or bottom). Upper glyphs stand with their tops outward, lower ones with their
 * tops inward, both read from left to right. */
static es_err arc_text(drawer *d, glyph *g, size_t n, double cx, double cy, double a, double b,
                       int top, double min_half, double max_half, const char *field)
{
    arc *r = malloc(sizeof *r);
    if (!r) return ES_ERR_NOMEM;
    arc_init(r, a, b);
    double sum = 0, gap = 0.12 * d->em, sx = 1.0;
    for (size_t i = 0; i < n; i++) sum += g[i].w;
    double lmax = 2 * arc_len(r, max_half), lmin = 2 * arc_len(r, min_half);
    if (sum + n * gap > lmax) {
        gap = 0.04 * d->em;
        sx = (lmax - n * gap) / sum;
        if (sx < 0.45) {
            free(r);
            return pic_fail(d->why, ES_ERR_PICTURE_TEXT, field,
                            "the text is too long for the seal's size: shorten it or make the "
                            "seal larger",
                            "文字过长，按此尺寸排列不下：请缩短文字或加大印章尺寸");
        }
    } else if (sum + n * gap < lmin && n > 1) {
        gap = fmin((lmin - sum) / n, 1.2 * d->em);
    }
    double total = sum * sx + n * gap, s = -total / 2;
    for (size_t i = 0; i < n; i++) {
        double adv = g[i].w * sx + gap, t = arc_param(r, s + adv / 2);
        s += adv;
        if (top)
            show(d, &g[i], cx + a * sin(t), cy - b * cos(t), atan2(b * sin(t), a * cos(t)), sx);
        else
            show(d, &g[i], cx + a * sin(t), cy + b * cos(t), atan2(-b * sin(t), a * cos(t)), sx);
    }
    free(r);
    return ES_OK;
}

/* A line of glyphs centred at (cx, cy), pressed to max_w at most. */
static void line_text(drawer *d, glyph *g, size_t n, double cx, double cy, double max_w)
{
    double sum = 0, gap = 0.05 * d->em;
    for (size_t i = 0; i < n; i++) sum += g[i].w;
    double total = sum + (n - 1) * gap, sx = total > max_w ? max_w / total : 1.0;
    double x = cx - total * sx / 2;
    for (size_t i = 0; i < n; i++) {
        show(d, &g[i], x + g[i].w * sx / 2, cy, 0, sx);
        x += (g[i].w + gap) * sx;
    }
}

static void star(cairo_t *cr, double cx, double cy, double r)
{
    for (int k = 0; k < 10; k++) {
        double rr = k % 2 ? r * 0.381966 : r, t = -M_PI / 2 + k * M_PI / 5;
        if (k == 0)
            cairo_move_to(cr, cx + rr * cos(t), cy + rr * sin(t));
        else
            cairo_line_to(cr, cx + rr * cos(t), cy + rr * sin(t));
    }
    cairo_close_path(cr);
    cairo_fill(cr);
}

static es_err shape_all(drawer *d, glyph *g, size_t n, const char *field)
{
    es_err rv;
    for (size_t i = 0; i < n; i++)
        if ((rv = shape(d, field, &g[i])) != ES_OK) return rv;
    return ES_OK;
}

typedef struct texts {
    glyph name[ES_PICTURE_MAX_TEXT], bottom[PIC_MAX_BOTTOM], code[PIC_MAX_CODE];
    size_t n_name, n_bottom, n_code;
} texts;

static es_err draw_run(const es_picture_draw_opts *o, unsigned dpi, uint32_t ink, drawer *d,
                       texts *tx, es_buf *png, es_picture_result *res)
{
    es_err rv;
    const double k = dpi / 25.4; /* pixels a millimetre */
    const uint32_t W = pic_px(o->width_mm, dpi), H = pic_px(o->height_mm, dpi);
    const int oval = o->shape == ES_PICTURE_OVAL;
    const double ref = (o->width_mm + o->height_mm) / 2 * k; /* the seal's mean size, px */
    const double cx = W / 2.0, cy = H / 2.0, a = W / 2.0, b = H / 2.0;

    d->surface = cairo_image_surface_create(CAIRO_FORMAT_ARGB32, (int)W, (int)H);
    if (cairo_surface_status(d->surface) != CAIRO_STATUS_SUCCESS) return ES_ERR_NOMEM;
    d->cr = cairo_create(d->surface);
    if (cairo_status(d->cr) != CAIRO_STATUS_SUCCESS) return ES_ERR_NOMEM;
    d->lay = pango_cairo_create_layout(d->cr);
    d->desc = pango_font_description_new();
    d->fo = cairo_font_options_create();
    if (!d->lay || !d->desc || !d->fo) return ES_ERR_NOMEM;
    /* Outlines as designed: no hinting, no metrics rounded to whole pixels. */
    cairo_font_options_set_hint_style(d->fo, CAIRO_HINT_STYLE_NONE);
    cairo_font_options_set_hint_metrics(d->fo, CAIRO_HINT_METRICS_OFF);
    cairo_font_options_set_antialias(d->fo, CAIRO_ANTIALIAS_GRAY);
    pango_cairo_context_set_font_options(pango_layout_get_context(d->lay), d->fo);
    pango_layout_context_changed(d->lay);
    pango_font_description_set_family(d->desc, o->font && *o->font ? o->font : PIC_FONT_DEFAULT);
    pango_font_description_set_weight(d->desc, PANGO_WEIGHT_BOLD);

    cairo_set_source_rgb(d->cr, ((ink >> 16) & 0xFF) / 255.0, ((ink >> 8) & 0xFF) / 255.0,
                         (ink & 0xFF) / 255.0);
    /* The ring: 0.028 of the size wide (1.2 mm on a 42 mm seal). */
    const double border = 0.028 * ref, gap = 0.035 * ref;
    cairo_save(d->cr);
    cairo_translate(d->cr, cx, cy);
    cairo_scale(d->cr, a - border / 2, b - border / 2);
    cairo_arc(d->cr, 0, 0, 1, 0, 2 * M_PI);
    cairo_restore(d->cr);
    cairo_set_line_width(d->cr, border);
    cairo_stroke(d->cr);

    /* The name: 0.145 of a round seal's diameter high (6.1 mm on 42 mm), 0.135 of an oval's
     * height; up to 250 degrees of a circle, 220 of an oval. */
    double em = oval ? 0.135 * H : 0.145 * ref;
    if ((rv = set_size(d, em)) != ES_OK ||
        (rv = shape_all(d, tx->name, tx->n_name, "name")) != ES_OK)
        return rv;
    double off = border + gap + em / 2;
    if ((rv = arc_text(d, tx->name, tx->n_name, cx, cy, a - off, b - off, 1,
                       oval ? 55 * DEG : 70 * DEG, oval ? 110 * DEG : 125 * DEG, "name")) != ES_OK)
        return rv;

    /* The star: a third of the diameter across (14 mm on 42 mm). */
    if (o->star) star(d->cr, cx, cy, (oval ? 0.14 * H : ref / 6));

    /* The code along the lower arc, small (2.5 mm on 42 mm), within 80 degrees. */
    double code_em = 0.06 * ref;
    if (tx->n_code) {
        if ((rv = set_size(d, code_em)) != ES_OK ||
            (rv = shape_all(d, tx->code, tx->n_code, "code")) != ES_OK)
            return rv;
        double coff = border + gap * 0.8 + code_em / 2;
        if ((rv = arc_text(d, tx->code, tx->n_code, cx, cy, a - coff, b - coff, 0, 0,
                           oval ? 50 * DEG : 40 * DEG, "code")) != ES_OK)
            return rv;
    }

    /* The bottom text, across: 0.1 of the size high, below the star (round) or the centre. */
    if (tx->n_bottom) {
        double bem = oval ? 0.13 * H : 0.1 * ref;
        if ((rv = set_size(d, bem)) != ES_OK ||
            (rv = shape_all(d, tx->bottom, tx->n_bottom, "bottom")) != ES_OK)
            return rv;
        double y = oval ? cy + (o->star ? 0.22 * H : 0.08 * H) : cy + 0.27 * ref;
        line_text(d, tx->bottom, tx->n_bottom, cx, y, oval ? 0.6 * W : 0.56 * ref);
    }

    /* A preview says so across the picture, in grey. */
    if (o->preview) {
        static glyph pv[2] = {{"\xE9\xA2\x84", 0}, {"\xE8\xA7\x88", 0}}; /* 预览 */
        glyph mark[2];
        memcpy(mark, pv, sizeof mark);
        if ((rv = set_size(d, 0.13 * ref)) != ES_OK ||
            (rv = shape_all(d, mark, 2, "preview")) != ES_OK)
            return rv;
        cairo_set_source_rgba(d->cr, 0.45, 0.45, 0.45, 0.7);
        cairo_save(d->cr);
        cairo_translate(d->cr, cx, cy);
        cairo_rotate(d->cr, -20 * DEG);
        cairo_translate(d->cr, -cx, -cy);
        line_text(d, mark, 2, cx, cy, 0.8 * ref);
        cairo_restore(d->cr);
    }
    cairo_surface_flush(d->surface);
    if (cairo_status(d->cr) != CAIRO_STATUS_SUCCESS) return ES_ERR_NOMEM;

    /* Cairo's premultiplied native-endian ARGB to straight RGBA. */
    d->rgba = malloc((size_t)W * H * 4);
    if (!d->rgba) return ES_ERR_NOMEM;
    const uint8_t *sd = cairo_image_surface_get_data(d->surface);
    int ss = cairo_image_surface_get_stride(d->surface);
    uint64_t solid = 0;
    for (uint32_t y = 0; y < H; y++) {
        const uint32_t *row = (const uint32_t *)(const void *)(sd + (size_t)y * ss);
        for (uint32_t x = 0; x < W; x++) {
            uint32_t v = row[x], al = v >> 24;
            uint8_t *p = d->rgba + ((size_t)y * W + x) * 4;
            for (int c = 0; c < 3; c++) {
                uint32_t pc = (v >> (16 - 8 * c)) & 0xFF;
                p[c] = al ? (uint8_t)((pc * 255 + al / 2) / al) : 0;
            }
            p[3] = (uint8_t)al;
            if (al >= 128) solid++;
        }
    }
    res->ink_share = (double)solid / ((double)W * H);
    if ((rv = pic_png_write(d->rgba, W, H, dpi, "drawn", o->preview, png, d->why)) != ES_OK)
        return rv;
    pic_result_size(res, W, H, dpi);
    return ES_OK;
}

es_err es_picture_draw(const es_picture_draw_opts *o, es_buf *png, es_picture_result *res,
                       es_picture_why *why)
{
    es_picture_result scratch;
    if (!res) res = &scratch;
    memset(res, 0, sizeof *res);
    if (!o || !png) return ES_ERR_ARG;
    if (o->shape != ES_PICTURE_ROUND && o->shape != ES_PICTURE_OVAL)
        return pic_fail(why, ES_ERR_ARG, "shape", "the shape must be round or oval",
                        "形状须为圆形或椭圆形");
    if (!o->name || !*o->name)
        return pic_fail(why, ES_ERR_ARG, "name", "the unit's name is required", "须填写单位名称");
    unsigned dpi = o->dpi;
    uint32_t ink = o->ink;
    es_err rv = pic_check_size(o->width_mm, o->height_mm, &dpi, &ink, why);
    if (rv != ES_OK) return rv;
    if (o->shape == ES_PICTURE_ROUND && fabs(o->width_mm - o->height_mm) > 1e-9)
        return pic_fail(why, ES_ERR_ARG, "height_mm", "a round seal's width and height are equal",
                        "圆形印章的宽和高须相等");
    if (o->shape == ES_PICTURE_OVAL && o->height_mm > o->width_mm)
        return pic_fail(why, ES_ERR_ARG, "height_mm",
                        "an oval seal is wider than high (width_mm >= height_mm)",
                        "椭圆形印章的宽须不小于高");
    if (o->font && strlen(o->font) > 200)
        return pic_fail(why, ES_ERR_ARG, "font", "the font list is too long", "字体列表过长");
    texts *tx = calloc(1, sizeof *tx);
    if (!tx) return ES_ERR_NOMEM;
    drawer d;
    memset(&d, 0, sizeof d);
    d.why = why;
    if ((rv = split(o->name, ES_PICTURE_MAX_TEXT, 0, "name", tx->name, &tx->n_name, why)) !=
            ES_OK ||
        (o->bottom && (rv = split(o->bottom, PIC_MAX_BOTTOM, 0, "bottom", tx->bottom, &tx->n_bottom,
                                  why)) != ES_OK) ||
        (o->code &&
         (rv = split(o->code, PIC_MAX_CODE, 1, "code", tx->code, &tx->n_code, why)) != ES_OK))
        goto out;
    rv = draw_run(o, dpi, ink, &d, tx, png, res);
out:
    if (d.lay) g_object_unref(d.lay);
    if (d.desc) pango_font_description_free(d.desc);
    if (d.fo) cairo_font_options_destroy(d.fo);
    if (d.cr) cairo_destroy(d.cr);
    if (d.surface) cairo_surface_destroy(d.surface);
    free(d.rgba);
    free(tx);
    return rv;
}
