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
