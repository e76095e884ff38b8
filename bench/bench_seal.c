/* bench_seal: how much eseal adds to the SM2 operations underneath it.
 *
 *   bench_seal [-t SECONDS] [-d TESTDATA] [-c SIGNATURE_FILE] [--openssl-speed]
 *              [--only NAME] [-n N] [SECONDS]
 *
 * Measures, in one run on one thread, each for a fixed wall time (default 2 s, -t or a bare
 * number; run in interleaved slices so that load changes hit every figure alike):
 *   raw OpenSSL SM2 verify and sign on a 32-byte digest (EVP_PKEY_verify / EVP_PKEY_sign with a
 *   context set up once, as `openssl speed sm2` does), eseal SES_Signature verification with
 *   the data's SM3 given (full report built and freed), the same on a real corpus file, bare
 *   seal verification, and es_signature_make with its encoding.
 *
 * The seal and signature measured are made in-process from TESTDATA (maker.key/.crt,
 * signer.key/.crt, seal.png; -d, else $ESEAL_TESTDATA, else tests/data). The real file is
 * ../shared/corpus/real/signature/gomain_jiangsu_tax_2020_SignedValue.dat unless -c says.
 *
 * Each eseal figure is compared with the raw operation it needs: a signature verification
 * does two SM2 verifications (signature and seal), so its ratio is against raw/2; a seal
 * verification and a signature making are one operation each. A ratio of 0.9 means parsing,
 * hashing and report building cost 10% on top of the SM2 arithmetic.
 *
 * --openssl-speed adds the output of `openssl speed -seconds SECONDS sm2` for context.
 * --only NAME runs one measurement and -n N makes it N operations instead of a wall time:
 * together they make a deterministic run for valgrind --tool=callgrind.
 *
 * A benchmark, not a test: it calls OpenSSL directly for the baseline. Exit status 1 when an
 * operation failed (a verification that did not pass counts as failed).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "eseal/report.h"
#include "eseal/seal.h"

#define DEFAULT_SIGNATURE "../shared/corpus/real/signature/gomain_jiangsu_tax_2020_SignedValue.dat"

static double seconds = 2.0;
static const char *only; /* --only NAME: run one measurement (for profiling) */
static long fixed_n;     /* -n N: N operations instead of a wall time (for callgrind) */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what, es_err rv)
{
    fprintf(stderr, "bench_seal: %s: %s\n", what, es_err_str(rv));
    exit(1);
}

/* One measurement. The measurements run interleaved, a slice of each in turn, so that a
 * change of machine load or clock speed during the run shifts every figure alike and the
 * ratios stay meaningful. */
typedef struct meas {
    const char *name;
    int (*op)(void *);
    void *arg;
    long n;
    double t;
    int state; /* 0 to run, 1 skipped (--only), -1 failed */
} meas;

#define SLICES 10

