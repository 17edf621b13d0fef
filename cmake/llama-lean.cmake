# Included by CMake right after llama.cpp's project() when llama-cpp-python is built with
#   CMAKE_ARGS="-DLLAVA_BUILD=OFF -DCMAKE_PROJECT_llama.cpp_INCLUDE=$PWD/cmake/llama-lean.cmake"
# (README's install command). llama-cpp-python forces llama.cpp's "common" utility library on
# (set(... CACHE ... FORCE), so -DLLAMA_BUILD_COMMON=OFF alone is overridden), although the
# Python package never loads it. common and its HTTP client (cpp-httplib) are about half of
# the compile; a normal variable set here shadows the forced cache entry (policy CMP0077), so
# llama.cpp skips them. libllama, libggml and the CPU backend are built exactly as before.
set(LLAMA_BUILD_COMMON OFF)
