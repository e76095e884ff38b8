/* eseal key gen | pub | csr | list | info | cert: keys in any key device, by key reference. */
#include <string.h>

#include "cli.h"
#include "eseal/pki.h"

static const char help[] =
    "usage: eseal key <gen|pub|csr|list|info|cert> REF [options]\n"
    "\n"
    "Keys live in key devices, named by a key reference:\n"
    "  soft:DIR#NAME                           software key store (DIR/NAME.key, encrypted)\n"
    "  sdf:LIB.so#INDEX                        GB/T 36322 (SDF) crypto card, key index\n"
    "  skf:LIB.so#DEVICE/APPLICATION/CONTAINER GB/T 35291 (SKF) USBKey container\n"
    "Every command that takes --key, --maker-key or a CA key accepts these references too.\n"
    "PINs and passphrases come from ESEAL_PIN or a prompt on the terminal, never from the\n"
    "command line.\n"
    "\n"
    "  gen REF [-o PUB.pem]      generate an SM2 key pair at REF (soft: the passphrase protects\n"
    "                            it, 8 characters at least; sdf: not possible by the standard)\n"
    "  pub REF [-o PUB.pem]      print the public key (PEM SubjectPublicKeyInfo)\n"
    "  csr REF --subject /C=CN/O=.../CN=... [--san TYPE:VALUE]... [-o FILE]\n"
    "                            a PKCS#10 request (PEM) signed by the key (--san "
    "URI:https://h:8443/,\n"
    "                            DNS:host, IP:10.0.0.1, email:a@b), for a CA: `eseal ca\n"
    "                            issue --csr`, or the registration of a business system\n"
    "                            (POST /api/v1/clients, docs/api-clients.md)\n"
    "  list REF                  list the keys of the device REF is on\n"
    "  info REF                  describe the device\n"
    "  cert REF --put CERT       store a certificate with the key\n"
    "  cert REF [-o CERT.der]    read it back\n"
    "\n"
    "examples:\n"
    "  mkdir -p keys && ESEAL_PIN='correct horse' eseal key gen soft:keys#maker -o maker.pub\n"
    "  eseal key pub sdf:/opt/vendor/libsdf.so#3\n"
    "  eseal key csr soft:keys#erp --subject '/C=CN/O=某市人社局/CN=erp' -o erp.csr\n"
    "  eseal seal make --maker-key soft:keys#maker --maker-cert maker.crt ...\n";

/* eseal key csr: a PKCS#10 request signed through the key's device. */
static int key_csr(const char *refs, const char *subject, const char **san, size_t n_san,
                   const char *out)
{
    es_name name;
    es_pki_san sans[8];
    char why[256] = "";
    if (!subject) return cli_error("csr needs --subject, e.g. '/C=CN/O=unit/CN=name'");
    if (es_pki_name_parse(subject, &name, why, sizeof why) != ES_OK)
        return cli_error("--subject: %s", why);
    for (size_t i = 0; i < n_san; i++)
        if (es_pki_san_parse(san[i], &sans[i]) != ES_OK)
            return cli_error("--san %s: not URI:..., DNS:..., IP:... or email:...", san[i]);
    es_signer *key = NULL;
    if (cli_load_signer(refs, &key)) return EXIT_USAGE;
    es_buf der, pem;
    es_buf_init(&der, 64u << 10);
    es_buf_init(&pem, 128u << 10);
    es_err rv = es_pki_csr_make(&name, n_san ? sans : NULL, n_san, key, &der);
    if (rv == ES_OK)
        rv = es_pki_pem_encode("CERTIFICATE REQUEST", es_slice_make(der.p, der.len), &pem);
    int ret = rv == ES_OK ? cli_emit(out, pem.p, pem.len)
                          : cli_error("cannot make the request: %s", es_err_str(rv));
    es_signer_free(key);
    es_buf_cleanup(&der);
    es_buf_cleanup(&pem);
    return ret;
}

