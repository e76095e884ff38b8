/* eseal ca init | issue | revoke | crl | list | show: the certification authority
 * (docs/ca.md). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "eseal/castore.h"
#include "eseal/keydev.h"
#include "eseal/pki.h"

/* Exit status of a refusal: the request was understood and fails the CA's checks. */
#define EXIT_REFUSED EXIT_FAILED

static const char ca_help[] =
    "usage: eseal ca <init|issue|revoke|crl|list|show> --dir DIR [--store URL] ...\n"
    "\n"
    "A certification authority: the seal root (or an intermediate), seal certificates,\n"
    "maker- and status-system certificates, user certificates, CRLs. Its key and\n"
    "configuration are in DIR; its state (certificates issued, revocations, CRL numbers) in\n"
    "DIR/ca.db, or with --store URL in a daemon's store (sqlite:PATH, postgresql://...):\n"
    "writes there are audited and need --audit-key REF (PIN from ESEAL_AUDIT_PIN). A CA\n"
    "directory of an older eseal (index.txt) is imported on first use. A write while another\n"
    "process holds the CA is refused at once: \"the CA is in use by another process\".\n"
    "\n"
    "  init     create a CA: key, self-signed (or parent-signed) certificate, profiles\n"
    "  issue    issue a certificate from a PKCS#10 request or a public key, after lint\n"
    "  revoke   mark a certificate revoked, with an RFC 5280 reason\n"
    "  crl      sign a full CRL of every revoked certificate\n"
    "  list     print every certificate issued\n"
    "  show     print one certificate (PEM) and its status\n"
    "\n"
    "The CA key is a key reference (soft:DIR#NAME, sdf:LIB#INDEX, skf:LIB#DEV/APP/CON); its\n"
    "PIN or passphrase comes from ESEAL_PIN. Run 'eseal ca <subcommand> --help' for details.\n"
    "Exit status: 0 done, 1 refused (lint, bad request signature, already revoked),\n"
    "3 usage, key or I/O error.\n"
    "\n"
    "example:\n"
    "  eseal ca init --dir ca --key soft:keys#root --generate-key \\\n"
    "      --subject '/C=CN/O=某省人力资源和社会保障厅/CN=某省人社电子印章根'\n"
    "  eseal ca issue --dir ca --profile seal --csr seal.csr -o seal.crt\n";

static const char init_help[] =
    "usage: eseal ca init --dir DIR --key REF --subject SUBJECT [--days N] [--profile NAME]\n"
    "                     [--profiles FILE] [--generate-key] [--parent DIR [--intermediate]]\n"
    "                     [--crl-url URL] [--crl-days N]\n"
    "\n"
    "Creates a CA in DIR (made when missing; refused when it holds a CA already): ca.crt,\n"
    "profiles.conf and config (its state starts in DIR/ca.db). Without --parent the certificate "
    "is\n"
    "self-signed under profile 'root'; with --parent DIR (or --intermediate --parent DIR)\n"
    "the CA in that directory issues it under its profile 'intermediate' and records it,\n"
    "and DIR/chain.crt holds the issuers. The subject is written /C=CN/O=.../CN=...\n"
    "\n"
    "  --key REF        the CA key (soft:DIR#NAME, sdf:LIB#INDEX, skf:LIB#DEV/APP/CON);\n"
    "                   PIN or passphrase from ESEAL_PIN\n"
    "  --generate-key   generate the key pair at REF first (soft: passphrase of 8+ chars)\n"
    "  --profiles FILE  the profiles to keep in DIR (default: the built-in etc/profiles.conf)\n"
    "  --parent DIR     the issuing CA; its PIN from ESEAL_PARENT_PIN, else ESEAL_PIN\n"
    "  --crl-url URL    where CRLs are published: put in cRLDistributionPoints\n"
    "  --crl-days N     CRL validity (default 7)\n"
    "\n"
    "example:\n"
    "  ESEAL_PIN=passphrase eseal ca init --dir root --key soft:keys#root --generate-key \\\n"
    "      --subject '/C=CN/O=人力资源和社会保障部/CN=人社电子印章根' --days 7300\n"
    "  eseal ca init --dir prov --key soft:keys#prov --generate-key --intermediate \\\n"
    "      --parent root --subject "
    "'/C=CN/ST=福建省/O=福建省人力资源和社会保障厅/CN=福建人社印章CA'\n";

