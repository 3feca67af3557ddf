#version 450
// Must be rejected: descriptor set 1.
layout(local_size_x = 1) in;
layout(std430, set = 1, binding = 0) buffer A { uint a[]; };
void main() { a[0] = 1u; }
