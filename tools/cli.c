/* Shared helpers of the eseal command line. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cli.h"

int cli_error(const char *fmt, ...)
{
    va_list ap;
    fputs("eseal: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return EXIT_USAGE;
}

int cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) return 1;
    return 0;
}

int cli_read(const char *path, size_t max, es_buf *out)
{
    es_buf_init(out, max);
    es_err rv = es_file_read(path, out);
    if (rv == ES_OK) return 0;
    es_buf_cleanup(out);
    if (rv == ES_ERR_LIMIT) return cli_error("%s: larger than %zu bytes", path, max);
    if (rv == ES_ERR_NOT_FOUND) return cli_error("%s: no such file", path);
    return cli_error("%s: %s (%s)", path, es_err_str(rv), strerror(errno));
}

int cli_write(const char *path, const void *p, size_t len)
{
    es_err rv = es_file_write(path, p, len);
    if (rv != ES_OK) return cli_error("%s: cannot write: %s", path, strerror(errno));
    return 0;
}

/* PINs: the environment variable when set, otherwise a prompt on the terminal with echo off.
 * Never the command line. */
static es_err prompt_get(void *ctx, const char *what, char *buf, size_t cap)
{
    const char *var = ctx ? ctx : "ESEAL_PIN";
    const char *v = getenv(var);
    if (v) {
        if (strlen(v) >= cap) return ES_ERR_LIMIT;
        strcpy(buf, v);
        return ES_OK;
    }
    int fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return ES_ERR_PIN; /* no terminal and no variable */
    struct termios old, quiet;
    int have_term = tcgetattr(fd, &old) == 0;
    if (have_term) {
        quiet = old;
        quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
        tcsetattr(fd, TCSAFLUSH, &quiet);
    }
    dprintf(fd, "%s: ", what);
    size_t n = 0;
    char c;
    es_err rv = ES_OK;
    while (read(fd, &c, 1) == 1 && c != '\n' && c != '\r') {
        if (n + 1 >= cap) {
            rv = ES_ERR_LIMIT;
            break;
        }
        buf[n++] = c;
    }
    buf[n] = 0;
    if (have_term) tcsetattr(fd, TCSAFLUSH, &old);
    dprintf(fd, "\n");
    close(fd);
    if (rv != ES_OK) es_wipe(buf, cap);
    return rv;
}

es_secret_src cli_secret(const char *env)
{
    es_secret_src s = {prompt_get, (void *)env};
    return s;
}

int cli_is_keyref(const char *arg)
{
    return strncmp(arg, "soft:", 5) == 0 || strncmp(arg, "sdf:", 4) == 0 ||
           strncmp(arg, "skf:", 4) == 0;
}

int cli_keydev_error(const char *ref, es_err rv, int retries)
{
    switch (rv) {
    case ES_ERR_PIN:
        if (retries >= 0)
            return cli_error("%s: wrong PIN, %d %s left", ref, retries,
                             retries == 1 ? "try" : "tries");
        return cli_error("%s: wrong PIN or passphrase, or none given (set ESEAL_PIN or run on "
                         "a terminal)",
                         ref);
    case ES_ERR_PIN_LOCKED:
        return cli_error("%s: the PIN is locked; unlock it with the SO PIN (eseal token unlock)",
                         ref);
    case ES_ERR_KEYREF:
        return cli_error("%s: not a key reference (soft:DIR#NAME, sdf:LIB#INDEX, "
                         "skf:LIB#DEVICE/APPLICATION/CONTAINER)",
                         ref);
    case ES_ERR_NO_KEY:
        return cli_error("%s: no such key", ref);
    case ES_ERR_NOT_FOUND:
        return cli_error("%s: no such key store or device", ref);
    default: {
        const char *why = es_keydev_last_error();
        return cli_error("%s: %s%s%s", ref, es_err_str(rv), why && *why ? ": " : "",
                         why ? why : "");
    }
    }
}

int cli_load_signer(const char *path, es_signer **out)
{
    if (cli_is_keyref(path)) {
        es_secret_src src = cli_secret(NULL);
        es_err rv = es_keydev_signer(path, &src, out);
        return rv == ES_OK ? 0 : cli_keydev_error(path, rv, -1);
    }
    es_buf b;
    if (cli_read(path, ES_MAX_KEY_FILE, &b)) return EXIT_USAGE;
    es_sm2_key *k = NULL;
    const char *pass = getenv("ESEAL_PIN");
    es_err rv = es_sm2_key_from_pem(b.p, b.len, pass, &k);
    es_buf_cleanup_secret(&b);
    if (rv != ES_OK)
        return cli_error("%s: not an SM2 private key%s", path,
                         pass ? "" : " (if it is encrypted, set ESEAL_PIN)");
    if ((rv = es_signer_from_key(k, out)) != ES_OK) {
        es_sm2_key_free(k);
        return cli_error("%s: %s", path, es_err_str(rv));
    }
    return 0;
}