static const char issue_help[] =
    "usage: eseal ca issue --dir DIR --profile NAME (--csr FILE | --pubkey FILE)\n"
    "                      [--subject SUBJECT] [--san TYPE:VALUE ...] [--seal-source S]\n"
    "                      [--days N] [--der] -o OUT.crt\n"
    "\n"
    "Issues a certificate under a profile of DIR/profiles.conf (root, intermediate, seal,\n"
    "maker-system, status-system, user, or your own). The key comes from a PKCS#10 request\n"
    "(its SM2 signature is checked with the default ID: openssl req -sm3 -sigopt\n"
    "distid:1234567812345678) or from a PEM public key. The subject is the request's unless\n"
    "--subject names one; the subjectAltNames are the request's unless --san is given.\n"
    "Lint runs first; a request that fails is refused with every failure listed (exit 1).\n"
    "\n"
    "The seal profile's subject (one certificate per seal; profiles.conf [seal]):\n"
    "  C   required: a two-letter ISO 3166 code (CN)\n"
    "  O   required: the holder's 18-character unified social credit code (GB 32100, its\n"
    "      18th character a check character that lint verifies) immediately followed by\n"
    "      the unit's name, e.g. O=12370000MB0000000Y某某市人力资源和社会保障局\n"
    "  CN  required: the seal code, 14 digits (the national code: division code + serial),\n"
    "      or an industry code matching the profile's code_pattern (^RS[0-9]{14}$)\n"
    "  ST, L, OU  allowed; any other attribute is refused. Each appears once (OU may\n"
    "      repeat), without leading or trailing spaces or control characters, at most 64\n"
    "      characters (ST and L 128)\n"
    "\n"
    "  --san TYPE:VALUE   IP:10.0.0.1, DNS:host.example, URI:https://10.0.0.1:8443/,\n"
    "                     email:a@b.example (repeatable; system profiles need a URI port)\n"
    "  --seal-source S    government or hrss (印章来源; the seal profile defaults to hrss)\n"
    "  --der              write DER instead of PEM\n"
    "\n"
    "example:\n"
    "  eseal ca issue --dir ca --profile seal --csr seal.csr -o seal.crt\n"
    "  eseal ca issue --dir ca --profile seal --pubkey seal.pub \\\n"
    "      --subject '/C=CN/O=12370000MB0000000Y某某市人力资源和社会保障局/CN=37030000000001' \\\n"
    "      -o seal.crt\n"
    "  eseal ca issue --dir ca --profile maker-system --pubkey maker.pub \\\n"
    "      --subject '/C=CN/ST=福建省/O=福建省人力资源和社会保障厅/CN=福建省电子印章制作系统' \\\n"
    "      --san IP:10.1.2.3 --san URI:https://10.1.2.3:8443/ -o maker.crt\n";

static const char revoke_help[] =
    "usage: eseal ca revoke --dir DIR SERIAL [--reason REASON]\n"
    "\n"
    "Marks a certificate this CA issued revoked (the next CRL lists it). SERIAL is hex as\n"
    "'eseal ca list' or 'openssl x509 -serial' print it. REASON is an RFC 5280 name:\n"
    "unspecified (default), keyCompromise, cACompromise, affiliationChanged, superseded,\n"
    "cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise. A certificate\n"
    "on hold may be revoked again with another reason. removeFromCRL releases a certificate\n"
    "on hold: valid again, the next CRL leaves it out.\n"
    "\n"
    "examples:\n"
    "  eseal ca revoke --dir ca 5a0f3c... --reason keyCompromise\n"
    "  eseal ca revoke --dir ca 5a0f3c... --reason certificateHold\n"
    "  eseal ca revoke --dir ca 5a0f3c... --reason removeFromCRL\n";

static const char crl_help[] =
    "usage: eseal ca crl --dir DIR -o OUT.crl [--days N] [--sm2-id ID] [--der] [--delta]\n"
    "\n"
    "Signs a full version 2 CRL of every revoked certificate, with the next cRLNumber,\n"
    "authorityKeyIdentifier, thisUpdate now and nextUpdate after N days (default: the CA's\n"
    "crl_days). The CRL is kept in the CA's state. The signature uses the GB/T 35276 default SM2\n"
    "ID unless --sm2-id says otherwise; --sm2-id '' signs with the empty ID, the only one\n"
    "OpenSSL 3.0 verifies CRLs with (openssl verify -crl_check, openssl crl -CAfile).\n"
    "--delta signs a delta CRL (RFC 5280 5.2.4) against the last full CRL instead: the\n"
    "certificates revoked since, and those it lists that are valid again (removeFromCRL),\n"
    "with deltaCRLIndicator naming the full CRL's number (openssl verify -crl_check\n"
    "-use_deltas reads both).\n"
    "\n"
    "example:\n"
    "  eseal ca crl --dir ca -o ca.crl --days 7\n"
    "  eseal ca crl --dir ca -o ca-delta.crl --days 1 --delta\n";

