# The accounts tests run on PostgreSQL too: they need the "pg" fixture of cmake/store.cmake.
function(_eseal_accounts_fixture)
  if(NOT TEST accounts)
    message(FATAL_ERROR "cmake/accounts.cmake: no test \"accounts\" (tests/test_accounts.c)")
  endif()
  # 77: the PostgreSQL half was skipped (tests/store_test.h), reported as skipped, not passed.
  set_tests_properties(accounts PROPERTIES FIXTURES_REQUIRED pg SKIP_RETURN_CODE 77)
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_accounts_fixture)
