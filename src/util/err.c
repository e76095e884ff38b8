/* Error and quirk names. */
#include <stddef.h>

#include "eseal/err.h"
#include "eseal/quirk.h"

static const struct {
    es_err code;
    const char *name;
    const char *text;
} errs[] = {
    {ES_OK, "ok", "success"},
    {ES_ERR_ARG, "argument", "invalid argument"},
    {ES_ERR_NOMEM, "memory", "out of memory"},
    {ES_ERR_LIMIT, "limit", "size limit exceeded"},
    {ES_ERR_IO, "io", "input/output error"},
    {ES_ERR_NOT_FOUND, "not_found", "not found"},
    {ES_ERR_UNSUPPORTED, "unsupported", "not supported"},
    {ES_ERR_BUFFER, "buffer", "buffer too small"},
    {ES_ERR_DER, "der", "malformed DER/BER encoding"},
    {ES_ERR_DER_DEPTH, "der_depth", "DER nesting too deep"},
    {ES_ERR_DER_TAG, "der_tag", "unexpected element in DER structure"},
    {ES_ERR_DER_TRAILING, "der_trailing", "unexpected bytes after DER structure"},
    {ES_ERR_FORMAT, "format", "not the expected structure"},
    {ES_ERR_TIME, "time", "invalid time value"},
    {ES_ERR_BASE64, "base64", "invalid base64"},
    {ES_ERR_HEX, "hex", "invalid hex"},
    {ES_ERR_PEM, "pem", "invalid PEM"},
    {ES_ERR_CRYPTO, "crypto", "cryptographic library failure"},
    {ES_ERR_KEY, "key", "unreadable or non-SM2 key"},
    {ES_ERR_CERT, "cert", "unreadable certificate"},
    {ES_ERR_SIG_FORMAT, "sig_format", "signature value is neither DER nor raw r||s"},
    {ES_ERR_VERIFY, "verify", "signature does not verify"},
    {ES_ERR_KEY_MISMATCH, "key_mismatch", "private key does not match the certificate"},
    {ES_ERR_SIGNER, "signer", "signing device failure"},
    {ES_ERR_PIN, "pin", "wrong PIN or passphrase"},
    {ES_ERR_PIN_LOCKED, "pin_locked", "PIN locked"},
    {ES_ERR_DEVICE, "device", "key device failure"},
    {ES_ERR_LOAD, "load", "device library cannot be loaded"},
    {ES_ERR_SYMBOL, "symbol", "device library lacks a required function"},
    {ES_ERR_KEYREF, "keyref", "invalid key reference"},
    {ES_ERR_NO_KEY, "no_key", "no such key"},
    {ES_ERR_EXISTS, "exists", "already exists"},
    {ES_ERR_LOGIN, "login", "login required"},
    {ES_ERR_AUTH, "unauthorized", "authentication failed"},
    {ES_ERR_DENIED, "forbidden", "not allowed for this account's roles"},
    {ES_ERR_LOCKED, "locked", "account locked or disabled"},
    {ES_ERR_LINT, "lint", "refused by the certificate checks"},
    {ES_ERR_CONFIG, "config", "unusable configuration"},
};

const char *es_err_str(es_err rv)
{
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
        if (errs[i].code == rv) return errs[i].text;
    return "unknown error";
}

const char *es_err_name(es_err rv)
{
    for (size_t i = 0; i < sizeof errs / sizeof errs[0]; i++)
        if (errs[i].code == rv) return errs[i].name;
    return "unknown";
}

