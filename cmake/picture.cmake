# The picture layer (src/picture/, docs/picture.md): seal pictures from scans and standard seals
# drawn from the unit's name. Decoding through libjpeg(-turbo) and libpng, scaling and drawing
# through cairo (pixman's filters) and pango (fontconfig, the CJK fonts of fonts-noto-cjk).
find_package(PkgConfig REQUIRED)
pkg_check_modules(ESEAL_CAIRO REQUIRED IMPORTED_TARGET cairo>=1.14)
pkg_check_modules(ESEAL_PANGO REQUIRED IMPORTED_TARGET pangocairo>=1.44 fontconfig)
pkg_check_modules(ESEAL_PNG REQUIRED IMPORTED_TARGET libpng>=1.6)
pkg_check_modules(ESEAL_JPEG REQUIRED IMPORTED_TARGET libjpeg)
eseal_layer_link(picture PkgConfig::ESEAL_CAIRO PkgConfig::ESEAL_PANGO PkgConfig::ESEAL_PNG
                 PkgConfig::ESEAL_JPEG m)

# The command line (tests/cli/picture.sh) and the console's picture page in Chromium
# (tests/e2e/picture.mjs through tests/e2e/daemon.sh; skipped as e2e_daemon is when Chromium or
# npm is missing and CI is unset).
add_test(NAME cli_picture COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/picture.sh $<TARGET_FILE:eseal_cli>)
set_tests_properties(cli_picture PROPERTIES ENVIRONMENT "${ESEAL_TEST_ENV}")
add_test(NAME e2e_picture COMMAND ${CMAKE_SOURCE_DIR}/tests/e2e/daemon.sh $<TARGET_FILE:esealsd>
                                  ${CMAKE_BINARY_DIR}/e2e $<TARGET_FILE:eseal_cli> picture)
set_tests_properties(e2e_picture PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 900 RESOURCE_LOCK e2e_node)
