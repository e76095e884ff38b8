/* eseal status verify | get: a signed status answer of the status publishing system
 * (docs/status.md; LD/T 01.1 §8.3): checked offline, or fetched from a daemon. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "eseal/status.h"

#define EXIT_ANSWER_BAD 4

static const char help[] =
    "usage: eseal status <verify|get> [options]\n"
    "\n"
    "The status publishing system (状态发布系统) answers \"what state was this seal in at time\n"
    "T, and now\" with an answer signed by its status-system certificate (docs/status.md).\n"
    "\n"
    "  verify ANSWER --trust ROOT [--code C | --serial S] [--at T] [--nonce HEX]\n"
    "         [--now T | --evidence] [--json]\n"
    "        check a DER answer offline: its SM2 signature, the status certificate's chain to\n"
    "        ROOT and its status-system profile, that it answers the question given (seal\n"
    "        code or certificate serial, time, nonce) and that it is fresh (now before its\n"
    "        nextUpdate; --evidence: an answer kept as evidence, no freshness check; --now:\n"
    "        check freshness at another time); then prints the state (Chinese first)\n"
    "  get URL CODE [--cert] [--at T] [--nonce HEX|random] [-o FILE] [--trust ROOT]\n"
    "        ask a daemon (http://HOST:PORT) about the seal CODE (--cert: CODE is a\n"
    "        certificate serial) and write the DER answer to FILE (default: stdout); with\n"
    "        --trust, verify it as above and print the state instead of the bytes\n"
    "\n"
    "exit status (verify, get --trust):\n"
    "  0  the answer is valid and the seal was valid (正常) at the time asked\n"
    "  1  the answer is valid and the seal was NOT valid then (停用, 挂失, 注销, 吊销, 过期, "
    "未生效)\n"
    "  2  the answer is valid and the seal is unknown to the status system (未知)\n"
    "  3  usage error, unreadable file, no answer\n"
    "  4  the answer is not valid: signature, chain, profile, another question, nonce, stale\n"
    "\n"
    "examples:\n"
    "  curl -H 'Accept: application/vnd.eseal.status-answer' \\\n"
    "      'http://esealsd:8440/api/v1/status/RS35010200000001?at=2026-03-01T08:00:00Z' >a.der\n"
    "  eseal status verify a.der --trust root.crt --code RS35010200000001 \\\n"
    "      --at 2026-03-01T08:00:00Z\n"
    "  eseal status get http://esealsd:8440 RS35010200000001 --nonce random --trust root.crt\n"
    "  eseal status verify a.der --trust root.crt --evidence --json\n";

static void print_time(const char *label, es_time t)
{
    char s[32];
    es_time_format_iso(t, s);
    printf("  %-26s %s\n", label, s);
}

static void print_state(const char *label, int s)
{
    printf("  %-26s %s %s\n", label, es_status_state_zh(s), es_status_state_name(s));
}

static int exit_of(const es_status_answer *a)
{
    if (a->r.state_at == ES_STATUS_UNKNOWN) return EXIT_INDETERMINATE;
    return es_status_state_valid(a->r.state_at) ? EXIT_PASSED : EXIT_FAILED;
}

static int print_answer(const es_status_answer *a, int json)
{
    if (json) {
        es_buf js;
        es_buf_init(&js, 1u << 20);
        if (es_status_answer_json(a, &js) != ES_OK) {
            es_buf_cleanup(&js);
            return cli_error("cannot print the answer");
        }
        cli_out(js.p, js.len);
        putchar('\n');
        es_buf_cleanup(&js);
        return exit_of(a);
    }
    const es_status_result *r = &a->r;
    printf("状态应答有效 the status answer is valid\n");
    printf("  %-26s %s\n", "印章编码 seal code", r->code[0] ? r->code : "-");
    printf("  %-26s %s\n", "证书序列号 certificate", r->cert_serial[0] ? r->cert_serial : "-");
    print_time("查询时间 asked about", r->at);
    print_state("当时状态 state then", r->state_at);
    print_state("当前状态 state now", r->state_now);
    if (r->has_validity) {
        print_time("有效期起 valid from", r->not_before);
        print_time("有效期止 valid until", r->not_after);
    }
    print_time("签发时间 produced at", a->produced_at);
    print_time("下次更新 next update", a->next_update);
    if (a->nonce.len) {
        char n[2 * ES_STATUS_NONCE_MAX + 1];
        es_hex_encode(a->nonce.p, a->nonce.len, n);
        printf("  %-26s %s\n", "随机数 nonce", n);
    }
    printf("  历史 history%s:\n", r->history_complete ? "" : " (最近的变更 the latest changes)");
    for (size_t i = 0; i < r->n_history; i++) {
        const es_status_change *c = &r->history[i];
        char t[32];
        es_time_format_iso(c->effective_at, t);
        printf("    %s  %s %s  (%s)%s%s\n", t, es_status_state_zh(c->state),
               es_status_state_name(c->state), c->reason, c->cert_serial[0] ? "  cert " : "",
               c->cert_serial);
    }
    int rc = exit_of(a);
    printf("%s\n", rc == EXIT_PASSED ? "结论：该印章在所查询时间有效 valid at the time asked"
                   : rc == EXIT_FAILED ? "结论：该印章在所查询时间无效 NOT valid at the time asked"
                                       : "结论：状态发布系统不知道该印章 unknown seal");
    return rc;
}

typedef struct verify_args {
    const char *trust, *code, *serial, *at, *nonce, *now;
    int evidence, json;
} verify_args;

/* Checks der as args say and prints; the exit status. */
static int verify_der(es_slice der, const verify_args *va)
{
    es_trust *t = NULL;
    es_buf nonce;
    es_status_answer *a = calloc(1, sizeof *a);
    int rc = EXIT_USAGE;
    char why[400] = "";
    es_buf_init(&nonce, ES_STATUS_NONCE_MAX);
    es_status_expect exp = {va->code,  va->serial,   ES_TIME_NONE,
                            {NULL, 0}, ES_TIME_NONE, va->evidence};
    if (!a) goto out;
    if (va->at && cli_time("--at", va->at, &exp.at) != 0) goto out;
    if (va->now && cli_time("--now", va->now, &exp.now) != 0) goto out;
    if (va->nonce) {
        size_t n = strlen(va->nonce);
        if (n < 2 * ES_STATUS_NONCE_MIN || n > 2 * ES_STATUS_NONCE_MAX ||
            es_hex_decode(va->nonce, n, &nonce) != ES_OK) {
            rc = cli_error("--nonce: 16 to 64 hex digits");
            goto out;
        }
        exp.nonce = es_slice_make(nonce.p, nonce.len);
    }
    if (cli_load_trust(va->trust, &t) != 0) goto out;
    es_err rv = es_status_answer_verify(der, t, &exp, a, why, sizeof why);
    if (rv == ES_ERR_VERIFY) {
        printf("状态应答无效 the status answer is NOT valid: %s\n", why);
        rc = EXIT_ANSWER_BAD;
        goto out;
    }
    if (rv != ES_OK) {
        printf("状态应答无法读取 the status answer cannot be read: %s\n",
               why[0] ? why : es_err_str(rv));
        rc = EXIT_ANSWER_BAD;
        goto out;
    }
    rc = print_answer(a, va->json);
out:
    es_trust_free(t);
    es_buf_cleanup(&nonce);
    free(a);
    return rc;
}

