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
#define BENCH_NAME "bench_seal"
#include "bench.h"

#include "eseal/report.h"

#define DEFAULT_SIGNATURE "../shared/corpus/real/signature/gomain_jiangsu_tax_2020_SignedValue.dat"

static bench_opts timing = {2.0, NULL, 0};
static const bench_table table = {40, 12};

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

static void openssl_speed(void)
{
    char cmd[64];
    snprintf(cmd, sizeof cmd, "openssl speed -seconds %d sm2 2>/dev/null",
             (int)(timing.seconds + 0.5));
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
        if (bench_opt(&timing, argc, argv, &i)) continue;
        if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
            real = argv[++i];
        else if (strcmp(argv[i], "--openssl-speed") == 0)
            speed = 1;
        else
            usage();
    }
    if (!dir) dir = "tests/data";
    if (timing.seconds <= 0) usage();

    /* Fixtures: a v4 seal and a signature over it, made with the library. */
    es_buf signer_crt, seal, sig;
    job j;
    memset(&j, 0, sizeof j);
    j.signer = bench_signer(dir, "signer.key");
    bench_make_seal(dir, &signer_crt, &seal);
    uint8_t data_sm3[ES_SM3_LEN];
    static const char data[] = "the protected document";
    es_err rv;
    if ((rv = es_sm3(data, sizeof data - 1, data_sm3)) != ES_OK) bench_die("es_sm3", rv);
    j.sp.seal = es_slice_make(seal.p, seal.len);
    j.sp.time = ES_TIME_NONE;
    j.sp.data_hash = data_sm3;
    j.sp.property_info = "/Doc_0/Signs/Sign_0/Signature.xml";
    j.sp.signer_cert = es_slice_make(signer_crt.p, signer_crt.len);
    es_buf_init(&sig, ES_MAX_SEAL_DER);
    if ((rv = es_signature_make(&j.sp, j.signer, &sig)) != ES_OK)
        bench_die("es_signature_make", rv);
    es_buf_init(&j.out, ES_MAX_SEAL_DER);

    es_buf realb;
    bench_read(NULL, real, &realb);
    const char *rn = strrchr(real, '/');
    rn = rn ? rn + 1 : real;

    bench_banner(&timing);
    printf("made: seal %zu bytes, signature %zu bytes; real: %s (%zu bytes)\n\n", seal.len, sig.len,
           rn, realb.len);

    bench_raw r;
    bench_raw_setup(&r);

    job jsig = j, jreal = j, jseal = j;
    jsig.in = es_slice_make(sig.p, sig.len);
    jsig.opts.data_sm3 = data_sm3;
    jsig.opts.now = ES_TIME_NONE;

    /* The real file: its data is not at hand; give its own stored hash so that every check
     * runs as for a document that matches. */
    es_signature rs;
    uint8_t real_sm3[ES_SM3_LEN];
    if ((rv = es_signature_from_der(es_slice_make(realb.p, realb.len), 1, &rs)) != ES_OK)
        bench_die(real, rv);
    if (rs.data_hash.len != ES_SM3_LEN) bench_die(real, ES_ERR_FORMAT);
    memcpy(real_sm3, rs.data_hash.p, ES_SM3_LEN);
    jreal.in = es_slice_make(realb.p, realb.len);
    jreal.opts.data_sm3 = real_sm3;
    jreal.opts.now = ES_TIME_NONE;

    jseal.in = es_slice_make(seal.p, seal.len);
    jseal.opts.now = ES_TIME_NONE;

    bench_meas m[] = {
        {"raw_verify", bench_raw_verify, &r},   {"sig_verify", es_sig_verify, &jsig},
        {"real_verify", es_sig_verify, &jreal}, {"seal_verify", es_seal_verify_op, &jseal},
        {"raw_sign", bench_raw_sign, &r},       {"sig_make", es_sig_make, &j},
    };
    bench_measure(&timing, m, sizeof m / sizeof m[0]);
    double v_raw = bench_rate(&m[0]), v_sig = bench_rate(&m[1]), v_real = bench_rate(&m[2]);
    double v_seal = bench_rate(&m[3]), s_raw = bench_rate(&m[4]), s_sig = bench_rate(&m[5]);

    bench_header(&table, "operation", "ops/s");
    bench_row(&table, "openssl SM2 verify (32-byte digest)", v_raw, 0, "");
    bench_row(&table, "eseal es_signature_verify (made)", v_sig, v_raw / 2,
              "raw verify/2 (2 SM2 verifies)");
    bench_row(&table, "eseal es_signature_verify (real file)", v_real, v_raw / 2,
              "raw verify/2 (2 SM2 verifies)");
    bench_row(&table, "eseal es_seal_verify", v_seal, v_raw, "raw verify (1 SM2 verify)");
    bench_row(&table, "openssl SM2 sign (32-byte digest)", s_raw, 0, "");
    bench_row(&table, "eseal es_signature_make", s_sig, s_raw, "raw sign (1 SM2 sign)");
    printf("\nratio = eseal ops/s / baseline ops/s; goal >= 0.9 (eseal's own work under 10%%)\n");

    if (speed) openssl_speed();

    bench_raw_cleanup(&r);
    es_signer_free(j.signer);
    es_buf_cleanup(&signer_crt);
    es_buf_cleanup(&seal);
    es_buf_cleanup(&sig);
    es_buf_cleanup(&realb);
    es_buf_cleanup(&j.out);
    int failed = v_raw < 0 || s_raw < 0 || v_sig < 0 || v_real < 0 || v_seal < 0 || s_sig < 0;
    return failed ? 1 : 0;
}
