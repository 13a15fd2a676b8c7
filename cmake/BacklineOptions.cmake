# Compile options shared by every Backline target, as INTERFACE targets linked PRIVATE
# (the asio-grpc pattern): nothing global, so dependencies are compiled as they ship.

add_library(backline_warnings INTERFACE)
target_compile_options(backline_warnings INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wall -Wextra -Wpedantic -Wshadow>)

# engine/ is also held to -Wconversion: it does the byte and index arithmetic.
add_library(backline_strict INTERFACE)
target_link_libraries(backline_strict INTERFACE backline_warnings)
target_compile_options(backline_strict INTERFACE
  $<$<CXX_COMPILER_ID:GNU,Clang>:-Wconversion -Wsign-conversion>)

# Sanitizers (every Backline target links backline_sanitizers):
#   BACKLINE_SANITIZE  AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer comes with
#                      ASan on Linux). Every UB report is fatal (-fno-sanitize-recover=all).
#   BACKLINE_TSAN      ThreadSanitizer (cannot be combined with ASan).
#   BACKLINE_FUZZ      clang only: libFuzzer coverage instrumentation of every target
#                      (-fsanitize=fuzzer-no-link) and the fuzz targets in tests/fuzz, which
#                      link libFuzzer's main (-fsanitize=fuzzer). Usually with BACKLINE_SANITIZE.
if(BACKLINE_SANITIZE AND BACKLINE_TSAN)
  message(FATAL_ERROR "BACKLINE_SANITIZE (ASan) and BACKLINE_TSAN cannot be combined")
endif()
if(BACKLINE_FUZZ AND NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
  message(FATAL_ERROR "BACKLINE_FUZZ needs clang (libFuzzer): configure with the "
                      "asan-fuzz preset or -DCMAKE_CXX_COMPILER=clang++")
endif()

add_library(backline_sanitizers INTERFACE)
set(_san)
if(BACKLINE_SANITIZE)
  list(APPEND _san -fsanitize=address,undefined -fno-sanitize-recover=all)
endif()
if(BACKLINE_TSAN)
  list(APPEND _san -fsanitize=thread)
endif()
if(_san)
  list(APPEND _san -fno-omit-frame-pointer)
  target_compile_options(backline_sanitizers INTERFACE ${_san})
  target_link_options(backline_sanitizers INTERFACE ${_san})
endif()
if(BACKLINE_FUZZ)
  target_compile_options(backline_sanitizers INTERFACE -fsanitize=fuzzer-no-link)
endif()

# ccache, when installed and no launcher was chosen: repeated builds (the sanitizer and fuzz
# builds of ./test especially) then recompile only what changed.
if(BACKLINE_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
  find_program(BACKLINE_CCACHE_PROGRAM ccache)
  if(BACKLINE_CCACHE_PROGRAM)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${BACKLINE_CCACHE_PROGRAM})
  endif()
endif()
