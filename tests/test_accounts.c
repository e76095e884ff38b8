/* Accounts on both backends: bootstrap, one-time passwords, separation of duties, refusals
 * audited, lockout, sessions; the audit trail verifies at the end. */
#include "test.h"

#include "eseal/accounts.h"
#include "eseal/audit.h"
#include "store_test.h"

static es_err count_user(void *ctx, const es_user *u)
{
    (void)u;
    (*(int *)ctx)++;
    return ES_OK;
}

static void suite(const char *kind, const char *url)
{
    es_store *s = st_open_migrated(url);
    es_signer *audit_key = st_signer();
    es_accounts a = {s, audit_key, 30, 3, 15};
    es_actor sys = {"system", 0, 0, 1};
    char otp[32] = "", tok[ES_SESSION_TOKEN_HEX + 1], tok2[ES_SESSION_TOKEN_HEX + 1];
    const char *why = NULL;
    es_user admin, u;

    ok(es_acct_create(&a, &sys, "admin", "Administrator", ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN), NULL,
                      otp, &admin, &why) == ES_OK &&
           strlen(otp) == 24 && admin.must_change_password,
       "%s: the first administrator, with a one-time password", kind);
    ok(es_acct_login(&a, "admin", otp, "127.0.0.1", tok, &u) == ES_OK && u.must_change_password &&
           strlen(tok) == 64,
       "%s: sign in with it; a password change is due", kind);
    es_actor by = es_actor_of(&u);
    char other[ES_SESSION_TOKEN_HEX + 1];
    es_user ou;
    ok(es_acct_login(&a, "admin", otp, "127.0.0.2", other, &ou) == ES_OK,
       "%s: a second session of the same account", kind);
    ok(es_acct_change_password(&a, &by, tok, "wrong", "Brand-New-Pass-1", &why) == ES_ERR_PASSWORD,
       "%s: change with a wrong current password refused", kind);
    ok(es_acct_change_password(&a, &by, tok, otp, "short", &why) == ES_ERR_ARG && why,
       "%s: the policy applies: %s", kind, why ? why : "");
    ok(es_acct_change_password(&a, &by, tok, otp, "Brand-New-Pass-1", &why) == ES_OK,
       "%s: password changed", kind);
    ok(es_acct_session(&a, tok, &u) == ES_OK && !u.must_change_password &&
           u.roles == ES_ROLE_BIT(ES_ROLE_SYSTEM_ADMIN),
       "%s: the session knows the user and its roles", kind);
    ok(es_acct_session(&a, other, &ou) == ES_ERR_AUTH,
       "%s: the account's other session ended with the change (hardening 11)", kind);

    /* Separation of duties and least privilege. */
    char otp2[32];
    ok(es_acct_create(&a, &by, "mixer", "",
                      ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN) | ES_ROLE_BIT(ES_ROLE_SEAL_ISSUER), NULL,
                      otp2, NULL, &why) == ES_ERR_ARG &&
           why && strstr(why, "audit"),
       "%s: audit + business duties refused: %s", kind, why ? why : "");
    ok(es_acct_create(&a, &by, "biz", "业务管理员", ES_ROLE_BIT(ES_ROLE_BUSINESS_ADMIN), NULL, otp2,
                      NULL, &why) == ES_OK,
       "%s: a business administrator", kind);
    ok(es_acct_create(&a, &by, "biz", "", ES_ROLE_BIT(ES_ROLE_OPERATOR), NULL, otp2, NULL, &why) ==
           ES_ERR_EXISTS,
       "%s: a duplicate name refused", kind);
    ok(es_acct_create(&a, &by, "Bad Name", "", 0, NULL, otp2, NULL, &why) == ES_ERR_ARG,
       "%s: a bad name refused", kind);
    /* No role: refused in the service itself, whoever calls it, and nothing is stored. */
    int users_before = 0;
    ok(es_acct_list(&a, &by, NULL, 0, count_user, &users_before) == ES_OK && users_before == 2,
       "%s: two accounts so far (%d)", kind, users_before);
    why = NULL;
    ok(es_acct_create(&a, &by, "noroles", "", 0, NULL, otp2, NULL, &why) == ES_ERR_ARG && why &&
           strstr(why, "at least one role"),
       "%s: an account with no role refused: %s", kind, why ? why : "(no reason)");
    ok(es_acct_create(&a, &sys, "noroles", "", 0, "Some-Pass-2026", NULL, NULL, &why) == ES_ERR_ARG,
       "%s: even by the system", kind);
    int users_after = 0;
    ok(es_acct_list(&a, &by, NULL, 0, count_user, &users_after) == ES_OK &&
           users_after == users_before,
       "%s: and no account was stored (%d)", kind, users_after);
    why = NULL;
    ok(es_acct_set_roles(&a, &by, "biz", 0, &why) == ES_ERR_ARG && why &&
           strstr(why, "at least one role"),
       "%s: taking every role away refused: %s", kind, why ? why : "(no reason)");
    ok(es_acct_login(&a, "biz", otp2, "127.0.0.1", tok2, &u) == ES_OK &&
           u.roles == ES_ROLE_BIT(ES_ROLE_BUSINESS_ADMIN),
       "%s: the roles stay as they were", kind);
    ok(es_acct_logout(&a, tok2) == ES_OK, "%s: logout", kind);
    ok(es_acct_create(&a, &by, "auditor", "", ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN), "Audit-Pass-2026",
                      NULL, NULL, &why) == ES_OK,
       "%s: an audit administrator with a given password", kind);
    int denied0 = st_audit_count(s, "access.denied");
    ok(es_acct_set_roles(&a, &by, "admin", ES_ROLE_BIT(ES_ROLE_AUDIT_ADMIN), &why) == ES_ERR_DENIED,
       "%s: nobody changes their own roles", kind);
    ok(es_acct_set_disabled(&a, &by, "admin", 1) == ES_ERR_DENIED, "%s: nobody disables themselves",
       kind);

    es_user biz;
    ok(es_acct_login(&a, "biz", otp2, "127.0.0.1", tok2, &biz) == ES_OK, "%s: biz signs in", kind);
    es_actor bizby = es_actor_of(&biz);
    char otp3[32];
    ok(es_acct_create(&a, &bizby, "x1", "", 0, NULL, otp3, NULL, &why) == ES_ERR_DENIED,
       "%s: a business administrator cannot create accounts", kind);
    int n = 0;
    ok(es_acct_list(&a, &bizby, NULL, 0, count_user, &n) == ES_ERR_DENIED && n == 0,
       "%s: nor list them", kind);
    ok(st_audit_count(s, "access.denied") == denied0 + 4, "%s: every refusal is audited (%d)", kind,
       st_audit_count(s, "access.denied") - denied0);
    n = 0;
    ok(es_acct_list(&a, &by, NULL, 0, count_user, &n) == ES_OK && n == 3, "%s: list (%d)", kind, n);
    n = 0;
    ok(es_acct_list(&a, &by, "auditor", 1, count_user, &n) == ES_OK && n == 1, "%s: paging", kind);
    ok(es_acct_set_roles(&a, &by, "biz", ES_ROLE_BIT(ES_ROLE_SEAL_ISSUER), &why) == ES_OK &&
           es_acct_session(&a, tok2, &u) == ES_OK && u.roles == ES_ROLE_BIT(ES_ROLE_SEAL_ISSUER),
       "%s: a role change applies to the live session", kind);

    /* Lockout after 3 failures; the right password is refused while locked; a reset
     * unlocks. Unknown accounts get the same answer as wrong passwords. */
    char tok3[ES_SESSION_TOKEN_HEX + 1];
    ok(es_acct_login(&a, "nobody", "whatever", "x", tok3, NULL) == ES_ERR_AUTH,
       "%s: unknown account: ES_ERR_AUTH", kind);
    for (int i = 0; i < 3; i++)
        ok(es_acct_login(&a, "auditor", "Wrong-Pass-2026", "x", tok3, NULL) == ES_ERR_AUTH,
           "%s: wrong password %d", kind, i + 1);
    ok(es_acct_login(&a, "auditor", "Audit-Pass-2026", "x", tok3, NULL) == ES_ERR_LOCKED,
       "%s: locked after 3 failures", kind);
    ok(st_audit_count(s, "user.locked") == 1 && st_audit_count(s, "session.login_failed") >= 4,
       "%s: the failures and the lock are audited", kind);
    char otp4[32];
    ok(es_acct_reset_password(&a, &by, "auditor", otp4) == ES_OK &&
           es_acct_login(&a, "auditor", otp4, "x", tok3, &u) == ES_OK && u.must_change_password,
       "%s: a reset unlocks, with a new one-time password", kind);

    /* Sessions: logout and disabling end them. */
    ok(es_acct_logout(&a, tok3) == ES_OK && es_acct_session(&a, tok3, &u) == ES_ERR_AUTH,
       "%s: logout ends the session", kind);
    ok(es_acct_set_disabled(&a, &by, "biz", 1) == ES_OK &&
           es_acct_session(&a, tok2, &u) == ES_ERR_AUTH &&
           es_acct_login(&a, "biz", otp2, "x", tok3, NULL) == ES_ERR_LOCKED,
       "%s: a disabled account has no session and cannot sign in", kind);
    ok(es_acct_session(&a, "00", &u) == ES_ERR_AUTH &&
           es_acct_session(&a, "00000000000000000000000000000000000000000000000000000000000000zz",
                           &u) == ES_ERR_AUTH &&
           es_acct_session(&a, NULL, &u) == ES_ERR_AUTH,
       "%s: malformed tokens refused", kind);

    /* Guessing the current password through a session counts like sign-in failures
     * (hardening 5): lockout_failures (3) wrong guesses lock the account; then even the right
     * password changes nothing, and signing in is refused. */
    {
        char gotp[32] = "", gt[ES_SESSION_TOKEN_HEX + 1];
        es_user g;
        ok(es_acct_create(&a, &sys, "guesser", "", ES_ROLE_BIT(ES_ROLE_OPERATOR), NULL, gotp, NULL,
                          &why) == ES_OK &&
               es_acct_login(&a, "guesser", gotp, "x", gt, &g) == ES_OK,
           "%s: an operator signs in", kind);
        es_actor gb = es_actor_of(&g);
        int refused = 0;
        for (int i = 0; i < 3; i++)
            refused += es_acct_change_password(&a, &gb, gt, "Not-The-Password-1",
                                               "Another-Pass-2026", &why) == ES_ERR_PASSWORD;
        ok(refused == 3, "%s: three wrong guesses refused", kind);
        ok(es_acct_change_password(&a, &gb, gt, gotp, "Another-Pass-2026", &why) == ES_ERR_LOCKED,
           "%s: then locked: even the right password changes nothing", kind);
        ok(es_acct_login(&a, "guesser", gotp, "x", gt, &g) == ES_ERR_LOCKED,
           "%s: and signing in is refused", kind);
    }

    /* Everything above is in the audit trail, and it verifies. */
    es_audit_report rep;
    memset(&rep, 0, sizeof rep);
    ok(es_audit_verify_store(s, audit_key->pub, &rep) == ES_OK && rep.n_findings == 0 &&
           rep.records > 20,
       "%s: the audit chain verifies (%lld records)", kind, (long long)rep.records);
    es_audit_report_cleanup(&rep);
    es_signer_free(audit_key);
    es_store_close(s);
}

int main(void)
{
    suite("sqlite", st_sqlite_db("accounts"));
    if (st_pg_ready()) suite("postgresql", st_pg_db("accounts"));
    return t_done();
}
