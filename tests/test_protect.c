/* Data at rest (include/eseal/protect.h, docs/protect.md) on SQLite and PostgreSQL: sealing
 * and opening, every way a blob may be altered or moved, a wrong or missing KEK, rotation
 * (rolled back, concurrent with sealing and opening), the re-encryption pass, KEK rotation,
 * the keyed index, record MACs, the check and `eseal protect`, and the masks. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "eseal/node.h"
#include "eseal/protect.h"
#include "store_test.h"
#include "test.h"

static char kdir[600];
static char kek1[700], kek2[700];

static es_slice S(const char *s)
{
    return es_slice_make(s, strlen(s));
}

static es_protect *kek_open(const char *ref, int create)
{
    es_secret_src pin = es_secret_env("ESEAL_TEST_PROTECT_PIN");
    es_protect *p = NULL;
    char why[512] = "";
    es_err rv = es_protect_new(ref, &pin, create, &p, why, sizeof why);
    if (rv != ES_OK) st_die("protect %s: %s (%s)", ref, es_err_str(rv), why);
    return p;
}

static void setup_ok(es_protect *p, es_store *s)
{
    char why[512] = "";
    es_err rv = es_protect_setup(p, s, why, sizeof why);
    if (rv != ES_OK) st_die("setup: %s (%s)", es_err_str(rv), why);
}

/* The table of the test: people with a sealed citizen ID number and mobile, a name in clear,
 * the keyed index of the ID number, and a record MAC over (name, idno, mobile). */
static void make_people(es_store *s)
{
    int pg = strcmp(es_store_kind(s), "postgresql") == 0;
    st_sql(s, pg ? "CREATE TABLE people (id BIGINT PRIMARY KEY, name TEXT NOT NULL, idno BYTEA, "
                   "mobile BYTEA, idno_ix TEXT, mac TEXT)"
                 : "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT NOT NULL, idno BLOB, "
                   "mobile BLOB, idno_ix TEXT, mac TEXT) STRICT");
    static const char *const sealed[] = {"idno", "mobile"};
    static const char *const over[] = {"name", "idno", "mobile"};
    es_protect_table t = {"people", "id", sealed, 2, NULL, "mac", over, 3};
    char why[256] = "";
    es_err rv = es_protect_register(s, &t, why, sizeof why);
    ok(rv == ES_OK, "register people: %s %s", es_err_str(rv), why);
}

static es_err put_person(es_protect *p, es_store *s, int64_t id, const char *name, const char *idno,
                         const char *mobile)
{
    char aad1[128], aad2[128], ix[65], mac[65];
    es_buf b1, b2, rec;
    es_err rv;
    es_buf_init(&b1, 4096);
    es_buf_init(&b2, 4096);
    es_buf_init(&rec, 4096);
    static const char *const over[] = {"name", "idno", "mobile"};
    es_value vals[3] = {es_v_text(name), es_v_blob(idno, strlen(idno)),
                        es_v_blob(mobile, strlen(mobile))};
    if ((rv = es_protect_aad(s, "people", id, "idno", aad1, sizeof aad1)) != ES_OK ||
        (rv = es_protect_aad(s, "people", id, "mobile", aad2, sizeof aad2)) != ES_OK ||
        (rv = es_store_begin(s)) != ES_OK)
        goto out;
    if ((rv = es_protect_seal(p, s, S(idno), S(aad1), &b1)) == ES_OK &&
        (rv = es_protect_seal(p, s, S(mobile), S(aad2), &b2)) == ES_OK &&
        (rv = es_protect_index(p, "idno", S(idno), ix)) == ES_OK &&
        (rv = es_protect_record("people", id, over, vals, 3, &rec)) == ES_OK &&
        (rv = es_protect_mac(p, es_slice_make(rec.p, rec.len), mac)) == ES_OK) {
        es_value v[6] = {
            es_v_int(id),  es_v_text(name), es_v_blob(b1.p, b1.len), es_v_blob(b2.p, b2.len),
            es_v_text(ix), es_v_text(mac)};
        rv = es_store_exec(s,
                           "INSERT INTO people (id, name, idno, mobile, idno_ix, mac) VALUES "
                           "(?, ?, ?, ?, ?, ?)",
                           v, 6, NULL);
    }
    if (rv == ES_OK) rv = es_store_commit(s);
    es_store_rollback(s);
out:
    es_buf_cleanup(&b1);
    es_buf_cleanup(&b2);
    es_buf_cleanup(&rec);
    return rv;
}

typedef struct blob {
    uint8_t p[4096];
    size_t len;
    int found;
} blob;

static es_err blob_cb(void *ctx, const es_row *r)
{
    blob *b = ctx;
    es_slice s = es_row_blob(r, 0);
    b->found = 1;
    b->len = s.len < sizeof b->p ? s.len : sizeof b->p;
    if (s.p) memcpy(b->p, s.p, b->len);
    return ES_OK;
}

static blob get_col(es_store *s, const char *col, int64_t id)
{
    char sql[128];
    blob b;
    memset(&b, 0, sizeof b);
    snprintf(sql, sizeof sql, "SELECT %s FROM people WHERE id = ?", col);
    es_value v[1] = {es_v_int(id)};
    if (es_store_query(s, sql, v, 1, blob_cb, &b) != ES_OK || !b.found) st_die("no %s", sql);
    return b;
}

static void set_col(es_store *s, const char *col, int64_t id, const void *p, size_t len)
{
    char sql[128];
    snprintf(sql, sizeof sql, "UPDATE people SET %s = ? WHERE id = ?", col);
    es_value v[2] = {es_v_blob(p, len), es_v_int(id)};
    if (es_store_begin(s) != ES_OK || es_store_exec(s, sql, v, 2, NULL) != ES_OK ||
        es_store_commit(s) != ES_OK)
        st_die("%s: %s", sql, es_store_last_error(s));
}

static int64_t count(es_store *s, const char *sql)
{
    int64_t n = -1;
    if (es_store_query_int(s, sql, NULL, 0, &n) != ES_OK) return -1;
    return n;
}

static uint32_t key_of(const blob *b)
{
    return b->len >= 6 ? (uint32_t)b->p[2] << 24 | (uint32_t)b->p[3] << 16 |
                             (uint32_t)b->p[4] << 8 | b->p[5]
                       : 0;
}

typedef struct fails {
    int n;
    char what[8][96];
} fails;

static void on_fail(void *ctx, const char *table, int64_t id, const char *column, es_err rv)
{
    fails *f = ctx;
    if (f->n < 8)
        snprintf(f->what[f->n], sizeof f->what[0], "%s/%lld/%s:%s", table, (long long)id, column,
                 es_err_name(rv));
    f->n++;
}

