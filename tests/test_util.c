/* util: bounded buffers, hex, base64, calendar arithmetic, ISO 8601 parsing, atomic files. */
#include "test.h"

#include <dirent.h>
#include <time.h>
#include <unistd.h>

#include "eseal/quirk.h"
#include "util/internal.h"

#include <sys/stat.h>
#include <sys/wait.h>

/* t_rnd's state: a fixed seed, so that a failure can be reproduced. */
static uint32_t rnd_state = 0x9e3779b9u;

static int buf_is(const es_buf *b, const void *p, size_t n)
{
    return b->len == n && (n == 0 || memcmp(b->p, p, n) == 0);
}

static int buf_is_str(const es_buf *b, const char *s)
{
    return buf_is(b, s, strlen(s));
}

static void test_slice(void)
{
    es_slice a = es_slice_make("abc", 3), b = es_slice_make("abd", 3);
    ok(es_slice_eq(a, a), "slice equals itself");
    ok(!es_slice_eq(a, b), "slices with other bytes differ");
    ok(!es_slice_eq(a, es_slice_make("ab", 2)), "slices of other length differ");
    ok(es_slice_eq(ES_SLICE_NULL, es_slice_make("x", 0)), "empty slices are equal");
    ok(es_slice_eq_str(a, "abc"), "eq_str same");
    ok(!es_slice_eq_str(a, "abcd"), "eq_str longer string");
    ok(!es_slice_eq_str(a, "ab"), "eq_str shorter string");
}

static void test_buf_growth(void)
{
    es_buf b;
    es_buf_init(&b, 1u << 20);
    ok(b.p == NULL && b.len == 0 && b.max == 1u << 20, "init allocates nothing");
    /* Grow through several reallocations and check every byte survives them. */
    uint8_t ref[5000];
    for (size_t i = 0; i < sizeof ref; i++) ref[i] = (uint8_t)(i * 7 + 3);
    int good = 1;
    for (size_t i = 0; i < sizeof ref; i += 37) {
        size_t n = sizeof ref - i < 37 ? sizeof ref - i : 37;
        if (es_buf_append(&b, ref + i, n) != ES_OK) good = 0;
    }
    ok(good, "appends in chunks succeed");
    ok(buf_is(&b, ref, sizeof ref), "contents survive growth");
    ok(b.cap > b.len && b.p[b.len] == 0, "NUL kept after the last byte (cap %zu len %zu)", b.cap,
       b.len);
    ok(es_buf_append(&b, NULL, 0) == ES_OK && b.len == sizeof ref, "empty append is a no-op");
    ok(es_buf_append_byte(&b, 0x5a) == ES_OK && b.len == sizeof ref + 1 && b.p[sizeof ref] == 0x5a,
       "append_byte");
    ok(es_buf_append_str(&b, "xyz") == ES_OK && b.len == sizeof ref + 4 &&
           memcmp(b.p + sizeof ref + 1, "xyz", 3) == 0,
       "append_str");
    es_buf_cleanup(&b);
    ok(b.p == NULL && b.len == 0, "cleanup empties");
    ok(es_buf_append_str(&b, "again") == ES_OK && buf_is_str(&b, "again"), "usable after cleanup");
    es_buf_cleanup_secret(&b);
    ok(b.p == NULL && b.len == 0, "cleanup_secret empties");

    es_buf_init(&b, 100);
    ok(es_buf_nul(&b) == ES_OK && b.p && b.p[0] == 0 && b.len == 0, "nul on an empty buffer");
    ok(es_buf_append_str(&b, "abcd") == ES_OK, "append abcd");
    b.len = 2; /* callers truncate by setting len */
    ok(es_buf_nul(&b) == ES_OK && b.len == 2 && strcmp((char *)b.p, "ab") == 0,
       "nul after truncation terminates at len");
    es_buf_cleanup(&b);
}

/* buf_release_hook: every block es_buf gives up while growing must already be wiped. */
static int released, released_dirty;
static size_t released_bytes;

static void on_release(const uint8_t *p, size_t n)
{
    released++;
    released_bytes += n;
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0) {
            released_dirty++;
            break;
        }
}