/* Runs every measurement for its wall time (or fixed_n operations). */
static void measure_all(meas *m, size_t k)
{
    for (size_t i = 0; i < k; i++) {
        m[i].n = 0;
        m[i].t = 0;
        m[i].state = only && strcmp(only, m[i].name) != 0 ? 1 : 0;
        if (m[i].state == 0 && !m[i].op(m[i].arg)) m[i].state = -1; /* warm-up and check */
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

/* Operations per second; -1 when the operation failed, 0 when skipped. */
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

static int raw_verify(void *arg)
{
    raw *r = arg;
    return EVP_PKEY_verify(r->vctx, r->sig, r->siglen, r->dgst, sizeof r->dgst) == 1;
}

static int raw_sign(void *arg)
{
    raw *r = arg;
    unsigned char sig[80];
    size_t len = sizeof sig;
    return EVP_PKEY_sign(r->sctx, sig, &len, r->dgst, sizeof r->dgst) == 1;
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
        fprintf(stderr, "bench_seal: OpenSSL SM2 setup failed\n");
        exit(1);
    }
    return pk;
}

/* --- eseal --- */

typedef struct job {
    es_slice in;
    es_verify_opts opts;
    /* making */
    es_sign_params sp;
    es_signer *signer;
    es_buf out;
} job;

static int check_passed(const es_report *rep, const char *check)
{
    const es_check *c = rep->n_entries ? es_entry_get(&rep->entries[0], check) : NULL;
    return c && c->result == ES_PASSED;
}

static int es_sig_verify(void *arg)
{
    job *j = arg;
    es_report rep;
    es_report_init(&rep);
    int ok = es_signature_verify(j->in, &j->opts, &rep) == ES_OK;
    es_report_finish(&rep);
    ok =
        ok && check_passed(&rep, ES_CHECK_SIGNATURE) && check_passed(&rep, ES_CHECK_SEAL_SIGNATURE);
    es_report_cleanup(&rep);
    return ok;
}

static int es_seal_verify_op(void *arg)
{
    job *j = arg;
    es_report rep;
    es_report_init(&rep);
    int ok = es_seal_verify(j->in, &j->opts, &rep) == ES_OK;
    es_report_finish(&rep);
    ok = ok && check_passed(&rep, ES_CHECK_SEAL_SIGNATURE);
    es_report_cleanup(&rep);
    return ok;
}

static int es_sig_make(void *arg)
{
    job *j = arg;
    j->out.len = 0;
    return es_signature_make(&j->sp, j->signer, &j->out) == ES_OK;
}

static void read_file(const char *dir, const char *name, es_buf *b)
{
    char path[4096];
    if (dir)
        snprintf(path, sizeof path, "%s/%s", dir, name);
    else
        snprintf(path, sizeof path, "%s", name);
    es_buf_init(b, ES_MAX_SEAL_DER);
    es_err rv = es_file_read(path, b);
    if (rv != ES_OK) {
        fprintf(stderr, "bench_seal: %s: %s\n", path, es_err_str(rv));
        exit(1);
    }
}

static es_signer *load_signer(const char *dir, const char *name)
{
    es_buf b;
    es_sm2_key *k;
    es_signer *s;
    read_file(dir, name, &b);
    es_err rv = es_sm2_key_from_pem(b.p, b.len, NULL, &k);
    es_buf_cleanup_secret(&b);
    if (rv != ES_OK) die(name, rv);
    if ((rv = es_signer_from_key(k, &s)) != ES_OK) die(name, rv);
    return s;
}

static void load_cert(const char *dir, const char *name, es_buf *der)
{
    es_buf b;
    read_file(dir, name, &b);
    es_buf_init(der, ES_MAX_CERT_DER);
    es_err rv = es_cert_to_der(b.p, b.len, der);
    es_buf_cleanup(&b);
    if (rv != ES_OK) die(name, rv);
}

static void row(const char *name, double ops, double base, const char *vs)
{
    if (ops < 0) {
        printf("%-40s %12s\n", name, "FAILED");
        return;
    }
    if (ops == 0) {
        printf("%-40s %12s\n", name, "skipped");
        return;
    }
    if (base > 0)
        printf("%-40s %12.0f %8.3f  %s\n", name, ops, ops / base, vs);
    else if (base == 0 && vs[0])
        printf("%-40s %12.0f %8s  %s\n", name, ops, "?", vs);
    else
        printf("%-40s %12.0f %8s  %s\n", name, ops, "-", vs);
}

static void openssl_speed(void)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "openssl speed -seconds %d sm2 2>/dev/null", (int)(seconds + 0.5));
    FILE *f = popen(cmd, "r");
    char line[256];
    int show = 0;
    if (!f) return;
    printf("\n$ %s\n", cmd);
    while (fgets(line, sizeof line, f)) {
        if (strstr(line, "sign    verify")) show = 1;
        if (show) fputs(line, stdout);
    }
    pclose(f);
}

static void usage(void)
{
    fprintf(stderr, "usage: bench_seal [-t SECONDS] [-d TESTDATA] [-c SIGNATURE_FILE] "
                    "[--openssl-speed] [--only raw_verify|raw_sign|sig_verify|real_verify|"
                    "seal_verify|sig_make] [-n N] [SECONDS]\n");
    exit(2);
}

