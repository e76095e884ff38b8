/* eseal making import: sends seal files of another vendor's system to a daemon's import
 * (POST /api/v1/seals/imports, docs/making.md "Import of other vendors' seals") in batches,
 * printing each file's outcome as it comes. A plain HTTP/1.1 client (one request per
 * connection), for a daemon on this host or behind the site's own TLS proxy. */
#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "eseal/making_import.h"
#include "eseal/renewal.h"

static const char help[] =
    "usage: eseal making import --url URL --vendor NAME [--token TOKEN] [--root FILE]...\n"
    "                           [--cert FILE]... [--allow-unverified] [--resume ID]\n"
    "                           [--batch N] [--json] FILE|DIR...\n"
    "\n"
    "Imports seals already issued by another vendor's system (.esl files: GB/T 38540 v4/v5,\n"
    "GM/T 0031) into a daemon's seal registry, so that their status is published too. Each\n"
    "file is checked by the daemon (structure, maker signature, maker chain against the roots,\n"
    "code, validity, holder certificate, duplicates) and imported, recorded as a duplicate, or\n"
    "refused with its reason; one line per file is printed as each batch is answered. The\n"
    "import is the signed decision of the account of the token (role seal_issuer): its\n"
    "signing PIN is read from ESEAL_PIN or prompted for.\n"
    "\n"
    "  --url URL           the daemon, http://HOST:PORT (a TLS site: through its local port)\n"
    "  --token TOKEN       a session token of a seal issuer (default: $ESEAL_TOKEN)\n"
    "  --vendor NAME       the system the seals come from (recorded with each seal)\n"
    "  --root FILE         a trust root for the maker certificates (PEM or DER; repeatable)\n"
    "  --cert FILE         a holder certificate for seals that name theirs by digest\n"
    "  --allow-unverified  import seals whose maker chain cannot be checked (recorded so)\n"
    "  --resume ID         go on with batch ID (the same files, after an interruption)\n"
    "  --batch N           files per request (default 100, at most 500)\n"
    "  --json              print each batch's report as JSON instead of lines\n"
    "  FILE|DIR            seal files; a directory: its *.esl files\n"
    "\n"
    "Exit status: 0 every file imported or a duplicate, 1 some refused, 3 usage or I/O error.\n"
    "\n"
    "examples:\n"
    "  ESEAL_PIN=135790 eseal making import --url http://127.0.0.1:8440 --token $TOK \\\n"
    "      --vendor 某省政府统一电子印章制作系统 --root vendor-root.crt seals/\n"
    "  eseal making import --url http://127.0.0.1:8440 --vendor 旧系统 --allow-unverified \\\n"
    "      a.esl b.esl\n";

#define MAX_LIST 4096

typedef struct list {
    char *items[MAX_LIST];
    size_t n;
} list;

