/* Error and quirk names. */
#include <stddef.h>
#include <string.h>

#include "eseal/err.h"
#include "eseal/quirk.h"

/* The one error table (include/eseal/err.h): code, name, HTTP status, English, Chinese.
 * docs/errors.md is generated from the same rows by `eseal errors --markdown`; keep the names
 * stable (clients match on them). */
static const struct {
    es_err code;
    const char *name;
    unsigned status;
    const char *text;
    const char *zh;
} errs[] = {
    {ES_OK, "ok", 200, "success", "成功"},
    {ES_ERR_ARG, "invalid_argument", 400, "invalid argument", "参数无效"},
    {ES_ERR_NOMEM, "memory", 503, "out of memory", "内存不足"},
    {ES_ERR_LIMIT, "too_large", 413, "size limit exceeded", "超出大小限制"},
    {ES_ERR_IO, "io", 503, "input/output error", "读写错误"},
    {ES_ERR_NOT_FOUND, "not_found", 404, "not found", "未找到"},
    {ES_ERR_UNSUPPORTED, "unsupported", 400, "not supported", "不支持"},
    {ES_ERR_BUFFER, "buffer", 500, "buffer too small", "缓冲区不足"},
    {ES_ERR_INTERNAL, "internal", 500, "internal error", "内部错误"},
    {ES_ERR_BUSY, "busy", 503, "busy: try again in a moment", "系统繁忙，请稍后重试"},
    {ES_ERR_UNAVAILABLE, "unavailable", 503, "service unavailable", "服务暂不可用"},
    {ES_ERR_DER, "der", 400, "malformed DER/BER encoding", "DER/BER 编码格式错误"},
    {ES_ERR_DER_DEPTH, "der_depth", 400, "DER nesting too deep", "DER 嵌套层数过深"},
    {ES_ERR_DER_TAG, "der_tag", 400, "unexpected element in DER structure",
     "DER 结构中出现意外元素"},
    {ES_ERR_DER_TRAILING, "der_trailing", 400, "unexpected bytes after DER structure",
     "DER 结构之后有多余数据"},
    {ES_ERR_FORMAT, "format", 400, "not the expected structure", "数据结构不符合要求"},
    {ES_ERR_TIME, "time", 400, "invalid time value", "时间值无效"},
    {ES_ERR_BASE64, "base64", 400, "invalid base64", "Base64 编码无效"},
    {ES_ERR_HEX, "hex", 400, "invalid hex", "十六进制编码无效"},
    {ES_ERR_PEM, "pem", 400, "invalid PEM", "PEM 格式无效"},
    {ES_ERR_CRYPTO, "crypto", 500, "cryptographic library failure", "密码运算失败"},
    {ES_ERR_KEY, "key", 400, "unreadable or non-SM2 key", "密钥无法读取或不是 SM2 密钥"},
    {ES_ERR_CERT, "cert", 400, "unreadable certificate", "证书无法读取"},
    {ES_ERR_SIG_FORMAT, "sig_format", 400, "signature value is neither DER nor raw r||s",
     "签名值既不是 DER 也不是 r||s 格式"},
    {ES_ERR_VERIFY, "verify", 422, "signature does not verify", "签名验证不通过"},
    {ES_ERR_KEY_MISMATCH, "key_mismatch", 422, "private key does not match the certificate",
     "私钥与证书不匹配"},
    {ES_ERR_SIGNER, "signer", 503, "signing device failure", "签名设备故障"},
    {ES_ERR_PIN, "pin", 403, "wrong PIN or passphrase", "口令（PIN）错误"},
    {ES_ERR_PIN_LOCKED, "pin_locked", 423, "PIN locked", "口令（PIN）已锁定"},
    {ES_ERR_DEVICE, "device", 503, "key device failure", "密码设备故障"},
    {ES_ERR_LOAD, "load", 503, "device library cannot be loaded", "无法加载密码设备库"},
    {ES_ERR_SYMBOL, "symbol", 503, "device library lacks a required function",
     "密码设备库缺少所需接口"},
    {ES_ERR_KEYREF, "keyref", 400, "invalid key reference", "密钥引用格式无效"},
    {ES_ERR_NO_KEY, "no_key", 404, "no such key", "密钥不存在"},
    {ES_ERR_EXISTS, "conflict", 409, "already exists", "已存在"},
    {ES_ERR_LOGIN, "login_required", 500, "login required", "需要先登录"},
    {ES_ERR_LINT, "lint", 422, "refused by the certificate checks", "未通过证书检查"},
    {ES_ERR_CONFIG, "config", 500, "unusable configuration", "配置无法使用"},
    {ES_ERR_REVOKED, "revoked", 409, "already revoked", "已被吊销"},
    {ES_ERR_AUTH, "unauthorized", 401, "authentication failed", "身份认证失败"},
    {ES_ERR_DENIED, "forbidden", 403, "not allowed for this account's roles",
     "当前角色无权执行此操作"},
    {ES_ERR_LOCKED, "locked", 423, "account locked or disabled", "账户已锁定或停用"},
    {ES_ERR_PASSWORD, "wrong_password", 400, "wrong password", "密码错误"},
    {ES_ERR_RATE, "too_many_requests", 429, "too many attempts: wait and try again",
     "尝试次数过多，请稍后再试"},
    {ES_ERR_MUST_CHANGE, "password_change_required", 403, "change the one-time password first",
     "请先修改一次性密码"},
    {ES_ERR_FACTOR_REQUIRED, "factor_enrolment_required", 403,
     "enrol a second factor (dynamic password token or USBKey) first",
     "请先绑定第二认证因素（动态口令令牌或 USBKey）"},
    {ES_ERR_FACTOR_CODE, "wrong_factor_code", 400, "wrong dynamic password", "动态口令错误"},
    {ES_ERR_ORIGIN, "origin_refused", 403,
     "refused: the request does not come from this site's own pages (Origin or Referer)",
     "请求不是来自本系统自己的页面（Origin 或 Referer 不符），已拒绝"},
    {ES_ERR_JSON, "bad_json", 400, "the body is not the JSON expected", "请求内容不是有效的 JSON"},
    {ES_ERR_MEDIA_TYPE, "unsupported_media_type", 415, "unsupported content type",
     "不支持的内容类型"},
    {ES_ERR_METHOD, "method_not_allowed", 405, "method not allowed", "不允许的请求方法"},
    {ES_ERR_WITNESS, "witness_disagrees", 409,
     "the audit checkpoint disagrees with what the witness holds, or is behind it",
     "审计检查点与见证方保存的记录不一致或落后于它"},
    {ES_ERR_MK_STATE, "application_state", 409, "the application's state does not allow this step",
     "申请当前状态不允许此操作"},
    {ES_ERR_MK_DUPLICATE, "application_duplicate", 409,
     "an open application for the same unit and seal name (or the same seal) exists",
     "同一单位同一印章名称（或同一印章）已有未办结的申请"},
    {ES_ERR_MK_FOUR_EYES, "four_eyes", 403,
     "the person who entered an application may not review it", "申请录入人不得审核本人录入的申请"},
    {ES_ERR_MK_MATERIALS, "materials_missing", 422, "a required material is missing",
     "缺少必需的申请材料"},
    {ES_ERR_MK_VERSION, "application_changed", 409,
     "the application was changed by someone else since it was read: reload it",
     "申请已被他人修改，请重新加载"},
    {ES_ERR_MK_INCOMPLETE, "application_incomplete", 422,
     "the application lacks what this step needs", "申请缺少此步骤所需的内容"},
    {ES_ERR_MK_SEAL_STATE, "seal_state", 409, "the seal's state does not allow this change",
     "印章当前状态不允许此变更"},
    {ES_ERR_MK_INTEGRITY, "application_integrity", 409,
     "the stored application fails its integrity check: it was changed outside the system",
     "申请记录完整性校验失败：记录已在系统之外被改动"},
    {ES_ERR_MK_CERT_REVOKED, "seal_cert_revoked", 409,
     "the seal's certificate is revoked, not on hold: the seal cannot be restored (apply for a "
     "replacement)",
     "印章证书已被吊销（并非暂停），不能恢复印章（请申请补发）"},
    {ES_ERR_DECISION_SIGNER, "decision_signer", 422,
     "the decision is not signed by the person it is recorded for",
     "该决定的签名人与记录的操作人不一致"},
    {ES_ERR_SIGNING_KEY_KIND, "signing_key_kind", 409,
     "the signing key is held another way: a USBKey signs the decision itself, a PIN opens a key "
     "held by the site",
     "签名密钥的持有方式不符：USBKey 中的密钥须用 USBKey 签名，签名口令只用于本系统保管的密钥"},
    {ES_ERR_SIGNING_KEY_DAMAGED, "signing_key_damaged", 500,
     "the stored signing key cannot be opened with this site's key device (damaged or moved)",
     "保存的签名密钥无法用本系统的密码设备打开（已损坏或被移动）"},
    {ES_ERR_PROTECT_NO_KEY, "protect_no_key", 503,
     "no data protection key in the store: the keys are made at the daemon's start",
     "存储中没有数据保护密钥（密钥在服务启动时生成）"},
    {ES_ERR_PROTECT_KEK, "protect_wrong_kek", 503,
     "the data keys are wrapped by another key-encryption key than the one configured",
     "数据密钥由另一个密钥加密密钥保护，与所配置的密钥加密密钥不符"},
    {ES_ERR_PROTECT_CHECK, "protect_check_failed", 500,
     "protected data failed its check: a record does not open or its integrity code does not match",
     "受保护数据校验未通过：有记录无法解密或其完整性校验码不符"},
    {ES_ERR_UPSTREAM_REFUSED, "upstream_refused", 502,
     "the parent tier (national platform) refused the request", "上级平台（国家平台）拒绝了该请求"},
    {ES_ERR_UPSTREAM_ANSWER, "upstream_bad_answer", 502,
     "the parent tier's answer is not what the request needs", "上级平台的应答内容不符合要求"},
    {ES_ERR_IDEMPOTENCY, "idempotency_conflict", 409,
     "this request key was used before with another body", "该请求标识已用于内容不同的请求"},
    {ES_ERR_NOT_NATIONAL, "not_national_platform", 404,
     "this system does not answer the national link (only the national platform simulator does)",
     "本系统不提供国家平台接口（仅国家平台模拟器提供）"},
    {ES_ERR_PACKAGE_USED, "package_key_used", 409,
     "the seal key of this package was delivered already and is wiped",
     "该印章密钥已封装交付并已销毁，不能再次使用"},
    {ES_ERR_PACKAGE_RECIPIENT, "package_recipient", 422,
     "the package is addressed to another key device's encryption key",
     "该密钥包是为另一密码设备的加密密钥封装的"},
    {ES_ERR_PACKAGE_EXPIRED, "package_request_expired", 422,
     "the request package is outside its validity", "申请包不在有效期内"},
    {ES_ERR_SEAL_CERT, "seal_certificate_mismatch", 422,
     "the seal does not name the certificate delivered with it", "印章未包含随其交付的证书"},
    {ES_ERR_TOKEN_NO_SEAL, "token_no_seal", 404, "the token holds no seal", "该 USBKey 中没有印章"},
    {ES_ERR_PICTURE_FORMAT, "picture_format", 400, "the image is neither JPEG nor PNG",
     "图像既不是 JPEG 也不是 PNG 格式"},
    {ES_ERR_PICTURE_DECODE, "picture_damaged", 400, "the image is damaged or cannot be decoded",
     "图像已损坏或无法解码"},
    {ES_ERR_PICTURE_SIZE, "picture_too_large", 413, "the image has too many pixels",
     "图像像素数超出限制"},
    {ES_ERR_PICTURE_BOX, "picture_box", 400, "the seal's box is not inside the scan",
     "框选的印章区域不在扫描图像内"},
    {ES_ERR_PICTURE_NO_INK, "picture_no_ink", 422, "no seal ink found in the box",
     "框选区域内未找到印章印迹"},
    {ES_ERR_PICTURE_TEXT, "picture_text", 400, "the seal text is not valid or does not fit",
     "印章文字无效或排列不下"},
    {ES_ERR_PICTURE_FONT, "picture_font", 422, "no installed font has a character of the text",
     "已安装的字体中缺少印章文字的字形"},
    {ES_ERR_MK_IMPORT_BATCH, "import_batch_mismatch", 409,
     "the import batch resumed is another person's or holds other files",
     "续传的导入批次属于他人或文件清单不同"},
    {ES_ERR_RENEWAL_FORMAT, "renewal_format", 400, "the renewal request cannot be read",
     "续期申请格式错误"},
    {ES_ERR_RENEWAL_SIGNATURE, "renewal_signature", 403,
     "the renewal request is not signed by the key of the seal's current certificate",
     "续期申请未使用该印章当前证书的密钥签名"},
    {ES_ERR_RENEWAL_CERT, "renewal_certificate", 409,
     "the certificate named is not the seal's current certificate", "所述证书不是该印章的当前证书"},
    {ES_ERR_RENEWAL_TIME, "renewal_time", 400,
     "the request's time is not within 10 minutes of the server's",
     "申请时间与服务器时间相差超过10分钟"},
    {ES_ERR_RENEWAL_REPLAY, "renewal_replay", 409, "this renewal request was sent before (nonce)",
     "该续期申请已提交过（随机数重复）"},
    {ES_ERR_RENEWAL_WINDOW, "renewal_window", 422,
     "the seal is not within its renewal window before expiry", "印章不在到期前的可续期期间内"},
    {ES_ERR_MK_NO_PICTURE, "seal_picture_unusable", 422,
     "the seal was imported with a picture this system cannot put into a new seal (not a PNG "
     "of 10 to 100 mm): enter the application at the counter with a PNG picture",
     "该印章为导入印章，其印模图片无法用于制作新印章（不是10至100毫米的PNG图片）：请到窗口提交申请"
     "并上传PNG印模图片"},
    {ES_ERR_MK_NO_USCC, "seal_unit_code_missing", 422,
     "the seal was imported without its unit's unified social credit code, which its new "
     "certificate must carry: enter the renewal at the counter with the code",
     "该印章为导入印章，缺少持章单位的统一社会信用代码（新证书须包含）：请到窗口提交续期申请并填写"
     "该代码"},
    {ES_ERR_STATUS_CODE, "status_code", 400,
     "the seal code is malformed (1 to 32 of A-Z a-z 0-9 . _ -)",
     "印章编码格式错误（1至32位字母、数字或 . _ -）"},
    {ES_ERR_STATUS_SERIAL, "status_serial", 400,
     "the certificate serial is malformed (1 to 64 hex digits)",
     "证书序列号格式错误（1至64位十六进制数字）"},
    {ES_ERR_STATUS_TIME, "status_time", 400,
     "the time asked about is malformed (ISO 8601, e.g. 2026-03-01T08:00:00Z)",
     "查询时间格式错误（ISO 8601，例如 2026-03-01T08:00:00Z）"},
    {ES_ERR_STATUS_NONCE, "status_nonce", 400, "the nonce is malformed (16 to 64 hex digits)",
     "随机数格式错误（16至64位十六进制数字）"},
};

#define NERRS (sizeof errs / sizeof errs[0])

static size_t find(es_err rv)
{
    for (size_t i = 0; i < NERRS; i++)
        if (errs[i].code == rv) return i;
    return NERRS;
}

const char *es_err_str(es_err rv)
{
    size_t i = find(rv);
    return i < NERRS ? errs[i].text : "unknown error";
}

const char *es_err_str_zh(es_err rv)
{
    size_t i = find(rv);
    return i < NERRS ? errs[i].zh : "未知错误";
}

const char *es_err_name(es_err rv)
{
    size_t i = find(rv);
    return i < NERRS ? errs[i].name : "unknown";
}

unsigned es_err_http_status(es_err rv)
{
    size_t i = find(rv);
    return i < NERRS ? errs[i].status : 500;
}

es_err es_err_from_name(const char *name)
{
    for (size_t i = 0; name && i < NERRS; i++)
        if (strcmp(errs[i].name, name) == 0) return errs[i].code;
    return ES_ERR_INTERNAL;
}

int es_err_at(size_t i, es_err *rv)
{
    if (i >= NERRS) return 0;
    *rv = errs[i].code;
    return 1;
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
