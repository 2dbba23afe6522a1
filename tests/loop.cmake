# The real-time lip-sync engine (src/live): streamed whisper features, the
# shared inference worker, composition, the per-session engine, and
# `lipstream render`. Reference data: tests/ref/whisper_ref.py (the whisper
# area's fixture) and tests/ref/loop_ref.py (small random models laid out as
# models/, avatar frames, clips and audio).
# whisper.cmake is included after this file: name its fixture's folder here.
set(LS_LOOP_WHISPER_REF ${CMAKE_CURRENT_BINARY_DIR}/whisper_ref)

ls_test(test_stream_features test_stream_features.c)
add_test(NAME test_stream_features COMMAND test_stream_features ${LS_LOOP_WHISPER_REF})
set_tests_properties(test_stream_features PROPERTIES FIXTURES_REQUIRED whisper_ref)

# musetalk.cmake's fixture: the small random UNet + VAE.
set(LS_LOOP_MUSETALK_SMALL ${CMAKE_CURRENT_BINARY_DIR}/musetalk_small)
ls_test(test_infer_worker test_infer_worker.c)
add_test(NAME test_infer_worker COMMAND test_infer_worker ${LS_LOOP_MUSETALK_SMALL})
set_tests_properties(test_infer_worker PROPERTIES FIXTURES_REQUIRED musetalk_small)

ls_test(test_compose test_compose.c)
add_test(NAME test_compose COMMAND test_compose ${CMAKE_CURRENT_BINARY_DIR}/loop_compose)

# Small models laid out as models/, avatar frames, speech, an action clip;
# then an avatar made from the frames by the command line (latents by the VAE).
set(LS_LOOP_REF ${CMAKE_CURRENT_BINARY_DIR}/loop_ref)
set(LS_LOOP_WORK ${CMAKE_CURRENT_BINARY_DIR}/loop_work)
add_test(NAME loop_ref COMMAND ${LS_PYTHON} ${LS_REF_DIR}/loop_ref.py ${LS_LOOP_REF})
add_test(NAME loop_work_clean COMMAND ${CMAKE_COMMAND} -E rm -rf ${LS_LOOP_WORK})
set_tests_properties(loop_ref loop_work_clean PROPERTIES FIXTURES_SETUP loop_ref)
add_test(NAME loop_avatar
         COMMAND lipstream avatar create --input ${LS_LOOP_REF}/avatar_frames
                 --out ${LS_LOOP_WORK}/avatar --bbox 64,40,128,120 --version v15
                 --weights_dir ${LS_LOOP_REF}/models --id loop)
set_tests_properties(loop_avatar PROPERTIES FIXTURES_REQUIRED loop_ref FIXTURES_SETUP loop_avatar
                     PASS_REGULAR_EXPRESSION "latents: computed")

ls_test(test_lipsync test_lipsync.c)
add_test(NAME test_lipsync COMMAND test_lipsync ${LS_LOOP_REF} ${LS_LOOP_WORK}/avatar)
set_tests_properties(test_lipsync PROPERTIES FIXTURES_REQUIRED "loop_ref;loop_avatar"
                     ENVIRONMENT "ASAN_OPTIONS=allocator_may_return_null=1")

# `lipstream render`: three files, then their decoded contents. GStreamer's
# GLib drops its grown quark table on purpose: the shared suppression file
# names it (matched through a full unwind).
set(LS_LOOP_GST_ENV
    "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/e2e/lsan.supp:fast_unwind_on_malloc=0")
set(LS_LOOP_RENDER lipstream render --avatar ${LS_LOOP_WORK}/avatar --threads 2)
add_test(NAME loop_render
         COMMAND ${LS_LOOP_RENDER} --audio ${LS_LOOP_REF}/speech.wav --weights_dir ${LS_LOOP_REF}/models
                 --batch_size 4 --out ${LS_LOOP_WORK}/render.mp4)
add_test(NAME loop_render_none
         COMMAND ${LS_LOOP_RENDER} --audio ${LS_LOOP_REF}/speech.wav --model none
                 --out ${LS_LOOP_WORK}/render_none.mp4)
add_test(NAME loop_render_text
         COMMAND ${LS_LOOP_RENDER} --text "Hello from lipstream." --model none
                 --out ${LS_LOOP_WORK}/render_text.mp4)
set_tests_properties(loop_render loop_render_none loop_render_text PROPERTIES
                     FIXTURES_REQUIRED "loop_ref;loop_avatar" FIXTURES_SETUP loop_render
                     ENVIRONMENT "${LS_LOOP_GST_ENV}")