int cli_load_cert(const char *path, es_buf *out)
{
    es_buf b;
    if (cli_read(path, ES_MAX_CERT_DER * 4, &b)) return EXIT_USAGE;
    es_buf_init(out, ES_MAX_CERT_DER);
    es_err rv = es_cert_to_der(b.p, b.len, out);
    es_buf_cleanup(&b);
    if (rv != ES_OK) {
        es_buf_cleanup(out);
        return cli_error("%s: not a certificate (PEM or DER)", path);
    }
    return 0;
}

static int trust_file(es_trust *t, const char *path, int *total)
{
    es_buf b;
    if (cli_read(path, ES_MAX_CERT_DER * 64, &b)) return EXIT_USAGE;
    int added = 0;
    es_err rv = es_trust_add(t, b.p, b.len, &added);
    es_buf_cleanup(&b);
    if (rv != ES_OK) return cli_error("%s: no certificate could be read", path);
    *total += added;
    return 0;
}

int cli_load_trust(const char *path, es_trust **out)
{
    struct stat st;
    if (stat(path, &st) != 0) return cli_error("%s: %s", path, strerror(errno));
    if (es_trust_new(out) != ES_OK) return cli_error("out of memory");
    int total = 0;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        if (!d) return cli_error("%s: %s", path, strerror(errno));
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            const char *n = de->d_name;
            size_t l = strlen(n);
            if (l < 5 || (strcmp(n + l - 4, ".pem") && strcmp(n + l - 4, ".crt") &&
                          strcmp(n + l - 4, ".cer") && strcmp(n + l - 4, ".der")))
                continue;
            char full[4096];
            snprintf(full, sizeof full, "%s/%s", path, n);
            if (trust_file(*out, full, &total)) {
                closedir(d);
                return EXIT_USAGE;
            }
        }
        closedir(d);
    } else if (trust_file(*out, path, &total)) {
        return EXIT_USAGE;
    }
    if (total == 0) return cli_error("%s: no trust anchor found (.pem .crt .cer .der)", path);
    return 0;
}

/* Adds the CRLs of the file at path (PEM or DER) to t. */
static int crl_file(es_trust *t, const char *path)
{
    es_buf b;
    if (cli_read(path, 64u << 20, &b)) return EXIT_USAGE;
    int added = 0;
    es_err rv = es_trust_add_crl(t, b.p, b.len, &added);
    es_buf_cleanup(&b);
    if (rv == ES_ERR_LIMIT) return cli_error("%s: more than 64 CRLs in all", path);
    if (rv != ES_OK || !added) return cli_error("%s: no CRL could be read", path);
    return 0;
}

int cli_time(const char *opt, const char *s, es_time *out)
{
    if (es_time_parse_iso(s, out) != ES_OK)
        return cli_error("%s: '%s' is not an ISO 8601 time (2026-01-01, 2026-01-01T08:00:00+08:00)",
                         opt, s);
    return 0;
}

int cli_long(const char *opt, const char *s, long *out)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || !end || *end || end == s || v < 0)
        return cli_error("%s: '%s' is not a non-negative whole number", opt, s);
    *out = v;
    return 0;
}

int cli_hash_file(const char *path, uint8_t out[ES_SM3_LEN], es_buf *keep)
{
    int fd = strcmp(path, "-") == 0 ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return cli_error("%s: %s", path, strerror(errno));
    es_sm3_ctx *c = NULL;
    if (es_sm3_new(&c) != ES_OK) return cli_error("SM3 unavailable in the crypto library");
    int ret = 0;
    uint8_t chunk[1 << 16];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            ret = cli_error("%s: %s", path, strerror(errno));
            break;
        }
        if (n == 0) break;
        if (es_sm3_update(c, chunk, (size_t)n) != ES_OK) {
            ret = cli_error("SM3 failed");
            break;
        }
        /* Keep small data: a SignedData without signed attributes signs the data itself. */
        if (keep && keep->max && es_buf_append(keep, chunk, (size_t)n) != ES_OK) {
            es_buf_cleanup(keep);
            keep->max = 0;
        }
    }
    if (ret == 0 && es_sm3_final(c, out) != ES_OK) ret = cli_error("SM3 failed");
    es_sm3_free(c);
    if (fd != STDIN_FILENO) close(fd);
    return ret;
}

