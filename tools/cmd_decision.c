/* eseal decision sign | verify: a person's signed decision (docs/decisions.md, LD/T 01.1 §9.4):
 * signing the canonical bytes with one's own key (a USBKey over SKF) and checking an export of
 * a stored decision offline. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eseal/decision.h"

static const char help[] =
    "usage: eseal decision <sign|verify> [options]\n"
    "\n"
    "A person's decision (submit, review verdict, carry-out, delivery) is signed by that\n"
    "person with their own SM2 key and user certificate (docs/decisions.md).\n"
    "\n"
    "  sign --key KEY TBSFILE [-o SIG]\n"
    "        sign the canonical Decision in TBSFILE (DER, or its base64) with KEY: a key\n"
    "        reference (skf:LIB#DEV/APP/CON for a USBKey, PIN from ESEAL_PIN or a prompt) or\n"
    "        an SM2 key file. What is signed is shown on stderr first; anything that is not\n"
    "        a canonical Decision is refused. The DER signature goes to SIG, else its base64\n"
    "        to stdout (what the console and the API take)\n"
    "  verify FILE --trust ROOT [--json]\n"
    "        check an export of a stored decision: the JSON of GET /api/v1/decisions/{id}\n"
    "        or a DER DecisionBundle; the signer's certificate chains to ROOT, the signature\n"
    "        verifies over the canonical bytes. Or an application's export (GET\n"
    "        /api/v1/applications/{id}/decisions): each decision so, and about that\n"
    "        application. exit 0 valid, 1 not, 3 unreadable\n"
    "\n"
    "examples:\n"
    "  eseal decision sign --key 'skf:libskf.so#/ESEAL/alice' review-42.tbs\n"
    "  curl -H \"Authorization: Bearer $T\" https://esealsd/api/v1/decisions/17 >d17.json\n"
    "  eseal decision verify d17.json --trust root.crt\n"
    "  curl -H \"Authorization: Bearer $T\" \\\n"
    "      https://esealsd/api/v1/applications/42/decisions >a42.json\n"
    "  eseal decision verify a42.json --trust root.crt\n";

static void print_text(const char *label, es_slice s)
{
    fprintf(stderr, "  %-8s %.*s\n", label, (int)s.len, (const char *)s.p);
}

static int decision_sign(int argc, char **argv)
{
    static const char sign_help[] = "usage: eseal decision sign --key KEY TBSFILE [-o SIG]\n"
                                    "\n"
                                    "example:\n"
                                    "  eseal decision sign --key 'skf:libskf.so#/ESEAL/alice' "
                                    "review-42.tbs\n";
    const char *key = NULL, *file = NULL, *out = NULL;
    es_buf raw, der, sig, b64;
    es_signer *s = NULL;
    es_decision_view v;
    int rc = EXIT_USAGE;
    if (cli_wants_help(argc, argv)) {
        fputs(sign_help, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if ((strcmp(a, "--key") == 0 || strcmp(a, "-o") == 0) && i + 1 >= argc) {
            fputs(sign_help, stderr);
            return cli_error("%s needs a value", a);
        }
        if (strcmp(a, "--key") == 0)
            key = argv[++i];
        else if (strcmp(a, "-o") == 0)
            out = argv[++i];
        else if (a[0] == '-' || file) {
            fputs(sign_help, stderr);
            return cli_error("unknown option or second file '%s'", a);
        } else
            file = a;
    }
    if (!key || !file) {
        fputs(sign_help, stderr);
        return cli_error("give --key and the TBSFILE");
    }
    es_buf_init(&der, ES_DECISION_TBS_MAX);
    es_buf_init(&sig, 256);
    es_buf_init(&b64, 512);
    if (cli_read(file, 2 * ES_DECISION_TBS_MAX, &raw)) goto done;
    es_slice in = es_slice_make(raw.p, raw.len);
    if (raw.len && raw.p[0] != 0x30) {
        /* base64 (a trailing line break is not part of it) */
        size_t n = raw.len;
        while (n && (raw.p[n - 1] == '\n' || raw.p[n - 1] == '\r')) n--;
        if (es_base64_decode((const char *)raw.p, n, &der) != ES_OK) {
            cli_error("%s: neither DER nor base64", file);
            goto out;
        }
        in = es_slice_make(der.p, der.len);
    }
    es_err rv = es_decision_parse(in, &v);
    if (rv != ES_OK) {
        /* Never sign something else than a decision with a person's key. */
        cli_error("%s: not a canonical Decision (docs/decisions.md): %s", file, es_err_str(rv));
        goto out;
    }
    char at[32], hex[65];
    es_time_format_iso(v.at, at);
    es_hex_encode(v.subject_sm3, 32, hex);
    fprintf(stderr, "signing this decision:\n");
    print_text("actor", v.actor);
    print_text("action", v.action);
    print_text("object", v.object);
    print_text("verdict", v.verdict);
    print_text("opinion", v.opinion);
    fprintf(stderr, "  %-8s %s\n  %-8s %s\n", "subject", hex, "time", at);
    if ((rc = cli_load_signer(key, &s)) != 0) goto out;
    rc = EXIT_USAGE;
    rv = es_signer_sign_message(s, ES_SM2_DEFAULT_ID, in.p, in.len, &sig);
    if (rv != ES_OK) {
        cli_error("cannot sign: %s", es_err_str(rv));
        goto out;
    }
    if (out) {
        rc = cli_write(out, sig.p, sig.len);
        goto out;
    }
    if (es_base64_encode(sig.p, sig.len, &b64) != ES_OK || es_buf_append(&b64, "\n", 1) != ES_OK) {
        cli_error("out of memory");
        goto out;
    }
    rc = cli_emit(NULL, b64.p, b64.len);