static int add_path(list *l, const char *p)
{
    struct stat st;
    if (stat(p, &st) != 0) return cli_error("%s: %s", p, strerror(errno));
    if (!S_ISDIR(st.st_mode)) {
        if (l->n == MAX_LIST) return cli_error("more than %d files", MAX_LIST);
        l->items[l->n++] = strdup(p);
        return 0;
    }
    DIR *d = opendir(p);
    if (!d) return cli_error("%s: %s", p, strerror(errno));
    struct dirent *de;
    int ret = 0;
    while (!ret && (de = readdir(d)) != NULL) {
        size_t n = strlen(de->d_name);
        if (de->d_name[0] == '.' || n < 5 || strcmp(de->d_name + n - 4, ".esl") != 0) continue;
        char full[4096];
        snprintf(full, sizeof full, "%s/%s", p, de->d_name);
        if (l->n == MAX_LIST)
            ret = cli_error("more than %d files", MAX_LIST);
        else
            l->items[l->n++] = strdup(full);
    }
    closedir(d);
    return ret;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static json_t *b64_of(const char *path, int *err)
{
    es_buf b, e;
    es_buf_init(&b, ES_IMPORT_FILE_MAX + 1);
    es_buf_init(&e, 2 * ES_IMPORT_FILE_MAX);
    json_t *s = NULL;
    if (cli_read(path, ES_IMPORT_FILE_MAX, &b) != 0 || es_base64_encode(b.p, b.len, &e) != ES_OK ||
        es_buf_nul(&e) != ES_OK)
        *err = 1;
    else
        s = json_string((const char *)e.p);
    es_buf_cleanup(&b);
    es_buf_cleanup(&e);
    return s;
}

/* One POST of body to http://HOST:PORT path with the bearer token; *status and the answer's
 * body in out. */
static int http_post(const char *url, const char *path, const char *token, const char *body,
                     unsigned *status, es_buf *out)
{
    char headers[512];
    if (token && strlen(token) > 300) return cli_error("--token: too long");
    snprintf(headers, sizeof headers, "Content-Type: application/json\r\n%s%s%s",
             token ? "Authorization: Bearer " : "", token ? token : "", token ? "\r\n" : "");
    return cli_http(url, "--url", "POST", path, headers,
                    es_slice_make((const uint8_t *)body, strlen(body)), 64u << 20, status, out);
}

static int making_import(int argc, char **argv)
{
    const char *url = NULL, *token = getenv("ESEAL_TOKEN"), *vendor = NULL;
    const char *roots[ES_IMPORT_ROOTS_MAX], *certs[64];
    size_t nroots = 0, ncerts = 0;
    long batch = 100, resume = 0;
    int allow = 0, as_json = 0, ret = 0, refused = 0;
    list files;
    memset(&files, 0, sizeof files);
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(help, stdout);
            return 0;
        } else if (!strcmp(a, "--url") && has) {
            url = argv[++i];
        } else if (!strcmp(a, "--token") && has) {
            token = argv[++i];
        } else if (!strcmp(a, "--vendor") && has) {
            vendor = argv[++i];
        } else if (!strcmp(a, "--root") && has) {
            if (nroots == ES_IMPORT_ROOTS_MAX) return cli_error("too many --root");
            roots[nroots++] = argv[++i];
        } else if (!strcmp(a, "--cert") && has) {
            if (ncerts == sizeof certs / sizeof certs[0]) return cli_error("too many --cert");
            certs[ncerts++] = argv[++i];
        } else if (!strcmp(a, "--resume") && has) {
            if (cli_long(a, argv[++i], &resume) != 0 || resume <= 0)
                return cli_error("--resume: a batch number");
        } else if (!strcmp(a, "--batch") && has) {
            if (cli_long(a, argv[++i], &batch) != 0 || batch < 1 || batch > ES_IMPORT_FILES_MAX)
                return cli_error("--batch: 1 to %d", ES_IMPORT_FILES_MAX);
        } else if (!strcmp(a, "--allow-unverified")) {
            allow = 1;
        } else if (!strcmp(a, "--json")) {
            as_json = 1;
        } else if (a[0] == '-' && a[1]) {
            fputs(help, stderr);
            return cli_error("unknown or incomplete option %s", a);
        } else if ((ret = add_path(&files, a)) != 0) {
            goto out;
        }
    }
    if (!url || !vendor || !files.n) {
        fputs(help, stderr);
        ret = cli_error("making import needs --url, --vendor and files");
        goto out;
    }
    if (resume && files.n > (size_t)batch) {
        ret = cli_error("--resume goes on with one batch: give its files (at most --batch)");
        goto out;
    }
    qsort(files.items, files.n, sizeof files.items[0], cmp_str);
    const char *pin = getenv("ESEAL_PIN");
    char pinbuf[80];
    if (!pin) {
        fprintf(stderr, "signing PIN: ");
        if (!fgets(pinbuf, sizeof pinbuf, stdin)) {
            ret = cli_error("no signing PIN (ESEAL_PIN or standard input)");
            goto out;
        }
        pinbuf[strcspn(pinbuf, "\r\n")] = 0;
        pin = pinbuf;
    }
    size_t nb = (files.n + (size_t)batch - 1) / (size_t)batch;
    for (size_t b = 0; b < nb && !ret; b++) {
        int err = 0;
        json_t *req = json_object(), *fa = json_array(), *ra = json_array(), *ca = json_array();
        json_object_set_new(req, "vendor", json_string(vendor));
        for (size_t i = b * (size_t)batch; i < files.n && i < (b + 1) * (size_t)batch; i++) {
            const char *slash = strrchr(files.items[i], '/');
            json_array_append_new(fa, json_pack("{s:s,s:o*}", "name",
                                                slash ? slash + 1 : files.items[i], "data",
                                                b64_of(files.items[i], &err)));
        }
        for (size_t i = 0; i < nroots; i++) json_array_append_new(ra, b64_of(roots[i], &err));
        for (size_t i = 0; i < ncerts; i++) {
            es_buf der;
            es_buf_init(&der, ES_IMPORT_FILE_MAX);
            if (cli_load_cert(certs[i], &der) != 0) {
                err = 1;
            } else {
                es_buf e;
                es_buf_init(&e, 2 * ES_IMPORT_FILE_MAX);
                if (es_base64_encode(der.p, der.len, &e) == ES_OK && es_buf_nul(&e) == ES_OK)
                    json_array_append_new(ca, json_string((const char *)e.p));
                es_buf_cleanup(&e);
            }
            es_buf_cleanup(&der);
        }
        json_object_set_new(req, "files", fa);
        json_object_set_new(req, "roots", ra);
        json_object_set_new(req, "certs", ca);
        json_object_set_new(req, "allow_unverified", json_boolean(allow));
        json_object_set_new(req, "pin", json_string(pin));
        if (resume) json_object_set_new(req, "resume", json_integer(resume));
        char *text = err ? NULL : json_dumps(req, JSON_COMPACT);
        json_decref(req);
        if (!text) {
            ret = err ? EXIT_USAGE : cli_error("out of memory");
            break;
        }
        unsigned st = 0;
        es_buf ans;
        es_buf_init(&ans, 64u << 20);
        ret = http_post(url, "/api/v1/seals/imports", token, text, &st, &ans);
        free(text);
        json_t *v = ret ? NULL : json_loadb((const char *)ans.p, ans.len, 0, NULL);
        if (!ret && (st != 200 && st != 201)) {
            const char *m = json_string_value(json_object_get(v, "message_zh"));
            const char *e = json_string_value(json_object_get(v, "message"));
            ret = cli_error("the daemon refused the batch (%u): %s %s", st, e ? e : "", m ? m : "");
        } else if (!ret) {
            json_t *imp = json_object_get(v, "import"), *it;
            size_t k;
            if (as_json) {
                char *s = json_dumps(v, JSON_INDENT(2));
                if (s) puts(s);
                free(s);
            }
            json_array_foreach(json_object_get(imp, "items"), k, it)
            {
                const char *o = json_string_value(json_object_get(it, "outcome"));
                refused += o && !strcmp(o, "refused");
                if (as_json) continue;
                const char *code = json_string_value(json_object_get(it, "code"));
                const char *why = json_string_value(json_object_get(it, "message_zh"));
                printf("%-9s %s%s%s%s%s\n", o ? o : "?",
                       json_string_value(json_object_get(it, "name")), code ? " " : "",
                       code ? code : "", why && *why ? "  " : "", why ? why : "");
            }
            fprintf(stderr,
                    "batch %zu/%zu (import %lld): %lld imported, %lld duplicates, %lld "
                    "refused\n",
                    b + 1, nb, (long long)json_integer_value(json_object_get(imp, "id")),
                    (long long)json_integer_value(json_object_get(imp, "imported")),
                    (long long)json_integer_value(json_object_get(imp, "duplicates")),
                    (long long)json_integer_value(json_object_get(imp, "refused")));
        }
        json_decref(v);
        es_buf_cleanup(&ans);
    }
    if (!ret && refused) ret = 1;
