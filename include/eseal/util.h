/* eseal util, the lowest layer (ARCHITECTURE.md): byte slices, bounded growable buffers,
 * hex/base64, UTF-8, time, and whole-file I/O.
 *
 * es_file_read, es_file_write* and es_file_tmp_* are how files are read and replaced whole;
 * the layers that keep files (keydev's soft store, the CA directory, the store's backups, OFD
 * signing, the site) and the tools use them. der, crypto and seal never touch files: they
 * work on bytes in memory.
 */
#ifndef ESEAL_UTIL_H
#define ESEAL_UTIL_H

#include <stddef.h>
#include <stdint.h>

#include "eseal/err.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

/* A borrowed view into someone else's bytes. p may be NULL only when len is 0. */
typedef struct es_slice {
    const uint8_t *p;
    size_t len;
} es_slice;

#define ES_SLICE_NULL ((es_slice){NULL, 0})

static inline es_slice es_slice_make(const void *p, size_t len)
{
    es_slice s = {(const uint8_t *)p, len};
    return s;
}

/* 1 when both slices hold the same bytes (not constant time: for public data). */
int es_slice_eq(es_slice a, es_slice b);
/* 1 when s holds exactly the NUL-terminated string str. */
int es_slice_eq_str(es_slice s, const char *str);

/* Named limits (bytes). Every buffer that grows from outside input names one of these. */
#define ES_MAX_SEAL_DER  (16u * 1024 * 1024) /* a seal or signature file */
#define ES_MAX_CERT_DER  (64u * 1024)
#define ES_MAX_KEY_FILE  (64u * 1024)
#define ES_MAX_IMAGE     (16u * 1024 * 1024)
#define ES_MAX_DATA_FILE ((size_t)1 << 40)   /* data to be signed is streamed, never held */
#define ES_MAX_REPORT    (64u * 1024 * 1024) /* a rendered report */

/* A growable buffer that refuses to grow past max. Owned memory. */
typedef struct es_buf {
    uint8_t *p;
    size_t len;
    size_t cap;
    size_t max;
} es_buf;

/* Prepares an empty buffer that may grow to max bytes. Allocates nothing. */
void es_buf_init(es_buf *b, size_t max);
/* Frees the memory; the buffer is empty and usable again afterwards. */
void es_buf_cleanup(es_buf *b);
/* Frees the memory after wiping it (for secrets). */
void es_buf_cleanup_secret(es_buf *b);
/* Appends n bytes; ES_ERR_LIMIT past max, ES_ERR_NOMEM when out of memory. */
es_err es_buf_append(es_buf *b, const void *p, size_t n) ES_MUST_CHECK;
es_err es_buf_append_str(es_buf *b, const char *s) ES_MUST_CHECK;
es_err es_buf_append_byte(es_buf *b, uint8_t c) ES_MUST_CHECK;
/* printf-style append. */
es_err es_buf_printf(es_buf *b, const char *fmt, ...) ES_MUST_CHECK
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Makes room for n more bytes (and a NUL) without changing len, so a caller may write up to
 * n bytes at p + len and then add them to len; ES_ERR_LIMIT past max, ES_ERR_NOMEM. Growing
 * never leaves an unwiped copy of the old bytes in freed memory (es_buf_append too). */
es_err es_buf_reserve(es_buf *b, size_t n) ES_MUST_CHECK;
/* Makes sure the buffer holds a NUL after its last byte (not counted in len). */
es_err es_buf_nul(es_buf *b) ES_MUST_CHECK;
/* Detaches the bytes: the caller owns *p (free()); the buffer is empty afterwards. */
uint8_t *es_buf_steal(es_buf *b, size_t *len);

/* Lower-case hex of in into out (2*len+1 bytes, NUL-terminated). */
void es_hex_encode(const uint8_t *in, size_t len, char *out);
/* Appends lower-case hex. */
es_err es_buf_append_hex(es_buf *b, const uint8_t *in, size_t len) ES_MUST_CHECK;
/* Decodes hex (either case, no separators) into b. */
es_err es_hex_decode(const char *in, size_t len, es_buf *b) ES_MUST_CHECK;
/* Appends standard base64 with padding, no line breaks. */
es_err es_base64_encode(const uint8_t *in, size_t len, es_buf *b) ES_MUST_CHECK;
/* Decodes base64; white space is skipped, anything else wrong is ES_ERR_BASE64. */
es_err es_base64_decode(const char *in, size_t len, es_buf *b) ES_MUST_CHECK;