/* The common options of verify and get; 1 when argv[*i] was one (its value consumed), 0 when
 * not, -1 on a missing value. */
static int common_opt(int argc, char **argv, int *i, verify_args *va)
{
    const char *a = argv[*i];
    const char **slot = !strcmp(a, "--trust")    ? &va->trust
                        : !strcmp(a, "--at")     ? &va->at
                        : !strcmp(a, "--nonce")  ? &va->nonce
                        : !strcmp(a, "--now")    ? &va->now
                        : !strcmp(a, "--code")   ? &va->code
                        : !strcmp(a, "--serial") ? &va->serial
                                                 : NULL;
    if (slot) {
        if (*i + 1 >= argc) return -1;
        *slot = argv[++*i];
        return 1;
    }
    if (!strcmp(a, "--evidence")) return va->evidence = 1;
    if (!strcmp(a, "--json")) return va->json = 1;
    return 0;
}

static int status_verify(int argc, char **argv)
{
    verify_args va;
    memset(&va, 0, sizeof va);
    const char *file = NULL;
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        int c = common_opt(argc, argv, &i, &va);
        if (c < 0) {
            fputs(help, stderr);
            return cli_error("%s needs a value", argv[i]);
        }
        if (c) continue;
        if (argv[i][0] == '-' || file) {
            fputs(help, stderr);
            return cli_error("unknown option or second file '%s'", argv[i]);
        }
        file = argv[i];
    }
    if (!file || !va.trust) {
        fputs(help, stderr);
        return cli_error("give the ANSWER file and --trust ROOT");
    }
    es_buf der;
    es_buf_init(&der, ES_STATUS_ANSWER_MAX);
    int rc = cli_read(file, ES_STATUS_ANSWER_MAX, &der);
    if (rc == 0) rc = verify_der(es_slice_make(der.p, der.len), &va);
    es_buf_cleanup(&der);
    return rc;
}

