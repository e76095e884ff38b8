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
