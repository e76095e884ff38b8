/* The real-world corpus: every seal and signature file in ../shared/corpus/real gets the
 * verdict EXPECTED.tsv gives (read from the file, never copied), and the report names the
 * quirks the notes mention. OFD packages are the OFD layer's test. */
#include "test.h"

#include <dirent.h>
#include <sys/stat.h>

#include "eseal/seal.h"

/* Quirks a note's words promise the report will name. */
static const struct {
    const char *words;
    const char *quirk;
} note_quirks[] = {
    {"sign octet", "integer_no_sign_octet"}, {"raw 64-byte", "raw_signature"},
    {"BER indefinite", "ber_indefinite"},    {"zero-padded", "integer_padded"},
    {"unused-bits", "unused_bits"},
};

/* The set of FAILED checks as "a,b,c" in report order. */
static void failed_set(const es_entry *e, char *out, size_t n)
{
    out[0] = 0;
    for (size_t i = 0; i < e->n_checks; i++) {
        if (e->checks[i].result != ES_FAILED) continue;
        if (out[0]) strncat(out, ",", n - strlen(out) - 1);
        strncat(out, e->checks[i].name, n - strlen(out) - 1);
    }
}

/* Same set regardless of order: every listed name failed and nothing else did. */
static int same_failures(const es_entry *e, const char *list)
{
    size_t listed = 0;
    char tmp[256];
    snprintf(tmp, sizeof tmp, "%s", list);
    for (char *tok = strtok(tmp, ","); tok; tok = strtok(NULL, ",")) {
        listed++;
        if (!t_result_is(e, tok, ES_FAILED)) return 0;
    }
    size_t failed = 0;
    for (size_t i = 0; i < e->n_checks; i++) failed += e->checks[i].result == ES_FAILED;
    return failed == listed;
}

static void check_file(const char *name, const char *expected, const char *notes)
{
    es_buf b = t_read(t_path("ESEAL_CORPUS", name));
    es_report rep;
    es_verify_opts o;
    memset(&o, 0, sizeof o);
    o.now = ES_TIME_NONE;
    es_report_init(&rep);
    es_err rv = es_verify_any(es_slice_make(b.p, b.len), &o, &rep);
    ok(rv == ES_OK && rep.n_entries == 1, "%s: a report with one entry (%s)", name, es_err_str(rv));
    if (rv != ES_OK || rep.n_entries != 1) goto out;
    es_report_finish(&rep);
    const es_entry *e = &rep.entries[0];
    char failed[256];
    failed_set(e, failed, sizeof failed);
    int good;

    if (strncmp(expected, "valid", 5) == 0) {
        int cms = strstr(expected, "35275") != NULL;
        good = failed[0] == 0 && t_result_is(e, ES_CHECK_FORMAT, ES_PASSED) &&
               (strncmp(name, "esl/", 4) == 0 || t_result_is(e, ES_CHECK_SIGNATURE, ES_PASSED)) &&
               (cms || t_result_is(e, ES_CHECK_SEAL_SIGNATURE, ES_PASSED)) &&
               (cms == (strcmp(e->kind, "cms_signed_data") == 0)) &&
               /* no trust anchors: the cryptography is valid, trust is unknown */
               e->indication == ES_INDETERMINATE &&
               t_result_is(e, ES_CHECK_CHAIN_TRUST, ES_INDETERMINATE);
        ok(good, "%s: expected %s, failed checks [%s], indication %s", name, expected, failed,
           es_result_name(e->indication));
    } else if (strncmp(expected, "invalid:", 8) == 0) {
        good = same_failures(e, expected + 8) && e->indication == ES_FAILED;
        ok(good, "%s: expected %s, failed checks [%s]", name, expected, failed);
    } else if (strcmp(expected, "unparseable") == 0) {
        good = t_result_is(e, ES_CHECK_FORMAT, ES_FAILED) && e->indication == ES_FAILED;
        ok(good, "%s: expected unparseable, failed checks [%s]", name, failed);
    } else if (strcmp(expected, "no-signature") == 0) {
        good = t_has_quirk(e, "no_signature") &&
               t_result_is(e, ES_CHECK_SEAL_SIGNATURE, ES_FAILED) &&
               t_result_is(e, ES_CHECK_FORMAT, ES_PASSED);
        ok(good, "%s: expected no-signature, failed checks [%s]", name, failed);
    } else {
        ok(0, "%s: unknown verdict '%s' in EXPECTED.tsv", name, expected);
        good = 0;
    }
    for (size_t i = 0; i < sizeof note_quirks / sizeof note_quirks[0]; i++) {
        if (!strstr(notes, note_quirks[i].words)) continue;
        ok(t_has_quirk(e, note_quirks[i].quirk), "%s: notes say '%s', report lacks quirk %s", name,
           note_quirks[i].words, note_quirks[i].quirk);
    }
    if (!good) t_dump(&rep);
out:
    es_report_cleanup(&rep);
    es_buf_cleanup(&b);
}

