# Fuzz regression replay (issue 9): each fuzz/fuzz_<name>.c is also built without libFuzzer,
# with tests/fuzz_replay.c as its main, and ctest runs it over its regression inputs
# (tests/data/fuzz-regress/, named as scripts/fuzz.sh takes them) and its seed folders of the
# real corpus. Under -DESEAL_SANITIZE=ON they run with ASan/UBSan. With -DESEAL_FUZZ=ON the
# targets are libFuzzer programs instead (CMakeLists.txt) and scripts/fuzz.sh runs them.
if(NOT ESEAL_FUZZ)
  enable_testing()
  file(GLOB _eseal_fuzz_targets CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/fuzz/fuzz_*.c)
  foreach(_f ${_eseal_fuzz_targets})
    get_filename_component(_n ${_f} NAME_WE)
    add_executable(replay_${_n} ${_f} ${CMAKE_SOURCE_DIR}/tests/fuzz_replay.c)
    target_include_directories(replay_${_n} PRIVATE ${CMAKE_SOURCE_DIR}/src
                                                    ${CMAKE_SOURCE_DIR}/fuzz)
    target_link_libraries(replay_${_n} PRIVATE eseal)
    # The targets discard results they do not need with (void), which clang honours for
    # warn_unused_result and gcc does not.
    target_compile_options(replay_${_n} PRIVATE -Wno-unused-result)
    # The seed folders of scripts/fuzz.sh's seed_dirs.
    set(_seeds "")
    if(_n STREQUAL "fuzz_seal")
      set(_seeds esl)
    elseif(_n STREQUAL "fuzz_signature" OR _n STREQUAL "fuzz_cms")
      set(_seeds signature esl)
    elseif(_n STREQUAL "fuzz_ofd")
      set(_seeds ofd)
    elseif(NOT (_n STREQUAL "fuzz_client_auth" OR _n STREQUAL "fuzz_http" OR
                _n STREQUAL "fuzz_national" OR _n STREQUAL "fuzz_picture" OR
                _n STREQUAL "fuzz_upstream" OR _n STREQUAL "fuzz_status"))
      set(_seeds esl signature)
    endif()
    set(_dirs "")
    foreach(_s ${_seeds})
      list(APPEND _dirs ${ESEAL_CORPUS}/${_s})
    endforeach()
    add_test(NAME fuzz_replay_${_n}
             COMMAND replay_${_n} ${_n} ${CMAKE_SOURCE_DIR}/tests/data/fuzz-regress ${_dirs})
    set_tests_properties(fuzz_replay_${_n} PROPERTIES ENVIRONMENT "${ESEAL_TEST_ENV}")
  endforeach()
endif()