void cli_out(const void *p, size_t len)
{
    if (len) fwrite(p, 1, len, stdout); /* an empty buffer's p may be NULL */
}

int cli_emit(const char *out, const void *p, size_t len)
{
    if (out) return cli_write(out, p, len);
    cli_out(p, len);
    return 0;
}

int cli_print_pem(const char *label, const uint8_t *der, size_t len, const char *out)
{
    es_buf pem;
    es_buf_init(&pem, 2 * len + 256); /* base64, a newline every 64, the two lines */
    int ret = es_pem_encode(label, der, len, &pem) == ES_OK ? cli_emit(out, pem.p, pem.len)
                                                            : cli_error("cannot encode %s", label);
    es_buf_cleanup(&pem);
    return ret;
}

int cli_print_pub(const uint8_t pub[ES_SM2_PUB_LEN], const char *out)
{
    es_buf der;
    es_buf_init(&der, 256);
    int ret = es_sm2_pub_spki(pub, &der) == ES_OK ? cli_print_pem("PUBLIC KEY", der.p, der.len, out)
                                                  : cli_error("cannot encode the public key");
    es_buf_cleanup(&der);
    return ret;
}

int cli_sub_help(int argc, char **argv, const char *help)
{
    if (argc < 2) {
        fputs(help, stderr);
        return EXIT_USAGE;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
        fputs(help, stdout);
        return 0;
    }
    return -1;
}

int cli_dispatch(int argc, char **argv, const char *cmd, const char *help, const cli_cmd *subs,
                 size_t n)
{
    int r = cli_sub_help(argc, argv, help);
    if (r >= 0) return r;
    for (size_t i = 0; i < n; i++)
        if (strcmp(argv[1], subs[i].name) == 0) return subs[i].run(argc - 1, argv + 1);
    fputs(help, stderr);
    return cli_error("unknown subcommand '%s %s'", cmd, argv[1]);
}

int cli_file_args(int argc, char **argv, const char *help, const char **file, int *json,
                  const char **out, const char *out_what)
{
    *file = NULL;
    if (json) *json = 0;
    if (out) *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (json && strcmp(argv[i], "--json") == 0) {
            *json = 1;
        } else if (out && strcmp(argv[i], "-o") == 0) {
            if (i + 1 == argc) return cli_error("-o needs %s", out_what);
            *out = argv[++i];
        } else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(help, stdout);
            return -1;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return cli_error("unknown option %s", argv[i]);
        } else if (*file) {
            return cli_error("one file at a time");
        } else {
            *file = argv[i];
        }
    }
    return 0;
}

/* On any return but 0 the trust anchors loaded so far are freed (and *trust is NULL), so that
 * a command only returns the status. */
int cli_verify_opts(int argc, char **argv, const char *help, const char **file, int *json,
                    es_trust **trust, es_verify_opts *o, const char **data)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'},
                                         {"trust", required_argument, 0, 't'},
                                         {"at", required_argument, 0, 'a'},
                                         {"id", required_argument, 0, 'i'},
                                         {"data", required_argument, 0, 'd'},
                                         {"policy", required_argument, 0, 'p'},
                                         {"crl", required_argument, 0, 'c'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    int c, ret = 0;
    const char *crls[16];
    size_t n_crls = 0;
    memset(o, 0, sizeof *o);
    o->now = ES_TIME_NONE;
    *json = 0;
    *trust = NULL;
    *file = NULL;
    optind = 1;
    while (ret == 0 && (c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j':
            *json = 1;
            break;
        case 't':
            if (*trust)
                ret = cli_error("--trust once (a directory holds several anchors)");
            else if (cli_load_trust(optarg, trust))
                ret = EXIT_USAGE;
            break;
        case 'a':
            if (cli_time("--at", optarg, &o->now)) ret = EXIT_USAGE;
            break;
        case 'i':
            o->sm2_id = optarg;
            break;
        case 'c':
            if (n_crls == sizeof crls / sizeof crls[0])
                ret = cli_error("--crl at most %zu times", n_crls);
            else
                crls[n_crls++] = optarg;
            break;
        case 'p':
            if (!strcmp(optarg, "ldt"))
                o->policy = ES_POLICY_LDT;
            else if (!strcmp(optarg, "conventions"))
                o->policy = ES_POLICY_CONVENTIONS;
            else
                ret = cli_error("--policy is ldt or conventions, not '%s'", optarg);
            break;
        case 'd':
            if (!data)
                ret = cli_error("--data does not apply here");
            else
                *data = optarg;
            break;
        case 'h':
            fputs(help, stdout);
            ret = -1;
            break;
        default:
            fputs(help, stderr);
            ret = EXIT_USAGE;
        }
    }
    if (ret == 0 && optind + 1 != argc) {
        fputs(help, stderr);
        ret = cli_error(optind == argc ? "missing FILE" : "one file at a time");
    }
    if (ret == 0 && n_crls && !*trust)
        ret = cli_error("--crl needs --trust: a CRL speaks for the certificates of a chain");
    for (size_t i = 0; ret == 0 && i < n_crls; i++) ret = crl_file(*trust, crls[i]);
    if (ret != 0) {
        es_trust_free(*trust);
        *trust = NULL;
        return ret;
    }
    *file = argv[optind];
    o->trust = *trust;
    return 0;
}

