# libFuzzer run (clang build in build/fuzz) of the YAML options file parser (server/config_file.c);
# its behaviour on good and bad files is tested in test_server_options.
add_test(NAME fuzz_config_file
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run_fuzzer.sh
                 ${CMAKE_SOURCE_DIR}/build/fuzz/tests/fuzz/fuzz_config_file
                 ${CMAKE_CURRENT_BINARY_DIR}/fuzz_corpus/config_file ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/seeds/config_file 20)
set_tests_properties(fuzz_config_file PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