static void test_buf_secret_growth(void)
{
    es_buf b;
    es_buf_init(&b, 1u << 20);
    released = released_dirty = 0;
    released_bytes = 0;
    buf_release_hook = on_release;
    /* A "secret" of 10000 non-zero bytes in pieces of 100: 128 (first) -> 16384 is 7 growths. */
    uint8_t secret[10000];
    for (size_t i = 0; i < sizeof secret; i++) secret[i] = (uint8_t)(0x80 | i);
    int good = 1;
    for (size_t i = 0; i < sizeof secret; i += 100)
        if (es_buf_append(&b, secret + i, 100) != ES_OK) good = 0;
    ok(good && buf_is(&b, secret, sizeof secret), "secret appended whole");
    ok(released == 7, "each growth gives up the old block (%d, expected 7)", released);
    ok(released_dirty == 0, "every block given up was wiped first (%d were not)", released_dirty);
    /* printf and reserve grow the same way. */
    int before = released;
    ok(es_buf_printf(&b, "%020000d", 7) == ES_OK && b.len == sizeof secret + 20000,
       "printf grows the buffer");
    ok(es_buf_reserve(&b, 100000) == ES_OK && b.cap >= b.len + 100001 && b.len == 30000,
       "reserve makes room without changing len (cap %zu)", b.cap);
    ok(buf_is(&b, b.p, 30000) && memcmp(b.p, secret, sizeof secret) == 0,
       "contents survive printf and reserve");
    ok(released == before + 2 && released_dirty == 0, "printf and reserve wipe what they leave");
    ok(es_buf_reserve(&b, (1u << 20) - 29999) == ES_ERR_LIMIT, "reserve past max refused");
    es_buf_cleanup_secret(&b);

    /* es_file_read from a pipe (no size hint): it grows, and leaves nothing unwiped. */
    const char *tmp = getenv("TMPDIR");
    char dir[4096], fifo[4200];
    snprintf(dir, sizeof dir, "%s/eseal-test-fifo-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp %s", dir);
        buf_release_hook = NULL;
        return;
    }
    snprintf(fifo, sizeof fifo, "%s/key.pipe", dir);
    ok(mkfifo(fifo, 0600) == 0, "mkfifo");
    static uint8_t big[300000];
    for (size_t i = 0; i < sizeof big; i++) big[i] = (uint8_t)(1 + i % 251);
    pid_t pid = fork();
    if (pid == 0) {
        FILE *f = fopen(fifo, "wb");
        size_t w = f ? fwrite(big, 1, sizeof big, f) : 0;
        if (f) fclose(f);
        _exit(w == sizeof big ? 0 : 1);
    }
    released = released_dirty = 0;
    es_buf_init(&b, 1u << 20);
    ok(es_buf_append_str(&b, "head:") == ES_OK, "a buffer that already holds bytes");
    ok(es_file_read(fifo, &b) == ES_OK && b.len == 5 + sizeof big && memcmp(b.p, "head:", 5) == 0 &&
           memcmp(b.p + 5, big, sizeof big) == 0,
       "a pipe read whole after what the buffer held (%zu bytes)", b.len);
    int status = 0;
    ok(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0,
       "the writer finished");
    ok(released > 0 && released_dirty == 0,
       "reading a pipe grew the buffer %d times, wiping each old block (%d not)", released,
       released_dirty);
    es_buf_cleanup_secret(&b);
    unlink(fifo);
    rmdir(dir);
    buf_release_hook = NULL;
}

/* The one UTF-8 decoder: each way bytes can fail to be UTF-8, and the encoder's round trip. */
static void test_utf8(void)
{
    static const struct {
        const char *bytes;
        size_t len, want; /* want: length of the first character, 0 when not UTF-8 */
        uint32_t cp;
    } cases[] = {
        {"A", 1, 1, 0x41},
        {"\xc2\xa9", 2, 2, 0xa9},
        {"\xe4\xb8\xad", 3, 3, 0x4e2d},       /* 中 */
        {"\xf0\x9f\x98\x80", 4, 4, 0x1f600},  /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", 4, 4, 0x10ffff}, /* the last code point */
        {"\xf4\x90\x80\x80", 4, 0, 0},        /* past U+10FFFF */
        {"\xc0\xaf", 2, 0, 0},                /* overlong '/' */
        {"\xc1\xbf", 2, 0, 0},                /* overlong */
        {"\xe0\x80\xaf", 3, 0, 0},            /* overlong, 3 bytes */
        {"\xf0\x80\x80\xaf", 4, 0, 0},        /* overlong, 4 bytes */
        {"\xed\xa0\x80", 3, 0, 0},            /* surrogate U+D800 */
        {"\xed\xbf\xbf", 3, 0, 0},            /* surrogate U+DFFF */
        {"\xee\x80\x80", 3, 3, 0xe000},       /* just past the surrogates */
        {"\x80", 1, 0, 0},                    /* a lone continuation byte */
        {"\xe4\xb8", 2, 0, 0},                /* cut short */
        {"\xe4\x41\xad", 3, 0, 0},            /* a non-continuation inside */
        {"\xf8\x88\x80\x80\x80", 5, 0, 0},    /* 5-byte form */
        {"\xff", 1, 0, 0},
    };
    int good = 1;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint32_t cp = 0xdead;
        size_t n = es_utf8_next((const uint8_t *)cases[i].bytes, cases[i].len, &cp);
        if (n != cases[i].want || (n && cp != cases[i].cp)) {
            good = 0;
            fprintf(stderr, "case %zu: length %zu code point %x\n", i, n, (unsigned)cp);
        }
        if (es_utf8_valid(cases[i].bytes, cases[i].len) != (cases[i].want == cases[i].len))
            good = 0;
    }
    ok(good, "es_utf8_next and es_utf8_valid on each case");
    ok(es_utf8_next((const uint8_t *)"x", 0, NULL) == 0, "nothing is no character");
    ok(es_utf8_valid("", 0), "the empty string is valid");
    ok(es_utf8_valid("某某市人力资源和社会保障局", strlen("某某市人力资源和社会保障局")),
       "Chinese text is valid");
    ok(!es_utf8_valid("a\0b", 3), "a NUL inside is refused");
    /* The encoder against the decoder, over every code point. */
    int round = 1;
    size_t none = 0;
    for (uint32_t cp = 0; cp < 0x110000 + 16; cp++) {
        uint8_t u[4];
        uint32_t back = 0;
        size_t n = es_utf8_put(cp, u);
        if (n == 0) {
            none++;
            continue;
        }
        if (es_utf8_next(u, n, &back) != n || back != cp) round = 0;
    }
    ok(round, "every code point encodes and decodes back");
    ok(none == 0x800 + 16, "exactly the surrogates and values past U+10FFFF have no form (%zu)",
       none);
}

