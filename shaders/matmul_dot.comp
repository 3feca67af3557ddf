#version 450
#extension GL_GOOGLE_include_directive : require
// matmul_dot: matmul_tile with the device's packed int8 dot product (variant
// "dot"; needs shaderIntegerDotProduct).
#define SZ_PUSH_MATMUL
#include "numerics.glsl"
#include "fwd_push.h"
#include "dot_ext.glsl"
#include "matmul_tile.glsl"
