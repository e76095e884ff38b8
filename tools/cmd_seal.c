/* eseal seal make | show | verify | image */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char make_help[] =
    "usage: eseal seal make --maker-key K --maker-cert C --signer-cert C [--signer-cert C ...]\n"
    "                       --name NAME --es-id ID --type N --image FILE --width MM --height MM\n"
    "                       --valid-from T --valid-to T [--vid V] [--created T]\n"
    "                       [--image-type PNG|GIF|JPG|BMP|SVG|ofd] [--id SM2-ID] -o OUT.esl\n"
    "\n"
    "Makes a GB/T 38540-2020 (version 4) seal in canonical DER, signed by the maker key.\n"
    "The maker key must belong to the maker certificate. Each --signer-cert is a certificate\n"
    "allowed to sign with the seal (certListType 1). Times are ISO 8601. The picture type is\n"
    "taken from the image bytes unless --image-type says otherwise. Encrypted PEM keys take\n"
    "their passphrase from ESEAL_PIN. --id sets the SM2 signer ID (default 1234567812345678).\n"
    "\n"
    "example:\n"
    "  eseal seal make --maker-key maker.key --maker-cert maker.crt --signer-cert signer.crt \\\n"
    "      --name '某某市人力资源和社会保障局' --es-id 37030000001721 --type 1 \\\n"
    "      --image seal.png --width 40 --height 40 \\\n"
    "      --valid-from 2026-01-01 --valid-to 2029-12-31 -o seal.esl\n";