static void test_buf_limit(void)
{
    es_buf b;
    es_buf_init(&b, 10);
    ok(es_buf_append(&b, "12345678", 8) == ES_OK, "8 of 10 bytes");
    ok(es_buf_append(&b, "abc", 3) == ES_ERR_LIMIT, "11 of 10 bytes refused");
    ok(buf_is(&b, "12345678", 8), "nothing appended past max (len %zu)", b.len);
    ok(es_buf_printf(&b, "%s", "xyz") == ES_ERR_LIMIT, "printf past max refused");
    ok(buf_is(&b, "12345678", 8), "printf appended nothing past max");
    ok(es_buf_append_hex(&b, (const uint8_t *)"\x01\x02", 2) == ES_ERR_LIMIT,
       "append_hex past max refused");
    ok(buf_is(&b, "12345678", 8), "append_hex appended nothing past max");
    ok(es_hex_decode("aabbcc", 6, &b) == ES_ERR_LIMIT, "hex_decode past max refused");
    ok(b.len <= 10, "hex_decode stays within max");
    b.len = 8;
    ok(es_base64_decode("YWJj", 4, &b) == ES_ERR_LIMIT, "base64_decode past max refused");
    ok(b.len <= 10, "base64_decode stays within max");
    b.len = 8;
    ok(es_base64_encode((const uint8_t *)"a", 1, &b) == ES_ERR_LIMIT, "base64_encode past max");
    ok(b.len == 8, "base64_encode appended nothing past max");
    ok(es_buf_append(&b, "9A", 2) == ES_OK && buf_is(&b, "123456789A", 10), "exactly max fits");
    ok(es_buf_append_byte(&b, 'x') == ES_ERR_LIMIT && b.len == 10, "one past max refused");
    ok(es_buf_append(&b, "", 0) == ES_OK && b.len == 10, "empty append at max is fine");
    ok(es_buf_append(&b, "x", SIZE_MAX) == ES_ERR_LIMIT, "SIZE_MAX bytes refused, no overflow");
    ok(es_buf_nul(&b) == ES_OK && b.p[10] == 0, "NUL fits even at max");
    es_buf_cleanup(&b);

    es_buf_init(&b, 0);
    ok(es_buf_append_byte(&b, 1) == ES_ERR_LIMIT && b.len == 0, "max 0 holds nothing");
    es_buf_cleanup(&b);
}

static void test_buf_printf_steal(void)
{
    es_buf b;
    es_buf_init(&b, 4096);
    ok(es_buf_printf(&b, "%d-%s-%02x", 42, "abc", 0xf) == ES_OK && buf_is_str(&b, "42-abc-0f"),
       "printf formats");
    ok(es_buf_printf(&b, "|%s|", "") == ES_OK && buf_is_str(&b, "42-abc-0f||"), "printf appends");
    /* Longer than the first allocation: the formatted text must survive the reallocation. */
    char longs[300];
    memset(longs, 'q', sizeof longs - 1);
    longs[sizeof longs - 1] = 0;
    ok(es_buf_printf(&b, "%s%d", longs, 7) == ES_OK && b.len == 11 + 299 + 1 &&
           memcmp(b.p + 11, longs, 299) == 0 && b.p[b.len - 1] == '7' && b.p[b.len] == 0,
       "printf growing the buffer");
    size_t len = 0;
    size_t expect = b.len;
    uint8_t *p = es_buf_steal(&b, &len);
    ok(p && len == expect && memcmp(p, "42-abc-0f||", 11) == 0, "steal hands over the bytes");
    ok(b.p == NULL && b.len == 0 && b.cap == 0, "steal leaves the buffer empty");
    ok(b.max == 4096, "steal keeps the limit");
    ok(es_buf_append_str(&b, "new") == ES_OK && buf_is_str(&b, "new"), "usable after steal");
    ok(memcmp(p, "42-abc-0f||", 11) == 0, "stolen bytes untouched by later appends");
    free(p);
    p = es_buf_steal(&b, NULL);
    ok(p && memcmp(p, "new", 3) == 0, "steal with NULL len");
    free(p);
    es_buf_cleanup(&b);
}