static int has_fail(const fails *f, const char *what)
{
    for (int i = 0; i < f->n && i < 8; i++)
        if (strcmp(f->what[i], what) == 0) return 1;
    return 0;
}

/* ---- Round trips and tampering. */

static void seal_basics(const char *label, es_protect *p, es_store *s)
{
    static const size_t lens[] = {0, 1, 15, 16, 17, 31, 32, 33, 1000, 100000};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        uint8_t *m = malloc(lens[i] + 1);
        for (size_t j = 0; j < lens[i]; j++) m[j] = (uint8_t)(j * 7 + i);
        es_buf b, o;
        es_buf_init(&b, ES_PROTECT_MAX_BLOB);
        es_buf_init(&o, ES_PROTECT_MAX_PLAIN);
        es_err rv = es_protect_seal(p, s, es_slice_make(m, lens[i]), S("t/1/x"), &b);
        ok(rv == ES_OK && b.len == ES_PROTECT_MIN_BLOB + lens[i] / 16 * 16,
           "%s: seal %zu bytes: %s, blob %zu", label, lens[i], es_err_str(rv), b.len);
        rv = es_protect_open(p, s, es_slice_make(b.p, b.len), S("t/1/x"), &o);
        ok(rv == ES_OK && o.len == lens[i] && (!lens[i] || !memcmp(o.p, m, lens[i])),
           "%s: open %zu bytes: %s", label, lens[i], es_err_str(rv));
        es_buf_cleanup(&b);
        es_buf_cleanup(&o);
        free(m);
    }
    /* Two seals of the same value differ (random IV). */
    es_buf a, b, o;
    es_buf_init(&a, 4096);
    es_buf_init(&b, 4096);
    es_buf_init(&o, 4096);
    ok(es_protect_seal(p, s, S("440305199001011234"), S("people/1/idno"), &a) == ES_OK &&
           es_protect_seal(p, s, S("440305199001011234"), S("people/1/idno"), &b) == ES_OK &&
           a.len == b.len && memcmp(a.p, b.p, a.len) != 0,
       "%s: two seals of one value differ", label);
    /* Every single bit flipped, anywhere: refused. */
    int refused = 0, total = 0;
    for (size_t i = 0; i < a.len; i++)
        for (int bit = 0; bit < 8; bit += 3) {
            a.p[i] ^= (uint8_t)(1u << bit);
            o.len = 0;
            es_err rv = es_protect_open(p, s, es_slice_make(a.p, a.len), S("people/1/idno"), &o);
            refused += rv == ES_ERR_VERIFY && o.len == 0;
            total++;
            a.p[i] ^= (uint8_t)(1u << bit);
        }
    ok(refused == total, "%s: %d of %d altered blobs refused with verify", label, refused, total);
    /* Every truncation, and a byte appended. */
    refused = 0;
    for (size_t n = 0; n < a.len; n++) {
        o.len = 0;
        refused +=
            es_protect_open(p, s, es_slice_make(a.p, n), S("people/1/idno"), &o) == ES_ERR_VERIFY;
    }
    ok(refused == (int)a.len, "%s: every truncation refused (%d of %zu)", label, refused, a.len);
    ok(es_buf_append_byte(&a, 0) == ES_OK &&
           es_protect_open(p, s, es_slice_make(a.p, a.len), S("people/1/idno"), &o) ==
               ES_ERR_VERIFY,
       "%s: a byte appended: refused", label);
    a.len--;
    /* Moved: another row, another column, another table, no aad. */
    static const char *const others[] = {"people/2/idno", "people/1/mobile", "staff/1/idno", "",
                                         "people/1/idno\n"};
    for (size_t i = 0; i < 5; i++) {
        o.len = 0;
        ok(es_protect_open(p, s, es_slice_make(a.p, a.len), S(others[i]), &o) == ES_ERR_VERIFY,
           "%s: moved to '%s': refused", label, others[i]);
    }
    o.len = 0;
    ok(es_protect_open(p, s, es_slice_make(a.p, a.len), S("people/1/idno"), &o) == ES_OK &&
           o.len == 18 && !memcmp(o.p, "440305199001011234", 18),
       "%s: the untouched blob still opens", label);
    /* A blob naming a key the store does not have. */
    a.p[2] = 0x7f;
    ok(es_protect_open(p, s, es_slice_make(a.p, a.len), S("people/1/idno"), &o) == ES_ERR_VERIFY,
       "%s: a blob naming an unknown key: verify", label);
    es_buf_cleanup(&a);
    es_buf_cleanup(&b);
    es_buf_cleanup(&o);
}

static void index_and_mac(const char *label, es_protect *p)
{
    char a[65], b[65], c[65], d[65];
    ok(es_protect_index(p, "idno", S("44030519900101123x"), a) == ES_OK &&
           es_protect_index(p, "idno", S(" 44030519900101123X\n"), b) == ES_OK && !strcmp(a, b) &&
           strlen(a) == 64,
       "%s: idno index normalised (case, white space)", label);
    ok(es_protect_index(p, "mobile", S("13812345678"), c) == ES_OK &&
           es_protect_index(p, "mobile", S("+86 138-1234-5678"), d) == ES_OK && !strcmp(c, d),
       "%s: mobile index normalised (+86, spaces, dashes)", label);
    ok(es_protect_index(p, "mobile", S("44030519900101123X"), c) == ES_OK && strcmp(a, c) != 0,
       "%s: purposes do not meet", label);
    ok(es_protect_index(p, "idno", S("44030519900101124X"), c) == ES_OK && strcmp(a, c) != 0,
       "%s: another value, another index", label);
    ok(es_protect_index(p, "ID NO", S("1"), c) == ES_ERR_ARG &&
           es_protect_index(p, "", S("1"), c) == ES_ERR_ARG,
       "%s: a bad purpose is refused", label);
    /* Record MACs. */
    static const char *const names[] = {"name", "idno"};
    es_value v[2] = {es_v_text("张三"), es_v_blob("44030519900101123X", 18)};
    es_buf r1, r2;
    es_buf_init(&r1, 4096);
    es_buf_init(&r2, 4096);
    ok(es_protect_record("people", 1, names, v, 2, &r1) == ES_OK &&
           es_protect_mac(p, es_slice_make(r1.p, r1.len), a) == ES_OK &&
           es_protect_mac_check(p, es_slice_make(r1.p, r1.len), a) == ES_OK,
       "%s: a record MAC checks", label);
    ok(es_protect_record("people", 2, names, v, 2, &r2) == ES_OK &&
           es_protect_mac_check(p, es_slice_make(r2.p, r2.len), a) == ES_ERR_VERIFY,
       "%s: the same values in another row: mismatch", label);
    r2.len = 0;
    v[0] = es_v_text("张四");
    ok(es_protect_record("people", 1, names, v, 2, &r2) == ES_OK &&
           es_protect_mac_check(p, es_slice_make(r2.p, r2.len), a) == ES_ERR_VERIFY,
       "%s: a changed value: mismatch", label);
    a[0] = a[0] == '0' ? '1' : '0';
    ok(es_protect_mac_check(p, es_slice_make(r1.p, r1.len), a) == ES_ERR_VERIFY &&
           es_protect_mac_check(p, es_slice_make(r1.p, r1.len), "") == ES_ERR_VERIFY,
       "%s: a changed or empty MAC: mismatch", label);
    es_buf_cleanup(&r1);
    es_buf_cleanup(&r2);
}

