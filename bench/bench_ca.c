/* bench_ca: certificates issued per second, against raw SM2 operations in the same run.
 *
 *   bench_ca [-t SECONDS] [--only NAME] [-n N] [--no-dir] [SECONDS]
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
 *                plus lint, the check of the new signature (a second verify), and the records
 *                (certs/SERIAL.pem and the whole index.txt, each written and fsync'ed);
 *                --no-dir leaves it out
 *
 * Ratios: cert_make against raw_sign (goal >= 0.9: our DER and hashing under 10%); csr_issue
 * against one sign plus one verify (1 / (1/sign + 1/verify)); ca_issue against one sign plus
 * two verifies. ca_issue is bound by the file system (two fsyncs per certificate, and an index
 * rewrite that grows with the CA).
 *
 * A benchmark, not a test: it calls OpenSSL directly for the baseline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>

#include "eseal/pki.h"

static double seconds = 2.0;
static const char *only;
static long fixed_n;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, es_err rv)
{
    fprintf(stderr, "bench_ca: %s: %s\n", what, es_err_str(rv));
    exit(1);
}

typedef struct meas {
    const char *name;
    int (*op)(void *);
    void *arg;
    long n;
    double t;
    int state; /* 0 to run, 1 skipped, -1 failed */
} meas;

#define SLICES 10

static void measure_all(meas *m, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        m[i].n = 0;
        m[i].t = 0;
        m[i].state = (only && strcmp(only, m[i].name) != 0) || !m[i].op ? 1 : 0;
        if (m[i].state == 0 && !m[i].op(m[i].arg)) m[i].state = -1;
    }
    int slices = fixed_n ? 1 : SLICES;
    for (int sl = 0; sl < slices; sl++) {
        for (size_t i = 0; i < k; i++) {
            if (m[i].state != 0) continue;
            long n = 0;
            double start = now_s(), end = start + seconds / slices;
            while (fixed_n ? n < fixed_n : n == 0 || now_s() < end) {
                if (!m[i].op(m[i].arg)) {
                    m[i].state = -1;
                    break;
                }
                n++;
            }
            m[i].n += n;
            m[i].t += now_s() - start;
        }
    }
}

static double rate(const meas *m)
{
    return m->state < 0 ? -1 : m->state > 0 || m->t <= 0 ? 0 : (double)m->n / m->t;
}

/* --- raw OpenSSL --- */

typedef struct raw {
    EVP_PKEY_CTX *vctx, *sctx;
    unsigned char dgst[32];
    unsigned char sig[80];
    size_t siglen;
} raw;

static int raw_sign(void *arg)
{
    raw *r = arg;
    unsigned char sig[80];
    size_t len = sizeof sig;
    return EVP_PKEY_sign(r->sctx, sig, &len, r->dgst, sizeof r->dgst) == 1;
}

static int raw_verify(void *arg)
{
    raw *r = arg;
    return EVP_PKEY_verify(r->vctx, r->sig, r->siglen, r->dgst, sizeof r->dgst) == 1;
}

static EVP_PKEY *raw_setup(raw *r)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    memset(r, 0, sizeof *r);
    for (size_t i = 0; i < sizeof r->dgst; i++) r->dgst[i] = (unsigned char)(i * 7 + 1);
    r->siglen = sizeof r->sig;
    if (!pk || !(r->sctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) ||
        !(r->vctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL)) ||
        EVP_PKEY_sign_init(r->sctx) <= 0 || EVP_PKEY_verify_init(r->vctx) <= 0 ||
        EVP_PKEY_sign(r->sctx, r->sig, &r->siglen, r->dgst, sizeof r->dgst) != 1) {
        ERR_print_errors_fp(stderr);
        fprintf(stderr, "bench_ca: OpenSSL SM2 setup failed\n");
        exit(1);
    }
    return pk;
}

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

static void row(const char *name, double ops, double base, const char *vs)
{
    if (ops < 0)
        printf("%-44s %10s\n", name, "FAILED");
    else if (ops == 0)
        printf("%-44s %10s\n", name, "skipped");
    else if (base > 0)
        printf("%-44s %10.0f %8.3f  %s\n", name, ops, ops / base, vs);
    else
        printf("%-44s %10.0f %8s  %s\n", name, ops, "-", vs);
}