static const char show_help[] =
    "usage: eseal ca show --dir DIR [--store URL] SERIAL [-o OUT.crt] [--der]\n"
    "\n"
    "Prints the status of a certificate this CA issued on stderr and the certificate (PEM) on\n"
    "standard output or in OUT.crt. Exit status 1 when it is revoked.\n"
    "\n"
    "example:\n"
    "  eseal ca show --dir ca 5a0f3c... -o seal.crt\n";

static const char list_help[] =
    "usage: eseal ca list --dir DIR [--store URL]\n"
    "\n"
    "Prints the CA certificate and one line per certificate issued: serial, status (valid,\n"
    "revoked, expired), notAfter, revocation time and reason, profile and subject.\n"
    "\n"
    "example:\n"
    "  eseal ca list --dir ca\n";

/* --store URL and --audit-key REF, taken by every subcommand. */
static const char *g_store, *g_audit_key;
static es_signer *g_audit;

static int common_opt(int c)
{
    if (c == 'U') {
        g_store = optarg;
        return 1;
    }
    if (c == 'A') {
        g_audit_key = optarg;
        return 1;
    }
    return 0;
}

#define COMMON_OPTS                                                                                \
    {"store", required_argument, 0, 'U'},                                                          \
    {                                                                                              \
        "audit-key", required_argument, 0, 'A'                                                     \
    }

static int busy(const char *dir)
{
    return cli_error("%s: the CA is in use by another process: try again shortly", dir);
}

/* Opens the CA with its state in DIR/ca.db or the --store; write: it will change the state
 * (a daemon's store then needs the audit key). */
static int open_ca_mode(const char *dir, es_ca **ca, int write)
{
    char why[256] = "", actor[128];
    es_err rv;
    if (g_store) {
        char index[4096];
        snprintf(index, sizeof index, "%s/index.txt", dir);
        if (!g_audit_key && access(index, F_OK) == 0)
            return cli_error("%s/index.txt would be imported into the store, an audited change: "
                             "give --audit-key REF",
                             dir);
        if (write && !g_audit_key)
            return cli_error("--store: changes to a daemon's store are audited: give --audit-key "
                             "REF (the site's audit key; PIN from ESEAL_AUDIT_PIN)");
        if (g_audit_key && !g_audit) {
            es_secret_src pin = cli_secret("ESEAL_AUDIT_PIN");
            if ((rv = es_keydev_signer(g_audit_key, &pin, &g_audit)) != ES_OK)
                return cli_keydev_error(g_audit_key, rv, -1);
        }
        const char *user = getenv("USER");
        snprintf(actor, sizeof actor, "eseal-ca:%.100s", user && *user ? user : "cli");
        rv = es_ca_open_url(dir, g_store, g_audit, actor, ca, why, sizeof why);
    } else {
        rv = es_ca_open(dir, ca, why, sizeof why);
    }
    if (rv == ES_OK) return 0;
    if (rv == ES_ERR_NOT_FOUND && !why[0])
        return cli_error("%s: no CA here (create one with 'eseal ca init --dir %s')", dir, dir);
    if (rv == ES_ERR_BUSY) return busy(dir);
    return cli_error("%s: %s", dir, why[0] ? why : es_err_str(rv));
}

static int open_ca(const char *dir, es_ca **ca)
{
    return open_ca_mode(dir, ca, 1);
}

static int login(es_ca *ca, const char *dir, const char *env)
{
    es_secret_src pin = es_secret_env(env);
    es_err rv = es_ca_login(ca, &pin);
    if (rv == ES_OK) return 0;
    const char *ref = es_ca_key_ref(ca);
    if (rv == ES_ERR_PIN)
        return cli_error("%s: wrong or missing PIN/passphrase for the CA key %s (set %s)", dir, ref,
                         env ? env : "ESEAL_PIN");
    if (rv == ES_ERR_KEY_MISMATCH)
        return cli_error("%s: the key %s does not belong to %s/ca.crt", dir, ref, dir);
    return cli_error("%s: cannot use the CA key %s: %s", dir, ref, es_err_str(rv));
}

static int print_lint(const es_pki_lint *l)
{
    fprintf(stderr, "eseal: refused: %zu check%s failed:\n", l->n, l->n == 1 ? "" : "s");
    for (size_t i = 0; i < l->n && i < ES_PKI_LINT_MAX; i++) fprintf(stderr, "  - %s\n", l->msg[i]);
    return EXIT_REFUSED;
}

static int parse_subject(const char *text, es_name *out)
{
    char why[256];
    if (es_pki_name_parse(text, out, why, sizeof why) != ES_OK)
        return cli_error("--subject: %s", why);
    return 0;
}