int cli_report(es_report *rep, int json)
{
    es_buf out;
    es_buf_init(&out, ES_MAX_REPORT);
    es_report_finish(rep);
    es_err rv = json ? es_report_json(rep, &out) : es_report_text(rep, &out);
    if (rv != ES_OK) {
        es_buf_cleanup(&out);
        return cli_error("cannot render the report: %s", es_err_str(rv));
    }
    cli_out(out.p, out.len);
    es_buf_cleanup(&out);
    switch (rep->indication) {
    case ES_PASSED:
        return EXIT_PASSED;
    case ES_FAILED:
        return EXIT_FAILED;
    default:
        return EXIT_INDETERMINATE;
    }
}

int cli_http(const char *url, const char *opt, const char *method, const char *path,
             const char *headers, es_slice body, size_t max, unsigned *status, es_buf *out)
{
    char host[256], port[8] = "80";
    if (strncmp(url, "http://", 7) != 0) return cli_error("%s: http://HOST:PORT", opt);
    const char *h = url + 7, *end = h + strcspn(h, "/"), *colon = memchr(h, ':', (size_t)(end - h));
    size_t hl = (size_t)((colon ? colon : end) - h);
    if (!hl || hl >= sizeof host) return cli_error("%s: http://HOST:PORT", opt);
    memcpy(host, h, hl);
    host[hl] = 0;
    if (colon) {
        size_t pl = (size_t)(end - colon - 1);
        if (!pl || pl >= sizeof port) return cli_error("%s: http://HOST:PORT", opt);
        memcpy(port, colon + 1, pl);
        port[pl] = 0;
    }
    struct addrinfo hints, *res = NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    if (getaddrinfo(host, port, &hints, &res) != 0)
        return cli_error("%s: %s not found (找不到主机)", opt, host);
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol);
        if (fd >= 0 && connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        if (fd >= 0) close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) return cli_error("%s %s: cannot connect (无法连接): %s", opt, url, strerror(errno));
    es_buf q, a;
    es_buf_init(&q, body.len + 8192);
    es_buf_init(&a, max + 65536);
    int ret = 0;
    if (es_buf_printf(&q, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n%s", method, path,
                      host, headers ? headers : "") != ES_OK ||
        (body.len && es_buf_printf(&q, "Content-Length: %zu\r\n", body.len) != ES_OK) ||
        es_buf_append_str(&q, "\r\n") != ES_OK ||
        (body.len && es_buf_append(&q, body.p, body.len) != ES_OK)) {
        ret = cli_error("the request is too large");
        goto out;
    }
    for (size_t off = 0; off < q.len;) {
        ssize_t n = send(fd, q.p + off, q.len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ret = cli_error("%s %s: the request was cut (请求中断): %s", opt, url, strerror(errno));
            goto out;
        }
        off += (size_t)n;
    }
    char chunk[16384];
    for (;;) {
        ssize_t n = recv(fd, chunk, sizeof chunk, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        if (es_buf_append(&a, chunk, (size_t)n) != ES_OK) break;
    }
    /* Bodies may be binary (a DER answer): the head's end is found by bytes. */
    const uint8_t *b = NULL;
    for (size_t k = 0; k + 4 <= a.len && !b; k++)
        if (!memcmp(a.p + k, "\r\n\r\n", 4)) b = a.p + k;
    char line[64] = "";
    size_t ll = a.len < sizeof line - 1 ? a.len : sizeof line - 1;
    if (ll) memcpy(line, a.p, ll);
    line[ll] = 0;
    if (!b || sscanf(line, "HTTP/1.%*c %u", status) != 1) {
        ret = cli_error("%s %s: no HTTP answer (无HTTP应答)", opt, url);
        goto out;
    }
    if (es_buf_append(out, b + 4, a.len - (size_t)(b + 4 - a.p)) != ES_OK)
        ret = cli_error("the answer is too large");
out:
    es_buf_cleanup(&q);
    es_buf_cleanup(&a);
    close(fd);
    return ret;
}
