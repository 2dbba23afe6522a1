# Model-file readers: JSON, .npy, pickle, ZIP and torch checkpoints, safetensors.
# Reference files come from tests/ref/make_checkpoints.py (torch.save, pickle.dump,
# numpy, hand-written safetensors and malformed files), written into the build tree.
set(LS_IO_REF ${CMAKE_CURRENT_BINARY_DIR}/io_ref)
add_test(NAME io_ref COMMAND ${LS_PYTHON} ${LS_REF_DIR}/make_checkpoints.py ${LS_IO_REF})
set_tests_properties(io_ref PROPERTIES FIXTURES_SETUP io_ref)

ls_test(test_json test_json.c)
add_test(NAME test_json COMMAND test_json)

# The error value every reader fills in.
ls_test(test_error test_error.c)
add_test(NAME test_error COMMAND test_error)

# The open-file limit the server raises and checks (util/open_files.h).
ls_test(test_open_files test_open_files.c)
add_test(NAME test_open_files COMMAND test_open_files)

foreach(name npy pickle weights)
  ls_test(test_${name} test_${name}.c)
  add_test(NAME test_${name} COMMAND test_${name} ${LS_IO_REF})
  set_tests_properties(test_${name} PROPERTIES FIXTURES_REQUIRED io_ref)
endforeach()

# numpy must read what ls_npy_write wrote (test_npy leaves it behind).
set_tests_properties(test_npy PROPERTIES FIXTURES_SETUP npy_written)
add_test(NAME npy_written_by_c COMMAND ${LS_PYTHON} -c
  "import sys, numpy; a = numpy.load(sys.argv[1]); assert a.dtype == '<f4' and a.shape == (2, 3), a; assert (a.ravel() == numpy.arange(6) / 4).all(), a"
  ${LS_IO_REF}/written_by_c.npy)
set_tests_properties(npy_written_by_c PROPERTIES FIXTURES_REQUIRED "io_ref;npy_written")

# libFuzzer runs, 20 s each, of the binaries scripts/test.sh builds into build/fuzz
# (clang only); skipped when a binary is absent. New inputs go to fuzz_corpus/<name>.
foreach(name json npy pickle zip_ckpt safetensors)
  add_test(NAME fuzz_${name}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run_fuzzer.sh
                   ${CMAKE_SOURCE_DIR}/build/fuzz/tests/fuzz/fuzz_${name}
                   ${CMAKE_CURRENT_BINARY_DIR}/fuzz_corpus/${name} ${LS_IO_REF}/seeds/${name} 20)
  set_tests_properties(fuzz_${name} PROPERTIES FIXTURES_REQUIRED io_ref SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()
