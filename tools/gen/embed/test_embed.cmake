# test_embed.cmake: golden results of embed_spirv on small shaders in testdata/.
#   cmake -DEMBED=... -DGLSLANG=... -DSRC_DIR=testdata -DWORK=dir -P test_embed.cmake
# Each "bad" shader must be rejected with its message; the "good" one accepted
# with the reflected row checked; a float shader is accepted with --allow-float.
file(MAKE_DIRECTORY "${WORK}")
set(failures 0)

function(compile name)
  execute_process(COMMAND "${GLSLANG}" -V --target-env vulkan1.1 -o "${WORK}/${name}.spv"
                          "${SRC_DIR}/${name}.comp"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "glslang failed on ${name}.comp:\n${out}")
  endif()
endfunction()

function(expect_reject name pattern)
  compile(${name})
  execute_process(COMMAND "${EMBED}" "${WORK}/out.c" ${ARGN} "${name}=${WORK}/${name}.spv"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(rc EQUAL 0 OR NOT out MATCHES "${pattern}")
    message(SEND_ERROR "${name}: want rejection matching '${pattern}', got rc=${rc}: ${out}")
  else()
    message(STATUS "ok ${name}: ${out}")
  endif()
endfunction()

expect_reject(float "OpTypeFloat")
expect_reject(ubo "not a std430 storage buffer")
expect_reject(gap "not exactly 0..n-1")
expect_reject(set1 "not in descriptor set 0")
expect_reject(rgba "not a std430 storage buffer")

compile(good)
compile(float)
compile(texel)
execute_process(COMMAND "${EMBED}" "${WORK}/out.c" --allow-float float "good=${WORK}/good.spv"
                        "float=${WORK}/float.spv" "texel=${WORK}/texel.spv"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
if(NOT rc EQUAL 0)
  message(SEND_ERROR "good + allowed float: rejected: ${out}")
else()
  file(READ "${WORK}/out.c" gen)
  set(want "{\"good\", spv_good, [0-9]+, 2, 12, {8, 2, 1}, 64, 0x0u, {0, 0}}")
  if(NOT gen MATCHES "${want}")
    message(SEND_ERROR "good: reflected row does not match '${want}':\n${gen}")
  else()
    message(STATUS "ok good: reflected 2 bindings, 12 push bytes, 8x2x1, 64 shared bytes")
  endif()
  set(want "{\"texel\", spv_texel, [0-9]+, 3, 0, {64, 1, 1}, 0, 0x0u, {1, 4, 0}}")
  if(NOT gen MATCHES "${want}")
    message(SEND_ERROR "texel: reflected row does not match '${want}':\n${gen}")
  else()
    message(STATUS "ok texel: uniform texel u32, storage texel i32, storage buffer")
  endif()
endif()
