# The doc layer's OFD support (src/doc/ofd_*.c): zip packages through libzip, XML through
# libxml2 (ARCHITECTURE.md, dependencies), and the OFD command-line test.
find_package(PkgConfig REQUIRED)
pkg_check_modules(LIBZIP REQUIRED IMPORTED_TARGET libzip)
find_package(LibXml2 REQUIRED)
eseal_layer_link(doc PkgConfig::LIBZIP LibXml2::LibXml2)

add_test(NAME cli_ofd COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/ofd.sh $<TARGET_FILE:eseal_cli>)
set_tests_properties(cli_ofd PROPERTIES ENVIRONMENT "${ESEAL_TEST_ENV}")
