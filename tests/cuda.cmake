# The CUDA backend (src/nn/cuda) against the CPU backend, and the models'
# use of device memory. test_cuda_ops gpu needs a GPU and a CUDA build and
# reports SKIP (exit 77) without them; test_device_memory runs everywhere
# (see tests/test_cuda_ops.c). The fixtures are those of musetalk.cmake and
# whisper.cmake. The CUDA runtime under AddressSanitizer needs
# protect_shadow_gap=0 (it maps memory where ASan keeps its shadow gap).
set(LS_CUDA_TEST_DATA ${CMAKE_CURRENT_BINARY_DIR}/musetalk_small ${CMAKE_CURRENT_BINARY_DIR}/whisper_ref)
ls_test(test_cuda_ops test_cuda_ops.c)
add_test(NAME test_cuda_ops COMMAND test_cuda_ops gpu ${LS_CUDA_TEST_DATA})
add_test(NAME test_cuda_ops_bf16 COMMAND test_cuda_ops gpu-bf16 ${LS_CUDA_TEST_DATA})
add_test(NAME test_device_memory COMMAND test_cuda_ops host ${LS_CUDA_TEST_DATA})
set_tests_properties(test_cuda_ops test_cuda_ops_bf16 test_device_memory PROPERTIES
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
# --precision: a name that is none, and a GPU format asked of the CPU.
add_test(NAME precision_cli_unknown
         COMMAND lipstream run vae-decode --weights ${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/sd-vae
                 --in ${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/vae_z.npy
                 --out ${CMAKE_CURRENT_BINARY_DIR}/device_cli.npy --precision fp8)
set_tests_properties(precision_cli_unknown PROPERTIES FIXTURES_REQUIRED musetalk_small
                     PASS_REGULAR_EXPRESSION "--precision: unknown precision 'fp8' \\(fp16 or bf16\\)")
add_test(NAME precision_serve_cpu COMMAND lipstream serve --device cpu --precision bf16)
set_tests_properties(precision_serve_cpu PROPERTIES
                     PASS_REGULAR_EXPRESSION "--precision: bf16 is for a GPU; the CPU computes in fp32")
add_test(NAME precision_render_cpu
         COMMAND lipstream render --avatar ${CMAKE_CURRENT_BINARY_DIR}/no_avatar --audio none.wav
                 --out ${CMAKE_CURRENT_BINARY_DIR}/device_render.mp4 --device cpu --precision fp16)
set_tests_properties(precision_render_cpu PROPERTIES
                     PASS_REGULAR_EXPRESSION "lipstream render: --precision: fp16 is for a GPU")
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

# The CUDA backend on the CPU: test_cuda_ops gpu linked with the backend's C
# files and kernel files (compiled as C++, tests/cuda_emu/cuda_emu.h first)
# over the tests' emulation of the CUDA runtime, cuBLAS and cuDNN
# (tests/cuda_emu). It runs everywhere the backend compiles, GPU or not:
# every kernel's code (barriers, shuffles, shared memory, indexing under
# AddressSanitizer), every library call's arguments, stream ordering and
# graph capture, against the CPU backend. It proves nothing about speed or
# about the GPU's own arithmetic.
if(LS_WITH_CUDA)
  file(GLOB ls_cuda_c_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/nn/cuda/*.c)
  file(GLOB ls_cuda_kernel_files CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/nn/cuda/*.cu)
  set(ls_emulated_kernels "")
  foreach(kernel_file ${ls_cuda_kernel_files})
    get_filename_component(kernel_name ${kernel_file} NAME_WE)
    set(wrapper ${CMAKE_CURRENT_BINARY_DIR}/cuda_emu/${kernel_name}.cpp)
    file(CONFIGURE OUTPUT ${wrapper} CONTENT "#include \"cuda_emu.h\"\n#include \"${kernel_file}\"\n")
    list(APPEND ls_emulated_kernels ${wrapper})
  endforeach()
  file(GLOB ls_emulator_sources CONFIGURE_DEPENDS ${CMAKE_CURRENT_SOURCE_DIR}/cuda_emu/*.cpp)
  # the emulated libraries' arithmetic is optimized even in Debug builds
  set_source_files_properties(${CMAKE_CURRENT_SOURCE_DIR}/cuda_emu/emu_blas.cpp
                              ${CMAKE_CURRENT_SOURCE_DIR}/cuda_emu/emu_dnn.cpp
                              PROPERTIES COMPILE_OPTIONS -O2)
  add_library(lipstream_core_emulated STATIC ${CMAKE_SOURCE_DIR}/src/nn/device.c
              ${ls_cuda_c_sources} ${ls_emulated_kernels} ${ls_emulator_sources})
  target_link_libraries(lipstream_core_emulated PUBLIC lipstream_common)
  target_compile_definitions(lipstream_core_emulated PUBLIC LS_HAVE_CUDA)
  target_include_directories(lipstream_core_emulated PRIVATE ${CUDAToolkit_INCLUDE_DIRS}
                             ${LS_CUDNN_INCLUDE_DIR} ${CMAKE_CURRENT_SOURCE_DIR}/cuda_emu)
  target_compile_options(lipstream_core_emulated PRIVATE
                         $<$<COMPILE_LANGUAGE:CXX>:-Wno-deprecated-declarations>)
  add_executable(test_cuda_ops_emulated test_cuda_ops.c)
  target_link_libraries(test_cuda_ops_emulated PRIVATE lipstream_core_emulated)
  target_include_directories(test_cuda_ops_emulated PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
  target_compile_definitions(test_cuda_ops_emulated PRIVATE LS_CUDA_EMULATOR)
  add_test(NAME cuda_ops_emulated COMMAND test_cuda_ops_emulated gpu ${LS_CUDA_TEST_DATA})
  add_test(NAME cuda_ops_emulated_bf16 COMMAND test_cuda_ops_emulated gpu-bf16 ${LS_CUDA_TEST_DATA})
  set_tests_properties(cuda_ops_emulated cuda_ops_emulated_bf16 PROPERTIES
                       FIXTURES_REQUIRED "musetalk_small;whisper_ref")
  # the command line on the emulator: `render --device cuda` in loop.cmake
  add_executable(lipstream_emulated ${CMAKE_SOURCE_DIR}/src/main.c)
  target_link_libraries(lipstream_emulated PRIVATE lipstream_core_emulated)
  # --precision bf16 from the command line to the emulated GPU and back:
  # the VAE decode within the bf16 network tolerance of test_cuda_ops.c
  add_test(NAME precision_cli_bf16_emulated
           COMMAND sh -c "'$<TARGET_FILE:lipstream_emulated>' run vae-decode --device cuda \
--precision bf16 --weights '${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/sd-vae' \
--in '${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/vae_z.npy' \
--out '${CMAKE_CURRENT_BINARY_DIR}/precision_bf16.npy' && \
'$<TARGET_FILE:npy_close>' '${CMAKE_CURRENT_BINARY_DIR}/precision_bf16.npy' \
'${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/vae_decoded.npy' 0 8e-2")
  set_tests_properties(precision_cli_bf16_emulated PROPERTIES FIXTURES_REQUIRED musetalk_small)
  # a cuDNN that runs no algorithm for channel counts that are not multiples of 8 (the VAE's 4- and
  # 3-channel ends): those convolutions run as im2col + GEMM, logged, within the fp16 network tolerance
  add_test(NAME device_cudnn_narrow_emulated
           COMMAND sh -c "LS_CUDA_EMU_CUDNN_REFUSE=narrow '$<TARGET_FILE:lipstream_emulated>' run vae-decode \
--device cuda --weights '${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/sd-vae' \
--in '${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/vae_z.npy' \
--out '${CMAKE_CURRENT_BINARY_DIR}/cudnn_narrow.npy' 2> '${CMAKE_CURRENT_BINARY_DIR}/cudnn_narrow.log' && \
grep 'computed as im2col' '${CMAKE_CURRENT_BINARY_DIR}/cudnn_narrow.log' && \
'$<TARGET_FILE:npy_close>' '${CMAKE_CURRENT_BINARY_DIR}/cudnn_narrow.npy' \
'${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/vae_decoded.npy' 0 1e-2")
  set_tests_properties(device_cudnn_narrow_emulated PROPERTIES FIXTURES_REQUIRED musetalk_small)
  # a machine whose cuDNN cannot load its convolution library: --device cuda says so at once
  add_test(NAME device_cudnn_cnn_missing_emulated
           COMMAND lipstream_emulated run vae-decode --device cuda
                   --weights ${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/sd-vae
                   --in ${CMAKE_CURRENT_BINARY_DIR}/musetalk_small/vae_z.npy
                   --out ${CMAKE_CURRENT_BINARY_DIR}/cudnn_cnn_missing.npy)
  set_tests_properties(device_cudnn_cnn_missing_emulated PROPERTIES FIXTURES_REQUIRED musetalk_small
                       ENVIRONMENT "LS_CUDA_EMU_CUDNN_CNN=missing"
                       PASS_REGULAR_EXPRESSION "--device: cuda:0: cuDNN's convolution library \\(libcudnn_cnn.so.9\\): CUDNN_STATUS_SUBLIBRARY_LOADING_FAILED")
endif()

# The relocatable bundle for GPU machines without the build's libraries (scripts/bundle.sh): it
# builds its own Release tree with the CUDA backend, checks that every library resolves inside it
# or to the host's CUDA and C libraries, and streams from its server to its viewers with only its
# own plugins. Then scripts/gpu_check.sh runs from the bundle: the parity step (skipped without a
# GPU) and the sessions step on the CPU with the small models, through the bundle's viewers.
if(LS_WITH_CUDA)
  set(LS_BUNDLE ${CMAKE_CURRENT_BINARY_DIR}/bundle/bundle.tar.xz)
  add_test(NAME bundle COMMAND ${CMAKE_SOURCE_DIR}/scripts/bundle.sh ${LS_BUNDLE})
  set_tests_properties(bundle PROPERTIES FIXTURES_SETUP bundle TIMEOUT 1500 RESOURCE_LOCK live_media
                       ENVIRONMENT "LS_PYTHON=${LS_PYTHON};ASAN_OPTIONS=")
  add_test(NAME bundle_gpu_check
           COMMAND sh -c "'${CMAKE_SOURCE_DIR}/scripts/gpu_check.sh' '${CMAKE_CURRENT_BINARY_DIR}/gpu_check' \
'${LS_BUNDLE}' && grep -q 'sessions: passed' '${CMAKE_CURRENT_BINARY_DIR}/gpu_check/summary.txt'")
  set_tests_properties(bundle_gpu_check PROPERTIES FIXTURES_REQUIRED bundle TIMEOUT 600 RESOURCE_LOCK live_media
                       ENVIRONMENT "LS_PYTHON=${LS_PYTHON};ASAN_OPTIONS=;LS_CHECK_STEPS=parity sessions;\
LS_CHECK_DEVICE=cpu;LS_CHECK_SIZE=small;LS_CHECK_BATCH=4;LS_CHECK_SESSIONS=1,2;LS_CHECK_SPEECH_S=2")
endif()