static void test_hex(void)
{
    static const uint8_t bytes[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xcd, 0xef, 0xff};
    char out[2 * sizeof bytes + 1];
    memset(out, 'X', sizeof out);
    es_hex_encode(bytes, sizeof bytes, out);
    ok(strcmp(out, "00017f80abcdefff") == 0, "hex encode: %s", out);
    es_hex_encode(bytes, 0, out);
    ok(out[0] == 0, "hex encode of nothing is empty");

    es_buf b;
    es_buf_init(&b, 1024);
    ok(es_buf_append_str(&b, "k=") == ES_OK && es_buf_append_hex(&b, bytes, 3) == ES_OK &&
           buf_is_str(&b, "k=00017f") && b.p[b.len] == 0,
       "append_hex");
    b.len = 0;
    ok(es_hex_decode("00017f80ABCDefFF", 16, &b) == ES_OK && buf_is(&b, bytes, sizeof bytes),
       "hex decode, mixed case");
    b.len = 0;
    ok(es_hex_decode("", 0, &b) == ES_OK && b.len == 0, "hex decode of nothing");
    /* Round trip over every byte value. */
    uint8_t all[256];
    char hex[513];
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
    es_hex_encode(all, 256, hex);
    b.len = 0;
    ok(es_hex_decode(hex, 512, &b) == ES_OK && buf_is(&b, all, 256), "hex round trip 0..255");

    static const char *bad[] = {"0", "abc", "0g", "g0", "0x12", " 12", "12 ", "1-", "zz", ":)"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b.len = 0;
        ok(es_hex_decode(bad[i], strlen(bad[i]), &b) == ES_ERR_HEX, "hex '%s' refused", bad[i]);
    }
    /* The length given is what is read: a NUL inside it is not a digit. */
    b.len = 0;
    ok(es_hex_decode("ab\0d", 4, &b) == ES_ERR_HEX, "hex with an embedded NUL refused");
    es_buf_cleanup(&b);
}

static void test_base64(void)
{
    /* RFC 4648 section 10. */
    static const char *vec[][2] = {{"", ""},
                                   {"f", "Zg=="},
                                   {"fo", "Zm8="},
                                   {"foo", "Zm9v"},
                                   {"foob", "Zm9vYg=="},
                                   {"fooba", "Zm9vYmE="},
                                   {"foobar", "Zm9vYmFy"}};
    es_buf b;
    es_buf_init(&b, 1 << 16);
    for (size_t i = 0; i < sizeof vec / sizeof vec[0]; i++) {
        b.len = 0;
        ok(es_base64_encode((const uint8_t *)vec[i][0], strlen(vec[i][0]), &b) == ES_OK &&
               buf_is_str(&b, vec[i][1]),
           "base64 encode '%s'", vec[i][0]);
        b.len = 0;
        ok(es_base64_decode(vec[i][1], strlen(vec[i][1]), &b) == ES_OK && buf_is_str(&b, vec[i][0]),
           "base64 decode '%s'", vec[i][1]);
    }
    /* The whole alphabet, including + and /. */
    static const uint8_t alpha_bytes[] = {0xfb, 0xff, 0xbf, 0x00, 0x10, 0x83};
    b.len = 0;
    ok(es_base64_encode(alpha_bytes, sizeof alpha_bytes, &b) == ES_OK && buf_is_str(&b, "+/+/ABCD"),
       "base64 uses + and /");
    b.len = 0;
    ok(es_base64_decode("+/+/ABCD", 8, &b) == ES_OK && buf_is(&b, alpha_bytes, 6),
       "base64 decodes + and /");

    /* Round trips over every length 0..100, with and without line breaks. */
    es_buf enc, dec, wrapped;
    es_buf_init(&enc, 1 << 16);
    es_buf_init(&dec, 1 << 16);
    es_buf_init(&wrapped, 1 << 16);
    int rt_ok = 1, len_ok = 1, wrap_ok = 1;
    for (size_t n = 0; n <= 100; n++) {
        uint8_t data[100];
        for (size_t i = 0; i < n; i++) data[i] = (uint8_t)t_rnd(&rnd_state);
        enc.len = dec.len = wrapped.len = 0;
        if (es_base64_encode(data, n, &enc) != ES_OK ||
            es_base64_decode((const char *)enc.p, enc.len, &dec) != ES_OK ||
            !buf_is(&dec, data, n)) {
            rt_ok = 0;
            fprintf(stderr, "base64 round trip fails at length %zu\n", n);
        }
        if (enc.len != (n + 2) / 3 * 4) len_ok = 0;
        for (size_t i = 0; i < enc.len; i++) {
            if (i && i % 7 == 0 && es_buf_append_str(&wrapped, i % 14 ? "\r\n" : " \t") != ES_OK)
                wrap_ok = 0;
            if (es_buf_append_byte(&wrapped, enc.p[i]) != ES_OK) wrap_ok = 0;
        }
        dec.len = 0;
        if (es_base64_decode((const char *)wrapped.p, wrapped.len, &dec) != ES_OK ||
            !buf_is(&dec, data, n))
            wrap_ok = 0;
    }
    ok(rt_ok, "base64 round trips, lengths 0..100");
    ok(len_ok, "base64 length is 4*ceil(n/3)");
    ok(wrap_ok, "base64 decode skips white space");
    es_buf_cleanup(&enc);
    es_buf_cleanup(&dec);
    es_buf_cleanup(&wrapped);

    static const char *bad[] = {
        "Z",        /* a single character holds no byte */
        "Zm9vY",    /* same after a full group */
        "Zm9v!",    /* outside the alphabet */
        "Zm-v",     /* base64url is not base64 */
        "Zm_v",     /* base64url is not base64 */
        "Zg==Zg==", /* data after padding */
        "Zg=a",     /* data after padding */
        "Zm9v====", /* padding where none belongs */
        "Zm9v=",    /* padding where none belongs */
        "=",        /* padding alone */
        "====",     /* padding alone */
        "Zg===",    /* too much padding */
        "Zm8==",    /* padding longer than the group */
        "Zg=",      /* one '=' where the group needs two */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        b.len = 0;
        ok(es_base64_decode(bad[i], strlen(bad[i]), &b) == ES_ERR_BASE64, "base64 '%s' refused",
           bad[i]);
    }
    b.len = 0;
    ok(es_base64_decode("Zm\0v", 4, &b) == ES_ERR_BASE64, "base64 with an embedded NUL refused");
    es_buf_cleanup(&b);
}

