/* The picture workbench (docs/picture.md; LD/T 01.1 §7.5): a seal issuer makes the seal
 * picture from a scan, or draws a standard seal, and gets a PNG that prints at 1:1. Nothing is
 * stored: the issuer then puts the picture on the application (the making core's route). Maps
 * requests to es_picture_scan / es_picture_draw (src/picture/). */
#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/internal.h"
#include "eseal/picture.h"

/* Pictures are made on the request's thread and take up to a second and some hundred MB for
 * the largest scans: at most this many at once, the others 503 busy (Retry-After). */
#define PICTURE_JOBS 2
static atomic_int picture_jobs;

/* A refusal with the library's field and bilingual reason: {"error", "message",
 * "message_zh", "field", "detail", "detail_zh"}; a 5xx as the table answers it. */
static es_err reply_why(es_http_req *req, es_err rv, const es_picture_why *why)
{
    if (es_err_http_status(rv) >= 500 || !why->reason.en) return es_http_reply_err(req, rv, NULL);
    json_t *o = json_object();
    if (!o) return ES_ERR_NOMEM;
    json_object_set_new(o, "error", json_string(es_err_name(rv)));
    json_object_set_new(o, "message", json_string(es_err_str(rv)));
    json_object_set_new(o, "message_zh", json_string(es_err_str_zh(rv)));
    if (why->field) json_object_set_new(o, "field", json_string(why->field));
    json_object_set_new(o, "detail", json_string(why->reason.en));
    json_object_set_new(o, "detail_zh", json_string(why->reason.zh));
    REFUSE(es_http_reply_json_new(req, es_err_http_status(rv), o), rv);
}

static es_err bad_field(es_http_req *req, const char *field, const char *en, const char *zh)
{
    es_picture_why why = {field, {en, zh}};
    return reply_why(req, ES_ERR_ARG, &why);
}

/* A query parameter of digits only (no sign, no space), at most max. *have: present. */
static es_err query_uint(es_http_req *req, const char *name, uint32_t max, uint32_t *out, int *have)
{
    const char *v = es_http_req_query(req, name);
    *have = v != NULL;
    if (!v) return ES_OK;
    uint64_t n = 0;
    size_t len = strlen(v);
    for (size_t i = 0; i < len; i++) {
        if (v[i] < '0' || v[i] > '9' || i >= 9) {
            n = (uint64_t)max + 1;
            break;
        }
        n = n * 10 + (uint64_t)(v[i] - '0');
    }
    if (len == 0 || n > max)
        return bad_field(req, name, "a whole number of pixels (or dpi) is required",
                         "须为整数（像素或 dpi）");
    *out = (uint32_t)n;
    return ES_OK;
}

/* A decimal number of millimetres ("42", "40.5"). */
static es_err query_mm(es_http_req *req, const char *name, double *out, int *have)
{
    const char *v = es_http_req_query(req, name);
    *have = v != NULL;
    if (!v) return ES_OK;
    char *end = NULL;
    size_t len = strlen(v), dots = 0;
    int plain = len > 0 && len < 16 && v[0] != '.';
    for (size_t i = 0; plain && i < len; i++) {
        if (v[i] == '.') dots++;
        plain = (v[i] >= '0' && v[i] <= '9') || (v[i] == '.' && dots == 1);
    }
    double d = plain ? strtod(v, &end) : NAN;
    if (!plain || isnan(d) || *end || !isfinite(d))
        return bad_field(req, name, "a size in millimetres is required (e.g. 42 or 40.5)",
                         "须为以毫米为单位的尺寸（如 42 或 40.5）");
    *out = d;
    return ES_OK;
}

/* "E60012" or "#E60012". */
static int parse_ink(const char *v, uint32_t *ink)
{
    if (*v == '#') v++;
    if (strlen(v) != 6) return -1;
    uint32_t n = 0;
    for (int i = 0; i < 6; i++) {
        char c = v[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0) return -1;
        n = n << 4 | (uint32_t)d;
    }
    if (n == 0) return -1;
    *ink = n;
    return 0;
}

