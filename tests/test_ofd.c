/* OFD: every package of the real-world corpus gets the verdicts EXPECTED.tsv gives, signature
 * by signature (read from the file, never copied), with the failing files named as its notes
 * name them; signing round trips (one, two, riding); every covered byte, and every byte of
 * Signature.xml, SignedValue.dat and Seal.esl, changed and detected; broken packages refused
 * with a reason; path normalisation. */
#include <unistd.h>

#include "test.h"

#include "doc/internal.h"
#include "eseal/ofd.h"
#include "eseal/seal.h"
#include "ofd_gen.h"

static char tmpdir[256];

/* A path in the test's temporary directory; eight buffers rotate, so copy what must last. */
static const char *tmp(const char *name)
{
    static char buf[8][512];
    static int k;
    char *b = buf[k++ % 8];
    snprintf(b, 512, "%s/%s", tmpdir, name);
    return b;
}

/* Quirks a note's words promise the report will name (as in test_corpus.c). */
static const struct {
    const char *words;
    const char *quirk;
} note_quirks[] = {
    {"sign octet", "integer_no_sign_octet"},
    {"raw 64-byte", "raw_signature"},
    {"zero-padded", "integer_padded"},
    {"unused-bits", "unused_bits"},
};

static size_t n_failed(const es_entry *e)
{
    size_t n = 0;
    for (size_t i = 0; i < e->n_checks; i++) n += e->checks[i].result == ES_FAILED;
    return n;
}

static void dump_entry(const es_report *rep, size_t i)
{
    es_report one = *rep;
    one.entries = &rep->entries[i];
    one.n_entries = 1;
    t_dump(&one);
}

/* Verifies a package; returns 0 and fills rep/res, or the error. */
static es_err verify_file(const char *path, const es_trust *trust, es_report *rep,
                          es_ofd_result *res, char *why, size_t whylen)
{
    es_ofd *o = NULL;
    es_verify_opts vo;
    memset(&vo, 0, sizeof vo);
    vo.now = ES_TIME_NONE;
    vo.trust = trust;
    es_report_init(rep);
    es_ofd_result_init(res);
    es_err rv = es_ofd_open(path, NULL, &o, why, whylen);
    if (rv == ES_OK) rv = es_ofd_verify(o, &vo, rep, res, why, whylen);
    if (rv == ES_OK) es_report_finish(rep);
    es_ofd_free(o);
    return rv;
}

static const es_ofd_sig *sig_by_id(const es_ofd_result *res, const char *id)
{
    for (size_t i = 0; i < res->n_sigs; i++)
        if (strcmp(res->sigs[i].id, id) == 0) return &res->sigs[i];
    return NULL;
}