/* GET path from http://HOST:PORT with Accept: the answer's DER; *status and the body. */
static int http_get(const char *url, const char *path, unsigned *status, es_buf *out)
{
    return cli_http(url, "URL", "GET", path, "Accept: application/vnd.eseal.status-answer\r\n",
                    es_slice_make(NULL, 0), ES_STATUS_ANSWER_MAX, status, out);
}

static int status_get(int argc, char **argv)
{
    verify_args va;
    memset(&va, 0, sizeof va);
    const char *url = NULL, *key = NULL, *out = NULL;
    int by_cert = 0;
    if (cli_wants_help(argc, argv)) {
        fputs(help, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        int c = common_opt(argc, argv, &i, &va);
        if (c < 0 || (!strcmp(argv[i], "-o") && i + 1 >= argc)) {
            fputs(help, stderr);
            return cli_error("%s needs a value", argv[i]);
        }
        if (c) continue;
        if (!strcmp(argv[i], "-o"))
            out = argv[++i];
        else if (!strcmp(argv[i], "--cert"))
            by_cert = 1;
        else if (argv[i][0] == '-' || (url && key)) {
            fputs(help, stderr);
            return cli_error("unknown option or extra argument '%s'", argv[i]);
        } else if (!url)
            url = argv[i];
        else
            key = argv[i];
    }
    if (!url || !key) {
        fputs(help, stderr);
        return cli_error("give the URL and the seal CODE");
    }
    char nonce_hex[2 * 16 + 1];
    if (va.nonce && !strcmp(va.nonce, "random")) {
        uint8_t n[16];
        if (es_random(n, sizeof n) != ES_OK) return cli_error("no random bytes");
        es_hex_encode(n, sizeof n, nonce_hex);
        va.nonce = nonce_hex;
    }
    if (by_cert ? !es_status_serial_norm(key, (char[ES_STATUS_SERIAL_MAX]){0})
                : !es_status_code_ok(key))
        return cli_error("%s: not a %s", key, by_cert ? "certificate serial" : "seal code");
    es_time at;
    if (va.at && cli_time("--at", va.at, &at) != 0) return EXIT_USAGE;
    char path[1024], at_iso[32] = "";
    if (va.at) es_time_format_iso(at, at_iso);
    snprintf(path, sizeof path, "/api/v1/status/%s%s%s%s%s%s%s", by_cert ? "certs/" : "", key,
             va.at || va.nonce ? "?" : "", va.at ? "at=" : "", at_iso,
             va.nonce ? (va.at ? "&nonce=" : "nonce=") : "", va.nonce ? va.nonce : "");
    if (va.at) va.at = at_iso;
    if (by_cert)
        va.serial = key;
    else
        va.code = key;
    es_buf der;
    es_buf_init(&der, ES_STATUS_ANSWER_MAX);
    unsigned status = 0;
    int rc = http_get(url, path, &status, &der);
    if (rc == 0 && status != 200) {
        rc = cli_error("%s: HTTP %u: %.*s", url, status, (int)(der.len > 400 ? 400 : der.len),
                       (const char *)der.p);
    }
    if (rc == 0 && (out || !va.trust)) rc = cli_emit(out, der.p, der.len);
    if (rc == 0 && va.trust) rc = verify_der(es_slice_make(der.p, der.len), &va);
    es_buf_cleanup(&der);
    return rc;
}

int cmd_status(int argc, char **argv)
{
    static const cli_cmd subs[] = {
        {"verify", status_verify, "check a signed status answer offline"},
        {"get", status_get, "ask a daemon about a seal"},
    };
    return cli_dispatch(argc, argv, "status", help, subs, sizeof subs / sizeof subs[0]);
}
