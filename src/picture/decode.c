/* Decoding scans: JPEG through libjpeg(-turbo), PNG through libpng. Every size is bounded from
 * the header before a pixel is decoded (bytes, sides, width x height, progressive scans, the
 * decoder's own memory); only the rows of the box are kept. Both libraries report errors by
 * longjmp: the state lives in a context struct reached through a pointer, and the work after
 * setjmp is in a function of its own, so that no local of the frame with setjmp changes. */
#include <stdio.h> /* jpeglib.h needs FILE */

#include <jerror.h>
#include <jpeglib.h>
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "picture/internal.h"

/* A progressive JPEG decodes every scan over the whole image; real ones have about ten. */
#define PIC_JPEG_MAX_SCANS  64
#define PIC_JPEG_MAX_MEMORY (400L * 1024 * 1024)
/* An ancillary PNG chunk (text, ICC profile) held in memory; and how many of them. */
#define PIC_PNG_MAX_CHUNK  (1u << 20)
#define PIC_PNG_MAX_CHUNKS 64

es_err pic_fail(es_picture_why *why, es_err rv, const char *field, const char *en, const char *zh)
{
    if (why) {
        why->field = field;
        why->reason.en = en;
        why->reason.zh = zh;
    }
    return rv;
}

void es_picture_image_free(es_picture_image *img)
{
    if (!img) return;
    free(img->rgba);
    img->rgba = NULL;
    img->width = img->height = 0;
}

static int is_png(es_slice d)
{
    return d.len >= 8 && memcmp(d.p, "\x89PNG\r\n\x1a\n", 8) == 0;
}

static int is_jpeg(es_slice d)
{
    return d.len >= 3 && d.p[0] == 0xFF && d.p[1] == 0xD8 && d.p[2] == 0xFF;
}

static es_err check_dims(uint32_t w, uint32_t h, uint32_t max_pixels, es_picture_why *why)
{
    if (w == 0 || h == 0)
        return pic_fail(why, ES_ERR_PICTURE_DECODE, "scan", "the image has no pixels",
                        "图像没有像素");
    if (w > ES_PICTURE_MAX_SIDE || h > ES_PICTURE_MAX_SIDE || (uint64_t)w * h > max_pixels)
        return pic_fail(why, ES_ERR_PICTURE_SIZE, "scan",
                        "the scan is too large (at most 20000 pixels a side and 40 million "
                        "pixels): scan at 600 dpi or less, or crop the seal's part of the sheet",
                        "扫描图像过大（每边不超过 20000 像素，总数不超过 4000 万像素）：请以不高于 "
                        "600 dpi 扫描，或只裁取印章所在部分");
    return ES_OK;
}

static es_err check_box(const es_picture_box *b, uint32_t w, uint32_t h, es_picture_why *why)
{
    if (b->x >= w || b->y >= h || b->w > w - b->x || b->h > h - b->y)
        return pic_fail(why, ES_ERR_PICTURE_BOX, "box",
                        "the box x,y,w,h reaches past the scan's width or height",
                        "框选区域（x,y,w,h）超出了扫描图像的宽度或高度");
    return ES_OK;
}

/* Composites a row of RGBA over white paper, in place (a transparent scan is paper). */
static void flatten_row(uint8_t *p, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++, p += 4) {
        unsigned a = p[3];
        for (int c = 0; c < 3; c++) p[c] = (uint8_t)((p[c] * a + 255u * (255u - a) + 127u) / 255u);
        p[3] = 255;
    }
}

/* What both decoders are asked. */
typedef struct pic_job {
    es_slice data;
    uint32_t max_pixels;
    const es_picture_box *box; /* NULL: the whole image */
    int header_only, flatten;
    es_picture_image *out;
    es_picture_info *info;
    es_picture_why *why;
} pic_job;

/* ---- EXIF orientation (JPEG). Browsers and image viewers show a JPEG turned as its Exif
 * Orientation tag (0x0112) says, so the box a person draws is in that orientation: the decoder
 * turns the pixels the same way. */

static uint32_t rd16(const uint8_t *p, int le)
{
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 : (uint32_t)p[0] << 8 | p[1];
}

static uint32_t rd32(const uint8_t *p, int le)
{
    return le ? rd16(p, 1) | rd16(p + 2, 1) << 16 : rd16(p, 0) << 16 | rd16(p + 2, 0);
}

