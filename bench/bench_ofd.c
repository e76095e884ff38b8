/* bench_ofd: signing and verifying large OFD documents, against plain SM3 over the same bytes.
 *
 *   bench_ofd [-s MIB] [-p PAGES] [-i IMAGES] [-d TESTDATA] [-k] [--tmp DIR]
 *
 * Generates, at run time in a temporary directory (removed afterwards unless -k), an unsigned
 * OFD of at least MIB MiB (default 200) with PAGES pages (default 1000) drawing IMAGES images
 * (default 400) of incompressible bytes, and one with as many pages and images but a tenth of
 * the bytes (so that only the size differs). For each it
 * times, each in its own child process so that the peak resident set (getrusage) is that
 * operation's alone:
 *   - eseal ofd sign (es_ofd_sign: hash every entry, write Signature.xml and the signature,
 *     copy the package and add the new entries);
 *   - eseal ofd verify (es_ofd_open + es_ofd_verify, with the test root as trust anchor);
 *   - SM3 over the bytes of the signed file through OpenSSL's EVP in the same way (64 KiB
 *     reads), the floor for anything that must hash the document;
 *   - the openssl command line: `openssl dgst -sm3 FILE`.
 * Each is run three times, interleaved, and the fastest time kept (the largest peak RSS). The
 * ratio is the operation's time over the in-process SM3 time. Peak RSS staying the same for
 * the small and the large document shows that memory does not grow with the document's size
 * (it grows with its number of files: the zip directory and the References).
 *
 * A benchmark, not a test: it calls OpenSSL directly for the baseline.
 */
#define _DEFAULT_SOURCE /* wait4 */
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#define BENCH_NAME "bench_ofd"
#include "bench.h"

#include "../tests/ofd_gen.h"
#include "eseal/ofd.h"

static const char *testdata = "tests/data";
static es_buf seal_der, signer_der;

/* The operations, each run in a child process. */
static int op_sign(const char *in, const char *out)
{
    es_signer *s = bench_signer(testdata, "signer.key");
    es_ofd_sign_params p;
    memset(&p, 0, sizeof p);
    p.seal = es_slice_make(seal_der.p, seal_der.len);
    p.signer_cert = es_slice_make(signer_der.p, signer_der.len);
    p.time = ES_TIME_NONE;
    p.page = 1;
    p.x = 150;
    p.y = 240;
    char why[512] = "";
    es_err rv = es_ofd_sign(in, out, &p, s, NULL, why, sizeof why);
    es_signer_free(s);
    if (rv != ES_OK) fprintf(stderr, "bench_ofd: sign: %s\n", why);
    return rv == ES_OK ? 0 : 1;
}

static int op_verify(const char *in, const char *unused)
{
    (void)unused;
    es_buf root;
    bench_read(testdata, "root.crt", &root);
    es_trust *t = NULL;
    int added = 0;
    if (es_trust_new(&t) != ES_OK || es_trust_add(t, root.p, root.len, &added) != ES_OK) return 1;
    es_buf_cleanup(&root);
    es_ofd *o = NULL;
    es_report rep;
    es_report_init(&rep);
    es_verify_opts vo;
    memset(&vo, 0, sizeof vo);
    vo.now = ES_TIME_NONE;
    vo.trust = t;
    char why[512] = "";
    es_err rv = es_ofd_open(in, NULL, &o, why, sizeof why);
    if (rv == ES_OK) rv = es_ofd_verify(o, &vo, &rep, NULL, why, sizeof why);
    if (rv == ES_OK) es_report_finish(&rep);
    int ok = rv == ES_OK && rep.n_entries == 1 && rep.indication == ES_PASSED;
    if (!ok) fprintf(stderr, "bench_ofd: verify: %s %s\n", es_err_str(rv), why);
    es_report_cleanup(&rep);
    es_ofd_free(o);
    es_trust_free(t);
    return ok ? 0 : 1;
}

static int op_sm3(const char *in, const char *unused)
{
    (void)unused;
    EVP_MD *md = EVP_MD_fetch(NULL, "SM3", NULL);
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    int fd = open(in, O_RDONLY);
    if (!md || !c || fd < 0 || !EVP_DigestInit_ex(c, md, NULL)) return 1;
    static unsigned char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof chunk)) > 0)
        if (!EVP_DigestUpdate(c, chunk, (size_t)n)) return 1;
    unsigned char h[EVP_MAX_MD_SIZE];
    unsigned int hl = 0;
    int ok = n == 0 && EVP_DigestFinal_ex(c, h, &hl);
    close(fd);
    EVP_MD_CTX_free(c);
    EVP_MD_free(md);
    return ok ? 0 : 1;
}

/* Replaces the child with `openssl dgst -sm3 FILE`, so its rusage is openssl's own. */
static int op_openssl(const char *in, const char *unused)
{
    (void)unused;
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) dup2(null, STDOUT_FILENO);
    execlp("openssl", "openssl", "dgst", "-sm3", in, (char *)NULL);
    return 127;
}

typedef struct result {
    double secs;
    long rss_kb;
    int ok;
} result;

