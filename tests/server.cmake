# The live server (lipstream serve). Unit tests of its parts: SDP offers (real offers in
# e2e/offers), the WebRTC answer in process, options and YAML config, request bodies, the
# speech queue, text chunking, espeak-ng through the speech service, the producer's pacing.
# Then end-to-end runs with real peers on loopback (tests/e2e): each starts the Debug server
# (sanitizers on; it must shut down cleanly on SIGINT) through e2e/serve.py. The browser
# test needs playwright-core, which scripts/test.sh installs into build/e2e (npm ci).
set(LS_OFFERS ${CMAKE_CURRENT_SOURCE_DIR}/e2e/offers)
foreach(name speech_queue text_chunks server_options server_request speech_service producer)
  ls_test(test_${name} test_${name}.c)
  add_test(NAME test_${name} COMMAND test_${name})
endforeach()
foreach(name sdp_offer webrtc_peer)
  ls_test(test_${name} test_${name}.c)
  add_test(NAME test_${name} COMMAND test_${name} ${LS_OFFERS})
endforeach()
set(LS_GLIB_LEAK_OPTIONS "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/e2e/lsan.supp:print_suppressions=0"
    "ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0")
set_tests_properties(test_webrtc_peer test_producer PROPERTIES ENVIRONMENT "${LS_GLIB_LEAK_OPTIONS}")

# The command line: --help lists every option; bad options and a missing avatar are clear errors.
add_test(NAME serve_cli_help COMMAND lipstream serve --help)
set_tests_properties(serve_cli_help PROPERTIES PASS_REGULAR_EXPRESSION
  "--listenport.*--avatar_id.*--avatar_dir.*--model.*--batch_size.*--fps.*--tts.*--REF_FILE.*--TTS_SERVER.*--transport.*--push_url.*--max_session.*--customvideo_config")
add_test(NAME serve_cli_no_avatar COMMAND lipstream serve --avatar_dir ${CMAKE_CURRENT_BINARY_DIR}/no_avatars
         --listenport 1)
set_tests_properties(serve_cli_no_avatar PROPERTIES ENVIRONMENT "${LS_GLIB_LEAK_OPTIONS}"
                     PASS_REGULAR_EXPRESSION "no avatar folder .*/no_avatars/demo \\(make one: lipstream avatar create")

# End to end, on the demo avatar made from data/astronaut.png.
set(LS_E2E ${CMAKE_CURRENT_SOURCE_DIR}/e2e)
set(LS_E2E_AVATARS ${CMAKE_CURRENT_BINARY_DIR}/e2e_avatars)
# --model musetalk without its weights: one message naming the folder and the missing files.
add_test(NAME serve_cli_model COMMAND lipstream serve --model musetalk --avatar_dir ${LS_E2E_AVATARS}
         --weights_dir ${CMAKE_CURRENT_BINARY_DIR}/no_models --listenport 1)
set_tests_properties(serve_cli_model PROPERTIES FIXTURES_REQUIRED server_avatar ENVIRONMENT "${LS_GLIB_LEAK_OPTIONS}"
                     PASS_REGULAR_EXPRESSION "--model musetalk \\(or --model none.*no_models.*whisper/tiny.pt")
add_test(NAME server_demo_avatar
         COMMAND lipstream avatar create --input ${CMAKE_SOURCE_DIR}/data/astronaut.png --out ${LS_E2E_AVATARS}/demo
                 --weights_dir ${LS_E2E_AVATARS}/no_models)
set_tests_properties(server_demo_avatar PROPERTIES FIXTURES_SETUP server_avatar)
set(LS_SERVE ${LS_PYTHON} ${LS_E2E}/serve.py --lipstream $<TARGET_FILE:lipstream> --avatar-dir ${LS_E2E_AVATARS})
add_test(NAME server_aiortc
         COMMAND ${LS_SERVE} -- ${LS_PYTHON} ${LS_E2E}/aiortc_client.py {url} --seconds 6
                 --speak "Hello, I am lipstream. This sentence travels over WebRTC.")
