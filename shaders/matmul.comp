#version 450
#extension GL_GOOGLE_include_directive : require
// matmul: int8 matrix product with storage-buffer loads (any device).
#define SZ_PUSH_MATMUL
#include "numerics.glsl"
#include "fwd_push.h"
layout(local_size_x = 16, local_size_y = 4) in;
layout(std430, set = 0, binding = 0) readonly buffer XQ { uint xq[]; };  // [r][xkw]
layout(std430, set = 0, binding = 2) readonly buffer W { uint w[]; };    // [n_out][kw]
#define LOAD_X(i) xq[i]
#define LOAD_W(i) w[i]
#include "matmul_body.glsl"
