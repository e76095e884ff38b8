/* eseal token init | info | gen | import | cert | seal | unlock | passwd | list: GB/T 35291
 * (SKF) USBKeys through their vendor library (eseal/token.h, eseal/package.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "eseal/package.h"
#include "eseal/token.h"

static const char help[] =
    "usage: eseal token <init|info|gen|import|cert|seal|unlock|passwd|list> REF [options]\n"
    "\n"
    "A token is a GB/T 35291 (SKF) smart cryptographic key (USBKey), reached through its\n"
    "vendor library. REF names the library, the device, the application and the container:\n"
    "  skf:LIB#DEVICE/APPLICATION/CONTAINER   (DEVICE empty: the first device present)\n"
    "init, info, unlock and passwd need no container; list needs only skf:LIB.\n"
    "PINs come from ESEAL_PIN (user PIN), ESEAL_SO_PIN (security officer PIN) and\n"
    "ESEAL_NEW_PIN (a PIN being set), or from a prompt on the terminal; never from the\n"
    "command line.\n"
    "\n"
    "  init REF      create an application with an SO PIN and a user PIN\n"
    "  info REF      device information and, with an application, its PIN counters\n"
    "  gen REF       generate the container's signing key pair on the token\n"
    "  import REF    import a key pair made elsewhere (a GB/T 35291 key envelope)\n"
    "  cert REF      store or read the container's certificate\n"
    "  seal put|get REF  deliver a seal and its certificate into the token, or read them\n"
    "  unlock REF    reset a locked user PIN with the SO PIN\n"
    "  passwd REF    change the user PIN (or, with --so, the SO PIN)\n"
    "  list REF      list devices, applications and containers\n"
    "\n"
    "Run 'eseal token <subcommand> --help' for options and examples. The key in a token\n"
    "signs wherever a key is taken (--key skf:...). libsoftskf.so, built with eseal, is a\n"
    "token in files under $SOFTSKF_DIR (docs/keydev.md).\n"
    "\n"
    "example:\n"
    "  ESEAL_SO_PIN=... ESEAL_PIN=... eseal token init skf:libvendor.so#/SEAL\n"
    "  eseal token import skf:libvendor.so#/SEAL/SIGNER --key signer.key\n"
    "  eseal sign --seal seal.esl --key skf:libvendor.so#/SEAL/SIGNER --cert signer.crt \\\n"
    "      contract.pdf -o contract.sig\n";

static const char init_help[] =
    "usage: eseal token init skf:LIB#DEVICE/APPLICATION [--so-retries N] [--user-retries N]\n"
    "                        [--create-device]\n"
    "\n"
    "Creates the application (SKF_CreateApplication) with the SO PIN from ESEAL_SO_PIN and\n"
    "the user PIN from ESEAL_PIN (or prompts, asked twice). The retry counters default to 10\n"
    "(SO) and 6 (user); a PIN whose counter reaches 0 is locked. Some devices want device\n"
    "authentication first: use the vendor's tool for that.\n"
    "--create-device is for libsoftskf.so only: it plugs in a new software token by making\n"
    "the directory $SOFTSKF_DIR/DEVICE (the same as mkdir).\n"
    "\n"
    "example:\n"
    "  export SOFTSKF_DIR=$HOME/.softskf\n"
    "  eseal token init skf:libsoftskf.so#TOKEN1/SEAL --create-device\n"
    "  ESEAL_SO_PIN=... ESEAL_PIN=... eseal token init skf:/opt/vendor/libskf.so#/SEAL\n";

static const char info_help[] =
    "usage: eseal token info skf:LIB#DEVICE[/APPLICATION]\n"
    "\n"
    "Prints the device information (SKF_GetDevInfo), what the library can do, and with an\n"
    "application its PIN retry counters (SKF_GetPINInfo) and containers. Needs no PIN.\n"
    "\n"
    "example:\n"
    "  eseal token info skf:libsoftskf.so#TOKEN1/SEAL\n";

static const char gen_help[] =
    "usage: eseal token gen skf:LIB#DEVICE/APPLICATION/CONTAINER [-o PUB.pem]\n"
    "\n"
    "Generates the container's signing key pair on the token (SKF_GenECCKeyPair), creating\n"
    "the container when needed, and prints the public key (PEM). An existing signing key is\n"
    "never overwritten. The user PIN comes from ESEAL_PIN or a prompt.\n"
    "\n"
    "example:\n"
    "  eseal token gen skf:libsoftskf.so#TOKEN1/SEAL/SIGNER -o signer.pub\n";

static const char import_help[] =
    "usage: eseal token import skf:LIB#DEVICE/APPLICATION/CONTAINER\n"
    "                          (--key KEY.pem | --envelope FILE) [--replace]\n"
    "\n"
    "Imports an SM2 key pair made outside the token, wrapped as GB/T 35291 prescribes\n"
    "(ENVELOPEDKEYBLOB: the private key under a random SM4 key, that key SM2-encrypted to the\n"
    "container's signing public key; SKF_ImportECCKeyPair). With --key the envelope is made\n"
    "here from a PEM private key (passphrase from ESEAL_KEY_PASS when it is encrypted); when\n"
    "the container has no signing key yet, the token first generates one to receive it (a\n"
    "transport key). With --envelope the file is an ENVELOPEDKEYBLOB made elsewhere for this\n"
    "container. The imported key must then be the container's signing key; a device that\n"
    "keeps imported pairs as encryption keys only (GM/T 0016) cannot sign with it, and eseal\n"
    "says so. A container that holds a signing certificate is not imported into unless\n"
    "--replace is given. The user PIN comes from ESEAL_PIN or a prompt.\n"
    "\n"
    "example:\n"
    "  eseal token import skf:libsoftskf.so#TOKEN1/SEAL/SIGNER --key signer.key\n"
    "  eseal token import skf:libvendor.so#/SEAL/SIGNER --envelope signer.env\n";

static const char cert_help[] =
    "usage: eseal token cert skf:LIB#DEVICE/APPLICATION/CONTAINER --put CERT [--enc]\n"
    "       eseal token cert skf:LIB#DEVICE/APPLICATION/CONTAINER [-o CERT.der] [--enc]\n"
    "\n"
    "Stores a certificate (PEM or DER) in the container's signing certificate slot, or the\n"
    "encryption one with --enc (SKF_ImportCertificate; needs the user PIN), or reads it back\n"
    "(SKF_ExportCertificate): DER to -o, PEM on standard output.\n"
    "\n"
    "example:\n"
    "  eseal token cert skf:libsoftskf.so#TOKEN1/SEAL/SIGNER --put signer.crt\n"
    "  eseal token cert skf:libsoftskf.so#TOKEN1/SEAL/SIGNER -o signer.der\n";

static const char seal_help[] =
    "usage: eseal token seal put skf:LIB#DEVICE/APPLICATION/CONTAINER --seal SEAL.esl\n"
    "                            --cert CERT [--file NAME]\n"
    "       eseal token seal get skf:LIB#DEVICE/APPLICATION/CONTAINER [-o SEAL.esl]\n"
    "                            [--cert-out CERT.der] [--file NAME]\n"
    "\n"
    "Delivery to a USBKey (LD/T 01.1 7.5): put checks that CERT certifies the container's\n"
    "signing key (generated in the token: eseal key gen, eseal key csr) and that the seal names\n"
    "CERT, then stores CERT in the container's signing certificate slot and the seal in the\n"
    "application's file ESEAL (SKF_CreateFile / SKF_WriteFile; --file names another, at most\n"
    "32 bytes). It needs the user PIN (ESEAL_PIN). get reads both back and checks them\n"
    "against each other and the key (no PIN). `eseal ofd sign --key skf:...` without --seal\n"
    "and --cert takes them from the token.\n"
    "\n"
    "example:\n"
    "  eseal token seal put skf:libsoftskf.so#TOKEN1/SEAL/SIGNER --seal seal.esl --cert seal.crt\n"
    "  eseal token seal get skf:libsoftskf.so#TOKEN1/SEAL/SIGNER -o back.esl\n";

static const char unlock_help[] =
    "usage: eseal token unlock skf:LIB#DEVICE/APPLICATION\n"
    "\n"
    "Resets the user PIN with the SO PIN (SKF_UnblockPIN): the SO PIN from ESEAL_SO_PIN, the\n"
    "new user PIN from ESEAL_NEW_PIN (or prompts). The user PIN's counter is full again. A\n"
    "wrong SO PIN uses one of its own tries.\n"
    "\n"
    "example:\n"
    "  eseal token unlock skf:libsoftskf.so#TOKEN1/SEAL\n";

static const char passwd_help[] =
    "usage: eseal token passwd skf:LIB#DEVICE/APPLICATION [--so]\n"
    "\n"
    "Changes the user PIN (SKF_ChangePIN): the current one from ESEAL_PIN, the new one from\n"
    "ESEAL_NEW_PIN (or prompts). With --so, the SO PIN: the current one from ESEAL_SO_PIN.\n"
    "\n"
    "example:\n"
    "  eseal token passwd skf:libsoftskf.so#TOKEN1/SEAL\n";

static const char list_help[] =
    "usage: eseal token list skf:LIB[#DEVICE]\n"
    "\n"
    "Lists every device the library sees (or one), as DEVICE/APPLICATION/CONTAINER lines;\n"
    "an application without containers is DEVICE/APPLICATION/.\n"
    "\n"
    "example:\n"
    "  eseal token list skf:libsoftskf.so\n";

/* What a subcommand's reference must name. */
enum { REF_LIB, REF_APP, REF_CON };

