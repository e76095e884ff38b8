# esealsd: the daemon (tools/esealsd.c: argument parsing and es_node_run of src/node/,
# docs/esealsd.md), and its API tests (tests/test_api.c: a node inside the test binary on
# 127.0.0.1 with an ephemeral port, on SQLite and on the PostgreSQL of the "pg" fixture).

add_executable(esealsd ${CMAKE_SOURCE_DIR}/tools/esealsd.c)

target_link_libraries(esealsd PRIVATE eseal)

# tests/test_api.c (test "api", made by the main CMakeLists.txt after this part is read) needs
# the PostgreSQL of the "pg" fixture.
function(_eseal_api_test)
  if(NOT TEST api)
    message(FATAL_ERROR "cmake/esealsd.cmake: no test \"api\" (tests/test_api.c)")
  endif()
  # 77: the PostgreSQL half was skipped (tests/store_test.h), reported as skipped, not passed.
  set_tests_properties(api PROPERTIES FIXTURES_REQUIRED pg TIMEOUT 900 SKIP_RETURN_CODE 77)
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_api_test)

# The console against the real daemon in headless Chromium (tests/e2e/daemon.sh).
add_test(NAME e2e_daemon COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/daemon.sh $<TARGET_FILE:esealsd>
                                 ${CMAKE_BINARY_DIR}/e2e $<TARGET_FILE:eseal_cli>)
set_tests_properties(e2e_daemon PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900 RESOURCE_LOCK e2e_node)

# Business systems' signed requests with curl and the openssl command line (tests/cli/api.sh).
add_test(NAME cli_api COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/api.sh $<TARGET_FILE:eseal_cli>
                              $<TARGET_FILE:esealsd>)
set_tests_properties(cli_api PROPERTIES ENVIRONMENT "${ESEAL_TEST_ENV}" TIMEOUT 600)

# Outsiders' attacks on a real esealsd (issue 13, items 1 and 2; tests/attack/): slow request
# heads from many addresses, and large bodies to unrouted and unauthenticated targets, each
# asserting /healthz answers throughout (and the daemon's RSS stays bounded). About 30 s each;
# never two at once (each measures the daemon's latency).
add_test(NAME attack_slowloris COMMAND ${CMAKE_SOURCE_DIR}/tests/attack/slowloris.sh
                                       $<TARGET_FILE:esealsd>)
add_test(NAME attack_bodies COMMAND ${CMAKE_SOURCE_DIR}/tests/attack/bodies.sh
                                    $<TARGET_FILE:esealsd>)
set_tests_properties(attack_slowloris attack_bodies PROPERTIES ENVIRONMENT "${ESEAL_TEST_ENV}"
                                                               TIMEOUT 120 RESOURCE_LOCK attack)
