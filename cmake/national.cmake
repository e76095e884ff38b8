# national: the GB/T 2260 division codes built into the svc layer (docs/national.md). The TSV
# data/divisions.tsv becomes a C table at build time (scripts/embed_divisions.c checks it and
# writes it), which src/svc/national/division.c includes: no file is needed at run time.
add_executable(embed_divisions ${CMAKE_SOURCE_DIR}/scripts/embed_divisions.c)
set(ESEAL_DIVISIONS_H ${CMAKE_BINARY_DIR}/generated/divisions_data.h)
add_custom_command(
  OUTPUT ${ESEAL_DIVISIONS_H}
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_BINARY_DIR}/generated
  COMMAND embed_divisions ${CMAKE_SOURCE_DIR}/data/divisions.tsv ${ESEAL_DIVISIONS_H}
  DEPENDS embed_divisions ${CMAKE_SOURCE_DIR}/data/divisions.tsv
  COMMENT "Embedding data/divisions.tsv")
target_sources(eseal_svc_obj PRIVATE ${ESEAL_DIVISIONS_H})
target_include_directories(eseal_svc_obj PRIVATE ${CMAKE_BINARY_DIR}/generated)

# test_national runs the code allocator on PostgreSQL too (fixture "pg", cmake/store.cmake);
# the test exists once the main CMakeLists.txt has made it.
function(_eseal_national_fixture)
  if(TEST national)
    set_tests_properties(national PROPERTIES FIXTURES_REQUIRED pg SKIP_RETURN_CODE 77)
  endif()
endfunction()
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _eseal_national_fixture)

# eseal national, end to end: tests/cli/national.sh.
add_test(NAME cli_national COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/national.sh
                                   $<TARGET_FILE:eseal_cli>)
set_tests_properties(cli_national PROPERTIES ENVIRONMENT "${ESEAL_TEST_ENV}")