/* Writes DER or PEM. */
static int write_out(const char *path, const char *label, es_slice der, int as_der)
{
    return as_der ? cli_write(path, der.p, der.len) : cli_print_pem(label, der.p, der.len, path);
}

static int ca_init(int argc, char **argv)
{
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'},      {"key", required_argument, 0, 'k'},
        {"subject", required_argument, 0, 's'},  {"days", required_argument, 0, 'D'},
        {"profile", required_argument, 0, 'p'},  {"profiles", required_argument, 0, 'P'},
        {"generate-key", no_argument, 0, 'g'},   {"parent", required_argument, 0, 'r'},
        {"intermediate", no_argument, 0, 'i'},   {"crl-url", required_argument, 0, 'u'},
        {"crl-days", required_argument, 0, 'c'}, COMMON_OPTS,
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    es_ca_init_params p;
    memset(&p, 0, sizeof p);
    const char *subject = NULL, *profiles = NULL, *parent = NULL;
    int intermediate = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            p.dir = optarg;
            break;
        case 'k':
            p.key_ref = optarg;
            break;
        case 's':
            subject = optarg;
            break;
        case 'D':
            if (cli_long("--days", optarg, &p.days)) return EXIT_USAGE;
            break;
        case 'p':
            p.profile = optarg;
            break;
        case 'P':
            profiles = optarg;
            break;
        case 'g':
            p.generate_key = 1;
            break;
        case 'r':
            parent = optarg;
            break;
        case 'i':
            intermediate = 1;
            break;
        case 'u':
            p.crl_url = optarg;
            break;
        case 'c':
            if (cli_long("--crl-days", optarg, &p.crl_days)) return EXIT_USAGE;
            break;
        case 'U':
        case 'A':
            common_opt(c);
            break;
        case 'h':
            fputs(init_help, stdout);
            return 0;
        default:
            fputs(init_help, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) return cli_error("unexpected argument '%s'", argv[optind]);
    const char *missing = !p.dir ? "--dir" : !p.key_ref ? "--key" : !subject ? "--subject" : NULL;
    if (missing) {
        fputs(init_help, stderr);
        return cli_error("missing %s", missing);
    }
    if (intermediate && !parent) return cli_error("--intermediate needs --parent DIR");
    if (p.crl_days > 3650) return cli_error("--crl-days: at most 3650");
    es_name name;
    if (parse_subject(subject, &name)) return EXIT_USAGE;
    p.subject = &name;

    int ret = EXIT_USAGE;
    es_buf prof;
    es_buf_init(&prof, 0);
    es_ca *par = NULL;
    if (profiles) {
        if (cli_read(profiles, ES_PKI_MAX_PROFILES_FILE, &prof)) return EXIT_USAGE;
        p.profiles = es_slice_make(prof.p, prof.len);
    }
    if (parent) {
        if (open_ca(parent, &par) ||
            login(par, parent, getenv("ESEAL_PARENT_PIN") ? "ESEAL_PARENT_PIN" : NULL))
            goto out;
        p.parent = par;
    }
    es_secret_src pin = es_secret_env(NULL);
    p.pin = &pin;
    es_pki_lint lint;
    es_err rv = es_ca_init(&p, &lint);
    if (rv == ES_ERR_LINT) {
        ret = print_lint(&lint);
    } else if (rv == ES_ERR_EXISTS) {
        cli_error("%s already holds a CA%s", p.dir,
                  p.generate_key ? " (or the key to generate exists already)" : "");
    } else if (rv == ES_ERR_PIN) {
        cli_error("wrong or missing PIN/passphrase for %s (set ESEAL_PIN%s)", p.key_ref,
                  p.generate_key ? "; a soft key needs 8 characters at least" : "");
    } else if (rv != ES_OK) {
        if (lint.n)
            cli_error("%s", lint.msg[0]);
        else
            cli_error("cannot create the CA in %s: %s", p.dir, es_err_str(rv));
    } else {
        es_ca *ca = NULL;
        char why[256];
        if (es_ca_load(p.dir, &ca, why, sizeof why) == ES_OK) {
            es_cert_info ci;
            if (es_cert_parse(es_ca_cert(ca), &ci) == ES_OK) {
                fprintf(stderr, "created CA in %s: %s (serial %s)\n", p.dir, ci.subject, ci.serial);
                es_cert_info_cleanup(&ci);
            }
            es_ca_close(ca);
            ret = 0;
        }
    }
out:
    es_ca_close(par);
    es_buf_cleanup(&prof);
    return ret;
}

