/* eseal ofd sign | verify | show | seal: OFD documents (GB/T 33190) and their seals. */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "eseal/ofd.h"
#include "eseal/package.h"

static const char ofd_help[] =
    "usage: eseal ofd <sign|verify|show|seal> ...\n"
    "\n"
    "  sign     add a seal signature to an OFD document (a stamp, or a riding seal)\n"
    "  verify   verify every signature of an OFD document and print a report\n"
    "  show     list the pages and signatures of an OFD document\n"
    "  seal     extract every seal of an OFD document and its picture\n"
    "\n"
    "Run 'eseal ofd <subcommand> --help' for details and examples.\n"
    "\n"
    "example:\n"
    "  eseal ofd sign in.ofd --seal seal.esl --key signer.key --cert signer.crt --page 1 --x 120 "
    "--y 200 -o out.ofd\n"
    "  eseal ofd verify out.ofd --trust root.crt\n";

static const char sign_help[] =
    "usage: eseal ofd sign IN.ofd --seal S.esl --key K --cert C (--page N --x MM --y MM |\n"
    "                      --riding FROM-TO [--y MM]) [--time T] [--id SM2-ID] -o OUT.ofd\n"
    "\n"
    "Adds a signature to IN.ofd and writes OUT.ofd (OUT may be IN): Signs/Sign_N with\n"
    "Signature.xml (SM3 References over every file but the signature list, so that more\n"
    "signatures can follow), Seal.esl and SignedValue.dat (a GB/T 38540 v4 SES_Signature over\n"
    "SM3 of Signature.xml), a stamp on page N with its top-left corner at (x, y) mm from the\n"
    "page's top-left corner, sized from the seal picture, and the updated signature list.\n"
    "Existing files are copied byte for byte. --riding FROM-TO makes a riding seal (骑缝章):\n"
    "one signature, one stamp per page at the right edge showing that page's slice (vertically\n"
    "centred unless --y). K is a PEM key file (passphrase from ESEAL_PIN) or a key reference\n"
    "(soft:DIR#NAME, sdf:LIB#INDEX, skf:LIB#DEV/APP/CON). With an skf: key and neither\n"
    "--seal nor --cert, the seal and certificate delivered into the token are used (eseal\n"
    "token seal put: the application's file ESEAL and the container's certificate).\n"
    "\n"
    "example:\n"
    "  eseal ofd sign invoice.ofd --key skf:libvendor.so#/SEAL/SIGNER --page 1 --x 120 --y 200 "
    "-o signed.ofd\n"
    "  eseal ofd sign invoice.ofd --seal seal.esl --key signer.key --cert signer.crt --page 1 "
    "--x 120 --y 200 -o signed.ofd\n"
    "  eseal ofd sign contract.ofd --seal seal.esl --key signer.key --cert signer.crt --riding "
    "1-5 -o signed.ofd\n";

static const char verify_help[] =
    "usage: eseal ofd verify FILE.ofd [--json] [--trust CERT|DIR] [--at T] [--id SM2-ID]\n"
    "                        [--policy ldt|conventions] [--crl FILE]...\n"
    "\n"
    "Verifies every signature of an OFD document, one report entry per signature: the\n"
    "References (each file's SM3 against its CheckValue, naming every changed or missing\n"
    "file), the signed hash against SM3 of Signature.xml, the SES_Signature or GB/T 35275\n"
    "SignedData and its seal, and the certificates (with --trust). Files changed by adding a\n"
    "later signature are told apart from tampering (check 'changes'), and files that no\n"
    "signature covers are listed (check 'coverage').\n" CLI_VERIFY_POLICY_HELP
    "Exit status: 0 PASSED, 1 FAILED, 2 INDETERMINATE, 3 usage error or unreadable package.\n"
    "\n"
    "example:\n"
    "  eseal ofd verify invoice.ofd --trust root.crt\n"
    "  eseal ofd verify invoice.ofd --json\n";

static const char show_help[] =
    "usage: eseal ofd show FILE.ofd [--json]\n"
    "\n"
    "Lists the pages (number, ID, size) and the signatures of an OFD document: signer, seal\n"
    "name, time, stamp positions, and the verdict without trust anchors.\n"
    "\n"
    "example:\n"
    "  eseal ofd show invoice.ofd\n";