/* The Orientation (1..8) of an APP1 Exif segment's IFD0; 1 when absent or unreadable. */
static int exif_orientation(const uint8_t *p, size_t n)
{
    if (n < 14 || memcmp(p, "Exif\0\0", 6) != 0) return 1;
    const uint8_t *t = p + 6;
    size_t tn = n - 6;
    int le = t[0] == 'I' && t[1] == 'I';
    if (!le && !(t[0] == 'M' && t[1] == 'M')) return 1;
    if (rd16(t + 2, le) != 42) return 1;
    uint32_t ifd = rd32(t + 4, le);
    if (ifd > tn || tn - ifd < 2) return 1;
    uint32_t count = rd16(t + ifd, le);
    for (uint32_t i = 0; i < count; i++) {
        size_t e = (size_t)ifd + 2 + (size_t)i * 12;
        if (e + 12 > tn) return 1;
        if (rd16(t + e, le) == 0x0112 && rd16(t + e + 2, le) == 3) {
            uint32_t v = rd16(t + e + 8, le);
            return v >= 1 && v <= 8 ? (int)v : 1;
        }
    }
    return 1;
}

/* The stored pixel of the shown pixel (X, Y), for orientation o of a stored image w x h. */
static void stored_of(int o, uint32_t w, uint32_t h, uint32_t X, uint32_t Y, uint32_t *x,
                      uint32_t *y)
{
    switch (o) {
    case 2:
        *x = w - 1 - X, *y = Y;
        break;
    case 3:
        *x = w - 1 - X, *y = h - 1 - Y;
        break;
    case 4:
        *x = X, *y = h - 1 - Y;
        break;
    case 5:
        *x = Y, *y = X;
        break;
    case 6:
        *x = Y, *y = h - 1 - X;
        break;
    case 7:
        *x = w - 1 - Y, *y = h - 1 - X;
        break;
    case 8:
        *x = w - 1 - Y, *y = X;
        break;
    default:
        *x = X, *y = Y;
        break;
    }
}

/* ---- JPEG */

typedef struct jctx {
    struct jpeg_decompress_struct d;
    struct jpeg_error_mgr em;
    struct jpeg_progress_mgr pm;
    jmp_buf jb;
    const pic_job *job;
    es_err rv;
    int created, truncated;
    uint8_t *row, *turn; /* turn: the stored rectangle of a turned image */
} jctx;

static void j_error_exit(j_common_ptr c)
{
    jctx *x = c->client_data;
    if (x->rv == ES_OK)
        x->rv = pic_fail(x->job->why, ES_ERR_PICTURE_DECODE, "scan",
                         "the JPEG is damaged or uses a feature this decoder does not read",
                         "JPEG 图像已损坏，或使用了解码器不支持的特性");
    longjmp(x->jb, 1);
}

/* Warnings are not printed; a JPEG that ends early is refused after its rows are read. */
static void j_emit(j_common_ptr c, int level)
{
    jctx *x = c->client_data;
    if (level < 0) {
        c->err->num_warnings++;
        if (c->err->msg_code == JWRN_JPEG_EOF) x->truncated = 1;
    }
}

static void j_output(j_common_ptr c)
{
    (void)c;
}

static void j_progress(j_common_ptr c)
{
    jctx *x = c->client_data;
    j_decompress_ptr d = (j_decompress_ptr)c;
    if (d->input_scan_number > PIC_JPEG_MAX_SCANS) {
        x->rv = pic_fail(x->job->why, ES_ERR_PICTURE_DECODE, "scan",
                         "the JPEG has more progressive scans than a scanner writes",
                         "JPEG 图像的渐进扫描次数异常多");
        longjmp(x->jb, 1);
    }
}

