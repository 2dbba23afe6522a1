# The CUDA backend (src/nn/cuda): found and configured here, added to the
# core library by ls_add_cuda_backend(). LS_CUDA=AUTO builds it when nvcc,
# the CUDA toolkit (cuBLAS) and cuDNN are all found, and says in the
# configure log what is missing when it does not; ON makes that an error.
#
# Device code is compiled for compute capability 8.0, 8.9 and 9.0 (A100,
# L4/RTX 40xx, H100/H200) as SASS plus PTX, small kernels only, so the
# three targets add little build time. Debug builds keep host-side
# sanitizers on the C code; nvcc compiles the kernels without them.
set(LS_WITH_CUDA OFF)
if(NOT LS_CUDA STREQUAL "OFF")
  if(NOT CMAKE_CUDA_COMPILER AND NOT DEFINED ENV{CUDACXX} AND EXISTS /usr/local/cuda/bin/nvcc)
    set(CMAKE_CUDA_COMPILER /usr/local/cuda/bin/nvcc)
  endif()
  include(CheckLanguage)
  check_language(CUDA)
  set(ls_cuda_missing "")
  if(NOT CMAKE_CUDA_COMPILER)
    list(APPEND ls_cuda_missing "nvcc")
  else()
    find_package(CUDAToolkit QUIET)   # the toolkit of CMAKE_CUDA_COMPILER
    if(NOT CUDAToolkit_FOUND OR NOT TARGET CUDA::cublas)
      list(APPEND ls_cuda_missing "the CUDA toolkit with cuBLAS")
    else()
      find_path(LS_CUDNN_INCLUDE_DIR cudnn.h HINTS ${CUDAToolkit_INCLUDE_DIRS})
      find_library(LS_CUDNN_LIBRARY cudnn
                   HINTS ${CUDAToolkit_LIBRARY_DIR} ${CUDAToolkit_LIBRARY_ROOT}/lib)
      if(NOT LS_CUDNN_INCLUDE_DIR OR NOT LS_CUDNN_LIBRARY)
        list(APPEND ls_cuda_missing "cuDNN (cudnn.h, libcudnn)")
      endif()
    endif()
  endif()
  if(ls_cuda_missing)
    string(JOIN ", " ls_cuda_missing_text ${ls_cuda_missing})
    if(LS_CUDA STREQUAL "ON")
      message(FATAL_ERROR "LS_CUDA=ON but not found: ${ls_cuda_missing_text}")
    endif()
    message(STATUS "CUDA backend: off (not found: ${ls_cuda_missing_text}); --device cuda will say so")
  else()
    set(LS_WITH_CUDA ON)
    if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
      set(CMAKE_CUDA_ARCHITECTURES 80 89 90)
    endif()
    set(CMAKE_CUDA_RUNTIME_LIBRARY Shared)   # one runtime: the one cuBLAS and cuDNN use
    enable_language(CUDA)
    set(CMAKE_CUDA_STANDARD 17)
    set(CMAKE_CUDA_FLAGS_RELEASE "-O3 -DNDEBUG")
    # C++ for the tests' CUDA emulator (tests/cuda_emu), with the C code's flags.
    enable_language(CXX)
    set(CMAKE_CXX_STANDARD 17)
    set(CMAKE_CXX_STANDARD_REQUIRED ON)
    set(CMAKE_CXX_EXTENSIONS OFF)
    set(CMAKE_CXX_FLAGS_RELEASE "${CMAKE_C_FLAGS_RELEASE}")
    set(CMAKE_CXX_FLAGS_DEBUG "${CMAKE_C_FLAGS_DEBUG}")
    message(STATUS "CUDA backend: on (nvcc ${CMAKE_CUDA_COMPILER_VERSION}, cuDNN "
                   "${LS_CUDNN_LIBRARY}, architectures ${CMAKE_CUDA_ARCHITECTURES})")
  endif()
else()
  message(STATUS "CUDA backend: off (LS_CUDA=OFF)")
endif()

function(ls_add_cuda_backend target)
  if(NOT LS_WITH_CUDA)
    return()
  endif()
  file(GLOB ls_cuda_sources CONFIGURE_DEPENDS ${CMAKE_SOURCE_DIR}/src/nn/cuda/*.c
       ${CMAKE_SOURCE_DIR}/src/nn/cuda/*.cu)
  target_sources(${target} PRIVATE ${ls_cuda_sources})
  target_compile_definitions(${target} PUBLIC LS_HAVE_CUDA)
  target_include_directories(${target} PRIVATE ${LS_CUDNN_INCLUDE_DIR})
  target_link_libraries(${target} PUBLIC CUDA::cudart CUDA::cublas ${LS_CUDNN_LIBRARY})
endfunction()