/* Reads skf:LIB[#DEVICE[/APPLICATION[/CONTAINER]]] as far as the subcommand needs it. */
static int parse_ref(const char *text, int need, es_keyref *r)
{
    static const char *const forms[] = {"skf:LIB[#DEVICE]", "skf:LIB#DEVICE/APPLICATION",
                                        "skf:LIB#DEVICE/APPLICATION/CONTAINER"};
    memset(r, 0, sizeof *r);
    r->kind = ES_KEYDEV_SKF;
    if (strncmp(text, "skf:", 4) != 0) goto bad;
    const char *hash = strrchr(text + 4, '#');
    size_t pl = hash ? (size_t)(hash - text - 4) : strlen(text + 4);
    if (pl == 0 || pl >= sizeof r->path) goto bad;
    memcpy(r->path, text + 4, pl);
    if (!hash) {
        if (need == REF_LIB) return 0;
        goto bad;
    }
    const char *parts[3] = {hash + 1, NULL, NULL};
    char *fields[3] = {r->device, r->application, r->container};
    size_t caps[3] = {sizeof r->device, sizeof r->application, sizeof r->container};
    int n = 1;
    for (const char *p = hash + 1; *p; p++)
        if (*p == '/') {
            if (n == 3) goto bad;
            parts[n++] = p + 1;
        }
    for (int i = 0; i < n; i++) {
        size_t l = i + 1 < n ? (size_t)(parts[i + 1] - parts[i] - 1) : strlen(parts[i]);
        if (l >= caps[i] || (i > 0 && l == 0)) goto bad;
        memcpy(fields[i], parts[i], l);
        fields[i][l] = 0;
    }
    if ((need >= REF_APP && n < 2) || (need == REF_CON && n < 3)) goto bad;
    if (need == REF_LIB && n > 1) goto bad;
    return 0;
bad:
    return cli_error("%s: not a token reference (%s)", text, forms[need]);
}

