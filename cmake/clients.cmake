# The API clients tests run on PostgreSQL too: they need the "pg" fixture of cmake/store.cmake.
function(_eseal_clients_fixture)
  if(TEST clients)
    set_tests_properties(clients PROPERTIES FIXTURES_REQUIRED pg)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_clients_fixture)