add_test(NAME server_browser COMMAND ${LS_SERVE} -- node ${LS_E2E}/browser_test.js {url})
set_tests_properties(server_browser PROPERTIES ENVIRONMENT NODE_PATH=${CMAKE_SOURCE_DIR}/build/e2e/node_modules)
add_test(NAME server_sessions
         COMMAND ${LS_SERVE} "--server-args=--max_session 12" --asan-options=quarantine_size_mb=16
                 -- ${LS_PYTHON} ${LS_E2E}/sessions_test.py {url} {pid})
add_test(NAME server_bad_input
         COMMAND ${LS_SERVE} "--server-args=--max_session 1" -- ${LS_PYTHON} ${LS_E2E}/bad_input_test.py {url})
# One at a time: each encodes live video on a small machine, and the timing checks need the CPU.
set_tests_properties(server_aiortc server_browser server_sessions server_bad_input PROPERTIES
                     FIXTURES_REQUIRED server_avatar SKIP_RETURN_CODE 77 TIMEOUT 300 RESOURCE_LOCK live_media)

# The sessions benchmark's C viewers (bench/webrtc_clients): webrtcbin offers with max-bundle, VP8 and
# H.264, decoded at 25 fps (e2e/webrtc_clients_test.py); the first two are still open during the third.
add_test(NAME server_webrtc_clients
         COMMAND ${LS_SERVE} "--server-args=--max_session 3"
                 -- ${LS_PYTHON} ${LS_E2E}/webrtc_clients_test.py {url} $<TARGET_FILE:webrtc_clients>)
set_tests_properties(server_webrtc_clients PROPERTIES FIXTURES_REQUIRED server_avatar TIMEOUT 180
                     RESOURCE_LOCK live_media ENVIRONMENT "${LS_GLIB_LEAK_OPTIONS}")

# The open-file limit: raised at start-up; out of descriptors, a session is refused (503) instead of
# the server aborting, and a session's event streams stop at eight (e2e/open_files_test.py).
add_test(NAME server_open_files
         COMMAND ${LS_PYTHON} ${LS_E2E}/open_files_test.py $<TARGET_FILE:lipstream> ${LS_E2E_AVATARS})
set_tests_properties(server_open_files PROPERTIES FIXTURES_REQUIRED server_avatar TIMEOUT 180
                     RESOURCE_LOCK live_media)

# Request bodies: refused ones are not kept, and all in flight share a memory budget
# (e2e/body_limits_test.py; ASan's quarantine kept small so that RSS shows what is kept).
add_test(NAME server_body_limits
         COMMAND ${LS_SERVE} --asan-options=quarantine_size_mb=1
                 -- ${LS_PYTHON} ${LS_E2E}/body_limits_test.py {url} {pid})
set_tests_properties(server_body_limits PROPERTIES FIXTURES_REQUIRED server_avatar TIMEOUT 180)

# libFuzzer runs (clang builds in build/fuzz) of the request-body and SDP-offer parsing.
set(LS_FUZZ_SEEDS_sdp_offer ${LS_OFFERS})
set(LS_FUZZ_SEEDS_http_request ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/seeds/http_request)
foreach(name sdp_offer http_request)
  add_test(NAME fuzz_${name}
           COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run_fuzzer.sh
                   ${CMAKE_SOURCE_DIR}/build/fuzz/tests/fuzz/fuzz_${name}
                   ${CMAKE_CURRENT_BINARY_DIR}/fuzz_corpus/${name} ${LS_FUZZ_SEEDS_${name}} 20)
  set_tests_properties(fuzz_${name} PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)
endforeach()

# --transition_ms of serve is range-checked like render's.
add_test(NAME serve_cli_transition COMMAND lipstream serve --transition_ms 5000)
set_tests_properties(serve_cli_transition PROPERTIES PASS_REGULAR_EXPRESSION "--transition_ms: 5000 is out of range")

# Speech events against the audio an aiortc client receives (tests/e2e/events_test.py).
add_test(NAME server_events COMMAND ${LS_SERVE} -- ${LS_PYTHON} ${LS_E2E}/events_test.py {url})
set_tests_properties(server_events PROPERTIES FIXTURES_REQUIRED server_avatar SKIP_RETURN_CODE 77 TIMEOUT 180
                     RESOURCE_LOCK live_media)
