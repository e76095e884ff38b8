# The making system (src/svc/making/, src/api/making.c, docs/making.md): its test
# (tests/test_making.c) runs on SQLite and on the PostgreSQL of the "pg" fixture, kills a
# daemon process during execution, and checks a made seal with the eseal CLI.
function(_eseal_making_test)
  if(NOT TEST making)
    message(FATAL_ERROR "cmake/making.cmake: no test \"making\" (tests/test_making.c)")
  endif()
  # 77: the PostgreSQL half was skipped (tests/store_test.h), reported as skipped, not passed.
  set_tests_properties(making PROPERTIES FIXTURES_REQUIRED pg TIMEOUT 600 SKIP_RETURN_CODE 77)
  set_property(TEST making APPEND PROPERTY ENVIRONMENT "ESEAL_CLI=$<TARGET_FILE:eseal_cli>")
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_making_test)

# The console's making pages in Chromium (tests/e2e/making.mjs through tests/e2e/daemon.sh;
# skipped as e2e_daemon is when Chromium or npm is missing and CI is unset).
add_test(NAME e2e_making COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/daemon.sh $<TARGET_FILE:esealsd>
                                 ${CMAKE_BINARY_DIR}/e2e $<TARGET_FILE:eseal_cli> making)
set_tests_properties(e2e_making PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900 RESOURCE_LOCK e2e_node)

# National-scope seals through the upstream link (tests/test_national_flow.c): a simulator and
# a city node, on SQLite and on the PostgreSQL of the "pg" fixture; checks seals with the CLI.
function(_eseal_national_flow_test)
  if(NOT TEST national_flow)
    message(FATAL_ERROR "cmake/making.cmake: no test \"national_flow\"")
  endif()
  set_tests_properties(national_flow PROPERTIES FIXTURES_REQUIRED pg TIMEOUT 600
                                                 SKIP_RETURN_CODE 77)
  set_property(TEST national_flow APPEND PROPERTY ENVIRONMENT "ESEAL_CLI=$<TARGET_FILE:eseal_cli>")
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_national_flow_test)
# The USBKey review signs with libsoftskf.so.
set_property(TEST e2e_making APPEND PROPERTY ENVIRONMENT "ESEAL_SOFTSKF=$<TARGET_FILE:softskf>")

# The making system's edges (tests/test_making_edges.c): data protection of the making tables,
# certificate hold on suspend, idempotent creates, decisions append-only and exported, the
# material size limit; on SQLite and on the PostgreSQL of the "pg" fixture, with the eseal CLI.
function(_eseal_making_edges_test)
  if(NOT TEST making_edges)
    message(FATAL_ERROR "cmake/making.cmake: no test \"making_edges\" (tests/test_making_edges.c)")
  endif()
  set_tests_properties(making_edges PROPERTIES FIXTURES_REQUIRED pg TIMEOUT 600
                                               SKIP_RETURN_CODE 77)
  set_property(TEST making_edges APPEND PROPERTY ENVIRONMENT
                                                 "ESEAL_CLI=$<TARGET_FILE:eseal_cli>")
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_making_edges_test)