out:
    es_buf_cleanup(&raw);
done:
    es_signer_free(s);
    es_buf_cleanup(&der);
    es_buf_cleanup(&sig);
    es_buf_cleanup(&b64);
    return rc;
}

static void json_text(const char *key, es_slice s, int last)
{
    printf("  \"%s\": \"", key);
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = s.p[i];
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    printf("\"%s\n", last ? "" : ",");
}

/* One decision of an application's export: verified, and about that application. */
typedef struct export_run {
    const char *file;
    const es_trust *trust;
    size_t n, passed;
} export_run;

static es_err export_one(void *ctx, size_t i, int64_t application, const es_decision_bundle_view *b,
                         es_err parse_rv, const char *pwhy)
{
    export_run *x = ctx;
    es_decision_view v;
    char why[512] = "", object[64];
    memset(&v, 0, sizeof v);
    x->n++;
    if (!b) {
        printf("%s: decision %zu: FAILED: %s\n", x->file, i + 1,
               pwhy[0] ? pwhy : es_err_str(parse_rv));
        return ES_OK;
    }
    es_err rv = es_decision_verify(b, x->trust, &v, why, sizeof why);
    snprintf(object, sizeof object, "application:%lld", (long long)application);
    /* A decision of another application slipped in verifies on its own: it is not this one's. */
    if (rv == ES_OK && v.action.len > 12 && !memcmp(v.action.p, "application.", 12) &&
        (v.object.len != strlen(object) || memcmp(v.object.p, object, v.object.len) != 0)) {
        snprintf(why, sizeof why, "the decision is about %.*s, not %s", (int)v.object.len,
                 (const char *)v.object.p, object);
        rv = ES_ERR_VERIFY;
    }
    char at[32];
    es_time_format_iso(v.at, at);
    printf("%s: decision %zu: %s%s%s\n  actor %.*s, action %.*s, verdict %.*s, time %s\n", x->file,
           i + 1, rv == ES_OK ? "PASSED" : "FAILED", rv == ES_OK ? "" : ": ",
           rv == ES_OK ? "" : why, (int)v.actor.len, (const char *)v.actor.p, (int)v.action.len,
           (const char *)v.action.p, (int)v.verdict.len, (const char *)v.verdict.p,
           v.actor.len ? at : "-");
    if (rv == ES_OK) x->passed++;
    return ES_OK;
}

