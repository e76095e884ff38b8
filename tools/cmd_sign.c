/* eseal sign | verify: detached SES_Signature over any file. */
#include <getopt.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char sign_help[] =
    "usage: eseal sign --seal S.esl --key K --cert C [--property P] [--time T] DATA -o OUT.sig\n"
    "\n"
    "Signs DATA with a seal: makes a GB/T 38540 v4 SES_Signature whose dataHash is SM3 of\n"
    "DATA (read as a stream; DATA may be '-' for standard input). The signer certificate\n"
    "must be in the seal's certificate list and the key must belong to it. propertyInfo is\n"
    "the file name of DATA (percent-encoded where it is not ASCII) unless --property says\n"
    "otherwise. Encrypted PEM keys take their\n"
    "passphrase from ESEAL_PIN.\n"
    "\n"
    "example:\n"
    "  eseal sign --seal seal.esl --key signer.key --cert signer.crt contract.pdf -o contract.sig\n"
    "  eseal verify --data contract.pdf contract.sig\n";

/* propertyInfo is an IA5String: a file name outside printable ASCII (a Chinese name, say)
 * is written percent-encoded as RFC 3986 does, so that it survives and can be decoded. */
static int percent_encode(const char *name, es_buf *out)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *c = (const unsigned char *)name; *c; c++) {
        int plain = *c > 0x20 && *c < 0x7f && *c != '%';
        char enc[3] = {'%', hex[*c >> 4], hex[*c & 15]};
        if ((plain ? es_buf_append_byte(out, *c) : es_buf_append(out, enc, 3)) != ES_OK)
            return cli_error("file name too long");
    }
    return es_buf_nul(out) == ES_OK ? 0 : cli_error("out of memory");
}

int cmd_sign(int argc, char **argv)
{
    static const struct option opts[] = {{"seal", required_argument, 0, 's'},
                                         {"key", required_argument, 0, 'k'},
                                         {"cert", required_argument, 0, 'c'},
                                         {"property", required_argument, 0, 'p'},
                                         {"time", required_argument, 0, 't'},
                                         {"output", required_argument, 0, 'o'},
                                         {"id", required_argument, 0, 'i'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *seal = NULL, *key = NULL, *cert = NULL, *prop = NULL, *out = NULL, *id = NULL;
    es_time when = ES_TIME_NONE;
    int c;
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
            prop = optarg;
            break;
        case 't':
            if (cli_time("--time", optarg, &when)) return EXIT_USAGE;
            break;
        case 'o':
            out = optarg;
            break;
        case 'i':
            id = optarg;
            break;
        case 'h':
            fputs(sign_help, stdout);
            return 0;
        default:
            fputs(sign_help, stderr);
            return EXIT_USAGE;
        }
    }
    const char *missing = !seal            ? "--seal"
                          : !key           ? "--key"
                          : !cert          ? "--cert"
                          : optind >= argc ? "DATA"
                          : !out           ? "-o"
                                           : NULL;
    if (missing) {
        fputs(sign_help, stderr);
        return cli_error("missing %s", missing);
    }
    if (optind + 1 != argc) return cli_error("one DATA file at a time");
    const char *data = argv[optind];

    int ret = EXIT_USAGE;
    es_signer *signer = NULL;
    es_buf sb, cb, der, pname;
    uint8_t h[ES_SM3_LEN];
    char *dcopy = strdup(data);
    es_buf_init(&sb, 0);
    es_buf_init(&cb, 0);
    es_buf_init(&der, ES_MAX_SEAL_DER + 8192);
    es_buf_init(&pname, 4096);
    if (!dcopy || (!prop && percent_encode(basename(dcopy), &pname))) goto out;
    if (cli_read(seal, ES_MAX_SEAL_DER, &sb) || cli_load_signer(key, &signer) ||
        cli_load_cert(cert, &cb) || cli_hash_file(data, h, NULL))
        goto out;
    es_sign_params p = {
        .seal = es_slice_make(sb.p, sb.len),
        .time = when,
        .data_hash = h,
        .property_info = prop ? prop : (const char *)pname.p,
        .signer_cert = es_slice_make(cb.p, cb.len),
        .sm2_id = id,
    };
    es_err rv = es_signature_make(&p, signer, &der);
    switch (rv) {
    case ES_OK:
        break;
    case ES_ERR_CERT:
        cli_error("%s is not in the seal's certificate list", cert);
        goto out;
    case ES_ERR_KEY_MISMATCH:
        cli_error("%s does not belong to %s", key, cert);
        goto out;
    case ES_ERR_UNSUPPORTED:
        cli_error("%s: only GB/T 38540 (v4/v5) seals with a maker signature can sign", seal);
        goto out;
    case ES_ERR_ARG:
        cli_error("--property must be printable ASCII (IA5String)");
        goto out;
    case ES_ERR_SIGNER:
    case ES_ERR_DEVICE: {
        /* The device's own reason (a signature that does not verify is withheld by keydev). */
        const char *why = es_keydev_last_error();
        cli_error("%s: %s%s%s; no signature written", key, es_err_str(rv), *why ? ": " : "", why);
        goto out;
    }
    default:
        cli_error("%s: %s", seal, es_err_str(rv));
        goto out;
    }
    if (cli_write(out, der.p, der.len)) goto out;
    fprintf(stderr, "wrote %s (%zu bytes)\n", out, der.len);
    ret = 0;
out:
    free(dcopy);
    es_buf_cleanup(&pname);
    es_signer_free(signer);
    es_buf_cleanup(&sb);
    es_buf_cleanup(&cb);
    es_buf_cleanup(&der);
    return ret;
}

