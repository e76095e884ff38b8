# The status publishing system (src/svc/status/, src/api/status.c, docs/status.md): its test
# (tests/test_status.c) runs on SQLite and on the PostgreSQL of the "pg" fixture and checks
# answers with `eseal status verify`.
function(_eseal_status_test)
  if(NOT TEST status)
    message(FATAL_ERROR "cmake/status.cmake: no test \"status\" (tests/test_status.c)")
  endif()
  set_tests_properties(status PROPERTIES FIXTURES_REQUIRED pg TIMEOUT 600 SKIP_RETURN_CODE 77)
  set_property(TEST status APPEND PROPERTY ENVIRONMENT "ESEAL_CLI=$<TARGET_FILE:eseal_cli>")
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_status_test)

# `eseal status verify` on the answers kept in tests/data/status/ (tests/cli/status.sh).
add_test(NAME cli_status COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/status.sh $<TARGET_FILE:eseal_cli>)
set_tests_properties(cli_status PROPERTIES ENVIRONMENT "${ESEAL_TEST_ENV}")
