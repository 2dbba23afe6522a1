# Images and avatars: codecs, cv2-exact resizing, blending, the face detector,
# avatar folders, preparation (images, folders, videos) and latents, face
# parsing and its masks. Reference data: tests/ref/avatar_ref.py and
# tests/ref/bisenet_ref.py.
set(LS_AVATAR_REF ${CMAKE_CURRENT_BINARY_DIR}/avatar_ref)
set(LS_AVATAR_WORK ${CMAKE_CURRENT_BINARY_DIR}/avatar_work)
set(LS_ASTRONAUT ${CMAKE_SOURCE_DIR}/data/astronaut.png)
set(LS_BISENET_REF ${CMAKE_CURRENT_BINARY_DIR}/bisenet_ref)
add_test(NAME avatar_ref COMMAND ${LS_PYTHON} ${LS_REF_DIR}/avatar_ref.py ${LS_AVATAR_REF})
add_test(NAME avatar_work_clean COMMAND ${CMAKE_COMMAND} -E rm -rf ${LS_AVATAR_WORK})
set_tests_properties(avatar_ref avatar_work_clean PROPERTIES FIXTURES_SETUP avatar_ref)

foreach(name test_image test_blend)
  ls_test(${name} ${name}.c)
  add_test(NAME ${name} COMMAND ${name} ${LS_AVATAR_REF})
endforeach()
# The paste-back's device arithmetic against the host's (no reference data).
ls_test(test_paste test_paste.c)
add_test(NAME test_paste COMMAND test_paste)
ls_test(test_cascade test_cascade.c)
add_test(NAME test_cascade COMMAND test_cascade ${LS_AVATAR_REF} ${LS_ASTRONAUT})
ls_test(test_avatar test_avatar.c)
add_test(NAME test_avatar COMMAND test_avatar ${LS_AVATAR_REF} ${LS_ASTRONAUT} ${LS_AVATAR_WORK})
set_tests_properties(test_image test_blend test_cascade test_avatar
                     PROPERTIES FIXTURES_REQUIRED avatar_ref)
# GStreamer (video decoding) interns names into GLib's quark table, whose replaced blocks
# GLib drops on purpose: the shared suppressions (server.cmake and outputs.cmake name them too).
set(LS_AVATAR_GLIB_LEAK_OPTIONS
    "LSAN_OPTIONS=suppressions=${CMAKE_CURRENT_SOURCE_DIR}/e2e/lsan.supp:print_suppressions=0"
    "ASAN_OPTIONS=detect_leaks=1:fast_unwind_on_malloc=0")
set_tests_properties(test_avatar PROPERTIES ENVIRONMENT "${LS_AVATAR_GLIB_LEAK_OPTIONS}")

# BiSeNet face parsing: random-weight network vs PyTorch, Pillow resizes, mask modes.
add_test(NAME bisenet_ref COMMAND ${LS_PYTHON} ${LS_REF_DIR}/bisenet_ref.py ${LS_BISENET_REF})
set_tests_properties(bisenet_ref PROPERTIES FIXTURES_SETUP bisenet_ref)
ls_test(test_bisenet test_bisenet.c)
add_test(NAME test_bisenet COMMAND test_bisenet ${LS_BISENET_REF} --full)
set_tests_properties(test_bisenet PROPERTIES FIXTURES_REQUIRED bisenet_ref)

# The command line on the demo avatar: create from data/astronaut.png, then info.
add_test(NAME avatar_cli_create
         COMMAND lipstream avatar create --input ${LS_ASTRONAUT} --out ${LS_AVATAR_WORK}/demo
                 --weights_dir ${LS_AVATAR_WORK}/no_models)
set_tests_properties(avatar_cli_create PROPERTIES FIXTURES_REQUIRED avatar_ref
                     FIXTURES_SETUP avatar_demo PASS_REGULAR_EXPRESSION "frames: 1 \\(1 with a face")
add_test(NAME avatar_cli_info COMMAND lipstream avatar info ${LS_AVATAR_WORK}/demo)
set_tests_properties(avatar_cli_info PROPERTIES FIXTURES_REQUIRED avatar_demo
                     PASS_REGULAR_EXPRESSION "frame size: 512x512.*face box 0: \\(1[6-9][0-9], [4-9][0-9], 2[6-9][0-9], 1[7-9][0-9]\\)")
add_test(NAME avatar_cli_create_with_vae
         COMMAND lipstream avatar create --input ${LS_ASTRONAUT} --out ${LS_AVATAR_WORK}/demo_vae
                 --weights_dir ${LS_AVATAR_REF}/models --version v1 --bbox_shift -5 --id demo-vae)
set_tests_properties(avatar_cli_create_with_vae PROPERTIES FIXTURES_REQUIRED avatar_ref
                     PASS_REGULAR_EXPRESSION "avatar demo-vae written.*latents: computed")