int main(int argc, char **argv)
{
    const char *dir = getenv("ESEAL_TESTDATA");
    const char *real = DEFAULT_SIGNATURE;
    int speed = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-t") == 0 && i + 1 < argc)
            seconds = atof(argv[++i]);
        else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            real = argv[++i];
        else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
            fixed_n = atol(argv[++i]);
        else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc)
            only = argv[++i];
        else if (strcmp(argv[i], "--openssl-speed") == 0)
            speed = 1;
        else if (argv[i][0] >= '0' && argv[i][0] <= '9')
            seconds = atof(argv[i]);
        else
            usage();
    }
    if (!dir) dir = "tests/data";
    if (seconds <= 0) usage();

    /* Fixtures: a v4 seal and a signature over it, made with the library. */
    es_buf maker_crt, signer_crt, png, seal, sig;
    es_signer *maker = load_signer(dir, "maker.key");
    job j;
    memset(&j, 0, sizeof j);
    j.signer = load_signer(dir, "signer.key");
    load_cert(dir, "maker.crt", &maker_crt);
    load_cert(dir, "signer.crt", &signer_crt);
    read_file(dir, "seal.png", &png);
    es_slice signer_certs[1] = {es_slice_make(signer_crt.p, signer_crt.len)};
    es_seal_params p = {0};
    p.es_id = "3701000000001";
    p.type = 1;
    p.name = "eseal bench seal";
    p.signer_certs = signer_certs;
    p.n_signer_certs = 1;
    p.create_date = ES_TIME_NONE;
    p.valid_start = es_time_now() - 86400;
    p.valid_end = es_time_now() + 365 * 86400;
    p.picture = es_slice_make(png.p, png.len);
    p.width_mm = 40;
    p.height_mm = 40;
    p.maker_cert = es_slice_make(maker_crt.p, maker_crt.len);
    es_buf_init(&seal, ES_MAX_SEAL_DER);
    es_err rv = es_seal_make(&p, maker, &seal);
    if (rv != ES_OK) die("es_seal_make", rv);
    uint8_t data_sm3[ES_SM3_LEN];
    static const char data[] = "the protected document";
    if ((rv = es_sm3(data, sizeof data - 1, data_sm3)) != ES_OK) die("es_sm3", rv);
    j.sp.seal = es_slice_make(seal.p, seal.len);
    j.sp.time = ES_TIME_NONE;
    j.sp.data_hash = data_sm3;
    j.sp.property_info = "/Doc_0/Signs/Sign_0/Signature.xml";
    j.sp.signer_cert = signer_certs[0];
    es_buf_init(&sig, ES_MAX_SEAL_DER);
    if ((rv = es_signature_make(&j.sp, j.signer, &sig)) != ES_OK) die("es_signature_make", rv);
    es_buf_init(&j.out, ES_MAX_SEAL_DER);

    es_buf realb;
    read_file(NULL, real, &realb);
    const char *rn = strrchr(real, '/');
    rn = rn ? rn + 1 : real;

    printf("bench_seal: %.1f s per measurement (%d interleaved slices), one thread; %s\n", seconds,
           fixed_n ? 1 : SLICES, OpenSSL_version(OPENSSL_VERSION));
    printf("made: seal %zu bytes, signature %zu bytes; real: %s (%zu bytes)\n\n", seal.len, sig.len,
           rn, realb.len);

    raw r;
    EVP_PKEY *pk = raw_setup(&r);

    job jsig = j, jreal = j, jseal = j;
    jsig.in = es_slice_make(sig.p, sig.len);
    jsig.opts.data_sm3 = data_sm3;
    jsig.opts.now = ES_TIME_NONE;

    /* The real file: its data is not at hand; give its own stored hash so that every check
     * runs as for a document that matches. */
    es_signature rs;
    uint8_t real_sm3[ES_SM3_LEN];
    if ((rv = es_signature_from_der(es_slice_make(realb.p, realb.len), 1, &rs)) != ES_OK)
        die(real, rv);
    if (rs.data_hash.len != ES_SM3_LEN) die(real, ES_ERR_FORMAT);
    memcpy(real_sm3, rs.data_hash.p, ES_SM3_LEN);
    jreal.in = es_slice_make(realb.p, realb.len);
    jreal.opts.data_sm3 = real_sm3;
    jreal.opts.now = ES_TIME_NONE;

    jseal.in = es_slice_make(seal.p, seal.len);
    jseal.opts.now = ES_TIME_NONE;

    meas m[] = {
        {"raw_verify", raw_verify, &r},
        {"sig_verify", es_sig_verify, &jsig},
        {"real_verify", es_sig_verify, &jreal},
        {"seal_verify", es_seal_verify_op, &jseal},
        {"raw_sign", raw_sign, &r},
        {"sig_make", es_sig_make, &j},
    };
    measure_all(m, sizeof m / sizeof m[0]);
    double v_raw = rate(&m[0]), v_sig = rate(&m[1]), v_real = rate(&m[2]), v_seal = rate(&m[3]);
    double s_raw = rate(&m[4]), s_sig = rate(&m[5]);

    printf("%-40s %12s %8s  %s\n", "operation", "ops/s", "ratio", "baseline");
    row("openssl SM2 verify (32-byte digest)", v_raw, 0, "");
    row("eseal es_signature_verify (made)", v_sig, v_raw / 2, "raw verify/2 (2 SM2 verifies)");
    row("eseal es_signature_verify (real file)", v_real, v_raw / 2,
        "raw verify/2 (2 SM2 verifies)");
    row("eseal es_seal_verify", v_seal, v_raw, "raw verify (1 SM2 verify)");
    row("openssl SM2 sign (32-byte digest)", s_raw, 0, "");
    row("eseal es_signature_make", s_sig, s_raw, "raw sign (1 SM2 sign)");
    printf("\nratio = eseal ops/s / baseline ops/s; goal >= 0.9 (eseal's own work under 10%%)\n");

    if (speed) openssl_speed();

    EVP_PKEY_CTX_free(r.vctx);
    EVP_PKEY_CTX_free(r.sctx);
    EVP_PKEY_free(pk);
    es_signer_free(maker);
    es_signer_free(j.signer);
    es_buf_cleanup(&maker_crt);
    es_buf_cleanup(&signer_crt);
    es_buf_cleanup(&png);
    es_buf_cleanup(&seal);
    es_buf_cleanup(&sig);
    es_buf_cleanup(&realb);
    es_buf_cleanup(&j.out);
    int failed = v_raw < 0 || s_raw < 0 || v_sig < 0 || v_real < 0 || v_seal < 0 || s_sig < 0;
    return failed ? 1 : 0;
}
