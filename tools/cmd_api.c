/* eseal api sign: the Authorization header of a business system's signed request to esealsd
 * (docs/api-clients.md), for curl or any HTTP client. */
#include <string.h>

#include "cli.h"
#include "eseal/clients.h"

static const char help[] =
    "usage: eseal api sign --client NAME --key KEY [--body FILE] [--timestamp T] [--nonce N]\n"
    "                      [--value] [--show] METHOD TARGET\n"
    "\n"
    "Prints the Authorization header a registered business system (API client) sends with a\n"
    "request to esealsd: SM2 (ID 1234567812345678) over the scheme, the client's name, METHOD,\n"
    "TARGET (the path and ?query exactly as sent), timestamp, nonce and the SM3 of the body\n"
    "(docs/api-clients.md). Each header is good for one request: the nonce cannot be reused,\n"
    "and the timestamp must be within the daemon's clock skew (300 s by default).\n"
    "\n"
    "  --client NAME     the client's registered name\n"
    "  --key KEY         its private key: soft:DIR#NAME, sdf:..., skf:..., or a PEM key file\n"
    "                    (PIN or passphrase from ESEAL_PIN or a prompt)\n"
    "  --body FILE       the exact body bytes to be sent (- for standard input); none: empty\n"
    "  --timestamp T     ISO 8601 UTC time (default: now)\n"
    "  --nonce N         16 to 64 of A-Z a-z 0-9 _ - (default: 32 random hex digits)\n"
    "  --value           print only the header's value, not \"Authorization: \"\n"
    "  --show            also print the string to sign on standard error\n"
    "\n"
    "examples:\n"
    "  curl -H \"$(eseal api sign --client erp --key soft:keys#erp GET /api/v1/clients/me)\" \\\n"
    "       http://127.0.0.1:8440/api/v1/clients/me\n"
    "  eseal api sign --client erp --key erp.key --body req.json POST /api/v1/x > hdr &&\n"
    "    curl -H @hdr -H 'Content-Type: application/json' --data-binary @req.json URL\n";

int cmd_api(int argc, char **argv)
{
    int r = cli_sub_help(argc, argv, help);
    if (r >= 0) return r;
    if (strcmp(argv[1], "sign") != 0) {
        fputs(help, stderr);
        return cli_error("unknown subcommand 'api %s'", argv[1]);
    }
    const char *client = NULL, *key = NULL, *body = NULL, *ts = NULL, *nonce = NULL;
    const char *pos[2] = {NULL, NULL};
    int value = 0, show = 0, npos = 0;
    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        const char **dst = strcmp(a, "--client") == 0      ? &client
                           : strcmp(a, "--key") == 0       ? &key
                           : strcmp(a, "--body") == 0      ? &body
                           : strcmp(a, "--timestamp") == 0 ? &ts
                           : strcmp(a, "--nonce") == 0     ? &nonce
                                                           : NULL;
        if (dst) {
            if (i + 1 >= argc) return cli_error("%s needs a value", a);
            *dst = argv[++i];
        } else if (strcmp(a, "--value") == 0) {
            value = 1;
        } else if (strcmp(a, "--show") == 0) {
            show = 1;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(help, stdout);
            return 0;
        } else if (a[0] == '-' && a[1]) {
            return cli_error("unknown option %s", a);
        } else if (npos == 2) {
            return cli_error("one METHOD and one TARGET");
        } else {
            pos[npos++] = a;
        }
    }
    if (!client || !key || npos != 2) {
        fputs(help, stderr);
        return cli_error("needs --client, --key, METHOD and TARGET");
    }
    for (const char *m = pos[0]; *m; m++)
        if (*m < 'A' || *m > 'Z') return cli_error("METHOD is upper case: GET, POST, PUT, ...");
    if (pos[1][0] != '/') return cli_error("TARGET is the path (and ?query), e.g. /api/v1/x");
    if (ts) {
        es_time t;
        if (cli_time("--timestamp", ts, &t)) return EXIT_USAGE;
    }
    es_buf b, out;
    es_buf_init(&b, 64u << 20);
    es_buf_init(&out, 4096);
    if (body && cli_read(body, 64u << 20, &b)) return EXIT_USAGE;
    es_signer *signer = NULL;
    int ret = EXIT_USAGE;
    if (cli_load_signer(key, &signer)) goto done;
    es_slice bs = es_slice_make(b.p, b.len);
    /* Fixed here so that --show prints the string the header below signs. */
    char tsb[32], nb[33];
    uint8_t rnd[16];
    if (!ts) {
        es_time_format_iso(es_time_now(), tsb);
        ts = tsb;
    }
    if (!nonce) {
        if (es_random(rnd, sizeof rnd) != ES_OK) goto done;
        es_hex_encode(rnd, sizeof rnd, nb);
        nonce = nb;
    }
    if (show) {
        es_buf sts;
        es_buf_init(&sts, 1u << 16);
        if (es_client_string_to_sign(client, pos[0], pos[1], ts, nonce, bs, &sts) == ES_OK)
            fprintf(stderr, "%.*s\n", (int)sts.len, (const char *)sts.p);
        es_buf_cleanup(&sts);
    }
    es_err rv = es_client_sign_request(signer, client, pos[0], pos[1], bs, ts, nonce, &out);
    if (rv != ES_OK) {
        ret = cli_error("cannot sign: %s", es_err_str(rv));
        goto done;
    }
    printf("%s%.*s\n", value ? "" : "Authorization: ", (int)out.len, (const char *)out.p);
    ret = 0;
done:
    es_signer_free(signer);
    es_buf_cleanup(&b);
    es_buf_cleanup(&out);
    return ret;
}