# From a video (H.264 in MP4 at 30 fps, 8 frames) with the tiny VAE, then info; a garbage file.
add_test(NAME avatar_cli_create_video
         COMMAND lipstream avatar create --input ${LS_AVATAR_REF}/video/clip.mp4
                 --out ${LS_AVATAR_WORK}/from_video --weights_dir ${LS_AVATAR_REF}/models)
set_tests_properties(avatar_cli_create_video PROPERTIES FIXTURES_REQUIRED avatar_ref
                     FIXTURES_SETUP avatar_from_video ENVIRONMENT "${LS_AVATAR_GLIB_LEAK_OPTIONS}"
                     PASS_REGULAR_EXPRESSION "frames: 8 \\(8 with a face.*320x320.*video: 30 fps, not 25.*latents: computed")
add_test(NAME avatar_cli_info_video COMMAND lipstream avatar info ${LS_AVATAR_WORK}/from_video)
set_tests_properties(avatar_cli_info_video PROPERTIES FIXTURES_REQUIRED avatar_from_video
                     PASS_REGULAR_EXPRESSION "geometric masks.*frames: +8 \\(8 with a face\\).*frame size: 320x320.*latents: +\\(8, 8, 32, 32\\)")
add_test(NAME avatar_cli_create_garbage
         COMMAND lipstream avatar create --input ${LS_AVATAR_REF}/video/garbage.mp4
                 --out ${LS_AVATAR_WORK}/garbage --weights_dir ${LS_AVATAR_WORK}/no_models)
set_tests_properties(avatar_cli_create_garbage PROPERTIES FIXTURES_REQUIRED avatar_ref
                     ENVIRONMENT "${LS_AVATAR_GLIB_LEAK_OPTIONS}"
                     PASS_REGULAR_EXPRESSION "garbage.mp4.*neither an image nor a video")
# LS_FACE_CASCADE names the face detector's cascade file (a machine without opencv-data).
add_test(NAME avatar_cli_create_cascade_env
         COMMAND lipstream avatar create --input ${LS_ASTRONAUT} --out ${LS_AVATAR_WORK}/cascade_env
                 --weights_dir ${LS_AVATAR_WORK}/no_models)
set_tests_properties(avatar_cli_create_cascade_env PROPERTIES ENVIRONMENT "LS_FACE_CASCADE=${LS_AVATAR_WORK}/no.xml"
                     PASS_REGULAR_EXPRESSION "face detector cascade.*/no.xml: cannot open")
# With face parsing weights (the random BiSeNet): MuseTalk v1.5's jaw masks, recorded in the folder.
add_test(NAME avatar_cli_create_parsing
         COMMAND lipstream avatar create --input ${LS_ASTRONAUT} --out ${LS_AVATAR_WORK}/parsed
                 --weights_dir ${LS_BISENET_REF}/models)
set_tests_properties(avatar_cli_create_parsing PROPERTIES FIXTURES_REQUIRED "avatar_ref;bisenet_ref"
                     FIXTURES_SETUP avatar_parsed
                     PASS_REGULAR_EXPRESSION "masks: face parsing \\(BiSeNet\\), mode jaw")
add_test(NAME avatar_cli_info_parsing COMMAND lipstream avatar info ${LS_AVATAR_WORK}/parsed)
set_tests_properties(avatar_cli_info_parsing PROPERTIES FIXTURES_REQUIRED avatar_parsed
                     PASS_REGULAR_EXPRESSION "parsing-jaw masks")
add_test(NAME avatar_cli_info_livetalking COMMAND lipstream avatar info ${LS_AVATAR_REF}/livetalking)
set_tests_properties(avatar_cli_info_livetalking PROPERTIES FIXTURES_REQUIRED avatar_ref
                     PASS_REGULAR_EXPRESSION "format: +livetalking.*latents: +\\(4, 8, 32, 32\\)")
add_test(NAME avatar_cli_broken COMMAND lipstream avatar info ${LS_AVATAR_REF}/broken/mask_size)
set_tests_properties(avatar_cli_broken PROPERTIES FIXTURES_REQUIRED avatar_ref WILL_FAIL TRUE)

# libFuzzer run of the cascade reader (binary from scripts/test.sh's build/fuzz; skipped without it).
add_test(NAME fuzz_cascade_xml
         COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/run_fuzzer.sh
                 ${CMAKE_SOURCE_DIR}/build/fuzz/tests/fuzz/fuzz_cascade_xml
                 ${CMAKE_CURRENT_BINARY_DIR}/fuzz_corpus/cascade_xml ${LS_AVATAR_REF}/seeds/cascade_xml 20)
set_tests_properties(fuzz_cascade_xml PROPERTIES FIXTURES_REQUIRED avatar_ref SKIP_RETURN_CODE 77
                     TIMEOUT 120)
