/* Generates unsigned OFD packages for the tests and the benchmark (libzip directly): OFD.xml,
 * Document.xml, DocumentRes.xml, N pages each drawing one image, and M images of a given size
 * made of pseudo-random bytes behind a PNG signature (so they do not compress). Image bytes are
 * produced while libzip writes, so generating a large package takes no memory.
 *
 * Also a zip source of zeros (for zip bombs) and a helper that replaces one entry of a package.
 */
#ifndef ESEAL_TESTS_OFD_GEN_H
#define ESEAL_TESTS_OFD_GEN_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zip.h>

typedef struct gen_src {
    uint64_t size, pos;
    uint64_t seed, state;
    int zeros;
    zip_error_t err;
} gen_src;

static zip_int64_t gen_cb(void *ud, void *data, zip_uint64_t len, zip_source_cmd_t cmd)
{
    gen_src *g = (gen_src *)ud;
    switch (cmd) {
    case ZIP_SOURCE_OPEN:
        g->pos = 0;
        g->state = g->seed * 0x9E3779B97F4A7C15ull + 1;
        return 0;
    case ZIP_SOURCE_READ: {
        uint64_t n = g->size - g->pos < len ? g->size - g->pos : len;
        uint8_t *d = (uint8_t *)data;
        static const uint8_t png[8] = {0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a};
        for (uint64_t i = 0; i < n; i++) {
            uint64_t at = g->pos + i;
            if (g->zeros) {
                d[i] = 0;
            } else if (at < 8) {
                d[i] = png[at];
            } else {
                g->state ^= g->state << 13; /* xorshift64 */
                g->state ^= g->state >> 7;
                g->state ^= g->state << 17;
                d[i] = (uint8_t)g->state;
            }
        }
        g->pos += n;
        return (zip_int64_t)n;
    }
    case ZIP_SOURCE_CLOSE:
        return 0;
    case ZIP_SOURCE_STAT: {
        zip_stat_t *st = (zip_stat_t *)data;
        zip_stat_init(st);
        st->size = g->size;
        st->valid |= ZIP_STAT_SIZE;
        return sizeof *st;
    }
    case ZIP_SOURCE_ERROR:
        return zip_error_to_data(&g->err, data, len);
    case ZIP_SOURCE_FREE:
        zip_error_fini(&g->err);
        free(g);
        return 0;
    case ZIP_SOURCE_SUPPORTS:
        return zip_source_make_command_bitmap(ZIP_SOURCE_OPEN, ZIP_SOURCE_READ, ZIP_SOURCE_CLOSE,
                                              ZIP_SOURCE_STAT, ZIP_SOURCE_ERROR, ZIP_SOURCE_FREE,
                                              -1);
    default:
        zip_error_set(&g->err, ZIP_ER_OPNOTSUPP, 0);
        return -1;
    }
}

/* Adds an entry of size bytes (pseudo-random after a PNG signature, or zeros) made on the fly.
 * Stored when random, deflated when zeros. Returns 0 on success. */
static inline int gen_add(zip_t *z, const char *name, uint64_t size, uint64_t seed, int zeros)
{
    gen_src *g = (gen_src *)calloc(1, sizeof *g);
    if (!g) return -1;
    g->size = size;
    g->seed = seed;
    g->zeros = zeros;
    zip_error_init(&g->err);
    zip_source_t *s = zip_source_function(z, gen_cb, g);
    if (!s) {
        free(g);
        return -1;
    }
    zip_int64_t i = zip_file_add(z, name, s, ZIP_FL_OVERWRITE);
    if (i < 0) {
        zip_source_free(s);
        return -1;
    }
    zip_set_file_compression(z, (zip_uint64_t)i, zeros ? ZIP_CM_DEFLATE : ZIP_CM_STORE, 0);
    return 0;
}

/* Adds an entry with a copy of the text. */
static inline int gen_text(zip_t *z, const char *name, const char *text)
{
    size_t n = strlen(text);
    char *copy = (char *)malloc(n + 1);
    if (!copy) return -1;
    memcpy(copy, text, n + 1);
    zip_source_t *s = zip_source_buffer(z, copy, n, 1);
    if (!s) {
        free(copy);
        return -1;
    }
    if (zip_file_add(z, name, s, ZIP_FL_OVERWRITE) < 0) {
        zip_source_free(s);
        return -1;
    }
    return 0;
}

#define GEN_NS "xmlns:ofd=\"http://www.ofdspec.org/2016\""

/* Writes an unsigned OFD with pages pages and images images of image_size bytes (page k draws
 * image k % images). Returns 0 on success. */
