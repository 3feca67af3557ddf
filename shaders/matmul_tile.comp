#version 450
#extension GL_GOOGLE_include_directive : require
// matmul_tile: the int8 matrix product through shared-memory tiles (variant
// "tile"; any device, meant for GPUs).
#define SZ_PUSH_MATMUL
#include "numerics.glsl"
#include "fwd_push.h"
#define DOT4(a, b) dot4(a, b)
#include "matmul_tile.glsl"
