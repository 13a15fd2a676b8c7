# backline_web (included by CMakeLists.txt, not a web/CMakeLists.txt: web/ holds only what is
# published): the web/ files the server publishes, precompressed at build time so that the
# server never compresses on a network thread: for each text file, build/web/<file>.gz (gzip,
# Debian's gzip), <file>.br (Brotli, Debian's brotli, when installed) and <file>.sha256 (the
# hash of the file they were made from). server/static_files.cc reads them beside the file and
# here, and serves one by the request's Accept-Encoding.
find_program(BACKLINE_GZIP gzip REQUIRED)
find_program(BACKLINE_BROTLI brotli)
if(NOT BACKLINE_BROTLI)
  message(STATUS "brotli not found: web/ files are precompressed with gzip only "
                 "(install Debian's brotli package for Content-Encoding: br)")
endif()

# The text files of the top folder, curator/ and clinic/ (StaticFiles publishes these; never
# node_modules/ or tests/).
set(web_patterns)
foreach(dir "" "curator/" "clinic/")
  foreach(ext js css html svg txt)
    list(APPEND web_patterns ${PROJECT_SOURCE_DIR}/web/${dir}*.${ext})
  endforeach()
endforeach()
file(GLOB web_files CONFIGURE_DEPENDS RELATIVE ${PROJECT_SOURCE_DIR}/web ${web_patterns})
set(web_outputs)
foreach(file IN LISTS web_files)
  set(out ${CMAKE_BINARY_DIR}/web/${file})
  set(outputs ${out}.gz ${out}.sha256)
  if(BACKLINE_BROTLI)
    list(APPEND outputs ${out}.br)
  endif()
  add_custom_command(
    OUTPUT ${outputs}
    COMMAND ${CMAKE_COMMAND} -DSRC=${PROJECT_SOURCE_DIR}/web/${file} -DOUT=${out}
            -DGZIP=${BACKLINE_GZIP} -DBROTLI=${BACKLINE_BROTLI}
            -P ${PROJECT_SOURCE_DIR}/cmake/Precompress.cmake
    DEPENDS ${PROJECT_SOURCE_DIR}/web/${file} ${PROJECT_SOURCE_DIR}/cmake/Precompress.cmake
    COMMENT "Precompressing web/${file}"
    VERBATIM)
  list(APPEND web_outputs ${outputs})
endforeach()
add_custom_target(backline_web ALL DEPENDS ${web_outputs})
add_dependencies(backline backline_web)  # `cmake --build --target backline` makes them too
