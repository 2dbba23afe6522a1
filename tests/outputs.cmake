# Outputs beyond the browser (src/media/*_sink.c, src/server/outputs.c): recording, RTMP, WHIP push,
# virtual camera. In process: the encoders' rates and keyframes, the recording pipeline (file contents decoded back, a full disk, a
# missing folder). End to end (tests/e2e, each through the Debug server with sanitizers): recording
# over the HTTP API and with --record, a recording that survives SIGKILL, RTMP into a loopback
# nginx (killed and restarted mid-stream), WHIP into a test receiver, the virtual camera (skipped
# without a v4l2loopback device), and the failures (unreachable URL, missing device, a folder that
# cannot be written).
# (server.cmake is included after this file: its GLib leak suppressions are named here too)
set(LS_OUTPUTS_LEAK_OPTIONS "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/e2e/lsan.supp:print_suppressions=0"
    "ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0")
ls_test(test_record_sink test_record_sink.c)
add_test(NAME test_record_sink COMMAND test_record_sink ${CMAKE_CURRENT_BINARY_DIR}/record_sink)
set_tests_properties(test_record_sink PROPERTIES ENVIRONMENT "${LS_OUTPUTS_LEAK_OPTIONS}" RESOURCE_LOCK live_media)
ls_test(test_encoders test_encoders.c)
add_test(NAME test_encoders COMMAND test_encoders)
set_tests_properties(test_encoders PROPERTIES ENVIRONMENT "${LS_OUTPUTS_LEAK_OPTIONS}")
ls_test(test_push_outputs test_push_outputs.c)
add_test(NAME test_push_outputs COMMAND test_push_outputs)
set_tests_properties(test_push_outputs PROPERTIES ENVIRONMENT "${LS_OUTPUTS_LEAK_OPTIONS}")

# End to end, through tests/e2e/serve.py and the demo avatar that server.cmake (included after
# this file) makes: the tests are added once the whole folder has been read.
function(ls_outputs_e2e_tests)
  set(args --lipstream $<TARGET_FILE:lipstream> --avatar-dir ${LS_E2E_AVATARS})
  foreach(name record rtmp whip vcam failures)
    add_test(NAME outputs_${name} COMMAND ${LS_PYTHON} ${LS_E2E}/${name}_test.py ${args})
  endforeach()
  set_tests_properties(outputs_record outputs_rtmp outputs_whip outputs_vcam outputs_failures PROPERTIES
                       FIXTURES_REQUIRED server_avatar SKIP_RETURN_CODE 77 TIMEOUT 180 RESOURCE_LOCK live_media)
endfunction()
cmake_language(DEFER CALL ls_outputs_e2e_tests)
