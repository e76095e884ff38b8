/* eseal package request | make | import | show: the encrypted server package of LD/T 01.1 7.5
 * (include/eseal/package.h, docs/delivery.md). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eseal/castore.h"
#include "eseal/package.h"
#include "eseal/pki.h"

static const char help[] =
    "usage: eseal package <request|make|import|show> [options]\n"
    "\n"
    "The encrypted server package (LD/T 01.1 7.5): a seal key delivered to an application\n"
    "system only enveloped to its key device's encryption key (GB/T 35291 ENVELOPEDKEYBLOB),\n"
    "with its certificate and seal, signed by the making system (docs/delivery.md).\n"
    "\n"
    "  request   the application system's request package (its device's encryption key,\n"
    "            signed with its system key)\n"
    "  make      the making system's side without the daemon: key, certificate from an\n"
    "            `eseal ca` directory, seal, package; the key is wiped afterwards\n"
    "  import    import a package into the key device named in the request (SDF)\n"
    "  show      print what a request or package holds, after checking it\n"
    "\n"
    "Run 'eseal package <subcommand> --help' for options and examples.\n"
    "\n"
    "example:\n"
    "  eseal package request --enc sdf:libsdf.so#2 --key sdf:libsdf.so#1 --cert system.crt \\\n"
    "      -o request.der\n"
    "  ESEAL_PIN=... eseal package import seal.pkg --key sdf:libsdf.so#2 --trust root.crt \\\n"
    "      --cert-out seal.crt --seal-out seal.esl\n";

static const char request_help[] =
    "usage: eseal package request --enc REF --key KEY --cert CERT [--id ID] [--days N]\n"
    "                             [--trust ROOT.pem] -o REQUEST.der\n"
    "\n"
    "The application system asks for a seal key: REF names the key device whose SM2\n"
    "ENCRYPTION key the seal key will be enveloped to (sdf:LIB#INDEX: the encryption key pair\n"
    "of that index, which then receives the seal key as its signing pair; skf:...: the\n"
    "container's encryption pair). KEY (a key reference or PEM file) and CERT are the\n"
    "application system's system key and certificate, which sign the request. --id defaults\n"
    "to a random one; the request is valid --days days (default 7, at most 30). The PIN of\n"
    "KEY comes from ESEAL_PIN; a device that exports REF's key only after a login takes\n"
    "ESEAL_ENC_PIN.\n"
    "\n"
    "example:\n"
    "  ESEAL_PIN=... eseal package request --enc sdf:libsdf.so#2 --key sdf:libsdf.so#1 \\\n"
    "      --cert system.crt --id REQ-2026-0001 -o request.der\n";

static const char make_help[] =
    "usage: eseal package make --request REQ --ca DIR --subject /C=CN/O=.../CN=CODE\n"
    "                          --maker-key K --maker-cert C --name NAME --es-id CODE\n"
    "                          --type N --image FILE --width MM --height MM\n"
    "                          --valid-from T --valid-to T [--trust ROOT.pem] -o PACKAGE\n"
    "\n"
    "The making system's delivery step outside the daemon (a test site, a counter): checks\n"
    "the request (against --trust when given), generates the seal key, has the CA in DIR\n"
    "(`eseal ca`; its key's PIN from ESEAL_CA_PIN) issue the seal certificate (profile seal)\n"
    "for it, makes the seal naming that certificate (maker key PIN from ESEAL_PIN), and writes\n"
    "the package: the key enveloped to the request's encryption key, certificate, seal,\n"
    "signed with the maker key. The private key is wiped; no copy is kept anywhere.\n"
    "\n"
    "example:\n"
    "  ESEAL_CA_PIN=... ESEAL_PIN=... eseal package make --request request.der --ca ca \\\n"
    "      --subject '/C=CN/O=91440300MA5XXXXXXX 某单位/CN=RS44030500000001' \\\n"
    "      --maker-key maker.key --maker-cert maker.crt --name '某单位公章' \\\n"
    "      --es-id RS44030500000001 --type 1 --image seal.png --width 40 --height 40 \\\n"
    "      --valid-from 2026-01-01 --valid-to 2027-12-31 -o seal.pkg\n";

static const char import_help[] =
    "usage: eseal package import PACKAGE --key REF [--trust ROOT.pem] [--cert-out CERT]\n"
    "                           [--seal-out SEAL.esl]\n"
    "\n"
    "Checks the package (the making system's signature, the seal and certificate against\n"
    "each other and against --trust when given) and imports its key into the key device at\n"
    "REF, which must hold the encryption key the package is addressed to: the envelope opens\n"
    "inside the device (sdf: the vendor import function; eseal's libsoftsdf.so has it). The\n"
    "imported key must then sign what the certificate verifies. The PIN (SDF access password)\n"
    "comes from ESEAL_PIN. --cert-out and --seal-out write the certificate (DER) and the seal\n"
    "for signing with --key REF.\n"
    "\n"
    "example:\n"
    "  ESEAL_PIN=... eseal package import seal.pkg --key sdf:libsdf.so#2 --trust root.crt \\\n"
    "      --cert-out seal.crt --seal-out seal.esl\n";

static const char show_help[] =
    "usage: eseal package show FILE [--trust ROOT.pem]\n"
    "\n"
    "Checks a request package or a server package and prints what it holds (never a key).\n"
    "\n"
    "example:\n"
    "  eseal package show request.der\n";

static int read_trust(const char *path, es_buf *out)
{
    es_buf_init(out, 0);
    return path ? cli_read(path, ES_MAX_CERT_DER * 64, out) : 0;
}

/* ES_ERR_* of a package function: the detail when there is one. */
static int refused(const char *what, es_err rv, const char *why)
{
    cli_error("%s: %s%s%s", what, es_err_str(rv), why[0] ? ": " : "", why);
    fprintf(stderr, "eseal: %s\n", es_err_str_zh(rv));
    return rv == ES_ERR_ARG || rv == ES_ERR_LIMIT ? EXIT_USAGE : EXIT_FAILED;
}

