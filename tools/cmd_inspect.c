/* eseal inspect: recognise a file by structure and print it. */
#include <string.h>

#include "cli.h"

static const char help[] =
    "usage: eseal inspect FILE [--json]\n"
    "\n"
    "Recognises a seal (SESeal), a signature (SES_Signature), a certificate or a GB/T 35275\n"
    "SignedData by its structure and prints its fields.\n"
    "\n"
    "example:\n"
    "  eseal inspect Doc_0/Signs/Sign_0/SignedValue.dat\n";

static int print_cert(es_slice der, int json)
{
    es_cert_info ci;
    if (es_cert_parse(der, &ci) != ES_OK) return cli_error("unreadable certificate");
    char a[32], b[32];
    es_time_format_iso(ci.not_before, a);
    es_time_format_iso(ci.not_after, b);
    if (json) {
        es_buf o;
        es_buf_init(&o, 1 << 20);
        es_err rv = es_buf_append_str(&o, "{\"kind\":\"certificate\",\"subject\":");
        if (rv == ES_OK) rv = es_json_str(&o, ci.subject, strlen(ci.subject));
        if (rv == ES_OK) rv = es_buf_append_str(&o, ",\"issuer\":");
        if (rv == ES_OK) rv = es_json_str(&o, ci.issuer, strlen(ci.issuer));
        if (rv == ES_OK)
            rv = es_buf_printf(&o,
                               ",\"serial\":\"%s\",\"not_before\":\"%s\",\"not_after\":\"%s\","
                               "\"key\":\"%s\",\"ca\":%s}\n",
                               ci.serial, a, b, ci.is_sm2 ? "SM2" : "other",
                               ci.is_ca ? "true" : "false");
        if (rv == ES_OK) cli_out(o.p, o.len);
        es_buf_cleanup(&o);
    } else {
        printf("kind                         certificate\n"
               "subject                      %s\nissuer                       %s\n"
               "serial                       %s\nnot_before                   %s\n"
               "not_after                    %s\nkey                          %s\n"
               "ca                           %s\nsignature_alg                %s\n",
               ci.subject, ci.issuer, ci.serial, a, b, ci.is_sm2 ? "SM2" : "other",
               ci.is_ca ? "yes" : "no", ci.sig_alg);
    }
    es_cert_info_cleanup(&ci);
    return 0;
}

int cmd_inspect(int argc, char **argv)
{
    const char *file;
    int json;
    int r = cli_file_args(argc, argv, help, &file, &json, NULL, NULL);
    if (r) return r < 0 ? 0 : r;
    if (!file) {
        fputs(help, stderr);
        return EXIT_USAGE;
    }
    es_buf b, out, der;
    if (cli_read(file, ES_MAX_SEAL_DER, &b)) return EXIT_USAGE;
    es_slice in = es_slice_make(b.p, b.len);
    es_buf_init(&out, ES_MAX_REPORT);
    es_buf_init(&der, ES_MAX_CERT_DER);
    int ret = 0;
    es_err rv = ES_OK;
    es_kind k = es_detect(in);
    if (k == ES_KIND_UNKNOWN && es_cert_to_der(b.p, b.len, &der) == ES_OK) {
        in = es_slice_make(der.p, der.len); /* a PEM certificate */
        k = ES_KIND_CERT;
    }
    switch (k) {
    case ES_KIND_SEAL: {
        es_seal s;
        rv = es_seal_from_der(in, 1, &s);
        if (rv == ES_OK) rv = json ? es_seal_print_json(&s, &out) : es_seal_print(&s, &out);
        break;
    }
    case ES_KIND_SIGNATURE: {
        es_signature s;
        rv = es_signature_from_der(in, 1, &s);
        if (rv == ES_OK)
            rv = json ? es_signature_print_json(&s, &out) : es_signature_print(&s, &out);
        break;
    }
    case ES_KIND_CERT:
        ret = print_cert(in, json);
        break;
    case ES_KIND_CMS: {
        /* Printed as its verification report (without data): kind, signer and checks. */
        es_report rep;
        es_verify_opts o;
        memset(&o, 0, sizeof o);
        o.now = ES_TIME_NONE;
        es_report_init(&rep);
        rv = es_report_set_file(&rep, file);
        if (rv == ES_OK) rv = es_signature_verify(in, &o, &rep);
        if (rv == ES_OK) {
            es_report_finish(&rep);
            rv = json ? es_report_json(&rep, &out) : es_report_text(&rep, &out);
        }
        es_report_cleanup(&rep);
        break;
    }
    default:
        ret = cli_error("%s: not a seal, signature, certificate or SignedData", file);
    }
    if (rv != ES_OK)
        ret = cli_error("%s: %s", file, es_err_str(rv));
    else
        cli_out(out.p, out.len);
    es_buf_cleanup(&out);
    es_buf_cleanup(&der);
    es_buf_cleanup(&b);
    return ret;
}
