#version 450
#extension GL_GOOGLE_include_directive : require
// matmul_tex: the same product reading weights and activations through
// uniform texel buffers (several times faster on lavapipe; used when the
// buffers fit maxTexelBufferElements).
#define SZ_PUSH_MATMUL
#include "numerics.glsl"
#include "fwd_push.h"
layout(local_size_x = 16, local_size_y = 4) in;
layout(set = 0, binding = 0) uniform usamplerBuffer xq;  // [r][xkw]
layout(set = 0, binding = 2) uniform usamplerBuffer w;   // [n_out][kw]
#define LOAD_X(i) texelFetch(xq, int(i)).x
#define LOAD_W(i) texelFetch(w, int(i)).x
#include "matmul_body.glsl"