static es_time fields(int y, int mo, int d, int h, int mi, int s)
{
    es_time t = ES_TIME_NONE;
    if (es_time_from_fields(y, mo, d, h, mi, s, &t) != ES_OK) return ES_TIME_NONE;
    return t;
}

static void test_time_fields(void)
{
    static const struct {
        int y, mo, d, h, mi, s;
        int64_t t;
    } known[] = {
        {1970, 1, 1, 0, 0, 0, 0},
        {1969, 12, 31, 23, 59, 59, -1},
        {2026, 1, 1, 0, 0, 0, 1767225600},
        {2026, 1, 1, 8, 0, 0, 1767254400},
        {2000, 2, 29, 0, 0, 0, 951782400},
        {2024, 2, 29, 23, 59, 59, 1709251199},
        {1900, 3, 1, 0, 0, 0, -2203891200},
        {2400, 2, 29, 12, 0, 0, 13574606400},
        {2038, 1, 19, 3, 14, 8, 2147483648},
        {1, 1, 1, 0, 0, 0, -62135596800},
        {9999, 12, 31, 23, 59, 59, 253402300799},
    };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        es_time t =
            fields(known[i].y, known[i].mo, known[i].d, known[i].h, known[i].mi, known[i].s);
        ok(t == known[i].t, "%04d-%02d-%02d %02d:%02d:%02d -> %lld, expected %lld", known[i].y,
           known[i].mo, known[i].d, known[i].h, known[i].mi, known[i].s, (long long)t,
           (long long)known[i].t);
        int y, mo, d, h, mi, s;
        es_time_to_fields(known[i].t, &y, &mo, &d, &h, &mi, &s);
        ok(y == known[i].y && mo == known[i].mo && d == known[i].d && h == known[i].h &&
               mi == known[i].mi && s == known[i].s,
           "to_fields(%lld) = %04d-%02d-%02d %02d:%02d:%02d", (long long)known[i].t, y, mo, d, h,
           mi, s);
    }

    /* Every day from year 1 to 9999 (at a varying time of day): to_fields agrees with the C
     * library's gmtime_r, and from_fields takes the fields back to the same second. */
    es_time lo = -62135596800, hi = 253402300799;
    long bad_rt = 0, bad_libc = 0, days = 0;
    int have_libc = sizeof(time_t) >= 8;
    for (es_time t = lo + 3599; t <= hi; t += 86400 + 13, days++) {
        int y, mo, d, h, mi, s;
        es_time_to_fields(t, &y, &mo, &d, &h, &mi, &s);
        es_time back = ES_TIME_NONE;
        if (es_time_from_fields(y, mo, d, h, mi, s, &back) != ES_OK || back != t) {
            if (bad_rt++ < 5) fprintf(stderr, "round trip fails at %lld\n", (long long)t);
        }
        if (have_libc) {
            time_t tt = (time_t)t;
            struct tm tm;
            if (!gmtime_r(&tt, &tm) || tm.tm_year + 1900 != y || tm.tm_mon + 1 != mo ||
                tm.tm_mday != d || tm.tm_hour != h || tm.tm_min != mi || tm.tm_sec != s) {
                if (bad_libc++ < 5) fprintf(stderr, "gmtime differs at %lld\n", (long long)t);
            }
        }
    }
    ok(days > 3600000, "swept %ld days", days);
    ok(bad_rt == 0, "from_fields(to_fields(t)) == t over years 1..9999 (%ld failures)", bad_rt);
    ok(bad_libc == 0, "to_fields agrees with gmtime_r over years 1..9999 (%ld failures)", bad_libc);

    /* Consecutive days step by exactly 86400 s, across month, year and leap boundaries. */
    long bad_step = 0;
    for (int y = 1896; y <= 2104; y++) {
        for (int mo = 1; mo <= 12; mo++) {
            for (int d = 1; d <= 31; d++) {
                es_time t;
                if (es_time_from_fields(y, mo, d, 0, 0, 0, &t) != ES_OK) continue;
                int ny, nmo, nd, h, mi, s;
                es_time_to_fields(t + 86400, &ny, &nmo, &nd, &h, &mi, &s);
                int expect_next_month = nd == 1;
                if (expect_next_month ? !((nmo == mo % 12 + 1) && (ny == y + (mo == 12)))
                                      : !(ny == y && nmo == mo && nd == d + 1))
                    bad_step++;
            }
        }
    }
    ok(bad_step == 0, "day after day, 1896..2104 (%ld failures)", bad_step);

    ok(fields(2000, 2, 29, 0, 0, 0) != ES_TIME_NONE, "2000-02-29 exists (400-year rule)");
    ok(fields(2024, 2, 29, 0, 0, 0) != ES_TIME_NONE, "2024-02-29 exists");
    ok(fields(2400, 2, 29, 0, 0, 0) != ES_TIME_NONE, "2400-02-29 exists");
    ok(fields(2000, 3, 1, 0, 0, 0) - fields(2000, 2, 28, 0, 0, 0) == 2 * 86400,
       "2000 has a leap day");
    ok(fields(1900, 3, 1, 0, 0, 0) - fields(1900, 2, 28, 0, 0, 0) == 86400, "1900 has no leap day");

    static const int invalid[][6] = {
        {1900, 2, 29, 0, 0, 0}, {2100, 2, 29, 0, 0, 0},  {2023, 2, 29, 0, 0, 0},
        {2024, 2, 30, 0, 0, 0}, {2026, 4, 31, 0, 0, 0},  {2026, 6, 31, 0, 0, 0},
        {2026, 9, 31, 0, 0, 0}, {2026, 11, 31, 0, 0, 0}, {2026, 1, 32, 0, 0, 0},
        {2026, 1, 0, 0, 0, 0},  {2026, 0, 1, 0, 0, 0},   {2026, 13, 1, 0, 0, 0},
        {2026, -1, 1, 0, 0, 0}, {2026, 1, 1, 24, 0, 0},  {2026, 1, 1, -1, 0, 0},
        {2026, 1, 1, 0, 60, 0}, {2026, 1, 1, 0, -1, 0},  {2026, 1, 1, 0, 0, 61},
        {2026, 1, 1, 0, 0, -1}, {0, 1, 1, 0, 0, 0},      {10000, 1, 1, 0, 0, 0},
        {-5, 1, 1, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        const int *f = invalid[i];
        es_time t = 12345;
        ok(es_time_from_fields(f[0], f[1], f[2], f[3], f[4], f[5], &t) == ES_ERR_TIME,
           "%d-%d-%d %d:%d:%d refused", f[0], f[1], f[2], f[3], f[4], f[5]);
    }
}

