# compile_shader.cmake: compile one GLSL compute shader to SPIR-V and validate it.
#   cmake -DGLSLANG=... -DSPIRV_VAL=... -DSRC=x.comp -DOUT=x.spv -DDEPFILE=x.d
#         -DINCLUDE_DIR=shaders/common -P compile_shader.cmake
# The .spv is written only if both steps succeed, so a failed validation never
# leaves an up-to-date-looking output behind.
foreach(v GLSLANG SPIRV_VAL SRC OUT DEPFILE INCLUDE_DIR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "compile_shader.cmake: ${v} not set")
  endif()
endforeach()
set(tmp "${OUT}.tmp")
file(REMOVE "${OUT}")
execute_process(
  COMMAND "${GLSLANG}" -V --target-env vulkan1.1 -I${INCLUDE_DIR}
          --depfile "${DEPFILE}.tmp" -o "${tmp}" "${SRC}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "glslangValidator failed on ${SRC}:\n${out}")
endif()
execute_process(
  COMMAND "${SPIRV_VAL}" --target-env vulkan1.1 "${tmp}"
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  file(REMOVE "${tmp}")
  message(FATAL_ERROR "spirv-val rejected ${SRC}:\n${out}")
endif()
# glslang names the temporary as the target; the build expects OUT.
file(READ "${DEPFILE}.tmp" dep)
string(REPLACE "${tmp}" "${OUT}" dep "${dep}")
file(WRITE "${DEPFILE}" "${dep}")
file(REMOVE "${DEPFILE}.tmp")
file(RENAME "${tmp}" "${OUT}")
