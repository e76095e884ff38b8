/* eseal picture scan | draw | info: the seal picture at 1:1 (include/eseal/picture.h,
 * docs/picture.md). */
#include <getopt.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eseal/picture.h"

static const char scan_help[] =
    "usage: eseal picture scan --in SCAN --box X,Y,W,H (--diameter MM | --size WxH)\n"
    "                          [--dpi N] [--ink RRGGBB] [--json] --out PICTURE.png\n"
    "\n"
    "Makes the seal picture from the scan of the collection sheet (JPEG or PNG, at most 12 MiB\n"
    "and 40 million pixels; LD/T 01.1 7.5): the seal's box on the scan in pixels (loose is\n"
    "fine: the picture is cut to the ink), and its size measured on paper in millimetres, the\n"
    "diameter of a round seal or width x height of an oval or rectangular one. The paper\n"
    "becomes transparent, the ink one red (--ink, default E60012), and the picture is scaled\n"
    "so that it prints at 1:1: a PNG whose pHYs says --dpi (default 600, 150 to 1200).\n"
    "Prints the size in millimetres, the ink's box found and the paper colour; a warning when\n"
    "the ink's shape on the scan disagrees with the measure by more than 5%.\n"
    "\n"
    "examples:\n"
    "  eseal picture scan --in sheet.jpg --box 1210,830,1100,1100 --diameter 42 --out seal.png\n"
    "  eseal picture scan --in sheet.png --box 400,300,1200,800 --size 45x30 --dpi 1200 \\\n"
    "      --out finance.png --json\n";

static const char draw_help[] =
    "usage: eseal picture draw --name NAME [--type TEXT] [--code DIGITS] (--diameter MM |\n"
    "                          --size WxH) [--no-star] [--preview] [--dpi N] [--ink RRGGBB]\n"
    "                          [--font FAMILIES] [--json] --out PICTURE.png\n"
    "\n"
    "Draws a standard seal from the unit's name: the ring, the name along the upper arc glyph\n"
    "by glyph, a five-point star (round seals; --no-star leaves it out), the bottom text\n"
    "(--type: the seal type name, e.g. 合同专用章) and code digits along the lower arc. --size\n"
    "WxH draws an oval (W >= H), without a star unless --star. --preview writes \"预览\" across "
    "the\n"
    "picture and marks the PNG as a preview: for a unit that has no physical seal yet. The\n"
    "fonts are the system's (fontconfig; default Noto Serif CJK SC, from fonts-noto-cjk).\n"
    "\n"
    "examples:\n"
    "  eseal picture draw --name 某某市人力资源和社会保障局 --type 公章 --diameter 42 \\\n"
    "      --out seal.png\n"
    "  eseal picture draw --name 某某市社会保险事业管理中心 --type 财务专用章 --size 45x30 \\\n"
    "      --code 4403050001234 --preview --out oval.png\n";

static const char info_help[] =
    "usage: eseal picture info FILE [--json]\n"
    "\n"
    "Prints a JPEG's or PNG's format and pixels and, when its pHYs gives one, its resolution\n"
    "and the size it prints at in millimetres.\n"
    "\n"
    "example:\n"
    "  eseal picture info seal.png\n";

/* "X,Y,W,H" of non-negative integers. */
static int parse_box(const char *s, es_picture_box *b)
{
    unsigned long v[4];
    char *end;
    const char *p = s;
    for (int i = 0; i < 4; i++) {
        if (*p < '0' || *p > '9') return -1;
        v[i] = strtoul(p, &end, 10);
        if (v[i] > 1000000 || (i < 3 && *end != ',') || (i == 3 && *end)) return -1;
        p = end + 1;
    }
    b->x = (uint32_t)v[0];
    b->y = (uint32_t)v[1];
    b->w = (uint32_t)v[2];
    b->h = (uint32_t)v[3];
    return 0;
}