static inline int gen_ofd(const char *path, int pages, int images, uint64_t image_size)
{
    int err = 0;
    remove(path);
    zip_t *z = zip_open(path, ZIP_CREATE | ZIP_TRUNCATE, &err);
    if (!z) return -1;
    int bad = 0;
    char buf[4096];
    bad |= gen_text(z, "OFD.xml",
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:OFD " GEN_NS
                    " Version=\"1.0\" DocType=\"OFD\"><ofd:DocBody><ofd:DocInfo><ofd:DocID>"
                    "0123456789abcdef0123456789abcdef</ofd:DocID><ofd:Creator>eseal tests"
                    "</ofd:Creator></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>"
                    "</ofd:DocBody></ofd:OFD>\n");
    /* Document.xml: IDs 1..images are the images, pages get 1000 + k. */
    size_t cap = 4096 + (size_t)pages * 128;
    char *doc = (char *)malloc(cap);
    char *res = (char *)malloc(4096 + (size_t)images * 160);
    if (!doc || !res) {
        free(doc);
        free(res);
        zip_discard(z);
        return -1;
    }
    size_t o = (size_t)snprintf(doc, cap,
                                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Document " GEN_NS
                                "><ofd:CommonData><ofd:MaxUnitID>%d</ofd:MaxUnitID><ofd:PageArea>"
                                "<ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea>"
                                "<ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>"
                                "</ofd:CommonData><ofd:Pages>",
                                100000 + pages);
    for (int k = 0; k < pages; k++)
        o += (size_t)snprintf(doc + o, cap - o,
                              "<ofd:Page ID=\"%d\" BaseLoc=\"Pages/Page_%d/Content.xml\"/>",
                              1000 + k, k);
    snprintf(doc + o, cap - o, "</ofd:Pages></ofd:Document>\n");
    bad |= gen_text(z, "Doc_0/Document.xml", doc);
    size_t r = (size_t)snprintf(res, 4096,
                                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Res " GEN_NS
                                " BaseLoc=\"Res\"><ofd:MultiMedias>");
    for (int k = 0; k < images; k++)
        r += (size_t)snprintf(res + r, 160,
                              "<ofd:MultiMedia ID=\"%d\" Type=\"Image\" Format=\"PNG\">"
                              "<ofd:MediaFile>image_%d.png</ofd:MediaFile></ofd:MultiMedia>",
                              k + 1, k);
    snprintf(res + r, 64, "</ofd:MultiMedias></ofd:Res>\n");
    bad |= gen_text(z, "Doc_0/DocumentRes.xml", res);
    free(doc);
    free(res);
    for (int k = 0; k < pages && !bad; k++) {
        char name[64];
        snprintf(buf, sizeof buf,
                 "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ofd:Page " GEN_NS
                 "><ofd:Content><ofd:Layer ID=\"%d\"><ofd:TextObject ID=\"%d\" "
                 "Boundary=\"20 20 170 10\" Font=\"1\" Size=\"5\"><ofd:TextCode X=\"0\" Y=\"5\">"
                 "Page %d of the eseal test document</ofd:TextCode></ofd:TextObject>"
                 "<ofd:ImageObject ID=\"%d\" ResourceID=\"%d\" Boundary=\"20 40 170 120\" "
                 "CTM=\"170 0 0 120 0 0\"/></ofd:Layer></ofd:Content></ofd:Page>\n",
                 200000 + 3 * k, 200001 + 3 * k, k + 1, 200002 + 3 * k,
                 images ? k % images + 1 : 0);
        snprintf(name, sizeof name, "Doc_0/Pages/Page_%d/Content.xml", k);
        bad |= gen_text(z, name, buf);
    }
    for (int k = 0; k < images && !bad; k++) {
        char name[64];
        snprintf(name, sizeof name, "Doc_0/Res/image_%d.png", k);
        bad |= gen_add(z, name, image_size, (uint64_t)k + 1, 0);
    }
    if (bad) {
        zip_discard(z);
        return -1;
    }
    return zip_close(z) == 0 ? 0 : -1;
}

/* Copies the package src to dst with entry name replaced by len bytes at p (added when it is
 * not there; removed when p is NULL). Returns 0 on success. */
static inline int gen_replace(const char *src, const char *dst, const char *name, const void *p,
                              size_t len)
{
    FILE *in = fopen(src, "rb"), *out = fopen(dst, "wb");
    if (!in || !out) {
        if (in) fclose(in);
        if (out) fclose(out);
        return -1;
    }
    char b[65536];
    size_t n;
    while ((n = fread(b, 1, sizeof b, in)) > 0) fwrite(b, 1, n, out);
    fclose(in);
    if (fclose(out) != 0) return -1;
    int err = 0;
    zip_t *z = zip_open(dst, 0, &err);
    if (!z) return -1;
    zip_int64_t i = zip_name_locate(z, name, 0);
    int bad = 0;
    if (!p) {
        bad = i < 0 || zip_delete(z, (zip_uint64_t)i) != 0;
    } else {
        void *copy = malloc(len ? len : 1);
        if (!copy) {
            zip_discard(z);
            return -1;
        }
        memcpy(copy, p, len);
        zip_source_t *s = zip_source_buffer(z, copy, len, 1);
        if (!s) {
            free(copy);
            bad = 1;
        } else if ((i >= 0 ? zip_file_replace(z, (zip_uint64_t)i, s, 0)
                           : (int)zip_file_add(z, name, s, 0)) < 0) {
            zip_source_free(s);
            bad = 1;
        }
    }
    if (bad) {
        zip_discard(z);
        return -1;
    }
    return zip_close(z) == 0 ? 0 : -1;
}

/* Reads one entry of a package into a malloc'd buffer; NULL when absent. */
static inline uint8_t *gen_read(const char *path, const char *name, size_t *len)
{
    int err = 0;
    zip_t *z = zip_open(path, ZIP_RDONLY, &err);
    if (!z) return NULL;
    zip_stat_t st;
    uint8_t *p = NULL;
    if (zip_stat(z, name, 0, &st) == 0 && (st.valid & ZIP_STAT_SIZE)) {
        zip_file_t *f = zip_fopen(z, name, 0);
        p = (uint8_t *)malloc(st.size ? st.size : 1);
        if (f && p && zip_fread(f, p, st.size) == (zip_int64_t)st.size) {
            *len = st.size;
        } else {
            free(p);
            p = NULL;
        }
        if (f) zip_fclose(f);
    }
    zip_discard(z);
    return p;
}

#endif
