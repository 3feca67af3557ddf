# embed_text.cmake: a text file as a C array, at build time (no network, no
# tool beyond CMake). Used for the service's dashboard page.
#   cmake -DIN=page.html -DOUT=page.c -DNAME=serve_page_html -P embed_text.cmake
# writes: const char NAME[] = {..., 0}; const size_t NAME_len (bytes, no NUL)
# (NAME_len is spelled with NAME's "_html" replaced by "_len").
file(READ ${IN} hex HEX)
string(LENGTH "${hex}" n)
math(EXPR bytes "${n} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "(0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,0x..,)" "\\1\n" body "${body}")
string(REGEX REPLACE "_html$" "_len" len_name ${NAME})
file(WRITE ${OUT}.tmp "/* generated from ${IN} by tools/gen/embed_text.cmake: do not edit */\n"
  "#include <stddef.h>\n"
  "const char ${NAME}[] = {\n${body}0};\n"
  "const size_t ${len_name} = ${bytes};\n")
file(RENAME ${OUT}.tmp ${OUT})