static int parse_mm(const char *opt, const char *s, double *out)
{
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v)) return cli_error("%s needs millimetres: '%s'", opt, s);
    *out = v;
    return 0;
}

/* "WxH" in millimetres. */
static int parse_size(const char *s, double *w, double *h)
{
    char *end;
    *w = strtod(s, &end);
    if (end == s || (*end != 'x' && *end != 'X')) return cli_error("--size needs WxH: '%s'", s);
    const char *q = end + 1;
    *h = strtod(q, &end);
    if (end == q || *end || !isfinite(*w) || !isfinite(*h))
        return cli_error("--size needs WxH: '%s'", s);
    return 0;
}

static int parse_ink(const char *s, uint32_t *ink)
{
    char *end;
    if (*s == '#') s++;
    unsigned long v = strtoul(s, &end, 16);
    if (strlen(s) != 6 || *end || v == 0) return cli_error("--ink needs RRGGBB: '%s'", s);
    *ink = (uint32_t)v;
    return 0;
}

/* The option of a field the library names. */
static const char *option_of(const char *field)
{
    static const char *const map[][2] = {
        {"scan", "--in"},        {"box", "--box"},     {"width_mm", "--diameter/--size"},
        {"height_mm", "--size"}, {"dpi", "--dpi"},     {"ink", "--ink"},
        {"name", "--name"},      {"bottom", "--type"}, {"code", "--code"},
        {"font", "--font"},      {"shape", "--size"},
    };
    for (size_t i = 0; field && i < sizeof map / sizeof map[0]; i++)
        if (strcmp(map[i][0], field) == 0) return map[i][1];
    return field;
}

static int fail(es_err rv, const es_picture_why *why)
{
    const char *opt = option_of(why->field);
    if (why->reason.en)
        cli_error("%s%s%s (%s)", opt ? opt : "", opt ? ": " : "", why->reason.en, why->reason.zh);
    else
        cli_error("%s (%s)", es_err_str(rv), es_err_str_zh(rv));
    return EXIT_FAILED;
}

static void print_result(const char *out, const es_picture_result *r, int scan, int json)
{
    if (json) {
        printf("{\"file\":\"%s\",\"width_px\":%u,\"height_px\":%u,\"dpi\":%u,"
               "\"width_mm\":%.3f,\"height_mm\":%.3f",
               out, r->width, r->height, r->dpi, r->width_mm, r->height_mm);
        if (scan)
            printf(",\"ink_box\":[%u,%u,%u,%u],\"paper\":[%.0f,%.0f,%.0f],\"aspect_error\":%.4f",
                   r->ink.x, r->ink.y, r->ink.w, r->ink.h, r->paper_rgb[0], r->paper_rgb[1],
                   r->paper_rgb[2], r->aspect_error);
        printf(",\"ink_share\":%.4f}\n", r->ink_share);
        return;
    }
    printf("%s: %u x %u pixels at %u dpi, %.2f x %.2f mm at 1:1\n", out, r->width, r->height,
           r->dpi, r->width_mm, r->height_mm);
    if (scan) {
        printf("ink on the scan: %u,%u,%u,%u; paper %.0f,%.0f,%.0f\n", r->ink.x, r->ink.y, r->ink.w,
               r->ink.h, r->paper_rgb[0], r->paper_rgb[1], r->paper_rgb[2]);
        if (r->aspect_error > 0.05)
            fprintf(stderr,
                    "warning: the ink on the scan is %.0f%% off the measured shape: check the "
                    "measure (印章实测尺寸与扫描件比例不符)\n",
                    r->aspect_error * 100);
    }
}

