# The second factor (tests/test_otp.c) runs its service suite on PostgreSQL too: it needs the
# "pg" fixture of cmake/store.cmake.
function(_eseal_otp_fixture)
  if(TEST otp)
    set_tests_properties(otp PROPERTIES FIXTURES_REQUIRED pg)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_otp_fixture)

# `eseal factor` and a daemon with the defaults, with a USBKey (libsoftskf.so): tests/cli/factor.sh.
function(_eseal_otp_cli)
  add_test(NAME cli_factor COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/factor.sh
                                   $<TARGET_FILE:eseal_cli> $<TARGET_FILE:esealsd>)
  set_tests_properties(cli_factor PROPERTIES ENVIRONMENT "${ESEAL_TEST_ENV}")
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_otp_cli)

# The console's sign-in with a second factor, in Chromium (tests/e2e/factor.mjs through
# tests/e2e/daemon.sh; skipped as e2e_daemon is when Chromium or npm is missing and CI is unset).
add_test(NAME e2e_factor COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/daemon.sh $<TARGET_FILE:esealsd>
                                 ${CMAKE_BINARY_DIR}/e2e $<TARGET_FILE:eseal_cli> factor)
set_tests_properties(e2e_factor PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900 RESOURCE_LOCK e2e_node)