static int ca_issue(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'},
                                         {"profile", required_argument, 0, 'p'},
                                         {"csr", required_argument, 0, 'c'},
                                         {"pubkey", required_argument, 0, 'k'},
                                         {"subject", required_argument, 0, 's'},
                                         {"san", required_argument, 0, 'a'},
                                         {"seal-source", required_argument, 0, 'S'},
                                         {"days", required_argument, 0, 'D'},
                                         {"der", no_argument, 0, 'r'},
                                         {"output", required_argument, 0, 'o'},
                                         COMMON_OPTS,
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *dir = NULL, *csr = NULL, *pubkey = NULL, *subject = NULL, *out = NULL;
    es_ca_request req;
    memset(&req, 0, sizeof req);
    req.not_before = ES_TIME_NONE;
    es_pki_san san[ES_PKI_SAN_MAX];
    int der = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'p':
            req.profile = optarg;
            break;
        case 'c':
            csr = optarg;
            break;
        case 'k':
            pubkey = optarg;
            break;
        case 's':
            subject = optarg;
            break;
        case 'a':
            if (req.n_san == ES_PKI_SAN_MAX) return cli_error("at most %d --san", ES_PKI_SAN_MAX);
            if (es_pki_san_parse(optarg, &san[req.n_san]) != ES_OK)
                return cli_error("--san '%s': write IP:ADDR, DNS:NAME, URI:URI or email:ADDR",
                                 optarg);
            req.n_san++;
            break;
        case 'S':
            if (!(req.seal_source = es_pki_seal_source_from_name(optarg)))
                return cli_error("--seal-source: government or hrss, not '%s'", optarg);
            break;
        case 'D':
            if (cli_long("--days", optarg, &req.days)) return EXIT_USAGE;
            break;
        case 'r':
            der = 1;
            break;
        case 'o':
            out = optarg;
            break;
        case 'U':
        case 'A':
            common_opt(c);
            break;
        case 'h':
            fputs(issue_help, stdout);
            return 0;
        default:
            fputs(issue_help, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) return cli_error("unexpected argument '%s'", argv[optind]);
    const char *missing = !dir              ? "--dir"
                          : !req.profile    ? "--profile"
                          : !csr && !pubkey ? "--csr or --pubkey"
                          : !out            ? "-o"
                                            : NULL;
    if (missing) {
        fputs(issue_help, stderr);
        return cli_error("missing %s", missing);
    }
    if (csr && pubkey) return cli_error("--csr and --pubkey exclude each other");
    if (pubkey && !subject) return cli_error("--pubkey needs --subject");
    if (req.days > 36500) return cli_error("--days: at most 36500");
    req.san = san;
    es_name name;
    if (subject) {
        if (parse_subject(subject, &name)) return EXIT_USAGE;
        req.subject = &name;
    }

    int ret = EXIT_USAGE;
    es_buf in, cert, csr_der;
    es_ca *ca = NULL;
    uint8_t pub[ES_SM2_PUB_LEN];
    es_buf_init(&in, 0);
    es_buf_init(&cert, ES_MAX_CERT_DER);
    es_buf_init(&csr_der, ES_MAX_CERT_DER);
    if (cli_read(csr ? csr : pubkey, ES_MAX_CERT_DER * 2, &in)) goto out;
    if (csr) {
        /* Checked here too for precise messages; es_ca_issue checks again. */
        es_pki_csr r;
        es_err rv = es_pki_csr_parse(in.p, in.len, &csr_der, &r);
        if (rv == ES_ERR_KEY) {
            cli_error("%s: the request's key is not an SM2 key", csr);
            goto out;
        }
        if (rv != ES_OK) {
            cli_error("%s: not a PKCS#10 request (PEM or DER)", csr);
            goto out;
        }
        rv = es_pki_csr_verify(&r);
        if (rv == ES_ERR_UNSUPPORTED) {
            cli_error("%s: signed with another algorithm than SM2-with-SM3", csr);
            goto out;
        }
        if (rv != ES_OK) {
            cli_error("%s: the request's signature does not verify (SM2 ID 1234567812345678)", csr);
            ret = EXIT_REFUSED;
            goto out;
        }
        if (r.empty_id)
            fprintf(stderr,
                    "note: %s is signed with the empty SM2 ID (OpenSSL 3.0 without "
                    "-sigopt distid:...); accepted as proof of possession\n",
                    csr);
        req.csr = in.p;
        req.csr_len = in.len;
    } else {
        es_err rv = es_pki_spki_read(in.p, in.len, pub);
        if (rv != ES_OK) {
            cli_error("%s: not an SM2 public key (PEM PUBLIC KEY or DER SubjectPublicKeyInfo)",
                      pubkey);
            goto out;
        }
        req.pub = pub;
    }
    if (open_ca(dir, &ca) || login(ca, dir, NULL)) goto out;
    es_pki_lint lint;
    char serial[2 * ES_PKI_SERIAL_MAX + 1];
    es_err rv = es_ca_issue(ca, &req, &lint, &cert, serial);
    if (rv == ES_ERR_LINT) {
        ret = print_lint(&lint);
        goto out;
    }
    if (rv == ES_ERR_NOT_FOUND) {
        cli_error("no profile [%s] in %s/profiles.conf", req.profile, dir);
        goto out;
    }
    if (rv == ES_ERR_FORMAT) {
        cli_error("%s: the request's subject cannot be read", csr ? csr : pubkey);
        goto out;
    }
    if (rv == ES_ERR_BUSY) {
        busy(dir);
        goto out;
    }
    if (rv != ES_OK) {
        cli_error("cannot issue: %s", es_err_str(rv));
        goto out;
    }
    if (write_out(out, "CERTIFICATE", es_slice_make(cert.p, cert.len), der)) goto out;
    es_cert_info ci;
    if (es_cert_parse(es_slice_make(cert.p, cert.len), &ci) == ES_OK) {
        fprintf(stderr, "issued %s (profile %s): %s -> %s\n", serial, req.profile, ci.subject, out);
        es_cert_info_cleanup(&ci);
    }
    ret = 0;
out:
    es_ca_close(ca);
    es_buf_cleanup(&in);
    es_buf_cleanup(&cert);
    es_buf_cleanup(&csr_der);
    return ret;
}

