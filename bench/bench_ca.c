/* bench_ca: certificates issued per second, against raw SM2 operations in the same run.
 *
 *   bench_ca [-t SECONDS] [--only NAME] [-n N] [--no-dir] [--store URL] [SECONDS]
 *
 * Measures, interleaved in slices on one thread, each for a fixed wall time (default 2 s):
 *   raw_sign     OpenSSL EVP_PKEY_sign on a 32-byte digest (context set up once, as
 *                `openssl speed sm2` does)
 *   raw_verify   OpenSSL EVP_PKEY_verify likewise
 *   cert_make    es_pki_cert_make: a seal certificate (subject, SAN-less seal profile, seven
 *                extensions) built in DER and signed by an in-memory key: Z, e, one SM2 sign
 *   csr_issue    a PKCS#10 request parsed, its signature verified, its subject read, and the
 *                certificate made: one SM2 verify and one SM2 sign
 *   ca_issue     es_ca_issue on a CA directory in TMPDIR with a soft key: the request path
 *                plus lint, the check of the new signature (a second verify), and the record
 *                in the CA's state (DIR/ca.db, SQLite: one transaction, WAL, synchronous=FULL);
 *                --no-dir leaves it out
 *   1000 issuances  then, on a fresh CA, 1000 es_ca_issue in a row, timed whole: on
 *                DIR/ca.db, and with --store URL also on that store (e.g. a PostgreSQL
 *                database; the CA's rows stay there), each as a ratio to raw_sign
 *
 * Ratios: cert_make against raw_sign (goal >= 0.9: our DER and hashing under 10%); csr_issue
 * against one sign plus one verify (1 / (1/sign + 1/verify)); ca_issue against one sign plus
 * two verifies. ca_issue pays one durable commit per certificate.
 *
 * A benchmark, not a test: it calls OpenSSL directly for the baseline.
 */
#define BENCH_NAME "bench_ca"
#include "bench.h"

#include "eseal/castore.h"
#include "eseal/pki.h"

static bench_opts timing = {2.0, NULL, 0};
static const bench_table table = {44, 10};

/* --- eseal --- */

typedef struct job {
    es_pki_tbs tbs;
    es_signer *issuer;
    es_buf out, tmp;
    es_slice csr;
    es_ca *ca;
    es_ca_request req;
} job;

static int cert_make(void *arg)
{
    job *j = arg;
    j->out.len = 0;
    j->tbs.serial[15]++; /* a new certificate each time */
    return es_pki_cert_make(&j->tbs, j->issuer, &j->out) == ES_OK;
}

static int csr_issue(void *arg)
{
    job *j = arg;
    es_pki_csr c;
    es_name subject;
    j->tmp.len = 0;
    j->out.len = 0;
    if (es_pki_csr_parse(j->csr.p, j->csr.len, &j->tmp, &c) != ES_OK ||
        es_pki_csr_verify(&c) != ES_OK || es_pki_name_from_der(c.subject, &subject) != ES_OK)
        return 0;
    es_pki_tbs t = j->tbs;
    t.subject = &subject;
    memcpy(t.pub, c.pub, ES_SM2_PUB_LEN);
    t.serial[15] = (uint8_t)(j->tbs.serial[15]++ ^ 0x5a);
    return es_pki_cert_make(&t, j->issuer, &j->out) == ES_OK;
}

static int ca_issue(void *arg)
{
    job *j = arg;
    es_pki_lint lint;
    j->out.len = 0;
    es_err rv = es_ca_issue(j->ca, &j->req, &lint, &j->out, NULL);
    if (rv == ES_ERR_LINT)
        for (size_t i = 0; i < lint.n && i < ES_PKI_LINT_MAX; i++)
            fprintf(stderr, "bench_ca: lint: %s\n", lint.msg[i]);
    return rv == ES_OK;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_ca [-t SECONDS] [--only raw_sign|raw_verify|cert_make|"
                    "csr_issue|ca_issue] [-n N] [--no-dir] [--store URL] [SECONDS]\n");
    exit(2);
}

static es_err count_cb(void *ctx, const es_ca_entry *e)
{
    (void)e;
    (*(size_t *)ctx)++;
    return ES_OK;
}

/* 1000 issuances in a row on a fresh CA (made in base/NAME) whose state is at url (NULL:
 * DIR/ca.db); returns certificates per second. */