/* The files EXPECTED.tsv has a row for (OFD files have one row per signature). */
#define MAX_ROWS 4096
static const char *rows[MAX_ROWS];
static size_t n_rows;

static int has_row(const char *name)
{
    for (size_t i = 0; i < n_rows; i++)
        if (strcmp(rows[i], name) == 0) return 1;
    return 0;
}

/* Every file of the corpus's folders must have a row: a file added without its verdict would
 * otherwise never be tested. Returns how many files were looked at. */
static int check_every_file_has_a_row(void)
{
    static const char *const dirs[] = {"esl", "signature", "ofd"};
    int seen = 0;
    for (size_t k = 0; k < sizeof dirs / sizeof dirs[0]; k++) {
        const char *dir = t_path("ESEAL_CORPUS", dirs[k]);
        DIR *d = opendir(dir);
        ok(d != NULL, "the corpus has a folder %s", dirs[k]);
        if (!d) continue;
        struct dirent *de;
        while ((de = readdir(d)) != NULL) {
            if (de->d_name[0] == '.') continue;
            char rel[1024], full[4096];
            snprintf(rel, sizeof rel, "%s/%s", dirs[k], de->d_name);
            snprintf(full, sizeof full, "%s/%s", dir, de->d_name);
            struct stat st;
            if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
                ok(0, "%s: not a regular file (the corpus folders hold files only)", rel);
                continue;
            }
            seen++;
            ok(has_row(rel), "%s: no row in EXPECTED.tsv, so no verdict to test it against", rel);
        }
        closedir(d);
    }
    return seen;
}

/* And the other way: every row names a file that is there (an OFD package's rows too, which
 * the OFD layer's test reads), and the corpus holds no folder this test does not look in. */
static void check_every_row_has_a_file(void)
{
    for (size_t i = 0; i < n_rows; i++) {
        struct stat st;
        int there = stat(t_path("ESEAL_CORPUS", rows[i]), &st) == 0 && S_ISREG(st.st_mode);
        ok(there, "%s: a row in EXPECTED.tsv for a file that is not in the corpus", rows[i]);
    }
    static const char *const known[] = {"esl",          "signature", "ofd",
                                        "EXPECTED.tsv", "README.md", "SOURCES.tsv"};
    DIR *d = opendir(t_path("ESEAL_CORPUS", ""));
    ok(d != NULL, "the corpus folder opens");
    if (!d) return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.') continue;
        int k = 0;
        for (size_t j = 0; j < sizeof known / sizeof known[0]; j++)
            k |= strcmp(de->d_name, known[j]) == 0;
        ok(k, "%s: in the corpus but in no folder this test reads", de->d_name);
    }
    closedir(d);
}

int main(void)
{
    es_buf tsv = t_read(t_path("ESEAL_CORPUS", "EXPECTED.tsv"));
    if (es_buf_nul(&tsv) != ES_OK) return 2;
    int files = 0;
    char *save = NULL;
    for (char *line = strtok_r((char *)tsv.p, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        char *f[4] = {0};
        int n = 0;
        char *p = line;
        while (n < 4) {
            f[n++] = p;
            char *tab = strchr(p, '\t');
            if (!tab) break;
            *tab = 0;
            p = tab + 1;
        }
        if (n < 3 || strcmp(f[0], "file") == 0) continue;
        if (n_rows < MAX_ROWS) rows[n_rows++] = f[0]; /* points into tsv, kept to the end */
        if (strncmp(f[0], "esl/", 4) != 0 && strncmp(f[0], "signature/", 10) != 0) continue;
        check_file(f[0], f[2], n > 3 ? f[3] : "");
        files++;
    }
    /* The corpus has 35 seal and signature files; a short count means EXPECTED.tsv was not
     * read as intended. */
    ok(files >= 35, "corpus lines read: %d", files);
    ok(n_rows < MAX_ROWS, "EXPECTED.tsv has fewer than %d rows", MAX_ROWS);
    int on_disk = check_every_file_has_a_row();
    ok(on_disk >= 60, "corpus files looked at: %d", on_disk);
    check_every_row_has_a_file();
    es_buf_cleanup(&tsv);
    return t_done();
}