static void test_time_iso(void)
{
    static const struct {
        const char *s;
        int64_t t;
    } good[] = {
        {"2026-01-01", 1767225600},
        {"2026-01-01T08:00:00Z", 1767254400},
        {"2026-01-01T08:00:00+08:00", 1767225600},
        {"2026-01-01T08:00:00+0800", 1767225600},
        {"2026-01-01T08:00:00-05:30", 1767274200},
        {"2026-01-01T08:00:00+00:00", 1767254400},
        {"2026-01-01 08:00:00", 1767254400},
        {"2026-01-01T08:00:00", 1767254400},
        {"2026-01-01T08:00:00.5Z", 1767254400},
        {"2026-01-01T08:00:00.999999999Z", 1767254400},
        {"2026-01-01T08:00:00,25+08:00", 1767225600},
        {"2026-01-01T07:59:59Z", 1767254399},
        {"2024-02-29T23:59:59Z", 1709251199},
        {"2000-02-29", 951782400},
        {"1970-01-01T00:00:00Z", 0},
        {"1970-01-01T07:59:59+08:00", -1},
        {"2026-01-01T00:30:00+01:00", 1767225600 - 1800},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        es_time t = ES_TIME_NONE;
        es_err rv = es_time_parse_iso(good[i].s, &t);
        ok(rv == ES_OK && t == good[i].t, "parse '%s' -> %s %lld, expected %lld", good[i].s,
           es_err_name(rv), (long long)t, (long long)good[i].t);
    }
    static const char *bad[] = {
        "",
        "2026",
        "2026-01",
        "2026-1-01",
        "2026-01-1",
        "26-01-01",
        "2026/01/01",
        "20260101",
        "2026-01-01T",
        "2026-01-01T08",
        "2026-01-01T8:00:00Z",
        "2026-01-01T08:00:00X",
        "2026-01-01T08:00:00ZZ",
        "2026-01-01T08:00:00Z ",
        " 2026-01-01",
        "2026-01-01Z",
        "2026-01-01x",
        "2026-01-01T08:00:00.Z",
        "2026-01-01T08:00:00+",
        "2026-01-01T08:00:00+8:00",
        "2026-01-01T08:00:00+24:00",
        "2026-01-01T08:00:00+08:60",
        "2026-13-01",
        "2026-00-10",
        "2026-02-30",
        "2023-02-29",
        "2026-01-01T24:00:00Z",
        "2026-01-01T23:60:00Z",
        "2026-01-01T23:59:61Z",
        "abcd-ef-gh",
        "0000-01-01",
        "yesterday",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        es_time t = 0;
        ok(es_time_parse_iso(bad[i], &t) == ES_ERR_TIME, "parse '%s' refused", bad[i]);
    }
    es_time t = 0;
    ok(es_time_parse_iso(NULL, &t) == ES_ERR_TIME, "parse NULL refused");
}