/* v (>= 0) rounded to 1/scale (no libm in this layer). */
static double rounded(double v, double scale)
{
    return (double)(long long)(v * scale + 0.5) / scale;
}

/* 200 {"png": base64, "media_type", "source", "width_px", "height_px", "dpi", "width_mm",
 * "height_mm", "ink_share", ...}. */
static es_err reply_picture(es_http_req *req, const es_buf *png, const es_picture_result *r,
                            const char *source, int preview, int scan)
{
    es_buf b64;
    es_buf_init(&b64, ES_PICTURE_MAX_PNG * 2);
    es_err rv = es_base64_encode(png->p, png->len, &b64);
    if (rv == ES_OK) rv = es_buf_nul(&b64);
    if (rv != ES_OK) {
        es_buf_cleanup(&b64);
        return rv;
    }
    json_t *o = json_object();
    if (!o) {
        es_buf_cleanup(&b64);
        return ES_ERR_NOMEM;
    }
    json_object_set_new(o, "media_type", json_string("image/png"));
    json_object_set_new(o, "source", json_string(source));
    json_object_set_new(o, "preview", json_boolean(preview));
    json_object_set_new(o, "width_px", json_integer(r->width));
    json_object_set_new(o, "height_px", json_integer(r->height));
    json_object_set_new(o, "dpi", json_integer(r->dpi));
    json_object_set_new(o, "width_mm", json_real(rounded(r->width_mm, 1000)));
    json_object_set_new(o, "height_mm", json_real(rounded(r->height_mm, 1000)));
    json_object_set_new(o, "ink_share", json_real(rounded(r->ink_share, 10000)));
    if (scan) {
        json_t *box = json_object(), *paper = json_array();
        json_object_set_new(box, "x", json_integer(r->ink.x));
        json_object_set_new(box, "y", json_integer(r->ink.y));
        json_object_set_new(box, "w", json_integer(r->ink.w));
        json_object_set_new(box, "h", json_integer(r->ink.h));
        json_object_set_new(o, "ink_box", box);
        for (int c = 0; c < 3; c++)
            json_array_append_new(paper, json_integer((json_int_t)(r->paper_rgb[c] + 0.5)));
        json_object_set_new(o, "paper_rgb", paper);
        json_object_set_new(o, "scan_width_px", json_integer(r->scan_width));
        json_object_set_new(o, "scan_height_px", json_integer(r->scan_height));
        json_object_set_new(o, "aspect_error", json_real(rounded(r->aspect_error, 10000)));
        json_object_set_new(o, "aspect_warning", json_boolean(r->aspect_error > 0.05));
    }
    json_object_set_new(o, "png", json_string((const char *)b64.p));
    es_buf_cleanup(&b64);
    return es_http_reply_json_new(req, 200, o);
}

/* 1 for "image/jpeg" or "image/png", parameters after ';' allowed. */
static int scan_type(const char *ct)
{
    static const char *const types[] = {"image/jpeg", "image/png"};
    for (size_t i = 0; ct && i < 2; i++) {
        size_t n = strlen(types[i]);
        if (strncasecmp(ct, types[i], n) == 0 && (ct[n] == 0 || ct[n] == ';' || ct[n] == ' '))
            return 1;
    }
    return 0;
}

/* Takes one of the PICTURE_JOBS places, or replies 503 busy. */
static es_err take_place(es_http_req *req)
{
    if (atomic_fetch_add(&picture_jobs, 1) >= PICTURE_JOBS) {
        atomic_fetch_sub(&picture_jobs, 1);
        es_err rv = es_http_add_header(req, "Retry-After", "2");
        if (rv != ES_OK) return rv;
        REFUSE(es_http_reply_err(req, ES_ERR_BUSY, NULL), ES_ERR_BUSY);
    }
    return ES_OK;
}

static void give_place(void)
{
    atomic_fetch_sub(&picture_jobs, 1);
}

/* POST /api/v1/pictures/scan?x=&y=&w=&h=&diameter= | &width_mm=&height_mm= [&dpi=][&ink=],
 * body: the scan (image/jpeg or image/png). */