static double issue_1000(const char *base, const char *name, const char *url, es_slice csr,
                         es_secret_src *pin, const es_name *issuer_name)
{
    char dir[700], ref[800], why[256];
    es_ca *ca = NULL;
    es_buf out;
    es_err rv;
    snprintf(dir, sizeof dir, "%s/%s", base, name);
    snprintf(ref, sizeof ref, "soft:%s/keys#%s", base, name);
    es_ca_init_params p;
    memset(&p, 0, sizeof p);
    p.dir = dir;
    p.key_ref = ref;
    p.pin = pin;
    p.generate_key = 1;
    p.subject = issuer_name;
    es_pki_lint lint;
    if ((rv = es_ca_init(&p, &lint)) != ES_OK) bench_die("es_ca_init", rv);
    rv = url ? es_ca_open_url(dir, url, NULL, "bench", &ca, why, sizeof why)
             : es_ca_open(dir, &ca, why, sizeof why);
    if (rv != ES_OK) bench_die(why, rv);
    if ((rv = es_ca_login(ca, pin)) != ES_OK) bench_die("es_ca_login", rv);
    es_ca_request req;
    memset(&req, 0, sizeof req);
    req.profile = "seal";
    req.csr = csr.p;
    req.csr_len = csr.len;
    req.not_before = ES_TIME_NONE;
    es_buf_init(&out, ES_MAX_CERT_DER);
    double t0 = bench_now();
    for (int i = 0; i < 1000; i++) {
        out.len = 0;
        if ((rv = es_ca_issue(ca, &req, &lint, &out, NULL)) != ES_OK) bench_die("es_ca_issue", rv);
    }
    double t = bench_now() - t0;
    size_t n = 0;
    if ((rv = es_ca_list(ca, NULL, count_cb, &n)) != ES_OK || n != 1000)
        bench_die("1000 certificates recorded", rv == ES_OK ? ES_ERR_FORMAT : rv);
    es_ca_close(ca);
    es_buf_cleanup(&out);
    return 1000 / t;
}