/* Explains a failure, with what the device said. */
static int fail(const char *ref, es_err rv, int retries)
{
    const char *detail = es_keydev_last_error();
    int ret = cli_keydev_error(ref, rv, retries);
    /* cli_keydev_error names the device's words for the other codes already. */
    if (detail[0] && (rv == ES_ERR_NO_KEY || rv == ES_ERR_NOT_FOUND))
        fprintf(stderr, "eseal: (%s)\n", detail);
    return ret;
}

/* A new PIN: the variable, or asked twice on the terminal. */
static es_err confirm_get(void *ctx, const char *what, char *buf, size_t cap)
{
    es_secret_src src = cli_secret(ctx);
    if (getenv(ctx)) return src.get(src.ctx, what, buf, cap);
    char again[ES_SECRET_MAX], w2[512];
    es_err rv = src.get(src.ctx, what, buf, cap);
    snprintf(w2, sizeof w2, "%s (again)", what);
    if (rv == ES_OK) rv = src.get(src.ctx, w2, again, sizeof again);
    if (rv == ES_OK && strcmp(buf, again) != 0) {
        fprintf(stderr, "eseal: the two PINs differ\n");
        rv = ES_ERR_PIN;
    }
    es_wipe(again, sizeof again);
    if (rv != ES_OK) es_wipe(buf, cap);
    return rv;
}

static es_secret_src new_pin(const char *env)
{
    es_secret_src s = {confirm_get, (void *)env};
    return s;
}

/* Options every subcommand shares: REF, -o, --put, --key, --envelope, counters, flags. */
typedef struct opts {
    const char *ref, *out, *put, *key, *envelope, *seal, *cert, *cert_out, *file;
    long so_retries, user_retries;
    int create_device, enc, so, replace;
} opts;

