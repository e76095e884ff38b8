/* libFuzzer target: the scan decoder path of the seal picture (src/picture/: JPEG through
 * libjpeg, PNG through libpng, then paper removal and scaling) on arbitrary bytes. Malformed
 * files must give an error with a reason, never a crash, a leak or a giant allocation: sizes
 * are bounded from the header (here to a million pixels, to keep runs fast). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "eseal/picture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_PIXELS (1u << 20)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    es_slice in = es_slice_make(data, size);
    es_picture_info info;
    es_picture_why why = {0};
    es_err rv = es_picture_probe(in, FUZZ_PIXELS, &info, &why);
    if (rv != ES_OK) {
        if (!why.reason.en || !why.reason.zh) abort(); /* every refusal says why */
        return 0;
    }
    es_picture_image img;
    rv = es_picture_decode(in, FUZZ_PIXELS, &img, &why);
    if (rv == ES_OK) {
        /* What decodes has the header's size. */
        if (img.width != info.width || img.height != info.height || !img.rgba) abort();
        es_picture_image_free(&img);
    } else if (img.rgba) {
        abort(); /* a refusal leaves nothing behind */
    }
    /* The scan path on the whole image as the box (when it can be one). */
    if (info.width >= ES_PICTURE_MIN_BOX && info.height >= ES_PICTURE_MIN_BOX &&
        info.width <= ES_PICTURE_MAX_BOX && info.height <= ES_PICTURE_MAX_BOX) {
        es_picture_scan_opts o;
        memset(&o, 0, sizeof o);
        o.box.w = info.width;
        o.box.h = info.height;
        o.width_mm = o.height_mm = 10;
        o.dpi = ES_PICTURE_DPI_MIN;
        o.max_pixels = FUZZ_PIXELS;
        es_buf png;
        es_buf_init(&png, ES_PICTURE_MAX_PNG);
        rv = es_picture_scan(in, &o, &png, NULL, &why);
        if (rv == ES_OK && png.len < 8) abort();
        if (rv != ES_OK && png.len != 0) abort();
        es_buf_cleanup(&png);
    }
    return 0;
}