/* ---- Concurrent sealing and opening while keys rotate. */

typedef struct worker {
    const char *url;
    es_protect *p;
    int id, iters, failures;
    const uint8_t *old_blob;
    size_t old_len;
    pthread_barrier_t *go;
} worker;

static void *work(void *arg)
{
    worker *w = arg;
    es_store *s = st_open(w->url);
    char aad[64], val[64];
    pthread_barrier_wait(w->go);
    for (int i = 0; i < w->iters; i++) {
        es_buf b, o;
        es_buf_init(&b, 4096);
        es_buf_init(&o, 4096);
        snprintf(aad, sizeof aad, "conc/%d/%d", w->id, i);
        snprintf(val, sizeof val, "value %d of worker %d", i, w->id);
        if (es_protect_seal(w->p, s, S(val), S(aad), &b) != ES_OK ||
            es_protect_open(w->p, s, es_slice_make(b.p, b.len), S(aad), &o) != ES_OK ||
            o.len != strlen(val) || memcmp(o.p, val, o.len) != 0)
            w->failures++;
        o.len = 0;
        if (es_protect_open(w->p, s, es_slice_make(w->old_blob, w->old_len), S("conc/old"), &o) !=
                ES_OK ||
            o.len != 9 || memcmp(o.p, "old value", 9) != 0)
            w->failures++;
        es_buf_cleanup(&b);
        es_buf_cleanup(&o);
    }
    es_store_close(s);
    return NULL;
}

static void concurrent(const char *label, const char *url, es_protect *p, es_store *s)
{
    enum { N = 4 };
    pthread_t t[N];
    worker w[N];
    pthread_barrier_t go;
    es_buf old;
    es_buf_init(&old, 4096);
    ok(es_protect_seal(p, s, S("old value"), S("conc/old"), &old) == ES_OK, "%s: an old blob",
       label);
    pthread_barrier_init(&go, NULL, N + 1);
    for (int i = 0; i < N; i++) {
        w[i] = (worker){url, p, i, 150, 0, old.p, old.len, &go};
        pthread_create(&t[i], NULL, work, &w[i]);
    }
    pthread_barrier_wait(&go);
    int rotated = 0;
    for (int r = 0; r < 3; r++) {
        int64_t id = 0;
        es_protect_pass pass;
        rotated += es_protect_rotate(p, s, &id) == ES_OK;
        ok(es_protect_reencrypt(p, s, 1000, &pass) == ES_OK && pass.failed == 0,
           "%s: a pass during the work", label);
    }
    int failures = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        failures += w[i].failures;
    }
    pthread_barrier_destroy(&go);
    ok(rotated == 3 && failures == 0,
       "%s: %d rotations while %d threads sealed and opened %d values each: %d failures", label,
       rotated, N, 150, failures);
    ok(count(s, "SELECT count(*) FROM protect_keys WHERE purpose = 'data' AND state = 'current'") ==
           1,
       "%s: one current data key", label);
    es_buf_cleanup(&old);
}

/* Two daemons starting at once make one set of keys; rotations racing each other never leave
 * two current keys. */
typedef struct racer {
    const char *url;
    int rotate;
    es_err rv;
    pthread_barrier_t *go;
} racer;

static void *race(void *arg)
{
    racer *r = arg;
    es_store *s = st_open(r->url);
    es_protect *p = kek_open(kek1, 0);
    char why[512];
    pthread_barrier_wait(r->go);
    r->rv = r->rotate ? es_protect_rotate(p, s, NULL) : es_protect_setup(p, s, why, sizeof why);
    es_protect_free(p);
    es_store_close(s);
    return NULL;
}

static void races(const char *label, const char *url)
{
    enum { N = 4 };
    es_store *s = st_open_migrated(url);
    for (int rotate = 0; rotate < 2; rotate++) {
        pthread_t t[N];
        racer r[N];
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, N);
        for (int i = 0; i < N; i++) {
            r[i] = (racer){url, rotate, ES_ERR_INTERNAL, &go};
            pthread_create(&t[i], NULL, race, &r[i]);
        }
        int okays = 0, busy = 0;
        for (int i = 0; i < N; i++) {
            pthread_join(t[i], NULL);
            okays += r[i].rv == ES_OK;
            busy += r[i].rv == ES_ERR_BUSY;
            if (r[i].rv != ES_OK && r[i].rv != ES_ERR_BUSY)
                printf("%s: racer %d: %s\n", label, i, es_err_name(r[i].rv));
        }
        pthread_barrier_destroy(&go);
        if (!rotate)
            ok(okays == N && count(s, "SELECT count(*) FROM protect_keys") == 3,
               "%s: %d daemons set up at once: %d ok, one set of keys (%lld)", label, N, okays,
               (long long)count(s, "SELECT count(*) FROM protect_keys"));
        else
            ok(okays >= 1 && okays + busy == N &&
                   count(s, "SELECT count(*) FROM protect_keys WHERE purpose = 'data' AND state = "
                            "'current'") == 1 &&
                   count(s, "SELECT count(*) FROM protect_keys WHERE purpose = 'data'") ==
                       1 + okays,
               "%s: %d rotations at once: %d made a key, %d busy, one current", label, N, okays,
               busy);
    }
    es_store_close(s);
}

/* Materials-sized values: a batch of the pass and of the check stops growing past 16 MiB, and
 * the next batch goes on after the last row kept (three rows of 9 MiB). */