static int parse_opts(int argc, char **argv, const char *usage, opts *o)
{
    memset(o, 0, sizeof *o);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char **val = strcmp(a, "-o") == 0           ? &o->out
                           : strcmp(a, "--put") == 0      ? &o->put
                           : strcmp(a, "--key") == 0      ? &o->key
                           : strcmp(a, "--envelope") == 0 ? &o->envelope
                           : strcmp(a, "--seal") == 0     ? &o->seal
                           : strcmp(a, "--cert") == 0     ? &o->cert
                           : strcmp(a, "--cert-out") == 0 ? &o->cert_out
                           : strcmp(a, "--file") == 0     ? &o->file
                                                          : NULL;
        long *num = strcmp(a, "--so-retries") == 0     ? &o->so_retries
                    : strcmp(a, "--user-retries") == 0 ? &o->user_retries
                                                       : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            return -1;
        } else if (val || num) {
            if (i + 1 == argc) return cli_error("%s needs a value", a);
            if (val) *val = argv[++i];
            if (num && cli_long(a, argv[++i], num)) return EXIT_USAGE;
            if (num && (*num < 1 || *num > 255)) return cli_error("%s: 1 to 255", a);
        } else if (strcmp(a, "--create-device") == 0) {
            o->create_device = 1;
        } else if (strcmp(a, "--enc") == 0) {
            o->enc = 1;
        } else if (strcmp(a, "--so") == 0) {
            o->so = 1;
        } else if (strcmp(a, "--replace") == 0) {
            o->replace = 1;
        } else if (a[0] == '-' && a[1]) {
            fputs(usage, stderr);
            return cli_error("unknown option %s", a);
        } else if (o->ref) {
            return cli_error("one reference at a time");
        } else {
            o->ref = a;
        }
    }
    if (!o->ref) {
        fputs(usage, stderr);
        return cli_error("missing REF");
    }
    return 0;
}

/* Opens the token of a reference; with --create-device, plugs in a softskf device first. */
static int open_token(const opts *o, const es_keyref *r, es_token **t)
{
    if (o->create_device) {
        const char *root = getenv("SOFTSKF_DIR");
        char path[4096];
        if (!root || !root[0])
            return cli_error("--create-device is for libsoftskf.so: set SOFTSKF_DIR");
        if (!r->device[0] || r->device[0] == '.')
            return cli_error("--create-device needs a device name (skf:LIB#DEVICE/APP)");
        snprintf(path, sizeof path, "%s/%s", root, r->device);
        if (mkdir(path, 0700) == 0)
            fprintf(stderr, "plugged in the software token %s\n", path);
        else if (errno != EEXIST)
            return cli_error("%s: %s", path, strerror(errno));
    }
    es_err rv = es_token_open(r, t);
    if (rv == ES_ERR_NOT_FOUND && !o->create_device && getenv("SOFTSKF_DIR"))
        fprintf(stderr,
                "eseal: (a libsoftskf.so device is a directory: mkdir $SOFTSKF_DIR/%s, "
                "or init --create-device)\n",
                r->device[0] ? r->device : "TOKEN1");
    return rv == ES_OK ? 0 : fail(o->ref, rv, -1);
}

static int login(const opts *o, es_token *t, const es_keyref *r)
{
    es_secret_src src = cli_secret("ESEAL_PIN");
    int retries = -1;
    es_err rv = es_token_login(t, r->application, &src, &retries);
    return rv == ES_OK ? 0 : fail(o->ref, rv, retries);
}

static int token_init(const opts *o, es_token *t, const es_keyref *r, const char *dev)
{
    es_secret_src so = new_pin("ESEAL_SO_PIN"), user = new_pin("ESEAL_PIN");
    es_err rv = es_token_app_create(t, r->application, &so, (unsigned)o->so_retries, &user,
                                    (unsigned)o->user_retries);
    if (rv == ES_ERR_EXISTS) return cli_error("%s: the application exists already", o->ref);
    if (rv == ES_ERR_PIN && strstr(es_keydev_last_error(), " given"))
        return cli_error("set ESEAL_SO_PIN and ESEAL_PIN, or run on a terminal");
    if (rv == ES_ERR_PIN)
        return cli_error("%s: the device refused a PIN (%s); libsoftskf.so takes 6 to 32 "
                         "characters",
                         o->ref, es_keydev_last_error());
    if (rv != ES_OK) return fail(o->ref, rv, -1);
    es_token_pin u, s;
    if (es_token_pin_info(t, r->application, 0, &u) == ES_OK &&
        es_token_pin_info(t, r->application, 1, &s) == ES_OK)
        printf("created %s/%s: user PIN %u tries, SO PIN %u tries\n", dev, r->application,
               u.max_retries, s.max_retries);
    else
        printf("created %s/%s\n", dev, r->application);
    return 0;
}

