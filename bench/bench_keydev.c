/* SM2 signatures per second through each key backend, as a ratio to raw OpenSSL signing
 * measured in the same run (EVP_PKEY_sign on a 32-byte digest, what every backend ends in).
 *
 * usage: bench_keydev [SECONDS] [SOFTSDF.so] [SOFTSKF.so]
 *   defaults: 2 s per measurement; libsoftsdf.so / libsoftskf.so next to this program.
 * The measurements run interleaved, in slices (bench.h), so that load changes hit them alike.
 * Provisions temporary stores (soft, SOFTSDF_DIR, SOFTSKF_DIR) and removes them. */
#include <sys/stat.h>
#include <unistd.h>

#define BENCH_NAME "bench_keydev"
#include "bench.h"

#include "eseal/keydev.h"
#include "eseal/signer.h"
#include "eseal/token.h"

static const bench_table table = {34, 12};

/* One signature through a signer, on a digest that changes each time. */
static int through(void *arg)
{
    static uint8_t e[32] = {2};
    uint8_t r[32], s[32];
    e[0]++;
    return es_signer_sign_digest(arg, e, r, s) == ES_OK;
}

int main(int argc, char **argv)
{
    bench_opts timing = {argc > 1 ? atof(argv[1]) : 2.0, NULL, 0};
    char self[4096] = ".", sdf[4200], skf[4200];
    ssize_t l = readlink("/proc/self/exe", self, sizeof self - 1);
    if (l > 0) {
        self[l] = 0;
        char *slash = strrchr(self, '/');
        if (slash) *slash = 0;
    }
    snprintf(sdf, sizeof sdf, "%s", argc > 2 ? argv[2] : "");
    snprintf(skf, sizeof skf, "%s", argc > 3 ? argv[3] : "");
    if (!sdf[0]) snprintf(sdf, sizeof sdf, "%s/libsoftsdf.so", self);
    if (!skf[0]) snprintf(skf, sizeof skf, "%s/libsoftskf.so", self);

    char base[4096];
    bench_tmpdir(NULL, base, sizeof base);
    char soft_dir[4200], sdf_dir[4200], skf_dir[4200], tok[4300];
    snprintf(soft_dir, sizeof soft_dir, "%s/soft", base);
    snprintf(sdf_dir, sizeof sdf_dir, "%s/sdf", base);
    snprintf(skf_dir, sizeof skf_dir, "%s/skf", base);
    snprintf(tok, sizeof tok, "%s/TOKEN1", skf_dir);
    if (mkdir(soft_dir, 0700) || mkdir(sdf_dir, 0700) || mkdir(skf_dir, 0700) || mkdir(tok, 0700))
        return 1;
    setenv("SOFTSDF_DIR", sdf_dir, 1);
    setenv("SOFTSKF_DIR", skf_dir, 1);
    static const char pass[] = "bench passphrase";
    es_secret_src src = {bench_fixed_pin, (void *)pass};

    /* Provision one key in each store. */
    char ref_soft[4300], ref_sdf[4300], ref_skf[4400];
    snprintf(ref_soft, sizeof ref_soft, "soft:%s#k", soft_dir);
    snprintf(ref_sdf, sizeof ref_sdf, "sdf:%s#1", sdf);
    snprintf(ref_skf, sizeof ref_skf, "skf:%s#TOKEN1/APP/CON", skf);
    es_keyref r;
    es_keydev *d = NULL;
    uint8_t pub[ES_SM2_PUB_LEN];
    if (es_keyref_parse(ref_soft, &r) != ES_OK || es_keydev_open(&r, &d) != ES_OK ||
        es_keydev_generate(d, &r, &src, pub) != ES_OK)
        return 1;
    es_keydev_close(d);
    char src_key[4300], dst_key[4300];
    snprintf(src_key, sizeof src_key, "%s/k.key", soft_dir);
    snprintf(dst_key, sizeof dst_key, "%s/sign1.key", sdf_dir);
    if (link(src_key, dst_key) != 0) return 1; /* softsdf reads the soft store's format */
    es_token *t = NULL;
    int skf_ok = es_keyref_parse(ref_skf, &r) == ES_OK && es_token_open(&r, &t) == ES_OK &&
                 es_token_app_create(t, "APP", &src, 0, &src, 0) == ES_OK &&
                 es_token_login(t, "APP", &src, NULL) == ES_OK &&
                 es_token_generate(t, &r, pub) == ES_OK;
    es_token_close(t);

    es_sm2_key *mem = NULL;
    es_signer *s_mem = NULL, *s_soft = NULL, *s_sdf = NULL, *s_skf = NULL;
    if (es_sm2_key_generate(&mem) != ES_OK || es_signer_from_key(mem, &s_mem) != ES_OK) return 1;
    es_err e1 = es_keydev_signer(ref_soft, &src, &s_soft);
    es_err e2 = es_keydev_signer(ref_sdf, &src, &s_sdf);
    es_err e3 = skf_ok ? es_keydev_signer(ref_skf, &src, &s_skf) : ES_ERR_DEVICE;

    bench_raw sm2;
    bench_raw_setup(&sm2);
    es_err errs[] = {ES_OK, ES_OK, e1, e2, e3}; /* why a backend is left out */
    bench_meas m[] = {
        {"raw OpenSSL EVP_PKEY_sign", bench_raw_sign, &sm2},
        {"memory key (es_signer)", through, s_mem},
        {"soft: key store", e1 == ES_OK ? through : NULL, s_soft},
        {"sdf: softsdf.so (dlopen)", e2 == ES_OK ? through : NULL, s_sdf},
        {"skf: softskf.so (dlopen)", e3 == ES_OK ? through : NULL, s_skf},
    };
    bench_banner(&timing);
    bench_measure(&timing, m, sizeof m / sizeof m[0]);
    double raw = bench_rate(&m[0]);
    bench_header(&table, "path", "signs/s");
    bench_row(&table, m[0].name, raw, raw, "raw sign");
    for (size_t i = 1; i < sizeof m / sizeof m[0]; i++) {
        if (errs[i] != ES_OK)
            printf("%-34s %12s  (%s)\n", m[i].name, "-", es_err_str(errs[i]));
        else
            bench_row(&table, m[i].name, bench_rate(&m[i]), raw, "raw sign");
    }
    bench_raw_cleanup(&sm2);
    es_signer_free(s_mem);
    es_signer_free(s_soft);
    es_signer_free(s_sdf);
    es_signer_free(s_skf);
    return bench_rmdir(base);
}
