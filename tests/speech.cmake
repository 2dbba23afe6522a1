# The speech front: streamed reply chunking, the server-sent-events parser, and the
# chat-completions client against a local Python test server (tests/speech/llm_server.py).
foreach(name reply_chunks sse_parser)
  ls_test(test_${name} test_${name}.c)
  add_test(NAME test_${name} COMMAND test_${name})
endforeach()
ls_test(test_llm_chat test_llm_chat.c)
add_test(NAME test_llm_chat COMMAND test_llm_chat ${LS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/speech/llm_server.py)
set_tests_properties(test_llm_chat PROPERTIES TIMEOUT 60 ENVIRONMENT
  "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/e2e/lsan.supp:print_suppressions=0")

# libFuzzer run of the event-stream parser (clang build in build/fuzz).
add_test(NAME fuzz_sse
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run_fuzzer.sh ${CMAKE_SOURCE_DIR}/build/fuzz/tests/fuzz/fuzz_sse
                 ${CMAKE_CURRENT_BINARY_DIR}/fuzz_corpus/sse ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/seeds/sse 20)
set_tests_properties(fuzz_sse PROPERTIES SKIP_RETURN_CODE 77 TIMEOUT 120)

# The HTTP speech engines against a local Python test server (tests/speech/tts_server.py).
ls_test(test_http_tts test_http_tts.c)
add_test(NAME test_http_tts COMMAND test_http_tts ${LS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/speech/tts_server.py)
set_tests_properties(test_http_tts PROPERTIES TIMEOUT 60 ENVIRONMENT
  "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/e2e/lsan.supp:print_suppressions=0")

# /human chat end to end (tests/e2e/chat_test.py): the lipstream server (e2e/serve.py) with its
# LLM at tests/speech/llm_server.py, a local test server speaking the OpenAI streaming protocol.
add_test(NAME server_chat
         COMMAND ${LS_PYTHON} ${LS_E2E}/chat_test.py --lipstream $<TARGET_FILE:lipstream> --avatar-dir ${LS_E2E_AVATARS})
set_tests_properties(server_chat PROPERTIES FIXTURES_REQUIRED server_avatar SKIP_RETURN_CODE 77 TIMEOUT 300
                     RESOURCE_LOCK live_media)
# --tts openai needs the speech service's URL.
add_test(NAME serve_cli_tts_openai COMMAND lipstream serve --tts openai)
set_tests_properties(serve_cli_tts_openai PROPERTIES PASS_REGULAR_EXPRESSION "--tts openai needs --TTS_SERVER")
