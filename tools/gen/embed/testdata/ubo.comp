#version 450
// Must be rejected: a uniform buffer, not a std430 storage buffer.
layout(local_size_x = 1) in;
layout(std140, binding = 0) uniform U { uint u; };
layout(std430, binding = 1) buffer B { uint b[]; };
void main() { b[0] = u; }