out:
    for (size_t i = 0; i < files.n; i++) free(files.items[i]);
    return ret;
}

static const char renew_help[] =
    "usage: eseal making renew-request --url URL --code CODE --serial SERIAL --key KEY\n"
    "                                  --csr FILE --until TIME --contact TEXT [-o FILE]\n"
    "       eseal making renew-request --dry-run -o FILE --code CODE --serial SERIAL --key KEY\n"
    "                                  --csr FILE --until TIME --contact TEXT\n"
    "\n"
    "Online self-service renewal (LD/T 01.1 7.9 note; docs/making.md \"Self-service renewal\"):\n"
    "builds the renewal request of the seal CODE, signs it with the key of the seal's CURRENT\n"
    "certificate (proof of possession: on the USBKey, skf:...) and sends it to the daemon\n"
    "(POST /api/v1/renewals, no session). The daemon enters a renew application that a\n"
    "reviewer approves and the seal issuer executes: a new certificate for the key of --csr\n"
    "(the token's new key, `eseal key csr`) and a new seal with the same code.\n"
    "\n"
    "  --url URL        the daemon, http://HOST:PORT\n"
    "  --code CODE      the seal code\n"
    "  --serial SERIAL  the seal's current certificate serial (hex)\n"
    "  --key KEY        the seal's current key: skf:..., soft:DIR#NAME or a PEM key file (PIN "
    "from\n"
    "                   ESEAL_PIN or a prompt)\n"
    "  --csr FILE       the PKCS#10 request of the new key (PEM or DER), signed by it\n"
    "  --until TIME     the end of validity wanted (ISO 8601)\n"
    "  --contact TEXT   who to call about it (1 to 200 bytes)\n"
    "  -o FILE          also write the signed request (JSON) to FILE\n"
    "  --dry-run        sign and write to -o FILE only, send nothing (no --url): the holder\n"
    "                   hands the file in later, within 10 minutes of signing, through the\n"
    "                   console's 印章续期 page or POST /api/v1/renewals\n"
    "\n"
    "Exit status: 0 the application was entered (--dry-run: the file written), 1 the daemon\n"
    "refused it, 3 usage or I/O error.\n"
    "\n"
    "example:\n"
    "  eseal key csr --key skf:libsoftskf.so#APP1/NEW --subject /C=CN/CN=token -o new.csr\n"
    "  ESEAL_PIN=123456 eseal making renew-request --url http://127.0.0.1:8440 \\\n"
    "      --code RS35010200000001 --serial 50333a52f8d03dc69ede13d48c4e0b1a \\\n"
    "      --key skf:libsoftskf.so#APP1/SEAL --csr new.csr --until 2029-01-01 --contact '张三 "
    "138...'\n"
    "  ESEAL_PIN=123456 eseal making renew-request --dry-run -o renewal.json \\\n"
    "      --code RS35010200000001 --serial 50333a52f8d03dc69ede13d48c4e0b1a \\\n"
    "      --key skf:libsoftskf.so#APP1/SEAL --csr new.csr --until 2029-01-01 --contact 张三\n";

