# Writes OUT.gz (gzip -9, no name or time in the header, so the bytes depend on SRC alone),
# OUT.br (brotli -q 11, when BROTLI is set; a stale one is removed otherwise) and OUT.sha256,
# the SHA-256 of SRC they were made from. The server serves them only while that hash is its
# file's (server/static_files.h), so an edited web file is never answered with an old copy.
#
#   cmake -DSRC=web/widget.js -DOUT=build/web/widget.js -DGZIP=/usr/bin/gzip \
#         [-DBROTLI=/usr/bin/brotli] -P cmake/Precompress.cmake
get_filename_component(dir "${OUT}" DIRECTORY)
file(MAKE_DIRECTORY "${dir}")
file(REMOVE "${OUT}.sha256")  # written last: no sidecar while the copies are half made
execute_process(COMMAND "${GZIP}" -9 -n -c "${SRC}" OUTPUT_FILE "${OUT}.gz" RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "gzip failed on ${SRC}: ${rc}")
endif()
if(BROTLI)
  execute_process(COMMAND "${BROTLI}" -q 11 -c "${SRC}" OUTPUT_FILE "${OUT}.br" RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "brotli failed on ${SRC}: ${rc}")
  endif()
else()
  file(REMOVE "${OUT}.br")
endif()
file(SHA256 "${SRC}" hash)
file(WRITE "${OUT}.sha256" "${hash}\n")