int cmd_key(int argc, char **argv)
{
    int r = cli_sub_help(argc, argv, help);
    if (r >= 0) return r;
    const char *sub = argv[1], *refs = NULL, *out = NULL, *put = NULL, *subject = NULL;
    const char *san[8];
    size_t n_san = 0;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--subject") == 0 && i + 1 < argc)
            subject = argv[++i];
        else if (strcmp(argv[i], "--san") == 0 && i + 1 < argc) {
            if (n_san == sizeof san / sizeof san[0]) return cli_error("at most 8 --san");
            san[n_san++] = argv[++i];
        } else if (strcmp(argv[i], "--put") == 0 && i + 1 < argc)
            put = argv[++i];
        else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(help, stdout);
            return 0;
        } else if (argv[i][0] == '-')
            return cli_error("unknown option %s (or it needs a value)", argv[i]);
        else if (refs)
            return cli_error("one key reference at a time");
        else
            refs = argv[i];
    }
    if (!refs) {
        fputs(help, stderr);
        return cli_error("missing REF");
    }
    if (strcmp(sub, "csr") == 0) return key_csr(refs, subject, san, n_san, out);
    if (subject || n_san) return cli_error("--subject and --san go with csr");
    es_keyref ref;
    es_err rv = es_keyref_parse(refs, &ref);
    if (rv != ES_OK) return cli_keydev_error(refs, rv, -1);
    es_keydev *dev = NULL;
    if ((rv = es_keydev_open(&ref, &dev)) != ES_OK) return cli_keydev_error(refs, rv, -1);
    es_secret_src src = cli_secret(NULL);
    uint8_t pub[ES_SM2_PUB_LEN];
    int ret = EXIT_USAGE, retries = -1;

    if (strcmp(sub, "gen") == 0) {
        /* A device key needs a login first (SKF user PIN); a soft key needs a new passphrase. */
        if (ref.kind != ES_KEYDEV_SOFT &&
            (rv = es_keydev_login(dev, &ref, &src, &retries)) != ES_OK)
            ret = cli_keydev_error(refs, rv, retries);
        else if ((rv = es_keydev_generate(dev, &ref, &src, pub)) == ES_ERR_UNSUPPORTED)
            ret = cli_error("%s: this device cannot generate and keep a key at a reference; "
                            "use its own management tool",
                            refs);
        else if (rv == ES_ERR_PIN)
            ret = cli_error("a passphrase of 8 characters at least is needed (ESEAL_PIN or a "
                            "prompt)");
        else if (rv == ES_ERR_EXISTS)
            ret = cli_error("%s: a key already exists there; it is never overwritten", refs);
        else if (rv != ES_OK)
            ret = cli_keydev_error(refs, rv, -1);
        else
            ret = cli_print_pub(pub, out);
    } else if (strcmp(sub, "pub") == 0) {
        rv = es_keydev_public_key(dev, &ref, pub);
        if (rv == ES_ERR_LOGIN) {
            if ((rv = es_keydev_login(dev, &ref, &src, &retries)) == ES_OK)
                rv = es_keydev_public_key(dev, &ref, pub);
        }
        ret = rv == ES_OK ? cli_print_pub(pub, out) : cli_keydev_error(refs, rv, retries);
    } else if (strcmp(sub, "list") == 0) {
        es_buf b;
        es_buf_init(&b, 1 << 20);
        if ((rv = es_keydev_list(dev, &b)) == ES_OK) {
            cli_out(b.p, b.len);
            ret = 0;
        } else {
            ret = cli_keydev_error(refs, rv, -1);
        }
        es_buf_cleanup(&b);
    } else if (strcmp(sub, "info") == 0) {
        es_keydev_info info;
        if ((rv = es_keydev_info_get(dev, &info)) == ES_OK) {
            printf("kind          %s\nmanufacturer  %s\nlabel         %s\nserial        %s\n"
                   "generate      %s\nimport        %s\ndecrypt       %s\n",
                   info.kind, info.manufacturer, info.label, info.serial,
                   info.can_generate ? "yes" : "no", info.can_import ? "yes" : "no",
                   info.can_decrypt ? "yes" : "no");
            ret = 0;
        } else {
            ret = cli_keydev_error(refs, rv, -1);
        }
    } else if (strcmp(sub, "cert") == 0) {
        es_buf b;
        es_buf_init(&b, ES_MAX_CERT_DER);
        if (put) {
            if (cli_load_cert(put, &b) == 0) {
                if (ref.kind != ES_KEYDEV_SOFT) rv = es_keydev_login(dev, &ref, &src, &retries);
                if (rv == ES_OK) rv = es_keydev_put_cert(dev, &ref, es_slice_make(b.p, b.len));
                ret = rv == ES_OK ? 0 : cli_keydev_error(refs, rv, retries);
            }
        } else if ((rv = es_keydev_get_cert(dev, &ref, &b)) == ES_OK) {
            ret = cli_emit(out, b.p, b.len);
        } else {
            ret = cli_keydev_error(refs, rv, -1);
        }
        es_buf_cleanup(&b);
    } else {
        fputs(help, stderr);
        ret = cli_error("unknown subcommand 'key %s'", sub);
    }
    es_keydev_close(dev);
    return ret;
}