static int decision_verify(int argc, char **argv)
{
    static const char verify_help[] = "usage: eseal decision verify FILE --trust ROOT [--json]\n"
                                      "\n"
                                      "examples:\n"
                                      "  eseal decision verify d17.json --trust root.crt\n"
                                      "  eseal decision verify application-42-decisions.json "
                                      "--trust root.crt\n";
    const char *file = NULL, *trust_path = NULL;
    int json = 0, rc = EXIT_USAGE;
    es_buf raw, keep;
    es_trust *trust = NULL;
    es_decision_bundle_view b;
    es_decision_view v;
    char why[512] = "";
    memset(&v, 0, sizeof v);
    if (cli_wants_help(argc, argv)) {
        fputs(verify_help, stdout);
        return 0;
    }
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--trust") == 0 && i + 1 < argc)
            trust_path = argv[++i];
        else if (strcmp(a, "--json") == 0)
            json = 1;
        else if (a[0] == '-' || file) {
            fputs(verify_help, stderr);
            return cli_error("unknown option or second file '%s'", a);
        } else
            file = a;
    }
    if (!file || !trust_path) {
        fputs(verify_help, stderr);
        return cli_error("give FILE and --trust ROOT");
    }
    es_buf_init(&keep, ES_DECISION_BUNDLE_MAX);
    if (cli_read(file, ES_DECISION_EXPORT_MAX, &raw)) goto done;
    if ((rc = cli_load_trust(trust_path, &trust)) != 0) goto out;
    rc = EXIT_USAGE;
    /* An application's export: every decision in it must pass. */
    export_run x = {file, trust, 0, 0};
    es_err rv =
        es_decision_export_each(es_slice_make(raw.p, raw.len), export_one, &x, why, sizeof why);
    if (rv != ES_ERR_NOT_FOUND) {
        if (rv != ES_OK) {
            cli_error("%s: %s", file, why[0] ? why : es_err_str(rv));
            goto out;
        }
        printf("%s: %zu of %zu decisions PASSED%s\n", file, x.passed, x.n,
               x.passed == x.n ? "" : ": the export FAILED");
        rc = x.passed == x.n ? EXIT_PASSED : EXIT_FAILED;
        goto out;
    }
    if (raw.len > ES_DECISION_BUNDLE_MAX) {
        cli_error("%s: larger than a decision bundle may be", file);
        goto out;
    }
    why[0] = 0;
    rv = es_decision_bundle_parse(es_slice_make(raw.p, raw.len), &keep, &b, why, sizeof why);
    if (rv != ES_OK) {
        cli_error("%s: %s", file, why[0] ? why : es_err_str(rv));
        goto out;
    }
    rv = es_decision_verify(&b, trust, &v, why, sizeof why);
    rc = rv == ES_OK ? EXIT_PASSED : EXIT_FAILED;
    if (rv != ES_OK && v.actor.len == 0) {
        printf("%s: FAILED: %s\n", file, why[0] ? why : es_err_str(rv));
        goto out;
    }
    char at[32], hex[65];
    es_time_format_iso(v.at, at);
    es_hex_encode(v.subject_sm3, 32, hex);
    if (json) {
        printf("{\n  \"valid\": %s,\n", rv == ES_OK ? "true" : "false");
        if (rv != ES_OK) json_text("reason", es_slice_make(why, strlen(why)), 0);
        json_text("actor", v.actor, 0);
        json_text("action", v.action, 0);
        json_text("object", v.object, 0);
        json_text("verdict", v.verdict, 0);
        json_text("opinion", v.opinion, 0);
        printf("  \"subject_sm3\": \"%s\",\n  \"time\": \"%s\"\n}\n", hex, at);
    } else {
        printf("%s: %s%s%s\n", file, rv == ES_OK ? "PASSED" : "FAILED", rv == ES_OK ? "" : ": ",
               rv == ES_OK ? "" : why);
        printf("  actor    %.*s\n  action   %.*s\n  object   %.*s\n  verdict  %.*s\n"
               "  opinion  %.*s\n  subject  %s\n  time     %s\n",
               (int)v.actor.len, (const char *)v.actor.p, (int)v.action.len,
               (const char *)v.action.p, (int)v.object.len, (const char *)v.object.p,
               (int)v.verdict.len, (const char *)v.verdict.p, (int)v.opinion.len,
               (const char *)v.opinion.p, hex, at);
    }
out:
    es_buf_cleanup(&raw);
done:
    es_trust_free(trust);
    es_buf_cleanup(&keep);
    return rc;
}

int cmd_decision(int argc, char **argv)
{
    static const cli_cmd subs[] = {
        {"sign", decision_sign, "sign a decision's canonical bytes with one's own key"},
        {"verify", decision_verify, "verify an exported decision offline"},
    };
    return cli_dispatch(argc, argv, "decision", help, subs, sizeof subs / sizeof subs[0]);
}