static es_err jpeg_work(jctx *x)
{
    const pic_job *job = x->job;
    es_err rv;
    jpeg_mem_src(&x->d, job->data.p, (unsigned long)job->data.len);
    if (jpeg_read_header(&x->d, TRUE) != JPEG_HEADER_OK)
        return pic_fail(job->why, ES_ERR_PICTURE_DECODE, "scan", "the JPEG has no image",
                        "JPEG 文件中没有图像");
    uint32_t w = x->d.image_width, h = x->d.image_height;
    int orient = 1;
    for (jpeg_saved_marker_ptr m = x->d.marker_list; m; m = m->next)
        if (m->marker == JPEG_APP0 + 1) {
            orient = exif_orientation(m->data, m->data_length);
            if (orient != 1) break;
        }
    /* What is shown: turned a quarter for orientations 5 to 8. */
    uint32_t sw = orient >= 5 ? h : w, sh = orient >= 5 ? w : h;
    job->info->format = "JPEG";
    job->info->width = sw;
    job->info->height = sh;
    if ((rv = check_dims(w, h, job->max_pixels, job->why)) != ES_OK) return rv;
    if (job->header_only) return ES_OK;
    if (job->box && (rv = check_box(job->box, sw, sh, job->why)) != ES_OK) return rv;
    switch (x->d.jpeg_color_space) {
    case JCS_GRAYSCALE:
    case JCS_YCbCr:
    case JCS_RGB:
        break;
    default:
        return pic_fail(job->why, ES_ERR_PICTURE_DECODE, "scan",
                        "the JPEG is CMYK: save the scan as RGB",
                        "JPEG 图像为 CMYK 色彩，请存为 RGB");
    }
    x->d.out_color_space = JCS_EXT_RGBA;
    x->d.mem->max_memory_to_use = PIC_JPEG_MAX_MEMORY;
    if (!jpeg_start_decompress(&x->d))
        return pic_fail(job->why, ES_ERR_PICTURE_DECODE, "scan", "the JPEG cannot be decoded",
                        "JPEG 图像无法解码");
    if (x->d.output_components != 4 || x->d.output_width != w || x->d.output_height != h)
        return pic_fail(job->why, ES_ERR_PICTURE_DECODE, "scan",
                        "the JPEG decodes to another size than its header says",
                        "JPEG 图像解码后的尺寸与文件头不符");
    /* The shown box, and the stored rectangle under it (the bounds of its corners). */
    uint32_t X0 = job->box ? job->box->x : 0, Y0 = job->box ? job->box->y : 0;
    uint32_t bw = job->box ? job->box->w : sw, bh = job->box ? job->box->h : sh;
    uint32_t ax, ay, bx, by;
    stored_of(orient, w, h, X0, Y0, &ax, &ay);
    stored_of(orient, w, h, X0 + bw - 1, Y0 + bh - 1, &bx, &by);
    uint32_t x0 = ax < bx ? ax : bx, y0 = ay < by ? ay : by;
    uint32_t rw = (ax < bx ? bx - ax : ax - bx) + 1, rh = (ay < by ? by - ay : ay - by) + 1;
    x->row = malloc((size_t)w * 4);
    job->out->rgba = malloc((size_t)bw * bh * 4);
    uint8_t *raw = orient == 1 ? job->out->rgba : (x->turn = malloc((size_t)rw * rh * 4));
    if (!x->row || !job->out->rgba || !raw) return ES_ERR_NOMEM;
    job->out->width = bw;
    job->out->height = bh;
    for (uint32_t y = 0; y < y0 + rh; y++) {
        JSAMPROW r = x->row;
        if (jpeg_read_scanlines(&x->d, &r, 1) != 1)
            return pic_fail(job->why, ES_ERR_PICTURE_DECODE, "scan",
                            "the JPEG ends early (the file is truncated)",
                            "JPEG 文件不完整（被截断）");
        if (y >= y0)
            memcpy(raw + (size_t)(y - y0) * rw * 4, x->row + (size_t)x0 * 4, (size_t)rw * 4);
    }
    if (x->truncated)
        return pic_fail(job->why, ES_ERR_PICTURE_DECODE, "scan",
                        "the JPEG ends early (the file is truncated)", "JPEG 文件不完整（被截断）");
    if (orient != 1)
        for (uint32_t Y = 0; Y < bh; Y++)
            for (uint32_t X = 0; X < bw; X++) {
                uint32_t sx, sy;
                stored_of(orient, w, h, X0 + X, Y0 + Y, &sx, &sy);
                memcpy(job->out->rgba + ((size_t)Y * bw + X) * 4,
                       raw + ((size_t)(sy - y0) * rw + (sx - x0)) * 4, 4);
            }
    return ES_OK;
}

static es_err jpeg_run(jctx *x)
{
    x->d.err = jpeg_std_error(&x->em);
    x->em.error_exit = j_error_exit;
    x->em.emit_message = j_emit;
    x->em.output_message = j_output;
    x->d.client_data = x;
    if (setjmp(x->jb)) return x->rv != ES_OK ? x->rv : ES_ERR_PICTURE_DECODE;
    jpeg_create_decompress(&x->d);
    x->created = 1;
    x->pm.progress_monitor = j_progress;
    x->d.progress = &x->pm;
    /* The Exif segment, for its Orientation (at most one segment's 64 KiB). */
    jpeg_save_markers(&x->d, JPEG_APP0 + 1, 0xFFFF);
    return jpeg_work(x);
}