static const char verify_help[] =
    "usage: eseal verify [--data DATA] SIG [--json] [--trust CERT|DIR] [--id SM2-ID]\n"
    "                    [--policy ldt|conventions] [--crl FILE]...\n"
    "\n"
    "Verifies a signature: a GB/T 38540 / GM/T 0031 SES_Signature (SignedValue.dat) or a\n"
    "GB/T 35275 SignedData. Checks the signature over TBS_Sign, the embedded seal, that the\n"
    "signer certificate is one the seal names, validity at the signing time, and with --data\n"
    "that SM3 of DATA is the signed hash (data_hash is SKIPPED without it). With --trust, the\n"
    "certificates must chain to the given anchors (otherwise chain_trust is "
    "INDETERMINATE).\n" CLI_VERIFY_POLICY_HELP
    "Exit status: 0 PASSED, 1 FAILED, 2 INDETERMINATE, 3 usage or I/O error.\n"
    "\n"
    "example:\n"
    "  eseal verify --data contract.pdf contract.sig --trust root.crt\n"
    "  eseal verify Doc_0/Signs/Sign_0/SignedValue.dat --json\n";

int cmd_verify(int argc, char **argv)
{
    const char *file, *data = NULL;
    int json;
    es_trust *trust;
    es_verify_opts o;
    int r = cli_verify_opts(argc, argv, verify_help, &file, &json, &trust, &o, &data);
    if (r) return r < 0 ? 0 : r;
    es_buf b, keep;
    uint8_t h[ES_SM3_LEN];
    int ret = EXIT_USAGE;
    es_report rep;
    es_report_init(&rep);
    es_buf_init(&keep, 64u * 1024 * 1024);
    es_buf_init(&b, 0);
    if (cli_read(file, ES_MAX_SEAL_DER, &b)) goto out;
    if (data) {
        if (cli_hash_file(data, h, &keep)) goto out;
        o.data_sm3 = h;
        o.data = es_slice_make(keep.p, keep.len);
    }
    if (data && es_detect(es_slice_make(b.p, b.len)) == ES_KIND_SEAL)
        fprintf(stderr, "eseal: %s is a seal, not a signature: --data is not used\n", file);
    if (es_report_set_file(&rep, file) != ES_OK ||
        es_verify_any(es_slice_make(b.p, b.len), &o, &rep) != ES_OK) {
        cli_error("out of memory");
        goto out;
    }
    ret = cli_report(&rep, json);
out:
    es_report_cleanup(&rep);
    es_buf_cleanup(&b);
    es_buf_cleanup(&keep);
    es_trust_free(trust);
    return ret;
}
