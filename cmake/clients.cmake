# The API clients tests run on PostgreSQL too: they need the "pg" fixture of cmake/store.cmake.
function(_eseal_clients_fixture)
  if(NOT TEST clients)
    message(FATAL_ERROR "cmake/clients.cmake: no test \"clients\" (tests/test_clients.c)")
  endif()
  # 77: the PostgreSQL half was skipped (tests/store_test.h), reported as skipped, not passed.
  set_tests_properties(clients PROPERTIES FIXTURES_REQUIRED pg SKIP_RETURN_CODE 77)
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_clients_fixture)
