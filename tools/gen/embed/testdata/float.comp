#version 450
// Must be rejected: uses a float.
layout(local_size_x = 1) in;
layout(std430, binding = 0) buffer B { uint b[]; };
void main() { b[0] = uint(float(b[0]) * 0.5); }