static void test_time_format(void)
{
    char iso[32], gen[16];
    static const struct {
        int64_t t;
        const char *iso, *gen;
    } v[] = {
        {0, "1970-01-01T00:00:00Z", "19700101000000Z"},
        {-1, "1969-12-31T23:59:59Z", "19691231235959Z"},
        {1767254400, "2026-01-01T08:00:00Z", "20260101080000Z"},
        {951782400 + 3723, "2000-02-29T01:02:03Z", "20000229010203Z"},
        {253402300799, "9999-12-31T23:59:59Z", "99991231235959Z"},
        {-62135596800, "0001-01-01T00:00:00Z", "00010101000000Z"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        memset(iso, 'X', sizeof iso);
        memset(gen, 'X', sizeof gen);
        es_time_format_iso(v[i].t, iso);
        es_time_format_gentime(v[i].t, gen);
        ok(strcmp(iso, v[i].iso) == 0, "format_iso(%lld) = %s", (long long)v[i].t, iso);
        ok(strcmp(gen, v[i].gen) == 0, "format_gentime(%lld) = %s", (long long)v[i].t, gen);
    }
    /* parse(format(t)) == t across the range. */
    long bad = 0;
    for (es_time t = -62135596800 + 17; t <= 253402300799; t += 7777777) {
        es_time back = ES_TIME_NONE;
        es_time_format_iso(t, iso);
        if (es_time_parse_iso(iso, &back) != ES_OK || back != t) bad++;
    }
    ok(bad == 0, "parse_iso(format_iso(t)) == t (%ld failures)", bad);
    ok(es_time_now() > 1767225600 - 86400 * 365 * 2, "now is a plausible time");
}

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n;
}

static void test_file(void)
{
    const char *tmp = getenv("TMPDIR");
    char dir[4096], path[4200], bad[4300];
    snprintf(dir, sizeof dir, "%s/eseal-test-util-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        ok(0, "mkdtemp %s", dir);
        return;
    }
    snprintf(path, sizeof path, "%s/out.bin", dir);

    uint8_t data[200000];
    for (size_t i = 0; i < sizeof data; i++) data[i] = (uint8_t)t_rnd(&rnd_state);
    ok(es_file_write(path, data, sizeof data) == ES_OK, "write %zu bytes", sizeof data);
    es_buf b;
    es_buf_init(&b, 1 << 20);
    ok(es_file_read(path, &b) == ES_OK && buf_is(&b, data, sizeof data), "read back the same");
    /* A shorter second write replaces the file as a whole. */
    ok(es_file_write(path, "short", 5) == ES_OK, "overwrite");
    b.len = 0;
    ok(es_file_read(path, &b) == ES_OK && buf_is_str(&b, "short"), "read back the replacement");
    ok(count_entries(dir) == 1, "no temporary file left behind (%d entries)", count_entries(dir));
    ok(es_file_write(path, NULL, 0) == ES_OK, "write an empty file");
    b.len = 0;
    ok(es_file_read(path, &b) == ES_OK && b.len == 0, "read back the empty file");

    /* A limit smaller than the file. */
    ok(es_file_write(path, data, 1000) == ES_OK, "write 1000 bytes");
    es_buf small;
    es_buf_init(&small, 999);
    ok(es_file_read(path, &small) == ES_ERR_LIMIT, "read past the buffer limit refused");
    es_buf_cleanup(&small);
    /* A file of exactly the limit fits, in one allocation (the size is a hint). */
    es_buf_init(&small, 1000);
    released = 0;
    buf_release_hook = on_release;
    ok(es_file_read(path, &small) == ES_OK && buf_is(&small, data, 1000),
       "a file of exactly the limit is read");
    ok(released == 0, "a regular file is read without growing the buffer (%d)", released);
    buf_release_hook = NULL;
    ok(es_file_read(path, &small) == ES_ERR_LIMIT, "read again past the limit refused");
    es_buf_cleanup(&small);

    /* The streaming form: create next to the target, write, commit. */
    char *tmpf = NULL;
    int fd = -1;
    ok(es_file_tmp_create(path, 0640, &tmpf, &fd) == ES_OK && fd >= 0 && tmpf &&
           strncmp(tmpf, path, strlen(path)) == 0 && strstr(tmpf, ".tmp"),
       "tmp_create: a temporary file next to the target (%s)", tmpf ? tmpf : "");
    struct stat st;
    ok(fd >= 0 && fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0640, "with the mode asked (%o)",
       (unsigned)(st.st_mode & 0777));
    ok(fd >= 0 && write(fd, "streamed", 8) == 8 && close(fd) == 0, "written and closed");
    b.len = 0;
    ok(es_file_read(path, &b) == ES_OK && buf_is(&b, data, 1000),
       "the target is untouched until the commit (still its 1000 bytes)");
    ok(es_file_tmp_commit(tmpf, path) == ES_OK, "commit");
    b.len = 0;
    ok(es_file_read(path, &b) == ES_OK && buf_is_str(&b, "streamed"), "the target is replaced");
    ok(count_entries(dir) == 1 && access(tmpf, F_OK) != 0, "and the temporary name is gone");
    free(tmpf);
    /* A commit that cannot rename (over a directory) removes the temporary file. */
    char sub[4300];
    snprintf(sub, sizeof sub, "%s/sub", dir);
    ok(mkdir(sub, 0700) == 0, "mkdir");
    tmpf = NULL;
    ok(es_file_tmp_create(sub, 0600, &tmpf, &fd) == ES_OK && close(fd) == 0, "tmp next to a dir");
    ok(es_file_tmp_commit(tmpf, sub) == ES_ERR_IO && access(tmpf, F_OK) != 0,
       "a failed commit: ES_ERR_IO, and the temporary file is removed");
    free(tmpf);
    rmdir(sub);
    ok(es_file_tmp_create("/no/such/dir/x", 0600, &tmpf, &fd) == ES_ERR_IO && tmpf == NULL &&
           fd == -1,
       "tmp_create in a missing directory: ES_ERR_IO, nothing to free");

    snprintf(bad, sizeof bad, "%s/no/such/dir/out.bin", dir);
    ok(es_file_write(bad, "x", 1) == ES_ERR_IO, "write into a missing directory: ES_ERR_IO");
    snprintf(bad, sizeof bad, "%s/missing.bin", dir);
    b.len = 0;
    ok(es_file_read(bad, &b) == ES_ERR_NOT_FOUND, "read of a missing file: ES_ERR_NOT_FOUND");
    ok(es_file_write(dir, "x", 1) == ES_ERR_IO, "write over a directory: ES_ERR_IO");
    ok(count_entries(dir) == 1, "failed writes leave nothing behind (%d entries)",
       count_entries(dir));
    es_buf_cleanup(&b);

    unlink(path);
    rmdir(dir);
}