static int picture_scan(int argc, char **argv)
{
    static const struct option opts[] = {
        {"in", required_argument, 0, 'i'},       {"box", required_argument, 0, 'b'},
        {"diameter", required_argument, 0, 'd'}, {"size", required_argument, 0, 's'},
        {"dpi", required_argument, 0, 'r'},      {"ink", required_argument, 0, 'k'},
        {"out", required_argument, 0, 'o'},      {"json", no_argument, 0, 'j'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *in = NULL, *out = NULL;
    int json = 0, have_box = 0, c;
    long dpi = 0;
    es_picture_scan_opts o;
    memset(&o, 0, sizeof o);
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'i':
            in = optarg;
            break;
        case 'b':
            if (parse_box(optarg, &o.box)) return cli_error("--box needs X,Y,W,H: '%s'", optarg);
            have_box = 1;
            break;
        case 'd':
            if (parse_mm("--diameter", optarg, &o.width_mm)) return EXIT_USAGE;
            o.height_mm = o.width_mm;
            break;
        case 's':
            if (parse_size(optarg, &o.width_mm, &o.height_mm)) return EXIT_USAGE;
            break;
        case 'r':
            if (cli_long("--dpi", optarg, &dpi)) return EXIT_USAGE;
            break;
        case 'k':
            if (parse_ink(optarg, &o.ink)) return EXIT_USAGE;
            break;
        case 'o':
            out = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            fputs(scan_help, stdout);
            return 0;
        default:
            fputs(scan_help, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) return cli_error("unexpected argument '%s'", argv[optind]);
    const char *missing = !in           ? "--in"
                          : !have_box   ? "--box"
                          : !o.width_mm ? "--diameter or --size"
                          : !out        ? "--out"
                                        : NULL;
    if (missing) {
        fputs(scan_help, stderr);
        return cli_error("missing %s", missing);
    }
    o.dpi = dpi > 0 && dpi < 100000 ? (unsigned)dpi : dpi ? 1 : 0;
    int ret = EXIT_USAGE;
    es_buf scan, png;
    es_buf_init(&scan, 0);
    es_buf_init(&png, ES_PICTURE_MAX_PNG);
    es_picture_result r;
    es_picture_why why = {0};
    if (cli_read(in, ES_PICTURE_MAX_SCAN, &scan)) goto out;
    es_err rv = es_picture_scan(es_slice_make(scan.p, scan.len), &o, &png, &r, &why);
    if (rv != ES_OK) {
        fail(rv, &why);
        ret = EXIT_FAILED;
        goto out;
    }
    if (cli_write(out, png.p, png.len)) goto out;
    print_result(out, &r, 1, json);
    ret = 0;
out:
    es_buf_cleanup(&scan);
    es_buf_cleanup(&png);
    return ret;
}

static int picture_draw(int argc, char **argv)
{
    static const struct option opts[] = {{"name", required_argument, 0, 'n'},
                                         {"type", required_argument, 0, 't'},
                                         {"code", required_argument, 0, 'c'},
                                         {"diameter", required_argument, 0, 'd'},
                                         {"size", required_argument, 0, 's'},
                                         {"no-star", no_argument, 0, 'S'},
                                         {"star", no_argument, 0, 'T'},
                                         {"preview", no_argument, 0, 'p'},
                                         {"dpi", required_argument, 0, 'r'},
                                         {"ink", required_argument, 0, 'k'},
                                         {"font", required_argument, 0, 'f'},
                                         {"out", required_argument, 0, 'o'},
                                         {"json", no_argument, 0, 'j'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *out = NULL;
    int json = 0, star = -1, c;
    long dpi = 0;
    es_picture_draw_opts o;
    memset(&o, 0, sizeof o);
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            o.name = optarg;
            break;
        case 't':
            o.bottom = optarg;
            break;
        case 'c':
            o.code = optarg;
            break;
        case 'd':
            if (parse_mm("--diameter", optarg, &o.width_mm)) return EXIT_USAGE;
            o.height_mm = o.width_mm;
            o.shape = ES_PICTURE_ROUND;
            break;
        case 's':
            if (parse_size(optarg, &o.width_mm, &o.height_mm)) return EXIT_USAGE;
            o.shape = ES_PICTURE_OVAL;
            break;
        case 'S':
            star = 0;
            break;
        case 'T':
            star = 1;
            break;
        case 'p':
            o.preview = 1;
            break;
        case 'r':
            if (cli_long("--dpi", optarg, &dpi)) return EXIT_USAGE;
            break;
        case 'k':
            if (parse_ink(optarg, &o.ink)) return EXIT_USAGE;
            break;
        case 'f':
            o.font = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            fputs(draw_help, stdout);
            return 0;
        default:
            fputs(draw_help, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) return cli_error("unexpected argument '%s'", argv[optind]);
    const char *missing = !o.name       ? "--name"
                          : !o.width_mm ? "--diameter or --size"
                          : !out        ? "--out"
                                        : NULL;
    if (missing) {
        fputs(draw_help, stderr);
        return cli_error("missing %s", missing);
    }
    o.star = star >= 0 ? star : o.shape == ES_PICTURE_ROUND;
    o.dpi = dpi > 0 && dpi < 100000 ? (unsigned)dpi : dpi ? 1 : 0;
    int ret = EXIT_USAGE;
    es_buf png;
    es_buf_init(&png, ES_PICTURE_MAX_PNG);
    es_picture_result r;
    es_picture_why why = {0};
    es_err rv = es_picture_draw(&o, &png, &r, &why);
    if (rv != ES_OK) {
        fail(rv, &why);
        ret = EXIT_FAILED;
        goto out;
    }
    if (cli_write(out, png.p, png.len)) goto out;
    print_result(out, &r, 0, json);
    ret = 0;
out:
    es_buf_cleanup(&png);
    return ret;
}

static int picture_info(int argc, char **argv)
{
    const char *file = NULL;
    int json = 0;
    int r = cli_file_args(argc, argv, info_help, &file, &json, NULL, NULL);
    if (r) return r < 0 ? 0 : r;
    if (!file) {
        fputs(info_help, stderr);
        return cli_error("missing FILE");
    }
    es_buf b;
    es_buf_init(&b, 0);
    if (cli_read(file, ES_PICTURE_MAX_SCAN, &b)) return EXIT_USAGE;
    es_picture_info info;
    es_picture_why why = {0};
    es_err rv = es_picture_probe(es_slice_make(b.p, b.len), 0, &info, &why);
    es_buf_cleanup(&b);
    if (rv != ES_OK) return fail(rv, &why);
    if (json)
        printf("{\"format\":\"%s\",\"width_px\":%u,\"height_px\":%u,\"dpi\":%.2f,"
               "\"width_mm\":%.3f,\"height_mm\":%.3f}\n",
               info.format, info.width, info.height, info.dpi_x, info.width_mm, info.height_mm);
    else if (info.dpi_x > 0)
        printf("%s %u x %u pixels, %.2f dpi: %.2f x %.2f mm at 1:1\n", info.format, info.width,
               info.height, info.dpi_x, info.width_mm, info.height_mm);
    else
        printf("%s %u x %u pixels, no physical size (no pHYs in metres)\n", info.format, info.width,
               info.height);
    return 0;
}

static const char picture_help[] =
    "usage: eseal picture <scan|draw|info> ...\n"
    "\n"
    "The seal picture at 1:1 with the physical seal (LD/T 01.1 7.5; docs/picture.md):\n"
    "  scan   from the scan of the collection sheet: crop, paper removed, one red, 1:1\n"
    "  draw   a standard round or oval seal drawn from the unit's name\n"
    "  info   a picture's pixels, resolution and size in millimetres\n"
    "\n"
    "Run 'eseal picture <subcommand> --help' for details and examples.\n";

int cmd_picture(int argc, char **argv)
{
    static const cli_cmd subs[] = {
        {"scan", picture_scan, "from a scan"},
        {"draw", picture_draw, "a standard seal"},
        {"info", picture_info, "size of a picture"},
    };
    return cli_dispatch(argc, argv, "picture", picture_help, subs, sizeof subs / sizeof subs[0]);
}