# The same render with the CUDA backend on the tests' CUDA emulator (cuda.cmake): the
# whole per-frame path of a session on the backend's code (avatar upload, worker batches
# captured and replayed as graphs, paste-back and download of composed frames).
set(LS_LOOP_DEVICE_RENDER "")
if(TARGET lipstream_emulated)
  add_test(NAME loop_render_emulated_cuda
           COMMAND lipstream_emulated render --avatar ${LS_LOOP_WORK}/avatar --threads 2 --device cuda
                   --audio ${LS_LOOP_REF}/speech.wav --weights_dir ${LS_LOOP_REF}/models
                   --batch_size 4 --out ${LS_LOOP_WORK}/render_cuda.mp4)
  # a call that breaks graph capture is reported by the emulator and survived by the
  # backend (the pass runs unrecorded): either message fails the test
  set_tests_properties(loop_render_emulated_cuda PROPERTIES
                       FIXTURES_REQUIRED "loop_ref;loop_avatar" FIXTURES_SETUP loop_render
                       ENVIRONMENT "${LS_LOOP_GST_ENV}"
                       FAIL_REGULAR_EXPRESSION "cuda emulator:|recording a pass failed")
  set(LS_LOOP_DEVICE_RENDER ${LS_LOOP_WORK}/render_cuda.mp4)
endif()
ls_test(test_render test_render.c)
add_test(NAME test_render COMMAND test_render ${LS_LOOP_REF} ${LS_LOOP_WORK}/avatar ${LS_LOOP_WORK}
                                  ${LS_LOOP_DEVICE_RENDER})
set_tests_properties(test_render PROPERTIES FIXTURES_REQUIRED "loop_ref;loop_avatar;loop_render"
                     ENVIRONMENT "${LS_LOOP_GST_ENV}")

# Missing weights: one message naming every file and where it comes from.
add_test(NAME loop_render_missing
         COMMAND ${LS_LOOP_RENDER} --audio ${LS_LOOP_REF}/speech.wav
                 --weights_dir ${LS_LOOP_REF}/clips --out ${LS_LOOP_WORK}/missing.mp4)
set_tests_properties(loop_render_missing PROPERTIES FIXTURES_REQUIRED "loop_ref;loop_avatar"
                     PASS_REGULAR_EXPRESSION
                     "missing musetalk/musetalk.json.*sd-vae/config.json.*whisper/tiny.pt")
add_test(NAME loop_render_usage COMMAND lipstream render --avatar x --out y.mp4)
set_tests_properties(loop_render_usage PROPERTIES WILL_FAIL TRUE)

set_property(TEST test_stream_features test_infer_worker test_compose loop_ref loop_work_clean
             loop_avatar test_lipsync loop_render loop_render_none loop_render_text test_render
             loop_render_missing loop_render_usage APPEND PROPERTY LABELS loop)

