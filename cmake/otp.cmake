# The second factor (tests/test_otp.c) runs its service suite on PostgreSQL too: it needs the
# "pg" fixture of cmake/store.cmake.
function(_eseal_otp_fixture)
  if(TEST otp)
    set_tests_properties(otp PROPERTIES FIXTURES_REQUIRED pg)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_otp_fixture)