/* 1 when the signature's bad references are exactly the space-separated paths in list. */
static int same_bad_files(const es_ofd_sig *s, const char *list)
{
    char tmpl[2048];
    snprintf(tmpl, sizeof tmpl, "%s", list);
    size_t listed = 0;
    char *save = NULL;
    for (char *t = strtok_r(tmpl, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        listed++;
        int found = 0;
        for (size_t i = 0; i < s->n_refs; i++)
            found |= s->refs[i].state != ES_OFD_REF_OK && strcmp(s->refs[i].path, t) == 0;
        if (!found) return 0;
    }
    return listed == s->n_bad;
}

/* "invalid:references(/a /b),signature,data_hash (note)": checks each listed check FAILED
 * (and nothing else), and the reference list. */
static int invalid_matches(const es_entry *e, const es_ofd_sig *s, const char *list)
{
    size_t listed = 0;
    const char *p = list;
    while (*p && *p != ' ') {
        const char *end = p;
        int depth = 0;
        while (*end && (depth || (*end != ',' && *end != ' '))) {
            if (*end == '(') depth++;
            if (*end == ')') depth--;
            end++;
        }
        char tok[2048];
        snprintf(tok, sizeof tok, "%.*s", (int)(end - p), p);
        char *paren = strchr(tok, '(');
        if (paren) {
            *paren = 0;
            char *close = strrchr(paren + 1, ')');
            if (close) *close = 0;
            if (strcmp(tok, "references") != 0 || !same_bad_files(s, paren + 1)) return 0;
        }
        if (!t_result_is(e, tok, ES_FAILED)) return 0;
        listed++;
        p = *end == ',' ? end + 1 : end;
    }
    return listed == n_failed(e);
}

static int contains(const uint8_t *p, size_t n, const char *s)
{
    size_t k = strlen(s);
    for (size_t i = 0; i + k <= n; i++)
        if (memcmp(p + i, s, k) == 0) return 1;
    return 0;
}

static int corpus_files, corpus_sigs;

static void check_ofd(const char *file, char lines[][3][1024], size_t n)
{
    es_report rep;
    es_ofd_result res;
    char why[512] = "";
    es_err rv = verify_file(t_path("ESEAL_CORPUS", file), NULL, &rep, &res, why, sizeof why);
    ok(rv == ES_OK, "%s: verified (%s: %s)", file, es_err_str(rv), why);
    if (rv != ES_OK) goto out;
    corpus_files++;
    if (n == 1 && strcmp(lines[0][0], "-") == 0) {
        ok(rep.n_entries == 0 && res.n_sigs == 0, "%s: %s, but %zu entries", file, lines[0][1],
           rep.n_entries);
        ok(rep.indication == ES_INDETERMINATE, "%s: no signature is INDETERMINATE", file);
        goto out;
    }
    ok(rep.n_entries == n && res.n_sigs == n, "%s: %zu signatures expected, %zu reported", file, n,
       rep.n_entries);
    for (size_t k = 0; k < n; k++) {
        const char *id = lines[k][0], *expected = lines[k][1], *notes = lines[k][2];
        const es_ofd_sig *s = sig_by_id(&res, id);
        ok(s != NULL, "%s: no signature with ID %s", file, id);
        if (!s) continue;
        corpus_sigs++;
        const es_entry *e = &rep.entries[s->entry];
        ok(strcmp(e->id, id) == 0, "%s %s: entry id %s", file, id, e->id);
        int good;
        if (strncmp(expected, "valid", 5) == 0) {
            int cms = strstr(expected, "35275") != NULL;
            good = n_failed(e) == 0 && t_result_is(e, ES_CHECK_FORMAT, ES_PASSED) &&
                   t_result_is(e, ES_CHECK_SIGNATURE, ES_PASSED) &&
                   t_result_is(e, ES_CHECK_DATA_HASH, ES_PASSED) &&
                   t_result_is(e, ES_CHECK_REFERENCES, ES_PASSED) &&
                   t_result_is(e, ES_CHECK_CHANGES, ES_PASSED) &&
                   (cms || t_result_is(e, ES_CHECK_SEAL_SIGNATURE, ES_PASSED)) &&
                   cms == (strcmp(e->kind, "cms_signed_data") == 0) &&
                   e->indication == ES_INDETERMINATE &&
                   t_result_is(e, ES_CHECK_CHAIN_TRUST, ES_INDETERMINATE) && s->n_bad == 0;
        } else if (strncmp(expected, "invalid:", 8) == 0) {
            good = invalid_matches(e, s, expected + 8) && e->indication == ES_FAILED;
            if (strstr(expected, "references(")) {
                /* Told apart: a change made by adding a later signature, or tampering. */
                int later = strstr(notes, "modified by a later signature") != NULL;
                good &= later ? t_result_is(e, ES_CHECK_CHANGES, ES_WARNING) && s->changed_by_later
                              : t_result_is(e, ES_CHECK_CHANGES, ES_INDETERMINATE) &&
                                    !s->changed_by_later;
            }
        } else if (strncmp(expected, "indeterminate", 13) == 0) {
            good = n_failed(e) == 0 && e->indication == ES_INDETERMINATE &&
                   t_result_is(e, ES_CHECK_REFERENCES, ES_PASSED);
            if (strstr(expected, "bare SM2"))
                good &= strcmp(e->kind, "sm2_signature") == 0 &&
                        t_result_is(e, ES_CHECK_SIGNATURE, ES_INDETERMINATE);
        } else {
            good = 0;
        }
        ok(good, "%s %s: expected %s", file, id, expected);
        for (size_t i = 0; i < sizeof note_quirks / sizeof note_quirks[0]; i++)
            if (strstr(notes, note_quirks[i].words))
                ok(t_has_quirk(e, note_quirks[i].quirk), "%s %s: notes say '%s', no quirk %s", file,
                   id, note_quirks[i].words, note_quirks[i].quirk);
        if (!good) dump_entry(&rep, s->entry);
    }
out:
    es_ofd_result_cleanup(&res);
    es_report_cleanup(&rep);
}

static void test_corpus(void)
{
    es_buf tsv = t_read(t_path("ESEAL_CORPUS", "EXPECTED.tsv"));
    if (es_buf_nul(&tsv) != ES_OK) exit(2);
    static char lines[64][3][1024];
    char file[512] = "";
    size_t n = 0;
    char *save = NULL;
    for (char *line = strtok_r((char *)tsv.p, "\n", &save);; line = strtok_r(NULL, "\n", &save)) {
        char *f[4] = {0};
        int k = 0;
        if (line) {
            char *p = line;
            while (k < 4) {
                f[k++] = p;
                char *tab = strchr(p, '\t');
                if (!tab) break;
                *tab = 0;
                p = tab + 1;
            }
        }
        int ofd = line && k >= 3 && strncmp(f[0], "ofd/", 4) == 0;
        if (n && (!line || !ofd || strcmp(f[0], file) != 0)) {
            check_ofd(file, lines, n);
            n = 0;
        }
        if (!line) break;
        if (!ofd || n == 64) continue;
        snprintf(file, sizeof file, "%s", f[0]);
        snprintf(lines[n][0], 1024, "%s", f[1]);
        snprintf(lines[n][1], 1024, "%s", f[2]);
        snprintf(lines[n][2], 1024, "%s", k > 3 ? f[3] : "");
        n++;
    }
    es_buf_cleanup(&tsv);
    /* 25 packages and 31 signatures in the corpus: fewer means EXPECTED.tsv was misread. */
    ok(corpus_files >= 25 && corpus_sigs >= 30, "corpus: %d packages, %d signatures", corpus_files,
       corpus_sigs);
}

/* ------------------------------------------------------------------------------------------ */

static void test_paths(void)
{
    es_quirks q = 0;
    struct {
        const char *base, *ref, *want;
        int slashes;
    } cases[] = {
        {"Doc_0/Signs/Signatures.xml", "Sign_0/Signature.xml", "Doc_0/Signs/Sign_0/Signature.xml",
         0},
        {"Doc_0/Signs/Sign_0/Signature.xml", "SignedValue.dat",
         "Doc_0/Signs/Sign_0/SignedValue.dat", 0},
        {"Doc_0/Signs/Sign_0/Signature.xml", "/Doc_0/Document.xml", "Doc_0/Document.xml", 0},
        {"Doc_0/Signs/Sign_0/Signature.xml", "//Doc_0/Signs/Sign_0/Seal.esl",
         "Doc_0/Signs/Sign_0/Seal.esl", 1},
        {"OFD.xml", "Doc_0//Signs/./Signatures.xml", "Doc_0/Signs/Signatures.xml", 1},
        {"Doc_0/Signs/Sign_0/Signature.xml", "../../Res/a.png", "Doc_0/Res/a.png", 0},
        {NULL, "  /OFD.xml\n", "OFD.xml", 0},
        {NULL, "\\Doc_0\\Document.xml", "Doc_0/Document.xml", 1},
        {"a/b.xml", "../../x", NULL, 0},
        {NULL, "/", NULL, 0},
        {NULL, "", NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        q = 0;
        char *got = ofd_path_join(cases[i].base, cases[i].ref, &q);
        ok((got == NULL && cases[i].want == NULL) ||
               (got && cases[i].want && strcmp(got, cases[i].want) == 0),
           "path '%s' in %s: got %s, want %s", cases[i].ref, cases[i].base ? cases[i].base : "/",
           got ? got : "NULL", cases[i].want ? cases[i].want : "NULL");
        if (cases[i].want)
            ok(!!(q & ES_QUIRK(ES_QUIRK_OFD_PATH_SLASHES)) == cases[i].slashes,
               "path '%s': slashes quirk %d", cases[i].ref, cases[i].slashes);
        free(got);
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Signing */

static es_buf seal_der;
static es_buf signer_cert;
static es_trust *trust;

static void make_seal(void)
{
    es_buf maker_cert = t_cert("maker.crt"), pic = t_data("seal.png");
    signer_cert = t_cert("signer.crt");
    es_signer *maker = t_signer("maker.key");
    es_slice certs[1] = {es_slice_make(signer_cert.p, signer_cert.len)};
    es_time from, to;
    if (es_time_from_fields(2026, 1, 1, 0, 0, 0, &from) != ES_OK ||
        es_time_from_fields(2099, 12, 31, 0, 0, 0, &to) != ES_OK)
        exit(2);
    es_seal_params p = {
        .es_id = "37030000001721",
        .type = 1,
        .name = "某某市人力资源和社会保障局",
        .signer_certs = certs,
        .n_signer_certs = 1,
        .create_date = ES_TIME_NONE,
        .valid_start = from,
        .valid_end = to,
        .picture = es_slice_make(pic.p, pic.len),
        .width_mm = 40,
        .height_mm = 42,
        .maker_cert = es_slice_make(maker_cert.p, maker_cert.len),
    };
    es_buf_init(&seal_der, ES_MAX_SEAL_DER);
    es_err rv = es_seal_make(&p, maker, &seal_der);
    ok(rv == ES_OK, "seal made (%s)", es_err_str(rv));
    es_signer_free(maker);
    es_buf_cleanup(&maker_cert);
    es_buf_cleanup(&pic);
    es_buf root = t_read(t_path("ESEAL_TESTDATA", "root.crt"));
    int added = 0;
    if (es_trust_new(&trust) != ES_OK || es_trust_add(trust, root.p, root.len, &added) != ES_OK)
        exit(2);
    es_buf_cleanup(&root);
}

static es_err sign_file(const char *in, const char *out, long page, long rfrom, long rto, char *why,
                        size_t whylen)
{
    es_signer *s = t_signer("signer.key");
    es_ofd_sign_params p;
    memset(&p, 0, sizeof p);
    p.seal = es_slice_make(seal_der.p, seal_der.len);
    p.signer_cert = es_slice_make(signer_cert.p, signer_cert.len);
    p.time = ES_TIME_NONE;
    p.page = page;
    p.x = 120;
    p.y = 200.5;
    p.riding_from = rfrom;
    p.riding_to = rto;
    es_err rv = es_ofd_sign(in, out, &p, s, NULL, why, whylen);
    es_signer_free(s);
    return rv;
}

/* Our signatures verify completely with our root as anchor. */
static int ours_passed(const es_report *rep, const es_ofd_result *res, size_t i)
{
    const es_entry *e = &rep->entries[res->sigs[i].entry];
    return e->indication == ES_PASSED && t_result_is(e, ES_CHECK_REFERENCES, ES_PASSED) &&
           t_result_is(e, ES_CHECK_SEAL_FILE, ES_PASSED) &&
           t_result_is(e, ES_CHECK_DATA_HASH, ES_PASSED) &&
           strcmp(es_kv_get(&e->signer, "property_info"), res->sigs[i].signature_xml) == 0;
}

/* Every entry of a is in b with the same stored (compressed) bytes, except those named. */
static int entries_kept(const char *a, const char *b, const char *except1, const char *except2)
{
    int err = 0, same = 1;
    zip_t *za = zip_open(a, ZIP_RDONLY, &err), *zb = zip_open(b, ZIP_RDONLY, &err);
    if (!za || !zb) same = 0;
    for (zip_int64_t i = 0; same && i < zip_get_num_entries(za, 0); i++) {
        const char *name = zip_get_name(za, (zip_uint64_t)i, 0);
        if ((except1 && strcmp(name, except1) == 0) || (except2 && strcmp(name, except2) == 0))
            continue;
        zip_stat_t sa, sb;
        if (zip_stat_index(za, (zip_uint64_t)i, 0, &sa) != 0 || zip_stat(zb, name, 0, &sb) != 0 ||
            sa.comp_size != sb.comp_size || sa.crc != sb.crc || sa.size != sb.size) {
            same = 0;
            break;
        }
        zip_file_t *fa = zip_fopen_index(za, (zip_uint64_t)i, ZIP_FL_COMPRESSED);
        zip_file_t *fb = zip_fopen(zb, name, ZIP_FL_COMPRESSED);
        uint8_t ba[4096], bb[4096];
        zip_int64_t na, nb;
        do {
            na = fa ? zip_fread(fa, ba, sizeof ba) : -1;
            nb = fb ? zip_fread(fb, bb, sizeof bb) : -1;
            if (na != nb || na < 0 || memcmp(ba, bb, (size_t)na) != 0) same = 0;
        } while (same && na > 0);
        if (fa) zip_fclose(fa);
        if (fb) zip_fclose(fb);
    }
    if (za) zip_discard(za);
    if (zb) zip_discard(zb);
    return same;
}

static void test_sign_corpus(void)
{
    /* A real vendor document with three Koal signatures: ours is added, theirs stay valid. */
    char in[4096];
    snprintf(in, sizeof in, "%s", t_path("ESEAL_CORPUS", "ofd/koal_ssc_3seals.ofd"));
    char why[512] = "";
    es_err rv = sign_file(in, tmp("koal+1.ofd"), 1, 0, 0, why, sizeof why);
    ok(rv == ES_OK, "sign koal_ssc_3seals.ofd (%s)", why);
    es_report rep;
    es_ofd_result res;
    rv = verify_file(tmp("koal+1.ofd"), trust, &rep, &res, why, sizeof why);
    ok(rv == ES_OK && res.n_sigs == 4, "koal+1: 4 signatures (%s)", why);
    if (rv == ES_OK && res.n_sigs == 4) {
        for (size_t i = 0; i < 3; i++)
            ok(n_failed(&rep.entries[res.sigs[i].entry]) == 0,
               "koal+1: Koal signature %s still valid", res.sigs[i].id);
        ok(ours_passed(&rep, &res, 3), "koal+1: our signature PASSED");
        if (!ours_passed(&rep, &res, 3)) dump_entry(&rep, res.sigs[3].entry);
        ok(strcmp(res.sigs[3].id, "5") == 0, "koal+1: ID continues the list: %s", res.sigs[3].id);
        ok(strcmp(res.sigs[3].signature_xml, "/Doc_0/Signs/Sign_3/Signature.xml") == 0,
           "koal+1: Sign_3 (%s)", res.sigs[3].signature_xml);
        ok(res.sigs[3].n_stamps == 1 && res.sigs[3].stamps[0].page == 1 &&
               res.sigs[3].stamps[0].boundary[0] == 120 &&
               res.sigs[3].stamps[0].boundary[1] == 200.5 &&
               res.sigs[3].stamps[0].boundary[2] == 40 && res.sigs[3].stamps[0].boundary[3] == 42,
           "koal+1: one stamp on page 1 at 120,200.5 sized 40 x 42 from the seal picture");
        /* References: every file but the list, and the new Seal.esl. */
        size_t files = 0;
        for (size_t i = 0; i < res.sigs[3].n_refs; i++)
            ok(strcmp(res.sigs[3].refs[i].path, "/Doc_0/Signs/Signatures.xml") != 0,
               "koal+1: the list is not referenced");
        files = res.sigs[3].n_refs;
        ok(files == 14, "koal+1: references the 13 files and Seal.esl (%zu)", files);
        ok(rep.indication == ES_INDETERMINATE, "koal+1: their CA is not trusted: INDETERMINATE");
    }
    es_ofd_result_cleanup(&res);
    es_report_cleanup(&rep);
    ok(entries_kept(in, tmp("koal+1.ofd"), "Doc_0/Signs/Signatures.xml", NULL),
       "koal+1: every other entry copied byte for byte (compressed data)");
}

static void test_sign_generated(void)
{
    char why[512] = "";
    ok(gen_ofd(tmp("plain.ofd"), 5, 3, 20000) == 0, "generated a 5-page document");
    es_err rv = sign_file(tmp("plain.ofd"), tmp("one.ofd"), 2, 0, 0, why, sizeof why);
    ok(rv == ES_OK, "sign an unsigned document (%s)", why);
    es_report rep;
    es_ofd_result res;
    rv = verify_file(tmp("one.ofd"), trust, &rep, &res, why, sizeof why);
    ok(rv == ES_OK && res.n_sigs == 1 && ours_passed(&rep, &res, 0) && rep.indication == ES_PASSED,
       "one signature, PASSED (%s)", why);
    if (rv == ES_OK && res.n_sigs == 1) {
        ok(res.sigs[0].stamps[0].page == 2 && strcmp(res.sigs[0].stamps[0].page_ref, "1001") == 0,
           "page 2 is the page with ID 1001");
        ok(res.n_uncovered == 0 && t_result_is(&rep.entries[0], ES_CHECK_COVERAGE, ES_PASSED),
           "every file covered");
        ok(strcmp(res.sigs[0].id, "1") == 0, "first ID is 1");
    }
    es_ofd_result_cleanup(&res);
    es_report_cleanup(&rep);
    size_t n = 0;
    uint8_t *ofdxml = gen_read(tmp("one.ofd"), "OFD.xml", &n);
    ok(ofdxml && n && contains(ofdxml, n, "<ofd:Signatures>/Doc_0/Signs/Signatures.xml<"),
       "OFD.xml names the new signature list");
    free(ofdxml);
    ok(entries_kept(tmp("plain.ofd"), tmp("one.ofd"), "OFD.xml", NULL),
       "other entries copied byte for byte");

    /* A second signature: both valid; the first is untouched by it. */
    rv = sign_file(tmp("one.ofd"), tmp("two.ofd"), 1, 0, 0, why, sizeof why);
    ok(rv == ES_OK, "sign again (%s)", why);
    rv = verify_file(tmp("two.ofd"), trust, &rep, &res, why, sizeof why);
    ok(rv == ES_OK && res.n_sigs == 2 && rep.indication == ES_PASSED, "two signatures PASSED (%s)",
       why);
    if (rv == ES_OK && res.n_sigs == 2) {
        ok(ours_passed(&rep, &res, 0) && ours_passed(&rep, &res, 1), "both signatures PASSED");
        ok(strcmp(res.sigs[1].id, "3") == 0, "the second ID follows the first's stamp (3): %s",
           res.sigs[1].id);
        ok(res.sigs[0].n_later == 1 && strcmp(res.sigs[0].later[0], "3") == 0,
           "the first knows the second came later");
        ok(strcmp(res.sigs[1].signature_xml, "/Doc_0/Signs/Sign_1/Signature.xml") == 0,
           "second in Sign_1");
    }
    es_ofd_result_cleanup(&res);
    es_report_cleanup(&rep);
    ok(entries_kept(tmp("one.ofd"), tmp("two.ofd"), "Doc_0/Signs/Signatures.xml", NULL),
       "the second signing copies every other entry byte for byte");

    /* In place: out = in. */
    {
        size_t len = 0;
        uint8_t *b = NULL;
        FILE *f = fopen(tmp("two.ofd"), "rb");
        if (f) {
            fseek(f, 0, SEEK_END);
            len = (size_t)ftell(f);
            rewind(f);
            b = malloc(len);
            if (b && fread(b, 1, len, f) != len) len = 0;
            fclose(f);
        }
        ok(b && len && es_file_write(tmp("inplace.ofd"), b, len) == ES_OK, "copied");
        free(b);
    }
    rv = sign_file(tmp("inplace.ofd"), tmp("inplace.ofd"), 3, 0, 0, why, sizeof why);
    ok(rv == ES_OK, "sign in place (%s)", why);
    rv = verify_file(tmp("inplace.ofd"), trust, &rep, &res, why, sizeof why);
    ok(rv == ES_OK && res.n_sigs == 3 && rep.indication == ES_PASSED,
       "three signatures PASSED after signing in place");
    es_ofd_result_cleanup(&res);
    es_report_cleanup(&rep);

    /* Refusals. */
    rv = sign_file(tmp("plain.ofd"), tmp("bad.ofd"), 6, 0, 0, why, sizeof why);
    ok(rv == ES_ERR_ARG && strstr(why, "page 6"), "page 6 of 5 refused: %s", why);
    ok(access(tmp("bad.ofd"), F_OK) != 0, "no output on refusal");
    {
        es_signer *other = t_signer("other.key");
        es_ofd_sign_params p;
        memset(&p, 0, sizeof p);
        p.seal = es_slice_make(seal_der.p, seal_der.len);
        p.signer_cert = es_slice_make(signer_cert.p, signer_cert.len);
        p.time = ES_TIME_NONE;
        p.page = 1;
        rv = es_ofd_sign(tmp("plain.ofd"), tmp("bad.ofd"), &p, other, NULL, why, sizeof why);
        ok(rv == ES_ERR_KEY_MISMATCH, "a key that is not the certificate's refused (%s)",
           es_err_str(rv));
        ok(access(tmp("bad.ofd"), F_OK) != 0, "no output on refusal");
        es_signer_free(other);
    }
}

static void test_riding(void)
{
    char why[512] = "";
    es_err rv = sign_file(tmp("plain.ofd"), tmp("riding.ofd"), 0, 1, 5, why, sizeof why);
    ok(rv == ES_OK, "riding seal over pages 1-5 (%s)", why);
    es_report rep;
    es_ofd_result res;
    rv = verify_file(tmp("riding.ofd"), trust, &rep, &res, why, sizeof why);
    ok(rv == ES_OK && res.n_sigs == 1 && rep.indication == ES_PASSED, "riding seal PASSED (%s)",
       why);
    if (rv == ES_OK && res.n_sigs == 1) {
        const es_ofd_sig *s = &res.sigs[0];
        ok(s->n_stamps == 5, "one stamp per page (%zu)", s->n_stamps);
        for (size_t k = 0; k < s->n_stamps && k < 5; k++) {
            const es_ofd_stamp *st = &s->stamps[k];
            double sw = 40.0 / 5;
            ok(st->page == (long)k + 1 && st->has_clip && st->clip[0] == sw * (double)k &&
                   st->clip[2] == sw && st->clip[3] == 42 &&
                   st->boundary[0] + st->clip[0] + st->clip[2] == 210 &&
                   st->boundary[1] == (297 - 42) / 2.0,
               "page %zu shows slice %zu at the right edge, centred", k + 1, k + 1);
        }
    }
    es_ofd_result_cleanup(&res);
    es_report_cleanup(&rep);
    rv = sign_file(tmp("plain.ofd"), tmp("bad.ofd"), 0, 4, 6, why, sizeof why);
    ok(rv == ES_ERR_ARG, "riding past the last page refused (%s)", why);
}

/* ------------------------------------------------------------------------------------------ */
/* Tampering: every changed byte is detected and the changed file named. */

/* Verifies pkg and says whether some signature is FAILED with a FAILED check naming path, or
 * the package is refused with a reason naming it (an OFD.xml that no longer parses). */
static int detected(const char *pkg, size_t sig, const char *path)
{
    es_report rep;
    es_ofd_result res;
    char why[512] = "";
    int found = 0;
    /* No trust anchors: the chain is not what is being tested, and it is the slow part. */
    es_err rv = verify_file(pkg, NULL, &rep, &res, why, sizeof why);
    if (rv != ES_OK) found = strstr(why, path) != NULL;
    if (rv == ES_OK && sig < res.n_sigs) {
        for (size_t k = 0; k < rep.n_entries; k++) {
            const es_entry *e = &rep.entries[k];
            for (size_t i = 0; i < e->n_checks && e->indication == ES_FAILED; i++)
                found |= e->checks[i].result == ES_FAILED && strstr(e->checks[i].detail, path);
        }
        if (!found) dump_entry(&rep, res.sigs[sig].entry);
    }
    es_ofd_result_cleanup(&res);
    es_report_cleanup(&rep);
    return found;
}

/* Byte positions to change in a file of n bytes: all when small, else a spread with both ends. */
static size_t positions(size_t n, size_t *out, size_t max)
{
    size_t k = 0;
    if (n <= max) {
        for (size_t i = 0; i < n; i++) out[k++] = i;
        return k;
    }
    for (size_t i = 0; i < max - 1; i++) out[k++] = i * (n / (max - 1));
    out[k++] = n - 1;
    return k;
}

static void tamper_each(const char *pkg, const char *name, size_t sig, size_t max,
                        const char *skip_why, size_t skip_at)
{
    size_t n = 0;
    uint8_t *orig = gen_read(pkg, name, &n);
    ok(orig != NULL, "%s is in the package", name);
    if (!orig) return;
    size_t *pos = malloc(max * sizeof *pos);
    size_t np = positions(n, pos, max), misses = 0;
    char path[512];
    snprintf(path, sizeof path, "/%s", name);
    for (size_t i = 0; i < np; i++) {
        if (skip_why && pos[i] == skip_at) continue;
        orig[pos[i]] ^= 0x01;
        int good = gen_replace(pkg, tmp("tampered.ofd"), name, orig, n) == 0 &&
                   detected(tmp("tampered.ofd"), sig, path);
        orig[pos[i]] ^= 0x01;
        if (!good) {
            misses++;
            fprintf(stderr, "byte %zu of %s changed: not detected\n", pos[i], name);
        }
    }
    ok(misses == 0, "%s: %zu changed bytes, every one detected and the file named", name,
       np - (skip_why != NULL));
    free(pos);
    free(orig);
}

/* The offset of the unused-bits octet of the outer signature BIT STRING of an SES_Signature. */
static size_t sig_unused_bits_at(const uint8_t *p, size_t n)
{
    es_signature s;
    if (es_signature_from_der(es_slice_make(p, n), 0, &s) != ES_OK) return (size_t)-1;
    return (size_t)(s.signature.p - p) - 1;
}

static void test_tamper(void)
{
    /* two.ofd: Sign_0 (index 0) and Sign_1 (index 1, covers Sign_0's files). */
    char pkg[512];
    snprintf(pkg, sizeof pkg, "%s", tmp("two.ofd"));
    tamper_each(pkg, "Doc_0/Pages/Page_0/Content.xml", 0, 1000, NULL, 0);
    tamper_each(pkg, "Doc_0/Res/image_1.png", 1, 30, NULL, 0);
    tamper_each(pkg, "Doc_0/Document.xml", 0, 60, NULL, 0);
    tamper_each(pkg, "OFD.xml", 0, 60, NULL, 0);
    tamper_each(pkg, "Doc_0/Signs/Sign_0/Signature.xml", 0, 150, NULL, 0);
    tamper_each(pkg, "Doc_0/Signs/Sign_1/Signature.xml", 1, 150, NULL, 0);
    tamper_each(pkg, "Doc_0/Signs/Sign_0/Seal.esl", 0, 100, NULL, 0);
    tamper_each(pkg, "Doc_0/Signs/Sign_1/Seal.esl", 1, 100, NULL, 0);
    /* SignedValue.dat: Sign_0's is also covered by Sign_1; Sign_1's only by itself. Its
     * signature BIT STRING's unused-bits octet is outside everything signed: changing it is
     * reported as the unused_bits quirk (checked below), not as a failure. */
    size_t n = 0;
    uint8_t *sv = gen_read(pkg, "Doc_0/Signs/Sign_1/SignedValue.dat", &n);
    size_t ub = sv ? sig_unused_bits_at(sv, n) : (size_t)-1;
    ok(ub != (size_t)-1 && sv[ub] == 0, "found the signature's unused-bits octet");
    tamper_each(pkg, "Doc_0/Signs/Sign_0/SignedValue.dat", 0, 150, NULL, 0);
    tamper_each(pkg, "Doc_0/Signs/Sign_1/SignedValue.dat", 1, 250, "unused-bits octet", ub);
    if (sv && ub != (size_t)-1) {
        sv[ub] = 1;
        es_report rep;
        es_ofd_result res;
        char why[512];
        ok(gen_replace(pkg, tmp("tampered.ofd"), "Doc_0/Signs/Sign_1/SignedValue.dat", sv, n) ==
                   0 &&
               verify_file(tmp("tampered.ofd"), trust, &rep, &res, why, sizeof why) == ES_OK &&
               res.n_sigs == 2 && t_has_quirk(&rep.entries[res.sigs[1].entry], "unused_bits"),
           "a changed unused-bits octet is named in the report (unused_bits)");
        es_ofd_result_cleanup(&res);
        es_report_cleanup(&rep);
    }
    free(sv);

    /* A changed page names the file in references, and 'changes' calls it tampering. */
    es_report rep;
    es_ofd_result res;
    char why[512];
    size_t cn = 0;
    uint8_t *c = gen_read(pkg, "Doc_0/Pages/Page_1/Content.xml", &cn);
    if (c) c[cn / 2] ^= 0x20;
    ok(c && gen_replace(pkg, tmp("tampered.ofd"), "Doc_0/Pages/Page_1/Content.xml", c, cn) == 0 &&
           verify_file(tmp("tampered.ofd"), trust, &rep, &res, why, sizeof why) == ES_OK &&
           res.n_sigs == 2,
       "verify a changed page");
    free(c);
    for (size_t i = 0; i < res.n_sigs; i++) {
        const es_entry *e = &rep.entries[res.sigs[i].entry];
        ok(n_failed(e) == 1 && t_result_is(e, ES_CHECK_REFERENCES, ES_FAILED) &&
               same_bad_files(&res.sigs[i], "/Doc_0/Pages/Page_1/Content.xml") &&
               t_result_is(e, ES_CHECK_CHANGES, ES_INDETERMINATE) && !res.sigs[i].changed_by_later,
           "signature %zu: references FAILED naming the page only; tampering", i);
    }
    es_ofd_result_cleanup(&res);
    es_report_cleanup(&rep);

    /* A missing covered file is named as missing. */
    ok(gen_replace(pkg, tmp("tampered.ofd"), "Doc_0/Res/image_2.png", NULL, 0) == 0 &&
           verify_file(tmp("tampered.ofd"), trust, &rep, &res, why, sizeof why) == ES_OK &&
           res.n_sigs == 2 && same_bad_files(&res.sigs[0], "/Doc_0/Res/image_2.png"),
       "a removed image: named");
    if (res.n_sigs == 2) {
        const es_check *r = es_entry_get(&rep.entries[res.sigs[0].entry], ES_CHECK_REFERENCES);
        ok(r && strstr(r->detail, "missing: /Doc_0/Res/image_2.png"), "as missing: %s",
           r ? r->detail : "");
    }
    es_ofd_result_cleanup(&res);
    es_report_cleanup(&rep);

    /* A file added after signing is covered by no signature. */
    ok(gen_replace(pkg, tmp("tampered.ofd"), "Doc_0/Res/extra.png", "x", 1) == 0 &&
           verify_file(tmp("tampered.ofd"), trust, &rep, &res, why, sizeof why) == ES_OK &&
           res.n_uncovered == 1 && strcmp(res.uncovered[0], "Doc_0/Res/extra.png") == 0 &&
           rep.indication == ES_PASSED &&
           t_result_is(&rep.entries[0], ES_CHECK_COVERAGE, ES_WARNING),
       "an added file is listed as covered by no signature (WARNING)");
    es_ofd_result_cleanup(&res);
    es_report_cleanup(&rep);
}

/* ------------------------------------------------------------------------------------------ */
/* Broken packages */

static es_err open_verify(const char *path, const es_ofd_limits *lim, char *why, size_t whylen,
                          size_t *entries)
{
    es_ofd *o = NULL;
    es_report rep;
    es_verify_opts vo;
    memset(&vo, 0, sizeof vo);
    vo.now = ES_TIME_NONE;
    es_report_init(&rep);
    why[0] = 0;
    es_err rv = es_ofd_open(path, lim, &o, why, whylen);
    if (rv == ES_OK) rv = es_ofd_verify(o, &vo, &rep, NULL, why, whylen);
    if (entries) *entries = rep.n_entries;
    es_report_cleanup(&rep);
    es_ofd_free(o);
    return rv;
}

static void test_broken(void)
{
    char why[512];
    es_buf whole = t_read(tmp("two.ofd"));
    size_t cuts[] = {0, 1, 4, 30, 100, whole.len / 2, whole.len - 22, whole.len - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        ok(es_file_write(tmp("cut.ofd"), whole.p, cuts[i]) == ES_OK, "write");
        es_err rv = open_verify(tmp("cut.ofd"), NULL, why, sizeof why, NULL);
        ok(rv == ES_ERR_FORMAT && why[0], "truncated at %zu: refused (%s)", cuts[i], why);
    }
    /* Bytes in the middle of the zip changed: the entry fails its CRC or inflate. */
    {
        es_buf b;
        es_buf_init(&b, whole.len);
        ok(es_buf_append(&b, whole.p, whole.len) == ES_OK, "copy");
        size_t bad = 0, runs = 0;
        for (size_t at = 40; at < b.len; at += b.len / 97 + 1) {
            b.p[at] ^= 0x55;
            ok(es_file_write(tmp("garbled.ofd"), b.p, b.len) == ES_OK, "write");
            size_t ne = 0;
            es_err rv = open_verify(tmp("garbled.ofd"), NULL, why, sizeof why, &ne);
            /* A report, or a refusal with a reason: never a crash or another error. */
            if (!(rv == ES_OK ||
                  ((rv == ES_ERR_FORMAT || rv == ES_ERR_LIMIT || rv == ES_ERR_NOT_FOUND) &&
                   why[0])))
                bad++;
            runs++;
            b.p[at] ^= 0x55;
        }
        ok(bad == 0, "%zu garbled packages: each a report or a reasoned refusal", runs);
        es_buf_cleanup(&b);
    }
    es_buf_cleanup(&whole);

    ok(gen_replace(tmp("two.ofd"), tmp("b.ofd"), "OFD.xml", NULL, 0) == 0, "remove OFD.xml");
    es_err rv = open_verify(tmp("b.ofd"), NULL, why, sizeof why, NULL);
    ok(rv == ES_ERR_NOT_FOUND && strstr(why, "OFD.xml"), "no OFD.xml: %s", why);

    ok(gen_replace(tmp("two.ofd"), tmp("b.ofd"), "Doc_0/Signs/Signatures.xml", NULL, 0) == 0,
       "remove the list");
    rv = open_verify(tmp("b.ofd"), NULL, why, sizeof why, NULL);
    ok(rv == ES_ERR_NOT_FOUND && strstr(why, "Signatures.xml"), "no signature list: %s", why);

    const char *bad_xml = "<?xml version=\"1.0\"?><ofd:OFD xmlns:ofd=\"x\"><ofd:DocBody>";
    ok(gen_replace(tmp("two.ofd"), tmp("b.ofd"), "OFD.xml", bad_xml, strlen(bad_xml)) == 0, "w");
    rv = open_verify(tmp("b.ofd"), NULL, why, sizeof why, NULL);
    ok(rv == ES_ERR_FORMAT && strstr(why, "not well-formed"), "bad OFD.xml: %s", why);

    const char *laughs = "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\">"
                         "<!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">"
                         "<!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
                         "<Signatures><Signature ID=\"&c;\" BaseLoc=\"&c;\"/></Signatures>";
    ok(gen_replace(tmp("two.ofd"), tmp("b.ofd"), "Doc_0/Signs/Signatures.xml", laughs,
                   strlen(laughs)) == 0,
       "w");
    rv = open_verify(tmp("b.ofd"), NULL, why, sizeof why, NULL);
    ok(rv == ES_ERR_FORMAT && strstr(why, "DOCTYPE"), "entities: %s", why);

    const char *ext = "<?xml version=\"1.0\"?><!DOCTYPE s SYSTEM \"http://127.0.0.1:9/x.dtd\">"
                      "<Signatures/>";
    ok(gen_replace(tmp("two.ofd"), tmp("b.ofd"), "Doc_0/Signs/Signatures.xml", ext, strlen(ext)) ==
           0,
       "w");
    rv = open_verify(tmp("b.ofd"), NULL, why, sizeof why, NULL);
    ok(rv == ES_ERR_FORMAT && strstr(why, "DOCTYPE"), "external DTD: %s", why);

    {
        es_buf deep;
        es_buf_init(&deep, 1 << 20);
        ok(es_buf_append_str(&deep, "<Signatures>") == ES_OK, "b");
        for (int i = 0; i < 100; i++) ok(es_buf_append_str(&deep, "<a>") == ES_OK, "b");
        for (int i = 0; i < 100; i++) ok(es_buf_append_str(&deep, "</a>") == ES_OK, "b");
        ok(es_buf_append_str(&deep, "</Signatures>") == ES_OK, "b");
        ok(gen_replace(tmp("two.ofd"), tmp("b.ofd"), "Doc_0/Signs/Signatures.xml", deep.p,
                       deep.len) == 0,
           "w");
        rv = open_verify(tmp("b.ofd"), NULL, why, sizeof why, NULL);
        ok(rv == ES_ERR_LIMIT && strstr(why, "nested"), "deep XML: %s", why);
        es_buf_cleanup(&deep);
    }

    /* Signature files missing or broken: an entry with format FAILED, not an error. */
    size_t ne = 0;
    ok(gen_replace(tmp("two.ofd"), tmp("b.ofd"), "Doc_0/Signs/Sign_0/Signature.xml", NULL, 0) == 0,
       "remove Signature.xml");
    ok(open_verify(tmp("b.ofd"), NULL, why, sizeof why, &ne) == ES_OK && ne == 2,
       "a missing Signature.xml is an entry");
    ok(detected(tmp("b.ofd"), 0, "/Doc_0/Signs/Sign_0/Signature.xml"), "named FAILED");
    ok(gen_replace(tmp("two.ofd"), tmp("b.ofd"), "Doc_0/Signs/Sign_1/SignedValue.dat", NULL, 0) ==
           0,
       "remove SignedValue.dat");
    ok(detected(tmp("b.ofd"), 1, "/Doc_0/Signs/Sign_1/SignedValue.dat"),
       "a missing SignedValue.dat: named FAILED");
    ok(gen_replace(tmp("two.ofd"), tmp("b.ofd"), "Doc_0/Signs/Sign_1/Signature.xml", "<x", 2) == 0,
       "w");
    ok(detected(tmp("b.ofd"), 1, "/Doc_0/Signs/Sign_1/Signature.xml"),
       "a Signature.xml that is not XML: named FAILED");

    /* Zip bombs. */
    {
        int err = 0;
        zip_t *z = zip_open(tmp("bomb.ofd"), ZIP_CREATE | ZIP_TRUNCATE, &err);
        ok(z && gen_text(z, "OFD.xml", "<OFD/>") == 0 &&
               gen_add(z, "Doc_0/Res/zeros.bin", 64u << 20, 0, 1) == 0 && zip_close(z) == 0,
           "made a zip bomb: 64 MiB of zeros");
        rv = open_verify(tmp("bomb.ofd"), NULL, why, sizeof why, NULL);
        ok(rv == ES_ERR_LIMIT && strstr(why, "zip bomb"), "zip bomb refused: %s", why);
    }
    {
        es_ofd_limits lim;
        es_ofd_limits_default(&lim);
        lim.max_total_size = 50000;
        rv = open_verify(tmp("plain.ofd"), &lim, why, sizeof why, NULL);
        ok(rv == ES_ERR_LIMIT && strstr(why, "inflate"), "total size limit: %s", why);
        es_ofd_limits_default(&lim);
        lim.max_entries = 5;
        rv = open_verify(tmp("plain.ofd"), &lim, why, sizeof why, NULL);
        ok(rv == ES_ERR_LIMIT, "entry count limit: %s", why);
        es_ofd_limits_default(&lim);
        lim.max_entry_size = 10000;
        rv = open_verify(tmp("plain.ofd"), &lim, why, sizeof why, NULL);
        ok(rv == ES_ERR_LIMIT, "entry size limit: %s", why);
        es_ofd_limits_default(&lim);
        lim.max_xml = 300;
        rv = open_verify(tmp("two.ofd"), &lim, why, sizeof why, NULL);
        ok(rv == ES_ERR_LIMIT && strstr(why, "XML"), "XML size limit: %s", why);
    }
    {
        /* A directory that lies: an entry declares 1000 bytes but inflates to 8 MiB. */
        int err = 0;
        zip_t *z = zip_open(tmp("liar.ofd"), ZIP_CREATE | ZIP_TRUNCATE, &err);
        ok(z && gen_text(z, "OFD.xml", "<OFD/>") == 0 &&
               gen_add(z, "Doc_0/zeros.bin", 8u << 20, 0, 1) == 0 && zip_close(z) == 0,
           "made a package");
        es_buf b = t_read(tmp("liar.ofd"));
        size_t patched = 0;
        for (size_t i = 0; i + 46 < b.len; i++) {
            uint32_t sig = (uint32_t)b.p[i] | (uint32_t)b.p[i + 1] << 8 |
                           (uint32_t)b.p[i + 2] << 16 | (uint32_t)b.p[i + 3] << 24;
            size_t at = sig == 0x04034b50 ? i + 22 : sig == 0x02014b50 ? i + 24 : 0;
            if (!at) continue;
            uint32_t size = (uint32_t)b.p[at] | (uint32_t)b.p[at + 1] << 8 |
                            (uint32_t)b.p[at + 2] << 16 | (uint32_t)b.p[at + 3] << 24;
            if (size != (8u << 20)) continue;
            b.p[at] = 0xe8, b.p[at + 1] = 0x03, b.p[at + 2] = 0, b.p[at + 3] = 0;
            patched++;
        }
        ok(patched == 2, "declared size patched in both headers (%zu)", patched);
        ok(es_file_write(tmp("liar.ofd"), b.p, b.len) == ES_OK, "w");
        es_buf_cleanup(&b);
        es_ofd *o = NULL;
        uint8_t h[ES_SM3_LEN];
        rv = es_ofd_open(tmp("liar.ofd"), NULL, &o, why, sizeof why);
        long i = rv == ES_OK ? ofd_lookup(o, "Doc_0/zeros.bin", NULL) : -1;
        es_err hr = i >= 0 ? ofd_entry_sm3(o, (size_t)i, h) : ES_OK;
        ok(i >= 0 && (hr == ES_ERR_LIMIT || hr == ES_ERR_FORMAT),
           "an entry inflating past its declared size is cut off (%s)", es_err_str(hr));
        es_ofd_free(o);
    }
    {
        /* Two entries with one name. */
        int err = 0;
        zip_t *z = zip_open(tmp("dup.ofd"), ZIP_CREATE | ZIP_TRUNCATE, &err);
        ok(z && gen_text(z, "OFD.xml", "<OFD/>") == 0 && gen_text(z, "/OFD.xml", "<OFD/>") == 0 &&
               zip_close(z) == 0,
           "made a package with OFD.xml twice");
        rv = open_verify(tmp("dup.ofd"), NULL, why, sizeof why, NULL);
        ok(rv == ES_ERR_FORMAT && strstr(why, "two zip entries"), "duplicate names: %s", why);
    }
    {
        static const uint8_t junk[64] = {'P', 'K', 3, 4};
        es_ofd *o = NULL;
        rv = es_ofd_open_mem(junk, sizeof junk, NULL, &o, why, sizeof why);
        ok(rv == ES_ERR_FORMAT && !o, "junk in memory refused: %s", why);
        rv = es_ofd_open_mem(NULL, 0, NULL, &o, why, sizeof why);
        ok(rv == ES_ERR_FORMAT && !o, "nothing in memory refused");
        rv = es_ofd_open(tmp("nosuch.ofd"), NULL, &o, why, sizeof why);
        ok(rv == ES_ERR_NOT_FOUND, "a missing file: %s", es_err_str(rv));
    }
}

static void test_case_and_show(void)
{
    /* A reference whose case differs from the stored name: found, and named as a quirk. */
    size_t n = 0;
    uint8_t *x = gen_read(tmp("one.ofd"), "Doc_0/Signs/Sign_0/Signature.xml", &n);
    ok(x != NULL, "read Signature.xml");
    es_report rep;
    es_ofd_result res;
    char why[512];
    if (x) {
        /* Rename the page entry instead of touching the signed XML. */
        uint8_t *page = NULL;
        size_t pn = 0;
        page = gen_read(tmp("one.ofd"), "Doc_0/Pages/Page_0/Content.xml", &pn);
        ok(page &&
               gen_replace(tmp("one.ofd"), tmp("case1.ofd"), "Doc_0/Pages/Page_0/Content.xml", NULL,
                           0) == 0 &&
               gen_replace(tmp("case1.ofd"), tmp("case.ofd"), "Doc_0/pages/page_0/content.XML",
                           page, pn) == 0,
           "renamed a page's entry to other letter case");
        free(page);
        ok(verify_file(tmp("case.ofd"), trust, &rep, &res, why, sizeof why) == ES_OK &&
               rep.indication == ES_PASSED && t_has_quirk(&rep.entries[0], "ofd_path_case"),
           "found without case, quirk ofd_path_case, PASSED");
        es_ofd_result_cleanup(&res);
        es_report_cleanup(&rep);
    }
    free(x);

    /* es_ofd_print: pages and signatures, text and JSON. */
    es_ofd *o = NULL;
    es_buf out;
    es_buf_init(&out, 1 << 20);
    ok(es_ofd_open(tmp("two.ofd"), NULL, &o, why, sizeof why) == ES_OK &&
           es_ofd_print(o, 0, &out, why, sizeof why) == ES_OK && es_buf_nul(&out) == ES_OK,
       "show two.ofd");
    ok(out.p && strstr((char *)out.p, "pages: 5") && strstr((char *)out.p, "signatures: 2") &&
           strstr((char *)out.p, "某某市人力资源和社会保障局") &&
           strstr((char *)out.p, "page 2: x 120 y 200.5, 40 x 42 mm"),
       "show lists pages, seal name, stamp position:\n%s", out.p ? (char *)out.p : "");
    es_buf_cleanup(&out);
    ok(es_ofd_print(o, 1, &out, why, sizeof why) == ES_OK && es_buf_nul(&out) == ES_OK &&
           strstr((char *)out.p, "\"signatures\":[{\"id\":\"1\"") &&
           strstr((char *)out.p, "\"width_mm\":210"),
       "show --json");
    es_buf_cleanup(&out);
    es_ofd_seal_item *items = NULL;
    size_t ni = 0;
    ok(es_ofd_seals(o, &items, &ni, why, sizeof why) == ES_OK && ni == 2 &&
           items[0].len == seal_der.len && memcmp(items[0].der, seal_der.p, seal_der.len) == 0,
       "the seals are the one we signed with (%zu)", ni);
    es_ofd_seals_free(items, ni);
    es_ofd_free(o);
}

int main(void)
{
    snprintf(tmpdir, sizeof tmpdir, "%s/eseal-ofd.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir)) return 2;
    test_paths();
    test_corpus();
    make_seal();
    test_sign_corpus();
    test_sign_generated();
    test_riding();
    test_tamper();
    test_broken();
    test_case_and_show();
    es_trust_free(trust);
    es_buf_cleanup(&seal_der);
    es_buf_cleanup(&signer_cert);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
    return t_done();
}
