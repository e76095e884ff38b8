/* eseal key gen | pub | list | info | cert: keys in any key device, by key reference. */
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: eseal key <gen|pub|list|info|cert> REF [options]\n"
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
    "  list REF                  list the keys of the device REF is on\n"
    "  info REF                  describe the device\n"
    "  cert REF --put CERT       store a certificate with the key\n"
    "  cert REF [-o CERT.der]    read it back\n"
    "\n"
    "examples:\n"
    "  mkdir -p keys && ESEAL_PIN='correct horse' eseal key gen soft:keys#maker -o maker.pub\n"
    "  eseal key pub sdf:/opt/vendor/libsdf.so#3\n"
    "  eseal seal make --maker-key soft:keys#maker --maker-cert maker.crt ...\n";

int cmd_key(int argc, char **argv)
{
    int r = cli_sub_help(argc, argv, help);
    if (r >= 0) return r;
    const char *sub = argv[1], *refs = NULL, *out = NULL, *put = NULL;
    for (int i = 2; i < argc; i++) {
        if (strcmp(argv[i], "-o") == 0 && i + 1 < argc)
            out = argv[++i];
        else if (strcmp(argv[i], "--put") == 0 && i + 1 < argc)
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
