/* eseal picture: the seal picture (印模 / 印文图像) of LD/T 01.1-2022 §7.5, at 1:1 with the
 * physical seal (docs/picture.md).
 *
 * Two ways to a picture, both ending in a PNG with an alpha channel and a pHYs chunk that makes
 * it print at its physical size:
 *   - es_picture_scan: from the scan of the collection sheet (JPEG or PNG). The issuer gives the
 *     seal's box on the scan and the size they measured on paper (diameter, or width x height);
 *     the paper is removed (transparent), the ink made one red with soft edges, the picture
 *     cropped to the ink and scaled to the measured millimetres.
 *   - es_picture_draw: a standard round or oval seal drawn from the unit's name (text on the
 *     arc glyph by glyph, five-point star, bottom text, optional code digits) with the CJK fonts
 *     of the system (fontconfig: fonts-noto-cjk or fonts-wqy-zenhei).
 *
 * Decoding is libjpeg(-turbo) and libpng; scaling and drawing cairo (pixman filters) and pango.
 * Outside input is bounded before anything is decoded: bytes (ES_PICTURE_MAX_SCAN), width and
 * height (ES_PICTURE_MAX_SIDE), width x height (ES_PICTURE_MAX_PIXELS), progressive scans.
 *
 * Errors name the field at fault and say why in English and Chinese (es_picture_why, static
 * strings). Thread safety: every function may run on several threads at once (each call has its
 * own decoder and surfaces; pango's font map is per thread).
 */
#ifndef ESEAL_PICTURE_H
#define ESEAL_PICTURE_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/err.h"
#include "eseal/util.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

/* Named limits. */
#define ES_PICTURE_MAX_SCAN    (12u << 20)           /* bytes of a scan (JPEG or PNG) */
#define ES_PICTURE_MAX_SIDE    20000u                /* pixels: width or height of a scan */
#define ES_PICTURE_MAX_PIXELS  (40u * 1000u * 1000u) /* width x height: A4 at 600 dpi is 35 M */
#define ES_PICTURE_MAX_BOX     4000u                 /* pixels: a side of the seal's box */
#define ES_PICTURE_MIN_BOX     16u                   /* pixels: a side of the seal's box */
#define ES_PICTURE_MIN_MM      10.0                  /* a side of a seal, millimetres */
#define ES_PICTURE_MAX_MM      100.0
#define ES_PICTURE_DPI_DEFAULT 600u /* 42 mm are 992 pixels */
#define ES_PICTURE_DPI_MIN     150u
#define ES_PICTURE_DPI_MAX     1200u
#define ES_PICTURE_MAX_PNG     (8u << 20) /* bytes of a picture made here */
#define ES_PICTURE_INK_DEFAULT 0xE60012u  /* seal red */
#define ES_PICTURE_MAX_TEXT    40         /* characters of the unit's name */

/* Why a call failed: the field at fault ("scan", "box", "diameter", "width_mm", "height_mm",
 * "dpi", "ink", "name", "bottom", "code", "shape"; NULL when none) and a sentence in English
 * and Chinese. Static storage. */
typedef struct es_picture_why {
    const char *field;
    es_reason reason;
} es_picture_why;

/* A decoded image: 8-bit RGBA, rows of width * 4 bytes, not premultiplied. Owned: free with
 * es_picture_image_free. */
typedef struct es_picture_image {
    uint32_t width, height;
    uint8_t *rgba;
} es_picture_image;

void es_picture_image_free(es_picture_image *img); /* NULL and an empty image are no-ops */

/* What a scan or picture is: its format ("JPEG", "PNG"), its pixels, and for a PNG with a pHYs
 * chunk in metres its resolution and physical size (dpi 0 when it has none). */
typedef struct es_picture_info {
    const char *format; /* static */
    uint32_t width, height;
    double dpi_x, dpi_y;
    double width_mm, height_mm;
} es_picture_info;

/* Reads a JPEG's or PNG's header only. ES_ERR_PICTURE_FORMAT (not JPEG or PNG),
 * ES_ERR_PICTURE_DECODE (a header that cannot be read), ES_ERR_PICTURE_SIZE (past the limits
 * above, or max_pixels when not 0), ES_ERR_LIMIT (more bytes than ES_PICTURE_MAX_SCAN). */
es_err es_picture_probe(es_slice data, uint32_t max_pixels, es_picture_info *out,
                        es_picture_why *why) ES_MUST_CHECK;

/* Decodes a whole JPEG or PNG into RGBA (a PNG's alpha kept; grey, palette and 16-bit
 * converted). max_pixels: 0 for ES_PICTURE_MAX_PIXELS, else a lower bound of the caller's.
 * Errors as es_picture_probe, and ES_ERR_PICTURE_DECODE for damaged or truncated data,
 * ES_ERR_NOMEM. */
