/* SM2 signatures per second through each key backend, as a ratio to raw OpenSSL signing
 * measured in the same run (EVP_PKEY_sign on a 32-byte digest, what every backend ends in).
 *
 * usage: bench_keydev [SECONDS] [SOFTSDF.so] [SOFTSKF.so]
 *   defaults: 2 s per measurement; libsoftsdf.so / libsoftskf.so next to this program.
 * Provisions temporary stores (soft, SOFTSDF_DIR, SOFTSKF_DIR) and removes them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "eseal/keydev.h"
#include "eseal/signer.h"
#include "eseal/token.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static es_err fixed_get(void *ctx, const char *what, char *buf, size_t cap)
{
    (void)what;
    snprintf(buf, cap, "%s", (const char *)ctx);
    return ES_OK;
}

static double raw_openssl(double secs)
{
    EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "SM2");
    EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_pkey(NULL, pk, NULL);
    unsigned char e[32] = {1}, sig[80];
    long n = 0;
    EVP_PKEY_sign_init(ctx);
    double t0 = now_s(), t;
    do {
        size_t len = sizeof sig;
        if (EVP_PKEY_sign(ctx, sig, &len, e, sizeof e) != 1) abort();
        e[0]++;
        n++;
    } while ((t = now_s() - t0) < secs);
    EVP_PKEY_CTX_free(ctx);
    EVP_PKEY_free(pk);
    return n / t;
}

static double through(es_signer *s, double secs)
{
    uint8_t e[32] = {2}, r[32], sv[32];
    long n = 0;
    double t0 = now_s(), t;
    do {
        if (es_signer_sign_digest(s, e, r, sv) != ES_OK) return -1;
        e[0]++;
        n++;
    } while ((t = now_s() - t0) < secs);
    return n / t;
}

int main(int argc, char **argv)
{
    double secs = argc > 1 ? atof(argv[1]) : 2.0;
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

    char base[] = "/tmp/eseal-bench-keydev-XXXXXX";
    if (!mkdtemp(base)) return 1;
    char soft_dir[256], sdf_dir[256], skf_dir[256], tok[300];
    snprintf(soft_dir, sizeof soft_dir, "%s/soft", base);
    snprintf(sdf_dir, sizeof sdf_dir, "%s/sdf", base);
    snprintf(skf_dir, sizeof skf_dir, "%s/skf", base);
    snprintf(tok, sizeof tok, "%s/TOKEN1", skf_dir);
    if (mkdir(soft_dir, 0700) || mkdir(sdf_dir, 0700) || mkdir(skf_dir, 0700) || mkdir(tok, 0700))
        return 1;
    setenv("SOFTSDF_DIR", sdf_dir, 1);
    setenv("SOFTSKF_DIR", skf_dir, 1);
    static const char pass[] = "bench passphrase";
    es_secret_src src = {fixed_get, (void *)pass};

    /* Provision one key in each store. */
    char ref_soft[600], ref_sdf[4300], ref_skf[4400];
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
    char src_key[700], dst_key[300];
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

    double raw = raw_openssl(secs);
    printf("SM2 signatures per second, one thread, %.1f s each (OpenSSL %s)\n", secs,
           OpenSSL_version(OPENSSL_VERSION_STRING));
    printf("%-34s %12s %10s\n", "path", "signs/s", "ratio");
    printf("%-34s %12.0f %10s\n", "raw OpenSSL EVP_PKEY_sign", raw, "1.00");
    struct {
        const char *name;
        es_signer *s;
        es_err err;
    } rows[] = {{"memory key (es_signer)", s_mem, ES_OK},
                {"soft: key store", s_soft, e1},
                {"sdf: softsdf.so (dlopen)", s_sdf, e2},
                {"skf: softskf.so (dlopen)", s_skf, e3}};
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        if (rows[i].err != ES_OK || !rows[i].s) {
            printf("%-34s %12s %10s  (%s)\n", rows[i].name, "-", "-", es_err_str(rows[i].err));
            continue;
        }
        double v = through(rows[i].s, secs);
        printf("%-34s %12.0f %10.2f\n", rows[i].name, v, v / raw);
    }
    es_signer_free(s_mem);
    es_signer_free(s_soft);
    es_signer_free(s_sdf);
    es_signer_free(s_skf);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", base);
    return system(cmd) == 0 ? 0 : 1;
}
