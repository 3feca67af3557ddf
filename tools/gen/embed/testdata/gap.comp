#version 450
// Must be rejected: bindings 0 and 2, no 1.
layout(local_size_x = 1) in;
layout(std430, binding = 0) buffer A { uint a[]; };
layout(std430, binding = 2) buffer B { uint b[]; };
void main() { b[0] = a[0]; }