static void print_pin(const char *what, const es_token_pin *p)
{
    printf("%-13s %u of %u tries left%s\n", what, p->remaining, p->max_retries,
           p->remaining == 0 ? " (locked)" : "");
}

static int token_info(const opts *o, es_token *t, const es_keyref *r, const char *dev)
{
    es_token_info ti;
    es_err rv = es_token_info_get(t, &ti);
    if (rv != ES_OK) return fail(o->ref, rv, -1);
    printf("device        %s\nmanufacturer  %s\nissuer        %s\nlabel         %s\n"
           "serial        %s\nversion       %u.%u (hardware %u.%u, firmware %u.%u)\n"
           "algorithms    symmetric 0x%08lx, asymmetric 0x%08lx, hash 0x%08lx\n"
           "space         %lu of %lu bytes free\n"
           "generate      %s\nimport        %s\ndecrypt       %s\nadminister    %s\n",
           ti.device, ti.manufacturer, ti.issuer, ti.label, ti.serial, ti.version[0], ti.version[1],
           ti.hw_version[0], ti.hw_version[1], ti.fw_version[0], ti.fw_version[1],
           (unsigned long)ti.alg_sym, (unsigned long)ti.alg_asym, (unsigned long)ti.alg_hash,
           (unsigned long)ti.free_space, (unsigned long)ti.total_space,
           ti.can_generate ? "yes" : "no", ti.can_import ? "yes" : "no",
           ti.can_decrypt ? "yes (SKF_ECCDecrypt)" : "no", ti.can_admin ? "yes" : "no");
    if (!r->application[0]) return 0;
    es_token_pin u, s;
    if ((rv = es_token_pin_info(t, r->application, 0, &u)) != ES_OK ||
        (rv = es_token_pin_info(t, r->application, 1, &s)) != ES_OK)
        return fail(o->ref, rv, -1);
    printf("application   %s\n", r->application);
    print_pin("user PIN", &u);
    print_pin("SO PIN", &s);
    es_buf list;
    es_buf_init(&list, 1 << 20);
    char prefix[2 * ES_KEYREF_MAX_NAME + 2];
    snprintf(prefix, sizeof prefix, "%s/%s/", dev, r->application);
    if ((rv = es_token_list(t, 0, &list)) == ES_OK && (rv = es_buf_nul(&list)) == ES_OK) {
        size_t n = 0, pl = strlen(prefix);
        printf("containers   ");
        for (char *line = (char *)list.p, *nl; *line; line = nl + 1) {
            nl = strchr(line, '\n');
            *nl = 0;
            if (strncmp(line, prefix, pl) == 0) printf("%s %s", n++ ? "," : "", line + pl);
        }
        printf("%s\n", n ? "" : " (none)");
    }
    es_buf_cleanup(&list);
    return rv == ES_OK ? 0 : fail(o->ref, rv, -1);
}

static int token_gen(const opts *o, es_token *t, const es_keyref *r, const char *dev)
{
    uint8_t pub[ES_SM2_PUB_LEN];
    if (login(o, t, r)) return EXIT_USAGE;
    es_err rv = es_token_generate(t, r, pub);
    if (rv == ES_ERR_EXISTS)
        return cli_error("%s: the container has a signing key already; it is never overwritten",
                         o->ref);
    if (rv != ES_OK) return fail(o->ref, rv, -1);
    fprintf(stderr, "generated the signing key pair of %s/%s/%s\n", dev, r->application,
            r->container);
    return cli_print_pub(pub, o->out);
}

/* A container whose signing key is certified is not imported into by accident. */
static int check_uncertified(const opts *o, es_token *t, const es_keyref *r)
{
    es_buf c;
    es_buf_init(&c, ES_MAX_CERT_DER);
    es_err rv = o->replace ? ES_ERR_NO_KEY : es_token_get_cert(t, r, 1, &c);
    es_buf_cleanup(&c);
    if (rv == ES_OK)
        return cli_error("%s: the container holds a signing certificate; --replace imports "
                         "over its key anyway",
                         o->ref);
    return 0;
}

