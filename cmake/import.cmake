# The import of other vendors' seals (src/svc/making/import.c, src/api/seal_imports.c,
# docs/making.md "Import of other vendors' seals"): its test (tests/test_import.c) imports the
# real corpus on SQLite and on the PostgreSQL of the "pg" fixture.
function(_eseal_import_test)
  if(NOT TEST import)
    message(FATAL_ERROR "cmake/import.cmake: no test \"import\" (tests/test_import.c)")
  endif()
  # 77: the PostgreSQL half was skipped (tests/store_test.h), reported as skipped, not passed.
  set_tests_properties(import PROPERTIES FIXTURES_REQUIRED pg TIMEOUT 600 SKIP_RETURN_CODE 77)
  set_property(TEST import APPEND PROPERTY ENVIRONMENT "ESEAL_CLI=$<TARGET_FILE:eseal_cli>")
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_import_test)