static int ca_revoke(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'},
                                         {"reason", required_argument, 0, 'r'},
                                         COMMON_OPTS,
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *dir = NULL, *serial = NULL;
    int reason = ES_REASON_UNSPECIFIED, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'r':
            if ((reason = es_pki_reason_from_name(optarg)) < 0)
                return cli_error("--reason: '%s' is not an RFC 5280 reason this CA uses (see "
                                 "--help)",
                                 optarg);
            break;
        case 'U':
        case 'A':
            common_opt(c);
            break;
        case 'h':
            fputs(revoke_help, stdout);
            return 0;
        default:
            fputs(revoke_help, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc) serial = argv[optind++];
    if (optind != argc) return cli_error("unexpected argument '%s'", argv[optind]);
    if (!dir || !serial) {
        fputs(revoke_help, stderr);
        return cli_error("missing %s", !dir ? "--dir" : "SERIAL");
    }
    es_ca *ca = NULL;
    if (open_ca(dir, &ca)) return EXIT_USAGE;
    int ret = EXIT_USAGE;
    es_err rv = es_ca_revoke(ca, serial, reason, ES_TIME_NONE);
    if (rv == ES_OK) {
        if (reason == ES_REASON_REMOVE_FROM_CRL)
            fprintf(stderr, "released %s: off hold, valid again\n", serial);
        else
            fprintf(stderr, "revoked %s (%s)\n", serial, es_pki_reason_name(reason));
        ret = 0;
    } else if (rv == ES_ERR_NOT_FOUND) {
        cli_error("%s: this CA issued no certificate with serial %s", dir, serial);
    } else if (rv == ES_ERR_REVOKED) {
        cli_error("%s: %s is revoked already", dir, serial);
        ret = EXIT_REFUSED;
    } else if (rv == ES_ERR_BUSY) {
        busy(dir);
    } else if (rv == ES_ERR_ARG) {
        cli_error("'%s' is not a hexadecimal serial number", serial);
    } else {
        cli_error("%s: cannot revoke: %s", dir, es_err_str(rv));
    }
    es_ca_close(ca);
    return ret;
}