# The live server lip-syncing with the small models: an aiortc client connects, hears the
# spoken text, and the server counts frames with a generated face. The sanitizer build on this
# CPU cannot infer in real time, so the lag policy is "wait" (audio waits for its video: lip sync
# kept, the stream runs late) and the frame-rate floor is low.
add_test(NAME loop_serve_lipsync
         COMMAND ${LS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/serve.py --lipstream $<TARGET_FILE:lipstream>
                 --avatar-dir ${LS_LOOP_WORK}
                 "--server-args=--avatar_id avatar --model musetalk --weights_dir ${LS_LOOP_REF}/models --batch_size 4 --lag_policy wait --customvideo_config ${LS_LOOP_REF}/clips.json"
                 -- ${LS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/aiortc_client.py {url} --seconds 8 --min-fps 2 --min-lipsynced 10
                 --speak-timeout 90 --audiotype 2
                 --speak "Hello, I am lipstream, lip-syncing with small random models.")
set_tests_properties(loop_serve_lipsync PROPERTIES FIXTURES_REQUIRED "loop_ref;loop_avatar" LABELS loop
                     SKIP_RETURN_CODE 77 TIMEOUT 300 RESOURCE_LOCK live_media)

# Measuring the live loop (small models, lag policy "wait"): /metrics scraped while a session speaks
# (e2e/metrics_test.py); the server's frames for an uploaded utterance equal `lipstream render`'s
# (e2e/live_offline_test.py, the server records them with the offer's "frame_log"); latency by
# stage and the A/V offset at the client (e2e/latency_test.py); per-session action clips in /offer
# (e2e/custom_config_test.py, without models).
set(LS_LOOP_SERVE ${LS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/serve.py --lipstream $<TARGET_FILE:lipstream>
    --avatar-dir ${LS_LOOP_WORK})
set(LS_LOOP_SERVE_MUSETALK
    "--server-args=--avatar_id avatar --model musetalk --weights_dir ${LS_LOOP_REF}/models --batch_size 4 --lag_policy wait")
add_test(NAME loop_metrics
         COMMAND ${LS_LOOP_SERVE} ${LS_LOOP_SERVE_MUSETALK}
                 -- ${LS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/metrics_test.py {url})
add_test(NAME loop_live_offline
         COMMAND ${LS_LOOP_SERVE} ${LS_LOOP_SERVE_MUSETALK}
                 -- ${LS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/live_offline_test.py {url} $<TARGET_FILE:lipstream>
                    ${LS_LOOP_WORK}/avatar ${LS_LOOP_REF}/models ${LS_LOOP_WORK}/live_offline)
add_test(NAME loop_latency
         COMMAND ${LS_LOOP_SERVE} ${LS_LOOP_SERVE_MUSETALK}
                 -- ${LS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/latency_test.py {url})
add_test(NAME loop_custom_config
         COMMAND ${LS_LOOP_SERVE} "--server-args=--avatar_id avatar --model none --custom_config_dir ${LS_LOOP_REF}/clips"
                 -- ${LS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/custom_config_test.py {url} ${LS_LOOP_REF}/clips.json)
set_tests_properties(loop_metrics loop_live_offline loop_latency loop_custom_config PROPERTIES
                     FIXTURES_REQUIRED "loop_ref;loop_avatar" LABELS loop SKIP_RETURN_CODE 77 TIMEOUT 300
                     RESOURCE_LOCK live_media ENVIRONMENT "${LS_LOOP_GST_ENV}")

# Many clients at once, well-behaved and not, on a server with three session slots and a test LLM
# (e2e/storm_test.py): every answer documented, /metrics prompt, every session closed, no thread or
# socket left behind.
add_test(NAME loop_storm
         COMMAND ${LS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/storm_test.py --lipstream $<TARGET_FILE:lipstream>
                 --avatar-dir ${LS_LOOP_WORK}
                 "--server-args=--avatar_id avatar --model musetalk --weights_dir ${LS_LOOP_REF}/models --batch_size 4 --lag_policy wait --customvideo_config ${LS_LOOP_REF}/clips.json --max_session 3 --record_dir ${LS_LOOP_WORK}/storm_records")
set_tests_properties(loop_storm PROPERTIES FIXTURES_REQUIRED "loop_ref;loop_avatar" LABELS loop
                     SKIP_RETURN_CODE 77 TIMEOUT 300 RESOURCE_LOCK live_media)

# RTCP sender reports of audio and video agree while the loop runs late (e2e/rtcp_sync_test.py).
add_test(NAME loop_rtcp_sync COMMAND ${LS_LOOP_SERVE} ${LS_LOOP_SERVE_MUSETALK} -- ${LS_PYTHON}
         ${CMAKE_CURRENT_SOURCE_DIR}/e2e/rtcp_sync_test.py {url})
set_tests_properties(loop_rtcp_sync PROPERTIES FIXTURES_REQUIRED "loop_ref;loop_avatar" LABELS loop
                     SKIP_RETURN_CODE 77 TIMEOUT 300 RESOURCE_LOCK live_media)

# The live server on the CUDA emulator (cuda.cmake): its GPU start-up (the worker's warm-up
# recording the batch, the session reservation measured), then a session whose render calls
# are all replayed recordings that allocate nothing (e2e/gpu_worker_test.py). Batch size 1:
# an emulated pass of the small models takes seconds.
if(TARGET lipstream_emulated)
  add_test(NAME loop_serve_emulated_cuda
           COMMAND ${LS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/serve.py
                   --lipstream $<TARGET_FILE:lipstream_emulated> --avatar-dir ${LS_LOOP_WORK}
                   --asan-options=protect_shadow_gap=0 --start-timeout 300
                   "--server-args=--avatar_id avatar --model musetalk --weights_dir ${LS_LOOP_REF}/models --batch_size 1 --lag_policy wait --device cuda"
                   -- ${LS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/gpu_worker_test.py {url} {pid} 1)
  # sessions on an emulated device too small for two: the second refused at /offer, the
  # server unharmed, a closed session's device memory given back (e2e/gpu_admission_test.py)
  add_test(NAME loop_serve_emulated_cuda_full
           COMMAND ${LS_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/e2e/gpu_admission_test.py
                   $<TARGET_FILE:lipstream_emulated> ${LS_LOOP_WORK} --avatar_id avatar --model musetalk
                   --weights_dir ${LS_LOOP_REF}/models --batch_size 1 --device cuda)
  set_tests_properties(loop_serve_emulated_cuda loop_serve_emulated_cuda_full PROPERTIES
                       FIXTURES_REQUIRED "loop_ref;loop_avatar"
                       LABELS loop SKIP_RETURN_CODE 77 TIMEOUT 600 RESOURCE_LOCK live_media
                       FAIL_REGULAR_EXPRESSION "cuda emulator:|recording a pass failed")
endif()
