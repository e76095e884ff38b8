# Signed decisions (src/svc/decisions, docs/decisions.md): the svc layer reads the JSON export of
# a decision (jansson) and derives the PIN key with argon2id (cmake/auth.cmake links it). The
# tests run on PostgreSQL too: they need the "pg" fixture of cmake/store.cmake.
pkg_check_modules(ESEAL_DECISIONS_JANSSON REQUIRED IMPORTED_TARGET jansson)
eseal_layer_link(svc PkgConfig::ESEAL_DECISIONS_JANSSON)
function(_eseal_decisions_fixture)
  if(NOT TEST decisions)
    message(FATAL_ERROR "cmake/decisions.cmake: no test \"decisions\" (tests/test_decisions.c)")
  endif()
  # 77: the PostgreSQL half was skipped (tests/store_test.h), reported as skipped, not passed.
  set_tests_properties(decisions PROPERTIES FIXTURES_REQUIRED pg SKIP_RETURN_CODE 77)
  # The test runs `eseal decision sign` and `eseal decision verify` on what the API exported.
  set_property(TEST decisions APPEND PROPERTY ENVIRONMENT "ESEAL_CLI=$<TARGET_FILE:eseal_cli>")
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_decisions_fixture)

# 我的签名密钥 in the console against the real daemon (tests/e2e/signing.mjs).
add_test(NAME e2e_signing COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/daemon.sh $<TARGET_FILE:esealsd>
                                  ${CMAKE_BINARY_DIR}/e2e-signing $<TARGET_FILE:eseal_cli> signing)
set_tests_properties(e2e_signing PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900 RESOURCE_LOCK e2e_node)

# `eseal decision sign | verify` against the openssl command line (tests/cli/decision.sh).
add_test(NAME cli_decision COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/decision.sh $<TARGET_FILE:eseal_cli>)
set_tests_properties(cli_decision PROPERTIES ENVIRONMENT "${ESEAL_TEST_ENV}")