static int ca_crl(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, 0, 'd'},
                                         {"days", required_argument, 0, 'D'},
                                         {"sm2-id", required_argument, 0, 'i'},
                                         {"der", no_argument, 0, 'r'},
                                         {"output", required_argument, 0, 'o'},
                                         {"delta", no_argument, 0, 'T'},
                                         COMMON_OPTS,
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    const char *dir = NULL, *out = NULL, *id = NULL;
    long days = 0;
    int der = 0, delta = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            dir = optarg;
            break;
        case 'D':
            if (cli_long("--days", optarg, &days)) return EXIT_USAGE;
            break;
        case 'i':
            id = optarg;
            break;
        case 'r':
            der = 1;
            break;
        case 'T':
            delta = 1;
            break;
        case 'o':
            out = optarg;
            break;
        case 'U':
        case 'A':
            common_opt(c);
            break;
        case 'h':
            fputs(crl_help, stdout);
            return 0;
        default:
            fputs(crl_help, stderr);
            return EXIT_USAGE;
        }
    }
    if (optind != argc) return cli_error("unexpected argument '%s'", argv[optind]);
    if (!dir || !out) {
        fputs(crl_help, stderr);
        return cli_error("missing %s", !dir ? "--dir" : "-o");
    }
    if (days > 3650) return cli_error("--days: at most 3650");
    if (id && strlen(id) > 1000) return cli_error("--sm2-id: too long");
    es_ca *ca = NULL;
    es_buf crl;
    es_buf_init(&crl, ES_PKI_MAX_CRL);
    int ret = EXIT_USAGE;
    if (open_ca(dir, &ca) || login(ca, dir, NULL)) goto out;
    es_err rv = delta ? es_ca_delta_crl(ca, days, id, &crl) : es_ca_crl(ca, days, id, &crl);
    if (rv == ES_ERR_NOT_FOUND && delta) {
        cli_error("%s: no full CRL yet: a delta completes one (eseal ca crl first)", dir);
        goto out;
    }
    if (rv == ES_ERR_BUSY) {
        busy(dir);
        goto out;
    }
    if (rv != ES_OK) {
        cli_error("%s: cannot sign the CRL: %s", dir, es_err_str(rv));
        goto out;
    }
    if (write_out(out, "X509 CRL", es_slice_make(crl.p, crl.len), der)) goto out;
    es_pki_crl info;
    es_buf tmp;
    es_buf_init(&tmp, ES_PKI_MAX_CRL);
    if (es_pki_crl_parse(crl.p, crl.len, &tmp, &info) == ES_OK) {
        char next[32];
        es_time_format_iso(info.next_update, next);
        if (info.delta)
            fprintf(stderr,
                    "wrote %s: delta CRL number %llu of full CRL %llu, %zu changes, next "
                    "update %s\n",
                    out, (unsigned long long)info.crl_number, (unsigned long long)info.base_number,
                    info.n_revoked, next);
        else
            fprintf(stderr, "wrote %s: CRL number %llu, %zu revoked, next update %s\n", out,
                    (unsigned long long)info.crl_number, info.n_revoked, next);
        es_pki_crl_cleanup(&info);
    }
    es_buf_cleanup(&tmp);
    ret = 0;
out:
    es_ca_close(ca);
    es_buf_cleanup(&crl);
    return ret;
}

/* Reads the --dir and --store of list and show, and SERIAL for show. */
static int read_args(int argc, char **argv, const char *help, const char **dir, const char **serial,
                     const char **out, int *der)
{
    static const struct option opts[] = {
        {"dir", required_argument, 0, 'd'}, {"output", required_argument, 0, 'o'},
        {"der", no_argument, 0, 'r'},       COMMON_OPTS,
        {"help", no_argument, 0, 'h'},      {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd':
            *dir = optarg;
            break;
        case 'o':
        case 'r':
            if (!serial) {
                fputs(help, stderr);
                return cli_error("unknown argument %s", argv[optind - 1]);
            }
            if (c == 'o')
                *out = optarg;
            else
                *der = 1;
            break;
        case 'U':
        case 'A':
            common_opt(c);
            break;
        case 'h':
            fputs(help, stdout);
            return -1;
        default:
            fputs(help, stderr);
            return EXIT_USAGE;
        }
    }
    if (serial && optind < argc) *serial = argv[optind++];
    if (optind != argc) {
        fputs(help, stderr);
        return cli_error("unknown argument %s", argv[optind]);
    }
    if (!*dir || (serial && !*serial)) {
        fputs(help, stderr);
        return cli_error("missing %s", !*dir ? "--dir" : "SERIAL");
    }
    return 0;
}

static const char *status_name(const es_ca_entry *e, es_time now)
{
    return e->status == ES_CA_REVOKED ? "revoked" : e->not_after < now ? "expired" : "valid";
}

static es_err list_cb(void *ctx, const es_ca_entry *e)
{
    char a[32], b[32];
    es_time now = *(const es_time *)ctx;
    es_time_format_iso(e->not_after, a);
    if (e->status == ES_CA_REVOKED) es_time_format_iso(e->revoked_at, b);
    printf("%-40s %-8s %-20s %-20s %-20s %-14s %s\n", e->serial, status_name(e, now), a,
           e->status == ES_CA_REVOKED ? b : "-",
           e->status == ES_CA_REVOKED ? es_pki_reason_name(e->reason) : "-", e->profile,
           e->subject);
    return ES_OK;
}

