# Data at rest (docs/protect.md): tests/test_protect.c runs its suite on PostgreSQL too (the
# "pg" fixture of cmake/store.cmake) and runs `eseal protect` (ESEAL_CLI).
function(_eseal_protect_test)
  if(TEST protect)
    set_tests_properties(protect PROPERTIES FIXTURES_REQUIRED pg SKIP_RETURN_CODE 77)
    set_property(TEST protect APPEND PROPERTY ENVIRONMENT "ESEAL_CLI=$<TARGET_FILE:eseal_cli>")
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_protect_test)
