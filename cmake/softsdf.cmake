# libsoftsdf.so: a software GB/T 36322 (SDF) device with the standard C ABI, loaded by dlopen
# in tests exactly as a vendor library is (devices/softsdf/softsdf.c). It links the static
# libeseal (built position-independent) for SM2/SM3 and exports only the SDF_ functions.
add_library(softsdf SHARED ${CMAKE_SOURCE_DIR}/devices/softsdf/softsdf.c)
target_include_directories(softsdf PRIVATE ${CMAKE_SOURCE_DIR}/src)
target_link_libraries(softsdf PRIVATE eseal)
set_target_properties(softsdf PROPERTIES C_VISIBILITY_PRESET hidden
  LINK_DEPENDS ${CMAKE_SOURCE_DIR}/devices/softsdf/softsdf.map)
# -z nodelete: its copy of libeseal keeps process-lifetime OpenSSL objects made once (the SM3
# method, the SM2 key template); unloading the library at dlclose would orphan them.
target_link_options(softsdf PRIVATE
  "LINKER:--version-script=${CMAKE_SOURCE_DIR}/devices/softsdf/softsdf.map" "LINKER:-z,nodelete")

# A library that lacks required SDF functions (it exports SDF_OpenDevice only).
add_library(broken_sdf SHARED ${CMAKE_SOURCE_DIR}/devices/softsdf/broken_sdf.c)
target_include_directories(broken_sdf PRIVATE ${CMAKE_SOURCE_DIR}/include)

list(APPEND ESEAL_TEST_ENV "ESEAL_SOFTSDF=$<TARGET_FILE:softsdf>"
  "ESEAL_BROKEN_SDF=$<TARGET_FILE:broken_sdf>")
