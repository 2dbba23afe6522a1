# The CUDA backend (src/nn/cuda) against the CPU backend, and the models'
# use of device memory. test_cuda_ops gpu needs a GPU and a CUDA build and
# reports SKIP (exit 77) without them; test_device_memory runs everywhere
# (see tests/test_cuda_ops.c). The fixtures are those of musetalk.cmake and
# whisper.cmake. The CUDA runtime under AddressSanitizer needs
# protect_shadow_gap=0 (it maps memory where ASan keeps its shadow gap).
set(LS_CUDA_TEST_DATA ${CMAKE_CURRENT_BINARY_DIR}/musetalk_small ${CMAKE_CURRENT_BINARY_DIR}/whisper_ref)
ls_test(test_cuda_ops test_cuda_ops.c)
add_test(NAME test_cuda_ops COMMAND test_cuda_ops gpu ${LS_CUDA_TEST_DATA})
add_test(NAME test_device_memory COMMAND test_cuda_ops host ${LS_CUDA_TEST_DATA})
set_tests_properties(test_cuda_ops test_device_memory PROPERTIES
                     FIXTURES_REQUIRED "musetalk_small;whisper_ref" SKIP_RETURN_CODE 77
                     ENVIRONMENT "ASAN_OPTIONS=protect_shadow_gap=0")

# --device on the command line: a name that is no device, and a GPU no
# machine has, are clear errors in every build.
add_test(NAME device_cli_unknown
         COMMAND lipstream run vae-decode --weights ${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/sd-vae
                 --in ${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/vae_z.npy
                 --out ${CMAKE_CURRENT_BINARY_DIR}/device_cli.npy --device gpu0)
set_tests_properties(device_cli_unknown PROPERTIES FIXTURES_REQUIRED musetalk_small
                     PASS_REGULAR_EXPRESSION "--device: unknown device 'gpu0' \\(cpu, cuda, cuda:N or auto\\)")
add_test(NAME device_cli_missing_gpu
         COMMAND lipstream run vae-decode --weights ${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/sd-vae
                 --in ${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/vae_z.npy
                 --out ${CMAKE_CURRENT_BINARY_DIR}/device_cli.npy --device cuda:99)
set_tests_properties(device_cli_missing_gpu PROPERTIES FIXTURES_REQUIRED musetalk_small
                     ENVIRONMENT "ASAN_OPTIONS=protect_shadow_gap=0"
                     PASS_REGULAR_EXPRESSION "--device: cuda:99: (this lipstream was built without CUDA|no CUDA device|no such device|no NVIDIA driver|CUDA driver error)")
add_test(NAME device_serve_missing_gpu COMMAND lipstream serve --device cuda:99)
set_tests_properties(device_serve_missing_gpu PROPERTIES
                     ENVIRONMENT "ASAN_OPTIONS=protect_shadow_gap=0"
                     PASS_REGULAR_EXPRESSION "--device: cuda:99: ")
# The CPU path of `run --device cpu` gives the reference's result.
add_test(NAME device_cli_cpu
         COMMAND sh -c "'$<TARGET_FILE:lipstream>' run vae-decode --device cpu \
--weights '${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/sd-vae' \
--in '${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/vae_z.npy' --out '${CMAKE_CURRENT_BINARY_DIR}/device_cpu.npy' && \
'$<TARGET_FILE:npy_close>' '${CMAKE_CURRENT_BINARY_DIR}/device_cpu.npy' \
'${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/vae_decoded.npy' 0 2e-5")
set_tests_properties(device_cli_cpu PROPERTIES FIXTURES_REQUIRED musetalk_small)
add_test(NAME device_render_missing_gpu
         COMMAND lipstream render --avatar ${CMAKE_CURRENT_BINARY_DIR}/no_avatar --audio none.wav
                 --out ${CMAKE_CURRENT_BINARY_DIR}/device_render.mp4 --device cuda:99)
set_tests_properties(device_render_missing_gpu PROPERTIES
                     ENVIRONMENT "ASAN_OPTIONS=protect_shadow_gap=0"
                     PASS_REGULAR_EXPRESSION "lipstream render: --device: cuda:99: ")