static es_err pictures_scan(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = api_require(req, app, &a, ES_PERM_SEAL_APPLY, "picture.scan")) != ES_OK) return rv;
    if (!scan_type(es_http_req_header(req, "Content-Type")))
        REFUSE(es_http_reply_err_field(req, ES_ERR_MEDIA_TYPE, "scan",
                                       "the body is the scan: Content-Type image/jpeg or "
                                       "image/png"),
               ES_ERR_MEDIA_TYPE);
    es_picture_scan_opts o;
    memset(&o, 0, sizeof o);
    int hx, hy, hw, hh, hd, hwm, hhm, hdpi;
    double diameter = 0;
    uint32_t dpi = 0;
    if ((rv = query_uint(req, "x", ES_PICTURE_MAX_SIDE, &o.box.x, &hx)) != ES_OK ||
        (rv = query_uint(req, "y", ES_PICTURE_MAX_SIDE, &o.box.y, &hy)) != ES_OK ||
        (rv = query_uint(req, "w", ES_PICTURE_MAX_SIDE, &o.box.w, &hw)) != ES_OK ||
        (rv = query_uint(req, "h", ES_PICTURE_MAX_SIDE, &o.box.h, &hh)) != ES_OK ||
        (rv = query_mm(req, "diameter", &diameter, &hd)) != ES_OK ||
        (rv = query_mm(req, "width_mm", &o.width_mm, &hwm)) != ES_OK ||
        (rv = query_mm(req, "height_mm", &o.height_mm, &hhm)) != ES_OK ||
        (rv = query_uint(req, "dpi", 100000, &dpi, &hdpi)) != ES_OK)
        return rv;
    if (!hx || !hy || !hw || !hh)
        return bad_field(req, "box", "the seal's box is required: x, y, w, h in pixels of the scan",
                         "须给出印章在扫描图像上的框选区域：x、y、w、h（像素）");
    if (hd && (hwm || hhm))
        return bad_field(req, "diameter", "give diameter, or width_mm and height_mm, not both",
                         "直径与宽、高只能二选一");
    if (hd) o.width_mm = o.height_mm = diameter;
    if (!hd && !(hwm && hhm))
        return bad_field(req,
                         hwm   ? "height_mm"
                         : hhm ? "width_mm"
                               : "diameter",
                         "the measured size is required: diameter, or width_mm and height_mm",
                         "须给出实测尺寸：直径，或宽和高（毫米）");
    o.dpi = dpi;
    const char *ink = es_http_req_query(req, "ink");
    if (ink && parse_ink(ink, &o.ink) != 0)
        return bad_field(req, "ink", "the ink colour must be RRGGBB (hex)",
                         "印泥颜色须为 RRGGBB（十六进制）");
    es_slice body = es_http_req_body(req);
    if ((rv = take_place(req)) != ES_OK) return rv;
    es_buf png;
    es_buf_init(&png, ES_PICTURE_MAX_PNG);
    es_picture_result r;
    es_picture_why why = {0};
    rv = es_picture_scan(body, &o, &png, &r, &why);
    give_place();
    if (rv == ES_OK)
        rv = reply_picture(req, &png, &r, "scan", 0, 1);
    else
        rv = reply_why(req, rv, &why);
    es_buf_cleanup(&png);
    return rv;
}

static const es_json_field draw_schema[] = {
    {"name", ES_JSON_STRING, ES_JSON_REQUIRED, 4 * ES_PICTURE_MAX_TEXT},
    {"type", ES_JSON_STRING, 0, 64},
    {"code", ES_JSON_STRING, 0, 20},
    {"shape", ES_JSON_STRING, 0, 8},
    {"diameter", ES_JSON_NUMBER, 0, 0},
    {"width_mm", ES_JSON_NUMBER, 0, 0},
    {"height_mm", ES_JSON_NUMBER, 0, 0},
    {"star", ES_JSON_BOOLEAN, 0, 0},
    {"preview", ES_JSON_BOOLEAN, 0, 0},
    {"dpi", ES_JSON_INTEGER, 0, 0},
    {"ink", ES_JSON_STRING, 0, 7},
    {NULL},
};

