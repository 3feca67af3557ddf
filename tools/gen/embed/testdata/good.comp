#version 450
// Must be accepted: 2 storage buffers, 12 push bytes, local size 8x2x1, 64 shared bytes.
layout(local_size_x = 8, local_size_y = 2) in;
layout(std430, binding = 0) readonly buffer A { int a[]; };
layout(std430, binding = 1) buffer B { uint b[]; };
layout(push_constant) uniform P { uint n; int s; uint k; } pc;
shared uint tmp[16];
void main() {
    tmp[gl_LocalInvocationIndex] = uint(a[gl_LocalInvocationIndex] >> pc.s);
    barrier();
    if (gl_LocalInvocationIndex < pc.n) b[gl_LocalInvocationIndex] = tmp[pc.k & 15u];
}
