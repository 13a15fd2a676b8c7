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

add_library(backline_sanitizers INTERFACE)
if(BACKLINE_SANITIZE)
  set(_san -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_compile_options(backline_sanitizers INTERFACE ${_san})
  target_link_options(backline_sanitizers INTERFACE ${_san})
endif()