static const char seal_help[] =
    "usage: eseal ofd seal FILE.ofd -o DIR\n"
    "\n"
    "Writes every seal of the document to DIR (created if needed): ID.esl for the seal inside\n"
    "signature ID (and ID-file.esl when its Seal.esl differs), and the seal's picture as\n"
    "ID.png, .gif, .jpg, .bmp, .svg or .ofd.\n"
    "\n"
    "example:\n"
    "  eseal ofd seal invoice.ofd -o seals\n";

static int open_pkg(const char *file, es_ofd **o)
{
    char why[512] = "";
    es_err rv = es_ofd_open(file, NULL, o, why, sizeof why);
    if (rv == ES_OK) return 0;
    return cli_error("%s: %s", file, why[0] ? why : es_err_str(rv));
}

static int ofd_verify(int argc, char **argv)
{
    const char *file;
    int json;
    es_trust *trust;
    es_verify_opts o;
    int r = cli_verify_opts(argc, argv, verify_help, &file, &json, &trust, &o, NULL);
    if (r) return r < 0 ? 0 : r;
    es_ofd *pkg = NULL;
    es_report rep;
    es_report_init(&rep);
    int ret = EXIT_USAGE;
    char why[512] = "";
    if (open_pkg(file, &pkg)) goto out;
    es_err rv = es_ofd_verify(pkg, &o, &rep, NULL, why, sizeof why);
    if (rv != ES_OK) {
        cli_error("%s: %s", file, why[0] ? why : es_err_str(rv));
        goto out;
    }
    if (es_report_set_file(&rep, file) != ES_OK) {
        cli_error("out of memory");
        goto out;
    }
    if (rep.n_entries == 0) fprintf(stderr, "eseal: %s: the document holds no signature\n", file);
    ret = cli_report(&rep, json);
out:
    es_report_cleanup(&rep);
    es_ofd_free(pkg);
    es_trust_free(trust);
    return ret;
}

static int ofd_show(int argc, char **argv)
{
    const char *file;
    int json;
    int r = cli_file_args(argc, argv, show_help, &file, &json, NULL, NULL);
    if (r) return r < 0 ? 0 : r;
    if (!file) {
        fputs(show_help, stderr);
        return cli_error("missing FILE");
    }
    es_ofd *pkg = NULL;
    if (open_pkg(file, &pkg)) return EXIT_USAGE;
    es_buf out;
    es_buf_init(&out, ES_MAX_REPORT);
    char why[512] = "";
    es_err rv = es_ofd_print(pkg, json, &out, why, sizeof why);
    int ret = 0;
    if (rv == ES_OK) {
        if (!json) printf("%s\n", file);
        cli_out(out.p, out.len);
    } else {
        ret = cli_error("%s: %s", file, why[0] ? why : es_err_str(rv));
    }
    es_buf_cleanup(&out);
    es_ofd_free(pkg);
    return ret;
}

/* A signature ID as a file name: letters, digits, '-', '_' and '.' kept, others '_'. */
static void safe_name(const char *id, char *out, size_t n)
{
    size_t k = 0;
    for (; *id && k + 1 < n; id++) {
        char c = *id;
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_' || (c == '.' && k > 0);
        out[k++] = ok ? c : '_';
    }
    if (k == 0) out[k++] = '_';
    out[k] = 0;
}

static const char *picture_ext(const es_seal *s)
{
    const char *t = es_picture_sniff(s->picture);
    if (!t) return "bin";
    if (strcmp(t, "PNG") == 0) return "png";
    if (strcmp(t, "GIF") == 0) return "gif";
    if (strcmp(t, "JPG") == 0) return "jpg";
    if (strcmp(t, "BMP") == 0) return "bmp";
    if (strcmp(t, "SVG") == 0) return "svg";
    if (strcmp(t, "ofd") == 0) return "ofd";
    return "bin";
}

