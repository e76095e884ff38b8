# Online self-service renewal (src/svc/making/renewal.c, src/api/renewals.c,
# docs/making.md "Self-service renewal"): its test (tests/test_renewal.c) checks the whole
# flow on SQLite and on the PostgreSQL of the "pg" fixture.
function(_eseal_renewal_test)
  if(NOT TEST renewal)
    message(FATAL_ERROR "cmake/renewal.cmake: no test \"renewal\" (tests/test_renewal.c)")
  endif()
  # 77: the PostgreSQL half was skipped (tests/store_test.h), reported as skipped, not passed.
  set_tests_properties(renewal PROPERTIES FIXTURES_REQUIRED pg TIMEOUT 600 SKIP_RETURN_CODE 77)
  set_property(TEST renewal APPEND PROPERTY ENVIRONMENT "ESEAL_CLI=$<TARGET_FILE:eseal_cli>")
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_renewal_test)
