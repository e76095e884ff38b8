# The accounts tests run on PostgreSQL too: they need the "pg" fixture of cmake/store.cmake.
function(_eseal_accounts_fixture)
  if(TEST accounts)
    set_tests_properties(accounts PROPERTIES FIXTURES_REQUIRED pg)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_accounts_fixture)