static int ofd_seal(int argc, char **argv)
{
    const char *file, *dir;
    int r = cli_file_args(argc, argv, seal_help, &file, NULL, &dir, "a directory");
    if (r) return r < 0 ? 0 : r;
    if (!file || !dir) {
        fputs(seal_help, stderr);
        return cli_error(!file ? "missing FILE" : "missing -o DIR");
    }
    es_ofd *pkg = NULL;
    if (open_pkg(file, &pkg)) return EXIT_USAGE;
    es_ofd_seal_item *items = NULL;
    size_t n = 0;
    char why[512] = "";
    int ret = EXIT_USAGE;
    es_err rv = es_ofd_seals(pkg, &items, &n, why, sizeof why);
    if (rv != ES_OK) {
        cli_error("%s: %s", file, why[0] ? why : es_err_str(rv));
        goto out;
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        cli_error("%s: %s", dir, strerror(errno));
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        char base[128], path[4096];
        safe_name(items[i].sig_id, base, sizeof base);
        int again = i > 0 && strcmp(items[i - 1].sig_id, items[i].sig_id) == 0;
        snprintf(path, sizeof path, "%s/%s%s.esl", dir, base, again ? "-file" : "");
        if (cli_write(path, items[i].der, items[i].len)) goto out;
        es_seal s;
        if (es_seal_from_der(es_slice_make(items[i].der, items[i].len), 1, &s) != ES_OK) continue;
        printf("%s: seal of signature %s (from %s), %.*s\n", path, items[i].sig_id, items[i].source,
               (int)s.name.len, (const char *)s.name.p);
        snprintf(path, sizeof path, "%s/%s%s.%s", dir, base, again ? "-file" : "", picture_ext(&s));
        if (cli_write(path, s.picture.p, s.picture.len)) goto out;
        printf("%s: its picture, %ld x %ld mm\n", path, s.picture_width, s.picture_height);
    }
    if (n == 0) fprintf(stderr, "eseal: %s: no seal in the document\n", file);
    ret = 0;
out:
    es_ofd_seals_free(items, n);
    es_ofd_free(pkg);
    return ret;
}

static int parse_mm(const char *opt, const char *s, double *out)
{
    char *end = NULL;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || !end || *end || end == s || !(v >= 0 && v < 100000))
        return cli_error("%s: '%s' is not a length in millimetres", opt, s);
    *out = v;
    return 0;
}

static int parse_range(const char *s, long *from, long *to)
{
    char *end = NULL;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (errno || end == s || *end != '-') goto bad;
    const char *t = end + 1;
    long b = strtol(t, &end, 10);
    if (errno || end == t || *end || a < 1 || b <= a) goto bad;
    *from = a;
    *to = b;
    return 0;
bad:
    return cli_error("--riding: '%s' is not a page range FROM-TO (1-based, FROM < TO)", s);
}

/* The seal and certificate delivered into the token of an skf: reference. */
static int seal_from_token(const char *key, es_buf *seal, es_buf *cert)
{
    es_keyref ref;
    es_token *t = NULL;
    char why[256] = "";
    if (es_keyref_parse(key, &ref) != ES_OK) return cli_error("%s: not a key reference", key);
    es_err rv = es_token_open(&ref, &t);
    if (rv != ES_OK) return cli_keydev_error(key, rv, -1);
    es_buf_init(seal, ES_MAX_SEAL_DER);
    es_buf_init(cert, ES_MAX_CERT_DER);
    rv = es_token_seal_get(t, &ref, NULL, cert, seal, why, sizeof why);
    es_token_close(t);
    if (rv == ES_OK) return 0;
    cli_error("%s: %s: %s", key, es_err_str(rv), why);
    fprintf(stderr, "eseal: %s%s\n", es_err_str_zh(rv),
            rv == ES_ERR_TOKEN_NO_SEAL ? " (eseal token seal put, or give --seal and --cert)" : "");
    return EXIT_FAILED;
}