static es_err jpeg_decode(const pic_job *job)
{
    jctx *x = calloc(1, sizeof *x);
    if (!x) return ES_ERR_NOMEM;
    x->job = job;
    es_err rv = jpeg_run(x);
    if (x->created) jpeg_destroy_decompress(&x->d);
    free(x->row);
    free(x->turn);
    free(x);
    return rv;
}

/* ---- PNG */

typedef struct pctx {
    png_structp png;
    png_infop info;
    const pic_job *job;
    es_err rv;
    size_t pos;
    uint8_t *row, *band;
} pctx;

static void p_error(png_structp p, png_const_charp msg)
{
    pctx *x = png_get_error_ptr(p);
    (void)msg;
    if (x->rv == ES_OK)
        x->rv = pic_fail(x->job->why, ES_ERR_PICTURE_DECODE, "scan",
                         "the PNG is damaged (a bad chunk, checksum or compressed data)",
                         "PNG 图像已损坏（数据块、校验值或压缩数据有误）");
    png_longjmp(p, 1);
}

static void p_warn(png_structp p, png_const_charp msg)
{
    (void)p;
    (void)msg;
}

static void p_read(png_structp p, png_bytep out, size_t n)
{
    pctx *x = png_get_io_ptr(p);
    if (n > x->job->data.len - x->pos) {
        if (x->rv == ES_OK)
            x->rv =
                pic_fail(x->job->why, ES_ERR_PICTURE_DECODE, "scan",
                         "the PNG ends early (the file is truncated)", "PNG 文件不完整（被截断）");
        png_error(p, "truncated");
    }
    memcpy(out, x->job->data.p + x->pos, n);
    x->pos += n;
}

