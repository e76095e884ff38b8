# The link to the parent tier and the national platform simulator (issue 10, docs/upstream.md):
# test_upstream runs a simulator and a city's daemon with their stores on SQLite and on the
# PostgreSQL of the "pg" fixture (cmake/store.cmake); 77: its PostgreSQL half was skipped.
function(_eseal_upstream_fixture)
  if(NOT TEST upstream)
    message(FATAL_ERROR "cmake/upstream.cmake: no test \"upstream\" (tests/test_upstream.c)")
  endif()
  set_tests_properties(upstream PROPERTIES FIXTURES_REQUIRED pg SKIP_RETURN_CODE 77)
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_upstream_fixture)