static int ofd_sign(int argc, char **argv)
{
    static const struct option opts[] = {
        {"seal", required_argument, 0, 's'},   {"key", required_argument, 0, 'k'},
        {"cert", required_argument, 0, 'c'},   {"page", required_argument, 0, 'p'},
        {"x", required_argument, 0, 'x'},      {"y", required_argument, 0, 'y'},
        {"riding", required_argument, 0, 'r'}, {"time", required_argument, 0, 't'},
        {"id", required_argument, 0, 'i'},     {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},         {0, 0, 0, 0}};
    const char *seal = NULL, *key = NULL, *cert = NULL, *out = NULL;
    es_ofd_sign_params p;
    memset(&p, 0, sizeof p);
    p.time = ES_TIME_NONE;
    int has_page = 0, has_x = 0, has_y = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 's':
            seal = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'c':
            cert = optarg;
            break;
        case 'p':
            if (cli_long("--page", optarg, &p.page)) return EXIT_USAGE;
            has_page = 1;
            break;
        case 'x':
            if (parse_mm("--x", optarg, &p.x)) return EXIT_USAGE;
            has_x = 1;
            break;
        case 'y':
            if (parse_mm("--y", optarg, &p.y)) return EXIT_USAGE;
            has_y = 1;
            break;
        case 'r':
            if (parse_range(optarg, &p.riding_from, &p.riding_to)) return EXIT_USAGE;
            break;
        case 't':
            if (cli_time("--time", optarg, &p.time)) return EXIT_USAGE;
            break;
        case 'i':
            p.sm2_id = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(sign_help, stdout);
            return 0;
        default:
            fputs(sign_help, stderr);
            return EXIT_USAGE;
        }
    }
    int riding = p.riding_from > 0;
    /* A delivered USBKey holds its seal and certificate (eseal token seal put). */
    int from_token = key && strncmp(key, "skf:", 4) == 0 && !seal && !cert;
    const char *missing = optind >= argc         ? "IN.ofd"
                          : !seal && !from_token ? "--seal"
                          : !key                 ? "--key"
                          : !cert && !from_token ? "--cert"
                          : !riding && !has_page ? "--page"
                          : !riding && !has_x    ? "--x"
                          : !riding && !has_y    ? "--y"
                          : !out                 ? "-o"
                                                 : NULL;
    if (missing) {
        fputs(sign_help, stderr);
        return cli_error("missing %s", missing);
    }
    if (optind + 1 != argc) return cli_error("one IN.ofd at a time");
    if (riding && (has_page || has_x))
        return cli_error("--riding places one slice per page itself: no --page or --x");
    if (!riding && p.page < 1) return cli_error("--page: pages count from 1");
    p.riding_has_y = riding && has_y;
    const char *in = argv[optind];

    int ret = EXIT_USAGE;
    es_signer *signer = NULL;
    es_buf sb, cb;
    es_buf_init(&sb, 0);
    es_buf_init(&cb, 0);
    if (from_token) {
        if ((ret = seal_from_token(key, &sb, &cb)) != 0) goto done;
        ret = EXIT_USAGE;
    } else if (cli_read(seal, ES_MAX_SEAL_DER, &sb) || cli_load_cert(cert, &cb)) {
        goto done;
    }
    if (cli_load_signer(key, &signer)) goto done;
    p.seal = es_slice_make(sb.p, sb.len);
    p.signer_cert = es_slice_make(cb.p, cb.len);
    char why[512] = "";
    es_err rv = es_ofd_sign(in, out, &p, signer, NULL, why, sizeof why);
    if (rv != ES_OK) {
        cli_error("%s: %s", rv == ES_ERR_CERT || rv == ES_ERR_KEY_MISMATCH ? key : in,
                  why[0] ? why : es_err_str(rv));
        goto done;
    }
    fprintf(stderr, "wrote %s\n", out);
    ret = 0;
done:
    es_signer_free(signer);
    es_buf_cleanup(&sb);
    es_buf_cleanup(&cb);
    return ret;
}

int cmd_ofd(int argc, char **argv)
{
    static const cli_cmd subs[] = {{"sign", ofd_sign, NULL},
                                   {"verify", ofd_verify, NULL},
                                   {"show", ofd_show, NULL},
                                   {"seal", ofd_seal, NULL}};
    return cli_dispatch(argc, argv, "ofd", ofd_help, subs, sizeof subs / sizeof subs[0]);
}
