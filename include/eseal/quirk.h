/* eseal quirks: deviations from the standards that real producers write and that we accept.
 *
 * Every reader records what it tolerated as bits in an es_quirks set, and the verification
 * report lists them by name, so that a user sees what was unusual about a file even when it
 * verifies. Names are stable (they appear in JSON reports and tests).
 */
#ifndef ESEAL_QUIRK_H
#define ESEAL_QUIRK_H

#include <stdint.h>
#include "eseal/err.h"

#ifdef __cplusplus
extern "C" {
#endif

ES_API_BEGIN

typedef uint64_t es_quirks;

enum {
    ES_QUIRK_BER_INDEFINITE = 0, /* BER indefinite-length encoding */
    ES_QUIRK_NONMINIMAL_LENGTH,  /* a length in long form where a shorter one fits */
    ES_QUIRK_TRAILING_BYTES,     /* bytes after the outermost structure */
    ES_QUIRK_EXPLICIT_DEFAULT,   /* ExtData.critical FALSE written although it is the DEFAULT */
    ES_QUIRK_RAW_SIGNATURE,      /* signature value is raw 64-byte r||s, not DER SEQUENCE{r,s} */
    ES_QUIRK_INT_NO_SIGN_OCTET,  /* r or s INTEGER with the high bit set and no 0x00 (negative) */
    ES_QUIRK_INT_PADDED,         /* r or s INTEGER with superfluous leading zero octets */
    ES_QUIRK_UNUSED_BITS,        /* a signature BIT STRING whose unused-bits octet is not 0 */
    ES_QUIRK_TIME_NO_Z,          /* GeneralizedTime without the trailing Z */
    ES_QUIRK_TIME_2DIGIT_YEAR,   /* GeneralizedTime with a 2-digit year (UTCTime form) */
    ES_QUIRK_TIME_FRACTION,      /* GeneralizedTime with fractional seconds */
    ES_QUIRK_UTCTIME,            /* UTCTime where GeneralizedTime is required, or vice versa */
    ES_QUIRK_VERSION_LAYOUT,     /* header version disagrees with the structure's layout */
    ES_QUIRK_NAME_NUL_PADDING,   /* seal name padded with NUL characters */
    ES_QUIRK_CERT_LIST_TYPE,     /* certListType outside 1 (certificates) and 2 (digests) */
    ES_QUIRK_PICTURE_TYPE,       /* picture type names another format than its bytes have */
    ES_QUIRK_TIMEINFO_TEXT,      /* GM/T 0031 timeInfo BIT STRING holding text */
    ES_QUIRK_OCTET_FOR_BIT,      /* OCTET STRING where a BIT STRING is required */
    ES_QUIRK_CERT_NOT_OCTET,     /* an entry of certList that is not an OCTET STRING cert */
    ES_QUIRK_NO_SIGNATURE,       /* the structure holds only the to-be-signed part */
    ES_QUIRK_EXT_UNTAGGED,       /* extDatas without the tag the layout expects */
    ES_QUIRK_EXT_TAGGED,         /* extDatas with a tag where the layout has none */
    ES_QUIRK_SEAL_TIMESTAMP,     /* the seal carries a [0] timestamp after its signature */
    ES_QUIRK_PROPERTY_NOT_PATH,  /* propertyInfo is not a path (JSON, GUID, ...) */
    ES_QUIRK_STRING_TYPE,        /* a string with another universal type than required */
    ES_QUIRK_DER_BOOLEAN,        /* BOOLEAN TRUE encoded other than 0xFF */
    /* OFD packages (GB/T 33190; docs/ofd.md) */
    ES_QUIRK_OFD_PATH_SLASHES,   /* a path with doubled slashes or backslashes */
    ES_QUIRK_OFD_PATH_ROOT,      /* a relative path found only against the package root */
    ES_QUIRK_OFD_PATH_CASE,      /* a path that names a file only when case is ignored */
    ES_QUIRK_OFD_CHECK_METHOD,   /* CheckMethod other than the SM3 OID ("SM3", "sm3", none) */
    ES_QUIRK_OFD_NAMESPACE,      /* elements outside http://www.ofdspec.org/2016 */
    ES_QUIRK_OFD_ELEMENT_ORDER,  /* Signature.xml elements in another order than the XSD's */
    ES_QUIRK_OFD_PROVIDER_CHILD, /* Provider with child elements instead of attributes */
    ES_QUIRK_OFD_COVERS_LIST,    /* the signature covers the signature list */
    ES_QUIRK_OFD_SEAL_FILE,      /* Seal.esl differs from the seal inside the signature */
    ES_QUIRK_COUNT
};

#define ES_QUIRK(bit) ((es_quirks)1 << (bit))

/* Stable machine name ("raw_signature"); NULL for an unknown bit. */
const char *es_quirk_name(int bit);
/* One-line English explanation; NULL for an unknown bit. */
const char *es_quirk_text(int bit);

ES_API_END

#ifdef __cplusplus
}
#endif
#endif
