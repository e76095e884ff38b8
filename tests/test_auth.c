/* Roles, separation of duties, permissions and passwords. */
#include "test.h"

#include "eseal/auth.h"

static void test_roles(void)
{
    es_role r;
    for (int i = 0; i < ES_ROLE_COUNT; i++)
        ok(es_role_parse(es_role_name((es_role)i), &r) == ES_OK && (int)r == i, "role %d", i);
    ok(es_role_parse("root", &r) == ES_ERR_ARG && es_role_parse(NULL, &r) == ES_ERR_ARG,
       "unknown roles refused");
    ok(es_role_name(ES_ROLE_COUNT) == NULL, "no name past the table");

    const char *why = NULL;
    es_roles audit = ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN), sys = ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN);
    ok(es_roles_check(0, NULL) == ES_OK, "no roles is allowed");
    ok(es_roles_check(audit, NULL) == ES_OK && es_roles_check(sys, NULL) == ES_OK,
       "single roles allowed");
    for (int b = ES_ROLE_BUSINESS_ADMIN; b < ES_ROLE_COUNT; b++) {
        if (b == ES_ROLE_AUDIT_ADMIN) continue;
        es_roles biz = ES_ROLE_BIT(b);
        ok(es_roles_check(biz | audit, &why) == ES_ERR_ARG && why && strstr(why, "audit"),
           "%s + audit_admin refused", es_role_name((es_role)b));
        ok(es_roles_check(biz | sys, &why) == ES_ERR_ARG && why, "%s + system_admin refused",
           es_role_name((es_role)b));
    }
    ok(es_roles_check(audit | sys, NULL) == ES_ERR_ARG, "audit + system refused");
    ok(es_roles_check(ES_ROLE_BIT(ES_ROLE_SEAL_ISSUER) | ES_ROLE_BIT(ES_ROLE_OPERATOR), NULL) ==
           ES_OK,
       "two business roles allowed");
    ok(es_roles_check((es_roles)1 << 30, NULL) == ES_ERR_ARG, "an unknown bit refused");

    /* Least privilege, spot checks in both directions. */
    ok(es_roles_allow(sys, ES_PERM_ACCOUNTS) && !es_roles_allow(sys, ES_PERM_AUDIT) &&
           !es_roles_allow(sys, ES_PERM_SEAL_MAKE) && !es_roles_allow(sys, ES_PERM_SIGN),
       "system admin: accounts only");
    ok(es_roles_allow(audit, ES_PERM_AUDIT) && !es_roles_allow(audit, ES_PERM_ACCOUNTS) &&
           !es_roles_allow(audit, ES_PERM_SETTINGS),
       "audit admin: audit only");
    ok(!es_roles_allow(ES_ROLE_BIT(ES_ROLE_SEAL_ISSUER), ES_PERM_SEAL_REVIEW) &&
           es_roles_allow(ES_ROLE_BIT(ES_ROLE_REVIEWER), ES_PERM_SEAL_REVIEW),
       "the issuer does not review");
    ok(!es_roles_allow(ES_ROLE_BIT(ES_ROLE_OPERATOR), ES_PERM_SIGN_APPROVE) &&
           es_roles_allow(ES_ROLE_BIT(ES_ROLE_APPROVER), ES_PERM_SIGN_APPROVE),
       "who requests does not approve");
    int nobody_audits = 1;
    for (int i = 0; i < ES_ROLE_COUNT; i++)
        if (i != ES_ROLE_AUDIT_ADMIN && es_roles_allow(ES_ROLE_BIT(i), ES_PERM_AUDIT))
            nobody_audits = 0;
    ok(nobody_audits, "only the audit administrator reads the audit trail");
    for (int p = 0; p < ES_PERM_COUNT; p++) {
        int granted = 0;
        for (int i = 0; i < ES_ROLE_COUNT; i++) granted |= es_roles_allow(ES_ROLE_BIT(i), p);
        ok(granted && es_perm_name((es_perm)p), "permission %s is granted to some role",
           es_perm_name((es_perm)p));
    }
    ok(!es_roles_allow(0, ES_PERM_VERIFY), "no roles, no permission");

    /* Who manages whose account (hardening 13, item 4): every role against every role. */
    int right = 0, n = 0;
    for (int a = 0; a < ES_ROLE_COUNT; a++)
        for (int t = 0; t < ES_ROLE_COUNT; t++) {
            int want = a == ES_ROLE_SYSTEM_ADMIN  ? t != ES_ROLE_AUDIT_ADMIN
                       : a == ES_ROLE_AUDIT_ADMIN ? t == ES_ROLE_AUDIT_ADMIN
                                                  : 0;
            n++;
            right += es_roles_may_manage(ES_ROLE_BIT(a), ES_ROLE_BIT(t)) == want;
        }
    ok(right == n, "es_roles_may_manage: %d of %d role pairs as the rule says", right, n);
    ok(!es_roles_may_manage(sys, audit | ES_ROLE_BIT(ES_ROLE_OPERATOR)) &&
           !es_roles_may_manage(audit, audit | ES_ROLE_BIT(ES_ROLE_OPERATOR)) &&
           !es_roles_may_manage(sys, 0) && !es_roles_may_manage(0, ES_ROLE_BIT(ES_ROLE_OPERATOR)),
       "es_roles_may_manage: a mixed or empty target, or no actor role: nobody");
    for (int i = 0; i < ES_ROLE_COUNT; i++)
        ok(es_roles_allow(ES_ROLE_BIT(i), ES_PERM_AUDIT_ACCOUNTS) == (i == ES_ROLE_AUDIT_ADMIN) &&
               es_roles_allow(ES_ROLE_BIT(i), ES_PERM_ACCOUNTS) == (i == ES_ROLE_SYSTEM_ADMIN),
           "%s: audit_accounts only for the audit administrator, accounts only for the system "
           "administrator",
           es_role_name((es_role)i));
}