static void test_err(void)
{
    ok(strcmp(es_err_name(ES_OK), "ok") == 0, "ES_OK is named ok");
    ok(strcmp(es_err_name(ES_ERR_LIMIT), "too_large") == 0, "ES_ERR_LIMIT is named too_large");
    /* The one table: every row a distinct code and name, both texts, a real HTTP status, and
     * es_err_from_name its inverse. */
    es_err a, b;
    int rows = 0, distinct = 1, texts = 1, inverse = 1;
    for (size_t i = 0; es_err_at(i, &a); i++, rows++) {
        for (size_t j = 0; j < i && es_err_at(j, &b); j++)
            if (a == b || strcmp(es_err_name(a), es_err_name(b)) == 0) distinct = 0;
        if (!es_err_str(a)[0] || !es_err_str_zh(a)[0] ||
            strcmp(es_err_str(a), "unknown error") == 0 || es_err_http_status(a) < 200 ||
            es_err_http_status(a) > 599)
            texts = 0;
        if (es_err_from_name(es_err_name(a)) != a) inverse = 0;
    }
    ok(rows > 40 && distinct, "the error table: %d rows, codes and names distinct", rows);
    ok(texts, "every row has English, Chinese and an HTTP status");
    ok(inverse, "es_err_from_name is es_err_name's inverse");
    ok(es_err_from_name("no_such_name") == ES_ERR_INTERNAL &&
           es_err_from_name(NULL) == ES_ERR_INTERNAL,
       "an unknown name is ES_ERR_INTERNAL");
    ok(es_err_http_status(ES_ERR_PASSWORD) == 400 && es_err_http_status(ES_ERR_PIN) != 400 &&
           ES_ERR_PASSWORD != ES_ERR_PIN && ES_ERR_REVOKED != ES_ERR_EXISTS,
       "a wrong password is not a PIN; revoked is not exists");
    ok(es_err_str((es_err)9999) != NULL && es_err_name((es_err)9999) != NULL,
       "unknown codes still have a text");
    ok(es_quirk_name(ES_QUIRK_RAW_SIGNATURE) &&
           strcmp(es_quirk_name(ES_QUIRK_RAW_SIGNATURE), "raw_signature") == 0,
       "quirk names are stable");
    int named = 1;
    for (int q = 0; q < ES_QUIRK_COUNT; q++)
        if (!es_quirk_name(q) || !es_quirk_text(q)) named = 0;
    ok(named, "every quirk has a name and a text");
    ok(es_quirk_name(ES_QUIRK_COUNT) == NULL && es_quirk_name(-1) == NULL,
       "unknown quirk bits have no name");
}

int main(void)
{
    test_slice();
    test_buf_growth();
    test_buf_secret_growth();
    test_utf8();
    test_buf_limit();
    test_buf_printf_steal();
    test_hex();
    test_base64();
    test_time_fields();
    test_time_iso();
    test_time_format();
    test_file();
    test_err();
    return t_done();
}