static void big_rows(const char *label, es_protect *p, es_store *s)
{
    enum { ROWS = 3 };
    const size_t size = 9u << 20;
    int pg = strcmp(es_store_kind(s), "postgresql") == 0;
    st_sql(s, pg ? "CREATE TABLE files (id BIGINT PRIMARY KEY, body BYTEA)"
                 : "CREATE TABLE files (id INTEGER PRIMARY KEY, body BLOB) STRICT");
    static const char *const cols[] = {"body"};
    es_protect_table t = {"files", "id", cols, 1, NULL, NULL, NULL, 0};
    char why[256] = "", aad[64];
    ok(es_protect_register(s, &t, why, sizeof why) == ES_OK, "%s: files registered", label);
    uint8_t *m = malloc(size);
    es_buf b;
    es_buf_init(&b, ES_PROTECT_MAX_BLOB);
    int stored = 0;
    for (int i = 1; i <= ROWS && m; i++) {
        memset(m, 'a' + i, size);
        b.len = 0;
        snprintf(aad, sizeof aad, "files/%d/body", i);
        es_value v[2] = {es_v_int(i), es_v_null()};
        if (es_protect_seal(p, s, es_slice_make(m, size), S(aad), &b) != ES_OK) break;
        v[1] = es_v_blob(b.p, b.len);
        if (es_store_begin(s) != ES_OK ||
            es_store_exec(s, "INSERT INTO files (id, body) VALUES (?, ?)", v, 2, NULL) != ES_OK ||
            es_store_commit(s) != ES_OK)
            break;
        stored++;
    }
    es_store_rollback(s);
    ok(stored == ROWS, "%s: %d files of 9 MiB sealed", label, stored);
    es_protect_pass pass;
    ok(es_protect_rotate(p, s, NULL) == ES_OK && es_protect_reencrypt(p, s, 1000, &pass) == ES_OK &&
           pass.rewritten == ROWS + 6 && !pass.more,
       "%s: the pass rewrote all %d (batches cut by size) and people's 6: %zu", label, ROWS,
       pass.rewritten);
    es_protect_counts n;
    ok(es_protect_check(p, s, NULL, NULL, &n) == ES_OK && n.blobs == ROWS + 6,
       "%s: the check opened all %d: %zu", label, ROWS, n.blobs);
    st_sql(s, "DELETE FROM protect_tables WHERE tbl = 'files'");
    st_sql(s, "DROP TABLE files");
    es_buf_cleanup(&b);
    free(m);
}

/* ---- eseal protect. */

