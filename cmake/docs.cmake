# The documentation's checks: docs/requirements.md names every requirement of
# ../shared/design/REQUIREMENTS.md once, with paths, functions and tests that exist
# (scripts/reqtrace.sh).
enable_testing()
add_test(NAME reqtrace COMMAND ${CMAKE_SOURCE_DIR}/scripts/reqtrace.sh)
set_tests_properties(reqtrace PROPERTIES WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