static int ca_list(int argc, char **argv)
{
    const char *dir = NULL;
    int r = read_args(argc, argv, list_help, &dir, NULL, NULL, NULL);
    if (r) return r < 0 ? 0 : r;
    es_ca *ca = NULL;
    if (open_ca_mode(dir, &ca, 0)) return EXIT_USAGE;
    es_cert_info ci;
    char a[32];
    if (es_cert_parse(es_ca_cert(ca), &ci) == ES_OK) {
        es_time_format_iso(ci.not_after, a);
        printf("CA       %s\nserial   %s\nvalid to %s\nkey      %s\n\n", ci.subject, ci.serial, a,
               es_ca_key_ref(ca));
        es_cert_info_cleanup(&ci);
    }
    es_time now = es_time_now();
    printf("%-40s %-8s %-20s %-20s %-20s %-14s %s\n", "serial", "status", "not_after", "revoked",
           "reason", "profile", "subject");
    es_err rv = es_ca_list(ca, NULL, list_cb, &now);
    es_ca_close(ca);
    if (rv != ES_OK) return cli_error("%s: cannot read the CA's state: %s", dir, es_err_str(rv));
    return 0;
}

typedef struct show_ctx {
    es_ca_entry e;
    es_buf subject, cert;
} show_ctx;

static es_err show_cb(void *ctx, const es_ca_entry *e)
{
    show_ctx *sc = ctx;
    sc->e = *e;
    es_err rv = es_buf_append_str(&sc->subject, e->subject);
    if (rv == ES_OK) rv = es_buf_nul(&sc->subject);
    if (rv == ES_OK) rv = es_buf_append(&sc->cert, e->cert.p, e->cert.len);
    return rv;
}

static int ca_show(int argc, char **argv)
{
    const char *dir = NULL, *serial = NULL, *out = NULL;
    int der = 0;
    int r = read_args(argc, argv, show_help, &dir, &serial, &out, &der);
    if (r) return r < 0 ? 0 : r;
    es_ca *ca = NULL;
    show_ctx sc;
    memset(&sc, 0, sizeof sc);
    es_buf_init(&sc.subject, 64u << 10);
    es_buf_init(&sc.cert, ES_MAX_CERT_DER);
    int ret = EXIT_USAGE;
    if (open_ca_mode(dir, &ca, 0)) goto out;
    es_err rv = es_ca_get(ca, NULL, serial, show_cb, &sc);
    if (rv == ES_ERR_ARG) {
        cli_error("'%s' is not a hexadecimal serial number", serial);
        goto out;
    }
    if (rv == ES_ERR_NOT_FOUND) {
        cli_error("%s: this CA issued no certificate with serial %s", dir, serial);
        goto out;
    }
    if (rv != ES_OK) {
        cli_error("%s: cannot read the CA's state: %s", dir, es_err_str(rv));
        goto out;
    }
    char a[32], b[32];
    es_time_format_iso(sc.e.not_after, a);
    fprintf(stderr, "serial    %s\nstatus    %s\nnot_after %s\nprofile   %s\nsubject   %s\n",
            sc.e.serial, status_name(&sc.e, es_time_now()), a, sc.e.profile,
            (const char *)sc.subject.p);
    if (sc.e.status == ES_CA_REVOKED) {
        es_time_format_iso(sc.e.revoked_at, b);
        fprintf(stderr, "revoked   %s (%s)\n", b, es_pki_reason_name(sc.e.reason));
    }
    if (!sc.cert.len) {
        fprintf(stderr, "certificate: not kept (imported from an index without its file)\n");
    } else if (out || !der) {
        if (out ? write_out(out, "CERTIFICATE", es_slice_make(sc.cert.p, sc.cert.len), der)
                : cli_print_pem("CERTIFICATE", sc.cert.p, sc.cert.len, NULL))
            goto out;
    } else {
        cli_out(sc.cert.p, sc.cert.len);
    }
    ret = sc.e.status == ES_CA_REVOKED ? EXIT_REFUSED : 0;
out:
    es_ca_close(ca);
    es_buf_cleanup(&sc.subject);
    es_buf_cleanup(&sc.cert);
    return ret;
}

int cmd_ca(int argc, char **argv)
{
    static const cli_cmd subs[] = {{"init", ca_init, NULL},     {"issue", ca_issue, NULL},
                                   {"revoke", ca_revoke, NULL}, {"crl", ca_crl, NULL},
                                   {"list", ca_list, NULL},     {"show", ca_show, NULL}};
    int ret = cli_dispatch(argc, argv, "ca", ca_help, subs, sizeof subs / sizeof subs[0]);
    es_signer_free(g_audit);
    g_audit = NULL;
    return ret;
}