static int making_renew(int argc, char **argv)
{
    const char *url = NULL, *code = NULL, *serial = NULL, *key = NULL, *csr = NULL, *until = NULL,
               *contact = NULL, *out = NULL;
    int dry = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--dry-run")) {
            dry = 1;
            continue;
        }
        const char **dst = !strcmp(a, "--url")       ? &url
                           : !strcmp(a, "--code")    ? &code
                           : !strcmp(a, "--serial")  ? &serial
                           : !strcmp(a, "--key")     ? &key
                           : !strcmp(a, "--csr")     ? &csr
                           : !strcmp(a, "--until")   ? &until
                           : !strcmp(a, "--contact") ? &contact
                           : !strcmp(a, "-o")        ? &out
                                                     : NULL;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            fputs(renew_help, stdout);
            return 0;
        }
        if (!dst || i + 1 >= argc) {
            fputs(renew_help, stderr);
            return cli_error("unknown or incomplete option %s", a);
        }
        *dst = argv[++i];
    }
    if (dry && (!out || url)) {
        fputs(renew_help, stderr);
        return cli_error("--dry-run needs -o FILE and sends nothing (no --url)");
    }
    if ((!url && !dry) || !code || !serial || !key || !csr || !until || !contact) {
        fputs(renew_help, stderr);
        return cli_error("renew-request needs --url, --code, --serial, --key, --csr, --until and "
                         "--contact");
    }
    es_renewal_req r;
    es_buf raw, text, sig, b1, b2, ans;
    es_signer *s = NULL;
    int ret = 0;
    es_renewal_req_init(&r);
    es_buf_init(&raw, ES_MK_CSR_MAX);
    es_buf_init(&text, ES_RENEWAL_MAX);
    es_buf_init(&sig, 256);
    es_buf_init(&b1, 2 * ES_RENEWAL_MAX);
    es_buf_init(&b2, 1024);
    es_buf_init(&ans, 1u << 20);
    uint8_t n[16];
    es_pki_csr c;
    if (strlen(code) >= sizeof r.code || !es_ca_serial_norm(serial, r.serial)) {
        ret = cli_error("--code or --serial: not a seal code and a hex serial");
        goto out;
    }
    snprintf(r.code, sizeof r.code, "%s", code);
    if (strlen(contact) > ES_RENEWAL_CONTACT) {
        ret = cli_error("--contact: at most 200 bytes");
        goto out;
    }
    snprintf(r.contact, sizeof r.contact, "%s", contact);
    if (cli_time("--until", until, &r.valid_until) != 0) {
        ret = EXIT_USAGE;
        goto out;
    }
    r.time = es_time_now();
    if (es_random(n, sizeof n) != ES_OK) {
        ret = cli_error("no random bytes");
        goto out;
    }
    es_hex_encode(n, sizeof n, r.nonce);
    if (cli_read(csr, ES_MK_CSR_MAX, &raw) != 0) {
        ret = EXIT_USAGE;
        goto out;
    }
    if (es_pki_csr_parse(raw.p, raw.len, &r.csr, &c) != ES_OK || es_pki_csr_verify(&c) != ES_OK) {
        ret = cli_error("--csr %s: not a PKCS#10 request signed by its key", csr);
        goto out;
    }
    if (!r.csr.len && es_buf_append(&r.csr, raw.p, raw.len) != ES_OK) {
        ret = cli_error("--csr: too large");
        goto out;
    }
    if (cli_load_signer(key, &s) != 0) {
        ret = EXIT_USAGE;
        goto out;
    }
    if (es_renewal_text(&r, &text) != ES_OK ||
        es_signer_sign_message(s, ES_SM2_DEFAULT_ID, text.p, text.len, &sig) != ES_OK ||
        es_base64_encode(text.p, text.len, &b1) != ES_OK || es_buf_nul(&b1) != ES_OK ||
        es_base64_encode(sig.p, sig.len, &b2) != ES_OK || es_buf_nul(&b2) != ES_OK) {
        ret = cli_error("the request could not be signed (the key: %s)", key);
        goto out;
    }
    json_t *o =
        json_pack("{s:s,s:s}", "request", (const char *)b1.p, "signature", (const char *)b2.p);
    char *body = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    if (!body) {
        ret = cli_error("out of memory");
        goto out;
    }
    if (out && cli_write(out, body, strlen(body)) != 0) {
        free(body);
        ret = EXIT_USAGE;
        goto out;
    }
    if (dry) {
        char at[32];
        es_time_format_iso(r.time, at);
        printf("renewal request of %s signed at %s written to %s (nothing sent): hand it in "
               "within 10 minutes\n",
               r.code, at, out);
        free(body);
        goto out;
    }
    unsigned st = 0;
    ret = http_post(url, "/api/v1/renewals", NULL, body, &st, &ans);
    free(body);
    if (ret) goto out;
    json_t *v = json_loadb((const char *)ans.p, ans.len, 0, NULL);
    if (st == 201) {
        printf("renew application %lld entered (submitted): a reviewer approves it, the seal "
               "issuer executes it\n",
               (long long)json_integer_value(json_object_get(v, "application_id")));
    } else {
        const char *e = json_string_value(json_object_get(v, "error"));
        const char *m = json_string_value(json_object_get(v, "message"));
        const char *z = json_string_value(json_object_get(v, "message_zh"));
        fprintf(stderr, "eseal: refused (%u %s): %s %s\n", st, e ? e : "", m ? m : "", z ? z : "");
        ret = 1;
    }
    json_decref(v);
out:
    es_signer_free(s);
    es_renewal_req_free(&r);
    es_buf_cleanup(&raw);
    es_buf_cleanup(&text);
    es_buf_cleanup(&sig);
    es_buf_cleanup(&b1);
    es_buf_cleanup(&b2);
    es_buf_cleanup(&ans);
    return ret;
}

static const char making_help[] =
    "usage: eseal making <import|renew-request> [options]\n"
    "\n"
    "The seal making system's registry from the command line (docs/making.md).\n"
    "  import          import other vendors' seals into a daemon's registry\n"
    "  renew-request   renew a seal online, signed with its current key (self-service)\n"
    "\n"
    "example:\n"
    "  eseal making import --url http://127.0.0.1:8440 --vendor 旧系统 --root r.crt seals/\n";

int cmd_making(int argc, char **argv)
{
    int r = cli_sub_help(argc, argv, making_help);
    if (r >= 0) return r;
    if (strcmp(argv[1], "import") == 0) return making_import(argc, argv);
    if (strcmp(argv[1], "renew-request") == 0) return making_renew(argc, argv);
    fputs(making_help, stderr);
    return cli_error("unknown subcommand 'making %s'", argv[1]);
}
