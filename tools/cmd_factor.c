/* eseal factor otp | sign: the second factor of staff accounts (docs/accounts.md, "Second
 * factor"): compute a GM/T 0021 dynamic password from a seed, and sign a sign-in challenge with
 * the person's key (a USBKey over SKF, or any key reference). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "eseal/otp.h"

static const char help[] =
    "usage: eseal factor <otp|sign> [options]\n"
    "\n"
    "The second factor of esealsd's staff accounts (docs/accounts.md, \"Second factor\").\n"
    "\n"
    "  otp    the GM/T 0021 dynamic password of a seed (testing a token, recovery)\n"
    "  sign   sign a sign-in challenge with your key (USBKey: --key skf:...)\n"
    "\n"
    "Run 'eseal factor <subcommand> --help' for options and examples.\n";

static const char otp_help[] =
    "usage: eseal factor otp (--seed HEX | --seed-file FILE) [--alg sm3|sm4] [--time UNIX]\n"
    "                        [--step SECONDS] [--digits N] [--counter C] [--challenge Q]\n"
    "\n"
    "Prints the dynamic password of GM/T 0021: ID = T || C || Q (T = time / step, 8 bytes\n"
    "big-endian; C, 4 bytes, only with --counter; Q, ASCII, only with --challenge), zero-padded\n"
    "to 16 bytes; S = SM3(seed || ID) or SM4 with the seed as key; the 32-bit words of S added\n"
    "mod 2^32, mod 10^N. Defaults: --alg sm3, the current time, --step 60, --digits 6 (what\n"
    "esealsd's [factors] section sets by default). The seed is the hex esealsd showed at\n"
    "enrolment; --seed-file reads it (hex) from a file, keeping it off the command line.\n"
    "\n"
    "example:\n"
    "  eseal factor otp --seed-file my.seed\n"
    "  eseal factor otp --seed 00112233445566778899aabbccddeeff --alg sm4 --time 1700000000\n";

static const char sign_help[] =
    "usage: eseal factor sign --key REF (--challenge TEXT | --in FILE) [-o SIG]\n"
    "\n"
    "Signs a sign-in challenge (the \"challenge\" text of POST /api/v1/sessions/challenge, as\n"
    "is) with SM2 and the default signer ID, and prints the signature as base64 DER: the\n"
    "\"signature\" of POST /api/v1/sessions (with \"challenge\": the nonce) or of an SM2 key's\n"
    "enrolment. REF is a key reference: a USBKey through its vendor library\n"
    "(skf:LIB#DEVICE/APPLICATION/CONTAINER), or soft:/sdf:; the PIN comes from ESEAL_PIN or a\n"
    "prompt.\n"
    "\n"
    "example:\n"
    "  curl -s -d '{\"username\":\"alice\"}' http://127.0.0.1:8440/api/v1/sessions/challenge \\\n"
    "      | jq -r .challenge > challenge.txt\n"
    "  eseal factor sign --key skf:libvendor.so#/STAFF/ALICE --in challenge.txt\n";

static int factor_otp(int argc, char **argv)
{
    const char *seed_hex = NULL, *seed_file = NULL, *alg_name = "sm3", *q = NULL;
    long t_arg = -1, step = 60, digits = 6, counter = -1;
    es_buf seed, text;
    es_otp_alg alg;
    char code[ES_OTP_DIGITS_MAX + 1];
    int rc = EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(otp_help, stdout);
            return 0;
        }
        if (!v) {
            fputs(otp_help, stderr);
            return cli_error("unknown option or missing value '%s'", a);
        }
        i++;
        if (strcmp(a, "--seed") == 0)
            seed_hex = v;
        else if (strcmp(a, "--seed-file") == 0)
            seed_file = v;
        else if (strcmp(a, "--alg") == 0)
            alg_name = v;
        else if (strcmp(a, "--challenge") == 0)
            q = v;
        else if (strcmp(a, "--time") == 0) {
            if (cli_long(a, v, &t_arg)) return EXIT_USAGE;
        } else if (strcmp(a, "--step") == 0) {
            if (cli_long(a, v, &step)) return EXIT_USAGE;
        } else if (strcmp(a, "--digits") == 0) {
            if (cli_long(a, v, &digits)) return EXIT_USAGE;
        } else if (strcmp(a, "--counter") == 0) {
            if (cli_long(a, v, &counter)) return EXIT_USAGE;
        } else {
            fputs(otp_help, stderr);
            return cli_error("unknown option '%s'", a);
        }
    }
    if (!seed_hex == !seed_file) {
        fputs(otp_help, stderr);
        return cli_error("give --seed or --seed-file");
    }
    if (es_otp_alg_parse(alg_name, &alg) != ES_OK) return cli_error("--alg is sm3 or sm4");
    if (step < 1 || step > 3600) return cli_error("--step is 1 to 3600 seconds");
    if (digits < ES_OTP_DIGITS_MIN || digits > ES_OTP_DIGITS_MAX)
        return cli_error("--digits is %d to %d", ES_OTP_DIGITS_MIN, ES_OTP_DIGITS_MAX);
    if (counter > 0xffffffffL) return cli_error("--counter is at most 4294967295");
    es_buf_init(&seed, ES_OTP_SEED_MAX);
    es_buf_init(&text, 1024);
    if (seed_file) {
        if (cli_read(seed_file, 1024, &text)) goto out;
        while (text.len && (text.p[text.len - 1] == '\n' || text.p[text.len - 1] == '\r' ||
                            text.p[text.len - 1] == ' '))
            text.len--;
        seed_hex = (const char *)text.p;
    }
    if (es_hex_decode(seed_hex, seed_file ? text.len : strlen(seed_hex), &seed) != ES_OK) {
        cli_error("the seed is not hex of %d to %d bytes", ES_OTP_SEED_MIN, ES_OTP_SEED_MAX);
        goto out;
    }
    es_time now = t_arg >= 0 ? (es_time)t_arg : es_time_now();
    es_otp_id id = {es_otp_time_factor(now, (unsigned)step), counter >= 0, (uint32_t)counter, q};
    es_err rv = es_otp_compute(alg, seed.p, seed.len, &id, (unsigned)digits, code);
    if (rv != ES_OK) {
        cli_error("cannot compute: %s (an SM3 seed is %d to %d bytes, an SM4 seed 16; a "
                  "challenge 4 to %d ASCII characters)",
                  es_err_str(rv), ES_OTP_SEED_MIN, ES_OTP_SEED_MAX, ES_OTP_Q_MAX);
        goto out;
    }
    printf("%s\n", code);
    rc = 0;
out:
    es_wipe(code, sizeof code);
    es_buf_cleanup_secret(&seed);
    es_buf_cleanup_secret(&text);
    return rc;
}

static int factor_sign(int argc, char **argv)
{
    const char *key = NULL, *challenge = NULL, *in = NULL, *out = NULL;
    es_buf text, sig, b64;
    es_signer *s = NULL;
    int rc = EXIT_USAGE;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            fputs(sign_help, stdout);
            return 0;
        }
        if (!v) {
            fputs(sign_help, stderr);
            return cli_error("unknown option or missing value '%s'", a);
        }
        i++;
        if (strcmp(a, "--key") == 0)
            key = v;
        else if (strcmp(a, "--challenge") == 0)
            challenge = v;
        else if (strcmp(a, "--in") == 0)
            in = v;
        else if (strcmp(a, "-o") == 0)
            out = v;
        else {
            fputs(sign_help, stderr);
            return cli_error("unknown option '%s'", a);
        }
    }
    if (!key || !challenge == !in) {
        fputs(sign_help, stderr);
        return cli_error("give --key and one of --challenge or --in");
    }
    es_buf_init(&text, ES_FACTOR_CHALLENGE_MAX);
    es_buf_init(&sig, 256);
    es_buf_init(&b64, 512);
    if (in) {
        if (cli_read(in, ES_FACTOR_CHALLENGE_MAX, &text)) goto out;
        /* A trailing line break (jq -r, echo) is not part of the challenge. */
        while (text.len && (text.p[text.len - 1] == '\n' || text.p[text.len - 1] == '\r'))
            text.len--;
    } else if (es_buf_append(&text, challenge, strlen(challenge)) != ES_OK) {
        cli_error("the challenge is longer than %d bytes", ES_FACTOR_CHALLENGE_MAX);
        goto out;
    }
    if (text.len < 13 || memcmp(text.p, "eseal-signin\n", 13) != 0) {
        /* Never sign something else than a sign-in challenge with a person's key. */
        cli_error("not an esealsd sign-in challenge (it starts with \"eseal-signin\")");
        goto out;
    }
    if (cli_load_signer(key, &s)) goto out;
    es_err rv = es_signer_sign_message(s, ES_SM2_DEFAULT_ID, text.p, text.len, &sig);
    if (rv == ES_OK) rv = es_base64_encode(sig.p, sig.len, &b64);
    if (rv == ES_OK) rv = es_buf_append(&b64, "\n", 1);
    if (rv != ES_OK) {
        cli_error("cannot sign: %s", es_err_str(rv));
        goto out;
    }
    rc = cli_emit(out, b64.p, b64.len);
out:
    es_signer_free(s);
    es_buf_cleanup(&text);
    es_buf_cleanup(&sig);
    es_buf_cleanup(&b64);
    return rc;
}

int cmd_factor(int argc, char **argv)
{
    static const cli_cmd subs[] = {
        {"otp", factor_otp, "a dynamic password of a seed"},
        {"sign", factor_sign, "sign a sign-in challenge"},
    };
    return cli_dispatch(argc, argv, "factor", help, subs, sizeof subs / sizeof subs[0]);
}
