# libsoftskf.so: a GB/T 35291 (SKF) token in files (devices/softskf/softskf.c), built as a real
# shared object with the standard C ABI and loaded by dlopen as a vendor's library is. It links
# the eseal library statically (position-independent) and exports the SKF_ functions only.
set(SOFTSKF_EXPORTS ${CMAKE_BINARY_DIR}/softskf.map)
file(WRITE ${SOFTSKF_EXPORTS} "{\n  global: SKF_*;\n  local: *;\n};\n")

add_library(softskf SHARED ${CMAKE_SOURCE_DIR}/devices/softskf/softskf.c)
target_include_directories(softskf PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(softskf PRIVATE eseal)
# -z nodelete: the eseal crypto layer inside keeps process-lifetime OpenSSL objects made once
# (src/crypto/openssl.c); unmapping the library at dlclose would orphan them, and a second load
# would make them again.
target_link_options(softskf PRIVATE "LINKER:--version-script=${SOFTSKF_EXPORTS}"
                    "LINKER:-z,nodelete")
set_target_properties(softskf PROPERTIES LINK_DEPENDS ${SOFTSKF_EXPORTS})

# A library that loads but lacks SKF_ECCSignData, which eseal requires (tests/skf_broken.c).
add_library(skf_broken SHARED ${CMAKE_SOURCE_DIR}/tests/skf_broken.c)
target_include_directories(skf_broken PRIVATE ${CMAKE_SOURCE_DIR}/include)

list(APPEND ESEAL_TEST_ENV "ESEAL_SOFTSKF=$<TARGET_FILE:softskf>"
     "ESEAL_SKF_BROKEN=$<TARGET_FILE:skf_broken>")

# The `eseal token` command against libsoftskf.so, end to end.
enable_testing()
add_test(NAME cli_token COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/token.sh $<TARGET_FILE:eseal_cli>)
set_tests_properties(cli_token PROPERTIES ENVIRONMENT "${ESEAL_TEST_ENV}")

# Seal delivery (issue 10): USBKey and server package end to end, against libsoftskf.so and
# libsoftsdf.so.
add_test(NAME cli_delivery COMMAND ${CMAKE_SOURCE_DIR}/tests/cli/delivery.sh $<TARGET_FILE:eseal_cli>)
set_tests_properties(cli_delivery PROPERTIES ENVIRONMENT "${ESEAL_TEST_ENV}")