static es_err fixed_pin(void *ctx, const char *what, char *buf, size_t cap)
{
    (void)what;
    snprintf(buf, cap, "%s", (const char *)ctx);
    return ES_OK;
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_ca [-t SECONDS] [--only raw_sign|raw_verify|cert_make|"
                    "csr_issue|ca_issue] [-n N] [--no-dir] [SECONDS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    int use_dir = 1;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            fixed_n = atol(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--no-dir") == 0)
            use_dir = 0;
        else if (argv[i][0] >= '0' && argv[i][0] <= '9')
            seconds = atof(argv[i]);
        else
            usage();
    }
    if (seconds <= 0) usage();

    es_profiles profiles;
    char why[256];
    es_err rv = es_pki_profiles_parse(es_pki_profiles_builtin(), &profiles, why, sizeof why);
    if (rv != ES_OK) die(why, rv);

    /* The issuer: an in-memory key; the subject key another. */
    es_sm2_key *ik = NULL, *sk = NULL;
    es_signer *issuer = NULL, *subject_key = NULL;
    if ((rv = es_sm2_key_generate(&ik)) != ES_OK ||
        (rv = es_signer_from_key(ik, &issuer)) != ES_OK ||
        (rv = es_sm2_key_generate(&sk)) != ES_OK ||
        (rv = es_signer_from_key(sk, &subject_key)) != ES_OK)
        die("keys", rv);
    es_name issuer_name, subject;
    if (es_pki_name_parse("/C=CN/O=eseal bench/CN=bench root", &issuer_name, why, sizeof why) ||
        es_pki_name_parse("/C=CN/O=91350100M000100Y43某某市人力资源和社会保障局/CN=35010000000001",
                          &subject, why, sizeof why))
        die(why, ES_ERR_FORMAT);
    es_buf issuer_der, csr;
    es_buf_init(&issuer_der, ES_MAX_CERT_DER);
    es_buf_init(&csr, ES_MAX_CERT_DER);
    if ((rv = es_pki_name_to_der(&issuer_name, &issuer_der)) != ES_OK) die("name", rv);
    if ((rv = es_pki_csr_make(&subject, NULL, 0, subject_key, &csr)) != ES_OK) die("csr", rv);

    job j;
    memset(&j, 0, sizeof j);
    j.issuer = issuer;
    j.tbs.profile = es_pki_profile_find(&profiles, "seal");
    j.tbs.subject = &subject;
    memcpy(j.tbs.pub, subject_key->pub, ES_SM2_PUB_LEN);
    j.tbs.issuer = es_slice_make(issuer_der.p, issuer_der.len);
    if ((rv = es_pki_key_id(issuer->pub, j.tbs.issuer_key_id)) != ES_OK) die("key id", rv);
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
    es_secret_src pin = {fixed_pin, (void *)"bench-passphrase"};
    job jc = j;
    if (use_dir) {
        snprintf(tmpl, sizeof tmpl, "%s/eseal-bench-ca.XXXXXX",
                 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
        if (!mkdtemp(tmpl)) die("mkdtemp", ES_ERR_IO);
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
        if ((rv = es_ca_init(&p, &lint)) != ES_OK) die("es_ca_init", rv);
        if ((rv = es_ca_open(dir, &jc.ca, why, sizeof why)) != ES_OK) die(why, rv);
        if ((rv = es_ca_login(jc.ca, &pin)) != ES_OK) die("es_ca_login", rv);
        jc.req.profile = "seal";
        jc.req.csr = csr.p;
        jc.req.csr_len = csr.len;
        jc.req.not_before = ES_TIME_NONE;
        es_buf_init(&jc.out, ES_MAX_CERT_DER);
    }

    printf("bench_ca: %.1f s per measurement (%d interleaved slices), one thread; %s\n", seconds,
           fixed_n ? 1 : SLICES, OpenSSL_version(OPENSSL_VERSION));
    if (cert_make(&j)) printf("a seal certificate: %zu bytes\n\n", j.out.len);

    raw r;
    EVP_PKEY *pk = raw_setup(&r);
    meas m[] = {
        {"raw_sign", raw_sign, &r},
        {"raw_verify", raw_verify, &r},
        {"cert_make", cert_make, &j},
        {"csr_issue", csr_issue, &j},
        {"ca_issue", use_dir ? ca_issue : NULL, &jc},
    };
    measure_all(m, sizeof m / sizeof m[0]);
    double s = rate(&m[0]), v = rate(&m[1]), mk = rate(&m[2]), ci = rate(&m[3]), ca = rate(&m[4]);
    double sv = s > 0 && v > 0 ? 1 / (1 / s + 1 / v) : 0;
    double svv = s > 0 && v > 0 ? 1 / (1 / s + 2 / v) : 0;

    printf("%-44s %10s %8s  %s\n", "operation", "ops/s", "ratio", "baseline");
    row("openssl SM2 sign (32-byte digest)", s, 0, "");
    row("openssl SM2 verify (32-byte digest)", v, 0, "");
    row("eseal es_pki_cert_make (seal certificate)", mk, s, "raw sign (1 SM2 sign)");
    row("eseal request -> certificate (in memory)", ci, sv, "1 sign + 1 verify");
    row("eseal es_ca_issue (directory, fsync)", ca, svv, "1 sign + 2 verifies");
    printf("\nratio = eseal ops/s / baseline ops/s; cert_make goal >= 0.9\n");

    if (use_dir) {
        size_t n;
        (void)es_ca_entries(jc.ca, &n);
        printf("(the CA directory held %zu certificates at the end)\n", n);
        es_ca_close(jc.ca);
        es_buf_cleanup(&jc.out);
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpl);
        if (system(cmd) != 0) fprintf(stderr, "bench_ca: could not remove %s\n", tmpl);
    }
    EVP_PKEY_CTX_free(r.vctx);
    EVP_PKEY_CTX_free(r.sctx);
    EVP_PKEY_free(pk);
    es_signer_free(issuer);
    es_signer_free(subject_key);
    es_buf_cleanup(&issuer_der);
    es_buf_cleanup(&csr);
    es_buf_cleanup(&j.out);
    es_buf_cleanup(&j.tmp);
    return s < 0 || v < 0 || mk < 0 || ci < 0 || ca < 0 ? 1 : 0;
}