/* --- UTF-8 (RFC 3629): the one decoder, used wherever text is checked --- */
/* The length (1 to 4) of the well-formed UTF-8 character at p[0..n), its code point in *cp
 * (cp may be NULL); 0 when the bytes there are not one: a continuation byte, an overlong form,
 * a surrogate, a value past U+10FFFF, a sequence cut short, or n == 0. */
size_t es_utf8_next(const uint8_t *p, size_t n, uint32_t *cp);
/* 1 when p[0..n) is well-formed UTF-8 holding no NUL; 0 otherwise. */
int es_utf8_valid(const void *p, size_t n);
/* Encodes cp into out; returns its length (1 to 4), or 0 for a surrogate or a value past
 * U+10FFFF, which have no UTF-8 form. */
size_t es_utf8_put(uint32_t cp, uint8_t out[4]);

/* Wipes n bytes in a way the compiler keeps. */
void es_wipe(void *p, size_t n);

/* Time: seconds since 1970-01-01T00:00:00Z, UTC, proleptic Gregorian. */
typedef int64_t es_time;
#define ES_TIME_NONE INT64_MIN

/* Days-from-civil conversion; returns ES_ERR_TIME when a field is out of range. */
es_err es_time_from_fields(int year, int mon, int day, int hour, int min, int sec,
                           es_time *out) ES_MUST_CHECK;
void es_time_to_fields(es_time t, int *year, int *mon, int *day, int *hour, int *min, int *sec);

/* Parses ISO 8601 as the CLI takes it: "2026-01-01" (midnight UTC), "2026-01-01T08:00:00Z",
 * "2026-01-01T08:00:00+08:00", "2026-01-01 08:00:00" (UTC), fractions ignored. */
es_err es_time_parse_iso(const char *s, es_time *out) ES_MUST_CHECK;
/* Formats as "2026-01-01T08:00:00Z" into out (at least 21 bytes). */
void es_time_format_iso(es_time t, char out[32]);
/* Formats as GeneralizedTime "20260101080000Z" into out (16 bytes). */
void es_time_format_gentime(es_time t, char out[16]);
/* Current time. */
es_time es_time_now(void);

/* Reads a whole file into b (limit b->max); "-" reads standard input. */
es_err es_file_read(const char *path, es_buf *b) ES_MUST_CHECK;
/* Writes len bytes to path atomically (temporary file, fsync, rename); "-" is standard output. */
es_err es_file_write(const char *path, const void *p, size_t len) ES_MUST_CHECK;
/* The same with the given permission bits (0600 for secrets), whatever the umask. */
es_err es_file_write_mode(const char *path, const void *p, size_t len, unsigned mode) ES_MUST_CHECK;
/* The one way a file is replaced whole, for writers that stream (a backup, a zip, an export):
 * es_file_tmp_create makes an empty temporary file next to path ("path.tmpXXXXXX", with
 * mode; *tmp is malloc'd, the caller frees it; *fd is open for writing); the caller writes
 * (and may close fd), then es_file_tmp_commit makes the file durable and renames it over path,
 * so readers see the old file or the new one, never a part. When commit fails it removes tmp
 * (errno says why). A caller that gives up removes tmp itself (unlink). ES_ERR_IO,
 * ES_ERR_NOMEM. es_file_write_mode is built on these. */
es_err es_file_tmp_create(const char *path, unsigned mode, char **tmp, int *fd) ES_MUST_CHECK;
es_err es_file_tmp_commit(const char *tmp, const char *path) ES_MUST_CHECK;

/* INI-like files: for each "[section]" line cb is called with key and value NULL, and for
 * each "key = value" line with both (blanks trimmed; keys are letters, digits, '_' and '-').
 * A callback error stops the reading; *why (whylen bytes) then says "line N: ..." with the
 * callback's own message. ES_ERR_CONFIG on any error. */
typedef es_err (*es_ini_cb)(void *ctx, const char *section, const char *key, const char *value,
                            char *why, size_t whylen);
es_err es_ini_parse(es_slice text, es_ini_cb cb, void *ctx, char *why, size_t whylen) ES_MUST_CHECK;

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