/* Runs op in a child: wall time, and the child's peak RSS. */
static result run_child(int (*op)(const char *, const char *), const char *a, const char *b)
{
    result r = {0, 0, 0};
    fflush(NULL);
    double t0 = bench_now();
    pid_t pid = fork();
    if (pid == 0) _exit(op(a, b));
    int st = 0;
    struct rusage ru;
    if (pid < 0 || wait4(pid, &st, 0, &ru) != pid) return r;
    r.secs = bench_now() - t0;
    r.rss_kb = ru.ru_maxrss;
    r.ok = WIFEXITED(st) && WEXITSTATUS(st) == 0;
    return r;
}

#define ROUNDS 3

static void keep_best(result *best, result r)
{
    best->ok &= r.ok;
    if (r.secs < best->secs) best->secs = r.secs;
    if (r.rss_kb > best->rss_kb) best->rss_kb = r.rss_kb;
}

static double file_mib(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (double)st.st_size / (1024.0 * 1024.0) : 0;
}

static void row(const char *name, result r, double mib, double base)
{
    if (!r.ok) {
        printf("  %-28s %s\n", name, "FAILED");
        return;
    }
    printf("  %-28s %8.2f s %8.0f MiB/s %7.2fx %9.1f MiB\n", name, r.secs, mib / r.secs,
           base > 0 ? r.secs / base : 0, (double)r.rss_kb / 1024.0);
}

static void bench_size(const char *dir, const char *label, int mib, int pages, int images)
{
    char plain[4096], signed_[4096];
    snprintf(plain, sizeof plain, "%s/%s.ofd", dir, label);
    snprintf(signed_, sizeof signed_, "%s/%s-signed.ofd", dir, label);
    uint64_t image = ((uint64_t)mib << 20) / (uint64_t)images + 1;
    double t0 = bench_now();
    if (gen_ofd(plain, pages, images, image) != 0) {
        fprintf(stderr, "bench_ofd: cannot generate %s\n", plain);
        exit(1);
    }
    double gen = bench_now() - t0;
    /* ROUNDS rounds, the operations interleaved, the fastest of each kept: a change of load
     * on the machine during the run then shifts every figure alike. */
    result s = {1e30, 0, 1}, v = s, h = s, c = s;
    for (int round = 0; round < ROUNDS; round++) {
        keep_best(&s, run_child(op_sign, plain, signed_));
        keep_best(&v, run_child(op_verify, signed_, NULL));
        keep_best(&h, run_child(op_sm3, signed_, NULL));
        keep_best(&c, run_child(op_openssl, signed_, NULL));
    }
    double size = file_mib(signed_);
    printf("\n%s: %.1f MiB, %d pages, %d images of %.0f KiB (stored), generated in %.1f s\n", label,
           size, pages, images, (double)image / 1024.0, gen);
    printf("  %-28s %10s %14s %8s %13s\n", "operation", "time", "throughput", "vs SM3", "peak RSS");
    row("ofd sign", s, size, h.secs);
    row("ofd verify (--trust)", v, size, h.secs);
    row("SM3 of the file (EVP)", h, size, h.secs);
    row("openssl dgst -sm3 FILE", c, size, h.secs);
}

int main(int argc, char **argv)
{
    int mib = 200, pages = 1000, images = 400, keep = 0;
    const char *tmpbase = NULL; /* $TMPDIR or /tmp */
    if (getenv("ESEAL_TESTDATA")) testdata = getenv("ESEAL_TESTDATA");
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "-s") == 0 && i + 1 < argc)
            mib = atoi(argv[++i]);
        else if (strcmp(argv[i], "-p") == 0 && i + 1 < argc)
            pages = atoi(argv[++i]);
        else if (strcmp(argv[i], "-i") == 0 && i + 1 < argc)
            images = atoi(argv[++i]);
        else if (strcmp(argv[i], "-d") == 0 && i + 1 < argc)
            testdata = argv[++i];
        else if (strcmp(argv[i], "--tmp") == 0 && i + 1 < argc)
            tmpbase = argv[++i];
        else if (strcmp(argv[i], "-k") == 0)
            keep = 1;
        else {
            fprintf(stderr, "usage: bench_ofd [-s MIB] [-p PAGES] [-i IMAGES] [-d TESTDATA] [-k] "
                            "[--tmp DIR]\n");
            return 2;
        }
    }
    if (mib < 10 || pages < 10 || images < 10) {
        fprintf(stderr, "bench_ofd: at least 10 MiB, 10 pages, 10 images\n");
        return 2;
    }
    char dir[4096];
    bench_tmpdir(tmpbase, dir, sizeof dir);
    bench_make_seal(testdata, &signer_der, &seal_der);
    printf("bench_ofd: OFD sign and verify against SM3 over the same bytes (one core each)\n");
    bench_size(dir, "small", mib / 10, pages, images);
    bench_size(dir, "large", mib, pages, images);
    if (keep) {
        printf("\ndocuments kept in %s\n", dir);
    } else {
        bench_rmdir(dir);
    }
    es_buf_cleanup(&seal_der);
    es_buf_cleanup(&signer_der);
    return 0;
}