static int package_request(int argc, char **argv)
{
    static const struct option opts[] = {
        {"enc", required_argument, 0, 'e'},  {"key", required_argument, 0, 'k'},
        {"cert", required_argument, 0, 'c'}, {"id", required_argument, 0, 'i'},
        {"days", required_argument, 0, 'd'}, {"output", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'},       {0, 0, 0, 0}};
    const char *enc = NULL, *key = NULL, *cert = NULL, *id = NULL, *out = NULL;
    long days = 7;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'e':
            enc = optarg;
            break;
        case 'k':
            key = optarg;
            break;
        case 'c':
            cert = optarg;
            break;
        case 'i':
            id = optarg;
            break;
        case 'd':
            if (cli_long("--days", optarg, &days)) return EXIT_USAGE;
            break;
        case 'o':
            out = optarg;
            break;
        case 'h':
            fputs(request_help, stdout);
            return 0;
        default:
            fputs(request_help, stderr);
            return EXIT_USAGE;
        }
    }
    const char *missing = !enc ? "--enc" : !key ? "--key" : !cert ? "--cert" : !out ? "-o" : NULL;
    if (missing) {
        fputs(request_help, stderr);
        return cli_error("missing %s", missing);
    }
    if (optind != argc) return cli_error("unexpected argument '%s'", argv[optind]);
    if (days < 1 || days > ES_PACKAGE_MAX_DAYS)
        return cli_error("--days: 1 to %d", ES_PACKAGE_MAX_DAYS);

    int ret = EXIT_USAGE;
    es_keyref ref;
    es_keydev *dev = NULL;
    es_signer *signer = NULL;
    uint8_t enc_pub[ES_SM2_PUB_LEN];
    char rid[ES_PACKAGE_ID_MAX + 1], why[256] = "";
    es_buf cb, der;
    es_buf_init(&cb, 0);
    es_buf_init(&der, ES_MAX_PACKAGE_REQ);
    if (es_keyref_parse(enc, &ref) != ES_OK) {
        cli_error("--enc %s: not a key reference (sdf:LIB#INDEX or skf:LIB#DEV/APP/CON)", enc);
        goto out;
    }
    es_err rv = es_keydev_open(&ref, &dev);
    if (rv == ES_OK) rv = es_keydev_enc_public_key(dev, &ref, enc_pub);
    if (rv == ES_ERR_LOGIN && getenv("ESEAL_ENC_PIN")) {
        es_secret_src pin = cli_secret("ESEAL_ENC_PIN");
        rv = es_keydev_login(dev, &ref, &pin, NULL);
        if (rv == ES_OK) rv = es_keydev_enc_public_key(dev, &ref, enc_pub);
    }
    if (rv != ES_OK) {
        ret = cli_keydev_error(enc, rv, -1);
        if (rv == ES_ERR_LOGIN) fprintf(stderr, "eseal: (set ESEAL_ENC_PIN)\n");
        goto out;
    }
    if (!id) {
        uint8_t r[8];
        if (es_random(r, sizeof r) != ES_OK) goto out;
        memcpy(rid, "REQ-", 4);
        es_hex_encode(r, sizeof r, rid + 4);
        id = rid;
    }
    if (cli_load_cert(cert, &cb) || cli_load_signer(key, &signer)) goto out;
    es_package_req_params p = {id, es_slice_make(cb.p, cb.len), enc_pub, ES_TIME_NONE,
                               ES_TIME_NONE};
    p.not_before = es_time_now();
    p.not_after = p.not_before + days * 86400;
    rv = es_package_req_make(&p, signer, &der, why, sizeof why);
    if (rv != ES_OK) {
        ret = refused("request", rv, why);
        goto out;
    }
    if ((ret = cli_write(out, der.p, der.len)) == 0)
        fprintf(stderr, "request %s for the encryption key of %s -> %s\n", id, enc, out);
out:
    es_keydev_close(dev);
    es_signer_free(signer);
    es_buf_cleanup(&cb);
    es_buf_cleanup(&der);
    return ret;
}