static int seal_make(int argc, char **argv)
{
    static const struct option opts[] = {{"maker-key", required_argument, 0, 'k'},
                                         {"maker-cert", required_argument, 0, 'm'},
                                         {"signer-cert", required_argument, 0, 's'},
                                         {"name", required_argument, 0, 'n'},
                                         {"es-id", required_argument, 0, 'i'},
                                         {"type", required_argument, 0, 't'},
                                         {"image", required_argument, 0, 'p'},
                                         {"width", required_argument, 0, 'W'},
                                         {"height", required_argument, 0, 'H'},
                                         {"valid-from", required_argument, 0, 'f'},
                                         {"valid-to", required_argument, 0, 'T'},
                                         {"vid", required_argument, 0, 'v'},
                                         {"created", required_argument, 0, 'c'},
                                         {"image-type", required_argument, 0, 'y'},
                                         {"output", required_argument, 0, 'o'},
                                         {"id", required_argument, 0, 'I'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *maker_key = NULL, *maker_cert = NULL, *image = NULL, *out = NULL;
    const char *signer_paths[ES_SEAL_MAX_CERTS];
    size_t n_signers = 0;
    es_seal_params p;
    memset(&p, 0, sizeof p);
    p.type = -1;
    p.create_date = p.valid_start = p.valid_end = ES_TIME_NONE;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            maker_key = optarg;
            break;
        case 'm':
            maker_cert = optarg;
            break;
        case 's':
            if (n_signers == ES_SEAL_MAX_CERTS)
                return cli_error("at most %d --signer-cert", ES_SEAL_MAX_CERTS);
            signer_paths[n_signers++] = optarg;
            break;
        case 'n':
            p.name = optarg;
            break;
        case 'i':
            p.es_id = optarg;
            break;
        case 't':
            if (cli_long("--type", optarg, &p.type)) return EXIT_USAGE;
            break;
        case 'p':
            image = optarg;
            break;
        case 'W':
            if (cli_long("--width", optarg, &p.width_mm)) return EXIT_USAGE;
            break;
        case 'H':
            if (cli_long("--height", optarg, &p.height_mm)) return EXIT_USAGE;
            break;
        case 'f':
            if (cli_time("--valid-from", optarg, &p.valid_start)) return EXIT_USAGE;
            break;
        case 'T':
            if (cli_time("--valid-to", optarg, &p.valid_end)) return EXIT_USAGE;
            break;
        case 'c':
            if (cli_time("--created", optarg, &p.create_date)) return EXIT_USAGE;
            break;
        case 'v':
            p.vid = optarg;
            break;
        case 'y':
            p.picture_type = optarg;
            break;
        case 'I':
            p.sm2_id = optarg;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(make_help, stdout);
            return 0;
        default:
            fputs(make_help, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) return cli_error("unexpected argument '%s'", argv[optind]);
    const char *missing = !maker_key                      ? "--maker-key"
                          : !maker_cert                   ? "--maker-cert"
                          : !n_signers                    ? "--signer-cert"
                          : !p.name                       ? "--name"
                          : !p.es_id                      ? "--es-id"
                          : p.type < 0                    ? "--type"
                          : !image                        ? "--image"
                          : !p.width_mm                   ? "--width"
                          : !p.height_mm                  ? "--height"
                          : p.valid_start == ES_TIME_NONE ? "--valid-from"
                          : p.valid_end == ES_TIME_NONE   ? "--valid-to"
                          : !out                          ? "-o"
                                                          : NULL;
    if (missing) {
        fputs(make_help, stderr);
        return cli_error("missing %s", missing);
    }
    if (p.valid_start >= p.valid_end) return cli_error("--valid-from must be before --valid-to");

    int ret = EXIT_USAGE;
    es_signer *maker = NULL;
    es_buf mcert, img, certs[ES_SEAL_MAX_CERTS], der;
    es_slice cert_slices[ES_SEAL_MAX_CERTS];
    size_t loaded = 0;
    es_buf_init(&mcert, 0);
    es_buf_init(&img, 0);
    es_buf_init(&der, ES_MAX_SEAL_DER);
    if (cli_load_signer(maker_key, &maker) || cli_load_cert(maker_cert, &mcert)) goto out;
    for (; loaded < n_signers; loaded++) {
        if (cli_load_cert(signer_paths[loaded], &certs[loaded])) goto out;
        cert_slices[loaded] = es_slice_make(certs[loaded].p, certs[loaded].len);
    }
    if (cli_read(image, ES_MAX_IMAGE, &img)) goto out;
    p.picture = es_slice_make(img.p, img.len);
    if (!p.picture_type && !es_picture_sniff(p.picture)) {
        cli_error("%s: unknown picture format; name it with --image-type", image);
        goto out;
    }
    p.signer_certs = cert_slices;
    p.n_signer_certs = n_signers;
    p.maker_cert = es_slice_make(mcert.p, mcert.len);
    es_err rv = es_seal_make(&p, maker, &der);
    if (rv == ES_ERR_KEY_MISMATCH) {
        cli_error("%s does not belong to the certificate %s", maker_key, maker_cert);
        goto out;
    }
    if (rv != ES_OK) {
        cli_error("cannot make the seal: %s", es_err_str(rv));
        goto out;
    }
    if (cli_write(out, der.p, der.len)) goto out;
    fprintf(stderr, "wrote %s (%zu bytes)\n", out, der.len);
    ret = 0;
out:
    es_signer_free(maker);
    es_buf_cleanup(&mcert);
    es_buf_cleanup(&img);
    es_buf_cleanup(&der);
    for (size_t i = 0; i < loaded; i++) es_buf_cleanup(&certs[i]);
    return ret;
}

static const char show_help[] =
    "usage: eseal seal show FILE [--json]\n"
    "\n"
    "Prints every field of a seal (.esl): header, code, name, type, certificate list\n"
    "(summarised), dates, picture, extensions, maker certificate and signature, and the\n"
    "deviations from the standard that were tolerated.\n"
    "\n"
    "example:\n"
    "  eseal seal show seal.esl\n"
    "  eseal seal show seal.esl --json | jq .es_id\n";

static const char verify_help[] =
    "usage: eseal seal verify FILE [--json] [--trust CERT|DIR] [--at T] [--id SM2-ID]\n"
    "                          [--policy ldt|conventions] [--crl FILE]...\n"
    "\n"
    "Verifies a seal: its structure, the maker signature, its validity period (now, or at\n"
    "--at), and with --trust the maker certificate's chain. Prints a report of named "
    "checks.\n" CLI_VERIFY_POLICY_HELP
    "Exit status: 0 PASSED, 1 FAILED, 2 INDETERMINATE (for example no --trust), 3 error.\n"
    "\n"
    "example:\n"
    "  eseal seal verify seal.esl --trust root.crt\n"
    "  eseal seal verify seal.esl --trust root.crt --policy ldt\n"
    "  eseal seal verify seal.esl --json\n";

static const char image_help[] =
    "usage: eseal seal image FILE -o OUT\n"
    "\n"
    "Writes the seal's picture exactly as stored (PNG, GIF, JPG, BMP, SVG, or for tax seals a\n"
    "whole OFD package). The type is printed on standard error.\n"
    "\n"
    "example:\n"
    "  eseal seal image seal.esl -o seal.png\n";

static int load_seal(const char *path, es_buf *b, es_seal *s)
{
    if (cli_read(path, ES_MAX_SEAL_DER, b)) return EXIT_USAGE;
    es_err rv = es_seal_from_der(es_slice_make(b->p, b->len), 1, s);
    if (rv != ES_OK) {
        es_buf_cleanup(b);
        return cli_error("%s: not a seal: %s", path, es_err_str(rv));
    }
    return 0;
}

static int seal_show(int argc, char **argv)
{
    int json;
    const char *file;
    int r = cli_file_args(argc, argv, show_help, &file, &json, NULL, NULL);
    if (r) return r < 0 ? 0 : r;
    if (!file) {
        fputs(show_help, stderr);
        return EXIT_USAGE;
    }
    es_buf b, out;
    es_seal s;
    if (load_seal(file, &b, &s)) return EXIT_USAGE;
    es_buf_init(&out, ES_MAX_REPORT);
    es_err rv = json ? es_seal_print_json(&s, &out) : es_seal_print(&s, &out);
    if (rv == ES_OK) cli_out(out.p, out.len);
    es_buf_cleanup(&out);
    es_buf_cleanup(&b);
    return rv == ES_OK ? 0 : cli_error("cannot print: %s", es_err_str(rv));
}

static int seal_verify(int argc, char **argv)
{
    const char *file;
    int json;
    es_trust *trust;
    es_verify_opts o;
    int r = cli_verify_opts(argc, argv, verify_help, &file, &json, &trust, &o, NULL);
    if (r) return r < 0 ? 0 : r;
    es_buf b;
    if (cli_read(file, ES_MAX_SEAL_DER, &b)) {
        es_trust_free(trust);
        return EXIT_USAGE;
    }
    es_report rep;
    es_report_init(&rep);
    int ret = EXIT_USAGE;
    if (es_report_set_file(&rep, file) == ES_OK &&
        es_seal_verify(es_slice_make(b.p, b.len), &o, &rep) == ES_OK)
        ret = cli_report(&rep, json);
    else
        cli_error("out of memory");
    es_report_cleanup(&rep);
    es_buf_cleanup(&b);
    es_trust_free(trust);
    return ret;
}

static int seal_image(int argc, char **argv)
{
    const char *file, *out;
    int r = cli_file_args(argc, argv, image_help, &file, NULL, &out, "a file name");
    if (r) return r < 0 ? 0 : r;
    if (!file || !out) {
        fputs(image_help, stderr);
        return cli_error(!file ? "missing FILE" : "missing -o OUT");
    }
    es_buf b;
    es_seal s;
    if (load_seal(file, &b, &s)) return EXIT_USAGE;
    int ret = cli_write(out, s.picture.p, s.picture.len);
    if (!ret) {
        const char *sniffed = es_picture_sniff(s.picture);
        fprintf(stderr, "wrote %s: %zu bytes, type %.*s%s%s%s\n", out, s.picture.len,
                (int)s.picture_type.len, (const char *)s.picture_type.p,
                sniffed ? " (bytes look like " : "", sniffed ? sniffed : "", sniffed ? ")" : "");
    }
    es_buf_cleanup(&b);
    return ret;
}

static const char seal_help[] = "usage: eseal seal <make|show|verify|image> ...\n"
                                "\n"
                                "  make     make a GB/T 38540 v4 seal signed by a maker key\n"
                                "  show     print every field of a seal\n"
                                "  verify   verify a seal and print a report\n"
                                "  image    write the seal's picture to a file\n"
                                "\n"
                                "Run 'eseal seal <subcommand> --help' for details and examples.\n"
                                "\n"
                                "example:\n"
                                "  eseal seal show seal.esl\n"
                                "  eseal seal verify seal.esl --trust root.crt\n";

int cmd_seal(int argc, char **argv)
{
    static const cli_cmd subs[] = {{"make", seal_make, NULL},
                                   {"show", seal_show, NULL},
                                   {"verify", seal_verify, NULL},
                                   {"image", seal_image, NULL}};
    return cli_dispatch(argc, argv, "seal", seal_help, subs, sizeof subs / sizeof subs[0]);
}