int main(int argc, char **argv)
{
    int use_dir = 1;
    const char *store_url = NULL;
    for (int i = 1; i < argc; i++) {
        if (bench_opt(&timing, argc, argv, &i)) continue;
        if (strcmp(argv[i], "--no-dir") == 0)
            use_dir = 0;
        else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
            store_url = argv[++i];
        else
            usage();
    }
    if (timing.seconds <= 0) usage();

    es_profiles profiles;
    char why[256];
    es_err rv = es_pki_profiles_parse(es_pki_profiles_builtin(), &profiles, why, sizeof why);
    if (rv != ES_OK) bench_die(why, rv);

    /* The issuer: an in-memory key; the subject key another. */
    es_sm2_key *ik = NULL, *sk = NULL;
    es_signer *issuer = NULL, *subject_key = NULL;
    if ((rv = es_sm2_key_generate(&ik)) != ES_OK ||
        (rv = es_signer_from_key(ik, &issuer)) != ES_OK ||
        (rv = es_sm2_key_generate(&sk)) != ES_OK ||
        (rv = es_signer_from_key(sk, &subject_key)) != ES_OK)
        bench_die("keys", rv);
    es_name issuer_name, subject;
    if (es_pki_name_parse("/C=CN/O=eseal bench/CN=bench root", &issuer_name, why, sizeof why) ||
        es_pki_name_parse("/C=CN/O=91350100M000100Y43某某市人力资源和社会保障局/CN=35010000000001",
                          &subject, why, sizeof why))
        bench_die(why, ES_ERR_FORMAT);
    es_buf issuer_der, csr;
    es_buf_init(&issuer_der, ES_MAX_CERT_DER);
    es_buf_init(&csr, ES_MAX_CERT_DER);
    if ((rv = es_pki_name_to_der(&issuer_name, &issuer_der)) != ES_OK) bench_die("name", rv);
    if ((rv = es_pki_csr_make(&subject, NULL, 0, subject_key, &csr)) != ES_OK) bench_die("csr", rv);

    job j;
    memset(&j, 0, sizeof j);
    j.issuer = issuer;
    j.tbs.profile = es_pki_profile_find(&profiles, "seal");
    j.tbs.subject = &subject;
    memcpy(j.tbs.pub, subject_key->pub, ES_SM2_PUB_LEN);
    j.tbs.issuer = es_slice_make(issuer_der.p, issuer_der.len);
    if ((rv = es_pki_key_id(issuer->pub, j.tbs.issuer_key_id)) != ES_OK) bench_die("key id", rv);
    j.tbs.issuer_key_id_len = ES_PKI_KEY_ID_LEN;
    j.tbs.serial[0] = 0x40;
    j.tbs.serial_len = ES_PKI_SERIAL_LEN;
    j.tbs.not_before = es_time_now();
    j.tbs.not_after = j.tbs.not_before + 1095 * 86400;
    j.tbs.seal_source = ES_SEAL_SOURCE_HRSS;
    j.tbs.crl_url = "http://ca.example/ca.crl";
    j.csr = es_slice_make(csr.p, csr.len);
    es_buf_init(&j.out, ES_MAX_CERT_DER);
    es_buf_init(&j.tmp, ES_MAX_CERT_DER);

    /* The CA directory. */
    char tmpl[512], dir[600], ref[700];
    es_secret_src pin = {bench_fixed_pin, (void *)"bench-passphrase"};
    job jc = j;
    if (use_dir) {
        bench_tmpdir(NULL, tmpl, sizeof tmpl);
        snprintf(dir, sizeof dir, "%s/ca", tmpl);
        snprintf(ref, sizeof ref, "soft:%s/keys#ca", tmpl);
        es_ca_init_params p;
        memset(&p, 0, sizeof p);
        p.dir = dir;
        p.key_ref = ref;
        p.pin = &pin;
        p.generate_key = 1;
        p.subject = &issuer_name;
        es_pki_lint lint;
        if ((rv = es_ca_init(&p, &lint)) != ES_OK) bench_die("es_ca_init", rv);
        if ((rv = es_ca_open(dir, &jc.ca, why, sizeof why)) != ES_OK) bench_die(why, rv);
        if ((rv = es_ca_login(jc.ca, &pin)) != ES_OK) bench_die("es_ca_login", rv);
        jc.req.profile = "seal";
        jc.req.csr = csr.p;
        jc.req.csr_len = csr.len;
        jc.req.not_before = ES_TIME_NONE;
        es_buf_init(&jc.out, ES_MAX_CERT_DER);
    }

    bench_banner(&timing);
    if (cert_make(&j)) printf("a seal certificate: %zu bytes\n\n", j.out.len);

    bench_raw r;
    bench_raw_setup(&r);
    bench_meas m[] = {
        {"raw_sign", bench_raw_sign, &r},
        {"raw_verify", bench_raw_verify, &r},
        {"cert_make", cert_make, &j},
        {"csr_issue", csr_issue, &j},
        {"ca_issue", use_dir ? ca_issue : NULL, &jc},
    };
    bench_measure(&timing, m, sizeof m / sizeof m[0]);
    double s = bench_rate(&m[0]), v = bench_rate(&m[1]), mk = bench_rate(&m[2]);
    double ci = bench_rate(&m[3]), ca = bench_rate(&m[4]);
    double sv = s > 0 && v > 0 ? 1 / (1 / s + 1 / v) : 0;
    double svv = s > 0 && v > 0 ? 1 / (1 / s + 2 / v) : 0;

    bench_header(&table, "operation", "ops/s");
    bench_row(&table, "openssl SM2 sign (32-byte digest)", s, 0, "");
    bench_row(&table, "openssl SM2 verify (32-byte digest)", v, 0, "");
    bench_row(&table, "eseal es_pki_cert_make (seal certificate)", mk, s, "raw sign (1 SM2 sign)");
    bench_row(&table, "eseal request -> certificate (in memory)", ci, sv, "1 sign + 1 verify");
    bench_row(&table, "eseal es_ca_issue (state in ca.db)", ca, svv, "1 sign + 2 verifies");
    printf("\nratio = eseal ops/s / baseline ops/s; cert_make goal >= 0.9\n");

    if (use_dir) {
        size_t n = 0;
        if (es_ca_list(jc.ca, NULL, count_cb, &n) != ES_OK) n = 0;
        printf("(the CA held %zu certificates at the end)\n\n", n);
        double a = issue_1000(tmpl, "ca1000", NULL, j.csr, &pin, &issuer_name);
        bench_header(&table, "1000 issuances in a row", "certs/s");
        bench_row(&table, "es_ca_issue x 1000, SQLite (DIR/ca.db)", a, s, "raw SM2 sign");
        if (store_url) {
            double b = issue_1000(tmpl, "castore", store_url, j.csr, &pin, &issuer_name);
            bench_row(&table, "es_ca_issue x 1000, --store", b, s, "raw SM2 sign");
        }
        es_ca_close(jc.ca);
        es_buf_cleanup(&jc.out);
        bench_rmdir(tmpl);
    }
    bench_raw_cleanup(&r);
    es_signer_free(issuer);
    es_signer_free(subject_key);
    es_buf_cleanup(&issuer_der);
    es_buf_cleanup(&csr);
    es_buf_cleanup(&j.out);
    es_buf_cleanup(&j.tmp);
    return s < 0 || v < 0 || mk < 0 || ci < 0 || ca < 0 ? 1 : 0;
}