static int package_make(int argc, char **argv)
{
    static const struct option opts[] = {{"request", required_argument, 0, 'r'},
                                         {"trust", required_argument, 0, 'T'},
                                         {"ca", required_argument, 0, 'C'},
                                         {"subject", required_argument, 0, 'S'},
                                         {"maker-key", required_argument, 0, 'k'},
                                         {"maker-cert", required_argument, 0, 'm'},
                                         {"name", required_argument, 0, 'n'},
                                         {"es-id", required_argument, 0, 'i'},
                                         {"type", required_argument, 0, 't'},
                                         {"image", required_argument, 0, 'p'},
                                         {"width", required_argument, 0, 'W'},
                                         {"height", required_argument, 0, 'H'},
                                         {"valid-from", required_argument, 0, 'f'},
                                         {"valid-to", required_argument, 0, 'u'},
                                         {"output", required_argument, 0, 'o'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *reqf = NULL, *trustf = NULL, *cadir = NULL, *subject = NULL, *maker_key = NULL;
    const char *maker_cert = NULL, *image = NULL, *out = NULL;
    es_seal_params sp;
    memset(&sp, 0, sizeof sp);
    sp.type = -1;
    sp.create_date = sp.valid_start = sp.valid_end = ES_TIME_NONE;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'r':
            reqf = optarg;
            break;
        case 'T':
            trustf = optarg;
            break;
        case 'C':
            cadir = optarg;
            break;
        case 'S':
            subject = optarg;
            break;
        case 'k':
            maker_key = optarg;
            break;
        case 'm':
            maker_cert = optarg;
            break;
        case 'n':
            sp.name = optarg;
            break;
        case 'i':
            sp.es_id = optarg;
            break;
        case 't':
            if (cli_long("--type", optarg, &sp.type)) return EXIT_USAGE;
            break;
        case 'p':
            image = optarg;
            break;
        case 'W':
            if (cli_long("--width", optarg, &sp.width_mm)) return EXIT_USAGE;
            break;
        case 'H':
            if (cli_long("--height", optarg, &sp.height_mm)) return EXIT_USAGE;
            break;
        case 'f':
            if (cli_time("--valid-from", optarg, &sp.valid_start)) return EXIT_USAGE;
            break;
        case 'u':
            if (cli_time("--valid-to", optarg, &sp.valid_end)) return EXIT_USAGE;
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
    const char *missing = !reqf                            ? "--request"
                          : !cadir                         ? "--ca"
                          : !subject                       ? "--subject"
                          : !maker_key                     ? "--maker-key"
                          : !maker_cert                    ? "--maker-cert"
                          : !sp.name                       ? "--name"
                          : !sp.es_id                      ? "--es-id"
                          : sp.type < 0                    ? "--type"
                          : !image                         ? "--image"
                          : !sp.width_mm                   ? "--width"
                          : !sp.height_mm                  ? "--height"
                          : sp.valid_start == ES_TIME_NONE ? "--valid-from"
                          : sp.valid_end == ES_TIME_NONE   ? "--valid-to"
                          : !out                           ? "-o"
                                                           : NULL;
    if (missing) {
        fputs(make_help, stderr);
        return cli_error("missing %s", missing);
    }
    if (optind != argc) return cli_error("unexpected argument '%s'", argv[optind]);

    int ret = EXIT_USAGE;
    char why[256] = "", serial[2 * ES_PKI_SERIAL_MAX + 1];
    es_buf reqb, trust, mcert, img, cert, seal, pkg;
    es_package_req *r = NULL;
    es_package_key *k = NULL;
    es_signer *maker = NULL;
    es_ca *ca = NULL;
    es_name name;
    uint8_t pub[ES_SM2_PUB_LEN];
    es_buf_init(&reqb, 0);
    es_buf_init(&mcert, 0);
    es_buf_init(&img, 0);
    es_buf_init(&cert, ES_MAX_CERT_DER);
    es_buf_init(&seal, ES_MAX_SEAL_DER);
    es_buf_init(&pkg, ES_MAX_PACKAGE);
    if (read_trust(trustf, &trust) || cli_read(reqf, ES_MAX_PACKAGE_REQ, &reqb)) goto out;
    if (es_pki_name_parse(subject, &name, why, sizeof why) != ES_OK) {
        cli_error("--subject: %s", why);
        goto out;
    }
    es_err rv = es_package_req_parse(es_slice_make(reqb.p, reqb.len),
                                     es_slice_make(trust.p, trust.len), &r, why, sizeof why);
    if (rv != ES_OK) {
        ret = refused(reqf, rv, why);
        goto out;
    }
    if (cli_load_cert(maker_cert, &mcert) || cli_read(image, ES_MAX_IMAGE, &img) ||
        cli_load_signer(maker_key, &maker))
        goto out;
    if ((rv = es_ca_open(cadir, &ca, why, sizeof why)) != ES_OK) {
        cli_error("%s: %s", cadir, why[0] ? why : es_err_str(rv));
        goto out;
    }
    es_secret_src capin = cli_secret("ESEAL_CA_PIN");
    if ((rv = es_ca_login(ca, &capin)) != ES_OK) {
        cli_error("%s: cannot use the CA key: %s (PIN from ESEAL_CA_PIN)", cadir, es_err_str(rv));
        goto out;
    }
    if ((rv = es_package_key_new(r, &k, pub)) != ES_OK) {
        ret = refused("key", rv, "");
        goto out;
    }
    es_ca_request cr;
    memset(&cr, 0, sizeof cr);
    cr.profile = "seal";
    cr.subject = &name;
    cr.pub = pub;
    cr.not_before = ES_TIME_NONE;
    es_pki_lint lint;
    if ((rv = es_ca_issue(ca, &cr, &lint, &cert, serial)) != ES_OK) {
        cli_error("cannot issue the seal certificate: %s", es_err_str(rv));
        for (size_t i = 0; rv == ES_ERR_LINT && i < lint.n && i < ES_PKI_LINT_MAX; i++)
            fprintf(stderr, "  - %s\n", lint.msg[i]);
        ret = EXIT_FAILED;
        goto out;
    }
    es_slice cs = es_slice_make(cert.p, cert.len);
    sp.signer_certs = &cs;
    sp.n_signer_certs = 1;
    sp.picture = es_slice_make(img.p, img.len);
    sp.maker_cert = es_slice_make(mcert.p, mcert.len);
    if ((rv = es_seal_make(&sp, maker, &seal)) != ES_OK) {
        cli_error("cannot make the seal: %s", es_err_str(rv));
        ret = EXIT_FAILED;
        goto out;
    }
    rv = es_package_finish(k, cs, es_slice_make(seal.p, seal.len), maker, &pkg);
    if (rv != ES_OK) {
        ret = refused("package", rv, "");
        goto out;
    }
    if ((ret = cli_write(out, pkg.p, pkg.len)) == 0)
        fprintf(stderr,
                "package for request %s: certificate %s, seal %s -> %s (the key is wiped)\n",
                es_package_req_info_of(r)->request_id, serial, sp.es_id, out);
out:
    es_package_key_free(k);
    es_package_req_free(r);
    es_signer_free(maker);
    es_ca_close(ca);
    es_buf_cleanup(&reqb);
    es_buf_cleanup(&trust);
    es_buf_cleanup(&mcert);
    es_buf_cleanup(&img);
    es_buf_cleanup(&cert);
    es_buf_cleanup(&seal);
    es_buf_cleanup(&pkg);
    return ret;
}

static int package_import(int argc, char **argv)
{
    static const struct option opts[] = {
        {"key", required_argument, 0, 'k'},      {"trust", required_argument, 0, 'T'},
        {"cert-out", required_argument, 0, 'c'}, {"seal-out", required_argument, 0, 's'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *key = NULL, *trustf = NULL, *cert_out = NULL, *seal_out = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'k':
            key = optarg;
            break;
        case 'T':
            trustf = optarg;
            break;
        case 'c':
            cert_out = optarg;
            break;
        case 's':
            seal_out = optarg;
            break;
        case 'h':
            fputs(import_help, stdout);
            return 0;
        default:
            fputs(import_help, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc || !key) {
        fputs(import_help, stderr);
        return cli_error(optind == argc ? "missing PACKAGE"
                         : !key         ? "missing --key"
                                        : "one PACKAGE at a time");
    }
    const char *file = argv[optind];
    int ret = EXIT_USAGE;
    char why[256] = "";
    es_buf pkgb, trust;
    es_keyref ref;
    es_keydev *dev = NULL;
    es_package p;
    es_buf_init(&pkgb, 0);
    if (read_trust(trustf, &trust) || cli_read(file, ES_MAX_PACKAGE, &pkgb)) goto out;
    if (es_keyref_parse(key, &ref) != ES_OK) {
        cli_error("--key %s: not a key reference", key);
        goto out;
    }
    es_err rv = es_package_parse(es_slice_make(pkgb.p, pkgb.len), es_slice_make(trust.p, trust.len),
                                 &p, why, sizeof why);
    if (rv != ES_OK) {
        ret = refused(file, rv, why);
        goto out;
    }
    es_secret_src pin = cli_secret("ESEAL_PIN");
    int retries = -1;
    if ((rv = es_keydev_open(&ref, &dev)) != ES_OK ||
        (rv = es_keydev_login(dev, &ref, &pin, &retries)) != ES_OK) {
        ret = cli_keydev_error(key, rv, retries);
        goto out;
    }
    rv = es_package_import(&p, dev, &ref, why, sizeof why);
    if (rv != ES_OK) {
        ret = refused(key, rv, why);
        goto out;
    }
    fprintf(stderr, "imported the seal key of request %s into %s\n", p.request_id, key);
    ret = 0;
    if (cert_out) ret = cli_write(cert_out, p.cert.p, p.cert.len);
    if (!ret && seal_out) ret = cli_write(seal_out, p.seal.p, p.seal.len);
out:
    es_keydev_close(dev);
    es_buf_cleanup(&pkgb);
    es_buf_cleanup(&trust);
    return ret;
}

static int package_show(int argc, char **argv)
{
    static const struct option opts[] = {
        {"trust", required_argument, 0, 'T'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *trustf = NULL;
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'T') {
            trustf = optarg;
        } else if (c == 'h') {
            fputs(show_help, stdout);
            return 0;
        } else {
            fputs(show_help, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind + 1 != argc) {
        fputs(show_help, stderr);
        return cli_error("one FILE");
    }
    const char *file = argv[optind];
    int ret = EXIT_USAGE;
    char why[256] = "", why2[256] = "", nb[32], na[32];
    es_buf b, trust;
    es_package_req *r = NULL;
    es_package p;
    es_buf_init(&b, 0);
    if (read_trust(trustf, &trust) || cli_read(file, ES_MAX_PACKAGE, &b)) goto out;
    es_slice in = es_slice_make(b.p, b.len), ts = es_slice_make(trust.p, trust.len);
    es_err rv = es_package_req_parse(in, ts, &r, why, sizeof why);
    if (rv == ES_OK) {
        const es_package_req_info *i = es_package_req_info_of(r);
        es_cert_info ci;
        es_time_format_iso(i->not_before, nb);
        es_time_format_iso(i->not_after, na);
        printf("request package\nrequest id    %s\n", i->request_id);
        if (es_cert_parse(i->requester_cert, &ci) == ES_OK) {
            printf("requester     %s\n", ci.subject);
            es_cert_info_cleanup(&ci);
        }
        printf("serial        %s\nvalid         %s to %s\n", i->requester_serial, nb, na);
        ret = cli_print_pub(i->enc_pub, NULL);
        goto out;
    }
    es_err rv2 = es_package_parse(in, ts, &p, why2, sizeof why2);
    if (rv2 == ES_OK) {
        es_cert_info ci;
        es_time_format_iso(p.produced_at, nb);
        printf("server package\nrequest id    %s\nproduced at   %s\nenvelope      %zu bytes "
               "(GB/T 35291 ENVELOPEDKEYBLOB)\n",
               p.request_id, nb, p.envelope.len);
        if (es_cert_parse(p.cert, &ci) == ES_OK) {
            printf("certificate   %s (serial %s)\n", ci.subject, ci.serial);
            es_cert_info_cleanup(&ci);
        }
        if (es_cert_parse(p.maker_cert, &ci) == ES_OK) {
            printf("made by       %s\n", ci.subject);
            es_cert_info_cleanup(&ci);
        }
        printf("recipient key\n");
        ret = cli_print_pub(p.recipient_pub, NULL);
        goto out;
    }
    /* Say what fits better: a request's reason when it reads as one. */
    ret = refused(file, rv == ES_ERR_DER || rv == ES_ERR_FORMAT ? rv2 : rv,
                  rv == ES_ERR_DER || rv == ES_ERR_FORMAT ? why2 : why);
out:
    es_package_req_free(r);
    es_buf_cleanup(&b);
    es_buf_cleanup(&trust);
    return ret;
}

int cmd_package(int argc, char **argv)
{
    static const cli_cmd subs[] = {{"request", package_request, NULL},
                                   {"make", package_make, NULL},
                                   {"import", package_import, NULL},
                                   {"show", package_show, NULL}};
    return cli_dispatch(argc, argv, "package", help, subs, sizeof subs / sizeof subs[0]);
}
