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

# The HTTP speech engines against a local Python test server (tests/speech/tts_server.py): OpenAI,
# GPT-SoVITS, CosyVoice, Fish Speech and XTTS (each also with a per-request voice override, and the
# checks on its reference file), and the time from an interrupt to a request's end.
# GStreamer (the audio decoder) keeps one-time allocations whose stacks need full unwinding to match.
set(LS_SPEECH_GST_LEAK_OPTIONS "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/e2e/lsan.supp:print_suppressions=0"
    "ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0")
ls_test(test_http_tts test_http_tts.c)
add_test(NAME test_http_tts COMMAND test_http_tts ${LS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/speech/tts_server.py)
set_tests_properties(test_http_tts PROPERTIES TIMEOUT 60 ENVIRONMENT "${LS_SPEECH_GST_LEAK_OPTIONS}")

# /human chat end to end (tests/e2e/chat_test.py): the lipstream server (e2e/serve.py) with its
# LLM at tests/speech/llm_server.py, a local test server speaking the OpenAI streaming protocol.
add_test(NAME server_chat
         COMMAND ${LS_PYTHON} ${LS_E2E}/chat_test.py --lipstream $<TARGET_FILE:lipstream> --avatar-dir ${LS_E2E_AVATARS})
set_tests_properties(server_chat PROPERTIES FIXTURES_REQUIRED server_avatar SKIP_RETURN_CODE 77 TIMEOUT 300
                     RESOURCE_LOCK live_media)
# /human's voice override end to end (tests/e2e/voice_test.py): --tts cosyvoice at
# tests/speech/tts_server.py, with and without --tts_ref_dir; references leaving the folder refused.
add_test(NAME server_voice
         COMMAND ${LS_PYTHON} ${LS_E2E}/voice_test.py --lipstream $<TARGET_FILE:lipstream> --avatar-dir ${LS_E2E_AVATARS})
set_tests_properties(server_voice PROPERTIES FIXTURES_REQUIRED server_avatar SKIP_RETURN_CODE 77 TIMEOUT 300
                     RESOURCE_LOCK live_media)
# Each --tts engine's options: the speech service's URL, the reference voice and its words.
add_test(NAME serve_cli_tts_openai COMMAND lipstream serve --tts openai)
set_tests_properties(serve_cli_tts_openai PROPERTIES PASS_REGULAR_EXPRESSION "--tts openai needs --TTS_SERVER")
add_test(NAME serve_cli_tts_sovits COMMAND lipstream serve --tts gpt-sovits --REF_FILE ref.wav)
set_tests_properties(serve_cli_tts_sovits PROPERTIES PASS_REGULAR_EXPRESSION "--tts gpt-sovits needs --TTS_SERVER")
add_test(NAME serve_cli_tts_xtts COMMAND lipstream serve --tts xtts --TTS_SERVER http://127.0.0.1:9000)
set_tests_properties(serve_cli_tts_xtts PROPERTIES PASS_REGULAR_EXPRESSION "--tts xtts needs --REF_FILE")
add_test(NAME serve_cli_tts_cosyvoice
         COMMAND lipstream serve --tts cosyvoice --TTS_SERVER http://127.0.0.1:50000 --REF_FILE ref.wav)
set_tests_properties(serve_cli_tts_cosyvoice PROPERTIES PASS_REGULAR_EXPRESSION "--tts cosyvoice needs --REF_TEXT")
# The folder of per-request reference voices must exist.
add_test(NAME serve_cli_tts_ref_dir COMMAND lipstream serve --tts_ref_dir ${CMAKE_CURRENT_BINARY_DIR}/no_voices)
set_tests_properties(serve_cli_tts_ref_dir PROPERTIES
                     PASS_REGULAR_EXPRESSION "--tts_ref_dir: '.*no_voices' is not a folder")
# A reference voice file that cannot be read stops start-up, naming the file.
add_test(NAME serve_cli_tts_ref_file
         COMMAND lipstream serve --avatar_dir ${LS_E2E_AVATARS} --listenport 1 --tts fishtts
                 --TTS_SERVER http://127.0.0.1:8080 --REF_FILE ${CMAKE_CURRENT_BINARY_DIR}/no_voices/ref.wav
                 --REF_TEXT words)
set_tests_properties(serve_cli_tts_ref_file PROPERTIES FIXTURES_REQUIRED server_avatar TIMEOUT 30
                     ENVIRONMENT "${LS_SPEECH_GST_LEAK_OPTIONS}"
                     PASS_REGULAR_EXPRESSION "--REF_FILE: .*no_voices/ref.wav")

# Compressed audio (WAV, MP3, Ogg Vorbis/Opus, M4A, FLAC) to 16 kHz mono through GStreamer.
ls_test(test_audio_decoder test_audio_decoder.c)
add_test(NAME test_audio_decoder COMMAND test_audio_decoder)
set_tests_properties(test_audio_decoder PROPERTIES TIMEOUT 120 ENVIRONMENT "${LS_SPEECH_GST_LEAK_OPTIONS}")
