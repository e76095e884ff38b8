# store: SQLite and PostgreSQL backends (docs/store.md) and the audit trail's export and
# verification (docs/audit.md, JSON through jansson). The tests run the same suite on SQLite
# and on a real PostgreSQL that tests/pg.sh starts (fixture "pg") and removes afterwards.
find_package(PkgConfig REQUIRED)
find_package(Threads REQUIRED)
pkg_check_modules(ESEAL_SQLITE3 REQUIRED IMPORTED_TARGET sqlite3>=3.37)
pkg_check_modules(ESEAL_LIBPQ REQUIRED IMPORTED_TARGET libpq)
pkg_check_modules(ESEAL_JANSSON REQUIRED IMPORTED_TARGET jansson)
eseal_layer_link(store PkgConfig::ESEAL_SQLITE3 PkgConfig::ESEAL_LIBPQ PkgConfig::ESEAL_JANSSON
                 Threads::Threads)

# The test cluster: initdb'd into a directory of its own, reached on a Unix socket there
# (no TCP). The path depends on the build directory only, so that two build trees never
# share a cluster, and is short (a socket path has at most 107 bytes).
string(MD5 _eseal_pg_hash "${CMAKE_BINARY_DIR}")
string(SUBSTRING "${_eseal_pg_hash}" 0 12 _eseal_pg_hash)
set(ESEAL_PG_DIR "/tmp/eseal-pg-${_eseal_pg_hash}")
set(ESEAL_PG_URL "postgresql:///postgres?host=${ESEAL_PG_DIR}&user=postgres")
list(APPEND ESEAL_TEST_ENV "ESEAL_PG_URL=${ESEAL_PG_URL}")

enable_testing()
add_test(NAME pg_start COMMAND ${CMAKE_SOURCE_DIR}/tests/pg.sh start ${ESEAL_PG_DIR})
add_test(NAME pg_stop COMMAND ${CMAKE_SOURCE_DIR}/tests/pg.sh stop ${ESEAL_PG_DIR})
set_tests_properties(pg_start PROPERTIES FIXTURES_SETUP pg)
set_tests_properties(pg_stop PROPERTIES FIXTURES_CLEANUP pg)

# A helper for the CLI test: makes databases with signed audit records (not a test itself).
add_executable(audit_fixture ${CMAKE_SOURCE_DIR}/tests/audit_fixture.c)
target_include_directories(audit_fixture PRIVATE ${CMAKE_SOURCE_DIR}/tests ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(audit_fixture PRIVATE eseal)

add_test(NAME cli_audit COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/audit.sh $<TARGET_FILE:eseal_cli>
                                $<TARGET_FILE:audit_fixture> $<TARGET_FILE:esealsd>)
set_tests_properties(cli_audit PROPERTIES ENVIRONMENT "${ESEAL_TEST_ENV}" FIXTURES_REQUIRED pg
                                           SKIP_RETURN_CODE 77)

# test_store, test_audit, test_castore, test_outage and test_witness are made by the main CMakeLists.txt after this part is read: they
# get the fixture once they exist. Any later test that needs PostgreSQL can require "pg" too.
function(_eseal_store_fixtures)
  foreach(t store audit castore outage witness)
    if(NOT TEST ${t})
      message(FATAL_ERROR "cmake/store.cmake: no test \"${t}\" (tests/test_${t}.c)")
    endif()
    # 77: the PostgreSQL half was skipped (tests/store_test.h), reported as skipped, not passed.
    set_tests_properties(${t} PROPERTIES FIXTURES_REQUIRED pg SKIP_RETURN_CODE 77)
  endforeach()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_store_fixtures)

# test_witness runs eseal audit verify --witness URL too.
function(_eseal_witness_cli)
  if(TEST witness)
    set_property(TEST witness APPEND PROPERTY ENVIRONMENT "ESEAL_CLI=$<TARGET_FILE:eseal_cli>")
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_witness_cli)

# The audit trail's export and reports are JSON.
eseal_layer_link(audit PkgConfig::ESEAL_JANSSON)

# The CA state's audit details are JSON.
eseal_layer_link(svc PkgConfig::ESEAL_JANSSON)
