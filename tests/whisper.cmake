# Audio input (WAV, resampling), log-mel, the whisper encoder, per-frame
# features and the `features` / `run pe` commands.
# Reference data: tests/ref/whisper_ref.py (random-weight checkpoints in the
# openai and Hugging Face layouts, WAV files, PyTorch results).
set(LS_WHISPER_REF ${CMAKE_CURRENT_BINARY_DIR}/whisper_ref)
add_test(NAME whisper_ref COMMAND ${LS_PYTHON} ${LS_REF_DIR}/whisper_ref.py ${LS_WHISPER_REF})
set_tests_properties(whisper_ref PROPERTIES FIXTURES_SETUP whisper_ref)

ls_test(test_wav test_wav.c)
add_test(NAME test_wav COMMAND test_wav ${CMAKE_CURRENT_BINARY_DIR})
ls_test(test_resample test_resample.c)
add_test(NAME test_resample COMMAND test_resample)

foreach(name test_logmel test_whisper test_features)
  ls_test(${name} ${name}.c)
  add_test(NAME ${name} COMMAND ${name} ${LS_WHISPER_REF})
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED whisper_ref)
endforeach()

# Command-line parity: run lipstream, then compare the .npy it wrote with a
# reference. ls_cli_parity(NAME REF ATOL RTOL ARGS...) appends --out itself.
ls_test(npy_close npy_close.c)
function(ls_cli_parity name ref atol rtol)
  set(out ${CMAKE_CURRENT_BINARY_DIR}/${name}.npy)
  string(JOIN " " args ${ARGN})
  add_test(NAME ${name}
           COMMAND sh -c "'$<TARGET_FILE:lipstream>' ${args} --out '${out}' && \
'$<TARGET_FILE:npy_close>' '${out}' '${LS_WHISPER_REF}/${ref}' ${atol} ${rtol}")
  set_tests_properties(${name} PROPERTIES FIXTURES_REQUIRED whisper_ref)
endfunction()

# Tolerances as in test_whisper.c (fp32 summation order through the encoder,
# measured 8e-6); the 44.1 kHz file adds the resampler's error, measured 5e-5
# after the encoder (see test_logmel.c for the log-mel).
ls_cli_parity(whisper_cli_features_v1 chunks_v1_33s.npy 1e-4 0
              features --whisper ${LS_WHISPER_REF}/tiny.pt --audio ${LS_WHISPER_REF}/speech_33s.wav)
ls_cli_parity(whisper_cli_features_v15_states states_v15_33s.npy 1e-4 0
              features --whisper ${LS_WHISPER_REF}/hf --audio ${LS_WHISPER_REF}/speech_33s.wav
              --states --threads 2)
ls_cli_parity(whisper_cli_features_44k chunks_v1_tones.npy 5e-4 0
              features --whisper ${LS_WHISPER_REF}/hf/pytorch_model.bin --version v1 --fps 25
              --audio ${LS_WHISPER_REF}/tones_44k.wav)
# PE is exact math in double here, fp32 in torch (see test_features.c).
ls_cli_parity(whisper_cli_run_pe pe_out.npy 1e-5 0 run pe --in ${LS_WHISPER_REF}/pe_in.npy)

# Bad input is a message and a failure status, not a crash.
add_test(NAME whisper_cli_bad_audio
         COMMAND lipstream features --whisper ${LS_WHISPER_REF}/tiny.pt
                 --audio ${LS_WHISPER_REF}/tiny.pt --out ${CMAKE_CURRENT_BINARY_DIR}/bad.npy)
set_tests_properties(whisper_cli_bad_audio PROPERTIES FIXTURES_REQUIRED whisper_ref
                     PASS_REGULAR_EXPRESSION "tiny.pt: not a RIFF/WAVE file")
add_test(NAME whisper_cli_usage COMMAND lipstream features --audio x.wav)
set_tests_properties(whisper_cli_usage PROPERTIES WILL_FAIL TRUE)

# `ctest -L whisper` runs this whole area.
set_property(TEST whisper_ref test_wav test_resample test_logmel test_whisper test_features
             whisper_cli_features_v1 whisper_cli_features_v15_states whisper_cli_features_44k
             whisper_cli_run_pe whisper_cli_bad_audio whisper_cli_usage
             APPEND PROPERTY LABELS whisper)

# Fuzzing the WAV parser (binary built by scripts/test.sh into build/fuzz); the seeds are
# small files of each supported layout.
add_test(NAME wav_seeds COMMAND ${LS_PYTHON} ${LS_REF_DIR}/wav_seeds.py ${CMAKE_CURRENT_BINARY_DIR}/wav_seeds)
set_tests_properties(wav_seeds PROPERTIES FIXTURES_SETUP wav_seeds)
add_test(NAME fuzz_wav
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run_fuzzer.sh
                 ${CMAKE_SOURCE_DIR}/build/fuzz/tests/fuzz/fuzz_wav
                 ${CMAKE_CURRENT_BINARY_DIR}/fuzz_corpus/wav ${CMAKE_CURRENT_BINARY_DIR}/wav_seeds 20)
set_tests_properties(fuzz_wav PROPERTIES FIXTURES_REQUIRED wav_seeds SKIP_RETURN_CODE 77 TIMEOUT 120)