static void test_passwords(void)
{
    char h[ES_PASSWORD_HASH_MAX], h2[ES_PASSWORD_HASH_MAX], gen[32];
    const char *why = NULL;
    ok(es_password_hash("Correct-Horse-9", h) == ES_OK && strncmp(h, "$argon2id$", 10) == 0,
       "argon2id PHC string: %s", h);
    ok(strstr(h, "m=65536,t=3,p=1") != NULL, "64 MiB, 3 passes, 1 lane");
    ok(es_password_verify(h, "Correct-Horse-9") == ES_OK, "right password");
    ok(es_password_verify(h, "Correct-Horse-8") == ES_ERR_PASSWORD, "wrong password");
    ok(es_password_verify(h, "") == ES_ERR_PASSWORD, "empty password");
    ok(es_password_hash("Correct-Horse-9", h2) == ES_OK && strcmp(h, h2) != 0,
       "a fresh salt each time");
    uint64_t r0, d0, r1, d1;
    es_password_verifications(&r0, &d0);
    es_password_verify_dummy("Correct-Horse-9");
    es_password_verify_dummy(NULL);
    ok(es_password_verify(h, "Correct-Horse-9") == ES_OK, "right password again");
    es_password_verifications(&r1, &d1);
    ok(r1 - r0 == 1 && d1 - d0 == 2, "verifications counted: 1 real, 2 against the dummy hash");
    ok(es_password_verify("plain text", "x") == ES_ERR_FORMAT, "not a hash");
    ok(es_password_verify("$argon2id$v=19$m=65536,t=3,p=1$broken", "x") == ES_ERR_FORMAT,
       "a broken hash");

    ok(es_password_policy("Short1!", NULL, &why) == ES_ERR_ARG && why, "too short");
    ok(es_password_policy("alllowercaseletters", NULL, &why) == ES_ERR_ARG, "one class");
    ok(es_password_policy("lowerandUPPERonly", NULL, &why) == ES_ERR_ARG, "two classes");
    ok(es_password_policy("lower UPPER 2026", NULL, NULL) == ES_OK, "three classes");
    ok(es_password_policy("Alice-2026-Spring", "alice", &why) == ES_ERR_ARG && why &&
           strstr(why, "account name"),
       "the account name with a suffix, another case: refused (hardening 15)");
    ok(es_password_policy("2026!ALICEisback", "alice", &why) == ES_ERR_ARG,
       "the account name inside: refused");
    ok(es_password_policy("Alic-2026-Spring", "alice", NULL) == ES_OK, "a part of it is fine");
    ok(es_password_policy("Admin-2026-xyz", "Admin-2026-xyz", &why) == ES_ERR_ARG,
       "the account name");
    char longpw[200];
    memset(longpw, 'a', sizeof longpw - 1);
    longpw[sizeof longpw - 1] = 0;
    longpw[0] = 'A';
    longpw[1] = '1';
    ok(es_password_policy(longpw, NULL, &why) == ES_ERR_ARG, "too long");
    for (int i = 0; i < 50; i++) {
        ok(es_password_generate(gen) == ES_OK && strlen(gen) == 24 &&
               es_password_policy(gen, "admin", NULL) == ES_OK,
           "generated password %d satisfies the policy: %s", i, gen);
    }
}

int main(void)
{
    test_roles();
    test_passwords();
    return t_done();
}