static int token_import(const opts *o, es_token *t, const es_keyref *r, const char *dev)
{
    if (!o->key == !o->envelope) return cli_error("import takes --key KEY.pem or --envelope FILE");
    int ret = EXIT_USAGE;
    es_sm2_key *k = NULL;
    es_buf blob, file;
    uint8_t wrap[ES_SM2_PUB_LEN], pub[ES_SM2_PUB_LEN];
    es_buf_init(&blob, 4096);
    es_buf_init(&file, 0);
    if (login(o, t, r) || check_uncertified(o, t, r)) goto out;
    es_err rv;
    if (o->key) {
        if (cli_read(o->key, ES_MAX_KEY_FILE, &file)) goto out;
        const char *pass = getenv("ESEAL_KEY_PASS");
        if (es_sm2_key_from_pem(file.p, file.len, pass, &k) != ES_OK) {
            cli_error("%s: not an SM2 private key%s", o->key,
                      pass ? "" : " (if it is encrypted, set ESEAL_KEY_PASS)");
            goto out;
        }
        /* The envelope goes to the container's signing key; a container without one gets a
         * transport key pair from the token first. */
        rv = es_token_public_key(t, r, 1, wrap);
        if (rv == ES_ERR_NO_KEY) {
            if ((rv = es_token_generate(t, r, wrap)) != ES_OK) {
                ret = fail(o->ref, rv, -1);
                goto out;
            }
            fprintf(stderr,
                    "%s/%s/%s had no signing key: the token generated one to receive "
                    "the envelope\n",
                    dev, r->application, r->container);
        } else if (rv != ES_OK) {
            ret = fail(o->ref, rv, -1);
            goto out;
        }
        if ((rv = es_token_envelope(k, wrap, &blob)) != ES_OK) {
            cli_error("cannot make the envelope: %s", es_err_str(rv));
            goto out;
        }
    } else if (cli_read(o->envelope, 4096, &blob)) {
        goto out;
    }
    rv = es_token_import(t, r, blob.p, blob.len);
    if (rv == ES_ERR_UNSUPPORTED) {
        cli_error("%s: %s", o->ref, es_keydev_last_error());
        cli_error("generate the seal key on the token instead (eseal token gen) and have its "
                  "certificate issued for that key");
        goto out;
    }
    if (rv == ES_ERR_FORMAT) {
        cli_error("%s: %s", o->envelope ? o->envelope : "envelope", es_keydev_last_error());
        goto out;
    }
    if (rv != ES_OK) {
        ret = fail(o->ref, rv, -1);
        if (rv == ES_ERR_DEVICE && o->envelope)
            fprintf(stderr, "eseal: (an envelope opens only with the signing key of the "
                            "container it was made for)\n");
        goto out;
    }
    if ((rv = es_token_public_key(t, r, 1, pub)) != ES_OK) {
        ret = fail(o->ref, rv, -1);
        goto out;
    }
    fprintf(stderr, "imported into %s/%s/%s: its signing key is\n", dev, r->application,
            r->container);
    ret = cli_print_pub(pub, o->out);
out:
    es_sm2_key_free(k);
    es_buf_cleanup_secret(&file);
    es_buf_cleanup(&blob);
    return ret;
}

static int token_cert(const opts *o, es_token *t, const es_keyref *r, const char *dev)
{
    (void)dev;
    es_buf b;
    int ret = EXIT_USAGE;
    es_err rv;
    if (o->put) {
        if (cli_load_cert(o->put, &b)) return EXIT_USAGE;
        if (!login(o, t, r)) {
            rv = es_token_put_cert(t, r, !o->enc, es_slice_make(b.p, b.len));
            ret = rv == ES_OK ? 0 : fail(o->ref, rv, -1);
        }
    } else {
        es_buf_init(&b, ES_MAX_CERT_DER);
        rv = es_token_get_cert(t, r, !o->enc, &b);
        if (rv == ES_ERR_NO_KEY) {
            ret = cli_error("%s: no %s certificate", o->ref, o->enc ? "encryption" : "signing");
            fprintf(stderr, "eseal: (%s)\n", es_keydev_last_error());
        } else if (rv != ES_OK)
            ret = fail(o->ref, rv, -1);
        else
            ret = o->out ? cli_write(o->out, b.p, b.len)
                         : cli_print_pem("CERTIFICATE", b.p, b.len, NULL);
    }
    es_buf_cleanup(&b);
    return ret;
}