/* POST /api/v1/pictures/draw {"name", "type"?, "code"?, "shape"?: "round"|"oval",
 * "diameter" | "width_mm" + "height_mm", "star"?, "preview"?, "dpi"?, "ink"?}. */
static es_err pictures_draw(es_http_req *req, void *arg)
{
    BEGIN(app, a);
    if ((rv = api_require(req, app, &a, ES_PERM_SEAL_APPLY, "picture.draw")) != ES_OK) return rv;
    json_t *b = NULL;
    if ((rv = es_http_req_json(req, draw_schema, &b)) != ES_OK) return rv;
    es_picture_draw_opts o;
    memset(&o, 0, sizeof o);
    o.name = json_string_value(json_object_get(b, "name"));
    o.bottom = json_string_value(json_object_get(b, "type"));
    o.code = json_string_value(json_object_get(b, "code"));
    const char *shape = json_string_value(json_object_get(b, "shape"));
    json_t *d = json_object_get(b, "diameter"), *w = json_object_get(b, "width_mm"),
           *h = json_object_get(b, "height_mm"), *dpi = json_object_get(b, "dpi");
    const char *ink = json_string_value(json_object_get(b, "ink"));
    if (shape && strcmp(shape, "round") != 0 && strcmp(shape, "oval") != 0) {
        rv = bad_field(req, "shape", "shape is round or oval",
                       "形状须为 round（圆形）或 oval（椭圆形）");
        goto out;
    }
    o.shape = shape && strcmp(shape, "oval") == 0 ? ES_PICTURE_OVAL : ES_PICTURE_ROUND;
    if (o.shape == ES_PICTURE_ROUND && d && !w && !h) {
        o.width_mm = o.height_mm = json_number_value(d);
    } else if (!d && w && h) {
        o.width_mm = json_number_value(w);
        o.height_mm = json_number_value(h);
    } else {
        rv = bad_field(req, d ? "diameter" : "width_mm",
                       "a round seal takes diameter; an oval one width_mm and height_mm",
                       "圆形印章填写直径；椭圆形印章填写宽和高（毫米）");
        goto out;
    }
    json_t *star = json_object_get(b, "star"), *preview = json_object_get(b, "preview");
    o.star = star ? json_is_true(star) : o.shape == ES_PICTURE_ROUND;
    o.preview = preview && json_is_true(preview);
    if (dpi) {
        json_int_t v = json_integer_value(dpi);
        o.dpi = v > 0 && v <= 100000 ? (unsigned)v : 1;
    }
    if (ink && parse_ink(ink, &o.ink) != 0) {
        rv = bad_field(req, "ink", "the ink colour must be RRGGBB (hex)",
                       "印泥颜色须为 RRGGBB（十六进制）");
        goto out;
    }
    if ((rv = take_place(req)) != ES_OK) goto out;
    es_buf png;
    es_buf_init(&png, ES_PICTURE_MAX_PNG);
    es_picture_result r;
    es_picture_why why = {0};
    rv = es_picture_draw(&o, &png, &r, &why);
    give_place();
    if (why.field && strcmp(why.field, "bottom") == 0) why.field = "type";
    if (why.field && strcmp(why.field, "width_mm") == 0 && d) why.field = "diameter";
    if (rv == ES_OK)
        rv = reply_picture(req, &png, &r, "drawn", o.preview, 0);
    else
        rv = reply_why(req, rv, &why);
    es_buf_cleanup(&png);
out:
    json_decref(b);
    return rv;
}

es_err es_api_pictures_register(es_http *h, es_api_ctx *ctx)
{
    static const api_route routes[] = {
        {"POST", "/api/v1/pictures/scan", pictures_scan, 0, ES_PICTURE_MAX_SCAN},
        {"POST", "/api/v1/pictures/draw", pictures_draw, 0, API_BODY_FORM},
    };
    return api_routes(h, ctx, routes, sizeof routes / sizeof routes[0]);
}