es_err es_picture_decode(es_slice data, uint32_t max_pixels, es_picture_image *out,
                         es_picture_why *why) ES_MUST_CHECK;

/* A rectangle of a scan, pixels, origin top left. */
typedef struct es_picture_box {
    uint32_t x, y, w, h;
} es_picture_box;

typedef struct es_picture_scan_opts {
    es_picture_box box; /* the seal on the scan: ES_PICTURE_MIN_BOX..ES_PICTURE_MAX_BOX a side */
    double width_mm;    /* measured on paper: a round seal's diameter in both */
    double height_mm;
    unsigned dpi;        /* of the picture made; 0: ES_PICTURE_DPI_DEFAULT */
    uint32_t ink;        /* 0xRRGGBB of the ink; 0: ES_PICTURE_INK_DEFAULT */
    uint32_t max_pixels; /* of the scan; 0: ES_PICTURE_MAX_PIXELS */
} es_picture_scan_opts;

/* What es_picture_scan found and made. */
typedef struct es_picture_result {
    uint32_t width, height;     /* pixels of the picture */
    unsigned dpi;               /* its pHYs, rounded to pixels per metre */
    double width_mm, height_mm; /* its size when printed at 1:1 (from pixels and pHYs) */
    es_picture_box ink;         /* scan: the ink's bounding box on the scan (the picture) */
    uint32_t scan_width, scan_height;
    double paper_rgb[3]; /* scan: the paper colour estimated (0..255) */
    double aspect_error; /* scan: |ink w/h / (width_mm/height_mm) - 1|: above 0.05 the
                            scan or the measure is likely wrong (a warning) */
    double ink_share;    /* share of the picture's pixels that are ink (alpha >= 50%) */
} es_picture_result;

/* Makes the seal picture from a scan: crops the box, estimates the paper colour, turns every
 * pixel into ink alpha by how much redder than the paper it is in CIELAB (a* against the
 * paper, above a threshold set from the paper's own noise, with a soft ramp: black text, blue
 * signatures and paper texture become transparent), paints the ink one colour, crops to the
 * ink's bounding box and scales it (cairo, GOOD filter) to width_mm x height_mm at dpi, and
 * writes a PNG with alpha, pHYs and tEXt (Software, Source=scan) into png (appended; the
 * caller's buffer, es_buf_init'ed with a max of at least ES_PICTURE_MAX_PNG).
 * Errors: ES_ERR_ARG (an option out of range: why names it), the decoding errors of
 * es_picture_decode (field "scan"), ES_ERR_PICTURE_BOX (box not inside the scan),
 * ES_ERR_PICTURE_NO_INK (no seal ink in the box), ES_ERR_NOMEM, ES_ERR_LIMIT (png's max).
 * res may be NULL. */
es_err es_picture_scan(es_slice scan, const es_picture_scan_opts *o, es_buf *png,
                       es_picture_result *res, es_picture_why *why) ES_MUST_CHECK;

typedef enum es_picture_shape {
    ES_PICTURE_ROUND = 0,
    ES_PICTURE_OVAL = 1,
} es_picture_shape;

typedef struct es_picture_draw_opts {
    const char *name;   /* the unit's name along the upper arc: 1..ES_PICTURE_MAX_TEXT
                           characters of UTF-8 */
    const char *bottom; /* horizontal text below the centre (the seal type name, "合同专用章");
                           NULL or "": none; at most 16 characters */
    const char *code;   /* digits along the lower arc; NULL or "": none; at most 20 digits */
    es_picture_shape shape; /* round: width_mm == height_mm */
    double width_mm, height_mm;
    int star;         /* 1: a five-point star in the centre (round seals have one) */
    int preview;      /* 1: a grey "预览 PREVIEW" band across, for a unit without the seal yet */
    unsigned dpi;     /* 0: ES_PICTURE_DPI_DEFAULT */
    uint32_t ink;     /* 0: ES_PICTURE_INK_DEFAULT */
    const char *font; /* a fontconfig family list; NULL: "Noto Serif CJK SC, ..." */
} es_picture_draw_opts;

/* Draws a standard seal: the ring (0.028 of the diameter wide), the name on the arc glyph by
 * glyph (compressed when long, spread when short), the star, the bottom text, the code, in the
 * ink colour on transparency; a PNG as es_picture_scan writes (Source=drawn, Preview=yes when
 * asked). ES_ERR_ARG (why names the option), ES_ERR_PICTURE_TEXT (text that does not fit or
 * is not valid UTF-8), ES_ERR_PICTURE_FONT (no installed font has the characters),
 * ES_ERR_NOMEM, ES_ERR_LIMIT. res may be NULL. */
es_err es_picture_draw(const es_picture_draw_opts *o, es_buf *png, es_picture_result *res,
                       es_picture_why *why) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif

#endif
