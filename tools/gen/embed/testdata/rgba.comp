#version 450
// Must be rejected: a storage texel buffer of a format other than r32ui/r32i.
layout(local_size_x = 1) in;
layout(set = 0, binding = 0, rgba32ui) uniform uimageBuffer img;
void main() { imageStore(img, 0, uvec4(1u)); }