/* seal put | get: the action is the first argument after "seal" (g_seal_action). */
static const char *g_seal_action;

static int token_seal(const opts *o, es_token *t, const es_keyref *r, const char *dev)
{
    char why[256] = "";
    es_buf cert, seal;
    int ret = EXIT_USAGE;
    es_err rv;
    es_buf_init(&cert, ES_MAX_CERT_DER);
    es_buf_init(&seal, ES_MAX_SEAL_DER);
    if (strcmp(g_seal_action, "put") == 0) {
        if (!o->seal || !o->cert) {
            fputs(seal_help, stderr);
            ret = cli_error("seal put needs --seal and --cert");
            goto out;
        }
        es_buf_cleanup(&cert);
        es_buf_cleanup(&seal);
        if (cli_read(o->seal, ES_MAX_SEAL_DER, &seal) || cli_load_cert(o->cert, &cert)) goto out;
        if (login(o, t, r)) goto out;
        rv = es_token_seal_put(t, r, o->file, es_slice_make(cert.p, cert.len),
                               es_slice_make(seal.p, seal.len), why, sizeof why);
        if (rv != ES_OK) {
            ret = cli_error("%s: %s: %s", o->ref, es_err_str(rv), why);
            fprintf(stderr, "eseal: %s\n", es_err_str_zh(rv));
            if (rv != ES_ERR_ARG) ret = EXIT_FAILED;
            goto out;
        }
        printf("delivered: the certificate into %s/%s/%s, the seal into the file %s of %s\n", dev,
               r->application, r->container, o->file ? o->file : ES_TOKEN_SEAL_FILE,
               r->application);
        ret = 0;
    } else {
        rv = es_token_seal_get(t, r, o->file, &cert, &seal, why, sizeof why);
        if (rv != ES_OK) {
            cli_error("%s: %s: %s", o->ref, es_err_str(rv), why);
            fprintf(stderr, "eseal: %s\n", es_err_str_zh(rv));
            ret = EXIT_FAILED;
            goto out;
        }
        ret = o->cert_out ? cli_write(o->cert_out, cert.p, cert.len) : 0;
        if (!ret) ret = cli_emit(o->out, seal.p, seal.len);
    }
out:
    es_buf_cleanup(&cert);
    es_buf_cleanup(&seal);
    return ret;
}

/* Failures of an SO PIN check. */
static int so_error(const opts *o, es_err rv, int retries)
{
    if (rv == ES_ERR_PIN && retries >= 0)
        return cli_error("%s: wrong SO PIN, %d %s left", o->ref, retries,
                         retries == 1 ? "try" : "tries");
    if (rv == ES_ERR_PIN_LOCKED)
        return cli_error("%s: the SO PIN is locked; only re-initialising the token (the "
                         "vendor's tool) helps now",
                         o->ref);
    if (rv == ES_ERR_PIN && strstr(es_keydev_last_error(), " given"))
        return cli_error("set ESEAL_SO_PIN and ESEAL_NEW_PIN, or run on a terminal");
    return fail(o->ref, rv, retries);
}

static int token_unlock(const opts *o, es_token *t, const es_keyref *r, const char *dev)
{
    es_secret_src so = cli_secret("ESEAL_SO_PIN"), user = new_pin("ESEAL_NEW_PIN");
    int retries = -1;
    es_err rv = es_token_unblock(t, r->application, &so, &user, &retries);
    if (rv != ES_OK) return so_error(o, rv, retries);
    es_token_pin p;
    if (es_token_pin_info(t, r->application, 0, &p) == ES_OK)
        printf("the user PIN of %s/%s is set: %u of %u tries\n", dev, r->application, p.remaining,
               p.max_retries);
    else
        printf("the user PIN of %s/%s is set\n", dev, r->application);
    return 0;
}

static int token_passwd(const opts *o, es_token *t, const es_keyref *r, const char *dev)
{
    es_secret_src old = cli_secret(o->so ? "ESEAL_SO_PIN" : "ESEAL_PIN"),
                  newp = new_pin("ESEAL_NEW_PIN");
    int retries = -1;
    es_err rv = es_token_change_pin(t, r->application, o->so, &old, &newp, &retries);
    if (rv != ES_OK && o->so) return so_error(o, rv, retries);
    if (rv == ES_ERR_PIN && strstr(es_keydev_last_error(), " given"))
        return cli_error("set ESEAL_PIN and ESEAL_NEW_PIN, or run on a terminal");
    if (rv != ES_OK) return fail(o->ref, rv, retries);
    printf("the %s PIN of %s/%s is changed\n", o->so ? "SO" : "user", dev, r->application);
    return 0;
}

