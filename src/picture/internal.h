/* What the files of src/picture/ share. Not installed. */
#ifndef ESEAL_PICTURE_INTERNAL_H
#define ESEAL_PICTURE_INTERNAL_H

#include <stdint.h>

#include "eseal/picture.h"

/* Sets *why (when why is not NULL) and returns rv. */
es_err pic_fail(es_picture_why *why, es_err rv, const char *field, const char *en, const char *zh);

/* Decodes the rectangle box of a JPEG or PNG (the whole image when box is NULL) into out
 * (RGBA; a PNG's transparency composited over white, as paper under a transparent scan).
 * info gets the header. Box outside the image: ES_ERR_PICTURE_BOX. */
es_err pic_decode(es_slice data, uint32_t max_pixels, const es_picture_box *box, int flatten,
                  es_picture_image *out, es_picture_info *info, es_picture_why *why);

/* Writes an 8-bit RGBA image (not premultiplied) as a PNG with pHYs at dpi and tEXt chunks
 * (Software, Source = source, and Preview = yes when preview), appended to png. */
es_err pic_png_write(const uint8_t *rgba, uint32_t w, uint32_t h, unsigned dpi, const char *source,
                     int preview, es_buf *png, es_picture_why *why);

/* Pixels for mm at dpi (rounded, at least 1). */
uint32_t pic_px(double mm, unsigned dpi);

/* Fills the size fields of res from pixels and the pHYs that dpi gives (pixels per metre
 * rounded as in the PNG). */
void pic_result_size(es_picture_result *res, uint32_t w, uint32_t h, unsigned dpi);

/* Checks the options shared by scan and draw: mm sizes, dpi, ink. */
es_err pic_check_size(double width_mm, double height_mm, unsigned *dpi, uint32_t *ink,
                      es_picture_why *why);

#endif