static int run_cli(const char *args, char *out, size_t outlen)
{
    const char *cli = getenv("ESEAL_CLI");
    char cmd[2048];
    if (!cli) return -1;
    snprintf(cmd, sizeof cmd,
             "ESEAL_PIN=protect-test-pin ESEAL_NEW_PIN=protect-test-pin %s protect %s 2>&1", cli,
             args);
    FILE *f = popen(cmd, "r");
    if (!f) return -1;
    size_t n = fread(out, 1, outlen - 1, f);
    out[n] = 0;
    int st = pclose(f);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* ---- The suite, on one backend. */

static void suite(const char *label, const char *url)
{
    es_store *s = st_open_migrated(url);
    es_protect *p = kek_open(kek1, 1);
    char why[512] = "";
    es_buf o;
    es_buf_init(&o, 4096);

    /* Before setup: no key. */
    ok(es_protect_seal(p, s, S("x"), S("a/1/b"), &o) == ES_ERR_PROTECT_NO_KEY,
       "%s: sealing before setup: no key", label);
    char ix[65];
    ok(es_protect_index(p, "idno", S("x"), ix) == ES_ERR_PROTECT_NO_KEY,
       "%s: an index before setup: no key", label);
    setup_ok(p, s);
    setup_ok(p, s);
    ok(count(s, "SELECT count(*) FROM protect_keys") == 3, "%s: one data, index and MAC key",
       label);
    ok(count(s, "SELECT count(*) FROM protect_keys WHERE wrapped IS NULL OR kek <> '' AND "
                "length(kek) <> 64") == 0,
       "%s: keys wrapped, KEK named", label);

    seal_basics(label, p, s);
    index_and_mac(label, p);
    unsigned long unwraps = es_protect_unwraps(p);
    for (int i = 0; i < 20; i++) {
        o.len = 0;
        if (es_protect_seal(p, s, S("v"), S("c/1/v"), &o) != ES_OK) break;
    }
    ok(es_protect_unwraps(p) == unwraps, "%s: data keys cached (%lu unwraps)", label,
       es_protect_unwraps(p) - unwraps);

    /* Registration. */
    make_people(s);
    static const char *const bad_cols[] = {"idno; DROP TABLE people"};
    es_protect_table bad = {"people", "id", bad_cols, 1, NULL, NULL, NULL, 0};
    ok(es_protect_register(s, &bad, why, sizeof why) == ES_ERR_ARG && strstr(why, "column"),
       "%s: a column that is no SQL name is refused: %s", label, why);
    static const char *const two[] = {"idno", "mobile"};
    es_protect_table nocol = {"people", "id", two, 2, "people/{id}", NULL, NULL, 0};
    ok(es_protect_register(s, &nocol, why, sizeof why) == ES_ERR_ARG,
       "%s: two columns with a pattern without {column}: refused (%s)", label, why);
    es_protect_table brace = {"people", "id", two, 2, "{table}/{id}/{col}", NULL, NULL, 0};
    ok(es_protect_register(s, &brace, why, sizeof why) == ES_ERR_ARG,
       "%s: an unknown placeholder: refused", label);
    char aad[128];
    ok(es_protect_aad(s, "people", 42, "idno", aad, sizeof aad) == ES_OK &&
           !strcmp(aad, "people/42/idno"),
       "%s: the registration survived the refusals: %s", label, aad);
    ok(es_protect_aad(s, "nobody", 1, "x", aad, sizeof aad) == ES_ERR_NOT_FOUND,
       "%s: an unregistered table: not found", label);

    ok(put_person(p, s, 1, "张三", "44030519900101123X", "13812345678") == ES_OK &&
           put_person(p, s, 2, "李四", "110101198001010011", "13987654321") == ES_OK &&
           put_person(p, s, 3, "王五", "310101197501010022", "13700000000") == ES_OK,
       "%s: three people stored", label);
    /* Exact search by the keyed index. */
    char want[65];
    ok(es_protect_index(p, "idno", S("110101198001010011"), want) == ES_OK, "%s: index", label);
    es_value iv[1] = {es_v_text(want)};
    int64_t found = 0;
    ok(es_store_query_int(s, "SELECT id FROM people WHERE idno_ix = ?", iv, 1, &found) == ES_OK &&
           found == 2,
       "%s: found by the index of the ID number: %lld", label, (long long)found);

    es_protect_counts n;
    fails f;
    memset(&f, 0, sizeof f);
    ok(es_protect_check(p, s, on_fail, &f, &n) == ES_OK && n.rows == 3 && n.blobs == 6 &&
           n.macs == 3 && f.n == 0,
       "%s: check passes (%zu rows, %zu blobs, %zu MACs, %d failures)", label, n.rows, n.blobs,
       n.macs, f.n);

    /* Tampering in the store: a blob moved to another row, a name changed under its MAC. */
    blob b1 = get_col(s, "idno", 1), b2 = get_col(s, "idno", 2);
    set_col(s, "idno", 1, b2.p, b2.len);
    st_sql(s, "UPDATE people SET name = '赵六' WHERE id = 3");
    memset(&f, 0, sizeof f);
    ok(es_protect_check(p, s, on_fail, &f, &n) == ES_ERR_PROTECT_CHECK && f.n == 3 &&
           has_fail(&f, "people/1/idno:verify") && has_fail(&f, "people/1/:verify") &&
           has_fail(&f, "people/3/:verify"),
       "%s: check finds the moved blob and both broken MACs (%d: %s %s %s)", label, f.n, f.what[0],
       f.what[1], f.what[2]);
    char out[8192];
    int rc = run_cli("check --store '' --kek x", out, sizeof out);
    if (rc >= 0) {
        char args[2048];
        snprintf(args, sizeof args, "check --store '%s' --kek '%s'", url, kek1);
        rc = run_cli(args, out, sizeof out);
        ok(rc == 1 && strstr(out, "FAILED people/1/idno") && strstr(out, "people/3/(record MAC)"),
           "%s: eseal protect check exits 1 and lists the failures: %d\n%s", label, rc, out);
    }
    set_col(s, "idno", 1, b1.p, b1.len);
    st_sql(s, "UPDATE people SET name = '王五' WHERE id = 3");
    ok(es_protect_check(p, s, NULL, NULL, &n) == ES_OK, "%s: repaired, check passes", label);
    if (rc >= 0) {
        char args[2048];
        snprintf(args, sizeof args, "check --store '%s' --kek '%s'", url, kek1);
        rc = run_cli(args, out, sizeof out);
        ok(rc == 0 && strstr(out, "3 rows, 6 blobs, 3 record MACs: 0 failures"),
           "%s: eseal protect check exits 0: %d\n%s", label, rc, out);
        snprintf(args, sizeof args, "check --store '%s' --kek '%s'", url, kek2);
        rc = run_cli(args, out, sizeof out);
        ok(rc == 3 && strstr(out, "another key-encryption key") && strstr(out, "密钥加密密钥"),
           "%s: eseal protect check with another KEK: %d\n%s", label, rc, out);
        rc = run_cli("--help", out, sizeof out);
        ok(rc == 0 && strstr(out, "examples:") && strstr(out, "rotate --store"),
           "%s: eseal protect --help: %d", label, rc);
        rc = run_cli("rotate --store sqlite:/nonexistent/x.db --new-kek a --reencrypt", out,
                     sizeof out);
        ok(rc == 3 && strstr(out, "no --reencrypt"), "%s: conflicting options refused: %d %s",
           label, rc, out);
    }

    /* Rotation rolled back: the old key stays current; the id reused later by another key does
     * not open what the rolled-back key sealed. */
    int64_t cur0 = count(s, "SELECT id FROM protect_keys WHERE purpose = 'data' AND state = "
                            "'current'");
    int64_t rid = 0;
    es_buf phantom;
    es_buf_init(&phantom, 4096);
    ok(es_store_begin(s) == ES_OK && es_protect_rotate_in(p, s, &rid) == ES_OK && rid > cur0 &&
           es_protect_seal(p, s, S("sealed in a rolled-back rotation"), S("x/1/y"), &phantom) ==
               ES_OK,
       "%s: a rotation inside a transaction (key %lld)", label, (long long)rid);
    es_store_rollback(s);
    ok(count(s, "SELECT id FROM protect_keys WHERE purpose = 'data' AND state = 'current'") == cur0,
       "%s: rolled back: key %lld is current again", label, (long long)cur0);
    o.len = 0;
    ok(es_protect_open(p, s, es_slice_make(phantom.p, phantom.len), S("x/1/y"), &o) ==
           ES_ERR_VERIFY,
       "%s: a blob of the rolled-back key does not open", label);
    blob before = get_col(s, "mobile", 2);
    int64_t k2 = 0;
    ok(es_protect_rotate(p, s, &k2) == ES_OK && k2 == rid,
       "%s: rotation: key %lld (the id of the rolled-back one)", label, (long long)k2);
    o.len = 0;
    ok(es_protect_open(p, s, es_slice_make(phantom.p, phantom.len), S("x/1/y"), &o) ==
           ES_ERR_VERIFY,
       "%s: the new key with that id does not open the rolled-back key's blob", label);
    es_buf_cleanup(&phantom);
    o.len = 0;
    ok(es_protect_seal(p, s, S("new"), S("n/1/v"), &o) == ES_OK && o.len > 6 &&
           ((uint32_t)o.p[2] << 24 | (uint32_t)o.p[3] << 16 | (uint32_t)o.p[4] << 8 | o.p[5]) ==
               (uint32_t)k2,
       "%s: new blobs name the new key", label);
    ok(es_protect_check(p, s, NULL, NULL, &n) == ES_OK, "%s: old blobs still open", label);
    es_protect_pass pass;
    ok(es_protect_reencrypt(p, s, 2, &pass) == ES_OK && pass.rewritten == 2 && pass.more == 1,
       "%s: a pass stops at its budget (%zu, more %d)", label, pass.rewritten, pass.more);
    ok(count(s, "SELECT count(*) FROM protect_keys WHERE state = 'previous'") == 1,
       "%s: the old key is previous while blobs remain", label);
    ok(es_protect_reencrypt(p, s, 1000, &pass) == ES_OK && pass.rewritten == 4 && !pass.more &&
           pass.failed == 0,
       "%s: the rest re-encrypted (%zu)", label, pass.rewritten);
    blob after = get_col(s, "mobile", 2);
    ok(key_of(&before) == (uint32_t)cur0 && key_of(&after) == (uint32_t)k2,
       "%s: a blob moved from key %u to key %u", label, key_of(&before), key_of(&after));
    ok(count(s, "SELECT count(*) FROM protect_keys WHERE state = 'retired'") == 1 &&
           count(s, "SELECT count(*) FROM protect_keys WHERE state = 'previous'") == 0,
       "%s: the old key retired after a whole pass", label);
    ok(es_protect_reencrypt(p, s, 1000, &pass) == ES_OK && pass.rewritten == 0,
       "%s: a second pass finds nothing", label);
    ok(es_protect_check(p, s, NULL, NULL, &n) == ES_OK && n.macs == 3,
       "%s: MACs hold across the re-encryption", label);
    if (rc >= 0) {
        char args[2048];
        snprintf(args, sizeof args, "status --store '%s'", url);
        rc = run_cli(args, out, sizeof out);
        ok(rc == 0 && strstr(out, "retired") && strstr(out, "column people.idno blobs:"),
           "%s: eseal protect status: %d\n%s", label, rc, out);
        snprintf(args, sizeof args, "rotate --store '%s' --kek '%s' --reencrypt", url, kek1);
        rc = run_cli(args, out, sizeof out);
        ok(rc == 0 && strstr(out, "re-encrypted 6 blobs"), "%s: eseal protect rotate: %d\n%s",
           label, rc, out);
    }

    /* A tampered blob is left as it is by the pass, and counted. */
    blob t = get_col(s, "mobile", 3);
    t.p[t.len - 1] ^= 1;
    set_col(s, "mobile", 3, t.p, t.len);
    ok(es_protect_rotate(p, s, NULL) == ES_OK && es_protect_reencrypt(p, s, 1000, &pass) == ES_OK &&
           pass.failed == 1 && pass.rewritten == 5,
       "%s: the pass leaves a tampered blob (%zu failed, %zu rewritten)", label, pass.failed,
       pass.rewritten);
    blob t2 = get_col(s, "mobile", 3);
    ok(t2.len == t.len && !memcmp(t2.p, t.p, t.len), "%s: the tampered blob is untouched", label);
    ok(count(s, "SELECT count(*) FROM protect_keys WHERE state = 'previous'") == 1,
       "%s: its key is not retired", label);
    t.p[t.len - 1] ^= 1;
    set_col(s, "mobile", 3, t.p, t.len);
    ok(es_protect_reencrypt(p, s, 1000, &pass) == ES_OK && pass.rewritten == 1,
       "%s: repaired, re-encrypted", label);

    concurrent(label, url, p, s);
    if (!strcmp(label, "sqlite")) big_rows(label, p, s);

    /* A wrong KEK: opens nothing; a missing one: refused at start. */
    es_protect *q = kek_open(kek2, 1);
    ok(es_protect_setup(q, s, why, sizeof why) == ES_ERR_PROTECT_KEK && strstr(why, "another"),
       "%s: another KEK: setup refused (%s)", label, why);
    blob x = get_col(s, "idno", 1);
    o.len = 0;
    ok(es_protect_open(q, s, es_slice_make(x.p, x.len), S("people/1/idno"), &o) ==
           ES_ERR_PROTECT_KEK,
       "%s: another KEK: open refused", label);
    es_secret_src pin = es_secret_env("ESEAL_TEST_PROTECT_PIN");
    es_protect *none = NULL;
    char missing[800];
    snprintf(missing, sizeof missing, "soft:%s#nokek", kdir);
    ok(es_protect_new(missing, &pin, 0, &none, why, sizeof why) == ES_ERR_NO_KEY && !none,
       "%s: a missing KEK: %s", label, why);
    setenv("ESEAL_TEST_PROTECT_PIN", "a wrong pin!", 1);
    ok(es_protect_new(kek1, &pin, 0, &none, why, sizeof why) == ES_ERR_PIN && !none,
       "%s: a wrong PIN: %s", label, why);
    setenv("ESEAL_TEST_PROTECT_PIN", "protect-test-pin", 1);

    /* A wrapped key swapped with another's: it does not unwrap as that key. */
    es_protect *fresh = kek_open(kek1, 0);
    ok(es_protect_rotate(p, s, NULL) == ES_OK, "%s: a data key with no blob yet", label);
    st_sql(s, "UPDATE protect_keys SET wrapped = (SELECT wrapped FROM protect_keys WHERE purpose "
              "= 'mac') WHERE purpose = 'data' AND state = 'current'");
    o.len = 0;
    ok(es_protect_seal(fresh, s, S("v"), S("a/1/b"), &o) == ES_ERR_VERIFY,
       "%s: a wrapped key moved to another row does not unwrap", label);
    es_protect_free(fresh);
    /* Undo through a rotation (the broken row stays previous, its blobs none). */
    st_sql(s, "DELETE FROM protect_keys WHERE purpose = 'data' AND state = 'current'");
    int64_t k3 = 0;
    ok(es_protect_rotate(p, s, &k3) == ES_OK, "%s: a fresh data key", label);
    ok(es_protect_check(p, s, NULL, NULL, &n) == ES_OK, "%s: all still open", label);

    /* KEK rotation: keys rewrapped, data untouched; the old KEK no longer opens. */
    blob d0 = get_col(s, "idno", 2);
    ok(es_protect_rekek(p, q, s, why, sizeof why) == ES_OK, "%s: rekek: %s", label, why);
    blob d1 = get_col(s, "idno", 2);
    ok(d0.len == d1.len && !memcmp(d0.p, d1.p, d0.len), "%s: the data blobs are untouched", label);
    ok(count(s, "SELECT count(*) FROM protect_keys WHERE kek <> '' ") ==
           count(s, "SELECT count(*) FROM protect_keys"),
       "%s: every key row has a KEK", label);
    es_protect_free(q);
    q = kek_open(kek2, 0);
    setup_ok(q, s);
    char ix2[65];
    ok(es_protect_check(q, s, NULL, NULL, &n) == ES_OK && n.blobs == 6 &&
           es_protect_index(q, "idno", S("110101198001010011"), ix2) == ES_OK && !strcmp(ix2, want),
       "%s: the new KEK opens everything; the index is the same", label);
    o.len = 0;
    ok(es_protect_open(p, s, es_slice_make(d1.p, d1.len), S("people/2/idno"), &o) ==
           ES_ERR_PROTECT_KEK,
       "%s: the old KEK opens nothing now", label);
    ok(es_protect_rekek(q, q, s, why, sizeof why) == ES_OK, "%s: a rerun changes nothing", label);
    /* And back to the first KEK with the command. */
    if (run_cli("--help", out, sizeof out) == 0) {
        char args[2048];
        snprintf(args, sizeof args, "rotate --store '%s' --kek '%s' --new-kek '%s'", url, kek2,
                 kek1);
        rc = run_cli(args, out, sizeof out);
        ok(rc == 0 && strstr(out, "keys rewrapped") &&
               es_protect_check(p, s, NULL, NULL, &n) == ES_OK && n.blobs == 6,
           "%s: eseal protect rotate --new-kek: back to the first KEK, which opens all: %d\n%s",
           label, rc, out);
    }

    es_protect_free(q);
    es_protect_free(p);
    es_buf_cleanup(&o);
    es_store_close(s);
}

static void masks(void)
{
    char o[64];
    es_mask_idno("44030519900101123X", o, sizeof o);
    ok(!strcmp(o, "4403**********123X"), "idno mask: %s", o);
    es_mask_mobile("13812345678", o, sizeof o);
    ok(!strcmp(o, "138****5678"), "mobile mask: %s", o);
    es_mask_text("广东省深圳市南山区科技园路一号", o, sizeof o);
    ok(!strcmp(o, "广东省深圳市***"), "text mask: %s", o);
    es_mask_text("南山区", o, sizeof o);
    ok(!strcmp(o, "南***"), "short text mask: %s", o);
    es_mask_idno("123", o, sizeof o);
    ok(!strcmp(o, "***"), "a short value is all stars: %s", o);
    es_mask_idno(NULL, o, sizeof o);
    ok(!strcmp(o, ""), "NULL: empty");
    es_mask_text("广东省深圳市南山区科技园路一号", o, 8);
    ok(strlen(o) < 8 && es_utf8_valid(o, strlen(o)), "a short buffer cuts on a character: %s", o);
    es_mask_mobile("13812345678", o, 5);
    ok(!strcmp(o, "138*"), "a short buffer: %s", o);
}

static void blob_format(void)
{
    es_protect_blob b;
    uint8_t m[ES_PROTECT_MIN_BLOB + 16];
    memset(m, 0, sizeof m);
    m[0] = 1;
    m[1] = 1;
    m[5] = 7;
    ok(es_protect_blob_parse(es_slice_make(m, ES_PROTECT_MIN_BLOB), &b) == ES_OK && b.key_id == 7 &&
           b.ct.len == 16 && b.tag.len == 32,
       "blob layout read");
    ok(es_protect_blob_parse(es_slice_make(m, ES_PROTECT_MIN_BLOB + 1), &b) == ES_ERR_VERIFY,
       "a ciphertext that is not whole blocks");
    m[0] = 2;
    ok(es_protect_blob_parse(es_slice_make(m, ES_PROTECT_MIN_BLOB), &b) == ES_ERR_VERIFY,
       "an unknown version");
    m[0] = 1;
    m[5] = 0;
    ok(es_protect_blob_parse(es_slice_make(m, ES_PROTECT_MIN_BLOB), &b) == ES_ERR_VERIFY,
       "key id 0");
}

/* Known answers of the two primitives, from the openssl command line:
 *   openssl mac -digest SM3 -macopt hexkey:000102030405060708090a0b0c0d0e0f HMAC  ("abc")
 *   openssl enc -sm4-cbc -K 0123456789abcdeffedcba9876543210 -iv 000102..0f -nopad */
static void primitives(void)
{
    static const uint8_t hkey[16] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    static const uint8_t skey[16] = {0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef,
                                     0xfe, 0xdc, 0xba, 0x98, 0x76, 0x54, 0x32, 0x10};
    uint8_t mac[32], ct[32], back[32];
    char hex[65];
    ok(es_hmac_sm3_once(hkey, sizeof hkey, "abc", 3, mac) == ES_OK, "HMAC-SM3");
    es_hex_encode(mac, sizeof mac, hex);
    ok(!strcmp(hex, "83fd35b3ff6211428a38c070431ad42c23a86eaca25a5ea81a1ded4704a12c7c"),
       "HMAC-SM3 known answer: %s", hex);
    ok(es_sm4_cbc(1, skey, hkey, (const uint8_t *)"0123456789abcdef0123456789abcdef", 32, ct) ==
           ES_OK,
       "SM4-CBC");
    es_hex_encode(ct, sizeof ct, hex);
    ok(!strcmp(hex, "9d193c43fdc9ac44b40c27629ea9df0cb8e075fe283adf662aefc549b2aa2368"),
       "SM4-CBC known answer: %s", hex);
    ok(es_sm4_cbc(0, skey, hkey, ct, 32, back) == ES_OK &&
           !memcmp(back, "0123456789abcdef0123456789abcdef", 32),
       "SM4-CBC decrypts");
    ok(es_sm4_cbc(1, skey, hkey, ct, 17, back) == ES_ERR_ARG, "SM4-CBC: whole blocks only");
    ok(es_hmac_sm3_once(hkey, 0, "abc", 3, mac) == ES_ERR_ARG, "HMAC-SM3: a key is needed");
}

/* The KEK in an SDF device (libsoftsdf.so, loaded as a vendor's library): the data keys are
 * unwrapped by SDF_InternalDecrypt_ECC with the index's encryption key, and wrapped to the
 * public key es_keydev_public_key gives (the signing one): it works where the index's two key
 * pairs are one, and is refused at the first wrap, not later, where they differ. */
static void sdf_kek(void)
{
    const char *lib = getenv("ESEAL_SOFTSDF");
    char dir[700], ref[800], from[800], to[800], cmd[4000], why[512] = "";
    if (!lib) {
        printf("SKIP SDF KEK: ESEAL_SOFTSDF is not set (run through ctest)\n");
        t_skipped++;
        return;
    }
    snprintf(dir, sizeof dir, "%s/sdf", st_tmp());
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    if (system(cmd) != 0) st_die("%s", cmd);
    setenv("SOFTSDF_DIR", dir, 1);
    /* Index 1: its encryption key is its signing key. Index 2: two different keys. */
    for (int i = 1; i <= 2; i++) {
        char name[16];
        snprintf(name, sizeof name, "sign%d", i);
        snprintf(ref, sizeof ref, "soft:%s#%s", dir, name);
        es_protect_free(kek_open(ref, 1));
        snprintf(ref, sizeof ref, "soft:%s#other%d", dir, i);
        es_protect_free(kek_open(ref, 1));
    }
    snprintf(from, sizeof from, "%s/sign1.key", dir);
    snprintf(to, sizeof to, "%s/enc1.key", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s' && cp '%s/other2.key' '%s/enc2.key'", from, to, dir,
             dir);
    if (system(cmd) != 0) st_die("%s", cmd);

    es_store *s = st_open_migrated(st_sqlite_db("protect_sdf1"));
    snprintf(ref, sizeof ref, "sdf:%s#1", lib);
    es_protect *p = kek_open(ref, 0);
    es_buf b, o;
    es_buf_init(&b, 4096);
    es_buf_init(&o, 4096);
    ok(es_protect_setup(p, s, why, sizeof why) == ES_OK &&
           es_protect_seal(p, s, S("13812345678"), S("people/1/mobile"), &b) == ES_OK &&
           es_protect_open(p, s, es_slice_make(b.p, b.len), S("people/1/mobile"), &o) == ES_OK &&
           o.len == 11,
       "an SDF KEK whose encryption key pair is its signing one: %s", why);
    es_protect_free(p);
    es_store_close(s);

    s = st_open_migrated(st_sqlite_db("protect_sdf2"));
    snprintf(ref, sizeof ref, "sdf:%s#2", lib);
    p = kek_open(ref, 0);
    es_err rv = es_protect_setup(p, s, why, sizeof why);
    ok(rv == ES_ERR_KEY_MISMATCH && count(s, "SELECT count(*) FROM protect_keys") == 0,
       "an SDF KEK with a separate encryption key pair: refused at the first wrap, nothing "
       "stored (%s: %s)",
       es_err_name(rv), why);
    es_protect_free(p);
    es_store_close(s);
    es_buf_cleanup(&b);
    es_buf_cleanup(&o);
}

/* The site's PIN, from its pin_file (the embedded default makes one). */
static es_err pin_from_file(void *ctx, const char *what, char *buf, size_t cap)
{
    es_buf b;
    (void)what;
    es_buf_init(&b, 4096);
    es_err rv = es_file_read(ctx, &b);
    while (rv == ES_OK && b.len && (b.p[b.len - 1] == '\n' || b.p[b.len - 1] == '\r')) b.len--;
    if (rv == ES_OK && b.len >= cap) rv = ES_ERR_LIMIT;
    if (rv == ES_OK) {
        memcpy(buf, b.p, b.len);
        buf[b.len] = 0;
    }
    es_buf_cleanup_secret(&b);
    return rv;
}

/* The daemon's job protect-reencrypt: rows sealed under an older key move to the current one,
 * and the run is in the audit trail. */
static void node_job(const char *var, es_node *n)
{
    char url[800], ref[800], pinf[800], why[512] = "";
    snprintf(url, sizeof url, "sqlite:%s/eseal.db", var);
    snprintf(ref, sizeof ref, "soft:%s/keys#protect", var);
    snprintf(pinf, sizeof pinf, "%s/keys/passphrase", var);
    es_secret_src pin = {pin_from_file, pinf};
    es_protect *p = NULL;
    es_store *s = st_open(url);
    ok(es_protect_new(ref, &pin, 0, &p, why, sizeof why) == ES_OK &&
           es_protect_setup(p, s, why, sizeof why) == ES_OK,
       "the daemon's KEK opens with the site's PIN (%s)", why);
    if (!p) {
        es_store_close(s);
        return;
    }
    make_people(s);
    ok(put_person(p, s, 1, "张三", "44030519900101123X", "13812345678") == ES_OK &&
           put_person(p, s, 2, "李四", "110101198001010011", "13987654321") == ES_OK,
       "two people in the daemon's store");
    int64_t id = 0;
    ok(es_protect_rotate(p, s, &id) == ES_OK, "rotated to key %lld", (long long)id);
    ok(es_sched_run_now(es_node_sched(n), "protect-reencrypt") == ES_OK,
       "the daemon's job protect-reencrypt runs");
    blob a = get_col(s, "idno", 1), b = get_col(s, "mobile", 2);
    ok(key_of(&a) == (uint32_t)id && key_of(&b) == (uint32_t)id,
       "the job moved the blobs to key %lld (%u, %u)", (long long)id, key_of(&a), key_of(&b));
    ok(st_audit_count(s, "protect.reencrypt") == 1, "its run is in the audit trail");
    es_protect_counts c;
    ok(es_protect_check(p, s, NULL, NULL, &c) == ES_OK && c.blobs == 4 && c.macs == 2,
       "the daemon's store checks");
    es_protect_free(p);
    es_store_close(s);
}

/* A daemon makes the KEK and the keys at its first start, and no second set at the next. */
static void node_start(void)
{
    char var[700], out[800], why[600] = "", url[800], kek[800];
    snprintf(var, sizeof var, "%s/node", st_tmp());
    snprintf(out, sizeof out, "%s.out", var);
    FILE *f = fopen(out, "w");
    es_node *n = NULL;
    es_node_opts o = {NULL, "127.0.0.1:0", var, f};
    for (int i = 0; i < 2; i++) {
        ok(es_node_start(&o, &n, why, sizeof why) == ES_OK && n, "node start %d (%s)", i, why);
        if (n && i == 1) node_job(var, n);
        es_node_stop(n);
        n = NULL;
    }
    fclose(f);
    snprintf(url, sizeof url, "sqlite:%s/eseal.db", var);
    es_store *s = st_open(url);
    ok(count(s, "SELECT count(*) FROM protect_keys WHERE state = 'current'") == 3,
       "the daemon made one data, index and MAC key");
    es_store_close(s);
    snprintf(kek, sizeof kek, "%s/keys/protect.key", var);
    es_buf b;
    es_buf_init(&b, 1u << 20);
    ok(es_file_read(kek, &b) == ES_OK && strstr((const char *)b.p, "ENCRYPTED PRIVATE KEY"),
       "its KEK is an encrypted soft key beside the others");
    es_buf_cleanup(&b);
}

int main(void)
{
    snprintf(kdir, sizeof kdir, "%s/keys", st_tmp());
    char cmd[700];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", kdir);
    if (system(cmd) != 0) st_die("%s", cmd);
    snprintf(kek1, sizeof kek1, "soft:%s#kek1", kdir);
    snprintf(kek2, sizeof kek2, "soft:%s#kek2", kdir);
    setenv("ESEAL_TEST_PROTECT_PIN", "protect-test-pin", 1);
    es_protect_free(kek_open(kek2, 1)); /* the other KEK, made once */
    primitives();
    masks();
    blob_format();
    node_start();
    sdf_kek();
    suite("sqlite", st_sqlite_db("protect"));
    races("sqlite", st_sqlite_db("protect_race"));
    if (st_pg_ready()) {
        suite("postgresql", st_pg_db("protect"));
        races("postgresql", st_pg_db("protect_race"));
    }
    return t_done();
}