static int list_device(const opts *o, const es_keyref *r)
{
    es_token *t = NULL;
    es_buf b;
    es_err rv = es_token_open(r, &t);
    if (rv != ES_OK) return fail(o->ref, rv, -1);
    es_buf_init(&b, 1 << 20);
    if ((rv = es_token_list(t, 1, &b)) == ES_OK) cli_out(b.p, b.len);
    es_buf_cleanup(&b);
    es_token_close(t);
    return rv == ES_OK ? 0 : fail(o->ref, rv, -1);
}

static int token_list(const opts *o, es_keyref *r)
{
    if (r->device[0]) return list_device(o, r);
    es_buf names;
    es_buf_init(&names, 1 << 20);
    es_err rv = es_token_devices(r->path, &names);
    int ret = 0;
    if (rv == ES_OK) rv = es_buf_nul(&names);
    if (rv != ES_OK) {
        ret = fail(o->ref, rv, -1);
    } else if (names.len == 0) {
        fprintf(stderr, "no device present\n");
    } else {
        for (char *line = (char *)names.p, *nl; *line && !ret; line = nl + 1) {
            nl = strchr(line, '\n');
            *nl = 0;
            snprintf(r->device, sizeof r->device, "%s", line);
            ret = list_device(o, r);
        }
    }
    es_buf_cleanup(&names);
    return ret;
}

static const struct {
    const char *name;
    const char *help;
    int need;
    int (*run)(const opts *o, es_token *t, const es_keyref *r, const char *dev);
} subs[] = {
    {"init", init_help, REF_APP, token_init},
    {"info", info_help, REF_LIB, token_info},
    {"gen", gen_help, REF_CON, token_gen},
    {"import", import_help, REF_CON, token_import},
    {"cert", cert_help, REF_CON, token_cert},
    {"seal", seal_help, REF_CON, token_seal},
    {"unlock", unlock_help, REF_APP, token_unlock},
    {"passwd", passwd_help, REF_APP, token_passwd},
    {"list", list_help, REF_LIB, NULL},
};

int cmd_token(int argc, char **argv)
{
    int ret = cli_sub_help(argc, argv, help);
    if (ret >= 0) return ret;
    size_t i = 0;
    while (i < sizeof subs / sizeof subs[0] && strcmp(argv[1], subs[i].name) != 0) i++;
    if (i == sizeof subs / sizeof subs[0]) {
        fputs(help, stderr);
        return cli_error("unknown subcommand 'token %s'", argv[1]);
    }
    opts o;
    es_keyref r;
    if (subs[i].run == token_seal) {
        /* eseal token seal put|get REF ...: the action first. */
        if (argc < 3 || cli_wants_help(argc - 1, argv + 1)) {
            fputs(seal_help, argc < 3 ? stderr : stdout);
            return argc < 3 ? cli_error("seal needs put or get") : 0;
        }
        if (strcmp(argv[2], "put") != 0 && strcmp(argv[2], "get") != 0) {
            fputs(seal_help, stderr);
            return cli_error("seal put or seal get, not '%s'", argv[2]);
        }
        g_seal_action = argv[2];
        argc--;
        argv++;
    }
    ret = parse_opts(argc - 1, argv + 1, subs[i].help, &o);
    if (ret) return ret < 0 ? 0 : ret;
    /* info takes a device and, optionally, an application. */
    int need = subs[i].need;
    if (strcmp(subs[i].name, "info") == 0 && strchr(o.ref, '#') && strchr(strchr(o.ref, '#'), '/'))
        need = REF_APP;
    if (parse_ref(o.ref, need, &r)) return EXIT_USAGE;
    if (!subs[i].run) return token_list(&o, &r);
    es_token *t = NULL;
    if (open_token(&o, &r, &t)) return EXIT_USAGE;
    es_token_info ti;
    char dev[ES_KEYREF_MAX_NAME];
    snprintf(dev, sizeof dev, "%s", es_token_info_get(t, &ti) == ES_OK ? ti.device : r.device);
    ret = subs[i].run(&o, t, &r, dev);
    es_token_close(t);
    return ret;
}