static const struct {
    const char *name;
    const char *text;
} quirks[ES_QUIRK_COUNT] = {
    [ES_QUIRK_BER_INDEFINITE] = {"ber_indefinite", "BER indefinite-length encoding"},
    [ES_QUIRK_NONMINIMAL_LENGTH] = {"nonminimal_length", "length octets not in minimal form"},
    [ES_QUIRK_TRAILING_BYTES] = {"trailing_bytes", "bytes after the end of the structure"},
    [ES_QUIRK_EXPLICIT_DEFAULT] = {"explicit_default",
                                   "ExtData.critical FALSE encoded although it is the DEFAULT"},
    [ES_QUIRK_RAW_SIGNATURE] = {"raw_signature",
                                "signature value is raw 64-byte r||s, not DER SEQUENCE{r,s}"},
    [ES_QUIRK_INT_NO_SIGN_OCTET] = {"integer_no_sign_octet",
                                    "r or s INTEGER lacks its 0x00 sign octet (negative in "
                                    "strict DER); read as unsigned"},
    [ES_QUIRK_INT_PADDED] = {"integer_padded", "r or s INTEGER has superfluous leading zeros"},
    [ES_QUIRK_UNUSED_BITS] = {"unused_bits", "BIT STRING unused-bits octet is not zero"},
    [ES_QUIRK_TIME_NO_Z] = {"time_no_z", "GeneralizedTime without Z (read as UTC)"},
    [ES_QUIRK_TIME_2DIGIT_YEAR] = {"time_2digit_year", "GeneralizedTime with a 2-digit year"},
    [ES_QUIRK_TIME_FRACTION] = {"time_fraction", "time with fractional seconds"},
    [ES_QUIRK_UTCTIME] = {"utctime", "UTCTime where the layout requires GeneralizedTime"},
    [ES_QUIRK_VERSION_LAYOUT] = {"version_layout",
                                 "header version disagrees with the layout (decided by structure)"},
    [ES_QUIRK_NAME_NUL_PADDING] = {"name_nul_padding", "seal name padded with NUL characters"},
    [ES_QUIRK_CERT_LIST_TYPE] = {"cert_list_type",
                                 "certListType is neither 1 (certificates) nor 2 (digests)"},
    [ES_QUIRK_PICTURE_TYPE] = {"picture_type", "picture type names another format than its data"},
    [ES_QUIRK_TIMEINFO_TEXT] = {"timeinfo_text", "timeInfo BIT STRING holds text"},
    [ES_QUIRK_OCTET_FOR_BIT] = {"octet_for_bit", "OCTET STRING where a BIT STRING is required"},
    [ES_QUIRK_CERT_NOT_OCTET] = {"cert_not_octet",
                                 "certList entry is not an OCTET STRING certificate"},
    [ES_QUIRK_NO_SIGNATURE] = {"no_signature", "the structure holds no signature value"},
    [ES_QUIRK_EXT_UNTAGGED] = {"ext_untagged", "extDatas without the tag the layout expects"},
    [ES_QUIRK_EXT_TAGGED] = {"ext_tagged", "extDatas wrapped in a tag the layout does not have"},
    [ES_QUIRK_SEAL_TIMESTAMP] = {"seal_timestamp",
                                 "seal carries a [0] timestamp (GM/T 0031-2025 v5); not verified"},
    [ES_QUIRK_PROPERTY_NOT_PATH] = {"property_not_path",
                                    "propertyInfo is not a path (JSON, GUID or other)"},
    [ES_QUIRK_STRING_TYPE] = {"string_type", "string with another ASN.1 type than required"},
    [ES_QUIRK_DER_BOOLEAN] = {"der_boolean", "BOOLEAN TRUE encoded other than 0xFF"},
    [ES_QUIRK_OFD_PATH_SLASHES] = {"ofd_path_slashes",
                                   "OFD path with doubled slashes or backslashes (normalised)"},
    [ES_QUIRK_OFD_PATH_ROOT] = {"ofd_path_root",
                                "relative OFD path that resolves only against the package root"},
    [ES_QUIRK_OFD_PATH_CASE] = {"ofd_path_case",
                                "OFD path names a file only when letter case is ignored"},
    [ES_QUIRK_OFD_CHECK_METHOD] = {"ofd_check_method",
                                   "CheckMethod is not the SM3 OID 1.2.156.10197.1.401 (read as "
                                   "SM3)"},
    [ES_QUIRK_OFD_NAMESPACE] = {"ofd_namespace",
                                "OFD elements outside the namespace http://www.ofdspec.org/2016"},
    [ES_QUIRK_OFD_ELEMENT_ORDER] = {"ofd_element_order",
                                    "Signature.xml elements in another order than the XSD's"},
    [ES_QUIRK_OFD_PROVIDER_CHILD] = {"ofd_provider_elements",
                                     "Provider with child elements instead of attributes"},
    [ES_QUIRK_OFD_COVERS_LIST] = {"ofd_covers_list",
                                  "the signature covers the signature list, which every later "
                                  "signature changes"},
    [ES_QUIRK_OFD_SEAL_FILE] = {"ofd_seal_file",
                                "Seal.esl differs from the seal inside the signature (the "
                                "signature's seal is the one verified)"},
};

const char *es_quirk_name(int bit)
{
    return bit >= 0 && bit < ES_QUIRK_COUNT ? quirks[bit].name : NULL;
}

const char *es_quirk_text(int bit)
{
    return bit >= 0 && bit < ES_QUIRK_COUNT ? quirks[bit].text : NULL;
}