static es_err png_work(pctx *x)
{
    const pic_job *job = x->job;
    es_err rv;
    png_set_user_limits(x->png, ES_PICTURE_MAX_SIDE, ES_PICTURE_MAX_SIDE);
    png_set_chunk_malloc_max(x->png, PIC_PNG_MAX_CHUNK);
    png_set_chunk_cache_max(x->png, PIC_PNG_MAX_CHUNKS);
    png_set_read_fn(x->png, x, p_read);
    png_read_info(x->png, x->info);
    png_uint_32 w = 0, h = 0;
    int depth = 0, ctype = 0, interlace = 0;
    png_get_IHDR(x->png, x->info, &w, &h, &depth, &ctype, &interlace, NULL, NULL);
    job->info->format = "PNG";
    job->info->width = w;
    job->info->height = h;
    png_uint_32 rx = 0, ry = 0;
    int unit = 0;
    if (png_get_pHYs(x->png, x->info, &rx, &ry, &unit) && unit == PNG_RESOLUTION_METER && rx &&
        ry) {
        job->info->dpi_x = rx * 0.0254;
        job->info->dpi_y = ry * 0.0254;
        job->info->width_mm = (double)w * 1000.0 / rx;
        job->info->height_mm = (double)h * 1000.0 / ry;
    }
    if ((rv = check_dims(w, h, job->max_pixels, job->why)) != ES_OK) return rv;
    if (job->header_only) return ES_OK;
    if (job->box && (rv = check_box(job->box, w, h, job->why)) != ES_OK) return rv;
    int trns = png_get_valid(x->png, x->info, PNG_INFO_tRNS) != 0;
    if (ctype == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(x->png);
    if (ctype == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(x->png);
    if (trns) png_set_tRNS_to_alpha(x->png);
    if (depth == 16) png_set_strip_16(x->png);
    if (ctype == PNG_COLOR_TYPE_GRAY || ctype == PNG_COLOR_TYPE_GRAY_ALPHA)
        png_set_gray_to_rgb(x->png);
    if (!(ctype & PNG_COLOR_MASK_ALPHA) && !trns) png_set_filler(x->png, 0xFF, PNG_FILLER_AFTER);
    int passes = png_set_interlace_handling(x->png);
    png_read_update_info(x->png, x->info);
    if (png_get_rowbytes(x->png, x->info) != (size_t)w * 4)
        return pic_fail(job->why, ES_ERR_PICTURE_DECODE, "scan",
                        "the PNG's pixel format cannot be converted to RGBA",
                        "PNG 图像的像素格式无法转换为 RGBA");
    uint32_t x0 = job->box ? job->box->x : 0, y0 = job->box ? job->box->y : 0;
    uint32_t bw = job->box ? job->box->w : w, bh = job->box ? job->box->h : h;
    x->row = malloc((size_t)w * 4);
    job->out->rgba = malloc((size_t)bw * bh * 4);
    if (!x->row || !job->out->rgba) return ES_ERR_NOMEM;
    job->out->width = bw;
    job->out->height = bh;
    if (passes > 1) {
        /* Interlaced: each pass fills some pixels of every row, so the box's rows are kept
         * whole until the last pass (at most width x box height, within the pixel limit). */
        x->band = calloc((size_t)bh, (size_t)w * 4);
        if (!x->band) return ES_ERR_NOMEM;
        for (int pass = 0; pass < passes; pass++)
            for (uint32_t y = 0; y < h; y++)
                png_read_row(x->png,
                             y >= y0 && y < y0 + bh ? x->band + (size_t)(y - y0) * w * 4 : x->row,
                             NULL);
        for (uint32_t y = 0; y < bh; y++)
            memcpy(job->out->rgba + (size_t)y * bw * 4, x->band + ((size_t)y * w + x0) * 4,
                   (size_t)bw * 4);
    } else {
        for (uint32_t y = 0; y < y0 + bh; y++) {
            png_read_row(x->png, x->row, NULL);
            if (y >= y0)
                memcpy(job->out->rgba + (size_t)(y - y0) * bw * 4, x->row + (size_t)x0 * 4,
                       (size_t)bw * 4);
        }
    }
    if (job->flatten)
        for (uint32_t y = 0; y < bh; y++) flatten_row(job->out->rgba + (size_t)y * bw * 4, bw);
    return ES_OK;
}

static es_err png_run(pctx *x)
{
    x->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, x, p_error, p_warn);
    if (!x->png) return ES_ERR_NOMEM;
    x->info = png_create_info_struct(x->png);
    if (!x->info) return ES_ERR_NOMEM;
    if (setjmp(png_jmpbuf(x->png))) return x->rv != ES_OK ? x->rv : ES_ERR_PICTURE_DECODE;
    return png_work(x);
}

static es_err png_decode(const pic_job *job)
{
    pctx *x = calloc(1, sizeof *x);
    if (!x) return ES_ERR_NOMEM;
    x->job = job;
    es_err rv = png_run(x);
    if (x->png) png_destroy_read_struct(&x->png, x->info ? &x->info : NULL, NULL);
    free(x->row);
    free(x->band);
    free(x);
    return rv;
}

/* ---- Entry points */

static es_err run_job(pic_job *job)
{
    es_picture_info scratch;
    memset(&scratch, 0, sizeof scratch);
    if (!job->info) job->info = &scratch;
    if (job->max_pixels == 0 || job->max_pixels > ES_PICTURE_MAX_PIXELS)
        job->max_pixels = ES_PICTURE_MAX_PIXELS;
    if (job->data.len > ES_PICTURE_MAX_SCAN)
        return pic_fail(job->why, ES_ERR_LIMIT, "scan", "the scan is larger than 12 MiB",
                        "扫描文件超过 12 MiB");
    es_err rv;
    if (is_png(job->data))
        rv = png_decode(job);
    else if (is_jpeg(job->data))
        rv = jpeg_decode(job);
    else
        return pic_fail(job->why, ES_ERR_PICTURE_FORMAT, "scan",
                        "the file is neither a JPEG nor a PNG image",
                        "文件既不是 JPEG 图像也不是 PNG 图像");
    if (rv != ES_OK && job->out) es_picture_image_free(job->out);
    if (job->info == &scratch) job->info = NULL;
    return rv;
}

es_err pic_decode(es_slice data, uint32_t max_pixels, const es_picture_box *box, int flatten,
                  es_picture_image *out, es_picture_info *info, es_picture_why *why)
{
    memset(out, 0, sizeof *out);
    if (info) memset(info, 0, sizeof *info);
    pic_job job = {data, max_pixels, box, 0, flatten, out, info, why};
    return run_job(&job);
}

es_err es_picture_probe(es_slice data, uint32_t max_pixels, es_picture_info *out,
                        es_picture_why *why)
{
    if (!out || (!data.p && data.len)) return ES_ERR_ARG;
    memset(out, 0, sizeof *out);
    pic_job job = {data, max_pixels, NULL, 1, 0, NULL, out, why};
    return run_job(&job);
}

es_err es_picture_decode(es_slice data, uint32_t max_pixels, es_picture_image *out,
                         es_picture_why *why)
{
    if (!out || (!data.p && data.len)) return ES_ERR_ARG;
    return pic_decode(data, max_pixels, NULL, 0, out, NULL, why);
}
