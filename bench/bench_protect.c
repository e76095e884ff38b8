/* Data at rest (include/eseal/protect.h): seal + open per second through es_protect on a
 * SQLite store (the current key looked up in the store each time, the data key cached), for
 * the sizes the making system stores (an ID number, a form, materials), beside
 * `openssl speed -evp sm4` (SM4-CBC, one pass of encryption) run in the same program at the
 * same sizes.
 *
 * usage: bench_protect [SECONDS]   (default 2 s per measurement)
 *
 * One seal + open is two SM4-CBC passes and two HMAC-SM3 passes over the data, and two store
 * reads: the ratio to one SM4 pass is at most 1/4 for large sizes (SM3 is not faster than
 * SM4 here), lower for small ones where the store read dominates. */
#include <stdint.h>

#define BENCH_NAME "bench_protect"
#include "bench.h"

#include "eseal/protect.h"
#include "eseal/store.h"

typedef struct job {
    es_protect *p;
    es_store *st;
    uint8_t *data;
    size_t len;
    es_buf sealed, plain;
} job;

static int seal_open(void *arg)
{
    job *j = arg;
    j->sealed.len = 0;
    j->plain.len = 0;
    es_slice aad = es_slice_make("people/42/idno", 14);
    return es_protect_seal(j->p, j->st, es_slice_make(j->data, j->len), aad, &j->sealed) == ES_OK &&
           es_protect_open(j->p, j->st, es_slice_make(j->sealed.p, j->sealed.len), aad,
                           &j->plain) == ES_OK &&
           j->plain.len == j->len;
}

/* `openssl speed -evp sm4 -bytes N -seconds S`: blocks of N bytes encrypted per second
 * (-1 when it cannot be run or read). */
static double openssl_speed(size_t n, double seconds)
{
    char cmd[256], line[512];
    double kbytes = -1;
    int secs = seconds < 1 ? 1 : (int)(seconds + 0.5);
    snprintf(cmd, sizeof cmd, "openssl speed -evp sm4 -seconds %d -bytes %zu 2>/dev/null", secs, n);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    while (fgets(line, sizeof line, f))
        if (strncmp(line, "SM4-CBC", 7) == 0 || strncmp(line, "sm4-cbc", 7) == 0)
            kbytes = atof(line + 7);
    if (pclose(f) != 0 || kbytes <= 0) return -1;
    return kbytes * 1000.0 / (double)n;
}

int main(int argc, char **argv)
{
    static const size_t sizes[] = {18, 1024, 65536, 1048576};
    enum { K = sizeof sizes / sizeof sizes[0] };
    bench_opts timing = {2.0, NULL, 0};
    for (int i = 1; i < argc; i++)
        if (!bench_opt(&timing, argc, argv, &i)) {
            fprintf(stderr, "usage: bench_protect [SECONDS]\n");
            return 2;
        }
    char dir[4096], url[4200], kek[4200];
    bench_tmpdir(NULL, dir, sizeof dir);
    snprintf(url, sizeof url, "sqlite:%s/protect.db", dir);
    snprintf(kek, sizeof kek, "soft:%s#kek", dir);
    static const char pass[] = "bench passphrase";
    es_secret_src src = {bench_fixed_pin, (void *)pass};
    es_store *st = NULL;
    es_protect *p = NULL;
    char why[512] = "";
    int version = 0;
    es_err rv = es_store_open(url, &st);
    if (rv == ES_OK) rv = es_store_migrate(st, &version);
    if (rv != ES_OK) bench_die("store", rv);
    if ((rv = es_protect_new(kek, &src, 1, &p, why, sizeof why)) != ES_OK ||
        (rv = es_protect_setup(p, st, why, sizeof why)) != ES_OK) {
        fprintf(stderr, BENCH_NAME ": %s\n", why);
        bench_die("protect", rv);
    }
    bench_banner(&timing);

    job jobs[K];
    bench_meas m[K];
    char names[K][32];
    for (size_t i = 0; i < K; i++) {
        jobs[i] = (job){p, st, malloc(sizes[i]), sizes[i], {0}, {0}};
        if (!jobs[i].data) return 1;
        for (size_t b = 0; b < sizes[i]; b++) jobs[i].data[b] = (uint8_t)(b * 31 + 7);
        es_buf_init(&jobs[i].sealed, ES_PROTECT_MAX_BLOB);
        es_buf_init(&jobs[i].plain, ES_PROTECT_MAX_PLAIN);
        snprintf(names[i], sizeof names[i], "seal+open %zu B", sizes[i]);
        m[i] = (bench_meas){names[i], seal_open, &jobs[i], 0, 0, 0};
    }
    bench_measure(&timing, m, K);
    double raw[K];
    for (size_t i = 0; i < K; i++) raw[i] = openssl_speed(sizes[i], timing.seconds);

    printf("%-22s %14s %16s %14s %10s\n", "size", "seal+open/s", "MB/s (each way)", "openssl sm4/s",
           "ratio");
    for (size_t i = 0; i < K; i++) {
        double r = bench_rate(&m[i]);
        printf("%-22s %14.0f %16.1f %14.0f %10.3f\n", names[i], r, r * (double)sizes[i] / 1e6,
               raw[i], raw[i] > 0 && r > 0 ? r / raw[i] : 0.0);
    }
    printf("(openssl speed -evp sm4: SM4-CBC encryption alone, one pass; seal+open: two SM4-CBC "
           "passes, two HMAC-SM3 passes, two store reads)\n");
    unsigned long unwraps = es_protect_unwraps(p);
    printf("data key unwraps through the key device during the run: %lu (the cache)\n", unwraps);
    for (size_t i = 0; i < K; i++) {
        free(jobs[i].data);
        es_buf_cleanup(&jobs[i].sealed);
        es_buf_cleanup(&jobs[i].plain);
    }
    es_protect_free(p);
    es_store_close(st);
    return bench_rmdir(dir);
}
